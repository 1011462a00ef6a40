//! `cargo xtask import SPEC.json`: a whole published OpenAPI document (the form Meraki publishes
//! in its openapi repository, `spec3.json`) split into one document per operation in the docs
//! site's format, the input of `cargo xtask generate`.
//!
//! Each operation becomes `openapi/specs/{operationId}.json`:
//! `{type: "api", title, meta: {info, security, tags, openapi, servers, securitySchemes},
//! spec: {<the operation>, method, path}}`, with the document's `security` on the operation
//! and path-level parameters moved into it, as the docs site writes them. A document already
//! there for a newer API version is kept (the merge would prefer it anyway, and a file name
//! holds one document). The spec's `x-batchable-actions`, which per-operation documents lack,
//! goes to `openapi/batchable-actions.json` (see `batchable`).

use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::operation_doc::{OperationDoc, HTTP_METHODS};
use crate::version::ApiVersion;

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    pub version: String,
    pub written: usize,
    /// Operations whose document in the folder is for a newer API version, one line each.
    pub kept_newer: Vec<String>,
    pub batchable: usize,
    /// Every operation the spec has.
    pub operations: std::collections::BTreeSet<String>,
}

/// `cargo xtask import`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportArgs {
    /// The whole published spec (JSON), e.g. Meraki's spec3.json.
    spec: PathBuf,
    /// The folder of operation documents to write (default: openapi/specs).
    #[arg(long, value_name = "DIR")]
    specs: Option<PathBuf>,
    /// Where to write the batchable-actions list (default: openapi/batchable-actions.json).
    #[arg(long, value_name = "FILE")]
    batchable: Option<PathBuf>,
}

pub fn run(args: ImportArgs) -> Result<(), String> {
    let root = crate::workspace_root();
    let specs = args.specs.unwrap_or_else(|| root.join("openapi/specs"));
    let batchable = args
        .batchable
        .unwrap_or_else(|| root.join(crate::batchable::FILE));
    let imported = import(&args.spec, &specs, &batchable)?;
    for line in &imported.kept_newer {
        println!("kept newer: {line}");
    }
    println!(
        "imported {} operations of API {} into {} ({} kept newer), {} batchable actions into {}; run `cargo xtask generate` next",
        imported.written,
        imported.version,
        specs.display(),
        imported.kept_newer.len(),
        imported.batchable,
        batchable.display()
    );
    Ok(())
}

