//! Building a [`Client`]: key, base URL, timeout, caller identification, retries and limits.

use std::time::Duration;

use progenitor_client::ClientInfo;
use reqwest::header::{HeaderMap, HeaderValue, USER_AGENT};
use reqwest::Url;

use crate::auth::{ApiKey, AuthScheme, API_KEY_ENV};
use crate::directory::{Directory, DirectorySnapshot, DEFAULT_CAPACITY};
use crate::error::ConfigError;
use crate::pacing::RateLimitConfig;
use crate::retry::RetryPolicy;
use crate::transport::{ClientState, ResolveSettings, Settings, Stats};
use crate::{Client, Error};

/// The environment variable that overrides the base URL.
pub const BASE_URL_ENV: &str = "MERAKI_DASHBOARD_API_BASE_URL";

/// Meraki's global API endpoint. Regional ones: `https://api.meraki.ca/api/v1`,
/// `https://api.meraki.cn/api/v1`, `https://api.meraki.in/api/v1`,
/// `https://api.gov-meraki.com/api/v1`.
pub const DEFAULT_BASE_URL: &str = "https://api.meraki.com/api/v1";

/// Builds a [`Client`]. Start from [`Client::builder`] or [`Client::from_env`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    api_key: Option<Result<ApiKey, ConfigError>>,
    base_url: String,
    timeout: Duration,
    caller: Option<String>,
    auth_scheme: AuthScheme,
    retry: RetryPolicy,
    rate_limit: RateLimitConfig,
    redirect_hosts: Vec<String>,
    resolve: ResolveSettings,
    directory_capacity: usize,
    directory: Option<DirectorySnapshot>,
    dry_run: bool,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            base_url: DEFAULT_BASE_URL.to_owned(),
            timeout: Duration::from_secs(60),
            caller: None,
            auth_scheme: AuthScheme::default(),
            retry: RetryPolicy::default(),
            rate_limit: RateLimitConfig::default(),
            redirect_hosts: Vec::new(),
            resolve: ResolveSettings::default(),
            directory_capacity: DEFAULT_CAPACITY,
            directory: None,
            dry_run: false,
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

    /// Base URL including `/api/v1`; `http` is allowed for local stand-ins.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
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

    /// Dry-run mode: `POST`, `PUT`, `PATCH` and `DELETE` requests are checked as usual and then
    /// not sent; each such call returns [`Error::DryRun`] with what would have been sent
    /// (method, path, query, body). Reads still go out. Like the Python SDK's `simulate`.
    pub fn dry_run(mut self, on: bool) -> Self {
        self.dry_run = on;
        self
    }

    /// Builds the client. Fails with [`Error::Config`] naming what is wrong.
    pub fn build(self) -> Result<Client, Error> {
        let key = match self.api_key {
            Some(Ok(key)) => key,
            Some(Err(e)) => return Err(Error::Config(e)),
            None => {
                return Err(Error::Config(ConfigError::new(
                    "api_key",
                    format!("no API key: set {API_KEY_ENV} or call ClientBuilder::api_key"),
                )))
            }
        };
        let base = self.base_url.trim_end_matches('/');
        let url = Url::parse(base)
            .map_err(|e| ConfigError::new("base_url", format!("`{base}` is not a URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(Error::Config(ConfigError::new(
                "base_url",
                format!("`{base}` must be an http(s) URL with a host"),
            )));
        }
        let user_agent = user_agent(self.caller.as_deref())?;
        self.rate_limit.validate()?;
        self.retry.validate()?;
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

        let mut headers = HeaderMap::new();
        let (name, value) = key.header(self.auth_scheme);
        headers.insert(name, value);
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&user_agent).expect("validated characters"),
        );
        // No-op if the application installed a crypto provider already.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(self.timeout)
            .connect_timeout(self.timeout.min(Duration::from_secs(30)))
            // Redirects are followed by the hooks, which check the target first.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ConfigError::new("http client", e.to_string()))?;
        let settings = Settings {
            retry: self.retry,
            rate_limit: self.rate_limit,
            extra_hosts: self.redirect_hosts,
            resolve: self.resolve,
            directory_capacity: self.directory_capacity,
            dry_run: self.dry_run,
            api_version: Client::api_version(),
        };
        let state = ClientState::new(&url, settings);
        if let Some(snapshot) = &self.directory {
            state.directory().restore(snapshot);
        }
        Ok(Client::new_with_client(base, http, state))
    }
}

