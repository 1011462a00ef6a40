//! The client against a local server that misbehaves the way the real API and networks do:
//! 429s with Retry-After, 5xx bursts, dropped connections, slow responses, redirects, broken
//! Link headers and empty pages. Nothing may be lost or duplicated.

use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use meraki_api::prelude::*;
use meraki_api::test_util::FIXTURE_API_KEY;
use meraki_api::{Error, RateLimitConfig, RetryPolicy};
use meraki_api_tests::ORG;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LICENSES: &str = "/api/v1/organizations/549236/licenses";

fn client_for(base: &str, retry: RetryPolicy) -> Client {
    Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{base}/api/v1"))
        .retry(retry)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap()
}

fn fast_retries(max_attempts: u32) -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(max_attempts)
        .initial_backoff(Duration::from_millis(10))
        .max_backoff(Duration::from_secs(2))
}

/// A server that answers every request for the licenses path with `response`.
async fn answering(response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

/// Mounts `response` for the first `times` requests, ahead of mocks of lower priority (a higher
/// number) that answer afterwards.
async fn answer_first(server: &MockServer, times: u64, priority: u8, response: ResponseTemplate) {
    Mock::given(path(LICENSES))
        .respond_with(response)
        .up_to_n_times(times)
        .with_priority(priority)
        .mount(server)
        .await;
}

fn licenses(ids: &[&str]) -> serde_json::Value {
    json!(ids.iter().map(|id| json!({"id": id})).collect::<Vec<_>>())
}

async fn list(client: &Client) -> Result<Vec<String>, Error> {
    let body = client
        .get_organization_licenses()
        .organization_id(ORG)
        .call()
        .await?;
    Ok(body.into_iter().filter_map(|l| l.id).collect())
}

#[tokio::test]
async fn waits_retry_after_on_429_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(LICENSES))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(path(LICENSES))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["1"])))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(5));
    let started = Instant::now();
    assert_eq!(list(&client).await.unwrap(), ["1"]);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After was honoured"
    );
    let stats = client.stats();
    assert_eq!((stats.requests, stats.retries, stats.throttled), (2, 1, 1));
}

#[tokio::test]
async fn persistent_429_ends_as_rate_limited_with_attempts() {
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "0")
                .insert_header("x-request-id", "rl-1")
                .set_body_json(json!({"errors": ["API rate limit exceeded for organization"]})),
        )
        .expect(3)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(3));
    let err = list(&client).await.unwrap_err();
    let Error::RateLimited(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(api.attempts, 3);
    assert_eq!(api.request_id.as_deref(), Some("rl-1"));
    assert_eq!(api.retry_after, Some(Duration::ZERO));
    assert!(err.to_string().contains("after 3 attempts"), "{err}");
}

#[tokio::test]
async fn bursts_of_5xx_are_retried_with_backoff_then_reported() {
    let server = MockServer::start().await;
    answer_first(&server, 2, 1, ResponseTemplate::new(502)).await;
    answer_first(&server, 1, 2, ResponseTemplate::new(503)).await;
    Mock::given(path(LICENSES))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["1", "2"])))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(5));
    assert_eq!(list(&client).await.unwrap(), ["1", "2"]);
    assert_eq!(client.stats().retries, 3);

    let failing = MockServer::start().await;
    Mock::given(path(LICENSES))
        .respond_with(ResponseTemplate::new(502).insert_header("x-request-id", "bad-gw"))
        .expect(2)
        .mount(&failing)
        .await;
    let client = client_for(&failing.uri(), fast_retries(2));
    let err = list(&client).await.unwrap_err();
    let Error::Api(api) = &err else {
        panic!("{err:?}")
    };
    assert_eq!((api.status.as_u16(), api.attempts), (502, 2));
}

