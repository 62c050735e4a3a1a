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
//! with both as parents), tests up to `--parallel` of those trees at once, and lands in order by
//! compare-and-swap of the target from the commit the speculation started from to the speculative commit
//! itself, so the tree that lands is exactly the tree that was tested. A failing or conflicting entry is
//! ejected with its reason (its tenant is kept); the entries behind it, or all of them when the target
//! moved, are speculated again.
//!
//! Where tests run: in pool tenants. A run with a test claims up to `--parallel` free pool tenants for its
//! own process ([`pool::claim`], their leases held for the whole run), records in each one's pool slot,
//! before every checkout, the speculative commit it is about to check out detached there
//! ([`pool::note_detached`]: the tenant's branch never moves), and gives them back through `pool
//! release`'s path, which first puts the tenant back on its branch. Unless asked (`--fill-pool`), the pool
//! is not filled: tests beyond the free tenants run in scratch worktrees `.queue-<k>` (made on first use,
//! removed when the run ends), so a building without a pool works as before and the pool's size stays the
//! user's choice (`pool fill` runs `[setup]`, which may be slow or fail, and the tenants it makes outlive
//! the run). With `--fill-pool` the run first fills the pool to `--parallel` free tenants.
//!
//! Crash safety: an entry is landed exactly when its tip is in the target's history. A run that starts
//! (or a round that begins) first marks every active entry whose tip the target already contains as
//! landed, so a `kill -9` between moving the target and writing the entry never lands it twice. A killed
//! run's pool tenants are released by the next claimer (the next run, `pool claim`, `run --pool`): the
//! record tells its detached checkout from someone's work, uncommitted files are saved as a rescue ref
//! before the tenant goes back on its branch, and a tenant whose HEAD or branch moved is kept out of the
//! pool untouched.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::events::{self, Event};
use super::lease::{self, Holder, Share};
use super::{Ctx, land, pool, set_kept, state_dir};
use crate::error::{Error, IoContext};
use crate::git::{commit, merge, revs, worktree};

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
    /// After landing: whether its tenant was removed (`false`: kept, it holds more work or `--keep`);
    /// `null` until that is settled (a run killed meanwhile leaves it to the next run).
    #[serde(default)]
    pub removed: Option<bool>,
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
    state_dir::atomic_write(&entry_path(ctx, e.id), &bytes)?;
    crate::failpoint::hit("queue-entry-written");
    Ok(())
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
            removed: None,
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

/// What `queue run` is asked to do.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// How many speculative trees are tested at once.
    pub parallel: usize,
    /// The test, run with `sh -c` in a checkout of each speculative tree (`None`: land untested).
    pub test: Option<String>,
    /// How many entries one speculative tree holds (a failing batch is bisected).
    pub batch: usize,
    /// Order by the forecast: an entry that conflicts with one ahead of it is held back (left queued) and
    /// the entries behind it go on without waiting; it is decided when nothing ahead of it is left.
    pub by_forecast: bool,
    /// Fill the pool up to `parallel` free tenants first (`pool fill`, running `[setup]`), so every test
    /// runs in a pool tenant; the tenants made stay in the pool.
    pub fill_pool: bool,
}

/// What became of one entry in a run.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Entry id.
    pub id: u64,
    /// Tenant.
    pub tenant: String,
    /// Target branch.
    pub into: String,
    /// The target commit it landed as (`landed`).
    pub commit: Option<String>,
    /// Why it was ejected, or how it was found landed.
    pub reason: Option<String>,
    /// Whether its tenant was removed after landing.
    pub removed: bool,
}

/// What `queue run` did.
#[derive(Debug, Default, Serialize)]
pub struct RunReport {
    /// Entries landed, in order.
    pub landed: Vec<Outcome>,
    /// Entries ejected, in order.
    pub ejected: Vec<Outcome>,
    /// Speculative trees tested.
    pub tested: usize,
    /// Trees whose verdict was already known (never tested twice).
    pub cached: usize,
    /// Times the target moved under the queue and everything was speculated again.
    pub respeculated: usize,
    /// The pool tenants the tests ran in (the rest ran in scratch worktrees).
    pub pool: Vec<PoolUse>,
    /// Entries held back by the forecast (`--by-forecast`), each once, with the first reason.
    pub held: Vec<Outcome>,
}

