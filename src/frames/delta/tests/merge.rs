//! `merge` op: the RFC 7386 Appendix A table, the §3 example, and creation
//! of absent files.

use serde_json::{Value, json};

use super::{delta, json_at, source};
use crate::frames::delta::Overlay;

/// Merges `patch` into a file holding `original` (or absent) and returns
/// the resulting document.
fn merged(original: Option<Value>, patch: Value) -> Value {
    let text = original.map(|v| v.to_string());
    let files: Vec<(&str, &str)> = text.iter().map(|t| ("doc.json", t.as_str())).collect();
    let state = source(&files);
    let mut overlay = Overlay::new(&state);
    overlay.apply(&delta(json!({"ops": [{"op": "merge", "path": "doc.json", "value": patch}]}))).unwrap();
    json_at(&mut overlay, "doc.json").unwrap()
}

#[test]
fn rfc7386_appendix_a() {
    let table = [
        (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
        (json!({"a":"b"}), json!({"a":null}), json!({})),
        (json!({"a":"b","b":"c"}), json!({"a":null}), json!({"b":"c"})),
        (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
        (json!({"a":"c"}), json!({"a":["b"]}), json!({"a":["b"]})),
        (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
        (json!({"a": [{"b":"c"}]}), json!({"a": [1]}), json!({"a": [1]})),
        (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
        (json!({"a":"b"}), json!(["c"]), json!(["c"])),
        (json!({"a":"foo"}), json!(null), json!(null)),
        (json!({"a":"foo"}), json!("bar"), json!("bar")),
        (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
        (json!([1, 2]), json!({"a":"b","c":null}), json!({"a":"b"})),
        (json!({}), json!({"a":{"bb":{"ccc":null}}}), json!({"a":{"bb":{}}})),
    ];
    for (original, patch, want) in table {
        let got = merged(Some(original.clone()), patch.clone());
        assert_eq!(got, want, "original {original} patch {patch}");
    }
}

#[test]
fn rfc7386_section3_example() {
    let original = json!({
        "title": "Goodbye!",
        "author": {"givenName": "John", "familyName": "Doe"},
        "tags": ["example", "sample"],
        "content": "This will be unchanged"
    });
    let patch = json!({
        "title": "Hello!",
        "phoneNumber": "+01-123-456-7890",
        "author": {"familyName": null},
        "tags": ["example"]
    });
    let want = json!({
        "title": "Hello!",
        "author": {"givenName": "John"},
        "tags": ["example"],
        "content": "This will be unchanged",
        "phoneNumber": "+01-123-456-7890"
    });
    assert_eq!(merged(Some(original), patch), want);
}

#[test]
fn absent_file_starts_from_null() {
    assert_eq!(
        merged(None, json!({"a": null, "b": {"c": null, "d": 1}, "e": [null]})),
        json!({"b": {"d": 1}, "e": [null]})
    );
    assert_eq!(merged(None, json!([1, null])), json!([1, null]));
    assert_eq!(merged(None, json!(3)), json!(3));
}

#[test]
fn nulls_inside_replaced_members_are_removed() {
    // The member "a" is not an object, so it is replaced by the patch member
    // with its nulls removed (MergePatch(non-object, {..}) starts from {}).
    assert_eq!(merged(Some(json!({"a": 1})), json!({"a": {"x": null, "y": 2}})), json!({"a": {"y": 2}}));
}
