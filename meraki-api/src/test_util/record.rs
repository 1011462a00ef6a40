//! Recording exchanges with an API (the live one, or a local stand-in) as fixtures in the format
//! [`super::ReplayServer`] replays: what `cargo xtask record` does.
//!
//! Each call goes through the client (pacing, retries, authentication), page after page up to a
//! limit. Nothing secret reaches a fixture: the key is written as `{{api_key}}`, tokens never,
//! and bodies go through the crate's one masking policy ([`crate::mask_secrets`]). Headers that
//! change with every call (`X-Request-Id`, `Date`) are left out, and JSON keys are written in
//! order, so recording the same answers twice writes the same bytes. [`Anonymizer`] replaces
//! what identifies a customer, consistently across a recording, so that fixtures can be
//! published.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{json, Value};

use super::anonymize::Anonymizer;
use super::{Fixture, RecordedRequest, RecordedResponse, KEY_PLACEHOLDER};
use crate::operations::operation::Operation;
use crate::operations::pagination::link::page_links;
use crate::{Client, Error, Method};

/// What the recorder needs to know of an operation: read from `openapi.yaml`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct OperationShape {
    /// The spec's operationId.
    pub operation_id: String,
    /// `GET`, `POST`, ...
    pub method: String,
    /// The path template: `/organizations/{organizationId}/licenses`.
    pub path: String,
    /// Query parameters, by wire name (`serials[]` for arrays).
    pub query: Vec<String>,
}

impl OperationShape {
    /// The shape of `operation_id` in an OpenAPI document (`openapi.yaml` read as JSON).
    pub fn from_spec(document: &Value, operation_id: &str) -> Result<Self, RecordError> {
        let paths = document
            .get("paths")
            .and_then(Value::as_object)
            .ok_or_else(|| RecordError::new("the spec has no `paths`"))?;
        for (path, item) in paths {
            for (method, operation) in item.as_object().into_iter().flatten() {
                if operation.get("operationId").and_then(Value::as_str) != Some(operation_id) {
                    continue;
                }
                let query = operation
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter(|p| p.get("in").and_then(Value::as_str) == Some("query"))
                    .filter_map(|p| p.get("name").and_then(Value::as_str))
                    .map(str::to_owned)
                    .collect();
                return Ok(Self {
                    operation_id: operation_id.to_owned(),
                    method: method.to_ascii_uppercase(),
                    path: path.clone(),
                    query,
                });
            }
        }
        Err(RecordError::new(format!(
            "no operation `{operation_id}` in the spec"
        )))
    }

    fn path_parameters(&self) -> Vec<&str> {
        self.path
            .split('/')
            .filter_map(|s| s.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .collect()
    }
}

/// Why a recording failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordError(String);

impl RecordError {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for RecordError {}

/// Records calls as fixtures (see the module docs).
#[derive(Debug)]
pub struct Recorder {
    client: Client,
    max_pages: usize,
    anonymizer: Option<Anonymizer>,
}

impl Recorder {
    /// A recorder sending with `client`, three pages at most per call, not anonymizing.
    pub fn new(client: Client) -> Self {
        Self {
            client,
            max_pages: 3,
            anonymizer: None,
        }
    }

    /// Most pages recorded per call (at least 1).
    pub fn max_pages(mut self, pages: usize) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// Replaces serials, MAC, e-mail and IP addresses, names and ids, consistently across
    /// everything this recorder records ([`Anonymizer`]).
    pub fn anonymize(mut self, on: bool) -> Self {
        self.anonymizer = on.then(Anonymizer::default);
        self
    }

