//! API areas: an operation's first tag (`organizations`, `appliance`, ...). The client has one
//! cargo feature per area, so a user compiles only the areas they use.

use std::collections::BTreeMap;

use serde_json::Value;

/// Operation count per area of a merged document.
pub fn area_counts(document: &Value) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    let paths = document.get("paths").and_then(Value::as_object);
    for methods in paths.into_iter().flat_map(|p| p.values()) {
        for op in methods.as_object().into_iter().flat_map(|m| m.values()) {
            let area = op
                .get("tags")
                .and_then(|t| t.get(0))
                .and_then(Value::as_str)
                .unwrap_or("untagged");
            *counts.entry(area.to_owned()).or_default() += 1;
        }
    }
    counts
}

/// The cargo feature of an area: `cellularGateway` is `cellular-gateway`.
#[cfg(test)]
pub fn feature_name(area: &str) -> String {
    let mut feature = String::new();
    for c in area.chars() {
        if c.is_ascii_uppercase() {
            feature.push('-');
            feature.push(c.to_ascii_lowercase());
        } else {
            feature.push(c);
        }
    }
    feature
}

/// One line for the summary: `organizations 133, networks 109, ...`, largest first.
pub fn summary(counts: &BTreeMap<String, usize>) -> String {
    let mut sorted: Vec<(&String, &usize)> = counts.iter().collect();
    sorted.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    sorted
        .iter()
        .map(|(area, n)| format!("{area} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace_root;

    #[test]
    fn feature_names_are_kebab_case() {
        assert_eq!(feature_name("cellularGateway"), "cellular-gateway");
        assert_eq!(feature_name("sm"), "sm");
    }

    /// Every area of the committed API has its cargo feature in meraki-api: a new area in a
    /// spec update fails here, not silently in users' builds.
    #[test]
    fn every_area_has_a_cargo_feature() {
        let root = workspace_root();
        let yaml = std::fs::read_to_string(root.join("openapi/openapi.yaml")).unwrap();
        let document: Value = serde_norway::from_str(&yaml).unwrap();
        let manifest = std::fs::read_to_string(root.join("meraki-api/Cargo.toml")).unwrap();
        let counts = area_counts(&document);
        assert!(counts.len() >= 10, "{counts:?}");
        for area in counts.keys() {
            let feature = feature_name(area);
            assert!(
                manifest
                    .lines()
                    .any(|l| l.trim() == format!("{feature} = []")),
                "meraki-api/Cargo.toml has no feature `{feature}` for area `{area}`"
            );
        }
    }
}
