//! The survey behind `list` and `status`: every worktree of the building classified from the registry,
//! git's metadata and the leases alone (no git process), and `--full`'s dirty and ahead/behind columns.

use std::path::PathBuf;

use serde::Serialize;

use super::lease::{self, Holder};
use super::registry::{self, Phase, Tenant};
use super::{Ctx, short_ref, state_dir};
use crate::error::Error;
use crate::git::{WorktreeInfo, revs};

/// A status word of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A tenant in use or ready for use.
    Active,
    /// Kept by `keep` (or by `run`/prune because it holds work).
    Kept,
    /// Locked with `lock` (git worktree lock).
    Locked,
    /// Abandoned: directory gone, creator died, or ephemeral with a dead lease.
    Stale,
    /// A worktree git-neighbor did not create.
    Foreign,
    /// The main worktree (the repository's own checkout).
    Main,
}

impl Status {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Kept => "kept",
            Status::Locked => "locked",
            Status::Stale => "stale",
            Status::Foreign => "foreign",
            Status::Main => "main",
        }
    }
}

/// Lease as shown in listings.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseView {
    /// Holder pid.
    pub pid: u32,
    /// Holder command line.
    pub command: String,
    /// Since (RFC 3339).
    pub since: String,
    /// Age in seconds.
    pub age_secs: u64,
    /// The recorded holder has exited; a process it started (e.g. git) still holds the lease.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub exited: bool,
}

/// One row of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Tenant name (`None` for foreign worktrees).
    pub name: Option<String>,
    /// Status word.
    pub status: Status,
    /// Why it has that status (kept reason, lock reason, why stale).
    pub reason: Option<String>,
    /// Is this the main worktree?
    pub main: bool,
    /// Branch (short name) checked out, or the tenant's branch.
    pub branch: Option<String>,
    /// Absolute path.
    pub path: PathBuf,
    /// Directory exists.
    pub exists: bool,
    /// The current directory is in this worktree.
    pub current: bool,
    /// Ephemeral tenant.
    pub ephemeral: bool,
    /// Lease holder, if held.
    pub lease: Option<LeaseView>,
    /// Creation time (RFC 3339), tenants only.
    pub created: Option<String>,
    /// Age in seconds, tenants only.
    pub age_secs: Option<u64>,
    /// Owner.
    pub owner: Option<String>,
    /// Task id.
    pub task: Option<String>,
    /// Base (ref or commit).
    pub base: Option<String>,
    /// `--full`: uncommitted changes present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// `--full`: commits ahead of base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u64>,
    /// `--full`: commits behind base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind: Option<u64>,
    /// Registry record, for tenants (not serialized).
    #[serde(skip)]
    pub tenant: Option<Tenant>,
    /// git's private dir for this worktree, when git knows it (not serialized).
    #[serde(skip)]
    pub git_dir: Option<PathBuf>,
}

/// Classify a tenant from its record, git's metadata for it, and its lease.
fn classify(t: &Tenant, wt: Option<&WorktreeInfo>, lease: Option<&Holder>) -> (Status, Option<String>) {
    match (t.phase, lease) {
        (Phase::Creating, Some(_)) => return (Status::Active, Some("being created".into())),
        (Phase::Creating, None) => return (Status::Stale, Some("its creator died before it was ready".into())),
        (Phase::Removing, Some(_)) => return (Status::Active, Some("being removed".into())),
        (Phase::Removing, None) => return (Status::Stale, Some("its remover died; prune finishes it".into())),
        (Phase::Ready, _) => {}
    }
    if let Some(reason) = wt.and_then(|w| w.locked.clone()) {
        return (Status::Locked, Some(reason).filter(|r| !r.is_empty()));
    }
    if !t.path.exists() {
        return (Status::Stale, Some("its directory is gone".into()));
    }
    if wt.is_none() {
        return (Status::Stale, Some("git no longer lists it as a worktree".into()));
    }
    if let Some(k) = &t.kept {
        return (Status::Kept, Some(k.reason.clone()));
    }
    if t.ephemeral && lease.is_none() {
        return (Status::Stale, Some("ephemeral and its lease is dead".into()));
    }
    (Status::Active, None)
}

