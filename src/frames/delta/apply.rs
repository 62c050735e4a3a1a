//! The application engine: an in-memory [`Overlay`] over a [`StateSource`]
//! onto which deltas are applied one after another, each all-or-nothing.
//!
//! Files are read lazily on first touch. JSON files are parsed once and kept
//! as `serde_json::Value` for the rest of the frame (even if the delta that
//! parsed them fails); text files are kept as bytes. A file switched between
//! JSON ops and `append-lines` is re-serialized or re-parsed at each switch,
//! which is correct but costs a pass over the file. Atomicity comes from the undo log in [`super::undo`]: a failing op
//! rolls back the steps recorded by the delta's earlier ops, so a delta
//! costs time in proportion to its own size, never to the documents it
//! touches. Output is canonical (sorted keys, two-space indent, trailing
//! newline), so the same inputs always give the same bytes.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::io;

use serde_json::{Map, Number, Value};

use super::Delta;
use super::error::ApplyError;
use super::json::{add_numbers, check_depth, type_name};
use super::jsonpatch::apply_patch;
use super::merge::{merge_into, merge_new};
use super::ops::{Op, check_append_items, check_lines};
use super::path::RelPath;
#[cfg(test)]
use super::path::check_no_symlinks;
use super::pointer::{array_index, format_tokens};
use super::undo::{Recorder, Undo, rollback};
#[cfg(test)]
use std::path::PathBuf;

/// Where the state files come from, e.g. the checked-out state directory.
pub trait StateSource {
    /// The file's bytes, or `None` if it does not exist.
    fn read(&self, rel: &RelPath) -> io::Result<Option<Vec<u8>>>;
}

impl StateSource for BTreeMap<RelPath, Vec<u8>> {
    fn read(&self, rel: &RelPath) -> io::Result<Option<Vec<u8>>> {
        Ok(self.get(rel).cloned())
    }
}

impl StateSource for HashMap<RelPath, Vec<u8>> {
    fn read(&self, rel: &RelPath) -> io::Result<Option<Vec<u8>>> {
        Ok(self.get(rel).cloned())
    }
}

/// Reads state files from a directory, refusing any path that passes
/// through a symlink (see [`check_no_symlinks`]).
#[cfg(test)]
#[derive(Debug, Clone)]
pub struct DirSource {
    root: PathBuf,
}

#[cfg(test)]
impl DirSource {
    /// A source reading files under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DirSource { root: root.into() }
    }
}

#[cfg(test)]
impl StateSource for DirSource {
    fn read(&self, rel: &RelPath) -> io::Result<Option<Vec<u8>>> {
        check_no_symlinks(&self.root, rel).map_err(io::Error::other)?;
        match std::fs::read(rel.join_onto(&self.root)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A file's current content in the overlay.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Content {
    /// Exactly what the source has (possibly nothing).
    Source,
    /// Text, or anything last touched as text.
    Bytes(Vec<u8>),
    /// A parsed JSON document.
    Json(Value),
}

/// One file the overlay has touched.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Entry {
    /// The source's bytes when first read; `None` if the file was absent.
    pub(crate) original: Option<Vec<u8>>,
    pub(crate) content: Content,
    /// Why `original` is not JSON, once found out, so it is parsed only once.
    json_error: Option<String>,
    /// `original` is exactly how this JSON is written (found when it is parsed): then new bytes that
    /// differ from it are a changed document, with no second parse to tell a reformatting from a change.
    canonical: bool,
}

/// In-memory view of the state: files are read lazily from the source and
/// modified in memory as deltas are applied.
pub struct Overlay<'a> {
    source: &'a dyn StateSource,
    files: BTreeMap<RelPath, Entry>,
    /// Files handed out by [`Overlay::release`]: touching one again is an error, never a fresh read.
    released: std::collections::BTreeSet<RelPath>,
    /// Kept between deltas only to reuse its allocation.
    steps: Vec<Undo>,
}

/// How an op failed, before the op index is attached.
enum Failure {
    Io(io::Error),
    Reason(String),
}

impl From<String> for Failure {
    fn from(reason: String) -> Self {
        Failure::Reason(reason)
    }
}

impl<'a> Overlay<'a> {
    /// An overlay with nothing read or changed yet.
    pub fn new(source: &'a dyn StateSource) -> Self {
        Overlay { source, files: BTreeMap::new(), released: Default::default(), steps: Vec::new() }
    }

