//! Typed mocks: what a user's unit test says an operation answers reaches the user's code as
//! that operation's type, through the real client.

use std::time::Duration;

use meraki_api::prelude::*;
use meraki_api::test_util::MockApi;
use meraki_api::types::License;
use meraki_api::Error;

fn license(id: &str) -> License {
    License {
        id: Some(id.into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn answers_follow_in_order_and_the_last_one_repeats() {
    let api = MockApi::start().await;
    let client = api.client();
    api.when(client.get_organization_licenses().organization_id("1"))
        .fail(502, "bad gateway")
        .throttle(Duration::from_millis(5))
        .answer(vec![license("a"), license("b")])
        .mount()
        .await;

    let first = client
        .get_organization_licenses()
        .organization_id("1")
        .call()
        .await
        .expect("the 502 and the 429 are retried");
    let ids: Vec<_> = first.iter().map(|l| l.id.clone().unwrap()).collect();
    assert_eq!(ids, ["a", "b"]);
    let again = client
        .get_organization_licenses()
        .organization_id("1")
        .call()
        .await
        .expect("the last answer repeats");
    assert_eq!(again.len(), 2);
    assert_eq!(api.received().await.len(), 4);
    assert_eq!(client.stats().throttled, 1);
}

#[tokio::test]
async fn a_rule_names_its_organization_and_an_error_is_typed() {
    let api = MockApi::start().await;
    let client = api.client();
    api.when(client.get_organization_licenses().organization_id("1"))
        .fail(404, "organization not found")
        .mount()
        .await;

    let error = client
        .get_organization_licenses()
        .organization_id("1")
        .call()
        .await
        .expect_err("the rule answers 404");
    assert!(matches!(error, Error::Api(_)), "{error:?}");
    assert_eq!(error.status().map(|s| s.as_u16()), Some(404));
    assert!(
        error.to_string().contains("organization not found"),
        "{error}"
    );

    // Another organization matches no rule: the local API's own 404.
    let other = client
        .get_organization_licenses()
        .organization_id("2")
        .call()
        .await
        .expect_err("no rule for organization 2");
    assert_eq!(other.status().map(|s| s.as_u16()), Some(404));
    assert!(
        !other.to_string().contains("organization not found"),
        "{other}"
    );
}
