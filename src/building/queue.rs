//! The speculative merge queue: `land --queue` enqueues a tenant's branch tip and returns at once; `queue
//! run` lands the entries in queue order.
//!
//! State lives under `<git-common-dir>/neighbor/queue/`: one JSON file per entry (`entries/<id>.json`),
//! each replaced by temp+rename under the queue's fd-lock (`queue/lock`, waited for in
//! [`lease::wait_for`]); one verdict file per tested tree (`verdicts/<tree>.json`), so the same tree is
//! never tested twice; the test's output per tree (`logs/<tree>.log`). One `queue run` at a time (the
//! `.queue-run` lease).
//!
//! A run builds, in memory, the target as it will be after each entry ahead (a speculative trunk: each
//! entry's tip merged by `merge-tree --write-tree` onto the previous speculative commit, and committed
//! with both as parents), tests up to `--parallel` of those trees at once in scratch worktrees, and lands
//! in order by compare-and-swap of the target from the commit the speculation started from to the
//! speculative commit itself, so the tree that lands is exactly the tree that was tested. A failing or
//! conflicting entry is ejected with its reason (its tenant is kept); the entries behind it, or all of
//! them when the target moved, are speculated again.
//!
//! Crash safety: an entry is landed exactly when its tip is in the target's history. A run that starts
//! (or a round that begins) first marks every active entry whose tip the target already contains as
//! landed, so a `kill -9` between moving the target and writing the entry never lands it twice.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::events::{self, Event};
use super::lease;
use super::{Ctx, land, state_dir};
use crate::error::{Error, IoContext};
use crate::git::revs;

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Waiting for `queue run`.
    Queued,
    /// A run is testing a speculative tree that contains it.
    Testing,
    /// Its tip is in the target's history (final).
    Landed,
    /// Taken out of the queue: its test failed or it conflicts (final; the tenant is kept).
    Ejected,
    /// Taken out by `queue cancel` (final).
    Cancelled,
}

impl State {
    /// Queued or testing: still to be landed.
    pub fn active(self) -> bool {
        matches!(self, State::Queued | State::Testing)
    }
    /// Its name, as in the JSON.
    pub fn name(self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Testing => "testing",
            State::Landed => "landed",
            State::Ejected => "ejected",
            State::Cancelled => "cancelled",
        }
    }
}

/// One entry of the queue.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// Its number: entries land in increasing id order.
    pub id: u64,
    /// The tenant.
    pub tenant: String,
    /// The tenant's branch.
    pub branch: String,
    /// The branch tip at enqueue time: this commit is what lands.
    pub tip: String,
    /// The branch it lands into.
    pub into: String,
    /// Keep the tenant after it lands (else it is removed, as `land` does).
    pub keep: bool,
    /// Where it is in its life.
    pub state: State,
    /// Why it was ejected or cancelled, or how it was found landed.
    pub reason: Option<String>,
    /// The target commit whose tree was tested and landed with it.
    pub landed_as: Option<String>,
    /// The tested tree that landed.
    pub tree: Option<String>,
    /// When it was enqueued (ms since the epoch).
    pub enqueued_ms: u64,
    /// When its state last changed.
    pub updated_ms: u64,
}

fn dir(ctx: &Ctx) -> PathBuf {
    ctx.state.root.join("queue")
}

fn entry_path(ctx: &Ctx, id: u64) -> PathBuf {
    dir(ctx).join("entries").join(format!("{id:08}.json"))
}

fn save(ctx: &Ctx, e: &Entry) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(e).map_err(|err| Error::new(format!("cannot encode entry: {err}")))?;
    state_dir::atomic_write(&entry_path(ctx, e.id), &bytes)
}

fn read_all(ctx: &Ctx) -> Result<Vec<Entry>, Error> {
    let d = dir(ctx).join("entries");
    let rd = match std::fs::read_dir(&d) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", d.display()))),
    };
    let mut out = Vec::new();
    for f in rd {
        let f = f.ctx(|| format!("cannot read {}", d.display()))?;
        let name = f.file_name().to_string_lossy().into_owned();
        if state_dir::is_temp_name(&name) || !name.ends_with(".json") {
            continue;
        }
        let bytes = std::fs::read(f.path()).ctx(|| format!("cannot read {}", f.path().display()))?;
        let e: Entry = serde_json::from_slice(&bytes).map_err(|err| {
            Error::new(format!("queue entry {} is not readable: {err}", f.path().display()))
                .hint("move that file away; the other entries are unaffected")
        })?;
        out.push(e);
    }
    out.sort_by_key(|e| e.id);
    Ok(out)
}

/// Run `f` over the entries under the queue lock (an fd-lock, waited for up to `--lock-timeout`).
fn with_queue<T>(ctx: &Ctx, f: impl FnOnce(Vec<Entry>) -> Result<T, Error>) -> Result<T, Error> {
    let d = dir(ctx);
    std::fs::create_dir_all(d.join("entries")).ctx(|| format!("cannot create {}", d.display()))?;
    let path = d.join("lock");
    let timed_out =
        || lease::timeout_error("queue lock", &path, ctx.lock_timeout, "held by another queue command", "wait for it");
    lease::wait_for(&path, lease::Mode::Exclusive, ctx.lock_timeout, timed_out, |_| f(read_all(ctx)?))
}

