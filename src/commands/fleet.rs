//! `fleet`: parse, call [`fleet::run`], render a table per merged frame (or the JSON report).

use crate::building::Ctx;
use crate::error::Error;
use crate::supervise::Signals;
use crate::supervise::fleet::{self, FleetRequest, FrameRow, Progress, TaskProgress};
use crate::ui::{self, Ui};

#[derive(Debug, clap::Args)]
#[command(after_long_help = "\
Exit status: 0 when every stream of every frame succeeded and its delta was applied; 1 when any stream \
failed (non-zero exit, killed, timed out, or no applied delta) or a frame could not be merged; 128+N when \
signal N stopped the fleet (every run cleans up first).

With --tasks: each stream runs `git neighbor task claim --next --run -- CMD` (CMD in the claimed task's \
tenant; the task done when CMD exits 0, failed otherwise) again and again until no task is ready and none is \
claimed; a stream told nothing is ready waits while other tasks are claimed, so dependencies run in order. \
No frames and no merge-frame: each task's work stays in its tenant. Exit 0 when every run succeeded and every \
task is done; 1 when a run failed or tasks are left (failed, or waiting on one that failed).

With --tasks --land: once no task is left to run, each task done in this fleet has its tenant queued (as \
`land --queue`: only commits land; a tenant with uncommitted changes or nothing to land is reported and \
kept) in the order the tasks were done, and the queue is run ordered by the conflict forecast (`queue run \
--by-forecast --parallel <streams, at most 8>`, with --land-test and --land-batch): tenants that conflict \
are never tested or landed in one batch; the later one is held back and, when nothing is ahead of it, \
ejected naming the other, its tenant kept with the reason. Exit 1 also when a tenant was not queued or an \
entry was ejected.

Examples:
  git neighbor fleet --streams 4 --frames 3 -- ./agent.sh
  git neighbor fleet --tasks --streams 4 -- ./agent.sh   # pull ready tasks until none remain
  git neighbor fleet --tasks --streams 4 --land --land-test 'make test' -- ./agent.sh
  git neighbor fleet --streams 8 --stagger 2s --timeout 10m --json -- python3 worker.py")]
pub struct Args {
    /// Parallel streams per frame (named stream-1 … stream-N).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub streams: u32,
    /// Frames to run.
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub frames: u32,
    /// Gap between launches (default: fleet.stagger).
    #[arg(long, value_name = "D", conflicts_with = "tasks")]
    pub stagger: Option<String>,
    /// Per-run timeout.
    #[arg(long, value_name = "D", conflicts_with = "tasks")]
    pub timeout: Option<String>,
    /// Pull ready tasks (`task claim --next --run`) until none remain, instead of running frames.
    #[arg(long, conflicts_with = "frames")]
    pub tasks: bool,
    /// With --tasks: land the done tasks' tenants through the queue, ordered by the conflict forecast.
    #[arg(long, requires = "tasks")]
    pub land: bool,
    /// With --land: the queue's test, run with `sh -c` in each speculative tree (none: land untested).
    #[arg(long, value_name = "CMD", requires = "land")]
    pub land_test: Option<String>,
    /// With --land: entries tested together as one tree (a failing batch is bisected).
    #[arg(long, value_name = "B", default_value_t = 1, requires = "land",
          value_parser = clap::value_parser!(u16).range(1..=64))]
    pub land_batch: u16,
    /// The command each stream runs (no shell); it sees NEIGHBOR_STREAM, NEIGHBOR_FRAME, …
    #[arg(last = true, required = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let sigs = Signals::install()?;
    let req = FleetRequest {
        streams: a.streams,
        frames: a.frames,
        stagger: a.stagger.clone(),
        timeout: a.timeout.clone(),
        cmd: a.cmd.clone(),
        land: a.land.then(|| fleet::LandTasks {
            test: a.land_test.clone(),
            batch: usize::from(a.land_batch),
            parallel: a.streams.clamp(1, 8) as usize,
        }),
    };
    if a.tasks {
        return run_tasks(ctx, ui, &req, &sigs);
    }
    let mut shown: Result<(), Error> = Ok(());
    let mut spinner: Option<crate::ui::Progress> = None;
    let report = fleet::run(ctx, &req, &sigs, &mut |p| match p {
        Progress::Launching { frame, streams } => {
            spinner = None;
            ui.status(format!("frame {frame}: launching {streams} stream(s)"));
            spinner = Some(ui.progress(format!("frame {frame}: {streams} stream(s) running, then merge-frame")));
        }
        Progress::Interrupted { frame, signal } => {
            ui.status(format!("interrupted by signal {signal}: every run cleaned up; frame {frame} left unmerged"))
        }
        Progress::Merged(row) if !ui.json && shown.is_ok() => {
            spinner = None;
            shown = render(ui, row);
        }
        Progress::Merged(_) => {}
    })?;
    shown?;
    if ui.json {
        ui.json_out(&report.frames)?;
    }
    Ok(report.code)
}

