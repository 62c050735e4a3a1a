//! `list`: every worktree of the building with its status, from the registry and git's metadata alone.

use owo_colors::Style;

use crate::building::state_dir;
use crate::building::{self, Ctx, Status};
use crate::error::Error;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also compute dirty and ahead/behind base (slower; runs git status per worktree, in parallel).
    #[arg(long)]
    pub full: bool,
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let mut rows = building::survey(ctx)?;
    if a.full {
        building::survey_full(ctx, &mut rows);
    }
    if ui.json {
        ui.json_out(&rows)?;
        return Ok(0);
    }
    let mut table = vec![{
        let mut h = vec!["NAME", "STATUS", "BRANCH", "LEASE", "AGE"];
        if a.full {
            h.extend(["DIRTY", "AHEAD", "BEHIND"]);
        }
        h.push("PATH");
        h.into_iter().map(String::from).collect::<Vec<_>>()
    }];
    for r in &rows {
        let style = match r.status {
            Status::Active => Style::new().green(),
            Status::Kept => Style::new().cyan(),
            Status::Locked => Style::new().yellow(),
            Status::Stale | Status::SetupFailed => Style::new().red(),
            Status::Foreign | Status::Main | Status::Scratch => Style::new().dimmed(),
        };
        let name = r.name.clone().unwrap_or_else(|| if r.main { "(main)".into() } else { "-".into() });
        // `*` marks the worktree you are in, as `git branch` marks the current branch.
        let name = format!("{} {name}", if r.current { '*' } else { ' ' });
        let mut status = ui.out_style(r.status.as_str(), style);
        if let Some(reason) = &r.reason {
            status = format!("{status} ({reason})");
        }
        let lease = r
            .lease
            .as_ref()
            .map(|l| {
                let age = state_dir::human_age(std::time::Duration::from_secs(l.age_secs));
                if l.exited { format!("child of exited pid {} {age}", l.pid) } else { format!("pid {} {age}", l.pid) }
            })
            .unwrap_or_else(|| "-".into());
        let age =
            r.age_secs.map(|s| state_dir::human_age(std::time::Duration::from_secs(s))).unwrap_or_else(|| "-".into());
        let mut row = vec![name, status, r.branch.clone().unwrap_or_else(|| "(detached)".into()), lease, age];
        if a.full {
            let opt = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "-".into());
            row.push(r.dirty.map(|d| if d { "yes" } else { "no" }.to_string()).unwrap_or_else(|| "-".into()));
            // Commits ahead whose changes a squash or rebase merge already took: merged all the same.
            row.push(match (r.ahead, r.merged) {
                (Some(n), Some(true)) if n > 0 => format!("{n} (merged)"),
                (v, _) => opt(v),
            });
            row.push(opt(r.behind));
        }
        row.push(r.path.display().to_string());
        table.push(row);
    }
    ui.data(&ui::table(&table))?;
    Ok(0)
}
