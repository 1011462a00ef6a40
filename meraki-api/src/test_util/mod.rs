//! Recorded HTTP exchanges ("fixtures") and a local server that replays them, for testing
//! code that uses this client without the live API. Enabled by the `test-util` feature.
//!
//! A fixture file is JSON:
//!
//! ```json
//! {
//!   "description": "first page of licenses",
//!   "request": {
//!     "method": "GET",
//!     "path": "/api/v1/organizations/123456/licenses",
//!     "query": [["perPage", "3"]],
//!     "headers": {"authorization": "Bearer {{api_key}}", "accept": "application/json"}
//!   },
//!   "response": {
//!     "status": 200,
//!     "headers": {"link": "<https://n1.meraki.com/api/v1/...>; rel=next"},
//!     "body": [{"id": "1"}]
//!   }
//! }
//! ```
//!
//! The key is never recorded: `{{api_key}}` in a request header stands for
//! [`FIXTURE_API_KEY`], the key the replaying client must send.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use crate::{Client, ClientBuilder};

/// The placeholder that stands for the API key in fixture request headers.
pub const KEY_PLACEHOLDER: &str = "{{api_key}}";

/// The (fake) key a client replaying fixtures sends in place of [`KEY_PLACEHOLDER`].
pub const FIXTURE_API_KEY: &str = "feedfacefeedfacefeedfacefeedfacefeedface";

/// One recorded request/response exchange.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Fixture {
    /// What the exchange shows.
    #[serde(default)]
    pub description: String,
    /// The request the client must send.
    pub request: RecordedRequest,
    /// The response the server gives.
    pub response: RecordedResponse,
    /// Where the answer came from, for recordings of a real API (`recorded from
    /// api.meraki.com`): `cargo xtask conform` holds them to the spec, and a test checks that
    /// each decodes into its operation's type. Hand-written fixtures have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// A recorded request.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path, including the `/api/v1` prefix.
    pub path: String,
    /// Query pairs, decoded, in any order (`profileIds[]` repeated once per value).
    #[serde(default)]
    pub query: Vec<(String, String)>,
    /// Headers the request must carry (names lower-case).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
}

/// A recorded response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct RecordedResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers (`link`, `x-request-id`, `retry-after`, ...).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// JSON body; a string is sent as raw text (for non-JSON bodies).
    #[serde(default)]
    pub body: Value,
}

/// Why fixtures could not be loaded.
#[derive(Debug)]
pub struct FixtureError {
    /// The file at fault.
    pub file: PathBuf,
    /// What is wrong with it.
    pub message: String,
}

impl std::fmt::Display for FixtureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "fixture {}: {}", self.file.display(), self.message)
    }
}

impl std::error::Error for FixtureError {}

impl RecordedRequest {
    /// A request by method and path (with the `/api/v1` prefix), no query or headers.
    pub fn new(method: impl Into<String>, path: impl Into<String>) -> Self {
        Self {
            method: method.into(),
            path: path.into(),
            query: Vec::new(),
            headers: Default::default(),
        }
    }
}

impl RecordedResponse {
    /// A response with this status and JSON body, no headers.
    pub fn new(status: u16, body: Value) -> Self {
        Self {
            status,
            headers: Default::default(),
            body,
        }
    }
}

impl Fixture {
    /// A fixture answering `request` with `response`.
    pub fn new(
        description: impl Into<String>,
        request: RecordedRequest,
        response: RecordedResponse,
    ) -> Self {
        Self {
            description: description.into(),
            request,
            response,
            source: None,
        }
    }

    /// Reads one fixture file.
    pub fn load(file: &Path) -> Result<Self, FixtureError> {
        let fail = |message: String| FixtureError {
            file: file.to_owned(),
            message,
        };
        let text = std::fs::read_to_string(file).map_err(|e| fail(e.to_string()))?;
        serde_json::from_str(&text).map_err(|e| fail(e.to_string()))
    }

