//! The authorization-code grant and the token endpoint: authorize URL, code exchange,
//! refresh and revocation.

use std::fmt;
use std::time::Duration;

use reqwest::{StatusCode, Url};
use serde::Deserialize;

use crate::error::reach::{self, Reach};
use crate::error::{ConfigError, OAuthError};
use crate::net::is_loopback;
use crate::secrets::Secret;

/// Meraki's authorization server.
pub const DEFAULT_TOKEN_URL: &str = "https://as.meraki.com/oauth/token";

/// An integration: its client id and secret and the authorization server's endpoints.
#[derive(Clone)]
pub struct OAuthApp {
    client_id: String,
    client_secret: Secret,
    token_url: Url,
    authorize_url: Url,
    revoke_url: Url,
    http: reqwest::Client,
    timeout: Duration,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

impl OAuthApp {
    /// An integration using Meraki's authorization server ([`DEFAULT_TOKEN_URL`]).
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let client_id = client_id.into().trim().to_owned();
        let client_secret = Secret::new(client_secret.into().trim());
        if client_id.is_empty()
            || client_id.contains(':')
            || client_id.chars().any(char::is_control)
        {
            return Err(ConfigError::new(
                "oauth.client_id",
                "empty, or has `:` or control characters",
            ));
        }
        if client_secret.expose().is_empty() || client_secret.expose().chars().any(char::is_control)
        {
            return Err(ConfigError::new(
                "oauth.client_secret",
                "empty, or has control characters",
            ));
        }
        let http = crate::tls::reqwest_builder()?
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::new("oauth http client", e.to_string()))?;
        let mut app = Self {
            client_id,
            client_secret,
            token_url: Url::parse(DEFAULT_TOKEN_URL).expect("a valid URL"),
            authorize_url: Url::parse(DEFAULT_TOKEN_URL).expect("a valid URL"),
            revoke_url: Url::parse(DEFAULT_TOKEN_URL).expect("a valid URL"),
            http,
            timeout: Duration::from_secs(30),
        };
        app = app.token_url(DEFAULT_TOKEN_URL)?;
        Ok(app)
    }

    /// Another authorization server (a local one in tests): its token endpoint. The authorize
    /// and revoke endpoints are taken to sit beside it (`.../authorize`, `.../revoke`), as they
    /// do at Meraki. Must be https, or http to this machine's loopback.
    pub fn token_url(mut self, url: &str) -> Result<Self, ConfigError> {
        let shown = crate::secrets::redact_url(url);
        let token = Url::parse(url.trim()).map_err(|e| {
            ConfigError::new("oauth.token_url", format!("`{shown}` is not a URL: {e}"))
        })?;
        let secure = token.scheme() == "https" || (token.scheme() == "http" && is_loopback(&token));
        if !secure || token.host_str().is_none() {
            return Err(ConfigError::new(
                "oauth.token_url",
                format!(
                    "`{shown}` must be https (or http to 127.0.0.1): it receives the client secret"
                ),
            ));
        }
        if !token.username().is_empty() || token.password().is_some() {
            return Err(ConfigError::new(
                "oauth.token_url",
                format!("`{shown}` must not carry credentials"),
            ));
        }
        let beside = |name: &str| token.join(name).unwrap_or_else(|_| token.clone());
        self.authorize_url = beside("authorize");
        self.revoke_url = beside("revoke");
        self.token_url = token;
        Ok(self)
    }

    /// The HTTP client for the authorization server (default: this crate's TLS setup, no
    /// redirects followed, 30 s timeout per request).
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = client;
        self
    }

    /// The integration's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> &Url {
        &self.token_url
    }

    /// A request for an admin's grant: where to send the browser, with a fresh random `state`.
    /// `scopes` as Meraki names them (`dashboard:general:config:read`).
    pub fn authorization_request<S: AsRef<str>>(
        &self,
        redirect_uri: &str,
        scopes: &[S],
    ) -> Result<AuthorizationRequest, ConfigError> {
        let redirect = Url::parse(redirect_uri).map_err(|e| {
            ConfigError::new(
                "oauth.redirect_uri",
                format!("`{redirect_uri}` is not a URL: {e}"),
            )
        })?;
        let scopes: Vec<&str> = scopes.iter().map(AsRef::as_ref).collect();
        if let Some(bad) = scopes
            .iter()
            .find(|s| s.is_empty() || s.contains(char::is_whitespace))
        {
            return Err(ConfigError::new(
                "oauth.scopes",
                format!("`{bad}` is not a scope"),
            ));
        }
        let mut bytes = [0u8; 24];
        getrandom::fill(&mut bytes)
            .map_err(|e| ConfigError::new("oauth.state", format!("no randomness: {e}")))?;
        let state: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut url = self.authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", redirect.as_str())
            .append_pair("scope", &scopes.join(" "))
            .append_pair("state", &state);
        Ok(AuthorizationRequest {
            url,
            redirect_uri: redirect.to_string(),
            state,
        })
    }

    /// Exchanges the code an admin's grant returned for tokens (`grant_type=authorization_code`,
    /// HTTP Basic client authentication). The code is valid 10 minutes, once.
    pub async fn exchange_code(
        &self,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenSet, OAuthError> {
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
        ];
        let (answer, _) = self.post_token(&form, false).await?;
        answer.into_tokens(None)
    }

    /// Refreshes with `refresh_token`: a new access token and a new refresh token (the old one
    /// is revoked by the server at once). A client built with [`super::OAuthCredentials`] does this
    /// itself; this is for code that manages tokens on its own.
    pub async fn refresh(&self, refresh_token: &Secret) -> Result<TokenSet, OAuthError> {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
        ];
        let (answer, _) = self.post_token(&form, true).await?;
        answer.into_tokens(Some(refresh_token))
    }

    /// Revokes a refresh token (RFC 7009): the grant ends; a client using it gets
    /// [`OAuthError::InvalidGrant`] from then on.
    pub async fn revoke(&self, refresh_token: &Secret) -> Result<(), OAuthError> {
        let form = [
            ("token", refresh_token.expose()),
            ("token_type_hint", "refresh_token"),
        ];
        let response = self
            .post(&self.revoke_url, &form)
            .await
            .map_err(|e| OAuthError::transport(e, false))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.bytes().await.unwrap_or_default();
        Err(OAuthError::refused(status, &body))
    }

    async fn post(&self, url: &Url, form: &[(&str, &str)]) -> reqwest::Result<reqwest::Response> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        self.http
            .post(url.clone())
            .basic_auth(&self.client_id, Some(self.client_secret.expose()))
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(reqwest::header::ACCEPT, "application/json")
            .timeout(self.timeout)
            .body(body)
            .send()
            .await
    }

    /// One grant at the token endpoint. A request that never left (connection refused) and
    /// answers that say nothing was done (429, 503) are tried again; an answer lost after the
    /// request left is not: the server may have rotated the refresh token already.
    async fn post_token(
        &self,
        form: &[(&str, &str)],
        rotating: bool,
    ) -> Result<(TokenAnswer, u32), OAuthError> {
        const ATTEMPTS: u32 = 3;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let retry_in = Duration::from_millis(200 * u64::from(attempt));
            let response = match self.post(&self.token_url, form).await {
                Ok(response) => response,
                Err(e) => {
                    let reach = reach::of_transport(&e);
                    if reach == Reach::NotSent && attempt < ATTEMPTS {
                        tokio::time::sleep(retry_in).await;
                        continue;
                    }
                    return Err(OAuthError::transport(
                        e,
                        rotating && reach == Reach::Unknown,
                    ));
                }
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(body) => body,
                Err(e) => return Err(OAuthError::transport(e, rotating)),
            };
            // A refusal without acting is tried again; a 5xx to a refresh is not: the server
            // may have rotated the refresh token already.
            let again = match reach::of_status(status) {
                Some(Reach::Refused) => status == StatusCode::TOO_MANY_REQUESTS,
                Some(Reach::Unknown) => !rotating,
                _ => false,
            };
            if again && attempt < ATTEMPTS {
                tokio::time::sleep(retry_in).await;
                continue;
            }
            if !status.is_success() {
                return Err(OAuthError::refused(status, &body));
            }
            let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
                OAuthError::InvalidAnswer(format!(
                    "the token endpoint's answer is not a token: {e}"
                ))
            })?;
            return Ok((answer, attempt));
        }
    }
}

