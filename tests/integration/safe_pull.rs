//! `safe-pull` and fleet liveness: the autostash incident replayed, idle pulls that keep work, conflicts
//! that put everything back exactly, and refusals that touch nothing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use crate::common::*;

/// Everything a pull could change in a checkout: HEAD, the index, every file's bytes and mode
/// (untracked included, `.git` excluded), and every ref.
pub fn tree_state(t: &TestRepo, dir: &Path) -> String {
    let head = t.git_out(dir, &["symbolic-ref", "-q", "HEAD"]).stdout;
    let head_id = t.git_in(dir, &["rev-parse", "HEAD"]);
    let index = t.git_in(dir, &["ls-files", "-s"]);
    let refs = t.git_in(dir, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    format!("HEAD {head}{head_id}\n--index\n{index}\n--files\n{}\n--refs\n{refs}\n", files.join("\n"))
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if dir == root && e.file_name() == ".git" {
            continue;
        }
        let meta = std::fs::symlink_metadata(&p).unwrap();
        let rel = p.strip_prefix(root).unwrap().display().to_string();
        if meta.is_dir() {
            out.push(format!("{rel}/"));
            walk(root, &p, out);
        } else {
            use std::os::unix::fs::PermissionsExt;
            let bytes = std::fs::read(&p).unwrap();
            out.push(format!("{rel} {:o} {:?}", meta.permissions().mode(), String::from_utf8_lossy(&bytes)));
        }
    }
}

/// The same without rescue refs (a restore keeps the rescue it made first).
fn tree_state_without_rescues(t: &TestRepo, dir: &Path) -> String {
    tree_state(t, dir).lines().filter(|l| !l.starts_with("refs/neighbor/rescue/")).collect::<Vec<_>>().join("\n")
}

fn no_stash(t: &TestRepo, dir: &Path) {
    let o = t.git_out(dir, &["rev-parse", "-q", "--verify", "refs/stash"]);
    assert_ne!(o.code, 0, "a stash entry exists: {}", o.stdout);
}

fn origin(t: &TestRepo) -> PathBuf {
    t.root.join("origin.git")
}

fn remote_tip(t: &TestRepo) -> String {
    t.git_in(&origin(t), &["rev-parse", "refs/heads/main"])
}

/// A second clone that pushes to origin with the pinned (old) dates: an idle upstream.
fn other_clone(t: &TestRepo) -> PathBuf {
    let other = t.root.join("other");
    if !other.exists() {
        t.git(&["clone", "-q", origin(t).to_str().unwrap(), other.to_str().unwrap()]);
    }
    t.git_in(&other, &["pull", "-q", "--ff-only"]);
    other
}

fn push_change(t: &TestRepo, rel: &str, content: &str, msg: &str) -> String {
    let other = other_clone(t);
    write_in(&other, rel, content);
    t.git_in(&other, &["add", "-A"]);
    t.git_in(&other, &["commit", "-q", "-m", msg]);
    t.git_in(&other, &["push", "-q", "origin", "main"]);
    t.git_in(&other, &["rev-parse", "HEAD"])
}

/// git in `dir` with the real clock (a fleet commits *now*).
fn git_now(t: &TestRepo, dir: &Path, args: &[&str]) -> bool {
    let mut c = Command::new("git");
    t.env(&mut c);
    c.env_remove("GIT_AUTHOR_DATE").env_remove("GIT_COMMITTER_DATE");
    c.args(args).current_dir(dir).output().map(|o| o.status.success()).unwrap_or(false)
}

/// The human's checkout in the incident: a tracked script and the canonical state, both edited, one
/// edit staged, plus an untracked file.
fn make_human_dirty(t: &TestRepo) {
    t.write("state/agents.json", "{\n  \"agents\": [\"human-edit\"]\n}\n");
    t.write("scripts/deploy.sh", "#!/bin/sh\necho deploy --carefully\n");
    t.git(&["add", "scripts/deploy.sh"]);
    t.write("scripts/deploy.sh", "#!/bin/sh\necho deploy --carefully --twice\n");
    t.write("notes/todo.txt", "untracked human notes\n");
}

struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn incident_replay_refuses_untouched_then_evacuates() {
    let t = TestRepo::with_remote();
    t.commit_file("scripts/deploy.sh", "#!/bin/sh\necho deploy\n", "deploy script");
    t.git(&["push", "-q", "origin", "main"]);
    let old_head = t.git(&["rev-parse", "HEAD"]);
    let fleet = t.root.join("fleet");
    t.git(&["clone", "-q", origin(&t).to_str().unwrap(), fleet.to_str().unwrap()]);
    // The user's config asks for exactly what caused the incident; safe-pull must not care.
    t.git(&["config", "rebase.autoStash", "true"]);
    t.git(&["config", "pull.rebase", "true"]);
    make_human_dirty(&t);

    let stop = AtomicBool::new(false);
    let pushes = AtomicU32::new(0);
    std::thread::scope(|s| {
        // Stops the fleet however this block ends: a failed assertion must fail the test, not hang it
        // (the scope waits for the fleet thread before it lets the panic through).
        let _stop = StopOnDrop(&stop);
        s.spawn(|| {
            let mut n = 0u32;
            while !stop.load(Ordering::SeqCst) && n < 100_000 {
                n += 1;
                write_in(&fleet, "state/agents.json", &format!("{{\n  \"agents\": [\"fleet-{n}\"]\n}}\n"));
                let ok = git_now(&t, &fleet, &["commit", "-q", "-am", &format!("fleet frame {n}")])
                    && git_now(&t, &fleet, &["push", "-q", "origin", "main"]);
                assert!(ok, "the fleet could not commit and push");
                pushes.fetch_add(1, Ordering::SeqCst);
            }
        });
        // Wait (without asserting on time) until the fleet has pushed at least once.
        for _ in 0..6000 {
            if pushes.load(Ordering::SeqCst) > 0 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(pushes.load(Ordering::SeqCst) > 0, "the fleet never pushed");

        let before = tree_state(&t, &t.dir);
        let index_bytes = std::fs::read(t.dir.join(".git/index")).unwrap();
        let o = t.neighbor(&["safe-pull"]);
        assert_eq!(o.code, 3, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
        assert_eq!(std::fs::read(t.dir.join(".git/index")).unwrap(), index_bytes, "the index file was rewritten");
        assert!(o.stderr.contains("fleet is live"), "{}", o.stderr);
        assert!(o.stderr.contains("origin/main got commit"), "names the upstream commit: {}", o.stderr);
        assert!(o.stderr.contains("fleet frame"), "names the commit's subject: {}", o.stderr);
        assert!(o.stderr.contains("--evacuate"), "says what to do: {}", o.stderr);
        assert!(o.stderr.contains("commit them first"), "{}", o.stderr);
        assert_eq!(tree_state(&t, &t.dir), before, "a refused safe-pull changed the checkout");
        no_stash(&t, &t.dir);
        stop.store(true, Ordering::SeqCst);
    });

    // Fleet stopped (its last commit is seconds old, so it still counts as live): evacuate and pull.
    let o = t.neighbor(&["safe-pull", "--evacuate", "human-work"]);
    assert_eq!(o.code, 0, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert_eq!(o.stdout.lines().count(), 1, "prints only the tenant path: {:?}", o.stdout);
    let tenant = PathBuf::from(o.stdout.trim_end());
    assert_eq!(t.git(&["status", "--porcelain", "--untracked-files=all"]), "", "checkout is clean");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), remote_tip(&t), "checkout is at the remote's tip");
    assert!(std::fs::read_to_string(t.dir.join("state/agents.json")).unwrap().contains("fleet-"));
    no_stash(&t, &t.dir);

    // The tenant's one commit holds exactly the human's changes, on top of the human's old HEAD.
    let commit = t.git_in(&tenant, &["rev-parse", "HEAD"]);
    assert_eq!(t.git_in(&tenant, &["rev-parse", "HEAD^"]), old_head);
    let changed = t.git(&["diff", "--name-only", &old_head, &commit]);
    assert_eq!(changed, "notes/todo.txt\nscripts/deploy.sh\nstate/agents.json");
    let show = |p: &str| t.git(&["show", &format!("{commit}:{p}")]);
    assert_eq!(show("state/agents.json"), "{\n  \"agents\": [\"human-edit\"]\n}");
    assert_eq!(show("scripts/deploy.sh"), "#!/bin/sh\necho deploy --carefully --twice");
    assert_eq!(show("notes/todo.txt"), "untracked human notes");
    assert_eq!(t.git_in(&tenant, &["status", "--porcelain"]), "");
    let rows = t.tenants_json();
    assert_eq!(rows[0]["name"], "human-work");
    // A rescue ref of the checkout was saved before it was cleaned.
    let rescues = t.neighbor(&["rescue", "list", "--json"]).ok().json();
    let rescue = rescues.as_array().unwrap()[0]["commit"].as_str().unwrap().to_string();
    assert_eq!(t.git(&["show", &format!("{rescue}:state/agents.json")]), "{\n  \"agents\": [\"human-edit\"]\n}");
}

#[test]
fn idle_fleet_dirty_fast_forward_keeps_changes_and_staging() {
    let t = TestRepo::with_remote();
    let tip = push_change(&t, "README.md", "hello from upstream\n", "upstream readme");
    t.write("state/agents.json", "{\n  \"agents\": [\"mine\"]\n}\n");
    t.write("staged.txt", "staged\n");
    t.git(&["add", "staged.txt"]);
    t.write("loose.txt", "untracked\n");
    let o = t.neighbor(&["safe-pull", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["result"], "fast-forward");
    assert_eq!(r["reapplied"], true);
    assert_eq!(r["fleet"]["live"], false);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), tip);
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "hello from upstream\n");
    assert_eq!(std::fs::read_to_string(t.dir.join("state/agents.json")).unwrap(), "{\n  \"agents\": [\"mine\"]\n}\n");
    // Staged stays staged, unstaged stays unstaged, untracked stays untracked.
    assert_eq!(t.git(&["status", "--porcelain"]), "A  staged.txt\n M state/agents.json\n?? loose.txt");
    no_stash(&t, &t.dir);
    let rescue = r["rescue"].as_str().unwrap();
    assert_eq!(t.git(&["show", &format!("{rescue}:loose.txt")]), "untracked");
}

