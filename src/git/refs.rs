//! Ref reads and updates that never lose a race silently: every move and deletion is a compare-and-swap.
//! They run from the common git dir where they must work from anywhere in the building, even from inside
//! a worktree that is being removed (its own git dir may be gone by then).

use super::{GitCmd, Repo};
use crate::error::Error;

/// Apply `commands` (`update-ref --stdin` lines: `update`, `create`, `delete`, `verify`, each with its
/// expected old value) as one all-or-nothing transaction.
pub fn transaction(repo: &Repo, reason: Option<&str>, commands: &str) -> Result<(), super::GitError> {
    let mut cmd = repo.git().map_err(|e| super::GitError::not_started("update-ref", e))?.arg("update-ref");
    if let Some(r) = reason {
        cmd = cmd.args(["-m", r]);
    }
    cmd.arg("--stdin").stdin(commands.as_bytes().to_vec()).run()
}

/// A ref transaction whose git is already running, its commands to come: see [`start_transaction`].
pub struct PendingTransaction(super::cmd::Started);

/// Start the git of a [`transaction`] before its commands are known, so its start-up overlaps the work
/// that decides them. Nothing is locked or changed until [`PendingTransaction::commit`]; dropped, or if
/// this process dies first, git reads no commands and changes nothing.
pub fn start_transaction(repo: &Repo, reason: Option<&str>) -> Result<PendingTransaction, super::GitError> {
    let mut cmd = repo.git().map_err(|e| super::GitError::not_started("update-ref", e))?.arg("update-ref");
    if let Some(r) = reason {
        cmd = cmd.args(["-m", r]);
    }
    cmd.arg("--stdin").start().map(PendingTransaction)
}

impl PendingTransaction {
    /// Apply `commands`, as [`transaction`] does.
    pub fn commit(self, commands: &str) -> Result<(), super::GitError> {
        self.0.finish(commands.as_bytes())
    }
}

/// Point `full` at `id` in-process (gix takes the same lock files git does), under `constraint`.
///
/// The reflog identity is the configured `user.name`/`user.email` with the current time in UTC: gix's
/// default identity asks for the local time zone, which makes jiff index the whole zoneinfo database
/// (a third of a `delta write`), for a reflog git does not even keep for most refs.
pub fn set_in_process(
    repo: &Repo,
    full: &str,
    id: gix::ObjectId,
    constraint: gix::refs::transaction::PreviousValue,
    message: &str,
) -> Result<(), String> {
    use gix::refs::transaction::{Change, LogChange, RefEdit, RefLog};
    let name: gix::refs::FullName = full.try_into().map_err(|e| format!("{e}"))?;
    let edit = RefEdit {
        change: Change::Update {
            log: LogChange { mode: RefLog::AndReference, force_create_reflog: false, message: message.into() },
            expected: constraint,
            new: gix::refs::Target::Object(id),
        },
        name,
        deref: false,
    };
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let time = format!("{secs} +0000");
    let who = |key: &str, fallback: &str| repo.config_string(key).unwrap_or_else(|| fallback.to_string());
    let (name, email) = (who("user.name", "git-neighbor"), who("user.email", ""));
    let sig = gix::actor::SignatureRef { name: name.as_str().into(), email: email.as_str().into(), time: &time };
    repo.gix.edit_references_as([edit], Some(sig)).map(drop).map_err(|e| format!("{e}"))
}

/// Every ref under `prefix` with what it points at: `(full name, object id)`, in name order.
pub fn under(repo: &Repo, prefix: &str) -> Result<Vec<(String, String)>, Error> {
    let out = repo
        .git()?
        .args(["for-each-ref", "--format=%(refname)%00%(objectname)"])
        .end_of_options()
        .arg(prefix)
        .read()?;
    Ok(out.lines().filter_map(|l| l.split_once('\0')).map(|(r, o)| (r.to_string(), o.to_string())).collect())
}

/// Refs under any of `prefixes` and what they point at, in one `for-each-ref`.
pub fn under_any(repo: &Repo, prefixes: &[String]) -> Result<Vec<(String, String)>, Error> {
    let out = repo
        .git()?
        .args(["for-each-ref", "--format=%(refname)%00%(objectname)"])
        .end_of_options()
        .args(prefixes)
        .read()?;
    Ok(out.lines().filter_map(|l| l.split_once('\0')).map(|(r, o)| (r.to_string(), o.to_string())).collect())
}

