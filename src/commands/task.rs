//! `task add|list|show|claim|release|done|fail|block`: the task plane (each task a blob under
//! `refs/neighbor/tasks/`; claims are compare-and-swaps on its ref).

use std::path::PathBuf;

use crate::building::Ctx;
use crate::error::{Error, IoContext};
use crate::tasks::{self, Claimed, Status, Task, View, Want};
use crate::ui::{self, Ui};

/// Exit code of `task claim --next` when no task is ready.
pub use crate::tasks::NOTHING_READY;

/// Where a change goes: through a remote (`--remote`, else `tasks.remote`, else the remote `task sync`
/// shared the plane through), or this clone alone (`--local`).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct Route {
    /// Make the change through this remote: sync, change, publish with a lease; it holds only once the
    /// remote has it (default: tasks.remote, else the remote `task sync` last used).
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Change this clone's tasks alone, even when the plane is shared (`task sync` publishes it later).
    #[arg(long, conflicts_with = "remote")]
    pub local: bool,
}

impl Route {
    fn resolve(&self, ctx: &Ctx) -> Result<Option<String>, Error> {
        tasks::route(ctx, self.remote.as_deref(), self.local)
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Add a task; prints its id.
    Add {
        /// One line saying what to do.
        subject: String,
        /// Its id (letters, digits, '.', '_', '-'); a short unique one when left out.
        #[arg(long, value_name = "ID")]
        id: Option<String>,
        /// A task that must be done first (repeatable).
        #[arg(long = "blocked-by", value_name = "ID")]
        blocked_by: Vec<String>,
        /// A label (repeatable).
        #[arg(long = "label", value_name = "LABEL")]
        labels: Vec<String>,
        /// Read the body from this file (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        body_file: Option<PathBuf>,
        #[command(flatten)]
        route: Route,
    },
    /// List tasks, oldest first.
    List {
        /// Only tasks that are pending with every blocker done.
        #[arg(long)]
        ready: bool,
        /// Only tasks with this status (a claim whose process is gone counts as pending).
        #[arg(long, value_enum, value_name = "STATUS")]
        status: Option<Status>,
        /// Only tasks of this owner.
        #[arg(long, value_name = "OWNER")]
        owner: Option<String>,
    },
    /// Show one task.
    Show {
        /// Task id.
        id: String,
    },
    /// Claim a task for the calling process; prints its id.
    ///
    /// The claim is a compare-and-swap on the task's ref: of two claimers of one task, one wins and the
    /// other is refused (exit 3) with the holder's pid and host. --next takes the oldest ready task, moving
    /// on to the next when another claimer wins; exit 5 when none is ready. The claim lasts as long as the
    /// calling process (looked through git and wrappers such as `timeout`, as `pool claim` does) or the one
    /// named by --follow-pid (with --run: this process itself); once that process is gone the task is
    /// pending again. A claim from another host lasts while its heartbeat (refreshed by --run) is younger
    /// than tasks.claim-ttl. Once the plane is shared (`task sync`, tasks.remote) the claim goes through
    /// the remote unless --local.
    Claim {
        /// The task to claim.
        #[arg(required_unless_present = "next", conflicts_with = "next")]
        id: Option<String>,
        /// Claim the oldest ready task.
        #[arg(long)]
        next: bool,
        /// Record this owner on the task.
        #[arg(long, value_name = "OWNER")]
        owner: Option<String>,
        /// Follow this process's life instead of the caller's [env: NEIGHBOR_FOLLOW_PID].
        #[arg(long, value_name = "PID")]
        follow_pid: Option<u32>,
        /// Through a remote (the default once the plane is shared): the claim holds only if the remote
        /// then has it, and `--next` moves on when another clone published first.
        #[command(flatten)]
        route: Route,
        /// Also give the task a tenant of its own, named after it (as `add` makes one, setup included);
        /// the task and the tenant name each other. Prints the tenant's path instead of the id. A task whose
        /// tenant a live process holds the lease of (an earlier claimer's command) is not taken (exit 3).
        /// The same caller's retry of a claim cut short (killed before its tenant was bound) resumes it:
        /// the tenant is made or taken up and its path printed; with --next, such a claim comes first.
        #[arg(long)]
        tenant: bool,
        /// Claim into a tenant (as --tenant), run CMD there as `run` does, and mark the task done when CMD
        /// exits 0, failed (with its exit) otherwise, only while the claim is still this one's. Exits with
        /// CMD's code; 3 ("claim lost") when the claim expired and was taken over while CMD ran: nothing is
        /// marked.
        #[arg(long, requires = "cmd")]
        run: bool,
        /// The command for --run (after `--`), run directly, no shell.
        #[arg(last = true, value_name = "CMD", requires = "run")]
        cmd: Vec<String>,
    },
    /// Put a claimed or failed task back to pending.
    Release {
        /// Task id.
        id: String,
        #[command(flatten)]
        route: Route,
    },
    /// Mark a task done (final).
    Done {
        /// Task id.
        id: String,
        /// Land the task's tenant first (as `land` does); the task is done only once it landed.
        #[arg(long)]
        land: bool,
        /// With --land: the test to run in the tenant after it is brought up to date (`sh -c`).
        #[arg(long, value_name = "CMD", requires = "land")]
        test: Option<String>,
        #[command(flatten)]
        route: Route,
    },
    /// Change a task's subject, body or labels.
    Edit {
        /// Task id.
        id: String,
        /// A new subject line.
        #[arg(long, value_name = "TEXT")]
        subject: Option<String>,
        /// Read a new body from this file (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        body_file: Option<PathBuf>,
        /// Add a label (repeatable).
        #[arg(long = "label", value_name = "LABEL")]
        add_labels: Vec<String>,
        /// Remove a label (repeatable).
        #[arg(long = "remove-label", value_name = "LABEL")]
        remove_labels: Vec<String>,
        #[command(flatten)]
        route: Route,
    },
    /// Mark a task failed, with the reason.
    Fail {
        /// Task id.
        id: String,
        /// Why, in one line.
        #[arg(long, value_name = "TEXT")]
        reason: String,
        #[command(flatten)]
        route: Route,
    },
    /// Share the tasks through a remote: fetch its refs/neighbor/tasks/*, push the ones changed here.
    ///
    /// Each ref is pushed with --force-with-lease on the value the remote had, so a change made from a stale
    /// read is refused there. A task changed both here and on the remote since the last sync takes the
    /// remote's version (it was published first): a claim made here is then lost, and the command exits 3
    /// naming who holds the task. From then on the plane is shared: every claim and change of this clone
    /// goes through that remote unless --local is given.
    Sync {
        /// The remote (a name, URL or path).
        #[arg(default_value = "origin")]
        remote: String,
    },
    /// Make a task wait until another is done; a cycle is refused (exit 3).
    Block {
        /// The task that waits.
        id: String,
        /// The task it waits for.
        #[arg(long, value_name = "ID")]
        by: String,
        #[command(flatten)]
        route: Route,
    },
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::Add { subject, id, blocked_by, labels, body_file, route } => {
            let body = read_body(body_file.as_deref())?.unwrap_or_default();
            let req = tasks::NewTask {
                id: id.clone(),
                subject: subject.clone(),
                body,
                labels: labels.clone(),
                blocked_by: blocked_by.clone(),
            };
            let t = tasks::add(ctx, req, route.resolve(ctx)?.as_deref())?;
            if ui.json {
                ui.json_out(&t)?;
            } else {
                ui.data(&format!("{}\n", t.id))?;
            }
        }
        Cmd::List { ready, status, owner } => {
            let f = tasks::Filter { ready: *ready, status: *status, owner: owner.clone() };
            let (all, bad) = tasks::list(ctx, &f)?;
            for e in &bad {
                ui.warn_error(e, "left out");
            }
            if ui.json {
                ui.json_out(&all)?;
            } else {
                let mut rows = vec![vec![
                    "ID".to_string(),
                    "STATUS".into(),
                    "READY".into(),
                    "OWNER".into(),
                    "BLOCKED BY".into(),
                    "SUBJECT".into(),
                ]];
                // Task text may come from any writer of a shared remote: never raw onto the terminal.
                let p = |s: &str| ui::printable(s).into_owned();
                for v in all {
                    rows.push(vec![
                        p(&v.task.id),
                        status_word(&v),
                        if v.ready { "yes".into() } else { "-".into() },
                        v.task.owner.as_deref().map_or_else(|| "-".into(), p),
                        if v.task.blocked_by.is_empty() { "-".into() } else { p(&v.task.blocked_by.join(",")) },
                        p(&v.task.subject),
                    ]);
                }
                ui.data(&ui::table(&rows))?;
            }
        }
        Cmd::Show { id } => {
            let v = tasks::show(ctx, id)?;
            if ui.json {
                ui.json_out(&v)?;
            } else {
                ui.data(&show_text(&v))?;
            }
        }
        Cmd::Claim { id, next, owner, follow_pid, route, tenant, run, cmd } => {
            let remote = route.resolve(ctx)?;
            // --run's claim lasts as long as this process, which runs CMD and marks the task; a claim it
            // cannot finish (it was killed) must not outlive it. Otherwise the caller's, as `pool claim`.
            let named = follow_pid.is_some() || std::env::var_os("NEIGHBOR_FOLLOW_PID").is_some_and(|v| !v.is_empty());
            let pid =
                if *run && !named { std::process::id() } else { crate::supervise::proc::follow_pid(*follow_pid)? };
            let want = match (id, next) {
                (Some(id), _) => Want::Id(id.clone()),
                (None, _) => Want::Next,
            };
            if *run {
                let sigs = crate::supervise::Signals::install()?;
                sigs.follow_dispatcher();
                // Under --json the command's stdout goes to stderr: stdout carries only the outcome.
                let how = tasks::RunHow { cmd, stdout_to_stderr: ui.json, sigs: &sigs };
                return match tasks::claim_and_run(ctx, &want, owner.as_deref(), pid, remote.as_deref(), &how)? {
                    Ok(ran) => {
                        for n in &ran.run.notes {
                            ui.status(n);
                        }
                        if ui.json {
                            ui.json_out(&ran)?;
                        }
                        let word = if ran.task.status == Status::Done { "done" } else { "failed" };
                        ui.status(format!("task {} {word} (tenant {})", ran.task.id, ran.run.name));
                        Ok(ran.run.exit)
                    }
                    Err(Claimed::NothingReady { blocked, claimed }) => {
                        ui.status(format!(
                            "nothing ready to claim ({blocked} pending task(s) wait on a blocker, {claimed} claimed)"
                        ));
                        Ok(NOTHING_READY)
                    }
                    Err(Claimed::Task(_)) => Err(Error::new("claimed without a tenant")),
                };
            }
            let (claimed, made) = if *tenant {
                tasks::claim_in_tenant(ctx, &want, owner.as_deref(), pid, remote.as_deref())?
            } else {
                (tasks::claim(ctx, &want, owner.as_deref(), pid, remote.as_deref())?, None)
            };
            match claimed {
                Claimed::Task(v) => {
                    if ui.json {
                        ui.json_out(&v)?;
                    } else if let Some(t) = &made {
                        ui.data(&format!("{}\n", t.path.display()))?;
                    } else {
                        ui.data(&format!("{}\n", v.task.id))?;
                    }
                    let id = ui::printable(&v.task.id);
                    if let Some(t) = &made {
                        ui.status(format!("tenant {} at {} is task {id}'s", t.name, t.path.display()));
                    }
                    ui.status(format!("claimed {id} for pid {}: {}", pid, ui::printable(&v.task.subject)));
                }
                Claimed::NothingReady { blocked, claimed } => {
                    ui.status(format!(
                        "nothing ready to claim ({blocked} pending task(s) wait on a blocker, {claimed} claimed)"
                    ));
                    return Ok(NOTHING_READY);
                }
            }
        }
        Cmd::Sync { remote } => {
            let r = tasks::share(ctx, remote)?;
            if ui.json {
                ui.json_out(&r)?;
            }
            ui.status(format!("{remote}: {} task(s) taken, {} published", r.pulled.len(), r.pushed.len()));
            if !r.lost.is_empty() {
                let lost: Vec<String> = r
                    .lost
                    .iter()
                    .map(|t| match (&t.status, &t.claimed_by) {
                        (Status::Claimed, Some(c)) => {
                            format!("{} (claimed by pid {} on {})", ui::printable(&t.id), c.pid, ui::printable(&c.host))
                        }
                        _ => format!("{} ({})", ui::printable(&t.id), t.status.name()),
                    })
                    .collect();
                return Err(Error::refused(format!(
                    "changed on '{remote}' first, so the change made here is replaced: {}",
                    lost.join(", ")
                ))
                .hint("`git neighbor task claim --next` takes another ready task"));
            }
        }
        Cmd::Release { id, route } => changed(ui, tasks::release(ctx, id, route.resolve(ctx)?.as_deref())?, "pending")?,
        Cmd::Done { id, land: false, route, .. } => {
            changed(ui, tasks::done(ctx, id, route.resolve(ctx)?.as_deref())?, "done")?
        }
        Cmd::Done { id, land: true, test, route } => {
            let remote = route.resolve(ctx)?;
            let (t, did, landed) =
                tasks::done_landing(ctx, id, remote.as_deref(), test.clone(), &|line| ui.status(line))?;
            ui.status(format!("landed tenant {} into {}", landed.name, landed.into));
            changed(ui, (t, did), "done")?
        }
        Cmd::Edit { id, subject, body_file, add_labels, remove_labels, route } => {
            let e = tasks::Edit {
                subject: subject.clone(),
                body: read_body(body_file.as_deref())?,
                add_labels: add_labels.clone(),
                remove_labels: remove_labels.clone(),
            };
            changed(ui, tasks::edit(ctx, id, &e, route.resolve(ctx)?.as_deref())?, "edited")?
        }
        Cmd::Fail { id, reason, route } => {
            changed(ui, tasks::fail(ctx, id, reason, route.resolve(ctx)?.as_deref())?, "failed")?
        }
        Cmd::Block { id, by, route } => {
            let remote = route.resolve(ctx)?;
            changed(ui, tasks::block(ctx, id, by, remote.as_deref())?, &format!("blocked by {by}"))?
        }
    }
    Ok(0)
}

