//! `run`: create (or claim) a tenant, hold its lease, pass the elevator, run CMD there without a shell,
//! forward signals, enforce the timeout, leave a fallback delta, clean up. Exit: CMD's code, 124 on
//! timeout, 128+N on signal N. With `--json`, CMD's stdout goes to stderr and stdout carries the report.

use std::time::Duration;

use crate::building::Ctx;
use crate::error::Error;
use crate::supervise::Signals;
use crate::supervise::job::{self, Request};
use crate::ui::Ui;
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant to run in: claimed if it exists, created otherwise (default: a new ephemeral tenant).
    pub name: Option<String>,
    /// Frame this run writes for (NEIGHBOR_FRAME); with --stream, a fallback delta is left if CMD writes none.
    #[arg(long, value_name = "N", value_parser = super::delta::parse_frame)]
    pub frame: Option<u64>,
    /// Stream this run writes for (NEIGHBOR_STREAM).
    #[arg(long, value_name = "S")]
    pub stream: Option<String>,
    /// Kill CMD after this long (TERM, then KILL after --grace); exit 124.
    #[arg(long, value_name = "D", value_parser = |s: &str| crate::config::parse_duration(s))]
    pub timeout: Option<Duration>,
    /// Time between TERM and KILL.
    #[arg(long, value_name = "D", default_value = "3s", value_parser = |s: &str| crate::config::parse_duration(s))]
    pub grace: Duration,
    /// Keep the tenant afterwards, whatever it holds.
    #[arg(long, conflicts_with = "rm")]
    pub keep: bool,
    /// Remove the tenant afterwards even if it holds work (saved as a rescue ref first).
    #[arg(long)]
    pub rm: bool,
    /// Give CMD this terminal as its stdin (its process group becomes the terminal's foreground while it
    /// runs). By default a terminal stdin is replaced by /dev/null: CMD runs in a process group of its own,
    /// where reading the terminal would stop it for good. A pipe or file on stdin is always passed on.
    #[arg(long)]
    pub stdin: bool,
    /// Skip the elevator.
    #[arg(long)]
    pub no_stagger: bool,
    /// Gap between launches through the elevator (default: fleet.stagger).
    #[arg(long, value_name = "D", value_parser = |s: &str| crate::config::parse_duration(s))]
    pub stagger: Option<Duration>,
    /// Claim a pre-built tenant from the pool instead of creating one.
    #[arg(long, conflicts_with = "name")]
    pub pool: bool,
    /// Base revision for a new tenant.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// The command and its arguments (run directly, no shell).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub cmd: Vec<String>,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let sigs = Signals::install()?;
    // kill -9 of `git` (the pid an orchestrator holds for `git neighbor run`) ends CMD as SIGTERM would.
    sigs.follow_dispatcher();
    let req = Request {
        name: a.name.clone(),
        frame: a.frame,
        stream: a.stream.clone(),
        timeout: a.timeout,
        grace: a.grace,
        keep: a.keep,
        rm: a.rm,
        stdin: a.stdin,
        stdout_to_stderr: ui.json,
        no_stagger: a.no_stagger,
        stagger: a.stagger,
        pool: a.pool,
        base: a.base.clone(),
        cmd: a.cmd.clone(),
    };
    let r = job::run(ctx, &req, &sigs)?;
    if let Some(ride) = &r.elevator {
        ui.verbose(format!(
            "elevator: ticket {} after {} ms, launched at {}",
            ride.ticket, ride.waited_ms, ride.launched_ms
        ));
    }
    for w in &r.warnings {
        ui.warn(w);
    }
    if ui.json {
        ui.json_out(&r)?;
    } else {
        for n in &r.notes {
            ui.status(n);
        }
    }
    Ok(r.exit)
}
