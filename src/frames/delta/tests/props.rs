//! Property tests: arbitrary bytes and arbitrary JSON-shaped deltas never
//! panic, failed deltas leave the overlay untouched, results are
//! deterministic, and accepted paths never leave their base directory.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::source;
use crate::frames::delta::{ApplyError, Delta, Limits, Overlay, RelPath, parse_delta, validate_rel_path};

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<u64>().prop_map(|n| json!(n)),
        (-1e6f64..1e6).prop_map(|f| json!(f)),
        Just(json!(1.7e308)),
        "[a-c~/-]{0,3}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(4, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-c]{1,2}|0|1|-", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn file_path() -> impl Strategy<Value = Value> {
    prop_oneof![
        40 => prop::sample::select(vec!["a.json", "a.json", "b.json", "text.log", "new/x.json", "arr.json"])
            .prop_map(|s| json!(s)),
        2 => Just(json!("broken.json")),
        1 => prop::sample::select(vec!["../a", "/etc/passwd", "", "a//b", "a\\b"]).prop_map(|s| json!(s)),
        1 => leaf(),
    ]
}

fn pointer() -> impl Strategy<Value = Value> {
    prop_oneof![
        40 => prop::collection::vec(
            prop::sample::select(vec!["a", "b", "c", "0", "1", "2", "-", "~0", "~1", "01"]),
            0..4,
        )
        .prop_map(|tokens| json!(tokens.iter().map(|t| format!("/{t}")).collect::<String>())),
        1 => prop::sample::select(vec!["x", "/~2", "/a~"]).prop_map(|s| json!(s)),
        1 => leaf(),
    ]
}

fn patch_op() -> impl Strategy<Value = Value> {
    (
        prop::sample::select(vec!["add", "remove", "replace", "move", "copy", "test"]),
        pointer(),
        pointer(),
        value(),
        0..40u8,
    )
        .prop_map(|(op, path, from, value, shape)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(if shape == 3 { "bogus" } else { op }));
            m.insert("path".into(), path);
            // Mostly the right fields, sometimes extra or missing ones.
            if matches!(op, "move" | "copy") || shape == 0 {
                m.insert("from".into(), from);
            }
            if matches!(op, "add" | "replace" | "test") || shape == 1 {
                m.insert("value".into(), value);
            }
            if shape == 2 {
                m.remove("path");
            }
            Value::Object(m)
        })
}

fn op() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec!["merge", "patch", "patch", "set", "append", "incr", "append-lines"]);
    (
        names,
        file_path(),
        pointer(),
        value(),
        prop::collection::vec(patch_op(), 0..4),
        prop::collection::vec("[a-z{}\"\n]{0,4}", 0..3),
        0..60u8,
    )
        .prop_map(|(name, path, pointer, value, patch, lines, shape)| {
            let mut m = Map::new();
            m.insert("op".into(), json!(if shape == 3 { "nope" } else { name }));
            m.insert("path".into(), path);
            let value = match (name, shape) {
                (_, 0) => value,
                ("patch", _) => Value::Array(patch),
                ("append-lines", 4) => json!(lines),
                ("append-lines", _) => json!(lines.iter().map(|l| l.replace('\n', "")).collect::<Vec<_>>()),
                ("append", _) => match value {
                    Value::Array(items) => Value::Array(items),
                    other => Value::Array(vec![other]),
                },
                ("incr", _) => match value {
                    Value::Number(n) => Value::Number(n),
                    _ => json!(shape),
                },
                _ => value,
            };
            m.insert("value".into(), value);
            if matches!(name, "set" | "append" | "incr") || shape == 1 {
                m.insert("pointer".into(), pointer);
            }
            if shape == 2 {
                m.insert("extra".into(), json!(1));
            }
            Value::Object(m)
        })
}

fn delta_json() -> impl Strategy<Value = Value> {
    prop::collection::vec(op(), 0..5).prop_map(|ops| json!({"ops": ops}))
}

