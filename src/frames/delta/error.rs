//! Error types: [`DeltaError`] for refusing a delta when it is read,
//! [`ApplyError`] for refusing it against the state, and [`OpError`] for
//! what was wrong with one op.
//!
//! Every message is a single line that starts by pointing at the op, e.g.
//! `ops[3] (incr state path "stats.json"): value must be a number`, because
//! the reader is usually a person looking at a rejected delta file.

use std::fmt;
use std::io;

use thiserror::Error;

use super::json::clip;
use super::path::RelPath;

/// Longest op name or path echoed back in a message, in bytes.
const ECHO_MAX: usize = 120;

/// What was wrong with one op, with the op's name and path where they could
/// be read (they are absent when that is what was wrong).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpError {
    /// The op's `"op"` field, if it was a string.
    pub op: Option<String>,
    /// The op's `"path"` field, if it was a string (valid or not).
    pub path: Option<String>,
    /// One-line explanation.
    pub reason: String,
}

impl OpError {
    pub(crate) fn new(op: Option<String>, path: Option<String>, reason: impl Into<String>) -> Self {
        OpError { op, path, reason: reason.into() }
    }

    /// The ` (op state path "p")` part of a message, empty if nothing is known.
    fn context(&self) -> String {
        let op = self.op.as_deref().map(|o| clip(o, ECHO_MAX));
        let path = self.path.as_deref().map(|p| clip(p, ECHO_MAX));
        match (op, path) {
            (Some(o), Some(p)) => format!(" ({o} state path {p:?})"),
            (Some(o), None) => format!(" ({o})"),
            (None, Some(p)) => format!(" (state path {p:?})"),
            (None, None) => String::new(),
        }
    }
}

impl fmt::Display for OpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "op{}: {}", self.context(), self.reason)
    }
}

impl std::error::Error for OpError {}

/// Why a delta file was refused when read ([`parse_delta`](crate::frames::delta::parse_delta)).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeltaError {
    /// The file is larger than [`Limits::max_bytes`](crate::frames::delta::Limits).
    #[error("delta is {size} bytes, over the limit of {max} bytes")]
    TooLarge {
        /// Size of the refused file.
        size: usize,
        /// The limit in force.
        max: usize,
    },
    /// The file is not JSON.
    #[error("delta is not valid JSON: {0}")]
    Json(String),
    /// The top level is not an object.
    #[error("delta must be a JSON object, found {found}")]
    NotObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// A top-level key other than `ops` and `meta`.
    #[error("delta has unknown top-level key {0:?} (allowed: ops, meta)")]
    UnknownKey(String),
    /// No `ops` key.
    #[error("delta has no \"ops\" array")]
    MissingOps,
    /// `ops` is not an array.
    #[error("delta \"ops\" must be an array, found {found}")]
    OpsNotArray {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// More ops than [`Limits::max_ops`](crate::frames::delta::Limits).
    #[error("delta has {count} ops, over the limit of {max}")]
    TooManyOps {
        /// Number of ops in the file.
        count: usize,
        /// The limit in force.
        max: usize,
    },
    /// One op's file lies under another op's file: both cannot be files.
    #[error("ops[{index}] (state path {:?}): ops[{other}] writes {:?} as a file, so nothing can be under it", clip(.path, ECHO_MAX), clip(.file, ECHO_MAX))]
    PathConflict {
        /// Position of the op whose path runs through the other's file.
        index: usize,
        /// Its path.
        path: String,
        /// Position of the op that names the file.
        other: usize,
        /// The file.
        file: String,
    },
    /// One op is malformed.
    #[error("ops[{index}]{}: {}", .error.context(), .error.reason)]
    InvalidOp {
        /// Position of the op in `ops`.
        index: usize,
        /// What was wrong.
        error: OpError,
    },
}

/// Why a delta was rejected against the state. The overlay is left exactly
/// as it was before the delta.
#[derive(Debug, Error)]
pub enum ApplyError {
    /// An op could not be carried out (failing `test`, type mismatch, …).
    #[error("ops[{index}] ({op} state path {:?}): {reason}", .path.as_str())]
    Op {
        /// Position of the op in the delta.
        index: usize,
        /// The op's name.
        op: &'static str,
        /// The file it edits.
        path: RelPath,
        /// One-line explanation.
        reason: String,
    },
    /// The state file could not be read from the source.
    #[error("ops[{index}] ({op} state path {:?}): cannot read state file: {source}", .path.as_str())]
    Io {
        /// Position of the op in the delta.
        index: usize,
        /// The op's name.
        op: &'static str,
        /// The file it reads.
        path: RelPath,
        /// The source's error.
        source: io::Error,
    },
    /// The op failed, and undoing the delta's earlier ops then went wrong.
    /// This is a bug; the overlay should be discarded.
    #[error(
        "internal error: {failed} undo step(s) failed while rolling back; discard the overlay (original error: {cause})"
    )]
    RollbackFailed {
        /// Number of undo steps that could not be carried out.
        failed: usize,
        /// The error that triggered the rollback.
        cause: Box<ApplyError>,
    },
}

impl ApplyError {
    /// The index of the op that failed.
    #[cfg(test)]
    pub fn op_index(&self) -> usize {
        match self {
            ApplyError::Op { index, .. } | ApplyError::Io { index, .. } => *index,
            ApplyError::RollbackFailed { cause, .. } => cause.op_index(),
        }
    }
}
