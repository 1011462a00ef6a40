//! Meraki's wire conventions and real-world looseness, applied once to the merged document so
//! the generated client is right by construction for every operation.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// What normalization changed, for the summary line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    counts: BTreeMap<&'static str, usize>,
}

impl Report {
    fn add(&mut self, what: &'static str) {
        *self.counts.entry(what).or_default() += 1;
    }

    /// How many times `what` was applied.
    #[cfg(test)]
    pub fn count(&self, what: &str) -> usize {
        self.counts.get(what).copied().unwrap_or(0)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.counts.is_empty() {
            return f.write_str("nothing");
        }
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(what, n)| format!("{n} {what}"))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

pub const ARRAY_PARAMS: &str = "array query params sent as name[]";
pub const PER_PAGE_BOUNDS: &str = "perPage ranges made schema bounds";
pub const NULLABLE: &str = "optional response fields made nullable";
pub const OPEN_INT_ENUMS: &str = "response integer enums opened";
pub const LOOSE_DATES: &str = "response date formats relaxed to strings";
pub const DEDENTED: &str = "descriptions dedented";
pub const OPEN_STRING_ENUMS: &str = "response string enums marked open (x-open-enum)";
pub const NULL_AS_EMPTY: &str = "optional response lists marked null-as-empty (x-null-as-empty)";
pub const DOUBLES: &str = "float numbers made doubles";
pub const RESPONSE_BOUNDS: &str = "response bounds dropped";
pub const RESPONSE_REQUIRED: &str = "required response fields made optional";
pub const CLEARABLE: &str = "optional request fields made clearable (x-clearable)";
pub const EXPLODED: &str = "object query params sent as name[key]";
pub const REPEATED_SUMMARY: &str = "operation descriptions that repeat the summary dropped";

/// Applies every convention to each operation of `document.paths`.
pub fn normalize(document: &mut Value) -> Report {
    let mut report = Report::default();
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return report;
    };
    for methods in paths.values_mut() {
        let Some(methods) = methods.as_object_mut() else {
            continue;
        };
        for (method, operation) in methods.iter_mut() {
            if let Some(operation) = operation.as_object_mut() {
                mark_clearable(operation, method == "put", &mut report);
                normalize_parameters(operation, &mut report);
                normalize_responses(operation, &mut report);
                dedent_descriptions(operation, &mut report);
                drop_repeated_summary(operation, &mut report);
                for value in operation.values_mut() {
                    floats_as_doubles(value, &mut report);
                }
            }
        }
    }
    report
}

/// Meraki's descriptions mostly repeat the summary word for word; the docs would say it twice.
fn drop_repeated_summary(operation: &mut Map<String, Value>, report: &mut Report) {
    let summary = operation
        .get("summary")
        .and_then(Value::as_str)
        .map(str::trim);
    let description = operation
        .get("description")
        .and_then(Value::as_str)
        .map(str::trim);
    if summary.is_some() && summary == description {
        operation.remove("description");
        report.add(REPEATED_SUMMARY);
    }
}

/// Descriptions become the generated client's rustdoc, where a line indented by four spaces
/// starts a code block that rustdoc then fails to compile as Rust (Meraki indents continuation
/// lines). Every line outside a fenced block loses its leading whitespace.
fn dedent_descriptions(operation: &mut Map<String, Value>, report: &mut Report) {
    for (key, value) in operation.iter_mut() {
        match value {
            Value::String(text) if key == "description" => {
                if let Some(dedented) = dedent(text) {
                    *text = dedented;
                    report.add(DEDENTED);
                }
            }
            Value::Object(object) => dedent_descriptions(object, report),
            Value::Array(items) => {
                for object in items.iter_mut().filter_map(Value::as_object_mut) {
                    dedent_descriptions(object, report);
                }
            }
            _ => {}
        }
    }
}

