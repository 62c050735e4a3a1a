//! Frames after a crash or another manager: what `status`, `doctor`, `prune` and the mailbox commands
//! see and finish; frames in shallow clones and through remote URLs.

use crate::common::*;
use crate::faults::*;
use crate::frames_check::*;

/// L1 (doctor part): a delta waiting in a frame that is already merged is reported by doctor.
#[test]
fn doctor_reports_deltas_waiting_in_merged_frames() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[]}"#).ok();
    t.neighbor(&["merge-frame"]).ok();
    smuggle(&t, &t.dir, "1", "orphan", r#"{"ops":[]}"#);
    let o = t.neighbor(&["doctor", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(o.stdout.contains("refs/neighbor/deltas/1/orphan"), "{}", o.stdout);
}

/// and the index and files on the old one.
fn crash_at_commit_point(t: &TestRepo) {
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"new.json","pointer":"/x","value":1}]}"#).ok();
    let k = {
        let probe = TestRepo::new();
        probe
            .delta(
                &probe.dir,
                &["--stream", "a"],
                r#"{"ops":[{"op":"set","path":"new.json","pointer":"/x","value":1}]}"#,
            )
            .ok();
        let pf = Faults::new(&probe);
        pf.run(&probe, &probe.dir, &["merge-frame"], None).ok();
        call_index(&pf.calls(), &["update-ref", "merge-frame 1", "--stdin"])
    };
    let f = Faults::new(t);
    let o = f.run(t, &t.dir, &["merge-frame"], Some((k, When::After)));
    assert!(killed(&o), "{}", o.stderr);
    assert_eq!(t.frame_commits(&t.dir, "HEAD", 1), 1, "the commit point was passed");
}