#[tokio::test]
async fn slow_responses_time_out_and_are_retried() {
    let server = MockServer::start().await;
    answer_first(
        &server,
        1,
        1,
        ResponseTemplate::new(200)
            .set_body_json(licenses(&["slow"]))
            .set_delay(Duration::from_secs(3)),
    )
    .await;
    Mock::given(path(LICENSES))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["1"])))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(3));
    assert_eq!(list(&client).await.unwrap(), ["1"]);

    let stuck = answering(ResponseTemplate::new(200).set_delay(Duration::from_secs(3))).await;
    let client = client_for(&stuck.uri(), fast_retries(2));
    let err = list(&client).await.unwrap_err();
    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert!(transport.source.is_timeout());
    assert_eq!(transport.attempts, 2);
    let shown = err.to_string();
    assert!(
        shown.contains("timed out") && shown.contains("after 2 attempt"),
        "{err}"
    );
}

#[tokio::test]
async fn dropped_connections_are_retried_for_gets() {
    // A bare TCP server: drops the first two connections, then answers properly.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for n in 0.. {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = socket.read(&mut buf).await;
            if n >= 2 {
                let body = r#"[{"id":"1"}]"#;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(reply.as_bytes()).await;
            }
        }
    });
    let client = client_for(&format!("http://{address}"), fast_retries(5));
    assert_eq!(list(&client).await.unwrap(), ["1"]);
    assert_eq!(client.stats().requests, 3);
}

#[tokio::test]
async fn follows_redirects_to_a_shard_but_never_to_a_foreign_host() {
    let shard = MockServer::start().await;
    Mock::given(path(LICENSES))
        .and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {FIXTURE_API_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["from-shard"])))
        .expect(1)
        .mount(&shard)
        .await;
    let api = answering(
        ResponseTemplate::new(307).insert_header("location", format!("{}{LICENSES}", shard.uri())),
    )
    .await;
    let client = client_for(&api.uri(), fast_retries(1));
    assert_eq!(list(&client).await.unwrap(), ["from-shard"]);
    shard.verify().await;

    // Another loopback address stands in for a foreign host.
    let foreign = MockServer::builder()
        .listener(std::net::TcpListener::bind("127.0.0.2:0").unwrap())
        .start()
        .await;
    let redirecting = answering(
        ResponseTemplate::new(302)
            .insert_header("location", format!("{}{LICENSES}", foreign.uri())),
    )
    .await;
    let client = client_for(&redirecting.uri(), fast_retries(3));
    let err = list(&client).await.unwrap_err();
    let Error::RedirectRefused { host, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(host.starts_with("127.0.0.2"), "{host}");
    assert!(
        foreign.received_requests().await.unwrap().is_empty(),
        "the key never went there"
    );
}

#[tokio::test]
async fn redirect_loops_are_bounded() {
    let server = answering(ResponseTemplate::new(308).insert_header("location", LICENSES)).await;
    let client = client_for(&server.uri(), fast_retries(1));
    let err = list(&client).await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(308));
    assert_eq!(server.received_requests().await.unwrap().len(), 11);
}

fn page(ids: &[&str], next: Option<&str>) -> ResponseTemplate {
    let mut template = ResponseTemplate::new(200).set_body_json(licenses(ids));
    if let Some(next) = next {
        template = template.insert_header("link", format!("<{next}>; rel=next"));
    }
    template
}

fn next_link(cursor: &str) -> String {
    format!("https://n99.meraki.com{LICENSES}?perPage=3&startingAfter={cursor}")
}

async fn collect_ids(client: &Client) -> Result<Vec<String>, Error> {
    client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator()
        .items()
        .map_ok(|l| l.id.unwrap_or_default())
        .try_collect()
        .await
}

/// Licenses 1-3 and 4-6 on two pages, then an empty page that still offers a next link (the
/// walk ends there). With `expect`, the first and last pages must be asked for that often.
async fn mount_licenses_1_to_6(server: &MockServer, expect: Option<u64>) {
    let expecting = |mock: wiremock::MockBuilder, template| match expect {
        Some(times) => mock.respond_with(template).expect(times),
        None => mock.respond_with(template),
    };
    expecting(
        Mock::given(path(LICENSES)).and(query_param_is_missing("startingAfter")),
        page(&["1", "2", "3"], Some(&next_link("3"))),
    )
    .mount(server)
    .await;
    Mock::given(path(LICENSES))
        .and(query_param("startingAfter", "3"))
        .respond_with(page(&["4", "5", "6"], Some(&next_link("6"))))
        .mount(server)
        .await;
    expecting(
        Mock::given(path(LICENSES)).and(query_param("startingAfter", "6")),
        page(&[], Some(&next_link("9"))),
    )
    .mount(server)
    .await;
}

