//! Locks: the building lock (one writer of shared state at a time) and tenant leases.
//!
//! Both are fd-lock (flock) locks, so the kernel releases them when the holder dies, even on `kill -9`.
//! Every lock that is waited for (the building lock, the mailbox and fetch locks, the elevator's gate, the
//! land queue) waits in [`wait_for`], bounded by `--lock-timeout`, then fails (exit 4) with an error that
//! names the holder where one is recorded (the building lock's `lock.holder`: pid, command, age). A lease is "held" exactly when a try-lock on
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

/// How a lock is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One holder at a time.
    Exclusive,
    /// Many holders at once, none while an exclusive holder has it.
    Shared,
}

/// The one timed wait for an flock: take the lock on `path` (created when missing) in `mode`, polling
/// with a short backoff for at most `timeout`, run `f` while holding it and release it. A lock still held
/// by someone else after `timeout` gives `timed_out()`'s error, which should name the holder and the
/// wait (exit 4). Every lock of ours that is waited for goes through here.
pub fn wait_for<T>(
    path: &Path,
    mode: Mode,
    timeout: Duration,
    timed_out: impl FnOnce() -> Error,
    f: impl FnOnce(&File) -> Result<T, Error>,
) -> Result<T, Error> {
    let mut lock = fd_lock::RwLock::new(open_lock(path)?);
    let start = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        // The guards are different types; each branch holds its own for the whole of `f`.
        let got = match mode {
            Mode::Exclusive => match lock.try_write() {
                Ok(guard) => return f(&guard),
                Err(e) => e,
            },
            Mode::Shared => match lock.try_read() {
                Ok(guard) => return f(&guard),
                Err(e) => e,
            },
        };
        if got.kind() != std::io::ErrorKind::WouldBlock {
            return Err(Error::new(format!("cannot lock {}: {got}", path.display())));
        }
        if start.elapsed() >= timeout {
            return Err(timed_out());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    }
}

/// `<what> <path> not acquired within <timeout>: <holder>`, exit 4, with a hint to wait or raise the timeout.
pub fn timeout_error(what: &str, path: &Path, timeout: Duration, holder: &str, wait: &str) -> Error {
    Error::lock_timeout(format!(
        "{what} {} not acquired within {}: {holder}",
        path.display(),
        crate::config::format_duration(timeout)
    ))
    .hint(format!("{wait}, or raise --lock-timeout; the lock dies with its holder"))
}

/// Run `f` while holding the building lock, waiting at most `timeout` for it.
pub fn with_building_lock<T>(
    dir: &StateDir,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    dir.ensure()?;
    let path = dir.lock_file();
    let timed_out = || {
        // The note is removed on release, so one that is there names the holder (or the process
        // whose child inherited the lock, when that process has exited).
        let holder = read_note(&dir.lock_holder_file())
            .map(|h| format!("held by {}", h.describe()))
            .unwrap_or_else(|| "holder unknown (it left no note)".into());
        timeout_error("building lock", &path, timeout, &holder, "wait for that command to finish")
    };
    wait_for(&path, Mode::Exclusive, timeout, timed_out, |_| {
        // Best effort: a missing note only makes a later timeout message less specific.
        let note = serde_json::to_vec(&Holder::me()).unwrap_or_default();
        let _ = state_dir::atomic_write(&dir.lock_holder_file(), &note);
        let out = f();
        // A released lock names no holder: remove the note while still holding the lock.
        let _ = std::fs::remove_file(dir.lock_holder_file());
        out
    })
}

fn read_note(path: &Path) -> Option<Holder> {
    std::fs::read(path).ok().and_then(|b| serde_json::from_slice::<Holder>(&b).ok())
}

