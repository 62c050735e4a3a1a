//! Deltas and `merge-frame`: the mailbox, validation, the frame commit, crashes, races, remotes.

use crate::common::*;
use crate::frames_check::{check_checkout, check_objects, pack_indexes, read, temp_leftovers, wide_delta};

/// Eight streams, all six ops, one fallback: one commit, byte-exact state, idempotent.
#[test]
fn eight_streams_one_commit_byte_exact() {
    let t = TestRepo::new();
    t.write("state/log.jsonl", "{\"boot\":true}\n");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    let d = t.dir.clone();
    let deltas = [
        (
            "s1",
            r#"{"ops":[{"op":"merge","path":"agents.json","value":{"version":2,"agents":null,"roster":{"a1":{"hp":10}}}}]}"#,
        ),
        (
            "s2",
            r#"{"ops":[{"op":"patch","path":"agents.json","value":[{"op":"test","path":"/version","value":2},{"op":"add","path":"/roster/b2","value":{"hp":5}}]}]}"#,
        ),
        ("s3", r#"{"ops":[{"op":"set","path":"world/map.json","pointer":"/regions/north/owner","value":"s3"}]}"#),
        (
            "s4",
            r#"{"ops":[{"op":"append","path":"stats.json","pointer":"/events","value":["s4-a","s4-b"]},{"op":"incr","path":"stats.json","pointer":"/count","value":2}]}"#,
        ),
        (
            "s5",
            r#"{"ops":[{"op":"incr","path":"stats.json","pointer":"/count","value":3},{"op":"incr","path":"stats.json","pointer":"/score","value":0.5}]}"#,
        ),
        ("s6", r#"{"ops":[{"op":"append-lines","path":"log.jsonl","value":["{\"s6\":1}","{\"s6\":2}"]}]}"#),
        (
            "s7",
            r#"{"ops":[{"op":"append","path":"stats.json","pointer":"/events","value":["s7"]}],"meta":{"note":"hi"}}"#,
        ),
    ];
    for (s, body) in deltas {
        let o = t.delta(&d, &["--frame", "1", "--stream", s], body);
        assert_eq!(o.code, 0, "{s}: {}", o.stderr);
        assert_eq!(o.stdout, format!("1/{s}\n"));
    }
    t.neighbor(&["delta", "write", "--frame", "1", "--stream", "s8", "--fallback"]).ok();
    let head_before = t.git(&["rev-parse", "HEAD"]);
    let names = "s1,s2,s3,s4,s5,s6,s7,s8";
    let r = t.neighbor(&["merge-frame", "--expect", names, "--json"]).ok().json();
    assert_eq!(r["frame"], 1);
    let statuses: Vec<(String, String)> = r["streams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["stream"].as_str().unwrap().into(), s["status"].as_str().unwrap().into()))
        .collect();
    let want: Vec<(String, String)> =
        (1..=8).map(|i| (format!("s{i}"), if i == 8 { "fallback" } else { "applied" }.to_string())).collect();
    assert_eq!(statuses, want);
    // Exactly one new commit, with the trailers.
    assert_eq!(t.git(&["rev-list", "--count", &format!("{head_before}..HEAD")]), "1");
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Neighbor-Frame: 1\n"), "{msg}");
    assert!(msg.contains("Neighbor-Streams: s1,s2,s3,s4,s5,s6,s7,s8"), "{msg}");
    // Exactly the changed state files.
    let files = t.git(&["diff", "--name-only", &head_before, "HEAD"]);
    assert_eq!(files, "state/agents.json\nstate/log.jsonl\nstate/stats.json\nstate/world/map.json");
    assert_eq!(
        read(&d.join("state/agents.json")),
        "{\n  \"roster\": {\n    \"a1\": {\n      \"hp\": 10\n    },\n    \"b2\": {\n      \"hp\": 5\n    }\n  },\n  \"version\": 2\n}\n"
    );
    assert_eq!(
        read(&d.join("state/stats.json")),
        "{\n  \"count\": 5,\n  \"events\": [\n    \"s4-a\",\n    \"s4-b\",\n    \"s7\"\n  ],\n  \"score\": 0.5\n}\n"
    );
    assert_eq!(
        read(&d.join("state/world/map.json")),
        "{\n  \"regions\": {\n    \"north\": {\n      \"owner\": \"s3\"\n    }\n  }\n}\n"
    );
    assert_eq!(read(&d.join("state/log.jsonl")), "{\"boot\":true}\n{\"s6\":1}\n{\"s6\":2}\n");
    // The checkout is consistent with the commit.
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    // Archived, mailbox empty.
    assert_eq!(t.archived_in(&t.dir).len(), 8);
    // One archive ref for the whole frame, none per delta.
    assert_eq!(t.branches("refs/neighbor/archive/"), ["refs/neighbor/archive/1/deltas"]);
    assert!(t.branches("refs/neighbor/applied/").is_empty());
    assert!(t.branches("refs/neighbor/deltas/").is_empty());
    // Idempotent.
    let again = t.neighbor(&["merge-frame", "--frame", "1", "--json"]).ok().json();
    assert_eq!(again["already_merged"], true);
    assert_eq!(t.frame_commits(&d, "HEAD", 1), 1);
    // Writing to a merged frame is refused.
    let o = t.delta(&d, &["--frame", "1", "--stream", "late"], r#"{"ops":[]}"#);
    assert_eq!(o.code, 3, "{}", o.stderr);
    // The next frame is the default.
    let o = t
        .delta(&d, &["--stream", "s1"], r#"{"ops":[{"op":"incr","path":"stats.json","pointer":"/count","value":1}]}"#)
        .ok();
    assert_eq!(o.stdout, "2/s1\n");
}

/// Concurrent writers to the same keys: deterministic stream order; no lost append or incr.
#[test]
fn concurrent_writers_same_keys_no_lost_update() {
    let t = TestRepo::new();
    let mut children = Vec::new();
    for i in 0..8 {
        use std::io::Write;
        let body = format!(
            r#"{{"ops":[{{"op":"incr","path":"counter.json","pointer":"/n","value":{}}},{{"op":"append","path":"counter.json","pointer":"/who","value":["w{i}"]}},{{"op":"set","path":"counter.json","pointer":"/last","value":"w{i}"}}]}}"#,
            i + 1
        );
        let mut c = t.cmd_in(&t.dir, &["delta", "write", "--frame", "1", "--stream", &format!("w{i}")]);
        let mut child = c
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        children.push(child);
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    t.neighbor(&["merge-frame"]).ok();
    let v: serde_json::Value = serde_json::from_str(&read(&t.dir.join("state/counter.json"))).unwrap();
    assert_eq!(v["n"], 36);
    assert_eq!(v["who"], serde_json::json!(["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]));
    assert_eq!(v["last"], "w7", "stream-name order: the last stream's set wins");
}

/// Bad deltas: refused at write time where possible; quarantined at merge time; nothing escapes.
#[test]
fn invalid_deltas_refused_then_quarantined() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let outside = t.root.join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, d.join("state/link")).unwrap();
    t.git(&["add", "state/link"]);
    t.git(&["commit", "-q", "-m", "a symlink in state"]);
    let bad = [
        ("malformed", "{\"ops\": [", "invalid delta"),
        ("dotdot", r#"{"ops":[{"op":"set","path":"../escape.json","pointer":"/x","value":1}]}"#, "'..'"),
        (
            "absolute",
            r#"{"ops":[{"op":"set","path":"/tmp/escape.json","pointer":"/x","value":1}]}"#,
            "must be relative",
        ),
        ("symlink", r#"{"ops":[{"op":"set","path":"link/evil.json","pointer":"/x","value":1}]}"#, "symlink"),
        ("unknown-op", r#"{"ops":[{"op":"delete","path":"a.json"}]}"#, "ops[0]"),
    ];
    for (name, body, needle) in bad {
        let o = t.delta(&d, &["--frame", "1", "--stream", name], body);
        assert_eq!(o.code, 1, "{name}: {}", o.stderr);
        assert!(o.stderr.contains(needle), "{name}: {}", o.stderr);
    }
    assert!(t.branches("refs/neighbor/deltas/").is_empty());

    // Smuggle the same deltas into the mailbox directly (as an old client or a remote could).
    for (name, body, _) in bad {
        let env = format!(
            r#"{{"frame":1,"stream":"{name}","status":"ok","written_at":"2026-01-01T00:00:00Z","writer":{{"tenant":null,"pid":1,"host":"x"}},"delta":{}}}"#,
            if name == "malformed" { "\"not an object\"".to_string() } else { body.to_string() }
        );
        let mut c = std::process::Command::new("git");
        t.env(&mut c);
        let mut child = c
            .args(["hash-object", "-w", "--stdin"])
            .current_dir(&d)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(env.as_bytes()).unwrap();
        let blob = String::from_utf8(child.wait_with_output().unwrap().stdout).unwrap();
        t.git(&["update-ref", &format!("refs/neighbor/deltas/1/{name}"), blob.trim()]);
    }
    // A failing JSON Patch test is only knowable at merge time.
    t.delta(&d, &["--frame", "1", "--stream", "patchtest"], r#"{"ops":[{"op":"set","path":"ok.json","pointer":"/x","value":1},{"op":"patch","path":"agents.json","value":[{"op":"test","path":"/agents","value":["nobody"]}]}]}"#).ok();
    t.delta(
        &d,
        &["--frame", "1", "--stream", "good"],
        r#"{"ops":[{"op":"set","path":"good.json","pointer":"/ok","value":true}]}"#,
    )
    .ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    let status = |s: &str| {
        r["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["stream"] == s)
            .map(|x| x["status"].as_str().unwrap().to_string())
            .unwrap()
    };
    for name in ["malformed", "dotdot", "absolute", "symlink", "unknown-op", "patchtest"] {
        assert_eq!(status(name), "quarantined", "{name}: {r}");
    }
    assert_eq!(status("good"), "applied");
    assert_eq!(t.branches("refs/neighbor/quarantine/1/").len(), 6);
    // Nothing outside the state dir, nothing through the link, and the failed patch's other op is gone too.
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());
    assert!(!t.root.join("escape.json").exists() && !d.join("escape.json").exists());
    assert!(!d.join("state/ok.json").exists());
    assert_eq!(t.git(&["diff", "--name-only", "HEAD~1", "HEAD"]), "state/good.json");
    // `delta list --quarantined` says why each one is there, in JSON and in the table.
    let q = t.neighbor(&["delta", "list", "--quarantined", "--json"]).ok().json();
    let reasons: Vec<(String, String)> = q
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["stream"].as_str().unwrap().to_string(), r["reason"].as_str().unwrap_or("").to_string()))
        .collect();
    assert_eq!(reasons.len(), 6, "{q}");
    for (stream, why) in &reasons {
        let expected = r["streams"].as_array().unwrap().iter().find(|x| x["stream"] == stream.as_str()).unwrap();
        assert_eq!(why.as_str(), expected["reason"].as_str().unwrap(), "{stream}");
    }
    let table = t.neighbor(&["delta", "list", "--quarantined"]).ok().stdout;
    assert!(table.lines().next().unwrap().ends_with("REASON"), "{table}");
}

/// A dirty state file in the checked-out target: exit 3 and nothing committed.
#[test]
fn dirty_target_state_refuses() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"agents.json","pointer":"/x","value":1}]}"#).ok();
    t.write("state/agents.json", "{\"hand\": \"edited\"}\n");
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("state/agents.json"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.branches("refs/neighbor/deltas/").len(), 1);
}

/// A state change that is only staged counts as dirty too: the frame would otherwise commit over it and
/// replace the index entry.
#[test]
fn a_staged_state_change_refuses_like_an_unstaged_one() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"agents.json","pointer":"/x","value":1}]}"#).ok();
    t.write("state/agents.json", "{\"staged\": true}\n");
    t.git(&["add", "state/agents.json"]);
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("state/agents.json"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.git(&["diff", "--cached", "--name-only"]), "state/agents.json");
}

/// merge-frame reads a state file from the target's checkout only when its bytes are the committed
/// blob. A checked-out file with other bytes that git is told not to look at (`--skip-worktree`, so the
/// dirty check passes) is not what the frame applies onto: the commit holds the committed bytes plus the
/// delta.
#[test]
fn a_checked_out_file_with_other_bytes_is_not_what_the_frame_applies_onto() {
    let t = TestRepo::new();
    t.write("state/agents.json", "{\"kept\": 1}\n");
    t.git(&["add", "state/agents.json"]);
    t.git(&["commit", "-qm", "state"]);
    t.git(&["update-index", "--skip-worktree", "state/agents.json"]);
    t.write("state/agents.json", "{\"smuggled\": true}\n");
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"agents.json","pointer":"/x","value":1}]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["streams"][0]["status"], "applied", "{r}");
    let committed: serde_json::Value = serde_json::from_str(&t.git(&["show", "HEAD:state/agents.json"])).unwrap();
    assert_eq!(committed, serde_json::json!({"kept": 1, "x": 1}));
}

