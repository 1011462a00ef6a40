//! Action batches, dry runs and raw calls, against the simulated Dashboard.

use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use meraki_api::batch::{Action, BatchOutcome, Batchable};
use meraki_api::prelude::*;
use meraki_api::test_util::SimulatedDashboard;
use meraki_api::Error;
use reqwest::Method;
use serde_json::json;

const ORG: &str = "549236";

async fn dashboard() -> SimulatedDashboard {
    SimulatedDashboard::builder()
        .organization(ORG, 3, 2)
        .batch_runtime(Duration::from_millis(300))
        .start()
        .await
}

#[tokio::test]
async fn builders_turn_into_the_actions_they_would_send() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let rename = client
        .update_network()
        .network_id("N_1")
        .body_map(|b| b.name("Store 1".to_string()))
        .into_action()
        .unwrap();
    assert_eq!(
        rename,
        Action::new("/networks/N_1", "update", Some(json!({"name": "Store 1"})))
    );
    // A verb: the resource is the path without it.
    let split = client.split_network().network_id("N_1").into_action();
    assert_eq!(split.unwrap().resource, "/networks/N_1");
    // `claim` is listed with its whole path.
    let claim = client
        .claim_network_devices()
        .network_id("N_1")
        .body_map(|b| b.serials(vec!["Q234-ABCD-0001".to_string()]))
        .into_action()
        .unwrap();
    assert_eq!(
        (claim.resource.as_str(), claim.operation.as_str()),
        ("/networks/N_1/devices/claim", "claim")
    );
    // Encoded exactly as the request would be; a destroy has no body.
    let destroy = client
        .delete_network_group_policy()
        .network_id("N 1")
        .group_policy_id("101")
        .into_action()
        .unwrap();
    assert_eq!(destroy.resource, "/networks/N%201/groupPolicies/101");
    assert_eq!(
        (destroy.operation.as_str(), destroy.body),
        ("destroy", None)
    );
    // Nothing was sent (nor counted as a dry-run write), and the client still sends writes.
    assert_eq!(client.stats().requests, 0);
    assert_eq!(client.stats().not_sent, 0);
    assert!(!client.is_dry_run());
}

#[tokio::test]
async fn actions_get_the_same_checks_as_calls() {
    let client = dashboard().await.client();
    let missing = client.update_network().into_action().unwrap_err();
    assert!(
        matches!(&missing, Error::InvalidRequest(e) if e.parameter.as_deref() == Some("networkId")),
        "{missing}"
    );
    let empty = client
        .update_network()
        .network_id("")
        .into_action()
        .unwrap_err();
    assert!(empty.to_string().contains("must not be empty"), "{empty}");
    // The one batchable operation with a query parameter cannot be an action.
    let query = client
        .delete_network_meraki_auth_user()
        .network_id("N_1")
        .meraki_auth_user_id("1")
        .delete(true)
        .into_action()
        .unwrap_err();
    assert!(query.to_string().contains("query parameters"), "{query}");
}

fn renames(count: usize) -> Vec<Action> {
    (0..count)
        .map(|i| {
            Action::new(
                format!("/networks/N_{ORG}_{}", i % 3),
                "update",
                Some(json!({ "name": format!("network {i}") })),
            )
        })
        .collect()
}

#[tokio::test]
async fn the_runner_splits_confirms_polls_and_accounts_for_every_action() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let reports = client
        .action_batches(ORG)
        .poll_interval(Duration::from_millis(100), Duration::from_millis(200))
        .run_to_end(renames(1_250))
        .await;
    let sizes: Vec<usize> = reports.iter().map(|r| r.actions.len()).collect();
    assert_eq!(sizes, [100; 12].into_iter().chain([50]).collect::<Vec<_>>());
    assert!(reports.iter().all(|r| r.completed() && r.id.is_some()));
    let starts: Vec<usize> = reports.iter().map(|r| r.first_action).collect();
    assert_eq!(starts, (0..13).map(|i| i * 100).collect::<Vec<_>>());
    let counts = dashboard.counts();
    assert_eq!(counts.actions, 1_250);
    assert_eq!(counts.largest_batch, 100);
    assert!(counts.most_running_batches <= 5, "{counts:?}");
    assert_eq!(counts.refused_batches, 0);
}

#[tokio::test]
async fn synchronous_batches_hold_at_most_twenty() {
    let dashboard = dashboard().await;
    let reports = dashboard
        .client()
        .action_batches(ORG)
        .synchronous(true)
        .run_to_end(renames(45))
        .await;
    let sizes: Vec<usize> = reports.iter().map(|r| r.actions.len()).collect();
    assert_eq!(sizes, [20, 20, 5]);
    assert!(reports.iter().all(|r| r.completed()));
}

