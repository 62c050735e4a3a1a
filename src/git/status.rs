//! What is staged: the index against HEAD, computed in-process (this runs in the pre-commit hook, on every
//! commit of every agent).
//!
//! The index's cache-tree records, for each directory whose entries did not change since the tree was
//! last written, the id of the tree those entries make. Where that id equals HEAD's tree for the same
//! directory, nothing under it is staged and the directory is skipped without reading anything. Only
//! directories on the paths of staged changes are compared entry by entry, so a commit of a few files in
//! a 20,000-file repository reads a handful of tree objects. Indexes this does not handle (split index,
//! sparse directories) go to `git diff --cached`, which gives the same answer.

use std::collections::BTreeMap;

use gix::bstr::{BStr, BString, ByteSlice};
use gix::index::entry::{Mode, Stage};
use gix::objs::tree::EntryKind;

use super::index_raw::{CacheTree, RawEntry, RawIndex, Run, Runs};
use super::{GitCmd, Repo};
use crate::error::Error;

/// One staged change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// `A` added, `M` modified, `T` type changed, `D` deleted, `U` unmerged.
    pub status: char,
    /// Path.
    pub path: String,
    /// New mode (`100644`…), `000000` when deleted or unmerged.
    pub mode: String,
    /// New blob id (zeros when deleted or unmerged).
    pub oid: String,
}

/// The staged changes, sorted by path: the index git would commit (`GIT_INDEX_FILE` when git set it, as it
/// does for `git commit -a` and `git commit <paths>`) against HEAD, or against nothing before the first
/// commit.
pub fn staged(repo: &Repo) -> Result<Vec<Staged>, Error> {
    match staged_in_process(repo) {
        Some(v) => Ok(v),
        None => staged_by_git(repo),
    }
}

fn index_path(repo: &Repo) -> std::path::PathBuf {
    match std::env::var_os("GIT_INDEX_FILE") {
        Some(p) => {
            let p = std::path::PathBuf::from(p);
            if p.is_absolute() { p } else { std::env::current_dir().map(|c| c.join(&p)).unwrap_or(p) }
        }
        None => repo.gix.index_path(),
    }
}

/// `None`: this index is one the in-process path does not handle; ask git. The index is read by
/// [`index_raw`](super::index_raw) (entries located, not decoded); one it does not handle is read by gix.
fn staged_in_process(repo: &Repo) -> Option<Vec<Staged>> {
    let path = index_path(repo);
    if let Some(raw) = super::index_raw::RawIndex::read(&path, repo.gix.object_hash()) {
        return staged_with(repo, &raw, raw.tree.as_ref());
    }
    let index = match gix::index::File::at(&path, repo.gix.object_hash(), true, Default::default()) {
        Ok(i) => i,
        Err(_) if !path.exists() => {
            gix::index::File::from_state(gix::index::State::new(repo.gix.object_hash()), path.clone())
        }
        Err(_) => return None,
    };
    staged_in(repo, &index)
}

/// [`staged_in_process`] for an index already read (split and sparse ones give `None`).
fn staged_in(repo: &Repo, index: &gix::index::File) -> Option<Vec<Staged>> {
    if index.link().is_some() || index.entries().iter().any(|e| e.mode.is_sparse()) {
        return None;
    }
    staged_with(repo, &GixIndex::new(index)?, index.tree().map(cache_tree).as_ref())
}

/// gix's cache-tree as the walk reads it.
fn cache_tree(t: &gix::index::extension::Tree) -> CacheTree {
    CacheTree {
        name: t.name.as_bstr().to_owned(),
        num_entries: t.num_entries,
        id: t.id,
        children: t.children.iter().map(cache_tree).collect(),
    }
}

fn staged_with(repo: &Repo, index: &dyn Index, tree: Option<&CacheTree>) -> Option<Vec<Staged>> {
    let head_tree = head_tree(repo)?;
    let empty = gix::ObjectId::empty_tree(repo.gix.object_hash());
    let mut out = Vec::new();
    let mut walk = Walk { repo, index, out: &mut out };
    walk.dir(BStr::new(b""), 0..index.runs().len(), (head_tree != empty).then_some(head_tree), tree)?;
    out.sort_by(|a, b| a.path.cmp(&b.path));
    Some(out)
}

/// HEAD's tree, the empty tree before the first commit; `None` when it cannot be read. The commit is read
/// as blobs are ([`super::blob::object`]): a loose one through the thread's one zlib stream.
fn head_tree(repo: &Repo) -> Option<gix::ObjectId> {
    let Some(commit) = repo.gix.head().ok()?.id() else {
        return Some(gix::ObjectId::empty_tree(repo.gix.object_hash()));
    };
    let (kind, data) = super::blob::object(repo, commit.detach()).ok()?;
    if kind != gix::object::Kind::Commit {
        return None;
    }
    gix::objs::CommitRefIter::from_bytes(&data, repo.gix.object_hash()).tree_id().ok()
}

/// An index as the walk reads it: its entries as runs of consecutive entries in one directory, in git's
/// order, and the entries of one run when the walk asks.
trait Index {
    fn runs(&self) -> &[Run];
    /// The names (paths without the run's directory) and fields of run `k`'s entries; `None` when they
    /// cannot be read (git is asked instead).
    fn files(&self, k: usize) -> Option<Vec<(BString, RawEntry)>>;
}