/// `text` with each line's leading whitespace removed outside ``` fences, and fences that name
/// no language marked `text` (rustdoc would run them as Rust examples), if that changes it.
fn dedent(text: &str) -> Option<String> {
    let mut in_fence = false;
    let lines: Vec<&str> = text
        .lines()
        .map(|line| {
            let trimmed = line.trim_start();
            let was_in_fence = in_fence;
            if trimmed.starts_with("```") {
                in_fence = !in_fence;
            }
            if !was_in_fence && trimmed == "```" {
                "```text"
            } else if was_in_fence && in_fence {
                line
            } else {
                trimmed
            }
        })
        .collect();
    let mut dedented = lines.join("\n");
    if text.ends_with('\n') {
        dedented.push('\n');
    }
    (dedented != text).then_some(dedented)
}

/// A write that sends `null` for a field clears it: the API documents it for many fields
/// (`portScheduleId`, beacon values, RX-SOP, ...), and an update (`PUT`) leaves out what it
/// does not change, so only `null` can clear. Marked `x-clearable`: the optional, non-list
/// properties of update bodies, and any request property whose description speaks of `null`.
/// The build script types them `Patch<T>` (left out, `null`, or a value); lists are cleared
/// with `[]` and keep their type.
fn mark_clearable(operation: &mut Map<String, Value>, update: bool, report: &mut Report) {
    fn walk(schema: &mut Value, update: bool, report: &mut Report) {
        let Some(schema) = schema.as_object_mut() else {
            return;
        };
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|r| r.as_str().map(str::to_owned))
            .collect();
        if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
            for (name, property) in properties.iter_mut() {
                let Some(map) = property.as_object_mut() else {
                    continue;
                };
                let is_array = map.get("type").and_then(Value::as_str) == Some("array");
                let speaks_of_null = map
                    .get("description")
                    .and_then(Value::as_str)
                    .is_some_and(|d| d.split(|c: char| !c.is_alphanumeric()).any(|w| w == "null"));
                // A default or a free-form object is not an `Option` in the generated type
                // (typify fills it in): left as it is.
                let free_form = map.get("type").and_then(Value::as_str) == Some("object")
                    && !map.contains_key("properties");
                if !required.contains(name)
                    && !is_array
                    && !free_form
                    && !map.contains_key("default")
                    && (update || speaks_of_null)
                    && map
                        .insert("x-clearable".into(), Value::Bool(true))
                        .is_none()
                {
                    report.add(CLEARABLE);
                }
                walk(property, update, report);
            }
        }
        if let Some(items) = schema.get_mut("items") {
            walk(items, update, report);
        }
    }
    let body = operation
        .get_mut("requestBody")
        .and_then(|b| b.pointer_mut("/content/application~1json/schema"));
    if let Some(schema) = body {
        walk(schema, update, report);
    }
}

/// A query parameter of object shape (`startDate` as `{lt, gt, lte, gte}`, alone or in a
/// `oneOf` beside a plain value) is read by the API as `startDate[gt]=...&startDate[lt]=...`;
/// a generator would send the object's fields under their own names (`gt=...`), which the API
/// does not read. Each field becomes a parameter of its own, `name[field]`, and a plain
/// variant, if any, stays as `name`.
fn explode_object_query_params(params: &mut Vec<Value>, report: &mut Report) {
    let mut out = Vec::with_capacity(params.len());
    for param in params.drain(..) {
        let in_query = param.get("in").and_then(Value::as_str) == Some("query");
        let schema = param.get("schema").cloned().unwrap_or(Value::Null);
        let variants: Vec<Value> = match schema.get("oneOf").or_else(|| schema.get("anyOf")) {
            Some(Value::Array(variants)) => variants.clone(),
            _ => vec![schema.clone()],
        };
        let (objects, plain): (Vec<Value>, Vec<Value>) = variants
            .into_iter()
            .partition(|v| v.get("properties").is_some_and(Value::is_object));
        if !in_query || objects.is_empty() {
            out.push(param);
            continue;
        }
        let name = param
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if let [single] = plain.as_slice() {
            let mut plain_param = param.clone();
            plain_param["schema"] = single.clone();
            out.push(plain_param);
        }
        for object in &objects {
            for (field, field_schema) in object["properties"].as_object().into_iter().flatten() {
                let mut field_param = serde_json::json!({
                    "name": format!("{name}[{field}]"),
                    "in": "query",
                    "schema": field_schema,
                });
                if let Some(description) = field_schema.get("description") {
                    field_param["description"] = description.clone();
                }
                out.push(field_param);
            }
        }
        report.add(EXPLODED);
    }
    *params = out;
}

