//! Rescue refs: `refs/neighbor/rescue/<id>`, commits that hold work a command was about to discard.
//!
//! A rescue commit's tree is a snapshot of the worktree (tracked changes and untracked, non-ignored files,
//! taken through a temporary index so the real index is untouched); its parent is the worktree's HEAD, so
//! any unmerged commits stay reachable too. Trailers record where the work came from.

use std::path::Path;

use serde::Serialize;

use crate::error::Error;
use crate::git::Repo;
use crate::state;

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

/// Set a fallback identity when the user has none, so rescue commits can always be made.
pub fn with_identity(repo: &Repo, cmd: crate::git::GitCmd) -> crate::git::GitCmd {
    let cfg = repo.gix.config_snapshot();
    let has = |k: &str| cfg.string(k).is_some();
    let mut cmd = cmd;
    if !has("user.name") && std::env::var_os("GIT_AUTHOR_NAME").is_none() {
        cmd = cmd.env("GIT_AUTHOR_NAME", "git-neighbor").env("GIT_COMMITTER_NAME", "git-neighbor");
    }
    if !has("user.email") && std::env::var_os("GIT_AUTHOR_EMAIL").is_none() {
        cmd =
            cmd.env("GIT_AUTHOR_EMAIL", "git-neighbor@localhost").env("GIT_COMMITTER_EMAIL", "git-neighbor@localhost");
    }
    cmd
}

/// Snapshot the worktree at `worktree` (HEAD plus every uncommitted change) into a rescue ref.
/// `label` becomes part of the id; `source` names the command; `trailers` add context.
pub fn save(
    repo: &Repo,
    worktree: &Path,
    git_dir: &Path,
    label: &str,
    subject: &str,
    trailers: &[(&str, String)],
) -> Result<Rescue, Error> {
    let head = repo.git_in(worktree)?.args(["rev-parse", "--verify", "HEAD^{commit}"]).read()?;
    // Build the snapshot in a private index seeded from the real one, so staged work is included.
    let tmp_index = git_dir.join(format!("neighbor-rescue-index.tmp.{}", state::unique()));
    let real_index = git_dir.join("index");
    if real_index.exists() {
        std::fs::copy(&real_index, &tmp_index).map_err(|e| Error::new(format!("cannot copy index: {e}")))?;
    }
    let snap = (|| -> Result<String, Error> {
        let idx = tmp_index.as_os_str();
        if !real_index.exists() {
            repo.git_in(worktree)?.env("GIT_INDEX_FILE", idx).args(["read-tree", &head]).run()?;
        }
        repo.git_in(worktree)?.env("GIT_INDEX_FILE", idx).args(["add", "-A", "--", "."]).run()?;
        Ok(repo.git_in(worktree)?.env("GIT_INDEX_FILE", idx).arg("write-tree").read()?)
    })();
    let _ = std::fs::remove_file(&tmp_index);
    let tree = snap?;
    let mut msg = format!("{subject}\n\n");
    for (k, v) in trailers {
        msg.push_str(&format!("{k}: {v}\n"));
    }
    let commit = with_identity(repo, repo.git_in(worktree)?)
        .args(["commit-tree", &tree, "-p", &head])
        .stdin(msg.into_bytes())
        .read()?;
    let now = state::now_ms();
    let stamp: String = state::rfc3339(now).chars().filter(|c| c.is_ascii_digit()).take(14).collect();
    let id = format!("{label}-{stamp}-{}", &commit[..8]);
    let full = format!("{PREFIX}{id}");
    // Zero old value: never overwrite an existing rescue.
    let zero = "0".repeat(commit.len());
    repo.git()?.args(["update-ref", "-m", "git-neighbor rescue", &full, &commit, &zero]).run()?;
    Ok(Rescue { id, r#ref: full, commit, date: state::rfc3339(now), subject: subject.to_string() })
}

/// Every rescue ref, newest first.
pub fn list(repo: &Repo) -> Result<Vec<Rescue>, Error> {
    let out = repo
        .git()?
        .args([
            "for-each-ref",
            "--sort=-committerdate",
            "--format=%(refname)%00%(objectname)%00%(committerdate:iso-strict)%00%(contents:subject)",
            PREFIX,
        ])
        .read()?;
    Ok(out
        .lines()
        .filter_map(|l| {
            let mut p = l.split('\0');
            let r = p.next()?.to_string();
            Some(Rescue {
                id: r.strip_prefix(PREFIX)?.to_string(),
                commit: p.next()?.to_string(),
                date: p.next()?.to_string(),
                subject: p.next().unwrap_or("").to_string(),
                r#ref: r,
            })
        })
        .collect())
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
