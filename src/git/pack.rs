//! Many blobs written as one pack (and its index) instead of one loose object file each.
//!
//! A merged frame stores one blob per state file it changed. Loose, each is a temporary file created and
//! renamed into the object store; on a disk where creating a file is slow that was a third of the frame's
//! file creations. A [`Batch`] of at least [`PACK_FROM`] blobs is streamed into one pack instead, the way
//! `git index-pack` leaves a fetched pack: `objects/pack/tmp_neighbor_pack_<pid>_*` while it is written,
//! then renamed to `pack-<checksum>.pack`, and `.idx` last (git looks a pack up by its index, so a pack is
//! never seen before it is whole). Killed before the renames, what is left is a `tmp_` file that git's own
//! `prune` removes and the next `merge-frame` sweeps; nothing refers to its objects yet.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use gix::zlib::stream::deflate::{Compress, FlushCompress};

use super::Repo;
use crate::error::{Error, IoContext};

/// From how many blobs a batch is a pack: git's own default for the same choice when it fetches
/// (`transfer.unpackLimit`, 100: fewer objects are stored loose).
const PACK_FROM: usize = 100;

/// How temporary files of ours in `objects/pack` begin (git's `prune` removes stale `tmp_*` files
/// there); the writer's pid follows, then what the file is.
const TEMP_PREFIX: &str = "tmp_neighbor_";

/// Blobs written together: loose, or streamed into one pack when there are many.
pub enum Batch<'a> {
    /// One loose object each, written through gix.
    Loose(&'a Repo),
    /// One pack, readable once [`Batch::finish`] returns.
    Pack(Box<PackWriter>),
}

impl<'a> Batch<'a> {
    /// A batch for about `expected` blobs.
    pub fn new(repo: &'a Repo, expected: usize) -> Result<Batch<'a>, Error> {
        if expected < PACK_FROM {
            return Ok(Batch::Loose(repo));
        }
        Ok(Batch::Pack(Box::new(PackWriter::new(&objects_dir(repo))?)))
    }

    /// Store `bytes` as a blob; its id. In a pack, it can be read once the batch is finished.
    pub fn store(&mut self, bytes: &[u8]) -> Result<gix::ObjectId, Error> {
        match self {
            Batch::Loose(repo) => super::blob::store(repo, bytes),
            Batch::Pack(w) => w.add_blob(bytes),
        }
    }

    /// Make every blob stored readable (the pack and its index renamed into place). A pack's blobs come
    /// back as [`Written`], to be read again without mapping the pack.
    pub fn finish(self) -> Result<Option<Written>, Error> {
        match self {
            Batch::Loose(_) => Ok(None),
            Batch::Pack(w) => w.finish(),
        }
    }
}

/// The repository's object directory (where gix reads and writes objects).
fn objects_dir(repo: &Repo) -> PathBuf {
    repo.gix.objects.store_ref().path().to_path_buf()
}

/// Remove the temporary packs, indexes, markers and `.keep` files that writers of ours which are no longer
/// running left in `repo`'s `objects/pack` (killed, their pid gone). A file whose writer still runs is
/// left alone.
pub fn sweep_temporaries(repo: &Repo) -> Vec<PathBuf> {
    let dir = objects_dir(repo).join("pack");
    let mut removed = Vec::new();
    for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("pack-") && name.ends_with(".keep") {
            // Ours, from a writer that is gone (git's own say who wrote them too, and are left alone).
            let ours = std::fs::read_to_string(e.path())
                .ok()
                .and_then(|t| t.strip_prefix(KEEP_MARK).and_then(|rest| rest.trim().parse::<i32>().ok()));
            if ours.is_some_and(|pid| !pid_alive(pid)) && std::fs::remove_file(e.path()).is_ok() {
                removed.push(e.path());
            }
            continue;
        }
        let Some((pid, what)) = name.strip_prefix(TEMP_PREFIX).and_then(|rest| rest.split_once('_')) else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else { continue };
        if pid_alive(pid) {
            continue;
        }
        // A pack moved into place whose index never followed: nothing can have read from it.
        if let Some(hex) = what.strip_prefix(RENAMING)
            && hex.len() == 40
            && hex.bytes().all(|b| b.is_ascii_hexdigit())
            && !dir.join(format!("pack-{hex}.idx")).exists()
        {
            let pack = dir.join(format!("pack-{hex}.pack"));
            if std::fs::remove_file(&pack).is_ok() {
                removed.push(pack);
            }
        }
        if std::fs::remove_file(e.path()).is_ok() {
            removed.push(e.path());
        }
    }
    removed
}

