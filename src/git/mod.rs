//! The one door to git: gix for in-process reads, and one subprocess builder for the porcelain gix lacks.
//!
//! Nothing else in the crate touches `std::process::Command` to run git, and the builders that take raw
//! arguments from a `Repo` (`git`, `git_in`, `git_common`) are visible only inside this module, so every
//! git argv stays behind a named function here. Every subprocess error keeps the
//! arguments and git's stderr, so a failure says exactly which git call failed and why.

pub mod blob;
pub mod busy;
pub mod carry;
pub mod checkout;
pub mod cmd;
pub mod commit;
pub mod index_raw;
pub mod merge;
pub mod pack;
pub mod query;
pub mod refs;
pub mod remote;
pub mod revs;
pub mod snapshot;
pub mod status;
pub mod tree;
pub mod worktree;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

pub use cmd::{GitCmd, GitError};

use crate::error::Error;

/// Run a write into the object store again when it fails, three attempts in all. `git gc` removes empty
/// `objects/xx/` directories, and one removed between gix creating it and moving a new loose object into
/// it fails the write ("Could not persist loose object"); git retries there itself. Writing an object
/// again is harmless: the same bytes have the same name.
pub fn retrying_write<T, E>(mut write: impl FnMut() -> Result<T, E>) -> Result<T, E> {
    let mut attempt = 1;
    loop {
        match write() {
            Err(_) if attempt < 3 => attempt += 1,
            done => return done,
        }
    }
}

/// A repository as git-neighbor sees it: the building's paths and a gix handle for reads.
pub struct Repo {
    /// gix handle opened at the current directory.
    pub gix: gix::Repository,
    /// `$(git rev-parse --git-common-dir)`, absolute.
    pub common_dir: PathBuf,
    /// This worktree's private git dir, absolute.
    pub git_dir: PathBuf,
    /// This worktree's root, if not bare.
    pub workdir: Option<PathBuf>,
    /// The main worktree, if the repository is not bare.
    pub main_worktree: Option<PathBuf>,
    /// Ref reads remembered while [`Repo::with_ref_memo`] runs (`None` otherwise: every read goes to disk).
    ref_memo: Mutex<Option<HashMap<String, Option<gix::ObjectId>>>>,
}

/// One worktree of the building, read from git's metadata.
#[derive(Debug, Clone)]
pub struct WorktreeInfo {
    /// Absolute root path.
    pub path: PathBuf,
    /// Admin id under `<common>/worktrees/` (`None` for the main worktree).
    pub id: Option<String>,
    /// Its private git dir.
    pub git_dir: PathBuf,
    /// `refs/heads/...` if on a branch.
    pub branch: Option<String>,
    /// Lock reason, if locked (empty string for a reasonless lock).
    pub locked: Option<String>,
    /// Whether the root directory exists.
    pub exists: bool,
}

fn absolute(p: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir().map(|c| c.join(p)).unwrap_or_else(|_| p.to_path_buf())
    };
    // Canonicalise when possible so paths compare equal however they were reached (symlinked tmp dirs).
    std::fs::canonicalize(&p).unwrap_or(p)
}

impl Repo {
    /// Find the repository containing `dir`.
    pub fn discover(dir: &Path) -> Result<Self, Error> {
        let gix = gix::discover(dir).map_err(|e| {
            Error::new(format!("not in a git repository ({}): {e}", dir.display()))
                .hint("run git neighbor inside a repository, or pass -C <path>")
        })?;
        let common_dir = absolute(gix.common_dir());
        let git_dir = absolute(gix.git_dir());
        let workdir = gix.workdir().map(absolute);
        let bare = gix.config_snapshot().boolean("core.bare").unwrap_or(false);
        let main_worktree = if gix.kind() == gix::repository::Kind::LinkedWorkTree || workdir.is_none() {
            if bare { None } else { common_dir.parent().map(Path::to_path_buf) }
        } else {
            workdir.clone()
        };
        Ok(Repo { gix, common_dir, git_dir, workdir, main_worktree, ref_memo: Mutex::new(None) })
    }

    /// git-neighbor's shared state directory.
    pub fn state_dir(&self) -> PathBuf {
        self.common_dir.join("neighbor")
    }

    /// Where git commands about the building run from (the current worktree, else the common dir).
    pub fn here(&self) -> &Path {
        self.workdir.as_deref().unwrap_or(&self.common_dir)
    }

    /// A git command run in the current worktree (or the bare repository).
    pub(in crate::git) fn git(&self) -> Result<GitCmd, Error> {
        GitCmd::new(self.here())
    }

    /// A git command run inside another worktree.
    pub(in crate::git) fn git_in(&self, dir: &Path) -> Result<GitCmd, Error> {
        GitCmd::new(dir)
    }

