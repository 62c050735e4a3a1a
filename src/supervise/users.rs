//! Who may still be using a git file that looks abandoned (an `index.lock`, a temp index copy).
//!
//! An open descriptor is not the only evidence: `git commit` writes `index.lock`, closes it, and runs its
//! hooks and the editor (with `GIT_INDEX_FILE` pointing at the lock) before reading it back. So a file
//! counts as in use while any other process holds it open or names it in `GIT_INDEX_FILE`, or while a git
//! other than our ancestors (the `git` that dispatched us waits for us) works inside the worktree.

use std::path::{Path, PathBuf};

/// A process that may be using the file, and why we think so.
#[derive(Debug, Clone)]
pub struct User {
    /// Its pid.
    pub pid: u32,
    /// Its command name.
    pub comm: String,
    /// The evidence.
    pub why: &'static str,
}

impl User {
    /// `pid 123 (git): has it open`
    pub fn describe(&self) -> String {
        format!("pid {} ({}) {}", self.pid, self.comm, self.why)
    }
}

/// The first process that may be using `file`, where `worktree` is the worktree the file belongs to.
/// `Err(())` when the system shows no processes (no `/proc`): the caller cannot tell.
#[allow(clippy::result_unit_err)]
pub fn user_of(file: &Path, worktree: Option<&Path>) -> Result<Option<User>, ()> {
    let procs = std::fs::read_dir("/proc").map_err(drop)?;
    let target = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let tree = worktree.map(|w| std::fs::canonicalize(w).unwrap_or_else(|_| w.to_path_buf()));
    let me = std::process::id();
    let ancestors = super::proc::ancestor_pids();
    for p in procs.flatten() {
        let Some(pid) = p.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else { continue };
        if pid == me {
            continue;
        }
        let dir = p.path();
        let comm = std::fs::read_to_string(dir.join("comm")).map(|c| c.trim().to_string()).unwrap_or_default();
        let user = |why| Some(User { pid, comm: comm.clone(), why });
        if let Ok(fds) = std::fs::read_dir(dir.join("fd"))
            && fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == target))
        {
            return Ok(user("has it open"));
        }
        let cwd = std::fs::read_link(dir.join("cwd")).ok();
        if let Ok(env) = std::fs::read(dir.join("environ"))
            && env.split(|b| *b == 0).any(|kv| names(kv, &target, cwd.as_deref()))
        {
            return Ok(user("runs with it as GIT_INDEX_FILE"));
        }
        if let (Some(tree), Some(cwd)) = (&tree, &cwd)
            && comm.starts_with("git")
            && comm != "git-neighbor"
            && !ancestors.contains(&pid)
            && cwd.starts_with(tree)
        {
            return Ok(user("is a git working in that worktree"));
        }
    }
    Ok(None)
}

fn names(kv: &[u8], target: &Path, cwd: Option<&Path>) -> bool {
    let Some(v) = kv.strip_prefix(b"GIT_INDEX_FILE=") else { return false };
    let v = PathBuf::from(String::from_utf8_lossy(v).into_owned());
    let v = if v.is_absolute() { v } else { cwd.map(|c| c.join(&v)).unwrap_or(v) };
    std::fs::canonicalize(&v).unwrap_or(v) == target
}
