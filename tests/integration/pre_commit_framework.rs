//! The pre-commit framework (https://pre-commit.com) adopts the guard in one entry of
//! `.pre-commit-config.yaml`, through the `.pre-commit-hooks.yaml` at the top of this repository. Driven
//! with the real `pre-commit` tool: `$NEIGHBOR_TEST_PRE_COMMIT`, else `pre-commit` on PATH. CI installs it
//! (`.ci/run`) and this test fails there without it, unless `.ci/run` could not install it and says why in
//! `$NEIGHBOR_TEST_PRE_COMMIT_SKIP`; elsewhere it is skipped with a message.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

fn pre_commit_tool() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("NEIGHBOR_TEST_PRE_COMMIT").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join("pre-commit")).find(|p| p.is_file())
}

fn run(t: &TestRepo, tool: &Path, dir: &Path, args: &[&str]) -> Out {
    let mut c = Command::new(tool);
    t.env(&mut c);
    // The framework keeps its clones of hook repositories here: inside the test's temp dir.
    c.env("PRE_COMMIT_HOME", t.root.join("pre-commit-home"));
    let o = c.args(args).current_dir(dir).output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

#[test]
fn the_pre_commit_framework_runs_the_guard_from_our_hooks_file() {
    if let Ok(why) = std::env::var("NEIGHBOR_TEST_PRE_COMMIT_SKIP") {
        eprintln!("skipped: {why}");
        return;
    }
    let Some(tool) = pre_commit_tool() else {
        assert!(
            std::env::var("CI").is_err(),
            "CI must install pre-commit (.ci/run does) so this test runs: set NEIGHBOR_TEST_PRE_COMMIT"
        );
        eprintln!(
            "skipped: the pre-commit tool is not installed (pip install pre-commit, or set NEIGHBOR_TEST_PRE_COMMIT)"
        );
        return;
    };
    let t = TestRepo::new();
    // A hook repository holding exactly our .pre-commit-hooks.yaml, as a published tag of ours would.
    let hook_repo = t.root.join("hook-repo");
    std::fs::create_dir_all(&hook_repo).unwrap();
    let ours = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    std::fs::copy(&ours, hook_repo.join(".pre-commit-hooks.yaml")).unwrap();
    t.git_in(&hook_repo, &["init", "-q", "-b", "main"]);
    t.git_in(&hook_repo, &["add", ".pre-commit-hooks.yaml"]);
    t.git_in(&hook_repo, &["commit", "-q", "-m", "hooks"]);
    let rev = t.git_in(&hook_repo, &["rev-parse", "HEAD"]);
    t.write(
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: git-neighbor-guard\n",
            hook_repo.display()
        ),
    );
    t.git(&["add", ".pre-commit-config.yaml"]);
    t.git(&["commit", "-q", "-m", "adopt pre-commit"]);
    let o = run(&t, &tool, &t.dir, &["install"]);
    assert_eq!(o.code, 0, "pre-commit install:\n{}\n{}", o.stdout, o.stderr);

    // An ordinary commit passes through the guard.
    t.write("notes.txt", "hello\n");
    t.git(&["add", "notes.txt"]);
    let o = t.git_out(&t.dir, &["commit", "-q", "-m", "notes"]);
    assert_eq!(o.code, 0, "{}\n{}", o.stdout, o.stderr);
    assert!(
        o.stdout.contains("git-neighbor guard") || o.stderr.contains("git-neighbor guard"),
        "{}{}",
        o.stdout,
        o.stderr
    );

    // Conflict markers in a state file: refused by the guard, so nothing is committed.
    let before = t.git(&["rev-parse", "HEAD"]);
    t.write("state/agents.json", "{\n<<<<<<< ours\n  \"agents\": [1]\n=======\n  \"agents\": [2]\n>>>>>>> theirs\n}\n");
    t.git(&["add", "state/agents.json"]);
    let o = t.git_out(&t.dir, &["commit", "-q", "-m", "markers"]);
    assert_ne!(o.code, 0, "a commit with conflict markers passed the framework's hook:\n{}\n{}", o.stdout, o.stderr);
    let said = format!("{}{}", o.stdout, o.stderr);
    assert!(said.contains("git-neighbor guard") && said.contains("Failed"), "{said}");
    assert_eq!(t.git(&["rev-parse", "HEAD"]), before);
}
