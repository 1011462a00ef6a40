//! Plans: what a bulk change would change, read from the simulated Dashboard's state.

use std::time::Duration;

use meraki_api::batch::{Action, BatchOutcome};
use meraki_api::plan::ChangeKind;
use meraki_api::prelude::*;
use meraki_api::test_util::SimulatedDashboard;
use reqwest::Method;
use serde_json::json;

const ORG: &str = "549236";

async fn dashboard() -> SimulatedDashboard {
    SimulatedDashboard::builder()
        .organization(ORG, 2, 2)
        .batch_runtime(Duration::from_millis(200))
        .start()
        .await
}

fn update(resource: &str, body: serde_json::Value) -> Action {
    Action::new(resource, "update", Some(body))
}

#[tokio::test]
async fn a_plan_reports_changed_unchanged_and_other_actions_reading_each_resource_once() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let devices = dashboard.devices(ORG);
    let (a, b) = (&devices[0], &devices[1]);
    // Today: port 1 of A is already on VLAN 10.
    client
        .raw(Method::PUT, format!("/devices/{a}/switch/ports/1"))
        .json(&json!({"vlan": 10}))
        .call()
        .await
        .unwrap();
    let before = dashboard.counts();

    let actions = vec![
        update(&format!("/devices/{a}/switch/ports/1"), json!({"vlan": 10})),
        update(
            &format!("/devices/{a}/switch/ports/2"),
            json!({"vlan": 10, "enabled": true}),
        ),
        // The same port again: compared with what the action before it would leave.
        update(
            &format!("/devices/{a}/switch/ports/2"),
            json!({"vlan": 10, "name": "uplink"}),
        ),
        update(
            &format!("/devices/{b}"),
            json!({"name": "core", "tags": ["a"], "psk": "hunter2"}),
        ),
        Action::new(
            format!("/organizations/{ORG}/networks"),
            "create",
            Some(json!({"name": "new", "productTypes": ["switch"]})),
        ),
        Action::new(format!("/devices/{b}"), "reboot", None),
        Action::new(
            format!("/networks/{}/devices/{b}", dashboard.networks(ORG)[1]),
            "destroy",
            None,
        ),
    ];
    let plan = client.plan().actions(&actions).await;
    let kinds: Vec<ChangeKind> = plan.actions.iter().map(|a| a.kind).collect();
    assert_eq!(
        kinds,
        [
            ChangeKind::NoChange,
            ChangeKind::Update,
            ChangeKind::Update,
            ChangeKind::Update,
            ChangeKind::Create,
            ChangeKind::Action,
            ChangeKind::Delete,
        ]
    );
    let fields = |i: usize| -> Vec<(String, serde_json::Value, serde_json::Value)> {
        plan.actions[i]
            .changes
            .iter()
            .map(|c| (c.field.clone(), c.from.clone(), c.to.clone()))
            .collect()
    };
    assert!(fields(0).is_empty());
    assert_eq!(
        fields(1),
        [("vlan".into(), json!(1), json!(10))],
        "enabled is true already"
    );
    assert_eq!(fields(2), [("name".into(), json!(null), json!("uplink"))]);
    assert_eq!(
        fields(3),
        [
            ("name".into(), json!(format!("switch {b}")), json!("core")),
            ("psk".into(), json!(null), json!("***")),
            ("tags".into(), json!([]), json!(["a"])),
        ],
        "a field the read does not show counts as a change; secrets are masked"
    );
    let summary = plan.summary();
    assert_eq!(
        (
            summary.actions,
            summary.resources_read,
            summary.fields_changing,
            summary.no_ops
        ),
        (7, 3, 5, 1)
    );

    // Nothing was written; each resource was read once.
    let after = dashboard.counts();
    assert_eq!(after.updates, before.updates);
    assert_eq!(after.batches, 0);
    let reads: Vec<u64> = after
        .reads
        .iter()
        .filter(|(path, _)| path.contains("/switch/ports/") || path.ends_with(b.as_str()))
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(reads, [1, 1, 1], "{:?}", after.reads);

    // Dropping the no-ops, running the rest, planning again: nothing left to change.
    let updates: Vec<Action> = plan
        .changing_actions()
        .into_iter()
        .filter(|a| a.operation == "update")
        .collect();
    assert_eq!(updates.len(), 3);
    let reports = client.action_batches(ORG).run_to_end(updates).await;
    assert!(reports
        .iter()
        .all(|r| matches!(r.outcome, BatchOutcome::Completed { .. })));
    let again = client.action_batches(ORG).plan(&actions[..4]).await;
    assert!(
        again.actions.iter().all(|a| a.kind == ChangeKind::NoChange),
        "{again:?}"
    );
}