fn state() -> BTreeMap<RelPath, Vec<u8>> {
    source(&[
        ("a.json", r#"{"a": {"b": [1, 2, {"c": 3}]}, "b": 1, "c": "s"}"#),
        ("arr.json", "[1, [2, 3], {\"a\": null}]"),
        ("broken.json", "{\"a\": "),
        ("text.log", "line"),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let _ = parse_delta(&bytes, &Limits::default());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "[\\[\\]{}\",:0-9a-z\\-/~ ]{0,120}") {
        let _ = parse_delta(text.as_bytes(), &Limits::default());
    }

    #[test]
    fn arbitrary_deltas_apply_atomically(deltas in prop::collection::vec(delta_json(), 1..6)) {
        let state = state();
        let mut overlay = Overlay::new(&state);
        let mut parsed = Vec::new();
        for raw in &deltas {
            let bytes = serde_json::to_vec(raw).unwrap();
            let Ok(delta) = parse_delta(&bytes, &Limits::default()) else { continue };
            // Accepted deltas round-trip through serde unchanged.
            let again: Delta = serde_json::from_value(serde_json::to_value(&delta).unwrap()).unwrap();
            prop_assert_eq!(&again, &delta);
            let changed_before = overlay.changed_files();
            let values_before = overlay.values();
            if let Err(e) = overlay.apply(&delta) {
                prop_assert!(!matches!(e, ApplyError::RollbackFailed { .. }), "{}", e);
                prop_assert!(!e.to_string().contains('\n'));
                prop_assert!(e.op_index() < delta.ops.len());
                prop_assert_eq!(overlay.changed_files(), changed_before);
                let values_after = overlay.values();
                for (path, value) in &values_before {
                    prop_assert_eq!(values_after.get(path), Some(value));
                }
            }
            parsed.push(delta);
        }
        // Every JSON document held is written so that it reads back equal.
        let changed = overlay.changed_files();
        for (path, value) in overlay.values() {
            if let Some((_, bytes)) = changed.iter().find(|(p, _)| *p == path) {
                let back: Value = serde_json::from_slice(bytes).unwrap();
                prop_assert_eq!(back, value);
            }
        }
        // Same deltas, fresh overlay: same bytes.
        let mut replay = Overlay::new(&state);
        for delta in &parsed {
            let _ = replay.apply(delta);
        }
        prop_assert_eq!(replay.changed_files(), changed);
    }

    #[test]
    fn accepted_paths_stay_inside_the_base(
        path in prop_oneof![
            "[a./\\\\]{0,12}",
            "(\\.\\.|\\.|a|b\\.c|/|//){0,6}",
            any::<String>(),
        ]
    ) {
        if let Ok(rel) = validate_rel_path(&path) {
            let base = Path::new("/srv/state");
            let joined = lexically_normalise(&rel.join_onto(base));
            prop_assert!(joined.starts_with(base), "{} escaped to {}", path, joined.display());
            prop_assert!(joined != base);
            let plain = lexically_normalise(&base.join(rel.as_str()));
            prop_assert_eq!(plain, joined);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: if std::env::var("NEIGHBOR_LONG").is_ok_and(|v| v == "1") { 20_000 } else { 512 }, .. ProptestConfig::default() })]

    /// Whatever the spelling, an accepted path has no component that a case-insensitive, HFS+ or
    /// NTFS file system would take for `.git` or `.gitmodules`, and none Windows would shorten.
    #[test]
    fn accepted_paths_never_name_a_git_dir(
        path in prop_oneof![
            r"([.gGiItT~1 /]|\x{200c}|\x{feff}|m|o|d|u|l|e|s){0,16}",
            r"(\.git|\.GIT|git~1|\.gitmodules|a|\.|/| |\x{200d}){0,6}",
        ]
    ) {
        if let Ok(rel) = validate_rel_path(&path) {
            for c in rel.as_str().split('/') {
                prop_assert!(!c.ends_with('.') && !c.ends_with(' '), "{:?} kept {:?}", path, c);
                // HFS+ ignores some code points when comparing names; NTFS drops trailing dots and
                // spaces and knows 8.3 short names.
                let hfs: String = c
                    .chars()
                    .filter(|ch| !matches!(*ch as u32, 0x200c..=0x200f | 0x202a..=0x202e | 0x206a..=0x206f | 0xfeff))
                    .collect::<String>()
                    .to_ascii_lowercase();
                prop_assert!(hfs != ".git" && hfs != ".gitmodules", "{:?} kept {:?}", path, c);
                let lower = c.to_ascii_lowercase();
                let ntfs = lower.trim_end_matches(['.', ' ']);
                let gitmod_short =
                    ntfs.len() == 8 && ntfs.starts_with("gitmod~") && (b'1'..=b'4').contains(&ntfs.as_bytes()[7]);
                prop_assert!(ntfs != ".git" && ntfs != "git~1" && ntfs != ".gitmodules" && !gitmod_short, "{:?} kept {:?}", path, c);
            }
        }
    }
}

/// Resolves `.` and `..` without touching the file system.
fn lexically_normalise(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in p.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Deltas over a few files, some of them a file and a path under it (`new` and `new/x.json`).
fn grouped_delta_json() -> impl Strategy<Value = Value> {
    let paths = vec!["a.json", "b.json", "arr.json", "text.log", "new", "new/x.json", "new/y.json", "n.json"];
    prop::collection::vec((op(), prop::sample::select(paths), 0..4u8), 0..4).prop_map(|ops| {
        let ops: Vec<Value> = ops
            .into_iter()
            .map(|(mut op, path, keep)| {
                // Now and then the generated path (sometimes a bad one) is kept.
                if keep != 0
                    && let Some(m) = op.as_object_mut()
                {
                    m.insert("path".into(), json!(path));
                }
                op
            })
            .collect();
        json!({"ops": ops})
    })
}

/// The files each delta touches, as merge-frame orders them.
fn touches(deltas: &[Delta]) -> Vec<Vec<&str>> {
    deltas.iter().map(|d| d.ops.iter().map(|op| op.path().as_str()).collect()).collect()
}

/// Each delta's outcome (`None`: applied, else why not) and the files changed, applying `deltas` in
/// `order` as merge-frame does.
type Outcome = (Vec<Option<String>>, Vec<(RelPath, Vec<u8>)>);

fn apply_in(deltas: &[Delta], order: &[usize]) -> Outcome {
    let state = state();
    let mut overlay = Overlay::new(&state);
    let mut files = std::collections::BTreeSet::new();
    let mut outcome = vec![None; deltas.len()];
    for &i in order {
        outcome[i] = crate::frames::merge::apply_one(&mut overlay, &mut files, &deltas[i]).err();
    }
    (outcome, overlay.changed_files())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if std::env::var("NEIGHBOR_LONG").is_ok_and(|v| v == "1") { 20_000 } else { 1024 },
        .. ProptestConfig::default()
    })]

    /// merge-frame applies a frame's deltas group by group (see `application_order`): every delta's
    /// outcome, reason included, and every file's bytes are those of plain stream-name order.
    #[test]
    fn applying_group_by_group_gives_what_stream_order_gives(
        raw in prop::collection::vec(grouped_delta_json(), 1..12)
    ) {
        let deltas: Vec<Delta> = raw
            .iter()
            .filter_map(|r| parse_delta(&serde_json::to_vec(r).unwrap(), &Limits::default()).ok())
            .collect();
        let order = crate::frames::merge::application_order(&touches(&deltas));
        let mut sorted = order.clone();
        sorted.sort_unstable();
        prop_assert_eq!(sorted, (0..deltas.len()).collect::<Vec<_>>(), "a permutation");
        let plain: Vec<usize> = (0..deltas.len()).collect();
        prop_assert_eq!(apply_in(&deltas, &order), apply_in(&deltas, &plain));
    }
}

