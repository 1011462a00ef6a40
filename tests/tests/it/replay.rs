//! Both operations against their recorded exchanges: the client must send exactly the recorded
//! request (path, query, auth) and decode the recorded response into typed values.

use futures_util::TryStreamExt;
use meraki_api::prelude::*;
use meraki_api::test_util::ReplayServer;
use meraki_api::types::{
    CellularDataProfileRuleActionType as ActionType, CellularDataProfileRuleSlot as Slot,
    DataProfileRuleCapTermResets as Resets, LicenseState,
};
use meraki_api::Error;
use meraki_api_tests::{fixtures, ORG};

#[tokio::test]
async fn licenses_first_page_is_sent_and_decoded_as_recorded() {
    let server = ReplayServer::start(&fixtures(&["licenses/page1"]), Some(1)).await;
    let client = server.client();
    let response = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .call_with_response()
        .await
        .expect("recorded exchange replays");
    server.verify().await;

    assert_eq!(response.status(), 200);
    let link = response.headers()["link"].to_str().unwrap();
    assert!(link.contains("rel=next"), "{link}");
    let licenses = response.into_inner();
    assert_eq!(licenses.len(), 3);
    let first = &licenses[0];
    assert_eq!(first.id.as_deref(), Some("1234"));
    assert_eq!(first.license_type.as_deref(), Some("MX64-ENT"));
    assert_eq!(first.device_serial.as_deref(), Some("Q234-ABCD-5678"));
    assert_eq!(first.state, Some(LicenseState::Active));
    assert_eq!(first.total_duration_in_days, Some(425));
    assert_eq!(first.seat_count, None, "null seatCount decodes as None");
    assert_eq!(first.permanently_queued_licenses.len(), 1);
    assert_eq!(
        first.permanently_queued_licenses[0].duration_in_days,
        Some(60)
    );
    assert_eq!(
        first.expiration_date.as_deref(),
        Some("2020-10-30T15:01:46Z")
    );
    assert_eq!(licenses[2].state, Some(LicenseState::Expiring));
}

#[tokio::test]
async fn licenses_every_filter_goes_on_the_wire() {
    let server = ReplayServer::start(&fixtures(&["licenses/filtered"]), Some(1)).await;
    let client = server.client();
    let licenses = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(10)
        .ending_before("1240")
        .device_serial("Q234-ABCD-5678")
        .network_id("N_24329156")
        .state("active")
        .call()
        .await
        .expect("recorded exchange replays");
    server.verify().await;
    assert_eq!(licenses.len(), 1);
    assert_eq!(licenses[0].network_id.as_deref(), Some("N_24329156"));
}

#[tokio::test]
async fn licenses_paginate_across_pages_without_loss_or_duplicates() {
    let server =
        ReplayServer::start(&fixtures(&["licenses/page1", "licenses/page2"]), Some(1)).await;
    let client = server.client();
    let ids: Vec<String> = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator()
        .items()
        .map_ok(|license| license.id.unwrap())
        .try_collect()
        .await
        .expect("both pages replay");
    server.verify().await;
    assert_eq!(ids, ["1234", "1236", "1237", "1238", "1239"]);
}

#[tokio::test]
async fn licenses_api_errors_carry_status_messages_and_request_id() {
    let server = ReplayServer::start(
        &fixtures(&["licenses/not_found", "licenses/bad_request"]),
        Some(1),
    )
    .await;
    let client = server.client();

    let err = client
        .get_organization_licenses()
        .organization_id("000000")
        .call()
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("expected an API error, got {err:?}")
    };
    assert_eq!(api.status, 404);
    assert_eq!(api.messages, ["Organization with ID 000000 not found"]);
    assert_eq!(api.request_id.as_deref(), Some("5f1c2a7e9b3d4c13"));
    assert_eq!(api.attempts, 1, "404 is not retried");
    let line = err.to_string();
    assert!(
        line.contains("getOrganizationLicenses") && line.contains("404"),
        "{line}"
    );
    assert!(line.contains("5f1c2a7e9b3d4c13"), "{line}");

    let err = client
        .get_organization_licenses()
        .organization_id(ORG)
        .device_serial("not-a-serial")
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(400));
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.messages.len(), 2);
    server.verify().await;
}

