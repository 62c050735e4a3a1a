//! Crash injection for the frame commands: `kill -9` just before and just after every git call that
//! `delta write`, `merge-frame` (local, `--push`, `--reducer`), `delta push` and `delta fetch` make
//! (enumerated from a clean run, never guessed), then the ordinary next step (rerun), then the
//! invariants checked with git: every accepted delta applied exactly once or pending, one commit per
//! frame, the checked-out target's files and index equal to its commit, no temp file left.
//!
//! Bounded by default (CI): every call is a kill point, alternating before/after. `NEIGHBOR_LONG=1`
//! kills both before and after every call.

use crate::common::*;
use crate::faults::*;
use crate::frames_check::*;
use std::path::Path;

fn long() -> bool {
    std::env::var("NEIGHBOR_LONG").is_ok_and(|v| v == "1")
}

/// The kill points to try for a command that makes `n` git calls.
fn points(n: usize) -> Vec<(usize, When)> {
    let mut v = Vec::new();
    for k in 1..=n {
        if long() || k % 2 == 1 {
            v.push((k, When::Before));
        }
        if long() || k % 2 == 0 || k == n {
            v.push((k, When::After));
        }
    }
    v
}

const STREAMS: &[&str] = &["a", "b", "c"];

/// A fresh copy of `template` (its repositories copied file by file, remotes re-pointed at the copy's
/// bare repository): the same starting state for every kill point, for a fraction of building it.
fn copy_of(template: &TestRepo) -> TestRepo {
    let mut t = TestRepo::empty();
    for e in std::fs::read_dir(&template.root).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name == "home" || name.starts_with("faults-") {
            continue;
        }
        let st = std::process::Command::new("cp").arg("-a").arg(e.path()).arg(t.root.join(&name)).status().unwrap();
        assert!(st.success());
    }
    t.dir = t.root.join(template.dir.strip_prefix(&template.root).unwrap());
    let origin = t.root.join("origin.git");
    if origin.exists() {
        for e in std::fs::read_dir(&t.root).unwrap().flatten() {
            if e.path().join(".git").exists() && t.git_in(&e.path(), &["remote"]).lines().any(|r| r == "origin") {
                t.git_in(&e.path(), &["remote", "set-url", "origin", origin.to_str().unwrap()]);
            }
        }
    }
    t
}

/// A repository whose state has `log.txt`, with frame 1's deltas from every stream waiting.
fn local_setup() -> TestRepo {
    let t = TestRepo::new();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    for s in STREAMS {
        t.delta(&t.dir, &["--frame", "1", "--stream", s], &log_delta(1, s)).ok();
    }
    t
}

fn accepted_all(frame: u64) -> Vec<Accepted> {
    STREAMS.iter().map(|s| Accepted { frame, stream: s.to_string() }).collect()
}

/// Between the kill and the rerun: the old frame or the whole new one, never a partial one.
fn old_or_whole(t: &TestRepo, dir: &Path, rev: &str) {
    let frames = merged_frames(t, dir, rev);
    match frames.get(&1) {
        None => {}
        Some(c) => {
            assert_eq!(c.len(), 1);
            let log = t.git_in(dir, &["show", &format!("{rev}:state/log.txt")]);
            assert_eq!(log.lines().count(), STREAMS.len(), "partial frame: {log:?}");
        }
    }
}

