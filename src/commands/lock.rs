//! `lock` / `unlock`: git's worktree lock on a tenant, so that nothing (prune, remove) takes it away.

use crate::building::{self, Ctx, LockState};
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
    let reason = a.reason.clone().unwrap_or_else(|| "locked by git-neighbor".into());
    render(ui, &building::set_locked(ctx, &a.name, Some(&reason))?)
}

pub fn run_unlock(ctx: &Ctx, ui: &Ui, a: &UnlockArgs) -> Result<u8, Error> {
    render(ui, &building::set_locked(ctx, &a.name, None)?)
}

fn render(ui: &Ui, s: &LockState) -> Result<u8, Error> {
    if ui.json {
        ui.json_out(s)?;
    }
    let reason = s.reason.as_deref().unwrap_or("");
    ui.status(match (s.locked, s.changed) {
        (true, true) => format!("locked tenant {}: {reason}", s.name),
        (true, false) => format!("tenant {} is already locked ({reason}); nothing changed", s.name),
        (false, true) => format!("unlocked tenant {}", s.name),
        (false, false) => format!("tenant {} is not locked; nothing changed", s.name),
    });
    Ok(0)
}
