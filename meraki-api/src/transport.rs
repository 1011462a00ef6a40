//! The one way a request goes out, for generated operations, paginators, raw calls, action
//! batches and directory lookups alike: paced by the buckets its caller chose, retried,
//! redirected only to Meraki's hosts, kept on the organization's shard, or, in dry-run mode,
//! not sent at all when it would write.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderName, HeaderValue, LOCATION, RETRY_AFTER, USER_AGENT};
use reqwest::{Method, Request, Response, StatusCode, Url};
use tokio::time::Instant;

use crate::directory::{lesson_for, Directory, Lookups};
use crate::pacing::{Pace, Pacer, RateLimitConfig};
use crate::redirect::{authority, is_redirect, method_after, TrustedHosts};
use crate::retry::{
    parse_retry_after, verdict_for_error, verdict_for_status, RetryPolicy, Verdict,
};

/// Most redirects followed for one request.
const MAX_REDIRECTS: u32 = 10;

/// The status of the stand-in response for a write that dry-run mode did not send. No
/// operation documents it, so the generated code hands it back as unexpected, untouched.
pub(crate) const NOT_SENT_STATUS: u16 = 299;

/// What the client shares between its clones: limits, the directory of who owns which
/// network and device, the shard it was redirected to, and counts.
#[derive(Clone)]
pub struct ClientState {
    shared: Arc<Shared>,
    /// Writes are checked and reported, not sent (see `ClientBuilder::dry_run`).
    dry_run: bool,
}

struct Shared {
    auth: (HeaderName, HeaderValue),
    user_agent: HeaderValue,
    retry: RetryPolicy,
    pacer: Pacer,
    directory: Directory,
    lookups: Lookups,
    resolve: ResolveSettings,
    trusted: TrustedHosts,
    base_path: String,
    /// The configured base URL (scheme, host, port and path).
    base: Url,
    /// The spec's version, sent as `api-version` by every request.
    api_version: &'static str,
    /// Where the API last redirected the base URL's requests to (its shard): later requests go
    /// there directly, as Meraki's SDKs do, until it fails to connect.
    shard: std::sync::Mutex<Option<Url>>,
    stats: Counters,
}

/// What a client is built with (`ClientBuilder`).
pub(crate) struct Settings {
    /// The key's header (marked sensitive) and the User-Agent, set on every request here
    /// rather than as the HTTP client's defaults, so that a caller's own client works too.
    pub(crate) auth: (HeaderName, HeaderValue),
    pub(crate) user_agent: HeaderValue,
    pub(crate) retry: RetryPolicy,
    pub(crate) rate_limit: RateLimitConfig,
    pub(crate) extra_hosts: Vec<String>,
    pub(crate) resolve: ResolveSettings,
    pub(crate) directory_capacity: usize,
    pub(crate) dry_run: bool,
    pub(crate) api_version: &'static str,
}

/// How networks and devices of unknown organizations are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ResolveSettings {
    /// Look an unknown network or device up (`GET /networks/{id}`, `GET /devices/{serial}`).
    pub(crate) lookups: bool,
    /// After a lookup finds an organization not met before, list its networks (and, after a
    /// device lookup, its devices), so that its other ids need no lookup.
    pub(crate) list_organizations: bool,
    /// Most pages read of each listing.
    pub(crate) listing_pages: usize,
}

impl Default for ResolveSettings {
    fn default() -> Self {
        Self {
            lookups: true,
            list_organizations: true,
            listing_pages: 10,
        }
    }
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
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
}

/// Attached to the final response: how many attempts it took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempts(pub u32);

/// Attached to a redirect response that was not followed because of its target.
#[derive(Debug, Clone)]
pub(crate) struct RefusedRedirect {
    pub host: String,
}

/// A write that dry-run mode checked and did not send: what would have gone out.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct NotSent {
    /// `POST`, `PUT`, `DELETE` or `PATCH`.
    pub method: Method,
    /// The path below the base URL, encoded as it would have been sent
    /// (`/networks/N_1/devices/claim`).
    pub path: String,
    /// The query string, if any, encoded.
    pub query: Option<String>,
    /// The JSON body, if any.
    pub body: Option<serde_json::Value>,
}

