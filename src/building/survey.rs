//! The survey behind `list` and `status`: every worktree of the building classified from the registry,
//! git's metadata and the leases alone (no git process), and `--full`'s dirty and ahead/behind columns.

use std::path::PathBuf;

use serde::Serialize;

use super::lease::{self, Holder};
use super::registry::{self, Phase, SetupState, Tenant};
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
    /// A queue run's scratch worktree (`.queue-<k>`, detached): where it tests; removed when the run ends.
    Scratch,
    /// Its `[setup]` failed or was interrupted: kept for a look, never handed work (`run` refuses it).
    #[serde(rename = "setup-failed")]
    SetupFailed,
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
            Status::Scratch => "scratch",
            Status::SetupFailed => "setup-failed",
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
    /// First port of its leased block (`add --ports`, `run`), which holds `PORT_BLOCK` ports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Its setup run (`state`: running, ok or failed; `log`: where its output is), when it had one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub setup: Option<registry::SetupRun>,
    /// `--full`: uncommitted changes present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// `--full`: commits ahead of base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u64>,
    /// `--full`: commits behind base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind: Option<u64>,
    /// `--full`: everything it changed is in its base: no commits ahead, or commits whose changes a
    /// squash or rebase merge took (prune and remove count it as merged too).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<bool>,
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
    if let Some(s) = &t.setup {
        let log = s.log.display();
        // Running for real only while its runner lives and holds the lease (a later holder is not it).
        let runner = lease.is_some() && crate::supervise::proc::pid_alive(s.pid);
        match (s.state, runner) {
            (SetupState::Failed, _) => {
                let why = s.failed.as_deref().unwrap_or("a command failed");
                return (Status::SetupFailed, Some(format!("setup failed: {why}; log: {log}")));
            }
            (SetupState::Running, false) => {
                return (Status::SetupFailed, Some(format!("setup was interrupted; log: {log}")));
            }
            (SetupState::Running, true) => return (Status::Active, Some(format!("running setup; log: {log}"))),
            (SetupState::Ok, _) => {}
        }
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
            port: t.port,
            setup: t.setup.clone(),
            dirty: None,
            ahead: None,
            behind: None,
            merged: None,
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
            status: if w.id.is_none() {
                Status::Main
            } else if super::queue::is_scratch(ctx, &w) {
                Status::Scratch
            } else {
                Status::Foreign
            },
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
            port: None,
            setup: None,
            dirty: None,
            ahead: None,
            behind: None,
            merged: None,
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

/// Fill in dirty, ahead/behind and merged for each row, in parallel (`list --full`).
pub fn survey_full(ctx: &Ctx, rows: &mut [Entry]) {
    // Ahead/behind are answered in-process (graph walks, gix) first; then `git status` (the worktree's
    // files) and, for a tenant with commits ahead, the squash-merge check run on worker threads.
    for r in rows.iter_mut().filter(|r| r.exists) {
        let (Some(t), Some(git_dir)) = (r.tenant.as_ref(), r.git_dir.as_deref()) else { continue };
        let base = ctx.repo.resolve(&ctx.base_of(t)).ok().map(|(id, _)| id);
        if let (Some(head), Some(base)) = (revs::head_of(&ctx.repo, git_dir), base)
            && let Some((ahead, behind)) = revs::ahead_behind(&ctx.repo, head, base)
        {
            r.ahead = Some(ahead);
            r.behind = Some(behind);
            r.merged = (ahead == 0).then_some(true);
        }
    }
    // (row, worktree, (base, head) when it has commits ahead to check for a squash merge)
    type Job = (usize, PathBuf, Option<(String, String)>);
    let jobs: Vec<Job> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.exists)
        .map(|(i, r)| {
            let squash = match (&r.tenant, r.git_dir.as_deref(), r.ahead) {
                (Some(t), Some(git_dir), Some(n)) if n > 0 => {
                    revs::head_of(&ctx.repo, git_dir).map(|h| (ctx.base_of(t), h.to_string()))
                }
                _ => None,
            };
            (i, r.path.clone(), squash)
        })
        .collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut squashed = Vec::new();
    std::thread::scope(|s| {
        for _ in 0..threads.min(jobs.len()) {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((i, path, _)) = jobs.get(k) else { break };
                    let dirty = crate::git::status::is_dirty(path).ok();
                    if let Ok(mut r) = results.lock() {
                        r.push((*i, dirty));
                    }
                }
            });
        }
        // The repository handle stays on this thread: it answers the squash-merge checks meanwhile.
        for (i, _, squash) in &jobs {
            if let Some((base, head)) = squash {
                squashed.push((*i, crate::git::merge::integrated(&ctx.repo, base, head).ok()));
            }
        }
    });
    for (i, dirty) in results.into_inner().unwrap_or_default() {
        rows[i].dirty = dirty;
    }
    for (i, merged) in squashed {
        rows[i].merged = merged;
    }
}

