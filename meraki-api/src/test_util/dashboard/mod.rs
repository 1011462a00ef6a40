//! The simulated Dashboard ([`SimulatedDashboard`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

mod batches;

use super::authorization::{AuthorizationServer, ValidAccessToken};
use crate::pacing::TokenBucket;
use crate::{Client, ClientBuilder};
use batches::Batch;

/// Configures a [`SimulatedDashboard`].
#[derive(Debug, Clone)]
pub struct SimulatedDashboardBuilder {
    organizations: Vec<(String, usize, usize)>,
    per_org_rate: f64,
    per_org_burst: f64,
    global_rate: f64,
    batch_runtime: Duration,
    max_running_batches: usize,
    oauth: Option<ValidAccessToken>,
    latency: Duration,
}

impl SimulatedDashboardBuilder {
    /// Every answer is held back this long, as over a real link (default none).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Every request must carry an access token `server` accepts now (else `401`), as for an
    /// integration using OAuth.
    pub fn oauth(mut self, server: &AuthorizationServer) -> Self {
        self.oauth = Some(server.valid_access_token());
        self
    }

    /// Adds an organization with `networks` networks of `devices_per_network` devices each.
    /// Network ids are `N_<org>_<n>`, serials `Q<org>-<n>-<d>` (numbers from 0).
    pub fn organization(mut self, id: &str, networks: usize, devices_per_network: usize) -> Self {
        self.organizations
            .push((id.to_owned(), networks, devices_per_network));
        self
    }

    /// Requests per second per organization, and its burst (default 10 and 10).
    pub fn per_org_limit(mut self, rate: f64, burst: f64) -> Self {
        self.per_org_rate = rate;
        self.per_org_burst = burst;
        self
    }

    /// Requests per second overall, all organizations together (default 100, burst as much).
    pub fn global_limit(mut self, rate: f64) -> Self {
        self.global_rate = rate;
        self
    }

    /// How long a confirmed asynchronous action batch runs (default 3 s).
    pub fn batch_runtime(mut self, runtime: Duration) -> Self {
        self.batch_runtime = runtime;
        self
    }

    /// Starts the server on 127.0.0.1.
    pub async fn start(self) -> SimulatedDashboard {
        let mut owners = HashMap::new();
        let mut networks: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut devices: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut buckets = HashMap::new();
        for (org, network_count, per_network) in &self.organizations {
            buckets.insert(
                org.clone(),
                TokenBucket::new(self.per_org_rate, self.per_org_burst, Instant::now()),
            );
            for n in 0..*network_count {
                let network = format!("N_{org}_{n}");
                owners.insert(network.clone(), Owner::Network(org.clone()));
                networks
                    .entry(org.clone())
                    .or_default()
                    .push(network.clone());
                for d in 0..*per_network {
                    let serial = format!("Q{org}-{n}-{d}");
                    owners.insert(serial.clone(), Owner::Device(org.clone(), network.clone()));
                    devices
                        .entry(org.clone())
                        .or_default()
                        .push((serial, network.clone()));
                }
            }
        }
        let state = Arc::new(Mutex::new(State {
            owners,
            networks,
            devices,
            buckets,
            global: TokenBucket::new(self.global_rate, self.global_rate, Instant::now()),
            counts: Counts::default(),
            batches: Vec::new(),
            written: HashMap::new(),
            lookup_arrivals: Vec::new(),
        }));
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: state.clone(),
                batch_runtime: self.batch_runtime,
                max_running: self.max_running_batches,
                oauth: self.oauth,
                latency: self.latency,
            })
            .mount(&server)
            .await;
        SimulatedDashboard {
            server,
            state,
            latency: self.latency,
        }
    }
}

/// A simulated Dashboard on 127.0.0.1 that owns networks and devices per organization and
/// enforces the API's limits: a token bucket per organization (every request counts against
/// the organization that owns its network or device, as on the real API) and one for all
/// requests, `429` with `Retry-After: 1` past either; and action batches with their limits (at
/// most 100 actions, 20 synchronous, 5 confirmed batches running per organization). Networks,
/// devices and switch ports keep state: what a `PUT` or a confirmed batch's `update` sets is
/// what the next `GET` shows (for plans, [`crate::plan`]).
///
/// For tests and benchmarks of bulk work, yours included:
///
/// ```no_run
/// # async fn demo() {
/// use meraki_api::test_util::SimulatedDashboard;
/// let dashboard = SimulatedDashboard::builder()
///     .organization("549236", 20, 5) // 20 networks of 5 devices each
///     .start()
///     .await;
/// let client = dashboard.client();
/// let network = &dashboard.networks("549236")[0];
/// // ... run your bulk work, then:
/// assert_eq!(dashboard.counts().throttled, 0);
/// # }
/// ```
pub struct SimulatedDashboard {
    server: MockServer,
    state: Arc<Mutex<State>>,
    latency: Duration,
}

