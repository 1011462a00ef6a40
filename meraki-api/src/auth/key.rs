//! API keys and how they go on the wire.
//!
//! A key is held in [`ApiKey`], whose `Debug` and `Display` never show it; it reaches the
//! network only as a header value marked sensitive, so `reqwest`'s own `Debug` hides it too.

use std::fmt;

use reqwest::header::{HeaderName, HeaderValue, AUTHORIZATION};

/// The environment variable Meraki's tools read the key from.
pub const API_KEY_ENV: &str = "MERAKI_DASHBOARD_API_KEY";

/// A Dashboard API key. Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(zeroize::Zeroizing<String>);

/// Why a string was refused as an API key. Says what is wrong without repeating the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidApiKey {
    reason: String,
}

impl fmt::Display for InvalidApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid API key: {}", self.reason)
    }
}

impl std::error::Error for InvalidApiKey {}

impl ApiKey {
    /// Accepts a key of 40 hexadecimal characters, the form Meraki issues.
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidApiKey> {
        let key = zeroize::Zeroizing::new(key.into());
        let trimmed = key.trim();
        if trimmed.len() != 40 || !trimmed.bytes().all(|b| b.is_ascii_hexdigit()) {
            let non_hex = trimmed.chars().filter(|c| !c.is_ascii_hexdigit()).count();
            return Err(InvalidApiKey {
                reason: format!(
                    "expected 40 hexadecimal characters, got {} characters ({non_hex} not hexadecimal)",
                    trimmed.chars().count()
                ),
            });
        }
        Ok(Self(zeroize::Zeroizing::new(trimmed.to_owned())))
    }

    /// Accepts any key that can travel in an HTTP header, for keys of another form
    /// (a test server's, or a future format). Opt-out of [`ApiKey::new`]'s check.
    pub fn new_unchecked(key: impl Into<String>) -> Result<Self, InvalidApiKey> {
        let key = zeroize::Zeroizing::new(key.into());
        let trimmed = key.trim();
        if trimmed.is_empty() || HeaderValue::from_str(trimmed).is_err() {
            return Err(InvalidApiKey {
                reason: "empty, or has characters an HTTP header cannot carry".into(),
            });
        }
        Ok(Self(zeroize::Zeroizing::new(trimmed.to_owned())))
    }

    /// The key itself, for code that must hand it on. Take care not to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The header that carries this key under `scheme`, marked sensitive.
    pub(crate) fn header(&self, scheme: AuthScheme) -> (HeaderName, HeaderValue) {
        let (name, value) = match scheme {
            AuthScheme::Bearer => (
                AUTHORIZATION,
                zeroize::Zeroizing::new(format!("Bearer {}", self.expose())),
            ),
            AuthScheme::CiscoMerakiApiKey => (
                HeaderName::from_static("x-cisco-meraki-api-key"),
                self.0.clone(),
            ),
        };
        let mut value = HeaderValue::from_str(&value).expect("checked when the key was made");
        value.set_sensitive(true);
        (name, value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// How the key is sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuthScheme {
    /// `Authorization: Bearer <key>`, what Meraki's current SDKs send.
    #[default]
    Bearer,
    /// `X-Cisco-Meraki-API-Key: <key>`, the older header.
    CiscoMerakiApiKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn accepts_forty_hex_characters() {
        assert_eq!(ApiKey::new(KEY).unwrap().expose(), KEY);
        assert_eq!(ApiKey::new(format!(" {KEY}\n")).unwrap().expose(), KEY);
    }

    #[test]
    fn refuses_other_shapes_without_echoing_them() {
        for bad in [
            "",
            "abc",
            &KEY[..39],
            &format!("{KEY}0"),
            &KEY.replace('a', "z"),
        ] {
            let err = ApiKey::new(bad).unwrap_err().to_string();
            assert!(err.contains("40 hexadecimal"), "{err}");
            if !bad.is_empty() {
                assert!(!err.contains(bad), "error repeats the key: {err}");
            }
        }
        assert!(ApiKey::new_unchecked("test-key").is_ok());
        assert!(ApiKey::new_unchecked("bad\nkey").is_err());
    }

    #[test]
    fn never_printed() {
        let key = ApiKey::new(KEY).unwrap();
        assert_eq!(format!("{key:?}"), "ApiKey(<redacted>)");
        let (name, value) = key.header(AuthScheme::Bearer);
        assert_eq!(name, AUTHORIZATION);
        assert!(value.is_sensitive());
        assert!(!format!("{value:?}").contains(KEY));
        let (name, _) = key.header(AuthScheme::CiscoMerakiApiKey);
        assert_eq!(name.as_str(), "x-cisco-meraki-api-key");
    }
}
