//! Generates the client from `../openapi/openapi.yaml`.
//!
//! Two files land in `OUT_DIR`:
//! - `progenitor.rs`: progenitor's client (builder interface, merged tags), with the hooks left to
//!   the hand-written `hooks` module;
//! - `extensions.rs`: a table of every operation (method, path, documented bounds) and the trait
//!   impls that let the hand-written layers (`operation`, `pagination`) serve every operation
//!   generically, so that no per-operation code is ever written by hand.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use heck::{ToShoutySnakeCase, ToSnakeCase};
use quote::ToTokens;
use serde_json::Value;

const SPEC: &str = "../openapi/openapi.yaml";

fn main() {
    println!("cargo:rerun-if-changed={SPEC}");
    println!("cargo:rerun-if-changed=build.rs");
    let out_dir = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    if let Err(message) = run(Path::new(SPEC), &out_dir) {
        // A build script reports through a panic; make it one readable line.
        panic!("meraki-api code generation failed: {message}");
    }
}

fn run(spec_path: &Path, out_dir: &Path) -> Result<(), String> {
    let text = std::fs::read_to_string(spec_path).map_err(|e| {
        format!(
            "cannot read {}: {e} (run `cargo xtask generate`)",
            spec_path.display()
        )
    })?;
    let mut document: Value = serde_yaml::from_str(&text)
        .map_err(|e| format!("{} is not valid YAML: {e}", spec_path.display()))?;
    keep_enabled_areas(&mut document);
    let spec: openapiv3::OpenAPI = serde_json::from_value(document.clone()).map_err(|e| {
        format!(
            "{} is not an OpenAPI 3.0 document: {e}",
            spec_path.display()
        )
    })?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_inner_type(quote::quote!(crate::hooks::Runtime))
        .with_hooks(progenitor::HooksMode::Expected);
    if std::env::var_os("CARGO_FEATURE_JSON_SCHEMA").is_some() {
        settings.with_derive("schemars::JsonSchema");
    }
    let tokens = progenitor::Generator::new(&settings)
        .generate_tokens(&spec)
        .map_err(|e| format!("progenitor: {e}"))?;
    let mut file: syn::File =
        syn::parse2(tokens).map_err(|e| format!("generated code does not parse: {e}"))?;
    expose_builder_clients(&mut file);
    keep_only_request_body_builders(&mut file);

    let builders = collect_builders(&file);
    let outputs: Vec<&syn::Type> = builders.values().map(|b| &b.output).collect();
    open_response_enums(&mut file, &outputs);
    null_arrays_as_empty(&mut file);
    let structs = collect_type_structs(&file);
    let extensions = render_extensions(&document, &builders, &structs)?;

    write_if_changed(
        &out_dir.join("progenitor.rs"),
        &prettyplease::unparse(&file),
    )?;
    write_if_changed(&out_dir.join("extensions.rs"), &extensions)?;
    Ok(())
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

/// typify writes a builder for every generated struct (`types::builder::*`), more than half of
/// all generated code. Operations use only those of their request bodies; the rest (response
/// types and everything nested) are dropped, which halves compile time and memory for the whole
/// API. Response types are still built with struct literals (`Default` where all fields are
/// optional).
fn keep_only_request_body_builders(file: &mut syn::File) {
    let used_by_operations = |items: &[syn::Item]| -> std::collections::BTreeSet<String> {
        let text = module_items(items, "builder")
            .map(|items| {
                items
                    .iter()
                    .map(|i| i.to_token_stream().to_string())
                    .collect::<String>()
            })
            .unwrap_or_default();
        text.split("types :: builder ::")
            .skip(1)
            .filter_map(|rest| rest.split_whitespace().next())
            .map(str::to_owned)
            .collect()
    };
    let keep = used_by_operations(&file.items);
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return;
    };
    for item in types.iter_mut() {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        if let Some((_, items)) = m.content.as_mut() {
            items.retain(|item| match item {
                syn::Item::Struct(s) => keep.contains(&s.ident.to_string()),
                syn::Item::Impl(imp) => last_ident(&imp.self_ty).is_some_and(|n| keep.contains(&n)),
                _ => true,
            });
        }
    }
    // `X::builder()` for the builders that are gone.
    types.retain(|item| {
        let syn::Item::Impl(imp) = item else {
            return true;
        };
        let only_builder_fn = imp.trait_.is_none()
            && imp.items.len() == 1
            && matches!(&imp.items[0], syn::ImplItem::Fn(f) if f.sig.ident == "builder");
        !only_builder_fn || last_ident(&imp.self_ty).is_some_and(|n| keep.contains(&n))
    });
}

