//! `status --short --watch`: the prompt's "did tracked files change" answered from memory.
//!
//! Knowing whether a tracked file changed means an `lstat` of every tracked file (about 20 ms for 20,000
//! files here, as for `git status -uno`). With `--watch`, one small process per worktree (`__prompt-watch`,
//! started by the first `--watch` look) keeps that answer current: it watches, with inotify, every
//! directory that holds tracked files and the worktree's own git dir (index, HEAD), and recomputes the
//! answer through [`status::tracked_changes`] after every change. The answer lives in
//! `<git-common-dir>/neighbor/prompt/<key>.json`, replaced by temp+rename, with the stamp of the index and
//! HEAD it was computed against.
//!
//! A look uses the remembered answer only when the watcher that wrote it still runs (pid and process
//! identity) and vouches for the worktree as it is at the look, the way git's fsmonitor daemon does: the
//! look creates a cookie file in the watched prompt directory and waits (a few milliseconds at most) for an
//! answer that acknowledges it. inotify delivers one instance's events in order, so by the time the watcher
//! reads the cookie's event it has read every change made before the look; it acknowledges the cookie in
//! a `settled` answer computed after those changes. The answer must also carry the stamp of the index and
//! HEAD the look sees. Anything else (no watcher, no acknowledgement in time, another stamp) and the look
//! does the full scan itself, so the answer is never a guess; it starts a watcher if none runs.
//!
//! One watcher per worktree (an fd-lock on `<key>.lock`); it exits when no look has asked for `--idle`
//! (10 minutes), when its worktree is gone, or at once when it cannot watch or look (the kernel refuses more
//! watches, the index does not read): then it writes `unavailable` with the reason, and looks do the scan
//! without starting another watcher for 10 minutes.
//! Linux only (inotify); elsewhere `--watch` is the plain look.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Ctx, state_dir};
use crate::error::{Error, IoContext};
use crate::git::status::{self, Changes};
use crate::supervise::proc;

/// How long a watcher lives without a look.
pub const IDLE: Duration = Duration::from_secs(600);

/// What the watcher writes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Answer {
    /// The watcher's pid.
    pub pid: u32,
    /// Its process identity (boot id and start time), so a reused pid is not taken for it.
    pub identity: Option<String>,
    /// The worktree watched.
    pub workdir: PathBuf,
    /// `settled` (an answer, current as of the cookies acknowledged), `unavailable` (the watcher could not
    /// watch; see `reason`).
    pub state: String,
    /// Tracked files changed, when settled.
    pub dirty: Option<bool>,
    /// [`status::index_stamp`] taken before the answer was computed.
    pub stamp: Option<String>,
    /// Why the watcher is unavailable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The looks' cookies this answer accounts for (see [`remembered`]).
    #[serde(default)]
    pub acks: Vec<String>,
    /// When it was written.
    pub at_ms: u64,
}

fn dir(ctx: &Ctx) -> PathBuf {
    ctx.state.root.join("prompt")
}

/// A file name for the worktree: FNV-1a of its path.
fn key(workdir: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in workdir.as_os_str().as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}

struct Files {
    answer: PathBuf,
    lock: PathBuf,
    asked: PathBuf,
    cookie: String,
}

fn files(ctx: &Ctx, workdir: &Path) -> Files {
    let (d, k) = (dir(ctx), key(workdir));
    Files {
        answer: d.join(format!("{k}.json")),
        lock: d.join(format!("{k}.lock")),
        asked: d.join(format!("{k}.asked")),
        cookie: format!("{k}.cookie."),
    }
}

