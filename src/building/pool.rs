//! The pool: pre-built tenants handed out in O(1) — a registry update under the building lock and a
//! lease, no git — and reset to their base on release only when nothing unmerged would be lost. A claim
//! follows one process (the caller, or `--follow-pid`); when that process dies, its tenant is released
//! through the same path as `pool release` before anyone can claim it again (the only git a claim runs).
//!
//! Release finishes what a killed claimant or release left, and only that: a claimant may record that it
//! checks its own commits out detached in the tenant ([`note_detached`], the merge queue); release puts
//! such a tenant back on its branch (saving uncommitted files as a rescue ref first). A release records
//! its move to the base before making it, so one killed between moving the branch and the files is
//! finished by the next.

use serde::Serialize;

use crate::building::events::{self, Event};
use crate::building::lease::{self, Holder};
use crate::building::registry::{self, Claim, Detached, PoolSlot, Reset, Tenant};
use crate::building::state_dir;
use crate::building::{self, AddRequest, Ctx};
use crate::error::Error;
use crate::git::{read_head_branch, refs, status, worktree};
use crate::supervise::proc::pid_alive;

/// Pool tenants are named `pool-<k>`.
pub const PREFIX: &str = "pool-";

/// A pool tenant as listed.
#[derive(Debug, Clone, Serialize)]
pub struct Member {
    /// Tenant name.
    pub name: String,
    /// Path.
    pub path: std::path::PathBuf,
    /// Branch.
    pub branch: String,
    /// `free`, `claimed`, or `abandoned` (its claimant died: the next claim releases it first, which
    /// resets it, or keeps it out of the pool when it holds work).
    pub state: &'static str,
    /// Current claim, if any.
    pub claim: Option<Claim>,
}

fn members(ctx: &Ctx) -> Result<Vec<Tenant>, Error> {
    Ok(registry::all(&ctx.state)?
        .0
        .into_iter()
        // A tenant whose setup failed (or still runs) is never handed out.
        .filter(|t| t.pool.is_some() && t.phase == registry::Phase::Ready && t.setup_ok())
        .collect())
}

/// A claim is live while its lease is held (by the claimant, or by the keeper that follows it), or while
/// the process that is making it still runs (it takes the lease right after recording the claim).
fn claim_live(ctx: &Ctx, t: &Tenant) -> bool {
    let Some(c) = t.pool.as_ref().and_then(|p| p.claim.as_ref()) else { return false };
    c.pending.is_some_and(pid_alive) || lease::lease_holder(&ctx.state, &t.name).is_some()
}

/// List the pool.
pub fn list(ctx: &Ctx) -> Result<Vec<Member>, Error> {
    Ok(members(ctx)?
        .into_iter()
        .map(|t| {
            let live = claim_live(ctx, &t);
            let claimed = t.pool.as_ref().is_some_and(|p| p.claim.is_some());
            Member {
                state: match (live, claimed) {
                    (true, _) => "claimed",
                    (false, true) => "abandoned",
                    (false, false) => "free",
                },
                claim: if live { t.pool.and_then(|p| p.claim) } else { None },
                name: t.name,
                path: t.path,
                branch: t.branch,
            }
        })
        .collect())
}

/// Make sure at least `n` tenants are free. Returns the names created.
pub fn fill(ctx: &Ctx, n: usize) -> Result<Vec<String>, Error> {
    // Abandoned claims first become free (reset) or leave the pool (they hold work).
    release_abandoned(ctx);
    // A pool tenant whose maker died half-way is rolled back (as `prune` would), so its name is made anew.
    roll_back_half_made(ctx)?;
    let all = members(ctx)?;
    let free = all.iter().filter(|t| t.pool.as_ref().is_some_and(|p| p.claim.is_none())).count();
    let mut made = Vec::new();
    let mut k = 1;
    while free + made.len() < n {
        let name = format!("{PREFIX}{k}");
        k += 1;
        if registry::get(&ctx.state, &name)?.is_some() {
            continue;
        }
        let req = AddRequest { name: name.clone(), pool: true, setup: true, ..Default::default() };
        building::add(ctx, &req)?;
        made.push(name);
    }
    Ok(made)
}

