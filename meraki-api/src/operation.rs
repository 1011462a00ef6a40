//! What every generated operation builder has in common, implemented for all of them by the
//! build script: its spec, its output type, and [`Operation::call`], which sends it and
//! reports failures as [`crate::Error`].

use std::future::Future;

use progenitor_client::ResponseValue;
use serde::de::DeserializeOwned;

use crate::error::{error_messages, ApiError, Error, InvalidRequest, TransportError};
use crate::transport::{
    is_throttle, retry_after_of, Attempts, NotSent, RefusedRedirect, ATTEMPTS, CAPTURED_BODY,
};
use crate::Client;

/// An operation as the spec describes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
    /// Integer query parameters with documented ranges.
    pub bounds: &'static [QueryBound],
    /// Whether the operation has a paginator (`startingAfter` and `endingBefore`).
    pub paginated: bool,
    /// How action batches carry it, if it is batchable ([`crate::batch::Batchable`]).
    pub batch: Option<BatchSpec>,
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

/// A documented range of an integer query parameter, such as `perPage`'s `3 - 1000`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryBound {
    /// The parameter's wire name.
    pub name: &'static str,
    /// Smallest value accepted.
    pub min: i64,
    /// Largest value accepted.
    pub max: i64,
}

/// Every operation of the API, in operationId order.
pub fn operations() -> &'static [OperationSpec] {
    crate::generated::OPERATIONS
}

/// A generated operation builder (`client.get_organization_licenses()`, ...).
pub trait Operation<'a>: Sized + Send + 'a {
    /// The operation's spec.
    const SPEC: &'static OperationSpec;
    /// The decoded success body.
    type Output: DeserializeOwned + Send + 'a;
    /// The typed error body (Meraki's specs declare none).
    type ErrorBody: Send + 'a;

    /// The client this builder will send with.
    fn client(&self) -> &'a Client;

    /// progenitor's `send()`, with progenitor's error type.
    fn send_raw(
        self,
    ) -> impl Future<
        Output = Result<ResponseValue<Self::Output>, progenitor_client::Error<Self::ErrorBody>>,
    > + Send
           + 'a;

    /// Sends the request (with the client's throttling, retries and redirects) and returns
    /// the decoded response, or an [`Error`] that says what went wrong and where.
    fn call(self) -> impl Future<Output = Result<ResponseValue<Self::Output>, Error>> + Send + 'a {
        ATTEMPTS.scope(std::cell::Cell::new(0), async move {
            let result = self.send_raw().await;
            let attempts = ATTEMPTS.with(|a| a.get());
            match result {
                Ok(value) => Ok(value),
                Err(e) => Err(convert_error::<Self::Output, _>(Self::SPEC, e, attempts).await),
            }
        })
    }
    /// Like [`Operation::call`], also returning the body as untyped JSON, so that fields the
    /// spec does not list (and the typed values therefore drop) can still be read. The body is
    /// read once; it is parsed a second time only here.
    fn call_with_json(
        self,
    ) -> impl Future<Output = Result<(ResponseValue<Self::Output>, RawJson), Error>> + Send + 'a
    {
        CAPTURED_BODY.scope(std::cell::RefCell::new(None), async move {
            let value = self.call().await?;
            let body = CAPTURED_BODY.with(|slot| slot.borrow_mut().take());
            let raw = body
                .and_then(|b| serde_json::from_slice(&b).ok())
                .unwrap_or(RawJson::Null);
            Ok((value, raw))
        })
    }
}

/// The success body as JSON, for fields the spec does not describe (yet).
pub type RawJson = serde_json::Value;

/// Sends the request like [`Operation::call`] (same throttling, retries, redirects and errors)
/// but leaves the success body undecoded, for callers that decode it into a type of their own.
pub(crate) async fn call_undecoded<'a, O: Operation<'a>>(
    operation: O,
) -> Result<crate::decode::UndecodedBody, Error> {
    ATTEMPTS
        .scope(std::cell::Cell::new(0), async move {
            let result = crate::decode::undecoded(operation.send_raw()).await;
            let attempts = ATTEMPTS.with(|a| a.get());
            match result {
                Ok(body) => Ok(body),
                Err(e) => Err(convert_error::<O::Output, _>(O::SPEC, e, attempts).await),
            }
        })
        .await
}

/// Turns progenitor's error into ours, reading the body of an unexpected response.
pub(crate) async fn convert_error<T: DeserializeOwned, E>(
    spec: &'static OperationSpec,
    error: progenitor_client::Error<E>,
    attempts: u32,
) -> Error {
    let operation = spec.operation_id;
    use progenitor_client::Error as P;
    match error {
        P::InvalidRequest(message) | P::Custom(message) => {
            let (parameter, message) = split_parameter(&message);
            Error::InvalidRequest(InvalidRequest {
                operation,
                parameter,
                message,
            })
        }
        P::CommunicationError(source)
        | P::InvalidUpgrade(source)
        | P::ResponseBodyError(source) => Error::Transport(TransportError {
            operation,
            attempts: attempts.max(1),
            source,
        }),
        P::InvalidResponsePayload(body, e) => {
            Error::Decode(crate::error::decode_error::<T>(operation, &body, &e))
        }
        P::ErrorResponse(value) => Error::Api(ApiError {
            operation,
            status: value.status(),
            messages: Vec::new(),
            request_id: request_id(value.headers()),
            attempts: attempts.max(1),
            retry_after: None,
        }),
        P::UnexpectedResponse(response) => from_response(operation, response).await,
    }
}

pub(crate) async fn from_response(
    operation: &'static str,
    mut response: reqwest::Response,
) -> Error {
    if let Some(not_sent) = response.extensions_mut().remove::<NotSent>() {
        return Error::DryRun {
            operation,
            not_sent: Box::new(not_sent),
        };
    }
    if let Some(refused) = response.extensions().get::<RefusedRedirect>() {
        return Error::RedirectRefused {
            operation,
            host: refused.host.clone(),
        };
    }
    let status = response.status();
    let attempts = response.extensions().get::<Attempts>().map_or(1, |a| a.0);
    let request_id = request_id(response.headers());
    let retry_after = retry_after_of(response.headers());
    let messages = match response.bytes().await {
        Ok(body) => error_messages(&body),
        Err(e) => vec![format!("(body unreadable: {e})")],
    };
    let error = ApiError {
        operation,
        status,
        messages,
        request_id,
        attempts,
        retry_after,
    };
    if is_throttle(status) {
        Error::RateLimited(error)
    } else {
        Error::Api(error)
    }
}

fn request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
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
    use super::split_parameter;

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
}
