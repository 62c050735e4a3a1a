//! A minimal reader of git's index file for the pre-commit hook: the entries are located, not decoded.
//!
//! The hook needs, for a commit of a few files, the cache-tree extension and the handful of entries in the
//! directories it does not vouch for. Decoding the whole index (gix copies every path and builds every
//! entry) was most of the hook's time on a 20,000-file repository. This reader makes one pass over the file
//! to record where each entry starts, and reads an entry's fields from the bytes only when asked.
//!
//! Handled: versions 2 and 3, SHA-1 or SHA-256 ids, extended flags, the `TREE` extension. Anything else
//! that would change the answer (version 4's compressed paths, a split index `link`, a sparse index
//! `sdir`) or any inconsistency gives `None`, and the caller reads the index with gix instead. Every read
//! is bounds-checked: a truncated or corrupt file is `None`, never a panic.
//!
//! Format: git's `Documentation/gitformat-index.txt`.

use std::ops::Range;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};

/// An index file read into memory, with the offset of each entry.
pub struct RawIndex {
    data: Vec<u8>,
    kind: gix::hash::Kind,
    hash_len: usize,
    /// Where each entry starts, in file order (sorted by path, then stage).
    starts: Vec<u32>,
    /// The cache-tree, when the index has one.
    pub tree: Option<CacheTree>,
}

/// One directory of the cache-tree extension.
#[derive(Debug, Clone)]
pub struct CacheTree {
    /// Its name in its parent (empty for the root).
    pub name: BString,
    /// The number of index entries it covers; `None` when invalidated (something under it changed).
    pub num_entries: Option<u32>,
    /// The tree those entries make (meaningful only when valid).
    pub id: ObjectId,
    /// Its subdirectories.
    pub children: Vec<CacheTree>,
}

/// The fields of one entry the staged-changes walk reads.
#[derive(Debug, Clone, Copy)]
pub struct RawEntry {
    /// git's mode bits (`0o100644`, `0o120000`, `0o160000`, …).
    pub mode: u32,
    /// Its blob (or commit, for a gitlink).
    pub id: ObjectId,
    /// Merge stage, 0 when unconflicted.
    pub stage: u8,
    /// `git add -N`: recorded, not yet staged.
    pub intent_to_add: bool,
}

const STAT_LEN: usize = 40;
const EXTENDED: u16 = 0x4000;
const NAME_MASK: u16 = 0x0fff;
const INTENT_TO_ADD: u16 = 0x2000;
const SKIP_WORKTREE: u16 = 0x4000;

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

impl RawIndex {
    /// Read the index at `path` for ids of `kind`; `None` when this reader does not handle it.
    pub fn read(path: &std::path::Path, kind: gix::hash::Kind) -> Option<RawIndex> {
        let data = std::fs::read(path).ok()?;
        Self::parse(data, kind)
    }

    fn parse(data: Vec<u8>, kind: gix::hash::Kind) -> Option<RawIndex> {
        let hash_len = kind.len_in_bytes();
        if data.get(..4)? != b"DIRC" || data.len() < 12 + hash_len {
            return None;
        }
        let version = be32(&data, 4)?;
        if version != 2 && version != 3 {
            return None;
        }
        let count = usize::try_from(be32(&data, 8)?).ok()?;
        let end = data.len() - hash_len;
        let mut starts = Vec::with_capacity(count.min(end / 62));
        let mut at = 12usize;
        for _ in 0..count {
            let flags_at = at + STAT_LEN + hash_len;
            let flags = be16(&data, flags_at)?;
            let mut name_at = flags_at + 2;
            if flags & EXTENDED != 0 {
                // Extended flags exist from version 3, and only the two git defines (as gix insists).
                if version < 3 || be16(&data, name_at)? & !(INTENT_TO_ADD | SKIP_WORKTREE) != 0 {
                    return None;
                }
                name_at += 2;
            }
            let len = usize::from(flags & NAME_MASK);
            let len = if len < usize::from(NAME_MASK) { len } else { data.get(name_at..end)?.find_byte(0)? };
            // The entry is padded with 1 to 8 NULs to a multiple of 8 bytes from its start.
            let size = (name_at - at + len + 8) & !7;
            if at + size > end || data.get(name_at + len) != Some(&0) {
                return None;
            }
            starts.push(u32::try_from(at).ok()?);
            at += size;
        }
        let mut tree = None;
        // Extensions: a 4-byte signature, a 4-byte size, the data; up to the trailing checksum.
        while at + 8 <= end {
            let sig = data.get(at..at + 4)?;
            let size = usize::try_from(be32(&data, at + 4)?).ok()?;
            let body = data.get(at + 8..(at + 8).checked_add(size)?)?;
            if at + 8 + size > end {
                return None;
            }
            match sig {
                b"TREE" => tree = Some(parse_tree(body, kind)?),
                // Split and sparse indexes hold entries elsewhere or as directories: not for this reader.
                b"link" | b"sdir" => return None,
                // Other required extensions (an uppercase first letter means optional) are not understood.
                s if !s[0].is_ascii_uppercase() => return None,
                _ => {}
            }
            at += 8 + size;
        }
        if at != end {
            return None;
        }
        // Entries are taken to be in git's order (by path, then stage), as git and gix take them.
        Some(RawIndex { data, kind, hash_len, starts, tree })
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    fn start(&self, i: usize) -> usize {
        self.starts[i] as usize
    }

    fn flags(&self, i: usize) -> u16 {
        be16(&self.data, self.start(i) + STAT_LEN + self.hash_len).unwrap_or(0)
    }

    fn stage(&self, i: usize) -> u8 {
        ((self.flags(i) >> 12) & 3) as u8
    }

    /// Entry `i`'s path (its length and terminating NUL were checked when the index was read).
    pub fn path(&self, i: usize) -> &BStr {
        let flags_at = self.start(i) + STAT_LEN + self.hash_len;
        let flags = self.flags(i);
        let name_at = flags_at + 2 + if flags & EXTENDED != 0 { 2 } else { 0 };
        let rest = self.data.get(name_at..).unwrap_or_default();
        let len = match usize::from(flags & NAME_MASK) {
            n if n < usize::from(NAME_MASK) => n,
            _ => rest.find_byte(0).unwrap_or(rest.len()),
        };
        rest.get(..len).unwrap_or_default().as_bstr()
    }

    /// Entry `i`'s fields.
    pub fn entry(&self, i: usize) -> RawEntry {
        let s = self.start(i);
        let flags = self.flags(i);
        let ext =
            if flags & EXTENDED != 0 { be16(&self.data, s + STAT_LEN + self.hash_len + 2).unwrap_or(0) } else { 0 };
        let id_at = s + STAT_LEN;
        let id = self
            .data
            .get(id_at..id_at + self.hash_len)
            .and_then(|b| ObjectId::try_from(b).ok())
            .unwrap_or_else(|| ObjectId::null(self.kind));
        RawEntry {
            mode: be32(&self.data, s + 24).unwrap_or(0),
            id,
            stage: self.stage(i),
            intent_to_add: ext & INTENT_TO_ADD != 0,
        }
    }

    /// The entries whose path starts with `prefix` (one contiguous run in git's order).
    pub fn prefixed_range(&self, prefix: &BStr) -> Range<usize> {
        let lo = partition(self.len(), |i| self.path(i) < prefix);
        let hi = lo + partition(self.len() - lo, |k| self.path(lo + k).starts_with(prefix));
        lo..hi
    }
}

/// The first index in `0..n` for which `before` is false (`before` true then false over the range).
fn partition(n: usize, before: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if before(mid) { lo = mid + 1 } else { hi = mid }
    }
    lo
}

