//! `safe-pull`: bring a checkout up to date without ever stashing, and never lose uncommitted work.
//!
//! The incident behind this: `git pull --rebase --autostash` in a dirty checkout while the fleet pushes
//! exits 0, leaves conflict markers inside `state/agents.json` and parks the user's edits in the stash that
//! every worktree shares. Here nothing is stashed. The upstream is fetched into `FETCH_HEAD` only, then:
//!
//! * clean tree: fast-forward, or rebase local commits (`--no-autostash`, and `rebase.autoStash=false` so
//!   no config can turn it back on); a conflicting rebase is aborted and nothing changes;
//! * dirty tree, fleet live: refuse; nothing is touched;
//! * `--evacuate`: the changes become a commit on a new tenant, the checkout is cleaned (after a rescue
//!   ref), then pulled;
//! * dirty tree, fleet idle: rescue ref first, then the changes are merged onto the new HEAD *in memory*
//!   (`git merge-tree`) for both the files and the index; only a clean result is checked out. A conflict
//!   restores the exact pre-pull HEAD, index and files.
//!
//! Files move only through `git read-tree -m -u <from> <to>` on a private index that was just built from
//! the files on disk: git then refuses to overwrite untracked files, and a check that the files still
//! are `<from>` catches a concurrent writer. git treats *ignored* files as expendable (its checkout,
//! merge and rebase overwrite them), so before anything moves, a pull that would overwrite or delete an
//! ignored file (upstream starts tracking `.env`) is refused with exit 3, every path untouched. No path
//! ever writes conflict markers into the worktree.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::building::events::{self, Event};
use crate::building::registry;
use crate::building::rescue::{self, Snapshot, TempIndex};
use crate::building::state_dir;
use crate::building::{self, AddRequest, Ctx};
use crate::error::Error;
use crate::git::{Repo, checkout, commit, merge, refs, worktree};
use crate::protect::liveness::{self, Liveness, Upstream};

/// The oldest git whose `merge-tree --write-tree --merge-base` lets us re-apply changes in memory.
pub const REAPPLY_GIT: (u32, u32, u32) = (2, 40, 0);

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Remote (default: the current branch's upstream remote).
    pub remote: Option<String>,
    /// Branch on the remote (default: the current branch's upstream branch).
    pub branch: Option<String>,
    /// `--evacuate [NAME]`: `Some(None)` without a name.
    pub evacuate: Option<Option<String>>,
}

/// How a safe-pull ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The upstream was already contained in HEAD.
    UpToDate,
    /// HEAD moved forward to the upstream tip.
    FastForward,
    /// Local commits were rebased onto the upstream tip.
    Rebased,
    /// Dirty tree and live fleet: nothing done (exit 3).
    Refused,
    /// A rebase or the re-applying of changes would conflict: nothing changed (exit 1).
    Conflict,
}

/// Where evacuated changes went.
#[derive(Debug, Clone, Serialize)]
pub struct Evacuated {
    /// The new tenant's name.
    pub tenant: String,
    /// Its worktree path.
    pub path: PathBuf,
    /// Its branch.
    pub branch: String,
    /// The commit holding the changes.
    pub commit: String,
}

/// The result of one safe-pull, for `--json` and for messages.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// How it ended.
    pub result: Outcome,
    /// `origin/main` style name of what was pulled.
    pub upstream: String,
    /// Remote name or URL.
    pub remote: String,
    /// Full ref pulled from the remote.
    pub branch: String,
    /// The fetched upstream tip.
    pub fetched: String,
    /// HEAD before.
    pub from: String,
    /// HEAD after (equal to `from` unless it moved).
    pub to: String,
    /// Paths that had uncommitted changes (tracked, or untracked and not ignored).
    pub dirty: Vec<String>,
    /// The uncommitted changes were re-applied on the new HEAD (index and files).
    pub reapplied: bool,
    /// `--evacuate`: the tenant now holding the changes.
    pub evacuated: Option<Evacuated>,
    /// Rescue ref saved before anything was touched.
    pub rescue: Option<String>,
    /// `conflict`: which step conflicted (`rebase` or `reapply`).
    pub conflict_in: Option<String>,
    /// `conflict`: the conflicting paths.
    pub conflicts: Vec<String>,
    /// Fleet liveness and its evidence.
    pub fleet: Liveness,
}

