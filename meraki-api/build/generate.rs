//! progenitor with its settings, then the passes over its output, each checked to have found
//! what it works on: when a progenitor or typify release changes the shape of its output, the
//! build fails naming the pass, instead of compiling something else (README: "Upgrading
//! progenitor"). The versions the passes are written for are pinned in Cargo.toml.

use std::collections::BTreeSet;

use serde::Deserialize as _;
use serde_json::Value;

use crate::{docs, extensions, passes};

/// Which API areas (first tags) to compile.
pub(crate) struct Areas<'a> {
    pub(crate) full: bool,
    pub(crate) enabled: &'a dyn Fn(&str) -> bool,
}

/// The generated files.
pub(crate) struct Generated {
    pub(crate) client: String,
    pub(crate) extensions: String,
    /// Which API the build compiled, for the crate docs (Markdown).
    pub(crate) compiled: String,
}

/// A pass that found nothing to do where it must: progenitor's output changed shape.
fn changed(pass: &str, what: &str) -> String {
    format!(
        "build pass `{pass}` found {what} in progenitor's output: progenitor or typify changed \
         the shape of what they generate; the pass must be updated with them (README, \
         \"Upgrading progenitor\")"
    )
}

pub(crate) fn generate(
    mut document: Value,
    areas: &Areas<'_>,
    json_schema: bool,
) -> Result<Generated, String> {
    keep_enabled_operations(&mut document, areas);
    passes::keep_reachable_schemas(&mut document);
    let leniency = passes::Leniency::of(&document);
    // From the `Value`: serde straight from YAML into openapiv3's untagged enums is slower.
    let spec = openapiv3::OpenAPI::deserialize(&document)
        .map_err(|e| format!("not an OpenAPI 3.0 document: {e}"))?;
    let operations = spec
        .paths
        .paths
        .values()
        .filter_map(|item| item.as_item())
        .map(|item| item.iter().count())
        .sum::<usize>();

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::request::state::ClientState))
        .with_hooks(progenitor::HooksMode::Expected);
    if json_schema {
        settings.with_derive("schemars::JsonSchema");
    }
    let tokens = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor: {e}"))?;

    let mut struct_builders = BTreeSet::new();
    let tokens = passes::route_json_decoding(tokens, &mut struct_builders);
    let text = tokens.to_string();
    if text.contains("ResponseValue :: from_response") {
        return Err(changed(
            "route_json_decoding",
            "a `ResponseValue::from_response` it could not route",
        ));
    }
    if operations > 0 && !text.contains("decode :: response_value") {
        return Err(changed(
            "route_json_decoding",
            "no `ResponseValue::from_response` to route",
        ));
    }
    let tokens = passes::drop_unused_struct_builders(tokens, &struct_builders);
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    let builders = extensions::collect_builders(&file);
    if builders.len() != operations {
        return Err(changed(
            "collect_builders",
            &format!(
                "{} operation builders with a `send()` for {operations} operations",
                builders.len()
            ),
        ));
    }
    let exposed = passes::expose_builder_clients(&mut file);
    if exposed < operations {
        return Err(changed(
            "expose_builder_clients",
            &format!("{exposed} builder `client` fields for {operations} operations"),
        ));
    }
    let split = passes::split_send(&mut file)?;
    if split != operations {
        return Err(changed(
            "split_send",
            &format!("{split} `send()`s to split for {operations} operations"),
        ));
    }
    passes::hide_unchecked_constructors(&mut file)
        .map_err(|e| changed("hide_unchecked_constructors", &e))?;
    passes::open_enums(&mut file, &leniency.open_enums).map_err(|e| changed("open_enums", &e))?;
    passes::null_lists_as_empty(&mut file, &leniency.null_lists)
        .map_err(|e| changed("null_lists_as_empty", &e))?;
    passes::clearable_fields(&mut file, &leniency.clearable)
        .map_err(|e| changed("clearable_fields", &e))?;
    passes::deprecate_operations(&mut file, &extensions::deprecations(&document))
        .map_err(|e| changed("deprecate_operations", &e))?;
    docs::document_operations(&mut file, &builders, &docs::parameter_docs(&document))
        .map_err(|e| changed("document_operations", &e))?;
    let compiled = docs::compiled_summary(&document);
    if operations > 0 {
        docs::describe_client(&mut file, &compiled).map_err(|e| changed("describe_client", &e))?;
    }
    let extensions = extensions::render_extensions(
        &document,
        &builders,
        &extensions::collect_type_structs(&file),
    )?;
    Ok(Generated {
        client: prettyplease::unparse(&file),
        extensions,
        compiled,
    })
}

/// Keeps the operations of the API areas (first tag) whose cargo feature is on: `organizations`,
/// `appliance`, `cellular-gateway`, ... or `full` for all. A user compiles only what they use.
/// (An xtask test keeps Cargo.toml's features in step with the spec's areas.)
pub(crate) fn keep_enabled_operations(document: &mut Value, areas: &Areas<'_>) {
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for methods in paths.values_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        methods.retain(|key, op| {
            let area = op.pointer("/tags/0").and_then(Value::as_str);
            !METHODS.contains(&key.as_str())
                || areas.full
                || area.is_some_and(|area| (areas.enabled)(area))
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
