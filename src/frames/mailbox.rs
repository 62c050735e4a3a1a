//! The mailbox: deltas stored as git blobs under `refs/neighbor/deltas/<frame>/<stream>`.
//!
//! Refs make the mailbox shared by every worktree and pushable to a remote; a ref update with a zero
//! old value makes "write once per frame/stream" atomic without any lock. Each blob is an envelope:
//! `{"frame", "stream", "status": "ok"|"fallback", "written_at", "writer": {tenant, pid, host}, "delta"}`.
//! The delta is kept as raw JSON so a malformed one that reached the mailbox some other way (a push from
//! an older client, a hand-made ref) can still be quarantined with its reason instead of failing a frame.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::building::{lease, state_dir};
use crate::error::Error;
use crate::frames::delta::{self, Delta, Limits};
use crate::frames::history::Walked;
use crate::git::{Repo, blob};

/// Where deltas wait.
pub const DELTAS: &str = "refs/neighbor/deltas/";
/// Where merged deltas are archived: [`list`] of this namespace returns every archived delta, from the
/// per-frame archives under [`ARCHIVE`] and from the one-ref-per-delta archive older versions wrote here
/// (`refs/neighbor/applied/<frame>/<stream>`, still read, never written).
pub const APPLIED: &str = "refs/neighbor/applied/";
/// The archive of a merged frame: `refs/neighbor/archive/<frame>/deltas` points at a tree holding one
/// entry per merged delta, named after its stream, whose blob is the delta's envelope. One ref per frame
/// (not one per delta): creating a thousand loose refs was most of a large frame's commit.
pub const ARCHIVE: &str = "refs/neighbor/archive/";
/// The last component of a frame's archive ref.
const ARCHIVE_LEAF: &str = "deltas";
/// Where invalid deltas are moved.
pub const QUARANTINE: &str = "refs/neighbor/quarantine/";
/// On a shared remote, each frame's seal: a ref that every `delta push` and every `merge-frame --push`
/// of that frame moves by compare-and-swap in the same atomic push as its deltas. A manager that read the
/// seal before fetching the deltas publishes only if no delta arrived since; a writer publishes only
/// if the frame was not merged since. See [`merged_seal`].
pub const SEALS: &str = "refs/neighbor/seal/";
pub use super::history::FRAME_TRAILER;

/// `ok` or `fallback`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A delta with ops.
    Ok,
    /// "I ran and had nothing" (or crashed): no ops.
    Fallback,
}

/// Who wrote a delta.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Writer {
    /// Tenant the writer ran in, if any.
    pub tenant: Option<String>,
    /// Writer's pid.
    pub pid: u32,
    /// Host name.
    pub host: String,
}

/// A stored delta.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope {
    /// Frame number.
    pub frame: u64,
    /// Stream name.
    pub stream: String,
    /// `ok` or `fallback`.
    pub status: Kind,
    /// RFC 3339 time of writing.
    pub written_at: String,
    /// Writer.
    pub writer: Writer,
    /// The delta itself, as written.
    pub delta: Value,
}

/// A mailbox entry: where it is and what it points at.
#[derive(Debug, Clone, Serialize)]
pub struct Slot {
    /// Frame number.
    pub frame: u64,
    /// Stream name.
    pub stream: String,
    /// Full ref name.
    pub r#ref: String,
    /// Blob id.
    pub blob: String,
}

/// Parse a user-facing `<frame>/<stream>` spec.
pub fn parse_spec(spec: &str) -> Result<(u64, String), Error> {
    let bad = || Error::usage(format!("'{spec}' is not <frame>/<stream>")).hint("for example: 12/stream-a");
    let (f, s) = spec.split_once('/').ok_or_else(bad)?;
    let frame = parse_frame(f).map_err(|_| bad())?;
    crate::building::registry::validate_name_as("stream", s)?;
    Ok((frame, s.to_string()))
}

/// Parse a frame number (a positive integer).
pub fn parse_frame(s: &str) -> Result<u64, Error> {
    match s.trim().parse::<u64>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(Error::usage(format!("invalid frame '{s}': frames are positive integers"))),
    }
}

