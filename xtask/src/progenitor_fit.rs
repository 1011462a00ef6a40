//! Operations that progenitor 0.15.1 cannot generate as published are reshaped into ones it can,
//! and every reshaping is reported by operation; what cannot be reshaped without changing what
//! goes on the wire is an error naming the operation. No operation is ever dropped.
//!
//! progenitor's limits (its source, `method.rs`): one request media type per body; success
//! responses (2xx) that all decode to one type; a JSON media type with a schema; parameters
//! described by `schema`, not `content`.

use serde_json::{json, Map, Value};

/// Reshapes every operation of `document.paths`. Returns one line per change, for the summary.
pub fn fit_for_progenitor(document: &mut Value) -> Result<Vec<String>, String> {
    let mut notes = Vec::new();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return Ok(notes);
    };
    for methods in paths.values_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        for operation in methods.values_mut().filter_map(Value::as_object_mut) {
            let id = operation
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("(no operationId)")
                .to_owned();
            check_parameters(&id, operation)?;
            if let Some(note) = one_request_media_type(&id, operation)? {
                notes.push(note);
            }
            if let Some(note) = one_success_body(operation) {
                notes.push(format!("{id}: {note}"));
            }
        }
    }
    Ok(notes)
}

fn check_parameters(id: &str, operation: &Map<String, Value>) -> Result<(), String> {
    let params = operation.get("parameters").and_then(Value::as_array);
    for param in params.into_iter().flatten() {
        let name = param.get("name").and_then(Value::as_str).unwrap_or("?");
        if param.get("content").is_some() {
            return Err(format!(
                "{id}: parameter `{name}` is described by `content`, not `schema`; progenitor \
                 cannot generate it and no reshaping keeps its encoding"
            ));
        }
        if param.get("schema").is_none() {
            return Err(format!("{id}: parameter `{name}` has no `schema`"));
        }
    }
    Ok(())
}

/// The media types progenitor can send, best first.
const SENDABLE: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "text/plain",
];

/// A body offered in several media types is sent as JSON (or the best one progenitor can send).
fn one_request_media_type(
    id: &str,
    operation: &mut Map<String, Value>,
) -> Result<Option<String>, String> {
    let Some(content) = operation
        .get_mut("requestBody")
        .and_then(|body| body.get_mut("content"))
        .and_then(Value::as_object_mut)
    else {
        return Ok(None);
    };
    let essence = |media: &str| media.split(';').next().unwrap_or("").trim().to_owned();
    let Some(kept) = SENDABLE.iter().find_map(|wanted| {
        content
            .keys()
            .find(|media| essence(media) == *wanted)
            .cloned()
    }) else {
        let offered: Vec<&String> = content.keys().collect();
        return Err(format!(
            "{id}: the request body is offered only as {offered:?}, which progenitor cannot send"
        ));
    };
    if content.len() == 1 {
        return Ok(None);
    }
    let dropped: Vec<String> = content.keys().filter(|m| **m != kept).cloned().collect();
    content.retain(|media, _| *media == kept);
    Ok(Some(format!(
        "{id}: request body sent as {kept} (also offered as {})",
        dropped.join(", ")
    )))
}

/// Success responses must share one body type. Where they differ, every success status gets
/// the same JSON body: the documented schema if there is one, `oneOf` the documented schemas if
/// they differ (decoded as whichever fits), made nullable if some success status has no body
/// (the client reads an empty body as `null`). Non-JSON media beside JSON are dropped.
fn one_success_body(operation: &mut Map<String, Value>) -> Option<String> {
    let responses = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)?;
    let mut success: Vec<(&String, &mut Value)> = responses
        .iter_mut()
        .filter(|(status, _)| is_success(status))
        .collect();
    success.sort_by(|a, b| a.0.cmp(b.0));

    let mut notes = Vec::new();
    let mut schemas: Vec<Value> = Vec::new();
    let mut bodiless = Vec::new();
    for (status, response) in &mut success {
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            bodiless.push(status.to_string());
            continue;
        };
        let json = content.keys().find(|media| is_json(media)).cloned();
        match json {
            Some(json) => {
                if content.len() > 1 {
                    content.retain(|media, _| *media == json);
                    notes.push(format!("{status}: only {json} kept"));
                }
                let Some(media) = content.get_mut(&json).and_then(Value::as_object_mut) else {
                    continue;
                };
                // A JSON body without a schema is any JSON value.
                let schema = media.entry("schema").or_insert_with(|| {
                    notes.push(format!(
                        "{status}: undocumented JSON body typed as any value"
                    ));
                    json!({})
                });
                if !schemas.contains(&*schema) {
                    schemas.push(schema.clone());
                }
            }
            None if content.is_empty() => bodiless.push(status.to_string()),
            // Raw bodies (CSV, images): progenitor streams them; fine unless JSON is mixed in.
            None => {}
        }
    }
    let unify = schemas.len() > 1 || (!schemas.is_empty() && !bodiless.is_empty());
    if unify {
        let mut schema = if schemas.len() == 1 {
            schemas[0].clone()
        } else {
            notes.push(format!(
                "{} different success bodies decoded as oneOf",
                schemas.len()
            ));
            json!({ "oneOf": schemas })
        };
        if !bodiless.is_empty() {
            notes.push(format!(
                "{} without a body read as null",
                bodiless.join(", ")
            ));
            if let Some(schema) = schema.as_object_mut() {
                schema.insert("nullable".into(), true.into());
            }
        }
        for (_, response) in &mut success {
            if let Some(response) = response.as_object_mut() {
                response.insert(
                    "content".into(),
                    json!({ "application/json": { "schema": schema.clone() } }),
                );
            }
        }
    }
    (!notes.is_empty()).then(|| notes.join("; "))
}

