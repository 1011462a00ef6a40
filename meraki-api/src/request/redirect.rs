//! Which hosts may receive a request (and so the API key): Meraki's, and the configured one.
//! Used for redirects and for `Link` pagination targets alike; and following a redirect.

use reqwest::header::{HeaderMap, LOCATION};
use reqwest::{Method, Request, StatusCode, Url};

use crate::net::authority;

/// Most redirects followed for one request.
const MAX_REDIRECTS: u32 = 10;

/// Meraki's API domains; their subdomains (shards such as `n123.meraki.com`) count too.
const MERAKI_DOMAINS: &[&str] = &[
    "meraki.com",
    "meraki.ca",
    "meraki.cn",
    "meraki.in",
    "gov-meraki.com",
];

/// Hosts trusted with requests (and so the key): over `https` Meraki's, the base URL's and
/// those the caller added; over `http` only the base URL's host, where the base URL is `http`
/// and on this machine (or the caller allowed insecure http for it). Never `http` from an
/// `https` base.
#[derive(Debug, Clone)]
pub(crate) struct TrustedHosts {
    base_host: String,
    /// The base URL is `http` and may stay so (loopback, or allowed as insecure).
    allow_http: bool,
    extra: Vec<String>,
}

impl TrustedHosts {
    pub(crate) fn new(base_url: &Url, extra: Vec<String>, insecure_http: bool) -> Self {
        Self {
            base_host: base_url.host_str().unwrap_or_default().to_ascii_lowercase(),
            allow_http: base_url.scheme() == "http"
                && (insecure_http || crate::net::is_loopback(base_url)),
            extra: extra.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    pub(crate) fn trusts(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        if url.scheme() == "http" {
            // Cleartext only to the base URL's own (local) host, never to a Meraki host.
            return self.allow_http && host == self.base_host;
        }
        url.scheme() == "https"
            && (host == self.base_host
                || self.extra.contains(&host)
                || MERAKI_DOMAINS
                    .iter()
                    .any(|d| host == *d || host.strip_suffix(d).is_some_and(|p| p.ends_with('.'))))
    }
}

pub(crate) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// The method to use after a redirect: 307/308 keep it (and the body); 303 turns it into
/// GET, as do 301/302 after a POST, as every browser and HTTP client does.
pub(crate) fn method_after(status: StatusCode, method: &Method) -> Method {
    match status.as_u16() {
        303 if *method != Method::HEAD => Method::GET,
        301 | 302 if *method == Method::POST => Method::GET,
        _ => method.clone(),
    }
}

/// The redirects one call has followed.
#[derive(Debug, Default)]
pub(crate) struct Redirects {
    followed: u32,
}

impl Redirects {
    /// The request to send next for a redirect answer, or why not: `Err(Some(host))` for a
    /// target that is not trusted, `Err(None)` when it cannot be followed (no `Location`,
    /// too many redirects).
    pub(crate) fn follow(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        answered_by: &Url,
        mut request: Request,
        trusted: &TrustedHosts,
    ) -> Result<Request, Option<String>> {
        self.followed += 1;
        if self.followed > MAX_REDIRECTS {
            return Err(None);
        }
        let location = headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or(None)?;
        let target = answered_by.join(location).map_err(|_| None)?;
        if !trusted.trusts(&target) {
            return Err(Some(authority(&target)));
        }
        let method = method_after(status, request.method());
        if method != *request.method() {
            *request.body_mut() = None;
            request.headers_mut().remove(reqwest::header::CONTENT_TYPE);
            request
                .headers_mut()
                .remove(reqwest::header::CONTENT_LENGTH);
        }
        *request.method_mut() = method;
        *request.url_mut() = target;
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn trusts_meraki_and_the_base_host_only() {
        let hosts = TrustedHosts::new(&url("https://api.meraki.com/api/v1"), vec![], false);
        assert!(hosts.trusts(&url("https://n123.meraki.com/api/v1/x")));
        assert!(hosts.trusts(&url("https://api.meraki.ca/api/v1/x")));
        assert!(hosts.trusts(&url("https://api.gov-meraki.com/api/v1/x")));
        assert!(!hosts.trusts(&url("https://evilmeraki.com/x")));
        assert!(!hosts.trusts(&url("https://meraki.com.evil.example/x")));
        assert!(
            !hosts.trusts(&url("http://n1.meraki.com/x")),
            "no downgrade to http"
        );
        assert!(!hosts.trusts(&url("https://127.0.0.2/x")));

        let local = TrustedHosts::new(&url("http://127.0.0.1:8080/api/v1"), vec![], false);
        assert!(local.trusts(&url("http://127.0.0.1:9999/x")));
        assert!(!local.trusts(&url("http://127.0.0.2:8080/x")));
        assert!(
            !local.trusts(&url("http://n2.meraki.com/x")),
            "no cleartext to Meraki's hosts from a local http base"
        );
        assert!(local.trusts(&url("https://n2.meraki.com/x")));

        // A Meraki host named over http is not trusted with http unless allowed as insecure.
        let named = url("http://n1.meraki.com:8080/api/v1");
        assert!(!TrustedHosts::new(&named, vec![], false).trusts(&named));
        let allowed = TrustedHosts::new(&named, vec![], true);
        assert!(allowed.trusts(&named));
        assert!(!allowed.trusts(&url("http://n2.meraki.com/x")));
    }

    #[test]
    fn methods_after_redirects() {
        let s = |c| StatusCode::from_u16(c).unwrap();
        assert_eq!(method_after(s(307), &Method::POST), Method::POST);
        assert_eq!(method_after(s(308), &Method::PUT), Method::PUT);
        assert_eq!(method_after(s(303), &Method::PUT), Method::GET);
        assert_eq!(method_after(s(302), &Method::POST), Method::GET);
        assert_eq!(method_after(s(301), &Method::DELETE), Method::DELETE);
    }
}
