//! The task plane: what to do, which task waits on which, and who does each, claimed exactly once.
//!
//! # Storage
//! Each task is one small JSON blob behind its own ref, `refs/neighbor/tasks/<id>` (see [`store`]). A
//! blob ref and not a commit chain because the claim *is* one compare-and-swap on one ref: `update-ref`
//! from the exact blob a claimer read to the blob that says "claimed by me". Two claimers of one task
//! read the same blob, and only the first swap succeeds; the loser re-reads and sees the holder. A commit
//! chain would add a tree and a commit per change and buy nothing the claim needs; the history of a task
//! goes to `events.jsonl` (one `task-*` event per change) instead. Because the plane is only refs and
//! blobs, `git push`/`git fetch` of `refs/neighbor/tasks/*` would share it as it is.
//!
//! # Statuses
//! `pending` → `claimed` → `done`; `release` puts a claimed or failed task back to `pending`; `fail`
//! records a reason. A task is *ready* when it is pending and every task it is blocked by is done. Done is
//! final, so a claim decided on "my blockers are done" stays right; a new blocker changes the task's own
//! ref, which makes a concurrent claim's swap fail. Blocking is decided on the whole graph and written in
//! one transaction that verifies every task read, so two concurrent `block`s cannot make a cycle.
//!
//! # Claims are leases of a process
//! A claim records the pid and host of the process it belongs to (the caller, looked through git's
//! dispatcher and wrappers as `pool claim` does, or `--follow-pid`). On the same host, a claim whose
//! process is gone counts as released: the task is pending (and ready, if unblocked) again for `list` and
//! `claim`, and the next claim swaps from the dead claim's blob.
//!
//! # Across machines
//! [`sync`] publishes the plane to a remote and takes its changes, each ref pushed with a lease, so the
//! second of two clones to publish a claim of one task is told it lost; `claim` with a remote syncs,
//! claims, syncs and keeps the claim only if the remote holds its blob. Not built yet: a plane shared by
//! default (without a remote a change is local until synced) and claims from other hosts kept alive by
//! a heartbeat that expires; a claim recorded on another host is taken as live.

pub mod store;
pub mod sync;

use serde::{Deserialize, Serialize};

use crate::building::Ctx;
use crate::building::events::{self, Event};
use crate::building::state_dir;
use crate::error::Error;
use crate::git::refs::Cas;
use store::Stored;

/// How many times a read-modify-write is retried when its compare-and-swap loses to another writer.
const RETRIES: usize = 64;

/// A task's status as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Waiting to be claimed (ready once every blocker is done).
    Pending,
    /// Someone is doing it.
    Claimed,
    /// Finished (final).
    Done,
    /// Given up, with a reason; `release` makes it pending again.
    Failed,
}

impl Status {
    /// The word used in output and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Claimed => "claimed",
            Status::Done => "done",
            Status::Failed => "failed",
        }
    }
}

/// Who holds a claim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimer {
    /// The process the claim lives as long as.
    pub pid: u32,
    /// The host that process runs on.
    pub host: String,
    /// When the claim was made (RFC 3339).
    pub since: String,
}

/// One task, exactly as stored in its blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Task {
    /// Its id (the last component of its ref).
    pub id: String,
    /// One line saying what to do.
    pub subject: String,
    /// More detail.
    #[serde(default)]
    pub body: String,
    /// Free labels.
    #[serde(default)]
    pub labels: Vec<String>,
    /// Ids of the tasks that must be done first.
    #[serde(default)]
    pub blocked_by: Vec<String>,
    /// Status.
    pub status: Status,
    /// Why it failed (status `failed`).
    #[serde(default)]
    pub reason: Option<String>,
    /// Who it belongs to.
    #[serde(default)]
    pub owner: Option<String>,
    /// The tenant it is being done in (`task claim --tenant`; that tenant's record names the task back).
    #[serde(default)]
    pub tenant: Option<String>,
    /// The claim (status `claimed`; kept on `done`/`failed` to say who finished it).
    #[serde(default)]
    pub claimed_by: Option<Claimer>,
    /// When it was added (RFC 3339).
    pub created: String,
    /// When it last changed (RFC 3339).
    pub updated: String,
    /// How many times it was written (1 when added).
    pub version: u64,
}

