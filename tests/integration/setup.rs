//! `[setup]` and the trust gate: setup commands run in every new tenant (`add`, `run`, `pool fill`, the
//! Claude hook) only after `git neighbor trust` approved exactly them; a failing setup keeps the tenant
//! as `setup-failed`; setup output goes to stderr and the tenant's log, never to stdout.

use crate::common::*;
use crate::faults::{Faults, When, killed};
use crate::invariants::{self, Opts};
use std::path::{Path, PathBuf};

/// `t` with a `[setup]` whose commands are `cmds` (TOML strings, as written).
fn with_setup(cmds: &[&str]) -> TestRepo {
    let t = TestRepo::new();
    set_setup(&t, cmds);
    t
}

fn set_setup(t: &TestRepo, cmds: &[&str]) {
    let list: Vec<String> = cmds.iter().map(|c| toml_str(c)).collect();
    t.write(".neighbor.toml", &format!("[setup]\nrun = [{}]\n", list.join(", ")));
}

fn toml_str(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// A setup command that records, per tenant, its directory and environment in `<root>/marks/<name>`.
fn marking(t: &TestRepo) -> String {
    let marks = t.root.join("marks");
    std::fs::create_dir_all(&marks).unwrap();
    format!(
        "printf '%s|%s|%s|%s|%s\\n' \"$(pwd)\" \"$NEIGHBOR_NAME\" \"$NEIGHBOR_WORKTREE\" \"$NEIGHBOR_PORT\" \"$COMPOSE_PROJECT_NAME\" > {}/$NEIGHBOR_NAME",
        marks.display()
    )
}

fn mark(t: &TestRepo, name: &str) -> Option<String> {
    std::fs::read_to_string(t.root.join("marks").join(name)).ok()
}

fn status_of(t: &TestRepo, name: &str) -> String {
    let rows = t.tenants_json();
    let row = rows.iter().find(|r| r["name"] == name).unwrap_or_else(|| panic!("no tenant {name}: {rows:?}"));
    row["status"].as_str().unwrap().to_string()
}

fn log_of(t: &TestRepo, name: &str) -> PathBuf {
    t.common_dir().join("neighbor/setup").join(format!("{name}.log"))
}

/// The `--expect` hash a refusal names.
fn expect_hash(stderr: &str) -> String {
    let at = stderr.find("trust --expect ").unwrap_or_else(|| panic!("no approve command in: {stderr}"));
    stderr[at + "trust --expect ".len()..].split_whitespace().next().unwrap().to_string()
}

#[test]
fn setup_is_refused_before_trust_and_runs_after() {
    let t = TestRepo::new();
    let cmd = marking(&t);
    set_setup(&t, &[&cmd]);
    let o = t.neighbor(&["add", "a"]);
    assert_eq!(o.code, 3, "refused until approved: {}", o.stderr);
    assert!(o.stderr.contains("not approved") && o.stderr.contains("setup would run: sh -c"), "{}", o.stderr);
    assert!(o.stdout.is_empty());
    assert!(mark(&t, "a").is_none(), "nothing ran");
    assert!(t.registry_names().is_empty() && t.branches("refs/heads/neighbor/").is_empty(), "nothing was created");
    assert!(o.stderr.contains("git neighbor add --no-setup a"), "add's own way around it: {}", o.stderr);
    // The other ways to create a tenant are refused the same way. None of them has `--no-setup`: they
    // must not offer it, nor another command's option.
    for args in [&["run", "--", "true"][..], &["pool", "fill", "1"]] {
        let r = t.neighbor(args);
        assert_eq!(r.code, 3, "{args:?}: {}", r.stderr);
        assert!(r.stderr.contains("trust --expect") && !r.stderr.contains("--no-setup"), "{args:?}: {}", r.stderr);
    }
    assert!(t.registry_names().is_empty());
    // doctor warns that new tenants are refused until someone approves.
    let d = t.neighbor(&["doctor"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert!(format!("{}{}", d.stdout, d.stderr).contains("are not approved"), "{}{}", d.stdout, d.stderr);
    // The refusal's own command approves them.
    let hash = expect_hash(&o.stderr);
    let shown = t.neighbor(&["trust", "--show"]).ok();
    assert!(shown.stdout.contains("NOT approved") && shown.stdout.contains(&hash), "{}", shown.stdout);
    t.neighbor(&["trust", "--expect", &hash]).ok();
    let path = t.add("a", &[]);
    let m = mark(&t, "a").expect("setup ran");
    let f: Vec<&str> = m.trim_end().split('|').collect();
    assert_eq!(Path::new(f[0]), path, "cwd is the tenant");
    assert_eq!((f[1], Path::new(f[2])), ("a", path.as_path()));
    assert!(f[3].is_empty(), "no --ports, no NEIGHBOR_PORT");
    assert!(f[4].starts_with("repo-a-"), "{m}");
    assert!(log_of(&t, "a").is_file(), "the tenant's setup log exists");
    assert_eq!(status_of(&t, "a"), "active");
    let row = t.tenants_json().into_iter().find(|r| r["name"] == "a").unwrap();
    assert_eq!(row["setup"]["state"], "ok");
    assert_eq!(Path::new(row["setup"]["log"].as_str().unwrap()), log_of(&t, "a"));
    // With --ports, setup sees the block; run, pool fill and the Claude hook run setup too.
    t.add("b", &["--ports"]);
    let f = mark(&t, "b").unwrap();
    assert!(f.split('|').nth(3).unwrap().parse::<u16>().unwrap() >= 20_000, "{f}");
    let o = t.neighbor(&["run", "r1", "--keep", "--", "true"]).ok();
    assert!(mark(&t, "r1").is_some(), "run ran setup: {}", o.stderr);
    t.neighbor(&["pool", "fill", "1"]).ok();
    assert!(mark(&t, "pool-1").is_some(), "pool fill ran setup");
    let payload = format!("{{\"name\":\"c1\",\"cwd\":\"{}\"}}", t.dir.display());
    let mut child = t
        .cmd_in(&t.dir, &["claude", "worktree-create"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    let o = Out::from_output(child.wait_with_output().unwrap()).ok();
    assert_eq!(o.stdout.lines().count(), 1, "only the path on stdout: {:?}", o.stdout);
    assert!(mark(&t, "c1").is_some(), "the Claude hook ran setup");
    // --no-setup skips it.
    t.add("n", &["--no-setup"]);
    assert!(mark(&t, "n").is_none());
    // Removal takes the log along.
    t.neighbor(&["remove", "a"]).ok();
    assert!(!log_of(&t, "a").exists());
}

#[test]
fn a_changed_setup_is_refused_again_and_revoke_withdraws_it() {
    let t = TestRepo::new();
    let cmd = marking(&t);
    set_setup(&t, &[&cmd]);
    t.neighbor(&["trust"]).ok();
    t.add("a", &[]);
    // A pulled commit or an agent's branch changes the commands: refused again, nothing run.
    set_setup(&t, &[&cmd, "echo more"]);
    let o = t.neighbor(&["add", "b"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("changed since it was approved") && o.stderr.contains("echo more"), "{}", o.stderr);
    assert!(mark(&t, "b").is_none() && !t.registry_names().contains(&"b.json".to_string()));
    // An approval names what was seen: a stale hash approves nothing.
    let old = t.neighbor(&["trust", "--show", "--json"]).ok().json();
    let stale = old["approved"]["hash"].as_str().unwrap().to_string();
    let o = t.neighbor(&["trust", "--expect", &stale[..12]]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(t.neighbor(&["add", "b"]).code, 3);
    let fresh = old["current_hash"].as_str().unwrap().to_string();
    let o = t.neighbor(&["trust", "--expect", &fresh[..12], "--json"]).ok().json();
    assert_eq!((o["action"].as_str(), o["current_approved"].as_bool()), (Some("approved"), Some(true)));
    t.add("b", &[]);
    assert!(mark(&t, "b").is_some());
    // Plain `trust` with nothing changed changes nothing.
    let o = t.neighbor(&["trust", "--json"]).ok().json();
    assert_eq!(o["action"], "unchanged");
    t.neighbor(&["trust", "--revoke"]).ok();
    assert_eq!(t.neighbor(&["add", "c"]).code, 3, "revoked: refused again");
    let o = t.neighbor(&["trust", "--show", "--json"]).ok().json();
    assert!(o["approved"].is_null(), "{o}");
}

#[test]
fn a_failing_setup_keeps_the_tenant_as_setup_failed_and_run_refuses_it() {
    let t = with_setup(&["echo preparing", "exit 7"]);
    t.neighbor(&["trust"]).ok();
    let o = t.neighbor(&["add", "f", "--ports"]);
    assert_eq!(o.code, 1, "a failed setup is an error: {}", o.stderr);
    assert!(o.stderr.contains("`exit 7` exited with 7") && o.stderr.contains("setup-failed"), "{}", o.stderr);
    assert!(o.stdout.is_empty(), "no path printed: {:?}", o.stdout);
    // Kept, not deleted: the record, the worktree, its branch and its port block.
    assert_eq!(status_of(&t, "f"), "setup-failed");
    let row = t.tenants_json().into_iter().find(|r| r["name"] == "f").unwrap();
    assert!(Path::new(row["path"].as_str().unwrap()).is_dir());
    assert_eq!(row["setup"]["state"], "failed");
    assert!(row["port"].as_u64().is_some());
    let log = std::fs::read_to_string(log_of(&t, "f")).unwrap();
    assert!(log.contains("preparing") && log.contains("setup failed"), "{log}");
    // run does not start its command there.
    let ran = t.root.join("ran");
    let o = t.neighbor(&["run", "f", "--", "touch", ran.to_str().unwrap()]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("setup-failed"), "{}", o.stderr);
    assert!(!ran.exists(), "the command was not started");
    // doctor names it, as a warning (exit 0): nothing is lost.
    let d = t.neighbor(&["doctor", "--json"]);
    assert_eq!(d.code, 0, "{}", d.stderr);
    assert!(d.stdout.contains("tenant f: setup failed"), "{}", d.stdout);
    // prune leaves it for a look; remove takes it (and its block).
    t.neighbor(&["prune"]).ok();
    assert_eq!(status_of(&t, "f"), "setup-failed");
    t.neighbor(&["remove", "f"]).ok();
    assert!(t.tenants_json().is_empty());
    // A run whose new tenant fails setup does not start its command either, and keeps the tenant.
    let o = t.neighbor(&["run", "r", "--", "touch", ran.to_str().unwrap()]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(!ran.exists());
    assert_eq!(status_of(&t, "r"), "setup-failed");
    // A pool never hands out a setup-failed tenant.
    assert_ne!(t.neighbor(&["pool", "fill", "1"]).code, 0);
    assert_ne!(t.neighbor(&["pool", "claim"]).code, 0, "nothing to claim");
}

#[test]
fn setup_output_goes_to_stderr_never_stdout_under_json() {
    let t = with_setup(&["echo SETUP-STDOUT", "echo SETUP-STDERR >&2"]);
    t.neighbor(&["trust"]).ok();
    let o = t.neighbor(&["add", "j", "--json"]).ok();
    let v = o.json();
    assert_eq!(v["name"], "j", "stdout is the JSON row alone: {}", o.stdout);
    assert!(!o.stdout.contains("SETUP-"), "{}", o.stdout);
    assert!(o.stderr.contains("SETUP-STDOUT") && o.stderr.contains("SETUP-STDERR"), "{}", o.stderr);
    let log = std::fs::read_to_string(log_of(&t, "j")).unwrap();
    assert!(log.contains("SETUP-STDOUT") && log.contains("SETUP-STDERR"), "{log}");
    // Plain add: the path is still the only line on stdout.
    let o = t.neighbor(&["add", "p"]).ok();
    assert_eq!(o.stdout.lines().count(), 1, "{:?}", o.stdout);
    let o = t.neighbor(&["run", "--json", "--", "true"]).ok();
    assert!(!o.stdout.contains("SETUP-") && o.json()["exit"] == 0, "{}", o.stdout);
}

#[test]
fn setup_commands_in_the_config_are_checked() {
    let t = TestRepo::new();
    t.write(".neighbor.toml", "[setup]\nrun = \"npm ci\"\n");
    let o = t.neighbor(&["add", "x"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("setup.run: expected an array"), "{}", o.stderr);
    t.write(".neighbor.toml", "[setup]\nrun = [\"\"]\n");
    assert!(t.neighbor(&["add", "x"]).stderr.contains("a command is empty"));
    t.write(".neighbor.toml", "[setup]\nrn = []\n");
    assert!(t.neighbor(&["add", "x"]).stderr.contains("did you mean `setup.run`?"));
}

/// A kill -9 of `add` at each point of setup (before a command, in the middle of one, after the last)
/// and at each git call of the whole `add --ports` with setup: the tenant is never lost and never handed
/// work half set up; it reads as setup-failed, `run` refuses it, `remove` takes it and its block.
#[test]
fn crash_at_the_setup_step() {
    let setup = |t: &TestRepo| {
        let slow = t.root.join("started");
        set_setup(t, &["echo one", &format!("touch {}; sleep 0.3", slow.display()), "echo three"]);
        t.neighbor(&["trust"]).ok();
    };
    let mut killed_points = 0;
    let mut check = |t: &TestRepo, before: &invariants::Before, what: &str| {
        let rows = t.tenants_json();
        let leases_file = t.root.join("home/.local/state/git-neighbor/ports.json");
        let leases = || -> Vec<serde_json::Value> {
            std::fs::read_to_string(&leases_file)
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|v| v["leases"].as_array().cloned())
                .unwrap_or_default()
        };
        if let Some(row) = rows.iter().find(|r| r["name"] == "k") {
            let status = row["status"].as_str().unwrap();
            if row["setup"].is_object() && row["setup"]["state"] != "ok" {
                assert_eq!(status, "setup-failed", "{what}: {row}");
                let o = t.neighbor(&["run", "k", "--", "true"]);
                assert_eq!(o.code, 3, "{what}: run must refuse: {}", o.stderr);
            }
        }
        t.neighbor(&["prune"]).ok();
        // The one invariant checker: nothing lost, no half-written state, prune's promises, lock free, doctor.
        invariants::assert_holds(t, before, Opts { after_prune: true, ..Opts::default() }, what);
        // Whatever is left, remove takes it along with its block; a later lease reclaims any orphan.
        if t.tenants_json().iter().any(|r| r["name"] == "k") {
            t.neighbor(&["remove", "k", "--force"]).ok();
        }
        t.neighbor(&["add", "k2", "--ports", "--no-setup"]).ok();
        let l = leases();
        assert_eq!(l.len(), 1, "{what}: only k2 holds a block: {l:?}");
        assert!(t.branches("refs/heads/neighbor/k").is_empty(), "{what}: the branch goes with the tenant");
        killed_points += 1;
    };
    // Named points of setup, from a clean run's trace.
    let names: Vec<String> = {
        let t = TestRepo::new();
        setup(&t);
        let trace = t.root.join("trace");
        let o = t.cmd_in(&t.dir, &["add", "k", "--ports"]).env("NEIGHBOR_FAILPOINT_TRACE", &trace).output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        std::fs::read_to_string(&trace).unwrap().lines().map(String::from).collect()
    };
    assert!(names.iter().any(|n| n == "setup-command") && names.iter().any(|n| n == "setup-finished"), "{names:?}");
    for (i, name) in names.iter().enumerate() {
        let t = TestRepo::new();
        setup(&t);
        let before = invariants::capture(&t);
        let nth = names[..=i].iter().filter(|n| *n == name).count();
        let o = t
            .cmd_in(&t.dir, &["add", "k", "--ports"])
            .env("NEIGHBOR_FAILPOINT", format!("{name}#{nth}"))
            .output()
            .unwrap();
        let o = Out::from_output(o);
        assert!(killed(&o), "{name}#{nth}: not killed: {}", o.stderr);
        check(&t, &before, &format!("killed at {name}#{nth}"));
    }
    // In the middle of a command: the second one has started.
    {
        let t = TestRepo::new();
        setup(&t);
        let before = invariants::capture(&t);
        let mut child = t.cmd_in(&t.dir, &["add", "k", "--ports"]).stderr(std::process::Stdio::null()).spawn().unwrap();
        let started = t.root.join("started");
        let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !started.exists() {
            assert!(std::time::Instant::now() < until, "setup never reached its second command");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(status_of(&t, "k"), "setup-failed", "an interrupted setup reads as setup-failed");
        check(&t, &before, "killed inside a setup command");
    }
    // Every git call of the whole command, before and after.
    let n = {
        let t = TestRepo::new();
        setup(&t);
        let f = Faults::new(&t);
        f.run(&t, &t.dir, &["add", "k", "--ports"], None).ok();
        f.calls().len()
    };
    for k in 1..=n {
        for when in [When::Before, When::After] {
            let t = TestRepo::new();
            setup(&t);
            let before = invariants::capture(&t);
            let f = Faults::new(&t);
            let o = f.run(&t, &t.dir, &["add", "k", "--ports"], Some((k, when)));
            assert!(killed(&o) || o.code == 0, "git call {k} {when:?}: {}", o.stderr);
            check(&t, &before, &format!("killed at git call {k} {when:?}"));
        }
    }
    eprintln!(
        "setup crash suite: {killed_points} kill points ({} named, 1 mid-command, {} git calls x2), 0 violations",
        names.len(),
        n
    );
}

/// Many creators at once, in two repositories sharing one HOME: every setup runs once in its own
/// tenant, with a port block no other tenant on the machine holds.
#[test]
fn parallel_adds_with_setup_get_their_own_ports() {
    let t = TestRepo::new();
    let two = t.root.join("two");
    std::fs::create_dir_all(&two).unwrap();
    t.git_in(&two, &["init", "-q", "-b", "main"]);
    write_in(&two, "README.md", "two\n");
    t.git_in(&two, &["add", "-A"]);
    t.git_in(&two, &["commit", "-q", "-m", "initial"]);
    let cmd = marking(&t);
    for dir in [&t.dir, &two] {
        write_in(dir, ".neighbor.toml", &format!("[setup]\nrun = [{}]\n", toml_str(&cmd)));
        t.neighbor_in(dir, &["trust"]).ok();
    }
    let n = 8;
    let kids: Vec<_> = (0..n)
        .map(|i| {
            let dir = if i % 2 == 0 { &t.dir } else { &two };
            t.cmd_in(dir, &["add", &format!("w{i}"), "--ports"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for k in kids {
        Out::from_output(k.wait_with_output().unwrap()).ok();
    }
    let mut seen = std::collections::BTreeSet::new();
    for i in 0..n {
        let m = mark(&t, &format!("w{i}")).unwrap_or_else(|| panic!("setup of w{i} did not run"));
        let first: u16 = m.trim_end().split('|').nth(3).unwrap().parse().unwrap();
        for p in first..first + 10 {
            assert!(seen.insert(p), "port {p} given twice");
        }
    }
    eprintln!("parallel setup: {n} concurrent adds in 2 repositories, {} ports, 0 collisions", seen.len());
}
