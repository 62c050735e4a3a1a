//! `land`: parse, call [`land::land`], render.

use crate::building::Ctx;
use crate::building::land::{self, LandRequest, Mode};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant to land.
    pub name: String,
    /// Branch to land into (default: the tenant's base branch, else state.target).
    #[arg(long, value_name = "B")]
    pub into: Option<String>,
    /// Test to run in the tenant after it is brought up to date (run with `sh -c`).
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
    /// Keep the tenant after landing (default: remove it).
    #[arg(long)]
    pub keep: bool,
}

impl Args {
    fn request(&self) -> LandRequest {
        let mode = if self.squash {
            Mode::Squash
        } else if self.rebase {
            Mode::Rebase
        } else if self.no_ff {
            Mode::NoFf
        } else {
            Mode::Merge
        };
        LandRequest { name: self.name.clone(), into: self.into.clone(), test: self.test.clone(), mode, keep: self.keep }
    }
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let landed = land::land(ctx, &a.request(), &|line| ui.status(line))?;
    if ui.json {
        ui.json_out(&landed)?;
    }
    ui.status(format!(
        "landed {} into {}: {} -> {}{}",
        landed.name,
        landed.into,
        &landed.old[..10],
        &landed.new[..10],
        if landed.removed { "; tenant removed" } else { "" }
    ));
    Ok(0)
}