fn with_failure_in_batch(batch: usize) -> Vec<Action> {
    let mut actions = renames(500);
    actions[batch * 100 + 7].body = Some(json!({"fail": true}));
    actions
}

#[tokio::test]
async fn after_a_failed_batch_the_rest_is_not_submitted() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let reports = client
        .action_batches(ORG)
        .max_running(1)
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .run_to_end(with_failure_in_batch(1))
        .await;
    assert!(reports[0].completed());
    match &reports[1].outcome {
        BatchOutcome::Failed { errors } => assert!(errors[0].contains("Action 7"), "{errors:?}"),
        other => panic!("{other:?}"),
    }
    for report in &reports[2..] {
        assert!(
            matches!(&report.outcome, BatchOutcome::NotSubmitted { reason } if reason.contains("batch 1")),
            "{report:?}"
        );
        assert!(report.id.is_none());
    }
    let accounted: usize = reports.iter().map(|r| r.actions.len()).sum();
    assert_eq!(accounted, 500);
    assert_eq!(dashboard.counts().batches, 2);
}

#[tokio::test]
async fn the_runner_can_continue_after_a_failure_and_reports_as_batches_finish() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let mut reports = client
        .action_batches(ORG)
        .continue_after_failure(true)
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .run(with_failure_in_batch(0));
    let mut seen = Vec::new();
    while let Some(report) = reports.next().await {
        seen.push((report.index, report.completed()));
    }
    seen.sort_unstable();
    assert_eq!(
        seen,
        [(0, false), (1, true), (2, true), (3, true), (4, true)]
    );
}

#[tokio::test]
async fn a_busy_organization_gets_its_batches_in_when_slots_free() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 3, 0)
        .batch_runtime(Duration::from_secs(3))
        .start()
        .await;
    let client = dashboard.client();
    // Two runners at once, as two services would: ten batches, five slots.
    let runner = || {
        client
            .action_batches(ORG)
            .poll_interval(Duration::from_millis(100), Duration::from_millis(100))
            .run_to_end(renames(500))
    };
    let (a, b) = tokio::join!(runner(), runner());
    assert!(a.iter().chain(&b).all(|r| r.completed()));
    let counts = dashboard.counts();
    assert!(counts.refused_batches > 0, "{counts:?}");
    assert!(counts.most_running_batches <= 5);
    assert_eq!(counts.confirmed_batches, 10, "{counts:?}");
}

#[tokio::test]
async fn dry_runs_check_and_report_writes_and_still_read() {
    let dashboard = dashboard().await;
    let client = dashboard.client_builder().dry_run(true).build().unwrap();
    let network = &dashboard.networks(ORG)[0];
    let err = client
        .update_network()
        .network_id(network.as_str())
        .body_map(|b| b.name("renamed".to_string()))
        .call()
        .await
        .unwrap_err();
    let Error::DryRun { not_sent, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(not_sent.method, Method::PUT);
    assert_eq!(not_sent.path, format!("/networks/{network}"));
    assert_eq!(not_sent.body, Some(json!({"name": "renamed"})));
    assert!(
        err.is_dry_run() && err.to_string().contains("not sent"),
        "{err}"
    );
    // Raw writes too; reads go out.
    let raw = client
        .raw(Method::DELETE, format!("/networks/{network}"))
        .call()
        .await
        .unwrap_err();
    assert!(raw.is_dry_run());
    client
        .get_network_devices()
        .network_id(network.as_str())
        .call()
        .await
        .unwrap();
    // Batches are not submitted either.
    let reports = client.action_batches(ORG).run_to_end(renames(3)).await;
    assert!(matches!(
        reports[0].outcome,
        BatchOutcome::NotSubmitted { .. }
    ));
    assert_eq!(dashboard.counts().batches, 0);
    assert_eq!(client.stats().not_sent, 3);
    // Checks still apply: a bad request is an error, not a dry run.
    let bad = client.update_network().call().await.unwrap_err();
    assert!(matches!(bad, Error::InvalidRequest(_)), "{bad}");
}

#[tokio::test]
async fn raw_calls_are_paced_paginated_and_decoded_like_generated_ones() {
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 10, 0)
        .start()
        .await;
    let client = dashboard.client();
    // Link pagination, untyped.
    let networks: Vec<serde_json::Value> = client
        .raw(Method::GET, format!("/organizations/{ORG}/networks"))
        .query("perPage", 3)
        .into_paginator()
        .items()
        .try_collect()
        .await
        .unwrap();
    assert_eq!(networks.len(), 10);
    // Listings teach the directory whoever makes them.
    assert_eq!(
        client
            .directory()
            .network_organization(&format!("N_{ORG}_9"))
            .as_deref(),
        Some(ORG)
    );
    // Typed, and paced by the network's organization without a lookup.
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Network {
        organization_id: String,
    }
    let network = client
        .raw(Method::GET, format!("/networks/N_{ORG}_4"))
        .decode_as::<Network>()
        .call()
        .await
        .unwrap();
    assert_eq!(network.organization_id, ORG);
    assert_eq!(client.stats().lookups, 0);
    // Errors are the client's errors.
    let missing = client
        .raw(Method::GET, "/networks/N_missing/devices")
        .call()
        .await
        .unwrap_err();
    assert_eq!(missing.status().map(|s| s.as_u16()), Some(404));
    let escaping = client
        .raw(Method::GET, "/networks/../organizations")
        .call()
        .await;
    assert!(matches!(escaping, Err(Error::InvalidRequest(_))));
}

