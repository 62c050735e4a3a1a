//! The op vocabulary of a delta ([`Op`], and [`PatchOp`] for RFC 6902) and
//! its write-time validation.
//!
//! Parsing is done by hand from a `serde_json::Value` rather than by serde
//! derive so that every refusal can say which field of which op is wrong.
//! Everything that can be checked without the state is checked here: shape,
//! paths, pointer syntax, value types, line breaks and nesting depth. The
//! serde `Deserialize` impls route through the same code, so there is only
//! one definition of a valid op.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::error::OpError;
use super::json::{check_depth, clip, type_name};
use super::path::{RelPath, validate_rel_path};
use super::pointer::Pointer;

/// One edit of one state file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
#[serde(try_from = "Value")]
pub enum Op {
    /// RFC 7386 JSON merge patch of the file.
    Merge {
        /// File to edit.
        path: RelPath,
        /// The merge patch.
        value: Value,
    },
    /// RFC 6902 JSON Patch of the file; all of it applies or none.
    Patch {
        /// File to edit.
        path: RelPath,
        /// The patch operations, in order.
        value: Vec<PatchOp>,
    },
    /// Set the value at a pointer, creating objects on the way.
    Set {
        /// File to edit.
        path: RelPath,
        /// Where to set.
        pointer: Pointer,
        /// The new value.
        value: Value,
    },
    /// Append items to the array at a pointer (created if absent).
    Append {
        /// File to edit.
        path: RelPath,
        /// The array's location.
        pointer: Pointer,
        /// Items to append.
        value: Vec<Value>,
    },
    /// Add to the number at a pointer (absent counts as 0).
    Incr {
        /// File to edit.
        path: RelPath,
        /// The number's location.
        pointer: Pointer,
        /// Amount to add.
        value: Number,
    },
    /// Append lines to a text file (created if absent).
    AppendLines {
        /// File to edit.
        path: RelPath,
        /// Lines to append, each without `\n` or `\r`.
        value: Vec<String>,
    },
}

impl Op {
    /// The op's name as written in a delta (`"append-lines"`, …).
    pub fn name(&self) -> &'static str {
        self.kind().name()
    }

    /// The state file the op edits.
    pub fn path(&self) -> &RelPath {
        match self {
            Op::Merge { path, .. }
            | Op::Patch { path, .. }
            | Op::Set { path, .. }
            | Op::Append { path, .. }
            | Op::Incr { path, .. }
            | Op::AppendLines { path, .. } => path,
        }
    }

    fn kind(&self) -> OpKind {
        match self {
            Op::Merge { .. } => OpKind::Merge,
            Op::Patch { .. } => OpKind::Patch,
            Op::Set { .. } => OpKind::Set,
            Op::Append { .. } => OpKind::Append,
            Op::Incr { .. } => OpKind::Incr,
            Op::AppendLines { .. } => OpKind::AppendLines,
        }
    }
}

impl TryFrom<Value> for Op {
    type Error = OpError;

    fn try_from(value: Value) -> Result<Self, OpError> {
        parse_op(value)
    }
}

/// One RFC 6902 operation inside a `patch` op.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
#[serde(try_from = "Value")]
pub enum PatchOp {
    /// Add (or replace an object member / insert into an array).
    Add {
        /// Target location.
        path: Pointer,
        /// Value to add.
        value: Value,
    },
    /// Remove the value at `path`, which must exist.
    Remove {
        /// Target location.
        path: Pointer,
    },
    /// Replace the value at `path`, which must exist.
    Replace {
        /// Target location.
        path: Pointer,
        /// New value.
        value: Value,
    },
    /// Remove the value at `from` and add it at `path`.
    Move {
        /// Source location.
        from: Pointer,
        /// Target location.
        path: Pointer,
    },
    /// Add a copy of the value at `from` at `path`.
    Copy {
        /// Source location.
        from: Pointer,
        /// Target location.
        path: Pointer,
    },
    /// Fail the whole delta unless the value at `path` equals `value`.
    Test {
        /// Location to compare.
        path: Pointer,
        /// Expected value.
        value: Value,
    },
}

impl PatchOp {
    /// The operation's name (`"add"`, `"move"`, …).
    pub fn name(&self) -> &'static str {
        match self {
            PatchOp::Add { .. } => "add",
            PatchOp::Remove { .. } => "remove",
            PatchOp::Replace { .. } => "replace",
            PatchOp::Move { .. } => "move",
            PatchOp::Copy { .. } => "copy",
            PatchOp::Test { .. } => "test",
        }
    }

    /// Short description for messages, e.g. `move from "/a" to "/b"`.
    pub(crate) fn describe(&self) -> String {
        match self {
            PatchOp::Move { from, path } | PatchOp::Copy { from, path } => {
                format!("{} from {:?} to {:?}", self.name(), clip(from.as_str(), 100), clip(path.as_str(), 100))
            }
            PatchOp::Add { path, .. }
            | PatchOp::Remove { path }
            | PatchOp::Replace { path, .. }
            | PatchOp::Test { path, .. } => {
                format!("{} {:?}", self.name(), clip(path.as_str(), 100))
            }
        }
    }
}