    /// Reads every `*.json` fixture in `dir`, in file-name order.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>, FixtureError> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| FixtureError {
                file: dir.to_owned(),
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        files.iter().map(|f| Self::load(f)).collect()
    }

    /// Whether `request` is the recorded request: method, path, the same query pairs in any
    /// order, and every recorded header (with the key placeholder filled in).
    pub fn matches(&self, request: &Request) -> bool {
        let recorded = &self.request;
        if !request
            .method
            .as_str()
            .eq_ignore_ascii_case(&recorded.method)
            || request.url.path() != recorded.path
        {
            return false;
        }
        let mut sent: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let mut want = recorded.query.clone();
        sent.sort();
        want.sort();
        if sent != want {
            return false;
        }
        recorded.headers.iter().all(|(name, value)| {
            let expected = value.replace(KEY_PLACEHOLDER, FIXTURE_API_KEY);
            request
                .headers
                .get(name.as_str())
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v == expected)
        })
    }

    fn response_template(&self) -> ResponseTemplate {
        let mut template = ResponseTemplate::new(self.response.status);
        for (name, value) in &self.response.headers {
            template = template.append_header(name.as_str(), value.as_str());
        }
        match &self.response.body {
            Value::Null => template,
            Value::String(text) => template.set_body_raw(text.clone().into_bytes(), "text/plain"),
            body => template.set_body_raw(
                serde_json::to_vec(body).expect("a Value always serializes"),
                "application/json",
            ),
        }
    }
}

/// Answers a request no fixture matches: `404` naming the request and the closest fixture,
/// with what differs.
struct Unmatched(Vec<Fixture>);

impl wiremock::Respond for Unmatched {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let sent = format!("{} {}", request.method, request.url.path());
        let message = match closest(&self.0, request) {
            Some((index, fixture, difference)) => format!(
                "no fixture matches {sent}; closest is fixture #{index} ({}): {difference}",
                fixture.description
            ),
            None => format!("no fixture matches {sent}: there are no fixtures"),
        };
        ResponseTemplate::new(404).set_body_json(serde_json::json!({ "errors": [message] }))
    }
}

/// The fixture nearest to `request` (same method and path first, then same path, then the
/// longest shared path), and what differs.
fn closest<'f>(fixtures: &'f [Fixture], request: &Request) -> Option<(usize, &'f Fixture, String)> {
    let path = request.url.path();
    let method = request.method.as_str();
    let shared_prefix = |recorded: &str| {
        recorded
            .split('/')
            .zip(path.split('/'))
            .take_while(|(a, b)| a == b)
            .count()
    };
    let score = |f: &Fixture| {
        let same_path = f.request.path == path;
        let same_method = f.request.method.eq_ignore_ascii_case(method);
        (
            same_path && same_method,
            same_path,
            shared_prefix(&f.request.path),
        )
    };
    let (index, fixture) = fixtures
        .iter()
        .enumerate()
        .max_by_key(|(i, f)| (score(f), std::cmp::Reverse(*i)))?;
    let recorded = &fixture.request;
    let difference = if !recorded.method.eq_ignore_ascii_case(method) || recorded.path != path {
        format!("it is {} {}", recorded.method, recorded.path)
    } else {
        let mut sent: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        let mut want = recorded.query.clone();
        sent.sort();
        want.sort();
        if sent != want {
            let missing: Vec<String> = want
                .iter()
                .filter(|p| !sent.contains(p))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            let extra: Vec<String> = sent
                .iter()
                .filter(|p| !want.contains(p))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!(
                "query differs (recorded but not sent: [{}]; sent but not recorded: [{}])",
                missing.join(", "),
                extra.join(", ")
            )
        } else {
            let headers: Vec<&str> = recorded
                .headers
                .iter()
                .filter(|(name, value)| {
                    let expected = value.replace(KEY_PLACEHOLDER, FIXTURE_API_KEY);
                    request
                        .headers
                        .get(name.as_str())
                        .and_then(|v| v.to_str().ok())
                        != Some(expected.as_str())
                })
                .map(|(name, _)| name.as_str())
                .collect();
            // Header values are not shown: one of them carries the key.
            format!("header(s) differ: {}", headers.join(", "))
        }
    };
    Some((index, fixture, difference))
}