/// A state file git keeps out of the checkout (`skip-worktree`, as a sparse checkout marks what it leaves
/// out) is not merge-frame's to write: its file stays as the user has it (or absent), and its index entry
/// follows the frame's commit with the flag kept. (It was staged as deleted, with the file written over:
/// the user's next commit deleted the state file.) The same after a crash past the commit point, where
/// the next run finishes the checkout.
#[test]
fn a_skip_worktree_state_file_is_left_out_of_the_checkout_and_follows_the_commit() {
    let t = TestRepo::new();
    t.write("state/agents.json", "{\"kept\": 1}\n");
    t.write("state/gone.json", "{\"kept\": 2}\n");
    t.git(&["add", "state"]);
    t.git(&["commit", "-qm", "state"]);
    t.git(&["update-index", "--skip-worktree", "state/agents.json", "state/gone.json"]);
    t.write("state/agents.json", "my own copy\n");
    std::fs::remove_file(t.dir.join("state/gone.json")).unwrap();
    let set = |frame: u64, file: &str| {
        let d = format!(r#"{{"ops":[{{"op":"set","path":"{file}","pointer":"/x","value":{frame}}}]}}"#);
        t.delta(&t.dir, &["--frame", &frame.to_string(), "--stream", "a"], &d).ok();
    };
    let check = |frame: u64| {
        assert_eq!(
            t.git_out(&t.dir, &["diff", "--cached", "--quiet"]).code,
            0,
            "frame {frame}: index differs from HEAD"
        );
        assert_eq!(t.git(&["ls-files", "-t", "--", "state"]), "S state/agents.json\nS state/gone.json");
        assert_eq!(t.git(&["status", "--porcelain", "--", "state"]), "");
        assert_eq!(read(&t.dir.join("state/agents.json")), "my own copy\n");
        assert!(!t.dir.join("state/gone.json").exists());
    };
    let both = r#"{"ops":[{"op":"set","path":"agents.json","pointer":"/x","value":1},{"op":"set","path":"gone.json","pointer":"/x","value":1}]}"#;
    t.delta(&t.dir, &["--frame", "1", "--stream", "a"], both).ok();
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    assert_eq!(t.git(&["show", "HEAD:state/agents.json"]), "{\n  \"kept\": 1,\n  \"x\": 1\n}");
    check(1);
    // Killed right after the commit point: the next run repairs the checkout the same way.
    set(2, "gone.json");
    let o = t
        .cmd_in(&t.dir, &["merge-frame", "--frame", "2"])
        .env("NEIGHBOR_FAILPOINT", "merge-frame.committed")
        .output()
        .unwrap();
    assert!(!o.status.success());
    t.neighbor(&["merge-frame", "--frame", "3"]).ok();
    assert_eq!(t.git(&["show", "HEAD:state/gone.json"]), "{\n  \"kept\": 2,\n  \"x\": 2\n}");
    check(2);
}

/// Someone commits to the target in its checkout while a frame is being merged, after the frame read
/// the target and before its commit point: the frame's compare-and-swap refuses, and merge-frame merges
/// the frame again onto the new tip. Both the commit and the frame are kept. (It exited 1 with git's
/// "cannot lock ref" and left the frame for a human.)
#[test]
fn a_commit_to_the_target_while_a_frame_merges_is_kept_and_the_frame_merged_onto_it() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[{"op":"incr","path":"n.json","pointer":"/n","value":1}]}"#).ok();
    let child = t.spawn_stopped_at(&["merge-frame", "--json"], "merge-frame.applied");
    t.write("notes.txt", "mine\n");
    t.git(&["add", "notes.txt"]);
    t.git(&["commit", "-q", "-m", "mine"]);
    resume(&child);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(t.git(&["log", "--format=%s", "-2"]), "neighbor: frame 1\nmine");
    assert_eq!(t.git(&["show", "HEAD:state/n.json"]), "{\n  \"n\": 1\n}");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(t.branches("refs/neighbor/deltas/").is_empty());
}

