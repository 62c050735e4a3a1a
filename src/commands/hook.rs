//! `hook <name> [ARGS]`: what the installed git hooks run. Starts fast: opens the repository, reads only
//! the staged diff (or the pushed commits), and exits. pre-commit and pre-push refuse (exit 3); pre-rebase
//! and post-checkout only ever warn (exit 0), whatever goes wrong.

use std::io::Read;

use crate::building::{ConfigPolicy, Ctx};
use crate::cli::Global;
use crate::error::Error;
use crate::protect::guard::{self, Kind, Overrides, Violation};
use crate::protect::liveness;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The git hook being run: pre-commit, pre-push, pre-rebase or post-checkout.
    pub name: String,
    /// The arguments git gave the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

pub fn run(g: &Global, ui: &Ui, a: &Args) -> Result<u8, Error> {
    match a.name.as_str() {
        "pre-commit" | "pre-push" => {
            let (ctx, problem) = crate::cli::open_with(g, ConfigPolicy::Lenient)?;
            if let Some(e) = problem {
                ui.warn(format!("{} (checking with the default settings)", e.message));
            }
            if a.name == "pre-commit" { pre_commit(&ctx) } else { pre_push(&ctx, a) }
        }
        "pre-rebase" | "post-checkout" => {
            // Warn-only hooks: a failure here must never block or fail git's command.
            let warned = crate::cli::open_with(g, ConfigPolicy::Lenient).and_then(|(ctx, _)| {
                if a.name == "pre-rebase" { pre_rebase(&ctx, ui) } else { post_checkout(&ctx, ui, a) }
            });
            if let Err(e) = warned {
                ui.verbose(format!("git-neighbor {} hook: {}", a.name, e.message));
            }
            Ok(0)
        }
        other => Err(Error::usage(format!("git-neighbor has no '{other}' hook"))
            .hint(format!("it handles: {}", crate::protect::hooks::NAMES.join(", ")))),
    }
}

fn same_dir(a: &std::path::Path, b: &std::path::Path) -> bool {
    let canon = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canon(a) == canon(b)
}

fn listing(vs: &[Violation]) -> String {
    vs.iter().map(|v| format!("\n  {}", v.describe())).collect()
}

fn pre_commit(ctx: &Ctx) -> Result<u8, Error> {
    // A frame interrupted after its commit point: this checkout's index still holds the previous frame,
    // so any commit here would revert it.
    if let Some(i) = crate::frames::merge::interrupted(ctx)
        && ctx.repo.workdir.as_deref().is_some_and(|w| same_dir(w, &i.worktree))
    {
        return Err(Error::refused(format!("commit refused: {}", i.describe()))
            .hint("run `git neighbor doctor --fix` to finish that merge-frame, then commit again"));
    }
    let vs = guard::pre_commit(ctx, Overrides::from_env())?;
    if vs.is_empty() {
        return Ok(0);
    }
    let has = |k: Kind| vs.iter().any(|v| v.kind == k);
    let mut e = Error::refused(format!("commit refused by git-neighbor's pre-commit guard:{}", listing(&vs)));
    if has(Kind::ConflictMarker) {
        e = e.hint("finish resolving: remove the conflict markers, then `git add` those files again");
    }
    if has(Kind::InvalidJson) {
        e = e.hint(
            "canonical state must stay valid JSON: fix the file (or `git checkout HEAD -- <file>`), then `git add` it",
        );
    }
    if has(Kind::InvalidConfig) {
        e = e.hint(format!(
            "fix {} so it loads (`git neighbor doctor` shows the error), then `git add` it",
            crate::config::FILE
        ));
    }
    if has(Kind::Canonical) {
        e = e
            .hint("canonical state (state.canonical) is committed only by merge-frame: write a delta instead: git neighbor delta write")
            .hint(format!("to override once: {}=1 git commit …", guard::ENV_ALLOW_CANONICAL));
    }
    Err(e.hint("or skip every hook for one commit: git commit --no-verify"))
}

fn pre_push(ctx: &Ctx, a: &Args) -> Result<u8, Error> {
    let remote = a.args.first().cloned().unwrap_or_default();
    let mut updates = String::new();
    std::io::stdin()
        .read_to_string(&mut updates)
        .map_err(|e| Error::new(format!("cannot read the pushed refs: {e}")))?;
    let vs = guard::pre_push(ctx, &remote, &updates)?;
    if vs.is_empty() {
        return Ok(0);
    }
    Err(Error::refused(format!("push refused by git-neighbor: commits add conflict markers:{}", listing(&vs)))
        .hint("fix it in a new commit (or amend/rebase those commits), then push again")
        .hint("to override once: git push --no-verify"))
}

fn pre_rebase(ctx: &Ctx, ui: &Ui) -> Result<(), Error> {
    let gd = &ctx.repo.git_dir;
    // git creates the autostash before it runs this hook; its state file says it did.
    let autostash = gd.join("rebase-merge/autostash").exists() || gd.join("rebase-apply/autostash").exists();
    if !autostash {
        return Ok(());
    }
    let live = liveness::observe(ctx, false)?;
    if !live.live {
        return Ok(());
    }
    ui.warn(format!(
        "this rebase stashed your uncommitted changes (autostash) while the fleet is live: {}",
        live.evidence.join("; ")
    ));
    ui.warn("if re-applying them conflicts, git leaves conflict markers in your files and parks your changes in refs/stash, which every worktree shares");
    ui.warn("next time use `git neighbor safe-pull` (it never stashes); `git neighbor doctor` finds leftover stashes");
    Ok(())
}

fn post_checkout(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<(), Error> {
    // Third argument 1: a branch checkout (0: files only).
    if a.args.get(2).map(String::as_str) != Some("1") {
        return Ok(());
    }
    let stashes = if ctx.repo.ref_target("refs/stash").is_some() {
        crate::git::refs::reflog_len(&ctx.repo, "refs/stash")
    } else {
        0
    };
    let config_on = |k: &str| -> bool { ctx.repo.config_bool(k) == Some(true) };
    let autostash = config_on("rebase.autoStash") || config_on("merge.autoStash");
    if stashes == 0 && !autostash {
        return Ok(());
    }
    let live = liveness::observe(ctx, false)?;
    if !live.live {
        return Ok(());
    }
    let why = live.evidence.join("; ");
    if stashes > 0 {
        ui.warn(format!(
            "refs/stash holds {stashes} entr{} shared by every worktree, and the fleet is live ({why}): `git stash pop` here may apply another writer's changes; `git neighbor doctor --fix` saves them as rescue refs",
            if stashes == 1 { "y" } else { "ies" }
        ));
    }
    if autostash {
        ui.warn(format!(
            "autostash is on in your git config and the fleet is live ({why}): a conflicting `git pull` here would hide your edits in the shared stash; use `git neighbor safe-pull`"
        ));
    }
    Ok(())
}
