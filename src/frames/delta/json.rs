//! Small JSON helpers shared by validation and application: nesting-depth
//! checks, RFC 6902 equality, number addition, and one-line value previews.
//!
//! The depth cap exists because documents are re-parsed by serde_json in the
//! next frame (which refuses deeper nesting) and because serializing or
//! dropping a very deep `Value` recurses on the stack.

use serde_json::{Number, Value};

/// Deepest container nesting a state document may reach: the most that
/// serde_json will parse back, so whatever is written can be read again.
pub const MAX_DEPTH: usize = 127;

/// Container nesting of `v` (scalars are 0, `[]` is 1), computed only as far
/// as `budget`: any result above `budget` means "too deep". Recursion never
/// goes more than `budget + 1` levels down, whatever the input.
pub(crate) fn depth_within(v: &Value, budget: usize) -> usize {
    match v {
        Value::Array(items) => 1 + deepest_child(items.iter(), budget),
        Value::Object(map) => 1 + deepest_child(map.values(), budget),
        _ => 0,
    }
}

fn deepest_child<'a>(children: impl Iterator<Item = &'a Value>, budget: usize) -> usize {
    // A container where no nesting is left is already over budget.
    let Some(inner) = budget.checked_sub(1) else {
        return 0;
    };
    let mut deepest = 0;
    for child in children {
        deepest = deepest.max(depth_within(child, inner));
        if deepest > inner {
            break;
        }
    }
    deepest
}

/// Errs if placing `v` under `above` containers would exceed [`MAX_DEPTH`].
pub(crate) fn check_depth(above: usize, v: &Value) -> Result<(), String> {
    let fits = MAX_DEPTH.checked_sub(above).is_some_and(|budget| depth_within(v, budget) <= budget);
    if fits { Ok(()) } else { Err(format!("result would nest containers more than {MAX_DEPTH} levels deep")) }
}

/// RFC 6902 §4.6 equality: numbers compare by numeric value, objects
/// ignore member order, arrays compare element-wise.
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => numbers_eq(x, y),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn numbers_eq(x: &Number, y: &Number) -> bool {
    match (as_i128(x), as_i128(y)) {
        (Some(p), Some(q)) => p == q,
        _ => x.as_f64() == y.as_f64(),
    }
}

fn as_i128(n: &Number) -> Option<i128> {
    n.as_i64().map(i128::from).or_else(|| n.as_u64().map(i128::from))
}

/// `a + b`: integers stay integers (range i64::MIN..=u64::MAX, overflow is
/// an error); anything involving a float is done in f64 and must stay finite.
pub(crate) fn add_numbers(a: &Number, b: &Number) -> Result<Number, String> {
    if let (Some(x), Some(y)) = (as_i128(a), as_i128(b)) {
        // Both fit in 65 bits, so the i128 sum itself cannot overflow.
        let sum = x + y;
        if let Ok(v) = i64::try_from(sum) {
            return Ok(Number::from(v));
        }
        if let Ok(v) = u64::try_from(sum) {
            return Ok(Number::from(v));
        }
        return Err(format!("integer overflow: {a} + {b} does not fit in 64 bits"));
    }
    let sum = match (a.as_f64(), b.as_f64()) {
        (Some(x), Some(y)) => x + y,
        _ => return Err(format!("cannot add {a} and {b}")),
    };
    Number::from_f64(sum).ok_or_else(|| format!("{a} + {b} is not a finite number"))
}

/// JSON type name for messages.
pub(crate) fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Compact one-line rendering of `v`, cut to a readable length.
pub(crate) fn preview(v: &Value) -> String {
    const MAX: usize = 80;
    let text = serde_json::to_string(v).unwrap_or_else(|_| type_name(v).to_owned());
    clip(&text, MAX)
}

/// `s` cut to at most `max` bytes on a character boundary, marked with `…`.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// Merge-patch value with object members that are `null` removed, at every
/// object level (RFC 7386 applied to an absent target). Arrays are kept
/// verbatim, as the RFC says.
pub(crate) fn strip_nulls(v: &Value) -> Value {
    match v {
        Value::Object(map) => {
            Value::Object(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), strip_nulls(v))).collect())
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    //! Depth accounting, numeric equality and addition.
    use super::*;
    use serde_json::json;

    fn nested(levels: usize) -> Value {
        let mut v = json!(1);
        for _ in 0..levels {
            v = Value::Array(vec![v]);
        }
        v
    }

    #[test]
    fn depth_matches_serde_json_limit() {
        assert_eq!(depth_within(&json!(1), 10), 0);
        assert_eq!(depth_within(&json!([]), 10), 1);
        assert_eq!(depth_within(&json!({"a": [1, {"b": 2}]}), 10), 3);
        let ok = nested(MAX_DEPTH);
        assert!(check_depth(0, &ok).is_ok());
        assert!(check_depth(1, &ok).is_err());
        assert!(check_depth(MAX_DEPTH + 5, &json!(1)).is_err());
        // What we allow is exactly what serde_json reads back.
        let text = serde_json::to_string(&ok).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_ok());
        let text = serde_json::to_string(&nested(MAX_DEPTH + 1)).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }

    #[test]
    fn depth_is_bounded_by_budget() {
        let deep = nested(10_000);
        assert!(depth_within(&deep, 5) > 5);
        // The value is built iteratively; drop it the same way.
        let mut v = deep;
        while let Value::Array(mut items) = v {
            v = items.pop().unwrap_or(Value::Null);
        }
    }

    #[test]
    fn numeric_equality() {
        assert!(json_eq(&json!(1), &json!(1.0)));
        assert!(json_eq(&json!({"a": [1, 2]}), &json!({"a": [1.0, 2]})));
        assert!(!json_eq(&json!([1, 2]), &json!([2, 1])));
        assert!(!json_eq(&json!("1"), &json!(1)));
        assert!(json_eq(&json!(u64::MAX), &json!(u64::MAX)));
        assert!(!json_eq(&json!(u64::MAX), &json!(u64::MAX - 1)));
    }

    #[test]
    fn addition() {
        let n = |v: Value| v.as_number().unwrap().clone();
        assert_eq!(add_numbers(&n(json!(2)), &n(json!(3))).unwrap(), n(json!(5)));
        assert_eq!(add_numbers(&n(json!(-2)), &n(json!(1))).unwrap(), n(json!(-1)));
        assert_eq!(add_numbers(&n(json!(i64::MAX)), &n(json!(1))).unwrap(), n(json!(9_223_372_036_854_775_808u64)));
        assert!(add_numbers(&n(json!(u64::MAX)), &n(json!(1))).is_err());
        assert!(add_numbers(&n(json!(i64::MIN)), &n(json!(-1))).is_err());
        assert_eq!(add_numbers(&n(json!(1)), &n(json!(0.5))).unwrap(), n(json!(1.5)));
        assert!(add_numbers(&n(json!(f64::MAX)), &n(json!(f64::MAX))).is_err());
    }

    #[test]
    fn clipping_respects_char_boundaries() {
        assert_eq!(clip("abc", 5), "abc");
        assert_eq!(clip("ééé", 3), "é…");
    }
}