/// Operation builders keep their `&Client` private; the hand-written layers (pagination checks
/// `Link` targets against the client's trusted hosts) need to reach it.
fn expose_builder_clients(file: &mut syn::File) {
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "builder" {
            continue;
        }
        for item in m.content.iter_mut().flat_map(|(_, items)| items.iter_mut()) {
            let syn::Item::Struct(s) = item else { continue };
            for field in s.fields.iter_mut() {
                if field.ident.as_ref().is_some_and(|i| i == "client") {
                    field.vis = syn::parse_quote!(pub(crate));
                }
            }
        }
    }
}

/// Response enums get a catch-all: the API adds enum values before its specs list them, and one
/// unknown value must not fail a whole page. Every string enum reachable from an operation's
/// output gains `Unknown(String)` (deserialized untagged, serialized back as sent) and a
/// `FromStr`/`Display` that round-trip it. Request-only enums stay strict.
fn open_response_enums(file: &mut syn::File, outputs: &[&syn::Type]) {
    let Some(types) = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    }) else {
        return;
    };

    // Which type names each type mentions.
    let mut mentions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for item in types.iter() {
        let (name, fields) = match item {
            syn::Item::Struct(s) => (s.ident.to_string(), s.fields.iter().collect::<Vec<_>>()),
            syn::Item::Enum(e) => (
                e.ident.to_string(),
                e.variants.iter().flat_map(|v| v.fields.iter()).collect(),
            ),
            _ => continue,
        };
        let entry = mentions.entry(name).or_default();
        for field in fields {
            type_idents(&field.ty, entry);
        }
    }
    let mut reachable = std::collections::BTreeSet::new();
    let mut queue: Vec<String> = Vec::new();
    for output in outputs {
        type_idents(output, &mut queue);
    }
    while let Some(name) = queue.pop() {
        if reachable.insert(name.clone()) {
            queue.extend(mentions.get(&name).into_iter().flatten().cloned());
        }
    }

    let mut opened = Vec::new();
    for item in types.iter_mut() {
        let syn::Item::Enum(e) = item else { continue };
        let unit_only = e
            .variants
            .iter()
            .all(|v| matches!(v.fields, syn::Fields::Unit));
        if !unit_only || !reachable.contains(&e.ident.to_string()) {
            continue;
        }
        let wire: Vec<(syn::Ident, String)> = e
            .variants
            .iter()
            .map(|v| {
                (
                    v.ident.clone(),
                    serde_rename(&v.attrs).unwrap_or_else(|| v.ident.to_string()),
                )
            })
            .collect();
        for attr in &mut e.attrs {
            if attr.path().is_ident("derive") {
                if let Ok(list) = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                ) {
                    // `Copy` cannot hold a `String`; `Deserialize` is written below, without
                    // the buffering serde's derive needs for an untagged variant.
                    let kept: Vec<&syn::Path> = list
                        .iter()
                        .filter(|p| {
                            !p.is_ident("Copy")
                                && p.segments.last().is_none_or(|s| s.ident != "Deserialize")
                        })
                        .collect();
                    *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
                }
            }
        }
        e.variants.push(syn::parse_quote! {
            /// A value this version of the spec does not list, kept as the API sent it.
            #[serde(untagged)]
            Unknown(::std::string::String)
        });
        opened.push((e.ident.clone(), wire));
    }

    let opened_names: std::collections::BTreeSet<String> =
        opened.iter().map(|(name, _)| name.to_string()).collect();
    types.retain(|item| {
        let syn::Item::Impl(imp) = item else {
            return true;
        };
        let Some(trait_name) = imp.trait_.as_ref().and_then(|(p, _)| p.segments.last()) else {
            return true;
        };
        let is_replaced = trait_name.ident == "Display" || trait_name.ident == "FromStr";
        !(is_replaced && last_ident(&imp.self_ty).is_some_and(|n| opened_names.contains(&n)))
    });
    for (name, wire) in opened {
        let idents: Vec<&syn::Ident> = wire.iter().map(|(i, _)| i).collect();
        let strings: Vec<&String> = wire.iter().map(|(_, s)| s).collect();
        types.push(syn::parse_quote! {
            impl ::std::fmt::Display for #name {
                fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                    f.write_str(match self {
                        #(Self::#idents => #strings,)*
                        Self::Unknown(value) => value,
                    })
                }
            }
        });
        types.push(syn::parse_quote! {
            impl ::std::str::FromStr for #name {
                type Err = self::error::ConversionError;
                fn from_str(value: &str) -> ::std::result::Result<Self, self::error::ConversionError> {
                    Ok(Self::from_wire(value))
                }
            }
        });
        types.push(syn::parse_quote! {
            impl<'de> ::serde::Deserialize<'de> for #name {
                fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> ::std::result::Result<Self, D::Error> {
                    struct WireString;
                    impl ::serde::de::Visitor<'_> for WireString {
                        type Value = #name;
                        fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                            f.write_str("a string")
                        }
                        fn visit_str<E: ::serde::de::Error>(self, value: &str) -> ::std::result::Result<#name, E> {
                            Ok(#name::from_wire(value))
                        }
                    }
                    deserializer.deserialize_str(WireString)
                }
            }
        });
        types.push(syn::parse_quote! {
            impl #name {
                /// The variant for a value as the API sends it; unlisted values are kept.
                pub fn from_wire(value: &str) -> Self {
                    match value {
                        #(#strings => Self::#idents,)*
                        other => Self::Unknown(other.to_owned()),
                    }
                }

                /// Whether this is a value the spec did not list.
                pub fn is_unknown(&self) -> bool {
                    matches!(self, Self::Unknown(_))
                }
            }
        });
    }
}

