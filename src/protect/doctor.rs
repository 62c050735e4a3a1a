//! `doctor`: find what makes a building unsafe and repair only what cannot lose data.
//!
//! Checks: git version, config, registry records, stale tenants and `index.lock`s (the prune plan), orphaned
//! tenant branches, stash entries (every worktree shares `refs/stash`; an autostash left there is the
//! incident's hidden work), rebase state left in a worktree, conflict markers and broken JSON in state
//! files, missing hooks, autostash turned on in git config. `fix` repairs: prune-safe items (re-checked by
//! the prune executor), merged orphan branches (their commits live elsewhere), hooks (reinstalled), and
//! stashes, which are never dropped: each is saved as a rescue ref and reported. Everything else is
//! reported with what to do.

use crate::git::query;
use std::collections::BTreeSet;
use std::path::Path;

use serde::Serialize;

use crate::building::Ctx;
use crate::building::events::{self, Event};
use crate::building::prune::{self, Action};
use crate::building::registry;
use crate::building::rescue;
use crate::error::Error;
use crate::protect::guard;
use crate::protect::hooks;

/// The oldest git git-neighbor supports.
pub const MIN_GIT: (u32, u32, u32) = (2, 30, 0);

/// How a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The check passed.
    Ok,
    /// Worth knowing, and maybe worth fixing, but it neither loses work nor blocks the fleet: doctor still
    /// exits 0.
    Warning,
    /// Can lose work or block the fleet: doctor exits 1 while any remain.
    Problem,
    /// Was a problem; `--fix` repaired it.
    Fixed,
}

/// A repair `--fix` may make.
#[derive(Debug, Clone)]
enum Fix {
    Sweep(prune::Item),
    DeleteBranch { full: String, tip: String },
    Rescue { commit: String, label: String, subject: String },
    InstallHooks,
    RecoverFrame,
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// Which check: `git-version`, `config`, `registry`, `stale`, `setup`, `orphan-branch`, `stash`,
    /// `rebase-state`, `rebase-autostash`, `state-markers`, `state-json`, `hooks`, `autostash-config`.
    pub check: String,
    /// Its standing.
    pub status: Status,
    /// What was found.
    pub message: String,
    /// What to do about it.
    pub hint: Option<String>,
    /// The file or worktree concerned.
    pub path: Option<String>,
    /// The ref concerned.
    pub r#ref: Option<String>,
    /// `--fix` can repair it without losing anything.
    pub fixable: bool,
    #[serde(skip)]
    fix: Option<Fix>,
}

impl Finding {
    fn new(check: &str, status: Status, message: impl Into<String>) -> Self {
        Finding {
            check: check.into(),
            status,
            message: message.into(),
            hint: None,
            path: None,
            r#ref: None,
            fixable: false,
            fix: None,
        }
    }
    fn hint(mut self, h: impl Into<String>) -> Self {
        self.hint = Some(h.into());
        self
    }
    fn path(mut self, p: impl AsRef<Path>) -> Self {
        self.path = Some(p.as_ref().display().to_string());
        self
    }
    fn with_ref(mut self, r: impl Into<String>) -> Self {
        self.r#ref = Some(r.into());
        self
    }
    fn fix(mut self, f: Fix) -> Self {
        self.fixable = true;
        self.fix = Some(f);
        self
    }
}

/// Everything doctor found (and fixed).
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// No problem remains.
    pub healthy: bool,
    /// Problems remaining.
    pub problems: usize,
    /// Warnings.
    pub warnings: usize,
    /// Problems fixed by `--fix`.
    pub fixed: usize,
    /// Every finding, `ok` ones included.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Count and wrap findings.
    pub fn new(findings: Vec<Finding>) -> Self {
        let count = |s: Status| findings.iter().filter(|f| f.status == s).count();
        let problems = count(Status::Problem);
        Report {
            healthy: problems == 0,
            problems,
            warnings: count(Status::Warning),
            fixed: count(Status::Fixed),
            findings,
        }
    }
}

