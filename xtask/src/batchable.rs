//! Which operations action batches can carry, and under which `operation` name.
//!
//! Meraki lists them only in its whole published spec (`x-batchable-actions`: `{group,
//! summary, resource, operation}`); the per-operation documents lack the list. `cargo xtask
//! batchable SPEC.json` copies it into `openapi/batchable-actions.json` (committed), and the
//! merge marks each operation it names with `x-batch-action: {operation, resource}` in
//! `openapi.yaml`, where the build script gives that operation's builder `.into_action()`.

use std::path::Path;

use serde_json::{Map, Value};

/// Where the list is kept, relative to the workspace root.
pub const FILE: &str = "openapi/batchable-actions.json";

/// The extension the merge adds to each batchable operation.
pub const EXTENSION: &str = "x-batch-action";

/// Reads the committed list (a JSON array of `x-batchable-actions` entries).
pub fn load(path: &Path) -> Result<Vec<Value>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let list: Vec<Value> = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a JSON array: {e}", path.display()))?;
    for (i, entry) in list.iter().enumerate() {
        for field in ["resource", "operation"] {
            if !entry.get(field).is_some_and(Value::is_string) {
                return Err(format!(
                    "{}: entry {i} has no string `{field}`",
                    path.display()
                ));
            }
        }
    }
    Ok(list)
}

/// `cargo xtask batchable SPEC.json [--out FILE]`: copies a whole published spec's
/// `x-batchable-actions` list, as published, into FILE (default [`FILE`]).
pub fn run(spec: &Path, out: Option<std::path::PathBuf>) -> Result<(), String> {
    let out = out.unwrap_or_else(|| crate::workspace_root().join(FILE));
    let spec = spec.display().to_string();
    let text = std::fs::read_to_string(&spec).map_err(|e| format!("cannot read {spec}: {e}"))?;
    let document: Value =
        serde_json::from_str(&text).map_err(|e| format!("{spec} is not valid JSON: {e}"))?;
    let list = list_of(&document, &spec)?;
    write(list, &out)?;
    println!(
        "{} batchable actions from {spec} written to {}",
        list.len(),
        out.display()
    );
    Ok(())
}

/// A whole published spec's `x-batchable-actions` list; `name` says which spec in errors.
pub fn list_of<'a>(document: &'a Value, name: &str) -> Result<&'a Vec<Value>, String> {
    document
        .get("x-batchable-actions")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("{name} has no top-level `x-batchable-actions` list"))
}

/// Writes the list as published (pretty JSON), for [`load`].
pub fn write(list: &[Value], out: &Path) -> Result<(), String> {
    let mut json = serde_json::to_string_pretty(list).map_err(|e| e.to_string())?;
    json.push('\n');
    std::fs::write(out, json).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// A path template with its parameter names left out: `/networks/{}/devices`.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push('{');
            }
            '}' => {
                in_param = false;
                out.push('}');
            }
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// The operations an entry may name, most likely first: `create`, `update` and `destroy` are
/// POST, PUT and DELETE on the resource; any other name is a verb, POSTed (or PUT) to the
/// resource plus `/verb`, or to the resource itself when it already names the verb (`claim`).
fn candidates(resource: &str, operation: &str) -> Vec<(&'static str, String)> {
    match operation {
        "create" => vec![("post", resource.to_owned())],
        "update" => vec![("put", resource.to_owned())],
        "destroy" => vec![("delete", resource.to_owned())],
        verb => {
            let mut list = vec![
                ("post", format!("{resource}/{verb}")),
                ("put", format!("{resource}/{verb}")),
            ];
            // `claim` is listed with the whole path, `/devices/claim` or `/devices/claim/vmx`.
            if resource.split('/').any(|segment| segment == verb) {
                list.push(("post", resource.to_owned()));
            }
            if verb.starts_with("update") {
                list.push(("put", resource.to_owned()));
            }
            list
        }
    }
}