/// Run a safe-pull in the current worktree. `on_evacuated` is called as soon as evacuated changes are
/// committed in their tenant (so its path can be printed even if the pull then fails).
pub fn safe_pull(
    ctx: &Ctx,
    req: &Request,
    on_evacuated: &dyn Fn(&Evacuated) -> Result<(), Error>,
) -> Result<Report, Error> {
    let repo = &ctx.repo;
    let wt = repo.workdir.clone().ok_or_else(|| {
        Error::new("safe-pull needs a checkout; this repository is bare").hint("run it inside a worktree")
    })?;
    let git_dir = repo.git_dir.clone();
    check_no_operation(&git_dir, &wt)?;
    let up = target(repo, req)?;
    let head = repo.gix.head_id().map(|id| id.detach().to_string()).map_err(|_| {
        Error::new("this checkout has no commit yet; there is nothing to rebase onto").hint("use `git pull` once")
    })?;
    let tip = liveness::fetch(repo, &up)?;
    let fleet = liveness::assess(ctx, Some(liveness::upstream_evidence(ctx, &up, Some(&tip), true, None)));
    let dirty = building::dirty_paths(&wt)?;
    let relation = relation(repo, &head, &tip)?;
    if relation != Relation::UpToDate {
        let in_the_way = worktree::ignored_in_the_way(&wt, &head, &tip, &dirty)?;
        if !in_the_way.is_empty() {
            return Err(Error::refused(format!(
                "{} now tracks {}, which exists here untracked (ignored); pulling would overwrite it",
                up.short(),
                crate::building::queue::list_paths(&in_the_way)
            ))
            .hint("move it aside (ignored files are in no commit and no rescue ref), then run safe-pull again"));
        }
    }
    let mut report = Report {
        result: Outcome::UpToDate,
        upstream: up.short(),
        remote: up.remote.clone(),
        branch: up.branch.clone(),
        fetched: tip.clone(),
        from: head.clone(),
        to: head.clone(),
        dirty,
        reapplied: false,
        evacuated: None,
        rescue: None,
        conflict_in: None,
        conflicts: Vec::new(),
        fleet,
    };
    let p = Pull { ctx, repo, wt: &wt, git_dir: &git_dir, up: &up, head: &head, tip: &tip };

    if let (Some(name), false) = (&req.evacuate, report.dirty.is_empty()) {
        let snap = rescue::snapshot(repo, &wt, &git_dir)?;
        if snap.dirty() {
            let ev = p.evacuate(&snap, name.as_deref())?;
            on_evacuated(&ev)?;
            report.evacuated = Some(ev);
            let (_, work) = p.rescue_commits(&snap)?;
            let r = p.store_rescue(&work)?;
            report.rescue = Some(r.r#ref.clone());
            let hint = restore_hint(&r);
            p.transition(&snap.work_tree, &snap.head_tree, &snap.head_tree, None, "").map_err(|e| e.hint(hint))?;
            report.dirty = Vec::new();
        }
    }
    let report = if relation == Relation::UpToDate {
        report
    } else if report.dirty.is_empty() {
        p.pull_clean(relation, report)?
    } else if report.fleet.live {
        report.result = Outcome::Refused;
        return Ok(report);
    } else {
        p.pull_dirty(relation, report)?
    };
    if matches!(report.result, Outcome::UpToDate | Outcome::FastForward | Outcome::Rebased) {
        follow_tracking_ref(repo, &up, &tip);
    }
    Ok(report)
}

/// After a pull that took the upstream's tip, move the upstream's remote-tracking ref there too, as
/// `git pull` does, so `git status` does not report the branch ahead of a ref that was simply not updated.
/// Only forward, only by compare-and-swap; a failure changes nothing and is not the pull's failure.
fn follow_tracking_ref(repo: &Repo, up: &liveness::Upstream, tip: &str) {
    let Some(tracking) = up.tracking_ref(repo) else { return };
    if up.remote == "." {
        return; // a local branch as upstream: nothing to track
    }
    let old = repo.ref_target(&tracking).map(|o| o.to_string());
    let reason = format!("safe-pull: fetch {}", up.short());
    let _ = match old {
        Some(o) if o == tip => Ok(()),
        Some(o) if crate::git::revs::is_ancestor(repo, &o, tip).unwrap_or(false) => {
            crate::git::refs::update_cas(repo, &tracking, tip, &o, &reason)
        }
        Some(_) => Ok(()),
        None => crate::git::query::create_ref(repo, &tracking, tip, &reason),
    };
}

/// How HEAD relates to the fetched tip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Relation {
    UpToDate,
    FastForward,
    Diverged,
}

