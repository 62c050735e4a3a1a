//! What an attack on merge-frame found: files in the checkout git does not show (ignored ones) that a
//! frame would overwrite or need as a directory, delta paths that are git's own control files, a reducer
//! that leaves something other than a file, and quarantine or archive refs that were overwritten or could
//! not be created. Each is refused before the commit point, or kept, and no frame wedges the next one.

use crate::common::*;
use crate::frames_check::*;

/// The `git status`-clean checked-out target with `state/<ignored>` listed in `.gitignore`.
fn with_ignored(ignored: &str) -> TestRepo {
    let t = TestRepo::new();
    t.commit_file(".gitignore", &format!("state/{ignored}\n"), "ignore a local file");
    t
}

/// An ignored file at a path the frame creates (a local secret) is never overwritten: exit 3
/// naming it, nothing committed, the delta still waiting; once it is moved aside the frame merges.
#[test]
fn an_ignored_file_where_the_frame_writes_refuses_and_commits_nothing() {
    let t = with_ignored("local.json");
    let d = t.dir.clone();
    t.write("state/local.json", "{\"secret\":\"my-local-token\"}\n");
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"local.json","pointer":"/x","value":1}]}"#).ok();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("state/local.json"), "{}", o.stderr);
    assert!(o.stderr.contains("move it aside"), "{}", o.stderr);
    assert_eq!(read(&d.join("state/local.json")), "{\"secret\":\"my-local-token\"}\n");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.branches("refs/neighbor/deltas/1/").len(), 1);
    assert!(t.branches("refs/neighbor/archive/").is_empty());
    // A dry run says the same.
    assert_eq!(t.neighbor(&["merge-frame", "--dry-run"]).code, 3);
    std::fs::rename(d.join("state/local.json"), t.root.join("local.json.saved")).unwrap();
    t.neighbor(&["merge-frame"]).ok();
    assert_eq!(t.frame_commits(&d, "HEAD", 1), 1);
    check_checkout(&t, &d);
}

/// An ignored file where the frame needs a directory, and an ignored directory where it
/// writes a file, refuse before the commit point; the frames after them merge once the way is clear.
/// (Before: the frame was committed, writing its file failed with "File exists", and every later frame
/// failed the same way.)
#[test]
fn an_ignored_file_where_the_frame_needs_a_directory_refuses_and_commits_nothing() {
    let t = with_ignored("cache");
    let d = t.dir.clone();
    t.write("state/cache", "local cache\n");
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"cache/x.json","pointer":"/x","value":1}]}"#).ok();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("state/cache"), "{}", o.stderr);
    assert_eq!(read(&d.join("state/cache")), "local cache\n");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.git(&["status", "--porcelain"]), "");

    // An ignored directory where a frame writes a file: everything in it is named.
    std::fs::remove_file(d.join("state/cache")).unwrap();
    t.neighbor(&["merge-frame"]).ok();
    t.commit_file(".gitignore", "state/cache\nstate/dir.json\n", "ignore more");
    write_in(&d, "state/dir.json/keep.txt", "mine\n");
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"dir.json","pointer":"/x","value":1}]}"#).ok();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("state/dir.json/keep.txt"), "{}", o.stderr);
    assert_eq!(read(&d.join("state/dir.json/keep.txt")), "mine\n");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    std::fs::remove_dir_all(d.join("state/dir.json")).unwrap();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["frame"], 2);
    check_checkout(&t, &d);
}

