//! Port blocks for tenants that ask for one (`add --ports`, `run`), leased machine-wide.
//!
//! Two repositories on one machine must never hand out the same ports, so the lease is not kept per
//! repository but in one small file per user, `$XDG_STATE_HOME/git-neighbor/ports.json` (else
//! `~/.local/state/git-neighbor/ports.json`), changed only under an flock beside it (`ports.lock`, taken
//! through [`lease::wait_for`] like every lock of ours) and replaced atomically. Each entry names the
//! repository's common dir, the tenant, and the process that took it. Before a block is handed out every
//! one of its ports is bound on 127.0.0.1, so a port some other program listens on is never handed out.
//! `remove`/`prune` release a tenant's block; an entry whose repository or tenant no longer exists (a
//! crash between taking the block and recording the tenant, a deleted repository) is reclaimed by the
//! next writer, so nothing leaks for good. Lock order: the building lock, then the ports lock; the ports
//! lock is never held while waiting for anything else, and other repositories' files are only read.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::Ctx;
use super::lease::{self, Mode};
use super::registry::{self, Tenant};
use super::state_dir::{self, StateDir};
use crate::error::Error;
use crate::supervise::proc::pid_alive;

/// First port handed out to tenants.
pub const PORT_BASE: u16 = 20_000;
/// Ports per tenant (`NEIGHBOR_PORT` .. `NEIGHBOR_PORT + 9`).
pub const PORT_BLOCK: u16 = 10;
/// How many blocks there are (20000..49999).
const BLOCKS: u16 = 3000;

/// One leased block.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortLease {
    /// First port of the block.
    pub first: u16,
    /// Ports in the block.
    pub count: u16,
    /// The git common dir of the repository whose tenant holds it.
    pub repo: PathBuf,
    /// The tenant.
    pub tenant: String,
    /// The process that took it.
    pub pid: u32,
    /// When (ms since epoch).
    pub since_ms: u64,
}

/// The lease file.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Leases {
    #[serde(default)]
    leases: Vec<PortLease>,
}

/// The per-user directory holding the machine-wide lease file: `$XDG_STATE_HOME/git-neighbor`, else
/// `$HOME/.local/state/git-neighbor` (without `HOME`, the home directory the user database names, so a
/// service started without `HOME` still shares the one file).
pub fn user_state_dir() -> Result<PathBuf, Error> {
    if let Some(x) = std::env::var_os("XDG_STATE_HOME").map(PathBuf::from).filter(|p| p.is_absolute()) {
        return Ok(x.join("git-neighbor"));
    }
    let home = std::env::var_os("HOME").map(PathBuf::from).filter(|p| p.is_absolute()).or_else(|| {
        nix::unistd::User::from_uid(nix::unistd::getuid()).ok().flatten().map(|u| u.dir).filter(|p| p.is_absolute())
    });
    match home {
        Some(h) => Ok(h.join(".local/state/git-neighbor")),
        None => Err(Error::new("cannot place the machine-wide port leases: no XDG_STATE_HOME, HOME or home directory")
            .hint("set HOME (or XDG_STATE_HOME) to an absolute directory")),
    }
}

/// The machine-wide lease file.
pub fn lease_file() -> Result<PathBuf, Error> {
    Ok(user_state_dir()?.join("ports.json"))
}

/// Every port of a block starting at `first`.
pub fn block(first: u16) -> std::ops::Range<u16> {
    first..first.saturating_add(PORT_BLOCK)
}

/// The repository's identity in the lease file: its common dir, canonical.
fn repo_key(ctx: &Ctx) -> PathBuf {
    std::fs::canonicalize(&ctx.repo.common_dir).unwrap_or_else(|_| ctx.repo.common_dir.clone())
}