/// The blob a frame's seal points at once the frame is merged. The same bytes in every clone, so any
/// clone knows the id without fetching it.
pub fn merged_seal(repo: &Repo, frame: u64) -> Result<String, Error> {
    let bytes = format!("git-neighbor: frame {frame} is merged\n");
    blob::store(repo, bytes.as_bytes())
        .map(|id| id.to_string())
        .map_err(|e| e.context(format!("cannot write the seal of frame {frame}")))
}

/// Refuse (exit 3) to go on with `frame` on `remote`: its seal there says the frame is merged, but the
/// remote's `target` holds no commit of that frame on its first-parent history. A merge pushes the frame
/// commit and the seal together, so the target was rewound past it since (or merged with the frame on a
/// side branch). Left alone, the fleet wedges: every delta of that frame is "late" and the next
/// merge-frame finds nothing to merge. Nothing is published or dropped; a person decides.
pub fn rewound_past(remote: &str, target: &str, frame: u64) -> Error {
    Error::refused(format!(
        "{remote}'s seal says frame {frame} is merged, but {remote}'s '{target}' does not hold frame {frame}'s \
         commit: '{target}' was rewound past it (or merged with it on a side branch); nothing was published"
    ))
    .hint(format!(
        "if that was a mistake, push frame {frame}'s commit back to '{target}' on {remote}; if it was meant, delete \
         the seals and archives of frame {frame} and later on {remote} (`git push {remote} --delete \
         {SEALS}{frame} {ARCHIVE}{frame}/{ARCHIVE_LEAF}`, one pair per frame) so they can be merged again"
    ))
}

/// A new value for a frame's seal, for one `delta push`: never the same twice (this host, this process,
/// the time, a counter). A push that wrote a value the seal already had would not change the ref, git
/// skips the lease of a ref it does not change, and a manager that read that value before fetching the
/// frame's deltas would merge the frame without the deltas of this push (ABA).
pub fn seal_token(repo: &Repo, frame: u64) -> Result<String, Error> {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let bytes =
        format!("git-neighbor: frame {frame} has new deltas ({}, pid {}, {nanos}, {n})\n", host(), std::process::id());
    blob::store(repo, bytes.as_bytes())
        .map(|id| id.to_string())
        .map_err(|e| e.context(format!("cannot write the seal of frame {frame}")))
}

/// The seals on `remote`, by ref name.
pub fn remote_seals(repo: &Repo, remote: &str) -> Result<std::collections::BTreeMap<String, String>, Error> {
    Ok(crate::git::remote::ls_remote(repo, remote, &[&format!("{SEALS}*")])?.into_iter().collect())
}

/// The archive ref of a frame.
pub fn archive_ref(frame: u64) -> String {
    format!("{ARCHIVE}{frame}/{ARCHIVE_LEAF}")
}

/// The frame whose archive `full` (a full ref name) is, if it is one.
pub fn archive_frame(full: &str) -> Option<u64> {
    full.strip_prefix(ARCHIVE)?.strip_suffix(ARCHIVE_LEAF)?.strip_suffix('/').and_then(canonical_frame)
}

/// Write the archive tree of a frame: one entry per `(stream, blob)`. Stream names are validated names
/// (no `/`), so every entry is a plain file entry.
pub fn archive_tree(repo: &Repo, deltas: &[(String, String)]) -> Result<String, Error> {
    let mut entries = Vec::with_capacity(deltas.len());
    for (stream, blob) in deltas {
        crate::building::registry::validate_name_as("stream", stream)?;
        let oid =
            gix::ObjectId::from_hex(blob.as_bytes()).map_err(|e| Error::new(format!("bad object id {blob}: {e}")))?;
        entries.push(gix::objs::tree::Entry {
            mode: gix::objs::tree::EntryKind::Blob.into(),
            filename: stream.as_str().into(),
            oid,
        });
    }
    // Git's tree order; plain file names compare as bytes.
    entries.sort_by(|a, b| a.filename.cmp(&b.filename));
    entries.dedup_by(|a, b| a.filename == b.filename);
    let tree = gix::objs::Tree { entries };
    crate::git::retrying_write(|| repo.gix.write_object(&tree))
        .map(|id| id.detach().to_string())
        .map_err(|e| Error::new(format!("cannot write the archive of the frame: {e}")))
}

