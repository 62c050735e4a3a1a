//! `add`: parallel safety, crash safety, carry, submodules, and dispatch through `git neighbor`.

use crate::common::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn sixty_four_parallel_adds_then_removes() {
    let t = TestRepo::with_remote();
    let n = 64;
    let children: Vec<_> = (0..n).map(|i| t.spawn(&["add", &format!("t{i}"), "--base", "origin/main"])).collect();
    let outs: Vec<_> = children.into_iter().map(|c| c.wait_with_output().unwrap()).collect();
    for (i, o) in outs.iter().enumerate() {
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "add t{i} failed: {err}");
        assert!(!err.contains("config.lock"), "{err}");
        let path = String::from_utf8_lossy(&o.stdout);
        assert!(std::path::Path::new(path.trim_end()).join("README.md").exists());
    }
    assert_eq!(t.linked_worktrees().len(), n);
    assert_eq!(t.branches("refs/heads/neighbor/").len(), n);
    assert_eq!(t.registry_names().len(), n);
    let tenants = t.tenants_json();
    assert_eq!(tenants.len(), n);
    assert!(tenants.iter().all(|r| r["status"] == "active"), "{tenants:?}");

    let children: Vec<_> = (0..n).map(|i| t.spawn(&["remove", &format!("t{i}")])).collect();
    for (i, c) in children.into_iter().enumerate() {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "remove t{i}: {}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(t.linked_worktrees().is_empty());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
    assert!(t.registry_names().is_empty());
    let root = t.root.join("clone.worktrees");
    let left = std::fs::read_dir(&root).map(|rd| rd.count()).unwrap_or(0);
    assert_eq!(left, 0, "directories left behind in {}", root.display());
}