#[tokio::test]
async fn pagination_survives_retries_without_loss_or_duplicates() {
    let server = MockServer::start().await;
    mount_licenses_1_to_6(&server, Some(1)).await;
    Mock::given(path(LICENSES))
        .and(query_param("startingAfter", "3"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(3));
    assert_eq!(
        collect_ids(&client).await.unwrap(),
        ["1", "2", "3", "4", "5", "6"]
    );
    server.verify().await;
}

#[tokio::test]
async fn looping_or_foreign_links_end_the_stream_with_an_error() {
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .and(query_param_is_missing("startingAfter"))
        .respond_with(page(&["1"], Some(&next_link("a"))))
        .mount(&server)
        .await;
    Mock::given(path(LICENSES))
        .and(query_param("startingAfter", "a"))
        .respond_with(page(&["2"], Some(&next_link("a"))))
        .expect(1)
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(1));
    let mut items = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator()
        .items();
    assert_eq!(
        items.try_next().await.unwrap().unwrap().id.as_deref(),
        Some("1")
    );
    assert_eq!(
        items.try_next().await.unwrap().unwrap().id.as_deref(),
        Some("2")
    );
    let err = items.try_next().await.unwrap_err();
    assert!(matches!(err, Error::Pagination { .. }), "{err:?}");
    assert!(err.to_string().contains("already visited"), "{err}");
    assert!(
        items.try_next().await.unwrap().is_none(),
        "the stream ends after the error"
    );
    server.verify().await;

    let foreign = MockServer::start().await;
    Mock::given(path(LICENSES))
        .respond_with(page(
            &["1"],
            Some(&format!(
                "https://evil.example.com{LICENSES}?startingAfter=1"
            )),
        ))
        .expect(1)
        .mount(&foreign)
        .await;
    let client = client_for(&foreign.uri(), fast_retries(1));
    let err = collect_ids(&client).await.unwrap_err();
    assert!(err.to_string().contains("evil.example.com"), "{err}");
}

/// A projection of a license: only its id.
#[derive(Debug, serde::Deserialize)]
struct LicenseId {
    id: String,
}

#[tokio::test]
async fn projected_items_get_the_same_retries_links_and_caps() {
    let server = MockServer::start().await;
    mount_licenses_1_to_6(&server, None).await;
    answer_first(
        &server,
        1,
        1,
        ResponseTemplate::new(429).insert_header("retry-after", "0"),
    )
    .await;
    let client = client_for(&server.uri(), fast_retries(3));
    let paginator = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator();
    let ids: Vec<String> = paginator
        .clone()
        .items_as::<LicenseId>()
        .map_ok(|l| l.id)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["1", "2", "3", "4", "5", "6"]);
    let capped: Vec<LicenseId> = paginator
        .max_items(4)
        .items_as()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(capped.len(), 4);
    // First walk: 429 then three pages; second walk: two pages.
    assert_eq!(server.received_requests().await.unwrap().len(), 6);
}

#[tokio::test]
async fn a_projection_that_does_not_fit_is_a_decode_error_naming_the_item() {
    let server =
        // A number where a string is wanted would be repaired (the live API's drift); a list
        // cannot be.
        answering(ResponseTemplate::new(200).set_body_json(json!([{"id": "1"}, {"id": [2]}]))).await;
    let client = client_for(&server.uri(), fast_retries(1));
    let err = client
        .get_organization_licenses()
        .organization_id(ORG)
        .into_paginator()
        .items_as::<LicenseId>()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    let Error::Decode(decode) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(decode.path, "[1].id", "{err}");
    assert_eq!(decode.operation, "getOrganizationLicenses");
}

