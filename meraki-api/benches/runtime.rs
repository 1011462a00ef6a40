//! Rate-limit and streaming benchmarks against a local server (127.0.0.1 only).
//!
//! ```text
//! cargo bench -p meraki-api --bench runtime            # all three scenarios (about a minute)
//! cargo bench -p meraki-api --bench runtime -- stream  # one scenario: throttle10, throttle5, stream
//! cargo bench -p meraki-api --bench runtime -- stream decode transport  # streaming and its floors
//! cargo bench -p meraki-api --bench runtime -- networks devices orgs batches  # bulk work (4-7)
//! cargo bench -p meraki-api --bench runtime -- faults lost  # under network faults (8, 9)
//! cargo bench -p meraki-api --bench runtime -- fleet        # many queued calls (10)
//! cargo bench -p meraki-api --bench runtime -- uneven       # one busy organization (10b)
//! cargo bench -p meraki-api --bench runtime --features redis -- budget  # shared budget (11)
//! ```
//!
//! The server enforces an organization rate limit with a token bucket (burst = rate) and
//! answers `429` with `Retry-After: 1` when it is exceeded, as the Dashboard API does. Results
//! are recorded in BENCHMARKS.md.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use meraki_api::pacing::TokenBucket;
use meraki_api::prelude::*;
use meraki_api::test_util::FIXTURE_API_KEY;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const ORG: &str = "549236";

/// The server's limit: the crate's one token bucket (burst = rate).
struct ServerLimit {
    bucket: Mutex<TokenBucket>,
    served: AtomicU64,
    throttled: AtomicU64,
}

/// Shares the server's counters with the benchmark.
struct Limited(Arc<ServerLimit>);

impl ServerLimit {
    /// Takes a token if there is one.
    fn admit(&self) -> bool {
        let taken = self
            .bucket
            .lock()
            .unwrap()
            .try_take(tokio::time::Instant::now())
            .is_ok();
        if taken {
            self.served.fetch_add(1, Ordering::Relaxed);
            true
        } else {
            self.throttled.fetch_add(1, Ordering::Relaxed);
            false
        }
    }
}

fn too_many_requests() -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_raw(
            r#"{"errors":["API rate limit exceeded for organization"]}"#,
            "application/json",
        )
}

impl Respond for Limited {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        if !self.0.admit() {
            return too_many_requests();
        }
        // `?perPage=N` asks for a stream: pages of N licenses (2,500 in all), linked.
        let per_page = request
            .url
            .query_pairs()
            .find(|(k, _)| k == "perPage")
            .and_then(|(_, v)| v.parse::<usize>().ok());
        let Some(per_page) = per_page else {
            return ResponseTemplate::new(200)
                .set_body_raw(r#"[{"id":"1","state":"active"}]"#, "application/json");
        };
        let page = requested_page(request);
        let mut template = ResponseTemplate::new(200)
            .set_body_raw(license_page(page, per_page), "application/json");
        if (page + 1) * per_page < STREAMED_LICENSES {
            let mut next = request.url.clone();
            // The host the client called (wiremock's URL says `localhost`).
            if let Some(host) = request.headers.get("host").and_then(|h| h.to_str().ok()) {
                let _ = next.set_host(Some(host.split(':').next().unwrap_or(host)));
            }
            next.query_pairs_mut()
                .clear()
                .append_pair("perPage", &per_page.to_string())
                .append_pair("startingAfter", &format!("p{}", page + 1));
            template = template.insert_header("link", format!("<{next}>; rel=next"));
        }
        template
    }
}

/// What each process of scenario 11 streams.
const STREAMED_LICENSES: usize = 2_500;

/// A server answering every `GET` within `rate` requests/s, 429 past it.
async fn limited_server(rate: f64) -> (Arc<ServerLimit>, MockServer) {
    let limit = Arc::new(ServerLimit {
        bucket: Mutex::new(TokenBucket::new(rate, rate, tokio::time::Instant::now())),
        served: AtomicU64::new(0),
        throttled: AtomicU64::new(0),
    });
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(Limited(limit.clone()))
        .mount(&server)
        .await;
    (limit, server)
}

