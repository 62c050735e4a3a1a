//! git-neighbor: let many writers (agents, orchestrators, CI, humans) share one git repository without
//! destroying each other's work.
//!
//! The binary is a thin shell around [`main_entry`]. Domain logic (registry, locks, leases, the building
//! survey, the prune plan) lives in modules that return data; `commands/` renders it; [`git`] is the one
//! door to git.
#![warn(missing_docs)]

pub(crate) mod building;
pub(crate) mod cli;
pub(crate) mod commands;
pub(crate) mod completion;
pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod error;
pub(crate) mod frames;
pub(crate) mod git;
pub(crate) mod glob;
pub(crate) mod protect;
pub(crate) mod supervise;
#[cfg(test)]
mod testing;
pub(crate) mod ui;

use clap::Parser;

/// Parse arguments, run, print errors; returns the process exit code.
pub fn main_entry() -> u8 {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return code;
        }
    };
    let ui = ui::Ui::new(cli.global.json, cli.global.quiet, 0, cli.global.color);
    match cli::run(cli) {
        Ok(code) => code,
        Err(e) if e.kind == error::Kind::BrokenPipe => 0,
        Err(e) => {
            ui.error(&e);
            e.kind.code()
        }
    }
}
