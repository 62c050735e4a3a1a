//! What `add` carried into a tenant, fingerprinted so that an unchanged carried file is told apart from
//! the tenant's own work: blob ids of the bytes as written (`hash-object --no-filters`, nothing stored),
//! and which of those paths the tenant has staged since.

use std::path::Path;

use super::GitCmd;
use crate::error::Error;

/// The fingerprint of each path (relative to `dir`): `blob:<id>` for a file, `link:<target>` for a
/// symlink. Paths that are gone are left out.
pub fn fingerprints(dir: &Path, paths: &[String]) -> Result<Vec<(String, String)>, Error> {
    let mut out = Vec::new();
    let mut files = Vec::new();
    for p in paths {
        match std::fs::symlink_metadata(dir.join(p)) {
            Ok(m) if m.file_type().is_symlink() => {
                if let Ok(target) = std::fs::read_link(dir.join(p)) {
                    out.push((p.clone(), format!("link:{}", target.display())));
                }
            }
            Ok(m) if m.is_file() => files.push(p.clone()),
            _ => {}
        }
    }
    if !files.is_empty() {
        let mut list = Vec::new();
        for f in &files {
            list.extend_from_slice(f.as_bytes());
            list.push(b'\n');
        }
        let ids = GitCmd::new(dir)?.args(["hash-object", "--no-filters", "--stdin-paths"]).stdin(list).read()?;
        for (f, id) in files.iter().zip(ids.lines()) {
            out.push((f.clone(), format!("blob:{}", id.trim())));
        }
    }
    Ok(out)
}

/// Which of `paths` have a staged change (index differs from HEAD) in the worktree at `dir`.
pub fn staged_among(dir: &Path, paths: &[String]) -> Result<Vec<String>, Error> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let out = GitCmd::new(dir)?
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(["diff", "--cached", "--name-only", "--no-renames", "-z", "--"])
        .args(paths.iter().map(|p| format!(":(literal){p}")))
        .output()?;
    Ok(out.split(|b| *b == 0).filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).collect())
}