    /// Applies every op of `delta`, or none: on error the overlay is exactly
    /// as it was before the call, and the error names the failing op.
    pub fn apply(&mut self, delta: &Delta) -> Result<(), ApplyError> {
        let mut steps = std::mem::take(&mut self.steps);
        steps.clear();
        let mut outcome = Ok(());
        for (index, op) in delta.ops.iter().enumerate() {
            if let Err(failure) = self.apply_op(op, &mut steps) {
                outcome = Err(to_apply_error(failure, index, op));
                break;
            }
        }
        if let Err(cause) = outcome {
            let failed = rollback(&mut self.files, &mut steps);
            outcome =
                Err(if failed == 0 { cause } else { ApplyError::RollbackFailed { failed, cause: Box::new(cause) } });
        }
        // Drop what the steps hold now rather than at the next delta.
        steps.clear();
        self.steps = steps;
        outcome
    }

    /// Files whose content differs from the source, sorted by path, with
    /// their new bytes. JSON is written pretty with two-space indent, sorted
    /// keys and a trailing newline. A JSON file whose parsed value ends up
    /// equal to the source's is not reported, even if the source was not in
    /// canonical form: reading a file (e.g. a `test`) never rewrites it.
    pub fn changed_files(&self) -> Vec<(RelPath, Vec<u8>)> {
        self.files.iter().filter_map(|(path, entry)| Some((path.clone(), changed_bytes(entry)?))).collect()
    }

    /// No later delta of the frame touches `file`: take it out of the overlay. Returns its new bytes when
    /// it changed (as [`Overlay::changed_files`] would give them), `None` when it did not or was never
    /// touched. Nothing of it is held afterwards, neither the source's bytes nor the parsed document, so a
    /// frame of a thousand writers each touching their own file holds one file at a time. An op touching
    /// it afterwards fails instead of reading the source again.
    pub fn release(&mut self, file: &RelPath) -> Option<Vec<u8>> {
        let entry = self.files.remove(file)?;
        self.released.insert(file.clone());
        changed_bytes(&entry)
    }

    /// The entry for `file`, reading the source on first touch.
    fn load(&mut self, file: &RelPath) -> io::Result<&mut Entry> {
        if self.released.contains(file) {
            return Err(io::Error::other(format!(
                "internal error: {} was touched after it was released",
                file.as_str()
            )));
        }
        if !self.files.contains_key(file) {
            let original = self.source.read(file)?;
            let entry = Entry { original, content: Content::Source, json_error: None, canonical: false };
            self.files.insert(file.clone(), entry);
        }
        self.files.get_mut(file).ok_or_else(|| io::Error::other("internal error: overlay entry vanished"))
    }

    fn apply_op(&mut self, op: &Op, steps: &mut Vec<Undo>) -> Result<(), Failure> {
        let file = op.path();
        let entry = self.load(file).map_err(Failure::Io)?;
        let mut rec = Recorder::new(file, steps);
        match op {
            Op::AppendLines { value, .. } => append_lines(entry, value, &mut rec)?,
            Op::Merge { value, .. } => {
                check_depth(0, value)?;
                match json_root(entry, file, &mut rec)? {
                    Some(root) => merge_into(root, value, &mut Vec::new(), &mut rec),
                    None => {
                        create(entry, merge_new(value), &mut rec)?;
                    }
                }
            }
            Op::Patch { value, .. } => {
                let root = match json_root(entry, file, &mut rec)? {
                    Some(root) => root,
                    None => create(entry, Value::Object(Map::new()), &mut rec)?,
                };
                apply_patch(root, value, &mut rec)?;
            }
            Op::Set { pointer, value, .. } => {
                check_depth(pointer.tokens().len(), value)?;
                write_at(entry, file, pointer.tokens(), Write::Set(value), &mut rec)?;
            }
            Op::Append { pointer, value, .. } => {
                check_append_items(pointer, value)?;
                write_at(entry, file, pointer.tokens(), Write::Append(value), &mut rec)?;
            }
            Op::Incr { pointer, value, .. } => {
                write_at(entry, file, pointer.tokens(), Write::Incr(value), &mut rec)?;
            }
        }
        Ok(())
    }
}

fn to_apply_error(failure: Failure, index: usize, op: &Op) -> ApplyError {
    let path = op.path().clone();
    let op = op.name();
    match failure {
        Failure::Io(source) => ApplyError::Io { index, op, path, source },
        Failure::Reason(reason) => ApplyError::Op { index, op, path, reason },
    }
}

