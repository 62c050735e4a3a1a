//! Output streams that cannot be written: a reader that went away (`2>&1 | true`) or a full disk
//! (`2>/dev/full`) never turns a command that did its work into a crash, nor skips its cleanup.

use std::process::Stdio;

use crate::common::{Out, TestRepo};

fn full() -> std::fs::File {
    std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap()
}

/// `git neighbor init 2>&1 | true`: both streams are a pipe nobody reads.
#[test]
fn closed_pipe_on_both_streams_is_not_a_crash() {
    let t = TestRepo::new();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = t.cmd_in(&t.dir, &["init"]).stdout(writer.try_clone().unwrap()).stderr(writer).output().unwrap();
    let code = o.status.code();
    assert_ne!(code, Some(101), "panicked on a closed pipe");
    assert_eq!(code, Some(0), "init did its work; a closed pipe is not a failure");
    assert!(t.dir.join(".neighbor.toml").exists());
    // The same for a command that prints data: `list | head` with head gone.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = t.cmd_in(&t.dir, &["list"]).stdout(writer.try_clone().unwrap()).stderr(writer).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
}

/// stderr on a full disk: `remove` removes (exit 0), `delta write` stores, no panic.
#[test]
fn full_stderr_does_not_undo_or_fail_finished_work() {
    let t = TestRepo::new();
    t.add("t1", &[]);
    let o = Out::from_output(t.cmd_in(&t.dir, &["remove", "t1"]).stderr(full()).output().unwrap());
    assert_eq!(o.code, 0, "remove with a full stderr");
    assert!(t.tenants_json().is_empty());
    let mut c = t.cmd_in(&t.dir, &["delta", "write", "--frame", "1", "--stream", "s"]);
    let mut child = c.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(full()).spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(br#"{"ops":[]}"#).unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(0));
    t.neighbor(&["delta", "show", "1/s"]).ok();
}

/// `run --timeout` with a full stderr still ends with 124, leaves its fallback delta and cleans up.
#[test]
fn run_timeout_with_full_stderr_still_leaves_fallback_and_cleans_up() {
    let t = TestRepo::new();
    let o = Out::from_output(
        t.cmd_in(&t.dir, &["run", "--frame", "1", "--stream", "s", "--timeout", "1s", "--", "sleep", "30"])
            .stderr(full())
            .output()
            .unwrap(),
    );
    assert_eq!(o.code, 124);
    let d = t.neighbor(&["delta", "show", "1/s"]).ok().json();
    assert_eq!(d["status"], "fallback", "{d}");
    assert!(t.tenants_json().is_empty(), "{:?}", t.tenants_json());
}
