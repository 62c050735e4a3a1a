//! Tenants that cannot lose work (issue 11, lifecycle side): carry, safe-pull over ignored files, pool
//! claims that follow the real caller and never hand out a dead claimant's work, supervision that ends
//! with its dispatcher, an elevator no stopped waiter can jam, hooks installed under the lock, and the
//! names and paths git itself refuses.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn sh(t: &TestRepo, script: &str) -> Command {
    let mut c = Command::new("sh");
    t.env(&mut c);
    c.args(["-c", script]).current_dir(&t.dir).stdin(Stdio::null()).stderr(Stdio::null());
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

// ---- L11 ------------------------------------------------------------------------------------------

fn upstream_tracks_env(t: &TestRepo) {
    // The original repository pushes a commit that starts tracking `.env`.
    let up = t.root.join("repo");
    write_in(&up, ".env", "UPSTREAM=placeholder\n");
    t.git_in(&up, &["add", "-f", ".env"]);
    t.git_in(&up, &["commit", "-q", "-m", "track .env"]);
    t.git_in(&up, &["push", "-q", t.root.join("origin.git").to_str().unwrap(), "main"]);
}

#[test]
fn safe_pull_never_overwrites_an_ignored_file() {
    let t = TestRepo::with_remote();
    t.commit_file(".gitignore", ".env\n", "ignore .env");
    t.git(&["push", "-q", "origin", "main"]);
    t.git_in(&t.root.join("repo"), &["pull", "-q", t.root.join("origin.git").to_str().unwrap(), "main"]);
    t.write(".env", "SECRET=real\n");
    upstream_tracks_env(&t);
    let head = t.git(&["rev-parse", "HEAD"]);
    // Clean tree (fast-forward path).
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=real\n", "{}", o.stderr);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains(".env"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // Dirty tree, idle fleet (re-apply path).
    t.write("README.md", "local edit\n");
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=real\n", "{}", o.stderr);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "local edit\n");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // Diverged (rebase path).
    t.git(&["checkout", "-q", "README.md"]);
    t.commit_file("local.txt", "mine\n", "local commit");
    let head = t.git(&["rev-parse", "HEAD"]);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=real\n", "{}", o.stderr);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // Once the file is moved aside the pull goes through.
    std::fs::rename(t.dir.join(".env"), t.root.join("env.saved")).unwrap();
    t.neighbor(&["safe-pull"]).ok();
}

/// The same, when the ignored file appears between safe-pull's look and git's fast-forward (a build
/// writing `.env`): git's fast-forward treated it as expendable and overwrote it. Now git refuses it
/// too; nothing moves and the file is kept.
#[test]
fn safe_pull_never_overwrites_an_ignored_file_made_just_before_the_fast_forward() {
    let t = TestRepo::with_remote();
    t.commit_file(".gitignore", ".env\n", "ignore .env");
    t.git(&["push", "-q", "origin", "main"]);
    t.git_in(&t.root.join("repo"), &["pull", "-q", t.root.join("origin.git").to_str().unwrap(), "main"]);
    upstream_tracks_env(&t);
    let head = t.git(&["rev-parse", "HEAD"]);
    let f = crate::faults::Faults::new(&t);
    let meddle = format!("printf 'SECRET=real\\n' > '{}'", t.dir.join(".env").display());
    let o = Out::from_output(f.cmd_meddling_at_arg(&t, &t.dir, &["safe-pull"], "--ff-only", &meddle).output().unwrap());
    assert!(f.meddled(), "the meddling never ran; calls: {:?}", f.calls());
    assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=real\n", "{}", o.stderr);
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), head);
    // Run again, the look itself names the file.
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains(".env"), "{}", o.stderr);
}

// ---- C3 -------------------------------------------------------------------------------------------

fn claim_following(t: &TestRepo, pid: u32) -> serde_json::Value {
    t.neighbor(&["pool", "claim", "--json", "--follow-pid", &pid.to_string()]).ok().json()
}

