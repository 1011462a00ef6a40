//! Receiving Meraki's webhook alerts: typed payloads and the shared secret checked in constant
//! time.
//!
//! Meraki POSTs each alert as JSON to the HTTP servers configured on a network. It signs
//! nothing: the HTTP server's shared secret travels in the body (`sharedSecret`), or, with a
//! custom payload template, in a header (`Authorization: Bearer {{sharedSecret}}`). A receiver
//! accepts an alert only when every secret it carries is the configured one, and at least one
//! is there. This module does that for any HTTP server; it brings none of its own (the
//! `webhook_receiver` example uses hyper).
//!
//! ```
//! use meraki_api::webhook::{WebhookError, WebhookVerifier};
//! let verifier = WebhookVerifier::new("s3cret").unwrap();
//! let body = br#"{"version":"0.1","sharedSecret":"s3cret","alertType":"APs went down"}"#;
//! let alert = verifier.verify(&http::HeaderMap::new(), body).unwrap();
//! assert_eq!(alert.alert_type.as_deref(), Some("APs went down"));
//! let forged = br#"{"sharedSecret":"guess"}"#;
//! assert!(matches!(verifier.verify(&http::HeaderMap::new(), forged), Err(WebhookError::WrongSecret)));
//! ```

use std::fmt;

use http::header::{HeaderName, AUTHORIZATION};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::oauth::Secret;

/// The environment variable the `webhook_receiver` example reads the shared secret from.
pub const SECRET_ENV: &str = "MERAKI_WEBHOOK_SECRET";

/// The largest body [`WebhookVerifier::verify`] reads (1 MiB; alerts are a few kilobytes).
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// One alert, as Meraki sends it (payload version `0.1`). Every field is optional (an alert
/// lacks what does not apply to it: a network alert has no device); a field of an unexpected
/// type reads as absent rather than failing the alert; fields this version does not know are
/// kept in [`Alert::other`], so a newer payload still parses. The shared secret is not kept.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Alert {
    /// Payload version (`"0.1"`).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub version: Option<String>,
    /// When the alert was sent (ISO 8601).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub sent_at: Option<String>,
    /// The organization's id.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization_id: Option<String>,
    /// The organization's name.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization_name: Option<String>,
    /// The organization's Dashboard URL.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub organization_url: Option<String>,
    /// The network's id.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_id: Option<String>,
    /// The network's name.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_name: Option<String>,
    /// The network's Dashboard URL.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_url: Option<String>,
    /// The network's tags.
    #[serde(
        default,
        deserialize_with = "tags",
        skip_serializing_if = "Option::is_none"
    )]
    pub network_tags: Option<Vec<String>>,
    /// The device's serial.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_serial: Option<String>,
    /// The device's MAC address.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_mac: Option<String>,
    /// The device's name.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_name: Option<String>,
    /// The device's Dashboard URL.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_url: Option<String>,
    /// The device's tags.
    #[serde(
        default,
        deserialize_with = "tags",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_tags: Option<Vec<String>>,
    /// The device's model (`MR34`).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub device_model: Option<String>,
    /// The alert instance's id.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub alert_id: Option<String>,
    /// The alert type, as people read it (`APs went down`).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub alert_type: Option<String>,
    /// The alert type's id (`stopped_reporting`), as `getOrganizationWebhooksAlertTypes`
    /// lists them.
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub alert_type_id: Option<String>,
    /// `critical`, `warning` or `informational` (others kept as sent).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub alert_level: Option<String>,
    /// When the alert occurred (ISO 8601).
    #[serde(
        default,
        deserialize_with = "text",
        skip_serializing_if = "Option::is_none"
    )]
    pub occurred_at: Option<String>,
    /// What the alert type carries (its fields depend on the type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert_data: Option<Value>,
    /// Fields not listed above, as sent.
    #[serde(flatten)]
    pub other: Map<String, Value>,
    /// The shared secret is read past and dropped, even when an `Alert` is deserialized
    /// directly, so it cannot reach `other` and be printed.
    #[serde(
        rename = "sharedSecret",
        default,
        skip_serializing,
        deserialize_with = "discard"
    )]
    shared_secret: Discarded,
}

/// What became of a shared secret in a payload: nothing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Discarded;

fn discard<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Discarded, D::Error> {
    serde::de::IgnoredAny::deserialize(deserializer)?;
    Ok(Discarded)
}

/// A string field: strings, numbers and booleans as text; anything else as absent.
fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    })
}

/// Tags: a list of strings, or one string of space-separated tags.
fn tags<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Vec<String>>, D::Error> {
    Ok(match Value::deserialize(deserializer)? {
        Value::Array(items) => Some(
            items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s),
                    _ => None,
                })
                .collect(),
        ),
        Value::String(s) => Some(s.split_whitespace().map(str::to_owned).collect()),
        _ => None,
    })
}

