//! What the client tells a tracing subscriber: a span per call with its operation,
//! organization, attempts, status, `X-Request-Id` and time, and events for 429 waits,
//! retries, lookups and pages. Never the key.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use meraki_api::prelude::*;
use meraki_api::test_util::{SimulatedDashboard, FIXTURE_API_KEY};
use meraki_api::RetryPolicy;
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Everything the subscriber wrote.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// Sets a debug-level subscriber for this thread (the test's own runtime thread).
fn capture() -> (Captured, tracing::subscriber::DefaultGuard) {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter("meraki_api=debug")
        .with_span_events(FmtSpan::CLOSE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let guard = tracing::subscriber::set_default(subscriber);
    (captured, guard)
}

#[tokio::test]
async fn a_call_is_one_span_with_what_support_asks_for() {
    let (captured, _guard) = capture();
    let server = MockServer::start().await;
    let licenses = "/api/v1/organizations/549236/licenses";
    Mock::given(path(licenses))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(licenses))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-request-id", "req-77")
                .set_body_json(serde_json::json!([{"id": "1"}])),
        )
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .retry(RetryPolicy::default().initial_backoff(Duration::from_millis(10)))
        .build()
        .unwrap();
    let pages: Vec<_> = client
        .get_organization_licenses()
        .organization_id("549236")
        .into_paginator()
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    let text = captured.text();
    let close = text
        .lines()
        .find(|l| l.contains("call{") && l.contains("close"))
        .unwrap_or_else(|| panic!("no closed call span in:\n{text}"));
    for field in [
        "operation=\"getOrganizationLicenses\"",
        "method=GET",
        "path=\"/organizations/{organizationId}/licenses\"",
        "organization=\"549236\"",
        "attempts=2",
        "status=200",
        "request_id=\"req-77\"",
        "elapsed_ms=",
    ] {
        assert!(close.contains(field), "{field} missing from: {close}");
    }
    assert!(text.contains("429: waiting"), "{text}");
    assert!(text.contains("page") && text.contains("items=1"), "{text}");
    assert!(
        !text.contains(FIXTURE_API_KEY) && !text.contains("Bearer"),
        "{text}"
    );
}

#[tokio::test]
async fn lookups_and_dry_runs_are_told() {
    let (captured, _guard) = capture();
    let dashboard = SimulatedDashboard::builder()
        .organization("549236", 2, 0)
        .start()
        .await;
    let client = dashboard.client();
    let network = &dashboard.networks("549236")[0];
    client
        .get_network_devices()
        .network_id(network.as_str())
        .call()
        .await
        .unwrap();
    let not_sent = client
        .dry_run()
        .delete_network()
        .network_id(network.as_str())
        .call()
        .await;
    assert!(not_sent.unwrap_err().is_dry_run());
    let text = captured.text();
    assert!(text.contains("looked up the organization"), "{text}");
    assert!(text.contains("organization=\"549236\""), "{text}");
    assert!(
        text.contains("dry run: write checked and not sent"),
        "{text}"
    );
    assert!(!text.contains(FIXTURE_API_KEY), "{text}");
}