/// What a `.keep` file of ours says, before the writer's pid.
const KEEP_MARK: &str = "git-neighbor merge-frame ";

/// After [`TEMP_PREFIX`] and the pid: the marker of a pack being renamed into place (its checksum follows).
const RENAMING: &str = "renaming_";

/// Whether process `pid` exists (a pid that cannot be signalled for lack of permission exists).
fn pid_alive(pid: i32) -> bool {
    pid > 0 && !matches!(nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None), Err(nix::errno::Errno::ESRCH))
}

/// The object type number of a blob in a pack entry's header.
const OBJ_BLOB: u8 = 3;

/// A pack being written: a temporary file in `objects/pack`, entries appended as blobs come.
pub struct PackWriter {
    pack_dir: PathBuf,
    tmp: PathBuf,
    out: Counting,
    /// One compressor for the whole pack (gix sets one up per loose object: 380 KB each).
    deflate: Compress,
    /// The entry being written, kept for its allocation.
    body: Vec<u8>,
    /// (id, offset of its entry, CRC-32 of its entry), in the order written.
    entries: Vec<(gix::ObjectId, u64, u32)>,
    /// Where each blob's compressed bytes are, to read them back (and which blobs are in already).
    located: std::collections::HashMap<gix::ObjectId, Located>,
    done: bool,
}

/// The pack file with the number of bytes written so far.
struct Counting {
    /// Taken by [`PackWriter::finish`].
    file: Option<BufWriter<File>>,
    written: u64,
}

impl Counting {
    fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.as_mut().ok_or_else(|| std::io::Error::other("the pack is finished"))?.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

impl PackWriter {
    /// Start a pack in `objects/pack` under `objects`.
    pub fn new(objects: &Path) -> Result<PackWriter, Error> {
        let pack_dir = objects.join("pack");
        std::fs::create_dir_all(&pack_dir).ctx(|| format!("cannot create {}", pack_dir.display()))?;
        let tmp = pack_dir.join(temp_name("pack"));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&tmp)
            .ctx(|| format!("cannot create {}", tmp.display()))?;
        let mut w = PackWriter {
            pack_dir,
            tmp,
            out: Counting { file: Some(BufWriter::with_capacity(64 << 10, file)), written: 0 },
            // Level 1, as git and gix write loose objects (`core.looseCompression`): what these blobs
            // would otherwise have been. A repack may compress them harder later.
            deflate: Compress::new(gix::zlib::Compression::BEST_SPEED),
            body: Vec::new(),
            entries: Vec::new(),
            located: Default::default(),
            done: false,
        };
        // The object count is written when it is known (finish).
        let mut header = Vec::with_capacity(12);
        header.extend_from_slice(b"PACK");
        header.extend_from_slice(&2u32.to_be_bytes());
        header.extend_from_slice(&0u32.to_be_bytes());
        w.out.write_all(&header).map_err(|e| w.io_error(e))?;
        Ok(w)
    }

    fn io_error(&self, e: std::io::Error) -> Error {
        Error::new(format!("cannot write {}: {e}", self.tmp.display()))
    }