fn wait_claim_dead(t: &TestRepo, name: &str) {
    let until = Instant::now() + Duration::from_secs(15);
    while pool_member(t, name)["state"] == "claimed" {
        assert!(Instant::now() < until, "claim never died: {}", pool_member(t, name));
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_dead_claimants_work_is_kept_not_handed_out() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let mut a = Command::new("sleep").arg("600").spawn().unwrap();
    let c = claim_following(&t, a.id());
    let name = c["name"].as_str().unwrap().to_string();
    let pa = PathBuf::from(c["path"].as_str().unwrap());
    write_in(&pa, "a-work.txt", "uncommitted\n");
    a.kill().unwrap();
    a.wait().unwrap();
    wait_claim_dead(&t, &name);
    // B never gets A's dirty tenant.
    let o = t.neighbor(&["pool", "claim", "--json"]);
    if o.code == 0 {
        assert_ne!(o.json()["name"], name.as_str(), "the dead claimant's dirty tenant was handed out");
    }
    assert_eq!(std::fs::read_to_string(pa.join("a-work.txt")).unwrap(), "uncommitted\n");
    let row = tenant_row(&t, &name);
    assert_eq!(row["status"], "kept", "{row}");
    assert!(pool_member(&t, &name).is_null(), "kept out of the pool");
}

#[test]
fn a_dead_claimants_clean_tenant_is_reset_and_reissued() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let mut a = Command::new("sleep").arg("600").spawn().unwrap();
    let c = claim_following(&t, a.id());
    let name = c["name"].as_str().unwrap().to_string();
    a.kill().unwrap();
    a.wait().unwrap();
    wait_claim_dead(&t, &name);
    t.commit_file("new.txt", "moved on\n", "main moves");
    let mut b = Command::new("sleep").arg("600").spawn().unwrap();
    let c2 = claim_following(&t, b.id());
    assert_eq!(c2["name"], name.as_str());
    let p = PathBuf::from(c2["path"].as_str().unwrap());
    assert!(p.join("new.txt").exists(), "released through the release path: reset to its base's tip");
    let _ = b.kill();
    let _ = b.wait();
}

#[test]
fn fill_counts_an_abandoned_claim_with_work_as_taken() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let mut a = Command::new("sleep").arg("600").spawn().unwrap();
    let c = claim_following(&t, a.id());
    let name = c["name"].as_str().unwrap().to_string();
    write_in(Path::new(c["path"].as_str().unwrap()), "a-work.txt", "uncommitted\n");
    a.kill().unwrap();
    a.wait().unwrap();
    wait_claim_dead(&t, &name);
    // `fill 1` must leave one tenant someone can claim: the abandoned one holds work and is kept.
    t.neighbor(&["pool", "fill", "1"]).ok();
    let mut b = Command::new("sleep").arg("600").spawn().unwrap();
    let c2 = claim_following(&t, b.id());
    assert_ne!(c2["name"], name.as_str());
    let _ = b.kill();
    let _ = b.wait();
}

// ---- C4 -------------------------------------------------------------------------------------------

#[test]
fn a_claim_through_a_wrapper_follows_the_real_caller() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "3"]).ok();
    let out = t.root.join("claim.json");
    let mut caller = sh(&t, &format!("timeout 60 git-neighbor pool claim --json > {}; exec sleep 600", out.display()))
        .spawn()
        .unwrap();
    wait_for(&out, 20);
    let c: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let m = pool_member(&t, c["name"].as_str().unwrap());
    assert_eq!(m["claim"]["pid"], caller.id(), "the claim follows the shell, not `timeout`: {m}");
    // Named explicitly, by flag and by environment.
    let mut other = Command::new("sleep").arg("600").spawn().unwrap();
    let c = claim_following(&t, other.id());
    assert_eq!(pool_member(&t, c["name"].as_str().unwrap())["claim"]["pid"], other.id());
    let mut cmd = t.cmd_in(&t.dir, &["pool", "claim", "--json"]);
    let c: serde_json::Value =
        serde_json::from_slice(&cmd.env("NEIGHBOR_FOLLOW_PID", other.id().to_string()).output().unwrap().stdout)
            .unwrap();
    assert_eq!(pool_member(&t, c["name"].as_str().unwrap())["claim"]["pid"], other.id());
    // A pid that does not exist is a usage error.
    assert_eq!(t.neighbor(&["pool", "claim", "--follow-pid", "999999999"]).code, 2);
    let help = t.neighbor(&["pool", "claim", "--help"]).ok().stdout;
    assert!(help.contains("--follow-pid") && help.contains("NEIGHBOR_FOLLOW_PID"), "{help}");
    for c in [&mut caller, &mut other] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// The note of the keeper holding `name`'s lease (it replaces add's own note right after it starts).
