//! `run`, the elevator, the pool and `fleet`: real processes, real signals.

use crate::common::*;
use std::path::Path;
use std::time::{Duration, Instant};

fn alive(pid: &str) -> bool {
    std::fs::read_to_string(format!("/proc/{}/stat", pid.trim()))
        .map(|s| !s.rsplit(')').next().unwrap_or("").trim_start().starts_with('Z'))
        .unwrap_or(false)
}

fn wait_for(p: &Path, secs: u64) {
    let until = Instant::now() + Duration::from_secs(secs);
    while !p.exists() {
        assert!(Instant::now() < until, "{} never appeared", p.display());
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(pid: u32, sig: &str) {
    assert!(std::process::Command::new("kill").args([sig, &pid.to_string()]).status().unwrap().success());
}

#[test]
fn exit_codes_pass_through_and_env_is_set() {
    let t = TestRepo::new();
    let o = t.neighbor(&["run", "--", "sh", "-c", "echo $NEIGHBOR_NAME $NEIGHBOR_BRANCH $NEIGHBOR_PORT; pwd; exit 7"]);
    assert_eq!(o.code, 7, "{}", o.stderr);
    let lines: Vec<&str> = o.stdout.lines().collect();
    let fields: Vec<&str> = lines[0].split(' ').collect();
    assert!(fields[0].starts_with("run-"), "{}", o.stdout);
    assert_eq!(fields[1], format!("neighbor/{}", fields[0]));
    assert!(fields[2].parse::<u16>().unwrap() >= 20000);
    assert!(lines[1].ends_with(&format!("repo.worktrees/{}", fields[0])));
    // A clean run leaves nothing behind.
    assert!(t.tenants_json().is_empty());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
    assert_eq!(t.neighbor(&["run", "--", "true"]).code, 0);
    assert_eq!(t.neighbor(&["run", "--", "no-such-program-xyz"]).code, 1);
}

#[test]
fn timeout_ends_the_whole_group_with_124() {
    let t = TestRepo::new();
    let pids = t.root.join("pids");
    let script = format!("echo $$ > {p}; sleep 30 & echo $! >> {p}; wait", p = pids.display());
    let start = Instant::now();
    let o = t.neighbor(&["run", "--timeout", "1s", "--", "sh", "-c", &script]);
    assert_eq!(o.code, 124, "{}", o.stderr);
    assert!(start.elapsed() < Duration::from_secs(10));
    let text = std::fs::read_to_string(&pids).unwrap();
    assert_eq!(text.lines().count(), 2);
    for pid in text.lines() {
        assert!(!alive(pid), "process {pid} of the group survived");
    }
    assert!(t.tenants_json().is_empty());
}

#[test]
fn sigterm_reaches_the_child_and_cleanup_still_happens() {
    let t = TestRepo::new();
    let ready = t.root.join("ready");
    let script =
        format!("trap 'echo got-term >&2; exit 9' TERM; touch {}; while :; do sleep 0.05; done", ready.display());
    let child = t.spawn(&["run", "--frame", "1", "--stream", "s", "--", "sh", "-c", &script]);
    wait_for(&ready, 20);
    signal(child.id(), "-TERM");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(9), "{}", String::from_utf8_lossy(&o.stderr));
    let d = t.neighbor(&["delta", "show", "1/s"]).ok().json();
    assert_eq!(d["status"], "fallback");
    assert_eq!(d["delta"]["meta"]["exit_code"], 9);
    assert!(d["delta"]["meta"]["stderr_tail"].to_string().contains("got-term"), "{d}");
    assert!(t.tenants_json().is_empty(), "{:?}", t.tenants_json());
}

#[test]
fn kill_nine_of_run_kills_child_and_is_recorded_as_crashed() {
    let t = TestRepo::new();
    let pidf = t.root.join("child.pid");
    let script = format!("echo $$ > {}; exec sleep 60", pidf.display());
    let mut child = t.spawn(&["run", "--frame", "1", "--stream", "w1", "--", "sh", "-c", &script]);
    wait_for(&pidf, 20);
    std::thread::sleep(Duration::from_millis(100));
    child.kill().unwrap(); // SIGKILL to run itself
    child.wait().unwrap();
    let grandchild = std::fs::read_to_string(&pidf).unwrap();
    let until = Instant::now() + Duration::from_secs(10);
    while alive(&grandchild) {
        assert!(Instant::now() < until, "orphaned child {grandchild} kept running");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The lease died with run: the tenant is stale, merge-frame says crashed, prune cleans up.
    let rows = t.tenants_json();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "stale");
    assert!(rows[0]["lease"].is_null());
    let r = t.neighbor(&["merge-frame", "--expect", "w1", "--json"]).ok().json();
    assert_eq!(r["streams"][0]["status"], "crashed", "{r}");
    t.neighbor(&["prune"]).ok();
    assert!(t.tenants_json().is_empty());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
}

/// Launch order is ticket order, and the elevator recorded each launch at least the stagger after the one
/// before. Asserted on the elevator's own tickets and launch times, not on spawn order or the clock of the
/// children (under load a later spawn can arrive first, and that is still first come, first served).
#[test]
fn eight_staggered_runs_start_apart_in_ticket_order() {
    let t = TestRepo::new();
    let log = t.root.join("starts");
    let script = format!("echo \"$NEIGHBOR_STREAM\" >> {}", log.display());
    let mut children = Vec::new();
    for i in 0..8 {
        let stream = format!("s{i}");
        children.push((
            stream.clone(),
            t.spawn(&["-v", "run", "--stagger", "1s", "--stream", &stream, "--", "sh", "-c", &script]),
        ));
    }
    let mut rides: Vec<(u64, u64, String)> = Vec::new(); // (ticket, launched_ms, stream)
    for (stream, c) in children {
        let o = c.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(o.status.success(), "{err}");
        let line = err.lines().find(|l| l.starts_with("elevator: ticket ")).unwrap_or_else(|| panic!("{err}"));
        let words: Vec<&str> = line.split_whitespace().collect();
        rides.push((words[2].parse().unwrap(), words.last().unwrap().parse().unwrap(), stream));
    }
    rides.sort();
    let by_ticket: Vec<&str> = rides.iter().map(|r| r.2.as_str()).collect();
    let text = std::fs::read_to_string(&log).unwrap();
    let launched: Vec<&str> = text.lines().collect();
    assert_eq!(launched, by_ticket, "launch order is not ticket order: {rides:?}");
    for w in rides.windows(2) {
        assert!(w[1].1 >= w[0].1 + 1000, "elevator launched {:?} and {:?} less than 1s apart", w[0], w[1]);
    }
}

#[test]
fn committing_child_is_kept_delta_only_child_is_removed() {
    let t = TestRepo::new();
    let o = t.neighbor(&[
        "run",
        "--stream",
        "c",
        "--",
        "sh",
        "-c",
        "echo x > f.txt && git add f.txt && git commit -qm work",
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let rows = t.tenants_json();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["status"], "kept");
    assert!(rows[0]["reason"].as_str().unwrap().contains("1 commit(s) not on main"), "{rows:?}");
    let o = t.neighbor(&[
        "run",
        "--stream",
        "d",
        "--",
        "sh",
        "-c",
        r#"echo '{"ops":[{"op":"set","path":"x.json","pointer":"/a","value":1}]}' | git neighbor delta write"#,
    ]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.tenants_json().len(), 1, "the delta-only run must be removed");
    assert_eq!(t.neighbor(&["delta", "show", "1/d"]).ok().json()["status"], "ok");
    // Dirty but uncommitted: kept too, with the reason.
    let o = t.neighbor(&["run", "--", "sh", "-c", "echo wip > wip.txt"]);
    assert_eq!(o.code, 0);
    let rows = t.tenants_json();
    assert!(rows.iter().any(|r| r["reason"].as_str().is_some_and(|s| s.contains("uncommitted"))), "{rows:?}");
}

#[test]
fn concurrent_runs_get_distinct_port_blocks() {
    let t = TestRepo::new();
    let children: Vec<_> =
        (0..4).map(|_| t.spawn(&["run", "--", "sh", "-c", "echo $NEIGHBOR_PORT; sleep 1"])).collect();
    let mut ports: Vec<String> = children
        .into_iter()
        .map(|c| String::from_utf8(c.wait_with_output().unwrap().stdout).unwrap().trim().to_string())
        .collect();
    ports.sort();
    ports.dedup();
    assert_eq!(ports.len(), 4, "{ports:?}");
}

#[test]
fn pool_claim_release_and_keep() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "2"]).ok();
    let a = t.neighbor(&["pool", "claim", "--json"]).ok().json();
    let b = t.neighbor(&["pool", "claim", "--json"]).ok().json();
    assert_ne!(a["name"], b["name"]);
    let o = t.neighbor(&["pool", "claim"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("pool fill"));
    // Wrong lease id: refused.
    let o = t.neighbor(&["pool", "release", a["name"].as_str().unwrap(), "--lease-id", "nope"]);
    assert_eq!(o.code, 3);
    // Unmerged work: kept, never reset.
    let pa = Path::new(a["path"].as_str().unwrap());
    write_in(pa, "w.txt", "work\n");
    t.git_in(pa, &["add", "w.txt"]);
    t.git_in(pa, &["commit", "-q", "-m", "pool work"]);
    let tip = t.git_in(pa, &["rev-parse", "HEAD"]);
    let r = t
        .neighbor(&[
            "pool",
            "release",
            a["name"].as_str().unwrap(),
            "--lease-id",
            a["lease_id"].as_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(r["reset"], false);
    assert_eq!(t.git_in(pa, &["rev-parse", "HEAD"]), tip);
    assert!(pa.join("w.txt").exists());
    // Clean: reset and free again.
    let pb = Path::new(b["path"].as_str().unwrap());
    write_in(pb, "README.md", "scribble\n");
    t.git_in(pb, &["checkout", "README.md"]);
    let r = t
        .neighbor(&[
            "pool",
            "release",
            b["name"].as_str().unwrap(),
            "--lease-id",
            b["lease_id"].as_str().unwrap(),
            "--json",
        ])
        .ok()
        .json();
    assert_eq!(r["reset"], true);
    let list = t.neighbor(&["pool", "list", "--json"]).ok().json();
    let free: Vec<&serde_json::Value> = list.as_array().unwrap().iter().filter(|m| m["state"] == "free").collect();
    assert_eq!(free.len(), 1, "{list}");
    // A claim follows its caller: when the calling shell exits, the tenant is free again.
    let mut c = std::process::Command::new("sh");
    t.env(&mut c);
    assert!(c.args(["-c", "git-neighbor pool claim >/dev/null"]).current_dir(&t.dir).status().unwrap().success());
    // Its claimant is gone: the claim is abandoned (the next claim releases it), never "claimed".
    let until = Instant::now() + Duration::from_secs(15);
    loop {
        let list = t.neighbor(&["pool", "list", "--json"]).ok().json();
        if list.as_array().unwrap().iter().all(|m| m["state"] != "claimed") {
            break;
        }
        assert!(Instant::now() < until, "{list}");
        std::thread::sleep(Duration::from_millis(50));
    }
    // run --pool claims, runs, releases.
    let o = t.neighbor(&["run", "--pool", "--", "sh", "-c", "echo $NEIGHBOR_NAME"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stdout.starts_with("pool-"), "{}", o.stdout);
}

#[test]
fn fleet_four_streams_three_frames_one_failing() {
    let t = TestRepo::new();
    let script = r#"case $NEIGHBOR_STREAM in stream-3) echo failing >&2; exit 5;; *) echo "{\"ops\":[{\"op\":\"incr\",\"path\":\"n.json\",\"pointer\":\"/n\",\"value\":1}]}" | git neighbor delta write;; esac"#;
    let o = t.neighbor(&["fleet", "--streams", "4", "--frames", "3", "--json", "--", "sh", "-c", script]);
    // A failing stream makes the fleet exit 1 (the report is still printed, and every frame merged).
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r.as_array().unwrap().len(), 3);
    for f in r.as_array().unwrap() {
        for s in f["streams"].as_array().unwrap() {
            let want = if s["stream"] == "stream-3" { "fallback" } else { "applied" };
            assert_eq!(s["delta"], want, "{f}");
        }
    }
    for frame in 1..=3 {
        assert_eq!(t.frame_commits(&t.dir, "HEAD", frame), 1);
    }
    assert_eq!(t.git(&["show", "HEAD:state/n.json"]), "{\n  \"n\": 9\n}");
    assert!(t.tenants_json().is_empty(), "{:?}", t.tenants_json());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
    let leases = std::fs::read_dir(t.common_dir().join("neighbor/leases")).unwrap().count();
    assert_eq!(leases, 0);
}

#[test]
fn fleet_of_succeeding_streams_exits_zero() {
    let t = TestRepo::new();
    let script = r#"echo "{\"ops\":[{\"op\":\"incr\",\"path\":\"n.json\",\"pointer\":\"/n\",\"value\":1}]}" | git neighbor delta write"#;
    let o = t.neighbor(&["fleet", "--streams", "2", "--frames", "2", "--", "sh", "-c", script]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.git(&["show", "HEAD:state/n.json"]), "{\n  \"n\": 4\n}");
}

#[test]
fn fleet_stops_cleanly_on_interrupt() {
    let t = TestRepo::new();
    let started = t.root.join("started");
    let script = format!("echo x >> {}; sleep 30", started.display());
    let child = t.spawn(&["fleet", "--streams", "3", "--frames", "2", "--", "sh", "-c", &script]);
    let until = Instant::now() + Duration::from_secs(20);
    while std::fs::read_to_string(&started).map(|s| s.lines().count()).unwrap_or(0) < 3 {
        assert!(Instant::now() < until);
        std::thread::sleep(Duration::from_millis(20));
    }
    signal(child.id(), "-INT");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(t.tenants_json().is_empty(), "{:?}", t.tenants_json());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
    assert_eq!(t.frame_commits(&t.dir, "HEAD", 1), 0, "an interrupted frame is not merged");
    let deltas = t.neighbor(&["delta", "list", "--json"]).ok().json();
    assert_eq!(deltas.as_array().unwrap().len(), 3, "each run left its fallback: {deltas}");
}

#[test]
fn demo_runs_in_a_throwaway_repo() {
    let t = TestRepo::empty();
    let o = t.neighbor_in(&t.root, &["demo"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    for needle in
        ["8 of 8 succeeded", "exit code 3", "refs/neighbor/rescue/", "\"agent-1\"", "neighbor: frame 2", "Done:"]
    {
        assert!(o.stdout.contains(needle), "demo output lacks {needle:?}:\n{}", o.stdout);
    }
    // It cleaned up its throwaway repository (TMPDIR is the test root).
    let left: Vec<_> = std::fs::read_dir(&t.root)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("git-neighbor-demo"))
        .collect();
    assert!(left.is_empty());
    // The narration waits for the real state: the killed writer's lease is dead by the time it says so.
    let after_kill = o.stdout.split("killed with SIGKILL").nth(1).unwrap_or("");
    let listing = after_kill.split("== prune").next().unwrap_or("");
    let crashy = listing.lines().find(|l| l.contains("crashy")).unwrap_or("");
    assert!(!crashy.contains("pid "), "the killed writer still shows a lease holder: {crashy}");
}

/// Ctrl-C during the demo: it stops at the next step, removes its throwaway files and exits 130.
#[test]
fn interrupted_demo_removes_its_files() {
    let t = TestRepo::empty();
    let child = t
        .cmd_in(&t.root, &["demo"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let dir = t.root.join(format!("git-neighbor-demo-{}", child.id()));
    wait_for(&dir.join("building/.git"), 30);
    signal(child.id(), "-INT");
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!dir.exists(), "{} left behind", dir.display());
}

#[test]
fn run_json_reports_on_stdout_and_passes_the_commands_stdout_to_stderr() {
    let t = TestRepo::new();
    // A command that commits: the report says the tenant was kept and why; its stdout is on stderr.
    let o = t.neighbor(&[
        "run",
        "--json",
        "--stream",
        "s",
        "--",
        "sh",
        "-c",
        "echo from-the-command; echo x > f.txt && git add f.txt && git commit -qm work; exit 3",
    ]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["schema_version"], 1, "{r}");
    assert_eq!(r["exit"], 3);
    assert_eq!(r["end"]["kind"], "exited");
    assert_eq!(r["stream"], "s");
    assert_eq!(r["frame"], 1);
    assert_eq!(r["fallback_delta"], true, "the command wrote no delta: {r}");
    assert_eq!(r["tenant"], "kept");
    assert!(r["kept_reason"].as_str().unwrap().contains("1 commit(s)"), "{r}");
    assert!(!o.stdout.contains("from-the-command"), "stdout carries only the report: {}", o.stdout);
    assert!(o.stderr.contains("from-the-command"), "{}", o.stderr);
    assert_eq!(t.tenants_json()[0]["name"], r["name"]);
    // A clean run: removed, and the report names where it ran.
    let r = t.neighbor(&["run", "--json", "--", "true"]).ok().json();
    assert_eq!(r["tenant"], "removed");
    assert!(r["path"].as_str().unwrap().ends_with(r["name"].as_str().unwrap()), "{r}");
}
