//! How the end of a call becomes an [`Error`]: an answer that is not a success, or a call that
//! ended without one. Used by every caller of the request path (operations, paginators, raw
//! calls, lookups and listings).

use reqwest::{Method, StatusCode};

use super::state::ClientState;
use super::{request_id, retry_after_of, Exchange, Failure};
use crate::error::{error_messages, ApiError, Error, TransportError};

/// The error for a call that ended without an answer.
pub(crate) fn failure_error(operation: &'static str, method: &Method, failure: Failure) -> Error {
    match failure {
        Failure::Transport { source, attempts } => Error::Transport(TransportError {
            operation,
            method: method.clone(),
            attempts,
            source,
        }),
        Failure::RedirectRefused { host, .. } => Error::RedirectRefused { operation, host },
        Failure::NotSent(not_sent) => Error::DryRun {
            operation,
            not_sent,
        },
        Failure::Auth(error) => Error::OAuth { operation, error },
    }
}

/// The error for an answer that is not a success.
pub(crate) fn answer_error(
    state: &ClientState,
    operation: &'static str,
    method: &Method,
    exchange: &Exchange,
) -> Error {
    let base_path = state.base_url().path().trim_end_matches('/');
    let hint = (exchange.status == StatusCode::NOT_FOUND && base_path != "/api/v1").then(|| {
        format!(
            "the base URL's path is `{}`, not `/api/v1`: is the base URL right?",
            if base_path.is_empty() { "/" } else { base_path }
        )
    });
    let error = Box::new(ApiError {
        operation,
        method: method.clone(),
        status: exchange.status,
        messages: error_messages(&exchange.body),
        request_id: request_id(&exchange.headers).map(str::to_owned),
        attempts: exchange.attempts,
        retry_after: retry_after_of(&exchange.headers),
        hint,
    });
    if exchange.status == StatusCode::TOO_MANY_REQUESTS {
        Error::RateLimited(error)
    } else if exchange.status == StatusCode::NOT_FOUND
        && *method == Method::DELETE
        && exchange.earlier_answer_lost
    {
        Error::GoneAfterLostAnswer(error)
    } else {
        Error::Api(error)
    }
}

/// The exchange if it is a success, else its error.
pub(crate) fn success(
    state: &ClientState,
    operation: &'static str,
    method: &Method,
    exchange: Exchange,
) -> Result<Exchange, Error> {
    if exchange.status.is_success() {
        Ok(exchange)
    } else {
        Err(answer_error(state, operation, method, &exchange))
    }
}
