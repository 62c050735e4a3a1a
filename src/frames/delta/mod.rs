//! Deltas: small JSON files that describe edits to the canonical state
//! directory, and the engine that applies them.
//!
//! A delta is `{"ops": [OP…], "meta": {…}}`. Each op edits one state file
//! named by a validated relative path ([`RelPath`]): JSON merge patch,
//! JSON Patch, pointer-based `set`/`append`/`incr`, or `append-lines` for
//! text. [`parse_delta`] checks everything that can be known without the
//! state; [`Overlay`] applies deltas in order to an in-memory view of the
//! state, each delta all-or-nothing, and reports the changed files.
//!
//! ```
//! use delta_engine::delta::{parse_delta, Limits, Overlay, RelPath};
//! use std::collections::BTreeMap;
//!
//! let state: BTreeMap<RelPath, Vec<u8>> = BTreeMap::new();
//! let delta = parse_delta(
//!     br#"{"ops": [{"op": "incr", "path": "stats.json", "pointer": "/runs", "value": 1}]}"#,
//!     &Limits::default(),
//! )?;
//! let mut overlay = Overlay::new(&state);
//! overlay.apply(&delta)?;
//! let changed = overlay.changed_files();
//! assert_eq!(changed[0].0.as_str(), "stats.json");
//! assert_eq!(changed[0].1, b"{\n  \"runs\": 1\n}\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod apply;
mod error;
mod json;
mod jsonpatch;
mod merge;
mod ops;
mod path;
mod pointer;
mod undo;

#[cfg(test)]
mod tests;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[cfg(test)]
pub use apply::DirSource;
pub use apply::{Overlay, StateSource};
#[cfg(test)]
pub use error::ApplyError;
pub use error::DeltaError;
#[cfg(test)]
pub use json::MAX_DEPTH;
pub use ops::Op;
#[cfg(test)]
pub use path::PathError;
pub use path::{
    NoSymlinks, RelPath, check_component, check_dir_no_symlinks, check_no_symlinks, git_control_file, validate_rel_path,
};

/// A parsed, validated delta file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delta {
    /// The edits, applied in order.
    pub ops: Vec<Op>,
    /// Free-form metadata; `{}` when the file has none.
    #[serde(default = "empty_object")]
    pub meta: Value,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

/// Size limits enforced by [`parse_delta`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted delta file, in bytes.
    pub max_bytes: usize,
    /// Most ops accepted in one delta.
    pub max_ops: usize,
}

impl Default for Limits {
    /// 1 MiB and 10,000 ops.
    fn default() -> Self {
        Limits { max_bytes: 1 << 20, max_ops: 10_000 }
    }
}

/// Reads and validates a delta file: size, JSON syntax, top-level shape,
/// and every op's fields, path, pointer syntax, value type and depth.
pub fn parse_delta(bytes: &[u8], limits: &Limits) -> Result<Delta, DeltaError> {
    if bytes.len() > limits.max_bytes {
        return Err(DeltaError::TooLarge { size: bytes.len(), max: limits.max_bytes });
    }
    let doc: Value = serde_json::from_slice(bytes).map_err(|e| DeltaError::Json(e.to_string()))?;
    let mut top = match doc {
        Value::Object(top) => top,
        other => {
            return Err(DeltaError::NotObject { found: json::type_name(&other) });
        }
    };
    if let Some(key) = top.keys().find(|k| *k != "ops" && *k != "meta") {
        return Err(DeltaError::UnknownKey(json::clip(key, 120)));
    }
    let raw_ops = match top.remove("ops") {
        Some(Value::Array(ops)) => ops,
        Some(other) => {
            return Err(DeltaError::OpsNotArray { found: json::type_name(&other) });
        }
        None => return Err(DeltaError::MissingOps),
    };
    if raw_ops.len() > limits.max_ops {
        return Err(DeltaError::TooManyOps { count: raw_ops.len(), max: limits.max_ops });
    }
    let meta = top.remove("meta").unwrap_or_else(empty_object);
    let ops = raw_ops
        .into_iter()
        .enumerate()
        .map(|(index, raw)| ops::parse_op(raw).map_err(|error| DeltaError::InvalidOp { index, error }))
        .collect::<Result<Vec<_>, _>>()?;
    check_file_dir_conflicts(&ops)?;
    Ok(Delta { ops, meta })
}

/// No op may name a file under another op's file (`a.json` and `a.json/b.json`): the second would turn
/// the first into a directory.
fn check_file_dir_conflicts(ops: &[Op]) -> Result<(), DeltaError> {
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, op) in ops.iter().enumerate() {
        first.entry(op.path().as_str()).or_insert(i);
    }
    for (index, op) in ops.iter().enumerate() {
        let path = op.path().as_str();
        for (at, _) in path.match_indices('/') {
            if let Some(&other) = first.get(&path[..at]) {
                let file = path[..at].to_string();
                return Err(DeltaError::PathConflict { index, path: path.to_string(), other, file });
            }
        }
    }
    Ok(())
}
