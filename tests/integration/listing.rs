//! `list`, `status`, `log`, `init`: output shapes on stdout, JSON, colour rules.

use crate::common::*;

#[test]
fn list_json_and_full() {
    let t = TestRepo::new();
    let p = t.add("a", &["--owner", "alice", "--task", "T-1"]);
    write_in(&p, "x.txt", "dirty\n");
    let rows = t.neighbor(&["list", "--json"]).ok().json();
    let a = rows.as_array().unwrap().iter().find(|r| r["name"] == "a").unwrap().clone();
    assert_eq!(a["status"], "active");
    assert_eq!(a["branch"], "neighbor/a");
    assert_eq!(a["owner"], "alice");
    assert_eq!(a["task"], "T-1");
    assert_eq!(a["base"], "refs/heads/main");
    assert!(a.get("dirty").is_none(), "plain list must not compute dirty");
    let main = rows.as_array().unwrap().iter().find(|r| r["main"] == true).unwrap().clone();
    assert_eq!(main["status"], "main");
    let rows = t.neighbor(&["list", "--full", "--json"]).ok().json();
    let a = rows.as_array().unwrap().iter().find(|r| r["name"] == "a").unwrap().clone();
    assert_eq!(a["dirty"], true);
    assert_eq!(a["ahead"], 0);
    assert_eq!(a["behind"], 0);
    // Human output: a table on stdout, no colour when not a terminal.
    let o = t.neighbor(&["list"]).ok();
    assert!(o.stdout.starts_with("NAME"), "{}", o.stdout);
    assert!(!o.stdout.contains('\u{1b}'));
    let o = t.neighbor(&["--color", "always", "list"]).ok();
    assert!(o.stdout.contains('\u{1b}'));
}

#[test]
fn stale_when_directory_is_gone() {
    let t = TestRepo::new();
    let p = t.add("a", &[]);
    std::fs::remove_dir_all(p).unwrap();
    let rows = t.tenants_json();
    assert_eq!(rows[0]["status"], "stale");
    assert_eq!(rows[0]["reason"], "its directory is gone");
    let st = t.neighbor(&["status", "--json"]).ok().json();
    assert_eq!(st["tenants"]["stale"], 1);
}

#[test]
fn status_and_log_json() {
    let t = TestRepo::new();
    t.add("a", &[]);
    t.add("b", &[]);
    t.neighbor(&["remove", "b"]).ok();
    let st = t.neighbor(&["status", "--json"]).ok().json();
    assert_eq!(st["tenants"]["total"], 1);
    assert_eq!(st["tenants"]["active"], 1);
    assert_eq!(st["building"], "repo");
    assert!(st["building_lock"].is_null());
    let o = t.neighbor(&["log", "--json"]).ok();
    let events: Vec<serde_json::Value> = o.stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["add", "add", "remove"]);
    for e in &events {
        for k in ["ts", "event", "name", "branch", "path", "pid"] {
            assert!(!e[k].is_null(), "{k} missing in {e}");
        }
    }
    let o = t.neighbor(&["log", "--json", "--name", "b"]).ok();
    assert_eq!(o.stdout.lines().count(), 2);
}

#[test]
fn init_never_overwrites() {
    let t = TestRepo::new();
    t.neighbor(&["init"]).ok();
    let text = std::fs::read_to_string(t.dir.join(".neighbor.toml")).unwrap();
    assert!(text.contains("prune-after"));
    t.write(".neighbor.toml", "[fleet]\nstagger = \"1s\"\n");
    let o = t.neighbor(&["init"]).ok();
    assert!(o.stderr.contains("left unchanged"));
    assert_eq!(std::fs::read_to_string(t.dir.join(".neighbor.toml")).unwrap(), "[fleet]\nstagger = \"1s\"\n");
}