/// Mark `path` as just touched (created if missing).
fn touch(path: &Path) {
    if let Ok(f) = std::fs::File::options().create(true).truncate(false).write(true).open(path) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

fn read(path: &Path) -> Option<Answer> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// How long a look waits for the watcher to acknowledge its cookie before scanning itself.
const ACK_WAIT: Duration = Duration::from_millis(30);

/// The watcher's answer for this worktree as it is at this look, if it vouches for one; otherwise `None`
/// (after starting a watcher if none runs).
pub fn remembered(ctx: &Ctx) -> Option<bool> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let workdir = ctx.repo.workdir.as_deref()?;
    let f = files(ctx, workdir);
    touch(&f.asked);
    match read(&f.answer) {
        Some(a) if a.state == "unavailable" => {
            if state_dir::age(a.at_ms) > IDLE {
                start(ctx, workdir);
            }
            None
        }
        Some(a) if a.workdir == workdir && proc::same_process_alive(a.pid, a.identity.as_deref()) => {
            let cookie = format!("{}{}.{}", f.cookie, std::process::id(), state_dir::unique());
            let path = dir(ctx).join(&cookie);
            std::fs::File::create(&path).ok()?;
            let stamp = status::index_stamp(&ctx.repo);
            let until = std::time::Instant::now() + ACK_WAIT;
            let mut answer = None;
            while std::time::Instant::now() < until {
                match read(&f.answer) {
                    Some(b) if b.acks.contains(&cookie) => {
                        if b.state == "settled" && b.stamp.as_deref() == Some(stamp.as_str()) {
                            answer = b.dirty;
                        }
                        break;
                    }
                    Some(b) if b.pid != a.pid => break,
                    None => break,
                    _ => std::thread::sleep(Duration::from_micros(100)),
                }
            }
            let _ = std::fs::remove_file(&path);
            answer
        }
        _ => {
            start(ctx, workdir);
            None
        }
    }
}

/// Start a watcher for `workdir`, detached, in its own process group, its output discarded. A second one
/// started at the same moment exits on the lock.
fn start(ctx: &Ctx, workdir: &Path) {
    use std::os::unix::process::CommandExt;
    let Ok(exe) = std::env::current_exe() else { return };
    let _ = std::fs::create_dir_all(dir(ctx));
    let _ = std::process::Command::new(exe)
        .arg("__prompt-watch")
        .current_dir(workdir)
        // It outlives this look: it finds the repository from the worktree, not from a hook's environment.
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_COMMON_DIR")
        .process_group(0)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
}