#[test]
fn kill_nine_during_add_is_repaired_by_prune() {
    let t = TestRepo::new();
    // A tenant with work in it must survive every prune below.
    let work = t.add("work", &[]);
    write_in(&work, "wip.txt", "uncommitted\n");
    write_in(&work, "done.txt", "committed\n");
    t.git_in(&work, &["add", "done.txt"]);
    t.git_in(&work, &["commit", "-q", "-m", "work"]);
    let before_work = t.git_in(&work, &["rev-parse", "HEAD"]);

    // Deterministic spread of kill delays from 0 to ~45 ms.
    for i in 0..16u64 {
        let mut child = t.spawn(&["add", &format!("k{i}")]);
        std::thread::sleep(std::time::Duration::from_micros((i * 2_900) % 45_000));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
    }
    // An orphaned git child may still hold the lease for a moment; prune until nothing is creating.
    let mut settled = false;
    for _ in 0..50 {
        t.neighbor(&["prune"]).ok();
        let creating = t
            .tenants_json()
            .iter()
            .any(|r| r["reason"].as_str().is_some_and(|s| s.contains("created") || s.contains("creator")));
        if !creating {
            settled = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(settled, "half-made tenants remain: {:?}", t.tenants_json());

    // Every branch, worktree and record left belongs to a complete, usable tenant.
    let tenants = t.tenants_json();
    for r in &tenants {
        assert_eq!(r["status"], "active", "{r}");
        let path = std::path::Path::new(r["path"].as_str().unwrap());
        assert!(path.join("README.md").exists(), "incomplete checkout in {}", path.display());
    }
    let names: Vec<String> = tenants.iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    for b in t.branches("refs/heads/neighbor/") {
        let n = b.trim_start_matches("refs/heads/neighbor/");
        assert!(names.iter().any(|x| x == n), "orphan branch {b}");
    }
    assert_eq!(t.linked_worktrees().len(), tenants.len());
    let dirs = std::fs::read_dir(t.root.join("repo.worktrees")).unwrap().count();
    assert_eq!(dirs, tenants.len(), "orphan directories");
    // And the work is untouched.
    assert_eq!(std::fs::read_to_string(work.join("wip.txt")).unwrap(), "uncommitted\n");
    assert_eq!(t.git_in(&work, &["rev-parse", "HEAD"]), before_work);
}

#[test]
fn carry_copies_uncommitted_files_with_modes() {
    let t = TestRepo::new();
    t.write("state/stream_assignments.json", "{\"s3\": [1]}\n");
    t.write("scripts/run.sh", "#!/bin/sh\necho hi\n");
    std::fs::set_permissions(t.dir.join("scripts/run.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
    t.write(".env.local", "SECRET=1\n");
    t.write(".worktreeinclude", "# local files\n.env.*\n");
    let p = t.add("c1", &["--carry", "state/stream_assignments.json", "--carry", "scripts"]);
    assert_eq!(std::fs::read_to_string(p.join("state/stream_assignments.json")).unwrap(), "{\"s3\": [1]}\n");
    let mode = std::fs::metadata(p.join("scripts/run.sh")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(std::fs::read_to_string(p.join(".env.local")).unwrap(), "SECRET=1\n");

    // worktrees.carry from config works too.
    let p2 = t.add("c2", &[]);
    assert!(!p2.join("state/stream_assignments.json").exists());
    let o = t.neighbor(&["-c", "worktrees.carry=[\"state/*.json\"]", "add", "c3"]).ok();
    let p3 = std::path::PathBuf::from(o.stdout.trim_end());
    assert!(p3.join("state/stream_assignments.json").exists());

    // A named carry path that does not exist is an error with no partial state.
    let o = t.neighbor(&["add", "c4", "--carry", "nope.txt"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("nope.txt"));
    assert!(!t.registry_names().contains(&"c4.json".to_string()));
}

#[test]
fn submodules_are_initialised_in_new_tenants() {
    let t = TestRepo::new();
    let sub = t.root.join("sub");
    std::fs::create_dir_all(&sub).unwrap();
    t.git_in(&sub, &["init", "-q", "-b", "main"]);
    write_in(&sub, "lib.txt", "library\n");
    t.git_in(&sub, &["add", "-A"]);
    t.git_in(&sub, &["commit", "-q", "-m", "lib"]);
    t.git(&["-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.to_str().unwrap(), "vendor/sub"]);
    t.git(&["commit", "-q", "-m", "add submodule"]);
    let p = t.add("s1", &[]);
    assert_eq!(std::fs::read_to_string(p.join("vendor/sub/lib.txt")).unwrap(), "library\n");
}

#[test]
fn runs_through_git_dispatch() {
    let t = TestRepo::new();
    let mut c = std::process::Command::new("git");
    t.env(&mut c);
    let o = c.args(["neighbor", "add", "via-git"]).current_dir(&t.dir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).trim_end().ends_with("repo.worktrees/via-git"));
}

#[test]
fn ephemeral_tenant_lives_as_long_as_its_caller() {
    let t = TestRepo::new();
    // The caller is a shell that exits right away: the lease dies with it.
    let mut c = std::process::Command::new("sh");
    t.env(&mut c);
    let o = c.args(["-c", "git-neighbor add --ephemeral eph"]).current_dir(&t.dir).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut stale = false;
    for _ in 0..40 {
        let rows = t.tenants_json();
        if rows.iter().any(|r| r["name"] == "eph" && r["status"] == "stale") {
            stale = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(stale, "ephemeral tenant should go stale when its caller exits: {:?}", t.tenants_json());
    t.neighbor(&["prune"]).ok();
    assert!(t.tenants_json().is_empty());

    // While the caller (this test's child shell) lives, the lease is held and prune leaves it.
    let mut c = std::process::Command::new("sh");
    t.env(&mut c);
    let mut sh =
        c.args(["-c", "git-neighbor add --ephemeral eph2 >/dev/null && sleep 30"]).current_dir(&t.dir).spawn().unwrap();
    let mut held = false;
    for _ in 0..50 {
        if t.tenants_json().iter().any(|r| r["name"] == "eph2" && !r["lease"].is_null()) {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(held, "{:?}", t.tenants_json());
    t.neighbor(&["-c", "worktrees.prune-after=0s", "prune"]).ok();
    assert_eq!(t.tenants_json().len(), 1);
    let _ = sh.kill();
    let _ = sh.wait();
}

/// Carry patterns are git's wildmatch: `[ab]` is a character class (it never matched before).
#[test]
fn carry_bracket_patterns_match_like_git() {
    let t = TestRepo::new();
    for f in ["a", "b", "c"] {
        t.write(&format!("conf/{f}.env"), f);
    }
    let path = t.add("t1", &["--carry", "conf/[ab].env"]);
    assert!(path.join("conf/a.env").exists());
    assert!(path.join("conf/b.env").exists());
    assert!(!path.join("conf/c.env").exists());
}
