//! `__complete -- WORD…` (hidden): what the installed completion scripts call; prints one candidate per
//! line for the last word.

use std::path::PathBuf;

use crate::building::{ConfigPolicy, Ctx, registry};
use crate::completion::{self, Names};
use crate::error::Error;
use crate::frames::mailbox::{self, APPLIED, DELTAS, QUARANTINE};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The words after the command name; the last one is being completed.
    #[arg(last = true, allow_hyphen_values = true)]
    pub words: Vec<String>,
}

pub fn run(ui: &Ui, a: &Args) -> Result<u8, Error> {
    let mut words = a.words.clone();
    if words.is_empty() {
        words.push(String::new());
    }
    // `-C DIR` on the line being completed says which building the names come from.
    let dir = words.windows(2).rev().find(|w| w[0] == "-C").map(|w| PathBuf::from(&w[1]));
    let live = |kind: Names| -> Vec<String> { live_names(dir.clone(), kind).unwrap_or_default() };
    let out = completion::candidates(&crate::help::command(), &words, &live);
    let mut text = out.join("\n");
    if !text.is_empty() {
        text.push('\n');
    }
    ui.data(&text)?;
    Ok(0)
}

fn live_names(dir: Option<PathBuf>, kind: Names) -> Result<Vec<String>, Error> {
    let cwd = std::env::current_dir()?;
    let dir = dir.map(|d| cwd.join(d)).unwrap_or(cwd);
    let (ctx, _) = Ctx::open(&dir, &[], std::time::Duration::from_secs(1), ConfigPolicy::Lenient)?;
    Ok(match kind {
        Names::Tenants => registry::all(&ctx.state)?.0.into_iter().map(|t| t.name).collect(),
        Names::PoolTenants => {
            registry::all(&ctx.state)?.0.into_iter().filter(|t| t.pool.is_some()).map(|t| t.name).collect()
        }
        Names::DeltaSpecs => [DELTAS, APPLIED, QUARANTINE]
            .into_iter()
            .filter_map(|ns| mailbox::list(&ctx.repo, ns, None).ok())
            .flatten()
            .map(|s| format!("{}/{}", s.frame, s.stream))
            .collect(),
        Names::Rescues => crate::building::rescue::list(&ctx.repo)?.into_iter().map(|r| r.id).collect(),
    })
}
