//! The build script's passes over progenitor's output: on small hand-written inputs, and on
//! what the pinned progenitor really generates for an area of the API.

#[allow(dead_code)]
#[path = "../build/passes.rs"]
mod passes;

#[allow(dead_code)]
#[path = "../build/extensions.rs"]
mod extensions;

#[allow(dead_code)]
#[path = "../build/generate.rs"]
mod generate;

#[allow(dead_code)]
#[path = "../build/docs.rs"]
mod docs;

use std::collections::{BTreeMap, BTreeSet};

use quote::ToTokens;

#[test]
fn struct_builders_are_kept_only_for_types_that_operation_builders_name() {
    let tokens: proc_macro2::TokenStream = r#"
        pub mod types {
            pub struct CreateBody { pub name: Option<String> }
            impl CreateBody { pub fn builder() -> builder::CreateBody { Default::default() } }
            pub struct Response { pub name: Option<String> }
            impl Response { pub fn builder() -> builder::Response { Default::default() } }
            impl From<&Response> for Response { fn from(value: &Response) -> Self { value.clone() } }
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
    let mut kept = BTreeSet::new();
    let tokens = passes::route_json_decoding(tokens, &mut kept);
    assert_eq!(kept.iter().collect::<Vec<_>>(), ["CreateBody"]);
    let tokens = passes::drop_unused_struct_builders(tokens, &kept);
    let file: syn::File = syn::parse2(tokens).unwrap();
    let builders = passes::module_items(types_module(&file), "builder").unwrap();
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
    // The types, their other impls and the operation builders are untouched; `builder()` goes
    // with its builder.
    assert_eq!(impls_for(types_module(&file), "CreateBody"), 1);
    assert_eq!(impls_for(types_module(&file), "Response"), 1);
    assert_eq!(types_module(&file).len(), 5);
    assert!(passes::module_items(&file.items, "builder").is_some());
}

#[test]
fn operations_decode_json_with_the_crate_decoder() {
    let tokens: proc_macro2::TokenStream = r#"
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
    let tokens = passes::route_json_decoding(tokens, &mut BTreeSet::new());
    let text = tokens.to_string();
    assert!(
        text.contains(
            "200u16 => crate :: operations :: decode :: response_value (response) . await"
        ),
        "{text}"
    );
    assert!(text.contains("ResponseValue :: empty (response)"), "{text}");
    assert!(
        text.contains("Result < ResponseValue < types :: Thing >"),
        "{text}"
    );
}

fn types_module(file: &syn::File) -> &[syn::Item] {
    passes::module_items(&file.items, "types").unwrap()
}

fn parse(source: &str) -> syn::File {
    syn::parse_str(source).unwrap()
}

#[test]
fn an_area_keeps_only_the_schemas_its_operations_reach() {
    let mut spec = serde_json::json!({
        "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"type": "array", "items": {"$ref": "#/components/schemas/License"}}}}}}}}},
        "components": {"schemas": {
            "License": {"type": "object", "properties": {
                "state": {"allOf": [{"$ref": "#/components/schemas/LicenseState"}], "nullable": true}}},
            "LicenseState": {"type": "string", "enum": ["active"]},
            "Vlan": {"type": "object", "properties": {"id": {"type": "string"}}}
        }}
    });
    passes::keep_reachable_schemas(&mut spec);
    let kept: Vec<&String> = spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(kept, ["License", "LicenseState"]);
}

#[test]
fn leniency_is_read_from_the_spec_by_type_name() {
    let spec = serde_json::json!({"components": {"schemas": {
        "LicenseState": {"type": "string", "enum": ["active"], "x-open-enum": true},
        "GetLicensesState": {"type": "string", "enum": ["active"]},
        "License": {"type": "object", "properties": {
            "seats": {"type": "array", "items": {"type": "string"}, "x-null-as-empty": true},
            "id": {"type": "string"}
        }}
    }}});
    let leniency = passes::Leniency::of(&spec);
    assert_eq!(
        leniency.open_enums,
        BTreeSet::from(["LicenseState".to_owned()])
    );
    assert_eq!(
        leniency.null_lists,
        BTreeMap::from([("License".to_owned(), BTreeSet::from(["seats".to_owned()]))])
    );
}

const TYPES: &str = r#"
    pub mod types {
        #[derive(Clone, Copy, Debug, Deserialize, Serialize)]
        pub enum LicenseState {
            #[serde(rename = "active")]
            Active,
            #[serde(rename = "recently queued")]
            RecentlyQueued,
        }
        impl ::std::fmt::Display for LicenseState { fn fmt(&self, f: &mut Formatter) -> Result { todo!() } }
        impl ::std::str::FromStr for LicenseState { type Err = (); fn from_str(v: &str) -> Result<Self, ()> { todo!() } }
        #[derive(Clone, Copy, Debug, Deserialize, Serialize)]
        pub enum GetLicensesState { Active }
        impl ::std::fmt::Display for GetLicensesState { fn fmt(&self, f: &mut Formatter) -> Result { todo!() } }
        pub struct License {
            #[serde(rename = "seatIds", default, skip_serializing_if = "::std::vec::Vec::is_empty")]
            pub seat_ids: Vec<String>,
            #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
            pub tags: Vec<String>,
            #[serde(default, skip_serializing_if = "::std::vec::Vec::is_empty")]
            pub other: Vec<String>,
        }
    }
"#;

#[test]
fn only_enums_the_spec_marks_open_are_opened() {
    let mut file = parse(TYPES);
    passes::open_enums(&mut file, &BTreeSet::from(["LicenseState".to_owned()])).unwrap();
    let types = types_module(&file);
    let text = |name: &str| {
        types
            .iter()
            .find_map(|item| match item {
                syn::Item::Enum(e) if e.ident == name => Some(e.to_token_stream().to_string()),
                _ => None,
            })
            .unwrap()
    };
    let open = text("LicenseState");
    assert!(
        open.contains("Unknown (:: std :: string :: String)"),
        "{open}"
    );
    assert!(
        !open.contains("Copy") && !open.contains("Deserialize ,"),
        "{open}"
    );
    assert!(!text("GetLicensesState").contains("Unknown"));
    // progenitor's Display/FromStr replaced by `lenient::open_enum!`'s, which know `Unknown`;
    // the strict enum keeps its own.
    let all = file.to_token_stream().to_string();
    assert!(
        all.contains("crate :: operations :: lenient :: open_enum ! (LicenseState { Active => \"active\" , RecentlyQueued => \"recently queued\" })"),
        "{all}"
    );
    assert_eq!(impls_for(types, "LicenseState"), 0);
    assert_eq!(impls_for(types, "GetLicensesState"), 1);

    let mut file = parse(TYPES);
    let error = passes::open_enums(&mut file, &BTreeSet::from(["Missing".to_owned()])).unwrap_err();
    assert!(error.contains("`Missing`"), "{error}");
    let error = passes::open_enums(&mut file, &BTreeSet::from(["License".to_owned()])).unwrap_err();
    assert!(error.contains("`License`"), "{error}");
}

#[test]
fn only_lists_the_spec_marks_read_null_as_empty() {
    let lists = BTreeMap::from([(
        "License".to_owned(),
        BTreeSet::from(["seatIds".to_owned(), "tags".to_owned()]),
    )]);
    let mut file = parse(TYPES);
    passes::null_lists_as_empty(&mut file, &lists).unwrap();
    let text = file.to_token_stream().to_string();
    let marked = text
        .matches("crate::operations::lenient::null_as_empty")
        .count();
    assert_eq!(marked, 2, "{text}");
    assert!(text.contains("pub other : Vec < String >"), "{text}");

    let wrong = BTreeMap::from([("License".to_owned(), BTreeSet::from(["nope".to_owned()]))]);
    let error = passes::null_lists_as_empty(&mut parse(TYPES), &wrong).unwrap_err();
    assert!(error.contains("x-null-as-empty"), "{error}");
}

fn impls_for(items: &[syn::Item], name: &str) -> usize {
    items
        .iter()
        .filter(|item| match item {
            syn::Item::Impl(imp) => passes::last_ident(&imp.self_ty).as_deref() == Some(name),
            _ => false,
        })
        .count()
}

#[test]
fn send_splits_into_building_the_request_and_sending_it() {
    let mut file = parse(
        r#"
        pub mod builder {
            impl<'a> GetThing<'a> {
                pub async fn send(self) -> Result<ResponseValue<types::Thing>, Error<()>> {
                    let Self { client, id } = self;
                    let id = id.map_err(Error::InvalidRequest)?;
                    let url = format!("{}/things/{}", client.baseurl, id);
                    let mut request = client.client.get(url).build()?;
                    let info = OperationInfo { operation_id: "get_thing" };
                    client.pre(&mut request, &info).await?;
                    let result = client.exec(request, &info).await;
                    client.post(&result, &info).await?;
                    let response = result?;
                    match response.status().as_u16() {
                        200u16 => ResponseValue::from_response(response).await,
                        _ => Err(Error::UnexpectedResponse(response)),
                    }
                }
            }
        }
    "#,
    );
    assert_eq!(passes::split_send(&mut file).unwrap(), 1);
    let text = file.to_token_stream().to_string();
    let (into_request, send) = text.split_once("async fn send").unwrap();
    assert!(
        into_request.contains(
            "pub (crate) fn into_request (self) -> Result < :: reqwest :: Request , Error < () > >"
        ),
        "{into_request}"
    );
    assert!(
        into_request.contains(
            "crate :: operations :: hooks :: check (& client . inner , & mut request , & info) ?"
        ),
        "{into_request}"
    );
    assert!(into_request.contains("Ok (request)"));
    assert!(!into_request.contains("exec"), "building sends nothing");
    assert!(
        send.contains("let request = Self :: into_request (self) ?"),
        "{send}"
    );
    assert!(send.contains("client . exec (request , & info)"), "{send}");
    assert!(!send.contains("client . pre"), "{send}");
    // A `send` without the `pre` hook is an error naming the builder.
    let mut odd = parse(
        "pub mod builder { impl<'a> Odd<'a> { pub async fn send(self) -> Result<ResponseValue<()>, Error<()>> { todo!() } } }",
    );
    assert!(passes::split_send(&mut odd)
        .unwrap_err()
        .contains("Odd::send"));
}

#[test]
fn clearable_fields_become_patches_in_the_type_and_its_builder() {
    let mut file = parse(
        r#"
        pub mod types {
            pub struct UpdateThing {
                #[serde(rename = "portScheduleId", skip_serializing_if = "::std::option::Option::is_none")]
                pub port_schedule_id: ::std::option::Option<::std::string::String>,
                #[serde(skip_serializing_if = "::std::option::Option::is_none")]
                pub name: ::std::option::Option<::std::string::String>,
            }
            pub mod builder {
                pub struct UpdateThing {
                    port_schedule_id: ::std::result::Result<::std::option::Option<::std::string::String>, ::std::string::String>,
                    name: ::std::result::Result<::std::option::Option<::std::string::String>, ::std::string::String>,
                }
                impl UpdateThing {
                    pub fn port_schedule_id<T>(mut self, value: T) -> Self
                    where
                        T: ::std::convert::TryInto<::std::option::Option<::std::string::String>>,
                    { self }
                }
            }
        }
    "#,
    );
    let clearable = BTreeMap::from([(
        "UpdateThing".to_owned(),
        BTreeSet::from(["portScheduleId".to_owned()]),
    )]);
    passes::clearable_fields(&mut file, &clearable).unwrap();
    let text = file.to_token_stream().to_string();
    assert!(
        text.contains("pub port_schedule_id : crate :: Patch < :: std :: string :: String >"),
        "{text}"
    );
    assert!(text.contains(r#"default , rename = "portScheduleId" , skip_serializing_if = "crate::Patch::is_absent""#), "{text}");
    assert!(
        text.contains("pub name : :: std :: option :: Option"),
        "unmarked fields stay: {text}"
    );
    assert!(
        text.contains("port_schedule_id : :: std :: result :: Result < crate :: Patch <"),
        "{text}"
    );
    assert!(
        text.contains("TryInto < crate :: Patch < :: std :: string :: String > >"),
        "{text}"
    );
    // A marked name with no such field is an error.
    let missing = BTreeMap::from([(
        "UpdateThing".to_owned(),
        BTreeSet::from(["gone".to_owned()]),
    )]);
    assert!(passes::clearable_fields(&mut file, &missing).is_err());
}

/// Every pass finds what it works on in what progenitor generates for the `organizations`
/// area (open enums, lists that read null, clearable fields among them). When a progenitor or
/// typify release changes its output, this fails naming the pass.
#[test]
fn every_pass_fits_what_the_pinned_progenitor_generates() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml beside Cargo.toml");
    let document: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let areas = generate::Areas {
        full: false,
        enabled: &|area| area == "organizations",
    };
    let generated = generate::generate(document, &areas, false).unwrap_or_else(|e| panic!("{e}"));
    for (pass, trace) in [
        (
            "route_json_decoding",
            "crate::operations::decode::response_value",
        ),
        ("split_send", "fn into_request(self)"),
        ("open_enums", "crate::operations::lenient::open_enum!"),
        (
            "null_lists_as_empty",
            "crate::operations::lenient::null_as_empty",
        ),
        ("clearable_fields", "crate::Patch<"),
        ("document_operations", ".call()\n    .await?;"),
        ("document_operations", "Sent as `perPage` in the query."),
        ("describe_client", "of the Dashboard API v1.42.0"),
    ] {
        assert!(
            generated.client.contains(trace),
            "`{pass}` left no `{trace}` in the generated client"
        );
    }
    assert!(generated
        .extensions
        .contains("impl crate::operations::operation::Operation"));
    assert!(
        !generated.client.contains("```ignore"),
        "no example is left for every test run to list as ignored"
    );
    assert!(
        generated.compiled.contains("133 operations"),
        "{}",
        generated.compiled
    );
}
