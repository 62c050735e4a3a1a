//! `keep`: mark a tenant kept so prune leaves it (status `kept`, with the reason).

use crate::building::{self, Ctx};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant name.
    pub name: String,
    /// Why it is kept (shown by list).
    #[arg(long, value_name = "R")]
    pub reason: Option<String>,
    /// Clear the mark instead.
    #[arg(long, conflicts_with = "reason")]
    pub undo: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let reason = if a.undo { None } else { Some(a.reason.clone().unwrap_or_else(|| "kept by user".into())) };
    let t = building::set_kept(ctx, &a.name, reason)?;
    if ui.json {
        ui.json_out(&building::entry(ctx, &t.name)?)?;
    }
    ui.status(match &t.kept {
        Some(k) => format!("tenant {} kept: {}", t.name, k.reason),
        None => format!("tenant {} no longer kept", t.name),
    });
    Ok(0)
}
