//! The speculative merge queue: `land --queue`, `queue list|show|cancel|run`.

use crate::common::*;

fn commit_in(t: &TestRepo, p: &std::path::Path, file: &str, body: &str) {
    write_in(p, file, body);
    t.git_in(p, &["add", file]);
    t.git_in(p, &["commit", "-q", "-m", &format!("edit {file}")]);
}

/// A tenant `name` with one commit adding `<name>.txt`.
fn tenant_with_work(t: &TestRepo, name: &str) -> std::path::PathBuf {
    let p = t.add(name, &[]);
    commit_in(t, &p, &format!("{name}.txt"), &format!("{name}\n"));
    p
}

#[test]
fn enqueue_prints_the_position_and_list_show_cancel_agree() {
    let t = TestRepo::new();
    tenant_with_work(&t, "a");
    let b = tenant_with_work(&t, "b");
    let o = t.neighbor(&["land", "--queue", "a"]).ok();
    assert_eq!(o.stdout.trim(), "1", "{}", o.stderr);
    // NAME defaults to the tenant the current directory is in.
    let o = t.neighbor_in(&b, &["land", "--queue", "--json"]).ok();
    let j = o.json();
    assert_eq!(j["schema_version"], 1);
    assert_eq!((j["id"].as_u64(), j["position"].as_u64(), j["state"].as_str()), (Some(2), Some(2), Some("queued")));
    assert_eq!(j["tip"].as_str().unwrap(), t.git(&["rev-parse", "neighbor/b"]));
    assert_eq!(j["into"], "main");

    let l = t.neighbor(&["queue", "list", "--json"]).ok().json();
    let names: Vec<&str> = l.as_array().unwrap().iter().map(|e| e["tenant"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    let s = t.neighbor(&["queue", "show", "b", "--json"]).ok().json();
    assert_eq!((s["id"].as_u64(), s["schema_version"].as_u64()), (Some(2), Some(1)));

    let c = t.neighbor(&["queue", "cancel", "#1", "--json"]).ok().json();
    assert_eq!(c["state"], "cancelled");
    let s = t.neighbor(&["queue", "show", "1"]).ok();
    assert!(s.stdout.contains("#1 cancelled: a"), "{}", s.stdout);
    // Cancelling twice is an error, and a cancelled tenant can be queued again, behind b.
    let o = t.neighbor(&["queue", "cancel", "a"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("already cancelled"), "{}", o.stderr);
    let o = t.neighbor(&["land", "--queue", "a"]).ok();
    assert_eq!(o.stdout.trim(), "2");
    let st = t.neighbor(&["queue"]).ok();
    assert!(st.stdout.contains("cancelled") && st.stdout.contains("queued"), "{}", st.stdout);
    // Nothing moved: the queue only records.
    assert_eq!(t.git(&["rev-list", "--count", "main"]), "1");
    let ev = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    assert_eq!(ev.matches("\"queue-enqueue\"").count(), 3);
    assert_eq!(ev.matches("\"queue-cancel\"").count(), 1);
}

#[test]
fn bad_input_is_one_clear_line_with_its_exit_code() {
    let t = TestRepo::new();
    let p = tenant_with_work(&t, "a");
    let o = t.neighbor(&["land", "--queue", "nosuch"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.starts_with("error: no tenant named 'nosuch'"), "{}", o.stderr);
    t.neighbor(&["land", "--queue", "a"]).ok();
    let o = t.neighbor(&["land", "--queue", "a"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.starts_with("error: tenant 'a' is already queued as #1 (queued)"), "{}", o.stderr);
    assert!(o.stderr.contains("hint: `git neighbor queue cancel 1`"), "{}", o.stderr);
    let o = t.neighbor(&["queue", "show", "42"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("error: no queue entry '42'"), "{}", o.stderr);
    // Nothing to land; uncommitted changes refused (exit 3); --queue with --test is a usage error.
    t.add("idle", &[]);
    let o = t.neighbor(&["land", "--queue", "idle"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("nothing to land"), "{}", o.stderr);
    t.neighbor(&["queue", "cancel", "a"]).ok();
    write_in(&p, "wip.txt", "wip\n");
    assert_eq!(t.neighbor(&["land", "--queue", "a"]).code, 3);
    assert_eq!(t.neighbor(&["land", "--queue", "a", "--test", "true"]).code, 2);
    assert_eq!(t.neighbor(&["queue", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);
}

/// `n` tenants `t01..`, each with its own file, enqueued in order.
fn queue_of(t: &TestRepo, n: usize) -> Vec<String> {
    let names: Vec<String> = (1..=n).map(|i| format!("t{i:02}")).collect();
    for name in &names {
        tenant_with_work(t, name);
    }
    for name in &names {
        t.neighbor(&["land", "--queue", name]).ok();
    }
    names
}

fn entries(t: &TestRepo) -> Vec<serde_json::Value> {
    t.neighbor(&["queue", "list", "--json"]).ok().json().as_array().unwrap().clone()
}

/// Every landed entry appears exactly once on the target's first-parent line, as a merge of its recorded
/// tip, in id order; the target holds each landed tip and no ejected/cancelled one.
fn check_landed_once(t: &TestRepo, target: &str) {
    let line = t.git(&["rev-list", "--first-parent", "--reverse", "--parents", target]);
    let second_parents: Vec<String> = line.lines().filter_map(|l| l.split(' ').nth(2).map(str::to_string)).collect();
    let mut landed_order = Vec::new();
    for e in entries(t) {
        let tip = e["tip"].as_str().unwrap().to_string();
        let n = second_parents.iter().filter(|p| **p == tip).count();
        if e["state"] == "landed" {
            assert_eq!(n, 1, "entry {} lands once: {e}", e["id"]);
            landed_order.push(second_parents.iter().position(|p| *p == tip).unwrap());
        } else {
            assert_eq!(n, 0, "entry {} did not land: {e}", e["id"]);
            assert_eq!(t.git_out(&t.dir, &["merge-base", "--is-ancestor", &tip, target]).code, 1, "{e}");
        }
    }
    assert!(landed_order.windows(2).all(|w| w[0] < w[1]), "landed in queue order: {landed_order:?}");
}

/// The trees the test command saw (it appends `$NEIGHBOR_QUEUE_TREE` to `log`): none twice.
fn tested_trees(log: &std::path::Path) -> Vec<String> {
    let all: Vec<String> = std::fs::read_to_string(log).unwrap_or_default().lines().map(str::to_string).collect();
    let mut uniq = all.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), all.len(), "a tree was tested twice: {all:?}");
    all
}

#[test]
fn sixteen_tenants_land_in_order_one_commit_each() {
    let t = TestRepo::new();
    let names = queue_of(&t, 16);
    let log = t.root.join("tested");
    let test = format!("echo \"$NEIGHBOR_QUEUE_TREE\" >> {} && test -f README.md", log.display());
    let o = t.neighbor(&["queue", "run", "--parallel", "4", "--test", &test, "--json"]).ok();
    let r = o.json();
    assert_eq!(r["landed"].as_array().unwrap().len(), 16, "{}", o.stderr);
    assert!(r["ejected"].as_array().unwrap().is_empty());
    // One merge commit per tenant on main, in queue order, each the tested tree.
    assert_eq!(t.git(&["rev-list", "--count", "--first-parent", "main"]), "17");
    check_landed_once(&t, "main");
    let tested = tested_trees(&log);
    assert_eq!(tested.len(), 16);
    for e in entries(&t) {
        let commit = e["landed_as"].as_str().unwrap();
        assert_eq!(t.git(&["rev-parse", &format!("{commit}^{{tree}}")]), e["tree"].as_str().unwrap());
        assert!(tested.contains(&e["tree"].as_str().unwrap().to_string()), "landed untested: {e}");
    }
    for n in &names {
        assert!(t.dir.join(format!("{n}.txt")).exists(), "main's checkout follows");
    }
    assert!(t.tenants_json().is_empty(), "landed tenants are removed");
    assert_eq!(t.linked_worktrees(), Vec::<std::path::PathBuf>::new(), "scratch worktrees removed");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
}

#[test]
fn a_failing_entry_is_ejected_with_its_reason_and_the_others_land() {
    let t = TestRepo::new();
    for i in 1..=8 {
        let p = tenant_with_work(&t, &format!("t{i:02}"));
        if i == 4 {
            commit_in(&t, &p, "bad.txt", "breaks the build\n");
        }
        t.neighbor(&["land", "--queue", &format!("t{i:02}")]).ok();
    }
    let log = t.root.join("tested");
    let test = format!("echo \"$NEIGHBOR_QUEUE_TREE\" >> {} && ! test -f bad.txt", log.display());
    let o = t.neighbor(&["queue", "run", "--parallel", "4", "--test", &test]);
    assert_eq!(o.code, 1, "exit 1 when an entry was ejected: {}", o.stderr);
    assert!(o.stderr.contains("queue: ejected #4 t04: tests failed"), "{}", o.stderr);
    check_landed_once(&t, "main");
    tested_trees(&log);
    let states: Vec<String> = entries(&t).iter().map(|e| e["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states, ["landed", "landed", "landed", "ejected", "landed", "landed", "landed", "landed"]);
    let s = t.neighbor(&["queue", "show", "t04"]).ok();
    assert!(s.stdout.contains("#4 ejected: t04") && s.stdout.contains("tests failed (exit status: 1)"), "{}", s.stdout);
    let rows = t.tenants_json();
    assert_eq!(rows.len(), 1, "the ejected tenant is kept, the others removed");
    assert_eq!(rows[0]["status"], "kept");
    assert!(rows[0]["reason"].as_str().unwrap().contains("queue: tests failed"), "{}", rows[0]);
    let ev = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    assert_eq!(ev.matches("\"queue-eject\"").count(), 1);
    assert_eq!(ev.matches("\"queue-land\"").count(), 7);
    assert!(!t.dir.join("bad.txt").exists());
}

#[test]
fn a_failing_batch_is_bisected() {
    let t = TestRepo::new();
    for i in 1..=8 {
        let p = tenant_with_work(&t, &format!("t{i:02}"));
        if i == 6 {
            commit_in(&t, &p, "bad.txt", "breaks the build\n");
        }
        t.neighbor(&["land", "--queue", &format!("t{i:02}"), "--keep"]).ok();
    }
    let log = t.root.join("tested");
    let test = format!("echo \"$NEIGHBOR_QUEUE_TREE\" >> {} && ! test -f bad.txt", log.display());
    let o = t.neighbor(&["queue", "run", "--parallel", "2", "--batch", "4", "--test", &test, "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("bisecting"), "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["ejected"][0]["id"], 6, "{r}");
    assert_eq!(r["landed"].as_array().unwrap().len(), 7);
    check_landed_once(&t, "main");
    let tested = tested_trees(&log);
    assert!(tested.len() < 8, "batches test fewer trees than entries: {tested:?}");
    assert_eq!(t.tenants_json().len(), 8, "--keep keeps landed tenants");
}

#[test]
fn a_conflicting_entry_is_ejected_naming_what_it_conflicts_with() {
    let t = TestRepo::new();
    let a = t.add("a", &[]);
    commit_in(&t, &a, "README.md", "a's readme\n");
    let b = t.add("b", &[]);
    commit_in(&t, &b, "README.md", "b's readme\n");
    tenant_with_work(&t, "c");
    let d = t.add("d", &[]);
    commit_in(&t, &d, "state/agents.json", "d's\n");
    for n in ["a", "b", "c", "d"] {
        t.neighbor(&["land", "--queue", n]).ok();
    }
    t.commit_file("state/agents.json", "main's\n", "main edits agents.json");
    let o = t.neighbor(&["queue", "run", "--parallel", "4", "--test", "true"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let all = entries(&t);
    assert_eq!(all[0]["state"], "landed");
    assert_eq!(all[1]["state"], "ejected");
    assert_eq!(all[1]["reason"], "conflicts with #1 (a) on README.md");
    assert_eq!(all[2]["state"], "landed");
    assert_eq!(all[3]["state"], "ejected");
    assert_eq!(all[3]["reason"], "conflicts with main on state/agents.json");
    check_landed_once(&t, "main");
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "a's readme\n");
    let kept: Vec<String> = t.tenants_json().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(kept, ["b", "d"]);
}

/// Tenants a and b edit README.md's one line (they conflict), c and d add files of their own; queued in
/// that order.
fn queue_with_a_conflicting_pair(t: &TestRepo) {
    let a = t.add("a", &[]);
    commit_in(t, &a, "README.md", "a's readme\n");
    let b = t.add("b", &[]);
    commit_in(t, &b, "README.md", "b's readme\n");
    tenant_with_work(t, "c");
    tenant_with_work(t, "d");
    for n in ["a", "b", "c", "d"] {
        t.neighbor(&["land", "--queue", n]).ok();
    }
}

/// The entries each test saw (`$NEIGHBOR_QUEUE_ENTRIES`, one line per test), in the order tested.
fn tested_units(log: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(log).unwrap_or_default().lines().map(str::to_string).collect()
}

/// `--by-forecast`: b conflicts with a, ahead of it, so it is held back: c and d go into a's batch instead
/// of waiting behind b, b never shares a batch or a tested tree with a, and once nothing is ahead of it b
/// is ejected naming a. Without the flag the same queue waits at b: a alone, then c and d.
#[test]
fn by_the_forecast_a_conflicting_entry_is_held_back_and_those_behind_it_go_on() {
    for by_forecast in [true, false] {
        let t = TestRepo::new();
        queue_with_a_conflicting_pair(&t);
        let log = t.root.join("tested");
        let test = format!("echo $NEIGHBOR_QUEUE_ENTRIES >> {}", log.display());
        let mut args = vec!["queue", "run", "--batch", "3", "--test", &test, "--json"];
        if by_forecast {
            args.push("--by-forecast");
        }
        let o = t.neighbor(&args);
        assert_eq!(o.code, 1, "b is ejected: {}", o.stderr);
        let states: Vec<String> = entries(&t).iter().map(|e| e["state"].as_str().unwrap().to_string()).collect();
        assert_eq!(states, ["landed", "ejected", "landed", "landed"], "{}", o.stderr);
        assert_eq!(entries(&t)[1]["reason"], "conflicts with #1 (a) on README.md");
        check_landed_once(&t, "main");
        let r = o.json();
        let events = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
        if by_forecast {
            assert_eq!(tested_units(&log), ["1 3 4"], "c and d share a's batch; b is never tested");
            let held = r["held"].as_array().unwrap();
            assert_eq!(held.len(), 1, "{r}");
            assert_eq!(held[0]["id"], 2);
            assert_eq!(held[0]["reason"], "conflicts with #1 (a) ahead of it on README.md");
            assert!(o.stderr.contains("queue: #2 b held back: conflicts with #1 (a)"), "{}", o.stderr);
            assert!(o.stderr.contains("(1 held back by the forecast)"), "{}", o.stderr);
            assert_eq!(events.matches("\"queue-hold\"").count(), 1);
            // One move of main for a, c and d: the batch landed as one unit.
            assert_eq!(t.git(&["rev-list", "--count", "--first-parent", "main"]), "4");
            let moves = t.git(&["reflog", "show", "--format=%gs", "main"]);
            assert_eq!(moves.lines().count(), 2, "created, then moved once: {moves}");
        } else {
            assert_eq!(tested_units(&log), ["1", "3 4"], "strict order: the queue waits at b");
            assert!(r["held"].as_array().unwrap().is_empty(), "{r}");
            assert_eq!(events.matches("\"queue-hold\"").count(), 0);
        }
    }
}

/// A held entry is not condemned: when the entry it conflicts with fails its test and is ejected, the
/// held one lands after all (speculated again onto the target, and tested as exactly that tree).
#[test]
fn a_held_entry_lands_when_the_entry_it_conflicts_with_is_ejected() {
    let t = TestRepo::new();
    queue_with_a_conflicting_pair(&t);
    let log = t.root.join("tested");
    let test = format!(
        "echo $NEIGHBOR_QUEUE_ENTRIES >> {} && case \" $NEIGHBOR_QUEUE_ENTRIES \" in *\" 1 \"*) exit 1;; esac",
        log.display()
    );
    let o = t.neighbor(&["queue", "run", "--parallel", "2", "--test", &test, "--by-forecast"]);
    assert_eq!(o.code, 1, "a is ejected: {}", o.stderr);
    let all = entries(&t);
    let states: Vec<&str> = all.iter().map(|e| e["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["ejected", "landed", "landed", "landed"], "{}", o.stderr);
    assert!(all[0]["reason"].as_str().unwrap().starts_with("tests failed"), "{}", all[0]);
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "b's readme\n");
    let units = tested_units(&log);
    assert!(units.iter().all(|u| !(u.contains('1') && u.contains('2'))), "a and b never tested together: {units:?}");
    for e in all.iter().filter(|e| e["state"] == "landed") {
        let tip = e["tip"].as_str().unwrap();
        assert_eq!(t.git_out(&t.dir, &["merge-base", "--is-ancestor", tip, "main"]).code, 0, "{e}");
    }
}

/// `kill -9` after every state write of a run that holds an entry back, then run again: each entry is
/// decided once (a, c, d landed once each, in order; b ejected naming a) and nothing is left behind.
#[test]
fn a_forecast_run_killed_after_any_state_write_then_run_again_decides_each_entry_once() {
    let args = ["queue", "run", "--parallel", "2", "--test", "true", "--by-forecast"];
    let t = TestRepo::new();
    queue_with_a_conflicting_pair(&t);
    let trace = t.root.join("trace");
    let o = t.cmd_in(&t.dir, &args).env("NEIGHBOR_FAILPOINT_TRACE", &trace).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let points: Vec<String> = std::fs::read_to_string(&trace).unwrap().lines().map(str::to_string).collect();
    assert!(points.iter().any(|p| p == "queue-entry-written"), "{points:?}");
    for (i, name) in points.iter().enumerate() {
        let nth = points[..=i].iter().filter(|p| *p == name).count();
        let t = TestRepo::new();
        queue_with_a_conflicting_pair(&t);
        let o = t.cmd_in(&t.dir, &args).env("NEIGHBOR_FAILPOINT", format!("{name}#{nth}")).output().unwrap();
        let label = format!("{name}#{nth}");
        assert_eq!(o.status.code(), None, "killed at {label}: {}", String::from_utf8_lossy(&o.stderr));
        let again = t.neighbor(&["queue", "run", "--test", "true", "--by-forecast"]);
        assert!(again.code <= 1, "{label}: rerun: {}", again.stderr);
        let all = entries(&t);
        let states: Vec<&str> = all.iter().map(|e| e["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["landed", "ejected", "landed", "landed"], "{label}");
        assert_eq!(all[1]["reason"], "conflicts with #1 (a) on README.md", "{label}");
        check_landed_once(&t, "main");
        assert_eq!(t.git(&["status", "--porcelain"]), "", "{label}: main's checkout follows");
        let names: Vec<String> = t.tenants_json().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
        assert_eq!(names, ["b"], "{label}: only the ejected tenant is kept");
    }
    eprintln!("queue run --by-forecast: {} state writes, each killed, rerun and checked", points.len());
}

#[test]
fn the_target_moving_during_the_run_is_speculated_again() {
    let t = TestRepo::new();
    queue_of(&t, 6);
    let log = t.root.join("tested");
    // The first test to run commits to main meanwhile, as a human would.
    let test = format!(
        "echo \"$NEIGHBOR_QUEUE_TREE\" >> {log} && if mkdir {flag} 2>/dev/null; then \
         echo h > {repo}/human.txt && git -C {repo} add human.txt && git -C {repo} commit -q -m human; fi",
        log = log.display(),
        flag = t.root.join("moved").display(),
        repo = t.dir.display()
    );
    let o = t.neighbor(&["queue", "run", "--parallel", "3", "--test", &test, "--json"]).ok();
    let r = o.json();
    assert!(r["respeculated"].as_u64().unwrap() >= 1, "{r}");
    assert_eq!(r["landed"].as_array().unwrap().len(), 6, "{}", o.stderr);
    check_landed_once(&t, "main");
    let human = t.git(&["log", "--format=%H", "--grep=^human$", "main"]);
    assert_eq!(human.lines().count(), 1, "the human's commit is kept, once");
    let tested = tested_trees(&log);
    for e in entries(&t) {
        let tree = e["tree"].as_str().unwrap();
        assert!(tested.iter().any(|x| x == tree), "landed untested: {e}");
        // The tested tree holds the human's file: it was speculated on top of the moved target.
        let ls = t.git(&["ls-tree", "--name-only", tree]);
        assert!(ls.lines().any(|l| l == "human.txt"), "{e}");
    }
}

#[test]
fn a_cancelled_entry_is_not_landed() {
    let t = TestRepo::new();
    queue_of(&t, 3);
    t.neighbor(&["queue", "cancel", "t02"]).ok();
    t.neighbor(&["queue", "run"]).ok();
    let states: Vec<String> = entries(&t).iter().map(|e| e["state"].as_str().unwrap().to_string()).collect();
    assert_eq!(states, ["landed", "cancelled", "landed"]);
    check_landed_once(&t, "main");
    let rows = t.tenants_json();
    assert_eq!(rows.len(), 1);
    assert_eq!((rows[0]["name"].as_str(), rows[0]["status"].as_str()), (Some("t02"), Some("active")));
    // Nothing left to do: a second run lands nothing and exits 0.
    let r = t.neighbor(&["queue", "run", "--json"]).ok().json();
    assert!(r["landed"].as_array().unwrap().is_empty());
}

/// `kill -9` of `queue run` before or after each of its git calls, then `queue run` again: every entry
/// lands exactly once (none lost, none twice), in order, and nothing of the run is left behind.
#[test]
fn a_run_killed_at_any_git_call_then_run_again_lands_each_entry_once() {
    killed_at_any_git_call(0);
}

/// The same with a pool of two: the tests run in pool tenants (claimed, checked out detached at each
/// speculative commit, put back on their branch, released), and every kill point leaves them usable.
#[test]
fn a_run_testing_in_pool_tenants_killed_at_any_git_call_then_run_again_lands_each_entry_once() {
    killed_at_any_git_call(2);
}

fn killed_at_any_git_call(pool: usize) {
    use crate::faults::{Faults, When, killed};
    let setup = || {
        let t = TestRepo::new();
        if pool > 0 {
            t.neighbor(&["pool", "fill", &pool.to_string()]).ok();
        }
        queue_of(&t, 3);
        t
    };
    let args = ["queue", "run", "--parallel", "2", "--test", "true"];
    let n = crate::faults::count_calls(setup, &args);
    assert!(n > 10, "a clean run makes git calls: {n}");
    let mut kills = 0;
    for k in 1..=n {
        for when in [When::Before, When::After] {
            let t = setup();
            let f = Faults::new(&t);
            let o = f.run(&t, &t.dir, &args, Some((k, when)));
            assert!(killed(&o) || o.code == 0, "{k} {when:?}: {}", o.stderr);
            kills += usize::from(killed(&o));
            check_after_rerun(&t, &format!("{k} {when:?} ({:?})", f.killed_at()));
        }
    }
    assert!(kills >= n, "most points killed: {kills} of {}", 2 * n);
    eprintln!(
        "queue run (pool {pool}): {n} git calls, {kills} kills, each followed by a rerun and the invariant check"
    );
}

/// After a killed run: a plain rerun exits 0, every entry lands exactly once, in order, main's checkout
/// follows, no scratch worktree or landed tenant is left, and every pool tenant is free, on its branch at
/// a commit of the target's history, and clean.
fn check_after_rerun(t: &TestRepo, label: &str) {
    let again = t.neighbor(&["queue", "run", "--test", "true"]);
    assert_eq!(again.code, 0, "{label}: rerun: {}", again.stderr);
    let states: Vec<String> = entries(t).iter().map(|e| e["state"].as_str().unwrap().to_string()).collect();
    assert!(states.iter().all(|s| s == "landed"), "{label}: none lost: {states:?}");
    check_landed_once(t, "main");
    assert_eq!(t.git(&["status", "--porcelain"]), "", "{label}: main's checkout follows");
    let left: Vec<_> = t
        .linked_worktrees()
        .into_iter()
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(".queue-"))
        .collect();
    assert!(left.is_empty(), "{label}: scratch worktrees left: {left:?}");
    let members = pool_members(t);
    let tenants: Vec<String> = t
        .tenants_json()
        .iter()
        .map(|r| r["name"].as_str().unwrap_or_default().to_string())
        .filter(|n| !members.iter().any(|(m, _, _)| m == n))
        .collect();
    assert!(tenants.is_empty(), "{label}: landed tenants left: {tenants:?}");
    for (name, path, branch) in &members {
        let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
        let m = l.as_array().unwrap().iter().find(|m| m["name"] == name.as_str()).unwrap().clone();
        assert_eq!(m["state"], "free", "{label}: {m}");
        assert_eq!(t.git_in(path, &["symbolic-ref", "HEAD"]), format!("refs/heads/{branch}"), "{label}: {name}");
        // At a base: main's tip when the rerun tested in it, else where the last release left it.
        let head = t.git_in(path, &["rev-parse", "HEAD"]);
        assert_eq!(t.git_out(path, &["merge-base", "--is-ancestor", &head, "main"]).code, 0, "{label}: {name}");
        assert_eq!(t.git_in(path, &["status", "--porcelain", "--untracked-files=all"]), "", "{label}: {name}");
    }
}

/// The writes git does not make (entry files, verdicts): `kill -9` right after each of them in a batched
/// run, then run again: the same invariants.
#[test]
fn a_run_killed_after_any_state_write_then_run_again_lands_each_entry_once() {
    killed_after_any_state_write(0);
}

/// The same with a pool of two, adding the pool's writes: each claim, each record of a detached checkout,
/// and the release's check before putting a tenant back on its branch.
#[test]
fn a_run_testing_in_pool_tenants_killed_after_any_state_write_then_run_again_lands_each_entry_once() {
    killed_after_any_state_write(2);
}

/// `--fill-pool` with no pool: `kill -9` of the run before and after each git call that making its two
/// pool tenants makes (the calls `pool fill 2` makes), then the same run again: every entry lands once,
/// and the pool ends with free, clean tenants on their branches (a half-made one is rolled back or
/// finished, never handed out).
#[test]
fn a_run_filling_the_pool_killed_at_any_git_call_of_the_fill_then_run_again_lands_each_entry_once() {
    use crate::faults::{Faults, When, killed};
    let setup = || {
        let t = TestRepo::new();
        queue_of(&t, 3);
        t
    };
    let args = ["queue", "run", "--parallel", "2", "--test", "true", "--fill-pool"];
    let n = crate::faults::count_calls(setup, &["pool", "fill", "2"]);
    assert!(n >= 4, "making two tenants makes git calls: {n}");
    for k in 1..=n {
        for when in [When::Before, When::After] {
            let t = setup();
            let f = Faults::new(&t);
            let o = f.run(&t, &t.dir, &args, Some((k, when)));
            assert!(killed(&o), "{k} {when:?}: the fill makes {n} calls: {}", o.stderr);
            let label = format!("{k} {when:?} ({:?})", f.killed_at());
            let again = t.neighbor(&args);
            assert_eq!(again.code, 0, "{label}: {}", again.stderr);
            check_after_rerun(&t, &label);
            assert!(pool_members(&t).len() >= 2, "{label}");
        }
    }
    eprintln!("queue run --fill-pool: {n} git calls of the fill, each killed before and after, rerun and checked");
}

fn killed_after_any_state_write(pool: usize) {
    let setup = || {
        let t = TestRepo::new();
        if pool > 0 {
            t.neighbor(&["pool", "fill", &pool.to_string()]).ok();
        }
        queue_of(&t, 4);
        t
    };
    let args = ["queue", "run", "--parallel", "2", "--batch", "2", "--test", "true"];
    let t = setup();
    let trace = t.root.join("trace");
    let o = t.cmd_in(&t.dir, &args).env("NEIGHBOR_FAILPOINT_TRACE", &trace).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let points: Vec<String> = std::fs::read_to_string(&trace).unwrap().lines().map(str::to_string).collect();
    assert!(points.iter().any(|p| p == "queue-entry-written"), "{points:?}");
    assert!(points.iter().any(|p| p == "queue-verdict-written"), "{points:?}");
    if pool > 0 {
        for p in ["queue-pool-claimed", "pool-detached-written", "pool-reattach-rescued"] {
            assert!(points.iter().any(|x| x == p), "{p}: {points:?}");
        }
    }
    for (i, name) in points.iter().enumerate() {
        let nth = points[..=i].iter().filter(|p| *p == name).count();
        let t = setup();
        let o = t.cmd_in(&t.dir, &args).env("NEIGHBOR_FAILPOINT", format!("{name}#{nth}")).output().unwrap();
        assert_eq!(o.status.code(), None, "killed at {name}#{nth}: {}", String::from_utf8_lossy(&o.stderr));
        check_after_rerun(&t, &format!("{name}#{nth}"));
    }
    eprintln!("queue run (pool {pool}): {} state writes, each killed, rerun and checked", points.len());
}

/// A human commits to main in the instant between the queue's test and its landing (the crash kit's
/// meddle hook, just before the fast-forward of main's checkout): the landing's compare-and-swap fails,
/// the queue speculates again on top of the human's commit, and lands only trees it tested.
#[test]
fn a_commit_to_the_target_just_before_landing_is_speculated_again() {
    let t = TestRepo::new();
    queue_of(&t, 3);
    let f = crate::faults::Faults::new(&t);
    let log = t.root.join("tested");
    let test = format!("echo \"$NEIGHBOR_QUEUE_TREE\" >> {}", log.display());
    let meddle = format!("cd {} && echo h > human.txt && git add human.txt && git commit -q -m human", t.dir.display());
    let args = ["queue", "run", "--parallel", "2", "--test", &test, "--json"];
    let o = f.cmd_meddling_at_arg(&t, &t.dir, &args, "--ff-only", &meddle).output().unwrap();
    let o = Out::from_output(o).ok();
    assert!(f.meddled(), "the human's commit happened");
    let r = o.json();
    assert!(r["respeculated"].as_u64().unwrap() >= 1, "{r}");
    check_landed_once(&t, "main");
    assert_eq!(t.git(&["log", "--format=%s", "main"]).lines().filter(|l| *l == "human").count(), 1);
    let tested = tested_trees(&log);
    for e in entries(&t) {
        assert_eq!(e["state"], "landed");
        let tree = e["tree"].as_str().unwrap();
        assert!(tested.iter().any(|x| x == tree), "landed untested: {e}");
        assert!(t.git(&["ls-tree", "--name-only", tree]).lines().any(|l| l == "human.txt"), "{e}");
    }
}

#[test]
fn one_run_at_a_time() {
    let t = TestRepo::new();
    queue_of(&t, 1);
    let flag = t.root.join("started");
    let test = format!("touch {} && sleep 1", flag.display());
    let first = t.spawn(&["queue", "run", "--test", &test]);
    while !flag.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let o = t.neighbor(&["queue", "run", "--lock-timeout", "50ms"]);
    assert_eq!(o.code, 4, "{}", o.stderr);
    assert!(o.stderr.contains("another queue run is in progress"), "{}", o.stderr);
    assert!(first.wait_with_output().unwrap().status.success());
    assert_eq!(entries(&t)[0]["state"], "landed");
}

/// The pool tenants `pool list --json` shows: (name, canonical path, branch).
fn pool_members(t: &TestRepo) -> Vec<(String, std::path::PathBuf, String)> {
    let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
    l.as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let path = std::fs::canonicalize(m["path"].as_str().unwrap()).unwrap();
            (m["name"].as_str().unwrap().to_string(), path, m["branch"].as_str().unwrap().to_string())
        })
        .collect()
}

/// A pool tenant given back: free, on its branch, at the target's tip (its base), nothing uncommitted.
fn assert_idle_at_base(t: &TestRepo, name: &str, path: &std::path::Path, branch: &str) {
    let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
    let m = l.as_array().unwrap().iter().find(|m| m["name"] == name).unwrap_or_else(|| panic!("{name} in the pool"));
    assert_eq!(m["state"], "free", "{m}");
    assert_eq!(t.git_in(path, &["symbolic-ref", "HEAD"]), format!("refs/heads/{branch}"), "{name} on its branch");
    assert_eq!(t.git_in(path, &["rev-parse", "HEAD"]), t.git(&["rev-parse", "main"]), "{name} at its base");
    assert_eq!(t.git_in(path, &["status", "--porcelain", "--untracked-files=all"]), "", "{name} clean");
}

/// With a filled pool, each speculative tree is tested in a claimed pool tenant, checked out detached at
/// the speculative commit; afterwards the tenants are free, on their branch at their base, and clean.
#[test]
fn tests_run_in_claimed_pool_tenants_which_are_then_idle_at_their_base() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "2"]).ok();
    let members = pool_members(&t);
    assert_eq!(members.len(), 2);
    queue_of(&t, 4);
    let log = t.root.join("where");
    // Where it ran, what is checked out there (detached?), and the tree the queue says it tests.
    let test = format!(
        "echo \"$(pwd -P) $(git rev-parse HEAD^{{tree}}) $(git symbolic-ref -q HEAD || echo detached) $NEIGHBOR_QUEUE_TREE\" >> {}; echo out > build-output.txt",
        log.display()
    );
    let r = t.neighbor(&["queue", "run", "--parallel", "2", "--test", &test, "--json"]).ok().json();
    assert_eq!(r["landed"].as_array().unwrap().len(), 4, "{r}");
    check_landed_once(&t, "main");
    let lines: Vec<Vec<String>> =
        std::fs::read_to_string(&log).unwrap().lines().map(|l| l.split(' ').map(str::to_string).collect()).collect();
    assert!(lines.len() >= 2, "{lines:?}");
    for l in &lines {
        assert!(members.iter().any(|(_, p, _)| p.to_string_lossy() == l[0]), "ran in a pool tenant: {l:?}");
        assert_eq!((l[1].as_str(), l[2].as_str()), (l[3].as_str(), "detached"), "the speculative tree, detached");
    }
    let used: std::collections::BTreeSet<&str> = lines.iter().map(|l| l[0].as_str()).collect();
    assert_eq!(used.len(), 2, "both tenants tested at once: {lines:?}");
    let reported: Vec<&str> = r["pool"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(reported.len(), 2, "{r}");
    for (name, path, branch) in &members {
        assert_idle_at_base(&t, name, path, branch);
    }
    assert!(t.linked_worktrees().iter().all(|p| !p.to_string_lossy().contains(".queue-")), "no scratch worktree");
}

/// `--fill-pool`: a building with `[setup]` and no pool. Plain, the tests run in scratch worktrees, which
/// `[setup]` never ran in, so a test that needs its output fails and ejects every entry. With the flag the
/// run first fills the pool to `--parallel` tenants (running `[setup]`), every test runs in one of them,
/// everything lands, and the tenants stay in the pool, free.
#[test]
fn fill_pool_makes_set_up_pool_tenants_and_every_test_runs_in_one() {
    for fill in [false, true] {
        let t = TestRepo::new();
        t.commit_file(".gitignore", ".setup-done\n", "ignore what setup makes");
        t.write(".neighbor.toml", "[setup]\nrun = [\"touch .setup-done\"]\n");
        t.neighbor(&["trust"]).ok();
        queue_of(&t, 3);
        let log = t.root.join("where");
        let test = format!("echo \"$(pwd -P)\" >> {} && test -f .setup-done", log.display());
        let mut args = vec!["queue", "run", "--parallel", "2", "--test", &test, "--json"];
        if fill {
            args.push("--fill-pool");
        }
        let o = t.neighbor(&args);
        let r = o.json();
        if !fill {
            assert_eq!(o.code, 1, "{}", o.stderr);
            assert_eq!(r["ejected"].as_array().unwrap().len(), 3, "no setup in scratch worktrees: {r}");
            assert!(pool_members(&t).is_empty(), "the pool is not filled unasked");
            continue;
        }
        assert_eq!(o.code, 0, "{}", o.stderr);
        assert_eq!(r["landed"].as_array().unwrap().len(), 3, "{r}");
        check_landed_once(&t, "main");
        let members = pool_members(&t);
        assert_eq!(members.len(), 2, "filled to --parallel");
        for l in std::fs::read_to_string(&log).unwrap().lines() {
            assert!(members.iter().any(|(_, p, _)| p.to_string_lossy() == l), "ran in a pool tenant: {l}");
        }
        for (name, path, branch) in &members {
            assert_idle_at_base(&t, name, path, branch);
        }
        assert!(t.linked_worktrees().iter().all(|p| !p.to_string_lossy().contains(".queue-")), "no scratch worktree");
        // A second run has nothing to fill: the pool already holds two free tenants.
        tenant_with_work(&t, "late");
        t.neighbor(&["land", "--queue", "late"]).ok();
        let again = t.neighbor(&args);
        assert_eq!(again.code, 0, "{}", again.stderr);
        assert!(!again.stderr.contains("filled the pool"), "{}", again.stderr);
        assert_eq!(pool_members(&t).len(), 2);
    }
}

/// `pool fill` rolls back a pool tenant left `creating` by a dead maker, but never one another fill (or
/// a queue run filling the pool) is making this instant: one `pool fill 1` is stopped right after it
/// recorded `pool-1` as `creating` (its lease held), a second `pool fill 2` runs meanwhile, then the first
/// goes on. `pool-1` ends ready and free, never rolled back.
#[test]
fn a_fill_spares_the_pool_tenant_another_fill_is_making() {
    let t = TestRepo::new();
    let first = t.spawn_stopped_at(&["pool", "fill", "1"], "tenant-recorded");
    let record = std::fs::read_to_string(t.common_dir().join("neighbor/registry/pool-1.json")).unwrap();
    assert!(record.contains("\"phase\": \"creating\""), "{record}");
    t.neighbor(&["pool", "fill", "2"]).ok();
    resume(&first);
    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    assert!(!events.contains("\"rollback\""), "a tenant was rolled back: {events}");
    let members = pool_members(&t);
    let names: Vec<&str> = members.iter().map(|(n, _, _)| n.as_str()).collect();
    assert!(names.contains(&"pool-1"), "pool-1 was made by the first fill: {names:?}");
    let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
    for m in l.as_array().unwrap() {
        assert_eq!(m["state"], "free", "{m}");
    }
}

/// Files `add` carried into a pool tenant (copies of the caller's, untracked, not ignored) outlive the
/// clean-up around each test and the tenant's release; the test's own leftovers do not.
#[test]
fn carried_files_of_a_pool_tenant_survive_the_queue() {
    let t = TestRepo::new();
    t.write("conf/local.cfg", "secret\n");
    t.neighbor(&["-c", "worktrees.carry=[\"conf/local.cfg\"]", "pool", "fill", "1"]).ok();
    let (name, path, branch) = pool_members(&t).remove(0);
    assert_eq!(std::fs::read_to_string(path.join("conf/local.cfg")).unwrap(), "secret\n");
    std::fs::remove_file(t.dir.join("conf/local.cfg")).unwrap();
    queue_of(&t, 2);
    let test = "test -f conf/local.cfg && echo out > conf/made-by-test.txt";
    let r = t.neighbor(&["queue", "run", "--test", test, "--json"]).ok().json();
    assert_eq!(r["landed"].as_array().unwrap().len(), 2, "{r}");
    assert_eq!(r["tested"], 2, "{r}");
    assert_eq!(std::fs::read_to_string(path.join("conf/local.cfg")).unwrap(), "secret\n");
    assert!(!path.join("conf/made-by-test.txt").exists());
    let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
    assert_eq!(l[0]["state"], "free", "{l}");
    assert_eq!(t.git_in(&path, &["symbolic-ref", "HEAD"]), format!("refs/heads/{branch}"), "{name}");
    assert_eq!(t.git_in(&path, &["rev-parse", "HEAD"]), t.git(&["rev-parse", "main"]));
}

/// Someone commits in a pool tenant the run holds, while it is detached at a speculative commit (the
/// crash kit's meddle hook, before the first landing): the run stops using it (the next test runs in a
/// scratch worktree), and its release keeps it out of the pool with the commit where it was.
#[test]
fn a_commit_in_a_held_pool_tenant_stops_its_use_and_is_kept() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let (name, path, _) = pool_members(&t).remove(0);
    queue_of(&t, 2);
    let f = crate::faults::Faults::new(&t);
    let log = t.root.join("where");
    let test = format!("pwd -P >> {}", log.display());
    let meddle = format!("cd {} && echo a > agent.txt && git add agent.txt && git commit -q -m agent", path.display());
    let args = ["queue", "run", "--test", &test, "--json"];
    let o = Out::from_output(f.cmd_meddling_at_arg(&t, &t.dir, &args, "--ff-only", &meddle).output().unwrap()).ok();
    assert!(f.meddled(), "the agent's commit happened");
    let r = o.json();
    check_landed_once(&t, "main");
    assert!(entries(&t).iter().all(|e| e["state"] == "landed"), "{r}");
    let used: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_string).collect();
    assert_eq!(used.len(), 2, "{used:?}");
    assert_eq!(used[0], path.to_string_lossy(), "{used:?}");
    assert!(used[1].contains(".queue-"), "then a scratch worktree: {used:?}");
    assert!(r["pool"][0]["kept"].as_str().is_some_and(|k| k.contains("not on")), "{r}");
    assert!(pool_members(&t).is_empty(), "kept out of the pool");
    let row = t.tenants_json().into_iter().find(|r| r["name"] == name.as_str()).unwrap();
    assert_eq!(row["status"], "kept", "{row}");
    assert_eq!(t.git_in(&path, &["log", "-1", "--format=%s"]), "agent");
    assert_eq!(std::fs::read_to_string(path.join("agent.txt")).unwrap(), "a\n");
}

/// `kill -9` of `queue run` while its test runs in a pool tenant: the next `queue run` releases that tenant
/// through `pool release`'s path (what the test left there is saved as a rescue ref), lands each entry once,
/// and the tenant can be claimed again, clean.
#[test]
fn a_run_killed_while_testing_in_a_pool_tenant_leaves_it_usable() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "1"]).ok();
    let (name, path, branch) = pool_members(&t).remove(0);
    queue_of(&t, 2);
    let started = t.root.join("started");
    let stop = t.root.join("stop");
    let test = format!(
        "echo left > left-by-test.txt; pwd -P > {s}.tmp && mv {s}.tmp {s}; while [ ! -e {stop} ]; do sleep 0.05; done",
        s = started.display(),
        stop = stop.display()
    );
    let mut run = t.spawn(&["queue", "run", "--test", &test]);
    while !started.exists() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(std::fs::read_to_string(&started).unwrap().trim(), path.to_string_lossy());
    run.kill().unwrap();
    run.wait().unwrap();
    std::fs::write(&stop, "").unwrap();
    // Left detached at the speculative commit, with the test's file.
    assert_eq!(t.git_out(&path, &["symbolic-ref", "-q", "HEAD"]).code, 1);

    let again = t.neighbor(&["queue", "run", "--test", "true", "--json"]).ok().json();
    assert_eq!(again["pool"][0]["name"], name.as_str(), "{again}");
    assert!(entries(&t).iter().all(|e| e["state"] == "landed"));
    check_landed_once(&t, "main");
    assert_idle_at_base(&t, &name, &path, &branch);
    let rescues = t.branches("refs/neighbor/rescue/");
    assert_eq!(rescues.len(), 1, "what the killed test left is saved: {rescues:?}");
    let saved = t.git(&["show", &format!("{}:left-by-test.txt", rescues[0])]);
    assert_eq!(saved, "left");
    let c = t.neighbor(&["pool", "claim", "--json"]).ok().json();
    assert_eq!(c["name"], name.as_str());
    assert_eq!(t.git_in(&path, &["status", "--porcelain", "--untracked-files=all"]), "");
}

/// A pool tenant someone else claimed is never tested in (nor is what they committed there touched): the
/// queue claims the free one and tests the rest in a scratch worktree.
#[test]
fn a_pool_tenant_claimed_by_someone_else_is_never_used() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "2"]).ok();
    let c = t.neighbor(&["pool", "claim", "--json"]).ok().json();
    let theirs = std::fs::canonicalize(c["path"].as_str().unwrap()).unwrap();
    commit_in(&t, &theirs, "agent.txt", "agent\n");
    let agent_head = t.git_in(&theirs, &["rev-parse", "HEAD"]);
    queue_of(&t, 2);
    let log = t.root.join("where");
    let test = format!("pwd -P >> {}", log.display());
    let r = t.neighbor(&["queue", "run", "--parallel", "2", "--test", &test, "--json"]).ok().json();
    check_landed_once(&t, "main");
    let used: Vec<String> = std::fs::read_to_string(&log).unwrap().lines().map(str::to_string).collect();
    assert_eq!(used.len(), 2, "{used:?}");
    assert!(used.iter().all(|p| *p != theirs.to_string_lossy()), "{used:?}");
    let mine = pool_members(&t).into_iter().find(|(n, _, _)| *n != c["name"].as_str().unwrap()).unwrap();
    assert!(used.iter().any(|p| *p == mine.1.to_string_lossy()), "the free one: {used:?}");
    assert!(used.iter().any(|p| p.contains(".queue-")), "the rest in a scratch worktree: {used:?}");
    assert_eq!(r["pool"].as_array().unwrap().len(), 1, "{r}");
    let l = t.neighbor(&["pool", "list", "--json"]).ok().json();
    let m = l.as_array().unwrap().iter().find(|m| m["name"] == c["name"]).unwrap().clone();
    assert_eq!((m["state"].as_str(), m["claim"]["lease_id"].as_str()), (Some("claimed"), c["lease_id"].as_str()));
    assert_eq!(t.git_in(&theirs, &["rev-parse", "HEAD"]), agent_head);
    assert_eq!(t.git_in(&theirs, &["symbolic-ref", "HEAD"]), format!("refs/heads/{}", c["branch"].as_str().unwrap()));
}

/// `list` during a queue run shows the run's scratch worktree as `scratch` (not `foreign`, which says
/// git-neighbor did not make it), and `prune` leaves it alone.
#[test]
fn a_queue_runs_scratch_worktree_is_listed_as_scratch() {
    let t = TestRepo::new();
    tenant_with_work(&t, "a");
    t.neighbor(&["land", "a", "--queue"]).ok();
    let seen = t.root.join("seen.json");
    let pruned = t.root.join("pruned.json");
    let test = format!(
        "git-neighbor list --json > {} && git-neighbor prune --dry-run --json > {}",
        seen.display(),
        pruned.display()
    );
    t.neighbor(&["queue", "run", "--test", &test]).ok();
    let rows: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&seen).unwrap()).unwrap();
    let rows = rows["tenants"].as_array().cloned().unwrap_or_else(|| rows.as_array().cloned().unwrap());
    let scratch: Vec<&serde_json::Value> =
        rows.iter().filter(|r| r["path"].as_str().is_some_and(|p| p.contains(".queue-"))).collect();
    assert_eq!(scratch.len(), 1, "{rows:?}");
    assert_eq!(scratch[0]["status"], "scratch", "{rows:?}");
    assert!(!rows.iter().any(|r| r["status"] == "foreign"), "{rows:?}");
    let p = std::fs::read_to_string(&pruned).unwrap();
    assert!(!p.contains(".queue-"), "prune does not touch it: {p}");
}