/// A pool tenant a run tested in, and how it was given back.
#[derive(Debug, Clone, Serialize)]
pub struct PoolUse {
    /// Tenant name.
    pub name: String,
    /// Its worktree.
    pub path: PathBuf,
    /// Kept out of the pool at release, and why (it held work).
    pub kept: Option<String>,
    /// The release failed (the tenant stays claimed until the next claim releases it).
    pub error: Option<String>,
}

impl RunReport {
    fn outcome(e: &Entry, removed: bool) -> Outcome {
        Outcome {
            id: e.id,
            tenant: e.tenant.clone(),
            into: e.into.clone(),
            commit: e.landed_as.clone(),
            reason: e.reason.clone(),
            removed,
        }
    }
}

/// A speculative commit: the target as it will be once `entry` lands, if everything ahead of it lands.
#[derive(Debug, Clone)]
struct Spec {
    entry: Entry,
    commit: String,
    tree: String,
}

/// The verdict of the test on one tree (`verdicts/<tree>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Verdict {
    tree: String,
    command: String,
    passed: bool,
    status: String,
    at_ms: u64,
    log: PathBuf,
}

fn short(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}

fn verdict_path(ctx: &Ctx, tree: &str) -> PathBuf {
    dir(ctx).join("verdicts").join(format!("{tree}.json"))
}

/// The verdict already reached on `tree` by the same test command, if any.
fn cached(ctx: &Ctx, tree: &str, command: &str) -> Option<Verdict> {
    let v: Verdict = serde_json::from_slice(&std::fs::read(verdict_path(ctx, tree)).ok()?).ok()?;
    (v.tree == tree && v.command == command).then_some(v)
}

/// `queue run`: land every active entry, in queue order, as described in the module doc. One run at a
/// time (the `.queue-run` lease, waited for up to `--lock-timeout`); `progress` hears each step.
pub fn run(ctx: &Ctx, req: &RunRequest, progress: &dyn Fn(&str)) -> Result<RunReport, Error> {
    let held = lease::with_lease_waiting(&ctx.state, ".queue-run", ctx.lock_timeout, |_| {
        let mut report = RunReport::default();
        reset_testing(ctx)?;
        settle_removals(ctx)?;
        // A killed run's pool tenants go back to the pool now, whether or not this run tests anything.
        pool::release_abandoned(ctx);
        let wanted = if req.test.is_some() && list(ctx)?.iter().any(|e| e.state.active()) {
            if req.fill_pool {
                // As `pool fill N` (with `[setup]`); the tenants it makes stay in the pool after the run.
                let made = pool::fill(ctx, req.parallel.max(1)).map_err(|e| e.context("cannot fill the pool"))?;
                if !made.is_empty() {
                    progress(&format!("queue: filled the pool with {}", made.join(", ")));
                }
            }
            claim_members(ctx, req.parallel.max(1))
        } else {
            Vec::new()
        };
        let res = with_leases(ctx, &wanted, &mut Vec::new(), &mut |members| {
            for m in members {
                progress(&format!("queue: testing in pool tenant {} ({})", m.name, m.path.display()));
            }
            let mut slots = Slots { members: members.to_vec(), paths: Vec::new() };
            let res = run_locked(ctx, req, &mut slots, &mut report, progress);
            slots.remove_all(ctx);
            release_members(ctx, members, &mut report, progress);
            res
        });
        let _ = reset_testing(ctx);
        res.map(|_| report)
    });
    held.map_err(|e| {
        if e.kind == crate::error::Kind::LockTimeout { e.context("another queue run is in progress") } else { e }
    })
}

/// A pool tenant this run claimed to test in.
#[derive(Debug, Clone)]
struct Member {
    name: String,
    path: PathBuf,
    lease_id: String,
    /// Files `add` carried into it: a test's clean-up leaves them.
    carried: Vec<String>,
}

/// Claim up to `n` free pool tenants for this process (the claim follows it: killed, its tenants are
/// released through `pool release`'s path by the next claimer). A pool with fewer free tenants is not
/// filled: the rest of the tests run in scratch worktrees.
fn claim_members(ctx: &Ctx, n: usize) -> Vec<Member> {
    let mut out = Vec::new();
    while out.len() < n {
        let Ok((t, lease_id)) = pool::claim(ctx, std::process::id()) else { break };
        crate::failpoint::hit("queue-pool-claimed");
        out.push(Member { carried: t.carried.keys().cloned().collect(), name: t.name, path: t.path, lease_id });
    }
    out
}