impl Alert {
    /// Reads an alert from JSON, ignoring (and dropping) any shared secret in it. For alerts
    /// already verified elsewhere; [`WebhookVerifier::verify`] checks and parses in one.
    pub fn from_json(body: &[u8]) -> Result<Alert, WebhookError> {
        let mut map = parse_object(body)?;
        map.remove("sharedSecret");
        from_map(map)
    }
}

fn parse_object(body: &[u8]) -> Result<Map<String, Value>, WebhookError> {
    if body.len() > MAX_BODY_BYTES {
        return Err(WebhookError::TooLarge);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(WebhookError::Malformed(
            "the body is not a JSON object".into(),
        )),
        Err(e) => Err(WebhookError::Malformed(format!(
            "the body is not JSON: {e}"
        ))),
    }
}

fn from_map(map: Map<String, Value>) -> Result<Alert, WebhookError> {
    // Every field reads leniently, so this fails only on what serde cannot represent.
    serde_json::from_value(Value::Object(map))
        .map_err(|e| WebhookError::Malformed(format!("the alert does not read: {e}")))
}

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
        crate::auth::constant_time_eq(presented, self.secret.expose().as_bytes())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn secrets_in_body_or_header_must_all_be_right() {
        let v = WebhookVerifier::new("s3cret").unwrap();
        let none = headers(&[]);
        let ok = br#"{"sharedSecret":"s3cret","alertId":"1"}"#;
        assert_eq!(v.verify(&none, ok).unwrap().alert_id.as_deref(), Some("1"));
        assert_eq!(
            v.verify(&none, br#"{"alertId":"1"}"#),
            Err(WebhookError::MissingSecret)
        );
        assert_eq!(
            v.verify(&none, br#"{"sharedSecret":"s3cre"}"#),
            Err(WebhookError::WrongSecret)
        );
        assert_eq!(
            v.verify(&none, br#"{"sharedSecret":"s3cret!"}"#),
            Err(WebhookError::WrongSecret)
        );
        assert_eq!(
            v.verify(&none, br#"{"sharedSecret":7}"#),
            Err(WebhookError::WrongSecret)
        );
        let bearer = headers(&[("authorization", "Bearer s3cret")]);
        assert!(v.verify(&bearer, br#"{"alertId":"1"}"#).is_ok());
        assert!(v
            .verify(&bearer, br#"{"alertId":"1","sharedSecret":""}"#)
            .is_ok());
        assert_eq!(
            v.verify(&bearer, br#"{"sharedSecret":"other"}"#),
            Err(WebhookError::WrongSecret),
            "a wrong body secret beside a right header"
        );
        let wrong = headers(&[("authorization", "Bearer nope")]);
        assert_eq!(v.verify(&wrong, ok), Err(WebhookError::WrongSecret));
        let basic = headers(&[("authorization", "Basic czNjcmV0")]);
        assert_eq!(v.verify(&basic, ok), Err(WebhookError::WrongSecret));
        // Junk: unauthenticated unless the header was right.
        assert_eq!(
            v.verify(&none, b"not json"),
            Err(WebhookError::MissingSecret)
        );
        assert!(matches!(
            v.verify(&bearer, b"[1,2]"),
            Err(WebhookError::Malformed(_))
        ));
        let custom = WebhookVerifier::new("s3cret")
            .unwrap()
            .secret_header("x-shared-secret")
            .unwrap();
        assert!(custom
            .verify(&headers(&[("x-shared-secret", "s3cret")]), b"{}")
            .is_ok());
        assert!(WebhookVerifier::new("").is_err());
        assert!(!format!("{v:?}").contains("s3cret"));
    }

    #[test]
    fn fields_of_unexpected_types_read_as_absent_and_unknown_fields_are_kept() {
        let alert = Alert::from_json(
            br#"{"alertId":12,"deviceTags":"a b","networkTags":["x",3],"alertLevel":["?"],
                 "sharedSecret":"gone","newField":{"k":1},"alertData":{"n":1}}"#,
        )
        .unwrap();
        assert_eq!(alert.alert_id.as_deref(), Some("12"));
        assert_eq!(alert.device_tags, Some(vec!["a".into(), "b".into()]));
        assert_eq!(alert.network_tags, Some(vec!["x".into()]));
        assert_eq!(alert.alert_level, None);
        assert_eq!(alert.other["newField"], serde_json::json!({"k": 1}));
        assert!(!alert.other.contains_key("sharedSecret"));
        let direct: Alert =
            serde_json::from_str(r#"{"sharedSecret":"s3cret","alertId":"1"}"#).unwrap();
        assert!(!serde_json::to_string(&direct).unwrap().contains("s3cret"));
        assert!(!format!("{direct:?}").contains("s3cret"));
        let printed = serde_json::to_string(&alert).unwrap();
        assert!(!printed.contains("gone"), "{printed}");
        assert!(printed.contains("newField"), "{printed}");
    }
}
