//! The one answer to "may this request have reached the API?", and so "may it be sent again?".
//!
//! Retries, the batch runner, OAuth refreshes and [`crate::Error::is_retryable`] all ask here, so
//! a write that may have been applied is never sent again nor called retryable anywhere.

use reqwest::{Method, StatusCode};

/// How far a failed attempt got, as far as the client can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Nothing reached the server: the connection never opened.
    NotSent,
    /// The API answered that it did not act (`429`), or that it does not do this at all (`501`).
    Refused,
    /// The request may have reached the API and been applied: its answer was lost, cut short
    /// or late, or a gateway or the API answered `5xx`.
    Unknown,
}

/// What a transport failure says: a connection that never opened sent nothing; anything else
/// (a timeout, a request cut off, an answer that did not arrive whole) may have arrived.
pub(crate) fn of_transport(error: &reqwest::Error) -> Reach {
    if error.is_connect() && !error.is_timeout() {
        Reach::NotSent
    } else {
        Reach::Unknown
    }
}

/// What an answer's status says, for the statuses that leave an outcome open or refuse without
/// acting; `None` for an answer that says what happened (a success, a `4xx`).
pub(crate) fn of_status(status: StatusCode) -> Option<Reach> {
    match status.as_u16() {
        429 | 501 => Some(Reach::Refused),
        500..=599 => Some(Reach::Unknown),
        _ => None,
    }
}

/// Methods whose repetition does what one request does: safe to send again when the outcome
/// is unknown.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Whether a request that got this far may be sent again without risking a second write.
pub(crate) fn safe_to_resend(method: &Method, reach: Reach) -> bool {
    match reach {
        Reach::NotSent | Reach::Refused => true,
        Reach::Unknown => is_idempotent(method),
    }
}

/// Whether a rustls error (a handshake or certificate failure) is behind `error`. hyper and
/// the TLS layer wrap it in `io::Error`s, whose `source()` skips the wrapped error itself, so
/// each `io::Error` is opened too.
pub(crate) fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut next = Some(error);
    while let Some(e) = next {
        if e.is::<rustls::Error>() {
            return true;
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            if is_tls_failure(inner) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_that_cannot_have_been_applied_are_resent() {
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            assert!(safe_to_resend(&method, Reach::Unknown), "{method}");
        }
        for method in [Method::POST, Method::PATCH] {
            assert!(!safe_to_resend(&method, Reach::Unknown), "{method}");
            assert!(safe_to_resend(&method, Reach::NotSent), "{method}");
            assert!(safe_to_resend(&method, Reach::Refused), "{method}");
        }
        let status = |s| of_status(StatusCode::from_u16(s).unwrap());
        assert_eq!(status(429), Some(Reach::Refused));
        assert_eq!(status(502), Some(Reach::Unknown));
        assert_eq!(status(501), Some(Reach::Refused));
        assert_eq!(status(404), None);
        assert_eq!(status(200), None);
    }
}
