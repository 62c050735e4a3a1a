//! Behavioural tests of the delta module as a whole, one file per concern,
//! plus the small helpers they share.

mod atomicity;
mod format;
mod jsonpatch;
mod merge;
mod ops;
mod parse;
mod paths;
mod perf;
mod props;

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Delta, Limits, Overlay, RelPath, parse_delta, validate_rel_path};

/// A validated path, for test literals.
pub(super) fn rel(path: &str) -> RelPath {
    validate_rel_path(path).unwrap()
}

/// An in-memory state directory.
pub(super) fn source(files: &[(&str, &str)]) -> BTreeMap<RelPath, Vec<u8>> {
    files.iter().map(|(p, c)| (rel(p), c.as_bytes().to_vec())).collect()
}

/// Parses a delta written with `json!`, which must be valid.
pub(super) fn delta(v: Value) -> Delta {
    parse_delta(&serde_json::to_vec(&v).unwrap(), &Limits::default()).unwrap()
}

/// The message `parse_delta` gives for a delta that must be refused.
pub(super) fn refusal(v: Value) -> String {
    parse_delta(&serde_json::to_vec(&v).unwrap(), &Limits::default()).unwrap_err().to_string()
}

/// A file's current JSON in the overlay (`None` if absent).
pub(super) fn json_at(overlay: &mut Overlay<'_>, path: &str) -> Option<Value> {
    let bytes = overlay.read(&rel(path)).unwrap()?;
    Some(serde_json::from_slice(&bytes).unwrap())
}

/// A file's current text in the overlay (`None` if absent).
pub(super) fn text_at(overlay: &mut Overlay<'_>, path: &str) -> Option<String> {
    let bytes = overlay.read(&rel(path)).unwrap()?;
    Some(String::from_utf8(bytes).unwrap())
}
