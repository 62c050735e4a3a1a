//! `rescue list|show|restore`: work saved under `refs/neighbor/rescue/` before a command discarded it.

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
    /// Make a branch at the rescued snapshot so the work can be checked out and continued.
    Restore {
        /// Rescue id (or a unique prefix).
        id: String,
        /// Branch to create (default: rescued/<id>).
        #[arg(long, value_name = "B")]
        branch: Option<String>,
    },
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
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
                let text = ctx
                    .repo
                    .git()?
                    .args(["show", "-m", "--first-parent", "--stat", "--format=commit %H%nDate: %cI%n%n%B"])
                    .arg(&r.commit)
                    .arg("--")
                    .read()?;
                ui.data(&format!("{text}\n"))?;
            }
        }
        Cmd::Restore { id, branch } => {
            let r = rescue::find(&ctx.repo, id)?;
            let b = branch.clone().unwrap_or_else(|| format!("rescued/{}", r.id));
            let full = format!("refs/heads/{b}");
            if ctx.repo.ref_target(&full).is_some() {
                return Err(Error::new(format!("branch '{b}' already exists")).hint("pass --branch with a new name"));
            }
            let zero = "0".repeat(r.commit.len());
            ctx.repo.git()?.args(["update-ref", "-m", "git-neighbor rescue restore", &full, &r.commit, &zero]).run()?;
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
