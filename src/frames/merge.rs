//! The building manager: `merge-frame` applies all of a frame's deltas to the target branch in one commit.
//!
//! Order of work, under the building lock: repair a previous crash (journal, own stale index lock,
//! scratch files); refuse a target some worktree rebases or bisects, or a checked-out state dir reached
//! through a symlink; take frame N; under the mailbox lock (exclusive, so no writer can slip a delta
//! in unseen), collect its deltas; quarantine invalid ones (paths git would not check out, stream names
//! that are not names, file/directory conflicts within the frame); apply the rest in stream-name order
//! onto the target's tree (read from git objects, never from a worktree); take the checked-out target's
//! `index.lock`; build the tree and verify it differs from the base in exactly the changed files; commit;
//! then move the target, archive the deltas and quarantine the bad ones in ONE `update-ref --stdin`
//! transaction — the commit point. If the target is checked out, its changed files are then written
//! atomically and its index replaced under the lock we hold; a journal written before the commit point
//! lets the next run (or `prune`, `doctor --fix`) finish that step after a crash. A frame with nothing
//! to merge makes no commit. With a remote, the same refs and the frame's seal
//! (`refs/neighbor/seal/<N>`, see [`mailbox::SEALS`]) move on the remote in one `git push --atomic`
//! guarded by leases on the target and the seal, retried from the top when either moved.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::building::events::{self, Event};
use crate::building::lease;
use crate::building::registry;
use crate::building::state_dir;
use crate::building::{Ctx, normalize};
use crate::error::{Error, IoContext};
use crate::frames::delta::{self, Delta, Limits, Overlay, RelPath, StateSource};
use crate::frames::mailbox::{self, APPLIED, ARCHIVE, DELTAS, FRAME_TRAILER, Kind, QUARANTINE, Slot};
use crate::frames::store::{self, Changes};
use crate::git::Repo;
use crate::git::remote::{self, PushOutcome};
use crate::git::{blob, checkout, pack, refs, revs, status, tree as trees};
use crate::protect::guard;

/// What to merge and how.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Frame number (default: last merged + 1).
    pub frame: Option<u64>,
    /// Streams expected this frame (default: `merge.expect`).
    pub expect: Option<Vec<String>>,
    /// How long to wait for expected streams.
    pub wait: Duration,
    /// Print the plan and diff; change nothing.
    pub dry_run: bool,
    /// Publish to this remote (`--push`).
    pub push: Option<String>,
    /// A user program that orders and applies the deltas.
    pub reducer: Option<Vec<String>>,
}

/// Per-stream outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Its ops were applied.
    Applied,
    /// It wrote a fallback delta.
    Fallback,
    /// Expected, wrote nothing, no sign of a crash.
    Missing,
    /// Expected, wrote nothing, and its tenant's lease is dead.
    Crashed,
    /// Its delta was invalid and moved to the quarantine.
    Quarantined,
}

/// One stream in the report.
#[derive(Debug, Clone, Serialize)]
pub struct StreamReport {
    /// Stream name.
    pub stream: String,
    /// Outcome.
    pub status: Outcome,
    /// Why (quarantine reason, crash evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Number of ops in its delta.
    pub ops: usize,
}

/// The result of one `merge-frame`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Frame number.
    pub frame: u64,
    /// Target branch.
    pub target: String,
    /// The frame was merged before this run: nothing was done.
    pub already_merged: bool,
    /// The frame commit (new, or the existing one when already merged).
    pub commit: Option<String>,
    /// Per stream, in stream-name order.
    pub streams: Vec<StreamReport>,
    /// State files the frame changed (repository paths).
    pub changed: Vec<String>,
    /// `--dry-run`: nothing was written.
    pub dry_run: bool,
    /// `--dry-run`: the resulting diff.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diff: Option<String>,
    /// Remote the frame was pushed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pushed: Option<String>,
    /// Non-fatal notes (repairs done, worktree left behind, …).
    pub notes: Vec<String>,
    /// The frame had nothing to merge (no delta applied or fallen back): no commit was made.
    pub nothing_to_merge: bool,
}

/// Reads state files from a tree object, refusing any path through a symlink entry. Each directory is
/// decoded once and kept: a frame reads a thousand files from one directory, and looking each up from the
/// root again was most of a large frame's work.
struct TreeSource<'r> {
    repo: &'r gix::Repository,
    tree: gix::ObjectId,
    prefix: String,
    /// The target's checkout, when it has one: a state file there whose bytes are the tree's blob is read
    /// from there (no object lookup, no pack pages in memory); any other is read from the object store.
    checkout: Option<PathBuf>,
    dirs: std::cell::RefCell<std::collections::HashMap<gix::ObjectId, std::rc::Rc<DirEntries>>>,
}

/// A decoded directory: entry name → (mode, object id).
type DirEntries = std::collections::HashMap<Vec<u8>, (gix::objs::tree::EntryMode, gix::ObjectId)>;

impl<'r> TreeSource<'r> {
    fn new(repo: &'r gix::Repository, tree: gix::ObjectId, prefix: &str, checkout: Option<PathBuf>) -> Self {
        TreeSource { repo, tree, prefix: prefix.to_string(), checkout, dirs: Default::default() }
    }

    /// The entries of tree `id`, decoded once.
    fn entries(&self, id: gix::ObjectId) -> std::io::Result<std::rc::Rc<DirEntries>> {
        if let Some(d) = self.dirs.borrow().get(&id) {
            return Ok(d.clone());
        }
        let other = |m: String| std::io::Error::other(m);
        let tree = self.repo.find_object(id).map_err(|e| other(e.to_string()))?.into_tree();
        let decoded = tree.decode().map_err(|e| other(e.to_string()))?;
        let map: DirEntries =
            decoded.entries.iter().map(|e| (e.filename.to_vec(), (e.mode, e.oid.to_owned()))).collect();
        let map = std::rc::Rc::new(map);
        self.dirs.borrow_mut().insert(id, map.clone());
        Ok(map)
    }
}

impl TreeSource<'_> {
    /// The entry at `full` (a repository path), refusing a way through a symlink or a file.
    fn lookup(&self, full: &str) -> std::io::Result<Option<(gix::objs::tree::EntryMode, gix::ObjectId)>> {
        let other = |m: String| std::io::Error::other(m);
        let parts: Vec<&str> = full.split('/').collect();
        let mut acc = String::new();
        let mut dir = self.tree;
        for (i, comp) in parts.iter().enumerate() {
            if !acc.is_empty() {
                acc.push('/');
            }
            acc.push_str(comp);
            let entries = self.entries(dir)?;
            let Some(&(mode, oid)) = entries.get(comp.as_bytes()) else {
                return Ok(None);
            };
            if mode.is_link() {
                return Err(other(format!(
                    "{acc} is a symlink in the target tree; state paths may not pass through symlinks"
                )));
            }
            if i + 1 < parts.len() && !mode.is_tree() {
                return Err(other(format!("{acc} is a file in the target tree, so {full} cannot be under it")));
            }
            if i + 1 == parts.len() {
                return Ok(Some((mode, oid)));
            }
            dir = oid;
        }
        Ok(None)
    }

    /// The bytes of blob `id`.
    fn blob(&self, id: gix::ObjectId) -> std::io::Result<Vec<u8>> {
        let obj = self.repo.find_object(id).map_err(|e| std::io::Error::other(e.to_string()))?;
        Ok(obj.data.clone())
    }
}

impl StateSource for TreeSource<'_> {
    fn read(&self, rel: &RelPath) -> std::io::Result<Option<Vec<u8>>> {
        let full = format!("{}/{}", self.prefix, rel.as_str());
        match self.lookup(&full)? {
            None => Ok(None),
            Some((mode, _)) if !mode.is_blob() => Err(std::io::Error::other(format!("{full} is not a file"))),
            Some((_, id)) => match self.checkout.as_ref().and_then(|w| blob::from_file_if(&w.join(&full), id)) {
                Some(bytes) => Ok(Some(bytes)),
                None => self.blob(id).map(Some),
            },
        }
    }
}

/// Crash-repair record for syncing the target's worktree after the commit point.
#[derive(Debug, Serialize, Deserialize)]
struct Journal {
    frame: u64,
    target: String,
    old: String,
    new: String,
    worktree: PathBuf,
    paths: Vec<String>,
}

fn journal_path(ctx: &Ctx) -> PathBuf {
    ctx.state.root.join("merge-frame.journal")
}

/// The state dir as a validated repository-relative prefix.
fn state_prefix(ctx: &Ctx) -> Result<String, Error> {
    let raw = ctx.config.state.dir.trim_end_matches('/');
    delta::validate_rel_path(raw).map(|p| p.as_str().to_string()).map_err(|e| {
        Error::new(format!("state.dir \"{raw}\" is not a usable relative path: {e}"))
            .hint("set [state] dir to a relative directory such as \"state\"")
    })
}

/// Run one frame merge.
pub fn merge(ctx: &Ctx, opts: &Options) -> Result<Report, Error> {
    for s in opts.expect.iter().flatten() {
        crate::building::registry::validate_name_as("stream", s)?;
    }
    let target = ctx.config.state.target.clone();
    let prefix = state_prefix(ctx)?;
    let mut attempt = 0;
    loop {
        attempt += 1;
        // The seals are read before the deltas are fetched: a delta pushed after this moment changes its
        // frame's seal, and the frame's push (leased on the seal) is refused and retried.
        let mut seals = BTreeMap::new();
        if let Some(remote) = &opts.push {
            seals = mailbox::remote_seals(&ctx.repo, remote)?;
            fetch_remote(ctx, remote, &target, opts.frame)?;
        }
        let frame = match opts.frame {
            Some(f) => f,
            None => mailbox::next_frame(mailbox::last_merged_frame(&ctx.repo, &base_branch(ctx, opts, &target))?)?,
        };
        if wait_for_expected(ctx, opts, frame)?
            && let Some(remote) = &opts.push
        {
            seals = mailbox::remote_seals(&ctx.repo, remote)?;
            fetch_remote(ctx, remote, &target, Some(frame))?;
        }
        if let Some(remote) = &opts.push {
            refuse_rewound(ctx, remote, &target, frame, &seals)?;
        }
        let merged = ctx.locked(|| {
            mailbox::with_lock(&ctx.state, true, ctx.lock_timeout, || {
                merge_locked(ctx, opts, &target, &prefix, frame, &seals)
            })
        })?;
        match merged {
            Some(report) => return Ok(report),
            None if attempt < PUSH_ATTEMPTS => std::thread::sleep(Duration::from_millis(50 * attempt)),
            None => {
                if opts.push.is_none() {
                    return Err(Error::new(format!(
                        "'{target}' moved during each of {PUSH_ATTEMPTS} attempts to merge frame {frame}; nothing was committed"
                    ))
                    .hint("something keeps committing to it; run merge-frame again when it is quiet"));
                }
                return Err(Error::new(format!(
                    "the remote's '{target}' moved during each of {PUSH_ATTEMPTS} attempts to publish frame {frame}"
                ))
                .hint("other managers are publishing frames at the same time; run merge-frame --push again"));
            }
        }
    }
}

