//! What progenitor cannot be told in its settings, as small passes over its output. Each one is
//! tested on its own (`tests/build_script.rs`). None of them decides what the types are: that
//! is in `openapi.yaml`.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
use quote::ToTokens as _;
use serde_json::Value;

/// Keeps the `components/schemas` that the remaining operations reach through `$ref`s, so an
/// area compiles only its own types.
pub(crate) fn keep_reachable_schemas(document: &mut Value) {
    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(name) = map
                    .get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                {
                    out.push(name.to_owned());
                }
                map.values().for_each(|v| refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
            _ => {}
        }
    }
    let mut queue = Vec::new();
    refs(&document["paths"], &mut queue);
    let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    let mut reached = BTreeSet::new();
    while let Some(name) = queue.pop() {
        if reached.insert(name.clone()) {
            if let Some(schema) = schemas.get(&name) {
                refs(schema, &mut queue);
            }
        }
    }
    schemas.retain(|name, _| reached.contains(name));
}

/// Operations decode JSON bodies with the hand-written `decode::response_value` instead of
/// progenitor's `ResponseValue::from_response` (why: the `decode` module's docs). On tokens,
/// before parsing: progenitor calls it only in operation code. On the way, collects every `X`
/// in `types::builder::X`: the struct builders that operations use.
pub(crate) fn route_json_decoding(
    tokens: TokenStream,
    struct_builders: &mut BTreeSet<String>,
) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(group) => {
                let inner = route_json_decoding(group.stream(), struct_builders);
                let mut routed = Group::new(group.delimiter(), inner);
                routed.set_span(group.span());
                out.push(TokenTree::Group(routed));
            }
            TokenTree::Ident(ident)
                if ident == "ResponseValue"
                    && path_continues(&tokens[i + 1..], "from_response") =>
            {
                out.extend(quote::quote!(crate::operations::decode::response_value));
                i += 4;
                continue;
            }
            TokenTree::Ident(ident)
                if ident == "types" && path_continues(&tokens[i + 1..], "builder") =>
            {
                if let Some(TokenTree::Ident(name)) = tokens.get(i + 6) {
                    struct_builders.insert(name.to_string());
                }
                out.push(tokens[i].clone());
            }
            token => out.push(token.clone()),
        }
        i += 1;
    }
    out.into_iter().collect()
}

/// Whether `rest` starts with `:: name`.
fn path_continues(rest: &[TokenTree], name: &str) -> bool {
    matches!(rest, [TokenTree::Punct(a), TokenTree::Punct(b), TokenTree::Ident(n), ..]
        if a.as_char() == ':' && b.as_char() == ':' && n == name)
}

/// typify writes a builder for every struct (`types::builder::*`, with `X::builder()`), as much
/// code as the types themselves. Operations use only their request bodies' (`keep`:
/// [`route_json_decoding`]'s `struct_builders`); the rest go. Response types are still built
/// with struct literals (`Default` where all fields are optional). On tokens, before parsing:
/// parsing the unused builders would be a third of the build script's time.
pub(crate) fn drop_unused_struct_builders(
    tokens: TokenStream,
    keep: &BTreeSet<String>,
) -> TokenStream {
    map_module(tokens, "types", &mut |types| {
        let types = map_module(types, "builder", &mut |builders| {
            retain_items(builders, |name, _| keep.contains(name))
        });
        retain_items(types, |name, body| {
            let is_builder_fn = body.is_some_and(|b| b.to_string().contains("fn builder ()"));
            !is_builder_fn || keep.contains(name)
        })
    })
}

/// `tokens` with the body of its top-level `mod name { ... }` replaced by `f(body)`.
fn map_module(
    tokens: TokenStream,
    name: &str,
    f: &mut dyn FnMut(TokenStream) -> TokenStream,
) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    for token in tokens {
        let is_module = matches!(&token, TokenTree::Group(g) if g.delimiter() == Delimiter::Brace)
            && matches!(out.as_slice(), [.., TokenTree::Ident(m), TokenTree::Ident(n)] if m == "mod" && n == name);
        match token {
            TokenTree::Group(group) if is_module => {
                let mut body = Group::new(Delimiter::Brace, f(group.stream()));
                body.set_span(group.span());
                out.push(TokenTree::Group(body));
            }
            other => out.push(other),
        }
    }
    out.into_iter().collect()
}

