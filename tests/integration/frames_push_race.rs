//! `delta push` and `delta fetch` run by several writers of one clone at once (a fleet's agents share a
//! clone's mailbox and remote-tracking refs). The interleaving is made exact with git itself: the remote's
//! `uploadpack.packObjectsHook` runs the other command while this command's `git fetch` is between
//! reading the clone's refs and updating them.

use crate::common::*;
use crate::frames_check::*;
use std::path::Path;

/// Make the remote run `meddle` (a shell command, in `dir`) once, in the middle of the next fetch that
/// needs objects from it. Its exit code lands in `<root>/meddle.code`, its output in `<root>/meddle.out`.
fn meddle_during_next_fetch(t: &TestRepo, dir: &Path, meddle: &str) {
    let hook = t.root.join("pack-objects-hook");
    let root = t.root.display();
    std::fs::write(
        &hook,
        format!(
            "#!/bin/sh\nif mkdir '{root}/meddled' 2>/dev/null; then\n  (cd '{}' && env -u GIT_DIR -u GIT_PROTOCOL {meddle}) \
             > '{root}/meddle.out' 2>&1\n  echo $? > '{root}/meddle.code'\nfi\nexec \"$@\"\n",
            dir.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    t.git(&["config", "--global", "uploadpack.packObjectsHook", hook.to_str().unwrap()]);
}

/// A remote whose `main` is one commit ahead of the clone `w`, and a delta 1/s waiting in `w`.
fn setup() -> (TestRepo, std::path::PathBuf) {
    let t = TestRepo::with_remote();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    t.git(&["push", "-q", "origin", "main"]);
    let w = t.root.join("w");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), w.to_str().unwrap()]);
    t.write("README.md", "moved on\n");
    t.git(&["commit", "-q", "-am", "the remote moves on"]);
    t.git(&["push", "-q", "origin", "main"]);
    let o = t.delta(&w, &["--frame", "1", "--stream", "s"], &log_delta(1, "s"));
    assert_eq!(o.code, 0, "{}", o.stderr);
    (t, w)
}

/// Before: the other command's fetch moved `refs/remotes/origin/main` while this push's fetch was under
/// way, git refused this fetch's update of it ("is at X but expected Y"), and `delta push` failed
/// although nothing was wrong; a writer that took that failure at its word re-wrote a delta that another
/// writer's push had already published, and the frame applied both.
#[test]
fn delta_push_survives_a_delta_fetch_in_the_same_clone() {
    let (t, w) = setup();
    meddle_during_next_fetch(&t, &w, "git-neighbor --lock-timeout 500ms delta fetch");
    let o = t.neighbor_in(&w, &["delta", "push"]);
    let meddle = std::fs::read_to_string(t.root.join("meddle.out")).unwrap_or_default();
    let meddle_code = std::fs::read_to_string(t.root.join("meddle.code")).unwrap_or_default();
    assert!(t.root.join("meddled").exists(), "the other command never ran");
    assert_eq!(o.code, 0, "delta push failed: {} (the other command: exit {meddle_code} {meddle})", o.stderr);
    let origin = t.root.join("origin.git");
    assert_eq!(
        t.git_in(&origin, &["for-each-ref", "--format=%(refname)", "refs/neighbor/deltas/"]),
        "refs/neighbor/deltas/1/s"
    );
    // The other command either ran after this one's fetch or waited its turn and said so (exit 4).
    assert!(["0", "4"].contains(&meddle_code.trim()), "the other command: exit {meddle_code} {meddle}");
}

