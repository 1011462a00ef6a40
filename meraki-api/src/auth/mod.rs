//! What authenticates a request: an API key ([`ApiKey`]), or OAuth 2.0 access tokens that the
//! client refreshes itself ([`oauth`]). Neither is ever printed; both go only where the request
//! path trusts them with (`Credentials::apply`, the one place a request gets them).

mod key;
pub mod oauth;

use std::sync::Arc;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION};

pub use key::{ApiKey, AuthScheme, InvalidApiKey, API_KEY_ENV};

/// What authenticates a client's requests.
pub(crate) enum Credentials {
    /// An API key's header, marked sensitive.
    Key(HeaderName, HeaderValue),
    /// OAuth access tokens, refreshed as they expire.
    OAuth(Arc<oauth::TokenSource>),
}

impl Credentials {
    /// Puts the credentials on a request's headers when its URL is `trusted` with them, and
    /// takes them off otherwise. `token` is the OAuth access token fetched for this attempt.
    pub(crate) fn apply(
        &self,
        headers: &mut HeaderMap,
        trusted: bool,
        token: Option<oauth::Token>,
    ) {
        match (self, trusted) {
            (Credentials::Key(name, value), true) => {
                headers.insert(name.clone(), value.clone());
            }
            (Credentials::OAuth(_), true) => match token {
                Some(token) => {
                    headers.insert(AUTHORIZATION, token.header);
                }
                None => {
                    headers.remove(AUTHORIZATION);
                }
            },
            (Credentials::Key(name, _), false) => {
                headers.remove(name);
            }
            (Credentials::OAuth(_), false) => {
                headers.remove(AUTHORIZATION);
            }
        }
    }

    /// The OAuth token source, if these are OAuth credentials.
    pub(crate) fn oauth(&self) -> Option<&Arc<oauth::TokenSource>> {
        match self {
            Credentials::OAuth(source) => Some(source),
            Credentials::Key(..) => None,
        }
    }
}
