//! A minimal reader of git's index file for the pre-commit hook: the entries are located, not decoded.
//!
//! The hook needs, for a commit of a few files, the cache-tree extension and the handful of entries in the
//! directories it does not vouch for. Decoding the whole index (gix copies every path and builds every
//! entry) was most of the hook's time on a 20,000-file repository, and so, after that, was reading the
//! whole file into fresh memory (a 1.6 MB index is 400 new pages to fault in and give back, on every
//! commit). This reader streams the file once through a small buffer, keeping only each entry's offset and
//! path, and reads an entry's other fields from the file only when asked.
//!
//! Handled: versions 2 and 3, SHA-1 or SHA-256 ids, extended flags, the `TREE` extension. Anything else
//! that would change the answer (version 4's compressed paths, a split index `link`, a sparse index
//! `sdir`) or any inconsistency gives `None`, and the caller reads the index with gix instead. Every read
//! is bounds-checked: a truncated or corrupt file is `None`, never a panic.
//!
//! The file is kept open: git replaces an index by renaming a new file over it, so what this reader
//! located stays what it reads later, whatever git does meanwhile.
//!
//! Format: git's `Documentation/gitformat-index.txt`.

use std::io::Read;
use std::ops::Range;

use gix::ObjectId;
use gix::bstr::{BStr, BString, ByteSlice};

/// An index file, located: where each entry starts and what its path is.
pub struct RawIndex {
    source: Source,
    hash_len: usize,
    /// Where each entry starts in the file, in file order (sorted by path, then stage).
    starts: Vec<u32>,
    /// Where each entry's path ends in `paths` (it starts where the previous one ends).
    path_ends: Vec<u32>,
    /// Every entry's path, one after the other.
    paths: Vec<u8>,
    /// The cache-tree, when the index has one.
    pub tree: Option<CacheTree>,
}

/// Where the index's bytes come from: the file, or (in tests) bytes in memory.
enum Source {
    File(std::fs::File),
    #[cfg(test)]
    Bytes(Vec<u8>),
}

impl Source {
    fn read_at(&self, buf: &mut [u8], at: u64) -> Option<()> {
        match self {
            Source::File(f) => std::os::unix::fs::FileExt::read_exact_at(f, buf, at).ok(),
            #[cfg(test)]
            Source::Bytes(b) => {
                let at = usize::try_from(at).ok()?;
                buf.copy_from_slice(b.get(at..at.checked_add(buf.len())?)?);
                Some(())
            }
        }
    }
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
/// The most bytes one read of consecutive entries ([`RawIndex::entries_at`]) spans.
const RUN_BYTES: u32 = 1 << 20;
/// The streaming buffer: big enough for any entry with a short path; one with a longer path grows it.
const CHUNK: usize = 64 * 1024;

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(d.get(at..at + 2)?.try_into().ok()?))
}

/// The file read front to back through one buffer. `buf[lo..hi]` holds the bytes from file offset `at`.
struct Stream<'a> {
    reader: &'a mut dyn Read,
    buf: Vec<u8>,
    lo: usize,
    hi: usize,
    /// The file offset of `buf[lo]`.
    at: usize,
    /// Where the file ends (its length when it was opened); nothing past it is read.
    len: usize,
}

impl Stream<'_> {
    /// The next `n` bytes (fewer only when the file ends first: `None`).
    fn peek(&mut self, n: usize) -> Option<&[u8]> {
        if self.at.checked_add(n)? > self.len {
            return None;
        }
        while self.hi - self.lo < n {
            if self.lo > 0 {
                self.buf.copy_within(self.lo..self.hi, 0);
                self.hi -= self.lo;
                self.lo = 0;
            }
            if self.buf.len() < n {
                self.buf.resize(n.max(self.buf.len() * 2), 0);
            }
            let unread = self.len - self.at - (self.hi - self.lo);
            let want = unread.min(self.buf.len() - self.hi);
            let got = self.reader.read(&mut self.buf[self.hi..self.hi + want]).ok()?;
            if got == 0 {
                return None; // shorter than it was when opened
            }
            self.hi += got;
        }
        Some(&self.buf[self.lo..self.lo + n])
    }

    /// Step over `n` bytes (they must have been peeked).
    fn consume(&mut self, n: usize) {
        self.lo += n;
        self.at += n;
    }

    /// Step over `n` bytes that may not have been read yet.
    fn skip(&mut self, mut n: usize) -> Option<()> {
        while n > 0 {
            let step = n.min(CHUNK);
            self.peek(step)?;
            self.consume(step);
            n -= step;
        }
        Some(())
    }

    /// The length of the NUL-terminated name starting `from` bytes ahead (the NUL not counted).
    fn name_len(&mut self, from: usize) -> Option<usize> {
        let rest = self.len - self.at;
        let mut want = (from + 1).max(self.hi - self.lo).min(rest);
        loop {
            if let Some(nul) = self.peek(want)?.get(from..).and_then(|w| w.find_byte(0)) {
                return Some(nul);
            }
            if want == rest {
                return None;
            }
            want = want.saturating_add(CHUNK).min(rest);
        }
    }
}

