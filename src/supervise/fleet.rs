//! `fleet`: K frames of N supervised `run`s in parallel (through the elevator), then `merge-frame`, frame
//! after frame. Ctrl-C stops it cleanly: the signal reaches every run, each cleans up its tenant and
//! leaves its fallback delta, and no further frame starts.

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::Signals;
use crate::building::Ctx;
use crate::error::Error;
use crate::frames::mailbox;
use crate::frames::merge::{self, Options, Outcome};

/// What `fleet` is asked to run.
#[derive(Debug, Clone)]
pub struct FleetRequest {
    /// Parallel streams per frame (`stream-1` … `stream-N`).
    pub streams: u32,
    /// Frames to run.
    pub frames: u32,
    /// Gap between launches, as given (default: `fleet.stagger`).
    pub stagger: Option<String>,
    /// Per-run timeout, as given.
    pub timeout: Option<String>,
    /// The command every stream runs.
    pub cmd: Vec<String>,
    /// `fleet --tasks --land`: land the done tasks' tenants through the queue, ordered by the forecast.
    pub land: Option<LandTasks>,
}

/// How `fleet --tasks --land` lands the work of the tasks it ran.
#[derive(Debug, Clone)]
pub struct LandTasks {
    /// The queue's test (`queue run --test`).
    pub test: Option<String>,
    /// Entries per tested tree (`queue run --batch`).
    pub batch: usize,
    /// Trees tested at once (`queue run --parallel`).
    pub parallel: usize,
}

/// One stream of one frame.
#[derive(Debug, Serialize)]
pub struct StreamRow {
    /// Stream name.
    pub stream: String,
    /// Its `run`'s exit code (`None`: killed by a signal).
    pub exit: Option<i32>,
    /// Wall time of its `run`.
    pub duration_ms: u64,
    /// What merge-frame did with its delta.
    pub delta: Option<Outcome>,
    /// Why, when it was not applied.
    pub reason: Option<String>,
}

/// One frame of the fleet.
#[derive(Debug, Serialize)]
pub struct FrameRow {
    /// Frame number.
    pub frame: u64,
    /// The frame commit, when it was merged.
    pub commit: Option<String>,
    /// Its streams.
    pub streams: Vec<StreamRow>,
}

/// What happens while the fleet runs, for a caller that shows progress.
pub enum Progress<'a> {
    /// A frame's runs are starting.
    Launching {
        /// Frame number.
        frame: u64,
        /// How many runs.
        streams: usize,
    },
    /// A frame was merged.
    Merged(&'a FrameRow),
    /// A signal stopped the fleet after a frame's runs cleaned up.
    Interrupted {
        /// Frame left unmerged.
        frame: u64,
        /// The signal.
        signal: i32,
    },
}

/// The whole run: every frame, and the exit code: 0 when every stream of every frame succeeded and had
/// its delta applied, 1 when any stream failed (its run exited non-zero, was killed or timed out, or its
/// delta was not applied), `128 + N` when signal N stopped it. A frame that cannot be merged is an error.
#[derive(Debug, Serialize)]
pub struct FleetReport {
    /// Frames, in order.
    pub frames: Vec<FrameRow>,
    /// Exit code.
    #[serde(skip)]
    pub code: u8,
}

