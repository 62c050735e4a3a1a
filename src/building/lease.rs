//! Locks: the building lock (one writer of shared state at a time) and tenant leases.
//!
//! Both are fd-lock (flock) locks, so the kernel releases them when the holder dies, even on `kill -9`.
//! Waits are bounded: the building lock polls until `--lock-timeout`, then fails with an error that names
//! the holder recorded in `lock.holder` (pid, command, age). A lease is "held" exactly when a try-lock on
//! its file fails; its note (`<name>.json`) says who holds it.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::building::state_dir::{self, StateDir};
use crate::error::{Error, IoContext};

/// Who holds a lock, as recorded by the holder.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Command line.
    pub command: String,
    /// When it took the lock (ms since epoch).
    pub since_ms: u64,
    /// Lease id, for leases handed out by the pool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_id: Option<String>,
    /// For an ephemeral tenant's lease keeper: the process whose life the lease follows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub watch_pid: Option<u32>,
}

impl Holder {
    /// A note describing this process.
    pub fn me() -> Self {
        Holder {
            pid: std::process::id(),
            command: state_dir::command_line(),
            since_ms: state_dir::now_ms(),
            lease_id: None,
            watch_pid: None,
        }
    }
    /// `pid 123 (git-neighbor add t1) for 2s`
    pub fn describe(&self) -> String {
        let exited = if self.exited() { ", which has exited; a process it started still holds it" } else { "" };
        format!(
            "pid {} ({}) for {}{exited}",
            self.pid,
            self.command,
            state_dir::human_age(state_dir::age(self.since_ms))
        )
    }
    /// The recorded holder is gone (a child it started, e.g. git, still holds the descriptor).
    pub fn exited(&self) -> bool {
        self.pid != 0 && !crate::supervise::proc::pid_alive(self.pid)
    }
}

fn open_lock(path: &Path) -> Result<File, Error> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .ctx(|| format!("cannot open lock file {}", path.display()))
}

/// Run `f` while holding the building lock, waiting at most `timeout` for it.
pub fn with_building_lock<T>(
    dir: &StateDir,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    dir.ensure()?;
    let mut lock = fd_lock::RwLock::new(open_lock(&dir.lock_file())?);
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    let guard = loop {
        match lock.try_write() {
            Ok(g) => break g,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(Error::new(format!("cannot lock {}: {e}", dir.lock_file().display()))),
        }
        if start.elapsed() >= timeout {
            // The note is removed on release, so one that is there names the holder (or the process
            // whose child inherited the lock, when that process has exited).
            let holder = std::fs::read(dir.lock_holder_file())
                .ok()
                .and_then(|b| serde_json::from_slice::<Holder>(&b).ok())
                .map(|h| format!("held by {}", h.describe()))
                .unwrap_or_else(|| "holder unknown (it left no note)".into());
            return Err(Error::lock_timeout(format!(
                "building lock {} not acquired within {}: {holder}",
                dir.lock_file().display(),
                crate::config::format_duration(timeout)
            ))
            .hint("wait for that command to finish, or raise --lock-timeout; the lock dies with its holder"));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    };
    // Best effort: a missing note only makes a later timeout message less specific.
    let note = serde_json::to_vec(&Holder::me()).unwrap_or_default();
    let _ = state_dir::atomic_write(&dir.lock_holder_file(), &note);
    let out = f();
    // A released lock names no holder: remove the note while still holding the lock.
    let _ = std::fs::remove_file(dir.lock_holder_file());
    drop(guard);
    out
}

/// Does some live process hold an flock on `path`? (A missing file is not held.) Probing takes the lock
/// for an instant when it is free, so holders must wait for their lock rather than try it once.
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else { return false };
    let mut lock = fd_lock::RwLock::new(file);
    matches!(lock.try_write(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

/// Is the lease on tenant `name` held? Returns the holder's note when it is.
pub fn lease_holder(dir: &StateDir, name: &str) -> Option<Holder> {
    if !is_held(&dir.leases().join(format!("{name}.lock"))) {
        return None;
    }
    let note = std::fs::read(dir.leases().join(format!("{name}.json"))).ok();
    Some(note.and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or(Holder {
        pid: 0,
        command: "unknown".into(),
        since_ms: 0,
        lease_id: None,
        watch_pid: None,
    }))
}

/// How a lease is shared with child processes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Share {
    /// Only this process holds it.
    No,
    /// Children started while it is held share it, so a crash of ours leaves it held until they exit
    /// (used while git builds a tenant).
    Children,
    /// Like `Children`, and on success the lease is handed over: this process does not unlock it, so a
    /// child that shares the descriptor (the ephemeral lease keeper) goes on holding it.
    HandOver,
}

/// The lease descriptor, handed to the closure of [`with_lease`] so it can decide which children share it.
pub struct LeaseFd<'a>(&'a File);

impl LeaseFd<'_> {
    /// Let children started from now on share the lease (or stop them from sharing it).
    pub fn set_inherit(&self, inherit: bool) -> Result<(), Error> {
        use nix::fcntl::{FcntlArg, FdFlag, fcntl};
        let flag = if inherit { FdFlag::empty() } else { FdFlag::FD_CLOEXEC };
        fcntl(self.0, FcntlArg::F_SETFD(flag))
            .map(drop)
            .map_err(|e| Error::new(format!("cannot set lease sharing: {e}")))
    }
}