fn normalize_parameters(operation: &mut Map<String, Value>, report: &mut Report) {
    let Some(params) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
    explode_object_query_params(params, report);
    for param in params.iter_mut().filter_map(Value::as_object_mut) {
        if param.get("in").and_then(Value::as_str) != Some("query") {
            continue;
        }
        let is_array = param
            .get("schema")
            .and_then(|s| s.get("type"))
            .and_then(Value::as_str)
            == Some("array");
        if is_array {
            // The API reads `serials[]=a&serials[]=b`; a plain `serials=a` is ignored.
            if let Some(Value::String(name)) = param.get_mut("name") {
                if !name.ends_with("[]") {
                    name.push_str("[]");
                    report.add(ARRAY_PARAMS);
                }
            }
        }
        if param.get("name").and_then(Value::as_str) == Some("perPage") {
            let range = param
                .get("description")
                .and_then(Value::as_str)
                .and_then(documented_range);
            if let (Some((min, max)), Some(Value::Object(schema))) =
                (range, param.get_mut("schema"))
            {
                if !schema.contains_key("minimum") && !schema.contains_key("maximum") {
                    schema.insert("minimum".into(), min.into());
                    schema.insert("maximum".into(), max.into());
                    report.add(PER_PAGE_BOUNDS);
                }
            }
        }
    }
}

/// The API is looser than its specs: fields documented as strings come back `null`, integer
/// enums gain values before the spec does, dates come back as `""`. Response schemas are
/// relaxed so one such value cannot fail a whole page. String enums are marked `x-open-enum`
/// and optional lists `x-null-as-empty`: the build script gives those types a catch-all variant
/// and reads `null` as an empty list, keeping their types.
fn normalize_responses(operation: &mut Map<String, Value>, report: &mut Report) {
    let Some(responses) = operation
        .get_mut("responses")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for response in responses.values_mut() {
        let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
            continue;
        };
        for media in content.values_mut() {
            if let Some(schema) = media.get_mut("schema") {
                relax_schema(schema, report);
            }
        }
    }
}

/// Constraints a response may break without being wrong to read: a `0` where the spec says
/// `minimum: 1` (typify would make it a `NonZero` type and fail the page), a 33-bit counter
/// where it says `int32`, a longer string.
const RESPONSE_CONSTRAINTS: [&str; 10] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "pattern",
    "minItems",
    "maxItems",
    "uniqueItems",
];

fn relax_schema(schema: &mut Value, report: &mut Report) {
    let Some(schema) = schema.as_object_mut() else {
        return;
    };
    let mut dropped = false;
    for key in RESPONSE_CONSTRAINTS {
        dropped |= schema.remove(key).is_some();
    }
    if schema.get("format").and_then(Value::as_str) == Some("int32") {
        schema.remove("format");
        dropped = true;
    }
    if dropped {
        report.add(RESPONSE_BOUNDS);
    }
    // The live API leaves out or nulls fields its spec requires: every response field is
    // optional (and so nullable, below).
    if schema.remove("required").is_some() {
        report.add(RESPONSE_REQUIRED);
    }
    if schema.get("type").and_then(Value::as_str) == Some("integer")
        && schema.remove("enum").is_some()
    {
        report.add(OPEN_INT_ENUMS);
    }
    if schema.get("type").and_then(Value::as_str) == Some("string")
        && schema.contains_key("enum")
        && schema
            .insert("x-open-enum".into(), Value::Bool(true))
            .is_none()
    {
        report.add(OPEN_STRING_ENUMS);
    }
    if schema.get("type").and_then(Value::as_str) == Some("string")
        && matches!(
            schema.get("format").and_then(Value::as_str),
            Some("date-time" | "date")
        )
    {
        schema.remove("format");
        report.add(LOOSE_DATES);
    }
    if let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for property in properties.values_mut() {
            // Lists stay non-nullable: a `null` list decodes as empty, which is kinder to
            // callers than `Option<Vec<_>>`.
            let is_array = property.get("type").and_then(Value::as_str) == Some("array");
            if is_array {
                if let Some(property) = property.as_object_mut() {
                    if property
                        .insert("x-null-as-empty".into(), Value::Bool(true))
                        .is_none()
                    {
                        report.add(NULL_AS_EMPTY);
                    }
                }
            }
            if !is_array {
                if let Some(property) = property.as_object_mut() {
                    if property.get("nullable") != Some(&Value::Bool(true)) {
                        property.insert("nullable".into(), Value::Bool(true));
                        report.add(NULLABLE);
                    }
                }
            }
            relax_schema(property, report);
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = schema.get_mut(key) {
            relax_schema(inner, report);
        }
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(variants)) = schema.get_mut(key) {
            for variant in variants {
                relax_schema(variant, report);
            }
        }
    }
}

