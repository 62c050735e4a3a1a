//! Talking to remotes: fetch by refspecs, list a remote's refs, and push with a typed outcome.
//!
//! A push is judged on git's machine-readable answers only: `push --porcelain` prints one line per ref on
//! stdout (`<flag>\t<from>:<to>\t<summary>`, flag `!` for a rejected ref), and whether the remote moved is
//! asked of the remote itself (`ls-remote`) rather than read from git's English reasons.

use super::{GitCmd, Repo};
use crate::error::Error;

/// How a push ended, when git ran and answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// Every ref was updated.
    Pushed,
    /// The remote refused at least one ref (with `--atomic`: all of them). The lines are git's porcelain
    /// lines for the refused refs.
    Rejected(Vec<String>),
}

/// One push: `git push --porcelain --quiet --no-verify [--atomic] [--force-with-lease=…] -- <remote> <specs>`.
pub struct Push<'a> {
    repo: &'a Repo,
    remote: &'a str,
    specs: Vec<String>,
    atomic: bool,
    leases: Vec<(String, String)>,
    env: Vec<(&'static str, &'static str)>,
}

impl<'a> Push<'a> {
    /// A push of `specs` (`<src>:<dst>`, `:<dst>` deletes) to `remote` (a name or a URL).
    pub fn new(repo: &'a Repo, remote: &'a str, specs: Vec<String>) -> Self {
        Push { repo, remote, specs, atomic: false, leases: Vec::new(), env: Vec::new() }
    }

    /// All refs or none.
    pub fn atomic(mut self) -> Self {
        self.atomic = true;
        self
    }

    /// Only if the remote's `full_ref` is still `expected` (compare-and-swap on the remote).
    pub fn lease(mut self, full_ref: &str, expected: &str) -> Self {
        self.leases.push((full_ref.to_string(), expected.to_string()));
        self
    }

    /// An environment variable for git and the hooks it runs.
    pub fn env(mut self, k: &'static str, v: &'static str) -> Self {
        self.env.push((k, v));
        self
    }

    /// Run the push. An `Err` means git could not run or failed before answering per ref (no such
    /// remote, network down); a refusal by the remote is `Ok(PushOutcome::Rejected)`.
    pub fn run(self) -> Result<PushOutcome, Error> {
        let mut cmd = self.repo.git()?;
        for (k, v) in &self.env {
            cmd = cmd.env(k, v);
        }
        cmd = cmd.args(["push", "--porcelain", "--quiet", "--no-verify"]);
        if self.atomic {
            cmd = cmd.arg("--atomic");
        }
        for (r, old) in &self.leases {
            cmd = cmd.arg(format!("--force-with-lease={r}:{old}"));
        }
        let (code, out, err) = cmd.end_of_options().arg(self.remote).args(&self.specs).answer()?;
        let text = String::from_utf8_lossy(&out);
        let rejected = rejected_lines(&text);
        match code {
            Some(0) => Ok(PushOutcome::Pushed),
            _ if !rejected.is_empty() => Ok(PushOutcome::Rejected(rejected)),
            _ => Err(Error::new(format!(
                "`git push` to '{}' failed (exit {}): {}{}",
                self.remote,
                code.map_or_else(|| "by signal".to_string(), |c| c.to_string()),
                err.trim(),
                if text.trim().is_empty() { String::new() } else { format!(" [{}]", text.trim()) }
            ))),
        }
    }
}

/// The porcelain lines of refs the remote refused (flag `!`).
fn rejected_lines(porcelain: &str) -> Vec<String> {
    porcelain.lines().filter(|l| l.starts_with('!')).map(str::to_string).collect()
}

/// The refs a remote has that match `patterns` (as `ls-remote --refs` takes them): `(full name, id)`.
pub fn ls_remote(repo: &Repo, remote: &str, patterns: &[&str]) -> Result<Vec<(String, String)>, Error> {
    let text = repo.git()?.args(["ls-remote", "--refs"]).end_of_options().arg(remote).args(patterns).read()?;
    Ok(text.lines().filter_map(|l| l.split_once('\t')).map(|(id, name)| (name.to_string(), id.to_string())).collect())
}

