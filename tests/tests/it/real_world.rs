//! What the live API really sends, and what users really pass: forgiving decoding, strict input
//! checks, typed errors, and no key anywhere it should not be.

use meraki_api::prelude::*;
use meraki_api::test_util::{ReplayServer, FIXTURE_API_KEY};
use meraki_api::types::{
    CellularDataProfileRuleActionType as ActionType, CellularDataProfileRuleSlot as Slot,
    DataProfileRuleCapTermResets as Resets, LicenseState,
};
use meraki_api::Error;
use meraki_api_tests::{fixtures, fixtures_dir, ORG};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn nulls_unknown_enum_values_unknown_fields_and_empty_dates_decode() {
    let server = ReplayServer::start(&fixtures(&["quirks/licenses_nulls_unknowns"]), Some(1)).await;
    let licenses = server
        .client()
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(5)
        .call()
        .await
        .expect("a realistic page decodes");
    server.verify().await;

    let all_null = &licenses[0];
    assert_eq!(all_null.id.as_deref(), Some("2001"));
    assert_eq!(all_null.state, None);
    assert_eq!(all_null.device_serial, None);
    assert!(
        all_null.permanently_queued_licenses.is_empty(),
        "null array decodes as empty"
    );

    let odd = &licenses[1];
    assert_eq!(odd.state, Some(LicenseState::Unknown("suspended".into())));
    assert!(odd.state.as_ref().unwrap().is_unknown());
    assert_eq!(odd.state.as_ref().unwrap().to_string(), "suspended");
    assert_eq!(odd.claim_date.as_deref(), Some(""));
    assert_eq!(odd.permanently_queued_licenses[0].license_key, None);
    // Serializing gives the API's string back.
    let json = serde_json::to_value(odd).unwrap();
    assert_eq!(json["state"], "suspended");
    // Known values keep their typed variants, both ways.
    assert_eq!(
        "active".parse::<LicenseState>().unwrap(),
        LicenseState::Active
    );
    assert_eq!(
        serde_json::to_value(LicenseState::Active).unwrap(),
        "active"
    );
}

#[tokio::test]
async fn nested_unknown_enum_values_and_null_arrays_decode() {
    let server =
        ReplayServer::start(&fixtures(&["quirks/cellular_profiles_unknowns"]), Some(1)).await;
    let body = server
        .client()
        .get_organization_devices_cellular_data_profiles()
        .organization_id(ORG)
        .per_page(3)
        .call()
        .await
        .expect("unknown nested values decode");
    let rule = &body.items[0].rules[0];
    assert_eq!(rule.slot, Some(Slot::Unknown("sim4".into())));
    assert_eq!(rule.uplink.as_ref().unwrap().priority, Some(3));
    let term = rule.cap.as_ref().unwrap().term.as_ref().unwrap();
    assert_eq!(term.resets, Some(Resets::Unknown("yearly".into())));
    let types: Vec<_> = rule.actions.iter().map(|a| a.type_.clone()).collect();
    assert_eq!(
        types,
        [
            Some(ActionType::Unknown("throttle".into())),
            Some(ActionType::Failover),
            None
        ]
    );
    assert!(body.items[1].rules.is_empty());
    assert!(body.meta.unwrap().counts.is_none());
}

#[tokio::test]
async fn undecodable_bodies_name_operation_path_and_excerpt() {
    let server = ReplayServer::start(
        &fixtures(&["quirks/licenses_not_json", "quirks/licenses_wrong_shape"]),
        Some(1),
    )
    .await;
    let client = server.client();
    let err = client
        .get_organization_licenses()
        .organization_id("not-json")
        .call()
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(decode.operation, "getOrganizationLicenses");
    assert!(
        decode.excerpt.contains("502 Bad Gateway"),
        "{}",
        decode.excerpt
    );

    let err = client
        .get_organization_licenses()
        .organization_id("wrong-shape")
        .call()
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(decode.path, "[1].seatCount");
    assert!(decode.excerpt.contains("many"), "{}", decode.excerpt);
    let line = err.to_string();
    assert!(!line.contains('\n'), "one line: {line}");
    assert!(
        line.contains("getOrganizationLicenses") && line.contains("[1].seatCount"),
        "{line}"
    );
}