/// The items of a module body for which `keep(name, body)` holds. An item ends with its
/// `{ ... }` body or a `;`; its name is what it defines (`struct X`) or implements (the last
/// identifier before an impl's body: `impl From<super::X> for X`).
fn retain_items(
    tokens: TokenStream,
    mut keep: impl FnMut(&str, Option<&Group>) -> bool,
) -> TokenStream {
    let mut out: Vec<TokenTree> = Vec::new();
    let mut item: Vec<TokenTree> = Vec::new();
    for token in tokens {
        let ends_item = match &token {
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
            TokenTree::Punct(p) => p.as_char() == ';',
            _ => false,
        };
        item.push(token);
        if !ends_item {
            continue;
        }
        let body = match item.last() {
            Some(TokenTree::Group(g)) => Some(g),
            _ => None,
        };
        let defined = item.windows(2).find_map(|w| match w {
            [TokenTree::Ident(k), TokenTree::Ident(n)]
                if k == "struct" || k == "enum" || k == "type" =>
            {
                Some(n.to_string())
            }
            _ => None,
        });
        let name = defined.or_else(|| {
            item.iter().rev().skip(1).find_map(|t| match t {
                TokenTree::Ident(n) => Some(n.to_string()),
                _ => None,
            })
        });
        if name.is_none_or(|name| keep(&name, body)) {
            out.append(&mut item);
        } else {
            item.clear();
        }
    }
    out.extend(item);
    out.into_iter().collect()
}

/// Every operation builder's `send()` splits in two: `into_request()`, which builds the request
/// and checks it against the spec without sending (synchronous: `crate::operations::hooks::check` in place
/// of the async `pre` hook), and `send()`, which sends what `into_request()` built. The
/// hand-written `.call()`, paginators and action batches take the request from
/// `into_request()` and send it on the crate's own path, so what a call learns (attempts, the
/// body, the status) comes back as values rather than through progenitor's return type.
pub(crate) fn split_send(file: &mut syn::File) -> Result<usize, String> {
    let mut split = 0;
    for item in module_items_mut(&mut file.items, "builder")
        .into_iter()
        .flatten()
    {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some() {
            continue;
        }
        let Some(position) = imp
            .items
            .iter()
            .position(|member| matches!(member, syn::ImplItem::Fn(f) if f.sig.ident == "send"))
        else {
            continue;
        };
        let syn::ImplItem::Fn(send) = &imp.items[position] else {
            unreachable!("found above");
        };
        let name = last_ident(&imp.self_ty).unwrap_or_default();
        let (into_request, send) = split_one(send).map_err(|e| format!("`{name}::send`: {e}"))?;
        imp.items[position] = syn::ImplItem::Fn(send);
        imp.items.insert(position, syn::ImplItem::Fn(into_request));
        split += 1;
    }
    Ok(split)
}

/// `(into_request, send)` for one builder's `send()`: everything up to the `pre` hook builds
/// the request; from `exec` on is what sending it takes.
fn split_one(send: &syn::ImplItemFn) -> Result<(syn::ImplItemFn, syn::ImplItemFn), String> {
    let statements = &send.block.stmts;
    let calls = |stmt: &syn::Stmt, method: &str| {
        stmt.to_token_stream()
            .to_string()
            .contains(&format!("client . {method} ("))
    };
    let pre = statements
        .iter()
        .position(|s| calls(s, "pre"))
        .ok_or("no `pre` hook call")?;
    let info = statements[..pre]
        .iter()
        .position(|s| s.to_token_stream().to_string().starts_with("let info ="))
        .ok_or("no `let info` before the `pre` hook")?;
    let error_body =
        send_error_body(&send.sig.output).ok_or("`send` does not return Result<_, Error<_>>")?;
    let building = statements[..pre]
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != info)
        .map(|(_, s)| s);
    let info_stmt = &statements[info];
    let sending = &statements[pre + 1..];
    let into_request: syn::ImplItemFn = syn::parse_quote! {
        /// Builds the request and checks it against the spec, without sending it.
        pub(crate) fn into_request(self) -> Result<::reqwest::Request, Error<#error_body>> {
            #(#building)*
            #info_stmt
            crate::operations::hooks::check(&client.inner, &mut request, &info)?;
            Ok(request)
        }
    };
    let attrs = &send.attrs;
    let vis = &send.vis;
    let output = &send.sig.output;
    let send: syn::ImplItemFn = syn::parse_quote! {
        #(#attrs)*
        #vis async fn send(self) #output {
            let client = self.client;
            let request = Self::into_request(self)?;
            #info_stmt
            #(#sending)*
        }
    };
    Ok((into_request, send))
}

