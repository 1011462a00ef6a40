//! Chooses the buckets that pace a request: those of the organization it counts against.
//!
//! `/organizations/{id}/...` names it. For `/networks/{id}/...` and `/devices/{serial}/...` the
//! directory may know it (learned from listings, registered, restored); otherwise the first
//! request for that id looks it up once (`GET /networks/{id}`, or `GET /devices/{serial}` and
//! then its network), paced by the global bucket and charged to the organization it finds.
//! Callers waiting on the same id share that lookup, and lookups take turns (each turn lasts
//! for the lookup and the first page of the listings it starts), because after a lookup finds
//! an organization not met before, the client lists that organization's networks (and
//! devices, after a device lookup) once: bulk work over many networks of one organization then
//! costs one lookup and one or two listings, not one lookup per network. A listing that fails
//! (or whose caller is cancelled) is made again by a later lookup. While an id cannot be
//! resolved (its lookup failed, or lookups are off), its requests share one conservative
//! bucket. Nothing goes unpaced.

use reqwest::{Method, Url};
use serde::Deserialize;

use crate::directory::{owner_in_path, Owner, Unknown};
use crate::error::{Error, InvalidRequest};
use crate::link::page_links;
use crate::outcome::{answer_error, failure_error};
use crate::pacing::Pace;
use crate::transport::{ClientState, Exchange};

/// The pace of a request for `url`.
pub(crate) async fn pace_for(state: &ClientState, http: &reqwest::Client, url: &Url) -> Pace {
    let pacer = state.pacer();
    let unknown = match owner_in_path(state.relative_path(url)) {
        Owner::Organization(org) => return pacer.organization(org),
        Owner::Unowned => return pacer.global(),
        Owner::Network(id) => Unknown::Network(id.into()),
        Owner::Device(serial) => Unknown::Device(serial.into()),
    };
    match resolve(state, http, &unknown).await {
        Some(org) => pacer.organization(&org),
        None => pacer.unresolved(),
    }
}

/// The organization of a network or device: known, or looked up once for all who ask.
async fn resolve(state: &ClientState, http: &reqwest::Client, unknown: &Unknown) -> Option<String> {
    let directory = state.directory();
    if let Some(org) = directory.organization_of(unknown) {
        return Some(org);
    }
    let lookups = state.lookups();
    if !state.resolve_settings().lookups || lookups.failed_recently(unknown) {
        return None;
    }
    let shared = lookups.shared(unknown);
    let org = shared
        .get_or_init(|| async {
            let mut turn = lookups.place().await;
            // A lookup before this one may have listed this id's organization.
            if let Some(org) = directory.organization_of(unknown) {
                return Some(org);
            }
            let org = look_up(state, http, unknown).await;
            tracing::debug!(
                target: "meraki_api",
                ?unknown,
                organization = org.as_deref(),
                "looked up the organization"
            );
            match &org {
                Some(org) => list_organization(state, http, org, unknown, &mut turn).await,
                None => lookups.record_failure(unknown),
            }
            org
        })
        .await
        .clone();
    lookups.finished(unknown, &shared);
    org
}

/// Asks the API who owns a network or device; every request it makes is charged to the
/// organization it finds.
async fn look_up(state: &ClientState, http: &reqwest::Client, unknown: &Unknown) -> Option<String> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Owned {
        organization_id: Option<String>,
        network_id: Option<String>,
    }
    let mut throttled = 0;
    let (org, requests) = match unknown {
        Unknown::Network(id) => {
            let path = format!("/networks/{id}");
            let network: Owned = get_json(state, http, &path, "getNetwork", &mut throttled).await?;
            (network.organization_id?, 1)
        }
        Unknown::Device(serial) => {
            let path = format!("/devices/{serial}");
            let device: Owned = get_json(state, http, &path, "getDevice", &mut throttled).await?;
            let network_id = device.network_id?;
            let known = state.directory().network_organization(&network_id);
            let (org, requests) = match known {
                Some(org) => (org, 1),
                None => {
                    let path = format!("/networks/{}", path_segment(&network_id)?);
                    let network: Owned =
                        get_json(state, http, &path, "getNetwork", &mut throttled).await?;
                    let org = network.organization_id?;
                    state
                        .directory()
                        .register_networks(&org, [network_id.as_str()]);
                    (org, 2)
                }
            };
            state.directory().add_device(serial, &org);
            (org, requests)
        }
    };
    for _ in 0..requests {
        state.pacer().charge(&org);
    }
    if throttled > 0 {
        state.pacer().throttled_org(&org);
    }
    Some(org)
}

/// After a lookup found `org`, lists its networks (and, after a device lookup, its devices)
/// once, so that its other ids need no lookup. A listing the key may not read (403) just ends:
/// its networks and devices are then looked up one by one.
async fn list_organization(
    state: &ClientState,
    http: &reqwest::Client,
    org: &str,
    unknown: &Unknown,
    turn: &mut Option<tokio::sync::SemaphorePermit<'_>>,
) {
    if !state.resolve_settings().list_organizations {
        return;
    }
    let devices = matches!(unknown, Unknown::Device(_));
    for listing in [Listing::Networks, Listing::Devices] {
        if listing == Listing::Devices && !devices {
            continue;
        }
        // One listing per organization at a time; a failed one is made again later.
        let last = listing == Listing::Devices || !devices;
        if let Some(listing_turn) = state
            .lookups()
            .listing_turn(org, listing == Listing::Devices)
        {
            let mut not_last = None;
            let lookup_turn = if last { &mut *turn } else { &mut not_last };
            if list(state, http, org, listing, lookup_turn).await.is_ok() {
                listing_turn.done();
            }
        }
    }
}

