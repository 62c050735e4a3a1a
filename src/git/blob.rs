//! Blobs as values: write bytes into the object store, read them back by id (one object or many, all
//! in-process). The task plane keeps each task as one blob behind one ref.

use super::Repo;
use crate::error::Error;

/// Store `bytes` as a blob in-process (a loose object, as `hash-object -w` writes it) and return its id.
pub fn store(repo: &Repo, bytes: &[u8]) -> Result<gix::ObjectId, Error> {
    Ok(repo.gix.write_blob(bytes).map_err(|e| Error::new(format!("cannot write a blob: {e}")))?.detach())
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

/// The bytes of blob `id`, read in-process.
pub fn bytes_of(repo: &Repo, id: gix::ObjectId) -> Result<Vec<u8>, Error> {
    let obj = repo.gix.find_object(id).map_err(|e| Error::new(format!("cannot read blob {id}: {e}")))?;
    if obj.kind != gix::object::Kind::Blob {
        return Err(Error::new(format!("{id} is a {}, not a blob", obj.kind)));
    }
    Ok(obj.detach().data)
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

/// Read every object in `oids`, in order, in-process. (`cat-file --batch` opened and mapped each loose
/// object three times, and a plane of 1,000 tasks is 1,000 loose objects until a `gc`: 40 ms of a 70 ms
/// claim.)
pub fn read_many(repo: &Repo, oids: &[String]) -> Result<Vec<Found>, Error> {
    oids.iter()
        .map(|o| {
            let id = gix::ObjectId::from_hex(o.as_bytes())
                .map_err(|e| Error::new(format!("'{o}' is not an object id: {e}")))?;
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
