//! The access token a client sends, refreshed one at a time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::time::Instant;

use super::{OAuthApp, OAuthCredentials, OAuthError, Secret, TokenSet, TokenStore};

/// A client's OAuth state: the access token in use, the refresh token, and the one turn at
/// refreshing that every call waits on when the token must change.
pub(crate) struct TokenSource {
    app: OAuthApp,
    store: Arc<dyn TokenStore>,
    refresh_before: Duration,
    state: Mutex<State>,
    /// Held for a refresh (and for saving a rotated token): one at a time, so a refresh
    /// token is sent once.
    turn: tokio::sync::Mutex<()>,
    refreshes: AtomicU64,
}

#[derive(Default)]
struct State {
    access: Option<Access>,
    /// The current refresh token; `None` until the store is read.
    refresh: Option<Secret>,
    /// `refresh` is newer than what the store holds: no access token is handed out until
    /// it is saved.
    unsaved: bool,
    /// The server refused the refresh token for good, or the grant was revoked.
    ended: Option<Ended>,
    /// Counts access tokens, so a 401 to an old one does not throw away a newer one.
    generation: u64,
}

#[derive(Clone, Copy)]
enum Ended {
    InvalidGrant,
    Revoked,
}

struct Access {
    header: HeaderValue,
    renew_at: Instant,
}