tokio::task_local! {
    /// Set by `Operation::call` so a transport error can report the attempts made.
    pub(crate) static ATTEMPTS: std::cell::Cell<u32>;
    /// Set by `Operation::call_with_json`: the success body is kept here as well.
    pub(crate) static CAPTURED_BODY: std::cell::RefCell<Option<bytes::Bytes>>;
}

/// Where a caller asked for the raw body too, reads it once, keeps a (shared, uncopied)
/// handle, and hands progenitor an equivalent response to decode.
async fn capture_body(mut response: Response) -> reqwest::Result<Response> {
    if CAPTURED_BODY.try_with(|_| ()).is_err() {
        return Ok(response);
    }
    let mut rebuilt = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(headers) = rebuilt.headers_mut() {
        *headers = response.headers().clone();
    }
    if let Some(extensions) = rebuilt.extensions_mut() {
        *extensions = std::mem::take(response.extensions_mut());
    }
    let body = response.bytes().await?;
    let _ = CAPTURED_BODY.try_with(|slot| *slot.borrow_mut() = Some(body.clone()));
    let rebuilt = rebuilt
        .body(reqwest::Body::from(body))
        .expect("status and headers come from a valid response");
    Ok(Response::from(rebuilt))
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
            auth: settings.auth,
            user_agent: settings.user_agent,
            retry: settings.retry,
            pacer: Pacer::new(settings.rate_limit),
            directory: Directory::new(settings.directory_capacity),
            lookups: Lookups::default(),
            resolve: settings.resolve,
            trusted: TrustedHosts::new(base_url, settings.extra_hosts),
            base_path: base_url.path().trim_end_matches('/').to_owned(),
            base: base_url.clone(),
            api_version: settings.api_version,
            shard: std::sync::Mutex::new(None),
            stats: Counters::default(),
        };
        Self {
            shared: Arc::new(shared),
            dry_run: settings.dry_run,
        }
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

    /// Whether dry-run mode keeps this request from being sent.
    pub(crate) fn withholds(&self, request: &Request) -> bool {
        self.dry_run && is_write(request.method())
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

    pub(crate) fn lookups(&self) -> &Lookups {
        &self.shared.lookups
    }

    pub(crate) fn resolve_settings(&self) -> ResolveSettings {
        self.shared.resolve
    }

    pub(crate) fn count_lookup(&self) {
        self.shared.stats.lookups.fetch_add(1, Ordering::Relaxed);
    }

    /// A request path relative to the base URL (`/networks/N_1/devices`).
    pub(crate) fn relative_path<'u>(&self, url: &'u Url) -> &'u str {
        let path = url.path();
        path.strip_prefix(self.shared.base_path.as_str())
            .unwrap_or(path)
    }

    /// A request for `path` below the base URL (with its query, encoded), with the headers
    /// every generated operation sends (`Accept`, `api-version`).
    pub(crate) fn request(
        &self,
        http: &reqwest::Client,
        method: Method,
        path_and_query: &str,
    ) -> reqwest::RequestBuilder {
        let base = self.shared.base.as_str().trim_end_matches('/');
        http.request(method, format!("{base}{path_and_query}"))
            .header(reqwest::header::ACCEPT, "application/json")
            .header("api-version", self.shared.api_version)
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
        }
    }

    /// Sends `request` paced by `pace`: waits for its buckets, retries 429s, 5xx and transport
    /// failures as the policy allows, follows redirects to trusted hosts, and marks a
    /// successful listing so that the directory learns from its body when it is decoded.
    pub(crate) async fn execute(
        &self,
        http: &reqwest::Client,
        mut request: Request,
        pace: Pace,
    ) -> reqwest::Result<Response> {
        if self.withholds(&request) {
            return Ok(self.not_sent(request));
        }
        let shared = &*self.shared;
        let headers = request.headers_mut();
        headers.insert(shared.auth.0.clone(), shared.auth.1.clone());
        headers.insert(USER_AGENT, shared.user_agent.clone());
        let started = Instant::now();
        let mut attempt = 0u32;
        let mut redirects = 0u32;
        self.route_to_shard(request.url_mut());
        loop {
            attempt += 1;
            let _ = ATTEMPTS.try_with(|a| a.set(attempt));
            shared.pacer.acquire(&pace).await;
            // A body that cannot be cloned (a stream) is sent once, without retries.
            let spare = request.try_clone();
            shared.stats.requests.fetch_add(1, Ordering::Relaxed);
            let method = request.method().clone();
            let outcome = http.execute(request).await;
            let verdict = match &outcome {
                Ok(response) => verdict_for_status(response.status(), &method),
                Err(error) => verdict_for_error(error, &method),
            };
            let Some(mut spare) = spare else {
                return outcome.map(|r| finish(r, attempt));
            };
            if matches!(&outcome, Err(e) if e.is_connect()) && self.forget_shard(spare.url()) {
                set_origin(spare.url_mut(), &shared.base);
            }
            if let Ok(response) = &outcome {
                if is_redirect(response.status()) {
                    let from = spare.url().clone();
                    match self.redirect(response, spare, &mut redirects) {
                        Ok(next) => {
                            tracing::debug!(
                                target: "meraki_api",
                                status = response.status().as_u16(),
                                to = %authority(next.url()),
                                "following redirect"
                            );
                            self.remember_shard(&from, next.url());
                            request = next;
                            attempt -= 1; // A redirect is not a failed attempt.
                            continue;
                        }
                        Err(refused) => {
                            let mut response = outcome.expect("matched Ok");
                            if let Some(refused) = refused {
                                tracing::warn!(
                                    target: "meraki_api",
                                    to = %refused.host,
                                    "refused a redirect to a host that is not Meraki's"
                                );
                                response.extensions_mut().insert(refused);
                            }
                            return Ok(finish(response, attempt));
                        }
                    }
                }
            }
            let wait = match verdict {
                Verdict::Done => {
                    let mut response = outcome?;
                    if !response.status().is_success() {
                        return Ok(finish(response, attempt));
                    }
                    shared.pacer.succeeded(&pace);
                    if method == Method::GET {
                        self.attach_lesson(&mut response);
                    }
                    return capture_body(response).await.map(|r| finish(r, attempt));
                }
                Verdict::RetryAfterThrottle => {
                    shared.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    shared.pacer.throttled(&pace);
                    outcome
                        .as_ref()
                        .ok()
                        .and_then(|r| r.headers().get(RETRY_AFTER))
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        .unwrap_or_else(|| shared.retry.backoff(attempt))
                        .min(shared.retry.max_backoff)
                }
                Verdict::RetryAfterBackoff => shared.retry.backoff(attempt),
            };
            let out_of_time = shared
                .retry
                .deadline
                .is_some_and(|d| started.elapsed() + wait > d);
            if attempt >= shared.retry.max_attempts || out_of_time {
                return outcome.map(|r| finish(r, attempt));
            }
            match &outcome {
                Ok(_) if verdict == Verdict::RetryAfterThrottle => tracing::info!(
                    target: "meraki_api",
                    attempt,
                    wait_ms = wait.as_millis() as u64,
                    lane = ?pace.lane,
                    "429: waiting before sending again (the request's bucket slows down)"
                ),
                Ok(response) => tracing::info!(
                    target: "meraki_api",
                    attempt,
                    status = response.status().as_u16(),
                    wait_ms = wait.as_millis() as u64,
                    "server error: retrying"
                ),
                Err(error) => tracing::info!(
                    target: "meraki_api",
                    attempt,
                    error = %error,
                    wait_ms = wait.as_millis() as u64,
                    "transport failure: retrying"
                ),
            }
            // Free the connection before waiting.
            drop(outcome);
            shared.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            request = spare;
        }
    }

    /// A listing's body teaches the directory who owns what; the decoder that reads the body
    /// anyway passes it on (`decode::Observer`), so nothing is read twice.
    fn attach_lesson(&self, response: &mut Response) {
        let Some(lesson) = lesson_for(self.relative_path(response.url())) else {
            return;
        };
        let state = self.clone();
        let observer = crate::decode::Observer::new(move |body: &[u8]| {
            state.shared.directory.learn(&lesson, body);
        });
        response.extensions_mut().insert(observer);
    }

    /// The stand-in response for a write that dry-run mode does not send.
    fn not_sent(&self, request: Request) -> Response {
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
        let record = NotSent {
            method: request.method().clone(),
            path: self.relative_path(request.url()).to_owned(),
            query: request.url().query().map(str::to_owned),
            body,
        };
        let mut response = http::Response::new(reqwest::Body::from(Vec::new()));
        *response.status_mut() = StatusCode::from_u16(NOT_SENT_STATUS).expect("a status in range");
        response.extensions_mut().insert(record);
        let mut response = Response::from(response);
        response.extensions_mut().insert(Attempts(0));
        response
    }

    /// Sends a request for the base URL to the shard the API moved us to, if any.
    fn route_to_shard(&self, url: &mut Url) {
        let shard = self
            .shared
            .shard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(shard) = shard {
            if same_origin(url, &self.shared.base) {
                set_origin(url, &shard);
            }
        }
    }

    /// A redirect of the same path from the base URL (or the current shard) to another trusted
    /// host names the organization's shard.
    fn remember_shard(&self, from: &Url, to: &Url) {
        let mut shard = self.shared.shard.lock().unwrap_or_else(|e| e.into_inner());
        let from_us = same_origin(from, &self.shared.base)
            || shard.as_ref().is_some_and(|s| same_origin(from, s));
        if from_us && from.path() == to.path() && !same_origin(to, &self.shared.base) {
            if !shard.as_ref().is_some_and(|s| same_origin(s, to)) {
                tracing::info!(target: "meraki_api", shard = %authority(to), "later calls go to the shard");
            }
            *shard = Some(to.clone());
        }
    }

    /// Stops using the shard if `url` is on it; says whether it was.
    fn forget_shard(&self, url: &Url) -> bool {
        let mut shard = self.shared.shard.lock().unwrap_or_else(|e| e.into_inner());
        let on_shard = shard.as_ref().is_some_and(|s| same_origin(url, s));
        if on_shard {
            tracing::info!(
                target: "meraki_api",
                shard = %authority(url),
                "the shard stopped answering: back to the base URL"
            );
            *shard = None;
        }
        on_shard
    }

    /// The request to send next for a redirect, or why not: `Err(Some(_))` for a refused
    /// target, `Err(None)` when the redirect cannot be followed (no Location, too many).
    fn redirect(
        &self,
        response: &Response,
        mut request: Request,
        redirects: &mut u32,
    ) -> Result<Request, Option<RefusedRedirect>> {
        *redirects += 1;
        if *redirects > MAX_REDIRECTS {
            return Err(None);
        }
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(None)?;
        let target = response.url().join(location).map_err(|_| None)?;
        if !self.shared.trusted.trusts(&target) {
            return Err(Some(RefusedRedirect {
                host: authority(&target),
            }));
        }
        let method = method_after(response.status(), request.method());
        if method != *request.method() {
            *request.body_mut() = None;
            request.headers_mut().remove(reqwest::header::CONTENT_TYPE);
            request
                .headers_mut()
                .remove(reqwest::header::CONTENT_LENGTH);
        }
        *request.method_mut() = method;
        *request.url_mut() = target;
        Ok(request)
    }
}

/// Methods that change something, which dry-run mode does not send.
fn is_write(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::DELETE | Method::PATCH
    )
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Moves `url` to `origin`'s scheme, host and port, keeping path and query.
fn set_origin(url: &mut Url, origin: &Url) {
    // Both are http(s) URLs with hosts, so none of these can fail.
    let _ = url.set_scheme(origin.scheme());
    let _ = url.set_host(origin.host_str());
    let _ = url.set_port(origin.port());
}

fn finish(mut response: Response, attempts: u32) -> Response {
    response.extensions_mut().insert(Attempts(attempts));
    response
}

/// Reads the `Retry-After` of a final 429, for error reports.
pub(crate) fn retry_after_of(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Whether `status` is one the client would have retried.
pub(crate) fn is_throttle(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
}