/// The entry's bytes when they differ from the source's. A JSON file whose parsed value ends up equal to
/// the source's is unchanged, even if the source was not in canonical form.
fn changed_bytes(entry: &Entry) -> Option<Vec<u8>> {
    let bytes = current_bytes(entry)?;
    let original = entry.original.as_deref();
    if original == Some(&bytes[..]) {
        return None;
    }
    if let (Content::Json(value), Some(original)) = (&entry.content, original) {
        // A canonical source with other bytes is another document; one that was not canonical may be
        // the same document written differently, which is left as it is.
        if !entry.canonical && serde_json::from_slice::<Value>(original).is_ok_and(|v| v == *value) {
            return None;
        }
    }
    Some(bytes.into_owned())
}

/// The entry's bytes as they would be written; `None` if the file is absent.
fn current_bytes(entry: &Entry) -> Option<Cow<'_, [u8]>> {
    match &entry.content {
        Content::Source => entry.original.as_deref().map(Cow::Borrowed),
        Content::Bytes(bytes) => Some(Cow::Borrowed(bytes)),
        // Serializing a Value cannot fail (keys are strings, numbers finite);
        // if it somehow did, the file is reported unchanged.
        Content::Json(v) => to_pretty(v).ok().map(Cow::Owned),
    }
}

/// Canonical JSON file bytes.
fn to_pretty(v: &Value) -> Result<Vec<u8>, String> {
    let mut out = serde_json::to_vec_pretty(v).map_err(|e| format!("cannot serialize: {e}"))?;
    out.push(b'\n');
    Ok(out)
}

/// The file as a JSON document, parsing it on first use; `None` if absent.
fn json_root<'e>(
    entry: &'e mut Entry,
    file: &RelPath,
    rec: &mut Recorder<'_>,
) -> Result<Option<&'e mut Value>, String> {
    let not_json = |e: serde_json::Error| format!("existing file {:?} is not valid JSON: {e}", file.as_str());
    let parsed = match &entry.content {
        Content::Json(_) => None,
        Content::Source => match (&entry.original, &entry.json_error) {
            (None, _) => return Ok(None),
            (Some(_), Some(known)) => return Err(known.clone()),
            (Some(bytes), None) => match serde_json::from_slice::<Value>(bytes) {
                // Parsing the source changes no content, so it is not undone:
                // a failed delta must not cost the next one a re-parse.
                Ok(v) => {
                    // Serializing costs less than the parse `changed_bytes` would otherwise repeat.
                    let canonical = to_pretty(&v).is_ok_and(|p| p == *bytes);
                    entry.canonical = canonical;
                    Some((v, false))
                }
                Err(e) => {
                    let msg = not_json(e);
                    entry.json_error = Some(msg.clone());
                    return Err(msg);
                }
            },
        },
        Content::Bytes(bytes) => Some((serde_json::from_slice(bytes).map_err(not_json)?, true)),
    };
    if let Some((value, record)) = parsed {
        let old = std::mem::replace(&mut entry.content, Content::Json(value));
        if record {
            rec.content(old);
        }
    }
    match &mut entry.content {
        Content::Json(root) => Ok(Some(root)),
        _ => Err("internal error: file was not converted to JSON".to_owned()),
    }
}

/// Makes an absent file a JSON document with `root`.
fn create<'e>(entry: &'e mut Entry, root: Value, rec: &mut Recorder<'_>) -> Result<&'e mut Value, String> {
    let old = std::mem::replace(&mut entry.content, Content::Json(root));
    rec.content(old);
    match &mut entry.content {
        Content::Json(root) => Ok(root),
        _ => Err("internal error: file was not created".to_owned()),
    }
}

