//! A call's life around the transport: the organization it counts against (`owners`), the
//! attempts (`transport`), and one `call` span that says how it ended. Every request takes
//! this path: generated operations (`.call()`, `.send()`), paginators, raw calls and action
//! batches.

use reqwest::Request;

use crate::pacing::Lane;
use crate::transport::{ClientState, Exchange, Failure};

/// Sends `request` paced by its organization, in a span naming the operation (`path` is its
/// template; a raw call's own path).
pub(crate) async fn send(
    state: &ClientState,
    http: &reqwest::Client,
    request: Request,
    operation: &'static str,
    path: &str,
) -> Result<Exchange, Failure> {
    use tracing::field::Empty;
    let span = tracing::debug_span!(
        target: "meraki_api",
        "call",
        operation,
        method = %request.method(),
        path,
        organization = Empty,
        attempts = Empty,
        status = Empty,
        request_id = Empty,
        elapsed_ms = Empty,
        error = Empty,
    );
    let started = tokio::time::Instant::now();
    let call = async {
        // A write that dry-run mode withholds goes nowhere: no need to find its organization.
        let pace = if state.withholds(&request) {
            state.pacer().global()
        } else {
            crate::owners::pace_for(state, http, request.url()).await
        };
        let span = tracing::Span::current();
        match &pace.lane {
            Lane::Organization(org) => span.record("organization", &**org),
            Lane::Unresolved => span.record("organization", "unresolved"),
            Lane::Global | Lane::Lookup => &span,
        };
        let result = state.send(http, request, &pace).await;
        span.record("elapsed_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(exchange) => {
                span.record("status", exchange.status.as_u16());
                span.record("attempts", exchange.attempts);
                if let Some(id) = request_id(&exchange.headers) {
                    span.record("request_id", id);
                }
            }
            Err(Failure::Transport { source, attempts }) => {
                span.record("attempts", attempts);
                span.record("error", tracing::field::display(source));
            }
            Err(Failure::RedirectRefused { host, attempts }) => {
                span.record("attempts", attempts);
                span.record(
                    "error",
                    tracing::field::display(format_args!("refused a redirect to {host}")),
                );
            }
            Err(Failure::NotSent(_)) => {
                span.record("attempts", 0);
            }
            Err(Failure::Auth(error)) => {
                span.record("attempts", 0);
                span.record("error", tracing::field::display(error));
            }
        }
        result
    };
    tracing::Instrument::instrument(call, span).await
}

/// The `X-Request-Id` of an answer.
pub(crate) fn request_id(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    headers.get("x-request-id").and_then(|v| v.to_str().ok())
}
