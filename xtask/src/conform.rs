//! `cargo xtask conform DIR`: recorded answers against what the specs document.
//!
//! Each fixture under DIR is matched to its operation (method and path, against
//! `openapi.yaml`); its body is compared with the operation's documented response schema (its
//! document in `openapi/specs`, with `openapi/corrections.yaml` applied): fields the schema does
//! not list, values of another type, another root shape, enum values not listed, required
//! fields missing, `null` where the schema says otherwise. The report lists them per operation.
//! For each difference the client cannot absorb (another shape, a type no repair turns into
//! the documented one) it proposes a correction entry; in a recording of a real answer (a
//! fixture with a `source`) such a difference fails the command, naming the entry to add.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::corrections::Correction;

/// What differs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    UnknownField,
    Null,
    EnumValue,
    MissingRequired,
    /// A type the client's decoding repairs (`"12"` for a number, `3.0` for an integer).
    RepairableType,
    /// A type or shape the client cannot read as documented.
    Breaking,
}

/// One difference in one body.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// Where in the body, items as `[]`: `[].firstSeen`.
    pub path: String,
    pub kind: Kind,
    pub detail: String,
    /// Where in the operation the schema of that value is (a JSON pointer), for corrections.
    pub pointer: String,
    /// The JSON type of the value found.
    pub found: &'static str,
}

/// Compares `value` with `schema` (the operation's response schema at `pointer`).
pub fn compare(
    value: &Value,
    schema: &Value,
    path: &str,
    pointer: &str,
    out: &mut Vec<Difference>,
) {
    let mut note = |kind: Kind, detail: String| {
        out.push(Difference {
            path: if path.is_empty() {
                ".".into()
            } else {
                path.to_owned()
            },
            kind,
            detail,
            pointer: pointer.to_owned(),
            found: type_of(value),
        })
    };
    let documented = schema.get("type").and_then(Value::as_str).or_else(|| {
        if schema.get("properties").is_some() {
            Some("object")
        } else if schema.get("items").is_some() {
            Some("array")
        } else {
            None
        }
    });
    let Some(documented) = documented else {
        return;
    };
    if value.is_null() {
        note(Kind::Null, format!("null where the spec says {documented}"));
        return;
    }
    let found = type_of(value);
    let fits = match documented {
        "integer" => value.as_i64().is_some() || value.as_u64().is_some(),
        "number" => value.is_number(),
        other => other == found,
    };
    if !fits {
        let repairable = match (documented, value) {
            ("integer", Value::Number(n)) => n.as_f64().is_some_and(|f| f.fract() == 0.0),
            ("integer" | "number", Value::String(s)) => s.trim().parse::<f64>().is_ok(),
            ("string", Value::Number(_) | Value::Bool(_)) => true,
            _ => false,
        };
        let kind = if repairable {
            Kind::RepairableType
        } else {
            Kind::Breaking
        };
        note(kind, format!("{found} where the spec says {documented}"));
        return;
    }
    match value {
        Value::Object(map) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            if let Some(properties) = properties {
                for (name, field) in map {
                    let here = join(path, name);
                    match properties.get(name) {
                        Some(field_schema) => compare(
                            field,
                            field_schema,
                            &here,
                            &format!("{pointer}/properties/{}", escape(name)),
                            out,
                        ),
                        None if schema.get("additionalProperties").is_none() => {
                            out.push(Difference {
                                path: here,
                                kind: Kind::UnknownField,
                                detail: "a field the spec does not list".into(),
                                pointer: format!("{pointer}/properties"),
                                found: type_of(field),
                            })
                        }
                        None => {}
                    }
                }
            }
            for required in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(required) {
                    out.push(Difference {
                        path: join(path, required),
                        kind: Kind::MissingRequired,
                        detail: "a required field is missing".into(),
                        pointer: format!("{pointer}/required"),
                        found: "absent",
                    });
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    compare(
                        item,
                        item_schema,
                        &format!("{path}[]"),
                        &format!("{pointer}/items"),
                        out,
                    );
                }
            }
        }
        Value::String(text) => {
            let listed = schema.get("enum").and_then(Value::as_array);
            if let Some(listed) = listed {
                if !listed.iter().any(|v| v.as_str() == Some(text)) {
                    let shown: String = text.chars().take(40).collect();
                    note(
                        Kind::EnumValue,
                        format!("`{shown}` is not among the enum values listed"),
                    );
                }
            }
        }
        _ => {}
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// A fixture as conform reads it.
struct Recorded {
    file: PathBuf,
    method: String,
    path: String,
    status: u16,
    body: Value,
    /// A recording of a real answer (it says where it came from).
    real: bool,
}

