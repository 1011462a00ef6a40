//! The build script's post-processing (dropping unused struct builders, merging repeated
//! types), on small hand-written inputs.

#[allow(dead_code)]
#[path = "../build/post_process.rs"]
mod post_process;
#[path = "../build/shared_types.rs"]
mod shared_types;
#[allow(dead_code)]
#[path = "../build/tokens.rs"]
mod tokens;

use std::collections::BTreeMap;

use quote::ToTokens;
use shared_types::alias_repeated_types;

#[test]
fn struct_builders_are_kept_only_for_types_that_operation_builders_name() {
    let tokens: proc_macro2::TokenStream = r#"
        pub mod types {
            pub struct CreateBody { pub name: Option<String> }
            pub struct Response { pub name: Option<String> }
            pub mod builder {
                #[derive(Clone, Debug)]
                pub struct CreateBody { name: Result<Option<String>, String> }
                impl Default for CreateBody { fn default() -> Self { Self { name: Ok(None) } } }
                impl TryFrom<CreateBody> for super::CreateBody {
                    type Error = String;
                    fn try_from(value: CreateBody) -> Result<Self, String> {
                        Ok(Self { name: value.name? })
                    }
                }
                #[derive(Clone, Debug)]
                pub struct Response { name: Result<Option<String>, String> }
                impl TryFrom<Response> for super::Response {
                    type Error = String;
                    fn try_from(value: Response) -> Result<Self, String> {
                        Ok(Self { name: value.name? })
                    }
                }
                impl From<super::Response> for Response {
                    fn from(value: super::Response) -> Self { Self { name: Ok(value.name) } }
                }
            }
        }
        pub mod builder {
            pub struct CreateThing<'a> {
                client: &'a (),
                body: Result<types::builder::CreateBody, String>,
            }
        }
    "#
    .parse()
    .unwrap();
    let (tokens, operation_builders) = post_process::route_json_decoding(tokens);
    let kept = operation_builders.struct_builders;
    assert_eq!(kept.iter().collect::<Vec<_>>(), ["CreateBody"]);
    let tokens = post_process::drop_unused_struct_builders(tokens, &kept);
    let file: syn::File = syn::parse2(tokens).unwrap();
    let builders = post_process::module_items(types_module(&file), "builder").unwrap();
    let structs: Vec<String> = builders
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            _ => None,
        })
        .collect();
    assert_eq!(structs, ["CreateBody"]);
    assert_eq!(impls_for(builders, "CreateBody"), 2);
    assert_eq!(impls_for(builders, "Response"), 0);
    // The types themselves and the operation builders are untouched.
    assert_eq!(types_module(&file).len(), 3);
    assert!(post_process::module_items(&file.items, "builder").is_some());
}

#[test]
fn operations_decode_json_with_the_crate_decoder() {
    let tokens: proc_macro2::TokenStream = r#"
        pub mod types {
            pub fn unrelated() { ResponseValue::from_response(response) }
        }
        pub mod builder {
            impl<'a> GetThing<'a> {
                pub async fn send(self) -> Result<ResponseValue<types::Thing>, Error<()>> {
                    match response.status().as_u16() {
                        200u16 => ResponseValue::from_response(response).await,
                        204u16 => Ok(ResponseValue::empty(response)),
                        _ => Err(Error::UnexpectedResponse(response)),
                    }
                }
            }
        }
    "#
    .parse()
    .unwrap();
    let (tokens, operation_builders) = post_process::route_json_decoding(tokens);
    let text = tokens.to_string();
    assert!(
        text.contains("200u16 => crate :: decode :: response_value (response) . await"),
        "{text}"
    );
    assert!(text.contains("ResponseValue :: empty (response)"), "{text}");
    // What the response types are reached from.
    assert_eq!(operation_builders.output_names, ["types", "Thing"]);
    assert!(
        text.contains("Result < ResponseValue < types :: Thing >"),
        "{text}"
    );
    // Only the operation builders are routed.
    assert!(
        text.contains("fn unrelated () { ResponseValue :: from_response (response) }"),
        "{text}"
    );
}

fn merge(source: &str) -> (syn::File, BTreeMap<String, String>) {
    let (file, merged) = merge_with_outputs(source, &[]);
    (file, merged.aliases)
}

fn merge_with_outputs(source: &str, outputs: &[&str]) -> (syn::File, shared_types::Merged) {
    let outputs: Vec<String> = outputs.iter().map(|s| s.to_string()).collect();
    let (tokens, merged) = alias_repeated_types(source.parse().unwrap(), &outputs);
    (syn::parse2(tokens).unwrap(), merged)
}

fn types_module(file: &syn::File) -> &[syn::Item] {
    post_process::module_items(&file.items, "types").unwrap()
}

/// `(name, target)` of each `pub type` alias in `items`.
fn aliases_in(items: &[syn::Item]) -> Vec<(String, String)> {
    items
        .iter()
        .filter_map(|item| match item {
            syn::Item::Type(t) => Some((t.ident.to_string(), t.ty.to_token_stream().to_string())),
            _ => None,
        })
        .collect()
}