/// A task as the plane sees it now: the stored task with a dead local claim shown as released.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    /// The task; `status` is `pending` when its claim's process is gone.
    #[serde(flatten)]
    pub task: Task,
    /// Pending and every blocker done.
    pub ready: bool,
    /// The stored status was `claimed` but the claiming process on this host is gone.
    pub claim_dead: bool,
}

/// Refuse a task id git or a shell would misread: the rules of tenant names.
pub fn validate_id(id: &str) -> Result<(), Error> {
    crate::building::registry::validate_name_as("task", id)
}

/// This host's name, as claims record it.
pub fn host() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "unknown".into())
}

fn now() -> String {
    state_dir::rfc3339(state_dir::now_ms())
}

/// Whether `t` is claimed by a process of this host that no longer runs.
fn claim_is_dead(t: &Task, here: &str) -> bool {
    t.status == Status::Claimed
        && t.claimed_by.as_ref().is_some_and(|c| c.host == here && !crate::supervise::proc::pid_alive(c.pid))
}

/// The views of `all`, with readiness decided on the whole set.
fn views(all: &[Stored]) -> Vec<View> {
    let here = host();
    let dead: Vec<bool> = all.iter().map(|s| claim_is_dead(&s.task, &here)).collect();
    let status_of = |id: &str| {
        all.iter()
            .zip(&dead)
            .find(|(s, _)| s.task.id == id)
            .map(|(s, d)| if *d { Status::Pending } else { s.task.status })
    };
    all.iter()
        .zip(&dead)
        .map(|(s, &d)| {
            let mut task = s.task.clone();
            if d {
                task.status = Status::Pending;
            }
            let ready =
                task.status == Status::Pending && task.blocked_by.iter().all(|b| status_of(b) == Some(Status::Done));
            View { task, ready, claim_dead: d }
        })
        .collect()
}

fn view_of(all: &[Stored], id: &str) -> Option<View> {
    views(all).into_iter().find(|v| v.task.id == id)
}

fn log(ctx: &Ctx, event: &str, t: &Task) {
    let mut ev = Event::new(&format!("task-{event}"))
        .with("task", t.id.as_str())
        .with("status", t.status.name())
        .with("version", t.version);
    if let Some(c) = &t.claimed_by {
        ev = ev.with("claim_pid", c.pid).with("claim_host", c.host.as_str());
    }
    if let Some(r) = &t.reason {
        ev = ev.with("reason", r.as_str());
    }
    // The ref is the truth and it has changed; a log that cannot be written must not undo or hide that.
    let _ = events::append(&ctx.state, &ev);
}

/// What `task add` stores.
#[derive(Debug, Clone, Default)]
pub struct NewTask {
    /// The id to use; a short unique one when `None`.
    pub id: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Body text.
    pub body: String,
    /// Labels.
    pub labels: Vec<String>,
    /// Blockers (must exist).
    pub blocked_by: Vec<String>,
}

/// Add a task. Its blockers must exist; an existing id is refused (exit 3).
pub fn add(ctx: &Ctx, req: NewTask) -> Result<Task, Error> {
    let subject = req.subject.trim();
    if subject.is_empty() || subject.contains('\n') {
        return Err(Error::usage("a task's subject must be one non-empty line").hint("put details in --body-file"));
    }
    if let Some(id) = &req.id {
        validate_id(id)?;
    }
    let mut blocked_by: Vec<String> = Vec::new();
    for b in &req.blocked_by {
        validate_id(b)?;
        if req.id.as_deref() == Some(b.as_str()) {
            return Err(Error::usage(format!("task '{b}' cannot be blocked by itself")));
        }
        store::load(&ctx.repo, b)?;
        if !blocked_by.contains(b) {
            blocked_by.push(b.clone());
        }
    }
    let ts = now();
    for attempt in 0..RETRIES {
        let id = match &req.id {
            Some(id) => id.clone(),
            None => fresh_id(attempt),
        };
        let task = Task {
            id: id.clone(),
            subject: subject.to_string(),
            body: req.body.clone(),
            labels: req.labels.clone(),
            blocked_by: blocked_by.clone(),
            status: Status::Pending,
            reason: None,
            owner: None,
            tenant: None,
            claimed_by: None,
            created: ts.clone(),
            updated: ts.clone(),
            version: 1,
        };
        match store::create(&ctx.repo, &task, &format!("neighbor: task add {id}"))? {
            Cas::Done => {
                log(ctx, "add", &task);
                return Ok(task);
            }
            _ if req.id.is_some() => {
                return Err(Error::refused(format!("a task named '{id}' already exists"))
                    .hint("pick another --id, or leave it out for a fresh one"));
            }
            _ => continue,
        }
    }
    Err(Error::new("could not find a free task id"))
}

