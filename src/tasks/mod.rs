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
//! claims, syncs and keeps the claim only if the remote holds its blob. Once `task sync <remote>` has run
//! (recorded in `tasks-remote`) or `tasks.remote` is set, every change goes through that remote the same
//! way ([`route`], [`through`]) unless `--local`. A claim recorded on another host cannot be judged by its
//! pid: it carries a heartbeat that `task claim --run` refreshes ([`keep_alive`]) and expires after
//! `tasks.claim-ttl`. Taking over a claim that is over first saves the work its tenant holds here as a
//! rescue ref, noted in the task's `rescued`. `fleet --tasks` (`supervise::fleet::run_tasks`) runs streams
//! of `task claim --next --run` until no task is ready and none is claimed.

pub mod store;
pub mod sync;

use serde::{Deserialize, Serialize};

use crate::building::Ctx;
use crate::building::events::{self, Event};
use crate::building::state_dir;
use crate::error::Error;
use crate::git::refs::Cas;
use crate::ui::printable;
use store::Stored;

/// Exit code of `task claim --next` when no task is ready.
pub const NOTHING_READY: u8 = 5;

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
    /// When the claimer last said it is alive (RFC 3339; `since` when absent). A claim from another host
    /// whose heartbeat is older than `tasks.claim-ttl` has expired.
    #[serde(default)]
    pub heartbeat: Option<String>,
    /// Who that process is beyond its pid (boot and start time, where the system tells): a claim whose
    /// pid now belongs to another process, as after a reboot, is dead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
    /// A claim into a tenant: the `task claim` process that wrote it. Once that process is gone, a claim
    /// still without its tenant was cut short (killed), and the same claimer's retry resumes it; while it
    /// runs, the claim is under way and nobody else's to finish.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<Writer>,
}

/// The process that wrote a claim into a tenant (see [`Claimer::writer`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Writer {
    /// Its pid (on the claimer's host).
    pub pid: u32,
    /// Who it is beyond its pid, as [`Claimer::process`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process: Option<String>,
}

impl Claimer {
    /// Whether `other` is this very claim: the same process (pid, host, and start identity where the
    /// system tells) claiming at the same moment. A heartbeat does not change it.
    pub fn same_claim(&self, other: &Claimer) -> bool {
        self.pid == other.pid && self.host == other.host && self.process == other.process && self.since == other.since
    }

    /// The last sign of life: the heartbeat, else the claim's time.
    pub fn last_seen(&self) -> &str {
        self.heartbeat.as_deref().unwrap_or(&self.since)
    }
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
    /// Where the work of the task's tenant was saved when a dead or expired claim was taken over
    /// (a ref under `refs/neighbor/rescue/`).
    #[serde(default)]
    pub rescued: Option<String>,
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
    /// The stored status was `claimed` but the claim is over: its process on this host is gone, or (a
    /// claim from another host) its heartbeat is older than `tasks.claim-ttl`.
    pub claim_dead: bool,
    /// The claim is over because its heartbeat expired (a claim from another host).
    pub claim_expired: bool,
}

/// The first field of `t` holding a control character, said as "its subject holds a control character
/// (U+001B)". Task text is printed to terminals, and a task may come from any writer of a shared remote:
/// an escape sequence in it would drive the terminal of whoever lists it (set the clipboard, clear the
/// screen, fake output). Only the body may hold line ends and tabs (a CRLF line end too). A task with one
/// is malformed ([`store`] leaves it out); one is never written.
pub fn control_in(t: &Task) -> Option<String> {
    let found = |field: &str, text: &str, allowed: &[char]| {
        text.chars()
            .find(|c| c.is_control() && !allowed.contains(c))
            .map(|c| format!("its {field} holds a control character (U+{:04X})", u32::from(c)))
    };
    let mut fields: Vec<(&str, &str)> =
        vec![("id", &t.id), ("subject", &t.subject), ("created", &t.created), ("updated", &t.updated)];
    fields.extend(t.labels.iter().map(|l| ("label", l.as_str())));
    fields.extend(t.blocked_by.iter().map(|b| ("blocked_by", b.as_str())));
    for (name, v) in [("reason", &t.reason), ("owner", &t.owner), ("tenant", &t.tenant), ("rescued", &t.rescued)] {
        if let Some(v) = v {
            fields.push((name, v));
        }
    }
    if let Some(c) = &t.claimed_by {
        fields.extend([("claimer's host", c.host.as_str()), ("claim's time", c.since.as_str())]);
        fields.extend(c.heartbeat.as_deref().map(|h| ("claim's heartbeat", h)));
        fields.extend(c.process.as_deref().map(|p| ("claimer's process", p)));
        fields.extend(c.writer.as_ref().and_then(|w| w.process.as_deref()).map(|p| ("claim writer's process", p)));
    }
    fields
        .into_iter()
        .find_map(|(name, text)| found(name, text, &[]))
        .or_else(|| found("body", &t.body, &['\n', '\t', '\r']))
}

