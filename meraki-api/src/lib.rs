//! A typed, async client for the Cisco Meraki Dashboard API.
//!
//! The operations and their types are generated at build time by
//! [progenitor](https://github.com/oxidecomputer/progenitor) from `openapi/openapi.yaml`,
//! which `cargo xtask generate` merges from Meraki's published operation documents. Around
//! them sit small hand-written layers: [`auth`] (API keys that are never printed), [`config`]
//! (building a [`Client`]), per-organization pacing of every request, networks and devices
//! included ([`directory`]), retries and safe redirects (all on the one path every request
//! takes, so every call gets them), [`pagination`] (Link-header streams) and [`Error`].
//!
//! ```no_run
//! use meraki_api::prelude::*;
//!
//! # async fn demo() -> Result<(), meraki_api::Error> {
//! let client = meraki_api::Client::from_env()?; // MERAKI_DASHBOARD_API_KEY
//! let licenses = client
//!     .get_organization_licenses()
//!     .organization_id("123456")
//!     .state("active")
//!     .call()
//!     .await?;
//! for license in licenses {
//!     println!("{:?} {:?}", license.license_type, license.expiration_date);
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]
// The futures of a call nest deeply (a paginator over a call over the transport over the
// pacer, which may await Redis): their layouts need more than the default depth.
#![recursion_limit = "256"]

pub mod auth;
pub mod batch;
mod call;
pub mod config;
mod decode;
pub mod directory;
mod error;
mod hooks;
mod lenient;
pub mod link;
pub mod oauth;
pub mod operation;
mod outcome;
mod owners;
mod pacing;
pub mod pagination;
mod patch;
pub mod plan;
pub mod raw;
mod redirect;
mod retry;
#[cfg(feature = "redis")]
mod shared_budget;
#[cfg(feature = "test-util")]
pub mod test_util;
mod transport;
pub mod webhook;

/// The progenitor output and the build script's operation table, included verbatim.
///
/// Its docs quote Meraki's descriptions, written for the docs site: bare URLs, `[optional]`,
/// `<option>`. Those are the spec's text, not broken docs of ours.
#[allow(missing_docs, clippy::all, clippy::pedantic, unused_imports)]
#[allow(
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/progenitor.rs"));
    include!(concat!(env!("OUT_DIR"), "/extensions.rs"));
}

pub use config::{reqwest_builder, ClientBuilder, BASE_URL_ENV, DEFAULT_BASE_URL};
pub use error::{
    mask_secrets, ApiError, ApiErrorKind, ConfigError, DecodeError, Error, InvalidRequest, NotSent,
    Resume, StreamStopped, TransportError,
};
pub use generated::{builder, types, Client};
pub use operation::Response;
pub use pacing::RateLimitConfig;
pub use patch::Patch;
pub use retry::RetryPolicy;
pub use transport::Stats;

/// The traits that put `.call()` and `.into_paginator()` on every operation builder.
pub mod prelude {
    pub use crate::operation::Operation;
    pub use crate::pagination::{Direction, Paginate};
    pub use crate::Client;
}
