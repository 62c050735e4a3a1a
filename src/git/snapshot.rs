//! A worktree's uncommitted state as git objects, taken without touching its index or files: a private
//! copy of the index (`TempIndex`), the trees of what is staged and of what is on disk (`Snapshot`), and
//! the commits that hold both (what rescues and safe-pull save before anything can be lost).

use std::path::Path;

use super::Repo;
use super::commit::commit_tree;
use crate::error::Error;

/// A private index file under a git dir, removed when dropped (its `TempPath` deletes it). Commands that must not disturb the real
/// index (or the user's staging) build trees and check files out through one of these.
pub struct TempIndex {
    /// Where it lives (`<git-dir>/neighbor-index.tmp.<random>`; `prune` sweeps stale ones by that prefix).
    path: tempfile::TempPath,
    /// The copy, held open while this lives: it keeps the old mtime of the index it copied, so `prune`
    /// would take it for a stale one; an open file tells it a process uses it (until git replaces the
    /// file, which gives the new one a fresh mtime).
    _open: Option<std::fs::File>,
}

impl TempIndex {
    /// A copy of the worktree's real index (none when there is none), so its stat data stays valid. The
    /// copy keeps the real index's mtime: git trusts an entry's stat data only when the entry is older
    /// than the index file, so a copy stamped "now" would hide an edit made in the second the real index
    /// was written (same size, same mtime), which git's racy-clean check on the real index does see.
    pub fn copy_of_real(git_dir: &Path) -> Result<Self, Error> {
        let path = unused_path(git_dir, "neighbor-index.tmp.")?;
        let real = git_dir.join("index");
        let mut open = None;
        if real.exists() {
            let bad = |e: std::io::Error| Error::new(format!("cannot copy {}: {e}", real.display()));
            // Read once, then stamp the copy with the mtime of what was read: an index replaced meanwhile
            // (git renames a new one in) must not lend its mtime to the old contents.
            let file = std::fs::File::open(&real).map_err(bad)?;
            let mtime = file.metadata().and_then(|m| m.modified()).map_err(bad)?;
            let mut file = file;
            let mut out = std::fs::File::create(&path).map_err(bad)?;
            std::io::copy(&mut file, &mut out).map_err(bad)?;
            out.set_modified(mtime).map_err(bad)?;
            open = Some(out);
        }
        Ok(TempIndex { path, _open: open })
    }
    /// A git command in `dir` that reads and writes this index.
    fn git(&self, repo: &Repo, dir: &Path) -> Result<crate::git::GitCmd, Error> {
        Ok(repo.git_in(dir)?.env("GIT_INDEX_FILE", self.path.as_os_str()))
    }

    /// This index as a tree (`write-tree`; fails while it holds unmerged entries).
    pub fn write_tree(&self, repo: &Repo, dir: &Path) -> Result<String, crate::git::GitError> {
        self.git(repo, dir).map_err(|e| crate::git::GitError::not_started("write-tree", e))?.arg("write-tree").read()
    }

    /// Stage everything on disk in the worktree at `dir` into this index (tracked changes and untracked,
    /// not ignored files: `add -A`) and return it as a tree.
    pub fn stage_all_files(&self, repo: &Repo, dir: &Path) -> Result<String, Error> {
        self.git(repo, dir)?.args(["add", "-A", "--", "."]).run()?;
        Ok(self.write_tree(repo, dir)?)
    }

    /// Move the files of the worktree at `dir` from tree `from` to tree `to` through this index (which
    /// must hold `from`): a two-way `read-tree -m -u` updates exactly the paths that differ, and refuses to
    /// overwrite files it does not know (untracked or ignored) instead of clobbering them.
    pub fn move_files(&self, repo: &Repo, dir: &Path, from: &str, to: &str) -> Result<(), Error> {
        Ok(self.git(repo, dir)?.args(["read-tree", "-m", "-u"]).end_of_options().args([from, to]).run()?)
    }
}

/// The tree of everything on disk in the worktree at `worktree` (private git dir `git_dir`): tracked
/// files as they are now, staged or not, plus untracked, not ignored ones. Built in a private copy of the
/// index (`add -A`, `write-tree`), so the worktree's own index and files are never written; no [`Repo`]
/// is needed, so worker threads can take many at once.
pub fn worktree_tree(worktree: &Path, git_dir: &Path) -> Result<String, Error> {
    let index = TempIndex::copy_of_real(git_dir)?;
    let git = || Ok::<_, Error>(crate::git::GitCmd::new(worktree)?.env("GIT_INDEX_FILE", index.path.as_os_str()));
    git()?.args(["add", "-A", "--", "."]).run()?;
    Ok(git()?.arg("write-tree").read()?)
}