fn relation(repo: &Repo, head: &str, tip: &str) -> Result<Relation, Error> {
    if head == tip {
        return Ok(Relation::UpToDate);
    }
    // One merge-base answers both questions.
    let base = merge::merge_base(repo, head, tip)?.unwrap_or_default();
    Ok(if base == tip {
        Relation::UpToDate
    } else if base == head {
        Relation::FastForward
    } else {
        Relation::Diverged
    })
}

/// Refuse to start in the middle of someone's rebase, merge, cherry-pick or revert.
fn check_no_operation(git_dir: &Path, wt: &Path) -> Result<(), Error> {
    let ops = [
        ("rebase-merge", "a rebase"),
        ("rebase-apply", "a rebase (or `git am`)"),
        ("MERGE_HEAD", "a merge"),
        ("CHERRY_PICK_HEAD", "a cherry-pick"),
        ("REVERT_HEAD", "a revert"),
    ];
    for (file, what) in ops {
        if git_dir.join(file).exists() {
            return Err(Error::new(format!("{what} is in progress in {}", wt.display()))
                .hint("finish it (or abort it) first, then run safe-pull again"));
        }
    }
    Ok(())
}

/// The upstream to pull: explicit `<remote> [<branch>]`, else the current branch's configured upstream.
fn target(repo: &Repo, req: &Request) -> Result<Upstream, Error> {
    let full = |b: &str| if b.starts_with("refs/") { b.to_string() } else { format!("refs/heads/{b}") };
    let configured = liveness::current_upstream(repo)?;
    match (&req.remote, &req.branch) {
        (Some(remote), Some(branch)) => Ok(Upstream { remote: remote.clone(), branch: full(branch) }),
        (Some(remote), None) => match configured {
            Some(up) if &up.remote == remote => Ok(up),
            _ => Err(Error::usage(format!("which branch of '{remote}'? the current branch does not track it"))
                .hint(format!("git neighbor safe-pull {remote} <branch>"))),
        },
        (None, _) => configured.ok_or_else(|| {
            Error::new("the current branch has no upstream to pull from")
                .hint("pass one: git neighbor safe-pull <remote> <branch>")
                .hint("or set one: git branch --set-upstream-to=<remote>/<branch>")
        }),
    }
}

fn restore_hint(r: &rescue::Rescue) -> String {
    format!("your work is saved in {}: git neighbor rescue show {} / rescue restore {}", r.r#ref, r.id, r.id)
}

/// One safe-pull's fixed facts.
struct Pull<'a> {
    ctx: &'a Ctx,
    repo: &'a Repo,
    wt: &'a Path,
    git_dir: &'a Path,
    up: &'a Upstream,
    head: &'a str,
    tip: &'a str,
}

