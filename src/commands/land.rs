//! `land`: a merge queue. One landing at a time (the `land.lock`): bring the tenant up to date with the
//! target, run the test in the tenant, then move the target with compare-and-swap. Conflicts or a failing
//! test change nothing on the target (exit 1) and mark the tenant kept with the reason.

use std::time::Duration;

use serde::Serialize;

use crate::building::events::{self, Event};
use crate::building::lease::{self, Holder, Share};
use crate::building::registry::Tenant;
use crate::building::{self, Ctx};
use crate::error::Error;
use crate::ui::Ui;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Tenant to land.
    pub name: String,
    /// Branch to land into (default: the tenant's base branch, else state.target).
    #[arg(long, value_name = "B")]
    pub into: Option<String>,
    /// Test to run in the tenant after it is brought up to date (run with `sh -c`).
    #[arg(long, value_name = "CMD")]
    pub test: Option<String>,
    /// Always make a merge commit on the target.
    #[arg(long, conflicts_with_all = ["squash", "rebase"])]
    pub no_ff: bool,
    /// Land the tenant's changes as one commit.
    #[arg(long, conflicts_with = "rebase")]
    pub squash: bool,
    /// Rebase the tenant onto the target instead of merging the target into it.
    #[arg(long)]
    pub rebase: bool,
    /// Keep the tenant after landing (default: remove it).
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Serialize)]
struct Landed {
    name: String,
    into: String,
    old: String,
    new: String,
    removed: bool,
}

fn target_of(ctx: &Ctx, t: &Tenant, into: &Option<String>) -> String {
    if let Some(b) = into {
        return b.clone();
    }
    t.base_ref
        .as_deref()
        .and_then(|r| r.strip_prefix("refs/heads/"))
        .map(String::from)
        .unwrap_or_else(|| ctx.config.state.target.clone())
}

pub fn run(ctx: &Ctx, ui: &Ui, a: &Args) -> Result<u8, Error> {
    let t = ctx.tenant(&a.name)?;
    let into = target_of(ctx, &t, &a.into);
    let full = format!("refs/heads/{into}");
    if ctx.repo.ref_target(&full).is_none() {
        return Err(Error::new(format!("branch '{into}' does not exist")).hint("pass --into with an existing branch"));
    }
    // One landing at a time, building-wide; tests may take a while, so this is not the building lock.
    let landed = lease::with_lease(&ctx.state, &t.name, &Holder::me(), Share::No, |_| {
        wait_queue(ctx, |_| land_one(ctx, ui, a, &t, &into))
    })?;
    if ui.json {
        ui.json_out(&landed)?;
    }
    ui.status(format!(
        "landed {} into {into}: {} -> {}{}",
        landed.name,
        &landed.old[..10],
        &landed.new[..10],
        if landed.removed { "; tenant removed" } else { "" }
    ));
    Ok(0)
}