async fn throttled(name: &str, server_rate: f64, calls: usize, tasks: usize) {
    let (limit, server) = limited_server(server_rate).await;
    let client = Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(format!("{}/api/v1", server.uri()))
        .build()
        .unwrap();
    let remaining = Arc::new(AtomicU64::new(calls as u64));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..tasks)
        .map(|_| {
            let (client, remaining, failures) =
                (client.clone(), remaining.clone(), failures.clone());
            tokio::spawn(async move {
                while remaining
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
                {
                    let result = client
                        .get_organization_licenses()
                        .organization_id(ORG)
                        .call()
                        .await;
                    if result.is_err() {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let elapsed = started.elapsed().as_secs_f64();
    let floor = (calls as f64 - server_rate) / server_rate;
    let stats = client.stats();
    println!(
        "{name}: {calls} calls, {tasks} tasks, server limit {server_rate}/s: {elapsed:.2} s (floor {floor:.1} s, {:+.1}%), \
         429s {} ({:.1}% of {} requests), retries {}, failures {}",
        (elapsed / floor - 1.0) * 100.0,
        limit.throttled.load(Ordering::Relaxed),
        100.0 * limit.throttled.load(Ordering::Relaxed) as f64 / stats.requests as f64,
        stats.requests,
        stats.retries,
        failures.load(Ordering::Relaxed),
    );
}

/// Serves `pages` pages of `per_page` licenses, each built on request.
struct LicensePages {
    pages: usize,
    per_page: usize,
}

impl Respond for LicensePages {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let page = requested_page(request);
        let body = license_page(page, self.per_page);
        let mut template = ResponseTemplate::new(200).set_body_raw(body, "application/json");
        if page + 1 < self.pages {
            template = template.insert_header(
                "link",
                format!(
                    "<https://n1.meraki.com/api/v1/organizations/{ORG}/licenses?perPage=1000&startingAfter=p{}>; rel=next",
                    page + 1
                ),
            );
        }
        template
    }
}

/// The page a request asks for: `startingAfter=p<N>` is page N (0 without it).
fn requested_page(request: &Request) -> usize {
    request
        .url
        .query_pairs()
        .find(|(k, _)| k == "startingAfter")
        .and_then(|(_, v)| v.strip_prefix('p').and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// One page of `per_page` realistic licenses, as the API sends them.
fn license_page(page: usize, per_page: usize) -> String {
    let mut body = String::with_capacity(per_page * 420);
    body.push('[');
    for i in 0..per_page {
        if i > 0 {
            body.push(',');
        }
        let id = page * per_page + i;
        body.push_str(&format!(
            r#"{{"id":"{id}","licenseType":"MX64-ENT","licenseKey":"Z2{id:010}","orderNumber":"4C1234567","deviceSerial":"Q234-ABCD-{:04}","networkId":"N_24329156","state":"active","seatCount":null,"totalDurationInDays":425,"durationInDays":365,"permanentlyQueuedLicenses":[],"claimDate":"2019-08-29T12:40:10Z","activationDate":"2019-09-01T15:01:46Z","expirationDate":"2020-10-30T15:01:46Z","headLicenseId":null}}"#,
            id % 10_000
        ));
    }
    body.push(']');
    body
}

/// The share of streaming that is JSON decoding alone: 100 pages decoded from memory, the way
/// progenitor decodes (`from_slice`), from text validated once (`from_str`, what the client
/// does), and parsed without building anything (`parse only`: serde_json's floor).
fn decode() {
    type License = meraki_api::types::License;
    let page = license_page(0, 1000);
    for variant in ["from_slice", "from_str", "parse only"] {
        let cpu_before = thread_cpu();
        let mut count = 0;
        for _ in 0..100 {
            let bytes = page.as_bytes();
            count += match variant {
                "from_slice" => serde_json::from_slice::<Vec<License>>(bytes).unwrap().len(),
                "from_str" => {
                    let text = std::str::from_utf8(bytes).unwrap();
                    serde_json::from_str::<Vec<License>>(text).unwrap().len()
                }
                _ => serde_json::from_slice::<Vec<serde::de::IgnoredAny>>(bytes)
                    .unwrap()
                    .len(),
            };
        }
        println!(
            "decode ({variant}): {count} licenses ({} KB per page) decoded from memory: CPU {:.3} s",
            page.len() / 1024,
            (thread_cpu() - cpu_before).as_secs_f64()
        );
    }
}

/// CPU time of the calling thread, from the kernel's scheduler statistics.
fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns: u64 = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(ns)
}

/// Minor page faults of the calling thread so far (fresh memory touched for the first time).
fn thread_minor_faults() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses and may hold spaces.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(7))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// What an expiry report needs of a license (`items_as` projection).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct LicenseExpiry {
    id: String,
    state: Option<String>,
    expiration_date: Option<String>,
}

/// How scenario 3 decodes each license.
#[derive(Clone, Copy)]
enum Decoded {
    /// The generated type, every field (`items()`).
    Generated,
    /// Three fields (`items_as::<LicenseExpiry>()`).
    Projection,
    /// Nothing: each item parsed and skipped (`items_as::<IgnoredAny>()`), the client's floor.
    ParseOnly,
}

/// A server of 100 pages of 1,000 licenses on its own runtime and threads, and a
/// single-threaded runtime for the client, so that the client's thread time is its own.
fn license_server() -> (tokio::runtime::Runtime, MockServer, tokio::runtime::Runtime) {
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let server = server_runtime.block_on(async {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::method("GET"))
            .respond_with(LicensePages {
                pages: 100,
                per_page: 1000,
            })
            .mount(&server)
            .await;
        server
    });
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    (server_runtime, server, client_runtime)
}

/// Scenario 3: stream 100,000 licenses.
fn stream(decoded: Decoded) {
    let name = match decoded {
        Decoded::Generated => "stream",
        Decoded::Projection => "stream (projection)",
        Decoded::ParseOnly => "stream (parse only)",
    };
    let (server_runtime, server, client_runtime) = license_server();
    let rss_before = peak_rss_mb();
    let faults_before = thread_minor_faults();
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let count = client_runtime.block_on(async {
        let client = Client::builder()
            .api_key(FIXTURE_API_KEY)
            .base_url(format!("{}/api/v1", server.uri()))
            .build()
            .unwrap();
        let paginator = client
            .get_organization_licenses()
            .organization_id(ORG)
            .per_page(1000)
            .into_paginator();
        let mut count = 0u64;
        match decoded {
            Decoded::Generated => {
                let mut items = paginator.items();
                while let Some(license) = items.try_next().await.unwrap() {
                    count += u64::from(license.id.is_some());
                }
            }
            Decoded::Projection => {
                let mut items = paginator.items_as::<LicenseExpiry>();
                while let Some(license) = items.try_next().await.unwrap() {
                    count += u64::from(
                        !license.id.is_empty()
                            && license.state.is_some()
                            && license.expiration_date.is_some(),
                    );
                }
            }
            Decoded::ParseOnly => {
                let mut items = paginator.items_as::<serde::de::IgnoredAny>();
                while items.try_next().await.unwrap().is_some() {
                    count += 1;
                }
            }
        }
        count
    });
    let cpu = thread_cpu() - cpu_before;
    let faults = thread_minor_faults() - faults_before;
    println!(
        "{name}: {count} licenses in 100 pages: wall {:.2} s, client CPU {:.3} s, {faults} page faults, peak RSS {:.1} MB (process, in-process server included; {:.1} MB before streaming)",
        started.elapsed().as_secs_f64(),
        cpu.as_secs_f64(),
        peak_rss_mb(),
        rss_before
    );
    drop(server_runtime);
}

/// The floors under `stream`: the same 100 pages fetched with a bare `reqwest::Client` (no
/// auth, throttling, retries, redirects or paginator), read as bytes (`transport`), and also
/// decoded into the same license type as the client does (`transport+decode`: `from_str`).
fn transport(decode: bool) {
    let name = if decode {
        "transport+decode"
    } else {
        "transport"
    };
    let (server_runtime, server, client_runtime) = license_server();
    let cpu_before = thread_cpu();
    let count = client_runtime.block_on(async {
        type License = meraki_api::types::License;
        let http = reqwest::Client::new();
        let mut count = 0u64;
        for page in 0..100 {
            let url = format!(
                "{}/api/v1/organizations/{ORG}/licenses?perPage=1000&startingAfter=p{page}",
                server.uri()
            );
            let body = http.get(url).send().await.unwrap().bytes().await.unwrap();
            count += if decode {
                let text = std::str::from_utf8(&body).unwrap();
                let licenses: Vec<License> = serde_json::from_str(text).unwrap();
                licenses.iter().filter(|l| l.id.is_some()).count() as u64
            } else {
                body.len() as u64
            };
        }
        count
    });
    let cpu = thread_cpu() - cpu_before;
    let what = if decode { "licenses" } else { "bytes" };
    println!(
        "{name}: {count} {what} in 100 pages with a bare reqwest client: client CPU {:.3} s",
        cpu.as_secs_f64()
    );
    drop(server_runtime);
}

/// One call of a bulk scenario.
#[derive(Clone)]
enum Call {
    /// `getOrganizationNetworks`.
    Organization(String),
    /// `getNetworkDevices`.
    Network(String),
    /// `getDeviceClients`.
    Device(String),
}

async fn make(client: &Client, call: &Call) -> Result<(), meraki_api::Error> {
    match call {
        Call::Organization(org) => client
            .get_organization_networks()
            .organization_id(org.as_str())
            .call()
            .await
            .map(drop),
        Call::Network(id) => client
            .get_network_devices()
            .network_id(id.as_str())
            .call()
            .await
            .map(drop),
        Call::Device(serial) => client
            .get_device_clients()
            .serial(serial.as_str())
            .call()
            .await
            .map(drop),
    }
}

/// Scenarios 4-6: every call started at once against a simulated Dashboard enforcing 10/s per
/// organization (burst 10) and 100/s overall. The floor is the busiest organization's: every
/// request it served (lookups and listings included) at 10/s after its burst.
async fn bulk(name: &str, dashboard: meraki_api::test_util::SimulatedDashboard, calls: Vec<Call>) {
    let client = dashboard.client();
    let started = Instant::now();
    let results = futures_util::future::join_all(calls.iter().map(|c| make(&client, c))).await;
    let elapsed = started.elapsed().as_secs_f64();
    let failures = results.iter().filter(|r| r.is_err()).count();
    let counts = dashboard.counts();
    let busiest = counts.served_by_org.values().copied().max().unwrap_or(0);
    let floor = (busiest as f64 - 10.0).max(0.0) / 10.0;
    let stats = client.stats();
    println!(
        "{name}: {} calls at once, {} organization(s): {elapsed:.2} s (floor {floor:.1} s for the busiest organization's {busiest} requests, {:+.1}%), \
         429s {} ({:.1}% of {} requests), lookups and listings {}, failures {failures}",
        calls.len(),
        counts.served_by_org.len(),
        (elapsed / floor - 1.0) * 100.0,
        counts.throttled,
        100.0 * counts.throttled as f64 / stats.requests as f64,
        stats.requests,
        stats.lookups,
    );
}

/// Scenario 7: 1,000 actions through the runner; the server runs each batch for 3 s and
/// refuses a sixth running batch.
async fn batches() {
    use meraki_api::batch::Action;
    let dashboard = meraki_api::test_util::SimulatedDashboard::builder()
        .organization(ORG, 10, 0)
        .batch_runtime(Duration::from_secs(3))
        .start()
        .await;
    let client = dashboard.client();
    let actions: Vec<Action> = (0..1000)
        .map(|i| {
            serde_json::from_value(serde_json::json!({
                "resource": format!("/networks/N_{ORG}_{}", i % 10),
                "operation": "update",
                "body": {"name": format!("network {i}")},
            }))
            .unwrap()
        })
        .collect();
    let started = Instant::now();
    let reports = client.action_batches(ORG).run_to_end(actions).await;
    let elapsed = started.elapsed().as_secs_f64();
    let completed: usize = reports
        .iter()
        .filter(|r| r.completed())
        .map(|r| r.actions.len())
        .sum();
    let counts = dashboard.counts();
    println!(
        "batches (7): 1000 actions in {} batches: {elapsed:.2} s (ceil(10/5) x 3 s = 6 s), most running {}, largest batch {}, actions completed {completed}, accepted by the server {}, requests {}",
        reports.len(),
        counts.most_running_batches,
        counts.largest_batch,
        counts.actions,
        client.stats().requests,
    );
}

/// Scenario 8: 100,000 licenses (100 pages) through a proxy that closes 5% of connections
/// before the answer, cuts 5% of bodies after the headers and answers 5% with a gateway 502;
/// next to the same stream through the proxy without faults. Default retry policy.
async fn faults() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::method("GET"))
        .respond_with(LicensePages {
            pages: 100,
            per_page: 1000,
        })
        .mount(&server)
        .await;
    let faulted = FaultPlan::random(
        8,
        &[
            (Fault::LostAnswer, 0.05),
            (Fault::CutBody, 0.05),
            (Fault::BadGateway, 0.05),
        ],
    );
    for (name, plan) in [("unfaulted", FaultPlan::none()), ("faulted", faulted)] {
        let proxy = FaultyProxy::start(&format!("{}/api/v1", server.uri()), plan)
            .await
            .unwrap();
        let client = Client::builder()
            .api_key(FIXTURE_API_KEY)
            .base_url(proxy.base_url())
            .build()
            .unwrap();
        let started = Instant::now();
        let ids: Vec<String> = client
            .get_organization_licenses()
            .organization_id(ORG)
            .per_page(1000)
            .into_paginator()
            .items_as::<LicenseExpiry>()
            .map_ok(|l| l.id)
            .try_collect()
            .await
            .unwrap();
        let unique = ids.iter().collect::<std::collections::HashSet<_>>().len();
        let stats = client.stats();
        let counts = proxy.counts();
        println!(
            "faults (8), {name}: {} licenses delivered, {unique} distinct, in {:.2} s; requests {}, retries {}, faults injected {}, pages delivered whole {}",
            ids.len(),
            started.elapsed().as_secs_f64(),
            stats.requests,
            stats.retries,
            counts.faults,
            counts.delivered,
        );
    }
}

