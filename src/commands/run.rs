//! `run`: create (or claim) a tenant, hold its lease, pass the elevator, run CMD there without a shell,
//! forward signals, enforce the timeout, leave a fallback delta, clean up. Exit: CMD's code, 124 on
//! timeout, 128+N on signal N.

use std::time::Duration;

use crate::building::events::{self, Event};
use crate::building::lease::{self, Holder, Share};
use crate::building::pool;
use crate::building::registry::{self, Tenant};
use crate::building::state_dir;
use crate::building::{self, AddRequest, Ctx};
use crate::error::Error;
use crate::frames::mailbox::{self, Kind};
use crate::supervise::{self, End, Outcome, Signals, Spec};
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
    if let Some(s) = &a.stream {
        registry::validate_name_as("stream", s)?;
    }
    let frame = match (a.frame, &a.stream) {
        (Some(f), _) => Some(f),
        (None, Some(_)) => Some(match std::env::var("NEIGHBOR_FRAME").ok().filter(|s| !s.is_empty()) {
            Some(f) => mailbox::parse_frame(&f)?,
            None => mailbox::last_merged_frame(&ctx.repo, &format!("refs/heads/{}", ctx.config.state.target))?
                .map_or(1, |n| n + 1),
        }),
        (None, None) => None,
    };
    // Queue at the elevator on arrival; the turn is taken right before the command starts, so the
    // stagger spaces real launches and arrival order is kept however long each tenant takes to build.
    let stagger = a.stagger.unwrap_or(ctx.config.fleet.stagger);
    let ticket = if !a.no_stagger && !stagger.is_zero() {
        Some(crate::building::elevator::ticket(&ctx.state, ctx.lock_timeout)?)
    } else {
        None
    };
    let gate = Gate { ticket: std::cell::Cell::new(ticket), stagger };
    if a.pool {
        let (t, _lease) = pool::claim(ctx, std::process::id())?;
        return lease::with_lease(&ctx.state, &t.name, &Holder::me(), Share::No, |_| {
            let out = supervise_in(ctx, ui, a, &t, frame, &sigs, &gate)?;
            let rel = pool::release_in_lease(ctx, &t.name, None)?;
            if let Some(k) = rel.kept {
                ui.status(format!("tenant {} kept: {k}", t.name));
            }
            Ok(out.end.code())
        });
    }
    if let Some(name) = &a.name
        && let Some(t) = registry::get(&ctx.state, name)?
    {
        // An existing tenant is the user's: run in it, leave it unless --rm.
        return lease::with_lease(&ctx.state, name, &Holder::me(), Share::No, |_| {
            let out = supervise_in(ctx, ui, a, &t, frame, &sigs, &gate)?;
            if a.rm {
                finish(ctx, ui, a, &t)?;
            }
            Ok(out.end.code())
        });
    }
    let name = match &a.name {
        Some(n) => n.clone(),
        None => match (&a.stream, frame) {
            (Some(s), Some(f)) => format!("run-{s}-f{f}-{}", std::process::id()),
            _ => format!("run-{}-{}", std::process::id(), state_dir::unique_suffix()),
        },
    };
    let req = AddRequest {
        name: name.clone(),
        base: a.base.clone(),
        ephemeral: true,
        stream: a.stream.clone(),
        frame,
        port: true,
        ..Default::default()
    };
    let plan = building::plan_add(ctx, &req)?;
    lease::with_lease(&ctx.state, &name, &Holder::me(), Share::Children, |fd| {
        let t = building::create_in_lease(ctx, &plan)?;
        // From here on the lease is ours alone: kill -9 of run must end it, whatever CMD does.
        fd.set_inherit(false)?;
        let out = supervise_in(ctx, ui, a, &t, frame, &sigs, &gate);
        let cleaned = finish(ctx, ui, a, &t);
        let out = out?;
        cleaned?;
        Ok(out.end.code())
    })
}

/// The elevator ticket a run holds until its command starts.
struct Gate {
    ticket: std::cell::Cell<Option<crate::building::elevator::Ticket>>,
    stagger: Duration,
}

