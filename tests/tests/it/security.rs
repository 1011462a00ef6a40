//! Where the key and other secrets go, and where they do not: each case asserts what a server
//! beyond the base URL, a foreign host, or a `Debug`/`Display` string received.
//! 127.0.0.2 stands in for a host that is not the API's.

use futures_util::StreamExt;
use meraki_api::auth::AuthScheme;
use meraki_api::prelude::*;
use meraki_api::test_util::{SimulatedDashboard, FIXTURE_API_KEY};
use meraki_api::Error;
use reqwest::Method;
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const PSK: &str = "hunter22-wpa";
const RADIUS_SECRET: &str = "radius-s3cret";

fn config_setting(result: Result<meraki_api::Client, Error>) -> &'static str {
    match result {
        Err(Error::Config(e)) => e.setting,
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("built"),
    }
}

#[test]
fn plain_http_beyond_this_machine_is_refused_unless_asked_for_by_name() {
    let builder = || meraki_api::Client::builder().api_key(FIXTURE_API_KEY);
    for base in [
        "http://n1.meraki.com:8080/api/v1",
        "http://api.meraki.com/api/v1",
        "http://10.0.0.1/api/v1",
    ] {
        assert_eq!(
            config_setting(builder().base_url(base).build()),
            "base_url",
            "{base}"
        );
    }
    for local in [
        "http://127.0.0.1:9/api/v1",
        "http://127.0.0.2:9/api/v1",
        "http://localhost:9/api/v1",
        "http://[::1]:9/api/v1",
        "https://api.meraki.com/api/v1",
    ] {
        assert!(builder().base_url(local).build().is_ok(), "{local}");
    }
    assert!(builder()
        .base_url("http://n1.meraki.com:8080/api/v1")
        .allow_insecure_http(true)
        .build()
        .is_ok());
    let err = builder()
        .base_url("https://user:pw@api.meraki.com/api/v1")
        .build()
        .unwrap_err()
        .to_string();
    assert!(!err.contains("pw"), "{err}");
}

/// A server on 127.0.0.2 that records what reaches it.
async fn foreign_host() -> MockServer {
    let listener = std::net::TcpListener::bind("127.0.0.2:0").unwrap();
    let server = MockServer::builder().listener(listener).start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn redirects_never_downgrade_to_http_or_leave_for_a_foreign_host() {
    let foreign = foreign_host().await;
    let api = MockServer::start().await;
    let targets = [
        // A Meraki host named over http: never cleartext beyond this machine.
        "http://n2.meraki.com:1/api/v1/organizations/1/networks".to_owned(),
        // Another host: not Meraki's.
        format!("{}/api/v1/organizations/1/networks", foreign.uri()),
    ];
    for target in targets {
        api.reset().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(308).insert_header("location", target.as_str()))
            .mount(&api)
            .await;
        let client = meraki_api::Client::builder()
            .api_key(FIXTURE_API_KEY)
            .base_url(format!("{}/api/v1", api.uri()))
            .build()
            .unwrap();
        let err = client
            .get_organization_networks()
            .organization_id("1")
            .call()
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::RedirectRefused { .. }),
            "{target}: {err}"
        );
    }
    assert!(foreign.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_callers_client_that_follows_redirects_cannot_take_the_key_along() {
    let foreign = foreign_host().await;
    let api = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(302).insert_header(
            "location",
            format!("{}/api/v1/organizations/1/networks", foreign.uri()).as_str(),
        ))
        .mount(&api)
        .await;
    let following = meraki_api::reqwest_builder()
        .unwrap()
        .redirect(reqwest::redirect::Policy::limited(5))
        .build()
        .unwrap();
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", api.uri()))
        .http_client(following.clone())
        .build()
        .unwrap();
    let err = client
        .get_organization_networks()
        .organization_id("1")
        .call()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::RedirectRefused { .. }), "{err}");
    // The caller's client went there on its own, but without the key in either header.
    for request in foreign.received_requests().await.unwrap() {
        assert!(!request.headers.contains_key("authorization"));
        assert!(!request.headers.contains_key("x-cisco-meraki-api-key"));
        let all = format!("{:?}", request.headers);
        assert!(!all.contains(FIXTURE_API_KEY), "{all}");
    }
    // The header reqwest would forward is refused with a caller's client.
    let refused = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", api.uri()))
        .auth_scheme(AuthScheme::CiscoMerakiApiKey)
        .http_client(following)
        .build();
    assert_eq!(config_setting(refused), "auth_scheme");
}