/// A short id nobody else is likely to pick: `t` and seven base-36 digits from a per-process random hash.
fn fresh_id(attempt: usize) -> String {
    use std::hash::BuildHasher;
    let seed = (state_dir::now_ms(), std::process::id(), attempt);
    let mut n = std::hash::RandomState::new().hash_one(seed);
    let mut s = String::from("t");
    for _ in 0..7 {
        let d = (n % 36) as u32;
        s.push(char::from_digit(d, 36).unwrap_or('0'));
        n /= 36;
    }
    s
}

/// Which tasks `list` shows.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only ready tasks.
    pub ready: bool,
    /// Only this (effective) status.
    pub status: Option<Status>,
    /// Only this owner.
    pub owner: Option<String>,
}

/// The tasks matching `f`, oldest first, and one error per ref that does not hold a task.
pub fn list(ctx: &Ctx, f: &Filter) -> Result<(Vec<View>, Vec<Error>), Error> {
    let (all, bad) = store::load_all(&ctx.repo)?;
    let mut v: Vec<View> = views(&all)
        .into_iter()
        .filter(|v| !f.ready || v.ready)
        .filter(|v| f.status.is_none_or(|s| v.task.status == s))
        .filter(|v| f.owner.as_ref().is_none_or(|o| v.task.owner.as_ref() == Some(o)))
        .collect();
    v.sort_by(|a, b| (&a.task.created, &a.task.id).cmp(&(&b.task.created, &b.task.id)));
    Ok((v, bad))
}

/// One task as the plane sees it now.
pub fn show(ctx: &Ctx, id: &str) -> Result<View, Error> {
    let one = store::load(&ctx.repo, id)?;
    let (all, _) = store::load_all(&ctx.repo)?;
    // A blocker pushed between the two reads only makes readiness more careful.
    let mut all: Vec<Stored> = all.into_iter().filter(|s| s.task.id != id).collect();
    all.push(one);
    view_of(&all, id).ok_or_else(|| Error::new(format!("no task named '{id}'")))
}

/// What `claim` is asked for.
#[derive(Debug, Clone)]
pub enum Want {
    /// This task.
    Id(String),
    /// The oldest ready task that nobody else claims first.
    Next,
}

/// How a claim ended.
#[derive(Debug)]
pub enum Claimed {
    /// The task is ours.
    Task(Box<View>),
    /// `--next` and no task is ready: how many are pending but blocked, and how many are claimed.
    NothingReady {
        /// Pending tasks waiting on a blocker.
        blocked: usize,
        /// Tasks claimed by a live process.
        claimed: usize,
    },
}

