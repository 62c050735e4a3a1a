//! The task plane: tasks as blobs under refs/neighbor/tasks/, claims exactly once by compare-and-swap, a
//! claim that dies with its process, dependencies, and bad input with its exit codes.

use std::collections::BTreeMap;
use std::process::Stdio;

use serde_json::json;

use crate::common::*;

/// `task claim --next` found nothing ready (documented in the reference's EXIT CODES).
const NOTHING_READY: i32 = 5;

fn task(t: &TestRepo, args: &[&str]) -> Out {
    let mut all = vec!["task"];
    all.extend_from_slice(args);
    t.neighbor(&all)
}

/// The task stored behind each ref, read with git itself: id -> JSON.
fn stored(t: &TestRepo) -> BTreeMap<String, serde_json::Value> {
    let refs = t.git(&["for-each-ref", "--format=%(refname)", "refs/neighbor/tasks/"]);
    refs.lines()
        .map(|r| {
            let id = r.strip_prefix("refs/neighbor/tasks/").unwrap().to_string();
            let blob = t.git(&["cat-file", "blob", r]);
            (id, serde_json::from_str(&blob).unwrap())
        })
        .collect()
}

fn ready_ids(t: &TestRepo) -> Vec<String> {
    let v = task(t, &["list", "--ready", "--json"]).ok().json();
    v.as_array().unwrap().iter().map(|x| x["id"].as_str().unwrap().to_string()).collect()
}

/// One line of error (plus hints), the expected exit code, no panic, and no ref changed.
fn refused(t: &TestRepo, args: &[&str], code: i32, needle: &str) {
    let before = t.git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/neighbor/"]);
    let o = task(t, args);
    assert_eq!(o.code, code, "task {args:?}: {}", o.stderr);
    assert!(o.stderr.contains(needle), "task {args:?}: expected {needle:?} in {}", o.stderr);
    assert!(!o.stderr.contains("panicked"), "{}", o.stderr);
    let errors: Vec<&str> = o.stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "one error line: {}", o.stderr);
    assert_eq!(t.git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/neighbor/"]), before);
}

#[test]
fn lifecycle_add_claim_release_fail_done() {
    let t = TestRepo::new();
    let id = task(&t, &["add", "fix the login race", "--id", "login", "--label", "bug"]).ok().stdout;
    assert_eq!(id, "login\n");
    std::fs::write(t.root.join("body.txt"), "steps:\n1. reproduce\n").unwrap();
    let auto = task(&t, &["add", "write the docs", "--body-file", t.root.join("body.txt").to_str().unwrap()]).ok();
    let auto = auto.stdout.trim().to_string();
    assert!(auto.starts_with('t') && auto.len() == 8, "a short generated id: {auto}");

    let s = stored(&t);
    assert_eq!(s["login"]["status"], "pending");
    assert_eq!(s["login"]["labels"], serde_json::json!(["bug"]));
    assert_eq!(s["login"]["version"], 1);
    assert_eq!(s[&auto]["body"], "steps:\n1. reproduce\n");

    // Claim by id, with an owner: the ref now says who holds it.
    assert_eq!(task(&t, &["claim", "login", "--owner", "alice"]).ok().stdout, "login\n");
    let s = stored(&t);
    assert_eq!(s["login"]["status"], "claimed");
    assert_eq!(s["login"]["owner"], "alice");
    assert_eq!(s["login"]["claimed_by"]["pid"], std::process::id(), "the claim follows the caller");
    assert_eq!(s["login"]["version"], 2);
    assert_eq!(ready_ids(&t), vec![auto.clone()]);
    let mine = task(&t, &["list", "--owner", "alice", "--json"]).ok().json();
    assert_eq!(mine.as_array().unwrap().len(), 1);

    // A second claim of it is refused, naming the holder.
    refused(&t, &["claim", "login"], 3, &format!("already claimed by pid {}", std::process::id()));

    // Release: pending and ready again; fail: not claimable until released.
    task(&t, &["release", "login"]).ok();
    assert_eq!(stored(&t)["login"]["status"], "pending");
    assert!(stored(&t)["login"]["claimed_by"].is_null());
    task(&t, &["claim", "login"]).ok();
    task(&t, &["fail", "login", "--reason", "cannot reproduce"]).ok();
    assert_eq!(stored(&t)["login"]["status"], "failed");
    assert_eq!(stored(&t)["login"]["reason"], "cannot reproduce");
    refused(&t, &["claim", "login"], 3, "failed (cannot reproduce)");
    task(&t, &["release", "login"]).ok();
    task(&t, &["claim", "login"]).ok();
    task(&t, &["done", "login"]).ok();
    let s = stored(&t);
    assert_eq!(s["login"]["status"], "done");
    assert_eq!(s["login"]["version"], 8, "every change is one new version");

    let shown = task(&t, &["show", "login", "--json"]).ok().json();
    assert_eq!(shown["status"], "done");
    assert_eq!(shown["ready"], false);
    assert_eq!(task(&t, &["list", "--status", "done", "--json"]).ok().json().as_array().unwrap().len(), 1);

    // Every change went to events.jsonl.
    let events = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    let login: Vec<serde_json::Value> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["task"] == "login")
        .collect();
    let names: Vec<&str> = login.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "task-add",
            "task-claim",
            "task-release",
            "task-claim",
            "task-fail",
            "task-release",
            "task-claim",
            "task-done"
        ]
    );
}

#[test]
fn a_chain_is_ready_in_order() {
    let t = TestRepo::new();
    task(&t, &["add", "a", "--id", "A"]).ok();
    task(&t, &["add", "b", "--id", "B", "--blocked-by", "A"]).ok();
    task(&t, &["add", "c", "--id", "C"]).ok();
    task(&t, &["block", "C", "--by", "B"]).ok();
    assert_eq!(ready_ids(&t), ["A"]);
    refused(&t, &["claim", "B"], 3, "task 'B' is blocked by A (pending)");
    assert_eq!(task(&t, &["claim", "--next"]).ok().stdout, "A\n");
    // A is claimed, B and C wait: nothing is ready.
    let o = task(&t, &["claim", "--next"]);
    assert_eq!(o.code, NOTHING_READY, "{}", o.stderr);
    assert!(o.stderr.contains("nothing ready to claim"), "{}", o.stderr);
    assert_eq!(o.stdout, "");
    task(&t, &["done", "A"]).ok();
    assert_eq!(ready_ids(&t), ["B"], "B is ready once A is done, C still waits");
    assert_eq!(task(&t, &["claim", "--next"]).ok().stdout, "B\n");
    task(&t, &["done", "B"]).ok();
    assert_eq!(task(&t, &["claim", "--next"]).ok().stdout, "C\n");
    task(&t, &["done", "C"]).ok();
    assert_eq!(task(&t, &["claim", "--next"]).code, NOTHING_READY);
}

