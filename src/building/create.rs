//! Creating a tenant: validate the request into a plan, write the record and git's worktree metadata under
//! the building lock while holding the tenant's lease, check out outside the lock, carry files, and mark
//! it ready. A creator that dies leaves a `creating` record with a dead lease, which `prune` rolls back.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use super::events::{self, Event};
use super::lease::{self, Holder};
use super::registry::{self, Phase, SetupRun, SetupState, Tenant};
use super::remove::rollback_locked;
use super::{Ctx, branch_for, check_branch_name, default_path, normalize, ports, setup, state_dir};
use crate::error::{Error, IoContext};
use crate::supervise::proc::caller_pid;

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
    /// The process an ephemeral tenant's lease follows (default: [`caller_pid`]).
    pub follow: Option<u32>,
    /// Stream it writes for (`run --stream`).
    pub stream: Option<String>,
    /// Frame it writes for (`run --frame`).
    pub frame: Option<u64>,
    /// Allocate a port block (`run`).
    pub port: bool,
    /// A pool tenant (`pool fill`).
    pub pool: bool,
    /// Run the `[setup]` commands once created (refused unless `git neighbor trust` approved them).
    pub setup: bool,
    /// The caller's own way to create the tenant without setup, offered when setup is refused
    /// (`add --no-setup`); `None` when it has none.
    pub skip_setup_hint: Option<String>,
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
    /// The approved setup commands to run once it is built, and their hash.
    pub setup: Vec<String>,
}

/// Validate an `add` request without touching anything.
pub fn plan_add(ctx: &Ctx, req: &AddRequest) -> Result<Plan, Error> {
    registry::validate_name(&req.name)?;
    let branch = branch_for(&ctx.config, req)?;
    check_branch_name(&branch)?;
    // Recorded as git records it, symlinks resolved: the registry's path and git's must compare equal.
    let path = resolved(&match &req.path {
        Some(p) => normalize(&crate::git::absolute_path(p)),
        None => default_path(ctx, &req.name),
    });
    check_tenant_path(ctx, &path, req.path.is_some())?;
    let base_spec = req.base.clone().unwrap_or_else(|| ctx.config.worktrees.base.clone());
    let (base_oid, base_ref) = ctx.repo.resolve(&base_spec)?;
    let carry = carry_list(ctx, req)?;
    if registry::get(&ctx.state, &req.name)?.is_some() {
        return Err(exists_err(&req.name));
    }
    // Refused (exit 3) before anything exists when the commands are not approved.
    let setup = if req.setup { crate::protect::trust::check(ctx, req.skip_setup_hint.as_deref())? } else { Vec::new() };
    let tenant = Tenant {
        name: req.name.clone(),
        branch,
        path,
        base_ref,
        base_oid: base_oid.to_string(),
        owner: req.owner.clone(),
        task: req.task.clone(),
        created_ms: state_dir::now_ms(),
        phase: Phase::Creating,
        ephemeral: req.ephemeral,
        kept: None,
        creator_pid: std::process::id(),
        stream: req.stream.clone(),
        frame: req.frame,
        port: None,
        pool: req.pool.then(registry::PoolSlot::default),
        removal: None,
        carried: Default::default(),
        setup: None,
    };
    Ok(Plan { tenant, carry, base_spec, want_port: req.port, setup })
}

/// Create a tenant. Safe with any number of parallel calls.
pub fn add(ctx: &Ctx, req: &AddRequest) -> Result<Tenant, Error> {
    let plan = plan_add(ctx, req)?;
    let share = if req.ephemeral { lease::Share::HandOver } else { lease::Share::Children };
    lease::with_lease(&ctx.state, &req.name, &Holder::me(), share, |fd| {
        let t = create_in_lease(ctx, &plan, fd)?;
        if t.ephemeral {
            // The keeper inherits our lease descriptor, so the lease never lapses between us and it.
            spawn_lease_keeper(&t, req.follow.unwrap_or_else(caller_pid))?;
        }
        Ok(t)
    })
}

/// Build a planned tenant, then run its setup. The caller holds the tenant's lease (shared with
/// children, so git's own children keep it alive if we die mid-way; `fd` is that lease). A failing setup
/// leaves the tenant built and marked setup-failed, and returns the error.
pub fn create_in_lease(ctx: &Ctx, plan: &Plan, fd: &lease::LeaseFd<'_>) -> Result<Tenant, Error> {
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
            tenant.port = Some(ports::lease_block(ctx, &tenant.name)?);
        }
        registry::put(&ctx.state, &tenant)?;
        // Metadata only (fast): the checkout happens outside the building lock.
        let made = crate::git::checkout::add_worktree_metadata(&ctx.repo, &branch, &path, &tenant.base_oid);
        if let Err(e) = made {
            let _ = rollback_locked(ctx, &tenant);
            return Err(e.into());
        }
        Ok(())
    })?;
    // Recorded `creating`, its lease held, the building lock released: a race test stops here.
    crate::failpoint::hit("tenant-recorded");
    match populate(ctx, &tenant, &plan.carry) {
        Ok(carried) => tenant.carried = carried,
        Err(e) => {
            let _ = ctx.locked(|| rollback_locked(ctx, &tenant));
            return Err(e.context(format!("cannot build tenant '{}'", tenant.name)));
        }
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
    if !plan.setup.is_empty() {
        run_setup(ctx, &mut tenant, &plan.setup, fd)?;
    }
    Ok(tenant)
}

