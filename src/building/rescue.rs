//! Rescue refs: `refs/neighbor/rescue/<id>`, commits that hold work a command was about to discard.
//!
//! A rescue commit's tree is a snapshot of the worktree (tracked changes and untracked, non-ignored files,
//! taken through a temporary index so the real index is untouched); its parent is the worktree's HEAD, so
//! any unmerged commits stay reachable too; its second parent holds the index, so what was staged is
//! restorable as well (and a tenant's rescue adds its branch tip when HEAD is elsewhere). Trailers record
//! where the work came from. Storing a rescue is idempotent: a rerun finds the one it already made.

use serde::Serialize;

use crate::building::state_dir;
use crate::error::Error;
use crate::git::Repo;
use crate::git::refs::{self, Cas};
use crate::git::revs;

/// Ref namespace for rescues.
pub const PREFIX: &str = "refs/neighbor/rescue/";

/// A saved rescue.
#[derive(Debug, Clone, Serialize)]
pub struct Rescue {
    /// Id (the ref name after the prefix).
    pub id: String,
    /// Full ref name.
    pub r#ref: String,
    /// Commit id.
    pub commit: String,
    /// When it was made (RFC 3339).
    pub date: String,
    /// First line of its message.
    pub subject: String,
}

/// Record an existing commit as a rescue ref `refs/neighbor/rescue/<label>-<stamp>-<short id>`.
///
/// Idempotent: when a rescue with the same label already holds the same work (the same commit, or one
/// with the same tree and parents made by an earlier run of the same command), that one is returned and
/// nothing is added, so a command rerun after a crash neither fails on its own ref nor leaves a duplicate.
pub fn store(repo: &Repo, label: &str, commit: &str, subject: &str) -> Result<Rescue, Error> {
    if let Some(existing) = same_rescue(repo, label, commit)? {
        return Ok(existing);
    }
    let now = state_dir::now_ms();
    let stamp: String = state_dir::rfc3339(now).chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    let id = format!("{label}-{stamp}-{}", &commit[..8.min(commit.len())]);
    let full = format!("{PREFIX}{id}");
    // Never overwrite an existing rescue: create only; "already there with this value" is success.
    match refs::create_if_absent(repo, &full, commit, "git-neighbor rescue")? {
        Cas::Done => {}
        Cas::Moved(other) => {
            return Err(Error::new(format!("rescue ref {full} already holds {other}"))
                .hint("run the command again a second later: the next rescue gets a new name"));
        }
        Cas::Gone => return Err(Error::new(format!("cannot create rescue ref {full}"))),
    }
    Ok(Rescue {
        id,
        r#ref: full,
        commit: commit.to_string(),
        date: state_dir::rfc3339(now),
        subject: subject.to_string(),
    })
}

/// A rescue labelled `label` that already holds the work of `commit`: the same commit, or one with the
/// same tree whose parents are the same commits or hold the same trees (a rerun's index commit differs
/// only in its date).
fn same_rescue(repo: &Repo, label: &str, commit: &str) -> Result<Option<Rescue>, Error> {
    let pattern = format!("{PREFIX}{label}-");
    let listing = refs::commits_under(repo, PREFIX, false)?;
    let (tree, parents) = revs::tree_and_parents(repo, commit)?;
    for c in listing {
        if !c.name.starts_with(&pattern) || c.tree != tree {
            continue;
        }
        let (theirs, ours) = (&c.parents, &parents);
        let same = c.oid == commit
            || theirs == ours
            || (theirs.len() == ours.len()
                && theirs.first() == ours.first()
                && revs::trees_of(repo, &theirs[1..])? == revs::trees_of(repo, &ours[1..])?);
        if same {
            return Ok(Some(Rescue {
                id: c.name.trim_start_matches(PREFIX).to_string(),
                r#ref: c.name,
                commit: c.oid,
                date: c.date,
                subject: c.subject,
            }));
        }
    }
    Ok(None)
}

pub use crate::git::snapshot::{Snapshot, TempIndex, commit_snapshot, commit_snapshot_onto, snapshot};

/// Every rescue ref, newest first.
pub fn list(repo: &Repo) -> Result<Vec<Rescue>, Error> {
    Ok(refs::commits_under(repo, PREFIX, true)?
        .into_iter()
        .filter_map(|c| {
            let id = c.name.strip_prefix(PREFIX)?.to_string();
            Some(Rescue {
                date: made_at(&id).map_or(c.date, |t| t.to_string()),
                id,
                commit: c.oid,
                subject: c.subject,
                r#ref: c.name,
            })
        })
        .collect())
}

/// Delete one rescue, by compare-and-swap against the commit it was listed with.
pub fn drop(repo: &Repo, r: &Rescue) -> Result<(), Error> {
    crate::git::refs::delete_cas(repo, &r.r#ref, &r.commit, "git-neighbor rescue drop")
}

/// The rescues made longer than `age` ago, oldest last as listed. Made, not committed: a rescue of an old
/// branch tip is that tip itself, whose date says nothing of when it was saved; the time is the stamp
/// [`store`] puts in the id, and a rescue without one is never old.
pub fn older_than(repo: &Repo, age: std::time::Duration) -> Result<Vec<Rescue>, Error> {
    let now = jiff::Timestamp::now();
    Ok(list(repo)?
        .into_iter()
        .filter(|r| made_at(&r.id).is_some_and(|made| now.duration_since(made).unsigned_abs() > age))
        .collect())
}

/// When a rescue was made: the UTC stamp in its id, `<label>-<YYYYMMDDHHMMSS>-<short commit id>`.
fn made_at(id: &str) -> Option<jiff::Timestamp> {
    let stamp = id.split('-').find(|p| p.len() == 14 && p.bytes().all(|b| b.is_ascii_digit()))?;
    let two = |at: usize| stamp.get(at..at + 2)?.parse::<i8>().ok();
    let year = stamp.get(..4)?.parse::<i16>().ok()?;
    let made = jiff::civil::DateTime::new(year, two(4)?, two(6)?, two(8)?, two(10)?, two(12)?, 0).ok()?;
    made.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp())
}

/// Look up one rescue by id (or unique prefix of an id).
pub fn find(repo: &Repo, id: &str) -> Result<Rescue, Error> {
    let all = list(repo)?;
    if let Some(r) = all.iter().find(|r| r.id == id) {
        return Ok(r.clone());
    }
    let matches: Vec<&Rescue> = all.iter().filter(|r| r.id.starts_with(id)).collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(Error::new(format!("no rescue named '{id}'")).hint("`git neighbor rescue list` shows them")),
        _ => Err(Error::usage(format!("'{id}' matches {} rescues", matches.len())).hint("give more of the id")),
    }
}
