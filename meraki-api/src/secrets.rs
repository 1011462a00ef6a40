//! The one secret policy: what never leaves the client in print.
//!
//! Every printed form of something that may hold a secret goes through here: `Debug` and
//! `Display` of errors, reports and requests, tracing, excerpts of answers. Keys and tokens are
//! [`Secret`]s (wiped when dropped, never printed); JSON bodies have the values of
//! secret-looking fields replaced by `"***"` ([`mask_secrets`] for values, [`mask_json_text`]
//! for text that may not even parse); URLs lose their credentials ([`redact_url`]). What is
//! sent is never masked, and code that asks for a body explicitly gets it whole.

use std::fmt;

use serde_json::Value;

/// What a masked value shows instead.
pub const MASK: &str = "***";

/// A secret string (client secret, access or refresh token): wiped when dropped, never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(zeroize::Zeroizing<String>);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: impl Into<String>) -> Self {
        Self(zeroize::Zeroizing::new(value.into()))
    }

    /// The secret itself, for code that must hand it on. Take care not to log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Whether `a` and `b` are equal, in time that depends on their lengths only (secrets from the
/// network: webhook shared secrets, OAuth `state`).
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq as _;
    a.ct_eq(b).into()
}

/// Whether a field of this name holds a secret: names holding `psk`, `secret`, `password`,
/// `passphrase`, `passwd`, `community`, `token` or `credential`, and `key` or names ending in
/// `Key` (`apiKey`, `sharedKey`).
pub fn is_secret_name(name: &str) -> bool {
    const WORDS: [&str; 8] = [
        "psk",
        "secret",
        "password",
        "passphrase",
        "passwd",
        "community",
        "token",
        "credential",
    ];
    let lower = name.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.contains(w)) || lower == "key" || name.ends_with("Key")
}

/// `value` with the values of secret-looking fields (see `is_secret_name`) replaced by `"***"`,
/// at any depth. For printing bodies in errors and reports; what is sent is never masked.
pub fn mask_secrets(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(name, v)| {
                    let masked = if is_secret_name(name) && !v.is_null() {
                        Value::String(MASK.into())
                    } else {
                        mask_secrets(v)
                    };
                    (name.clone(), masked)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_secrets).collect()),
        other => other.clone(),
    }
}

/// JSON text with the values of secret-looking fields replaced by `"***"`, for text that may be
/// cut short or malformed (an answer that does not decode): read as JSON tokens as far as they
/// go, never failing.
pub fn mask_json_text(text: &str) -> String {
    mask_json_text_at(text, 0).0
}

/// [`mask_json_text`], and where byte `offset` of `text` lands in the masked text.
pub(crate) fn mask_json_text_at(text: &str, offset: usize) -> (String, usize) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut mapped = None;
    let mut i = 0;
    // The last string read, while it may still turn out to be a key.
    let mut last_string: Option<(usize, usize)> = None;
    while i < bytes.len() {
        if mapped.is_none() && i >= offset {
            mapped = Some(out.len());
        }
        match bytes[i] {
            b'"' => {
                let end = string_end(bytes, i);
                out.push_str(&text[i..end]);
                last_string = Some((i + 1, end.saturating_sub(1).max(i + 1)));
                i = end;
            }
            b':' => {
                out.push(':');
                i += 1;
                let is_secret = last_string
                    .take()
                    .and_then(|(start, end)| text.get(start..end))
                    .is_some_and(is_secret_name);
                if !is_secret {
                    continue;
                }
                while i < bytes.len() && bytes[i].is_ascii_whitespace() {
                    out.push(char::from(bytes[i]));
                    i += 1;
                }
                let end = value_end(bytes, i);
                if text.get(i..end) == Some("null") {
                    out.push_str("null");
                } else if end > i {
                    if mapped.is_none() && offset < end {
                        mapped = Some(out.len());
                    }
                    out.push('"');
                    out.push_str(MASK);
                    out.push('"');
                }
                i = end;
            }
            b => {
                if !b.is_ascii_whitespace() {
                    last_string = None;
                }
                // Whole characters only: `i` may sit inside a multi-byte one otherwise.
                let next = (i + 1..=bytes.len())
                    .find(|&j| text.is_char_boundary(j))
                    .unwrap_or(bytes.len());
                out.push_str(&text[i..next]);
                i = next;
            }
        }
    }
    let mapped = mapped.unwrap_or(out.len());
    (out, mapped)
}

