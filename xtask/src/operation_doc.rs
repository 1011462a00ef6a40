//! One documented operation as Meraki's docs site publishes it:
//! `{type, title, meta{info, servers, security, securitySchemes, tags, openapi, ...},
//!   spec{<OpenAPI operation>, method, path, sampleCode, __originalOperationId}}`.

use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::version::ApiVersion;

/// Keys of `spec` that are docs-site material or placement, not part of the OpenAPI operation.
const SPEC_KEYS_DROPPED: &[&str] = &["sampleCode", "__originalOperationId", "method", "path"];

/// The keys of a path item that hold operations.
pub const HTTP_METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// A validated operation document, with docs-site material removed.
#[derive(Debug, Clone)]
pub struct OperationDoc {
    pub file: PathBuf,
    pub version: ApiVersion,
    pub openapi: String,
    pub operation_id: String,
    /// Lower-case HTTP method.
    pub method: String,
    pub path: String,
    /// The OpenAPI operation object, ready to place under `paths.<path>.<method>`.
    pub operation: Map<String, Value>,
    /// Document-level parts: `info`, `servers`, `security`, `securitySchemes`, `tags`.
    pub meta: Map<String, Value>,
}

/// What is wrong with an input document.
#[derive(Debug)]
pub enum Problem {
    Unreadable(std::io::Error),
    NotJson(serde_json::Error),
    Missing(&'static str),
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    BadVersion(String),
    UnsupportedOpenApi(String),
    UnknownMethod(String),
    PathParamNotInPath(String),
    PathPlaceholderUndeclared(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unreadable(e) => write!(f, "cannot be read: {e}"),
            Problem::NotJson(e) => write!(f, "is not valid JSON: {e}"),
            Problem::Missing(field) => write!(f, "has no `{field}`"),
            Problem::WrongType { field, expected } => write!(f, "`{field}` is not {expected}"),
            Problem::BadVersion(v) => write!(
                f,
                "`meta.info.version` is {v:?}, not a version such as 1.53.0 or 1.35.0-beta.0"
            ),
            Problem::UnsupportedOpenApi(v) => write!(
                f,
                "`meta.openapi` is {v:?}; only OpenAPI 3.0.x documents are supported"
            ),
            Problem::UnknownMethod(m) => write!(f, "`spec.method` {m:?} is not an HTTP method"),
            Problem::PathParamNotInPath(p) => write!(
                f,
                "declares path parameter `{p}` but `spec.path` has no `{{{p}}}`"
            ),
            Problem::PathPlaceholderUndeclared(p) => write!(
                f,
                "`spec.path` has `{{{p}}}` but no path parameter `{p}` is declared"
            ),
        }
    }
}

/// An input problem, tied to the file it was found in.
#[derive(Debug)]
pub struct InputError {
    pub file: PathBuf,
    pub problem: Problem,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.problem)
    }
}

impl std::error::Error for InputError {}

impl OperationDoc {
    /// Reads and validates one document.
    pub fn load(file: &Path) -> Result<Self, InputError> {
        let fail = |problem| InputError {
            file: file.to_owned(),
            problem,
        };
        let bytes = std::fs::read(file).map_err(|e| fail(Problem::Unreadable(e)))?;
        let doc: Value = serde_json::from_slice(&bytes).map_err(|e| fail(Problem::NotJson(e)))?;
        Self::from_value(file, doc).map_err(fail)
    }

