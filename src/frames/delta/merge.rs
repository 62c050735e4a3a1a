//! RFC 7386 JSON Merge Patch, applied in place with undo steps.
//!
//! The RFC's algorithm rebuilds the target; here only the members the patch
//! names are touched, and each displaced member is recorded, so the cost is
//! proportional to the patch, not to the document.

use serde_json::Value;

use super::json::strip_nulls;
use super::undo::Recorder;

/// The RFC's `MergePatch(null, patch)`: what merging onto an absent file gives.
pub(crate) fn merge_new(patch: &Value) -> Value {
    strip_nulls(patch)
}

/// Merges `patch` into `target`, which sits at `at` in its document.
/// Cannot fail; the caller has already checked the patch's depth.
pub(crate) fn merge_into(target: &mut Value, patch: &Value, at: &mut Vec<String>, rec: &mut Recorder<'_>) {
    let Value::Object(patch_members) = patch else {
        // A non-object patch replaces the target outright.
        let old = std::mem::replace(target, patch.clone());
        rec.replace(at, old);
        return;
    };
    let Value::Object(map) = target else {
        let old = std::mem::replace(target, strip_nulls(patch));
        rec.replace(at, old);
        return;
    };
    for (key, member) in patch_members {
        if member.is_null() {
            if let Some(old) = map.remove(key) {
                rec.key_removed(at, key, Some(old));
            }
            continue;
        }
        if member.is_object()
            && let Some(existing @ Value::Object(_)) = map.get_mut(key)
        {
            // Both sides are objects: merge member by member, one level down.
            at.push(key.clone());
            merge_into(existing, member, at, rec);
            at.pop();
            continue;
        }
        let previous = map.insert(key.clone(), strip_nulls(member));
        rec.key_inserted(at, key, previous);
    }
}