/// Refuse a task id git or a shell would misread: the rules of tenant names.
pub fn validate_id(id: &str) -> Result<(), Error> {
    crate::building::registry::validate_name_as("task", id)
}

/// This host's name, as claims record it: `$NEIGHBOR_HOST`, else the hostname. (Containers that share a
/// hostname but not a pid namespace set `NEIGHBOR_HOST` apart, so their claims are judged by heartbeat.)
pub fn host() -> String {
    if let Some(h) = std::env::var("NEIGHBOR_HOST").ok().map(|h| h.trim().to_string()).filter(|h| !h.is_empty()) {
        return h;
    }
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "unknown".into())
}

fn now() -> String {
    state_dir::rfc3339(state_dir::now_ms())
}

/// How claims are judged: this host's name, the heartbeat expiry, and the time now.
#[derive(Debug, Clone)]
struct Judge {
    here: String,
    ttl: std::time::Duration,
    now_ms: u64,
}

/// Whether a claim still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Liveness {
    /// Not claimed, or claimed by a live process (this host) or a fresh heartbeat (another host).
    Live,
    /// Claimed by a process of this host that no longer runs.
    Dead,
    /// Claimed from another host whose heartbeat is older than the expiry.
    Expired,
}

impl Judge {
    fn new(ctx: &Ctx) -> Self {
        Judge { here: host(), ttl: ctx.config.tasks.claim_ttl, now_ms: state_dir::now_ms() }
    }

    fn of(&self, t: &Task) -> Liveness {
        let Some(c) = t.claimed_by.as_ref().filter(|_| t.status == Status::Claimed) else { return Liveness::Live };
        if c.host == self.here {
            let alive = crate::supervise::proc::same_process_alive(c.pid, c.process.as_deref());
            return if alive { Liveness::Live } else { Liveness::Dead };
        }
        // A heartbeat that does not parse is as old as can be: a claim nobody can tell is alive is not.
        let seen = c.last_seen().parse::<jiff::Timestamp>().map(|t| t.as_millisecond()).unwrap_or(0);
        let age = i128::from(self.now_ms) - i128::from(seen);
        if age > self.ttl.as_millis() as i128 { Liveness::Expired } else { Liveness::Live }
    }
}

/// The views of `all`, with readiness decided on the whole set.
fn views(all: &[Stored], judge: &Judge) -> Vec<View> {
    let live: Vec<Liveness> = all.iter().map(|s| judge.of(&s.task)).collect();
    let status_of = |id: &str| {
        all.iter()
            .zip(&live)
            .find(|(s, _)| s.task.id == id)
            .map(|(s, l)| if *l != Liveness::Live { Status::Pending } else { s.task.status })
    };
    all.iter()
        .zip(&live)
        .map(|(s, &l)| {
            let mut task = s.task.clone();
            if l != Liveness::Live {
                task.status = Status::Pending;
            }
            let ready =
                task.status == Status::Pending && task.blocked_by.iter().all(|b| status_of(b) == Some(Status::Done));
            View { task, ready, claim_dead: l != Liveness::Live, claim_expired: l == Liveness::Expired }
        })
        .collect()
}

fn view_of(all: &[Stored], id: &str, judge: &Judge) -> Option<View> {
    views(all, judge).into_iter().find(|v| v.task.id == id)
}

/// The file that records the remote `task sync` shared the plane through.
fn shared_file(ctx: &Ctx) -> std::path::PathBuf {
    ctx.state.root.join("tasks-remote")
}

/// The remote task changes go through: `flag` (`--remote`); none with `--local`; else `tasks.remote`
/// (which must name a remote of this clone); else the remote `task sync` last shared the plane through.
/// `None`: the change is made here alone.
pub fn route(ctx: &Ctx, flag: Option<&str>, local: bool) -> Result<Option<String>, Error> {
    if local {
        return Ok(None);
    }
    if let Some(r) = flag {
        return Ok(Some(r.to_string()));
    }
    let configured = &ctx.config.tasks.remote;
    if !configured.is_empty() {
        if ctx.repo.config_string(&format!("remote.{configured}.url")).is_none() {
            return Err(Error::new(format!("tasks.remote names '{configured}', which is not a remote of this clone"))
                .hint(format!(
                    "add it (`git remote add {configured} <url>`), or pass --local to change this clone alone"
                )));
        }
        return Ok(Some(configured.clone()));
    }
    let file = shared_file(ctx);
    match std::fs::read_to_string(&file) {
        Ok(text) => Ok(Some(text.trim().to_string()).filter(|r| !r.is_empty())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(format!("cannot read {}: {e}", file.display()))),
    }
}

