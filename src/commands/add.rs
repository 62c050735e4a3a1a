//! `add`: create a tenant and print its absolute path as the only line on stdout.

use std::path::PathBuf;

use crate::building::{self, AddRequest, Ctx};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant name (letters, digits, '.', '_', '-').
    pub name: String,
    /// Base revision (default: worktrees.base, normally HEAD).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,
    /// Branch name (default: the worktrees.branch template, normally neighbor/<name>).
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Worktree path (default: <worktrees.root>/<name>).
    #[arg(long, value_name = "PATH")]
    pub path: Option<PathBuf>,
    /// Copy this uncommitted file, directory or glob from the current worktree (repeatable).
    #[arg(long, value_name = "PATH")]
    pub carry: Vec<String>,
    /// Owner recorded in the registry.
    #[arg(long)]
    pub owner: Option<String>,
    /// Task id recorded in the registry.
    #[arg(long, value_name = "ID")]
    pub task: Option<String>,
    /// The tenant lives only as long as the calling process (its lease); prune removes it after. git's
    /// dispatcher and wrappers such as `timeout`, `xargs`, `flock`, `sudo` are looked through to the process
    /// that ran them; name another process with --follow-pid.
    #[arg(long)]
    pub ephemeral: bool,
    /// With --ephemeral: follow this process's life instead of the caller's [env: NEIGHBOR_FOLLOW_PID].
    #[arg(long, value_name = "PID", requires = "ephemeral")]
    pub follow_pid: Option<u32>,
    /// Lease a block of 10 ports, unique on this machine (every repository shares one lease file), for
    /// the tenant's servers: `list --json` shows it as `port`; `run` and setup get NEIGHBOR_PORT (the
    /// first), NEIGHBOR_PORTS (all ten) and COMPOSE_PROJECT_NAME. Released by `remove` and `prune`.
    #[arg(long)]
    pub ports: bool,
    /// Do not run the [setup] commands of .neighbor.toml in the new tenant.
    #[arg(long)]
    pub no_setup: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let req = AddRequest {
        name: a.name.clone(),
        base: a.base.clone(),
        branch: a.branch.clone(),
        path: a.path.clone(),
        carry: a.carry.clone(),
        owner: a.owner.clone(),
        task: a.task.clone(),
        ephemeral: a.ephemeral,
        follow: if a.ephemeral { Some(crate::supervise::proc::follow_pid(a.follow_pid)?) } else { None },
        port: a.ports,
        setup: !a.no_setup,
        skip_setup_hint: Some(format!("git neighbor add --no-setup {}", a.name)),
        ..Default::default()
    };
    // Setup writes its output to stderr: no spinner over it.
    let quiet_spinner = req.setup && !ctx.config.setup.run.is_empty();
    let progress =
        if quiet_spinner { None } else { Some(ui.progress(format!("creating tenant {} (checking out)", a.name))) };
    let t = building::add(ctx, &req)?;
    drop(progress);
    if ui.json {
        ui.json_out(&building::entry(ctx, &t.name)?)?;
    } else {
        ui.data(&format!("{}\n", t.path.display()))?;
    }
    ui.verbose(format!("created tenant {} on branch {}", t.name, t.branch));
    Ok(0)
}
