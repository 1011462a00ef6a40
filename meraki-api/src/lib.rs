//! A typed, async client for the Cisco Meraki Dashboard API.
//!
//! The operations and their types are generated at build time by
//! [progenitor](https://github.com/oxidecomputer/progenitor) from `openapi/openapi.yaml`,
//! which `cargo xtask generate` merges from Meraki's published operation documents. Around
//! them sit small hand-written layers (ARCHITECTURE.md has the map): building a [`Client`]
//! ([`config`]), the one path every request takes (pacing by organization, credentials for
//! trusted hosts only, retries that never send a write twice, safe redirects), the glue to the
//! generated operations ([`operation`], [`pagination`], [`raw`]), workflows built on calls
//! ([`batch`], [`plan`]), authentication ([`auth`], [`oauth`]), [`webhook`] receivers, and
//! [`Error`].
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
#![doc = include_str!(concat!(env!("OUT_DIR"), "/compiled.md"))]
#![warn(missing_docs, missing_debug_implementations)]
// docs.rs (nightly) marks what a feature gates.
#![cfg_attr(docsrs, feature(doc_cfg))]
// A build without API areas (the xtask's) has no operation to use the glue.
#![cfg_attr(meraki_no_areas, allow(dead_code, unused_imports))]

pub mod auth;
mod body;
mod client;
mod drift;
mod error;
mod net;
mod operations;
pub mod pacing;
mod request;
mod secrets;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod test_util;
mod tls;
pub mod webhook;
mod workflows;

/// The progenitor output and the build script's operation table, included verbatim.
///
/// Its docs quote Meraki's descriptions, written for the docs site: bare URLs, `[optional]`,
/// `<option>`. Those are the spec's text, not broken docs of ours.
#[allow(
    missing_docs,
    clippy::all,
    clippy::pedantic,
    unused_imports,
    deprecated
)]
#[allow(
    rustdoc::bare_urls,
    rustdoc::broken_intra_doc_links,
    rustdoc::invalid_html_tags
)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/progenitor.rs"));
    include!(concat!(env!("OUT_DIR"), "/extensions.rs"));
}

pub use auth::oauth;
pub use drift::{Drift, DriftKind};
pub use error::{
    ApiError, ApiErrorKind, ConfigError, DecodeError, Error, InvalidRequest, NotSent, OAuthError,
    Resume, StreamStopped, TransportError,
};
pub use generated::{builder, types, Client};
pub use operations::operation::{Customized, Response};
pub use operations::pagination::link;
pub use operations::patch::Patch;
pub use operations::{operation, pagination, raw};
pub use pacing::directory;
pub use pacing::RateLimitConfig;
pub use request::retry::RetryPolicy;
pub use request::state::Stats;
pub use request::CallOverrides;
/// The HTTP method of a raw call ([`Client::raw`]).
pub use reqwest::Method;
pub use secrets::{mask_json_text, mask_secrets, redact_url};
pub use tls::reqwest_builder;
pub use workflows::{batch, plan};

/// The README's Rust snippets, compiled as doctests (`cargo test -p meraki-api --doc --features
/// redis,test-util`; CI runs it): a snippet a newcomer copies must build.
#[cfg(all(doctest, feature = "redis", feature = "test-util"))]
#[doc = include_str!("../../README.md")]
struct ReadmeSnippets;

/// Building a [`Client`]: [`ClientBuilder`] and the environment it reads.
pub mod config {
    pub use crate::client::{ClientBuilder, BASE_URL_ENV, DEFAULT_BASE_URL};
    pub use crate::tls::reqwest_builder;
}
pub use client::{ClientBuilder, BASE_URL_ENV, DEFAULT_BASE_URL};

/// The traits that put `.call()` and `.into_paginator()` on every operation builder.
pub mod prelude {
    pub use crate::operations::operation::Operation;
    pub use crate::operations::pagination::{Direction, Paginate};
    pub use crate::Client;
}
