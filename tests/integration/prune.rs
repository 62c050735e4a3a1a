//! `prune`: exactly what the contract lists goes; work is reported and kept; dry runs change nothing.

use crate::common::*;
use std::time::{Duration, SystemTime};

#[test]
fn prune_removes_exactly_the_abandoned() {
    let t = TestRepo::new();
    let gone = t.add("gone", &[]);
    let clean = t.add("clean", &[]);
    let dirty = t.add("dirty", &[]);
    let unmerged = t.add("unmerged", &[]);
    let kept = t.add("kept", &[]);
    let locked = t.add("locked", &[]);
    let young = t.add("young", &[]);
    let gone_work = t.add("gone-work", &[]);
    // ephemeral with a dead lease: its caller (a shell) has exited.
    let mut c = std::process::Command::new("sh");
    t.env(&mut c);
    assert!(c.args(["-c", "git-neighbor add --ephemeral eph"]).current_dir(&t.dir).status().unwrap().success());
    // a foreign worktree made by raw git
    let foreign = t.root.join("foreign-wt");
    t.git(&["worktree", "add", "-q", "-b", "foreign", foreign.to_str().unwrap()]);

    std::fs::remove_dir_all(&gone).unwrap();
    write_in(&dirty, "wip.txt", "wip\n");
    for p in [&unmerged, &gone_work] {
        write_in(p, "c.txt", "c\n");
        t.git_in(p, &["add", "c.txt"]);
        t.git_in(p, &["commit", "-q", "-m", "c"]);
    }
    std::fs::remove_dir_all(&gone_work).unwrap();
    // git keeps a missing worktree's metadata (it may have been moved) until told it is gone.
    t.git(&["worktree", "prune"]);
    t.neighbor(&["keep", "kept"]).ok();
    t.neighbor(&["lock", "locked"]).ok();
    // A stale index.lock left by a dead writer in a tenant.
    let gitdir = std::path::PathBuf::from(t.git_in(&clean, &["rev-parse", "--absolute-git-dir"]));
    let lock = gitdir.join("index.lock");
    std::fs::write(&lock, "").unwrap();
    let f = std::fs::File::options().write(true).open(&lock).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
    drop(f);
    // Wait until the ephemeral lease is dead.
    for _ in 0..50 {
        if t.tenants_json().iter().any(|r| r["name"] == "eph" && r["status"] == "stale") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    let before = t.snapshot();
    let plan = t.neighbor(&["-c", "worktrees.prune-after=0s", "prune", "--dry-run", "--json"]).ok().json();
    assert_eq!(t.snapshot(), before, "dry run changed something");
    assert!(lock.exists());
    let action = |name: &str| -> String {
        plan.as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name && i["action"] != "unlock")
            .map(|i| i["action"].as_str().unwrap().to_string())
            .unwrap_or_else(|| "none".into())
    };
    assert_eq!(action("gone"), "forget");
    assert_eq!(action("gone-work"), "forget");
    assert_eq!(action("clean"), "remove");
    assert_eq!(action("young"), "remove"); // prune-after=0s makes it old enough
    assert_eq!(action("eph"), "remove");
    assert_eq!(action("dirty"), "keep");
    assert_eq!(action("unmerged"), "keep");
    assert_eq!(action("kept"), "none");
    assert_eq!(action("locked"), "none");
    assert!(plan.as_array().unwrap().iter().any(|i| i["action"] == "unlock"), "{plan}");

    // With the default prune-after (1h), young clean tenants stay.
    let o = t.neighbor(&["prune", "--dry-run", "--json"]).ok().json();
    assert!(!o.as_array().unwrap().iter().any(|i| i["name"] == "young"));

    t.neighbor(&["-c", "worktrees.prune-after=0s", "prune"]).ok();
    let names: Vec<String> = t.tenants_json().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["dirty", "kept", "locked", "unmerged"]);
    assert!(!lock.exists(), "stale index.lock not removed");
    assert!(foreign.exists(), "foreign worktree touched");
    assert_eq!(t.branches("refs/heads/foreign").len(), 1);
    assert_eq!(std::fs::read_to_string(dirty.join("wip.txt")).unwrap(), "wip\n");
    // The vanished tenant's unmerged branch is kept; the merged one is deleted.
    assert_eq!(t.branches("refs/heads/neighbor/gone-work").len(), 1);
    assert!(t.branches("refs/heads/neighbor/gone").iter().all(|b| b.ends_with("gone-work")));
    assert!(!young.exists() && kept.exists() && locked.exists() && unmerged.exists());
}

