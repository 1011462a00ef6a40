//! The simulated Dashboard ([`SimulatedDashboard`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use wiremock::{Mock, MockServer};

mod batches;
mod server;

use super::authorization::{AuthorizationServer, ValidAccessToken};
use crate::pacing::TokenBucket;
use crate::{Client, ClientBuilder};
use server::{lock, Owner, Responder, State};

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
    openapi_spec: Option<serde_json::Value>,
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

    /// The OpenAPI document `getOrganizationOpenapiSpec` answers, for every organization (as
    /// the live API serves its current spec).
    pub fn openapi_spec(mut self, spec: serde_json::Value) -> Self {
        self.openapi_spec = Some(spec);
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
                openapi_spec: self.openapi_spec,
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

impl std::fmt::Debug for SimulatedDashboard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimulatedDashboard")
            .field("base_url", &self.base_url())
            .field("latency", &self.latency)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
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
            openapi_spec: None,
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
