//! A local OAuth 2.0 authorization server ([`AuthorizationServer`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde_json::json;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::auth::oauth::OAuthApp;
use crate::secrets::Secret;

/// The client id [`AuthorizationServer::start`] registers.
pub const TEST_CLIENT_ID: &str = "meraki-api-test-app";
/// Its client secret.
pub const TEST_CLIENT_SECRET: &str = "test-client-secret-not-a-real-one";

/// Configures an [`AuthorizationServer`].
#[derive(Debug, Clone)]
pub struct AuthorizationServerBuilder {
    access_lifetime: Duration,
    token_delay: Duration,
}

impl AuthorizationServerBuilder {
    /// Every answer of the token endpoint is held back this long, after the server has acted
    /// on the request (a refresh has rotated the token by the time its answer leaves).
    pub fn token_delay(mut self, delay: Duration) -> Self {
        self.token_delay = delay;
        self
    }

    /// How long access tokens live (default 60 minutes, Meraki's).
    pub fn access_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.access_lifetime = lifetime;
        self
    }

    /// Starts the server on 127.0.0.1.
    pub async fn start(self) -> AuthorizationServer {
        let state = Arc::new(Mutex::new(State {
            access_lifetime: self.access_lifetime,
            ..State::default()
        }));
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(Responder {
                state: state.clone(),
                token_delay: self.token_delay,
            })
            .mount(&server)
            .await;
        AuthorizationServer { server, state }
    }
}

/// A local OAuth 2.0 authorization server with Meraki's rules, on 127.0.0.1: authorization
/// codes valid 10 minutes and once, access tokens that expire, refresh tokens that rotate on
/// every refresh (the old one revoked at once, `invalid_grant` when used again), revocation
/// (RFC 7009, which ends the grant's access tokens too), HTTP Basic client authentication.
///
/// ```no_run
/// # async fn demo() {
/// use meraki_api::oauth::{MemoryTokenStore, OAuthCredentials};
/// use meraki_api::test_util::{AuthorizationServer, SimulatedDashboard};
/// let auth = AuthorizationServer::start().await;
/// let dashboard = SimulatedDashboard::builder()
///     .organization("549236", 3, 1)
///     .oauth(&auth) // every request needs a valid access token
///     .start()
///     .await;
/// let store = MemoryTokenStore::new(auth.grant(&["dashboard:general:config:read"]));
/// let client = dashboard
///     .client_builder_without_key()
///     .oauth(OAuthCredentials::new(auth.app(), store))
///     .build()
///     .unwrap();
/// # }
/// ```
pub struct AuthorizationServer {
    server: MockServer,
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for AuthorizationServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizationServer")
            .field("uri", &self.server.uri())
            .field("counts", &self.counts())
            .finish()
    }
}

/// What the authorization server has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct AuthorizationCounts {
    /// Codes exchanged for tokens.
    pub code_exchanges: u64,
    /// Refreshes granted.
    pub refreshes: u64,
    /// Grants refused with `invalid_grant` (a used, revoked or unknown code or refresh token).
    pub invalid_grants: u64,
    /// Requests refused for bad client authentication.
    pub invalid_clients: u64,
    /// Revocation requests.
    pub revocations: u64,
}

#[derive(Default)]
struct State {
    access_lifetime: Duration,
    next: u64,
    codes: HashMap<String, Code>,
    /// Refresh token -> its grant, and whether it is still the grant's current one.
    refresh_tokens: HashMap<String, (u64, bool)>,
    /// Access token -> its grant and expiry.
    access_tokens: HashMap<String, (u64, Instant)>,
    ended_grants: std::collections::HashSet<u64>,
    /// The scopes each grant was given, space-separated.
    scopes: HashMap<u64, String>,
    counts: AuthorizationCounts,
}

struct Code {
    redirect_uri: String,
    scope: String,
    issued: Instant,
}

impl State {
    fn token(&mut self, kind: &str) -> String {
        self.next += 1;
        format!("{kind}{}{:016x}", self.next, fastrand::u64(..))
    }

    /// A new grant's first refresh token.
    fn grant(&mut self, scope: String) -> String {
        self.next += 1;
        let grant = self.next;
        self.scopes.insert(grant, scope);
        let refresh = self.token("rt_");
        self.refresh_tokens.insert(refresh.clone(), (grant, true));
        refresh
    }

