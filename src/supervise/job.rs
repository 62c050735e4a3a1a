//! `run`'s domain: create (or claim) a tenant, hold its lease, pass the elevator, run the command there
//! under supervision, leave a fallback delta when it owed one, and clean up: remove the tenant when it
//! holds nothing, keep it (with the reason) when it does. Returns what happened; prints nothing.

use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

use crate::building::elevator::{self, Ride, Ticket};
use crate::building::events::{self, Event};
use crate::building::lease::{self, Holder, Share};
use crate::building::pool;
use crate::building::registry::{self, Tenant};
use crate::building::state_dir;
use crate::building::{self, AddRequest, Ctx};
use crate::error::Error;
use crate::frames::mailbox::{self, Kind};
use crate::supervise::{self, End, Outcome, Signals, Spec};

/// What to run and where.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Tenant to run in: claimed if it exists, created (ephemeral) otherwise; `None`: a new ephemeral one.
    pub name: Option<String>,
    /// Frame this run writes for.
    pub frame: Option<u64>,
    /// Stream this run writes for.
    pub stream: Option<String>,
    /// Kill the command after this long.
    pub timeout: Option<Duration>,
    /// Between TERM and KILL.
    pub grace: Duration,
    /// Keep the tenant afterwards, whatever it holds.
    pub keep: bool,
    /// Remove the tenant afterwards even if it holds work (saved as a rescue ref first).
    pub rm: bool,
    /// Give the command this terminal as its stdin.
    pub stdin: bool,
    /// The command's stdout goes to our stderr (`--json`: our stdout carries only the report).
    pub stdout_to_stderr: bool,
    /// Skip the elevator.
    pub no_stagger: bool,
    /// Gap between launches (default: `fleet.stagger`).
    pub stagger: Option<Duration>,
    /// Claim a pre-built tenant from the pool.
    pub pool: bool,
    /// Base revision for a new tenant.
    pub base: Option<String>,
    /// The command and its arguments (run directly, no shell).
    pub cmd: Vec<String>,
}

/// What became of the tenant after the command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Afterwards {
    /// It held nothing (or `--rm`): removed.
    Removed,
    /// Kept, for the reason given.
    Kept,
    /// An existing tenant, left as it was (it is the user's).
    Left,
    /// A pool tenant, given back to the pool.
    Released,
}

/// What one `run` did.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The tenant it ran in.
    pub name: String,
    /// Its worktree.
    pub path: PathBuf,
    /// Its branch.
    pub branch: String,
    /// The exit code `run` passes on: the command's, 124 on timeout, 128+N on signal N.
    pub exit: u8,
    /// How the command ended.
    pub end: End,
    /// Wall time of the command, in milliseconds.
    pub duration_ms: u64,
    /// The frame and stream it wrote for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// The stream it wrote for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// A fallback delta was left because the command wrote none.
    pub fallback_delta: bool,
    /// What became of the tenant.
    pub tenant: Afterwards,
    /// Why it was kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kept_reason: Option<String>,
    /// Where its work was saved before removal (`--rm`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rescue: Option<String>,
    /// The elevator ride, when it queued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elevator: Option<Ride>,
    /// Lines for a human, in order (what happened beyond the exit code).
    pub notes: Vec<String>,
    /// Warnings (e.g. the frame was merged while the command ran).
    pub warnings: Vec<String>,
}

