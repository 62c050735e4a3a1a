//! `hooks install|uninstall|status` and the guards the hooks run, driven through real `git commit`/`push`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::*;

/// git in `dir` with extra environment variables.
fn git_env(t: &TestRepo, dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Out {
    let mut c = Command::new("git");
    t.env(&mut c);
    for (k, v) in env {
        c.env(k, v);
    }
    let o = c.args(args).current_dir(dir).output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

fn hooks_dir(t: &TestRepo) -> PathBuf {
    t.common_dir().join("hooks")
}

fn head(t: &TestRepo, dir: &Path) -> String {
    t.git_in(dir, &["rev-parse", "HEAD"])
}

/// Bytes and mode (or link target) of every file in the hooks dir, samples excluded.
fn hook_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter(|e| !e.file_name().to_string_lossy().ends_with(".sample"))
                .map(|e| {
                    let p = e.path();
                    let meta = std::fs::symlink_metadata(&p).unwrap();
                    if meta.file_type().is_symlink() {
                        format!("{} -> {}", e.file_name().to_string_lossy(), std::fs::read_link(&p).unwrap().display())
                    } else {
                        format!(
                            "{} {:o} {:?}",
                            e.file_name().to_string_lossy(),
                            meta.permissions().mode() & 0o7777,
                            std::fs::read_to_string(&p).unwrap()
                        )
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

const CONFLICTED: &str = "def f():\n<<<<<<< HEAD\n    return 1\n=======\n    return 2\n>>>>>>> theirs\n";

#[test]
fn pre_commit_refuses_markers_and_broken_canonical_json() {
    let t = TestRepo::new();
    t.neighbor(&["init", "--hooks"]).ok();
    t.git(&["add", ".neighbor.toml"]);
    t.git(&["commit", "-q", "-m", "config"]);
    let before = head(&t, &t.dir);

    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    let o = t.git_out(&t.dir, &["commit", "-q", "-m", "half-merged"]);
    assert_ne!(o.code, 0, "a commit with conflict markers went through");
    assert!(o.stderr.contains("app.py:2: conflict marker `<<<<<<< HEAD`"), "{}", o.stderr);
    assert!(o.stderr.contains("app.py:4: conflict marker `=======`"), "{}", o.stderr);
    assert!(o.stderr.contains("git commit --no-verify"), "says how to override once: {}", o.stderr);
    assert_eq!(head(&t, &t.dir), before);
    t.git(&["rm", "-q", "--cached", "app.py"]);

    // Broken canonical JSON is refused even when the canonical guard itself is overridden.
    t.write("state/agents.json", "{\n  \"agents\": [\n");
    t.git(&["add", "state/agents.json"]);
    let o = git_env(&t, &t.dir, &[("NEIGHBOR_ALLOW_CANONICAL", "1")], &["commit", "-q", "-m", "broken"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("state/agents.json:3: not valid JSON"), "{}", o.stderr);
    assert!(!o.stderr.contains("outside merge-frame"), "override honoured: {}", o.stderr);
    assert_eq!(head(&t, &t.dir), before);

    // --no-verify is the documented one-shot way past every hook.
    t.git(&["commit", "-q", "--no-verify", "-m", "forced"]);
    assert_ne!(head(&t, &t.dir), before);
}

/// With `feature.manyFiles` (index version 4: each path stored against the one before it) the hook reads
/// the same staged changes: a conflicted file deep in a directory of many siblings is refused, a clean edit
/// beside it commits, and the index git left is still version 4.
#[test]
fn pre_commit_reads_a_version_4_index() {
    let t = TestRepo::new();
    t.git(&["config", "feature.manyFiles", "true"]);
    t.neighbor(&["init", "--hooks"]).ok();
    for i in 0..300 {
        t.write(&format!("src/deep/module/file{i:03}.py"), &format!("x = {i}\n"));
    }
    t.git(&["add", "-A"]);
    t.git(&["update-index", "--index-version", "4"]);
    t.git(&["commit", "-q", "-m", "many files"]);
    let index = std::fs::read(t.dir.join(".git/index")).unwrap();
    assert_eq!(index[4..8], 4u32.to_be_bytes(), "git wrote index version 4");
    let before = head(&t, &t.dir);

    t.write("src/deep/module/file150.py", CONFLICTED);
    t.git(&["add", "src/deep/module/file150.py"]);
    let o = t.git_out(&t.dir, &["commit", "-q", "-m", "half-merged"]);
    assert_ne!(o.code, 0, "a commit with conflict markers went through");
    assert!(o.stderr.contains("src/deep/module/file150.py:2: conflict marker `<<<<<<< HEAD`"), "{}", o.stderr);
    assert_eq!(head(&t, &t.dir), before);

    t.write("src/deep/module/file150.py", "x = 150\ny = 1\n");
    t.git(&["add", "src/deep/module/file150.py"]);
    t.git(&["commit", "-q", "-m", "clean"]);
    assert_ne!(head(&t, &t.dir), before);
    let index = std::fs::read(t.dir.join(".git/index")).unwrap();
    assert_eq!(index[4..8], 4u32.to_be_bytes());
}

/// This process's PATH without any directory holding a git-neighbor or git-neighbor-hook of this machine's own.
fn path_without_ours() -> String {
    let ours = |d: &str| ["git-neighbor", "git-neighbor-hook"].iter().any(|b| Path::new(d).join(b).exists());
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':').filter(|d| !ours(d)).collect::<Vec<_>>().join(":")
}

/// `git-neighbor-hook <args>` in the test repository.
fn hook_binary(t: &TestRepo, args: &[&str]) -> Out {
    let mut c = Command::new(hook_bin());
    t.env(&mut c);
    Out::from_output(c.args(args).current_dir(&t.dir).output().unwrap())
}

/// `hook <name>` as the installed hooks call it skips the full command-line parser, and so does
/// `git-neighbor-hook <name>`: both must answer exactly as the parsed path does (`--lock-timeout 30s` before
/// `hook`, the default, forces that path), refusing and passing alike; an option after the hook name, or a
/// hook we do not have, still goes through clap (from `git-neighbor-hook`, by running `git-neighbor hook`).
#[test]
fn the_hook_fast_path_answers_as_the_parsed_command_does() {
    let t = TestRepo::new();
    let both = |label: &str| {
        let fast = t.neighbor(&["hook", "pre-commit"]);
        let parsed = t.neighbor(&["--lock-timeout", "30s", "hook", "pre-commit"]);
        let small = hook_binary(&t, &["pre-commit"]);
        // What the kernel runs for a hook file whose `#!` line names git-neighbor-hook.
        let by_path = hook_binary(&t, &[".git/hooks/pre-commit"]);
        assert_eq!((fast.code, &fast.stdout, &fast.stderr), (parsed.code, &parsed.stdout, &parsed.stderr), "{label}");
        for (how, o) in [("by name", &small), ("by path", &by_path)] {
            assert_eq!((o.code, &o.stdout, &o.stderr), (parsed.code, &parsed.stdout, &parsed.stderr), "{label} {how}");
        }
        fast.code
    };
    t.write("ok.txt", "fine\n");
    t.git(&["add", "ok.txt"]);
    assert_eq!(both("clean"), 0);
    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    assert_eq!(both("markers"), 3);
    t.write(".neighbor.toml", "[worktrees\n");
    t.git(&["add", ".neighbor.toml"]);
    assert_eq!(both("markers and a broken config"), 3);
    let help = t.neighbor(&["hook", "pre-commit", "--help"]);
    assert_eq!(help.code, 0, "{}", help.stderr);
    assert!(help.stdout.contains("Usage:"), "{}", help.stdout);
    let unknown = t.neighbor(&["hook", "post-merge"]);
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
    assert!(unknown.stderr.contains("git-neighbor has no 'post-merge' hook"), "{}", unknown.stderr);
    for args in [&["pre-commit", "--help"][..], &["post-merge"]] {
        let full = t.neighbor(&[&["hook"][..], args].concat());
        let small = hook_binary(&t, args);
        assert_eq!((small.code, &small.stdout, &small.stderr), (full.code, &full.stdout, &full.stderr), "{args:?}");
    }
    // With no git-neighbor beside it or on PATH, what it cannot answer itself is an error that says so.
    let lonely = t.root.join("lonely");
    std::fs::create_dir_all(&lonely).unwrap();
    let copy = lonely.join("git-neighbor-hook");
    if std::fs::hard_link(hook_bin(), &copy).is_err() {
        std::fs::copy(hook_bin(), &copy).unwrap();
    }
    let mut c = Command::new(&copy);
    t.env(&mut c);
    let o =
        Out::from_output(c.env("PATH", path_without_ours()).arg("post-merge").current_dir(&t.dir).output().unwrap());
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.starts_with("error: git-neighbor-hook: cannot run git-neighbor: "), "{}", o.stderr);
    assert!(o.stderr.contains("hint: git-neighbor-hook hands everything but a hook's run to git-neighbor"));
}

/// A hook installed with `--on-path` runs `git-neighbor-hook` when it is on PATH, else `git-neighbor hook`,
/// else says the check was skipped and lets git commit. Each command on PATH here is a stand-in that writes its name down
/// and runs the real one, so the test sees which ran, and that each refuses a conflicted file.
#[test]
fn the_hooks_run_the_hook_binary_else_git_neighbor_else_say_so() {
    let t = TestRepo::new();
    t.neighbor(&["hooks", "install", "--on-path"]).ok();
    let log = t.root.join("ran.log");
    // PATH without any git-neighbor of this machine's own.
    let stand_in = |dir: &Path, name: &str, real: &Path| {
        std::fs::create_dir_all(dir).unwrap();
        let p = dir.join(name);
        std::fs::write(
            &p,
            format!("#!/bin/sh\necho {name} >> '{}'\nexec '{}' \"$@\"\n", log.display(), real.display()),
        )
        .unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let (both, main_only, neither) = (t.root.join("both"), t.root.join("main-only"), t.root.join("neither"));
    stand_in(&both, "git-neighbor-hook", &hook_bin());
    stand_in(&both, "git-neighbor", &bin());
    stand_in(&main_only, "git-neighbor", &bin());
    std::fs::create_dir_all(&neither).unwrap();
    let path_with = |dir: &Path| format!("{}:{}", dir.display(), path_without_ours());
    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    for (dir, ran) in [(&both, "git-neighbor-hook\n"), (&main_only, "git-neighbor\n")] {
        let _ = std::fs::remove_file(&log);
        let o = git_env(&t, &t.dir, &[("PATH", &path_with(dir))], &["commit", "-q", "-m", "half-merged"]);
        assert_eq!(o.code, 1, "{}", o.stderr);
        assert!(o.stderr.contains("app.py:2: conflict marker"), "{}", o.stderr);
        assert_eq!(std::fs::read_to_string(&log).unwrap(), ran);
    }
    let _ = std::fs::remove_file(&log);
    let o = git_env(&t, &t.dir, &[("PATH", &path_with(&neither))], &["commit", "-q", "-m", "unchecked"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(o.stderr.contains("git-neighbor is not on PATH: its pre-commit check was skipped"), "{}", o.stderr);
    assert!(!log.exists());
}

/// The `hooks status --json` entry of one hook.
fn hook_state(t: &TestRepo, name: &str) -> serde_json::Value {
    let st = t.neighbor(&["hooks", "status", "--json"]).ok().json();
    st.as_array().unwrap().iter().find(|h| h["hook"] == name).cloned().unwrap()
}

/// A hook file `install` creates names git-neighbor-hook on its `#!` line, so git runs it with no shell
/// and no PATH lookup. When that binary is gone, git fails the hook (the commit does not go through
/// unchecked), `hooks status` says `broken`, `doctor` counts it a problem and `--fix` names the binary
/// installed now. An `sh` hook from an earlier install is brought to the new form; `--on-path` makes and
/// keeps the `sh` form; uninstall deletes the file.
#[test]
fn a_created_hook_runs_git_neighbor_hook_directly_and_fails_closed_when_it_is_gone() {
    let t = TestRepo::new();
    let copy = t.root.join("moved-later");
    std::fs::create_dir_all(&copy).unwrap();
    for b in [bin(), hook_bin()] {
        std::fs::copy(&b, copy.join(b.file_name().unwrap())).unwrap();
    }
    let mut c = Command::new(copy.join("git-neighbor"));
    t.env(&mut c);
    Out::from_output(c.args(["hooks", "install"]).current_dir(&t.dir).output().unwrap()).ok();
    let file = hooks_dir(&t).join("pre-commit");
    let program = copy.join("git-neighbor-hook");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with(&format!("#!{}\n", program.display())), "{text}");
    let st = hook_state(&t, "pre-commit");
    assert_eq!((st["state"].as_str(), st["program"].as_str()), (Some("installed"), program.to_str()), "{st}");

    // It runs with no git-neighbor on PATH, and refuses.
    let no_ours = path_without_ours();
    let before = head(&t, &t.dir);
    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    let o = git_env(&t, &t.dir, &[("PATH", &no_ours)], &["commit", "-q", "-m", "half-merged"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.contains("app.py:2: conflict marker"), "{}", o.stderr);

    // The binary goes away: git cannot run the hook and commits nothing.
    std::fs::remove_file(&program).unwrap();
    t.write("app.py", "fine\n");
    t.git(&["add", "app.py"]);
    let o = git_env(&t, &t.dir, &[("PATH", &no_ours)], &["commit", "-q", "-m", "unchecked?"]);
    assert_ne!(o.code, 0, "a hook whose binary is gone let a commit through:\n{}", o.stderr);
    assert_eq!(head(&t, &t.dir), before);
    assert_eq!(hook_state(&t, "pre-commit")["state"], "broken");
    let d = t.neighbor(&["doctor"]);
    assert_eq!(d.code, 1, "{}{}", d.stdout, d.stderr);
    assert!(d.stdout.contains(&format!("run {}, which is gone", program.display())), "{}", d.stdout);
    t.neighbor(&["doctor", "--fix"]);
    let st = hook_state(&t, "pre-commit");
    assert_eq!(st["state"], "installed", "{st}");
    let now = std::fs::canonicalize(st["program"].as_str().unwrap()).unwrap();
    assert_eq!(now, std::fs::canonicalize(hook_bin()).unwrap());
    let o = git_env(&t, &t.dir, &[("PATH", &no_ours)], &["commit", "-q", "-m", "checked"]);
    assert_eq!(o.code, 0, "{}", o.stderr);

    // `--on-path` makes the sh form and later installs keep it; plain `sh` hooks from earlier installs
    // are brought to the direct form.
    t.neighbor(&["hooks", "install", "--on-path"]).ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("#!/bin/sh\n") && text.contains("# origin: created on-path\n"), "{text}");
    let st = hook_state(&t, "pre-commit");
    assert_eq!((st["state"].as_str(), st["program"].is_null()), (Some("installed"), true), "{st}");
    let again = t.neighbor(&["hooks", "install", "--json"]).ok().json();
    assert!(again.as_array().unwrap().iter().all(|c| c["action"] == "unchanged"), "{again}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text, "install without --on-path kept it");
    std::fs::write(&file, text.replace("# origin: created on-path\n", "# origin: created\n")).unwrap();
    assert_eq!(hook_state(&t, "pre-commit")["state"], "outdated");
    t.neighbor(&["hooks", "install"]).ok();
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("#!/"), "brought to the direct form");
    assert!(!std::fs::read_to_string(&file).unwrap().starts_with("#!/bin/sh"));
    assert_eq!(hook_state(&t, "pre-commit")["state"], "installed");

    t.neighbor(&["hooks", "uninstall"]).ok();
    assert_eq!(hook_files(&hooks_dir(&t)), Vec::<String>::new(), "every file we created is deleted");

    // Lines someone adds below our block run after our check once `install` gives them a shell, and
    // `uninstall` leaves them, with that shell.
    t.neighbor(&["hooks", "install"]).ok();
    let log = t.root.join("mine.log");
    let mine = format!("echo mine >> '{}'\n", log.display());
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + &mine).unwrap();
    assert_eq!(hook_state(&t, "pre-commit")["state"], "outdated");
    t.neighbor(&["hooks", "install"]).ok();
    assert!(std::fs::read_to_string(&file).unwrap().starts_with("#!/bin/sh\n"));
    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    assert_ne!(git_env(&t, &t.dir, &[], &["commit", "-q", "-m", "refused"]).code, 0);
    assert!(!log.exists(), "our check runs first and stops the commit");
    t.write("app.py", "fine again\n");
    t.git(&["add", "app.py"]);
    let o = git_env(&t, &t.dir, &[], &["commit", "-q", "-m", "both ran"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "mine\n");
    t.neighbor(&["hooks", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("#!/bin/sh\n{mine}"));
    // Uninstalled straight from the `#!` form, the added lines get a shell too.
    std::fs::remove_file(&file).unwrap();
    t.neighbor(&["hooks", "install"]).ok();
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + &mine).unwrap();
    t.neighbor(&["hooks", "uninstall"]).ok();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), format!("#!/bin/sh\n{mine}"));
}

/// A hook file whose `#!` line was changed to run something else than git-neighbor-hook no longer runs the
/// guard: it is `outdated` (a problem for a building that requires the hooks), and `install` puts ours back.
#[test]
fn a_hook_whose_first_line_runs_another_program_is_not_installed() {
    let t = TestRepo::new();
    t.write(".neighbor.toml", "[hooks]\nrequired = true\n");
    t.neighbor(&["hooks", "install"]).ok();
    let file = hooks_dir(&t).join("pre-commit");
    let text = std::fs::read_to_string(&file).unwrap();
    let (_, rest) = text.split_once('\n').unwrap();
    std::fs::write(&file, format!("#!/bin/true\n{rest}")).unwrap();
    let st = hook_state(&t, "pre-commit");
    assert_eq!((st["state"].as_str(), st["program"].as_str()), (Some("outdated"), Some("/bin/true")), "{st}");
    let d = t.neighbor(&["doctor"]);
    assert_eq!(d.code, 1, "{}{}", d.stdout, d.stderr);
    assert!(d.stdout.contains("pre-commit (outdated)"), "{}", d.stdout);
    t.neighbor(&["hooks", "install"]).ok();
    assert_eq!(hook_state(&t, "pre-commit")["state"], "installed");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
}

#[test]
fn tenant_committing_canonical_state_is_refused_unless_merge_frame() {
    let t = TestRepo::new();
    t.neighbor(&["hooks", "install"]).ok();
    let p = t.add("agent1", &[]);
    write_in(&p, "state/agents.json", "{\n  \"agents\": [\"agent1\"]\n}\n");
    t.git_in(&p, &["add", "state/agents.json"]);
    let before = head(&t, &p);
    let o = t.git_out(&p, &["commit", "-q", "-m", "register myself"]);
    assert_ne!(o.code, 0, "a tenant committed canonical state directly");
    assert!(o.stderr.contains("state/agents.json: canonical state changed outside merge-frame"), "{}", o.stderr);
    assert!(o.stderr.contains("git neighbor delta write"), "hints at deltas: {}", o.stderr);
    assert!(o.stderr.contains("NEIGHBOR_ALLOW_CANONICAL=1"), "{}", o.stderr);
    assert_eq!(head(&t, &p), before);

    // merge-frame's commits carry NEIGHBOR_MERGE_FRAME=1 and pass.
    let o = git_env(&t, &p, &[("NEIGHBOR_MERGE_FRAME", "1")], &["commit", "-q", "-m", "frame 1"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert_ne!(head(&t, &p), before);

    // Non-canonical files commit normally.
    write_in(&p, "src.txt", "code\n");
    t.git_in(&p, &["add", "src.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "code"]);
}

#[test]
fn users_hooks_keep_running_install_is_idempotent_uninstall_restores() {
    let t = TestRepo::with_remote();
    let dir = hooks_dir(&t);
    std::fs::create_dir_all(&dir).unwrap();
    let log = t.root.join("hook.log");
    // A shell pre-commit hook, and a pre-push hook that is a symlink to the user's script (chained).
    let pre_commit = format!("#!/bin/sh\necho \"user pre-commit ran\" >> '{}'\n", log.display());
    std::fs::write(dir.join("pre-commit"), &pre_commit).unwrap();
    std::fs::set_permissions(dir.join("pre-commit"), std::fs::Permissions::from_mode(0o750)).unwrap();
    let script = t.root.join("my-pre-push.sh");
    std::fs::write(&script, format!("#!/bin/sh\necho \"user pre-push $1\" >> '{0}'\ncat >> '{0}'\n", log.display()))
        .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&script, dir.join("pre-push")).unwrap();
    let original = hook_files(&dir);

    t.neighbor(&["hooks", "install"]).ok();
    let once = hook_files(&dir);
    assert_ne!(once, original);
    t.neighbor(&["hooks", "install"]).ok();
    assert_eq!(hook_files(&dir), once, "install twice == install once");
    let st = t.neighbor(&["hooks", "status", "--json"]).ok().json();
    for h in st.as_array().unwrap() {
        assert_eq!(h["state"], "installed", "{h}");
    }
    assert_eq!(st[0]["hook"], "pre-commit");
    assert_eq!(st[0]["user_hook"], true);

    // Both ours and theirs run: a clean commit passes and the user's hook logged it; the push reaches
    // the user's pre-push with its stdin intact.
    t.commit_file("ok.txt", "fine\n", "fine");
    t.git(&["push", "-q", "origin", "main"]);
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(logged.contains("user pre-commit ran"), "{logged}");
    assert!(logged.contains("user pre-push origin"), "{logged}");
    assert!(logged.contains("refs/heads/main"), "pre-push stdin reached the user's hook: {logged}");

    // Ours runs first and its refusal stops the commit before theirs.
    std::fs::write(&log, "").unwrap();
    t.write("x.rs", CONFLICTED);
    t.git(&["add", "x.rs"]);
    assert_ne!(t.git_out(&t.dir, &["commit", "-q", "-m", "x"]).code, 0);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "");

    t.neighbor(&["hooks", "uninstall"]).ok();
    assert_eq!(hook_files(&dir), original, "uninstall gives back the original bytes, modes and link");
    t.neighbor(&["hooks", "uninstall"]).ok();
    assert_eq!(hook_files(&dir), original);
}

#[test]
fn core_hooks_path_is_honoured() {
    let t = TestRepo::new();
    t.git(&["config", "core.hooksPath", ".githooks"]);
    t.neighbor(&["hooks", "install"]).ok();
    // A core.hooksPath directory may be committed: its hooks find git-neighbor on PATH, naming no path
    // of this machine's.
    let text = std::fs::read_to_string(t.dir.join(".githooks/pre-commit")).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
    assert!(!hooks_dir(&t).join("pre-commit").exists());
    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    let o = t.git_out(&t.dir, &["commit", "-q", "-m", "x"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("conflict marker"), "{}", o.stderr);
    t.neighbor(&["hooks", "uninstall"]).ok();
    assert!(!t.dir.join(".githooks/pre-commit").exists(), "a hook we created from nothing is deleted");
    // A path that only starts with the git dir, `<git-dir>/../shared-hooks`, is not inside it.
    let beside = format!("{}/../shared-hooks", t.common_dir().display());
    t.git(&["config", "core.hooksPath", &beside]);
    t.neighbor(&["hooks", "install"]).ok();
    let text = std::fs::read_to_string(t.dir.join("shared-hooks/pre-commit")).unwrap();
    assert!(text.starts_with("#!/bin/sh\n"), "{text}");
}

#[test]
fn pre_push_refuses_commits_that_add_markers() {
    let t = TestRepo::with_remote();
    t.neighbor(&["hooks", "install"]).ok();
    let remote_before = t.git_in(&t.root.join("origin.git"), &["rev-parse", "main"]);
    t.write("app.py", CONFLICTED);
    t.git(&["add", "app.py"]);
    t.git(&["commit", "-q", "--no-verify", "-m", "sneaky"]);
    let o = t.git_out(&t.dir, &["push", "-q", "origin", "main"]);
    assert_ne!(o.code, 0);
    assert!(o.stderr.contains("push refused by git-neighbor"), "{}", o.stderr);
    assert!(o.stderr.contains("app.py:2: conflict marker"), "{}", o.stderr);
    assert!(o.stderr.contains("git push --no-verify"), "{}", o.stderr);
    assert_eq!(t.git_in(&t.root.join("origin.git"), &["rev-parse", "main"]), remote_before);
    // A later fix does not make the bad commit pushable: it is still in the range.
    t.commit_file("app.py", "def f():\n    return 1\n", "resolve");
    assert_ne!(t.git_out(&t.dir, &["push", "-q", "origin", "main"]).code, 0);
    t.git(&["push", "-q", "--no-verify", "origin", "main"]);
}

#[test]
fn warn_only_hooks_warn_about_autostash_on_a_live_fleet() {
    let t = TestRepo::with_remote();
    t.neighbor(&["hooks", "install"]).ok();
    // The fleet pushed just now.
    let other = t.root.join("other");
    t.git(&["clone", "-q", t.root.join("origin.git").to_str().unwrap(), other.to_str().unwrap()]);
    write_in(&other, "README.md", "fleet\n");
    for args in [&["commit", "-q", "-am", "fleet"][..], &["push", "-q", "origin", "main"][..]] {
        let mut c = Command::new("git");
        t.env(&mut c);
        c.env_remove("GIT_COMMITTER_DATE").env_remove("GIT_AUTHOR_DATE");
        assert!(c.args(args).current_dir(&other).status().unwrap().success());
    }
    t.git(&["fetch", "-q"]);
    t.commit_file("local.txt", "local\n", "local");
    t.write("state/agents.json", "{\"agents\": [\"dirty\"]}\n");
    let o = t.git_out(&t.dir, &["pull", "-q", "--rebase", "--autostash"]);
    assert_eq!(o.code, 0, "{}", o.stderr);
    assert!(
        o.stderr.contains("this rebase stashed your uncommitted changes (autostash) while the fleet is live"),
        "{}",
        o.stderr
    );
    assert!(o.stderr.contains("git neighbor safe-pull"), "{}", o.stderr);

    t.git(&["config", "rebase.autoStash", "true"]);
    let o = t.git_out(&t.dir, &["checkout", "-q", "-b", "topic", "--track", "origin/main"]);
    assert_eq!(o.code, 0, "post-checkout never blocks: {}", o.stderr);
    assert!(o.stderr.contains("autostash is on in your git config and the fleet is live"), "{}", o.stderr);
}

/// The pre-commit check reads the index git is about to commit: with `commit -a` and `commit <path>` that
/// is a temporary index (`GIT_INDEX_FILE`), not `.git/index`, so a change staged only there is seen.
#[test]
fn pre_commit_sees_the_index_git_commits_with_commit_a_and_paths() {
    let t = TestRepo::new();
    t.neighbor(&["hooks", "install"]).ok();
    let before = head(&t, &t.dir);
    t.write("state/agents.json", "{\"agents\": [\"edited by hand\"]}\n");
    let o = git_env(&t, &t.dir, &[], &["commit", "-q", "-am", "by hand"]);
    assert_ne!(o.code, 0, "commit -a of canonical state must be refused:\n{}", o.stderr);
    assert!(o.stderr.contains("state/agents.json"), "{}", o.stderr);
    let o = git_env(&t, &t.dir, &[], &["commit", "-q", "-m", "by hand", "--", "state/agents.json"]);
    assert_ne!(o.code, 0, "commit <path> of canonical state must be refused:\n{}", o.stderr);
    assert_eq!(head(&t, &t.dir), before);
    // An unrelated file goes through both ways.
    t.write("README.md", "changed\n");
    git_env(&t, &t.dir, &[], &["commit", "-q", "-m", "readme", "--", "README.md"]);
    assert_ne!(head(&t, &t.dir), before);
}
