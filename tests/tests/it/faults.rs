//! What users get when the network breaks answers: every item once, every write once, and an
//! honest error when the client cannot know. Against a local server behind
//! `test_util::FaultyProxy`, which closes connections, cuts bodies after the headers, answers
//! 502 as a gateway would, or holds answers back past the client's timeout.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use meraki_api::prelude::*;
use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy, SimulatedDashboard, FIXTURE_API_KEY};
use meraki_api::{Error, RetryPolicy};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const ORG: &str = "549236";

/// Quick retries: the tests are about what is delivered, not how long it takes.
fn patient() -> RetryPolicy {
    RetryPolicy::default()
        .max_attempts(8)
        .initial_backoff(Duration::from_millis(5))
        .max_backoff(Duration::from_millis(50))
}

async fn behind_proxy(
    dashboard: &SimulatedDashboard,
    plan: FaultPlan,
) -> (FaultyProxy, meraki_api::Client) {
    let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
        .await
        .unwrap();
    let client = dashboard
        .client_builder()
        .base_url(proxy.base_url())
        .retry(patient())
        .build()
        .unwrap();
    (proxy, client)
}

/// A client for a local `base` (a proxy's or a server's), with quick retries.
fn client_for(base: &str) -> meraki_api::ClientBuilder {
    meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(base)
        .retry(patient())
}

fn each_fault_at(p: f64) -> Vec<(Fault, f64)> {
    vec![
        (Fault::Refused, p),
        (Fault::LostAnswer, p),
        (Fault::CutBody, p),
        (Fault::BadGateway, p),
    ]
}

#[tokio::test]
async fn a_stream_of_20_pages_under_every_fault_delivers_every_item_once() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 2000, 0)
        .per_org_limit(1000.0, 1000.0)
        .global_limit(1000.0)
        .start()
        .await;
    for seed in [1, 2, 3] {
        let (proxy, client) =
            behind_proxy(&dashboard, FaultPlan::random(seed, &each_fault_at(0.05))).await;
        let networks: Vec<_> = client
            .get_organization_networks()
            .organization_id(ORG)
            .per_page(100)
            .into_paginator()
            .items()
            .try_collect()
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let ids: Vec<String> = networks.iter().filter_map(|n| n.id.clone()).collect();
        assert_eq!(
            ids,
            dashboard.networks(ORG),
            "seed {seed}: every item, once, in order"
        );
        assert_eq!(ids.iter().collect::<HashSet<_>>().len(), 2000);
        let counts = proxy.counts();
        assert!(counts.faults >= 1, "seed {seed}: {counts:?}");
        assert_eq!(
            counts.delivered, 20,
            "seed {seed}: each page delivered once: {counts:?}"
        );
    }
}

#[tokio::test]
async fn a_stopped_stream_says_where_and_resumes_there() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 50, 0)
        .start()
        .await;
    // Pages 1 and 2 arrive; page 3's answer is cut on both attempts, not after.
    let plan = FaultPlan::none().on("GET", "startingAfter=19", 1..=2, Fault::CutBody);
    let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
        .await
        .unwrap();
    let client = dashboard
        .client_builder()
        .base_url(proxy.base_url())
        .retry(patient().max_attempts(2))
        .build()
        .unwrap();
    let paginator = client
        .get_organization_networks()
        .organization_id(ORG)
        .per_page(10)
        .into_paginator();
    let mut items = paginator.clone().items();
    let mut seen = Vec::new();
    let error = loop {
        match items.try_next().await {
            Ok(Some(network)) => seen.push(network.id.unwrap()),
            Ok(None) => panic!("the stream should stop at page 3"),
            Err(e) => break e,
        }
    };
    assert_eq!(seen.len(), 20);
    let stopped = error.stream_stopped().expect("a stopped stream");
    assert_eq!(stopped.pages_delivered, 2);
    assert!(matches!(stopped.error, Error::Transport(_)), "{error}");
    assert!(error.is_retryable());
    let resume = stopped.resume.clone().expect("a cursor to resume from");
    assert_eq!(resume.parameter, "startingAfter");
    assert!(
        error.to_string().contains("resume with startingAfter="),
        "{error}"
    );
    let rest: Vec<String> = paginator
        .resume_from(&resume)
        .items()
        .map_ok(|n| n.id.unwrap())
        .try_collect()
        .await
        .unwrap();
    seen.extend(rest);
    assert_eq!(
        seen,
        dashboard.networks(ORG),
        "every item once, across the resume"
    );
}

