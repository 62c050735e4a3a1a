//! The one invariant checker the crash and race suites call after every injected fault, with git itself:
//!
//! 1. every commit and every uncommitted change (file content on disk, staged version) that existed
//!    before is still reachable from a branch, a rescue ref or a worktree's HEAD, or still on disk or
//!    staged in some worktree;
//! 2. no half-written state: every registry record and every line of `events.jsonl` parses;
//! 3. after `prune`: no tenant branch without a record (unless it holds work no base has, which prune
//!    keeps and doctor reports), no record without a worktree git lists at its path, no removal's
//!    moved-aside files left;
//! 4. the building lock is free;
//! 5. `doctor` finds no problem (hooks aside: the test buildings do not install them), or only orphan
//!    branches holding unmerged work when the caller allows those (races with agents' commits).
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::common::TestRepo;

/// What existed before: commits, and uncommitted contents per worktree.
#[derive(Debug, Default, Clone)]
pub struct Before {
    /// Commit ids reachable from branches, rescue refs and worktree HEADs.
    pub commits: BTreeSet<String>,
    /// (worktree, path, blob id) of every file that differs from HEAD on disk or in the index.
    pub changes: Vec<(PathBuf, String, String)>,
}

/// How strict the check is.
#[derive(Debug, Clone, Copy, Default)]
pub struct Opts {
    /// Also check what must hold after `prune` (3).
    pub after_prune: bool,
    /// Accept orphan branches that hold unmerged work (kept on purpose by a removal that lost a race).
    pub allow_kept_branches: bool,
}

fn worktrees(t: &TestRepo) -> Vec<PathBuf> {
    t.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from)
        .filter(|p| p.is_dir())
        .collect()
}

fn tips(t: &TestRepo) -> Vec<String> {
    let mut v: Vec<String> = t
        .git(&["for-each-ref", "--format=%(objectname)", "refs/heads", "refs/neighbor/rescue"])
        .lines()
        .map(String::from)
        .collect();
    for w in worktrees(t) {
        let o = t.git_out(&w, &["rev-parse", "--verify", "-q", "HEAD"]);
        if o.code == 0 {
            v.push(o.stdout.trim().to_string());
        }
    }
    v.sort();
    v.dedup();
    v
}

fn rev_list(t: &TestRepo, extra: &[&str]) -> BTreeSet<String> {
    let tips = tips(t);
    if tips.is_empty() {
        return BTreeSet::new();
    }
    let mut args = vec!["rev-list"];
    args.extend_from_slice(extra);
    args.extend(tips.iter().map(String::as_str));
    args.push("--");
    t.git(&args).lines().filter_map(|l| l.split_whitespace().next()).map(String::from).collect()
}

/// Blob ids of files that differ from HEAD in `w`: on disk (tracked or untracked) and staged.
fn changes_in(t: &TestRepo, w: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let st = t.git_out(w, &["status", "--porcelain=v1", "-z", "--untracked-files=all"]);
    if st.code != 0 {
        return out;
    }
    let mut it = st.stdout.split('\0').filter(|s| s.len() > 3);
    while let Some(rec) = it.next() {
        let (xy, p) = rec.split_at(3);
        if xy.starts_with('R') || xy.starts_with('C') {
            it.next();
        }
        let full = w.join(p);
        if full.is_file() {
            let h = t.git_out(w, &["hash-object", "--", p]);
            if h.code == 0 {
                out.push((p.to_string(), h.stdout.trim().to_string()));
            }
        }
    }
    let staged = t.git_out(w, &["diff", "--cached", "--name-only", "-z", "--no-renames"]);
    for p in staged.stdout.split('\0').filter(|s| !s.is_empty()) {
        let ls = t.git_out(w, &["ls-files", "-s", "--", p]);
        if let Some(id) = ls.stdout.split_whitespace().nth(1) {
            out.push((p.to_string(), id.to_string()));
        }
    }
    out
}

/// Record what exists now.
pub fn capture(t: &TestRepo) -> Before {
    let commits = rev_list(t, &[]);
    let mut changes = Vec::new();
    for w in worktrees(t) {
        for (p, id) in changes_in(t, &w) {
            changes.push((w.clone(), p, id));
        }
    }
    Before { commits, changes }
}

