//! `hooks install|uninstall|status`: manage the git hooks that call `git-neighbor-hook <name>` (else
//! `git-neighbor hook <name>`).

use crate::building::Ctx;
use crate::error::Error;
use crate::protect::hooks;
use crate::ui::{self, Ui};

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// Install pre-commit, pre-push, pre-rebase and post-checkout hooks (idempotent; honours
    /// core.hooksPath; your own hooks are kept and still run after ours).
    ///
    /// A hook file created in the repository's own hooks directory names git-neighbor-hook by its
    /// absolute path on its `#!` line, so git runs it with no shell: about 0.8 ms less per commit. If
    /// that binary moves, git fails the hook until `hooks install` runs again (`hooks status` says
    /// `broken`). Elsewhere, or with --on-path, the hook is an sh script that finds git-neighbor on
    /// PATH at every run.
    Install {
        /// Make the hooks sh scripts that find git-neighbor on PATH at every run (for a binary that
        /// moves, or a repository shared with a container); the hooks remember it.
        #[arg(long)]
        on_path: bool,
    },
    /// Remove our hooks, giving back exactly what was there before.
    Uninstall,
    /// Show whether each hook is installed.
    Status,
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::Install { .. } | Cmd::Uninstall => {
            let changes = match cmd {
                Cmd::Install { on_path } => hooks::install(ctx, *on_path)?,
                _ => hooks::uninstall(ctx)?,
            };
            if ui.json {
                ui.json_out(&changes)?;
            } else {
                for c in &changes {
                    ui.status(format!("{:<14} {:<13} {}", c.hook, c.action, c.path.display()));
                }
            }
            Ok(0)
        }
        Cmd::Status => {
            let all = hooks::status(&ctx.repo)?;
            if ui.json {
                ui.json_out(&all)?;
            } else {
                let mut rows =
                    vec![vec!["HOOK".to_string(), "STATE".into(), "YOURS".into(), "RUNS".into(), "PATH".into()]];
                for h in &all {
                    let yours = if h.user_hook { "kept" } else { "-" };
                    let runs = match (&h.program, h.state.as_str()) {
                        (Some(p), _) => p.display().to_string(),
                        (None, "missing") => "-".into(),
                        (None, _) => "sh".into(),
                    };
                    rows.push(vec![h.hook.clone(), h.state.clone(), yours.into(), runs, h.path.display().to_string()]);
                }
                ui.data(&ui::table(&rows))?;
            }
            Ok(0)
        }
    }
}
