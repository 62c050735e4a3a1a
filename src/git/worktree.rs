//! Porcelain run inside one worktree: bring it up to date, read its HEAD, move its branch.
//!
//! Merges and rebases never autostash: the stash is shared by every worktree of the building.

use std::path::Path;

use super::{GitCmd, GitError, Repo};
use crate::error::Error;

/// How a worktree's branch is brought up to date with another commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Update {
    /// `git merge --no-edit`.
    Merge,
    /// `git rebase`.
    Rebase,
}

/// Merge or rebase the worktree at `dir` onto `rev`. On failure (a conflict) the operation is aborted,
/// leaving the worktree as it was, and git's error is returned.
pub fn update_onto(dir: &Path, rev: &str, how: Update) -> Result<Result<(), GitError>, Error> {
    let res = match how {
        Update::Rebase => GitCmd::new(dir)?
            .args(["-c", "rebase.autoStash=false", "rebase", "--no-autostash", "--quiet"])
            .end_of_options()
            .arg(rev)
            .run(),
        Update::Merge => GitCmd::new(dir)?
            .args(["-c", "merge.autoStash=false", "merge", "--no-autostash", "--no-edit", "--quiet"])
            .end_of_options()
            .arg(rev)
            .run(),
    };
    if res.is_err() {
        let verb = if how == Update::Rebase { "rebase" } else { "merge" };
        let _ = GitCmd::new(dir)?.args([verb, "--abort"]).run();
    }
    Ok(res)
}

/// The commit checked out in the worktree at `dir`.
pub fn head(dir: &Path) -> Result<String, Error> {
    Ok(GitCmd::new(dir)?.args(["rev-parse", "--verify", "HEAD"]).read()?)
}

/// The tree of the commit `oid` (an id, not user input).
pub fn tree_of(dir: &Path, oid: &str) -> Result<String, Error> {
    Ok(GitCmd::new(dir)?.args(["rev-parse", "--verify", &format!("{oid}^{{tree}}")]).read()?)
}

/// Fast-forward the branch checked out at `dir` to `rev` (files and index follow; local changes that
/// would be overwritten make it fail, touching nothing).
pub fn fast_forward(dir: &Path, rev: &str) -> Result<(), Error> {
    Ok(GitCmd::new(dir)?.args(["merge", "--ff-only", "--quiet"]).end_of_options().arg(rev).run()?)
}

/// Point the worktree's branch, index and files at `rev` (the caller checked it holds no work).
pub fn reset_hard(repo: &Repo, dir: &Path, rev: &str) -> Result<(), Error> {
    Ok(repo.git_in(dir)?.args(["reset", "--hard", "--quiet"]).end_of_options().arg(rev).run()?)
}

/// `git worktree lock --reason <reason>` on the worktree at `path`.
pub fn lock(repo: &Repo, path: &Path, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["worktree", "lock", "--reason", reason]).end_of_options().arg(path).run()?)
}

/// `git worktree unlock` on the worktree at `path`.
pub fn unlock(repo: &Repo, path: &Path) -> Result<(), Error> {
    Ok(repo.git()?.args(["worktree", "unlock"]).end_of_options().arg(path).run()?)
}

/// What changes from tree-ish `from` to tree-ish `to` (ids, not user input), path by path:
/// `(status letter, path)` from `git diff-tree -r --name-status` (`A` added, `D` deleted, `M`, `T`).
pub fn tree_changes(dir: &Path, from: &str, to: &str) -> Result<Vec<(char, String)>, Error> {
    let out = GitCmd::new(dir)?.args(["diff-tree", "-r", "-z", "--name-status", "--no-renames", from, to]).output()?;
    let mut fields = out.split(|b| *b == 0).filter(|f| !f.is_empty());
    let mut v = Vec::new();
    while let (Some(st), Some(p)) = (fields.next(), fields.next()) {
        let letter = st.first().map(|b| *b as char).unwrap_or('?');
        v.push((letter, String::from_utf8_lossy(p).into_owned()));
    }
    Ok(v)
}
