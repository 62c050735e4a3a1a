//! A minimal reader of git's index file for the pre-commit hook: the entries are located, not decoded.
//!
//! The hook needs, for a commit of a few files, the cache-tree extension and the handful of entries in the
//! directories it does not vouch for. Decoding the whole index (gix copies every path and builds every
//! entry) was most of the hook's time on a 20,000-file repository, and so, after that, was reading the
//! whole file into fresh memory (a 1.6 MB index is 400 new pages to fault in and give back, on every
//! commit), and after that, keeping every entry's path and offset (530 KB of fresh pages for 20,000
//! entries). This reader streams the file once through a small buffer and keeps only runs: stretches of
//! consecutive entries in one directory, each its directory, entry count and place in the file (a few
//! hundred for 20,000 files). The entries of a run, names and fields, are read from the file in one read
//! when the walk asks for them: only the directories on the way to a staged change.
//!
//! Handled: versions 2, 3 and 4 (the one `feature.manyFiles` writes: each path stored as what it keeps of
//! the previous one and what it adds), SHA-1 or SHA-256 ids, extended flags, the `TREE` extension.
//! Anything else that would change the answer (a split index `link`, a sparse index `sdir`) or any
//! inconsistency gives `None`, and the caller reads the index with gix instead. Every read is
//! bounds-checked: a truncated or corrupt file is `None`, never a panic.
//!
//! The file is kept open: git replaces an index by renaming a new file over it, so what this reader
//! located stays what it reads later, whatever git does meanwhile.
//!
//! Format: git's `Documentation/gitformat-index.txt`.

use std::io::Read;

use gix::ObjectId;
use gix::bstr::{BString, ByteSlice};

/// An index file, located: its entries as runs of consecutive entries in one directory, and its cache-tree.
pub struct RawIndex {
    source: Source,
    hash_len: usize,
    version: u32,
    /// The entries, in file order (sorted by path, then stage), as runs in one directory each.
    pub runs: Vec<Run>,
    /// The cache-tree, when the index has one.
    pub tree: Option<CacheTree>,
}

/// Consecutive index entries whose paths have the same directory part (entries of its subdirectories
/// are not in it): all a walk of the index needs to know before it reads a directory's files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The directory: empty at the top, else ending in `/`.
    pub dir: BString,
    /// How many entries.
    pub count: usize,
    /// Where the first entry starts in the file.
    at: u32,
    /// How many bytes of the file the entries take.
    len: u32,
    /// Version 4 only: the path of the entry before the run's first (its path is stored against that
    /// one); `None` before the file's first entry, and in other versions.
    before: Option<BString>,
}

/// Appends entries, in file order, to the run they belong to.
#[derive(Default)]
pub struct Runs(Vec<Run>);

impl Runs {
    /// How many runs so far.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The runs.
    pub fn finish(self) -> Vec<Run> {
        self.0
    }

    /// The entry with `path`, `size` bytes at `at` in the file; `None` if the run would overflow.
    pub fn push(&mut self, path: &[u8], at: u32, size: u32) -> Option<()> {
        if let Some(last) = self.0.last_mut()
            && starts_with(path, &last.dir)
            && !path[last.dir.len()..].contains(&b'/')
        {
            // Its directory is the last run's (it starts with it, with no `/` after).
            last.count += 1;
            last.len = last.len.checked_add(size)?;
            return Some(());
        }
        let dir = &path[..path.rfind_byte(b'/').map_or(0, |slash| slash + 1)];
        self.0.push(Run { dir: BString::from(dir), count: 1, at, len: size, before: None });
        Some(())
    }
}

/// `path.starts_with(prefix)`, eight bytes at a time: a short directory name is compared without a call
/// to `memcmp` (once per index entry, this was a tenth of the hook's time).
fn starts_with(path: &[u8], prefix: &[u8]) -> bool {
    let Some(head) = path.get(..prefix.len()) else { return false };
    let (mut a, mut b) = (head.chunks_exact(8), prefix.chunks_exact(8));
    let word = |c: &[u8]| c.try_into().map_or(0, u64::from_ne_bytes);
    a.by_ref().zip(b.by_ref()).all(|(x, y)| word(x) == word(y))
        && a.remainder().iter().zip(b.remainder()).all(|(x, y)| x == y)
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
    version: u32,
    runs: Vec<Run>,
    tree: Option<CacheTree>,
}

