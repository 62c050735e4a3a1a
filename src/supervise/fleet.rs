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
    let first =
        mailbox::last_merged_frame(&ctx.repo, &format!("refs/heads/{}", ctx.config.state.target))?.map_or(1, |n| n + 1);
    let names: Vec<String> = (1..=req.streams).map(|i| format!("stream-{i}")).collect();
    let mut report = FleetReport { frames: Vec::new(), code: 0 };
    for frame in first..first + u64::from(req.frames) {
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
