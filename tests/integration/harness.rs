//! Claude Code's worktree hooks and `remove <path>`: every payload shape, bad payloads, 16 parallel
//! creations, a dirty tenant kept, and `init --claude` merging into an existing settings file.

use std::io::Write;
use std::process::Stdio;

use crate::common::{Out, TestRepo, write_in};

fn hook(t: &TestRepo, which: &str, payload: &str) -> Out {
    let mut c = t.cmd_in(&t.root, &["claude", which]);
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    child.stdin.take().unwrap().write_all(payload.as_bytes()).unwrap();
    Out::from_output(child.wait_with_output().unwrap())
}

#[test]
fn worktree_create_accepts_every_payload_shape() {
    let t = TestRepo::new();
    let cwd = t.dir.to_str().unwrap();
    // name; worktree_name; base_path; worktree_path; source_ref; unknown fields.
    let o = hook(
        &t,
        "worktree-create",
        &format!(r#"{{"name":"a","cwd":"{cwd}","session_id":"x","hook_event_name":"WorktreeCreate"}}"#),
    )
    .ok();
    let path = o.stdout.trim_end();
    assert_eq!(o.stdout.lines().count(), 1, "only the path on stdout: {:?}", o.stdout);
    assert!(std::path::Path::new(path).is_absolute() && std::path::Path::new(path).join("README.md").exists());
    hook(&t, "worktree-create", &format!(r#"{{"worktree_name":"b","cwd":"{cwd}"}}"#)).ok();
    let base = t.root.join("claude-wt");
    let o =
        hook(&t, "worktree-create", &format!(r#"{{"name":"c","cwd":"{cwd}","base_path":"{}"}}"#, base.display())).ok();
    assert_eq!(o.stdout.trim_end(), base.join("c").to_str().unwrap());
    let exact = t.root.join("exact-d");
    let o =
        hook(&t, "worktree-create", &format!(r#"{{"name":"d","cwd":"{cwd}","worktree_path":"{}"}}"#, exact.display()))
            .ok();
    assert_eq!(o.stdout.trim_end(), exact.to_str().unwrap());
    t.git(&["branch", "side"]);
    hook(&t, "worktree-create", &format!(r#"{{"name":"e","cwd":"{cwd}","source_ref":"side"}}"#)).ok();
    let names: Vec<String> = t.tenants_json().iter().map(|r| r["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(names, ["a", "b", "c", "d", "e"]);
}

#[test]
fn malformed_payloads_are_refused_and_create_nothing() {
    let t = TestRepo::new();
    let cwd = t.dir.to_str().unwrap();
    for bad in
        ["", "not json", "[1,2]", &format!(r#"{{"cwd":"{cwd}"}}"#), &format!(r#"{{"name":"../x","cwd":"{cwd}"}}"#)]
    {
        let o = hook(&t, "worktree-create", bad);
        assert_eq!(o.code, 2, "{bad:?}: {}", o.stderr);
        assert!(o.stdout.is_empty());
        assert_eq!(o.stderr.lines().filter(|l| l.starts_with("error:")).count(), 1, "{}", o.stderr);
    }
    assert!(t.tenants_json().is_empty());
}

#[test]
fn sixteen_parallel_creations_all_succeed() {
    let t = TestRepo::new();
    let cwd = t.dir.to_str().unwrap().to_string();
    let children: Vec<_> = (0..16)
        .map(|i| {
            let mut c = t.cmd_in(&t.root, &["claude", "worktree-create"]);
            let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
            child.stdin.take().unwrap().write_all(format!(r#"{{"name":"p{i}","cwd":"{cwd}"}}"#).as_bytes()).unwrap();
            child
        })
        .collect();
    for c in children {
        let o = Out::from_output(c.wait_with_output().unwrap());
        assert_eq!(o.code, 0, "{}", o.stderr);
    }
    assert_eq!(t.tenants_json().len(), 16);
}

#[test]
fn worktree_remove_removes_clean_and_keeps_dirty() {
    let t = TestRepo::new();
    let clean = t.add("clean", &[]);
    let dirty = t.add("dirty", &[]);
    write_in(&dirty, "work.txt", "unsaved\n");
    let cwd = t.dir.to_str().unwrap();
    hook(&t, "worktree-remove", &format!(r#"{{"worktree_path":"{}","cwd":"{cwd}"}}"#, clean.display())).ok();
    assert!(!clean.exists());
    let o = hook(&t, "worktree-remove", &format!(r#"{{"worktree_path":"{}","cwd":"{cwd}"}}"#, dirty.display()));
    assert_eq!(o.code, 0, "a kept tenant is not an error for the harness: {}", o.stderr);
    assert!(o.stderr.contains("kept:") && o.stderr.contains("work.txt"), "{}", o.stderr);
    assert!(dirty.join("work.txt").exists());
    let row = t.tenants_json().into_iter().find(|r| r["name"] == "dirty").unwrap();
    assert_eq!(row["status"], "kept");
    // A path that is not a tenant is left alone.
    let o = hook(&t, "worktree-remove", &format!(r#"{{"worktree_path":"{}","cwd":"{cwd}"}}"#, t.dir.display())).ok();
    assert!(o.stderr.contains("not a git-neighbor tenant"), "{}", o.stderr);
    assert!(t.dir.join("README.md").exists());
}

#[test]
fn init_claude_merges_settings_and_is_idempotent() {
    let t = TestRepo::new();
    write_in(
        &t.dir,
        ".claude/settings.json",
        r#"{"model":"x","hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"echo hi"}]}]}}"#,
    );
    t.neighbor(&["init", "--claude"]).ok();
    let once = std::fs::read_to_string(t.dir.join(".claude/settings.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&once).unwrap();
    assert_eq!(v["model"], "x");
    assert_eq!(v["hooks"]["PreToolUse"][0]["matcher"], "Bash");
    assert_eq!(v["hooks"]["WorktreeCreate"][0]["hooks"][0]["command"], "git neighbor claude worktree-create");
    assert_eq!(v["hooks"]["WorktreeRemove"][0]["hooks"][0]["command"], "git neighbor claude worktree-remove");
    t.neighbor(&["init", "--claude"]).ok();
    assert_eq!(
        std::fs::read_to_string(t.dir.join(".claude/settings.json")).unwrap(),
        once,
        "second run changes nothing"
    );
}

#[test]
fn remove_by_path_and_from_inside() {
    let t = TestRepo::new();
    let a = t.add("a", &[]);
    let b = t.add("b", &[]);
    std::fs::create_dir_all(b.join("sub")).unwrap();
    t.neighbor(&["remove", a.to_str().unwrap()]).ok();
    assert!(!a.exists());
    t.neighbor_in(&b.join("sub"), &["remove"]).ok();
    assert!(!b.exists());
    assert!(t.tenants_json().is_empty());
    assert!(t.branches("refs/heads/neighbor/").is_empty(), "branches go too, even removed from inside");
    let o = t.neighbor(&["remove"]);
    assert_eq!(o.code, 2);
    assert!(o.stderr.contains("not inside a tenant"), "{}", o.stderr);
}
