//! `set`, `append`, `incr` and `append-lines`: normal behaviour, creation
//! of what is absent, and the type errors each can meet.

use serde_json::{Value, json};

use super::{delta, json_at, source, text_at};
use crate::frames::delta::Overlay;

/// Applies one op (given as JSON) to a state holding `files`; returns the
/// overlay's view of `path` afterwards, or the error message.
fn run(files: &[(&str, &str)], op: Value, path: &str) -> Result<Option<String>, String> {
    let state = source(files);
    let mut overlay = Overlay::new(&state);
    overlay.apply(&delta(json!({"ops": [op]}))).map_err(|e| e.to_string())?;
    Ok(text_at(&mut overlay, path))
}

fn run_json(files: &[(&str, &str)], op: Value) -> Result<Value, String> {
    let text = run(files, op, "s.json")?.ok_or("file absent")?;
    Ok(serde_json::from_str(&text).unwrap())
}

#[test]
fn set_creates_objects_on_the_way() {
    let got = run_json(&[], json!({"op": "set", "path": "s.json", "pointer": "/a/b/c", "value": 1}));
    assert_eq!(got.unwrap(), json!({"a": {"b": {"c": 1}}}));
    let got = run_json(
        &[("s.json", r#"{"a": {"x": 0}}"#)],
        json!({"op": "set", "path": "s.json", "pointer": "/a/b/c", "value": [1]}),
    );
    assert_eq!(got.unwrap(), json!({"a": {"x": 0, "b": {"c": [1]}}}));
}

#[test]
fn set_replaces_and_handles_arrays_and_root() {
    let files = [("s.json", r#"{"a": [10, 20], "k": "v"}"#)];
    let got = run_json(&files, json!({"op": "set", "path": "s.json", "pointer": "/k", "value": {"n": null}}));
    assert_eq!(got.unwrap(), json!({"a": [10, 20], "k": {"n": null}}));
    let got = run_json(&files, json!({"op": "set", "path": "s.json", "pointer": "/a/1", "value": 2}));
    assert_eq!(got.unwrap(), json!({"a": [10, 2], "k": "v"}));
    let got = run_json(&files, json!({"op": "set", "path": "s.json", "pointer": "/a/-", "value": 30}));
    assert_eq!(got.unwrap(), json!({"a": [10, 20, 30], "k": "v"}));
    let got = run_json(&files, json!({"op": "set", "path": "s.json", "pointer": "/a/-/x", "value": 1}));
    assert_eq!(got.unwrap(), json!({"a": [10, 20, {"x": 1}], "k": "v"}));
    let got = run_json(&files, json!({"op": "set", "path": "s.json", "pointer": "", "value": [true]}));
    assert_eq!(got.unwrap(), json!([true]));
    let got = run_json(&[], json!({"op": "set", "path": "s.json", "pointer": "", "value": "x"}));
    assert_eq!(got.unwrap(), json!("x"));
}

#[test]
fn set_errors() {
    let files = [("s.json", r#"{"a": [10, 20], "k": "v", "z": null}"#)];
    let cases = [
        ("/a/2", r#"index 2 is out of bounds for the array at "/a" (length 2)"#),
        ("/a/x", r#""x" is not an index into the array at "/a""#),
        ("/k/x", r#"cannot look inside a string at "/k""#),
        ("/z/x", r#"cannot look inside null at "/z""#),
    ];
    for (pointer, want) in cases {
        let err = run_json(&files, json!({"op": "set", "path": "s.json", "pointer": pointer, "value": 1})).unwrap_err();
        assert_eq!(err, format!(r#"ops[0] (set state path "s.json"): {want}"#));
    }
}

#[test]
fn append_items() {
    let got = run_json(&[], json!({"op": "append", "path": "s.json", "pointer": "/log/entries", "value": [1, 2]}));
    assert_eq!(got.unwrap(), json!({"log": {"entries": [1, 2]}}));
    let got = run_json(
        &[("s.json", r#"{"l": [0]}"#)],
        json!({"op": "append", "path": "s.json", "pointer": "/l", "value": [1, {"a": 2}]}),
    );
    assert_eq!(got.unwrap(), json!({"l": [0, 1, {"a": 2}]}));
    let got = run_json(&[], json!({"op": "append", "path": "s.json", "pointer": "", "value": [1]}));
    assert_eq!(got.unwrap(), json!([1]));
    let err = run_json(
        &[("s.json", r#"{"l": {}}"#)],
        json!({"op": "append", "path": "s.json", "pointer": "/l", "value": [1]}),
    )
    .unwrap_err();
    assert_eq!(err, r#"ops[0] (append state path "s.json"): cannot append to an object at "/l": not an array"#);
}

#[test]
fn incr_numbers() {
    let files = [("s.json", r#"{"i": 5, "f": 1.5, "s": "x", "big": 18446744073709551615}"#)];
    let incr = |pointer: &str, value: Value| {
        run_json(&files, json!({"op": "incr", "path": "s.json", "pointer": pointer, "value": value}))
    };
    assert_eq!(incr("/i", json!(2)).unwrap()["i"], json!(7));
    assert_eq!(incr("/i", json!(-7)).unwrap()["i"], json!(-2));
    assert_eq!(incr("/i", json!(0.5)).unwrap()["i"], json!(5.5));
    assert_eq!(incr("/f", json!(1)).unwrap()["f"], json!(2.5));
    assert_eq!(incr("/new", json!(3)).unwrap()["new"], json!(3));
    assert_eq!(incr("/a/b", json!(0.25)).unwrap()["a"]["b"], json!(0.25));
    assert_eq!(
        incr("/s", json!(1)).unwrap_err(),
        r#"ops[0] (incr state path "s.json"): cannot increment a string at "/s": not a number"#
    );
    assert!(incr("/big", json!(1)).unwrap_err().contains("integer overflow"));
    assert_eq!(incr("/big", json!(-1)).unwrap()["big"], json!(u64::MAX - 1));
    let huge = [("s.json", r#"{"f": 1.7e308}"#)];
    let err = run_json(&huge, json!({"op": "incr", "path": "s.json", "pointer": "/f", "value": 1.7e308})).unwrap_err();
    assert!(err.ends_with("is not a finite number"), "{err}");
}

#[test]
fn append_lines_text_rules() {
    let op = |lines: Value| json!({"op": "append-lines", "path": "log.jsonl", "value": lines});
    assert_eq!(run(&[], op(json!(["a", "b"])), "log.jsonl").unwrap().unwrap(), "a\nb\n");
    assert_eq!(run(&[], op(json!([])), "log.jsonl").unwrap().unwrap(), "");
    let unterminated = [("log.jsonl", "x")];
    assert_eq!(run(&unterminated, op(json!(["y"])), "log.jsonl").unwrap().unwrap(), "x\ny\n");
    assert_eq!(run(&unterminated, op(json!([])), "log.jsonl").unwrap().unwrap(), "x");
    let terminated = [("log.jsonl", "x\n")];
    assert_eq!(run(&terminated, op(json!(["", "{\"k\":1}"])), "log.jsonl").unwrap().unwrap(), "x\n\n{\"k\":1}\n");
    let empty = [("log.jsonl", "")];
    assert_eq!(run(&empty, op(json!(["z"])), "log.jsonl").unwrap().unwrap(), "z\n");
}

#[test]
fn json_and_text_on_the_same_file() {
    let state = source(&[("f.json", "{\"a\":1}")]);
    let mut overlay = Overlay::new(&state);
    let merge = |v: Value| delta(json!({"ops": [{"op": "merge", "path": "f.json", "value": v}]}));
    let lines = |l: &str| delta(json!({"ops": [{"op": "append-lines", "path": "f.json", "value": [l]}]}));
    overlay.apply(&merge(json!({"b": 2}))).unwrap();
    // Text after JSON: the document is serialized, then the line added.
    overlay.apply(&lines("tail")).unwrap();
    assert_eq!(text_at(&mut overlay, "f.json").unwrap(), "{\n  \"a\": 1,\n  \"b\": 2\n}\ntail\n");
    // JSON after that text fails: the file is no longer one JSON document.
    let err = overlay.apply(&merge(json!({"c": 3}))).unwrap_err();
    assert!(
        err.to_string().starts_with(r#"ops[0] (merge state path "f.json"): existing file "f.json" is not valid JSON"#),
        "{err}"
    );
    // Text that happens to be JSON converts back.
    let state = source(&[("g.json", "")]);
    let mut overlay = Overlay::new(&state);
    let g = |ops: Value| delta(json!({ "ops": ops }));
    overlay
        .apply(&g(json!([{"op": "append-lines", "path": "g.json", "value": ["[1,"]},
                          {"op": "append-lines", "path": "g.json", "value": ["2]"]},
                          {"op": "append", "path": "g.json", "pointer": "", "value": [3]}])))
        .unwrap();
    assert_eq!(json_at(&mut overlay, "g.json").unwrap(), json!([1, 2, 3]));
}

#[test]
fn invalid_json_state_file_is_named() {
    let state = source(&[("bad.json", "{not json")]);
    let mut overlay = Overlay::new(&state);
    let err = overlay
        .apply(&delta(json!({"ops": [{"op": "set", "path": "bad.json", "pointer": "/a", "value": 1}]})))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"ops[0] (set state path "bad.json"): existing file "bad.json" is not valid JSON: key must be a string at line 1 column 2"#
    );
    assert!(overlay.changed_files().is_empty());
    // Text ops on it still work.
    overlay.apply(&delta(json!({"ops": [{"op": "append-lines", "path": "bad.json", "value": ["x"]}]}))).unwrap();
    assert_eq!(text_at(&mut overlay, "bad.json").unwrap(), "{not json\nx\n");
}

#[test]
fn ops_on_several_files_in_one_delta() {
    let state = source(&[("a.json", "{}")]);
    let mut overlay = Overlay::new(&state);
    overlay
        .apply(&delta(json!({"ops": [
            {"op": "set", "path": "a.json", "pointer": "/x", "value": 1},
            {"op": "set", "path": "dir/b.json", "pointer": "/y", "value": 2},
            {"op": "append-lines", "path": "dir/c.log", "value": ["hi"]}
        ]})))
        .unwrap();
    let changed: Vec<String> = overlay.changed_files().into_iter().map(|(p, _)| p.into_string()).collect();
    assert_eq!(changed, ["a.json", "dir/b.json", "dir/c.log"]);
    assert_eq!(json_at(&mut overlay, "dir/b.json").unwrap(), json!({"y": 2}));
}

#[test]
fn a_released_file_is_handed_out_once_and_never_read_again() {
    // One file changed, one only read (a `test` of its value: unchanged), one in non-canonical form
    // whose value does not change.
    let state = source(&[("a.json", "{}"), ("b.json", "{\"n\": 1}\n"), ("c.json", "{\"k\":1}")]);
    let mut overlay = Overlay::new(&state);
    overlay
        .apply(&delta(json!({"ops": [
            {"op": "set", "path": "a.json", "pointer": "/x", "value": 1},
            {"op": "patch", "path": "b.json", "value": [{"op": "test", "path": "/n", "value": 1}]},
            {"op": "merge", "path": "c.json", "value": {"k": 1}}
        ]})))
        .unwrap();
    let want = overlay.changed_files();
    assert_eq!(want.len(), 1, "{want:?}");
    let a = super::rel("a.json");
    assert_eq!(overlay.release(&a), Some(want[0].1.clone()));
    for unchanged in ["b.json", "c.json", "never-touched.json"] {
        assert_eq!(overlay.release(&super::rel(unchanged)), None, "{unchanged}");
    }
    // Released: no longer among the changed files, and a later op fails rather than reading the source.
    assert!(overlay.changed_files().is_empty());
    let err = overlay
        .apply(&delta(json!({"ops": [{"op": "set", "path": "a.json", "pointer": "/y", "value": 2}]})))
        .unwrap_err();
    assert!(err.to_string().contains("a.json was touched after it was released"), "{err}");
}
