//! `doctor [--fix]`: the incident's leftovers found, safe repairs made, the stash's content never lost.

use serde_json::Value;

use crate::common::*;

fn findings<'a>(report: &'a Value, check: &str) -> Vec<&'a Value> {
    report["findings"].as_array().unwrap().iter().filter(|f| f["check"] == check).collect()
}

#[test]
fn doctor_finds_the_incident_leftovers_and_fix_never_loses_the_stash() {
    let t = TestRepo::with_remote();
    // Someone else changes the canonical state upstream…
    let other = t.root.join("other");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), other.to_str().unwrap()]);
    write_in(&other, "state/agents.json", "{\n  \"agents\": [\"fleet\"]\n}\n");
    t.git_in(&other, &["commit", "-q", "-am", "fleet"]);
    t.git_in(&other, &["push", "-q", "origin", "main"]);
    // …while the human, with a conflicting edit, runs the pull from the incident. git says exit 0.
    let human = "{\n  \"agents\": [\"human\"]\n}\n";
    t.write("state/agents.json", human);
    let o = t.git_out(&t.dir, &["pull", "-q", "--rebase", "--autostash"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let stash = t.git(&["rev-parse", "refs/stash"]);
    assert!(std::fs::read_to_string(t.dir.join("state/agents.json")).unwrap().contains("<<<<<<<"));
    // Plus an orphan tenant branch that is merged (safe to delete) and one that holds unique work.
    t.git(&["branch", "neighbor/ghost"]);
    t.git(&["branch", "neighbor/lost", &t.git(&["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "unique"])]);

    let o = t.neighbor(&["doctor", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["healthy"], false);
    let st = findings(&r, "stash");
    assert_eq!(st.len(), 1);
    assert_eq!(st[0]["status"], "problem");
    assert!(st[0]["message"].as_str().unwrap().contains("leftover autostash"), "{}", st[0]);
    let orphans = findings(&r, "orphan-branch");
    assert_eq!(orphans.len(), 2);
    // A branch loses nothing while it exists: worth a warning, not a failing doctor.
    assert!(orphans.iter().all(|f| f["status"] == "warning"));
    assert!(findings(&r, "state-markers")[0]["message"].as_str().unwrap().contains("state/agents.json"));
    assert_eq!(findings(&r, "state-json")[0]["status"], "problem");
    assert_eq!(findings(&r, "hooks")[0]["status"], "warning", "hooks are not required by this building");
    assert_eq!(findings(&r, "autostash-config").len(), 0);

    let o = t.neighbor(&["doctor", "--fix", "--json"]);
    assert_eq!(o.code, 1, "markers still need a human: {}", o.stderr);
    let r = o.json();
    assert_eq!(findings(&r, "stash")[0]["status"], "fixed");
    assert_eq!(findings(&r, "hooks")[0]["status"], "fixed");
    assert_eq!(findings(&r, "state-markers")[0]["status"], "problem");
    let fixed: Vec<&Value> = findings(&r, "orphan-branch");
    let ghost = fixed.iter().find(|f| f["ref"] == "refs/heads/neighbor/ghost").unwrap();
    let lost = fixed.iter().find(|f| f["ref"] == "refs/heads/neighbor/lost").unwrap();
    assert_eq!(ghost["status"], "fixed");
    assert_eq!(lost["status"], "warning");
    assert!(t.branches("refs/heads/neighbor/ghost").is_empty());
    assert_eq!(t.branches("refs/heads/neighbor/lost").len(), 1, "unique work is never deleted");

    // The stash is still there, and a rescue ref holds the very same commit: nothing was lost.
    assert_eq!(t.git(&["rev-parse", "refs/stash"]), stash);
    let rescues = t.neighbor(&["rescue", "list", "--json"]).ok().json();
    let saved: Vec<&Value> = rescues.as_array().unwrap().iter().filter(|r| r["commit"] == stash.as_str()).collect();
    assert_eq!(saved.len(), 1);
    assert_eq!(t.git(&["show", &format!("{stash}:state/agents.json")]), human.trim_end());
    let st = t.neighbor(&["hooks", "status", "--json"]).ok().json();
    assert!(st.as_array().unwrap().iter().all(|h| h["state"] == "installed"));

    // Again: the saved stash is only a warning now, and a second --fix saves nothing twice.
    let r = t.neighbor(&["doctor", "--fix", "--json"]).json();
    assert_eq!(findings(&r, "stash")[0]["status"], "warning");
    assert_eq!(t.neighbor(&["rescue", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);
}

#[test]
fn doctor_is_healthy_with_hooks_and_reports_bad_config_instead_of_failing() {
    let t = TestRepo::new();
    t.neighbor(&["hooks", "install"]).ok();
    let o = t.neighbor(&["doctor"]);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("healthy"), "{}", o.stderr);

    t.write(".neighbor.toml", "[fleet]\nstager = \"3s\"\n");
    let o = t.neighbor(&["doctor", "--json"]);
    assert_eq!(o.code, 1);
    let r = o.json();
    let c = findings(&r, "config");
    assert_eq!(c[0]["status"], "problem");
    assert!(c[0]["message"].as_str().unwrap().contains("unknown key `fleet.stager`"), "{}", c[0]);
    assert_eq!(c[0]["hint"], "did you mean `fleet.stagger`?");
}

#[test]
fn doctor_fixes_stale_tenants_and_rescues_an_abandoned_rebase_autostash() {
    let t = TestRepo::new();
    t.neighbor(&["hooks", "install"]).ok();
    let p = t.add("gone", &[]);
    std::fs::remove_dir_all(&p).unwrap();
    // git keeps a missing worktree's metadata (it may have been moved) until told it is gone.
    t.git(&["worktree", "prune"]);
    // A rebase left behind with an autostash inside (as a killed `git rebase --autostash` leaves it).
    let work = t.git(&["commit-tree", "HEAD^{tree}", "-p", "HEAD", "-m", "autostash"]);
    let state = t.common_dir().join("rebase-merge");
    std::fs::create_dir_all(&state).unwrap();
    std::fs::write(state.join("autostash"), format!("{work}\n")).unwrap();

    let r = t.neighbor(&["doctor", "--json"]).json();
    assert_eq!(findings(&r, "stale")[0]["status"], "problem");
    assert_eq!(findings(&r, "rebase-state")[0]["status"], "problem");
    assert_eq!(findings(&r, "rebase-autostash")[0]["status"], "problem");

    let o = t.neighbor(&["doctor", "--fix", "--json"]);
    assert_eq!(o.code, 1, "the rebase itself needs a human");
    let r = o.json();
    assert_eq!(findings(&r, "stale")[0]["status"], "fixed");
    assert_eq!(findings(&r, "rebase-autostash")[0]["status"], "fixed");
    assert_eq!(findings(&r, "rebase-state")[0]["status"], "problem");
    assert!(state.exists(), "doctor never deletes rebase state");
    assert!(t.registry_names().is_empty());
    let rescues = t.neighbor(&["rescue", "list", "--json"]).ok().json();
    assert_eq!(rescues[0]["commit"], work.as_str());
}

#[test]
fn doctor_gates_ci_in_a_fresh_clone_and_a_kept_branch_is_no_orphan() {
    let t = TestRepo::with_remote();
    // The building uses git-neighbor: its config is committed and pushed.
    t.write(".neighbor.toml", "[fleet]\nstagger = \"0s\"\n");
    t.git(&["add", ".neighbor.toml"]);
    t.git(&["commit", "-qm", "use git-neighbor"]);
    t.git(&["push", "-q", "origin", "main"]);
    let clone = t.root.join("fresh");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), clone.to_str().unwrap()]);

    // A fresh clone has no hooks: a warning, and doctor passes.
    let o = t.neighbor_in(&clone, &["doctor", "--json"]);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    let r = o.json();
    assert_eq!(findings(&r, "hooks")[0]["status"], "warning", "{r}");
    assert_eq!(r["healthy"], true);

    // A tenant removed with --keep-branch leaves its branch on purpose: not an orphan.
    t.neighbor_in(&clone, &["add", "api"]).ok();
    let wt = t.root.join("fresh.worktrees/api");
    std::fs::write(wt.join("api.txt"), "work\n").unwrap();
    t.git_in(&wt, &["add", "api.txt"]);
    t.git_in(&wt, &["commit", "-qm", "api work"]);
    t.neighbor_in(&clone, &["remove", "api", "--keep-branch"]).ok();
    assert_eq!(t.git_in(&clone, &["branch", "--list", "neighbor/api"]).trim(), "neighbor/api");
    let r = t.neighbor_in(&clone, &["doctor", "--json"]).json();
    let orphans = findings(&r, "orphan-branch");
    assert!(orphans.iter().all(|f| f["status"] == "ok"), "{orphans:?}");

    // A branch nobody kept is an orphan: a warning, still exit 0.
    t.git_in(&clone, &["branch", "neighbor/ghost"]);
    let o = t.neighbor_in(&clone, &["doctor", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    let ghost: Vec<&Value> =
        findings(&r, "orphan-branch").into_iter().filter(|f| f["ref"] == "refs/heads/neighbor/ghost").collect();
    assert_eq!(ghost.len(), 1);
    assert_eq!(ghost[0]["status"], "warning");

    // A building that requires its hooks makes their absence a problem.
    std::fs::write(clone.join(".neighbor.toml"), "[hooks]\nrequired = true\n").unwrap();
    let o = t.neighbor_in(&clone, &["doctor", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert_eq!(findings(&o.json(), "hooks")[0]["status"], "problem");
    t.neighbor_in(&clone, &["hooks", "install"]).ok();
    assert_eq!(t.neighbor_in(&clone, &["doctor"]).code, 0);
}