/// Roll back every pool tenant still `creating` whose maker is gone. Nobody ever worked in one (a tenant is
/// claimed only once ready). The maker holds the tenant's lease from before it writes `creating` until
/// after `ready`, so the lease is looked at first, then the record, both under the building lock.
fn roll_back_half_made(ctx: &Ctx) -> Result<(), Error> {
    let (all, _) = registry::all(&ctx.state)?;
    for t in all.into_iter().filter(|t| t.pool.is_some() && t.phase == registry::Phase::Creating) {
        if lease::lease_holder(&ctx.state, &t.name).is_some() {
            continue;
        }
        ctx.locked(|| {
            if lease::lease_holder(&ctx.state, &t.name).is_some() {
                return Ok(());
            }
            match registry::get(&ctx.state, &t.name)? {
                Some(now) if now.phase == registry::Phase::Creating && now.pool.is_some() => {
                    building::rollback_locked(ctx, &now).map(drop)
                }
                _ => Ok(()),
            }
        })?;
    }
    Ok(())
}

/// Claim a free tenant for process `pid`. Claims whose claimant died are first released the way `pool
/// release` would (reset, or kept out of the pool when they hold work), so no one is handed another's
/// leftovers. Then, under the building lock and without git, a free tenant is recorded as claimed,
/// pending until [`confirm`]. Returns the tenant and the lease id the release must present. The caller
/// takes the lease right after (or hands it to a keeper).
pub fn claim(ctx: &Ctx, pid: u32) -> Result<(Tenant, String), Error> {
    release_abandoned(ctx);
    ctx.locked(|| {
        let mut t = members(ctx)?
            .into_iter()
            .find(|t| t.pool.as_ref().is_some_and(|p| p.claim.is_none()))
            .ok_or_else(|| Error::new("the pool has no free tenant").hint("git neighbor pool fill <N> makes more"))?;
        let lease_id = format!("{}-{}", t.name, state_dir::unique());
        let claim =
            Claim { lease_id: lease_id.clone(), pid, at_ms: state_dir::now_ms(), pending: Some(std::process::id()) };
        t.pool = Some(PoolSlot { claim: Some(claim), detached: None, reset: None });
        registry::put(&ctx.state, &t)?;
        events::append(
            &ctx.state,
            &Event::new("pool-claim").tenant(&t.name, &t.branch, &t.path).with("lease_id", lease_id.clone()),
        )?;
        Ok((t, lease_id))
    })
}

/// Release every claim whose claimant is gone, through the same path as `pool release`. A tenant someone
/// else is releasing right now (its lease is taken) is left to them; one that cannot be released stays
/// abandoned, never handed out. (`queue run` calls it first, so a killed run's tenants are given back
/// even when the next run has nothing to test.)
pub fn release_abandoned(ctx: &Ctx) {
    let Ok(all) = members(ctx) else { return };
    for t in all {
        let Some(c) = t.pool.as_ref().and_then(|p| p.claim.clone()) else { continue };
        if claim_live(ctx, &t) {
            continue;
        }
        let _ = lease::with_lease(&ctx.state, &t.name, &Holder::me(), lease::Share::No, |_| {
            release_in_lease(ctx, &t.name, Some(&c.lease_id))
        });
    }
}

/// A claim handed to the caller of `pool claim`.
#[derive(Debug, Clone, Serialize)]
pub struct Claimed {
    /// The tenant.
    pub name: String,
    /// Its worktree.
    pub path: std::path::PathBuf,
    /// Its branch.
    pub branch: String,
    /// The id `pool release` needs.
    pub lease_id: String,
}

