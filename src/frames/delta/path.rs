//! State-file paths named by delta ops: lexical validation ([`validate_rel_path`])
//! and the on-disk symlink checks ([`check_no_symlinks`], [`check_dir_no_symlinks`]).
//!
//! Every file a delta touches is named relative to the canonical state
//! directory. A [`RelPath`] can only be built through validation, so holding
//! one proves the path cannot climb out of that directory by its spelling
//! alone, that no component is one git refuses to check out (`.git` in
//! any spelling NTFS or HFS+ would fold to it), and that none is a file git
//! reads as instructions (`.gitattributes`, `.gitignore`, `.gitmodules`, see
//! [`git_control_file`]); the symlink
//! checks cover the part that spelling cannot. The same validation serves
//! delta paths, `state.dir` and every path read back from a tree.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Deserializer, Serialize};
use thiserror::Error;

/// Longest accepted path, in bytes.
pub const MAX_PATH_BYTES: usize = 1024;
/// Longest accepted path component, in bytes (the common file-name limit).
pub const MAX_COMPONENT_BYTES: usize = 255;

/// A validated, `/`-separated path relative to the state directory.
///
/// Ordering is byte-wise on the string, which is the order
/// [`Overlay::changed_files`](crate::frames::delta::Overlay::changed_files) reports.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RelPath(String);

impl RelPath {
    /// The path as written, with `/` separators.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path's components, in order; none is empty, `.` or `..`.
    pub fn components(&self) -> impl Iterator<Item = &str> {
        self.0.split('/')
    }

    /// This path under `base`, built component by component.
    #[cfg(test)]
    pub fn join_onto(&self, base: &Path) -> PathBuf {
        let mut out = base.to_path_buf();
        for component in self.components() {
            out.push(component);
        }
        out
    }

    /// Gives back the underlying string.
    #[cfg(test)]
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for RelPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for RelPath {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for RelPath {
    type Error = PathError;

    fn try_from(value: String) -> Result<Self, PathError> {
        check_spelling(&value)?;
        Ok(RelPath(value))
    }
}

impl std::str::FromStr for RelPath {
    type Err = PathError;

    fn from_str(s: &str) -> Result<Self, PathError> {
        validate_rel_path(s)
    }
}

// Hand-written so that deserializing can never produce an unvalidated path.
impl<'de> Deserialize<'de> for RelPath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        RelPath::try_from(raw).map_err(serde::de::Error::custom)
    }
}

/// Why a path was refused.
#[derive(Debug, Error)]
pub enum PathError {
    /// The path is the empty string.
    #[error("path is empty")]
    Empty,
    /// The path is longer than [`MAX_PATH_BYTES`].
    #[error("path is {len} bytes long, over the {MAX_PATH_BYTES}-byte limit")]
    TooLong {
        /// Length of the refused path in bytes.
        len: usize,
    },
    /// The path contains NUL or another control character.
    #[error("path contains a control character at byte {offset}")]
    ControlChar {
        /// Byte offset of the first offending character.
        offset: usize,
    },
    /// The path contains a backslash.
    #[error("path contains a backslash; use '/' as the separator")]
    Backslash,
    /// The path starts with `/`.
    #[error("path must be relative (it starts with '/')")]
    Absolute,
    /// The path ends with `/`.
    #[error("path must name a file (it ends with '/')")]
    TrailingSlash,
    /// The path contains `//`.
    #[error("path contains an empty component ('//')")]
    EmptyComponent,
    /// The path contains a `.` component.
    #[error("path contains a '.' component")]
    DotComponent,
    /// The path contains a `..` component.
    #[error("path contains a '..' component")]
    DotDotComponent,
    /// A component git refuses to check out, or one that another file system folds onto a different name.
    #[error("path component {component:?} is reserved by git ({why})")]
    Reserved {
        /// The refused component.
        component: String,
        /// Why git refuses it.
        why: String,
    },
    /// One component is longer than [`MAX_COMPONENT_BYTES`].
    #[error("path component is {len} bytes long, over the {MAX_COMPONENT_BYTES}-byte limit")]
    ComponentTooLong {
        /// Length of the offending component in bytes.
        len: usize,
    },
    /// An existing part of the path on disk is a symbolic link.
    #[error("refusing to follow symlink at {}", .path.display())]
    Symlink {
        /// The symlink that was found.
        path: PathBuf,
    },
    /// The file system could not be inspected.
    #[error("cannot inspect {}: {source}", .path.display())]
    Io {
        /// The path being inspected.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
}

/// Checks that `path` is a safe relative path inside the state directory.
///
/// Accepted: non-empty, `/`-separated, at most [`MAX_PATH_BYTES`] bytes, no
/// leading or trailing `/`, no `\`, no control characters, and no empty, `.`
/// or `..` components, each at most [`MAX_COMPONENT_BYTES`] bytes and none of
/// them refused by [`check_component`].
pub fn validate_rel_path(path: &str) -> Result<RelPath, PathError> {
    check_spelling(path)?;
    Ok(RelPath(path.to_owned()))
}

fn check_spelling(path: &str) -> Result<(), PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    if path.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong { len: path.len() });
    }
    // char::is_control covers NUL, the rest of C0, DEL and C1.
    if let Some((offset, _)) = path.char_indices().find(|(_, c)| c.is_control()) {
        return Err(PathError::ControlChar { offset });
    }
    if path.contains('\\') {
        return Err(PathError::Backslash);
    }
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if path.ends_with('/') {
        return Err(PathError::TrailingSlash);
    }
    for component in path.split('/') {
        check_component(component)?;
    }
    Ok(())
}

