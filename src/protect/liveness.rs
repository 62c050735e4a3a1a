//! Fleet liveness: is some writer active right now, and what is the evidence?
//!
//! The contract's definition: the fleet is live when a lease is held in this building (a tenant is
//! occupied by a live process), or when the upstream of the current branch got a commit younger than
//! `fleet.live-window`. Everything here returns data (`Liveness`) with the evidence that decided it, so
//! `status`, `safe-pull` and the hooks can say exactly *which* lease or *which* upstream commit.
//!
//! Fetching for the upstream check writes only `FETCH_HEAD` (`--refmap=` and `--no-tags`): looking at the
//! upstream must not move a single ref, because `safe-pull` promises to leave refs untouched when it refuses.

use serde::Serialize;

use crate::building::Ctx;
use crate::building::lease;
use crate::building::registry;
use crate::building::state_dir;
use crate::config::format_duration;
use crate::error::Error;
use crate::git::Repo;

/// What a branch pulls from: a remote (or `.` for a local branch) and the ref on it.
#[derive(Debug, Clone, Serialize)]
pub struct Upstream {
    /// Remote name or URL (`.` means this repository).
    pub remote: String,
    /// Full ref on the remote, e.g. `refs/heads/main`.
    pub branch: String,
}

impl Upstream {
    /// `origin/main` style name for messages.
    pub fn short(&self) -> String {
        let b = self.branch.strip_prefix("refs/heads/").unwrap_or(&self.branch);
        if self.remote == "." { b.to_string() } else { format!("{}/{b}", self.remote) }
    }

    /// The remote-tracking ref that mirrors it, when the remote uses git's default fetch refspec.
    pub fn tracking_ref(&self, repo: &Repo) -> Option<String> {
        let b = self.branch.strip_prefix("refs/heads/")?;
        if self.remote == "." {
            return Some(self.branch.clone());
        }
        let specs = repo.config_strings(&format!("remote.{}.fetch", self.remote));
        let default = format!("+refs/heads/*:refs/remotes/{}/*", self.remote);
        specs.iter().any(|l| l.trim() == default).then(|| format!("refs/remotes/{}/{b}", self.remote))
    }
}

/// A held lease: someone is working in a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseEvidence {
    /// Tenant name.
    pub tenant: String,
    /// Its branch.
    pub branch: String,
    /// Holder pid.
    pub pid: u32,
    /// Holder command line.
    pub command: String,
    /// Held since (RFC 3339).
    pub since: String,
    /// Held for this many seconds.
    pub age_secs: u64,
}

/// The upstream's newest commit and whether it is young enough to count.
#[derive(Debug, Clone, Serialize)]
pub struct UpstreamEvidence {
    /// Remote name or URL.
    pub remote: String,
    /// Full ref on the remote.
    pub branch: String,
    /// Short name, e.g. `origin/main`.
    pub name: String,
    /// Tip commit id, when known.
    pub commit: Option<String>,
    /// Its subject line.
    pub subject: Option<String>,
    /// Its committer date (RFC 3339).
    pub committed: Option<String>,
    /// Its age in seconds (0 when dated in the future).
    pub age_secs: Option<u64>,
    /// Younger than the live window, and not this clone's own push.
    pub live: bool,
    /// This clone pushed the tip itself (its remote-tracking ref's reflog says so): not evidence that
    /// anyone else is writing.
    pub own_push: bool,
    /// The tip was fetched just now (false: the last fetched remote-tracking ref was used).
    pub fetched: bool,
    /// Why fetching failed, if it did.
    pub fetch_error: Option<String>,
}

/// Is the fleet live, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Liveness {
    /// Some writer is active.
    pub live: bool,
    /// `fleet.live-window`, e.g. `10m`.
    pub window: String,
    /// The same in seconds.
    pub window_secs: u64,
    /// Held leases in this building (the caller's own tenant lease excluded).
    pub leases: Vec<LeaseEvidence>,
    /// The current branch's upstream, if it has one.
    pub upstream: Option<UpstreamEvidence>,
    /// One human-readable line per piece of evidence that makes the fleet live.
    pub evidence: Vec<String>,
}

