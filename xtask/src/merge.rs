//! Merging operation documents into one OpenAPI 3.0 document.
//!
//! The same operation may be published in several documents (same operationId, or same
//! method and path); the newest API version wins. Two *different* operations claiming one
//! operationId or one method+path within the same API version is an error.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::operation_doc::OperationDoc;
use crate::version::ApiVersion;

/// Result of a merge: the document plus what a maintainer should be told.
pub struct Merged {
    pub document: Value,
    pub version: ApiVersion,
    pub operations: usize,
    /// One line per operation published in several documents: which one was kept.
    pub superseded: Vec<String>,
}

/// Two documents of the same API version that disagree about one operation key.
#[derive(Debug)]
pub struct ConflictError {
    pub key: String,
    pub first: PathBuf,
    pub second: PathBuf,
}

impl fmt::Display for ConflictError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} and {} describe different operations that both claim {} at the same API version",
            self.first.display(),
            self.second.display(),
            self.key
        )
    }
}

impl std::error::Error for ConflictError {}

/// Merges documents. The result depends only on the documents, not on their order.
pub fn merge(mut docs: Vec<OperationDoc>) -> Result<Merged, ConflictError> {
    // Newest first, then by file name: every later choice is "the first of a group".
    docs.sort_by(|a, b| b.version.cmp(&a.version).then_with(|| a.file.cmp(&b.file)));

    let groups = group_same_operations(&docs);
    let mut kept: Vec<&OperationDoc> = Vec::new();
    let mut superseded = Vec::new();
    for members in groups {
        let newest = &docs[members[0]];
        for &other in &members[1..] {
            let other = &docs[other];
            if other.version == newest.version && !same_operation(newest, other) {
                return Err(ConflictError {
                    key: shared_key(newest, other),
                    first: newest.file.clone(),
                    second: other.file.clone(),
                });
            }
            superseded.push(format!(
                "{}: kept {} ({}) over {} ({})",
                newest.operation_id,
                newest.file.display(),
                newest.version,
                other.file.display(),
                other.version
            ));
        }
        kept.push(newest);
    }
    superseded.sort();

    let newest = docs.first();
    let version = newest
        .map(|d| d.version.clone())
        .unwrap_or_else(|| ApiVersion::parse("0").expect("valid literal"));
    Ok(Merged {
        document: build_document(newest, &docs, &kept),
        version,
        operations: kept.len(),
        superseded,
    })
}

/// Groups indices of `docs` (already sorted newest first) that share an operationId or a
/// method+path, transitively. Each group lists its members in `docs` order.
fn group_same_operations(docs: &[OperationDoc]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..docs.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut first_with_key: HashMap<String, usize> = HashMap::new();
    for (i, doc) in docs.iter().enumerate() {
        for key in [format!("operationId {}", doc.operation_id), route_key(doc)] {
            match first_with_key.get(&key) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    // Keep the smallest index (the newest document) as the root.
                    parent[a.max(b)] = a.min(b);
                }
                None => {
                    first_with_key.insert(key, i);
                }
            }
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..docs.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    groups.into_values().collect()
}

fn route_key(doc: &OperationDoc) -> String {
    format!("{} {}", doc.method.to_ascii_uppercase(), doc.path)
}

fn shared_key(a: &OperationDoc, b: &OperationDoc) -> String {
    if a.operation_id == b.operation_id {
        format!("operationId `{}`", a.operation_id)
    } else {
        format!("`{}`", route_key(a))
    }
}

fn same_operation(a: &OperationDoc, b: &OperationDoc) -> bool {
    a.operation_id == b.operation_id
        && a.method == b.method
        && a.path == b.path
        && a.operation == b.operation
}

/// The extension naming the API version of the document each operation came from.
pub const API_VERSION: &str = "x-api-version";