#[tokio::test]
async fn generated_builders_are_planned_like_actions() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let network = dashboard.networks(ORG)[0].clone();
    let planner = client.plan();
    let rename = planner
        .operation(
            client
                .update_network()
                .network_id(&network)
                .body_map(|b| b.name("Store 1".to_string())),
        )
        .await
        .unwrap();
    assert_eq!(rename.kind, ChangeKind::Update);
    assert_eq!(rename.path, format!("/networks/{network}"));
    assert_eq!(rename.changes[0].to, json!("Store 1"));
    let same = planner
        .operation(
            client
                .update_network()
                .network_id(&network)
                .body_map(|b| b.name("Store 1".to_string())),
        )
        .await
        .unwrap();
    assert_eq!(
        same.kind,
        ChangeKind::NoChange,
        "after the rename planned before it"
    );
    let raw = planner
        .request(
            Method::PUT,
            &format!("/networks/{network}"),
            Some(json!({"notes": ""})),
        )
        .await;
    assert_eq!(raw.kind, ChangeKind::NoChange);
    let unknown = planner
        .request(Method::PUT, "/networks/N_nope", Some(json!({"name": "x"})))
        .await;
    assert_eq!(unknown.kind, ChangeKind::Unknown);
    assert!(
        unknown.reason.as_deref().unwrap().contains("404"),
        "{unknown:?}"
    );
    assert_eq!(dashboard.counts().updates, 0);
    let line = serde_json::to_value(&rename).unwrap();
    assert_eq!(line["kind"], "update");
    assert_eq!(line["method"], "PUT");
    assert_eq!(line["changes"][0]["field"], "name");
}

/// A plan made for a run, and the run itself, say first what the run will cost: requests, and
/// their time at the organization's budget.
#[tokio::test]
async fn a_plan_and_a_run_say_what_they_will_cost() {
    let dashboard = dashboard().await;
    let client = dashboard.client();
    let devices = dashboard.devices(ORG);
    let runner = client.action_batches(ORG);

    // 250 actions: three batches, one listing, and per batch a creation, a confirmation and a
    // status read; at 10 requests/s.
    let estimate = runner.estimate(250);
    assert_eq!(estimate.requests, 10);
    assert_eq!(estimate.budget, 10.0);
    assert_eq!(estimate.duration, Duration::from_secs(1));
    assert_eq!(
        estimate.to_string(),
        "at least 10 requests, about 1.0 s at 10.0 requests/s"
    );
    assert_eq!(
        client
            .action_batches(ORG)
            .synchronous(true)
            .estimate(250)
            .requests,
        1 + 13 * 2
    );

    let actions = vec![
        update(
            &format!("/devices/{}/switch/ports/1", devices[0]),
            json!({"vlan": 7}),
        ),
        update(
            &format!("/devices/{}/switch/ports/2", devices[0]),
            json!({"vlan": 7}),
        ),
    ];
    let plan = runner.plan(&actions).await;
    let summary = plan.summary();
    assert_eq!(summary.changing, 2);
    assert_eq!(summary.running.map(|r| r.requests), Some(4));
    assert!(
        summary.to_string().ends_with(
            "; running the 2 changing: at least 4 requests, about 1.0 s at 10.0 requests/s"
        ),
        "{summary}"
    );
}

/// The budget an estimate uses is what the client has left after the 429s it met: other
/// callers' use of the organization's budget.
#[tokio::test]
async fn an_estimate_counts_the_budget_others_use() {
    let api = meraki_api::test_util::MockApi::start().await;
    let client = api.client();
    api.when(client.get_organization_licenses().organization_id(ORG))
        .throttle(Duration::from_millis(1))
        .answer(Vec::new())
        .mount()
        .await;
    let full = client.action_batches(ORG).estimate(100);
    client
        .get_organization_licenses()
        .organization_id(ORG)
        .call()
        .await
        .unwrap();
    let slowed = client.action_batches(ORG).estimate(100);
    assert!(slowed.budget < full.budget, "{slowed} vs {full}");
}
