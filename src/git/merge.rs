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

/// One path a merge would leave conflicted, with the type git gives the conflict (`contents`,
/// `modify/delete`, `rename/delete`, ...: the stable `CONFLICT (<type>)` string of `merge-tree --messages`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Conflict {
    /// The conflicted path.
    pub path: String,
    /// The conflict's type, when git named one for this path.
    pub kind: Option<String>,
}

/// Would merging trees (or commits) `ours` and `theirs` over `base` (a tree or commit) conflict, and on
/// which paths? A real three-way merge in memory (`merge-tree --write-tree -z --name-only --messages
/// --merge-base`): nothing is checked out, only the merged objects are written. Decided on the exit code
/// (0 clean, 1 conflicted); the paths are read from the `-z` listing. Runs from `common_dir`, without a
/// [`Repo`], so worker threads can call it. Needs git ≥ 2.40 (trees with an explicit merge base).
pub fn conflicts_between(common_dir: &Path, base: &str, ours: &str, theirs: &str) -> Result<Vec<Conflict>, Error> {
    let (code, out, err) = super::GitCmd::new(common_dir)?
        .args(["merge-tree", "--write-tree", "-z", "--name-only", "--messages"])
        .arg(format!("--merge-base={base}"))
        .end_of_options()
        .args([ours, theirs])
        .answer()?;
    match code {
        Some(0) => Ok(Vec::new()),
        Some(1) => {
            let conflicts = parse_conflicts(&out);
            if conflicts.is_empty() {
                // Conflicted without a path of its own (git names none): still a conflict.
                return Ok(vec![Conflict { path: String::new(), kind: None }]);
            }
            Ok(conflicts)
        }
        _ => Err(Error::new(format!("`git merge-tree` failed: {}", err.trim().lines().next().unwrap_or_default()))
            .hint("conflicts needs git 2.40 or newer (`git merge-tree --merge-base` with trees)")),
    }
}

/// The conflicted paths of `merge-tree --write-tree -z --name-only --messages` output: the tree, the
/// paths (one per field) up to an empty field, then messages as `<n> NUL <path>×n NUL <type> NUL <text>
/// NUL`; a `CONFLICT (<type>)` message names the type of each of its paths' conflict.
pub fn parse_conflicts(out: &[u8]) -> Vec<Conflict> {
    let mut fields = out.split(|b| *b == 0).map(|f| String::from_utf8_lossy(f).into_owned());
    let _tree = fields.next();
    let mut conflicts: Vec<Conflict> = Vec::new();
    for f in fields.by_ref() {
        if f.is_empty() {
            break;
        }
        if !conflicts.iter().any(|c| c.path == f) {
            conflicts.push(Conflict { path: f, kind: None });
        }
    }
    while let Some(n) = fields.next() {
        let Ok(n) = n.trim().parse::<usize>() else { break };
        let paths: Vec<String> = fields.by_ref().take(n).collect();
        let (Some(kind), Some(_text)) = (fields.next(), fields.next()) else { break };
        let Some(kind) = kind.strip_prefix("CONFLICT (").and_then(|k| k.strip_suffix(')')) else { continue };
        for p in paths {
            if let Some(c) = conflicts.iter_mut().find(|c| c.path == p && c.kind.is_none()) {
                c.kind = Some(kind.to_string());
            }
        }
    }
    conflicts
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `-z` listing of a conflicted `merge-tree` (as git 2.47 prints it): paths, then messages whose
    /// `CONFLICT (<type>)` names each path's conflict; `Auto-merging` messages name none.
    #[test]
    fn parses_conflicted_paths_and_their_types() {
        let out = b"b7c2\0f\0g\0\x001\0f\0Auto-merging\0Auto-merging f\n\0\
                    1\0f\0CONFLICT (contents)\0CONFLICT (content): Merge conflict in f\n\0\
                    1\0g\0CONFLICT (modify/delete)\0CONFLICT (modify/delete): g deleted in a\n\0";
        let c = parse_conflicts(out);
        assert_eq!(
            c,
            vec![
                Conflict { path: "f".into(), kind: Some("contents".into()) },
                Conflict { path: "g".into(), kind: Some("modify/delete".into()) },
            ]
        );
        assert!(parse_conflicts(b"b7c2\0").is_empty());
    }
}