/// Lists `org`'s networks and devices into the directory (`Client::learn_organization`).
pub(crate) async fn learn_organization(
    state: &ClientState,
    http: &reqwest::Client,
    org: &str,
) -> Result<(), Error> {
    for listing in [Listing::Networks, Listing::Devices] {
        list(state, http, org, listing, &mut None).await?;
        state
            .lookups()
            .mark_listed(org, listing == Listing::Devices);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::path_segment;

    #[test]
    fn ids_from_answers_are_one_encoded_segment_or_refused() {
        assert_eq!(path_segment("N_24329156").as_deref(), Some("N_24329156"));
        assert_eq!(
            path_segment("L_1/../admin").as_deref(),
            Some("L_1%2F..%2Fadmin")
        );
        assert_eq!(path_segment("a?b#c d").as_deref(), Some("a%3Fb%23c%20d"));
        for bad in ["", ".", "..", "a\nb", &"x".repeat(300)] {
            assert_eq!(path_segment(bad), None, "{bad:?}");
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listing {
    Networks,
    Devices,
}

/// Reads up to the configured number of pages of an organization's networks or devices; the
/// pages teach the directory as any listing does.
async fn list(
    state: &ClientState,
    http: &reqwest::Client,
    org: &str,
    listing: Listing,
    lookup_turn: &mut Option<tokio::sync::SemaphorePermit<'_>>,
) -> Result<(), Error> {
    let (what, operation) = match listing {
        Listing::Networks => ("networks", "getOrganizationNetworks"),
        Listing::Devices => ("devices", "getOrganizationDevices"),
    };
    let Some(segment) = path_segment(org) else {
        return Err(Error::InvalidRequest(InvalidRequest {
            operation,
            parameter: Some("organizationId".into()),
            message: format!("`{}` cannot be an organization id", org.escape_debug()),
        }));
    };
    let mut next = Some(format!("/organizations/{segment}/{what}?perPage=1000"));
    for _ in 0..state.resolve_settings().listing_pages {
        let Some(path_and_query) = next.take() else {
            break;
        };
        next = get_page(state, http, &path_and_query, org, operation).await?;
        // The next lookup waits for the first page only (an organization of up to 1,000
        // networks is then known); later pages need not hold everyone else up.
        lookup_turn.take();
    }
    Ok(())
}

/// An id taken from an answer or a caller, as one path segment: percent-encoded, and refused
/// (`None`) when it cannot be an id (empty, `.` or `..`, control characters, over 256 bytes).
pub(crate) fn path_segment(id: &str) -> Option<String> {
    if id.is_empty()
        || id == "."
        || id == ".."
        || id.len() > 256
        || id.chars().any(char::is_control)
    {
        return None;
    }
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    Some(out)
}

/// A `GET` the client makes for itself (a lookup or a listing page), counted as one, on the
/// same path as every request (retries, redirects, the directory learning from listings).
async fn send_get(
    state: &ClientState,
    http: &reqwest::Client,
    path_and_query: &str,
    pace: Pace,
    operation: &'static str,
) -> Result<Exchange, Error> {
    let request = state
        .request(http, Method::GET, path_and_query)
        .build()
        .map_err(|e| {
            Error::InvalidRequest(InvalidRequest {
                operation,
                parameter: None,
                message: format!("the request cannot be built: {e}"),
            })
        })?;
    state.count_lookup();
    let exchange = state
        .send(http, request, &pace)
        .await
        .map_err(|failure| failure_error(operation, failure))?;
    if exchange.status.is_success() {
        Ok(exchange)
    } else {
        Err(answer_error(operation, &Method::GET, &exchange))
    }
}

/// A lookup: one `GET`, paced by the global bucket, decoded as `T`; the 429s it met go to
/// `throttled`, for the organization it finds.
async fn get_json<T: serde::de::DeserializeOwned>(
    state: &ClientState,
    http: &reqwest::Client,
    path: &str,
    operation: &'static str,
    throttled: &mut u32,
) -> Option<T> {
    let exchange = send_get(state, http, path, state.pacer().lookup(), operation).await;
    let exchange = match exchange {
        Ok(exchange) => exchange,
        Err(Error::RateLimited(e)) => {
            *throttled += e.attempts;
            return None;
        }
        Err(_) => return None,
    };
    *throttled += exchange.throttled;
    crate::decode::decode_body(&exchange.body).ok()
}

/// One page of a listing, paced by `org`'s bucket; the path and query of the next page, if
/// its `Link` names one on a trusted host. The directory learned from it on its way.
async fn get_page(
    state: &ClientState,
    http: &reqwest::Client,
    path_and_query: &str,
    org: &str,
    operation: &'static str,
) -> Result<Option<String>, Error> {
    let exchange = send_get(
        state,
        http,
        path_and_query,
        state.pacer().listing(org),
        operation,
    )
    .await?;
    let next = page_links(&exchange.headers)
        .next
        .and_then(|target| Url::parse(&target).ok())
        .filter(|url| state.trusted().trusts(url))
        .map(|url| {
            let path = state.relative_path(&url).to_owned();
            match url.query() {
                Some(query) => format!("{path}?{query}"),
                None => path,
            }
        });
    Ok(next)
}
