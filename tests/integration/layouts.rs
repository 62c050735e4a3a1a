//! Works from the main worktree, a linked worktree, a subdirectory, and a bare layout of peers.

use crate::common::*;

#[test]
fn from_linked_worktree_and_subdirectory() {
    let t = TestRepo::new();
    let a = t.add("a", &[]);
    std::fs::create_dir_all(a.join("deep/er")).unwrap();
    let b = t.neighbor_in(&a.join("deep/er"), &["add", "b"]).ok();
    assert!(b.stdout.trim_end().ends_with("repo.worktrees/b"), "{}", b.stdout);
    let rows = t.neighbor_in(&a, &["list", "--json"]).ok().json();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    let st = t.neighbor_in(&a.join("deep"), &["status", "--json"]).ok().json();
    assert_eq!(st["current_tenant"], "a");
    t.neighbor_in(&a, &["remove", "b"]).ok();
}

#[test]
fn bare_layout_with_peer_worktrees() {
    let t = TestRepo::new();
    let bare = t.root.join("proj.git");
    t.git(&["clone", "-q", "--bare", t.dir.to_str().unwrap(), bare.to_str().unwrap()]);
    let peer = t.root.join("peer-main");
    t.git_in(&bare, &["worktree", "add", "-q", peer.to_str().unwrap(), "main"]);
    // From the bare dir itself and from a peer worktree.
    let p = t.neighbor_in(&bare, &["add", "x"]).ok();
    assert_eq!(p.stdout.trim_end(), t.root.join("proj.worktrees/x").to_str().unwrap());
    let p = t.neighbor_in(&peer, &["add", "y"]).ok();
    assert_eq!(p.stdout.trim_end(), t.root.join("proj.worktrees/y").to_str().unwrap());
    let rows = t.neighbor_in(&peer, &["list", "--json"]).ok().json();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(rows.iter().any(|r| r["status"] == "foreign" && r["path"] == peer.to_str().unwrap()));
    t.neighbor_in(&bare, &["remove", "y"]).ok();
    t.neighbor_in(&peer, &["remove", "x"]).ok();
}

#[test]
fn the_current_tenant_is_the_one_at_this_path_even_in_a_directory_named_after_another() {
    // `status` and `delta write` look up the record named like the current directory first: a tenant
    // living in a directory named after another tenant must still be told apart by its path.
    let t = TestRepo::new();
    t.add("b", &[]);
    let dir = t.root.join("elsewhere/b");
    std::fs::create_dir_all(dir.parent().unwrap()).unwrap();
    let a = t.add("a", &["--path", dir.to_str().unwrap()]);
    assert_eq!(a, dir);
    let st = t.neighbor_in(&a, &["status", "--json"]).ok().json();
    assert_eq!(st["current_tenant"], "a");
    t.delta(&a, &["--frame", "1"], r#"{"ops": []}"#).ok();
    let blob = t.git(&["cat-file", "-p", "refs/neighbor/deltas/1/a"]);
    let env: serde_json::Value = serde_json::from_str(&blob).unwrap();
    assert_eq!(env["writer"]["tenant"], "a", "{blob}");
    // From the main worktree, no tenant.
    let st = t.neighbor(&["status", "--json"]).ok().json();
    assert!(st["current_tenant"].is_null(), "{st}");
}

#[test]
fn delta_write_keeps_a_reflog_where_git_would() {
    // The delta ref is written in-process with a UTC identity; with core.logAllRefUpdates=always git
    // keeps a reflog for every ref, and so does delta write.
    let t = TestRepo::new();
    t.git(&["config", "core.logAllRefUpdates", "always"]);
    t.delta(&t.dir, &["--frame", "1", "--stream", "s"], r#"{"ops": []}"#).ok();
    // (git's reflog walk wants commits; the ref holds a blob: read the log file.)
    let log = std::fs::read_to_string(t.common_dir().join("logs/refs/neighbor/deltas/1/s")).unwrap();
    let blob = t.git(&["rev-parse", "refs/neighbor/deltas/1/s"]);
    assert!(log.starts_with(&format!("{} {blob} ", "0".repeat(40))), "{log}");
    assert!(log.trim_end().ends_with("+0000\tgit-neighbor delta write"), "{log}");
}
