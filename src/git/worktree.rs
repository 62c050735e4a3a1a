//! Porcelain run inside one worktree (bring it up to date, read its HEAD, move its branch) and what git's
//! worktree metadata says about one: which branch it has checked out (also while a rebase or bisect holds
//! it detached), and forgetting a worktree by its admin dir.
//!
//! Merges and rebases never autostash: the stash is shared by every worktree of the building.

use std::path::{Path, PathBuf};

use super::{GitCmd, GitError, Repo, WorktreeInfo, read_head_branch};
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

/// The branch (`refs/heads/…`) a worktree's git dir has checked out: HEAD's target, or the branch a rebase
/// or bisect in progress will return to. `None` when detached for no such reason.
pub fn checked_out(git_dir: &Path) -> Option<String> {
    if let Some(b) = read_head_branch(git_dir) {
        return Some(b);
    }
    for f in ["rebase-merge/head-name", "rebase-apply/head-name"] {
        if let Ok(s) = std::fs::read_to_string(git_dir.join(f))
            && s.trim().starts_with("refs/heads/")
        {
            return Some(s.trim().to_string());
        }
    }
    let bisect = std::fs::read_to_string(git_dir.join("BISECT_START")).ok()?;
    let b = bisect.trim();
    (!b.is_empty() && !b.chars().all(|c| c.is_ascii_hexdigit())).then(|| format!("refs/heads/{b}"))
}

/// Worktrees (other than `except`, a path) that have `full` checked out, as git would refuse to move it.
pub fn holding(repo: &Repo, full: &str, except: Option<&Path>) -> Result<Vec<WorktreeInfo>, Error> {
    Ok(repo
        .worktrees()?
        .into_iter()
        .filter(|w| except != Some(w.path.as_path()))
        .filter(|w| checked_out(&w.git_dir).as_deref() == Some(full))
        .collect())
}

/// The admin dir of linked worktree `id`.
pub fn admin_dir(repo: &Repo, id: &str) -> PathBuf {
    repo.common_dir.join("worktrees").join(id)
}

/// Forget a linked worktree as `git worktree prune` would: delete its admin dir (idempotent).
pub fn forget(repo: &Repo, id: &str) -> Result<(), Error> {
    let admin = admin_dir(repo, id);
    match std::fs::remove_dir_all(&admin) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::new(format!("cannot remove {}: {e}", admin.display()))
            .hint("check its permissions, then run `git neighbor prune`")),
    }
}

/// The commit a worktree's HEAD names, read in its admin dir `git_dir` (wherever that dir is now): the
/// branch's tip when HEAD is symbolic, the id itself when detached; `None` when unreadable.
pub fn head_commit_of(repo: &Repo, git_dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let text = text.trim();
    match text.strip_prefix("ref: ") {
        // Through the common dir: the process's own repository may be the worktree whose admin dir this is.
        Some(r) => repo
            .git_common()
            .ok()?
            .args(["rev-parse", "--verify", "-q", "--end-of-options", r])
            .read()
            .ok()
            .filter(|h| !h.is_empty()),
        None => Some(text.to_string()).filter(|s| s.len() >= 40 && s.bytes().all(|b| b.is_ascii_hexdigit())),
    }
}

/// Move linked worktree `id`'s admin dir to `to` (a path under the common dir, so one rename): from then
/// on no git command finds that worktree, and none can commit through it. `Ok(false)` when it is gone.
pub fn set_aside(repo: &Repo, id: &str, to: &Path) -> Result<bool, Error> {
    match std::fs::rename(admin_dir(repo, id), to) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::new(format!("cannot set {} aside: {e}", admin_dir(repo, id).display()))
            .hint("check the permissions of the git directory; nothing was deleted")),
    }
}

/// Put back an admin dir [`set_aside`] moved to `from`.
pub fn put_back_aside(repo: &Repo, id: &str, from: &Path) -> Result<(), Error> {
    std::fs::rename(from, admin_dir(repo, id)).map_err(|e| {
        Error::new(format!(
            "cannot put git's worktree {} back from {}: {e}",
            admin_dir(repo, id).display(),
            from.display()
        ))
        .hint("move that directory back by hand (nothing was deleted), then run `git neighbor prune`")
    })
}

/// Move the worktree at `dir`, whose HEAD is on branch `full` at `from`, to commit `to`: the branch by
/// compare-and-swap against `from`, then the index and files by git's two-tree merge, which refuses to
/// touch a file that differs from `from` (and keeps unrelated local changes). `Ok(false)` when anything
/// changed since `from` was checked: then nothing was moved (the branch is put back).
pub fn move_checked(repo: &Repo, dir: &Path, full: &str, from: &str, to: &str) -> Result<bool, Error> {
    if super::refs::oid_of(repo, full)?.as_deref() != Some(from) {
        return Ok(false);
    }
    let cas =
        repo.git_common()?.args(["update-ref", "-m", "git-neighbor: reset to base", full, to, from]).succeeds()?;
    if !cas {
        return Ok(false);
    }
    let merged = repo.git_in(dir)?.args(["read-tree", "-m", "-u", from, to]).succeeds()?;
    if !merged {
        // A file changed after the check: put the branch back where it was checked (nothing else moved).
        repo.git_common()?.args(["update-ref", "-m", "git-neighbor: reset refused", full, from, to]).run()?;
        return Ok(false);
    }
    Ok(true)
}