impl Index for RawIndex {
    fn runs(&self) -> &[Run] {
        &self.runs
    }
    fn files(&self, k: usize) -> Option<Vec<(BString, RawEntry)>> {
        RawIndex::files(self, self.runs.get(k)?)
    }
}

/// An index gix read (one the raw reader does not handle), in runs.
struct GixIndex<'a> {
    index: &'a gix::index::File,
    runs: Vec<Run>,
    /// Each run's first entry.
    firsts: Vec<usize>,
}

impl<'a> GixIndex<'a> {
    fn new(index: &'a gix::index::File) -> Option<GixIndex<'a>> {
        let (mut runs, mut firsts) = (Runs::default(), Vec::new());
        for (i, e) in index.entries().iter().enumerate() {
            let before = runs.len();
            runs.push(e.path(index), 0, 0)?;
            if runs.len() > before {
                firsts.push(i);
            }
        }
        Some(GixIndex { index, runs: runs.finish(), firsts })
    }
}

impl Index for GixIndex<'_> {
    fn runs(&self) -> &[Run] {
        &self.runs
    }
    fn files(&self, k: usize) -> Option<Vec<(BString, RawEntry)>> {
        let (run, first) = (self.runs.get(k)?, *self.firsts.get(k)?);
        let entries = self.index.entries().get(first..first.checked_add(run.count)?)?;
        entries
            .iter()
            .map(|e| {
                let name = e.path(self.index).strip_prefix(run.dir.as_slice())?;
                let stage = match e.stage() {
                    Stage::Unconflicted => 0,
                    Stage::Base => 1,
                    Stage::Ours => 2,
                    Stage::Theirs => 3,
                };
                let intent_to_add = e.flags.contains(gix::index::entry::Flags::INTENT_TO_ADD);
                Some((BString::from(name), RawEntry { mode: e.mode.bits(), id: e.id, stage, intent_to_add }))
            })
            .collect()
    }
}

struct Walk<'a> {
    repo: &'a Repo,
    index: &'a dyn Index,
    out: &'a mut Vec<Staged>,
}

/// What HEAD has at one name of a directory.
enum Head {
    Blob(gix::ObjectId, EntryKind),
    Tree(gix::ObjectId),
}

impl Walk<'_> {
    /// Compare directory `prefix` (empty or ending in `/`) of the index, the index's runs `runs`, with
    /// HEAD's tree `head` for it.
    fn dir(
        &mut self,
        prefix: &BStr,
        runs: std::ops::Range<usize>,
        head: Option<gix::ObjectId>,
        cache: Option<&CacheTree>,
    ) -> Option<()> {
        if let (Some(c), Some(h)) = (cache, head)
            && c.num_entries.is_some()
            && c.id == h
        {
            return Some(()); // unchanged since HEAD: nothing below is staged
        }
        let cached: BTreeMap<&[u8], &CacheTree> =
            cache.map(|c| c.children.iter().map(|k| (k.name.as_slice(), k)).collect()).unwrap_or_default();
        // The directory's own files (read from the index now, one read per run) and its subdirectories
        // (each a contiguous range of runs: everything under `<name>/` sits together in git's order).
        let all = self.index.runs();
        let mut files: BTreeMap<BString, RawEntry> = BTreeMap::new();
        let mut subdirs: BTreeMap<BString, std::ops::Range<usize>> = BTreeMap::new();
        let mut k = runs.start;
        while k < runs.end {
            // A run out of git's order (a corrupt index): give up, and git answers instead.
            let rest = all.get(k)?.dir.strip_prefix(prefix.as_bytes())?;
            if rest.is_empty() {
                // The directory's file names come in git's order, across all its runs.
                for (name, e) in self.index.files(k)? {
                    match files.last_key_value() {
                        // Another stage of a conflicted path: the first one stands for it.
                        Some((last, _)) if *last == name => {}
                        Some((last, _)) if *last > name => return None,
                        _ => {
                            files.insert(name, e);
                        }
                    }
                }
                k += 1;
            } else {
                let slash = rest.find_byte(b'/')?;
                let under = &all[k].dir[..prefix.len() + slash + 1];
                let mut end = k + 1;
                while end < runs.end && all[end].dir.starts_with(under) {
                    end += 1;
                }
                if subdirs.insert(BString::from(&rest[..slash]), k..end).is_some() {
                    return None;
                }
                k = end;
            }
        }
        let heads = match head {
            Some(id) => self.read_tree(id)?,
            None => BTreeMap::new(),
        };
        for (name, e) in &files {
            let path = join(prefix, name.as_ref());
            if e.intent_to_add {
                continue;
            }
            if e.stage != 0 {
                self.push('U', &path, None);
                continue;
            }
            let mode = Mode::from_bits_truncate(e.mode);
            match heads.get(name) {
                None => self.push('A', &path, Some(e)),
                Some(Head::Tree(t)) => {
                    self.push('A', &path, Some(e));
                    self.all_deleted(&format!("{path}/"), *t)?;
                }
                Some(Head::Blob(id, kind)) => {
                    let now = index_kind(mode)?;
                    if now != *kind && (is_link_or_module(now) || is_link_or_module(*kind)) {
                        self.push('T', &path, Some(e));
                    } else if now != *kind || *id != e.id {
                        self.push('M', &path, Some(e));
                    }
                }
            }
        }
        for (name, range) in &subdirs {
            let sub_prefix = BString::from(join(prefix, name.as_ref()) + "/");
            let sub_head = match heads.get(name) {
                Some(Head::Tree(t)) => Some(*t),
                Some(Head::Blob(..)) => {
                    // A file in HEAD became a directory in the index.
                    if !files.contains_key(name) {
                        self.push('D', &join(prefix, name.as_ref()), None);
                    }
                    None
                }
                None => None,
            };
            let sub_cache = cached.get(name.as_slice()).copied();
            self.dir(sub_prefix.as_ref(), range.clone(), sub_head, sub_cache)?;
        }
        // What HEAD has here that the index has neither as a file nor as a directory.
        for (name, h) in &heads {
            if files.contains_key(name) || subdirs.contains_key(name) {
                continue;
            }
            let path = join(prefix, name.as_ref());
            match h {
                Head::Blob(..) => self.push('D', &path, None),
                Head::Tree(t) => self.all_deleted(&format!("{path}/"), *t)?,
            }
        }
        Some(())
    }

    fn all_deleted(&mut self, prefix: &str, tree: gix::ObjectId) -> Option<()> {
        for (name, h) in self.read_tree(tree)? {
            let path = format!("{prefix}{name}");
            match h {
                Head::Blob(..) => self.push('D', &path, None),
                Head::Tree(t) => self.all_deleted(&format!("{path}/"), t)?,
            }
        }
        Some(())
    }

    fn read_tree(&self, id: gix::ObjectId) -> Option<BTreeMap<BString, Head>> {
        let (kind, data) = super::blob::object(self.repo, id).ok()?;
        if kind != gix::object::Kind::Tree {
            return None;
        }
        let mut out = BTreeMap::new();
        for e in gix::objs::TreeRefIter::from_bytes(&data, self.repo.gix.object_hash()) {
            let e = e.ok()?;
            let kind = e.mode.kind();
            let h =
                if kind == EntryKind::Tree { Head::Tree(e.oid.to_owned()) } else { Head::Blob(e.oid.to_owned(), kind) };
            out.insert(BString::from(e.filename), h);
        }
        Some(out)
    }

    fn push(&mut self, status: char, path: &str, e: Option<&RawEntry>) {
        let (mode, oid) = match e {
            Some(e) if status != 'D' && status != 'U' => {
                (format!("{:06o}", Mode::from_bits_truncate(e.mode).bits()), e.id.to_string())
            }
            _ => ("000000".to_string(), gix::ObjectId::null(self.repo.gix.object_hash()).to_string()),
        };
        self.out.push(Staged { status, path: path.to_string(), mode, oid });
    }
}

