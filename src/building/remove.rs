//! Removing a tenant: check what it holds, refuse or rescue, then delete its files, git's metadata and
//! its branch; roll back half-made tenants; finish removals whose remover died.

use std::path::{Path, PathBuf};

use serde::Serialize;

use super::events::{self, Event};
use super::lease::{self, Holder};
use super::registry::{self, Phase, Tenant};
use super::rescue;
use super::state_dir;
use super::{Ctx, worktree_at};
use crate::error::{Error, IoContext};
use crate::supervise::proc::caller_pid;

/// Uncommitted and unmerged work in a tenant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Work {
    /// Paths with uncommitted changes (tracked or untracked, not ignored).
    pub dirty: Vec<String>,
    /// Commits on the tenant not reachable from its base.
    pub unmerged: u64,
    /// The base it was compared against.
    pub base: String,
}

impl Work {
    /// Nothing would be lost.
    pub fn is_empty(&self) -> bool {
        self.dirty.is_empty() && self.unmerged == 0
    }
    /// One line describing what would be lost.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.dirty.is_empty() {
            let shown: Vec<&str> = self.dirty.iter().take(3).map(String::as_str).collect();
            let more = if self.dirty.len() > 3 { format!(" and {} more", self.dirty.len() - 3) } else { String::new() };
            parts.push(format!("{} uncommitted change(s) ({}{more})", self.dirty.len(), shown.join(", ")));
        }
        if self.unmerged > 0 {
            parts.push(format!("{} commit(s) not on {}", self.unmerged, short_ref(&self.base)));
        }
        parts.join(" and ")
    }
}

/// Shorten `refs/heads/x` to `x`, `refs/remotes/o/x` to `o/x`, and commit ids to 10 characters.
pub fn short_ref(r: &str) -> String {
    if let Some(s) = r.strip_prefix("refs/heads/").or_else(|| r.strip_prefix("refs/remotes/")) {
        return s.to_string();
    }
    if r.len() == 40 && r.chars().all(|c| c.is_ascii_hexdigit()) {
        return r[..10].to_string();
    }
    r.to_string()
}

/// Paths with uncommitted changes in a worktree (`status --porcelain -z`).
pub fn dirty_paths(path: &Path) -> Result<Vec<String>, Error> {
    // No optional locks: looking must never take index.lock from under a writer working there.
    let out = crate::git::GitCmd::new(path)?
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none"])
        .output()?;
    let mut files = Vec::new();
    let mut it = out.split(|b| *b == 0).filter(|s| !s.is_empty());
    while let Some(rec) = it.next() {
        if rec.len() < 4 {
            continue;
        }
        let (xy, p) = (&rec[..2], &rec[3..]);
        files.push(String::from_utf8_lossy(p).into_owned());
        if xy[0] == b'R' || xy[0] == b'C' {
            it.next(); // rename source
        }
    }
    Ok(files)
}

/// Paths with uncommitted changes under `prefix` in a worktree (tracked or untracked).
pub fn dirty_paths_under(path: &Path, prefix: &str) -> Result<Vec<String>, Error> {
    let out = crate::git::GitCmd::new(path)?
        .args(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", prefix])
        .output()?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|r| r.len() > 3 && r[2] == b' ')
        .map(|r| String::from_utf8_lossy(&r[3..]).into_owned())
        .collect())
}

/// What a tenant holds that removal would lose.
pub fn work_in(ctx: &Ctx, t: &Tenant) -> Result<Work, Error> {
    let base = ctx.base_of(t);
    let dirty = if t.path.is_dir() { super::create::without_carried(t, dirty_paths(&t.path)?)? } else { Vec::new() };
    let mut tips = Vec::new();
    if ctx.repo.ref_target(&format!("refs/heads/{}", t.branch)).is_some() {
        tips.push(format!("refs/heads/{}", t.branch));
    }
    if t.path.is_dir()
        && let Ok(head) = ctx.repo.git_in(&t.path)?.args(["rev-parse", "--verify", "-q", "HEAD"]).read()
    {
        tips.push(head);
    }
    let unmerged = if tips.is_empty() {
        0
    } else {
        let out = ctx.repo.git()?.args(["rev-list", "--count"]).args(&tips).arg("--not").arg(&base).arg("--").read()?;
        out.trim().parse().unwrap_or(0)
    };
    Ok(Work { dirty, unmerged, base })
}

