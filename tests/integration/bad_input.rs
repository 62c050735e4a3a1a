//! Bad input: one-line errors with hints, documented exit codes, no partial state.

use crate::common::*;

fn no_state_change(t: &TestRepo, args: &[&str], code: i32, needle: &str) {
    let before = t.snapshot();
    let o = t.neighbor(args);
    assert_eq!(o.code, code, "{args:?}: {}", o.stderr);
    assert!(o.stderr.contains(needle), "{args:?}: expected {needle:?} in {}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    assert_eq!(t.snapshot(), before, "{args:?} changed state");
}

#[test]
fn malformed_config_names_file_and_line() {
    let t = TestRepo::new();
    t.write(".neighbor.toml", "[worktrees]\nroot = \"x\"\nbranch = [unclosed\n");
    no_state_change(&t, &["add", "a"], 1, ".neighbor.toml:3");
    t.write(".neighbor.toml", "[fleet]\nstager = \"3s\"\n");
    // Read-only `list` warns and goes on with the defaults; `add` refuses.
    let o = t.neighbor(&["list"]);
    assert_eq!(o.code, 0);
    assert!(o.stderr.contains(".neighbor.toml:2:1: unknown key `fleet.stager`"), "{}", o.stderr);
    no_state_change(&t, &["add", "a"], 1, "unknown key `fleet.stager`");
    assert!(o.stderr.contains("did you mean `fleet.stagger`?"), "{}", o.stderr);
    t.write(".neighbor.toml", "[worktrees]\nprune-after = 5\n");
    no_state_change(&t, &["add", "a"], 1, "worktrees.prune-after: expected a duration");
    t.write(".neighbor.toml", "[worktrees]\nprune-after = \"soon\"\n");
    no_state_change(&t, &["add", "a"], 1, "invalid duration \"soon\"");
    std::fs::remove_file(t.dir.join(".neighbor.toml")).unwrap();
    no_state_change(&t, &["-c", "fleet.stager=1s", "list"], 2, "unknown key `fleet.stager`");
}

#[test]
fn bad_names_and_collisions() {
    let t = TestRepo::new();
    no_state_change(&t, &["add", "--", "-x"], 2, "starts with '-'");
    no_state_change(&t, &["add", "a/b"], 2, "invalid tenant name");
    no_state_change(&t, &["add", "a..b"], 2, "invalid tenant name");
    no_state_change(&t, &["add", "ok", "--branch", "bad..branch"], 2, "not a valid branch name");
    t.add("a", &[]);
    no_state_change(&t, &["add", "a"], 1, "already exists");
    std::fs::create_dir_all(t.root.join("occupied")).unwrap();
    let occ = t.root.join("occupied");
    no_state_change(&t, &["add", "b", "--path", occ.to_str().unwrap()], 1, "already exists");
    t.git(&["branch", "neighbor/c"]);
    no_state_change(&t, &["add", "c"], 1, "branch 'neighbor/c' already exists");
    no_state_change(&t, &["add", "d", "--base", "no-such-rev"], 1, "cannot resolve base");
    no_state_change(&t, &["remove", "nobody"], 1, "no tenant named 'nobody'");
    no_state_change(&t, &["-c", "worktrees.branch=x/{owner}", "add", "e"], 2, "pass --owner");
}

#[test]
fn outside_a_repository() {
    let t = TestRepo::empty();
    let o = t.neighbor_in(&t.root, &["list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("error: not in a git repository"), "{}", o.stderr);
    assert!(o.stderr.contains("hint:"));
    assert_eq!(o.stderr.lines().count(), 2, "{}", o.stderr);
    let o = t.neighbor_in(&t.root, &["-C", "/no/such/dir", "list"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("cannot change to '/no/such/dir'"));
}

#[test]
fn usage_errors_exit_two() {
    let t = TestRepo::new();
    assert_eq!(t.neighbor(&["add"]).code, 2);
    assert_eq!(t.neighbor(&["frobnicate"]).code, 2);
    assert_eq!(t.neighbor(&["--lock-timeout", "soon", "list"]).code, 2);
    assert_eq!(t.neighbor(&["--help"]).code, 0);
}

#[test]
fn building_lock_timeout_exits_four_and_names_holder() {
    let t = TestRepo::new();
    t.neighbor(&["init"]).ok();
    let state = t.common_dir().join("neighbor");
    // flock(1) takes the same kind of lock fd-lock does; its note names it as the holder.
    let mut holder = std::process::Command::new("flock")
        .arg(state.join("lock"))
        .args(["sleep", "20"])
        .spawn()
        .expect("flock(1) is needed for this test");
    let note = format!(r#"{{"pid":{},"command":"git-neighbor merge-frame","since_ms":0}}"#, holder.id());
    std::fs::write(state.join("lock.holder"), note).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let o = t.neighbor(&["--lock-timeout", "300ms", "add", "x"]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stderr.contains(&format!("pid {} (git-neighbor merge-frame)", holder.id())), "{}", o.stderr);
    assert!(t.registry_names().is_empty());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
}

/// Locking a locked tenant, or unlocking an unlocked one, is not an error and changes nothing; it says so
/// in words (it used to surface git's raw "fatal: … is already locked").
#[test]
fn lock_and_unlock_twice_say_so() {
    let t = TestRepo::new();
    t.add("t1", &[]);
    t.neighbor(&["lock", "t1", "--reason", "demo"]).ok();
    let again = t.neighbor(&["lock", "t1"]).ok();
    assert!(again.stderr.contains("already locked (demo); nothing changed"), "{}", again.stderr);
    assert!(!again.stderr.contains("fatal"), "{}", again.stderr);
    let j = t.neighbor(&["--json", "lock", "t1"]).ok().json();
    assert_eq!(
        (j["locked"].as_bool(), j["changed"].as_bool(), j["reason"].as_str()),
        (Some(true), Some(false), Some("demo"))
    );
    t.neighbor(&["unlock", "t1"]).ok();
    let again = t.neighbor(&["unlock", "t1"]).ok();
    assert!(again.stderr.contains("is not locked; nothing changed"), "{}", again.stderr);
}

/// A committed `.neighbor.toml` that does not load does not hide the building from read-only commands
/// (they warn and use the defaults), and the pre-commit hook refuses to commit such a file.
#[test]
fn bad_config_warns_in_read_only_commands_and_cannot_be_committed() {
    let t = TestRepo::new();
    t.add("t1", &[]);
    t.neighbor(&["hooks", "install"]).ok();
    t.write(".neighbor.toml", "[worktrees]\nroot = 3\n");
    let o = t.neighbor(&["list"]).ok();
    assert!(o.stdout.contains("t1"), "{}", o.stdout);
    assert!(o.stderr.contains("warning:") && o.stderr.contains("worktrees.root"), "{}", o.stderr);
    let o = t.neighbor(&["status"]).ok();
    assert!(o.stderr.contains("default settings"), "{}", o.stderr);
    // Commands that change things still refuse to act on a config they cannot read.
    assert_eq!(t.neighbor(&["add", "t2"]).code, 1);
    t.git(&["add", ".neighbor.toml"]);
    let c = t.git_out(&t.dir, &["commit", "-qm", "bad config"]);
    assert_ne!(c.code, 0, "a config that does not load must not be committed");
    assert!(c.stderr.contains(".neighbor.toml") && c.stderr.contains("expected a string"), "{}", c.stderr);
}

/// `run sleep 1` without `--`: clap's error, then the hint that says how to write it.
#[test]
fn a_command_without_double_dash_gets_a_hint() {
    let t = TestRepo::new();
    let o = t.neighbor(&["run", "sleep", "1"]);
    assert_eq!(o.code, 2);
    assert!(
        o.stderr.contains("hint: put `--` before the command to run, e.g. `git neighbor run -- sleep 1`"),
        "{}",
        o.stderr
    );
    assert!(t.tenants_json().is_empty());
}