/// Scenario 9: 1,000 actions (10 batches, each running 3 s) through a proxy that loses 10%
/// of answers, cuts 10% and answers 10% with a 502: submissions and status reads alike.
async fn lost_batches() {
    use meraki_api::batch::Action;
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy, SimulatedDashboard};
    for (name, plan) in [
        ("unfaulted", FaultPlan::none()),
        (
            "30% lost",
            FaultPlan::random(
                9,
                &[
                    (Fault::LostAnswer, 0.10),
                    (Fault::CutBody, 0.10),
                    (Fault::BadGateway, 0.10),
                ],
            ),
        ),
    ] {
        let dashboard = SimulatedDashboard::builder()
            .organization(ORG, 10, 0)
            .batch_runtime(Duration::from_secs(3))
            .start()
            .await;
        let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
            .await
            .unwrap();
        let client = dashboard
            .client_builder()
            .base_url(proxy.base_url())
            .build()
            .unwrap();
        let mut actions: Vec<Action> = (0..1000)
            .map(|i| {
                serde_json::from_value(serde_json::json!({
                    "resource": format!("/networks/N_{ORG}_{}", i % 10),
                    "operation": "update",
                    "body": {"name": format!("network {i}")},
                }))
                .unwrap()
            })
            .collect();
        // Batch 6 fails at the API: its outcome must come back as failed, the rest completed.
        actions[650].body = Some(serde_json::json!({"fail": true}));
        let started = Instant::now();
        let reports = client
            .action_batches(ORG)
            .continue_after_failure(true)
            .run_to_end(actions)
            .await;
        let elapsed = started.elapsed().as_secs_f64();
        let exact = reports
            .iter()
            .all(|r| r.outcome.status() == if r.index == 6 { "failed" } else { "completed" });
        let reported: usize = reports.iter().map(|r| r.actions.len()).sum();
        let counts = dashboard.counts();
        println!(
            "lost batches (9), {name}: {reported} actions reported in {} batches, outcomes exact: {exact}, batches the server created {} ({} actions), {elapsed:.2} s, requests {}, faults injected {}",
            reports.len(),
            counts.batches,
            counts.actions,
            client.stats().requests,
            proxy.counts().faults,
        );
    }
}

