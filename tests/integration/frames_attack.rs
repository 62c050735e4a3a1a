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
