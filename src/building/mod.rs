//! The building: tenant lifecycle (create, check, remove, roll back) and the survey behind `list`/`status`.
//!
//! Creation is crash-safe by construction: the registry record (phase `creating`) is written and git's
//! worktree metadata is made under the building lock while the creator holds the tenant's lease (shared
//! with its git children). If anything dies before the record says `ready`, the lease is dead and
//! `prune` rolls the half-made tenant back. The slow checkout runs outside the building lock so many
//! `add`s proceed in parallel. Functions here return data; commands decide how to show it.

pub mod create;
pub mod elevator;
pub mod events;
pub mod forecast;
pub mod land;
pub mod lease;
pub mod pool;
pub mod ports;
pub mod prompt;
pub mod prune;
pub mod queue;
pub mod registry;
pub mod remove;
pub mod rescue;
pub mod setup;
pub mod state_dir;
pub mod survey;
pub mod watch;

use std::path::{Component, Path, PathBuf};

use crate::config::Config;
use crate::error::Error;
use crate::git::{Repo, WorktreeInfo};
use events::Event;
use registry::Tenant;
use state_dir::StateDir;

pub use create::{AddRequest, add, create_in_lease, plan_add, spawn_lease_keeper};
pub use remove::{
    dirty_paths, dirty_paths_under, finish_interrupted_removal_locked, remove, remove_in_lease, rollback_locked,
    short_ref, work_in,
};
pub(crate) use remove::{forget_all_gone_locked, start_prune_transaction};
pub use survey::{Status, entry, summary, survey, survey_full};
/// Everything a command needs about the building.
pub struct Ctx {
    /// The repository.
    pub repo: Repo,
    /// Effective configuration.
    pub config: Config,
    /// Shared state directory.
    pub state: StateDir,
    /// `--lock-timeout`.
    pub lock_timeout: std::time::Duration,
    /// `-c key=value` overrides, passed on to child git-neighbor processes.
    pub overrides: Vec<String>,
}

/// What to do when `.neighbor.toml` does not load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigPolicy {
    /// Fail: a command that changes things must not act on settings it could not read.
    Strict,
    /// Use the defaults and hand the error back (hooks and `doctor` must still run).
    Lenient,
}

impl Ctx {
    /// Open the building containing `dir`: the repository, its configuration (with `-c` overrides) and
    /// the shared state directory. With [`ConfigPolicy::Lenient`] a configuration error is returned beside
    /// a context that uses the defaults.
    pub fn open(
        dir: &Path,
        overrides: &[String],
        lock_timeout: std::time::Duration,
        policy: ConfigPolicy,
    ) -> Result<(Ctx, Option<Error>), Error> {
        let repo = Repo::discover(dir)?;
        let (config, problem) = match (Config::load(&repo, overrides), policy) {
            (Ok(c), _) => (c, None),
            (Err(e), ConfigPolicy::Strict) => return Err(e),
            // A wrong `-c` is the caller's mistake on this command line: never excused.
            (Err(e), ConfigPolicy::Lenient) if e.kind == crate::error::Kind::Usage => return Err(e),
            (Err(e), ConfigPolicy::Lenient) => (Config::resolve(None, overrides)?, Some(e)),
        };
        let state = StateDir::new(repo.state_dir());
        Ok((Ctx { repo, config, state, lock_timeout, overrides: overrides.to_vec() }, problem))
    }

    /// Run `f` under the building lock.
    pub fn locked<T>(&self, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        lease::with_building_lock(&self.state, self.lock_timeout, f)
    }

    /// Find a tenant by name or fail with a hint.
    pub fn tenant(&self, name: &str) -> Result<Tenant, Error> {
        registry::validate_name(name)?;
        registry::get(&self.state, name)?.ok_or_else(|| {
            Error::new(format!("no tenant named '{name}'")).hint("`git neighbor list` shows the tenants")
        })
    }

    /// The full ref a tenant's work must be on to count as merged: its base ref now, else its base commit.
    pub fn base_of(&self, t: &Tenant) -> String {
        t.base_ref
            .as_deref()
            .and_then(|r| self.repo.ref_target(r).map(|_| r.to_string()))
            .unwrap_or_else(|| t.base_oid.clone())
    }
}

/// Lexically normalise a path (no filesystem access): resolves `.` and `..`.
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Render the branch template.
pub fn branch_for(cfg: &Config, req: &AddRequest) -> Result<String, Error> {
    if let Some(b) = &req.branch {
        return Ok(b.clone());
    }
    let tpl = &cfg.worktrees.branch;
    let mut b = tpl.replace("{name}", &req.name);
    for (key, val, flag) in [("{owner}", &req.owner, "--owner"), ("{task}", &req.task, "--task")] {
        if b.contains(key) {
            let v = val.as_deref().ok_or_else(|| {
                Error::usage(format!("the branch template \"{tpl}\" uses {key}")).hint(format!("pass {flag}"))
            })?;
            b = b.replace(key, v);
        }
    }
    Ok(b)
}

fn check_branch_name(branch: &str) -> Result<(), Error> {
    crate::git::refs::validate_branch_name(branch)
}

/// Where a new tenant goes by default.
pub fn default_path(ctx: &Ctx, name: &str) -> PathBuf {
    let root = ctx.config.worktrees.root.replace("{repo}", &ctx.repo.building_name());
    normalize(&ctx.repo.anchor_dir().join(root).join(name))
}