/// `task sync <remote>`: sync with it, and from then on every task change of this clone goes through it.
pub fn share(ctx: &Ctx, remote: &str) -> Result<sync::Report, Error> {
    let report = sync::sync(ctx, remote)?;
    state_dir::atomic_write(&shared_file(ctx), format!("{remote}\n").as_bytes())?;
    Ok(report)
}

/// Make a change here and, with a remote, through it: take the remote's tasks, change, publish, and the
/// change holds only once the remote has exactly the blob written here. A change that lost to one
/// published first (the sync replaced ours with it) is decided again on what the remote holds.
fn through(
    ctx: &Ctx,
    remote: Option<&str>,
    change: impl Fn() -> Result<(Task, bool), Error>,
) -> Result<(Task, bool), Error> {
    let Some(r) = remote else { return change() };
    sync::sync(ctx, r)?;
    for _ in 0..RETRIES {
        let (t, did) = change()?;
        if !did {
            return Ok((t, false));
        }
        let full = store::ref_of(&t.id);
        let ours = crate::git::refs::oid_of(&ctx.repo, &full)?;
        let published = sync::sync(ctx, r);
        let theirs = crate::git::remote::remote_ref(&ctx.repo, r, &full)?;
        if let Err(e) = published {
            return Err(e
                .context(format!("task '{}' was changed here but not published to '{r}'", t.id))
                .hint("`git neighbor task sync` publishes it"));
        }
        if theirs.is_some() && theirs == ours {
            return Ok((t, true));
        }
    }
    Err(Error::new(format!("the tasks on '{r}' kept changing; nothing was published")).hint("try again"))
}

