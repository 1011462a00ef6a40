//! Raw calls, for what the compiled client lacks: an operation newer than the spec, or an API
//! area whose feature is off. Same auth, pacing by organization, retries, redirects, dry-run
//! mode and errors as a generated operation, because a [`RawRequest`] is an
//! [`Operation`]: `.call()` sends it, and `.into_paginator()` walks its `Link` pages.
//!
//! ```no_run
//! # async fn demo(client: meraki_api::Client) -> Result<(), meraki_api::Error> {
//! use futures_util::TryStreamExt;
//! use meraki_api::prelude::*;
//! use meraki_api::Method;
//!
//! // Untyped: the body as `serde_json::Value`.
//! let network = client.raw(Method::GET, "/networks/N_1").call().await?;
//!
//! // Typed: any `Deserialize` type of yours.
//! #[derive(serde::Deserialize)]
//! struct Device { serial: String }
//! let devices = client
//!     .raw(Method::GET, "/organizations/549236/devices")
//!     .query_array("serials", ["Q234-ABCD-0001"])
//!     .decode_as::<Vec<Device>>()
//!     .call()
//!     .await?;
//!
//! // Every page, following the `Link` header.
//! let mut clients = client
//!     .raw(Method::GET, "/networks/N_1/clients")
//!     .query("perPage", 1000)
//!     .into_paginator()
//!     .items();
//! while let Some(c) = clients.try_next().await? { println!("{c}"); }
//! # let _ = (network, devices); Ok(()) }
//! ```

use std::marker::PhantomData;

use progenitor_client::ClientInfo as _;
use reqwest::Method;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::operation::{sealed::Sealed, Operation, OperationSpec};
use super::pagination::{PageBody, Paginate};
use crate::body::ItemCounts;
use crate::error::{Error, InvalidRequest};
use crate::Client;

/// What errors of raw calls name as their operation.
static RAW_SPEC: OperationSpec = OperationSpec {
    id: "raw_request",
    operation_id: "rawRequest",
    method: "",
    path: "",
    version: "",
    parameters: &[],
    choices: &[],
    bounds: &[],
    paginated: true,
    batch: None,
    deprecated: None,
};

/// A request built by hand: method, path below the base URL, query, JSON body; decoded as
/// `T` (`serde_json::Value` unless [`RawRequest::decode_as`] says otherwise). Holds a clone of
/// the client. Its `Debug` masks secret-looking fields of the body ([`crate::mask_secrets`]).
pub struct RawRequest<T = serde_json::Value> {
    client: Client,
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    body: Option<serde_json::Value>,
    /// The first thing wrong with how the request was built, reported when it is sent.
    invalid: Option<String>,
    output: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RawRequest<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawRequest")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field(
                "body",
                &self.body.as_ref().map(crate::secrets::mask_secrets),
            )
            .field("invalid", &self.invalid)
            .finish_non_exhaustive()
    }
}

impl<T> Clone for RawRequest<T> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            method: self.method.clone(),
            path: self.path.clone(),
            query: self.query.clone(),
            body: self.body.clone(),
            invalid: self.invalid.clone(),
            output: PhantomData,
        }
    }
}

impl Client {
    /// A raw request for `path` below the base URL, such as `/networks/N_1/devices`
    /// (see [`RawRequest`]). Path segments are sent as given: encode ids that need it.
    pub fn raw(&self, method: Method, path: impl Into<String>) -> RawRequest {
        let path = path.into();
        let invalid = check_path(&path).err();
        RawRequest {
            client: self.clone(),
            method,
            path,
            query: Vec::new(),
            body: None,
            invalid,
            output: PhantomData,
        }
    }
}

/// A raw path must stay below the base URL: relative, no `..`, no query or fragment in it.
fn check_path(path: &str) -> Result<(), String> {
    if !path.starts_with('/') {
        return Err(format!("path `{path}` must start with `/`"));
    }
    if path.contains(['?', '#']) {
        return Err(format!(
            "path `{path}` must not hold a query or fragment: use `.query(...)`"
        ));
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(format!(
            "path `{path}` must not contain `.` or `..` segments"
        ));
    }
    Ok(())
}