fn build_document(
    newest: Option<&OperationDoc>,
    all: &[OperationDoc],
    kept: &[&OperationDoc],
) -> Value {
    let meta = newest.map(|d| d.meta.clone()).unwrap_or_default();
    let mut out = Map::new();
    out.insert(
        "openapi".into(),
        Value::String(newest.map_or("3.0.3".into(), |d| d.openapi.clone())),
    );
    for key in ["info", "servers", "security"] {
        if let Some(value) = meta.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    out.insert(
        "tags".into(),
        Value::Array(union_of_tags(newest, all, kept)),
    );

    let mut paths: BTreeMap<&str, BTreeMap<&str, &OperationDoc>> = BTreeMap::new();
    for doc in kept {
        paths.entry(&doc.path).or_default().insert(&doc.method, doc);
    }
    let paths: Map<String, Value> = paths
        .into_iter()
        .map(|(path, methods)| {
            let methods = methods
                .into_iter()
                .map(|(method, doc)| {
                    let mut op = doc.operation.clone();
                    // The document's version: `info.version` is only the newest one's.
                    op.insert(API_VERSION.into(), Value::String(doc.version.to_string()));
                    (method.to_owned(), Value::Object(op))
                })
                .collect();
            (path.to_owned(), Value::Object(methods))
        })
        .collect();
    out.insert("paths".into(), Value::Object(paths));

    if let Some(schemes) = meta.get("securitySchemes") {
        let mut components = Map::new();
        components.insert("securitySchemes".into(), schemes.clone());
        out.insert("components".into(), Value::Object(components));
    }
    Value::Object(out)
}

/// The newest document's tag list, then tags only older documents or operations name, sorted.
fn union_of_tags(
    newest: Option<&OperationDoc>,
    all: &[OperationDoc],
    kept: &[&OperationDoc],
) -> Vec<Value> {
    let tag_names = |doc: &OperationDoc| -> Vec<String> {
        doc.meta
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|t| t.get("name").and_then(Value::as_str).map(str::to_owned))
            .collect()
    };
    let mut tags: Vec<Value> = Vec::new();
    let mut seen = BTreeSet::new();
    if let Some(newest) = newest {
        for tag in newest
            .meta
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(name) = tag.get("name").and_then(Value::as_str) {
                if seen.insert(name.to_owned()) {
                    tags.push(tag.clone());
                }
            }
        }
    }
    let mut extra = BTreeSet::new();
    for doc in all {
        extra.extend(tag_names(doc));
    }
    for doc in kept {
        extra.extend(
            doc.operation
                .get("tags")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str().map(str::to_owned)),
        );
    }
    for name in extra {
        if seen.insert(name.clone()) {
            let mut tag = Map::new();
            tag.insert("name".into(), Value::String(name));
            tags.push(Value::Object(tag));
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::path::Path;

    fn op(
        file: &str,
        version: &str,
        id: &str,
        method: &str,
        path: &str,
        extra: Value,
    ) -> OperationDoc {
        let mut operation = Map::new();
        operation.insert("operationId".into(), json!(id));
        operation.insert("description".into(), extra);
        OperationDoc {
            file: Path::new(file).to_owned(),
            version: ApiVersion::parse(version).unwrap(),
            openapi: "3.0.1".into(),
            operation_id: id.into(),
            method: method.into(),
            path: path.into(),
            operation,
            meta: json!({"info": {"version": version}, "tags": [{"name": version}]})
                .as_object()
                .unwrap()
                .clone(),
        }
    }

    #[test]
    fn newest_version_wins_and_is_reported() {
        let merged = merge(vec![
            op("new.json", "1.53.0", "getA", "get", "/a", json!("new")),
            op("old.json", "1.42.0", "getA", "get", "/a", json!("old")),
        ])
        .unwrap();
        assert_eq!(merged.operations, 1);
        assert_eq!(merged.document["paths"]["/a"]["get"]["description"], "new");
        assert_eq!(merged.superseded.len(), 1);
        assert!(merged.superseded[0].contains("kept new.json (1.53.0) over old.json (1.42.0)"));
        assert_eq!(merged.document["info"]["version"], "1.53.0");
    }

    #[test]
    fn pre_releases_merge_before_their_release() {
        let early = || {
            op(
                "early.json",
                "1.35.0-beta.0",
                "getA",
                "get",
                "/a",
                json!("early"),
            )
        };
        let merged = merge(vec![
            early(),
            op("old.json", "1.34.0", "getA", "get", "/a", json!("old")),
            op(
                "beta.json",
                "1.36.0-beta.1",
                "getB",
                "get",
                "/b",
                json!("beta"),
            ),
        ])
        .unwrap();
        assert_eq!(
            merged.document["paths"]["/a"]["get"]["description"],
            "early"
        );
        assert_eq!(merged.document["info"]["version"], "1.36.0-beta.1");
        let released = merge(vec![
            early(),
            op("final.json", "1.35.0", "getA", "get", "/a", json!("final")),
        ])
        .unwrap();
        assert_eq!(
            released.document["paths"]["/a"]["get"]["description"],
            "final"
        );
        assert!(released.superseded[0].contains("(1.35.0) over early.json (1.35.0-beta.0)"));
    }

    #[test]
    fn renamed_operation_across_versions_is_the_same_operation() {
        let merged = merge(vec![
            op("old.json", "1.9.0", "getA", "get", "/a", json!("old")),
            op("new.json", "1.10.0", "getAlpha", "get", "/a", json!("new")),
        ])
        .unwrap();
        assert_eq!(
            merged.document["paths"]["/a"]["get"]["operationId"],
            "getAlpha"
        );
    }

    #[test]
    fn conflicting_operations_at_one_version_name_both_files() {
        let err = merge(vec![
            op("one.json", "1.0.0", "getA", "get", "/a", json!("")),
            op("two.json", "1.0.0", "getA", "get", "/b", json!("")),
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(
            err.contains("one.json") && err.contains("two.json"),
            "{err}"
        );
        assert!(err.contains("operationId `getA`"), "{err}");

        let err = merge(vec![
            op("one.json", "1.0.0", "getA", "get", "/a", json!("")),
            op("two.json", "1.0.0", "getB", "get", "/a", json!("")),
        ])
        .err()
        .unwrap()
        .to_string();
        assert!(err.contains("`GET /a`"), "{err}");
    }

    #[test]
    fn order_of_inputs_does_not_matter() {
        let docs = vec![
            op("a.json", "1.2.0", "getA", "get", "/a", json!("a")),
            op("b.json", "1.10.0", "getB", "post", "/b", json!("b")),
            op("c.json", "1.3.0", "getA", "get", "/a", json!("c")),
        ];
        let forward = merge(docs.clone()).unwrap().document;
        let mut reversed = docs;
        reversed.reverse();
        assert_eq!(
            serde_json::to_string(&forward).unwrap(),
            serde_json::to_string(&merge(reversed).unwrap().document).unwrap()
        );
        // Tags: the newest document's list first, then the others sorted.
        let tags: Vec<&str> = forward["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(tags, ["1.10.0", "1.2.0", "1.3.0"]);
    }
}
