//! The building: tenant lifecycle (create, check, remove, roll back) and the survey behind `list`/`status`.
//!
//! Creation is crash-safe by construction: the registry record (phase `creating`) is written and git's
//! worktree metadata is made under the building lock while the creator holds the tenant's lease (shared
//! with its git children). If anything dies before the record says `ready`, the lease is dead and
//! `prune` rolls the half-made tenant back. The slow checkout runs outside the building lock so many
//! `add`s proceed in parallel. Functions here return data; commands decide how to show it.

use std::path::{Component, Path, PathBuf};

use serde::Serialize;

use crate::config::Config;
use crate::error::{Error, IoContext};
use crate::events::{self, Event};
use crate::git::{Repo, WorktreeInfo};
use crate::lock::{self, Holder};
use crate::registry::{self, Phase, Tenant};
use crate::rescue;
use crate::state::{self, StateDir};

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

impl Ctx {
    /// Run `f` under the building lock.
    pub fn locked<T>(&self, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
        lock::with_building_lock(&self.state, self.lock_timeout, f)
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

/// What `add` is asked to make.
#[derive(Debug, Default, Clone)]
pub struct AddRequest {
    /// Tenant name.
    pub name: String,
    /// Base revision (default: config `worktrees.base`).
    pub base: Option<String>,
    /// Branch name (default: config template).
    pub branch: Option<String>,
    /// Worktree path (default: `<root>/<name>`).
    pub path: Option<PathBuf>,
    /// Extra paths/globs to carry.
    pub carry: Vec<String>,
    /// Owner.
    pub owner: Option<String>,
    /// Task id.
    pub task: Option<String>,
    /// Lives only as long as its lease.
    pub ephemeral: bool,
    /// Stream it writes for (`run --stream`).
    pub stream: Option<String>,
    /// Frame it writes for (`run --frame`).
    pub frame: Option<u64>,
    /// Allocate a port block (`run`).
    pub port: bool,
    /// A pool tenant (`pool fill`).
    pub pool: bool,
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
    let full = format!("refs/heads/{branch}");
    let ok = !branch.starts_with('-') && gix::refs::FullName::try_from(full.as_str()).is_ok();
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("'{branch}' is not a valid branch name"))
            .hint("see `git check-ref-format --help`; pass another name or --branch"))
    }
}

/// Where a new tenant goes by default.
pub fn default_path(ctx: &Ctx, name: &str) -> PathBuf {
    let root = ctx.config.worktrees.root.replace("{repo}", &ctx.repo.building_name());
    normalize(&ctx.repo.anchor_dir().join(root).join(name))
}

/// A validated `add`: the record to write and the files to carry.
pub struct Plan {
    /// The record (phase `creating`).
    pub tenant: Tenant,
    /// Files to copy from the current worktree.
    pub carry: Vec<PathBuf>,
    /// The base as the user wrote it.
    pub base_spec: String,
    /// Allocate a port block.
    pub want_port: bool,
}

/// Validate an `add` request without touching anything.
pub fn plan_add(ctx: &Ctx, req: &AddRequest) -> Result<Plan, Error> {
    registry::validate_name(&req.name)?;
    let branch = branch_for(&ctx.config, req)?;
    check_branch_name(&branch)?;
    let path = match &req.path {
        Some(p) => normalize(&crate::git::absolute_path(p)),
        None => default_path(ctx, &req.name),
    };
    let base_spec = req.base.clone().unwrap_or_else(|| ctx.config.worktrees.base.clone());
    let (base_oid, base_ref) = ctx.repo.resolve(&base_spec)?;
    let carry = carry_list(ctx, req)?;
    if registry::get(&ctx.state, &req.name)?.is_some() {
        return Err(exists_err(&req.name));
    }
    let tenant = Tenant {
        name: req.name.clone(),
        branch,
        path,
        base_ref,
        base_oid: base_oid.to_string(),
        owner: req.owner.clone(),
        task: req.task.clone(),
        created_ms: state::now_ms(),
        phase: Phase::Creating,
        ephemeral: req.ephemeral,
        kept: None,
        creator_pid: std::process::id(),
        stream: req.stream.clone(),
        frame: req.frame,
        port: None,
        pool: req.pool.then(registry::PoolSlot::default),
    };
    Ok(Plan { tenant, carry, base_spec, want_port: req.port })
}

