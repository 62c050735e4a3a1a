//! Crash-injection kit: enumerate kill points instead of guessing them.
//!
//! A `git` shim placed first on `PATH` logs every git call that a git-neighbor process makes (one line of
//! arguments per call, in `calls()`), and can `kill -9` that process just before or just after its k-th
//! call. A test runs the command once cleanly to learn how many calls it makes, then, on a fresh
//! repository for each k and each [`When`], runs it again killed at that point, reruns or repairs, and
//! checks its invariants with git itself:
//!
//! ```ignore
//! let n = { let t = setup(); let f = Faults::new(&t); f.run(&t, &t.dir, ARGS, None).ok(); f.calls().len() };
//! for k in 1..=n { for when in [When::Before, When::After] {
//!     let t = setup(); let f = Faults::new(&t);
//!     let o = f.run(&t, &t.dir, ARGS, Some((k, when)));
//!     assert!(killed(&o) || o.code == 0, "{k} {when:?}: {}", o.stderr);
//!     /* repair (prune / rerun), then check the invariants */
//! } }
//! ```
//! Only calls whose parent process is git-neighbor count (git's own children and the test's git calls
//! do not). The kill hits whichever git-neighbor process made the call (the command itself, or a helper
//! process it started), which is what a crash there would be. Calls made in parallel may be numbered in
//! either order; the count is still exact because each line is appended with one `write`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::common::{Out, TestRepo};

/// Kill before git runs (the call never happens) or after it returned (its effect is done, the caller
/// never learns of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// Before the k-th call starts.
    Before,
    /// After the k-th call finished.
    After,
}

/// A `git` shim in its own directory under the test repository's root.
pub struct Faults {
    dir: PathBuf,
    log: PathBuf,
}

const SHIM: &str = r#"#!/bin/sh
# Test shim: log the call, maybe kill -9 the git-neighbor process that made it.
parent=$(cat /proc/$PPID/comm 2>/dev/null)
if [ "$parent" = "git-neighbor" ]; then
  printf '%s\n' "$*" >> "$GN_FAULT_LOG"
  # Interleave another actor: before the first call whose first argument is $GN_FAULT_BEFORE_VERB, or
  # that has $GN_FAULT_BEFORE_ARG among its arguments.
  meddle=
  [ -n "$GN_FAULT_BEFORE_VERB" ] && [ "$1" = "$GN_FAULT_BEFORE_VERB" ] && meddle=1
  if [ -n "$GN_FAULT_BEFORE_ARG" ]; then
    for a in "$@"; do [ "$a" = "$GN_FAULT_BEFORE_ARG" ] && meddle=1; done
  fi
  if [ -n "$meddle" ] && mkdir "$GN_FAULT_LOG.meddled" 2>/dev/null; then
    sh -c "$GN_FAULT_BEFORE_CMD" >> "$GN_FAULT_LOG.meddle-out" 2>&1
  fi
  n=$(wc -l < "$GN_FAULT_LOG" | tr -d ' ')
  if [ "$n" = "$GN_FAULT_KILL_AT" ] && [ "$GN_FAULT_WHEN" = before ]; then
    printf 'killed before %s: %s\n' "$n" "$*" >> "$GN_FAULT_LOG.killed"
    kill -9 "$PPID"
    exit 137
  fi
  "$GN_FAULT_REAL_GIT" "$@"
  rc=$?
  pause=
  [ "$n" = "$GN_FAULT_PAUSE_AT" ] && pause=1
  # Or pause after the $GN_FAULT_PAUSE_NTH-th call whose first argument is $GN_FAULT_PAUSE_VERB.
  if [ -n "$GN_FAULT_PAUSE_VERB" ] && [ "$1" = "$GN_FAULT_PAUSE_VERB" ] \
     && [ "$(grep -c -e "^$GN_FAULT_PAUSE_VERB\$" -e "^$GN_FAULT_PAUSE_VERB " "$GN_FAULT_LOG")" = "$GN_FAULT_PAUSE_NTH" ]; then
    pause=1
  fi
  if [ -n "$pause" ]; then
    # Written whole, then renamed: a test that sees the marker sees the call in it.
    printf '%s\n' "$*" > "$GN_FAULT_LOG.paused.tmp" && mv "$GN_FAULT_LOG.paused.tmp" "$GN_FAULT_LOG.paused"
    while [ ! -e "$GN_FAULT_LOG.resume" ]; do sleep 0.02; done
  fi
  if [ "$n" = "$GN_FAULT_KILL_AT" ] && [ "$GN_FAULT_WHEN" = after ]; then
    printf 'killed after %s: %s\n' "$n" "$*" >> "$GN_FAULT_LOG.killed"
    kill -9 "$PPID"
  fi
  exit $rc
