//! `trust`: approve the `[setup]` commands of `.neighbor.toml` (their exact content, by hash), show what
//! is approved, or revoke it. Setup runs in new tenants only while the approval matches.

use crate::building::Ctx;
use crate::error::Error;
use crate::protect::trust::{self, Ask};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Approve only if the commands still hash to this (the hash a refusal printed, at least 7 digits):
    /// what you approve is what you saw.
    #[arg(long, value_name = "HASH", conflicts_with_all = ["show", "revoke"])]
    pub expect: Option<String>,
    /// Show the current commands and what is approved; change nothing.
    #[arg(long, conflicts_with = "revoke")]
    pub show: bool,
    /// Withdraw the approval: setup is refused again until the next `trust`.
    #[arg(long)]
    pub revoke: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let ask = match (a.show, a.revoke) {
        (true, _) => Ask::Show,
        (_, true) => Ask::Revoke,
        _ => Ask::Approve(a.expect.as_deref()),
    };
    let r = trust::trust(ctx, ask)?;
    if ui.json {
        ui.json_out(&r)?;
        return Ok(0);
    }
    let short = |h: &str| h.chars().take(12).collect::<String>();
    let mut out = String::new();
    match &r.approved {
        Some(ap) => {
            out += &format!(
                "approved: {} ({}, {})\n",
                short(&ap.hash),
                ap.approved_at,
                ap.config.as_deref().unwrap_or("-c")
            );
            for c in &ap.run {
                out += &format!("  {c}\n");
            }
        }
        None => out += "approved: nothing\n",
    }
    if r.current.is_empty() {
        out += "current: no [setup] commands\n";
    } else if !r.current_approved {
        out += &format!("current: {} (NOT approved)\n", short(&r.current_hash));
        for c in &r.current {
            out += &format!("  {c}\n");
        }
    }
    ui.data(&out)?;
    match r.action {
        "approved" => ui.status("setup commands approved: new tenants run them"),
        "revoked" => ui.status("approval revoked: setup is refused until approved again"),
        "unchanged" => ui.status("already approved; nothing changed"),
        _ if !r.current.is_empty() && !r.current_approved => {
            ui.status(format!("approve them with: git neighbor trust --expect {}", short(&r.current_hash)))
        }
        _ => {}
    }
    Ok(0)
}
