//! The verdict on one attempt: done, a redirect to follow, or a retry after a wait.

use std::sync::atomic::Ordering;
use std::time::Duration;

use reqwest::{Method, Request, StatusCode};
use tokio::time::Instant;

use super::attempt::Answer;
use super::redirect::{is_redirect, Redirects};
use super::retry::{classify_error, classify_status, Retry, RetryKind, RetryPolicy};
use super::shards::set_origin;
use super::state::ClientState;
use super::{Exchange, Failure};
use crate::error::reach::{self, Reach};
use crate::net::authority;
use crate::pacing::directory::lesson_for;
use crate::pacing::Pace;

/// What a call carries from attempt to attempt.
pub(super) struct CallState<'a> {
    pub(super) started: Instant,
    pub(super) attempts: u32,
    pub(super) redirects: Redirects,
    pub(super) earlier_answer_lost: bool,
    pub(super) throttled: u32,
    /// A 401 to an OAuth token was answered with a fresh token once already.
    pub(super) reauthorized: bool,
    pub(super) retry: &'a RetryPolicy,
}

/// What to do after an attempt.
pub(super) enum Next {
    Done(Result<Exchange, Failure>),
    Send(Request),
    Retry(Request, Duration),
}

/// The verdict on one attempt.
pub(super) fn conclude(
    state: &ClientState,
    call: &mut CallState<'_>,
    method: &Method,
    outcome: reqwest::Result<Answer>,
    spare: Option<Request>,
    pace: &Pace,
) -> Next {
    let shared = state.shared();
    if let Ok(answer) = &outcome {
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            call.throttled += 1;
            shared.stats.throttled.fetch_add(1, Ordering::Relaxed);
            shared.pacer.throttled(pace, &answer.body);
        }
    }
    let Some(mut spare) = spare else {
        return Next::Done(finish(state, call, outcome, pace));
    };
    if let (Ok(answer), Some(source)) = (&outcome, shared.credentials.oauth()) {
        if let (StatusCode::UNAUTHORIZED, Some(generation), false) =
            (answer.status, answer.token, call.reauthorized)
        {
            // The token was refused before it expired (revoked, or the server's clock differs):
            // once per call, a fresh one, unless it already was one. A 401 is not acted on, so
            // resending a write is safe.
            if source.rejected(generation) {
                tracing::info!(target: "meraki_api", "401 to the access token: refreshing once");
                call.reauthorized = true;
                call.attempts -= 1;
                return Next::Send(spare);
            }
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
            return follow_redirect(state, call, answer, spare, pace)
        }
        other => other,
    };
    if matches!(&outcome, Err(e) if e.is_connect()) && shared.shards.forget(&pace.lane, spare.url())
    {
        set_origin(spare.url_mut(), &shared.base);
    }
    let retry = match &outcome {
        Ok(answer) => classify_status(answer.status, &answer.headers, method),
        Err(error) => classify_error(error, method),
    };
    let Some(retry) = retry else {
        return Next::Done(finish(state, call, outcome, pace));
    };
    let Ok(wait) = call.retry.wait(&retry, call.attempts) else {
        // The API asked for a wait beyond `max_backoff`: its answer ends the call.
        return Next::Done(finish(state, call, outcome, pace));
    };
    let out_of_time = call
        .retry
        .deadline
        .is_some_and(|d| call.started.elapsed().saturating_add(wait) > d);
    if call.attempts >= call.retry.max_attempts || out_of_time {
        return Next::Done(finish(state, call, outcome, pace));
    }
    trace_retry(&outcome, &retry, call.attempts, wait, pace);
    let may_have_arrived = match &outcome {
        Ok(answer) => reach::of_status(answer.status) == Some(Reach::Unknown),
        Err(e) => reach::of_transport(e) == Reach::Unknown,
    };
    if may_have_arrived {
        // The request may have reached the API; only its answer is unknown.
        call.earlier_answer_lost = true;
    }
    Next::Retry(spare, wait)
}

/// A redirect's target, if trusted and within the limit, is sent next (not an attempt).
fn follow_redirect(
    state: &ClientState,
    call: &mut CallState<'_>,
    answer: Answer,
    spare: Request,
    pace: &Pace,
) -> Next {
    let shared = state.shared();
    let from = spare.url().clone();
    let followed = call.redirects.follow(
        answer.status,
        &answer.headers,
        &answer.url,
        spare,
        &shared.trusted,
    );
    match followed {
        Ok(next) => {
            tracing::debug!(
                target: "meraki_api",
                status = answer.status.as_u16(),
                to = %authority(next.url()),
                "following redirect"
            );
            shared
                .shards
                .remember(&pace.lane, &from, next.url(), &shared.base);
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
    state: &ClientState,
    call: &CallState<'_>,
    outcome: reqwest::Result<Answer>,
    pace: &Pace,
) -> Result<Exchange, Failure> {
    let answer = outcome.map_err(|source| Failure::Transport {
        source,
        attempts: call.attempts,
    })?;
    if answer.status.is_success() {
        let shared = state.shared();
        shared.pacer.succeeded(pace);
        if let Some(lesson) = lesson_for(state.relative_path(&answer.url)) {
            shared.directory.learn(&lesson, &answer.body);
        }
    }
    Ok(exchange(call, answer))
}

fn exchange(call: &CallState<'_>, answer: Answer) -> Exchange {
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
