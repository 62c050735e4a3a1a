//! All-or-nothing per delta: every kind of failure leaves the overlay
//! exactly as before, later deltas still apply, and concurrent-style
//! deltas accumulate.

use serde_json::{Value, json};

use super::{delta, json_at, source, text_at};
use crate::frames::delta::{ApplyError, Overlay};

const STATE: &str = r#"{"n": 1, "s": "str", "arr": [1, 2, 3], "obj": {"k": {"deep": [true]}}}"#;

/// Applies `ops` to a state with a JSON file, a text file and a broken
/// file, and checks that a failure leaves everything as it was.
fn apply_checked(ops: Value) -> Result<(), ApplyError> {
    let state = source(&[("s.json", STATE), ("log.txt", "one\ntwo"), ("broken.json", "{")]);
    let mut overlay = Overlay::new(&state);
    // Touch every file first, so rollback is compared against parsed state too.
    overlay
        .apply(&delta(json!({"ops": [
            {"op": "merge", "path": "s.json", "value": {"touched": true}},
            {"op": "append-lines", "path": "log.txt", "value": ["three"]}
        ]})))
        .unwrap();
    let changed_before = overlay.changed_files();
    let values_before = overlay.values();
    let result = overlay.apply(&delta(json!({ "ops": ops })));
    if result.is_err() {
        assert_eq!(overlay.changed_files(), changed_before);
        // Documents parsed before the delta hold exactly the same values.
        let values_after = overlay.values();
        for (path, value) in &values_before {
            assert_eq!(values_after.get(path), Some(value), "{path}");
        }
    }
    result
}

/// The first two ops succeed and touch three files; `third` is the one
/// that fails.
fn third_fails(third: Value) -> ApplyError {
    let err = apply_checked(json!([
        {"op": "set", "path": "s.json", "pointer": "/obj/k/new/x", "value": [1, 2]},
        {"op": "patch", "path": "s.json", "value": [
            {"op": "move", "from": "/arr/0", "path": "/obj/moved"},
            {"op": "remove", "path": "/n"},
            {"op": "add", "path": "/arr/-", "value": {"big": [1, 2, 3]}}
        ]},
        {"op": "append-lines", "path": "log.txt", "value": ["four"]},
        {"op": "merge", "path": "fresh.json", "value": {"a": 1}},
        third
    ]))
    .unwrap_err();
    assert_eq!(err.op_index(), 4, "{err}");
    err
}

