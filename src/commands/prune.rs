//! `prune`: remove what is provably abandoned; report and keep anything with work in it.

use crate::building::Ctx;
use crate::building::prune::{self, Action};
use crate::error::Error;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Show the plan; change nothing.
    #[arg(long, short = 'n')]
    pub dry_run: bool,
}

pub fn run(ctx: &mut Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    prune::prepare(ctx);
    let ctx = &*ctx;
    if a.dry_run {
        if let Some(i) = crate::frames::merge::interrupted(ctx) {
            ui.status(format!("would finish: {}", i.describe()));
        }
    } else {
        for note in crate::frames::merge::recover(ctx)? {
            ui.status(note);
        }
    }
    let progress = ui.progress("looking for abandoned tenants");
    let mut items = if a.dry_run { prune::plan(ctx)? } else { prune::plan_to_execute(ctx)? };
    crate::failpoint::hit("prune-planned");
    if !a.dry_run {
        progress.set(format!("pruning {} item(s)", items.len()));
        prune::execute(ctx, &mut items)?;
    }
    drop(progress);
    if ui.json {
        ui.json_out(&items)?;
        return Ok(0);
    }
    if items.is_empty() {
        ui.status("nothing to prune");
        return Ok(0);
    }
    let mut rows = vec![vec!["ACTION".to_string(), "NAME".into(), "RESULT".into(), "WHY".into(), "PATH".into()]];
    for i in &items {
        let action = match i.action {
            Action::Rollback => "rollback",
            Action::Remove => "remove",
            Action::Forget => "forget",
            Action::Finish => "finish-remove",
            Action::Follow => "follow",
            Action::Unlock => "unlock",
            Action::Keep => "keep",
        };
        let result = if a.dry_run && i.action != Action::Keep {
            "would do".into()
        } else {
            i.result.clone().unwrap_or_else(|| "kept".into())
        };
        rows.push(vec![
            action.into(),
            i.name.clone().unwrap_or_else(|| "-".into()),
            result,
            i.reason.clone(),
            i.path.display().to_string(),
        ]);
    }
    ui.data(&ui::table(&rows))?;
    Ok(0)
}