    fn tokens_for(&mut self, grant: u64) -> serde_json::Value {
        let access = self.token("at_");
        let refresh = self.token("rt_");
        self.access_tokens.insert(
            access.clone(),
            (grant, Instant::now() + self.access_lifetime),
        );
        self.refresh_tokens.insert(refresh.clone(), (grant, true));
        json!({
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_lifetime.as_secs_f64().ceil() as u64,
            "refresh_token": refresh,
            "scope": self.scopes.get(&grant).cloned().unwrap_or_default(),
        })
    }

    fn accepts(&self, access: &str) -> bool {
        self.access_tokens
            .get(access)
            .is_some_and(|(grant, expires)| {
                Instant::now() < *expires && !self.ended_grants.contains(grant)
            })
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl AuthorizationServer {
    /// A server with Meraki's lifetimes and one registered app ([`TEST_CLIENT_ID`]).
    pub async fn start() -> Self {
        Self::builder().start().await
    }

    /// A server to configure.
    pub fn builder() -> AuthorizationServerBuilder {
        AuthorizationServerBuilder {
            access_lifetime: Duration::from_secs(3600),
            token_delay: Duration::ZERO,
        }
    }

    /// The token endpoint: `http://127.0.0.1:PORT/oauth/token`.
    pub fn token_url(&self) -> String {
        format!("{}/oauth/token", self.server.uri())
    }

    /// The registered app, pointed at this server.
    pub fn app(&self) -> OAuthApp {
        OAuthApp::new(TEST_CLIENT_ID, TEST_CLIENT_SECRET)
            .and_then(|app| app.token_url(&self.token_url()))
            .expect("a loopback token URL is accepted")
    }

    /// A grant of `scopes` made as if an admin had approved it and the code was exchanged:
    /// its refresh token.
    pub fn grant<S: AsRef<str>>(&self, scopes: &[S]) -> Secret {
        let scope = scopes
            .iter()
            .map(AsRef::as_ref)
            .collect::<Vec<_>>()
            .join(" ");
        Secret::new(lock(&self.state).grant(scope))
    }

    /// Whether `refresh_token` is the current (usable) refresh token of a live grant.
    pub fn is_current(&self, refresh_token: &str) -> bool {
        self.current(refresh_token)
    }

    /// Whether this server ever issued `refresh_token` (current or rotated since).
    pub fn issued(&self, refresh_token: &str) -> bool {
        lock(&self.state).refresh_tokens.contains_key(refresh_token)
    }

    fn current(&self, refresh_token: &str) -> bool {
        let state = lock(&self.state);
        state
            .refresh_tokens
            .get(refresh_token)
            .is_some_and(|(grant, current)| *current && !state.ended_grants.contains(grant))
    }

    /// Whether `access_token` would be accepted now.
    pub fn accepts(&self, access_token: &str) -> bool {
        lock(&self.state).accepts(access_token)
    }

    /// Makes every access token issued so far invalid (as after a key rotation on the server):
    /// the next call with one meets `401`.
    pub fn expire_access_tokens(&self) {
        lock(&self.state).access_tokens.clear();
    }

    /// Ends every grant, as an admin removing the app does: refresh tokens and access tokens
    /// stop working; the app is not told.
    pub fn remove_app(&self) {
        let mut state = lock(&self.state);
        let grants: Vec<u64> = state.refresh_tokens.values().map(|(g, _)| *g).collect();
        state.ended_grants.extend(grants);
    }

    /// What the server has seen.
    pub fn counts(&self) -> AuthorizationCounts {
        lock(&self.state).counts.clone()
    }

    /// A wiremock matcher for requests carrying a valid access token, for your own API mocks.
    pub fn valid_access_token(&self) -> ValidAccessToken {
        ValidAccessToken {
            state: self.state.clone(),
        }
    }
}

/// Matches requests whose `Authorization: Bearer` token the server accepts now.
#[derive(Clone)]
pub struct ValidAccessToken {
    state: Arc<Mutex<State>>,
}

impl std::fmt::Debug for ValidAccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ValidAccessToken")
    }
}

impl ValidAccessToken {
    /// Whether `request` carries an access token the server accepts now.
    pub fn check(&self, request: &Request) -> bool {
        let bearer = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        bearer.is_some_and(|token| lock(&self.state).accepts(token))
    }
}