/// Where the next entry's name starts, how long it is and how long the entry is (its name's bytes can
/// then be peeked); `None` when it is not an entry this reader handles.
fn next_entry(s: &mut Stream<'_>, hash_len: usize, version: u32) -> Option<(usize, usize, usize)> {
    let fixed = STAT_LEN + hash_len + 2;
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
    if s.peek(size)?.get(name_at + n) != Some(&0) {
        return None;
    }
    Some((name_at, n, size))
}

/// git's variable-length integer (`varint.c`): seven bits a byte, most significant first, the high bit
/// set on every byte but the last, and one added at each continuation. The value and how many bytes it
/// took; `None` past the end of `b` or when it would not fit in 64 bits (git's overflow check).
fn varint(b: &[u8]) -> Option<(usize, usize)> {
    let mut c = *b.first()?;
    let mut val = u64::from(c & 127);
    let mut used = 1;
    while c & 128 != 0 {
        val = val.checked_add(1)?;
        if val >> 57 != 0 {
            return None;
        }
        c = *b.get(used)?;
        used += 1;
        val = (val << 7) | u64::from(c & 127);
    }
    Some((usize::try_from(val).ok()?, used))
}

/// A version 4 entry at the start of `w`, as far as `w` holds it.
enum V4 {
    /// How many bytes of the previous path it keeps, where the bytes it adds start in `w` and how many
    /// there are (a NUL follows them), and the entry's size (version 4 has no padding).
    Entry { keep: usize, added_at: usize, added: usize, size: usize },
    /// `w` ends before the entry does.
    Short,
    /// Not an entry this reader handles.
    Bad,
}

/// The version 4 entry at the start of `w`, its path stored against a previous path of `prev` bytes
/// (`None` for the file's first entry, whose stored count git ignores).
fn entry_v4(w: &[u8], hash_len: usize, prev: Option<usize>) -> V4 {
    let fixed = STAT_LEN + hash_len + 2;
    let Some(flags) = be16(w, fixed - 2) else { return V4::Short };
    let mut name_at = fixed;
    if flags & EXTENDED != 0 {
        let Some(ext) = be16(w, fixed) else { return V4::Short };
        if ext & !(INTENT_TO_ADD | SKIP_WORKTREE) != 0 {
            return V4::Bad;
        }
        name_at += 2;
    }
    // How many bytes to drop from the end of the previous path: a varint (at most 10 bytes in 64 bits).
    let tail = w.get(name_at..).unwrap_or_default();
    let Some((strip, used)) = varint(tail) else { return if tail.len() > 10 { V4::Bad } else { V4::Short } };
    let keep = match prev.map(|len| len.checked_sub(strip)) {
        Some(Some(keep)) => keep,
        Some(None) => return V4::Bad,
        None => 0,
    };
    let added_at = name_at + used;
    // The name field counts the whole path, kept bytes included, unless it is too long to count.
    let n = usize::from(flags & NAME_MASK);
    let added = if n < usize::from(NAME_MASK) {
        let Some(added) = n.checked_sub(keep) else { return V4::Bad };
        added
    } else {
        let Some(added) = w.get(added_at..).and_then(|r| r.find_byte(0)) else { return V4::Short };
        added
    };
    match w.get(added_at + added) {
        Some(0) => V4::Entry { keep, added_at, added, size: added_at + added + 1 },
        Some(_) => V4::Bad,
        None => V4::Short,
    }
}

