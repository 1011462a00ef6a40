//! Chooses the buckets that pace a request: those of the organization it counts against.
//!
//! `/organizations/{id}/...` names it. For `/networks/{id}/...` and `/devices/{serial}/...` the
//! directory may know it (learned from listings, registered, restored); otherwise the first
//! request for that id looks it up once (`GET /networks/{id}`, or `GET /devices/{serial}` and
//! then its network), paced by the global bucket and charged to the organization it finds.
//! Callers waiting on the same id share that lookup, and lookups take turns. After a lookup
//! finds an organization not met before, the client lists that organization's networks (and
//! devices, after a device lookup) once, in a task beside the caller, which goes ahead as soon
//! as its organization is known ([`listing`]): bulk work over many networks of one organization
//! then costs one lookup and one or two listings, not one lookup per network. The lookup's turn
//! lasts until the listing's first page. A listing that fails resumes, at a later lookup, from
//! the page it reached. While an id cannot be resolved (its lookup failed, or lookups are off),
//! its requests share one conservative bucket. Nothing goes unpaced.

mod listing;
mod lookups;

use std::sync::Arc;

use reqwest::{Method, Url};
use serde::Deserialize;
use tokio::sync::OwnedSemaphorePermit;

pub(crate) use listing::path_segment;
use lookups::{Listing, Lookups};

use crate::error::{Error, InvalidRequest};
use crate::pacing::directory::{owner_in_path, Owner, Unknown};
use crate::pacing::Pace;
use crate::request::outcome::{failure_error, success};
use crate::request::state::{BoxFuture, ClientState, Resolve};
use crate::request::{CallOverrides, Exchange};

/// How networks and devices of unknown organizations are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LookupSettings {
    /// Look an unknown network or device up (`GET /networks/{id}`, `GET /devices/{serial}`).
    pub(crate) lookups: bool,
    /// After a lookup finds an organization not met before, list its networks (and, after a
    /// device lookup, its devices), so that its other ids need no lookup.
    pub(crate) list_organizations: bool,
    /// Most pages read of each listing.
    pub(crate) listing_pages: usize,
    /// Lookups in flight at once (`ClientBuilder::lookups_at_once`).
    pub(crate) lookups_at_once: usize,
}

impl Default for LookupSettings {
    fn default() -> Self {
        Self {
            lookups: true,
            list_organizations: true,
            listing_pages: 10,
            lookups_at_once: 1,
        }
    }
}

/// The client's [`Resolve`]: the organization of each request, looked up when need be.
#[derive(Debug)]
pub(crate) struct Resolver {
    settings: LookupSettings,
    lookups: Arc<Lookups>,
}

impl Resolver {
    pub(crate) fn new(settings: LookupSettings) -> Self {
        Self {
            settings,
            lookups: Arc::new(Lookups::new(settings.lookups_at_once)),
        }
    }

    /// The pace of a request for `url`.
    async fn pace(&self, state: &ClientState, http: &reqwest::Client, url: &Url) -> Pace {
        let pacer = state.pacer();
        let unknown = match owner_in_path(state.relative_path(url)) {
            Owner::Organization(org) => return pacer.organization(org),
            Owner::Unowned => return pacer.global(),
            Owner::Network(id) => Unknown::Network(id.into()),
            Owner::Device(serial) => Unknown::Device(serial.into()),
        };
        match self.resolve(state, http, &unknown).await {
            Some(org) => pacer.organization(&org),
            None => pacer.unresolved(),
        }
    }

