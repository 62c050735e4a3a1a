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
