//! `TestRepo`: a hermetic temp building plus helpers to run git and git-neighbor in it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn from_output(o: Output) -> Self {
        Self::from(o)
    }
    fn from(o: Output) -> Self {
        Out {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("bad JSON ({e}):\n{}", self.stdout))
    }
}

pub struct TestRepo {
    pub root: PathBuf,
    /// The worktree commands run in by default.
    pub dir: PathBuf,
}

static N: AtomicU32 = AtomicU32::new(0);

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_git-neighbor"))
}

/// The hooks' own binary, built beside [`bin`].
pub fn hook_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_git-neighbor-hook"))
}

impl Drop for TestRepo {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

impl TestRepo {
    /// An empty temp root with a pinned HOME and global config.
    pub fn empty() -> Self {
        let root =
            std::env::temp_dir().join(format!("gn-test-{}-{}", std::process::id(), N.fetch_add(1, Ordering::SeqCst)));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("home")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        std::fs::write(
            root.join("home/.gitconfig"),
            "[user]\n\tname = Test\n\temail = test@example.invalid\n[init]\n\tdefaultBranch = main\n[protocol \"file\"]\n\tallow = always\n",
        )
        .unwrap();
        TestRepo { dir: root.clone(), root }
    }

    /// A repository `repo` with one commit.
    pub fn new() -> Self {
        let mut t = Self::empty();
        t.dir = t.root.join("repo");
        std::fs::create_dir_all(&t.dir).unwrap();
        t.git(&["init", "-q", "-b", "main"]);
        t.write("README.md", "hello\n");
        t.write("state/agents.json", "{\n  \"agents\": []\n}\n");
        t.git(&["add", "-A"]);
        t.git(&["commit", "-q", "-m", "initial"]);
        t
    }

    /// A bare remote `origin.git` and a clone `clone` of it (commands run in the clone).
    pub fn with_remote() -> Self {
        let mut t = Self::new();
        let origin = t.root.join("origin.git");
        t.git(&["clone", "-q", "--bare", t.dir.to_str().unwrap(), origin.to_str().unwrap()]);
        let clone = t.root.join("clone");
        t.git(&["clone", "-q", origin.to_str().unwrap(), clone.to_str().unwrap()]);
        t.dir = clone;
        t
    }

    pub fn env(&self, c: &mut Command) {
        let path = format!("{}:{}", bin().parent().unwrap().display(), std::env::var("PATH").unwrap_or_default());
        c.env_clear()
            .env("PATH", path)
            .env("HOME", self.root.join("home"))
            .env("GIT_CONFIG_GLOBAL", self.root.join("home/.gitconfig"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .env("TZ", "UTC")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .env("TMPDIR", &self.root);
    }

    pub fn cmd_in(&self, dir: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(bin());
        self.env(&mut c);
        c.args(args).current_dir(dir).stdin(Stdio::null());
        c
    }

    pub fn neighbor(&self, args: &[&str]) -> Out {
        self.neighbor_in(&self.dir, args)
    }

    /// Run git-neighbor in `dir`. A process that cannot start (its directory was removed under it, as a
    /// concurrent removal does to an agent's tenant) is an `Out` with code -2, not a panic of the test.
    pub fn neighbor_in(&self, dir: &Path, args: &[&str]) -> Out {
        spawned(self.cmd_in(dir, args).output())
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd_in(&self.dir, args).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
    }

    /// `args` started and left stopped (SIGSTOP) at its fail point `point`, so a test can change the
    /// world under it; [`resume`] lets it go on. Panics if it does not get there within a minute.
    pub fn spawn_stopped_at(&self, args: &[&str], point: &str) -> Child {
        let mut c = self.cmd_in(&self.dir, args);
        c.env("NEIGHBOR_FAILPOINT", point).env("NEIGHBOR_FAILPOINT_ACTION", "stop");
        let child = c.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        wait_stopped(&child, &format!("{args:?}"), point);
        child
    }

    /// Like [`TestRepo::spawn_stopped_at`], with `input` written to its stdin first.
    pub fn spawn_stopped_with_input(&self, args: &[&str], point: &str, input: &str) -> Child {
        use std::io::Write;
        let mut c = self.cmd_in(&self.dir, args);
        c.env("NEIGHBOR_FAILPOINT", point).env("NEIGHBOR_FAILPOINT_ACTION", "stop");
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        wait_stopped(&child, &format!("{args:?}"), point);
        child
    }

    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let o = self.git_out(dir, args);
        assert_eq!(o.code, 0, "git {args:?} failed: {}", o.stderr);
        o.stdout.trim_end().to_string()
    }

    /// Run git in `dir` (code -2 when it cannot start, see [`TestRepo::neighbor_in`]).
    pub fn git_out(&self, dir: &Path, args: &[&str]) -> Out {
        let mut c = Command::new("git");
        self.env(&mut c);
        spawned(c.args(args).current_dir(dir).output())
    }

    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.dir, args)
    }

