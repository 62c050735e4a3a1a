//! `delta write`: validate a delta and store it in its frame/stream slot (once, unless `--replace`).

use std::io::Read;
use std::path::PathBuf;

use crate::building::{self, Ctx};
use crate::error::Error;
use crate::frames::delta;
use crate::frames::mailbox::{self, Kind};
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
    let tenant = building::current_tenant(ctx).map(|t| t.name);
    let stream = match a.stream.clone().or_else(|| std::env::var("NEIGHBOR_STREAM").ok().filter(|s| !s.is_empty())) {
        Some(s) => s,
        None => tenant.clone().ok_or_else(|| {
            Error::usage("no stream given").hint("pass --stream S, set NEIGHBOR_STREAM, or run inside a tenant")
        })?,
    };
    crate::building::registry::validate_name_as("stream", &stream)?;
    let frame = match a.frame {
        Some(f) => f,
        None => match std::env::var("NEIGHBOR_FRAME").ok().filter(|s| !s.is_empty()) {
            Some(f) => mailbox::parse_frame(&f).map_err(|e| e.context("NEIGHBOR_FRAME"))?,
            None => mailbox::last_merged_frame(&ctx.repo, &format!("refs/heads/{}", ctx.config.state.target))?
                .map_or(1, |n| n + 1),
        },
    };
    let bytes = match (&a.file, a.fallback) {
        (Some(f), _) => std::fs::read(f).map_err(|e| Error::new(format!("cannot read {}: {e}", f.display())))?,
        (None, true) => br#"{"ops": []}"#.to_vec(),
        (None, false) => {
            let mut b = Vec::new();
            std::io::stdin().take(delta::Limits::default().max_bytes as u64 + 1).read_to_end(&mut b)?;
            b
        }
    };
    let d = mailbox::validate(&bytes)?;
    if a.fallback && !d.ops.is_empty() {
        return Err(
            Error::usage("a fallback delta has no ops").hint("drop --fallback, or write {\"ops\": [], \"meta\": {…}}")
        );
    }
    // Symlinks in the checked-out state dir (or on the way to it) are refused now rather than at merge time.
    if let Some(wt) = &ctx.repo.workdir {
        let rel = delta::validate_rel_path(&ctx.config.state.dir)
            .map_err(|e| Error::new(format!("state.dir \"{}\": {e}", ctx.config.state.dir)))?;
        delta::check_dir_no_symlinks(wt, &rel).map_err(|e| {
            Error::new(format!("invalid state dir {}: {e}", wt.join(rel.as_str()).display()))
                .hint("state files are never written through a symlink; make the state dir a plain directory")
        })?;
        let dir = wt.join(rel.as_str());
        for (i, op) in d.ops.iter().enumerate() {
            delta::check_no_symlinks(&dir, op.path()).map_err(|e| {
                Error::new(format!("invalid delta: ops[{i}] ({} state path \"{}\"): {e}", op.name(), op.path()))
            })?;
        }
    }
    let value = serde_json::to_value(&d).map_err(|e| Error::new(format!("cannot encode delta: {e}")))?;
    let kind = if a.fallback { Kind::Fallback } else { Kind::Ok };
    let env = mailbox::envelope(frame, &stream, kind, tenant, value);
    let target = format!("refs/heads/{}", ctx.config.state.target);
    let slot = mailbox::store_open(&ctx.repo, &ctx.state, ctx.lock_timeout, &target, &env, a.replace)?;
    if ui.json {
        ui.json_out(&slot)?;
    } else {
        ui.data(&format!("{}/{}\n", slot.frame, slot.stream))?;
    }
    Ok(0)
}
