//! The simulated Dashboard ([`SimulatedDashboard`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use super::authorization::{AuthorizationServer, ValidAccessToken};
use crate::{Client, ClientBuilder};

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
                Bucket::new(self.per_org_rate, self.per_org_burst),
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
            global: Bucket::new(self.global_rate, self.global_rate),
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
    /// Action batches accepted.
    pub batches: u64,
    /// Most actions in one accepted batch.
    pub largest_batch: usize,
    /// Most confirmed batches of one organization running at once.
    pub most_running_batches: usize,
    /// Batches refused for "Too many concurrently executing batches".
    pub refused_batches: u64,
    /// Actions in accepted batches.
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

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, capacity: f64) -> Self {
        Self {
            tokens: capacity,
            capacity,
            rate,
            last: Instant::now(),
        }
    }

    fn try_take(&mut self) -> bool {
        let now = Instant::now();
        self.tokens = (self.tokens + now.duration_since(self.last).as_secs_f64() * self.rate)
            .min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug)]
struct Batch {
    id: String,
    org: String,
    confirmed_at: Option<Instant>,
    synchronous: bool,
    actions: Vec<Value>,
    /// An action whose body says `"fail": true` fails the batch (batches are atomic).
    fails: bool,
}

struct State {
    owners: HashMap<String, Owner>,
    networks: BTreeMap<String, Vec<String>>,
    devices: BTreeMap<String, Vec<(String, String)>>,
    buckets: HashMap<String, Bucket>,
    global: Bucket,
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

    fn running(&self, org: &str, at: Instant, runtime: Duration) -> usize {
        self.batches
            .iter()
            .filter(|b| b.org == org && !b.synchronous)
            .filter_map(|b| b.confirmed_at)
            .filter(|&start| start <= at && at < start + runtime)
            .count()
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
        if !state.global.try_take() {
            state.counts.throttled += 1;
            return too_many_requests("this IP");
        }
        if let Some(org) = &org {
            let allowed = state.buckets.get_mut(org).is_some_and(Bucket::try_take);
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
            ("POST", ["organizations", _, "actionBatches"]) => {
                let org = org.unwrap_or_default();
                self.create_batch(&mut state, org, request)
            }
            ("GET", ["organizations", _, "actionBatches"]) => {
                let org = org.unwrap_or_default();
                let batches: Vec<Value> = state
                    .batches
                    .iter()
                    .filter(|b| b.org == org)
                    .map(|b| self.describe(b))
                    .collect();
                ResponseTemplate::new(200).set_body_json(Value::Array(batches))
            }
            ("GET", ["organizations", _, "actionBatches", id]) => {
                match state.batches.iter().find(|b| b.id == *id) {
                    Some(batch) => ResponseTemplate::new(200).set_body_json(self.describe(batch)),
                    None => ResponseTemplate::new(404)
                        .set_body_json(json!({"errors": ["Action batch not found"]})),
                }
            }
            ("GET", _) => ResponseTemplate::new(200).set_body_json(json!([])),
            _ => ResponseTemplate::new(200).set_body_json(json!({})),
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

impl Responder {
    fn create_batch(&self, state: &mut State, org: String, request: &Request) -> ResponseTemplate {
        let bad = |message: &str| {
            ResponseTemplate::new(400).set_body_json(json!({ "errors": [message] }))
        };
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return bad("The request body is not JSON");
        };
        let confirmed = body["confirmed"].as_bool().unwrap_or(false);
        let synchronous = body["synchronous"].as_bool().unwrap_or(false);
        let Some(actions) = body["actions"].as_array().cloned() else {
            return bad("'actions' must be an array");
        };
        let limit = if synchronous { 20 } else { 100 };
        if actions.is_empty() || actions.len() > limit {
            return bad(&format!(
                "A batch holds 1 to {limit} actions, got {}",
                actions.len()
            ));
        }
        let well_formed = actions.iter().all(|a| {
            a["resource"].as_str().is_some_and(|r| r.starts_with('/'))
                && a["operation"].as_str().is_some()
        });
        if !well_formed {
            return bad("Every action needs a 'resource' and an 'operation'");
        }
        let now = Instant::now();
        if confirmed
            && !synchronous
            && state.running(&org, now, self.batch_runtime) >= self.max_running
        {
            state.counts.refused_batches += 1;
            return bad("Too many concurrently executing batches. Maximum is 5 confirmed but not yet executed batches.");
        }
        let fails = actions.iter().any(|a| a["body"]["fail"] == json!(true));
        // A confirmed batch that will complete changes what reads show at once (it is atomic).
        if confirmed && !fails {
            for action in actions.iter().filter(|a| a["operation"] == "update") {
                if let (Some(resource), Some(body)) =
                    (action["resource"].as_str(), action.get("body"))
                {
                    state.update(resource, body);
                }
            }
        }
        let batch = Batch {
            id: format!("{}", 1_000_000 + state.batches.len()),
            org,
            confirmed_at: confirmed.then_some(now),
            synchronous,
            fails,
            actions,
        };
        state.counts.batches += 1;
        state.counts.actions += batch.actions.len() as u64;
        state.counts.largest_batch = state.counts.largest_batch.max(batch.actions.len());
        let running = state.running(&batch.org, now, self.batch_runtime)
            + usize::from(confirmed && !synchronous);
        state.counts.most_running_batches = state.counts.most_running_batches.max(running);
        let described = self.describe(&batch);
        state.batches.push(batch);
        ResponseTemplate::new(201).set_body_json(described)
    }

    fn describe(&self, batch: &Batch) -> Value {
        let done = batch
            .confirmed_at
            .is_some_and(|at| batch.synchronous || at.elapsed() >= self.batch_runtime);
        let failed = done && batch.fails;
        let errors: Vec<String> = if failed {
            let index = batch
                .actions
                .iter()
                .position(|a| a["body"]["fail"] == json!(true))
                .unwrap_or(0);
            vec![format!(
                "Action {index} failed: the simulated device refused it"
            )]
        } else {
            Vec::new()
        };
        json!({
            "id": batch.id,
            "organizationId": batch.org,
            "confirmed": batch.confirmed_at.is_some(),
            "synchronous": batch.synchronous,
            "status": {
                "completed": done && !failed,
                "failed": failed,
                "errors": errors,
                "createdResources": [],
            },
            "actions": batch.actions,
        })
    }
}
