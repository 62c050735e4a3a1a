//! Blobs as values: write bytes into the object store, read them back by id (one object or many, all
//! in-process). The task plane keeps each task as one blob behind one ref.

use super::Repo;
use crate::error::Error;

/// Store `bytes` as a blob in-process (a loose object, as `hash-object -w` writes it) and return its id.
pub fn store(repo: &Repo, bytes: &[u8]) -> Result<gix::ObjectId, Error> {
    super::retrying_write(|| repo.gix.write_blob(bytes))
        .map(gix::Id::detach)
        .map_err(|e| Error::new(format!("cannot write a blob: {e}")))
}

/// The largest file [`from_file_if`] reads: a file in a checkout may be anything, and one far bigger than
/// any blob is not read whole to find out that it is not the blob (the object store's copy is read instead).
const FROM_FILE_MAX: u64 = 16 << 20;

/// The bytes of the regular file at `path` when they are exactly blob `id` (hashed as git hashes a blob,
/// no filters applied); `None` when they are not, or the file is missing, not a regular file, a symlink
/// or unreadable. A checked-out file read this way needs no object lookup and maps nothing of a pack, and
/// what is returned is the blob whatever the path was.
pub fn from_file_if(path: &std::path::Path, id: gix::ObjectId) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    // Never a symlink at the end, and never waiting on a FIFO: what was opened is checked before reading.
    let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK;
    let f = std::fs::OpenOptions::new().read(true).custom_flags(flags.bits()).open(path).ok()?;
    let meta = f.metadata().ok()?;
    if !meta.is_file() || meta.len() > FROM_FILE_MAX {
        return None;
    }
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).ok()?.saturating_add(1));
    (&f).take(meta.len().saturating_add(1)).read_to_end(&mut bytes).ok()?;
    let got = gix::objs::compute_hash(id.kind(), gix::objs::Kind::Blob, &bytes).ok()?;
    (got == id).then_some(bytes)
}

/// The bytes of blob `id`, read in-process: a loose object through this thread's one zlib stream
/// ([`Loose`]), anything else (packed, in an alternate) through gix.
pub fn bytes_of(repo: &Repo, id: gix::ObjectId) -> Result<Vec<u8>, Error> {
    match object(repo, id)? {
        (gix::object::Kind::Blob, bytes) => Ok(bytes),
        (kind, _) => Err(not_a_blob(id, kind)),
    }
}

fn not_a_blob(id: gix::ObjectId, kind: gix::object::Kind) -> Error {
    Error::new(format!("{id} is a {kind}, not a blob"))
}

/// Blob `id`'s bytes when it has at most `max` bytes (`None` when it has more), read as [`bytes_of`] reads
/// them; a larger loose blob is not inflated past its header.
pub fn bytes_at_most(repo: &Repo, id: gix::ObjectId, max: u64) -> Result<Option<Vec<u8>>, Error> {
    match loose_at_most(repo, id, max)? {
        Some((gix::object::Kind::Blob, bytes)) => return Ok(bytes),
        Some((kind, _)) => return Err(not_a_blob(id, kind)),
        None => {}
    }
    let header = repo.gix.find_header(id).map_err(|e| Error::new(format!("cannot read object {id}: {e}")))?;
    if header.kind() != gix::object::Kind::Blob {
        return Err(not_a_blob(id, header.kind()));
    }
    if header.size() > max {
        return Ok(None);
    }
    Ok(Some(packed(repo, id)?.1))
}

/// Object `id`'s kind and bytes, read as [`bytes_of`] reads a blob: loose through this thread's one zlib
/// stream, anything else through gix.
pub fn object(repo: &Repo, id: gix::ObjectId) -> Result<(gix::object::Kind, Vec<u8>), Error> {
    match loose(repo, id)? {
        Some(found) => Ok(found),
        None => packed(repo, id),
    }
}

