//! The elevator: a building-wide gate so launches pass one at a time, at least `stagger` apart, first come
//! first served, from any number of independent processes.
//!
//! Each launcher takes a numbered ticket under `elevator/lock` and holds an flock on its ticket file while
//! it waits. It goes when every earlier ticket is gone or dead (its flock is free, e.g. after a crash) and
//! `stagger` has passed since the last launch recorded in `elevator/last`. Dead tickets are swept by
//! whoever finds them, so a crash never jams the queue; a ticket whose waiter is stopped (Ctrl-Z) is
//! passed over, and one that does not move for `stagger + --lock-timeout` ends the wait with exit 4 naming
//! its pid (written in the ticket). Both waits return at once when a signal arrives.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::building::lease;
use crate::building::state_dir::{self, StateDir};
use crate::error::{Error, IoContext};

/// What passing the elevator cost.
#[derive(Debug, Clone, Serialize)]
pub struct Ride {
    /// Ticket number (arrival order).
    pub ticket: u64,
    /// Time spent waiting, in milliseconds.
    pub waited_ms: u64,
    /// When this launch was recorded as the building's last (ms since the epoch).
    pub launched_ms: u64,
}

fn dir(s: &StateDir) -> PathBuf {
    s.root.join("elevator")
}

fn read_u64(p: &std::path::Path) -> u64 {
    std::fs::read_to_string(p).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0)
}

/// A place in the queue, taken on arrival and held (flock) until the holder launches or dies.
pub struct Ticket {
    number: u64,
    path: PathBuf,
    taken_ms: u64,
    // Locked; the guard is forgotten so the flock lives as long as this open file.
    _file: fd_lock::RwLock<std::fs::File>,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Take a ticket: arrival order is ticket order.
pub fn ticket(s: &StateDir, lock_timeout: Duration) -> Result<Ticket, Error> {
    let d = dir(s);
    std::fs::create_dir_all(&d).ctx(|| format!("cannot create {}", d.display()))?;
    // The ticket file is locked before the gate and renamed to its number inside it (a rename keeps
    // the inode, hence the lock), so no earlier ticket can appear after ours unlocked.
    let pending = d.join(format!(".pending-{}-{}", std::process::id(), state_dir::unique()));
    let mut file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&pending)
        .ctx(|| format!("cannot create {}", pending.display()))?;
    // The waiter's pid, so those behind it can name it (and pass it over while it is stopped).
    std::io::Write::write_all(&mut file, format!("{}\n", std::process::id()).as_bytes())
        .ctx(|| format!("cannot write {}", pending.display()))?;
    let mut lock = fd_lock::RwLock::new(file);
    match lock.try_write() {
        Ok(g) => std::mem::forget(g),
        Err(e) => return Err(Error::new(format!("cannot hold elevator ticket {}: {e}", pending.display()))),
    }
    let numbered = with_flock(&d.join("lock"), lock_timeout, || {
        let n = read_u64(&d.join("next")) + 1;
        state_dir::atomic_write(&d.join("next"), n.to_string().as_bytes())?;
        let path = d.join(format!("{n:020}.ticket"));
        std::fs::rename(&pending, &path).ctx(|| format!("cannot place elevator ticket {}", path.display()))?;
        Ok((n, path))
    });
    match numbered {
        Ok((number, path)) => Ok(Ticket { number, path, taken_ms: state_dir::now_ms(), _file: lock }),
        Err(e) => {
            let _ = std::fs::remove_file(&pending);
            Err(e)
        }
    }
}

impl Ticket {
    /// Wait until every earlier ticket has gone (or died, or is stopped) and `stagger` has passed since
    /// the last launch; record ours and leave the queue. Returns `None`, launching nothing, as soon as
    /// `interrupted` says so (a signal arrived). Waiting behind one ticket that does not move for
    /// `stagger + lock_timeout` fails with exit 4 naming its holder.
    pub fn wait_turn(
        self,
        s: &StateDir,
        stagger: Duration,
        lock_timeout: Duration,
        interrupted: &dyn Fn() -> bool,
    ) -> Result<Option<Ride>, Error> {
        let d = dir(s);
        let mut head: Option<Waiter> = None;
        let mut since = Instant::now();
        while let Some(w) = earliest_waiting(&d, self.number)? {
            if interrupted() {
                return Ok(None);
            }
            if head.as_ref().is_none_or(|h| h.number != w.number) {
                head = Some(w);
                since = Instant::now();
            } else if since.elapsed() >= stagger.saturating_add(lock_timeout) {
                let who = if w.pid == 0 { "an unknown process".to_string() } else { format!("pid {}", w.pid) };
                return Err(Error::lock_timeout(format!(
                    "elevator: ticket {} held by {who} has not moved for {}",
                    w.number,
                    crate::config::format_duration(since.elapsed())
                ))
                .hint("that launch is stuck (or stopped with Ctrl-Z: `fg` it); wait, or raise --lock-timeout"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        loop {
            if interrupted() {
                return Ok(None);
            }
            let last = read_u64(&d.join("last"));
            let due = last.saturating_add(stagger.as_millis() as u64);
            let now = state_dir::now_ms();
            if last == 0 || now >= due {
                break;
            }
            std::thread::sleep(Duration::from_millis((due - now).min(50)));
        }
        let launched_ms = state_dir::now_ms();
        with_flock(&d.join("lock"), lock_timeout, || {
            state_dir::atomic_write(&d.join("last"), launched_ms.to_string().as_bytes())
        })?;
        Ok(Some(Ride { ticket: self.number, waited_ms: launched_ms.saturating_sub(self.taken_ms), launched_ms }))
    }
}

/// A live ticket ahead of ours.
struct Waiter {
    number: u64,
    pid: u32,
}

/// The earliest ticket numbered below `mine` whose waiter is alive and not stopped. Dead ones are
/// removed; a stopped one (Ctrl-Z) is passed over, so it never jams the building, and takes its turn
/// when continued.
fn earliest_waiting(d: &std::path::Path, mine: u64) -> Result<Option<Waiter>, Error> {
    let mut first: Option<Waiter> = None;
    for e in std::fs::read_dir(d).ctx(|| format!("cannot read {}", d.display()))?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".pending-") {
            sweep_if_dead(&e.path());
            continue;
        }
        let Some(n) = name.strip_suffix(".ticket").and_then(|n| n.parse::<u64>().ok()) else { continue };
        if n >= mine || first.as_ref().is_some_and(|f| f.number < n) {
            continue;
        }
        if crate::building::lease::is_held(&e.path()) {
            let pid = read_u64(&e.path()) as u32;
            if pid != 0 && crate::supervise::proc::is_stopped(pid) {
                continue;
            }
            first = Some(Waiter { number: n, pid });
        } else {
            // Its waiter died (or just left): sweep it.
            let _ = std::fs::remove_file(e.path());
        }
    }
    Ok(first)
}

fn sweep_if_dead(p: &std::path::Path) {
    // A pending file is created, then locked: give a new one time before judging it dead.
    let young = std::fs::metadata(p)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|m| m.elapsed().ok())
        .is_none_or(|a| a < Duration::from_secs(10));
    if young {
        return;
    }
    if p.exists() && !crate::building::lease::is_held(p) {
        let _ = std::fs::remove_file(p);
    }
}

fn with_flock<T>(path: &std::path::Path, timeout: Duration, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    let timed_out = || lease::timeout_error("elevator lock", path, timeout, "a launcher is taking a ticket", "wait");
    lease::wait_for(path, lease::Mode::Exclusive, timeout, timed_out, |_| f())
}
