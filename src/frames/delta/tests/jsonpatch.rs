//! `patch` op: the RFC 6902 Appendix A examples, plus `copy`, escapes,
//! and the all-or-nothing rule inside one patch.

use serde_json::{Value, json};

use super::{delta, json_at, refusal, source};
use crate::frames::delta::{ApplyError, Overlay};

/// Applies the RFC 6902 `patch` to a file holding `doc`.
fn patched(doc: Value, patch: Value) -> Result<Value, ApplyError> {
    let text = doc.to_string();
    let state = source(&[("doc.json", &text)]);
    let mut overlay = Overlay::new(&state);
    let before = overlay.changed_files();
    let result = overlay.apply(&delta(json!({"ops": [{"op": "patch", "path": "doc.json", "value": patch}]})));
    if result.is_err() {
        assert_eq!(overlay.changed_files(), before, "failed patch must change nothing");
    }
    result.map(|()| json_at(&mut overlay, "doc.json").unwrap())
}

#[test]
fn a1_add_object_member() {
    let got = patched(json!({"foo": "bar"}), json!([{"op": "add", "path": "/baz", "value": "qux"}]));
    assert_eq!(got.unwrap(), json!({"baz": "qux", "foo": "bar"}));
}

#[test]
fn a2_add_array_element() {
    let got = patched(json!({"foo": ["bar", "baz"]}), json!([{"op": "add", "path": "/foo/1", "value": "qux"}]));
    assert_eq!(got.unwrap(), json!({"foo": ["bar", "qux", "baz"]}));
}

#[test]
fn a3_remove_object_member() {
    let got = patched(json!({"baz": "qux", "foo": "bar"}), json!([{"op": "remove", "path": "/baz"}]));
    assert_eq!(got.unwrap(), json!({"foo": "bar"}));
}

#[test]
fn a4_remove_array_element() {
    let got = patched(json!({"foo": ["bar", "qux", "baz"]}), json!([{"op": "remove", "path": "/foo/1"}]));
    assert_eq!(got.unwrap(), json!({"foo": ["bar", "baz"]}));
}

#[test]
fn a5_replace() {
    let got = patched(json!({"baz": "qux", "foo": "bar"}), json!([{"op": "replace", "path": "/baz", "value": "boo"}]));
    assert_eq!(got.unwrap(), json!({"baz": "boo", "foo": "bar"}));
}

