//! Trees without a checkout: build one from a base commit and a list of changes through a private index,
//! list a subtree's files, and compare two trees.

use std::collections::BTreeSet;
use std::path::Path;

use super::Repo;
use crate::error::Error;

/// The tree of `base` with the entries of `index_info` (`git update-index --index-info` lines: `<mode>
/// <oid>\t<path>`, mode `0` deleting) applied, built in the private index file `index` (removed after).
pub fn build(repo: &Repo, base: &str, index: &Path, index_info: &str) -> Result<String, Error> {
    let res = (|| -> Result<String, Error> {
        repo.git()?.env("GIT_INDEX_FILE", index).args(["read-tree", base]).run()?;
        if !index_info.is_empty() {
            repo.git()?
                .env("GIT_INDEX_FILE", index)
                .args(["update-index", "--index-info"])
                .stdin(index_info.as_bytes().to_vec())
                .run()?;
        }
        Ok(repo.git()?.env("GIT_INDEX_FILE", index).arg("write-tree").read()?)
    })();
    let _ = std::fs::remove_file(index);
    res
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