#[tokio::test]
async fn bad_parameters_are_refused_before_sending() {
    let server = ReplayServer::start(&[], None).await;
    let client = server.client();

    for per_page in [2, 1001, -1] {
        let err = client
            .get_organization_licenses()
            .organization_id(ORG)
            .per_page(per_page)
            .call()
            .await
            .unwrap_err();
        let Error::InvalidRequest(invalid) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(invalid.parameter.as_deref(), Some("perPage"));
        assert!(
            invalid.message.contains("between 3 and 1000"),
            "{}",
            invalid.message
        );
    }
    let err = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id("")
        .call()
        .await
        .unwrap_err();
    let Error::InvalidRequest(invalid) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(invalid.parameter.as_deref(), Some("organizationId"));

    // Always the API's name for it, whoever found the fault (progenitor says `organization_id`).
    let err = client.get_organization_licenses().call().await.unwrap_err();
    let Error::InvalidRequest(invalid) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(invalid.parameter.as_deref(), Some("organizationId"));

    let err = client
        .get_organization_licenses()
        .organization_id(ORG)
        .state("suspended")
        .call()
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InvalidRequest(_)),
        "request enums stay strict: {err:?}"
    );
    // The error lists the values the parameter takes.
    assert!(
        err.to_string().ends_with(
            "parameter `state`: must be one of active, expired, expiring, recentlyQueued, \
             unused, unusedActive"
        ),
        "{err}"
    );

    for hostile in ["..", "."] {
        let err = client
            .get_organization_licenses()
            .organization_id(hostile)
            .call()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidRequest(_)),
            "{hostile}: {err:?}"
        );
    }
    assert!(server.received().await.is_empty(), "nothing was sent");
}

#[tokio::test]
async fn path_parameters_cannot_change_path_or_query() {
    let server = ReplayServer::start(&[], None).await;
    let client = server.client();
    for hostile in ["../admin", "1/2?x=y", "a#b"] {
        let _ = client
            .get_organization_licenses()
            .organization_id(hostile)
            .call()
            .await;
    }
    let received = server.received().await;
    assert_eq!(received.len(), 3);
    for request in &received {
        assert_eq!(
            request.url.path_segments().unwrap().count(),
            5,
            "{}",
            request.url
        );
        assert!(request.url.path().ends_with("/licenses"), "{}", request.url);
        assert_eq!(request.url.query(), None, "{}", request.url);
    }
    assert!(
        received[0].url.path().contains("..%2Fadmin"),
        "{}",
        received[0].url
    );
}

#[test]
fn api_key_never_in_debug_or_errors() {
    let client = Client::builder().api_key(FIXTURE_API_KEY).build().unwrap();
    assert!(!format!("{client:?}").contains(FIXTURE_API_KEY));
    let err = Client::builder()
        .api_key(format!("{FIXTURE_API_KEY}x"))
        .build()
        .unwrap_err();
    assert!(!format!("{err} {err:?}").contains(FIXTURE_API_KEY));
}

/// Every fixture file must be free of keys: no 40-hex run anywhere, and auth headers only as
/// the placeholder.
#[test]
fn fixtures_hold_no_api_keys() {
    let mut files = Vec::new();
    let mut dirs = vec![fixtures_dir()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    assert!(
        files.len() >= 10,
        "found only {} fixture files",
        files.len()
    );
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        if let Some(at) = hex40_at(&text) {
            panic!("{}: 40 hex characters at byte {at}", file.display());
        }
        // Other files (the TLS test's certificate, webhook payloads) are scanned for keys,
        // not parsed as exchanges.
        let payload = file.components().any(|c| c.as_os_str() == "webhooks");
        if payload || file.extension().is_none_or(|ext| ext != "json") {
            continue;
        }
        let fixture = meraki_api::test_util::Fixture::load(&file).unwrap();
        for (name, value) in &fixture.request.headers {
            if name == "authorization" || name == "x-cisco-meraki-api-key" {
                assert!(
                    value == "Bearer {{api_key}}" || value == "{{api_key}}",
                    "{}: {name} holds a value other than the placeholder",
                    file.display()
                );
            }
        }
    }
    // The scan itself must catch a key.
    let leaked = format!("{{\"authorization\": \"Bearer {FIXTURE_API_KEY}\"}}");
    assert_eq!(hex40_at(&leaked), Some(26));
    assert_eq!(hex40_at(&FIXTURE_API_KEY[1..]), None);
}

/// Where a run of 40 hexadecimal characters starts, if there is one.
fn hex40_at(text: &str) -> Option<usize> {
    text.as_bytes()
        .windows(40)
        .position(|w| w.iter().all(u8::is_ascii_hexdigit))
}

#[tokio::test]
async fn fields_the_spec_lacks_are_reachable_as_raw_json() {
    let server = ReplayServer::start(
        &fixtures(&[
            "quirks/licenses_nulls_unknowns",
            "cellular_profiles/page1",
            "cellular_profiles/page2",
        ]),
        Some(1),
    )
    .await;
    let client = server.client();
    let (typed, raw) = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(5)
        .call_with_json()
        .await
        .unwrap();
    assert_eq!(typed[1].id.as_deref(), Some("2002"));
    assert_eq!(raw[1]["newTopLevelField"], 42);
    assert_eq!(raw[1]["coterm"]["editions"][0], "enterprise");
    assert_eq!(raw[1]["permanentlyQueuedLicenses"][0]["futureField"], true);

    let pages: Vec<_> = futures_util::TryStreamExt::try_collect(
        client
            .get_organization_devices_cellular_data_profiles()
            .organization_id(ORG)
            .per_page(3)
            .into_paginator()
            .with_raw_json()
            .pages(),
    )
    .await
    .unwrap();
    for page in &pages {
        let raw_items = page.raw_items().expect("asked for raw JSON");
        assert_eq!(raw_items.len(), page.items.len());
        for (item, raw) in page.items.iter().zip(raw_items) {
            assert_eq!(raw["profileId"].as_str(), item.profile_id.as_deref());
        }
    }
    server.verify().await;
}

