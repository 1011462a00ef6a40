//! Comparing what a write would set with what a read shows: field by field, strictly, secrets
//! masked.

use serde_json::Value;

use super::FieldChange;

/// Records each field of `to` whose value differs from `from`'s, objects field by field.
pub(super) fn diff(changes: &mut Vec<FieldChange>, prefix: &str, from: &Value, to: &Value) {
    let (Value::Object(from_map), Value::Object(to_map)) = (from, to) else {
        if !same(from, to) {
            changes.push(change(prefix, from, to));
        }
        return;
    };
    for (name, new) in to_map {
        let field = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        match (from_map.get(name), new) {
            (Some(old @ Value::Object(_)), Value::Object(_)) => diff(changes, &field, old, new),
            (Some(old), _) if same(old, new) => {}
            (old, _) => changes.push(change(&field, old.unwrap_or(&Value::Null), new)),
        }
    }
}

fn change(field: &str, from: &Value, to: &Value) -> FieldChange {
    let secret = field
        .rsplit('.')
        .next()
        .is_some_and(crate::secrets::is_secret_name);
    let shown = |v: &Value| {
        if secret && !v.is_null() {
            Value::String("***".into())
        } else {
            crate::secrets::mask_secrets(v)
        }
    };
    FieldChange {
        field: field.to_owned(),
        from: shown(from),
        to: shown(to),
    }
}

/// Equal as JSON, numbers compared as numbers.
fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) => x == y,
            _ => x == y,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// `state` as it would be after writing `body`: objects merged field by field.
pub(super) fn merge(state: &mut Value, body: &Value) {
    match (state, body) {
        (Value::Object(state), Value::Object(body)) => {
            for (name, value) in body {
                match state.get_mut(name) {
                    Some(old @ Value::Object(_)) if value.is_object() => merge(old, value),
                    _ => {
                        state.insert(name.clone(), value.clone());
                    }
                }
            }
        }
        (state, body) => *state = body.clone(),
    }
}