/// Run the fleet. `sigs` must be installed by the caller before anything starts.
pub fn run(
    ctx: &Ctx,
    req: &FleetRequest,
    sigs: &Signals,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<FleetReport, Error> {
    for d in [&req.stagger, &req.timeout].into_iter().flatten() {
        crate::config::parse_duration(d).map_err(Error::usage)?;
    }
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("cannot find own executable: {e}")))?;
    let first = mailbox::next_frame(mailbox::last_merged_frame(
        &ctx.repo,
        &format!("refs/heads/{}", ctx.config.state.target),
    )?)?;
    let end = first.checked_add(u64::from(req.frames)).ok_or_else(|| {
        Error::new(format!("{} frames after frame {first} run past the last frame number", req.frames))
    })?;
    let names: Vec<String> = (1..=req.streams).map(|i| format!("stream-{i}")).collect();
    let mut report = FleetReport { frames: Vec::new(), code: 0 };
    for frame in first..end {
        if let Some(sig) = sigs.received() {
            report.code = u8::try_from(128 + sig).unwrap_or(255);
            break;
        }
        progress(Progress::Launching { frame, streams: names.len() });
        let mut children = Vec::new();
        let mut group = 0i32;
        for s in &names {
            let mut c = run_command(ctx, &exe, req, frame, s)?;
            // All runs share one process group, so one signal reaches them all.
            c.process_group(group);
            let child = c.spawn().map_err(|e| Error::new(format!("cannot start run for {s}: {e}")))?;
            if group == 0 {
                group = i32::try_from(child.id()).unwrap_or(0);
                sigs.set_target(group);
            }
            children.push((s.clone(), Instant::now(), child));
        }
        let mut rows = Vec::new();
        for (s, started, mut child) in children {
            let st = child.wait().map_err(|e| Error::new(format!("run for {s}: {e}")))?;
            rows.push(StreamRow {
                stream: s,
                exit: st.code(),
                duration_ms: started.elapsed().as_millis() as u64,
                delta: None,
                reason: None,
            });
        }
        sigs.set_target(0);
        if let Some(sig) = sigs.received() {
            progress(Progress::Interrupted { frame, signal: sig });
            report.frames.push(FrameRow { frame, commit: None, streams: rows });
            report.code = u8::try_from(128 + sig).unwrap_or(255);
            break;
        }
        let opts =
            Options { frame: Some(frame), expect: Some(names.clone()), wait: Duration::ZERO, ..Default::default() };
        let merged = merge::merge(ctx, &opts)?;
        for r in &mut rows {
            if let Some(s) = merged.streams.iter().find(|m| m.stream == r.stream) {
                r.delta = Some(s.status);
                r.reason = s.reason.clone();
            }
        }
        let row = FrameRow { frame, commit: merged.commit, streams: rows };
        if row.streams.iter().any(|r| r.exit != Some(0) || r.delta != Some(Outcome::Applied)) {
            report.code = report.code.max(1);
        }
        progress(Progress::Merged(&row));
        report.frames.push(row);
    }
    Ok(report)
}

/// `git-neighbor run` for one stream of one frame, with this call's overrides and lock timeout.
fn run_command(
    ctx: &Ctx,
    exe: &std::path::Path,
    req: &FleetRequest,
    frame: u64,
    stream: &str,
) -> Result<Command, Error> {
    let mut c = Command::new(exe);
    for o in &ctx.overrides {
        c.args(["-c", o]);
    }
    c.args(["--lock-timeout", &crate::config::format_duration(ctx.lock_timeout)]);
    c.args(["run", "--frame", &frame.to_string(), "--stream", stream]);
    if let Some(d) = &req.stagger {
        c.args(["--stagger", d]);
    }
    if let Some(d) = &req.timeout {
        c.args(["--timeout", d]);
    }
    // The fleet's stdout is its report; what the runs print goes to stderr.
    let err =
        std::io::stderr().as_fd().try_clone_to_owned().map_err(|e| Error::new(format!("cannot share stderr: {e}")))?;
    c.arg("--").args(&req.cmd).current_dir(ctx.repo.here()).stdin(Stdio::null()).stdout(Stdio::from(err));
    Ok(c)
}

/// One task a stream of `fleet --tasks` ran.
#[derive(Debug, Serialize)]
pub struct TaskRun {
    /// The stream that ran it (`stream-1` … `stream-N`; also the claim's owner).
    pub stream: String,
    /// The task (`None` when the claim itself failed).
    pub task: Option<String>,
    /// The task's status as the run ended (`done` or `failed`).
    pub status: Option<String>,
    /// `task claim --run`'s exit code: CMD's (`None`: killed by a signal).
    pub exit: Option<i32>,
    /// Wall time of the claim and run.
    pub duration_ms: u64,
}