fn impls_for(items: &[syn::Item], name: &str) -> usize {
    items
        .iter()
        .filter(|item| match item {
            syn::Item::Impl(imp) => post_process::last_ident(&imp.self_ty).as_deref() == Some(name),
            _ => false,
        })
        .count()
}

#[test]
fn identical_types_become_aliases_of_the_shortest_name_keeping_their_docs() {
    let (file, aliases) = merge(
        r#"
        pub mod types {
            /// A VLAN, as listed.
            #[derive(Clone, Debug, Deserialize, Serialize)]
            pub struct GetNetworkVlansResponseItem {
                /// The VLAN id.
                pub id: Option<i64>,
                #[serde(default)]
                pub name: Option<String>,
            }
            impl From<&GetNetworkVlansResponseItem> for GetNetworkVlansResponseItem {
                fn from(value: &GetNetworkVlansResponseItem) -> Self { value.clone() }
            }
            /// One VLAN.
            #[derive(Clone, Debug, Deserialize, Serialize)]
            pub struct GetNetworkVlanResponse {
                /// The id of the VLAN (documented differently).
                pub id: Option<i64>,
                #[serde(default)]
                pub name: Option<String>,
            }
            impl From<&GetNetworkVlanResponse> for GetNetworkVlanResponse {
                fn from(value: &GetNetworkVlanResponse) -> Self { value.clone() }
            }
        }
        "#,
    );
    assert_eq!(
        aliases,
        BTreeMap::from([(
            "GetNetworkVlansResponseItem".to_owned(),
            "GetNetworkVlanResponse".to_owned()
        )])
    );
    let types = types_module(&file);
    assert_eq!(
        aliases_in(types),
        [(
            "GetNetworkVlansResponseItem".to_owned(),
            "GetNetworkVlanResponse".to_owned()
        )]
    );
    assert_eq!(impls_for(types, "GetNetworkVlansResponseItem"), 0);
    assert_eq!(impls_for(types, "GetNetworkVlanResponse"), 1);
    let alias = types
        .iter()
        .find(|i| matches!(i, syn::Item::Type(_)))
        .unwrap();
    let text = alias.to_token_stream().to_string();
    assert!(text.contains("A VLAN, as listed."), "{text}");
    assert!(
        text.contains("Same shape as [`GetNetworkVlanResponse`]"),
        "{text}"
    );
}

#[test]
fn any_difference_in_fields_attributes_or_impls_keeps_types_apart() {
    let (_, aliases) = merge(
        r#"
        pub mod types {
            pub struct A { pub id: Option<i64> }
            pub struct B { pub identifier: Option<i64> }
            pub struct C { pub id: Option<String> }
            pub struct D { #[serde(rename = "ID")] pub id: Option<i64> }
            pub struct E { pub id: Option<i64> }
            impl Default for E { fn default() -> Self { E { id: Some(1) } } }
            pub enum F { Active }
            pub enum G { Active, Expired }
        }
        "#,
    );
    assert!(aliases.is_empty(), "{aliases:?}");
}

#[test]
fn types_that_differ_only_in_identical_nested_types_merge_level_by_level() {
    let (file, aliases) = merge(
        r#"
        pub mod types {
            pub struct OuterOne { pub rules: Vec<OuterOneRulesItem>, pub policy: OuterOnePolicy }
            pub struct OuterOneRulesItem { pub port: Option<String>, pub policy: OuterOnePolicy }
            pub enum OuterOnePolicy { Allow, Deny }
            pub struct OuterTwo { pub rules: Vec<OuterTwoRulesItem>, pub policy: OuterTwoPolicy }
            pub struct OuterTwoRulesItem { pub port: Option<String>, pub policy: OuterTwoPolicy }
            pub enum OuterTwoPolicy { Allow, Deny }
            pub struct OuterThree { pub rules: Vec<OuterThreeRulesItem>, pub policy: OuterTwoPolicy }
            pub struct OuterThreeRulesItem { pub port: Option<i64>, pub policy: OuterTwoPolicy }
        }
        "#,
    );
    let expected: BTreeMap<String, String> = [
        ("OuterTwo", "OuterOne"),
        ("OuterTwoRulesItem", "OuterOneRulesItem"),
        ("OuterTwoPolicy", "OuterOnePolicy"),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_owned(), b.to_owned()))
    .collect();
    // OuterThree's items hold a different port type, so OuterThree stays apart too.
    assert_eq!(aliases, expected);
    assert_eq!(aliases_in(types_module(&file)).len(), 3);
}

