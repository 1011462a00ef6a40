//! The shared budget on Redis, against a real `redis-server` the test starts on a free
//! loopback port (CI installs it; the test is behind the `redis` feature).

use std::time::Duration;

use futures_util::future::join_all;
use meraki_api::prelude::*;
use meraki_api::test_util::SimulatedDashboard;
use meraki_api::RateLimitConfig;

#[path = "support/redis_server.rs"]
mod redis_server;
use redis_server::RedisServer;

async fn calls(client: &meraki_api::Client, count: usize) -> usize {
    let results = join_all((0..count).map(|_| {
        client
            .get_organization_networks()
            .organization_id("1")
            .call()
    }))
    .await;
    results.iter().filter(|r| r.is_err()).count()
}

#[tokio::test]
async fn two_processes_share_one_organizations_budget() {
    let redis = RedisServer::start();
    let dashboard = SimulatedDashboard::builder()
        .organization("1", 1, 0)
        .start()
        .await;
    let shared = RateLimitConfig::default().redis(format!("redis://127.0.0.1:{}/", redis.port));
    // Two clients with their own state stand for two processes.
    let a = dashboard
        .client_builder()
        .rate_limit(shared.clone())
        .build()
        .unwrap();
    let b = dashboard
        .client_builder()
        .rate_limit(shared)
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let (fa, fb) = tokio::join!(calls(&a, 20), calls(&b, 20));
    assert_eq!((fa, fb), (0, 0));
    let counts = dashboard.counts();
    // One budget of 10/s, burst 10, for both: 40 requests take about 3 s and draw (almost)
    // no 429s. Alone, each would have sent its burst of 10 at once, 20 together.
    assert!(counts.throttled <= 2, "{counts:?}");
    assert!(started.elapsed() >= Duration::from_millis(2_500));
}

#[tokio::test]
async fn without_redis_every_call_is_still_paced_and_none_fails() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dashboard = SimulatedDashboard::builder()
        .organization("1", 1, 0)
        .start()
        .await;
    let client = dashboard
        .client_builder()
        .rate_limit(RateLimitConfig::default().redis(format!("redis://127.0.0.1:{closed}/")))
        .build()
        .unwrap();
    assert_eq!(calls(&client, 12).await, 0);
    // A quarter of 10/s after the burst: paced, not sent at once.
    assert_eq!(dashboard.counts().throttled, 0);
}

#[test]
fn a_bad_redis_url_is_a_configuration_error_without_its_password() {
    let err = meraki_api::Client::builder()
        .api_key(meraki_api::test_util::FIXTURE_API_KEY)
        .rate_limit(RateLimitConfig::default().redis("nope://user:s3cret@host"))
        .build()
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("rate_limit.redis") && !shown.contains("s3cret"),
        "{shown}"
    );
}
