//! What a request path says about its owner, and what a listing's answer teaches.

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::plausible_id;

/// Whose rate limit a request path counts against, as far as the path says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner<'a> {
    Organization(&'a str),
    Network(&'a str),
    Device(&'a str),
    /// Outside any organization (`/organizations`, `/administered/identities/me`).
    Unowned,
}

/// Finds the owner in a path relative to the API's base (`/networks/N_1/clients`).
pub(crate) fn owner_in_path(path: &str) -> Owner<'_> {
    let mut segments = path.trim_start_matches('/').split('/');
    let kind = segments.next().unwrap_or_default();
    let Some(id) = segments.next().filter(|id| !id.is_empty()) else {
        return Owner::Unowned;
    };
    match kind {
        "organizations" => Owner::Organization(id),
        "networks" => Owner::Network(id),
        "devices" => Owner::Device(id),
        _ => Owner::Unowned,
    }
}

/// What a successful response teaches about who owns what, by the request it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lesson {
    /// `GET /organizations/{id}/networks`: every network's `id` is the organization's.
    OrganizationNetworks(String),
    /// `GET /networks/{id}`: its `organizationId`.
    Network(String),
    /// An organization's devices or inventory: every `serial` (and `networkId`) is its own.
    OrganizationDevices(String),
    /// `GET /devices/{serial}`: its `networkId`, whose organization may be known.
    Device(String),
    /// `GET /networks/{id}/devices`: every `serial` belongs to the network's organization.
    NetworkDevices(String),
}

/// The lesson of a `GET` for `path` (relative to the API's base), if its answer lists owners.
pub(crate) fn lesson_for(path: &str) -> Option<Lesson> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let id = |s: &str| plausible_id(s).then(|| s.to_owned());
    match segments.as_slice() {
        ["organizations", org, "networks"] => id(org).map(Lesson::OrganizationNetworks),
        ["organizations", org, "devices"]
        | ["organizations", org, "inventory", "devices"]
        | ["organizations", org, "inventory", "devices", _]
        | ["organizations", org, "inventoryDevices"] => id(org).map(Lesson::OrganizationDevices),
        ["networks", network] => id(network).map(Lesson::Network),
        ["networks", network, "devices"] => id(network).map(Lesson::NetworkDevices),
        ["devices", serial] => id(serial).map(Lesson::Device),
        _ => None,
    }
}

/// The fields of a listed network or device that say who owns it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Entry {
    #[serde(default)]
    pub(super) id: Text,
    #[serde(default)]
    pub(super) organization_id: Text,
    #[serde(default)]
    pub(super) serial: Text,
    #[serde(default)]
    pub(super) network_id: Text,
}

/// A string field (ids and serials are strings on the wire), or nothing when the API sends
/// something else there (`null`, a number, an object): a directory entry is a hint, never a reason to reject a response.
#[derive(Default)]
pub(super) struct Text(pub(super) Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;

        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_str<E>(self, v: &str) -> Result<Text, E> {
                Ok(Text(Some(v.to_owned())))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Text, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Text, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Text, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }

        deserializer.deserialize_any(TextVisitor)
    }
}