/// A commit a ref points at, as `for-each-ref` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefCommit {
    /// Full ref name.
    pub name: String,
    /// The commit.
    pub oid: String,
    /// Its tree.
    pub tree: String,
    /// Its parents, in order.
    pub parents: Vec<String>,
    /// Its committer date (RFC 3339).
    pub date: String,
    /// The first line of its message.
    pub subject: String,
}

/// Every ref under `prefix` with the commit it points at; newest commit first when `newest_first`, else in
/// name order. Asked from the common dir, so it works while the current worktree is being removed.
pub fn commits_under(repo: &Repo, prefix: &str, newest_first: bool) -> Result<Vec<RefCommit>, Error> {
    let format =
        "--format=%(refname)%00%(objectname)%00%(tree)%00%(parent)%00%(committerdate:iso-strict)%00%(contents:subject)";
    let mut cmd = repo.git_common()?.args(["for-each-ref", format]);
    if newest_first {
        cmd = cmd.arg("--sort=-committerdate");
    }
    let out = cmd.end_of_options().arg(prefix).read()?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split('\0').collect();
            let [name, oid, tree, parents, date, subject] = f[..] else { return None };
            Some(RefCommit {
                name: name.to_string(),
                oid: oid.to_string(),
                tree: tree.to_string(),
                parents: parents.split_whitespace().map(str::to_string).collect(),
                date: date.to_string(),
                subject: subject.to_string(),
            })
        })
        .collect())
}

/// How many entries `full_ref`'s reflog holds (the stash's entries are its reflog), read from the file.
pub fn reflog_len(repo: &Repo, full_ref: &str) -> usize {
    std::fs::read_to_string(repo.common_dir.join("logs").join(full_ref)).map(|t| t.lines().count()).unwrap_or(0)
}

/// Delete `full_ref` only if it still points at `old` (a concurrent update makes it fail, deleting nothing).
pub fn delete_cas(repo: &Repo, full_ref: &str, old: &str, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["update-ref", "-m", reason, "-d"]).end_of_options().args([full_ref, old]).run()?)
}

/// Move `full_ref` from `old` to `new`; fails (and changes nothing) if it is no longer at `old`.
pub fn update_cas(repo: &Repo, full_ref: &str, new: &str, old: &str, reason: &str) -> Result<(), Error> {
    Ok(repo.git()?.args(["update-ref", "-m", reason]).end_of_options().args([full_ref, new, old]).run()?)
}

/// How a compare-and-swap on a ref ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cas {
    /// Done: the ref held the expected value.
    Done,
    /// Not done: the ref moved to this commit since it was checked.
    Moved(String),
    /// Not done: the ref does not exist (any more).
    Gone,
}

impl Repo {
    /// A git command run in the common git dir: valid while any worktree, the current one included, is
    /// being deleted.
    pub(in crate::git) fn git_common(&self) -> Result<GitCmd, Error> {
        GitCmd::new(&self.common_dir)
    }
}

/// The object a full ref name (`refs/…`) points at now, or `None` when it does not exist. Read in-process
/// (gix reads the loose ref, else `packed-refs`, as git does); a symbolic ref, or anything gix cannot
/// read, is asked of git.
pub fn oid_of(repo: &Repo, full: &str) -> Result<Option<String>, Error> {
    if full.starts_with("refs/") {
        let key = format!("direct {full}");
        if let Some(hit) = repo.memo_get(&key) {
            return Ok(hit.map(|id| id.to_string()));
        }
        match repo.gix.try_find_reference(full) {
            Ok(None) => {
                repo.memo_put(key, None);
                return Ok(None);
            }
            Ok(Some(r)) => {
                if let Some(id) = r.target().try_id() {
                    repo.memo_put(key, Some(id.to_owned()));
                    return Ok(Some(id.to_string()));
                }
            }
            Err(_) => {}
        }
    }
    oid_of_by_git(repo, full)
}

fn oid_of_by_git(repo: &Repo, full: &str) -> Result<Option<String>, Error> {
    let (code, out, err) = repo.git_common()?.args(["rev-parse", "--verify", "--quiet"]).arg(full).answer()?;
    match code {
        Some(0) => Ok(Some(String::from_utf8_lossy(&out).trim().to_string())),
        Some(1) => Ok(None),
        _ => Err(Error::new(format!("cannot read ref {full}: {}", err.trim()))),
    }
}