/// A server answering `GET /thing` and `DELETE /thing` behind a proxy with `plan`.
async fn thing_server(plan: FaultPlan) -> (MockServer, FaultyProxy, meraki_api::Client) {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v1/organizations/549236"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": ORG, "name": "Acme"})),
        )
        .mount(&server)
        .await;
    let proxy = FaultyProxy::start(&format!("{}/api/v1", server.uri()), plan)
        .await
        .unwrap();
    let client = client_for(&proxy.base_url()).build().unwrap();
    (server, proxy, client)
}

#[tokio::test]
async fn each_fault_alone_costs_one_attempt_of_a_read() {
    for fault in [
        Fault::Refused,
        Fault::LostAnswer,
        Fault::CutBody,
        Fault::BadGateway,
    ] {
        let (_server, proxy, client) =
            thing_server(FaultPlan::none().on("*", "", 1..=1, fault)).await;
        let answer = client
            .get_organization()
            .organization_id(ORG)
            .call_with_response()
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(answer.value().name.as_deref(), Some("Acme"), "{fault:?}");
        assert_eq!(answer.attempts(), 2, "{fault:?}");
        assert_eq!(proxy.counts().delivered, 1, "{fault:?}");
        assert_eq!(client.stats().retries, 1, "{fault:?}");
    }
}

#[tokio::test]
async fn an_answer_slower_than_the_timeout_is_a_failed_attempt_too() {
    let plan = FaultPlan::none().on("*", "", 1..=1, Fault::Stall(Duration::from_secs(5)));
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": ORG})))
        .mount(&server)
        .await;
    let proxy = FaultyProxy::start(&format!("{}/api/v1", server.uri()), plan)
        .await
        .unwrap();
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(proxy.base_url())
        .timeout(Duration::from_secs(1))
        .retry(patient())
        .build()
        .unwrap();
    let answer = client
        .get_organization()
        .organization_id(ORG)
        .call_with_response()
        .await
        .unwrap();
    assert!(answer.attempts() >= 2);
}

#[tokio::test]
async fn writes_that_may_have_reached_the_server_are_not_sent_again() {
    for fault in [Fault::LostAnswer, Fault::CutBody, Fault::BadGateway] {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .respond_with(
                ResponseTemplate::new(201).set_body_json(serde_json::json!({"id": "N_1"})),
            )
            .mount(&server)
            .await;
        let proxy = FaultyProxy::start(
            &format!("{}/api/v1", server.uri()),
            FaultPlan::none().on("*", "", 1..=1, fault),
        )
        .await
        .unwrap();
        let client = client_for(&proxy.base_url()).build().unwrap();
        let err = client
            .raw(reqwest::Method::POST, "/organizations/549236/networks")
            .json(&serde_json::json!({"name": "HQ", "productTypes": ["switch"]}))
            .call()
            .await
            .unwrap_err();
        let received = server.received_requests().await.unwrap().len();
        assert_eq!(received, 1, "{fault:?}: sent once ({err})");
        assert_eq!(client.stats().retries, 0, "{fault:?}");
        // Nor does the error invite the caller to send it again: it may have been applied.
        assert!(!err.is_retryable(), "{fault:?}: {err}");
        assert!(err.outcome_unknown(), "{fault:?}: {err}");
    }
    // The same faults on a read: sent again, and retryable when they outlast the retries.
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": ORG})))
        .mount(&server)
        .await;
    let proxy = FaultyProxy::start(
        &format!("{}/api/v1", server.uri()),
        FaultPlan::none().on("*", "", 1.., Fault::BadGateway),
    )
    .await
    .unwrap();
    let client = client_for(&proxy.base_url())
        .retry(patient().max_attempts(2))
        .build()
        .unwrap();
    let err = client
        .get_organization()
        .organization_id(ORG)
        .call()
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
    assert!(err.is_retryable() && err.outcome_unknown(), "{err}");
}

#[tokio::test]
async fn a_501_is_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(501))
        .mount(&server)
        .await;
    let client = client_for(&format!("{}/api/v1", server.uri()))
        .build()
        .unwrap();
    let err = client
        .get_organization()
        .organization_id(ORG)
        .call()
        .await
        .unwrap_err();
    assert_eq!(server.received_requests().await.unwrap().len(), 1, "{err}");
    assert!(!err.is_retryable(), "{err}");
}

