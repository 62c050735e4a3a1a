//! Ref updates that never lose a race silently: every move and deletion is a compare-and-swap.

use super::Repo;
use crate::error::Error;

/// Delete `full_ref` only if it still points at `old` (a concurrent update makes it fail, deleting nothing).
pub fn delete_cas(repo: &Repo, full_ref: &str, old: &str, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["update-ref", "-m", reason, "-d"]).end_of_options().args([full_ref, old]).run()?)
}

/// Move `full_ref` from `old` to `new`; fails (and changes nothing) if it is no longer at `old`.
pub fn update_cas(repo: &Repo, full_ref: &str, new: &str, old: &str, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["update-ref", "-m", reason]).end_of_options().args([full_ref, new, old]).run()?)
}

/// Refuse a branch name git's own `git branch` refuses, or one that would not name what the user meant:
/// anything `git check-ref-format --branch` rejects, `HEAD`, `@` and `@{…}` (git reads them as revisions),
/// names starting with `-`, and `refs/…` (which would become `refs/heads/refs/…`).
pub fn validate_branch_name(branch: &str) -> Result<(), Error> {
    let why = if branch.is_empty() {
        Some("it is empty")
    } else if branch.starts_with('-') {
        Some("it starts with '-'")
    } else if branch == "HEAD" || branch == "@" || branch.contains("@{") {
        Some("git reads it as a revision, not a branch")
    } else if branch.starts_with("refs/") {
        Some("it is a full ref name; give the short name (without refs/heads/)")
    } else if gix::refs::FullName::try_from(format!("refs/heads/{branch}").as_str()).is_err() {
        Some("git check-ref-format refuses it")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::usage(format!("'{branch}' is not a valid branch name: {why}"))
            .hint("pass another name; `git check-ref-format --branch <name>` checks one")),
    }
}
