//! Trees without a checkout: make one from a base tree and a list of changed files (in-process), list a
//! subtree's files, and compare two trees.

use std::collections::BTreeSet;

use super::Repo;
use crate::error::Error;

/// Tree `base` with each path set to a plain file holding a blob (mode 100644), or removed (`None`),
/// written in-process (gix's tree editor): only the directories on the way to a changed path are read and
/// rewritten. Path components are checked when written, as git checks them (`core.protectNTFS` and
/// `core.protectHFS` included). Callers pass paths already validated, none of which replaces a directory
/// with a file or the reverse. Returns the new tree's id.
pub fn edit(repo: &Repo, base: gix::ObjectId, changes: &[(String, Option<gix::ObjectId>)]) -> Result<String, Error> {
    let err = |e: gix::Error| Error::new(format!("cannot make the new tree from {base}: {e}"));
    super::retrying_write(|| {
        let mut editor = repo.gix.edit_tree(base).map_err(err)?;
        for (path, id) in changes {
            match id {
                Some(id) => editor.upsert(path, gix::object::tree::EntryKind::Blob, *id).map_err(err)?,
                None => editor.remove(path).map_err(err)?,
            };
        }
        Ok(editor.write().map_err(err)?.to_string())
    })
}

/// `(mode, oid, path)` of every entry under `prefix` in `commit`'s tree, recursively (paths are from the
/// repository root; git gives them as stored, so callers validate them before using them as paths).
pub fn entries_under(repo: &Repo, commit: &str, prefix: &str) -> Result<Vec<(String, String, String)>, Error> {
    let out = repo.git()?.args(["ls-tree", "-r", "-z", "--full-tree", commit, "--"]).arg(prefix).output()?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|r| !r.is_empty())
        .filter_map(|rec| {
            let rec = String::from_utf8_lossy(rec);
            let (meta, path) = rec.split_once('\t')?;
            let mut m = meta.split(' ');
            let (mode, _kind, oid) = (m.next()?, m.next()?, m.next()?);
            Some((mode.to_string(), oid.to_string(), path.to_string()))
        })
        .collect())
}

/// Every file the index tracks, repository-relative (`ls-files -z --full-name`).
pub fn tracked_files(repo: &Repo) -> Result<Vec<String>, Error> {
    let out = repo.git()?.args(["ls-files", "-z", "--full-name"]).output()?;
    Ok(out.split(|b| *b == 0).filter(|f| !f.is_empty()).map(|f| String::from_utf8_lossy(f).into_owned()).collect())
}

/// The paths that differ between two trees (`diff-tree -r --name-only`, no rename detection).
pub fn changed_paths(repo: &Repo, a: &str, b: &str) -> Result<BTreeSet<String>, Error> {
    let out = repo.git()?.args(["diff-tree", "-r", "-z", "--no-renames", "--name-only", a, b]).output()?;
    Ok(out.split(|b| *b == 0).filter(|r| !r.is_empty()).map(|r| String::from_utf8_lossy(r).into_owned()).collect())
}

/// A `--stat` and patch of what changed under `prefix` between two trees (for `--dry-run`).
pub fn diff_text(repo: &Repo, a: &str, b: &str, prefix: &str) -> Result<String, Error> {
    Ok(repo.git()?.args(["diff", "--stat", "-p", a, b, "--"]).arg(prefix).read()?)
}