/// Claim a task for process `pid` (compare-and-swap on its ref from the blob read). A named task that is
/// not ready, or that another claimer takes first, is refused (exit 3) naming why or who holds it.
///
/// With `remote`, the claim goes through it: take the remote's tasks, claim here, publish with a lease
/// ([`sync`]), and the claim counts only if the remote then holds exactly the blob written here. A claim
/// that lost there is undone here (if a later sync has not already replaced it) and `--next` moves on.
pub fn claim(ctx: &Ctx, want: &Want, owner: Option<&str>, pid: u32, remote: Option<&str>) -> Result<Claimed, Error> {
    let Some(r) = remote else { return claim_here(ctx, want, owner, pid, &[]).map(|(c, _)| c) };
    // Changes made here that lost to the remote's are not this claim's business.
    sync::sync(ctx, r)?;
    let mut lost: Vec<String> = Vec::new();
    for _ in 0..RETRIES {
        let (c, swapped) = claim_here(ctx, want, owner, pid, &lost)?;
        let (v, ours, before) = match (c, swapped) {
            (Claimed::Task(v), Some((ours, before))) => (v, ours, before),
            (c, _) => return Ok(c),
        };
        let id = v.task.id.clone();
        let full = store::ref_of(&id);
        let published = sync::sync(ctx, r);
        let theirs = crate::git::remote::remote_ref(&ctx.repo, r, &full)?;
        // The remote holding our blob is the claim, whatever else the sync met.
        if theirs.as_deref() == Some(ours.as_str()) {
            return Ok(Claimed::Task(v));
        }
        // Not ours on the remote: put the task back here unless something already replaced our claim.
        crate::git::refs::update_if(&ctx.repo, &full, &before, &ours, &format!("neighbor: task claim {id} lost"))?;
        published?;
        match want {
            Want::Id(_) => {
                let (all, _) = store::load_all(&ctx.repo)?;
                let v = view_of(&all, &id).ok_or_else(|| Error::new(format!("no task named '{id}'")))?;
                return Err(if v.ready {
                    Error::refused(format!("task '{id}' was changed on '{r}' while it was being claimed"))
                        .hint("try again")
                } else {
                    not_ready(&v, &all)
                });
            }
            Want::Next => lost.push(id),
        }
    }
    Err(Error::new(format!("lost every claim race on '{r}'")).hint("try again"))
}

/// The claim on this repository's refs; with the blob written and the one it replaced when it won.
type Here = (Claimed, Option<(String, String)>);

fn claim_here(ctx: &Ctx, want: &Want, owner: Option<&str>, pid: u32, skip: &[String]) -> Result<Here, Error> {
    let claimer = Claimer { pid, host: host(), since: now() };
    let take = |s: &Stored| {
        let mut t = s.task.clone();
        t.status = Status::Claimed;
        t.claimed_by = Some(claimer.clone());
        t.reason = None;
        if let Some(o) = owner {
            t.owner = Some(o.to_string());
        }
        t.updated = now();
        t.version += 1;
        t
    };
    match want {
        Want::Id(id) => {
            for _ in 0..RETRIES {
                let (all, _) = store::load_all(&ctx.repo)?;
                let one = store::load(&ctx.repo, id)?;
                let all: Vec<Stored> =
                    all.into_iter().filter(|s| s.task.id != *id).chain(std::iter::once(one.clone())).collect();
                let v = view_of(&all, id).ok_or_else(|| Error::new(format!("no task named '{id}'")))?;
                if !v.ready {
                    return Err(not_ready(&v, &all));
                }
                let t = take(&one);
                match store::swap_to(&ctx.repo, &one, &t, &format!("neighbor: task claim {id}"))? {
                    (Cas::Done, oid) => {
                        log(ctx, "claim", &t);
                        let v = View { task: t, ready: false, claim_dead: false };
                        return Ok((Claimed::Task(Box::new(v)), Some((oid, one.oid))));
                    }
                    // Someone changed it since we read it: read again, and say who holds it if someone does.
                    _ => continue,
                }
            }
            Err(Error::new(format!("task '{id}' kept changing while it was being claimed")).hint("try again"))
        }
        Want::Next => {
            for _ in 0..RETRIES {
                let (all, _) = store::load_all(&ctx.repo)?;
                let vs = views(&all);
                let mut ready: Vec<&View> = vs.iter().filter(|v| v.ready && !skip.contains(&v.task.id)).collect();
                if ready.is_empty() {
                    let nothing = Claimed::NothingReady {
                        blocked: vs.iter().filter(|v| v.task.status == Status::Pending).count(),
                        claimed: vs.iter().filter(|v| v.task.status == Status::Claimed).count(),
                    };
                    return Ok((nothing, None));
                }
                ready.sort_by(|a, b| (&a.task.created, &a.task.id).cmp(&(&b.task.created, &b.task.id)));
                for v in ready {
                    let Some(s) = all.iter().find(|s| s.task.id == v.task.id) else { continue };
                    let t = take(s);
                    if let (Cas::Done, oid) =
                        store::swap_to(&ctx.repo, s, &t, &format!("neighbor: task claim {}", t.id))?
                    {
                        log(ctx, "claim", &t);
                        let v = View { task: t, ready: false, claim_dead: false };
                        return Ok((Claimed::Task(Box::new(v)), Some((oid, s.oid.clone()))));
                    }
                    // Lost the race for this one: the next ready task.
                }
                // Every swap lost: read the plane again (the winners' claims now show).
            }
            Err(Error::new("lost every claim race; the plane kept changing").hint("try again"))
        }
    }
}

