//! One attempt: the credentials for this hop, the request, and its whole answer.

use std::time::Duration;

use reqwest::header::{HeaderMap, USER_AGENT};
use reqwest::{Request, StatusCode, Url};
use tokio::time::Instant;

use super::state::ClientState;
use crate::auth::oauth::Token;
use crate::error::OAuthError;

/// One attempt's answer, before the verdict.
pub(super) struct Answer {
    pub(super) status: StatusCode,
    pub(super) headers: HeaderMap,
    pub(super) body: Vec<u8>,
    pub(super) url: Url,
    /// The caller's HTTP client followed a redirect to `url` on its own.
    pub(super) followed_by_client: bool,
    /// The OAuth access token the attempt carried (its generation).
    pub(super) token: Option<u64>,
}

/// The OAuth access token for a request to a trusted host (refreshed first if due).
pub(super) async fn token_for(
    state: &ClientState,
    request: &Request,
) -> Result<Option<Token>, OAuthError> {
    match state.oauth() {
        Some(source) if state.trusted().trusts(request.url()) => source.token().await.map(Some),
        _ => Ok(None),
    }
}

/// Sends one attempt and reads its whole answer: a body cut short, a connection closed
/// mid-answer, an answer slower than `timeout` are errors of the attempt.
pub(super) async fn attempt(
    state: &ClientState,
    http: &reqwest::Client,
    mut request: Request,
    timeout: Option<Duration>,
    token: Option<Token>,
) -> reqwest::Result<Answer> {
    let shared = state.shared();
    let generation = token.as_ref().map(|t| t.generation);
    authorize(state, &mut request, token);
    if let Some(timeout) = timeout {
        *request.timeout_mut() = Some(timeout);
    }
    shared
        .stats
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let sent_to = request.url().clone();
    let response = http.execute(request).await?;
    let status = response.status();
    let url = response.url().clone();
    if shared.callers_client && url != sent_to {
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
    let (headers, body) = crate::body::read_body(response).await?;
    Ok(Answer {
        status,
        headers,
        body,
        url,
        followed_by_client: false,
        token: generation,
    })
}

/// The key and User-Agent go on a request only when its URL is trusted with them (this is the
/// one place a request gets them), so no path to the wire carries them elsewhere.
fn authorize(state: &ClientState, request: &mut Request, token: Option<Token>) {
    let shared = state.shared();
    let trusted = shared.trusted.trusts(request.url());
    let headers = request.headers_mut();
    // progenitor sends the merged document's `info.version` with every operation, which is
    // true of two operations out of 668 (`OperationSpec::version` has each one's); the API
    // does not read it. Not sent rather than sent false.
    headers.remove("api-version");
    headers.insert(USER_AGENT, shared.user_agent.clone());
    shared.credentials.apply(headers, trusted, token);
}

/// The smaller of the per-attempt timeout and what the deadline leaves: an attempt in flight
/// keeps the deadline too.
pub(super) fn attempt_timeout(
    per_attempt: Option<Duration>,
    deadline: Option<Duration>,
    started: Instant,
) -> Option<Duration> {
    let left = deadline.map(|d| {
        d.saturating_sub(started.elapsed())
            .max(Duration::from_millis(1))
    });
    match (left, per_attempt) {
        (Some(left), Some(per_attempt)) => Some(left.min(per_attempt)),
        (left, per_attempt) => left.or(per_attempt),
    }
}
