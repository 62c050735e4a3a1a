//! RFC 6902 JSON Patch, applied in place with undo steps.
//!
//! Each operation records how to reverse itself, so a failing operation (a
//! `test` that does not match, a missing path, …) lets the caller roll the
//! whole delta back. `move` is a removal plus an addition whose value is
//! handed between the two undo steps instead of being copied.

use serde_json::Value;

use super::json::{check_depth, json_eq, preview, type_name};
use super::ops::{PatchOp, check_patch_op};
use super::pointer::{array_index, format_tokens};
use super::undo::Recorder;

/// Applies `ops` in order to `root`; stops at the first failure, naming it.
pub(crate) fn apply_patch(root: &mut Value, ops: &[PatchOp], rec: &mut Recorder<'_>) -> Result<(), String> {
    for (i, op) in ops.iter().enumerate() {
        apply_one(root, op, rec).map_err(|e| format!("value[{i}] ({}): {e}", op.describe()))?;
    }
    Ok(())
}

fn apply_one(root: &mut Value, op: &PatchOp, rec: &mut Recorder<'_>) -> Result<(), String> {
    // Ops built in code rather than parsed have not been through this yet.
    check_patch_op(op)?;
    match op {
        PatchOp::Add { path, value } => add(root, path.tokens(), value.clone(), rec).map_err(|(e, _)| e),
        PatchOp::Remove { path } => remove(root, path.tokens(), false, rec).map(drop),
        PatchOp::Replace { path, value } => {
            let slot = get_mut(root, path.tokens())?;
            let old = std::mem::replace(slot, value.clone());
            rec.replace(path.tokens(), old);
            Ok(())
        }
        PatchOp::Move { from, path } => {
            let moved = get(root, from.tokens())?;
            if from == path {
                return Ok(());
            }
            if path.tokens().len() > from.tokens().len() {
                check_depth(path.tokens().len(), moved)?;
            }
            let Some(value) = remove(root, from.tokens(), true, rec)? else {
                return Err("internal error: removed value was not returned".to_owned());
            };
            if let Err((e, value)) = add(root, path.tokens(), value, rec) {
                // Nothing was recorded for the add, so the removal keeps the value.
                if let Some(step) = rec.last_mut() {
                    step.supply_carried(value);
                }
                return Err(e);
            }
            Ok(())
        }
        PatchOp::Copy { from, path } => {
            let source = get(root, from.tokens())?;
            check_depth(path.tokens().len(), source)?;
            let value = source.clone();
            add(root, path.tokens(), value, rec).map_err(|(e, _)| e)
        }
        PatchOp::Test { path, value } => {
            let current = get(root, path.tokens())?;
            if json_eq(current, value) {
                Ok(())
            } else {
                Err(format!("test failed: value is {}, expected {}", preview(current), preview(value)))
            }
        }
    }
}

/// RFC 6902 §4.1 add. On failure the value is handed back untouched.
fn add(root: &mut Value, tokens: &[String], value: Value, rec: &mut Recorder<'_>) -> Result<(), (String, Value)> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        let old = std::mem::replace(root, value);
        rec.replace(&[], old);
        return Ok(());
    };
    let parent = match get_mut(root, parent_tokens) {
        Ok(parent) => parent,
        Err(e) => return Err((e, value)),
    };
    match parent {
        Value::Object(map) => {
            let previous = map.insert(last.clone(), value);
            rec.key_inserted(parent_tokens, last, previous);
            Ok(())
        }
        Value::Array(items) => {
            let len = items.len();
            let index = if last == "-" {
                len
            } else {
                match array_index(last) {
                    Some(i) if i <= len => i,
                    Some(i) => {
                        let at = format_tokens(parent_tokens);
                        let e = format!("index {i} is out of bounds for the array at {at:?} (length {len})");
                        return Err((e, value));
                    }
                    None => return Err((not_an_index(last, parent_tokens), value)),
                }
            };
            items.insert(index, value);
            rec.element_inserted(parent_tokens, index);
            Ok(())
        }
        other => {
            let e = format!("cannot add into {} at {:?}", type_name(other), format_tokens(parent_tokens));
            Err((e, value))
        }
    }
}

/// RFC 6902 §4.2 remove. With `carry`, the removed value is returned and
/// the undo step expects to receive it back from the next step undone.
fn remove(root: &mut Value, tokens: &[String], carry: bool, rec: &mut Recorder<'_>) -> Result<Option<Value>, String> {
    let Some((last, parent_tokens)) = tokens.split_last() else {
        return Err("cannot remove the whole document".to_owned());
    };
    let missing = || format!("{:?} does not exist", format_tokens(tokens));
    let split = |v: Value| {
        if carry { (Some(v), None) } else { (None, Some(v)) }
    };
    match get_mut(root, parent_tokens)? {
        Value::Object(map) => {
            let (kept, stored) = split(map.remove(last).ok_or_else(missing)?);
            rec.key_removed(parent_tokens, last, stored);
            Ok(kept)
        }
        Value::Array(items) => {
            let index = array_index(last).ok_or_else(|| not_an_index(last, parent_tokens))?;
            if index >= items.len() {
                return Err(missing());
            }
            let (kept, stored) = split(items.remove(index));
            rec.element_removed(parent_tokens, index, stored);
            Ok(kept)
        }
        other => Err(format!("cannot remove from {} at {:?}", type_name(other), format_tokens(parent_tokens))),
    }
}

fn not_an_index(token: &str, parent: &[String]) -> String {
    format!("{token:?} is not an index into the array at {:?}", format_tokens(parent))
}

/// The existing value at `tokens`.
fn get<'v>(root: &'v Value, tokens: &[String]) -> Result<&'v Value, String> {
    let mut current = root;
    for (depth, token) in tokens.iter().enumerate() {
        current = match current {
            Value::Object(map) => map.get(token),
            Value::Array(items) => array_index(token).and_then(|i| items.get(i)),
            other => return Err(cannot_descend(other, &tokens[..depth])),
        }
        .ok_or_else(|| format!("{:?} does not exist", format_tokens(&tokens[..=depth])))?;
    }
    Ok(current)
}

/// The existing value at `tokens`, mutably.
fn get_mut<'v>(root: &'v mut Value, tokens: &[String]) -> Result<&'v mut Value, String> {
    let mut current = root;
    for (depth, token) in tokens.iter().enumerate() {
        current = match current {
            Value::Object(map) => map.get_mut(token),
            Value::Array(items) => array_index(token).and_then(|i| items.get_mut(i)),
            other => return Err(cannot_descend(other, &tokens[..depth])),
        }
        .ok_or_else(|| format!("{:?} does not exist", format_tokens(&tokens[..=depth])))?;
    }
    Ok(current)
}

fn cannot_descend(v: &Value, at: &[String]) -> String {
    format!("cannot look inside {} at {:?}", type_name(v), format_tokens(at))
}