/// Why a task cannot be claimed now (exit 3).
fn not_ready(v: &View, all: &[Stored]) -> Error {
    let id = &v.task.id;
    match v.task.status {
        Status::Claimed => {
            let who = v
                .task
                .claimed_by
                .as_ref()
                .map(|c| format!("pid {} on {} since {}", c.pid, c.host, c.since))
                .unwrap_or_else(|| "an unknown claimer".into());
            let owner = v.task.owner.as_ref().map(|o| format!(" (owner {o})")).unwrap_or_default();
            Error::refused(format!("task '{id}' is already claimed by {who}{owner}"))
                .hint("`git neighbor task claim --next` takes another ready task")
        }
        Status::Done => Error::refused(format!("task '{id}' is done; a done task is not claimed again")),
        Status::Failed => Error::refused(format!(
            "task '{id}' failed ({}); it is not claimable",
            v.task.reason.as_deref().unwrap_or("no reason given")
        ))
        .hint(format!("`git neighbor task release {id}` makes it pending again")),
        Status::Pending => {
            let waiting: Vec<String> = v
                .task
                .blocked_by
                .iter()
                .filter_map(|b| match all.iter().find(|s| s.task.id == *b) {
                    Some(s) if s.task.status == Status::Done => None,
                    Some(s) => Some(format!("{b} ({})", s.task.status.name())),
                    None => Some(format!("{b} (missing)")),
                })
                .collect();
            Error::refused(format!("task '{id}' is blocked by {}", waiting.join(", ")))
                .hint("it becomes ready when those are done; `git neighbor task list --ready` shows what is")
        }
    }
}

/// Read task `id`, let `change` decide its new content (`None`: nothing to do), and swap it in; a lost
/// swap reads again and decides again.
fn update(
    ctx: &Ctx,
    id: &str,
    event: &str,
    change: impl Fn(&View) -> Result<Option<Task>, Error>,
) -> Result<(Task, bool), Error> {
    let here = host();
    for _ in 0..RETRIES {
        let one = store::load(&ctx.repo, id)?;
        let dead = claim_is_dead(&one.task, &here);
        let mut task = one.task.clone();
        if dead {
            task.status = Status::Pending;
        }
        let v = View { task, ready: false, claim_dead: dead };
        let Some(mut new) = change(&v)? else { return Ok((v.task, false)) };
        new.updated = now();
        new.version = one.task.version + 1;
        if store::swap(&ctx.repo, &one, &new, &format!("neighbor: task {event} {id}"))? == Cas::Done {
            log(ctx, event, &new);
            return Ok((new, true));
        }
    }
    Err(Error::new(format!("task '{id}' kept changing; nothing was changed")).hint("try again"))
}

