//! The checks behind the hooks: conflict markers, canonical JSON that does not parse, and canonical state
//! committed by anyone but `merge-frame`.
//!
//! Hooks run on every commit, so this reads only what it must: the staged diff's names and blob ids
//! (`git diff --cached --raw -z`), then the staged blobs themselves in-process through gix. No status, no
//! network. Functions return the violations; the `hook` command decides how to word the refusal.

use serde::Serialize;

use crate::building::Ctx;
use crate::error::Error;
use crate::git::Repo;

/// Set by `merge-frame` for the git commands it runs: its commits may touch canonical state.
pub const ENV_MERGE_FRAME: &str = "NEIGHBOR_MERGE_FRAME";
/// One-shot override of the canonical-state guard.
pub const ENV_ALLOW_CANONICAL: &str = "NEIGHBOR_ALLOW_CANONICAL";

/// Blobs larger than this are not scanned (they are not hand-merged text).
const MAX_SCAN: u64 = 16 << 20;

/// What tripped a guard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// A conflict marker line.
    ConflictMarker,
    /// A canonical `.json` file that does not parse.
    InvalidJson,
    /// A change to a canonical path outside merge-frame.
    Canonical,
    /// A `.neighbor.toml` that does not load: every command after the commit would refuse to run.
    InvalidConfig,
}

/// One violation.
#[derive(Debug, Clone, Serialize)]
pub struct Violation {
    /// What tripped.
    pub kind: Kind,
    /// Path in the repository.
    pub path: String,
    /// 1-based line, when there is one.
    pub line: Option<usize>,
    /// The offending line, parse error, or change.
    pub detail: String,
    /// The commit it is in (pre-push).
    pub commit: Option<String>,
}

impl Violation {
    /// `path:line: detail` (with the commit for pre-push).
    pub fn describe(&self) -> String {
        let at = match self.line {
            Some(l) => format!("{}:{l}", self.path),
            None => self.path.clone(),
        };
        let commit = self.commit.as_deref().map(|c| format!(" (commit {})", &c[..10.min(c.len())])).unwrap_or_default();
        match self.kind {
            Kind::ConflictMarker => format!("{at}: conflict marker `{}`{commit}", self.detail),
            Kind::InvalidJson => format!("{at}: not valid JSON: {}", self.detail),
            Kind::Canonical => format!("{at}: canonical state {}", self.detail),
            Kind::InvalidConfig => format!("{at}: {}", self.detail),
        }
    }
}

/// Files where a line of `=======` is ordinary markup (a setext heading), not a conflict.
fn is_prose(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    [".md", ".markdown", ".rst", ".adoc", ".asciidoc", ".txt"].iter().any(|e| lower.ends_with(e))
}

/// Is this line (without its newline) a conflict marker?
pub fn is_marker(line: &[u8], prose: bool) -> bool {
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let marker = |m: &[u8]| line == m || (line.starts_with(m) && line.get(m.len()) == Some(&b' '));
    marker(b"<<<<<<<") || marker(b">>>>>>>") || marker(b"|||||||") || (!prose && line == b"=======")
}

/// Conflict marker lines in a text blob: (line number, line). Binary blobs have none.
pub fn markers_in(path: &str, data: &[u8]) -> Vec<(usize, String)> {
    if data[..data.len().min(8000)].contains(&0) {
        return Vec::new();
    }
    let prose = is_prose(path);
    data.split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, l)| is_marker(l, prose))
        .map(|(i, l)| (i + 1, String::from_utf8_lossy(l).trim_end().to_string()))
        .collect()
}

/// Is `path` canonical state (matches a `state.canonical` glob)?
pub fn is_canonical(ctx: &Ctx, path: &str) -> bool {
    ctx.config.state.canonical.iter().any(|p| crate::glob::matches(p, path))
}

/// The JSON parse error of a blob, if any: (line, message).
pub fn json_error(data: &[u8]) -> Option<(usize, String)> {
    serde_json::from_slice::<serde::de::IgnoredAny>(data).err().map(|e| (e.line(), e.to_string()))
}

use crate::git::revs;
use crate::git::status::staged;

fn read_blob(repo: &Repo, oid: &str) -> Option<Vec<u8>> {
    let id = gix::ObjectId::from_hex(oid.as_bytes()).ok()?;
    crate::git::blob::bytes_at_most(repo, id, MAX_SCAN).ok()?
}

/// Which overrides are in force for this hook run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `NEIGHBOR_MERGE_FRAME=1`: merge-frame is committing.
    pub merge_frame: bool,
    /// `NEIGHBOR_ALLOW_CANONICAL=1`: one-shot override.
    pub allow_canonical: bool,
}

impl Overrides {
    /// Read them from the environment.
    pub fn from_env() -> Self {
        let on = |k: &str| std::env::var(k).is_ok_and(|v| v == "1");
        Overrides { merge_frame: on(ENV_MERGE_FRAME), allow_canonical: on(ENV_ALLOW_CANONICAL) }
    }
}