#[test]
fn idle_fleet_conflicting_changes_restore_exactly() {
    let t = TestRepo::with_remote();
    push_change(&t, "state/agents.json", "{\n  \"agents\": [\"upstream\"]\n}\n", "upstream agents");
    make_human_dirty(&t);
    let before = tree_state(&t, &t.dir);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 1, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("would conflict in: state/agents.json"), "{}", o.stderr);
    assert!(o.stderr.contains("exactly as it was"), "{}", o.stderr);
    assert_eq!(tree_state(&t, &t.dir), before);
    no_stash(&t, &t.dir);
}

#[test]
fn idle_fleet_rebase_then_reapply_and_conflicting_reapply_restores() {
    let t = TestRepo::with_remote();
    // Autostash on in the user's config must change nothing.
    t.git(&["config", "rebase.autoStash", "true"]);
    push_change(&t, "state/agents.json", "{\n  \"agents\": [\"upstream\"]\n}\n", "upstream agents");
    t.commit_file("local.txt", "local commit\n", "local work");
    let local = t.git(&["rev-parse", "HEAD"]);

    // Conflicting uncommitted change: rebase succeeds, re-apply would conflict, all is put back.
    make_human_dirty(&t);
    let before = tree_state_without_rescues(&t, &t.dir);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 1, "stdout:\n{}\nstderr:\n{}", o.stdout, o.stderr);
    assert!(o.stderr.contains("state/agents.json"), "{}", o.stderr);
    assert_eq!(tree_state_without_rescues(&t, &t.dir), before);
    assert_eq!(t.git(&["rev-parse", "HEAD"]), local);
    assert!(!t.common_dir().join("rebase-merge").exists());
    assert_eq!(t.neighbor(&["rescue", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);
    no_stash(&t, &t.dir);

    // A non-conflicting change rides along: local commit rebased, change re-applied.
    t.git(&["checkout", "-q", "--", "state/agents.json"]);
    let o = t.neighbor(&["safe-pull", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["result"], "rebased");
    assert_eq!(t.git(&["rev-parse", "HEAD^"]), remote_tip(&t));
    assert_eq!(t.git(&["log", "-1", "--format=%s"]), "local work");
    assert_eq!(t.git(&["status", "--porcelain", "-uall"]), "AM scripts/deploy.sh\n?? notes/todo.txt");
    no_stash(&t, &t.dir);
}

#[test]
fn conflicting_local_commit_aborts_rebase_and_changes_nothing() {
    let t = TestRepo::with_remote();
    push_change(&t, "state/agents.json", "{\n  \"agents\": [\"upstream\"]\n}\n", "upstream agents");
    t.commit_file("state/agents.json", "{\n  \"agents\": [\"local\"]\n}\n", "local agents");
    let before = tree_state(&t, &t.dir);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("rebase was aborted"), "{}", o.stderr);
    assert_eq!(tree_state(&t, &t.dir), before);
    assert!(!t.common_dir().join("rebase-merge").exists());
    assert!(!t.common_dir().join("rebase-apply").exists());
}

#[test]
fn clean_checkout_pulls_even_while_live_and_up_to_date_is_a_no_op() {
    let t = TestRepo::with_remote();
    let other = other_clone(&t);
    write_in(&other, "README.md", "fresh\n");
    assert!(git_now(&t, &other, &["commit", "-q", "-am", "fresh upstream"]));
    assert!(git_now(&t, &other, &["push", "-q", "origin", "main"]));
    let o = t.neighbor(&["safe-pull", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    let r = o.json();
    assert_eq!(r["fleet"]["live"], true);
    assert_eq!(r["result"], "fast-forward");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), remote_tip(&t));
    // Nothing to pull: success without touching the dirty file, live or not.
    t.write("README.md", "mine\n");
    let o = t.neighbor(&["safe-pull", "--json"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(o.json()["result"], "up-to-date");
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "mine\n");
}

#[test]
fn a_held_lease_makes_the_fleet_live() {
    let t = TestRepo::with_remote();
    push_change(&t, "README.md", "upstream\n", "old upstream commit");
    // An ephemeral tenant's lease lives as long as this test process.
    t.add("busy", &["--ephemeral"]);
    let st = t.neighbor(&["status", "--json", "--fetch"]).ok().json();
    assert_eq!(st["fleet"]["live"], true);
    assert_eq!(st["fleet"]["leases"][0]["tenant"], "busy");
    assert_eq!(st["fleet"]["upstream"]["live"], false);
    assert_eq!(st["fleet"]["upstream"]["fetched"], true);
    t.write("README.md", "dirty\n");
    let before = tree_state(&t, &t.dir);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("lease on tenant busy held by pid"), "{}", o.stderr);
    assert_eq!(tree_state(&t, &t.dir), before);
}

#[test]
fn status_reports_an_idle_fleet_and_explicit_remote_branch_works() {
    let t = TestRepo::with_remote();
    let st = t.neighbor(&["status", "--json"]).ok().json();
    assert_eq!(st["fleet"]["live"], false);
    assert_eq!(st["fleet"]["upstream"]["name"], "origin/main");
    assert_eq!(st["fleet"]["upstream"]["fetched"], false);
    let o = t.neighbor(&["status"]).ok();
    assert!(o.stdout.contains("fleet: idle"), "{}", o.stdout);

    let tip = push_change(&t, "README.md", "upstream\n", "upstream");
    t.git(&["checkout", "-q", "--detach"]);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 1, "no upstream when detached: {}", o.stderr);
    assert!(o.stderr.contains("hint: pass one"), "{}", o.stderr);
    t.neighbor(&["safe-pull", "origin", "main"]).ok();
    assert_eq!(t.git(&["rev-parse", "HEAD"]), tip);
}

