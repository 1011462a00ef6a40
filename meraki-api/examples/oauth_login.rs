//! Grants this integration access once (OAuth 2.0 authorization code) and saves the refresh
//! token, so the other examples (and your services) can authenticate with OAuth.
//!
//! ```text
//! export MERAKI_OAUTH_CLIENT_ID=... MERAKI_OAUTH_CLIENT_SECRET=...
//! export MERAKI_OAUTH_REFRESH_TOKEN_FILE=$HOME/.config/meraki/refresh-token
//! cargo run -p meraki-api --example oauth_login -- --scope dashboard:general:config:read
//! ```
//!
//! It prints the authorize URL (open it, sign in, approve), receives the code on the loopback
//! redirect URI (`--redirect-uri`, registered with the integration), exchanges it and writes the
//! refresh token file. `MERAKI_OAUTH_TOKEN_URL` points it at another authorization server.

mod common;

use std::time::Duration;

use meraki_api::oauth::{
    FileTokenStore, OAuthApp, TokenStore, CLIENT_ID_ENV, CLIENT_SECRET_ENV, REFRESH_TOKEN_FILE_ENV,
    TOKEN_URL_ENV,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Grant this integration access and save its refresh token.
#[derive(clap::Parser, Debug)]
struct Args {
    /// The redirect URI registered with the integration; must be http on this machine's
    /// loopback, where this program listens for the code.
    #[arg(long, default_value = "http://127.0.0.1:8400/callback")]
    redirect_uri: String,
    /// A scope to ask for (repeat for several), as Meraki names them.
    #[arg(long = "scope", value_name = "SCOPE", default_values_t = ["dashboard:general:config:read".to_string()])]
    scopes: Vec<String>,
    /// How long to wait for the browser, in seconds.
    #[arg(long, default_value_t = 600)]
    wait: u64,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run(common::parse()).await)
}

fn env(name: &str) -> Result<String, common::Failure> {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{name} is not set").into())
}

async fn run(args: Args) -> Result<(), common::Failure> {
    common::trace_to_stderr();
    let mut app = OAuthApp::new(env(CLIENT_ID_ENV)?, env(CLIENT_SECRET_ENV)?)?;
    if let Ok(url) = env(TOKEN_URL_ENV) {
        app = app.token_url(&url)?;
    }
    let store = FileTokenStore::new(env(REFRESH_TOKEN_FILE_ENV)?);
    let redirect = reqwest::Url::parse(&args.redirect_uri)
        .map_err(|e| format!("--redirect-uri `{}`: {e}", args.redirect_uri))?;
    let loopback = matches!(
        redirect.host_str(),
        Some("127.0.0.1" | "localhost" | "[::1]")
    );
    if redirect.scheme() != "http" || !loopback {
        return Err(
            "--redirect-uri must be http://127.0.0.1:PORT/... (this program receives the code)"
                .into(),
        );
    }
    let port = redirect.port().unwrap_or(80);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|e| format!("cannot listen on 127.0.0.1:{port}: {e}"))?;
    let request = app.authorization_request(redirect.as_str(), &args.scopes)?;
    eprintln!("Open this URL, sign in and approve; waiting on {redirect} ...");
    println!("{}", request.url());

    let wait = Duration::from_secs(args.wait);
    let query = tokio::time::timeout(wait, receive_code(&listener, redirect.path()))
        .await
        .map_err(|_| format!("no answer from the browser within {} s", args.wait))??;
    let code = request.code_from_query(&query)?;
    let tokens = app.exchange_code(&code, request.redirect_uri()).await?;
    store
        .save(&tokens.refresh_token)
        .await
        .map_err(|e| format!("the refresh token could not be saved: {e}"))?;
    eprintln!(
        "access granted (scopes: {}); refresh token saved to {}",
        tokens.scope.as_deref().unwrap_or("?"),
        store.path().display()
    );
    Ok(())
}

/// Waits for the browser's `GET <path>?code=...&state=...` and answers it; other requests
/// (a favicon) get 404. Returns the query.
async fn receive_code(
    listener: &tokio::net::TcpListener,
    path: &str,
) -> Result<String, common::Failure> {
    loop {
        let (mut stream, _) = listener.accept().await?;
        let mut head = Vec::new();
        let mut buffer = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let head = String::from_utf8_lossy(&head);
        let target = head
            .lines()
            .next()
            .and_then(|line| line.strip_prefix("GET "))
            .and_then(|rest| rest.split(' ').next())
            .unwrap_or("");
        let (target_path, query) = target.split_once('?').unwrap_or((target, ""));
        let ours = target_path == path && !query.is_empty();
        let (status, text) = if ours {
            ("200 OK", "Access granted. You can close this window.")
        } else {
            ("404 Not Found", "Not found.")
        };
        let answer = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
        let _ = stream.write_all(answer.as_bytes()).await;
        let _ = stream.shutdown().await;
        if ours {
            return Ok(query.to_owned());
        }
    }
}