impl TryFrom<Value> for PatchOp {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        parse_patch_op(value)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Merge,
    Patch,
    Set,
    Append,
    Incr,
    AppendLines,
}

const OP_NAMES: &str = "merge, patch, set, append, incr, append-lines";

impl OpKind {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "merge" => OpKind::Merge,
            "patch" => OpKind::Patch,
            "set" => OpKind::Set,
            "append" => OpKind::Append,
            "incr" => OpKind::Incr,
            "append-lines" => OpKind::AppendLines,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            OpKind::Merge => "merge",
            OpKind::Patch => "patch",
            OpKind::Set => "set",
            OpKind::Append => "append",
            OpKind::Incr => "incr",
            OpKind::AppendLines => "append-lines",
        }
    }

    fn fields(self) -> &'static [&'static str] {
        match self {
            OpKind::Set | OpKind::Append | OpKind::Incr => &["path", "pointer", "value"],
            _ => &["path", "value"],
        }
    }
}

/// Validates one op object, taking ownership so values are moved, not copied.
pub(crate) fn parse_op(raw: Value) -> Result<Op, OpError> {
    let mut obj = match raw {
        Value::Object(obj) => obj,
        other => {
            return Err(OpError::new(None, None, format!("op must be a JSON object, found {}", type_name(&other))));
        }
    };
    // Read what identifies the op first, so later errors can name it.
    let path_text = match obj.get("path") {
        Some(Value::String(s)) => Some(s.clone()),
        _ => None,
    };
    let name = match obj.remove("op") {
        Some(Value::String(s)) => s,
        Some(other) => {
            let reason = format!("\"op\" must be a string, found {}", type_name(&other));
            return Err(OpError::new(None, path_text, reason));
        }
        None => return Err(OpError::new(None, path_text, "missing \"op\" field")),
    };
    let Some(kind) = OpKind::from_name(&name) else {
        let reason = format!("unknown op; expected one of {OP_NAMES}");
        return Err(OpError::new(Some(name), path_text, reason));
    };
    let fail = |reason: String| OpError::new(Some(kind.name().to_owned()), path_text.clone(), reason);

    let allowed = kind.fields();
    if let Some(extra) = obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        return Err(fail(format!("unknown field {:?} (allowed: op, {})", clip(extra, 100), allowed.join(", "))));
    }
    if let Some(missing) = allowed.iter().find(|f| !obj.contains_key(**f)) {
        return Err(fail(format!("missing field {missing:?}")));
    }

    let path = match obj.remove("path") {
        Some(Value::String(s)) => validate_rel_path(&s).map_err(|e| fail(format!("invalid path: {e}")))?,
        Some(other) => {
            return Err(fail(format!("path must be a string, found {}", type_name(&other))));
        }
        None => return Err(fail("missing field \"path\"".to_owned())),
    };
    let value = obj.remove("value").unwrap_or(Value::Null);
    let pointer = match obj.remove("pointer") {
        None => None,
        Some(Value::String(s)) => Some(Pointer::parse(&s).map_err(|e| fail(format!("invalid pointer: {e}")))?),
        Some(other) => {
            return Err(fail(format!("pointer must be a string, found {}", type_name(&other))));
        }
    };
    let pointer_or_root = || pointer.clone().unwrap_or_else(Pointer::root);

    let op = match kind {
        OpKind::Merge => {
            check_depth(0, &value).map_err(fail)?;
            Op::Merge { path, value }
        }
        OpKind::Patch => {
            let Value::Array(items) = value else {
                return Err(fail(format!(
                    "value must be an array of JSON Patch operations, found {}",
                    type_name(&value)
                )));
            };
            let mut ops = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                ops.push(parse_patch_op(item).map_err(|e| fail(format!("value[{i}]: {e}")))?);
            }
            Op::Patch { path, value: ops }
        }
        OpKind::Set => {
            let pointer = pointer_or_root();
            check_depth(pointer.tokens().len(), &value).map_err(fail)?;
            Op::Set { path, pointer, value }
        }
        OpKind::Append => {
            let pointer = pointer_or_root();
            let Value::Array(items) = value else {
                return Err(fail(format!("value must be an array of items to append, found {}", type_name(&value))));
            };
            check_append_items(&pointer, &items).map_err(fail)?;
            Op::Append { path, pointer, value: items }
        }
        OpKind::Incr => {
            let Value::Number(n) = value else {
                return Err(fail("value must be a number".to_owned()));
            };
            Op::Incr { path, pointer: pointer_or_root(), value: n }
        }
        OpKind::AppendLines => {
            let Value::Array(items) = value else {
                return Err(fail(format!("value must be an array of strings, found {}", type_name(&value))));
            };
            let mut lines = Vec::with_capacity(items.len());
            for (i, item) in items.into_iter().enumerate() {
                match item {
                    Value::String(s) => lines.push(s),
                    other => {
                        return Err(fail(format!("value[{i}] must be a string, found {}", type_name(&other))));
                    }
                }
            }
            check_lines(&lines).map_err(fail)?;
            Op::AppendLines { path, value: lines }
        }
    };
    Ok(op)
}