#[test]
fn bad_input_is_one_line_with_its_exit_code() {
    let t = TestRepo::new();
    task(&t, &["add", "a", "--id", "A"]).ok();
    task(&t, &["add", "b", "--id", "B", "--blocked-by", "A"]).ok();
    task(&t, &["add", "c", "--id", "C", "--blocked-by", "B"]).ok();

    for args in [&["show", "nope"][..], &["claim", "nope"], &["done", "nope"], &["release", "nope"]] {
        refused(&t, args, 1, "no task named 'nope'");
    }
    refused(&t, &["block", "A", "--by", "nope"], 1, "no task named 'nope'");
    refused(&t, &["add", "x", "--blocked-by", "nope"], 1, "no task named 'nope'");
    refused(&t, &["add", "x", "--id", "a/b"], 2, "invalid task name 'a/b'");
    refused(&t, &["add", "x", "--id", "..", "--label", "l"], 2, "invalid task name");
    refused(&t, &["show", "a..b"], 2, "invalid task name");
    refused(&t, &["add", "again", "--id", "A"], 3, "a task named 'A' already exists");
    refused(&t, &["block", "A", "--by", "A"], 2, "cannot be blocked by itself");
    refused(&t, &["add", "x", "--id", "X", "--blocked-by", "X"], 2, "cannot be blocked by itself");
    refused(&t, &["block", "A", "--by", "C"], 3, "would make a cycle: A -> C -> B -> A");
    refused(&t, &["fail", "A", "--reason", ""], 2, "--reason must be one non-empty line");

    task(&t, &["claim", "A"]).ok();
    task(&t, &["done", "A"]).ok();
    refused(&t, &["claim", "A"], 3, "task 'A' is done");
    refused(&t, &["release", "A"], 3, "task 'A' is done");
    refused(&t, &["fail", "A", "--reason", "late"], 3, "task 'A' is done");

    // A task blob pushed by hand that is not a task: named in one line, never a panic, and the rest of
    // the plane still works.
    let oid = {
        let p = t.root.join("bad.json");
        std::fs::write(&p, "{\"id\": \"Z\", \"subject\": 7}\n").unwrap();
        t.git(&["hash-object", "-w", p.to_str().unwrap()])
    };
    t.git(&["update-ref", "refs/neighbor/tasks/Z", &oid]);
    refused(&t, &["show", "Z"], 1, "refs/neighbor/tasks/Z does not hold a task: malformed JSON");
    refused(&t, &["claim", "Z"], 1, "refs/neighbor/tasks/Z does not hold a task");
    let o = task(&t, &["list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("warning: refs/neighbor/tasks/Z does not hold a task"), "{}", o.stderr);
    assert!(o.stdout.contains("B "), "{}", o.stdout);
    // A ref pointing at a commit, and a blob whose id field is another task's.
    let head = t.git(&["rev-parse", "HEAD"]);
    t.git(&["update-ref", "refs/neighbor/tasks/Y", &head]);
    refused(&t, &["show", "Y"], 1, "it points at a commit, not a blob");
    let b = t.git(&["cat-file", "blob", "refs/neighbor/tasks/B"]);
    let p = t.root.join("b.json");
    std::fs::write(&p, b).unwrap();
    let copy = t.git(&["hash-object", "-w", p.to_str().unwrap()]);
    t.git(&["update-ref", "refs/neighbor/tasks/W", &copy]);
    refused(&t, &["show", "W"], 1, "its id field says 'B'");
    assert_eq!(task(&t, &["claim", "--next"]).ok().stdout, "B\n", "bad refs do not stop the plane");
}

#[test]
fn thirty_two_claimers_twenty_tasks_each_claimed_once() {
    let t = TestRepo::new();
    for i in 0..20 {
        task(&t, &["add", &format!("task {i}"), "--id", &format!("T{i:02}")]).ok();
    }
    let kids: Vec<_> = (0..32)
        .map(|_| {
            t.cmd_in(&t.dir, &["task", "claim", "--next", "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Out> = kids.into_iter().map(|k| Out::from_output(k.wait_with_output().unwrap())).collect();
    let won: Vec<&Out> = outs.iter().filter(|o| o.code == 0).collect();
    let empty: Vec<&Out> = outs.iter().filter(|o| o.code == NOTHING_READY).collect();
    let other: Vec<String> =
        outs.iter().filter(|o| o.code != 0 && o.code != NOTHING_READY).map(|o| o.stderr.clone()).collect();
    assert!(other.is_empty(), "no claimer fails otherwise: {other:?}");
    assert_eq!(won.len(), 20, "20 claims won");
    assert_eq!(empty.len(), 12, "12 claimers told nothing is ready");
    for o in &empty {
        assert!(o.stderr.contains("nothing ready to claim"), "{}", o.stderr);
    }
    // Each winner got a different task, and each task's ref says claimed, written exactly once.
    let mut got: Vec<String> = won.iter().map(|o| o.json()["id"].as_str().unwrap().to_string()).collect();
    got.sort();
    got.dedup();
    assert_eq!(got.len(), 20, "20 distinct tasks won");
    let s = stored(&t);
    assert_eq!(s.len(), 20);
    for (id, v) in &s {
        assert_eq!(v["status"], "claimed", "{id}");
        assert_eq!(v["version"], 2, "{id}: claimed once, no update lost or doubled");
    }
    // The log agrees: one claim event per task, 20 in all.
    let events = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    let mut claims: Vec<String> = events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"] == "task-claim")
        .map(|e| e["task"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(claims.len(), 20);
    claims.sort();
    claims.dedup();
    assert_eq!(claims.len(), 20, "no task claimed twice");
}

#[test]
fn a_killed_claimer_releases_its_task() {
    let t = TestRepo::new();
    task(&t, &["add", "held", "--id", "H"]).ok();
    task(&t, &["add", "other", "--id", "O"]).ok();
    // A shell claims through git's dispatcher, then becomes `sleep` (same pid): the claim follows the shell.
    let mut sh = std::process::Command::new("sh");
    t.env(&mut sh);
    let mut holder = sh
        .args(["-c", "git neighbor task claim H >/dev/null 2>&1 && exec sleep 60"])
        .current_dir(&t.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = holder.id();
    // Wait for the cause (the ref says claimed), bounded.
    let mut claimed = false;
    for _ in 0..600 {
        if stored(&t)["H"]["status"] == "claimed" {
            claimed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(claimed, "the holder claimed H");
    assert_eq!(stored(&t)["H"]["claimed_by"]["pid"], pid, "the claim records the shell's pid");
    assert_eq!(ready_ids(&t), ["O"]);
    refused(&t, &["claim", "H"], 3, &format!("already claimed by pid {pid}"));

    holder.kill().unwrap(); // SIGKILL
    holder.wait().unwrap();
    let v = task(&t, &["show", "H", "--json"]).ok().json();
    assert_eq!(v["status"], "pending");
    assert_eq!(v["claim_dead"], true);
    assert_eq!(ready_ids(&t), ["H", "O"], "its task is ready again");
    assert_eq!(task(&t, &["claim", "--next"]).ok().stdout, "H\n");
    let s = stored(&t);
    assert_eq!(s["H"]["claimed_by"]["pid"], std::process::id());
    assert_eq!(s["H"]["version"], 3);
}

#[test]
fn two_clones_claim_one_task_through_the_remote_one_wins() {
    let t = TestRepo::with_remote();
    let one = t.dir.clone();
    let two = t.root.join("clone2");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), two.to_str().unwrap()]);
    let in_dir = |dir: &std::path::Path, args: &[&str]| {
        let mut all = vec!["task"];
        all.extend_from_slice(args);
        t.neighbor_in(dir, &all)
    };
    let remote_blob =
        |id: &str| t.git_in(&t.root.join("origin.git"), &["rev-parse", &format!("refs/neighbor/tasks/{id}")]);
    let local_blob =
        |dir: &std::path::Path, id: &str| t.git_in(dir, &["rev-parse", &format!("refs/neighbor/tasks/{id}")]);

    in_dir(&one, &["add", "shared", "--id", "A"]).ok();
    in_dir(&one, &["add", "raced", "--id", "R"]).ok();
    let pushed = in_dir(&one, &["sync", "--json"]).ok().json();
    assert_eq!(pushed["pushed"], serde_json::json!(["A", "R"]));
    let pulled = in_dir(&two, &["sync", "--json"]).ok().json();
    assert_eq!(pulled["pulled"], serde_json::json!(["A", "R"]));
    assert_eq!(local_blob(&two, "A"), remote_blob("A"));

    // Both clones claim A; the first to sync publishes, the second is told who holds it.
    in_dir(&one, &["claim", "A", "--owner", "one", "--local"]).ok();
    in_dir(&two, &["claim", "A", "--owner", "two", "--local"]).ok();
    in_dir(&one, &["sync"]).ok();
    let lost = in_dir(&two, &["sync"]);
    assert_eq!(lost.code, 3, "{}", lost.stderr);
    assert!(lost.stderr.contains("A (claimed by pid"), "{}", lost.stderr);
    let shown = in_dir(&two, &["show", "A", "--json"]).ok().json();
    assert_eq!(shown["owner"], "one", "the remote's claim replaced ours");
    assert_eq!(local_blob(&two, "A"), remote_blob("A"));
    assert_eq!(local_blob(&one, "A"), remote_blob("A"));

    // The same race with both syncs at once: exactly one wins, whatever the order.
    in_dir(&one, &["claim", "R", "--owner", "one", "--local"]).ok();
    in_dir(&two, &["claim", "R", "--owner", "two", "--local"]).ok();
    let a = t.cmd_in(&one, &["task", "sync"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let b = t.cmd_in(&two, &["task", "sync"]).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (a, b) = (Out::from_output(a.wait_with_output().unwrap()), Out::from_output(b.wait_with_output().unwrap()));
    let mut codes = [a.code, b.code];
    codes.sort();
    assert_eq!(codes, [0, 3], "one sync wins, one is refused:\n{}\n{}", a.stderr, b.stderr);
    let winner = if a.code == 0 { "one" } else { "two" };
    let remote: serde_json::Value =
        serde_json::from_str(&t.git_in(&t.root.join("origin.git"), &["cat-file", "blob", "refs/neighbor/tasks/R"]))
            .unwrap();
    assert_eq!(remote["owner"], winner);
    assert_eq!(remote["version"], 2, "one claim on the remote, no lost or doubled update");
    assert_eq!(local_blob(&one, "R"), remote_blob("R"));
    assert_eq!(local_blob(&two, "R"), remote_blob("R"));
}

#[test]
fn claims_through_the_remote_from_two_clones_are_exactly_once() {
    let t = TestRepo::with_remote();
    let one = t.dir.clone();
    let two = t.root.join("clone2");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), two.to_str().unwrap()]);
    for i in 0..20 {
        task(&t, &["add", &format!("task {i}"), "--id", &format!("T{i:02}")]).ok();
    }
    task(&t, &["sync"]).ok();
    // 8 claimers in each clone, all at once, each through the remote.
    let kids: Vec<_> = (0..16)
        .map(|i| {
            let dir = if i % 2 == 0 { &one } else { &two };
            let owner = format!("c{i}");
            t.cmd_in(dir, &["task", "claim", "--next", "--remote", "origin", "--owner", &owner, "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Out> = kids.into_iter().map(|k| Out::from_output(k.wait_with_output().unwrap())).collect();
    let failed: Vec<&str> = outs.iter().filter(|o| o.code != 0).map(|o| o.stderr.as_str()).collect();
    assert!(failed.is_empty(), "16 claimers, 20 tasks: every claimer gets one: {failed:?}");
    // Each winner's task is on the remote with its owner, claimed once (version 2); 16 distinct tasks.
    let origin = t.root.join("origin.git");
    let mut ids = Vec::new();
    for o in &outs {
        let v = o.json();
        let id = v["id"].as_str().unwrap().to_string();
        let blob = t.git_in(&origin, &["cat-file", "blob", &format!("refs/neighbor/tasks/{id}")]);
        let remote: serde_json::Value = serde_json::from_str(&blob).unwrap();
        assert_eq!(remote["owner"], v["owner"], "{id}: the remote holds this claimer's claim");
        assert_eq!(remote["status"], "claimed");
        assert_eq!(remote["version"], 2, "{id}: claimed once");
        ids.push(id);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16, "no task claimed twice");
    let refs = t.git_in(&origin, &["for-each-ref", "--format=%(refname)", "refs/neighbor/tasks/"]);
    let claimed = refs
        .lines()
        .filter(|r| t.git_in(&origin, &["cat-file", "blob", r]).contains("\"status\": \"claimed\""))
        .count();
    assert_eq!(claimed, 16, "the remote holds exactly the 16 claims");
}

/// `task claim --tenant`: the task gets a tenant of its own and each names the other; when the tenant
/// cannot be made, the claim is put back and nothing is half-bound.
#[test]
fn claim_into_a_tenant_links_task_and_tenant_both_ways() {
    let t = TestRepo::new();
    task(&t, &["add", "fix the login", "--id", "login"]).ok();
    let o = task(&t, &["claim", "login", "--tenant"]).ok();
    let path = std::path::PathBuf::from(o.stdout.trim_end());
    assert!(path.join("README.md").exists(), "prints the tenant's path: {}", o.stdout);
    let rows = t.tenants_json();
    let row = rows.iter().find(|r| r["name"] == "login").unwrap();
    assert_eq!(row["task"], "login", "the tenant names its task: {row}");
    assert_eq!(std::path::PathBuf::from(row["path"].as_str().unwrap()), path);
    let s = &stored(&t)["login"];
    assert_eq!(s["tenant"], "login", "the task names its tenant: {s}");
    assert_eq!(s["status"], "claimed");
    // status, in the tenant, says which task it is.
    let st = t.neighbor_in(&path, &["status", "--json"]).ok().json();
    assert_eq!((st["current_tenant"].clone(), st["current_task"].clone()), (json!("login"), json!("login")), "{st}");
    assert!(t.neighbor_in(&path, &["status"]).ok().stdout.contains("(tenant login, task login)"));
    // status anywhere names each task's tenant.
    let st = t.neighbor(&["status", "--json"]).ok().json();
    assert_eq!(st["tasks"]["claimed"], 1, "{st}");
    assert_eq!(st["tasks"]["bound"], json!([{"task": "login", "tenant": "login", "status": "claimed"}]), "{st}");
    assert!(t.neighbor(&["status"]).ok().stdout.contains("login in tenant login (claimed)"));
    // Released and claimed again with --tenant: the same tenant, with whatever was left in it.
    std::fs::write(path.join("wip.txt"), "half done\n").unwrap();
    task(&t, &["release", "login"]).ok();
    let again = task(&t, &["claim", "login", "--tenant"]).ok();
    assert_eq!(again.stdout.trim_end(), path.display().to_string());
    assert!(path.join("wip.txt").exists());

    // A tenant of that name exists already (made by hand): no tenant for the task, and the claim is put back.
    task(&t, &["add", "second", "--id", "taken"]).ok();
    t.add("taken", &[]);
    let o = task(&t, &["claim", "taken", "--tenant"]);
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("claimed and released again"), "{}", o.stderr);
    let s = &stored(&t)["taken"];
    assert_eq!(s["status"], "pending", "{s}");
    assert!(s["tenant"].is_null(), "{s}");
    assert!(ready_ids(&t).contains(&"taken".to_string()));
}

/// `task claim --run -- CMD`: the command runs in the task's tenant; its success marks the task done (the
/// tenant and its commit stay), its failure marks it failed with the exit; nothing ready is exit 5.
#[test]
fn claim_and_run_marks_the_task_by_the_commands_exit() {
    let t = TestRepo::new();
    task(&t, &["add", "write it", "--id", "w"]).ok();
    task(&t, &["add", "break it", "--id", "b", "--blocked-by", "w"]).ok();
    let o = task(
        &t,
        &[
            "claim",
            "--next",
            "--run",
            "--",
            "sh",
            "-c",
            "echo done > out.txt && git add out.txt && git commit -qm work",
        ],
    );
    assert_eq!(o.code, 0, "{}", o.stderr);
    let s = &stored(&t)["w"];
    assert_eq!(s["status"], "done", "{s}");
    assert_eq!(s["tenant"], "w");
    // The work is in the tenant's branch, and the tenant is still there.
    assert_eq!(t.git(&["show", "neighbor/w:out.txt"]), "done");
    assert!(t.tenants_json().iter().any(|r| r["name"] == "w" && r["task"] == "w"));
    // b is ready now; its command fails: the task is failed with the exit, and the code passes through.
    let o = task(&t, &["claim", "--next", "--json", "--run", "--", "sh", "-c", "echo noise; exit 3"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    let j = o.json();
    assert_eq!(j["task"]["status"], "failed", "{j}");
    assert_eq!(j["run"]["exit"], 3);
    assert!(o.stderr.contains("noise"), "the command's stdout goes to stderr under --json: {}", o.stderr);
    let s = &stored(&t)["b"];
    assert!(s["reason"].as_str().unwrap().contains("exited 3"), "{s}");
    // Nothing left to claim.
    assert_eq!(task(&t, &["claim", "--next", "--run", "--", "true"]).code, NOTHING_READY);
}

/// `task done --land`: the task's tenant lands first (its test run), and the task is done only once it has.
#[test]
fn done_with_land_lands_the_tenant_first() {
    let t = TestRepo::new();
    task(&t, &["add", "feature", "--id", "f"]).ok();
    task(&t, &["add", "no tenant", "--id", "n"]).ok();
    let path = std::path::PathBuf::from(task(&t, &["claim", "f", "--tenant"]).ok().stdout.trim_end());
    std::fs::write(path.join("feature.txt"), "feature\n").unwrap();
    t.git_in(&path, &["add", "feature.txt"]);
    t.git_in(&path, &["commit", "-qm", "feature"]);
    // A failing test: nothing lands, the task stays claimed.
    let o = task(&t, &["done", "f", "--land", "--test", "exit 1"]);
    assert_ne!(o.code, 0, "{}", o.stderr);
    assert_eq!(stored(&t)["f"]["status"], "claimed");
    assert!(t.git_out(&t.dir, &["cat-file", "-e", "main:feature.txt"]).code != 0);
    // A passing one: main has the work, the tenant is gone, the task is done.
    task(&t, &["done", "f", "--land", "--test", "test -f feature.txt"]).ok();
    assert_eq!(t.git(&["show", "main:feature.txt"]), "feature");
    assert!(!path.exists());
    assert_eq!(stored(&t)["f"]["status"], "done");
    // A task without a tenant has nothing to land.
    refused(&t, &["done", "n", "--land"], 2, "has no tenant to land");
    // A task blob (as a remote could push it) naming someone else's tenant: that tenant is never landed.
    let other = t.add("other", &[]);
    std::fs::write(other.join("theirs.txt"), "theirs\n").unwrap();
    t.git_in(&other, &["add", "theirs.txt"]);
    t.git_in(&other, &["commit", "-qm", "theirs"]);
    let mut forged: serde_json::Value =
        serde_json::from_str(&t.git(&["cat-file", "blob", "refs/neighbor/tasks/n"])).unwrap();
    forged["tenant"] = json!("other");
    let p = t.root.join("forged.json");
    std::fs::write(&p, forged.to_string()).unwrap();
    let oid = t.git(&["hash-object", "-w", p.to_str().unwrap()]);
    t.git(&["update-ref", "refs/neighbor/tasks/n", &oid]);
    refused(&t, &["done", "n", "--land"], 3, "which is not this task's");
    assert!(other.exists());
    assert!(t.git_out(&t.dir, &["cat-file", "-e", "main:theirs.txt"]).code != 0, "someone else's work was landed");
}

/// `task edit`: subject, body and labels change; a bad subject is refused and changes nothing.
#[test]
fn edit_changes_subject_body_and_labels() {
    let t = TestRepo::new();
    task(&t, &["add", "first words", "--id", "e", "--label", "old"]).ok();
    std::fs::write(t.root.join("body.txt"), "the details\n").unwrap();
    let body = t.root.join("body.txt");
    task(
        &t,
        &[
            "edit",
            "e",
            "--subject",
            "better words",
            "--body-file",
            body.to_str().unwrap(),
            "--label",
            "new",
            "--remove-label",
            "old",
        ],
    )
    .ok();
    let s = &stored(&t)["e"];
    assert_eq!(s["subject"], "better words");
    assert_eq!(s["body"], "the details\n");
    assert_eq!(s["labels"], serde_json::json!(["new"]));
    assert_eq!(s["version"], 2);
    // The same again: nothing changes, no new version.
    task(&t, &["edit", "e", "--label", "new"]).ok();
    assert_eq!(stored(&t)["e"]["version"], 2);
    refused(&t, &["edit", "e", "--subject", " "], 2, "one non-empty line");
}

/// `kill -9` of `task claim --tenant` between its steps (after the claim; after the tenant is made, before the
/// task names it), then the claimer's process gone: the task is ready again, and the next `claim --tenant`
/// finishes the binding, taking up the tenant the crashed one made. Nothing is half-bound for good.
#[test]
fn a_claim_into_a_tenant_killed_between_its_steps_is_finished_by_the_next() {
    for point in ["task-claim.claimed", "task-claim.tenant-made"] {
        let t = TestRepo::new();
        task(&t, &["add", "crash me", "--id", "c"]).ok();
        // The claimer whose life the claim follows: a process the test ends after the crash.
        let mut holder = std::process::Command::new("sleep").arg("600").spawn().unwrap();
        let o = t
            .cmd_in(&t.dir, &["task", "claim", "c", "--tenant", "--follow-pid", &holder.id().to_string()])
            .env("NEIGHBOR_FAILPOINT", point)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), None, "{point}: killed at the point: {}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(stored(&t)["c"]["status"], "claimed", "{point}");
        let made = t.tenants_json().iter().any(|r| r["name"] == "c");
        assert_eq!(made, point == "task-claim.tenant-made", "{point}");
        holder.kill().unwrap();
        holder.wait().unwrap();
        // The claimer is gone: ready again, and the next claim binds task and tenant both ways.
        assert!(ready_ids(&t).contains(&"c".to_string()), "{point}");
        let path = std::path::PathBuf::from(task(&t, &["claim", "c", "--tenant"]).ok().stdout.trim_end());
        assert!(path.join("README.md").exists(), "{point}");
        assert_eq!(stored(&t)["c"]["tenant"], "c", "{point}");
        let rows = t.tenants_json();
        assert_eq!(rows.iter().filter(|r| r["task"] == "c").count(), 1, "{point}: one tenant for the task: {rows:?}");
    }
}

/// Eight `task claim --next --tenant` at once over four tasks: each task claimed once and given exactly one
/// tenant; four claimers told nothing is ready; no tenant without its task.
#[test]
fn concurrent_claims_into_tenants_bind_each_task_once() {
    let t = TestRepo::new();
    for i in 0..4 {
        task(&t, &["add", &format!("job {i}"), "--id", &format!("j{i}")]).ok();
    }
    let kids: Vec<_> = (0..8)
        .map(|_| {
            t.cmd_in(&t.dir, &["task", "claim", "--next", "--tenant"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let codes: Vec<i32> = kids.into_iter().map(|k| k.wait_with_output().unwrap().status.code().unwrap_or(-1)).collect();
    assert_eq!(codes.iter().filter(|c| **c == 0).count(), 4, "{codes:?}");
    assert_eq!(codes.iter().filter(|c| **c == NOTHING_READY).count(), 4, "{codes:?}");
    let all = stored(&t);
    let rows = t.tenants_json();
    for i in 0..4 {
        let id = format!("j{i}");
        assert_eq!(all[&id]["status"], "claimed");
        assert_eq!(all[&id]["tenant"], id.as_str());
        assert_eq!(rows.iter().filter(|r| r["task"] == id.as_str()).count(), 1, "{rows:?}");
    }
    assert_eq!(rows.iter().filter(|r| !r["task"].is_null()).count(), 4, "{rows:?}");
}

/// The task stored on the bare remote `origin.git` behind `refs/neighbor/tasks/<id>`, if any.
fn on_origin(t: &TestRepo, id: &str) -> Option<serde_json::Value> {
    let origin = t.root.join("origin.git");
    let o = t.git_out(&origin, &["cat-file", "blob", &format!("refs/neighbor/tasks/{id}")]);
    (o.code == 0).then(|| serde_json::from_str(&o.stdout).unwrap())
}

/// Once `task sync origin` has run in a clone, its claims and changes go through the remote without
/// `--remote`: 8 claimers in each of two clones over 20 tasks claim each task at most once across both, and
/// every claim is on the remote. `--local` keeps a change in its clone; `tasks.remote` shares without a sync;
/// a `tasks.remote` that is not a remote name is refused.
#[test]
fn a_synced_plane_is_shared_by_default_and_local_opts_out() {
    let t = TestRepo::with_remote();
    let one = t.dir.clone();
    let two = t.root.join("clone2");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), two.to_str().unwrap()]);
    let in_dir = |dir: &std::path::Path, args: &[&str]| {
        let mut all = vec!["task"];
        all.extend_from_slice(args);
        t.neighbor_in(dir, &all)
    };
    for i in 0..20 {
        task(&t, &["add", &format!("task {i}"), "--id", &format!("T{i:02}")]).ok();
    }
    assert!(on_origin(&t, "T00").is_none(), "not shared yet: adds stay in the clone");
    in_dir(&one, &["sync", "origin"]).ok();
    in_dir(&two, &["sync", "origin"]).ok();
    // 16 claimers, none told which remote: each clone goes through origin because it synced with it.
    let kids: Vec<_> = (0..16)
        .map(|i| {
            let dir = if i % 2 == 0 { &one } else { &two };
            let owner = format!("c{i}");
            t.cmd_in(dir, &["task", "claim", "--next", "--owner", &owner, "--json"])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outs: Vec<Out> = kids.into_iter().map(|k| Out::from_output(k.wait_with_output().unwrap())).collect();
    let failed: Vec<&str> = outs.iter().filter(|o| o.code != 0).map(|o| o.stderr.as_str()).collect();
    assert!(failed.is_empty(), "16 claimers, 20 tasks: each gets one: {failed:?}");
    let mut ids: Vec<String> = outs.iter().map(|o| o.json()["id"].as_str().unwrap().to_string()).collect();
    for (o, id) in outs.iter().zip(&ids) {
        let r = on_origin(&t, id).unwrap();
        assert_eq!(r["owner"], o.json()["owner"], "{id}: the remote holds this claimer's claim");
        assert_eq!(r["version"], 2, "{id}: claimed once");
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 16, "no task claimed twice across the clones");

    // A status change goes through too: done in clone two is on the remote at once.
    in_dir(&two, &["done", &ids[0]]).ok();
    assert_eq!(on_origin(&t, &ids[0]).unwrap()["status"], "done");
    // --local: the change stays in the clone; the remote still says claimed.
    in_dir(&one, &["release", &ids[1], "--local"]).ok();
    assert_eq!(on_origin(&t, &ids[1]).unwrap()["status"], "claimed");
    in_dir(&one, &["add", "mine alone", "--id", "L", "--local"]).ok();
    assert!(on_origin(&t, "L").is_none());
    refused(&t, &["release", &ids[1], "--local", "--remote", "origin"], 2, "cannot be used with");
    // `claim --run` goes through it as well: the claim, the tenant binding and the done are on the remote.
    let o = in_dir(&two, &["claim", "--next", "--json", "--run", "--", "true"]).ok().json();
    let ran = o["task"]["id"].as_str().unwrap().to_string();
    let r = on_origin(&t, &ran).unwrap();
    assert_eq!((r["status"].as_str(), r["tenant"].as_str()), (Some("done"), Some(ran.as_str())), "{r}");

    // tasks.remote shares a clone that never synced; it must name a remote of the clone.
    let three = t.root.join("clone3");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), three.to_str().unwrap()]);
    t.neighbor_in(&three, &["-c", "tasks.remote=origin", "task", "add", "from three", "--id", "C3"]).ok();
    assert_eq!(on_origin(&t, "C3").unwrap()["subject"], "from three");
    let o = t.neighbor_in(&three, &["-c", "tasks.remote=../elsewhere.git", "task", "add", "x"]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert!(o.stderr.contains("is not a remote name"), "{}", o.stderr);
    let o = t.neighbor_in(&three, &["-c", "tasks.remote=nosuch", "task", "add", "x"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("not a remote of this clone"), "{}", o.stderr);
}

/// Wait (bounded) until `cond` holds; the test fails naming `what` if it never does.
fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..1200 {
        if cond() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("never happened: {what}");
}

/// The work a `task claim --run` leaves in its tenant: a commit, then an uncommitted file, then it waits.
const WORK_THEN_WAIT: &str =
    "echo wip > wip.txt && git add wip.txt && git commit -qm wip && echo dirty > dirty.txt && exec sleep 600";

/// `kill -9` of a `task claim --run`: the claim was its own process's, so the task is ready again at once;
/// the next claim first saves the tenant's work (its commit and its uncommitted file) as a rescue ref and
/// the task says where; the tenant stays as it was. Nothing is lost.
#[test]
fn a_killed_run_claimer_frees_its_task_and_its_tenants_work_is_rescued() {
    let t = TestRepo::new();
    task(&t, &["add", "crash", "--id", "K"]).ok();
    let mut claimer = t
        .cmd_in(&t.dir, &["task", "claim", "K", "--run", "--", "sh", "-c", WORK_THEN_WAIT])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let tenant = t.root.join(format!("{}.worktrees/K", t.dir.file_name().unwrap().to_str().unwrap()));
    wait_until("the command committed and left a file", || tenant.join("dirty.txt").exists());
    let s = &stored(&t)["K"];
    assert_eq!(s["claimed_by"]["pid"], claimer.id(), "--run claims for its own process: {s}");
    assert_eq!(s["tenant"], "K");
    let wip = t.git(&["rev-parse", "neighbor/K"]);
    refused(&t, &["claim", "K"], 3, "already claimed");

    claimer.kill().unwrap(); // SIGKILL
    claimer.wait().unwrap();
    let v = task(&t, &["show", "K", "--json"]).ok().json();
    assert_eq!((v["status"].clone(), v["claim_dead"].clone()), (json!("pending"), json!(true)), "{v}");
    assert_eq!(ready_ids(&t), ["K"], "ready again at once");

    let won = task(&t, &["claim", "--next", "--json"]).ok().json();
    assert_eq!(won["id"], "K");
    let rescued = stored(&t)["K"]["rescued"].as_str().expect("the task says where the work went").to_string();
    assert!(rescued.starts_with("refs/neighbor/rescue/"), "{rescued}");
    assert_eq!(t.git(&["show", &format!("{rescued}:wip.txt")]), "wip");
    assert_eq!(t.git(&["show", &format!("{rescued}:dirty.txt")]), "dirty", "uncommitted work is saved too");
    let ancestor = t.git_out(&t.dir, &["merge-base", "--is-ancestor", &wip, &rescued]);
    assert_eq!(ancestor.code, 0, "the tenant's commit is in the rescue");
    // The tenant itself is kept as it was.
    assert_eq!(t.git(&["rev-parse", "neighbor/K"]), wip);
    assert!(tenant.join("dirty.txt").exists());
}

/// A claim through a remote from another host (NEIGHBOR_HOST) carries a heartbeat that `task claim --run`
/// refreshes on the remote. After `kill -9` of that claimer the claim still holds under a long
/// `tasks.claim-ttl`, and has expired under one shorter than the age of its last heartbeat (read from the
/// remote, so nothing depends on how fast the test runs): the task is ready again and the next claim takes
/// it over through the remote, first saving the work of its tenant (here in the claimer's clone) as a
/// rescue ref that the task names.
#[test]
fn a_remote_claims_heartbeat_expires_after_the_ttl_and_its_work_is_rescued() {
    let t = TestRepo::with_remote();
    let one = t.dir.clone();
    let two = t.root.join("clone2");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), two.to_str().unwrap()]);
    let in_dir = |dir: &std::path::Path, args: &[&str]| t.neighbor_in(dir, args);
    in_dir(&one, &["task", "add", "far work", "--id", "X"]).ok();
    in_dir(&one, &["task", "sync", "origin"]).ok();
    in_dir(&two, &["task", "sync", "origin"]).ok();

    // Clone two runs X as host "far-away", with a 1s expiry: it refreshes the heartbeat every ~333ms.
    let mut claimer = t
        .cmd_in(&two, &["-c", "tasks.claim-ttl=1s", "task", "claim", "X", "--run", "--", "sh", "-c", WORK_THEN_WAIT])
        .env("NEIGHBOR_HOST", "far-away")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the remote holds a refreshed heartbeat", || {
        on_origin(&t, "X").is_some_and(|x| {
            x["claimed_by"]["heartbeat"].is_string() && x["claimed_by"]["heartbeat"] != x["claimed_by"]["since"]
        })
    });
    let x = on_origin(&t, "X").unwrap();
    assert_eq!(x["claimed_by"]["host"], "far-away");
    assert_eq!(x["tenant"], "X");
    let tenant = t.root.join("clone2.worktrees/X");
    wait_until("the command committed and left a file", || tenant.join("dirty.txt").exists());
    let wip = t.git_in(&two, &["rev-parse", "neighbor/X"]);

    claimer.kill().unwrap(); // SIGKILL: no more heartbeats
    claimer.wait().unwrap();
    // A heartbeat push under way when it died may still land: wait until the remote's is stable, and older
    // than one second.
    let last_beat = || on_origin(&t, "X").unwrap()["claimed_by"]["heartbeat"].as_str().unwrap().to_string();
    let mut beat = last_beat();
    loop {
        let at: jiff::Timestamp = beat.parse().unwrap();
        let age = jiff::Timestamp::now().duration_since(at);
        let want = jiff::SignedDuration::from_millis(1500);
        if age < want {
            std::thread::sleep((want - age).unsigned_abs());
        }
        let again = last_beat();
        if again == beat {
            break;
        }
        beat = again;
    }

    // Under a TTL longer than its age, the claim holds: refused, naming the far host.
    let o = in_dir(&one, &["-c", "tasks.claim-ttl=1h", "task", "claim", "X"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("on far-away"), "{}", o.stderr);
    // Under a 1s TTL it has expired: ready again, in either clone.
    let v = in_dir(&one, &["-c", "tasks.claim-ttl=1s", "task", "show", "X", "--json"]).ok().json();
    assert_eq!(
        (v["status"].clone(), v["claim_expired"].clone(), v["ready"].clone()),
        (json!("pending"), json!(true), json!(true)),
        "{v}"
    );
    // Clone two takes it over (through the remote, by default): its tenant's work is saved first.
    let won = in_dir(&two, &["-c", "tasks.claim-ttl=1s", "task", "claim", "--next", "--json"]).ok().json();
    assert_eq!(won["id"], "X");
    let x = on_origin(&t, "X").unwrap();
    assert_ne!(x["claimed_by"]["host"], "far-away", "the remote holds the new claim: {x}");
    let rescued = x["rescued"].as_str().expect("the task says where the work went").to_string();
    assert_eq!(t.git_in(&two, &["show", &format!("{rescued}:wip.txt")]), "wip");
    assert_eq!(t.git_in(&two, &["show", &format!("{rescued}:dirty.txt")]), "dirty");
    assert_eq!(t.git_out(&two, &["merge-base", "--is-ancestor", &wip, &rescued]).code, 0);
    assert_eq!(t.git_in(&two, &["rev-parse", "neighbor/X"]), wip, "the tenant is kept as it was");
    // Clone one now sees the new claim, live.
    let o = in_dir(&one, &["-c", "tasks.claim-ttl=1s", "task", "claim", "X"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
}

/// The `task-*` events of events.jsonl in order, as `event task` strings.
fn task_events(t: &TestRepo) -> Vec<String> {
    let events = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    events
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["event"].as_str().is_some_and(|n| n.starts_with("task-")))
        .map(|e| format!("{} {}", e["event"].as_str().unwrap(), e["task"].as_str().unwrap()))
        .collect()
}

/// `fleet --tasks`: three streams pull the ready tasks until none remain. A chain A -> B -> C runs in order
/// (B is claimed only after A is done, C after B), an independent D runs beside it; every task is done once.
#[test]
fn fleet_tasks_runs_a_chain_in_order() {
    let t = TestRepo::new();
    task(&t, &["add", "a", "--id", "A"]).ok();
    task(&t, &["add", "b", "--id", "B", "--blocked-by", "A"]).ok();
    task(&t, &["add", "c", "--id", "C", "--blocked-by", "B"]).ok();
    task(&t, &["add", "d", "--id", "D"]).ok();
    let order = t.root.join("order.txt");
    let cmd = format!("echo \"$NEIGHBOR_NAME\" >> '{}'", order.display());
    let o = t.neighbor(&["fleet", "--tasks", "--streams", "3", "--json", "--", "sh", "-c", &cmd]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let report = o.json();
    let mut ran: Vec<String> =
        report["runs"].as_array().unwrap().iter().map(|r| r["task"].as_str().unwrap().to_string()).collect();
    ran.sort();
    assert_eq!(ran, ["A", "B", "C", "D"], "each task run once: {report}");
    assert!(report["runs"].as_array().unwrap().iter().all(|r| r["status"] == "done" && r["exit"] == 0), "{report}");
    assert_eq!(report["left"], json!([]));
    for (id, v) in stored(&t) {
        assert_eq!(v["status"], "done", "{id}");
    }
    // The commands ran A before B before C.
    let ran_order: Vec<String> = std::fs::read_to_string(&order).unwrap().lines().map(String::from).collect();
    let pos = |id: &str| ran_order.iter().position(|l| l == id).unwrap();
    assert!(pos("A") < pos("B") && pos("B") < pos("C"), "{ran_order:?}");
    // And the log agrees: each dependent is claimed only after its blocker is done.
    let ev = task_events(&t);
    let at = |e: &str| ev.iter().position(|x| x == e).unwrap_or_else(|| panic!("no {e} in {ev:?}"));
    assert!(at("task-done A") < at("task-claim B"), "{ev:?}");
    assert!(at("task-done B") < at("task-claim C"), "{ev:?}");
    assert_eq!(ev.iter().filter(|e| e.starts_with("task-claim ")).count(), 4, "{ev:?}");
}

/// The agent of the landing tests: tasks A and B rewrite README.md's line (they conflict), C adds a file,
/// D commits nothing; each commits in its tenant.
const AGENT: &str = "case \"$NEIGHBOR_NAME\" in A|B) echo \"$NEIGHBOR_NAME\" > README.md;; C) echo c > c.txt;; *) exit 0;; esac; \
                     git add -A && git commit -qm \"$NEIGHBOR_NAME\"";

fn four_tasks(t: &TestRepo) {
    for id in ["A", "B", "C", "D"] {
        task(t, &["add", &format!("task {id}"), "--id", id]).ok();
    }
}

/// `fleet --tasks --land`: the done tasks' tenants go through the queue ordered by the forecast. A and B
/// conflict, so they are never in one tested batch: the later is held back and then ejected naming the
/// other (its tenant kept); C lands; D, with nothing to land, is reported. Exit 1 (an ejection).
#[test]
fn fleet_tasks_land_through_the_queue_and_never_batch_a_conflicting_pair() {
    let t = TestRepo::new();
    four_tasks(&t);
    let log = t.root.join("tested");
    let test = format!("echo $NEIGHBOR_QUEUE_ENTRIES >> '{}'", log.display());
    let o = t.neighbor(&[
        "fleet",
        "--tasks",
        "--streams",
        "2",
        "--land",
        "--land-test",
        &test,
        "--land-batch",
        "3",
        "--json",
        "--",
        "sh",
        "-c",
        AGENT,
    ]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = o.json();
    let l = &r["landing"];
    let queued: Vec<(String, u64)> = l["queued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|q| (q["task"].as_str().unwrap().to_string(), q["entry"].as_u64().unwrap()))
        .collect();
    let mut names: Vec<&str> = queued.iter().map(|(n, _)| n.as_str()).collect();
    names.sort();
    assert_eq!(names, ["A", "B", "C"], "{l}");
    assert_eq!(l["not_queued"][0]["task"], "D", "{l}");
    assert!(l["not_queued"][0]["reason"].as_str().unwrap().contains("nothing to land"), "{l}");
    let entry = |n: &str| queued.iter().find(|(q, _)| q == n).unwrap().1;
    let (first, second) = if entry("A") < entry("B") { ("A", "B") } else { ("B", "A") };
    let ids = |v: &serde_json::Value| -> Vec<u64> {
        v.as_array().unwrap().iter().map(|o| o["id"].as_u64().unwrap()).collect()
    };
    let mut landed = ids(&l["queue"]["landed"]);
    landed.sort();
    let mut want = vec![entry(first), entry("C")];
    want.sort();
    assert_eq!(landed, want, "{l}");
    assert_eq!(ids(&l["queue"]["ejected"]), [entry(second)], "{l}");
    assert_eq!(ids(&l["queue"]["held"]), [entry(second)], "{l}");
    let why = l["queue"]["ejected"][0]["reason"].as_str().unwrap();
    assert_eq!(why, format!("conflicts with #{} ({first}) on README.md", entry(first)), "{l}");
    // Never tested together: no tested tree held both A's and B's entries.
    let units = std::fs::read_to_string(&log).unwrap();
    for u in units.lines() {
        let has = |n: &str| u.split(' ').any(|x| x == entry(n).to_string());
        assert!(!(has("A") && has("B")), "{units}");
    }
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap().trim(), first);
    assert!(t.dir.join("c.txt").exists(), "main's checkout follows");
    for (id, v) in stored(&t) {
        assert_eq!(v["status"], "done", "{id}");
    }
    let mut left: Vec<String> = t.tenants_json().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    left.sort();
    let mut want_left = vec![second.to_string(), "D".into()];
    want_left.sort();
    assert_eq!(left, want_left, "landed tenants removed; the ejected one and D's kept");
    // Human output: one row per task with what became of it.
    let t2 = TestRepo::new();
    four_tasks(&t2);
    let o =
        t2.neighbor(&["fleet", "--tasks", "--streams", "1", "--land", "--land-batch", "2", "--", "sh", "-c", AGENT]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stdout.contains("TASK") && o.stdout.contains("LANDING"), "{}", o.stdout);
    assert!(o.stdout.contains("held back: conflicts with"), "{}", o.stdout);
    assert!(o.stdout.contains("not queued: tenant 'D' has nothing to land"), "{}", o.stdout);
}

/// `kill -9` of `fleet --tasks --land` after each queue state write (the entries it queues, their landing),
/// then the same command again: nothing is run twice, every done task's work is queued once and decided
/// once (A or B ejected, the rest landed once each), and nothing is lost.
#[test]
fn a_fleet_killed_while_landing_then_run_again_lands_each_tasks_work_once() {
    let args = ["fleet", "--tasks", "--streams", "1", "--land", "--land-test", "true", "--", "sh", "-c", AGENT];
    let t = TestRepo::new();
    four_tasks(&t);
    let trace = t.root.join("trace");
    let o = t.cmd_in(&t.dir, &args).env("NEIGHBOR_FAILPOINT_TRACE", &trace).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let points: Vec<String> = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|p| p.starts_with("queue-"))
        .map(str::to_string)
        .collect();
    assert!(points.iter().filter(|p| *p == "queue-entry-written").count() >= 3, "{points:?}");
    for (i, name) in points.iter().enumerate() {
        let nth = points[..=i].iter().filter(|p| *p == name).count();
        let label = format!("{name}#{nth}");
        let t = TestRepo::new();
        four_tasks(&t);
        let o = t.cmd_in(&t.dir, &args).env("NEIGHBOR_FAILPOINT", &label).output().unwrap();
        assert_eq!(o.status.code(), None, "killed at {label}: {}", String::from_utf8_lossy(&o.stderr));
        let again = t.neighbor(&args);
        assert!(again.code <= 1, "{label}: {}", again.stderr);
        let entries = t.neighbor(&["queue", "list", "--json"]).ok().json();
        let entries = entries.as_array().unwrap();
        let tenants: Vec<&str> = entries.iter().map(|e| e["tenant"].as_str().unwrap()).collect();
        let mut sorted = tenants.clone();
        sorted.sort();
        assert_eq!(sorted, ["A", "B", "C"], "{label}: each queued once: {entries:?}");
        let state = |n: &str| entries.iter().find(|e| e["tenant"] == n).unwrap()["state"].as_str().unwrap().to_string();
        let mut ab = [state("A"), state("B")];
        ab.sort();
        assert_eq!(ab, ["ejected", "landed"], "{label}");
        assert_eq!(state("C"), "landed", "{label}");
        let c_landed = t.git(&["log", "--format=%s", "main"]);
        assert_eq!(c_landed.lines().filter(|l| *l == "C").count(), 1, "{label}: {c_landed}");
        assert_eq!(
            task_events(&t).iter().filter(|e| e.starts_with("task-claim ")).count(),
            4,
            "{label}: none ran twice"
        );
    }
    eprintln!("fleet --tasks --land: {} queue state writes, each killed, rerun and checked", points.len());
}

/// Two `fleet --tasks --land` at the same moment on one plane: each task is run once by one of them, its
/// work queued once, and the two queue runs (one at a time) decide every entry once.
#[test]
fn two_fleets_landing_at_once_run_and_land_each_task_once() {
    let t = TestRepo::new();
    four_tasks(&t);
    let args =
        ["fleet", "--tasks", "--streams", "2", "--land", "--land-test", "true", "--json", "--", "sh", "-c", AGENT];
    let kids: Vec<_> = (0..2)
        .map(|_| t.cmd_in(&t.dir, &args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap())
        .collect();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    }
    let entries = t.neighbor(&["queue", "list", "--json"]).ok().json();
    let entries = entries.as_array().unwrap();
    let mut tenants: Vec<&str> = entries.iter().map(|e| e["tenant"].as_str().unwrap()).collect();
    tenants.sort();
    assert_eq!(tenants, ["A", "B", "C"], "each queued once: {entries:?}");
    let state = |n: &str| entries.iter().find(|e| e["tenant"] == n).unwrap()["state"].as_str().unwrap().to_string();
    let mut ab = [state("A"), state("B")];
    ab.sort();
    assert_eq!(ab, ["ejected", "landed"]);
    assert_eq!(state("C"), "landed");
    assert_eq!(task_events(&t).iter().filter(|e| e.starts_with("task-claim ")).count(), 4, "none ran twice");
    for (id, v) in stored(&t) {
        assert_eq!(v["status"], "done", "{id}");
    }
}

/// `fleet --tasks` whose command fails for one task: that task is failed, the task waiting on it is never
/// run, and the fleet ends (it does not wait for it) with exit 1 naming both as not done.
#[test]
fn fleet_tasks_stops_when_only_tasks_blocked_by_a_failure_remain() {
    let t = TestRepo::new();
    task(&t, &["add", "f", "--id", "F"]).ok();
    task(&t, &["add", "g", "--id", "G", "--blocked-by", "F"]).ok();
    task(&t, &["add", "h", "--id", "H"]).ok();
    let o =
        t.neighbor(&["fleet", "--tasks", "--streams", "2", "--json", "--", "sh", "-c", "test \"$NEIGHBOR_NAME\" != F"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let report = o.json();
    assert_eq!(report["left"], json!(["F", "G"]), "{report}");
    let s = stored(&t);
    assert_eq!(
        (s["F"]["status"].as_str(), s["G"]["status"].as_str(), s["H"]["status"].as_str()),
        (Some("failed"), Some("pending"), Some("done"))
    );
    assert!(!task_events(&t).contains(&"task-claim G".to_string()));
}

/// `kill -9` of `task claim --next` through a shared plane at every git call it makes (before and after
/// each), its claimer gone with it: whatever the crash left (a claim here only, on the remote only, or on
/// both), the task is never lost nor held for good. After the crashed clone's next sync (exit 0, or 3 when
/// its claim was replaced), the other clone claims both tasks, each exactly once on the remote, and a third
/// claim finds nothing ready.
#[test]
fn a_claim_through_the_remote_killed_at_any_git_call_leaves_no_task_held_or_doubled() {
    use crate::faults::{Faults, When, killed};
    let setup = || {
        let t = TestRepo::with_remote();
        let two = t.root.join("clone2");
        t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), two.to_str().unwrap()]);
        task(&t, &["add", "first", "--id", "P"]).ok();
        task(&t, &["add", "second", "--id", "Q"]).ok();
        task(&t, &["sync", "origin"]).ok();
        t.neighbor_in(&two, &["task", "sync", "origin"]).ok();
        (t, two)
    };
    let n = {
        let (t, two) = setup();
        let mut holder = std::process::Command::new("sleep").arg("600").spawn().unwrap();
        let f = Faults::new(&t);
        let pid = holder.id().to_string();
        f.run(&t, &two, &["task", "claim", "--next", "--follow-pid", &pid], None).ok();
        holder.kill().unwrap();
        holder.wait().unwrap();
        f.calls().len()
    };
    assert!(n >= 8, "a claim through a remote makes several git calls: {n}");
    let mut kills = 0;
    for k in 1..=n {
        for when in [When::Before, When::After] {
            let (t, two) = setup();
            let mut holder = std::process::Command::new("sleep").arg("600").spawn().unwrap();
            let f = Faults::new(&t);
            let pid = holder.id().to_string();
            let o = f.run(&t, &two, &["task", "claim", "--next", "--follow-pid", &pid], Some((k, when)));
            assert!(killed(&o), "{k} {when:?}: not killed: {} {}", o.code, o.stderr);
            kills += 1;
            holder.kill().unwrap();
            holder.wait().unwrap();
            let s = t.neighbor_in(&two, &["task", "sync", "origin"]);
            assert!(s.code == 0 || s.code == 3, "{k} {when:?}: the crashed clone syncs: {}", s.stderr);
            let mut got: Vec<String> = (0..2)
                .map(|_| {
                    let c = task(&t, &["claim", "--next", "--json"]);
                    assert_eq!(c.code, 0, "{k} {when:?}: {}", c.stderr);
                    c.json()["id"].as_str().unwrap().to_string()
                })
                .collect();
            got.sort();
            assert_eq!(got, ["P", "Q"], "{k} {when:?}");
            assert_eq!(task(&t, &["claim", "--next"]).code, NOTHING_READY, "{k} {when:?}");
            for id in ["P", "Q"] {
                let r = on_origin(&t, id).unwrap();
                assert_eq!(r["claimed_by"]["pid"], std::process::id(), "{k} {when:?}: {id} is ours on the remote: {r}");
            }
        }
    }
    assert_eq!(kills, 2 * n);
    eprintln!("task claim --next through the remote: {n} git calls, {kills} kill points, no task held or doubled");
}

/// Whether process `pid` is stopped (SIGSTOP), read from /proc.
fn is_stopped(pid: &str) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('T'))
}

/// A `task claim job --run` as host A (a claim judged by its heartbeat elsewhere), whose command writes its
/// pid to `a.pid`, stops itself (a suspended laptop: A's run and its lease are alive, its heartbeat is not
/// seen) and, once continued, exits `code`. Returns A and the command's pid once it is stopped.
fn stale_run_claimer(t: &TestRepo, code: i32) -> (std::process::Child, String) {
    task(t, &["add", "the job", "--id", "job"]).ok();
    let pidfile = t.root.join("a.pid");
    let cmd = format!("echo A > fromA.txt; echo $$ > '{}'; kill -STOP $$; exit {code}", pidfile.display());
    let a = t
        .cmd_in(&t.dir, &["task", "claim", "job", "--run", "--", "sh", "-c", &cmd])
        .env("NEIGHBOR_HOST", "hostA")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("A's command stopped itself", || {
        std::fs::read_to_string(&pidfile).is_ok_and(|p| !p.trim().is_empty() && is_stopped(p.trim()))
    });
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_string();
    assert_eq!(stored(t)["job"]["claimed_by"]["host"], "hostA");
    (a, pid)
}

/// Host B, for which A's claim has expired (a 1ms claim-ttl: A's heartbeat is older than that).
fn as_host_b(t: &TestRepo, args: &[&str]) -> Out {
    let mut all = vec!["-c", "tasks.claim-ttl=1ms", "task"];
    all.extend_from_slice(args);
    Out::from_output(t.cmd_in(&t.dir, &all).env("NEIGHBOR_HOST", "hostB").output().unwrap())
}

/// A `task claim --run` whose claim expired and was taken over while its command ran: when the command
/// ends (exit 0 or 1) the old claimer's result is refused ("claim lost", exit 3) and the new claim stays
/// exactly as it was. A human's `task done` of the task still works.
#[test]
fn a_stale_run_claimer_cannot_finish_a_claim_taken_over_from_it() {
    for code in [1, 0] {
        let t = TestRepo::new();
        let (a, pid) = stale_run_claimer(&t, code);
        // B takes the expired claim (without a tenant: A's lease does not stand in its way).
        as_host_b(&t, &["claim", "job"]).ok();
        let taken = stored(&t)["job"].clone();
        assert_eq!((taken["status"].as_str(), taken["claimed_by"]["host"].as_str()), (Some("claimed"), Some("hostB")));
        std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap();
        let out = Out::from_output(a.wait_with_output().unwrap());
        assert_eq!(out.code, 3, "exit {code}: A's late result is refused: {}", out.stderr);
        assert!(out.stderr.contains("claim lost"), "exit {code}: {}", out.stderr);
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert_eq!(stored(&t)["job"], taken, "exit {code}: B's claim is untouched");
        // A human may still decide the task is done.
        task(&t, &["done", "job"]).ok();
        assert_eq!(stored(&t)["job"]["status"], "done");
    }
}

/// `task claim --tenant` of a task whose claim expired while its `--run` still holds its tenant's lease: the
/// tenant is not handed over (two writers in one worktree); the claim is refused (exit 3) naming the lease,
/// and the old claim stays, so the old claimer still finishes its own task.
#[test]
fn a_claim_never_takes_up_a_tenant_whose_lease_is_held() {
    let t = TestRepo::new();
    let (a, pid) = stale_run_claimer(&t, 1);
    let before = stored(&t)["job"].clone();
    let o = as_host_b(&t, &["claim", "job", "--tenant"]);
    assert_eq!(o.code, 3, "{}\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("leased"), "{}", o.stderr);
    assert_eq!(o.stdout, "", "no tenant path handed out");
    assert_eq!(stored(&t)["job"], before, "A's claim is untouched");
    // --next skips it: nothing else is ready.
    assert_eq!(as_host_b(&t, &["claim", "--next", "--tenant"]).code, NOTHING_READY);
    assert_eq!(stored(&t)["job"], before);
    std::process::Command::new("kill").args(["-CONT", &pid]).status().unwrap();
    let out = Out::from_output(a.wait_with_output().unwrap());
    assert_eq!(out.code, 1, "A's command's exit: {}", out.stderr);
    let s = &stored(&t)["job"];
    assert_eq!((s["status"].as_str(), s["claimed_by"]["host"].as_str()), (Some("failed"), Some("hostA")), "{s}");
}

/// `kill -9` of `task claim --tenant` at each of its fail points, the caller (this test) alive: the caller's
/// own retry resumes its claim (the tenant made or taken up, its path printed), again and again; its retry
/// with `--next --tenant` resumes it too rather than leaving it held. Nothing is stuck on the live caller.
#[test]
fn a_killed_claim_into_a_tenant_is_resumed_by_the_same_callers_retry() {
    for point in ["task-claim.claimed", "task-claim.tenant-made", "task-claim.bound"] {
        for next in [false, true] {
            let label = format!("{point} (retry with {})", if next { "--next" } else { "the id" });
            let t = TestRepo::new();
            task(&t, &["add", "crash me", "--id", "c"]).ok();
            task(&t, &["add", "other", "--id", "d"]).ok();
            let o = t
                .cmd_in(&t.dir, &["task", "claim", "c", "--tenant"])
                .env("NEIGHBOR_FAILPOINT", point)
                .output()
                .unwrap();
            assert_eq!(o.status.code(), None, "{label}: killed: {}", String::from_utf8_lossy(&o.stderr));
            assert_eq!(stored(&t)["c"]["claimed_by"]["pid"], std::process::id(), "{label}");
            if next && point == "task-claim.bound" {
                // Bound and only its printing lost: --next cannot tell it from a finished claim; the id can.
                continue;
            }
            let retry: &[&str] = if next { &["claim", "--next", "--tenant"] } else { &["claim", "c", "--tenant"] };
            let first = task(&t, retry);
            assert_eq!(first.code, 0, "{label}: {}", first.stderr);
            let path = std::path::PathBuf::from(first.stdout.trim_end());
            assert!(path.join("README.md").exists(), "{label}: {}", first.stdout);
            let s = stored(&t)["c"].clone();
            assert_eq!((s["status"].as_str(), s["tenant"].as_str()), (Some("claimed"), Some("c")), "{label}: {s}");
            assert_eq!(s["claimed_by"]["pid"], std::process::id(), "{label}");
            let rows = t.tenants_json();
            assert_eq!(rows.iter().filter(|r| r["task"] == "c").count(), 1, "{label}: {rows:?}");
            // The same retry again: the same tenant, nothing changed.
            let again = task(&t, &["claim", "c", "--tenant"]).ok();
            assert_eq!(again.stdout, first.stdout, "{label}");
            assert_eq!(stored(&t)["c"], s, "{label}: idempotent");
            // A plain claim of it is still refused, and --next moves on to d, then finds nothing.
            refused(&t, &["claim", "c"], 3, "already claimed");
            let d = task(&t, &["claim", "--next", "--tenant", "--json"]).ok().json();
            assert_eq!(d["id"], "d", "{label}");
            assert_eq!(task(&t, &["claim", "--next", "--tenant"]).code, NOTHING_READY, "{label}");
        }
    }
}

/// The task blob `json` behind refs/neighbor/tasks/<id> of the bare remote `origin.git`, as any writer of
/// the shared remote can push it.
fn push_raw_task(t: &TestRepo, id: &str, json: &str) {
    let origin = t.root.join("origin.git");
    let p = t.root.join(format!("{id}.json"));
    std::fs::write(&p, json).unwrap();
    let oid = t.git_in(&origin, &["hash-object", "-w", p.to_str().unwrap()]);
    t.git_in(&origin, &["update-ref", &format!("refs/neighbor/tasks/{id}"), &oid]);
}

/// Task blobs from a remote carrying terminal escapes (OSC 52 clipboard write, clear screen) in a subject,
/// a label, an owner, a claimer's host or a body are malformed: left out of `list` with a one-line warning,
/// refused by `show` and `claim`, and no raw control character reaches the output. Locally, such text is
/// refused before it is written (exit 2).
#[test]
fn tasks_with_terminal_escapes_are_malformed_and_never_printed_raw() {
    let t = TestRepo::with_remote();
    let esc = "\\u001b]52;c;Y3VybCBldmlsLnNoIHwgc2gK\\u0007\\u001b[2J\\u001b[H";
    let base = |id: &str, extra: &str| {
        format!(
            r#"{{"id":"{id}","subject":"s","status":"pending","created":"2026-01-01T00:00:00Z","updated":"2026-01-01T00:00:00Z","version":1{extra}}}"#
        )
    };
    push_raw_task(
        &t,
        "subj",
        &base("subj", "").replace(r#""subject":"s""#, &format!(r#""subject":"fix login {esc}all tests pass""#)),
    );
    push_raw_task(&t, "label", &base("label", &format!(r#","labels":["ok","x{esc}"]"#)));
    push_raw_task(&t, "owner", &base("owner", &format!(r#","owner":"me{esc}""#)));
    push_raw_task(&t, "body", &base("body", &format!(r#","body":"text{esc}""#)));
    push_raw_task(
        &t,
        "host",
        &base("host", &format!(r#","claimed_by":{{"pid":1,"host":"h{esc}","since":"2026-01-01T00:00:00Z"}}"#))
            .replace(r#""status":"pending""#, r#""status":"claimed""#),
    );
    // A body may hold lines, tabs and CRLF line ends.
    push_raw_task(&t, "fine", &base("fine", r#","body":"line one\r\n\tline two\n""#));
    task(&t, &["sync", "origin"]).ok();
    let raw = |o: &Out| o.stdout.contains('\u{1b}') || o.stderr.contains('\u{1b}') || o.stderr.contains('\u{7}');
    let o = task(&t, &["list"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!raw(&o), "raw escapes printed: {:?} {:?}", o.stdout, o.stderr);
    for id in ["subj", "label", "owner", "body", "host"] {
        assert!(
            o.stderr.contains(&format!("warning: refs/neighbor/tasks/{id} does not hold a task")),
            "{id}: {}",
            o.stderr
        );
        refused(&t, &["show", id], 1, "holds a control character");
        refused(&t, &["claim", id], 1, "does not hold a task");
    }
    assert!(o.stdout.contains("fine"), "{}", o.stdout);
    let json = task(&t, &["list", "--json"]).ok().json();
    assert_eq!(json.as_array().unwrap().len(), 1, "{json}");
    let shown = task(&t, &["show", "fine"]).ok();
    assert!(shown.stdout.contains("line one\n\tline two\n"), "{:?}", shown.stdout);
    let c = task(&t, &["claim", "--next"]);
    assert_eq!(c.stdout, "fine\n", "{}", c.stderr);
    assert!(!raw(&c), "{:?}", c.stderr);

    // Here, such text is refused before it is written.
    let before = t.git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/neighbor/tasks/"]);
    let bad = "a\u{1b}[2Jb";
    for args in [&["add", bad][..], &["add", "ok", "--label", bad], &["edit", "fine", "--subject", bad]] {
        let o = task(&t, args);
        assert_eq!(o.code, 2, "{args:?}: {}", o.stderr);
        assert!(o.stderr.contains("control character"), "{args:?}: {}", o.stderr);
        assert!(!raw(&o), "{args:?}: {:?}", o.stderr);
    }
    std::fs::write(t.root.join("body.txt"), "ring\u{7}\n").unwrap();
    let o = task(&t, &["add", "ok", "--body-file", t.root.join("body.txt").to_str().unwrap()]);
    assert_eq!(o.code, 2, "{}", o.stderr);
    assert_eq!(t.git(&["for-each-ref", "--format=%(refname) %(objectname)", "refs/neighbor/tasks/"]), before);
}

/// Human output escapes what a valid task may still hold and a terminal would act on: a carriage return
/// inside a body line (which would overwrite the line) is shown as `\r`; a CRLF line end stays a line end.
#[test]
fn human_output_shows_control_characters_escaped() {
    let t = TestRepo::new();
    std::fs::write(t.root.join("body.txt"), "real text\rfake text\r\nnext\n").unwrap();
    task(&t, &["add", "crlf", "--id", "b", "--body-file", t.root.join("body.txt").to_str().unwrap()]).ok();
    let o = task(&t, &["show", "b"]).ok();
    assert!(o.stdout.contains("real text\\rfake text\nnext\n"), "{:?}", o.stdout);
    assert!(!o.stdout.contains('\r'), "{:?}", o.stdout);
    // JSON keeps the text as it is.
    assert_eq!(task(&t, &["show", "b", "--json"]).ok().json()["body"], "real text\rfake text\r\nnext\n");
}
