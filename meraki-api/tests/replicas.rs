//! Two OS processes sharing one OAuth grant for 30 s, with access tokens that live 1 s: through
//! one token file (and, with feature `redis`, one Redis store). Neither ends, the server never
//! sees a refresh token used twice, and the store ends holding the grant's current token.
//!
//! The processes are this test binary run again: `replica_worker` does the work when
//! `MERAKI_TEST_REPLICA` says what to do, and nothing otherwise.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use meraki_api::oauth::{OAuthApp, OAuthCredentials, TokenStore};
use meraki_api::prelude::*;
use meraki_api::test_util::{
    AuthorizationServer, SimulatedDashboard, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
};
use serde::{Deserialize, Serialize};

#[cfg(feature = "redis")]
#[path = "support/redis_server.rs"]
mod redis_server;
#[cfg(feature = "redis")]
use redis_server::RedisServer;

const ORG: &str = "549236";
const RUN: Duration = Duration::from_secs(30);
const ENV: &str = "MERAKI_TEST_REPLICA";

#[derive(Serialize, Deserialize)]
struct Job {
    base_url: String,
    token_url: String,
    /// A token file, or `redis://...` and a key.
    store: Store,
    seconds: u64,
}

#[derive(Serialize, Deserialize)]
enum Store {
    File(String),
    Redis(String, String),
}

#[derive(Serialize, Deserialize, Debug)]
struct Outcome {
    calls: u64,
    failures: Vec<String>,
    refreshes: u64,
    ended: bool,
}

/// The worker: calls the API for `seconds`, then prints what happened.
#[tokio::test]
async fn replica_worker() {
    let Ok(job) = std::env::var(ENV) else {
        return;
    };
    let job: Job = serde_json::from_str(&job).unwrap();
    let app = OAuthApp::new(TEST_CLIENT_ID, TEST_CLIENT_SECRET)
        .and_then(|app| app.token_url(&job.token_url))
        .unwrap();
    let store: Arc<dyn TokenStore> = match &job.store {
        Store::File(path) => Arc::new(meraki_api::oauth::FileTokenStore::new(path)),
        #[cfg(feature = "redis")]
        Store::Redis(url, key) => {
            Arc::new(meraki_api::oauth::RedisTokenStore::new(url, key).unwrap())
        }
        #[cfg(not(feature = "redis"))]
        Store::Redis(..) => panic!("built without feature redis"),
    };
    let client = meraki_api::Client::builder()
        .base_url(&job.base_url)
        .oauth(OAuthCredentials::new(app, ArcStore(store)))
        .build()
        .unwrap();
    let mut outcome = Outcome {
        calls: 0,
        failures: Vec::new(),
        refreshes: 0,
        ended: false,
    };
    let until = tokio::time::Instant::now() + Duration::from_secs(job.seconds);
    while tokio::time::Instant::now() < until {
        outcome.calls += 1;
        let result = client
            .get_organization_networks()
            .organization_id(ORG)
            .call()
            .await;
        if let Err(e) = result {
            if let meraki_api::Error::OAuth { error, .. } = &e {
                outcome.ended |= error.needs_new_grant();
            }
            outcome.failures.push(e.to_string());
            if outcome.ended {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    outcome.refreshes = client.stats().oauth_refreshes;
    println!("REPLICA {}", serde_json::to_string(&outcome).unwrap());
}

/// A shared `dyn TokenStore` as a store.
struct ArcStore(Arc<dyn TokenStore>);

impl TokenStore for ArcStore {
    fn load(&self) -> meraki_api::oauth::StoreFuture<'_, Option<meraki_api::oauth::Secret>> {
        self.0.load()
    }
    fn save<'a>(
        &'a self,
        token: &'a meraki_api::oauth::Secret,
    ) -> meraki_api::oauth::StoreFuture<'a, ()> {
        self.0.save(token)
    }
    fn lock(&self) -> meraki_api::oauth::StoreFuture<'_, meraki_api::oauth::StoreLock> {
        self.0.lock()
    }
}