fn run_tasks(ctx: &Ctx, ui: &Ui, req: &FleetRequest, sigs: &Signals) -> Result<u8, Error> {
    let mut rows = vec![vec!["STREAM".to_string(), "TASK".into(), "STATUS".into(), "EXIT".into(), "DURATION".into()]];
    let report = fleet::run_tasks(ctx, req, sigs, &mut |p| match p {
        TaskProgress::Pulling { stream } => ui.status(format!("{stream}: pulling the next ready task")),
        TaskProgress::Ran(r) => {
            let task = r.task.clone().unwrap_or_else(|| "-".into());
            let status = r.status.clone().unwrap_or_else(|| "-".into());
            ui.status(format!("{}: task {task} {status}", r.stream));
            rows.push(vec![
                r.stream.clone(),
                task,
                status,
                r.exit.map(|c| c.to_string()).unwrap_or_else(|| "signal".into()),
                format!("{:.1}s", r.duration_ms as f64 / 1000.0),
            ]);
        }
        TaskProgress::Landing(line) => ui.status(line),
    })?;
    if ui.json {
        ui.json_out(&report)?;
    } else {
        ui.data(&ui::table(&rows))?;
        if !report.left.is_empty() {
            ui.data(&format!("not done: {}\n", report.left.join(", ")))?;
        }
        if let Some(l) = &report.landing {
            ui.data(&ui::table(&landing_rows(l)))?;
            if let Some(e) = &l.error {
                ui.data(&format!("queue run stopped: {e}\n"))?;
            }
        }
    }
    Ok(report.code)
}

/// One row per done task: its tenant, queue entry, and what the queue did (landed as, ejected, held).
fn landing_rows(l: &fleet::TasksLanding) -> Vec<Vec<String>> {
    let mut rows = vec![vec!["TASK".to_string(), "TENANT".into(), "ENTRY".into(), "LANDING".into()]];
    for q in &l.queued {
        let find = |v: &[crate::building::queue::Outcome]| v.iter().find(|o| o.id == q.entry).cloned();
        let what = if let Some(o) = find(&l.queue.landed) {
            format!(
                "landed{}",
                o.commit.as_deref().map(|c| format!(" as {}", &c[..10.min(c.len())])).unwrap_or_default()
            )
        } else if let Some(o) = find(&l.queue.ejected) {
            format!("ejected: {}", o.reason.unwrap_or_default())
        } else {
            "queued".to_string()
        };
        let what = match find(&l.queue.held) {
            Some(h) => format!("{what} (held back: {})", h.reason.unwrap_or_default()),
            None => what,
        };
        rows.push(vec![q.task.clone(), q.tenant.clone(), format!("#{}", q.entry), what]);
    }
    for n in &l.not_queued {
        rows.push(vec![
            n.task.clone(),
            n.tenant.clone().unwrap_or_else(|| "-".into()),
            "-".into(),
            format!("not queued: {}", n.reason),
        ]);
    }
    rows
}

fn render(ui: &Ui, row: &FrameRow) -> Result<(), Error> {
    let mut t = vec![vec!["STREAM".to_string(), "EXIT".into(), "DURATION".into(), "DELTA".into()]];
    for r in &row.streams {
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
        "frame {} -> {}\n",
        row.frame,
        row.commit.as_deref().map(|c| &c[..10.min(c.len())]).unwrap_or("-")
    ))?;
    ui.data(&ui::table(&t))
}