/// Run `req` in a tenant. `sigs` must be installed before anything worth cleaning up.
pub fn run(ctx: &Ctx, req: &Request, sigs: &Signals) -> Result<Report, Error> {
    if let Some(s) = &req.stream {
        registry::validate_name_as("stream", s)?;
    }
    let frame = match (req.frame, &req.stream) {
        (Some(f), _) => Some(f),
        (None, Some(_)) => Some(match std::env::var("NEIGHBOR_FRAME").ok().filter(|s| !s.is_empty()) {
            Some(f) => mailbox::parse_frame(&f)?,
            None => mailbox::next_frame(mailbox::last_merged_frame(
                &ctx.repo,
                &format!("refs/heads/{}", ctx.config.state.target),
            )?)?,
        }),
        (None, None) => None,
    };
    // Queue at the elevator on arrival; the turn is taken right before the command starts, so the
    // stagger spaces real launches and arrival order is kept however long each tenant takes to build.
    let stagger = req.stagger.unwrap_or(ctx.config.fleet.stagger);
    let ticket = if !req.no_stagger && !stagger.is_zero() {
        Some(elevator::ticket(&ctx.state, ctx.lock_timeout)?)
    } else {
        None
    };
    let job = Job { ctx, req, frame, sigs, gate: Gate { ticket: std::cell::Cell::new(ticket), stagger } };
    if req.pool {
        let (t, _lease) = pool::claim(ctx, std::process::id())?;
        return lease::with_lease(&ctx.state, &t.name, &Holder::me(), Share::No, |_| {
            let mut r = job.supervise_in(&t)?;
            let rel = pool::release_in_lease(ctx, &t.name, None)?;
            r.tenant = Afterwards::Released;
            if let Some(k) = rel.kept {
                r.notes.push(format!("tenant {} kept: {k}", t.name));
                r.tenant = Afterwards::Kept;
                r.kept_reason = Some(k);
            }
            Ok(r)
        });
    }
    if let Some(name) = &req.name
        && let Some(t) = registry::get(&ctx.state, name)?
    {
        // An existing tenant is the user's: run in it, leave it unless --rm.
        return lease::with_lease(&ctx.state, name, &Holder::me(), Share::No, |_| {
            // Read again under the lease: a setup recorded as running now is one whose runner died.
            let t = ctx.tenant(&t.name)?;
            if !t.setup_ok() {
                let why =
                    t.setup.as_ref().and_then(|s| s.failed.clone()).unwrap_or_else(|| "it was interrupted".into());
                let log = t.setup.as_ref().map(|s| s.log.display().to_string()).unwrap_or_default();
                return Err(Error::refused(format!(
                    "tenant '{name}' is setup-failed ({why}); the command was not started"
                ))
                .hint(format!("its setup output is in {log}"))
                .hint(format!("remove it (git neighbor remove {name}) and create it again once setup is fixed")));
            }
            let mut r = job.supervise_in(&t)?;
            if req.rm {
                job.finish(&t, &mut r)?;
            }
            Ok(r)
        });
    }
    let name = match &req.name {
        Some(n) => n.clone(),
        None => match (&req.stream, frame) {
            (Some(s), Some(f)) => format!("run-{s}-f{f}-{}", std::process::id()),
            _ => format!("run-{}-{}", std::process::id(), state_dir::unique_suffix()),
        },
    };
    let add = AddRequest {
        name: name.clone(),
        base: req.base.clone(),
        ephemeral: true,
        stream: req.stream.clone(),
        frame,
        port: true,
        setup: true,
        ..Default::default()
    };
    let plan = building::plan_add(ctx, &add)?;
    lease::with_lease(&ctx.state, &name, &Holder::me(), Share::Children, |fd| {
        let t = building::create_in_lease(ctx, &plan, fd)?;
        // From here on the lease is ours alone: kill -9 of run must end it, whatever CMD does.
        fd.set_inherit(false)?;
        let out = job.supervise_in(&t);
        match out {
            Ok(mut r) => {
                job.finish(&t, &mut r)?;
                Ok(r)
            }
            Err(e) => {
                // The command could not be supervised: still clean up (or keep) the tenant.
                let mut scratch = job.empty_report(&t);
                match job.finish(&t, &mut scratch) {
                    Ok(()) => Err(scratch.notes.into_iter().fold(e, Error::hint)),
                    Err(_) => Err(e),
                }
            }
        }
    })
}

/// The elevator ticket a run holds until its command starts.
struct Gate {
    ticket: std::cell::Cell<Option<Ticket>>,
    stagger: Duration,
}

/// One run in progress.
struct Job<'a> {
    ctx: &'a Ctx,
    req: &'a Request,
    frame: Option<u64>,
    sigs: &'a Signals,
    gate: Gate,
}