    /// The building's name: the main worktree's directory name, or the bare directory's without `.git`.
    pub fn building_name(&self) -> String {
        let base = self.main_worktree.as_deref().unwrap_or(&self.common_dir);
        let name = base.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "repo".into());
        name.strip_suffix(".git").map(str::to_string).unwrap_or(name)
    }

    /// The directory relative paths in config are anchored at (main worktree, else the bare dir).
    pub fn anchor_dir(&self) -> &Path {
        self.main_worktree.as_deref().unwrap_or(&self.common_dir)
    }

    /// Resolve a revision to a commit id, and the full ref name it names if it names one.
    pub fn resolve(&self, spec: &str) -> Result<(gix::ObjectId, Option<String>), Error> {
        let bad = |e: &dyn std::fmt::Display| {
            Error::new(format!("cannot resolve base revision '{spec}': {e}"))
                .hint("pass an existing branch, tag or commit with --base")
        };
        if spec == "HEAD" {
            let id = self.gix.head_id().map_err(|e| bad(&e))?.detach();
            let name = self.gix.head_name().ok().flatten().map(|n| n.as_bstr().to_string());
            return Ok((self.peel_commit(id).map_err(|e| bad(&e))?, name));
        }
        let parsed = self.gix.rev_parse(spec).map_err(|e| bad(&e))?;
        let id = parsed.single().ok_or_else(|| bad(&"it names a range, not one commit"))?.detach();
        let (first, _) = parsed.into_references();
        let name = first.map(|r| r.name().as_bstr().to_string());
        Ok((self.peel_commit(id).map_err(|e| bad(&e))?, name))
    }

    fn peel_commit(&self, id: gix::ObjectId) -> Result<gix::ObjectId, String> {
        let obj = self.gix.find_object(id).map_err(|e| e.to_string())?;
        obj.peel_to_commit().map(|c| c.id).map_err(|e| e.to_string())
    }

    /// A config value, read in-process (no `git config` subprocess).
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.gix.config_snapshot().string(key).map(|v| v.to_string()).filter(|s| !s.is_empty())
    }

    /// Every value of a multi-valued config key, in order.
    pub fn config_strings(&self, key: &str) -> Vec<String> {
        self.gix.config_snapshot().strings(key).unwrap_or_default().into_iter().map(|v| v.to_string()).collect()
    }

    /// A boolean config value (`None` when unset or not a boolean).
    pub fn config_bool(&self, key: &str) -> Option<bool> {
        self.gix.config_snapshot().boolean(key)
    }

    /// A path config value with `~` expanded, as `git config --type=path` would give it.
    pub fn config_path(&self, key: &str) -> Option<PathBuf> {
        let raw = self.config_string(key)?;
        match raw.strip_prefix("~/") {
            Some(rest) => std::env::var_os("HOME").map(|h| PathBuf::from(h).join(rest)),
            None => Some(PathBuf::from(raw)),
        }
    }

    /// The repository's default branch: what `origin/HEAD` points at, else the branch checked out
    /// in the main worktree, else `None` (detached, no remote).
    pub fn default_branch(&self) -> Option<String> {
        let symbolic = |name: &str| -> Option<String> {
            let r = self.gix.try_find_reference(name).ok().flatten()?;
            match r.target() {
                gix::refs::TargetRef::Symbolic(t) => Some(t.as_bstr().to_string()),
                gix::refs::TargetRef::Object(_) => None,
            }
        };
        if let Some(t) = symbolic("refs/remotes/origin/HEAD") {
            return t.strip_prefix("refs/remotes/origin/").map(str::to_string);
        }
        // The main worktree's (or the bare repository's) HEAD: a tenant's own branch is not the default.
        read_head_branch(&self.common_dir)?.strip_prefix("refs/heads/").map(str::to_string)
    }

    /// Keep recently read objects in memory (up to `bytes`), for a command that reads the same few
    /// objects many times: `prune` peels every tenant's base and tip, mostly one commit, several times
    /// each, and without this each peel opens and inflates it again. Objects never change, so this is
    /// only a cache; refs are still read afresh each time.
    pub fn cache_objects(&mut self, bytes: usize) {
        self.gix.object_cache_size_if_unset(bytes);
    }

    /// The commit a full ref name points at now, if it exists.
    pub fn ref_target(&self, full_name: &str) -> Option<gix::ObjectId> {
        let key = format!("peeled {full_name}");
        if let Some(hit) = self.memo_get(&key) {
            return hit;
        }
        let found = self.gix.try_find_reference(full_name).ok().flatten().and_then(|mut r| r.peel_to_id().ok());
        let found = found.map(|id| id.detach());
        self.memo_put(key, found);
        found
    }

    /// Run `f` with ref reads remembered: each ref is read from disk at most once while `f` runs, however
    /// often it is asked for. For a pass that only reads, judging many tenants against the same few bases
    /// (prune reads each base once instead of three times a tenant). Nothing that writes refs may run
    /// inside `f`: it would then read what it wrote over. Nested calls share the outer memory.
    pub fn with_ref_memo<R>(&self, f: impl FnOnce() -> R) -> R {
        if self.memo().is_some() {
            return f();
        }
        *self.memo() = Some(HashMap::new());
        let out = f();
        *self.memo() = None;
        out
    }

    fn memo(&self) -> MutexGuard<'_, Option<HashMap<String, Option<gix::ObjectId>>>> {
        self.ref_memo.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What a ref read keyed `key` gave earlier in this [`Repo::with_ref_memo`] (`Some(None)`: not found).
    pub(in crate::git) fn memo_get(&self, key: &str) -> Option<Option<gix::ObjectId>> {
        self.memo().as_ref().and_then(|m| m.get(key).copied())
    }

    /// Remember a ref read, when inside [`Repo::with_ref_memo`].
    pub(in crate::git) fn memo_put(&self, key: String, found: Option<gix::ObjectId>) {
        if let Some(m) = self.memo().as_mut() {
            m.insert(key, found);
        }
    }

    /// Every worktree of the building: main (if any) first, then linked ones in id order.
    pub fn worktrees(&self) -> Result<Vec<WorktreeInfo>, Error> {
        let mut out = Vec::new();
        if let Some(main) = &self.main_worktree {
            out.push(WorktreeInfo {
                path: main.clone(),
                id: None,
                git_dir: self.common_dir.clone(),
                branch: read_head_branch(&self.common_dir),
                locked: None,
                exists: main.exists(),
            });
        }
        let proxies = self.gix.worktrees().map_err(|e| Error::new(format!("cannot list worktrees: {e}")))?;
        let mut linked: Vec<WorktreeInfo> = proxies
            .iter()
            .filter_map(|p| {
                let id = p.id().ok()?.to_string();
                let path = p.base().ok()?;
                let path = if path.is_absolute() { path } else { p.git_dir().join(path) };
                let exists = path.exists();
                let path = if exists { absolute(&path) } else { path };
                Some(WorktreeInfo {
                    branch: read_head_branch(p.git_dir()),
                    locked: p.lock_reason().map(|r| r.to_string()),
                    git_dir: p.git_dir().to_path_buf(),
                    id: Some(id),
                    path,
                    exists,
                })
            })
            .collect();
        linked.sort_by(|a, b| a.id.cmp(&b.id));
        out.extend(linked);
        Ok(out)
    }
}

