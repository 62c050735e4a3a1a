//! The prune plan: what is provably abandoned, and what holds work and must be kept.
//!
//! `plan` only reads; `execute` carries a plan out, re-checking each item under the building lock so a
//! tenant that came back to life (lease taken, work added) between plan and execution is left alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::building::events::{self, Event};
use crate::building::lease;
use crate::building::registry::{self, Phase, Tenant};
use crate::building::state_dir;
use crate::building::{self, Ctx, Status};
use crate::error::Error;
use crate::git::WorktreeInfo;
use crate::git::worktree::checked_out;
use crate::supervise::users;

/// What prune does with one thing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    /// Undo a half-made tenant whose creator died.
    Rollback,
    /// Remove a tenant (worktree, branch, record).
    Remove,
    /// Forget a tenant whose directory is gone (git metadata, record; branch only if merged).
    Forget,
    /// Finish a removal whose remover died.
    Finish,
    /// Follow a tenant that was moved (and repaired with `git worktree repair`): record its new path.
    Follow,
    /// Delete a stale `index.lock`.
    Unlock,
    /// Leave it: it holds work (reported).
    Keep,
}

/// One line of the plan.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    /// Tenant name, if a tenant.
    pub name: Option<String>,
    /// Path concerned.
    pub path: PathBuf,
    /// What to do.
    pub action: Action,
    /// Why.
    pub reason: String,
    /// Filled by `execute`: done, or the error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<String>,
}

/// Ready `ctx` for judging many tenants: their bases and tips, mostly the same few commits, are read
/// several times each (in the plan, then again under the lock).
pub fn prepare(ctx: &mut Ctx) {
    ctx.repo.cache_objects(1 << 20);
}

/// Build the prune plan, to show. It only reads: each ref, a base most tenants share above all, is read
/// once.
pub fn plan(ctx: &Ctx) -> Result<Vec<Item>, Error> {
    ctx.repo.with_ref_memo(|| plan_memoised(ctx, true))
}

/// Build the prune plan, to carry out at once with [`execute`]. The same items as [`plan`], but a
/// vanished tenant's branch is not weighed here: whether it is kept is decided (and said) under the lock,
/// which looks at it again anyway.
pub fn plan_to_execute(ctx: &Ctx) -> Result<Vec<Item>, Error> {
    ctx.repo.with_ref_memo(|| plan_memoised(ctx, false))
}

fn plan_memoised(ctx: &Ctx, weigh_gone: bool) -> Result<Vec<Item>, Error> {
    let rows = building::survey(ctx)?;
    let prune_after = ctx.config.worktrees.prune_after;
    let worktrees = ctx.repo.worktrees()?;
    let mut items = Vec::new();
    for row in &rows {
        let Some(t) = &row.tenant else { continue };
        if row.lease.is_some() || row.status == Status::Locked {
            continue;
        }
        match judge(ctx, t, row.status, prune_after, &worktrees, weigh_gone) {
            Ok(Some(item)) => items.push(item),
            Ok(None) => {}
            Err(e) => items.push(Item {
                name: Some(t.name.clone()),
                path: t.path.clone(),
                action: Action::Keep,
                reason: format!("cannot inspect it: {}", e.message),
                result: None,
            }),
        }
    }
    // Stale index.lock files in our tenants and the main worktree (never foreign ones). The survey's one
    // listing of git's worktrees gives each row its git dir: looking each up afresh made prune quadratic.
    for row in &rows {
        if matches!(row.status, Status::Foreign | Status::Scratch) && !row.main {
            continue;
        }
        let Some(lock_path) = row.git_dir.as_ref().map(|d| d.join("index.lock")) else { continue };
        let (action, reason) = match stale_lock(&lock_path, &row.path) {
            Some(Ok(why)) => (Action::Unlock, why),
            Some(Err(why)) => (Action::Keep, why),
            None => continue,
        };
        items.push(Item { name: row.name.clone(), path: lock_path, action, reason, result: None });
    }
    Ok(items)
}

