//! Removal never loses work (issue 11): every path that deletes a branch, a worktree or a file proves first
//! that nothing is lost, by compare-and-swap against what it checked. Races are made deterministic with a
//! `git` shim that pauses git-neighbor right after a chosen git call, or kills it around one.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

/// A `git` first on PATH for one git-neighbor call: at the first call whose arguments contain `pattern`,
/// `pause-after` runs it and then waits for [`Shim::go`]; `kill-before`/`kill-after` kill -9 the caller.
pub struct Shim {
    dir: PathBuf,
}

impl Shim {
    pub fn new(t: &TestRepo, mode: &str, pattern: &str) -> Self {
        Self::nth(t, mode, pattern, 1)
    }

    /// Act at the `nth` call matching `pattern` instead of the first.
    pub fn nth(t: &TestRepo, mode: &str, pattern: &str, nth: usize) -> Self {
        let dir = t.root.join(format!("shim-{}", t.root.read_dir().unwrap().count()));
        std::fs::create_dir_all(dir.join("bin")).unwrap();
        let real = String::from_utf8(Command::new("sh").args(["-c", "command -v git"]).output().unwrap().stdout)
            .unwrap()
            .trim()
            .to_string();
        let script = format!(
            r#"#!/bin/sh
real='{real}'
ctl='{ctl}'
case " $* " in
  *'{pattern}'*)
    echo x >> "$ctl/count"
    if [ "$(wc -l < "$ctl/count" | tr -d ' ')" = '{nth}' ] && mkdir "$ctl/latch" 2>/dev/null; then
      case '{mode}' in
        kill-before) kill -9 $PPID; exit 1;;
        kill-after) "$real" "$@"; rc=$?; kill -9 $PPID; exit $rc;;
        pause-after) "$real" "$@"; rc=$?; : > "$ctl/hit"
          while [ ! -e "$ctl/go" ]; do sleep 0.02; done; exit $rc;;
      esac
    fi;;
