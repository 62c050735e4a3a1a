//! Questions about refs and commits that commands and doctor ask: which refs contain a commit, what the
//! shared stash holds, what a commit changed.

use super::Repo;
use crate::error::Error;

/// Every ref under `namespaces` (e.g. `refs/heads`) whose history contains `commit`.
pub fn refs_containing(repo: &Repo, commit: &str, namespaces: &[&str]) -> Result<Vec<String>, Error> {
    let out = repo
        .git()?
        .args(["for-each-ref", "--format=%(refname)", "--contains", commit])
        .end_of_options()
        .args(namespaces)
        .read()?;
    Ok(out.lines().map(str::to_string).collect())
}

/// The shared stash's entries, newest first: `(commit, selector such as stash@{0}, subject)`.
pub fn stash_entries(repo: &Repo) -> Result<Vec<(String, String, String)>, Error> {
    let out = repo.git()?.args(["log", "-g", "--format=%H%x00%gd%x00%gs", "refs/stash", "--"]).read()?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut p = l.split('\0');
            Some((p.next()?.to_string(), p.next()?.to_string(), p.next()?.to_string()))
        })
        .collect())
}

/// What `commit` is and changed, for a person: its id, date, message and `--stat` against its first
/// parent.
pub fn describe_commit(repo: &Repo, commit: &str) -> Result<String, Error> {
    Ok(repo
        .git()?
        .args(["show", "-m", "--first-parent", "--stat", "--format=commit %H%nDate: %cI%n%n%B"])
        .arg(commit)
        .arg("--")
        .read()?)
}

/// Create `full_ref` at `commit`, failing if it exists (compare-and-swap against "absent").
pub fn create_ref(repo: &Repo, full_ref: &str, commit: &str, reason: &str) -> Result<(), Error> {
    let zero = "0".repeat(commit.len());
    Ok(repo.git()?.args(["update-ref", "-m", reason]).end_of_options().args([full_ref, commit, &zero]).run()?)
}

/// The commit `spec` names (an id or a ref, resolved by git in the common dir).
pub fn commit_of(repo: &Repo, spec: &str) -> Result<String, Error> {
    Ok(repo.git_common()?.args(["rev-parse", "--verify"]).arg(format!("{spec}^{{commit}}")).read()?)
}
