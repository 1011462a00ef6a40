//! OAuth 2.0 against the local authorization server (Meraki's rules: expiry, rotation,
//! revocation, `invalid_grant` on reuse) and a simulated Dashboard that wants access tokens.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryStreamExt;
use meraki_api::oauth::{
    FileTokenStore, MemoryTokenStore, OAuthCredentials, OAuthError, Secret, StoreFuture, TokenStore,
};
use meraki_api::prelude::*;
use meraki_api::test_util::{AuthorizationServer, SimulatedDashboard};
use meraki_api::Error;

const ORG: &str = "549236";

async fn dashboard(auth: &AuthorizationServer, networks: usize) -> SimulatedDashboard {
    SimulatedDashboard::builder()
        .organization(ORG, networks, 0)
        .oauth(auth)
        .start()
        .await
}

fn client(dashboard: &SimulatedDashboard, credentials: OAuthCredentials) -> Client {
    dashboard
        .client_builder_without_key()
        .oauth(credentials)
        .build()
        .unwrap()
}

async fn list_networks(client: &Client) -> Result<usize, Error> {
    Ok(client
        .get_organization_networks()
        .organization_id(ORG)
        .call()
        .await?
        .len())
}

fn oauth_error(error: Error) -> OAuthError {
    match error {
        Error::OAuth { error, .. } => error,
        other => panic!("expected an OAuth error, got {other}"),
    }
}

#[tokio::test]
async fn a_long_stream_outlives_its_access_tokens_and_delivers_every_item_once() {
    let auth = AuthorizationServer::builder()
        .access_token_lifetime(Duration::from_secs(1))
        .start()
        .await;
    let dashboard = dashboard(&auth, 45).await;
    let store = Arc::new(MemoryTokenStore::new(
        auth.grant(&["dashboard:general:config:read"]),
    ));
    let client = client(&dashboard, OAuthCredentials::new(auth.app(), store.clone()));
    // 15 pages at the organization's 10/s, with a pause now and then: tokens expire mid-stream.
    let mut pages = client
        .get_organization_networks()
        .organization_id(ORG)
        .per_page(3)
        .into_paginator()
        .pages();
    let mut seen = HashSet::new();
    let mut count = 0;
    while let Some(page) = pages.try_next().await.unwrap() {
        count += 1;
        for network in page.items {
            assert!(seen.insert(network.id.unwrap()), "an item came twice");
        }
        if count % 5 == 0 {
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }
    assert_eq!(seen.len(), 45);
    let counts = auth.counts();
    assert!(counts.refreshes >= 3, "{counts:?}");
    assert_eq!(counts.invalid_grants, 0);
    assert_eq!(client.stats().oauth_refreshes, counts.refreshes);
    // The store holds the grant's current refresh token, the last rotation's.
    assert!(auth.is_current(store.current().unwrap().expose()));
}

#[tokio::test]
async fn each_rotated_refresh_token_is_in_the_file_before_its_access_token_is_used() {
    let auth = AuthorizationServer::start().await;
    let dashboard = dashboard(&auth, 2).await;
    let dir = std::env::temp_dir().join(format!("meraki-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("refresh-token");
    let first = auth.grant(&["dashboard:general:config:read"]);
    std::fs::write(&file, format!("{}\n", first.expose())).unwrap();
    let client = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), FileTokenStore::new(&file)),
    );
    assert_eq!(list_networks(&client).await.unwrap(), 2);
    let saved = std::fs::read_to_string(&file).unwrap();
    assert_ne!(saved.trim(), first.expose(), "rotated");
    assert!(auth.is_current(saved.trim()));
    assert!(
        !auth.is_current(first.expose()),
        "the old token is revoked at once"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// A store whose saves fail while `failing` is set.
struct FlakyStore {
    inner: MemoryTokenStore,
    failing: AtomicBool,
}

impl TokenStore for FlakyStore {
    fn load(&self) -> StoreFuture<'_, Option<Secret>> {
        self.inner.load()
    }

    fn save<'a>(&'a self, token: &'a Secret) -> StoreFuture<'a, ()> {
        if self.failing.load(Ordering::SeqCst) {
            return Box::pin(async { Err(std::io::Error::other("disk full")) });
        }
        self.inner.save(token)
    }
}

#[tokio::test]
async fn no_call_uses_a_new_access_token_until_its_refresh_token_is_saved() {
    let auth = AuthorizationServer::start().await;
    let dashboard = dashboard(&auth, 2).await;
    let store = Arc::new(FlakyStore {
        inner: MemoryTokenStore::new(auth.grant(&["dashboard:general:config:read"])),
        failing: AtomicBool::new(true),
    });
    let client = client(&dashboard, OAuthCredentials::new(auth.app(), store.clone()));
    let error = oauth_error(list_networks(&client).await.unwrap_err());
    assert!(matches!(error, OAuthError::Store(_)), "{error}");
    assert!(error.to_string().contains("disk full"), "{error}");
    assert_eq!(
        dashboard.counts().served,
        0,
        "nothing was sent with the unsaved token"
    );
    assert_eq!(auth.counts().refreshes, 1);

    // The disk is back: the token held in memory is saved, then used; no second refresh.
    store.failing.store(false, Ordering::SeqCst);
    assert_eq!(list_networks(&client).await.unwrap(), 2);
    assert_eq!(auth.counts().refreshes, 1);
    assert!(auth.is_current(store.inner.current().unwrap().expose()));
}

#[tokio::test]
async fn concurrent_calls_share_one_refresh() {
    let auth = AuthorizationServer::start().await;
    let dashboard = SimulatedDashboard::builder()
        .organization(ORG, 2, 0)
        .per_org_limit(1000.0, 1000.0)
        .global_limit(1000.0)
        .oauth(&auth)
        .start()
        .await;
    let store = MemoryTokenStore::new(auth.grant(&["dashboard:general:config:read"]));
    let client = dashboard
        .client_builder_without_key()
        .oauth(OAuthCredentials::new(auth.app(), store))
        .rate_limit(
            meraki_api::RateLimitConfig::default()
                .per_organization(1000.0, 1000.0)
                .global(1000.0, 1000.0),
        )
        .build()
        .unwrap();
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { list_networks(&client).await })
    });
    for call in futures_util::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap(), 2);
    }
    let counts = auth.counts();
    assert_eq!(counts.refreshes, 1, "{counts:?}");
    assert_eq!(counts.invalid_grants, 0, "a refresh token was sent twice");
}