/// One look at a worktree: the commit its HEAD names and a cheap identity of its uncommitted state, both
/// from one `status`, so they belong together even while commits land in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Look {
    /// HEAD's commit as `status` compared with (`None`: no commit yet).
    pub head: Option<String>,
    /// `None` when nothing is uncommitted (`status` lists nothing: the files are HEAD's tree), else a
    /// hash of what `status` printed (HEAD included), the size and mtime of the index, and the size,
    /// mtimes and inode of each listed path. Files `status` does not list are as the index has them, so
    /// an equal fingerprint means equal files and [`worktree_tree`] need not run again.
    pub fingerprint: Option<String>,
}

/// [`Look`] at the worktree at `worktree` (private git dir `git_dir`): one read-only `status`
/// (`--porcelain=v2 --branch -z`, `GIT_OPTIONAL_LOCKS=0`: it never writes the worktree's index or
/// waits for its lock).
pub fn look(worktree: &Path, git_dir: &Path) -> Result<Look, Error> {
    let private = looking_index(git_dir)?;
    let mut status = crate::git::GitCmd::new(worktree)?;
    status = match &private {
        // Ours to refresh: git's optional lock and write go to the private copy, never the real index.
        Some(p) => status.env("GIT_INDEX_FILE", p),
        None => status.env("GIT_OPTIONAL_LOCKS", "0"),
    };
    let out = status
        .args(["status", "--porcelain=v2", "--branch", "-z", "--untracked-files=all", "--no-renames"])
        .arg("--ignore-submodules=none")
        .output()?;
    let mut head = None;
    let mut paths = Vec::new();
    for rec in out.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(rec);
        if let Some(oid) = text.strip_prefix("# branch.oid ") {
            head = gix::ObjectId::from_hex(oid.trim().as_bytes()).ok().map(|o| o.to_string());
            continue;
        }
        // Fields before the path: `1` has 8, `u` 10, `?` and `!` one (git-status(1), porcelain v2).
        let before = match rec.first() {
            Some(b'1') => 8,
            Some(b'u') => 10,
            Some(b'?' | b'!') => 1,
            _ => continue,
        };
        if let Some(p) = text.splitn(before + 1, ' ').nth(before) {
            paths.push(p.to_string());
        }
    }
    if paths.is_empty() {
        return Ok(Look { head, fingerprint: None });
    }
    let mut fp = format!("{}\n", stat_line(&git_dir.join("index"))).into_bytes();
    fp.extend_from_slice(&out);
    for rel in paths {
        fp.extend_from_slice(format!("\n{}", stat_line(&worktree.join(rel))).as_bytes());
    }
    let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::objs::Kind::Blob, &fp)
        .map_err(|e| Error::new(format!("cannot hash the state of {}: {e}", worktree.display())))?;
    Ok(Look { head, fingerprint: Some(id.to_string()) })
}

/// The private index `look` runs `status` on: a copy of the worktree's index, made again whenever the
/// real one changed (its size, mtimes or inode differ from the copy's record). `status` may refresh the
/// stat data of this copy, which it must not do to the real index (that takes `index.lock` from under
/// the tenant's own git): without it, a freshly checked-out worktree, whose entries are all "racily
/// clean", has every file hashed again by every look. `None` when the worktree has no index.
fn looking_index(git_dir: &Path) -> Result<Option<std::path::PathBuf>, Error> {
    let real = git_dir.join("index");
    let private = git_dir.join("neighbor-forecast-index");
    let record = git_dir.join("neighbor-forecast-index.src");
    let now = stat_line(&real);
    if now == "-" {
        return Ok(None);
    }
    if private.exists() && std::fs::read_to_string(&record).is_ok_and(|r| r == now) {
        return Ok(Some(private));
    }
    // A copy with the real index's mtime (see `TempIndex::copy_of_real`), renamed into place whole.
    let copy = TempIndex::copy_of_real(git_dir)?;
    let bad = |e: std::io::Error| Error::new(format!("cannot write {}: {e}", private.display()));
    std::fs::rename(&copy.path, &private).map_err(bad)?;
    // The record last, replaced whole (a temp name `prune` sweeps if a crash leaves it).
    let tmp = unused_path(git_dir, "neighbor-index.tmp.")?;
    std::fs::write(&tmp, now.as_bytes()).map_err(bad)?;
    tmp.persist(&record).map_err(|e| bad(e.error))?;
    Ok(Some(private))
}