fn judge(
    ctx: &Ctx,
    t: &Tenant,
    status: Status,
    prune_after: Duration,
    worktrees: &[WorktreeInfo],
    weigh_gone: bool,
) -> Result<Option<Item>, Error> {
    let item = |action, reason: String| {
        Some(Item { name: Some(t.name.clone()), path: t.path.clone(), action, reason, result: None })
    };
    match t.phase {
        Phase::Creating => return Ok(item(Action::Rollback, "its creator died before it was ready".into())),
        Phase::Removing => return Ok(item(Action::Finish, "its remover died after checking it held no work".into())),
        Phase::Ready => {}
    }
    if !t.path.exists() {
        return gone(ctx, t, worktrees, weigh_gone).map(|(action, why)| item(action, why));
    }
    if status == Status::Kept {
        return Ok(None);
    }
    if status == Status::SetupFailed {
        return Ok(item(Action::Keep, "its setup failed: left for a look (remove it when done)".into()));
    }
    // The pool hands its tenants out and takes them back; prune never takes them from it.
    if t.pool.is_some() {
        return Ok(None);
    }
    let dead_ephemeral = t.ephemeral;
    let old = state_dir::age(t.created_ms) >= prune_after;
    if !dead_ephemeral && !old {
        return Ok(None);
    }
    let work = building::work_in(ctx, t)?;
    if !work.is_empty() {
        return Ok(item(Action::Keep, format!("has {}", work.describe())));
    }
    let why = if dead_ephemeral {
        "ephemeral and its lease is dead; clean and merged".to_string()
    } else {
        format!("clean, merged, older than {}", crate::config::format_duration(prune_after))
    };
    Ok(item(Action::Remove, why))
}

/// A tenant whose directory is gone: moved (git knows where), missing (git still keeps its metadata, as it
/// does for months in case the directory was moved or is on a drive not mounted), or gone for git too.
/// With `weigh_gone` false, the branch of a tenant to forget is not looked at (see [`plan_to_execute`]).
fn gone(ctx: &Ctx, t: &Tenant, worktrees: &[WorktreeInfo], weigh_gone: bool) -> Result<(Action, String), Error> {
    let full = format!("refs/heads/{}", t.branch);
    if let Some(w) = worktrees
        .iter()
        .find(|w| w.id.is_some() && w.exists && checked_out(&w.git_dir).as_deref() == Some(full.as_str()))
    {
        return Ok((Action::Follow, format!("it was moved to {}", w.path.display())));
    }
    if worktrees.iter().any(|w| w.id.is_some() && w.path == t.path) {
        return Ok((
            Action::Keep,
            "its directory is gone but git keeps its worktree metadata: if you moved it, run `git worktree \
             repair` in the new place; if you deleted it, `git worktree prune` lets prune forget it"
                .into(),
        ));
    }
    if !weigh_gone {
        return Ok((Action::Forget, GONE.into()));
    }
    let work = building::work_in(ctx, t)?;
    Ok((
        Action::Forget,
        if work.unmerged > 0 { kept_reason(t, &format!("{} unmerged commit(s)", work.unmerged)) } else { GONE.into() },
    ))
}

const GONE: &str = "its directory is gone";

fn kept_reason(t: &Tenant, why: &str) -> String {
    format!("{GONE}; branch {} kept ({why})", t.branch)
}

/// How old an `index.lock` must be before its writer may be judged dead: git holds it for the time of a
/// hook or an editor, which can be minutes.
const LOCK_AGE: Duration = Duration::from_secs(600);