/// Run every check. `config_error` is the error loading `.neighbor.toml` gave, if any.
pub fn examine(ctx: &Ctx, config_error: Option<&Error>) -> Result<Vec<Finding>, Error> {
    let mut out = Vec::new();
    check_git(&mut out);
    match config_error {
        Some(e) => out.push(
            Finding::new("config", Status::Problem, format!("invalid configuration: {}", e.message))
                .hint(e.hints.first().cloned().unwrap_or_else(|| format!("fix {}", crate::config::FILE))),
        ),
        None => out.push(Finding::new(
            "config",
            Status::Ok,
            match &ctx.config.source {
                Some(p) => format!("{} is valid", p.display()),
                None => "no .neighbor.toml (defaults)".to_string(),
            },
        )),
    }
    check_registry(ctx, &mut out)?;
    check_stale(ctx, &mut out)?;
    check_setup(ctx, &mut out)?;
    check_orphans(ctx, &mut out)?;
    check_stash(ctx, &mut out)?;
    check_rebase_state(ctx, &mut out)?;
    check_state_files(ctx, &mut out)?;
    check_frames(ctx, &mut out)?;
    check_hooks(ctx, &mut out)?;
    check_autostash_config(ctx, &mut out);
    Ok(out)
}

fn check_git(out: &mut Vec<Finding>) {
    match crate::git::version() {
        Ok(v) if v < MIN_GIT => out.push(
            Finding::new("git-version", Status::Problem, format!("git {}.{}.{} is too old", v.0, v.1, v.2))
                .hint(format!("install git {}.{} or newer", MIN_GIT.0, MIN_GIT.1)),
        ),
        Ok(v) if v < crate::protect::safe_pull::REAPPLY_GIT => out.push(
            Finding::new(
                "git-version",
                Status::Warning,
                format!("git {}.{}.{}: safe-pull cannot re-apply uncommitted changes (needs 2.40)", v.0, v.1, v.2),
            )
            .hint("upgrade git, or commit (or --evacuate) before safe-pull"),
        ),
        Ok(v) => out.push(Finding::new("git-version", Status::Ok, format!("git {}.{}.{}", v.0, v.1, v.2))),
        Err(e) => out.push(Finding::new("git-version", Status::Problem, e.message)),
    }
}

fn check_registry(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    let (_, bad) = registry::all(&ctx.state)?;
    if bad.is_empty() {
        out.push(Finding::new("registry", Status::Ok, "registry records readable"));
    }
    for b in bad {
        out.push(
            Finding::new("registry", Status::Problem, b)
                .hint("if that tenant is gone, delete the record; otherwise restore it from its worktree"),
        );
    }
    Ok(())
}

fn check_stale(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    let mut any = false;
    for item in prune::plan(ctx)? {
        let ephemeral =
            item.name.as_deref().and_then(|n| registry::get(&ctx.state, n).ok().flatten()).is_some_and(|t| t.ephemeral);
        // Old merged tenants are prune's business, not a health problem; work is never touched.
        let stale = match item.action {
            Action::Keep => false,
            Action::Remove => ephemeral,
            _ => true,
        };
        // A tenant whose directory went missing while git keeps its metadata (moved?) needs a person.
        let tenant_gone = item.action == Action::Keep
            && !item.path.exists()
            && item
                .name
                .as_deref()
                .and_then(|n| registry::get(&ctx.state, n).ok().flatten())
                .is_some_and(|t| t.path == item.path);
        if tenant_gone {
            any = true;
            let name = item.name.as_deref().unwrap_or("?");
            out.push(
                Finding::new("stale", Status::Problem, format!("tenant {name}: {}", item.reason)).path(&item.path),
            );
            continue;
        }
        if !stale {
            continue;
        }
        any = true;
        let what = match item.action {
            Action::Unlock => "stale index.lock".to_string(),
            _ => format!("stale tenant {}", item.name.as_deref().unwrap_or("?")),
        };
        out.push(
            Finding::new("stale", Status::Problem, format!("{what}: {}", item.reason))
                .path(&item.path)
                .hint("`git neighbor prune` (or doctor --fix) cleans it up; work is never removed")
                .fix(Fix::Sweep(item.clone())),
        );
    }
    if !any {
        out.push(Finding::new("stale", Status::Ok, "no stale tenants or locks"));
    }
    Ok(())
}