/// Marks every operation the list names with `x-batch-action`; returns the entries that
/// name no operation of the document, one line each.
pub fn annotate(document: &mut Value, list: &[Value]) -> Vec<String> {
    let mut by_shape: Map<String, Value> = Map::new();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    for (path, item) in paths.iter() {
        by_shape.insert(shape(path), Value::String(path.clone()));
        let _ = item;
    }
    let mut unmatched = Vec::new();
    for entry in list {
        let resource = entry["resource"].as_str().unwrap_or_default();
        let name = entry["operation"].as_str().unwrap_or_default();
        let found = candidates(resource, name)
            .into_iter()
            .find_map(|(method, path)| {
                let path = by_shape.get(&shape(&path))?.as_str()?.to_owned();
                paths.get(&path)?.get(method)?;
                Some((method, path))
            });
        let op =
            found.and_then(|(method, path)| paths.get_mut(&path)?.get_mut(method)?.as_object_mut());
        match op {
            // Two entries for one operation: keep the first, report the other.
            Some(op) if !op.contains_key(EXTENSION) => {
                let action = serde_json::json!({"operation": name, "resource": resource});
                op.insert(EXTENSION.to_owned(), action);
            }
            _ => unmatched.push(format!("{name} {resource}")),
        }
    }
    unmatched
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document() -> Value {
        json!({"paths": {
            "/organizations/{organizationId}/policies": {"post": {"operationId": "createPolicy"}},
            "/organizations/{organizationId}/policies/{policyId}": {
                "put": {"operationId": "updatePolicy"},
                "delete": {"operationId": "deletePolicy"},
                "get": {"operationId": "getPolicy"}
            },
            "/networks/{networkId}/devices/claim": {"post": {"operationId": "claimNetworkDevices"}},
            "/networks/{networkId}/split": {"post": {"operationId": "splitNetwork"}},
            "/networks/{networkId}/switch/qosRules/order": {"put": {"operationId": "updateOrder"}}
        }})
    }

    #[test]
    fn marks_each_listed_operation_with_its_action_name() {
        let mut doc = document();
        let list = json!([
            {"resource": "/organizations/{organizationId}/policies", "operation": "create"},
            {"resource": "/organizations/{organizationId}/policies/{id}", "operation": "update"},
            {"resource": "/organizations/{organizationId}/policies/{id}", "operation": "destroy"},
            {"resource": "/networks/{networkId}/devices/claim", "operation": "claim"},
            {"resource": "/networks/{networkId}", "operation": "split"},
            {"resource": "/networks/{networkId}/switch/qosRules/order", "operation": "update_order"},
            {"resource": "/networks/{networkId}/nothing", "operation": "create"},
            {"resource": "/organizations/{organizationId}/policies", "operation": "aps"},
            {"resource": "/organizations/{organizationId}/policies", "operation": "create"}
        ]);
        let unmatched = annotate(&mut doc, list.as_array().unwrap());
        assert_eq!(
            unmatched,
            [
                "create /networks/{networkId}/nothing",
                "aps /organizations/{organizationId}/policies",
                "create /organizations/{organizationId}/policies"
            ]
        );
        let action =
            |path: &str, method: &str| doc["paths"][path][method][EXTENSION]["operation"].clone();
        assert_eq!(
            action("/organizations/{organizationId}/policies", "post"),
            "create"
        );
        let one = "/organizations/{organizationId}/policies/{policyId}";
        assert_eq!(action(one, "put"), "update");
        assert_eq!(action(one, "delete"), "destroy");
        assert_eq!(action(one, "get"), Value::Null);
        assert_eq!(
            action("/networks/{networkId}/devices/claim", "post"),
            "claim"
        );
        assert_eq!(action("/networks/{networkId}/split", "post"), "split");
        assert_eq!(
            doc["paths"]["/networks/{networkId}/split"]["post"][EXTENSION]["resource"],
            "/networks/{networkId}"
        );
        assert_eq!(
            action("/networks/{networkId}/switch/qosRules/order", "put"),
            "update_order"
        );
    }

    #[test]
    fn the_committed_list_is_meraki_v1_42_0s() {
        let list = load(&crate::workspace_root().join(FILE)).unwrap();
        assert_eq!(list.len(), 193);
    }
}
