//! Docs progenitor does not write: what each operation's `.call()` returns, with an example
//! that uses it (progenitor's uses `.send()` in an `ignore` block every test run lists), and
//! each builder setter's parameter description from the spec.

use std::collections::BTreeMap;

use heck::{ToSnakeCase, ToUpperCamelCase};
use serde_json::Value;

use crate::extensions::BuilderInfo;
use crate::passes::{client_methods_mut, doc_text_mut, last_ident, module_items_mut};

/// Parameter descriptions by builder (`GetOrganizationLicenses`) and setter (`per_page`).
pub(crate) fn parameter_docs(document: &Value) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut docs = BTreeMap::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for op in paths
        .into_iter()
        .flat_map(|p| p.values())
        .filter_map(Value::as_object)
        .flat_map(|m| m.values())
    {
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let setters: &mut BTreeMap<String, String> =
            docs.entry(id.to_upper_camel_case()).or_default();
        for parameter in op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let (Some(name), Some(description)) = (
                parameter.get("name").and_then(Value::as_str),
                parameter.get("description").and_then(Value::as_str),
            ) else {
                continue;
            };
            let wire = name.trim_end_matches("[]");
            let required = parameter.get("required") == Some(&Value::Bool(true));
            let text = format!(
                "{}{description}\n\nSent as `{name}`{}.",
                if required { "Required. " } else { "" },
                if parameter.get("in").and_then(Value::as_str) == Some("path") {
                    " in the path"
                } else {
                    " in the query"
                }
            );
            setters.insert(wire.to_snake_case(), text);
        }
        if op.get("requestBody").is_some() {
            setters.insert(
                "body".to_owned(),
                "The request body, whole (or set its fields with `body_map`).".to_owned(),
            );
            setters.insert(
                "body_map".to_owned(),
                "Sets fields of the request body: `.body_map(|b| b.name(\"x\".to_string()))`."
                    .to_owned(),
            );
        }
    }
    docs
}

/// Documents the `Client` methods (what `.call()` returns, an example with it) and the builder
/// setters. Returns how many methods and setters it documented.
pub(crate) fn document_operations(
    file: &mut syn::File,
    builders: &BTreeMap<String, BuilderInfo>,
    parameters: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<(usize, usize), String> {
    let mut methods = 0;
    for f in client_methods_mut(&mut file.items) {
        let syn::ReturnType::Type(_, ty) = &f.sig.output else {
            continue;
        };
        let Some(info) = last_ident(ty).and_then(|name| builders.get(&name)) else {
            continue;
        };
        let output = type_text(&info.output);
        for attr in f.attrs.iter_mut() {
            let Some((old, value)) = doc_text_mut(attr) else {
                continue;
            };
            if !old.contains("```ignore") {
                continue;
            }
            let new = old
                .replace(
                    "```ignore",
                    &format!(
                        "\n`.call()` ([`Operation::call`](crate::prelude::Operation::call)) \
                         returns `Result<{output}, meraki_api::Error>`.\n\n```text"
                    ),
                )
                .replace(".send()\n    .await;", ".call()\n    .await?;")
                .replace("let response = client.", "let answer = client.");
            *value = syn::parse_quote!(#new);
            methods += 1;
        }
    }
    let mut setters = 0;
    for item in module_items_mut(&mut file.items, "builder")
        .into_iter()
        .flatten()
    {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let Some(docs) = last_ident(&imp.self_ty).and_then(|name| parameters.get(&name)) else {
            continue;
        };
        for member in imp.items.iter_mut() {
            let syn::ImplItem::Fn(f) = member else {
                continue;
            };
            if let Some(doc) = docs.get(&f.sig.ident.to_string()) {
                if !f.attrs.iter().any(|a| a.path().is_ident("doc")) {
                    f.attrs.insert(0, syn::parse_quote!(#[doc = #doc]));
                    setters += 1;
                }
            }
        }
    }
    if !builders.is_empty() && (methods == 0 || setters == 0) {
        return Err(format!(
            "{methods} `Client` method examples and {setters} builder setters to document"
        ));
    }
    Ok((methods, setters))
}

/// A type as a reader writes it: `Vec<License>`, not `Vec < types :: License >`.
fn type_text(ty: &syn::Type) -> String {
    quote::quote!(#ty)
        .to_string()
        .replace(' ', "")
        .replace("types::", "")
        .replace("::std::vec::", "")
        .replace("::std::option::", "")
        .replace("::serde_json::", "serde_json::")
        .replace("::std::string::", "")
        .replace(',', ", ")
}

/// Which API this build compiled: the version most operations come from, those from other
/// versions, and the areas. Markdown, for the crate docs and the `Client` page.
pub(crate) fn compiled_summary(document: &Value) -> String {
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut areas = std::collections::BTreeSet::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for op in paths
        .into_iter()
        .flat_map(|p| p.values())
        .filter_map(Value::as_object)
        .flat_map(|m| m.values())
    {
        let Some(id) = op.get("operationId").and_then(Value::as_str) else {
            continue;
        };
        let version = op
            .get("x-api-version")
            .and_then(Value::as_str)
            .unwrap_or("unknown");
        versions
            .entry(version.to_owned())
            .or_default()
            .push(id.to_owned());
        if let Some(area) = op.pointer("/tags/0").and_then(Value::as_str) {
            areas.insert(area.to_owned());
        }
    }
    let total: usize = versions.values().map(Vec::len).sum();
    if total == 0 {
        return "\n\nThis build compiles no API operation (no area feature is on).\n".to_owned();
    }
    let (bulk, _) = versions
        .iter()
        .max_by_key(|(_, ids)| ids.len())
        .expect("some operation");
    let mut text = format!(
        "\n\nThis build compiles {total} operations of the Dashboard API v{bulk} (areas: {}).",
        areas.into_iter().collect::<Vec<_>>().join(", ")
    );
    let others: Vec<String> = versions
        .iter()
        .filter(|(version, _)| *version != bulk)
        .flat_map(|(version, ids)| ids.iter().map(move |id| format!("`{id}` (v{version})")))
        .collect();
    if !others.is_empty() {
        text.push_str(&format!(
            " From other versions' documents: {}.",
            others.join(", ")
        ));
    }
    text.push('\n');
    text
}

/// Says on the `Client` page which API it was generated from (progenitor's `Version:` line
/// gives the newest document's version, which one seed decides).
pub(crate) fn describe_client(file: &mut syn::File, summary: &str) -> Result<(), String> {
    for item in file.items.iter_mut() {
        let syn::Item::Struct(s) = item else { continue };
        if s.ident != "Client" {
            continue;
        }
        for attr in s.attrs.iter_mut() {
            let Some((old, value)) = doc_text_mut(attr) else {
                continue;
            };
            if let Some(at) = old.rfind("Version: ") {
                let new = format!("{}{}", &old[..at], summary.trim());
                *value = syn::parse_quote!(#new);
                return Ok(());
            }
        }
    }
    Err("no `Version:` line in the `Client` docs".to_owned())
}