/// Hold the lease on `name` while `f` runs, waiting up to `timeout` for its holder to let go (a queue
/// such as land's). Only this process holds it.
pub fn with_lease_waiting<T>(
    dir: &StateDir,
    name: &str,
    timeout: Duration,
    f: impl FnOnce(&LeaseFd<'_>) -> Result<T, Error>,
) -> Result<T, Error> {
    dir.ensure()?;
    let path = dir.leases().join(format!("{name}.lock"));
    let timed_out = || {
        let who = lease_holder(dir, name).map(|h| format!("held by {}", h.describe()));
        timeout_error(name, &path, timeout, &who.unwrap_or_else(|| "holder unknown".into()), "wait for it")
    };
    wait_for(&path, Mode::Exclusive, timeout, timed_out, |file| {
        let note = serde_json::to_vec(&Holder::me()).unwrap_or_default();
        state_dir::atomic_write(&dir.leases().join(format!("{name}.json")), &note)?;
        f(&LeaseFd(file))
    })
}

/// Does some live process hold an flock on `path`? (A missing file is not held.) Probing takes the lock
/// for an instant when it is free, so holders must wait for their lock rather than try it once.
///
/// The look takes a shared lock for an instant: holders of leases, the building lock and elevator tickets
/// all lock exclusively, so a shared lock is refused exactly while one holds it, and two looks at the same
/// moment (two `status`, two prompts) never take each other for a holder, as exclusive looks did.
pub fn is_held(path: &Path) -> bool {
    let Ok(file) = OpenOptions::new().read(true).write(true).open(path) else { return false };
    let lock = fd_lock::RwLock::new(file);
    matches!(lock.try_read(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
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

/// The lease keeper's work (`__lease-keeper`): hold tenant `name`'s lease, shared from the process that
/// made or claimed it, while `watch` lives; stop when the tenant is gone, when (pool) the claim it held
/// for is no longer this one, or when the `pool claim` that started it died before handing it over.
pub fn keep_lease(ctx: &crate::building::Ctx, name: &str, watch: u32) -> Result<(), Error> {
    let note = Holder {
        pid: std::process::id(),
        command: format!("lease keeper for pid {watch}"),
        since_ms: state_dir::now_ms(),
        lease_id: None,
        watch_pid: Some(watch),
    };
    write_lease_note(&ctx.state, name, &note)?;
    let mut tick = 0u32;
    while crate::supervise::proc::pid_alive(watch) {
        std::thread::sleep(std::time::Duration::from_millis(100));
        tick += 1;
        if tick.is_multiple_of(5) {
            match crate::building::registry::get(&ctx.state, name).ok().flatten() {
                None => break,
                Some(t) => {
                    if let Some(p) = &t.pool {
                        match &p.claim {
                            Some(c) if c.pid == watch => {
                                if c.pending.is_some_and(|claimer| !crate::supervise::proc::pid_alive(claimer)) {
                                    break;
                                }
                            }
                            _ => break,
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::error::Kind;

    fn other_holder(path: &Path) -> fd_lock::RwLock<File> {
        fd_lock::RwLock::new(open_lock(path).unwrap())
    }

    #[test]
    fn a_held_lock_times_out_with_the_callers_error_and_f_never_runs() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let mut held = other_holder(&path);
        let _g = held.try_write().unwrap();
        let mut ran = false;
        let r = wait_for(
            &path,
            Mode::Exclusive,
            Duration::from_millis(30),
            || timeout_error("test lock", &path, Duration::from_millis(30), "held by the test", "wait"),
            |_| {
                ran = true;
                Ok(())
            },
        );
        let e = r.unwrap_err();
        assert_eq!(e.kind, Kind::LockTimeout);
        assert!(e.message.contains("test lock") && e.message.contains("held by the test"), "{}", e.message);
        assert!(!ran);
    }

    #[test]
    fn shared_holders_do_not_wait_for_each_other_and_exclusive_waits_for_them() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("x.lock");
        let reader = other_holder(&path);
        let g = reader.try_read().unwrap();
        let quick = Duration::from_millis(20);
        let err = || timeout_error("t", &path, quick, "", "wait");
        assert_eq!(wait_for(&path, Mode::Shared, quick, err, |_| Ok(7)).unwrap(), 7);
        assert_eq!(wait_for(&path, Mode::Exclusive, quick, err, |_| Ok(())).unwrap_err().kind, Kind::LockTimeout);
        drop(g);
        assert_eq!(wait_for(&path, Mode::Exclusive, quick, err, |_| Ok(8)).unwrap(), 8);
    }

    #[test]
    fn a_queue_lease_names_its_holder_when_the_wait_runs_out() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = StateDir { root: tmp.path().join("neighbor") };
        let quick = Duration::from_millis(20);
        let inner = with_lease_waiting(&dir, ".queue", quick, |_| {
            Ok(with_lease_waiting(&dir, ".queue", quick, |_| Ok(())).unwrap_err())
        })
        .unwrap();
        assert_eq!(inner.kind, Kind::LockTimeout);
        assert!(inner.message.contains(&format!("held by pid {}", std::process::id())), "{}", inner.message);
    }
}