#[tokio::test]
async fn oauth_refreshes_are_told_and_tokens_never_are() {
    use meraki_api::oauth::{MemoryTokenStore, OAuthCredentials};
    use meraki_api::test_util::{AuthorizationServer, TEST_CLIENT_SECRET};
    let (captured, _guard) = capture();
    let auth = AuthorizationServer::start().await;
    let dashboard = SimulatedDashboard::builder()
        .organization("549236", 2, 0)
        .oauth(&auth)
        .start()
        .await;
    let store = std::sync::Arc::new(MemoryTokenStore::new(auth.grant(&["a:b"])));
    let first = store.current().unwrap();
    let client = dashboard
        .client_builder_without_key()
        .oauth(OAuthCredentials::new(auth.app(), store.clone()))
        .build()
        .unwrap();
    client
        .get_organization_networks()
        .organization_id("549236")
        .call()
        .await
        .unwrap();
    auth.expire_access_tokens();
    client
        .get_organization_networks()
        .organization_id("549236")
        .call()
        .await
        .unwrap();
    let text = captured.text();
    assert!(text.contains("oauth: access token refreshed"), "{text}");
    assert!(
        text.contains("401 to the access token: refreshing once"),
        "{text}"
    );
    let rotated = store.current().unwrap();
    for secret in [first.expose(), rotated.expose(), TEST_CLIENT_SECRET] {
        assert!(!text.contains(secret), "a secret in the trace: {secret}");
    }
    // The server's access tokens are `at_<digits><hex>`.
    let access_token = text
        .match_indices("at_")
        .any(|(i, _)| text[i + 3..].starts_with(|c: char| c.is_ascii_digit()));
    assert!(!access_token, "an access token in the trace: {text}");
}

/// Deprecated operations (openapi/deprecations.yaml) are `#[deprecated]` naming their
/// replacement, and their first call per client is traced.
#[tokio::test]
#[allow(deprecated)]
async fn the_first_call_of_a_deprecated_operation_is_traced_once() {
    let (captured, _guard) = capture();
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/networks/N_1/syslogServers"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"servers": []})))
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .organization_lookups(false)
        .build()
        .unwrap();
    for _ in 0..3 {
        client
            .get_network_syslog_servers()
            .network_id("N_1")
            .call()
            .await
            .unwrap();
    }
    let text = captured.text();
    assert_eq!(
        text.matches("deprecated operation called").count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("getOrganizationDevicesSyslogServersByNetwork"),
        "{text}"
    );
    let spec = meraki_api::operation::operations()
        .iter()
        .find(|op| op.operation_id == "getNetworkSyslogServers")
        .unwrap();
    assert!(spec.deprecated.unwrap().contains("2026-06"));
}

/// What answers show beyond the spec is counted per operation and traced once per finding, by
/// name and path: never the values (which may be anything a customer's network holds).
#[tokio::test]
async fn drift_is_counted_per_operation_and_traced_once_without_values() {
    let (captured, _guard) = capture();
    let server = MockServer::start().await;
    Mock::given(path("/api/v1/organizations/549236/licenses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([
            {"id": "1", "seatCount": "12", "state": "brandNewState",
             "newField": {"hidden": "s3cr3t-value"}},
            {"id": "2", "seatCount": 3, "state": "active"},
        ])))
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .build()
        .unwrap();
    for _ in 0..2 {
        let licenses = client
            .get_organization_licenses()
            .organization_id("549236")
            .call()
            .await
            .unwrap();
        assert_eq!(licenses[0].seat_count, Some(12));
    }
    // The paginator's lenient stream counts the same way.
    let items: Vec<_> = futures_util::StreamExt::collect(
        client
            .get_organization_licenses()
            .organization_id("549236")
            .into_paginator()
            .lenient_items(),
    )
    .await;
    assert!(items.iter().all(Result::is_ok));

    let report: Vec<String> = client.drift().iter().map(ToString::to_string).collect();
    assert_eq!(
        report,
        [
            "getOrganizationLicenses: a value of LicenseState the spec does not list, in 3 answer(s)",
            "getOrganizationLicenses [].newField: a field the spec does not list, in 1 answer(s)",
            "getOrganizationLicenses [].seatCount: a numeric string where the spec says a number \
             (repaired), in 3 answer(s)",
        ]
    );
    assert_eq!(client.stats().drift, 3);
    let text = captured.text();
    assert_eq!(
        text.matches("the API answered beyond its spec").count(),
        3,
        "{text}"
    );
    assert!(text.contains("newField"), "{text}");
    for value in ["brandNewState", "s3cr3t-value", "hidden", "\"12\""] {
        assert!(!text.contains(value), "{value} in {text}");
    }
}