/// The worktree git knows at `path`, if any. git records a worktree's path with symlinks resolved; a
/// tenant recorded through a symlink (before `add` resolved them) is found by its resolved path.
pub fn worktree_at(repo: &Repo, path: &Path) -> Result<Option<WorktreeInfo>, Error> {
    let all = repo.worktrees()?;
    let linked = |p: &Path| all.iter().find(|w| w.path == p && w.id.is_some()).cloned();
    Ok(linked(path).or_else(|| std::fs::canonicalize(path).ok().filter(|c| c != path).and_then(|c| linked(&c))))
}

/// A tenant's git worktree lock after `lock`/`unlock`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LockState {
    /// Tenant name.
    pub name: String,
    /// Locked now.
    pub locked: bool,
    /// The lock's reason, when locked.
    pub reason: Option<String>,
    /// Whether this call changed anything (locking a locked tenant does not).
    pub changed: bool,
}

/// Lock (`Some(reason)`) or unlock (`None`) a tenant's worktree with git's own lock, which every removal
/// respects. Locking a locked tenant, or unlocking an unlocked one, changes nothing and says so.
pub fn set_locked(ctx: &Ctx, name: &str, reason: Option<&str>) -> Result<LockState, Error> {
    let t = ctx.tenant(name)?;
    ctx.locked(|| {
        let now = worktree_at(&ctx.repo, &t.path)?
            .ok_or_else(|| {
                Error::new(format!("tenant '{name}' has no worktree at {}", t.path.display()))
                    .hint("`git neighbor prune` cleans up tenants whose worktree is gone")
            })?
            .locked;
        let state = |locked: bool, reason: Option<String>, changed: bool| LockState {
            name: name.to_string(),
            locked,
            reason,
            changed,
        };
        match (reason, now) {
            (Some(_), Some(had)) => Ok(state(true, Some(had), false)),
            (None, None) => Ok(state(false, None, false)),
            (Some(why), None) => {
                crate::git::worktree::lock(&ctx.repo, &t.path, why)?;
                events::append(
                    &ctx.state,
                    &Event::new("lock").tenant(&t.name, &t.branch, &t.path).with("reason", why.to_string()),
                )?;
                Ok(state(true, Some(why.to_string()), true))
            }
            (None, Some(_)) => {
                crate::git::worktree::unlock(&ctx.repo, &t.path)?;
                events::append(&ctx.state, &Event::new("unlock").tenant(&t.name, &t.branch, &t.path))?;
                Ok(state(false, None, true))
            }
        }
    })
}

/// Mark a tenant kept (or clear with `None`).
pub fn set_kept(ctx: &Ctx, name: &str, reason: Option<String>) -> Result<Tenant, Error> {
    ctx.locked(|| {
        let mut t = ctx.tenant(name)?;
        t.kept = reason.clone().map(|r| registry::Kept { reason: r, at_ms: state_dir::now_ms() });
        registry::put(&ctx.state, &t)?;
        let ev = Event::new(if reason.is_some() { "keep" } else { "unkeep" }).tenant(&t.name, &t.branch, &t.path);
        events::append(&ctx.state, &ev.with("reason", reason.unwrap_or_default()))?;
        Ok(t)
    })
}

/// The tenant a command names: a tenant name, a path inside a tenant's worktree (`remove .`,
/// `remove ../repo.worktrees/t1`), or with `None` the tenant the current directory is in.
pub fn resolve_tenant(ctx: &Ctx, spec: Option<&str>) -> Result<Tenant, Error> {
    let by_path = |p: &Path| -> Option<Tenant> {
        let p = std::fs::canonicalize(p).ok()?;
        registry::all(&ctx.state)
            .ok()?
            .0
            .into_iter()
            .filter(|t| p.starts_with(&t.path))
            .max_by_key(|t| t.path.as_os_str().len())
    };
    match spec {
        None => {
            let cwd = std::env::current_dir()?;
            by_path(&cwd).ok_or_else(|| {
                Error::usage("not inside a tenant").hint("name one: `git neighbor list` shows the tenants")
            })
        }
        Some(s) if registry::validate_name(s).is_ok() && registry::get(&ctx.state, s)?.is_some() => ctx.tenant(s),
        Some(s) if s.contains('/') || s == "." || s == ".." || Path::new(s).exists() => by_path(Path::new(s))
            .ok_or_else(|| {
                Error::new(format!("'{s}' is not inside a tenant"))
                    .hint("`git neighbor list` shows the tenants and their paths")
            }),
        Some(s) => ctx.tenant(s),
    }
}

/// Which tenant contains the current directory, if any.
pub fn current_tenant(ctx: &Ctx) -> Option<Tenant> {
    let here = ctx.repo.workdir.as_deref()?;
    // A tenant's directory is usually named after it: that one record first, the whole registry only
    // when it is not the one here.
    if let Some(name) = here.file_name().and_then(|n| n.to_str())
        && registry::validate_name(name).is_ok()
        && let Ok(Some(t)) = registry::get(&ctx.state, name)
        && t.path == here
    {
        return Some(t);
    }
    registry::all(&ctx.state).ok()?.0.into_iter().find(|t| t.path == here)
}

#[cfg(test)]
mod tests;