#[test]
fn a_type_with_a_builder_merges_only_with_one_that_has_the_same_builder() {
    let (file, aliases) = merge(
        r#"
        pub mod types {
            pub struct UpdateBody { pub name: Option<String> }
            impl UpdateBody { pub fn builder() -> builder::UpdateBody { Default::default() } }
            pub struct CreateBody { pub name: Option<String> }
            impl CreateBody { pub fn builder() -> builder::CreateBody { Default::default() } }
            pub struct Response { pub name: Option<String> }
            pub mod builder {
                pub struct UpdateBody { name: Result<Option<String>, String> }
                impl TryFrom<UpdateBody> for super::UpdateBody {
                    type Error = String;
                    fn try_from(value: UpdateBody) -> Result<Self, String> {
                        Ok(Self { name: value.name? })
                    }
                }
                pub struct CreateBody { name: Result<Option<String>, String> }
                impl TryFrom<CreateBody> for super::CreateBody {
                    type Error = String;
                    fn try_from(value: CreateBody) -> Result<Self, String> {
                        Ok(Self { name: value.name? })
                    }
                }
            }
        }
        "#,
    );
    assert_eq!(
        aliases,
        BTreeMap::from([("UpdateBody".to_owned(), "CreateBody".to_owned())])
    );
    let builders = post_process::module_items(types_module(&file), "builder").unwrap();
    assert_eq!(
        aliases_in(builders),
        [("UpdateBody".to_owned(), "CreateBody".to_owned())]
    );
    assert_eq!(impls_for(builders, "UpdateBody"), 0);
    assert_eq!(impls_for(builders, "CreateBody"), 1);
}

#[test]
fn tuple_structs_and_names_that_are_also_variants_are_left_alone() {
    let (_, aliases) = merge(
        r#"
        pub mod types {
            pub struct SsidNumber(i64);
            pub struct VlanNumber(i64);
            pub enum Mode { Routed, Bridged }
            pub struct Routed { pub id: Option<i64> }
            pub struct Bridged { pub id: Option<i64> }
        }
        "#,
    );
    assert!(aliases.is_empty(), "{aliases:?}");
}

#[test]
fn generated_code_splits_into_the_types_module_and_the_rest_each_of_which_parses() {
    let tokens: proc_macro2::TokenStream = r#"
        #[allow(unused_imports)]
        pub use progenitor_client::{ByteStream, Error};
        use progenitor_client::{encode_path, ClientHooks};
        /// Types used as operation parameters and responses.
        #[allow(clippy::all)]
        pub mod types {
            use serde::{Deserialize, Serialize};
            pub struct Thing { pub name: Option<String> }
        }
        pub struct Client { baseurl: String }
        impl Client { pub fn baseurl(&self) -> &String { &self.baseurl } }
        pub mod builder { use super::types; }
    "#
    .parse()
    .unwrap();
    let (types, rest) = post_process::split_types_module(tokens);
    let types: syn::File = syn::parse2(types).unwrap();
    let rest: syn::File = syn::parse2(rest).unwrap();

    assert_eq!(types.items.len(), 1);
    let syn::Item::Mod(module) = &types.items[0] else {
        panic!("not a module: {}", types.to_token_stream());
    };
    assert_eq!(module.ident, "types");
    assert_eq!(module.attrs.len(), 2, "docs and allow stay with the module");
    let names: Vec<String> = rest
        .items
        .iter()
        .map(|item| match item {
            syn::Item::Use(_) => "use".to_owned(),
            syn::Item::Struct(s) => s.ident.to_string(),
            syn::Item::Impl(_) => "impl".to_owned(),
            syn::Item::Mod(m) => m.ident.to_string(),
            other => panic!("unexpected {}", other.to_token_stream()),
        })
        .collect();
    assert_eq!(names, ["use", "use", "Client", "impl", "builder"]);
}

#[test]
fn response_enums_merge_with_each_other_but_never_with_request_enums() {
    let (file, merged) = merge_with_outputs(
        r#"
        pub mod types {
            pub struct ListResponseItem {
                pub state: Option<ListResponseItemState>,
                pub detail: Option<Detail>,
            }
            pub struct Detail(pub Vec<DetailKind>);
            pub enum DetailKind { Wide { status: OtherStatus } }
            #[derive(Clone, Copy)]
            pub enum ListResponseItemState { Active, Expired }
            #[derive(Clone, Copy)]
            pub enum OtherStatus { Active, Expired }
            #[derive(Clone, Copy)]
            pub enum ListState { Active, Expired }
            #[derive(Clone, Copy)]
            pub enum UpdateBodyState { Active, Expired }
        }
        "#,
        &["Vec", "types", "ListResponseItem"],
    );
    // Reached through a field, a tuple struct and a struct variant.
    for name in [
        "ListResponseItem",
        "ListResponseItemState",
        "Detail",
        "DetailKind",
        "OtherStatus",
    ] {
        assert!(
            merged.responses.contains(name),
            "{name}: {:?}",
            merged.responses
        );
    }
    assert!(!merged.responses.contains("ListState"));
    assert_eq!(
        merged.aliases,
        BTreeMap::from([
            ("ListResponseItemState".to_owned(), "OtherStatus".to_owned()),
            ("UpdateBodyState".to_owned(), "ListState".to_owned()),
        ])
    );
    assert_eq!(aliases_in(types_module(&file)).len(), 2);
}
