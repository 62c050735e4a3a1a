//! Shared state on disk under `<git-common-dir>/neighbor/`: layout, atomic writes, and clock helpers.
//!
//! Every file is replaced by writing a temporary file beside it and renaming it over the old one, so a
//! `kill -9` at any instant leaves either the old or the new content, never half of one. Stray temporary
//! files left by a killed writer carry a `.tmp.` infix and are ignored by readers and swept by `prune`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::{Error, IoContext};

/// Layout of the state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    /// `<common>/neighbor`
    pub root: PathBuf,
}

impl StateDir {
    /// Wrap a state root (does not create it).
    pub fn new(root: PathBuf) -> Self {
        StateDir { root }
    }
    /// Create the directory tree if missing.
    pub fn ensure(&self) -> Result<(), Error> {
        for d in [self.root.clone(), self.registry(), self.leases()] {
            std::fs::create_dir_all(&d).ctx(|| format!("cannot create {}", d.display()))?;
        }
        Ok(())
    }
    /// The building lock file.
    pub fn lock_file(&self) -> PathBuf {
        self.root.join("lock")
    }
    /// Who holds (or last held) the building lock.
    pub fn lock_holder_file(&self) -> PathBuf {
        self.root.join("lock.holder")
    }
    /// Tenant records, one JSON file each.
    pub fn registry(&self) -> PathBuf {
        self.root.join("registry")
    }
    /// Lease lock files and their holder notes.
    pub fn leases(&self) -> PathBuf {
        self.root.join("leases")
    }
    /// The lifecycle log.
    pub fn events(&self) -> PathBuf {
        self.root.join("events.jsonl")
    }
}

/// Replace `path` atomically with `bytes` (temp file in the same directory, then rename).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // `.<name>.tmp.<random>`: the sweep recognises (and removes) what a killed writer left.
    let prefix = format!(".{name}.tmp.");
    let res = tempfile::Builder::new().prefix(&prefix).tempfile_in(dir).and_then(|mut f| {
        f.write_all(bytes)?;
        f.persist(path).map(drop).map_err(|e| e.error)
    });
    res.ctx(|| format!("cannot write {}", path.display()))
}

/// Like [`atomic_write`], but the temporary file lives in `tmp_dir` (same filesystem as `path`), so a
/// crash leaves no stray file next to `path`. Falls back to `atomic_write` across filesystems.
pub fn atomic_write_via(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Error> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).ctx(|| format!("cannot create {}", dir.display()))?;
    }
    let tmp = tmp_dir.join(format!("neighbor-write.tmp.{}.{}", std::process::id(), unique()));
    let res = std::fs::write(&tmp, bytes).and_then(|_| {
        crate::failpoint::hit("state-file.temp-written");
        std::fs::rename(&tmp, path)
    });
    match res {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            if e.raw_os_error() == Some(18) {
                // EXDEV: the git dir is on another filesystem.
                atomic_write(path, bytes)
            } else {
                Err(Error::new(format!("cannot write {}: {e}", path.display())))
            }
        }
    }
}

/// A per-process unique counter mixed with the clock, for temp names and ids.
pub fn unique() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{nanos:08x}{n:04x}")
}

/// Six hex digits that differ between calls of one process (for ids that also carry the pid).
pub fn unique_suffix() -> String {
    let u = unique();
    u[u.len() - 6..].to_string()
}

/// Whether a file name is one of our temporary files.
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.') && name.contains(".tmp.")
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// Age of a timestamp in ms-since-epoch, saturating at zero.
pub fn age(since_ms: u64) -> Duration {
    Duration::from_millis(now_ms().saturating_sub(since_ms))
}

/// RFC 3339 UTC timestamp with milliseconds, e.g. `2026-11-21T10:00:00.123Z`.
pub fn rfc3339(ms: u64) -> String {
    let ts = i64::try_from(ms).ok().and_then(|ms| jiff::Timestamp::from_millisecond(ms).ok());
    let ts = ts.unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    jiff::fmt::strtime::format("%Y-%m-%dT%H:%M:%S%.3fZ", ts).unwrap_or_else(|_| ts.to_string())
}

/// Short human age: `42s`, `5m`, `3h`, `2d`.
pub fn human_age(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86_400),
    }
}

/// The command line of this process, for lock holder notes.
pub fn command_line() -> String {
    let mut args: Vec<String> = std::env::args().collect();
    if let Some(first) = args.first_mut()
        && let Some(base) = Path::new(first).file_name()
    {
        *first = base.to_string_lossy().into_owned();
    }
    args.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_ids_are_long_enough_to_slice() {
        // `run` ids take six characters; unique() used to be as short as two ("0" "0").
        for _ in 0..1000 {
            assert!(unique().len() >= 12);
            assert_eq!(unique_suffix().len(), 6);
        }
    }
    #[test]
    fn rfc3339_epoch_and_leap() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(1_795_219_200_123), "2026-11-21T00:00:00.123Z");
    }
}