/// The order itself: a file's deltas come together, a file and a path under it are one group, and a
/// fallback (no delta) or a delta of no ops stays where it is among the groups.
#[test]
fn application_order_groups_deltas_by_the_files_they_touch() {
    let d = |paths: &[&str]| {
        let ops: Vec<Value> =
            paths.iter().map(|p| json!({"op": "set", "path": p, "pointer": "/x", "value": 1})).collect();
        parse_delta(json!({ "ops": ops }).to_string().as_bytes(), &Limits::default()).unwrap()
    };
    let ds = [d(&["a.json"]), d(&["b.json"]), d(&["a.json"]), d(&["new"]), d(&["c.json"]), d(&["new/x.json"])];
    assert_eq!(crate::frames::merge::application_order(&touches(&ds)), vec![0, 2, 1, 3, 5, 4]);
    // A delta touching two files joins their groups.
    let ds = [d(&["a.json"]), d(&["b.json"]), d(&["c.json"]), d(&["b.json", "a.json"]), d(&["c.json"])];
    assert_eq!(crate::frames::merge::application_order(&touches(&ds)), vec![0, 1, 3, 2, 4]);
    // A fallback (no delta) or a delta of no ops touches nothing.
    let ds = [d(&["a.json"]), d(&[]), d(&[]), d(&["b.json"]), d(&["a.json"])];
    assert_eq!(crate::frames::merge::application_order(&touches(&ds)), vec![0, 4, 1, 2, 3]);
}