/// `[setup]`: commands nobody approved (every new tenant is refused), and tenants whose setup failed.
/// Both are warnings: nothing is lost, and the fleet's existing tenants work. Silent when all is well.
fn check_setup(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    if let Err(e) = crate::protect::trust::check(ctx, None)
        && e.kind == crate::error::Kind::Refused
    {
        out.push(
            Finding::new("setup", Status::Warning, e.message.replace("; nothing was created", ""))
                .hint("new tenants are refused until then: look at them with `git neighbor trust --show`"),
        );
    }
    for row in crate::building::survey(ctx)? {
        if row.status != crate::building::Status::SetupFailed {
            continue;
        }
        let name = row.name.as_deref().unwrap_or("?");
        out.push(
            Finding::new("setup", Status::Warning, format!("tenant {name}: {}", row.reason.as_deref().unwrap_or("")))
                .path(&row.path)
                .hint(format!("`run` will not start in it; when done looking: git neighbor remove {name}")),
        );
    }
    Ok(())
}

/// The fixed part of the branch template before any `{…}`, e.g. `neighbor/`.
fn branch_prefix(template: &str) -> Option<String> {
    let p = template.split('{').next().unwrap_or("");
    (!p.is_empty() && p.ends_with('/')).then(|| p.to_string())
}

fn check_orphans(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    let Some(prefix) = branch_prefix(&ctx.config.worktrees.branch) else {
        out.push(Finding::new("orphan-branch", Status::Ok, "branch template has no fixed prefix; not checked"));
        return Ok(());
    };
    let (tenants, _) = registry::all(&ctx.state)?;
    let mut owned: BTreeSet<String> = tenants.iter().map(|t| format!("refs/heads/{}", t.branch)).collect();
    owned.extend(ctx.repo.worktrees()?.into_iter().filter_map(|w| w.branch));
    // A branch that `remove`/`prune` left behind on purpose (`--keep-branch`, unmerged commits, moved
    // after the check) was kept for its owner: it is not an orphan.
    owned.extend(
        crate::building::events::read_all(&ctx.state)?
            .into_iter()
            .filter(|e| matches!(e.event.as_str(), "remove" | "prune"))
            .filter(|e| e.extra.get("branch_deleted") == Some(&serde_json::Value::Bool(false)))
            .filter_map(|e| e.branch.map(|b| format!("refs/heads/{b}"))),
    );
    let listing = crate::git::refs::under(&ctx.repo, &format!("refs/heads/{prefix}"))?;
    let orphans: Vec<(&str, &str)> =
        listing.iter().map(|(r, o)| (r.as_str(), o.as_str())).filter(|(full, _)| !owned.contains(*full)).collect();
    let any = !orphans.is_empty();
    for &(full, tip) in &orphans {
        let short = full.strip_prefix("refs/heads/").unwrap_or(full);
        // Only a ref that stays counts: the other orphans may be deleted by this same fix.
        let elsewhere = query::refs_containing(&ctx.repo, tip, &["refs/heads", "refs/remotes", "refs/tags"])?
            .iter()
            .any(|r| r != full && !orphans.iter().any(|(o, _)| o == r));
        // A branch loses nothing while it exists and blocks no one: worth knowing, not a failure.
        let f = Finding::new("orphan-branch", Status::Warning, format!("branch {short} belongs to no tenant"))
            .with_ref(full);
        out.push(if elsewhere {
            f.hint("its commits are on other branches too: deleting it loses nothing (doctor --fix does)")
                .fix(Fix::DeleteBranch { full: full.to_string(), tip: tip.to_string() })
        } else {
            f.hint(format!(
                "its commits exist nowhere else: continue it (git neighbor add <name> --base {short}) or delete it yourself if unwanted"
            ))
        });
    }
    if !any {
        out.push(Finding::new("orphan-branch", Status::Ok, format!("every {prefix}* branch has a tenant")));
    }
    Ok(())
}

