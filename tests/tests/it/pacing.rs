//! Every request paced by the organization it counts against, against a simulated Dashboard
//! that owns networks and devices per organization and enforces 10 requests/s per
//! organization (burst 10) and 100/s overall, answering 429 past them as the API does.

use std::time::{Duration, Instant};

use futures_util::future::join_all;
use meraki_api::directory::DirectorySnapshot;
use meraki_api::prelude::*;
use meraki_api::test_util::SimulatedDashboard;
use meraki_api::Error;

const ORG: &str = "549236";

async fn network_devices(client: &Client, network: &str) -> Result<(), Error> {
    client
        .get_network_devices()
        .network_id(network)
        .call()
        .await
        .map(drop)
}

async fn device_clients(client: &Client, serial: &str) -> Result<(), Error> {
    client
        .get_device_clients()
        .serial(serial)
        .call()
        .await
        .map(drop)
}

/// Calls `call` for `ids[i % ids.len()]`, `calls` times at once; returns failures and the
/// time taken.
async fn concurrently<'a, F, Fut>(calls: usize, ids: &'a [String], call: F) -> (usize, Duration)
where
    F: Fn(&'a str) -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let started = Instant::now();
    let results = join_all((0..calls).map(|i| call(&ids[i % ids.len()]))).await;
    let failures = results.iter().filter(|r| r.is_err()).count();
    (failures, started.elapsed())
}

#[tokio::test]
async fn network_calls_are_paced_by_their_organization_after_one_lookup() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 20, 0)
        .start()
        .await;
    let client = dashboard.client();
    let networks = dashboard.networks(ORG);
    let (failures, elapsed) = concurrently(40, &networks, |n| network_devices(&client, n)).await;
    let counts = dashboard.counts();
    assert_eq!(failures, 0);
    // One lookup found the organization, one listing taught all 20 networks.
    assert_eq!((counts.lookups, counts.listings), (1, 1), "{counts:?}");
    assert_eq!(client.stats().lookups, 2);
    assert!(counts.throttled <= 1, "{counts:?}");
    // 42 requests at 10/s after a burst of 10: paced, not sent at once.
    assert!(elapsed >= Duration::from_millis(2_800), "{elapsed:?}");
    assert_eq!(
        client
            .directory()
            .network_organization(&networks[19])
            .as_deref(),
        Some(ORG)
    );
}

#[tokio::test]
async fn device_calls_are_paced_by_their_organization() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 3, 5)
        .start()
        .await;
    let client = dashboard.client();
    let devices = dashboard.devices(ORG);
    let (failures, elapsed) = concurrently(30, &devices, |s| device_clients(&client, s)).await;
    let counts = dashboard.counts();
    assert_eq!(failures, 0);
    // The device, then its network; then the organization's networks and devices.
    assert_eq!((counts.lookups, counts.listings), (2, 2), "{counts:?}");
    assert!(counts.throttled <= 1, "{counts:?}");
    assert!(elapsed >= Duration::from_millis(2_000), "{elapsed:?}");
    assert_eq!(
        client
            .directory()
            .device_organization(&devices[14])
            .as_deref(),
        Some(ORG)
    );
}

#[tokio::test]
async fn concurrent_callers_share_one_lookup() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 2, 0)
        .start()
        .await;
    let client = dashboard
        .client_builder()
        .list_looked_up_organizations(false, 1)
        .build()
        .unwrap();
    let one = vec![dashboard.networks(ORG)[0].clone()];
    let (failures, _) = concurrently(15, &one, |n| network_devices(&client, n)).await;
    assert_eq!(failures, 0);
    assert_eq!(dashboard.counts().lookups, 1);
    assert_eq!(dashboard.counts().listings, 0);
}

