//! The pacer's behaviour on tokio's paused clock: rates, order, adaptation, and the gate
//! under uneven load.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::gate::lock;
use super::*;

fn unresolved_rate(pacer: &Pacer) -> f64 {
    pacer
        .unresolved
        .limit
        .as_ref()
        .map_or(0.0, |l| lock(l).rate.current())
}

async fn acquire_org(pacer: &Pacer, org: &str) {
    pacer.acquire(&pacer.organization(org)).await;
}

#[tokio::test(start_paused = true)]
async fn paces_an_organization_after_its_burst() {
    let pacer = Pacer::new(RateLimitConfig::default());
    let start = Instant::now();
    for _ in 0..30 {
        acquire_org(&pacer, "1").await;
    }
    // 10 at once, then 20 more at 10/s.
    let elapsed = start.elapsed().as_secs_f64();
    assert!((1.9..2.1).contains(&elapsed), "{elapsed}");
    // Another organization has its own budget.
    let other = Instant::now();
    acquire_org(&pacer, "2").await;
    assert!(other.elapsed() < Duration::from_millis(1));
}

#[tokio::test(start_paused = true)]
async fn adapts_to_429s_within_bounds() {
    let pacer = Pacer::new(RateLimitConfig::default());
    let org = pacer.organization("1");
    pacer.throttled(&org, b"");
    assert!((pacer.rate("1") - 7.0).abs() < 1e-9);
    // The 429s of requests already in flight lower it no further.
    for _ in 0..10 {
        pacer.throttled(&org, b"");
    }
    assert!((pacer.rate("1") - 7.0).abs() < 1e-9);
    for _ in 0..100 {
        tokio::time::advance(Duration::from_secs(1)).await;
        pacer.throttled(&org, b"");
    }
    assert_eq!(pacer.rate("1"), 0.5);
    for _ in 0..100 {
        pacer.succeeded(&org);
    }
    assert_eq!(pacer.rate("1"), 10.0);
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_the_order_they_came() {
    let pacer = Arc::new(Pacer::new(
        RateLimitConfig::default().per_organization(10.0, 1.0),
    ));
    acquire_org(&pacer, "1").await;
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..20 {
        let (pacer, order) = (pacer.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            acquire_org(&pacer, "1").await;
            lock(&order).push(i);
        }));
        // Each waiter queues before the next one arrives.
        tokio::task::yield_now().await;
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(*lock(&order), (0..20).collect::<Vec<_>>());
}

#[tokio::test(start_paused = true)]
async fn a_lookups_429_slows_the_organization_it_finds_not_the_global_bucket() {
    let pacer = Pacer::new(RateLimitConfig::default());
    pacer.throttled(&pacer.lookup(), b"");
    assert_eq!(pacer.gate.current_rate(), 100.0);
    // A 429 for the address slows the global bucket, whoever paced the request.
    pacer.throttled(
        &pacer.organization("9"),
        br#"{"errors": ["API rate limit exceeded for this IP"]}"#,
    );
    assert!((pacer.gate.current_rate() - 70.0).abs() < 1e-9);
    assert_eq!(pacer.rate("9"), 10.0);
    pacer.throttled_org("7");
    assert!((pacer.rate("7") - 7.0).abs() < 1e-9);
    assert_eq!(pacer.rate("8"), 10.0);
}

#[tokio::test(start_paused = true)]
async fn a_429_slows_only_the_bucket_that_paced_the_request() {
    let pacer = Pacer::new(RateLimitConfig::default());
    pacer.throttled(&pacer.unresolved(), b"");
    assert_eq!(pacer.rate("1"), 10.0);
    assert!((unresolved_rate(&pacer) - 3.5).abs() < 1e-9);
    assert_eq!(pacer.gate.current_rate(), 100.0);
    // Unresolved requests share one conservative bucket: 5 at once, then 3.5/s.
    let start = Instant::now();
    for _ in 0..12 {
        pacer.acquire(&pacer.unresolved()).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert!((3.3..3.5).contains(&elapsed), "{elapsed}");
}

#[tokio::test(start_paused = true)]
async fn charged_lookups_delay_the_organizations_next_requests() {
    let pacer = Pacer::new(RateLimitConfig::default());
    for _ in 0..3 {
        pacer.charge("1");
    }
    let start = Instant::now();
    for _ in 0..10 {
        acquire_org(&pacer, "1").await;
    }
    // 7 tokens were left of the burst of 10; the other 3 take 0.3 s.
    let elapsed = start.elapsed().as_secs_f64();
    assert!((0.29..0.32).contains(&elapsed), "{elapsed}");
}

#[tokio::test(start_paused = true)]
async fn many_concurrent_waiters_share_the_rate() {
    let pacer = Arc::new(Pacer::new(RateLimitConfig::default()));
    let start = Instant::now();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let pacer = pacer.clone();
            tokio::spawn(async move { acquire_org(&pacer, "1").await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert!((3.9..4.2).contains(&elapsed), "{elapsed}");
}

/// One organization with 400 requests and 19 with 50, all at once, against a server with the
/// API's limits (10/s and a burst of 10 per organization, 100/s overall): no request arrives
/// when the server would refuse it, and the job ends when the busiest organization's pace
/// allows.
#[tokio::test(start_paused = true)]
async fn uneven_load_keeps_every_organizations_pace() {
    let pacer = Arc::new(Pacer::new(RateLimitConfig::default()));
    let start = Instant::now();
    let server = Arc::new(Mutex::new(Server {
        orgs: (0..20)
            .map(|_| TokenBucket::new(10.0, 10.0, start))
            .collect(),
        global: TokenBucket::new(100.0, 100.0, start),
        refused: 0,
    }));
    let mut tasks = Vec::new();
    for org in 0..20usize {
        let calls = if org == 0 { 400 } else { 50 };
        for _ in 0..calls {
            let (pacer, server) = (pacer.clone(), server.clone());
            tasks.push(tokio::spawn(async move {
                pacer.acquire(&pacer.organization(&org.to_string())).await;
                lock(&server).arrive(org);
            }));
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    let refused = lock(&server).refused;
    assert_eq!(refused, 0, "requests the server would answer 429");
    // The busiest organization's floor: 10 at once, then 390 at 10/s.
    let floor = 39.0;
    let wall = start.elapsed().as_secs_f64();
    assert!(wall <= floor * 1.05, "{wall} s for a floor of {floor} s");
}

struct Server {
    orgs: Vec<TokenBucket>,
    global: TokenBucket,
    refused: u64,
}

impl Server {
    fn arrive(&mut self, org: usize) {
        let now = Instant::now();
        let admitted = self.global.try_take(now).is_ok() && self.orgs[org].try_take(now).is_ok();
        if !admitted {
            self.refused += 1;
        }
    }
}