/// Create a tenant. Safe with any number of parallel calls.
pub fn add(ctx: &Ctx, req: &AddRequest) -> Result<Tenant, Error> {
    let plan = plan_add(ctx, req)?;
    let share = if req.ephemeral { lock::Share::HandOver } else { lock::Share::Children };
    lock::with_lease(&ctx.state, &req.name, &Holder::me(), share, |_| {
        let t = create_in_lease(ctx, &plan)?;
        if t.ephemeral {
            // The keeper inherits our lease descriptor, so the lease never lapses between us and it.
            spawn_lease_keeper(&t, caller_pid())?;
        }
        Ok(t)
    })
}

/// Build a planned tenant. The caller holds the tenant's lease (shared with children, so git's own
/// children keep it alive if we die mid-way).
pub fn create_in_lease(ctx: &Ctx, plan: &Plan) -> Result<Tenant, Error> {
    let mut tenant = plan.tenant.clone();
    let (branch, path) = (tenant.branch.clone(), tenant.path.clone());
    ctx.locked(|| {
        if registry::get(&ctx.state, &tenant.name)?.is_some() {
            return Err(exists_err(&tenant.name));
        }
        if ctx.repo.ref_target(&format!("refs/heads/{branch}")).is_some() {
            return Err(Error::new(format!("branch '{branch}' already exists"))
                .hint("pick another tenant name, or pass --branch with a new branch name"));
        }
        if path.exists() || path.symlink_metadata().is_ok() {
            return Err(Error::new(format!("path '{}' already exists", path.display()))
                .hint("pass --path with a new location, or remove what is there"));
        }
        if plan.want_port {
            tenant.port = Some(free_port_block(ctx)?);
        }
        registry::put(&ctx.state, &tenant)?;
        // Metadata only (fast): the checkout happens outside the building lock.
        let made = ctx
            .repo
            .git()?
            .args(["worktree", "add", "--no-checkout", "--no-track", "-b", &branch])
            .end_of_options()
            .arg(&path)
            .arg(&tenant.base_oid)
            .run();
        if let Err(e) = made {
            let _ = rollback_locked(ctx, &tenant);
            return Err(e.into());
        }
        Ok(())
    })?;
    if let Err(e) = populate(ctx, &tenant, &plan.carry) {
        let _ = ctx.locked(|| rollback_locked(ctx, &tenant));
        return Err(e.context(format!("cannot build tenant '{}'", tenant.name)));
    }
    tenant.phase = Phase::Ready;
    ctx.locked(|| {
        registry::put(&ctx.state, &tenant)?;
        events::append(
            &ctx.state,
            &Event::new("add")
                .tenant(&tenant.name, &tenant.branch, &tenant.path)
                .with("base", plan.base_spec.clone())
                .with("ephemeral", tenant.ephemeral),
        )
    })?;
    Ok(tenant)
}

/// First port of a block of [`PORT_BLOCK`] ports not used by any registered tenant. Call under the lock.
fn free_port_block(ctx: &Ctx) -> Result<u16, Error> {
    let (tenants, _) = registry::all(&ctx.state)?;
    let used: Vec<u16> = tenants.iter().filter_map(|t| t.port).collect();
    (0..3000u16)
        .map(|k| PORT_BASE + k * PORT_BLOCK)
        .find(|p| !used.contains(p))
        .ok_or_else(|| Error::new("no free port block: 3,000 tenants hold one").hint("git neighbor prune"))
}

/// First port handed out to tenants.
pub const PORT_BASE: u16 = 20_000;
/// Ports per tenant (`NEIGHBOR_PORT` .. `NEIGHBOR_PORT + 9`).
pub const PORT_BLOCK: u16 = 10;

fn exists_err(name: &str) -> Error {
    Error::new(format!("a tenant named '{name}' already exists"))
        .hint(format!("pick another name, or remove it first: git neighbor remove {name}"))
}

/// Start the keeper that holds `t`'s (inherited) lease while `watch` lives.
pub fn spawn_lease_keeper(t: &Tenant, watch: u32) -> Result<(), Error> {
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("cannot find own executable: {e}")))?;
    std::process::Command::new(exe)
        .args(["__lease-keeper", &t.name, &watch.to_string()])
        .current_dir(&t.path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| Error::new(format!("cannot start the lease keeper: {e}")))
}