fi
exec "$GN_FAULT_REAL_GIT" "$@"
"#;

fn real_git() -> PathBuf {
    let out = Command::new("sh").args(["-c", "command -v git"]).output().unwrap();
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

impl Faults {
    /// Install a shim for this test repository (one per repository; several may coexist).
    pub fn new(t: &TestRepo) -> Self {
        use std::os::unix::fs::PermissionsExt;
        let mut i = 0;
        let dir = loop {
            let d = t.root.join(format!("faults-{i}"));
            if std::fs::create_dir(&d).is_ok() {
                break d;
            }
            i += 1;
        };
        let git = dir.join("git");
        std::fs::write(&git, SHIM).unwrap();
        std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).unwrap();
        let log = dir.join("calls.log");
        std::fs::write(&log, "").unwrap();
        Faults { dir, log }
    }

    /// A git-neighbor command in `dir` with the shim first on PATH, killing at `kill` if given.
    pub fn cmd(&self, t: &TestRepo, dir: &Path, args: &[&str], kill: Option<(usize, When)>) -> Command {
        let mut c = t.cmd_in(dir, args);
        let path = format!("{}:{}", self.dir.display(), path_of(&c));
        c.env("PATH", path)
            .env("GN_FAULT_LOG", &self.log)
            .env("GN_FAULT_REAL_GIT", real_git())
            .env("GN_FAULT_KILL_AT", kill.map(|(k, _)| k.to_string()).unwrap_or_default())
            .env("GN_FAULT_PAUSE_AT", "")
            .env("GN_FAULT_PAUSE_VERB", "")
            .env(
                "GN_FAULT_WHEN",
                match kill {
                    Some((_, When::Before)) => "before",
                    Some((_, When::After)) => "after",
                    None => "",
                },
            );
        c
    }

    /// Like [`Faults::cmd`], and run the shell command `meddle` (another actor: a human's push, an agent's
    /// commit) just before the first git call whose first argument is `verb`.
    pub fn cmd_meddling(&self, t: &TestRepo, dir: &Path, args: &[&str], verb: &str, meddle: &str) -> Command {
        let mut c = self.cmd(t, dir, args, None);
        c.env("GN_FAULT_BEFORE_VERB", verb).env("GN_FAULT_BEFORE_CMD", meddle);
        c
    }

    /// Like [`Faults::cmd_meddling`], before the first git call that has `arg` among its arguments (for a
    /// call whose first argument is not its verb, such as `git -c k=v merge --ff-only …`).
    pub fn cmd_meddling_at_arg(&self, t: &TestRepo, dir: &Path, args: &[&str], arg: &str, meddle: &str) -> Command {
        let mut c = self.cmd(t, dir, args, None);
        c.env("GN_FAULT_BEFORE_ARG", arg).env("GN_FAULT_BEFORE_CMD", meddle);
        c
    }

    /// Whether the meddling command ran.
    pub fn meddled(&self) -> bool {
        Path::new(&format!("{}.meddled", self.log.display())).exists()
    }

    /// Run to completion (or to the kill) and return its output. The call log is reset first.
    pub fn run(&self, t: &TestRepo, dir: &Path, args: &[&str], kill: Option<(usize, When)>) -> Out {
        self.reset();
        let o = self.cmd(t, dir, args, kill).stdout(Stdio::piped()).stderr(Stdio::piped()).output().unwrap();
        Out::from_output(o)
    }

    /// Start `args` in the background; it stops right after its `at`-th git call returned, until
    /// [`Faults::resume`]. [`Faults::wait_paused`] returns once it is stopped there.
    pub fn spawn_paused(&self, t: &TestRepo, dir: &Path, args: &[&str], at: usize) -> std::process::Child {
        self.reset();
        let _ = std::fs::remove_file(self.marker("paused"));
        let _ = std::fs::remove_file(self.marker("resume"));
        self.cmd(t, dir, args, None)
            .env("GN_FAULT_PAUSE_AT", at.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Like [`Faults::spawn_paused`], stopping right after its `nth` git call whose first argument is
    /// `verb` (1-based): for a pause point that does not depend on how many other calls come first.
    pub fn spawn_paused_after(
        &self,
        t: &TestRepo,
        dir: &Path,
        args: &[&str],
        verb: &str,
        nth: usize,
    ) -> std::process::Child {
        self.reset();
        let _ = std::fs::remove_file(self.marker("paused"));
        let _ = std::fs::remove_file(self.marker("resume"));
        self.cmd(t, dir, args, None)
            .env("GN_FAULT_PAUSE_VERB", verb)
            .env("GN_FAULT_PAUSE_NTH", nth.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// Wait until the paused command reached its pause point; returns the call it paused after. Panics
    /// if the command exits first.
    pub fn wait_paused(&self, child: &mut std::process::Child) -> String {
        loop {
            if let Ok(s) = std::fs::read_to_string(self.marker("paused")) {
                return s.trim().to_string();
            }
            if let Some(st) = child.try_wait().unwrap() {
                panic!("exited ({st}) before its pause point");
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }

    /// Let the paused command go on.
    pub fn resume(&self) {
        std::fs::write(self.marker("resume"), "").unwrap();
    }

    fn marker(&self, what: &str) -> PathBuf {
        PathBuf::from(format!("{}.{what}", self.log.display()))
    }

    /// The git calls logged since the last reset, one argument string per call.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().map(str::to_string).collect()
    }

    /// Which call was killed, if any (`killed before 3: worktree add …`).
    pub fn killed_at(&self) -> Option<String> {
        let p = PathBuf::from(format!("{}.killed", self.log.display()));
        std::fs::read_to_string(p).ok().map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
    }

    /// Forget the calls logged so far.
    pub fn reset(&self) {
        std::fs::write(&self.log, "").unwrap();
        let _ = std::fs::remove_file(format!("{}.killed", self.log.display()));
        let _ = std::fs::remove_dir(format!("{}.meddled", self.log.display()));
    }
}

fn path_of(c: &Command) -> String {
    c.get_envs()
        .find(|(k, _)| *k == "PATH")
        .and_then(|(_, v)| v.map(|v| v.to_string_lossy().into_owned()))
        .unwrap_or_default()
}

/// Whether the process was killed by a signal (our kill -9) rather than exiting.
pub fn killed(o: &Out) -> bool {
    o.code == -1
}

/// The number of git calls `args` makes on a fresh repository from `setup`.
pub fn count_calls(setup: impl Fn() -> TestRepo, args: &[&str]) -> usize {
    let t = setup();
    let f = Faults::new(&t);
    f.run(&t, &t.dir, args, None).ok();
    f.calls().len()
}

#[test]
fn shim_counts_and_kills_where_asked() {
    // The kit must be able to fail: a clean run counts calls; a kill before call 1 leaves no tenant.
    let n = count_calls(TestRepo::new, &["add", "k1"]);
    assert!(n >= 1, "add makes at least one git call");
    let t = TestRepo::new();
    let f = Faults::new(&t);
    let o = f.run(&t, &t.dir, &["add", "k1"], Some((1, When::Before)));
    assert!(killed(&o), "not killed: {} {}", o.code, o.stderr);
    assert!(f.killed_at().unwrap().starts_with("killed before 1:"));
    assert_eq!(f.calls().len(), 1, "nothing runs after the kill");
}