impl Job<'_> {
    fn empty_report(&self, t: &Tenant) -> Report {
        Report {
            name: t.name.clone(),
            path: t.path.clone(),
            branch: t.branch.clone(),
            exit: 0,
            end: End::Exited(0),
            duration_ms: 0,
            frame: self.frame,
            stream: self.req.stream.clone(),
            fallback_delta: false,
            tenant: Afterwards::Left,
            kept_reason: None,
            rescue: None,
            elevator: None,
            notes: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Run the command in tenant `t`, then leave a fallback delta if it owed one.
    fn supervise_in(&self, t: &Tenant) -> Result<Report, Error> {
        let (ctx, req) = (self.ctx, self.req);
        let mut r = self.empty_report(t);
        let stream = req.stream.clone().unwrap_or_else(|| t.name.clone());
        let mut env = crate::building::ports::tenant_env(ctx, t);
        env.push(("NEIGHBOR_STREAM".into(), stream.clone()));
        if let Some(f) = self.frame {
            env.push(("NEIGHBOR_FRAME".into(), f.to_string()));
        }
        let spec = Spec {
            argv: req.cmd.clone(),
            dir: t.path.clone(),
            env,
            timeout: req.timeout,
            grace: req.grace,
            terminal_stdin: req.stdin,
            stdout_to_stderr: req.stdout_to_stderr,
        };
        if let Some(ticket) = self.gate.ticket.take() {
            // A signal (or the death of git's dispatcher) ends the wait; supervise::run then starts nothing.
            r.elevator = ticket
                .wait_turn(&ctx.state, self.gate.stagger, ctx.lock_timeout, &|| self.sigs.received().is_some())?;
        }
        let out = supervise::run(&spec, self.sigs)?;
        r.exit = out.end.code();
        r.end = out.end;
        r.duration_ms = out.duration_ms;
        match out.end {
            End::TimedOut => r.notes.push(format!(
                "{}: timed out after {:?}; its process group was ended",
                t.name,
                req.timeout.unwrap_or_default()
            )),
            End::Signaled(n) => r.notes.push(format!("{}: killed by signal {n}", t.name)),
            End::NotStarted(n) => {
                r.notes.push(format!("{}: signal {n} arrived before the command started; it was not run", t.name))
            }
            End::Exited(_) => {}
        }
        if let (Some(f), true) = (self.frame, req.stream.is_some() || req.frame.is_some()) {
            self.leave_fallback(t, f, &stream, &out, &mut r)?;
        }
        events::append(
            &ctx.state,
            &Event::new("run")
                .tenant(&t.name, &t.branch, &t.path)
                .with("exit", out.end.code())
                .with("duration_ms", out.duration_ms)
                .with("end", serde_json::to_value(out.end).unwrap_or_default()),
        )?;
        Ok(r)
    }

    fn leave_fallback(&self, t: &Tenant, frame: u64, stream: &str, out: &Outcome, r: &mut Report) -> Result<(), Error> {
        let ctx = self.ctx;
        if ctx.repo.ref_target(&mailbox::slot_ref(frame, stream)).is_some() {
            return Ok(());
        }
        let target = format!("refs/heads/{}", ctx.config.state.target);
        if mailbox::frame_merged_quick(&ctx.repo, &target, frame)?.is_some() {
            r.warnings.push(format!("frame {frame} was merged while {stream} ran; no fallback delta left"));
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
        match mailbox::store_open(&ctx.repo, &ctx.state, ctx.lock_timeout, &target, &env, false) {
            Ok(_) => {
                r.fallback_delta = true;
                r.notes.push(format!("{stream}: wrote no delta for frame {frame}; left a fallback delta"));
                Ok(())
            }
            // The command wrote its delta at the last moment, or the frame was merged meanwhile: fine.
            Err(e) if e.kind == crate::error::Kind::Refused => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Remove the run's tenant if it holds nothing; keep it (with the reason) otherwise.
    fn finish(&self, t: &Tenant, r: &mut Report) -> Result<(), Error> {
        let (ctx, req) = (self.ctx, self.req);
        let mut keep = |reason: String, note: String| -> Result<(), Error> {
            building::set_kept(ctx, &t.name, Some(reason.clone()))?;
            r.notes.push(note);
            r.tenant = Afterwards::Kept;
            r.kept_reason = Some(reason);
            Ok(())
        };
        if req.keep {
            let note = format!("kept tenant {} at {} (--keep)", t.name, t.path.display());
            return keep("run --keep".into(), note);
        }
        let work = building::work_in(ctx, t)?;
        if work.is_empty() || req.rm {
            match building::remove_in_lease(ctx, t, req.rm, false) {
                Ok(done) => {
                    r.tenant = Afterwards::Removed;
                    if let Some(rescue) = done.rescue {
                        r.notes.push(format!("removed tenant {}; its work is saved as {rescue}", t.name));
                        r.rescue = Some(rescue);
                    }
                    return Ok(());
                }
                // Work appeared after the look above (a process CMD left behind): keep it, as below.
                Err(e) if e.kind == crate::error::Kind::Refused && !req.rm => {
                    let reason = format!("run's cleanup found work: {}", e.message);
                    let note = format!("kept tenant {} at {}: {reason}", t.name, t.path.display());
                    return keep(reason, note);
                }
                Err(e) => return Err(e),
            }
        }
        let reason = format!("run left {}", work.describe());
        let note = format!("kept tenant {} at {}: {reason}", t.name, t.path.display());
        keep(reason, note)
    }
}
