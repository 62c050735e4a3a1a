//! The speculative merge queue: `land --queue`, `queue list|show|cancel|run`.

use crate::common::*;

fn commit_in(t: &TestRepo, p: &std::path::Path, file: &str, body: &str) {
    write_in(p, file, body);
    t.git_in(p, &["add", file]);
    t.git_in(p, &["commit", "-q", "-m", &format!("edit {file}")]);
}

/// A tenant `name` with one commit adding `<name>.txt`.
fn tenant_with_work(t: &TestRepo, name: &str) -> std::path::PathBuf {
    let p = t.add(name, &[]);
    commit_in(t, &p, &format!("{name}.txt"), &format!("{name}\n"));
    p
}

#[test]
fn enqueue_prints_the_position_and_list_show_cancel_agree() {
    let t = TestRepo::new();
    tenant_with_work(&t, "a");
    let b = tenant_with_work(&t, "b");
    let o = t.neighbor(&["land", "--queue", "a"]).ok();
    assert_eq!(o.stdout.trim(), "1", "{}", o.stderr);
    // NAME defaults to the tenant the current directory is in.
    let o = t.neighbor_in(&b, &["land", "--queue", "--json"]).ok();
    let j = o.json();
    assert_eq!(j["schema_version"], 1);
    assert_eq!((j["id"].as_u64(), j["position"].as_u64(), j["state"].as_str()), (Some(2), Some(2), Some("queued")));
    assert_eq!(j["tip"].as_str().unwrap(), t.git(&["rev-parse", "neighbor/b"]));
    assert_eq!(j["into"], "main");

    let l = t.neighbor(&["queue", "list", "--json"]).ok().json();
    let names: Vec<&str> = l.as_array().unwrap().iter().map(|e| e["tenant"].as_str().unwrap()).collect();
    assert_eq!(names, ["a", "b"]);
    let s = t.neighbor(&["queue", "show", "b", "--json"]).ok().json();
    assert_eq!((s["id"].as_u64(), s["schema_version"].as_u64()), (Some(2), Some(1)));

    let c = t.neighbor(&["queue", "cancel", "#1", "--json"]).ok().json();
    assert_eq!(c["state"], "cancelled");
    let s = t.neighbor(&["queue", "show", "1"]).ok();
    assert!(s.stdout.contains("#1 cancelled: a"), "{}", s.stdout);
    // Cancelling twice is an error, and a cancelled tenant can be queued again, behind b.
    let o = t.neighbor(&["queue", "cancel", "a"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("already cancelled"), "{}", o.stderr);
    let o = t.neighbor(&["land", "--queue", "a"]).ok();
    assert_eq!(o.stdout.trim(), "2");
    let st = t.neighbor(&["queue"]).ok();
    assert!(st.stdout.contains("cancelled") && st.stdout.contains("queued"), "{}", st.stdout);
    // Nothing moved: the queue only records.
    assert_eq!(t.git(&["rev-list", "--count", "main"]), "1");
    let ev = std::fs::read_to_string(t.common_dir().join("neighbor/events.jsonl")).unwrap();
    assert_eq!(ev.matches("\"queue-enqueue\"").count(), 3);
    assert_eq!(ev.matches("\"queue-cancel\"").count(), 1);
}

#[test]
fn bad_input_is_one_clear_line_with_its_exit_code() {
    let t = TestRepo::new();
    let p = tenant_with_work(&t, "a");
    let o = t.neighbor(&["land", "--queue", "nosuch"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.starts_with("error: no tenant named 'nosuch'"), "{}", o.stderr);
    t.neighbor(&["land", "--queue", "a"]).ok();
    let o = t.neighbor(&["land", "--queue", "a"]);
    assert_eq!(o.code, 1, "{}", o.stderr);
    assert!(o.stderr.starts_with("error: tenant 'a' is already queued as #1 (queued)"), "{}", o.stderr);
    assert!(o.stderr.contains("hint: `git neighbor queue cancel 1`"), "{}", o.stderr);
    let o = t.neighbor(&["queue", "show", "42"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.starts_with("error: no queue entry '42'"), "{}", o.stderr);
    // Nothing to land; uncommitted changes refused (exit 3); --queue with --test is a usage error.
    t.add("idle", &[]);
    let o = t.neighbor(&["land", "--queue", "idle"]);
    assert_eq!(o.code, 1);
    assert!(o.stderr.contains("nothing to land"), "{}", o.stderr);
    t.neighbor(&["queue", "cancel", "a"]).ok();
    write_in(&p, "wip.txt", "wip\n");
    assert_eq!(t.neighbor(&["land", "--queue", "a"]).code, 3);
    assert_eq!(t.neighbor(&["land", "--queue", "a", "--test", "true"]).code, 2);
    assert_eq!(t.neighbor(&["queue", "list", "--json"]).ok().json().as_array().unwrap().len(), 1);
}