/// Run `args` killed at every point on a fresh `setup()`, then `after` (the rerun and the checks).
/// Returns the number of kill points that hit.
fn sweep(
    setup: fn() -> TestRepo,
    dir_of: fn(&TestRepo) -> std::path::PathBuf,
    args: &[&str],
    after: impl Fn(&TestRepo, &Faults),
) -> usize {
    let template = setup();
    let n = {
        let t = copy_of(&template);
        let f = Faults::new(&t);
        f.run(&t, &dir_of(&t), args, None).ok();
        f.calls().len()
    };
    assert!(n > 0, "{args:?} makes no git call");
    let mut hit = 0;
    for (k, when) in points(n) {
        let t = copy_of(&template);
        let f = Faults::new(&t);
        let o = f.run(&t, &dir_of(&t), args, Some((k, when)));
        assert!(killed(&o) || o.code == 0, "{args:?} at {k} {when:?}: {}", o.stderr);
        if killed(&o) {
            hit += 1;
        }
        let at = f.killed_at().unwrap_or_default();
        let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| after(&t, &f)));
        if let Err(e) = res {
            panic!("{args:?} killed at {k} {when:?} ({at}): invariant broken: {:?}", e.downcast_ref::<String>());
        }
    }
    eprintln!("crash sweep {args:?}: {n} git calls, {hit} kill points hit");
    hit
}

fn here(t: &TestRepo) -> std::path::PathBuf {
    t.dir.clone()
}

fn finish_local(t: &TestRepo) {
    old_or_whole(t, &t.dir, "main");
    t.neighbor(&["merge-frame"]).ok();
    check_accepted(t, &t.dir, "main", &accepted_all(1));
    check_checkout(t, &t.dir);
    assert!(temp_leftovers(t, &t.dir).is_empty(), "{:?}", temp_leftovers(t, &t.dir));
}

#[test]
fn crash_merge_frame_local() {
    sweep(local_setup, here, &["merge-frame"], |t, _| finish_local(t));
}

const REDUCER: &str = "#!/bin/sh\nsed -n 's/^{\"frame\":\\([0-9]*\\),\"stream\":\"\\([^\"]*\\)\".*/\\1\\/\\2/p' >> \"$NEIGHBOR_STATE/log.txt\"\n";

fn reducer_setup() -> TestRepo {
    let t = local_setup();
    let script = t.root.join("reduce.sh");
    std::fs::write(&script, REDUCER).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    t
}

#[test]
fn crash_merge_frame_reducer() {
    // The reducer's path is under the per-test root, so the args are built per run.
    let template = reducer_setup();
    let n = {
        let t = copy_of(&template);
        let f = Faults::new(&t);
        let script = t.root.join("reduce.sh");
        f.run(&t, &t.dir, &["merge-frame", "--reducer", script.to_str().unwrap()], None).ok();
        check_accepted(&t, &t.dir, "main", &accepted_all(1));
        f.calls().len()
    };
    let mut hit = 0;
    for (k, when) in points(n) {
        let t = copy_of(&template);
        let f = Faults::new(&t);
        let script = t.root.join("reduce.sh");
        let args = ["merge-frame", "--reducer", script.to_str().unwrap()];
        let o = f.run(&t, &t.dir, &args, Some((k, when)));
        assert!(killed(&o) || o.code == 0, "{k} {when:?}: {}", o.stderr);
        hit += usize::from(killed(&o));
        old_or_whole(&t, &t.dir, "main");
        t.neighbor(&args).ok();
        check_accepted(&t, &t.dir, "main", &accepted_all(1));
        check_checkout(&t, &t.dir);
        assert!(temp_leftovers(&t, &t.dir).is_empty(), "{k} {when:?}: {:?}", temp_leftovers(&t, &t.dir));
    }
    eprintln!("crash sweep merge-frame --reducer: {n} git calls, {hit} kill points hit");
}

/// A bare remote and a manager clone; frame 1's deltas written in a worker clone and pushed.
fn remote_setup() -> TestRepo {
    let t = TestRepo::with_remote();
    t.write("state/log.txt", "");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "log"]);
    t.git(&["push", "-q", "origin", "main"]);
    let worker = t.root.join("worker");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), worker.to_str().unwrap()]);
    for s in STREAMS {
        t.delta(&worker, &["--frame", "1", "--stream", s], &log_delta(1, s)).ok();
    }
    t
}

