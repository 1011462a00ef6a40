//! Deprecations Meraki announces in its documentation but not in its specs
//! (`openapi/deprecations.yaml`): operations, and values of request fields, with what replaces
//! them and since when. `generate` marks them in `openapi.yaml` (`deprecated: true` and
//! `x-deprecation`), the build script puts `#[deprecated]` on the operations' builders, and the
//! client traces the first call of a deprecated operation.
//!
//! ```yaml
//! - operation: getNetworkSyslogServers
//!   since: 2026-06
//!   replacement: getOrganizationDevicesSyslogServersByNetwork
//!   source: https://github.com/CiscoDevNet/Meraki-Dashboard-API-v1-Documentation (deprecated-operations.md)
//! - operation: createOrganizationPolicyObject
//!   field: type
//!   value: ipAndMask
//!   since: 2026-05
//!   replacement: cidr
//!   source: ...
//! ```

use std::path::Path;

use serde::Deserialize;
use serde_json::{json, Value};

/// The default file, below the workspace root.
pub const FILE: &str = "openapi/deprecations.yaml";

/// One deprecation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deprecation {
    pub operation: String,
    /// A request body field whose `value` (or, without one, the field itself) is deprecated.
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    /// `YYYY-MM`.
    pub since: String,
    /// What to use instead: an operation, or a field value.
    pub replacement: String,
    /// Where Meraki says so.
    pub source: String,
}

impl Deprecation {
    /// The note the builder's `#[deprecated]` and traces carry.
    pub fn note(&self) -> String {
        match (&self.field, &self.value) {
            (Some(field), Some(value)) => format!(
                "`{field}: {value}` is deprecated since {}: use `{}`",
                self.since, self.replacement
            ),
            (Some(field), None) => format!(
                "`{field}` is deprecated since {}: use `{}`",
                self.since, self.replacement
            ),
            _ => format!(
                "deprecated by Meraki since {}: use `{}` instead",
                self.since, self.replacement
            ),
        }
    }
}

/// Reads the deprecations file; a missing file has none.
pub fn load(path: &Path) -> Result<Vec<Deprecation>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Marks each deprecation in a merged document: an operation gets `deprecated: true` and
/// `x-deprecation: {since, replacement, note}`; a field value or field, a note in the
/// operation's `x-deprecation.fields` and, for a whole field, `deprecated: true` on its schema.
/// Returns the entries whose operation the specs no longer have: retired as announced (or
/// misspelt), listed by `cargo xtask generate` and `update` so that the entry is removed.
pub fn apply(document: &mut Value, deprecations: &[Deprecation]) -> Vec<String> {
    let mut retired = Vec::new();
    for deprecation in deprecations {
        let Some(operation) = crate::corrections::operation_mut(document, &deprecation.operation)
        else {
            if !retired.contains(&deprecation.operation) {
                retired.push(deprecation.operation.clone());
            }
            continue;
        };
        let Some(operation) = operation.as_object_mut() else {
            continue;
        };
        match &deprecation.field {
            None => {
                operation.insert("deprecated".into(), Value::Bool(true));
                let entry = operation
                    .entry("x-deprecation")
                    .or_insert_with(|| json!({}));
                entry["since"] = json!(deprecation.since);
                entry["replacement"] = json!(deprecation.replacement);
                entry["note"] = json!(deprecation.note());
                entry["source"] = json!(deprecation.source);
            }
            Some(field) => {
                let entry = operation
                    .entry("x-deprecation")
                    .or_insert_with(|| json!({}));
                let fields = entry
                    .as_object_mut()
                    .map(|e| e.entry("fields").or_insert_with(|| json!([])));
                if let Some(Value::Array(fields)) = fields {
                    fields.push(json!({
                        "field": field,
                        "value": deprecation.value,
                        "since": deprecation.since,
                        "replacement": deprecation.replacement,
                        "note": deprecation.note(),
                        "source": deprecation.source,
                    }));
                }
                if deprecation.value.is_none() {
                    let property = operation
                        .get_mut("requestBody")
                        .and_then(|b| b.pointer_mut("/content/application~1json/schema/properties"))
                        .and_then(|p| p.get_mut(field.as_str()))
                        .and_then(Value::as_object_mut);
                    if let Some(property) = property {
                        property.insert("deprecated".into(), Value::Bool(true));
                    }
                }
            }
        }
    }
    retired
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_and_field_values_are_marked_with_their_replacement() {
        let mut document = json!({"paths": {"/x": {
            "get": {"operationId": "getX"},
            "post": {"operationId": "createX", "requestBody": {"content": {"application/json": {
                "schema": {"properties": {"type": {"type": "string"}}}}}}}
        }}});
        let deprecations: Vec<Deprecation> = serde_norway::from_str(
            r#"
- {operation: getX, since: 2026-06, replacement: getY, source: docs}
- {operation: createX, field: type, value: ipAndMask, since: 2026-05, replacement: cidr, source: docs}
"#,
        )
        .unwrap();
        assert!(apply(&mut document, &deprecations).is_empty());
        let get = &document["paths"]["/x"]["get"];
        assert_eq!(get["deprecated"], true);
        assert!(get["x-deprecation"]["note"]
            .as_str()
            .unwrap()
            .contains("getY"));
        let post = &document["paths"]["/x"]["post"];
        assert!(post.get("deprecated").is_none());
        assert_eq!(post["x-deprecation"]["fields"][0]["replacement"], "cidr");
        let missing: Vec<Deprecation> =
            serde_norway::from_str("- {operation: getZ, since: x, replacement: y, source: z}")
                .unwrap();
        assert_eq!(apply(&mut document, &missing), ["getZ"]);
    }
}
