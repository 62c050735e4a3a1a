//! Port blocks leased machine-wide: one lease file per user (under `$XDG_STATE_HOME`, else
//! `~/.local/state`), shared by every repository; every port checked with a real `bind()`; released by
//! `remove`/`prune`; reclaimed when its holder's repository or tenant is gone.

use crate::common::*;
use crate::faults::killed;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

/// A second repository beside `t`'s, sharing its HOME (so the same per-user lease file).
fn second_repo(t: &TestRepo, name: &str) -> PathBuf {
    let dir = t.root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    t.git_in(&dir, &["init", "-q", "-b", "main"]);
    write_in(&dir, "README.md", "two\n");
    t.git_in(&dir, &["add", "-A"]);
    t.git_in(&dir, &["commit", "-q", "-m", "initial"]);
    dir
}

/// The per-user lease file, where HOME (pinned per test) puts it.
fn lease_file(t: &TestRepo) -> PathBuf {
    t.root.join("home/.local/state/git-neighbor/ports.json")
}

fn leases(t: &TestRepo) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(lease_file(t)).unwrap_or_else(|_| "{\"leases\":[]}".into());
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    v["leases"].as_array().cloned().unwrap_or_default()
}

/// The first port of tenant `name`'s block, as `list --json` shows it.
fn port_of(t: &TestRepo, dir: &Path, name: &str) -> u16 {
    let v = t.neighbor_in(dir, &["list", "--json"]).ok().json();
    let row = v.as_array().unwrap().iter().find(|r| r["name"] == name).cloned();
    let row = row.unwrap_or_else(|| panic!("no tenant {name}: {v}"));
    row["port"].as_u64().unwrap_or_else(|| panic!("tenant {name} has no port: {row}")) as u16
}

fn add_ports(t: &TestRepo, dir: &Path, name: &str) -> u16 {
    t.neighbor_in(dir, &["add", name, "--ports"]).ok();
    port_of(t, dir, name)
}