#[tokio::test]
async fn a_delete_retried_after_a_lost_answer_that_meets_404_says_so() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(ResponseTemplate::new(204))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .respond_with(
            ResponseTemplate::new(404).set_body_json(serde_json::json!({"errors": ["Not found"]})),
        )
        .mount(&server)
        .await;
    let proxy = FaultyProxy::start(
        &format!("{}/api/v1", server.uri()),
        FaultPlan::none().on("*", "", 1..=1, Fault::LostAnswer),
    )
    .await
    .unwrap();
    let client = client_for(&proxy.base_url())
        // The proxy's one fault is for the DELETE, not for a lookup of its organization.
        .organization_lookups(false)
        .build()
        .unwrap();
    let err = client
        .delete_network()
        .network_id("N_1")
        .call()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::GoneAfterLostAnswer(_)), "{err:?}");
    assert_eq!(err.status().map(|s| s.as_u16()), Some(404));
    assert!(err.to_string().contains("most likely deleted"), "{err}");

    // Without a lost answer, a 404 is a plain not-found.
    let direct = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .organization_lookups(false)
        .build()
        .unwrap();
    let err = direct
        .delete_network()
        .network_id("N_1")
        .call()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Api(_)), "{err:?}");
}

#[tokio::test]
async fn tls_failures_are_not_retried() {
    // A plain-HTTP server where the client expects TLS: the handshake fails.
    let server = MockServer::start().await;
    let base = format!("{}/api/v1", server.uri()).replace("http://", "https://");
    let client = meraki_api::Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(base)
        .retry(RetryPolicy::default().initial_backoff(Duration::from_secs(5)))
        .build()
        .unwrap();
    let err = client
        .get_organization()
        .organization_id(ORG)
        .call()
        .await
        .unwrap_err();
    let Error::Transport(transport) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(transport.attempts, 1, "{err}");
    assert!(err.to_string().contains("TLS"), "{err}");
    assert!(!err.is_retryable());
    assert_eq!(client.stats().retries, 0);
}

#[tokio::test]
async fn a_retry_after_is_waited_up_to_max_backoff_and_beyond_it_ends_the_call() {
    let server = MockServer::start().await;
    let throttle_once = || {
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(429)
                    .insert_header("retry-after", "1")
                    .set_body_json(
                        serde_json::json!({"errors": ["API rate limit exceeded for organization"]}),
                    ),
            )
            .up_to_n_times(1)
    };
    let answer = || {
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"id": ORG})))
    };
    throttle_once().mount(&server).await;
    answer().mount(&server).await;
    let builder = || {
        meraki_api::Client::builder()
            .api_key(FIXTURE_API_KEY)
            .base_url(format!("{}/api/v1", server.uri()))
    };
    // Within max_backoff (60 s by default): waited as the API asked, then sent again.
    let client = builder().build().unwrap();
    let started = Instant::now();
    client
        .get_organization()
        .organization_id(ORG)
        .call()
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited as the API asked"
    );

    // Beyond max_backoff: the call ends at once with the API's answer, naming the wait.
    server.reset().await;
    throttle_once().mount(&server).await;
    answer().mount(&server).await;
    let client = builder()
        .retry(RetryPolicy::default().max_backoff(Duration::from_millis(10)))
        .build()
        .unwrap();
    let err = client
        .get_organization()
        .organization_id(ORG)
        .call()
        .await
        .unwrap_err();
    let Error::RateLimited(limited) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limited.retry_after, Some(Duration::from_secs(1)));
    assert_eq!(limited.attempts, 1);
    assert!(err.to_string().contains("asked to wait 1s"), "{err}");

    // Past the deadline: the same.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "30"))
        .mount(&server)
        .await;
    let client = builder()
        .retry(RetryPolicy::default().deadline(Some(Duration::from_secs(5))))
        .build()
        .unwrap();
    let err = client
        .get_organization()
        .organization_id(ORG)
        .call()
        .await
        .unwrap_err();
    let Error::RateLimited(limited) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(limited.retry_after, Some(Duration::from_secs(30)));
    assert_eq!(limited.attempts, 1, "past the deadline: reported at once");
    assert!(err.to_string().contains("asked to wait 30s"), "{err}");
}