#[test]
fn a_failing_op_undoes_the_whole_delta() {
    let failures = [
        json!({"op": "patch", "path": "s.json", "value": [{"op": "test", "path": "/s", "value": "other"}]}),
        json!({"op": "set", "path": "s.json", "pointer": "/s/x", "value": 1}),
        json!({"op": "incr", "path": "s.json", "pointer": "/s", "value": 1}),
        json!({"op": "append", "path": "s.json", "pointer": "/obj", "value": [1]}),
        json!({"op": "merge", "path": "broken.json", "value": {}}),
        json!({"op": "patch", "path": "s.json", "value": [{"op": "remove", "path": "/nope"}]}),
        json!({"op": "patch", "path": "s.json", "value": [{"op": "replace", "path": "/arr/9", "value": 1}]}),
        json!({"op": "patch", "path": "log.txt", "value": []}),
        json!({"op": "incr", "path": "fresh.json", "pointer": "/a/b", "value": 1}),
        json!({"op": "set", "path": "s.json", "pointer": "/arr/7", "value": 1}),
    ];
    for third in failures {
        let err = third_fails(third.clone());
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}

#[test]
fn a_failing_move_gives_its_value_back() {
    // The move removes /obj/k, then cannot add it under a missing parent;
    // the removed value must come back even though nothing was added.
    third_fails(json!({"op": "patch", "path": "s.json", "value": [
        {"op": "move", "from": "/obj/k", "path": "/missing/k"}
    ]}));
    third_fails(json!({"op": "patch", "path": "s.json", "value": [
        {"op": "move", "from": "/arr/1", "path": "/arr/5"}
    ]}));
    // A move that succeeded, then a later failure: the value is carried back.
    third_fails(json!({"op": "patch", "path": "s.json", "value": [
        {"op": "move", "from": "/obj/k", "path": "/arr/0"},
        {"op": "move", "from": "/arr/0", "path": "/obj/k2"},
        {"op": "move", "from": "/obj/k2", "path": ""},
        {"op": "test", "path": "/deep/0", "value": false}
    ]}));
}

#[test]
fn third_op_failure_leaves_overlay_unchanged() {
    let state = source(&[("stats.json", r#"{"runs": 1}"#)]);
    let mut overlay = Overlay::new(&state);
    let before = overlay.changed_files();
    let err = overlay
        .apply(&delta(json!({"ops": [
            {"op": "incr", "path": "stats.json", "pointer": "/runs", "value": 1},
            {"op": "set", "path": "other.json", "pointer": "/a", "value": 1},
            {"op": "incr", "path": "stats.json", "pointer": "", "value": 1}
        ]})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"ops[2] (incr state path "stats.json"): cannot increment an object at "": not a number"#
    );
    assert_eq!(overlay.changed_files(), before);
    assert_eq!(json_at(&mut overlay, "other.json"), None);
    assert_eq!(json_at(&mut overlay, "stats.json").unwrap(), json!({"runs": 1}));
}

#[test]
fn later_deltas_still_apply() {
    let state = source(&[("a.json", "{}")]);
    let mut overlay = Overlay::new(&state);
    let incr = |by: Value| delta(json!({"ops": [{"op": "incr", "path": "a.json", "pointer": "/n", "value": by}]}));
    overlay.apply(&incr(json!(1))).unwrap();
    assert!(
        overlay
            .apply(&delta(json!({"ops": [
                {"op": "incr", "path": "a.json", "pointer": "/n", "value": 100},
                {"op": "set", "path": "a.json", "pointer": "/n/x", "value": 1}
            ]})))
            .is_err()
    );
    overlay.apply(&incr(json!(2))).unwrap();
    assert_eq!(json_at(&mut overlay, "a.json").unwrap(), json!({"n": 3}));
}

#[test]
fn created_files_vanish_on_rollback() {
    let state = source(&[]);
    let mut overlay = Overlay::new(&state);
    let err = overlay.apply(&delta(json!({"ops": [
        {"op": "append-lines", "path": "new.log", "value": ["x"]},
        {"op": "merge", "path": "new.json", "value": {"a": 1}},
        {"op": "patch", "path": "p.json", "value": [{"op": "add", "path": "/a", "value": 1}]},
        {"op": "append", "path": "q.json", "pointer": "", "value": [1]},
        {"op": "append-lines", "path": "empty.log", "value": []},
        {"op": "patch", "path": "p.json", "value": [{"op": "test", "path": "/a", "value": 2}]}
    ]})));
    assert_eq!(err.unwrap_err().op_index(), 5);
    assert!(overlay.changed_files().is_empty());
    for p in ["new.log", "new.json", "p.json", "q.json", "empty.log"] {
        assert_eq!(text_at(&mut overlay, p), None, "{p}");
    }
}

#[test]
fn concurrent_style_deltas_accumulate() {
    let state = source(&[("shared.json", r#"{"count": 0, "seen": []}"#)]);
    let mut overlay = Overlay::new(&state);
    for writer in 0..8 {
        overlay
            .apply(&delta(json!({"meta": {"writer": writer}, "ops": [
                {"op": "incr", "path": "shared.json", "pointer": "/count", "value": 1},
                {"op": "append", "path": "shared.json", "pointer": "/seen", "value": [format!("w{writer}")]},
                {"op": "incr", "path": "shared.json", "pointer": "/per/total", "value": writer},
                {"op": "append-lines", "path": "events.jsonl", "value": [format!("{{\"writer\":{writer}}}")]}
            ]})))
            .unwrap();
    }
    let doc = json_at(&mut overlay, "shared.json").unwrap();
    assert_eq!(doc["count"], json!(8));
    assert_eq!(doc["seen"], json!(["w0", "w1", "w2", "w3", "w4", "w5", "w6", "w7"]));
    assert_eq!(doc["per"]["total"], json!(28));
    assert_eq!(text_at(&mut overlay, "events.jsonl").unwrap().lines().count(), 8);
}

#[test]
fn source_errors_reject_only_that_delta() {
    struct Flaky;
    impl crate::frames::delta::StateSource for Flaky {
        fn read(&self, rel: &crate::frames::delta::RelPath) -> std::io::Result<Option<Vec<u8>>> {
            if rel.as_str() == "bad.json" { Err(std::io::Error::other("disk on fire")) } else { Ok(None) }
        }
    }
    let mut overlay = Overlay::new(&Flaky);
    let err = overlay
        .apply(&delta(json!({"ops": [
            {"op": "set", "path": "ok.json", "pointer": "/a", "value": 1},
            {"op": "set", "path": "bad.json", "pointer": "/a", "value": 1}
        ]})))
        .unwrap_err();
    assert_eq!(err.to_string(), r#"ops[1] (set state path "bad.json"): cannot read state file: disk on fire"#);
    assert!(overlay.changed_files().is_empty());
}

#[test]
fn switching_between_text_and_json_rolls_back() {
    let state = source(&[("g.json", ""), ("s.json", r#"{"a": 1}"#)]);
    let mut overlay = Overlay::new(&state);
    overlay.apply(&delta(json!({"ops": [{"op": "set", "path": "s.json", "pointer": "/b", "value": 2}]}))).unwrap();
    let before = overlay.changed_files();
    let err = overlay.apply(&delta(json!({"ops": [
        // Text that becomes JSON, then is edited as JSON.
        {"op": "append-lines", "path": "g.json", "value": ["{}"]},
        {"op": "set", "path": "g.json", "pointer": "/a", "value": 1},
        // JSON that becomes text.
        {"op": "append-lines", "path": "s.json", "value": ["trailer"]},
        {"op": "incr", "path": "g.json", "pointer": "/a/b", "value": 1}
    ]})));
    assert_eq!(err.unwrap_err().op_index(), 3);
    assert_eq!(overlay.changed_files(), before);
    assert_eq!(text_at(&mut overlay, "g.json").unwrap(), "");
    assert_eq!(json_at(&mut overlay, "s.json").unwrap(), json!({"a": 1, "b": 2}));
    // And the same delta without the failing op applies.
    overlay
        .apply(&delta(json!({"ops": [
            {"op": "append-lines", "path": "g.json", "value": ["{}"]},
            {"op": "set", "path": "g.json", "pointer": "/a", "value": 1}
        ]})))
        .unwrap();
    assert_eq!(json_at(&mut overlay, "g.json").unwrap(), json!({"a": 1}));
}

/// Releasing every file hands out exactly what `changed_files` gives, the same bytes: a file only read
/// stays unchanged (even in non-canonical form), and so does one never touched.
#[test]
fn releasing_files_hands_out_exactly_the_changed_files() {
    let state = source(&[("a.json", r#"{"n": 1}"#), ("b.json", "{\"n\": 1}\n"), ("c.json", r#"{ "x" : 2 }"#)]);
    let ops = json!({"ops": [
        {"op": "incr", "path": "a.json", "pointer": "/n", "value": 2},
        {"op": "merge", "path": "b.json", "value": {"k": [1, 2]}},
        {"op": "patch", "path": "c.json", "value": [{"op": "test", "path": "/x", "value": 2}]}
    ]});
    let mut kept = Overlay::new(&state);
    kept.apply(&delta(ops.clone())).unwrap();
    let mut released = Overlay::new(&state);
    released.apply(&delta(ops)).unwrap();
    let mut out = Vec::new();
    for f in ["a.json", "b.json", "c.json", "absent.json"] {
        if let Some(bytes) = released.release(&super::rel(f)) {
            out.push((super::rel(f), bytes));
        }
    }
    assert_eq!(out, kept.changed_files());
    assert_eq!(out.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["a.json", "b.json"]);
    assert!(released.changed_files().is_empty());
}
