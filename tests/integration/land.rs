//! `land`: up to date, tested, compare-and-swap; failures change nothing on the target.

use crate::common::*;

fn commit_in(t: &TestRepo, p: &std::path::Path, file: &str, body: &str) {
    write_in(p, file, body);
    t.git_in(p, &["add", file]);
    t.git_in(p, &["commit", "-q", "-m", &format!("edit {file}")]);
}

#[test]
fn lands_tested_work_and_removes_the_tenant() {
    let t = TestRepo::new();
    let p = t.add("feat", &[]);
    commit_in(&t, &p, "feature.txt", "new\n");
    // main moves meanwhile: land brings the tenant up to date first.
    t.commit_file("other.txt", "other\n", "meanwhile");
    let o = t.neighbor(&["land", "feat", "--test", "test -f feature.txt && test -f other.txt", "--json"]).ok();
    let r = o.json();
    assert_eq!(r["into"], "main");
    assert_eq!(r["removed"], true);
    assert_eq!(std::fs::read_to_string(t.dir.join("feature.txt")).unwrap(), "new\n", "main's checkout follows");
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(t.tenants_json().is_empty());
    assert!(t.branches("refs/heads/neighbor/").is_empty());
}

#[test]
fn failing_test_or_conflict_changes_nothing() {
    let t = TestRepo::new();
    let p = t.add("bad", &[]);
    commit_in(&t, &p, "x.txt", "x\n");
    let main_before = t.git(&["rev-parse", "main"]);
    let o = t.neighbor(&["land", "bad", "--test", "exit 4"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("tests failed"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "main"]), main_before);
    let rows = t.tenants_json();
    assert_eq!(rows[0]["status"], "kept");
    assert!(rows[0]["reason"].as_str().unwrap().contains("tests failed"));

    let q = t.add("clash", &[]);
    commit_in(&t, &q, "README.md", "tenant version\n");
    t.commit_file("README.md", "main version\n", "main edits README");
    let main_before = t.git(&["rev-parse", "main"]);
    let o = t.neighbor(&["land", "clash"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("conflicts"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "main"]), main_before);
    assert_eq!(t.git_in(&q, &["status", "--porcelain"]), "", "the tenant is left clean, not mid-merge");
    assert!(!std::path::Path::new(&t.git_in(&q, &["rev-parse", "--absolute-git-dir"])).join("MERGE_HEAD").exists());

    // Dirty tenants are refused outright.
    write_in(&p, "wip.txt", "wip\n");
    assert_eq!(t.neighbor(&["land", "bad"]).code, 3);
}

