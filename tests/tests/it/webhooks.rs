//! Webhook alerts: the documented payload samples, secrets in the body and in a header, and
//! bodies that are not alerts.

use std::path::PathBuf;

use meraki_api::webhook::{Alert, WebhookError, WebhookVerifier};

fn samples() -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/webhooks");
    let mut samples: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            (
                p.file_stem().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&p).unwrap(),
            )
        })
        .collect();
    samples.sort();
    assert_eq!(samples.len(), 5);
    samples
}

fn no_headers() -> http::HeaderMap {
    http::HeaderMap::new()
}

#[test]
fn every_sample_verifies_and_reads_its_documented_fields() {
    let verifier = WebhookVerifier::new("secret").unwrap();
    for (name, body) in samples() {
        let alert = verifier
            .verify(&no_headers(), &body)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let raw: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(alert.alert_id.as_deref(), raw["alertId"].as_str(), "{name}");
        assert_eq!(
            alert.alert_type_id.as_deref(),
            raw["alertTypeId"].as_str(),
            "{name}"
        );
        assert_eq!(alert.organization_id.as_deref(), Some("2930418"), "{name}");
        assert_eq!(alert.network_id.as_deref(), Some("N_24329156"), "{name}");
        assert_eq!(alert.alert_data.as_ref(), raw.get("alertData"), "{name}");
        // Printed, the alert keeps everything but the shared secret.
        let printed = serde_json::to_value(&alert).unwrap();
        let mut expected = raw.clone();
        expected.as_object_mut().unwrap().remove("sharedSecret");
        if name == "newer_payload_version" {
            // Tags sent as one string read as a list.
            expected["deviceTags"] = serde_json::json!(["tag1", "tag2"]);
        }
        assert_eq!(printed, expected, "{name}");
    }
}

#[test]
fn the_documented_sample_has_every_field_typed() {
    let body = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/webhooks/documented_stopped_reporting.json"),
    )
    .unwrap();
    let alert = Alert::from_json(&body).unwrap();
    assert_eq!(alert.version.as_deref(), Some("0.1"));
    assert_eq!(alert.alert_id.as_deref(), Some("0000000000000000"));
    assert_eq!(alert.alert_level.as_deref(), Some("warning"));
    assert_eq!(alert.device_serial.as_deref(), Some("Q234-ABCD-5678"));
    assert_eq!(alert.device_tags, Some(vec!["tag1".into(), "tag2".into()]));
    assert_eq!(alert.device_model.as_deref(), Some("MR34"));
    assert_eq!(
        alert.sent_at.as_deref(),
        Some("2018-02-11T00:00:00.090210Z")
    );
    // Fields the sample has beyond the documented list are kept as sent.
    let mut others: Vec<&str> = alert.other.keys().map(String::as_str).collect();
    others.sort();
    assert_eq!(
        others,
        ["encryptedId", "enrollmentString", "notes", "productTypes"]
    );
}

#[test]
fn a_wrong_or_missing_secret_is_refused_wherever_it_travels() {
    let verifier = WebhookVerifier::new("secret").unwrap();
    let (_, body) = samples().remove(0);
    let other = WebhookVerifier::new("another").unwrap();
    assert_eq!(
        other.verify(&no_headers(), &body),
        Err(WebhookError::WrongSecret)
    );

    // A payload template that moves the secret to a header and leaves the body without it.
    let mut value: serde_json::Value = serde_json::from_slice(&body).unwrap();
    value.as_object_mut().unwrap().remove("sharedSecret");
    let bare = serde_json::to_vec(&value).unwrap();
    assert_eq!(
        verifier.verify(&no_headers(), &bare),
        Err(WebhookError::MissingSecret)
    );
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer secret".parse().unwrap());
    assert!(verifier.verify(&headers, &bare).is_ok());
    headers.insert("authorization", "Bearer secreT".parse().unwrap());
    assert_eq!(
        verifier.verify(&headers, &bare),
        Err(WebhookError::WrongSecret)
    );
    assert_eq!(WebhookError::WrongSecret.status(), 401);
}

#[test]
fn junk_bodies_are_refused_without_a_panic() {
    let verifier = WebhookVerifier::new("secret").unwrap();
    let junk: [&[u8]; 8] = [
        b"",
        b"null",
        b"[]",
        b"\"sharedSecret\"",
        b"{\"sharedSecret\":",
        &[0xff, 0xfe, 0x00],
        b"{\"sharedSecret\":\"secret\",\"alertData\":",
        b"{\"sharedSecret\":{\"a\":1}}",
    ];
    for body in junk {
        let error = verifier.verify(&no_headers(), body).unwrap_err();
        assert!(
            matches!(
                error,
                WebhookError::MissingSecret | WebhookError::WrongSecret
            ),
            "{body:?}: {error}"
        );
    }
    let huge = vec![b' '; meraki_api::webhook::MAX_BODY_BYTES + 1];
    assert_eq!(
        verifier.verify(&no_headers(), &huge),
        Err(WebhookError::MissingSecret)
    );
    let mut headers = http::HeaderMap::new();
    headers.insert("authorization", "Bearer secret".parse().unwrap());
    assert_eq!(
        verifier.verify(&headers, &huge),
        Err(WebhookError::TooLarge)
    );
    assert!(matches!(
        verifier.verify(&headers, b"{"),
        Err(WebhookError::Malformed(_))
    ));
}
