//! Calls that were refused before sending, never answered, not sent, or stopped mid-stream.

use std::fmt;

use reqwest::Method;

/// A request refused before sending, naming the parameter at fault where there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct InvalidRequest {
    /// The operation, as its spec names it.
    pub operation: &'static str,
    /// The parameter at fault, as the API names it (`perPage`, `organizationId`), if known.
    pub parameter: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for InvalidRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: invalid request: ", self.operation)?;
        if let Some(p) = &self.parameter {
            write!(f, "parameter `{p}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvalidRequest {}

/// A request that never produced a response.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransportError {
    /// The operation, as its spec names it.
    pub operation: &'static str,
    /// The request's method.
    pub method: Method,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The underlying error.
    pub source: reqwest::Error,
}

impl TransportError {
    /// What failed, in a few words: name resolution, a refused connection, TLS, a timeout...
    pub fn cause(&self) -> &'static str {
        let chain = chain_text(&self.source).to_ascii_lowercase();
        if super::reach::is_tls_failure(&self.source) {
            "TLS handshake or certificate failed"
        } else if self.source.is_timeout() {
            "timed out"
        } else if chain.contains("dns error") || chain.contains("failed to lookup address") {
            "name resolution failed"
        } else if chain.contains("connection refused") {
            "connection refused"
        } else if self.source.is_connect() {
            "could not connect"
        } else if self.source.is_body() || self.source.is_decode() || chain.contains("closed") {
            "the answer did not arrive whole"
        } else {
            "transport error"
        }
    }
}

/// Every message of an error's chain, joined.
fn chain_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut next = Some(error);
    while let Some(e) = next {
        text.push_str(&e.to_string());
        text.push_str("; ");
        next = e.source();
    }
    text
}

impl fmt::Display for TransportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.operation, self.cause())?;
        if let Some(url) = self.source.url() {
            write!(f, " ({})", crate::net::authority(url))?;
        }
        write!(f, " after {} attempt(s)", self.attempts)
    }
}

impl std::error::Error for TransportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// A write that dry-run mode checked and did not send: what would have gone out. Its `Debug`
/// masks secret-looking fields of the body ([`crate::mask_secrets`]); the fields hold it whole.
#[derive(Clone, PartialEq)]
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

impl fmt::Debug for NotSent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NotSent")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "body",
                &self.body.as_ref().map(crate::secrets::mask_secrets),
            )
            .finish()
    }
}

/// Where a paginator stopped ([`super::Error::StreamStopped`]). Every item before the failed
/// page was delivered once; resuming from [`StreamStopped::resume`] delivers the rest.
#[derive(Debug)]
#[non_exhaustive]
pub struct StreamStopped {
    /// The paginated operation.
    pub operation: &'static str,
    /// Pages delivered before the one that failed.
    pub pages_delivered: usize,
    /// Where to start again, if the failed page was not the first.
    pub resume: Option<Resume>,
    /// Why the page failed.
    pub error: super::Error,
}

/// A page to start a paginator from: the builder's `.starting_after(cursor)` (or
/// `.ending_before(cursor)` walking backwards) then `.into_paginator()`, or
/// [`crate::pagination::Paginator::resume_from`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Resume {
    /// `startingAfter` or `endingBefore`.
    pub parameter: &'static str,
    /// The cursor of the page that failed.
    pub cursor: String,
    /// The page's URL as the `Link` header gave it.
    pub url: String,
}