/// Object `id` through gix: packed, or in an alternate (what [`loose`] does not read).
fn packed(repo: &Repo, id: gix::ObjectId) -> Result<(gix::object::Kind, Vec<u8>), Error> {
    let obj = repo.gix.find_object(id).map_err(|e| Error::new(format!("cannot read object {id}: {e}")))?;
    Ok((obj.kind, obj.detach().data))
}

/// Object `id` if it is loose in `repo`'s object store (read by [`Loose`]); `None` if it is not loose.
fn loose(repo: &Repo, id: gix::ObjectId) -> Result<Option<(gix::object::Kind, Vec<u8>)>, Error> {
    Ok(loose_at_most(repo, id, u64::MAX)?.and_then(|(kind, bytes)| Some((kind, bytes?))))
}

/// A loose object's kind, and its bytes unless it has more than the reader was asked to read.
type Capped = (gix::object::Kind, Option<Vec<u8>>);

/// [`loose`], but an object of more than `max` bytes is not read: its kind comes with `None`.
fn loose_at_most(repo: &Repo, id: gix::ObjectId, max: u64) -> Result<Option<Capped>, Error> {
    LOOSE.with(|l| l.borrow_mut().object(repo.gix.objects.store_ref().path(), id, max))
}

thread_local! {
    static LOOSE: std::cell::RefCell<Loose> = std::cell::RefCell::new(Loose::default());
}

/// A reader of loose objects that keeps one zlib stream and one file buffer for all of them.
///
/// gix starts a new zlib stream for every loose object it reads: a 47 KB block aligned to 64 bytes, freed
/// at once. A frame reads two loose blobs per delta (the delta, then the written state file back for the
/// checkout), and on disk glibc's heap fragmented around those aligned blocks: up to 37 MB of heap for
/// 1,000 deltas, with a live heap never above 1.9 MB (heaptrack). (On tmpfs the same frames stayed near
/// 3 MB of heap; what in the disk's timing made the difference was not found.)
#[derive(Default)]
struct Loose {
    inflate: Option<gix::zlib::Inflate>,
    file: Vec<u8>,
}

/// The most bytes a zlib stream can inflate to per byte of input (deflate's best ratio is 1032:1): a
/// loose object whose header declares more is corrupt, and is refused before anything is allocated.
const ZLIB_MAX_RATIO: u64 = 1032;

impl Loose {
    /// Object `id`, its kind and bytes, if it is loose under `objects`; `None` if there is no such file.
    fn object(&mut self, objects: &std::path::Path, id: gix::ObjectId, max: u64) -> Result<Option<Capped>, Error> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let hex = id.to_hex().to_string();
        let path = objects.join(&hex[..2]).join(&hex[2..]);
        let corrupt = |what: String| {
            Error::new(format!("cannot read object {id}: {} {what}", path.display()))
                .hint("`git fsck` checks the object store and names what is damaged")
        };
        // Never waiting on a FIFO, never reading a device: what was opened is checked before reading.
        let f =
            match std::fs::OpenOptions::new().read(true).custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits()).open(&path)
            {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(corrupt(format!("cannot be read: {e}"))),
            };
        let meta = f.metadata().map_err(|e| corrupt(format!("cannot be read: {e}")))?;
        if !meta.is_file() {
            return Err(corrupt("is not a regular file".into()));
        }
        self.file.clear();
        (&f).take(meta.len()).read_to_end(&mut self.file).map_err(|e| corrupt(format!("cannot be read: {e}")))?;
        let inflate = self.inflate.get_or_insert_with(Default::default);
        inflate.reset();
        let mut header = [0u8; 64];
        let (status, used, got) =
            inflate.prefix(&self.file, &mut header).map_err(|e| corrupt(format!("is not a zlib stream: {e}")))?;
        let (kind, size, header_len) = gix::objs::decode::loose_header(&header[..got])
            .map_err(|e| corrupt(format!("has no object header: {e}")))?;
        let bound = (self.file.len() as u64).saturating_mul(ZLIB_MAX_RATIO);
        let size = usize::try_from(size).ok().filter(|_| size <= bound).ok_or_else(|| {
            corrupt(format!("declares {size} bytes, more than its {} compressed bytes can hold", self.file.len()))
        })?;
        if size as u64 > max {
            return Ok(Some((kind, None)));
        }
        let mut out = Vec::new();
        if status == gix::zlib::Status::StreamEnd {
            out.extend_from_slice(&header[header_len..got]);
        } else {
            inflate
                .rest(&self.file[used..], &header[..got], header_len, &mut out, size)
                .map_err(|e| corrupt(format!("is not a zlib stream: {e}")))?;
        }
        // Not just the length: the bytes must be the object the id names.
        let hashed = gix::objs::compute_hash(id.kind(), kind, &out).ok();
        if out.len() != size || hashed != Some(id) {
            return Err(corrupt("does not hold the object its name says".into()));
        }
        if self.file.capacity() > 1 << 20 {
            self.file = Vec::new();
        }
        Ok(Some((kind, Some(out))))
    }
}

