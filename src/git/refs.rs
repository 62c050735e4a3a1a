//! Ref updates that never lose a race silently: every move and deletion is a compare-and-swap.

use super::Repo;
use crate::error::Error;

/// Apply `commands` (`update-ref --stdin` lines: `update`, `create`, `delete`, `verify`, each with its
/// expected old value) as one all-or-nothing transaction.
pub fn transaction(repo: &Repo, reason: Option<&str>, commands: &str) -> Result<(), super::GitError> {
    let mut cmd = repo.git().map_err(|e| super::GitError::not_started("update-ref", e))?.arg("update-ref");
    if let Some(r) = reason {
        cmd = cmd.args(["-m", r]);
    }
    cmd.arg("--stdin").stdin(commands.as_bytes().to_vec()).run()
}

/// Every ref under `prefix` with what it points at: `(full name, object id)`, in name order.
pub fn under(repo: &Repo, prefix: &str) -> Result<Vec<(String, String)>, Error> {
    let out = repo
        .git()?
        .args(["for-each-ref", "--format=%(refname)%00%(objectname)"])
        .end_of_options()
        .arg(prefix)
        .read()?;
    Ok(out.lines().filter_map(|l| l.split_once('\0')).map(|(r, o)| (r.to_string(), o.to_string())).collect())
}

/// How many entries `full_ref`'s reflog holds (the stash's entries are its reflog), read from the file.
pub fn reflog_len(repo: &Repo, full_ref: &str) -> usize {
    std::fs::read_to_string(repo.common_dir.join("logs").join(full_ref)).map(|t| t.lines().count()).unwrap_or(0)
}

/// Delete `full_ref` only if it still points at `old` (a concurrent update makes it fail, deleting nothing).
pub fn delete_cas(repo: &Repo, full_ref: &str, old: &str, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["update-ref", "-m", reason, "-d"]).end_of_options().args([full_ref, old]).run()?)
}

/// Move `full_ref` from `old` to `new`; fails (and changes nothing) if it is no longer at `old`.
pub fn update_cas(repo: &Repo, full_ref: &str, new: &str, old: &str, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["update-ref", "-m", reason]).end_of_options().args([full_ref, new, old]).run()?)
}
