//! The walk that finds merged frames (`delta write` asks on every call) and its memo of long walks,
//! `<common>/neighbor/frame-walk`: right answers far below the tip, after the target is rewritten, with a
//! bad or hostile memo, in shallow and replaced histories, killed mid-write, and raced.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::*;

const BODY: &str = r#"{"ops":[{"op":"incr","path":"n.json","pointer":"/n","value":1}]}"#;

/// `n` ordinary commits on `main` in `dir`, in one `git fast-import` (the tree is unchanged).
fn grow(t: &TestRepo, dir: &Path, n: usize) -> String {
    let tip = t.git_in(dir, &["rev-parse", "HEAD"]);
    let mut stream = String::new();
    for i in 0..n {
        let msg = format!("work {i}\n");
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter T <t@example.invalid> 1767225600 +0000\ndata {}\n{msg}",
            msg.len()
        ));
        if i == 0 {
            stream.push_str(&format!("from {tip}\n"));
        }
        stream.push('\n');
    }
    let mut c = Command::new("git");
    t.env(&mut c);
    let mut child =
        c.args(["fast-import", "--quiet"]).current_dir(dir).stdin(Stdio::piped()).spawn().expect("git fast-import");
    child.stdin.take().unwrap().write_all(stream.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
    t.git_in(dir, &["rev-parse", "HEAD"])
}

fn memo(t: &TestRepo) -> PathBuf {
    t.common_dir().join("neighbor/frame-walk")
}

fn memo_lines(t: &TestRepo) -> Vec<String> {
    std::fs::read_to_string(memo(t)).unwrap_or_default().lines().map(String::from).collect()
}

/// A parentless commit of HEAD's tree with `message`, on no branch; the state directory exists after it.
fn side_commit(t: &TestRepo, message: &str) -> String {
    std::fs::create_dir_all(memo(t).parent().unwrap()).unwrap();
    let tree = t.git(&["rev-parse", "HEAD^{tree}"]);
    t.git(&["commit-tree", &tree, "-m", message])
}

/// Merge frame 1 (one delta) and return its commit.
fn merge_frame_one(t: &TestRepo) -> String {
    assert_eq!(t.delta(&t.dir, &["--frame", "1", "--stream", "a"], BODY).code, 0);
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    t.git(&["rev-parse", "HEAD"])
}

#[test]
fn a_frame_merged_far_below_the_tip_is_found_by_every_write() {
    let t = TestRepo::new();
    let frame1 = merge_frame_one(&t);
    let tip = grow(&t, &t.dir, 150);
    for round in 0..2 {
        let o = t.delta(&t.dir, &["--frame", "1", "--stream", "late"], BODY);
        assert_eq!(o.code, 3, "round {round}: a delta for merged frame 1 is refused: {}", o.stderr);
        assert!(o.stderr.contains("frame 1 is already merged"), "{}", o.stderr);
        assert_eq!(memo_lines(&t), [format!("{tip} {frame1} 1")], "round {round}");
    }
    // The default frame is the next one, through the memo too.
    let o = t.delta(&t.dir, &["--stream", "b"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "2/b\n"), "{}", o.stderr);
    // The tip moves on: the next long walk stops at the remembered tip and is remembered first.
    let tip2 = grow(&t, &t.dir, 100);
    let o = t.delta(&t.dir, &["--frame", "1", "--stream", "later"], BODY);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip2} {frame1} 1"), format!("{tip} {frame1} 1")]);
    assert!(t.git_out(&t.dir, &["rev-parse", "--verify", "-q", "refs/neighbor/deltas/1/late"]).code != 0);
}

#[test]
fn short_walks_leave_no_memo() {
    let t = TestRepo::new();
    merge_frame_one(&t);
    grow(&t, &t.dir, 10);
    assert_eq!(t.delta(&t.dir, &["--frame", "1", "--stream", "late"], BODY).code, 3);
    assert!(!memo(&t).exists());
}

