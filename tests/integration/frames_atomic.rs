//! Frames are all or nothing, and an accepted delta is always applied: regression tests for the
//! November attack's data-loss and consistency defects in `delta write` and `merge-frame`.

use crate::common::*;
use crate::faults::*;
use crate::frames_check::*;

/// L1 (deterministic part): a `delta write` that lands while merge-frame is between listing its slots and
/// its commit point is either in that frame or refused; never accepted and orphaned.
/// (Before the fix: the writer printed `1/late`, exit 0, and the delta waited in merged frame 1 forever.)
#[test]
fn write_racing_merge_is_never_orphaned() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    t.delta(&d, &["--frame", "1", "--stream", "early"], &log_delta(1, "early")).ok();
    let f = Faults::new(&t);
    // Learn which call lists the frame's deltas, on a copy of the same state.
    let k = {
        let probe = TestRepo::new();
        probe.write("state/log.txt", "");
        probe.git(&["add", "-A"]);
        probe.git(&["commit", "-q", "-m", "log"]);
        probe.delta(&probe.dir, &["--frame", "1", "--stream", "early"], &log_delta(1, "early")).ok();
        let pf = Faults::new(&probe);
        pf.run(&probe, &probe.dir, &["merge-frame"], None).ok();
        call_index(&pf.calls(), &["for-each-ref", "refs/neighbor/deltas/1/"])
    };
    let mut manager = f.spawn_paused(&t, &d, &["merge-frame"], k);
    f.wait_paused(&mut manager);
    let mut writer = {
        use std::io::Write;
        let mut c = t.cmd_in(&d, &["delta", "write", "--frame", "1", "--stream", "late"]);
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(log_delta(1, "late").as_bytes()).unwrap();
        child
    };
    // Give the writer the chance to finish while the manager is stopped (it may instead wait for it).
    for _ in 0..100 {
        if writer.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    f.resume();
    let m = manager.wait_with_output().unwrap();
    assert!(m.status.success(), "{}", String::from_utf8_lossy(&m.stderr));
    let w = writer.wait_with_output().unwrap();
    let mut accepted = vec![Accepted { frame: 1, stream: "early".into() }];
    match w.status.code() {
        Some(0) => accepted.push(Accepted::parse(&String::from_utf8_lossy(&w.stdout))),
        Some(3) => {}
        other => panic!("writer: {other:?} {}", String::from_utf8_lossy(&w.stderr)),
    }
    check_accepted(&t, &d, "main", &accepted);
    check_checkout(&t, &d);
}

