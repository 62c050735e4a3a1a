//! `events.jsonl`: the append-only lifecycle log of the building.
//!
//! One JSON object per line with `ts`, `event`, `name`, `branch`, `path`, `pid` and event-specific fields.
//! Each record is written with a single `write` on an `O_APPEND` file, so concurrent writers never
//! interleave inside a line; readers skip a torn last line left by a crash.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::building::state_dir::{self, StateDir};
use crate::error::{Error, IoContext};

/// One event record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Event {
    /// RFC 3339 timestamp.
    pub ts: String,
    /// Event name: `add`, `remove`, `keep`, `lock`, `unlock`, `prune`, `rescue`, …
    pub event: String,
    /// Tenant name.
    #[serde(default)]
    pub name: Option<String>,
    /// Branch (short name).
    #[serde(default)]
    pub branch: Option<String>,
    /// Worktree path.
    #[serde(default)]
    pub path: Option<String>,
    /// Writer's pid.
    pub pid: u32,
    /// Event-specific fields.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Event {
    /// A new event stamped now with this process's pid.
    pub fn new(event: &str) -> Self {
        Event {
            ts: state_dir::rfc3339(state_dir::now_ms()),
            event: event.into(),
            name: None,
            branch: None,
            path: None,
            pid: std::process::id(),
            extra: Map::new(),
        }
    }
    /// Set the tenant fields.
    pub fn tenant(mut self, name: &str, branch: &str, path: &Path) -> Self {
        self.name = Some(name.into());
        self.branch = Some(branch.into());
        self.path = Some(path.display().to_string());
        self
    }
    /// Add an extra field.
    pub fn with(mut self, k: &str, v: impl Into<Value>) -> Self {
        self.extra.insert(k.into(), v.into());
        self
    }
}

/// Append one event.
pub fn append(dir: &StateDir, ev: &Event) -> Result<(), Error> {
    append_all(dir, std::slice::from_ref(ev))
}

/// Append events in one `write`: a pass over many tenants logs them all at once.
pub fn append_all(dir: &StateDir, evs: &[Event]) -> Result<(), Error> {
    if evs.is_empty() {
        return Ok(());
    }
    let mut lines = Vec::new();
    for ev in evs {
        serde_json::to_writer(&mut lines, ev).map_err(|e| Error::new(format!("cannot encode event: {e}")))?;
        lines.push(b'\n');
    }
    let path = dir.events();
    let open = || std::fs::OpenOptions::new().create(true).append(true).open(&path);
    // The state directory is made only when it is missing: the common case costs one open.
    let opened = match open() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => dir.ensure().and_then(|()| open().map_err(Error::from)),
        other => other.map_err(Error::from),
    };
    let mut f = opened.map_err(|e| e.context(format!("cannot open {}", path.display())))?;
    f.write_all(&lines).ctx(|| format!("cannot append to {}", path.display()))
}

/// Read all well-formed events (a torn or foreign line is skipped).
pub fn read_all(dir: &StateDir) -> Result<Vec<Event>, Error> {
    let path = dir.events();
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", path.display()))),
    };
    let mut out = Vec::new();
    for line in std::io::BufReader::new(f).split(b'\n') {
        let line = line.ctx(|| format!("cannot read {}", path.display()))?;
        if let Ok(ev) = serde_json::from_slice::<Event>(&line) {
            out.push(ev);
        }
    }
    Ok(out)
}
