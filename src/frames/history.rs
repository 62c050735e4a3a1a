//! Frame commits in a target's first-parent history, found in-process, with a memo for long walks.
//!
//! `delta write` asks on every call which frame was merged last and whether its own frame is merged yet.
//! Frame commits are normally at or near the tip, so the walk is short; but until a repository's first
//! frame, or after a long stretch of ordinary commits, it reads every commit down to the root (about 3 µs
//! each: 60 ms on 20,000 commits). The memo, `<common>/neighbor/frame-walk`, records for a commit the
//! newest frame commit in its first-parent history (or that there is none), so the next walk stops where
//! the last long one started.
//!
//! A commit's first-parent history is fixed by its id, so an entry never goes stale. Replace refs are the
//! exception (they give a commit other parents without changing its id): a repository that has any
//! bypasses the memo. A shallow repository's walk that ends at the shallow boundary is not remembered
//! (deepening adds history below it); one that finds a frame commit is, as that answer cannot change. A
//! walk that ends there (or at its bound) says so ([`Walked::Cut`]): "no frame commit seen" is then not
//! "no frame merged", and the callers refuse to guess.
//! An entry that names a frame commit is checked against that commit's trailer before it is used; one
//! that does not parse makes the whole memo ignored. The memo is rewritten by temporary file and rename (a `kill -9`
//! leaves the old one or the new one, and a stray temporary file `prune` sweeps); two writers at once
//! both leave a whole memo, the later one's.

use std::io::Write;

use crate::error::Error;
use crate::git::Repo;

/// Trailer naming a frame in its commit.
pub const FRAME_TRAILER: &str = "Neighbor-Frame";
/// The memo's file name in the state directory.
const MEMO: &str = "frame-walk";
/// A walk at least this long is remembered.
const MEMO_MIN_WALK: usize = 64;
/// Entries kept (one per target tip recently walked; most recent first).
const MEMO_ENTRIES: usize = 8;
/// The walk's bound: only a history that loops (replace refs can make one) comes near it; a real one of
/// that length takes about half a minute once, and the memo makes every later walk short.
const MAX_WALK: usize = 10_000_000;

/// How a walk of [`frame_commits`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Walked {
    /// `visit` asked to stop.
    Stopped,
    /// At the root commit: every frame commit of the history was visited.
    Whole,
    /// Before the root: at a shallow clone's boundary, or at the walk's bound. Frame commits below were
    /// not visited, so "none found" means "not known".
    Cut(Cut),
}

/// Why a walk ended before the root.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cut {
    /// The shallow boundary, after this many commits.
    Shallow(usize),
    /// [`MAX_WALK`] commits.
    Bound,
}

impl Cut {
    /// The error for a question this walk could not answer about `full`.
    pub fn error(self, full: &str) -> Error {
        match self {
            Cut::Shallow(n) => Error::new(format!(
                "cannot tell which frames are merged into {full}: this clone's history of it ends {n} commits \
                 below its tip (a shallow clone), before any frame commit"
            ))
            .hint("deepen this clone until it reaches the newest frame commit (`git fetch --deepen=<n>`, or `git fetch --unshallow`)"),
            Cut::Bound => Error::new(format!(
                "cannot tell which frames are merged into {full}: its first-parent history has more than {MAX_WALK} \
                 commits without a frame commit, or loops"
            ))
            .hint("a history that loops is made by replace refs: look at `git replace --list`"),
        }
    }
}

/// The frame number in a commit message's `Neighbor-Frame:` trailer.
pub fn frame_of(message: &[u8]) -> Option<u64> {
    let text = String::from_utf8_lossy(message);
    text.lines().rev().find_map(|l| {
        l.strip_prefix(FRAME_TRAILER).and_then(|r| r.strip_prefix(": ")).and_then(|n| n.trim().parse().ok())
    })
}

/// One memo entry: below (and at) `tip`, the newest frame commit is `newest` (its id and frame), or none.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    tip: gix::ObjectId,
    newest: Option<(gix::ObjectId, u64)>,
}

