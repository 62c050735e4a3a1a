//! Minimal path globbing for `carry` and `.worktreeinclude`: `*`, `?` within a segment, `**` across.
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
    let segs: Vec<&str> = pat.split('/').filter(|s| !s.is_empty()).collect();
    walk(
        root,
        Path::new(""),
        &mut |rel| {
            let parts: Vec<String> = rel.iter().map(|c| c.to_string_lossy().into_owned()).collect();
            let parts: Vec<&str> = parts.iter().map(String::as_str).collect();
            match_segments(&segs, &parts)
        },
        &mut out,
    )?;
    Ok(out)
}

/// Does the relative path `path` (with `/` separators) match `pat`? A pattern without glob syntax also
/// matches everything under it when it names a directory (`state` matches `state/a.json`).
pub fn matches(pat: &str, path: &str) -> bool {
    let pat = pat.trim_start_matches("./").trim_end_matches('/');
    if !has_magic(pat) {
        return path == pat || path.strip_prefix(pat).is_some_and(|rest| rest.starts_with('/'));
    }
    let segs: Vec<&str> = pat.split('/').filter(|s| !s.is_empty()).collect();
    let parts: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    match_segments(&segs, &parts)
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

fn match_segments(pat: &[&str], path: &[&str]) -> bool {
    match (pat.first(), path.first()) {
        (None, None) => true,
        (Some(&"**"), _) => match_segments(&pat[1..], path) || (!path.is_empty() && match_segments(pat, &path[1..])),
        (Some(p), Some(s)) => match_one(p.as_bytes(), s.as_bytes()) && match_segments(&pat[1..], &path[1..]),
        _ => false,
    }
}

fn match_one(p: &[u8], s: &[u8]) -> bool {
    match (p.first(), s.first()) {
        (None, None) => true,
        (Some(b'*'), _) => match_one(&p[1..], s) || (!s.is_empty() && match_one(p, &s[1..])),
        (Some(b'?'), Some(_)) => match_one(&p[1..], &s[1..]),
        (Some(a), Some(b)) if a == b => match_one(&p[1..], &s[1..]),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn segments() {
        assert!(match_segments(&["state", "*.json"], &["state", "a.json"]));
        assert!(!match_segments(&["state", "*.json"], &["state", "x", "a.json"]));
        assert!(match_segments(&["**", "*.env"], &["a", "b", ".env"]));
        assert!(match_segments(&["**", "*.env"], &["a", "b", "x.env"]));
        assert!(match_segments(&["**", "x"], &["x"]));
        assert!(match_segments(&["a?c"], &["abc"]));
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