/// What one pass over the file found.
struct Located {
    starts: Vec<u32>,
    path_ends: Vec<u32>,
    paths: Vec<u8>,
    tree: Option<CacheTree>,
}

impl RawIndex {
    /// Read the index at `path` for ids of `kind`; `None` when this reader does not handle it.
    pub fn read(path: &std::path::Path, kind: gix::hash::Kind) -> Option<RawIndex> {
        let file = std::fs::File::open(path).ok()?;
        let len = usize::try_from(file.metadata().ok()?.len()).ok()?;
        let l = locate(&mut &file, len, kind)?;
        Some(RawIndex::from(Source::File(file), kind, l))
    }

    #[cfg(test)]
    fn parse(data: Vec<u8>, kind: gix::hash::Kind) -> Option<RawIndex> {
        let l = locate(&mut data.as_slice(), data.len(), kind)?;
        Some(RawIndex::from(Source::Bytes(data), kind, l))
    }

    fn from(source: Source, kind: gix::hash::Kind, l: Located) -> RawIndex {
        let Located { starts, path_ends, paths, tree } = l;
        RawIndex { source, hash_len: kind.len_in_bytes(), starts, path_ends, paths, tree }
    }

    /// How many entries.
    pub fn len(&self) -> usize {
        self.starts.len()
    }

    /// Entry `i`'s path.
    pub fn path(&self, i: usize) -> &BStr {
        let from = if i == 0 { 0 } else { self.path_ends.get(i - 1).map_or(0, |&e| e as usize) };
        let to = self.path_ends.get(i).map_or(from, |&e| e as usize);
        self.paths.get(from..to).unwrap_or_default().as_bstr()
    }

    /// Entry `i`'s fields, read from the file; `None` when they cannot be read.
    pub fn entry(&self, i: usize) -> Option<RawEntry> {
        // Every entry is at least this long: its fixed part, a NUL, padded to 8 bytes.
        let mut b = [0u8; STAT_LEN + 32 + 4];
        let b = b.get_mut(..self.fields_len())?;
        self.source.read_at(b, u64::from(*self.starts.get(i)?))?;
        self.fields(b)
    }

    /// The fields of entries `idx` (in increasing order), in that order: each run of consecutive entries
    /// is read from the file at once, so a directory's files cost one read, not one each.
    pub fn entries_at(&self, idx: &[usize]) -> Option<Vec<RawEntry>> {
        self.entries_within(idx, RUN_BYTES)
    }

    /// [`Self::entries_at`], each read spanning less than `span` bytes of the file from its first entry.
    fn entries_within(&self, idx: &[usize], span: u32) -> Option<Vec<RawEntry>> {
        let mut out = Vec::with_capacity(idx.len());
        let mut buf = Vec::new();
        let mut k = 0;
        while k < idx.len() {
            // The run idx[k..r]: consecutive entries, at most RUN_BYTES apart.
            let first = *self.starts.get(idx[k])?;
            let mut r = k + 1;
            while r < idx.len() && idx[r] == idx[r - 1] + 1 && (*self.starts.get(idx[r])?).checked_sub(first)? < span {
                r += 1;
            }
            let last = *self.starts.get(idx[r - 1])?;
            let len = usize::try_from(last.checked_sub(first)?).ok()? + self.fields_len();
            buf.resize(len, 0);
            self.source.read_at(&mut buf, u64::from(first))?;
            for &i in &idx[k..r] {
                let at = usize::try_from(self.starts.get(i)?.checked_sub(first)?).ok()?;
                out.push(self.fields(buf.get(at..at + self.fields_len())?)?);
            }
            k = r;
        }
        Some(out)
    }