/// Judge an `index.lock` of the worktree at `worktree`: `Some(Ok(why))` when its writer is provably gone,
/// `Some(Err(why))` when it is old but something may still use it (reported, left), `None` when young.
fn stale_lock(path: &Path, worktree: &Path) -> Option<Result<String, String>> {
    let meta = std::fs::metadata(path).ok()?;
    let age = meta.modified().ok().and_then(|m| m.elapsed().ok()).unwrap_or_default();
    if age < LOCK_AGE {
        return None;
    }
    let age_s = state_dir::human_age(age);
    Some(match users::user_of(path, Some(worktree)) {
        Ok(None) => Ok(format!("no git uses it (age {age_s})")),
        Ok(Some(u)) => Err(format!("index.lock left alone: {} (age {age_s})", u.describe())),
        // Without /proc nothing can be seen: only a very old lock is judged dead.
        Err(()) if age > Duration::from_secs(86_400) => Ok(format!("older than a day (age {age_s})")),
        Err(()) => Err(format!("index.lock left alone: cannot see which processes use it (age {age_s})")),
    })
}

/// Carry out a plan (everything but `Keep` items), re-checking each under the building lock.
pub fn execute(ctx: &Ctx, items: &mut [Item]) -> Result<(), Error> {
    forget_all(ctx, items);
    for item in items.iter_mut() {
        let res = match item.action {
            Action::Keep | Action::Forget => continue,
            Action::Unlock => {
                // Re-judge right before deleting.
                let tree = item.path.parent().map(Path::to_path_buf).unwrap_or_default();
                let worktree = ctx
                    .repo
                    .worktrees()
                    .ok()
                    .and_then(|ws| ws.into_iter().find(|w| w.git_dir == tree))
                    .map(|w| w.path)
                    .unwrap_or(tree);
                match stale_lock(&item.path, &worktree) {
                    Some(Ok(_)) => std::fs::remove_file(&item.path).map_err(Error::from).and_then(|_| {
                        events::append(
                            &ctx.state,
                            &Event::new("prune-index-lock").with("path", item.path.display().to_string()),
                        )
                    }),
                    Some(Err(why)) => Err(Error::new(why)),
                    None => Err(Error::new("a writer came back")),
                }
            }
            _ => prune_tenant(ctx, item),
        };
        item.result = Some(match res {
            Ok(()) => "done".into(),
            Err(e) => format!("skipped: {}", e.message),
        });
    }
    sweep_temp_files(ctx);
    Ok(())
}

/// The `Forget` items, all under one building lock: their branches go in one ref transaction.
fn forget_all(ctx: &Ctx, items: &mut [Item]) {
    let pending = building::start_prune_transaction(ctx, items.iter().filter(|i| i.action == Action::Forget).count());
    let mut todo = Vec::new();
    for (i, item) in items.iter_mut().enumerate() {
        let Some(name) = item.name.as_deref().filter(|_| item.action == Action::Forget) else { continue };
        // Its lease, and whether the record is still the one planned, are looked at under the lock.
        match registry::get(&ctx.state, name) {
            Ok(None) => item.result = Some("done".into()),
            Err(e) => item.result = Some(format!("skipped: {}", e.message)),
            Ok(Some(t)) if t.path != item.path => {
                item.result = Some("skipped: a tenant of that name was made again meanwhile".into())
            }
            Ok(Some(t)) => todo.push((i, t)),
        }
    }
    if todo.is_empty() {
        return;
    }
    crate::failpoint::hit("prune-forget-read");
    let tenants: Vec<Tenant> = todo.iter().map(|(_, t)| t.clone()).collect();
    let results = ctx.locked(|| Ok(building::forget_all_gone_locked(ctx, &tenants, pending)));
    for (k, (i, t)) in todo.iter().enumerate() {
        let res = match &results {
            Ok(Ok(r)) => r[k].as_ref().map_err(|e| e.message.clone()),
            Ok(Err(e)) | Err(e) => Err(e.message.clone()),
        };
        // What was done is said from what the lock's look found, not from the plan's.
        items[*i].result = Some(match res {
            Ok(done) => {
                items[*i].reason = match &done.branch_kept {
                    Some(why) => kept_reason(t, why),
                    None => GONE.into(),
                };
                "done".into()
            }
            Err(m) => format!("skipped: {m}"),
        });
    }
}

