//! Receives Meraki's webhook alerts: each valid one is printed as one JSON line on stdout.
//!
//! ```text
//! MERAKI_WEBHOOK_SECRET=... cargo run -p meraki-api --example webhook_receiver -- --listen 127.0.0.1:8080
//! ```
//!
//! Alerts are POSTed to `/`. One whose shared secret (in the body, or `Authorization: Bearer`
//! from a payload template) is right gets `200` and is printed; a wrong or missing secret gets
//! `401` and nothing is printed. Bodies over 1 MiB get `413`. The shared secret is never printed.
//! Put it behind a TLS-terminating proxy: Meraki sends alerts to an https URL.

mod common;

use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use meraki_api::webhook::{WebhookVerifier, MAX_BODY_BYTES};

/// Receive webhook alerts and print them as JSON lines.
#[derive(clap::Parser, Debug)]
struct Args {
    /// Address to listen on (`127.0.0.1:8080`; port 0 picks one, printed on stderr).
    #[arg(long)]
    listen: SocketAddr,
    /// The payload template sends the secret bare in this header instead of
    /// `Authorization: Bearer`.
    #[arg(long, value_name = "NAME")]
    secret_header: Option<String>,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run(common::parse()).await)
}

async fn run(args: Args) -> Result<(), common::Failure> {
    let mut verifier = WebhookVerifier::from_env()?;
    if let Some(name) = &args.secret_header {
        verifier = verifier.secret_header(name)?;
    }
    let verifier = Arc::new(verifier);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
    let address = listener.local_addr()?;
    eprintln!("listening on {address}");
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let verifier = verifier.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let verifier = verifier.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(&verifier, request).await) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await;
        });
    }
}

async fn handle(verifier: &WebhookVerifier, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let answer = |status: StatusCode| {
        let mut response = Response::new(Full::new(Bytes::new()));
        *response.status_mut() = status;
        response
    };
    if request.uri().path() != "/" {
        return answer(StatusCode::NOT_FOUND);
    }
    if request.method() != Method::POST {
        return answer(StatusCode::METHOD_NOT_ALLOWED);
    }
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return answer(StatusCode::PAYLOAD_TOO_LARGE),
    };
    match verifier.verify(&parts.headers, &body) {
        Ok(alert) => {
            let line = serde_json::to_string(&alert).unwrap_or_else(|_| "{}".into());
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
            answer(StatusCode::OK)
        }
        Err(error) => {
            eprintln!("refused an alert: {error}");
            answer(error.status())
        }
    }
}
