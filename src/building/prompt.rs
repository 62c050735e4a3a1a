//! `status --short`: one line for a shell prompt or an agent harness's status line: where you are, whether
//! tracked files changed, how far ahead and behind its base, and whether the fleet is live. No git process
//! on the common path (the index, the refs and the leases are read in-process), and the one costly look,
//! the stat of every tracked file, is bounded by a budget.

use std::time::Duration;

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::git::revs;
use crate::git::status::{self, Changes};
use crate::protect::liveness;

/// The prompt segment.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// The tenant you are in, if any.
    pub tenant: Option<String>,
    /// In the main worktree.
    pub main: bool,
    /// Tracked files changed (staged or not); `None` when the look ran out of time.
    pub dirty: Option<bool>,
    /// `dirty` came from the worktree's watcher (`--watch`), not from a scan by this look.
    pub watched: bool,
    /// Commits ahead of the base (a tenant's base; the main worktree's upstream).
    pub ahead: Option<u64>,
    /// Commits behind it.
    pub behind: Option<u64>,
    /// The fleet is live (as `status` judges it, from the last fetched state).
    pub fleet_live: bool,
}

impl Segment {
    /// `api* +2 -1 live`: the tenant (`(main)` in the main worktree, the directory name in another one),
    /// `*` when tracked files changed (`?` when not known in time), `+N`/`-N` ahead/behind when not zero,
    /// and `live` while the fleet is live.
    pub fn line(&self, here: &str) -> String {
        let mut s = match (&self.tenant, self.main) {
            (Some(t), _) => t.clone(),
            (None, true) => "(main)".into(),
            (None, false) => here.to_string(),
        };
        s.push_str(match self.dirty {
            Some(true) => "*",
            Some(false) => "",
            None => "?",
        });
        if let Some(n) = self.ahead.filter(|n| *n > 0) {
            s.push_str(&format!(" +{n}"));
        }
        if let Some(n) = self.behind.filter(|n| *n > 0) {
            s.push_str(&format!(" -{n}"));
        }
        if self.fleet_live {
            s.push_str(" live");
        }
        s
    }
}

/// Compute the segment for the worktree the command runs in; `budget` bounds the look at tracked files.
/// With `watch`, the answer about tracked files comes from the worktree's watcher when it can vouch for it
/// (see [`super::watch`]).
pub fn segment(ctx: &Ctx, budget: Duration, watch: bool) -> Result<Segment, Error> {
    let tenant = super::current_tenant(ctx);
    let main = ctx.repo.workdir.is_some() && ctx.repo.workdir == ctx.repo.main_worktree;
    let remembered = watch.then(|| super::watch::remembered(ctx)).flatten();
    let dirty = match remembered {
        Some(d) => Some(d),
        None => match status::tracked_changes(&ctx.repo, budget)? {
            Changes::Yes => Some(true),
            Changes::No => Some(false),
            Changes::Unknown => None,
        },
    };
    let head = ctx.repo.gix.head_id().ok().map(|id| id.detach());
    let base = match &tenant {
        Some(t) => ctx.repo.resolve(&ctx.base_of(t)).ok().map(|(id, _)| id),
        None => liveness::current_upstream(&ctx.repo)?
            .and_then(|up| up.tracking_ref(&ctx.repo))
            .and_then(|r| ctx.repo.ref_target(&r)),
    };
    let (ahead, behind) = match (head, base) {
        (Some(h), Some(b)) => revs::ahead_behind(&ctx.repo, h, b).map_or((None, None), |(a, b)| (Some(a), Some(b))),
        _ => (None, None),
    };
    let fleet_live = liveness::observe(ctx, false)?.live;
    Ok(Segment {
        tenant: tenant.map(|t| t.name),
        main,
        dirty,
        watched: remembered.is_some(),
        ahead,
        behind,
        fleet_live,
    })
}
