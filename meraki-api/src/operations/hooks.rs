//! The generated client's hooks, and the checks every request of every operation passes.
//!
//! [`check`] runs in each builder's `into_request()` (the build script puts it there): the
//! parameters against the spec, before anything is sent. `exec` is progenitor's way out for
//! its own `send()`: the same path as `.call()` (`request::send`), with the answer handed back
//! as a `reqwest::Response` rebuilt from the body already read.

use std::collections::HashMap;
use std::sync::OnceLock;

use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{Request, Response, StatusCode};

use super::operation::{OperationSpec, QueryBound};
use crate::request::state::ClientState;
use crate::request::{CallOverrides, Failure};
use crate::Client;

/// The status of the stand-in response that progenitor's `send()` gets for a write dry-run
/// mode did not send, or a redirect refused. No operation documents it, so the generated code
/// hands it back as unexpected, untouched, with the [`crate::NotSent`] as an extension.
pub(crate) const NOT_SENT_STATUS: u16 = 299;

impl ClientHooks<ClientState> for Client {
    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let (operation, path) = match operation_spec(info.operation_id) {
            Some(spec) => (spec.operation_id, spec.path),
            None => (info.operation_id, ""),
        };
        let overrides = CallOverrides::default();
        let sent = crate::request::send(
            self.inner(),
            self.client(),
            request,
            operation,
            path,
            &overrides,
        )
        .await;
        let (status, body, headers, extension) = match sent {
            Ok(exchange) => (exchange.status, exchange.body, exchange.headers, None),
            Err(Failure::Transport { source, .. }) => return Err(source),
            Err(Failure::NotSent(not_sent)) => (
                StatusCode::from_u16(NOT_SENT_STATUS).unwrap_or(StatusCode::OK),
                Vec::new(),
                Default::default(),
                Some(not_sent),
            ),
            Err(Failure::Auth(error)) => (
                StatusCode::UNAUTHORIZED,
                serde_json::to_vec(&serde_json::json!({ "errors": [format!("OAuth: {error}")] }))
                    .unwrap_or_default(),
                Default::default(),
                None,
            ),
            Err(Failure::RedirectRefused { .. }) => (
                StatusCode::MISDIRECTED_REQUEST,
                Vec::new(),
                Default::default(),
                None,
            ),
        };
        let mut response = http::Response::new(reqwest::Body::from(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        if let Some(not_sent) = extension {
            response.extensions_mut().insert(*not_sent);
        }
        Ok(Response::from(response))
    }
}

/// Checks a request against its operation's spec before it is sent (in every builder's
/// `into_request()`, whose error type is progenitor's).
#[allow(clippy::result_large_err)]
pub(crate) fn check<E>(
    state: &ClientState,
    request: &mut Request,
    info: &OperationInfo,
) -> Result<(), progenitor_client::Error<E>> {
    let Some(spec) = operation_spec(info.operation_id) else {
        return Ok(());
    };
    validate(state, request, spec).map_err(progenitor_client::Error::InvalidRequest)
}

/// Checks a request against its operation's spec.
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
    for bound in spec.bounds {
        for (_, value) in request.url().query_pairs().filter(|(k, _)| k == bound.name) {
            bound.check(&value)?;
        }
    }
    Ok(())
}

impl QueryBound {
    /// Checks a value as sent, read as the parameter's type: `3600` and `3600.0` are the same
    /// number; an integer parameter takes no fraction. The error says what is wrong.
    pub fn check(&self, sent: &str) -> Result<(), String> {
        let value = sent.parse::<f64>().ok().filter(|v| v.is_finite());
        let fits = value.is_some_and(|v| {
            (!self.integer || v.fract() == 0.0)
                && self.min.is_none_or(|min| v >= min)
                && self.max.is_none_or(|max| v <= max)
        });
        if fits {
            return Ok(());
        }
        let range = match (self.min, self.max) {
            (Some(min), Some(max)) => format!("between {min} and {max}"),
            (Some(min), None) => format!("at least {min}"),
            (None, Some(max)) => format!("at most {max}"),
            (None, None) => "a number".to_owned(),
        };
        let kind = if self.integer { "an integer " } else { "" };
        Err(format!(
            "parameter `{}`: must be {kind}{range}, got {sent}",
            self.name
        ))
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bound(min: Option<f64>, max: Option<f64>, integer: bool) -> QueryBound {
        QueryBound {
            name: "timespan",
            min,
            max,
            integer,
        }
    }

    #[test]
    fn bounds_read_values_as_the_parameters_type() {
        let number = bound(Some(1500.0), Some(2_678_400.0), false);
        for ok in ["3600", "3600.0", "1500", "2678400", "1500.5"] {
            assert!(number.check(ok).is_ok(), "{ok}");
        }
        for bad in ["1499.9", "2678400.1", "x", "NaN", "inf", ""] {
            let err = number.check(bad).unwrap_err();
            assert!(err.contains("between 1500 and 2678400"), "{err}");
        }
        let integer = bound(Some(3.0), Some(1000.0), true);
        assert!(integer.check("3").is_ok() && integer.check("1000").is_ok());
        for bad in ["2", "1001", "3.5"] {
            assert!(
                integer.check(bad).unwrap_err().contains("an integer"),
                "{bad}"
            );
        }
        let at_most = bound(None, Some(604_800.0), false);
        assert!(at_most.check("0").is_ok() && at_most.check("604800.0").is_ok());
        assert!(at_most
            .check("604801")
            .unwrap_err()
            .contains("at most 604800"));
    }
}