/// Commits that some rescue ref already points at.
fn rescued_commits(ctx: &Ctx) -> Result<BTreeSet<String>, Error> {
    Ok(rescue::list(&ctx.repo)?.into_iter().map(|r| r.commit).collect())
}

fn check_stash(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    if ctx.repo.ref_target("refs/stash").is_none() {
        out.push(Finding::new("stash", Status::Ok, "no stash entries"));
        return Ok(());
    }
    let rescued = rescued_commits(ctx)?;
    for (commit, sel, subject) in query::stash_entries(&ctx.repo)? {
        let (commit, sel, subject) = (commit.as_str(), sel.as_str(), subject.as_str());
        let kind = if subject.contains("autostash") { "leftover autostash" } else { "stash entry" };
        let msg = format!("{kind} {sel} \"{subject}\" in refs/stash, which every worktree shares");
        let f = Finding::new("stash", Status::Problem, msg).with_ref(sel);
        out.push(if rescued.contains(commit) {
            Finding { status: Status::Warning, ..f }
                .hint(format!("saved as a rescue ref already; drop it when you no longer need it ({sel})"))
        } else {
            f.hint("doctor --fix saves it as a rescue ref (the stash entry itself is never dropped)").fix(Fix::Rescue {
                commit: commit.to_string(),
                label: "stash".into(),
                subject: format!("rescue: {sel} {subject}"),
            })
        });
    }
    Ok(())
}

fn check_rebase_state(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    let rescued = rescued_commits(ctx)?;
    let mut any = false;
    for w in ctx.repo.worktrees()? {
        for dir in ["rebase-merge", "rebase-apply"] {
            let state = w.git_dir.join(dir);
            if !state.is_dir() {
                continue;
            }
            any = true;
            out.push(
                Finding::new(
                    "rebase-state",
                    Status::Problem,
                    format!("a rebase is in progress or was abandoned in {}", w.path.display()),
                )
                .path(&state)
                .hint(format!(
                    "finish it: git -C {} rebase --continue, or give it up: git -C {0} rebase --abort",
                    w.path.display()
                )),
            );
            let Ok(text) = std::fs::read_to_string(state.join("autostash")) else { continue };
            let commit = text.trim().to_string();
            if commit.is_empty() || rescued.contains(&commit) {
                continue;
            }
            out.push(
                Finding::new(
                    "rebase-autostash",
                    Status::Problem,
                    format!("uncommitted changes autostashed by that rebase ({})", &commit[..10.min(commit.len())]),
                )
                .path(state.join("autostash"))
                .hint("doctor --fix saves them as a rescue ref")
                .fix(Fix::Rescue {
                    commit,
                    label: "autostash".into(),
                    subject: format!("rescue: autostash in {}", w.path.display()),
                }),
            );
        }
    }
    if !any {
        out.push(Finding::new("rebase-state", Status::Ok, "no rebase left behind"));
    }
    Ok(())
}