/// The deltas a frame archive (a tree id) holds. A ref that came from a remote is untrusted: an object
/// that is not a tree, and entries that are not blobs under a valid stream name, are skipped.
pub fn archive_entries(repo: &Repo, frame: u64, r#ref: &str, tree: &str) -> Vec<Slot> {
    let Ok(id) = gix::ObjectId::from_hex(tree.as_bytes()) else { return Vec::new() };
    let Ok(obj) = repo.gix.find_object(id) else { return Vec::new() };
    let Ok(tree) = obj.try_into_tree() else { return Vec::new() };
    let Ok(decoded) = tree.decode() else { return Vec::new() };
    decoded
        .entries
        .iter()
        .filter(|e| e.mode.is_blob())
        .filter_map(|e| {
            let stream = std::str::from_utf8(e.filename).ok()?;
            crate::building::registry::validate_name_as("stream", stream).ok()?;
            Some(Slot { frame, stream: stream.to_string(), r#ref: r#ref.to_string(), blob: e.oid.to_string() })
        })
        .collect()
}

/// The ref of a slot.
pub fn slot_ref(frame: u64, stream: &str) -> String {
    format!("{DELTAS}{frame}/{stream}")
}

/// Validate a delta's bytes for writing; the error names the op index.
pub fn validate(bytes: &[u8]) -> Result<Delta, Error> {
    delta::parse_delta(bytes, &Limits::default()).map_err(|e| {
        Error::new(format!("invalid delta: {e}"))
            .hint("the delta format is in git-neighbor-delta-write(1): `git help neighbor-delta-write`")
    })
}

/// This host's name (for the writer field).
pub fn host() -> String {
    nix::unistd::gethostname().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "unknown".into())
}

/// The mailbox lock: writers hold it shared while they check that their frame is still open and store
/// their delta; `merge-frame` holds it exclusively from listing a frame's slots to its commit point. So a
/// delta is either seen by the merge of its frame or finds that frame merged and is refused: an accepted
/// delta is never left behind in a merged frame.
pub fn with_lock<T>(
    dir: &state_dir::StateDir,
    exclusive: bool,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let what = ("mailbox lock", "a merge-frame is committing", "wait for merge-frame to finish");
    flock(dir, "mailbox.lock", exclusive, timeout, what, f)
}

/// The fetch lock, held exclusively around every fetch from a remote into this clone's refs (the
/// remote-tracking target, the archive of applied deltas, waiting deltas) and what is decided from
/// them. Every writer of a clone fetches into the same refs: `git fetch` updates each ref by
/// compare-and-swap on the value it read when it started, so two fetches at once make the later one
/// fail although nothing is wrong (and a `delta push` that fails so tells its writer that a delta was not
/// published when another writer's push had published it).
pub fn with_fetch_lock<T>(
    dir: &state_dir::StateDir,
    timeout: Duration,
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    let what = ("fetch lock", "another command of this clone is fetching", "wait for it to finish");
    flock(dir, "fetch.lock", true, timeout, what, f)
}

fn flock<T>(
    dir: &state_dir::StateDir,
    name: &str,
    exclusive: bool,
    timeout: Duration,
    (label, holder, wait): (&str, &str, &str),
    f: impl FnOnce() -> Result<T, Error>,
) -> Result<T, Error> {
    dir.ensure()?;
    let path = dir.root.join(name);
    let mode = if exclusive { lease::Mode::Exclusive } else { lease::Mode::Shared };
    let timed_out = || lease::timeout_error(label, &path, timeout, holder, wait);
    lease::wait_for(&path, mode, timeout, timed_out, |_| f())
}

/// What `delta write` stores: the caller has already resolved its own defaults (flags, environment).
#[derive(Debug, Clone, Default)]
pub struct WriteRequest {
    /// Frame (default: the next frame to merge into `state.target`).
    pub frame: Option<u64>,
    /// Stream (default: the tenant the building was opened in).
    pub stream: Option<String>,
    /// The delta's JSON; `None` with `fallback` is the empty fallback delta `{"ops": []}`.
    pub delta: Option<Vec<u8>>,
    /// A fallback delta ("ran, nothing to say"): it must have no ops.
    pub fallback: bool,
    /// Overwrite this stream's delta for the frame.
    pub replace: bool,
}

/// Validate a delta and store it in its frame/stream slot (once, unless `replace`): what `delta write`
/// and the MCP `delta_write` tool do. Refuses (exit 3) a merged frame and an occupied slot.
pub fn write(ctx: &crate::building::Ctx, req: &WriteRequest) -> Result<Slot, Error> {
    // One look at the registry serves both the default stream and the writer's name.
    let tenant = crate::building::current_tenant(ctx).map(|t| t.name);
    let stream = match req.stream.clone() {
        Some(s) => s,
        None => tenant.clone().ok_or_else(|| {
            Error::usage("no stream given").hint("pass --stream S, set NEIGHBOR_STREAM, or run inside a tenant")
        })?,
    };
    crate::building::registry::validate_name_as("stream", &stream)?;
    let target = format!("refs/heads/{}", ctx.config.state.target);
    let frame = match req.frame {
        Some(f) => f,
        None => next_frame(last_merged_frame(&ctx.repo, &target)?)?,
    };
    let d = match (&req.delta, req.fallback) {
        (Some(bytes), _) => validate(bytes)?,
        (None, true) => validate(br#"{"ops": []}"#)?,
        (None, false) => return Err(Error::usage("no delta given").hint("pass the delta's JSON, or --fallback")),
    };
    if req.fallback && !d.ops.is_empty() {
        return Err(
            Error::usage("a fallback delta has no ops").hint("drop --fallback, or write {\"ops\": [], \"meta\": {…}}")
        );
    }
    // Symlinks in the checked-out state dir (or on the way to it) are refused now rather than at merge time.
    if let Some(wt) = &ctx.repo.workdir {
        let rel = delta::validate_rel_path(&ctx.config.state.dir)
            .map_err(|e| Error::new(format!("state.dir \"{}\": {e}", ctx.config.state.dir)))?;
        delta::check_dir_no_symlinks(wt, &rel).map_err(|e| {
            Error::new(format!("invalid state dir {}: {e}", wt.join(rel.as_str()).display()))
                .hint("state files are never written through a symlink; make the state dir a plain directory")
        })?;
        let dir = wt.join(rel.as_str());
        for (i, op) in d.ops.iter().enumerate() {
            delta::check_no_symlinks(&dir, op.path()).map_err(|e| {
                Error::new(format!("invalid delta: ops[{i}] ({} state path \"{}\"): {e}", op.name(), op.path()))
            })?;
        }
    }
    let value = serde_json::to_value(&d).map_err(|e| Error::new(format!("cannot encode delta: {e}")))?;
    let kind = if req.fallback { Kind::Fallback } else { Kind::Ok };
    let env = envelope(frame, &stream, kind, tenant, value);
    store_open(&ctx.repo, &ctx.state, ctx.lock_timeout, &target, &env, req.replace)
}

/// Store an envelope in its slot if its frame is still open on `target` (a full ref), under the mailbox
/// lock. Refuses (exit 3) a merged frame, and an occupied slot unless `replace`.
pub fn store_open(
    repo: &Repo,
    dir: &state_dir::StateDir,
    timeout: Duration,
    target: &str,
    env: &Envelope,
    replace: bool,
) -> Result<Slot, Error> {
    with_lock(dir, false, timeout, || {
        if let Some((n, c)) = frame_merged_quick(repo, target, env.frame)? {
            let c = &c[..10.min(c.len())];
            let what = if n == env.frame {
                format!("frame {n} is already merged (commit {c})")
            } else {
                format!(
                    "frame {} is closed: frame {n} is merged already (commit {c}), and frames merge in order",
                    env.frame
                )
            };
            return Err(Error::refused(what).hint("write for the next frame, or omit --frame to use it"));
        }
        store(repo, env, replace)
    })
}

/// Store an envelope in its slot. Refuses (exit 3) an occupied slot unless `replace`. Writers use
/// [`store_open`], which also makes sure the frame is still open.
pub fn store(repo: &Repo, env: &Envelope, replace: bool) -> Result<Slot, Error> {
    let bytes = serde_json::to_vec(env).map_err(|e| Error::new(format!("cannot encode delta: {e}")))?;
    // What merge-frame reads back is the envelope, a level or two deeper than the delta: a delta that only
    // fits on its own would be accepted here and quarantined there.
    if let Err(e) = serde_json::from_slice::<Envelope>(&bytes) {
        return Err(Error::usage(format!("invalid delta: it cannot be stored as written ({e})"))
            .hint("nest its values less deeply: the stored delta must stay within 128 levels of JSON"));
    }
    let blob = blob::store(repo, &bytes).map_err(|e| e.context("cannot store delta object"))?.to_string();
    crate::failpoint::hit("delta-write.blob-stored");
    let r = slot_ref(env.frame, &env.stream);
    // In-process ref creation (gix takes the same lock files git does); "must not exist" makes the
    // write-once rule atomic.
    let id = gix::ObjectId::from_hex(blob.as_bytes()).map_err(|e| Error::new(format!("bad object id {blob}: {e}")))?;
    let constraint = if replace {
        gix::refs::transaction::PreviousValue::Any
    } else {
        gix::refs::transaction::PreviousValue::MustNotExist
    };
    if let Err(e) = crate::git::refs::set_in_process(repo, &r, id, constraint, "git-neighbor delta write") {
        if !replace && repo.ref_target(&r).is_some() {
            return Err(Error::refused(format!(
                "frame {} already has a delta from stream '{}'",
                env.frame, env.stream
            ))
            .hint("pass --replace to overwrite it, or write for another frame/stream"));
        }
        return Err(Error::new(format!("cannot store delta {}: {e}", r)));
    }
    crate::failpoint::hit("delta-write.ref-stored");
    Ok(Slot { frame: env.frame, stream: env.stream.clone(), r#ref: r, blob })
}

/// List slots under a namespace (`DELTAS`, `APPLIED`, `QUARANTINE`), optionally for one frame,
/// sorted by frame then stream. `APPLIED` lists every archived delta: the frame archives under
/// [`ARCHIVE`] (a slot's ref is then its frame's archive ref) and the older one-ref-per-delta archive.
pub fn list(repo: &Repo, ns: &str, frame: Option<u64>) -> Result<Vec<Slot>, Error> {
    let prefix = |ns: &str| match frame {
        Some(f) => format!("{ns}{f}/"),
        None => ns.to_string(),
    };
    let mut prefixes = vec![prefix(ns)];
    if ns == APPLIED {
        prefixes.push(prefix(ARCHIVE));
    }
    let mut slots = Vec::new();
    // One listing for both namespaces: the hot paths count their git processes.
    for (r, oid) in crate::git::refs::under_any(repo, &prefixes)? {
        if ns == APPLIED && r.starts_with(ARCHIVE) {
            if let Some(frame) = archive_frame(&r) {
                slots.extend(archive_entries(repo, frame, &r, &oid));
            }
            continue;
        }
        let Some((f, s)) = r.strip_prefix(ns).and_then(|rest| rest.split_once('/')) else { continue };
        let Some(frame) = canonical_frame(f) else { continue };
        slots.push(Slot { frame, stream: s.to_string(), r#ref: r.clone(), blob: oid });
    }
    slots.sort_by(|a, b| (a.frame, &a.stream).cmp(&(b.frame, &b.stream)));
    Ok(slots)
}

/// A frame number spelled the one way refs name it (`12`, not `012` or `+12`).
fn canonical_frame(f: &str) -> Option<u64> {
    f.parse::<u64>().ok().filter(|n| *n > 0 && n.to_string() == f)
}

/// Refs under `ns` that no frame will ever pick up: a frame part that is not a canonical positive
/// number, or a stream that is not a valid stream name.
pub fn malformed(repo: &Repo, ns: &str) -> Result<Vec<String>, Error> {
    Ok(crate::git::refs::under(repo, ns)?
        .into_iter()
        .map(|(r, _)| r)
        .filter(|r| {
            let Some((f, s)) = r.strip_prefix(ns).and_then(|rest| rest.split_once('/')) else { return true };
            canonical_frame(f).is_none() || crate::building::registry::validate_name_as("stream", s).is_err()
        })
        .collect())
}

/// Whether `full_ref` points at `blob` (a hex object id) now.
pub fn holds(repo: &Repo, full_ref: &str, blob: &str) -> bool {
    let want = gix::ObjectId::from_hex(blob.as_bytes()).ok();
    want.is_some() && repo.ref_target(full_ref) == want
}

/// Read a slot's blob (given as hex): anything but a blob is refused.
pub fn read_blob(repo: &Repo, blob: &str) -> Result<Vec<u8>, Error> {
    let id = gix::ObjectId::from_hex(blob.as_bytes()).map_err(|e| Error::new(format!("bad object id {blob}: {e}")))?;
    crate::git::blob::bytes_of(repo, id)
}

/// Read and decode a slot's envelope.
pub fn read(repo: &Repo, slot: &Slot) -> Result<Envelope, String> {
    let bytes = read_blob(repo, &slot.blob).map_err(|e| e.message)?;
    let env: Envelope = serde_json::from_slice(&bytes).map_err(|e| format!("not a delta envelope: {e}"))?;
    if env.frame != slot.frame || env.stream != slot.stream {
        return Err(format!(
            "envelope says {}/{} but is stored at {}/{}",
            env.frame, env.stream, slot.frame, slot.stream
        ));
    }
    Ok(env)
}

/// An envelope for this process.
pub fn envelope(frame: u64, stream: &str, status: Kind, tenant: Option<String>, delta: Value) -> Envelope {
    Envelope {
        frame,
        stream: stream.to_string(),
        status,
        written_at: state_dir::rfc3339(state_dir::now_ms()),
        writer: Writer { tenant, pid: std::process::id(), host: host() },
        delta,
    }
}

/// The frame number recorded in the newest frame commit on `full` (a full ref; first-parent history).
pub fn last_merged_frame(repo: &Repo, full: &str) -> Result<Option<u64>, Error> {
    let mut last = None;
    let walked = super::history::frame_commits(repo, full, |_, n| {
        last = Some(n);
        false
    })?;
    match walked {
        Walked::Cut(cut) => Err(cut.error(full)),
        _ => Ok(last),
    }
}

/// The frame after `last` (the first frame when none was merged); an error past the last frame number.
pub fn next_frame(last: Option<u64>) -> Result<u64, Error> {
    match last {
        None => Ok(1),
        Some(n) => n.checked_add(1).ok_or_else(|| {
            Error::new(format!("frame {n} is the last frame number there is")).hint(
                "frames are numbered 1, 2, 3, … from the first merge: a frame number that large was given by hand",
            )
        }),
    }
}

/// Is `frame` closed on `full`: merged, or older than a frame merged already (frames merge in order, and
/// merge-frame refuses an older one after a newer)? The newest frame commit answers: its frame and id when
/// that frame is `frame` or later. Fast and in-process, for writers; `merge-frame` itself uses the exact
/// [`frame_commit`].
pub fn frame_merged_quick(repo: &Repo, full: &str, frame: u64) -> Result<Option<(u64, String)>, Error> {
    let mut newest = None;
    let walked = super::history::frame_commits(repo, full, |id, n| {
        newest = Some((n, id.to_string()));
        false
    })?;
    match walked {
        Walked::Cut(cut) => Err(cut.error(full)),
        _ => Ok(newest.filter(|(n, _)| *n >= frame)),
    }
}

/// The commit on `tip`'s first-parent history that merged `frame`, if any.
pub fn frame_commit(repo: &Repo, tip: &str, frame: u64) -> Result<Option<String>, Error> {
    crate::git::revs::first_parent_matching(repo, tip, &format!("^{FRAME_TRAILER}: {frame}$"))
}