/// kill -9 at random points: old frame or the whole new one, never a partial file; re-run finishes once.
#[test]
fn kill_nine_during_merge_frame() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    for frame in 1..=12u64 {
        for s in 0..6 {
            let body = format!(
                r#"{{"ops":[{{"op":"append","path":"big.json","pointer":"/items","value":[{frame},{s}]}},{{"op":"incr","path":"count.json","pointer":"/n","value":1}}]}}"#
            );
            t.delta(&d, &["--frame", &frame.to_string(), "--stream", &format!("s{s}")], &body).ok();
        }
        let mut child = t.spawn(&["merge-frame", "--frame", &frame.to_string()]);
        std::thread::sleep(std::time::Duration::from_micros(frame * 1_700 % 25_000));
        let _ = child.kill();
        let _ = child.wait();
        // Whatever happened, every file in HEAD parses and the count matches the frames in history.
        let merged = t.frame_commits(&d, "HEAD", frame);
        assert!(merged <= 1);
        t.neighbor(&["merge-frame", "--frame", &frame.to_string()]).ok();
        assert_eq!(t.frame_commits(&d, "HEAD", frame), 1, "frame {frame} must be merged exactly once");
        let count: serde_json::Value = serde_json::from_str(&t.git(&["show", "HEAD:state/count.json"])).unwrap();
        assert_eq!(count["n"], frame * 6);
        assert_eq!(t.git(&["status", "--porcelain"]), "", "frame {frame}: checkout inconsistent");
        assert_eq!(read(&d.join("state/count.json")), t.git(&["show", "HEAD:state/count.json"]) + "\n");
    }
    assert!(t.branches("refs/neighbor/deltas/").is_empty());
}

