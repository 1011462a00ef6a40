//! The generated client's hooks: every request of every operation passes through here.
//!
//! `pre` checks parameters against the spec before anything is sent; `exec` throttles,
//! retries and follows redirects to Meraki's hosts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{LOCATION, RETRY_AFTER};
use reqwest::{Request, Response, StatusCode, Url};
use tokio::time::Instant;

use crate::operation::{OperationSpec, QueryBound};
use crate::rate_limit::{organization_in_path, RateLimitConfig, RateLimiter};
use crate::redirect::{authority, is_redirect, method_after, TrustedHosts};
use crate::retry::{
    parse_retry_after, verdict_for_error, verdict_for_status, RetryPolicy, Verdict,
};
use crate::Client;

/// Most redirects followed for one request.
const MAX_REDIRECTS: u32 = 10;

/// Per-client state behind the generated `Client`, shared by its clones.
#[derive(Clone)]
pub struct Runtime(Arc<RuntimeInner>);

struct RuntimeInner {
    retry: RetryPolicy,
    limiter: RateLimiter,
    trusted: TrustedHosts,
    base_path: String,
    /// Scheme, host and port of the configured base URL.
    base: Url,
    /// Where the API last redirected the base URL's requests to (its shard): later requests go
    /// there directly, as Meraki's SDKs do, until it fails to connect.
    shard: std::sync::Mutex<Option<Url>>,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    throttled: AtomicU64,
}

/// Counts since the client was built, across all its clones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests sent, retries and redirects included.
    pub requests: u64,
    /// Requests sent again after a 429, 5xx or transport failure.
    pub retries: u64,
    /// 429 responses received.
    pub throttled: u64,
}

/// Attached to the final response: how many attempts it took.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attempts(pub u32);

/// Attached to a redirect response that was not followed because of its target.
#[derive(Debug, Clone)]
pub(crate) struct RefusedRedirect {
    pub host: String,
}

tokio::task_local! {
    /// Set by `Operation::call` so a transport error can report the attempts made.
    pub(crate) static ATTEMPTS: std::cell::Cell<u32>;
    /// Set by `Operation::call_with_json`: the success body is kept here as well.
    pub(crate) static CAPTURED_BODY: std::cell::RefCell<Option<bytes::Bytes>>;
}

