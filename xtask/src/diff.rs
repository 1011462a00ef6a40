//! `cargo xtask diff OLD NEW`: what a spec update changes for callers of the client.
//!
//! OLD and NEW are merged documents (`openapi.yaml`) or folders of operation documents (merged
//! on the fly). The report lists operations added, removed and changed (parameters, request and
//! response fields, enum values, followed through `$ref`s into the shared schemas), types
//! renamed, added and removed, and flags what breaks existing callers.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

/// One operation reduced to what callers see.
#[derive(Debug, Default, PartialEq)]
struct Surface {
    route: String,
    /// `in name` → required.
    params: BTreeMap<String, bool>,
    /// Field path → type, for request bodies.
    request_fields: BTreeMap<String, String>,
    request_required: BTreeSet<String>,
    /// Field path → type, for success responses.
    response_fields: BTreeMap<String, String>,
    /// `request|response path` → enum values.
    enums: BTreeMap<String, BTreeSet<String>>,
}

/// A change and whether it breaks existing callers.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Change {
    pub breaking: bool,
    pub text: String,
}

/// Changes per operation: `+ op`, `- op`, or the list of changes of an operation in both.
#[derive(Debug, Default)]
pub struct Report {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: BTreeMap<String, Vec<Change>>,
    /// Generated types: `+ Name`, `- Name`, `Old -> New` (a type renamed breaks callers that
    /// name it).
    pub types: Vec<Change>,
}

impl Report {
    pub fn breaking(&self) -> usize {
        self.removed.len()
            + self.types.iter().filter(|c| c.breaking).count()
            + self
                .changed
                .values()
                .flatten()
                .filter(|c| c.breaking)
                .count()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        for op in &self.added {
            let _ = writeln!(out, "+ {op}");
        }
        for op in &self.removed {
            let _ = writeln!(out, "- {op}  [breaking]");
        }
        for (op, changes) in &self.changed {
            let _ = writeln!(out, "~ {op}");
            for change in changes {
                let flag = if change.breaking { "  [breaking]" } else { "" };
                let _ = writeln!(out, "    {}{flag}", change.text);
            }
        }
        for change in &self.types {
            let flag = if change.breaking { "  [breaking]" } else { "" };
            let _ = writeln!(out, "type {}{flag}", change.text);
        }
        let _ = write!(
            out,
            "{} added, {} removed, {} changed, {} type changes; {} breaking changes",
            self.added.len(),
            self.removed.len(),
            self.changed.len(),
            self.types.len(),
            self.breaking()
        );
        out
    }
}

