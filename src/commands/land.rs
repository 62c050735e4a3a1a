//! `land`: parse, call [`land::land`], render.

use crate::building::Ctx;
use crate::building::land::{self, LandRequest, Mode};
use crate::building::queue;
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant to land (default: the tenant the current directory is in).
    pub name: Option<String>,
    /// Branch to land into (default: the tenant's base branch, else state.target).
    #[arg(long, value_name = "B")]
    pub into: Option<String>,
    /// Enqueue the tenant's branch tip for `git neighbor queue run` and return at once, printing its
    /// position; the queue lands it with a merge commit, tested as exactly the tree that lands.
    #[arg(long, conflicts_with_all = ["test", "no_ff", "squash", "rebase"])]
    pub queue: bool,
    /// Test to run in the tenant after it is brought up to date (run with `sh -c`). The tenant must still be
    /// that commit, clean, when the test ends (untracked files it leaves count, ignored ones do not): else
    /// what would land is not what was tested, and the landing is refused (exit 3).
    #[arg(long, value_name = "CMD")]
    pub test: Option<String>,
    /// Always make a merge commit on the target.
    #[arg(long, conflicts_with_all = ["squash", "rebase"])]
    pub no_ff: bool,
    /// Land the tenant's changes as one commit.
    #[arg(long, conflicts_with = "rebase")]
    pub squash: bool,
    /// Rebase the tenant onto the target instead of merging the target into it.
    #[arg(long)]
    pub rebase: bool,
    /// Keep the tenant after landing (default: remove it, unless it changed during the landing: then it is
    /// kept as it is, and the result says why).
    #[arg(long)]
    pub keep: bool,
}

impl Args {
    fn request(&self, name: String) -> LandRequest {
        let mode = if self.squash {
            Mode::Squash
        } else if self.rebase {
            Mode::Rebase
        } else if self.no_ff {
            Mode::NoFf
        } else {
            Mode::Merge
        };
        LandRequest { name, into: self.into.clone(), test: self.test.clone(), mode, keep: self.keep }
    }
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let name = match &a.name {
        Some(n) => n.clone(),
        None => crate::building::resolve_tenant(ctx, None)?.name,
    };
    if a.queue {
        let q = queue::enqueue(ctx, &name, &a.into, a.keep)?;
        if ui.json {
            ui.json_out(&q)?;
        } else {
            ui.data(&format!("{}\n", q.position))?;
        }
        ui.status(format!(
            "queued {} as #{} into {}: position {}; `git neighbor queue run` lands it",
            q.entry.tenant, q.entry.id, q.entry.into, q.position
        ));
        return Ok(0);
    }
    let landed = land::land(ctx, &a.request(name), &|line| ui.status(line))?;
    if ui.json {
        ui.json_out(&landed)?;
    }
    let tenant = match (&landed.kept, landed.removed) {
        (Some(why), _) => format!("; tenant kept as it is: {why}"),
        (None, true) => "; tenant removed".to_string(),
        (None, false) => String::new(),
    };
    ui.status(format!(
        "landed {} into {}: {} -> {}{tenant}",
        landed.name,
        landed.into,
        landed.old.get(..10).unwrap_or(&landed.old),
        landed.new.get(..10).unwrap_or(&landed.new),
    ));
    Ok(0)
}
