//! The generated client's hooks: every request of every operation passes through here.
//!
//! `pre` checks parameters against the spec before anything is sent; `exec` finds the
//! organization the request counts against (`owners`) and sends it (`transport`).

use std::collections::HashMap;
use std::sync::OnceLock;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{Request, Response};

use crate::operation::{OperationSpec, QueryBound};
use crate::transport::ClientState;
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

    async fn exec(&self, request: Request, _info: &OperationInfo) -> reqwest::Result<Response> {
        send(self.inner(), self.client(), request).await
    }
}

/// Sends a request of any kind (generated, raw, batch) paced by its organization.
pub(crate) async fn send(
    state: &ClientState,
    http: &reqwest::Client,
    request: Request,
) -> reqwest::Result<Response> {
    // A write that dry-run mode withholds goes nowhere: no need to find its organization.
    let pace = if state.withholds(&request) {
        state.pacer().global()
    } else {
        crate::owners::pace_for(state, http, request.url()).await
    };
    state.execute(http, request, pace).await
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