/// What the simulated Dashboard has seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counts {
    /// Requests answered (429s excluded).
    pub served: u64,
    /// Requests refused `401` for a missing, expired or revoked access token
    /// ([`SimulatedDashboardBuilder::oauth`]).
    pub unauthorized: u64,
    /// Requests answered `429`.
    pub throttled: u64,
    /// `429`s by organization.
    pub throttled_by_org: BTreeMap<String, u64>,
    /// Requests answered (429s excluded) by the organization they counted against.
    pub served_by_org: BTreeMap<String, u64>,
    /// Requests by path kind: `GET /networks/{id}` and `GET /devices/{serial}` lookups.
    pub lookups: u64,
    /// Listings of an organization's networks or devices.
    pub listings: u64,
    /// Action batches created (confirmed or not).
    pub batches: u64,
    /// Batches confirmed (by their creation or by an update), each counted once.
    pub confirmed_batches: u64,
    /// Updates that confirmed a batch confirmed already (the client sent its confirmation
    /// again; harmless, and counted to show it).
    pub repeated_confirmations: u64,
    /// Batches deleted.
    pub deleted_batches: u64,
    /// Most actions in one accepted batch.
    pub largest_batch: usize,
    /// Most confirmed batches of one organization running at once.
    pub most_running_batches: usize,
    /// Batches refused for "Too many concurrently executing batches".
    pub refused_batches: u64,
    /// Actions in created batches.
    pub actions: u64,
    /// Reads of a network, device or switch port (`GET /networks/{id}`, `GET
    /// /devices/{serial}`, `GET /devices/{serial}/switch/ports/{portId}`), by path.
    pub reads: BTreeMap<String, u64>,
    /// Updates of those applied (by `PUT` or in a confirmed batch).
    pub updates: u64,
    /// Most lookups in flight at once: a lookup is in flight from its arrival until its
    /// answer leaves, [`SimulatedDashboardBuilder::latency`] later.
    pub most_lookups_in_flight: usize,
}

impl SimulatedDashboard {
    /// A simulated Dashboard with no organizations and the API's limits.
    pub fn builder() -> SimulatedDashboardBuilder {
        SimulatedDashboardBuilder {
            organizations: Vec::new(),
            per_org_rate: 10.0,
            per_org_burst: 10.0,
            global_rate: 100.0,
            batch_runtime: Duration::from_secs(3),
            max_running_batches: 5,
            oauth: None,
            latency: Duration::ZERO,
        }
    }

    /// The base URL to give the client: `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        super::base_url(&self.server)
    }

    /// A client builder pointed at this server, with [`super::FIXTURE_API_KEY`].
    pub fn client_builder(&self) -> ClientBuilder {
        super::client_builder(&self.server)
    }

    /// A client builder pointed at this server, with no credentials (give it OAuth ones).
    pub fn client_builder_without_key(&self) -> ClientBuilder {
        Client::builder().base_url(self.base_url())
    }

    /// A client pointed at this server.
    pub fn client(&self) -> Client {
        super::client(&self.server)
    }

    /// The network ids of an organization, in order.
    pub fn networks(&self, org: &str) -> Vec<String> {
        lock(&self.state)
            .networks
            .get(org)
            .cloned()
            .unwrap_or_default()
    }

    /// The serials of an organization's devices, in order.
    pub fn devices(&self, org: &str) -> Vec<String> {
        lock(&self.state)
            .devices
            .get(org)
            .map(|d| d.iter().map(|(serial, _)| serial.clone()).collect())
            .unwrap_or_default()
    }

    /// What the server has seen so far.
    pub fn counts(&self) -> Counts {
        let state = lock(&self.state);
        let mut counts = state.counts.clone();
        counts.most_running_batches = state.most_running();
        counts.most_lookups_in_flight = state
            .lookup_arrivals
            .iter()
            .map(|start| {
                state
                    .lookup_arrivals
                    .iter()
                    .filter(|other| {
                        *other >= start
                            && **other < *start + self.latency.max(Duration::from_nanos(1))
                    })
                    .count()
            })
            .max()
            .unwrap_or(0);
        counts
    }
}

