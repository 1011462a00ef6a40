//! With the `json-schema` feature, the generated types (and the hand-written ones in them)
//! derive `schemars::JsonSchema`: a schema for a response and a request type.

#[test]
fn generated_types_describe_themselves() {
    let license = serde_json::to_value(schemars::schema_for!(meraki_api::types::License)).unwrap();
    assert!(license["properties"]["licenseKey"].is_object(), "{license}");
    let request = serde_json::to_value(schemars::schema_for!(
        meraki_api::types::UpdateNetworkRequest
    ))
    .unwrap();
    // A clearable field is described as its value or null.
    assert!(request["properties"]["notes"].is_object(), "{request}");
}