/// Loads a merged document, or merges a folder of operation documents.
pub fn load(path: &Path) -> Result<Value, String> {
    if path.is_dir() {
        return crate::generate::generate(
            &[path.to_owned()],
            None,
            Some(&crate::workspace_root().join(crate::schemas::NAMES_FILE)),
        )
        .map(|g| g.merged.document);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_norway::from_str(&text).map_err(|e| format!("{} is not YAML/JSON: {e}", path.display()))
}

pub fn run(old: &Path, new: &Path) -> Result<(), String> {
    let report = diff(&load(old)?, &load(new)?);
    println!("{}", report.render());
    Ok(())
}

pub fn diff(old: &Value, new: &Value) -> Report {
    let types = type_changes(old, new);
    let (old, new) = (surfaces(&inline_refs(old)), surfaces(&inline_refs(new)));
    let mut report = Report {
        types,
        ..Report::default()
    };
    for (id, surface) in &new {
        match old.get(id) {
            None => report.added.push(format!("{id}  {}", surface.route)),
            Some(before) => {
                let changes = compare(before, surface);
                if !changes.is_empty() {
                    report.changed.insert(id.clone(), changes);
                }
            }
        }
    }
    for (id, surface) in &old {
        if !new.contains_key(id) {
            report.removed.push(format!("{id}  {}", surface.route));
        }
    }
    report
}

fn compare(old: &Surface, new: &Surface) -> Vec<Change> {
    let mut changes = Vec::new();
    let mut push = |breaking: bool, text: String| changes.push(Change { breaking, text });
    if old.route != new.route {
        push(true, format!("route {} -> {}", old.route, new.route));
    }
    for (param, required) in &new.params {
        match old.params.get(param) {
            None => push(
                *required,
                format!(
                    "+ param {param}{}",
                    if *required { " (required)" } else { "" }
                ),
            ),
            Some(false) if *required => push(true, format!("! param {param} is now required")),
            _ => {}
        }
    }
    for param in old.params.keys().filter(|p| !new.params.contains_key(*p)) {
        push(true, format!("- param {param}"));
    }
    compare_fields(
        "request",
        &old.request_fields,
        &new.request_fields,
        &new.request_required,
        &mut push,
    );
    compare_fields(
        "response",
        &old.response_fields,
        &new.response_fields,
        &BTreeSet::new(),
        &mut push,
    );
    for (place, values) in &new.enums {
        let before = old.enums.get(place).cloned().unwrap_or_default();
        let request = place.starts_with("request");
        for value in values.difference(&before) {
            // Response enums are open in the client: a new value arrives as `Unknown` today.
            push(false, format!("+ enum value {place}: {value:?}"));
        }
        for value in before.difference(values) {
            // Callers may send (request) or match on (response) a value that is gone.
            push(
                request || !values.is_empty(),
                format!("- enum value {place}: {value:?}"),
            );
        }
    }
    changes.sort();
    changes
}

/// Fields added (breaking only where the caller must now send them), retyped or removed.
fn compare_fields(
    side: &str,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    required: &BTreeSet<String>,
    push: &mut impl FnMut(bool, String),
) {
    for (field, ty) in new {
        match old.get(field) {
            None => {
                let required = required.contains(field);
                let note = if required { " (required)" } else { "" };
                push(required, format!("+ {side} field {field}: {ty}{note}"));
            }
            Some(before) if before != ty => {
                push(true, format!("! {side} field {field}: {before} -> {ty}"))
            }
            _ => {}
        }
    }
    for field in old.keys().filter(|f| !new.contains_key(*f)) {
        push(true, format!("- {side} field {field}"));
    }
}

fn surfaces(document: &Value) -> BTreeMap<String, Surface> {
    let mut out = BTreeMap::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, methods) in paths {
        for (method, op) in methods.as_object().into_iter().flatten() {
            let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let mut surface = Surface {
                route: format!("{} {path}", method.to_ascii_uppercase()),
                ..Surface::default()
            };
            for param in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let (Some(name), Some(place)) = (
                    param.get("name").and_then(Value::as_str),
                    param.get("in").and_then(Value::as_str),
                ) else {
                    continue;
                };
                let key = format!("{place} {name}");
                let required = param
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                surface.params.insert(key.clone(), required);
                if let Some(schema) = param.get("schema") {
                    collect_enums(schema, &format!("request {key}"), &mut surface.enums);
                }
            }
            if let Some(schema) = op.pointer("/requestBody/content/application~1json/schema") {
                let mut required = BTreeSet::new();
                flatten(
                    schema,
                    "",
                    &mut surface.request_fields,
                    Some(&mut required),
                    &mut surface.enums,
                    "request body",
                );
                surface.request_required = required;
            }
            for (status, response) in op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if !status.starts_with('2') {
                    continue;
                }
                if let Some(schema) = response.pointer("/content/application~1json/schema") {
                    flatten(
                        schema,
                        "",
                        &mut surface.response_fields,
                        None,
                        &mut surface.enums,
                        "response",
                    );
                }
            }
            out.insert(id.to_owned(), surface);
        }
    }
    out
}