/// The pointer-based edits, which share their walk to the target.
enum Write<'d> {
    Set(&'d Value),
    Append(&'d [Value]),
    Incr(&'d Number),
}

impl Write<'_> {
    /// The value to put where nothing was.
    fn fresh(&self) -> Result<Value, String> {
        Ok(match self {
            Write::Set(v) => (*v).clone(),
            Write::Append(items) => Value::Array(items.to_vec()),
            Write::Incr(n) => Value::Number(add_numbers(&Number::from(0), n)?),
        })
    }

    /// Edits the existing value at `at`.
    fn update(&self, target: &mut Value, at: &[String], rec: &mut Recorder<'_>) -> Result<(), String> {
        match self {
            Write::Set(v) => {
                let old = std::mem::replace(target, (*v).clone());
                rec.replace(at, old);
            }
            Write::Append(items) => {
                let Value::Array(array) = target else {
                    return Err(format!(
                        "cannot append to {} at {:?}: not an array",
                        type_name(target),
                        format_tokens(at)
                    ));
                };
                if !items.is_empty() {
                    rec.appended(at, array.len());
                    array.extend(items.iter().cloned());
                }
            }
            Write::Incr(n) => {
                let Value::Number(current) = target else {
                    return Err(format!(
                        "cannot increment {} at {:?}: not a number",
                        type_name(target),
                        format_tokens(at)
                    ));
                };
                let sum = add_numbers(current, n)?;
                let old = std::mem::replace(current, sum);
                rec.replace(at, Value::Number(old));
            }
        }
        Ok(())
    }
}

/// Carries out `write` at `tokens`, creating missing object members (and
/// the file itself) on the way.
fn write_at(
    entry: &mut Entry,
    file: &RelPath,
    tokens: &[String],
    write: Write<'_>,
    rec: &mut Recorder<'_>,
) -> Result<(), String> {
    let Some(root) = json_root(entry, file, rec)? else {
        // An absent file is a vacant root: build the whole document at once.
        create(entry, nest(tokens, write.fresh()?), rec)?;
        return Ok(());
    };
    let mut current = root;
    for (depth, token) in tokens.iter().enumerate() {
        let here = &tokens[..depth];
        current = match current {
            Value::Object(map) => {
                if !map.contains_key(token) {
                    let fresh = nest(&tokens[depth + 1..], write.fresh()?);
                    map.insert(token.clone(), fresh);
                    rec.key_inserted(here, token, None);
                    return Ok(());
                }
                match map.get_mut(token) {
                    Some(next) => next,
                    None => return Err("internal error: member vanished".to_owned()),
                }
            }
            Value::Array(items) => {
                if token == "-" {
                    let fresh = nest(&tokens[depth + 1..], write.fresh()?);
                    rec.appended(here, items.len());
                    items.push(fresh);
                    return Ok(());
                }
                let len = items.len();
                let index = array_index(token)
                    .ok_or_else(|| format!("{token:?} is not an index into the array at {:?}", format_tokens(here)))?;
                items.get_mut(index).ok_or_else(|| {
                    format!("index {index} is out of bounds for the array at {:?} (length {len})", format_tokens(here))
                })?
            }
            other => {
                return Err(format!("cannot look inside {} at {:?}", type_name(other), format_tokens(here)));
            }
        };
    }
    write.update(current, tokens, rec)
}

/// `leaf` wrapped in one single-member object per token.
fn nest(tokens: &[String], leaf: Value) -> Value {
    tokens.iter().rev().fold(leaf, |inner, token| {
        let mut map = Map::new();
        map.insert(token.clone(), inner);
        Value::Object(map)
    })
}

/// `append-lines`: adds each line plus `\n`, first ending an unterminated
/// last line. A JSON document touched this way becomes text.
fn append_lines(entry: &mut Entry, lines: &[String], rec: &mut Recorder<'_>) -> Result<(), String> {
    check_lines(lines)?;
    if lines.is_empty() {
        // Nothing to add, but "created if absent" still holds.
        if matches!(entry.content, Content::Source) && entry.original.is_none() {
            let old = std::mem::replace(&mut entry.content, Content::Bytes(Vec::new()));
            rec.content(old);
        }
        return Ok(());
    }
    // Bring the content to text form first.
    let text = match &entry.content {
        Content::Bytes(_) => None,
        // An existing file keeps its bytes, so truncation alone undoes the
        // append; an absent one must become absent again.
        Content::Source => Some((entry.original.clone().unwrap_or_default(), entry.original.is_none())),
        Content::Json(v) => Some((to_pretty(v)?, true)),
    };
    if let Some((bytes, record)) = text {
        let old = std::mem::replace(&mut entry.content, Content::Bytes(bytes));
        if record {
            rec.content(old);
        }
    }
    let Content::Bytes(buffer) = &mut entry.content else {
        return Err("internal error: file was not converted to text".to_owned());
    };
    rec.text_appended(buffer.len());
    if buffer.last().is_some_and(|&b| b != b'\n') {
        buffer.push(b'\n');
    }
    for line in lines {
        buffer.extend_from_slice(line.as_bytes());
        buffer.push(b'\n');
    }
    Ok(())
}

#[cfg(test)]
impl Overlay<'_> {
    /// The file's current bytes as the overlay would write them, `None` if
    /// absent; reads the source on first touch.
    pub(crate) fn read(&mut self, rel: &RelPath) -> io::Result<Option<Vec<u8>>> {
        let entry = self.load(rel)?;
        Ok(current_bytes(entry).map(Cow::into_owned))
    }

    /// The parsed documents held, to check rollback restores values
    /// exactly, not only their serialization.
    pub(crate) fn values(&self) -> BTreeMap<RelPath, Value> {
        self.files
            .iter()
            .filter_map(|(p, e)| match &e.content {
                Content::Json(v) => Some((p.clone(), v.clone())),
                _ => None,
            })
            .collect()
    }
}
