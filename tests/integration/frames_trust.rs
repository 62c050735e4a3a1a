//! Hostile input to the frame machinery: every path spelling git refuses, tried as a delta path, as
//! `state.dir` and as a tree entry under `--reducer`; hostile config values. Nothing may be written under
//! a git dir or outside the repository, nothing may be reported applied and then dropped, and no frame
//! may wedge the next one.

use crate::common::*;
use crate::frames_check::*;
use std::path::Path;

/// Components git's own path checks refuse (with core.protectNTFS / core.protectHFS, git's defaults for
/// checkouts that may meet other systems), plus `.`/`..`.
const HOSTILE: &[&str] = &[
    ".git",
    ".GIT",
    ".Git",
    "git~1",
    "GIT~1",
    ".git.",
    ".git ",
    ".git. .",
    ".g\u{200c}it",
    "\u{feff}.git",
    ".git\u{200d}",
    ".gitmodules",
    ".GITMODULES",
    "gitmod~1",
    "..",
    ".",
];

fn config_sha(d: &Path) -> String {
    std::fs::read_to_string(d.join(".git/config")).unwrap()
}

/// No file anywhere under the state dir (or the repository root) is named with a hostile component.
fn no_hostile_on_disk(d: &Path) {
    fn walk(p: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if HOSTILE.contains(&name.as_str()) && name != ".git" {
                out.push(e.path().display().to_string());
            }
            if e.file_type().unwrap().is_dir() && name != ".git" {
                walk(&e.path(), out);
            }
        }
    }
    let mut found = Vec::new();
    walk(d, &mut found);
    assert!(found.is_empty(), "hostile names on disk: {found:?}");
    assert!(!d.join("state/.git").exists());
}

/// S1, L8: a hostile component anywhere in a delta path is refused by `delta write`; smuggled into the
/// mailbox it is quarantined; nothing is reported applied and dropped; the next frame merges.
/// (Before the fix: `.git/config` was accepted, reported applied, left out of the commit and written to
/// `state/.git/config`; `git~1/…` wedged every later frame.)
#[test]
fn hostile_delta_paths_are_refused_and_quarantined() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let before_config = config_sha(&d);
    let mut smuggled = Vec::new();
    for (i, c) in HOSTILE.iter().enumerate() {
        for (j, path) in [format!("{c}/config"), format!("sub/{c}/x.json"), format!("sub/{c}")].iter().enumerate() {
            let body = serde_json::json!({"ops": [{"op": "set", "path": path, "pointer": "/x", "value": 1}]});
            let o = t.delta(&d, &["--frame", "1", "--stream", &format!("w{i}-{j}")], &body.to_string());
            assert_eq!(o.code, 1, "delta path {path:?} accepted: {}{}", o.stdout, o.stderr);
            assert!(o.stderr.contains("invalid delta"), "{path:?}: {}", o.stderr);
            let name = format!("h{i}-{j}");
            smuggle(&t, &d, "1", &name, &body.to_string());
            smuggled.push(name);
        }
    }
    assert_eq!(t.branches("refs/neighbor/deltas/").len(), smuggled.len(), "write refused, nothing stored");
    t.delta(
        &d,
        &["--frame", "1", "--stream", "good"],
        r#"{"ops":[{"op":"set","path":"good.json","pointer":"/ok","value":true}]}"#,
    )
    .ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    for s in r["streams"].as_array().unwrap() {
        let name = s["stream"].as_str().unwrap();
        let want = if name == "good" { "applied" } else { "quarantined" };
        assert_eq!(s["status"], want, "{name}: {s}");
    }
    assert_eq!(t.branches("refs/neighbor/quarantine/1/").len(), smuggled.len());
    assert_eq!(t.git(&["diff", "--name-only", "HEAD~1", "HEAD"]), "state/good.json");
    assert_eq!(config_sha(&d), before_config);
    no_hostile_on_disk(&d);
    check_checkout(&t, &d);
    // No wedge: the next frame merges.
    t.delta(&d, &["--stream", "next"], r#"{"ops":[{"op":"set","path":"good.json","pointer":"/n","value":2}]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["frame"], 2);
    check_checkout(&t, &d);
}