/// Walk first-parent history from `full` (a full ref), yielding each frame commit's (id, frame), newest
/// first, while `visit` returns true; says how the walk ended. In-process: hot paths (`delta write`,
/// `run`) must not pay for a `git log`.
pub fn frame_commits(
    repo: &Repo,
    full: &str,
    mut visit: impl FnMut(gix::ObjectId, u64) -> bool,
) -> Result<Walked, Error> {
    let Some(tip) = repo.ref_target(full) else { return Ok(Walked::Whole) };
    // In a shallow clone (CI's `--depth 1`) history ends at the shallow boundary: the parents of those
    // commits are not here, and there is nothing older to look at.
    let boundary: Vec<gix::ObjectId> =
        repo.gix.shallow_commits().ok().flatten().map(|c| c.iter().copied().collect()).unwrap_or_default();
    // The look for replace refs is only paid when the memo has something to say, or is about to be written
    // (see `remember`): the short walk of a repository that never needed the memo does neither.
    let mut memo = Some(read_memo(repo)).filter(|m| m.is_empty() || !has_replacements(repo));
    let read = |id: gix::ObjectId| -> Result<(Option<u64>, Option<gix::ObjectId>), Error> {
        let bad = |e: &dyn std::fmt::Display| Error::new(format!("cannot read commit {id}: {e}"));
        let commit = repo.gix.find_commit(id).map_err(|e| bad(&e))?;
        let message = commit.message_raw().map_err(|e| bad(&e))?;
        Ok((frame_of(message), commit.parent_ids().next().map(|p| p.detach())))
    };
    let mut id = tip;
    // Until the newest frame commit (or the end of history) is known, the walk counts its steps: a long
    // one is remembered for the tip.
    let mut newest_known = false;
    let mut walked = 0usize;
    for _ in 0..MAX_WALK {
        let hit = if newest_known { None } else { memo.as_deref().and_then(|m| m.iter().find(|e| e.tip == id)) };
        if let Some(e) = hit.cloned() {
            let entries = memo.as_deref().unwrap_or_default();
            match e.newest {
                None => {
                    remember(repo, entries, walked, Entry { tip, newest: None });
                    return Ok(Walked::Whole);
                }
                // Checked before it is trusted: the entry must name a commit carrying that frame.
                Some((f, n)) if matches!(read(f), Ok((Some(m), _)) if m == n) => {
                    remember(repo, entries, walked, Entry { tip, newest: e.newest });
                    newest_known = true;
                    id = f;
                    continue;
                }
                Some(_) => memo = Some(Vec::new()),
            }
        }
        let (frame, parent) = read(id)?;
        if let Some(n) = frame {
            if !newest_known {
                newest_known = true;
                if let Some(entries) = &memo {
                    remember(repo, entries, walked, Entry { tip, newest: Some((id, n)) });
                }
            }
            if !visit(id, n) {
                return Ok(Walked::Stopped);
            }
        }
        walked += 1;
        match parent {
            // The shallow boundary is not the end of history: nothing is remembered.
            Some(_) if boundary.contains(&id) => return Ok(Walked::Cut(Cut::Shallow(walked))),
            Some(p) => id = p,
            None => {
                if !newest_known && let Some(entries) = &memo {
                    remember(repo, entries, walked, Entry { tip, newest: None });
                }
                return Ok(Walked::Whole);
            }
        }
    }
    Ok(Walked::Cut(Cut::Bound))
}

/// Whether the repository has replace refs (`git replace`): they give a commit other parents.
fn has_replacements(repo: &Repo) -> bool {
    repo.gix
        .references()
        .ok()
        .and_then(|r| r.prefixed("refs/replace/").ok().map(|mut it| it.next().is_some()))
        .unwrap_or(true)
}

/// The memo's entries; empty when it is missing or any line does not parse.
fn read_memo(repo: &Repo) -> Vec<Entry> {
    let Ok(text) = std::fs::read_to_string(repo.state_dir().join(MEMO)) else { return Vec::new() };
    text.lines().map(parse_entry).collect::<Option<Vec<_>>>().unwrap_or_default()
}

/// `<tip> <frame commit> <frame>`, or `<tip> - -` when the tip's history has no frame commit.
fn parse_entry(line: &str) -> Option<Entry> {
    let mut it = line.split(' ');
    let (tip, f, n) = (it.next()?, it.next()?, it.next()?);
    if it.next().is_some() {
        return None;
    }
    let tip = gix::ObjectId::from_hex(tip.as_bytes()).ok()?;
    let newest = match (f, n) {
        ("-", "-") => None,
        (f, n) => Some((gix::ObjectId::from_hex(f.as_bytes()).ok()?, n.parse::<u64>().ok().filter(|n| *n > 0)?)),
    };
    Some(Entry { tip, newest })
}

fn format_entry(e: &Entry) -> String {
    match e.newest {
        Some((f, n)) => format!("{} {f} {n}\n", e.tip),
        None => format!("{} - -\n", e.tip),
    }
}

/// Put `entry` first in the memo if the walk that found it took `walked` steps, at least [`MEMO_MIN_WALK`]
/// (a shorter one is cheaper to repeat than to remember). Best effort: the memo only saves time, so a state directory that does
/// not exist yet (nothing of ours has run here) or cannot be written leaves it as it was. Never written in
/// a repository with replace refs.
fn remember(repo: &Repo, entries: &[Entry], walked: usize, entry: Entry) {
    let dir = repo.state_dir();
    if walked < MEMO_MIN_WALK || !dir.is_dir() || has_replacements(repo) {
        return;
    }
    let mut text = format_entry(&entry);
    for e in entries.iter().filter(|e| e.tip != entry.tip).take(MEMO_ENTRIES - 1) {
        text.push_str(&format_entry(e));
    }
    let res = tempfile::Builder::new().prefix(&format!(".{MEMO}.tmp.")).tempfile_in(&dir).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        crate::failpoint::hit("frame-walk.memo-temp-written");
        f.persist(dir.join(MEMO)).map(drop).map_err(|e| e.error)
    });
    drop(res);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_and_anything_else_is_refused() {
        let a = gix::ObjectId::from_hex(b"1111111111111111111111111111111111111111").unwrap();
        let b = gix::ObjectId::from_hex(b"2222222222222222222222222222222222222222").unwrap();
        for e in [Entry { tip: a, newest: None }, Entry { tip: a, newest: Some((b, 7)) }] {
            assert_eq!(parse_entry(format_entry(&e).trim_end()), Some(e));
        }
        for bad in [
            "",
            "1111111111111111111111111111111111111111",
            "1111111111111111111111111111111111111111 - 3",
            "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 0",
            "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 -1",
            "1111111111111111111111111111111111111111 2222222222222222222222222222222222222222 7 x",
            "11111111111111111111111111111111111111 - -",
            "zz11111111111111111111111111111111111111 - -",
        ] {
            assert_eq!(parse_entry(bad), None, "{bad:?}");
        }
    }
}