/// Delete `full` only if it still points at `old`.
pub fn delete_if(repo: &Repo, full: &str, old: &str, why: &str) -> Result<Cas, Error> {
    let (code, _, err) = repo.git_common()?.args(["update-ref", "-m", why, "-d", full, old]).answer()?;
    if code == Some(0) {
        return Ok(Cas::Done);
    }
    // Decide from the ref itself, not from git's message.
    match oid_of(repo, full)? {
        None => Ok(Cas::Gone),
        Some(now) if now != old => Ok(Cas::Moved(now)),
        Some(_) => Err(Error::new(format!("cannot delete {full}: {}", err.trim()))),
    }
}

/// Move `full` from `old` to `new` only if it still points at `old`; otherwise say where it is now.
pub fn update_if(repo: &Repo, full: &str, new: &str, old: &str, why: &str) -> Result<Cas, Error> {
    let (code, _, err) = repo.git_common()?.args(["update-ref", "-m", why, full, new, old]).answer()?;
    if code == Some(0) {
        return Ok(Cas::Done);
    }
    // Decide from the ref itself, not from git's message.
    match oid_of(repo, full)? {
        None => Ok(Cas::Gone),
        Some(now) if now != old => Ok(Cas::Moved(now)),
        Some(_) => Err(Error::new(format!("cannot update {full}: {}", err.trim()))),
    }
}

/// Create `full` at `new` only if it does not exist. `Done` also when it already holds `new` (a rerun).
pub fn create_if_absent(repo: &Repo, full: &str, new: &str, why: &str) -> Result<Cas, Error> {
    let zero = "0".repeat(new.len());
    let (code, _, err) = repo.git_common()?.args(["update-ref", "-m", why, full, new, &zero]).answer()?;
    if code == Some(0) {
        return Ok(Cas::Done);
    }
    match oid_of(repo, full)? {
        Some(now) if now == new => Ok(Cas::Done),
        Some(now) => Ok(Cas::Moved(now)),
        None => Err(Error::new(format!("cannot create {full}: {}", err.trim()))),
    }
}

/// [`count_only_on`] walked in-process (gix), for callers that check many branches at once (prune); when
/// a name does not resolve or the walk fails, git's `rev-list --count` answers (and reports the error).
pub fn count_only_on_in_process(repo: &Repo, tips: &[String], not: &[String]) -> Result<u64, Error> {
    if tips.is_empty() {
        return Ok(0);
    }
    let resolve = |s: &String| -> Option<gix::ObjectId> {
        if s.starts_with("refs/") { repo.ref_target(s) } else { gix::ObjectId::from_hex(s.as_bytes()).ok() }
    };
    let ids = |v: &[String]| v.iter().map(resolve).collect::<Option<Vec<_>>>();
    if let (Some(tips), Some(not)) = (ids(tips), ids(not))
        && let Some(n) = super::revs::count_only_on(repo, &tips, &not)
    {
        return Ok(n);
    }
    count_only_on(repo, tips, not)
}

/// Commits reachable from `tips` and from none of `not` (capped count).
pub fn count_only_on(repo: &Repo, tips: &[String], not: &[String]) -> Result<u64, Error> {
    if tips.is_empty() {
        return Ok(0);
    }
    let mut cmd = repo.git_common()?.args(["rev-list", "--count"]).args(tips).arg("--not").args(not);
    cmd = cmd.arg("--");
    Ok(cmd.read()?.trim().parse().unwrap_or(0))
}
/// Refuse a branch name git's own `git branch` refuses, or one that would not name what the user meant:
/// anything `git check-ref-format --branch` rejects, `HEAD`, `@` and `@{…}` (git reads them as revisions),
/// names starting with `-`, and `refs/…` (which would become `refs/heads/refs/…`).
pub fn validate_branch_name(branch: &str) -> Result<(), Error> {
    let why = if branch.is_empty() {
        Some("it is empty")
    } else if branch.starts_with('-') {
        Some("it starts with '-'")
    } else if branch == "HEAD" || branch == "@" || branch.contains("@{") {
        Some("git reads it as a revision, not a branch")
    } else if branch.starts_with("refs/") {
        Some("it is a full ref name; give the short name (without refs/heads/)")
    } else if gix::refs::FullName::try_from(format!("refs/heads/{branch}").as_str()).is_err() {
        Some("git check-ref-format refuses it")
    } else {
        None
    };
    match why {
        None => Ok(()),
        Some(why) => Err(Error::usage(format!("'{branch}' is not a valid branch name: {why}"))
            .hint("pass another name; `git check-ref-format --branch <name>` checks one")),
    }
}