/// The building in one object: what `status` shows (and prints with `--json`).
#[derive(Serialize)]
pub struct Summary {
    /// The building's name.
    pub building: String,
    /// The repository's common git dir.
    pub common_dir: String,
    /// The shared state directory.
    pub state_dir: String,
    /// The main worktree, if the repository has one.
    pub main_worktree: Option<String>,
    /// The worktree the building was opened in.
    pub current_worktree: Option<String>,
    /// The tenant the building was opened in.
    pub current_tenant: Option<String>,
    /// That tenant's task (`task claim --tenant`), if it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_task: Option<String>,
    /// The `.neighbor.toml` in effect.
    pub config: Option<String>,
    /// Tenants by status.
    pub tenants: Counts,
    /// Worktrees that are not tenants (the main one included).
    pub foreign: usize,
    /// Leases held now.
    pub leases_held: usize,
    /// Who holds the building lock, if anyone.
    pub building_lock: Option<lease::Holder>,
    /// Whether the fleet is live, with the evidence.
    pub fleet: crate::protect::liveness::Liveness,
    /// A merge-frame interrupted after its commit point, waiting to be finished.
    pub interrupted_merge: Option<crate::frames::merge::Interrupted>,
    /// The last full conflict forecast (`conflicts`), read from its cache: never computed here.
    pub conflicts: Option<super::forecast::Last>,
    /// The task plane, when there are tasks: counts by status, and each task bound to a tenant.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tasks: Option<TaskCounts>,
}

/// The task plane as `status` shows it.
#[derive(Debug, Serialize, Default)]
pub struct TaskCounts {
    /// All tasks.
    pub total: usize,
    /// Pending with every blocker done.
    pub ready: usize,
    /// Pending (ready or not; a claim that is over counts as pending).
    pub pending: usize,
    /// Claimed by a live claimer.
    pub claimed: usize,
    /// Done.
    pub done: usize,
    /// Failed.
    pub failed: usize,
    /// Every task that names a tenant: the task, its tenant, and its status.
    pub bound: Vec<Bound>,
}

/// A task and the tenant it is done in.
#[derive(Debug, Serialize)]
pub struct Bound {
    /// The task.
    pub task: String,
    /// Its tenant.
    pub tenant: String,
    /// The task's status.
    pub status: &'static str,
}

/// The plane's [`TaskCounts`]; `None` without any task (looked up in-process, so a building without tasks
/// pays no git process for it).
fn task_counts(ctx: &Ctx) -> Result<Option<TaskCounts>, Error> {
    let any = ctx
        .repo
        .gix
        .references()
        .ok()
        .and_then(|r| r.prefixed(crate::tasks::store::PREFIX).ok().map(|mut it| it.next().is_some()))
        .unwrap_or(true);
    if !any {
        return Ok(None);
    }
    let (views, _) = crate::tasks::list(ctx, &crate::tasks::Filter::default())?;
    if views.is_empty() {
        return Ok(None);
    }
    use crate::tasks::Status as S;
    let mut c = TaskCounts { total: views.len(), ..Default::default() };
    for v in &views {
        c.ready += usize::from(v.ready);
        match v.task.status {
            S::Pending => c.pending += 1,
            S::Claimed => c.claimed += 1,
            S::Done => c.done += 1,
            S::Failed => c.failed += 1,
        }
        if let Some(t) = &v.task.tenant {
            c.bound.push(Bound { task: v.task.id.clone(), tenant: t.clone(), status: v.task.status.name() });
        }
    }
    Ok(Some(c))
}

/// Tenants by status.
#[derive(Debug, Serialize, Default)]
pub struct Counts {
    /// All tenants.
    pub total: usize,
    /// Active.
    pub active: usize,
    /// Kept.
    pub kept: usize,
    /// Locked.
    pub locked: usize,
    /// Stale.
    pub stale: usize,
    /// Setup failed (kept for you to look at).
    #[serde(skip_serializing_if = "is_zero")]
    pub setup_failed: usize,
}

/// The building's [`Summary`]; with `fetch`, the upstream is fetched before fleet liveness is judged.
pub fn summary(ctx: &Ctx, fetch: bool) -> Result<Summary, Error> {
    // One read of the registry (the survey's) serves the counts, the current tenant and the leases.
    let rows = survey(ctx)?;
    let tenants: Vec<Tenant> = rows.iter().filter_map(|r| r.tenant.clone()).collect();
    let here = ctx.repo.workdir.as_deref().and_then(|here| tenants.iter().find(|t| t.path == here));
    let mut c = Counts::default();
    let mut foreign = 0;
    for r in &rows {
        match r.status {
            Status::Foreign | Status::Main | Status::Scratch => foreign += 1,
            s => {
                c.total += 1;
                match s {
                    Status::Active => c.active += 1,
                    Status::Kept => c.kept += 1,
                    Status::Locked => c.locked += 1,
                    Status::SetupFailed => c.setup_failed += 1,
                    _ => c.stale += 1,
                }
            }
        }
    }
    Ok(Summary {
        building: ctx.repo.building_name(),
        common_dir: ctx.repo.common_dir.display().to_string(),
        state_dir: ctx.state.root.display().to_string(),
        main_worktree: ctx.repo.main_worktree.as_ref().map(|p| p.display().to_string()),
        current_worktree: ctx.repo.workdir.as_ref().map(|p| p.display().to_string()),
        current_tenant: here.map(|t| t.name.clone()),
        current_task: here.and_then(|t| t.task.clone()),
        config: ctx.config.source.as_ref().map(|p| p.display().to_string()),
        leases_held: rows.iter().filter(|r| r.lease.is_some()).count(),
        building_lock: lease::building_lock_holder(&ctx.state),
        fleet: crate::protect::liveness::observe_among(ctx, fetch, &tenants)?,
        tenants: c,
        foreign,
        interrupted_merge: crate::frames::merge::interrupted(ctx),
        tasks: task_counts(ctx)?,
        conflicts: super::forecast::last(&ctx.state, &tenants.iter().map(|t| t.name.clone()).collect()),
    })
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}
