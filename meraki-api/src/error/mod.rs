//! The one error type of the crate, and the parts it is made of: API answers (`api`),
//! configuration (`config`), answers that do not decode (`decode`), calls that went nowhere
//! (`call`), OAuth (`oauth`), and the one classifier of whether a request may have reached the
//! API (`reach`).

mod api;
mod call;
mod config;
mod decode;
mod oauth;
pub(crate) mod reach;

use std::fmt;

pub(crate) use api::error_messages;
pub use api::{ApiError, ApiErrorKind};
pub use call::{InvalidRequest, NotSent, Resume, StreamStopped, TransportError};
pub use config::ConfigError;
pub use decode::DecodeError;
pub use oauth::OAuthError;
use reach::Reach;
use reqwest::StatusCode;

/// What went wrong with a call. `Display` gives one line a person can act on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status (after any retries).
    Api(Box<ApiError>),
    /// The API still answered `429 Too Many Requests` when retries ran out, or asked for a
    /// wait (`retry_after`) beyond the retry deadline.
    RateLimited(Box<ApiError>),
    /// A `DELETE` met `404 Not Found` after an earlier attempt whose answer was lost: that
    /// attempt has most likely deleted it. Not a plain not-found: the resource was there.
    GoneAfterLostAnswer(Box<ApiError>),
    /// The request was refused before anything was sent.
    InvalidRequest(InvalidRequest),
    /// The client could not be configured as asked.
    Config(ConfigError),
    /// A response body could not be decoded into the operation's type.
    Decode(DecodeError),
    /// The request did not complete: connection, timeout or body transfer.
    Transport(TransportError),
    /// The API redirected to a host that is not Meraki's; nothing was sent there.
    RedirectRefused {
        /// The operation that was redirected.
        operation: &'static str,
        /// Host (and port) the redirect named.
        host: String,
    },
    /// The client is in dry-run mode ([`crate::ClientBuilder::dry_run`]): this write was
    /// checked and not sent. What would have been sent is in `not_sent`.
    DryRun {
        /// The operation, as its spec names it.
        operation: &'static str,
        /// The request that was not sent.
        not_sent: Box<NotSent>,
    },
    /// Pagination stopped because the API's `Link` header could not be followed safely.
    Pagination {
        /// The paginated operation.
        operation: &'static str,
        /// What was wrong with the `Link` header.
        reason: String,
    },
    /// A paginator gave up on a page (after its retries): where it stopped, how to resume,
    /// and the page's error.
    StreamStopped(Box<StreamStopped>),
    /// The client authenticates with OAuth and had no access token to send: the refresh
    /// failed, or the grant ended. Nothing was sent.
    OAuth {
        /// The operation that was not sent (`""` outside a call).
        operation: &'static str,
        /// Why.
        error: OAuthError,
    },
}