/// Hold the lease of each claimed tenant in `ms` while `f` runs on those whose lease was taken (`held`).
/// A tenant whose lease another process still holds (one releasing it this instant) is given back.
fn with_leases<T>(
    ctx: &Ctx,
    ms: &[Member],
    held: &mut Vec<Member>,
    f: &mut dyn FnMut(&[Member]) -> Result<T, Error>,
) -> Result<T, Error> {
    let Some((m, rest)) = ms.split_first() else { return f(held) };
    let mut entered = false;
    let res = lease::with_lease(&ctx.state, &m.name, &Holder::me(), Share::No, |_| {
        entered = true;
        held.push(m.clone());
        with_leases(ctx, rest, held, f)
    });
    if entered {
        return res;
    }
    let _ = pool::withdraw(ctx, &m.name, &m.lease_id);
    with_leases(ctx, rest, held, f)
}

/// Give the claimed tenants back through `pool release`'s path (under their lease): each is put back on
/// its branch, then reset to its base, or kept out of the pool when it holds work.
fn release_members(ctx: &Ctx, members: &[Member], report: &mut RunReport, progress: &dyn Fn(&str)) {
    for m in members {
        let (kept, error) = match pool::release_in_lease(ctx, &m.name, Some(&m.lease_id)) {
            Ok(r) => (r.kept, None),
            Err(e) => (None, Some(e.to_string())),
        };
        match (&kept, &error) {
            (Some(k), _) => progress(&format!("queue: pool tenant {} kept out of the pool: {k}", m.name)),
            (_, Some(e)) => progress(&format!("queue: pool tenant {} not released: {e}", m.name)),
            _ => {}
        }
        report.pool.push(PoolUse { name: m.name.clone(), path: m.path.clone(), kept, error });
    }
}

/// Entries left `testing` by a run that ended (or died) are `queued` again.
fn reset_testing(ctx: &Ctx) -> Result<(), Error> {
    with_queue(ctx, |entries| {
        for mut e in entries.into_iter().filter(|e| e.state == State::Testing) {
            update(ctx, &mut e, State::Queued, None)?;
        }
        Ok(())
    })
}

/// How a round ended.
enum Round {
    /// Something landed, was ejected, or the batch size shrank: go on.
    Progress,
    /// The target moved under the queue: speculate again from where it is.
    TargetMoved,
}

