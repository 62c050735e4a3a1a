//! `mcp`: the real binary as an MCP server, driven by a hand-written client speaking newline-delimited
//! JSON-RPC 2.0 over its stdin and stdout, on real repositories.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};

use crate::common::*;

/// A live MCP session with `git neighbor mcp`.
struct Session {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
    next_id: u64,
    /// Every line the server wrote on stdout, to check that nothing but JSON-RPC went there.
    seen: Vec<String>,
}

impl Session {
    fn start(t: &TestRepo, dir: &Path, env: &[(&str, &str)]) -> Session {
        let mut c = t.cmd_in(dir, &["mcp"]);
        c.envs(env.iter().copied()).stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut err = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut s = String::new();
            let _ = err.read_to_string(&mut s);
            s
        });
        let stdin = child.stdin.take();
        Session { child, stdin, lines, stderr, next_id: 1, seen: Vec::new() }
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().unwrap();
        stdin.write_all(line.as_bytes()).unwrap();
        stdin.write_all(b"\n").unwrap();
        stdin.flush().unwrap();
    }

    fn send(&mut self, v: &Value) {
        self.send_line(&v.to_string());
    }

    /// The next message from the server (a hang guard, not a timing assertion: a server that answers
    /// nothing in five minutes is broken).
    fn recv(&mut self) -> Value {
        let line = self.lines.recv_timeout(Duration::from_secs(300)).expect("the server answered");
        self.seen.push(line.clone());
        let v: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON on stdout ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
        v
    }

    /// Wait for the response with this id (skipping notifications).
    fn response(&mut self, id: &Value) -> Value {
        loop {
            let v = self.recv();
            if v.get("method").is_none() && &v["id"] == id {
                return v;
            }
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = json!(self.next_id);
        self.next_id += 1;
        self.send(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        self.response(&id)
    }

    fn initialize(&mut self) -> Value {
        let r = self.request(
            "initialize",
            json!({"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}),
        );
        self.send(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"}));
        r
    }

    /// `tools/call`: the result object (a JSON-RPC error fails the test).
    fn call(&mut self, tool: &str, args: Value) -> Value {
        let r = self.request("tools/call", json!({"name": tool, "arguments": args}));
        assert!(r.get("error").is_none(), "{tool}: JSON-RPC error {r}");
        r["result"].clone()
    }

    /// A successful call's value: the JSON of its text content (the command's `--json` output).
    fn ok(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args);
        assert_eq!(r["isError"], false, "{tool}: {r}");
        let v = text_json(&r);
        if v.is_object() {
            assert_eq!(r["structuredContent"], v, "{tool}: structured content is the same value");
        }
        v
    }

    /// A failed call's error object `{code, kind, message, hints, …}`.
    fn err(&mut self, tool: &str, args: Value) -> Value {
        let r = self.call(tool, args);
        assert_eq!(r["isError"], true, "{tool}: {r}");
        let v = text_json(&r);
        assert_eq!(r["structuredContent"], v);
        assert_eq!(v["schema_version"], 1);
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
        assert!(v["hints"].is_array(), "{v}");
        v
    }

    /// Close stdin (end of input) and return the exit code and stderr.
    fn finish(mut self) -> (i32, String, Vec<String>) {
        drop(self.stdin.take());
        // Whatever the server still writes is read, and must be protocol too.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(300)) {
            self.seen.push(line);
        }
        let status = self.child.wait().unwrap();
        let stderr = self.stderr.join().unwrap();
        (status.code().unwrap_or(-1), stderr, self.seen)
    }
}

fn text_json(result: &Value) -> Value {
    let content = result["content"].as_array().expect("content");
    assert_eq!(content.len(), 1, "{result}");
    assert_eq!(content[0]["type"], "text");
    let text = content[0]["text"].as_str().unwrap();
    serde_json::from_str(text).unwrap_or_else(|e| panic!("text content is not JSON ({e}): {text}"))
}

fn worktree_paths(t: &TestRepo) -> Vec<PathBuf> {
    t.linked_worktrees()
}

fn commit_in(t: &TestRepo, p: &Path, file: &str, body: &str) {
    write_in(p, file, body);
    t.git_in(p, &["add", file]);
    t.git_in(p, &["commit", "-q", "-m", &format!("edit {file}")]);
}

/// Every tool over one session on a real repository, then end of input ends the server with 0.
#[test]
fn mcp_session_drives_every_tool() {
    let t = TestRepo::new();
    t.write("state/stats.json", "{\"runs\": 0}\n");
    t.git(&["add", "-A"]);
    t.git(&["commit", "-q", "-m", "stats"]);
    let mut s = Session::start(&t, &t.dir, &[]);

    let init = s.initialize();
    assert_eq!(init["result"]["serverInfo"]["name"], "git-neighbor", "{init}");
    assert!(init["result"]["capabilities"]["tools"].is_object(), "{init}");

    // tools/list: all nine, each with an object input schema naming its required arguments.
    let list = s.request("tools/list", json!({}));
    let tools = list["result"]["tools"].as_array().unwrap().clone();
    let names: Vec<&str> = tools.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["add", "list", "status", "remove", "run", "delta_write", "merge_frame", "land", "rescue_list"]);
    for tool in &tools {
        assert_eq!(tool["inputSchema"]["type"], "object", "{tool}");
        assert!(tool["description"].as_str().is_some_and(|d| !d.is_empty()), "{tool}");
    }
    let required =
        |name: &str| -> Value { tools.iter().find(|t| t["name"] == name).unwrap()["inputSchema"]["required"].clone() };
    assert_eq!(required("add"), json!(["name"]));
    assert_eq!(required("run"), json!(["cmd"]));
    assert_eq!(required("land"), json!(["name"]));

    // add: a tenant git knows about.
    let a = s.ok("add", json!({"name": "mcp-a"}));
    assert_eq!(a["schema_version"], 1);
    assert_eq!(a["name"], "mcp-a");
    let a_path = PathBuf::from(a["path"].as_str().unwrap());
    assert!(worktree_paths(&t).contains(&a_path), "{:?} not in git worktree list", a_path);

    // list and status see it; list is the command's own --json.
    let rows = s.ok("list", json!({}));
    let cli_rows = t.neighbor(&["list", "--json"]).ok().json();
    let names = |v: &Value| -> Vec<String> {
        v.as_array().unwrap().iter().filter_map(|r| r["name"].as_str().map(String::from)).collect()
    };
    assert_eq!(names(&rows), ["mcp-a"]);
    assert_eq!(names(&rows), names(&cli_rows));
    let st = s.ok("status", json!({}));
    assert_eq!(st["tenants"]["total"], 1, "{st}");
    assert_eq!(st["tenants"]["active"], 1, "{st}");

    // land, with a test that prints on stdout: its output must not reach the protocol channel.
    commit_in(&t, &a_path, "feature.txt", "new\n");
    let landed = s.ok("land", json!({"name": "mcp-a", "test": "echo noise-from-the-test; test -f feature.txt"}));
    assert_eq!(landed["into"], "main");
    assert_eq!(landed["removed"], true);
    assert_eq!(t.git(&["rev-parse", "main"]), landed["new"].as_str().unwrap());
    assert_eq!(std::fs::read_to_string(t.dir.join("feature.txt")).unwrap(), "new\n");
    assert!(!worktree_paths(&t).contains(&a_path));

    // delta_write stores a delta; merge_frame merges it into main.
    let delta = json!({"ops": [{"op": "incr", "path": "stats.json", "pointer": "/runs", "value": 1}]});
    let slot = s.ok("delta_write", json!({"frame": 1, "stream": "s1", "delta": delta}));
    assert_eq!((slot["frame"].clone(), slot["stream"].clone()), (json!(1), json!("s1")));
    assert_eq!(t.git(&["rev-parse", "refs/neighbor/deltas/1/s1"]), slot["blob"].as_str().unwrap());
    // The same slot again is refused (exit 3 as a result), and nothing changes.
    let again = s.err("delta_write", json!({"frame": 1, "stream": "s1", "delta": delta}));
    assert_eq!((again["code"].clone(), again["kind"].clone()), (json!(3), json!("refused")), "{again}");
    let merged = s.ok("merge_frame", json!({"frame": 1, "expect": ["s1"]}));
    assert_eq!(merged["frame"], 1, "{merged}");
    assert_eq!(merged["streams"][0]["status"], "applied", "{merged}");
    let stats: Value = serde_json::from_str(&t.git(&["show", "main:state/stats.json"])).unwrap();
    assert_eq!(stats["runs"], 1);
    assert!(t.git_out(&t.dir, &["rev-parse", "--verify", "-q", "refs/neighbor/deltas/1/s1"]).code != 0);

    // A refusal: remove a tenant holding uncommitted work gives code 3 and leaves it in place.
    let b = s.ok("add", json!({"name": "mcp-b"}));
    let b_path = PathBuf::from(b["path"].as_str().unwrap());
    write_in(&b_path, "wip.txt", "unsaved\n");
    let refused = s.err("remove", json!({"name": "mcp-b"}));
    assert_eq!(refused["code"], 3, "{refused}");
    assert_eq!(refused["kind"], "refused", "{refused}");
    assert!(!refused["hints"].as_array().unwrap().is_empty(), "a refusal says what to do: {refused}");
    assert!(b_path.join("wip.txt").exists());
    assert!(worktree_paths(&t).contains(&b_path));
    // So is adding a name that exists.
    let dup = s.err("add", json!({"name": "mcp-b"}));
    assert_ne!(dup["code"], 0, "{dup}");
    // Bad arguments are a usage error (2), not a crash.
    let bad = s.err("add", json!({"name": 5}));
    assert_eq!((bad["code"].clone(), bad["kind"].clone()), (json!(2), json!("usage")), "{bad}");

    // remove --force saves the work; rescue_list shows it.
    let removed = s.ok("remove", json!({"name": "mcp-b", "force": true}));
    let rescue = removed["rescue"].as_str().expect("a rescue ref").to_string();
    assert!(!worktree_paths(&t).contains(&b_path));
    let rescues = s.ok("rescue_list", json!({}));
    let rescues = rescues.as_array().unwrap();
    assert_eq!(rescues.len(), 1, "{rescues:?}");
    assert_eq!(t.branches("refs/neighbor/rescue/").len(), 1);
    assert!(rescue.ends_with(rescues[0]["id"].as_str().unwrap()), "{rescue} vs {rescues:?}");

    // run: captured output and exit code, in an ephemeral tenant that is gone afterwards.
    let r = s.ok("run", json!({"cmd": ["sh", "-c", "echo out; echo err >&2; exit 7"]}));
    assert_eq!(r["exit_code"], 7, "{r}");
    assert_eq!(r["timed_out"], false, "{r}");
    assert!(r["output"].as_str().unwrap().contains("out\nerr\n"), "both streams, in order: {r}");
    assert_eq!(r["run"]["exit"], 7, "{r}");
    assert_eq!(r["run"]["tenant"], "removed", "{r}");
    assert!(r["run"]["name"].as_str().unwrap().starts_with("run-"), "{r}");
    // Output is capped to its last bytes.
    let big = s
        .ok("run", json!({"cmd": ["sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x; echo END"], "max_output": 1000}));
    assert!(big["output_bytes"].as_u64().unwrap() >= 100_004, "{}", big["output_bytes"]);
    assert_eq!(big["output_truncated"], true);
    assert_eq!(big["output"].as_str().unwrap().len(), 1000);
    assert!(big["output"].as_str().unwrap().contains("xxxEND\n"), "{}", big["output"]);
    // The timeout ends it: exit 124.
    let slow = s.ok("run", json!({"cmd": ["sleep", "600"], "timeout": "1s"}));
    assert_eq!(slow["exit_code"], 124, "{slow}");
    assert_eq!(slow["timed_out"], true, "{slow}");
    // A timeout beyond the bound is refused as usage, before anything runs.
    let long = s.err("run", json!({"cmd": ["true"], "timeout": "2h"}));
    assert_eq!(long["code"], 2, "{long}");
    let huge = s.err("run", json!({"cmd": ["true"], "max_output": 1u64 << 40}));
    assert_eq!(huge["code"], 2, "{huge}");
    // An invalid tenant name is refused before anything runs; git neighbor run's own errors (here an
    // invalid stream name) come back as errors too, not as the command's exit code.
    let badname = s.err("run", json!({"cmd": ["true"], "name": "-x"}));
    assert_eq!(badname["code"], 2, "{badname}");
    let badstream = s.err("run", json!({"cmd": ["true"], "stream": "-x"}));
    assert_eq!((badstream["code"].clone(), badstream["kind"].clone()), (json!(2), json!("usage")), "{badstream}");
    assert!(badstream["message"].as_str().unwrap().contains("stream"), "{badstream}");
    assert!(t.registry_names().is_empty(), "run's tenants are gone: {:?}", t.registry_names());

    let (code, stderr, seen) = s.finish();
    assert_eq!(code, 0, "end of input ends the server cleanly\n{stderr}");
    assert!(stderr.contains("noise-from-the-test"), "a child's stdout goes to stderr:\n{stderr}");
    for line in &seen {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON-RPC on stdout ({e}): {line}"));
        assert_eq!(v["jsonrpc"], "2.0", "{line}");
    }
}

/// Protocol errors are JSON-RPC errors and the session goes on; a panicking tool is a tool error.
#[test]
fn mcp_protocol_errors_and_a_panicking_tool_leave_the_session_alive() {
    let t = TestRepo::new();
    let mut s =
        Session::start(&t, &t.dir, &[("NEIGHBOR_FAILPOINT", "mcp-tool#1"), ("NEIGHBOR_FAILPOINT_ACTION", "panic")]);
    s.initialize();

    // The first tool call panics inside the tool: an error result, and the server lives on.
    let p = s.err("status", json!({}));
    assert_eq!(p["code"], 1, "{p}");
    assert!(p["message"].as_str().unwrap().contains("panicked"), "{p}");
    assert_eq!(s.ok("status", json!({}))["tenants"]["total"], 0);

    // An unknown tool: a JSON-RPC error (invalid params) for that id.
    let r = s.request("tools/call", json!({"name": "no_such_tool", "arguments": {}}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    // An unknown method.
    let r = s.request("no/such/method", json!({}));
    assert!(r["error"]["code"].as_i64().is_some(), "{r}");
    // A line that is not JSON is dropped; valid JSON that is not a JSON-RPC message gets "invalid request".
    s.send_line("this is not json");
    s.send_line(r#"{"jsonrpc": "2.0", "id": {"not": "an id"}, "method": 5}"#);
    let r = s.recv();
    assert_eq!(r["error"]["code"], -32600, "{r}");
    // tools/call without a name.
    let r = s.request("tools/call", json!({"arguments": {}}));
    assert!(r["error"]["code"].as_i64().is_some(), "{r}");

    // Still serving.
    let a = s.ok("add", json!({"name": "after-errors"}));
    assert!(t.linked_worktrees().contains(&PathBuf::from(a["path"].as_str().unwrap())));
    let (code, stderr, _) = s.finish();
    assert_eq!(code, 0, "{stderr}");
}

/// End of input before anything was asked: exit 0, nothing on stdout.
#[test]
fn mcp_eof_before_initialize_exits_zero() {
    let t = TestRepo::new();
    let s = Session::start(&t, &t.dir, &[]);
    let (code, stderr, seen) = s.finish();
    assert_eq!(code, 0, "{stderr}");
    assert!(seen.is_empty(), "{seen:?}");
}

/// A run in progress does not hold up other tools: the run waits for a file that the client creates only
/// after another call has been answered.
#[test]
fn mcp_other_tools_answer_while_a_run_is_in_progress() {
    let t = TestRepo::new();
    let mut s = Session::start(&t, &t.dir, &[]);
    s.initialize();
    let flag = t.root.join("go");
    let wait = format!("while [ ! -e '{}' ]; do sleep 0.05; done; echo released", flag.display());
    let run_id = json!(1000);
    s.send(&json!({"jsonrpc": "2.0", "id": run_id, "method": "tools/call",
        "params": {"name": "run", "arguments": {"cmd": ["sh", "-c", wait], "timeout": "10m"}}}));
    let a = s.ok("add", json!({"name": "meanwhile"}));
    assert_eq!(a["name"], "meanwhile");
    std::fs::write(&flag, "").unwrap();
    let r = s.response(&run_id);
    let r = text_json(&r["result"]);
    assert_eq!(r["exit_code"], json!(0), "{r}");
    assert!(r["output"].as_str().unwrap().contains("released\n"), "{r}");
    let (code, stderr, _) = s.finish();
    assert_eq!(code, 0, "{stderr}");
}