/// Finish a [`move_checked`] killed after its branch moved: the index and files of the worktree at `dir`,
/// still exactly `from` (the caller checked), go to `to` by the same two-tree merge.
pub fn finish_move(repo: &Repo, dir: &Path, from: &str, to: &str) -> Result<(), Error> {
    Ok(repo.git_in(dir)?.args(["read-tree", "-m", "-u", from, to]).run()?)
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

/// Files on disk that git was never told about (ignored, so not in `dirty`) and that moving from `head` to
/// `tip` would overwrite or delete: a path `tip` adds that exists here, anything under such a path when it
/// is a directory here, or a non-directory here where `tip` needs a directory. git's own checkout treats
/// ignored files as expendable; safe-pull and merge-frame do not. `tip` may be a tree.
pub fn ignored_in_the_way(wt: &Path, head: &str, tip: &str, dirty: &[String]) -> Result<Vec<String>, Error> {
    use std::collections::BTreeSet;
    let changes = tree_changes(wt, head, tip)?;
    let deleted: BTreeSet<&str> = changes.iter().filter(|(s, _)| *s == 'D').map(|(_, p)| p.as_str()).collect();
    let dirty: BTreeSet<&str> = dirty.iter().map(String::as_str).collect();
    let known = |p: &str| deleted.contains(p) || dirty.contains(p);
    let mut found = BTreeSet::new();
    for (_, added) in changes.iter().filter(|(s, _)| *s == 'A') {
        // Ancestors: a file or link where the new path needs a directory.
        let mut prefix = String::new();
        let parts: Vec<&str> = added.split('/').collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if let Ok(m) = std::fs::symlink_metadata(wt.join(&prefix))
                && !m.is_dir()
                && !known(&prefix)
            {
                found.insert(prefix.clone());
            }
        }
        match std::fs::symlink_metadata(wt.join(added)) {
            Ok(m) if m.is_dir() => {
                let mut stack = vec![added.clone()];
                while let Some(d) = stack.pop() {
                    for e in std::fs::read_dir(wt.join(&d)).into_iter().flatten().flatten() {
                        let rel = format!("{d}/{}", e.file_name().to_string_lossy());
                        if e.file_type().is_ok_and(|t| t.is_dir()) {
                            stack.push(rel);
                        } else if !known(&rel) {
                            found.insert(rel);
                        }
                    }
                }
            }
            Ok(_) if !known(added) => {
                found.insert(added.clone());
            }
            _ => {}
        }
    }
    Ok(found.into_iter().collect())
}

/// `git worktree add --detach <path> <commit>`: a scratch worktree on no branch (the merge queue tests
/// its speculative commits in these).
pub fn add_detached(repo: &Repo, path: &Path, commit: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["worktree", "add", "--detach", "--quiet"]).end_of_options().arg(path).arg(commit).run()?)
}

/// Point the detached scratch worktree at `dir` to `commit`: HEAD, index and files, and the untracked files
/// a previous use left removed (ignored ones, a build cache, stay, and so do the paths in `keep`: files
/// `add` carried into a pool tenant). Only for worktrees that hold no one's work.
pub fn switch_detached(dir: &Path, commit: &str, keep: &[String]) -> Result<(), Error> {
    GitCmd::new(dir)?.args(["checkout", "--detach", "--force", "--quiet"]).end_of_options().arg(commit).run()?;
    clean_keeping(dir, keep)
}

/// `git clean -ffdq`, with each path in `keep` (relative to `dir`) excluded as a literal, anchored pattern.
fn clean_keeping(dir: &Path, keep: &[String]) -> Result<(), Error> {
    let mut cmd = GitCmd::new(dir)?.args(["clean", "-ffdq"]);
    for p in keep {
        cmd = cmd.arg("-e").arg(literal_pattern(p));
    }
    Ok(cmd.run()?)
}

/// A gitignore pattern that matches exactly the path `p` from the worktree's top.
fn literal_pattern(p: &str) -> String {
    let mut out = String::from("/");
    let body = p.trim_end_matches(' ');
    for c in body.chars() {
        if matches!(c, '\\' | '*' | '?' | '[') {
            out.push('\\');
        }
        out.push(c);
    }
    for _ in 0..p.len() - body.len() {
        out.push_str("\\ ");
    }
    out
}

/// `git worktree remove --force <path>`: remove a scratch worktree (one made by [`add_detached`]).
pub fn remove_scratch(repo: &Repo, path: &Path) -> Result<(), Error> {
    Ok(repo.git()?.args(["worktree", "remove", "--force"]).end_of_options().arg(path).run()?)
}

/// Put the worktree at `dir` back on its branch `branch` (a short name, `refs/heads/` stripped): HEAD,
/// index and files at the branch tip, untracked files removed (ignored ones stay). Only for worktrees whose
/// uncommitted work was saved or is the caller's own (a pool tenant the merge queue tested in). The paths
/// in `keep` (files `add` carried in) are not cleaned.
pub fn attach_branch(dir: &Path, branch: &str, keep: &[String]) -> Result<(), Error> {
    GitCmd::new(dir)?.args(["checkout", "--force", "--quiet", "--end-of-options", branch, "--"]).run()?;
    clean_keeping(dir, keep)
}