/// `.gitattributes`, `.gitignore` and `.gitmodules` (any component, any case, any spelling
/// git folds onto them) are refused by `delta write` and quarantined by merge-frame; the good delta of
/// the frame merges and the next frames merge. (Before: `state/.gitattributes` saying
/// `*.json working-tree-encoding=UTF-16LE` made every later frame fail after its commit point.)
#[test]
fn git_control_files_are_refused_as_delta_paths_and_quarantined() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let paths = [
        ".gitattributes",
        ".GitAttributes",
        "sub/.gitattributes",
        ".gitignore",
        ".GITIGNORE",
        "x/.gitignore/y.json",
        ".gitmodules",
        ".g\u{200c}itattributes",
        "gitatt~1",
        "gitign~1",
    ];
    let mut smuggled = 0;
    for (i, p) in paths.iter().enumerate() {
        let body = serde_json::json!({"ops": [{"op": "append-lines", "path": p,
            "value": ["*.json working-tree-encoding=UTF-16LE"]}]});
        let o = t.delta(&d, &["--frame", "1", "--stream", &format!("w{i}")], &body.to_string());
        assert_eq!(o.code, 1, "delta path {p:?} accepted: {}{}", o.stdout, o.stderr);
        assert!(o.stderr.contains("invalid delta"), "{p:?}: {}", o.stderr);
        smuggle(&t, &d, "1", &format!("h{i}"), &body.to_string());
        smuggled += 1;
    }
    t.delta(
        &d,
        &["--frame", "1", "--stream", "good"],
        r#"{"ops":[{"op":"set","path":"a.json","pointer":"/n","value":1}]}"#,
    )
    .ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    for s in r["streams"].as_array().unwrap() {
        let want = if s["stream"] == "good" { "applied" } else { "quarantined" };
        assert_eq!(s["status"], want, "{s}");
    }
    assert_eq!(t.branches("refs/neighbor/quarantine/1/").len(), smuggled);
    assert_eq!(t.git(&["diff", "--name-only", "HEAD~1", "HEAD"]), "state/a.json");
    assert!(!d.join("state/.gitattributes").exists());
    for n in 2..4 {
        t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"incr","path":"a.json","pointer":"/n","value":1}]}"#).ok();
        let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
        assert_eq!(r["frame"], n);
    }
    assert_eq!(read(&d.join("state/a.json")), "{\n  \"n\": 3\n}\n");
    check_checkout(&t, &d);
}

/// A reducer that leaves a FIFO (or anything but a file or directory) is refused: the frame is
/// not merged, the locks are released (a writer gets in at once), nothing is committed. (Before:
/// merge-frame blocked for ever reading the FIFO, holding the building and mailbox locks.)
#[test]
fn a_reducer_that_leaves_a_fifo_is_refused_and_the_locks_released() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let reducer = t.root.join("reduce.sh");
    std::fs::write(&reducer, "#!/bin/sh\ncat >/dev/null\nmkfifo \"$NEIGHBOR_STATE/pipe\"\n").unwrap();
    std::fs::set_permissions(&reducer, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"a.json","pointer":"/x","value":1}]}"#).ok();
    let head = t.git(&["rev-parse", "HEAD"]);
    let mut child = t.spawn(&["merge-frame", "--reducer", reducer.to_str().unwrap()]);
    // A deadline, not a synchronisation: the run must end by itself.
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            panic!("merge-frame still blocked on the reducer's FIFO after a minute");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let o = Out::from_output(child.wait_with_output().unwrap());
    assert_eq!(status.code(), Some(1), "{}", o.stderr);
    assert!(o.stderr.contains("pipe"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.branches("refs/neighbor/deltas/1/").len(), 1);
    t.neighbor(&["--lock-timeout", "0s", "delta", "write", "--stream", "b", "--frame", "2", "--fallback"]).ok();
    assert!(temp_leftovers(&t, &d).is_empty(), "{:?}", temp_leftovers(&t, &d));
    t.neighbor(&["merge-frame"]).ok();
}