/// Render a change: the task as stored now (JSON), and a status line saying whether anything changed.
fn changed(ui: &Ui, (t, did): (Task, bool), now: &str) -> Result<(), Error> {
    if ui.json {
        ui.json_out(&t)?;
    }
    let id = ui::printable(&t.id);
    ui.status(if did { format!("{id} is now {now}") } else { format!("{id} was already {now}; nothing changed") });
    Ok(())
}

fn status_word(v: &View) -> String {
    if v.claim_dead { "pending (claimant gone)".into() } else { v.task.status.name().into() }
}

/// `task show`'s text. Every field goes through [`ui::printable`] (the body through
/// [`ui::printable_lines`]): a task may come from any writer of a shared remote.
fn show_text(v: &View) -> String {
    let t = &v.task;
    let p = |s: &str| ui::printable(s).into_owned();
    let mut s = format!("id:         {}\nsubject:    {}\nstatus:     {}\n", p(&t.id), p(&t.subject), status_word(v));
    s.push_str(&format!("ready:      {}\n", if v.ready { "yes" } else { "no" }));
    if let Some(r) = &t.reason {
        s.push_str(&format!("reason:     {}\n", p(r)));
    }
    if let Some(o) = &t.owner {
        s.push_str(&format!("owner:      {}\n", p(o)));
    }
    if let Some(c) = &t.claimed_by {
        s.push_str(&format!("claimed by: pid {} on {} since {}\n", c.pid, p(&c.host), p(&c.since)));
    }
    if !t.blocked_by.is_empty() {
        s.push_str(&format!("blocked by: {}\n", p(&t.blocked_by.join(", "))));
    }
    if !t.labels.is_empty() {
        s.push_str(&format!("labels:     {}\n", p(&t.labels.join(", "))));
    }
    s.push_str(&format!("created:    {}\nupdated:    {} (version {})\n", p(&t.created), p(&t.updated), t.version));
    if !t.body.is_empty() {
        let body = ui::printable_lines(&t.body);
        s.push('\n');
        s.push_str(&body);
        if !body.ends_with('\n') {
            s.push('\n');
        }
    }
    s
}

/// A body from `--body-file` (`-`: stdin); `None` without one.
fn read_body(file: Option<&std::path::Path>) -> Result<Option<String>, Error> {
    Ok(match file {
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            Some(std::io::read_to_string(std::io::stdin()).ctx(|| "cannot read the body from stdin".into())?)
        }
        Some(p) => Some(std::fs::read_to_string(p).ctx(|| format!("cannot read {}", p.display()))?),
    })
}
