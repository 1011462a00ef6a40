//! The examples as a user runs them: the built binaries, against local servers.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use meraki_api::test_util::{SimulatedDashboard, FIXTURE_API_KEY};

const ORG: &str = "549236";

/// `cargo test` builds the examples beside the test binaries: `target/debug/examples/`.
fn example(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug/deps");
    dir.join("examples").join(name)
}

async fn run_action_batches(
    dashboard: &SimulatedDashboard,
    args: &[&str],
    stdin: String,
) -> Output {
    let mut command = Command::new(example("action_batches"));
    command
        .args(args)
        .env("MERAKI_DASHBOARD_API_KEY", FIXTURE_API_KEY)
        .env("MERAKI_DASHBOARD_API_BASE_URL", dashboard.base_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap_or_else(|e| {
            panic!(
                "cannot run the action_batches example ({e}): `cargo test` builds the examples, \
                 `cargo test --test examples` alone does not (`cargo build --example action_batches`)"
            )
        });
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

/// `count` renames of one network, one JSON action per line.
fn actions(count: usize) -> String {
    (0..count)
        .map(|i| {
            let action = serde_json::json!({
                "resource": format!("/networks/N_{ORG}_0"),
                "operation": "update",
                "body": {"name": format!("network {i}")},
            });
            format!("{action}\n")
        })
        .collect()
}

fn reports(output: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

async fn dashboard() -> SimulatedDashboard {
    SimulatedDashboard::builder()
        .organization(ORG, 1, 0)
        .batch_runtime(Duration::from_millis(200))
        .start()
        .await
}

#[tokio::test]
async fn action_batches_prints_a_line_per_batch_and_a_summary() {
    let dashboard = dashboard().await;
    let output =
        run_action_batches(&dashboard, &["--org", ORG, "--synchronous"], actions(45)).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let reports = reports(&output);
    let mut sizes: Vec<usize> = reports
        .iter()
        .map(|r| r["actions"].as_array().unwrap().len())
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [5, 20, 20]);
    assert!(reports
        .iter()
        .all(|r| r["status"] == "completed" && r["id"].is_string()));
    assert!(stderr.contains("actions completed: 45"), "{stderr}");
    // The first line says what the run will cost: 3 synchronous batches, 1 + 3 × 2 requests.
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "45 actions on organization {ORG}: at least 7 requests"
        )),
        "{stderr}"
    );
}

#[tokio::test]
async fn action_batches_names_the_failed_batch_and_exits_1() {
    let dashboard = dashboard().await;
    // Seven batches: five start at once; the API refuses the first outright (an action without
    // a path), before any other finishes, so the last two are held back.
    let mut lines: Vec<String> = actions(700).lines().map(str::to_owned).collect();
    lines[30] = r#"{"resource": "no path", "operation": "update"}"#.to_owned();
    let input = lines.join("\n");
    let output = run_action_batches(&dashboard, &["--org", ORG], input).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: batch 0 (not accepted, actions 0-99) failed: Every action"),
        "{stderr}"
    );
    let mut statuses: Vec<String> = reports(&output)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [
            "completed",
            "completed",
            "completed",
            "completed",
            "failed",
            "not_submitted",
            "not_submitted"
        ]
    );
    assert!(stderr.contains("not submitted: 200"), "{stderr}");
}

#[tokio::test]
async fn action_batches_refuses_bad_input_in_one_line() {
    let dashboard = dashboard().await;
    let output =
        run_action_batches(&dashboard, &["--org", ORG], "{\"resource\": 3}\n".into()).await;
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.trim().starts_with("error: line 1: not an action"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1);
    let output = run_action_batches(&dashboard, &["--synchronous"], actions(1)).await;
    assert!(String::from_utf8_lossy(&output.stderr).contains("--org"));
}

