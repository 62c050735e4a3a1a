//! Shared helpers for the frame suites: smuggling objects and refs in as a remote or an old client could,
//! building hostile trees, and one invariant checker used after every crash and race.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::TestRepo;

/// `git ARGS` in `dir` with `input` on stdin; stdout trimmed.
pub fn git_stdin(t: &TestRepo, dir: &Path, args: &[&str], input: &[u8]) -> String {
    let mut c = Command::new("git");
    t.env(&mut c);
    let mut child = c
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

/// `delta write ARGS --file F` with `body` in F: for commands that may exit before reading stdin.
pub fn delta_file(t: &TestRepo, dir: &Path, args: &[&str], body: &str) -> crate::common::Out {
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let f = t.root.join(format!("delta-{}.json", N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)));
    std::fs::write(&f, body).unwrap();
    let mut all = vec!["delta", "write", "--file", f.to_str().unwrap()];
    all.extend_from_slice(args);
    t.neighbor_in(dir, &all)
}

/// Store a delta envelope at `refs/neighbor/deltas/<frame>/<stream>` without git-neighbor's checks.
pub fn smuggle(t: &TestRepo, dir: &Path, frame: &str, stream: &str, delta: &str) {
    let env = format!(
        r#"{{"frame":{frame},"stream":"{stream}","status":"ok","written_at":"2026-01-01T00:00:00Z","writer":{{"tenant":null,"pid":1,"host":"x"}},"delta":{delta}}}"#
    );
    let blob = git_stdin(t, dir, &["hash-object", "-w", "--stdin"], env.as_bytes());
    t.git_in(dir, &["update-ref", &format!("refs/neighbor/deltas/{frame}/{stream}"), &blob]);
}

/// A raw tree object from (mode, name, id) entries, written with `--literally` so that git does not
/// refuse names such as `..` (a remote's receive-pack does not fsck by default either).
pub fn raw_tree(t: &TestRepo, dir: &Path, entries: &[(&str, &[u8], &str)]) -> String {
    let mut sorted: Vec<&(&str, &[u8], &str)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.1.cmp(b.1));
    let mut bytes = Vec::new();
    for (mode, name, id) in sorted {
        bytes.extend_from_slice(mode.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(name);
        bytes.push(0);
        for i in 0..20 {
            bytes.push(u8::from_str_radix(&id[2 * i..2 * i + 2], 16).unwrap());
        }
    }
    git_stdin(t, dir, &["hash-object", "-t", "tree", "-w", "--literally", "--stdin"], &bytes)
}

pub fn blob(t: &TestRepo, dir: &Path, content: &str) -> String {
    git_stdin(t, dir, &["hash-object", "-w", "--stdin"], content.as_bytes())
}

/// A tree holding `leaf` (a blob) at the nested path `components`.
pub fn nested(t: &TestRepo, dir: &Path, components: &[&[u8]], leaf: &str) -> String {
    let (last, rest) = components.split_last().unwrap();
    let mut id = raw_tree(t, dir, &[("100644", last, leaf)]);
    for c in rest.iter().rev() {
        id = raw_tree(t, dir, &[("40000", c, &id)]);
    }
    id
}

/// A commit of `tree` on top of `parent`.
pub fn commit(t: &TestRepo, dir: &Path, tree: &str, parent: &str, msg: &str) -> String {
    t.git_in(dir, &["commit-tree", tree, "-p", parent, "-m", msg])
}

/// Files that git-neighbor may leave only while a command runs.
pub fn temp_leftovers(t: &TestRepo, dir: &Path) -> Vec<String> {
    let common = {
        let p = std::path::PathBuf::from(t.git_in(dir, &["rev-parse", "--git-common-dir"]));
        if p.is_absolute() { p } else { dir.join(p) }
    };
    let mut out = Vec::new();
    for d in [common.join("neighbor"), common.clone()] {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.contains(".tmp") || n == "merge-frame.journal" || n == "index.lock" {
                out.push(format!("{}/{n}", d.display()));
            }
        }
    }
    // A pack being written (`tmp_…`), one moved into place without its index, or our `.keep` on one.
    let packs = common.join("objects/pack");
    for e in std::fs::read_dir(&packs).into_iter().flatten().flatten() {
        let n = e.file_name().to_string_lossy().into_owned();
        let unindexed = n.strip_suffix(".pack").is_some_and(|stem| !packs.join(format!("{stem}.idx")).exists());
        let kept_by_us = n.ends_with(".keep")
            && std::fs::read_to_string(e.path()).is_ok_and(|t| t.starts_with("git-neighbor merge-frame"));
        if n.starts_with("tmp_") || unindexed || kept_by_us {
            out.push(format!("{}/{n}", packs.display()));
        }
    }
    out
}

