//! What every generated operation builder has in common, implemented for all of them by the
//! build script: its spec, its output type, and [`Operation::call`], which sends it and
//! reports failures as [`crate::Error`].
//!
//! A call builds its request (checked against the spec) before it starts, takes a clone of
//! the client, and sends it on the crate's one path; its future borrows nothing, so it can be
//! spawned. What it learns on the way comes back in values: the typed body from
//! [`Operation::call`], with status, headers and attempts from
//! [`Operation::call_with_response`].

use std::future::Future;

use reqwest::header::HeaderMap;
use reqwest::{Request, StatusCode};
use serde::de::DeserializeOwned;

use crate::error::{Error, InvalidRequest};
use crate::request::retry::RetryPolicy;
use crate::request::{CallOverrides, Exchange};
use crate::Client;
use progenitor_client::ClientInfo as _;

/// An operation as the spec describes it.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct OperationSpec {
    /// progenitor's snake-case id, e.g. `get_organization_licenses`.
    pub id: &'static str,
    /// The spec's operationId, e.g. `getOrganizationLicenses`.
    pub operation_id: &'static str,
    /// HTTP method, upper case.
    pub method: &'static str,
    /// Path template, e.g. `/organizations/{organizationId}/licenses`.
    pub path: &'static str,
    /// The API version of the document this operation was generated from (`1.42.0`).
    pub version: &'static str,
    /// The wire names of its path and query parameters.
    pub parameters: &'static [&'static str],
    /// The values its enum parameters take (`("state", &["active", ...])`).
    pub choices: &'static [(&'static str, &'static [&'static str])],
    /// Number query parameters with documented ranges.
    pub bounds: &'static [QueryBound],
    /// Whether the operation has a paginator (`startingAfter` and `endingBefore`).
    pub paginated: bool,
    /// How action batches carry it, if it is batchable ([`crate::batch::Batchable`]).
    pub batch: Option<BatchSpec>,
    /// Meraki deprecated it: what to use instead, and since when.
    pub deprecated: Option<&'static str>,
}

/// How an action batch names an operation (Meraki's `x-batchable-actions` entry).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSpec {
    /// The action's `operation`: `create`, `update`, `destroy`, or a verb such as `claim`.
    pub operation: &'static str,
    /// The action's `resource` template, e.g. `/networks/{networkId}` for `split`.
    pub resource: &'static str,
}

/// A documented range of a number query parameter, such as `perPage`'s `3 - 1000` or
/// `timespan`'s "at most 31 days".
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct QueryBound {
    /// The parameter's wire name.
    pub name: &'static str,
    /// Smallest value accepted, if bounded below.
    pub min: Option<f64>,
    /// Largest value accepted, if bounded above.
    pub max: Option<f64>,
    /// Whether the parameter is an integer (otherwise any number).
    pub integer: bool,
}

/// Every operation of the API, in operationId order.
pub fn operations() -> &'static [OperationSpec] {
    crate::generated::OPERATIONS
}

pub(crate) mod sealed {
    /// Implemented by the crate's operation builders only: methods can be added to
    /// [`super::Operation`] without breaking anyone.
    pub trait Sealed {}
}

/// A generated operation builder (`client.get_organization_licenses()`, ...), or a raw call.
/// Sealed: implemented by this crate only.
pub trait Operation: sealed::Sealed + Sized + Send {
    /// The operation's spec.
    const SPEC: &'static OperationSpec;
    /// The decoded success body.
    type Output: DeserializeOwned + Send + 'static;

    /// A clone of the client the builder sends with, and its request, built and checked
    /// against the spec (or why it cannot be sent). Nothing is sent.
    #[doc(hidden)]
    fn into_parts(self) -> (Client, Result<Request, Error>);

    /// What this call sets for itself ([`Operation::customize`]).
    #[doc(hidden)]
    fn overrides(&self) -> CallOverrides {
        CallOverrides::default()
    }

    /// Settings for this call only, instead of the client's: its attempts' timeout and its
    /// retries. The client is not changed.
    ///
    /// ```no_run
    /// # async fn demo(client: meraki_api::Client) -> Result<(), meraki_api::Error> {
    /// use std::time::Duration;
    /// use meraki_api::prelude::*;
    /// let licenses = client
    ///     .get_organization_licenses()
    ///     .organization_id("123456")
    ///     .customize()
    ///     .timeout(Duration::from_secs(5))
    ///     .retry(meraki_api::RetryPolicy::never())
    ///     .call()
    ///     .await?;
    /// # let _ = licenses; Ok(()) }
    /// ```
    fn customize(self) -> Customized<Self> {
        let overrides = self.overrides();
        Customized {
            operation: self,
            overrides,
        }
    }