#[test]
fn a_history_without_frames_is_remembered_as_such_and_a_rewritten_target_is_walked_again() {
    let t = TestRepo::new();
    let tip = grow(&t, &t.dir, 120);
    let o = t.delta(&t.dir, &["--stream", "a"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "1/a\n"), "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip} - -")]);
    // The target is reset onto another history whose frame 3 lies 100 commits down: the memo is keyed
    // by commit, so it has nothing to say about the new tip.
    t.git(&["checkout", "-q", "-b", "other", "HEAD~100"]);
    t.git(&["commit", "-q", "--allow-empty", "-m", "state: frame 3\n\nNeighbor-Frame: 3"]);
    let frame3 = t.git(&["rev-parse", "HEAD"]);
    t.git(&["checkout", "-q", "-B", "main", "other"]);
    let tip2 = grow(&t, &t.dir, 100);
    let o = t.delta(&t.dir, &["--stream", "b"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "4/b\n"), "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip2} {frame3} 3"), format!("{tip} - -")]);
}

/// What the memo is trusted for, and what it is not: an entry naming a commit is believed only if that
/// commit carries the frame it claims; a memo that does not parse is ignored whole and rewritten.
#[test]
fn the_memo_is_believed_only_as_far_as_it_can_be_checked() {
    let t = TestRepo::new();
    let tip = grow(&t, &t.dir, 80);
    let claims5 = side_commit(&t, "elsewhere\n\nNeighbor-Frame: 5");
    let plain = side_commit(&t, "no trailer");
    // A checkable entry is used: the walk jumps to the named frame commit (which is how the memo saves
    // the walk; a test that ignored the memo would say frame 1 here).
    std::fs::write(memo(&t), format!("{tip} {claims5} 5\n")).unwrap();
    let o = t.delta(&t.dir, &["--stream", "a"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "6/a\n"), "{}", o.stderr);
    // An entry naming a commit without that trailer is not believed: the walk goes on from there.
    std::fs::write(memo(&t), format!("{tip} {plain} 5\n")).unwrap();
    let o = t.delta(&t.dir, &["--stream", "b"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "1/b\n"), "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip} - -")], "the bad entry is replaced");
    // Garbage, a missing object, a truncated line: ignored, then rewritten.
    for bad in [
        "not a memo\n".to_string(),
        format!("{tip} {} 2\n", "1".repeat(40)),
        format!("{tip} {claims5}\n"),
        format!("{tip} - -\n{}", "x".repeat(5000)),
    ] {
        std::fs::write(memo(&t), &bad).unwrap();
        let o = t.delta(&t.dir, &["--frame", "1", "--stream", "c", "--replace"], BODY);
        assert_eq!(o.code, 0, "{bad:?}: {}", o.stderr);
        assert_eq!(memo_lines(&t), [format!("{tip} - -")], "{bad:?}");
    }
}

#[test]
fn replace_refs_bypass_the_memo_and_a_shallow_boundary_is_not_remembered() {
    let t = TestRepo::new();
    let tip = grow(&t, &t.dir, 80);
    let claims5 = side_commit(&t, "elsewhere\n\nNeighbor-Frame: 5");
    std::fs::write(memo(&t), format!("{tip} {claims5} 5\n")).unwrap();
    // With a replace ref the memo is neither read (frame 6) nor written.
    let first = t.git(&["rev-list", "--max-parents=0", "HEAD"]);
    let stand_in = side_commit(&t, "stand-in root");
    t.git(&["replace", &first, &stand_in]);
    let o = t.delta(&t.dir, &["--stream", "a"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "1/a\n"), "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip} {claims5} 5")]);
    // Nor is a walk that starts with no memo at all remembered.
    std::fs::remove_file(memo(&t)).unwrap();
    let o = t.delta(&t.dir, &["--frame", "1", "--stream", "b"], BODY);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!memo(&t).exists(), "nothing is remembered while replace refs exist");
    t.git(&["replace", "-d", &first]);
    // A shallow clone: the walk ends at the shallow boundary, which is not the end of history (deepening
    // adds what lies below), so "no frame below this tip" is not remembered.
    let shallow = t.root.join("shallow");
    let url = format!("file://{}", t.dir.display());
    t.git(&["clone", "-q", "--depth", "70", &url, shallow.to_str().unwrap()]);
    let o = t.delta(&shallow, &["--stream", "a"], BODY);
    assert_eq!(o.code, 1, "a shallow walk that found no frame answered: {} {}", o.stdout, o.stderr);
    assert!(!shallow.join(".git/neighbor/frame-walk").exists());
}

