//! `__prompt-watch` (hidden): the watcher behind `status --short --watch` (see building/watch.rs).

use crate::building::{Ctx, watch};
use crate::error::Error;

pub fn run(ctx: &Ctx) -> Result<u8, Error> {
    watch::serve(ctx, watch::IDLE)?;
    Ok(0)
}