/// A second quarantined delta of the same frame and stream keeps the first (both are on a
/// quarantine ref), and a frame merged again after its commit left the target never overwrites the
/// first archive: it is refused before the commit point.
#[test]
fn quarantined_deltas_and_frame_archives_are_never_overwritten() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    t.commit_file("state/a.json", "{\"s\":\"str\"}\n", "a string");
    let bad = |work: &str| {
        format!(r#"{{"ops":[{{"op":"incr","path":"a.json","pointer":"/s","value":1}}],"meta":{{"work":"{work}"}}}}"#)
    };
    t.delta(&d, &["--stream", "a"], &bad("first")).ok();
    t.neighbor(&["merge-frame"]).ok();
    let first = t.git(&["rev-parse", "refs/neighbor/quarantine/1/a"]);
    t.delta(&d, &["--stream", "a"], &bad("second")).ok();
    t.neighbor(&["merge-frame"]).ok();
    let held: Vec<String> = t
        .git(&["for-each-ref", "--format=%(objectname)", "refs/neighbor/quarantine/1/"])
        .lines()
        .map(String::from)
        .collect();
    assert_eq!(held.len(), 2, "{held:?}");
    assert!(held.contains(&first), "the first quarantined delta is on no ref: {held:?}");
    assert!(t.branches("refs/neighbor/deltas/").is_empty());
    let q = t.neighbor(&["delta", "list", "--quarantined", "--json"]).ok().json();
    assert_eq!(q.as_array().unwrap().len(), 2, "{q}");
    for row in q.as_array().unwrap() {
        assert!(row["reason"].as_str().is_some_and(|r| !r.is_empty()), "{row}");
    }

    // Frame 1 merged, then the target rewound past it: merging frame 1 again must not replace its archive.
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"a.json","pointer":"/ok","value":1}]}"#).ok();
    t.neighbor(&["merge-frame"]).ok();
    let archive = t.git(&["rev-parse", "refs/neighbor/archive/1/deltas"]);
    t.git(&["reset", "-q", "--hard", "HEAD~1"]);
    t.delta(
        &d,
        &["--stream", "b", "--frame", "1"],
        r#"{"ops":[{"op":"set","path":"a.json","pointer":"/b","value":1}]}"#,
    )
    .ok();
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["merge-frame"]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("refs/neighbor/archive/1/deltas"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "refs/neighbor/archive/1/deltas"]), archive);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(t.branches("refs/neighbor/deltas/1/").len(), 1);
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