/// A shallow clone (CI's `--depth 1`) whose history ends above the newest frame commit cannot tell which
/// frame is next, nor whether a given frame is merged: `delta write` says so and stores nothing, where it
/// used to take "no frame commit seen" for "no frame merged" and store into a long-merged frame.
#[test]
fn a_shallow_clone_that_cannot_see_the_newest_frame_stores_nothing() {
    let t = TestRepo::new();
    merge_frame_one(&t);
    grow(&t, &t.dir, 3);
    let shallow = t.root.join("shallow");
    let url = format!("file://{}", t.dir.display());
    t.git(&["clone", "-q", "--depth", "1", &url, shallow.to_str().unwrap()]);
    for args in [&["--stream", "b"][..], &["--frame", "1", "--stream", "b"][..]] {
        let o = t.delta(&shallow, args, BODY);
        assert_eq!(o.code, 1, "{args:?}: {} {}", o.stdout, o.stderr);
        assert!(o.stderr.contains("shallow") && o.stderr.contains("hint:"), "{}", o.stderr);
    }
    assert!(t.git_in(&shallow, &["for-each-ref", "refs/neighbor/"]).is_empty());
    // Deep enough to see the frame commit, the same clone answers.
    t.git_in(&shallow, &["fetch", "-q", "--deepen=3"]);
    let o = t.delta(&shallow, &["--stream", "b"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "2/b\n"), "{}", o.stderr);
}

/// More than 100,000 ordinary commits above the newest frame commit: the walk goes on to it (it used to
/// stop there and answer "no frame merged", so writers stored into merged frame 1).
#[test]
fn a_frame_far_below_a_very_long_history_is_still_found() {
    let t = TestRepo::new();
    merge_frame_one(&t);
    grow(&t, &t.dir, 100_005);
    let o = t.delta(&t.dir, &["--stream", "b"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "2/b\n"), "{}", o.stderr);
    let o = t.delta(&t.dir, &["--frame", "1", "--stream", "c"], BODY);
    assert_eq!(o.code, 3, "{}", o.stderr);
}

/// Frames merge in order: an older frame is refused once a newer one is merged, and writers find an older
/// frame closed (they used to store into it, and every default merge-frame then stopped at a frame already
/// merged).
#[test]
fn frames_merge_in_order_and_an_older_frame_is_closed() {
    let t = TestRepo::new();
    assert_eq!(t.delta(&t.dir, &["--frame", "2", "--stream", "a"], BODY).code, 0);
    assert_eq!(t.delta(&t.dir, &["--frame", "3", "--stream", "a"], BODY).code, 0);
    t.neighbor(&["merge-frame", "--frame", "3"]).ok();
    let o = t.neighbor(&["merge-frame", "--frame", "2"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("in order"), "{}", o.stderr);
    let o = t.delta(&t.dir, &["--frame", "2", "--stream", "b"], BODY);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("closed"), "{}", o.stderr);
    let o = t.delta(&t.dir, &["--stream", "b"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "4/b\n"), "{}", o.stderr);
}

/// The frame after the largest frame number does not wrap to frame 0 (a slot nothing ever lists).
#[test]
fn the_frame_after_the_last_frame_number_is_an_error_not_frame_zero() {
    let t = TestRepo::new();
    let max = u64::MAX.to_string();
    assert_eq!(t.delta(&t.dir, &["--frame", &max, "--stream", "a"], BODY).code, 0);
    t.neighbor(&["merge-frame", "--frame", &max]).ok();
    let o = t.delta(&t.dir, &["--stream", "b"], BODY);
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
    assert!(t.git(&["for-each-ref", "refs/neighbor/deltas/"]).is_empty());
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 1, "{} {}", o.stdout, o.stderr);
}