/// Loose objects in `t`'s store (`git count-objects`).
fn loose_objects(t: &TestRepo) -> u64 {
    let v = t.git(&["count-objects", "-v"]);
    v.lines().find_map(|l| l.strip_prefix("count: ")).unwrap().parse().unwrap()
}

/// A frame that changes many files stores their blobs as one pack (one file created, not one per blob),
/// which git reads and verifies like its own; a frame of a few files stores them loose, as before.
#[test]
fn a_frame_that_changes_many_files_stores_their_blobs_in_one_pack() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--frame", "1", "--stream", "wide"], &wide_delta(120, 1)).ok();
    let loose = loose_objects(&t);
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    let packs = pack_indexes(&t, &t.dir);
    assert_eq!(packs.len(), 1, "{packs:?}");
    let listed = t.git(&["verify-pack", "-v", packs[0].to_str().unwrap()]);
    assert_eq!(listed.lines().filter(|l| l.contains(" blob ")).count(), 120, "{listed}");
    // The frame's trees, commit and archive are loose; none of its 120 blobs is.
    assert!(loose_objects(&t) - loose < 20, "{} loose objects before, {} after", loose, loose_objects(&t));
    check_objects(&t, &t.dir);
    check_checkout(&t, &t.dir);
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
    assert_eq!(read(&t.dir.join("state/wide/f119.json")), "{\n  \"n\": 1119\n}\n");
    // The next frame reads those blobs back from the pack (the checkout's copies are set aside).
    t.git(&["update-index", "--skip-worktree", "state/wide/f007.json"]);
    t.write("state/wide/f007.json", "not what was committed\n");
    t.delta(&t.dir, &["--frame", "2", "--stream", "wide"], &wide_delta(120, 2)).ok();
    t.delta(
        &t.dir,
        &["--frame", "2", "--stream", "zz"],
        r#"{"ops":[{"op":"incr","path":"wide/f007.json","pointer":"/n","value":5}]}"#,
    )
    .ok();
    t.neighbor(&["merge-frame", "--frame", "2"]).ok();
    assert_eq!(pack_indexes(&t, &t.dir).len(), 2);
    assert_eq!(t.git(&["show", "HEAD:state/wide/f007.json"]), "{\n  \"n\": 2012\n}");
    check_objects(&t, &t.dir);
    // A few files: loose objects, no new pack.
    t.delta(&t.dir, &["--frame", "3", "--stream", "wide"], &wide_delta(3, 3)).ok();
    t.neighbor(&["merge-frame", "--frame", "3"]).ok();
    assert_eq!(pack_indexes(&t, &t.dir).len(), 2);
    check_objects(&t, &t.dir);
}