/// Your own push from this clone is not evidence that a fleet is writing: after it, the fleet is idle
/// (and a dirty safe-pull is not refused for it); someone else's fresh commit, fetched, still is.
#[test]
fn own_push_is_not_fleet_evidence() {
    let t = TestRepo::with_remote();
    write_in(&t.dir, "mine.txt", "mine\n");
    assert!(git_now(&t, &t.dir, &["add", "mine.txt"]));
    assert!(git_now(&t, &t.dir, &["commit", "-qm", "my fresh commit"]));
    assert!(git_now(&t, &t.dir, &["push", "-q", "origin", "main"]));
    let s = t.neighbor(&["status", "--json"]).ok().json();
    assert_eq!(s["fleet"]["live"], false, "{s}");
    assert_eq!(s["fleet"]["upstream"]["own_push"], true, "{s}");
    // Another clone pushes a fresh commit; once fetched, it is evidence.
    let other = t.root.join("other");
    let origin = t.root.join("origin.git");
    t.git(&["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    write_in(&other, "theirs.txt", "theirs\n");
    assert!(git_now(&t, &other, &["add", "theirs.txt"]));
    assert!(git_now(&t, &other, &["commit", "-qm", "their fresh commit"]));
    assert!(git_now(&t, &other, &["push", "-q", "origin", "main"]));
    let s = t.neighbor(&["status", "--fetch", "--json"]).ok().json();
    assert_eq!(s["fleet"]["live"], true, "{s}");
    assert_eq!(s["fleet"]["upstream"]["own_push"], false, "{s}");
}

/// After a successful safe-pull the upstream's remote-tracking ref shows what was pulled, as after `git
/// pull`, so `git status` does not call the branch ahead; a refused pull leaves it alone.
#[test]
fn a_pull_moves_the_remote_tracking_ref_a_refusal_does_not() {
    let t = TestRepo::with_remote();
    let before = t.git(&["rev-parse", "refs/remotes/origin/main"]);
    let tip = push_change(&t, "README.md", "upstream\n", "upstream commit");
    t.neighbor(&["safe-pull"]).ok();
    assert_eq!(t.git(&["rev-parse", "refs/remotes/origin/main"]), tip);
    assert_ne!(before, tip);
    let status = t.git(&["status", "-sb"]);
    assert!(!status.contains("ahead") && !status.contains("behind"), "{status}");
    // A dirty checkout while the fleet is live is refused, and the ref stays where it was.
    let other = other_clone(&t);
    write_in(&other, "README.md", "fresh\n");
    assert!(git_now(&t, &other, &["commit", "-q", "-am", "fresh upstream"]));
    assert!(git_now(&t, &other, &["push", "-q", "origin", "main"]));
    t.write("README.md", "mine\n");
    assert_eq!(t.neighbor(&["safe-pull"]).code, 3);
    assert_eq!(t.git(&["rev-parse", "refs/remotes/origin/main"]), tip, "a refusal touches no ref");
}
