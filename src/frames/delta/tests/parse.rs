//! `parse_delta`: limits, top-level shape, per-op validation messages, and
//! the serde round trip.

use serde_json::{Value, json};

use super::{delta, refusal};
use crate::frames::delta::{Delta, DeltaError, Limits, MAX_DEPTH, Op, parse_delta};

#[test]
fn accepts_every_op_and_defaults_meta() {
    let d = delta(json!({"ops": [
        {"op": "merge", "path": "a.json", "value": {"x": null}},
        {"op": "patch", "path": "a.json", "value": [
            {"op": "add", "path": "/a", "value": 1},
            {"op": "remove", "path": "/a"},
            {"op": "replace", "path": "", "value": {}},
            {"op": "move", "from": "/a", "path": "/b"},
            {"op": "copy", "from": "/b", "path": "/a"},
            {"op": "test", "path": "/a", "value": null}
        ]},
        {"op": "set", "path": "a.json", "pointer": "/p", "value": 1},
        {"op": "append", "path": "a.json", "pointer": "/l", "value": []},
        {"op": "incr", "path": "a.json", "pointer": "/n", "value": -1.5},
        {"op": "append-lines", "path": "log.jsonl", "value": ["a", ""]}
    ]}));
    assert_eq!(d.ops.len(), 6);
    assert_eq!(d.meta, json!({}));
    let names: Vec<&str> = d.ops.iter().map(Op::name).collect();
    assert_eq!(names, ["merge", "patch", "set", "append", "incr", "append-lines"]);
    assert_eq!(d.ops[5].path().as_str(), "log.jsonl");
}

#[test]
fn round_trips_through_serde() {
    let input = json!({"meta": {"author": "x", "n": [1]}, "ops": [
        {"op": "merge", "path": "a.json", "value": {"x": null}},
        {"op": "patch", "path": "a.json", "value": [
            {"op": "move", "from": "/a~1b", "path": "/c~0"},
            {"op": "test", "path": "/c~0", "value": 1}
        ]},
        {"op": "set", "path": "a.json", "pointer": "", "value": 1},
        {"op": "append", "path": "a.json", "pointer": "/l", "value": [1, "2"]},
        {"op": "incr", "path": "a.json", "pointer": "/n", "value": 3},
        {"op": "append-lines", "path": "log.jsonl", "value": ["a"]}
    ]});
    let parsed = delta(input.clone());
    let back = serde_json::to_value(&parsed).unwrap();
    assert_eq!(back, input);
    // Deserializing directly goes through the same validation.
    let direct: Delta = serde_json::from_value(input).unwrap();
    assert_eq!(direct, parsed);
    let bad = serde_json::from_value::<Delta>(json!({"ops": [
        {"op": "set", "path": "../x", "pointer": "/a", "value": 1}
    ]}));
    assert!(bad.is_err());
    let bad = serde_json::from_value::<Delta>(json!({"ops": [], "extra": 1}));
    assert!(bad.is_err());
}

