//! Which hosts may receive a request (and so the API key): Meraki's, and the configured one.
//! Used for redirects and for `Link` pagination targets alike.

use reqwest::{Method, StatusCode, Url};

/// Meraki's API domains; their subdomains (shards such as `n123.meraki.com`) count too.
const MERAKI_DOMAINS: &[&str] = &[
    "meraki.com",
    "meraki.ca",
    "meraki.cn",
    "meraki.in",
    "gov-meraki.com",
];

/// Hosts trusted with requests.
#[derive(Debug, Clone)]
pub(crate) struct TrustedHosts {
    base_host: String,
    /// Plain `http` is trusted only where the configured base URL uses it (local servers).
    allow_http: bool,
    extra: Vec<String>,
}

impl TrustedHosts {
    pub(crate) fn new(base_url: &Url, extra: Vec<String>) -> Self {
        Self {
            base_host: base_url.host_str().unwrap_or_default().to_ascii_lowercase(),
            allow_http: base_url.scheme() == "http",
            extra: extra.into_iter().map(|h| h.to_ascii_lowercase()).collect(),
        }
    }

    pub(crate) fn trusts(&self, url: &Url) -> bool {
        let scheme_ok = match url.scheme() {
            "https" => true,
            "http" => self.allow_http,
            _ => false,
        };
        let Some(host) = url.host_str() else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        scheme_ok
            && (host == self.base_host
                || self.extra.contains(&host)
                || MERAKI_DOMAINS
                    .iter()
                    .any(|d| host == *d || host.strip_suffix(d).is_some_and(|p| p.ends_with('.'))))
    }
}

/// Host and port of a URL, for messages.
pub(crate) fn authority(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(h), Some(p)) => format!("{h}:{p}"),
        (Some(h), None) => h.to_owned(),
        _ => url.as_str().chars().take(60).collect(),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn trusts_meraki_and_the_base_host_only() {
        let hosts = TrustedHosts::new(&url("https://api.meraki.com/api/v1"), vec![]);
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

        let local = TrustedHosts::new(&url("http://127.0.0.1:8080/api/v1"), vec![]);
        assert!(local.trusts(&url("http://127.0.0.1:9999/x")));
        assert!(!local.trusts(&url("http://127.0.0.2:8080/x")));
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
