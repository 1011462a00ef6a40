//! What the simulated Dashboard answers: owners, limits, reads and writes of networks,
//! devices and switch ports, listings in pages, and (in `batches`) action batches.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::time::Instant;
use wiremock::{Request, Respond, ResponseTemplate};

use super::Counts;
use crate::pacing::TokenBucket;
use crate::test_util::authorization::ValidAccessToken;

#[derive(Debug, Clone)]
pub(super) enum Owner {
    Network(String),
    /// Organization and network.
    Device(String, String),
}

/// An action batch as the simulated Dashboard keeps it (handled in `batches`).
#[derive(Debug)]
pub(super) struct Batch {
    pub(super) id: String,
    pub(super) org: String,
    pub(super) confirmed_at: Option<Instant>,
    pub(super) synchronous: bool,
    pub(super) actions: Vec<Value>,
    /// An action whose body says `"fail": true` fails the batch (batches are atomic).
    pub(super) fails: bool,
}

pub(super) struct State {
    pub(super) owners: HashMap<String, Owner>,
    pub(super) networks: BTreeMap<String, Vec<String>>,
    pub(super) devices: BTreeMap<String, Vec<(String, String)>>,
    pub(super) buckets: HashMap<String, TokenBucket>,
    pub(super) global: TokenBucket,
    pub(super) counts: Counts,
    pub(super) batches: Vec<Batch>,
    /// What writes set, by path below `/api/v1`, over each resource's defaults.
    pub(super) written: HashMap<String, Value>,
    /// When each lookup arrived.
    pub(super) lookup_arrivals: Vec<Instant>,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl State {
    /// The organization a path counts against, or what was not found.
    fn organization_of(&self, segments: &[&str]) -> Result<Option<String>, &'static str> {
        let not_found = Err;
        match segments {
            ["organizations", org, ..] => {
                if self.buckets.contains_key(*org) {
                    Ok(Some((*org).to_owned()))
                } else {
                    not_found("organization")
                }
            }
            ["networks", id, ..] => match self.owners.get(*id) {
                Some(Owner::Network(org)) => Ok(Some(org.clone())),
                _ => not_found("network"),
            },
            ["devices", serial, ..] => match self.owners.get(*serial) {
                Some(Owner::Device(org, _)) => Ok(Some(org.clone())),
                _ => not_found("device"),
            },
            _ => Ok(None),
        }
    }

    /// A network's, device's or switch port's fields before any write, if `segments` name
    /// one that exists.
    fn defaults(&self, segments: &[&str], org: Option<&str>) -> Option<Value> {
        match segments {
            ["networks", id] => Some(json!({
                "id": id, "organizationId": org, "name": format!("network {id}"),
                "timeZone": "America/Los_Angeles", "tags": [], "notes": ""
            })),
            ["devices", serial] | ["devices", serial, "switch", "ports", _] => {
                let Some(Owner::Device(_, network)) = self.owners.get(*serial) else {
                    return None;
                };
                Some(match segments {
                    ["devices", _, "switch", "ports", port] => json!({
                        "portId": port, "name": null, "enabled": true, "type": "access",
                        "vlan": 1, "poeEnabled": true, "tags": []
                    }),
                    _ => json!({
                        "serial": serial, "networkId": network, "model": "MS120-8",
                        "name": format!("switch {serial}"), "tags": [], "address": ""
                    }),
                })
            }
            _ => None,
        }
    }

    /// A resource as written so far, over its defaults.
    fn current(&self, path: &str, mut defaults: Value) -> Value {
        if let (Some(Value::Object(written)), Value::Object(fields)) =
            (self.written.get(path), &mut defaults)
        {
            for (name, value) in written {
                fields.insert(name.clone(), value.clone());
            }
        }
        defaults
    }

    pub(super) fn update(&mut self, path: &str, body: &Value) {
        self.counts.updates += 1;
        let written = self
            .written
            .entry(path.to_owned())
            .or_insert_with(|| json!({}));
        if let (Value::Object(written), Value::Object(body)) = (written, body) {
            for (name, value) in body {
                written.insert(name.clone(), value.clone());
            }
        }
    }

    pub(super) fn most_running(&self) -> usize {
        self.counts.most_running_batches
    }
}

pub(super) struct Responder {
    pub(super) state: Arc<Mutex<State>>,
    pub(super) batch_runtime: Duration,
    pub(super) max_running: usize,
    pub(super) oauth: Option<ValidAccessToken>,
    pub(super) latency: Duration,
    pub(super) openapi_spec: Option<Value>,
}

fn too_many_requests(scope: &str) -> ResponseTemplate {
    ResponseTemplate::new(429)
        .insert_header("retry-after", "1")
        .set_body_json(json!({"errors": [format!("API rate limit exceeded for {scope}")]}))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self.answer(request);
        if self.latency.is_zero() {
            answer
        } else {
            answer.set_delay(self.latency)
        }
    }
}