/// Hold the land queue (a lease named `.land-queue`) while `f` runs, waiting up to `--lock-timeout`.
fn wait_queue<T>(ctx: &Ctx, f: impl FnOnce(&lease::LeaseFd<'_>) -> Result<T, Error>) -> Result<T, Error> {
    let start = std::time::Instant::now();
    let mut f = Some(f);
    loop {
        let r = lease::with_lease(&ctx.state, ".land-queue", &Holder::me(), Share::No, |fd| match f.take() {
            Some(g) => g(fd),
            None => Err(Error::new("land queue re-entered")),
        });
        match r {
            Err(e) if e.kind == crate::error::Kind::Refused && f.is_some() => {
                if start.elapsed() >= ctx.lock_timeout {
                    return Err(Error::lock_timeout(format!("another landing is in progress: {}", e.message))
                        .hint("wait for it, or raise --lock-timeout"));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

fn mark(ctx: &Ctx, t: &Tenant, why: &str) {
    let _ = building::set_kept(ctx, &t.name, Some(format!("land: {why}")));
}

fn land_one(ctx: &Ctx, ui: &Ui, a: &Args, t: &Tenant, into: &str) -> Result<Landed, Error> {
    let full = format!("refs/heads/{into}");
    let dirty = building::dirty_paths(&t.path)?;
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
        let git = || ctx.repo.git_in(&t.path);
        let updated = if a.rebase {
            git()?.args(["-c", "rebase.autoStash=false", "rebase", "--no-autostash", "--quiet", &old]).run()
        } else {
            git()?.args(["-c", "merge.autoStash=false", "merge", "--no-autostash", "--no-edit", "--quiet", &old]).run()
        };
        if let Err(e) = updated {
            let _ = git()?.args([if a.rebase { "rebase" } else { "merge" }, "--abort"]).run();
            mark(ctx, t, &format!("conflicts with {into}"));
            return Err(Error::new(format!("tenant '{}' conflicts with {into}; {into} is unchanged", t.name))
                .hint(format!("resolve it in {} (git merge {into}), commit, and land again", t.path.display()))
                .hint(e.stderr.lines().next().unwrap_or("").to_string()));
        }
        let head = git()?.args(["rev-parse", "HEAD"]).read()?;
        if head == old {
            return Err(Error::new(format!(
                "tenant '{}' has nothing to land: it has no commits not on {into}",
                t.name
            )));
        }
        // 2. Test, in the tenant.
        if let Some(test) = &a.test {
            ui.status(format!("land {}: testing: {test}", t.name));
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
        }
        // 3. The new target commit.
        let new = if a.squash {
            let tree = git()?.args(["rev-parse", "HEAD^{tree}"]).read()?;
            let msg = format!("land {}: squash of {}\n", t.name, t.branch);
            crate::building::rescue::with_identity(&ctx.repo, git()?)
                .args(["commit-tree", &tree, "-p", &old])
                .stdin(msg.into_bytes())
                .read()?
        } else if a.no_ff {
            let tree = git()?.args(["rev-parse", "HEAD^{tree}"]).read()?;
            let msg = format!("land {}: merge {} into {into}\n", t.name, t.branch);
            crate::building::rescue::with_identity(&ctx.repo, git()?)
                .args(["commit-tree", &tree, "-p", &old, "-p", &head])
                .stdin(msg.into_bytes())
                .read()?
        } else {
            head.clone()
        };
        // 4. Move the target: compare-and-swap, through git in its checkout if it has one.
        let checked_out = ctx.repo.worktrees()?.into_iter().find(|w| w.branch.as_deref() == Some(full.as_str()));
        let moved = match &checked_out {
            Some(w) => {
                let at = ctx.repo.git_in(&w.path)?.args(["rev-parse", "HEAD"]).read()?;
                if at != old {
                    continue;
                }
                ctx.repo.git_in(&w.path)?.args(["merge", "--ff-only", "--quiet", &new]).run().map_err(|e| {
                    Error::new(format!(
                        "{into} is checked out at {} and could not be updated: {}",
                        w.path.display(),
                        e.stderr.trim()
                    ))
                    .hint("commit or move the local changes there that the landing would overwrite")
                })
            }
            None => ctx
                .repo
                .git()?
                .args(["update-ref", "-m", &format!("git-neighbor land {}", t.name), &full, &new, &old])
                .run()
                .map_err(Error::from),
        };
        if moved.is_err() && ctx.repo.ref_target(&full).map(|o| o.to_string()) != Some(old.clone()) {
            continue; // the target moved under us: bring the tenant up to date again
        }
        moved?;
        if a.squash || a.no_ff {
            // The tenant's branch is now contained in (or squashed onto) the target: point it there.
            let _ = git()?.args(["reset", "--hard", "--quiet", &new]).run();
        }
        events::append(
            &ctx.state,
            &Event::new("land")
                .tenant(&t.name, &t.branch, &t.path)
                .with("into", into)
                .with("old", old.clone())
                .with("new", new.clone()),
        )?;
        let removed = if a.keep {
            false
        } else {
            let fresh = ctx.tenant(&t.name)?;
            building::remove_in_lease(ctx, &fresh, false, false).is_ok()
        };
        return Ok(Landed { name: t.name.clone(), into: into.to_string(), old, new, removed });
    }
    Err(Error::new(format!("{into} kept moving while landing '{}'; nothing was changed", t.name)).hint("try again"))
}