/// The watcher's loop (the `__prompt-watch` process); returns when it should end.
#[cfg(target_os = "linux")]
pub fn serve(ctx: &Ctx, idle: Duration) -> Result<(), Error> {
    use std::collections::HashMap;
    use std::os::fd::AsFd;

    use nix::errno::Errno;
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    use nix::sys::inotify::{AddWatchFlags as F, InitFlags, Inotify, WatchDescriptor};

    let workdir = ctx.repo.workdir.clone().ok_or_else(|| Error::new("a bare repository has no files to watch"))?;
    let d = dir(ctx);
    std::fs::create_dir_all(&d).ctx(|| format!("cannot create {}", d.display()))?;
    let f = files(ctx, &workdir);
    let lock_file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&f.lock)
        .ctx(|| format!("cannot open {}", f.lock.display()))?;
    let mut lock = fd_lock::RwLock::new(lock_file);
    let Ok(_held) = lock.try_write() else { return Ok(()) };
    let me = std::process::id();
    let identity = proc::identity(me);
    let write = |state: &str, dirty: Option<bool>, stamp: Option<String>, reason: Option<String>, acks: &[String]| {
        let a = Answer {
            pid: me,
            identity: identity.clone(),
            workdir: workdir.clone(),
            state: state.into(),
            dirty,
            stamp,
            reason,
            acks: acks.to_vec(),
            at_ms: state_dir::now_ms(),
        };
        match serde_json::to_vec(&a) {
            Ok(bytes) => state_dir::atomic_write(&f.answer, &bytes),
            Err(e) => Err(Error::new(format!("cannot encode the prompt answer: {e}"))),
        }
    };
    let ino = Inotify::init(InitFlags::IN_CLOEXEC | InitFlags::IN_NONBLOCK)
        .map_err(|e| Error::new(format!("cannot start inotify: {e}")))?;
    let files_mask = F::IN_MODIFY
        | F::IN_ATTRIB
        | F::IN_CLOSE_WRITE
        | F::IN_CREATE
        | F::IN_DELETE
        | F::IN_MOVED_FROM
        | F::IN_MOVED_TO
        | F::IN_DELETE_SELF
        | F::IN_MOVE_SELF
        | F::IN_ONLYDIR;
    let meta_mask = F::IN_CLOSE_WRITE | F::IN_MOVED_TO | F::IN_CREATE | F::IN_ATTRIB | F::IN_ONLYDIR;
    // What each watch is: a directory of tracked files, the worktree's git dir, or the prompt dir.
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Files,
        GitDir,
        Prompt,
    }
    let mut kinds: HashMap<WatchDescriptor, Kind> = HashMap::new();
    let mut watched: HashMap<PathBuf, WatchDescriptor> = HashMap::new();
    for (path, kind, mask) in [(&ctx.repo.git_dir, Kind::GitDir, meta_mask), (&d, Kind::Prompt, meta_mask)] {
        let wd = ino.add_watch(path, mask).map_err(|e| Error::new(format!("cannot watch {}: {e}", path.display())))?;
        kinds.insert(wd, kind);
    }
    // (Re)watch the directories of tracked files; false when the kernel refuses more watches.
    let mut rewatch = |kinds: &mut HashMap<WatchDescriptor, Kind>| -> Result<bool, Error> {
        let want = status::tracked_dirs(&ctx.repo)?;
        let keep: std::collections::HashSet<&PathBuf> = want.iter().collect();
        watched.retain(|p, wd| {
            let stay = keep.contains(p);
            if !stay {
                let _ = ino.rm_watch(*wd);
                kinds.remove(wd);
            }
            stay
        });
        for p in &want {
            if watched.contains_key(p) {
                continue;
            }
            match ino.add_watch(p, files_mask) {
                Ok(wd) => {
                    kinds.insert(wd, Kind::Files);
                    watched.insert(p.clone(), wd);
                }
                // A tracked directory that is not on disk (deleted, not yet checked out): its parent's
                // events cover it.
                Err(Errno::ENOENT | Errno::ENOTDIR) => {}
                Err(Errno::ENOSPC) => return Ok(false),
                Err(e) => return Err(Error::new(format!("cannot watch {}: {e}", p.display()))),
            }
        }
        Ok(true)
    };
    let mut rewatch_needed = true;
    let mut compute_needed = true;
    // The last cookies acknowledged (a later answer still accounts for an earlier cookie), newest last.
    let mut acks: Vec<String> = Vec::new();
    let mut fresh_acks = false;
    let mut answer: (Option<bool>, String) = (None, String::new());
    let cookie = std::ffi::OsString::from(&f.cookie);
    // Sort one batch of events: did anything that can change the answer happen (and must the watches be
    // renewed)? Cookies read are queued for acknowledgement.
    let sort = |events: Vec<nix::sys::inotify::InotifyEvent>,
                kinds: &HashMap<WatchDescriptor, Kind>,
                acks: &mut Vec<String>,
                fresh: &mut bool|
     -> (bool, bool) {
        let (mut changed, mut renew) = (false, false);
        for e in events {
            match kinds.get(&e.wd).copied() {
                Some(Kind::Files) => {
                    changed = true;
                    renew |= e.mask.intersects(F::IN_DELETE_SELF | F::IN_MOVE_SELF | F::IN_IGNORED);
                }
                Some(Kind::GitDir) if matches!(e.name.as_deref().and_then(|n| n.to_str()), Some("index" | "HEAD")) => {
                    changed = true;
                    renew = true;
                }
                Some(Kind::Prompt) if e.mask.contains(F::IN_CREATE) => {
                    let name = e.name.map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                    if name.starts_with(cookie.to_string_lossy().as_ref()) {
                        acks.push(name);
                        *fresh = true;
                    }
                }
                _ => {}
            }
        }
        if acks.len() > 32 {
            acks.drain(..acks.len() - 32);
        }
        (changed, renew)
    };
    let mut checked = std::time::Instant::now();
    loop {
        if rewatch_needed {
            rewatch_needed = false;
            let why = match rewatch(&mut kinds) {
                Ok(true) => None,
                Ok(false) => Some("the kernel refused more inotify watches (fs.inotify.max_user_watches)".to_string()),
                Err(e) => Some(e.message),
            };
            if let Some(why) = why {
                // Looks scan meanwhile, and start no other watcher for a while (not one per prompt).
                write("unavailable", None, None, Some(why), &[])?;
                return Ok(());
            }
        }
        if compute_needed {
            // Let a burst of writes finish, then compute; a change read meanwhile means compute again.
            std::thread::sleep(Duration::from_millis(5));
            let stamp = status::index_stamp(&ctx.repo);
            let found = match status::tracked_changes(&ctx.repo, Duration::from_secs(60)) {
                Ok(found) => found,
                Err(e) => {
                    write("unavailable", None, None, Some(e.message), &[])?;
                    return Ok(());
                }
            };
            let (changed, renew) = sort(ino.read_events().unwrap_or_default(), &kinds, &mut acks, &mut fresh_acks);
            rewatch_needed |= renew;
            if changed || renew {
                continue;
            }
            let dirty = match found {
                Changes::Yes => Some(true),
                Changes::No => Some(false),
                Changes::Unknown => None,
            };
            answer = (dirty, stamp);
            compute_needed = false;
            fresh_acks = true;
        }
        if fresh_acks {
            write("settled", answer.0, Some(answer.1.clone()), None, &acks)?;
            fresh_acks = false;
        }
        if checked.elapsed() >= Duration::from_secs(5) {
            checked = std::time::Instant::now();
            let asked = std::fs::metadata(&f.asked).and_then(|m| m.modified()).ok();
            let quiet = asked.and_then(|t| t.elapsed().ok()).is_none_or(|age| age > idle);
            // Cookies of looks killed before they removed them, and temp files of a watcher killed mid-write.
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let old = e.metadata().and_then(|m| m.modified()).ok().and_then(|t| t.elapsed().ok());
                let name = e.file_name().to_string_lossy().into_owned();
                let ours = name.starts_with(&f.cookie) || state_dir::is_temp_name(&name);
                if ours && old.is_some_and(|a| a > IDLE) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
            if quiet || !workdir.is_dir() {
                // Only our own answer is removed: a watcher started since owns its file.
                if read(&f.answer).is_some_and(|a| a.pid == me) {
                    let _ = std::fs::remove_file(&f.answer);
                }
                if !workdir.is_dir() {
                    // The worktree is gone and nothing will look at it again: its files go too, the lock
                    // while it is still held (a watcher starting at this moment loses it and ends).
                    let _ = std::fs::remove_file(&f.asked);
                    let _ = std::fs::remove_file(&f.lock);
                }
                return Ok(());
            }
        }
        let mut fds = [PollFd::new(ino.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(5000u16)) {
            Ok(0) | Err(Errno::EINTR) => {}
            Ok(_) => {
                let (changed, renew) = sort(ino.read_events().unwrap_or_default(), &kinds, &mut acks, &mut fresh_acks);
                rewatch_needed |= renew;
                compute_needed |= changed || renew;
                // A look is waiting: HEAD's branch may have moved without an event here (a commit in a
                // linked worktree moves a ref in the common dir), so check the stamp it will compare.
                if fresh_acks && !compute_needed && status::index_stamp(&ctx.repo) != answer.1 {
                    compute_needed = true;
                }
            }
            Err(e) => return Err(Error::new(format!("cannot wait for file events: {e}"))),
        }
    }
}

/// Elsewhere than Linux there is no watcher: `--watch` is the plain look.
#[cfg(not(target_os = "linux"))]
pub fn serve(_ctx: &Ctx, _idle: Duration) -> Result<(), Error> {
    Ok(())
}
