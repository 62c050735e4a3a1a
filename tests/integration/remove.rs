//! `remove`, `keep`, `lock`, and rescue refs.

use crate::common::*;
use std::process::Command;

#[test]
fn remove_refuses_dirty_tree_and_changes_nothing() {
    let t = TestRepo::new();
    let p = t.add("d1", &[]);
    write_in(&p, "README.md", "edited\n");
    write_in(&p, "new.txt", "untracked\n");
    let before = t.snapshot();
    let o = t.neighbor(&["remove", "d1"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("uncommitted"), "{}", o.stderr);
    assert!(o.stderr.contains("hint:"), "{}", o.stderr);
    assert_eq!(t.snapshot(), before);
    assert_eq!(std::fs::read_to_string(p.join("new.txt")).unwrap(), "untracked\n");

    let o = t.neighbor(&["remove", "--force", "d1"]).ok();
    assert!(o.stderr.contains("refs/neighbor/rescue/"), "{}", o.stderr);
    assert!(!p.exists());
    let list = t.neighbor(&["rescue", "list", "--json"]).ok().json();
    let r = &list.as_array().unwrap()[0];
    let commit = r["commit"].as_str().unwrap();
    assert_eq!(t.git(&["show", &format!("{commit}:new.txt")]), "untracked");
    assert_eq!(t.git(&["show", &format!("{commit}:README.md")]), "edited");

    // restore makes a branch holding the snapshot.
    let id = r["id"].as_str().unwrap();
    let o = t.neighbor(&["rescue", "restore", id]).ok();
    let branch = o.stdout.trim_end().to_string();
    assert_eq!(t.git(&["rev-parse", &format!("refs/heads/{branch}")]), commit);
    t.neighbor(&["rescue", "show", id]).ok();
}

#[test]
fn remove_refuses_unmerged_commits() {
    let t = TestRepo::new();
    let p = t.add("u1", &[]);
    write_in(&p, "f.txt", "x\n");
    t.git_in(&p, &["add", "f.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "work"]);
    let tip = t.git_in(&p, &["rev-parse", "HEAD"]);
    let before = t.snapshot();
    let o = t.neighbor(&["remove", "u1"]);
    assert_eq!(o.code, 3);
    assert!(o.stderr.contains("1 commit(s) not on main"), "{}", o.stderr);
    assert_eq!(t.snapshot(), before);

    // Once merged into its base it is removable without force.
    t.git(&["merge", "-q", "--ff-only", "neighbor/u1"]);
    t.neighbor(&["remove", "u1"]).ok();
    assert_eq!(t.git(&["rev-parse", "main"]), tip);
    assert!(t.branches("refs/heads/neighbor/").is_empty());
}

#[test]
fn force_remove_rescues_unmerged_commits_and_keep_branch() {
    let t = TestRepo::new();
    let p = t.add("u2", &[]);
    write_in(&p, "f.txt", "x\n");
    t.git_in(&p, &["add", "f.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "work"]);
    let tip = t.git_in(&p, &["rev-parse", "HEAD"]);
    t.neighbor(&["remove", "--force", "u2"]).ok();
    let list = t.neighbor(&["rescue", "list", "--json"]).ok().json();
    let commit = list[0]["commit"].as_str().unwrap();
    assert_eq!(t.git(&["rev-parse", &format!("{commit}^")]), tip);

    let _p = t.add("k1", &[]);
    t.neighbor(&["remove", "--keep-branch", "k1"]).ok();
    assert_eq!(t.branches("refs/heads/neighbor/k1").len(), 1);
}

#[test]
fn keep_branch_removes_a_tenant_whose_commits_stay_on_its_branch_but_not_its_other_work() {
    let t = TestRepo::new();
    let p = t.add("kb", &[]);
    write_in(&p, "f.txt", "x\n");
    t.git_in(&p, &["add", "f.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "work"]);
    let tip = t.git_in(&p, &["rev-parse", "HEAD"]);
    // Uncommitted work would still be lost with the directory: refused, nothing changed.
    write_in(&p, "wip.txt", "wip\n");
    let before = t.snapshot();
    let o = t.neighbor(&["remove", "--keep-branch", "kb"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("uncommitted") && !o.stderr.contains("commit(s) not on"), "{}", o.stderr);
    assert_eq!(t.snapshot(), before);
    // Commits on a detached HEAD are not on the branch that stays: refused too.
    std::fs::remove_file(p.join("wip.txt")).unwrap();
    t.git_in(&p, &["checkout", "-q", "--detach"]);
    write_in(&p, "g.txt", "y\n");
    t.git_in(&p, &["add", "g.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "detached work"]);
    assert_eq!(t.neighbor(&["remove", "--keep-branch", "kb"]).code, 3);
    // Back on the branch, only its commits: they stay on the branch, so the tenant goes without --force.
    t.git_in(&p, &["checkout", "-q", "neighbor/kb"]);
    let o = t.neighbor(&["remove", "--keep-branch", "kb"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!p.exists());
    assert_eq!(t.git(&["rev-parse", "refs/heads/neighbor/kb"]), tip);
    assert!(t.neighbor(&["rescue", "list", "--json"]).ok().json().as_array().unwrap().is_empty());
}

#[test]
fn keep_lock_unlock_change_status() {
    let t = TestRepo::new();
    let a = t.add("a", &[]);
    t.neighbor(&["keep", "a", "--reason", "pending review"]).ok();
    let rows = t.tenants_json();
    assert_eq!(rows[0]["status"], "kept");
    assert_eq!(rows[0]["reason"], "pending review");
    t.neighbor(&["keep", "--undo", "a"]).ok();
    t.neighbor(&["lock", "a", "--reason", "on usb"]).ok();
    let rows = t.tenants_json();
    assert_eq!(rows[0]["status"], "locked");
    assert_eq!(rows[0]["reason"], "on usb");
    let o = t.neighbor(&["remove", "a"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    // `--force` rescues commits and tracked changes, never ignored files: a lock (git's own needs
    // `worktree remove -f -f`) holds against it too, with the file still there.
    let ignored = a.join("fixtures.bin");
    std::fs::write(&ignored, "hours of downloads").unwrap();
    let o = t.neighbor(&["remove", "--force", "a"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("unlock a"), "{}", o.stderr);
    assert!(ignored.exists());
    std::fs::remove_file(&ignored).unwrap();
    t.neighbor(&["unlock", "a"]).ok();
    assert_eq!(t.tenants_json()[0]["status"], "active");
    t.neighbor(&["remove", "a"]).ok();
}

/// Rescue refs can be dropped one by one and pruned by age, so they do not pile up forever.
#[test]
fn rescue_drop_and_prune_by_age() {
    let t = TestRepo::new();
    for name in ["r1", "r2", "r3"] {
        let p = t.add(name, &[]);
        write_in(&p, "work.txt", name);
        t.neighbor(&["remove", "--force", name]).ok();
    }
    let ids: Vec<String> = t
        .neighbor(&["--json", "rescue", "list"])
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3);
    t.neighbor(&["rescue", "drop", &ids[0]]).ok();
    assert_eq!(t.git(&["for-each-ref", "refs/neighbor/rescue/"]).lines().count(), 2);
    assert_eq!(t.neighbor(&["rescue", "drop", &ids[0]]).code, 1, "a dropped rescue is gone");
    // Age is when the rescue was made (the stamp in its id), not its commit's date: the tests pin commit
    // dates to 2026-01-01, and the two left were made just now. One made in 2025 stands beside them.
    let commit = t.git(&["rev-parse", "HEAD"]);
    t.git(&["update-ref", "refs/neighbor/rescue/remove-force-20250101120000-0123abcd", &commit]);
    let kept = t.neighbor(&["--json", "rescue", "prune", "--older-than", "3650d"]).ok().json();
    assert_eq!(kept.as_array().unwrap().len(), 0);
    let would = t.neighbor(&["--json", "rescue", "prune", "--older-than", "30d", "--dry-run"]).ok().json();
    assert_eq!(would.as_array().unwrap().len(), 1, "{would}");
    assert_eq!(t.git(&["for-each-ref", "refs/neighbor/rescue/"]).lines().count(), 3, "dry run deletes nothing");
    t.neighbor(&["rescue", "prune", "--older-than", "30d"]).ok();
    assert_eq!(t.git(&["for-each-ref", "refs/neighbor/rescue/"]).lines().count(), 2);
    assert!(t.git(&["for-each-ref", "refs/neighbor/rescue/remove-force-2025*"]).is_empty());
}

/// A rescue of an old branch tip (the tenant's directory was deleted by hand, so the tip itself is saved)
/// is as young as the rescue: `rescue prune --older-than` keeps it (it used to go by the commit's date,
/// and dropped it at once, leaving the commit on no ref).
#[test]
fn a_fresh_rescue_of_an_old_commit_is_not_pruned_as_old() {
    let t = TestRepo::new();
    let p = t.add("t1", &[]);
    write_in(&p, "w.txt", "work\n");
    t.git_in(&p, &["add", "w.txt"]);
    let mut c = Command::new("git");
    t.env(&mut c);
    let ok = c
        .args(["commit", "-q", "-m", "agent work"])
        .current_dir(&p)
        .env("GIT_COMMITTER_DATE", "2020-01-01T00:00:00Z")
        .status()
        .unwrap();
    assert!(ok.success());
    let work = t.git_in(&p, &["rev-parse", "HEAD"]);
    std::fs::remove_dir_all(&p).unwrap();
    t.neighbor(&["remove", "--force", "t1"]).ok();
    t.neighbor(&["rescue", "prune", "--older-than", "30d"]).ok();
    assert!(!t.git(&["for-each-ref", "--contains", &work]).is_empty(), "the rescued commit is on no ref");
}