/// Outcome of removing a tenant.
#[derive(Debug, Clone, Serialize)]
pub struct Removed {
    /// Tenant name.
    pub name: String,
    /// Path that was removed.
    pub path: PathBuf,
    /// Branch deleted (`None` when kept).
    pub branch_deleted: Option<String>,
    /// Rescue ref made first, if any.
    pub rescue: Option<String>,
}

/// Remove a tenant. Refuses (exit 3) when work would be lost unless `force`, which rescues first.
///
/// The tenant's lease is held throughout. Its files are deleted outside the building lock (slow, private
/// to the tenant) after the record says `removing`; git's metadata and the branch go under the lock,
/// because `git worktree` commands read every worktree's metadata and race with each other otherwise.
pub fn remove(ctx: &Ctx, t: &Tenant, force: bool, keep_branch: bool) -> Result<Removed, Error> {
    if let Some(h) = lease::lease_holder(&ctx.state, &t.name) {
        release_own_keeper(ctx, t, &h)?;
    }
    lease::with_lease(&ctx.state, &t.name, &Holder::me(), lease::Share::No, |_| {
        remove_in_lease(ctx, t, force, keep_branch)
    })
}

/// [`remove`] for a caller that already holds the tenant's lease (`run`, the pool).
pub fn remove_in_lease(ctx: &Ctx, t: &Tenant, force: bool, keep_branch: bool) -> Result<Removed, Error> {
    {
        let wt = worktree_at(&ctx.repo, &t.path)?;
        if wt.as_ref().is_some_and(|w| w.locked.is_some()) && !force {
            return Err(Error::refused(format!("tenant '{}' is locked", t.name))
                .hint(format!("git neighbor unlock {} first", t.name)));
        }
        let work = if t.phase == Phase::Removing { Work::default() } else { work_in(ctx, t)? };
        let mut rescue_ref = None;
        if !work.is_empty() {
            if !force {
                return Err(Error::refused(format!("tenant '{}' has {}", t.name, work.describe())).hint(format!(
                    "commit and land it first, or `git neighbor remove --force {}` to save it under {}…",
                    t.name,
                    rescue::PREFIX
                )));
            }
            rescue_ref = Some(rescue_tenant(ctx, t, "remove --force")?.r#ref);
        }
        ctx.locked(|| {
            let mut rec = t.clone();
            rec.phase = Phase::Removing;
            registry::put(&ctx.state, &rec)
        })?;
        clear_worktree_files(&t.path)?;
        ctx.locked(|| {
            drop_worktree_locked(ctx, &t.path)?;
            finish_removal(ctx, t, keep_branch, rescue_ref.clone(), "remove")
        })
    }
}

/// Delete everything in a worktree except its `.git` link, so git's own removal is quick.
fn clear_worktree_files(path: &Path) -> Result<(), Error> {
    let Ok(rd) = std::fs::read_dir(path) else { return Ok(()) };
    for e in rd.flatten() {
        if e.file_name() == ".git" {
            continue;
        }
        let p = e.path();
        let r = if e.file_type().is_ok_and(|f| f.is_dir()) {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        r.ctx(|| format!("cannot remove {}", p.display()))?;
    }
    Ok(())
}

/// Remove git's worktree at `path` (metadata and directory). Call under the building lock.
fn drop_worktree_locked(ctx: &Ctx, path: &Path) -> Result<(), Error> {
    if let Some(wt) = worktree_at(&ctx.repo, path)? {
        let r = ctx.repo.git()?.args(["worktree", "remove", "--force", "--force"]).end_of_options().arg(path).run();
        if let Err(e) = r {
            // Fall back to removing the admin dir ourselves (git refuses e.g. when the dir is half gone).
            let Some(id) = wt.id else { return Err(e.into()) };
            let admin = ctx.repo.common_dir.join("worktrees").join(id);
            std::fs::remove_dir_all(&admin).ctx(|| format!("cannot remove {}", admin.display()))?;
        }
    }
    if path.exists() {
        std::fs::remove_dir_all(path).ctx(|| format!("cannot remove {}", path.display()))?;
    }
    Ok(())
}

/// Finish a removal whose remover died after checking the tenant held no work. Call under the lock.
pub fn finish_interrupted_removal_locked(ctx: &Ctx, t: &Tenant) -> Result<(), Error> {
    drop_worktree_locked(ctx, &t.path)?;
    // A forced removal rescued the work first; keep an unmerged branch anyway.
    let keep = work_in(ctx, t)?.unmerged > 0;
    finish_removal(ctx, t, keep, None, "remove").map(drop)
}

/// A lease held by the keeper of our own caller's ephemeral tenant may be released by that caller;
/// any other live lease means someone is working there.
fn release_own_keeper(ctx: &Ctx, t: &Tenant, h: &Holder) -> Result<(), Error> {
    let busy = || {
        Error::refused(format!("tenant '{}' is in use: leased by {}", t.name, h.describe()))
            .hint("wait for that process to finish; its lease ends when it exits")
    };
    if h.watch_pid == Some(caller_pid()) && lease::stop_keeper(&ctx.state, &t.name, h) {
        return Ok(());
    }
    Err(busy())
}

pub(crate) fn rescue_tenant(ctx: &Ctx, t: &Tenant, why: &str) -> Result<rescue::Rescue, Error> {
    let git_dir = worktree_at(&ctx.repo, &t.path)?.map(|w| w.git_dir);
    let trailers = [
        ("Neighbor-Rescue-Tenant", t.name.clone()),
        ("Neighbor-Rescue-Branch", t.branch.clone()),
        ("Neighbor-Rescue-Path", t.path.display().to_string()),
        ("Neighbor-Rescue-Source", why.to_string()),
    ];
    let subject = format!("rescue: tenant {} before {why}", t.name);
    let r = match (git_dir, t.path.is_dir()) {
        (Some(gd), true) => rescue::save(&ctx.repo, &t.path, &gd, &t.name, &subject, &trailers)?,
        _ => {
            // No worktree left: the branch alone holds the work.
            let tip = ctx
                .repo
                .git()?
                .args(["rev-parse", "--verify"])
                .end_of_options()
                .arg(format!("refs/heads/{}", t.branch))
                .read()?;
            let id = format!("{}-{}", t.name, &tip[..8.min(tip.len())]);
            let full = format!("{}{id}", rescue::PREFIX);
            ctx.repo.git()?.args(["update-ref", &full, &tip]).run()?;
            rescue::Rescue { id, r#ref: full, commit: tip, date: state_dir::rfc3339(state_dir::now_ms()), subject }
        }
    };
    events::append(&ctx.state, &Event::new("rescue").tenant(&t.name, &t.branch, &t.path).with("ref", r.r#ref.clone()))?;
    Ok(r)
}

/// Under the building lock: delete the branch (compare-and-swap), the record, the lease files; log it.
pub(crate) fn finish_removal(
    ctx: &Ctx,
    t: &Tenant,
    keep_branch: bool,
    rescue: Option<String>,
    event: &str,
) -> Result<Removed, Error> {
    let full = format!("refs/heads/{}", t.branch);
    let mut deleted = None;
    if !keep_branch && let Some(tip) = ctx.repo.ref_target(&full) {
        ctx.repo.git()?.args(["update-ref", "-d", &full, &tip.to_string()]).run()?;
        deleted = Some(t.branch.clone());
    }
    registry::delete(&ctx.state, &t.name)?;
    lease::remove_lease_files(&ctx.state, &t.name);
    let mut ev = Event::new(event).tenant(&t.name, &t.branch, &t.path).with("branch_deleted", deleted.is_some());
    if let Some(r) = &rescue {
        ev = ev.with("rescue", r.clone());
    }
    events::append(&ctx.state, &ev)?;
    Ok(Removed { name: t.name.clone(), path: t.path.clone(), branch_deleted: deleted, rescue })
}

/// Roll back a tenant that never finished being created. Call under the building lock.
/// Keeps (and reports) a branch that moved past its base: that would be someone's work.
pub fn rollback_locked(ctx: &Ctx, t: &Tenant) -> Result<String, Error> {
    let full = format!("refs/heads/{}", t.branch);
    let tip = ctx.repo.ref_target(&full);
    // The directory was created by this add (its absence was checked under the lock).
    drop_worktree_locked(ctx, &t.path)?;
    let mut note = String::from("rolled back");
    match tip {
        Some(tip) if tip == t.base_oid => {
            ctx.repo.git()?.args(["update-ref", "-d", &full, &t.base_oid]).run()?;
        }
        Some(_) => note = format!("rolled back; branch {} kept: it moved past its base", t.branch),
        None => {}
    }
    registry::delete(&ctx.state, &t.name)?;
    lease::remove_lease_files(&ctx.state, &t.name);
    events::append(&ctx.state, &Event::new("rollback").tenant(&t.name, &t.branch, &t.path))?;
    Ok(note)
}