/// With `--push`: refuse a frame whose seal on the remote says merged while the remote's target (fetched
/// after the seals were read) does not hold it, instead of finding "nothing to merge" forever.
fn refuse_rewound(
    ctx: &Ctx,
    remote: &str,
    target: &str,
    frame: u64,
    seals: &BTreeMap<String, String>,
) -> Result<(), Error> {
    let seal = format!("{}{frame}", mailbox::SEALS);
    if seals.get(&seal) != Some(&mailbox::merged_seal(&ctx.repo, frame)?) {
        return Ok(());
    }
    let tracking = crate::git::remote::tracking_ref(&ctx.repo, remote, target);
    match mailbox::frame_commit(&ctx.repo, &tracking, frame)? {
        Some(_) => Ok(()),
        None => Err(mailbox::rewound_past(remote, target, frame)),
    }
}

/// How often merge-frame merges again when its target moved in between (with `--push`: the remote's,
/// fetched again first).
const PUSH_ATTEMPTS: u64 = 8;

/// Whether a frame reached the remote.
#[derive(Debug, PartialEq, Eq)]
enum Published {
    Pushed,
    /// The remote's target is no longer the base we built on: fetch, merge again, push again.
    RemoteMoved,
}

/// The ref merge-frame builds on: the local target, or its remote-tracking copy with `--push`.
fn base_branch(ctx: &Ctx, opts: &Options, target: &str) -> String {
    match &opts.push {
        Some(remote) => crate::git::remote::tracking_ref(&ctx.repo, remote, target),
        None => format!("refs/heads/{target}"),
    }
}

fn fetch_remote(ctx: &Ctx, remote: &str, target: &str, frame: Option<u64>) -> Result<(), Error> {
    let mut refspecs =
        vec![format!("+refs/heads/{target}:{}", crate::git::remote::tracking_ref(&ctx.repo, remote, target))];
    match frame {
        Some(f) => {
            refspecs.push(format!("refs/neighbor/deltas/{f}/*:refs/neighbor/deltas/{f}/*"));
            refspecs.push(format!("{APPLIED}{f}/*:{APPLIED}{f}/*"));
            refspecs.push(format!("{ARCHIVE}{f}/*:{ARCHIVE}{f}/*"));
        }
        None => {
            refspecs.push("refs/neighbor/deltas/*:refs/neighbor/deltas/*".into());
        }
    }
    // Under the fetch lock: the writers of this clone fetch into the same refs.
    mailbox::with_fetch_lock(&ctx.state, ctx.lock_timeout, || remote::fetch(&ctx.repo, remote, &refspecs))
}

/// Wait up to `--wait` for the expected streams. Returns whether it fetched from the remote meanwhile
/// (the seals read before the first fetch are then stale).
fn wait_for_expected(ctx: &Ctx, opts: &Options, frame: u64) -> Result<bool, Error> {
    let expect = expected(ctx, opts);
    if expect.is_empty() || opts.wait.is_zero() {
        return Ok(false);
    }
    let start = Instant::now();
    let mut fetched = false;
    loop {
        let have: Vec<String> = mailbox::list(&ctx.repo, DELTAS, Some(frame))?.into_iter().map(|s| s.stream).collect();
        let waiting: Vec<&String> =
            expect.iter().filter(|s| !have.contains(s) && crash_evidence(ctx, s, frame).is_none()).collect();
        if waiting.is_empty() || start.elapsed() >= opts.wait {
            return Ok(fetched);
        }
        std::thread::sleep(Duration::from_millis(100));
        if let Some(remote) = &opts.push {
            let _ = fetch_remote(ctx, remote, &ctx.config.state.target, Some(frame));
            fetched = true;
        }
    }
}

fn expected(ctx: &Ctx, opts: &Options) -> Vec<String> {
    let mut v = opts.expect.clone().unwrap_or_else(|| ctx.config.merge.expect.clone());
    v.sort();
    v.dedup();
    v
}

/// A tenant that ran for `stream` (this frame or unspecified) and whose lease is dead.
fn crash_evidence(ctx: &Ctx, stream: &str, frame: u64) -> Option<String> {
    let (tenants, _) = registry::all(&ctx.state).ok()?;
    tenants
        .iter()
        .filter(|t| t.stream.as_deref() == Some(stream) && t.frame.is_none_or(|f| f == frame))
        .find(|t| lease::lease_holder(&ctx.state, &t.name).is_none())
        .map(|t| format!("tenant {} ran for this stream and its lease is dead", t.name))
}

/// A frame being merged, as prepared under the locks: where the target is and what it was built on.
struct Frame<'a> {
    ctx: &'a Ctx,
    opts: &'a Options,
    target: &'a str,
    /// The state dir, as a validated repository-relative prefix.
    prefix: &'a str,
    number: u64,
    /// The worktree where the target is checked out, if any.
    target_wt: Option<crate::git::WorktreeInfo>,
    /// The target commit the frame is built on (the remote's, with `--push`), and its tree.
    base: gix::ObjectId,
    base_hex: String,
    base_tree: gix::ObjectId,
}

/// What the commit point moves besides the target: the frame's deltas into its archive (one ref, whatever
/// their number) out of the mailbox, and the invalid ones into the quarantine.
struct Moves {
    /// The frame's archive ref and the tree it points at.
    archive: (String, String),
    /// The archived mailbox slots: (ref, blob), each deleted by compare-and-swap on its blob.
    archived: Vec<(String, String)>,
    /// The invalid deltas that can be moved into the quarantine (see [`plan_quarantine`]).
    quarantined: Vec<Quarantine>,
}

/// One invalid delta's move from the mailbox into the quarantine.
struct Quarantine {
    /// Its mailbox ref.
    from: String,
    /// Its quarantine ref.
    to: String,
    blob: String,
    /// `to` holds this blob already (an earlier run moved the same delta): only the mailbox ref goes.
    present: bool,
}

impl Moves {
    /// Every mailbox slot the frame takes out of the mailbox: (ref, blob).
    fn taken(&self) -> impl Iterator<Item = (&String, &String)> {
        self.archived.iter().map(|(r, b)| (r, b)).chain(self.quarantined.iter().map(|q| (&q.from, &q.blob)))
    }

    /// The `update-ref --stdin` lines that create the archive and the quarantine refs: only create them,
    /// never replace what is there (a frame merged twice, a stream's second quarantined delta). A ref that
    /// holds its value already (fetched from the remote the frame was published to) is left as it is.
    fn creates(&self, repo: &Repo) -> String {
        let (archive, tree) = &self.archive;
        let wanted = std::iter::once((archive, tree))
            .chain(self.quarantined.iter().filter(|q| !q.present).map(|q| (&q.to, &q.blob)));
        let mut tx = String::new();
        for (r, id) in wanted {
            if !mailbox::holds(repo, r, id) {
                tx += &format!("create {r} {id}\n");
            }
        }
        tx
    }
}

/// The frame's deltas, sorted into those that go in and those that go to the quarantine (with why).
struct Collected {
    valid: Vec<(Slot, mailbox::Envelope, Option<Checked>)>,
    quarantined: Vec<(Slot, String)>,
}

/// A checked delta as it is held until it is applied: its JSON text, parsed again then (parsed, a delta
/// takes several times the memory of its text, and a frame may hold ten thousand), and what it touches.
struct Checked {
    json: Vec<u8>,
    /// The files its ops touch, each once.
    files: Vec<RelPath>,
    ops: usize,
}

impl Checked {
    fn of(mut json: Vec<u8>, d: &Delta) -> Checked {
        json.shrink_to_fit();
        let mut files: Vec<RelPath> = d.ops.iter().map(|op| op.path().clone()).collect();
        files.sort();
        files.dedup();
        Checked { json, files, ops: d.ops.len() }
    }

    /// The delta, parsed again (it was accepted when checked, and parsing is deterministic).
    fn delta(&self) -> Result<Delta, String> {
        delta::parse_delta(&self.json, &Limits::default()).map_err(|e| e.to_string())
    }
}

/// The checked-out target held for the commit: its index lock, and when its state files were seen clean.
struct Held {
    index_lock: Option<IndexLock>,
    clean_at: std::time::SystemTime,
}

