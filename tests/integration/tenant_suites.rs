//! Crash and race suites for the tenant lifecycle (issue 11): kill -9 before and after every git call of
//! pool claim/release, safe-pull (clean, dirty, diverged, `--evacuate`) and at every named fail point of
//! `hooks install`; rerun; then one invariant checker, with git itself: every commit and uncommitted
//! change that existed is still reachable (a ref, a worktree's HEAD, a rescue ref, or the file on disk),
//! no state file is half-written, the building lock is free. Then a bounded concurrency stress of pool
//! claim/release and `run` with agents committing in their tenants, its seed printed.
//!
//! Default budget is small (every k for short commands, a seeded sample of k for long ones);
//! `NEIGHBOR_LONG=1` runs every kill point and a longer stress.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::faults::{Faults, When, killed};

fn long() -> bool {
    std::env::var("NEIGHBOR_LONG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// A small seeded generator (xorshift64*), so a failing run can be replayed with `NEIGHBOR_SEED`.
struct Rng(u64);

impl Rng {
    fn from_env(what: &str) -> Self {
        let seed = std::env::var("NEIGHBOR_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
        eprintln!("{what}: seed {seed} (replay with NEIGHBOR_SEED={seed})");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The kill points to try out of `1..=n`: all of them when few (or `NEIGHBOR_LONG`), else a seeded
/// sample of `cap` that always includes the first and the last.
fn points(n: usize, cap: usize, rng: &mut Rng) -> Vec<usize> {
    if long() || n <= cap {
        return (1..=n).collect();
    }
    let mut s: BTreeSet<usize> = [1, n].into_iter().collect();
    while s.len() < cap {
        s.insert(1 + rng.below(n as u64) as usize);
    }
    s.into_iter().collect()
}

// ---- the invariant checker ------------------------------------------------------------------------

/// What existed before a command ran: commits (every ref and every worktree's HEAD) and uncommitted
/// contents (every changed or untracked file of every worktree, by content).
pub struct Before {
    commits: Vec<String>,
    contents: Vec<(String, Vec<u8>)>,
}

fn worktree_dirs(t: &TestRepo) -> Vec<(PathBuf, Option<String>)> {
    let out = t.git(&["worktree", "list", "--porcelain"]);
    let mut v = Vec::new();
    let mut path = None;
    for l in out.lines() {
        if let Some(p) = l.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if let Some(h) = l.strip_prefix("HEAD ") {
            if let Some(p) = path.take() {
                v.push((p, Some(h.to_string())));
            }
        } else if l.is_empty()
            && let Some(p) = path.take()
        {
            v.push((p, None));
        }
    }
    if let Some(p) = path {
        v.push((p, None));
    }
    v
}

fn tips(t: &TestRepo) -> Vec<String> {
    let mut v: Vec<String> = t.git(&["for-each-ref", "--format=%(objectname)"]).lines().map(String::from).collect();
    v.extend(worktree_dirs(t).into_iter().filter_map(|(_, h)| h));
    v.sort();
    v.dedup();
    v
}

fn dirty_contents(t: &TestRepo, dir: &Path) -> Vec<(String, Vec<u8>)> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let o = t.git_out(dir, &["status", "--porcelain=v1", "-z", "--untracked-files=all"]);
    let mut v = Vec::new();
    let mut it = o.stdout.split('\0').filter(|s| !s.is_empty());
    while let Some(rec) = it.next() {
        let (xy, p) = rec.split_at(3);
        if xy.starts_with('R') || xy.starts_with('C') {
            it.next();
        }
        if let Ok(b) = std::fs::read(dir.join(p)) {
            v.push((p.to_string(), b));
        }
    }
    v
}

impl Before {
    pub fn take(t: &TestRepo) -> Self {
        let commits = tips(t);
        let mut contents = Vec::new();
        for (d, _) in worktree_dirs(t) {
            contents.extend(dirty_contents(t, &d));
        }
        Before { commits, contents }
    }

    /// Check the building against what existed before; `what` names the kill point in messages.
    pub fn check(&self, t: &TestRepo, what: &str) {
        let now = tips(t);
        let mut args = vec!["rev-list", "--objects"];
        args.extend(now.iter().map(String::as_str));
        let reach = t.git(&args);
        let objects: BTreeSet<&str> = reach.lines().filter_map(|l| l.split(' ').next()).collect();
        for c in &self.commits {
            assert!(objects.contains(c.as_str()), "{what}: commit {c} is no longer reachable");
        }
        let on_disk: Vec<(PathBuf, Option<String>)> = worktree_dirs(t);
        for (rel, bytes) in &self.contents {
            let blob = hash(t, bytes);
            let found = objects.contains(blob.as_str())
                || on_disk.iter().any(|(d, _)| std::fs::read(d.join(rel)).is_ok_and(|b| &b == bytes));
            assert!(found, "{what}: uncommitted {rel} ({blob}) is gone from disk and from every ref");
        }
        check_state_files(t, what);
    }
}

fn hash(t: &TestRepo, bytes: &[u8]) -> String {
    use std::io::Write;
    let mut c = Command::new("git");
    t.env(&mut c);
    let mut ch = c
        .args(["hash-object", "--stdin"])
        .current_dir(&t.dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    ch.stdin.take().unwrap().write_all(bytes).unwrap();
    String::from_utf8(ch.wait_with_output().unwrap().stdout).unwrap().trim().to_string()
}

/// Every registry record and lease note parses (no half-written file), and the building lock is free.
fn check_state_files(t: &TestRepo, what: &str) {
    let state = t.common_dir().join("neighbor");
    for sub in ["registry", "leases"] {
        for e in std::fs::read_dir(state.join(sub)).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.ends_with(".json") && !n.starts_with('.') {
                let b = std::fs::read(e.path()).unwrap();
                assert!(serde_json::from_slice::<serde_json::Value>(&b).is_ok(), "{what}: half-written {sub}/{n}");
            }
        }
    }
    if state.join("lock").exists() {
        let st = Command::new("flock").args(["-n"]).arg(state.join("lock")).arg("true").status().unwrap();
        assert!(st.success(), "{what}: the building lock is still held");
    }
}

// ---- pool -----------------------------------------------------------------------------------------

/// A long-lived stand-in for the agent a claim follows.
struct Agent(Child);

impl Agent {
    fn new() -> Self {
        Agent(Command::new("sleep").arg("600").spawn().unwrap())
    }
    fn pid(&self) -> String {
        self.0.id().to_string()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A pool of one, claimed by `agent`, holding a commit and an uncommitted file (or nothing).
fn claimed_pool(agent: &Agent, work: bool) -> (TestRepo, String, String, PathBuf) {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let c = t.neighbor(&["pool", "claim", "--json", "--follow-pid", &agent.pid()]).ok().json();
    let p = PathBuf::from(c["path"].as_str().unwrap());
    if work {
        write_in(&p, "done.txt", "committed work\n");
        t.git_in(&p, &["add", "done.txt"]);
        t.git_in(&p, &["commit", "-q", "-m", "agent work"]);
        write_in(&p, "wip.txt", "uncommitted work\n");
    }
    // Main moves on, so a reset would change the tenant.
    t.commit_file("main.txt", "main moved\n", "main moves");
    (t, c["name"].as_str().unwrap().into(), c["lease_id"].as_str().unwrap().into(), p)
}

fn wait_claim_not_live(t: &TestRepo, name: &str) {
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
        let m = l.as_array().unwrap().iter().find(|m| m["name"] == name).cloned();
        if m.is_none_or(|m| m["state"] != "claimed") {
            return;
        }
        assert!(Instant::now() < until, "claim on {name} never died");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn crash_at_every_git_call_of_pool_release() {
    let mut rng = Rng::from_env("pool release crashes");
    let (mut killed_points, mut enumerable) = (0, 0);
    for work in [true, false] {
        let n = {
            let agent = Agent::new();
            let (t, name, id, _) = claimed_pool(&agent, work);
            let f = Faults::new(&t);
            f.run(&t, &t.dir, &["pool", "release", &name, "--lease-id", &id], None).ok();
            f.calls().len()
        };
        assert!(n >= 1);
        enumerable += 2 * n;
        for k in points(n, 6, &mut rng) {
            for when in [When::Before, When::After] {
                let agent = Agent::new();
                let (t, name, id, _) = claimed_pool(&agent, work);
                let before = Before::take(&t);
                let f = Faults::new(&t);
                let what = format!("release (work={work}) killed {when:?} call {k}");
                let o = f.run(&t, &t.dir, &["pool", "release", &name, "--lease-id", &id], Some((k, when)));
                assert!(killed(&o) || o.code == 0, "{what}: {}", o.stderr);
                killed_points += usize::from(killed(&o));
                before.check(&t, &what);
                // Rerun: it finishes (or says why not), and still nothing is lost.
                let o = t.neighbor(&["pool", "release", &name, "--lease-id", &id]);
                assert!(o.code != 101, "{what}: rerun panicked: {}", o.stderr);
                before.check(&t, &format!("{what}, rerun"));
                if work {
                    let row = t.tenants_json().into_iter().find(|r| r["name"] == name.as_str()).unwrap();
                    assert_eq!(row["status"], "kept", "{what}: {row}");
                }
            }
        }
    }
    eprintln!("pool release: {killed_points} kill points hit of {enumerable} (NEIGHBOR_LONG=1: all), 0 violations");
}

#[test]
fn crash_at_every_git_call_of_a_claim_that_releases_a_dead_claim() {
    let mut rng = Rng::from_env("pool claim crashes");
    let setup = || {
        let dead = Agent::new();
        let (t, name, _, p) = claimed_pool(&dead, true);
        drop(dead);
        wait_claim_not_live(&t, &name);
        (t, name, p)
    };
    let n = {
        let (t, _, _) = setup();
        let f = Faults::new(&t);
        let agent = Agent::new();
        let _ = f.run(&t, &t.dir, &["pool", "claim", "--follow-pid", &agent.pid()], None);
        f.calls().len()
    };
    let mut killed_points = 0;
    for k in points(n, 6, &mut rng) {
        for when in [When::Before, When::After] {
            let (t, name, p) = setup();
            let before = Before::take(&t);
            let f = Faults::new(&t);
            let agent = Agent::new();
            let what = format!("claim killed {when:?} call {k}");
            let o = f.run(&t, &t.dir, &["pool", "claim", "--follow-pid", &agent.pid()], Some((k, when)));
            killed_points += usize::from(killed(&o));
            before.check(&t, &what);
            let o = t.neighbor(&["pool", "claim", "--follow-pid", &agent.pid()]);
            assert_ne!(o.stdout.trim(), p.display().to_string(), "{what}: the dead claimant's work was handed out");
            before.check(&t, &format!("{what}, rerun"));
            assert_eq!(std::fs::read_to_string(p.join("wip.txt")).unwrap(), "uncommitted work\n", "{what}");
            let row = t.tenants_json().into_iter().find(|r| r["name"] == name.as_str()).unwrap();
            assert_eq!(row["status"], "kept", "{what}: the dead claimant's work is kept out of the pool: {row}");
        }
    }
    eprintln!("pool claim: {killed_points} kill points hit of {} (NEIGHBOR_LONG=1: all), 0 violations", 2 * n);
}

// ---- safe-pull ------------------------------------------------------------------------------------

/// A clone behind its remote by one commit, in one of four local states.
fn pull_setup(case: &str) -> TestRepo {
    let t = TestRepo::with_remote();
    let up = t.root.join("repo");
    write_in(&up, "upstream.txt", "from upstream\n");
    t.git_in(&up, &["add", "upstream.txt"]);
    t.git_in(&up, &["commit", "-q", "-m", "upstream work"]);
    t.git_in(&up, &["push", "-q", t.root.join("origin.git").to_str().unwrap(), "main"]);
    match case {
        "clean" => {}
        "dirty" | "evacuate" => {
            t.write("README.md", "local edit\n");
            t.write("notes.txt", "untracked notes\n");
        }
        "diverged" => {
            t.commit_file("local.txt", "local commit\n", "local work");
            t.write("README.md", "local edit\n");
            t.write("notes.txt", "untracked notes\n");
        }
        _ => unreachable!(),
    }
    t
}

#[test]
fn crash_at_every_git_call_of_safe_pull() {
    let mut rng = Rng::from_env("safe-pull crashes");
    let (mut killed_points, mut enumerable) = (0, 0);
    for case in ["clean", "dirty", "diverged", "evacuate"] {
        let args: &[&str] = if case == "evacuate" { &["safe-pull", "--evacuate", "ev"] } else { &["safe-pull"] };
        let n = {
            let t = pull_setup(case);
            let f = Faults::new(&t);
            f.run(&t, &t.dir, args, None).ok();
            f.calls().len()
        };
        enumerable += 2 * n;
        for k in points(n, 3, &mut rng) {
            for when in [When::Before, When::After] {
                let t = pull_setup(case);
                let before = Before::take(&t);
                let f = Faults::new(&t);
                let what = format!("safe-pull {case} killed {when:?} call {k}");
                let o = f.run(&t, &t.dir, args, Some((k, when)));
                assert!(killed(&o) || o.code == 0, "{what}: {}", o.stderr);
                killed_points += usize::from(killed(&o));
                before.check(&t, &what);
                // Rerun (evacuate to a new name: the first may exist already); never a panic or a marker.
                let again: &[&str] = if case == "evacuate" { &["safe-pull", "--evacuate", "ev2"] } else { args };
                let o = t.neighbor(again);
                assert!(o.code != 101, "{what}: rerun panicked: {}", o.stderr);
                before.check(&t, &format!("{what}, rerun"));
                let grep = t.git_out(&t.dir, &["grep", "-n", "^<<<<<<<"]);
                assert_ne!(grep.code, 0, "{what}: conflict markers: {}", grep.stdout);
            }
        }
    }
    eprintln!("safe-pull: {killed_points} kill points hit of {enumerable} (NEIGHBOR_LONG=1: all), 0 violations");
}

// ---- hooks install --------------------------------------------------------------------------------

/// Names of the fail points a clean run passes (`NEIGHBOR_FAILPOINT_TRACE`).
fn traced_points(t: &TestRepo, args: &[&str]) -> Vec<String> {
    let trace = t.root.join("failpoints.trace");
    let _ = std::fs::remove_file(&trace);
    let o = t.cmd_in(&t.dir, args).env("NEIGHBOR_FAILPOINT_TRACE", &trace).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    std::fs::read_to_string(&trace).unwrap_or_default().lines().map(String::from).collect()
}

fn user_hooks(t: &TestRepo) -> Vec<(PathBuf, Vec<u8>)> {
    use std::os::unix::fs::PermissionsExt;
    let hooks = t.common_dir().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let mine = vec![
        (hooks.join("pre-commit"), b"#!/bin/sh\necho my pre-commit\n".to_vec()),
        (hooks.join("pre-rebase"), b"#!/usr/bin/env python3\nprint('my pre-rebase')\n".to_vec()),
    ];
    for (p, b) in &mine {
        std::fs::write(p, b).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    mine
}

#[test]
fn crash_at_every_fail_point_of_hooks_install() {
    let names = {
        let t = TestRepo::new();
        user_hooks(&t);
        traced_points(&t, &["hooks", "install"])
    };
    assert!(!names.is_empty(), "hooks install passes named fail points");
    let mut killed_points = 0;
    for (i, name) in names.iter().enumerate() {
        let t = TestRepo::new();
        let mine = user_hooks(&t);
        // Kill at the i-th point passed (a name may repeat: one per hook).
        let o = t
            .cmd_in(&t.dir, &["hooks", "install"])
            .env("NEIGHBOR_FAILPOINT", format!("{name}#{}", names[..=i].iter().filter(|n| *n == name).count()))
            .output()
            .unwrap();
        let what = format!("hooks install killed at {name} (point {})", i + 1);
        assert_eq!(o.status.code(), None, "{what}: not killed: {}", String::from_utf8_lossy(&o.stderr));
        killed_points += 1;
        // Rerun, uninstall: the user's hooks come back byte for byte, nothing else is left.
        let o = t.neighbor(&["hooks", "install"]);
        assert_eq!(o.code, 0, "{what}: rerun: {}", o.stderr);
        t.neighbor(&["hooks", "uninstall"]).ok();
        for (p, b) in &mine {
            assert_eq!(&std::fs::read(p).unwrap_or_default(), b, "{what}: {} lost", p.display());
        }
        let left: Vec<String> = std::fs::read_dir(t.common_dir().join("hooks"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains("neighbor") || n.contains(".tmp"))
            .collect();
        assert!(left.is_empty(), "{what}: left {left:?}");
        check_state_files(&t, &what);
    }
    eprintln!("hooks install: {killed_points} kill points hit, 0 violations");
}

// ---- concurrency stress ---------------------------------------------------------------------------

const AGENT: &str = r#"
set -u
i=0
while [ "$i" -lt "$ROUNDS" ]; do
  i=$((i+1))
  if [ $(( (AGENT_SEED + i) % 5 )) = 4 ]; then
    # A claimant that dies holding uncommitted work: its claim follows this subshell, which exits.
    echo OP >> "$LOG"
    ( out=$(git-neighbor pool claim --json 2>/dev/null | tr -d ' \n') || exit 0
      path=$(printf '%s' "$out" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
      [ -n "$path" ] || exit 0
      echo "crashed $AGENT_ID $i" > "$path/crash$AGENT_ID-$i.txt"
      echo "WIP $path/crash$AGENT_ID-$i.txt crashed $AGENT_ID $i" >> "$LOG" )
    continue
  fi
  echo OP >> "$LOG"
  out=$(git-neighbor pool claim --json 2>/dev/null) || { echo OP >> "$LOG"; git-neighbor pool fill 2 >/dev/null 2>&1; continue; }
  out=$(printf '%s' "$out" | tr -d ' \n')
  name=$(printf '%s' "$out" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
  path=$(printf '%s' "$out" | sed -n 's/.*"path":"\([^"]*\)".*/\1/p')
  id=$(printf '%s' "$out" | sed -n 's/.*"lease_id":"\([^"]*\)".*/\1/p')
  # Two live agents must never hold the same tenant.
  [ -n "$name" ] && [ -n "$path" ] && [ -n "$id" ] || { echo "BAD-ANSWER $out" >> "$LOG"; continue; }
  mkdir "$OWNERS/$name" 2>/dev/null || echo "DOUBLE $name" >> "$LOG"
  # A claim hands out a clean tenant: never another claimant's leftovers.
  [ -z "$(git -C "$path" status --porcelain --untracked-files=all)" ] || echo "DIRTY $name" >> "$LOG"
  case $(( (AGENT_SEED + i) % 3 )) in
    0) echo "agent $AGENT_ID round $i" > "$path/a$AGENT_ID-$i.txt"
       git -C "$path" add "a$AGENT_ID-$i.txt" && git -C "$path" commit -q -m "agent $AGENT_ID round $i" \
         && echo "COMMIT $(git -C "$path" rev-parse HEAD)" >> "$LOG" ;;
    1) echo "wip $AGENT_ID $i" > "$path/wip$AGENT_ID-$i.txt"
       echo "WIP $path/wip$AGENT_ID-$i.txt wip $AGENT_ID $i" >> "$LOG" ;;
    *) ;;
  esac
  rmdir "$OWNERS/$name"
  echo OP >> "$LOG"
  git-neighbor pool release "$name" --lease-id "$id" >/dev/null 2>&1 || echo "RELEASE-FAILED $name" >> "$LOG"
done
"#;

#[test]
fn stress_pool_and_run_with_agents_committing() {
    let mut rng = Rng::from_env("pool/run stress");
    let (agents, rounds, runs) = if long() { (8, 24, 24) } else { (5, 8, 8) };
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "3"]).ok();
    let owners = t.root.join("owners");
    std::fs::create_dir_all(&owners).unwrap();
    let log = t.root.join("agents.log");
    std::fs::write(&log, "").unwrap();
    let mut kids = Vec::new();
    for a in 0..agents {
        let mut c = Command::new("sh");
        t.env(&mut c);
        c.args(["-c", AGENT])
            .env("ROUNDS", rounds.to_string())
            .env("OWNERS", &owners)
            .env("LOG", &log)
            .env("AGENT_ID", a.to_string())
            .env("AGENT_SEED", rng.below(1000).to_string())
            .current_dir(&t.dir)
            .stdin(Stdio::null());
        kids.push(c.spawn().unwrap());
    }
    // `run`s alongside, some committing in their tenant (kept), some not (removed).
    let mut run_kids = Vec::new();
    for r in 0..runs {
        let script = if rng.below(2) == 0 {
            format!(
                "echo run{r} > r{r}.txt && git add r{r}.txt && git commit -q -m run{r} && git rev-parse HEAD >> {}",
                log.display()
            )
        } else {
            "true".to_string()
        };
        run_kids.push(t.spawn(&["run", "--", "sh", "-c", &script]));
    }
    for k in kids {
        let mut k = k;
        assert!(k.wait().unwrap().success());
    }
    for k in run_kids {
        let o = k.wait_with_output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let text = std::fs::read_to_string(&log).unwrap();
    let mut violations = Vec::new();
    let now = tips(&t);
    let mut args = vec!["rev-list"];
    args.extend(now.iter().map(String::as_str));
    let reach: BTreeSet<String> = t.git(&args).lines().map(String::from).collect();
    let ops = text.lines().filter(|l| *l == "OP").count() + runs;
    let (mut commits, mut wips) = (0, 0);
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("BAD-ANSWER ") {
            violations.push(format!("claim answered {rest}"));
        } else if let Some(rest) = l.strip_prefix("DIRTY ") {
            violations.push(format!("{rest} handed out with someone else's uncommitted work"));
        } else if let Some(rest) = l.strip_prefix("DOUBLE ") {
            violations.push(format!("{rest} held by two live agents"));
        } else if let Some(c) = l.strip_prefix("COMMIT ") {
            commits += 1;
            if !reach.contains(c) {
                violations.push(format!("commit {c} lost"));
            }
        } else if let Some(rest) = l.strip_prefix("WIP ") {
            wips += 1;
            let (p, content) = rest.split_once(' ').unwrap();
            if std::fs::read_to_string(p).map(|s| s.trim().to_string()).ok().as_deref() != Some(content) {
                violations.push(format!("uncommitted {p} lost"));
            }
        } else if l.len() == 40 {
            commits += 1;
            if !reach.contains(l) {
                violations.push(format!("run commit {l} lost"));
            }
        }
    }
    check_state_files(&t, "after the stress");
    eprintln!(
        "stress: {agents} agents x {rounds} rounds + {runs} runs: {ops} concurrent operations; {commits} commits, {wips} uncommitted files checked; {} violations",
        violations.len()
    );
    assert!(violations.is_empty(), "{violations:#?}");
}