    /// Calls `operation` with `params` (wire names: path parameters and query parameters; an
    /// array parameter repeated once per value) and records each page's exchange, error answers
    /// included: one fixture per page, described as `description` and the page.
    pub async fn record(
        &mut self,
        operation: &OperationShape,
        params: &[(String, String)],
        description: &str,
    ) -> Result<Vec<Fixture>, RecordError> {
        let (path, query) = request_parts(operation, params)?;
        let method = Method::from_bytes(operation.method.as_bytes())
            .map_err(|e| RecordError::new(format!("method `{}`: {e}", operation.method)))?;
        let (base_path, host) = {
            use progenitor_client::ClientInfo as _;
            let base = reqwest::Url::parse(self.client.baseurl())
                .map_err(|e| RecordError::new(format!("the base URL: {e}")))?;
            (
                base.path().trim_end_matches('/').to_owned(),
                base.host_str().unwrap_or_default().to_owned(),
            )
        };
        let mut fixtures = Vec::new();
        let mut cursor: Option<String> = None;
        for page in 1..=self.max_pages {
            let mut sent = query.clone();
            if let Some(cursor) = &cursor {
                sent.retain(|(name, _)| name != "startingAfter");
                sent.push(("startingAfter".to_owned(), cursor.clone()));
            }
            let mut request = self
                .client
                .raw(method.clone(), &path)
                .decode_as::<Option<Value>>();
            for (name, value) in &sent {
                request = request.query(name.as_str(), value);
            }
            let (status, headers, body) = match request.call_with_response().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let links = response.headers().clone();
                    (status, links, response.into_inner().unwrap_or(Value::Null))
                }
                Err(Error::Api(e) | Error::RateLimited(e) | Error::GoneAfterLostAnswer(e)) => (
                    e.status.as_u16(),
                    reqwest::header::HeaderMap::new(),
                    json!({ "errors": e.messages }),
                ),
                Err(e) => return Err(RecordError::new(e.to_string())),
            };
            let mut recorded_headers = BTreeMap::new();
            let next = match page_links(&headers) {
                Ok(links) => links.next,
                Err(_) => None,
            };
            for name in ["link", "retry-after"] {
                if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
                    recorded_headers.insert(name.to_owned(), value.to_owned());
                }
            }
            let description = if self.max_pages > 1 || page > 1 {
                format!("{description} (page {page})")
            } else {
                description.to_owned()
            };
            fixtures.push(Fixture {
                description,
                request: RecordedRequest {
                    method: operation.method.clone(),
                    path: format!("{base_path}{path}"),
                    query: sent,
                    headers: BTreeMap::from([
                        (
                            "authorization".to_owned(),
                            format!("Bearer {KEY_PLACEHOLDER}"),
                        ),
                        ("accept".to_owned(), "application/json".to_owned()),
                    ]),
                },
                response: RecordedResponse {
                    status,
                    headers: recorded_headers,
                    body: crate::secrets::mask_secrets(&body),
                },
                source: Some(format!("recorded from {host}")),
            });
            cursor = next.and_then(|target| {
                reqwest::Url::parse(&target).ok().and_then(|url| {
                    url.query_pairs()
                        .find(|(k, _)| k == "startingAfter")
                        .map(|(_, v)| v.into_owned())
                })
            });
            if cursor.is_none() || !(200..300).contains(&status) {
                break;
            }
        }
        if let Some(anonymizer) = &mut self.anonymizer {
            anonymizer.fixtures(&mut fixtures);
        }
        Ok(fixtures)
    }
}

/// The path (parameters substituted and encoded) and query pairs of a call.
fn request_parts(
    operation: &OperationShape,
    params: &[(String, String)],
) -> Result<(String, Vec<(String, String)>), RecordError> {
    let mut path = operation.path.clone();
    for name in operation.path_parameters() {
        let value = params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| {
                RecordError::new(format!(
                    "{}: path parameter `{name}` is required",
                    operation.operation_id
                ))
            })?;
        let segment = crate::workflows::owners::path_segment(value).ok_or_else(|| {
            RecordError::new(format!("`{value}` cannot be the path parameter `{name}`"))
        })?;
        path = path.replace(&format!("{{{name}}}"), &segment);
    }
    let path_names = operation.path_parameters();
    let mut query = Vec::new();
    for (name, value) in params {
        if path_names.contains(&name.as_str()) {
            continue;
        }
        let wire = if operation.query.contains(name) {
            name.clone()
        } else if operation.query.contains(&format!("{name}[]")) {
            format!("{name}[]")
        } else {
            return Err(RecordError::new(format!(
                "{}: no parameter `{name}` (query parameters: {})",
                operation.operation_id,
                operation.query.join(", ")
            )));
        };
        query.push((wire, value.clone()));
    }
    Ok((path, query))
}
