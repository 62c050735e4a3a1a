//! Tenants that cannot lose work (issue 11, lifecycle side): carry, safe-pull over ignored files, pool
//! claims that follow the real caller and never hand out a dead claimant's work, supervision that ends
//! with its dispatcher, an elevator no stopped waiter can jam, hooks installed under the lock, and the
//! names and paths git itself refuses.

#![allow(dead_code, unused_imports)] // helpers shared by sections that land one commit at a time

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn sh(t: &TestRepo, script: &str) -> Command {
    let mut c = Command::new("sh");
    t.env(&mut c);
    c.args(["-c", script]).current_dir(&t.dir).stdin(Stdio::null());
    c
}

fn wait_for(p: &Path, secs: u64) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !p.exists() || std::fs::read_to_string(p).map(|s| s.trim().is_empty()).unwrap_or(true) {
        assert!(Instant::now() < until, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

fn signal(pid: u32, sig: &str) {
    assert!(Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success());
}

/// Wait for a child with a bound; a child still running after `secs` is killed and the test fails.
fn wait_bounded(mut c: Child, secs: u64, what: &str) -> Out {
    let until = Instant::now() + Duration::from_secs(secs);
    loop {
        if c.try_wait().unwrap().is_some() {
            let o = c.wait_with_output().unwrap();
            return Out::from_output(o);
        }
        if Instant::now() >= until {
            let _ = c.kill();
            let o = c.wait_with_output().unwrap();
            panic!("{what} still running after {secs}s; stderr: {}", String::from_utf8_lossy(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn pool_member(t: &TestRepo, name: &str) -> serde_json::Value {
    let list = t.neighbor(&["pool", "list", "--json"]).ok().json();
    list.as_array().unwrap().iter().find(|m| m["name"] == name).cloned().unwrap_or(serde_json::Value::Null)
}

fn tenant_row(t: &TestRepo, name: &str) -> serde_json::Value {
    t.tenants_json().into_iter().find(|r| r["name"] == name).unwrap_or(serde_json::Value::Null)
}

// ---- L3 -------------------------------------------------------------------------------------------

#[test]
fn carry_through_a_symlinked_parent_never_truncates_the_source() {
    let t = TestRepo::new();
    let shared = t.root.join("shared-config");
    std::fs::create_dir_all(&shared).unwrap();
    std::fs::write(shared.join("local.env"), "SECRET=twenty-bytes\n").unwrap();
    std::os::unix::fs::symlink(&shared, t.dir.join("config")).unwrap();
    t.git(&["add", "config"]);
    t.git(&["commit", "-q", "-m", "config link"]);
    let o = t.neighbor(&["add", "t1", "--carry", "config/local.env"]);
    assert_eq!(std::fs::read_to_string(shared.join("local.env")).unwrap(), "SECRET=twenty-bytes\n", "{}", o.stderr);
    assert_eq!(o.code, 1, "a carry through a symlinked parent is refused: {}", o.stderr);
    assert!(o.stderr.contains("config"), "{}", o.stderr);
    assert!(t.registry_names().is_empty(), "nothing is left half-made");
    // The same from a committed config; and a relative link that leads out of the tenant.
    let o = t.neighbor(&["-c", "worktrees.carry=[\"config/local.env\"]", "add", "t2"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(shared.join("local.env")).unwrap(), "SECRET=twenty-bytes\n");
}

// ---- U1 -------------------------------------------------------------------------------------------

#[test]
fn carried_unchanged_files_are_not_work() {
    let t = TestRepo::new();
    t.write(".env", "KEY=value\n");
    std::fs::write(t.dir.join(".worktreeinclude"), ".env\n").unwrap();
    // remove: a tenant holding only its carried file is clean.
    let p = t.add("t1", &[]);
    assert_eq!(std::fs::read_to_string(p.join(".env")).unwrap(), "KEY=value\n");
    let o = t.neighbor(&["remove", "t1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    // ... but a changed carried file is work.
    let p = t.add("t2", &[]);
    std::fs::write(p.join(".env"), "KEY=changed\n").unwrap();
    let o = t.neighbor(&["remove", "t2"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains(".env"), "{}", o.stderr);
    // ... and so is a carried file the tenant staged.
    let p = t.add("t3", &[]);
    t.git_in(&p, &["add", ".env"]);
    assert_eq!(t.neighbor(&["remove", "t3"]).code, 3);
    // run: a command that changed nothing leaves no tenant.
    let o = t.neighbor(&["run", "--", "true"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!t.tenants_json().iter().any(|r| r["name"].as_str().unwrap().starts_with("run-")), "{}", o.stderr);
    // prune: a merged, clean tenant with a carried file is removed.
    t.add("t4", &[]);
    t.neighbor(&["-c", "worktrees.prune-after=0s", "prune"]).ok();
    assert!(tenant_row(&t, "t4").is_null(), "{:?}", t.tenants_json());
}
