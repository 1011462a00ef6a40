//! Transport settings: a proxy, the caller's own `reqwest::Client`, gzip, extra root
//! certificates, and no process-wide side effects.

use std::io::Write;

use meraki_api::prelude::*;
use meraki_api::test_util::FIXTURE_API_KEY;
use meraki_api::Error;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LICENSES: &str = "/api/v1/organizations/549236/licenses";

async fn licenses_server(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LICENSES))
        .and(header(
            "authorization",
            format!("Bearer {FIXTURE_API_KEY}").as_str(),
        ))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn licenses(client: &Client) -> Result<usize, Error> {
    let body = client
        .get_organization_licenses()
        .organization_id("549236")
        .call()
        .await?;
    Ok(body.len())
}

/// A plain `reqwest::Client` of the caller's, with its own TLS set-up (this workspace builds
/// reqwest without a default crypto provider, and nothing may install one process-wide).
fn callers_http_client() -> reqwest::ClientBuilder {
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    reqwest::Client::builder().tls_backend_preconfigured(tls)
}

fn one_license() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!([{"id": "1"}]))
}

#[tokio::test]
async fn requests_go_through_the_configured_proxy() {
    let proxy = licenses_server(one_license()).await;
    // Nothing listens on the base URL's port: only the proxy can answer.
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url("http://127.0.0.1:9/api/v1")
        .proxy(proxy.uri())
        .build()
        .unwrap();
    assert_eq!(licenses(&client).await.unwrap(), 1);
    let bad = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .proxy("not a url")
        .build()
        .unwrap_err();
    assert!(
        matches!(&bad, Error::Config(e) if e.setting == "proxy"),
        "{bad}"
    );
}

#[tokio::test]
async fn a_callers_own_http_client_keeps_the_key_user_agent_and_pacing() {
    let server = licenses_server(one_license()).await;
    let http = callers_http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .caller("InventorySync/2.1 Acme")
        .http_client(http)
        .build()
        .unwrap();
    for _ in 0..3 {
        assert_eq!(licenses(&client).await.unwrap(), 1);
    }
    let received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 3);
    let agent = received[0].headers["user-agent"].to_str().unwrap();
    assert!(
        agent.ends_with("Caller/(InventorySync/2.1 Acme)"),
        "{agent}"
    );
    assert_eq!(client.stats().requests, 3);
    // Settings that belong on the caller's client are refused, by name.
    let refused = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .http_client(callers_http_client().build().unwrap())
        .proxy("http://127.0.0.1:3128")
        .build()
        .unwrap_err();
    assert!(
        matches!(&refused, Error::Config(e) if e.setting == "proxy"),
        "{refused}"
    );
}

#[tokio::test]
async fn gzip_responses_are_asked_for_and_decoded() {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(br#"[{"id": "1"}, {"id": "2"}]"#).unwrap();
    let gzipped = encoder.finish().unwrap();
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .and(header("accept-encoding", "gzip"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-encoding", "gzip")
                .set_body_raw(gzipped, "application/json"),
        )
        .mount(&server)
        .await;
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .build()
        .unwrap();
    assert_eq!(licenses(&client).await.unwrap(), 2);
}

#[test]
fn extra_roots_are_read_as_pem_and_nothing_is_installed_process_wide() {
    let pem = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/tls/corporate-ca.pem"
    ))
    .unwrap();
    Client::builder()
        .api_key(FIXTURE_API_KEY)
        .root_certificates_pem(pem)
        .build()
        .unwrap();
    for bad in [
        &b"not a certificate"[..],
        b"-----BEGIN CERTIFICATE-----\nzz\n-----END CERTIFICATE-----\n",
    ] {
        let err = Client::builder()
            .api_key(FIXTURE_API_KEY)
            .root_certificates_pem(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(&err, Error::Config(e) if e.setting == "root_certificates_pem"),
            "{err}"
        );
    }
    // The client chose its TLS provider for itself, not for the application.
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
}
