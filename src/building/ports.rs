//! Port blocks for tenants that ask for one (`run`): a block of [`PORT_BLOCK`] ports not used by any
//! registered tenant of this building.

use super::Ctx;
use super::registry;
use crate::error::Error;

/// First port of a block of [`PORT_BLOCK`] ports not used by any registered tenant. Call under the lock.
pub(crate) fn free_port_block(ctx: &Ctx) -> Result<u16, Error> {
    let (tenants, _) = registry::all(&ctx.state)?;
    let used: Vec<u16> = tenants.iter().filter_map(|t| t.port).collect();
    (0..3000u16)
        .map(|k| PORT_BASE + k * PORT_BLOCK)
        .find(|p| !used.contains(p))
        .ok_or_else(|| Error::new("no free port block: 3,000 tenants hold one").hint("git neighbor prune"))
}

/// First port handed out to tenants.
pub const PORT_BASE: u16 = 20_000;
/// Ports per tenant (`NEIGHBOR_PORT` .. `NEIGHBOR_PORT + 9`).
pub const PORT_BLOCK: u16 = 10;