/// S2: a committed `.neighbor.toml` naming a git-reserved or escaping `state.dir` is refused like a bad
/// flag, by every command, before anything is read or written; `-c` gets a usage error.
/// (Before the fix: `dir = ".git"` let a delta's `config` replace `.git/config`.)
#[test]
fn hostile_state_dir_is_a_config_error() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let before_config = config_sha(&d);
    let head = t.git(&["rev-parse", "HEAD"]);
    let abs = t.root.join("abs-state");
    let abs = abs.to_str().unwrap();
    let mut dirs: Vec<String> = HOSTILE.iter().map(|c| c.to_string()).collect();
    dirs.extend(HOSTILE.iter().map(|c| format!("a/{c}")));
    dirs.extend(["../outside", "a/../../outside", abs, "", "a//b"].iter().map(|s| s.to_string()));
    for dir in &dirs {
        let toml = format!("[state]\ndir = {}\n", serde_json::to_string(dir).unwrap());
        t.write(".neighbor.toml", &toml);
        let o = delta_file(
            &t,
            &d,
            &["--frame", "1", "--stream", "a"],
            r#"{"ops":[{"op":"set","path":"config","pointer":"/x","value":1}]}"#,
        );
        assert_eq!(o.code, 1, "state.dir {dir:?} accepted by delta write: {}", o.stderr);
        assert!(o.stderr.contains("state.dir"), "{dir:?}: {}", o.stderr);
        let o = t.neighbor(&["merge-frame"]);
        assert_eq!(o.code, 1, "state.dir {dir:?} accepted by merge-frame: {}", o.stderr);
        assert!(o.stderr.contains(".neighbor.toml:2"), "{dir:?}: names file and line: {}", o.stderr);
        std::fs::remove_file(d.join(".neighbor.toml")).unwrap();
        let o = t.neighbor(&["-c", &format!("state.dir={dir}"), "merge-frame"]);
        assert_eq!(o.code, 2, "-c state.dir={dir:?}: {}", o.stderr);
    }
    assert!(t.branches("refs/neighbor/").is_empty());
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    assert_eq!(config_sha(&d), before_config);
    assert!(!t.root.join("outside").exists() && !Path::new(abs).exists());
}

/// N5: a state dir reached through a symlinked ancestor (or itself a symlink) in the checkout: the
/// delta is refused at write time and merge-frame refuses the frame (exit 3) before committing,
/// writing nothing through the link. (Before: written outside the repository, then wedged.)
#[test]
fn state_dir_through_symlinked_ancestor_is_refused() {
    for (dir, link) in [("data/state", "data"), ("st", "st"), ("deep/er/state", "deep")] {
        let t = TestRepo::new();
        let d = t.dir.clone();
        let elsewhere = t.root.join("elsewhere");
        std::fs::create_dir_all(elsewhere.join("state")).unwrap();
        std::fs::create_dir_all(elsewhere.join("er/state")).unwrap();
        std::os::unix::fs::symlink(&elsewhere, d.join(link)).unwrap();
        t.write(".neighbor.toml", &format!("[state]\ndir = \"{dir}\"\n"));
        let body = r#"{"ops":[{"op":"set","path":"x.json","pointer":"/x","value":1}]}"#;
        let o = t.delta(&d, &["--frame", "1", "--stream", "a"], body);
        assert_eq!(o.code, 1, "{dir}: {}", o.stderr);
        assert!(o.stderr.contains("symlink"), "{dir}: {}", o.stderr);
        smuggle(&t, &d, "1", "a", body);
        let head = t.git(&["rev-parse", "HEAD"]);
        let o = t.neighbor(&["merge-frame"]);
        assert_eq!(o.code, 3, "{dir}: {}", o.stderr);
        assert!(o.stderr.contains("symlink"), "{dir}: {}", o.stderr);
        assert_eq!(t.git(&["rev-parse", "HEAD"]), head, "{dir}: committed");
        let mut found = Vec::new();
        for e in walkdir(&elsewhere) {
            if e.is_file() {
                found.push(e);
            }
        }
        assert!(found.is_empty(), "{dir}: written through the link: {found:?}");
        assert_eq!(t.branches("refs/neighbor/deltas/1/").len(), 1, "the delta still waits");
    }
}