fn keeper_note(t: &TestRepo, name: &str) -> serde_json::Value {
    let p = t.common_dir().join(format!("neighbor/leases/{name}.json"));
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        let note: serde_json::Value =
            std::fs::read(&p).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default();
        if !note["watch_pid"].is_null() {
            return note;
        }
        assert!(Instant::now() < until, "no keeper note for {name}: {note}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn an_ephemeral_add_through_a_wrapper_follows_the_real_caller() {
    let t = TestRepo::new();
    let out = t.root.join("path");
    let mut caller = sh(&t, &format!("timeout 60 git-neighbor add --ephemeral e1 > {}; exec sleep 600", out.display()))
        .spawn()
        .unwrap();
    wait_for(&out, 20);
    let lease = tenant_row(&t, "e1")["lease"].clone();
    assert!(!lease.is_null());
    let note = keeper_note(&t, "e1");
    assert_eq!(note["watch_pid"], caller.id(), "{note}");
    let mut other = Command::new("sleep").arg("600").spawn().unwrap();
    t.neighbor(&["add", "--ephemeral", "e2", "--follow-pid", &other.id().to_string()]).ok();
    assert_eq!(keeper_note(&t, "e2")["watch_pid"], other.id());
    assert_eq!(t.neighbor(&["add", "e3", "--follow-pid", &other.id().to_string()]).code, 2, "only with --ephemeral");
    for c in [&mut caller, &mut other] {
        let _ = c.kill();
        let _ = c.wait();
    }
}

// ---- N4 -------------------------------------------------------------------------------------------

#[test]
fn a_claim_that_cannot_answer_is_not_held() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let mut caller = Command::new("sleep").arg("600").spawn().unwrap();
    // The answer cannot be written (full disk): the claim is given back, not held for the caller's life.
    let full = std::fs::File::create("/dev/full").unwrap();
    let o =
        t.cmd_in(&t.dir, &["pool", "claim", "--follow-pid", &caller.id().to_string()]).stdout(full).output().unwrap();
    assert_ne!(o.status.code(), Some(0));
    let m = &t.neighbor(&["pool", "list", "--json"]).ok().json()[0];
    assert_ne!(m["state"], "claimed", "{m}");
    // Killed after its keeper started but before it answered: the keeper lets go.
    let o = t
        .cmd_in(&t.dir, &["pool", "claim", "--follow-pid", &caller.id().to_string()])
        .env("NEIGHBOR_FAILPOINT", "pool-claim-answer")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), None, "killed at the fail point: {}", String::from_utf8_lossy(&o.stderr));
    let name = t.neighbor(&["pool", "list", "--json"]).ok().json()[0]["name"].as_str().unwrap().to_string();
    wait_claim_dead(&t, &name);
    let c = claim_following(&t, caller.id());
    assert_eq!(c["name"], name.as_str(), "the unanswered claim went back to the pool");
    let _ = caller.kill();
    let _ = caller.wait();
}

// ---- H1 -------------------------------------------------------------------------------------------