    /// Sends the request (paced, retried, redirected only to Meraki's hosts) and returns the
    /// decoded success body, or an [`Error`] that says what went wrong and where.
    fn call(self) -> impl Future<Output = Result<Self::Output, Error>> + Send + 'static {
        let overrides = self.overrides();
        let (client, request) = self.into_parts();
        async move {
            let (value, _) = decoded(Self::SPEC, &client, request, &overrides).await?;
            Ok(value)
        }
    }

    /// Like [`Operation::call`], with the answer's status, headers (`X-Request-Id`, `Link`)
    /// and the attempts it took.
    fn call_with_response(
        self,
    ) -> impl Future<Output = Result<Response<Self::Output>, Error>> + Send + 'static {
        let overrides = self.overrides();
        let (client, request) = self.into_parts();
        async move {
            let (value, exchange) = decoded(Self::SPEC, &client, request, &overrides).await?;
            Ok(Response::new(value, exchange))
        }
    }

    /// Like [`Operation::call`], also returning the body as untyped JSON, so that fields the
    /// spec does not list (and the typed values therefore drop) can still be read. The body is
    /// read once and parsed a second time only here.
    fn call_with_json(
        self,
    ) -> impl Future<Output = Result<(Self::Output, RawJson), Error>> + Send + 'static {
        let overrides = self.overrides();
        let (client, request) = self.into_parts();
        async move {
            let (value, exchange) = decoded(Self::SPEC, &client, request, &overrides).await?;
            let raw = serde_json::from_slice(&exchange.body).unwrap_or(RawJson::Null);
            Ok((value, raw))
        }
    }
}

/// An operation with settings of its own ([`Operation::customize`]). Sends, decodes and pages
/// like the operation itself.
#[derive(Debug, Clone)]
#[must_use = "a customized operation does nothing until `.call()`"]
pub struct Customized<O> {
    operation: O,
    overrides: CallOverrides,
}

impl<O> Customized<O> {
    /// Timeout of each attempt of this call.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.overrides.timeout = Some(timeout);
        self
    }

    /// Retries of this call.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.overrides.retry = Some(policy);
        self
    }
}

impl<O: Operation> sealed::Sealed for Customized<O> {}

impl<O: Operation> Operation for Customized<O> {
    const SPEC: &'static OperationSpec = O::SPEC;
    type Output = O::Output;

    fn into_parts(self) -> (Client, Result<Request, Error>) {
        self.operation.into_parts()
    }

    fn overrides(&self) -> CallOverrides {
        self.overrides.clone()
    }
}

/// The success body as JSON, for fields the spec does not describe (yet).
pub type RawJson = serde_json::Value;

/// A decoded success body with what came with it ([`Operation::call_with_response`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Response<T> {
    value: T,
    status: StatusCode,
    headers: HeaderMap,
    attempts: u32,
}

impl<T> Response<T> {
    fn new(value: T, exchange: Exchange) -> Self {
        Self {
            value,
            status: exchange.status,
            headers: exchange.headers,
            attempts: exchange.attempts,
        }
    }

    /// The decoded body.
    pub fn into_inner(self) -> T {
        self.value
    }