/// Runs two workers on `store` while sampling it with `current`; returns their outcomes.
async fn two_replicas(
    auth: &AuthorizationServer,
    dashboard: &SimulatedDashboard,
    store: Store,
    current: impl Fn() -> Option<String>,
) -> Vec<Outcome> {
    let job = serde_json::to_string(&Job {
        base_url: dashboard.base_url(),
        token_url: auth.token_url(),
        store,
        seconds: RUN.as_secs(),
    })
    .unwrap();
    let children: Vec<_> = (0..2)
        .map(|_| {
            Command::new(std::env::current_exe().unwrap())
                .args([
                    "replica_worker",
                    "--exact",
                    "--nocapture",
                    "--test-threads=1",
                ])
                .env(ENV, &job)
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap()
        })
        .collect();
    // Whatever moment it is read, the store holds a whole token this grant was issued.
    let mut samples = 0;
    let sampling = tokio::time::Instant::now();
    while sampling.elapsed() < RUN {
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(token) = current() {
            assert!(auth.issued(&token), "the store holds a token never issued");
            samples += 1;
        }
    }
    assert!(samples > 0);
    let mut outcomes = Vec::new();
    for child in children {
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .unwrap()
            .unwrap();
        assert!(
            output.status.success(),
            "a replica failed: {:?}",
            output.status
        );
        let stdout = String::from_utf8_lossy(&output.stdout);
        let line = stdout
            .lines()
            .find_map(|l| l.split_once("REPLICA ").map(|(_, outcome)| outcome))
            .unwrap_or_else(|| panic!("no outcome in {stdout}"));
        outcomes.push(serde_json::from_str(line).unwrap());
    }
    outcomes
}

fn assert_both_went_on(auth: &AuthorizationServer, outcomes: &[Outcome], token: Option<String>) {
    for outcome in outcomes {
        assert!(!outcome.ended, "a replica lost the grant: {outcome:?}");
        assert!(outcome.calls > 10, "{outcome:?}");
        assert!(outcome.refreshes >= 5, "{outcome:?}");
    }
    let counts = auth.counts();
    assert_eq!(
        counts.invalid_grants, 0,
        "a refresh token was used twice: {counts:?}"
    );
    let token = token.expect("the store holds a token");
    assert!(
        auth.is_current(&token),
        "the store ends with the current token"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_token_file() {
    if std::env::var(ENV).is_ok() {
        return;
    }
    let auth = AuthorizationServer::builder()
        .access_token_lifetime(Duration::from_secs(1))
        .start()
        .await;
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 3, 0)
        .oauth(&auth)
        .start()
        .await;
    let dir = std::env::temp_dir().join(format!("meraki-replicas-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("refresh-token");
    let grant = auth.grant(&["dashboard:general:config:read"]);
    std::fs::write(&file, grant.expose()).unwrap();
    let read = || {
        std::fs::read_to_string(&file)
            .ok()
            .map(|t| t.trim().to_owned())
    };
    let outcomes = two_replicas(
        &auth,
        &dashboard,
        Store::File(file.display().to_string()),
        read,
    )
    .await;
    assert_both_went_on(&auth, &outcomes, read());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "redis")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_share_one_redis_store() {
    if std::env::var(ENV).is_ok() {
        return;
    }
    let redis = RedisServer::start();
    let auth = AuthorizationServer::builder()
        .access_token_lifetime(Duration::from_secs(1))
        .start()
        .await;
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 3, 0)
        .oauth(&auth)
        .start()
        .await;
    let url = format!("redis://127.0.0.1:{}/0", redis.port);
    let key = "meraki-test:refresh-token";
    let store = meraki_api::oauth::RedisTokenStore::new(&url, key).unwrap();
    store
        .save(&auth.grant(&["dashboard:general:config:read"]))
        .await
        .unwrap();
    let read_client = redis::Client::open(url.as_str()).unwrap();
    let read = move || {
        let mut connection = read_client.get_connection().ok()?;
        redis::cmd("GET")
            .arg(key)
            .query::<Option<String>>(&mut connection)
            .ok()?
    };
    let outcomes = two_replicas(
        &auth,
        &dashboard,
        Store::Redis(url.clone(), key.to_owned()),
        &read,
    )
    .await;
    assert_both_went_on(&auth, &outcomes, read());
}