esac
exec "$real" "$@"
"#,
            ctl = dir.display()
        );
        let git = dir.join("bin/git");
        std::fs::write(&git, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
        Shim { dir }
    }

    /// A git-neighbor command in `dir` that sees the shim first on PATH.
    pub fn cmd(&self, t: &TestRepo, dir: &Path, args: &[&str]) -> Command {
        let mut c = t.cmd_in(dir, args);
        let path = format!("{}:{}:{}", self.dir.join("bin").display(), bin().parent().unwrap().display(), env_path());
        c.env("PATH", path);
        c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
        c
    }

    /// Wait until the paused call was reached.
    pub fn wait_hit(&self) {
        let start = Instant::now();
        while !self.dir.join("hit").exists() {
            assert!(start.elapsed() < Duration::from_secs(60), "the shim's call was never reached");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn go(&self) {
        std::fs::write(self.dir.join("go"), "").unwrap();
    }

    pub fn fired(&self) -> bool {
        self.dir.join("latch").exists()
    }
}

fn env_path() -> String {
    std::env::var("PATH").unwrap_or_default()
}

fn finish(child: std::process::Child) -> Out {
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Is `commit` reachable from a branch, a rescue ref or any other ref?
fn reachable(t: &TestRepo, commit: &str) -> bool {
    !t.git(&["for-each-ref", "--contains", commit, "--format=%(refname)"]).is_empty()
}

fn commit_in(t: &TestRepo, p: &Path, file: &str, msg: &str) -> String {
    write_in(p, file, &format!("{msg}\n"));
    t.git_in(p, &["add", file]);
    t.git_in(p, &["commit", "-q", "-m", msg]);
    t.git_in(p, &["rev-parse", "HEAD"])
}

/// L2: a commit made after remove checked the tenant (and before it deleted anything) survives.
#[test]
fn remove_keeps_a_commit_made_after_its_check() {
    let t = TestRepo::new();
    let p = t.add("t1", &[]);
    let shim = Shim::new(&t, "pause-after", " rev-list ");
    let child = shim.cmd(&t, &t.dir, &["remove", "t1"]).spawn().unwrap();
    shim.wait_hit();
    let late = commit_in(&t, &p, "late.txt", "late work");
    shim.go();
    let o = finish(child);
    assert!(reachable(&t, &late), "the late commit was lost; remove said {}: {}", o.code, o.stderr);
    assert_ne!(o.code, 0, "remove claimed success while the tenant held new work: {}", o.stderr);
}

/// A commit made on a detached HEAD after remove's last check, by a writer whose shell is inside the moved
/// files (git follows their `.git` file), is not lost: no branch holds it, so only HEAD can tell.
#[test]
fn remove_keeps_a_detached_commit_made_after_its_last_check() {
    let t = TestRepo::new();
    let p = t.add("t1", &[]);
    t.git_in(&p, &["checkout", "-q", "--detach"]);
    // The second `rev-list` is the check of the moved files, under the building lock.
    let shim = Shim::nth(&t, "pause-after", " rev-list ", 2);
    let child = shim.cmd(&t, &t.dir, &["remove", "t1"]).spawn().unwrap();
    shim.wait_hit();
    let moved = p.with_file_name(".t1.t1.neighbor-removing");
    assert!(moved.is_dir(), "the files were not moved aside at the second check");
    let late = commit_in(&t, &moved, "late.txt", "late work");
    shim.go();
    let o = finish(child);
    let kept = p.is_dir() && t.git_out(&p, &["rev-parse", "HEAD"]).stdout.trim() == late;
    assert!(kept || reachable(&t, &late), "the detached commit was lost; remove said {}: {}", o.code, o.stderr);
    assert_ne!(o.code, 0, "remove claimed success while the tenant held a new commit: {}", o.stderr);
}

/// Killed while git's admin dir is set aside for that last look: the next remove puts it back, checks the
/// tenant again and finishes; nothing is left under the state dir.
#[test]
fn remove_killed_with_the_worktree_set_aside_is_finished_by_the_next() {
    for detached in [false, true] {
        let t = TestRepo::new();
        let p = t.add("t1", &[]);
        if detached {
            t.git_in(&p, &["checkout", "-q", "--detach"]);
        }
        let mut c = t.cmd_in(&t.dir, &["remove", "t1"]);
        let o = Out::from_output(c.env("NEIGHBOR_FAILPOINT", "remove.worktree-set-aside").output().unwrap());
        assert_ne!(o.code, 0, "the fail point was not reached: {}", o.stderr);
        let aside = t.common_dir().join("neighbor/forgetting/t1");
        assert!(aside.is_dir(), "{}", o.stderr);
        t.neighbor(&["remove", "t1"]).ok();
        assert!(!p.exists());
        assert!(t.registry_names().is_empty());
        assert!(t.linked_worktrees().is_empty());
        assert!(!aside.exists());
    }
}

/// L2: a file written after remove checked the tenant is not deleted.
#[test]
fn remove_keeps_a_file_written_after_its_check() {
    let t = TestRepo::new();
    let p = t.add("t1", &[]);
    let shim = Shim::new(&t, "pause-after", " status ");
    let child = shim.cmd(&t, &t.dir, &["remove", "t1"]).spawn().unwrap();
    shim.wait_hit();
    write_in(&p, "notes.txt", "precious\n");
    shim.go();
    let o = finish(child);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(p.join("notes.txt")).unwrap(), "precious\n");
    assert_eq!(t.tenants_json().len(), 1);
}

/// L2: a file written after remove's check under the building lock (its last look before deleting) is
/// not deleted either: the files move away first and are looked at again there.
#[test]
fn remove_keeps_a_file_written_after_its_last_check() {
    for force in [false, true] {
        let t = TestRepo::new();
        let p = t.add("t1", &[]);
        let mut args = vec!["remove", "t1"];
        if force {
            args.insert(1, "--force");
        }
        // The last look before the files move away: outside the lock for a plain remove, under it for
        // --force.
        let shim = Shim::new(&t, "pause-after", " status ");
        let child = shim.cmd(&t, &t.dir, &args).spawn().unwrap();
        shim.wait_hit();
        write_in(&p, "notes.txt", "precious\n");
        shim.go();
        let o = finish(child);
        if force {
            assert_eq!(o.code, 0, "{}", o.stderr);
            let saved = t.git(&["for-each-ref", "--format=%(objectname)", "refs/neighbor/rescue/"]);
            assert_eq!(t.git(&["show", &format!("{saved}:notes.txt")]), "precious", "force: not rescued");
        } else {
            assert_eq!(o.code, 3, "{}", o.stderr);
            assert_eq!(std::fs::read_to_string(p.join("notes.txt")).unwrap(), "precious\n");
            assert_eq!(t.tenants_json()[0]["status"], "active");
            t.neighbor(&["remove", "--force", "t1"]).ok();
        }
    }
}

/// L2: prune (prune-after 0s) racing a commit in the tenant: the commit survives.
#[test]
fn prune_keeps_a_commit_made_after_its_check() {
    let t = TestRepo::new();
    let p = t.add("t1", &[]);
    // Pause at prune's last look before it deletes (the removal's own re-check, or the plan's).
    let shim = Shim::new(&t, "pause-after", " rev-list ");
    let child = shim.cmd(&t, &t.dir, &["-c", "worktrees.prune-after=0s", "prune"]).spawn().unwrap();
    shim.wait_hit();
    let late = commit_in(&t, &p, "late.txt", "late work");
    shim.go();
    let o = finish(child);
    assert!(reachable(&t, &late), "the late commit was lost; prune said {}: {}{}", o.code, o.stdout, o.stderr);
}

/// U3: `remove` run from inside the tenant deletes its branch too (no orphan left for doctor).
#[test]
fn remove_from_inside_the_tenant_deletes_its_branch() {
    let t = TestRepo::new();
    let p = t.add("inside", &[]);
    let o = t.neighbor_in(&p, &["remove", "inside"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!p.exists());
    assert!(t.branches("refs/heads/neighbor/").is_empty(), "branch left behind: {:?}", t.branches("refs/heads/"));
    assert!(t.registry_names().is_empty());
}

/// L5: prune's rollback of a crashed `add A --path P` never removes tenant B made at P since.
#[test]
fn rollback_of_a_crashed_add_leaves_another_tenant_at_its_path() {
    let t = TestRepo::new();
    let p = t.root.join("shared-path");
    let shim = Shim::new(&t, "kill-before", " worktree add ");
    let o = finish(shim.cmd(&t, &t.dir, &["add", "a", "--path", p.to_str().unwrap()]).spawn().unwrap());
    assert!(shim.fired(), "{}", o.stderr);
    assert!(!p.exists());
    let pb = t.add("b", &["--path", p.to_str().unwrap()]);
    assert_eq!(pb, p);
    write_in(&p, "b-work.txt", "b's work\n");
    let o = t.neighbor(&["prune"]).ok();
    assert_eq!(std::fs::read_to_string(p.join("b-work.txt")).unwrap(), "b's work\n", "{}", o.stdout);
    assert_eq!(t.git_in(&p, &["symbolic-ref", "HEAD"]), "refs/heads/neighbor/b");
    let names: Vec<String> = t.tenants_json().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["b"]);
}

/// The same when git never registered the crashed add's worktree: a repository made at its path since
/// (a clone whose checkout is still empty, so `.git` is its only entry) is not git's link, and stays.
#[test]
fn rollback_of_a_crashed_add_leaves_a_repository_made_at_its_path() {
    let t = TestRepo::new();
    let p = t.root.join("shared-path");
    let shim = Shim::new(&t, "kill-before", " worktree add ");
    let o = finish(shim.cmd(&t, &t.dir, &["add", "a", "--path", p.to_str().unwrap()]).spawn().unwrap());
    assert!(shim.fired(), "{}", o.stderr);
    t.git(&["clone", "-q", "--no-checkout", t.dir.to_str().unwrap(), p.to_str().unwrap()]);
    t.git_in(&p, &["commit", "-q", "--allow-empty", "-m", "local-only work"]);
    let c = t.git_in(&p, &["rev-parse", "HEAD"]);
    let o = t.neighbor(&["prune"]).ok();
    assert!(p.join(".git").is_dir(), "the repository at {} was deleted: {}", p.display(), o.stdout);
    assert_eq!(t.git_in(&p, &["rev-parse", "HEAD"]), c);
    assert!(t.registry_names().is_empty(), "{:?}", t.registry_names());
}

/// A half-made tenant's rollback moves its files to a trash name beside it and deletes them: another
/// worktree at that name (made with plain git: `add` refuses such a path) is left alone, and so is the
/// half-made tenant.
#[test]
fn rollback_leaves_a_worktree_at_its_trash_path_alone() {
    let t = TestRepo::new();
    let o = Out::from_output(
        t.cmd_in(&t.dir, &["add", "a"]).env("NEIGHBOR_FAILPOINT", "tenant-recorded").output().unwrap(),
    );
    assert_ne!(o.code, 0, "{}", o.stderr);
    let a = t.git(&["worktree", "list", "--porcelain"]);
    let a_path = PathBuf::from(
        a.lines().filter_map(|l| l.strip_prefix("worktree ")).find(|p| p.ends_with("/a")).expect("a's worktree"),
    );
    let trash = a_path.with_file_name(".a.a.neighbor-removing");
    let o = t.neighbor(&["add", "b", "--path", trash.to_str().unwrap()]);
    assert_eq!(o.code, 2, "a tenant path of the trash form was accepted: {}", o.stderr);
    t.git(&["worktree", "add", "-q", "-b", "other", trash.to_str().unwrap()]);
    write_in(&trash, "work.txt", "someone's work\n");
    let o = t.neighbor(&["prune"]);
    assert_eq!(std::fs::read_to_string(trash.join("work.txt")).unwrap(), "someone's work\n", "{}", o.stderr);
    assert!(a_path.exists(), "{}", o.stdout);
}

/// A tenant made through a symlinked directory (`--path`, a `worktrees.root` under a symlink such as
/// macOS's /tmp, a Claude Code `worktree_path`) is recorded as git records it, symlinks resolved, so
/// `remove` finds its worktree (it used to refuse forever: "not a worktree git knows").
#[test]
fn a_tenant_made_through_a_symlink_can_be_removed() {
    let t = TestRepo::new();
    let real = t.root.join("real");
    std::fs::create_dir_all(&real).unwrap();
    let link = t.root.join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let p = t.add("t1", &["--path", link.join("t1").to_str().unwrap()]);
    assert_eq!(p, std::fs::canonicalize(&real).unwrap().join("t1"));
    let o = t.neighbor(&["remove", "t1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(!real.join("t1").exists());
    assert!(t.registry_names().is_empty());
}

/// L6: `remove --force` never loses a commit made inside a submodule of the tenant.
#[test]
fn force_remove_never_loses_submodule_work() {
    let t = TestRepo::new();
    let sub = t.root.join("sub-origin");
    std::fs::create_dir_all(&sub).unwrap();
    t.git_in(&sub, &["init", "-q", "-b", "main"]);
    write_in(&sub, "lib.txt", "lib\n");
    t.git_in(&sub, &["add", "-A"]);
    t.git_in(&sub, &["commit", "-q", "-m", "lib"]);
    t.git(&["-c", "protocol.file.allow=always", "submodule", "add", "-q", sub.to_str().unwrap(), "sub"]);
    t.git(&["commit", "-q", "-m", "add sub"]);
    let p = t.add("withsub", &[]);
    let inner = p.join("sub");
    t.git_in(&inner, &["checkout", "-q", "-b", "wip"]);
    let c = commit_in(&t, &inner, "inner.txt", "inner work");
    write_in(&inner, "loose.txt", "uncommitted inside the submodule\n");
    let o = t.neighbor(&["remove", "--force", "withsub"]);
    if o.code == 0 {
        panic!("remove --force removed a tenant whose submodule held commit {c} and a loose file: {}", o.stderr);
    }
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("hint:"), "{}", o.stderr);
    assert_eq!(t.git_in(&inner, &["rev-parse", "HEAD"]), c);
    assert!(inner.join("loose.txt").exists());
}

/// L12: the rescue made by `remove --force` keeps the staged version of a file, not only the one on disk.
#[test]
fn force_remove_rescue_keeps_the_staged_version() {
    let t = TestRepo::new();
    let p = t.add("staged", &[]);
    write_in(&p, "f.txt", "staged version\n");
    t.git_in(&p, &["add", "f.txt"]);
    write_in(&p, "f.txt", "disk version\n");
    t.neighbor(&["remove", "--force", "staged"]).ok();
    let all = t.git(&["rev-list", "--all"]);
    let blobs: Vec<String> = all.lines().map(|c| t.git_out(&t.dir, &["show", &format!("{c}:f.txt")]).stdout).collect();
    assert!(blobs.iter().any(|b| b == "staged version\n"), "staged version lost: {blobs:?}");
    assert!(blobs.iter().any(|b| b == "disk version\n"), "disk version lost: {blobs:?}");
}

/// M2: an interrupted `remove --force` re-run at once succeeds and leaves one rescue, not two.
#[test]
fn rerun_of_an_interrupted_force_remove_is_idempotent() {
    let t = TestRepo::new();
    let p = t.add("again", &[]);
    write_in(&p, "wip.txt", "wip\n");
    let shim = Shim::new(&t, "kill-after", "update-ref -m git-neighbor rescue refs/neighbor/rescue/");
    let o = finish(shim.cmd(&t, &t.dir, &["remove", "--force", "again"]).spawn().unwrap());
    assert!(shim.fired(), "{}", o.stderr);
    assert_eq!(t.branches("refs/neighbor/rescue/").len(), 1);
    let o = t.neighbor(&["remove", "--force", "again"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.branches("refs/neighbor/rescue/").len(), 1, "{:?}", t.branches("refs/neighbor/rescue/"));
    assert!(t.registry_names().is_empty());
}

/// U4: prune leaves free pool tenants alone, however old.
#[test]
fn prune_keeps_free_pool_tenants() {
    let t = TestRepo::new();
    t.neighbor(&["pool", "fill", "2"]).ok();
    let before = t.registry_names();
    assert_eq!(before.len(), 2);
    let o = t.neighbor(&["-c", "worktrees.prune-after=0s", "prune", "--json"]).ok();
    assert_eq!(t.registry_names(), before, "{}", o.stdout);
    assert_eq!(t.linked_worktrees().len(), 2);
    t.neighbor(&["pool", "claim"]).ok();
}

/// C2 (a): a tenant moved with plain `mv`: prune keeps git's metadata, so the moved copy stays a worktree.
#[test]
fn prune_keeps_git_metadata_of_a_moved_tenant() {
    let t = TestRepo::new();
    let p = t.add("mv1", &[]);
    write_in(&p, "staged.txt", "staged\n");
    t.git_in(&p, &["add", "staged.txt"]);
    let moved = t.root.join("moved-here");
    std::fs::rename(&p, &moved).unwrap();
    let o = t.neighbor(&["prune"]).ok();
    // Moving it back (or `git worktree repair`) must find everything as it was.
    std::fs::rename(&moved, &p).unwrap();
    let st = t.git_out(&p, &["status", "--porcelain"]);
    assert_eq!(st.code, 0, "the moved worktree is broken after prune ({}): {}", o.stdout, st.stderr);
    assert_eq!(st.stdout, "A  staged.txt\n");
    assert_eq!(t.branches("refs/heads/neighbor/mv1").len(), 1);
}

/// C2 (b): a tenant moved then repaired with `git worktree repair`: prune never deletes its checked-out
/// branch (it follows the move or reports it).
#[test]
fn prune_never_deletes_the_branch_of_a_repaired_moved_tenant() {
    let t = TestRepo::new();
    let p = t.add("mv2", &[]);
    let moved = t.root.join("moved-there");
    std::fs::rename(&p, &moved).unwrap();
    t.git_in(&moved, &["worktree", "repair"]);
    let o = t.neighbor(&["-c", "worktrees.prune-after=0s", "prune"]).ok();
    let head = t.git_out(&moved, &["rev-parse", "--verify", "HEAD"]);
    assert_eq!(head.code, 0, "the moved worktree lost its branch ({}): {}", o.stdout, head.stderr);
    assert_eq!(t.git_in(&moved, &["symbolic-ref", "HEAD"]), "refs/heads/neighbor/mv2");
    assert_eq!(t.branches("refs/heads/neighbor/mv2").len(), 1);
}

/// C1: prune never deletes the index.lock of a live `git commit` whose pre-commit hook is running (git
/// has closed the lock file by then), which would make git commit an empty tree.
#[test]
fn prune_leaves_the_index_lock_of_a_commit_in_its_hook() {
    let t = TestRepo::new();
    let p = t.add("hooked", &[]);
    let hooks = t.root.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let ctl = t.root.join("hook-ctl");
    std::fs::create_dir_all(&ctl).unwrap();
    let hook = hooks.join("pre-commit");
    std::fs::write(
        &hook,
        format!("#!/bin/sh\n: > '{c}/started'\nwhile [ ! -e '{c}/go' ]; do sleep 0.02; done\n", c = ctl.display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    t.git_in(&p, &["config", "core.hooksPath", hooks.to_str().unwrap()]);
    write_in(&p, "README.md", "changed\n");
    let mut c = Command::new("git");
    t.env(&mut c);
    let commit = c
        .args(["commit", "-a", "-q", "-m", "agent"])
        .current_dir(&p)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !ctl.join("started").exists() {
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(10));
    }
    let gitdir = PathBuf::from(t.git_in(&p, &["rev-parse", "--absolute-git-dir"]));
    let lock = gitdir.join("index.lock");
    assert!(lock.exists());
    // However old it looks, a writer is still there.
    let f = std::fs::File::options().write(true).open(&lock).unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(7200)).unwrap();
    drop(f);
    let o = t.neighbor(&["prune", "--json"]).ok();
    let lock_there = lock.exists();
    std::fs::write(ctl.join("go"), "").unwrap();
    let done = finish(commit);
    assert!(lock_there, "prune deleted a live commit's index.lock: {}", o.stdout);
    assert_eq!(done.code, 0, "{}", done.stderr);
    let files = t.git_in(&p, &["ls-tree", "-r", "--name-only", "HEAD"]);
    assert!(files.contains("README.md") && files.contains("state/agents.json"), "commit lost files: {files}");
}

/// G1: temp index copies left in a worktree's git dir by a killed safe-pull or rescue are swept by prune.
#[test]
fn prune_sweeps_old_temp_index_copies() {
    let t = TestRepo::new();
    let p = t.add("tmpidx", &[]);
    let gitdir = PathBuf::from(t.git_in(&p, &["rev-parse", "--absolute-git-dir"]));
    let main_gitdir = t.common_dir();
    let olds = [
        gitdir.join("neighbor-index.tmp.1-2"),
        gitdir.join("neighbor-rescue-index.tmp.3-4"),
        main_gitdir.join("neighbor-index.tmp.5-6"),
    ];
    for f in &olds {
        std::fs::write(f, "x").unwrap();
        let h = std::fs::File::options().write(true).open(f).unwrap();
        h.set_modified(SystemTime::now() - Duration::from_secs(7200)).unwrap();
    }
    let young = gitdir.join("neighbor-index.tmp.7-8");
    std::fs::write(&young, "x").unwrap();
    t.neighbor(&["prune"]).ok();
    for f in &olds {
        assert!(!f.exists(), "{} left", f.display());
    }
    assert!(young.exists(), "a young temp index (maybe in use) was swept");
}

/// L4: doctor --fix never deletes two orphan branches that only hold each other's work.
#[test]
fn doctor_fix_keeps_orphans_that_only_contain_each_other() {
    let t = TestRepo::new();
    t.git(&["branch", "neighbor/o1"]);
    t.git(&["checkout", "-q", "neighbor/o1"]);
    t.commit_file("o.txt", "only here\n", "orphan work");
    let work = t.git(&["rev-parse", "HEAD"]);
    t.git(&["checkout", "-q", "main"]);
    t.git(&["branch", "neighbor/o2", "neighbor/o1"]);
    let _ = t.neighbor(&["doctor", "--fix"]);
    assert!(reachable(&t, &work), "doctor --fix deleted both copies of {work}");
}

fn claim(t: &TestRepo) -> (PathBuf, String, String) {
    let o = t.neighbor(&["pool", "claim", "--json"]).ok().json();
    let s = |k: &str| o[k].as_str().unwrap().to_string();
    (PathBuf::from(s("path")), s("name"), s("lease_id"))
}

/// L2 (pool release): an edit and a commit made after release checked the tenant are never reset away.
#[test]
fn pool_release_never_resets_work_made_after_its_check() {
    for late in ["edit", "commit"] {
        let t = TestRepo::new();
        t.neighbor(&["pool", "fill", "1"]).ok();
        let (p, name, lease) = claim(&t);
        t.commit_file("main.txt", "main moved\n", "main moves on");
        let shim = Shim::new(&t, "pause-after", " status ");
        let child = shim.cmd(&t, &t.dir, &["pool", "release", &name, "--lease-id", &lease]).spawn().unwrap();
        shim.wait_hit();
        let commit = match late {
            "edit" => {
                write_in(&p, "README.md", "edited after the check\n");
                None
            }
            _ => Some(commit_in(&t, &p, "late.txt", "late work")),
        };
        shim.go();
        let o = finish(child);
        match commit {
            None => assert_eq!(
                std::fs::read_to_string(p.join("README.md")).unwrap(),
                "edited after the check\n",
                "{late}: {}",
                o.stderr
            ),
            Some(c) => {
                assert!(reachable(&t, &c), "{late}: commit lost: {}", o.stderr);
                assert_eq!(t.git_in(&p, &["rev-parse", "HEAD"]), c, "{late}: {}", o.stderr);
            }
        }
    }
}

/// L6: a nested repository (an untracked directory with its own `.git`) is work a rescue ref cannot
/// hold (`git add` records only its HEAD id): `remove --force` refuses.
#[test]
fn force_remove_refuses_a_nested_repository() {
    let t = TestRepo::new();
    let p = t.add("nest", &[]);
    let nested = p.join("vendor/lib");
    std::fs::create_dir_all(&nested).unwrap();
    t.git_in(&nested, &["init", "-q", "-b", "main"]);
    let c = commit_in(&t, &nested, "mine.txt", "nested work");
    let o = t.neighbor(&["remove", "--force", "nest"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("vendor/lib"), "{}", o.stderr);
    assert_eq!(t.git_in(&nested, &["rev-parse", "HEAD"]), c);
}

/// Files an earlier, interrupted removal moved aside were never looked at again: a new removal refuses
/// rather than delete them unseen.
#[test]
fn remove_never_deletes_files_an_earlier_removal_left_aside() {
    let t = TestRepo::new();
    let p = t.add("aside", &[]);
    let trash = p.with_file_name(".aside.aside.neighbor-removing");
    write_in(&trash, "left.txt", "left aside\n");
    let o = t.neighbor(&["remove", "aside"]);
    assert_eq!(o.code, 3, "{}", o.stderr);
    assert!(o.stderr.contains("left files at"), "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(trash.join("left.txt")).unwrap(), "left aside\n");
    assert!(p.join(".git").is_file());
    assert_eq!(t.tenants_json()[0]["status"], "active");
}

/// M2 (safe-pull): a dirty safe-pull killed right after saving its rescue, rerun at once, succeeds and
/// leaves one rescue, not two (its rescue commit is the same work).
#[test]
fn rerun_of_an_interrupted_safe_pull_is_idempotent() {
    let t = TestRepo::with_remote();
    let other = t.root.join("other");
    let origin = t.root.join("origin.git");
    t.git(&["clone", "-q", origin.to_str().unwrap(), other.to_str().unwrap()]);
    write_in(&other, "README.md", "upstream\n");
    t.git_in(&other, &["commit", "-q", "-am", "upstream"]);
    t.git_in(&other, &["push", "-q", "origin", "main"]);
    t.write("state/agents.json", "{\n  \"agents\": [\"mine\"]\n}\n");
    t.write("loose.txt", "untracked\n");
    let shim = Shim::new(&t, "kill-after", "update-ref -m git-neighbor rescue refs/neighbor/rescue/");
    let o = finish(shim.cmd(&t, &t.dir, &["safe-pull"]).spawn().unwrap());
    assert!(shim.fired(), "{}", o.stderr);
    assert_eq!(t.branches("refs/neighbor/rescue/").len(), 1);
    let o = t.neighbor(&["safe-pull"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(t.branches("refs/neighbor/rescue/").len(), 1, "{:?}", t.branches("refs/neighbor/rescue/"));
    assert_eq!(std::fs::read_to_string(t.dir.join("loose.txt")).unwrap(), "untracked\n");
    assert_eq!(std::fs::read_to_string(t.dir.join("README.md")).unwrap(), "upstream\n");
}

/// L2 (run cleanup): a file written into the tenant after `run` looked at it for its cleanup is kept
/// with the tenant, and run still exits with its command's code.
#[test]
fn run_cleanup_keeps_work_written_after_its_look() {
    let t = TestRepo::new();
    let shim = Shim::new(&t, "pause-after", " status ");
    let child = shim.cmd(&t, &t.dir, &["run", "r1", "--", "true"]).spawn().unwrap();
    shim.wait_hit();
    let p = PathBuf::from(&t.tenants_json()[0]["path"].as_str().unwrap());
    write_in(&p, "late.txt", "written by a process the command left behind\n");
    shim.go();
    let o = finish(child);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(p.join("late.txt")).unwrap(), "written by a process the command left behind\n");
    assert_eq!(t.tenants_json()[0]["status"], "kept");
}
