//! Property tests: nothing the network sends makes the client panic. The Link parser and the
//! generated response types see arbitrary input and must return, never panic.

use meraki_api::link::{find_rel, parse_link_header};
use meraki_api::prelude::*;
use meraki_api::types::{CellularDataProfiles, License};
use proptest::prelude::*;

/// Strings built from the characters that matter to a Link header, and some that do not.
fn link_like() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("<".to_string()),
            Just(">".to_string()),
            Just(";".to_string()),
            Just(",".to_string()),
            Just("\"".to_string()),
            Just("\\".to_string()),
            Just("=".to_string()),
            Just(" rel=next".to_string()),
            Just("rel=\"prev last\"".to_string()),
            Just("https://n1.meraki.com/api/v1/x?startingAfter=a".to_string()),
            "[a-zé\u{1F600} ]{0,4}",
        ],
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

/// Arbitrary JSON, biased towards the shapes the API sends.
fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(|f| serde_json::json!(f)),
        "[a-zA-Z0-9_ ]{0,8}".prop_map(serde_json::Value::from),
        prop_oneof![
            Just("active"),
            Just("sim1"),
            Just("monthly"),
            Just("failover")
        ]
        .prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
            proptest::collection::btree_map(
                prop_oneof![
                    Just("id".to_string()),
                    Just("state".to_string()),
                    Just("items".to_string()),
                    Just("meta".to_string()),
                    Just("rules".to_string()),
                    Just("slot".to_string()),
                    Just("permanentlyQueuedLicenses".to_string()),
                    "[a-z]{1,6}",
                ],
                inner,
                0..6,
            )
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn link_parser_never_panics(header in link_like()) {
        let links = parse_link_header(&header);
        for rel in ["next", "prev", "first", "last"] {
            let _ = find_rel(&links, rel);
        }
    }

    #[test]
    fn link_parser_finds_what_was_written(cursor in "[A-Za-z0-9_-]{1,12}", quoted in any::<bool>()) {
        let rel = if quoted { "\"next\"" } else { "next" };
        let header = format!("<https://n1.meraki.com/x?a=1,2>; rel=first, <https://n1.meraki.com/x?startingAfter={cursor}>; rel={rel}");
        let links = parse_link_header(&header);
        let expected = format!("https://n1.meraki.com/x?startingAfter={cursor}");
        prop_assert_eq!(find_rel(&links, "next"), Some(expected.as_str()));
    }

    #[test]
    fn arbitrary_bytes_decode_or_fail_cleanly(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = serde_json::from_slice::<Vec<License>>(&bytes);
        let _ = serde_json::from_slice::<CellularDataProfiles>(&bytes);
    }

    #[test]
    fn arbitrary_json_decodes_or_fails_cleanly(value in json_value()) {
        let text = value.to_string();
        let _ = serde_json::from_str::<Vec<License>>(&text);
        if let Ok(body) = serde_json::from_str::<CellularDataProfiles>(&text) {
            // What decodes serializes again.
            prop_assert!(serde_json::to_string(&body).is_ok());
        }
    }

    #[test]
    fn webhook_bodies_verify_or_are_refused_cleanly(
        value in json_value(),
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
        with_secret in any::<bool>(),
    ) {
        use meraki_api::webhook::WebhookVerifier;
        let verifier = WebhookVerifier::new("secret").unwrap();
        let mut headers = http::HeaderMap::new();
        let _ = verifier.verify(&headers, &bytes);
        let mut value = value;
        if let (Some(map), true) = (value.as_object_mut(), with_secret) {
            map.insert("sharedSecret".into(), "secret".into());
        }
        let text = value.to_string();
        let verdict = verifier.verify(&headers, text.as_bytes());
        prop_assert_eq!(verdict.is_ok(), with_secret && value.is_object());
        // With the secret in a header, a JSON object is an alert and anything else is not.
        headers.insert("authorization", "Bearer secret".parse().unwrap());
        let verdict = verifier.verify(&headers, text.as_bytes());
        prop_assert_eq!(verdict.is_ok(), value.is_object());
        if let Ok(alert) = verdict {
            prop_assert!(serde_json::to_string(&alert).is_ok());
        }
    }
}

/// Settings at the edges of their types build a client that works; none of them panics.
#[tokio::test]
async fn extreme_settings_saturate_instead_of_panicking() {
    use std::time::Duration;

    use meraki_api::test_util::SimulatedDashboard;
    use meraki_api::{RateLimitConfig, RetryPolicy};

    let dashboard = SimulatedDashboard::builder()
        .organization("1", 1, 0)
        .start()
        .await;
    // (policy, whether a call must succeed, the batch runner's waits: a zero deadline leaves
    // an attempt 1 ms, which a loaded machine may not meet; then the call times out, as it
    // should, without a panic. Its batch run waits zero too: with a lost answer and waits of
    // `Duration::MAX`, a runner would rightly wait for ever.)
    let extremes = [
        (
            RetryPolicy::default()
                .initial_backoff(Duration::MAX)
                .max_backoff(Duration::MAX)
                .deadline(Some(Duration::MAX))
                .max_attempts(u32::MAX),
            true,
            Duration::MAX,
        ),
        (
            RetryPolicy::default()
                .initial_backoff(Duration::ZERO)
                .max_backoff(Duration::ZERO)
                .deadline(Some(Duration::ZERO)),
            false,
            Duration::ZERO,
        ),
    ];
    for (retry, must_succeed, wait) in extremes {
        let client = dashboard
            .client_builder()
            .timeout(Duration::MAX)
            .connect_timeout(Duration::MAX)
            .retry(retry)
            .rate_limit(
                RateLimitConfig::default()
                    .per_organization(f64::MIN_POSITIVE, f64::MAX)
                    .global(f64::MAX, 1.0)
                    .min_rate(f64::MIN_POSITIVE),
            )
            .build()
            .unwrap();
        let listed = client
            .get_organization_networks()
            .organization_id("1")
            .call()
            .await;
        match listed {
            Ok(_) => {}
            Err(meraki_api::Error::Transport(e)) if !must_succeed && e.source.is_timeout() => {}
            Err(e) => panic!("{e}"),
        }
        let reports = client
            .action_batches("1")
            .synchronous(true)
            .poll_interval(wait, wait)
            .timeout(wait)
            .run_to_end(vec![meraki_api::batch::Action::new(
                "/networks/N_1_0",
                "update",
                Some(serde_json::json!({"name": "x"})),
            )])
            .await;
        assert_eq!(reports.len(), 1);
        assert!(reports[0].completed() || !must_succeed, "{:?}", reports[0]);
    }
}