/// Runs 1,000 actions (batch 3 fails at the API) through a proxy that loses or cuts 30% of
/// answers, submissions and status reads alike.
async fn under_lost_answers(
    seed: u64,
) -> (SimulatedDashboard, Vec<meraki_api::batch::BatchReport>) {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 3, 0)
        .per_org_limit(200.0, 200.0)
        .global_limit(500.0)
        .batch_runtime(Duration::from_millis(200))
        .start()
        .await;
    let plan = FaultPlan::random(
        seed,
        &[
            (Fault::LostAnswer, 0.10),
            (Fault::CutBody, 0.10),
            (Fault::BadGateway, 0.10),
        ],
    );
    let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
        .await
        .unwrap();
    let client = dashboard
        .client_builder()
        .base_url(proxy.base_url())
        .rate_limit(meraki_api::RateLimitConfig::default().per_organization(200.0, 200.0))
        .retry(
            meraki_api::RetryPolicy::default()
                .max_attempts(6)
                .initial_backoff(Duration::from_millis(5))
                .max_backoff(Duration::from_millis(50)),
        )
        .build()
        .unwrap();
    let mut actions = renames(1_000);
    actions[300 + 7].body = Some(json!({"fail": true}));
    let reports = client
        .action_batches(ORG)
        .continue_after_failure(true)
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .run_to_end(actions)
        .await;
    assert!(proxy.counts().faults >= 3, "{:?}", proxy.counts());
    (dashboard, reports)
}

#[tokio::test]
async fn lost_answers_never_turn_into_failures_or_double_submissions() {
    for seed in [11, 12] {
        let (dashboard, reports) = under_lost_answers(seed).await;
        // Every action once, in batch order.
        let accounted: Vec<usize> = reports.iter().map(|r| r.first_action).collect();
        assert_eq!(accounted, (0..10).map(|i| i * 100).collect::<Vec<_>>());
        assert_eq!(
            reports.iter().map(|r| r.actions.len()).sum::<usize>(),
            1_000
        );
        // The true outcome of each: batch 3 failed at the API, the rest completed.
        for report in &reports {
            let expected = if report.index == 3 {
                "failed"
            } else {
                "completed"
            };
            assert_eq!(report.outcome.status(), expected, "seed {seed}: {report:?}");
            assert!(report.id.is_some(), "seed {seed}: {report:?}");
        }
        // Each batch confirmed once; what lost creations left behind, deleted.
        let counts = dashboard.counts();
        assert_eq!(counts.confirmed_batches, 10, "seed {seed}: {counts:?}");
        assert_eq!(
            counts.batches - counts.deleted_batches,
            10,
            "seed {seed}: {counts:?}"
        );
        let removed: usize = reports.iter().map(|r| r.removed_leftovers.len()).sum();
        assert_eq!(removed as u64, counts.deleted_batches, "seed {seed}");
    }
}

#[tokio::test]
async fn a_batch_whose_status_cannot_be_read_in_time_is_unknown_not_failed() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 3, 0)
        .batch_runtime(Duration::from_secs(60))
        .start()
        .await;
    // The creation and confirmation go through; every status read after them is lost.
    let plan = FaultPlan::none().on("GET", "/actionBatches/", 1.., Fault::LostAnswer);
    let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
        .await
        .unwrap();
    let client = dashboard
        .client_builder()
        .base_url(proxy.base_url())
        .retry(meraki_api::RetryPolicy::never())
        .build()
        .unwrap();
    let reports = client
        .action_batches(ORG)
        .poll_interval(Duration::from_millis(20), Duration::from_millis(50))
        .timeout(Duration::from_millis(400))
        .run_to_end(renames(5))
        .await;
    let BatchOutcome::Unknown { reason } = &reports[0].outcome else {
        panic!("{:?}", reports[0])
    };
    assert!(reason.contains("last status read failed"), "{reason}");
    assert!(reports[0].id.is_some());
    assert_eq!(dashboard.counts().batches, 1);
    assert_eq!(dashboard.counts().confirmed_batches, 1);
}

