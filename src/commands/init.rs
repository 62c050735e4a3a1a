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
    /// Also register git-neighbor as Claude Code's worktree hooks in .claude/settings.json (keeps every
    /// other setting; running it again changes nothing).
    #[arg(long)]
    pub claude: bool,
}

/// What `init` did (`--json`).
#[derive(Debug, serde::Serialize)]
struct Initialised {
    /// The config file (none in a bare repository).
    config: Option<std::path::PathBuf>,
    /// Whether this call wrote it.
    config_written: bool,
    /// The shared state directory.
    state_dir: std::path::PathBuf,
    /// Hook changes with `--hooks`.
    hooks: Vec<crate::protect::hooks::Change>,
    /// The Claude Code settings file, with `--claude`.
    claude_settings: Option<std::path::PathBuf>,
}

pub fn run(g: &Global, ui: &Ui, args: &Args) -> Result<u8, Error> {
    let ctx = cli::open(g)?;
    ctx.state.ensure()?;
    let mut done = Initialised {
        config: None,
        config_written: false,
        state_dir: ctx.state.root.clone(),
        hooks: Vec::new(),
        claude_settings: None,
    };
    if args.hooks {
        done.hooks = crate::protect::hooks::install(&ctx, false)?;
        for c in &done.hooks {
            ui.status(format!("hook {}: {} ({})", c.hook, c.action, c.path.display()));
        }
    }
    let Some(root) = ctx.repo.workdir.as_deref() else {
        ui.status(format!("shared state ready in {}", ctx.state.root.display()));
        ui.status("bare repository: commit a .neighbor.toml from a worktree to configure it");
        if ui.json {
            ui.json_out(&done)?;
        }
        return Ok(0);
    };
    if args.claude {
        let changed = crate::harness::install_claude_hooks(root)?;
        done.claude_settings = Some(root.join(".claude/settings.json"));
        ui.status(if changed {
            "registered git-neighbor as Claude Code's WorktreeCreate/WorktreeRemove hooks in .claude/settings.json"
        } else {
            ".claude/settings.json already has git-neighbor's worktree hooks"
        });
    }
    let path = root.join(config::FILE);
    done.config = Some(path.clone());
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
        done.config_written = true;
    }
    ui.status(format!("shared state ready in {}", ctx.state.root.display()));
    if ui.json {
        ui.json_out(&done)?;
    }
    Ok(0)
}
