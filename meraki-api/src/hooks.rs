//! The generated client's hooks: every request of every operation passes through here.
//!
//! `pre` checks parameters against the spec before anything is sent; `exec` finds the
//! organization the request counts against (`owners`) and sends it (`transport`).

use std::collections::HashMap;
use std::sync::OnceLock;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{Request, Response};

use crate::operation::{OperationSpec, QueryBound};
use crate::pacing::Lane;
use crate::transport::{Attempts, ClientState};
use crate::Client;

impl ClientHooks<ClientState> for Client {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let Some(spec) = operation_spec(info.operation_id) else {
            return Ok(());
        };
        validate(self.inner(), request, spec).map_err(progenitor_client::Error::InvalidRequest)
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let (operation, path) = match operation_spec(info.operation_id) {
            Some(spec) => (spec.operation_id, spec.path),
            None => (info.operation_id, ""),
        };
        send(self.inner(), self.client(), request, operation, path).await
    }
}

/// Sends a request of any kind (generated, raw, batch) paced by its organization, in a span
/// that says which operation it was, what it counted against and how it ended. `path` is the
/// operation's path template (a raw call's own path).
pub(crate) async fn send(
    state: &ClientState,
    http: &reqwest::Client,
    request: Request,
    operation: &'static str,
    path: &str,
) -> reqwest::Result<Response> {
    use tracing::field::Empty;
    let span = tracing::debug_span!(
        target: "meraki_api",
        "call",
        operation,
        method = %request.method(),
        path,
        organization = Empty,
        attempts = Empty,
        status = Empty,
        request_id = Empty,
        elapsed_ms = Empty,
        error = Empty,
    );
    let started = tokio::time::Instant::now();
    let call = async {
        // A write that dry-run mode withholds goes nowhere: no need to find its organization.
        let pace = if state.withholds(&request) {
            state.pacer().global()
        } else {
            crate::owners::pace_for(state, http, request.url()).await
        };
        let span = tracing::Span::current();
        let organization = match &pace.lane {
            Lane::Organization(org) => Some(&**org),
            Lane::Unresolved => Some("unresolved"),
            Lane::Global => None,
        };
        if let Some(organization) = organization {
            span.record("organization", organization);
        }
        let result = state.execute(http, request, pace).await;
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(response) => {
                span.record("status", response.status().as_u16());
                if let Some(Attempts(attempts)) = response.extensions().get::<Attempts>() {
                    span.record("attempts", attempts);
                }
                let request_id = response.headers().get("x-request-id");
                if let Some(id) = request_id.and_then(|v| v.to_str().ok()) {
                    span.record("request_id", id);
                }
            }
            Err(error) => {
                span.record("error", tracing::field::display(error));
            }
        }
        result
    };
    tracing::Instrument::instrument(call, span).await
}

/// Checks a request against its operation's spec before it is sent.
fn validate(state: &ClientState, request: &Request, spec: &OperationSpec) -> Result<(), String> {
    let path = state.relative_path(request.url());
    let actual: Vec<&str> = path.split('/').collect();
    let template: Vec<&str> = spec.path.split('/').collect();
    if actual.len() != template.len() {
        // A path parameter such as `..` was resolved away by URL normalization.
        return Err(format!(
            "a path parameter changed the request path (`{path}` does not fit `{}`)",
            spec.path
        ));
    }
    for (want, got) in template.iter().zip(&actual) {
        if let Some(name) = want.strip_prefix('{').and_then(|w| w.strip_suffix('}')) {
            if got.is_empty() {
                return Err(format!("parameter `{name}`: must not be empty"));
            }
        }
    }
    for QueryBound { name, min, max } in spec.bounds {
        for (_, value) in request.url().query_pairs().filter(|(k, _)| k == name) {
            match value.parse::<i64>() {
                Ok(v) if (*min..=*max).contains(&v) => {}
                _ => {
                    return Err(format!(
                        "parameter `{name}`: must be between {min} and {max}, got {value}"
                    ))
                }
            }
        }
    }
    Ok(())
}

/// The spec of an operation, by progenitor's snake-case id.
pub(crate) fn operation_spec(id: &str) -> Option<&'static OperationSpec> {
    static BY_ID: OnceLock<HashMap<&'static str, &'static OperationSpec>> = OnceLock::new();
    BY_ID
        .get_or_init(|| {
            crate::generated::OPERATIONS
                .iter()
                .map(|s| (s.id, s))
                .collect()
        })
        .get(id)
        .copied()
}
