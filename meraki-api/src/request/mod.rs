//! The one way a request goes out, for generated operations, paginators, raw calls, action
//! batches and directory lookups alike: a call's life in named phases, after smithy's
//! orchestrator.
//!
//! [`send`] drives one call: **prepare** (dry run; the pace: which organization it counts
//! against, found by the resolver; the shard), then per attempt **pace** (wait for its buckets),
//! **authorize** (credentials for this hop only), **send and read the whole body**
//! ([`attempt`]), and **conclude** ([`conclude`]: classify, then follow a redirect, retry after
//! a wait, or end). The body belongs to the attempt: a body cut short, a connection closed
//! mid-answer or a read that times out is a failed attempt like any other, retried when the
//! request may be sent again ([`crate::error::reach`]). What the call learned (status, headers,
//! body, attempts, whether an earlier attempt's answer was lost) comes back as an [`Exchange`],
//! or why it ended without one as a [`Failure`]: values, nothing ambient.

mod attempt;
mod conclude;
pub(crate) mod outcome;
pub(crate) mod redirect;
pub(crate) mod retry;
pub(crate) mod shards;
pub(crate) mod state;

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderMap;
use reqwest::{Request, StatusCode};
use tokio::time::Instant;

use crate::error::{NotSent, OAuthError};
use crate::pacing::{Lane, Pace};
use conclude::{CallState, Next};
use retry::RetryPolicy;
use state::{BoxFuture, ClientState};

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

/// What one call sets for itself instead of the client's settings.
#[derive(Debug, Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct CallOverrides {
    /// Retries of this call (default: the client's).
    pub retry: Option<RetryPolicy>,
    /// Timeout of each attempt of this call (default: the client's).
    pub timeout: Option<Duration>,
}

/// Sends `request` paced by its organization, in a span naming the operation (`path` is its
/// template; a raw call's own path). Boxed: the layers above hold it as one small future.
pub(crate) fn send<'a>(
    state: &'a ClientState,
    http: &'a reqwest::Client,
    request: Request,
    operation: &'static str,
    path: &'a str,
    overrides: &'a CallOverrides,
) -> BoxFuture<'a, Result<Exchange, Failure>> {
    instrumented(state, http, request, None, operation, path, overrides)
}

/// [`send`] with a pace chosen by the caller (the client's own lookups and listings).
pub(crate) fn send_paced<'a>(
    state: &'a ClientState,
    http: &'a reqwest::Client,
    request: Request,
    pace: Pace,
    operation: &'static str,
    path: &'a str,
    overrides: &'a CallOverrides,
) -> BoxFuture<'a, Result<Exchange, Failure>> {
    instrumented(state, http, request, Some(pace), operation, path, overrides)
}

fn instrumented<'a>(
    state: &'a ClientState,
    http: &'a reqwest::Client,
    request: Request,
    pace: Option<Pace>,
    operation: &'static str,
    path: &'a str,
    overrides: &'a CallOverrides,
) -> BoxFuture<'a, Result<Exchange, Failure>> {
    use tracing::field::Empty;
    let span = tracing::debug_span!(
        target: "meraki_api",
        "call",
        operation,
        method = %request.method(),
        path,
        organization = Empty,
        attempts = Empty,
        status = Empty,
        request_id = Empty,
        elapsed_ms = Empty,
        error = Empty,
    );
    let call = async move {
        let started = Instant::now();
        let result = drive(state, http, request, pace, overrides).await;
        let span = tracing::Span::current();
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(exchange) => {
                span.record("status", exchange.status.as_u16());
                span.record("attempts", exchange.attempts);
                if let Some(id) = request_id(&exchange.headers) {
                    span.record("request_id", id);
                }
            }
            Err(Failure::Transport { source, attempts }) => {
                span.record("attempts", attempts);
                span.record("error", tracing::field::display(source));
            }
            Err(Failure::RedirectRefused { host, attempts }) => {
                span.record("attempts", attempts);
                span.record(
                    "error",
                    tracing::field::display(format_args!("refused a redirect to {host}")),
                );
            }
            Err(Failure::NotSent(_)) => {
                span.record("attempts", 0);
            }
            Err(Failure::Auth(error)) => {
                span.record("attempts", 0);
                span.record("error", tracing::field::display(error));
            }
        }
        result
    };
    Box::pin(tracing::Instrument::instrument(call, span))
}

/// The phases: prepare, then attempts until an answer worth handing back.
async fn drive(
    state: &ClientState,
    http: &reqwest::Client,
    mut request: Request,
    pace: Option<Pace>,
    overrides: &CallOverrides,
) -> Result<Exchange, Failure> {
    // Prepare. A write that dry-run mode withholds goes nowhere: no need for its organization.
    if state.withholds(&request) {
        return Err(Failure::NotSent(Box::new(state.not_sent(&request))));
    }
    let shared = state.shared();
    let pace = match pace {
        Some(pace) => pace,
        None => shared.resolver.pace_for(state, http, request.url()).await,
    };
    let span = tracing::Span::current();
    match &pace.lane {
        Lane::Organization(org) => span.record("organization", &**org),
        Lane::Unresolved => span.record("organization", "unresolved"),
        Lane::Global | Lane::Lookup => &span,
    };
    shared
        .shards
        .route(&pace.lane, request.url_mut(), &shared.base);
    let retry = overrides.retry.as_ref().unwrap_or(&shared.retry);
    let per_attempt = match overrides.timeout {
        Some(timeout) => Some(timeout),
        None => shared.attempt_timeout,
    };
    let mut call = CallState {
        started: Instant::now(),
        attempts: 0,
        redirects: Default::default(),
        earlier_answer_lost: false,
        throttled: 0,
        reauthorized: false,
        retry,
    };
    loop {
        // Pace, then authorize: a token fetched before a long wait could expire in it.
        shared.pacer.acquire(&pace).await;
        let token = attempt::token_for(state, &request)
            .await
            .map_err(Failure::Auth)?;
        call.attempts += 1;
        // A body that cannot be cloned (a stream) is sent once, without retries.
        let spare = request.try_clone();
        let method = request.method().clone();
        let timeout = attempt::attempt_timeout(per_attempt, retry.deadline, call.started);
        let outcome = attempt::attempt(state, http, request, timeout, token).await;
        match conclude::conclude(state, &mut call, &method, outcome, spare, &pace) {
            Next::Done(result) => return result,
            Next::Send(next) => request = next,
            Next::Retry(next, wait) => {
                shared
                    .stats
                    .retries
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(wait).await;
                request = next;
            }
        }
    }
}

/// The `X-Request-Id` of an answer.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<&str> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok())
}

/// Reads the `Retry-After` of a final answer, for error reports.
pub(crate) fn retry_after_of(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| retry::parse_retry_after(v, SystemTime::now()))
}