#[tokio::test]
async fn listings_teach_the_directory_as_they_pass() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 12, 1)
        .start()
        .await;
    let client = dashboard.client();
    // The caller's own listing, through a generated operation.
    client
        .get_organization_networks()
        .organization_id(ORG)
        .call()
        .await
        .unwrap();
    client
        .get_organization_devices()
        .organization_id(ORG)
        .call()
        .await
        .unwrap();
    let networks = dashboard.networks(ORG);
    let devices = dashboard.devices(ORG);
    for (network, serial) in networks.iter().zip(&devices) {
        network_devices(&client, network).await.unwrap();
        device_clients(&client, serial).await.unwrap();
    }
    assert_eq!(dashboard.counts().lookups, 0);
    assert_eq!(client.stats().lookups, 0);
    // Client and server both at exactly 10/s: arrival jitter may cost one 429.
    assert!(dashboard.counts().throttled <= 1);
}

#[tokio::test]
async fn a_saved_directory_needs_no_lookups() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 5, 2)
        .organization("2", 5, 0)
        .start()
        .await;
    let first = dashboard.client();
    first.learn_organization(ORG).await.unwrap();
    first
        .directory()
        .register_networks("2", dashboard.networks("2"));
    let saved = serde_json::to_string(&first.directory().snapshot()).unwrap();

    let restored: DirectorySnapshot = serde_json::from_str(&saved).unwrap();
    let second = dashboard
        .client_builder()
        .directory(restored)
        .build()
        .unwrap();
    let before = dashboard.counts();
    for network in dashboard
        .networks(ORG)
        .iter()
        .chain(&dashboard.networks("2"))
    {
        network_devices(&second, network).await.unwrap();
    }
    for serial in dashboard.devices(ORG) {
        device_clients(&second, &serial).await.unwrap();
    }
    let after = dashboard.counts();
    assert_eq!(after.lookups, before.lookups);
    assert_eq!(after.listings, before.listings);
    assert_eq!(second.stats().lookups, 0);
}

#[tokio::test]
async fn without_lookups_unknown_networks_share_the_conservative_bucket() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 4, 0)
        .start()
        .await;
    let client = dashboard
        .client_builder()
        .organization_lookups(false)
        .build()
        .unwrap();
    let networks = dashboard.networks(ORG);
    let (failures, elapsed) = concurrently(15, &networks, |n| network_devices(&client, n)).await;
    assert_eq!(failures, 0);
    assert_eq!(dashboard.counts().lookups, 0);
    // Never unpaced: 5 at once, then 5/s.
    assert!(elapsed >= Duration::from_millis(1_800), "{elapsed:?}");
    assert_eq!(dashboard.counts().throttled, 0);
}

#[tokio::test]
async fn a_failed_lookup_is_not_repeated_for_every_request() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 1, 0)
        .start()
        .await;
    let client = dashboard.client();
    for _ in 0..3 {
        let err = network_devices(&client, "N_unknown").await.unwrap_err();
        assert_eq!(err.status().map(|s| s.as_u16()), Some(404), "{err}");
    }
    // One lookup (404), then the three calls themselves.
    assert_eq!(client.stats().lookups, 1);
    assert_eq!(client.stats().requests, 4);
}

#[tokio::test]
async fn organizations_are_paced_apart() {
    let dashboard = SimulatedDashboard::builder()
        .organization("1", 4, 2)
        .organization("2", 4, 2)
        .organization("3", 4, 2)
        .start()
        .await;
    let client = dashboard.client();
    let started = Instant::now();
    let work = ["1", "2", "3"].map(|org| {
        let networks = dashboard.networks(org);
        let devices = dashboard.devices(org);
        let client = &client;
        async move {
            let (networks, devices) = (&networks, &devices);
            let mut results = Vec::new();
            let calls = (0..12).map(|i| async move {
                if i % 2 == 0 {
                    network_devices(client, &networks[i % networks.len()]).await
                } else {
                    device_clients(client, &devices[i % devices.len()]).await
                }
            });
            results.extend(join_all(calls).await);
            let org_calls = client
                .get_organization_networks()
                .organization_id(org)
                .call()
                .await
                .map(drop);
            results.push(org_calls);
            results
        }
    });
    let results: Vec<_> = join_all(work).await.into_iter().flatten().collect();
    let elapsed = started.elapsed();
    assert!(results.iter().all(Result::is_ok));
    let counts = dashboard.counts();
    assert!(counts.throttled <= 3, "{counts:?}");
    // Three organizations side by side, each within its own 10/s: about as long as one.
    assert!(elapsed < Duration::from_secs(4), "{elapsed:?}");
}