fn walkdir(p: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
        let q = e.path();
        if q.is_dir() {
            out.extend(walkdir(&q));
        }
        out.push(q);
    }
    out
}

/// S3: a target whose tree holds hostile entries under the state dir (`..` chains, `.git` spellings,
/// symlinks): `merge-frame --reducer` refuses to materialise it and writes nothing anywhere.
/// (Before: `..` entries made it write outside the repository.)
#[test]
fn reducer_refuses_hostile_tree_entries() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let leaf = blob(&t, &d, "pwned\n");
    let base = t.git(&["rev-parse", "HEAD"]);
    let agents = t.git(&["rev-parse", "HEAD:state/agents.json"]);
    let readme = t.git(&["rev-parse", "HEAD:README.md"]);
    let reducer = t.root.join("reduce.sh");
    std::fs::write(&reducer, "#!/bin/sh\ncat >/dev/null\necho ran > \"$NEIGHBOR_STATE/ran.txt\"\n").unwrap();
    std::fs::set_permissions(&reducer, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let mut cases: Vec<(String, String)> = Vec::new();
    // ../../../../../escape.txt from state/ lands beside the repository.
    let dots: Vec<&[u8]> = vec![b"..", b"..", b"..", b"..", b"..", b"escape.txt"];
    cases.push(("dotdot".into(), nested(&t, &d, &dots, &leaf)));
    for c in HOSTILE.iter().filter(|c| **c != ".." && **c != ".") {
        cases.push((format!("{c:?}"), nested(&t, &d, &[c.as_bytes(), b"config"], &leaf)));
    }
    let link = raw_tree(&t, &d, &[("120000", b"lnk", &blob(&t, &d, "/etc"))]);
    cases.push(("symlink".into(), link));
    for (name, hostile) in cases {
        let state = raw_tree(&t, &d, &[("100644", b"agents.json", &agents), ("40000", b"sub", &hostile)]);
        let root = raw_tree(&t, &d, &[("100644", b"README.md", &readme), ("40000", b"state", &state)]);
        let c = commit(&t, &d, &root, &base, "hostile");
        t.git(&["update-ref", "refs/heads/frames", &c]);
        t.delta(&d, &["--frame", "1", "--stream", "a", "--replace"], r#"{"ops":[]}"#).ok();
        let o = t.neighbor(&["-c", "state.target=frames", "merge-frame", "--reducer", reducer.to_str().unwrap()]);
        assert_ne!(o.code, 0, "{name}: hostile tree materialised: {}", o.stderr);
        assert_eq!(t.git(&["rev-parse", "refs/heads/frames"]), c, "{name}: committed");
        assert!(!t.root.join("escape.txt").exists(), "{name}: wrote outside the repository");
        assert!(temp_leftovers(&t, &d).is_empty(), "{name}: {:?}", temp_leftovers(&t, &d));
        for e in walkdir(&t.root) {
            let n = e.file_name().unwrap().to_string_lossy().into_owned();
            assert!(n != "escape.txt" && n != "ran.txt", "{name}: wrote {}", e.display());
        }
    }
}

/// A target tree from anyone who can push, holding beside the state files a hostile name: merge-frame makes
/// the frame's tree in-process, and writing that directory back refuses exactly the names git refuses to
/// read into an index with this repository's settings (`.git` spellings and NTFS short names here; the
/// HFS-ignorable spellings only where `core.protectHFS` is on, as on macOS). When refused, nothing is
/// committed, the delta stays in the mailbox, and the refusal says what to do.
#[test]
fn a_hostile_name_beside_the_state_files_is_refused_and_nothing_is_committed() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let leaf = blob(&t, &d, "pwned\n");
    let base = t.git(&["rev-parse", "HEAD"]);
    let agents = t.git(&["rev-parse", "HEAD:state/agents.json"]);
    let readme = t.git(&["rev-parse", "HEAD:README.md"]);
    let mut refused = 0;
    for c in HOSTILE.iter().filter(|c| **c != ".." && **c != ".") {
        let state = raw_tree(&t, &d, &[("100644", b"agents.json", &agents), ("100644", c.as_bytes(), &leaf)]);
        let root = raw_tree(&t, &d, &[("100644", b"README.md", &readme), ("40000", b"state", &state)]);
        let hostile = commit(&t, &d, &root, &base, "hostile");
        t.git(&["update-ref", "refs/heads/frames", &hostile]);
        t.delta(
            &d,
            &["--frame", "1", "--stream", "a", "--replace"],
            r#"{"ops":[{"op":"set","path":"agents.json","pointer":"/x","value":1}]}"#,
        )
        .ok();
        let scratch = t.root.join("git-reads-it.index");
        let git_refuses =
            t.git_out(&d, &["read-tree", &format!("--index-output={}", scratch.display()), &hostile]).code != 0;
        let _ = std::fs::remove_file(&scratch);
        let o = t.neighbor(&["-c", "state.target=frames", "merge-frame"]);
        if !git_refuses {
            // git takes the name: so does the frame, which keeps it as the target had it.
            assert_eq!(o.code, 0, "{c:?}: {}", o.stderr);
            // The next name merges frame 1 again into a new `frames`: its archive goes with this one.
            t.git(&["update-ref", "-d", "refs/heads/frames"]);
            t.git(&["update-ref", "-d", "refs/neighbor/archive/1/deltas"]);
            continue;
        }
        assert_eq!(o.code, 1, "{c:?}: {}", o.stderr);
        assert_eq!(t.git(&["rev-parse", "refs/heads/frames"]), hostile, "{c:?}: committed");
        assert_eq!(o.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{c:?}: {}", o.stderr);
        assert!(o.stderr.contains("hint: ") && o.stderr.contains("repair the target branch"), "{c:?}: {}", o.stderr);
        assert!(
            !t.git(&["for-each-ref", "--format=%(refname)", "refs/neighbor/deltas/1/"]).is_empty(),
            "{c:?}: the delta left the mailbox"
        );
        refused += 1;
    }
    // The eight spellings of `.git` (case, NTFS short name, trailing dots and spaces) are refused everywhere;
    // `.gitmodules` is refused by git only as a symlink, and here it is a file.
    assert!(refused >= 8, "only {refused} hostile names were refused");
}

/// C5: list keys are validated like flags: `merge.expect` entries are stream names, so a committed config
/// cannot forge a `Neighbor-Frame:` trailer; no config string may carry control characters.
#[test]
fn config_list_keys_are_validated() {
    let t = TestRepo::new();
    let head = t.git(&["rev-parse", "HEAD"]);
    for (toml, key) in [
        ("[merge]\nexpect = [\"a\\nNeighbor-Frame: 999\"]\n", "merge.expect"),
        ("[merge]\nexpect = [\"ok\", \"-x\"]\n", "merge.expect"),
        ("[merge]\nexpect = [\"a/b\"]\n", "merge.expect"),
        ("[merge]\nexpect = [\"\"]\n", "merge.expect"),
        ("[state]\ncanonical = [\"state/**\\nx\"]\n", "state.canonical"),
        ("[worktrees]\ncarry = [\"a\\u0000b\"]\n", "worktrees.carry"),
        ("[state]\ntarget = \"main\\nNeighbor-Frame: 9\"\n", "state.target"),
        ("[state]\ntarget = \"a..b\"\n", "state.target"),
        ("[state]\ntarget = \"-x\"\n", "state.target"),
    ] {
        t.write(".neighbor.toml", toml);
        let o = t.neighbor(&["merge-frame"]);
        assert_eq!(o.code, 1, "{toml:?}: {}", o.stderr);
        assert!(o.stderr.contains(key), "{toml:?}: names the key: {}", o.stderr);
        assert!(o.stderr.contains(".neighbor.toml:2"), "{toml:?}: names the line: {}", o.stderr);
    }
    std::fs::remove_file(t.dir.join(".neighbor.toml")).unwrap();
    let o = t.neighbor(&["-c", "merge.expect=[\"a\\nNeighbor-Frame: 999\"]", "merge-frame"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // The next frame is still 1.
    t.delta(&t.dir, &["--stream", "a"], r#"{"ops":[]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["frame"], 1);
}

/// C5: nothing a delta or a ref name carries reaches the frame commit's message as a line of its own:
/// a forged `Neighbor-Frame:` line in a quarantine reason, or a stream name that would split the
/// `Neighbor-Streams:` trailer, cannot make a later frame count as merged.
#[test]
fn commit_message_carries_no_forged_lines() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    smuggle(&t, &d, "1", "evil", r#"{"ops":[{"op":"x\nNeighbor-Frame: 999","path":"a.json"}]}"#);
    smuggle(&t, &d, "1", "a,b", r#"{"ops":[]}"#);
    t.delta(&d, &["--frame", "1", "--stream", "good"], r#"{"ops":[]}"#).ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    let status =
        |s: &str| r["streams"].as_array().unwrap().iter().find(|x| x["stream"] == s).unwrap()["status"].clone();
    assert_eq!(status("evil"), "quarantined", "{r}");
    assert_eq!(status("a,b"), "quarantined", "{r}");
    assert_eq!(t.frame_commits(&d, "HEAD", 999), 0, "{}", t.git(&["log", "-1", "--format=%B"]));
    let msg = t.git(&["log", "-1", "--format=%B"]);
    assert!(msg.contains("Neighbor-Streams: good\n") || msg.ends_with("Neighbor-Streams: good"), "{msg}");
    t.delta(&d, &["--stream", "next"], r#"{"ops":[]}"#).ok();
    assert_eq!(t.neighbor(&["merge-frame", "--json"]).ok().json()["frame"], 2);
}

/// A mailbox ref that came from a remote pointing at a tree or a commit, not a delta's blob: quarantined
/// saying what it points at, the good delta beside it merges, and `delta show` says the same.
#[test]
fn a_delta_ref_pointing_at_a_tree_or_commit_is_quarantined_as_not_a_blob() {
    let t = TestRepo::new();
    let d = t.dir.clone();
    let tree = t.git(&["rev-parse", "HEAD^{tree}"]);
    let commit = t.git(&["rev-parse", "HEAD"]);
    t.git(&["update-ref", "refs/neighbor/deltas/1/as-tree", &tree]);
    t.git(&["update-ref", "refs/neighbor/deltas/1/as-commit", &commit]);
    let shown = t.neighbor(&["delta", "show", "1/as-tree"]);
    assert_eq!(shown.code, 1, "{}{}", shown.stdout, shown.stderr);
    assert!(
        shown.stderr.contains("refs/neighbor/deltas/1/as-tree: ") && shown.stderr.contains("is a tree, not a blob")
    );
    assert!(shown.stderr.contains("git neighbor delta drop 1/as-tree"), "{}", shown.stderr);
    t.delta(
        &d,
        &["--frame", "1", "--stream", "good"],
        r#"{"ops":[{"op":"set","path":"g.json","pointer":"/ok","value":1}]}"#,
    )
    .ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    for s in r["streams"].as_array().unwrap() {
        match s["stream"].as_str().unwrap() {
            "good" => assert_eq!(s["status"], "applied", "{s}"),
            "as-tree" => assert!(s["reason"].as_str().unwrap().contains("is a tree, not a blob"), "{s}"),
            "as-commit" => assert!(s["reason"].as_str().unwrap().contains("is a commit, not a blob"), "{s}"),
            other => panic!("unexpected stream {other}: {s}"),
        }
    }
    assert_eq!(t.branches("refs/neighbor/quarantine/1/").len(), 2);
    check_checkout(&t, &d);
}
