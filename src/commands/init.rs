//! `init`: write a commented `.neighbor.toml` if absent (never overwrite), create the shared state, and
//! with `--hooks` install the git hooks.

use crate::cli::{self, Global};
use crate::config;
use crate::error::{Error, IoContext};
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Also install the git hooks (as `git neighbor hooks install`).
    #[arg(long)]
    pub hooks: bool,
}

pub fn run(g: &Global, ui: &Ui, args: &Args) -> Result<u8, Error> {
    let ctx = cli::open(g)?;
    ctx.state.ensure()?;
    if args.hooks {
        for c in crate::protect::hooks::install(&ctx.repo)? {
            ui.status(format!("hook {}: {} ({})", c.hook, c.action, c.path.display()));
        }
    }
    let Some(root) = ctx.repo.workdir.as_deref() else {
        ui.status(format!("shared state ready in {}", ctx.state.root.display()));
        ui.status("bare repository: commit a .neighbor.toml from a worktree to configure it");
        return Ok(0);
    };
    let path = root.join(config::FILE);
    if path.exists() {
        ui.status(format!("{} already exists; left unchanged", path.display()));
    } else {
        // create_new: never overwrite, even if another init races us.
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .ctx(|| format!("cannot create {}", path.display()))?;
        let text = config::template_for(ctx.repo.default_branch().as_deref());
        f.write_all(text.as_bytes()).ctx(|| format!("cannot write {}", path.display()))?;
        ui.status(format!("wrote {} (commit it to share the settings)", path.display()));
    }
    ui.status(format!("shared state ready in {}", ctx.state.root.display()));
    Ok(0)
}