/// JSON numbers are doubles, and `format: float` would make a generator use `f32`: a floor
/// plan's `37.7696461495` latitude would come back as `37.76964569091797`, half a metre off.
/// Every number is a double, in requests and responses alike.
fn floats_as_doubles(value: &mut Value, report: &mut Report) {
    match value {
        Value::Object(map) => {
            let is_float = map.get("type").and_then(Value::as_str) == Some("number")
                && map.get("format").and_then(Value::as_str) == Some("float");
            if is_float {
                map.insert("format".into(), Value::String("double".into()));
                report.add(DOUBLES);
            }
            for inner in map.values_mut() {
                floats_as_doubles(inner, report);
            }
        }
        Value::Array(items) => {
            for inner in items {
                floats_as_doubles(inner, report);
            }
        }
        _ => {}
    }
}

/// Parses "Acceptable range is 3 - 1000." out of a parameter description.
pub fn documented_range(description: &str) -> Option<(u64, u64)> {
    let rest =
        &description[description.find("Acceptable range is")? + "Acceptable range is".len()..];
    let mut numbers = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(str::parse::<u64>);
    let (min, max) = (numbers.next()?.ok()?, numbers.next()?.ok()?);
    // Only a plain "A - B" right after the phrase counts.
    let between = rest
        .trim_start()
        .strip_prefix(&min.to_string())?
        .trim_start();
    if !between.starts_with('-') || min > max {
        return None;
    }
    Some((min, max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn indented_description_lines_lose_their_indent_outside_fences() {
        let mut doc = json!({"paths": {"/a": {"get": {
            "description": "      Settings for the help page.\n      'default' or 'hide'.\n Defaults to 'default'.",
            "parameters": [{"name": "x", "in": "query", "description": "Plain.", "schema": {"type": "string"}}],
            "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {
                "type": "object",
                "properties": {"rules": {"type": "string", "description": "Example:\n```json\n    {\"a\": 1}\n```\n    done"}}
            }}}}}
        }}}});
        let report = normalize(&mut doc);
        let op = &doc["paths"]["/a"]["get"];
        assert_eq!(
            op["description"],
            "Settings for the help page.\n'default' or 'hide'.\nDefaults to 'default'."
        );
        assert_eq!(op["parameters"][0]["description"], "Plain.");
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["properties"]["rules"]
                ["description"],
            "Example:\n```json\n    {\"a\": 1}\n```\ndone"
        );
        assert_eq!(report.count(DEDENTED), 2);
    }

    #[test]
    fn fences_without_a_language_are_marked_text() {
        let marked = dedent("Body:\n  ```\n  {\"a\": 1}\n  ```\nthen\n```json\n[]\n```").unwrap();
        assert_eq!(
            marked,
            "Body:\n```text\n  {\"a\": 1}\n```\nthen\n```json\n[]\n```"
        );
    }

    #[test]
    fn array_query_params_get_brackets_once() {
        let mut doc = json!({"paths": {"/a": {"get": {"parameters": [
            {"name": "serials", "in": "query", "schema": {"type": "array", "items": {"type": "string"}}},
            {"name": "ids[]", "in": "query", "schema": {"type": "array"}},
            {"name": "state", "in": "query", "schema": {"type": "string"}},
            {"name": "list", "in": "path", "schema": {"type": "array"}},
        ]}}}});
        let report = normalize(&mut doc);
        let names: Vec<&str> = doc["paths"]["/a"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["serials[]", "ids[]", "state", "list"]);
        assert_eq!(report.count(ARRAY_PARAMS), 1);
        // Idempotent.
        assert_eq!(normalize(&mut doc).count(ARRAY_PARAMS), 0);
    }

    #[test]
    fn responses_are_relaxed_requests_are_not() {
        let schema = json!({"type": "object", "required": ["id", "seats"], "properties": {
            "id": {"type": "string", "minLength": 1},
            "seats": {"type": "integer", "minimum": 1, "format": "int32"},
            "tags": {"type": "array", "minItems": 1, "items": {"type": "object", "properties": {"n": {"type": "integer", "enum": [1, 2]}}}},
            "at": {"type": "string", "format": "date-time"},
            "state": {"type": "string", "enum": ["active"]},
        }});
        let mut doc = json!({"paths": {"/a": {"post": {
            "requestBody": {"content": {"application/json": {"schema": schema.clone()}}},
            "responses": {"200": {"content": {"application/json": {"schema": schema.clone()}}}},
        }}}});
        let report = normalize(&mut doc);
        let op = &doc["paths"]["/a"]["post"];
        let response = &op["responses"]["200"]["content"]["application/json"]["schema"];
        // Required fields tolerate absence and `null`; bounds and int32 go.
        assert_eq!(response.get("required"), None);
        assert_eq!(response["properties"]["id"]["nullable"], true);
        assert_eq!(response["properties"]["id"].get("minLength"), None);
        assert_eq!(
            response["properties"]["seats"],
            json!({"type": "integer", "nullable": true})
        );
        assert_eq!(response["properties"]["tags"].get("nullable"), None);
        assert_eq!(response["properties"]["tags"].get("minItems"), None);
        let n = &response["properties"]["tags"]["items"]["properties"]["n"];
        assert_eq!(n["nullable"], true);
        assert_eq!(n.get("enum"), None);
        assert_eq!(response["properties"]["at"].get("format"), None);
        assert_eq!(response["properties"]["tags"]["x-null-as-empty"], true);
        assert_eq!(response["properties"]["state"]["x-open-enum"], true);
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"],
            schema
        );
        assert_eq!(report.count(NULLABLE), 5);
        assert_eq!(report.count(OPEN_STRING_ENUMS), 1);
        assert_eq!(report.count(NULL_AS_EMPTY), 1);
        assert_eq!(report.count(OPEN_INT_ENUMS), 1);
        assert_eq!(report.count(LOOSE_DATES), 1);
        assert_eq!(report.count(RESPONSE_REQUIRED), 1);
        assert_eq!(report.count(RESPONSE_BOUNDS), 3);
    }

    #[test]
    fn optional_update_fields_and_fields_documented_nullable_are_clearable() {
        let body = |desc: &str| {
            json!({"type": "object", "required": ["id"], "properties": {
                "id": {"type": "string"},
                "portScheduleId": {"type": "string", "description": desc},
                "tags": {"type": "array", "items": {"type": "string"}},
                "nested": {"type": "object", "properties": {"limit": {"type": "integer"}}},
            }})
        };
        let mut doc = json!({"paths": {"/a": {
            "put": {"requestBody": {"content": {"application/json": {"schema": body("The schedule")}}}},
            "post": {"requestBody": {"content": {"application/json": {"schema": body("A value of null will clear it")}}}},
        }}});
        let report = normalize(&mut doc);
        let put =
            &doc["paths"]["/a"]["put"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(put["properties"]["portScheduleId"]["x-clearable"], true);
        assert_eq!(put["properties"]["nested"]["x-clearable"], true);
        assert_eq!(
            put["properties"]["nested"]["properties"]["limit"]["x-clearable"],
            true
        );
        assert_eq!(put["properties"]["id"].get("x-clearable"), None, "required");
        assert_eq!(
            put["properties"]["tags"].get("x-clearable"),
            None,
            "lists clear with []"
        );
        let post =
            &doc["paths"]["/a"]["post"]["requestBody"]["content"]["application/json"]["schema"];
        assert_eq!(post["properties"]["portScheduleId"]["x-clearable"], true);
        assert_eq!(post["properties"]["nested"].get("x-clearable"), None);
        assert_eq!(report.count(CLEARABLE), 4);
        assert_eq!(normalize(&mut doc).count(CLEARABLE), 0, "idempotent");
    }

    #[test]
    fn object_query_params_are_sent_as_the_api_reads_them() {
        let range = json!({"type": "object", "properties": {
            "lt": {"type": "string", "description": "less than"},
            "gt": {"type": "string"},
        }});
        let mut doc = json!({"paths": {"/s": {"get": {"parameters": [
            {"name": "startDate", "in": "query", "description": "d",
             "schema": {"oneOf": [range, {"type": "string", "format": "date-time"}]}},
            {"name": "perPage", "in": "query", "schema": {"type": "integer"}},
        ]}}}});
        let report = normalize(&mut doc);
        let params = doc["paths"]["/s"]["get"]["parameters"].as_array().unwrap();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(
            names,
            ["startDate", "startDate[lt]", "startDate[gt]", "perPage"]
        );
        assert_eq!(params[0]["schema"]["type"], "string");
        assert_eq!(params[1]["description"], "less than");
        assert_eq!(report.count(EXPLODED), 1);
        assert_eq!(normalize(&mut doc).count(EXPLODED), 0, "idempotent");
    }

    #[test]
    fn numbers_are_doubles_everywhere() {
        let lat =
            json!({"type": "object", "properties": {"lat": {"type": "number", "format": "float"}}});
        let mut doc = json!({"paths": {"/a": {"post": {
            "parameters": [{"name": "x", "in": "query", "schema": {"type": "number", "format": "float"}}],
            "requestBody": {"content": {"application/json": {"schema": lat.clone()}}},
            "responses": {"200": {"content": {"application/json": {"schema": {"type": "array", "items": lat}}}}},
        }}}});
        let report = normalize(&mut doc);
        let op = &doc["paths"]["/a"]["post"];
        assert_eq!(op["parameters"][0]["schema"]["format"], "double");
        assert_eq!(
            op["requestBody"]["content"]["application/json"]["schema"]["properties"]["lat"]
                ["format"],
            "double"
        );
        assert_eq!(
            op["responses"]["200"]["content"]["application/json"]["schema"]["items"]["properties"]
                ["lat"]["format"],
            "double"
        );
        assert_eq!(report.count(DOUBLES), 3);
    }

    #[test]
    fn per_page_range_becomes_bounds() {
        assert_eq!(
            documented_range("The number of entries per page returned. Acceptable range is 3 - 1000. Default is 1000."),
            Some((3, 1000))
        );
        assert_eq!(documented_range("Acceptable range is 5-50"), Some((5, 50)));
        assert_eq!(documented_range("No range here. Default is 10 - 20"), None);
        assert_eq!(documented_range("Acceptable range is 10 - 3"), None);

        let mut doc = json!({"paths": {"/a": {"get": {"parameters": [
            {"name": "perPage", "in": "query", "description": "Acceptable range is 3 - 1000.", "schema": {"type": "integer"}},
        ]}}}});
        normalize(&mut doc);
        let schema = &doc["paths"]["/a"]["get"]["parameters"][0]["schema"];
        assert_eq!(schema["minimum"], 3);
        assert_eq!(schema["maximum"], 1000);
    }
}