#[tokio::test]
async fn cellular_profiles_send_bracketed_array_params_and_decode_items_meta() {
    let server = ReplayServer::start(&fixtures(&["cellular_profiles/filtered"]), Some(1)).await;
    let client = server.client();
    let body = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id(ORG)
        .profile_ids(vec!["42".to_string(), "43".to_string()])
        .serials(vec!["Q2XX-AAAA-0001".to_string()])
        .per_page(100)
        .call()
        .await
        .expect("recorded exchange replays");
    server.verify().await;

    let received = server.received().await;
    let query = received[0].url.query().unwrap();
    assert!(
        query.contains("profileIds%5B%5D=42&profileIds%5B%5D=43"),
        "array params go out as name[] once per value: {query}"
    );

    assert_eq!(body.items.len(), 2);
    let counts = body.meta.unwrap().counts.unwrap().items.unwrap();
    assert_eq!((counts.total, counts.remaining), (Some(2), Some(0)));
    let profile = &body.items[1];
    assert_eq!(profile.profile_id.as_deref(), Some("43"));
    assert_eq!(
        profile
            .counts
            .as_ref()
            .unwrap()
            .devices
            .as_ref()
            .unwrap()
            .assigned,
        Some(1)
    );
    let rule = &profile.rules[0];
    assert_eq!(rule.slot, Some(Slot::Sim2));
    assert_eq!(rule.uplink.as_ref().unwrap().priority, Some(2));
    let cap = rule.cap.as_ref().unwrap();
    assert_eq!(cap.value, Some(1234));
    assert_eq!(cap.threshold, Some(0.92));
    assert_eq!(cap.term.as_ref().unwrap().resets, Some(Resets::Weekly));
    let actions: Vec<_> = rule.actions.iter().map(|a| a.type_.clone()).collect();
    assert_eq!(
        actions,
        [Some(ActionType::SendMessage), Some(ActionType::Failover)]
    );
}

#[tokio::test]
async fn cellular_profiles_paginate_with_counts() {
    let server = ReplayServer::start(
        &fixtures(&["cellular_profiles/page1", "cellular_profiles/page2"]),
        Some(1),
    )
    .await;
    let client = server.client();
    let pages: Vec<_> = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator()
        .pages()
        .try_collect()
        .await
        .expect("both pages replay");
    server.verify().await;
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].items.len(), 3);
    assert_eq!(pages[0].counts.unwrap().remaining, Some(2));
    assert_eq!(pages[1].counts.unwrap().total, Some(5));
    assert!(pages[0].links.next.is_some() && pages[1].links.next.is_none());
    let ids: Vec<_> = pages
        .iter()
        .flat_map(|p| &p.items)
        .map(|p| p.profile_id.clone().unwrap())
        .collect();
    assert_eq!(ids, ["44", "45", "46", "47", "48"]);
}

#[tokio::test]
async fn cellular_profiles_ending_before_and_errors() {
    let server = ReplayServer::start(
        &fixtures(&[
            "cellular_profiles/ending_before",
            "cellular_profiles/not_found",
            "cellular_profiles/bad_request",
        ]),
        Some(1),
    )
    .await;
    let client = server.client();
    let body = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id(ORG)
        .ending_before("44")
        .per_page(3)
        .call()
        .await
        .unwrap();
    assert_eq!(body.items.len(), 2);

    let err = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id("000000")
        .call()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert_eq!(err.request_id(), Some("7a0d1b2c3e4f5065"));

    let err = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id(ORG)
        .profile_ids(vec!["nope".to_string()])
        .call()
        .await
        .unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.status, 400);
    assert_eq!(
        api.messages,
        ["Data management profile 'nope' does not exist"]
    );
    server.verify().await;
}

#[tokio::test]
async fn requests_carry_bearer_auth_and_no_false_api_version() {
    let server = ReplayServer::start(&fixtures(&["licenses/page1"]), None).await;
    let client = server.client();
    client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .call()
        .await
        .unwrap();
    let request = &server.received().await[0];
    assert_eq!(
        request.headers["authorization"],
        format!("Bearer {}", meraki_api::test_util::FIXTURE_API_KEY)
    );
    let agent = request.headers["user-agent"].to_str().unwrap();
    assert!(agent.starts_with("meraki-api-rust/"), "{agent}");
    // progenitor would send the merged document's version (1.70.0), which is not this
    // operation's (1.53.0): not sent at all. The operation table says which it is.
    assert!(!request.headers.contains_key("api-version"));
    let spec = meraki_api::operation::operations()
        .iter()
        .find(|s| s.operation_id == "getOrganizationLicenses")
        .unwrap();
    assert_eq!(spec.version, "1.53.0");
}

/// A request no fixture matches is answered 404 naming the closest fixture and what differs.
#[tokio::test]
async fn an_unmatched_request_names_the_closest_fixture_and_the_difference() {
    let server = ReplayServer::start(&fixtures(&["licenses/page1"]), None).await;
    let error = server
        .client()
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(4)
        .call()
        .await
        .expect_err("no fixture for perPage=4");
    let text = error.to_string();
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404), "{text}");
    assert!(text.contains("closest is fixture #0"), "{text}");
    assert!(
        text.contains("recorded but not sent: [perPage=3]"),
        "{text}"
    );
    assert!(
        text.contains("sent but not recorded: [perPage=4]"),
        "{text}"
    );

    let error = server
        .client()
        .get_organization_networks()
        .organization_id(ORG)
        .call()
        .await
        .expect_err("no fixture for networks");
    let text = error.to_string();
    assert!(
        text.contains(&format!("it is GET /api/v1/organizations/{ORG}/licenses")),
        "{text}"
    );
}