fn prune_tenant(ctx: &Ctx, item: &Item) -> Result<(), Error> {
    let Some(name) = &item.name else { return Ok(()) };
    let Some(t) = registry::get(&ctx.state, name)? else { return Ok(()) };
    if lease::lease_holder(&ctx.state, name).is_some() {
        return Err(Error::new("its lease is held again"));
    }
    match item.action {
        // The plan was made without the lock, from a record that may have moved on since (a creator that
        // finished, a remover that put the files back): act only on the record as it is now, under the
        // lock, and only if it is still in the phase the plan judged.
        // A creator holds the tenant's lease from before it writes `creating` until after it writes `ready`:
        // so the lease is looked at first, then the record.
        Action::Rollback => ctx
            .locked(|| {
                if lease::lease_holder(&ctx.state, name).is_some() {
                    return Err(Error::new("its lease is held again"));
                }
                match registry::get(&ctx.state, name)? {
                    Some(now) if now.phase == Phase::Creating => building::rollback_locked(ctx, &now).map(drop),
                    Some(_) => Err(Error::new("its creator finished it meanwhile")),
                    None => Ok(()),
                }
            })
            .map(drop),
        Action::Finish => ctx
            .locked(|| match registry::get(&ctx.state, name)? {
                Some(now) if now.phase == Phase::Removing => {
                    building::finish_interrupted_removal_locked(ctx, &now, false).map(drop)
                }
                Some(_) => Err(Error::new("it is no longer being removed")),
                None => Ok(()),
            })
            .map(drop),
        Action::Follow => ctx.locked(|| {
            let Some(mut t) = registry::get(&ctx.state, name)? else { return Ok(()) };
            let full = format!("refs/heads/{}", t.branch);
            let moved = ctx
                .repo
                .worktrees()?
                .into_iter()
                .find(|w| w.id.is_some() && w.exists && checked_out(&w.git_dir).as_deref() == Some(full.as_str()));
            let Some(w) = moved.filter(|_| !t.path.exists()) else { return Err(Error::new("it moved again")) };
            let from = t.path.display().to_string();
            t.path = w.path;
            registry::put(&ctx.state, &t)?;
            events::append(&ctx.state, &Event::new("follow").tenant(&t.name, &t.branch, &t.path).with("from", from))
        }),
        Action::Remove => {
            // remove() re-checks work and refuses if any appeared since the plan.
            building::remove(ctx, &t, false, false).map(drop)
        }
        _ => Ok(()),
    }
}

/// Temp index copies (`neighbor-index.tmp.*`, `neighbor-rescue-index.tmp.*`) are whole indexes; one
/// left by a killed safe-pull or rescue goes once it is an hour old and no process names it.
const TEMP_INDEX_AGE: Duration = Duration::from_secs(3600);

fn sweep_temp_files(ctx: &Ctx) {
    for w in ctx.repo.worktrees().unwrap_or_default() {
        let Ok(rd) = std::fs::read_dir(&w.git_dir) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !(name.starts_with("neighbor-index.tmp.") || name.starts_with("neighbor-rescue-index.tmp.")) {
                continue;
            }
            let age =
                e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|m| m.elapsed().ok()).unwrap_or_default();
            if age > TEMP_INDEX_AGE && matches!(users::user_of(&e.path(), None), Ok(None)) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    for dir in [ctx.state.root.clone(), ctx.state.registry(), ctx.state.leases()] {
        let Ok(rd) = std::fs::read_dir(&dir) else { continue };
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let old =
                e.metadata().ok().and_then(|m| m.modified().ok()).and_then(|m| m.elapsed().ok()).unwrap_or_default()
                    > Duration::from_secs(60);
            if state_dir::is_temp_name(&name) && old {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}