/// `E` of a `send()` returning `Result<ResponseValue<T>, Error<E>>`.
fn send_error_body(output: &syn::ReturnType) -> Option<syn::Type> {
    let syn::ReturnType::Type(_, ty) = output else {
        return None;
    };
    let last_args = |ty: &syn::Type| match ty {
        syn::Type::Path(p) => match &p.path.segments.last()?.arguments {
            syn::PathArguments::AngleBracketed(args) => Some(
                args.args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        },
        _ => None,
    };
    let error = last_args(ty)?.into_iter().nth(1)?;
    last_args(&error)?.into_iter().next()
}

/// progenitor's `Client::new` and `Client::new_with_client` would build a client past every
/// check of `ClientBuilder` (key, base URL, TLS; `new` even panics without a TLS provider):
/// they stay inside the crate, which builds clients only through the builder.
pub(crate) fn hide_unchecked_constructors(file: &mut syn::File) -> Result<(), String> {
    let mut hidden = 0;
    for f in client_methods_mut(&mut file.items) {
        if f.sig.ident == "new" || f.sig.ident == "new_with_client" {
            f.vis = syn::parse_quote!(pub(crate));
            // `new` is unused: the builder always passes its own HTTP client.
            f.attrs.push(syn::parse_quote!(#[allow(dead_code)]));
            hidden += 1;
        }
    }
    if hidden == 2 {
        Ok(())
    } else {
        Err(format!(
            "expected progenitor's Client::new and Client::new_with_client, found {hidden}"
        ))
    }
}

/// Operation builders keep their `&Client` private; the hand-written layers (pagination checks
/// `Link` targets against the client's trusted hosts, batches swap in a dry-run client) need it.
pub(crate) fn expose_builder_clients(file: &mut syn::File) -> usize {
    let mut exposed = 0;
    let operation_builders = module_items_mut(&mut file.items, "builder");
    for item in operation_builders.into_iter().flatten() {
        let syn::Item::Struct(s) = item else { continue };
        for field in s.fields.iter_mut() {
            if field.ident.as_ref().is_some_and(|i| i == "client") {
                field.vis = syn::parse_quote!(pub(crate));
                exposed += 1;
            }
        }
    }
    exposed
}

/// The leniency `openapi.yaml` decides (`cargo xtask generate` marks it): which enums are open
/// and which lists read `null` as empty, by type name.
#[derive(Default, Debug)]
pub(crate) struct Leniency {
    /// Schemas marked `x-open-enum`.
    pub(crate) open_enums: BTreeSet<String>,
    /// `type -> wire names` of the properties marked `x-null-as-empty`.
    pub(crate) null_lists: BTreeMap<String, BTreeSet<String>>,
    /// `type -> wire names` of the request properties marked `x-clearable`.
    pub(crate) clearable: BTreeMap<String, BTreeSet<String>>,
}

impl Leniency {
    /// From `components/schemas` (component names are the generated type names).
    pub(crate) fn of(document: &Value) -> Self {
        let mut leniency = Self::default();
        let schemas = document
            .pointer("/components/schemas")
            .and_then(Value::as_object);
        for (name, schema) in schemas.into_iter().flatten() {
            if schema.get("x-open-enum") == Some(&Value::Bool(true)) {
                leniency.open_enums.insert(name.clone());
            }
            let properties = schema.get("properties").and_then(Value::as_object);
            for (field, property) in properties.into_iter().flatten() {
                if property.get("x-null-as-empty") == Some(&Value::Bool(true)) {
                    leniency
                        .null_lists
                        .entry(name.clone())
                        .or_default()
                        .insert(field.clone());
                }
                if property.get("x-clearable") == Some(&Value::Bool(true)) {
                    leniency
                        .clearable
                        .entry(name.clone())
                        .or_default()
                        .insert(field.clone());
                }
            }
        }
        leniency
    }
}

/// Open enums get a catch-all: the API adds values before its specs list them, and one unknown
/// value must not fail a whole page. Each enum named in `open` gains `Unknown(String)`
/// (serialized back as sent) and, from `lenient::open_enum!`, a `Deserialize`, `FromStr` and
/// `Display` that know it. An `open` name that is not a generated enum of unit variants is an
/// error.
pub(crate) fn open_enums(file: &mut syn::File, open: &BTreeSet<String>) -> Result<(), String> {
    let Some(types) = module_items_mut(&mut file.items, "types") else {
        return Ok(());
    };
    let mut opened = Vec::new();
    for item in types.iter_mut() {
        let syn::Item::Enum(e) = item else { continue };
        if !open.contains(&e.ident.to_string()) {
            continue;
        }
        if !e.variants.iter().all(|v| v.fields.is_empty()) {
            return Err(format!(
                "`{}` is marked x-open-enum but is not a plain enum",
                e.ident
            ));
        }
        let wire: Vec<(syn::Ident, String)> = e
            .variants
            .iter()
            .map(|v| {
                let name = serde_rename(&v.attrs).unwrap_or_else(|| v.ident.to_string());
                (v.ident.clone(), name)
            })
            .collect();
        for attr in &mut e.attrs {
            if !attr.path().is_ident("derive") {
                continue;
            }
            let Ok(list) = attr.parse_args_with(
                syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
            ) else {
                continue;
            };
            // `Copy` cannot hold a `String`; `Deserialize` is written below, without the
            // buffering serde's derive needs for an untagged variant.
            let kept = list.iter().filter(|p| {
                !p.is_ident("Copy") && p.segments.last().is_none_or(|s| s.ident != "Deserialize")
            });
            *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
        e.variants.push(syn::parse_quote! {
            /// A value this version of the spec does not list, kept as the API sent it.
            #[serde(untagged)]
            Unknown(::std::string::String)
        });
        opened.push((e.ident.clone(), wire));
    }
    let names: BTreeSet<String> = opened.iter().map(|(name, _)| name.to_string()).collect();
    if let Some(missing) = open.difference(&names).next() {
        return Err(format!(
            "`{missing}` is marked x-open-enum but progenitor generated no such enum"
        ));
    }
    // progenitor's own `Display` and `FromStr` know only the listed values.
    types.retain(|item| {
        let syn::Item::Impl(imp) = item else {
            return true;
        };
        let Some((trait_path, _)) = &imp.trait_ else {
            return true;
        };
        let replaced = trait_path
            .segments
            .last()
            .is_some_and(|s| s.ident == "Display" || s.ident == "FromStr");
        !(replaced && last_ident(&imp.self_ty).is_some_and(|n| names.contains(&n)))
    });
    for (name, wire) in opened {
        let (idents, strings): (Vec<syn::Ident>, Vec<String>) = wire.into_iter().unzip();
        types.push(syn::parse_quote! {
            crate::operations::lenient::open_enum!(#name { #(#idents => #strings),* });
        });
    }
    Ok(())
}

/// Optional lists are `Vec<T>` with `#[serde(default)]`; the API also sends `null` for them.
/// The fields named in `lists` (`type -> wire names`) read `null` as an empty list. A name that
/// matches no generated field is an error.
pub(crate) fn null_lists_as_empty(
    file: &mut syn::File,
    lists: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), String> {
    let mut done = 0;
    for item in module_items_mut(&mut file.items, "types")
        .into_iter()
        .flatten()
    {
        let syn::Item::Struct(s) = item else { continue };
        let Some(fields) = lists.get(&s.ident.to_string()) else {
            continue;
        };
        for field in s.fields.iter_mut() {
            let wire = serde_rename(&field.attrs)
                .or_else(|| field.ident.as_ref().map(|i| i.to_string()))
                .unwrap_or_default();
            if fields.contains(&wire) && last_ident(&field.ty).as_deref() == Some("Vec") {
                field.attrs.push(
                    syn::parse_quote!(#[serde(deserialize_with = "crate::operations::lenient::null_as_empty")]),
                );
                done += 1;
            }
        }
    }
    let expected: usize = lists.values().map(BTreeSet::len).sum();
    if done != expected {
        return Err(format!(
            "{expected} fields are marked x-null-as-empty, but {done} generated `Vec` fields match them"
        ));
    }
    Ok(())
}

/// Request fields the API clears on `null` (`x-clearable`) become `crate::Patch<T>` in place of
/// `Option<T>`: left out, `null`, or a value. Their struct builders' fields and setters follow
/// (a setter takes a value, an `Option` or a `Patch`, so callers who never clear see no change).
/// A name that matches no generated `Option` field is an error.
pub(crate) fn clearable_fields(
    file: &mut syn::File,
    clearable: &BTreeMap<String, BTreeSet<String>>,
) -> Result<(), String> {
    let Some(types) = module_items_mut(&mut file.items, "types") else {
        return Ok(());
    };
    // `(struct, field ident)` of every field made a `Patch`.
    let mut patched: BTreeSet<(String, String)> = BTreeSet::new();
    for item in types.iter_mut() {
        let syn::Item::Struct(s) = item else { continue };
        let Some(fields) = clearable.get(&s.ident.to_string()) else {
            continue;
        };
        for field in s.fields.iter_mut() {
            let wire = serde_rename(&field.attrs)
                .or_else(|| field.ident.as_ref().map(|i| i.to_string()))
                .unwrap_or_default();
            if !fields.contains(&wire) {
                continue;
            }
            let Some(inner) = option_inner(&field.ty) else {
                continue;
            };
            field.ty = syn::parse_quote!(crate::Patch<#inner>);
            for attr in field
                .attrs
                .iter_mut()
                .filter(|a| a.path().is_ident("serde"))
            {
                if let syn::Meta::List(list) = &mut attr.meta {
                    let text = list.tokens.to_string().replace(
                        "\"::std::option::Option::is_none\"",
                        "\"crate::Patch::is_absent\"",
                    );
                    let text = if text.contains("default") {
                        text
                    } else {
                        format!("default, {text}")
                    };
                    list.tokens = text.parse().map_err(|e| format!("`{}`: {e}", s.ident))?;
                }
            }
            let ident = field
                .ident
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            patched.insert((s.ident.to_string(), ident));
        }
    }
    let expected: usize = clearable.values().map(BTreeSet::len).sum();
    if patched.len() != expected {
        let missing: Vec<String> = clearable
            .iter()
            .flat_map(|(ty, fields)| fields.iter().map(move |f| format!("{ty}.{f}")))
            .filter(|name| {
                let (ty, field) = name.split_once('.').unwrap_or_default();
                !patched
                    .iter()
                    .any(|(t, f)| t == ty && f.trim_start_matches("r#") == heck_snake(field))
            })
            .take(5)
            .collect();
        return Err(format!(
            "{expected} fields are marked x-clearable, but {} generated `Option` fields match them (not: {})",
            patched.len(),
            missing.join(", ")
        ));
    }
    let Some(builders) = module_items_mut(types, "builder") else {
        return Ok(());
    };
    for item in builders.iter_mut() {
        match item {
            syn::Item::Struct(s) => {
                let name = s.ident.to_string();
                for field in s.fields.iter_mut() {
                    let ident = field
                        .ident
                        .as_ref()
                        .map(ToString::to_string)
                        .unwrap_or_default();
                    if patched.contains(&(name.clone(), ident)) {
                        patch_first_argument(&mut field.ty);
                    }
                }
            }
            syn::Item::Impl(imp) if imp.trait_.is_none() => {
                let name = last_ident(&imp.self_ty).unwrap_or_default();
                for member in imp.items.iter_mut() {
                    let syn::ImplItem::Fn(setter) = member else {
                        continue;
                    };
                    if !patched.contains(&(name.clone(), setter.sig.ident.to_string())) {
                        continue;
                    }
                    for predicate in setter
                        .sig
                        .generics
                        .make_where_clause()
                        .predicates
                        .iter_mut()
                    {
                        let syn::WherePredicate::Type(bound) = predicate else {
                            continue;
                        };
                        for bound in bound.bounds.iter_mut() {
                            if let syn::TypeParamBound::Trait(t) = bound {
                                if let Some(last) = t.path.segments.last_mut() {
                                    if last.ident == "TryInto" {
                                        patch_generic_arguments(&mut last.arguments);
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// A wire name as typify names its field (`portScheduleId` → `port_schedule_id`), for messages.
fn heck_snake(wire: &str) -> String {
    let mut out = String::new();
    for (i, c) in wire.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// `T` of `Option<T>`.
fn option_inner(ty: &syn::Type) -> Option<syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    }
}

/// `Result<Option<T>, E>` becomes `Result<crate::Patch<T>, E>`.
fn patch_first_argument(ty: &mut syn::Type) {
    if let syn::Type::Path(p) = ty {
        if let Some(last) = p.path.segments.last_mut() {
            patch_generic_arguments(&mut last.arguments);
        }
    }
}

/// The first `Option<T>` argument of `<...>` becomes `crate::Patch<T>`.
fn patch_generic_arguments(arguments: &mut syn::PathArguments) {
    let syn::PathArguments::AngleBracketed(args) = arguments else {
        return;
    };
    if let Some(syn::GenericArgument::Type(first)) = args.args.first_mut() {
        if let Some(inner) = option_inner(first) {
            *first = syn::parse_quote!(crate::Patch<#inner>);
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
            } else if meta.input.peek(syn::Token![=]) {
                let _ = meta.value()?.parse::<syn::Expr>()?;
            }
            Ok(())
        });
    }
    rename
}

pub(crate) fn last_ident(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        _ => None,
    }
}

pub(crate) fn module_items<'a>(items: &'a [syn::Item], name: &str) -> Option<&'a [syn::Item]> {
    items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, items)| &items[..]),
        _ => None,
    })
}

/// The methods of progenitor's inherent `impl Client` blocks (one per operation, and the
/// constructors).
pub(crate) fn client_methods_mut(
    items: &mut [syn::Item],
) -> impl Iterator<Item = &mut syn::ImplItemFn> {
    items
        .iter_mut()
        .filter_map(|item| match item {
            syn::Item::Impl(imp)
                if imp.trait_.is_none()
                    && last_ident(&imp.self_ty).as_deref() == Some("Client") =>
            {
                Some(imp)
            }
            _ => None,
        })
        .flat_map(|imp| {
            imp.items.iter_mut().filter_map(|member| match member {
                syn::ImplItem::Fn(f) => Some(f),
                _ => None,
            })
        })
}

/// The text of a `#[doc = "…"]` attribute, and the value to replace to change it.
pub(crate) fn doc_text_mut(attr: &mut syn::Attribute) -> Option<(String, &mut syn::Expr)> {
    let syn::Meta::NameValue(nv) = &mut attr.meta else {
        return None;
    };
    let syn::Expr::Lit(syn::ExprLit {
        lit: syn::Lit::Str(text),
        ..
    }) = &nv.value
    else {
        return None;
    };
    Some((text.value(), &mut nv.value))
}

pub(crate) fn module_items_mut<'a>(
    items: &'a mut [syn::Item],
    name: &str,
) -> Option<&'a mut Vec<syn::Item>> {
    items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}

/// Operations Meraki deprecated (`x-deprecation` in the spec) get `#[deprecated]` with the
/// replacement: on the `Client` method that starts them and on their builder. Returns how many
/// methods were marked.
pub(crate) fn deprecate_operations(
    file: &mut syn::File,
    notes: &BTreeMap<String, String>,
) -> Result<usize, String> {
    let mut marked = 0;
    let mut builders = BTreeSet::new();
    for f in client_methods_mut(&mut file.items) {
        if let Some(note) = notes.get(&f.sig.ident.to_string()) {
            f.attrs.push(syn::parse_quote!(#[deprecated(note = #note)]));
            if let syn::ReturnType::Type(_, ty) = &f.sig.output {
                if let Some(name) = last_ident(ty) {
                    builders.insert((name, note.clone()));
                }
            }
            marked += 1;
        }
    }
    for item in module_items_mut(&mut file.items, "builder")
        .into_iter()
        .flatten()
    {
        let syn::Item::Struct(s) = item else { continue };
        if let Some((_, note)) = builders.iter().find(|(name, _)| s.ident == name) {
            s.attrs.push(syn::parse_quote!(#[deprecated(note = #note)]));
        }
    }
    if marked != notes.len() {
        return Err(format!(
            "{marked} of {} deprecated operations' `Client` methods found",
            notes.len()
        ));
    }
    Ok(marked)
}
