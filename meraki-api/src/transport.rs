//! The one way a request goes out, for generated operations, paginators, raw calls, action
//! batches and directory lookups alike.
//!
//! [`ClientState::send`] drives one call through named steps: `prepare` (dry run, shard),
//! then per attempt `attempt` (pace, credentials for this hop, send, **read the whole body**)
//! and `conclude` (the retry verdict, a redirect to follow, or the end). The body belongs to the
//! attempt: a body cut short, a connection closed mid-answer or a read that times out is a
//! failed attempt like any other, retried when the method allows. What the call learned
//! (status, headers, body, attempts, whether an earlier attempt's answer was lost) comes back
//! as an [`Exchange`], or why it ended without one as a [`Failure`]: values, nothing ambient.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, USER_AGENT};
use reqwest::{Method, Request, StatusCode, Url};
use tokio::time::Instant;

use crate::directory::{lesson_for, Directory, Lookups};
use crate::error::NotSent;
use crate::oauth::{OAuthError, Token, TokenSource};
use crate::pacing::{Pace, Pacer, RateLimitConfig};
use crate::redirect::{authority, is_redirect, Redirects, Shards, TrustedHosts};
use crate::retry::{classify_error, classify_status, Retry, RetryKind, RetryPolicy};

/// What the client shares between its clones: limits, the directory of who owns which
/// network and device, the shards it was redirected to, and counts.
#[derive(Clone)]
pub struct ClientState {
    shared: Arc<Shared>,
    /// Writes are checked and reported, not sent (see `ClientBuilder::dry_run`).
    dry_run: bool,
}

struct Shared {
    credentials: Credentials,
    user_agent: HeaderValue,
    retry: RetryPolicy,
    /// The per-attempt timeout the client's own HTTP client was built with, if it was.
    attempt_timeout: Option<Duration>,
    callers_client: bool,
    pacer: Pacer,
    directory: Directory,
    lookups: Lookups,
    resolve: ResolveSettings,
    trusted: TrustedHosts,
    base_path: String,
    /// The configured base URL (scheme, host, port and path).
    base: Url,
    shards: Shards,
    stats: Counters,
}

/// What a client is built with (`ClientBuilder`).
pub(crate) struct Settings {
    /// The key's header (marked sensitive) or the OAuth token source, and the User-Agent,
    /// set on every request here rather than as the HTTP client's defaults, so that a
    /// caller's own client works too.
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
    pub(crate) resolve: ResolveSettings,
    pub(crate) directory_capacity: usize,
    pub(crate) dry_run: bool,
}

/// What authenticates a request.
pub(crate) enum Credentials {
    /// An API key's header, marked sensitive.
    Key(HeaderName, HeaderValue),
    /// OAuth access tokens, refreshed as they expire.
    OAuth(Arc<TokenSource>),
}

impl Credentials {
    fn header_name(&self) -> &HeaderName {
        match self {
            Credentials::Key(name, _) => name,
            Credentials::OAuth(_) => &AUTHORIZATION,
        }
    }
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
    /// Lookups in flight at once (`ClientBuilder::lookups_at_once`).
    pub(crate) lookups_at_once: usize,
}

impl Default for ResolveSettings {
    fn default() -> Self {
        Self {
            lookups: true,
            list_organizations: true,
            listing_pages: 10,
            lookups_at_once: 1,
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
    /// OAuth access tokens obtained with the refresh token.
    pub oauth_refreshes: u64,
}

/// The answer a call ended with, read whole, and what it took to get it.
#[derive(Debug)]
pub(crate) struct Exchange {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
    /// Times the request was sent, redirects not counted.
    pub(crate) attempts: u32,
    /// An earlier attempt may have reached the API without its answer reaching us (a lost
    /// or cut answer, a 5xx from a gateway): its effect is unknown.
    pub(crate) earlier_answer_lost: bool,
    /// 429s met on the way.
    pub(crate) throttled: u32,
}

/// Why a call ended without an answer to hand back.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The last attempt failed in transport (connect, TLS, timeout, a body cut short).
    Transport {
        source: reqwest::Error,
        attempts: u32,
    },
    /// The API redirected to a host that is not trusted; nothing was sent there.
    RedirectRefused { host: String, attempts: u32 },
    /// Dry-run mode kept this write from being sent.
    NotSent(Box<NotSent>),
    /// No OAuth access token could be had; nothing was sent.
    Auth(OAuthError),
}

/// One attempt's answer, before the verdict.
struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
    url: Url,
    /// The caller's HTTP client followed a redirect to `url` on its own.
    followed_by_client: bool,
    /// The OAuth access token the attempt carried (its generation).
    token: Option<u64>,
}

