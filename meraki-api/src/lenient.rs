//! Deserialization helpers the generated types use where the API is looser than its specs.

use serde::{Deserialize, Deserializer};

/// Decodes `null` as an empty collection (the API sends `null` for arrays it documents).
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
