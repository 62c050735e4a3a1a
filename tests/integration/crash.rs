//! Crash injection: every command that removes, rescues or lands is killed (`kill -9`) just before and
//! just after each git call it makes, on a fresh building each time; then `prune` repairs, and the
//! invariant checker (`invariants.rs`) must find nothing lost, nothing half-written and nothing left over;
//! then the command is run again (it must finish, refuse or say it is done, never crash) and the checker
//! runs once more.
//!
//! Bounded by default (every kill point of add, remove, remove --force and rescue restore; every second
//! one of prune, doctor --fix and pool release; every third of run and land); `NEIGHBOR_LONG=1` kills
//! at every point of every command.

use crate::common::*;
use crate::faults::{Faults, When, killed};
use crate::invariants::{self, Opts};
use std::path::PathBuf;
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var("NEIGHBOR_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Wait (bounded) until no lease is held: helper processes of a killed command let go when they exit.
fn wait_leases(t: &TestRepo) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(15) {
        let rows = t.neighbor(&["list", "--json"]).json();
        if rows.as_array().into_iter().flatten().all(|r| r["lease"].is_null()) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn commit_in(t: &TestRepo, p: &std::path::Path, file: &str, msg: &str) {
    write_in(p, file, &format!("{msg}\n"));
    t.git_in(p, &["add", file]);
    t.git_in(p, &["commit", "-q", "-m", msg]);
}

/// A building with a tenant `w` holding a commit, a staged file, a modified one and an untracked one.
fn with_work() -> TestRepo {
    let t = TestRepo::new();
    let p = t.add("w", &[]);
    commit_in(&t, &p, "done.txt", "committed work");
    write_in(&p, "staged.txt", "staged\n");
    t.git_in(&p, &["add", "staged.txt"]);
    write_in(&p, "staged.txt", "staged then edited\n");
    write_in(&p, "README.md", "edited\n");
    write_in(&p, "new.txt", "untracked\n");
    t
}

/// Run `args` killed at every chosen point; return (kill points, violations).
fn enumerate(
    what: &str,
    setup: impl Fn() -> TestRepo,
    args: &[&str],
    repair: &[&str],
    stride: usize,
) -> (usize, Vec<String>) {
    let n = {
        let t = setup();
        let f = Faults::new(&t);
        let o = f.run(&t, &t.dir, args, None);
        assert_eq!(o.code, 0, "{what}: clean run failed: {}", o.stderr);
        f.calls().len()
    };
    assert!(n > 0, "{what}: no git calls seen");
    let stride = if long() { 1 } else { stride.max(1) };
    let mut points = 0;
    let mut bad = Vec::new();
    for k in (1..=n).step_by(stride) {
        for when in [When::Before, When::After] {
            let t = setup();
            let before = invariants::capture(&t);
            let f = Faults::new(&t);
            let o = f.run(&t, &t.dir, args, Some((k, when)));
            points += 1;
            let at = f.killed_at().unwrap_or_else(|| format!("not killed (exit {}): {}", o.code, o.stderr.trim()));
            if !killed(&o) && o.code != 0 && f.killed_at().is_none() {
                bad.push(format!("{what} {k} {when:?}: failed without a kill: {}", o.stderr.trim()));
            }
            wait_leases(&t);
            for cmd in [repair, &["prune"][..]] {
                let p = t.neighbor(cmd);
                if p.code != 0 {
                    bad.push(format!("{what} {k} {when:?} [{at}]: {cmd:?} failed: {}", p.stderr.trim()));
                }
            }
            let opts = Opts { after_prune: true, allow_kept_branches: false };
            for v in invariants::violations(&t, &before, opts) {
                bad.push(format!("{what} {k} {when:?} [{at}]: {v}"));
            }
            // Rerun: done, refused, or "already done" (1) — never a crash — and still nothing lost.
            let again = t.neighbor(args);
            if ![0, 1, 3].contains(&again.code) {
                bad.push(format!("{what} {k} {when:?} [{at}]: rerun exited {}: {}", again.code, again.stderr.trim()));
            }
            wait_leases(&t);
            t.neighbor(&["prune"]);
            for v in invariants::violations(&t, &before, opts) {
                bad.push(format!("{what} {k} {when:?} [{at}] then rerun: {v}"));
            }
        }
    }
    eprintln!("crash {what}: {n} git calls, {points} kill points, {} violation(s)", bad.len());
    (points, bad)
}

fn check(what: &str, setup: impl Fn() -> TestRepo, args: &[&str], stride: usize) {
    check_with(what, setup, args, &["prune"], stride);
}

/// [`check`] repairing with `repair` (then `prune`).
fn check_with(what: &str, setup: impl Fn() -> TestRepo, args: &[&str], repair: &[&str], stride: usize) {
    let (_, bad) = enumerate(what, setup, args, repair, stride);
    assert!(bad.is_empty(), "{} violation(s):\n{}", bad.len(), bad.join("\n"));
}

#[test]
fn crash_add() {
    check("add", TestRepo::new, &["add", "t1"], 1);
}

#[test]
fn crash_remove_clean() {
    check(
        "remove",
        || {
            let t = TestRepo::new();
            t.add("t1", &[]);
            t
        },
        &["remove", "t1"],
        1,
    );
}

#[test]
fn crash_remove_force() {
    check("remove --force", with_work, &["remove", "--force", "w"], 1);
}

#[test]
fn crash_prune() {
    check(
        "prune",
        || {
            let t = TestRepo::new();
            t.add("clean", &[]);
            let dirty = t.add("dirty", &[]);
            write_in(&dirty, "wip.txt", "wip\n");
            // Two vanished tenants: their branches go in one transaction, whose git starts early.
            for name in ["gone", "gone2"] {
                let gone = t.add(name, &[]);
                std::fs::remove_dir_all(gone).unwrap();
            }
            t.git(&["worktree", "prune"]);
            t
        },
        &["-c", "worktrees.prune-after=0s", "prune"],
        2,
    );
}

#[test]
fn crash_run_cleanup() {
    check("run --rm", TestRepo::new, &["run", "r1", "--rm", "--", "sh", "-c", "echo run > run.txt"], 3);
}

#[test]
fn crash_land() {
    check(
        "land",
        || {
            let t = TestRepo::new();
            let p = t.add("l1", &[]);
            commit_in(&t, &p, "landed.txt", "to land");
            t
        },
        &["land", "l1"],
        3,
    );
}

#[test]
fn crash_rescue_restore() {
    let setup = || {
        let t = with_work();
        t.neighbor(&["remove", "--force", "w"]).ok();
        t
    };
    // Rescue ids carry the second they were made: look the id up in each fresh building.
    let id_in =
        |t: &TestRepo| t.neighbor(&["rescue", "list", "--json"]).ok().json()[0]["id"].as_str().unwrap().to_string();
    let n = {
        let t = setup();
        let f = Faults::new(&t);
        let o = f.run(&t, &t.dir, &["rescue", "restore", &id_in(&t)], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
        f.calls().len()
    };
    let mut bad = Vec::new();
    for k in 1..=n {
        for when in [When::Before, When::After] {
            let t = setup();
            let id = id_in(&t);
            let before = invariants::capture(&t);
            let f = Faults::new(&t);
            f.run(&t, &t.dir, &["rescue", "restore", &id], Some((k, when)));
            t.neighbor(&["prune"]).ok();
            for v in invariants::violations(&t, &before, Opts::default()) {
                bad.push(format!("rescue restore {k} {when:?}: {v}"));
            }
        }
    }
    eprintln!("crash rescue restore: {n} git calls, {} kill points, {} violation(s)", 2 * n, bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn crash_pool_release() {
    let setup = || {
        let t = TestRepo::new();
        t.neighbor(&["pool", "fill", "1"]).ok();
        // Claimed by a shell that has exited since: the claim (and its lease) died with it.
        let mut sh = std::process::Command::new("sh");
        t.env(&mut sh);
        let out = sh.args(["-c", "git-neighbor pool claim --json"]).current_dir(&t.dir).output().unwrap();
        let c: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        wait_leases(&t);
        let p = PathBuf::from(c["path"].as_str().unwrap());
        commit_in(&t, &p, "pooled.txt", "pool work");
        t.git(&["merge", "-q", "--ff-only", c["branch"].as_str().unwrap()]);
        t.commit_file("main.txt", "main moves\n", "main moves on");
        std::fs::write(t.root.join("lease-id"), c["lease_id"].as_str().unwrap()).unwrap();
        t
    };
    let lease = |t: &TestRepo| std::fs::read_to_string(t.root.join("lease-id")).unwrap();
    let n = {
        let t = setup();
        let f = Faults::new(&t);
        let o = f.run(&t, &t.dir, &["pool", "release", "pool-1", "--lease-id", &lease(&t)], None);
        assert_eq!(o.code, 0, "{}", o.stderr);
        f.calls().len()
    };
    let mut bad = Vec::new();
    let mut points = 0;
    for k in (1..=n).step_by(if long() { 1 } else { 2 }) {
        for when in [When::Before, When::After] {
            points += 1;
            let t = setup();
            let before = invariants::capture(&t);
            let f = Faults::new(&t);
            f.run(&t, &t.dir, &["pool", "release", "pool-1", "--lease-id", &lease(&t)], Some((k, when)));
            wait_leases(&t);
            t.neighbor(&["prune"]).ok();
            for v in invariants::violations(&t, &before, Opts { after_prune: true, allow_kept_branches: false }) {
                bad.push(format!("pool release {k} {when:?}: {v}"));
            }
        }
    }
    eprintln!("crash pool release: {n} git calls, {points} kill points, {} violation(s)", bad.len());
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn crash_doctor_fix() {
    check_with(
        "doctor --fix",
        || {
            let t = TestRepo::new();
            t.neighbor(&["hooks", "install"]).ok();
            // A merged orphan branch, a tenant whose directory git forgot, and a dead ephemeral tenant
            // holding work.
            t.git(&["branch", "neighbor/orphan"]);
            let gone = t.add("gone", &[]);
            std::fs::remove_dir_all(gone).unwrap();
            t.git(&["worktree", "prune"]);
            let mut sh = std::process::Command::new("sh");
            t.env(&mut sh);
            let out = sh.args(["-c", "git-neighbor add --ephemeral eph"]).current_dir(&t.dir).output().unwrap();
            let eph = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
            write_in(&eph, "eph.txt", "ephemeral work\n");
            wait_leases(&t);
            t
        },
        &["doctor", "--fix"],
        &["doctor", "--fix"],
        2,
    );
}