async fn bulk_scenarios(wanted: impl Fn(&str) -> bool) {
    if wanted("faults") {
        faults().await;
    }
    if wanted("lost") {
        lost_batches().await;
    }
    if wanted("batches") {
        batches().await;
    }
    use meraki_api::test_util::SimulatedDashboard;
    if wanted("networks") {
        let dashboard = SimulatedDashboard::builder()
            .organization(ORG, 20, 0)
            .start()
            .await;
        let networks = dashboard.networks(ORG);
        let calls = (0..200)
            .map(|i| Call::Network(networks[i % 20].clone()))
            .collect();
        bulk("networks (4)", dashboard, calls).await;
    }
    if wanted("devices") {
        let dashboard = SimulatedDashboard::builder()
            .organization(ORG, 20, 5)
            .start()
            .await;
        let devices = dashboard.devices(ORG);
        let calls = (0..200)
            .map(|i| Call::Device(devices[i % 100].clone()))
            .collect();
        bulk("devices (5)", dashboard, calls).await;
    }
    if wanted("orgs") {
        let orgs = ["101", "102", "103", "104", "105"];
        let mut builder = SimulatedDashboard::builder();
        for org in orgs {
            builder = builder.organization(org, 10, 2);
        }
        let dashboard = builder.start().await;
        let mut calls = Vec::new();
        for i in 0..100 {
            for org in orgs {
                calls.push(match i % 3 {
                    0 => Call::Organization(org.to_owned()),
                    1 => Call::Network(dashboard.networks(org)[i % 10].clone()),
                    _ => Call::Device(dashboard.devices(org)[i % 20].clone()),
                });
            }
        }
        bulk("orgs (6)", dashboard, calls).await;
    }
}

