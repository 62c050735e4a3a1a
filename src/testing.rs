//! An in-library test fixture: a real repository in a temp dir, opened as a [`Ctx`], so the building,
//! frames and protection wings get unit tests that call their domain functions directly (the integration
//! suite drives the binary). Real git, no mocks. Settings the library's own git calls need (identity, the
//! default branch, no hooks from the user's config) are written into the repository's own config, since
//! a test cannot change the process environment without `unsafe`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::building::{ConfigPolicy, Ctx};

/// A temp repository `repo` with one commit: `README.md` and `state/agents.json`.
pub(crate) struct Fixture {
    _tmp: tempfile::TempDir,
    /// The main worktree.
    pub dir: PathBuf,
}

impl Fixture {
    pub(crate) fn new() -> Self {
        let tmp = tempfile::Builder::new().prefix("gn-unit-").tempdir().unwrap();
        let root = std::fs::canonicalize(tmp.path()).unwrap();
        let dir = root.join("repo");
        std::fs::create_dir_all(&dir).unwrap();
        let f = Fixture { _tmp: tmp, dir };
        f.git(&["init", "-q", "-b", "main"]);
        for (k, v) in [
            ("user.name", "Test"),
            ("user.email", "test@example.invalid"),
            ("core.hooksPath", "/dev/null"),
            ("commit.gpgSign", "false"),
        ] {
            f.git(&["config", k, v]);
        }
        f.write("README.md", "hello\n");
        f.write("state/agents.json", "{\n  \"agents\": []\n}\n");
        f.git(&["add", "-A"]);
        f.git(&["commit", "-q", "-m", "initial"]);
        f
    }

    /// The building, as a command would open it.
    pub(crate) fn ctx(&self) -> Ctx {
        Ctx::open(&self.dir, &[], Duration::from_secs(10), ConfigPolicy::Strict).unwrap().0
    }

    /// Run git in the main worktree, hermetically, and return its trimmed stdout.
    pub(crate) fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.dir, args)
    }

    /// Run git in `dir`, hermetically.
    pub(crate) fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let home = self.dir.parent().unwrap().join("home");
        std::fs::create_dir_all(&home).unwrap();
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
            .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// Write a file in the main worktree.
    pub(crate) fn write(&self, rel: &str, content: &str) {
        write_in(&self.dir, rel, content);
    }
}

/// Write `rel` under `dir`, creating parents.
pub(crate) fn write_in(dir: &Path, rel: &str, content: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}