#[test]
fn broken_pipe_is_quiet() {
    let t = TestRepo::new();
    for i in 0..5 {
        t.add(&format!("p{i}"), &[]);
    }
    let mut c = std::process::Command::new("sh");
    t.env(&mut c);
    let o = c
        .args(["-c", "git-neighbor list | head -c 1 >/dev/null; git-neighbor completions bash | head -c 1"])
        .current_dir(&t.dir)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn committed_man_pages_and_completions_are_current() {
    let t = TestRepo::empty();
    let out = t.root.join("docs");
    t.neighbor_in(&t.root, &["__gen-docs", out.to_str().unwrap()]).ok();
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for sub in ["man", "completions"] {
        let mut fresh: Vec<String> = std::fs::read_dir(out.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        let mut committed: Vec<String> = std::fs::read_dir(repo.join(sub))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        fresh.sort();
        committed.sort();
        assert_eq!(fresh, committed, "{sub}/ is stale: run `cargo run -- __gen-docs .`");
        for f in fresh {
            let a = std::fs::read(out.join(sub).join(&f)).unwrap();
            let b = std::fs::read(repo.join(sub).join(&f)).unwrap();
            assert!(a == b, "{sub}/{f} is stale: run `cargo run -- __gen-docs .`");
        }
    }
}

#[test]
fn lint_flags_non_portable_scripts_and_passes_our_own() {
    let t = TestRepo::new();
    t.write(
        "fleet.sh",
        "#!/bin/bash\ndeclare -A seen\ntimeout 60 ./worker.sh\necho ${pids[-1]}\ngit pull --rebase --autostash\n",
    );
    t.write("ok.sh", "#!/bin/sh\nfor i in $(seq 1 \"$n\"); do git neighbor run --timeout 60s -- ./worker.sh; done\n");
    t.write("tool", "#!/bin/sh\nreadlink -f \"$0\"\n");
    t.git(&["add", "-A"]);
    let o = t.neighbor(&["lint", "--json"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    let v = o.json();
    let got: Vec<(String, u64, String)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().rsplit('/').next().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("fleet.sh".to_string(), 2, "bash4-assoc-array".to_string()),
            ("fleet.sh".into(), 3, "gnu-timeout".into()),
            ("fleet.sh".into(), 4, "bash4-negative-index".into()),
            ("fleet.sh".into(), 5, "protocol-stash".into()),
            ("tool".into(), 2, "gnu-readlink-f".into()),
        ]
    );
    assert_eq!(t.neighbor(&["lint", t.dir.join("ok.sh").to_str().unwrap()]).code, 0);
    // Our own scripts follow rule 8.
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    for f in ["install.sh", ".ci/run"] {
        let o = t.neighbor(&["lint", repo.join(f).to_str().unwrap()]);
        assert_eq!(o.code, 0, "{f}: {}", o.stdout);
    }
}

/// `list` marks the worktree you stand in (`*`, and `"current": true`), and calls the main worktree
/// `main`, not `foreign`.
#[test]
fn list_marks_the_current_worktree_and_the_main_one() {
    let t = TestRepo::new();
    let p = t.add("a", &[]);
    t.add("b", &[]);
    std::fs::create_dir_all(p.join("sub")).unwrap();
    let rows = t.neighbor_in(&p.join("sub"), &["list", "--json"]).ok().json();
    let current: Vec<&str> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["current"] == true)
        .map(|r| r["name"].as_str().unwrap_or("(main)"))
        .collect();
    assert_eq!(current, ["a"]);
    let o = t.neighbor_in(&p, &["list"]).ok();
    let line = o.stdout.lines().find(|l| l.contains("neighbor/a")).unwrap();
    assert!(line.starts_with("* a "), "{}", o.stdout);
    let main = t.neighbor(&["list"]).ok();
    let line = main.stdout.lines().find(|l| l.contains("(main)")).unwrap();
    assert!(line.starts_with("* (main)") && line.contains(" main "), "{}", main.stdout);
}

/// `init` on a repository whose default branch is not `main` writes that branch as `state.target`, so
/// merge-frame works there without editing the config; on a `main` repository the template is unchanged.
#[test]
fn init_targets_the_default_branch() {
    let t = TestRepo::new();
    t.git(&["branch", "-m", "main", "master"]);
    t.neighbor(&["init"]).ok();
    let cfg = std::fs::read_to_string(t.dir.join(".neighbor.toml")).unwrap();
    assert!(cfg.contains("\ntarget = \"master\""), "{cfg}");
    t.delta(
        &t.dir,
        &["--frame", "1", "--stream", "s"],
        r#"{"ops":[{"op":"set","path":"a.json","pointer":"/x","value":1}]}"#,
    )
    .ok();
    let r = t.neighbor(&["merge-frame", "--json"]).ok().json();
    assert_eq!(r["target"], "master");
    // A clone follows origin/HEAD even when another branch is checked out.
    let w = TestRepo::with_remote();
    w.git(&["checkout", "-q", "-b", "feature"]);
    w.neighbor(&["init"]).ok();
    let cfg = std::fs::read_to_string(w.dir.join(".neighbor.toml")).unwrap();
    assert!(cfg.contains("# target = \"main\""), "main is the default: the template stays as it is\n{cfg}");
}

/// The command groups do something useful without a subcommand: `hooks` shows their status, `rescue`,
/// `pool` and `delta` list.
#[test]
fn groups_without_a_subcommand_show_their_state() {
    let t = TestRepo::new();
    for (group, same_as) in [("hooks", "status"), ("rescue", "list"), ("pool", "list"), ("delta", "list")] {
        let bare = t.neighbor(&["--json", group]).ok();
        let explicit = t.neighbor(&["--json", group, same_as]).ok();
        assert_eq!(bare.stdout, explicit.stdout, "{group}");
    }
}

/// One JSON vocabulary: `add --json` and `keep --json` print the tenant as `list --json` shows it (not the
/// internal record), top-level objects carry `schema_version`, `init --json` says what it did, and an error
/// under `--json` is one JSON object on stderr with the exit code's kind.
#[test]
fn one_json_vocabulary() {
    let t = TestRepo::new();
    let added = t.neighbor(&["--json", "add", "v1"]).ok().json();
    assert_eq!(added["schema_version"], 1);
    let row = t.tenants_json().into_iter().find(|r| r["name"] == "v1").unwrap();
    for key in ["name", "status", "branch", "path", "created", "base"] {
        assert_eq!(added[key], row[key], "{key}");
    }
    assert!(added.get("created_ms").is_none() && added.get("base_ref").is_none(), "{added}");
    let kept = t.neighbor(&["--json", "keep", "v1", "--reason", "review"]).ok().json();
    assert_eq!((kept["status"].as_str(), kept["reason"].as_str()), (Some("kept"), Some("review")));
    let init = t.neighbor(&["--json", "init"]).ok().json();
    assert_eq!(init["config_written"], true);
    assert!(init["state_dir"].as_str().unwrap().ends_with("/.git/neighbor"));
    let err = t.neighbor(&["--json", "remove", "nope"]);
    assert_eq!(err.code, 1);
    let e: serde_json::Value = serde_json::from_str(err.stderr.trim()).unwrap();
    assert_eq!(e["error"]["kind"], "error");
    assert_eq!(e["error"]["code"], 1);
    assert!(e["error"]["message"].as_str().unwrap().contains("no tenant named 'nope'"));
    assert_eq!(e["schema_version"], 1);
}

/// `status --short`: one prompt line, right about tracked changes in every way a file can change.
#[test]
fn status_short_is_one_line_for_a_prompt() {
    let t = TestRepo::new();
    let short = |dir: &std::path::Path| {
        let o = t.neighbor_in(dir, &["status", "--short", "--budget", "30s"]).ok();
        assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
        o.stdout.trim_end().to_string()
    };
    assert_eq!(short(&t.dir), "(main)");
    let p = t.add("api", &[]);
    assert_eq!(short(&p), "api");
    // A commit ahead of the base, then main moves: ahead and behind.
    write_in(&p, "a.txt", "a\n");
    t.git_in(&p, &["add", "a.txt"]);
    t.git_in(&p, &["commit", "-q", "-m", "a"]);
    t.write("m.txt", "m\n");
    t.git(&["add", "m.txt"]);
    t.git(&["commit", "-q", "-m", "m"]);
    assert_eq!(short(&p), "api +1 -1");
    // Modified in place with the same size, in the same second as the index was written (racily clean
    // by its stat data): still seen.
    write_in(&p, "a.txt", "b\n");
    assert_eq!(short(&p), "api* +1 -1");
    t.git_in(&p, &["checkout", "-q", "a.txt"]);
    assert_eq!(short(&p), "api +1 -1");
    // Touched but unchanged: clean. Staged only: dirty. Deleted: dirty.
    let f = std::fs::File::options().append(true).open(p.join("README.md")).unwrap();
    f.set_modified(std::time::SystemTime::now() - std::time::Duration::from_secs(7200)).unwrap();
    assert_eq!(short(&p), "api +1 -1");
    write_in(&p, "README.md", "staged change\n");
    t.git_in(&p, &["add", "README.md"]);
    assert_eq!(short(&p), "api* +1 -1");
    t.git_in(&p, &["reset", "-q", "--hard"]);
    std::fs::remove_file(p.join("a.txt")).unwrap();
    assert_eq!(short(&p), "api* +1 -1");
    t.git_in(&p, &["checkout", "-q", "a.txt"]);
    // The fleet is live while someone holds a lease (here: a run in another tenant).
    let mut c = t.cmd_in(&t.dir, &["run", "--no-stagger", "--", "sleep", "30"]);
    let mut child = c.spawn().unwrap();
    let until = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut line = short(&p);
    while !line.ends_with(" live") && std::time::Instant::now() < until {
        std::thread::sleep(std::time::Duration::from_millis(50));
        line = short(&p);
    }
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(line, "api +1 -1 live");
    // Out of time: `?`, never a wrong answer. JSON carries the same.
    // (The killed run's process group may still be ending, so the fleet may still read live here.)
    let o = t.neighbor_in(&p, &["status", "--short", "--budget", "0s"]).ok();
    assert!(o.stdout.starts_with("api? +1 -1"), "{}", o.stdout);
    let j = t.neighbor_in(&p, &["status", "--short", "--json"]).ok().json();
    assert_eq!(j["tenant"], "api");
    assert_eq!(j["ahead"], 1);
}

#[test]
fn list_full_dirty_is_what_git_status_calls_a_change() {
    // `list --full` asks git only whether anything changed (untracked directories collapsed, no rename
    // detection): the column must still agree with `git status --porcelain -uall` in every case.
    let t = TestRepo::new();
    std::fs::write(t.dir.join(".gitignore"), "*.log\n").unwrap();
    t.git(&["add", ".gitignore"]);
    t.git(&["commit", "-q", "-m", "ignore logs"]);
    type Make = fn(&std::path::Path, &TestRepo);
    let cases: [(&str, Make); 7] = [
        ("clean", |_, _| {}),
        ("ignored-only", |p, _| write_in(p, "deep/dir/x.log", "log\n")),
        ("untracked-deep", |p, _| write_in(p, "deep/dir/new.txt", "new\n")),
        ("empty-dir", |p, _| std::fs::create_dir_all(p.join("empty/dir")).unwrap()),
        ("staged", |p, t| {
            write_in(p, "s.txt", "s\n");
            t.git_in(p, &["add", "s.txt"]);
        }),
        ("renamed", |p, t| {
            t.git_in(p, &["mv", ".gitignore", "moved"]);
        }),
        ("deleted", |p, _| std::fs::remove_file(p.join(".gitignore")).unwrap()),
    ];
    for (name, make) in cases {
        let p = t.add(name, &[]);
        make(&p, &t);
    }
    let rows = t.neighbor(&["list", "--full", "--json"]).ok().json();
    for (name, _) in cases {
        let p = t.root.join("repo.worktrees").join(name);
        let git_says = !t.git_in(&p, &["status", "--porcelain", "-uall"]).is_empty();
        let row = rows.as_array().unwrap().iter().find(|r| r["name"] == name).unwrap();
        assert_eq!(row["dirty"], git_says, "{name}: {row}");
        assert_eq!(git_says, !matches!(name, "clean" | "ignored-only" | "empty-dir"), "{name}");
    }
}

/// `status --short --watch`: after every kind of change the watched look gives the scan's answer, at once
/// (the cookie handshake: no stale answer in the instant after a write), and the watcher comes to vouch for
/// it; a watcher killed with -9 is replaced and its looks scan meanwhile; it ends with its worktree.
#[test]
fn status_short_watch_answers_as_the_scan_does() {
    use std::time::{Duration, Instant};
    let t = TestRepo::new();
    let p = t.add("api", &[]);
    let look = |watch: bool| -> (serde_json::Value, bool) {
        let mut args = vec!["status", "--short", "--budget", "60s", "--json"];
        if watch {
            args.push("--watch");
        }
        let j = t.neighbor_in(&p, &args).ok().json();
        (j["dirty"].clone(), j["watched"].as_bool().unwrap_or(false))
    };
    let check = |label: &str| {
        let truth = look(false).0;
        assert!(truth.is_boolean(), "{label}: the scan gave no answer");
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let (dirty, watched) = look(true);
            assert_eq!(dirty, truth, "{label}: the watched look disagrees with the scan");
            if watched {
                break;
            }
            assert!(Instant::now() < until, "{label}: the watcher never vouched for an answer");
            std::thread::sleep(Duration::from_millis(20));
        }
    };
    check("clean");
    // The instant after a write, again and again: never the answer from before it.
    for i in 0..20 {
        write_in(&p, "README.md", &format!("edit {i}\n"));
        assert_eq!(look(true).0, serde_json::json!(true), "edit {i}: a stale answer");
        t.git_in(&p, &["checkout", "-q", "README.md"]);
        assert_eq!(look(true).0, serde_json::json!(false), "revert {i}: a stale answer");
    }
    check("after the edits");
    write_in(&p, "README.md", "same size?\n");
    check("modified in place");
    t.git_in(&p, &["checkout", "-q", "README.md"]);
    check("checked out again");
    let f = std::fs::File::options().append(true).open(p.join("README.md")).unwrap();
    f.set_modified(std::time::SystemTime::now() - Duration::from_secs(7200)).unwrap();
    check("touched, unchanged");
    write_in(&p, "README.md", "staged change\n");
    t.git_in(&p, &["add", "README.md"]);
    check("staged only");
    t.git_in(&p, &["reset", "-q", "--hard"]);
    check("reset");
    // A new directory of tracked files, committed (HEAD and the index move), then edited.
    write_in(&p, "deep/er/new.txt", "new\n");
    t.git_in(&p, &["add", "deep"]);
    t.git_in(&p, &["commit", "-q", "-m", "deep"]);
    check("committed a new directory");
    write_in(&p, "deep/er/new.txt", "changed\n");
    check("edited in the new directory");
    std::fs::remove_dir_all(p.join("deep")).unwrap();
    check("the directory deleted");
    t.git_in(&p, &["checkout", "-q", "deep"]);
    check("the directory restored");
    // kill -9 of the watcher: the next looks scan (right), and a new watcher takes over.
    let answer = || -> serde_json::Value {
        let dir = t.common_dir().join("neighbor/prompt");
        let f = std::fs::read_dir(&dir).unwrap().flatten().find(|e| e.file_name().to_string_lossy().ends_with(".json"));
        serde_json::from_slice(&std::fs::read(f.unwrap().path()).unwrap()).unwrap()
    };
    let old = answer()["pid"].as_u64().unwrap();
    std::process::Command::new("kill").args(["-9", &old.to_string()]).status().unwrap();
    write_in(&p, "README.md", "after the kill\n");
    check("after kill -9");
    let new = answer()["pid"].as_u64().unwrap();
    assert_ne!(new, old, "a new watcher answers");
    // The worktree goes: its watcher ends (it checks every 5 s).
    t.git_in(&p, &["checkout", "-q", "README.md"]);
    t.neighbor(&["remove", "--force", "api"]).ok();
    let until = Instant::now() + Duration::from_secs(60);
    while std::path::Path::new(&format!("/proc/{new}")).exists() {
        assert!(Instant::now() < until, "the watcher outlived its worktree");
        std::thread::sleep(Duration::from_millis(100));
    }
    // And nothing of it is left: no answer, no lock, no record of being asked.
    let left: Vec<String> = std::fs::read_dir(t.common_dir().join("neighbor/prompt"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "the watcher of a removed worktree left {left:?}");
}

/// Eight `status --short --watch` at once in a worktree without a watcher: all answer, and one watcher is
/// left running for it (the others lost the lock and ended).
#[test]
fn concurrent_watched_looks_leave_one_watcher() {
    use std::time::{Duration, Instant};
    let t = TestRepo::new();
    let p = t.add("w", &[]);
    let kids: Vec<_> = (0..8)
        .map(|_| {
            let mut c = t.cmd_in(&p, &["status", "--short", "--watch", "--budget", "60s"]);
            c.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
            c.spawn().unwrap()
        })
        .collect();
    for k in kids {
        let o = k.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim_end(), "w");
    }
    let watchers = || -> Vec<u32> {
        std::fs::read_dir("/proc")
            .unwrap()
            .flatten()
            .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
            .filter(|pid| {
                let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).ok();
                String::from_utf8_lossy(&cmd).contains("__prompt-watch") && cwd.as_deref() == Some(p.as_path())
            })
            .collect()
    };
    // Until the watcher vouches, losers may still be starting up; then exactly one remains.
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        let j = t.neighbor_in(&p, &["status", "--short", "--watch", "--json"]).ok().json();
        if j["watched"] == serde_json::json!(true) {
            break;
        }
        assert!(Instant::now() < until, "no watcher ever vouched");
        std::thread::sleep(Duration::from_millis(20));
    }
    let until = Instant::now() + Duration::from_secs(30);
    while watchers().len() > 1 && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(watchers().len(), 1, "one watcher per worktree");
    for pid in watchers() {
        let _ = std::process::Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
}