impl Error {
    /// The answer's error, where the API answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) | Error::RateLimited(e) | Error::GoneAfterLostAnswer(e) => Some(&**e),
            Error::StreamStopped(s) => s.error.api_error(),
            _ => None,
        }
    }

    /// The HTTP status, where the API answered.
    pub fn status(&self) -> Option<StatusCode> {
        self.api_error().map(|e| e.status)
    }

    /// Whether this is a write that dry-run mode checked and did not send.
    pub fn is_dry_run(&self) -> bool {
        matches!(self, Error::DryRun { .. })
    }

    /// The `X-Request-Id` of the failed response, where there was one.
    pub fn request_id(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.request_id.as_deref())
    }

    /// The operation that failed, as its spec names it (`getOrganizationLicenses`).
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Api(e) | Error::RateLimited(e) | Error::GoneAfterLostAnswer(e) => {
                Some(e.operation)
            }
            Error::InvalidRequest(e) => Some(e.operation),
            Error::Decode(e) => Some(e.operation),
            Error::Transport(e) => Some(e.operation),
            Error::RedirectRefused { operation, .. }
            | Error::DryRun { operation, .. }
            | Error::Pagination { operation, .. } => Some(operation),
            Error::OAuth { operation, .. } => (!operation.is_empty()).then_some(*operation),
            Error::StreamStopped(s) => Some(s.operation),
            Error::Config(_) => None,
        }
    }

    /// Whether the same call may succeed later as it is, and sending it again cannot apply a
    /// write twice: throttling, and server errors and transport failures that outlasted the
    /// client's retries, where the request cannot have been applied or repeating it does what
    /// one does (`GET`, `PUT`, `DELETE`). A `POST` whose answer was lost or met a `5xx` is not
    /// retryable: it may have been applied ([`Error::outcome_unknown`]). Not for errors of
    /// the request itself (4xx, invalid parameters, configuration) or of the answer's content.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited(_) => true,
            Error::Api(e) => match reach::of_status(e.status) {
                Some(Reach::Unknown) => reach::safe_to_resend(&e.method, Reach::Unknown),
                _ => false,
            },
            Error::Transport(e) => {
                !crate::error::reach::is_tls_failure(&e.source)
                    && reach::safe_to_resend(&e.method, reach::of_transport(&e.source))
            }
            Error::StreamStopped(s) => s.error.is_retryable(),
            // Nothing was sent: the call itself can be made again.
            Error::OAuth { error, .. } => {
                matches!(error, OAuthError::Transport { .. } | OAuthError::Store(_))
            }
            _ => false,
        }
    }

    /// Whether the request may have been applied without its answer arriving: a write whose
    /// answer was lost, cut short or late, or met a `5xx`. Look before applying it again.
    pub fn outcome_unknown(&self) -> bool {
        match self {
            Error::Api(e) => reach::of_status(e.status) == Some(Reach::Unknown),
            Error::Transport(e) => reach::of_transport(&e.source) == Reach::Unknown,
            Error::StreamStopped(s) => s.error.outcome_unknown(),
            _ => false,
        }
    }

    /// Where a paginator stopped, if this error ended a stream of pages.
    pub fn stream_stopped(&self) -> Option<&StreamStopped> {
        match self {
            Error::StreamStopped(s) => Some(s),
            _ => None,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Api(e) => write!(f, "{e}"),
            Error::RateLimited(e) => {
                write!(f, "rate limited: {e}")?;
                match e.retry_after {
                    Some(wait) => write!(f, " (the API asked to wait {:.0?})", wait),
                    None => Ok(()),
                }
            }
            Error::GoneAfterLostAnswer(e) => write!(
                f,
                "{e}: an earlier attempt, whose answer was lost, has most likely deleted it"
            ),
            Error::InvalidRequest(e) => write!(f, "{e}"),
            Error::Config(e) => write!(f, "client configuration: {e}"),
            Error::Decode(e) => write!(f, "{e}"),
            Error::Transport(e) => write!(f, "{e}"),
            Error::RedirectRefused { operation, host } => write!(
                f,
                "{operation}: refused a redirect to `{host}`, which is not a Meraki host; \
                 the request (and API key) was not sent there"
            ),
            Error::DryRun {
                operation,
                not_sent,
            } => write!(
                f,
                "{operation}: dry run: {} {} was checked and not sent",
                not_sent.method, not_sent.path
            ),
            Error::Pagination { operation, reason } => {
                write!(f, "{operation}: pagination stopped: {reason}")
            }
            Error::StreamStopped(s) => {
                write!(
                    f,
                    "{}: stream stopped after {} page(s)",
                    s.operation, s.pages_delivered
                )?;
                if let Some(resume) = &s.resume {
                    write!(f, " (resume with {}={})", resume.parameter, resume.cursor)?;
                }
                write!(f, ": {}", s.error)
            }
            Error::OAuth {
                operation: "",
                error,
            } => {
                write!(f, "OAuth: {error}")
            }
            Error::OAuth { operation, error } => write!(f, "{operation}: OAuth: {error}"),
        }
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Transport(e) => Some(&e.source),
            Error::StreamStopped(s) => s.error.source(),
            Error::OAuth { error, .. } => Some(error),
            _ => None,
        }
    }
}
