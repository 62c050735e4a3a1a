//! The undo log that makes each delta all-or-nothing without copying
//! documents.
//!
//! Every mutation records the smallest step that reverses it: the old value
//! it displaced (moved out, not cloned), or just a key or index to take back
//! out. Rolling back replays the steps in reverse. Locations are stored as
//! pointer tokens, which stay valid because each step is undone in exactly
//! the state its mutation left behind.
//!
//! A JSON Patch `move` records its removal without the value; undoing the
//! matching `add` first yields that value, which is "carried" to the next
//! step. That keeps `move` free of copies.

use std::collections::BTreeMap;

use serde_json::Value;

use super::apply::{Content, Entry};
use super::path::RelPath;
use super::pointer::array_index;

/// One reversible step.
#[derive(Debug)]
pub(crate) enum Undo {
    /// A file's whole content was replaced (created, converted, new root).
    Content { file: RelPath, old: Content },
    /// The value at `at` was replaced; `old` goes back.
    Replace { file: RelPath, at: Vec<String>, old: Value },
    /// `key` was inserted into the object at `parent`, displacing `previous`.
    KeyInserted { file: RelPath, parent: Vec<String>, key: String, previous: Option<Value> },
    /// `key` was removed from the object at `parent`; `None` means the value
    /// is carried from the step undone just before.
    KeyRemoved { file: RelPath, parent: Vec<String>, key: String, value: Option<Value> },
    /// An element was inserted at `index` of the array at `array`.
    ElementInserted { file: RelPath, array: Vec<String>, index: usize },
    /// The element at `index` was removed; `None` means carried, as above.
    ElementRemoved { file: RelPath, array: Vec<String>, index: usize, value: Option<Value> },
    /// Elements were pushed onto the array at `array`, which had `len` items.
    Appended { file: RelPath, array: Vec<String>, len: usize },
    /// Bytes were appended to a text file that had `len` bytes.
    TextAppended { file: RelPath, len: usize },
}

impl Undo {
    /// Fills in the value of a carried removal, for a `move` whose `add`
    /// failed before it could record anything to carry from.
    pub(crate) fn supply_carried(&mut self, v: Value) {
        if let Undo::KeyRemoved { value, .. } | Undo::ElementRemoved { value, .. } = self
            && value.is_none()
        {
            *value = Some(v);
        }
    }
}

/// Where a mutation records its undo steps: the file being edited and the
/// delta's log.
pub(crate) struct Recorder<'r> {
    file: &'r RelPath,
    steps: &'r mut Vec<Undo>,
}

impl<'r> Recorder<'r> {
    pub(crate) fn new(file: &'r RelPath, steps: &'r mut Vec<Undo>) -> Self {
        Recorder { file, steps }
    }

    pub(crate) fn content(&mut self, old: Content) {
        let file = self.file.clone();
        self.steps.push(Undo::Content { file, old });
    }

    pub(crate) fn replace(&mut self, at: &[String], old: Value) {
        let file = self.file.clone();
        let at = at.to_vec();
        self.steps.push(Undo::Replace { file, at, old });
    }

    pub(crate) fn key_inserted(&mut self, parent: &[String], key: &str, previous: Option<Value>) {
        self.steps.push(Undo::KeyInserted {
            file: self.file.clone(),
            parent: parent.to_vec(),
            key: key.to_owned(),
            previous,
        });
    }

    pub(crate) fn key_removed(&mut self, parent: &[String], key: &str, value: Option<Value>) {
        self.steps.push(Undo::KeyRemoved {
            file: self.file.clone(),
            parent: parent.to_vec(),
            key: key.to_owned(),
            value,
        });
    }

    pub(crate) fn element_inserted(&mut self, array: &[String], index: usize) {
        let file = self.file.clone();
        let array = array.to_vec();
        self.steps.push(Undo::ElementInserted { file, array, index });
    }

    pub(crate) fn element_removed(&mut self, array: &[String], index: usize, value: Option<Value>) {
        self.steps.push(Undo::ElementRemoved { file: self.file.clone(), array: array.to_vec(), index, value });
    }