/// What `fleet --tasks` did.
#[derive(Debug, Serialize)]
pub struct TasksReport {
    /// Every task run, in the order they ended.
    pub runs: Vec<TaskRun>,
    /// Tasks not done when the fleet stopped (failed, or waiting on one that failed, or ready but three
    /// claims in a row failed before running anything).
    pub left: Vec<String>,
    /// With `--land`: how the done tasks' tenants went through the queue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landing: Option<TasksLanding>,
    /// Exit code: 0 when every run succeeded and no task is left, 1 otherwise, `128 + N` on signal N.
    #[serde(skip)]
    pub code: u8,
}

/// What happens while `fleet --tasks` runs.
pub enum TaskProgress<'a> {
    /// A stream started pulling a task.
    Pulling {
        /// The stream.
        stream: &'a str,
    },
    /// A task run ended.
    Ran(&'a TaskRun),
    /// A step of landing the done tasks' tenants (`--land`).
    Landing(&'a str),
}

/// A done task's tenant put in the queue by `fleet --tasks --land`.
#[derive(Debug, Serialize)]
pub struct QueuedTask {
    /// The task.
    pub task: String,
    /// Its tenant.
    pub tenant: String,
    /// The queue entry.
    pub entry: u64,
}

/// A done task whose work was not put in the queue, and why.
#[derive(Debug, Serialize)]
pub struct NotQueued {
    /// The task.
    pub task: String,
    /// Its tenant, when it names one.
    pub tenant: Option<String>,
    /// Why (uncommitted changes, nothing to land, no tenant, a tenant that is not the task's).
    pub reason: String,
}

/// What `fleet --tasks --land` did after the tasks ran.
#[derive(Debug, Serialize)]
pub struct TasksLanding {
    /// The tenants queued, in the order their tasks were done.
    pub queued: Vec<QueuedTask>,
    /// The done tasks whose work was not queued.
    pub not_queued: Vec<NotQueued>,
    /// The queue run that landed them (`queue run --by-forecast`; entries queued earlier go first).
    pub queue: crate::building::queue::RunReport,
    /// Why the queue run stopped, when it failed (its entries stay queued for the next `queue run`).
    pub error: Option<String>,
}

/// A stream of `fleet --tasks` and the `task claim --run` it runs now.
struct Puller {
    name: String,
    running: Option<(std::process::Child, Instant)>,
}

/// `fleet --tasks`: `req.streams` streams each run `task claim --next --run -- CMD` (CMD in the claimed
/// task's tenant, the task marked done or failed by its exit), again and again, until no task is ready and
/// none is claimed. A stream told nothing is ready waits while other tasks are claimed (their dependents
/// become ready when they are done), so a chain A → B → C runs in order. A signal is passed to every
/// running claim (each cleans up and marks its task) and no new task is pulled.
pub fn run_tasks(
    ctx: &Ctx,
    req: &FleetRequest,
    sigs: &Signals,
    progress: &mut dyn FnMut(TaskProgress<'_>),
) -> Result<TasksReport, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("cannot find own executable: {e}")))?;
    let mut streams: Vec<Puller> =
        (1..=req.streams).map(|i| Puller { name: format!("stream-{i}"), running: None }).collect();
    let mut report = TasksReport { runs: Vec::new(), left: Vec::new(), landing: None, code: 0 };
    // Every stream pulls once whatever this clone's plane says (a shared plane's claim syncs first); after
    // that, a stream pulls while this clone sees a ready task.
    let mut first = true;
    let mut stopping: Option<i32> = None;
    // Claims that failed before any task was run (a tenant that cannot be made puts its task back as
    // ready): after a few in a row, no more pulls, or the fleet would pull the same failure forever.
    let mut failed_claims = 0;
    loop {
        for p in &mut streams {
            let Some((child, started)) = p.running.as_mut() else { continue };
            let Some(status) = child.try_wait().map_err(|e| Error::new(format!("{}: {e}", p.name)))? else {
                continue;
            };
            let mut out = String::new();
            if let Some(mut so) = child.stdout.take() {
                use std::io::Read;
                let _ = so.read_to_string(&mut out);
            }
            let elapsed = started.elapsed().as_millis() as u64;
            p.running = None;
            if status.code() == Some(i32::from(crate::tasks::NOTHING_READY)) {
                continue;
            }
            let json: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
            let field = |k: &str| json["task"][k].as_str().map(String::from);
            let row = TaskRun {
                stream: p.name.clone(),
                task: field("id"),
                status: field("status"),
                exit: status.code(),
                duration_ms: elapsed,
            };
            if row.exit != Some(0) {
                report.code = report.code.max(1);
            }
            failed_claims = if row.task.is_none() { failed_claims + 1 } else { 0 };
            progress(TaskProgress::Ran(&row));
            report.runs.push(row);
        }
        if stopping.is_none()
            && let Some(sig) = sigs.received()
        {
            stopping = Some(sig);
            for p in &streams {
                if let Some((c, _)) = &p.running
                    && let (Ok(pid), Ok(s)) = (i32::try_from(c.id()), nix::sys::signal::Signal::try_from(sig))
                {
                    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), s);
                }
            }
        }
        let busy = streams.iter().filter(|p| p.running.is_some()).count();
        if stopping.is_some() || failed_claims >= 3 {
            if busy == 0 {
                break;
            }
        } else {
            let (views, _) = crate::tasks::list(ctx, &crate::tasks::Filter::default())?;
            let mut ready = views.iter().filter(|v| v.ready).count();
            let claimed = views.iter().filter(|v| v.task.status == crate::tasks::Status::Claimed).count();
            if !first && ready == 0 && busy == 0 && claimed == 0 {
                break;
            }
            for p in streams.iter_mut().filter(|p| p.running.is_none()) {
                if !first && ready == 0 {
                    break;
                }
                ready = ready.saturating_sub(1);
                progress(TaskProgress::Pulling { stream: &p.name });
                let child = pull_command(ctx, &exe, req, &p.name)
                    .spawn()
                    .map_err(|e| Error::new(format!("cannot start a task claim for {}: {e}", p.name)))?;
                p.running = Some((child, Instant::now()));
            }
            first = false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let (views, _) = crate::tasks::list(ctx, &crate::tasks::Filter::default())?;
    report.left =
        views.iter().filter(|v| v.task.status != crate::tasks::Status::Done).map(|v| v.task.id.clone()).collect();
    if !report.left.is_empty() {
        report.code = report.code.max(1);
    }
    if let (Some(how), None) = (&req.land, stopping) {
        let done: Vec<String> =
            report.runs.iter().filter(|r| r.status.as_deref() == Some("done")).filter_map(|r| r.task.clone()).collect();
        // The queue reports through a `Fn`: the caller's `FnMut` is reached through a cell.
        let cell = std::cell::RefCell::new(&mut *progress);
        let landing = land_tasks(ctx, &done, how, &|line| (cell.borrow_mut())(TaskProgress::Landing(line)))?;
        if !landing.not_queued.is_empty() || !landing.queue.ejected.is_empty() || landing.error.is_some() {
            report.code = report.code.max(1);
        }
        report.landing = Some(landing);
    }
    if let Some(sig) = stopping {
        report.code = u8::try_from(128 + sig).unwrap_or(255);
    }
    Ok(report)
}

