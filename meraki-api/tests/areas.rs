//! The whole API (`--features full`): one operation of every area against a local server, and a
//! paginator for every operation the spec paginates.
//!
//! ```text
//! cargo test -p meraki-api --features full --test areas
//! ```

use meraki_api::operation::operations;
use meraki_api::prelude::*;
use meraki_api::test_util::ReplayServer;
use serde_json::Value;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

async fn serve(server: &ReplayServer, route: &str, body: Value) {
    Mock::given(method("GET"))
        .and(path(format!("/api/v1{route}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server.mock_server())
        .await;
}

#[tokio::test]
async fn one_operation_of_every_area() {
    let server = ReplayServer::start(&[], None).await;
    let serial = "Q2XX-AAAA-0001";
    let routes: &[(&str, Value)] = &[
        (
            "/administered/identities/me",
            serde_json::json!({"name": "Miles"}),
        ),
        (
            "/devices/Q2XX-AAAA-0001/appliance/dhcp/subnets",
            serde_json::json!([{"subnet": "192.168.1.0/24"}]),
        ),
        (
            "/devices/Q2XX-AAAA-0001/camera/analytics/live",
            serde_json::json!({"ts": "2026-01-01T00:00:00Z"}),
        ),
        (
            "/devices/Q2XX-AAAA-0001/cellularGateway/lan",
            serde_json::json!({"deviceName": "cg"}),
        ),
        (
            "/devices/Q2XX-AAAA-0001",
            serde_json::json!({"serial": serial}),
        ),
        (
            "/organizations/1/insight/applications",
            serde_json::json!([{"name": "app"}]),
        ),
        (
            "/administered/licensing/subscription/subscriptions",
            serde_json::json!([{"name": "sub"}]),
        ),
        ("/networks/N_1", serde_json::json!({"id": "N_1"})),
        (
            "/organizations",
            serde_json::json!([{"id": "1", "name": "Org"}]),
        ),
        (
            "/devices/Q2XX-AAAA-0001/sensor/relationships",
            serde_json::json!({}),
        ),
        ("/networks/N_1/sm/devices", serde_json::json!([{"id": "d"}])),
        (
            "/devices/Q2XX-AAAA-0001/switch/ports",
            serde_json::json!([{"portId": "1"}]),
        ),
        (
            "/devices/Q2XX-AAAA-0001/wireless/bluetooth/settings",
            serde_json::json!({"uuid": "u"}),
        ),
    ];
    for (route, body) in routes {
        serve(&server, route, body.clone()).await;
    }
    let client = server.client();
    // Every mock here expects exactly one request: say who owns the network and the device,
    // so their calls are paced by organization 1 without a lookup.
    client.directory().register_networks("1", ["N_1"]);
    client.directory().register_devices("1", [serial]);
    let me = client
        .get_administered_identities_me()
        .call()
        .await
        .unwrap();
    assert_eq!(me.name.as_deref(), Some("Miles"));
    assert_eq!(
        client
            .get_device_appliance_dhcp_subnets()
            .serial(serial)
            .call()
            .await
            .unwrap()
            .len(),
        1
    );
    client
        .get_device_camera_analytics_live()
        .serial(serial)
        .call()
        .await
        .unwrap();
    client
        .get_device_cellular_gateway_lan()
        .serial(serial)
        .call()
        .await
        .unwrap();
    client.get_device().serial(serial).call().await.unwrap();
    assert_eq!(
        client
            .get_organization_insight_applications()
            .organization_id("1")
            .call()
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        client
            .get_administered_licensing_subscription_subscriptions()
            .call()
            .await
            .unwrap()
            .len(),
        1
    );
    let network = client.get_network().network_id("N_1").call().await.unwrap();
    assert_eq!(network.id.as_deref(), Some("N_1"));
    let organizations = client.get_organizations().call().await.unwrap();
    assert_eq!(organizations[0].name.as_deref(), Some("Org"));
    client
        .get_device_sensor_relationships()
        .serial(serial)
        .call()
        .await
        .unwrap();
    assert_eq!(
        client
            .get_network_sm_devices()
            .network_id("N_1")
            .call()
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        client
            .get_device_switch_ports()
            .serial(serial)
            .call()
            .await
            .unwrap()
            .len(),
        1
    );
    client
        .get_device_wireless_bluetooth_settings()
        .serial(serial)
        .call()
        .await
        .unwrap();
    server.verify().await;
}

#[test]
fn every_paginated_operation_has_a_paginator() {
    let yaml = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/openapi.yaml"
    ))
    .unwrap();
    let document: Value = serde_norway::from_str(&yaml).unwrap();
    let mut expected = Vec::new();
    for methods in document["paths"].as_object().unwrap().values() {
        for op in methods.as_object().unwrap().values() {
            let names: Vec<&str> = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|p| p["name"].as_str())
                .collect();
            if names.contains(&"startingAfter") && names.contains(&"endingBefore") {
                expected.push(op["operationId"].as_str().unwrap().to_owned());
            }
        }
    }
    expected.sort();
    let mut actual: Vec<String> = operations()
        .iter()
        .filter(|op| op.paginated)
        .map(|op| op.operation_id.to_owned())
        .collect();
    actual.sort();
    assert_eq!(
        expected.len(),
        65,
        "paginated operations in the committed API"
    );
    assert_eq!(actual, expected);
    assert_eq!(operations().len(), 668);
}