fn finish_remote(t: &TestRepo) {
    let origin = t.root.join("origin.git");
    old_or_whole(t, &origin, "main");
    let worker = t.root.join("worker");
    t.neighbor_in(&worker, &["delta", "push"]).ok();
    t.neighbor(&["merge-frame", "--push"]).ok();
    check_accepted(t, &origin, "main", &accepted_all(1));
    check_checkout(t, &t.dir);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), t.git_in(&origin, &["rev-parse", "main"]));
    assert!(temp_leftovers(t, &t.dir).is_empty(), "{:?}", temp_leftovers(t, &t.dir));
}

fn pushed_setup() -> TestRepo {
    let t = remote_setup();
    t.neighbor_in(&t.root.join("worker"), &["delta", "push"]).ok();
    t
}

#[test]
fn crash_merge_frame_push() {
    sweep(pushed_setup, here, &["merge-frame", "--push"], |t, _| finish_remote(t));
}

#[test]
fn crash_delta_push() {
    sweep(remote_setup, |t| t.root.join("worker"), &["delta", "push"], |t, _| finish_remote(t));
}

#[test]
fn crash_delta_fetch() {
    sweep(pushed_setup, here, &["delta", "fetch"], |t, _| {
        t.neighbor(&["delta", "fetch"]).ok();
        finish_remote(t);
    });
}

/// `delta write` makes no git call at all (it checks and stores in-process, through gix), so the git
/// shim has nothing to kill; its crash points are the named fail points in
/// [`crash_at_in_process_fail_points`]. This keeps that premise checked.
#[test]
fn delta_write_makes_no_git_call() {
    let t = local_setup();
    let f = Faults::new(&t);
    let body = t.root.join("d.json");
    std::fs::write(&body, log_delta(1, "late")).unwrap();
    f.run(&t, &t.dir, &["delta", "write", "--frame", "1", "--stream", "late", "--file", body.to_str().unwrap()], None)
        .ok();
    assert_eq!(f.calls(), Vec::<String>::new());
}

/// The fail points a command passes on a clean run (`NEIGHBOR_FAILPOINT_TRACE`), in order, once each.
fn failpoints(t: &TestRepo, dir: &Path, args: &[&str]) -> Vec<String> {
    let trace = t.root.join("failpoints.trace");
    let o = t.cmd_in(dir, args).env("NEIGHBOR_FAILPOINT_TRACE", &trace).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let mut seen: Vec<String> = Vec::new();
    for l in std::fs::read_to_string(&trace).unwrap_or_default().lines() {
        if !seen.iter().any(|s| s == l) {
            seen.push(l.to_string());
        }
    }
    seen
}

/// Run `args` killed (SIGKILL) at the named in-process point.
fn run_killed_at(t: &TestRepo, dir: &Path, args: &[&str], point: &str) -> Out {
    let o = t.cmd_in(dir, args).env("NEIGHBOR_FAILPOINT", point).output().unwrap();
    Out::from_output(o)
}

/// The in-process effects (a ref written by gix, the journal, files and the index renamed into place)
/// have named fail points; kill at each one `delta write` and `merge-frame` pass, rerun, check.
#[test]
fn crash_at_in_process_fail_points() {
    let body = |t: &TestRepo| {
        let f = t.root.join("late.json");
        std::fs::write(&f, log_delta(1, "late")).unwrap();
        f
    };
    // delta write
    let names = {
        let t = local_setup();
        let f = body(&t);
        failpoints(&t, &t.dir, &["delta", "write", "--frame", "1", "--stream", "late", "--file", f.to_str().unwrap()])
    };
    assert!(names.len() >= 2, "{names:?}");
    for name in &names {
        let t = local_setup();
        let f = body(&t);
        let args = ["delta", "write", "--frame", "1", "--stream", "late", "--file", f.to_str().unwrap()];
        let o = run_killed_at(&t, &t.dir, &args, name);
        assert!(killed(&o), "{name}: {}", o.stderr);
        let again = t.neighbor(&args);
        assert!(again.code == 0 || again.code == 3, "{name}: {}", again.stderr);
        finish_local_with(&t, &["late"]);
    }
    // merge-frame
    let mnames = {
        let t = local_setup();
        failpoints(&t, &t.dir, &["merge-frame"])
    };
    assert!(mnames.len() >= 5, "{mnames:?}");
    for name in &mnames {
        let t = local_setup();
        let o = run_killed_at(&t, &t.dir, &["merge-frame"], name);
        assert!(killed(&o), "{name}: {}", o.stderr);
        old_or_whole(&t, &t.dir, "main");
        finish_local(&t);
    }
    eprintln!("fail points: delta write {names:?}; merge-frame {mnames:?}");
}

