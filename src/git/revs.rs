//! Commit-graph questions answered in-process (gix): what a worktree has checked out, and how far two
//! commits have diverged.

use std::path::Path;

use super::Repo;

/// The commit checked out in the worktree whose private git dir is `git_dir` (a branch's tip, or a
/// detached HEAD); `None` when HEAD names an unborn branch or cannot be read.
pub fn head_of(repo: &Repo, git_dir: &Path) -> Option<gix::ObjectId> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    let head = head.trim();
    match head.strip_prefix("ref: ") {
        Some(r) => repo.ref_target(r.trim()),
        None => gix::ObjectId::from_hex(head.as_bytes()).ok(),
    }
}

/// The newest commit on `tip`'s first-parent line whose message has a line matching `grep` (a regular
/// expression, as `git log --grep`), if any.
pub fn first_parent_matching(repo: &Repo, tip: &str, grep: &str) -> Result<Option<String>, crate::error::Error> {
    let id = repo
        .git()?
        .args(["log", "-1", "--first-parent", "--format=%H"])
        .arg(format!("--grep={grep}"))
        .arg(tip)
        .arg("--")
        .read()?;
    Ok(Some(id).filter(|s| !s.is_empty()))
}

/// Whether `oid` names a commit this repository has (or a tag of one).
pub fn has_commit(repo: &Repo, oid: &str) -> bool {
    gix::ObjectId::from_hex(oid.as_bytes())
        .ok()
        .and_then(|id| repo.gix.find_object(id).ok())
        .is_some_and(|o| o.peel_to_commit().is_ok())
}

/// The patches (`log -p -U0`, each commit introduced by a `commit <id>` line) of the commits reachable from
/// `tip` and from none of `not` (`--remotes=<name>` style arguments are accepted there too).
pub fn patches(repo: &Repo, tip: &str, not: &[String]) -> Result<Vec<u8>, crate::error::Error> {
    Ok(repo
        .git()?
        .args(["log", "-p", "-U0", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames"])
        .args(["--format=commit %H", tip, "--not"])
        .args(not)
        .arg("--")
        .output()?)
}

/// `commit`'s tree and parents (in order), asked from the common dir.
pub fn tree_and_parents(repo: &Repo, commit: &str) -> Result<(String, Vec<String>), crate::error::Error> {
    let out =
        repo.git_common()?.args(["show", "-s", "--format=%T%x00%P"]).end_of_options().args([commit, "--"]).read()?;
    let (tree, parents) = out.split_once('\0').unwrap_or((out.as_str(), ""));
    Ok((tree.to_string(), parents.split_whitespace().map(str::to_string).collect()))
}

/// The trees of `commits` (ids, not user input), in order, asked from the common dir.
pub fn trees_of(repo: &Repo, commits: &[impl AsRef<str>]) -> Result<Vec<String>, crate::error::Error> {
    if commits.is_empty() {
        return Ok(Vec::new());
    }
    let out =
        repo.git_common()?.arg("rev-parse").args(commits.iter().map(|c| format!("{}^{{tree}}", c.as_ref()))).read()?;
    Ok(out.lines().map(str::to_string).collect())
}

/// [`is_ancestor`] asked from the common dir (works while the current worktree is being removed).
pub fn is_ancestor_common(repo: &Repo, ancestor: &str, descendant: &str) -> Result<bool, crate::error::Error> {
    Ok(repo.git_common()?.args(["merge-base", "--is-ancestor", ancestor, descendant]).succeeds()?)
}

/// Whether `ancestor` is reachable from `descendant` (`merge-base --is-ancestor`).
pub fn is_ancestor(repo: &Repo, ancestor: &str, descendant: &str) -> Result<bool, crate::error::Error> {
    Ok(repo.git()?.args(["merge-base", "--is-ancestor", ancestor, descendant]).succeeds()?)
}

/// `(ahead, behind)`: commits reachable from `ours` and not `theirs`, and the reverse (what
/// `git rev-list --left-right --count ours...theirs` prints).
pub fn ahead_behind(repo: &Repo, ours: gix::ObjectId, theirs: gix::ObjectId) -> Option<(u64, u64)> {
    let count = |from: gix::ObjectId, hidden: gix::ObjectId| -> Option<u64> {
        let walk = repo.gix.rev_walk([from]).with_hidden([hidden]).all().ok()?;
        walk.into_iter().try_fold(0u64, |n, c| c.ok().map(|_| n + 1))
    };
    Some((count(ours, theirs)?, count(theirs, ours)?))
}

/// Commits reachable from `tips` and from none of `not`, walked in-process; `None` when the walk fails
/// (a missing object, say: the caller then asks git).
pub fn count_only_on(repo: &Repo, tips: &[gix::ObjectId], not: &[gix::ObjectId]) -> Option<u64> {
    // A tip that is itself one of the excluded commits has nothing of its own (a tenant still at its
    // base, the common case for prune): no walk.
    if tips.iter().all(|t| not.contains(t)) {
        return Some(0);
    }
    let walk = repo.gix.rev_walk(tips.iter().copied()).with_hidden(not.iter().copied()).all().ok()?;
    walk.into_iter().try_fold(0u64, |n, c| c.ok().map(|_| n + 1))
}

/// The best common ancestor of commits `a` and `b`, walked in-process (`None`: no shared history, or the
/// walk failed).
pub fn merge_base_of(repo: &Repo, a: gix::ObjectId, b: gix::ObjectId) -> Option<gix::ObjectId> {
    if a == b {
        return Some(a);
    }
    repo.gix.merge_base(a, b).ok().flatten().map(|id| id.detach())
}

/// The tree of commit `commit`, read in-process.
pub fn tree_of(repo: &Repo, commit: gix::ObjectId) -> Option<gix::ObjectId> {
    repo.gix.find_commit(commit).ok()?.tree_id().ok().map(|id| id.detach())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    #[test]
    fn ahead_behind_equals_rev_list() {
        let f = Fixture::new();
        f.git(&["checkout", "-q", "-b", "side"]);
        for i in 0..3 {
            f.write("side.txt", &i.to_string());
            f.git(&["commit", "-qam", "side", "--allow-empty"]);
            if i == 0 {
                f.git(&["add", "side.txt"]);
                f.git(&["commit", "-qm", "add side"]);
            }
        }
        f.git(&["checkout", "-q", "main"]);
        f.write("main.txt", "m");
        f.git(&["add", "main.txt"]);
        f.git(&["commit", "-qm", "main"]);
        let ctx = f.ctx();
        let side = ctx.repo.ref_target("refs/heads/side").unwrap();
        let main = ctx.repo.ref_target("refs/heads/main").unwrap();
        let git = f.git(&["rev-list", "--left-right", "--count", "side...main"]);
        let mut it = git.split_whitespace().map(|n| n.parse::<u64>().unwrap());
        assert_eq!(ahead_behind(&ctx.repo, side, main), Some((it.next().unwrap(), it.next().unwrap())));
        assert_eq!(head_of(&ctx.repo, &ctx.repo.git_dir), Some(main));
        let only: u64 = f.git(&["rev-list", "--count", "side", "--not", "main"]).parse().unwrap();
        assert_eq!(count_only_on(&ctx.repo, &[side], &[main]), Some(only));
        assert_eq!(count_only_on(&ctx.repo, &[main], &[side, main]), Some(0));
    }
}