#[tokio::test]
async fn a_401_gets_one_fresh_token_and_the_call_goes_through() {
    let auth = AuthorizationServer::start().await;
    let dashboard = dashboard(&auth, 2).await;
    let store = MemoryTokenStore::new(auth.grant(&["dashboard:general:config:read"]));
    let client = client(&dashboard, OAuthCredentials::new(auth.app(), store));
    assert_eq!(list_networks(&client).await.unwrap(), 2);
    // The server stops accepting the token before it expires.
    auth.expire_access_tokens();
    assert_eq!(list_networks(&client).await.unwrap(), 2);
    assert_eq!(auth.counts().refreshes, 2);
    assert_eq!(dashboard.counts().unauthorized, 1);
    // A write refused with 401 is sent again too: the API did not act on it.
    let renamed = client
        .update_network()
        .network_id(&dashboard.networks(ORG)[0])
        .body_map(|b| b.name("Store 1".to_string()))
        .call()
        .await;
    assert!(renamed.is_ok(), "{renamed:?}");
}

#[tokio::test]
async fn a_refused_or_revoked_grant_is_a_typed_error_and_is_not_retried() {
    let auth = AuthorizationServer::start().await;
    let dashboard = dashboard(&auth, 2).await;

    // The app was removed by an admin: the refresh meets invalid_grant, once.
    let removed = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), MemoryTokenStore::new(auth.grant(&["a:b"]))),
    );
    auth.remove_app();
    let error = oauth_error(list_networks(&removed).await.unwrap_err());
    assert!(matches!(error, OAuthError::InvalidGrant { .. }), "{error}");
    assert!(error.needs_new_grant());
    let error = oauth_error(list_networks(&removed).await.unwrap_err());
    assert!(matches!(error, OAuthError::InvalidGrant { .. }), "{error}");
    assert_eq!(
        auth.counts().invalid_grants,
        1,
        "a refused grant is not tried again"
    );

    // A refresh token used twice (two clients holding the same one): the second is refused.
    let auth = AuthorizationServer::start().await;
    let dashboard = self::dashboard(&auth, 2).await;
    let shared = auth.grant(&["a:b"]);
    let first = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), MemoryTokenStore::new(shared.clone())),
    );
    let second = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), MemoryTokenStore::new(shared)),
    );
    assert_eq!(list_networks(&first).await.unwrap(), 2);
    let error = oauth_error(list_networks(&second).await.unwrap_err());
    assert!(matches!(error, OAuthError::InvalidGrant { .. }), "{error}");

    // Revocation by the client ends its grant at the server and its own calls.
    first.revoke_oauth().await.unwrap();
    assert_eq!(auth.counts().revocations, 1);
    let error = oauth_error(list_networks(&first).await.unwrap_err());
    assert!(matches!(error, OAuthError::Revoked), "{error}");
    assert!(
        first
            .get_organization_networks()
            .organization_id(ORG)
            .send()
            .await
            .is_err(),
        "send() refuses too"
    );
}

