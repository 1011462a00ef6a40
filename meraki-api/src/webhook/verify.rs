//! Checking an alert's shared secret, in constant time.

use std::fmt;

use http::header::{HeaderName, AUTHORIZATION};
use serde_json::Value;

use super::alert::{from_map, parse_object};
use super::{Alert, MAX_BODY_BYTES, SECRET_ENV};
use crate::error::ConfigError;
use crate::secrets::Secret;

/// Why an alert was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebhookError {
    /// No shared secret in the body or the header: answer 401.
    MissingSecret,
    /// A shared secret that is not the configured one: answer 401.
    WrongSecret,
    /// The secret was right but the body is not an alert: answer 400.
    Malformed(String),
    /// The body is larger than [`MAX_BODY_BYTES`]: answer 413.
    TooLarge,
}

impl WebhookError {
    /// The HTTP status to answer with.
    pub fn status(&self) -> http::StatusCode {
        match self {
            WebhookError::MissingSecret | WebhookError::WrongSecret => {
                http::StatusCode::UNAUTHORIZED
            }
            WebhookError::Malformed(_) => http::StatusCode::BAD_REQUEST,
            WebhookError::TooLarge => http::StatusCode::PAYLOAD_TOO_LARGE,
        }
    }
}

impl fmt::Display for WebhookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WebhookError::MissingSecret => f.write_str("no shared secret: refused"),
            WebhookError::WrongSecret => f.write_str("wrong shared secret: refused"),
            WebhookError::Malformed(why) => write!(f, "not an alert: {why}"),
            WebhookError::TooLarge => write!(f, "body larger than {MAX_BODY_BYTES} bytes"),
        }
    }
}

impl std::error::Error for WebhookError {}

/// Checks alerts against an HTTP server's shared secret.
#[derive(Clone)]
pub struct WebhookVerifier {
    secret: Secret,
    /// Where a payload template puts the secret; `None`: `Authorization: Bearer`.
    header: Option<HeaderName>,
}

impl fmt::Debug for WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookVerifier")
            .field("secret", &self.secret)
            .field("header", &self.header)
            .finish()
    }
}

impl WebhookVerifier {
    /// A verifier for `secret` (the HTTP server's `sharedSecret`). An empty secret is refused:
    /// it would accept anyone.
    pub fn new(secret: impl Into<String>) -> Result<Self, ConfigError> {
        let secret = Secret::new(secret.into());
        if secret.expose().is_empty() {
            return Err(ConfigError::new(
                "webhook.secret",
                "empty: it would accept any alert",
            ));
        }
        Ok(Self {
            secret,
            header: None,
        })
    }

    /// A verifier for the secret in `MERAKI_WEBHOOK_SECRET`.
    pub fn from_env() -> Result<Self, ConfigError> {
        let secret = std::env::var(SECRET_ENV)
            .map_err(|_| ConfigError::new("webhook.secret", format!("{SECRET_ENV} is not set")))?;
        Self::new(secret)
    }

    /// The payload template sends the secret bare in header `name` (`X-Shared-Secret:
    /// {{sharedSecret}}`) rather than as `Authorization: Bearer`.
    pub fn secret_header(mut self, name: &str) -> Result<Self, ConfigError> {
        let name = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
            ConfigError::new(
                "webhook.secret_header",
                format!("`{name}` is not a header name"),
            )
        })?;
        self.header = Some(name);
        Ok(self)
    }

    fn matches(&self, presented: &[u8]) -> bool {
        crate::secrets::constant_time_eq(presented, self.secret.expose().as_bytes())
    }

    /// Checks the secret(s) an alert carries, then reads it. What the header and body carry
    /// must both be right where present, and one must be; a body that does not parse is
    /// refused as unauthenticated unless the header's secret was right (then it is
    /// [`WebhookError::Malformed`]), so junk learns nothing.
    pub fn verify(&self, headers: &http::HeaderMap, body: &[u8]) -> Result<Alert, WebhookError> {
        let header_name = self.header.as_ref().unwrap_or(&AUTHORIZATION);
        let from_header = match headers.get(header_name) {
            None => None,
            Some(value) => {
                let value = value.as_bytes();
                let secret = if self.header.is_some() {
                    value
                } else {
                    value
                        .strip_prefix(b"Bearer ")
                        .or_else(|| value.strip_prefix(b"bearer "))
                        .ok_or(WebhookError::WrongSecret)?
                };
                if !self.matches(secret) {
                    return Err(WebhookError::WrongSecret);
                }
                Some(())
            }
        };
        let mut map = match parse_object(body) {
            Ok(map) => map,
            Err(WebhookError::TooLarge) if from_header.is_none() => {
                return Err(WebhookError::MissingSecret)
            }
            Err(e) if from_header.is_some() => return Err(e),
            Err(_) => return Err(WebhookError::MissingSecret),
        };
        match map.remove("sharedSecret") {
            // Templates that move the secret to a header may leave the field empty.
            None | Some(Value::Null) => {}
            Some(Value::String(s)) if s.is_empty() && from_header.is_some() => {}
            Some(Value::String(s)) => {
                if !self.matches(s.as_bytes()) {
                    return Err(WebhookError::WrongSecret);
                }
                return from_map(map);
            }
            Some(_) => return Err(WebhookError::WrongSecret),
        }
        match from_header {
            Some(()) => from_map(map),
            None => Err(WebhookError::MissingSecret),
        }
    }
}