/// Scenario 10: 2,000, 4,000 and 8,000 `getNetworkDevices` calls started at once over 20
/// organizations of 10 networks (none known beforehand); the server allows 10/s per
/// organization and 100/s overall. The server runs on its own runtime and threads, the client
/// on one thread, whose CPU time is the client's.
fn fleet() {
    use meraki_api::test_util::SimulatedDashboard;
    let sizes: Vec<usize> = std::env::var("FLEET_CALLS")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.parse().ok()).collect())
        .unwrap_or_else(|| vec![2_000, 4_000, 8_000]);
    for calls in sizes {
        let server_runtime = tokio::runtime::Runtime::new().unwrap();
        let dashboard = server_runtime.block_on(async {
            let mut builder = SimulatedDashboard::builder();
            for org in 0..20 {
                builder = builder.organization(&format!("{}", 100 + org), 10, 0);
            }
            builder.start().await
        });
        let networks: Vec<String> = (0..20)
            .flat_map(|org| dashboard.networks(&format!("{}", 100 + org)))
            .collect();
        let client_runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = dashboard.client();
        let cpu_before = thread_cpu();
        let started = Instant::now();
        let work: Vec<Call> = (0..calls)
            .map(|i| Call::Network(networks[i % 200].clone()))
            .collect();
        let failures = client_runtime.block_on(async {
            let results =
                futures_util::future::join_all(work.iter().map(|call| make(&client, call))).await;
            results.iter().filter(|r| r.is_err()).count()
        });
        let elapsed = started.elapsed().as_secs_f64();
        let cpu = thread_cpu() - cpu_before;
        let stats = client.stats();
        let counts = dashboard.counts();
        // Everything goes through the 100/s overall limit (20 organizations could take 200/s).
        let floor = (stats.requests as f64 - 100.0).max(0.0) / 100.0;
        println!(
            "fleet (10): {calls} calls at once over 20 organizations: {elapsed:.2} s (floor {floor:.1} s for {} requests at 100/s, {:+.1}%), client CPU {:.3} s = {:.3} ms per request, 429s {} ({} for an organization), lookups and listings {}, failures {failures}",
            stats.requests,
            (elapsed / floor - 1.0) * 100.0,
            cpu.as_secs_f64(),
            cpu.as_secs_f64() * 1000.0 / stats.requests as f64,
            counts.throttled,
            counts.throttled_by_org.values().sum::<u64>(),
            stats.lookups,
        );
        drop(client_runtime);
        drop(server_runtime);
    }
}