/// `pool claim` for a caller process `watch`: claim a free tenant, start a lease keeper that holds its
/// lease while `watch` lives (sharing the lease, so it never lapses), tell the caller through `answer`,
/// and only then confirm the claim. A claim the caller never learnt of (`answer` failed, or this process
/// died before confirming) is given back.
pub fn claim_for(ctx: &Ctx, watch: u32, answer: impl FnOnce(&Claimed) -> Result<(), Error>) -> Result<Claimed, Error> {
    let (t, lease_id) = claim(ctx, watch)?;
    let keeper = match lease::with_lease(&ctx.state, &t.name, &Holder::me(), lease::Share::HandOver, |_| {
        building::spawn_lease_keeper(&t, watch)
    }) {
        Ok(pid) => pid,
        Err(e) => {
            let _ = withdraw(ctx, &t.name, &lease_id);
            return Err(e);
        }
    };
    crate::failpoint::hit("pool-claim-answer");
    let c =
        Claimed { name: t.name.clone(), path: t.path.clone(), branch: t.branch.clone(), lease_id: lease_id.clone() };
    if let Err(e) = answer(&c).and_then(|_| confirm(ctx, &t.name, &lease_id)) {
        // The caller never learnt of the claim: give it back at once.
        lease::stop_keeper(&ctx.state, &t.name, &Holder { pid: keeper, ..Holder::me() });
        let _ = withdraw(ctx, &t.name, &lease_id);
        return Err(e);
    }
    Ok(c)
}

/// The claimant has received the claim: it is no longer pending. Until then a claim whose claiming
/// process died is given back by its keeper.
pub fn confirm(ctx: &Ctx, name: &str, lease_id: &str) -> Result<(), Error> {
    ctx.locked(|| {
        let mut t = ctx.tenant(name)?;
        match t.pool.as_mut().and_then(|p| p.claim.as_mut()) {
            Some(c) if c.lease_id == lease_id => c.pending = None,
            _ => return Err(Error::new(format!("the claim on '{name}' was lost before it was handed over"))),
        }
        registry::put(&ctx.state, &t)
    })
}

/// Withdraw a claim that was never handed to its claimant (nothing was done in the tenant).
pub fn withdraw(ctx: &Ctx, name: &str, lease_id: &str) -> Result<(), Error> {
    ctx.locked(|| {
        let mut t = ctx.tenant(name)?;
        if let Some(p) = t.pool.as_mut()
            && p.claim.as_ref().is_some_and(|c| c.lease_id == lease_id)
        {
            p.claim = None;
            registry::put(&ctx.state, &t)?;
        }
        Ok(())
    })
}

/// What `release` did.
#[derive(Debug, Clone, Serialize)]
pub struct Released {
    /// Tenant name.
    pub name: String,
    /// Back in the pool, reset to its base.
    pub reset: bool,
    /// Kept out of the pool because it holds work.
    pub kept: Option<String>,
}

/// Release a claim. `lease_id` must match unless `None` is passed by the claim's own holder (`run`).
/// The caller must hold the lease (or it must be dead).
pub fn release_in_lease(ctx: &Ctx, name: &str, lease_id: Option<&str>) -> Result<Released, Error> {
    let t = ctx.tenant(name)?;
    let claim = t.pool.as_ref().and_then(|p| p.claim.clone());
    if t.pool.is_none() {
        return Err(Error::usage(format!("tenant '{name}' is not a pool tenant")));
    }
    if let (Some(given), Some(c)) = (lease_id, &claim)
        && given != c.lease_id
    {
        return Err(Error::refused(format!("lease id does not match the claim on '{name}'"))
            .hint("pass the lease id `pool claim` printed; another process holds this claim"));
    }
    let t = reattach(ctx, &t)?;
    let t = finish_reset(ctx, &t)?;
    let work = building::work_in(ctx, &t)?;
    if !work.is_empty() {
        return keep_out(ctx, name, format!("released from the pool with {}", work.describe()));
    }
    // Nothing would be lost: move it to the base's current tip, by compare-and-swap against what was
    // checked (under the lock, checked again), so work made since is never reset away.
    let base = ctx.base_of(&t);
    let tip = crate::git::query::commit_of(&ctx.repo, &base)?;
    let full = format!("refs/heads/{}", t.branch);
    let changed = ctx.locked(|| {
        let again = building::work_in(ctx, &t)?;
        if !again.is_empty() {
            return Ok(Some(format!("released from the pool with {}", again.describe())));
        }
        let git_dir = building::worktree_at(&ctx.repo, &t.path)?.map(|w| w.git_dir);
        let on_branch = git_dir.as_deref().and_then(read_head_branch).as_deref() == Some(full.as_str());
        let (Some(head), true) = (again.head.clone(), on_branch) else {
            return Ok(Some("released from the pool with HEAD off its branch".to_string()));
        };
        if again.head != work.head || again.tip != work.tip || again.tip.as_deref() != Some(head.as_str()) {
            return Ok(Some("released from the pool while it changed".to_string()));
        }
        put_slot(ctx, name, |p| p.reset = Some(Reset { from: head.clone(), to: tip.clone() }))?;
        if !worktree::move_checked(&ctx.repo, &t.path, &full, &head, &tip)? {
            return Ok(Some("released from the pool while it changed".to_string()));
        }
        let mut r = ctx.tenant(name)?;
        r.base_oid = tip.clone();
        r.pool = Some(PoolSlot { claim: None, detached: None, reset: None });
        registry::put(&ctx.state, &r)?;
        events::append(&ctx.state, &Event::new("pool-release").tenant(&r.name, &r.branch, &r.path))?;
        Ok(None)
    })?;
    if let Some(reason) = changed {
        return keep_out(ctx, name, reason);
    }
    Ok(Released { name: name.into(), reset: true, kept: None })
}

