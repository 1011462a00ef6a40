//! What a client's clones share, and what a client is built with: the settings every request
//! reads, the pacer, the directory, the shards it was redirected to, and counts.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::{Method, Request, Url};

use super::redirect::TrustedHosts;
use super::retry::RetryPolicy;
use super::shards::Shards;
use crate::auth::Credentials;
use crate::drift::DriftLog;
use crate::error::NotSent;
use crate::pacing::directory::Directory;
use crate::pacing::{Pace, Pacer, RateLimitConfig};

/// A boxed, sendable future: what crosses a layer boundary (it keeps the futures of a call
/// shallow enough for any crate to compile at the default recursion limit).
pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Chooses the pace of a request: the organization it counts against, learned from its path,
/// the directory, or a lookup (`workflows::owners`).
pub(crate) trait Resolve: Send + Sync + std::fmt::Debug {
    /// The pace of a request for `url` (looking its owner up if need be).
    fn pace_for<'a>(
        &'a self,
        state: &'a ClientState,
        http: &'a reqwest::Client,
        url: &'a Url,
    ) -> BoxFuture<'a, Pace>;

    /// Lists `org`'s networks and devices into the directory.
    fn learn_organization<'a>(
        &'a self,
        state: &'a ClientState,
        http: &'a reqwest::Client,
        org: &'a str,
    ) -> BoxFuture<'a, Result<(), crate::Error>>;
}

/// What the client shares between its clones.
#[derive(Clone)]
pub struct ClientState {
    shared: Arc<Shared>,
    /// Writes are checked and reported, not sent (see `ClientBuilder::dry_run`).
    dry_run: bool,
}

pub(super) struct Shared {
    pub(super) credentials: Credentials,
    pub(super) user_agent: HeaderValue,
    pub(super) retry: RetryPolicy,
    /// The per-attempt timeout the client's own HTTP client was built with, if it was.
    pub(super) attempt_timeout: Option<Duration>,
    pub(super) callers_client: bool,
    pub(super) pacer: Pacer,
    pub(super) directory: Directory,
    pub(super) resolver: Arc<dyn Resolve>,
    pub(super) trusted: TrustedHosts,
    base_path: String,
    /// The configured base URL (scheme, host, port and path).
    pub(super) base: Url,
    pub(super) shards: Shards,
    pub(super) stats: Counters,
    /// What answers showed beyond the spec.
    drift: DriftLog,
    /// Deprecated operations this client has called (each traced once).
    deprecated_called: std::sync::Mutex<std::collections::HashSet<&'static str>>,
}

/// What a client is built with (`ClientBuilder`).
pub(crate) struct Settings {
    /// The key's header (marked sensitive) or the OAuth token source, set on every request by
    /// the request path rather than as the HTTP client's defaults, so that a caller's own client
    /// works too.
    pub(crate) credentials: Credentials,
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryPolicy,
    pub(crate) attempt_timeout: Option<Duration>,
    /// The HTTP client is the caller's: an answer from another URL than the one sent means it
    /// followed a redirect itself.
    pub(crate) callers_client: bool,
    pub(crate) rate_limit: RateLimitConfig,
    pub(crate) extra_hosts: Vec<String>,
    /// `ClientBuilder::allow_insecure_http`.
    pub(crate) insecure_http: bool,
    pub(crate) resolver: Arc<dyn Resolve>,
    pub(crate) directory_capacity: usize,
    pub(crate) dry_run: bool,
}

#[derive(Default)]
pub(super) struct Counters {
    pub(super) requests: AtomicU64,
    pub(super) retries: AtomicU64,
    pub(super) throttled: AtomicU64,
    lookups: AtomicU64,
    not_sent: AtomicU64,
}

/// Counts since the client was built, across all its clones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// HTTP requests sent, retries, redirects and lookups included.
    pub requests: u64,
    /// Requests sent again after a 429, 5xx or transport failure.
    pub retries: u64,
    /// 429 responses received.
    pub throttled: u64,
    /// Requests the client made to find a network's or device's organization.
    pub lookups: u64,
    /// Writes that dry-run mode checked and did not send.
    pub not_sent: u64,
    /// OAuth access tokens obtained with the refresh token.
    pub oauth_refreshes: u64,
    /// Distinct ways answers differed from the spec (`Client::drift` lists them).
    pub drift: u64,
}