/// Hold the lease on tenant `name` while `f` runs.
pub fn with_lease<T>(
    dir: &StateDir,
    name: &str,
    holder: &Holder,
    share: Share,
    f: impl FnOnce(&LeaseFd<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    let inherit = share != Share::No;
    dir.ensure()?;
    let path = dir.leases().join(format!("{name}.lock"));
    let mut lock = fd_lock::RwLock::new(open_lock(&path)?);
    let guard = match lock.try_write() {
        Ok(g) => g,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            let who = lease_holder(dir, name).map(|h| h.describe()).unwrap_or_else(|| "another process".into());
            return Err(Error::refused(format!("tenant '{name}' is leased by {who}"))
                .hint("wait for it to finish; a lease dies with its process"));
        }
        Err(e) => return Err(Error::new(format!("cannot lock {}: {e}", path.display()))),
    };
    let fd = LeaseFd(&guard);
    if inherit {
        fd.set_inherit(true)?;
    }
    let note = serde_json::to_vec(holder).unwrap_or_default();
    state_dir::atomic_write(&dir.leases().join(format!("{name}.json")), &note)?;
    let out = f(&fd);
    let _ = fd.set_inherit(false);
    if share == Share::HandOver && out.is_ok() {
        // Dropping the guard would flock(LOCK_UN) the shared open file description for everyone.
        std::mem::forget(guard);
    } else {
        drop(guard);
    }
    out
}

/// Remove a tenant's lease files. Callers hold the building lock and either hold the lease themselves
/// or have seen it dead, so no one is waiting on these files.
pub fn remove_lease_files(dir: &StateDir, name: &str) {
    let _ = std::fs::remove_file(dir.leases().join(format!("{name}.json")));
    let _ = std::fs::remove_file(dir.leases().join(format!("{name}.lock")));
}

/// Is the building lock held right now? Returns the recorded holder when it is.
pub fn building_lock_holder(dir: &StateDir) -> Option<Holder> {
    if !is_held(&dir.lock_file()) {
        return None;
    }
    std::fs::read(dir.lock_holder_file()).ok().and_then(|b| serde_json::from_slice(&b).ok())
}

/// Record a new note for a lease this process holds (or shares).
pub fn write_lease_note(dir: &StateDir, name: &str, holder: &Holder) -> Result<(), Error> {
    let note = serde_json::to_vec(holder).unwrap_or_default();
    state_dir::atomic_write(&dir.leases().join(format!("{name}.json")), &note)
}

/// Stop the lease keeper `h` holding tenant `name`'s lease (SIGTERM) and wait up to 2 s for the lease to
/// end. Returns whether it ended.
pub fn stop_keeper(dir: &StateDir, name: &str, h: &Holder) -> bool {
    // A note written by this very process (before its keeper wrote its own) names no keeper to stop.
    if h.pid == std::process::id() {
        return false;
    }
    let Ok(raw) = i32::try_from(h.pid) else { return false };
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), nix::sys::signal::Signal::SIGTERM);
    for _ in 0..200 {
        if lease_holder(dir, name).is_none() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}