impl<T> RawRequest<T> {
    /// Adds a query parameter.
    pub fn query(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.query.push((name.into(), value.to_string()));
        self
    }

    /// Adds an array query parameter the way the API reads it: `name[]=a&name[]=b`.
    pub fn query_array<I>(mut self, name: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: ToString,
    {
        let key = format!("{name}[]");
        for value in values {
            self.query.push((key.clone(), value.to_string()));
        }
        self
    }

    /// Sets the JSON body.
    pub fn json(mut self, body: &impl Serialize) -> Self {
        match serde_json::to_value(body) {
            Ok(value) => self.body = Some(value),
            Err(e) => {
                self.invalid
                    .get_or_insert_with(|| format!("body does not serialize as JSON: {e}"));
            }
        }
        self
    }

    /// Decodes the success body as `U` instead.
    pub fn decode_as<U>(self) -> RawRequest<U> {
        RawRequest {
            client: self.client,
            method: self.method,
            path: self.path,
            query: self.query,
            body: self.body,
            invalid: self.invalid,
            output: PhantomData,
        }
    }

    fn build(&self) -> Result<reqwest::Request, Error> {
        let invalid = |message: String| {
            Error::InvalidRequest(InvalidRequest {
                operation: RAW_SPEC.operation_id,
                parameter: None,
                message,
            })
        };
        if let Some(message) = &self.invalid {
            return Err(invalid(message.clone()));
        }
        let state = self.client.inner();
        let mut builder = state.request(self.client.client(), self.method.clone(), &self.path);
        if !self.query.is_empty() {
            builder = builder.query(&self.query);
        }
        if let Some(body) = &self.body {
            builder = builder.json(body);
        }
        builder
            .build()
            .map_err(|e| invalid(format!("the request cannot be built: {e}")))
    }
}

impl<T> Sealed for RawRequest<T> {}

impl<T: DeserializeOwned + Send + 'static> Operation for RawRequest<T> {
    const SPEC: &'static OperationSpec = &RAW_SPEC;
    type Output = T;

    fn into_parts(self) -> (Client, Result<reqwest::Request, Error>) {
        let request = self.build();
        (self.client, request)
    }
}

impl Paginate for RawRequest<serde_json::Value> {}

/// An untyped page: a JSON array's elements, an object's `items` (with `meta`'s counts), or
/// any other value as the one item.
impl PageBody for serde_json::Value {
    type Item = serde_json::Value;

    fn into_parts(self) -> (Vec<Self::Item>, Option<ItemCounts>) {
        match self {
            serde_json::Value::Array(items) => (items, None),
            serde_json::Value::Object(mut object) => match object.remove("items") {
                Some(serde_json::Value::Array(items)) => {
                    let counts = object.get("meta").and_then(ItemCounts::from_meta);
                    (items, counts)
                }
                Some(other) => {
                    object.insert("items".to_owned(), other);
                    (vec![serde_json::Value::Object(object)], None)
                }
                None => (vec![serde_json::Value::Object(object)], None),
            },
            serde_json::Value::Null => (Vec::new(), None),
            other => (vec![other], None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn raw_paths_stay_below_the_base_url() {
        assert!(check_path("/networks/N_1/devices").is_ok());
        for bad in ["networks", "/a/../b", "/a?b=c", "/a#x", "/./a"] {
            assert!(check_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn untyped_pages_of_every_shape() {
        assert_eq!(json!([1, 2]).into_parts(), (vec![json!(1), json!(2)], None));
        let (items, counts) =
            json!({"items": [{"a": 1}], "meta": {"counts": {"items": {"total": 3, "remaining": 2}}}})
                .into_parts();
        assert_eq!(items, vec![json!({"a": 1})]);
        assert_eq!(
            counts,
            Some(ItemCounts {
                total: Some(3),
                remaining: Some(2)
            })
        );
        assert_eq!(
            json!({"name": "x"}).into_parts(),
            (vec![json!({"name": "x"})], None)
        );
        assert_eq!(json!(null).into_parts(), (vec![], None));
    }
}