/// The document with every `$ref` to `components/schemas` replaced by the schema it names, and
/// a nullable one-element `allOf` by its schema marked nullable: fields and enums read as if
/// every schema were written in place.
fn inline_refs(document: &Value) -> Value {
    fn inline(value: &Value, schemas: &Value, depth: usize) -> Value {
        match value {
            Value::Object(map) => {
                let reference = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"));
                if let (Some(name), true) = (reference, depth < 64) {
                    return inline(&schemas[name], schemas, depth + 1);
                }
                if let Some([only]) = map
                    .get("allOf")
                    .and_then(Value::as_array)
                    .map(Vec::as_slice)
                {
                    let mut inner = inline(only, schemas, depth);
                    if let (Some(inner), Some(nullable)) =
                        (inner.as_object_mut(), map.get("nullable"))
                    {
                        inner.insert("nullable".to_owned(), nullable.clone());
                    }
                    return inner;
                }
                Value::Object(
                    map.iter()
                        .map(|(k, v)| (k.clone(), inline(v, schemas, depth)))
                        .collect(),
                )
            }
            Value::Array(items) => {
                Value::Array(items.iter().map(|v| inline(v, schemas, depth)).collect())
            }
            other => other.clone(),
        }
    }
    let schemas = document
        .pointer("/components/schemas")
        .cloned()
        .unwrap_or(Value::Null);
    let mut inlined = document.clone();
    if let Some(paths) = document.get("paths") {
        inlined["paths"] = inline(paths, &schemas, 0);
    }
    inlined
}

/// Types renamed (the same schema under another name, descriptions aside and each nested
/// `$ref` read as "some type", so that a rename and a change inside a nested type still pair),
/// added and removed.
fn type_changes(old: &Value, new: &Value) -> Vec<Change> {
    let components = |document: &Value| -> BTreeMap<String, String> {
        document
            .pointer("/components/schemas")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, schema)| (name.clone(), without_descriptions(schema).to_string()))
            .collect()
    };
    let (old, new) = (components(old), components(new));
    let mut changes = Vec::new();
    let mut renamed_to = BTreeSet::new();
    for (name, shape) in old.iter().filter(|(n, _)| !new.contains_key(*n)) {
        let target = new
            .iter()
            .find(|(n, s)| *s == shape && !old.contains_key(*n) && !renamed_to.contains(*n));
        match target {
            Some((to, _)) => {
                renamed_to.insert(to.clone());
                changes.push(Change {
                    breaking: true,
                    text: format!("{name} -> {to}"),
                });
            }
            None => changes.push(Change {
                breaking: true,
                text: format!("- {name}"),
            }),
        }
    }
    for name in new
        .keys()
        .filter(|n| !old.contains_key(*n) && !renamed_to.contains(*n))
    {
        changes.push(Change {
            breaking: false,
            text: format!("+ {name}"),
        });
    }
    changes
}

fn without_descriptions(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key("$ref") => Value::String("$ref".to_owned()),
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "example"))
                .map(|(k, v)| (k.clone(), without_descriptions(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_descriptions).collect()),
        other => other.clone(),
    }
}

fn type_of(schema: &Value) -> String {
    schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("any")
        .to_owned()
}

fn collect_enums(schema: &Value, place: &str, enums: &mut BTreeMap<String, BTreeSet<String>>) {
    let schema = schema
        .get("items")
        .filter(|_| type_of(schema) == "array")
        .unwrap_or(schema);
    if let Some(values) = schema.get("enum").and_then(Value::as_array) {
        enums.insert(
            place.to_owned(),
            values
                .iter()
                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                .collect(),
        );
    }
}