/// Splits `spec` into `specs_dir` and writes its batchable list to `batchable_out`.
pub fn import(spec: &Path, specs_dir: &Path, batchable_out: &Path) -> Result<Imported, String> {
    let name = spec.display();
    let text = std::fs::read_to_string(spec).map_err(|e| format!("cannot read {name}: {e}"))?;
    let document: Value =
        serde_json::from_str(&text).map_err(|e| format!("{name} is not valid JSON: {e}"))?;
    let version = document
        .pointer("/info/version")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{name} has no `info.version`"))?;
    let parsed_version = ApiVersion::parse(version)
        .ok_or_else(|| format!("{name}: `info.version` {version:?} is not a version"))?;
    let meta = meta_of(&document);
    let paths = document
        .get("paths")
        .and_then(Value::as_object)
        .ok_or_else(|| format!("{name} has no `paths`"))?;
    std::fs::create_dir_all(specs_dir)
        .map_err(|e| format!("cannot create {}: {e}", specs_dir.display()))?;
    let mut imported = Imported {
        version: version.to_owned(),
        ..Imported::default()
    };
    for (path, item) in paths {
        let item = item
            .as_object()
            .ok_or_else(|| format!("{name}: path {path} is not an object"))?;
        let shared_parameters = item.get("parameters").and_then(Value::as_array);
        for (method, operation) in item
            .iter()
            .filter(|(m, _)| HTTP_METHODS.contains(&m.as_str()))
        {
            let mut operation = operation
                .as_object()
                .cloned()
                .ok_or_else(|| format!("{name}: {method} {path} is not an object"))?;
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .ok_or_else(|| format!("{name}: {method} {path} has no operationId"))?
                .to_owned();
            imported.operations.insert(id.clone());
            if let Some(shared) = shared_parameters {
                add_path_parameters(&mut operation, shared);
            }
            if let Some(security) = document.get("security") {
                operation
                    .entry("security")
                    .or_insert_with(|| security.clone());
            }
            let resolved = resolve_refs(&Value::Object(operation), &document, 0)
                .map_err(|e| format!("{name}: {id}: {e}"))?;
            let mut spec_part = resolved.as_object().cloned().unwrap_or_default();
            spec_part.insert("method".into(), json!(method));
            spec_part.insert("path".into(), json!(path));
            let doc = json!({
                "type": "api",
                "title": title_of(&id),
                "meta": meta,
                "spec": spec_part,
            });
            let file = specs_dir.join(format!("{id}.json"));
            if let Ok(existing) = OperationDoc::load(&file) {
                if existing.version > parsed_version {
                    imported
                        .kept_newer
                        .push(format!("{id} ({} over {version})", existing.version));
                    continue;
                }
            }
            let mut text = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
            text.push('\n');
            std::fs::write(&file, text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            imported.written += 1;
        }
    }
    let batchable = crate::batchable::list_of(&document, &name.to_string())?;
    crate::batchable::write(batchable, batchable_out)?;
    imported.batchable = batchable.len();
    Ok(imported)
}

/// The document-level parts every operation document repeats.
fn meta_of(document: &Value) -> Value {
    let mut meta = Map::new();
    for key in ["info", "security", "tags", "openapi", "servers"] {
        if let Some(value) = document.get(key) {
            meta.insert(key.into(), value.clone());
        }
    }
    if let Some(schemes) = document.pointer("/components/securitySchemes") {
        meta.insert("securitySchemes".into(), schemes.clone());
    }
    Value::Object(meta)
}

/// Path-level parameters apply to every operation of the path, unless the operation declares
/// one of the same name and place.
fn add_path_parameters(operation: &mut Map<String, Value>, shared: &[Value]) {
    let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
    let own: Vec<_> = operation
        .get("parameters")
        .and_then(Value::as_array)
        .map(|ps| ps.iter().map(key).collect())
        .unwrap_or_default();
    let missing: Vec<Value> = shared
        .iter()
        .filter(|p| !own.contains(&key(p)))
        .cloned()
        .collect();
    if missing.is_empty() {
        return;
    }
    let parameters = operation
        .entry("parameters")
        .or_insert_with(|| Value::Array(Vec::new()));
    if let Some(list) = parameters.as_array_mut() {
        list.extend(missing);
    }
}

/// Operation documents stand alone: a `$ref` into the whole document is replaced by what it
/// points at.
fn resolve_refs(value: &Value, document: &Value, depth: usize) -> Result<Value, String> {
    if depth > 64 {
        return Err("`$ref`s nest more than 64 deep (a cycle?)".to_owned());
    }
    Ok(match value {
        Value::Object(map) => {
            if let Some(reference) = map.get("$ref").and_then(Value::as_str) {
                let target = reference
                    .strip_prefix('#')
                    .and_then(|pointer| document.pointer(pointer))
                    .ok_or_else(|| format!("`$ref` {reference} points at nothing"))?;
                return resolve_refs(target, document, depth + 1);
            }
            let mut out = Map::new();
            for (k, v) in map {
                out.insert(k.clone(), resolve_refs(v, document, depth)?);
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .map(|v| resolve_refs(v, document, depth))
                .collect::<Result<_, _>>()?,
        ),
        other => other.clone(),
    })
}

/// The docs site's title: the operationId's words (`addNetworkSwitchStack` → `Add Network
/// Switch Stack`).
fn title_of(operation_id: &str) -> String {
    crate::schemas::words(operation_id).join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The published v1.42.0 document the repository carries (compressed), unpacked into `dir`.
    fn published(dir: &Path) -> PathBuf {
        use std::io::Read as _;
        let packed = crate::workspace_root().join(PUBLISHED);
        let file = std::fs::File::open(&packed).unwrap();
        let mut text = Vec::new();
        flate2::read::GzDecoder::new(file)
            .read_to_end(&mut text)
            .unwrap();
        let path = dir.join("spec3-v1.42.0.json");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// The carried copy, compressed so a clone stays small.
    const PUBLISHED: &str = "openapi/published/spec3-v1.42.0.json.gz";

    /// The inputs the project started from, beside the repository where they exist (CI); a
    /// user's clone has none.
    fn shared() -> Option<PathBuf> {
        let dir = crate::workspace_root().join("../shared");
        dir.join("published").is_dir().then_some(dir)
    }

    /// The carried copy is the published document, byte for byte, where that is at hand.
    #[test]
    fn the_carried_document_is_the_published_one() {
        let Some(shared) = shared() else {
            eprintln!("no ../shared beside the repository: nothing to compare");
            return;
        };
        let dir = scratch("carried");
        let carried = std::fs::read(published(&dir)).unwrap();
        let original = std::fs::read(shared.join("published/spec3-v1.42.0.json")).unwrap();
        assert!(carried == original, "{PUBLISHED} differs from ../shared");
        std::fs::remove_dir_all(dir).unwrap();
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-import-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// The published v1.42.0 document splits into the same operations as the docs site's
    /// v1.42.0 documents: those in `../shared/corpus` where it exists, otherwise the committed
    /// ones (all v1.42.0 but the two seeds, which are newer).
    #[test]
    fn the_published_spec_splits_into_the_docs_sites_documents() {
        let dir = scratch("corpus");
        let batchable = dir.join("batchable.json");
        let imported = import(&published(&dir), &dir.join("specs"), &batchable).unwrap();
        assert_eq!(imported.version, "1.42.0");
        assert!(imported.kept_newer.is_empty());
        let corpus = match shared() {
            Some(shared) => shared.join("corpus/v1.42.0"),
            None => crate::workspace_root().join("openapi/specs"),
        };
        let mut compared = 0;
        let mut newer = 0;
        for entry in std::fs::read_dir(&corpus).unwrap() {
            let expected = OperationDoc::load(&entry.unwrap().path()).unwrap();
            if expected.version.to_string() != "1.42.0" {
                newer += 1;
                continue;
            }
            let file = dir
                .join("specs")
                .join(format!("{}.json", expected.operation_id));
            let got = OperationDoc::load(&file).unwrap();
            assert_eq!(
                (&got.method, &got.path, &got.version, &got.openapi),
                (
                    &expected.method,
                    &expected.path,
                    &expected.version,
                    &expected.openapi
                ),
            );
            assert_eq!(
                got.operation, expected.operation,
                "{}",
                expected.operation_id
            );
            compared += 1;
        }
        // The committed folder has getOrganizationLicenses at v1.53.0 in place of its v1.42.0
        // document, and getOrganizationDevicesCellularDataProfiles, which v1.42.0 lacks.
        let (replaced, added) = if shared().is_some() { (0, 0) } else { (1, 1) };
        assert_eq!(newer, replaced + added);
        assert_eq!(compared + replaced, imported.written);
        assert_eq!(
            imported.batchable,
            crate::batchable::load(&batchable).unwrap().len()
        );
        // The committed list came from the same document.
        assert_eq!(
            std::fs::read_to_string(&batchable).unwrap(),
            std::fs::read_to_string(crate::workspace_root().join(crate::batchable::FILE)).unwrap()
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Importing an older published document over the committed folder keeps the seeds' newer
    /// documents: the merge gives the same `openapi.yaml`.
    #[test]
    fn newer_documents_already_there_are_kept() {
        let dir = scratch("keep");
        let specs = dir.join("specs");
        std::fs::create_dir_all(&specs).unwrap();
        let committed = crate::workspace_root().join("openapi/specs");
        for entry in std::fs::read_dir(&committed).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, specs.join(path.file_name().unwrap())).unwrap();
        }
        let imported = import(&published(&dir), &specs, &dir.join("batchable.json")).unwrap();
        assert!(!imported.kept_newer.is_empty());
        assert!(
            imported
                .kept_newer
                .iter()
                .any(|l| l.starts_with("getOrganizationLicenses (1.53.0 over 1.42.0)")),
            "{:?}",
            imported.kept_newer
        );
        let names = crate::workspace_root().join(crate::schemas::NAMES_FILE);
        let batchable = crate::workspace_root().join(crate::batchable::FILE);
        let root = crate::workspace_root();
        let again = crate::generate::generate_with(
            &[specs],
            Some(&batchable),
            Some(&names),
            Some(&root.join(crate::corrections::FILE)),
            Some(&root.join(crate::deprecations::FILE)),
        )
        .unwrap();
        let committed_yaml =
            std::fs::read_to_string(crate::workspace_root().join("openapi/openapi.yaml")).unwrap();
        assert!(
            again.yaml == committed_yaml,
            "the merge changed after the import"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn path_level_parameters_and_refs_are_carried_into_the_operation() {
        let dir = scratch("refs");
        let spec = dir.join("spec.json");
        std::fs::write(
            &spec,
            json!({
                "openapi": "3.0.1",
                "info": {"title": "t", "version": "1.35.0-beta.0"},
                "security": [{"meraki_api_key": []}],
                "components": {"schemas": {"Thing": {"type": "object", "properties": {"id": {"type": "string"}}}}},
                "paths": {"/things/{thingId}": {
                    "parameters": [{"name": "thingId", "in": "path", "required": true, "schema": {"type": "string"}}],
                    "get": {"operationId": "getThing", "responses": {"200": {"description": "ok",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}}}}
                }},
                "x-batchable-actions": []
            })
            .to_string(),
        )
        .unwrap();
        let imported = import(&spec, &dir.join("specs"), &dir.join("b.json")).unwrap();
        assert_eq!(imported.written, 1);
        let doc = OperationDoc::load(&dir.join("specs/getThing.json")).unwrap();
        assert_eq!(doc.version.to_string(), "1.35.0-beta.0");
        assert_eq!(doc.operation["parameters"][0]["name"], "thingId");
        assert_eq!(
            doc.operation["responses"]["200"]["content"]["application/json"]["schema"]
                ["properties"]["id"]["type"],
            "string"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
