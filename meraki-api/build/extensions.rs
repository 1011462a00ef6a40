//! `extensions.rs`: the operation table and the trait impls (`Operation`, `Paginate`,
//! `PageBody`) that connect every generated operation to the hand-written layers.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use heck::{ToPascalCase, ToSnakeCase};
use quote::ToTokens;
use serde_json::Value;

use crate::passes::{last_ident, module_items};

/// What the generated `builder::<Operation>` returns: `send()`'s output and error body types.
pub(crate) struct BuilderInfo {
    pub(crate) output: syn::Type,
    error_body: syn::Type,
}

/// The operation builders (`mod builder`), by name (progenitor names each after its
/// operationId in PascalCase).
pub(crate) fn collect_builders(file: &syn::File) -> BTreeMap<String, BuilderInfo> {
    let mut builders = BTreeMap::new();
    for item in module_items(&file.items, "builder").unwrap_or_default() {
        let syn::Item::Impl(imp) = item else { continue };
        let send = imp.items.iter().find_map(|member| match member {
            syn::ImplItem::Fn(f) if f.sig.ident == "send" && imp.trait_.is_none() => Some(f),
            _ => None,
        });
        let (Some(send), Some(name)) = (send, last_ident(&imp.self_ty)) else {
            continue;
        };
        if let Some((output, error_body)) = send_types(&send.sig.output) {
            builders.insert(name, BuilderInfo { output, error_body });
        }
    }
    builders
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

/// What pagination needs of a struct in `mod types`: the type of its `items` field and whether
/// it has a `meta`.
pub(crate) struct PageFields {
    items: Option<syn::Type>,
    has_meta: bool,
}

/// [`PageFields`] of every struct with named fields in `mod types`, by struct name.
pub(crate) fn collect_type_structs(file: &syn::File) -> BTreeMap<String, PageFields> {
    let mut structs = BTreeMap::new();
    for item in module_items(&file.items, "types").unwrap_or_default() {
        let syn::Item::Struct(s) = item else { continue };
        let syn::Fields::Named(fields) = &s.fields else {
            continue;
        };
        let field = |name: &str| {
            fields
                .named
                .iter()
                .find(|f| f.ident.as_ref().is_some_and(|i| i == name))
        };
        let page_fields = PageFields {
            items: field("items").map(|f| f.ty.clone()),
            has_meta: field("meta").is_some(),
        };
        structs.insert(s.ident.to_string(), page_fields);
    }
    structs
}

/// One operation of the spec, as the hand-written layers need to know it.
struct SpecOperation {
    operation_id: String,
    method: String,
    path: String,
    /// `(wire name, minimum, maximum, integer)` of number query parameters with documented
    /// bounds.
    bounds: Vec<(String, Option<f64>, Option<f64>, bool)>,
    /// The wire names of its path and query parameters.
    parameters: Vec<String>,
    /// `(wire name, values)` of its enum parameters (or arrays of enums), for errors that list
    /// what is valid.
    choices: Vec<(String, Vec<String>)>,
    /// The API version of the document it came from (`x-api-version`, else `info.version`).
    version: String,
    /// `(operation name, resource template)` under which action batches carry it
    /// (`x-batch-action`).
    batch_action: Option<(String, String)>,
    /// Whether a success response is JSON with a schema (the output decodes with serde).
    json_output: bool,
    /// Whether it takes both page cursors (`startingAfter`, `endingBefore`): a paginator.
    paginated: bool,
    /// Meraki deprecated it (`x-deprecation.note`, from `openapi/deprecations.yaml`).
    deprecated: Option<String>,
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
                    let integer = match schema.get("type")?.as_str()? {
                        "integer" => true,
                        "number" => false,
                        _ => return None,
                    };
                    let min = schema.get("minimum").and_then(Value::as_f64);
                    let max = schema.get("maximum").and_then(Value::as_f64);
                    if min.is_none() && max.is_none() {
                        return None;
                    }
                    Some((p.get("name")?.as_str()?.to_owned(), min, max, integer))
                })
                .collect();
            let parameters = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .map(str::to_owned)
                .collect();
            let choices = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|p| {
                    let schema = resolve(document, p.get("schema")?);
                    let schema = match schema.get("items") {
                        Some(items) => resolve(document, items),
                        None => schema,
                    };
                    let values: Vec<String> = schema
                        .get("enum")?
                        .as_array()?
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
                        .collect();
                    Some((p.get("name")?.as_str()?.to_owned(), values))
                })
                .collect();
            let version = op
                .get("x-api-version")
                .and_then(Value::as_str)
                .or_else(|| document.pointer("/info/version").and_then(Value::as_str))
                .unwrap_or_default()
                .to_owned();
            let batch_action = op.get("x-batch-action").and_then(|action| {
                Some((
                    action.get("operation")?.as_str()?.to_owned(),
                    action.get("resource")?.as_str()?.to_owned(),
                ))
            });
            let json_output = op
                .get("responses")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
                .filter(|(status, _)| status.starts_with('2'))
                .any(|(_, r)| r.pointer("/content/application~1json/schema").is_some());
            let query: Vec<&str> = op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                .filter_map(|p| p.get("name").and_then(Value::as_str))
                .collect();
            let paginated = ["startingAfter", "endingBefore"]
                .iter()
                .all(|cursor| query.contains(cursor));
            let deprecated = op
                .pointer("/x-deprecation/note")
                .filter(|_| op.get("deprecated") == Some(&Value::Bool(true)))
                .and_then(Value::as_str)
                .map(str::to_owned);
            operations.push(SpecOperation {
                deprecated,
                operation_id: operation_id.to_owned(),
                method: method.to_ascii_uppercase(),
                path: path.clone(),
                bounds,
                parameters,
                choices,
                version,
                batch_action,
                json_output,
                paginated,
            });
        }
    }
    operations.sort_by(|a, b| a.operation_id.cmp(&b.operation_id));
    operations
}