/// The process that invoked us: our parent, or its parent when that is `git` (as for `git neighbor …`).
pub fn caller_pid() -> u32 {
    let parent = nix::unistd::getppid().as_raw() as u32;
    match proc_parent(parent) {
        Some((comm, grand)) if comm == "git" => grand,
        _ => parent,
    }
}

fn proc_parent(pid: u32) -> Option<(String, u32)> {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        // No /proc (macOS, BSD): ask ps, which every Unix has.
        let out = std::process::Command::new("ps").args(["-o", "ppid=,comm=", "-p", &pid.to_string()]).output().ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        let mut it = text.split_whitespace();
        let ppid = it.next()?.parse().ok()?;
        let comm = it.collect::<Vec<_>>().join(" ");
        let comm = std::path::Path::new(&comm).file_name().map(|c| c.to_string_lossy().into_owned()).unwrap_or(comm);
        return Some((comm, ppid));
    };
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let ppid = stat[close + 1..].split_whitespace().nth(1)?.parse().ok()?;
    Some((comm, ppid))
}

/// Whether a process exists.
pub fn pid_alive(pid: u32) -> bool {
    use nix::errno::Errno;
    let Ok(raw) = i32::try_from(pid) else { return false };
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
        Ok(()) => true,
        Err(e) => e == Errno::EPERM,
    }
}

fn carry_list(ctx: &Ctx, req: &AddRequest) -> Result<Vec<PathBuf>, Error> {
    let Some(src) = ctx.repo.workdir.as_deref() else { return Ok(Vec::new()) };
    let mut patterns: Vec<String> = ctx.config.worktrees.carry.clone();
    patterns.extend(req.carry.iter().cloned());
    if let Ok(text) = std::fs::read_to_string(src.join(".worktreeinclude")) {
        patterns.extend(text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(String::from));
    }
    if patterns.is_empty() {
        return Ok(Vec::new());
    }
    let mut files = Vec::new();
    for pat in &patterns {
        let rel = Path::new(pat);
        if rel.is_absolute() || rel.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(Error::usage(format!("carry path '{pat}' must be relative and inside the worktree")));
        }
        let found = crate::glob::expand(src, pat).ctx(|| format!("cannot expand carry pattern '{pat}'"))?;
        if found.is_empty() && !crate::glob::has_magic(pat) && req.carry.contains(pat) {
            return Err(Error::new(format!("carry path '{pat}' does not exist in {}", src.display())));
        }
        files.extend(found);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

fn populate(ctx: &Ctx, t: &Tenant, carry: &[PathBuf]) -> Result<(), Error> {
    ctx.repo.git_in(&t.path)?.args(["reset", "--hard", "--quiet", "--no-recurse-submodules"]).run()?;
    if let Some(src) = ctx.repo.workdir.as_deref() {
        for rel in carry {
            copy_preserving(&src.join(rel), &t.path.join(rel))?;
        }
    }
    if t.path.join(".gitmodules").exists() {
        ctx.repo
            .git_in(&t.path)?
            .args(["-c", "protocol.file.allow=always", "submodule", "update", "--init", "--recursive", "--quiet"])
            .run()?;
    }
    Ok(())
}

fn copy_preserving(from: &Path, to: &Path) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(from).ctx(|| format!("cannot carry {}", from.display()))?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).ctx(|| format!("cannot read link {}", from.display()))?;
        let _ = std::fs::remove_file(to);
        std::os::unix::fs::symlink(target, to).ctx(|| format!("cannot carry link to {}", to.display()))?;
        return Ok(());
    }
    // fs::copy copies permission bits too.
    std::fs::copy(from, to).map(drop).ctx(|| format!("cannot carry {} to {}", from.display(), to.display()))
}