struct FixtureMatcher(Fixture);

impl wiremock::Match for FixtureMatcher {
    fn matches(&self, request: &Request) -> bool {
        self.0.matches(request)
    }
}

/// A local HTTP server (127.0.0.1, random port) answering with recorded responses.
pub struct ReplayServer {
    server: MockServer,
}

impl std::fmt::Debug for ReplayServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplayServer")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl ReplayServer {
    /// Starts a server that answers each fixture's request with its response, each fixture
    /// expected exactly `times` times (`None`: any number). A request that matches no fixture
    /// gets `404` naming the fixture that came closest and what differs (method and path,
    /// query pairs, or which headers).
    pub async fn start(fixtures: &[Fixture], times: Option<u64>) -> Self {
        let server = MockServer::start().await;
        for (i, fixture) in fixtures.iter().enumerate() {
            let mut mock = Mock::given(FixtureMatcher(fixture.clone()))
                .respond_with(fixture.response_template())
                .named(format!("fixture #{i}: {}", fixture.description));
            if let Some(times) = times {
                mock = mock.expect(times);
            }
            mock.mount(&server).await;
        }
        // Below every fixture: what did not match, and which fixture came closest.
        Mock::given(wiremock::matchers::any())
            .respond_with(Unmatched(fixtures.to_vec()))
            .with_priority(u8::MAX)
            .named("no fixture matched")
            .mount(&server)
            .await;
        Self { server }
    }

    /// Starts a server for every fixture in `dir`, each expected once.
    pub async fn from_dir(dir: &Path) -> Result<Self, FixtureError> {
        Ok(Self::start(&Fixture::load_dir(dir)?, Some(1)).await)
    }

    /// The base URL to give the client: `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        base_url(&self.server)
    }

    /// A client builder pointed at this server, with [`FIXTURE_API_KEY`].
    pub fn client_builder(&self) -> ClientBuilder {
        client_builder(&self.server)
    }

    /// A client pointed at this server.
    pub fn client(&self) -> Client {
        client(&self.server)
    }

    /// Panics, listing them, if fixtures were not requested as often as expected.
    pub async fn verify(&self) {
        self.server.verify().await;
    }

    /// The underlying mock server, to mount hand-written responses beside the fixtures.
    pub fn mock_server(&self) -> &MockServer {
        &self.server
    }

    /// The requests received so far, for assertions.
    pub async fn received(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

/// The API's base URL on a local server.
fn base_url(server: &MockServer) -> String {
    format!("{}/api/v1", server.uri())
}

/// A client builder for a local server, with [`FIXTURE_API_KEY`].
fn client_builder(server: &MockServer) -> ClientBuilder {
    Client::builder()
        .api_key(FIXTURE_API_KEY)
        .base_url(base_url(server))
}

/// A client for a local server.
fn client(server: &MockServer) -> Client {
    client_builder(server)
        .build()
        .expect("a local base URL and a valid key always build")
}

mod anonymize;
mod authorization;
mod dashboard;
mod faults;
mod mock;
pub mod record;
pub use anonymize::Anonymizer;
pub use authorization::{
    AuthorizationCounts, AuthorizationServer, AuthorizationServerBuilder, ValidAccessToken,
    TEST_CLIENT_ID, TEST_CLIENT_SECRET,
};
pub use dashboard::{Counts as DashboardCounts, SimulatedDashboard, SimulatedDashboardBuilder};
pub use faults::{Fault, FaultCounts, FaultPlan, FaultyProxy, ProxyError};
pub use mock::{MockApi, When};

/// Decodes `body` as operation `operation_id`'s output type, with the decoder `.send()` uses,
/// and encodes the typed value back to JSON: what a caller would see of that body. `None` for an
/// operation this build does not have (its area's feature is off) or whose output is not JSON.
pub fn decode_as_output(
    operation_id: &str,
    body: &[u8],
) -> Option<Result<serde_json::Value, String>> {
    crate::generated::output_round_trip(operation_id, body)
}