/// Record, before checking it out, that the claimant holding `lease_id` is about to check out its own
/// `commit` detached in pool tenant `name` (the merge queue tests its speculative commits so, never moving
/// the tenant's branch). Refused unless the tenant is as the claimant left it: on its branch at the tip it
/// was claimed with, or detached at a commit recorded here. Release ([`release_in_lease`], also for a
/// claimant that died) puts it back on its branch.
pub fn note_detached(ctx: &Ctx, name: &str, lease_id: &str, commit: &str) -> Result<(), Error> {
    ctx.locked(|| {
        let mut t = ctx.tenant(name)?;
        let Some(slot) = t.pool.as_mut().filter(|p| p.claim.as_ref().is_some_and(|c| c.lease_id == lease_id)) else {
            return Err(Error::new(format!("the claim on pool tenant '{name}' was lost")));
        };
        let full = format!("refs/heads/{}", t.branch);
        let tip = refs::oid_of(&ctx.repo, &full)?
            .ok_or_else(|| Error::new(format!("pool tenant '{name}' has no branch {}", t.branch)))?;
        let d = slot.detached.get_or_insert_with(|| Detached { tip: tip.clone(), commits: Vec::new() });
        if !as_left(ctx, &t.path, &full, d, &tip)? {
            return Err(Error::refused(format!(
                "pool tenant '{name}' changed while claimed (its branch or HEAD moved); it is not used"
            ))
            .hint(format!("look at {} before `git neighbor pool release`", t.path.display())));
        }
        if !d.commits.iter().any(|c| c == commit) {
            d.commits.push(commit.to_string());
        }
        registry::put(&ctx.state, &t)?;
        crate::failpoint::hit("pool-detached-written");
        Ok(())
    })
}

/// Is the tenant at `path` as a claimant that recorded `d` left it: its branch `full` still at `d.tip`
/// (`tip` now), and HEAD on that branch or detached at one of the recorded commits?
fn as_left(ctx: &Ctx, path: &std::path::Path, full: &str, d: &Detached, tip: &str) -> Result<bool, Error> {
    if tip != d.tip {
        return Ok(false);
    }
    let Some(git_dir) = building::worktree_at(&ctx.repo, path)?.map(|w| w.git_dir) else { return Ok(false) };
    let head = status::head_commit(&ctx.repo, path);
    Ok(match read_head_branch(&git_dir) {
        Some(b) => b == full && head.as_deref() == Some(tip),
        None => head.is_some_and(|h| d.commits.contains(&h)),
    })
}

/// Put a tenant its claimant left detached at its own commits ([`note_detached`]) back on its branch, and
/// forget the record. Uncommitted changes there are saved as a rescue ref first (they may be a test's
/// output, but nothing proves it). A tenant not as the claimant left it (HEAD or branch moved: someone
/// committed there) is not touched: the checks of the release then keep it out of the pool.
fn reattach(ctx: &Ctx, t: &Tenant) -> Result<Tenant, Error> {
    let Some(d) = t.pool.as_ref().and_then(|p| p.detached.clone()) else { return Ok(t.clone()) };
    let full = format!("refs/heads/{}", t.branch);
    let tip = refs::oid_of(&ctx.repo, &full)?.unwrap_or_default();
    if !as_left(ctx, &t.path, &full, &d, &tip)? {
        return Ok(t.clone());
    }
    let work = building::work_in(ctx, t)?;
    if !work.unsaveable.is_empty() {
        return Ok(t.clone());
    }
    if !work.dirty.is_empty() {
        super::remove::rescue_tenant(ctx, t, "pool release after a detached checkout", Some(&tip), None)?;
    }
    crate::failpoint::hit("pool-reattach-rescued");
    worktree::attach_branch(&t.path, &t.branch, &t.carried.keys().cloned().collect::<Vec<_>>())?;
    ctx.locked(|| put_slot(ctx, &t.name, |p| p.detached = None))
}