/// Queue the tenant of each task in `done` (in that order), then of each done task of a fleet stream whose
/// tenant was never queued (a killed fleet's), when the tenant's own record names the task back; then run
/// the queue ordered by the forecast ([`crate::building::queue`]'s `--by-forecast`): tenants that conflict
/// are never tested or landed in one batch; the later of two is held back and, once nothing is ahead of
/// it, ejected naming the other (its tenant kept with the reason) unless that one was ejected first.
pub fn land_tasks(ctx: &Ctx, done: &[String], how: &LandTasks, progress: &dyn Fn(&str)) -> Result<TasksLanding, Error> {
    use crate::building::queue;
    let mut queued = Vec::new();
    let mut not_queued = Vec::new();
    // Also the work a killed fleet left: done tasks of fleet streams whose tenant (still here, naming the
    // task back) was never queued since it was made.
    let entries = queue::list(ctx)?;
    let (views, _) = crate::tasks::list(ctx, &crate::tasks::Filter::default())?;
    let mut ids: Vec<String> = done.to_vec();
    for v in &views {
        let t = &v.task;
        let fleets = t.owner.as_deref().is_some_and(|o| o.starts_with("stream-"));
        if t.status != crate::tasks::Status::Done || !fleets || ids.contains(&t.id) {
            continue;
        }
        let Some(Ok(r)) = t.tenant.as_deref().map(|n| ctx.tenant(n)) else { continue };
        let queued_since = entries.iter().any(|e| e.tenant == r.name && e.enqueued_ms >= r.created_ms);
        if r.task.as_deref() == Some(t.id.as_str()) && !queued_since {
            ids.push(t.id.clone());
        }
    }
    for id in &ids {
        let v = crate::tasks::show(ctx, id)?;
        let Some(tenant) = v.task.tenant.clone() else {
            not_queued.push(NotQueued { task: id.clone(), tenant: None, reason: "it names no tenant".into() });
            continue;
        };
        // The task's blob may come from a remote: queue only a tenant whose own record names it back.
        let named_back = ctx.tenant(&tenant).map(|t| t.task.as_deref() == Some(id.as_str()));
        let res = match named_back {
            Ok(true) => queue::enqueue(ctx, &tenant, &None, false),
            Ok(false) => Err(Error::refused(format!("tenant '{tenant}' is not this task's"))),
            Err(e) => Err(e),
        };
        match res {
            Ok(q) => {
                progress(&format!("task {id}: queued tenant {tenant} as #{} (position {})", q.entry.id, q.position));
                queued.push(QueuedTask { task: id.clone(), tenant, entry: q.entry.id });
            }
            Err(e) => {
                progress(&format!("task {id}: tenant {tenant} not queued: {}", e.message));
                // A task done in an earlier fleet was reported there; here it is only said.
                if done.contains(id) {
                    not_queued.push(NotQueued { task: id.clone(), tenant: Some(tenant), reason: e.message });
                }
            }
        }
    }
    let run = queue::RunRequest {
        parallel: how.parallel,
        test: how.test.clone(),
        batch: how.batch,
        by_forecast: true,
        fill_pool: false,
    };
    // Run even when nothing was queued now: a killed fleet's entries are landed by the next one. A run that
    // cannot go on (another is in progress past --lock-timeout, the target is busy) is reported, and what
    // the tasks did is still shown.
    let (queue, error) = match queue::run(ctx, &run, progress) {
        Ok(r) => (r, None),
        Err(e) => (queue::RunReport::default(), Some(e.to_string())),
    };
    Ok(TasksLanding { queued, not_queued, queue, error })
}

/// `git-neighbor task claim --next --run --json --owner <stream> -- CMD`, with this call's overrides and
/// lock timeout, in its own process group (signals reach it through the fleet, once).
fn pull_command(ctx: &Ctx, exe: &std::path::Path, req: &FleetRequest, stream: &str) -> Command {
    let mut c = Command::new(exe);
    for o in &ctx.overrides {
        c.args(["-c", o]);
    }
    c.args(["--lock-timeout", &crate::config::format_duration(ctx.lock_timeout)]);
    c.args(["task", "claim", "--next", "--run", "--json", "--owner", stream, "--"]);
    c.args(&req.cmd).current_dir(ctx.repo.here()).stdin(Stdio::null()).stdout(Stdio::piped());
    c.process_group(0);
    c
}