    pub fn write(&self, rel: &str, content: &str) {
        write_in(&self.dir, rel, content);
    }

    pub fn commit_file(&self, rel: &str, content: &str, msg: &str) {
        self.write(rel, content);
        self.git(&["add", rel]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    /// `git-neighbor add NAME ARGS…` and return the printed path.
    pub fn add(&self, name: &str, extra: &[&str]) -> PathBuf {
        let mut args = vec!["add", name];
        args.extend_from_slice(extra);
        let o = self.neighbor(&args).ok();
        assert_eq!(o.stdout.lines().count(), 1, "add prints exactly one line: {:?}", o.stdout);
        PathBuf::from(o.stdout.trim_end())
    }

    pub fn common_dir(&self) -> PathBuf {
        let p = PathBuf::from(self.git(&["rev-parse", "--git-common-dir"]));
        if p.is_absolute() { p } else { self.dir.join(p) }
    }

    pub fn registry_names(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.common_dir().join("neighbor/registry"))
            .map(|rd| {
                rd.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .filter(|n| n.ends_with(".json") && !n.starts_with('.'))
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    }

    pub fn branches(&self, prefix: &str) -> Vec<String> {
        let out = self.git(&["for-each-ref", "--format=%(refname)", prefix]);
        out.lines().map(String::from).collect()
    }

    /// `frame/stream` of every delta archived in the repository at `dir`, read with git alone: one ref
    /// per merged frame, `refs/neighbor/archive/<frame>/deltas`, pointing at a tree of the frame's
    /// deltas named by stream. Sorted.
    pub fn archived_in(&self, dir: &Path) -> Vec<String> {
        let refs = self.git_in(dir, &["for-each-ref", "--format=%(refname)", "refs/neighbor/archive/"]);
        let mut out = Vec::new();
        for r in refs.lines() {
            let frame = r.trim_start_matches("refs/neighbor/archive/").trim_end_matches("/deltas");
            for s in self.git_in(dir, &["ls-tree", "--name-only", r]).lines() {
                out.push(format!("{frame}/{s}"));
            }
        }
        out.sort();
        out
    }

    /// Paths of linked worktrees git knows.
    pub fn linked_worktrees(&self) -> Vec<PathBuf> {
        let out = self.git(&["worktree", "list", "--porcelain"]);
        let all: Vec<PathBuf> = out.lines().filter_map(|l| l.strip_prefix("worktree ")).map(PathBuf::from).collect();
        all.into_iter().skip(1).collect()
    }

    pub fn tenants_json(&self) -> Vec<serde_json::Value> {
        let v = self.neighbor(&["list", "--json"]).ok().json();
        v.as_array().unwrap().iter().filter(|r| !r["name"].is_null()).cloned().collect()
    }

    /// Snapshot of everything prune or a refused command could change.
    pub fn snapshot(&self) -> String {
        let refs = self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
        let wts = self.git(&["worktree", "list", "--porcelain"]);
        let reg: Vec<String> = self
            .registry_names()
            .iter()
            .map(|n| std::fs::read_to_string(self.common_dir().join("neighbor/registry").join(n)).unwrap())
            .collect();
        format!("{refs}\n--\n{wts}\n--\n{}", reg.join("\n"))
    }
}

fn spawned(r: std::io::Result<Output>) -> Out {
    match r {
        Ok(o) => Out::from(o),
        Err(e) => Out { code: -2, stdout: String::new(), stderr: format!("could not start: {e}") },
    }
}

pub fn write_in(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

impl TestRepo {
    /// `delta write` with the delta on stdin.
    pub fn delta(&self, dir: &Path, args: &[&str], body: &str) -> Out {
        use std::io::Write;
        let mut all = vec!["delta", "write"];
        all.extend_from_slice(args);
        let mut c = self.cmd_in(dir, &all);
        let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
        Out::from(child.wait_with_output().unwrap())
    }

    /// Commits on `rev` whose message carries `Neighbor-Frame: n`.
    pub fn frame_commits(&self, dir: &Path, rev: &str, n: u64) -> usize {
        let out = self.git_in(dir, &["log", "--format=%H", &format!("--grep=^Neighbor-Frame: {n}$"), rev]);
        out.lines().filter(|l| !l.is_empty()).count()
    }
}

/// Wait (a minute at most) until `child` has stopped itself at its fail point.
fn wait_stopped(child: &Child, what: &str, point: &str) {
    let pid = child.id();
    let stopped = || {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        stat.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('T'))
    };
    let until = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !stopped() {
        assert!(std::time::Instant::now() < until, "{what} never reached its fail point {point}");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// Let a process stopped by [`TestRepo::spawn_stopped_at`] go on.
pub fn resume(child: &Child) {
    std::process::Command::new("kill").args(["-CONT", &child.id().to_string()]).status().unwrap();
}