/// Survey every worktree of the building from the registry and git's metadata alone.
pub fn survey(ctx: &Ctx) -> Result<Vec<Entry>, Error> {
    let (tenants, _bad) = registry::all(&ctx.state)?;
    let worktrees = ctx.repo.worktrees()?;
    let mut rows = Vec::new();
    let mut claimed = vec![false; worktrees.len()];
    for t in tenants {
        let idx = worktrees.iter().position(|w| w.path == t.path && w.id.is_some());
        if let Some(i) = idx {
            claimed[i] = true;
        }
        let wt = idx.map(|i| &worktrees[i]);
        let lease = lease::lease_holder(&ctx.state, &t.name);
        let (status, reason) = classify(&t, wt, lease.as_ref());
        rows.push(Entry {
            name: Some(t.name.clone()),
            status,
            reason,
            main: false,
            branch: Some(t.branch.clone()),
            path: t.path.clone(),
            exists: t.path.exists(),
            current: false,
            ephemeral: t.ephemeral,
            lease: lease.map(|h| LeaseView {
                exited: h.exited(),
                pid: h.pid,
                command: h.command,
                since: state_dir::rfc3339(h.since_ms),
                age_secs: state_dir::age(h.since_ms).as_secs(),
            }),
            created: Some(state_dir::rfc3339(t.created_ms)),
            age_secs: Some(state_dir::age(t.created_ms).as_secs()),
            owner: t.owner.clone(),
            task: t.task.clone(),
            base: Some(t.base_ref.clone().unwrap_or_else(|| t.base_oid.clone())),
            dirty: None,
            ahead: None,
            behind: None,
            git_dir: wt.map(|w| w.git_dir.clone()),
            tenant: Some(t),
        });
    }
    for (i, w) in worktrees.into_iter().enumerate() {
        if claimed[i] {
            continue;
        }
        rows.push(Entry {
            name: None,
            status: if w.id.is_none() { Status::Main } else { Status::Foreign },
            reason: w.locked.clone().map(|r| format!("locked: {r}")),
            main: w.id.is_none(),
            branch: w.branch.as_deref().map(short_ref),
            path: w.path,
            exists: w.exists,
            current: false,
            ephemeral: false,
            lease: None,
            created: None,
            age_secs: None,
            owner: None,
            task: None,
            base: None,
            dirty: None,
            ahead: None,
            behind: None,
            tenant: None,
            git_dir: Some(w.git_dir),
        });
    }
    // The current worktree: the deepest one containing the current directory.
    if let Ok(cwd) = std::env::current_dir().and_then(std::fs::canonicalize)
        && let Some(r) = rows.iter_mut().filter(|r| cwd.starts_with(&r.path)).max_by_key(|r| r.path.as_os_str().len())
    {
        r.current = true;
    }
    Ok(rows)
}

/// One tenant's row, as `list` shows it: the one JSON shape for a tenant, whichever command prints it.
pub fn entry(ctx: &Ctx, name: &str) -> Result<Entry, Error> {
    survey(ctx)?
        .into_iter()
        .find(|r| r.name.as_deref() == Some(name))
        .ok_or_else(|| Error::new(format!("no tenant named '{name}'")).hint("`git neighbor list` shows the tenants"))
}

/// Fill in dirty and ahead/behind for each row, in parallel (`list --full`).
pub fn survey_full(ctx: &Ctx, rows: &mut [Entry]) {
    // Only `git status` (the worktree's files) needs a git process per worktree: those run on worker
    // threads while this thread answers ahead/behind in-process (graph walks, gix).
    let jobs: Vec<(usize, PathBuf)> =
        rows.iter().enumerate().filter(|(_, r)| r.exists).map(|(i, r)| (i, r.path.clone())).collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((i, path)) = jobs.get(k) else { break };
                    let dirty = crate::git::status::is_dirty(path).ok();
                    if let Ok(mut r) = results.lock() {
                        r.push((*i, dirty));
                    }
                }
            });
        }
        for r in rows.iter_mut().filter(|r| r.exists) {
            let (Some(t), Some(git_dir)) = (r.tenant.as_ref(), r.git_dir.as_deref()) else { continue };
            let base = ctx.repo.resolve(&ctx.base_of(t)).ok().map(|(id, _)| id);
            if let (Some(head), Some(base)) = (revs::head_of(&ctx.repo, git_dir), base)
                && let Some((ahead, behind)) = revs::ahead_behind(&ctx.repo, head, base)
            {
                r.ahead = Some(ahead);
                r.behind = Some(behind);
            }
        }
    });
    for (i, dirty) in results.into_inner().unwrap_or_default() {
        rows[i].dirty = dirty;
    }
}