/// The notes of deprecated operations, by progenitor's snake-case method name.
pub(crate) fn deprecations(document: &Value) -> BTreeMap<String, String> {
    spec_operations(document)
        .into_iter()
        .filter_map(|op| Some((op.operation_id.to_snake_case(), op.deprecated?)))
        .collect()
}

pub(crate) fn render_extensions(
    document: &Value,
    builders: &BTreeMap<String, BuilderInfo>,
    structs: &BTreeMap<String, PageFields>,
) -> Result<String, String> {
    let operations = spec_operations(document);
    let mut out = String::from("// Generated by meraki-api's build script. Do not edit.\n\n");
    out.push_str("/// Every operation of the API this crate was generated from.\n");
    out.push_str(
        "pub(crate) static OPERATIONS: &[crate::operations::operation::OperationSpec] = &[\n",
    );
    for op in &operations {
        let bounds: Vec<String> = op
            .bounds
            .iter()
            .map(|(name, min, max, integer)| {
                let bound = |b: &Option<f64>| match b {
                    Some(v) => format!("Some({v:?})"),
                    None => "None".to_owned(),
                };
                format!(
                    "crate::operations::operation::QueryBound {{ name: {name:?}, min: {}, max: {}, integer: {integer} }}",
                    bound(min),
                    bound(max)
                )
            })
            .collect();
        let paginated = op.paginated;
        writeln!(
            out,
            "    crate::operations::operation::OperationSpec {{ id: {:?}, operation_id: {:?}, method: {:?}, path: {:?}, version: {:?}, parameters: &{:?}, choices: &[{}], bounds: &[{}], paginated: {paginated}, batch: {}, deprecated: {:?} }},",
            op.operation_id.to_snake_case(),
            op.operation_id,
            op.method,
            op.path,
            op.version,
            op.parameters,
            op.choices
                .iter()
                .map(|(name, values)| format!("({name:?}, &{values:?})"))
                .collect::<Vec<_>>()
                .join(", "),
            bounds.join(", "),
            match &op.batch_action {
                Some((operation, resource)) => format!(
                    "Some(crate::operations::operation::BatchSpec {{ operation: {operation:?}, resource: {resource:?} }})"
                ),
                None => "None".to_owned(),
            },
            op.deprecated,
        )
        .expect("writing to a String");
    }
    out.push_str("];\n\n");

    let mut page_bodies = BTreeMap::new();
    // For `test_util::decode_as_output`: each JSON operation's output, decoded and encoded back.
    let mut round_trips = String::new();
    for (index, op) in operations.iter().enumerate() {
        let builder = op.operation_id.to_pascal_case();
        let Some(info) = builders.get(&builder) else {
            return Err(format!(
                "no generated builder for operation `{}` (expected `builder::{builder}`)",
                op.operation_id
            ));
        };
        let output = info.output.to_token_stream();
        let error_body = info.error_body.to_token_stream();
        if op.json_output {
            writeln!(
                round_trips,
                "        {:?} => round_trip::<{output}>(body),",
                op.operation_id
            )
            .expect("writing to a String");
        }
        writeln!(
            out,
            "impl crate::operations::operation::sealed::Sealed for builder::{builder}<'_> {{}}
impl crate::operations::operation::Operation for builder::{builder}<'_> {{
    const SPEC: &'static crate::operations::operation::OperationSpec = &OPERATIONS[{index}];
    type Output = {output};
    fn into_parts(self) -> (Client, ::std::result::Result<::reqwest::Request, crate::Error>) {{
        let client = self.client.clone();
        let request = builder::{builder}::into_request(self)
            .map_err(|e| crate::operations::operation::request_error::<{error_body}>(&OPERATIONS[{index}], e));
        (client, request)
    }}
}}"
        )
        .expect("writing to a String");

        if op.batch_action.is_some() {
            writeln!(
                out,
                "impl crate::workflows::batch::Batchable for builder::{builder}<'_> {{}}"
            )
            .expect("writing to a String");
        }
        if !op.paginated {
            continue;
        }
        // A page is a JSON array, an object whose `items` holds the array, or (where the spec
        // documents some other object) one whole body per page.
        if last_ident(&info.output).as_deref() != Some("Vec") {
            // Operations whose bodies share one type share its impl.
            let body_name = last_ident(&info.output).unwrap_or_default();
            // Untyped bodies (`Map`, `Value`) have hand-written impls in `pagination`.
            if let Some(fields) = structs.get(&body_name) {
                page_bodies.insert(body_name, (fields.items.clone(), fields.has_meta));
            }
        }
        writeln!(
            out,
            "impl crate::operations::pagination::Paginate for builder::{builder}<'_> {{}}"
        )
        .expect("writing to a String");
    }

    writeln!(
        out,
        "#[cfg(feature = \"test-util\")]
#[allow(unreachable_code, unused_variables)]
pub(crate) fn output_round_trip(operation_id: &str, body: &[u8]) -> ::std::option::Option<::std::result::Result<::serde_json::Value, ::std::string::String>> {{
    fn round_trip<T: ::serde::de::DeserializeOwned + ::serde::Serialize>(body: &[u8]) -> ::std::result::Result<::serde_json::Value, ::std::string::String> {{
        let value: T = crate::body::decode_body(body).map_err(|e| e.to_string())?;
        ::serde_json::to_value(&value).map_err(|e| e.to_string())
    }}
    Some(match operation_id {{
{round_trips}        _ => return None,
    }})
}}"
    )
    .expect("writing to a String");

    for (body, (items, has_meta)) in page_bodies {
        let Some(items) = items else {
            writeln!(
                out,
                "impl crate::operations::pagination::PageBody for types::{body} {{
    type Item = Self;
    fn into_parts(self) -> (::std::vec::Vec<Self>, ::std::option::Option<crate::operations::pagination::ItemCounts>) {{
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
            "crate::operations::pagination::ItemCounts::from_meta(&self.meta)"
        } else {
            "None"
        };
        writeln!(
            out,
            "impl crate::operations::pagination::PageBody for types::{body} {{
    type Item = {item};
    fn into_parts(self) -> (::std::vec::Vec<Self::Item>, ::std::option::Option<crate::operations::pagination::ItemCounts>) {{
        let counts = {counts_expr};
        ({items_expr}, counts)
    }}
}}"
        )
        .expect("writing to a String");
    }
    Ok(out)
}

/// A schema, or the one its `$ref` names in the document's components.
fn resolve<'v>(document: &'v Value, schema: &'v Value) -> &'v Value {
    schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/"))
        .and_then(|pointer| document.pointer(&format!("/{pointer}")))
        .unwrap_or(schema)
}