#[tokio::test]
async fn a_lost_creation_is_made_again_and_its_leftover_removed() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    for fault in [
        Fault::LostAnswer,
        Fault::CutBody,
        Fault::BadGateway,
        Fault::Refused,
    ] {
        let dashboard = dashboard().await;
        let plan = FaultPlan::none().on("POST", "/actionBatches", 1..=1, fault);
        let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
            .await
            .unwrap();
        let client = dashboard
            .client_builder()
            .base_url(proxy.base_url())
            .build()
            .unwrap();
        let reports = client
            .action_batches(ORG)
            .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
            .run_to_end(renames(30))
            .await;
        assert!(reports[0].completed(), "{fault:?}: {:?}", reports[0]);
        let counts = dashboard.counts();
        // One batch ran; a creation that reached the API was deleted unconfirmed.
        assert_eq!(counts.confirmed_batches, 1, "{fault:?}: {counts:?}");
        assert_eq!(
            counts.batches - counts.deleted_batches,
            1,
            "{fault:?}: {counts:?}"
        );
        let reached = fault != Fault::Refused;
        assert_eq!(
            reports[0].removed_leftovers.len(),
            usize::from(reached),
            "{fault:?}: {:?}",
            reports[0]
        );
    }
}

/// The same job twice against one organization: the second run's creation first closed
/// before it arrives, then another whose answer is lost after the API created it.
#[tokio::test]
async fn a_second_run_of_the_same_job_reports_its_own_batches_and_changes() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let dashboard = dashboard().await;
    let job = |name: &str| -> Vec<Action> {
        (0..3)
            .map(|i| {
                Action::new(
                    format!("/networks/N_{ORG}_{i}"),
                    "update",
                    Some(json!({ "name": name })),
                )
            })
            .collect()
    };
    let first = dashboard
        .client()
        .action_batches(ORG)
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .run_to_end(job("monday"))
        .await;
    assert!(first[0].completed(), "{:?}", first[0]);
    for (second_name, fault) in [("monday", Fault::Refused), ("tuesday", Fault::LostAnswer)] {
        let plan = FaultPlan::none().on("POST", "/actionBatches", 1..=1, fault);
        let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
            .await
            .unwrap();
        let client = dashboard
            .client_builder()
            .base_url(proxy.base_url())
            .build()
            .unwrap();
        let before = dashboard.counts();
        let second = client
            .action_batches(ORG)
            .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
            .run_to_end(job(second_name))
            .await;
        assert!(second[0].completed(), "{fault:?}: {:?}", second[0]);
        assert_ne!(second[0].id, first[0].id, "{fault:?}: another run's batch");
        let counts = dashboard.counts();
        assert_eq!(
            counts.confirmed_batches,
            before.confirmed_batches + 1,
            "{fault:?}: {counts:?}"
        );
        assert_eq!(counts.repeated_confirmations, 0, "{fault:?}: {counts:?}");
        let network: serde_json::Value = client
            .raw(Method::GET, format!("/networks/N_{ORG}_1"))
            .call()
            .await
            .unwrap();
        assert_eq!(network["name"], second_name, "{fault:?}");
    }
}

#[tokio::test]
async fn identical_chunks_of_one_run_are_each_their_own_batch() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let dashboard = dashboard().await;
    // Each chunk's first creation answer is lost after the API created it (both chunks send
    // the same request: its first and third arrivals).
    let plan = FaultPlan::none()
        .on("POST", "/actionBatches", 1..=1, Fault::LostAnswer)
        .on("POST", "/actionBatches", 3..=3, Fault::LostAnswer);
    let proxy = FaultyProxy::start(&dashboard.base_url(), plan)
        .await
        .unwrap();
    let client = dashboard
        .client_builder()
        .base_url(proxy.base_url())
        .build()
        .unwrap();
    let chunk: Vec<Action> = renames(3);
    let actions: Vec<Action> = chunk.iter().chain(&chunk).cloned().collect();
    let reports = client
        .action_batches(ORG)
        .batch_size(3)
        .max_running(1)
        .poll_interval(Duration::from_millis(50), Duration::from_millis(100))
        .run_to_end(actions)
        .await;
    assert_eq!(reports.len(), 2);
    assert!(reports.iter().all(|r| r.completed()), "{reports:?}");
    assert_ne!(reports[0].id, reports[1].id);
    let counts = dashboard.counts();
    assert_eq!(counts.confirmed_batches, 2, "{counts:?}");
    assert_eq!(counts.batches - counts.deleted_batches, 2, "{counts:?}");
}