    /// Append blob `bytes`; its id. A blob already in this pack is not written twice.
    pub fn add_blob(&mut self, bytes: &[u8]) -> Result<gix::ObjectId, Error> {
        let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, bytes)
            .map_err(|e| Error::new(format!("cannot hash a blob: {e}")))?;
        if self.located.contains_key(&id) {
            return Ok(id);
        }
        self.body.clear();
        let header = entry_header(OBJ_BLOB, bytes.len() as u64);
        self.body.extend_from_slice(&header);
        deflate_into(&mut self.deflate, bytes, &mut self.body)?;
        let mut crc = crc32fast::Hasher::new();
        crc.update(&self.body);
        let offset = self.out.written;
        let body = std::mem::take(&mut self.body);
        let res = self.out.write_all(&body);
        self.body = body;
        res.map_err(|e| self.io_error(e))?;
        self.entries.push((id, offset, crc.finalize()));
        let len = self.body.len() - header.len();
        self.located.insert(id, Located { at: offset + header.len() as u64, len, size: bytes.len() });
        Ok(id)
    }

    /// Write the object count and checksum, the index beside it, and rename both into place. Returns its
    /// blobs, to be read back (`None` when no blob was added: nothing is left behind).
    pub fn finish(mut self) -> Result<Option<Written>, Error> {
        self.done = true;
        if self.entries.is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
            return Ok(None);
        }
        let tmp = self.tmp.clone();
        let file = self.out.file.take().map(BufWriter::into_inner);
        let mut file = match file {
            Some(Ok(f)) => f,
            Some(Err(e)) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(Error::new(format!("cannot write {}: {}", tmp.display(), e.error())));
            }
            None => return Err(Error::new("internal error: a pack finished twice")),
        };
        let keep = match self.finish_inner(&mut file) {
            Ok(keep) => keep,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        // The file written is the pack now in place (renamed, the same file): its blobs are read through it.
        let located = std::mem::take(&mut self.located);
        Ok(Some(Written { file, located, keep }))
    }

    /// Returns the `.keep` file made for the pack (`None` when one was there already).
    fn finish_inner(&mut self, file: &mut File) -> Result<Option<PathBuf>, Error> {
        let count = u32::try_from(self.entries.len()).map_err(|_| Error::new("too many objects for one pack"))?;
        let tmp = self.tmp.clone();
        let io = |e: std::io::Error| Error::new(format!("cannot write {}: {e}", tmp.display()));
        file.seek(SeekFrom::Start(8)).map_err(io)?;
        file.write_all(&count.to_be_bytes()).map_err(io)?;
        // The checksum covers the whole file as it now is: read it back once.
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
        let mut buf = vec![0u8; 64 << 10];
        loop {
            let n = file.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        let checksum = hasher.try_finalize().map_err(|e| Error::new(format!("cannot hash {}: {e}", tmp.display())))?;
        file.seek(SeekFrom::End(0)).map_err(io)?;
        file.write_all(checksum.as_bytes()).map_err(io)?;

        let idx = index_bytes(&mut self.entries, &checksum)?;
        let hex = checksum.to_hex().to_string();
        let tmp_idx = self.pack_dir.join(temp_name("idx"));
        let written = (|| -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp_idx)?;
            f.write_all(&idx)?;
            read_only(&f)?;
            read_only(file)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&tmp_idx);
            return Err(Error::new(format!("cannot write {}: {e}", tmp_idx.display())));
        }
        crate::failpoint::hit("pack.written");
        let pack = self.pack_dir.join(format!("pack-{hex}.pack"));
        let index = self.pack_dir.join(format!("pack-{hex}.idx"));
        // The marker names the pack while it may be in place without its index: killed in between, the
        // sweep knows that pack is ours and unused (git would warn about it forever, and `gc` keeps it).
        let marker = self.pack_dir.join(format!("{TEMP_PREFIX}{}_{RENAMING}{hex}", std::process::id()));
        // Nothing refers to the blobs until the frame's commit point: a `git repack -a -d` meanwhile would
        // drop them with the pack. A `.keep` file keeps the pack out of any repack, as `git fetch` does
        // for its pack until its refs are written; [`Written`] removes it when dropped.
        let keep_path = self.pack_dir.join(format!("pack-{hex}.keep"));
        let mut keep = None;
        let renamed = File::create(&marker)
            .and_then(|_| std::fs::rename(&self.tmp, &pack))
            .and_then(|()| {
                crate::failpoint::hit("pack.pack-renamed");
                match std::fs::OpenOptions::new().write(true).create_new(true).open(&keep_path) {
                    Ok(mut f) => {
                        keep = Some(keep_path.clone());
                        f.write_all(format!("{KEEP_MARK}{}\n", std::process::id()).as_bytes())
                    }
                    // One is there already: the same pack, kept by someone else.
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
                    Err(e) => Err(e),
                }
            })
            .and_then(|()| std::fs::rename(&tmp_idx, &index));
        if let Err(e) = renamed {
            let _ = std::fs::remove_file(&tmp_idx);
            if !index.exists() {
                let _ = std::fs::remove_file(&pack);
            }
            if let Some(k) = &keep {
                let _ = std::fs::remove_file(k);
            }
            let _ = std::fs::remove_file(&marker);
            return Err(Error::new(format!("cannot move a pack into {}: {e}", self.pack_dir.display())));
        }
        let _ = std::fs::remove_file(&marker);
        Ok(keep)
    }
}

