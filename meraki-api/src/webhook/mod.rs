//! Receiving Meraki's webhook alerts: typed payloads and the shared secret checked in constant
//! time.
//!
//! Meraki POSTs each alert as JSON to the HTTP servers configured on a network. It signs
//! nothing: the HTTP server's shared secret travels in the body (`sharedSecret`), or, with a
//! custom payload template, in a header (`Authorization: Bearer {{sharedSecret}}`). A receiver
//! accepts an alert only when every secret it carries is the configured one, and at least one
//! is there. This module does that for any HTTP server; it brings none of its own (the
//! `webhook_receiver` example uses hyper).
//!
//! ```
//! use meraki_api::webhook::{WebhookError, WebhookVerifier};
//! let verifier = WebhookVerifier::new("s3cret").unwrap();
//! let body = br#"{"version":"0.1","sharedSecret":"s3cret","alertType":"APs went down"}"#;
//! let alert = verifier.verify(&http::HeaderMap::new(), body).unwrap();
//! assert_eq!(alert.alert_type.as_deref(), Some("APs went down"));
//! let forged = br#"{"sharedSecret":"guess"}"#;
//! assert!(matches!(verifier.verify(&http::HeaderMap::new(), forged), Err(WebhookError::WrongSecret)));
//! ```

mod alert;
mod verify;

pub use alert::Alert;
pub use verify::{WebhookError, WebhookVerifier};

/// The environment variable the `webhook_receiver` example reads the shared secret from.
pub const SECRET_ENV: &str = "MERAKI_WEBHOOK_SECRET";

/// The largest body [`WebhookVerifier::verify`] reads (1 MiB; alerts are a few kilobytes).
pub const MAX_BODY_BYTES: usize = 1 << 20;

#[cfg(test)]
mod tests {
    use super::*;
    use http::header::HeaderName;

    fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(n, v)| {
                (
                    HeaderName::from_bytes(n.as_bytes()).unwrap(),
                    v.parse().unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn secrets_in_body_or_header_must_all_be_right() {
        let v = WebhookVerifier::new("s3cret").unwrap();
        let none = headers(&[]);
        let ok = br#"{"sharedSecret":"s3cret","alertId":"1"}"#;
        assert_eq!(v.verify(&none, ok).unwrap().alert_id.as_deref(), Some("1"));
        assert_eq!(
            v.verify(&none, br#"{"alertId":"1"}"#),
            Err(WebhookError::MissingSecret)
        );
        assert_eq!(
            v.verify(&none, br#"{"sharedSecret":"s3cre"}"#),
            Err(WebhookError::WrongSecret)
        );
        assert_eq!(
            v.verify(&none, br#"{"sharedSecret":"s3cret!"}"#),
            Err(WebhookError::WrongSecret)
        );
        assert_eq!(
            v.verify(&none, br#"{"sharedSecret":7}"#),
            Err(WebhookError::WrongSecret)
        );
        let bearer = headers(&[("authorization", "Bearer s3cret")]);
        assert!(v.verify(&bearer, br#"{"alertId":"1"}"#).is_ok());
        assert!(v
            .verify(&bearer, br#"{"alertId":"1","sharedSecret":""}"#)
            .is_ok());
        assert_eq!(
            v.verify(&bearer, br#"{"sharedSecret":"other"}"#),
            Err(WebhookError::WrongSecret),
            "a wrong body secret beside a right header"
        );
        let wrong = headers(&[("authorization", "Bearer nope")]);
        assert_eq!(v.verify(&wrong, ok), Err(WebhookError::WrongSecret));
        let basic = headers(&[("authorization", "Basic czNjcmV0")]);
        assert_eq!(v.verify(&basic, ok), Err(WebhookError::WrongSecret));
        // Junk: unauthenticated unless the header was right.
        assert_eq!(
            v.verify(&none, b"not json"),
            Err(WebhookError::MissingSecret)
        );
        assert!(matches!(
            v.verify(&bearer, b"[1,2]"),
            Err(WebhookError::Malformed(_))
        ));
        let custom = WebhookVerifier::new("s3cret")
            .unwrap()
            .secret_header("x-shared-secret")
            .unwrap();
        assert!(custom
            .verify(&headers(&[("x-shared-secret", "s3cret")]), b"{}")
            .is_ok());
        assert!(WebhookVerifier::new("").is_err());
        assert!(!format!("{v:?}").contains("s3cret"));
    }

    #[test]
    fn fields_of_unexpected_types_read_as_absent_and_unknown_fields_are_kept() {
        let alert = Alert::from_json(
            br#"{"alertId":12,"deviceTags":"a b","networkTags":["x",3],"alertLevel":["?"],
                 "sharedSecret":"gone","newField":{"k":1},"alertData":{"n":1}}"#,
        )
        .unwrap();
        assert_eq!(alert.alert_id.as_deref(), Some("12"));
        assert_eq!(alert.device_tags, Some(vec!["a".into(), "b".into()]));
        assert_eq!(alert.network_tags, Some(vec!["x".into()]));
        assert_eq!(alert.alert_level, None);
        assert_eq!(alert.other["newField"], serde_json::json!({"k": 1}));
        assert!(!alert.other.contains_key("sharedSecret"));
        let direct: Alert =
            serde_json::from_str(r#"{"sharedSecret":"s3cret","alertId":"1"}"#).unwrap();
        assert!(!serde_json::to_string(&direct).unwrap().contains("s3cret"));
        assert!(!format!("{direct:?}").contains("s3cret"));
        let printed = serde_json::to_string(&alert).unwrap();
        assert!(!printed.contains("gone"), "{printed}");
        assert!(printed.contains("newField"), "{printed}");
    }
}