/// Before: `delta push` drops the local copies of deltas its remote has merged in one all-or-nothing
/// ref transaction; when another command of the clone (here `delta drop`; also another push's own
/// tidy-up) deleted one of them first, the transaction failed and so did the push.
#[test]
fn delta_push_survives_a_delta_drop_in_the_same_clone() {
    let t = TestRepo::with_remote();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    t.git(&["push", "-q", "origin", "main"]);
    let w = t.root.join("w");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), w.to_str().unwrap()]);
    assert_eq!(t.delta(&w, &["--frame", "1", "--stream", "s"], &log_delta(1, "s")).code, 0);
    assert_eq!(t.neighbor_in(&w, &["delta", "push"]).code, 0);
    let m = t.neighbor(&["merge-frame", "--push"]);
    assert_eq!(m.code, 0, "{}", m.stderr);
    // 1/s is merged on the remote and still waits here: the next push drops it, and another writer of
    // this clone drops it just before.
    assert!(t.git_in(&w, &["for-each-ref", "refs/neighbor/deltas/1/s"]).contains("1/s"));
    let f = crate::faults::Faults::new(&t);
    let meddle = format!("cd '{}' && git-neighbor delta drop 1/s", w.display());
    let o = Out::from_output(f.cmd_meddling(&t, &w, &["delta", "push"], "update-ref", &meddle).output().unwrap());
    assert!(f.meddled(), "the other command never ran; calls: {:?}", f.calls());
    assert_eq!(o.code, 0, "delta push failed: {}", o.stderr);
    assert_eq!(t.git_in(&w, &["for-each-ref", "refs/neighbor/deltas/"]), "");
}

/// A remote with main and the clone `t.dir`, where delta 1/s was written and pushed.
pub(crate) fn manager_setup() -> TestRepo {
    let t = TestRepo::with_remote();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    t.git(&["push", "-q", "origin", "main"]);
    assert_eq!(t.delta(&t.dir, &["--frame", "1", "--stream", "s"], &log_delta(1, "s")).code, 0);
    assert_eq!(t.neighbor(&["delta", "push"]).code, 0);
    t
}

/// Frame 1 is published and mirrored: the remote and the clone hold it the same way.
fn check_published_and_mirrored(t: &TestRepo) {
    let origin = t.root.join("origin.git");
    assert_eq!(t.archived_in(&origin), ["1/s"]);
    assert_eq!(t.archived_in(&t.dir), ["1/s"]);
    assert_eq!(t.git_in(&t.dir, &["for-each-ref", "refs/neighbor/deltas/"]), "");
    assert_eq!(t.frame_commits(&origin, "main", 1), 1);
}

/// A manager that runs in its writers' clone: right after its push of frame 1, before it mirrors the
/// remote's refs into the clone, a writer's `delta push` there drops the waiting copy of 1/s (the
/// remote has archived it). Before: the mirroring's ref transaction failed on that copy and
/// `merge-frame --push` exited 1 ("the frame was not committed") although the frame was published.
#[test]
fn merge_frame_push_survives_a_delta_push_in_the_same_clone() {
    let t = manager_setup();
    let f = crate::faults::Faults::new(&t);
    let mut manager = f.spawn_paused_after(&t, &t.dir, &["merge-frame", "--push"], "push", 1);
    assert!(f.wait_paused(&mut manager).starts_with("push "));
    let w = t.neighbor(&["delta", "push"]);
    assert_eq!(w.code, 0, "{}", w.stderr);
    assert_eq!(t.git_in(&t.dir, &["for-each-ref", "refs/neighbor/deltas/"]), "", "the writer did not tidy up");
    f.resume();
    let o = Out::from_output(manager.wait_with_output().unwrap());
    assert_eq!(o.code, 0, "merge-frame --push failed: {}", o.stderr);
    check_published_and_mirrored(&t);
}

/// The same with `delta drop` (which takes no lock) just before the mirroring's ref transaction.
#[test]
fn merge_frame_push_survives_a_delta_drop_in_the_same_clone() {
    let t = manager_setup();
    let f = crate::faults::Faults::new(&t);
    let meddle = format!("cd '{}' && git-neighbor delta drop 1/s", t.dir.display());
    let o = Out::from_output(
        f.cmd_meddling(&t, &t.dir, &["merge-frame", "--push"], "update-ref", &meddle).output().unwrap(),
    );
    assert!(f.meddled(), "the other command never ran; calls: {:?}", f.calls());
    assert_eq!(o.code, 0, "merge-frame --push failed: {}", o.stderr);
    check_published_and_mirrored(&t);
}

