//! The build script: generates the client from `openapi.yaml` (in the workspace, a link to the
//! committed `../openapi/openapi.yaml`; in the published package, a copy of it).
//!
//! Two files land in `OUT_DIR`:
//! - `progenitor.rs`: progenitor's client (builder interface, merged tags), with the hooks left to
//!   the hand-written `hooks` module, then post-processed (`post_process`, `shared_types`, on
//!   tokens where possible: `tokens`);
//! - `extensions.rs`: a table of every operation (method, path, documented bounds) and the trait
//!   impls that let the hand-written layers (`operation`, `pagination`) serve every operation
//!   generically, so that no per-operation code is ever written by hand (`extensions`).

mod extensions;
mod post_process;
mod shared_types;
mod tokens;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, Sender};
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
    let mut timer = PhaseTimer::start();
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `cargo xtask generate`)",
            spec_path.display()
        )
    })?;
    let mut document: Value = serde_norway::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {e}", spec_path.display()))?;
    keep_enabled_operations(&mut document);
    timer.lap("read");
    // From the `Value`: serde_norway straight into openapiv3's untagged enums is slower.
    let spec = openapiv3::OpenAPI::deserialize(&document).map_err(|e| {
        format!(
            "{} is not an OpenAPI 3.0 document: {e}",
            spec_path.display()
        )
    })?;
    timer.lap("openapi");

    // Parsing, post-processing and formatting progenitor's output take most of the time, and
    // syn's trees (proc-macro2 tokens) cannot cross threads. progenitor runs once; its `mod
    // types` crosses to a second thread as text and is merged, parsed, post-processed and
    // formatted there, while this thread does the client and its operation builders.
    let json_schema = std::env::var_os("CARGO_FEATURE_JSON_SCHEMA").is_some();
    let (operations, types) = std::thread::scope(|scope| {
        let (to_types, from_operations) = std::sync::mpsc::channel();
        let types = std::thread::Builder::new()
            .name("types".to_owned())
            .spawn_scoped(scope, || types_half(from_operations))
            .map_err(|e| format!("cannot start a thread: {e}"))?;
        let operations = operations_half(&spec, json_schema, to_types);
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
        .with_inner_type(quote::quote!(crate::transport::ClientState))
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

/// What the types half needs from progenitor's output, in plain data that can cross threads.
struct TypesInput {
    /// progenitor's `mod types` (unused struct builders dropped), as text.
    code: String,
    /// The struct builders that operation builders use.
    struct_builders: BTreeSet<String>,
    /// Every identifier in the operations' output types: where the response types start.
    output_names: Vec<String>,
}

fn operations_half(
    spec: &openapiv3::OpenAPI,
    json_schema: bool,
    to_types: Sender<TypesInput>,
) -> Result<OperationsHalf, String> {
    let mut timer = PhaseTimer::start();
    let tokens = progenitor_tokens(spec, json_schema)?;
    timer.lap("progenitor");
    let (types, tokens) = post_process::split_types_module(tokens);
    let (tokens, operation_builders) = post_process::route_json_decoding(tokens);
    // Unused struct builders are dropped first: less text to write and read again.
    let types =
        post_process::drop_unused_struct_builders(types, &operation_builders.struct_builders);
    // If this half fails before sending, the types half's `recv` fails and it stops.
    let _ = to_types.send(TypesInput {
        code: types.to_string(),
        struct_builders: operation_builders.struct_builders,
        output_names: operation_builders.output_names,
    });
    timer.lap("hand over");
    let mut file = parse(tokens)?;
    timer.lap("parse");
    post_process::expose_builder_clients(&mut file);
    let builders = extensions::collect_builders(&file);
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

fn types_half(from_operations: Receiver<TypesInput>) -> Result<TypesHalf, String> {
    let mut timer = PhaseTimer::start();
    let TypesInput {
        code,
        struct_builders,
        output_names,
    } = from_operations
        .recv()
        .map_err(|_| "the operations half stopped before handing over the types".to_owned())?;
    timer.lap("wait");
    let tokens: proc_macro2::TokenStream = code
        .parse()
        .map_err(|e| format!("generated types do not lex: {e}"))?;
    drop(code);
    timer.lap("lex");
    let (tokens, merged) = shared_types::alias_repeated_types(tokens, &output_names);
    timer.lap("shared types");
    let mut file = parse(tokens)?;
    timer.lap("parse");
    post_process::drop_unused_builder_fns(&mut file, &struct_builders);
    post_process::null_arrays_as_empty(&mut file);
    post_process::open_response_enums(&mut file, &merged.responses);
    timer.lap("post-process");
    let structs = extensions::collect_type_structs(&file);
    let code = prettyplease::unparse(&file);
    timer.lap("format");
    Ok(TypesHalf {
        code,
        structs,
        aliases: merged.aliases,
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
fn keep_enabled_operations(document: &mut Value) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let mut unknown_areas = BTreeSet::new();
    for methods in paths.values_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        methods.retain(|key, op| {
            if !METHODS.contains(&key.as_str()) {
                return true;
            }
            let area = op
                .get("tags")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
                .unwrap_or("untagged");
            if area_enabled(area) {
                return true;
            }
            if !KNOWN_AREAS.contains(&area) {
                unknown_areas.insert(area.to_owned());
            }
            false
        });
    }
    paths.retain(|_, methods| {
        methods
            .as_object()
            .is_none_or(|m| m.keys().any(|k| METHODS.contains(&k.as_str())))
    });
    for area in unknown_areas {
        println!(
            "cargo:warning=API area `{area}` has no cargo feature yet; its operations are only in `full`"
        );
    }
}

/// The keys of a path item that hold operations.
const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Whether the operations of an area (an operation's first tag) are generated: its cargo
/// feature (`organizations`, `cellular-gateway`, ...) or `full` is on.
fn area_enabled(area: &str) -> bool {
    std::env::var_os("CARGO_FEATURE_FULL").is_some()
        || std::env::var_os(format!("CARGO_FEATURE_{}", area.to_shouty_snake_case())).is_some()
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