#[tokio::test]
async fn items_decode_into_a_type_of_the_callers_choosing() {
    /// Only what a data-cap report needs.
    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct ProfileName {
        profile_id: String,
        name: Option<String>,
    }
    // Walked twice: as the generated type, then as the projection.
    let server = ReplayServer::start(
        &fixtures(&["cellular_profiles/page1", "cellular_profiles/page2"]),
        Some(2),
    )
    .await;
    let client = server.client();
    let paginator = || {
        client
            .get_organization_devices_cellular_data_profiles()
            .organization_id(ORG)
            .per_page(3)
            .into_paginator()
    };
    let typed: Vec<_> = futures_util::TryStreamExt::try_collect(paginator().items())
        .await
        .unwrap();
    let pages: Vec<_> =
        futures_util::TryStreamExt::try_collect(paginator().pages_as::<ProfileName>())
            .await
            .unwrap();
    // The same items/meta pages, counts and links as the generated type gives.
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].counts.and_then(|c| c.remaining), Some(2));
    assert!(pages[0].links.next.is_some());
    let projected: Vec<&ProfileName> = pages.iter().flat_map(|p| &p.items).collect();
    assert_eq!(projected.len(), typed.len());
    for (projection, full) in projected.iter().zip(&typed) {
        assert_eq!(Some(&projection.profile_id), full.profile_id.as_ref());
        assert_eq!(projection.name, full.name);
    }
    server.verify().await;
}

/// Two pages of licenses with the drift the live API shows: numbers as strings, a `0` where
/// the spec says at least 1, `null` in a required field; page 1's third item cannot be read.
async fn drifting_licenses() -> MockServer {
    use wiremock::matchers::{method, query_param};
    let server = MockServer::start().await;
    let page1 = serde_json::json!([
        {"id": "1", "seatCount": "12", "totalDurationInDays": 0, "state": "active"},
        {"id": "2", "seatCount": 3.0, "durationInDays": "365", "state": "brandNewState"},
        {"id": "3", "seatCount": {"not": "a number"}},
        {"id": null, "seatCount": null, "licenseKey": 1234},
    ]);
    let next = format!(
        "<{}/api/v1/organizations/{ORG}/licenses?startingAfter=4>; rel=next",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(query_param("startingAfter", "4"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([{"id": "5", "seatCount": "7"}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(page1)
                .insert_header("link", next),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn numbers_sent_as_strings_and_nulls_in_required_fields_decode() {
    let server = drifting_licenses().await;
    let client = meraki_api::Client::builder()
        .api_key(meraki_api::test_util::FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .build()
        .unwrap();
    // The default stream stops at the item that cannot be read, naming it.
    let err = futures_util::TryStreamExt::try_collect::<Vec<_>>(
        client
            .get_organization_licenses()
            .organization_id(ORG)
            .into_paginator()
            .items(),
    )
    .await
    .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(decode.path, "[2].seatCount", "{err}");

    // Lenient: the bad item is an error of its own, and the rest (both pages) arrive.
    let results: Vec<_> = futures_util::StreamExt::collect(
        client
            .get_organization_licenses()
            .organization_id(ORG)
            .into_paginator()
            .lenient_items(),
    )
    .await;
    assert_eq!(results.len(), 5);
    let good: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(good.len(), 4);
    assert_eq!(good[0].seat_count, Some(12));
    assert_eq!(good[0].total_duration_in_days, Some(0));
    assert_eq!(good[1].seat_count, Some(3));
    assert_eq!(good[1].duration_in_days, Some(365));
    assert_eq!(
        good[1].state.as_ref().map(|s| s.to_string()).as_deref(),
        Some("brandNewState")
    );
    assert_eq!(good[2].id, None);
    assert_eq!(good[2].license_key.as_deref(), Some("1234"));
    assert_eq!(good[3].seat_count, Some(7));
    let Err(Error::Decode(bad)) = &results[2] else {
        panic!("{:?}", results[2])
    };
    assert_eq!(bad.path, "[2].seatCount");
    let (index, raw) = bad.item.as_ref().unwrap();
    assert_eq!(*index, 2);
    assert!(raw.contains("a number"), "{raw}");
}
