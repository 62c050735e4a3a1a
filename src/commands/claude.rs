//! `claude worktree-create|worktree-remove`: Claude Code's WorktreeCreate and WorktreeRemove hooks, served
//! by the same code as `add` and `remove`. `init --claude` registers them in `.claude/settings.json`.

use crate::building::{ConfigPolicy, Ctx};
use crate::cli::Global;
use crate::error::Error;
use crate::harness;
use crate::ui::Ui;

#[derive(Debug, clap::Subcommand)]
pub enum Cmd {
    /// WorktreeCreate hook: read Claude Code's JSON on stdin, create a tenant, print its absolute path.
    WorktreeCreate,
    /// WorktreeRemove hook: remove the tenant at the payload's worktree_path when nothing would be lost;
    /// otherwise keep it (exit 0) and say why on stderr.
    WorktreeRemove,
}

pub fn run(g: &Global, ui: &Ui, cmd: &Cmd) -> Result<u8, Error> {
    let payload = harness::read_payload(std::io::stdin().lock())?;
    let dir = harness::repo_dir(&payload)?;
    let (ctx, _) = Ctx::open(&dir, &g.config, g.lock_timeout, ConfigPolicy::Strict)?;
    match cmd {
        Cmd::WorktreeCreate => {
            let path = harness::worktree_create(&ctx, &payload)?;
            ui.data(&format!("{}\n", path.display()))?;
        }
        Cmd::WorktreeRemove => {
            let out = harness::worktree_remove(&ctx, &payload)?;
            if ui.json {
                ui.json_out(&out)?;
            }
            match (&out.tenant, out.removed, &out.kept_because) {
                (Some(t), true, _) => ui.status(format!("removed tenant {t}")),
                (_, false, Some(why)) => ui.status(format!("kept: {why}")),
                _ => {}
            }
        }
    }
    Ok(0)
}