#[test]
fn concurrent_landings_take_turns() {
    let t = TestRepo::new();
    let a = t.add("a", &[]);
    let b = t.add("b", &[]);
    commit_in(&t, &a, "a.txt", "a\n");
    commit_in(&t, &b, "b.txt", "b\n");
    let ca = t.spawn(&["land", "a", "--no-ff", "--test", "sleep 0.3"]);
    let cb = t.spawn(&["land", "b", "--squash", "--test", "sleep 0.3"]);
    for c in [ca, cb] {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    assert!(t.dir.join("a.txt").exists() && t.dir.join("b.txt").exists());
    assert_eq!(t.git(&["status", "--porcelain"]), "");
    assert!(t.tenants_json().is_empty());
}

/// With `merge.autoStash` on, git's fast-forward of a dirty checkout stashes the changes, moves, and
/// re-applies them: exit 0, conflict markers in the file, the work parked in the stash every worktree
/// shares. Landing into a checked-out target must refuse instead and leave the local edit as it was.
#[test]
fn landing_into_a_dirty_checkout_never_autostashes() {
    let t = TestRepo::new();
    let p = t.add("feat", &[]);
    commit_in(&t, &p, "README.md", "tenant version\n");
    t.git(&["config", "merge.autoStash", "true"]);
    t.write("README.md", "my uncommitted edit\n");
    let main_before = t.git(&["rev-parse", "main"]);
    let o = t.neighbor(&["land", "feat"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("could not be updated"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "my uncommitted edit\n");
    assert_eq!(t.tenants_json().len(), 1, "the tenant and its commit are kept");
    assert_eq!(t.git(&["rev-parse", "main"]), main_before);
    assert_eq!(t.git_out(&t.dir, &["rev-parse", "--verify", "-q", "refs/stash"]).code, 1, "nothing was stashed");
}

/// The test runs in the tenant's live worktree while the landing holds the HEAD it read before: whatever
/// the tenant becomes meanwhile (a file the test needs, created and left uncommitted; a new commit) was
/// not what gets landed. Land refuses (exit 3), the target unchanged, the tenant and its work kept.
#[test]
fn a_tenant_that_changes_while_its_test_runs_is_not_landed() {
    let t = TestRepo::new();
    // An uncommitted file that makes the test pass: the landed tree would fail the same test.
    let p = t.add("edit", &[]);
    commit_in(&t, &p, "a.txt", "a\n");
    let main_before = t.git(&["rev-parse", "main"]);
    let o = t.neighbor(&["land", "edit", "--test", "echo fix > ok && test -f ok"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("changed while its test ran") && o.stderr.contains("ok"), "{}", o.stderr);
    assert_eq!(t.git(&["rev-parse", "main"]), main_before, "nothing landed");
    assert_eq!(std::fs::read_to_string(p.join("ok")).unwrap(), "fix\n", "the tenant's edit is untouched");
    let rows = t.tenants_json();
    assert_eq!(rows[0]["status"], "kept");
    assert!(rows[0]["reason"].as_str().unwrap().contains("changed while its test ran"), "{}", rows[0]);

    // A commit made while the test runs, in every mode: it stays on the tenant's branch.
    for (i, mode) in ["--squash", "--no-ff", "--rebase", "--keep"].into_iter().enumerate() {
        let name = format!("c{i}");
        let p = t.add(&name, &[]);
        commit_in(&t, &p, "c.txt", &format!("{name}\n"));
        let test = "echo two > b.txt && git add b.txt && git commit -qm 'agent work 2'";
        let o = t.neighbor(&["land", &name, mode, "--test", test]);
        assert_eq!(o.code, 3, "{mode}: {}", o.stderr);
        assert_eq!(t.git(&["rev-parse", "main"]), main_before, "{mode}: nothing landed");
        let tip = t.git(&["rev-parse", &format!("refs/heads/neighbor/{name}")]);
        assert_eq!(t.git(&["log", "-1", "--format=%s", &tip]), "agent work 2", "{mode}: the commit is on the branch");
        assert_eq!(t.git_in(&p, &["status", "--porcelain"]), "", "{mode}");
    }
    assert_eq!(t.tenants_json().len(), 5, "every tenant is kept");
}

/// Between the target moving and the tenant being pointed at it (after `--squash` or `--no-ff`) and
/// removed, the agent commits or edits in its tenant: the landing stands (exit 0), the tenant is kept as
/// it is, its branch and files untouched, and the result says why.
#[test]
fn a_tenant_that_moves_after_its_landing_is_kept_as_it_is() {
    let t = TestRepo::new();
    for mode in ["--squash", "--no-ff"] {
        for commit in [true, false] {
            let name = format!("t{}{}", mode.trim_start_matches('-'), if commit { "-commit" } else { "-edit" });
            let p = t.add(&name, &[]);
            commit_in(&t, &p, &format!("{name}.txt"), "landed\n");
            let main_before = t.git(&["rev-parse", "main"]);
            let child = t.spawn_stopped_at(&["land", &name, mode, "--json"], "land.target-moved");
            if commit {
                commit_in(&t, &p, "later.txt", "agent work 2\n");
            } else {
                write_in(&p, &format!("{name}.txt"), "edited meanwhile\n");
                write_in(&p, "new.txt", "untracked meanwhile\n");
            }
            let branch_then = t.git(&["rev-parse", &format!("refs/heads/neighbor/{name}")]);
            resume(&child);
            let o = Out::from_output(child.wait_with_output().unwrap()).ok();
            let r = o.json();
            let label = format!("{mode} {}", if commit { "commit" } else { "edit" });
            assert_ne!(t.git(&["rev-parse", "main"]), main_before, "{label}: the landing stands");
            assert_eq!(r["removed"], false, "{label}: {r}");
            assert!(r["kept"].as_str().unwrap().contains("changed during the landing"), "{label}: {r}");
            assert!(o.stderr.contains("tenant kept"), "{label}: {}", o.stderr);
            assert!(p.is_dir(), "{label}");
            assert_eq!(t.git(&["rev-parse", &format!("refs/heads/neighbor/{name}")]), branch_then, "{label}");
            if commit {
                assert_eq!(std::fs::read_to_string(p.join("later.txt")).unwrap(), "agent work 2\n", "{label}");
                assert_eq!(t.git_in(&p, &["status", "--porcelain"]), "", "{label}");
            } else {
                assert_eq!(std::fs::read_to_string(p.join(format!("{name}.txt"))).unwrap(), "edited meanwhile\n");
                assert_eq!(std::fs::read_to_string(p.join("new.txt")).unwrap(), "untracked meanwhile\n");
            }
            let row = t.tenants_json().into_iter().find(|r| r["name"] == name.as_str()).unwrap();
            assert_eq!(row["status"], "kept", "{label}: {row}");
        }
    }
}

/// git's fast-forward of the checked-out target treats ignored files as expendable: a tenant that commits
/// `.env` (`git add -f`) would replace the human's ignored `.env` in the main checkout. `land` and
/// `queue run` refuse (exit 3) before anything moves, naming the file, as safe-pull does.
#[test]
fn landing_never_overwrites_an_ignored_file_in_the_target_checkout() {
    for queue in [false, true] {
        let t = TestRepo::new();
        t.commit_file(".gitignore", ".env\n", "ignore .env");
        t.write(".env", "SECRET=the-real-key\n");
        let p = t.add("env", &[]);
        write_in(&p, ".env", "SECRET=changeme\n");
        t.git_in(&p, &["add", "-f", ".env"]);
        t.git_in(&p, &["commit", "-q", "-m", "a sample .env"]);
        let main_before = t.git(&["rev-parse", "main"]);
        let o = if queue {
            t.neighbor(&["land", "--queue", "env"]).ok();
            t.neighbor(&["queue", "run"])
        } else {
            t.neighbor(&["land", "env"])
        };
        assert_eq!(o.code, 3, "queue {queue}: {}", o.stderr);
        assert!(o.stderr.contains(".env") && o.stderr.contains("ignored"), "queue {queue}: {}", o.stderr);
        assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=the-real-key\n", "queue {queue}");
        assert_eq!(t.git(&["rev-parse", "main"]), main_before, "queue {queue}: main unchanged");
        assert_eq!(t.tenants_json().len(), 1, "queue {queue}: the tenant is kept");
        // Once the file is moved aside, the landing goes through.
        std::fs::rename(t.dir.join(".env"), t.root.join("env.saved")).unwrap();
        if queue {
            t.neighbor(&["queue", "run"]).ok();
        } else {
            t.neighbor(&["land", "env"]).ok();
        }
        assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=changeme\n", "queue {queue}");
    }
}

/// The look for ignored files in the target's checkout and git's fast-forward are two steps: an ignored
/// file created between them (a build writing `.env`, a human) was overwritten by the landing's
/// fast-forward, which treats ignored files as expendable. Now git itself refuses it
/// (`--no-overwrite-ignore`): the file is kept, the target does not move, the tenant stays.
#[test]
fn an_ignored_file_made_just_before_the_fast_forward_is_never_overwritten() {
    let t = TestRepo::new();
    t.commit_file(".gitignore", ".env\n", "ignore .env");
    let p = t.add("env", &[]);
    write_in(&p, ".env", "SECRET=changeme\n");
    t.git_in(&p, &["add", "-f", ".env"]);
    t.git_in(&p, &["commit", "-q", "-m", "a sample .env"]);
    let main_before = t.git(&["rev-parse", "main"]);
    let f = crate::faults::Faults::new(&t);
    let meddle = format!("printf 'SECRET=the-real-key\\n' > '{}'", t.dir.join(".env").display());
    let o =
        Out::from_output(f.cmd_meddling_at_arg(&t, &t.dir, &["land", "env"], "--ff-only", &meddle).output().unwrap());
    assert!(f.meddled(), "the meddling never ran; calls: {:?}", f.calls());
    assert_eq!(o.code, 3, "{}{}", o.stdout, o.stderr);
    assert!(o.stderr.contains(".env") && o.stderr.contains("ignored"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(t.dir.join(".env")).unwrap(), "SECRET=the-real-key\n");
    assert_eq!(t.git(&["rev-parse", "main"]), main_before, "main unchanged");
    assert_eq!(t.tenants_json().len(), 1, "the tenant is kept");
}