#[test]
fn every_batchable_operation_names_its_action_consistently() {
    let batchable: Vec<_> = operations().iter().filter(|o| o.batch.is_some()).collect();
    // Meraki's v1.42.0 list has 193 entries; three name no operation (`cargo xtask generate`
    // lists them).
    assert_eq!(batchable.len(), 190);
    for op in batchable {
        let batch = op.batch.unwrap();
        let method = match batch.operation {
            "create" => "POST",
            "update" => "PUT",
            "destroy" => "DELETE",
            _ => op.method,
        };
        assert_eq!(op.method, method, "{}", op.operation_id);
        assert_ne!(op.method, "GET", "{}", op.operation_id);
        // The resource is the path, or the path without the verb.
        let resource: Vec<&str> = batch.resource.split('/').collect();
        let path: Vec<&str> = op.path.split('/').collect();
        assert!(resource.len() <= path.len(), "{}", op.operation_id);
        for (r, p) in resource.iter().zip(&path) {
            let param = |s: &str| s.starts_with('{');
            assert!(r == p || (param(r) && param(p)), "{}", op.operation_id);
        }
    }
}

#[test]
fn every_operation_is_paced_by_what_its_path_names() {
    // Organization, network or device: paced by the organization; 476 of them by a network
    // or device whose organization the directory finds.
    let mut by_owner = std::collections::BTreeMap::new();
    let mut unowned = Vec::new();
    for op in operations() {
        let first = op.path.split('/').nth(1).unwrap_or_default();
        let has_id = op
            .path
            .split('/')
            .nth(2)
            .is_some_and(|s| s.starts_with('{'));
        let owner = match first {
            "organizations" | "networks" | "devices" if has_id => first,
            _ => {
                unowned.push(op.path);
                "none"
            }
        };
        *by_owner.entry(owner).or_insert(0) += 1;
    }
    assert_eq!(
        by_owner["networks"] + by_owner["devices"],
        476,
        "{by_owner:?}"
    );
    // The rest count against no organization: the administrator's own identity and
    // subscriptions, and the list of organizations (the global bucket paces them).
    assert!(
        unowned
            .iter()
            .all(|p| *p == "/organizations" || p.starts_with("/administered/")),
        "{unowned:?}"
    );
    assert_eq!(unowned.len(), 7);
}

