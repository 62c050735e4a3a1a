//! A quick scale check (no timing asserted): many deltas on one sizeable
//! document must finish promptly even in debug builds, which only holds if
//! a delta's cost does not include copying the document.

use serde_json::{Map, Value, json};

use super::{delta, rel};
use crate::frames::delta::{Delta, Overlay, RelPath};

#[test]
fn many_deltas_on_one_large_document() {
    let mut big = Map::new();
    for i in 0..5_000 {
        big.insert(format!("key{i:05}"), json!({"n": i, "tags": ["a", "b"], "text": "x".repeat(100)}));
    }
    let text = serde_json::to_vec(&Value::Object(big)).unwrap();
    assert!(text.len() > 500_000);
    let state: std::collections::BTreeMap<RelPath, Vec<u8>> = [(rel("big.json"), text)].into();
    let deltas: Vec<Delta> = (0..1_000)
        .map(|i| {
            let key = format!("/key{:05}", (i * 7) % 5_000);
            delta(json!({"ops": [
                {"op": "incr", "path": "big.json", "pointer": format!("{key}/n"), "value": 1},
                {"op": "append", "path": "big.json", "pointer": format!("{key}/tags"), "value": [i]},
                {"op": "merge", "path": "big.json", "value": {"summary": {"last": i}}},
                // Every tenth delta fails at its last op and must roll back.
                {"op": "patch", "path": "big.json", "value": [
                    {"op": "test", "path": "/summary/last", "value": if i % 10 == 0 { -1 } else { i }}
                ]}
            ]}))
        })
        .collect();
    let mut overlay = Overlay::new(&state);
    let failed = deltas.iter().filter(|d| overlay.apply(d).is_err()).count();
    assert_eq!(failed, 100);
    let changed = overlay.changed_files();
    let doc: Value = serde_json::from_slice(&changed[0].1).unwrap();
    assert_eq!(doc["summary"]["last"], json!(999));
    assert_eq!(doc["key00007"]["n"], json!(8));
}
