//! `__lease-keeper` (hidden): keeps an ephemeral tenant's lease alive while the process that asked for the
//! tenant lives. It shares the lease descriptor inherited from `add`, so the lease never lapses between
//! the two; it exits (releasing the lease) when the watched process dies or the tenant is removed.

use crate::building::Ctx;
use crate::error::Error;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant name.
    pub name: String,
    /// Process whose life the lease follows.
    pub watch: u32,
}

pub fn run(ctx: &Ctx, a: &Args) -> Result<u8, Error> {
    crate::building::lease::keep_lease(ctx, &a.name, a.watch)?;
    Ok(0)
}