/// Where a caller asked for the raw body too, reads it once, keeps a (shared, uncopied)
/// handle, and hands progenitor an equivalent response to decode.
async fn capture_body(response: Response) -> reqwest::Result<Response> {
    if CAPTURED_BODY.try_with(|_| ()).is_err() {
        return Ok(response);
    }
    let mut rebuilt = http::Response::builder()
        .status(response.status())
        .version(response.version());
    if let Some(headers) = rebuilt.headers_mut() {
        *headers = response.headers().clone();
    }
    let body = response.bytes().await?;
    let _ = CAPTURED_BODY.try_with(|slot| *slot.borrow_mut() = Some(body.clone()));
    let rebuilt = rebuilt
        .body(reqwest::Body::from(body))
        .expect("status and headers come from a valid response");
    Ok(Response::from(rebuilt))
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("retry", &self.0.retry)
            .field("trusted", &self.0.trusted)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    pub(crate) fn new(
        base_url: &Url,
        retry: RetryPolicy,
        rate_limit: RateLimitConfig,
        extra_hosts: Vec<String>,
    ) -> Self {
        Self(Arc::new(RuntimeInner {
            retry,
            limiter: RateLimiter::new(rate_limit),
            trusted: TrustedHosts::new(base_url, extra_hosts),
            base_path: base_url.path().trim_end_matches('/').to_owned(),
            base: base_url.clone(),
            shard: std::sync::Mutex::new(None),
            stats: Counters::default(),
        }))
    }

    pub(crate) fn trusted(&self) -> &TrustedHosts {
        &self.0.trusted
    }

    /// Counts since the client was built.
    pub fn stats(&self) -> Stats {
        let c = &self.0.stats;
        Stats {
            requests: c.requests.load(Ordering::Relaxed),
            retries: c.retries.load(Ordering::Relaxed),
            throttled: c.throttled.load(Ordering::Relaxed),
        }
    }

    async fn execute(
        &self,
        http: &reqwest::Client,
        mut request: Request,
    ) -> reqwest::Result<Response> {
        let inner = &*self.0;
        let started = Instant::now();
        let org = organization_in_path(request.url().path()).map(str::to_owned);
        let mut attempt = 0u32;
        let mut redirects = 0u32;
        self.route_to_shard(request.url_mut());
        loop {
            attempt += 1;
            let _ = ATTEMPTS.try_with(|a| a.set(attempt));
            inner.limiter.acquire(org.as_deref()).await;
            // A body that cannot be cloned (a stream) is sent once, without retries.
            let spare = request.try_clone();
            inner.stats.requests.fetch_add(1, Ordering::Relaxed);
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
                set_origin(spare.url_mut(), &inner.base);
            }
            if let Ok(response) = &outcome {
                if is_redirect(response.status()) {
                    let from = spare.url().clone();
                    match self.redirect(response, spare, &mut redirects) {
                        Ok(next) => {
                            self.remember_shard(&from, next.url());
                            request = next;
                            attempt -= 1; // A redirect is not a failed attempt.
                            continue;
                        }
                        Err(refused) => {
                            let mut response = outcome.expect("matched Ok");
                            if let Some(refused) = refused {
                                response.extensions_mut().insert(refused);
                            }
                            return Ok(finish(response, attempt));
                        }
                    }
                }
            }
            let wait = match verdict {
                Verdict::Done => {
                    let response = outcome?;
                    if !response.status().is_success() {
                        return Ok(finish(response, attempt));
                    }
                    inner.limiter.succeeded(org.as_deref());
                    return capture_body(response).await.map(|r| finish(r, attempt));
                }
                Verdict::RetryAfterThrottle => {
                    inner.stats.throttled.fetch_add(1, Ordering::Relaxed);
                    inner.limiter.throttled(org.as_deref());
                    outcome
                        .as_ref()
                        .ok()
                        .and_then(|r| r.headers().get(RETRY_AFTER))
                        .and_then(|v| parse_retry_after(v, SystemTime::now()))
                        .unwrap_or_else(|| inner.retry.backoff(attempt))
                        .min(inner.retry.max_backoff)
                }
                Verdict::RetryAfterBackoff => inner.retry.backoff(attempt),
            };
            let out_of_time = inner
                .retry
                .deadline
                .is_some_and(|d| started.elapsed() + wait > d);
            if attempt >= inner.retry.max_attempts || out_of_time {
                return outcome.map(|r| finish(r, attempt));
            }
            // Free the connection before waiting.
            drop(outcome);
            inner.stats.retries.fetch_add(1, Ordering::Relaxed);
            tokio::time::sleep(wait).await;
            request = spare;
        }
    }

    /// Sends a request for the base URL to the shard the API moved us to, if any.
    fn route_to_shard(&self, url: &mut Url) {
        let shard = self
            .0
            .shard
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Some(shard) = shard {
            if same_origin(url, &self.0.base) {
                set_origin(url, &shard);
            }
        }
    }

    /// A redirect of the same path from the base URL (or the current shard) to another trusted
    /// host names the organization's shard.
    fn remember_shard(&self, from: &Url, to: &Url) {
        let mut shard = self.0.shard.lock().unwrap_or_else(|e| e.into_inner());
        let from_us =
            same_origin(from, &self.0.base) || shard.as_ref().is_some_and(|s| same_origin(from, s));
        if from_us && from.path() == to.path() && !same_origin(to, &self.0.base) {
            *shard = Some(to.clone());
        }
    }

    /// Stops using the shard if `url` is on it; says whether it was.
    fn forget_shard(&self, url: &Url) -> bool {
        let mut shard = self.0.shard.lock().unwrap_or_else(|e| e.into_inner());
        let on_shard = shard.as_ref().is_some_and(|s| same_origin(url, s));
        if on_shard {
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
        if !self.0.trusted.trusts(&target) {
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

    /// Checks a request against its operation's spec before it is sent.
    fn validate(&self, request: &Request, info: &OperationInfo) -> Result<(), String> {
        let Some(spec) = operation_spec(info.operation_id) else {
            return Ok(());
        };
        let path = request.url().path();
        let path = path.strip_prefix(self.0.base_path.as_str()).unwrap_or(path);
        let actual: Vec<&str> = path.split('/').collect();
        let template: Vec<&str> = spec.path.split('/').collect();
        if actual.len() != template.len() {
            // A path parameter such as `..` was resolved away by URL normalization.
            return Err(format!(
                "a path parameter changed the request path (`{path}` does not fit `{}`)",
                spec.path
            ));
        }
        for (want, got) in template.iter().zip(&actual) {
            if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
                if got.is_empty() {
                    return Err(format!("parameter `{name}`: must not be empty"));
                }
            }
        }
        for QueryBound { name, min, max } in spec.bounds {
            for (_, value) in request.url().query_pairs().filter(|(k, _)| k == name) {
                match value.parse::<i64>() {
                    Ok(v) if (*min..=*max).contains(&v) => {}
                    _ => {
                        return Err(format!(
                            "parameter `{name}`: must be between {min} and {max}, got {value}"
                        ))
                    }
                }
            }
        }
        Ok(())
    }
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

/// The spec of an operation, by progenitor's snake-case id.
pub(crate) fn operation_spec(id: &str) -> Option<&'static OperationSpec> {
    static BY_ID: OnceLock<HashMap<&'static str, &'static OperationSpec>> = OnceLock::new();
    BY_ID
        .get_or_init(|| {
            crate::generated::OPERATIONS
                .iter()
                .map(|s| (s.id, s))
                .collect()
        })
        .get(id)
        .copied()
}

impl ClientHooks<Runtime> for Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        self.inner()
            .validate(request, info)
            .map_err(progenitor_client::Error::InvalidRequest)
    }

    async fn exec(&self, request: Request, _info: &OperationInfo) -> reqwest::Result<Response> {
        self.inner().execute(self.client(), request).await
    }
}

/// Reads the `Retry-After` of a final 429, for error reports.
pub(crate) fn retry_after_of(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|v| parse_retry_after(v, SystemTime::now()))
}

/// Whether `status` is one the hooks would have retried.
pub(crate) fn is_throttle(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
}