/// One frame merge under the building and mailbox locks: prepare → collect → apply → commit → publish →
/// record (the commit point) → sync the checked-out target. `None`: the remote moved while publishing,
/// or the local target while merging; the caller (fetches and) tries again.
fn merge_locked(
    ctx: &Ctx,
    opts: &Options,
    target: &str,
    prefix: &str,
    frame: u64,
    seals: &BTreeMap<String, String>,
) -> Result<Option<Report>, Error> {
    let (mut report, f) = prepare(ctx, opts, target, prefix, frame)?;
    // Merged already: the report says so.
    let Some(f) = f else { return Ok(Some(report)) };
    let mut collected = collect(&f)?;
    let warm = Refresh::start(&f, &collected);
    let (changes, packed) = apply(&f, &mut collected, &mut report)?;
    // Waited for here, so that every git call after it comes in the same order on every run.
    drop(warm);
    crate::failpoint::hit("merge-frame.applied");
    // No delta to apply and no stream that fell back: nothing to record, so no commit.
    if collected.valid.is_empty() {
        report.nothing_to_merge = true;
        quarantine_only(&f, &collected.quarantined, &mut report.notes)?;
        return Ok(Some(report));
    }
    let held = hold_target(&f)?;

    // Build the frame commit (objects only; nothing moves yet).
    let tree = build_tree(ctx, f.base_tree, &changes)?;
    crate::failpoint::hit("merge-frame.tree-written");
    verify_tree(ctx, f.base_tree, &tree, &changes)?;
    refuse_ignored_in_the_way(&f, &tree)?;
    refuse_archived(&f)?;
    if opts.dry_run {
        report.diff = Some(trees::diff_text(&ctx.repo, &format!("{}^{{tree}}", f.base_hex), &tree, prefix)?);
        return Ok(Some(report));
    }
    let commit = commit_frame(ctx, &tree, &f.base_hex, frame, &report)?;
    report.commit = Some(commit.clone());

    // Ref moves: archive applied/fallback under the frame's one archive ref, quarantine invalid.
    let archived: Vec<(String, String)> =
        collected.valid.iter().map(|(slot, _, _)| (slot.r#ref.clone(), slot.blob.clone())).collect();
    let entries: Vec<(String, String)> =
        collected.valid.iter().map(|(slot, _, _)| (slot.stream.clone(), slot.blob.clone())).collect();
    let moves = Moves {
        archive: (mailbox::archive_ref(frame), mailbox::archive_tree(&ctx.repo, &entries)?),
        archived,
        quarantined: plan_quarantine(ctx, frame, &collected.quarantined, &mut report.notes)?,
    };
    if let Some(remote) = &opts.push {
        let seal = format!("{}{frame}", mailbox::SEALS);
        let seen = seals.get(&seal).map(String::as_str);
        if push_frame(ctx, remote, target, &f.base_hex, &commit, &moves, (&seal, seen))? == Published::RemoteMoved {
            return Ok(None);
        }
        report.pushed = Some(remote.clone());
    }
    let sync_wt = match record(&f, &commit, &moves, &report.changed) {
        Ok(w) => w,
        // Someone committed to the target since the frame read it (a commit in its checkout, say): the
        // compare-and-swap refused and nothing moved. Merge the frame again onto the new tip.
        Err(_) if opts.push.is_none() && ctx.repo.ref_target(&format!("refs/heads/{target}")) != Some(f.base) => {
            return Ok(None);
        }
        Err(e) => return Err(e),
    };
    sync(&f, &commit, sync_wt.as_deref(), &held, (&changes, packed.as_ref()), &mut report.notes)?;
    log_frame(&f, &commit, &report, &collected.quarantined)?;
    Ok(Some(report))
}

/// A `git status` of the checked-out target's state files, run while the deltas are applied (the only
/// git call then), and waited for (dropped) before the target is locked and checked.
///
/// The previous frame wrote the state files and the index within the same second, so git cannot trust
/// their recorded times (a "racily clean" entry: git compares whole seconds) and reads and hashes every
/// such file again until something writes the index anew. The check that counts runs while merge-frame
/// holds `index.lock`, so it can never do that: each frame paid for hashing the previous frame's files
/// with the target locked. This status, run seconds later and without our lock, refreshes the index as
/// any `git status` does when it can take the lock, on the core the frame leaves idle; it decides
/// nothing, and its failure (another git holding the lock, say) changes nothing.
struct Refresh(Option<std::thread::JoinHandle<()>>);

/// Files a frame changes from which it refreshes the target's index on the side ([`Refresh`]).
const REFRESH_FROM: usize = 100;

impl Refresh {
    /// Started only when the frame changes [`REFRESH_FROM`] files or more in a checked-out target: below
    /// that, hashing the last frame's few files under the lock costs less than a second `git status` of a
    /// large checkout (a frame of 10 deltas took 16 ms longer with it).
    fn start(f: &Frame<'_>, c: &Collected) -> Refresh {
        let files: std::collections::HashSet<&RelPath> =
            c.valid.iter().flat_map(|(_, _, d)| d.iter().flat_map(|d| d.files.iter())).collect();
        let wanted = f.opts.push.is_none() && !f.opts.dry_run && files.len() >= REFRESH_FROM;
        let Some(w) = f.target_wt.as_ref().filter(|_| wanted) else {
            return Refresh(None);
        };
        let (dir, prefix) = (w.path.clone(), f.prefix.to_string());
        // Without a thread to spare, the check under the lock simply hashes what it must.
        let spawned = std::thread::Builder::new().name("frame-refresh".into()).spawn(move || {
            let _ = status::refresh_under(&dir, &prefix);
        });
        crate::failpoint::hit("merge-frame.refresh-started");
        Refresh(spawned.ok())
    }
}

impl Drop for Refresh {
    fn drop(&mut self) {
        if let Some(t) = self.0.take() {
            let _ = t.join();
        }
    }
}

/// Repair a previous crash, find the target and its base, follow the remote, and refuse what must not be
/// merged into (a target being rebased or bisected, a state dir reached through a symlink). No frame
/// comes back when it was merged before (the report says so).
fn prepare<'a>(
    ctx: &'a Ctx,
    opts: &'a Options,
    target: &'a str,
    prefix: &'a str,
    frame: u64,
) -> Result<(Report, Option<Frame<'a>>), Error> {
    let mut notes = Vec::new();
    if let Some(n) = repair(ctx)? {
        notes.push(n);
    }
    sweep_scratch(ctx, &mut notes);
    let target_wt =
        ctx.repo.worktrees()?.into_iter().find(|w| w.branch.as_deref() == Some(&format!("refs/heads/{target}")));
    if let Some(w) = &target_wt {
        clear_own_leftovers(&w.git_dir);
    }
    let base_ref = base_branch(ctx, opts, target);
    let base = ctx.repo.ref_target(&base_ref).ok_or_else(|| {
        Error::new(format!("target branch '{target}' does not exist ({base_ref})"))
            .hint("create it, or set [state] target in .neighbor.toml")
    })?;
    let base_hex = base.to_string();
    let mut report = Report {
        frame,
        target: target.to_string(),
        already_merged: false,
        commit: None,
        streams: Vec::new(),
        changed: Vec::new(),
        dry_run: opts.dry_run,
        diff: None,
        pushed: None,
        notes,
        nothing_to_merge: false,
    };
    // With a remote, the local target follows the remote's where that loses nothing, whoever moved it
    // (another manager, or this one killed right after its push).
    if opts.push.is_some() && !opts.dry_run {
        follow_remote(ctx, target, target_wt.as_ref(), &base_hex, &mut report.notes)?;
    }
    if let Some(done) = mailbox::frame_commit(&ctx.repo, &base_hex, frame)? {
        report.already_merged = true;
        report.commit = Some(done);
        if !opts.dry_run {
            tidy_merged(ctx, frame)?;
        }
        return Ok((report, None));
    }
    // Frames merge in order: a writer's check that its frame is still open relies on it.
    if let Some(last) = mailbox::last_merged_frame(&ctx.repo, &base_branch(ctx, opts, target))?
        && last > frame
    {
        return Err(Error::refused(format!(
            "frame {frame} is older than frame {last}, which is merged already: frames merge in order"
        ))
        .hint(format!(
            "its deltas stay where they are (`git neighbor delta list`): write them again for frame {} or drop them",
            last.saturating_add(1)
        )));
    }

    // A target being rebased or bisected is written back when that ends: never move it under it.
    if let Some(busy) = crate::git::busy::branch_busy(&ctx.repo, &format!("refs/heads/{target}"))? {
        return Err(Error::refused(format!("{}; merge-frame will not move it", busy.describe(target)))
            .hint("finish or abort that operation there, then run merge-frame again"));
    }
    // Files are written into the checked-out state dir: no part of the way there may be a symlink.
    if let Some(w) = &target_wt {
        let rel = delta::validate_rel_path(prefix).map_err(|e| Error::new(format!("state.dir: {e}")))?;
        delta::check_dir_no_symlinks(&w.path, &rel).map_err(|e| {
            Error::refused(format!("the state dir in {} is unsafe to write: {e}", w.path.display()))
                .hint("state files are never written through a symlink; make the state dir a plain directory")
        })?;
    }
    let base_tree = ctx
        .repo
        .gix
        .find_object(base)
        .map_err(|e| Error::new(format!("cannot read {base_hex}: {e}")))?
        .peel_to_tree()
        .map_err(|e| Error::new(format!("cannot read the tree of {base_hex}: {e}")))?
        .id;
    let f = Frame { ctx, opts, target, prefix, number: frame, target_wt, base, base_hex, base_tree };
    Ok((report, Some(f)))
}

/// The frame's deltas from the mailbox, each checked (envelope, paths, stream name).
fn collect(f: &Frame<'_>) -> Result<Collected, Error> {
    let slots = mailbox::list(&f.ctx.repo, DELTAS, Some(f.number))?;
    let mut c = Collected { valid: Vec::new(), quarantined: Vec::new() };
    let mut links = f.target_wt.as_ref().map(|w| delta::NoSymlinks::new(&w.path.join(f.prefix)));
    for slot in slots {
        match check_slot(f.ctx, &slot, links.as_mut()) {
            Ok((mut env, d)) => {
                // Only a reducer reads the delta as written; otherwise its text is all that is kept (a frame
                // of a thousand deltas held twice was most of its memory).
                if f.opts.reducer.is_none() {
                    env.delta = serde_json::Value::Null;
                }
                c.valid.push((slot, env, d))
            }
            Err(why) => c.quarantined.push((slot, why)),
        }
    }
    Ok(c)
}

/// Apply the valid deltas onto the base tree, with the result of stream-name order (group by group: see
/// [`application_order`]), or hand them to the reducer. A delta that cannot be applied joins the
/// quarantine. Fills the report's streams and changed files; returns the changed state files.
fn apply(f: &Frame<'_>, c: &mut Collected, report: &mut Report) -> Result<(Changes, Option<pack::Written>), Error> {
    let (ctx, prefix) = (f.ctx, f.prefix);
    let mut streams: BTreeMap<String, StreamReport> = BTreeMap::new();
    let stream = |slot: &Slot, status, ops| StreamReport { stream: slot.stream.clone(), status, reason: None, ops };
    let mut packed = None;
    let changes: Changes = if let Some(argv) = &f.opts.reducer {
        let entries: Vec<&mailbox::Envelope> = c.valid.iter().map(|(_, e, _)| e).collect();
        let out = reduce(ctx, argv, prefix, f.base, &entries)?;
        for (slot, _, d) in &c.valid {
            let (status, ops) = match d {
                Some(d) => (Outcome::Applied, d.ops),
                None => (Outcome::Fallback, 0),
            };
            streams.insert(slot.stream.clone(), stream(slot, status, ops));
        }
        out
    } else {
        let source = TreeSource::new(&ctx.repo.gix, f.base_tree, prefix, f.target_wt.as_ref().map(|w| w.path.clone()));
        let mut overlay = Overlay::new(&source);
        // Files written by the deltas applied so far: a later delta may not put a file under one of them,
        // nor make a file where they need a directory.
        let mut files: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
        // The last delta touching each file: after it, the file is stored and dropped (Overlay::release).
        let mut last: std::collections::HashMap<&RelPath, usize> = std::collections::HashMap::new();
        for (i, (_, _, d)) in c.valid.iter().enumerate() {
            for file in d.iter().flat_map(|d| d.files.iter()) {
                last.insert(file, i);
            }
        }
        // A file no later delta touches goes into the object store at once, and out of memory: as one
        // pack when the frame changes many files (one file created instead of one per blob), written by
        // a second thread while this one applies the next deltas (see store.rs).
        let touches: Vec<Vec<&str>> = c
            .valid
            .iter()
            .map(|(_, _, d)| d.iter().flat_map(|d| d.files.iter().map(RelPath::as_str)).collect())
            .collect();
        let valid = &c.valid;
        let (mut late_bad, mut stored, written) = store::storing(&ctx.repo, last.len(), |sink| {
            let mut late_bad = Vec::new();
            for i in application_order(&touches) {
                let (slot, _env, d) = &valid[i];
                let Some(checked) = d else {
                    streams.insert(slot.stream.clone(), stream(slot, Outcome::Fallback, 0));
                    continue;
                };
                let d = match checked.delta() {
                    Ok(d) => d,
                    Err(why) => {
                        late_bad.push((i, slot.clone(), why));
                        continue;
                    }
                };
                match apply_one(&mut overlay, &mut files, &d) {
                    Ok(()) => {
                        streams.insert(slot.stream.clone(), stream(slot, Outcome::Applied, d.ops.len()));
                    }
                    Err(why) => late_bad.push((i, slot.clone(), why)),
                }
                for op in &d.ops {
                    if last.get(op.path()) == Some(&i)
                        && let Some(bytes) = overlay.release(op.path())
                    {
                        sink.put(format!("{prefix}/{}", op.path().as_str()), bytes)?;
                    }
                }
            }
            // What was never released (a file whose last delta was set aside) is stored now.
            for (p, bytes) in overlay.changed_files() {
                sink.put(format!("{prefix}/{}", p.as_str()), bytes)?;
            }
            Ok(late_bad)
        })?;
        packed = written;
        crate::failpoint::hit("merge-frame.blobs-stored");
        late_bad.sort_by_key(|(i, _, _)| *i);
        let late_bad: Vec<(Slot, String)> = late_bad.into_iter().map(|(_, s, why)| (s, why)).collect();
        c.valid.retain(|(s, _, _)| !late_bad.iter().any(|(b, _)| b.stream == s.stream));
        c.quarantined.extend(late_bad);
        stored.sort_by(|a, b| a.0.cmp(&b.0));
        stored
    };
    for (slot, why) in &c.quarantined {
        let mut s = stream(slot, Outcome::Quarantined, 0);
        s.reason = Some(printable(why));
        streams.insert(slot.stream.clone(), s);
    }
    for s in expected(ctx, f.opts) {
        if !streams.contains_key(&s) {
            let (status, reason) = match crash_evidence(ctx, &s, f.number) {
                Some(why) => (Outcome::Crashed, Some(why)),
                None => (Outcome::Missing, None),
            };
            streams.insert(s.clone(), StreamReport { stream: s, status, reason, ops: 0 });
        }
    }
    report.streams = streams.into_values().collect();
    report.changed = changes.iter().map(|(p, _)| p.clone()).collect();
    Ok((changes, packed))
}

/// A frame with nothing to commit still moves its invalid deltas out of the mailbox, into the quarantine.
fn quarantine_only(f: &Frame<'_>, quarantined: &[(Slot, String)], notes: &mut Vec<String>) -> Result<(), Error> {
    if f.opts.dry_run || f.opts.push.is_some() || quarantined.is_empty() {
        return Ok(());
    }
    let mut tx = String::new();
    for q in plan_quarantine(f.ctx, f.number, quarantined, notes)? {
        if !q.present {
            tx += &format!("create {} {}\n", q.to, q.blob);
        }
        tx += &format!("delete {} {}\n", q.from, q.blob);
    }
    if !tx.is_empty() {
        refs::transaction(&f.ctx.repo, None, &tx)?;
    }
    log_quarantined(f.ctx, f.number, quarantined)
}

/// Where each invalid delta of `frame` goes in the quarantine, as a ref git can create beside those there:
/// `quarantine/<frame>/<stream>`, or `<stream>+<blob>` when that is taken (a stream's second quarantined
/// delta of a frame that made no commit) or blocked (an old nested quarantine ref under it), and
/// `_invalid+<blob>` for a mailbox ref whose stream is not a stream name (`deltas/1/x/y`, from a remote): no
/// stream name holds `+`, so none of these can clash with a stream's own. A delta none of them can be
/// made for (a ref where the quarantine's directory must be) stays in the mailbox, with a note, rather
/// than fail the frame.
fn plan_quarantine(
    ctx: &Ctx,
    frame: u64,
    quarantined: &[(Slot, String)],
    notes: &mut Vec<String>,
) -> Result<Vec<Quarantine>, Error> {
    if quarantined.is_empty() {
        return Ok(Vec::new());
    }
    let dir = format!("{QUARANTINE}{frame}");
    let there: BTreeMap<String, String> = refs::under(&ctx.repo, &format!("{dir}/"))?.into_iter().collect();
    // A ref at `refs/neighbor`, `…/quarantine` or `…/quarantine/<frame>` leaves no room under it.
    let blocked = ["refs/neighbor", QUARANTINE.trim_end_matches('/'), dir.as_str()]
        .into_iter()
        .find(|r| ctx.repo.ref_target(r).is_some());
    let mut planned: std::collections::BTreeSet<String> = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    for (slot, _) in quarantined {
        let candidates = if registry::validate_name_as("stream", &slot.stream).is_ok() {
            vec![format!("{dir}/{}", slot.stream), format!("{dir}/{}+{}", slot.stream, slot.blob)]
        } else {
            vec![format!("{dir}/_invalid+{}", slot.blob)]
        };
        let chosen = candidates.into_iter().find_map(|to| {
            if there.get(&to) == Some(&slot.blob) {
                return Some((to, true));
            }
            let under = format!("{to}/");
            let free = blocked.is_none()
                && !there.contains_key(&to)
                && !planned.contains(&to)
                && there.range(under.clone()..).next().is_none_or(|(r, _)| !r.starts_with(&under));
            free.then_some((to, false))
        });
        match chosen {
            Some((to, present)) => {
                planned.insert(to.clone());
                out.push(Quarantine { from: slot.r#ref.clone(), to, blob: slot.blob.clone(), present });
            }
            None => notes.push(format!(
                "{} is invalid but stays in the mailbox: no quarantine ref can be created for it{}",
                slot.r#ref,
                blocked.map(|b| format!(" ({b} is a ref)")).unwrap_or_default()
            )),
        }
    }
    Ok(out)
}

/// Refuse (exit 3, before the commit point) a frame whose archive ref exists: the frame was merged before,
/// into a commit the target no longer holds, and its archive is the only record of those deltas.
fn refuse_archived(f: &Frame<'_>) -> Result<(), Error> {
    let archive = mailbox::archive_ref(f.number);
    if f.ctx.repo.ref_target(&archive).is_none() {
        return Ok(());
    }
    Err(Error::refused(format!(
        "frame {} was merged before ({archive} exists) but '{}' does not hold that merge; nothing was committed",
        f.number, f.target
    ))
    .hint(format!(
        "restore the frame's commit to '{}', or keep the old archive under another name (`git update-ref <name> {archive}`) and delete it (`git update-ref -d {archive}`), then run merge-frame again",
        f.target
    )))
}

/// Take the checked-out target's index lock, from before the commit point until its index matches the
/// new commit (a running git that holds it makes merge-frame refuse before anything is committed), and
/// refuse unless its state files are clean. A file modified after this moment is someone's new edit:
/// the sync leaves it alone rather than overwrite it.
fn hold_target(f: &Frame<'_>) -> Result<Held, Error> {
    let local = f.opts.push.is_none();
    let index_lock = match &f.target_wt {
        Some(w) if local && !f.opts.dry_run => Some(IndexLock::take(&w.git_dir, f.ctx.lock_timeout)?),
        _ => None,
    };
    crate::failpoint::hit("merge-frame.index-locked");
    let clean_at = std::time::SystemTime::now();
    if let Some(w) = &f.target_wt
        && local
    {
        let dirty = crate::building::dirty_paths_under(&w.path, f.prefix)?;
        if !dirty.is_empty() {
            return Err(Error::refused(format!(
                "state files are modified in {} (the checked-out {}): {}",
                w.path.display(),
                f.target,
                dirty.join(", ")
            ))
            .hint("commit or discard them (canonical state changes belong in deltas), then run merge-frame again"));
        }
    }
    Ok(Held { index_lock, clean_at })
}

/// Refuse (exit 3, before anything is written) when the checked-out target holds files git does not show,
/// ignored ones, that the frame's tree would overwrite, or that sit where it needs a directory: the dirty
/// check in [`hold_target`] sees untracked files but not ignored ones, and writing the checkout would
/// replace a local secret without a trace, or fail after the commit point and wedge every later frame.
fn refuse_ignored_in_the_way(f: &Frame<'_>, tree: &str) -> Result<(), Error> {
    let Some(w) = f.target_wt.as_ref().filter(|_| f.opts.push.is_none()) else { return Ok(()) };
    let found = crate::git::worktree::ignored_in_the_way(&w.path, &f.base_hex, tree, &[])?;
    if found.is_empty() {
        return Ok(());
    }
    Err(Error::refused(format!(
        "frame {} would overwrite {} in {} (untracked, ignored by git); nothing was committed",
        f.number,
        crate::building::queue::list_paths(&found),
        w.path.display()
    ))
    .hint("move it aside (ignored files are in no commit), then run merge-frame again"))
}

/// The commit point: move the target (or, after a push, mirror the remote), archive the deltas and
/// quarantine the bad ones in one ref transaction. A journal written first lets a crash right after be
/// finished by the next run. Returns the checked-out target to sync, if any.
fn record(f: &Frame<'_>, commit: &str, moves: &Moves, changed: &[String]) -> Result<Option<PathBuf>, Error> {
    let (ctx, target, frame) = (f.ctx, f.target, f.number);
    let local_target = format!("refs/heads/{target}");
    let mut tx = String::new();
    let mut sync_wt = None;
    match &f.opts.push {
        None => {
            tx += &format!("update {local_target} {commit} {}\n", f.base_hex);
            sync_wt = f.target_wt.as_ref().map(|w| w.path.clone());
            tx += &moves.creates(&ctx.repo);
            for (from, blob) in moves.taken() {
                tx += &format!("delete {from} {blob}\n");
            }
        }
        Some(remote) => {
            // git push has already advanced the remote-tracking ref; this only makes sure.
            tx += &format!("update {} {commit}\n", crate::git::remote::tracking_ref(&ctx.repo, remote, target));
            // Advance the local target only where that loses nothing: when it is not checked out and
            // the frame commit contains it. A checked-out target is fast-forwarded by git in `sync`.
            if f.target_wt.is_none()
                && let Some(old) = ctx.repo.ref_target(&local_target).map(|o| o.to_string())
                && revs::is_ancestor(&ctx.repo, &old, commit)?
            {
                tx += &format!("update {local_target} {commit} {old}\n");
            }
        }
    }
    if let Some(w) = &sync_wt {
        let j = Journal {
            frame,
            target: target.to_string(),
            old: f.base_hex.clone(),
            new: commit.to_string(),
            worktree: w.clone(),
            paths: changed.to_vec(),
        };
        let bytes = serde_json::to_vec(&j).map_err(|e| Error::new(format!("cannot encode journal: {e}")))?;
        state_dir::atomic_write(&journal_path(ctx), &bytes)?;
        crate::failpoint::hit("merge-frame.journal-written");
    }
    let txr = match &f.opts.push {
        None => update_refs(ctx, frame, tx),
        // Published: this clone's refs only follow the remote's.
        Some(remote) => mailbox::with_fetch_lock(&ctx.state, ctx.lock_timeout, || mirror(ctx, frame, &tx, moves))
            .map_err(|e| {
                e.context(format!("frame {frame} is published to '{remote}', but this clone's refs do not show it yet"))
                    .hint("`git neighbor delta fetch` brings them up to date")
            }),
    };
    crate::failpoint::hit("merge-frame.committed");
    if let Err(e) = txr {
        if f.opts.push.is_some() {
            return Err(e);
        }
        let _ = std::fs::remove_file(journal_path(ctx));
        return Err(e.context("the frame was not committed"));
    }
    Ok(sync_wt)
}

/// After the commit point: make the checked-out target's files and index match the frame commit (files
/// edited meanwhile are left alone, with a note), or fast-forward it after a push.
fn sync(
    f: &Frame<'_>,
    commit: &str,
    sync_wt: Option<&Path>,
    held: &Held,
    (changes, packed): (&Changes, Option<&pack::Written>),
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    if let Some(w) = sync_wt
        && let Some(lock) = &held.index_lock
    {
        let skipped = sync_worktree(f.ctx, w, lock, Sync::Fresh { changes, clean_at: held.clean_at, packed })?;
        if !skipped.is_empty() {
            notes.push(format!(
                "left alone in {}, edited while the frame was merging: {} (they now differ from the commit)",
                w.display(),
                skipped.join(", ")
            ));
        }
        let _ = std::fs::remove_file(journal_path(f.ctx));
    } else if f.opts.push.is_some()
        && let Some(w) = &f.target_wt
        && let Err(n) = fast_forward_checkout(f.ctx, f.target, w, commit)
    {
        notes.push(n);
    }
    Ok(())
}

/// The `merge-frame` event with its counts, and one `quarantine` event per quarantined delta.
fn log_frame(f: &Frame<'_>, commit: &str, report: &Report, quarantined: &[(Slot, String)]) -> Result<(), Error> {
    let counts = |o: Outcome| report.streams.iter().filter(|s| s.status == o).count();
    events::append(
        &f.ctx.state,
        &Event::new("merge-frame")
            .with("frame", f.number)
            .with("commit", commit.to_string())
            .with("applied", counts(Outcome::Applied))
            .with("fallback", counts(Outcome::Fallback))
            .with("missing", counts(Outcome::Missing))
            .with("crashed", counts(Outcome::Crashed))
            .with("quarantined", counts(Outcome::Quarantined)),
    )?;
    log_quarantined(f.ctx, f.number, quarantined)
}

/// One `quarantine` event per quarantined delta, with its reason, so `delta list --quarantined` can say
/// why without parsing commit messages (a frame of only invalid deltas makes no commit at all).
fn log_quarantined(ctx: &Ctx, frame: u64, quarantined: &[(Slot, String)]) -> Result<(), Error> {
    for (slot, why) in quarantined {
        events::append(
            &ctx.state,
            &Event::new("quarantine")
                .with("frame", frame)
                .with("stream", slot.stream.clone())
                .with("blob", slot.blob.clone())
                .with("reason", why.clone()),
        )?;
    }
    Ok(())
}

/// Fast-forward the local target to `tip` (the remote's) where that loses nothing: in its checkout
/// through git, or by compare-and-swap when it is not checked out; never while it is rebased or bisected.
fn follow_remote(
    ctx: &Ctx,
    target: &str,
    wt: Option<&crate::git::WorktreeInfo>,
    tip: &str,
    notes: &mut Vec<String>,
) -> Result<(), Error> {
    let local = format!("refs/heads/{target}");
    let Some(old) = ctx.repo.ref_target(&local).map(|o| o.to_string()) else { return Ok(()) };
    if old == tip
        || crate::git::busy::branch_busy(&ctx.repo, &local)?.is_some()
        || !revs::is_ancestor(&ctx.repo, &old, tip)?
    {
        return Ok(());
    }
    let moved = match wt {
        Some(w) => fast_forward_checkout(ctx, target, w, tip),
        None => refs::update_cas(&ctx.repo, &local, tip, &old, "git-neighbor merge-frame: follow the remote")
            .map_err(|e| format!("{target} was left behind the remote: {}", e.message)),
    };
    if let Err(n) = moved {
        notes.push(n);
    }
    Ok(())
}

/// Fast-forward the checked-out target to `tip` through git, unless that would overwrite an untracked file
/// git does not show (git's fast-forward replaces ignored files without a word). Err: the note to report.
fn fast_forward_checkout(ctx: &Ctx, target: &str, w: &crate::git::WorktreeInfo, tip: &str) -> Result<(), String> {
    let behind = |why: &str| format!("{} was left behind the remote: {why}", w.path.display());
    if let Some(old) = ctx.repo.ref_target(&format!("refs/heads/{target}")) {
        let found = crate::git::worktree::ignored_in_the_way(&w.path, &old.to_string(), tip, &[])
            .map_err(|e| behind(&e.message))?;
        if !found.is_empty() {
            return Err(behind(&format!(
                "moving it would overwrite {} (untracked, ignored by git); move it aside",
                crate::building::queue::list_paths(&found)
            )));
        }
    }
    checkout::fast_forward_with(&w.path, tip, &[(guard::ENV_MERGE_FRAME, "1")]).map_err(|e| behind(e.stderr.trim()))
}

/// `text` with control characters escaped: reasons quote untrusted input and end up in the frame
/// commit's message (where a line of their own could pose as a trailer) and on terminals.
fn printable(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect()
}

/// Apply delta `d` onto `overlay`, all of it or none, after checking it against `files`, the files the
/// frame's deltas wrote so far (which it then joins). The error is why it was set aside.
pub(crate) fn apply_one(
    overlay: &mut Overlay<'_>,
    files: &mut std::collections::BTreeSet<String>,
    d: &Delta,
) -> Result<(), String> {
    if let Some(why) = file_dir_conflict(files, d) {
        return Err(why);
    }
    overlay.apply(d).map_err(|e| e.to_string())?;
    files.extend(d.ops.iter().map(|op| op.path().as_str().to_string()));
    Ok(())
}

/// The order to apply a frame's deltas in (indices into `touches`, the files each delta touches, in
/// stream-name order).
///
/// Deltas that touch a common file, or a file and a path under it, are one group; the groups come one
/// after another, each in stream-name order, in the order of their first delta. A delta's outcome
/// depends only on the files it touches and on the files written earlier on paths above or below its
/// own, all of which are in its group: so every delta meets exactly what it would meet in plain
/// stream-name order, and the frame's result is the same. But each file's last delta now comes right
/// after its first, so the file is stored and dropped from memory then: a frame of writers that each edit
/// their own file holds one file at a time, however the stream names interleave their deltas.
pub(crate) fn application_order(touches: &[Vec<&str>]) -> Vec<usize> {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    // The smaller index becomes the root, so a group's root is its first delta.
    fn join(parent: &mut [usize], a: usize, b: usize) {
        let (ra, rb) = (root(parent, a), root(parent, b));
        parent[ra.max(rb)] = ra.min(rb);
    }
    let mut parent: Vec<usize> = (0..touches.len()).collect();
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, files) in touches.iter().enumerate() {
        for &file in files {
            let j = *first.entry(file).or_insert(i);
            join(&mut parent, i, j);
        }
    }
    for (p, &i) in &first {
        for (at, _) in p.match_indices('/') {
            if let Some(&j) = first.get(&p[..at]) {
                join(&mut parent, i, j);
            }
        }
    }
    let roots: Vec<usize> = (0..touches.len()).map(|i| root(&mut parent, i)).collect();
    let mut order: Vec<usize> = (0..touches.len()).collect();
    order.sort_by_key(|&i| (roots[i], i));
    order
}

/// Why delta `d` cannot be applied on top of `files` (the files written by earlier deltas of this frame):
/// one of its files would lie under one of theirs, or theirs under one of its.
fn file_dir_conflict(files: &std::collections::BTreeSet<String>, d: &Delta) -> Option<String> {
    for op in &d.ops {
        let p = op.path().as_str();
        for (at, _) in p.match_indices('/') {
            if files.contains(&p[..at]) {
                return Some(format!(
                    "{p}: {} is a file written earlier in this frame, so nothing can be under it",
                    &p[..at]
                ));
            }
        }
        let dir = format!("{p}/");
        if let Some(under) = files.range(dir.clone()..).next().filter(|f| f.starts_with(&dir)) {
            return Some(format!("{p}: {under} is written earlier in this frame, so {p} must stay a directory"));
        }
    }
    None
}

/// Validate one mailbox slot: envelope shape, delta format, fallback without ops, paths free of
/// symlinks in the checked-out state dir. Returns the checked delta (None for a fallback).
fn check_slot(
    ctx: &Ctx,
    slot: &Slot,
    wt_state: Option<&mut delta::NoSymlinks>,
) -> Result<(mailbox::Envelope, Option<Checked>), String> {
    // The name goes into the commit's `Neighbor-Streams:` trailer: it must be a stream name there too.
    registry::validate_name_as("stream", &slot.stream).map_err(|e| e.message)?;
    let env = mailbox::read(&ctx.repo, slot)?;
    let bytes = serde_json::to_vec(&env.delta).map_err(|e| e.to_string())?;
    let d = delta::parse_delta(&bytes, &Limits::default()).map_err(|e| e.to_string())?;
    if env.status == Kind::Fallback {
        if !d.ops.is_empty() {
            return Err("a fallback delta must have no ops".into());
        }
        return Ok((env, None));
    }
    if let Some(links) = wt_state {
        for op in &d.ops {
            links.check(op.path()).map_err(|e| e.to_string())?;
        }
    }
    Ok((env, Some(Checked::of(bytes, &d))))
}

/// Make the new tree from the stored blobs: the base tree edited in-process, only the directories on the
/// way to a changed file rewritten. (Through a private index, the `read-tree` of the whole target tree was
/// the largest process of a frame: 22 MB for 21,000 files.)
fn build_tree(ctx: &Ctx, base_tree: gix::ObjectId, changes: &Changes) -> Result<String, Error> {
    // The changes' own paths were checked when the deltas were read: what fails here is the target's tree
    // (a name git would not check out, which anyone who can push may have put there) or its objects.
    trees::edit(&ctx.repo, base_tree, changes).map_err(|e| {
        e.hint("nothing was committed; repair the target branch (`git fsck` names what is wrong), then run merge-frame again")
    })
}

fn commit_frame(ctx: &Ctx, tree: &str, parent: &str, frame: u64, r: &Report) -> Result<String, Error> {
    let names =
        |o: Outcome| -> Vec<&str> { r.streams.iter().filter(|s| s.status == o).map(|s| s.stream.as_str()).collect() };
    let mut msg = format!("neighbor: frame {frame}\n\n");
    for s in &r.streams {
        let why = s.reason.as_deref().map(|w| format!(" ({w})")).unwrap_or_default();
        msg += &format!(
            "- {}: {}{why}\n",
            s.stream,
            serde_json::to_value(s.status).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
        );
    }
    msg += &format!("\n{FRAME_TRAILER}: {frame}\n");
    let applied: Vec<&str> = r
        .streams
        .iter()
        .filter(|s| matches!(s.status, Outcome::Applied | Outcome::Fallback))
        .map(|s| s.stream.as_str())
        .collect();
    msg += &format!("Neighbor-Streams: {}\n", applied.join(","));
    for (key, o) in [
        ("Neighbor-Missing", Outcome::Missing),
        ("Neighbor-Crashed", Outcome::Crashed),
        ("Neighbor-Quarantined", Outcome::Quarantined),
    ] {
        let n = names(o);
        if !n.is_empty() {
            msg += &format!("{key}: {}\n", n.join(","));
        }
    }
    crate::git::commit::commit_tree_with(
        &ctx.repo,
        ctx.repo.here(),
        tree,
        &[parent],
        &msg,
        &[(guard::ENV_MERGE_FRAME, "1")],
    )
}

/// How `sync_worktree` knows what to write.
enum Sync<'a> {
    /// Right after the commit: the state files were verified clean at `clean_at`, and these are the blobs
    /// of their new bytes. A file modified since is left alone (nanosecond timestamps on current
    /// filesystems; on one with coarse timestamps an edit in the same tick as the check can still be
    /// overwritten).
    /// `packed`: the pack the frame's blobs were written to, if they were (read back from its file).
    Fresh { changes: &'a Changes, clean_at: std::time::SystemTime, packed: Option<&'a pack::Written> },
    /// Crash repair from the journal: read old and new from the commits, and leave alone any file that
    /// is neither (the user changed it since).
    Repair { old: &'a str, new: &'a str, paths: &'a [String] },
}

/// Write the frame's changed files into the checked-out target and stage them, so its files and index
/// match the new commit. Returns the files left alone (repair only).
fn sync_worktree(ctx: &Ctx, wt: &Path, lock: &IndexLock, how: Sync<'_>) -> Result<Vec<String>, Error> {
    let mut skipped = Vec::new();
    // Temp files go in the worktree's private git dir, so a crash never leaves one in the checkout.
    let git_dir = lock.git_dir.clone();
    // Entries git does not look at the file of (`skip-worktree`, a sparse checkout's): their files are
    // not ours to write, and `update-index --add --remove` would stage their removal. Only their index
    // entries follow the commit.
    let candidates: Vec<String> = match &how {
        Sync::Fresh { changes, .. } => changes.iter().map(|(p, _)| p.clone()).collect(),
        Sync::Repair { paths, .. } => paths.to_vec(),
    };
    let hidden_modes =
        checkout::skip_worktree_entries(&git_dir.join("index"), ctx.repo.gix.object_hash(), &candidates)?;
    let mut hidden = Vec::new();
    let packed = match how {
        Sync::Fresh { packed, .. } => packed,
        Sync::Repair { .. } => None,
    };
    let files: Changes = match how {
        Sync::Fresh { changes, clean_at, .. } => changes
            .iter()
            .filter(|(p, _)| {
                if hidden_modes.contains_key(p) {
                    return true;
                }
                let touched = std::fs::metadata(wt.join(p)).and_then(|m| m.modified()).is_ok_and(|m| m > clean_at);
                if touched {
                    skipped.push(p.clone());
                }
                !touched
            })
            .cloned()
            .collect(),
        Sync::Repair { old, new, paths } => {
            let mut v = Vec::new();
            for p in paths {
                let new_blob = blob_id_at(&ctx.repo, new, p);
                if hidden_modes.contains_key(p) {
                    v.push((p.clone(), new_blob));
                    continue;
                }
                let current = std::fs::read(wt.join(p)).ok();
                if let Some(current) = &current {
                    let is = |id: Option<gix::ObjectId>| -> Result<bool, Error> {
                        Ok(match id {
                            Some(id) => blob::bytes_of(&ctx.repo, id)? == *current,
                            None => false,
                        })
                    };
                    if !is(blob_id_at(&ctx.repo, old, p))? && !is(new_blob)? {
                        skipped.push(p.clone());
                        continue;
                    }
                }
                v.push((p.clone(), new_blob));
            }
            v
        }
    };
    let mut visible = Vec::new();
    for (p, new_blob) in files {
        match hidden_modes.get(&p) {
            Some(mode) => hidden.push((p, *mode, new_blob)),
            None => visible.push((p, new_blob)),
        }
    }
    let staged = write_files(ctx, wt, &git_dir, visible, packed)?;
    crate::failpoint::hit("merge-frame.files-written");
    if !staged.is_empty() || !hidden.is_empty() {
        lock.stage(wt, &staged, &hidden)?;
    }
    crate::failpoint::hit("merge-frame.index-staged");
    Ok(skipped)
}

/// From this many files on, a frame's files are written by two threads.
const WRITE_THREADS_FROM: usize = 64;

/// Write the frame's new files into the checkout at `wt` (each through a temporary file in `git_dir`,
/// renamed into place) and delete those it deleted; returns their paths, to stage. The files of a frame
/// that wrote a pack are read back from it, and many of them are written by two threads: most of the
/// time per file is the filesystem's (a file created, another renamed over). What the pack does not
/// hold is read from the object store afterwards, on this thread.
fn write_files(
    ctx: &Ctx,
    wt: &Path,
    git_dir: &Path,
    files: Changes,
    packed: Option<&pack::Written>,
) -> Result<Vec<String>, Error> {
    let write_some = |part: &[(String, Option<gix::ObjectId>)]| -> Result<Vec<(String, gix::ObjectId)>, Error> {
        let mut reader = packed.map(pack::Written::reader);
        let mut from_store = Vec::new();
        for (p, blob) in part {
            let dest = wt.join(p);
            match blob {
                Some(id) => match reader.as_mut().map(|r| r.read(*id)).transpose()?.flatten() {
                    Some(bytes) => state_dir::atomic_write_via(git_dir, &dest, &bytes)?,
                    None => {
                        from_store.push((p.clone(), *id));
                        continue;
                    }
                },
                None => {
                    let _ = std::fs::remove_file(&dest);
                }
            }
            crate::failpoint::hit("merge-frame.file-written");
        }
        Ok(from_store)
    };
    let from_store = if packed.is_some() && files.len() >= WRITE_THREADS_FROM {
        let (mine, theirs) = files.split_at(files.len() / 2);
        std::thread::scope(|scope| {
            // Past the commit point a thread that cannot be started (a process or memory limit) is no
            // reason to fail: this one writes both halves.
            let Ok(other) =
                std::thread::Builder::new().name("frame-files".into()).spawn_scoped(scope, || write_some(theirs))
            else {
                return Ok([write_some(mine)?, write_some(theirs)?].concat());
            };
            let mine = write_some(mine);
            let theirs =
                other.join().map_err(|_| Error::new("internal error: a thread writing the frame's files panicked"))?;
            Ok::<_, Error>([mine?, theirs?].concat())
        })?
    } else {
        write_some(&files)?
    };
    for (p, id) in from_store {
        state_dir::atomic_write_via(git_dir, &wt.join(&p), &blob::bytes_of(&ctx.repo, id)?)?;
        crate::failpoint::hit("merge-frame.file-written");
    }
    Ok(files.into_iter().map(|(p, _)| p).collect())
}

/// What merge-frame writes into an `index.lock` it holds, so that its own lock left by a crash can be
/// told from a live git's.
const INDEX_LOCK_MARK: &str = "git-neighbor merge-frame pid ";

/// The checked-out target's `index.lock`, held from before the commit point until the index matches
/// the new commit. Released (deleted) on drop; a crash leaves it, marked, for the repair to clear.
struct IndexLock {
    git_dir: PathBuf,
    lock: PathBuf,
}

impl IndexLock {
    /// Create the lock, waiting up to `timeout` for a running git to release it (`git status` holds it
    /// for an instant); refuse (exit 3) if it is still held then (a `git commit` waiting for its editor).
    /// The lock is made complete (with its mark) and then linked into place, so it never exists unmarked.
    fn take(git_dir: &Path, timeout: Duration) -> Result<IndexLock, Error> {
        let lock = git_dir.join("index.lock");
        let tmp = git_dir.join(format!("neighbor-frame-index.tmp.lock.{}", state_dir::unique()));
        std::fs::write(&tmp, format!("{INDEX_LOCK_MARK}{}\n", std::process::id()))
            .ctx(|| format!("cannot write {}", tmp.display()))?;
        let start = Instant::now();
        let res = loop {
            match std::fs::hard_link(&tmp, &lock) {
                Ok(()) => break Ok(IndexLock { git_dir: git_dir.to_path_buf(), lock }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && start.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    break Err(Error::refused(format!(
                        "{} exists: a git command is using the checked-out target's index; nothing was committed",
                        lock.display()
                    ))
                    .hint("let that git command finish (a `git commit` waiting for its editor, say), then run merge-frame again")
                    .hint("if no git is running there, `git neighbor prune` removes a stale lock"));
                }
                Err(e) => break Err(Error::new(format!("cannot create {}: {e}", lock.display()))),
            }
        };
        let _ = std::fs::remove_file(&tmp);
        res
    }

    /// Stage `paths` from the worktree, as `git update-index --add --remove` would, and point the
    /// `hidden` (`skip-worktree`) entries at their new blobs, into a copy of the index that then replaces
    /// it (git cannot take the lock we hold).
    fn stage(&self, wt: &Path, paths: &[String], hidden: &[(String, u32, Option<gix::ObjectId>)]) -> Result<(), Error> {
        let index = self.git_dir.join("index");
        let tmp = self.git_dir.join(format!("neighbor-frame-index.tmp.{}", state_dir::unique()));
        let res = (|| -> Result<(), Error> {
            if index.exists() {
                std::fs::copy(&index, &tmp).ctx(|| format!("cannot copy {}", index.display()))?;
            }
            if !paths.is_empty() {
                checkout::stage_into(wt, &tmp, paths, &[(guard::ENV_MERGE_FRAME, "1")])?;
            }
            if !hidden.is_empty() {
                checkout::stage_skipped_into(wt, &tmp, hidden, &[(guard::ENV_MERGE_FRAME, "1")])?;
            }
            crate::failpoint::hit("merge-frame.index-copy-staged");
            std::fs::rename(&tmp, &index).ctx(|| format!("cannot replace {}", index.display()))
        })();
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res
    }
}

impl Drop for IndexLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.lock);
    }
}

