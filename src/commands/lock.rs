//! `lock` / `unlock`: git's worktree lock on a tenant, so that nothing (prune, remove) takes it away.

use crate::building::Ctx;
use crate::building::events::{self, Event};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant name.
    pub name: String,
    /// Why it is locked.
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct UnlockArgs {
    /// Tenant name.
    pub name: String,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let t = ctx.tenant(&a.name)?;
    let reason = a.reason.clone().unwrap_or_else(|| "locked by git-neighbor".into());
    ctx.locked(|| {
        ctx.repo.git()?.args(["worktree", "lock", "--reason", &reason]).end_of_options().arg(&t.path).run()?;
        events::append(
            &ctx.state,
            &Event::new("lock").tenant(&t.name, &t.branch, &t.path).with("reason", reason.clone()),
        )
    })?;
    ui.status(format!("locked tenant {}: {reason}", t.name));
    Ok(0)
}

pub fn run_unlock(ctx: &Ctx, ui: &Ui, a: &UnlockArgs) -> Result<u8, Error> {
    let t = ctx.tenant(&a.name)?;
    ctx.locked(|| {
        ctx.repo.git()?.args(["worktree", "unlock"]).end_of_options().arg(&t.path).run()?;
        events::append(&ctx.state, &Event::new("unlock").tenant(&t.name, &t.branch, &t.path))
    })?;
    ui.status(format!("unlocked tenant {}", t.name));
    Ok(0)
}