impl std::fmt::Debug for ClientState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientState")
            .field("retry", &self.shared.retry)
            .field("trusted", &self.shared.trusted)
            .field("dry_run", &self.dry_run)
            .field("directory_entries", &self.shared.directory.len())
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl ClientState {
    pub(crate) fn new(base_url: &Url, settings: Settings) -> Self {
        let shared = Shared {
            credentials: settings.credentials,
            user_agent: settings.user_agent,
            retry: settings.retry,
            attempt_timeout: settings.attempt_timeout,
            callers_client: settings.callers_client,
            pacer: Pacer::new(settings.rate_limit),
            directory: Directory::new(settings.directory_capacity),
            resolver: settings.resolver,
            trusted: TrustedHosts::new(base_url, settings.extra_hosts, settings.insecure_http),
            base_path: base_url.path().trim_end_matches('/').to_owned(),
            base: base_url.clone(),
            shards: Shards::default(),
            stats: Counters::default(),
            drift: DriftLog::default(),
            deprecated_called: Default::default(),
        };
        Self {
            shared: Arc::new(shared),
            dry_run: settings.dry_run,
        }
    }

    pub(super) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The same client state with dry-run mode on or off: limits, directory and counts stay
    /// shared.
    pub(crate) fn with_dry_run(&self, dry_run: bool) -> Self {
        Self {
            shared: self.shared.clone(),
            dry_run,
        }
    }

    pub(crate) fn is_dry_run(&self) -> bool {
        self.dry_run
    }

    /// Whether dry-run mode keeps this request from being sent: all but reads.
    pub(crate) fn withholds(&self, request: &Request) -> bool {
        self.dry_run && !is_read(request.method())
    }

    pub(crate) fn trusted(&self) -> &TrustedHosts {
        &self.shared.trusted
    }

    pub(crate) fn pacer(&self) -> &Pacer {
        &self.shared.pacer
    }

    pub(crate) fn directory(&self) -> &Directory {
        &self.shared.directory
    }

    pub(crate) fn resolver(&self) -> &Arc<dyn Resolve> {
        &self.shared.resolver
    }

    pub(crate) fn count_lookup(&self) {
        self.shared.stats.lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// The OAuth token source, if the client authenticates with OAuth.
    pub(crate) fn oauth(&self) -> Option<&Arc<crate::auth::oauth::TokenSource>> {
        self.shared.credentials.oauth()
    }

    /// The configured base URL.
    pub(crate) fn base_url(&self) -> &Url {
        &self.shared.base
    }

    /// A request path relative to the base URL (`/networks/N_1/devices`).
    pub(crate) fn relative_path<'u>(&self, url: &'u Url) -> &'u str {
        let path = url.path();
        path.strip_prefix(self.shared.base_path.as_str())
            .unwrap_or(path)
    }

    /// A request for `path` below the base URL (with its query, encoded), accepting JSON as
    /// every generated operation does.
    pub(crate) fn request(
        &self,
        http: &reqwest::Client,
        method: Method,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        let base = self.shared.base.as_str().trim_end_matches('/');
        http.request(method, format!("{base}{path_and_query}"))
            .header(reqwest::header::ACCEPT, "application/json")
    }

    /// Counts since the client was built.
    pub fn stats(&self) -> Stats {
        let c = &self.shared.stats;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
            lookups: c.lookups.load(Ordering::Relaxed),
            not_sent: c.not_sent.load(Ordering::Relaxed),
            oauth_refreshes: self.oauth().map_or(0, |source| source.refreshes()),
            drift: self.shared.drift.distinct(),
        }
    }

    /// What answers showed beyond the spec.
    pub(crate) fn drift_log(&self) -> &DriftLog {
        &self.shared.drift
    }

    /// A deprecated operation is called: said once per client, with what replaces it.
    pub(crate) fn deprecated_called(&self, operation: &'static str, note: &'static str) {
        let first = self
            .shared
            .deprecated_called
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(operation);
        if first {
            tracing::warn!(target: "meraki_api", operation, note, "deprecated operation called");
        }
    }

    /// What a write that dry-run mode does not send would have been.
    pub(super) fn not_sent(&self, request: &Request) -> NotSent {
        self.shared.stats.not_sent.fetch_add(1, Ordering::Relaxed);
        tracing::info!(
            target: "meraki_api",
            method = %request.method(),
            path = self.relative_path(request.url()),
            "dry run: write checked and not sent"
        );
        let body = request
            .body()
            .and_then(reqwest::Body::as_bytes)
            .and_then(|bytes| serde_json::from_slice(bytes).ok());
        NotSent {
            method: request.method().clone(),
            path: self.relative_path(request.url()).to_owned(),
            query: request.url().query().map(str::to_owned),
            body,
        }
    }
}

/// The methods dry-run mode sends: an allow-list, so no other method can write.
fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
