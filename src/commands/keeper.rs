//! `__lease-keeper` (hidden): keeps an ephemeral tenant's lease alive while the process that asked for the
//! tenant lives. It shares the lease descriptor inherited from `add`, so the lease never lapses between
//! the two; it exits (releasing the lease) when the watched process dies or the tenant is removed.

use std::time::Duration;

use crate::building::Ctx;
use crate::building::lease::{self, Holder};
use crate::building::registry;
use crate::building::state_dir;
use crate::error::Error;
use crate::supervise::proc::pid_alive;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant name.
    pub name: String,
    /// Process whose life the lease follows.
    pub watch: u32,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<u8, Error> {
    let note = Holder {
        pid: std::process::id(),
        command: format!("lease keeper for pid {}", a.watch),
        since_ms: state_dir::now_ms(),
        lease_id: None,
        watch_pid: Some(a.watch),
    };
    lease::write_lease_note(&ctx.state, &a.name, &note)?;
    let mut tick = 0u32;
    while pid_alive(a.watch) {
        std::thread::sleep(Duration::from_millis(100));
        tick += 1;
        if tick.is_multiple_of(5) {
            // Stop when the tenant is gone, or (pool) when the claim it held for is no longer this one, or
            // when `pool claim` died before handing the claim over (its caller never learnt of it).
            match registry::get(&ctx.state, &a.name).ok().flatten() {
                None => break,
                Some(t) => {
                    if let Some(p) = &t.pool {
                        match &p.claim {
                            Some(c) if c.pid == a.watch => {
                                if c.pending.is_some_and(|claimer| !pid_alive(claimer)) {
                                    break;
                                }
                            }
                            _ => break,
                        }
                    }
                }
            }
        }
    }
    Ok(0)
}
