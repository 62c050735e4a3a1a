//! `rescue list|show|restore|drop|prune`: work saved under `refs/neighbor/rescue/` before a command discarded it.

use crate::building::Ctx;
use crate::building::rescue;
use crate::error::Error;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// List rescue refs, newest first.
    List,
    /// Show one rescue: its message and what it changed relative to its parent.
    Show {
        /// Rescue id (or a unique prefix).
        id: String,
    },
    /// Delete one rescue ref (its work is gone for good unless another ref holds it).
    Drop {
        /// Rescue id (or a unique prefix).
        id: String,
    },
    /// Delete the rescue refs made longer ago than a duration (e.g. 30d), so they do not pile up forever.
    Prune {
        /// Age: `30d`, `12h`, …
        #[arg(long, value_name = "D", value_parser = parse_age)]
        older_than: std::time::Duration,
        /// Only list what would be deleted.
        #[arg(long)]
        dry_run: bool,
    },
    /// Make a branch at the rescued snapshot so the work can be checked out and continued.
    Restore {
        /// Rescue id (or a unique prefix).
        id: String,
        /// Branch to create (default: rescued/<id>).
        #[arg(long, value_name = "B")]
        branch: Option<String>,
    },
}

fn parse_age(s: &str) -> Result<std::time::Duration, String> {
    crate::config::parse_duration(s)
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::Drop { id } => {
            let r = rescue::find(&ctx.repo, id)?;
            rescue::drop(&ctx.repo, &r)?;
            if ui.json {
                ui.json_out(&[&r])?;
            }
            ui.status(format!("dropped rescue {} ({})", r.id, &r.commit[..10.min(r.commit.len())]));
        }
        Cmd::Prune { older_than, dry_run } => {
            let old = rescue::older_than(&ctx.repo, *older_than)?;
            if !dry_run {
                for r in &old {
                    rescue::drop(&ctx.repo, r)?;
                }
            }
            if ui.json {
                ui.json_out(&old)?;
            } else {
                for r in &old {
                    ui.data(&format!("{}\t{}\t{}\n", r.id, r.date, r.subject))?;
                }
            }
            let verb = if *dry_run { "would drop" } else { "dropped" };
            ui.status(format!(
                "{verb} {} rescue(s) older than {}",
                old.len(),
                crate::config::format_duration(*older_than)
            ));
        }
        Cmd::List => {
            let all = rescue::list(&ctx.repo)?;
            if ui.json {
                ui.json_out(&all)?;
            } else if all.is_empty() {
                ui.status("no rescue refs");
            } else {
                let mut rows = vec![vec!["ID".to_string(), "DATE".into(), "SUBJECT".into()]];
                rows.extend(all.iter().map(|r| vec![r.id.clone(), r.date.clone(), r.subject.clone()]));
                ui.data(&ui::table(&rows))?;
            }
        }
        Cmd::Show { id } => {
            let r = rescue::find(&ctx.repo, id)?;
            if ui.json {
                ui.json_out(&r)?;
            } else {
                let text = crate::git::query::describe_commit(&ctx.repo, &r.commit)?;
                ui.data(&format!("{text}\n"))?;
            }
        }
        Cmd::Restore { id, branch } => {
            let r = rescue::find(&ctx.repo, id)?;
            let b = branch.clone().unwrap_or_else(|| format!("rescued/{}", r.id));
            crate::git::refs::validate_branch_name(&b)?;
            let full = format!("refs/heads/{b}");
            if ctx.repo.ref_target(&full).is_some() {
                return Err(Error::new(format!("branch '{b}' already exists")).hint("pass --branch with a new name"));
            }
            crate::git::query::create_ref(&ctx.repo, &full, &r.commit, "git-neighbor rescue restore")?;
            if ui.json {
                ui.json_out(&serde_json::json!({"id": r.id, "branch": b, "commit": r.commit}))?;
            } else {
                ui.data(&format!("{b}\n"))?;
            }
            ui.status(format!("branch {b} holds the rescued work; e.g. git neighbor add <name> --base {b}"));
        }
    }
    Ok(0)
}