    /// How many bytes from an entry's start hold every field [`RawEntry`] has.
    fn fields_len(&self) -> usize {
        STAT_LEN + self.hash_len + 4
    }

    /// An entry's fields from its first [`Self::fields_len`] bytes.
    fn fields(&self, b: &[u8]) -> Option<RawEntry> {
        let fixed = STAT_LEN + self.hash_len + 2;
        let flags = be16(b, fixed - 2)?;
        let ext = if flags & EXTENDED != 0 { be16(b, fixed)? } else { 0 };
        Some(RawEntry {
            mode: be32(b, 24)?,
            id: ObjectId::try_from(b.get(STAT_LEN..STAT_LEN + self.hash_len)?).ok()?,
            stage: ((flags >> 12) & 3) as u8,
            intent_to_add: ext & INTENT_TO_ADD != 0,
        })
    }

    /// The entries whose path starts with `prefix` (one contiguous run in git's order).
    pub fn prefixed_range(&self, prefix: &BStr) -> Range<usize> {
        let lo = partition(self.len(), |i| self.path(i) < prefix);
        let hi = lo + partition(self.len() - lo, |k| self.path(lo + k).starts_with(prefix));
        lo..hi
    }
}

/// One pass over an index of `len` bytes: each entry's offset and path, and the cache-tree.
fn locate(reader: &mut dyn Read, len: usize, kind: gix::hash::Kind) -> Option<Located> {
    let hash_len = kind.len_in_bytes();
    // The trailing checksum is not read: `end` is where the entries and extensions must stop.
    let end = len.checked_sub(12 + hash_len)? + 12;
    let mut s = Stream { reader, buf: vec![0; CHUNK.min(end)], lo: 0, hi: 0, at: 0, len: end };
    let head = s.peek(12)?;
    if head.get(..4)? != b"DIRC" {
        return None;
    }
    let version = be32(head, 4)?;
    if version != 2 && version != 3 {
        return None;
    }
    let count = usize::try_from(be32(head, 8)?).ok()?;
    s.consume(12);
    let most = count.min(end / 62);
    let (mut starts, mut path_ends) = (Vec::with_capacity(most), Vec::with_capacity(most));
    let mut paths = Vec::with_capacity(end.saturating_sub(most * 62));
    let fixed = STAT_LEN + hash_len + 2;
    for _ in 0..count {
        let flags = be16(s.peek(fixed)?, fixed - 2)?;
        let mut name_at = fixed;
        if flags & EXTENDED != 0 {
            // Extended flags exist from version 3, and only the two git defines (as gix insists).
            if version < 3 || be16(s.peek(fixed + 2)?, fixed)? & !(INTENT_TO_ADD | SKIP_WORKTREE) != 0 {
                return None;
            }
            name_at += 2;
        }
        let n = usize::from(flags & NAME_MASK);
        let n = if n < usize::from(NAME_MASK) { n } else { s.name_len(name_at)? };
        // The entry is padded with 1 to 8 NULs to a multiple of 8 bytes from its start.
        let size = (name_at + n + 8) & !7;
        let start = u32::try_from(s.at).ok()?;
        let entry = s.peek(size)?;
        if entry.get(name_at + n) != Some(&0) {
            return None;
        }
        paths.extend_from_slice(entry.get(name_at..name_at + n)?);
        starts.push(start);
        path_ends.push(u32::try_from(paths.len()).ok()?);
        s.consume(size);
    }
    let mut tree = None;
    // Extensions: a 4-byte signature, a 4-byte size, the data; up to the trailing checksum.
    while s.at + 8 <= end {
        let h = s.peek(8)?;
        let sig: [u8; 4] = h.get(..4)?.try_into().ok()?;
        let size = usize::try_from(be32(h, 4)?).ok()?;
        s.consume(8);
        match &sig {
            b"TREE" => {
                tree = Some(parse_tree(s.peek(size)?, kind)?);
                s.consume(size);
            }
            // Split and sparse indexes hold entries elsewhere or as directories: not for this reader.
            b"link" | b"sdir" => return None,
            // Other required extensions (an uppercase first letter means optional) are not understood.
            sig if !sig[0].is_ascii_uppercase() => return None,
            _ => s.skip(size)?,
        }
    }
    if s.at != end {
        return None;
    }
    // Entries are taken to be in git's order (by path, then stage), as git and gix take them.
    Some(Located { starts, path_ends, paths, tree })
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

    /// An index several times the streaming buffer, with entries across its boundaries, a path longer
    /// than an entry's name field can count (4,095 bytes) and an optional extension to step over: every
    /// entry's path, mode, id and stage is read as `git ls-files --stage` lists it, from the file and from
    /// the same bytes in memory.
    #[test]
    fn an_index_larger_than_the_buffer_is_read_whole() {
        let f = Fixture::new();
        f.write("a.txt", "a");
        f.git(&["add", "a.txt"]);
        f.git(&["commit", "-qm", "one"]);
        let blob = f.git(&["hash-object", "-w", "a.txt"]).trim().to_string();
        let long = format!("{}/x.txt", vec!["d".repeat(200); 25].join("/"));
        let mut args = vec!["update-index".to_string(), "--add".into()];
        for i in 0..3000 {
            args.push("--cacheinfo".into());
            args.push(format!("100644,{blob},dir{:02}/file{i:05}.txt", i % 37));
        }
        args.push("--cacheinfo".into());
        args.push(format!("100755,{blob},{long}"));
        f.git(&args.iter().map(String::as_str).collect::<Vec<_>>());
        f.git(&["write-tree"]);
        f.git(&["-c", "core.untrackedCache=true", "status", "--porcelain"]);
        let path = f.dir.join(".git/index");
        let data = std::fs::read(&path).unwrap();
        assert!(data.len() > 3 * CHUNK, "the index is {} bytes", data.len());
        assert!(data.windows(4).any(|w| w == b"UNTR"), "git wrote the untracked cache");
        let kind = gix::hash::Kind::Sha1;
        let listed = f.git(&["ls-files", "--stage", "-z"]);
        let want: Vec<&str> = listed.split('\0').filter(|l| !l.is_empty()).collect();
        assert!(want.iter().any(|l| l.ends_with(&long)));
        for r in
            [RawIndex::read(&path, kind).expect("read from the file"), RawIndex::parse(data, kind).expect("parsed")]
        {
            assert!(r.tree.is_some());
            let got: Vec<String> = (0..r.len())
                .map(|i| {
                    let e = r.entry(i).expect("every entry's fields are read");
                    format!("{:06o} {} {}\t{}", e.mode, e.id, e.stage, r.path(i))
                })
                .collect();
            assert_eq!(got, want);
            // Read in runs: every entry, every third one, one at a time, and with each read spanning at
            // most 1 KiB (runs cut short): the same fields as one by one.
            let one_by_one: Vec<_> = (0..r.len()).map(|i| format!("{:?}", r.entry(i))).collect();
            let all: Vec<usize> = (0..r.len()).collect();
            let thirds: Vec<usize> = (0..r.len()).step_by(3).collect();
            for (idx, span) in [(&all, RUN_BYTES), (&all, 1024), (&thirds, RUN_BYTES), (&thirds, 1)] {
                let got = r.entries_within(idx, span).expect("entries read in runs");
                let got: Vec<String> = got.iter().map(|e| format!("{:?}", Some(e))).collect();
                let want: Vec<&String> = idx.iter().map(|&i| &one_by_one[i]).collect();
                assert_eq!(got.len(), want.len());
                assert!(got.iter().zip(&want).all(|(g, w)| g == *w), "span {span}");
            }
            assert!(r.entries_at(&[r.len()]).is_none(), "an entry past the end is not read");
        }
    }

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
        assert!(whole.entry(paths.iter().position(|p| p == "later.txt").unwrap()).unwrap().intent_to_add);
        let touch = |r: &RawIndex| {
            for i in 0..r.len() {
                let _ = (r.path(i), r.entry(i));
            }
            let _ = r.entries_within(&(0..r.len()).collect::<Vec<_>>(), 64);
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