/// L7: a delta whose path runs through an existing state file (or through a file another stream of the
/// same frame creates) is quarantined; the file keeps its content and the next frame merges.
/// (Before: the file was replaced by a directory in the commit, merge-frame failed after the commit
/// point and every later frame failed the same way.)
#[test]
fn file_versus_directory_conflicts_are_quarantined() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let agents = read(&d.join("state/agents.json"));
    t.delta(
        &d,
        &["--frame", "1", "--stream", "a"],
        r#"{"ops":[{"op":"set","path":"agents.json/b.json","pointer":"/x","value":1}]}"#,
    )
    .ok();
    t.delta(
        &d,
        &["--frame", "1", "--stream", "b"],
        r#"{"ops":[{"op":"set","path":"x.json","pointer":"/x","value":1}]}"#,
    )
    .ok();
    t.delta(
        &d,
        &["--frame", "1", "--stream", "c"],
        r#"{"ops":[{"op":"set","path":"x.json/y.json","pointer":"/y","value":1}]}"#,
    )
    .ok();
    t.delta(
        &d,
        &["--frame", "1", "--stream", "d"],
        r#"{"ops":[{"op":"set","path":"dir/e.json","pointer":"/e","value":1}]}"#,
    )
    .ok();
    t.delta(&d, &["--frame", "1", "--stream", "e"], r#"{"ops":[{"op":"set","path":"dir","pointer":"/f","value":1}]}"#)
        .ok();
    // Within one delta, a path and a path under it cannot both be files: refused at write time.
    let o = t.delta(
        &d,
        &["--frame", "1", "--stream", "f"],
        r#"{"ops":[{"op":"set","path":"p.json","pointer":"/x","value":1},{"op":"set","path":"p.json/q.json","pointer":"/x","value":1}]}"#,
    );
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    let status =
        |s: &str| r["streams"].as_array().unwrap().iter().find(|x| x["stream"] == s).unwrap()["status"].clone();
    assert_eq!(status("a"), "quarantined", "{r}");
    assert_eq!(status("b"), "applied", "{r}");
    assert_eq!(status("c"), "quarantined", "{r}");
    assert_eq!(status("d"), "applied", "{r}");
    assert_eq!(status("e"), "quarantined", "{r}");
    assert_eq!(read(&d.join("state/agents.json")), agents);
    assert_eq!(t.git(&["diff", "--name-only", "HEAD~1", "HEAD"]), "state/dir/e.json\nstate/x.json");
    check_checkout(&t, &d);
    assert!(temp_leftovers(&t, &d).is_empty(), "{:?}", temp_leftovers(&t, &d));
    t.delta(&d, &["--stream", "next"], r#"{"ops":[{"op":"set","path":"x.json","pointer":"/z","value":2}]}"#).ok();
    assert_eq!(t.neighbor(&["merge-frame", "--json"]).ok().json()["frame"], 2);
    check_checkout(&t, &d);
}

/// Kill merge-frame right after its commit point (the ref transaction), leaving HEAD on the new frame
/// L9: after a crash at the commit point, `status`, `doctor` and the pre-commit hook see the unfinished
/// frame; `doctor --fix` finishes it. (Before: nothing reported it, and the next ordinary commit reverted
/// L10: the checked-out target's index is locked by a live git (a `git commit` with its editor open):
/// merge-frame refuses before its commit point and leaves the lock alone.
/// (Before: it committed, then failed to update the index, and the human's retry reverted the frame.)
#[test]
fn locked_target_index_refuses_before_commit() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"x.json","pointer":"/x","value":1}]}"#).ok();
    let lock = t.dir.join(".git/index.lock");
    std::fs::copy(t.dir.join(".git/index"), &lock).unwrap();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["--lock-timeout", "300ms", "merge-frame"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("index.lock"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert!(lock.exists(), "someone else's index.lock was removed");
    assert_eq!(t.branches("refs/neighbor/deltas/1/").len(), 1);
    std::fs::remove_file(&lock).unwrap();
    t.neighbor(&["merge-frame"]).ok();
    check_checkout(&t, &t.dir);
}

/// C6: merge-frame and land never move a branch that a worktree is rebasing.
#[test]
fn branch_being_rebased_is_never_moved() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    t.git(&["checkout", "-q", "-b", "other"]);
    t.commit_file("README.md", "other\n", "other");
    t.git(&["checkout", "-q", "main"]);
    t.commit_file("README.md", "mine\n", "mine");
    let o = t.git_out(&d, &["rebase", "other"]);
    assert_ne!(o.code, 0, "the rebase stops on a conflict");
    let main = t.git(&["rev-parse", "refs/heads/main"]);
    t.delta(&d, &["--frame", "1", "--stream", "a"], r#"{"ops":[]}"#).ok();
    let o = t.neighbor(&["merge-frame", "--frame", "1"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("rebas"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "refs/heads/main"]), main);
    // land into the branch being rebased: refused the same way.
    let p = t.add("lander", &["--base", "main"]);
    write_in(&p, "f.txt", "x\n");
    t.git_in(&p, &["add", "f.txt"]);
    t.git_in(&p, &["commit", "-qm", "f"]);
    let o = t.neighbor(&["land", "lander", "--into", "main"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "refs/heads/main"]), main);
    t.git(&["rebase", "--abort"]);
    // Bisecting main (bisect returns to it at the end): refused too.
    t.git(&["bisect", "start"]);
    let o = t.neighbor(&["merge-frame", "--frame", "1"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("bisect"), "{}", o.stderr);
    t.git(&["bisect", "reset"]);
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
}

/// N7: a frame with nothing to merge makes no commit and exits 0 saying so.
#[test]
fn empty_frame_makes_no_commit() {
    let t = TestRepo::new();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]).ok();
    assert!(o.stderr.contains("nothing to merge"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert!(r["commit"].is_null(), "{r}");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
}