/// The pre-commit checks over the staged changes.
pub fn pre_commit(ctx: &Ctx, ov: Overrides) -> Result<Vec<Violation>, Error> {
    let mut out = Vec::new();
    for f in staged(&ctx.repo)? {
        let canonical = is_canonical(ctx, &f.path);
        if canonical && !ov.merge_frame && !ov.allow_canonical {
            let what = match f.status {
                'A' => "added",
                'D' => "deleted",
                _ => "changed",
            };
            out.push(Violation {
                kind: Kind::Canonical,
                path: f.path.clone(),
                line: None,
                detail: format!("{what} outside merge-frame"),
                commit: None,
            });
        }
        // Only regular files have text to look at.
        if f.status == 'D' || !(f.mode == "100644" || f.mode == "100755") {
            continue;
        }
        let Some(data) = read_blob(&ctx.repo, &f.oid) else { continue };
        if f.path == crate::config::FILE
            && let Err(e) =
                crate::config::Config::parse(&String::from_utf8_lossy(&data), std::path::Path::new(crate::config::FILE))
        {
            out.push(Violation {
                kind: Kind::InvalidConfig,
                path: f.path.clone(),
                line: None,
                detail: e.message.trim_start_matches(crate::config::FILE).trim_start_matches(':').to_string(),
                commit: None,
            });
        }
        for (line, text) in markers_in(&f.path, &data).into_iter().take(3) {
            out.push(Violation {
                kind: Kind::ConflictMarker,
                path: f.path.clone(),
                line: Some(line),
                detail: text,
                commit: None,
            });
        }
        if canonical
            && f.path.ends_with(".json")
            && let Some((line, msg)) = json_error(&data)
        {
            out.push(Violation { kind: Kind::InvalidJson, path: f.path, line: Some(line), detail: msg, commit: None });
        }
    }
    Ok(out)
}

/// The pre-push check: conflict markers on lines added by the commits being pushed. `updates` is what
/// git gives the hook on stdin (`<local ref> <local oid> <remote ref> <remote oid>` per line).
pub fn pre_push(ctx: &Ctx, remote: &str, updates: &str) -> Result<Vec<Violation>, Error> {
    let mut out = Vec::new();
    for line in updates.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        let [_, local, _, remote_oid] = parts.as_slice() else { continue };
        if local.bytes().all(|b| b == b'0') {
            continue; // a deletion pushes no content
        }
        let known = !remote_oid.bytes().all(|b| b == b'0') && revs::has_commit(&ctx.repo, remote_oid);
        let not = if known {
            remote_oid.to_string()
        } else if ctx.repo.config_string(&format!("remote.{remote}.url")).is_some() {
            format!("--remotes={remote}")
        } else {
            "--remotes".to_string()
        };
        let log = revs::patches(&ctx.repo, local, &[not])?;
        scan_log(&log, &mut out);
        if out.len() >= 20 {
            break;
        }
    }
    Ok(out)
}

/// Find marker lines among the added lines of `git log -p -U0` output.
fn scan_log(log: &[u8], out: &mut Vec<Violation>) {
    let (mut commit, mut file, mut in_hunk, mut new_line) = (String::new(), String::new(), false, 0usize);
    for line in log.split(|b| *b == b'\n') {
        // With -U0 every diff body line starts with '+', '-' or '\', so this is always our format line.
        if let Some(c) = line.strip_prefix(b"commit ") {
            commit = String::from_utf8_lossy(c).into_owned();
            in_hunk = false;
            continue;
        }
        if line.starts_with(b"diff --git ") {
            in_hunk = false;
            file.clear();
            continue;
        }
        if !in_hunk && let Some(p) = line.strip_prefix(b"+++ ") {
            let p = String::from_utf8_lossy(p);
            file = p.strip_prefix("b/").unwrap_or(&p).to_string();
        }
        if line.starts_with(b"@@ ") {
            in_hunk = true;
            // "@@ -a,b +c,d @@": the added lines start at c.
            let text = String::from_utf8_lossy(line);
            new_line = text
                .split_whitespace()
                .find_map(|w| w.strip_prefix('+'))
                .and_then(|w| w.split(',').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
            continue;
        }
        if in_hunk && let Some(added) = line.strip_prefix(b"+") {
            if is_marker(added, is_prose(&file)) && out.len() < 20 {
                out.push(Violation {
                    kind: Kind::ConflictMarker,
                    path: file.clone(),
                    line: Some(new_line),
                    detail: String::from_utf8_lossy(added).trim_end().to_string(),
                    commit: Some(commit.clone()),
                });
            }
            new_line += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers() {
        assert!(is_marker(b"<<<<<<< HEAD", false));
        assert!(is_marker(b">>>>>>> theirs\r", false));
        assert!(is_marker(b"=======", false));
        assert!(!is_marker(b"=======", true), "setext heading in prose");
        assert!(!is_marker(b"<<<<<<<< eight", false));
        assert!(!is_marker(b" <<<<<<< indented", false));
        assert!(!is_marker(b"========", false));
        let found = markers_in("state/a.json", b"{\n<<<<<<< HEAD\n1\n=======\n2\n>>>>>>> x\n}\n");
        assert_eq!(found.iter().map(|(l, _)| *l).collect::<Vec<_>>(), vec![2, 4, 6]);
        assert!(markers_in("bin", b"\0<<<<<<< HEAD\n").is_empty());
    }

    #[test]
    fn push_log_scan() {
        let log = b"commit 1111111111111111111111111111111111111111\n\ndiff --git a/f.txt b/f.txt\n--- a/f.txt\n+++ b/f.txt\n@@ -0,0 +3,2 @@\n+ok\n+<<<<<<< HEAD\n";
        let mut out = Vec::new();
        scan_log(log, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].path, "f.txt");
        assert_eq!(out[0].line, Some(4));
    }

    #[test]
    fn json() {
        assert!(json_error(b"{\"a\": [1]}").is_none());
        assert_eq!(json_error(b"{\n\"a\": \n<<<<<<< HEAD\n").map(|e| e.0), Some(3));
    }
}