/// The `TREE` extension: nodes in pre-order, each `path NUL count SP subtrees LF [id]`.
fn parse_tree(body: &[u8], kind: gix::hash::Kind) -> Option<CacheTree> {
    let mut at = 0;
    let root = node(body, &mut at, kind, 0)?;
    (at == body.len()).then_some(root)
}

fn node(body: &[u8], at: &mut usize, kind: gix::hash::Kind, depth: usize) -> Option<CacheTree> {
    let hash_len = kind.len_in_bytes();
    if depth > 4096 {
        return None;
    }
    let rest = body.get(*at..)?;
    let nul = rest.find_byte(0)?;
    let name = BString::from(&rest[..nul]);
    let rest = &rest[nul + 1..];
    let lf = rest.find_byte(b'\n')?;
    let line = rest[..lf].to_str().ok()?;
    let (count, subtrees) = line.split_once(' ')?;
    let count: i64 = count.parse().ok()?;
    let subtrees: usize = subtrees.parse().ok()?;
    *at += nul + 1 + lf + 1;
    let (num_entries, id) = if count >= 0 {
        let id = ObjectId::try_from(body.get(*at..*at + hash_len)?).ok()?;
        *at += hash_len;
        (Some(u32::try_from(count).ok()?), id)
    } else {
        (None, ObjectId::null(kind))
    };
    let mut children = Vec::with_capacity(subtrees.min(body.len()));
    for _ in 0..subtrees {
        children.push(node(body, at, kind, depth + 1)?);
    }
    Some(CacheTree { name, num_entries, id, children })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    /// A real index (version 3: a cache-tree and an intent-to-add entry), then every
    /// truncation of it and every single-byte corruption of its first 4 KiB: reading never panics, nor does
    /// reading any entry of what was accepted; the intact file reads back every entry git lists.
    #[test]
    fn any_truncation_or_corruption_is_refused_or_read_without_panicking() {
        let f = Fixture::new();
        for (p, c) in [("a/b.txt", "b"), ("a/c.txt", "c"), ("d.txt", "d"), ("e/f/g.txt", "g")] {
            f.write(p, c);
        }
        f.git(&["add", "-A"]);
        f.git(&["commit", "-qm", "one"]);
        f.write("later.txt", "l");
        f.git(&["add", "-N", "later.txt"]);
        let kind = gix::hash::Kind::Sha1;
        let data = std::fs::read(f.dir.join(".git/index")).unwrap();
        let whole = RawIndex::parse(data.clone(), kind).expect("git's own index is read");
        let paths: Vec<String> = (0..whole.len()).map(|i| whole.path(i).to_string()).collect();
        assert_eq!(paths.join("\n"), f.git(&["ls-files"]));
        assert!(whole.tree.is_some(), "the cache-tree is read");
        assert!(whole.entry(paths.iter().position(|p| p == "later.txt").unwrap()).intent_to_add);
        let touch = |r: &RawIndex| {
            for i in 0..r.len() {
                let _ = (r.path(i), r.entry(i));
            }
            let _ = r.prefixed_range(BStr::new(b"a/"));
        };
        for len in 0..data.len() {
            if let Some(r) = RawIndex::parse(data[..len].to_vec(), kind) {
                touch(&r);
            }
        }
        for at in 0..data.len().min(4096) {
            for flip in [0xff, 0x01, 0x80] {
                let mut bad = data.clone();
                bad[at] ^= flip;
                if let Some(r) = RawIndex::parse(bad, kind) {
                    touch(&r);
                }
            }
        }
    }
}