#[tokio::test]
async fn the_authorization_code_grant_from_authorize_url_to_tokens() {
    let auth = AuthorizationServer::start().await;
    let app = auth.app();
    let redirect = "http://127.0.0.1:8765/callback";
    let request = app
        .authorization_request(
            redirect,
            &["dashboard:general:config:read", "sm:config:read"],
        )
        .unwrap();
    let url = request.url().clone();
    let query: std::collections::HashMap<_, _> = url.query_pairs().into_owned().collect();
    assert_eq!(url.path(), "/oauth/authorize");
    assert_eq!(query["response_type"], "code");
    assert_eq!(query["client_id"], app.client_id());
    assert_eq!(query["redirect_uri"], redirect);
    assert_eq!(
        query["scope"],
        "dashboard:general:config:read sm:config:read"
    );
    assert_eq!(query["state"].len(), 48);
    let other = app.authorization_request(redirect, &["a:b"]).unwrap();
    assert_ne!(other.state(), request.state(), "state is random");

    // The admin approves; the browser comes back to the redirect URI with a code.
    let http = meraki_api::reqwest_builder().unwrap().build().unwrap();
    let answer = http.get(url).send().await.unwrap();
    assert_eq!(answer.status(), 302);
    let back = reqwest::Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
    let back_query = back.query().unwrap();
    assert!(
        other.code_from_query(back_query).is_err(),
        "another login's state"
    );
    let code = request.code_from_query(back_query).unwrap();
    let tokens = app.exchange_code(&code, redirect).await.unwrap();
    assert!(auth.accepts(tokens.access_token.expose()));
    assert!(auth.is_current(tokens.refresh_token.expose()));
    assert_eq!(tokens.expires_in, Duration::from_secs(3600));
    assert_eq!(
        tokens.scope.as_deref(),
        Some("dashboard:general:config:read sm:config:read"),
        "the scopes asked for"
    );
    let again = app.exchange_code(&code, redirect).await.unwrap_err();
    assert!(
        matches!(again, OAuthError::InvalidGrant { .. }),
        "a code works once: {again}"
    );
    let denied = request
        .code_from_query("error=access_denied&state=x")
        .unwrap_err();
    assert!(denied.to_string().contains("access_denied"), "{denied}");

    // Tokens in hand start a client directly; nothing secret in Debug.
    let dashboard = dashboard(&auth, 2).await;
    let store = MemoryTokenStore::new(tokens.refresh_token.clone());
    let printed = format!("{tokens:?} {app:?}");
    assert!(!printed.contains(tokens.access_token.expose()), "{printed}");
    assert!(
        !printed.contains(tokens.refresh_token.expose()),
        "{printed}"
    );
    assert!(
        !printed.contains(meraki_api::test_util::TEST_CLIENT_SECRET),
        "{printed}"
    );
    let client = client(
        &dashboard,
        OAuthCredentials::new(app, store).with_tokens(tokens),
    );
    assert_eq!(list_networks(&client).await.unwrap(), 2);
    assert_eq!(
        auth.counts().refreshes,
        0,
        "the exchanged access token is used first"
    );
    assert!(!format!("{client:?}").contains("at_"));
}

#[tokio::test]
async fn bad_oauth_configuration_is_a_typed_error() {
    use meraki_api::oauth::OAuthApp;
    let plain = OAuthApp::new("id", "secret")
        .unwrap()
        .token_url("http://as.example.com/oauth/token");
    let error = plain.unwrap_err();
    assert_eq!(error.setting, "oauth.token_url");
    assert!(OAuthApp::new("", "secret").is_err());
    assert!(OAuthApp::new("id", "").is_err());
    let auth = AuthorizationServer::start().await;
    let both = Client::builder()
        .api_key("0123456789abcdef0123456789abcdef01234567")
        .oauth(OAuthCredentials::new(
            auth.app(),
            MemoryTokenStore::default(),
        ))
        .build();
    assert!(matches!(both, Err(Error::Config(e)) if e.setting == "oauth"));
    // An empty store: the first call says to grant access first.
    let dashboard = dashboard(&auth, 1).await;
    let empty = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), MemoryTokenStore::default()),
    );
    let error = oauth_error(list_networks(&empty).await.unwrap_err());
    assert!(matches!(error, OAuthError::NoRefreshToken), "{error}");
}