/// The worktree git knows at `path`, if any.
pub fn worktree_at(repo: &Repo, path: &Path) -> Result<Option<WorktreeInfo>, Error> {
    Ok(repo.worktrees()?.into_iter().find(|w| w.path == path && w.id.is_some()))
}

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
    let dirty = if t.path.is_dir() { dirty_paths(&t.path)? } else { Vec::new() };
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
    if let Some(h) = lock::lease_holder(&ctx.state, &t.name) {
        release_own_keeper(ctx, t, &h)?;
    }
    lock::with_lease(&ctx.state, &t.name, &Holder::me(), lock::Share::No, |_| {
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
    if h.watch_pid == Some(caller_pid()) && lock::stop_keeper(&ctx.state, &t.name, h) {
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
            rescue::Rescue { id, r#ref: full, commit: tip, date: state::rfc3339(state::now_ms()), subject }
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
    lock::remove_lease_files(&ctx.state, &t.name);
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
    lock::remove_lease_files(&ctx.state, &t.name);
    events::append(&ctx.state, &Event::new("rollback").tenant(&t.name, &t.branch, &t.path))?;
    Ok(note)
}

/// A status word of the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// A tenant in use or ready for use.
    Active,
    /// Kept by `keep` (or by `run`/prune because it holds work).
    Kept,
    /// Locked with `lock` (git worktree lock).
    Locked,
    /// Abandoned: directory gone, creator died, or ephemeral with a dead lease.
    Stale,
    /// A worktree git-neighbor did not create.
    Foreign,
}

impl Status {
    /// The word.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Active => "active",
            Status::Kept => "kept",
            Status::Locked => "locked",
            Status::Stale => "stale",
            Status::Foreign => "foreign",
        }
    }
}

/// Lease as shown in listings.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseView {
    /// Holder pid.
    pub pid: u32,
    /// Holder command line.
    pub command: String,
    /// Since (RFC 3339).
    pub since: String,
    /// Age in seconds.
    pub age_secs: u64,
}

/// One row of `list`.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// Tenant name (`None` for foreign worktrees).
    pub name: Option<String>,
    /// Status word.
    pub status: Status,
    /// Why it has that status (kept reason, lock reason, why stale).
    pub reason: Option<String>,
    /// Is this the main worktree?
    pub main: bool,
    /// Branch (short name) checked out, or the tenant's branch.
    pub branch: Option<String>,
    /// Absolute path.
    pub path: PathBuf,
    /// Directory exists.
    pub exists: bool,
    /// Ephemeral tenant.
    pub ephemeral: bool,
    /// Lease holder, if held.
    pub lease: Option<LeaseView>,
    /// Creation time (RFC 3339), tenants only.
    pub created: Option<String>,
    /// Age in seconds, tenants only.
    pub age_secs: Option<u64>,
    /// Owner.
    pub owner: Option<String>,
    /// Task id.
    pub task: Option<String>,
    /// Base (ref or commit).
    pub base: Option<String>,
    /// `--full`: uncommitted changes present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dirty: Option<bool>,
    /// `--full`: commits ahead of base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ahead: Option<u64>,
    /// `--full`: commits behind base.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub behind: Option<u64>,
    /// Registry record, for tenants (not serialized).
    #[serde(skip)]
    pub tenant: Option<Tenant>,
    /// git's private dir for this worktree, when git knows it (not serialized).
    #[serde(skip)]
    pub git_dir: Option<PathBuf>,
}

/// Classify a tenant from its record, git's metadata for it, and its lease.
fn classify(t: &Tenant, wt: Option<&WorktreeInfo>, lease: Option<&Holder>) -> (Status, Option<String>) {
    match (t.phase, lease) {
        (Phase::Creating, Some(_)) => return (Status::Active, Some("being created".into())),
        (Phase::Creating, None) => return (Status::Stale, Some("its creator died before it was ready".into())),
        (Phase::Removing, Some(_)) => return (Status::Active, Some("being removed".into())),
        (Phase::Removing, None) => return (Status::Stale, Some("its remover died; prune finishes it".into())),
        (Phase::Ready, _) => {}
    }
    if let Some(reason) = wt.and_then(|w| w.locked.clone()) {
        return (Status::Locked, Some(reason).filter(|r| !r.is_empty()));
    }
    if !t.path.exists() {
        return (Status::Stale, Some("its directory is gone".into()));
    }
    if wt.is_none() {
        return (Status::Stale, Some("git no longer lists it as a worktree".into()));
    }
    if let Some(k) = &t.kept {
        return (Status::Kept, Some(k.reason.clone()));
    }
    if t.ephemeral && lease.is_none() {
        return (Status::Stale, Some("ephemeral and its lease is dead".into()));
    }
    (Status::Active, None)
}

