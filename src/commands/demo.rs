//! `demo`: a real demonstration in a throwaway repository (no network, a few seconds).

use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Keep the throwaway repository instead of deleting it at the end.
    #[arg(long)]
    pub keep: bool,
}

pub fn run(ui: &Ui, a: &Args) -> Result<u8, Error> {
    crate::demo::run(ui, a.keep)
}