/// `size mtime ctime inode` of `path` (nanoseconds), without following a symlink; `-` when absent.
fn stat_line(path: &Path) -> String {
    use std::os::unix::fs::MetadataExt;
    match std::fs::symlink_metadata(path) {
        Ok(m) => format!(
            "{} {}.{} {}.{} {} {:o}",
            m.size(),
            m.mtime(),
            m.mtime_nsec(),
            m.ctime(),
            m.ctime_nsec(),
            m.ino(),
            m.mode()
        ),
        Err(_) => "-".into(),
    }
}

/// A path in `dir` named `<prefix><random>` that nothing occupies yet, deleted (if anything is there by
/// then) when dropped. Nothing is created: git reads an empty file as a corrupt index, while a missing one
/// is an empty index to it.
fn unused_path(dir: &Path, prefix: &str) -> Result<tempfile::TempPath, Error> {
    let free = |p: &Path| match std::fs::symlink_metadata(p) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Ok(_) => Err(std::io::Error::from(std::io::ErrorKind::AlreadyExists)),
        Err(e) => Err(e),
    };
    let named = tempfile::Builder::new().prefix(prefix).rand_bytes(12).make_in(dir, free);
    Ok(named
        .map_err(|e| Error::new(format!("cannot name a temporary index in {}: {e}", dir.display())))?
        .into_temp_path())
}

/// A worktree's uncommitted state as git objects, taken without writing its index or files.
pub struct Snapshot {
    /// HEAD commit.
    pub head: String,
    /// HEAD's tree.
    pub head_tree: String,
    /// `refs/heads/…` when HEAD is on a branch.
    pub branch: Option<String>,
    /// What is staged (the real index as a tree).
    pub index_tree: String,
    /// What is on disk: tracked files plus untracked, not ignored ones.
    pub work_tree: String,
    /// A private index holding `work_tree`, with fresh stat data for the files on disk.
    #[expect(dead_code, reason = "held for its Drop, which deletes the file")]
    pub index: TempIndex,
}

impl Snapshot {
    /// Is anything uncommitted (staged, unstaged or untracked)?
    pub fn dirty(&self) -> bool {
        self.index_tree != self.head_tree || self.work_tree != self.head_tree
    }
}

/// Snapshot the worktree at `worktree` (whose private git dir is `git_dir`).
pub fn snapshot(repo: &Repo, worktree: &Path, git_dir: &Path) -> Result<Snapshot, Error> {
    let head = repo.git_in(worktree)?.args(["rev-parse", "--verify", "-q", "HEAD^{commit}"]).read().map_err(|_| {
        Error::new(format!("{} has no commit checked out yet", worktree.display()))
            .hint("make a first commit, or use plain git for this checkout")
    })?;
    let head_tree = repo.git_in(worktree)?.args(["rev-parse", "--verify"]).arg(format!("{head}^{{tree}}")).read()?;
    let index = TempIndex::copy_of_real(git_dir)?;
    let index_tree = index.write_tree(repo, worktree).map_err(|e| {
        Error::new(format!("cannot read the index of {}: {e}", worktree.display()))
            .hint("finish or abort the merge in progress (unmerged paths), then try again")
    })?;
    let work_tree = index.stage_all_files(repo, worktree)?;
    Ok(Snapshot { head, head_tree, branch: crate::git::read_head_branch(git_dir), index_tree, work_tree, index })
}

/// Turn a snapshot into a rescue commit: tree = the files, first parent = HEAD, second parent = a commit
/// holding the index, so both the work and what was staged can be restored exactly.
pub fn commit_snapshot(
    repo: &Repo,
    worktree: &Path,
    snap: &Snapshot,
    subject: &str,
    trailers: &[(&str, String)],
) -> Result<(String, String), Error> {
    commit_snapshot_onto(repo, worktree, snap, subject, trailers, &[])
}