#[test]
fn prune_leaves_a_live_index_lock() {
    let t = TestRepo::new();
    let p = t.add("busy", &[]);
    let gitdir = std::path::PathBuf::from(t.git_in(&p, &["rev-parse", "--absolute-git-dir"]));
    let lock = gitdir.join("index.lock");
    // A live writer: this test process holds the lock file open.
    let f = std::fs::File::create(&lock).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(3600)).unwrap();
    let plan = t.neighbor(&["prune", "--json"]).ok().json();
    assert!(!plan.as_array().unwrap().iter().any(|i| i["action"] == "unlock"), "{plan}");
    assert!(lock.exists());
    drop(f);
}

/// A tenant whose changes reached its base by a squash merge (or a rebase merge: new commits, same
/// patches) counts as merged: `list --full` says so, `remove` and `prune` take it without --force, and its
/// commits are saved as a rescue ref before its branch goes. A tenant with changes not in the base does not.
#[test]
fn squash_and_rebase_merged_tenants_count_as_merged_and_their_commits_are_saved() {
    let t = TestRepo::new();
    let squashed = t.add("squashed", &[]);
    let rebased = t.add("rebased", &[]);
    let partial = t.add("partial", &[]);
    for (p, files) in
        [(&squashed, ["s1.txt", "s2.txt"]), (&rebased, ["r1.txt", "r2.txt"]), (&partial, ["p1.txt", "p2.txt"])]
    {
        for f in files {
            write_in(p, f, &format!("{f}\n"));
            t.git_in(p, &["add", f]);
            t.git_in(p, &["commit", "-q", "-m", f]);
        }
    }
    let squashed_tip = t.git_in(&squashed, &["rev-parse", "HEAD"]);
    // main moves on, then takes squashed as one commit and rebased commit by commit (new ids).
    t.write("main.txt", "main\n");
    t.git(&["add", "main.txt"]);
    t.git(&["commit", "-q", "-m", "main moves"]);
    t.git(&["merge", "-q", "--squash", "neighbor/squashed"]);
    t.git(&["commit", "-q", "-m", "squash of squashed"]);
    t.git(&["cherry-pick", "neighbor/rebased~1", "neighbor/rebased"]);
    // partial: only its first change reaches main.
    t.git(&["cherry-pick", "neighbor/partial~1"]);

    let rows = t.neighbor(&["list", "--full", "--json"]).ok().json();
    let row = |n: &str| rows.as_array().unwrap().iter().find(|r| r["name"] == n).unwrap().clone();
    assert_eq!(row("squashed")["ahead"], 2);
    assert_eq!(row("squashed")["merged"], true, "{rows}");
    assert_eq!(row("rebased")["merged"], true, "{rows}");
    assert_eq!(row("partial")["merged"], false, "{rows}");

    // partial is refused; squashed is removed without --force, its commits saved first.
    let o = t.neighbor(&["remove", "partial"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    t.neighbor(&["remove", "squashed"]).ok();
    assert!(!squashed.exists());
    assert!(t.branches("refs/heads/neighbor/squashed").is_empty());
    let rescues = t.neighbor(&["rescue", "list", "--json"]).ok().json();
    let saved: Vec<_> = rescues.as_array().unwrap().iter().filter(|r| r["commit"] == squashed_tip.as_str()).collect();
    assert_eq!(saved.len(), 1, "{rescues}");

    // prune takes the rebase-merged one as it takes any clean, merged, old tenant.
    let plan = t.neighbor(&["-c", "worktrees.prune-after=0s", "prune", "--dry-run", "--json"]).ok().json();
    let action = |n: &str| {
        plan.as_array().unwrap().iter().find(|i| i["name"] == n).map(|i| i["action"].as_str().unwrap().to_string())
    };
    assert_eq!(action("rebased").as_deref(), Some("remove"), "{plan}");
    assert_eq!(action("partial").as_deref(), Some("keep"), "{plan}");
    t.neighbor(&["-c", "worktrees.prune-after=0s", "prune"]).ok();
    assert!(!rebased.exists());
    assert!(partial.exists());
}

/// A building with `n` tenants whose directories were deleted (and `git worktree prune` told git so).
fn with_gone(n: usize) -> TestRepo {
    let t = TestRepo::new();
    for i in 0..n {
        let p = t.add(&format!("g{i}"), &[]);
        std::fs::remove_dir_all(p).unwrap();
    }
    t.git(&["worktree", "prune"]);
    t
}

#[test]
fn prune_forgets_gone_tenants_with_a_fixed_number_of_git_calls() {
    // Ancestry checks run in-process and the branches go in one ref transaction: pruning six vanished
    // tenants costs the same git calls as pruning one (it once cost three per tenant).
    let count = |n: usize| {
        let t = with_gone(n);
        let f = crate::faults::Faults::new(&t);
        f.run(&t, &t.dir, &["prune"], None).ok();
        assert!(t.registry_names().is_empty(), "tenants left: {:?}", t.registry_names());
        assert!(t.branches("refs/heads/neighbor/").is_empty(), "branches left: {:?}", t.branches("refs/heads/"));
        f.calls()
    };
    let one = count(1);
    let six = count(6);
    assert_eq!(one.len(), six.len(), "git calls grow with the tenants: {one:?} vs {six:?}");
    let transactions = six.iter().filter(|c| c.starts_with("update-ref") && c.contains("--stdin")).count();
    assert_eq!(transactions, 1, "{six:?}");
}

#[test]
fn prune_keeps_a_gone_tenants_branch_that_moved_and_deletes_the_rest() {
    // Another writer commits on one vanished tenant's branch between prune's check and its deletions: the
    // compare-and-swap keeps that branch (and its commit); the others still go. (The transaction's git is
    // started before the check, so the writer is let in at the fail point after it, not at that git call.)
    let t = with_gone(3);
    let moved = t.git(&["commit-tree", "HEAD^{tree}", "-p", "refs/heads/neighbor/g1", "-m", "late"]);
    let child = t.spawn_stopped_at(&["prune", "--json"], "prune-branches-checked");
    t.git(&["update-ref", "refs/heads/neighbor/g1", &moved]);
    resume(&child);
    let o = Out::from_output(child.wait_with_output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.branches("refs/heads/neighbor/"), ["refs/heads/neighbor/g1"]);
    assert_eq!(t.git(&["rev-parse", "refs/heads/neighbor/g1"]), moved);
    // The report says what was done, not what the plan expected: g1's branch was kept.
    let items = o.json();
    let reason = |name: &str| {
        let item = items.as_array().unwrap().iter().find(|i| i["name"] == name).unwrap();
        assert_eq!(item["result"], "done", "{item}");
        item["reason"].as_str().unwrap().to_string()
    };
    assert!(reason("g1").starts_with("its directory is gone; branch neighbor/g1 kept (it moved to "), "{items}");
    assert_eq!(reason("g0"), "its directory is gone", "{items}");
}

#[test]
fn prune_reports_a_gone_tenants_unmerged_branch_as_kept() {
    // Whether a vanished tenant's branch stays is weighed under the lock; the report says so.
    let t = TestRepo::new();
    let p = t.add("w", &[]);
    write_in(&p, "c.txt", "c\n");
    t.git_in(&p, &["add", "c.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "c"]);
    std::fs::remove_dir_all(&p).unwrap();
    t.git(&["worktree", "prune"]);
    let plan = t.neighbor(&["prune", "--dry-run", "--json"]).ok().json();
    let done = t.neighbor(&["prune", "--json"]).ok().json();
    for items in [&plan, &done] {
        assert_eq!(items[0]["action"], "forget", "{items}");
        assert_eq!(items[0]["reason"], "its directory is gone; branch neighbor/w kept (1 unmerged commit(s))");
    }
    assert_eq!(done[0]["result"], "done");
    assert!(t.registry_names().is_empty());
    assert_eq!(t.branches("refs/heads/neighbor/"), ["refs/heads/neighbor/w"]);
}

/// prune's plan is made without the building lock: a tenant it saw half-made (`creating`, its creator's
/// lease already gone by the time it looked) may be finished by its creator before prune acts. Rolling it
/// back then deleted a ready tenant and whatever an agent had written in it (found by the stress suite:
/// an `add` event, then a `rollback` by a concurrent prune 0.4 s later). Prune stops on a fail point after
/// planning, the creator finishes and an agent writes, then prune goes on: the tenant and the work stay.
#[test]
fn a_rollback_planned_while_a_tenant_was_made_spares_it_once_ready() {
    let t = TestRepo::new();
    let p = t.add("fresh", &[]);
    let record = t.common_dir().join("neighbor/registry/fresh.json");
    let ready = std::fs::read_to_string(&record).unwrap();
    assert!(ready.contains("\"phase\": \"ready\""), "{ready}");
    // What the plan sees: the creator has not finished yet.
    std::fs::write(&record, ready.replace("\"phase\": \"ready\"", "\"phase\": \"creating\"")).unwrap();
    let child = t.spawn_stopped_at(&["prune"], "prune-planned");
    // Meanwhile its creator finishes it, and an agent starts working in it.
    std::fs::write(&record, &ready).unwrap();
    write_in(&p, "work.txt", "an agent's work\n");
    resume(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        std::fs::read_to_string(p.join("work.txt")).ok().as_deref(),
        Some("an agent's work\n"),
        "the agent's file is gone; prune said: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(record.exists(), "the ready tenant's record is gone");
}

#[test]
fn prune_killed_with_its_transaction_started_deletes_nothing_and_the_next_prune_finishes() {
    // The transaction's git is started before the branches are checked, its commands to come: a prune
    // killed between the check and the commit must leave every branch and record for the next prune.
    let t = with_gone(3);
    let tips = t.branches("refs/heads/neighbor/");
    assert_eq!(tips.len(), 3);
    let o = t.cmd_in(&t.dir, &["prune"]).env("NEIGHBOR_FAILPOINT", "prune-branches-checked").output().unwrap();
    assert_eq!(o.status.code(), None, "not killed: {}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(t.branches("refs/heads/neighbor/"), tips, "a branch went without its record");
    assert_eq!(t.registry_names().len(), 3);
    t.neighbor(&["prune"]).ok();
    assert!(t.registry_names().is_empty(), "{:?}", t.registry_names());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
}

#[test]
fn a_tenant_made_again_under_the_same_name_while_prune_forgets_keeps_its_record() {
    // prune read a vanished tenant's record, then waited for the building lock. Meanwhile another prune
    // forgot it and someone made a new tenant of that name elsewhere. The first prune used to delete the
    // new tenant's record and lease files: its look under the lock checked only the old path.
    let t = with_gone(2);
    let child = t.spawn_stopped_at(&["prune", "--json"], "prune-forget-read");
    t.neighbor(&["prune"]).ok();
    assert!(t.registry_names().is_empty(), "{:?}", t.registry_names());
    let elsewhere = t.root.join("elsewhere-g0");
    t.neighbor(&["add", "g0", "--path", elsewhere.to_str().unwrap()]).ok();
    resume(&child);
    let o = Out::from_output(child.wait_with_output().unwrap());
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.registry_names(), ["g0.json"], "{}", o.stdout);
    let row = t.tenants_json().into_iter().find(|r| r["name"] == "g0").unwrap();
    assert_eq!(row["status"], "active", "{row}");
    assert!(elsewhere.exists());
    assert_eq!(t.branches("refs/heads/neighbor/"), ["refs/heads/neighbor/g0"]);
    let items = o.json();
    for item in items.as_array().unwrap() {
        assert!(item["result"].as_str().unwrap().starts_with("skipped: "), "{items}");
    }
}