/// the frame.)
#[test]
fn interrupted_frame_is_reported_and_doctor_fix_finishes_it() {
    let t = TestRepo::new();
    t.neighbor(&["hooks", "install"]).ok();
    crash_at_commit_point(&t);
    let o = t.neighbor(&["status"]);
    assert!(o.stdout.contains("merge-frame") || o.stderr.contains("merge-frame"), "status: {}{}", o.stdout, o.stderr);
    assert!(o.stdout.contains("doctor --fix") || o.stderr.contains("doctor --fix"), "{}{}", o.stdout, o.stderr);
    let o = t.neighbor(&["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    assert!(o.stdout.contains("frame 1"), "{}", o.stdout);
    // A human's ordinary commit is stopped before it reverts the frame.
    t.write("README.md", "edited\n");
    let o = t.git_out(&t.dir, &["commit", "-qam", "readme"]);
    assert_ne!(o.code, 0, "a commit went in over an unfinished frame");
    // The killed merge-frame still holds the index lock (git refuses), or the hook names it.
    assert!(o.stderr.contains("merge-frame") || o.stderr.contains("index.lock"), "{}", o.stderr);
    // Even with that lock gone, the pre-commit hook stops the commit.
    let lock = t.dir.join(".git/index.lock");
    if lock.exists() {
        std::fs::remove_file(&lock).unwrap();
    }
    let o = t.git_out(&t.dir, &["commit", "-qam", "readme"]);
    assert_ne!(o.code, 0, "a commit went in over an unfinished frame");
    assert!(o.stderr.contains("merge-frame"), "{}", o.stderr);
    t.neighbor(&["doctor", "--fix"]).ok();
    check_checkout(&t, &t.dir);
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
    assert_eq!(read(&t.dir.join("state/new.json")), "{\n  \"x\": 1\n}\n");
    t.git(&["commit", "-qam", "readme"]);
    assert_eq!(t.git(&["show", "HEAD:state/new.json"]), "{\n  \"x\": 1\n}");
}

/// L9: `prune` finishes an interrupted frame too.
#[test]
fn prune_finishes_an_interrupted_frame() {
    let t = TestRepo::new();
    crash_at_commit_point(&t);
    t.neighbor(&["prune"]).ok();
    check_checkout(&t, &t.dir);
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
}

/// H3: frames work in a shallow clone (CI's `--depth 1`) that reaches the newest frame commit. One whose
/// history ends before any frame commit cannot tell which frame is next (frames may lie below its
/// boundary): it says so and what to do, instead of guessing frame 1 (a merged frame, where a delta is
/// lost) or failing on the missing parent.
#[test]
fn frames_work_in_a_shallow_clone() {
    let t = TestRepo::new();
    t.commit_file("README.md", "two\n", "two");
    let url = format!("file://{}", t.dir.display());
    let shallow = t.root.join("shallow");
    t.git(&["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
    let body = r#"{"ops":[{"op":"set","path":"x.json","pointer":"/x","value":1}]}"#;
    let o = t.delta(&shallow, &["--stream", "a"], body);
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    assert!(o.stderr.contains("--unshallow"), "{}", o.stderr);
    assert!(!o.stderr.contains("could not be found"), "{}", o.stderr);
    let o = t.neighbor_in(&shallow, &["merge-frame"]);
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    t.git_in(&shallow, &["fetch", "-q", "--unshallow"]);
    let o = t.delta(&shallow, &["--stream", "a"], body);
    assert_eq!(o.code, 0, "{}", o.stderr);
    t.neighbor_in(&shallow, &["merge-frame"]).ok();
    // Cloned again at depth 1 from a tip that is a frame commit: the clone sees it and goes on.
    t.git_in(&shallow, &["push", "-q", &url, "HEAD:refs/heads/framed"]);
    let again = t.root.join("shallow-again");
    t.git(&["clone", "-q", "--depth", "1", "--branch", "framed", &url, again.to_str().unwrap()]);
    t.git_in(&again, &["branch", "-q", "-f", "main", "HEAD"]);
    t.git_in(&again, &["checkout", "-q", "main"]);
    let shallow = again;
    let o = t.delta(&shallow, &["--stream", "a"], r#"{"ops":[]}"#).ok();
    assert_eq!(o.stdout, "2/a\n");
    t.neighbor_in(&shallow, &["merge-frame"]).ok();
    assert_eq!(t.frame_commits(&shallow, "HEAD", 2), 1);
}

/// N6: mailbox refs whose frame is not a canonical number are reported, not silently kept forever.
#[test]
fn malformed_frame_numbers_are_reported() {
    let t = TestRepo::new();
    for f in ["01", "+1", "x"] {
        smuggle(&t, &t.dir, "1", "tmp", r#"{"ops":[]}"#);
        t.git(&["update-ref", &format!("refs/neighbor/deltas/{f}/s"), "refs/neighbor/deltas/1/tmp"]);
        t.git(&["update-ref", "-d", "refs/neighbor/deltas/1/tmp"]);
    }
    let o = t.neighbor(&["doctor"]);
    assert_eq!(o.code, 1, "{}", o.stdout);
    for f in ["01", "+1", "x"] {
        assert!(o.stdout.contains(&format!("refs/neighbor/deltas/{f}/s")), "{f}: {}", o.stdout);
    }
}

/// G3: deltas merged by another manager leave each clone's local mailbox at its next `delta fetch` or
/// `delta push`. (Before: they stayed "waiting" forever and every push warned about them.)
#[test]
fn deltas_merged_elsewhere_leave_the_local_mailbox() {
    let t = TestRepo::with_remote();
    let origin = t.root.join("origin.git");
    let other = t.root.join("other");
    t.git(&["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    t.delta(&other, &["--frame", "1", "--stream", "w"], r#"{"ops":[]}"#).ok();
    t.neighbor_in(&other, &["delta", "push"]).ok();
    t.neighbor(&["merge-frame", "--push"]).ok();
    t.neighbor_in(&other, &["delta", "fetch"]).ok();
    assert!(t.branches("refs/neighbor/deltas/").is_empty());
    let left = t.git_in(&other, &["for-each-ref", "--format=%(refname)", "refs/neighbor/deltas/"]);
    assert_eq!(left, "", "merged delta still waits in the writer's clone");
    let o = t.neighbor_in(&other, &["delta", "push"]).ok();
    assert!(!o.stderr.contains("already merged"), "{}", o.stderr);
}

/// M4: a URL works wherever a remote name does.
#[test]
fn remote_urls_work_like_names() {
    let t = TestRepo::with_remote();
    let url = t.root.join("origin.git");
    let url = url.to_str().unwrap();
    t.delta(&t.dir, &["--frame", "1", "--stream", "u"], r#"{"ops":[]}"#).ok();
    t.neighbor(&["delta", "push", url]).ok();
    t.neighbor(&["delta", "fetch", url]).ok();
    t.neighbor(&["merge-frame", "--push", url]).ok();
    assert_eq!(t.frame_commits(&t.root.join("origin.git"), "main", 1), 1);
}

/// N3: a delta replaced after it was pushed can be pushed again.
#[test]
fn replaced_delta_can_be_published() {
    let t = TestRepo::with_remote();
    t.delta(&t.dir, &["--frame", "1", "--stream", "r"], r#"{"ops":[],"meta":{"v":1}}"#).ok();
    t.neighbor(&["delta", "push"]).ok();
    t.delta(&t.dir, &["--frame", "1", "--stream", "r", "--replace"], r#"{"ops":[],"meta":{"v":2}}"#).ok();
    t.neighbor(&["delta", "push"]).ok();
    let origin = t.root.join("origin.git");
    assert_eq!(
        t.git_in(&origin, &["rev-parse", "refs/neighbor/deltas/1/r"]),
        t.git(&["rev-parse", "refs/neighbor/deltas/1/r"])
    );
}

/// G2: reducer scratch directories left by a killed merge-frame are swept by prune.
#[test]
fn reducer_scratch_dirs_are_swept() {
    let t = TestRepo::new();
    let scratch = t.common_dir().join("neighbor/.reducer.tmp.1-dead");
    std::fs::create_dir_all(scratch.join("sub")).unwrap();
    std::fs::write(scratch.join("sub/a.json"), "{}").unwrap();
    t.neighbor(&["prune"]).ok();
    assert!(!scratch.exists());
}

/// G2: a reducer does not outlive a merge-frame killed with `kill -9`; the next run sweeps its dir.
#[test]
fn reducer_ends_with_a_killed_merge_frame() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[]}"#).ok();
    let pidfile = t.root.join("reducer.pid");
    let script = t.root.join("reduce.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho $$ > {}.tmp && mv {0}.tmp {0}\nsleep 30\n", pidfile.display()))
        .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut child = t.spawn(&["merge-frame", "--reducer", script.to_str().unwrap()]);
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !pidfile.exists() {
        assert!(std::time::Instant::now() < until, "the reducer never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let pid = read(&pidfile).trim().to_string();
    let alive = || std::path::Path::new(&format!("/proc/{pid}")).exists();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while alive() {
        assert!(std::time::Instant::now() < until, "the reducer {pid} outlived merge-frame");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    t.neighbor(&["merge-frame"]).ok();
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
}
