//! `fleet`: K frames of N supervised `run`s in parallel (through the elevator), then `merge-frame`,
//! with a per-frame report. Ctrl-C stops it cleanly: the signal reaches every run, each cleans up its
//! tenant and leaves its fallback delta, and no further frame starts.

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::frames::mailbox;
use crate::frames::merge::{self, Options, Outcome};
use crate::supervise::Signals;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Parallel streams per frame (named stream-1 … stream-N).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub streams: u32,
    /// Frames to run.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub frames: u32,
    /// Gap between launches (default: fleet.stagger).
    #[arg(long, value_name = "D")]
    pub stagger: Option<String>,
    /// Per-run timeout.
    #[arg(long, value_name = "D")]
    pub timeout: Option<String>,
    /// The command each stream runs (no shell); it sees NEIGHBOR_STREAM, NEIGHBOR_FRAME, …
    #[arg(last = true, required = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

#[derive(Debug, Serialize)]
struct Row {
    stream: String,
    exit: Option<i32>,
    duration_ms: u64,
    delta: Option<Outcome>,
    reason: Option<String>,
}

#[derive(Debug, Serialize)]
struct FrameRow {
    frame: u64,
    commit: Option<String>,
    streams: Vec<Row>,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    for d in [&a.stagger, &a.timeout].into_iter().flatten() {
        crate::config::parse_duration(d).map_err(Error::usage)?;
    }
    let sigs = Signals::install()?;
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("cannot find own executable: {e}")))?;
    let first =
        mailbox::last_merged_frame(&ctx.repo, &format!("refs/heads/{}", ctx.config.state.target))?.map_or(1, |n| n + 1);
    let names: Vec<String> = (1..=a.streams).map(|i| format!("stream-{i}")).collect();
    let mut report = Vec::new();
    let mut code = 0u8;
    for frame in first..first + u64::from(a.frames) {
        if let Some(sig) = sigs.received() {
            code = u8::try_from(128 + sig).unwrap_or(255);
            break;
        }
        ui.status(format!("frame {frame}: launching {} stream(s)", names.len()));
        let mut children = Vec::new();
        let mut group = 0i32;
        for s in &names {
            let mut c = Command::new(&exe);
            for o in &ctx.overrides {
                c.args(["-c", o]);
            }
            c.args(["--lock-timeout", &crate::config::format_duration(ctx.lock_timeout)]);
            c.args(["run", "--frame", &frame.to_string(), "--stream", s]);
            if let Some(d) = &a.stagger {
                c.args(["--stagger", d]);
            }
            if let Some(d) = &a.timeout {
                c.args(["--timeout", d]);
            }
            // The fleet's stdout is its report; what the runs print goes to stderr.
            let err = std::io::stderr()
                .as_fd()
                .try_clone_to_owned()
                .map_err(|e| Error::new(format!("cannot share stderr: {e}")))?;
            c.arg("--").args(&a.cmd).current_dir(ctx.repo.here()).stdin(Stdio::null()).stdout(Stdio::from(err));
            // All runs share one process group, so one signal reaches them all.
            c.process_group(group);
            let child = c.spawn().map_err(|e| Error::new(format!("cannot start run for {s}: {e}")))?;
            if group == 0 {
                group = i32::try_from(child.id()).unwrap_or(0);
                sigs_target(&sigs, group);
            }
            children.push((s.clone(), Instant::now(), child));
        }
        let mut rows = Vec::new();
        for (s, started, mut child) in children {
            let st = child.wait().map_err(|e| Error::new(format!("run for {s}: {e}")))?;
            rows.push(Row {
                stream: s,
                exit: st.code(),
                duration_ms: started.elapsed().as_millis() as u64,
                delta: None,
                reason: None,
            });
        }
        sigs_target(&sigs, 0);
        if let Some(sig) = sigs.received() {
            ui.status(format!("interrupted by signal {sig}: every run cleaned up; frame {frame} left unmerged"));
            report.push(FrameRow { frame, commit: None, streams: rows });
            code = u8::try_from(128 + sig).unwrap_or(255);
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
        if !ui.json {
            let mut t = vec![vec!["STREAM".to_string(), "EXIT".into(), "DURATION".into(), "DELTA".into()]];
            for r in &rows {
                let delta = r
                    .delta
                    .and_then(|d| serde_json::to_value(d).ok())
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_else(|| "-".into());
                t.push(vec![
                    r.stream.clone(),
                    r.exit.map(|c| c.to_string()).unwrap_or_else(|| "signal".into()),
                    format!("{:.1}s", r.duration_ms as f64 / 1000.0),
                    delta,
                ]);
            }
            ui.data(&format!(
                "frame {frame} -> {}\n",
                merged.commit.as_deref().map(|c| &c[..10.min(c.len())]).unwrap_or("-")
            ))?;
            ui.data(&ui::table(&t))?;
        }
        report.push(FrameRow { frame, commit: merged.commit, streams: rows });
    }
    if ui.json {
        ui.json_out(&report)?;
    }
    Ok(code)
}

fn sigs_target(sigs: &Signals, pg: i32) {
    sigs.set_target(pg);
}