/// A delta that sets `/n` to `n * 1000 + i` in each file `wide/f<i>.json` of `files` (so no two are alike).
pub fn wide_delta(files: usize, n: u64) -> String {
    let ops: Vec<String> = (0..files)
        .map(|i| format!(r#"{{"op":"set","path":"wide/f{i:03}.json","pointer":"/n","value":{}}}"#, n * 1000 + i as u64))
        .collect();
    format!(r#"{{"ops":[{}]}}"#, ops.join(","))
}

/// Every object reachable from every ref is there and well-formed, and every pack verifies.
pub fn check_objects(t: &TestRepo, dir: &Path) {
    let fsck = t.git_out(dir, &["fsck", "--strict", "--no-dangling"]);
    assert_eq!(fsck.code, 0, "git fsck: {}{}", fsck.stdout, fsck.stderr);
    assert_eq!(fsck.stderr.trim(), "", "git fsck warned");
    for idx in pack_indexes(t, dir) {
        let v = t.git_out(dir, &["verify-pack", idx.to_str().unwrap()]);
        assert_eq!(v.code, 0, "git verify-pack {}: {}", idx.display(), v.stderr);
    }
}

/// The pack indexes in `dir`'s object store.
pub fn pack_indexes(t: &TestRepo, dir: &Path) -> Vec<std::path::PathBuf> {
    let p = std::path::PathBuf::from(t.git_in(dir, &["rev-parse", "--git-path", "objects/pack"]));
    let p = if p.is_absolute() { p } else { dir.join(p) };
    let mut v: Vec<_> = std::fs::read_dir(&p)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    v.sort();
    v
}

/// What a `delta write` that exited 0 said it stored.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Accepted {
    pub frame: u64,
    pub stream: String,
}

impl Accepted {
    /// From `delta write`'s stdout (`<frame>/<stream>`).
    pub fn parse(stdout: &str) -> Self {
        let (f, s) = stdout.trim().split_once('/').unwrap_or_else(|| panic!("not frame/stream: {stdout:?}"));
        Accepted { frame: f.parse().unwrap(), stream: s.to_string() }
    }
}

/// Frames merged on `rev` (first parent), with the streams each commit names as applied.
pub fn merged_frames(t: &TestRepo, dir: &Path, rev: &str) -> BTreeMap<u64, Vec<Vec<String>>> {
    let log = t.git_in(dir, &["log", "--first-parent", "--format=%H%x00%B%x01", rev]);
    let mut out: BTreeMap<u64, Vec<Vec<String>>> = BTreeMap::new();
    for rec in log.split('\u{1}') {
        let Some((_, body)) = rec.split_once('\0') else { continue };
        let frame = body.lines().rev().find_map(|l| l.strip_prefix("Neighbor-Frame: ").and_then(|n| n.parse().ok()));
        if let Some(f) = frame {
            let streams = body
                .lines()
                .find_map(|l| l.strip_prefix("Neighbor-Streams: "))
                .map(|s| s.split(',').filter(|x| !x.is_empty()).map(String::from).collect())
                .unwrap_or_default();
            out.entry(f).or_default().push(streams);
        }
    }
    out
}

/// The invariants after any crash or race, checked with git itself:
/// - every frame merged on `rev` is merged by exactly one commit;
/// - every accepted delta is applied exactly once (named by its frame's commit, archived under
///   `applied/`, its line present once in `state/log.txt` on `rev`) or still pending in an unmerged frame;
/// - no delta waits in a merged frame.
///
/// Deltas in these suites are `append-lines` of `<frame>/<stream>` to `log.txt`.
pub fn check_accepted(t: &TestRepo, dir: &Path, rev: &str, accepted: &[Accepted]) {
    let frames = merged_frames(t, dir, rev);
    for (f, commits) in &frames {
        assert_eq!(commits.len(), 1, "frame {f} merged by {} commits", commits.len());
    }
    let log = t.git_out(dir, &["show", &format!("{rev}:state/log.txt")]).stdout;
    let mut lines: BTreeMap<&str, usize> = BTreeMap::new();
    for l in log.lines() {
        *lines.entry(l).or_default() += 1;
    }
    let refs = t.git_in(dir, &["for-each-ref", "--format=%(refname)", "refs/neighbor/"]);
    let refs: Vec<&str> = refs.lines().collect();
    let archived = t.archived_in(dir);
    for a in accepted {
        let key = format!("{}/{}", a.frame, a.stream);
        let pending = refs.contains(&format!("refs/neighbor/deltas/{key}").as_str());
        match frames.get(&a.frame) {
            Some(commits) => {
                assert!(!pending, "accepted delta {key} waits in merged frame {}", a.frame);
                assert!(
                    commits[0].contains(&a.stream),
                    "accepted delta {key} is not named by its frame's commit: {:?}",
                    commits[0]
                );
                assert!(archived.contains(&key), "{key} not archived");
                assert_eq!(
                    lines.get(key.as_str()).copied().unwrap_or(0),
                    1,
                    "{key} applied {:?} times",
                    lines.get(key.as_str())
                );
            }
            None => {
                assert!(pending, "accepted delta {key} is neither applied nor pending (refs: {refs:?})");
                assert_eq!(lines.get(key.as_str()), None, "{key} applied but its frame is not merged");
            }
        }
    }
    for r in &refs {
        if let Some(rest) = r.strip_prefix("refs/neighbor/deltas/") {
            let f: u64 = rest.split('/').next().unwrap().parse().unwrap();
            assert!(!frames.contains_key(&f), "{r} waits in merged frame {f}");
        }
    }
}

/// The checked-out target's files and index match its commit.
pub fn check_checkout(t: &TestRepo, dir: &Path) {
    assert_eq!(t.git_in(dir, &["status", "--porcelain", "--untracked-files=all", "--", "state"]), "");
    let staged = t.git_in(dir, &["diff", "--cached", "--name-status"]);
    assert_eq!(staged, "", "index differs from HEAD");
}

/// A delta that appends its own `<frame>/<stream>` line to `log.txt`.
pub fn log_delta(frame: u64, stream: &str) -> String {
    format!(r#"{{"ops":[{{"op":"append-lines","path":"log.txt","value":["{frame}/{stream}"]}}]}}"#)
}

/// A file's text, or a panic naming the file.
pub fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The index of the first git call (1-based) whose arguments contain every needle.
pub fn call_index(calls: &[String], needles: &[&str]) -> usize {
    calls
        .iter()
        .position(|c| needles.iter().all(|n| c.contains(n)))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("no call with {needles:?} in {calls:#?}"))
}
