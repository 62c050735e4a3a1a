//! Output format: byte-exact canonical JSON, key order, determinism, and
//! which files count as changed.

use serde_json::json;

use super::{delta, rel, source};
use crate::frames::delta::{Delta, Overlay};

#[test]
fn canonical_pretty_json_bytes() {
    let state = source(&[]);
    let mut overlay = Overlay::new(&state);
    overlay
        .apply(&delta(json!({"ops": [{"op": "merge", "path": "out.json", "value": {
            "zeta": 1, "alpha": {"c": [1, 2.5, "s"], "b": {}, "a": []}, "mid": "é\n\"q\"", "t": true
        }}]})))
        .unwrap();
    let changed = overlay.changed_files();
    assert_eq!(changed.len(), 1);
    let want = "{\n  \"alpha\": {\n    \"a\": [],\n    \"b\": {},\n    \"c\": [\n      1,\n      2.5,\n      \"s\"\n    ]\n  },\n  \"mid\": \"é\\n\\\"q\\\"\",\n  \"t\": true,\n  \"zeta\": 1\n}\n";
    assert_eq!(String::from_utf8(changed[0].1.clone()).unwrap(), want);
}

#[test]
fn scalar_and_array_documents() {
    let state = source(&[]);
    let mut overlay = Overlay::new(&state);
    overlay
        .apply(&delta(json!({"ops": [
            {"op": "set", "path": "n.json", "pointer": "", "value": 3},
            {"op": "append", "path": "l.json", "pointer": "", "value": [1, {"b": 2, "a": 1}]}
        ]})))
        .unwrap();
    let changed = overlay.changed_files();
    assert_eq!(changed[0].0, rel("l.json"));
    assert_eq!(changed[0].1, b"[\n  1,\n  {\n    \"a\": 1,\n    \"b\": 2\n  }\n]\n");
    assert_eq!(changed[1].0, rel("n.json"));
    assert_eq!(changed[1].1, b"3\n");
}

#[test]
fn only_changed_files_are_reported() {
    let canonical = "{\n  \"a\": 1\n}\n";
    let state = source(&[
        ("canon.json", canonical),
        ("compact.json", r#"{"a":1}"#),
        ("noop.json", r#"{"a":1}"#),
        ("read-only.json", r#"{"a":1}"#),
        ("t.txt", "x"),
    ]);
    let mut overlay = Overlay::new(&state);
    overlay
        .apply(&delta(json!({"ops": [
            {"op": "merge", "path": "canon.json", "value": {"a": 2}},
            {"op": "set", "path": "canon.json", "pointer": "/a", "value": 1},
            {"op": "merge", "path": "compact.json", "value": {"b": 2}},
            {"op": "merge", "path": "noop.json", "value": {"a": 1}},
            {"op": "patch", "path": "read-only.json", "value": [{"op": "test", "path": "/a", "value": 1}]},
            {"op": "append-lines", "path": "t.txt", "value": []}
        ]})))
        .unwrap();
    let changed = overlay.changed_files();
    // canon.json went back to identical bytes; noop.json and read-only.json
    // keep their non-canonical source bytes because their values are equal.
    let names: Vec<&str> = changed.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(names, ["compact.json"]);
    assert_eq!(changed[0].1, b"{\n  \"a\": 1,\n  \"b\": 2\n}\n");
}

#[test]
fn same_inputs_give_same_bytes() {
    let state = source(&[("s.json", r#"{"b": [3], "a": {"x": 1}}"#), ("l.txt", "q")]);
    let deltas: Vec<Delta> = (0..20)
        .map(|i| {
            delta(json!({"ops": [
                {"op": "incr", "path": "s.json", "pointer": format!("/k{}", i % 3), "value": i},
                {"op": "merge", "path": "s.json", "value": {"a": {format!("y{i}"): i}}},
                {"op": "append-lines", "path": "l.txt", "value": [format!("line {i}")]},
                {"op": "patch", "path": "s.json", "value": [{"op": "test", "path": "/b/0", "value": if i % 4 == 0 { 0 } else { 3 }}]}
            ]}))
        })
        .collect();
    let run = || {
        let mut overlay = Overlay::new(&state);
        let outcomes: Vec<bool> = deltas.iter().map(|d| overlay.apply(d).is_ok()).collect();
        (outcomes, overlay.changed_files())
    };
    let first = run();
    assert_eq!(first, run());
    assert_eq!(first.0.iter().filter(|ok| !**ok).count(), 5);
}