/// The installed git's version as (major, minor, patch), from `git version`.
pub fn version() -> Result<(u32, u32, u32), Error> {
    let dir = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let text = GitCmd::new(&dir)?.arg("version").read()?;
    parse_version(&text).ok_or_else(|| Error::new(format!("cannot understand `git version` output: {text}")))
}

/// Parse `git version 2.47.3` (also `2.39.2.windows.1`, `2.43.0-rc1`).
pub fn parse_version(text: &str) -> Option<(u32, u32, u32)> {
    let v = text.trim().strip_prefix("git version ")?;
    let mut nums = v.split(['.', '-', ' ']).map(|p| p.parse::<u32>().ok());
    Some((nums.next()??, nums.next()??, nums.next().flatten().unwrap_or(0)))
}

/// Read `HEAD` of a (private) git dir and return `refs/heads/...` when it is a symbolic ref.
pub fn read_head_branch(git_dir: &Path) -> Option<String> {
    let head = std::fs::read_to_string(git_dir.join("HEAD")).ok()?;
    head.strip_prefix("ref: ").map(|r| r.trim().to_string())
}

/// Make a user path absolute against the current directory (without requiring it to exist).
pub fn absolute_path(p: &Path) -> PathBuf {
    absolute(p)
}

#[cfg(test)]
mod retrying_write_tests {
    use super::retrying_write;

    #[test]
    fn a_write_that_fails_twice_is_tried_a_third_time_and_no_more() {
        let mut calls = 0;
        let r: Result<u8, &str> = retrying_write(|| {
            calls += 1;
            if calls < 3 { Err("gone") } else { Ok(7) }
        });
        assert_eq!((r, calls), (Ok(7), 3));
        let mut calls = 0;
        let r: Result<u8, &str> = retrying_write(|| {
            calls += 1;
            Err("gone")
        });
        assert_eq!((r, calls), (Err("gone"), 3));
        let mut calls = 0;
        let r: Result<u8, &str> = retrying_write(|| {
            calls += 1;
            Ok(1)
        });
        assert_eq!((r, calls), (Ok(1), 1));
    }
}