/// Items appended at `pointer` sit one level below it.
pub(crate) fn check_append_items(pointer: &Pointer, items: &[Value]) -> Result<(), String> {
    let above = pointer.tokens().len() + 1;
    items.iter().try_for_each(|item| check_depth(above, item))
}

/// Lines must be single lines: a `\n` or `\r` would split the record.
pub(crate) fn check_lines(lines: &[String]) -> Result<(), String> {
    match lines.iter().position(|l| l.contains(['\n', '\r'])) {
        Some(i) => Err(format!("value[{i}] contains a line break (\\n or \\r)")),
        None => Ok(()),
    }
}

/// Validates one RFC 6902 operation object.
pub(crate) fn parse_patch_op(raw: Value) -> Result<PatchOp, String> {
    let mut obj = match raw {
        Value::Object(obj) => obj,
        other => {
            return Err(format!("patch operation must be an object, found {}", type_name(&other)));
        }
    };
    let name = match obj.remove("op") {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(format!("\"op\" must be a string, found {}", type_name(&other)));
        }
        None => return Err("missing \"op\" field".to_owned()),
    };
    let fields: &[&str] = match name.as_str() {
        "add" | "replace" | "test" => &["path", "value"],
        "remove" => &["path"],
        "move" | "copy" => &["from", "path"],
        _ => {
            return Err(format!(
                "unknown patch op {:?}; expected one of add, remove, replace, move, copy, test",
                clip(&name, 100)
            ));
        }
    };
    // Stricter than RFC 6902 §4 (which ignores unknown members): a typo such
    // as "form" for "from" should be caught when the delta is written.
    if let Some(extra) = obj.keys().find(|k| !fields.contains(&k.as_str())) {
        return Err(format!("unknown field {:?} in {name} (allowed: op, {})", clip(extra, 100), fields.join(", ")));
    }
    if let Some(missing) = fields.iter().find(|f| !obj.contains_key(**f)) {
        return Err(format!("missing field {missing:?} in {name}"));
    }
    let path = take_pointer(&mut obj, "path")?;
    let value = obj.remove("value").unwrap_or(Value::Null);
    let op = match name.as_str() {
        "add" => PatchOp::Add { path, value },
        "replace" => PatchOp::Replace { path, value },
        "test" => PatchOp::Test { path, value },
        "remove" => PatchOp::Remove { path },
        "move" => PatchOp::Move { from: take_pointer(&mut obj, "from")?, path },
        _ => PatchOp::Copy { from: take_pointer(&mut obj, "from")?, path },
    };
    check_patch_op(&op)?;
    Ok(op)
}

/// The state-independent rules of one patch operation.
pub(crate) fn check_patch_op(op: &PatchOp) -> Result<(), String> {
    match op {
        PatchOp::Add { path, value } | PatchOp::Replace { path, value } | PatchOp::Test { path, value } => {
            check_depth(path.tokens().len(), value)
        }
        PatchOp::Remove { path } if path.is_root() => Err("cannot remove the whole document".to_owned()),
        PatchOp::Move { from, path } if from.is_proper_prefix_of(path) => {
            Err("cannot move a value into one of its own children".to_owned())
        }
        _ => Ok(()),
    }
}

fn take_pointer(obj: &mut Map<String, Value>, field: &str) -> Result<Pointer, String> {
    match obj.remove(field) {
        Some(Value::String(s)) => Pointer::parse(&s).map_err(|e| format!("invalid {field}: {e}")),
        Some(other) => Err(format!("{field} must be a string, found {}", type_name(&other))),
        None => Err(format!("missing field {field:?}")),
    }
}