/// [`commit_snapshot`] with more parents after the index commit (a branch tip HEAD does not contain).
pub fn commit_snapshot_onto(
    repo: &Repo,
    worktree: &Path,
    snap: &Snapshot,
    subject: &str,
    trailers: &[(&str, String)],
    extra_parents: &[String],
) -> Result<(String, String), Error> {
    let index_commit = commit_tree(repo, worktree, &snap.index_tree, &[&snap.head], &format!("index: {subject}\n"))?;
    let mut msg = format!("{subject}\n\n");
    for (k, v) in trailers {
        msg.push_str(&format!("{k}: {v}\n"));
    }
    msg.push_str(&format!("Neighbor-Rescue-Index: {index_commit}\n"));
    let mut parents = vec![snap.head.as_str(), index_commit.as_str()];
    parents.extend(extra_parents.iter().map(String::as_str));
    let work_commit = commit_tree(repo, worktree, &snap.work_tree, &parents, &msg)?;
    Ok((index_commit, work_commit))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    /// A copy keeps the real index's (maybe old) mtime, so it stays open while it lives: an open file is
    /// how `prune` tells a temp index in use from one a killed process left.
    #[test]
    fn temp_index_copy_is_held_open_while_it_lives() {
        let f = Fixture::new();
        let git_dir = f.ctx().repo.git_dir.clone();
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800);
        std::fs::File::options().write(true).open(git_dir.join("index")).unwrap().set_modified(old).unwrap();
        let tmp = TempIndex::copy_of_real(&git_dir).unwrap();
        let path = std::fs::canonicalize(&tmp.path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), old);
        let open_here = || {
            std::fs::read_dir("/proc/self/fd")
                .unwrap()
                .flatten()
                .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|l| l == path))
        };
        assert!(open_here(), "the copy is open while the TempIndex lives");
        drop(tmp);
        assert!(!path.exists());
    }

    /// An edit of the kind git's racy-clean check exists for: same size and same mtime as its index entry,
    /// the entry as new as the index file (an edit in the second the index was written). The real index
    /// sees it (git compares the contents of racy entries); so must a snapshot taken through a copy of it.
    #[test]
    fn snapshot_sees_an_edit_only_the_racy_check_catches() {
        let f = Fixture::new();
        f.git(&["config", "core.checkStat", "minimal"]);
        f.git(&["config", "core.trustctime", "false"]);
        let old = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_577_836_800); // 2020-01-01
        let touch = |p: &Path| std::fs::File::options().write(true).open(p).unwrap().set_modified(old).unwrap();
        f.write("notes.txt", "first\n");
        touch(&f.dir.join("notes.txt"));
        f.git(&["add", "notes.txt"]);
        f.git(&["commit", "-q", "-m", "notes"]);
        let ctx = f.ctx();
        std::fs::write(f.dir.join("notes.txt"), "SECOND").unwrap(); // the same six bytes
        touch(&f.dir.join("notes.txt"));
        touch(&ctx.repo.git_dir.join("index"));
        let snap = snapshot(&ctx.repo, &f.dir, &ctx.repo.git_dir).unwrap();
        assert_ne!(snap.work_tree, snap.head_tree, "the edit is in the snapshot");
        assert_ne!(worktree_tree(&f.dir, &ctx.repo.git_dir).unwrap(), snap.head_tree);
        assert_eq!(f.git(&["status", "--porcelain"]), " M notes.txt", "git itself sees the edit");
    }

    /// The private index starts as a copy of the real one, or as no file at all (never an empty file,
    /// which git would call corrupt), and is gone once dropped.
    #[test]
    fn temp_index_copies_or_leaves_absent_and_cleans_up() {
        let f = Fixture::new();
        let git_dir = f.ctx().repo.git_dir.clone();
        let tmp = TempIndex::copy_of_real(&git_dir).unwrap();
        let path = tmp.path.to_path_buf();
        assert!(path.file_name().unwrap().to_string_lossy().starts_with("neighbor-index.tmp."));
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(git_dir.join("index")).unwrap());
        drop(tmp);
        assert!(!path.exists());

        std::fs::remove_file(git_dir.join("index")).unwrap();
        let tmp = TempIndex::copy_of_real(&git_dir).unwrap();
        assert!(!tmp.path.exists(), "no empty file where git expects an index or nothing");
    }
}