/// A delta that fits the JSON depth limit on its own but not inside its stored envelope is refused by
/// `delta write` (it used to be accepted, then quarantined by merge-frame).
#[test]
fn a_delta_too_deep_to_store_is_refused_at_write() {
    let t = TestRepo::new();
    let deep = format!(
        r#"{{"ops":[{{"op":"set","path":"a.json","pointer":"/x","value":{}{}}}]}}"#,
        "[".repeat(124),
        "]".repeat(124)
    );
    let o = t.delta(&t.dir, &["--stream", "deep"], &deep);
    assert_eq!(o.code, 2, "{} {}", o.stdout, o.stderr);
    assert!(t.git(&["for-each-ref", "refs/neighbor/deltas/"]).is_empty());
}

/// Killed between writing the memo's temporary file and renaming it: nothing is stored, the memo is
/// absent, and the next write walks again and writes it.
#[test]
fn killed_writing_the_memo() {
    let t = TestRepo::new();
    let tip = grow(&t, &t.dir, 80);
    let mut c = t.cmd_in(&t.dir, &["delta", "write", "--frame", "1", "--stream", "a"]);
    c.env("NEIGHBOR_FAILPOINT", "frame-walk.memo-temp-written");
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(BODY.as_bytes()).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(std::os::unix::process::ExitStatusExt::signal(&o.status), Some(9), "killed at the fail point");
    assert!(!memo(&t).exists());
    let temps: Vec<String> = std::fs::read_dir(t.common_dir().join("neighbor"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".frame-walk.tmp."))
        .collect();
    assert_eq!(temps.len(), 1, "the killed writer's temporary file is left for prune: {temps:?}");
    assert!(t.git_out(&t.dir, &["rev-parse", "--verify", "-q", "refs/neighbor/deltas/1/a"]).code != 0);
    let o = t.delta(&t.dir, &["--frame", "1", "--stream", "a"], BODY);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip} - -")]);
}

/// Two writers remember the same walk at once; and a frame is merged while a writer that already chose
/// it is stopped mid-memo: that writer's delta is refused, not left behind in a merged frame.
#[test]
fn writers_racing_on_the_memo_and_a_frame_merged_meanwhile() {
    let t = TestRepo::new();
    let tip = grow(&t, &t.dir, 80);
    // The state directory exists (as it does after any command of ours), so the first walk, outside the
    // mailbox lock, writes the memo.
    std::fs::create_dir_all(t.common_dir().join("neighbor")).unwrap();
    let slow =
        t.spawn_stopped_with_input(&["delta", "write", "--stream", "slow"], "frame-walk.memo-temp-written", BODY);
    // Stopped after choosing frame 1 (the default) and before taking the mailbox lock. Another writer does
    // the same walk and writes the memo; frame 1 is merged; an agent commits on the target.
    let o = t.delta(&t.dir, &["--stream", "fast"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "1/fast\n"), "{}", o.stderr);
    assert_eq!(memo_lines(&t), [format!("{tip} - -")]);
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    let frame1 = t.git(&["rev-parse", "HEAD"]);
    t.git(&["commit", "-q", "--allow-empty", "-m", "an agent's commit"]);
    resume(&slow);
    let o = Out::from_output(slow.wait_with_output().unwrap());
    assert_eq!(o.code, 3, "the stopped writer's frame was merged meanwhile: {}", o.stderr);
    assert!(o.stderr.contains("frame 1 is already merged"), "{}", o.stderr);
    assert!(t.git_out(&t.dir, &["rev-parse", "--verify", "-q", "refs/neighbor/deltas/1/slow"]).code != 0);
    // The memo is whole: the stopped writer's rename landed last, with what it had walked.
    assert_eq!(memo_lines(&t), [format!("{tip} - -")]);
    let o = t.delta(&t.dir, &["--stream", "next"], BODY);
    assert_eq!((o.code, o.stdout.as_str()), (0, "2/next\n"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD~1"]), frame1);
}