/// What a call carries from attempt to attempt.
struct CallState {
    started: Instant,
    attempts: u32,
    redirects: Redirects,
    earlier_answer_lost: bool,
    throttled: u32,
    /// A 401 to an OAuth token was answered with a fresh token once already.
    reauthorized: bool,
}

/// What to do after an attempt.
enum Next {
    Done(Result<Exchange, Failure>),
    Send(Request),
    Retry(Request, Duration),
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
            lookups: Lookups::new(settings.resolve.lookups_at_once),
            resolve: settings.resolve,
            trusted: TrustedHosts::new(base_url, settings.extra_hosts, settings.insecure_http),
            base_path: base_url.path().trim_end_matches('/').to_owned(),
            base: base_url.clone(),
            shards: Shards::default(),
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
            oauth_refreshes: match &self.shared.credentials {
                Credentials::OAuth(source) => source.refreshes(),
                Credentials::Key(..) => 0,
            },
        }
    }

    /// Sends `request` paced by `pace` until it has an answer worth handing back: waits for
    /// its buckets before every attempt, retries what the policy allows, follows redirects to
    /// trusted hosts, and lets the directory learn from a successful listing.
    pub(crate) async fn send(
        &self,
        http: &reqwest::Client,
        mut request: Request,
        pace: &Pace,
    ) -> Result<Exchange, Failure> {
        if self.withholds(&request) {
            return Err(Failure::NotSent(Box::new(self.not_sent(&request))));
        }
        self.shared
            .shards
            .route(&pace.lane, request.url_mut(), &self.shared.base);
        let mut call = CallState {
            started: Instant::now(),
            attempts: 0,
            redirects: Redirects::default(),
            earlier_answer_lost: false,
            throttled: 0,
            reauthorized: false,
        };
        loop {
            self.shared.pacer.acquire(pace).await;
            let token = self.token_for(&request).await.map_err(Failure::Auth)?;
            call.attempts += 1;
            // A body that cannot be cloned (a stream) is sent once, without retries.
            let spare = request.try_clone();
            let method = request.method().clone();
            let outcome = self.attempt(http, request, &call, token).await;
            match self.conclude(&mut call, &method, outcome, spare, pace) {
                Next::Done(result) => return result,
                Next::Send(next) => request = next,
                Next::Retry(next, wait) => {
                    self.shared.stats.retries.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(wait).await;
                    request = next;
                }
            }
        }
    }

    /// The OAuth access token for a request to a trusted host (refreshed first if due).
    async fn token_for(&self, request: &Request) -> Result<Option<Token>, OAuthError> {
        match &self.shared.credentials {
            Credentials::OAuth(source) if self.shared.trusted.trusts(request.url()) => {
                source.token().await.map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The OAuth token source, if the client authenticates with OAuth.
    pub(crate) fn oauth(&self) -> Option<&TokenSource> {
        match &self.shared.credentials {
            Credentials::OAuth(source) => Some(source),
            Credentials::Key(..) => None,
        }
    }

    /// One attempt: credentials for this hop only, the request, and its whole answer.
    async fn attempt(
        &self,
        http: &reqwest::Client,
        mut request: Request,
        call: &CallState,
        token: Option<Token>,
    ) -> reqwest::Result<Answer> {
        let generation = token.as_ref().map(|t| t.generation);
        self.authorize(&mut request, token);
        if let Some(timeout) = self.attempt_timeout(call) {
            *request.timeout_mut() = Some(timeout);
        }
        self.shared.stats.requests.fetch_add(1, Ordering::Relaxed);
        let sent_to = request.url().clone();
        let response = http.execute(request).await?;
        let status = response.status();
        let url = response.url().clone();
        if self.shared.callers_client && url != sent_to {
            // The caller's client followed a redirect itself: its target was never checked.
            return Ok(Answer {
                status: StatusCode::MISDIRECTED_REQUEST,
                headers: HeaderMap::new(),
                body: Vec::new(),
                url,
                followed_by_client: true,
                token: generation,
            });
        }
        let (headers, body) = crate::decode::read_body(response).await?;
        Ok(Answer {
            status,
            headers,
            body,
            url,
            followed_by_client: false,
            token: generation,
        })
    }

    /// The key and User-Agent go on a request only when its URL is trusted with them (this
    /// is the one place a request gets them), so no path to the wire carries them elsewhere.
    fn authorize(&self, request: &mut Request, token: Option<Token>) {
        let shared = &*self.shared;
        let trusted = shared.trusted.trusts(request.url());
        let headers = request.headers_mut();
        // progenitor sends the merged document's `info.version` with every operation, which is
        // true of two operations out of 668 (`OperationSpec::version` has each one's); the
        // API does not read it. Not sent rather than sent false.
        headers.remove("api-version");
        headers.insert(USER_AGENT, shared.user_agent.clone());
        match (&shared.credentials, trusted) {
            (Credentials::Key(name, value), true) => {
                headers.insert(name.clone(), value.clone());
            }
            (Credentials::OAuth(_), true) => match token {
                Some(token) => {
                    headers.insert(AUTHORIZATION, token.header);
                }
                None => {
                    headers.remove(AUTHORIZATION);
                }
            },
            (credentials, false) => {
                headers.remove(credentials.header_name());
            }
        }
    }

    /// The smaller of the per-attempt timeout and what the deadline leaves: an attempt in
    /// flight keeps the deadline too.
    fn attempt_timeout(&self, call: &CallState) -> Option<Duration> {
        let left = self.shared.retry.deadline.map(|d| {
            d.saturating_sub(call.started.elapsed())
                .max(Duration::from_millis(1))
        });
        match (left, self.shared.attempt_timeout) {
            (Some(left), Some(per_attempt)) => Some(left.min(per_attempt)),
            (left, _) => left,
        }
    }

    /// The verdict on one attempt: done, a redirect to send, or a retry after a wait.
    fn conclude(
        &self,
        call: &mut CallState,
        method: &Method,
        outcome: reqwest::Result<Answer>,
        spare: Option<Request>,
        pace: &Pace,
    ) -> Next {
        let shared = &*self.shared;
        if let Ok(answer) = &outcome {
            if answer.status == StatusCode::TOO_MANY_REQUESTS {
                call.throttled += 1;
                shared.stats.throttled.fetch_add(1, Ordering::Relaxed);
                shared.pacer.throttled(pace, &answer.body);
            }
        }
        let Some(mut spare) = spare else {
            return Next::Done(self.finish(call, outcome, pace));
        };
        if let (Ok(answer), Credentials::OAuth(source)) = (&outcome, &shared.credentials) {
            if let (StatusCode::UNAUTHORIZED, Some(generation), false) =
                (answer.status, answer.token, call.reauthorized)
            {
                // The token was refused before it expired (revoked, or the server's clock
                // differs): once per call, a fresh one. A 401 is not acted on, so resending
                // a write is safe.
                tracing::info!(target: "meraki_api", "401 to the access token: refreshing once");
                source.rejected(generation);
                call.reauthorized = true;
                call.attempts -= 1;
                return Next::Send(spare);
            }
        }
        let outcome = match outcome {
            Ok(answer) if answer.followed_by_client => {
                tracing::warn!(
                    target: "meraki_api",
                    to = %authority(&answer.url),
                    "the caller's HTTP client followed a redirect itself: refused"
                );
                return Next::Done(Err(Failure::RedirectRefused {
                    host: authority(&answer.url),
                    attempts: call.attempts,
                }));
            }
            Ok(answer) if is_redirect(answer.status) => {
                return self.follow_redirect(call, answer, spare, pace)
            }
            other => other,
        };
        if matches!(&outcome, Err(e) if e.is_connect())
            && shared.shards.forget(&pace.lane, spare.url())
        {
            set_origin(spare.url_mut(), &shared.base);
        }
        let retry = match &outcome {
            Ok(answer) => classify_status(answer.status, &answer.headers, method),
            Err(error) => classify_error(error, method),
        };
        let Some(retry) = retry else {
            return Next::Done(self.finish(call, outcome, pace));
        };
        let wait = shared.retry.wait(&retry, call.attempts);
        let out_of_time = shared
            .retry
            .deadline
            .is_some_and(|d| call.started.elapsed().saturating_add(wait) > d);
        if call.attempts >= shared.retry.max_attempts || out_of_time {
            return Next::Done(self.finish(call, outcome, pace));
        }
        trace_retry(&outcome, &retry, call.attempts, wait, pace);
        if retry.kind != RetryKind::Throttled && !matches!(&outcome, Err(e) if e.is_connect()) {
            // The request may have reached the API; only its answer is unknown.
            call.earlier_answer_lost = true;
        }
        Next::Retry(spare, wait)
    }

    /// A redirect's target, if trusted and within the limit, is sent next (not an attempt).
    fn follow_redirect(
        &self,
        call: &mut CallState,
        answer: Answer,
        spare: Request,
        pace: &Pace,
    ) -> Next {
        let from = spare.url().clone();
        let followed = call.redirects.follow(
            answer.status,
            &answer.headers,
            &answer.url,
            spare,
            &self.shared.trusted,
        );
        match followed {
            Ok(next) => {
                tracing::debug!(
                    target: "meraki_api",
                    status = answer.status.as_u16(),
                    to = %authority(next.url()),
                    "following redirect"
                );
                self.shared
                    .shards
                    .remember(&pace.lane, &from, next.url(), &self.shared.base);
                call.attempts -= 1;
                Next::Send(next)
            }
            Err(Some(host)) => {
                tracing::warn!(
                    target: "meraki_api",
                    to = %host,
                    "refused a redirect to a host that is not Meraki's"
                );
                Next::Done(Err(Failure::RedirectRefused {
                    host,
                    attempts: call.attempts,
                }))
            }
            // No `Location`, or too many redirects: the 3xx is the answer.
            Err(None) => Next::Done(Ok(exchange(call, answer))),
        }
    }

    /// The call's end: a successful listing teaches the directory; pacing recovers.
    fn finish(
        &self,
        call: &CallState,
        outcome: reqwest::Result<Answer>,
        pace: &Pace,
    ) -> Result<Exchange, Failure> {
        let answer = outcome.map_err(|source| Failure::Transport {
            source,
            attempts: call.attempts,
        })?;
        if answer.status.is_success() {
            self.shared.pacer.succeeded(pace);
            if let Some(lesson) = lesson_for(self.relative_path(&answer.url)) {
                self.shared.directory.learn(&lesson, &answer.body);
            }
        }
        Ok(exchange(call, answer))
    }

    /// What a write that dry-run mode does not send would have been.
    fn not_sent(&self, request: &Request) -> NotSent {
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

fn exchange(call: &CallState, answer: Answer) -> Exchange {
    Exchange {
        status: answer.status,
        headers: answer.headers,
        body: answer.body,
        attempts: call.attempts,
        earlier_answer_lost: call.earlier_answer_lost,
        throttled: call.throttled,
    }
}

fn trace_retry(
    outcome: &reqwest::Result<Answer>,
    retry: &Retry,
    attempt: u32,
    wait: Duration,
    pace: &Pace,
) {
    let wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(_) if retry.kind == RetryKind::Throttled => tracing::info!(
            target: "meraki_api",
            attempt,
            wait_ms,
            lane = ?pace.lane,
            "429: waiting before sending again (the request's bucket slows down)"
        ),
        Ok(answer) => tracing::info!(
            target: "meraki_api",
            attempt,
            status = answer.status.as_u16(),
            wait_ms,
            "server error: retrying"
        ),
        Err(error) => tracing::info!(
            target: "meraki_api",
            attempt,
            error = %error,
            wait_ms,
            "transport failure: retrying"
        ),
    }
}

/// The methods dry-run mode sends: an allow-list, so no other method can write.
fn is_read(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Moves `url` to `origin`'s scheme, host and port, keeping path and query.
pub(crate) fn set_origin(url: &mut Url, origin: &Url) {
    // Both are http(s) URLs with hosts, so none of these can fail.
    let _ = url.set_scheme(origin.scheme());
    let _ = url.set_host(origin.host_str());
    let _ = url.set_port(origin.port());
}

/// Reads the `Retry-After` of a final answer, for error reports.
pub(crate) fn retry_after_of(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| crate::retry::parse_retry_after(v, SystemTime::now()))
}
