//! The one error type of the crate.

use std::fmt;
use std::time::Duration;

use reqwest::StatusCode;
use serde::de::DeserializeOwned;

/// What went wrong with a call. `Display` gives one line a person can act on.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The API answered with an error status (after any retries).
    Api(ApiError),
    /// The API still answered `429 Too Many Requests` when retries ran out, or asked for a
    /// wait (`retry_after`) beyond the retry deadline.
    RateLimited(ApiError),
    /// A `DELETE` met `404 Not Found` after an earlier attempt whose answer was lost: that
    /// attempt has most likely deleted it. Not a plain not-found: the resource was there.
    GoneAfterLostAnswer(ApiError),
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
        error: crate::oauth::OAuthError,
    },
}

/// Where a paginator stopped ([`Error::StreamStopped`]). Every item before the failed page was
/// delivered once; resuming from [`StreamStopped::resume`] delivers the rest.
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
    pub error: Error,
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

/// A write that dry-run mode checked and did not send: what would have gone out. Its `Debug`
/// masks secret-looking fields of the body ([`mask_secrets`]); the fields hold it whole.
#[derive(Clone, PartialEq)]
#[non_exhaustive]
pub struct NotSent {
    /// `POST`, `PUT`, `DELETE` or `PATCH`.
    pub method: reqwest::Method,
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
            .field("body", &self.body.as_ref().map(mask_secrets))
            .finish()
    }
}

/// `value` with the values of secret-looking fields replaced by `"***"`, at any depth: names
/// holding `psk`, `secret`, `password`, `passphrase`, `community`, `token` or `credential`, and
/// `key` or names ending in `Key` (`apiKey`, `sharedKey`). For printing bodies in errors and
/// reports; what is sent is never masked.
pub fn mask_secrets(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, v)| {
                    let masked = if is_secret_name(name) && !v.is_null() {
                        Value::String("***".into())
                    } else {
                        mask_secrets(v)
                    };
                    (name.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_secrets).collect()),
        other => other.clone(),
    }
}

pub(crate) fn is_secret_name(name: &str) -> bool {
    const WORDS: [&str; 8] = [
        "psk",
        "secret",
        "password",
        "passphrase",
        "passwd",
        "community",
        "token",
        "credential",
    ];
    let lower = name.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w)) || lower == "key" || name.ends_with("Key")
}

/// A setting the client cannot be built with, by name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The setting as the builder names it: `api_key`, `base_url`, `caller`,
    /// `rate_limit.per_org_rate`, `retry.max_attempts`, ...
    pub setting: &'static str,
    /// What is wrong with it (never the key itself).
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(setting: &'static str, message: impl Into<String>) -> Self {
        Self {
            setting,
            message: message.into(),
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}`: {}", self.setting, self.message)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::Config(e)
    }
}

/// An error status from the API, with what support will ask for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The operation, as its spec names it (e.g. `getOrganizationLicenses`).
    pub operation: &'static str,
    /// The final HTTP status.
    pub status: StatusCode,
    /// The messages of the `{"errors": [...]}` body, if it had one.
    pub messages: Vec<String>,
    /// The `X-Request-Id` response header.
    pub request_id: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The `Retry-After` the API asked for, on a 429.
    pub retry_after: Option<Duration>,
}

/// What an API error is about, for the conditions callers meet again and again (from the status
/// and Meraki's messages; [`ApiError::kind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// `401`: the key (or token) is wrong, revoked or expired.
    InvalidCredentials,
    /// API access is not enabled for the organization (`403`, "API ... not enabled").
    ApiNotEnabled,
    /// The key may not be used from this IP address (the organization's login IP ranges).
    IpNotAllowed,
    /// Another change to the same resource is in progress or won (`409`, "concurrent").
    ConcurrentChange,
    /// `403` for another reason: the key's administrator may not do this.
    Forbidden,
    /// `404`: no such resource, or the key cannot see it.
    NotFound,
    /// `429`.
    RateLimited,
    /// `400` or `422`: the request's content was refused.
    BadRequest,
    /// `5xx`.
    ServerError,
    /// Anything else.
    Other,
}

impl ApiError {
    /// What this error is about, for branching on Meraki's recurring conditions.
    pub fn kind(&self) -> ApiErrorKind {
        let text = self.messages.join(" ").to_ascii_lowercase();
        let status = self.status.as_u16();
        if text.contains("ip address")
            && (text.contains("not allowed") || text.contains("restrict"))
            || text.contains("ip is not allowed")
        {
            return ApiErrorKind::IpNotAllowed;
        }
        if text.contains("api") && (text.contains("not enabled") || text.contains("disabled")) {
            return ApiErrorKind::ApiNotEnabled;
        }
        let conflict =
            status == 409 || text.contains("concurrent") || text.contains("being modified");
        if conflict && status != 429 && !text.contains("executing batches") {
            return ApiErrorKind::ConcurrentChange;
        }
        match status {
            401 => ApiErrorKind::InvalidCredentials,
            403 => ApiErrorKind::Forbidden,
            404 => ApiErrorKind::NotFound,
            429 => ApiErrorKind::RateLimited,
            400 | 422 => ApiErrorKind::BadRequest,
            500..=599 => ApiErrorKind::ServerError,
            _ => ApiErrorKind::Other,
        }
    }
}

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

