//! The build script: generates the client from `../openapi/openapi.yaml`.
//!
//! Two files land in `OUT_DIR`:
//! - `progenitor.rs`: progenitor's client (builder interface, merged tags), with the hooks left to
//!   the hand-written `hooks` module, then post-processed (`post_process`, `shared_types`);
//! - `extensions.rs`: a table of every operation (method, path, documented bounds) and the trait
//!   impls that let the hand-written layers (`operation`, `pagination`) serve every operation
//!   generically, so that no per-operation code is ever written by hand (`extensions`).

mod extensions;
mod post_process;
mod shared_types;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
use std::time::Instant;

use heck::ToShoutySnakeCase;
use serde::Deserialize as _;
use serde_json::Value;

const SPEC: &str = "../openapi/openapi.yaml";

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
    let mut timer = PhaseTimer::start();
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `cargo xtask generate`)",
            spec_path.display()
        )
    })?;
    let mut document: Value = serde_yaml::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {e}", spec_path.display()))?;
    keep_enabled_areas(&mut document);
    timer.lap("read");
    let spec = openapiv3::OpenAPI::deserialize(&document).map_err(|e| {
        format!(
            "{} is not an OpenAPI 3.0 document: {e}",
            spec_path.display()
        )
    })?;
    timer.lap("openapi");

    // Parsing, post-processing and formatting progenitor's output take most of the time, and
    // syn's trees cannot cross threads: each half runs progenitor itself and keeps its own part
    // (the types, or the client and its operation builders), so two cores share the work.
    // The halves trade only plain data: which types operations return, and what the
    // extensions need to know of the types.
    let json_schema = std::env::var_os("CARGO_FEATURE_JSON_SCHEMA").is_some();
    let (operations, types) = std::thread::scope(|scope| {
        let (outputs_tx, outputs_rx) = std::sync::mpsc::channel();
        let types = std::thread::Builder::new()
            .name("types".to_owned())
            .spawn_scoped(scope, || types_half(&spec, json_schema, outputs_rx))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let operations = operations_half(&spec, json_schema, outputs_tx);
        let types = types
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        Ok::<_, String>((operations?, types?))
    })?;

    let mut extensions_timer = PhaseTimer::start();
    let extensions = extensions::render_extensions(
        &document,
        &operations.builders,
        &types.structs,
        &types.aliases,
    )?;
    extensions_timer.lap("extensions");
    write_if_changed(
        &out_dir.join("progenitor.rs"),
        &format!("{}\n{}", operations.code, types.code),
    )?;
    write_if_changed(&out_dir.join("extensions.rs"), &extensions)?;
    extensions_timer.lap("write");
    println!(
        "generation: {:.2} s ({}; operations: {}; types: {}; {})",
        started.elapsed().as_secs_f64(),
        timer.report(),
        operations.timer.report(),
        types.timer.report(),
        extensions_timer.report(),
    );
    Ok(())
}

fn progenitor_tokens(
    spec: &openapiv3::OpenAPI,
    json_schema: bool,
) -> Result<proc_macro2::TokenStream, String> {
    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::hooks::Runtime))
        .with_hooks(progenitor::HooksMode::Expected);
    if json_schema {
        settings.with_derive("schemars::JsonSchema");
    }
    progenitor::Generator::new(&settings)
        .generate_tokens(spec)
        .map_err(|e| format!("progenitor: {e}"))
}

fn parse(tokens: proc_macro2::TokenStream) -> Result<syn::File, String> {
    syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))
}

/// The client, its methods and `mod builder` (one builder per operation), formatted.
struct OperationsHalf {
    code: String,
    builders: BTreeMap<String, extensions::BuilderInfo>,
    timer: PhaseTimer,
}

fn operations_half(
    spec: &openapiv3::OpenAPI,
    json_schema: bool,
    outputs_tx: Sender<Vec<String>>,
) -> Result<OperationsHalf, String> {
    let mut timer = PhaseTimer::start();
    let tokens = progenitor_tokens(spec, json_schema)?;
    timer.lap("progenitor");
    let (_, tokens) = post_process::split_types_module(tokens);
    let tokens = post_process::route_json_decoding(tokens);
    let mut file = parse(tokens)?;
    timer.lap("parse");
    post_process::expose_builder_clients(&mut file);
    let builders = extensions::collect_builders(&file);
    // The types half waits for this; if it is never sent, it stops with an error instead.
    let _ = outputs_tx.send(post_process::output_type_names(
        builders.values().map(|b| &b.output),
    ));
    timer.lap("post-process");
    let code = prettyplease::unparse(&file);
    timer.lap("format");
    Ok(OperationsHalf {
        code,
        builders,
        timer,
    })
}