#[derive(Debug, Clone)]
enum Owner {
    Network(String),
    /// Organization and network.
    Device(String, String),
}

struct State {
    owners: HashMap<String, Owner>,
    networks: BTreeMap<String, Vec<String>>,
    devices: BTreeMap<String, Vec<(String, String)>>,
    buckets: HashMap<String, TokenBucket>,
    global: TokenBucket,
    counts: Counts,
    batches: Vec<Batch>,
    /// What writes set, by path below `/api/v1`, over each resource's defaults.
    written: HashMap<String, Value>,
    /// When each lookup arrived.
    lookup_arrivals: Vec<Instant>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// The organization a path counts against, or what was not found.
    fn organization_of(&self, segments: &[&str]) -> Result<Option<String>, &'static str> {
        let not_found = Err;
        match segments {
            ["organizations", org, ..] => {
                if self.buckets.contains_key(*org) {
                    Ok(Some((*org).to_owned()))
                } else {
                    not_found("organization")
                }
            }
            ["networks", id, ..] => match self.owners.get(*id) {
                Some(Owner::Network(org)) => Ok(Some(org.clone())),
                _ => not_found("network"),
            },
            ["devices", serial, ..] => match self.owners.get(*serial) {
                Some(Owner::Device(org, _)) => Ok(Some(org.clone())),
                _ => not_found("device"),
            },
            _ => Ok(None),
        }
    }

    /// A network's, device's or switch port's fields before any write, if `segments` name
    /// one that exists.
    fn defaults(&self, segments: &[&str], org: Option<&str>) -> Option<Value> {
        match segments {
            ["networks", id] => Some(json!({
                "id": id, "organizationId": org, "name": format!("network {id}"),
                "timeZone": "America/Los_Angeles", "tags": [], "notes": ""
            })),
            ["devices", serial] | ["devices", serial, "switch", "ports", _] => {
                let Some(Owner::Device(_, network)) = self.owners.get(*serial) else {
                    return None;
                };
                Some(match segments {
                    ["devices", _, "switch", "ports", port] => json!({
                        "portId": port, "name": null, "enabled": true, "type": "access",
                        "vlan": 1, "poeEnabled": true, "tags": []
                    }),
                    _ => json!({
                        "serial": serial, "networkId": network, "model": "MS120-8",
                        "name": format!("switch {serial}"), "tags": [], "address": ""
                    }),
                })
            }
            _ => None,
        }
    }

    /// A resource as written so far, over its defaults.
    fn current(&self, path: &str, mut defaults: Value) -> Value {
        if let (Some(Value::Object(written)), Value::Object(fields)) =
            (self.written.get(path), &mut defaults)
        {
            for (name, value) in written {
                fields.insert(name.clone(), value.clone());
            }
        }
        defaults
    }

    fn update(&mut self, path: &str, body: &Value) {
        self.counts.updates += 1;
        let written = self
            .written
            .entry(path.to_owned())
            .or_insert_with(|| json!({}));
        if let (Value::Object(written), Value::Object(body)) = (written, body) {
            for (name, value) in body {
                written.insert(name.clone(), value.clone());
            }
        }
    }

    fn most_running(&self) -> usize {
        self.counts.most_running_batches
    }
}

struct Responder {
    state: Arc<Mutex<State>>,
    batch_runtime: Duration,
    max_running: usize,
    oauth: Option<ValidAccessToken>,
    latency: Duration,
}

fn too_many_requests(scope: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(json!({"errors": [format!("API rate limit exceeded for {scope}")]}))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self.answer(request);
        if self.latency.is_zero() {
            answer
        } else {
            answer.set_delay(self.latency)
        }
    }
}