/// Field paths (`items[].rules[].slot`) with their types.
fn flatten(
    schema: &Value,
    prefix: &str,
    fields: &mut BTreeMap<String, String>,
    mut required: Option<&mut BTreeSet<String>>,
    enums: &mut BTreeMap<String, BTreeSet<String>>,
    side: &str,
) {
    if type_of(schema) == "array" {
        if let Some(items) = schema.get("items") {
            flatten(items, &format!("{prefix}[]"), fields, required, enums, side);
        }
        return;
    }
    let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required_here: BTreeSet<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    for (name, property) in properties {
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}.{name}")
        };
        fields.insert(path.clone(), type_of(property));
        if required_here.contains(name.as_str()) {
            if let Some(required) = required.as_deref_mut() {
                required.insert(path.clone());
            }
        }
        collect_enums(property, &format!("{side} {path}"), enums);
        flatten(
            property,
            &path,
            fields,
            required.as_deref_mut(),
            enums,
            side,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(params: Value, response: Value) -> Value {
        json!({"paths": {"/orgs/{id}/licenses": {"get": {
            "operationId": "getLicenses",
            "parameters": params,
            "responses": {"200": {"content": {"application/json": {"schema": response}}}},
        }}}})
    }

    #[test]
    fn flags_what_breaks_callers() {
        let old = doc(
            json!([{"name": "state", "in": "query", "schema": {"type": "string", "enum": ["a", "b"]}},
                   {"name": "gone", "in": "query"}]),
            json!({"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "seats": {"type": "integer"}}}}),
        );
        let new = doc(
            json!([{"name": "state", "in": "query", "schema": {"type": "string", "enum": ["a", "c"]}},
                   {"name": "must", "in": "query", "required": true}]),
            json!({"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "string"}, "seats": {"type": "string"}, "extra": {"type": "boolean"}}}}),
        );
        let report = diff(&old, &new);
        let changes = &report.changed["getLicenses"];
        let has = |text: &str, breaking: bool| {
            changes
                .iter()
                .any(|c| c.text == text && c.breaking == breaking)
        };
        assert!(has("+ param query must (required)", true), "{changes:?}");
        assert!(has("- param query gone", true), "{changes:?}");
        assert!(
            has("- enum value request query state: \"b\"", true),
            "{changes:?}"
        );
        assert!(
            has("+ enum value request query state: \"c\"", false),
            "{changes:?}"
        );
        assert!(
            has("+ response field [].extra: boolean", false),
            "{changes:?}"
        );
        assert!(
            has("! response field [].seats: integer -> string", true),
            "{changes:?}"
        );
        assert_eq!(report.breaking(), 4);
        assert!(report
            .render()
            .ends_with("0 added, 0 removed, 1 changed, 0 type changes; 4 breaking changes"));
    }

    #[test]
    fn added_and_removed_operations() {
        let old = doc(json!([]), json!({"type": "object"}));
        let mut new = old.clone();
        new["paths"]["/new"] = json!({"post": {"operationId": "createThing", "responses": {}}});
        let report = diff(&old, &new);
        assert_eq!(report.added, ["createThing  POST /new"]);
        let back = diff(&new, &old);
        assert_eq!(back.removed, ["createThing  POST /new"]);
        assert_eq!(back.breaking(), 1);
        assert!(diff(&old, &old).changed.is_empty());
    }

    #[test]
    fn fields_and_enums_are_followed_through_refs_and_renames_are_reported() {
        let with_refs = |type_name: &str, states: Value| {
            let mut document = doc(
                json!([]),
                json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{type_name}")}}),
            );
            document["components"] = json!({"schemas": {
                type_name: {"type": "object", "properties": {
                    "state": {"allOf": [{"$ref": "#/components/schemas/LicenseState"}], "nullable": true}}},
                "LicenseState": {"type": "string", "enum": states}
            }});
            document
        };
        let old = with_refs("OrganizationLicense", json!(["active", "expired"]));
        let new = with_refs("License", json!(["active"]));
        let report = diff(&old, &new);
        let changes = &report.changed["getLicenses"];
        assert!(
            changes
                .iter()
                .any(|c| c.text == "- enum value response [].state: \"expired\"" && c.breaking),
            "{changes:?}"
        );
        let types: Vec<&str> = report.types.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(types, ["OrganizationLicense -> License"]);
        // Written inline or shared, the same API is no change.
        let inline = doc(
            json!([]),
            json!({"type": "array", "items": {"type": "object", "properties": {
                "state": {"type": "string", "enum": ["active"], "nullable": true}}}}),
        );
        assert!(diff(&inline, &new).changed.is_empty());
    }
}