/// The configured upstream of the branch checked out in this worktree (`branch.<b>.remote/merge`).
pub fn current_upstream(repo: &Repo) -> Result<Option<Upstream>, Error> {
    let Some(head) = crate::git::read_head_branch(&repo.git_dir) else { return Ok(None) };
    let Some(b) = head.strip_prefix("refs/heads/") else { return Ok(None) };
    let get = |key: &str| -> Result<Option<String>, Error> { Ok(repo.config_string(&format!("branch.{b}.{key}"))) };
    match (get("remote")?, get("merge")?) {
        (Some(remote), Some(branch)) => Ok(Some(Upstream { remote, branch })),
        _ => Ok(None),
    }
}

/// Fetch `up` into `FETCH_HEAD` only (no ref moves, no tags) and return the fetched commit id.
pub fn fetch(repo: &Repo, up: &Upstream) -> Result<String, Error> {
    crate::git::remote::fetch_head(repo, &up.remote, &up.branch).map_err(|e| {
        e.context(format!("cannot fetch {}", up.short())).hint("check the remote and your network; nothing was changed")
    })
}

/// Evidence about the upstream tip `tip` (None: unknown).
pub fn upstream_evidence(
    ctx: &Ctx,
    up: &Upstream,
    tip: Option<&str>,
    fetched: bool,
    fetch_error: Option<String>,
) -> UpstreamEvidence {
    let window = ctx.config.fleet.live_window;
    let mut ev = UpstreamEvidence {
        remote: up.remote.clone(),
        branch: up.branch.clone(),
        name: up.short(),
        commit: tip.map(str::to_string),
        subject: None,
        committed: None,
        age_secs: None,
        live: false,
        own_push: false,
        fetched,
        fetch_error,
    };
    let Some(tip) = tip else { return ev };
    // Committer time and subject, read in-process (this runs on every safe-pull and status).
    let info = gix::ObjectId::from_hex(tip.as_bytes()).ok().and_then(|id| ctx.repo.gix.find_commit(id).ok()).map(|c| {
        let secs = c.time().ok().and_then(|t| u64::try_from(t.seconds).ok());
        let subject = c.message().ok().map(|m| m.summary().to_string());
        (secs, subject)
    });
    if let Some((secs, subject)) = info {
        ev.subject = subject;
        if let Some(secs) = secs {
            let ms = secs.saturating_mul(1000);
            let age = state_dir::age(ms);
            ev.committed = Some(state_dir::rfc3339(ms));
            ev.age_secs = Some(age.as_secs());
            // A commit dated in the future (clock skew) has age 0: it counts as fresh.
            ev.own_push = up.tracking_ref(&ctx.repo).is_some_and(|r| pushed_from_here(&ctx.repo, &r, tip));
            ev.live = !window.is_zero() && age < window && !ev.own_push;
        }
    }
    ev
}

/// Whether the last change of the remote-tracking ref `tracking` was this clone's own push of `tip`: git
/// writes "update by push" in that ref's reflog when a push moves it. A fetch that brought someone
/// else's commit writes another entry, and then the tip is not ours.
fn pushed_from_here(repo: &Repo, tracking: &str, tip: &str) -> bool {
    let Ok(log) = std::fs::read_to_string(repo.common_dir.join("logs").join(tracking)) else { return false };
    log.lines().next_back().is_some_and(|last| {
        let (head, message) = last.split_once('\t').unwrap_or((last, ""));
        head.split(' ').nth(1) == Some(tip) && message.starts_with("update by push")
    })
}

/// Evidence about the current branch's upstream: fetched first when `do_fetch`, else from the
/// remote-tracking ref as last fetched. A failed fetch is recorded, not fatal.
pub fn observe_upstream(ctx: &Ctx, do_fetch: bool) -> Result<Option<UpstreamEvidence>, Error> {
    let Some(up) = current_upstream(&ctx.repo)? else { return Ok(None) };
    if do_fetch {
        match fetch(&ctx.repo, &up) {
            Ok(tip) => return Ok(Some(upstream_evidence(ctx, &up, Some(&tip), true, None))),
            Err(e) => {
                let tip = last_known(ctx, &up);
                return Ok(Some(upstream_evidence(ctx, &up, tip.as_deref(), false, Some(e.message))));
            }
        }
    }
    let tip = last_known(ctx, &up);
    Ok(Some(upstream_evidence(ctx, &up, tip.as_deref(), false, None)))
}

