//! Error answers of the API.

use std::fmt;
use std::time::Duration;

use reqwest::{Method, StatusCode};

/// An error status from the API, with what support will ask for.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ApiError {
    /// The operation, as its spec names it (e.g. `getOrganizationLicenses`).
    pub operation: &'static str,
    /// The request's method.
    pub method: Method,
    /// The final HTTP status.
    pub status: StatusCode,
    /// The messages of the `{"errors": [...]}` body, if it had one.
    pub messages: Vec<String>,
    /// The `X-Request-Id` response header.
    pub request_id: Option<String>,
    /// How many times the request was sent.
    pub attempts: u32,
    /// The `Retry-After` the API asked for, on a 429 or a 5xx.
    pub retry_after: Option<Duration>,
    /// A hint at the cause the status alone does not give (a base URL without `/api/v1`).
    pub hint: Option<String>,
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
        if let Some(hint) = &self.hint {
            write!(f, " ({hint})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The `{"errors": [...]}` body Meraki sends with error statuses (an excerpt of any other
/// body, masked).
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
                other => crate::secrets::mask_secrets(&other).to_string(),
            })
            .collect(),
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                Vec::new()
            } else {
                vec![super::decode::excerpt(
                    &crate::secrets::mask_json_text(text),
                    0,
                    200,
                )]
            }
        }
    }
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
        let masked = error_messages(br#"{"psk": "hunter22", "oops": true}"#);
        assert!(!masked[0].contains("hunter22"), "{masked:?}");
    }

    fn error(status: u16, message: &str) -> ApiError {
        ApiError {
            operation: "op",
            method: Method::GET,
            status: StatusCode::from_u16(status).unwrap(),
            messages: vec![message.to_owned()],
            request_id: None,
            attempts: 1,
            retry_after: None,
            hint: None,
        }
    }

    #[test]
    fn recurring_api_conditions_have_kinds() {
        let kind = |status: u16, message: &str| error(status, message).kind();
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
        let mut e = error(400, "first\nsecond");
        e.messages.push("third\r".into());
        assert_eq!(
            e.to_string(),
            "op: HTTP 400 Bad Request: first second; third "
        );
    }
}