/// Save the work of the tenant a dead or expired claim of `t` leaves behind, when that tenant is here
/// (its record names the task back) and holds work: the rescue ref. `None`: no such tenant, or no work.
fn rescue_tenant_of(ctx: &Ctx, t: &Task) -> Result<Option<String>, Error> {
    let Some(name) = &t.tenant else { return Ok(None) };
    let Some(tenant) =
        crate::building::registry::get(&ctx.state, name)?.filter(|r| r.task.as_deref() == Some(t.id.as_str()))
    else {
        return Ok(None);
    };
    if crate::building::work_in(ctx, &tenant)?.is_empty() {
        return Ok(None);
    }
    let tip = crate::git::refs::oid_of(&ctx.repo, &format!("refs/heads/{}", tenant.branch))?;
    let why = format!("task {} was taken over", t.id);
    let r = crate::building::remove::rescue_tenant(ctx, &tenant, &why, tip.as_deref(), None)?;
    Ok(Some(r.r#ref))
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

/// Add a task (through `remote`, see [`through`]). Its blockers must exist; an existing id is refused
/// (exit 3).
pub fn add(ctx: &Ctx, req: NewTask, remote: Option<&str>) -> Result<Task, Error> {
    through(ctx, remote, || add_here(ctx, &req).map(|t| (t, true))).map(|(t, _)| t)
}

fn add_here(ctx: &Ctx, req: &NewTask) -> Result<Task, Error> {
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
            rescued: None,
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
    let mut v: Vec<View> = views(&all, &Judge::new(ctx))
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
    view_of(&all, id, &Judge::new(ctx)).ok_or_else(|| Error::new(format!("no task named '{id}'")))
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
    claim_for(ctx, want, owner, pid, remote, false)
}

/// [`claim`]; `for_tenant`: the claim will take up the task's tenant here, so a task whose tenant's lease a
/// live process holds (an earlier claimer's command still running there) is not taken.
fn claim_for(
    ctx: &Ctx,
    want: &Want,
    owner: Option<&str>,
    pid: u32,
    remote: Option<&str>,
    for_tenant: bool,
) -> Result<Claimed, Error> {
    let Some(r) = remote else { return claim_here(ctx, want, owner, pid, &[], for_tenant).map(|(c, _)| c) };
    // Changes made here that lost to the remote's are not this claim's business.
    sync::sync(ctx, r)?;
    let mut lost: Vec<String> = Vec::new();
    for _ in 0..RETRIES {
        let (c, swapped) = claim_here(ctx, want, owner, pid, &lost, for_tenant)?;
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
                let v =
                    view_of(&all, &id, &Judge::new(ctx)).ok_or_else(|| Error::new(format!("no task named '{id}'")))?;
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

fn claim_here(
    ctx: &Ctx,
    want: &Want,
    owner: Option<&str>,
    pid: u32,
    skip: &[String],
    for_tenant: bool,
) -> Result<Here, Error> {
    let ts = now();
    let process = crate::supervise::proc::identity(pid);
    let writer = for_tenant.then(|| {
        let me = std::process::id();
        Writer { pid: me, process: crate::supervise::proc::identity(me) }
    });
    let claimer = Claimer { pid, host: host(), since: ts.clone(), heartbeat: Some(ts), process, writer };
    let judge = Judge::new(ctx);
    // Taking over a claim that is over: the work its tenant holds here is saved first, and the task says
    // where. A tenant whose work cannot be saved keeps the task from being taken (the error says why).
    let take = |s: &Stored| -> Result<Task, Error> {
        if for_tenant {
            refuse_leased_tenant(ctx, &s.task.id)?;
        }
        let mut t = s.task.clone();
        if judge.of(&s.task) != Liveness::Live
            && let Some(r) = rescue_tenant_of(ctx, &s.task)?
        {
            t.rescued = Some(r);
        }
        t.status = Status::Claimed;
        t.claimed_by = Some(claimer.clone());
        if for_tenant {
            // Bound again once its tenant is there: a claim into a tenant without one is unfinished.
            t.tenant = None;
        }
        t.reason = None;
        if let Some(o) = owner {
            t.owner = Some(o.to_string());
        }
        t.updated = now();
        t.version += 1;
        Ok(t)
    };
    // A claim into a tenant that this same claimer (pid, host, process start) made and that was cut short
    // (killed before its tenant was made or bound) is resumed, not refused as someone else's: its caller,
    // still alive, would otherwise hold the task without knowing it.
    let mine = |t: &Task| {
        for_tenant
            && t.status == Status::Claimed
            && t.claimed_by.as_ref().is_some_and(|c| {
                c.pid == claimer.pid
                    && c.host == claimer.host
                    && c.process == claimer.process
                    // Its writer gone: cut short, not under way in a concurrent claim of the same caller.
                    && c.writer.as_ref().is_some_and(|w| {
                        !crate::supervise::proc::same_process_alive(w.pid, w.process.as_deref())
                    })
            })
    };
    let resumed = |t: &Task| {
        let v = View { task: t.clone(), ready: false, claim_dead: false, claim_expired: false };
        Ok((Claimed::Task(Box::new(v)), None))
    };
    match want {
        Want::Id(id) => {
            for _ in 0..RETRIES {
                let (all, _) = store::load_all(&ctx.repo)?;
                let one = store::load(&ctx.repo, id)?;
                if mine(&one.task) {
                    return resumed(&one.task);
                }
                let all: Vec<Stored> =
                    all.into_iter().filter(|s| s.task.id != *id).chain(std::iter::once(one.clone())).collect();
                let v = view_of(&all, id, &judge).ok_or_else(|| Error::new(format!("no task named '{id}'")))?;
                if !v.ready {
                    return Err(not_ready(&v, &all));
                }
                let t = take(&one)?;
                match store::swap_to(&ctx.repo, &one, &t, &format!("neighbor: task claim {id}"))? {
                    (Cas::Done, oid) => {
                        log(ctx, "claim", &t);
                        let v = View { task: t, ready: false, claim_dead: false, claim_expired: false };
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
                // --next: the oldest such cut-short claim, one whose tenant is not bound yet, comes first.
                let mut unfinished: Vec<&Stored> = Vec::new();
                for s in all.iter().filter(|s| mine(&s.task)) {
                    let bound = s.task.tenant.as_deref() == Some(s.task.id.as_str())
                        && tenant_of_task(ctx, &s.task.id)?.is_some();
                    if !bound {
                        unfinished.push(s);
                    }
                }
                if let Some(s) = unfinished
                    .into_iter()
                    .min_by(|a, b| (&a.task.created, &a.task.id).cmp(&(&b.task.created, &b.task.id)))
                {
                    return resumed(&s.task);
                }
                let vs = views(&all, &judge);
                let mut ready: Vec<&View> = vs.iter().filter(|v| v.ready && !skip.contains(&v.task.id)).collect();
                // Ready tasks that are not taken (below) count as claimed: someone still holds their tenant.
                let nothing = |not_taken: usize| Claimed::NothingReady {
                    blocked: vs.iter().filter(|v| v.task.status == Status::Pending && !v.ready).count(),
                    claimed: vs.iter().filter(|v| v.task.status == Status::Claimed).count() + not_taken,
                };
                if ready.is_empty() {
                    return Ok((nothing(0), None));
                }
                ready.sort_by(|a, b| (&a.task.created, &a.task.id).cmp(&(&b.task.created, &b.task.id)));
                let mut not_taken = 0;
                for v in ready {
                    let Some(s) = all.iter().find(|s| s.task.id == v.task.id) else { continue };
                    // A tenant whose work cannot be saved, or that a live process holds: its task is not
                    // taken; the next one is.
                    let Ok(t) = take(s) else {
                        not_taken += 1;
                        continue;
                    };
                    if let (Cas::Done, oid) =
                        store::swap_to(&ctx.repo, s, &t, &format!("neighbor: task claim {}", t.id))?
                    {
                        log(ctx, "claim", &t);
                        let v = View { task: t, ready: false, claim_dead: false, claim_expired: false };
                        return Ok((Claimed::Task(Box::new(v)), Some((oid, s.oid.clone()))));
                    }
                    // Lost the race for this one: the next ready task.
                }
                if not_taken == vs.iter().filter(|v| v.ready && !skip.contains(&v.task.id)).count() {
                    return Ok((nothing(not_taken), None));
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
                .map(|c| format!("pid {} on {} since {}", c.pid, printable(&c.host), printable(&c.since)))
                .unwrap_or_else(|| "an unknown claimer".into());
            let owner = v.task.owner.as_ref().map(|o| format!(" (owner {})", printable(o))).unwrap_or_default();
            Error::refused(format!("task '{id}' is already claimed by {who}{owner}"))
                .hint("`git neighbor task claim --next` takes another ready task")
        }
        Status::Done => Error::refused(format!("task '{id}' is done; a done task is not claimed again")),
        Status::Failed => Error::refused(format!(
            "task '{id}' failed ({}); it is not claimable",
            printable(v.task.reason.as_deref().unwrap_or("no reason given"))
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
    let judge = Judge::new(ctx);
    for _ in 0..RETRIES {
        let one = store::load(&ctx.repo, id)?;
        let l = judge.of(&one.task);
        let mut task = one.task.clone();
        if l != Liveness::Live {
            task.status = Status::Pending;
        }
        let v = View { task, ready: false, claim_dead: l != Liveness::Live, claim_expired: l == Liveness::Expired };
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

/// The tenant here that a claim of task `id` would take up (named after it, its record naming it back).
fn tenant_of_task(ctx: &Ctx, id: &str) -> Result<Option<crate::building::registry::Tenant>, Error> {
    Ok(crate::building::registry::get(&ctx.state, id)?.filter(|t| t.task.as_deref() == Some(id)))
}

/// Refuse (exit 3) to hand out the tenant of task `id` while a live process holds its lease: an earlier
/// claimer's command still runs there (its claim expired under it, as on a suspended machine), and two
/// writers in one worktree destroy each other's work.
fn refuse_leased_tenant(ctx: &Ctx, id: &str) -> Result<(), Error> {
    let Some(t) = tenant_of_task(ctx, id)? else { return Ok(()) };
    let Some(holder) = crate::building::lease::lease_holder(&ctx.state, &t.name) else { return Ok(()) };
    Err(Error::refused(format!(
        "task '{id}' is not taken: its tenant '{}' is leased by {} (an earlier claimer's command still runs there)",
        t.name,
        printable(&holder.describe())
    ))
    .hint("wait for that command to end (the lease dies with its process), or claim the task without --tenant"))
}

/// `task claim --tenant`: claim as [`claim`] does, then give the task a tenant of its own, made as `add`
/// makes one (named after the task, setup included) with its record's `task` naming the task, and record
/// that tenant on the task, so each names the other. A tenant an earlier claimer of the task left is taken
/// up again. When the tenant cannot be made the claim is put back (released) and the error says so;
/// nothing half-bound is left. A `kill -9` between the steps cannot put anything back, so such a claim is
/// resumed instead: the same claimer's retry, once the killed writer is gone, finishes it (see
/// [`Claimer::writer`]); rolling back would need the killed process to run.
pub fn claim_in_tenant(
    ctx: &Ctx,
    want: &Want,
    owner: Option<&str>,
    pid: u32,
    remote: Option<&str>,
) -> Result<(Claimed, Option<crate::building::registry::Tenant>), Error> {
    let claimed = claim_for(ctx, want, owner, pid, remote, true)?;
    let Claimed::Task(v) = &claimed else { return Ok((claimed, None)) };
    let id = v.task.id.clone();
    let mine = v.task.claimed_by.clone();
    crate::failpoint::hit("task-claim.claimed");
    let req = crate::building::AddRequest {
        name: id.clone(),
        task: Some(id.clone()),
        owner: owner.map(String::from),
        setup: true,
        ..Default::default()
    };
    // A tenant already made for this task (an earlier claimer's, its work still there) is taken up again,
    // unless its lease was taken since the claim looked.
    let earlier = match tenant_of_task(ctx, &id) {
        Ok(Some(t)) => refuse_leased_tenant(ctx, &id).map(|()| Some(t)),
        other => other,
    };
    let tenant = match earlier.and_then(|e| e.map_or_else(|| crate::building::add(ctx, &req), Ok)) {
        Ok(t) => t,
        Err(e) => {
            let _ = release_own(ctx, &id, mine.as_ref(), remote);
            return Err(
                e.context(format!("task '{id}' was claimed and released again: no tenant could be made for it"))
            );
        }
    };
    crate::failpoint::hit("task-claim.tenant-made");
    let name = tenant.name.clone();
    let (task, _) = through(ctx, remote, || {
        update(ctx, &id, "tenant", |v| {
            // Bound to this claim only: one taken over meanwhile is not ours to bind.
            if let Some(m) = &mine
                && own_claim(v, m, Status::Claimed).is_none()
            {
                return Err(claim_lost(&id, v));
            }
            if v.task.tenant.as_deref() == Some(name.as_str()) {
                return Ok(None);
            }
            let mut t = v.task.clone();
            t.tenant = Some(name.clone());
            Ok(Some(t))
        })
    })?;
    crate::failpoint::hit("task-claim.bound");
    let view = View { task, ready: false, claim_dead: false, claim_expired: false };
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
    let mine =
        v.task.claimed_by.clone().ok_or_else(|| Error::new(format!("task '{id}' was claimed without a claimer")))?;
    let req = crate::supervise::job::Request {
        name: Some(t.name.clone()),
        grace: std::time::Duration::from_secs(3),
        cmd: cmd.to_vec(),
        stdout_to_stderr: how.stdout_to_stderr,
        ..Default::default()
    };
    // While CMD runs, a second thread says the claim is alive (see [`keep_alive`]).
    let stop = std::sync::atomic::AtomicBool::new(false);
    let ran = std::thread::scope(|s| {
        // A Ctx of its own: the repository handle is not shared between threads.
        let (dir, overrides, wait) = (ctx.repo.here().to_path_buf(), ctx.overrides.clone(), ctx.lock_timeout);
        let (id, stop) = (&id, &stop);
        let beats = s.spawn(move || {
            if let Ok((c, _)) = Ctx::open(&dir, &overrides, wait, crate::building::ConfigPolicy::Strict) {
                keep_alive(&c, id, pid, remote, stop);
            }
        });
        let ran = crate::supervise::job::run(ctx, &req, how.sigs);
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        let _ = beats.join();
        ran
    });
    let report = match ran {
        Ok(r) => r,
        Err(e) => {
            let why = format!("the command did not run: {}", e.message);
            let _ = through(ctx, remote, || fail_here(ctx, &id, &why, Some(&mine)));
            return Err(e.context(format!("task '{id}' failed")));
        }
    };
    crate::failpoint::hit("task-run.ran");
    // Only while the claim is still this one: one that expired while CMD ran may have been taken over, and
    // marking the task then would overwrite the new claimer's live claim.
    let marked = if report.exit == 0 {
        through(ctx, remote, || done_here(ctx, &id, Some(&mine)))
    } else {
        let why = format!("`{}` exited {} in tenant {}", cmd.join(" "), report.exit, t.name);
        through(ctx, remote, || fail_here(ctx, &id, &why, Some(&mine)))
    };
    let (task, _) = marked.map_err(|e| {
        e.context(format!(
            "`{}` exited {} in tenant {}, which is not recorded on task '{id}'",
            cmd.join(" "),
            report.exit,
            t.name
        ))
    })?;
    Ok(Ok(Ran { task, run: report }))
}

/// How often a running claim's heartbeat is refreshed: a third of `tasks.claim-ttl` (at least 100 ms), so
/// two refreshes can fail before the claim expires.
fn beat_every(ctx: &Ctx) -> std::time::Duration {
    (ctx.config.tasks.claim_ttl / 3).max(std::time::Duration::from_millis(100))
}

/// Refresh the heartbeat of the claim process `pid` of this host holds on task `id` (through `remote`).
/// `false` once the claim is not that one's any more (done, released, taken over): nothing to refresh.
pub fn heartbeat(ctx: &Ctx, id: &str, pid: u32, remote: Option<&str>) -> Result<bool, Error> {
    let me = host();
    let mine =
        |t: &Task| t.status == Status::Claimed && t.claimed_by.as_ref().is_some_and(|c| c.pid == pid && c.host == me);
    let (t, _) = through(ctx, remote, || {
        update(ctx, id, "heartbeat", |v| {
            if !mine(&v.task) {
                return Ok(None);
            }
            let mut t = v.task.clone();
            if let Some(c) = t.claimed_by.as_mut() {
                c.heartbeat = Some(now());
            }
            Ok(Some(t))
        })
    })?;
    Ok(mine(&t))
}

/// The heartbeat loop of a running claim: refresh every [`beat_every`] until `stop` is set or the claim is
/// no longer ours. A refresh that fails (the remote unreachable for a moment) is tried again next time; the
/// claim expires elsewhere only when refreshes keep failing for the whole expiry.
fn keep_alive(ctx: &Ctx, id: &str, pid: u32, remote: Option<&str>, stop: &std::sync::atomic::AtomicBool) {
    let every = beat_every(ctx);
    let tick = std::time::Duration::from_millis(20);
    let mut waited = std::time::Duration::ZERO;
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(tick);
        waited += tick;
        if waited < every {
            continue;
        }
        waited = std::time::Duration::ZERO;
        if let Ok(false) = heartbeat(ctx, id, pid, remote) {
            return;
        }
    }
}

/// Put a claimed (or failed) task back to pending (through `remote`). `false` when it already was.
pub fn release(ctx: &Ctx, id: &str, remote: Option<&str>) -> Result<(Task, bool), Error> {
    through(ctx, remote, || release_here(ctx, id, None))
}

/// Put back a claim this command made (`mine`) and could not finish; a claim that is no longer it is left
/// alone.
fn release_own(ctx: &Ctx, id: &str, mine: Option<&Claimer>, remote: Option<&str>) -> Result<(Task, bool), Error> {
    let Some(mine) = mine else { return Err(Error::new(format!("task '{id}' was claimed without a claimer"))) };
    through(ctx, remote, || release_here(ctx, id, Some(mine)))
}

/// Why a change a claimer makes to its own claim is refused: the claim is not its own any more (it
/// expired or was released, and may have been taken over). Exit 3.
fn claim_lost(id: &str, now: &View) -> Error {
    let t = &now.task;
    let state = match (&t.claimed_by, t.status) {
        (Some(c), Status::Claimed) => {
            format!("claimed by pid {} on {} since {}", c.pid, printable(&c.host), printable(&c.since))
        }
        (_, s) => s.name().to_string(),
    };
    Error::refused(format!("claim lost: task '{id}' is no longer this claim's (it is {state}); nothing was changed"))
        .hint(format!("`git neighbor task show {id}` says who holds it; the work stays in its tenant"))
}

/// Whether the task `v` is still the claim `mine`, or was finished by it with `status` (a change published
/// and decided again): `Some(false)` still claimed, `Some(true)` already finished, `None` lost.
fn own_claim(v: &View, mine: &Claimer, finished: Status) -> Option<bool> {
    let ours = v.task.claimed_by.as_ref().is_some_and(|c| c.same_claim(mine));
    // The stored status: a claim this host judges over is shown as pending, but it is still the one stored.
    let claimed = v.task.status == Status::Claimed || v.claim_dead;
    match (ours, claimed) {
        (true, true) => Some(false),
        (true, false) if v.task.status == finished => Some(true),
        _ => None,
    }
}

fn release_here(ctx: &Ctx, id: &str, mine: Option<&Claimer>) -> Result<(Task, bool), Error> {
    update(ctx, id, "release", |v| match v.task.status {
        _ if mine.is_some_and(|m| own_claim(v, m, Status::Pending).is_none()) => Ok(None),
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

/// Mark a task done (through `remote`). `false` when it already was.
/// A human's decision: whoever holds the claim.
pub fn done(ctx: &Ctx, id: &str, remote: Option<&str>) -> Result<(Task, bool), Error> {
    through(ctx, remote, || done_here(ctx, id, None))
}

/// Mark a task done; with `mine`, only while it is still that claim (else [`claim_lost`], exit 3).
fn done_here(ctx: &Ctx, id: &str, mine: Option<&Claimer>) -> Result<(Task, bool), Error> {
    update(ctx, id, "done", |v| match v.task.status {
        _ if mine.is_some_and(|m| own_claim(v, m, Status::Done).is_none()) => Err(claim_lost(id, v)),
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
    remote: Option<&str>,
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
    let (task, did) = done(ctx, id, remote)?;
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
/// `false` when nothing changed. Through `remote`.
pub fn edit(ctx: &Ctx, id: &str, e: &Edit, remote: Option<&str>) -> Result<(Task, bool), Error> {
    through(ctx, remote, || edit_here(ctx, id, e))
}

fn edit_here(ctx: &Ctx, id: &str, e: &Edit) -> Result<(Task, bool), Error> {
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

/// Mark a task failed with a reason (through `remote`); a done task is refused. A human's decision:
/// whoever holds the claim.
pub fn fail(ctx: &Ctx, id: &str, reason: &str, remote: Option<&str>) -> Result<(Task, bool), Error> {
    through(ctx, remote, || fail_here(ctx, id, reason, None))
}

/// Mark a task failed; with `mine`, only while it is still that claim (else [`claim_lost`], exit 3).
fn fail_here(ctx: &Ctx, id: &str, reason: &str, mine: Option<&Claimer>) -> Result<(Task, bool), Error> {
    let reason = reason.trim();
    if reason.is_empty() || reason.contains('\n') {
        return Err(Error::usage("--reason must be one non-empty line"));
    }
    update(ctx, id, "fail", |v| match v.task.status {
        _ if mine.is_some_and(|m| own_claim(v, m, Status::Failed).is_none()) => Err(claim_lost(id, v)),
        _ if mine.is_some_and(|m| own_claim(v, m, Status::Failed) == Some(true)) => Ok(None),
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
/// a cycle is refused (exit 3) naming the cycle. `false` when it already waited for `by`. Through `remote`.
pub fn block(ctx: &Ctx, id: &str, by: &str, remote: Option<&str>) -> Result<(Task, bool), Error> {
    through(ctx, remote, || block_here(ctx, id, by))
}

fn block_here(ctx: &Ctx, id: &str, by: &str) -> Result<(Task, bool), Error> {
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
                rescued: None,
                created: String::new(),
                updated: String::new(),
                version: 1,
            },
            oid: String::new(),
        }
    }

    fn judge() -> Judge {
        Judge { here: "here".into(), ttl: std::time::Duration::from_secs(60), now_ms: 0 }
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
        let ready = |all: &[Stored]| {
            views(all, &judge()).iter().filter(|v| v.ready).map(|v| v.task.id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ready(&all), vec!["a"]);
        all[0].task.status = Status::Done;
        assert_eq!(ready(&all), vec!["b"]);
    }

    #[test]
    fn a_claim_from_another_host_expires_with_its_heartbeat() {
        let mut t = stored("a", &[]).task;
        t.status = Status::Claimed;
        let at = |ms: u64| state_dir::rfc3339(ms);
        t.claimed_by = Some(Claimer {
            pid: 1,
            host: "there".into(),
            since: at(1_000),
            heartbeat: Some(at(100_000)),
            process: None,
            writer: None,
        });
        let j = |now_ms| Judge { here: "here".into(), ttl: std::time::Duration::from_secs(60), now_ms };
        assert_eq!(j(160_000).of(&t), Liveness::Live, "60s after the heartbeat: not yet");
        assert_eq!(j(160_001).of(&t), Liveness::Expired);
        // Without a heartbeat the claim's time counts; one that does not parse is expired.
        t.claimed_by.as_mut().unwrap().heartbeat = None;
        assert_eq!(j(61_000).of(&t), Liveness::Live);
        assert_eq!(j(61_001).of(&t), Liveness::Expired);
        t.claimed_by.as_mut().unwrap().heartbeat = Some("yesterday".into());
        assert_eq!(j(160_001).of(&t), Liveness::Expired);
        // This host's claims follow their pid, whatever the heartbeat says.
        t.claimed_by = Some(Claimer {
            pid: std::process::id(),
            host: "here".into(),
            since: at(0),
            heartbeat: None,
            process: None,
            writer: None,
        });
        assert_eq!(j(u64::MAX / 2).of(&t), Liveness::Live);
    }

    #[test]
    fn a_claim_whose_pid_now_names_another_process_is_dead() {
        let mut t = stored("a", &[]).task;
        t.status = Status::Claimed;
        let me = std::process::id();
        let j = Judge { here: "here".into(), ttl: std::time::Duration::from_secs(60), now_ms: 0 };
        let claim = |process: Option<String>| Claimer {
            pid: me,
            host: "here".into(),
            since: state_dir::rfc3339(0),
            heartbeat: None,
            process,
            writer: None,
        };
        t.claimed_by = Some(claim(crate::supervise::proc::identity(me)));
        assert_eq!(j.of(&t), Liveness::Live, "the claimer itself");
        // The same pid, recorded for a process of another boot (or started at another time): not it.
        t.claimed_by = Some(claim(Some("another-boot/12345".into())));
        let expected = if crate::supervise::proc::identity(me).is_some() { Liveness::Dead } else { Liveness::Live };
        assert_eq!(j.of(&t), expected);
    }

    #[test]
    fn fresh_ids_are_valid() {
        for i in 0..50 {
            validate_id(&fresh_id(i)).unwrap();
        }
    }
}