/// Survey every worktree of the building from the registry and git's metadata alone.
pub fn survey(ctx: &Ctx) -> Result<Vec<Entry>, Error> {
    let (tenants, _bad) = registry::all(&ctx.state)?;
    let worktrees = ctx.repo.worktrees()?;
    let mut rows = Vec::new();
    let mut claimed = vec![false; worktrees.len()];
    for t in tenants {
        let idx = worktrees.iter().position(|w| w.path == t.path && w.id.is_some());
        if let Some(i) = idx {
            claimed[i] = true;
        }
        let wt = idx.map(|i| &worktrees[i]);
        let lease = lock::lease_holder(&ctx.state, &t.name);
        let (status, reason) = classify(&t, wt, lease.as_ref());
        rows.push(Entry {
            name: Some(t.name.clone()),
            status,
            reason,
            main: false,
            branch: Some(t.branch.clone()),
            path: t.path.clone(),
            exists: t.path.exists(),
            ephemeral: t.ephemeral,
            lease: lease.map(|h| LeaseView {
                pid: h.pid,
                command: h.command,
                since: state::rfc3339(h.since_ms),
                age_secs: state::age(h.since_ms).as_secs(),
            }),
            created: Some(state::rfc3339(t.created_ms)),
            age_secs: Some(state::age(t.created_ms).as_secs()),
            owner: t.owner.clone(),
            task: t.task.clone(),
            base: Some(t.base_ref.clone().unwrap_or_else(|| t.base_oid.clone())),
            dirty: None,
            ahead: None,
            behind: None,
            git_dir: wt.map(|w| w.git_dir.clone()),
            tenant: Some(t),
        });
    }
    for (i, w) in worktrees.into_iter().enumerate() {
        if claimed[i] {
            continue;
        }
        rows.push(Entry {
            name: None,
            status: Status::Foreign,
            reason: w.locked.clone().map(|r| format!("locked: {r}")),
            main: w.id.is_none(),
            branch: w.branch.as_deref().map(short_ref),
            path: w.path,
            exists: w.exists,
            ephemeral: false,
            lease: None,
            created: None,
            age_secs: None,
            owner: None,
            task: None,
            base: None,
            dirty: None,
            ahead: None,
            behind: None,
            tenant: None,
            git_dir: Some(w.git_dir),
        });
    }
    Ok(rows)
}

/// Fill in dirty and ahead/behind for each row, in parallel (`list --full`).
pub fn survey_full(ctx: &Ctx, rows: &mut [Entry]) {
    let jobs: Vec<(usize, PathBuf, Option<String>)> = rows
        .iter()
        .enumerate()
        .filter(|(_, r)| r.exists)
        .map(|(i, r)| (i, r.path.clone(), r.tenant.as_ref().map(|t| ctx.base_of(t))))
        .collect();
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(2, 8);
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((i, path, base)) = jobs.get(k) else { break };
                    let dirty = dirty_paths(path).map(|d| !d.is_empty()).ok();
                    let counts = base.as_ref().and_then(|b| {
                        let out = crate::git::GitCmd::new(path)
                            .ok()?
                            .args(["rev-list", "--left-right", "--count"])
                            .arg(format!("HEAD...{b}"))
                            .arg("--")
                            .read()
                            .ok()?;
                        let mut it = out.split_whitespace().map(|n| n.parse::<u64>().ok());
                        Some((it.next()??, it.next()??))
                    });
                    if let Ok(mut r) = results.lock() {
                        r.push((*i, dirty, counts));
                    }
                }
            });
        }
    });
    for (i, dirty, counts) in results.into_inner().unwrap_or_default() {
        rows[i].dirty = dirty;
        if let Some((ahead, behind)) = counts {
            rows[i].ahead = Some(ahead);
            rows[i].behind = Some(behind);
        }
    }
}

/// Mark a tenant kept (or clear with `None`).
pub fn set_kept(ctx: &Ctx, name: &str, reason: Option<String>) -> Result<Tenant, Error> {
    ctx.locked(|| {
        let mut t = ctx.tenant(name)?;
        t.kept = reason.clone().map(|r| registry::Kept { reason: r, at_ms: state::now_ms() });
        registry::put(&ctx.state, &t)?;
        let ev = Event::new(if reason.is_some() { "keep" } else { "unkeep" }).tenant(&t.name, &t.branch, &t.path);
        events::append(&ctx.state, &ev.with("reason", reason.unwrap_or_default()))?;
        Ok(t)
    })
}

/// Which tenant contains the current directory, if any.
pub fn current_tenant(ctx: &Ctx) -> Option<Tenant> {
    let here = ctx.repo.workdir.as_deref()?;
    registry::all(&ctx.state).ok()?.0.into_iter().find(|t| t.path == here)
}