#[test]
fn two_repositories_asking_at_once_get_disjoint_blocks() {
    let t = TestRepo::new();
    let two = second_repo(&t, "two");
    // Six processes at the same moment, three in each repository: `run` (as before) and `add --ports`.
    let mut kids = Vec::new();
    for (i, dir) in [&t.dir, &two, &t.dir, &two, &t.dir, &two].into_iter().enumerate() {
        let args: Vec<String> = if i < 2 {
            vec!["run".into(), "--keep".into(), "--".into(), "sh".into(), "-c".into(), "echo $NEIGHBOR_PORT".into()]
        } else {
            vec!["add".into(), format!("p{i}"), "--ports".into()]
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let child = t.cmd_in(dir, &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        kids.push((dir.clone(), i, child));
    }
    let mut firsts = Vec::new();
    for (dir, i, child) in kids {
        let o = Out::from_output(child.wait_with_output().unwrap()).ok();
        let port = if i < 2 { o.stdout.trim().parse::<u16>().unwrap() } else { port_of(&t, &dir, &format!("p{i}")) };
        firsts.push(port);
    }
    let mut all = BTreeSet::new();
    for p in &firsts {
        for q in *p..*p + 10 {
            assert!(all.insert(q), "port {q} handed out twice: blocks {firsts:?}");
        }
    }
    // One lease file, naming each repository and tenant.
    let l = leases(&t);
    assert_eq!(l.len(), 6, "{l:?}");
    let repos: BTreeSet<String> = l.iter().map(|e| e["repo"].as_str().unwrap().to_string()).collect();
    assert_eq!(repos.len(), 2, "{repos:?}");
}

#[test]
fn a_port_bound_by_another_process_is_skipped() {
    let t = TestRepo::new();
    let first = add_ports(&t, &t.dir, "a");
    t.neighbor(&["remove", "a"]).ok();
    // Someone else (not a tenant) listens on a port of that block.
    let busy = (first..first + 10)
        .find_map(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok().map(|l| (p, l)))
        .expect("some port of the block can be bound");
    let b = add_ports(&t, &t.dir, "b");
    assert!(!(b..b + 10).contains(&busy.0), "block {b} includes port {}, which is bound", busy.0);
    drop(busy);
}

#[test]
fn env_names_every_port_and_a_compose_project() {
    let t = TestRepo::new();
    let o =
        t.neighbor(&["run", "--", "sh", "-c", "echo \"$NEIGHBOR_PORT|$NEIGHBOR_PORTS|$COMPOSE_PROJECT_NAME\""]).ok();
    let line = o.stdout.trim();
    let f: Vec<&str> = line.split('|').collect();
    let p: u16 = f[0].parse().unwrap();
    let all: Vec<u16> = f[1].split(' ').map(|s| s.parse().unwrap()).collect();
    assert_eq!(all, (p..p + 10).collect::<Vec<_>>(), "{line}");
    let compose = f[2];
    assert!(compose.starts_with("repo-run-"), "{line}");
    assert!(compose.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_'), "{line}");
}

#[test]
fn removal_and_prune_release_the_block() {
    let t = TestRepo::new();
    let a = add_ports(&t, &t.dir, "a");
    assert_eq!(leases(&t).len(), 1);
    t.neighbor(&["remove", "a"]).ok();
    assert!(leases(&t).is_empty(), "remove releases: {:?}", leases(&t));
    // An ephemeral tenant whose holder is killed (-9) is pruned, and its block goes with it.
    let pid = t.root.join("cmd.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pid.display());
    let mut holder = t.cmd_in(&t.dir, &["run", "--", "sh", "-c", &script]).stdout(Stdio::null()).spawn().unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !pid.exists() || std::fs::read_to_string(&pid).unwrap().trim().is_empty() {
        assert!(std::time::Instant::now() < until, "run never started its command");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // (Port numbers are not compared across tests: other tests' bind checks run at the same moment.)
    assert_eq!(leases(&t).len(), 1, "only the run's block is leased: {:?}", leases(&t));
    assert!(a >= 20_000);
    holder.kill().unwrap();
    holder.wait().unwrap();
    let cmd = std::fs::read_to_string(&pid).unwrap();
    std::process::Command::new("kill").args(["-9", cmd.trim()]).status().unwrap();
    let o = t.neighbor(&["prune"]).ok();
    assert!(leases(&t).is_empty(), "prune releases the dead run's block: {:?}\n{}", leases(&t), o.stderr);
}

#[test]
fn a_lease_whose_repository_or_tenant_is_gone_is_reclaimed() {
    let t = TestRepo::new();
    let two = second_repo(&t, "two");
    add_ports(&t, &two, "g");
    add_ports(&t, &two, "h");
    assert_eq!(leases(&t).len(), 2);
    // A tenant record lost without a release (its record deleted by hand), then the whole repository.
    std::fs::remove_file(two.join(".git/neighbor/registry/h.json")).unwrap();
    add_ports(&t, &t.dir, "x");
    let names: Vec<String> = leases(&t).iter().map(|l| l["tenant"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["g", "x"], "the lease of the tenant that is gone is reclaimed");
    std::fs::remove_dir_all(&two).unwrap();
    std::fs::remove_dir_all(t.root.join("two.worktrees")).unwrap();
    // The other repository's next lease reclaims the block of the repository that is gone.
    add_ports(&t, &t.dir, "y");
    let names: Vec<String> = leases(&t).iter().map(|l| l["tenant"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["x", "y"], "{:?}", leases(&t));
}

/// A `kill -9` right before and right after the lease file is written: the block is never handed out
/// twice, and a block whose holder died before its tenant was recorded is reclaimed.
#[test]
fn crash_at_the_port_lease_write() {
    for point in ["ports-lease-write#1", "ports-leased#1"] {
        let t = TestRepo::new();
        let o = t.cmd_in(&t.dir, &["add", "k", "--ports"]).env("NEIGHBOR_FAILPOINT", point).output().unwrap();
        let o = Out::from_output(o);
        assert!(killed(&o), "{point}: not killed: {}", o.stderr);
        // No temp file beside the lease file, whatever was left.
        let dir = lease_file(&t).parent().unwrap().to_path_buf();
        let stray: Vec<String> = std::fs::read_dir(&dir)
            .map(|rd| rd.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let stray: Vec<&String> = stray.iter().filter(|n| n.contains(".tmp.")).collect();
        // A killed writer may leave its temp file; the next writer sweeps it under the lock.
        t.neighbor(&["prune"]).ok();
        let first = add_ports(&t, &t.dir, "k2");
        assert_eq!(leases(&t).len(), 1, "{point}: the dead creator's lease is reclaimed: {:?}", leases(&t));
        assert!(first >= 20_000, "{point}");
        let left: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".tmp."))
            .collect();
        assert!(left.is_empty(), "{point}: temp files left after a later write: {left:?} (before: {stray:?})");
        assert!(t.branches("refs/heads/neighbor/k").len() <= 1);
    }
}

#[test]
fn the_lease_file_follows_xdg_state_home() {
    let t = TestRepo::new();
    let xdg = t.root.join("xdg-state");
    let o = t.cmd_in(&t.dir, &["add", "x", "--ports"]).env("XDG_STATE_HOME", &xdg).output().unwrap();
    Out::from_output(o).ok();
    let text = std::fs::read_to_string(xdg.join("git-neighbor/ports.json")).expect("lease file under XDG_STATE_HOME");
    assert!(text.contains("\"tenant\": \"x\""), "{text}");
    assert!(!lease_file(&t).exists(), "nothing under HOME when XDG_STATE_HOME is set");
    // Release goes to the same file.
    let o = t.cmd_in(&t.dir, &["remove", "x"]).env("XDG_STATE_HOME", &xdg).output().unwrap();
    Out::from_output(o).ok();
    let text = std::fs::read_to_string(xdg.join("git-neighbor/ports.json")).unwrap();
    assert!(!text.contains("\"tenant\": \"x\""), "{text}");
}
