//! The standard proxy environment variables, honoured when no proxy is configured. Alone in
//! its test binary: it sets the process environment, which other tests must not see.

use meraki_api::prelude::*;
use meraki_api::test_util::FIXTURE_API_KEY;
use wiremock::matchers::path;
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn http_proxy_from_the_environment_is_used() {
    let proxy = MockServer::start().await;
    Mock::given(path("/api/v1/organizations/549236/licenses"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([{"id": "1"}])))
        .mount(&proxy)
        .await;
    std::env::set_var("HTTP_PROXY", proxy.uri());
    std::env::remove_var("NO_PROXY");
    std::env::remove_var("no_proxy");
    // Nothing listens on the base URL's port: only the proxy can answer.
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url("http://127.0.0.1:9/api/v1")
        .build()
        .unwrap();
    let licenses = client
        .get_organization_licenses()
        .organization_id("549236")
        .call()
        .await
        .unwrap();
    assert_eq!(licenses.len(), 1);
    assert_eq!(proxy.received_requests().await.unwrap().len(), 1);
}