    fn from_value(file: &Path, doc: Value) -> Result<Self, Problem> {
        let Value::Object(mut doc) = doc else {
            return Err(Problem::WrongType {
                field: "(document)",
                expected: "an object",
            });
        };
        let mut meta = take_object(&mut doc, "meta")?;
        let mut spec = take_object(&mut doc, "spec")?;

        let openapi = take_string(&mut meta, "openapi", "meta.openapi")?;
        if !(openapi == "3.0" || openapi.starts_with("3.0.")) {
            return Err(Problem::UnsupportedOpenApi(openapi));
        }
        let info = meta
            .get("info")
            .and_then(Value::as_object)
            .ok_or(Problem::Missing("meta.info"))?;
        let version_text = info
            .get("version")
            .and_then(Value::as_str)
            .ok_or(Problem::Missing("meta.info.version"))?;
        let version = ApiVersion::parse(version_text)
            .ok_or_else(|| Problem::BadVersion(version_text.to_owned()))?;

        let method = take_string(&mut spec, "method", "spec.method")?.to_ascii_lowercase();
        if !HTTP_METHODS.contains(&method.as_str()) {
            return Err(Problem::UnknownMethod(method));
        }
        let path = take_string(&mut spec, "path", "spec.path")?;
        if !path.starts_with('/') {
            return Err(Problem::WrongType {
                field: "spec.path",
                expected: "a path starting with `/`",
            });
        }
        let operation_id = match spec.get("operationId") {
            Some(Value::String(id)) if !id.is_empty() => id.clone(),
            Some(Value::String(_)) | None => return Err(Problem::Missing("spec.operationId")),
            Some(_) => {
                return Err(Problem::WrongType {
                    field: "spec.operationId",
                    expected: "a string",
                })
            }
        };
        for key in SPEC_KEYS_DROPPED {
            spec.remove(*key);
        }
        check_path_params(&path, &spec)?;

        meta.retain(|key, _| {
            matches!(
                key.as_str(),
                "info" | "servers" | "security" | "securitySchemes" | "tags"
            )
        });
        Ok(Self {
            file: file.to_owned(),
            version,
            openapi,
            operation_id,
            method,
            path,
            operation: spec,
            meta,
        })
    }
}

fn take_object(
    map: &mut Map<String, Value>,
    field: &'static str,
) -> Result<Map<String, Value>, Problem> {
    match map.remove(field) {
        Some(Value::Object(obj)) => Ok(obj),
        Some(_) => Err(Problem::WrongType {
            field,
            expected: "an object",
        }),
        None => Err(Problem::Missing(field)),
    }
}

fn take_string(
    map: &mut Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<String, Problem> {
    match map.remove(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s),
        Some(Value::String(_)) | None => Err(Problem::Missing(field)),
        Some(_) => Err(Problem::WrongType {
            field,
            expected: "a string",
        }),
    }
}

/// The `{name}` placeholders of a path template.
pub fn path_placeholders(path: &str) -> BTreeSet<&str> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .collect()
}

fn check_path_params(path: &str, spec: &Map<String, Value>) -> Result<(), Problem> {
    let placeholders = path_placeholders(path);
    let declared: BTreeSet<&str> = spec
        .get("parameters")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("in").and_then(Value::as_str) == Some("path"))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    if let Some(extra) = declared.difference(&placeholders).next() {
        return Err(Problem::PathParamNotInPath((*extra).to_owned()));
    }
    if let Some(missing) = placeholders.difference(&declared).next() {
        return Err(Problem::PathPlaceholderUndeclared((*missing).to_owned()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(spec: Value) -> Value {
        json!({
            "type": "api",
            "meta": {"openapi": "3.0.1", "info": {"version": "1.2.3"}, "x-parser-conf": {}},
            "spec": spec,
        })
    }

    fn problem(value: Value) -> String {
        OperationDoc::from_value(Path::new("x.json"), value)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn strips_docs_site_material() {
        let op = OperationDoc::from_value(
            Path::new("x.json"),
            doc(json!({
                "operationId": "getThing", "method": "GET", "path": "/things/{id}",
                "sampleCode": {}, "__originalOperationId": "getThing",
                "parameters": [{"name": "id", "in": "path", "required": true}],
            })),
        )
        .unwrap();
        assert_eq!(op.method, "get");
        assert!(!op.operation.contains_key("sampleCode"));
        assert!(!op.operation.contains_key("__originalOperationId"));
        assert!(!op.operation.contains_key("method"));
        assert!(!op.meta.contains_key("x-parser-conf"));
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(problem(doc(json!({"method": "get", "path": "/a"}))).contains("spec.operationId"));
        assert!(problem(doc(json!({"operationId": "a", "path": "/a"}))).contains("spec.method"));
        assert!(problem(doc(json!({"operationId": "a", "method": "get"}))).contains("spec.path"));
        let mut v = doc(json!({"operationId": "a", "method": "get", "path": "/a"}));
        v["meta"]["openapi"] = json!("3.1.0");
        assert!(problem(v).contains("only OpenAPI 3.0.x"));
        let wrong_param = doc(json!({
            "operationId": "a", "method": "get", "path": "/a/{id}",
            "parameters": [{"name": "ident", "in": "path"}],
        }));
        assert!(problem(wrong_param).contains("`ident`"));
        let undeclared = doc(json!({"operationId": "a", "method": "get", "path": "/a/{id}"}));
        assert!(problem(undeclared).contains("`{id}`"));
    }
}