/// Finish the move to its base that a killed release began ([`Reset`]): when the branch is already at
/// `to` but the index and files are still exactly `from` (nothing else on disk), move them too. Anything
/// else is left to the release's checks (a tenant holding changes is kept out, untouched). Forgets the
/// record either way.
fn finish_reset(ctx: &Ctx, t: &Tenant) -> Result<Tenant, Error> {
    let Some(r) = t.pool.as_ref().and_then(|p| p.reset.clone()) else { return Ok(t.clone()) };
    let full = format!("refs/heads/{}", t.branch);
    let git_dir = building::worktree_at(&ctx.repo, &t.path)?.map(|w| w.git_dir);
    if let Some(gd) = git_dir
        && refs::oid_of(&ctx.repo, &full)?.as_deref() == Some(r.to.as_str())
        && read_head_branch(&gd).as_deref() == Some(full.as_str())
        && r.from != r.to
    {
        let snap = super::rescue::snapshot(&ctx.repo, &t.path, &gd)?;
        let from_tree = worktree::tree_of(&t.path, &r.from)?;
        if snap.head == r.to && snap.index_tree == from_tree && snap.work_tree == from_tree {
            worktree::finish_move(&ctx.repo, &t.path, &r.from, &r.to)?;
        }
    }
    ctx.locked(|| put_slot(ctx, &t.name, |p| p.reset = None))
}

/// Re-read tenant `name`'s record, change its pool slot with `f`, write it back and return it. The caller
/// holds the building lock.
fn put_slot(ctx: &Ctx, name: &str, f: impl FnOnce(&mut PoolSlot)) -> Result<Tenant, Error> {
    let mut r = ctx.tenant(name)?;
    if let Some(p) = r.pool.as_mut() {
        f(p);
    }
    registry::put(&ctx.state, &r)?;
    Ok(r)
}

/// Take a released tenant out of the pool and keep it, because it holds work.
fn keep_out(ctx: &Ctx, name: &str, reason: String) -> Result<Released, Error> {
    ctx.locked(|| {
        let mut k = ctx.tenant(name)?;
        k.pool = None;
        k.kept = Some(registry::Kept { reason: reason.clone(), at_ms: state_dir::now_ms() });
        registry::put(&ctx.state, &k)?;
        events::append(
            &ctx.state,
            &Event::new("pool-keep").tenant(&k.name, &k.branch, &k.path).with("reason", reason.clone()),
        )
    })?;
    Ok(Released { name: name.into(), reset: false, kept: Some(reason) })
}

/// Release from the command line: stop the keeper that holds the lease for the claimant, take the lease,
/// then release.
pub fn release(ctx: &Ctx, name: &str, lease_id: &str) -> Result<Released, Error> {
    let t = ctx.tenant(name)?;
    let claim = t.pool.as_ref().and_then(|p| p.claim.clone());
    match &claim {
        Some(c) if c.lease_id == lease_id => {}
        Some(_) => {
            return Err(Error::refused(format!("lease id does not match the claim on '{name}'"))
                .hint("pass the lease id `pool claim` printed; another process holds this claim"));
        }
        None => return Err(Error::new(format!("tenant '{name}' is not claimed"))),
    }
    if let Some(h) = lease::lease_holder(&ctx.state, name) {
        if h.watch_pid.is_none() {
            return Err(Error::refused(format!("tenant '{name}' is in use: leased by {}", h.describe())));
        }
        // If the keeper does not let go, with_lease below refuses and names the holder.
        lease::stop_keeper(&ctx.state, name, &h);
    }
    lease::with_lease(&ctx.state, name, &Holder::me(), lease::Share::No, |_| {
        release_in_lease(ctx, name, Some(lease_id))
    })
}
