//! Changes to progenitor's output that the Dashboard API needs: forgiving response decoding
//! through the crate's own decoder, fewer generated builders, and access for the hand-written
//! layers.

use std::collections::BTreeSet;

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::ToTokens;

use crate::tokens::{
    braced_item_name, into_parts, map_module_body, module_position, placeholder, split_items,
};

/// typify writes a builder for every generated struct (`types::builder::*`), more than half of
/// all generated code. Operations use only those of their request bodies; the rest (response
/// types and everything nested) are dropped, which halves compile time and memory for the whole
/// API. Response types are still built with struct literals (`Default` where all fields are
/// optional).
///
/// This runs on progenitor's tokens, before they are parsed: parsing the unused builders was
/// the largest part of the build script's time. `keep`: [`OperationBuilders::struct_builders`].
pub(crate) fn drop_unused_struct_builders(
    tokens: TokenStream,
    keep: &BTreeSet<String>,
) -> TokenStream {
    let top: Vec<TokenTree> = tokens.into_iter().collect();
    let top = map_module_body(top, "types", |types| {
        map_module_body(types, "builder", |struct_builders| {
            split_items(struct_builders)
                .into_iter()
                .filter(|item| braced_item_name(item).is_none_or(|name| keep.contains(&name)))
                .flatten()
                .collect()
        })
    });
    top.into_iter().collect()
}

/// What the operation builders (`mod builder`) tell of the types they use.
#[derive(Default)]
pub(crate) struct OperationBuilders {
    /// Every `X` in `types::builder::X`: the struct builders operations use.
    pub(crate) struct_builders: BTreeSet<String>,
    /// Every identifier inside `ResponseValue<...>`: the operations' output types, where the
    /// response types start.
    pub(crate) output_names: Vec<String>,
}

/// One pass over the operation builders (`mod builder`, on progenitor's tokens): operations
/// decode JSON bodies with the hand-written `decode::response_value` instead of progenitor's
/// `ResponseValue::from_response` (why: the `decode` module's docs), and what they tell of the
/// types is collected on the way.
pub(crate) fn route_json_decoding(tokens: TokenStream) -> (TokenStream, OperationBuilders) {
    let top: Vec<TokenTree> = tokens.into_iter().collect();
    let mut found = OperationBuilders::default();
    let top = map_module_body(top, "builder", |body| {
        walk_operation_builders(body, &mut found)
    });
    (top.into_iter().collect(), found)
}

fn walk_operation_builders(
    mut tokens: Vec<TokenTree>,
    found: &mut OperationBuilders,
) -> Vec<TokenTree> {
    let is_punct = |t: &TokenTree, c: char| matches!(t, TokenTree::Punct(p) if p.as_char() == c);
    let is_ident = |t: &TokenTree, name: &str| matches!(t, TokenTree::Ident(i) if i == name);
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let (current, rest) = tokens[i..].split_first_mut().expect("i < len");
        match current {
            TokenTree::Group(_) => {
                let TokenTree::Group(group) = std::mem::replace(current, placeholder()) else {
                    unreachable!("matched a group");
                };
                let (delimiter, span, inner) = into_parts(group);
                let inner = walk_operation_builders(inner, found);
                let mut replaced = Group::new(delimiter, inner.into_iter().collect());
                replaced.set_span(span);
                out.push(TokenTree::Group(replaced));
            }
            TokenTree::Ident(ident) if ident == "types" => {
                if let [c1, c2, builder, c3, c4, TokenTree::Ident(name), ..] = &rest[..] {
                    if [c1, c2, c3, c4].into_iter().all(|c| is_punct(c, ':'))
                        && is_ident(builder, "builder")
                    {
                        found.struct_builders.insert(name.to_string());
                    }
                }
                out.push(current.clone());
            }
            TokenTree::Ident(ident) if ident == "ResponseValue" => {
                if let [a, b, f, ..] = &rest[..] {
                    if is_punct(a, ':') && is_punct(b, ':') && is_ident(f, "from_response") {
                        out.extend(quote::quote!(crate::decode::response_value));
                        i += 4;
                        continue;
                    }
                }
                response_value_idents(rest, &mut found.output_names);
                out.push(current.clone());
            }
            other => out.push(other.clone()),
        }
        i += 1;
    }
    out
}

/// The identifiers in `<...>` right after `ResponseValue`.
fn response_value_idents(after: &[TokenTree], out: &mut Vec<String>) {
    let mut depth = 0usize;
    for token in after {
        match token {
            TokenTree::Punct(p) if p.as_char() == '<' => depth += 1,
            TokenTree::Punct(p) if p.as_char() == '>' && depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    return;
                }
            }
            TokenTree::Ident(ident) if depth > 0 => out.push(ident.to_string()),
            _ if depth == 0 => return,
            _ => {}
        }
    }
}

/// `X::builder()` for the struct builders that were dropped.
pub(crate) fn drop_unused_builder_fns(file: &mut syn::File, keep: &BTreeSet<String>) {
    let Some(types) = module_items_mut(&mut file.items, "types") else {
        return;
    };
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

/// progenitor's output cut in two at the top level: `mod types` (with its attributes) and
/// everything else (the client, `mod builder`, ...), so each half can be parsed and formatted on
/// its own thread.
pub(crate) fn split_types_module(tokens: TokenStream) -> (TokenStream, TokenStream) {
    let (types, rest): (Vec<_>, Vec<_>) = split_items(tokens.into_iter().collect())
        .into_iter()
        .partition(|item| module_position(item, "types").is_some());
    (
        types.into_iter().flatten().collect(),
        rest.into_iter().flatten().collect(),
    )
}

/// Operation builders keep their `&Client` private; the hand-written layers (pagination checks
/// `Link` targets against the client's trusted hosts) need to reach it.
pub(crate) fn expose_builder_clients(file: &mut syn::File) {
    let operation_builders = module_items_mut(&mut file.items, "builder");
    for item in operation_builders.into_iter().flatten() {
        let syn::Item::Struct(s) = item else { continue };
        for field in s.fields.iter_mut() {
            if field.ident.as_ref().is_some_and(|i| i == "client") {
                field.vis = syn::parse_quote!(pub(crate));
            }
        }
    }
}

/// Response enums get a catch-all: the API adds enum values before its specs list them, and one
/// unknown value must not fail a whole page. Every string enum reachable from an operation's
/// output gains `Unknown(String)` (deserialized untagged, serialized back as sent) and a
/// `FromStr`/`Display` that round-trip it. Request-only enums stay strict (`shared_types` never
/// merges them with response enums).
///
/// `responses`: the types reachable from the operations' outputs
/// (`shared_types::Merged::responses`).
pub(crate) fn open_response_enums(file: &mut syn::File, responses: &BTreeSet<String>) {
    let Some(types) = module_items_mut(&mut file.items, "types") else {
        return;
    };
    let mut opened = Vec::new();
    for item in types.iter_mut() {
        let syn::Item::Enum(e) = item else { continue };
        let unit_only = e
            .variants
            .iter()
            .all(|v| matches!(v.fields, syn::Fields::Unit));
        if !unit_only || !responses.contains(&e.ident.to_string()) {
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
pub(crate) fn null_arrays_as_empty(file: &mut syn::File) {
    let types = module_items_mut(&mut file.items, "types");
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

pub(crate) fn module_items_mut<'a>(
    items: &'a mut [syn::Item],
    name: &str,
) -> Option<&'a mut Vec<syn::Item>> {
    items.iter_mut().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == name => m.content.as_mut().map(|(_, items)| items),
        _ => None,
    })
}