/// Remove an `index.lock` (and index copies, and state files it was writing) that a merge-frame killed
/// mid-way left in `git_dir`. Only ours, and only when its process is gone; call under the building lock.
fn clear_own_leftovers(git_dir: &Path) {
    let lock = git_dir.join("index.lock");
    if let Ok(text) = std::fs::read_to_string(&lock)
        && let Some(pid) = text.strip_prefix(INDEX_LOCK_MARK).and_then(|r| r.trim().parse::<u32>().ok())
        && !crate::supervise::proc::pid_alive(pid)
    {
        let _ = std::fs::remove_file(&lock);
    }
    for e in std::fs::read_dir(git_dir).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        // A state file being written when the process died: `neighbor-write.tmp.<pid>.<unique>`.
        let dead_writer = name
            .strip_prefix("neighbor-write.tmp.")
            .and_then(|rest| rest.split_once('.'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
            .is_some_and(|pid| !crate::supervise::proc::pid_alive(pid));
        if name.starts_with("neighbor-frame-index.tmp.") || dead_writer {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// The frame's tree must differ from the base in exactly the changed paths, each holding the bytes in
/// hand. git drops index entries it refuses without failing (`update-index --index-info` prints
/// "Ignoring path" and exits 0), so a dropped path fails the frame here instead of vanishing from it.
fn verify_tree(ctx: &Ctx, base_tree: gix::ObjectId, tree: &str, changes: &Changes) -> Result<(), Error> {
    let got = trees::changed_paths(&ctx.repo, &base_tree.to_string(), tree)?;
    let want: std::collections::BTreeSet<String> = changes.iter().map(|(p, _)| p.clone()).collect();
    let bad = |why: String| {
        Error::new(format!("the frame's tree does not hold exactly its changed files ({why}); nothing was committed"))
    };
    if got != want {
        let missing: Vec<&String> = want.difference(&got).collect();
        let extra: Vec<&String> = got.difference(&want).collect();
        return Err(bad(format!("missing {missing:?}, unexpected {extra:?}")));
    }
    let id = gix::ObjectId::from_hex(tree.as_bytes()).map_err(|e| bad(e.to_string()))?;
    let tree = TreeSource::new(&ctx.repo.gix, id, "", None);
    for (path, want) in changes {
        let entry = tree.lookup(path).map_err(|e| bad(e.to_string()))?;
        // The ids were computed from the bytes as they were stored: the same id is the same bytes.
        let ok = match (entry, want) {
            (None, None) => true,
            (Some((mode, id)), Some(want)) => mode.is_blob() && id == *want,
            _ => false,
        };
        if !ok {
            return Err(bad(format!("{path} does not hold the frame's bytes")));
        }
    }
    Ok(())
}

/// The object at `path` in `commit`, if there is one.
fn blob_id_at(repo: &Repo, commit: &str, path: &str) -> Option<gix::ObjectId> {
    repo.gix.rev_parse_single(format!("{commit}:{path}").as_str()).ok().map(gix::Id::detach)
}

/// A merge-frame that passed its commit point and was stopped before the checked-out target's files and
/// index matched the new commit.
#[derive(Debug, Clone, Serialize)]
pub struct Interrupted {
    /// The frame.
    pub frame: u64,
    /// Its target branch.
    pub target: String,
    /// The checkout left behind.
    pub worktree: PathBuf,
}

impl Interrupted {
    /// One line for humans.
    pub fn describe(&self) -> String {
        format!(
            "merge-frame of frame {} into {} was interrupted after its commit point: the files and index of {} \
             still show the previous frame",
            self.frame,
            self.target,
            self.worktree.display()
        )
    }
}

/// The interrupted merge-frame whose journal is waiting, if any (read without waiting for a lock).
pub fn interrupted(ctx: &Ctx) -> Option<Interrupted> {
    let bytes = std::fs::read(journal_path(ctx)).ok()?;
    // A merge-frame at work holds the building lock and has a journal for an instant: not interrupted.
    if lease::is_held(&ctx.state.lock_file()) {
        return None;
    }
    let j: Journal = serde_json::from_slice(&bytes).ok()?;
    Some(Interrupted { frame: j.frame, target: j.target, worktree: j.worktree })
}

/// Finish what a killed merge-frame left: its checkout sync (journal), its own index lock, and its
/// scratch files (reducer dirs, private indexes). Takes the building lock. Returns what it did.
pub fn recover(ctx: &Ctx) -> Result<Vec<String>, Error> {
    ctx.locked(|| {
        let mut notes: Vec<String> = repair(ctx)?.into_iter().collect();
        sweep_scratch(ctx, &mut notes);
        let target = format!("refs/heads/{}", ctx.config.state.target);
        if let Some(w) = ctx.repo.worktrees()?.into_iter().find(|w| w.branch.as_deref() == Some(target.as_str())) {
            clear_own_leftovers(&w.git_dir);
        }
        Ok(notes)
    })
}

/// Remove what killed merge-frames left in the state dir: reducer scratch dirs and private indexes.
/// Call under the building lock, where no merge-frame runs, so every one of them is garbage.
fn sweep_scratch(ctx: &Ctx, notes: &mut Vec<String>) {
    for e in std::fs::read_dir(&ctx.state.root).into_iter().flatten().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(".reducer.tmp.") {
            if std::fs::remove_dir_all(e.path()).is_ok() {
                notes.push(format!("removed reducer scratch dir {}", e.path().display()));
            }
        } else if name.starts_with(".frame-index.tmp.") || name.starts_with(".merge-frame.journal.tmp.") {
            let _ = std::fs::remove_file(e.path());
        }
    }
    // A pack a killed merge-frame was writing: nothing refers to its objects (the frame's commit came later).
    for p in pack::sweep_temporaries(&ctx.repo) {
        notes.push(format!("removed an unfinished pack {}", p.display()));
    }
}

/// Deltas waiting in frames already merged into the local target: they will never be applied.
pub fn waiting_in_merged(ctx: &Ctx) -> Result<Vec<Slot>, Error> {
    let target = format!("refs/heads/{}", ctx.config.state.target);
    let mut out = Vec::new();
    let mut merged: BTreeMap<u64, bool> = BTreeMap::new();
    for slot in mailbox::list(&ctx.repo, DELTAS, None)? {
        let done = match merged.get(&slot.frame) {
            Some(d) => *d,
            None => {
                let d = ctx.repo.ref_target(&target).is_some()
                    && mailbox::frame_commit(&ctx.repo, &target, slot.frame)?.is_some();
                merged.insert(slot.frame, d);
                d
            }
        };
        if done {
            out.push(slot);
        }
    }
    Ok(out)
}

/// Finish or discard the worktree sync of a merge-frame that crashed. Call under the building lock.
fn repair(ctx: &Ctx) -> Result<Option<String>, Error> {
    let path = journal_path(ctx);
    let Ok(bytes) = std::fs::read(&path) else { return Ok(None) };
    let Ok(j) = serde_json::from_slice::<Journal>(&bytes) else {
        let _ = std::fs::remove_file(&path);
        return Ok(Some("discarded an unreadable merge-frame journal".into()));
    };
    let now = ctx.repo.ref_target(&format!("refs/heads/{}", j.target)).map(|o| o.to_string());
    let note = if now.as_deref() == Some(j.new.as_str()) {
        let git_dir = checkout::git_dir_of(&j.worktree)?;
        clear_own_leftovers(&git_dir);
        let lock = IndexLock::take(&git_dir, ctx.lock_timeout)?;
        let skipped =
            sync_worktree(ctx, &j.worktree, &lock, Sync::Repair { old: &j.old, new: &j.new, paths: &j.paths })?;
        let mut n =
            format!("finished syncing {} after an interrupted merge of frame {}", j.worktree.display(), j.frame);
        if !skipped.is_empty() {
            n += &format!(" (left user-modified files alone: {})", skipped.join(", "));
        }
        n
    } else {
        format!("frame {} was not committed by the interrupted run; nothing to repair", j.frame)
    };
    let _ = std::fs::remove_file(&path);
    Ok(Some(note))
}

/// After a frame is merged, delete local mailbox refs that were archived (same blob under applied/).
fn tidy_merged(ctx: &Ctx, frame: u64) -> Result<(), Error> {
    let applied = mailbox::list(&ctx.repo, APPLIED, Some(frame))?;
    let mut tx = String::new();
    for slot in mailbox::list(&ctx.repo, DELTAS, Some(frame))? {
        if applied.iter().any(|a| a.stream == slot.stream && a.blob == slot.blob) {
            tx += &format!("delete {} {}\n", slot.r#ref, slot.blob);
        }
    }
    if !tx.is_empty() {
        refs::transaction(&ctx.repo, None, &tx)?;
    }
    Ok(())
}

fn update_refs(ctx: &Ctx, frame: u64, tx: String) -> Result<(), Error> {
    Ok(refs::transaction(&ctx.repo, Some(&format!("git-neighbor merge-frame {frame}")), &tx)?)
}

/// After a frame was published: make this clone's refs show what the remote now holds (`head`: the
/// remote-tracking target and maybe the local target), archive the merged deltas and drop their waiting
/// copies. The other commands of the clone drop merged deltas too (`delta push` tidies up, `delta drop`):
/// a waiting copy that no longer holds the merged blob is theirs to keep or already gone, and is left
/// alone, so that a frame that is published is never reported failed.
fn mirror(ctx: &Ctx, frame: u64, head: &str, moves: &Moves) -> Result<(), Error> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut tx = head.to_string() + &moves.creates(&ctx.repo);
        let mut deletes = 0;
        for (from, blob) in moves.taken() {
            if mailbox::holds(&ctx.repo, from, blob) {
                tx += &format!("delete {from} {blob}\n");
                deletes += 1;
            }
        }
        let Err(e) = update_refs(ctx, frame, tx) else { return Ok(()) };
        let still = moves.taken().filter(|(from, blob)| mailbox::holds(&ctx.repo, from, blob));
        // Only a waiting copy that moved meanwhile makes a second attempt different.
        if still.count() == deletes || attempts >= 3 {
            return Err(e);
        }
    }
}

/// Move the target and the delta refs on the remote in one atomic push, guarded by the base we built on.
/// A refusal while the remote's target is no longer `base` means another manager (or a human) moved it.
fn push_frame(
    ctx: &Ctx,
    remote: &str,
    target: &str,
    base: &str,
    commit: &str,
    moves: &Moves,
    (seal, seen): (&str, Option<&str>),
) -> Result<Published, Error> {
    let target_ref = format!("refs/heads/{target}");
    let pattern = format!("{DELTAS}*");
    let remote_refs = remote::ls_remote(&ctx.repo, remote, &[&pattern])?;
    let frame = seal.rsplit('/').next().and_then(|f| f.parse().ok()).unwrap_or(0);
    let mut specs =
        vec![format!("{commit}:{target_ref}"), format!("{}:{seal}", mailbox::merged_seal(&ctx.repo, frame)?)];
    let (archive, tree) = &moves.archive;
    specs.push(format!("{tree}:{archive}"));
    for q in &moves.quarantined {
        specs.push(format!("{}:{}", q.blob, q.to));
    }
    for (from, _) in moves.taken() {
        if remote_refs.iter().any(|(name, _)| name == from) {
            specs.push(format!(":{from}"));
        }
    }
    let outcome = remote::Push::new(&ctx.repo, remote, specs)
        .atomic()
        .lease(&target_ref, base)
        .lease(seal, seen.unwrap_or(""))
        .env("NEIGHBOR_MERGE_FRAME", "1")
        .run()
        .map_err(|e| e.context(format!("cannot push frame to '{remote}'")))?;
    match outcome {
        PushOutcome::Pushed => Ok(Published::Pushed),
        PushOutcome::Rejected(lines) => {
            if remote::remote_ref(&ctx.repo, remote, &target_ref)?.as_deref() != Some(base)
                || remote::remote_ref(&ctx.repo, remote, seal)?.as_deref() != seen
            {
                return Ok(Published::RemoteMoved);
            }
            Err(Error::new(format!("'{remote}' refused the frame: {}", lines.join("; ")))
                .hint("the remote's hooks or permissions refused the push; the frame is committed locally only"))
        }
    }
}

/// Hand ordering and application to a user program: deltas as JSON lines on stdin, the state dir
/// materialised in `$NEIGHBOR_STATE`. Returns the changed files (None = deleted), paths validated.
fn reduce(
    ctx: &Ctx,
    argv: &[String],
    prefix: &str,
    base: gix::ObjectId,
    deltas: &[&mailbox::Envelope],
) -> Result<Changes, Error> {
    let work = ctx.state.root.join(format!(".reducer.tmp.{}", state_dir::unique()));
    let res = (|| -> Result<Changes, Error> {
        std::fs::create_dir_all(&work).ctx(|| format!("cannot create {}", work.display()))?;
        // Materialise the state dir from the base commit.
        let listing = trees::entries_under(&ctx.repo, &base.to_string(), prefix)?;
        let mut before: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        for (mode, id, path) in &listing {
            let (mode, id, path) = (mode.as_str(), id.as_str(), path.as_str());
            let Some(rel) = path.strip_prefix(&format!("{prefix}/")) else { continue };
            // A `.gitattributes` or `.gitignore` committed in the state dir is git's, not a state file: the
            // reducer does not see it, and it stays as it is (it may not write one).
            if rel.split('/').filter_map(delta::git_control_file).any(|n| n != ".gitmodules") {
                continue;
            }
            // The tree may come from anyone who can push: every path is checked as git would before
            // writing it, and only plain files are materialised.
            let refuse = |why: String| {
                Error::new(format!("the target's tree holds {path:?}, which merge-frame will not write: {why}"))
                    .hint("repair the target branch: git would not check this tree out either")
            };
            delta::validate_rel_path(rel).map_err(|e| refuse(e.to_string()))?;
            if mode != "100644" && mode != "100755" {
                return Err(refuse(format!(
                    "mode {mode} is not a plain file (state files are never links or submodules)"
                )));
            }
            let bytes = mailbox::read_blob(&ctx.repo, id)?;
            let dest = work.join(rel);
            if let Some(d) = dest.parent() {
                std::fs::create_dir_all(d).ctx(|| format!("cannot create {}", d.display()))?;
            }
            std::fs::write(&dest, &bytes).ctx(|| format!("cannot write {}", dest.display()))?;
            before.insert(rel.to_string(), bytes);
        }
        let mut input = Vec::new();
        for d in deltas {
            serde_json::to_writer(&mut input, d).map_err(|e| Error::new(format!("cannot encode delta: {e}")))?;
            input.push(b'\n');
        }
        let (prog, args) = argv.split_first().ok_or_else(|| Error::usage("--reducer needs a command"))?;
        // In its own process group, watched by a reaper sidecar: if merge-frame is killed, the reducer
        // (and anything it started) ends too instead of writing into a scratch dir nobody reads.
        let mut child = {
            use std::os::unix::process::CommandExt;
            std::process::Command::new(prog)
                .args(args)
                .env("NEIGHBOR_STATE", &work)
                .current_dir(ctx.repo.here())
                .stdin(std::process::Stdio::piped())
                .process_group(0)
                .spawn()
                .map_err(|e| Error::new(format!("cannot run reducer '{prog}': {e}")))?
        };
        let reaper = i32::try_from(child.id()).ok().and_then(crate::supervise::spawn_reaper);
        if let Some(mut w) = child.stdin.take() {
            use std::io::Write;
            let _ = w.write_all(&input);
        }
        let status = child.wait().map_err(|e| Error::new(format!("reducer: {e}")));
        if let Some(mut r) = reaper {
            let _ = r.kill();
            let _ = r.wait();
        }
        let status = status?;
        if !status.success() {
            return Err(Error::new(format!("reducer '{prog}' failed ({status}); the frame was not merged")));
        }
        let mut after: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        collect_files(&work, &work, &mut after)?;
        let mut out = Vec::new();
        for (rel, bytes) in &after {
            delta::validate_rel_path(rel)
                .map_err(|e| Error::new(format!("reducer wrote an invalid path '{rel}': {e}")))?;
            if before.get(rel) != Some(bytes) {
                out.push((format!("{prefix}/{rel}"), Some(blob::store(&ctx.repo, bytes)?)));
            }
        }
        for rel in before.keys() {
            if !after.contains_key(rel) {
                out.push((format!("{prefix}/{rel}"), None));
            }
        }
        Ok(out)
    })();
    let _ = std::fs::remove_dir_all(&work);
    res
}

fn collect_files(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) -> Result<(), Error> {
    for e in std::fs::read_dir(dir).ctx(|| format!("cannot read {}", dir.display()))?.flatten() {
        let p = e.path();
        let ft = e.file_type().ctx(|| format!("cannot stat {}", p.display()))?;
        let rel = normalize(p.strip_prefix(root).unwrap_or(&p)).to_string_lossy().into_owned();
        if ft.is_symlink() {
            return Err(Error::new(format!("reducer left a symlink at '{rel}'; state files may not be symlinks")));
        } else if ft.is_dir() {
            collect_files(root, &p, out)?;
        } else {
            out.insert(rel.clone(), read_plain_file(&p, &rel)?);
        }
    }
    Ok(())
}

/// The bytes of the reducer's file at `p` (`rel` in its scratch dir), refusing anything but a regular
/// file: what is opened (never following a link, never waiting: a FIFO would block the read for ever, with
/// the building and mailbox locks held) is checked before it is read, so a file swapped for a FIFO after
/// the listing is refused too.
fn read_plain_file(p: &Path, rel: &str) -> Result<Vec<u8>, Error> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let flags = nix::fcntl::OFlag::O_NOFOLLOW | nix::fcntl::OFlag::O_NONBLOCK;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits())
        .open(p)
        .ctx(|| format!("cannot read {}", p.display()))?;
    if !f.metadata().ctx(|| format!("cannot stat {}", p.display()))?.is_file() {
        return Err(Error::new(format!(
            "reducer left a non-file at '{rel}' (a FIFO, socket or device); the frame was not merged"
        ))
        .hint("state files are plain files: make the reducer remove it, then run merge-frame again"));
    }
    let mut bytes = Vec::new();
    (&f).read_to_end(&mut bytes).ctx(|| format!("cannot read {}", p.display()))?;
    Ok(bytes)
}
