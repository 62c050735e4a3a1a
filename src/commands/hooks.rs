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
    Install,
    /// Remove our hooks, giving back exactly what was there before.
    Uninstall,
    /// Show whether each hook is installed.
    Status,
}

pub fn run(ctx: &Ctx, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    match cmd {
        Cmd::Install | Cmd::Uninstall => {
            let changes = if matches!(cmd, Cmd::Install) { hooks::install(ctx)? } else { hooks::uninstall(ctx)? };
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
                let mut rows = vec![vec!["HOOK".to_string(), "STATE".into(), "YOURS".into(), "PATH".into()]];
                for h in &all {
                    let yours = if h.user_hook { "kept" } else { "-" };
                    rows.push(vec![h.hook.clone(), h.state.clone(), yours.into(), h.path.display().to_string()]);
                }
                ui.data(&ui::table(&rows))?;
            }
            Ok(0)
        }
    }
}
