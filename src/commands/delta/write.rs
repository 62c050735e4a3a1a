//! `delta write`: read a delta (stdin or `--file`), then [`mailbox::write`] validates and stores it in its
//! frame/stream slot (once, unless `--replace`).

use std::io::Read;
use std::path::PathBuf;

use crate::building::Ctx;
use crate::error::Error;
use crate::frames::delta;
use crate::frames::mailbox::{self, WriteRequest};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct WriteArgs {
    /// Frame (default: $NEIGHBOR_FRAME, else the next frame to merge).
    #[arg(long, value_name = "N", value_parser = super::parse_frame)]
    pub frame: Option<u64>,
    /// Stream (default: $NEIGHBOR_STREAM, else the current tenant's name).
    #[arg(long, value_name = "S")]
    pub stream: Option<String>,
    /// Read the delta from this file instead of stdin.
    #[arg(long, value_name = "F")]
    pub file: Option<PathBuf>,
    /// Write a fallback delta ("ran, nothing to say"): no ops; stdin is not read unless --file is given.
    #[arg(long)]
    pub fallback: bool,
    /// Overwrite this stream's delta for the frame.
    #[arg(long)]
    pub replace: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &WriteArgs) -> Result<u8, Error> {
    let stream = a.stream.clone().or_else(|| std::env::var("NEIGHBOR_STREAM").ok().filter(|s| !s.is_empty()));
    let frame = match a.frame {
        Some(f) => Some(f),
        None => match std::env::var("NEIGHBOR_FRAME").ok().filter(|s| !s.is_empty()) {
            Some(f) => Some(mailbox::parse_frame(&f).map_err(|e| e.context("NEIGHBOR_FRAME"))?),
            None => None,
        },
    };
    let delta = match (&a.file, a.fallback) {
        (Some(f), _) => Some(std::fs::read(f).map_err(|e| Error::new(format!("cannot read {}: {e}", f.display())))?),
        (None, true) => None,
        (None, false) => {
            let mut b = Vec::new();
            std::io::stdin().take(delta::Limits::default().max_bytes as u64 + 1).read_to_end(&mut b)?;
            Some(b)
        }
    };
    let req = WriteRequest { frame, stream, delta, fallback: a.fallback, replace: a.replace };
    let slot = mailbox::write(ctx, &req)?;
    if ui.json {
        ui.json_out(&slot)?;
    } else {
        ui.data(&format!("{}/{}\n", slot.frame, slot.stream))?;
    }
    Ok(0)
}