/// Optional arrays are `Vec<T>` with `#[serde(default)]`; the API also sends `null` for them,
/// which then decodes as an empty `Vec` instead of failing the response.
fn null_arrays_as_empty(file: &mut syn::File) {
    let types = file.items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    });
    for item in types.into_iter().flatten() {
        let syn::Item::Struct(s) = item else { continue };
        for field in s.fields.iter_mut() {
            let defaulted = field.attrs.iter().any(|a| {
                a.path().is_ident("serde")
                    && a.meta.to_token_stream().to_string().contains("default")
            });
            if defaulted && last_ident(&field.ty).as_deref() == Some("Vec") {
                field.attrs.push(
                    syn::parse_quote!(#[serde(deserialize_with = "crate::lenient::null_as_empty")]),
                );
            }
        }
    }
}

/// Every identifier in a type's path segments, generic arguments included.
fn type_idents(ty: &syn::Type, out: &mut Vec<String>) {
    if let syn::Type::Path(p) = ty {
        for segment in &p.path.segments {
            out.push(segment.ident.to_string());
            if let syn::PathArguments::AngleBracketed(args) = &segment.arguments {
                for arg in &args.args {
                    if let syn::GenericArgument::Type(t) = arg {
                        type_idents(t, out);
                    }
                }
            }
        }
    }
}

/// The `rename` of a `#[serde(rename = "...")]` attribute.
fn serde_rename(attrs: &[syn::Attribute]) -> Option<String> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                rename = Some(meta.value()?.parse::<syn::LitStr>()?.value());
            }
            Ok(())
        });
    }
    rename
}

/// What the generated `builder::<Operation>` offers.
struct BuilderInfo {
    /// progenitor's snake-case operation id, as passed to the hooks in `OperationInfo`.
    snake_id: String,
    output: syn::Type,
    error_body: syn::Type,
    setters: Vec<String>,
}

fn collect_builders(file: &syn::File) -> BTreeMap<String, BuilderInfo> {
    let mut builders = BTreeMap::new();
    let Some(items) = module_items(&file.items, "builder") else {
        return builders;
    };
    for item in items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        let Some(name) = self_ty.path.segments.last().map(|s| s.ident.to_string()) else {
            continue;
        };
        let mut setters = Vec::new();
        let mut send = None;
        for member in &imp.items {
            let syn::ImplItem::Fn(f) = member else {
                continue;
            };
            let fn_name = f.sig.ident.to_string();
            if fn_name == "send" {
                send = Some(f);
            } else {
                setters.push(fn_name);
            }
        }
        let Some(send) = send else { continue };
        let Some((output, error_body)) = send_types(&send.sig.output) else {
            continue;
        };
        let body = send.block.to_token_stream().to_string();
        let Some(snake_id) = string_after(&body, "operation_id :") else {
            continue;
        };
        builders.insert(
            name,
            BuilderInfo {
                snake_id,
                output,
                error_body,
                setters,
            },
        );
    }
    builders
}

