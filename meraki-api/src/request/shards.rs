//! Shard memory: after the API moves an organization's requests to its shard host, later
//! requests for that organization go there directly (as Meraki's SDKs do), until the shard stops
//! answering. Each organization has its own shard.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use reqwest::Url;

use crate::net::authority;
use crate::pacing::Lane;

/// Where the API moved each organization's requests (requests of no known organization share
/// one entry).
#[derive(Debug, Default)]
pub(crate) struct Shards {
    by_organization: Mutex<HashMap<Option<Arc<str>>, Url>>,
}

fn key(lane: &Lane) -> Option<Arc<str>> {
    match lane {
        Lane::Organization(org) => Some(org.clone()),
        Lane::Unresolved | Lane::Global | Lane::Lookup => None,
    }
}

impl Shards {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Option<Arc<str>>, Url>> {
        self.by_organization
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends a request for the base URL to its organization's shard, if one is known.
    pub(crate) fn route(&self, lane: &Lane, url: &mut Url, base: &Url) {
        let shard = self.lock().get(&key(lane)).cloned();
        if let Some(shard) = shard {
            if same_origin(url, base) {
                set_origin(url, &shard);
            }
        }
    }

    /// A redirect of the same path from the base URL (or the current shard) to another trusted
    /// host names the organization's shard.
    pub(crate) fn remember(&self, lane: &Lane, from: &Url, to: &Url, base: &Url) {
        let mut shards = self.lock();
        let key = key(lane);
        let current = shards.get(&key);
        let from_us = same_origin(from, base) || current.is_some_and(|s| same_origin(from, s));
        if from_us && from.path() == to.path() && !same_origin(to, base) {
            if !current.is_some_and(|s| same_origin(s, to)) {
                tracing::info!(
                    target: "meraki_api",
                    shard = %authority(to),
                    organization = key.as_deref(),
                    "later calls go to the shard"
                );
            }
            shards.insert(key, to.clone());
        }
    }

    /// Stops using the shard if `url` is on it; says whether it was.
    pub(crate) fn forget(&self, lane: &Lane, url: &Url) -> bool {
        let mut shards = self.lock();
        let key = key(lane);
        let on_shard = shards.get(&key).is_some_and(|s| same_origin(url, s));
        if on_shard {
            tracing::info!(
                target: "meraki_api",
                shard = %authority(url),
                "the shard stopped answering: back to the base URL"
            );
            shards.remove(&key);
        }
        on_shard
    }
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// Moves `url` to `origin`'s scheme, host and port, keeping path and query.
pub(crate) fn set_origin(url: &mut Url, origin: &Url) {
    // Both are http(s) URLs with hosts, so none of these can fail.
    let _ = url.set_scheme(origin.scheme());
    let _ = url.set_host(origin.host_str());
    let _ = url.set_port(origin.port());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn each_organization_keeps_its_own_shard() {
        let base = url("https://api.meraki.com/api/v1");
        let shards = Shards::default();
        let (a, b) = (
            Lane::Organization("1".into()),
            Lane::Organization("2".into()),
        );
        let on = |host: &str| url(&format!("https://{host}/api/v1/organizations/x"));
        shards.remember(&a, &on("api.meraki.com"), &on("n1.meraki.com"), &base);
        shards.remember(&b, &on("api.meraki.com"), &on("n2.meraki.com"), &base);
        let routed = |lane: &Lane| {
            let mut u = on("api.meraki.com");
            shards.route(lane, &mut u, &base);
            u.host_str().unwrap().to_owned()
        };
        assert_eq!(routed(&a), "n1.meraki.com");
        assert_eq!(routed(&b), "n2.meraki.com");
        assert_eq!(routed(&Lane::Global), "api.meraki.com");
        assert!(shards.forget(&a, &on("n1.meraki.com")));
        assert_eq!(routed(&a), "api.meraki.com");
        assert_eq!(routed(&b), "n2.meraki.com");
    }
}
