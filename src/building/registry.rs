//! The tenant registry: one JSON record per tenant under `neighbor/registry/<name>.json`.
//!
//! A record is written *before* git creates anything (state `creating`), so a crash during `add` leaves a
//! record that `prune` can use to roll the half-made tenant back. Records are changed only under the
//! building lock and always replaced atomically.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::building::state_dir::{self, StateDir};
use crate::error::Error;

/// Lifecycle of a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// `add` is building it; not usable yet.
    Creating,
    /// Built and usable.
    Ready,
    /// `remove` checked it holds no work (or rescued it) and is deleting it.
    Removing,
}

/// Why a tenant is kept.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Kept {
    /// The reason given.
    pub reason: String,
    /// When (ms since epoch).
    pub at_ms: u64,
}

/// One tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tenant {
    /// Tenant name.
    pub name: String,
    /// Short branch name.
    pub branch: String,
    /// Absolute worktree path.
    pub path: PathBuf,
    /// Full ref name of the base, when the base was a ref (merges into it count as merged).
    pub base_ref: Option<String>,
    /// Commit the tenant was created at.
    pub base_oid: String,
    /// Owner, if given.
    pub owner: Option<String>,
    /// Task id, if given.
    pub task: Option<String>,
    /// Creation time (ms since epoch).
    pub created_ms: u64,
    /// Lifecycle phase.
    pub phase: Phase,
    /// Lives only as long as its lease.
    pub ephemeral: bool,
    /// Set by `keep`.
    pub kept: Option<Kept>,
    /// Pid of the process that created it.
    pub creator_pid: u32,
    /// Stream this tenant writes for (set by `run --stream`), so merge-frame can tell crashed from missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    /// Frame this tenant writes for (set by `run --frame`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame: Option<u64>,
    /// First port of its block (`NEIGHBOR_PORT`), for tenants made by `run`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Pool membership and claim, for tenants made by `pool fill`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool: Option<PoolSlot>,
    /// What a removal checked before it began deleting (phase `removing`), so whoever finishes it deletes
    /// exactly that.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub removal: Option<Removal>,
    /// Files `add` carried into the tenant, with what it wrote (`blob:<id>` or `link:<target>`): while
    /// they are unchanged (and not staged) they are a copy of the caller's files, not work of the tenant.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub carried: std::collections::BTreeMap<String, String>,
    /// Its `[setup]` run, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub setup: Option<SetupRun>,
}

impl Tenant {
    /// Whether the tenant is usable as far as setup goes: it had none, or it succeeded. (A setup still
    /// recorded as running is someone's work in progress, or was interrupted: not usable either way.)
    pub fn setup_ok(&self) -> bool {
        self.setup.as_ref().is_none_or(|s| s.state == SetupState::Ok)
    }
}

/// Where a tenant's setup stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SetupState {
    /// Running now (or its runner died: then the creator's lease is dead).
    Running,
    /// Every command succeeded.
    Ok,
    /// A command failed; the tenant is kept as `setup-failed`.
    Failed,
}

/// A tenant's setup run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SetupRun {
    /// Where it stands.
    pub state: SetupState,
    /// The log of its output.
    pub log: PathBuf,
    /// The approved hash of the commands it ran.
    pub hash: String,
    /// The process running it (while `running`).
    #[serde(default)]
    pub pid: u32,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
}

/// What a removal checked, recorded before it deletes anything.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Removal {
    /// The branch tip that was checked (the branch is deleted only if it still points there).
    pub tip: Option<String>,
    /// `--keep-branch`.
    #[serde(default)]
    pub keep_branch: bool,
    /// The rescue ref made first, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rescue: Option<String>,
}

/// A pool tenant's claim state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PoolSlot {
    /// Set while claimed.
    pub claim: Option<Claim>,
    /// Set while the claimant has the worktree checked out detached at commits of its own (the merge
    /// queue testing its speculative commits), recorded before each checkout: release puts it back on
    /// its branch first. Cleared by the release.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detached: Option<Detached>,
    /// Set by a release right before it moves the tenant from `from` to its base's tip `to` (branch, then
    /// files): a release killed in between is finished by the next one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<Reset>,
}

