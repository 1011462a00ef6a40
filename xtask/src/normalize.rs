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
        for operation in methods.values_mut() {
            if let Some(operation) = operation.as_object_mut() {
                normalize_parameters(operation, &mut report);
            }
        }
    }
    report
}

fn normalize_parameters(operation: &mut Map<String, Value>, report: &mut Report) {
    let Some(params) = operation
        .get_mut("parameters")
        .and_then(Value::as_array_mut)
    else {
        return;
    };
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