fn fixtures(dir: &Path, out: &mut Vec<Recorded>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("cannot read {}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            fixtures(&path, out)?;
            continue;
        }
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        // Other JSON beside the fixtures (webhook payloads) is not an exchange.
        let (Some(method), Some(request_path), Some(status)) = (
            value.pointer("/request/method").and_then(Value::as_str),
            value.pointer("/request/path").and_then(Value::as_str),
            value.pointer("/response/status").and_then(Value::as_u64),
        ) else {
            continue;
        };
        out.push(Recorded {
            file: path.clone(),
            method: method.to_ascii_lowercase(),
            path: request_path.to_owned(),
            status: u16::try_from(status).unwrap_or(0),
            body: value
                .pointer("/response/body")
                .cloned()
                .unwrap_or(Value::Null),
            real: value.get("source").is_some_and(|s| !s.is_null()),
        });
    }
    Ok(())
}

/// The operationId whose path template fits `path` (below `/api/v1`).
fn operation_of<'a>(merged: &'a Value, method: &str, path: &str) -> Option<&'a str> {
    let relative = path.strip_prefix("/api/v1").unwrap_or(path);
    let segments: Vec<&str> = relative.split('/').collect();
    let paths = merged.get("paths")?.as_object()?;
    // A literal segment beats a parameter (`/networks/{id}/clients/overview` over `{clientId}`).
    let mut best: Option<(usize, &str)> = None;
    for (template, item) in paths {
        let parts: Vec<&str> = template.split('/').collect();
        if parts.len() != segments.len() {
            continue;
        }
        let mut literal = 0;
        let fits = parts.iter().zip(&segments).all(|(t, s)| {
            if t.starts_with('{') {
                true
            } else {
                literal += 1;
                t == s
            }
        });
        if !fits {
            continue;
        }
        let Some(id) = item
            .get(method)
            .and_then(|op| op.get("operationId"))
            .and_then(Value::as_str)
        else {
            continue;
        };
        if best.is_none_or(|(l, _)| literal > l) {
            best = Some((literal, id));
        }
    }
    best.map(|(_, id)| id)
}