fn join(prefix: &BStr, name: &BStr) -> String {
    format!("{}{}", prefix.to_str_lossy(), name.to_str_lossy())
}

fn index_kind(mode: Mode) -> Option<EntryKind> {
    Some(mode.to_tree_entry_mode()?.kind())
}

fn is_link_or_module(k: EntryKind) -> bool {
    matches!(k, EntryKind::Link | EntryKind::Commit)
}

fn staged_by_git(repo: &Repo) -> Result<Vec<Staged>, Error> {
    let out = repo.git()?.args(["diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev"]).output()?;
    let mut fields = out.split(|b| *b == 0);
    let mut files = Vec::new();
    while let Some(meta) = fields.next() {
        if meta.is_empty() {
            continue;
        }
        let Some(path) = fields.next() else { break };
        let meta = String::from_utf8_lossy(meta);
        let parts: Vec<&str> = meta.trim_start_matches(':').split(' ').collect();
        let (Some(mode), Some(oid), Some(status)) = (parts.get(1), parts.get(3), parts.get(4)) else { continue };
        files.push(Staged {
            status: status.chars().next().unwrap_or('M'),
            path: String::from_utf8_lossy(path).into_owned(),
            mode: mode.to_string(),
            oid: oid.to_string(),
        });
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Paths with uncommitted changes in the worktree at `dir` (tracked, staged or untracked; a rename counts
/// as its new path). Never takes `index.lock` (`GIT_OPTIONAL_LOCKS=0`): looking must not block a writer.
pub fn dirty_paths(dir: &std::path::Path) -> Result<Vec<String>, Error> {
    let out = super::GitCmd::new(dir)?
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--ignore-submodules=none"])
        .output()?;
    let mut files = Vec::new();
    let mut it = out.split(|b| *b == 0).filter(|s| !s.is_empty());
    while let Some(rec) = it.next() {
        if rec.len() < 4 {
            continue;
        }
        let (xy, p) = (&rec[..2], &rec[3..]);
        files.push(String::from_utf8_lossy(p).into_owned());
        if xy[0] == b'R' || xy[0] == b'C' {
            it.next(); // rename source
        }
    }
    Ok(files)
}

/// Whether the worktree at `dir` has any uncommitted change (what [`dirty_paths`] would list, without
/// listing it): untracked directories are reported whole (`-unormal`, which lets git use its untracked
/// cache) and renames are not looked for. Never takes `index.lock`.
pub fn is_dirty(dir: &std::path::Path) -> Result<bool, Error> {
    let out = super::GitCmd::new(dir)?
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args([
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=normal",
            "--no-renames",
            "--ignore-submodules=none",
        ])
        .output()?;
    Ok(!out.is_empty())
}

/// Paths under `prefix` where the worktree at `dir` differs from its HEAD: staged, not staged, or
/// untracked (every record `git status` gives).
/// `git status` of the tracked files under `prefix` in the worktree at `dir`, for its side effect only:
/// like any status that can take the index lock, it writes the index again when entries needed their
/// files hashed (racily clean ones), so the next look at them costs a `stat` each. (`update-index
/// --refresh` would not: it writes the index only when an entry's data changed.)
pub fn refresh_under(dir: &std::path::Path, prefix: &str) -> Result<(), Error> {
    super::GitCmd::new(dir)?.args(["status", "--porcelain=v1", "-z", "--untracked-files=no", "--", prefix]).run()?;
    Ok(())
}

pub fn changed_paths_under(dir: &std::path::Path, prefix: &str) -> Result<Vec<String>, Error> {
    let out = super::GitCmd::new(dir)?
        .args(["status", "--porcelain=v1", "-z", "--untracked-files=all", "--", prefix])
        .output()?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|r| r.len() > 3 && r[2] == b' ')
        .map(|r| String::from_utf8_lossy(&r[3..]).into_owned())
        .collect())
}

/// The gitlinks (submodules) the index of the worktree at `dir` records, as paths.
pub fn submodule_paths(repo: &Repo, dir: &std::path::Path) -> Result<Vec<String>, Error> {
    let listing = repo.git_in(dir)?.args(["ls-files", "--stage", "-z"]).output()?;
    Ok(listing
        .split(|b| *b == 0)
        .filter(|r| r.starts_with(b"160000 "))
        .filter_map(|rec| {
            rec.iter().position(|b| *b == b'\t').map(|tab| String::from_utf8_lossy(&rec[tab + 1..]).into_owned())
        })
        .collect())
}

/// How many commits of the repository at `dir` (its branches and HEAD) are on none of its remote-tracking
/// refs or tags: work that exists only there.
pub fn local_only_commits(repo: &Repo, dir: &std::path::Path) -> Result<u64, Error> {
    let heads = repo.git_in(dir)?.args(["for-each-ref", "--format=%(objectname)", "refs/heads"]).read()?;
    let mut tips: Vec<String> = heads.lines().map(String::from).collect();
    tips.push("HEAD".into());
    let n = repo
        .git_in(dir)?
        .args(["rev-list", "--count"])
        .args(&tips)
        .args(["--not", "--remotes", "--tags", "--"])
        .read()?;
    Ok(n.trim().parse().unwrap_or(0))
}

/// The commit checked out in the worktree at `dir`, if HEAD names one.
pub fn head_commit(repo: &Repo, dir: &std::path::Path) -> Option<String> {
    repo.git_in(dir).ok()?.args(["rev-parse", "--verify", "-q", "HEAD"]).read().ok().filter(|h| !h.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Fixture;

    /// The in-process answer is git's answer, over adds, edits, deletions, mode and type changes, a file
    /// becoming a directory and back, nested directories, and a cache-tree that is valid, partly valid and
    /// absent.
    #[test]
    fn in_process_staged_equals_git_diff_cached() {
        staged_scenario(None);
    }

    /// The same with index version 4, git's compressed paths (what `feature.manyFiles` writes), from the
    /// first index on: every index of the scenario is read by the raw reader.
    #[test]
    fn in_process_staged_equals_git_diff_cached_with_index_version_4() {
        staged_scenario(Some(4));
    }

    /// Sets `index.version` (new indexes) and rewrites the existing index in that version.
    fn use_index_version(f: &Fixture, version: u32) {
        f.git(&["config", "index.version", &version.to_string()]);
        f.git(&["update-index", "--index-version", &version.to_string()]);
    }

    fn index_version(f: &Fixture) -> u32 {
        let data = std::fs::read(f.dir.join(".git/index")).unwrap();
        u32::from_be_bytes(data[4..8].try_into().unwrap())
    }

    fn staged_scenario(version: Option<u32>) {
        let f = Fixture::new();
        if let Some(v) = version {
            use_index_version(&f, v);
        }
        for (p, c) in [
            ("a/b/c.txt", "c"),
            ("a/b/d.txt", "d"),
            ("a/e.txt", "e"),
            ("top.txt", "t"),
            ("x/y/z.txt", "z"),
            ("f", "file"),
            // Names that sort between a directory's entries and its siblings: `a-b`, `a.txt` and `a0`
            // around `a/`, so stepping over `a/` must stop exactly at its end.
            ("a-b/y.txt", "y"),
            ("a.txt", "dot"),
            ("a0", "zero"),
        ] {
            f.write(p, c);
        }
        f.git(&["add", "-A"]);
        f.git(&["commit", "-qm", "tree"]);
        // Both in-process readings (the raw reader the hook uses, and gix's, its fallback) against git.
        let check = |label: &str| {
            if let Some(v) = version {
                assert_eq!(index_version(&f), v, "{label}: the index is still version {v}");
            }
            let ctx = f.ctx();
            let path = index_path(&ctx.repo);
            let raw = RawIndex::read(&path, ctx.repo.gix.object_hash()).expect("the raw reader handles it");
            let by_raw = staged_with(&ctx.repo, &raw, raw.tree.as_ref()).expect("raw: in-process path taken");
            let git = staged_by_git(&ctx.repo).unwrap();
            assert_eq!(by_raw, git, "raw reader: {label}");
            match gix::index::File::at(&path, ctx.repo.gix.object_hash(), true, Default::default()) {
                Ok(index) => assert_eq!(staged_in(&ctx.repo, &index).as_ref(), Some(&git), "gix: {label}"),
                // gix 0.90 cannot read an entry whose path overflows the length field; git can.
                Err(_) => assert!(label.starts_with("a 4,000-byte path"), "gix: {label}"),
            }
            assert_eq!(staged_in_process(&ctx.repo).as_ref(), Some(&git), "{label}");
            git.len()
        };
        assert_eq!(check("nothing staged"), 0);
        f.write("a/b/c.txt", "changed");
        f.write("new/dir/n.txt", "n");
        f.git(&["add", "-A"]);
        assert_eq!(check("edit and add"), 2);
        f.write("a-b/y.txt", "y2");
        f.write("a0", "zero2");
        f.write("a/b/new.txt", "new");
        f.git(&["add", "-A"]);
        assert_eq!(check("beside and inside a/"), 5);
        std::fs::remove_file(f.dir.join("a/e.txt")).unwrap();
        std::fs::remove_dir_all(f.dir.join("x")).unwrap();
        f.git(&["add", "-A"]);
        assert_eq!(check("file and whole directory deleted"), 7);
        f.git(&["update-index", "--chmod=+x", "top.txt"]);
        assert!(check("mode change") > 0);
        std::fs::remove_file(f.dir.join("f")).unwrap();
        f.write("f/inside.txt", "now a dir");
        f.git(&["add", "-A"]);
        assert!(check("file became a directory") > 0);
        f.git(&["commit", "-qm", "more"]);
        assert_eq!(check("after commit, cache-tree fresh"), 0);
        std::fs::remove_dir_all(f.dir.join("f")).unwrap();
        std::os::unix::fs::symlink("top.txt", f.dir.join("f")).unwrap();
        f.git(&["add", "-A"]);
        assert!(check("directory became a symlink") > 0);
        std::fs::remove_file(f.dir.join("top.txt")).unwrap();
        std::os::unix::fs::symlink("a/e.txt", f.dir.join("top.txt")).unwrap();
        f.git(&["add", "-A"]);
        assert!(check("file became a symlink") > 0);
        f.git(&["commit", "-qm", "links"]);
        // No cache-tree at all: read-tree drops it.
        f.git(&["read-tree", "HEAD"]);
        f.write("a/b/d.txt", "dd");
        f.git(&["add", "a/b/d.txt"]);
        assert!(check("without a cache-tree") > 0);
        // Index version 3: an intent-to-add entry (extended flags) is not staged.
        f.write("later.txt", "later");
        f.git(&["add", "-N", "later.txt"]);
        assert!(check("intent to add") > 0);
        f.git(&["rm", "-q", "--cached", "later.txt"]);
        // A path longer than the 12-bit length field (git stores 0xFFF and ends it with a NUL).
        let long = format!("{}/leaf.txt", vec!["d".repeat(200); 22].join("/"));
        let blob = f.git(&["hash-object", "-w", "--stdin"]);
        f.git(&["update-index", "--add", "--cacheinfo", &format!("100644,{},{long}", blob.trim())]);
        assert!(check("a 4,000-byte path") > 0);
        f.git(&["commit", "-qm", "long"]);
        assert_eq!(check("a 4,000-byte path, committed"), 0);
        f.git(&["rm", "-q", "--cached", &long]);
        f.git(&["commit", "-qm", "no long path"]);
        // A conflict: stages 1-3 of one path (a three-way read-tree records them without touching files).
        let base = f.git(&["rev-parse", "HEAD"]);
        f.git(&["checkout", "-qb", "other"]);
        f.write("a0", "theirs");
        f.git(&["commit", "-qam", "theirs"]);
        f.git(&["checkout", "-q", "-"]);
        f.write("a0", "ours");
        f.git(&["commit", "-qam", "ours"]);
        f.git(&["read-tree", "-m", &base, "HEAD", "other"]);
        assert!(check("unmerged") > 0);
        f.git(&["read-tree", "HEAD"]);
        // The index rewritten in another version in place, with something staged.
        f.git(&["update-index", "--index-version", if version == Some(4) { "2" } else { "4" }]);
        f.write("a0", "v4");
        f.git(&["add", "a0"]);
        let ctx = f.ctx();
        let raw = RawIndex::read(&index_path(&ctx.repo), ctx.repo.gix.object_hash()).expect("read");
        let git = staged_by_git(&ctx.repo).unwrap();
        assert_eq!(staged_with(&ctx.repo, &raw, raw.tree.as_ref()).as_ref(), Some(&git));
        assert_eq!(staged_in_process(&ctx.repo).unwrap(), git);
    }

    /// Before the first commit of a branch (HEAD names a branch that does not exist yet), everything in the
    /// index is staged, as git says.
    #[test]
    fn before_the_first_commit_everything_is_staged() {
        let f = Fixture::new();
        f.write("a/b.txt", "b");
        f.git(&["add", "-A"]);
        f.git(&["checkout", "-q", "--orphan", "fresh"]);
        let ctx = f.ctx();
        let git = staged_by_git(&ctx.repo).unwrap();
        assert!(git.len() >= 3 && git.iter().all(|s| s.status == 'A'), "{git:?}");
        assert_eq!(staged_in_process(&ctx.repo).as_ref(), Some(&git));
    }

    /// A directory's extent in the index comes from the index's own entries, never from the entry count
    /// its cache-tree node gives: with that count one short or one long (a damaged or stale index), the
    /// staged file right after that directory is still seen.
    #[test]
    fn a_wrong_cache_tree_count_is_not_trusted() {
        let f = Fixture::new();
        for p in ["m/b/1.txt", "m/b/2.txt", "m/b/3.txt", "m/c.txt", "m/d/4.txt"] {
            f.write(p, p);
        }
        f.git(&["add", "-A"]);
        f.git(&["commit", "-qm", "tree"]);
        f.write("m/c.txt", "changed");
        f.git(&["add", "m/c.txt"]);
        let ctx = f.ctx();
        let want = staged_by_git(&ctx.repo).unwrap();
        assert_eq!(want.iter().map(|s| s.path.as_str()).collect::<Vec<_>>(), ["m/c.txt"]);
        let path = index_path(&ctx.repo);
        let data = std::fs::read(&path).unwrap();
        // The cache-tree node of m/b: its name, a NUL, then "<count> <subtrees>\n".
        let node = data.windows(4).rposition(|w| w == b"b\x003 ").expect("m/b's node, valid, 3 entries");
        for wrong in [b'2', b'4'] {
            let mut bad = data.clone();
            bad[node + 2] = wrong;
            std::fs::write(&path, &bad).unwrap();
            let raw = RawIndex::read(&path, ctx.repo.gix.object_hash()).expect("read");
            let b = raw.tree.as_ref().and_then(|t| t.children.iter().find(|c| c.name == "m"));
            let b = b.and_then(|m| m.children.iter().find(|c| c.name == "b")).unwrap();
            assert_eq!(b.num_entries, Some(u32::from(wrong - b'0')), "the count was changed");
            assert_eq!(
                staged_with(&ctx.repo, &raw, raw.tree.as_ref()).as_ref(),
                Some(&want),
                "count {}",
                wrong as char
            );
        }
    }
}

/// How [`tracked_changes`] answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Changes {
    /// A tracked file differs from the index, or the index from HEAD (or a conflict is unresolved).
    Yes,
    /// Neither.
    No,
    /// The look took longer than its budget: not known.
    Unknown,
}

/// Are there uncommitted changes to tracked files in this worktree (untracked files are not looked for)?
/// Fast enough for a shell prompt: the index is read in-process, every tracked file is `lstat`ed on both
/// cores against the stat data the index recorded (stopping at the first file that is surely changed:
/// deleted, or of another type), and only files whose stat data differ, or that are racily clean, go to
/// `git diff --quiet`, which compares their contents as git would (filters, line endings). What is staged
/// comes from the cache-tree walk of [`staged`]. `budget` bounds the stat scan: past it the answer is
/// [`Changes::Unknown`]. Never takes `index.lock`.
pub fn tracked_changes(repo: &Repo, budget: std::time::Duration) -> Result<Changes, Error> {
    let Some(workdir) = repo.workdir.clone() else { return Ok(Changes::No) };
    let started = std::time::Instant::now();
    let path = repo.gix.index_path();
    let index = match gix::index::File::at(&path, repo.gix.object_hash(), true, Default::default()) {
        Ok(i) => i,
        Err(_) if !path.exists() => return Ok(if repo.gix.head_id().is_ok() { Changes::Yes } else { Changes::No }),
        Err(e) => return Err(Error::new(format!("cannot read the index {}: {e}", path.display()))),
    };
    if index.link().is_some() || index.entries().iter().any(|e| e.mode.is_sparse()) {
        // Split or sparse indexes: let git answer.
        let cmd = GitCmd::new(&workdir)?.env("GIT_OPTIONAL_LOCKS", "0").args(["diff", "--quiet", "HEAD", "--"]);
        return differs(cmd);
    }
    if index.entries().iter().any(|e| e.stage() != Stage::Unconflicted) {
        return Ok(Changes::Yes);
    }
    let mut cleared: std::collections::HashSet<BString> = std::collections::HashSet::new();
    loop {
        let scan = stat_scan(&index, &workdir, started, budget, &cleared);
        let (suspects, complete) = match scan {
            Scan::Surely => return Ok(Changes::Yes),
            Scan::Late => return Ok(Changes::Unknown),
            Scan::Suspects { paths, complete } => (paths, complete),
        };
        if suspects.is_empty() {
            break;
        }
        // git compares contents the way it would for a commit; literal pathspecs, so names are names.
        let mut cmd = GitCmd::new(&workdir)?.env("GIT_OPTIONAL_LOCKS", "0").env("GIT_LITERAL_PATHSPECS", "1").args([
            "diff",
            "--quiet",
            "--no-ext-diff",
            "--",
        ]);
        let all = suspects.len() > 512;
        if !all {
            cmd = cmd.args(suspects.iter().map(|p| p.to_str_lossy().into_owned()));
        }
        if differs(cmd)? == Changes::Yes {
            return Ok(Changes::Yes);
        }
        if all || complete {
            break; // every file was looked at, by git or by the scan
        }
        // Touched but unchanged (or racily clean): look again at the rest, past these.
        let before = cleared.len();
        cleared.extend(suspects);
        if cleared.len() == before {
            break;
        }
    }
    // What is staged, from the index read above (this runs on every prompt: one read of it).
    let staged = match staged_in(repo, &index) {
        Some(v) => v,
        None => staged_by_git(repo)?,
    };
    Ok(if staged.is_empty() { Changes::No } else { Changes::Yes })
}

/// What one stat pass over the index found.
enum Scan {
    /// A tracked file is deleted or changed type: surely a change.
    Surely,
    /// The budget ran out.
    Late,
    /// Files whose stat data differ from the index or are racily clean: their contents must be compared.
    /// A pass stops at the first file whose stat data differ (racily clean ones are only collected);
    /// `complete`: it looked at every file.
    Suspects { paths: Vec<BString>, complete: bool },
}

/// `lstat` every tracked file (those in `cleared` excepted) against the index, on every core.
fn stat_scan(
    index: &gix::index::File,
    workdir: &std::path::Path,
    started: std::time::Instant,
    budget: std::time::Duration,
    cleared: &std::collections::HashSet<BString>,
) -> Scan {
    use std::sync::atomic::{AtomicU8, Ordering};
    const GOING: u8 = 0;
    const SURELY: u8 = 1;
    const LATE: u8 = 2;
    const SUSPECT: u8 = 3;
    let stamp = index.timestamp();
    let opts = gix::index::entry::stat::Options::default();
    let entries = index.entries();
    let state = AtomicU8::new(GOING);
    let suspects = std::sync::Mutex::new(Vec::<BString>::new());
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
    let chunk = entries.len().div_ceil(threads).max(1);
    let skip = gix::index::entry::Flags::SKIP_WORKTREE | gix::index::entry::Flags::INTENT_TO_ADD;
    std::thread::scope(|s| {
        for part in entries.chunks(chunk) {
            let (state, suspects) = (&state, &suspects);
            s.spawn(move || {
                let mut mine = Vec::new();
                let stop = |why: u8| {
                    let _ = state.compare_exchange(GOING, why, Ordering::Relaxed, Ordering::Relaxed);
                };
                for (n, e) in part.iter().enumerate() {
                    if n % 128 == 0 {
                        if state.load(Ordering::Relaxed) != GOING {
                            break;
                        }
                        if started.elapsed() > budget {
                            stop(LATE);
                            break;
                        }
                    }
                    if e.flags.intersects(skip) || e.mode == Mode::COMMIT {
                        continue;
                    }
                    let rel = e.path(index);
                    if cleared.contains(rel) {
                        continue;
                    }
                    let Ok(rel_path) = gix::path::from_bstr(rel) else {
                        mine.push(rel.to_owned()); // a name this platform cannot spell: let git judge it
                        continue;
                    };
                    let Ok(meta) = gix::index::fs::Metadata::from_path_no_follow(&workdir.join(rel_path)) else {
                        stop(SURELY); // deleted
                        break;
                    };
                    if meta.is_symlink() != (e.mode == Mode::SYMLINK) || meta.is_dir() {
                        stop(SURELY); // another type now
                        break;
                    }
                    let same = gix::index::entry::Stat::from_fs(&meta).is_ok_and(|st| st.matches(&e.stat, opts));
                    if !same {
                        mine.push(rel.to_owned());
                        stop(SUSPECT);
                        break;
                    }
                    if e.stat.is_racy(stamp, opts) {
                        mine.push(rel.to_owned());
                    }
                }
                if let Ok(mut all) = suspects.lock() {
                    all.extend(mine);
                }
            });
        }
    });
    match state.into_inner() {
        SURELY => Scan::Surely,
        LATE => Scan::Late,
        st => Scan::Suspects { paths: suspects.into_inner().unwrap_or_default(), complete: st == GOING },
    }
}

/// `git diff --quiet`'s answer: exit 0 no differences, 1 differences, anything else an error.
fn differs(cmd: GitCmd) -> Result<Changes, Error> {
    match cmd.answer()? {
        (Some(0), ..) => Ok(Changes::No),
        (Some(1), ..) => Ok(Changes::Yes),
        (_, _, err) => Err(Error::new(format!("`git diff --quiet` failed: {}", err.trim()))),
    }
}

/// What a remembered answer of [`tracked_changes`] depends on besides the files themselves: the index file
/// (size, modification time, inode) and HEAD's commit. The same stamp and no change to a tracked file since
/// the answer was computed: the same answer.
pub fn index_stamp(repo: &Repo) -> String {
    use std::os::unix::fs::MetadataExt;
    let index = std::fs::metadata(repo.gix.index_path())
        .map(|m| format!("{}:{}.{}:{}", m.len(), m.mtime(), m.mtime_nsec(), m.ino()))
        .unwrap_or_else(|_| "no-index".into());
    let head = repo.gix.head_id().map(|id| id.to_string()).unwrap_or_else(|_| "unborn".into());
    format!("{index} {head}")
}

/// The directories where a tracked file can change without the index changing: every directory that holds
/// a tracked file, with its ancestors and the worktree's top (submodules' own contents excluded).
pub fn tracked_dirs(repo: &Repo) -> Result<Vec<std::path::PathBuf>, Error> {
    use std::os::unix::ffi::OsStrExt;
    let Some(workdir) = &repo.workdir else { return Ok(Vec::new()) };
    let path = repo.gix.index_path();
    let index = match gix::index::File::at(&path, repo.gix.object_hash(), true, Default::default()) {
        Ok(i) => i,
        Err(_) if !path.exists() => return Ok(vec![workdir.clone()]),
        Err(e) => return Err(Error::new(format!("cannot read the index {}: {e}", path.display()))),
    };
    let mut dirs: std::collections::BTreeSet<&BStr> = std::collections::BTreeSet::new();
    for e in index.entries() {
        let p = e.path(&index);
        let mut end = p.len();
        while let Some(slash) = p[..end].rfind_byte(b'/') {
            if !dirs.insert(p[..slash].as_bstr()) {
                break;
            }
            end = slash;
        }
    }
    let mut out = vec![workdir.clone()];
    out.extend(dirs.into_iter().map(|d| workdir.join(std::ffi::OsStr::from_bytes(d))));
    Ok(out)
}

/// The in-process staged changes (the raw reader's and gix's readings of the index) against git's, over
/// random histories: files, directories and symlinks written, removed and turned into one another under
/// names that sort around `/` (`a`, `a-b`, `a.b`, `a0`), with commits (a whole cache-tree) and `read-tree
/// HEAD` (none) between them, so the walk meets valid, partly valid and absent cache-trees.
#[cfg(test)]
mod staged_props {
    use super::*;
    use crate::testing::Fixture;
    use proptest::prelude::*;

    const NAMES: &[&str] = &["a", "a-b", "a.b", "a0", "b"];

    #[derive(Debug, Clone)]
    enum Op {
        /// A file at this path (made room for), with this content and executable bit.
        Write(Vec<usize>, u8, bool),
        /// Whatever is at this path, gone.
        Remove(Vec<usize>),
        /// A symlink at this path.
        Link(Vec<usize>),
        /// `git add -A` and a commit: a whole cache-tree.
        Commit,
        /// `git read-tree HEAD`: no cache-tree, nothing staged.
        DropCacheTree,
        /// `git add -A`.
        Stage,
    }

    fn path() -> impl Strategy<Value = Vec<usize>> {
        proptest::collection::vec(0..NAMES.len(), 1..=3)
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (path(), any::<u8>(), any::<bool>()).prop_map(|(p, c, x)| Op::Write(p, c, x)),
            2 => path().prop_map(Op::Remove),
            1 => path().prop_map(Op::Link),
            1 => Just(Op::Commit),
            1 => Just(Op::DropCacheTree),
            2 => Just(Op::Stage),
        ]
    }

    fn rel(p: &[usize]) -> String {
        p.iter().map(|&i| NAMES[i]).collect::<Vec<_>>().join("/")
    }

    /// Remove what stands in the way of a file at `rel`: a directory there, a file or link at a parent.
    fn make_room(root: &std::path::Path, rel: &str) -> std::path::PathBuf {
        let parts: Vec<&str> = rel.split('/').collect();
        let mut at = root.to_path_buf();
        for (k, part) in parts.iter().enumerate() {
            at.push(part);
            let last = k + 1 == parts.len();
            match std::fs::symlink_metadata(&at) {
                Ok(m) if m.is_dir() && last => std::fs::remove_dir_all(&at).unwrap(),
                Ok(m) if !m.is_dir() => std::fs::remove_file(&at).unwrap(),
                _ => {}
            }
        }
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        at
    }

    fn apply(f: &Fixture, op: &Op) {
        use std::os::unix::fs::PermissionsExt;
        match op {
            Op::Write(p, c, x) => {
                let at = make_room(&f.dir, &rel(p));
                std::fs::write(&at, format!("{c}\n")).unwrap();
                std::fs::set_permissions(&at, std::fs::Permissions::from_mode(if *x { 0o755 } else { 0o644 })).unwrap();
            }
            Op::Remove(p) => {
                let at = f.dir.join(rel(p));
                match std::fs::symlink_metadata(&at) {
                    Ok(m) if m.is_dir() => std::fs::remove_dir_all(&at).unwrap(),
                    Ok(_) => std::fs::remove_file(&at).unwrap(),
                    Err(_) => {}
                }
            }
            Op::Link(p) => {
                let at = make_room(&f.dir, &rel(p));
                std::os::unix::fs::symlink("README.md", &at).unwrap();
            }
            Op::Commit => {
                f.git(&["add", "-A"]);
                f.git(&["commit", "-q", "--allow-empty", "-m", "step"]);
            }
            Op::DropCacheTree => {
                f.git(&["read-tree", "HEAD"]);
            }
            Op::Stage => {
                f.git(&["add", "-A"]);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig {
            cases: if std::env::var("NEIGHBOR_LONG").is_ok_and(|v| v == "1") { 1_000 } else { 40 },
            ..ProptestConfig::default()
        })]

        #[test]
        fn staged_in_process_is_what_git_diff_cached_says(ops in proptest::collection::vec(op(), 1..16), v4 in any::<bool>()) {
            let f = Fixture::new();
            if v4 {
                f.git(&["config", "index.version", "4"]);
                f.git(&["update-index", "--index-version", "4"]);
            }
            for op in &ops {
                apply(&f, op);
                if !matches!(op, Op::Stage | Op::Commit) {
                    continue;
                }
                let ctx = f.ctx();
                let git = staged_by_git(&ctx.repo).unwrap();
                let raw = RawIndex::read(&index_path(&ctx.repo), ctx.repo.gix.object_hash());
                let raw = raw.expect("git's own index is read");
                prop_assert_eq!(staged_with(&ctx.repo, &raw, raw.tree.as_ref()), Some(git.clone()), "after {:?}", op);
                // The same index read by gix (the fallback for indexes the raw reader leaves alone).
                let by_gix = gix::index::File::at(index_path(&ctx.repo), ctx.repo.gix.object_hash(), true, Default::default());
                prop_assert_eq!(staged_in(&ctx.repo, &by_gix.expect("gix reads it")), Some(git.clone()), "gix, after {:?}", op);
                prop_assert_eq!(staged_in_process(&ctx.repo), Some(git));
            }
            f.git(&["add", "-A"]);
            let ctx = f.ctx();
            prop_assert_eq!(staged_in_process(&ctx.repo), Some(staged_by_git(&ctx.repo).unwrap()), "at the end");
        }
    }
}