/// Version 4's entries, `count` of them from the stream's position, as runs: each path is decoded from
/// the one before it, and each run remembers the path before its first entry.
fn runs_v4(s: &mut Stream<'_>, hash_len: usize, count: usize) -> Option<Runs> {
    let mut runs = Runs::default();
    let (mut prev, mut path) = (Vec::new(), Vec::new());
    for i in 0..count {
        let prev_len = (i > 0).then_some(prev.len());
        let (keep, added_at, added, size) = loop {
            match entry_v4(&s.buf[s.lo..s.hi], hash_len, prev_len) {
                V4::Entry { keep, added_at, added, size } => break (keep, added_at, added, size),
                V4::Bad => return None,
                V4::Short => {
                    // Read more of the file; at its end the entry is cut short.
                    let (have, rest) = (s.hi - s.lo, s.len - s.at);
                    if have >= rest {
                        return None;
                    }
                    s.peek(rest.min(have + CHUNK))?;
                }
            }
        };
        let w = &s.buf[s.lo..s.lo + size];
        path.clear();
        path.extend_from_slice(prev.get(..keep)?);
        path.extend_from_slice(w.get(added_at..added_at + added)?);
        let before = runs.len();
        runs.push(&path, u32::try_from(s.at).ok()?, u32::try_from(size).ok()?)?;
        if runs.len() > before && i > 0 {
            runs.0.last_mut()?.before = Some(BString::from(prev.as_slice()));
        }
        s.consume(size);
        std::mem::swap(&mut prev, &mut path);
    }
    Some(runs)
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
        let Located { version, runs, tree } = l;
        RawIndex { source, hash_len: kind.len_in_bytes(), version, runs, tree }
    }

    /// The entries of `run`, read from the file in one read: each one's name (its path without the
    /// run's directory) and fields. `None` when they cannot be read or are not what the file held when
    /// it was located.
    pub fn files(&self, run: &Run) -> Option<Vec<(BString, RawEntry)>> {
        let len = usize::try_from(run.len).ok()?;
        let mut buf = vec![0; len];
        self.source.read_at(&mut buf, u64::from(run.at))?;
        // Every byte is in the buffer already: the stream never reads.
        let mut nothing: &[u8] = &[];
        let mut s = Stream { reader: &mut nothing, buf, lo: 0, hi: len, at: 0, len };
        let mut out = Vec::with_capacity(run.count);
        // Version 4: the path before the entry being read.
        let mut prev: Option<Vec<u8>> = run.before.as_ref().map(|b| b.to_vec());
        for _ in 0..run.count {
            let (name, fields, size) = if self.version == 4 {
                let w = &s.buf[s.lo..s.hi];
                let V4::Entry { keep, added_at, added, size } = entry_v4(w, self.hash_len, prev.as_ref().map(Vec::len))
                else {
                    return None;
                };
                let entry = s.peek(size)?;
                let mut path = prev.take().unwrap_or_default();
                path.truncate(keep);
                path.extend_from_slice(entry.get(added_at..added_at + added)?);
                let name = BString::from(path.strip_prefix(run.dir.as_slice())?);
                let fields = self.fields(entry)?;
                prev = Some(path);
                (name, fields, size)
            } else {
                let (name_at, n, size) = next_entry(&mut s, self.hash_len, self.version)?;
                let entry = s.peek(size)?;
                let name = BString::from(entry.get(name_at..name_at + n)?.strip_prefix(run.dir.as_slice())?);
                (name, self.fields(entry)?, size)
            };
            if name.contains(&b'/') {
                return None;
            }
            out.push((name, fields));
            s.consume(size);
        }
        (s.at == s.len).then_some(out)
    }

    /// An entry's fields from its first bytes.
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
}

/// The entries wholly in `w` (the file's bytes from offset `at`), at most `left` of them, added to `runs`:
/// how many bytes they take. Stops before an entry that is not wholly there or whose name is too long for
/// its length field (the stream reads those); `None` for an entry [`next_entry`] would refuse.
fn scan(w: &[u8], at: usize, hash_len: usize, version: u32, runs: &mut Runs, left: &mut usize) -> Option<usize> {
    let fixed = STAT_LEN + hash_len + 2;
    let mut p = 0;
    while *left > 0 {
        let Some(flags) = be16(w, p + fixed - 2) else { break };
        let mut name_at = fixed;
        if flags & EXTENDED != 0 {
            let Some(ext) = be16(w, p + fixed) else { break };
            if version < 3 || ext & !(INTENT_TO_ADD | SKIP_WORKTREE) != 0 {
                return None;
            }
            name_at += 2;
        }
        let n = usize::from(flags & NAME_MASK);
        if n == usize::from(NAME_MASK) {
            break;
        }
        let size = (name_at + n + 8) & !7;
        let Some(entry) = w.get(p..p + size) else { break };
        if entry[name_at + n] != 0 {
            return None;
        }
        runs.push(&entry[name_at..name_at + n], u32::try_from(at + p).ok()?, u32::try_from(size).ok()?)?;
        p += size;
        *left -= 1;
    }
    Some(p)
}