/// `mod types`, post-processed and formatted, with what the extensions need to know of it.
struct TypesHalf {
    code: String,
    structs: BTreeMap<String, extensions::PageFields>,
    aliases: BTreeMap<String, String>,
    timer: PhaseTimer,
}

fn types_half(
    spec: &openapiv3::OpenAPI,
    json_schema: bool,
    outputs_rx: Receiver<Vec<String>>,
) -> Result<TypesHalf, String> {
    let mut timer = PhaseTimer::start();
    let tokens = progenitor_tokens(spec, json_schema)?;
    timer.lap("progenitor");
    let (tokens, struct_builders) = post_process::drop_unused_struct_builders(tokens);
    let (tokens, _) = post_process::split_types_module(tokens);
    let mut file = parse(tokens)?;
    timer.lap("parse");
    post_process::drop_unused_builder_fns(&mut file, &struct_builders);
    post_process::null_arrays_as_empty(&mut file);
    timer.lap("post-process");
    let output_names = outputs_rx
        .recv()
        .map_err(|_| "the operations half stopped before naming its output types".to_owned())?;
    timer.lap("wait");
    post_process::open_response_enums(&mut file, &output_names);
    timer.lap("open enums");
    let aliases = shared_types::alias_repeated_types(&mut file);
    timer.lap("shared types");
    let structs = extensions::collect_type_structs(&file);
    let code = prettyplease::unparse(&file);
    timer.lap("format");
    Ok(TypesHalf {
        code,
        structs,
        aliases,
        timer,
    })
}

/// Phase timings, printed to the build script's output (`target/*/build/meraki-api-*/output`),
/// where cargo keeps them without showing them.
struct PhaseTimer {
    last: Instant,
    phases: Vec<(&'static str, std::time::Duration)>,
}

impl PhaseTimer {
    fn start() -> Self {
        Self {
            last: Instant::now(),
            phases: Vec::new(),
        }
    }

    fn lap(&mut self, phase: &'static str) {
        let now = Instant::now();
        self.phases.push((phase, now - self.last));
        self.last = now;
    }

    fn report(&self) -> String {
        let phases: Vec<String> = self
            .phases
            .iter()
            .map(|(name, d)| format!("{name} {:.2} s", d.as_secs_f64()))
            .collect();
        phases.join(", ")
    }
}

/// Keeps the operations of the API areas (first tag) whose cargo feature is on: `organizations`,
/// `appliance`, `cellular-gateway`, ... or `full` for all. A user compiles only what they use.
fn keep_enabled_areas(document: &mut Value) {
    if std::env::var_os("CARGO_FEATURE_FULL").is_some() {
        return;
    }
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let mut unknown_areas = std::collections::BTreeSet::new();
    for methods in paths.values_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        methods.retain(|_, op| {
            let area = op
                .get("tags")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
                .unwrap_or("untagged");
            let feature = area.to_shouty_snake_case();
            if std::env::var_os(format!("CARGO_FEATURE_{feature}")).is_some() {
                return true;
            }
            if !KNOWN_AREAS.contains(&area) {
                unknown_areas.insert(area.to_owned());
            }
            false
        });
    }
    paths.retain(|_, methods| methods.as_object().is_none_or(|m| !m.is_empty()));
    for area in unknown_areas {
        println!(
            "cargo:warning=API area `{area}` has no cargo feature yet; its operations are only in `full`"
        );
    }
}

/// The areas with a cargo feature of the same name (kebab-case) in Cargo.toml.
const KNOWN_AREAS: &[&str] = &[
    "administered",
    "appliance",
    "camera",
    "cellularGateway",
    "devices",
    "insight",
    "licensing",
    "networks",
    "organizations",
    "sensor",
    "sm",
    "switch",
    "wireless",
];

fn write_if_changed(path: &Path, content: &str) -> Result<(), String> {
    if std::fs::read_to_string(path).is_ok_and(|old| old == content) {
        return Ok(());
    }
    std::fs::write(path, content).map_err(|e| format!("cannot write {}: {e}", path.display()))
}