impl wiremock::Match for ValidAccessToken {
    fn matches(&self, request: &Request) -> bool {
        self.check(request)
    }
}

struct Responder {
    state: Arc<Mutex<State>>,
    token_delay: Duration,
}

fn refuse(status: u16, error: &str, description: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({ "error": error, "error_description": description }))
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let answer = self.answer(request);
        if request.url.path() == "/oauth/token" && !self.token_delay.is_zero() {
            answer.set_delay(self.token_delay)
        } else {
            answer
        }
    }
}

impl Responder {
    fn answer(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.state);
        let form: HashMap<String, String> = if request.method.as_str() == "GET" {
            request.url.query_pairs().into_owned().collect()
        } else {
            form_urlencoded::parse(&request.body).into_owned().collect()
        };
        let field = |name: &str| form.get(name).map(String::as_str).unwrap_or("");
        match (request.method.as_str(), request.url.path()) {
            // The admin approves at once: back to the redirect URI with a code.
            ("GET", "/oauth/authorize") => {
                if field("client_id") != TEST_CLIENT_ID || field("response_type") != "code" {
                    return refuse(400, "invalid_request", "unknown client or response type");
                }
                let Ok(mut back) = reqwest::Url::parse(field("redirect_uri")) else {
                    return refuse(400, "invalid_request", "redirect_uri is not a URL");
                };
                let code = state.token("code_");
                state.codes.insert(
                    code.clone(),
                    Code {
                        redirect_uri: field("redirect_uri").to_owned(),
                        scope: field("scope").to_owned(),
                        issued: Instant::now(),
                    },
                );
                back.query_pairs_mut()
                    .append_pair("code", &code)
                    .append_pair("state", field("state"));
                ResponseTemplate::new(302).insert_header("location", back.as_str())
            }
            ("POST", "/oauth/token") | ("POST", "/oauth/revoke") => {
                if !client_authenticated(request) {
                    state.counts.invalid_clients += 1;
                    return refuse(401, "invalid_client", "client authentication failed");
                }
                if request.url.path() == "/oauth/revoke" {
                    state.counts.revocations += 1;
                    if let Some((grant, _)) = state.refresh_tokens.get(field("token")).copied() {
                        state.ended_grants.insert(grant);
                    }
                    return ResponseTemplate::new(200);
                }
                match field("grant_type") {
                    "authorization_code" => {
                        let code = state.codes.remove(field("code")).filter(|c| {
                            c.redirect_uri == field("redirect_uri")
                                && c.issued.elapsed() < Duration::from_secs(600)
                        });
                        let Some(code) = code else {
                            state.counts.invalid_grants += 1;
                            return refuse(400, "invalid_grant", "code invalid, used or expired");
                        };
                        state.counts.code_exchanges += 1;
                        state.next += 1;
                        let grant = state.next;
                        state.scopes.insert(grant, code.scope);
                        ResponseTemplate::new(200).set_body_json(state.tokens_for(grant))
                    }
                    "refresh_token" => {
                        let token = field("refresh_token").to_owned();
                        let live = match state.refresh_tokens.get(&token).copied() {
                            Some((grant, true)) if !state.ended_grants.contains(&grant) => {
                                Some(grant)
                            }
                            _ => None,
                        };
                        let Some(grant) = live else {
                            state.counts.invalid_grants += 1;
                            return refuse(
                                400,
                                "invalid_grant",
                                "refresh token revoked or unknown",
                            );
                        };
                        // Rotation: the old refresh token is revoked at once.
                        state.refresh_tokens.insert(token, (grant, false));
                        state.counts.refreshes += 1;
                        ResponseTemplate::new(200).set_body_json(state.tokens_for(grant))
                    }
                    _ => refuse(
                        400,
                        "unsupported_grant_type",
                        "authorization_code or refresh_token",
                    ),
                }
            }
            _ => ResponseTemplate::new(404),
        }
    }
}

fn client_authenticated(request: &Request) -> bool {
    let expected = format!(
        "Basic {}",
        base64(format!("{TEST_CLIENT_ID}:{TEST_CLIENT_SECRET}").as_bytes())
    );
    request
        .headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == expected)
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_the_rfc_examples() {
        for (input, output) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(super::base64(input.as_bytes()), output);
        }
    }
}