/// Where to send an admin to grant access, and the `state` the answer must carry back.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    url: Url,
    redirect_uri: String,
    state: String,
}

impl AuthorizationRequest {
    /// The authorize URL to open in a browser.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The redirect URI the code comes back to (give it to [`OAuthApp::exchange_code`]).
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The random `state` this request carries.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The code from the query of the redirect (`code=...&state=...`), once `state` is this
    /// request's (compared in constant time). An `error=` the server sent comes back as
    /// [`OAuthError::Refused`].
    pub fn code_from_query(&self, query: &str) -> Result<String, OAuthError> {
        let mut code = None;
        let mut state = None;
        let mut error = None;
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            match &*name {
                "code" => code = Some(value.into_owned()),
                "state" => state = Some(value.into_owned()),
                "error" => error = Some(value.into_owned()),
                _ => {}
            }
        }
        if let Some(error) = error {
            return Err(OAuthError::Refused {
                status: None,
                error,
                description: None,
            });
        }
        let state_ok = state
            .is_some_and(|s| crate::secrets::constant_time_eq(s.as_bytes(), self.state.as_bytes()));
        if !state_ok {
            return Err(OAuthError::InvalidAnswer(
                "the redirect's `state` is not this request's: not answered to this login".into(),
            ));
        }
        code.filter(|c| !c.is_empty())
            .ok_or_else(|| OAuthError::InvalidAnswer("the redirect carries no `code`".into()))
    }
}