/// A frame's pack is written by a second thread while the deltas are applied. When that thread fails
/// part-way (a panic at its 50th blob here), merge-frame fails with one line, commits nothing, leaves no
/// temporary pack and no pack without its index, and the next run merges the whole frame.
#[test]
fn a_frame_whose_pack_writer_fails_commits_nothing_and_merges_whole_on_the_next_run() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--frame", "1", "--stream", "wide"], &wide_delta(120, 1)).ok();
    let before = t.git(&["rev-parse", "HEAD"]);
    let packs = pack_indexes(&t, &t.dir);
    let mut c = t.cmd_in(&t.dir, &["merge-frame", "--frame", "1"]);
    c.env("NEIGHBOR_FAILPOINT", "merge-frame.blob-stored#50").env("NEIGHBOR_FAILPOINT_ACTION", "panic");
    let o = c.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("error: internal error: the thread storing the frame's blobs panicked"), "{stderr}");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
    assert_eq!(t.branches("refs/neighbor/deltas/"), vec!["refs/neighbor/deltas/1/wide".to_string()]);
    assert_eq!(pack_indexes(&t, &t.dir), packs);
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    assert_eq!(t.git(&["show", "HEAD:state/wide/f119.json"]), "{\n  \"n\": 1119\n}");
    assert_eq!(read(&t.dir.join("state/wide/f000.json")), "{\n  \"n\": 1000\n}\n");
    check_objects(&t, &t.dir);
    check_checkout(&t, &t.dir);
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
}