/// Every documented JSON response example of the spec decodes as its operation's output type
/// (with the decoder `.send()` uses), and encoding the typed value back keeps every field the
/// schema describes, with its value.
#[test]
fn every_documented_example_decodes_and_keeps_its_described_fields() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml"))
        .expect("openapi.yaml");
    let document: Value = serde_norway::from_str(&text).expect("openapi.yaml is YAML");
    let schemas = &document["components"]["schemas"];
    let mut operations_checked = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for methods in document["paths"].as_object().expect("paths").values() {
        for operation in methods.as_object().expect("path item").values() {
            let Some(id) = operation.get("operationId").and_then(Value::as_str) else {
                continue;
            };
            let responses = operation["responses"].as_object().expect("responses");
            for (status, response) in responses.iter().filter(|(s, _)| s.starts_with('2')) {
                let media = response.pointer("/content/application~1json");
                let (Some(example), Some(schema)) = (
                    media.and_then(|m| m.get("example")),
                    media.and_then(|m| m.get("schema")),
                ) else {
                    continue;
                };
                let body = serde_json::to_vec(example).expect("an example encodes");
                match meraki_api::test_util::decode_as_output(id, &body) {
                    None => failures.push(format!("{id}: no typed output")),
                    Some(Err(error)) => failures.push(format!("{id} {status}: {error}")),
                    Some(Ok(back)) => {
                        let at = format!("{id} {status}");
                        kept(example, &back, schema, schemas, &at, &mut failures);
                        operations_checked.insert(id.to_owned());
                    }
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} problems:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // v1.42.0 documents an example for 613 of its 668 operations; the committed spec about as many.
    assert!(
        operations_checked.len() > 600,
        "{}",
        operations_checked.len()
    );
}

/// `schema` with `$ref`s and one-element `allOf`s (a nullable reference) followed.
fn resolved<'a>(mut schema: &'a Value, schemas: &'a Value) -> &'a Value {
    loop {
        if let Some(name) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
        {
            schema = &schemas[name];
        } else if let Some([only]) = schema
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            schema = only;
        } else {
            return schema;
        }
    }
}

/// Records in `failures` each field of `example` that `schema` describes and `back` lost or
/// changed. Empty lists and `null`s may be left out of `back` (that is how they encode).
fn kept(
    example: &Value,
    back: &Value,
    schema: &Value,
    schemas: &Value,
    at: &str,
    failures: &mut Vec<String>,
) {
    let schema = resolved(schema, schemas);
    match example {
        Value::Object(fields) => {
            let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
                return;
            };
            for (name, value) in fields {
                let Some(property) = properties.get(name) else {
                    continue;
                };
                let at = format!("{at}.{name}");
                match back.get(name) {
                    Some(encoded) => kept(value, encoded, property, schemas, &at, failures),
                    None if value.is_null() || value.as_array().is_some_and(Vec::is_empty) => {}
                    None => failures.push(format!("{at}: lost")),
                }
            }
        }
        Value::Array(items) => {
            let Some(item_schema) = schema.get("items") else {
                return;
            };
            match back.as_array() {
                Some(encoded) if encoded.len() == items.len() => {
                    for (i, (item, encoded)) in items.iter().zip(encoded).enumerate() {
                        kept(
                            item,
                            encoded,
                            item_schema,
                            schemas,
                            &format!("{at}[{i}]"),
                            failures,
                        );
                    }
                }
                _ => failures.push(format!("{at}: list became {back}")),
            }
        }
        Value::Number(n) => {
            if back.as_f64() != n.as_f64() {
                failures.push(format!("{at}: {example} became {back}"));
            }
        }
        _ => {
            if back != example && !(example.is_null() && back.is_null()) {
                failures.push(format!("{at}: {example} became {back}"));
            }
        }
    }
}

/// Every bounded query parameter of the whole API: its minimum and maximum accepted as the
/// builders send them (numbers as `3600.0`, integers as `3600`), just outside refused.
#[test]
fn every_bounded_parameter_of_the_api_is_checked_as_its_type() {
    let mut checked = 0;
    for spec in meraki_api::operation::operations() {
        for bound in spec.bounds {
            let sent = |v: f64| {
                if bound.integer {
                    format!("{}", v as i64)
                } else {
                    format!("{v:?}")
                }
            };
            let step = if bound.integer { 1.0 } else { 0.5 };
            let name = format!("{} {}", spec.operation_id, bound.name);
            if let Some(min) = bound.min {
                assert!(bound.check(&sent(min)).is_ok(), "{name}: {min}");
                assert!(bound.check(&sent(min - step)).is_err(), "{name}");
            }
            if let Some(max) = bound.max {
                assert!(bound.check(&sent(max)).is_ok(), "{name}: {max}");
                assert!(bound.check(&sent(max + step)).is_err(), "{name}");
            }
            checked += 1;
        }
    }
    // 65 `perPage` ranges and the `timespan`-like limits the specs give.
    assert!(checked > 100, "{checked}");
}

/// Object-shaped query parameters go out as the API reads them: `startDate[gt]=...`, beside
/// the plain `startDate=...` form.
#[tokio::test]
async fn object_query_parameters_are_sent_as_name_and_key() {
    let server = ReplayServer::start(&[], None).await;
    serve(
        &server,
        "/administered/licensing/subscription/subscriptions",
        serde_json::json!([]),
    )
    .await;
    let at = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
        .unwrap()
        .with_timezone(&chrono::Utc);
    server
        .client()
        .get_administered_licensing_subscription_subscriptions()
        .organization_ids(vec!["1".to_string()])
        .start_date_gt(at)
        .start_date_lt(at)
        .call()
        .await
        .unwrap();
    let request = &server.received().await[0];
    let query = request.url.query().unwrap_or_default();
    assert!(
        query.contains("startDate%5Bgt%5D=2026-01-01T00%3A00%3A00Z"),
        "{query}"
    );
    assert!(query.contains("startDate%5Blt%5D="), "{query}");
    assert!(!query.contains("&gt="), "{query}");
}