#[tokio::test]
async fn learning_an_organization_follows_its_listing_pages() {
    // 2,500 networks: three pages of 1,000, linked by `Link: rel=next`.
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 2_500, 0)
        .start()
        .await;
    let client = dashboard.client();
    client.learn_organization(ORG).await.unwrap();
    assert_eq!(
        dashboard.counts().listings,
        4,
        "3 pages of networks, 1 of devices"
    );
    assert_eq!(
        client
            .directory()
            .network_organization(&format!("N_{ORG}_2499"))
            .as_deref(),
        Some(ORG)
    );
    assert_eq!(client.directory().len(), 2_500);
}

#[tokio::test]
async fn a_listing_that_failed_is_made_again_by_a_later_lookup() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    for network in ["N_1", "N_2"] {
        Mock::given(method("GET"))
            .and(path(format!("/api/v1/networks/{network}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(serde_json::json!({"id": network, "organizationId": ORG})),
            )
            .mount(&server)
            .await;
    }
    let listing = format!("/api/v1/organizations/{ORG}/networks");
    // The first listing fails; the next one answers.
    Mock::given(method("GET"))
        .and(path(listing.as_str()))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(listing.as_str()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!([{"id": "N_3", "organizationId": ORG}])),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!([])))
        .mount(&server)
        .await;
    let client = meraki_api::Client::builder()
        .api_key(meraki_api::test_util::FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .retry(meraki_api::RetryPolicy::never())
        .build()
        .unwrap();
    network_devices(&client, "N_1").await.unwrap();
    assert_eq!(client.directory().network_organization("N_3"), None);
    network_devices(&client, "N_2").await.unwrap();
    // The listing runs beside the call: wait for it to teach the directory.
    for _ in 0..100 {
        if client.directory().network_organization("N_3").is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let listings = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == listing)
        .count();
    assert_eq!(listings, 2, "the failed listing was made again");
    assert_eq!(
        client.directory().network_organization("N_3").as_deref(),
        Some(ORG)
    );
}

#[tokio::test]
async fn lookups_of_different_organizations_run_side_by_side_when_asked() {
    // Eight organizations of one network each, over a link with latency.
    let latency = Duration::from_millis(300);
    let start = |at_once: usize| async move {
        let mut builder = SimulatedDashboard::builder().latency(latency);
        for org in 0..8 {
            builder = builder.organization(&format!("{}", 100 + org), 1, 0);
        }
        let dashboard = builder.start().await;
        let client = dashboard
            .client_builder()
            .lookups_at_once(at_once)
            .build()
            .unwrap();
        let networks: Vec<String> = (0..8)
            .flat_map(|org| dashboard.networks(&format!("{}", 100 + org)))
            .collect();
        let (failures, _) = concurrently(8, &networks, |n| network_devices(&client, n)).await;
        assert_eq!(failures, 0);
        dashboard.counts()
    };
    // One at a time (the default): the next lookup leaves after the one before has answered.
    let one = start(1).await;
    assert_eq!(one.lookups, 8);
    assert_eq!(one.most_lookups_in_flight, 1);
    // Eight at once: all eight are in flight together, each still made once.
    let eight = start(8).await;
    assert_eq!(eight.lookups, 8);
    assert!(eight.most_lookups_in_flight > 1, "{eight:?}");
    assert_eq!(eight.throttled, 0);
    assert!(matches!(
        SimulatedDashboard::builder().start().await.client_builder().lookups_at_once(0).build(),
        Err(Error::Config(e)) if e.setting == "lookups_at_once"
    ));
}

/// An organization of 4,500 networks: five pages of listing, over a link with latency.
async fn big_organization(latency: Duration) -> SimulatedDashboard {
    SimulatedDashboard::builder()
        .organization(ORG, 4_500, 0)
        .latency(latency)
        .start()
        .await
}

