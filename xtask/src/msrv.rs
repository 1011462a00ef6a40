//! `cargo xtask msrv`: the declared minimum Rust version (`rust-version`) holds for what a
//! user's build compiles. Every crate the library depends on (normal dependencies, any feature)
//! must declare a minimum no newer than ours, read from `cargo metadata` (the lock file, no
//! toolchain download); the library's own code is held to it by clippy's `incompatible_msrv`
//! lint, which reads the same `rust-version` (CI runs clippy with `-D warnings`).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

use crate::version::ApiVersion;

/// The crate whose users' builds are checked.
const LIBRARY: &str = "meraki-api";

pub fn run() -> Result<(), String> {
    let output = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--all-features",
        ])
        .current_dir(crate::workspace_root())
        .output()
        .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let metadata: Value =
        serde_json::from_slice(&output.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let too_new = check(&metadata)?;
    if too_new.is_empty() {
        println!("every dependency of {LIBRARY} builds with its rust-version");
        return Ok(());
    }
    Err(format!(
        "dependencies of {LIBRARY} that need a newer Rust than its rust-version:\n{}",
        too_new.join("\n")
    ))
}

/// The library's normal dependencies (transitively) whose `rust-version` is newer than its own.
pub fn check(metadata: &Value) -> Result<Vec<String>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no packages")?;
    let by_id: BTreeMap<&str, &Value> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p)))
        .collect();
    let library = packages
        .iter()
        .find(|p| p["name"] == LIBRARY && p["source"].is_null())
        .ok_or("cargo metadata: no meraki-api package")?;
    let ours = library["rust_version"]
        .as_str()
        .and_then(ApiVersion::parse)
        .ok_or("meraki-api declares no rust-version")?;
    let nodes: BTreeMap<&str, &Value> = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("cargo metadata: no resolve graph")?
        .iter()
        .filter_map(|n| Some((n["id"].as_str()?, n)))
        .collect();
    let mut seen = BTreeSet::new();
    let mut queue = vec![library["id"].as_str().unwrap_or_default()];
    let mut too_new = Vec::new();
    while let Some(id) = queue.pop() {
        if !seen.insert(id) {
            continue;
        }
        let Some(node) = nodes.get(id) else { continue };
        for dep in node["deps"].as_array().into_iter().flatten() {
            // Normal and build dependencies: what a user's build compiles.
            let compiled = dep["dep_kinds"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|k| k["kind"].is_null() || k["kind"] == "build");
            if compiled {
                if let Some(pkg) = dep["pkg"].as_str() {
                    queue.push(pkg);
                }
            }
        }
        let Some(package) = by_id.get(id) else {
            continue;
        };
        if let Some(theirs) = package["rust_version"].as_str().and_then(ApiVersion::parse) {
            if theirs > ours {
                too_new.push(format!(
                    "  {} {} needs Rust {theirs} (meraki-api says {ours})",
                    package["name"].as_str().unwrap_or("?"),
                    package["version"].as_str().unwrap_or("?"),
                ));
            }
        }
    }
    too_new.sort();
    Ok(too_new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn package(name: &str, rust: Option<&str>, source: Option<&str>) -> Value {
        json!({"id": name, "name": name, "version": "1.0.0", "rust_version": rust, "source": source})
    }

    fn dep(pkg: &str, kind: Option<&str>) -> Value {
        json!({"pkg": pkg, "dep_kinds": [{"kind": kind}]})
    }

    #[test]
    fn a_dependency_newer_than_the_declared_minimum_is_named_and_dev_dependencies_are_not() {
        let metadata = json!({
            "packages": [
                package("meraki-api", Some("1.88"), None),
                package("fine", Some("1.70"), Some("registry")),
                package("deep", Some("1.90"), Some("registry")),
                package("testing-only", Some("1.95"), Some("registry")),
            ],
            "resolve": {"nodes": [
                {"id": "meraki-api", "deps": [dep("fine", None), dep("testing-only", Some("dev"))]},
                {"id": "fine", "deps": [dep("deep", None)]},
                {"id": "deep", "deps": []},
                {"id": "testing-only", "deps": []},
            ]},
        });
        let too_new = check(&metadata).unwrap();
        assert_eq!(too_new.len(), 1, "{too_new:?}");
        assert!(
            too_new[0].contains("deep 1.0.0 needs Rust 1.90"),
            "{too_new:?}"
        );
    }

    /// The repository's own lock file: what CI runs.
    #[test]
    fn the_locked_dependencies_build_with_the_declared_minimum() {
        run().unwrap();
    }
}