impl Responder {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        if self
            .oauth
            .as_ref()
            .is_some_and(|oauth| !oauth.check(request))
        {
            state.counts.unauthorized += 1;
            return ResponseTemplate::new(401)
                .set_body_json(json!({"errors": ["Invalid or expired access token"]}));
        }
        let path = request.url.path();
        let Some(rest) = path.strip_prefix("/api/v1/") else {
            return ResponseTemplate::new(404);
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let org = match state.organization_of(&segments) {
            Ok(org) => org,
            Err(what) => {
                return ResponseTemplate::new(404)
                    .set_body_json(json!({ "errors": [format!("{what} not found")] }))
            }
        };
        let now = Instant::now();
        if state.global.try_take(now).is_err() {
            state.counts.throttled += 1;
            return too_many_requests("this IP");
        }
        if let Some(org) = &org {
            let allowed = state
                .buckets
                .get_mut(org)
                .is_some_and(|bucket| bucket.try_take(now).is_ok());
            if !allowed {
                state.counts.throttled += 1;
                *state
                    .counts
                    .throttled_by_org
                    .entry(org.clone())
                    .or_default() += 1;
                return too_many_requests("organization");
            }
        }
        state.counts.served += 1;
        if let Some(org) = &org {
            *state.counts.served_by_org.entry(org.clone()).or_default() += 1;
        }
        let method = request.method.as_str();
        let resource = format!("/{rest}");
        if let Some(defaults) = state.defaults(&segments, org.as_deref()) {
            match method {
                "GET" => {
                    if matches!(segments.as_slice(), ["networks", _] | ["devices", _]) {
                        state.counts.lookups += 1;
                        state.lookup_arrivals.push(Instant::now());
                    }
                    *state.counts.reads.entry(resource.clone()).or_default() += 1;
                    return ResponseTemplate::new(200)
                        .set_body_json(state.current(&resource, defaults));
                }
                "PUT" => {
                    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                        return ResponseTemplate::new(400)
                            .set_body_json(json!({"errors": ["The request body is not JSON"]}));
                    };
                    state.update(&resource, &body);
                    return ResponseTemplate::new(200)
                        .set_body_json(state.current(&resource, defaults));
                }
                _ => {}
            }
        }
        match (method, segments.as_slice()) {
            ("GET", ["networks", id, "devices"]) => {
                let devices: Vec<Value> = org
                    .and_then(|org| state.devices.get(&org))
                    .into_iter()
                    .flatten()
                    .filter(|(_, network)| network == id)
                    .map(|(serial, network)| json!({"serial": serial, "networkId": network}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(Value::Array(devices))
            }
            ("GET", ["organizations", _, "networks"]) => {
                state.counts.listings += 1;
                let org = org.unwrap_or_default();
                let items: Vec<Value> = state
                    .networks
                    .get(&org)
                    .into_iter()
                    .flatten()
                    .map(|id| json!({"id": id, "organizationId": org}))
                    .collect();
                page(request, &items)
            }
            ("GET", ["organizations", _, "devices"]) => {
                state.counts.listings += 1;
                let items: Vec<Value> = org
                    .and_then(|org| state.devices.get(&org))
                    .into_iter()
                    .flatten()
                    .map(|(serial, network)| json!({"serial": serial, "networkId": network}))
                    .collect();
                page(request, &items)
            }
            ("GET", ["devices", _, "clients"]) => {
                ResponseTemplate::new(200).set_body_json(json!([]))
            }
            (_, ["organizations", _, "actionBatches", ..]) => {
                let org = org.unwrap_or_default();
                self.batches(&mut state, &org, method, &segments[3..], request)
            }
            (method, _) => ResponseTemplate::new(404).set_body_json(json!({
                "errors": [format!("SimulatedDashboard does not simulate {method} {path}")]
            })),
        }
    }
}

/// A page of `items`: `perPage` of them after the `startingAfter` index, with a `Link` to the
/// next page on this server.
fn page(request: &Request, items: &[Value]) -> ResponseTemplate {
    let query = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = query("perPage").unwrap_or(1000).max(1);
    let start = query("startingAfter").map_or(0, |i| i + 1);
    let end = (start + per_page).min(items.len());
    let body = Value::Array(items.get(start..end).unwrap_or_default().to_vec());
    let mut response = ResponseTemplate::new(200).set_body_json(body);
    if end < items.len() {
        let mut next = request.url.clone();
        // The host the client called, as the API's links name its own host.
        if let Some(host) = request.headers.get("host").and_then(|h| h.to_str().ok()) {
            let host = host.split(':').next().unwrap_or(host);
            let _ = next.set_host(Some(host));
        }
        next.query_pairs_mut()
            .clear()
            .append_pair("perPage", &per_page.to_string())
            .append_pair("startingAfter", &(end - 1).to_string());
        response = response.insert_header("link", format!("<{next}>; rel=next"));
    }
    response
}
