//! Making commits without a checkout: `commit-tree` with an identity that always works.

use std::path::Path;

use super::{GitCmd, Repo};
use crate::error::Error;

/// Set a fallback identity when the user has none, so rescue and frame commits can always be made.
pub(in crate::git) fn with_identity(repo: &Repo, cmd: GitCmd) -> GitCmd {
    let cfg = repo.gix.config_snapshot();
    let has = |k: &str| cfg.string(k).is_some();
    let mut cmd = cmd;
    if !has("user.name") && std::env::var_os("GIT_AUTHOR_NAME").is_none() {
        cmd = cmd.env("GIT_AUTHOR_NAME", "git-neighbor").env("GIT_COMMITTER_NAME", "git-neighbor");
    }
    if !has("user.email") && std::env::var_os("GIT_AUTHOR_EMAIL").is_none() {
        cmd =
            cmd.env("GIT_AUTHOR_EMAIL", "git-neighbor@localhost").env("GIT_COMMITTER_EMAIL", "git-neighbor@localhost");
    }
    cmd
}

/// `git commit-tree <tree> -p <parent>… ` with `message`, run in `dir`; returns the new commit id.
pub fn commit_tree(repo: &Repo, dir: &Path, tree: &str, parents: &[&str], message: &str) -> Result<String, Error> {
    commit_tree_with(repo, dir, tree, parents, message, &[])
}

/// [`commit_tree`] with extra environment (the hooks and guards git may run see it).
pub fn commit_tree_with(
    repo: &Repo,
    dir: &Path,
    tree: &str,
    parents: &[&str],
    message: &str,
    env: &[(&str, &str)],
) -> Result<String, Error> {
    let mut cmd = with_identity(repo, GitCmd::new(dir)?);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    let mut cmd = cmd.args(["commit-tree", tree]);
    for p in parents {
        cmd = cmd.args(["-p", p]);
    }
    Ok(cmd.stdin(message.as_bytes().to_vec()).read()?)
}