/// Start a run that waits in the elevator (stagger 1h after a first launch), and wait until it queues.
fn queued_run(t: &TestRepo, extra: &[&str]) -> Child {
    let tickets = t.common_dir().join("neighbor/elevator");
    let before = count_tickets(&tickets);
    let mut args = vec!["run", "--stagger", "1h"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--", "true"]);
    let c = t.spawn(&args);
    let until = Instant::now() + Duration::from_secs(20);
    while count_tickets(&tickets) <= before {
        assert!(Instant::now() < until, "the run never queued");
        std::thread::sleep(Duration::from_millis(20));
    }
    c
}

/// SIGSTOP run `pid` once it waits in the elevator: its tenant is ready and it holds no building lock.
fn stop_while_waiting(t: &TestRepo, pid: u32) {
    let lock = t.common_dir().join("neighbor/lock");
    let prefix = format!("run-{pid}-");
    let until = Instant::now() + Duration::from_secs(20);
    loop {
        assert!(Instant::now() < until, "run {pid} never settled in the elevator");
        let ready =
            t.tenants_json().iter().any(|r| r["name"].as_str().unwrap().starts_with(&prefix) && r["reason"].is_null());
        if ready {
            signal(pid, "-STOP");
            if Command::new("flock").args(["-n"]).arg(&lock).arg("true").status().unwrap().success() {
                return;
            }
            signal(pid, "-CONT");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn count_tickets(d: &Path) -> usize {
    std::fs::read_dir(d)
        .map(|rd| rd.flatten().filter(|e| e.file_name().to_string_lossy().ends_with(".ticket")).count())
        .unwrap_or(0)
}

#[test]
fn a_stopped_waiter_never_jams_the_elevator() {
    let t = TestRepo::new();
    // A first launch records the time; the next run waits an hour of stagger.
    t.neighbor(&["run", "--stagger", "1h", "--", "true"]).ok();
    let a = queued_run(&t, &[]);
    let apid = a.id();
    stop_while_waiting(&t, apid);
    // B is behind A: the stopped waiter is passed over, B launches after its own (1 s) stagger.
    let b = t.spawn(&["--lock-timeout", "1s", "run", "--stagger", "1s", "--", "true"]);
    let o = wait_bounded(b, 30, "run behind a stopped waiter");
    signal(apid, "-CONT");
    signal(apid, "-TERM");
    let oa = wait_bounded(a, 30, "the stopped waiter after SIGCONT+SIGTERM");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(oa.code, 143, "a queued run honours SIGTERM: {}", oa.stderr);
}

#[test]
fn a_queued_run_honours_signals_and_the_lock_timeout() {
    let t = TestRepo::new();
    t.neighbor(&["run", "--stagger", "1h", "--", "true"]).ok();
    // Waiting out the stagger: SIGTERM ends it (128+15), and it leaves no tenant.
    let a = queued_run(&t, &[]);
    let pid = a.id();
    signal(pid, "-TERM");
    let o = wait_bounded(a, 30, "a run waiting out its stagger, after SIGTERM");
    assert_eq!(o.code, 143, "{}", o.stderr);
    // Behind a live waiter that makes no progress: exit 4 naming the ticket holder.
    let a = queued_run(&t, &[]);
    // (B's own stagger is 1s: behind a ticket that has not moved for its stagger + lock timeout, it gives up.)
    let b = t.spawn(&["--lock-timeout", "1s", "run", "--stagger", "1s", "--", "true"]);
    let ob = wait_bounded(b, 30, "a run behind a live waiter with --lock-timeout 1s");
    let apid = a.id();
    signal(apid, "-TERM");
    wait_bounded(a, 30, "the first waiter");
    assert_eq!(ob.code, 4, "{}", ob.stderr);
    assert!(ob.stderr.contains(&format!("pid {apid}")), "names the ticket holder: {}", ob.stderr);
    let left: Vec<_> =
        t.tenants_json().into_iter().filter(|r| r["name"].as_str().unwrap().starts_with("run-")).collect();
    assert!(left.is_empty(), "{left:?}");
}

// ---- H2 -------------------------------------------------------------------------------------------

#[test]
fn kill_nine_of_the_git_dispatcher_ends_the_command() {
    let t = TestRepo::new();
    let pidf = t.root.join("cmd.pid");
    let script = format!("echo $$ > {}; exec sleep 600", pidf.display());
    let mut c = Command::new("git");
    t.env(&mut c);
    let mut git = c
        .args(["neighbor", "run", "--", "sh", "-c", &script])
        .current_dir(&t.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for(&pidf, 20);
    let cmd_pid = std::fs::read_to_string(&pidf).unwrap();
    git.kill().unwrap(); // SIGKILL to the dispatcher the orchestrator holds
    git.wait().unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while alive(&cmd_pid) {
        assert!(Instant::now() < until, "the supervised command outlived its dispatcher");
        std::thread::sleep(Duration::from_millis(50));
    }
    // And run cleaned up as on SIGTERM: no lease, no tenant.
    let until = Instant::now() + Duration::from_secs(20);
    while !t.tenants_json().is_empty() {
        assert!(Instant::now() < until, "tenant left: {:?}", t.tenants_json());
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---- U2 -------------------------------------------------------------------------------------------

#[test]
fn a_stopped_command_still_gets_the_forwarded_signal() {
    let t = TestRepo::new();
    let pidf = t.root.join("cmd.pid");
    let script = format!("echo $$ > {}; kill -STOP $$; sleep 600", pidf.display());
    let run = t.spawn(&["run", "--", "sh", "-c", &script]);
    wait_for(&pidf, 20);
    let cmd_pid = std::fs::read_to_string(&pidf).unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(format!("/proc/{}/stat", cmd_pid.trim()))
        .map(|s| s.rsplit(')').next().unwrap_or("").trim_start().starts_with('T'))
        .unwrap_or(false)
    {
        assert!(Instant::now() < until, "never stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(run.id(), "-TERM");
    let o = wait_bounded(run, 30, "run whose command is stopped, after SIGTERM");
    assert_eq!(o.code, 143, "{}", o.stderr);
    assert!(!alive(&cmd_pid));
}

#[test]
fn the_command_gets_no_terminal_stdin_unless_asked() {
    let t = TestRepo::new();
    // `script` gives run a terminal; a command that reads stdin must not stop (SIGTTIN) for ever.
    let out = t.root.join("read.out");
    let inner = format!("read x; echo \"rc=$?\" > {}", out.display());
    let cmdline = format!("git-neighbor run -- sh -c '{inner}'");
    let mut c = Command::new("script");
    t.env(&mut c);
    let child = c
        .args(["-qec", &cmdline, "/dev/null"])
        .current_dir(&t.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let o = wait_bounded(child, 30, "run at a terminal with a command that reads stdin");
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "rc=1");
}

#[test]
fn run_stdin_gives_the_command_the_terminal() {
    use std::io::Write;
    let t = TestRepo::new();
    let out = t.root.join("read.out");
    let cmdline = format!("git-neighbor run --stdin -- sh -c 'read x; echo \"got:$x\" > {}'", out.display());
    let mut c = Command::new("script");
    t.env(&mut c);
    let mut child = c
        .args(["-qec", &cmdline, "/dev/null"])
        .current_dir(&t.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(b"hello\n").unwrap();
    let o = wait_bounded(child, 30, "run --stdin at a terminal");
    drop(input);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap().trim(), "got:hello");
}

// ---- L13 ------------------------------------------------------------------------------------------

#[test]
fn concurrent_hook_installs_never_lose_the_users_hook() {
    use std::os::unix::fs::PermissionsExt;
    let t = TestRepo::new();
    let hooks = t.common_dir().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let mine = b"#!/usr/bin/env python3\nprint('my own pre-rebase')\n".to_vec();
    for round in 0..10 {
        std::fs::write(hooks.join("pre-rebase"), &mine).unwrap();
        std::fs::set_permissions(hooks.join("pre-rebase"), std::fs::Permissions::from_mode(0o751)).unwrap();
        let kids: Vec<Child> = (0..8).map(|_| t.spawn(&["hooks", "install"])).collect();
        for k in kids {
            let _ = k.wait_with_output().unwrap();
        }
        t.neighbor(&["hooks", "uninstall"]).ok();
        let back = std::fs::read(hooks.join("pre-rebase")).unwrap_or_default();
        assert_eq!(back, mine, "round {round}: the user's hook was lost");
        let mode = std::fs::metadata(hooks.join("pre-rebase")).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o751, "round {round}");
        assert!(!hooks.join("pre-rebase.neighbor-chained").exists());
    }
}

#[test]
fn install_never_overwrites_an_existing_chained_file() {
    let t = TestRepo::new();
    let hooks = t.common_dir().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::write(hooks.join("pre-rebase"), b"#!/usr/bin/env python3\nprint(1)\n").unwrap();
    std::fs::write(hooks.join("pre-rebase.neighbor-chained"), b"older user file\n").unwrap();
    let o = t.neighbor(&["hooks", "install"]);
    assert_ne!(o.code, 0);
    assert_eq!(std::fs::read(hooks.join("pre-rebase.neighbor-chained")).unwrap(), b"older user file\n");
    assert_eq!(std::fs::read(hooks.join("pre-rebase")).unwrap(), b"#!/usr/bin/env python3\nprint(1)\n");
}

// ---- U5 -------------------------------------------------------------------------------------------

#[test]
fn a_released_lock_names_no_holder() {
    let t = TestRepo::new();
    t.add("t1", &[]);
    let state = t.common_dir().join("neighbor");
    // Something without a note holds the lock now: the message must not name the last (finished) holder.
    let mut holder = Command::new("flock").arg(state.join("lock")).args(["sleep", "20"]).spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let o = t.neighbor(&["--lock-timeout", "200ms", "add", "t2"]);
        if o.code == 4 {
            assert!(!o.stderr.contains("add t1"), "names a holder that is gone: {}", o.stderr);
            break;
        }
        assert!(Instant::now() < until, "flock never took the lock: {}", o.stderr);
        t.neighbor(&["remove", "t2"]).ok();
    }
    let _ = holder.kill();
    let _ = holder.wait();
}

#[test]
fn a_lease_held_by_an_orphaned_child_does_not_show_its_dead_writer_as_live() {
    let t = TestRepo::new();
    t.add("t1", &[]);
    let leases = t.common_dir().join("neighbor/leases");
    std::fs::create_dir_all(&leases).unwrap();
    // The writer (pid from a finished process) left its note; its child (here flock) still holds the lease.
    let mut gone = Command::new("true").spawn().unwrap();
    let dead = gone.id();
    gone.wait().unwrap();
    std::fs::write(leases.join("t1.json"), format!(r#"{{"pid":{dead},"command":"git-neighbor add t1","since_ms":0}}"#))
        .unwrap();
    let mut child = Command::new("flock").arg(leases.join("t1.lock")).args(["sleep", "20"]).spawn().unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    let row = loop {
        let row = tenant_row(&t, "t1");
        if !row["lease"].is_null() {
            break row;
        }
        assert!(Instant::now() < until, "flock never took the lease");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(row["lease"]["exited"], true, "{row}");
    let human = t.neighbor(&["list"]).ok().stdout;
    assert!(human.contains(&format!("child of exited pid {dead}")), "{human}");
    let _ = child.kill();
    let _ = child.wait();
}

// ---- N1 -------------------------------------------------------------------------------------------

#[test]
fn tenant_paths_inside_the_checkout_or_at_the_root_are_refused() {
    let t = TestRepo::new();
    for (args, what) in [
        (vec!["-c", "worktrees.root=", "add", "a1"], "empty root"),
        (vec!["-c", "worktrees.root=/", "add", "a2"], "root /"),
        (vec!["-c", "worktrees.root=sub", "add", "a3"], "root inside the checkout"),
        (vec!["add", "a4", "--path", "state/nested"], "--path inside the checkout"),
        (vec!["add", "a5", "--path", ".git/x"], "--path inside the git dir"),
    ] {
        let o = t.neighbor(&args);
        assert!(o.code == 1 || o.code == 2, "{what}: {} {}", o.code, o.stderr);
        assert!(t.registry_names().is_empty(), "{what}");
        assert!(t.linked_worktrees().is_empty(), "{what}");
    }
    assert!(!Path::new("/a2").exists());
    assert!(!t.dir.join("state/nested").exists());
}

// ---- N2 -------------------------------------------------------------------------------------------

#[test]
fn branch_names_git_refuses_are_refused() {
    let t = TestRepo::new();
    for b in ["@", "HEAD", "refs/heads/main", "-x", "a..b", "a@{1}", "x.lock", "a b"] {
        let o = t.neighbor(&["add", "b1", "--branch", b]);
        assert_eq!(o.code, 2, "--branch {b:?}: {}", o.stderr);
        assert!(t.registry_names().is_empty(), "{b}");
    }
    assert!(t.branches("refs/heads/refs/").is_empty());
    // rescue restore --branch too.
    let p = t.add("r1", &[]);
    write_in(&p, "w.txt", "work\n");
    t.neighbor(&["remove", "--force", "r1"]).ok();
    let id = t.neighbor(&["rescue", "list", "--json"]).ok().json()[0]["id"].as_str().unwrap().to_string();
    for b in ["HEAD", "@", "refs/heads/x"] {
        let o = t.neighbor(&["rescue", "restore", &id, "--branch", b]);
        assert_eq!(o.code, 2, "--branch {b:?}: {}", o.stderr);
    }
    let o = t.git_out(&t.dir, &["rev-parse", "-q", "--verify", "refs/heads/HEAD"]);
    assert_ne!(o.code, 0, "refs/heads/HEAD was created");
}