fn run_locked(
    ctx: &Ctx,
    req: &RunRequest,
    slots: &mut Slots,
    report: &mut RunReport,
    progress: &dyn Fn(&str),
) -> Result<(), Error> {
    let mut size = req.batch.max(1);
    let mut known: Option<String> = None;
    let mut moved_in_a_row = 0;
    loop {
        let entries = list(ctx)?;
        let Some(first) = entries.iter().find(|e| e.state.active()) else { return Ok(()) };
        let into = first.into.clone();
        match round(ctx, req, &into, &mut size, &mut known, slots, report, progress)? {
            Round::Progress => moved_in_a_row = 0,
            Round::TargetMoved => {
                report.respeculated += 1;
                moved_in_a_row += 1;
                progress(&format!("queue: {into} moved under the queue; speculating again"));
                if moved_in_a_row > 10 {
                    return Err(Error::new(format!("{into} kept moving under the queue; nothing more was landed"))
                        .hint("run `git neighbor queue run` again when it is quieter"));
                }
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn round(
    ctx: &Ctx,
    req: &RunRequest,
    into: &str,
    size: &mut usize,
    known: &mut Option<String>,
    slots: &mut Slots,
    report: &mut RunReport,
    progress: &dyn Fn(&str),
) -> Result<Round, Error> {
    let full = format!("refs/heads/{into}");
    land::refuse_if_busy(ctx, &full, into)?;
    let target = ctx.repo.ref_target(&full).map(|o| o.to_string()).ok_or_else(|| {
        Error::new(format!("branch '{into}' does not exist")).hint("`git neighbor queue cancel` its entries")
    })?;
    // Whatever the target already holds is landed (a run killed after moving it, or a human's merge):
    // checked whenever the target is not where this run left it.
    if known.as_deref() != Some(target.as_str()) {
        recover(ctx, into, &target, report, progress)?;
        *known = Some(target.clone());
    }
    let active: Vec<Entry> = list(ctx)?.into_iter().filter(|e| e.state.active() && e.into == into).collect();
    if active.is_empty() {
        return Ok(Round::Progress);
    }
    // Speculate: the target after each entry ahead, as far as will be tested this round.
    let parallel = req.parallel.max(1);
    let mut chain: Vec<Spec> = Vec::new();
    let mut prev = target.clone();
    for e in active {
        match speculate(ctx, &prev, &e)? {
            Speculated::Merged { commit, tree } => {
                prev = commit.clone();
                chain.push(Spec { entry: e, commit, tree });
            }
            Speculated::Unlandable(why) => {
                eject(ctx, &e, why, report, progress)?;
                return Ok(Round::Progress);
            }
            Speculated::Conflict(paths) if chain.is_empty() => {
                let why = conflict_reason(ctx, &e, into, &paths)?;
                eject(ctx, &e, why, report, progress)?;
                return Ok(Round::Progress);
            }
            // It conflicts with an entry ahead, which may yet be ejected. By the forecast: hold it back and
            // let the entries behind it go on (it never shares a batch or a speculative trunk with the
            // entry it conflicts with). Otherwise the queue waits: decide it when it is first in line.
            Speculated::Conflict(paths) if req.by_forecast => {
                if !report.held.iter().any(|h| h.id == e.id) {
                    let why = conflict_ahead(ctx, &e, &chain, &paths)?;
                    progress(&format!("queue: #{} {} held back: {why}; the entries behind it go on", e.id, e.tenant));
                    let mut ev = Event::new("queue-hold").with("id", e.id).with("into", e.into.clone());
                    ev = ev.with("reason", why.clone());
                    (ev.name, ev.branch) = (Some(e.tenant.clone()), Some(e.branch.clone()));
                    events::append(&ctx.state, &ev)?;
                    let mut o = RunReport::outcome(&e, false);
                    o.reason = Some(why);
                    report.held.push(o);
                }
                continue;
            }
            Speculated::Conflict(_) => break,
        }
        if chain.len() >= *size * parallel {
            break;
        }
    }
    let units: Vec<&[Spec]> = chain.chunks(*size).take(parallel).collect();
    let verdicts = test_units(ctx, req, &units, slots, report, progress)?;
    let mut old = target;
    for (unit, verdict) in units.iter().zip(verdicts) {
        let Some(last) = unit.last() else { continue };
        if !verdict.passed {
            if unit.len() > 1 {
                *size = (unit.len() / 2).max(1);
                progress(&format!(
                    "queue: batch #{}..#{} failed its test; bisecting (batches of {size})",
                    unit[0].entry.id, last.entry.id
                ));
            } else {
                let why = format!(
                    "tests failed ({}) on tree {} (merged onto {into} {}); log: {}",
                    verdict.status,
                    short(&last.tree),
                    short(&old),
                    verdict.log.display()
                );
                eject(ctx, &last.entry, why, report, progress)?;
                *size = req.batch.max(1);
            }
            return Ok(Round::Progress);
        }
        match land_unit(ctx, into, &old, unit, report, progress)? {
            Landing::Done => {
                old = last.commit.clone();
                *known = Some(old.clone());
                *size = req.batch.max(1);
            }
            Landing::Moved => return Ok(Round::TargetMoved),
            Landing::Changed => return Ok(Round::Progress),
        }
    }
    Ok(Round::Progress)
}

/// Mark every active entry for `into` whose tip `target` already contains as landed.
fn recover(ctx: &Ctx, into: &str, target: &str, report: &mut RunReport, progress: &dyn Fn(&str)) -> Result<(), Error> {
    let mut found = Vec::new();
    for e in list(ctx)?.into_iter().filter(|e| e.state.active() && e.into == into) {
        if revs::has_commit(&ctx.repo, &e.tip) && revs::is_ancestor_common(&ctx.repo, &e.tip, target)? {
            found.push(e.id);
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let landed = with_queue(ctx, |entries| {
        let mut out = Vec::new();
        for mut e in entries.into_iter().filter(|e| found.contains(&e.id) && e.state.active()) {
            let why = format!("found in {into}'s history (landed by an interrupted run, or by hand)");
            update(ctx, &mut e, State::Landed, Some(why))?;
            out.push(e);
        }
        Ok(out)
    })?;
    finish_landed(ctx, &landed, report, progress)
}

/// Log, report and (unless kept) remove the tenants of entries just marked landed.
fn finish_landed(ctx: &Ctx, landed: &[Entry], report: &mut RunReport, progress: &dyn Fn(&str)) -> Result<(), Error> {
    for e in landed {
        let mut ev = Event::new("queue-land").with("id", e.id).with("into", e.into.clone()).with("tip", e.tip.clone());
        if let Some(c) = &e.landed_as {
            ev = ev.with("new", c.clone());
        }
        (ev.name, ev.branch) = (Some(e.tenant.clone()), Some(e.branch.clone()));
        events::append(&ctx.state, &ev)?;
        let removed = settle_removal(ctx, e)?;
        progress(&format!(
            "queue: landed #{} {} into {}{}{}",
            e.id,
            e.tenant,
            e.into,
            e.landed_as.as_deref().map(|c| format!(" as {}", short(c))).unwrap_or_default(),
            if removed { "; tenant removed" } else { "" }
        ));
        report.landed.push(RunReport::outcome(e, removed));
    }
    Ok(())
}

/// Remove a landed entry's tenant as `land` does (unless `--keep`), and record that it is settled. A
/// tenant that holds more work (or is in use) stays; one made after the entry was queued is not its.
fn settle_removal(ctx: &Ctx, e: &Entry) -> Result<bool, Error> {
    let removed = !e.keep
        && match ctx.tenant(&e.tenant) {
            Ok(t) if t.branch == e.branch && t.created_ms <= e.enqueued_ms => {
                lease::with_lease(&ctx.state, &t.name, &Holder::me(), Share::No, |_| {
                    super::remove_in_lease(ctx, &t, false, false)
                })
                .is_ok()
            }
            _ => false,
        };
    with_queue(ctx, |entries| {
        if let Some(mut now) = entries.into_iter().find(|x| x.id == e.id) {
            now.removed = Some(removed);
            save(ctx, &now)?;
        }
        Ok(())
    })?;
    Ok(removed)
}

/// Finish the removals a killed run left unsettled (entries landed, their tenant not yet removed).
fn settle_removals(ctx: &Ctx) -> Result<(), Error> {
    for e in list(ctx)?.into_iter().filter(|e| e.state == State::Landed && e.removed.is_none()) {
        settle_removal(ctx, &e)?;
    }
    Ok(())
}

/// Take an entry out of the queue with `why`; its tenant is kept with the reason.
fn eject(ctx: &Ctx, e: &Entry, why: String, report: &mut RunReport, progress: &dyn Fn(&str)) -> Result<(), Error> {
    let done = with_queue(ctx, |entries| {
        let Some(mut now) = entries.into_iter().find(|x| x.id == e.id && x.state.active()) else { return Ok(None) };
        update(ctx, &mut now, State::Ejected, Some(why.clone()))?;
        Ok(Some(now))
    })?;
    let Some(now) = done else { return Ok(()) };
    let _ = set_kept(ctx, &now.tenant, Some(format!("queue: {why}")));
    let mut ev =
        Event::new("queue-eject").with("id", now.id).with("into", now.into.clone()).with("reason", why.clone());
    (ev.name, ev.branch) = (Some(now.tenant.clone()), Some(now.branch.clone()));
    events::append(&ctx.state, &ev)?;
    progress(&format!("queue: ejected #{} {}: {why}", now.id, now.tenant));
    report.ejected.push(RunReport::outcome(&now, false));
    Ok(())
}

enum Speculated {
    Merged { commit: String, tree: String },
    Conflict(Vec<String>),
    Unlandable(String),
}

/// `e`'s tip merged onto `prev` in memory, committed with `prev` and the tip as parents.
fn speculate(ctx: &Ctx, prev: &str, e: &Entry) -> Result<Speculated, Error> {
    let dir = ctx.repo.common_dir.as_path();
    if !revs::has_commit(&ctx.repo, &e.tip) {
        return Ok(Speculated::Unlandable(format!("its commit {} no longer exists", short(&e.tip))));
    }
    let Some(base) = merge::merge_base(&ctx.repo, prev, &e.tip)? else {
        return Ok(Speculated::Unlandable(format!("it shares no history with {}", e.into)));
    };
    match merge::merge_trees(&ctx.repo, dir, &base, prev, &e.tip)? {
        Ok(tree) => {
            let msg = format!("Merge {} into {} (queue #{}, tenant {})\n", e.branch, e.into, e.id, e.tenant);
            let commit = commit::commit_tree(&ctx.repo, dir, &tree, &[prev, &e.tip], &msg)?;
            Ok(Speculated::Merged { commit, tree })
        }
        Err(paths) => Ok(Speculated::Conflict(paths)),
    }
}

/// Up to five of `paths`, comma-separated, then how many more.
pub(crate) fn list_paths(paths: &[String]) -> String {
    let mut s = paths.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    if paths.len() > 5 {
        s.push_str(&format!(" and {} more", paths.len() - 5));
    }
    s
}

/// `conflicts with <entry or target> on <paths>`: the most recent landed entry whose tip conflicts with
/// `e`'s by itself, else the target.
fn conflict_reason(ctx: &Ctx, e: &Entry, into: &str, paths: &[String]) -> Result<String, Error> {
    let landed: Vec<Entry> =
        list(ctx)?.into_iter().filter(|l| l.state == State::Landed && l.into == into && l.id != e.id).collect();
    Ok(match first_conflict(ctx, e, landed.iter().rev())? {
        Some((l, p)) => format!("conflicts with #{} ({}) on {}", l.id, l.tenant, list_paths(&p)),
        None => format!("conflicts with {into} on {}", list_paths(paths)),
    })
}

/// `conflicts with #N (tenant) ahead of it on <paths>`: the first entry of `chain` (ahead of `e` this
/// round) whose tip conflicts with `e`'s by itself, else the entries ahead together.
fn conflict_ahead(ctx: &Ctx, e: &Entry, chain: &[Spec], paths: &[String]) -> Result<String, Error> {
    Ok(match first_conflict(ctx, e, chain.iter().map(|s| &s.entry))? {
        Some((l, p)) => format!("conflicts with #{} ({}) ahead of it on {}", l.id, l.tenant, list_paths(&p)),
        None => format!("conflicts with the entries ahead of it on {}", list_paths(paths)),
    })
}

/// The first of (at most 16 of) `others` whose tip, merged with `e`'s by itself, conflicts; with the paths.
fn first_conflict<'a>(
    ctx: &Ctx,
    e: &Entry,
    others: impl Iterator<Item = &'a Entry>,
) -> Result<Option<(&'a Entry, Vec<String>)>, Error> {
    for l in others.take(16) {
        if !revs::has_commit(&ctx.repo, &l.tip) {
            continue;
        }
        let Some(base) = merge::merge_base(&ctx.repo, &l.tip, &e.tip)? else { continue };
        if let Err(p) = merge::merge_trees(&ctx.repo, &ctx.repo.common_dir, &base, &l.tip, &e.tip)? {
            return Ok(Some((l, p)));
        }
    }
    Ok(None)
}

/// The verdict on each unit's last tree: cached, or tested now, up to one test per unit at once.
fn test_units(
    ctx: &Ctx,
    req: &RunRequest,
    units: &[&[Spec]],
    slots: &mut Slots,
    report: &mut RunReport,
    progress: &dyn Fn(&str),
) -> Result<Vec<Verdict>, Error> {
    let Some(cmd) = &req.test else {
        let untested = |s: &Spec| Verdict {
            tree: s.tree.clone(),
            command: String::new(),
            passed: true,
            status: "no test".into(),
            at_ms: state_dir::now_ms(),
            log: PathBuf::new(),
        };
        return Ok(units.iter().filter_map(|u| u.last()).map(untested).collect());
    };
    let mut known: Vec<Verdict> = Vec::new();
    let mut todo: Vec<&[Spec]> = Vec::new();
    for u in units {
        let Some(last) = u.last() else { continue };
        if known.iter().any(|v| v.tree == last.tree)
            || todo.iter().any(|t| t.last().map(|s| &s.tree) == Some(&last.tree))
        {
            continue;
        }
        match cached(ctx, &last.tree, cmd) {
            Some(v) => {
                report.cached += 1;
                known.push(v);
            }
            None => todo.push(u),
        }
    }
    if !todo.is_empty() {
        let ids: Vec<u64> = todo.iter().flat_map(|u| u.iter().map(|s| s.entry.id)).collect();
        with_queue(ctx, |entries| {
            for mut e in entries.into_iter().filter(|e| ids.contains(&e.id) && e.state == State::Queued) {
                update(ctx, &mut e, State::Testing, None)?;
            }
            Ok(())
        })?;
        let first = todo[0].last().map(|s| s.commit.clone()).unwrap_or_default();
        let paths = slots.ensure_noted(ctx, &todo, &first, progress)?;
        let logs = dir(ctx).join("logs");
        std::fs::create_dir_all(&logs).ctx(|| format!("cannot create {}", logs.display()))?;
        for u in &todo {
            progress(&format!(
                "queue: testing #{}{} (tree {}): {cmd}",
                u[0].entry.id,
                u.last().filter(|_| u.len() > 1).map(|s| format!("..#{}", s.entry.id)).unwrap_or_default(),
                u.last().map(|s| short(&s.tree)).unwrap_or_default()
            ));
        }
        let jobs: Vec<Job> = todo
            .iter()
            .zip(&paths)
            .filter_map(|(u, (slot, keep))| {
                let last = u.last()?;
                Some(Job {
                    slot: slot.clone(),
                    keep: keep.clone(),
                    commit: last.commit.clone(),
                    tree: last.tree.clone(),
                    ids: u.iter().map(|s| s.entry.id.to_string()).collect::<Vec<_>>().join(" "),
                    into: last.entry.into.clone(),
                    log: logs.join(format!("{}.log", last.tree)),
                })
            })
            .collect();
        let results: Vec<Result<Verdict, Error>> = std::thread::scope(|s| {
            let handles: Vec<_> = jobs.iter().map(|j| s.spawn(move || j.test(cmd))).collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(Error::new("a test thread panicked"))))
                .collect()
        });
        for r in results {
            let v = r?;
            let bytes = serde_json::to_vec_pretty(&v).map_err(|e| Error::new(format!("cannot encode verdict: {e}")))?;
            state_dir::atomic_write(&verdict_path(ctx, &v.tree), &bytes)?;
            crate::failpoint::hit("queue-verdict-written");
            report.tested += 1;
            known.push(v);
        }
    }
    units
        .iter()
        .filter_map(|u| u.last())
        .map(|s| known.iter().find(|v| v.tree == s.tree).cloned().ok_or_else(|| Error::new("a verdict went missing")))
        .collect()
}

/// One test of one speculative tree, in one scratch worktree (runs on its own thread: owned data only).
struct Job {
    slot: PathBuf,
    /// Untracked files the clean-up before the test leaves (a pool tenant's carried files).
    keep: Vec<String>,
    commit: String,
    tree: String,
    ids: String,
    into: String,
    log: PathBuf,
}

impl Job {
    fn test(&self, cmd: &str) -> Result<Verdict, Error> {
        worktree::switch_detached(&self.slot, &self.commit, &self.keep)?;
        let log = std::fs::File::create(&self.log).ctx(|| format!("cannot create {}", self.log.display()))?;
        let err = log.try_clone().ctx(|| format!("cannot open {}", self.log.display()))?;
        let st = std::process::Command::new("sh")
            .args(["-c", cmd])
            .current_dir(&self.slot)
            .env("NEIGHBOR_QUEUE_COMMIT", &self.commit)
            .env("NEIGHBOR_QUEUE_TREE", &self.tree)
            .env("NEIGHBOR_QUEUE_ENTRIES", &self.ids)
            .env("NEIGHBOR_QUEUE_INTO", &self.into)
            .stdin(std::process::Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .map_err(|e| Error::new(format!("cannot run the test: {e}")))?;
        Ok(Verdict {
            tree: self.tree.clone(),
            command: cmd.to_string(),
            passed: st.success(),
            status: st.to_string(),
            at_ms: state_dir::now_ms(),
            log: self.log.clone(),
        })
    }
}

/// How landing a unit ended.
enum Landing {
    /// The target moved to the unit's last commit.
    Done,
    /// The target was not where the speculation started: nothing changed.
    Moved,
    /// An entry of the unit was cancelled meanwhile: nothing changed.
    Changed,
}

/// Move the target from `old` to the unit's last speculative commit (whose tree was tested) and mark its
/// entries landed, all under the queue lock, so a `queue cancel` either comes first (nothing lands) or
/// finds them landed.
fn land_unit(
    ctx: &Ctx,
    into: &str,
    old: &str,
    unit: &[Spec],
    report: &mut RunReport,
    progress: &dyn Fn(&str),
) -> Result<Landing, Error> {
    let Some(last) = unit.last() else { return Ok(Landing::Changed) };
    let ids: Vec<u64> = unit.iter().map(|s| s.entry.id).collect();
    let why = format!(
        "git-neighbor queue: land {}",
        unit.iter().map(|s| format!("#{} {}", s.entry.id, s.entry.tenant)).collect::<Vec<_>>().join(", ")
    );
    let landed = with_queue(ctx, |entries| {
        let now: Vec<Entry> = entries.into_iter().filter(|e| ids.contains(&e.id) && e.state.active()).collect();
        if now.len() != ids.len() {
            return Ok(None);
        }
        if !land::move_target(ctx, into, old, &last.commit, &why)? {
            return Ok(Some(Vec::new()));
        }
        let mut out = Vec::new();
        for (mut e, s) in now.into_iter().zip(unit) {
            e.landed_as = Some(s.commit.clone());
            e.tree = Some(last.tree.clone());
            update(ctx, &mut e, State::Landed, None)?;
            out.push(e);
        }
        Ok(Some(out))
    })?;
    match landed {
        None => Ok(Landing::Changed),
        Some(v) if v.is_empty() => Ok(Landing::Moved),
        Some(v) => {
            finish_landed(ctx, &v, report, progress)?;
            Ok(Landing::Done)
        }
    }
}

/// Whether `w` is a queue run's scratch worktree: a detached linked worktree `.queue-<k>` beside the
/// tenants.
pub(crate) fn is_scratch(ctx: &Ctx, w: &crate::git::WorktreeInfo) -> bool {
    let root = super::default_path(ctx, ".queue-1");
    root.parent().is_some_and(|parent| w.path.parent() == Some(parent))
        && w.branch.is_none()
        && w.id.is_some()
        && w.path.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".queue-"))
}

/// Where tests run: the pool tenants this run claimed, then scratch worktrees `.queue-<k>` beside the
/// tenants, detached, made on first use, reused across rounds (and after a crash), removed when the run
/// ends.
struct Slots {
    members: Vec<Member>,
    paths: Vec<PathBuf>,
}

impl Slots {
    /// A place for each unit's test: a claimed pool tenant, each recorded (before its checkout) as about to
    /// hold the unit's speculative commit detached, else a scratch worktree. A tenant that changed while
    /// claimed (someone committed in it) is not used.
    fn ensure_noted(
        &mut self,
        ctx: &Ctx,
        todo: &[&[Spec]],
        first: &str,
        progress: &dyn Fn(&str),
    ) -> Result<Vec<(PathBuf, Vec<String>)>, Error> {
        'again: loop {
            let members: Vec<Member> = self.members.iter().take(todo.len()).cloned().collect();
            for (m, u) in members.iter().zip(todo) {
                let Some(last) = u.last() else { continue };
                if let Err(e) = pool::note_detached(ctx, &m.name, &m.lease_id, &last.commit) {
                    progress(&format!("queue: not testing in pool tenant {}: {e}", m.name));
                    self.members.retain(|x| x.name != m.name);
                    continue 'again;
                }
            }
            let mut out: Vec<(PathBuf, Vec<String>)> = members.into_iter().map(|m| (m.path, m.carried)).collect();
            out.extend(self.ensure_scratch(ctx, todo.len() - out.len(), first)?.into_iter().map(|p| (p, Vec::new())));
            return Ok(out);
        }
    }

    fn ensure_scratch(&mut self, ctx: &Ctx, n: usize, commit: &str) -> Result<Vec<PathBuf>, Error> {
        let mut k = 1;
        while self.paths.len() < n {
            let path = super::default_path(ctx, &format!(".queue-{k}"));
            k += 1;
            if self.paths.contains(&path) {
                continue;
            }
            match ctx.repo.worktrees()?.into_iter().find(|w| w.path == path && w.id.is_some()) {
                Some(w) if w.branch.is_none() && path.is_dir() => {}
                Some(w) if w.branch.is_none() => {
                    if let Some(id) = &w.id {
                        worktree::forget(&ctx.repo, id)?;
                    }
                    worktree::add_detached(&ctx.repo, &path, commit)?;
                }
                // Someone else's worktree, or a directory git does not know: not ours to touch.
                Some(_) => continue,
                None if path.exists() => continue,
                None => worktree::add_detached(&ctx.repo, &path, commit)?,
            }
            self.paths.push(path);
        }
        Ok(self.paths[..n].to_vec())
    }

    /// Remove this run's scratch worktrees and any a killed run left (detached `.queue-<k>` worktrees).
    fn remove_all(&mut self, ctx: &Ctx) {
        let Ok(all) = ctx.repo.worktrees() else { return };
        for w in all {
            if is_scratch(ctx, &w) || self.paths.contains(&w.path) {
                let _ = worktree::remove_scratch(&ctx.repo, &w.path);
            }
        }
        self.paths.clear();
    }
}