/// What `read_many` found for one object id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// A blob and its bytes.
    Blob(Vec<u8>),
    /// An object of another type (`commit`, `tree`, `tag`).
    Other(String),
    /// No such object.
    Missing,
}

/// Read every object in `oids`, in order, in-process: loose ones as [`bytes_of`] reads them, the others
/// through gix. (`cat-file --batch` opened and mapped each loose object three times, and a plane of 1,000
/// tasks is 1,000 loose objects until a `gc`: 40 ms of a 70 ms claim.)
pub fn read_many(repo: &Repo, oids: &[String]) -> Result<Vec<Found>, Error> {
    oids.iter()
        .map(|o| {
            let id = gix::ObjectId::from_hex(o.as_bytes())
                .map_err(|e| Error::new(format!("'{o}' is not an object id: {e}")))?;
            if let Some((kind, data)) = loose(repo, id)? {
                return Ok(if kind == gix::object::Kind::Blob {
                    Found::Blob(data)
                } else {
                    Found::Other(kind.to_string())
                });
            }
            Ok(match repo.gix.try_find_object(id) {
                Ok(None) => Found::Missing,
                Ok(Some(obj)) if obj.kind == gix::object::Kind::Blob => Found::Blob(obj.detach().data),
                Ok(Some(obj)) => Found::Other(obj.kind.to_string()),
                Err(e) => return Err(Error::new(format!("cannot read object {o}: {e}"))),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    /// What `read_many` tells apart, in order: a blob and its bytes, another kind of object, a missing
    /// object; and an id that is not one is an error, not a lookup.
    #[test]
    fn read_many_tells_blobs_other_objects_and_missing_ones_apart() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let blob = store(&ctx.repo, b"task\n").unwrap().to_string();
        let head = f.git(&["rev-parse", "HEAD"]);
        let missing = "0123456789abcdef0123456789abcdef01234567".to_string();
        let found = read_many(&ctx.repo, &[blob.clone(), head, missing]).unwrap();
        assert_eq!(found, [Found::Blob(b"task\n".to_vec()), Found::Other("commit".into()), Found::Missing]);
        assert_eq!(f.git(&["cat-file", "-p", &blob]), "task");
        let err = read_many(&ctx.repo, &["HEAD".to_string()]).unwrap_err();
        assert!(err.message.contains("'HEAD' is not an object id"), "{}", err.message);
    }

    /// The path of loose object `id` in the fixture's repository.
    fn loose_path(ctx: &crate::building::Ctx, id: gix::ObjectId) -> std::path::PathBuf {
        let hex = id.to_string();
        ctx.repo.common_dir.join("objects").join(&hex[..2]).join(&hex[2..])
    }

    /// Loose blobs are read with one zlib stream, again and again; a packed one still reads (through gix);
    /// a loose file holding other bytes than its name says, or another kind of object, is an error.
    #[test]
    fn loose_blobs_are_read_whole_and_checked_against_their_id() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let ids: Vec<_> = (0..50).map(|i| store(&ctx.repo, format!("{{\"n\": {i}}}\n").as_bytes()).unwrap()).collect();
        for _ in 0..2 {
            for (i, id) in ids.iter().enumerate() {
                assert!(loose_path(&ctx, *id).is_file());
                assert_eq!(bytes_of(&ctx.repo, *id).unwrap(), format!("{{\"n\": {i}}}\n").into_bytes());
            }
        }
        let big: Vec<u8> = (0..200_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let big_id = store(&ctx.repo, &big).unwrap();
        assert_eq!(bytes_of(&ctx.repo, big_id).unwrap(), big);
        // Another blob's file under this id's name: the bytes are not this blob.
        let (a, b) = (ids[0], ids[1]);
        let b_path = loose_path(&ctx, b);
        std::fs::remove_file(&b_path).unwrap();
        std::fs::copy(loose_path(&ctx, a), &b_path).unwrap();
        let err = bytes_of(&ctx.repo, b).unwrap_err();
        assert!(err.message.contains("does not hold the object its name says"), "{}", err.message);
        assert!(err.hints.iter().any(|h| h.contains("git fsck")), "{:?}", err.hints);
        let head = gix::ObjectId::from_hex(f.git(&["rev-parse", "HEAD"]).as_bytes()).unwrap();
        assert!(loose_path(&ctx, head).is_file());
        let err = bytes_of(&ctx.repo, head).unwrap_err();
        assert!(err.message.contains("is a commit, not a blob"), "{}", err.message);
        // Packed, no loose copy left: read through gix.
        std::fs::remove_file(&b_path).unwrap();
        f.git(&["tag", "keep-a", &a.to_string()]);
        f.git(&["repack", "-adq"]);
        f.git(&["prune-packed"]);
        assert!(!loose_path(&ctx, a).exists());
        assert_eq!(bytes_of(&ctx.repo, a).unwrap(), b"{\"n\": 0}\n");
    }

    /// `bytes_at_most` reads a blob of at most `max` bytes and leaves a larger one unread (`None`), loose or
    /// packed; another kind of object is an error either way.
    #[test]
    fn a_blob_over_the_limit_is_not_read() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let small = store(&ctx.repo, b"0123456789").unwrap();
        let large = store(&ctx.repo, &[b'x'; 5000]).unwrap();
        let head = gix::ObjectId::from_hex(f.git(&["rev-parse", "HEAD"]).as_bytes()).unwrap();
        let check = |how: &str| {
            assert_eq!(bytes_at_most(&ctx.repo, small, 10).unwrap().as_deref(), Some(&b"0123456789"[..]), "{how}");
            assert_eq!(bytes_at_most(&ctx.repo, small, 9).unwrap(), None, "{how}");
            assert_eq!(bytes_at_most(&ctx.repo, large, 4999).unwrap(), None, "{how}");
            assert_eq!(bytes_at_most(&ctx.repo, large, 5000).unwrap().map(|b| b.len()), Some(5000), "{how}");
            let err = bytes_at_most(&ctx.repo, head, 1 << 20).unwrap_err();
            assert!(err.message.contains("is a commit, not a blob"), "{how}: {}", err.message);
        };
        assert!(loose_path(&ctx, large).is_file() && loose_path(&ctx, head).is_file());
        check("loose");
        f.git(&["tag", "keep-small", &small.to_string()]);
        f.git(&["tag", "keep-large", &large.to_string()]);
        f.git(&["repack", "-adq"]);
        f.git(&["prune-packed"]);
        assert!(!loose_path(&ctx, large).exists() && !loose_path(&ctx, head).exists());
        check("packed");
    }

    /// A loose object whose header declares more bytes than its compressed stream can hold is refused
    /// before that much is allocated: the rest of an object is inflated into a buffer of the declared size,
    /// and 1 TB would abort the process.
    #[test]
    fn a_loose_object_declaring_an_impossible_size_is_refused() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let mut z = gix::zlib::stream::deflate::Write::new(Vec::new(), gix::zlib::Compression::DEFAULT);
        // More than the 64 bytes the header is first inflated into, so the stream does not end there.
        let body: String = (0..100).map(|i| format!("{i} ")).collect();
        std::io::Write::write_all(&mut z, format!("blob 1000000000000\0{body}").as_bytes()).unwrap();
        std::io::Write::flush(&mut z).unwrap();
        let bytes = z.into_inner();
        let id = gix::ObjectId::from_hex(b"0123456789abcdef0123456789abcdef01234567").unwrap();
        let path = loose_path(&ctx, id);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &bytes).unwrap();
        let err = bytes_of(&ctx.repo, id).unwrap_err();
        assert!(err.message.contains("declares 1000000000000 bytes"), "{}", err.message);
    }

    /// What sits at a loose object's path but is not a file is refused at once: a FIFO is not waited on,
    /// a symlink to a device is not read.
    #[test]
    fn a_loose_object_path_that_is_not_a_file_is_refused_without_waiting() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let fifo = gix::ObjectId::from_hex(b"1111111111111111111111111111111111111111").unwrap();
        let dev = gix::ObjectId::from_hex(b"2222222222222222222222222222222222222222").unwrap();
        let fifo_path = loose_path(&ctx, fifo);
        std::fs::create_dir_all(fifo_path.parent().unwrap()).unwrap();
        nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let dev_path = loose_path(&ctx, dev);
        std::fs::create_dir_all(dev_path.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink("/dev/zero", &dev_path).unwrap();
        let git_dir = ctx.repo.common_dir.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let repo = crate::git::Repo::discover(&git_dir).unwrap();
            let _ = tx.send([fifo, dev].map(|id| bytes_of(&repo, id).map_err(|e| e.message)));
        });
        let got = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("a read blocked");
        for r in got {
            assert!(r.as_ref().is_err_and(|m| m.contains("is not a regular file")), "{r:?}");
        }
    }

    /// A file is taken for a blob only when its bytes are the blob: not changed, not a symlink to the
    /// same bytes, not a directory, and a FIFO is refused without waiting on it.
    #[test]
    fn a_file_is_read_for_a_blob_only_when_it_is_that_blob() {
        let f = Fixture::new();
        let ctx = f.ctx();
        let id = store(&ctx.repo, b"{\"a\": 1}\n").unwrap();
        let file = f.dir.join("s.json");
        std::fs::write(&file, b"{\"a\": 1}\n").unwrap();
        assert_eq!(from_file_if(&file, id).as_deref(), Some(&b"{\"a\": 1}\n"[..]));
        std::fs::write(&file, b"{\"a\": 2}\n").unwrap();
        assert_eq!(from_file_if(&file, id), None, "changed");
        std::fs::write(f.dir.join("real.json"), b"{\"a\": 1}\n").unwrap();
        std::os::unix::fs::symlink(f.dir.join("real.json"), f.dir.join("link.json")).unwrap();
        assert_eq!(from_file_if(&f.dir.join("link.json"), id), None, "a symlink");
        assert_eq!(from_file_if(&f.dir, id), None, "a directory");
        assert_eq!(from_file_if(&f.dir.join("missing.json"), id), None);
        let fifo = f.dir.join("fifo.json");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(from_file_if(&fifo, id), None, "a FIFO, refused without blocking");
        // Past the bound a file is not read, even when it is the blob (the store's copy serves then).
        let zeros = vec![0u8; usize::try_from(FROM_FILE_MAX).unwrap() + 1];
        let huge_id = store(&ctx.repo, &zeros).unwrap();
        let huge = f.dir.join("huge.json");
        std::fs::write(&huge, &zeros).unwrap();
        assert_eq!(from_file_if(&huge, huge_id), None, "too big to be read whole");
    }
}