impl Pull<'_> {
    fn current_head(&self) -> Result<String, Error> {
        // gix reads HEAD and the branch ref from disk on every call, so this sees what git just wrote.
        match self.repo.gix.head_id() {
            Ok(id) => Ok(id.detach().to_string()),
            Err(_) => worktree::head(self.wt),
        }
    }

    /// Move the files from tree `from` to tree `to`, set the index to `index`, and move HEAD from
    /// `head.1` to `head.0` when given. Refuses (changing nothing) when the files are no longer `from`.
    fn transition(
        &self,
        from: &str,
        to: &str,
        index: &str,
        head: Option<(&str, &str)>,
        why: &str,
    ) -> Result<(), Error> {
        let tmp = TempIndex::copy_of_real(self.git_dir)?;
        let now = tmp.stage_all_files(self.repo, self.wt)?;
        if now != from {
            return Err(Error::new(format!("files in {} changed while safe-pull was running", self.wt.display()))
                .hint("stop whatever is writing there, then run safe-pull again"));
        }
        if from != to {
            tmp.move_files(self.repo, self.wt, from, to)?;
        }
        checkout::reset_index(self.repo, self.wt, index)?;
        if let Some((new, old)) = head {
            // `self.wt` is the current worktree, so the door's `HEAD` is this checkout's HEAD.
            refs::update_cas(self.repo, "HEAD", new, old, why)?;
        }
        let _ = checkout::refresh_index(self.repo, self.wt);
        Ok(())
    }

    /// The snapshot as a rescue commit (files; parents HEAD and the index): objects only, no ref yet.
    fn rescue_commits(&self, snap: &Snapshot) -> Result<(String, String), Error> {
        let subject = format!("rescue: {} before safe-pull", self.wt.display());
        let trailers = [
            ("Neighbor-Rescue-Path", self.wt.display().to_string()),
            ("Neighbor-Rescue-Branch", snap.branch.as_deref().map(building::short_ref).unwrap_or("(detached)".into())),
            ("Neighbor-Rescue-Source", "safe-pull".to_string()),
            ("Neighbor-Rescue-Upstream", format!("{} {}", self.up.short(), self.tip)),
        ];
        rescue::commit_snapshot(self.repo, self.wt, snap, &subject, &trailers)
    }

    /// Name a rescue commit under `refs/neighbor/rescue/` and log it.
    fn store_rescue(&self, work_commit: &str) -> Result<rescue::Rescue, Error> {
        let subject = format!("rescue: {} before safe-pull", self.wt.display());
        let r = rescue::store(self.repo, "safe-pull", work_commit, &subject)?;
        let mut ev = Event::new("rescue").with("ref", r.r#ref.clone()).with("source", "safe-pull");
        ev.path = Some(self.wt.display().to_string());
        let _ = events::append(&self.ctx.state, &ev);
        Ok(r)
    }

    /// Commit the snapshot's files on a new tenant branched from HEAD; the checkout is not touched.
    fn evacuate(&self, snap: &Snapshot, name: Option<&str>) -> Result<Evacuated, Error> {
        let name = match name {
            Some(n) => {
                registry::validate_name(n)?;
                n.to_string()
            }
            None => self.free_name()?,
        };
        if registry::get(&self.ctx.state, &name)?.is_some() {
            return Err(Error::new(format!("a tenant named '{name}' already exists"))
                .hint("pick another name: git neighbor safe-pull --evacuate <NAME>"));
        }
        let from = snap.branch.as_deref().map(building::short_ref).unwrap_or_else(|| "(detached HEAD)".into());
        let msg = format!(
            "safe-pull --evacuate: uncommitted work from {}\n\nNeighbor-Evacuated-From: {}\nNeighbor-Evacuated-Branch: {from}\nNeighbor-Evacuated-Head: {}\n",
            self.wt.display(),
            self.wt.display(),
            snap.head
        );
        let commit = commit::commit_tree(self.repo, self.wt, &snap.work_tree, &[&snap.head], &msg)?;
        // Based on HEAD (by ref when on a branch), so the evacuated commit counts as unmerged work.
        let req = AddRequest { name: name.clone(), base: Some("HEAD".into()), ..AddRequest::default() };
        let t = building::add(self.ctx, &req)?;
        worktree::reset_hard(self.repo, &t.path, &commit)?;
        let there = worktree::head(&t.path)?;
        if there != commit {
            return Err(Error::new(format!("tenant {} did not end at the evacuated commit {commit}", t.name)));
        }
        let _ = events::append(
            &self.ctx.state,
            &Event::new("evacuate")
                .tenant(&t.name, &t.branch, &t.path)
                .with("from", self.wt.display().to_string())
                .with("commit", commit.clone()),
        );
        Ok(Evacuated { tenant: t.name, path: t.path, branch: t.branch, commit })
    }

    fn free_name(&self) -> Result<String, Error> {
        let stamp: String =
            state_dir::rfc3339(state_dir::now_ms()).chars().filter(|c| c.is_ascii_digit()).take(14).collect();
        let base = format!("evacuated-{}-{}", &stamp[..8.min(stamp.len())], &stamp[8.min(stamp.len())..]);
        for i in 1..100 {
            let n = if i == 1 { base.clone() } else { format!("{base}-{i}") };
            if registry::get(&self.ctx.state, &n)?.is_none() {
                return Ok(n);
            }
        }
        Err(Error::new("cannot find a free tenant name for the evacuation").hint("pass one: --evacuate <NAME>"))
    }

    /// Rebase HEAD onto the tip with autostash off whatever the config says. On a conflict the rebase is
    /// aborted and the conflicting paths are returned.
    fn rebase(&self) -> Result<Result<String, Vec<String>>, Error> {
        let Err(failed) = merge::rebase(self.repo, self.wt, self.tip)? else { return Ok(Ok(self.current_head()?)) };
        let conflicts = merge::unmerged_paths(self.repo, self.wt).unwrap_or_default();
        if self.git_dir.join("rebase-merge").exists() || self.git_dir.join("rebase-apply").exists() {
            merge::abort_rebase(self.repo, self.wt).map_err(|e| {
                Error::from(e)
                    .context("the rebase failed and could not be aborted")
                    .hint("run `git rebase --abort` yourself; nothing was stashed")
            })?;
        }
        if self.current_head()? != self.head {
            return Err(Error::new("the rebase failed and HEAD did not return to where it was")
                .hint(format!("HEAD was {}; check `git reflog`", self.head)));
        }
        if conflicts.is_empty() {
            return Err(Error::from(failed).context("rebase failed; it was aborted and nothing changed"));
        }
        Ok(Err(conflicts))
    }

    fn pull_clean(&self, relation: Relation, mut report: Report) -> Result<Report, Error> {
        match relation {
            Relation::UpToDate => {}
            Relation::FastForward => {
                // The checkout is clean, so git's own fast-forward is safe: it refuses rather than overwrite
                // anything that changed since we looked, and it is one process.
                let why = format!("safe-pull: fast-forward to {}", self.up.short());
                checkout::fast_forward_with(self.wt, self.tip, &[("GIT_REFLOG_ACTION", &why)]).map_err(|e| {
                    Error::from(e).hint("the checkout changed while pulling; nothing was lost: run safe-pull again")
                })?;
                report.result = Outcome::FastForward;
            }
            Relation::Diverged => match self.rebase()? {
                Ok(_) => report.result = Outcome::Rebased,
                Err(paths) => {
                    report.result = Outcome::Conflict;
                    report.conflict_in = Some("rebase".into());
                    report.conflicts = paths;
                }
            },
        }
        report.to = self.current_head()?;
        Ok(report)
    }

    fn pull_dirty(&self, relation: Relation, mut report: Report) -> Result<Report, Error> {
        let version = crate::git::version()?;
        if version < REAPPLY_GIT {
            return Err(Error::refused(format!(
                "re-applying uncommitted changes needs git {}.{} or newer (this is {}.{}.{})",
                REAPPLY_GIT.0, REAPPLY_GIT.1, version.0, version.1, version.2
            ))
            .hint("commit your changes first, or move them aside: git neighbor safe-pull --evacuate"));
        }
        let snap = rescue::snapshot(self.repo, self.wt, self.git_dir)?;
        if !snap.dirty() {
            // Only a dirty submodule or the like: nothing of ours to carry.
            return self.pull_clean(relation, report);
        }
        let (index_commit, work_commit) = self.rescue_commits(&snap)?;
        if relation == Relation::FastForward {
            // Everything is decided before anything is touched: a conflict changes nothing at all.
            let merged = self.reapply_onto(self.tip, &index_commit, &work_commit)?;
            let (work, index) = match merged {
                Ok(trees) => trees,
                Err(paths) => {
                    report.result = Outcome::Conflict;
                    report.conflict_in = Some("reapply".into());
                    report.conflicts = paths;
                    return Ok(report);
                }
            };
            let r = self.store_rescue(&work_commit)?;
            report.rescue = Some(r.r#ref.clone());
            let why = format!("safe-pull: fast-forward to {}", self.up.short());
            self.transition(&snap.work_tree, &work, &index, Some((self.tip, self.head)), &why)
                .map_err(|e| e.hint(restore_hint(&r)))?;
            report.result = Outcome::FastForward;
            report.reapplied = true;
            report.to = self.current_head()?;
            return Ok(report);
        }
        // Diverged: git's rebase needs a clean tree. Rescue first, then clean, rebase, re-apply.
        let r = self.store_rescue(&work_commit)?;
        report.rescue = Some(r.r#ref.clone());
        let hint = restore_hint(&r);
        let out = (|| -> Result<Report, Error> {
            self.transition(&snap.work_tree, &snap.head_tree, &snap.head_tree, None, "")?;
            let new_head = match self.rebase()? {
                Ok(h) => h,
                Err(paths) => {
                    self.transition(&snap.head_tree, &snap.work_tree, &snap.index_tree, None, "")?;
                    report.result = Outcome::Conflict;
                    report.conflict_in = Some("rebase".into());
                    report.conflicts = paths;
                    return Ok(report.clone());
                }
            };
            let new_tree = worktree::tree_of(self.wt, &new_head)?;
            match self.reapply_onto(&new_head, &index_commit, &work_commit)? {
                Ok((work, index)) => {
                    self.transition(&new_tree, &work, &index, None, "")?;
                    report.result = Outcome::Rebased;
                    report.reapplied = true;
                    report.to = new_head;
                }
                Err(paths) => {
                    let why = "safe-pull: restore after a conflicting re-apply";
                    self.transition(&new_tree, &snap.work_tree, &snap.index_tree, Some((self.head, &new_head)), why)?;
                    report.result = Outcome::Conflict;
                    report.conflict_in = Some("reapply".into());
                    report.conflicts = paths;
                }
            }
            Ok(report.clone())
        })();
        out.map_err(|e| e.hint(hint))
    }

    /// The files and the index of the snapshot merged onto `onto` (base: the old HEAD).
    fn reapply_onto(
        &self,
        onto: &str,
        index_commit: &str,
        work_commit: &str,
    ) -> Result<Result<(String, String), Vec<String>>, Error> {
        let work = merge::merge_trees(self.repo, self.wt, self.head, onto, work_commit)?;
        let index = merge::merge_trees(self.repo, self.wt, self.head, onto, index_commit)?;
        Ok(match (work, index) {
            (Ok(w), Ok(i)) => Ok((w, i)),
            (Err(mut a), Err(b)) => {
                a.extend(b);
                a.sort();
                a.dedup();
                Err(a)
            }
            (Err(a), _) | (_, Err(a)) => Err(a),
        })
    }
}