/// A machine out of threads (a fleet at its process limit): a frame that would store its pack on a second
/// thread fails with one line and a hint instead of a panic, commits nothing and leaves nothing; a small
/// frame, which needs no thread, merges; and the large one merges once threads can be had. (Each thread is
/// refused here by asking for a stack larger than the address space, `RUST_MIN_STACK`.)
#[test]
fn a_frame_that_cannot_start_its_threads_fails_cleanly_and_merges_later() {
    let t = TestRepo::new();
    let no_threads = |frame: &str| {
        let mut c = t.cmd_in(&t.dir, &["merge-frame", "--frame", frame]);
        c.env("RUST_MIN_STACK", (1u64 << 50).to_string());
        Out::from_output(c.output().unwrap())
    };
    t.delta(&t.dir, &["--frame", "1", "--stream", "wide"], &wide_delta(120, 1)).ok();
    let before = t.git(&["rev-parse", "HEAD"]);
    let packs = pack_indexes(&t, &t.dir);
    let o = no_threads("1");
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.starts_with("error: cannot start a thread to store the frame's blobs:"), "{}", o.stderr);
    assert!(o.stderr.contains("hint: nothing was committed"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
    assert_eq!(pack_indexes(&t, &t.dir), packs);
    assert!(temp_leftovers(&t, &t.dir).is_empty(), "{:?}", temp_leftovers(&t, &t.dir));
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    assert_eq!(t.git(&["show", "HEAD:state/wide/f119.json"]), "{\n  \"n\": 1119\n}");
    t.delta(&t.dir, &["--frame", "2", "--stream", "wide"], &wide_delta(3, 2)).ok();
    let o = no_threads("2");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.git(&["show", "HEAD:state/wide/f002.json"]), "{\n  \"n\": 2002\n}");
    check_objects(&t, &t.dir);
    check_checkout(&t, &t.dir);
}

/// A frame writes the state files and the index within a second, which git cannot tell apart (it compares
/// whole seconds): every later `git status` hashes those files again, until an index is written in a
/// later second. merge-frame's own check runs with `index.lock` held, so it never could: each frame
/// hashed the previous frame's files under the lock. A frame of 100 files or more now refreshes the index
/// first, as an ordinary `git status` would, before it locks and checks the target; a small frame does
/// not spend a second `git status` on it.
#[test]
fn the_next_frame_refreshes_an_index_the_last_frame_left_racy_before_it_locks_the_target() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--frame", "1", "--stream", "wide"], &wide_delta(120, 1)).ok();
    t.neighbor(&["merge-frame", "--frame", "1"]).ok();
    let index = t.dir.join(".git/index");
    let file = t.dir.join("state/wide/f000.json");
    // Racy, whatever second the frame ended in: the index as old as the file.
    let touched = std::process::Command::new("touch").arg("-r").arg(&file).arg(&index).status().unwrap();
    assert!(touched.success());
    let secs = |p: &std::path::Path| {
        let m = std::fs::metadata(p).unwrap().modified().unwrap();
        m.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
    };
    assert_eq!(secs(&index), secs(&file));
    t.delta(&t.dir, &["--frame", "2", "--stream", "wide"], &wide_delta(120, 2)).ok();
    // An index written from now on is written in a later second than the file.
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let child = t.spawn_stopped_at(&["merge-frame", "--frame", "2"], "merge-frame.index-locked");
    let refreshed = secs(&index) > secs(&file);
    resume(&child);
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(refreshed, "the index was not written again before merge-frame locked it");
    assert_eq!(t.git(&["show", "HEAD:state/wide/f000.json"]), "{\n  \"n\": 2000\n}");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    // The git calls: two statuses for a frame of 120 files, one for a frame of 3.
    let statuses = |frame: &str, files: usize| {
        t.delta(&t.dir, &["--frame", frame, "--stream", "wide"], &wide_delta(files, 3)).ok();
        let f = crate::faults::Faults::new(&t);
        let o = f.run(&t, &t.dir, &["merge-frame", "--frame", frame], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
        f.calls().iter().filter(|c| c.split_whitespace().any(|w| w == "status")).count()
    };
    assert_eq!(statuses("3", 120), 2);
    assert_eq!(statuses("4", 3), 1);
}

