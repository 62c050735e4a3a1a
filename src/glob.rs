//! Path globbing for `carry`, `.worktreeinclude` and `state.canonical`, with git's own wildmatch (gix-glob,
//! in pathname mode): `*`, `?` and `[...]` within a segment, `**` across segments.
//!
//! Patterns are relative to the worktree root; a match that is a directory carries everything under it.
//! `.git` is never descended into.

use std::path::{Path, PathBuf};

/// Does the pattern contain glob syntax?
pub fn has_magic(pat: &str) -> bool {
    pat.contains(['*', '?', '['])
}

/// Files (relative paths) under `root` matched by `pat`.
pub fn expand(root: &Path, pat: &str) -> std::io::Result<Vec<PathBuf>> {
    let pat = pat.trim_start_matches("./").trim_end_matches('/');
    let mut out = Vec::new();
    if !has_magic(pat) {
        let p = root.join(pat);
        if p.symlink_metadata().is_ok() {
            collect(root, Path::new(pat), &mut out)?;
        }
        return Ok(out);
    }
    walk(root, Path::new(""), &mut |rel| wildmatch(pat, &rel.to_string_lossy()), &mut out)?;
    Ok(out)
}

/// Does the relative path `path` (with `/` separators) match `pat`? A pattern without glob syntax also
/// matches everything under it when it names a directory (`state` matches `state/a.json`).
pub fn matches(pat: &str, path: &str) -> bool {
    let pat = pat.trim_start_matches("./").trim_end_matches('/');
    if !has_magic(pat) {
        return path == pat || path.strip_prefix(pat).is_some_and(|rest| rest.starts_with('/'));
    }
    wildmatch(pat, path)
}

fn wildmatch(pat: &str, path: &str) -> bool {
    use gix_glob::wildmatch::Mode;
    gix_glob::wildmatch(pat.into(), path.into(), Mode::NO_MATCH_SLASH_LITERAL)
}

fn collect(root: &Path, rel: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let meta = root.join(rel).symlink_metadata()?;
    if meta.is_dir() {
        for e in std::fs::read_dir(root.join(rel))? {
            let e = e?;
            if e.file_name() == ".git" {
                continue;
            }
            collect(root, &rel.join(e.file_name()), out)?;
        }
    } else {
        out.push(rel.to_path_buf());
    }
    Ok(())
}

fn walk(
    root: &Path,
    rel: &Path,
    matches: &mut dyn FnMut(&Path) -> bool,
    out: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    for e in std::fs::read_dir(root.join(rel))? {
        let e = e?;
        if e.file_name() == ".git" {
            continue;
        }
        let child = rel.join(e.file_name());
        if matches(&child) {
            collect(root, &child, out)?;
        } else if e.file_type()?.is_dir() {
            walk(root, &child, matches, out)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn segments() {
        assert!(matches("state/*.json", "state/a.json"));
        assert!(!matches("state/*.json", "state/x/a.json"));
        assert!(matches("**/*.env", "a/b/.env"));
        assert!(matches("**/*.env", "a/b/x.env"));
        assert!(matches("**/x", "x"));
        assert!(matches("a?c", "abc"));
    }
    #[test]
    fn brackets_match_like_git() {
        // The hand-written matcher never matched `[ab]`.
        assert!(matches("conf/[ab].env", "conf/a.env"));
        assert!(matches("conf/[ab].env", "conf/b.env"));
        assert!(!matches("conf/[ab].env", "conf/c.env"));
        assert!(matches("conf/[!a].env", "conf/c.env"));
    }
    #[test]
    fn whole_paths() {
        assert!(matches("state/**", "state/agents.json"));
        assert!(matches("state/**", "state/x/y.json"));
        assert!(!matches("state/**", "other/state.json"));
        assert!(matches("state", "state/a.json"));
        assert!(!matches("state", "statement.txt"));
        assert!(matches("state/*.json", "state/a.json"));
    }
}
