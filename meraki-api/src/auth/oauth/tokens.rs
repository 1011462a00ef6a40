//! The access token a client sends, refreshed one at a time, by work that outlives its caller.
//!
//! A refresh rotates the refresh token at the server the moment it is answered, so once begun
//! it must end with the new token saved, whatever happens to the call that needed it: it runs
//! as a task of its own on the runtime, and every caller (the one that started it, those that
//! came while it ran, the next one after a caller was cancelled) takes its result from it. It
//! holds the store's lock from reading the current token to saving its successor, so processes
//! sharing the store take turns and always refresh with the newest token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use reqwest::header::HeaderValue;
use tokio::sync::watch;
use tokio::time::Instant;

use super::{OAuthApp, OAuthCredentials, TokenSet, TokenStore};
use crate::error::OAuthError;
use crate::secrets::Secret;

/// A client's OAuth state: the access token in use, the refresh token, and the refresh under
/// way that every caller waits on when the token must change.
pub(crate) struct TokenSource {
    app: OAuthApp,
    store: Arc<dyn TokenStore>,
    refresh_before: Duration,
    state: Mutex<State>,
    /// The refresh under way: its result, once it has one.
    refreshing: Mutex<Option<Refreshing>>,
    refreshes: AtomicU64,
}

type Refreshing = watch::Receiver<Option<Result<(), OAuthError>>>;

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
    /// The next access token is fetched because a 401 refused the last one.
    after_401: bool,
}

enum Ended {
    /// The server refused this refresh token (`invalid_grant`). Another process sharing the
    /// store may hold a newer one: the store is read again before giving up on a call.
    InvalidGrant(Secret),
    Revoked,
}

