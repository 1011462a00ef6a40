//! OAuth 2.0 for Meraki integrations (app-scoped access, the authorization-code grant).
//!
//! An integration registered at integrate.cisco.com has a client id and secret. An admin grants
//! it access once, in a browser ([`AuthorizationRequest`]); the code that comes back is
//! exchanged for tokens ([`OAuthApp::exchange_code`]). From then on a [`crate::Client`] built
//! with [`crate::ClientBuilder::oauth`] authenticates with access tokens it refreshes itself:
//!
//! - before a token expires, and once after a `401`;
//! - one refresh at a time, however many calls are in flight: a refresh token is never sent
//!   twice by two callers;
//! - each rotated refresh token goes to a [`TokenStore`] **before** the access token that came
//!   with it is used: Meraki revokes the old refresh token at once, so a process that crashed
//!   holding the only valid one would lock the integration out until an admin grants again.
//!   [`FileTokenStore`] replaces its file atomically.
//!
//! Everything else is unchanged: the access token goes where the API key would (Meraki's hosts,
//! over TLS), and never into `Debug`, errors or traces.
//!
//! ```no_run
//! # async fn demo() -> Result<(), meraki_api::Error> {
//! use meraki_api::oauth::{FileTokenStore, OAuthApp, OAuthCredentials};
//! let app = OAuthApp::new("my-client-id", std::env::var("MY_SECRET").unwrap())?;
//! let store = FileTokenStore::new("/var/lib/myapp/meraki-refresh-token");
//! let client = meraki_api::Client::builder()
//!     .oauth(OAuthCredentials::new(app, store))
//!     .build()?;
//! # Ok(()) }
//! ```

mod grant;
#[cfg(feature = "redis")]
mod redis_store;
mod store;
mod tokens;

use std::fmt;
use std::time::Duration;

use crate::error::ConfigError;
pub use crate::error::OAuthError;
pub use crate::secrets::Secret;
pub use grant::{AuthorizationRequest, OAuthApp, TokenSet, DEFAULT_TOKEN_URL};
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub use redis_store::RedisTokenStore;
pub use store::{FileTokenStore, MemoryTokenStore, StoreFuture, StoreLock, TokenStore};
pub(crate) use tokens::{Token, TokenSource};
/// The environment variables [`crate::Client::builder_from_env`] reads (when no API key is set).
pub const CLIENT_ID_ENV: &str = "MERAKI_OAUTH_CLIENT_ID";
/// The integration's client secret.
pub const CLIENT_SECRET_ENV: &str = "MERAKI_OAUTH_CLIENT_SECRET";
/// The file holding the current refresh token (rewritten on every rotation).
pub const REFRESH_TOKEN_FILE_ENV: &str = "MERAKI_OAUTH_REFRESH_TOKEN_FILE";
/// Overrides [`DEFAULT_TOKEN_URL`] (the authorize and revoke endpoints sit beside it).
pub const TOKEN_URL_ENV: &str = "MERAKI_OAUTH_TOKEN_URL";

/// What a client authenticating with OAuth is built with: the integration, where refresh
/// tokens are kept, and optionally tokens already in hand (right after [`OAuthApp::exchange_code`]).
pub struct OAuthCredentials {
    pub(crate) app: OAuthApp,
    pub(crate) store: std::sync::Arc<dyn TokenStore>,
    pub(crate) initial: Option<TokenSet>,
    pub(crate) refresh_before: Duration,
}

impl fmt::Debug for OAuthCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthCredentials")
            .field("app", &self.app)
            .field("refresh_before", &self.refresh_before)
            .finish_non_exhaustive()
    }
}

impl OAuthCredentials {
    /// Credentials whose current refresh token is in `store` (read at the first call).
    pub fn new(app: OAuthApp, store: impl TokenStore) -> Self {
        Self {
            app,
            store: std::sync::Arc::new(store),
            initial: None,
            refresh_before: Duration::from_secs(300),
        }
    }

    /// Starts from `tokens` (their access token is used until it expires); rotations go to the
    /// store as usual. The store is not written with `tokens.refresh_token`: save it first.
    pub fn with_tokens(mut self, tokens: TokenSet) -> Self {
        self.initial = Some(tokens);
        self
    }

    /// How long before expiry an access token is refreshed (default 5 minutes; at most half of
    /// a token's lifetime).
    pub fn refresh_before(mut self, margin: Duration) -> Self {
        self.refresh_before = margin;
        self
    }

    /// The credentials the `MERAKI_OAUTH_*` variables name, if the client id, secret and
    /// refresh token file are all set: a [`FileTokenStore`] on the file, and
    /// `MERAKI_OAUTH_TOKEN_URL` if set.
    pub fn from_env() -> Option<Result<Self, ConfigError>> {
        let var = |name| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let (id, secret, file) = (
            var(CLIENT_ID_ENV)?,
            var(CLIENT_SECRET_ENV)?,
            var(REFRESH_TOKEN_FILE_ENV)?,
        );
        let build = || {
            let mut app = OAuthApp::new(id, secret)?;
            if let Some(url) = var(TOKEN_URL_ENV) {
                app = app.token_url(&url)?;
            }
            Ok(Self::new(app, FileTokenStore::new(file.trim())))
        };
        Some(build())
    }
}