/// A writer's `delta push` that lists its clone's deltas, then a manager of the same clone merges frame 1
/// with the waiting (never pushed) 1/s and publishes it, then the push goes on and finds frame 1 merged.
/// Before: it reported 1/s late ("not pushed, their frame is already merged"), and its writer took back
/// and wrote again a delta the remote had applied. Now it asks the remote's archive and reports it merged.
#[test]
fn delta_push_does_not_call_late_a_delta_its_clone_published_meanwhile() {
    let setup = || {
        let t = TestRepo::with_remote();
        t.write("state/log.txt", "");
        t.git(&["add", "-A"]);
        t.git(&["commit", "-q", "-m", "log"]);
        t.git(&["push", "-q", "origin", "main"]);
        assert_eq!(t.delta(&t.dir, &["--frame", "1", "--stream", "s"], &log_delta(1, "s")).code, 0);
        t
    };
    let t = setup();
    let f = crate::faults::Faults::new(&t);
    // Right after the push lists the mailbox: its tidy-up lists the archive and the mailbox first.
    let mut writer = f.spawn_paused_after(&t, &t.dir, &["delta", "push", "--json"], "for-each-ref", 3);
    assert!(f.wait_paused(&mut writer).contains("refs/neighbor/deltas/"));
    let m = t.neighbor(&["merge-frame", "--push"]);
    assert_eq!(m.code, 0, "{}", m.stderr);
    f.resume();
    let o = Out::from_output(writer.wait_with_output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j = o.json();
    assert_eq!(j["late"], serde_json::json!([]), "{}", o.stderr);
    assert_eq!(j["merged"], serde_json::json!(["1/s"]));
    check_published_and_mirrored(&t);
}

/// A frame's seal must change with every delta push, or a manager's lease on it can be fooled (ABA).
/// Writer clone `w` holds 1/a and 1/b; clone `w2` holds the same 1/a (same blob). Interleaving:
/// w's push reads the seal (none) and the remote's deltas (none), and stops; w2's push publishes 1/a;
/// a manager reads the seal and fetches (1/a only), merges, and stops before its push; w's push goes on
/// and publishes 1/a (already there) and 1/b; the manager goes on and pushes frame 1.
/// Before: a push used the blob of its frame's first delta as the seal's new value, so w's push "moved"
/// the seal from 1/a's blob to 1/a's blob: git skips the lease of a ref it does not change, the
/// manager's lease held, and frame 1 was merged without the accepted 1/b, which then waited forever
/// in a merged frame (seen once in about 50 runs of the remote race under load).
#[test]
fn a_delta_push_always_moves_its_frames_seal() {
    let t = TestRepo::with_remote();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    t.git(&["push", "-q", "origin", "main"]);
    let origin = t.root.join("origin.git");
    let (w, w2) = (t.root.join("w"), t.root.join("w2"));
    for d in [&w, &w2] {
        t.git(&["clone", "-q", origin.to_str().unwrap(), d.to_str().unwrap()]);
    }
    for s in ["a", "b"] {
        assert_eq!(t.delta(&w, &["--frame", "1", "--stream", s], &log_delta(1, s)).code, 0);
    }
    let a = "refs/neighbor/deltas/1/a";
    t.git_in(&w2, &["fetch", "-q", w.to_str().unwrap(), &format!("{a}:{a}")]);

    let fw = crate::faults::Faults::new(&t);
    // After its seals (the first ls-remote) and the remote's deltas (the second).
    let mut writer = fw.spawn_paused_after(&t, &w, &["delta", "push", "--json"], "ls-remote", 2);
    fw.wait_paused(&mut writer);
    let o = t.neighbor_in(&w2, &["delta", "push"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let fm = crate::faults::Faults::new(&t);
    // The manager's ls-remotes: the seals, then the remote's deltas right before its push.
    let mut manager = fm.spawn_paused_after(&t, &t.dir, &["merge-frame", "--push"], "ls-remote", 2);
    fm.wait_paused(&mut manager);
    fw.resume();
    let o = Out::from_output(writer.wait_with_output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    let j = o.json();
    assert!(j["late"].as_array().unwrap().is_empty(), "{}", o.stdout);
    fm.resume();
    let m = Out::from_output(manager.wait_with_output().unwrap());
    assert_eq!(m.code, 0, "{}", m.stderr);
    // Whatever frame 1 took, 1/a and 1/b were both accepted: each applied, or waiting in an open frame.
    t.neighbor(&["merge-frame", "--push"]).ok();
    let accepted = [Accepted { frame: 1, stream: "a".into() }, Accepted { frame: 1, stream: "b".into() }];
    check_accepted(&t, &origin, "main", &accepted);
}
