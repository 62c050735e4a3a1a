//! Is a branch in use by an operation in progress in some worktree (a rebase, a bisect)? git itself
//! refuses to move such a branch (`branch -f`, `worktree add`), because the operation will write it back
//! when it ends; commands that move branches by `update-ref` must ask the same question.

use std::path::{Path, PathBuf};

use super::Repo;
use crate::error::Error;

/// Why a branch may not be moved now.
#[derive(Debug, Clone)]
pub struct Busy {
    /// The worktree doing it.
    pub worktree: PathBuf,
    /// `being rebased` or `being bisected`.
    pub what: &'static str,
}

impl Busy {
    /// `main is being rebased in /path`
    pub fn describe(&self, branch: &str) -> String {
        format!("{branch} is {} in {}", self.what, self.worktree.display())
    }
}

fn read_trimmed(p: &Path) -> Option<String> {
    std::fs::read_to_string(p).ok().map(|s| s.trim().to_string())
}

/// The first worktree whose rebase or bisect is on `full` (`refs/heads/…`), if any.
pub fn branch_busy(repo: &Repo, full: &str) -> Result<Option<Busy>, Error> {
    let short = full.strip_prefix("refs/heads/").unwrap_or(full);
    for w in repo.worktrees()? {
        for (file, what) in [("rebase-merge/head-name", "being rebased"), ("rebase-apply/head-name", "being rebased")] {
            if read_trimmed(&w.git_dir.join(file)).as_deref() == Some(full) {
                return Ok(Some(Busy { worktree: w.path.clone(), what }));
            }
        }
        // BISECT_START holds the branch bisect will return to, by its short name.
        if read_trimmed(&w.git_dir.join("BISECT_START")).is_some_and(|b| b == short || b == full) {
            return Ok(Some(Busy { worktree: w.path.clone(), what: "being bisected" }));
        }
    }
    Ok(None)
}