fn check_state_files(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    let mut roots: Vec<&Path> = Vec::new();
    roots.extend(ctx.repo.workdir.as_deref());
    if let Some(main) = ctx.repo.main_worktree.as_deref()
        && !roots.contains(&main)
    {
        roots.push(main);
    }
    let mut any = false;
    for root in roots {
        let files = crate::glob::expand(root, &ctx.config.state.dir).unwrap_or_default();
        for rel in files {
            let full = root.join(&rel);
            let Ok(meta) = std::fs::symlink_metadata(&full) else { continue };
            if !meta.is_file() || meta.len() > 16 << 20 {
                continue;
            }
            let Ok(data) = std::fs::read(&full) else { continue };
            let rel = rel.to_string_lossy().replace('\\', "/");
            let markers = guard::markers_in(&rel, &data);
            if let Some((line, text)) = markers.first() {
                any = true;
                out.push(
                    Finding::new(
                        "state-markers",
                        Status::Problem,
                        format!("conflict markers in {} (line {line}: `{text}`, {} in all)", rel, markers.len()),
                    )
                    .path(&full)
                    .hint(format!("resolve by hand; the committed version is `git show HEAD:{rel}`; saved work: git neighbor rescue list")),
                );
            }
            if guard::is_canonical(ctx, &rel)
                && rel.ends_with(".json")
                && let Some((line, msg)) = guard::json_error(&data)
            {
                any = true;
                out.push(
                    Finding::new("state-json", Status::Problem, format!("{rel}:{line} is not valid JSON: {msg}"))
                        .path(&full)
                        .hint(format!("repair it, or take the committed version: git checkout HEAD -- {rel}")),
                );
            }
        }
    }
    if !any {
        out.push(Finding::new("state-markers", Status::Ok, "state files are free of conflict markers and parse"));
    }
    Ok(())
}