/// Two managers at once: one applies, the other says already merged.
#[test]
fn two_managers_race() {
    let t = TestRepo::new();
    for s in ["a", "b", "c"] {
        t.delta(&t.dir, &["--stream", s], r#"{"ops":[{"op":"incr","path":"n.json","pointer":"/n","value":1}]}"#).ok();
    }
    let a = t.spawn(&["merge-frame", "--frame", "1", "--json"]);
    let b = t.spawn(&["merge-frame", "--frame", "1", "--json"]);
    let outs: Vec<serde_json::Value> = [a, b]
        .into_iter()
        .map(|c| {
            let o = c.wait_with_output().unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            serde_json::from_slice(&o.stdout).unwrap()
        })
        .collect();
    let merged: Vec<bool> = outs.iter().map(|o| o["already_merged"].as_bool().unwrap()).collect();
    assert!(merged.contains(&true) && merged.contains(&false), "{outs:?}");
    assert_eq!(t.frame_commits(&t.dir, "HEAD", 1), 1);
    assert_eq!(read(&t.dir.join("state/n.json")), "{\n  \"n\": 3\n}\n");
}

/// A reducer program orders and applies the deltas; git-neighbor validates, commits and archives.
#[test]
fn reducer_applies_deltas() {
    let t = TestRepo::new();
    for s in ["a", "b"] {
        t.delta(&t.dir, &["--stream", s], &format!(r#"{{"ops":[],"meta":{{"says":"{s}"}}}}"#)).ok();
    }
    let script = t.root.join("reduce.sh");
    std::fs::write(&script, "#!/bin/sh\nwc -l | tr -d ' ' > \"$NEIGHBOR_STATE/seen.txt\"\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t.neighbor(&["merge-frame", "--reducer", script.to_str().unwrap()]).ok();
    assert_eq!(t.git(&["show", "HEAD:state/seen.txt"]), "2");
    assert_eq!(t.archived_in(&t.dir).iter().filter(|k| k.starts_with("1/")).count(), 2);
    // A reducer that fails commits nothing.
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[]}"#).ok();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame", "--reducer", "false"]);
    assert_eq!(o.code, 1);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
}

/// Two clones of a bare remote; workers in both push deltas; one manager merges with --push.
#[test]
fn across_clones_with_push() {
    let t = TestRepo::with_remote();
    let origin = t.root.join("origin.git");
    let other = t.root.join("other");
    t.git(&["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    for frame in 1..=3u64 {
        for (dir, s) in [(&t.dir, "east"), (&other, "west")] {
            let body =
                format!(r#"{{"ops":[{{"op":"append","path":"log.json","pointer":"/f{frame}","value":["{s}"]}}]}}"#);
            t.delta(dir, &["--frame", &frame.to_string(), "--stream", s], &body).ok();
            t.neighbor_in(dir, &["delta", "push"]).ok();
        }
        let r = t.neighbor(&["merge-frame", "--push", "--expect", "east,west", "--json"]).ok().json();
        assert_eq!(r["frame"], frame);
        assert_eq!(r["pushed"], "origin");
        let applied: Vec<&str> = r["streams"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["status"] == "applied")
            .map(|s| s["stream"].as_str().unwrap())
            .collect();
        assert_eq!(applied, ["east", "west"], "{r}");
    }
    // The remote: one commit per frame, no delta refs for merged frames, archives present.
    for frame in 1..=3 {
        assert_eq!(t.frame_commits(&origin, "main", frame), 1);
    }
    let refs = t.git_in(&origin, &["for-each-ref", "--format=%(refname)", "refs/neighbor/"]);
    assert!(!refs.contains("refs/neighbor/deltas/"), "{refs}");
    assert_eq!(t.archived_in(&origin).len(), 6);
    assert_eq!(refs.lines().filter(|l| l.starts_with("refs/neighbor/archive/")).count(), 3, "{refs}");
    let log = t.git_in(&origin, &["show", "main:state/log.json"]);
    let v: serde_json::Value = serde_json::from_str(&log).unwrap();
    assert_eq!(v["f3"], serde_json::json!(["east", "west"]));
    // The manager's checkout followed.
    assert_eq!(t.git(&["rev-parse", "HEAD"]), t.git_in(&origin, &["rev-parse", "main"]));
    // A worker pushing a late delta for a merged frame is told so.
    t.delta(&other, &["--frame", "1", "--stream", "late"], r#"{"ops":[]}"#).ok();
    let o = t.neighbor_in(&other, &["delta", "push"]).ok();
    assert!(o.stderr.contains("already merged"), "{}", o.stderr);
}

/// A frame whose blobs went into a pack, published with `--push`: the remote and a fresh clone of it hold
/// every object (git's own push reads them from the pack), and the manager's checkout follows.
#[test]
fn a_frame_written_as_a_pack_is_pushed_whole() {
    let t = TestRepo::with_remote();
    let origin = t.root.join("origin.git");
    t.delta(&t.dir, &["--frame", "1", "--stream", "wide"], &wide_delta(150, 1)).ok();
    t.neighbor_in(&t.dir, &["delta", "push"]).ok();
    let packs = pack_indexes(&t, &t.dir).len();
    let r = t.neighbor(&["merge-frame", "--push", "--json"]).ok().json();
    assert_eq!(r["pushed"], "origin", "{r}");
    assert_eq!(pack_indexes(&t, &t.dir).len(), packs + 1, "the frame's blobs were not packed");
    check_objects(&t, &origin);
    let copy = t.root.join("copy");
    t.git(&["clone", "-q", origin.to_str().unwrap(), copy.to_str().unwrap()]);
    check_objects(&t, &copy);
    assert_eq!(read(&copy.join("state/wide/f149.json")), "{\n  \"n\": 1149\n}\n");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), t.git_in(&origin, &["rev-parse", "main"]));
    check_checkout(&t, &t.dir);
}

/// merge-frame --push fast-forwards the manager's checkout to the remote's target; with `merge.autoStash`
/// on, git would stash a conflicting local edit, move, and leave conflict markers (exit 0). It must leave
/// the checkout behind instead, the edit untouched and nothing in the shared stash.
#[test]
fn following_the_remote_never_autostashes_a_local_edit() {
    let t = TestRepo::with_remote();
    let origin = t.root.join("origin.git");
    let other = t.root.join("other");
    t.git(&["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    write_in(&other, "README.md", "pushed by someone else\n");
    t.git_in(&other, &["commit", "-q", "-am", "upstream edit"]);
    t.git_in(&other, &["push", "-q", "origin", "main"]);
    t.git(&["config", "merge.autoStash", "true"]);
    t.write("README.md", "my uncommitted edit\n");
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame", "--push", "--json"]);
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "my uncommitted edit\n", "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head, "left behind, not moved over the edit");
    assert_eq!(t.git_out(&t.dir, &["rev-parse", "--verify", "-q", "refs/stash"]).code, 1, "nothing was stashed");
}

/// The remote's target moves between merge-frame's fetch and its push (a human pushed): the push is
/// refused by the lease, and merge-frame fetches, merges again on top and publishes, as documented.
#[test]
fn push_retries_when_the_remote_moved_between_fetch_and_push() {
    use crate::faults::Faults;
    let t = TestRepo::with_remote();
    let origin = t.root.join("origin.git");
    let human = t.root.join("human");
    t.git(&["clone", "-q", origin.to_str().unwrap(), human.to_str().unwrap()]);
    t.delta(
        &t.dir,
        &["--frame", "1", "--stream", "east"],
        r#"{"ops":[{"op":"set","path":"a.json","pointer":"/x","value":1}]}"#,
    )
    .ok();
    // The human's push happens right before merge-frame's first `git push`.
    crate::common::write_in(&human, "HUMAN.md", "human\n");
    let meddle =
        format!("cd '{}' && git add HUMAN.md && git commit -qm human && git push -q origin main", human.display());
    let f = Faults::new(&t);
    let o = crate::common::Out::from_output(
        f.cmd_meddling(&t, &t.dir, &["merge-frame", "--push", "--json"], "push", &meddle).output().unwrap(),
    );
    assert!(f.meddled(), "the human's push did not run");
    assert_eq!(o.code, 0, "merge-frame --push must retry when the remote moved:\n{}", o.stderr);
    // The remote holds the human's commit and, on top of it, exactly one frame commit with the delta.
    assert_eq!(t.git_in(&origin, &["log", "-1", "--format=%s", "main~1"]), "human");
    assert_eq!(t.frame_commits(&origin, "main", 1), 1);
    let a: serde_json::Value = serde_json::from_str(&t.git_in(&origin, &["show", "main:state/a.json"])).unwrap();
    assert_eq!(a["x"], 1);
    assert!(f.calls().iter().filter(|c| c.starts_with("push ")).count() >= 2, "{:?}", f.calls());
}

/// A frame is archived under one ref whatever its size; an archive an older version wrote (one ref per
/// delta) is still read, and an archive ref that is not a tree (made by hand, or pushed by someone
/// hostile) is ignored rather than fatal.
#[test]
fn archives_old_and_new_are_read_and_a_bad_one_is_ignored() {
    let t = TestRepo::new();
    t.delta(&t.dir, &["--frame", "1", "--stream", "a"], r#"{"ops":[]}"#).ok();
    t.delta(&t.dir, &["--frame", "1", "--stream", "b"], r#"{"ops":[]}"#).ok();
    t.neighbor(&["merge-frame"]).ok();
    assert_eq!(t.branches("refs/neighbor/archive/"), ["refs/neighbor/archive/1/deltas"]);
    // Frame 2, archived the old way by hand.
    t.delta(&t.dir, &["--frame", "2", "--stream", "old"], r#"{"ops":[]}"#).ok();
    let blob = t.git(&["rev-parse", "refs/neighbor/deltas/2/old"]);
    t.git(&["update-ref", "refs/neighbor/applied/2/old", &blob]);
    t.git(&["update-ref", "-d", "refs/neighbor/deltas/2/old"]);
    // Not a tree.
    t.git(&["update-ref", "refs/neighbor/archive/3/deltas", &blob]);
    let list = t.neighbor(&["delta", "list", "--applied", "--json"]).ok().json();
    let keys: Vec<String> = list
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| format!("{}/{}", r["frame"], r["stream"].as_str().unwrap_or("?")))
        .collect();
    assert_eq!(keys, ["1/a", "1/b", "2/old"]);
    for spec in ["1/a", "2/old"] {
        let shown = t.neighbor(&["delta", "show", spec]).ok().json();
        assert_eq!(format!("{}/{}", shown["frame"], shown["stream"].as_str().unwrap_or("?")), spec);
    }
}