/// A response that does not decode.
#[derive(Debug)]
#[non_exhaustive]
pub struct DecodeError {
    /// The operation, as its spec names it.
    pub operation: &'static str,
    /// JSON path of the value that failed, e.g. `[3].permanentlyQueuedLicenses[0].id`.
    pub path: String,
    /// The decoder's message.
    pub message: String,
    /// A short excerpt of the body around the failure.
    pub excerpt: String,
    /// Where a paginator decodes items one by one ([`crate::pagination::Paginator::lenient_items`]):
    /// the item's position in its page and its JSON as sent.
    pub item: Option<(usize, String)>,
}

/// A request that never produced a response.
#[derive(Debug)]
#[non_exhaustive]
pub struct TransportError {
    /// The operation, as its spec names it.
    pub operation: &'static str,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The underlying error.
    pub source: reqwest::Error,
}

impl Error {
    /// The answer's error, where the API answered with one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Error::Api(e) | Error::RateLimited(e) | Error::GoneAfterLostAnswer(e) => Some(e),
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

    /// Whether the same call may succeed later as it is: throttling, server errors and
    /// transport failures that outlasted the client's retries. Not for errors of the request
    /// itself (4xx, invalid parameters, configuration) or of the answer's content.
    pub fn is_retryable(&self) -> bool {
        match self {
            Error::RateLimited(_) => true,
            Error::Api(e) => e.status.is_server_error(),
            Error::Transport(e) => !is_tls_failure(&e.source),
            Error::StreamStopped(s) => s.error.is_retryable(),
            Error::OAuth { error, .. } => matches!(
                error,
                crate::oauth::OAuthError::Transport { .. } | crate::oauth::OAuthError::Store(_)
            ),
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
            Error::InvalidRequest(e) => {
                write!(f, "{}: invalid request: ", e.operation)?;
                if let Some(p) = &e.parameter {
                    write!(f, "parameter `{p}`: ")?;
                }
                f.write_str(&e.message)
            }
            Error::Config(e) => write!(f, "client configuration: {e}"),
            Error::Decode(e) => write!(
                f,
                "{}: response does not decode at `{}`: {} (near: {})",
                e.operation, e.path, e.message, e.excerpt
            ),
            // The source (reqwest's error, which names the URL, never headers) is `source()`:
            // error reporters print it after this line, so it is not repeated here.
            Error::Transport(e) => {
                let kind = if is_tls_failure(&e.source) {
                    "TLS handshake or certificate failed"
                } else if e.source.is_timeout() {
                    "timed out"
                } else if e.source.is_connect() {
                    "could not connect"
                } else if e.source.is_body() || e.source.is_decode() {
                    "the answer did not arrive whole"
                } else {
                    "transport error"
                };
                write!(f, "{}: {kind} after {} attempt(s)", e.operation, e.attempts)
            }
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

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}", self.operation, self.status)?;
        if !self.messages.is_empty() {
            // One line, whatever the API put in its messages.
            let joined = self.messages.join("; ");
            let line: String = joined
                .chars()
                .map(|c| if c.is_control() { ' ' } else { c })
                .collect();
            write!(f, ": {line}")?;
        }
        if self.attempts > 1 {
            write!(f, " (after {} attempts)", self.attempts)?;
        }
        if let Some(id) = &self.request_id {
            write!(f, " [X-Request-Id: {id}]")?;
        }
        Ok(())
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

/// The `{"errors": [...]}` body Meraki sends with error statuses.
pub(crate) fn error_messages(body: &[u8]) -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct Body {
        errors: Vec<serde_json::Value>,
    }
    match serde_json::from_slice::<Body>(body) {
        Ok(b) => b
            .errors
            .into_iter()
            .map(|v| match v {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            })
            .collect(),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                Vec::new()
            } else {
                vec![excerpt(text, 0, 200)]
            }
        }
    }
}

impl DecodeError {
    /// What no repair could fix in an answer (see `lenient::decode_repaired`).
    pub(crate) fn unrepaired(operation: &'static str, error: crate::lenient::Unrepaired) -> Self {
        Self {
            operation,
            path: error.path,
            message: error.message,
            excerpt: excerpt(&error.context, 0, 80),
            item: None,
        }
    }
}

/// Re-decodes a body that failed, this time tracking the path, to say where it failed.
pub(crate) fn decode_error<T: DeserializeOwned>(
    operation: &'static str,
    body: &[u8],
    original: &serde_json::Error,
) -> DecodeError {
    let mut de = serde_json::Deserializer::from_slice(body);
    let (path, message) = match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(e) => (e.path().to_string(), e.inner().to_string()),
        Ok(_) => (".".to_owned(), original.to_string()),
    };
    let text = String::from_utf8_lossy(body);
    let offset = byte_offset(&text, original.line(), original.column());
    DecodeError {
        operation,
        path,
        message,
        excerpt: excerpt(&text, offset, 80),
        item: None,
    }
}

fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    (line_start + column.saturating_sub(1)).min(text.len())
}

/// Up to `width` characters of `text` around byte `offset`, on one line.
pub(crate) fn excerpt(text: &str, offset: usize, width: usize) -> String {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let center = chars.partition_point(|(i, _)| *i < offset);
    let start = center.saturating_sub(width / 2);
    let end = (start + width).min(chars.len());
    let mut out: String = chars[start..end]
        .iter()
        .map(|(_, c)| if c.is_control() { ' ' } else { *c })
        .collect();
    if start > 0 {
        out.insert(0, '…');
    }
    if end < chars.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meraki_error_bodies() {
        assert_eq!(
            error_messages(br#"{"errors": ["Organization not found", "x"]}"#),
            ["Organization not found", "x"]
        );
        assert_eq!(
            error_messages(b"<html>Bad gateway</html>"),
            ["<html>Bad gateway</html>"]
        );
        assert!(error_messages(b"").is_empty());
    }

    #[test]
    fn decode_errors_name_the_path() {
        let body = br#"[{"id": "1"}, {"id": 2}]"#;
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Item {
            id: String,
        }
        let err = serde_json::from_slice::<Vec<Item>>(body).unwrap_err();
        let decoded = decode_error::<Vec<Item>>("getThings", body, &err);
        assert_eq!(decoded.path, "[1].id");
        assert!(decoded.excerpt.contains("\"id\": 2"), "{}", decoded.excerpt);
    }

    #[test]
    fn secrets_are_masked_at_any_depth_and_nothing_else() {
        let body = serde_json::json!({
            "name": "Guest", "psk": "hunter22", "authMode": "psk",
            "radiusServers": [{"host": "10.0.0.1", "secret": "s3cret", "port": 1812}],
            "snmp": {"communityString": "public", "users": [{"username": "u", "passphrase": "pp"}]},
            "apiKey": "k", "key": "k2", "licenseKey": "L", "keyboard": "no",
            "sharedSecret": null,
        });
        let masked = mask_secrets(&body).to_string();
        for secret in [
            "hunter22", "s3cret", "public", "\"pp\"", "\"k\"", "k2", "\"L\"",
        ] {
            assert!(!masked.contains(secret), "{secret} in {masked}");
        }
        for kept in [
            "Guest",
            "\"authMode\":\"psk\"",
            "10.0.0.1",
            "1812",
            "\"keyboard\":\"no\"",
            "\"sharedSecret\":null",
        ] {
            assert!(masked.contains(kept), "{kept} not in {masked}");
        }
    }

    #[test]
    fn recurring_api_conditions_have_kinds() {
        let kind = |status: u16, message: &str| {
            ApiError {
                operation: "op",
                status: StatusCode::from_u16(status).unwrap(),
                messages: vec![message.to_owned()],
                request_id: None,
                attempts: 1,
                retry_after: None,
            }
            .kind()
        };
        assert_eq!(
            kind(401, "Invalid API key"),
            ApiErrorKind::InvalidCredentials
        );
        assert_eq!(
            kind(403, "API access is not enabled for this organization"),
            ApiErrorKind::ApiNotEnabled
        );
        assert_eq!(
            kind(
                403,
                "Your IP address is not allowed to access this organization"
            ),
            ApiErrorKind::IpNotAllowed
        );
        assert_eq!(kind(409, "Conflict"), ApiErrorKind::ConcurrentChange);
        assert_eq!(
            kind(
                400,
                "Another concurrent change to this network is in progress"
            ),
            ApiErrorKind::ConcurrentChange
        );
        assert_eq!(
            kind(400, "Too many concurrently executing batches"),
            ApiErrorKind::BadRequest
        );
        assert_eq!(kind(403, "Forbidden"), ApiErrorKind::Forbidden);
        assert_eq!(kind(404, "Not found"), ApiErrorKind::NotFound);
        assert_eq!(kind(502, ""), ApiErrorKind::ServerError);
    }

    #[test]
    fn api_errors_are_one_line() {
        let error = ApiError {
            operation: "op",
            status: StatusCode::BAD_REQUEST,
            messages: vec!["first\nsecond".into(), "third\r".into()],
            request_id: None,
            attempts: 1,
            retry_after: None,
        };
        assert_eq!(
            error.to_string(),
            "op: HTTP 400 Bad Request: first second; third "
        );
    }

    #[test]
    fn excerpts_are_short_and_char_safe() {
        let text = "é".repeat(500);
        let e = excerpt(&text, 501, 20);
        assert!(e.chars().count() <= 22);
        assert_eq!(excerpt("abc", 99, 10), "abc");
    }
}