fn last_known(ctx: &Ctx, up: &Upstream) -> Option<String> {
    let r = up.tracking_ref(&ctx.repo)?;
    ctx.repo.ref_target(&r).map(|id| id.to_string())
}

/// Leases held in this building, except the current tenant's own lease when one of our ancestors holds
/// it (a `run` wrapping this very command is not "someone else working").
pub fn held_leases(ctx: &Ctx) -> Vec<LeaseEvidence> {
    let Ok((tenants, _)) = registry::all(&ctx.state) else { return Vec::new() };
    held_leases_of(ctx, &tenants)
}

/// [`held_leases`] among `tenants` (the registry as the caller already read it).
fn held_leases_of(ctx: &Ctx, tenants: &[registry::Tenant]) -> Vec<LeaseEvidence> {
    let here = ctx.repo.workdir.as_deref();
    let mut ancestors: Option<Vec<u32>> = None;
    let mut out = Vec::new();
    for t in tenants {
        let Some(h) = lease::lease_holder(&ctx.state, &t.name) else { continue };
        if here == Some(t.path.as_path()) {
            let anc = ancestors.get_or_insert_with(crate::supervise::proc::ancestor_pids);
            if anc.contains(&h.pid) || h.watch_pid.is_some_and(|w| anc.contains(&w)) {
                continue;
            }
        }
        out.push(LeaseEvidence {
            tenant: t.name.clone(),
            branch: t.branch.clone(),
            pid: h.pid,
            command: h.command.clone(),
            since: state_dir::rfc3339(h.since_ms),
            age_secs: state_dir::age(h.since_ms).as_secs(),
        });
    }
    out
}

/// Combine lease and upstream evidence into the verdict.
pub fn assess(ctx: &Ctx, upstream: Option<UpstreamEvidence>) -> Liveness {
    verdict(ctx, upstream, held_leases(ctx))
}

fn verdict(ctx: &Ctx, upstream: Option<UpstreamEvidence>, leases: Vec<LeaseEvidence>) -> Liveness {
    let window = ctx.config.fleet.live_window;
    let mut evidence: Vec<String> = leases
        .iter()
        .map(|l| {
            format!(
                "lease on tenant {} held by pid {} ({}) for {}",
                l.tenant,
                l.pid,
                l.command,
                state_dir::human_age(std::time::Duration::from_secs(l.age_secs))
            )
        })
        .collect();
    if let Some(u) = upstream.as_ref().filter(|u| u.live) {
        evidence.push(describe_upstream(u, &format_duration(window)));
    }
    Liveness {
        live: !evidence.is_empty(),
        window: format_duration(window),
        window_secs: window.as_secs(),
        leases,
        upstream,
        evidence,
    }
}

/// Liveness as `status` and the hooks see it: the current branch's upstream (fetched first when
/// `do_fetch`) and the held leases.
pub fn observe(ctx: &Ctx, do_fetch: bool) -> Result<Liveness, Error> {
    let up = observe_upstream(ctx, do_fetch)?;
    Ok(assess(ctx, up))
}

/// [`observe`] with the registry's `tenants` as the caller already read them (`status` surveys first).
pub fn observe_among(ctx: &Ctx, do_fetch: bool, tenants: &[registry::Tenant]) -> Result<Liveness, Error> {
    let up = observe_upstream(ctx, do_fetch)?;
    Ok(verdict(ctx, up, held_leases_of(ctx, tenants)))
}

/// `origin/main got 1a2b3c4d5e "subject" 8s ago (live window 10m)`
pub fn describe_upstream(u: &UpstreamEvidence, window: &str) -> String {
    let id = u.commit.as_deref().map(|c| &c[..10.min(c.len())]).unwrap_or("?");
    let age = u.age_secs.map(|s| state_dir::human_age(std::time::Duration::from_secs(s))).unwrap_or_else(|| "?".into());
    let subject = u.subject.as_deref().map(|s| format!(" \"{s}\"")).unwrap_or_default();
    format!("{} got commit {id}{subject} {age} ago (live window {window})", u.name)
}
