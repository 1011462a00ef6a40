//! A client configured from the environment: the key (or OAuth credentials) and the base URL.

use super::builder::{ClientBuilder, BASE_URL_ENV};
use crate::auth::API_KEY_ENV;
use crate::{Client, Error};

impl Client {
    /// A builder with Meraki's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `MERAKI_DASHBOARD_API_KEY` (or, without it, the OAuth
    /// variables of [`crate::oauth::OAuthCredentials::from_env`]) and, if set,
    /// `MERAKI_DASHBOARD_API_BASE_URL`.
    pub fn from_env() -> Result<Client, Error> {
        Self::builder_from_env().build()
    }

    /// A builder preset from the environment, to adjust before building.
    pub fn builder_from_env() -> ClientBuilder {
        let mut builder = Self::builder();
        match std::env::var(API_KEY_ENV) {
            Ok(key) if !key.trim().is_empty() => builder = builder.api_key(key),
            // An integration's OAuth credentials, when no key is given.
            _ => match crate::auth::oauth::OAuthCredentials::from_env() {
                Some(Ok(credentials)) => builder = builder.oauth(credentials),
                Some(Err(e)) => builder.oauth = Some(Err(e)),
                None => {}
            },
        }
        if let Ok(url) = std::env::var(BASE_URL_ENV) {
            if !url.trim().is_empty() {
                builder = builder.base_url(url.trim());
            }
        }
        builder
    }
}
