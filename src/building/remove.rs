//! Removing a tenant: check what it holds, refuse or rescue, then delete exactly what was checked; roll
//! back half-made tenants; finish removals whose remover died.
//!
//! Proof before removal. Under the building lock the tenant is checked (files, index, HEAD, branch tip,
//! submodules), rescued when forced, its check recorded (phase `removing`), and its directory renamed out
//! of the way at once, so nothing written after the check is deleted unseen; the renamed copy is deleted
//! outside the lock. Only a worktree whose checked-out branch is the tenant's is ever touched. The branch
//! goes by compare-and-swap against the tip that was checked, never while any worktree has it checked
//! out: a commit made after the check keeps the branch. Git runs from the common dir throughout, so a
//! removal works from inside the tenant it removes. A crash anywhere leaves a `removing` record that
//! prune finishes; if the files were never moved away, it checks them again first.

use crate::git::status;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::events::{self, Event};
use super::lease::{self, Holder};
use super::registry::{self, Phase, Removal, Tenant};
use super::rescue;
use super::{Ctx, worktree_at};
use crate::error::{Error, IoContext};
use crate::git::WorktreeInfo;
use crate::git::refs::{self, Cas};
use crate::git::worktree::{self, checked_out};
use crate::supervise::proc::caller_pid;

/// Uncommitted and unmerged work in a tenant.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Work {
    /// Paths with uncommitted changes (tracked or untracked, not ignored).
    pub dirty: Vec<String>,
    /// Commits on the tenant not reachable from its base, unless their changes are all in it.
    pub unmerged: u64,
    /// Its commits are not in its base, but all their changes are (a squash or rebase merge): they count
    /// as merged, and a branch deletion saves them as a rescue ref first.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub integrated: bool,
    /// The base it was compared against.
    pub base: String,
    /// Submodules or nested repositories holding work that exists nowhere else (a rescue ref cannot hold
    /// it: their git dirs go with the tenant).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unsaveable: Vec<String>,
    /// The branch tip that was checked.
    #[serde(skip)]
    pub tip: Option<String>,
    /// The worktree's HEAD commit that was checked.
    #[serde(skip)]
    pub head: Option<String>,
}