/// A merge-frame interrupted after its commit point; deltas that wait in frames already merged (never to
/// be applied); mailbox refs no frame will pick up.
fn check_frames(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    use crate::frames::{mailbox, merge};
    if let Some(i) = merge::interrupted(ctx) {
        out.push(
            Finding::new("merge-frame", Status::Problem, i.describe())
                .path(&i.worktree)
                .hint("`git neighbor doctor --fix` (or `prune`, or the next merge-frame) finishes it; commit nothing there before")
                .fix(Fix::RecoverFrame),
        );
    }
    for slot in merge::waiting_in_merged(ctx)? {
        out.push(
            Finding::new(
                "mailbox",
                Status::Problem,
                format!("delta {}/{} waits in frame {}, which is already merged: it will never be applied", slot.frame, slot.stream, slot.frame),
            )
            .with_ref(slot.r#ref.clone())
            .hint(format!(
                "write it again for the next frame (`git neighbor delta show {}/{}` prints it), then `git neighbor delta drop {}/{}`",
                slot.frame, slot.stream, slot.frame, slot.stream
            )),
        );
    }
    for ns in [mailbox::DELTAS, mailbox::APPLIED, mailbox::ARCHIVE, mailbox::QUARANTINE] {
        for r in mailbox::malformed(&ctx.repo, ns)? {
            out.push(
                Finding::new(
                    "mailbox",
                    Status::Problem,
                    format!("{r} is not <frame>/<stream> with a plain frame number: no frame will ever pick it up"),
                )
                .with_ref(r.clone())
                .hint(format!("look at it with `git cat-file -p {r}`; delete it with `git update-ref -d {r}`")),
            );
        }
    }
    Ok(())
}

fn check_hooks(ctx: &Ctx, out: &mut Vec<Finding>) -> Result<(), Error> {
    let st = hooks::status(&ctx.repo)?;
    let broken: Vec<&hooks::HookStatus> = st.iter().filter(|h| h.state == "broken").collect();
    if let Some(first) = broken.first() {
        // git cannot start these hooks at all, so it fails every commit (or push) they guard.
        let names: Vec<&str> = broken.iter().map(|h| h.hook.as_str()).collect();
        let program = first.program.as_deref().map(|p| p.display().to_string()).unwrap_or_default();
        out.push(
            Finding::new(
                "hooks",
                Status::Problem,
                format!("hooks {} run {program}, which is gone: git fails them on every run", names.join(", ")),
            )
            .path(hooks::hooks_dir(&ctx.repo)?)
            .hint("git neighbor hooks install (doctor --fix does) names the git-neighbor-hook installed now")
            .fix(Fix::InstallHooks),
        );
        return Ok(());
    }
    let bad: Vec<String> =
        st.iter().filter(|h| h.state != "installed").map(|h| format!("{} ({})", h.hook, h.state)).collect();
    if bad.is_empty() {
        out.push(Finding::new("hooks", Status::Ok, "hooks installed"));
    } else {
        let dir = hooks::hooks_dir(&ctx.repo)?;
        // A fresh clone has no hooks: that is a warning, unless the building says it requires them.
        let status = if ctx.config.hooks.required { Status::Problem } else { Status::Warning };
        out.push(
            Finding::new("hooks", status, format!("hooks not installed: {}", bad.join(", ")))
                .path(dir)
                .hint("git neighbor hooks install (doctor --fix does; your own hooks are kept)")
                .fix(Fix::InstallHooks),
        );
    }
    Ok(())
}

fn check_autostash_config(ctx: &Ctx, out: &mut Vec<Finding>) {
    let on: Vec<&str> =
        ["rebase.autoStash", "merge.autoStash"].into_iter().filter(|k| ctx.repo.config_bool(k) == Some(true)).collect();
    if !on.is_empty() {
        out.push(
            Finding::new("autostash-config", Status::Warning, format!("{} is on in git config", on.join(" and ")))
                .hint("a conflicting pull then hides uncommitted work in the shared stash; use git neighbor safe-pull"),
        );
    }
}

/// Carry out every fixable finding; each becomes `fixed` or stays a problem with the reason.
pub fn fix(ctx: &Ctx, findings: &mut [Finding]) {
    let mut hooks_done: Option<Result<(), String>> = None;
    for f in findings.iter_mut() {
        let Some(fix) = f.fix.clone() else { continue };
        if !matches!(f.status, Status::Problem | Status::Warning) {
            continue;
        }
        let res: Result<String, Error> = match fix {
            Fix::Sweep(item) => {
                let mut items = [item];
                prune::execute(ctx, &mut items).and_then(|_| match items[0].result.as_deref() {
                    Some("done") => Ok("cleaned up".to_string()),
                    other => Err(Error::new(other.unwrap_or("not done").to_string())),
                })
            }
            Fix::DeleteBranch { full, tip } => {
                crate::git::refs::delete_cas(&ctx.repo, &full, &tip, "git-neighbor doctor: delete merged branch")
                    .map(|_| format!("deleted (its commits are on other refs; it was at {tip})"))
            }
            Fix::Rescue { commit, label, subject } => rescue::store(&ctx.repo, &label, &commit, &subject).map(|r| {
                let mut ev = Event::new("rescue").with("ref", r.r#ref.clone()).with("source", "doctor");
                ev.path = f.path.clone();
                let _ = events::append(&ctx.state, &ev);
                format!("saved as {} (nothing was dropped)", r.r#ref)
            }),
            Fix::RecoverFrame => crate::frames::merge::recover(ctx).map(|notes| notes.join("; ")),
            Fix::InstallHooks => {
                let done = hooks_done
                    .get_or_insert_with(|| hooks::install(ctx, false).map(drop).map_err(|e| e.message))
                    .clone();
                done.map(|_| "installed".to_string()).map_err(Error::new)
            }
        };
        match res {
            Ok(what) => {
                f.status = Status::Fixed;
                f.message = format!("{} — fixed: {what}", f.message);
            }
            Err(e) => f.message = format!("{} — could not fix: {}", f.message, e.message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::branch_prefix;
    #[test]
    fn prefixes() {
        assert_eq!(branch_prefix("neighbor/{name}").as_deref(), Some("neighbor/"));
        assert_eq!(branch_prefix("agents/{owner}/{name}").as_deref(), Some("agents/"));
        assert_eq!(branch_prefix("{name}"), None);
        assert_eq!(branch_prefix("x-{name}"), None);
    }
}