/// `task claim --tenant`: claim as [`claim`] does, then give the task a tenant of its own, made as `add`
/// makes one (named after the task, setup included) with its record's `task` naming the task, and record
/// that tenant on the task, so each names the other. A tenant an earlier claimer of the task left is taken
/// up again. When the tenant cannot be made the claim is put back (released) and the error says so;
/// nothing half-bound is left.
pub fn claim_in_tenant(
    ctx: &Ctx,
    want: &Want,
    owner: Option<&str>,
    pid: u32,
    remote: Option<&str>,
) -> Result<(Claimed, Option<crate::building::registry::Tenant>), Error> {
    let claimed = claim(ctx, want, owner, pid, remote)?;
    let Claimed::Task(v) = &claimed else { return Ok((claimed, None)) };
    let id = v.task.id.clone();
    crate::failpoint::hit("task-claim.claimed");
    let req = crate::building::AddRequest {
        name: id.clone(),
        task: Some(id.clone()),
        owner: owner.map(String::from),
        setup: true,
        ..Default::default()
    };
    // A tenant already made for this task (an earlier claimer's, its work still there) is taken up again.
    let earlier = crate::building::registry::get(&ctx.state, &id)?.filter(|t| t.task.as_deref() == Some(id.as_str()));
    let tenant = match earlier.map_or_else(|| crate::building::add(ctx, &req), Ok) {
        Ok(t) => t,
        Err(e) => {
            let _ = release(ctx, &id);
            return Err(
                e.context(format!("task '{id}' was claimed and released again: no tenant could be made for it"))
            );
        }
    };
    crate::failpoint::hit("task-claim.tenant-made");
    let name = tenant.name.clone();
    let (task, _) = update(ctx, &id, "tenant", |v| {
        let mut t = v.task.clone();
        t.tenant = Some(name.clone());
        Ok(Some(t))
    })?;
    let view = View { task, ready: false, claim_dead: false };
    Ok((Claimed::Task(Box::new(view)), Some(tenant)))
}

/// What `task claim --run` did.
#[derive(Debug, Serialize)]
pub struct Ran {
    /// The task as it ends: `done` when the command succeeded, `failed` (with the exit) when it did not.
    pub task: Task,
    /// `run --json`'s report of the command in the task's tenant.
    pub run: crate::supervise::job::Report,
}

/// The command `task claim --run` runs, and how.
pub struct RunHow<'a> {
    /// The command and its arguments (no shell).
    pub cmd: &'a [String],
    /// Its stdout goes to our stderr (`--json`).
    pub stdout_to_stderr: bool,
    /// The signals installed for the run.
    pub sigs: &'a crate::supervise::Signals,
}

/// `task claim --run -- CMD`: claim into a tenant ([`claim_in_tenant`]), run CMD there as `run` does
/// (supervised, its lease held, the elevator passed; the tenant is left as CMD leaves it), then mark the
/// task `done` when CMD exits 0 and `failed` with its exit otherwise. `None` when nothing was ready.
pub fn claim_and_run(
    ctx: &Ctx,
    want: &Want,
    owner: Option<&str>,
    pid: u32,
    remote: Option<&str>,
    how: &RunHow<'_>,
) -> Result<Result<Ran, Claimed>, Error> {
    let cmd = how.cmd;
    let (claimed, tenant) = claim_in_tenant(ctx, want, owner, pid, remote)?;
    let (Claimed::Task(v), Some(t)) = (&claimed, tenant) else { return Ok(Err(claimed)) };
    let id = v.task.id.clone();
    let req = crate::supervise::job::Request {
        name: Some(t.name.clone()),
        grace: std::time::Duration::from_secs(3),
        cmd: cmd.to_vec(),
        stdout_to_stderr: how.stdout_to_stderr,
        ..Default::default()
    };
    let report = match crate::supervise::job::run(ctx, &req, how.sigs) {
        Ok(r) => r,
        Err(e) => {
            let _ = fail(ctx, &id, &format!("the command did not run: {}", e.message));
            return Err(e.context(format!("task '{id}' failed")));
        }
    };
    let (task, _) = if report.exit == 0 {
        done(ctx, &id)?
    } else {
        fail(ctx, &id, &format!("`{}` exited {} in tenant {}", cmd.join(" "), report.exit, t.name))?
    };
    Ok(Ok(Ran { task, run: report }))
}