impl Work {
    /// Nothing would be lost.
    pub fn is_empty(&self) -> bool {
        self.dirty.is_empty() && self.unmerged == 0 && self.unsaveable.is_empty()
    }
    /// What removing the tenant would lose. With `--keep-branch` the commits on the branch stay, so they
    /// are at stake only when the worktree's HEAD is not the branch tip that was checked (detached, or
    /// on other commits).
    pub fn at_stake(&self, keep_branch: bool) -> Work {
        let mut w = self.clone();
        if keep_branch && self.head.is_some() && self.head == self.tip {
            w.unmerged = 0;
        }
        w
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
        if !self.unsaveable.is_empty() {
            parts.push(format!("work that exists nowhere else inside {}", self.unsaveable.join(", ")));
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

/// Paths with uncommitted changes in a worktree (see [`status::dirty_paths`]).
pub fn dirty_paths(path: &Path) -> Result<Vec<String>, Error> {
    status::dirty_paths(path)
}

/// Paths under `prefix` in a worktree that differ from its HEAD: staged, not staged, or untracked.
pub fn dirty_paths_under(path: &Path, prefix: &str) -> Result<Vec<String>, Error> {
    status::changed_paths_under(path, prefix)
}

/// What a tenant holds that removal would lose.
pub fn work_in(ctx: &Ctx, t: &Tenant) -> Result<Work, Error> {
    work_at(ctx, t, &t.path)
}

/// [`work_in`] with the tenant's files read at `dir` (its directory, or where a removal moved it).
fn work_at(ctx: &Ctx, t: &Tenant, dir: &Path) -> Result<Work, Error> {
    let base = ctx.base_of(t);
    let tip = refs::oid_of(&ctx.repo, &branch_ref(t))?;
    let here = dir.is_dir();
    // Files add carried in, unchanged and unstaged, are the caller's copies, not the tenant's work.
    let dirty = if here { super::create::without_carried(t, dir, dirty_paths(dir)?)? } else { Vec::new() };
    let head = if here { status::head_commit(&ctx.repo, dir) } else { None };
    let mut tips: Vec<String> = tip.iter().chain(head.iter()).cloned().collect();
    tips.dedup();
    // A tenant on disk is checked by git (beside the `git status` it costs, one `rev-list` is nothing); a
    // vanished one in-process, so that prune's check of many costs no process each.
    let mut unmerged = if here {
        refs::count_only_on(&ctx.repo, &tips, std::slice::from_ref(&base))?
    } else {
        refs::count_only_on_in_process(&ctx.repo, &tips, std::slice::from_ref(&base))?
    };
    let mut integrated = false;
    if unmerged > 0 && integrated_all(ctx, &base, &tips)? {
        unmerged = 0;
        integrated = true;
    }
    let mut unsaveable = if here { submodule_work(ctx, dir, "")? } else { Vec::new() };
    // An untracked directory listed whole is a nested repository: `git add` would keep only its HEAD id.
    unsaveable.extend(dirty.iter().filter(|d| d.ends_with('/') && dir.join(d).join(".git").exists()).cloned());
    Ok(Work { dirty, unmerged, integrated, base, unsaveable, tip, head })
}

/// Are the changes of every one of `tips` already in `base` (squash- or rebase-merged)?
fn integrated_all(ctx: &Ctx, base: &str, tips: &[String]) -> Result<bool, Error> {
    for tip in tips {
        if !crate::git::merge::integrated(&ctx.repo, base, tip)? {
            return Ok(false);
        }
    }
    Ok(!tips.is_empty())
}

/// Submodules of the worktree at `dir` (recursively) with uncommitted changes, or with commits on no
/// remote-tracking ref or tag of their own repository: that repository lives in the tenant's git dir.
fn submodule_work(ctx: &Ctx, dir: &Path, prefix: &str) -> Result<Vec<String>, Error> {
    if !dir.join(".gitmodules").exists() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for rel in status::submodule_paths(&ctx.repo, dir)? {
        let sub = dir.join(&rel);
        if !sub.join(".git").exists() {
            continue; // not checked out: nothing of its own here
        }
        let shown = format!("{prefix}{rel}");
        if !dirty_paths(&sub)?.is_empty() {
            out.push(shown);
            continue;
        }
        if status::local_only_commits(&ctx.repo, &sub)? != 0 {
            out.push(shown);
            continue;
        }
        out.extend(submodule_work(ctx, &sub, &format!("{shown}/"))?);
    }
    Ok(out)
}

fn branch_ref(t: &Tenant) -> String {
    format!("refs/heads/{}", t.branch)
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
    /// Why the branch was kept although its deletion was asked for (it moved after the check, or a
    /// worktree has it checked out).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch_kept: Option<String>,
}

fn refusal(t: &Tenant, work: &Work) -> Error {
    Error::refused(format!("tenant '{}' has {}", t.name, work.describe())).hint(format!(
        "commit and land it first, or `git neighbor remove --force {}` to save it under {}…",
        t.name,
        rescue::PREFIX
    ))
}

/// Remove a tenant. Refuses (exit 3) when work would be lost unless `force`, which rescues first.
///
/// The tenant's lease is held throughout; see the module doc for how the check and the deletion meet.
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
    if t.phase == Phase::Removing {
        return ctx.locked(|| finish_interrupted_removal_locked(ctx, t, force));
    }
    // A first look without the building lock, so the common refusal never waits for it (and the lock is
    // held only for the move and the second look).
    let first = if !force && t.path.is_dir() {
        let work = work_in(ctx, t)?;
        check_saveable(t, &work)?;
        if !work.at_stake(keep_branch).is_empty() {
            return Err(refusal(t, &work.at_stake(keep_branch)));
        }
        Some(work)
    } else {
        None
    };
    let mut done = ctx.locked(|| {
        let fresh = registry::get(&ctx.state, &t.name)?
            .filter(|r| r.path == t.path && r.branch == t.branch)
            .ok_or_else(|| Error::new(format!("tenant '{}' changed while it was being removed", t.name)))?;
        take_apart_locked(ctx, &fresh, force, keep_branch, first)
    })?;
    purge(&trash_path(t))?;
    ctx.locked(|| forget_locked(ctx, t, &mut done, "remove"))?;
    Ok(done)
}

/// The git worktree at the tenant's path, if git lists one there. A worktree there that has another
/// branch checked out is someone else's: refused.
fn own_worktree(ctx: &Ctx, t: &Tenant) -> Result<Option<WorktreeInfo>, Error> {
    let Some(w) = worktree_at(&ctx.repo, &t.path)? else { return Ok(None) };
    match checked_out(&w.git_dir) {
        Some(b) if b != branch_ref(t) => Err(Error::refused(format!(
            "the worktree at {} does not belong to tenant '{}': it has {} checked out",
            t.path.display(),
            t.name,
            short_ref(&b)
        ))
        .hint(format!("it was left alone; if tenant '{}' is gone, git neighbor prune forgets it", t.name))),
        _ => Ok(Some(w)),
    }
}

/// Under the building lock: check the tenant, record the check, move its files out of the way, check
/// the moved copy again (anything written up to the move is seen there: a change puts the files back
/// and refuses, or, forced, is rescued from there), then forget git's worktree and delete the branch by
/// compare-and-swap. The moved files are deleted by [`purge`] afterwards.
fn take_apart_locked(
    ctx: &Ctx,
    t: &Tenant,
    force: bool,
    keep_branch: bool,
    first: Option<Work>,
) -> Result<Removed, Error> {
    let wt = own_worktree(ctx, t)?;
    if t.path.exists() && (wt.is_none() || !t.path.join(".git").is_file()) {
        return Err(Error::refused(format!(
            "{} is not a worktree git knows, so tenant '{}' cannot be checked there",
            t.path.display(),
            t.name
        ))
        .hint("if you moved or restored that directory, run `git worktree repair` in it; it was left alone"));
    }
    // A lock holds against `--force` too: the rescue saves commits and files git sees, not ignored ones,
    // and git itself removes a locked worktree only when forced twice.
    if wt.as_ref().is_some_and(|w| w.locked.is_some()) {
        return Err(Error::refused(format!("tenant '{}' is locked", t.name))
            .hint(format!("git neighbor unlock {} first; --force does not override a lock", t.name)));
    }
    let work = match first {
        Some(w) => w,
        None => work_in(ctx, t)?,
    };
    check_saveable(t, &work)?;
    if !work.at_stake(keep_branch).is_empty() && !force {
        return Err(refusal(t, &work.at_stake(keep_branch)));
    }
    let mut rec = t.clone();
    rec.phase = Phase::Removing;
    rec.removal = Some(Removal { tip: work.tip.clone(), keep_branch, rescue: None });
    registry::put(&ctx.state, &rec)?;
    // The files move away at once: whatever is written after this instant does not land in the tenant
    // (a writer by path fails; git finds no worktree there), and what was written before is in the copy.
    let trash = trash_path(t);
    let moved = t.path.exists();
    if moved {
        if trash.symlink_metadata().is_ok() {
            // Files an earlier removal moved there were never checked again: never delete them unseen.
            return Err(put_back(
                ctx,
                t,
                false,
                Error::refused(format!("an earlier removal of '{}' left files at {}", t.name, trash.display()))
                    .hint("look at them, keep what you need, delete that directory, then remove again"),
            ));
        }
        if let Err(e) = std::fs::rename(&t.path, &trash) {
            let e = Error::new(format!("cannot move {} out of the way: {e}", t.path.display()))
                .hint("check the permissions of its parent directory; nothing was deleted");
            return Err(put_back(ctx, t, false, e));
        }
    }
    let dir = if moved { trash.as_path() } else { t.path.as_path() };
    let again = match work_at(ctx, t, dir) {
        Ok(w) => w,
        Err(e) => return Err(put_back(ctx, t, moved, e)),
    };
    let changed = !again.unsaveable.is_empty()
        || (!force && (!again.at_stake(keep_branch).is_empty() || again.head != work.head));
    if changed {
        let e = check_saveable(t, &again).err().unwrap_or_else(|| {
            Error::refused(format!(
                "tenant '{}' changed while it was being removed: it has {}",
                t.name,
                again.describe()
            ))
            .hint("it was left as it is; run the command again once its writer is done")
        });
        return Err(put_back(ctx, t, moved, e));
    }
    let mut rescue_ref = None;
    if !again.at_stake(keep_branch).is_empty() {
        let at = wt.as_ref().filter(|_| moved).map(|w| (dir, w.git_dir.as_path()));
        let tip = again.tip.as_deref().or(work.tip.as_deref());
        match rescue_tenant(ctx, t, "remove --force", tip, at) {
            Ok(r) => rescue_ref = Some(r.r#ref),
            Err(e) => return Err(put_back(ctx, t, moved, e)),
        }
        rec.removal = Some(Removal { tip: work.tip.clone(), keep_branch, rescue: rescue_ref.clone() });
        registry::put(&ctx.state, &rec)?;
    }
    if let Some(id) = wt.and_then(|w| w.id)
        && !forget_if_head(ctx, t, &id, again.head.as_deref())?
    {
        let e = Error::refused(format!("tenant '{}' got a new commit while it was being removed", t.name))
            .hint("it was left as it is; run the command again once its writer is done");
        return Err(put_back(ctx, t, moved, e));
    }
    let (branch_deleted, branch_kept) =
        delete_branch_locked(ctx, t, work.tip.as_deref(), keep_branch, rescue_ref.is_some())?;
    Ok(Removed { name: t.name.clone(), path: t.path.clone(), branch_deleted, rescue: rescue_ref, branch_kept })
}

/// Where [`forget_if_head`] keeps git's admin dir of tenant `t` while it looks at its HEAD a last time.
fn aside_dir(ctx: &Ctx, t: &Tenant) -> PathBuf {
    ctx.state.root.join("forgetting").join(&t.name)
}

/// Forget git's worktree `id` of tenant `t` only if its HEAD still names `head`. Its admin dir is set
/// aside first, so from then on nobody commits through it (not even a shell inside the moved files, whose
/// `.git` file git follows), and HEAD is read there; a commit made on a detached HEAD after the last check
/// is on no branch, so only this look sees it. `Ok(false)` when HEAD moved: the admin dir is back. With
/// `head` `None` (the tenant's files were gone before the check) there is nothing to compare.
fn forget_if_head(ctx: &Ctx, t: &Tenant, id: &str, head: Option<&str>) -> Result<bool, Error> {
    let aside = aside_dir(ctx, t);
    std::fs::create_dir_all(&aside).ctx(|| format!("cannot create {}", aside.display()))?;
    let held = aside.join(id);
    if worktree::set_aside(&ctx.repo, id, &held)? {
        crate::failpoint::hit("remove.worktree-set-aside");
        // No HEAD was read when the files were already gone: nothing can commit through a missing worktree.
        if head.is_some() && worktree::head_commit_of(&ctx.repo, &held).as_deref() != head {
            worktree::put_back_aside(&ctx.repo, id, &held)?;
            let _ = std::fs::remove_dir(&aside);
            return Ok(false);
        }
    }
    std::fs::remove_dir_all(&aside).ctx(|| format!("cannot delete {}", aside.display()))?;
    Ok(true)
}

/// Put back git's admin dirs a removal killed in [`forget_if_head`] left set aside, so the removal is
/// checked again from the start.
fn restore_set_aside(ctx: &Ctx, t: &Tenant) -> Result<(), Error> {
    let aside = aside_dir(ctx, t);
    let Ok(entries) = std::fs::read_dir(&aside) else { return Ok(()) };
    for e in entries.flatten() {
        if let Some(id) = e.file_name().to_str() {
            worktree::put_back_aside(&ctx.repo, id, &e.path())?;
        }
    }
    let _ = std::fs::remove_dir(&aside);
    Ok(())
}

fn check_saveable(t: &Tenant, work: &Work) -> Result<(), Error> {
    if work.unsaveable.is_empty() {
        return Ok(());
    }
    Err(Error::refused(format!(
        "tenant '{}' has work that exists nowhere else inside {}",
        t.name,
        work.unsaveable.join(", ")
    ))
    .hint("a rescue ref cannot hold a submodule's own commits or files: commit and push them (or delete them) in that repository first"))
}

/// Undo a removal that found work after moving the files: move them back and mark the tenant ready.
fn put_back(ctx: &Ctx, t: &Tenant, moved: bool, why: Error) -> Error {
    if moved && let Err(e) = std::fs::rename(trash_path(t), &t.path) {
        // Something was made at the tenant's path meanwhile: the files stay where they are, recorded.
        return why.context(format!(
            "and its files could not be put back from {} ({e}); nothing was deleted",
            trash_path(t).display()
        ));
    }
    let mut back = t.clone();
    back.phase = Phase::Ready;
    back.removal = None;
    match registry::put(&ctx.state, &back) {
        Ok(()) => why,
        Err(e) => why.context(e.message),
    }
}

/// Delete the tenant's branch if it still points at `checked` and no worktree has it checked out.
/// Commits the deletion would leave unreachable from the base (a squash or rebase merge took their changes,
/// not the commits) are saved as a rescue ref first, unless this removal `rescued` them already.
/// Returns (deleted, why kept).
fn delete_branch_locked(
    ctx: &Ctx,
    t: &Tenant,
    checked: Option<&str>,
    keep_branch: bool,
    rescued: bool,
) -> Result<(Option<String>, Option<String>), Error> {
    let full = branch_ref(t);
    let Some(tip) = checked.filter(|_| !keep_branch) else { return Ok((None, None)) };
    if let Some(w) = worktree::holding(&ctx.repo, &full, None)?.first() {
        return Ok((None, Some(format!("{} has it checked out", w.path.display()))));
    }
    let base = ctx.base_of(t);
    // In-process: this runs on every removal, and the common answer (the tip is in the base) is one walk.
    if !rescued && refs::count_only_on_in_process(&ctx.repo, &[tip.to_string()], std::slice::from_ref(&base))? > 0 {
        let subject = format!("rescue: branch {} (its changes are in {}; the commits were not)", t.branch, base);
        let r = super::rescue::store(&ctx.repo, "merged", tip, &subject)?;
        events::append(&ctx.state, &Event::new("rescue").tenant(&t.name, &t.branch, &t.path).with("ref", r.r#ref))?;
    }
    Ok(match refs::delete_if(&ctx.repo, &full, tip, "git-neighbor: remove tenant")? {
        Cas::Done => (Some(t.branch.clone()), None),
        Cas::Gone => (None, None),
        Cas::Moved(now) => (None, Some(format!("it moved to {} after it was checked", &now[..10.min(now.len())]))),
    })
}

/// The end of the name of the directory where a tenant's files wait for deletion.
const TRASH_SUFFIX: &str = ".neighbor-removing";

/// Where a tenant's files wait for deletion: beside it (same file system, so the move is one rename).
fn trash_path(t: &Tenant) -> PathBuf {
    let dir = t.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    t.path.with_file_name(format!(".{dir}.{}{TRASH_SUFFIX}", t.name))
}

/// Whether a file name has the form of [`trash_path`]'s: no tenant may live at such a path, since a
/// removal deletes what it finds there.
pub(crate) fn is_trash_name(name: &std::ffi::OsStr) -> bool {
    name.to_str().is_some_and(|n| n.starts_with('.') && n.ends_with(TRASH_SUFFIX))
}

/// The directory a `.git` file in `dir` links to (`gitdir: …`, relative to `dir` when not absolute);
/// `None` when `dir/.git` is missing, a directory, a symlink or not such a file.
fn gitfile_target(dir: &Path) -> Option<PathBuf> {
    let link = dir.join(".git");
    if !link.symlink_metadata().ok()?.is_file() {
        return None;
    }
    let text = std::fs::read_to_string(&link).ok()?;
    let to = text.strip_prefix("gitdir: ")?.trim_end_matches(['\n', '\r']);
    Some(dir.join(to))
}

/// Whether two paths name the same directory (compared canonically when both exist).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Delete moved-away files (idempotent).
fn purge(trash: &Path) -> Result<(), Error> {
    match std::fs::symlink_metadata(trash) {
        Err(_) => Ok(()),
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(trash).ctx(|| format!("cannot remove {}", trash.display())),
        Ok(_) => std::fs::remove_file(trash).ctx(|| format!("cannot remove {}", trash.display())),
    }
}

/// Under the building lock: delete the record and lease files; log the removal.
fn forget_locked(ctx: &Ctx, t: &Tenant, r: &mut Removed, event: &str) -> Result<(), Error> {
    forget_files_locked(ctx, t)?;
    events::append(&ctx.state, &forget_event(t, r, event))
}

/// Under the building lock: delete the record and lease files of a tenant whose git side is gone.
fn forget_files_locked(ctx: &Ctx, t: &Tenant) -> Result<(), Error> {
    registry::delete(&ctx.state, &t.name)?;
    lease::remove_lease_files(&ctx.state, &t.name);
    super::ports::release(ctx, t);
    let _ = std::fs::remove_file(super::setup::log_path(&ctx.state, &t.name));
    Ok(())
}

/// The event that logs a tenant's removal.
fn forget_event(t: &Tenant, r: &Removed, event: &str) -> Event {
    let mut ev =
        Event::new(event).tenant(&t.name, &t.branch, &t.path).with("branch_deleted", r.branch_deleted.is_some());
    if let Some(x) = &r.rescue {
        ev = ev.with("rescue", x.clone());
    }
    if let Some(k) = &r.branch_kept {
        ev = ev.with("branch_kept", k.clone());
    }
    ev
}

/// Finish a removal whose remover died (phase `removing`). Call under the lock. If its files were never
/// moved away they are checked again like a fresh removal (and the tenant is kept, back to `ready`, when
/// it holds work); otherwise what the remover checked is deleted.
pub fn finish_interrupted_removal_locked(ctx: &Ctx, t: &Tenant, force: bool) -> Result<Removed, Error> {
    let info = t.removal.clone().unwrap_or_default();
    let trash = trash_path(t);
    restore_set_aside(ctx, t)?;
    // The moved files are deleted below unseen: a worktree git knows at that path is someone else's.
    if worktree_at(&ctx.repo, &trash)?.is_some() {
        return Err(Error::refused(format!(
            "{} is a worktree git knows, not the files of tenant '{}' waiting for deletion",
            trash.display(),
            t.name
        ))
        .hint("it was left alone; move that worktree elsewhere (git worktree move), then run prune again"));
    }
    // git's worktree still there: the remover died before its second look passed. Put the files back
    // and check them again from the start.
    let admin_left = worktree_at(&ctx.repo, &t.path)?.is_some();
    if admin_left && !t.path.exists() && trash.exists() {
        std::fs::rename(&trash, &t.path).ctx(|| format!("cannot move {} back", trash.display()))?;
    }
    let mut done = if t.path.exists() {
        let mut d = match take_apart_locked(ctx, t, force, info.keep_branch, None) {
            Ok(d) => d,
            Err(e) => {
                if t.path.exists() {
                    let mut back = t.clone();
                    back.phase = Phase::Ready;
                    back.removal = None;
                    registry::put(&ctx.state, &back)?;
                }
                return Err(e.context(format!("tenant '{}' kept", t.name)));
            }
        };
        d.rescue = d.rescue.or(info.rescue);
        d
    } else {
        // Nothing left on disk to check; git's metadata for the missing directory goes with the record.
        if let Some(w) = worktree_at(&ctx.repo, &t.path)?
            && let Some(id) = &w.id
            && !trash.exists()
            && checked_out(&w.git_dir).is_none_or(|b| b == branch_ref(t))
        {
            worktree::forget(&ctx.repo, id)?;
        }
        let (branch_deleted, branch_kept) =
            delete_branch_locked(ctx, t, info.tip.as_deref(), info.keep_branch, info.rescue.is_some())?;
        Removed { name: t.name.clone(), path: t.path.clone(), branch_deleted, rescue: info.rescue, branch_kept }
    };
    purge(&trash)?;
    forget_locked(ctx, t, &mut done, "remove")?;
    Ok(done)
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

/// Save a tenant's work as a rescue ref: its files (tracked and untracked), its index (second parent),
/// HEAD and, when HEAD does not contain it, the branch tip `tip`. Without a worktree, the branch alone.
pub(crate) fn rescue_tenant(
    ctx: &Ctx,
    t: &Tenant,
    why: &str,
    tip: Option<&str>,
    at: Option<(&Path, &Path)>,
) -> Result<rescue::Rescue, Error> {
    let (dir, git_dir) = match at {
        Some((d, g)) => (d.to_path_buf(), Some(g.to_path_buf())),
        None => (t.path.clone(), worktree_at(&ctx.repo, &t.path)?.map(|w| w.git_dir)),
    };
    let trailers = [
        ("Neighbor-Rescue-Tenant", t.name.clone()),
        ("Neighbor-Rescue-Branch", t.branch.clone()),
        ("Neighbor-Rescue-Path", t.path.display().to_string()),
        ("Neighbor-Rescue-Source", why.to_string()),
    ];
    let subject = format!("rescue: tenant {} before {why}", t.name);
    let r = match (git_dir, dir.is_dir()) {
        (Some(gd), true) => {
            let snap = rescue::snapshot(&ctx.repo, &dir, &gd)?;
            let mut extra = Vec::new();
            if let Some(tip) = tip
                && !crate::git::revs::is_ancestor_common(&ctx.repo, tip, &snap.head)?
            {
                extra.push(tip.to_string());
            }
            let (_, commit) = rescue::commit_snapshot_onto(&ctx.repo, &dir, &snap, &subject, &trailers, &extra)?;
            rescue::store(&ctx.repo, &t.name, &commit, &subject)?
        }
        _ => {
            // No worktree left: the branch alone holds the work.
            let tip = refs::oid_of(&ctx.repo, &branch_ref(t))?
                .ok_or_else(|| Error::new(format!("tenant '{}' has neither a worktree nor a branch", t.name)))?;
            rescue::store(&ctx.repo, &t.name, &tip, &subject)?
        }
    };
    events::append(&ctx.state, &Event::new("rescue").tenant(&t.name, &t.branch, &t.path).with("ref", r.r#ref.clone()))?;
    Ok(r)
}

/// The reflog message of prune's branch deletions.
const PRUNE_REASON: &str = "git-neighbor: prune";

/// Start the git of [`forget_all_gone_locked`]'s transaction now, before the tenants are looked at again:
/// its start-up then runs on the other core meanwhile. Worth it for two tenants or more (one is deleted
/// alone).
pub(crate) fn start_prune_transaction(ctx: &Ctx, tenants: usize) -> Option<refs::PendingTransaction> {
    if tenants < 2 {
        return None;
    }
    refs::start_transaction(&ctx.repo, Some(PRUNE_REASON)).ok()
}

/// Under the building lock: forget tenants whose directory and git worktree are both gone. A branch goes
/// only when nothing on it is unmerged, never while checked out anywhere, and all of them in one ref
/// transaction (one listing of git's worktrees for all), each a compare-and-swap against the tip that was checked. Should any
/// branch have moved (or gone) since, the transaction changes nothing and each branch is deleted alone by
/// compare-and-swap instead, so a moved branch is kept and the others still go. One result per tenant,
/// in order.
/// `pending` is the transaction's git if the caller started it early (see [`start_prune_transaction`]).
pub(crate) fn forget_all_gone_locked(
    ctx: &Ctx,
    tenants: &[Tenant],
    pending: Option<refs::PendingTransaction>,
) -> Result<Vec<Result<Removed, Error>>, Error> {
    let worktrees = ctx.repo.worktrees()?;
    let checked_out_anywhere = |full: &str| worktrees.iter().find(|w| checked_out(&w.git_dir).as_deref() == Some(full));
    // Check each one again: the plan was made without the lock. These checks only read, so a base the
    // tenants share is read once for all of them (inside the lock, after the plan's reads).
    let check = || -> Vec<Result<(Work, Removed), Error>> {
        tenants
            .iter()
            .map(|t| {
                // The record and lease as they are now, under the lock: a tenant forgotten and made again
                // under the same name since the caller read them is someone else's.
                match registry::get(&ctx.state, &t.name)? {
                    None => return Err(Error::new("it was forgotten meanwhile")),
                    Some(now) if now.path != t.path || now.created_ms != t.created_ms => {
                        return Err(Error::new("a tenant of that name was made again meanwhile"));
                    }
                    Some(_) => {}
                }
                if lease::lease_holder(&ctx.state, &t.name).is_some() {
                    return Err(Error::new("its lease is held again"));
                }
                if t.path.exists() || worktrees.iter().any(|w| w.path == t.path && w.id.is_some()) {
                    return Err(Error::new("it came back"));
                }
                let work = work_in(ctx, t)?;
                let mut done = Removed {
                    name: t.name.clone(),
                    path: t.path.clone(),
                    branch_deleted: None,
                    rescue: None,
                    branch_kept: None,
                };
                if work.unmerged > 0 {
                    done.branch_kept = Some(format!("{} unmerged commit(s)", work.unmerged));
                } else if let Some(w) = work.tip.as_ref().and_then(|_| checked_out_anywhere(&branch_ref(t))) {
                    done.branch_kept = Some(format!("{} has it checked out", w.path.display()));
                }
                Ok((work, done))
            })
            .collect()
    };
    let mut checked = ctx.repo.with_ref_memo(check);
    // A squash- or rebase-merged branch holds commits its base does not: saved first, as a single removal
    // does (delete_branch_locked).
    for (i, c) in checked.iter_mut().enumerate() {
        let saved = match c {
            Ok((work, done)) if work.integrated && done.branch_kept.is_none() => match work.tip.as_deref() {
                Some(tip) => {
                    let t = &tenants[i];
                    let subject =
                        format!("rescue: branch {} (its changes are in {}; the commits were not)", t.branch, work.base);
                    super::rescue::store(&ctx.repo, "merged", tip, &subject).map(|r| Some(r.r#ref))
                }
                None => Ok(None),
            },
            _ => Ok(None),
        };
        match (saved, c.as_mut()) {
            (Ok(Some(r)), Ok((_, done))) => done.rescue = Some(r),
            (Err(e), _) => *c = Err(e),
            _ => {}
        }
    }
    // The branches to delete: checked, merged, checked out nowhere.
    let doomed: Vec<(usize, String, String)> = checked
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let (work, done) = c.as_ref().ok()?;
            let tip = work.tip.clone().filter(|_| done.branch_kept.is_none())?;
            Some((i, branch_ref(&tenants[i]), tip))
        })
        .collect();
    let plain = |r: &str| gix::refs::FullName::try_from(r).is_ok() && !r.contains(char::is_whitespace);
    let batch: String = doomed.iter().map(|(_, r, tip)| format!("delete {r} {tip}\n")).collect();
    crate::failpoint::hit("prune-branches-checked");
    let together = doomed.len() > 1
        && doomed.iter().all(|(_, r, _)| plain(r))
        && match pending {
            Some(p) => p.commit(&batch).is_ok(),
            None => refs::transaction(&ctx.repo, Some(PRUNE_REASON), &batch).is_ok(),
        };
    for (i, full, tip) in &doomed {
        let cas = if together { Ok(Cas::Done) } else { refs::delete_if(&ctx.repo, full, tip, PRUNE_REASON) };
        if let Ok((_, done)) = &mut checked[*i] {
            match cas {
                Ok(Cas::Done) => done.branch_deleted = Some(tenants[*i].branch.clone()),
                Ok(Cas::Gone) => {}
                Ok(Cas::Moved(now)) => {
                    done.branch_kept = Some(format!("it moved to {} after it was checked", &now[..10.min(now.len())]))
                }
                Err(e) => checked[*i] = Err(e),
            }
        }
    }
    // The records go one by one; their events are logged together, in one write.
    let mut logged = Vec::new();
    let mut out: Vec<Result<Removed, Error>> = checked
        .into_iter()
        .zip(tenants)
        .map(|(c, t)| {
            let (_, done) = c?;
            forget_files_locked(ctx, t)?;
            logged.push(forget_event(t, &done, "prune"));
            Ok(done)
        })
        .collect();
    if let Err(e) = events::append_all(&ctx.state, &logged) {
        for r in out.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(Error::new(e.message.clone()));
        }
    }
    Ok(out)
}

/// Whether the `.git` in `dir`, if any, is git's link to a worktree of this repository: a `.git` file
/// (not a directory, not a symlink) whose `gitdir:` names a directory under `<common-dir>/worktrees/`.
fn links_into_worktrees(ctx: &Ctx, dir: &Path) -> bool {
    if dir.join(".git").symlink_metadata().is_err() {
        return true;
    }
    gitfile_target(dir)
        .is_some_and(|to| to.parent().is_some_and(|p| same_dir(p, &ctx.repo.common_dir.join("worktrees"))))
}

/// Roll back a tenant that never finished being created. Call under the building lock.
/// Only the worktree with this tenant's branch checked out is removed (another tenant may have been made
/// at the same path since); the branch goes only if it is still at its base and checked out nowhere.
pub fn rollback_locked(ctx: &Ctx, t: &Tenant) -> Result<String, Error> {
    let full = branch_ref(t);
    let mut notes = Vec::new();
    match worktree_at(&ctx.repo, &t.path)? {
        Some(w) if checked_out(&w.git_dir).as_deref() == Some(full.as_str()) => {
            let trash = trash_path(t);
            // What is at the trash path is ours only when it links to this worktree (a rollback killed
            // after moving the files there); anything else there is left alone, and so is the tenant.
            if trash.symlink_metadata().is_ok() && !gitfile_target(&trash).is_some_and(|to| same_dir(&to, &w.git_dir)) {
                notes.push(format!("{} left alone: {} is in the way", t.path.display(), trash.display()));
            } else {
                if t.path.exists() {
                    purge(&trash)?;
                    std::fs::rename(&t.path, &trash)
                        .ctx(|| format!("cannot move {} out of the way", t.path.display()))?;
                }
                if let Some(id) = &w.id {
                    worktree::forget(&ctx.repo, id)?;
                }
                purge(&trash)?;
            }
        }
        Some(_) => notes.push(format!("{} left alone: another worktree lives there now", t.path.display())),
        None if t.path.exists() => {
            // git died before registering it: only a directory holding nothing but git's link to one of this
            // repository's worktrees is ours (a repository made there since has a `.git` of its own).
            let entries: Vec<_> = std::fs::read_dir(&t.path).map(|rd| rd.flatten().collect()).unwrap_or_default();
            if entries.iter().all(|e| e.file_name() == ".git") && links_into_worktrees(ctx, &t.path) {
                purge(&t.path)?;
            } else {
                notes.push(format!("{} left alone: it is not a worktree git knows", t.path.display()));
            }
        }
        None => {}
    }
    match refs::oid_of(&ctx.repo, &full)? {
        Some(tip) if tip == t.base_oid => {
            if worktree::holding(&ctx.repo, &full, None)?.is_empty() {
                refs::delete_if(&ctx.repo, &full, &t.base_oid, "git-neighbor: roll back tenant")?;
            } else {
                notes.push(format!("branch {} kept: a worktree has it checked out", t.branch));
            }
        }
        Some(_) => notes.push(format!("branch {} kept: it moved past its base", t.branch)),
        None => {}
    }
    registry::delete(&ctx.state, &t.name)?;
    lease::remove_lease_files(&ctx.state, &t.name);
    super::ports::release(ctx, t);
    let _ = std::fs::remove_file(super::setup::log_path(&ctx.state, &t.name));
    events::append(&ctx.state, &Event::new("rollback").tenant(&t.name, &t.branch, &t.path))?;
    Ok(if notes.is_empty() { "rolled back".into() } else { format!("rolled back; {}", notes.join("; ")) })
}
