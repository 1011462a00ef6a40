//! Corrections to Meraki's published specs (`openapi/corrections.yaml`): where the live API
//! answers otherwise than its documentation says, each correction says so with its evidence and
//! patches the operation. `generate` applies them before normalizing, so the corrected schema is
//! what `openapi.yaml` (and so the client) says and what its diff shows; `conform` compares
//! recordings with the corrected schema and proposes an entry for each difference left.
//!
//! ```yaml
//! - operation: getNetworkClients
//!   correction: The API answers a JSON array of clients, not one.
//!   evidence: [tests/fixtures/recorded/getNetworkClients/page1.json]
//!   patch:
//!     - {op: wrap-in-array, path: /responses/200/content/application~1json/schema}
//!     - {op: replace, path: /responses/200/.../firstSeen, value: {type: string, format: date-time}}
//! ```
//!
//! Paths are JSON pointers into the operation (as in its operation document's `spec`). Ops:
//! `replace` and `add` (set the value there), `remove`, and `wrap-in-array` (the value there
//! becomes the items of an array schema, or an example becomes a one-element array).

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

/// The default file, below the workspace root.
pub const FILE: &str = "openapi/corrections.yaml";

/// One correction.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Correction {
    pub operation: String,
    /// What the spec gets wrong, in a sentence.
    pub correction: String,
    /// Where it shows: fixtures of recorded answers, or links to public reports.
    pub evidence: Vec<String>,
    pub patch: Vec<Patch>,
}

/// One change to an operation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    pub op: Op,
    pub path: String,
    #[serde(default)]
    pub value: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Op {
    Replace,
    Add,
    Remove,
    WrapInArray,
}

/// Reads the corrections file; a missing file has none.
pub fn load(path: &Path) -> Result<Vec<Correction>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let corrections: Vec<Correction> =
        serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for c in &corrections {
        if c.evidence.is_empty() {
            return Err(format!(
                "{}: the correction of `{}` names no evidence",
                path.display(),
                c.operation
            ));
        }
    }
    Ok(corrections)
}

/// Applies each correction to its operation in a merged document (`paths/*/*` with an
/// `operationId`); an operation that is not there, or a path that does not resolve, is an
/// error naming the correction.
pub fn apply(document: &mut Value, corrections: &[Correction]) -> Result<usize, String> {
    let mut applied = 0;
    for correction in corrections {
        let Some(operation) = operation_mut(document, &correction.operation) else {
            return Err(format!(
                "correction of `{}`: no such operation in the specs",
                correction.operation
            ));
        };
        apply_to(operation, correction)?;
        applied += 1;
    }
    Ok(applied)
}

/// Applies one correction to an operation object.
pub fn apply_to(operation: &mut Value, correction: &Correction) -> Result<(), String> {
    for patch in &correction.patch {
        patch_one(operation, patch).map_err(|e| {
            format!(
                "correction of `{}`, `{:?}` at `{}`: {e}",
                correction.operation, patch.op, patch.path
            )
        })?;
    }
    Ok(())
}

fn patch_one(operation: &mut Value, patch: &Patch) -> Result<(), String> {
    let (parent, last) = match patch.path.rsplit_once('/') {
        Some((parent, last)) => (parent, unescape(last)),
        None => return Err("not a JSON pointer".into()),
    };
    match patch.op {
        Op::Replace | Op::Add => {
            let value = patch.value.clone().ok_or("needs a `value`")?;
            let target = operation
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .ok_or("the parent is not an object in the spec")?;
            if patch.op == Op::Replace && !target.contains_key(&last) {
                return Err("nothing to replace there".into());
            }
            target.insert(last, value);
        }
        Op::Remove => {
            operation
                .pointer_mut(parent)
                .and_then(Value::as_object_mut)
                .and_then(|o| o.remove(&last))
                .ok_or("nothing to remove there")?;
        }
        Op::WrapInArray => {
            let target = operation.pointer_mut(&patch.path).ok_or("nothing there")?;
            let inner = target.take();
            // A schema (it has a type or properties) becomes an array's items; a value (an
            // example) becomes a one-element array.
            *target = if inner.get("type").is_some() || inner.get("properties").is_some() {
                json!({"type": "array", "items": inner})
            } else {
                json!([inner])
            };
        }
    }
    Ok(())
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The operation with this operationId in a merged document.
pub fn operation_mut<'a>(document: &'a mut Value, operation_id: &str) -> Option<&'a mut Value> {
    document
        .get_mut("paths")?
        .as_object_mut()?
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .find(|op| op.get("operationId").and_then(Value::as_str) == Some(operation_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_wrap_replace_and_remove_and_name_what_does_not_fit() {
        let mut document = json!({"paths": {"/networks/{networkId}/clients": {"get": {
            "operationId": "getNetworkClients",
            "responses": {"200": {"content": {"application/json": {
                "schema": {"type": "object", "properties": {"firstSeen": {"type": "integer"}, "old": {"type": "string"}}},
                "example": {"firstSeen": 1}
            }}}}
        }}}});
        let corrections: Vec<Correction> = serde_norway::from_str(
            r#"
- operation: getNetworkClients
  correction: an array
  evidence: [fixture]
  patch:
    - {op: wrap-in-array, path: /responses/200/content/application~1json/schema}
    - {op: wrap-in-array, path: /responses/200/content/application~1json/example}
    - op: replace
      path: /responses/200/content/application~1json/schema/items/properties/firstSeen
      value: {type: string, format: date-time}
    - {op: remove, path: /responses/200/content/application~1json/schema/items/properties/old}
"#,
        )
        .unwrap();
        assert_eq!(apply(&mut document, &corrections).unwrap(), 1);
        let content = &document["paths"]["/networks/{networkId}/clients"]["get"]["responses"]
            ["200"]["content"]["application/json"];
        assert_eq!(content["schema"]["type"], "array");
        assert_eq!(
            content["schema"]["items"]["properties"]["firstSeen"]["type"],
            "string"
        );
        assert!(content["schema"]["items"]["properties"]
            .get("old")
            .is_none());
        assert_eq!(content["example"], json!([{"firstSeen": 1}]));
        // A path that is not there fails, naming the correction.
        let mut again = corrections.clone();
        again[0].patch.truncate(0);
        again[0].patch.push(Patch {
            op: Op::Replace,
            path: "/responses/200/nothing/here".into(),
            value: Some(json!(1)),
        });
        let error = apply(&mut document, &again).unwrap_err();
        assert!(error.contains("getNetworkClients"), "{error}");
        let missing = vec![Correction {
            operation: "getNothing".into(),
            ..corrections[0].clone()
        }];
        assert!(apply(&mut document, &missing)
            .unwrap_err()
            .contains("getNothing"));
    }
}