/// Put a claimed (or failed) task back to pending. `false` when it already was.
pub fn release(ctx: &Ctx, id: &str) -> Result<(Task, bool), Error> {
    update(ctx, id, "release", |v| match v.task.status {
        Status::Done => Err(Error::refused(format!("task '{id}' is done; a done task is not released"))),
        Status::Pending if !v.claim_dead => Ok(None),
        _ => {
            let mut t = v.task.clone();
            t.status = Status::Pending;
            t.claimed_by = None;
            t.reason = None;
            Ok(Some(t))
        }
    })
}

/// Mark a task done. `false` when it already was.
pub fn done(ctx: &Ctx, id: &str) -> Result<(Task, bool), Error> {
    update(ctx, id, "done", |v| match v.task.status {
        Status::Done => Ok(None),
        _ => {
            let mut t = v.task.clone();
            t.status = Status::Done;
            t.reason = None;
            Ok(Some(t))
        }
    })
}

/// `task done <id> --land`: land the task's tenant first (as `land` does: brought up to date, `test` run,
/// the target moved by compare-and-swap, the tenant removed), and mark the task done only once it landed.
/// A task without a tenant is a usage error; a landing that fails or is refused leaves the task as it was.
pub fn done_landing(
    ctx: &Ctx,
    id: &str,
    test: Option<String>,
    progress: &dyn Fn(&str),
) -> Result<(Task, bool, crate::building::land::Landed), Error> {
    let v = show(ctx, id)?;
    let Some(tenant) = v.task.tenant.clone() else {
        return Err(Error::usage(format!("task '{id}' has no tenant to land"))
            .hint("claim it with --tenant (or --run), or mark it done without --land"));
    };
    // The task's blob may come from a remote: land only a tenant whose own record names this task back,
    // never someone else's tenant a hand-written blob points at.
    let t = ctx.tenant(&tenant)?;
    if t.task.as_deref() != Some(id) {
        return Err(Error::refused(format!(
            "task '{id}' names tenant '{tenant}', which is not this task's (its record names {})",
            t.task.as_deref().map_or_else(|| "no task".to_string(), |o| format!("task '{o}'"))
        ))
        .hint("land that tenant with `git neighbor land` if it is the right work, then `task done` without --land"));
    }
    let req = crate::building::land::LandRequest {
        name: tenant,
        into: None,
        test,
        mode: crate::building::land::Mode::Merge,
        keep: false,
    };
    let landed = crate::building::land::land(ctx, &req, progress)?;
    let (task, did) = done(ctx, id)?;
    Ok((task, did, landed))
}

/// What `task edit` changes (`None`: leave it).
#[derive(Debug, Default)]
pub struct Edit {
    /// A new subject line.
    pub subject: Option<String>,
    /// A new body.
    pub body: Option<String>,
    /// Labels to add.
    pub add_labels: Vec<String>,
    /// Labels to remove.
    pub remove_labels: Vec<String>,
}

/// Change a task's subject, body or labels (its status, claim and blockers have commands of their own).
/// `false` when nothing changed.
pub fn edit(ctx: &Ctx, id: &str, e: &Edit) -> Result<(Task, bool), Error> {
    let subject = match &e.subject {
        Some(s) if s.trim().is_empty() || s.contains('\n') => {
            return Err(Error::usage("a task's subject must be one non-empty line").hint("put details in --body-file"));
        }
        Some(s) => Some(s.trim().to_string()),
        None => None,
    };
    update(ctx, id, "edit", |v| {
        let mut t = v.task.clone();
        if let Some(s) = &subject {
            t.subject = s.clone();
        }
        if let Some(b) = &e.body {
            t.body = b.clone();
        }
        t.labels.retain(|l| !e.remove_labels.contains(l));
        for l in &e.add_labels {
            if !t.labels.contains(l) {
                t.labels.push(l.clone());
            }
        }
        let same = t.subject == v.task.subject && t.body == v.task.body && t.labels == v.task.labels;
        Ok((!same).then_some(t))
    })
}

