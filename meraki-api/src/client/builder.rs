//! Building a [`Client`]: key, base URL, timeout, caller identification, retries and limits.
//! Every setting is checked here; a bad one is an [`Error::Config`] naming it.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::HeaderValue;
use reqwest::Url;

use super::user_agent::user_agent;
use crate::auth::oauth::{OAuthCredentials, TokenSource};
use crate::auth::{ApiKey, AuthScheme, Credentials, API_KEY_ENV};
use crate::error::ConfigError;
use crate::net::is_loopback;
use crate::pacing::directory::{DirectorySnapshot, DEFAULT_CAPACITY};
use crate::pacing::RateLimitConfig;
use crate::request::retry::RetryPolicy;
use crate::request::state::{ClientState, Settings};
use crate::secrets::redact_url;
use crate::tls::tls_config;
use crate::workflows::owners::{LookupSettings, Resolver};
use crate::{Client, Error};

/// The environment variable that overrides the base URL.
pub const BASE_URL_ENV: &str = "MERAKI_DASHBOARD_API_BASE_URL";

/// Meraki's global API endpoint. Regional ones: `https://api.meraki.ca/api/v1`,
/// `https://api.meraki.cn/api/v1`, `https://api.meraki.in/api/v1`,
/// `https://api.gov-meraki.com/api/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.meraki.com/api/v1";

/// Builds a [`Client`]. Start from [`Client::builder`] or [`Client::from_env`]. Its `Debug`
/// shows no key and no proxy credentials.
#[derive(Clone)]
pub struct ClientBuilder {
    api_key: Option<Result<ApiKey, ConfigError>>,
    pub(super) oauth: Option<Result<Arc<TokenSource>, ConfigError>>,
    base_url: String,
    timeout: Duration,
    caller: Option<String>,
    auth_scheme: AuthScheme,
    retry: RetryPolicy,
    rate_limit: RateLimitConfig,
    redirect_hosts: Vec<String>,
    resolve: LookupSettings,
    directory_capacity: usize,
    directory: Option<DirectorySnapshot>,
    dry_run: bool,
    http_client: Option<reqwest::Client>,
    proxy: Option<String>,
    root_certificates: Vec<Vec<u8>>,
    connect_timeout: Option<Duration>,
    gzip: bool,
    insecure_http: bool,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field(
                "api_key",
                &self
                    .api_key
                    .as_ref()
                    .map(|k| k.as_ref().map(|_| "<redacted>")),
            )
            .field(
                "oauth",
                &self
                    .oauth
                    .as_ref()
                    .map(|o| o.as_ref().map(|_| "<redacted>")),
            )
            .field("base_url", &self.base_url)
            .field("timeout", &self.timeout)
            .field("caller", &self.caller)
            .field("auth_scheme", &self.auth_scheme)
            .field("retry", &self.retry)
            .field("rate_limit", &self.rate_limit)
            .field("trusted_hosts", &self.redirect_hosts)
            .field("dry_run", &self.dry_run)
            .field("http_client", &self.http_client.is_some())
            .field("proxy", &self.proxy.as_deref().map(redact_url))
            .field("root_certificates", &self.root_certificates.len())
            .field("connect_timeout", &self.connect_timeout)
            .field("gzip", &self.gzip)
            .field("allow_insecure_http", &self.insecure_http)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            oauth: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(60),
            caller: None,
            auth_scheme: AuthScheme::default(),
            retry: RetryPolicy::default(),
            rate_limit: RateLimitConfig::default(),
            redirect_hosts: Vec::new(),
            resolve: LookupSettings::default(),
            directory_capacity: DEFAULT_CAPACITY,
            directory: None,
            dry_run: false,
            http_client: None,
            proxy: None,
            root_certificates: Vec::new(),
            connect_timeout: None,
            gzip: true,
            insecure_http: false,
        }
    }
}