/// Run the approved setup commands in the built tenant `t`, recording `running` first and the outcome
/// after. Setup's processes do not share the lease: one it leaves running must not keep the tenant
/// "in use". A runner that dies leaves `running` with a dead lease, which reads as setup-failed.
fn run_setup(ctx: &Ctx, t: &mut Tenant, cmds: &[String], fd: &lease::LeaseFd<'_>) -> Result<(), Error> {
    let log = setup::log_path(&ctx.state, &t.name);
    let hash = crate::protect::trust::digest(&ctx.config.setup);
    let record = |t: &mut Tenant, run: SetupRun, event: bool| {
        ctx.locked(|| {
            // Whatever else changed in the record meanwhile (keep, lock) stays.
            let mut now = registry::get(&ctx.state, &t.name)?.unwrap_or_else(|| t.clone());
            now.setup = Some(run.clone());
            registry::put(&ctx.state, &now)?;
            *t = now;
            if event {
                let ev = Event::new("setup").tenant(&t.name, &t.branch, &t.path).with("ok", run.failed.is_none());
                events::append(&ctx.state, &ev.with("log", run.log.display().to_string()))?;
            }
            Ok(())
        })
    };
    let running =
        SetupRun { state: SetupState::Running, log: log.clone(), hash, pid: std::process::id(), failed: None };
    record(t, running.clone(), false)?;
    fd.set_inherit(false)?;
    let out = setup::run(ctx, t, cmds);
    fd.set_inherit(true)?;
    let failed = match out {
        Ok(f) => f,
        Err(e) => Some(e.message),
    };
    crate::failpoint::hit("setup-finished");
    let state = if failed.is_some() { SetupState::Failed } else { SetupState::Ok };
    record(t, SetupRun { state, failed: failed.clone(), ..running }, true)?;
    match failed {
        None => Ok(()),
        Some(why) => Err(Error::new(format!("setup of tenant '{}' failed: {why}", t.name))
            .hint(format!("its output is in {}", log.display()))
            .hint(format!(
                "the tenant is kept at {} as setup-failed (`run` will not start in it); when done with it: git neighbor remove {}",
                t.path.display(),
                t.name
            ))),
    }
}

/// A tenant never goes inside another worktree of the building (the main checkout's `git add -A` would
/// embed it, a tenant under the state directory stops every frame), inside a git directory, or straight
/// under the file system root (`worktrees.root = "/"`). A committed config is untrusted input.
fn check_tenant_path(ctx: &Ctx, path: &Path, flag: bool) -> Result<(), Error> {
    let bad = |why: String| {
        let e = format!("tenant path '{}' {why}", path.display());
        if flag {
            Error::usage(e).hint("pass --path outside every checkout of this repository")
        } else {
            Error::new(e).hint(format!(
                "set worktrees.root in {} to a directory outside the repository (default \"../{{repo}}.worktrees\")",
                crate::config::FILE
            ))
        }
    };
    let at = resolved(path);
    if at.file_name().is_some_and(super::remove::is_trash_name) {
        return Err(bad("has the form of the name a tenant's files take while they are removed".into()));
    }
    if at.parent().is_none_or(|p| p.parent().is_none()) {
        return Err(bad("is at the root of the file system".into()));
    }
    let mut inside: Vec<(PathBuf, &str)> =
        vec![(ctx.repo.common_dir.clone(), "git directory"), (ctx.repo.git_dir.clone(), "git directory")];
    for w in ctx.repo.worktrees()? {
        inside.push((w.path, "worktree"));
    }
    for (dir, what) in inside {
        let dir = resolved(&dir);
        // The very path of a worktree is refused later, as a path that already exists.
        if at.starts_with(&dir) && (at != dir || what != "worktree") {
            return Err(bad(format!("is inside the {what} {}", dir.display())));
        }
    }
    Ok(())
}

/// `p` with its longest existing ancestor canonicalised (symlinked temp dirs compare equal).
fn resolved(p: &Path) -> PathBuf {
    let mut base = p.to_path_buf();
    let mut rest = Vec::new();
    loop {
        if let Ok(c) = std::fs::canonicalize(&base) {
            let mut out = c;
            for part in rest.iter().rev() {
                out.push(part);
            }
            return out;
        }
        match (base.file_name().map(|f| f.to_os_string()), base.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                base = parent.to_path_buf();
            }
            _ => return p.to_path_buf(),
        }
    }
}

fn exists_err(name: &str) -> Error {
    Error::new(format!("a tenant named '{name}' already exists"))
        .hint(format!("pick another name, or remove it first: git neighbor remove {name}"))
}