/// Operations that take both cursors get a paginator.
fn is_paginated(info: &BuilderInfo) -> bool {
    ["starting_after", "ending_before"]
        .iter()
        .all(|setter| info.setters.iter().any(|s| s == setter))
}

/// `Result<ResponseValue<T>, Error<E>>` gives `(T, E)`.
fn send_types(output: &syn::ReturnType) -> Option<(syn::Type, syn::Type)> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let mut args = generic_args(ty)?;
    let (ok, err) = (args.next()?, args.next()?);
    let t = generic_args(&ok)?.next()?;
    let e = generic_args(&err)?.next()?;
    Some((t, e))
}

fn generic_args(ty: &syn::Type) -> Option<impl Iterator<Item = syn::Type>> {
    let syn::Type::Path(p) = ty else { return None };
    let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    Some(args.args.clone().into_iter().filter_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t),
        _ => None,
    }))
}

fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

fn string_after(haystack: &str, marker: &str) -> Option<String> {
    let rest = &haystack[haystack.find(marker)? + marker.len()..];
    let rest = rest.trim_start().strip_prefix('"')?;
    Some(rest[..rest.find('"')?].to_owned())
}

fn module_items<'a>(items: &'a [syn::Item], name: &str) -> Option<&'a [syn::Item]> {
    items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, items)| &items[..]),
        _ => None,
    })
}

/// Named fields of every struct in `mod types`, by struct name.
fn collect_type_structs(file: &syn::File) -> BTreeMap<String, BTreeMap<String, syn::Type>> {
    let mut structs = BTreeMap::new();
    for item in module_items(&file.items, "types").unwrap_or_default() {
        let syn::Item::Struct(s) = item else { continue };
        let syn::Fields::Named(fields) = &s.fields else {
            continue;
        };
        let fields = fields
            .named
            .iter()
            .filter_map(|f| Some((f.ident.as_ref()?.to_string(), f.ty.clone())))
            .collect();
        structs.insert(s.ident.to_string(), fields);
    }
    structs
}

/// One operation of the spec, as the hand-written layers need to know it.
struct SpecOperation {
    operation_id: String,
    method: String,
    path: String,
    /// `(wire name, minimum, maximum)` of integer query parameters with documented bounds.
    bounds: Vec<(String, i64, i64)>,
}

fn spec_operations(document: &Value) -> Vec<SpecOperation> {
    let mut operations = Vec::new();
    let Some(paths) = document.get("paths").and_then(Value::as_object) else {
        return operations;
    };
    for (path, methods) in paths {
        let Some(methods) = methods.as_object() else {
            continue;
        };
        for (method, op) in methods {
            let Some(operation_id) = op.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let bounds = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                .filter_map(|p| {
                    let schema = p.get("schema")?;
                    Some((
                        p.get("name")?.as_str()?.to_owned(),
                        schema.get("minimum")?.as_i64()?,
                        schema.get("maximum")?.as_i64()?,
                    ))
                })
                .collect();
            operations.push(SpecOperation {
                operation_id: operation_id.to_owned(),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                bounds,
            });
        }
    }
    operations.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    operations
}