#[tokio::test]
async fn the_first_call_for_an_unknown_network_goes_ahead_while_its_organization_is_listed() {
    let dashboard = big_organization(Duration::from_millis(300)).await;
    let client = dashboard.client();
    let network = format!("N_{ORG}_4499");
    network_devices(&client, &network).await.unwrap();
    // The call needed its lookup and itself; the listing (five pages, one after another)
    // was still going on when it came back.
    let at_return = dashboard.counts();
    assert_eq!(at_return.lookups, 1);
    assert!(at_return.listings < 5, "{at_return:?}");
    // The listing carries on without the caller and teaches every network.
    for _ in 0..100 {
        if client.directory().len() == 4_500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(client.directory().len(), 4_500);
    assert_eq!(dashboard.counts().listings, 5);
    // Other networks of the organization need no lookup.
    network_devices(&client, &format!("N_{ORG}_7"))
        .await
        .unwrap();
    assert_eq!(dashboard.counts().lookups, 1);
}

#[tokio::test]
async fn a_cancelled_caller_neither_cancels_nor_restarts_the_listing() {
    let dashboard = big_organization(Duration::from_millis(300)).await;
    let client = dashboard.client();
    // Dropped once its organization is being listed, while its own request is on the way.
    let network = format!("N_{ORG}_1");
    let mut call = Box::pin(network_devices(&client, &network));
    while dashboard.counts().listings == 0 {
        tokio::select! {
            _ = &mut call => panic!("the call came back before the listing began"),
            () = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
    drop(call);
    for _ in 0..100 {
        if dashboard.counts().listings == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    network_devices(&client, &format!("N_{ORG}_2"))
        .await
        .unwrap();
    let counts = dashboard.counts();
    assert_eq!((counts.lookups, counts.listings), (1, 5), "{counts:?}");
}

#[tokio::test]
async fn a_listing_that_stopped_resumes_from_the_page_it_reached() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let dashboard = big_organization(Duration::ZERO).await;
    // The third page's first answer is cut (and the client does not retry).
    let plan = FaultPlan::none().on("GET", "startingAfter=1999", 1..=1, Fault::CutBody);
    let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
        .await
        .unwrap();
    let client = dashboard
        .client_builder()
        .base_url(proxy.base_url())
        .retry(meraki_api::RetryPolicy::never())
        .build()
        .unwrap();
    network_devices(&client, &format!("N_{ORG}_0"))
        .await
        .unwrap();
    for _ in 0..100 {
        if dashboard.counts().listings == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        client.directory().len(),
        2_000,
        "pages 1 and 2 were learned"
    );
    // A network of a later page: one more lookup, and the listing goes on from page 3.
    network_devices(&client, &format!("N_{ORG}_4000"))
        .await
        .unwrap();
    for _ in 0..100 {
        if client.directory().len() == 4_500 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let counts = dashboard.counts();
    assert_eq!(client.directory().len(), 4_500);
    // Pages 1, 2, 3 (cut), then 3, 4, 5: never page 1 again.
    assert_eq!((counts.lookups, counts.listings), (2, 6), "{counts:?}");
}

#[tokio::test]
async fn uneven_load_keeps_every_organizations_pace() {
    // One organization with 80 calls and 19 with 10, all at once: the API's limits (10/s each,
    // 100/s overall) against a pacer that must not release the busy organization's requests
    // faster than its rate when the overall bucket frees up.
    let mut builder = SimulatedDashboard::builder();
    for org in 0..20 {
        builder = builder.organization(&format!("{}", 100 + org), 4, 0);
    }
    let dashboard = builder.start().await;
    let client = dashboard.client();
    let mut calls = Vec::new();
    for org in 0..20 {
        let networks = dashboard.networks(&format!("{}", 100 + org));
        let count = if org == 0 { 80 } else { 10 };
        calls.extend((0..count).map(|i| networks[i % networks.len()].clone()));
    }
    let results = join_all(calls.iter().map(|n| network_devices(&client, n))).await;
    assert!(results.iter().all(Result::is_ok));
    let counts = dashboard.counts();
    let requests = client.stats().requests;
    assert!(
        counts.throttled * 100 <= requests,
        "{} of {requests} requests answered 429: {counts:?}",
        counts.throttled
    );
}