    /// The organization of a network or device: known, or looked up once for all who ask.
    async fn resolve(
        &self,
        state: &ClientState,
        http: &reqwest::Client,
        unknown: &Unknown,
    ) -> Option<String> {
        let directory = state.directory();
        if let Some(org) = directory.organization_of(unknown) {
            return Some(org);
        }
        let lookups = &self.lookups;
        if !self.settings.lookups || lookups.failed_recently(unknown) {
            return None;
        }
        let shared = lookups.shared(unknown);
        let org = shared
            .get_or_init(|| async {
                let turn = lookups.turn().await;
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
                    Some(org) => self.list_beside(state, http, org, unknown, turn),
                    None => lookups.record_failure(unknown),
                }
                org
            })
            .await
            .clone();
        lookups.finished(unknown, &shared);
        org
    }

    /// After a lookup found `org`, lists its networks (and, after a device lookup, its devices)
    /// in a task of its own, which holds the lookup's `turn` until its first page.
    fn list_beside(
        &self,
        state: &ClientState,
        http: &reqwest::Client,
        org: &str,
        unknown: &Unknown,
        turn: Option<OwnedSemaphorePermit>,
    ) {
        if !self.settings.list_organizations {
            return;
        }
        let wanted: &[Listing] = match unknown {
            Unknown::Network(_) => &[Listing::Networks],
            Unknown::Device(_) => &[Listing::Networks, Listing::Devices],
        };
        let runs: Vec<_> = wanted
            .iter()
            .filter_map(|&listing| {
                let first = listing.first_page(org).ok()?;
                Some((listing, self.lookups.start(org, listing, first)?))
            })
            .collect();
        if runs.is_empty() {
            return;
        }
        let (state, http, org) = (state.clone(), http.clone(), org.to_owned());
        let max_pages = self.settings.listing_pages;
        let task = async move {
            let mut turn = turn;
            let last = runs.len() - 1;
            for (i, (listing, mut run)) in runs.into_iter().enumerate() {
                // The turn waits for the first page of the last listing only.
                let mut not_last = None;
                let turn = if i == last { &mut turn } else { &mut not_last };
                let listed = listing::list(&state, &http, &org, listing, &mut run, max_pages, turn);
                if let Err(e) = listed.await {
                    tracing::debug!(
                        target: "meraki_api",
                        organization = %org,
                        error = %e,
                        "listing stopped; a later lookup resumes it"
                    );
                }
            }
        };
        // Outside a runtime nothing could send anyway: the listing, never started, is resumed
        // by a later lookup.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(task);
        }
    }
}

impl Resolve for Resolver {
    fn pace_for<'a>(
        &'a self,
        state: &'a ClientState,
        http: &'a reqwest::Client,
        url: &'a Url,
    ) -> BoxFuture<'a, Pace> {
        Box::pin(self.pace(state, http, url))
    }

    fn learn_organization<'a>(
        &'a self,
        state: &'a ClientState,
        http: &'a reqwest::Client,
        org: &'a str,
    ) -> BoxFuture<'a, Result<(), Error>> {
        Box::pin(async move {
            for listing in [Listing::Networks, Listing::Devices] {
                let first = listing.first_page(org)?;
                let mut run = match self.lookups.start(org, listing, first.clone()) {
                    Some(run) => run,
                    // Listed already, or being listed beside a lookup: this caller lists it
                    // (again) from the start, as asked.
                    None => self.lookups.detached(org, listing, first),
                };
                let max_pages = self.settings.listing_pages;
                listing::list(state, http, org, listing, &mut run, max_pages, &mut None).await?;
                self.lookups.mark_listed(org, listing);
            }
            Ok(())
        })
    }
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

/// A `GET` the client makes for itself (a lookup or a listing page), counted as one, on the
/// same path as every request (retries, redirects, the directory learning from listings).
async fn send_get(
    state: &ClientState,
    http: &reqwest::Client,
    path_and_query: &str,
    pace: Pace,
    operation: &'static str,
    template: &'static str,
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
    let overrides = CallOverrides::default();
    let exchange =
        crate::request::send_paced(state, http, request, pace, operation, template, &overrides)
            .await
            .map_err(|failure| failure_error(operation, &Method::GET, failure))?;
    success(state, operation, &Method::GET, exchange)
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
    let template = if operation == "getDevice" {
        "/devices/{serial}"
    } else {
        "/networks/{networkId}"
    };
    let exchange = send_get(
        state,
        http,
        path,
        state.pacer().lookup(),
        operation,
        template,
    )
    .await;
    let exchange = match exchange {
        Ok(exchange) => exchange,
        Err(Error::RateLimited(e)) => {
            *throttled += e.attempts;
            return None;
        }
        Err(_) => return None,
    };
    *throttled += exchange.throttled;
    crate::body::decode_body(&exchange.body).ok()
}