fn render_extensions(
    document: &Value,
    builders: &BTreeMap<String, BuilderInfo>,
    structs: &BTreeMap<String, BTreeMap<String, syn::Type>>,
) -> Result<String, String> {
    let operations = spec_operations(document);
    let by_snake: BTreeMap<&str, (&String, &BuilderInfo)> = builders
        .iter()
        .map(|(name, info)| (info.snake_id.as_str(), (name, info)))
        .collect();

    let mut out = String::from("// Generated by meraki-api's build.rs. Do not edit.\n\n");
    out.push_str("/// Every operation of the API this crate was generated from.\n");
    out.push_str("pub(crate) static OPERATIONS: &[crate::operation::OperationSpec] = &[\n");
    for op in &operations {
        let bounds: Vec<String> = op
            .bounds
            .iter()
            .map(|(name, min, max)| {
                format!("crate::operation::QueryBound {{ name: {name:?}, min: {min}, max: {max} }}")
            })
            .collect();
        let paginated = by_snake
            .get(op.operation_id.to_snake_case().as_str())
            .is_some_and(|(_, info)| is_paginated(info));
        writeln!(
            out,
            "    crate::operation::OperationSpec {{ id: {:?}, operation_id: {:?}, method: {:?}, path: {:?}, bounds: &[{}], paginated: {paginated} }},",
            op.operation_id.to_snake_case(),
            op.operation_id,
            op.method,
            op.path,
            bounds.join(", ")
        )
        .expect("writing to a String");
    }
    out.push_str("];\n\n");

    let mut page_bodies = BTreeMap::new();
    for (index, op) in operations.iter().enumerate() {
        let snake = op.operation_id.to_snake_case();
        let Some((builder, info)) = by_snake.get(snake.as_str()) else {
            return Err(format!(
                "no generated builder for operation `{}` (expected id `{snake}`)",
                op.operation_id
            ));
        };
        let output = info.output.to_token_stream();
        let error_body = info.error_body.to_token_stream();
        writeln!(
            out,
            "impl<'a> crate::operation::Operation<'a> for builder::{builder}<'a> {{
    const SPEC: &'static crate::operation::OperationSpec = &OPERATIONS[{index}];
    type Output = {output};
    type ErrorBody = {error_body};
    fn client(&self) -> &'a Client {{ self.client }}
    fn send_raw(self) -> impl ::std::future::Future<Output = ::std::result::Result<ResponseValue<Self::Output>, progenitor_client::Error<Self::ErrorBody>>> + Send + 'a {{
        builder::{builder}::send(self)
    }}
}}"
        )
        .expect("writing to a String");

        if !is_paginated(info) {
            continue;
        }
        // A page is a JSON array, an object whose `items` holds the array, or (where the spec
        // documents some other object) one whole body per page.
        if last_ident(&info.output).as_deref() != Some("Vec") {
            let body_name = last_ident(&info.output).unwrap_or_default();
            // Untyped bodies (`Map`, `Value`) have hand-written impls in `pagination`.
            if let Some(fields) = structs.get(&body_name) {
                let items = fields.get("items").cloned();
                page_bodies.insert(body_name, (items, fields.contains_key("meta")));
            }
        }
        writeln!(
            out,
            "impl<'a> crate::pagination::Paginate<'a> for builder::{builder}<'a> {{
    fn starting_after(self, cursor: ::std::string::String) -> Self {{ builder::{builder}::starting_after(self, cursor) }}
    fn ending_before(self, cursor: ::std::string::String) -> Self {{ builder::{builder}::ending_before(self, cursor) }}
}}"
        )
        .expect("writing to a String");
    }

    for (body, (items, has_meta)) in page_bodies {
        let Some(items) = items else {
            writeln!(
                out,
                "impl crate::pagination::PageBody for types::{body} {{
    type Item = Self;
    fn into_parts(self) -> (::std::vec::Vec<Self>, ::std::option::Option<crate::pagination::ItemCounts>) {{
        (::std::vec![self], None)
    }}
}}"
            )
            .expect("writing to a String");
            continue;
        };
        let (item, optional) = match last_ident(&items).as_deref() {
            Some("Vec") => (generic_args(&items).and_then(|mut a| a.next()), false),
            Some("Option") => (
                generic_args(&items)
                    .and_then(|mut a| a.next())
                    .and_then(|v| generic_args(&v).and_then(|mut a| a.next())),
                true,
            ),
            _ => (None, false),
        };
        let item = item
            .ok_or_else(|| format!("`{body}.items` is not an array"))?
            .to_token_stream()
            .to_string();
        // Field types inside `mod types` name their siblings without a path.
        let item = if item.contains("::") {
            item
        } else {
            format!("types::{item}")
        };
        let items_expr = if optional {
            "self.items.unwrap_or_default()"
        } else {
            "self.items"
        };
        let counts_expr = if has_meta {
            "crate::pagination::ItemCounts::from_meta(&self.meta)"
        } else {
            "None"
        };
        writeln!(
            out,
            "impl crate::pagination::PageBody for types::{body} {{
    type Item = {item};
    fn into_parts(self) -> (::std::vec::Vec<Self::Item>, ::std::option::Option<crate::pagination::ItemCounts>) {{
        let counts = {counts_expr};
        ({items_expr}, counts)
    }}
}}"
        )
        .expect("writing to a String");
    }
    Ok(out)
}