/// Check every invariant; return the violations (empty when all hold).
pub fn violations(t: &TestRepo, before: &Before, opts: Opts) -> Vec<String> {
    let mut bad = Vec::new();
    // 1. Nothing lost.
    let objects = rev_list(t, &["--objects"]);
    for c in &before.commits {
        if !objects.contains(c) {
            bad.push(format!("commit {c} is reachable from no branch, rescue ref or worktree"));
        }
    }
    let mut present: BTreeSet<String> = BTreeSet::new();
    for w in worktrees(t) {
        for (_, id) in changes_in(t, &w) {
            present.insert(id);
        }
    }
    for (w, p, id) in &before.changes {
        if !objects.contains(id) && !present.contains(id) {
            bad.push(format!("uncommitted {p} ({id}) of {} is nowhere any more", w.display()));
        }
    }
    // 2. No half-written state file.
    let neighbor = t.common_dir().join("neighbor");
    for name in t.registry_names() {
        let text = std::fs::read_to_string(neighbor.join("registry").join(&name)).unwrap_or_default();
        if serde_json::from_str::<serde_json::Value>(&text).is_err() {
            bad.push(format!("registry record {name} does not parse"));
        }
    }
    let events = std::fs::read_to_string(neighbor.join("events.jsonl")).unwrap_or_default();
    for (i, line) in events.lines().enumerate() {
        if serde_json::from_str::<serde_json::Value>(line).is_err() {
            bad.push(format!("events.jsonl line {} does not parse: {line}", i + 1));
        }
    }
    // 3. After prune: records and branches match.
    let records: Vec<serde_json::Value> = t
        .registry_names()
        .iter()
        .filter_map(|n| std::fs::read_to_string(neighbor.join("registry").join(n)).ok())
        .filter_map(|s| serde_json::from_str(&s).ok())
        .collect();
    if opts.after_prune {
        let listed: Vec<PathBuf> = t
            .git(&["worktree", "list", "--porcelain"])
            .lines()
            .filter_map(|l| l.strip_prefix("worktree "))
            .map(PathBuf::from)
            .collect();
        for r in &records {
            let path = PathBuf::from(r["path"].as_str().unwrap_or(""));
            if !listed.contains(&path) || !path.is_dir() {
                bad.push(format!("record {} has no worktree at {}", r["name"], path.display()));
            }
            if r["phase"] != "ready" {
                bad.push(format!("record {} is left in phase {}", r["name"], r["phase"]));
            }
        }
        // No removal's moved-aside files left behind once prune has finished every removal.
        let mut dirs: BTreeSet<PathBuf> = records
            .iter()
            .filter_map(|r| r["path"].as_str().and_then(|p| Path::new(p).parent().map(Path::to_path_buf)))
            .collect();
        dirs.insert(t.root.join("repo.worktrees"));
        for d in dirs {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                if e.file_name().to_string_lossy().ends_with(".neighbor-removing") {
                    bad.push(format!("moved-aside files left at {}", e.path().display()));
                }
            }
        }
        let owned: BTreeSet<String> =
            records.iter().filter_map(|r| r["branch"].as_str()).map(|b| format!("refs/heads/{b}")).collect();
        for b in t.branches("refs/heads/neighbor/") {
            if owned.contains(&b) {
                continue;
            }
            let unmerged = t.git(&["rev-list", "--count", &b, "--not", "refs/heads/main", "--"]);
            if unmerged == "0" || !opts.allow_kept_branches {
                bad.push(format!("branch {b} has no record ({unmerged} commit(s) not on main)"));
            }
        }
    }
    // 4. The building lock is free.
    let lock = neighbor.join("lock");
    if let Ok(f) = std::fs::OpenOptions::new().read(true).write(true).open(&lock) {
        let mut l = fd_lock::RwLock::new(f);
        if l.try_write().is_err() {
            bad.push("the building lock is held".into());
        }
    }
    // 5. doctor is clean.
    let d = t.neighbor(&["doctor", "--json"]);
    match serde_json::from_str::<serde_json::Value>(&d.stdout) {
        Ok(r) => {
            for f in r["findings"].as_array().into_iter().flatten() {
                if f["status"] != "problem" || f["check"] == "hooks" {
                    continue;
                }
                if opts.allow_kept_branches && f["check"] == "orphan-branch" {
                    let full = f["ref"].as_str().unwrap_or("");
                    let unmerged = t.git(&["rev-list", "--count", full, "--not", "refs/heads/main", "--"]);
                    if unmerged != "0" {
                        continue;
                    }
                }
                bad.push(format!("doctor: {} {}", f["check"], f["message"]));
            }
        }
        Err(_) => bad.push(format!("doctor failed ({}): {}", d.code, d.stderr)),
    }
    bad
}

/// Panic with every violation, prefixed by `what`.
pub fn assert_holds(t: &TestRepo, before: &Before, opts: Opts, what: &str) {
    let bad = violations(t, before, opts);
    assert!(bad.is_empty(), "{what}: {} invariant violation(s):\n  {}", bad.len(), bad.join("\n  "));
}

#[test]
fn the_checker_can_fail() {
    // A commit lost by hand and a merged branch without a record are both caught.
    let t = TestRepo::new();
    let p = t.add("x", &[]);
    crate::common::write_in(&p, "f.txt", "work\n");
    t.git_in(&p, &["add", "f.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "work"]);
    crate::common::write_in(&p, "loose.txt", "loose\n");
    t.git(&["branch", "neighbor/stray"]);
    let before = capture(&t);
    t.git_in(&p, &["reset", "-q", "--hard", "main"]);
    std::fs::remove_file(p.join("loose.txt")).unwrap();
    let bad = violations(&t, &before, Opts { after_prune: true, allow_kept_branches: true });
    assert!(bad.iter().any(|b| b.starts_with("commit ")), "{bad:?}");
    assert!(bad.iter().any(|b| b.contains("loose.txt")), "{bad:?}");
    assert!(bad.iter().any(|b| b.contains("neighbor/stray")), "{bad:?}");
}