#[tokio::test]
async fn paginators_stop_at_page_and_item_caps() {
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .and(query_param_is_missing("startingAfter"))
        .respond_with(page(&["1", "2", "3"], Some(&next_link("3"))))
        .mount(&server)
        .await;
    Mock::given(path(LICENSES))
        .and(query_param("startingAfter", "3"))
        .respond_with(page(&["4", "5", "6"], Some(&next_link("6"))))
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(1));
    let paginator = client
        .get_organization_licenses()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator();
    let pages: Vec<_> = paginator
        .clone()
        .max_pages(1)
        .pages()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(pages.len(), 1);
    let items: Vec<_> = paginator.max_items(4).items().try_collect().await.unwrap();
    assert_eq!(items.len(), 4);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn clones_share_one_rate_limit() {
    let server = answering(ResponseTemplate::new(200).set_body_json(licenses(&["1"]))).await;
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .rate_limit(RateLimitConfig::default().per_organization(20.0, 1.0))
        .build()
        .unwrap();
    let started = Instant::now();
    let tasks: Vec<_> = (0..11)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { list(&client).await.unwrap() })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // 1 at once, then 10 more at 20/s: at least 0.5 s.
    assert!(
        started.elapsed() >= Duration::from_millis(480),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(client.stats().requests, 11);
}

#[tokio::test]
async fn later_calls_stick_to_the_shard_until_it_fails() {
    // Not from wiremock's pool: dropping it must really close its port.
    let shard = MockServer::builder().start().await;
    Mock::given(path(LICENSES))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["shard"])))
        .expect(2)
        .mount(&shard)
        .await;
    let api = MockServer::start().await;
    answer_first(
        &api,
        1,
        1,
        ResponseTemplate::new(302).insert_header("location", format!("{}{LICENSES}", shard.uri())),
    )
    .await;
    Mock::given(path(LICENSES))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["base"])))
        .mount(&api)
        .await;
    let client = client_for(&api.uri(), fast_retries(3));
    assert_eq!(list(&client).await.unwrap(), ["shard"]);
    assert_eq!(
        list(&client).await.unwrap(),
        ["shard"],
        "straight to the shard"
    );
    assert_eq!(api.received_requests().await.unwrap().len(), 1);
    shard.verify().await;

    // The shard goes away: the next call falls back to the base URL.
    drop(shard);
    assert_eq!(list(&client).await.unwrap(), ["base"]);
    assert_eq!(api.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_link_header_that_does_not_parse_is_an_error_after_its_page() {
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(licenses(&["1", "2"]))
                .insert_header("link", "https://elsewhere/next; rel=next"),
        )
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(1));
    let mut items = client
        .get_organization_licenses()
        .organization_id(ORG)
        .into_paginator()
        .items();
    let mut seen = Vec::new();
    let error = loop {
        match items.try_next().await {
            Ok(Some(license)) => seen.push(license.id.unwrap()),
            Ok(None) => panic!("the stream must not end without a word"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen, ["1", "2"], "the page's items are delivered");
    assert!(matches!(error, Error::Pagination { .. }), "{error}");
    assert!(error.to_string().contains("does not parse"), "{error}");
}

#[tokio::test]
async fn a_relative_link_target_resolves_against_the_page() {
    let server = MockServer::start().await;
    Mock::given(path(LICENSES))
        .and(wiremock::matchers::query_param("startingAfter", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(licenses(&["3"])))
        .mount(&server)
        .await;
    Mock::given(path(LICENSES))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(licenses(&["1", "2"]))
                .insert_header(
                    "link",
                    format!("<{LICENSES}?startingAfter=2>; rel=next").as_str(),
                ),
        )
        .mount(&server)
        .await;
    let client = client_for(&server.uri(), fast_retries(1));
    let ids: Vec<String> = client
        .get_organization_licenses()
        .organization_id(ORG)
        .into_paginator()
        .items()
        .map_ok(|l| l.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(ids, ["1", "2", "3"]);
}