/// Looking at a lease is not holding it: while another process looks at the same lease (a shared flock,
/// as its probe now takes), `status` does not call the fleet live. Before, probes took the lock
/// exclusively for an instant, so two `status` at once could each see the other's probe as a holder (the
/// concurrent prompt test caught `w live` in a tenant nobody held).
#[test]
fn a_concurrent_look_at_a_lease_is_not_a_holder() {
    use std::time::{Duration, Instant};
    let t = TestRepo::new();
    t.add("w", &[]);
    let lock = t.common_dir().join("neighbor/leases/w.lock");
    assert!(lock.exists(), "add leaves the lease file");
    let ready = t.root.join("probing");
    let mut prober = std::process::Command::new("flock")
        .arg("-s")
        .arg(&lock)
        .args(["sh", "-c", &format!("touch '{}'; sleep 30", ready.display())])
        .spawn()
        .unwrap();
    let until = Instant::now() + Duration::from_secs(30);
    while !ready.exists() {
        assert!(Instant::now() < until, "flock never took the shared lock");
        std::thread::sleep(Duration::from_millis(10));
    }
    let j = t.neighbor(&["status", "--json"]).ok().json();
    let _ = prober.kill();
    let _ = prober.wait();
    assert_eq!(j["fleet"]["live"], false, "{}", j["fleet"]);
}