struct Access {
    header: HeaderValue,
    renew_at: Instant,
    /// Fetched after a 401: a 401 to this one is not about its age, and refreshes nothing.
    after_401: bool,
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

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl TokenSource {
    pub(crate) fn new(credentials: OAuthCredentials) -> Self {
        let mut state = State::default();
        let refresh_before = credentials.refresh_before;
        if let Some(tokens) = credentials.initial {
            state.access = Some(access(&tokens, Instant::now(), refresh_before, false));
            state.refresh = Some(tokens.refresh_token);
            state.generation = 1;
        }
        Self {
            app: credentials.app,
            store: credentials.store,
            refresh_before,
            state: Mutex::new(state),
            refreshing: Mutex::new(None),
            refreshes: AtomicU64::new(0),
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Refreshes done by this client.
    pub(crate) fn refreshes(&self) -> u64 {
        self.refreshes.load(Ordering::Relaxed)
    }

    /// The token to send now, if the one held is good for a while yet.
    fn usable(&self) -> Option<Token> {
        let state = self.state();
        if state.unsaved || state.ended.is_some() {
            return None;
        }
        state
            .access
            .as_ref()
            .filter(|a| Instant::now() < a.renew_at)
            .map(|a| Token {
                header: a.header.clone(),
                generation: state.generation,
            })
    }

    /// An access token for the next attempt: the one held, or the result of the refresh under
    /// way (started here if none is).
    pub(crate) async fn token(self: &Arc<Self>) -> Result<Token, OAuthError> {
        if let Some(token) = self.usable() {
            return Ok(token);
        }
        self.still_granted().await?;
        let mut refreshing = self.refreshing();
        let result = loop {
            if let Some(result) = refreshing.borrow_and_update().clone() {
                break result;
            }
            if refreshing.changed().await.is_err() {
                // The task ended without a result (its runtime shut down): the next caller
                // starts another, which reads the store first.
                let mut slot = lock(&self.refreshing);
                if slot.as_ref().is_some_and(|r| r.same_channel(&refreshing)) {
                    *slot = None;
                }
                break Err(OAuthError::InvalidAnswer(
                    "the refresh stopped before it finished".into(),
                ));
            }
        };
        result?;
        self.usable().ok_or(OAuthError::InvalidAnswer(
            "the new access token expired at once".into(),
        ))
    }

    /// Fails a call whose grant ended, unless the store holds a newer token than the one the
    /// server refused (another process rotated it): then the client goes on with that one.
    async fn still_granted(&self) -> Result<(), OAuthError> {
        let refused = match &self.state().ended {
            None => return Ok(()),
            Some(Ended::Revoked) => return Err(OAuthError::Revoked),
            Some(Ended::InvalidGrant(refused)) => refused.clone(),
        };
        match self.store.load().await {
            Ok(Some(stored)) if stored != refused => {
                let mut state = self.state();
                state.ended = None;
                state.refresh = Some(stored);
                state.access = None;
                tracing::info!(
                    target: "meraki_api",
                    "oauth: the store holds a newer refresh token than the one refused: going on with it"
                );
                Ok(())
            }
            _ => Err(OAuthError::InvalidGrant { description: None }),
        }
    }

    /// The refresh under way, or a new one, running on its own.
    fn refreshing(self: &Arc<Self>) -> Refreshing {
        let mut slot = lock(&self.refreshing);
        if let Some(refreshing) = &*slot {
            return refreshing.clone();
        }
        let (done, refreshing) = watch::channel(None);
        *slot = Some(refreshing.clone());
        drop(slot);
        let source = self.clone();
        let work = async move {
            let result = source.refresh_and_save().await;
            // Whoever asks from now on finds the token installed (or starts afresh).
            *lock(&source.refreshing) = None;
            let _ = done.send(Some(result));
        };
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(work);
            }
            // No runtime: nothing could send a request either. The refresh is never started;
            // its sender is dropped and the caller says so.
            Err(_) => *lock(&self.refreshing) = None,
        }
        refreshing
    }

    /// The API refused `generation`'s token (401). Whether to send again with a fresh one: not
    /// when the token refused was itself fetched after a 401 (at most one refresh per access
    /// token, however many 401s arrive), yes when a newer one is held already.
    pub(crate) fn rejected(&self, generation: u64) -> bool {
        let mut state = self.state();
        if state.generation != generation {
            return true;
        }
        match &state.access {
            Some(access) if access.after_401 => false,
            _ => {
                state.access = None;
                state.after_401 = true;
                true
            }
        }
    }

    /// Revokes the refresh token at the server; the client's calls fail with
    /// [`OAuthError::Revoked`] from then on.
    pub(crate) async fn revoke(&self) -> Result<(), OAuthError> {
        let _lock = self.store.lock().await.map_err(store_error)?;
        let refresh = self.current_refresh_token().await?;
        self.app.revoke(&refresh).await?;
        let mut state = self.state();
        state.ended = Some(Ended::Revoked);
        state.access = None;
        state.refresh = None;
        tracing::info!(target: "meraki_api", "oauth: grant revoked");
        Ok(())
    }

    /// The refresh token to use: this client's if it is newer than the store's (not saved
    /// yet), else the store's (another process may have rotated it).
    async fn current_refresh_token(&self) -> Result<Secret, OAuthError> {
        if self.state().unsaved {
            if let Some(token) = self.state().refresh.clone() {
                return Ok(token);
            }
        }
        let stored = self.store.load().await.map_err(store_error)?;
        let mut state = self.state();
        match stored {
            Some(stored) => {
                state.refresh = Some(stored.clone());
                Ok(stored)
            }
            None => state.refresh.clone().ok_or(OAuthError::NoRefreshToken),
        }
    }

    /// One refresh, under the store's lock: a token rotated before and not saved yet is saved
    /// (no second refresh); otherwise the store's current token is refreshed, and its
    /// successor saved before anyone may use the new access token.
    async fn refresh_and_save(&self) -> Result<(), OAuthError> {
        let _lock = self.store.lock().await.map_err(store_error)?;
        if self.state().unsaved {
            self.save_rotated().await?;
            if self.usable().is_some() {
                return Ok(());
            }
        }
        let mut used = self.current_refresh_token().await?;
        let mut reread = false;
        loop {
            let started = Instant::now();
            match self.app.refresh(&used).await {
                Ok(tokens) => return self.install(tokens, started).await,
                Err(OAuthError::InvalidGrant { description }) => {
                    // A process that shares the store without its lock may have rotated it.
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
                    state.ended = Some(Ended::InvalidGrant(used));
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

    /// Takes a refresh's tokens: the rotated refresh token is saved before the access token is
    /// handed out.
    async fn install(&self, tokens: TokenSet, requested_at: Instant) -> Result<(), OAuthError> {
        self.refreshes.fetch_add(1, Ordering::Relaxed);
        {
            let mut state = self.state();
            let rotated = state.refresh.as_ref() != Some(&tokens.refresh_token);
            let after_401 = std::mem::take(&mut state.after_401);
            state.access = Some(access(
                &tokens,
                requested_at,
                self.refresh_before,
                after_401,
            ));
            state.refresh = Some(tokens.refresh_token.clone());
            state.unsaved = rotated;
            state.generation += 1;
        }
        tracing::info!(
            target: "meraki_api",
            expires_in_s = tokens.expires_in.as_secs(),
            "oauth: access token refreshed"
        );
        self.save_rotated().await
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
                Err(store_error(e))
            }
        }
    }
}

fn store_error(e: std::io::Error) -> OAuthError {
    OAuthError::Store(Arc::new(e))
}

/// When a token got at `at` should be renewed: `margin` before it expires, at most half of
/// its life.
fn access(tokens: &TokenSet, at: Instant, margin: Duration, after_401: bool) -> Access {
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
        after_401,
    }
}
