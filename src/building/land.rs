//! `land`: a merge queue. One landing at a time (the `.land-queue` lease): bring the tenant up to date
//! with the target, run the test in the tenant, then move the target with compare-and-swap. Conflicts or
//! a failing test change nothing on the target (exit 1) and mark the tenant kept with the reason.
//!
//! The tenant's writer may go on while a landing runs. What lands is the commit the tenant was at when
//! its test started, so a tenant that is no longer exactly that commit, clean, when the test ends is
//! refused (exit 3): the test ran on something else. After the target moved, the tenant is pointed at
//! the landing (`--squash`, `--no-ff`) and removed only if it still is that commit, clean; otherwise it is
//! kept as it is, and the result says why.

use serde::Serialize;

use super::events::{self, Event};
use super::lease::{self, Holder, Share};
use super::registry::Tenant;
use super::{Ctx, dirty_paths, remove_in_lease, set_kept};
use crate::error::Error;
use crate::git::worktree::{self, Update};
use crate::git::{checkout, commit, refs};

/// How the tenant's work reaches the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Merge the target into the tenant, then fast-forward the target to it.
    Merge,
    /// The same, but the target always gets a merge commit.
    NoFf,
    /// The tenant's changes as one commit on the target.
    Squash,
    /// Rebase the tenant onto the target, then fast-forward.
    Rebase,
}

/// What `land` is asked to do.
#[derive(Debug, Clone)]
pub struct LandRequest {
    /// Tenant to land.
    pub name: String,
    /// Branch to land into (default: the tenant's base branch, else `state.target`).
    pub into: Option<String>,
    /// Test run with `sh -c` in the tenant after it is brought up to date.
    pub test: Option<String>,
    /// How to land.
    pub mode: Mode,
    /// Keep the tenant afterwards.
    pub keep: bool,
}

/// A landing that happened.
#[derive(Debug, Serialize)]
pub struct Landed {
    /// Tenant name.
    pub name: String,
    /// Branch landed into.
    pub into: String,
    /// Its commit before.
    pub old: String,
    /// Its commit after.
    pub new: String,
    /// Whether the tenant was removed afterwards.
    pub removed: bool,
    /// Why the tenant was kept as it is (not removed, and after `--squash` or `--no-ff` its branch not
    /// pointed at the landing): it changed during the landing, or its removal was refused. `None` when
    /// nothing stood in the way (with `--keep` it is kept because it was asked to be).
    pub kept: Option<String>,
}

/// Land a tenant; `progress` hears what is happening (the test starting).
pub fn land(ctx: &Ctx, req: &LandRequest, progress: &dyn Fn(&str)) -> Result<Landed, Error> {
    let t = ctx.tenant(&req.name)?;
    let into = target_of(ctx, &t, &req.into);
    if ctx.repo.ref_target(&format!("refs/heads/{into}")).is_none() {
        return Err(Error::new(format!("branch '{into}' does not exist")).hint("pass --into with an existing branch"));
    }
    // One landing at a time, building-wide; tests may take a while, so this is not the building lock.
    lease::with_lease(&ctx.state, &t.name, &Holder::me(), Share::No, |_| {
        wait_queue(ctx, |_| land_one(ctx, req, &t, &into, progress))
    })
}

pub(crate) fn target_of(ctx: &Ctx, t: &Tenant, into: &Option<String>) -> String {
    if let Some(b) = into {
        return b.clone();
    }
    t.base_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .map(String::from)
        .unwrap_or_else(|| ctx.config.state.target.clone())
}