#[test]
fn proxy_credentials_are_never_printed() {
    let builder = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .proxy("http://alice:pr0xy-pass@127.0.0.1:3128");
    let debug = format!("{builder:?}");
    assert!(
        !debug.contains("pr0xy-pass") && !debug.contains("alice"),
        "{debug}"
    );
    assert!(!debug.contains(FIXTURE_API_KEY), "{debug}");
    let err = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .proxy("http://alice:pr0xy-pass@[not-a-host")
        .build()
        .unwrap_err();
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("pr0xy-pass"), "{shown}");
}

fn ssid_with_secrets() -> serde_json::Value {
    json!({
        "name": "Guests",
        "authMode": "psk",
        "psk": PSK,
        "radiusServers": [{"host": "10.0.0.5", "port": 1812, "secret": RADIUS_SECRET}],
    })
}

fn assert_no_secrets(shown: &str) {
    for secret in [PSK, RADIUS_SECRET, FIXTURE_API_KEY] {
        assert!(!shown.contains(secret), "{secret} in {shown}");
    }
}

#[tokio::test]
async fn dry_run_errors_mask_secrets_and_keep_them_for_code_that_asks() {
    let dashboard = SimulatedDashboard::builder()
        .organization("1", 1, 0)
        .start()
        .await;
    let client = dashboard.client().dry_run();
    let err = client
        .raw(Method::PUT, "/networks/N_1_0/wireless/ssids/0")
        .json(&ssid_with_secrets())
        .call()
        .await
        .unwrap_err();
    assert_no_secrets(&format!("{err} {err:?}"));
    let Error::DryRun { not_sent, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(
        not_sent.body.as_ref().unwrap()["psk"],
        PSK,
        "the body stays whole"
    );
    assert_eq!(dashboard.counts().served, 0);
}

#[tokio::test]
async fn raw_requests_and_undecodable_answers_never_print_secrets() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let dashboard = SimulatedDashboard::builder()
        .organization("1", 1, 0)
        .start()
        .await;
    let request = dashboard
        .client()
        .raw(Method::PUT, "/networks/N_1_0/wireless/ssids/0")
        .json(&ssid_with_secrets());
    assert_no_secrets(&format!("{request:?}"));
    // An answer whose item does not decode: its excerpt is around the PSK and the secret.
    let server = MockServer::start().await;
    let mut ssid = ssid_with_secrets();
    ssid["number"] = json!("not a number");
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([ssid])))
        .mount(&server)
        .await;
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .build()
        .unwrap();
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Ssid {
        number: u32,
    }
    let err = client
        .raw(Method::GET, "/networks/N_1/wireless/ssids")
        .decode_as::<Vec<Ssid>>()
        .call()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode(_)), "{err}");
    assert_no_secrets(&format!("{err} {err:?}"));
}

#[tokio::test]
async fn dry_run_sends_only_reads() {
    let api = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&api)
        .await;
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", api.uri()))
        .dry_run(true)
        .build()
        .unwrap();
    for sent in [Method::GET, Method::HEAD, Method::OPTIONS] {
        client
            .raw(sent.clone(), "/organizations")
            .call()
            .await
            .unwrap();
    }
    for withheld in [
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
        Method::from_bytes(b"PURGE").unwrap(),
    ] {
        let err = client
            .raw(withheld.clone(), "/organizations")
            .call()
            .await
            .unwrap_err();
        assert!(err.is_dry_run(), "{withheld}: {err}");
    }
    let methods: Vec<String> = api
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| r.method.to_string())
        .collect();
    assert_eq!(methods, ["GET", "HEAD", "OPTIONS"]);
}

#[tokio::test]
async fn batch_reports_mask_secrets_in_print_and_json() {
    let dashboard = SimulatedDashboard::builder()
        .organization("1", 1, 0)
        .start()
        .await;
    let action: meraki_api::batch::Action = serde_json::from_value(json!({
        "resource": "/networks/N_1_0/wireless/ssids/0",
        "operation": "update",
        "body": ssid_with_secrets(),
    }))
    .unwrap();
    assert_no_secrets(&format!("{action:?}"));
    let mut reports = dashboard
        .client()
        .action_batches("1")
        .synchronous(true)
        .run(vec![action]);
    let report = reports.next().await.unwrap();
    assert!(report.completed(), "{report:?}");
    assert_no_secrets(&format!("{report:?}"));
    assert_no_secrets(&serde_json::to_string(&report).unwrap());
    assert_eq!(report.actions[0].body.as_ref().unwrap()["psk"], PSK);
}

#[tokio::test]
async fn ids_that_cannot_be_ids_never_reach_a_path() {
    let api = MockServer::start().await;
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", api.uri()))
        .build()
        .unwrap();
    for bad in ["..", "", "1\n2"] {
        let err = client.learn_organization(bad).await.unwrap_err();
        assert!(matches!(err, Error::InvalidRequest(_)), "{bad:?}: {err}");
    }
    assert!(api.received_requests().await.unwrap().is_empty());
}