/// The end of the string starting at the quote at `start` (past its closing quote, or the end).
fn string_end(bytes: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of the JSON value starting at `start`: a string, a balanced object or array (or the
/// end of the text), or a scalar up to its delimiter.
fn value_end(bytes: &[u8], start: usize) -> usize {
    match bytes.get(start) {
        None => start,
        Some(b'"') => string_end(bytes, start),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut i = start;
            while i < bytes.len() {
                match bytes[i] {
                    b'"' => {
                        i = string_end(bytes, i);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            bytes.len()
        }
        Some(_) => {
            let mut i = start;
            while i < bytes.len()
                && !matches!(bytes[i], b',' | b'}' | b']' | b' ' | b'\n' | b'\r' | b'\t')
            {
                i += 1;
            }
            i
        }
    }
}

/// A URL with its user name and password replaced, for messages (`http://***@proxy:3128`).
pub fn redact_url(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(mut parsed) if parsed.has_host() => {
            if !parsed.username().is_empty() || parsed.password().is_some() {
                let _ = parsed.set_username(MASK);
                let _ = parsed.set_password(None);
            }
            parsed.to_string()
        }
        // Not a URL with a host: whatever stands before an `@` may be credentials.
        _ => match url.rsplit_once('@') {
            Some((_, host)) => format!("{MASK}@{host}"),
            None => url.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_masked_at_any_depth_and_nothing_else() {
        let body = serde_json::json!({
            "name": "Guest", "psk": "hunter22", "authMode": "psk",
            "radiusServers": [{"host": "10.0.0.1", "secret": "s3cret", "port": 1812}],
            "snmp": {"communityString": "public", "users": [{"username": "u", "passphrase": "pp"}]},
            "apiKey": "k", "key": "k2", "licenseKey": "L", "keyboard": "no",
            "sharedSecret": null,
        });
        let masked = mask_secrets(&body).to_string();
        let text = mask_json_text(&serde_json::to_string_pretty(&body).unwrap());
        for shown in [&masked, &text] {
            for secret in [
                "hunter22", "s3cret", "public", "\"pp\"", "\"k\"", "k2", "\"L\"",
            ] {
                assert!(!shown.contains(secret), "{secret} in {shown}");
            }
            for kept in [
                "Guest",
                "psk\"",
                "10.0.0.1",
                "1812",
                "keyboard",
                "sharedSecret",
            ] {
                assert!(shown.contains(kept), "{kept} not in {shown}");
            }
        }
    }

    #[test]
    fn text_that_is_cut_or_malformed_is_masked_as_far_as_it_goes() {
        for (text, hidden) in [
            (r#"{"psk": "hunter22"#, "hunter22"),
            (
                r#"[{"a": 1}, {"radius": {"secret": "s3c\"ret", "x": 1}"#,
                "s3c",
            ),
            (r#"{"password": 12345, "n": 1}"#, "12345"),
            (r#"{"psk": {"nested": "inner"}, "after": 1}"#, "inner"),
        ] {
            let masked = mask_json_text(text);
            assert!(!masked.contains(hidden), "{hidden} in {masked}");
        }
        assert_eq!(mask_json_text(r#"{"psk": null}"#), r#"{"psk": null}"#);
        assert_eq!(mask_json_text("é\"x\": 1 ü"), "é\"x\": 1 ü");
        // Offsets map into the masked text.
        let text = r#"{"psk": "long secret value", "id": 2}"#;
        let (masked, at) = mask_json_text_at(text, text.find("\"id\"").unwrap());
        assert!(masked[at..].starts_with("\"id\""), "{masked} {at}");
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            redact_url("http://user:pw@proxy:3128"),
            "http://***@proxy:3128/"
        );
        assert_eq!(redact_url("user:pw@proxy"), "***@proxy");
        assert_eq!(
            redact_url("https://api.meraki.com/"),
            "https://api.meraki.com/"
        );
    }

    #[test]
    fn equality_in_constant_time_is_still_equality() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"ab"));
    }
}
