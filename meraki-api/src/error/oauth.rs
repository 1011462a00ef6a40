//! Why OAuth authentication failed.

use std::fmt;

use reqwest::StatusCode;
use serde::Deserialize;

/// Why OAuth authentication failed. Never carries a token or secret.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum OAuthError {
    /// The authorization server refused the refresh token or code (`invalid_grant`): revoked,
    /// already used, expired, or the app removed. An admin must grant access again.
    InvalidGrant {
        /// The server's `error_description`, if any.
        description: Option<String>,
    },
    /// The authorization server refused otherwise (`invalid_client`, a 5xx...).
    Refused {
        /// The HTTP status, if the refusal came as one.
        status: Option<StatusCode>,
        /// The OAuth `error` code, or the status's reason.
        error: String,
        /// The server's `error_description`, if any.
        description: Option<String>,
    },
    /// The authorization server could not be reached, or its answer was lost.
    Transport {
        /// What failed (shared by every call that waited for the same refresh).
        source: std::sync::Arc<reqwest::Error>,
        /// The refresh request may have reached the server: the refresh token may have been
        /// rotated without the new one arriving. The next refresh tries the one held; if that
        /// fails with [`OAuthError::InvalidGrant`], an admin must grant again.
        refresh_outcome_unknown: bool,
    },
    /// The answer was not what OAuth prescribes.
    InvalidAnswer(String),
    /// A rotated refresh token could not be saved. It is kept in memory and saving is tried
    /// again before the next call; no call uses the new access token until it is saved.
    Store(std::sync::Arc<std::io::Error>),
    /// The store holds no refresh token: run the grant first (the `oauth_login` example).
    NoRefreshToken,
    /// This client's grant was revoked ([`crate::Client::revoke_oauth`]).
    Revoked,
}

impl OAuthError {
    pub(crate) fn transport(source: reqwest::Error, refresh_outcome_unknown: bool) -> Self {
        OAuthError::Transport {
            source: std::sync::Arc::new(source.without_url()),
            refresh_outcome_unknown,
        }
    }

    pub(crate) fn refused(status: StatusCode, body: &[u8]) -> Self {
        #[derive(Deserialize)]
        struct Refusal {
            error: String,
            #[serde(default)]
            error_description: Option<String>,
        }
        match serde_json::from_slice::<Refusal>(body) {
            Ok(r) if r.error == "invalid_grant" => OAuthError::InvalidGrant {
                description: r.error_description,
            },
            Ok(r) => OAuthError::Refused {
                status: Some(status),
                error: r.error,
                description: r.error_description,
            },
            Err(_) => OAuthError::Refused {
                status: Some(status),
                error: status.canonical_reason().unwrap_or("error").to_owned(),
                description: None,
            },
        }
    }

    /// Whether an admin must grant access again (the refresh token is no longer valid).
    pub fn needs_new_grant(&self) -> bool {
        matches!(
            self,
            OAuthError::InvalidGrant { .. } | OAuthError::Revoked | OAuthError::NoRefreshToken
        )
    }
}

impl fmt::Display for OAuthError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OAuthError::InvalidGrant { description } => {
                write!(f, "the refresh token was refused (invalid_grant")?;
                if let Some(d) = description {
                    write!(f, ": {d}")?;
                }
                write!(f, "): revoked, used already or expired; an admin must grant access again")
            }
            OAuthError::Refused { status, error, description } => {
                write!(f, "the authorization server refused: {error}")?;
                if let Some(d) = description {
                    write!(f, " ({d})")?;
                }
                if let Some(s) = status {
                    write!(f, " [{}]", s.as_u16())?;
                }
                Ok(())
            }
            OAuthError::Transport { source, refresh_outcome_unknown } => {
                write!(f, "the authorization server could not be reached: {source}")?;
                if *refresh_outcome_unknown {
                    write!(f, "; the refresh may have been done without its answer arriving")?;
                }
                Ok(())
            }
            OAuthError::InvalidAnswer(why) => write!(f, "the authorization server's answer: {why}"),
            OAuthError::Store(e) => write!(
                f,
                "the rotated refresh token could not be saved ({e}); it is held in memory and saving is tried again"
            ),
            OAuthError::NoRefreshToken => {
                write!(f, "no refresh token in the store: grant access first (the oauth_login example)")
            }
            OAuthError::Revoked => write!(f, "this client's OAuth grant was revoked"),
        }
    }
}

impl std::error::Error for OAuthError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            OAuthError::Transport { source, .. } => Some(&**source),
            OAuthError::Store(e) => Some(&**e),
            _ => None,
        }
    }
}