    /// The decoded body, borrowed.
    pub fn value(&self) -> &T {
        &self.value
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The answer's headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The `X-Request-Id` Meraki support asks for.
    pub fn request_id(&self) -> Option<&str> {
        crate::request::request_id(&self.headers)
    }

    /// How many times the request was sent (redirects not counted).
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

/// [`exchange`], and the success body decoded as the operation's type.
async fn decoded<T: serde::de::DeserializeOwned>(
    spec: &'static OperationSpec,
    client: &Client,
    request: Result<Request, Error>,
    overrides: &CallOverrides,
) -> Result<(T, Exchange), Error> {
    let exchange = exchange(spec, client, request, overrides).await?;
    let value = super::decode::decode(
        client.inner().drift_log(),
        spec.operation_id,
        &exchange.body,
    )?;
    Ok((value, exchange))
}

/// Sends a built request on the one path and hands back its success answer, or the error.
pub(crate) async fn exchange(
    spec: &'static OperationSpec,
    client: &Client,
    request: Result<Request, Error>,
    overrides: &CallOverrides,
) -> Result<Exchange, Error> {
    use crate::request::outcome::{failure_error, success};
    use progenitor_client::ClientInfo as _;
    let request = request?;
    let method = request.method().clone();
    let state = client.inner();
    if let Some(note) = spec.deprecated {
        state.deprecated_called(spec.operation_id, note);
    }
    // The span names the template; a raw call (no template) its own path, which the request
    // is about to take with it.
    let path = if spec.path.is_empty() {
        std::borrow::Cow::Owned(state.relative_path(request.url()).to_owned())
    } else {
        std::borrow::Cow::Borrowed(spec.path)
    };
    let sent = crate::request::send(
        state,
        client.client(),
        request,
        spec.operation_id,
        &path,
        overrides,
    )
    .await;
    let exchange = sent.map_err(|failure| failure_error(spec.operation_id, &method, failure))?;
    success(state, spec.operation_id, &method, exchange)
}

/// Turns progenitor's error from building a request into ours, naming the parameter at fault
/// by its wire name.
pub(crate) fn request_error<E>(
    spec: &'static OperationSpec,
    error: progenitor_client::Error<E>,
) -> Error {
    use progenitor_client::Error as P;
    let operation = spec.operation_id;
    match error {
        P::InvalidRequest(message) | P::Custom(message) => {
            let (parameter, mut message) = split_parameter(&message);
            let parameter = parameter.map(|p| wire_name(spec, &p));
            let choices = spec
                .choices
                .iter()
                .find(|(name, _)| Some(*name) == parameter.as_deref());
            if let Some((_, values)) = choices.filter(|_| message.starts_with("conversion to")) {
                message = format!("must be one of {}", values.join(", "));
            }
            Error::InvalidRequest(InvalidRequest {
                operation,
                parameter,
                message,
            })
        }
        P::CommunicationError(source)
        | P::InvalidUpgrade(source)
        | P::ResponseBodyError(source) => Error::InvalidRequest(InvalidRequest {
            operation,
            parameter: None,
            message: format!("the request cannot be built: {source}"),
        }),
        // Only sending produces the other kinds.
        _ => Error::InvalidRequest(InvalidRequest {
            operation,
            parameter: None,
            message: "the request cannot be built".to_owned(),
        }),
    }
}

/// The spec's name for a parameter progenitor calls by its Rust name (`per_page` → `perPage`).
fn wire_name(spec: &OperationSpec, name: &str) -> String {
    let squashed = |s: &str| {
        s.chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect::<String>()
    };
    let wanted = squashed(name);
    spec.parameters
        .iter()
        .find(|p| squashed(p) == wanted)
        .map_or_else(|| name.to_owned(), |p| (*p).to_owned())
}

/// Finds the parameter a request error is about: our own checks say "parameter `perPage`: ...";
/// progenitor says "conversion to `T` for per_page failed" or "organization_id was not
/// initialized".
fn split_parameter(message: &str) -> (Option<String>, String) {
    if let Some(rest) = message.strip_prefix("parameter `") {
        if let Some((name, tail)) = rest.split_once("`: ") {
            return (Some(name.to_owned()), tail.to_owned());
        }
    }
    if let Some(head) = message.strip_suffix(" failed") {
        if let Some((_, name)) = head.rsplit_once(" for ") {
            return (Some(name.to_owned()), message.to_owned());
        }
    }
    if let Some(name) = message.strip_suffix(" was not initialized") {
        return (
            Some(name.to_owned()),
            "is required but was not set".to_owned(),
        );
    }
    (None, message.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parameters_from_every_message_form() {
        assert_eq!(
            split_parameter("parameter `perPage`: must be between 3 and 1000, got 2"),
            (
                Some("perPage".into()),
                "must be between 3 and 1000, got 2".into()
            )
        );
        assert_eq!(
            split_parameter("organization_id was not initialized")
                .0
                .as_deref(),
            Some("organization_id")
        );
        assert_eq!(
            split_parameter("conversion to `GetLicensesState` for state failed")
                .0
                .as_deref(),
            Some("state")
        );
        assert_eq!(split_parameter("something else").0, None);
    }

    #[test]
    fn parameters_are_named_as_the_api_names_them() {
        let spec = operations()
            .iter()
            .find(|s| s.operation_id == "getOrganizationLicenses")
            .unwrap();
        assert_eq!(wire_name(spec, "per_page"), "perPage");
        assert_eq!(wire_name(spec, "organization_id"), "organizationId");
        assert_eq!(wire_name(spec, "perPage"), "perPage");
        assert_eq!(wire_name(spec, "body"), "body");
    }
}