#[test]
fn limits() {
    let small = Limits { max_bytes: 10, max_ops: 1 };
    assert_eq!(parse_delta(br#"{"ops": [], "meta": {}}"#, &small), Err(DeltaError::TooLarge { size: 23, max: 10 }));
    let two =
        br#"{"ops":[{"op":"incr","path":"a","pointer":"","value":1},{"op":"incr","path":"a","pointer":"","value":1}]}"#;
    let limits = Limits { max_bytes: 1000, max_ops: 1 };
    assert_eq!(parse_delta(two, &limits), Err(DeltaError::TooManyOps { count: 2, max: 1 }));
    assert_eq!(Limits::default().max_bytes, 1024 * 1024);
    assert_eq!(Limits::default().max_ops, 10_000);
}

#[test]
fn top_level_errors() {
    let limits = Limits::default();
    let msg = |bytes: &[u8]| parse_delta(bytes, &limits).unwrap_err().to_string();
    assert_eq!(msg(b""), "delta is not valid JSON: EOF while parsing a value at line 1 column 0");
    assert_eq!(msg(b"[]"), "delta must be a JSON object, found an array");
    assert_eq!(msg(b"{}"), "delta has no \"ops\" array");
    assert_eq!(msg(br#"{"ops": {}}"#), "delta \"ops\" must be an array, found an object");
    assert_eq!(msg(br#"{"ops": [], "opz": 1}"#), "delta has unknown top-level key \"opz\" (allowed: ops, meta)");
    assert_eq!(msg(b"\xff"), "delta is not valid JSON: expected value at line 1 column 1");
    assert!(parse_delta(br#"{"ops": [], "meta": null}"#, &limits).is_ok());
}

#[test]
fn op_errors_point_at_the_op() {
    let pad = json!({"op": "incr", "path": "ok.json", "pointer": "/n", "value": 1});
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"op": "incr", "path": "stats.json", "pointer": "/n", "value": "1"}),
            r#" (incr state path "stats.json"): value must be a number"#,
        ),
        (json!(5), ": op must be a JSON object, found a number"),
        (json!({"path": "a.json"}), r#" (state path "a.json"): missing "op" field"#),
        (json!({"op": 1}), r#": "op" must be a string, found a number"#),
        (
            json!({"op": "frob", "path": "a.json"}),
            r#" (frob state path "a.json"): unknown op; expected one of merge, patch, set, append, incr, append-lines"#,
        ),
        (
            json!({"op": "merge", "path": "a.json", "value": {}, "pointer": "/x"}),
            r#" (merge state path "a.json"): unknown field "pointer" (allowed: op, path, value)"#,
        ),
        (json!({"op": "set", "path": "a.json", "value": 1}), r#" (set state path "a.json"): missing field "pointer""#),
        (json!({"op": "merge", "value": 1}), r#" (merge): missing field "path""#),
        (json!({"op": "merge", "path": 7, "value": 1}), " (merge): path must be a string, found a number"),
        (
            json!({"op": "merge", "path": "../x", "value": 1}),
            r#" (merge state path "../x"): invalid path: path contains a '..' component"#,
        ),
        (
            json!({"op": "set", "path": "a.json", "pointer": "a", "value": 1}),
            r#" (set state path "a.json"): invalid pointer: JSON pointer must be empty or start with '/'"#,
        ),
        (
            json!({"op": "set", "path": "a.json", "pointer": "/a~", "value": 1}),
            r#" (set state path "a.json"): invalid pointer: JSON pointer has an invalid escape at byte 2 ('~' must be followed by '0' or '1')"#,
        ),
        (
            json!({"op": "append", "path": "a.json", "pointer": "/l", "value": 1}),
            r#" (append state path "a.json"): value must be an array of items to append, found a number"#,
        ),
        (
            json!({"op": "patch", "path": "a.json", "value": {}}),
            r#" (patch state path "a.json"): value must be an array of JSON Patch operations, found an object"#,
        ),
        (
            json!({"op": "patch", "path": "a.json", "value": [{"op": "add", "path": "/a"}]}),
            r#" (patch state path "a.json"): value[0]: missing field "value" in add"#,
        ),
        (
            json!({"op": "patch", "path": "a.json", "value": [{"op": "remove", "path": ""}]}),
            r#" (patch state path "a.json"): value[0]: cannot remove the whole document"#,
        ),
        (
            json!({"op": "patch", "path": "a.json", "value": [{"op": "move", "from": "/a", "path": "/a/b"}]}),
            r#" (patch state path "a.json"): value[0]: cannot move a value into one of its own children"#,
        ),
        (
            json!({"op": "patch", "path": "a.json", "value": [{"op": "swap", "path": "/a"}]}),
            r#" (patch state path "a.json"): value[0]: unknown patch op "swap"; expected one of add, remove, replace, move, copy, test"#,
        ),
        (
            json!({"op": "patch", "path": "a.json", "value": [{"op": "copy", "from": 1, "path": "/a"}]}),
            r#" (patch state path "a.json"): value[0]: from must be a string, found a number"#,
        ),
        (
            json!({"op": "append-lines", "path": "l.txt", "value": ["ok", "a\nb"]}),
            r#" (append-lines state path "l.txt"): value[1] contains a line break (\n or \r)"#,
        ),
        (
            json!({"op": "append-lines", "path": "l.txt", "value": ["a\rb"]}),
            r#" (append-lines state path "l.txt"): value[0] contains a line break (\n or \r)"#,
        ),
        (
            json!({"op": "append-lines", "path": "l.txt", "value": ["a", 1]}),
            r#" (append-lines state path "l.txt"): value[1] must be a string, found a number"#,
        ),
    ];
    for (op, want) in cases {
        let msg = refusal(json!({"ops": [pad.clone(), pad.clone(), pad.clone(), op]}));
        assert_eq!(msg, format!("ops[3]{want}"));
        assert!(!msg.contains('\n'));
    }
}

#[test]
fn long_or_odd_echoes_are_clipped_and_escaped() {
    let long = "x".repeat(5000);
    let msg = refusal(json!({"ops": [{"op": long, "path": "a\u{1}b"}]}));
    assert!(msg.len() < 400, "{msg}");
    assert!(msg.contains(r#"state path "a\u{1}b""#), "{msg}");
    assert!(!msg.contains('\n'));
}

#[test]
fn depth_is_checked_when_written() {
    let mut deep = json!(1);
    // The delta's own wrapping takes 3 levels of what serde_json will parse.
    for _ in 0..MAX_DEPTH - 3 {
        deep = json!([deep]);
    }
    // Fits at the root and three levels down, not four.
    let ok = json!({"ops": [{"op": "set", "path": "a.json", "pointer": "", "value": deep}]});
    let _ = delta(ok);
    let _ = delta(json!({"ops": [{"op": "set", "path": "a.json", "pointer": "/a/b/c", "value": deep}]}));
    let msg = refusal(json!({"ops": [{"op": "set", "path": "a.json", "pointer": "/a/b/c/d", "value": deep}]}));
    assert!(msg.ends_with("result would nest containers more than 127 levels deep"), "{msg}");
    let msg = refusal(json!({"ops": [{"op": "append", "path": "a.json", "pointer": "/a/b/c/d", "value": deep}]}));
    assert!(msg.contains("more than 127 levels"), "{msg}");
}
