//! `__reaper` (hidden): ends a supervised child's process group if its supervisor dies (see supervise.rs).

use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Supervisor pid.
    pub watch: u32,
    /// Child process group.
    pub pgid: i32,
}

pub fn run(a: &Args) -> Result<u8, Error> {
    crate::supervise::reap(a.watch, a.pgid);
    Ok(0)
}