/// Scenario 10b: uneven load. 20 organizations of 10 networks; one gets 400
/// `getNetworkDevices` calls and the 19 others 50 each, all started at once. The floor is the
/// busiest organization's: its lookup, listing and 400 calls at 10/s after its burst of 10.
fn uneven() {
    use meraki_api::test_util::SimulatedDashboard;
    let server_runtime = tokio::runtime::Runtime::new().unwrap();
    let dashboard = server_runtime.block_on(async {
        let mut builder = SimulatedDashboard::builder();
        for org in 0..20 {
            builder = builder.organization(&format!("{}", 100 + org), 10, 0);
        }
        builder.start().await
    });
    let client_runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let client = dashboard.client();
    let mut work = Vec::new();
    for org in 0..20 {
        let networks = dashboard.networks(&format!("{}", 100 + org));
        let calls = if org == 0 { 400 } else { 50 };
        work.extend((0..calls).map(|i| Call::Network(networks[i % networks.len()].clone())));
    }
    let cpu_before = thread_cpu();
    let started = Instant::now();
    let failures = client_runtime.block_on(async {
        let results =
            futures_util::future::join_all(work.iter().map(|call| make(&client, call))).await;
        results.iter().filter(|r| r.is_err()).count()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = thread_cpu() - cpu_before;
    let stats = client.stats();
    let counts = dashboard.counts();
    let busiest = counts.served_by_org.get("100").copied().unwrap_or(0) as f64;
    let floor = (busiest - 10.0).max(0.0) / 10.0;
    println!(
        "uneven (10b): 400 calls for one organization and 50 for each of 19 others: {elapsed:.2} s (the busiest organization's floor {floor:.1} s for its {busiest} requests, {:+.1}%), {} requests, 429s {} ({:.2}%; {} for the busiest), client CPU {:.3} ms per request, failures {failures}",
        (elapsed / floor - 1.0) * 100.0,
        stats.requests,
        counts.throttled,
        counts.throttled as f64 * 100.0 / stats.requests as f64,
        counts.throttled_by_org.get("100").copied().unwrap_or(0),
        cpu.as_secs_f64() * 1000.0 / stats.requests as f64,
    );
    drop(client_runtime);
    drop(server_runtime);
}

/// Scenario 11: 4 clients (each with its own state, as 4 processes would be) reading one
/// organization 25 times each (100 requests), the server allowing 10/s for it: with each
/// pacing alone, then sharing one budget in Redis (`--features redis`, a `redis-server` on
/// 127.0.0.1:6399 started by the bench).
/// Scenario 12: lookups one at a time or side by side, over a link with 100 ms latency:
/// many organizations discovered at once, and one organization's networks (the cost).
async fn lookups() {
    use meraki_api::test_util::SimulatedDashboard;
    for (name, organizations, networks) in [
        ("50 organizations x 2 networks", 50, 2),
        ("1 organization x 100 networks", 1, 100),
    ] {
        for at_once in [1, 4, 8] {
            let mut builder = SimulatedDashboard::builder().latency(Duration::from_millis(100));
            for org in 0..organizations {
                builder = builder.organization(&format!("{}", 100 + org), networks, 0);
            }
            let dashboard = builder.start().await;
            let ids: Vec<String> = (0..organizations)
                .flat_map(|org| dashboard.networks(&format!("{}", 100 + org)))
                .collect();
            let client = dashboard
                .client_builder()
                .lookups_at_once(at_once)
                .build()
                .unwrap();
            let started = Instant::now();
            let results = futures_util::future::join_all(
                ids.iter()
                    .map(|id| client.get_network_devices().network_id(id).call()),
            )
            .await;
            let elapsed = started.elapsed().as_secs_f64();
            let counts = dashboard.counts();
            println!(
                "lookups (12), {name}, {at_once} at once: {} calls in {elapsed:.2} s, lookups {}, listings {}, most lookups in flight {}, 429s {}, failures {}",
                ids.len(),
                counts.lookups,
                counts.listings,
                counts.most_lookups_in_flight,
                counts.throttled,
                results.iter().filter(|r| r.is_err()).count(),
            );
        }
    }
}

/// Scenario 11's worker: one process streaming the organization's licenses, 100 per page,
/// pacing alone or on the Redis budget; prints `items failures`.
fn budget_worker(base_url: &str, redis: Option<String>) {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        #[allow(unused_mut)]
        let mut config = meraki_api::RateLimitConfig::default();
        #[cfg(feature = "redis")]
        if let Some(url) = redis {
            config = config.redis(url);
        }
        #[cfg(not(feature = "redis"))]
        let _ = redis;
        let client = Client::builder()
            .api_key(FIXTURE_API_KEY)
            .base_url(base_url)
            .rate_limit(config)
            .build()
            .unwrap();
        let items: Result<Vec<_>, _> = client
            .get_organization_licenses()
            .organization_id(ORG)
            .per_page(100)
            .into_paginator()
            .items()
            .try_collect()
            .await;
        match items {
            Ok(items) => println!("{} 0", items.len()),
            Err(e) => println!("0 1 {e}"),
        }
    });
}