/// Tokens from the token endpoint.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TokenSet {
    /// Sent as `Authorization: Bearer`.
    pub access_token: Secret,
    /// How long the access token lives from when it was issued (60 minutes at Meraki).
    pub expires_in: Duration,
    /// The refresh token: the only way to the next access token. Persist it.
    pub refresh_token: Secret,
    /// The scopes granted, space-separated.
    pub scope: Option<String>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    scope: Option<String>,
}

impl TokenAnswer {
    fn into_tokens(self, previous_refresh: Option<&Secret>) -> Result<TokenSet, OAuthError> {
        if let Some(kind) = &self.token_type {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(OAuthError::InvalidAnswer(format!(
                    "token type `{kind}`, not Bearer"
                )));
            }
        }
        let access = Secret::new(self.access_token);
        if access.expose().is_empty()
            || reqwest::header::HeaderValue::from_str(access.expose()).is_err()
        {
            return Err(OAuthError::InvalidAnswer(
                "the access token cannot travel in a header".into(),
            ));
        }
        // `expires_in` arrives as a number, sometimes as a numeric string; 60 minutes if absent.
        let seconds = match &self.expires_in {
            Some(serde_json::Value::Number(n)) => n.as_f64(),
            Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
            _ => Some(3600.0),
        }
        .filter(|s| s.is_finite() && *s >= 0.0)
        .ok_or_else(|| {
            OAuthError::InvalidAnswer("`expires_in` is not a number of seconds".into())
        })?;
        // A server that does not rotate keeps the refresh token it was given.
        let refresh_token = match (self.refresh_token, previous_refresh) {
            (Some(token), _) if !token.is_empty() => Secret::new(token),
            (_, Some(previous)) => previous.clone(),
            _ => {
                return Err(OAuthError::InvalidAnswer(
                    "no refresh token in the answer".into(),
                ))
            }
        };
        Ok(TokenSet {
            access_token: access,
            expires_in: Duration::from_secs_f64(seconds.min(1e9)),
            refresh_token,
            scope: self.scope,
        })
    }
}
