//! What requests carry on the wire: cleared fields, bounded parameters, over the whole API.

use meraki_api::prelude::*;
use meraki_api::test_util::FIXTURE_API_KEY;
use meraki_api::{Error, Patch};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn server() -> (MockServer, meraki_api::Client) {
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .organization_lookups(false)
        .build()
        .unwrap();
    (server, client)
}

async fn last_body(server: &MockServer) -> serde_json::Value {
    let requests = server.received_requests().await.unwrap();
    serde_json::from_slice(&requests.last().unwrap().body).unwrap()
}

#[tokio::test]
async fn a_clearable_field_is_left_out_sent_as_null_or_set() {
    let (server, client) = server().await;
    let update = |notes: Patch<String>| {
        client
            .update_network()
            .network_id("N_1")
            .body_map(move |b| b.name("Store 1".to_string()).notes(notes))
            .call()
    };
    update(Patch::Absent).await.unwrap();
    assert_eq!(
        last_body(&server).await,
        serde_json::json!({"name": "Store 1"})
    );
    update(Patch::Null).await.unwrap();
    assert_eq!(
        last_body(&server).await,
        serde_json::json!({"name": "Store 1", "notes": null})
    );
    update(Patch::Value("closed on Sundays".into()))
        .await
        .unwrap();
    assert_eq!(
        last_body(&server).await,
        serde_json::json!({"name": "Store 1", "notes": "closed on Sundays"})
    );
    // Setters still take plain values and `Option`s.
    client
        .update_network()
        .network_id("N_1")
        .body_map(|b| b.name(Some("Store 2".to_string())).notes(None::<String>))
        .call()
        .await
        .unwrap();
    assert_eq!(
        last_body(&server).await,
        serde_json::json!({"name": "Store 2"})
    );
}

#[tokio::test]
async fn a_number_parameter_takes_integral_values() {
    let (server, client) = server().await;
    // `timespan` is a number: the builder sends `3600.0`, which is 3600.
    client
        .get_organization_summary_top_appliances_by_utilization()
        .organization_id("1")
        .timespan(3600.0)
        .call()
        .await
        .unwrap();
    let url = &server.received_requests().await.unwrap()[0].url;
    assert!(url.query().unwrap().contains("timespan=3600"), "{url}");
    let err = client
        .get_organization_summary_top_appliances_by_utilization()
        .organization_id("1")
        .timespan(1000.0)
        .call()
        .await
        .unwrap_err();
    let Error::InvalidRequest(invalid) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(invalid.parameter.as_deref(), Some("timespan"));
}

/// Calls, paginators, raw requests and batch runs borrow nothing: their futures and streams
/// can move into spawned tasks.
#[test]
fn calls_and_streams_are_static_and_send() {
    fn spawnable<T: Send + 'static>(_: &T) {}
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url("http://127.0.0.1:9/api/v1")
        .build()
        .unwrap();
    let call = client
        .get_organization_licenses()
        .organization_id("1")
        .call();
    spawnable(&call);
    let with_response = client
        .get_organization_licenses()
        .organization_id("1")
        .call_with_response();
    spawnable(&with_response);
    let paginator = client
        .get_organization_licenses()
        .organization_id("1")
        .into_paginator();
    spawnable(&paginator);
    spawnable(&paginator.clone().items());
    spawnable(&paginator.clone().pages());
    spawnable(&paginator.lenient_items());
    let raw = client.raw(reqwest::Method::GET, "/organizations");
    spawnable(&raw);
    spawnable(&raw.clone().call());
    spawnable(&raw.into_paginator().items());
    let runner = client.action_batches("1");
    spawnable(&runner);
    spawnable(&runner.run(Vec::new()));
    drop(client);
}