async fn budget() {
    let (limit, server) = limited_server(10.0).await;
    #[cfg(feature = "redis")]
    let mut redis = std::process::Command::new("redis-server")
        .args([
            "--bind",
            "127.0.0.1",
            "--port",
            "6399",
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .ok();
    #[cfg(feature = "redis")]
    tokio::time::sleep(Duration::from_millis(300)).await;
    #[allow(unused_mut)]
    let mut modes = vec![("each process alone", None::<&str>)];
    #[cfg(feature = "redis")]
    modes.push(("one budget in Redis", Some("redis://127.0.0.1:6399/")));
    let exe = std::env::current_exe().unwrap();
    for (name, redis_url) in modes {
        *limit.bucket.lock().unwrap() = TokenBucket::new(10.0, 10.0, tokio::time::Instant::now());
        limit.served.store(0, Ordering::Relaxed);
        limit.throttled.store(0, Ordering::Relaxed);
        let started = Instant::now();
        let workers: Vec<std::process::Child> = (0..4)
            .map(|_| {
                let mut command = std::process::Command::new(&exe);
                command
                    .env("MERAKI_BENCH_WORKER", format!("{}/api/v1", server.uri()))
                    .stdout(std::process::Stdio::piped());
                if let Some(url) = redis_url {
                    command.env("MERAKI_BENCH_WORKER_REDIS", url);
                }
                command.spawn().unwrap()
            })
            .collect();
        let outputs = tokio::task::spawn_blocking(move || {
            workers
                .into_iter()
                .map(|w| {
                    String::from_utf8_lossy(&w.wait_with_output().unwrap().stdout).into_owned()
                })
                .collect::<Vec<_>>()
        })
        .await
        .unwrap();
        let elapsed = started.elapsed().as_secs_f64();
        let (mut items, mut failures) = (0usize, 0usize);
        for output in &outputs {
            let mut fields = output.split_whitespace();
            items += fields.next().and_then(|n| n.parse().ok()).unwrap_or(0);
            let failed: usize = fields.next().and_then(|n| n.parse().ok()).unwrap_or(1);
            if failed > 0 {
                eprintln!("a worker failed: {}", output.trim());
            }
            failures += failed;
        }
        let (served, throttled) = (
            limit.served.load(Ordering::Relaxed),
            limit.throttled.load(Ordering::Relaxed),
        );
        // 4 x 25 pages at 10/s after the burst of 10.
        let floor = (100.0 - 10.0) / 10.0;
        println!(
            "budget (11), {name}: 4 processes x {STREAMED_LICENSES} licenses (25 pages), one organization at 10/s: {elapsed:.2} s (floor {floor:.1} s, {:+.1}%), 429s {throttled} ({:.1}% of {} requests), items {items}, failures {failures}",
            (elapsed / floor - 1.0) * 100.0,
            100.0 * throttled as f64 / (served + throttled) as f64,
            served + throttled,
        );
    }
    #[cfg(feature = "redis")]
    if let Some(child) = redis.as_mut() {
        let _ = child.kill();
        let _ = child.wait();
    }
}

fn main() {
    if let Ok(base_url) = std::env::var("MERAKI_BENCH_WORKER") {
        budget_worker(&base_url, std::env::var("MERAKI_BENCH_WORKER_REDIS").ok());
        return;
    }
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let wanted = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    if wanted("stream") {
        stream(Decoded::Generated);
        stream(Decoded::Projection);
        stream(Decoded::ParseOnly);
    }
    if wanted("decode") {
        decode();
    }
    if wanted("transport") {
        transport(false);
        transport(true);
    }
    if wanted("fleet") {
        fleet();
    }
    if wanted("uneven") {
        uneven();
    }
    let runtime = tokio::runtime::Runtime::new().unwrap();
    if wanted("budget") {
        runtime.block_on(budget());
    }
    if wanted("lookups") {
        runtime.block_on(lookups());
    }
    if wanted("throttle10") {
        runtime.block_on(throttled("throttle10", 10.0, 200, 16));
    }
    if wanted("throttle5") {
        runtime.block_on(throttled("throttle5", 5.0, 100, 16));
    }
    runtime.block_on(bulk_scenarios(wanted));
}