/// An access token for one attempt.
pub(crate) struct Token {
    pub(crate) header: HeaderValue,
    pub(crate) generation: u64,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("app", &self.app)
            .field("refreshes", &self.refreshes())
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    pub(crate) fn new(credentials: OAuthCredentials) -> Self {
        let mut state = State::default();
        let refresh_before = credentials.refresh_before;
        if let Some(tokens) = credentials.initial {
            state.access = Some(access(&tokens, Instant::now(), refresh_before));
            state.refresh = Some(tokens.refresh_token);
            state.generation = 1;
        }
        Self {
            app: credentials.app,
            store: credentials.store,
            refresh_before,
            state: Mutex::new(state),
            turn: tokio::sync::Mutex::new(()),
            refreshes: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Refreshes done by this client.
    pub(crate) fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The token to send now, if the one held is good for a while yet.
    fn usable(&self) -> Result<Option<Token>, OAuthError> {
        let state = self.state();
        match state.ended {
            Some(Ended::Revoked) => return Err(OAuthError::Revoked),
            Some(Ended::InvalidGrant) => {
                return Err(OAuthError::InvalidGrant { description: None })
            }
            None => {}
        }
        if state.unsaved {
            return Ok(None);
        }
        Ok(state
            .access
            .as_ref()
            .filter(|a| Instant::now() < a.renew_at)
            .map(|a| Token {
                header: a.header.clone(),
                generation: state.generation,
            }))
    }

    /// An access token for the next attempt: the one held, or a new one (one refresh at a
    /// time; callers that waited for it take its result).
    pub(crate) async fn token(&self) -> Result<Token, OAuthError> {
        if let Some(token) = self.usable()? {
            return Ok(token);
        }
        let _turn = self.turn.lock().await;
        if let Some(token) = self.usable()? {
            return Ok(token);
        }
        if self.state().unsaved {
            self.save_rotated().await?;
            if let Some(token) = self.usable()? {
                return Ok(token);
            }
        }
        self.refresh().await
    }

    /// The API refused `generation`'s token (401): the next call refreshes, unless a newer
    /// token is already held.
    pub(crate) fn rejected(&self, generation: u64) {
        let mut state = self.state();
        if state.generation == generation {
            state.access = None;
        }
    }

    /// Revokes the refresh token at the server; the client's calls fail with
    /// [`OAuthError::Revoked`] from then on.
    pub(crate) async fn revoke(&self) -> Result<(), OAuthError> {
        let _turn = self.turn.lock().await;
        let refresh = self.refresh_token().await?;
        self.app.revoke(&refresh).await?;
        let mut state = self.state();
        state.ended = Some(Ended::Revoked);
        state.access = None;
        state.refresh = None;
        tracing::info!(target: "meraki_api", "oauth: grant revoked");
        Ok(())
    }

    /// The refresh token held, read from the store the first time.
    async fn refresh_token(&self) -> Result<Secret, OAuthError> {
        if let Some(token) = self.state().refresh.clone() {
            return Ok(token);
        }
        let loaded = self.store.load().await.map_err(OAuthError::Store)?;
        let token = loaded.ok_or(OAuthError::NoRefreshToken)?;
        self.state().refresh = Some(token.clone());
        Ok(token)
    }

    /// One refresh, holding the turn. A refusal (`invalid_grant`) is tried once more with the
    /// store's token if that differs (another process sharing the store rotated it).
    async fn refresh(&self) -> Result<Token, OAuthError> {
        let mut used = self.refresh_token().await?;
        let mut reread = false;
        loop {
            let started = Instant::now();
            match self.app.refresh(&used).await {
                Ok(tokens) => return self.install(tokens, started).await,
                Err(OAuthError::InvalidGrant { description }) => {
                    if !reread {
                        reread = true;
                        if let Ok(Some(stored)) = self.store.load().await {
                            if stored != used {
                                self.state().refresh = Some(stored.clone());
                                used = stored;
                                continue;
                            }
                        }
                    }
                    tracing::warn!(
                        target: "meraki_api",
                        "oauth: the refresh token was refused (invalid_grant): an admin must grant access again"
                    );
                    let mut state = self.state();
                    state.ended = Some(Ended::InvalidGrant);
                    state.access = None;
                    return Err(OAuthError::InvalidGrant { description });
                }
                Err(e) => {
                    tracing::warn!(target: "meraki_api", error = %e, "oauth: refresh failed");
                    return Err(e);
                }
            }
        }
    }

    /// Takes a refresh's tokens: the rotated refresh token is saved before the access token
    /// is handed out.
    async fn install(&self, tokens: TokenSet, requested_at: Instant) -> Result<Token, OAuthError> {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        {
            let mut state = self.state();
            let rotated = state.refresh.as_ref() != Some(&tokens.refresh_token);
            state.access = Some(access(&tokens, requested_at, self.refresh_before));
            state.refresh = Some(tokens.refresh_token.clone());
            state.unsaved = rotated;
            state.generation += 1;
        }
        tracing::info!(
            target: "meraki_api",
            expires_in_s = tokens.expires_in.as_secs(),
            "oauth: access token refreshed"
        );
        self.save_rotated().await?;
        self.usable()?.ok_or(OAuthError::InvalidAnswer(
            "the new access token expired at once".into(),
        ))
    }

    /// Saves the refresh token the store does not have yet.
    async fn save_rotated(&self) -> Result<(), OAuthError> {
        let Some(token) = self.state().refresh.clone() else {
            return Ok(());
        };
        match self.store.save(&token).await {
            Ok(()) => {
                let mut state = self.state();
                if state.refresh.as_ref() == Some(&token) {
                    state.unsaved = false;
                }
                Ok(())
            }
            Err(e) => {
                tracing::error!(
                    target: "meraki_api",
                    error = %e,
                    "oauth: the rotated refresh token could not be saved; held in memory, no call proceeds until it is"
                );
                Err(OAuthError::Store(e))
            }
        }
    }
}

/// When a token got at `at` should be renewed: `margin` before it expires, at most half of
/// its life.
fn access(tokens: &TokenSet, at: Instant, margin: Duration) -> Access {
    let life = tokens.expires_in;
    let margin = margin.min(life / 2);
    let mut header = HeaderValue::from_str(&format!("Bearer {}", tokens.access_token.expose()))
        .unwrap_or_else(|_| HeaderValue::from_static("Bearer invalid"));
    header.set_sensitive(true);
    Access {
        header,
        renew_at: at
            .checked_add(life.saturating_sub(margin))
            .unwrap_or_else(|| at + Duration::from_secs(86_400 * 365)),
    }
}