    pub(crate) fn appended(&mut self, array: &[String], len: usize) {
        let file = self.file.clone();
        let array = array.to_vec();
        self.steps.push(Undo::Appended { file, array, len });
    }

    pub(crate) fn text_appended(&mut self, len: usize) {
        let file = self.file.clone();
        self.steps.push(Undo::TextAppended { file, len });
    }

    /// The most recent step, to fill in a carried value after a failed move.
    pub(crate) fn last_mut(&mut self) -> Option<&mut Undo> {
        self.steps.last_mut()
    }
}

/// Reverses `steps` (most recent last) and returns how many could not be
/// carried out, which is zero unless the engine has a bug.
pub(crate) fn rollback(files: &mut BTreeMap<RelPath, Entry>, steps: &mut Vec<Undo>) -> usize {
    let mut failed = 0;
    let mut carried: Option<Value> = None;
    while let Some(step) = steps.pop() {
        match undo_one(files, step, carried.take()) {
            Ok(next) => carried = next,
            Err(()) => failed += 1,
        }
    }
    failed
}

/// Undoes one step; returns the value it took out, for a carried removal.
fn undo_one(files: &mut BTreeMap<RelPath, Entry>, step: Undo, carried: Option<Value>) -> Result<Option<Value>, ()> {
    match step {
        Undo::Content { file, old } => {
            let entry = files.get_mut(&file).ok_or(())?;
            entry.content = old;
            Ok(None)
        }
        Undo::TextAppended { file, len } => match files.get_mut(&file).map(|e| &mut e.content) {
            Some(Content::Bytes(bytes)) if bytes.len() >= len => {
                bytes.truncate(len);
                Ok(None)
            }
            _ => Err(()),
        },
        Undo::Replace { file, at, old } => {
            let slot = locate(json_root(files, &file)?, &at)?;
            Ok(Some(std::mem::replace(slot, old)))
        }
        Undo::KeyInserted { file, parent, key, previous } => {
            let Value::Object(map) = locate(json_root(files, &file)?, &parent)? else {
                return Err(());
            };
            let current = match previous {
                Some(prev) => map.insert(key, prev),
                None => map.remove(&key),
            };
            current.map(Some).ok_or(())
        }
        Undo::KeyRemoved { file, parent, key, value } => {
            let Value::Object(map) = locate(json_root(files, &file)?, &parent)? else {
                return Err(());
            };
            map.insert(key, value.or(carried).ok_or(())?);
            Ok(None)
        }
        Undo::ElementInserted { file, array, index } => {
            let Value::Array(items) = locate(json_root(files, &file)?, &array)? else {
                return Err(());
            };
            if index >= items.len() {
                return Err(());
            }
            Ok(Some(items.remove(index)))
        }
        Undo::ElementRemoved { file, array, index, value } => {
            let Value::Array(items) = locate(json_root(files, &file)?, &array)? else {
                return Err(());
            };
            if index > items.len() {
                return Err(());
            }
            items.insert(index, value.or(carried).ok_or(())?);
            Ok(None)
        }
        Undo::Appended { file, array, len } => {
            let Value::Array(items) = locate(json_root(files, &file)?, &array)? else {
                return Err(());
            };
            if items.len() < len {
                return Err(());
            }
            items.truncate(len);
            Ok(None)
        }
    }
}

fn json_root<'f>(files: &'f mut BTreeMap<RelPath, Entry>, file: &RelPath) -> Result<&'f mut Value, ()> {
    match files.get_mut(file).map(|e| &mut e.content) {
        Some(Content::Json(root)) => Ok(root),
        _ => Err(()),
    }
}

/// Follows existing members and in-range indices only.
fn locate<'v>(root: &'v mut Value, tokens: &[String]) -> Result<&'v mut Value, ()> {
    let mut current = root;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get_mut(token).ok_or(())?,
            Value::Array(items) => items.get_mut(array_index(token).ok_or(())?).ok_or(())?,
            _ => return Err(()),
        };
    }
    Ok(current)
}
