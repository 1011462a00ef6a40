//! The build script: generates the client from `openapi.yaml` (in the workspace, a link to the
//! committed `../openapi/openapi.yaml`; in the published package, a copy of it).
//!
//! The spec already says what the types are (shared schemas, their names, which enums are open):
//! `cargo xtask generate` decided it. Here progenitor runs with its settings, then a few named
//! passes do what settings cannot (`passes`), and `extensions` writes the table of operations
//! and the trait impls that connect them to the hand-written layers. Two files land in
//! `OUT_DIR`: `progenitor.rs` and `extensions.rs`.

mod extensions;
mod passes;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use heck::ToShoutySnakeCase;
use serde::Deserialize as _;
use serde_json::Value;

const SPEC: &str = "openapi.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(message) = run(Path::new(SPEC), &out_dir) {
        // A build script reports through a panic; make it one readable line.
        panic!("meraki-api code generation failed: {message}");
    }
}

fn run(spec_path: &Path, out_dir: &Path) -> Result<(), String> {
    let started = Instant::now();
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `cargo xtask generate`)",
            spec_path.display()
        )
    })?;
    let mut document: Value = serde_norway::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {e}", spec_path.display()))?;
    keep_enabled_operations(&mut document);
    passes::keep_reachable_schemas(&mut document);
    let leniency = passes::Leniency::of(&document);
    // From the `Value`: serde straight from YAML into openapiv3's untagged enums is slower.
    let spec = openapiv3::OpenAPI::deserialize(&document).map_err(|e| {
        format!(
            "{} is not an OpenAPI 3.0 document: {e}",
            spec_path.display()
        )
    })?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::request::state::ClientState))
        .with_hooks(progenitor::HooksMode::Expected);
    if std::env::var_os("CARGO_FEATURE_JSON_SCHEMA").is_some() {
        settings.with_derive("schemars::JsonSchema");
    }
    let tokens = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor: {e}"))?;

    let mut struct_builders = BTreeSet::new();
    let tokens = passes::route_json_decoding(tokens, &mut struct_builders);
    let tokens = passes::drop_unused_struct_builders(tokens, &struct_builders);
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    passes::expose_builder_clients(&mut file);
    passes::split_send(&mut file)?;
    passes::hide_unchecked_constructors(&mut file)?;
    passes::open_enums(&mut file, &leniency.open_enums)?;
    passes::null_lists_as_empty(&mut file, &leniency.null_lists)?;
    passes::clearable_fields(&mut file, &leniency.clearable)?;
    let extensions = extensions::render_extensions(
        &document,
        &extensions::collect_builders(&file),
        &extensions::collect_type_structs(&file),
    )?;
    let code = prettyplease::unparse(&file);
    write_if_changed(&out_dir.join("progenitor.rs"), &code)?;
    write_if_changed(&out_dir.join("extensions.rs"), &extensions)?;
    // In `target/*/build/meraki-api-*/output`, where cargo keeps it without showing it.
    println!("generation: {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Keeps the operations of the API areas (first tag) whose cargo feature is on: `organizations`,
/// `appliance`, `cellular-gateway`, ... or `full` for all. A user compiles only what they use.
/// (An xtask test keeps Cargo.toml's features in step with the spec's areas.)
fn keep_enabled_operations(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let full = std::env::var_os("CARGO_FEATURE_FULL").is_some();
    for methods in paths.values_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        methods.retain(|key, op| {
            let area = op.pointer("/tags/0").and_then(Value::as_str);
            !METHODS.contains(&key.as_str())
                || full
                || area.is_some_and(|area| {
                    let feature = format!("CARGO_FEATURE_{}", area.to_shouty_snake_case());
                    std::env::var_os(feature).is_some()
                })
        });
    }
    paths.retain(|_, methods| {
        methods
            .as_object()
            .is_none_or(|m| m.keys().any(|k| METHODS.contains(&k.as_str())))
    });
}

/// The keys of a path item that hold operations.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

fn write_if_changed(path: &Path, content: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