fn update(ctx: &Ctx, e: &mut Entry, state: State, reason: Option<String>) -> Result<(), Error> {
    e.state = state;
    e.reason = reason;
    e.updated_ms = state_dir::now_ms();
    save(ctx, e)
}

/// The entry `spec` names: its id (`3` or `#3`), else the latest entry of the tenant of that name.
fn find<'a>(entries: &'a [Entry], spec: &str) -> Result<&'a Entry, Error> {
    let by_id = spec.strip_prefix('#').unwrap_or(spec).parse::<u64>().ok();
    let found = match by_id {
        Some(id) => entries.iter().find(|e| e.id == id),
        None => entries.iter().rev().find(|e| e.tenant == spec),
    };
    found.ok_or_else(|| {
        Error::new(format!("no queue entry '{spec}'")).hint("`git neighbor queue list` shows the entries and their ids")
    })
}

/// What `land --queue` did.
#[derive(Debug, Clone, Serialize)]
pub struct Enqueued {
    /// The new entry.
    #[serde(flatten)]
    pub entry: Entry,
    /// Its place among the active entries for its target (1: next to land).
    pub position: usize,
}

/// `land --queue`: record tenant `name`'s branch tip as the next entry for its target and return.
/// Refused (exit 3) while the tenant has uncommitted changes (only commits land); an error (exit 1)
/// when it is already queued or has nothing to land.
pub fn enqueue(ctx: &Ctx, name: &str, into: &Option<String>, keep: bool) -> Result<Enqueued, Error> {
    let t = ctx.tenant(name)?;
    let into = land::target_of(ctx, &t, into);
    let Some(target) = ctx.repo.ref_target(&format!("refs/heads/{into}")).map(|o| o.to_string()) else {
        return Err(Error::new(format!("branch '{into}' does not exist")).hint("pass --into with an existing branch"));
    };
    let tip = ctx.repo.ref_target(&format!("refs/heads/{}", t.branch)).map(|o| o.to_string()).ok_or_else(|| {
        Error::new(format!("tenant '{name}' has no branch {}", t.branch))
            .hint("`git neighbor doctor` checks the building")
    })?;
    let dirty = super::dirty_paths(&t.path)?;
    if !dirty.is_empty() {
        return Err(Error::refused(format!("tenant '{name}' has uncommitted changes: {}", dirty.join(", ")))
            .hint("commit them in the tenant first; the queue lands only commits"));
    }
    if revs::is_ancestor_common(&ctx.repo, &tip, &target)? {
        return Err(Error::new(format!("tenant '{name}' has nothing to land: it has no commits not on {into}")));
    }
    let out = with_queue(ctx, |entries| {
        if let Some(e) = entries.iter().find(|e| e.tenant == name && e.state.active()) {
            return Err(Error::new(format!("tenant '{name}' is already queued as #{} ({})", e.id, e.state.name()))
                .hint(format!("`git neighbor queue cancel {}` first to queue it again", e.id)));
        }
        let now = state_dir::now_ms();
        let entry = Entry {
            id: entries.iter().map(|e| e.id).max().unwrap_or(0) + 1,
            tenant: t.name.clone(),
            branch: t.branch.clone(),
            tip: tip.clone(),
            into: into.clone(),
            keep,
            state: State::Queued,
            reason: None,
            landed_as: None,
            tree: None,
            enqueued_ms: now,
            updated_ms: now,
        };
        save(ctx, &entry)?;
        let position = entries.iter().filter(|e| e.state.active() && e.into == into).count() + 1;
        Ok(Enqueued { entry, position })
    })?;
    events::append(
        &ctx.state,
        &Event::new("queue-enqueue")
            .tenant(&t.name, &t.branch, &t.path)
            .with("id", out.entry.id)
            .with("into", into)
            .with("tip", tip),
    )?;
    Ok(out)
}

/// Every entry, oldest first.
pub fn list(ctx: &Ctx) -> Result<Vec<Entry>, Error> {
    with_queue(ctx, Ok)
}

/// One entry, by id or tenant name (its latest entry).
pub fn show(ctx: &Ctx, spec: &str) -> Result<Entry, Error> {
    with_queue(ctx, |entries| find(&entries, spec).cloned())
}

/// Take a queued entry out of the queue. A run that is testing it never lands it: landing checks the
/// entry under the same lock.
pub fn cancel(ctx: &Ctx, spec: &str) -> Result<Entry, Error> {
    let e = with_queue(ctx, |entries| {
        let mut e = find(&entries, spec)?.clone();
        if !e.state.active() {
            return Err(Error::new(format!("queue entry #{} ({}) is already {}", e.id, e.tenant, e.state.name()))
                .hint("only queued or testing entries can be cancelled"));
        }
        update(ctx, &mut e, State::Cancelled, Some(format!("cancelled by pid {}", std::process::id())))?;
        Ok(e)
    })?;
    let mut ev = Event::new("queue-cancel").with("id", e.id);
    (ev.name, ev.branch) = (Some(e.tenant.clone()), Some(e.branch.clone()));
    events::append(&ctx.state, &ev)?;
    Ok(e)
}
