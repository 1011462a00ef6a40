//! How the end of a call becomes an [`Error`]: an answer that is not a success, or a call that
//! ended without one. Used by every caller of the transport (operations, paginators, raw
//! calls, lookups and listings).

use reqwest::{Method, StatusCode};

use crate::error::{error_messages, ApiError, Error, TransportError};
use crate::transport::{retry_after_of, Exchange, Failure};

/// The error for a call that ended without an answer.
pub(crate) fn failure_error(operation: &'static str, failure: Failure) -> Error {
    match failure {
        Failure::Transport { source, attempts } => Error::Transport(TransportError {
            operation,
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
pub(crate) fn answer_error(operation: &'static str, method: &Method, exchange: &Exchange) -> Error {
    let error = ApiError {
        operation,
        status: exchange.status,
        messages: error_messages(&exchange.body),
        request_id: crate::call::request_id(&exchange.headers).map(str::to_owned),
        attempts: exchange.attempts,
        retry_after: retry_after_of(&exchange.headers),
    };
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