impl Responder {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        if self
            .oauth
            .as_ref()
            .is_some_and(|oauth| !oauth.check(request))
        {
            state.counts.unauthorized += 1;
            return ResponseTemplate::new(401)
                .set_body_json(json!({"errors": ["Invalid or expired access token"]}));
        }
        let path = request.url.path();
        let Some(rest) = path.strip_prefix("/api/v1/") else {
            return ResponseTemplate::new(404);
        };
        let segments: Vec<&str> = rest.split('/').collect();
        let org = match state.organization_of(&segments) {
            Ok(org) => org,
            Err(what) => {
                return ResponseTemplate::new(404)
                    .set_body_json(json!({ "errors": [format!("{what} not found")] }))
            }
        };
        let now = Instant::now();
        if state.global.try_take(now).is_err() {
            state.counts.throttled += 1;
            return too_many_requests("this IP");
        }
        if let Some(org) = &org {
            let allowed = state
                .buckets
                .get_mut(org)
                .is_some_and(|bucket| bucket.try_take(now).is_ok());
            if !allowed {
                state.counts.throttled += 1;
                *state
                    .counts
                    .throttled_by_org
                    .entry(org.clone())
                    .or_default() += 1;
                return too_many_requests("organization");
            }
        }
        state.counts.served += 1;
        if let Some(org) = &org {
            *state.counts.served_by_org.entry(org.clone()).or_default() += 1;
        }
        let method = request.method.as_str();
        let resource = format!("/{rest}");
        if let Some(defaults) = state.defaults(&segments, org.as_deref()) {
            match method {
                "GET" => {
                    if matches!(segments.as_slice(), ["networks", _] | ["devices", _]) {
                        state.counts.lookups += 1;
                        state.lookup_arrivals.push(Instant::now());
                    }
                    *state.counts.reads.entry(resource.clone()).or_default() += 1;
                    return ResponseTemplate::new(200)
                        .set_body_json(state.current(&resource, defaults));
                }
                "PUT" => {
                    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
                        return ResponseTemplate::new(400)
                            .set_body_json(json!({"errors": ["The request body is not JSON"]}));
                    };
                    state.update(&resource, &body);
                    return ResponseTemplate::new(200)
                        .set_body_json(state.current(&resource, defaults));
                }
                _ => {}
            }
        }
        match (method, segments.as_slice()) {
            ("GET", ["networks", id, "devices"]) => {
                let devices: Vec<Value> = org
                    .and_then(|org| state.devices.get(&org))
                    .into_iter()
                    .flatten()
                    .filter(|(_, network)| network == id)
                    .map(|(serial, network)| json!({"serial": serial, "networkId": network}))
                    .collect();
                ResponseTemplate::new(200).set_body_json(Value::Array(devices))
            }
            ("GET", ["organizations", _, "networks"]) => {
                state.counts.listings += 1;
                let org = org.unwrap_or_default();
                let items: Vec<Value> = state
                    .networks
                    .get(&org)
                    .into_iter()
                    .flatten()
                    .map(|id| json!({"id": id, "organizationId": org}))
                    .collect();
                page(request, &items)
            }
            ("GET", ["organizations", _, "devices"]) => {
                state.counts.listings += 1;
                let items: Vec<Value> = org
                    .and_then(|org| state.devices.get(&org))
                    .into_iter()
                    .flatten()
                    .map(|(serial, network)| json!({"serial": serial, "networkId": network}))
                    .collect();
                page(request, &items)
            }
            ("GET", ["organizations", _, "openapiSpec"]) if self.openapi_spec.is_some() => {
                ResponseTemplate::new(200).set_body_json(self.openapi_spec.clone())
            }
            ("GET", ["devices", _, "clients"]) => {
                ResponseTemplate::new(200).set_body_json(json!([]))
            }
            (_, ["organizations", _, "actionBatches", ..]) => {
                let org = org.unwrap_or_default();
                self.batches(&mut state, &org, method, &segments[3..], request)
            }
            (method, _) => ResponseTemplate::new(404).set_body_json(json!({
                "errors": [format!("SimulatedDashboard does not simulate {method} {path}")]
            })),
        }
    }
}

/// A page of `items`: `perPage` of them after the `startingAfter` index, with a `Link` to the
/// next page on this server.
fn page(request: &Request, items: &[Value]) -> ResponseTemplate {
    let query = |name: &str| {
        request
            .url
            .query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<usize>().ok())
    };
    let per_page = query("perPage").unwrap_or(1000).max(1);
    let start = query("startingAfter").map_or(0, |i| i + 1);
    let end = (start + per_page).min(items.len());
    let body = Value::Array(items.get(start..end).unwrap_or_default().to_vec());
    let mut response = ResponseTemplate::new(200).set_body_json(body);
    if end < items.len() {
        let mut next = request.url.clone();
        // The host the client called, as the API's links name its own host.
        if let Some(host) = request.headers.get("host").and_then(|h| h.to_str().ok()) {
            let host = host.split(':').next().unwrap_or(host);
            let _ = next.set_host(Some(host));
        }
        next.query_pairs_mut()
            .clear()
            .append_pair("perPage", &per_page.to_string())
            .append_pair("startingAfter", &(end - 1).to_string());
        response = response.insert_header("link", format!("<{next}>; rel=next"));
    }
    response
}
