//! The alert payload: documented fields, read leniently, unknown fields kept, the shared
//! secret never kept.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use super::{WebhookError, MAX_BODY_BYTES};

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
    /// already verified elsewhere; [`super::WebhookVerifier::verify`] checks and parses in one.
    pub fn from_json(body: &[u8]) -> Result<Alert, WebhookError> {
        let mut map = parse_object(body)?;
        map.remove("sharedSecret");
        from_map(map)
    }
}

pub(super) fn parse_object(body: &[u8]) -> Result<Map<String, Value>, WebhookError> {
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

pub(super) fn from_map(map: Map<String, Value>) -> Result<Alert, WebhookError> {
    // Every field reads leniently, so this fails only on what serde cannot represent.
    serde_json::from_value(Value::Object(map))
        .map_err(|e| WebhookError::Malformed(format!("the alert does not read: {e}")))
}