fn finish_local_with(t: &TestRepo, extra: &[&str]) {
    t.neighbor(&["merge-frame"]).ok();
    let mut acc = accepted_all(1);
    acc.extend(extra.iter().map(|s| Accepted { frame: 1, stream: s.to_string() }));
    check_accepted(t, &t.dir, "main", &acc);
    check_checkout(t, &t.dir);
    assert!(temp_leftovers(t, &t.dir).is_empty(), "{:?}", temp_leftovers(t, &t.dir));
}

/// A frame that changes many files writes its blobs as one pack: killed at each fail point of that
/// (pack and index written, pack renamed without its index, all stored), while its side `git status`
/// runs, and while its files are written into the checkout by two threads (at the first, the 60th, after
/// the last), then run again, the frame is merged once, the store verifies, and no temporary file or pack
/// without its index is left.
#[test]
fn crash_while_a_frame_writes_its_pack() {
    let setup = || {
        let t = local_setup();
        t.delta(&t.dir, &["--frame", "1", "--stream", "wide"], &wide_delta(120, 1)).ok();
        t
    };
    let names: Vec<String> = {
        let t = setup();
        failpoints(&t, &t.dir, &["merge-frame"])
    };
    for want in ["pack.written", "pack.pack-renamed", "merge-frame.blobs-stored"] {
        assert!(names.iter().any(|n| n == want), "{want} not passed: {names:?}");
    }
    let writing = [
        "merge-frame.refresh-started",
        "merge-frame.file-written#1",
        "merge-frame.file-written#60",
        "merge-frame.files-written",
    ];
    for name in names.iter().map(String::as_str).filter(|n| n.starts_with("pack.") || n.contains("blob")).chain(writing)
    {
        let t = setup();
        let o = run_killed_at(&t, &t.dir, &["merge-frame"], name);
        assert!(killed(&o), "{name}: {}", o.stderr);
        old_or_whole(&t, &t.dir, "main");
        // A delta that comes in before the rerun: the rerun's pack differs from the one killed.
        let late = t.delta(&t.dir, &["--frame", "1", "--stream", "late"], &log_delta(1, "late"));
        // A writer that is still running (this test's own pid) keeps its temporary file.
        let packs = std::path::PathBuf::from(t.git(&["rev-parse", "--git-path", "objects/pack"]));
        let live = t.dir.join(packs).join(format!("tmp_neighbor_{}_pack_live", std::process::id()));
        std::fs::write(&live, "").unwrap();
        t.neighbor(&["merge-frame"]).ok();
        assert!(live.exists(), "{name}: a running writer's temporary pack was swept");
        std::fs::remove_file(&live).unwrap();
        let mut acc = accepted_all(1);
        if late.code == 0 {
            acc.push(Accepted { frame: 1, stream: "late".into() });
        }
        check_accepted(&t, &t.dir, "main", &acc);
        let frames = merged_frames(&t, &t.dir, "main");
        assert!(frames[&1][0].iter().any(|s| s == "wide"), "{name}: {frames:?}");
        assert_eq!(t.git(&["show", "main:state/wide/f119.json"]), "{\n  \"n\": 1119\n}");
        check_checkout(&t, &t.dir);
        check_objects(&t, &t.dir);
        assert!(temp_leftovers(&t, &t.dir).is_empty(), "{name}: {:?}", temp_leftovers(&t, &t.dir));
    }
}