/// What one remote ref points at now (`None` when it does not exist).
pub fn remote_ref(repo: &Repo, remote: &str, full_ref: &str) -> Result<Option<String>, Error> {
    Ok(ls_remote(repo, remote, &[full_ref])?.into_iter().find(|(n, _)| n == full_ref).map(|(_, id)| id))
}

/// The local ref that tracks `branch` of `remote`: `refs/remotes/<name>/<branch>` for a configured remote
/// name; for a URL or a path (which cannot be a ref component), `refs/neighbor/remotes/<hash>/<branch>`
/// with a stable hash of the URL.
pub fn tracking_ref(repo: &Repo, remote: &str, branch: &str) -> String {
    let named = repo.config_string(&format!("remote.{remote}.url")).is_some()
        && gix::validate::reference::name_partial(format!("remotes/{remote}/{branch}").as_bytes().into()).is_ok();
    if named {
        return format!("refs/remotes/{remote}/{branch}");
    }
    // FNV-1a: stable across builds, which is all a cache key needs.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in remote.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("refs/neighbor/remotes/{h:016x}/{branch}")
}

/// Fetch `branch` of `remote` into `FETCH_HEAD` only (no ref moves, no tags, no submodules) and return
/// the fetched commit id.
pub fn fetch_head(repo: &Repo, remote: &str, branch: &str) -> Result<String, Error> {
    repo.git()?
        .args(["-c", "fetch.recurseSubmodules=false", "-c", "fetch.writeFetchHEAD=true"])
        .args(["fetch", "--quiet", "--no-tags", "--refmap=", "--no-auto-maintenance"])
        .end_of_options()
        .arg(remote)
        .arg(branch)
        .run()?;
    // FETCH_HEAD's first line starts with the fetched commit id; read it rather than spawn rev-parse.
    let first = std::fs::read_to_string(repo.git_dir.join("FETCH_HEAD"))
        .ok()
        .and_then(|t| t.split(|c: char| !c.is_ascii_hexdigit()).next().map(str::to_string))
        .filter(|h| h.len() == 40 || h.len() == 64);
    match first {
        Some(tip) => Ok(tip),
        None => Ok(repo.git()?.args(["rev-parse", "--verify", "-q", "FETCH_HEAD^{commit}"]).read()?),
    }
}

/// `git fetch --quiet --no-write-fetch-head -- <remote> <refspecs>`.
pub fn fetch(repo: &Repo, remote: &str, refspecs: &[String]) -> Result<(), Error> {
    fetch_cmd(repo)?
        .end_of_options()
        .arg(remote)
        .args(refspecs)
        .run()
        .map_err(|e| Error::from(e).context(format!("cannot fetch from '{remote}'")))
}

/// `git fetch --quiet --no-write-fetch-head --prune --no-tags -- <remote> <refspec>`: the destination
/// namespace ends up exactly the remote's set of matching refs.
pub fn fetch_pruned(repo: &Repo, remote: &str, refspec: &str) -> Result<(), Error> {
    fetch_cmd(repo)?
        .args(["--prune", "--no-tags"])
        .end_of_options()
        .arg(remote)
        .arg(refspec)
        .run()
        .map_err(|e| Error::from(e).context(format!("cannot fetch from '{remote}'")))
}

fn fetch_cmd(repo: &Repo) -> Result<GitCmd, Error> {
    Ok(repo.git()?.args(["fetch", "--quiet", "--no-write-fetch-head"]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_lines_are_the_bang_lines() {
        let out = "To /tmp/o.git\n!\tabc:refs/heads/main\t[rejected] (stale info)\n \
                   \tx:refs/neighbor/a\t[new reference]\nDone\n";
        assert_eq!(rejected_lines(out), vec!["!\tabc:refs/heads/main\t[rejected] (stale info)".to_string()]);
        assert!(rejected_lines("To x\n*\ta:b\t[new]\nDone\n").is_empty());
    }
}