#[tokio::test]
async fn a_refresh_whose_answer_is_lost_is_reported_as_unknown_not_as_refused() {
    use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy};
    let auth = AuthorizationServer::start().await;
    let dashboard = dashboard(&auth, 2).await;
    // The token endpoint behind a proxy that loses the first answer after the server acted.
    let authority = auth.token_url().replace("/oauth/token", "");
    let proxy = FaultyProxy::start(
        &authority,
        FaultPlan::none().on("POST", "/oauth/token", 1..=1, Fault::LostAnswer),
    )
    .await
    .unwrap();
    let app = auth
        .app()
        .token_url(&format!("{}/oauth/token", proxy.base_url()))
        .unwrap();
    let client = client(
        &dashboard,
        OAuthCredentials::new(app, MemoryTokenStore::new(auth.grant(&["a:b"]))),
    );
    let error = oauth_error(list_networks(&client).await.unwrap_err());
    assert!(
        matches!(
            error,
            OAuthError::Transport {
                refresh_outcome_unknown: true,
                ..
            }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("may have been done"), "{error}");
    assert_eq!(auth.counts().refreshes, 1, "the server rotated the token");
    assert_eq!(dashboard.counts().served, 0);
    // The token held was revoked by that rotation: the next refresh says so, typed.
    let error = oauth_error(list_networks(&client).await.unwrap_err());
    assert!(error.needs_new_grant(), "{error}");
}

#[tokio::test]
async fn processes_sharing_one_token_file_recover_from_each_others_rotations() {
    let auth = AuthorizationServer::start().await;
    let dashboard = dashboard(&auth, 2).await;
    let dir = std::env::temp_dir().join(format!("meraki-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("refresh-token");
    std::fs::write(&file, auth.grant(&["a:b"]).expose()).unwrap();
    let one = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), FileTokenStore::new(&file)),
    );
    let two = client(
        &dashboard,
        OAuthCredentials::new(auth.app(), FileTokenStore::new(&file)),
    );
    assert_eq!(list_networks(&one).await.unwrap(), 2);
    // The second rotates the token the first holds in memory.
    assert_eq!(list_networks(&two).await.unwrap(), 2);
    auth.expire_access_tokens();
    // The first reads the file (under its lock) before refreshing: it refreshes with the
    // newest token, and never meets invalid_grant.
    assert_eq!(list_networks(&one).await.unwrap(), 2);
    let counts = auth.counts();
    assert_eq!(
        (counts.refreshes, counts.invalid_grants),
        (3, 0),
        "{counts:?}"
    );
    assert!(auth.is_current(std::fs::read_to_string(&file).unwrap().trim()));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_call_dropped_mid_refresh_loses_no_token() {
    // The server rotates the refresh token at once and answers half a second later.
    let auth = AuthorizationServer::builder()
        .token_delay(Duration::from_millis(500))
        .start()
        .await;
    let dashboard = dashboard(&auth, 2).await;
    let store = Arc::new(MemoryTokenStore::new(
        auth.grant(&["dashboard:general:config:read"]),
    ));
    let client = client(&dashboard, OAuthCredentials::new(auth.app(), store.clone()));
    let dropped = tokio::time::timeout(Duration::from_millis(100), list_networks(&client)).await;
    assert!(
        dropped.is_err(),
        "the call is dropped while its refresh is under way"
    );
    // The refresh went on without its caller: the next call takes its token, no new grant.
    assert_eq!(list_networks(&client).await.unwrap(), 2);
    let counts = auth.counts();
    assert_eq!(
        (counts.refreshes, counts.invalid_grants),
        (1, 0),
        "{counts:?}"
    );
    let saved = store.current().unwrap();
    assert!(
        auth.is_current(saved.expose()),
        "the rotated token was saved"
    );
    // A process starting afresh from the store goes on too.
    let restarted = client_for_store(&dashboard, &auth, store.clone());
    assert_eq!(list_networks(&restarted).await.unwrap(), 2);
    assert_eq!(auth.counts().invalid_grants, 0);
}

fn client_for_store(
    dashboard: &SimulatedDashboard,
    auth: &AuthorizationServer,
    store: Arc<MemoryTokenStore>,
) -> Client {
    client(dashboard, OAuthCredentials::new(auth.app(), store))
}

#[tokio::test]
async fn a_persistent_401_refreshes_once_not_once_per_call() {
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let auth = AuthorizationServer::start().await;
    // An API that refuses every token (the integration lost its access to the organization).
    let api = MockServer::start().await;
    Mock::given(wiremock::matchers::any())
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_json(serde_json::json!({"errors": ["Unauthorized"]})),
        )
        .mount(&api)
        .await;
    let store = MemoryTokenStore::new(auth.grant(&["dashboard:general:config:read"]));
    let client = meraki_api::Client::builder()
        .base_url(format!("{}/api/v1", api.uri()))
        .oauth(OAuthCredentials::new(auth.app(), store))
        .build()
        .unwrap();
    for _ in 0..5 {
        let error = client
            .get_organization_networks()
            .organization_id(ORG)
            .call()
            .await
            .unwrap_err();
        assert_eq!(error.status().map(|s| s.as_u16()), Some(401), "{error}");
    }
    // The first token, then one fresh one after its 401; a 401 to the fresh one is not about
    // its age and refreshes nothing.
    assert_eq!(auth.counts().refreshes, 2, "{:?}", auth.counts());
}