/// Run `f` on the lease file under its lock; `f` returns whether it changed it (then it is written).
fn with_leases<T>(ctx: &Ctx, f: impl FnOnce(&mut Vec<PortLease>) -> Result<(T, bool), Error>) -> Result<T, Error> {
    let path = lease_file()?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::create_dir_all(&dir).map_err(|e| Error::new(format!("cannot create {}: {e}", dir.display())))?;
    let lock = dir.join("ports.lock");
    let timed_out =
        || lease::timeout_error("port lease lock", &lock, ctx.lock_timeout, "held by another git-neighbor", "wait");
    lease::wait_for(&lock, Mode::Exclusive, ctx.lock_timeout, timed_out, |_| {
        sweep_temp_files(&dir);
        let mut file: Leases = match std::fs::read(&path) {
            Ok(b) => serde_json::from_slice(&b).map_err(|e| {
                Error::new(format!("corrupt port lease file {}: {e}", path.display()))
                    .hint("delete it: leases of live tenants are taken again as they are needed")
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Leases::default(),
            Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
        };
        let (out, changed) = f(&mut file.leases)?;
        if changed {
            let bytes =
                serde_json::to_vec_pretty(&file).map_err(|e| Error::new(format!("cannot encode leases: {e}")))?;
            crate::failpoint::hit("ports-lease-write");
            state_dir::atomic_write(&path, &bytes)?;
            crate::failpoint::hit("ports-leased");
        }
        Ok(out)
    })
}

/// Temp files a writer killed mid-write left beside the lease file (we hold the lock: no writer is live).
fn sweep_temp_files(dir: &Path) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        if state_dir::is_temp_name(&e.file_name().to_string_lossy()) {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Is this lease still held? It is not when its repository is gone, or when its tenant has no record
/// with this block and the process that took it has exited (a live taker may be recording it right now).
fn held(l: &PortLease) -> bool {
    if !l.repo.join("neighbor").is_dir() {
        return false;
    }
    if registry::validate_name(&l.tenant).is_err() {
        return false;
    }
    let record = registry::get(&StateDir::new(l.repo.join("neighbor")), &l.tenant).ok().flatten();
    record.is_some_and(|t| t.port == Some(l.first)) || pid_alive(l.pid)
}

/// Can every port of the block be bound on 127.0.0.1 right now?
fn bindable(first: u16) -> bool {
    block(first).all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok())
}

/// Lease a free block for tenant `name` of this repository: not leased by any live tenant on this
/// machine, every port bindable. Leases that are no longer held are reclaimed on the way. Call under the
/// building lock, before the tenant's record names the block.
pub(crate) fn lease_block(ctx: &Ctx, name: &str) -> Result<u16, Error> {
    let repo = repo_key(ctx);
    with_leases(ctx, |leases| {
        leases.retain(|l| !(l.repo == repo && l.tenant == name) && held(l));
        let taken = |first: u16| leases.iter().any(|l| first < l.first + l.count && l.first < first + PORT_BLOCK);
        let first =
            (0..BLOCKS).map(|k| PORT_BASE + k * PORT_BLOCK).find(|&p| !taken(p) && bindable(p)).ok_or_else(|| {
                Error::new(format!("no free port block: {} blocks are leased or in use", leases.len()))
                    .hint("git neighbor prune releases the blocks of abandoned tenants")
            })?;
        leases.push(PortLease {
            first,
            count: PORT_BLOCK,
            repo: repo.clone(),
            tenant: name.to_string(),
            pid: std::process::id(),
            since_ms: state_dir::now_ms(),
        });
        Ok((first, true))
    })
}

/// Release tenant `t`'s block, if it has one. Best effort: a lease left behind (lock timeout, crash) is
/// reclaimed by the next writer once the record is gone.
pub(crate) fn release(ctx: &Ctx, t: &Tenant) {
    let Some(first) = t.port else { return };
    let repo = repo_key(ctx);
    let _ = with_leases(ctx, |leases| {
        let before = leases.len();
        leases.retain(|l| !(l.repo == repo && l.tenant == t.name && l.first == first));
        Ok(((), leases.len() != before))
    });
}

/// The environment a tenant's commands (`run`'s CMD, setup) get: who and where they are, their ports,
/// and a Docker Compose project name of their own.
pub fn tenant_env(ctx: &Ctx, t: &Tenant) -> Vec<(String, String)> {
    let mut env = vec![
        ("NEIGHBOR_NAME".to_string(), t.name.clone()),
        ("NEIGHBOR_WORKTREE".into(), t.path.display().to_string()),
        ("NEIGHBOR_BRANCH".into(), t.branch.clone()),
        (
            "NEIGHBOR_MAIN".into(),
            ctx.repo.main_worktree.as_deref().unwrap_or(&ctx.repo.common_dir).display().to_string(),
        ),
        ("COMPOSE_PROJECT_NAME".into(), compose_project(ctx, t)),
    ];
    if let Some(p) = t.port {
        env.push(("NEIGHBOR_PORT".into(), p.to_string()));
        let all: Vec<String> = block(p).map(|q| q.to_string()).collect();
        env.push(("NEIGHBOR_PORTS".into(), all.join(" ")));
    }
    env
}

/// `<building>-<tenant>-<6 hex of the common dir>`, in the characters Compose accepts (lowercase letters,
/// digits, `-`, `_`, starting with a letter or digit): unique per tenant on the machine.
pub fn compose_project(ctx: &Ctx, t: &Tenant) -> String {
    compose_name(&ctx.repo.building_name(), &t.name, &repo_key(ctx))
}

fn compose_name(building: &str, tenant: &str, common_dir: &Path) -> String {
    let raw = format!("{building}-{tenant}").to_ascii_lowercase();
    let s: String = raw.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    let s = s.trim_start_matches(['-', '_']);
    let id = gix::objs::compute_hash(
        gix::hash::Kind::Sha1,
        gix::objs::Kind::Blob,
        common_dir.as_os_str().as_encoded_bytes(),
    )
    .map(|h| h.to_hex_with_len(6).to_string())
    .unwrap_or_default();
    if s.is_empty() { format!("t-{id}") } else { format!("{s}-{id}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_overlap_only_when_they_share_a_port() {
        assert_eq!(block(20_000).count(), 10);
        assert!(block(20_000).contains(&20_009) && !block(20_000).contains(&20_010));
    }

    #[test]
    fn compose_names_are_what_compose_accepts_and_differ_per_repository() {
        let a = compose_name("My Repo", "T.1_x", Path::new("/a/.git"));
        assert!(a.starts_with("my-repo-t-1_x-") && a.len() == "my-repo-t-1_x-".len() + 6, "{a}");
        assert_ne!(a, compose_name("My Repo", "T.1_x", Path::new("/b/.git")));
        let odd = compose_name("-é-", "x", Path::new("/c/.git"));
        let first = odd.chars().next().unwrap_or('-');
        assert!(first.is_ascii_lowercase() || first.is_ascii_digit(), "{odd}");
        assert!(odd.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'), "{odd}");
    }
}