/// A release's move of a pool tenant to its base, recorded before it starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reset {
    /// Where the branch and files were.
    pub from: String,
    /// Where they go.
    pub to: String,
}

/// What a claimant recorded before checking out its own commits detached in a pool tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Detached {
    /// The tenant's branch tip when the first such checkout was recorded: the branch must still be
    /// there for the release to recognise the state as the claimant's.
    pub tip: String,
    /// Every commit the claimant checked out (or was about to), in order.
    pub commits: Vec<String>,
}

/// One claim of a pool tenant.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    /// The id `pool release` must present.
    pub lease_id: String,
    /// The process the claim follows.
    pub pid: u32,
    /// When (ms since epoch).
    pub at_ms: u64,
    /// While the claiming process has not yet handed the claim to its caller: that process's pid. A claim
    /// still pending when that process is gone was never received, and is given back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<u32>,
}

fn path_of(dir: &StateDir, name: &str) -> PathBuf {
    dir.registry().join(format!("{name}.json"))
}

/// Read one record.
pub fn get(dir: &StateDir, name: &str) -> Result<Option<Tenant>, Error> {
    let p = path_of(dir, name);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| {
            Error::new(format!("corrupt registry record {}: {e}", p.display()))
                .hint("run `git neighbor doctor`; or delete the file if the tenant is gone")
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::new(format!("cannot read {}: {e}", p.display()))),
    }
}

/// Read every record, sorted by name. Unreadable records are returned as errors alongside.
pub fn all(dir: &StateDir) -> Result<(Vec<Tenant>, Vec<String>), Error> {
    let mut out = Vec::new();
    let mut bad = Vec::new();
    let rd = match std::fs::read_dir(dir.registry()) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((out, bad)),
        Err(e) => return Err(Error::new(format!("cannot read {}: {e}", dir.registry().display()))),
    };
    for entry in rd.flatten() {
        let fname = entry.file_name().to_string_lossy().into_owned();
        if state_dir::is_temp_name(&fname) {
            continue;
        }
        let Some(name) = fname.strip_suffix(".json") else { continue };
        match get(dir, name) {
            Ok(Some(t)) => out.push(t),
            Ok(None) => {}
            Err(e) => bad.push(e.message),
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok((out, bad))
}

/// Write (create or replace) a record. Call under the building lock.
pub fn put(dir: &StateDir, t: &Tenant) -> Result<(), Error> {
    let bytes = serde_json::to_vec_pretty(t).map_err(|e| Error::new(format!("cannot encode tenant: {e}")))?;
    state_dir::atomic_write(&path_of(dir, &t.name), &bytes)
}

/// Delete a record. Call under the building lock.
pub fn delete(dir: &StateDir, name: &str) -> Result<(), Error> {
    match std::fs::remove_file(path_of(dir, name)) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::new(format!("cannot delete registry record for '{name}': {e}"))),
    }
}

/// Validate a tenant name: it becomes a file name, a branch component and a directory name.
pub fn validate_name(name: &str) -> Result<(), Error> {
    validate_name_as("tenant", name)
}

/// Validate a tenant or stream name (`what` names which, for the message).
pub fn validate_name_as(what: &str, name: &str) -> Result<(), Error> {
    let hint = "use letters, digits, '.', '_' and '-', starting with a letter or digit (at most 64 characters)";
    let bad = |why: &str| Error::usage(format!("invalid {what} name '{name}': {why}")).hint(hint);
    if name.is_empty() {
        return Err(bad("it is empty"));
    }
    if name.starts_with('-') {
        return Err(bad("it starts with '-'"));
    }
    if name.len() > 64 {
        return Err(bad("it is longer than 64 characters"));
    }
    if !name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return Err(bad("it must start with a letter or digit"));
    }
    if let Some(c) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))) {
        return Err(bad(&format!("it contains {c:?}")));
    }
    if name.contains("..") || name.ends_with('.') || name.ends_with(".lock") {
        return Err(bad("it contains '..' or ends with '.' or '.lock'"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::validate_name;
    #[test]
    fn names() {
        for ok in ["t1", "agent-7", "a.b_c", "0x"] {
            assert!(validate_name(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-x", ".x", "a/b", "a..b", "x.lock", "a b", "é", "x.", &"a".repeat(65)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }
}