/// The documented response schema of `operation_id` for `status`, corrections applied.
fn documented_schema(
    specs: &Path,
    operation_id: &str,
    status: u16,
    corrections: &[Correction],
) -> Result<Option<(Value, String)>, String> {
    let file = specs.join(format!("{operation_id}.json"));
    let text = std::fs::read_to_string(&file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let document: Value =
        serde_json::from_str(&text).map_err(|e| format!("{}: {e}", file.display()))?;
    let mut operation = document.get("spec").cloned().unwrap_or(Value::Null);
    for correction in corrections.iter().filter(|c| c.operation == operation_id) {
        crate::corrections::apply_to(&mut operation, correction)?;
    }
    let pointer = format!("/responses/{status}/content/application~1json/schema");
    Ok(operation
        .pointer(&pointer)
        .cloned()
        .map(|schema| (schema, pointer)))
}

/// The report of a run.
#[derive(Debug, Default)]
pub struct Report {
    /// Per operation: fixtures compared, and each difference with the fixtures showing it.
    pub operations: BTreeMap<String, (usize, BTreeMap<Difference, BTreeSet<PathBuf>>)>,
    /// Fixtures of no known operation.
    pub unmatched: Vec<PathBuf>,
    /// What the corrections file says of operations compared.
    pub corrected: BTreeMap<String, String>,
    /// Breaking differences in recordings of real answers: the corrections they call for.
    pub proposals: Vec<String>,
}

impl Report {
    pub fn render(&self, root: &Path) -> String {
        let mut out = String::new();
        let shown = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
        let _ = writeln!(
            out,
            "{:<48} {:>8} {:>11}",
            "operation", "fixtures", "differences"
        );
        for (operation, (count, differences)) in &self.operations {
            let _ = writeln!(out, "{operation:<48} {count:>8} {:>11}", differences.len());
            if let Some(correction) = self.corrected.get(operation) {
                let _ = writeln!(out, "  corrected: {correction}");
            }
            for (difference, files) in differences {
                let _ = writeln!(
                    out,
                    "  {:<34} {} ({}: {})",
                    difference.path,
                    difference.detail,
                    match difference.kind {
                        Kind::UnknownField => "unknown field",
                        Kind::Null => "null",
                        Kind::EnumValue => "enum value",
                        Kind::MissingRequired => "missing",
                        Kind::RepairableType => "repaired by the client",
                        Kind::Breaking => "BREAKS decoding",
                    },
                    files
                        .iter()
                        .map(|f| shown(f))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        for file in &self.unmatched {
            let _ = writeln!(out, "no operation fits {}", shown(file));
        }
        out
    }
}

/// Compares every fixture under `dir` with the specs.
pub fn conform(
    dir: &Path,
    merged: &Value,
    specs: &Path,
    corrections: &[Correction],
) -> Result<Report, String> {
    let mut recorded = Vec::new();
    fixtures(dir, &mut recorded)?;
    let mut report = Report::default();
    for fixture in &recorded {
        let Some(operation) = operation_of(merged, &fixture.method, &fixture.path) else {
            report.unmatched.push(fixture.file.clone());
            continue;
        };
        for correction in corrections.iter().filter(|c| c.operation == operation) {
            report
                .corrected
                .insert(operation.to_owned(), correction.correction.clone());
        }
        let entry = report.operations.entry(operation.to_owned()).or_default();
        entry.0 += 1;
        if !(200..300).contains(&fixture.status) {
            continue;
        }
        let Some((schema, pointer)) =
            documented_schema(specs, operation, fixture.status, corrections)?
        else {
            continue;
        };
        let mut differences = Vec::new();
        compare(&fixture.body, &schema, "", &pointer, &mut differences);
        for difference in differences {
            if fixture.real && difference.kind == Kind::Breaking {
                report
                    .proposals
                    .push(proposal(operation, &fixture.file, &difference));
            }
            entry
                .1
                .entry(difference)
                .or_default()
                .insert(fixture.file.clone());
        }
    }
    report.proposals.sort();
    report.proposals.dedup();
    Ok(report)
}

/// The corrections entry a breaking difference calls for.
fn proposal(operation: &str, file: &Path, difference: &Difference) -> String {
    let patch = match difference.found {
        "array" => format!("    - {{op: wrap-in-array, path: {}}}", difference.pointer),
        found => format!(
            "    - op: replace\n      path: {}/type\n      value: {found}",
            difference.pointer
        ),
    };
    format!(
        "- operation: {operation}\n  correction: >-\n    `{}`: {} (say what the API does)\n  evidence:\n    - {}\n  patch:\n{patch}\n",
        difference.path,
        difference.detail,
        file.display()
    )
}

/// `cargo xtask conform`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ConformArgs {
    /// A folder of fixtures (searched recursively).
    dir: PathBuf,
}

pub fn run(args: ConformArgs) -> Result<(), String> {
    let root = crate::workspace_root();
    let merged_text = std::fs::read_to_string(root.join("openapi/openapi.yaml"))
        .map_err(|e| format!("cannot read openapi/openapi.yaml: {e}"))?;
    let merged: Value =
        serde_norway::from_str(&merged_text).map_err(|e| format!("openapi/openapi.yaml: {e}"))?;
    let corrections = crate::corrections::load(&root.join(crate::corrections::FILE))?;
    let dir = if args.dir.is_absolute() {
        args.dir
    } else {
        std::env::current_dir()
            .map_err(|e| e.to_string())?
            .join(args.dir)
    };
    let report = conform(&dir, &merged, &root.join("openapi/specs"), &corrections)?;
    print!("{}", report.render(&root));
    if report.proposals.is_empty() {
        return Ok(());
    }
    Err(format!(
        "recordings of real answers the client cannot read as the spec documents them; add to {}:\n\n{}",
        crate::corrections::FILE,
        report.proposals.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_kind_of_difference_is_found_and_classified() {
        let schema = json!({"type": "object", "required": ["id"], "properties": {
            "id": {"type": "string"},
            "seen": {"type": "integer"},
            "count": {"type": "integer"},
            "state": {"type": "string", "enum": ["on", "off"]},
            "tags": {"type": "array", "items": {"type": "string"}},
            "name": {"type": "string"},
        }});
        let body = json!({"seen": "2024-01-01T00:00:00Z", "count": "12", "state": "dim",
            "tags": ["a", 1], "name": null, "extra": true});
        let mut found = Vec::new();
        compare(&body, &schema, "", "/s", &mut found);
        let kinds: BTreeMap<String, Kind> = found
            .iter()
            .map(|d| (d.path.clone(), d.kind.clone()))
            .collect();
        assert_eq!(kinds["seen"], Kind::Breaking);
        assert_eq!(kinds["count"], Kind::RepairableType);
        assert_eq!(kinds["state"], Kind::EnumValue);
        assert_eq!(kinds["tags[]"], Kind::RepairableType);
        assert_eq!(kinds["name"], Kind::Null);
        assert_eq!(kinds["extra"], Kind::UnknownField);
        assert_eq!(kinds["id"], Kind::MissingRequired);
        let seen = found.iter().find(|d| d.path == "seen").unwrap();
        assert_eq!(seen.pointer, "/s/properties/seen");
        // Another root shape.
        let mut root = Vec::new();
        compare(&json!([{"id": "1"}]), &schema, "", "/s", &mut root);
        assert_eq!(root[0].kind, Kind::Breaking);
        assert!(proposal("getX", Path::new("f.json"), &root[0]).contains("wrap-in-array"));
    }

    #[test]
    fn fixtures_find_their_operation_by_method_and_path() {
        let merged = json!({"paths": {
            "/networks/{networkId}/clients": {"get": {"operationId": "getNetworkClients"}},
            "/networks/{networkId}/clients/{clientId}": {"get": {"operationId": "getNetworkClient"}},
            "/networks/{networkId}/clients/overview": {"get": {"operationId": "getNetworkClientsOverview"}},
        }});
        let op = |path| operation_of(&merged, "get", path);
        assert_eq!(
            op("/api/v1/networks/N_1/clients"),
            Some("getNetworkClients")
        );
        assert_eq!(
            op("/api/v1/networks/N_1/clients/k1"),
            Some("getNetworkClient")
        );
        assert_eq!(
            op("/api/v1/networks/N_1/clients/overview"),
            Some("getNetworkClientsOverview")
        );
        assert_eq!(op("/api/v1/nothing"), None);
    }

    /// The repository's fixtures against the specs: every recording of a real answer reads as
    /// its (corrected) spec documents it.
    #[test]
    fn the_repositorys_recordings_conform_to_the_corrected_specs() {
        let root = crate::workspace_root();
        let merged: Value = serde_norway::from_str(
            &std::fs::read_to_string(root.join("openapi/openapi.yaml")).unwrap(),
        )
        .unwrap();
        let corrections = crate::corrections::load(&root.join(crate::corrections::FILE)).unwrap();
        let report = conform(
            &root.join("tests/fixtures"),
            &merged,
            &root.join("openapi/specs"),
            &corrections,
        )
        .unwrap();
        assert!(
            report.proposals.is_empty(),
            "{}",
            report.proposals.join("\n")
        );
        assert!(report.operations.contains_key("getNetworkClients"));
        // Without the correction, the recording of getNetworkClients would not conform.
        let without = conform(
            &root.join("tests/fixtures/recorded"),
            &merged,
            &root.join("openapi/specs"),
            &[],
        )
        .unwrap();
        assert!(
            without
                .proposals
                .iter()
                .any(|p| p.contains("getNetworkClients")),
            "{:?}",
            without.proposals
        );
    }
}