/// Checks one path component the way git checks a tree entry before writing
/// it to disk (`verify_path` with `core.protectNTFS` and `core.protectHFS`,
/// whatever the platform: a state file written here is checked out elsewhere):
/// no `.git` in any case, with trailing dots or spaces, as the NTFS short name
/// `git~1` or with HFS+-ignored code points; no `.gitmodules` in any such
/// spelling; and no trailing dot or space at all, which Windows strips (two
/// state files would be one there).
pub fn check_component(component: &str) -> Result<(), PathError> {
    use gix::bstr::ByteSlice;
    use gix::validate::path::component::{Mode, Options};
    match component {
        "" => return Err(PathError::EmptyComponent),
        "." => return Err(PathError::DotComponent),
        ".." => return Err(PathError::DotDotComponent),
        c if c.len() > MAX_COMPONENT_BYTES => {
            return Err(PathError::ComponentTooLong { len: c.len() });
        }
        _ => {}
    }
    let reserved = |why: String| PathError::Reserved { component: component.to_string(), why };
    // Mode::Symlink makes the check refuse `.gitmodules` spellings too: state files never need that name.
    let opts = Options { protect_windows: false, protect_hfs: true, protect_ntfs: true };
    if let Err(e) = gix::validate::path::component(component.as_bytes().as_bstr(), Some(Mode::Symlink), opts) {
        return Err(reserved(e.to_string()));
    }
    if let Some(name) = git_control_file(component) {
        return Err(reserved(format!("git reads {name} in a directory as its own instructions, not as a state file")));
    }
    if component.ends_with('.') || component.ends_with(' ') {
        return Err(reserved("a trailing dot or space is dropped by Windows".into()));
    }
    Ok(())
}