#[tokio::test]
async fn oauth_login_runs_the_grant_and_the_other_examples_use_its_token_file() {
    use meraki_api::test_util::{AuthorizationServer, TEST_CLIENT_ID, TEST_CLIENT_SECRET};
    use std::io::BufRead;
    let auth = AuthorizationServer::start().await;
    let dir = std::env::temp_dir().join(format!("meraki-login-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("refresh-token");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let redirect = format!("http://127.0.0.1:{port}/callback");
    let mut child = Command::new(example("oauth_login"))
        .args([
            "--redirect-uri",
            &redirect,
            "--scope",
            "dashboard:general:config:read",
        ])
        .env_remove("MERAKI_DASHBOARD_API_KEY")
        .env("MERAKI_OAUTH_CLIENT_ID", TEST_CLIENT_ID)
        .env("MERAKI_OAUTH_CLIENT_SECRET", TEST_CLIENT_SECRET)
        .env("MERAKI_OAUTH_REFRESH_TOKEN_FILE", &file)
        .env("MERAKI_OAUTH_TOKEN_URL", auth.token_url())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo test builds the examples");
    let stdout = child.stdout.take().unwrap();
    let url = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        line.trim().to_owned()
    })
    .await
    .unwrap();
    assert!(
        url.starts_with(&auth.token_url().replace("/token", "/authorize")),
        "{url}"
    );

    // The browser: the authorize page approves and redirects to the example with a code.
    let http = meraki_api::reqwest_builder().unwrap().build().unwrap();
    let approved = http.get(&url).send().await.unwrap();
    assert_eq!(approved.status(), 302);
    let location = approved.headers()["location"].to_str().unwrap().to_owned();
    assert!(location.starts_with(&redirect), "{location}");
    let page = http.get(&location).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let output = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("refresh token saved"), "{stderr}");
    let token = std::fs::read_to_string(&file).unwrap();
    assert!(
        auth.is_current(token.trim()),
        "the file holds the grant's refresh token"
    );
    assert!(!stderr.contains(token.trim()), "the token is not printed");

    // Another example, with the OAuth variables and no key: it refreshes and rewrites the file.
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 1, 0)
        .batch_runtime(Duration::from_millis(200))
        .oauth(&auth)
        .start()
        .await;
    let mut command = Command::new(example("action_batches"));
    command
        .args(["--org", ORG])
        .env_remove("MERAKI_DASHBOARD_API_KEY")
        .env("MERAKI_DASHBOARD_API_BASE_URL", dashboard.base_url())
        .env("MERAKI_OAUTH_CLIENT_ID", TEST_CLIENT_ID)
        .env("MERAKI_OAUTH_CLIENT_SECRET", TEST_CLIENT_SECRET)
        .env("MERAKI_OAUTH_REFRESH_TOKEN_FILE", &file)
        .env("MERAKI_OAUTH_TOKEN_URL", auth.token_url())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let input = actions(3);
    let output = tokio::task::spawn_blocking(move || {
        let mut child = command.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(dashboard.counts().actions, 3);
    let rotated = std::fs::read_to_string(&file).unwrap();
    assert_ne!(rotated.trim(), token.trim());
    assert!(auth.is_current(rotated.trim()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn webhook_receiver_prints_valid_alerts_and_refuses_the_rest() {
    use std::io::BufRead;
    let mut child = Command::new(example("webhook_receiver"))
        .args(["--listen", "127.0.0.1:0"])
        .env("MERAKI_WEBHOOK_SECRET", "secret")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo test builds the examples");
    let stderr = child.stderr.take().unwrap();
    let (address, stderr) = tokio::task::spawn_blocking(move || {
        let mut reader = std::io::BufReader::new(stderr);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        (
            line.trim().trim_start_matches("listening on ").to_owned(),
            reader,
        )
    })
    .await
    .unwrap();
    let url = format!("http://{address}/");
    let http = meraki_api::reqwest_builder().unwrap().build().unwrap();
    let sample = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/webhooks/settings_changed.json"),
    )
    .unwrap();
    let post = |body: Vec<u8>, bearer: Option<&str>| {
        let mut request = http
            .post(&url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(secret) = bearer {
            request = request.bearer_auth(secret);
        }
        request.send()
    };
    assert_eq!(post(sample.clone(), None).await.unwrap().status(), 200);
    let wrong = String::from_utf8(sample.clone())
        .unwrap()
        .replace("\"secret\"", "\"guess\"");
    assert_eq!(post(wrong.into_bytes(), None).await.unwrap().status(), 401);
    let mut bare: serde_json::Value = serde_json::from_slice(&sample).unwrap();
    bare.as_object_mut().unwrap().remove("sharedSecret");
    let bare = serde_json::to_vec(&bare).unwrap();
    assert_eq!(post(bare.clone(), None).await.unwrap().status(), 401);
    assert_eq!(
        post(bare.clone(), Some("guess")).await.unwrap().status(),
        401
    );
    assert_eq!(post(b"junk".to_vec(), None).await.unwrap().status(), 401);
    assert_eq!(post(bare, Some("secret")).await.unwrap().status(), 200);
    assert_eq!(http.get(&url).send().await.unwrap().status(), 405);
    let _ = child.kill();
    let output = tokio::task::spawn_blocking(move || {
        drop(stderr);
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    for line in &lines {
        assert_eq!(line["alertTypeId"], "settings_changed");
        assert!(
            line.get("sharedSecret").is_none(),
            "the secret is not printed"
        );
    }
    assert!(!stdout.contains("secret\""), "{stdout}");
}

#[tokio::test]
async fn action_batches_plan_prints_what_would_change_and_submits_nothing() {
    let dashboard = dashboard().await;
    let network = format!("N_{ORG}_0");
    // Two renames to the name it has, one to a new name: 1 change, 2 no-ops, 1 read.
    let input = [
        json_line(&network, "network N_549236_0"),
        json_line(&network, "Store 1"),
        json_line(&network, "Store 1"),
    ]
    .concat();
    let output = run_action_batches(&dashboard, &["--org", ORG, "--plan"], input.clone()).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let lines = reports(&output);
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["kind"], "no_change");
    assert_eq!(lines[0]["changes"], serde_json::json!([]));
    assert_eq!(lines[1]["kind"], "update");
    assert_eq!(
        lines[1]["changes"],
        serde_json::json!([{"field": "name", "from": "network N_549236_0", "to": "Store 1"}])
    );
    assert_eq!(lines[2]["kind"], "no_change", "after the rename before it");
    assert!(
        stderr.contains("plan: 3 actions, 1 resources read, 1 fields would change, 2 no-ops"),
        "{stderr}"
    );
    assert_eq!(dashboard.counts().batches, 0, "a plan submits nothing");

    // --skip-unchanged runs only the rename.
    let output = run_action_batches(&dashboard, &["--org", ORG, "--skip-unchanged"], input).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("running the 1 actions that change something (2 no-ops skipped)"),
        "{stderr}"
    );
    assert_eq!(dashboard.counts().actions, 1);
}

fn json_line(network: &str, name: &str) -> String {
    let action = serde_json::json!({
        "resource": format!("/networks/{network}"),
        "operation": "update",
        "body": {"name": name},
    });
    format!("{action}\n")
}

/// Piped into a reader that stops at once (`| head -0`), an example ends quietly: no panic,
/// no error, exit code 0.
#[test]
fn an_example_whose_reader_goes_away_ends_quietly() {
    let mut child = Command::new(example("quickstart"))
        .env_remove("MERAKI_DASHBOARD_API_KEY")
        .env_remove("MERAKI_OAUTH_CLIENT_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cargo test builds the examples");
    // No reader from here on: every write to stdout fails with a broken pipe.
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A failure prints the error and, on lines of their own, its causes.
#[test]
fn an_example_prints_the_error_and_its_causes() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let output = Command::new(example("licenses"))
        .args(["--org", ORG])
        .env("MERAKI_DASHBOARD_API_KEY", FIXTURE_API_KEY)
        .env(
            "MERAKI_DASHBOARD_API_BASE_URL",
            format!("http://127.0.0.1:{port}/api/v1"),
        )
        .output()
        .expect("cargo test builds the examples");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    let error = lines
        .iter()
        .position(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(lines[error].contains("127.0.0.1"), "{stderr}");
    assert!(
        lines[error + 1..]
            .iter()
            .any(|l| l.starts_with("  caused by: ")),
        "{stderr}"
    );
}