/// Version 2 and 3's entries, `count` of them from the stream's position, as runs.
fn runs_v2(s: &mut Stream<'_>, hash_len: usize, version: u32, count: usize) -> Option<Runs> {
    let mut runs = Runs::default();
    let mut left = count;
    while left > 0 {
        // One entry through the stream, which reads more of the file and handles long names...
        let (name_at, n, size) = next_entry(s, hash_len, version)?;
        let start = u32::try_from(s.at).ok()?;
        runs.push(s.peek(size)?.get(name_at..name_at + n)?, start, u32::try_from(size).ok()?)?;
        s.consume(size);
        left -= 1;
        // ...then every entry already in its buffer, without the stream's checks and calls per entry.
        let taken = scan(&s.buf[s.lo..s.hi], s.at, hash_len, version, &mut runs, &mut left)?;
        s.consume(taken);
    }
    Some(runs)
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
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = usize::try_from(be32(head, 8)?).ok()?;
    s.consume(12);
    let runs =
        if version == 4 { runs_v4(&mut s, hash_len, count)? } else { runs_v2(&mut s, hash_len, version, count)? };
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
    // Entries are taken to be in git's order (by path, then stage), as git and gix take them; the walk
    // gives up on what it finds out of order.
    Some(Located { version, runs: runs.0, tree })
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

    /// Every entry of `r`, run by run: `(path, fields)`; `None` when a run cannot be read.
    fn entries(r: &RawIndex) -> Option<Vec<(String, RawEntry)>> {
        let mut out = Vec::new();
        for run in &r.runs {
            for (name, e) in r.files(run)? {
                out.push((format!("{}{name}", run.dir), e));
            }
        }
        Some(out)
    }

    /// The word-at-a-time prefix check answers as the slice method does, at every length and for a
    /// difference at every position.
    #[test]
    fn starts_with_is_the_slice_method() {
        let path: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
        for len in 0..=path.len() + 1 {
            let mut prefix: Vec<u8> = path.iter().copied().cycle().take(len).collect();
            assert_eq!(starts_with(&path, &prefix), path.starts_with(&prefix), "{len}");
            for at in 0..len {
                prefix[at] ^= 0x20;
                assert!(!starts_with(&path, &prefix), "{len} {at}");
                prefix[at] ^= 0x20;
            }
        }
    }

    /// An index several times the streaming buffer, with entries across its boundaries, a path longer
    /// than an entry's name field can count (4,095 bytes) and an optional extension to step over: every
    /// entry's path, mode, id and stage is read as `git ls-files --stage` lists it, from the file and from
    /// the same bytes in memory, in one run per stretch of entries in one directory.
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
        let listed = f.git(&["ls-files", "--stage", "-z"]);
        let want: Vec<&str> = listed.split('\0').filter(|l| !l.is_empty()).collect();
        assert!(want.iter().any(|l| l.ends_with(&long)));
        // As git wrote it (version 2), then in version 4 (compressed paths, no padding), then version 4 in
        // blocks for threaded reading (`index.threads`: each block's first path is stored whole, and the
        // EOIE and IEOT extensions say where the blocks are).
        for (version, threads) in [(2u32, "1"), (4, "1"), (4, "4")] {
            let threads = format!("index.threads={threads}");
            f.git(&["-c", &threads, "update-index", "--force-write-index", "--index-version", &version.to_string()]);
            let data = std::fs::read(&path).unwrap();
            assert_eq!(data[4..8], version.to_be_bytes());
            let blocks = data.windows(4).any(|w| w == b"IEOT") && data.windows(4).any(|w| w == b"EOIE");
            assert_eq!(blocks, threads.ends_with('4'), "{threads}");
            assert!(data.len() > 3 * CHUNK, "the index is {} bytes", data.len());
            assert!(data.windows(4).any(|w| w == b"UNTR"), "git kept the untracked cache");
            read_whole(&path, data, &want, &long);
        }
    }

    fn read_whole(path: &std::path::Path, data: Vec<u8>, want: &[&str], long: &str) {
        let kind = gix::hash::Kind::Sha1;
        for r in [RawIndex::read(path, kind).expect("read from the file"), RawIndex::parse(data, kind).expect("parsed")]
        {
            assert!(r.tree.is_some());
            let got: Vec<String> = entries(&r)
                .expect("every run is read")
                .into_iter()
                .map(|(path, e)| format!("{:06o} {} {}\t{path}", e.mode, e.id, e.stage))
                .collect();
            assert_eq!(got, want);
            // One run per directory here: the top (README.md, a.txt), the long path's, 37 directories of
            // files, state/.
            let dirs: Vec<&str> = r.runs.iter().map(|run| run.dir.to_str().unwrap()).collect();
            assert_eq!(dirs.len(), 40, "{dirs:?}");
            assert_eq!((dirs[0], dirs[2], dirs[38], dirs[39]), ("", "dir00/", "dir36/", "state/"));
            assert_eq!(dirs[1], &long[..long.len() - "x.txt".len()]);
            assert_eq!(r.runs.iter().map(|run| run.count).sum::<usize>(), want.len());
        }
    }

    /// git's varint (`varint.c`), at the edges of each byte count, and the overflow git refuses.
    #[test]
    fn varints_decode_as_git_encodes_them() {
        // git's encode_varint.
        fn encode(mut value: u64) -> Vec<u8> {
            let mut out = vec![(value & 127) as u8];
            while {
                value >>= 7;
                value != 0
            } {
                value -= 1;
                out.insert(0, 128 | (value & 127) as u8);
            }
            out
        }
        assert_eq!(encode(128), [0x80, 0x00]);
        for v in [0u64, 1, 127, 128, 129, 16_383, 16_511, 16_512, 1 << 20, u64::from(u32::MAX), 1 << 62] {
            let mut bytes = encode(v);
            assert_eq!(varint(&bytes), Some((usize::try_from(v).unwrap(), bytes.len())), "{v}");
            bytes.push(0x55);
            assert_eq!(varint(&bytes).map(|(_, used)| used), Some(bytes.len() - 1), "{v}: stops at its end");
            assert_eq!(varint(&bytes[..bytes.len() - 2]), None, "{v}: cut short");
        }
        assert_eq!(varint(&[0xff; 11]), None, "past 64 bits");
        assert_eq!(varint(&[]), None);
    }

    /// A real index (version 3: a cache-tree and an intent-to-add entry; and the same in version 4), then
    /// every truncation of it and every single-byte corruption of its first 4 KiB: reading never panics,
    /// nor does reading any entry of what was accepted; the intact file reads back every entry git lists.
    #[test]
    fn any_truncation_or_corruption_is_refused_or_read_without_panicking() {
        truncation_and_corruption(3);
        truncation_and_corruption(4);
    }

    fn truncation_and_corruption(version: u32) {
        let f = Fixture::new();
        for (p, c) in [("a/b.txt", "b"), ("a/c.txt", "c"), ("d.txt", "d"), ("e/f/g.txt", "g")] {
            f.write(p, c);
        }
        f.git(&["add", "-A"]);
        f.git(&["commit", "-qm", "one"]);
        f.write("later.txt", "l");
        f.git(&["add", "-N", "later.txt"]);
        if version == 4 {
            f.git(&["update-index", "--index-version", "4"]);
        }
        let kind = gix::hash::Kind::Sha1;
        let data = std::fs::read(f.dir.join(".git/index")).unwrap();
        assert_eq!(data[4..8], version.to_be_bytes());
        let whole = RawIndex::parse(data.clone(), kind).expect("git's own index is read");
        let all = entries(&whole).expect("read");
        let paths: Vec<&str> = all.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths.join("\n"), f.git(&["ls-files"]));
        assert!(whole.tree.is_some(), "the cache-tree is read");
        assert!(all.iter().any(|(p, e)| p == "later.txt" && e.intent_to_add));
        let touch = |r: &RawIndex| {
            let _ = entries(r);
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