/// A nested mailbox ref (`deltas/1/x/y`, from a remote or an old client) is quarantined under a
/// name no stream's quarantine can clash with, and stream `x`'s own bad delta of the frame is quarantined
/// beside it while the good delta merges. A quarantine ref git cannot create never fails the frame: the
/// delta stays in the mailbox and the report says so.
#[test]
fn a_nested_mailbox_ref_never_wedges_the_quarantine() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    t.commit_file("state/a.json", "{\"s\":\"str\"}\n", "a string");
    let empty = git_stdin(&t, &d, &["hash-object", "-w", "--stdin"], b"{\"ops\":[]}");
    t.git(&["update-ref", "refs/neighbor/deltas/1/x/y", &empty]);
    t.neighbor(&["merge-frame"]).ok();
    assert!(t.branches("refs/neighbor/deltas/").is_empty());
    t.delta(&d, &["--stream", "x"], r#"{"ops":[{"op":"incr","path":"a.json","pointer":"/s","value":1}]}"#).ok();
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"a.json","pointer":"/ok","value":1}]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["frame"], 1, "{r}");
    assert_eq!(t.frame_commits(&d, "HEAD", 1), 1);
    assert_eq!(t.git(&["for-each-ref", "--format=%(objectname)", "refs/neighbor/quarantine/1/"]).lines().count(), 2);
    assert!(t.branches("refs/neighbor/deltas/").is_empty());

    // A quarantine that cannot be made at all (a ref where its directory must be, as a remote could leave):
    // the frame merges, the bad delta stays where it was and is reported.
    t.git(&["update-ref", "refs/neighbor/quarantine/2", &empty]);
    t.delta(&d, &["--stream", "x"], r#"{"ops":[{"op":"incr","path":"a.json","pointer":"/s","value":1}]}"#).ok();
    t.delta(&d, &["--stream", "a"], r#"{"ops":[{"op":"set","path":"a.json","pointer":"/ok","value":2}]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["frame"], 2, "{r}");
    assert_eq!(t.frame_commits(&d, "HEAD", 2), 1);
    assert_eq!(t.branches("refs/neighbor/deltas/2/").len(), 1, "the delta stays where it was");
    let notes = r["notes"].to_string();
    assert!(notes.contains("refs/neighbor/deltas/2/x"), "{r}");
    // A frame of only that delta and the blocked quarantine does not fail either.
    t.git(&["update-ref", "refs/neighbor/quarantine/3", &empty]);
    t.delta(&d, &["--stream", "x"], r#"{"ops":[{"op":"incr","path":"a.json","pointer":"/s","value":1}]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["frame"], 3, "{r}");
    assert!(r["notes"].to_string().contains("refs/neighbor/deltas/3/x"), "{r}");
    check_checkout(&t, &d);
}

/// A shared remote whose target was rewound past a merged frame (a force-push of `main` to before
/// it). Before: the frame's seal still said merged, so every writer's delta of that frame was reported
/// late and kept forever, and `merge-frame --push` found nothing to merge, tick after tick: the fleet
/// wedged with exit 0 everywhere. Now both refuse (exit 3) naming the rewind, keep every delta, and
/// work again once the frame's commit is back.
#[test]
fn a_remote_target_rewound_past_a_merged_frame_is_refused_not_a_silent_wedge() {
    let t = crate::frames_push_race::manager_setup();
    let origin = t.root.join("origin.git");
    let before = t.git_in(&origin, &["rev-parse", "main"]);
    t.neighbor(&["merge-frame", "--push"]).ok();
    let merged = t.git_in(&origin, &["rev-parse", "main"]);
    assert_eq!(t.frame_commits(&origin, "main", 1), 1);
    // Someone force-pushes main back to before frame 1.
    t.git_in(&origin, &["update-ref", "refs/heads/main", &before]);

    // A writer of frame 1 (the next frame by the target's history) pushes its delta: refused, kept.
    let w = t.root.join("w");
    t.git(&["clone", "-q", origin.to_str().unwrap(), w.to_str().unwrap()]);
    assert_eq!(t.delta(&w, &["--frame", "1", "--stream", "w"], &log_delta(1, "w")).code, 0);
    let o = t.neighbor_in(&w, &["delta", "push"]);
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("rewound past it"), "{}", o.stderr);
    assert!(o.stderr.contains("frame 1"), "{}", o.stderr);
    assert_eq!(
        t.git_in(&w, &["for-each-ref", "--format=%(refname)", "refs/neighbor/deltas/"]),
        "refs/neighbor/deltas/1/w"
    );
    assert_eq!(t.git_in(&origin, &["for-each-ref", "--format=%(refname)", "refs/neighbor/deltas/"]), "");

    // The manager refuses too, and commits nothing.
    let m = t.neighbor(&["merge-frame", "--push"]);
    assert_eq!(m.code, 3, "{}{}", m.stdout, m.stderr);
    assert!(m.stderr.contains("rewound past it"), "{}", m.stderr);
    assert_eq!(t.git_in(&origin, &["rev-parse", "main"]), before);

    // Restored: the writer's push goes through (its frame is merged: late, kept), nothing refused.
    t.git_in(&origin, &["update-ref", "refs/heads/main", &merged]);
    let o = t.neighbor_in(&w, &["delta", "push", "--json"]).ok();
    assert_eq!(o.json()["late"], serde_json::json!(["1/w"]), "{}", o.stdout);
    assert_eq!(
        t.git_in(&w, &["for-each-ref", "--format=%(refname)", "refs/neighbor/deltas/"]),
        "refs/neighbor/deltas/1/w"
    );
    let m = t.neighbor(&["merge-frame", "--push", "--json"]).ok();
    assert_eq!(m.json()["frame"], 2, "{}", m.stdout);
}
