//! `queue list|show|cancel|run`: the speculative merge queue that `land --queue` feeds.

use crate::building::Ctx;
use crate::building::queue::{self, Entry};
use crate::error::Error;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List the entries, oldest first, with their state (queued, testing, landed, ejected, cancelled).
    List,
    /// Show one entry: by id, or the latest entry of a tenant; an ejected entry says why.
    Show {
        /// Entry id (`3` or `#3`) or tenant name.
        entry: String,
    },
    /// Take a queued entry out of the queue (a running `queue run` never lands it).
    Cancel {
        /// Entry id (`3` or `#3`) or tenant name.
        entry: String,
    },
}

fn short(oid: &str) -> &str {
    &oid[..oid.len().min(10)]
}

fn describe(e: &Entry) -> String {
    let mut s =
        format!("#{} {}: {} ({} at {}) into {}", e.id, e.state.name(), e.tenant, e.branch, short(&e.tip), e.into);
    if let Some(c) = &e.landed_as {
        s.push_str(&format!(" as {}", short(c)));
    }
    if let Some(r) = &e.reason {
        s.push_str(&format!(": {r}"));
    }
    s
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::List => {
            let all = queue::list(ctx)?;
            if ui.json {
                ui.json_out(&all)?;
            } else {
                let mut rows = vec![vec![
                    "ID".to_string(),
                    "STATE".into(),
                    "TENANT".into(),
                    "INTO".into(),
                    "TIP".into(),
                    "REASON".into(),
                ]];
                for e in all {
                    rows.push(vec![
                        e.id.to_string(),
                        e.state.name().into(),
                        e.tenant.clone(),
                        e.into.clone(),
                        short(&e.tip).into(),
                        e.reason.clone().unwrap_or_else(|| "-".into()),
                    ]);
                }
                ui.data(&ui::table(&rows))?;
            }
        }
        Cmd::Show { entry } => {
            let e = queue::show(ctx, entry)?;
            if ui.json {
                ui.json_out(&e)?;
            } else {
                ui.data(&format!("{}\n", describe(&e)))?;
            }
        }
        Cmd::Cancel { entry } => {
            let e = queue::cancel(ctx, entry)?;
            if ui.json {
                ui.json_out(&e)?;
            }
            ui.status(format!("cancelled #{} ({})", e.id, e.tenant));
        }
    }
    Ok(0)
}
