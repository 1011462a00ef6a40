//! The build script: generates the client from `openapi.yaml` (in the workspace, a link to the
//! committed `../openapi/openapi.yaml`; in the published package, a copy of it).
//!
//! The spec already says what the types are (shared schemas, their names, which enums are open):
//! `cargo xtask generate` decided it. Here progenitor runs with its settings, then a few named
//! passes do what settings cannot (`passes`), each checked to have found what it works on
//! (`generate`), and `extensions` writes the table of operations and the trait impls that
//! connect them to the hand-written layers. Two files land in `OUT_DIR`: `progenitor.rs` and
//! `extensions.rs`.

mod docs;
mod extensions;
mod generate;
mod passes;

use std::path::{Path, PathBuf};
use std::time::Instant;

use generate::Areas;
use heck::ToShoutySnakeCase;
use serde_json::Value;

const SPEC: &str = "openapi.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rustc-check-cfg=cfg(meraki_no_areas)");
    println!("cargo:rerun-if-changed=build");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(message) = run(Path::new(SPEC), &out_dir) {
        // A build script reports through a panic; make it one readable line.
        panic!("meraki-api code generation failed: {message}");
    }
}

/// Features that are not API areas.
const NOT_AREAS: [&str; 4] = ["DEFAULT", "JSON_SCHEMA", "REDIS", "TEST_UTIL"];

fn run(spec_path: &Path, out_dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let any_area = std::env::vars().any(|(name, _)| {
        name.strip_prefix("CARGO_FEATURE_")
            .is_some_and(|feature| !NOT_AREAS.contains(&feature))
    });
    // Without an area there is no operation to generate: the spec is not even read, so a
    // build that needs only the client's machinery (the xtask's) works whatever it holds.
    let document: Value = if any_area {
        let text = std::fs::read_to_string(spec_path).map_err(|e| {
            format!(
                "cannot read {}: {e} (run `cargo xtask generate`)",
                spec_path.display()
            )
        })?;
        serde_norway::from_str(&text)
            .map_err(|e| format!("{} is not valid YAML: {e}", spec_path.display()))?
    } else {
        // The glue to the generated operations has nothing to glue: not dead code to report.
        println!("cargo:rustc-cfg=meraki_no_areas");
        serde_json::json!({
            "openapi": "3.0.1",
            "info": {"title": "Meraki Dashboard API", "version": "none"},
            "paths": {},
        })
    };
    let areas = Areas {
        full: std::env::var_os("CARGO_FEATURE_FULL").is_some(),
        enabled: &|area| {
            let feature = format!("CARGO_FEATURE_{}", area.to_shouty_snake_case());
            std::env::var_os(feature).is_some()
        },
    };
    let json_schema = std::env::var_os("CARGO_FEATURE_JSON_SCHEMA").is_some();
    let generated = generate::generate(document, &areas, json_schema)
        .map_err(|e| format!("{}: {e}", spec_path.display()))?;
    write_if_changed(&out_dir.join("progenitor.rs"), &generated.client)?;
    write_if_changed(&out_dir.join("extensions.rs"), &generated.extensions)?;
    write_if_changed(&out_dir.join("compiled.md"), &generated.compiled)?;
    // In `target/*/build/meraki-api-*/output`, where cargo keeps it without showing it.
    println!("generation: {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

fn write_if_changed(path: &Path, content: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