impl Drop for PackWriter {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// A temporary file's name in `objects/pack`: ours (the prefix), this process's, unique.
fn temp_name(what: &str) -> String {
    format!("{TEMP_PREFIX}{}_{what}_{}", std::process::id(), crate::building::state_dir::unique())
}

/// Append `input` to `out` as one whole zlib stream.
fn deflate_into(c: &mut Compress, input: &[u8], out: &mut Vec<u8>) -> Result<(), Error> {
    c.reset();
    let mut buf = [0u8; 16 << 10];
    let mut rest = input;
    loop {
        let (before_in, before_out) = (c.total_in(), c.total_out());
        let status = c
            .compress(rest, &mut buf, FlushCompress::Finish)
            .map_err(|e| Error::new(format!("cannot compress a blob: {e}")))?;
        let consumed = usize::try_from(c.total_in() - before_in).unwrap_or(rest.len()).min(rest.len());
        let produced = usize::try_from(c.total_out() - before_out).unwrap_or(0).min(buf.len());
        rest = &rest[consumed..];
        out.extend_from_slice(&buf[..produced]);
        match status {
            gix::zlib::Status::StreamEnd => return Ok(()),
            _ if consumed == 0 && produced == 0 => {
                return Err(Error::new("cannot compress a blob: the compressor made no progress"));
            }
            _ => {}
        }
    }
}

/// Where one blob's compressed bytes are in the pack, and its size.
struct Located {
    at: u64,
    len: usize,
    size: usize,
}

/// The blobs of a pack this process wrote, read back by reading their bytes from the file: gix would
/// map the whole pack, and every page of it would count against the process (a 1,000-delta frame's
/// peak grew by the pack's 4 MB that way). Read through a [`Reader`], one per thread.
pub struct Written {
    file: File,
    located: std::collections::HashMap<gix::ObjectId, Located>,
    /// The pack's `.keep` file, removed when this is dropped: after the frame's commit point the refs
    /// keep its blobs (or, had it failed, nothing needs them).
    keep: Option<PathBuf>,
}

impl Drop for Written {
    fn drop(&mut self) {
        if let Some(k) = &self.keep {
            let _ = std::fs::remove_file(k);
        }
    }
}

impl Written {
    /// A reader of this pack's blobs, for one thread.
    pub fn reader(&self) -> Reader<'_> {
        Reader { pack: self, inflate: None }
    }
}

/// Reads blobs back from a [`Written`] pack, reusing one decompressor.
pub struct Reader<'a> {
    pack: &'a Written,
    inflate: Option<gix::zlib::Inflate>,
}

impl Reader<'_> {
    /// Blob `id`'s bytes if it is in this pack (`None` if it is not: read it from the store).
    pub fn read(&mut self, id: gix::ObjectId) -> Result<Option<Vec<u8>>, Error> {
        use std::os::unix::fs::FileExt;
        let Some(l) = self.pack.located.get(&id) else { return Ok(None) };
        let corrupt = |why: String| Error::new(format!("cannot read blob {id} back from the pack just written: {why}"));
        let mut compressed = vec![0u8; l.len];
        self.pack.file.read_exact_at(&mut compressed, l.at).map_err(|e| corrupt(e.to_string()))?;
        let mut out = vec![0u8; l.size];
        let inflate = self.inflate.get_or_insert_with(Default::default);
        inflate.reset();
        let (status, _, written) = inflate.once(&compressed, &mut out).map_err(|e| corrupt(e.to_string()))?;
        if status != gix::zlib::Status::StreamEnd || written != l.size {
            return Err(corrupt(format!("{written} bytes where {} were written", l.size)));
        }
        Ok(Some(out))
    }
}

/// Packs, as git writes them, are read-only.
fn read_only(f: &File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(std::fs::Permissions::from_mode(0o444))
}

