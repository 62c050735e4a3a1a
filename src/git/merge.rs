//! Merging without a stash: the merge base of two commits, a three-way merge of trees done in memory
//! (nothing checked out), and a rebase that never autostashes whatever the config says, with the paths it
//! left unmerged and its abort.

use std::path::Path;

use super::commit::with_identity;
use super::{GitError, Repo};
use crate::error::Error;

/// The best common ancestor of `a` and `b`, or `None` when they share no history (`merge-base` exit 1).
pub fn merge_base(repo: &Repo, a: &str, b: &str) -> Result<Option<String>, Error> {
    let (code, out, err) = repo.git()?.arg("merge-base").end_of_options().args([a, b]).answer()?;
    match code {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out).trim().to_string())),
        Some(1) => Ok(None),
        _ => Err(Error::new(format!("cannot find the merge base of {a} and {b}: {}", err.trim()))),
    }
}

/// `theirs` merged into `ours` over `base`, in memory (`merge-tree --write-tree`): the merged tree, or the
/// conflicting paths (exit 1, read from the `-z` listing).
pub fn merge_trees(
    repo: &Repo,
    dir: &Path,
    base: &str,
    ours: &str,
    theirs: &str,
) -> Result<Result<String, Vec<String>>, Error> {
    let (code, out, err) = repo
        .git_in(dir)?
        .args(["merge-tree", "--write-tree", "--name-only", "--no-messages", "-z"])
        .arg(format!("--merge-base={base}"))
        .end_of_options()
        .args([ours, theirs])
        .answer()?;
    let mut fields = out.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned());
    let tree = fields.next().unwrap_or_default();
    match code {
        Some(0) => Ok(Ok(tree)),
        Some(1) => {
            let mut paths: Vec<String> = fields.filter(|f| !f.is_empty()).collect();
            paths.dedup();
            Ok(Err(paths))
        }
        _ => Err(Error::new(format!("`git merge-tree` failed: {}", err.trim()))),
    }
}

/// Rebase the branch checked out at `dir` onto `onto` with autostash, update-refs and autosquash off
/// whatever the config says, no editor, and an identity that always works. A failed rebase (a conflict)
/// is left in progress for the caller to inspect and [`abort_rebase`].
pub fn rebase(repo: &Repo, dir: &Path, onto: &str) -> Result<Result<(), GitError>, Error> {
    Ok(with_identity(repo, repo.git_in(dir)?)
        .env("GIT_EDITOR", "true")
        .args(["-c", "rebase.autoStash=false", "-c", "rebase.updateRefs=false", "-c", "rebase.autoSquash=false"])
        .args(["rebase", "--no-autostash", "--quiet"])
        .end_of_options()
        .arg(onto)
        .run())
}

/// The paths the index of the worktree at `dir` holds unmerged (`diff --diff-filter=U`, `-z`).
pub fn unmerged_paths(repo: &Repo, dir: &Path) -> Result<Vec<String>, Error> {
    let out = repo.git_in(dir)?.args(["diff", "--name-only", "-z", "--diff-filter=U"]).output()?;
    Ok(out.split(|b| *b == 0).filter(|p| !p.is_empty()).map(|p| String::from_utf8_lossy(p).into_owned()).collect())
}

/// `git rebase --abort` in the worktree at `dir`: HEAD, index and files go back to before the rebase.
pub fn abort_rebase(repo: &Repo, dir: &Path) -> Result<(), GitError> {
    repo.git_in(dir).map_err(|e| GitError::not_started("rebase --abort", e))?.args(["rebase", "--abort"]).run()
}

/// Are all of `tip`'s changes already in `base`, although `tip` itself is not (a squash or rebase merge)?
/// Yes when merging `tip` into `base` gives `base`'s own tree (`merge-tree --write-tree`, git ≥ 2.38), or
/// when every commit of `tip` has a patch-id equivalent in `base` (`cherry`, lines `-`). Anything git
/// cannot answer counts as no.
pub fn integrated(repo: &Repo, base: &str, tip: &str) -> Result<bool, Error> {
    let base_tree = super::revs::trees_of(repo, &[base])?.into_iter().next().unwrap_or_default();
    let (code, out, _) = repo
        .git_common()?
        .args(["merge-tree", "--write-tree", "--no-messages", "-z"])
        .end_of_options()
        .args([base, tip])
        .answer()?;
    let merged = out.split(|b| *b == 0).next().map(|t| String::from_utf8_lossy(t).trim().to_string());
    if code == Some(0) && !base_tree.is_empty() && merged.as_deref() == Some(base_tree.as_str()) {
        return Ok(true);
    }
    let (code, out, _) = repo.git_common()?.arg("cherry").end_of_options().args([base, tip]).answer()?;
    let text = String::from_utf8_lossy(&out);
    Ok(code == Some(0) && text.lines().next().is_some() && text.lines().all(|l| l.starts_with("- ")))
}