/// Mark a task failed with a reason; a done task is refused.
pub fn fail(ctx: &Ctx, id: &str, reason: &str) -> Result<(Task, bool), Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.contains('\n') {
        return Err(Error::usage("--reason must be one non-empty line"));
    }
    update(ctx, id, "fail", |v| match v.task.status {
        Status::Done => Err(Error::refused(format!("task '{id}' is done; a done task does not fail"))),
        _ => {
            let mut t = v.task.clone();
            t.status = Status::Failed;
            t.reason = Some(reason.to_string());
            Ok(Some(t))
        }
    })
}

/// Make `id` wait for `by`. Blocking a task on itself is a usage error (exit 2); a blocker that would close
/// a cycle is refused (exit 3) naming the cycle. `false` when it already waited for `by`.
pub fn block(ctx: &Ctx, id: &str, by: &str) -> Result<(Task, bool), Error> {
    validate_id(id)?;
    validate_id(by)?;
    if id == by {
        return Err(Error::usage(format!("task '{id}' cannot be blocked by itself")));
    }
    for _ in 0..RETRIES {
        let one = store::load(&ctx.repo, id)?;
        store::load(&ctx.repo, by)?;
        if one.task.blocked_by.iter().any(|b| b == by) {
            return Ok((one.task, false));
        }
        let (all, _) = store::load_all(&ctx.repo)?;
        if let Some(path) = path_between(&all, by, id) {
            return Err(Error::refused(format!(
                "blocking '{id}' on '{by}' would make a cycle: {id} -> {}",
                path.join(" -> ")
            ))
            .hint("a task is blocked by the tasks it names; remove the cycle from the plan"));
        }
        let mut t = one.task.clone();
        t.blocked_by.push(by.to_string());
        t.updated = now();
        t.version += 1;
        // `one` may be newer than its entry in `all`; the transaction verifies `all` and swaps from `one`.
        if store::swap_verified(&ctx.repo, &one, &t, &all, &format!("neighbor: task block {id} {by}"))? {
            log(ctx, "block", &t);
            return Ok((t, true));
        }
    }
    Err(Error::new(format!("the tasks kept changing while blocking '{id}'; nothing was changed")).hint("try again"))
}

/// A chain `from` -> … -> `to` following `blocked_by`, if there is one.
fn path_between(all: &[Stored], from: &str, to: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![from.to_string()]];
    let mut seen = std::collections::HashSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last()?.clone();
        if last == to {
            return Some(path);
        }
        if !seen.insert(last.clone()) {
            continue;
        }
        if let Some(s) = all.iter().find(|s| s.task.id == last) {
            for b in &s.task.blocked_by {
                let mut p = path.clone();
                p.push(b.clone());
                stack.push(p);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(id: &str, blocked_by: &[&str]) -> Stored {
        Stored {
            task: Task {
                id: id.into(),
                subject: id.into(),
                body: String::new(),
                labels: vec![],
                blocked_by: blocked_by.iter().map(|s| s.to_string()).collect(),
                status: Status::Pending,
                reason: None,
                owner: None,
                tenant: None,
                claimed_by: None,
                created: String::new(),
                updated: String::new(),
                version: 1,
            },
            oid: String::new(),
        }
    }

    #[test]
    fn cycles_are_found_along_blockers() {
        let all = vec![stored("a", &[]), stored("b", &["a"]), stored("c", &["b"])];
        // a blocked by c would close c -> b -> a.
        assert_eq!(path_between(&all, "c", "a"), Some(vec!["c".into(), "b".into(), "a".into()]));
        assert_eq!(path_between(&all, "a", "c"), None);
    }

    #[test]
    fn ready_needs_every_blocker_done() {
        let mut all = vec![stored("a", &[]), stored("b", &["a"])];
        let ready =
            |all: &[Stored]| views(all).iter().filter(|v| v.ready).map(|v| v.task.id.clone()).collect::<Vec<_>>();
        assert_eq!(ready(&all), vec!["a"]);
        all[0].task.status = Status::Done;
        assert_eq!(ready(&all), vec!["b"]);
    }

    #[test]
    fn fresh_ids_are_valid() {
        for i in 0..50 {
            validate_id(&fresh_id(i)).unwrap();
        }
    }
}
