//! `remove`: remove a tenant, refusing (exit 3) when it holds work unless `--force` (which rescues first).

use crate::building::{self, Ctx};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant name, or a path in its worktree (default: the tenant you are in).
    pub name: Option<String>,
    /// Remove even with uncommitted changes or unmerged commits, after saving them as a rescue ref (not a
    /// locked tenant: unlock it first).
    #[arg(long)]
    pub force: bool,
    /// Keep the tenant's branch.
    #[arg(long)]
    pub keep_branch: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let t = building::resolve_tenant(ctx, a.name.as_deref())?;
    let r = building::remove(ctx, &t, a.force, a.keep_branch)?;
    if ui.json {
        ui.json_out(&r)?;
    }
    if let Some(rescue) = &r.rescue {
        ui.status(format!("saved its work as {rescue}"));
    }
    let branch = match &r.branch_deleted {
        Some(b) => format!(" and branch {b}"),
        None => String::new(),
    };
    ui.status(format!("removed tenant {}{branch}", r.name));
    if let Some(why) = &r.branch_kept {
        let b = &t.branch;
        ui.status(format!("kept branch {b}: {why}; nothing on it was lost (delete it with git branch -D {b})"));
    }
    Ok(0)
}
