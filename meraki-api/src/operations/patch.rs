//! A request field that can be left out, cleared with `null`, or set.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A request body field the API lets a caller clear (`x-clearable` in the spec): left out
/// ([`Patch::Absent`], the default: the setting is not changed), sent as `null`
/// ([`Patch::Null`]: the API clears it), or sent with a value.
///
/// Builder setters take the value itself, an `Option` (`None` leaves the field out) or a
/// `Patch`, so code that never clears anything reads as before:
///
/// ```
/// use meraki_api::Patch;
///
/// let update = meraki_api::types::UpdateNetworkRequest::builder()
///     .name("Store 1".to_string())           // a value
///     .notes(Patch::Null)                     // cleared: `"notes": null`
///     .time_zone(None::<String>);             // left out
/// let body = meraki_api::types::UpdateNetworkRequest::try_from(update).unwrap();
/// assert_eq!(
///     serde_json::to_value(&body).unwrap(),
///     serde_json::json!({"name": "Store 1", "notes": null})
/// );
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Patch<T> {
    /// Not sent: the API leaves the setting as it is.
    #[default]
    Absent,
    /// Sent as `null`: the API clears the setting.
    Null,
    /// Sent with this value.
    Value(T),
}

impl<T> Patch<T> {
    /// Whether the field is left out (serde's `skip_serializing_if`).
    pub fn is_absent(&self) -> bool {
        matches!(self, Patch::Absent)
    }

    /// The value, if one is set.
    pub fn as_value(&self) -> Option<&T> {
        match self {
            Patch::Value(value) => Some(value),
            Patch::Absent | Patch::Null => None,
        }
    }
}

impl<T> From<T> for Patch<T> {
    fn from(value: T) -> Self {
        Patch::Value(value)
    }
}

/// `None` leaves the field out, as an `Option` setter always did.
impl<T> From<Option<T>> for Patch<T> {
    fn from(value: Option<T>) -> Self {
        value.map_or(Patch::Absent, Patch::Value)
    }
}

impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(value) => value.serialize(serializer),
            // `Absent` is skipped by the field's `skip_serializing_if`; on its own it is null.
            Patch::Absent | Patch::Null => serializer.serialize_none(),
        }
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<T>::deserialize(deserializer)?.map_or(Patch::Null, Patch::Value))
    }
}

#[cfg(feature = "json-schema")]
impl<T: schemars::JsonSchema> schemars::JsonSchema for Patch<T> {
    fn schema_name() -> String {
        Option::<T>::schema_name()
    }

    fn json_schema(generator: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
        Option::<T>::json_schema(generator)
    }

    fn is_referenceable() -> bool {
        false
    }
}
