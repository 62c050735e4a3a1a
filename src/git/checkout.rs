//! Making and writing checkouts: a new worktree's metadata, its files and submodules; and, in a checkout
//! someone may be using, fast-forward its branch (after finding the ignored files that would overwrite),
//! stage paths through a copy of its index, find its private git dir.

use std::path::{Path, PathBuf};

use super::GitCmd;
use crate::error::Error;

/// Fast-forward the branch checked out at `dir` to `rev`, with extra environment for the hooks git runs.
/// Never autostashes, whatever `merge.autoStash` says: local changes in the way make it fail, touching
/// nothing (with autostash git would park them in the stash every worktree shares and leave conflict
/// markers, exiting 0). Never overwrites an ignored file either (`--no-overwrite-ignore`; git's default
/// treats them as expendable): callers look for those first to refuse with a clear message, and this
/// closes the instant between their look and git's checkout.
pub fn fast_forward_with(dir: &Path, rev: &str, env: &[(&str, &str)]) -> Result<(), super::GitError> {
    let mut cmd = GitCmd::new(dir).map_err(|e| super::GitError::not_started("merge", e))?;
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    cmd.args([
        "-c",
        "merge.autoStash=false",
        "merge",
        "--ff-only",
        "--no-autostash",
        "--no-overwrite-ignore",
        "--quiet",
    ])
    .end_of_options()
    .arg(rev)
    .run()
}

/// Set the index of the worktree at `dir` to `tree` without touching its files (`read-tree --reset`, which
/// keeps the stat data of the entries that did not change).
pub fn reset_index(repo: &super::Repo, dir: &Path, tree: &str) -> Result<(), Error> {
    Ok(repo.git_in(dir)?.args(["read-tree", "--reset"]).end_of_options().arg(tree).run()?)
}

/// Refresh the stat data of the index of the worktree at `dir` (`update-index -q --refresh`), so files
/// just written read as unchanged. Entries that do differ make git exit 1; that is not a failure here.
pub fn refresh_index(repo: &super::Repo, dir: &Path) -> Result<(), Error> {
    repo.git_in(dir)?.args(["update-index", "-q", "--refresh"]).succeeds()?;
    Ok(())
}

/// Stage `paths` of the worktree at `dir` (added, changed or deleted) into the index file `index`.
pub fn stage_into(dir: &Path, index: &Path, paths: &[String], env: &[(&str, &str)]) -> Result<(), Error> {
    Ok(on_index(dir, index, env)?.args(["update-index", "--add", "--remove", "--"]).args(paths).run()?)
}

/// A git command in the worktree at `dir` on the index file `index`, with `env` set.
fn on_index(dir: &Path, index: &Path, env: &[(&str, &str)]) -> Result<GitCmd, Error> {
    let mut cmd = GitCmd::new(dir)?.env("GIT_INDEX_FILE", index);
    for (k, v) in env {
        cmd = cmd.env(k, v);
    }
    Ok(cmd)
}

/// Index entries git keeps without looking at their file (`skip-worktree`, as sparse checkouts mark
/// what they leave out): the given paths that are such entries in the index at `index`, with their mode.
/// Only an index of version 3 or later can hold one (the flag is an extended one), so a version 2 index
/// is answered from its first eight bytes.
pub fn skip_worktree_entries(
    index: &Path,
    hash: gix::hash::Kind,
    paths: &[String],
) -> Result<std::collections::BTreeMap<String, u32>, Error> {
    use std::io::Read;
    let mut out = std::collections::BTreeMap::new();
    let mut header = [0u8; 8];
    match std::fs::File::open(index).and_then(|mut f| f.read_exact(&mut header)) {
        Ok(()) if &header[..4] == b"DIRC" && header[4..8] == 2u32.to_be_bytes() => return Ok(out),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        _ => {}
    }
    let file = gix::index::File::at(index, hash, true, Default::default())
        .map_err(|e| Error::new(format!("cannot read {}: {e}", index.display())))?;
    let wanted: std::collections::BTreeSet<&str> = paths.iter().map(String::as_str).collect();
    for e in file.entries() {
        if e.flags.contains(gix::index::entry::Flags::SKIP_WORKTREE) {
            let path = e.path(&file).to_string();
            if wanted.contains(path.as_str()) {
                out.insert(path, e.mode.bits());
            }
        }
    }
    Ok(out)
}

/// Point `skip-worktree` entries of the index at `index` at new blobs (or remove them: `None`), their
/// files untouched and the flag kept, as git's own checkout does for what a sparse checkout leaves out.
pub fn stage_skipped_into(
    dir: &Path,
    index: &Path,
    entries: &[(String, u32, Option<gix::ObjectId>)],
    env: &[(&str, &str)],
) -> Result<(), Error> {
    let mut info = Vec::new();
    let mut kept = Vec::new();
    for (path, mode, blob) in entries {
        match blob {
            Some(id) => {
                info.extend_from_slice(format!("{mode:o} {id}\t{path}\0").as_bytes());
                kept.push(path.as_str());
            }
            // Mode 0 removes the entry.
            None => {
                info.extend_from_slice(format!("0 {}\t{path}\0", gix::ObjectId::null(gix::hash::Kind::Sha1)).as_bytes())
            }
        }
    }
    on_index(dir, index, env)?.args(["update-index", "-z", "--index-info"]).stdin(info).run()?;
    if kept.is_empty() {
        return Ok(());
    }
    Ok(on_index(dir, index, env)?.args(["update-index", "--skip-worktree", "--"]).args(kept).run()?)
}

/// The worktree at `dir`'s private git dir, absolute.
pub fn git_dir_of(dir: &Path) -> Result<PathBuf, Error> {
    Ok(PathBuf::from(GitCmd::new(dir)?.args(["rev-parse", "--absolute-git-dir"]).read()?))
}

/// `git worktree add --no-checkout --no-track -b <branch> <path> <base>`: git's metadata and the branch,
/// no files yet (the checkout runs later, outside the building lock).
pub fn add_worktree_metadata(
    repo: &super::Repo,
    branch: &str,
    path: &std::path::Path,
    base: &str,
) -> Result<(), super::GitError> {
    repo.git()
        .map_err(|e| super::GitError::not_started("worktree add", e))?
        .args(["worktree", "add", "--no-checkout", "--no-track", "-b", branch])
        .end_of_options()
        .arg(path)
        .arg(base)
        .run()
}

/// Check out every file of a worktree made with [`add_worktree_metadata`] (index and files from HEAD).
pub fn check_out_all(repo: &super::Repo, dir: &std::path::Path) -> Result<(), Error> {
    Ok(repo.git_in(dir)?.args(["reset", "--hard", "--quiet", "--no-recurse-submodules"]).run()?)
}

/// Initialise and check out the worktree's submodules, recursively.
pub fn init_submodules(repo: &super::Repo, dir: &std::path::Path) -> Result<(), Error> {
    Ok(repo
        .git_in(dir)?
        .args(["-c", "protocol.file.allow=always", "submodule", "update", "--init", "--recursive", "--quiet"])
        .run()?)
}