/// `meraki-api-rust/<version> Caller/(<caller>)`, following Meraki's convention.
fn user_agent(caller: Option<&str>) -> Result<String, Error> {
    let library = concat!("meraki-api-rust/", env!("CARGO_PKG_VERSION"));
    let Some(caller) = caller else {
        return Ok(format!("{library} Caller/(unidentified)"));
    };
    let valid = caller.split_once(' ').is_some_and(|(app, vendor)| {
        let word = |s: &str| {
            !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        };
        app.split_once('/')
            .is_some_and(|(name, version)| word(name) && word(version))
            && word(vendor)
    });
    if !valid {
        return Err(Error::Config(ConfigError::new(
            "caller",
            format!("`{caller}` should look like `ApplicationName/1.0 VendorName`"),
        )));
    }
    Ok(format!("{library} Caller/({caller})"))
}

impl Client {
    /// A builder with Meraki's defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from `MERAKI_DASHBOARD_API_KEY` and, if set,
    /// `MERAKI_DASHBOARD_API_BASE_URL`.
    pub fn from_env() -> Result<Client, Error> {
        Self::builder_from_env().build()
    }

    /// A builder preset from the environment, to adjust before building.
    pub fn builder_from_env() -> ClientBuilder {
        let mut builder = Self::builder();
        if let Ok(key) = std::env::var(API_KEY_ENV) {
            builder = builder.api_key(key);
        }
        if let Ok(url) = std::env::var(BASE_URL_ENV) {
            if !url.trim().is_empty() {
                builder = builder.base_url(url.trim());
            }
        }
        builder
    }

    /// Requests, retries, 429s and lookups since this client was built (shared by its clones).
    pub fn stats(&self) -> Stats {
        self.inner().stats()
    }

    /// Which organization owns each network and device the client knows: what their
    /// requests are paced by. Shared by clones; register ids, or save and restore it between
    /// runs ([`Directory::snapshot`], [`ClientBuilder::directory`]).
    pub fn directory(&self) -> &Directory {
        self.inner().directory()
    }

    /// Lists an organization's networks and devices so that requests for any of them are
    /// paced by its rate limit from the first one, without lookups (the Python SDK's
    /// pre-loading). Reads up to the client's listing page limit of each. Returns how many
    /// networks and devices the directory knows afterwards.
    pub async fn learn_organization(&self, organization_id: &str) -> Result<usize, Error> {
        crate::owners::learn_organization(self.inner(), self.client(), organization_id).await?;
        Ok(self.directory().len())
    }

    /// This client in dry-run mode ([`ClientBuilder::dry_run`]), sharing its connections,
    /// limits, directory and counts.
    pub fn dry_run(&self) -> Client {
        let state = self.inner().with_dry_run(true);
        Client::new_with_client(self.baseurl(), self.client().clone(), state)
    }

    /// Whether writes are sent ([`ClientBuilder::dry_run`]).
    pub fn is_dry_run(&self) -> bool {
        self.inner().is_dry_run()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn user_agent_follows_meraki_convention() {
        assert_eq!(
            user_agent(Some("InventorySync/2.1 Acme")).unwrap(),
            format!(
                "meraki-api-rust/{} Caller/(InventorySync/2.1 Acme)",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(user_agent(None).unwrap().ends_with("Caller/(unidentified)"));
        for bad in [
            "",
            "NoVersion Acme",
            "App/1.0",
            "App/1.0 Ac me",
            "App/1.0 Acme\n",
        ] {
            assert!(user_agent(Some(bad)).is_err(), "{bad:?}");
        }
    }

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
        assert_eq!(named(Client::builder().caller("no version")), "caller");
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