/// A pack entry's header: the type in bits 4–6 of the first byte, the size in its low four bits and
/// seven more bits per following byte, the high bit saying another byte follows.
fn entry_header(kind: u8, mut size: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    let mut byte = (kind << 4) | (size & 0x0f) as u8;
    size >>= 4;
    while size > 0 {
        out.push(byte | 0x80);
        byte = (size & 0x7f) as u8;
        size >>= 7;
    }
    out.push(byte);
    out
}

/// A version 2 pack index for `entries` (sorted here by id): the fan-out table, the ids, their CRC-32s,
/// their offsets (those past 2 GiB in a table of 64-bit ones), the pack's checksum and the index's own.
fn index_bytes(entries: &mut [(gix::ObjectId, u64, u32)], pack_checksum: &gix::ObjectId) -> Result<Vec<u8>, Error> {
    entries.sort_by_key(|e| e.0);
    let mut out = Vec::with_capacity(8 + 256 * 4 + entries.len() * 28 + 40);
    out.extend_from_slice(&[0xff, b't', b'O', b'c']);
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in entries.iter() {
        fanout[usize::from(id.as_bytes()[0])] += 1;
    }
    let mut total = 0u32;
    for n in fanout {
        total += n;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in entries.iter() {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, _, crc) in entries.iter() {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large: Vec<u64> = Vec::new();
    for (_, offset, _) in entries.iter() {
        let small = match u32::try_from(*offset) {
            Ok(o) if o < 0x8000_0000 => o,
            _ => {
                let at = u32::try_from(large.len()).map_err(|_| Error::new("too many large pack offsets"))?;
                large.push(*offset);
                0x8000_0000 | at
            }
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for o in large {
        out.extend_from_slice(&o.to_be_bytes());
    }
    out.extend_from_slice(pack_checksum.as_bytes());
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(&out);
    let own = hasher.try_finalize().map_err(|e| Error::new(format!("cannot hash a pack index: {e}")))?;
    out.extend_from_slice(own.as_bytes());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_headers_carry_type_and_size() {
        assert_eq!(entry_header(OBJ_BLOB, 0), vec![0x30]);
        assert_eq!(entry_header(OBJ_BLOB, 15), vec![0x3f]);
        // 16 = 0b1_0000: low four bits 0, then 1 in the next byte.
        assert_eq!(entry_header(OBJ_BLOB, 16), vec![0xb0, 0x01]);
        // 12,000 = 0x2ee0: low nibble 0; 0x2ee = 750 = 0b101_1101110 → 0x6e|0x80, 0x05.
        assert_eq!(entry_header(OBJ_BLOB, 12_000), vec![0xb0, 0xee, 0x05]);
    }

    #[test]
    fn an_index_sorts_by_id_and_keeps_offsets_past_2_gib_in_the_large_table() {
        let id = |b: u8| gix::ObjectId::from_bytes_or_panic(&[b; 20]);
        let mut entries = vec![(id(0xee), 3 << 30, 7), (id(0x01), 12, 9)];
        let idx = index_bytes(&mut entries, &id(0x55)).expect("index");
        let be32 = |at: usize| u32::from_be_bytes(idx[at..at + 4].try_into().expect("4 bytes"));
        assert_eq!(&idx[..8], &[0xff, b't', b'O', b'c', 0, 0, 0, 2]);
        // Fan-out: one id up to 0x01, both from 0xee.
        assert_eq!((be32(8), be32(8 + 4), be32(8 + 4 * 0xed), be32(8 + 4 * 0xee), be32(8 + 4 * 255)), (0, 1, 1, 2, 2));
        let ids = 8 + 256 * 4;
        assert_eq!(&idx[ids..ids + 20], &[0x01; 20]);
        let crcs = ids + 40;
        assert_eq!((be32(crcs), be32(crcs + 4)), (9, 7));
        let offsets = crcs + 8;
        assert_eq!((be32(offsets), be32(offsets + 4)), (12, 0x8000_0000));
        let large = offsets + 8;
        assert_eq!(u64::from_be_bytes(idx[large..large + 8].try_into().expect("8 bytes")), 3 << 30);
        assert_eq!(&idx[large + 8..large + 28], &[0x55; 20]);
        assert_eq!(idx.len(), large + 8 + 40);
    }
}