/// Run CMD in tenant `t`, then leave a fallback delta if it owed one.
fn supervise_in(
    ctx: &Ctx,
    ui: &Ui,
    a: &Args,
    t: &Tenant,
    frame: Option<u64>,
    sigs: &Signals,
    gate: &Gate,
) -> Result<Outcome, Error> {
    let stream = a.stream.clone().unwrap_or_else(|| t.name.clone());
    let mut env = vec![
        ("NEIGHBOR_NAME".to_string(), t.name.clone()),
        ("NEIGHBOR_WORKTREE".into(), t.path.display().to_string()),
        ("NEIGHBOR_BRANCH".into(), t.branch.clone()),
        (
            "NEIGHBOR_MAIN".into(),
            ctx.repo.main_worktree.as_deref().unwrap_or(&ctx.repo.common_dir).display().to_string(),
        ),
        ("NEIGHBOR_STREAM".into(), stream.clone()),
    ];
    if let Some(f) = frame {
        env.push(("NEIGHBOR_FRAME".into(), f.to_string()));
    }
    if let Some(p) = t.port {
        env.push(("NEIGHBOR_PORT".into(), p.to_string()));
    }
    let spec = Spec {
        argv: a.cmd.clone(),
        dir: t.path.clone(),
        env,
        timeout: a.timeout,
        grace: a.grace,
        terminal_stdin: a.stdin,
    };
    if let Some(ticket) = gate.ticket.take() {
        // A signal (or the death of git's dispatcher) ends the wait; supervise::run then starts nothing.
        let ride = ticket.wait_turn(&ctx.state, gate.stagger, ctx.lock_timeout, &|| sigs.received().is_some())?;
        if let Some(ride) = ride {
            ui.verbose(format!(
                "elevator: ticket {} after {} ms, launched at {}",
                ride.ticket, ride.waited_ms, ride.launched_ms
            ));
        }
    }
    let out = supervise::run(&spec, sigs)?;
    match out.end {
        End::TimedOut => ui.status(format!(
            "{}: timed out after {:?}; its process group was ended",
            t.name,
            a.timeout.unwrap_or_default()
        )),
        End::Signaled(n) => ui.status(format!("{}: killed by signal {n}", t.name)),
        End::NotStarted(n) => {
            ui.status(format!("{}: signal {n} arrived before the command started; it was not run", t.name))
        }
        End::Exited(_) => {}
    }
    if let (Some(f), true) = (frame, a.stream.is_some() || a.frame.is_some()) {
        leave_fallback(ctx, ui, t, f, &stream, &out)?;
    }
    events::append(
        &ctx.state,
        &Event::new("run")
            .tenant(&t.name, &t.branch, &t.path)
            .with("exit", out.end.code())
            .with("duration_ms", out.duration_ms)
            .with("end", serde_json::to_value(out.end).unwrap_or_default()),
    )?;
    Ok(out)
}

fn leave_fallback(ctx: &Ctx, ui: &Ui, t: &Tenant, frame: u64, stream: &str, out: &Outcome) -> Result<(), Error> {
    if ctx.repo.ref_target(&mailbox::slot_ref(frame, stream)).is_some() {
        return Ok(());
    }
    if mailbox::frame_merged_quick(&ctx.repo, &format!("refs/heads/{}", ctx.config.state.target), frame)?.is_some() {
        ui.warn(format!("frame {frame} was merged while {stream} ran; no fallback delta left"));
        return Ok(());
    }
    let (exit, signal, timed_out) = match out.end {
        End::Exited(c) => (Some(c), None, false),
        End::Signaled(s) | End::NotStarted(s) => (None, Some(s), false),
        End::TimedOut => (None, None, true),
    };
    let delta = serde_json::json!({
        "ops": [],
        "meta": {"exit_code": exit, "signal": signal, "timed_out": timed_out, "stderr_tail": out.stderr_tail, "tenant": t.name}
    });
    let env = mailbox::envelope(frame, stream, Kind::Fallback, Some(t.name.clone()), delta);
    let target = format!("refs/heads/{}", ctx.config.state.target);
    match mailbox::store_open(&ctx.repo, &ctx.state, ctx.lock_timeout, &target, &env, false) {
        Ok(_) => {
            ui.status(format!("{stream}: wrote no delta for frame {frame}; left a fallback delta"));
            Ok(())
        }
        // The command wrote its delta at the last moment, or the frame was merged meanwhile: fine.
        Err(e) if e.kind == crate::error::Kind::Refused => Ok(()),
        Err(e) => Err(e),
    }
}

/// Remove the run's tenant if it holds nothing; keep it (with the reason) otherwise.
fn finish(ctx: &Ctx, ui: &Ui, a: &Args, t: &Tenant) -> Result<(), Error> {
    if a.keep {
        building::set_kept(ctx, &t.name, Some("run --keep".into()))?;
        ui.status(format!("kept tenant {} at {} (--keep)", t.name, t.path.display()));
        return Ok(());
    }
    let work = building::work_in(ctx, t)?;
    if work.is_empty() || a.rm {
        match building::remove_in_lease(ctx, t, a.rm, false) {
            Ok(r) => {
                if let Some(rescue) = r.rescue {
                    ui.status(format!("removed tenant {}; its work is saved as {rescue}", t.name));
                }
                return Ok(());
            }
            // Work appeared after the look above (a process CMD left behind): keep it, as below.
            Err(e) if e.kind == crate::error::Kind::Refused && !a.rm => {
                let reason = format!("run's cleanup found work: {}", e.message);
                building::set_kept(ctx, &t.name, Some(reason.clone()))?;
                ui.status(format!("kept tenant {} at {}: {reason}", t.name, t.path.display()));
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
    let reason = format!("run left {}", work.describe());
    building::set_kept(ctx, &t.name, Some(reason.clone()))?;
    ui.status(format!("kept tenant {} at {}: {reason}", t.name, t.path.display()));
    Ok(())
}