/// Hold the land queue (a lease named `.land-queue`) while `f` runs, waiting up to `--lock-timeout`.
fn wait_queue<T>(ctx: &Ctx, f: impl FnOnce(&lease::LeaseFd<'_>) -> Result<T, Error>) -> Result<T, Error> {
    lease::with_lease_waiting(&ctx.state, ".land-queue", ctx.lock_timeout, f).map_err(|e| {
        if e.kind == crate::error::Kind::LockTimeout { e.context("another landing is in progress") } else { e }
    })
}

fn mark(ctx: &Ctx, t: &Tenant, why: &str) {
    let _ = set_kept(ctx, &t.name, Some(format!("land: {why}")));
}

/// Refuse (exit 3) while some worktree rebases or bisects the target.
pub(crate) fn refuse_if_busy(ctx: &Ctx, full: &str, into: &str) -> Result<(), Error> {
    match crate::git::busy::branch_busy(&ctx.repo, full)? {
        Some(busy) => Err(Error::refused(format!("{}; {into} is unchanged", busy.describe(into)))
            .hint("finish or abort that operation there, then land again")),
        None => Ok(()),
    }
}

fn land_one(ctx: &Ctx, req: &LandRequest, t: &Tenant, into: &str, progress: &dyn Fn(&str)) -> Result<Landed, Error> {
    let full = format!("refs/heads/{into}");
    refuse_if_busy(ctx, &full, into)?;
    let dirty = dirty_paths(&t.path)?;
    if !dirty.is_empty() {
        return Err(Error::refused(format!("tenant '{}' has uncommitted changes: {}", t.name, dirty.join(", ")))
            .hint("commit them in the tenant first; land only moves commits"));
    }
    for _attempt in 0..3 {
        let old = ctx
            .repo
            .ref_target(&full)
            .map(|o| o.to_string())
            .ok_or_else(|| Error::new(format!("branch '{into}' vanished")))?;
        // 1. Bring the tenant up to date with the target, in the tenant.
        let how = if req.mode == Mode::Rebase { Update::Rebase } else { Update::Merge };
        if let Err(e) = worktree::update_onto(&t.path, &old, how)? {
            mark(ctx, t, &format!("conflicts with {into}"));
            return Err(Error::new(format!("tenant '{}' conflicts with {into}; {into} is unchanged", t.name))
                .hint(format!("resolve it in {} (git merge {into}), commit, and land again", t.path.display()))
                .hint(e.stderr.lines().next().unwrap_or("").to_string()));
        }
        let head = worktree::head(&t.path)?;
        if head == old {
            return Err(Error::new(format!(
                "tenant '{}' has nothing to land: it has no commits not on {into}",
                t.name
            )));
        }
        // 2. Test, in the tenant.
        if let Some(test) = &req.test {
            progress(&format!("land {}: testing: {test}", t.name));
            let st = std::process::Command::new("sh")
                .args(["-c", test])
                .current_dir(&t.path)
                .stdin(std::process::Stdio::null())
                .status()
                .map_err(|e| Error::new(format!("cannot run the test: {e}")))?;
            if !st.success() {
                let why = format!("tests failed ({st})");
                mark(ctx, t, &why);
                return Err(Error::new(format!("tenant '{}': {why}; {into} is unchanged", t.name)));
            }
            // The test ran on the live worktree: it tested `head` only if the tenant still is `head`, clean.
            if let Some(what) = changed_since(t, &head)? {
                let why = format!("changed while its test ran ({what})");
                mark(ctx, t, &why);
                return Err(Error::refused(format!(
                    "tenant '{}' {why}, so its test did not test what would land; {into} is unchanged",
                    t.name
                ))
                .hint("let its writer finish and commit (or remove what the test left behind), then land again"));
            }
        }
        // 3. The new target commit.
        let new = match req.mode {
            Mode::Squash => {
                let tree = worktree::tree_of(&t.path, &head)?;
                let msg = format!("land {}: squash of {}\n", t.name, t.branch);
                commit::commit_tree(&ctx.repo, &t.path, &tree, &[&old], &msg)?
            }
            Mode::NoFf => {
                let tree = worktree::tree_of(&t.path, &head)?;
                let msg = format!("land {}: merge {} into {into}\n", t.name, t.branch);
                commit::commit_tree(&ctx.repo, &t.path, &tree, &[&old, &head], &msg)?
            }
            Mode::Merge | Mode::Rebase => head.clone(),
        };
        // 4. Move the target: compare-and-swap.
        if !move_target(ctx, into, &old, &new, &format!("git-neighbor land {}", t.name))? {
            continue; // the target moved under us: bring the tenant up to date again
        }
        crate::failpoint::hit("land.target-moved");
        // The tenant's writer may have gone on meanwhile: touch the tenant only if it still is `head`, clean.
        let mut kept = match changed_since(t, &head) {
            Ok(None) => None,
            Ok(Some(what)) => Some(format!("it changed during the landing ({what})")),
            Err(e) => Some(format!("it could not be checked after the landing: {}", e.message)),
        };
        if kept.is_none() && matches!(req.mode, Mode::Squash | Mode::NoFf) {
            // The target's new commit has `head`'s tree: the tenant's branch follows it there by
            // compare-and-swap from `head`; its index and files already are that tree, so nothing on disk moves.
            let branch = format!("refs/heads/{}", t.branch);
            let why = format!("git-neighbor land {}: follow {into}", t.name);
            if refs::update_cas(&ctx.repo, &branch, &new, &head, &why).is_err() {
                kept = Some(format!("it changed during the landing (its branch {} moved)", t.branch));
            }
        }
        events::append(
            &ctx.state,
            &Event::new("land")
                .tenant(&t.name, &t.branch, &t.path)
                .with("into", into)
                .with("old", old.clone())
                .with("new", new.clone()),
        )?;
        let removed = if req.keep || kept.is_some() {
            false
        } else {
            match ctx.tenant(&t.name).and_then(|fresh| remove_in_lease(ctx, &fresh, false, false)) {
                Ok(_) => true,
                Err(e) => {
                    kept = Some(format!("its removal was refused: {}", e.message));
                    false
                }
            }
        };
        if let Some(why) = &kept {
            mark(ctx, t, why);
        }
        return Ok(Landed { name: t.name.clone(), into: into.to_string(), old, new, removed, kept });
    }
    Err(Error::new(format!("{into} kept moving while landing '{}'; nothing was changed", t.name)).hint("try again"))
}

/// How the tenant differs from the commit `head`: its HEAD moved, or it has uncommitted changes (tracked,
/// or untracked and not ignored). `None`: it is exactly `head`, clean.
fn changed_since(t: &Tenant, head: &str) -> Result<Option<String>, Error> {
    let now = worktree::head(&t.path)?;
    if now != head {
        return Ok(Some(format!("its HEAD moved from {} to {}", short(head), short(&now))));
    }
    let dirty = dirty_paths(&t.path)?;
    if !dirty.is_empty() {
        return Ok(Some(format!("uncommitted changes: {}", super::queue::list_paths(&dirty))));
    }
    Ok(None)
}

fn short(oid: &str) -> &str {
    oid.get(..10).unwrap_or(oid)
}

/// Move branch `into` from `old` to `new` by compare-and-swap: through git in its checkout if it has one
/// (the files follow), else on the ref; never while a worktree rebases or bisects it (that operation
/// writes it back when it ends: refused, exit 3), nor over an ignored file in its checkout that `new`
/// starts tracking (git's fast-forward would overwrite it: refused, exit 3). `Ok(false)` when the target
/// is no longer at `old` (nothing changed); `land` and `queue run` then start again from where it is now.
pub(crate) fn move_target(ctx: &Ctx, into: &str, old: &str, new: &str, why: &str) -> Result<bool, Error> {
    let full = format!("refs/heads/{into}");
    refuse_if_busy(ctx, &full, into)?;
    let checked_out = ctx.repo.worktrees()?.into_iter().find(|w| w.branch.as_deref() == Some(full.as_str()));
    let moved = match &checked_out {
        Some(w) => {
            if worktree::head(&w.path)? != old {
                return Ok(false);
            }
            let refuse_ignored = || -> Result<(), Error> {
                let in_the_way = crate::git::worktree::ignored_in_the_way(&w.path, old, new, &dirty_paths(&w.path)?)?;
                if in_the_way.is_empty() {
                    return Ok(());
                }
                Err(Error::refused(format!(
                    "{into} is checked out at {}, where {} exists untracked (ignored) and the landing would \
                     overwrite it; {into} is unchanged",
                    w.path.display(),
                    super::queue::list_paths(&in_the_way)
                ))
                .hint("move it aside there (ignored files are in no commit and no rescue ref), then land again"))
            };
            refuse_ignored()?;
            checkout::fast_forward_with(&w.path, new, &[]).map_err(|e| {
                // git refuses an ignored file made since the look above: say which, as the look would have.
                if let Err(refusal) = refuse_ignored()
                    && worktree::head(&w.path).ok().as_deref() == Some(old)
                {
                    return refusal;
                }
                Error::new(format!(
                    "{into} is checked out at {} and could not be updated: {}",
                    w.path.display(),
                    Error::from(e).message
                ))
                .hint("commit or move the local changes there that the landing would overwrite")
            })
        }
        None => refs::update_cas(&ctx.repo, &full, new, old, why),
    };
    if moved.is_err() && ctx.repo.ref_target(&full).map(|o| o.to_string()).as_deref() != Some(old) {
        return Ok(false);
    }
    moved.map(|_| true)
}