/// The git control file — `.gitattributes`, `.gitignore` or `.gitmodules` — that `component` names on
/// some file system git protects, if any: in any case (as case-insensitive file systems fold it), with
/// the code points HFS+ ignores, with what NTFS drops (trailing dots and spaces, a `:` stream suffix), or
/// as an NTFS short name (`gitatt~1`, or git's hashed form such as `gi7d29~1`). A state file there would
/// be read by git as instructions: `.gitattributes` saying `*.json working-tree-encoding=UTF-16LE` makes
/// git fail to stage every later frame's files.
pub fn git_control_file(component: &str) -> Option<&'static str> {
    /// The names, each with the prefix of the short names NTFS may give it once `~1`..`~4` are taken.
    const NAMES: [(&str, &str); 3] =
        [(".gitattributes", "gi7d29"), (".gitignore", "gi250a"), (".gitmodules", "gi7eba")];
    let folded: String = component.chars().filter(|c| !hfs_ignorable(*c)).collect::<String>().to_ascii_lowercase();
    let folded = folded.split(':').next().unwrap_or_default().trim_end_matches(['.', ' ']);
    let short = folded.split_once('~').filter(|(stem, n)| {
        !stem.is_empty()
            && stem.len() <= 6
            && n.starts_with(|c: char| c.is_ascii_digit() && c != '0')
            && n.bytes().all(|b| b.is_ascii_digit())
    });
    NAMES.iter().find_map(|&(name, hashed)| {
        let matches = folded == name
            || short.is_some_and(|(stem, n)| {
                stem == &name[1..7] || (hashed.starts_with(stem) && stem.len() + 1 + n.len() == 8)
            });
        matches.then_some(name)
    })
}

/// Code points case-insensitive HFS+ skips when it compares names (as git's `is_hfs_dotgit` does).
fn hfs_ignorable(c: char) -> bool {
    matches!(c as u32, 0x200c..=0x200f | 0x202a..=0x202e | 0x206a..=0x206f | 0xfeff)
}

/// Refuses if `state_dir` or any existing component of `rel` below it is a
/// symbolic link.
///
/// The walk goes from `state_dir` downwards with `symlink_metadata`, so a
/// link is seen as a link rather than followed. The walk stops at the first
/// component that does not exist (or whose parent is not a directory): what
/// does not exist yet cannot be a link. Ancestors of `state_dir` are not
/// checked.
pub fn check_no_symlinks(state_dir: &Path, rel: &RelPath) -> Result<(), PathError> {
    NoSymlinks::new(state_dir).check(rel)
}

/// [`check_no_symlinks`] for many paths under one state directory: a directory or file seen to exist and not
/// be a link is not looked at again. A frame's deltas touch the same few directories and files over and
/// over: 10,000 two-op deltas made 80,000 `lstat`s, all but a thousand of them repeats. While the tree
/// does not change, every answer is the one [`check_no_symlinks`] gives.
pub struct NoSymlinks {
    state_dir: PathBuf,
    seen: std::collections::HashSet<PathBuf>,
}

impl NoSymlinks {
    /// A checker for paths under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        NoSymlinks { state_dir: state_dir.to_path_buf(), seen: Default::default() }
    }

    /// As [`check_no_symlinks`]`(state_dir, rel)`.
    pub fn check(&mut self, rel: &RelPath) -> Result<(), PathError> {
        let mut current = self.state_dir.clone();
        if !self.exists_without_symlink(&current)? {
            return Ok(());
        }
        for component in rel.components() {
            current.push(component);
            if !self.exists_without_symlink(&current)? {
                return Ok(());
            }
        }
        Ok(())
    }

    fn exists_without_symlink(&mut self, path: &Path) -> Result<bool, PathError> {
        if self.seen.contains(path) {
            return Ok(true);
        }
        let there = exists_without_symlink(path)?;
        if there {
            self.seen.insert(path.to_path_buf());
        }
        Ok(there)
    }
}

/// Refuses if `dir`, or any ancestor of it from `root` down, is a symbolic link
/// (`dir` must be `root` joined with a validated relative path). A write under
/// `dir` would otherwise land wherever the link points.
pub fn check_dir_no_symlinks(root: &Path, rel: &RelPath) -> Result<(), PathError> {
    let mut current = root.to_path_buf();
    for component in rel.components() {
        current.push(component);
        if !exists_without_symlink(&current)? {
            return Ok(());
        }
    }
    Ok(())
}

/// `Ok(true)` if `path` exists and is not a symlink, `Ok(false)` if absent.
fn exists_without_symlink(path: &Path) -> Result<bool, PathError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => Err(PathError::Symlink { path: path.to_path_buf() }),
        Ok(_) => Ok(true),
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => Ok(false),
        Err(source) => Err(PathError::Io { path: path.to_path_buf(), source }),
    }
}