fn is_success(status: &str) -> bool {
    status.starts_with('2') && status.len() == 3
}

fn is_json(media: &str) -> bool {
    media == "application/json" || media.starts_with("application/json;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn operation(op: Value) -> Value {
        json!({
            "openapi": "3.0.1",
            "info": {"title": "t", "version": "1.0.0"},
            "paths": {"/things": {"post": op}}
        })
    }

    fn op(document: &Value) -> &Value {
        &document["paths"]["/things"]["post"]
    }

    #[test]
    fn operations_progenitor_takes_are_left_alone() {
        let original = operation(json!({
            "operationId": "createThing",
            "parameters": [{"name": "x", "in": "query", "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
            "responses": {
                "201": {"description": "ok", "content": {"application/json": {"schema": {"type": "object"}}}},
                "400": {"description": "bad"}
            }
        }));
        let mut document = original.clone();
        assert_eq!(
            fit_for_progenitor(&mut document).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(document, original);
    }

    #[test]
    fn a_body_in_several_media_types_is_sent_as_json() {
        let mut document = operation(json!({
            "operationId": "createThing",
            "requestBody": {"content": {
                "multipart/form-data": {"schema": {"type": "object"}},
                "application/json": {"schema": {"type": "object"}}
            }},
            "responses": {"204": {"description": "ok"}}
        }));
        let notes = fit_for_progenitor(&mut document).unwrap();
        assert_eq!(
            notes,
            ["createThing: request body sent as application/json (also offered as multipart/form-data)"]
        );
        let content = op(&document)["requestBody"]["content"].as_object().unwrap();
        assert_eq!(content.keys().collect::<Vec<_>>(), ["application/json"]);
    }

    #[test]
    fn different_success_bodies_become_one_nullable_one_of() {
        let a = json!({"type": "object", "properties": {"id": {"type": "string"}}});
        let b = json!({"type": "array", "items": {"type": "string"}});
        let mut document = operation(json!({
            "operationId": "createThing",
            "responses": {
                "200": {"description": "done", "content": {"application/json": {"schema": a}}},
                "202": {"description": "queued", "content": {
                    "application/json": {"schema": b},
                    "text/csv": {}
                }},
                "204": {"description": "nothing"},
                "400": {"description": "bad", "content": {"application/json": {"schema": {"type": "object"}}}}
            }
        }));
        let notes = fit_for_progenitor(&mut document).unwrap();
        assert_eq!(
            notes,
            ["createThing: 202: only application/json kept; 2 different success bodies decoded as oneOf; 204 without a body read as null"]
        );
        let expected = json!({"oneOf": [a, b], "nullable": true});
        for status in ["200", "202", "204"] {
            let content = &op(&document)["responses"][status]["content"];
            assert_eq!(
                content,
                &json!({"application/json": {"schema": expected}}),
                "{status}"
            );
        }
        // Error responses are not success bodies.
        assert_eq!(
            op(&document)["responses"]["400"]["content"]["application/json"]["schema"],
            json!({"type": "object"})
        );
    }

    #[test]
    fn one_schema_beside_a_bodiless_success_becomes_nullable_and_schema_less_json_any() {
        let mut document = operation(json!({
            "operationId": "createThing",
            "responses": {
                "200": {"description": "done", "content": {"application/json": {}}},
                "204": {"description": "nothing"}
            }
        }));
        let notes = fit_for_progenitor(&mut document).unwrap();
        assert_eq!(
            notes,
            ["createThing: 200: undocumented JSON body typed as any value; 204 without a body read as null"]
        );
        assert_eq!(
            op(&document)["responses"]["204"]["content"]["application/json"]["schema"],
            json!({"nullable": true})
        );
    }

    #[test]
    fn what_cannot_be_reshaped_is_an_error_naming_the_operation() {
        let mut content_param = operation(json!({
            "operationId": "createThing",
            "parameters": [{"name": "filter", "in": "query", "content": {"application/json": {"schema": {"type": "object"}}}}],
            "responses": {"204": {"description": "ok"}}
        }));
        let error = fit_for_progenitor(&mut content_param).unwrap_err();
        assert!(
            error.starts_with("createThing: parameter `filter` is described by `content`"),
            "{error}"
        );

        let mut schema_less_param = operation(json!({
            "operationId": "createThing",
            "parameters": [{"name": "filter", "in": "query"}],
            "responses": {"204": {"description": "ok"}}
        }));
        let error = fit_for_progenitor(&mut schema_less_param).unwrap_err();
        assert_eq!(error, "createThing: parameter `filter` has no `schema`");

        let mut multipart_only = operation(json!({
            "operationId": "uploadThing",
            "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}},
            "responses": {"204": {"description": "ok"}}
        }));
        let error = fit_for_progenitor(&mut multipart_only).unwrap_err();
        assert!(
            error.contains("uploadThing") && error.contains("multipart/form-data"),
            "{error}"
        );
    }

    /// What progenitor makes of a document: its code, or why not (an error or a panic).
    fn progenitor(document: &Value) -> Result<String, String> {
        let spec: openapiv3::OpenAPI = serde_json::from_value(document.clone()).unwrap();
        let generated = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut settings = progenitor::GenerationSettings::default();
            settings
                .with_interface(progenitor::InterfaceStyle::Builder)
                .with_tag(progenitor::TagStyle::Merged);
            progenitor::Generator::new(&settings).generate_tokens(&spec)
        }));
        match generated {
            Ok(Ok(tokens)) => Ok(tokens.to_string()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("progenitor panicked".to_owned()),
        }
    }

    /// The reason for this module: progenitor rejects these operations as published (with a
    /// panic) and generates them once reshaped.
    #[test]
    fn progenitor_generates_what_it_rejects_as_published() {
        let published = [
            operation(json!({
                "operationId": "createThing",
                "requestBody": {"content": {
                    "application/json": {"schema": {"type": "object", "properties": {"name": {"type": "string"}}}},
                    "multipart/form-data": {"schema": {"type": "object"}}
                }},
                "responses": {"204": {"description": "ok"}}
            })),
            operation(json!({
                "operationId": "createThing",
                "responses": {
                    "200": {"description": "done", "content": {"application/json": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}},
                    "202": {"description": "queued", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}}},
                    "204": {"description": "nothing"}
                }
            })),
        ];
        let success_types = [
            "ResponseValue < () >",
            // The oneOf of both bodies, `None` for the empty 204.
            "ResponseValue < :: std :: option :: Option < types :: CreateThingResponse > >",
        ];
        for (document, success_type) in published.into_iter().zip(success_types) {
            assert!(progenitor(&document).is_err(), "taken as published");
            let mut fitted = document.clone();
            fit_for_progenitor(&mut fitted).unwrap();
            let code = progenitor(&fitted).unwrap();
            assert!(code.contains(success_type), "{code}");
        }
    }

    /// progenitor takes `oneOf` query parameters as untagged enums; a scalar one goes out as
    /// the scalar it holds. Nothing to reshape.
    #[test]
    fn one_of_query_parameters_need_no_reshaping() {
        let mut document = operation(json!({
            "operationId": "createThing",
            "parameters": [
                {"name": "timespan", "in": "query", "schema": {"oneOf": [{"type": "string"}, {"type": "integer"}]}}
            ],
            "responses": {"204": {"description": "ok"}}
        }));
        assert_eq!(
            fit_for_progenitor(&mut document).unwrap(),
            Vec::<String>::new()
        );
        let code = progenitor(&document).unwrap();
        assert!(
            code.contains(r#"QueryParam :: new ("timespan" , & timespan)"#),
            "{code}"
        );
    }
}