impl ClientBuilder {
    /// The API key; must be 40 hexadecimal characters (see [`ClientBuilder::api_key_unchecked`]).
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key =
            Some(ApiKey::new(key).map_err(|e| ConfigError::new("api_key", e.to_string())));
        self
    }

    /// An API key of any form an HTTP header can carry, skipping the 40-hex check.
    pub fn api_key_unchecked(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(
            ApiKey::new_unchecked(key).map_err(|e| ConfigError::new("api_key", e.to_string())),
        );
        self
    }

    /// Authenticates with OAuth 2.0 access tokens instead of an API key, refreshing them as
    /// they expire ([`crate::oauth`]). Clients built from clones of this builder share one
    /// token source (one refresh at a time among them).
    pub fn oauth(mut self, credentials: OAuthCredentials) -> Self {
        self.oauth = Some(Ok(Arc::new(TokenSource::new(credentials))));
        self
    }

    /// Base URL including `/api/v1`. It must be `https`, except on this machine (`localhost`,
    /// 127.0.0.0/8, `::1`), where `http` serves local stand-ins; see
    /// [`ClientBuilder::allow_insecure_http`].
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Sends the key in cleartext to an `http` base URL beyond this machine. Off by default,
    /// and then such a base URL is a configuration error: anyone on the path could read the
    /// key. Redirects and `Link` targets never lead from `https` to `http`, nor to `http`
    /// beyond the base URL's own host, whatever this says.
    pub fn allow_insecure_http(mut self, on: bool) -> Self {
        self.insecure_http = on;
        self
    }

    /// Timeout for each HTTP attempt (default 60 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Identifies your application in the User-Agent, as Meraki asks integrations to:
    /// `"ApplicationName/1.0 VendorName"`.
    pub fn caller(mut self, caller: impl Into<String>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// How the key is sent (default `Authorization: Bearer`).
    pub fn auth_scheme(mut self, scheme: AuthScheme) -> Self {
        self.auth_scheme = scheme;
        self
    }

    /// Retry policy for 429s, 5xx and transport failures.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Client-side rate limiting.
    pub fn rate_limit(mut self, config: RateLimitConfig) -> Self {
        self.rate_limit = config;
        self
    }

    /// Another host that redirects and `Link` targets may point to (besides Meraki's hosts
    /// and the base URL's host).
    pub fn trust_host(mut self, host: impl Into<String>) -> Self {
        self.redirect_hosts.push(host.into());
        self
    }

    /// Whether the first request for a network or device of unknown organization looks its
    /// organization up (`GET /networks/{id}` or `GET /devices/{serial}`, default on), so that
    /// it is paced by that organization's rate limit. Off, such requests share the
    /// conservative bucket of [`RateLimitConfig::unresolved_rate`] unless the directory knows
    /// them ([`Client::directory`]).
    pub fn organization_lookups(mut self, on: bool) -> Self {
        self.resolve.lookups = on;
        self
    }

    /// Whether an organization found by a lookup for the first time gets its networks (and,
    /// after a device lookup, its devices) listed at once, up to `max_pages` pages of 1,000
    /// each (default on, 10 pages), so that its other networks and devices need no lookup.
    /// The listings count against that organization's rate limit like any request.
    pub fn list_looked_up_organizations(mut self, on: bool, max_pages: usize) -> Self {
        self.resolve.list_organizations = on;
        self.resolve.listing_pages = max_pages;
        self
    }

    /// How many lookups run side by side (default 1). A lookup cannot know its id's
    /// organization before it answers, so lookups at once of ids of one organization are
    /// spent requests against its budget: one at a time costs one lookup per organization
    /// (the listing that follows teaches the rest) but discovers organizations one after
    /// another. Raise it when calls for many organizations start at once over a slow link
    /// (BENCHMARKS.md, scenario 12).
    pub fn lookups_at_once(mut self, lookups: usize) -> Self {
        self.resolve.lookups_at_once = lookups;
        self
    }

    /// Most networks, and as many devices, whose organization the client remembers (default
    /// 200,000 each; those met least recently are forgotten first).
    pub fn directory_capacity(mut self, entries: usize) -> Self {
        self.directory_capacity = entries;
        self
    }

    /// Starts with what an earlier run knew ([`crate::directory::Directory::snapshot`]).
    pub fn directory(mut self, snapshot: DirectorySnapshot) -> Self {
        self.directory = Some(snapshot);
        self
    }

    /// Dry-run mode: only `GET`, `HEAD` and `OPTIONS` requests go out; any other request is
    /// checked as usual and then not sent, and the call returns [`Error::DryRun`] with what
    /// would have been sent (method, path, query, body). Like the Python SDK's `simulate`.
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Sends every request through this proxy (`http://proxy.corp:3128`, with
    /// `user:password@` if it needs it). Without it, the standard `HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY` and `NO_PROXY` environment variables are honoured.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(url.into());
        self
    }

    /// Also trusts the certificates of this PEM bundle, besides the system's roots: for
    /// proxies that inspect TLS with a corporate certificate authority.
    pub fn root_certificates_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// How long connecting may take (default: the timeout, at most 30 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Whether responses may come gzip-compressed (default on; the API's listings compress
    /// about tenfold).
    pub fn gzip(mut self, on: bool) -> Self {
        self.gzip = on;
        self
    }

    /// Sends requests with your own `reqwest::Client` (custom connection pools,
    /// instrumentation). The client's pacing, retries, redirect checks, key and User-Agent
    /// still apply to every request; [`ClientBuilder::timeout`], `proxy`,
    /// `root_certificates_pem`, `connect_timeout` and `gzip` are yours to set on it instead.
    ///
    /// Start from [`crate::reqwest_builder`]: it has this crate's TLS set up (a plain
    /// `reqwest::Client::builder()` has no TLS provider with the features this crate selects)
    /// and does not follow redirects, which must reach this client to be checked. What your
    /// client may not do is take the key elsewhere: the key then goes as
    /// `Authorization: Bearer` only (reqwest drops that header on a redirect to another host;
    /// [`AuthScheme::CiscoMerakiApiKey`] with your own client is a configuration error), and
    /// an answer from another URL than the one sent (your client followed a redirect) fails
    /// the call with [`Error::RedirectRefused`].
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }

    /// Builds the client. Fails with [`Error::Config`] naming what is wrong.
    pub fn build(self) -> Result<Client, Error> {
        if self.http_client.is_some() && self.auth_scheme != AuthScheme::Bearer {
            return Err(ConfigError::new(
                "auth_scheme",
                "with http_client the key goes as `Authorization: Bearer` only: reqwest \
                 forwards other headers to wherever a redirect leads",
            )
            .into());
        }
        let credentials = match (self.api_key, self.oauth) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => return Err(Error::Config(e)),
            (Some(Ok(_)), Some(Ok(_))) => {
                return Err(ConfigError::new(
                    "oauth",
                    "both an API key and OAuth credentials: give one",
                )
                .into())
            }
            (Some(Ok(key)), None) => {
                let (name, value) = key.header(self.auth_scheme);
                Credentials::Key(name, value)
            }
            (None, Some(Ok(source))) => {
                if self.auth_scheme != AuthScheme::Bearer {
                    return Err(ConfigError::new(
                        "auth_scheme",
                        "OAuth access tokens go as `Authorization: Bearer` only",
                    )
                    .into());
                }
                Credentials::OAuth(source)
            }
            (None, None) => {
                return Err(Error::Config(ConfigError::new(
                    "api_key",
                    format!(
                        "no API key: set {API_KEY_ENV} (or {}, {} and {}), or call \
                         ClientBuilder::api_key or ClientBuilder::oauth",
                        crate::auth::oauth::CLIENT_ID_ENV,
                        crate::auth::oauth::CLIENT_SECRET_ENV,
                        crate::auth::oauth::REFRESH_TOKEN_FILE_ENV
                    ),
                )))
            }
        };
        let base = self.base_url.trim_end_matches('/');
        let url = Url::parse(base)
            .map_err(|e| ConfigError::new("base_url", format!("`{base}` is not a URL: {e}")))?;
        let shown = redact_url(base);
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::Config(ConfigError::new(
                "base_url",
                format!("`{shown}` must be an http(s) URL with a host"),
            )));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Error::Config(ConfigError::new(
                "base_url",
                format!("`{shown}` must not carry credentials: the key authenticates"),
            )));
        }
        if url.scheme() == "http" && !is_loopback(&url) && !self.insecure_http {
            return Err(Error::Config(ConfigError::new(
                "base_url",
                format!(
                    "`{shown}` is plain http beyond this machine, where anyone on the path \
                     could read the API key: use https (or allow_insecure_http(true))"
                ),
            )));
        }
        let user_agent = user_agent(self.caller.as_deref())?;
        self.rate_limit.validate()?;
        self.retry.validate()?;
        if self.resolve.lookups_at_once == 0 {
            return Err(ConfigError::new("lookups_at_once", "must be at least 1").into());
        }
        if self.directory_capacity == 0 {
            return Err(ConfigError::new("directory_capacity", "must be at least 1").into());
        }
        if self.resolve.list_organizations && self.resolve.listing_pages == 0 {
            return Err(ConfigError::new(
                "list_looked_up_organizations",
                "max_pages must be at least 1 (or turn listings off)",
            )
            .into());
        }

        let user_agent = HeaderValue::from_str(&user_agent).expect("validated characters");
        let own_client = self.http_client.is_none();
        let http = match self.http_client {
            Some(client) => {
                let ours = [
                    ("proxy", self.proxy.is_some()),
                    ("root_certificates_pem", !self.root_certificates.is_empty()),
                    ("connect_timeout", self.connect_timeout.is_some()),
                ];
                if let Some((setting, _)) = ours.iter().find(|(_, set)| *set) {
                    return Err(ConfigError::new(
                        setting,
                        "set it on the reqwest::Client given to http_client",
                    )
                    .into());
                }
                client
            }
            None => {
                let mut builder = reqwest::Client::builder()
                    .timeout(self.timeout)
                    .connect_timeout(
                        self.connect_timeout
                            .unwrap_or(self.timeout.min(Duration::from_secs(30))),
                    )
                    // Redirects are followed by the client's transport, which checks the
                    // target first.
                    .redirect(reqwest::redirect::Policy::none())
                    .gzip(self.gzip)
                    .tls_backend_preconfigured(tls_config(&self.root_certificates)?);
                if let Some(proxy) = &self.proxy {
                    let proxy = reqwest::Proxy::all(proxy.as_str()).map_err(|e| {
                        let shown = redact_url(proxy);
                        ConfigError::new("proxy", format!("`{shown}`: {e}"))
                    })?;
                    builder = builder.proxy(proxy);
                }
                builder
                    .build()
                    .map_err(|e| ConfigError::new("http client", e.to_string()))?
            }
        };
        let settings = Settings {
            callers_client: !own_client,
            credentials,
            user_agent,
            retry: self.retry,
            rate_limit: self.rate_limit,
            extra_hosts: self.redirect_hosts,
            insecure_http: self.insecure_http,
            resolver: Arc::new(Resolver::new(self.resolve)),
            directory_capacity: self.directory_capacity,
            dry_run: self.dry_run,
            // A caller's own client keeps its own timeout.
            attempt_timeout: own_client.then_some(self.timeout),
        };
        let state = ClientState::new(&url, settings);
        if let Some(snapshot) = &self.directory {
            state.directory().restore(snapshot);
        }
        Ok(Client::new_with_client(base, http, state))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn build_errors_are_clear_and_never_show_the_key() {
        let err = Client::builder().build().unwrap_err().to_string();
        assert!(err.contains("MERAKI_DASHBOARD_API_KEY"), "{err}");
        let err = Client::builder()
            .api_key("nothex")
            .build()
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("40 hexadecimal") && !err.contains("nothex"),
            "{err}"
        );
        let err = Client::builder()
            .api_key(KEY)
            .base_url("ftp://x")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("ftp://x"));
    }

    #[test]
    fn bad_settings_are_errors_naming_the_setting_not_panics() {
        let named = |builder: ClientBuilder| match builder.api_key(KEY).build() {
            Err(Error::Config(e)) => e.setting,
            other => panic!("{other:?}"),
        };
        let limits = RateLimitConfig::default();
        assert_eq!(
            named(Client::builder().rate_limit(limits.clone().per_organization(0.0, 10.0))),
            "rate_limit.per_org_rate"
        );
        assert_eq!(
            named(Client::builder().rate_limit(limits.clone().global(f64::NAN, 100.0))),
            "rate_limit.global_rate"
        );
        assert_eq!(
            named(Client::builder().rate_limit(limits.unresolved(5.0, 0.5))),
            "rate_limit.unresolved_burst"
        );
        assert_eq!(
            named(Client::builder().retry(RetryPolicy::default().max_attempts(0))),
            "retry.max_attempts"
        );
        assert_eq!(named(Client::builder().base_url("/api/v1")), "base_url");
        assert_eq!(
            named(Client::builder().directory_capacity(0)),
            "directory_capacity"
        );
        assert_eq!(
            named(Client::builder().caller("Inventory-Sync Acme")),
            "caller"
        );
    }

    #[test]
    fn debug_output_never_shows_the_key() {
        let client = Client::builder().api_key(KEY).build().unwrap();
        let debug = format!("{client:?}");
        assert!(!debug.contains(KEY), "{debug}");
        assert!(!debug.contains(&KEY[..12]), "{debug}");
        assert!(debug.contains("api.meraki.com"));
    }
}
