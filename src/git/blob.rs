//! Blobs as values: write bytes into the object store, read them back by id (one object or many in one
//! `cat-file --batch`). The task plane keeps each task as one blob behind one ref.

use super::Repo;
use crate::error::Error;

/// Store `bytes` as a blob (`hash-object -w --stdin`) and return its id.
pub fn write(repo: &Repo, bytes: &[u8]) -> Result<String, Error> {
    Ok(repo.git_common()?.args(["hash-object", "-w", "--stdin"]).stdin(bytes.to_vec()).read()?.trim().to_string())
}

/// Store `bytes` as a blob in-process (a loose object, as `hash-object -w` writes it) and return its id.
pub fn store(repo: &Repo, bytes: &[u8]) -> Result<gix::ObjectId, Error> {
    Ok(repo.gix.write_blob(bytes).map_err(|e| Error::new(format!("cannot write a blob: {e}")))?.detach())
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

/// Read every object in `oids` in one `cat-file --batch`, in order.
pub fn read_many(repo: &Repo, oids: &[String]) -> Result<Vec<Found>, Error> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut input = Vec::new();
    for o in oids {
        // An id is hex; anything else would be read by cat-file as a revision expression.
        if o.is_empty() || !o.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(Error::new(format!("'{o}' is not an object id")));
        }
        input.extend_from_slice(o.as_bytes());
        input.push(b'\n');
    }
    let out = repo.git_common()?.args(["cat-file", "--batch"]).stdin(input).output()?;
    let mut rest = &out[..];
    let mut found = Vec::with_capacity(oids.len());
    for o in oids {
        let nl = rest.iter().position(|&b| b == b'\n').ok_or_else(|| short(o))?;
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        let f: Vec<&str> = header.split(' ').collect();
        match f[..] {
            [_, "missing"] => found.push(Found::Missing),
            [_, kind, size] => {
                let size: usize = size.parse().map_err(|_| short(o))?;
                if rest.len() < size + 1 {
                    return Err(short(o));
                }
                let body = rest[..size].to_vec();
                rest = &rest[size + 1..];
                found.push(if kind == "blob" { Found::Blob(body) } else { Found::Other(kind.to_string()) });
            }
            _ => return Err(short(o)),
        }
    }
    Ok(found)
}

fn short(oid: &str) -> Error {
    Error::new(format!("`git cat-file --batch` ended early while reading {oid}"))
}