#[test]
fn a6_move_value() {
    let got = patched(
        json!({"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}}),
        json!([{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}]),
    );
    assert_eq!(got.unwrap(), json!({"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}}));
}

#[test]
fn a7_move_array_element() {
    let got = patched(
        json!({"foo": ["all", "grass", "cows", "eat"]}),
        json!([{"op": "move", "from": "/foo/1", "path": "/foo/3"}]),
    );
    assert_eq!(got.unwrap(), json!({"foo": ["all", "cows", "eat", "grass"]}));
}

#[test]
fn a8_test_success() {
    let doc = json!({"baz": "qux", "foo": ["a", 2, "c"]});
    let got = patched(
        doc.clone(),
        json!([
            {"op": "test", "path": "/baz", "value": "qux"},
            {"op": "test", "path": "/foo/1", "value": 2}
        ]),
    );
    assert_eq!(got.unwrap(), doc);
}

#[test]
fn a9_test_failure_rejects_the_delta() {
    let err = patched(json!({"baz": "qux"}), json!([{"op": "test", "path": "/baz", "value": "bar"}])).unwrap_err();
    assert_eq!(
        err.to_string(),
        r#"ops[0] (patch state path "doc.json"): value[0] (test "/baz"): test failed: value is "qux", expected "bar""#
    );
}

#[test]
fn a10_add_nested_member_object() {
    let got = patched(json!({"foo": "bar"}), json!([{"op": "add", "path": "/child", "value": {"grandchild": {}}}]));
    assert_eq!(got.unwrap(), json!({"foo": "bar", "child": {"grandchild": {}}}));
}

#[test]
fn a11_unrecognized_members_are_refused() {
    // Deliberately stricter than RFC 6902, which ignores them.
    let msg = refusal(json!({"ops": [{"op": "patch", "path": "d.json", "value": [
        {"op": "add", "path": "/baz", "value": "qux", "xyz": 123}
    ]}]}));
    assert_eq!(
        msg,
        r#"ops[0] (patch state path "d.json"): value[0]: unknown field "xyz" in add (allowed: op, path, value)"#
    );
}

#[test]
fn a12_add_to_nonexistent_target() {
    let err = patched(json!({"foo": "bar"}), json!([{"op": "add", "path": "/baz/bat", "value": "qux"}])).unwrap_err();
    assert!(err.to_string().contains(r#""/baz" does not exist"#), "{err}");
}

#[test]
fn a14_escape_ordering() {
    let doc = json!({"/": 9, "~1": 10});
    let got = patched(doc.clone(), json!([{"op": "test", "path": "/~01", "value": 10}]));
    assert_eq!(got.unwrap(), doc);
    let got = patched(
        doc,
        json!([
            {"op": "replace", "path": "/~1", "value": 1},
            {"op": "add", "path": "/m~0n", "value": 2}
        ]),
    );
    assert_eq!(got.unwrap(), json!({"/": 1, "~1": 10, "m~n": 2}));
}

#[test]
fn a15_strings_and_numbers_differ() {
    let err = patched(json!({"/": 9, "~1": 10}), json!([{"op": "test", "path": "/~01", "value": "10"}]));
    assert!(err.is_err());
}

#[test]
fn a16_add_array_value_with_dash() {
    let got = patched(json!({"foo": ["bar"]}), json!([{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}]));
    assert_eq!(got.unwrap(), json!({"foo": ["bar", ["abc", "def"]]}));
}

#[test]
fn test_compares_numbers_by_value() {
    let got = patched(json!({"n": 1}), json!([{"op": "test", "path": "/n", "value": 1.0}]));
    assert!(got.is_ok());
}

#[test]
fn copy_duplicates_values() {
    let got = patched(
        json!({"a": {"b": [1, 2]}, "c": []}),
        json!([
            {"op": "copy", "from": "/a/b", "path": "/c/0"},
            {"op": "copy", "from": "/a", "path": "/d"}
        ]),
    );
    assert_eq!(got.unwrap(), json!({"a": {"b": [1, 2]}, "c": [[1, 2]], "d": {"b": [1, 2]}}));
}

#[test]
fn root_operations() {
    let got = patched(json!({"a": 1}), json!([{"op": "replace", "path": "", "value": [1]}]));
    assert_eq!(got.unwrap(), json!([1]));
    let got = patched(json!({"a": 1}), json!([{"op": "add", "path": "", "value": 5}]));
    assert_eq!(got.unwrap(), json!(5));
    let got = patched(json!({"a": {"b": 1}}), json!([{"op": "move", "from": "/a", "path": ""}]));
    assert_eq!(got.unwrap(), json!({"b": 1}));
}

#[test]
fn move_onto_itself_and_upwards() {
    let got = patched(json!({"a": {"b": 1}}), json!([{"op": "move", "from": "/a", "path": "/a"}]));
    assert_eq!(got.unwrap(), json!({"a": {"b": 1}}));
    let got = patched(json!({"a": {"b": {"c": 2}}}), json!([{"op": "move", "from": "/a/b", "path": "/a"}]));
    assert_eq!(got.unwrap(), json!({"a": {"c": 2}}));
}

#[test]
fn failures_name_the_operation() {
    let cases = [
        (json!([{"op": "remove", "path": "/missing"}]), r#"value[0] (remove "/missing"): "/missing" does not exist"#),
        (
            json!([{"op": "replace", "path": "/a/x", "value": 1}]),
            r#"value[0] (replace "/a/x"): cannot look inside a number at "/a""#,
        ),
        (
            json!([{"op": "add", "path": "/arr/5", "value": 1}]),
            r#"value[0] (add "/arr/5"): index 5 is out of bounds for the array at "/arr" (length 2)"#,
        ),
        (
            json!([{"op": "add", "path": "/arr/01", "value": 1}]),
            r#"value[0] (add "/arr/01"): "01" is not an index into the array at "/arr""#,
        ),
        (
            json!([{"op": "move", "from": "/arr/0", "path": "/nope/x"}]),
            r#"value[0] (move from "/arr/0" to "/nope/x"): "/nope" does not exist"#,
        ),
        (json!([{"op": "test", "path": "/arr/-", "value": 1}]), r#"value[0] (test "/arr/-"): "/arr/-" does not exist"#),
    ];
    for (patch, want) in cases {
        let err = patched(json!({"a": 1, "arr": [1, 2]}), patch).unwrap_err();
        let msg = err.to_string();
        assert!(msg.ends_with(want), "{msg}\n  wanted suffix: {want}");
    }
}

#[test]
fn later_failure_undoes_earlier_patch_operations() {
    let err = patched(
        json!({"a": {"b": 1}, "arr": [1, 2, 3]}),
        json!([
            {"op": "add", "path": "/x", "value": 1},
            {"op": "remove", "path": "/arr/0"},
            {"op": "move", "from": "/a/b", "path": "/arr/0"},
            {"op": "copy", "from": "/arr", "path": "/c"},
            {"op": "replace", "path": "", "value": {"z": 1}},
            {"op": "test", "path": "/z", "value": 2}
        ]),
    );
    // `patched` checks the overlay is unchanged after the failure.
    assert_eq!(err.unwrap_err().op_index(), 0);
}

#[test]
fn absent_file_starts_as_empty_object() {
    let state = source(&[]);
    let mut overlay = Overlay::new(&state);
    overlay
        .apply(&delta(json!({"ops": [{"op": "patch", "path": "new.json", "value": [
            {"op": "add", "path": "/a", "value": 1}
        ]}]})))
        .unwrap();
    assert_eq!(json_at(&mut overlay, "new.json").unwrap(), json!({"a": 1}));
}