/// Start the keeper that holds `t`'s (inherited) lease while `watch` lives. Returns the keeper's pid.
pub fn spawn_lease_keeper(t: &Tenant, watch: u32) -> Result<u32, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::new(format!("cannot find own executable: {e}")))?;
    std::process::Command::new(exe)
        .args(["__lease-keeper", &t.name, &watch.to_string()])
        .current_dir(&t.path)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map(|c| c.id())
        .map_err(|e| Error::new(format!("cannot start the lease keeper: {e}")))
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
        for f in &found {
            if let Some(link) = symlinked_parent(src, f) {
                return Err(through_link(f, &link));
            }
        }
        files.extend(found);
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// Check out the tenant's files and carry `carry` into it. Returns the fingerprint of every carried file
/// as written, so later checks can tell an unchanged carried file from the tenant's own work.
fn populate(ctx: &Ctx, t: &Tenant, carry: &[PathBuf]) -> Result<BTreeMap<String, String>, Error> {
    crate::git::checkout::check_out_all(&ctx.repo, &t.path)?;
    let mut carried = Vec::new();
    if let Some(src) = ctx.repo.workdir.as_deref() {
        for rel in carry {
            // The tenant's own tree may differ from the caller's: check its side too, right before writing.
            if let Some(link) = symlinked_parent(&t.path, rel) {
                return Err(through_link(rel, &link));
            }
            copy_preserving(&src.join(rel), &t.path.join(rel))?;
            carried.push(rel.to_string_lossy().into_owned());
        }
    }
    let prints = crate::git::carry::fingerprints(&t.path, &carried)?;
    if t.path.join(".gitmodules").exists() {
        crate::git::checkout::init_submodules(&ctx.repo, &t.path)?;
    }
    Ok(prints.into_iter().collect())
}

/// The first proper ancestor of `rel` under `root` that is a symlink, if any: a carried file is never
/// read or written through a link (the link may lead back to the very file being copied, or out of the
/// tenant).
fn symlinked_parent(root: &Path, rel: &Path) -> Option<PathBuf> {
    let mut prefix = PathBuf::new();
    let parts: Vec<Component> = rel.components().collect();
    for c in parts.iter().take(parts.len().saturating_sub(1)) {
        prefix.push(c);
        if std::fs::symlink_metadata(root.join(&prefix)).is_ok_and(|m| m.file_type().is_symlink()) {
            return Some(prefix);
        }
    }
    None
}

fn through_link(rel: &Path, link: &Path) -> Error {
    Error::new(format!("cannot carry '{}': its parent '{}' is a symbolic link", rel.display(), link.display()))
        .hint(format!("carry the link itself ('{}') or list the files it points to by their real path", link.display()))
}

fn copy_preserving(from: &Path, to: &Path) -> Result<(), Error> {
    let meta = std::fs::symlink_metadata(from).ctx(|| format!("cannot carry {}", from.display()))?;
    if let Some(dir) = to.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    if let Ok(there) = std::fs::symlink_metadata(to) {
        use std::os::unix::fs::MetadataExt;
        // Never copy a file onto itself: fs::copy truncates the destination first.
        if there.dev() == meta.dev() && there.ino() == meta.ino() {
            return Err(Error::new(format!("cannot carry {}: {} is the same file", from.display(), to.display()))
                .hint("the tenant already shares this file; leave it out of the carry list"));
        }
    }
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(from).ctx(|| format!("cannot read link {}", from.display()))?;
        let _ = std::fs::remove_file(to);
        std::os::unix::fs::symlink(target, to).ctx(|| format!("cannot carry link to {}", to.display()))?;
        return Ok(());
    }
    if std::fs::symlink_metadata(to).is_ok_and(|m| m.file_type().is_symlink()) {
        // A tracked link at the destination: replace the link, never write through it.
        std::fs::remove_file(to).ctx(|| format!("cannot replace link {}", to.display()))?;
    }
    // fs::copy copies permission bits too.
    std::fs::copy(from, to).map(drop).ctx(|| format!("cannot carry {} to {}", from.display(), to.display()))
}

/// `dirty` without the carried files that are exactly as `add` wrote them and not staged: those are a
/// copy of the caller's files, and removing the tenant loses nothing of them.
pub fn without_carried(t: &Tenant, dir: &Path, dirty: Vec<String>) -> Result<Vec<String>, Error> {
    let candidates: Vec<String> = dirty.iter().filter(|p| t.carried.contains_key(*p)).cloned().collect();
    if candidates.is_empty() || !dir.is_dir() {
        return Ok(dirty);
    }
    let staged = crate::git::carry::staged_among(dir, &candidates)?;
    let now: BTreeMap<String, String> = crate::git::carry::fingerprints(dir, &candidates)?.into_iter().collect();
    Ok(dirty
        .into_iter()
        .filter(|p| {
            let unchanged = t.carried.get(p).is_some_and(|was| now.get(p) == Some(was));
            !unchanged || staged.contains(p)
        })
        .collect())
}
