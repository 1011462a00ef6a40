//! What the examples share: argument parsing, the client, output and the summary.

// Each example compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use std::io::Write;
use std::time::Instant;

use meraki_api::pagination::Page;
use meraki_api::Client;
use serde::Serialize;

/// `--name value` pairs, repeatable, in order.
pub struct Args(Vec<(String, String)>);

impl Args {
    /// Parses `--flag value` pairs, accepting only `allowed` flags.
    pub fn parse(allowed: &[&str]) -> Result<Self, String> {
        Self::parse_with_switches(allowed, &[])
    }

    /// Parses `--flag value` pairs for `allowed` flags and lone `--switch`es.
    pub fn parse_with_switches(allowed: &[&str], switches: &[&str]) -> Result<Self, String> {
        let mut pairs = Vec::new();
        let mut args = std::env::args().skip(1);
        while let Some(flag) = args.next() {
            let name = flag.strip_prefix("--").unwrap_or_default();
            if switches.contains(&name) {
                pairs.push((name.to_owned(), String::new()));
                continue;
            }
            if !allowed.contains(&name) {
                let all: Vec<&str> = allowed.iter().chain(switches).copied().collect();
                return Err(format!(
                    "unknown argument `{flag}` (expected one of --{})",
                    all.join(", --")
                ));
            }
            let value = args
                .next()
                .ok_or_else(|| format!("`{flag}` needs a value"))?;
            pairs.push((name.to_owned(), value));
        }
        Ok(Self(pairs))
    }

    /// Whether the `--name` switch was given.
    pub fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }

    /// Every value given for `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// The last value given for `name`.
    pub fn get(&self, name: &str) -> Option<String> {
        self.all(name).pop()
    }

    /// A required value.
    pub fn require(&self, name: &str) -> Result<String, String> {
        self.get(name)
            .ok_or_else(|| format!("`--{name} VALUE` is required"))
    }

    /// `--max-pages N`, a positive count.
    pub fn max_pages(&self) -> Result<Option<usize>, String> {
        self.number("max-pages")?
            .map(|n| {
                usize::try_from(n)
                    .ok()
                    .filter(|n| *n > 0)
                    .ok_or("`--max-pages` must be positive".to_owned())
            })
            .transpose()
    }

    /// An optional number.
    pub fn number(&self, name: &str) -> Result<Option<i64>, String> {
        self.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("`--{name}` takes a number, not `{v}`"))
            })
            .transpose()
    }
}

/// With `RUST_LOG` set (`RUST_LOG=meraki_api=debug`), the client's spans and events go to
/// stderr: every call with its organization, attempts, status and `X-Request-Id`, every
/// retry, 429 wait, redirect, lookup and page.
pub fn trace_to_stderr() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

/// A client from `MERAKI_DASHBOARD_API_KEY` and `MERAKI_DASHBOARD_API_BASE_URL`, tracing to
/// stderr when `RUST_LOG` is set.
pub fn client() -> Result<Client, String> {
    trace_to_stderr();
    Client::builder_from_env()
        .caller("MerakiApiExamples/0.1 MerakiApiRust")
        .build()
        .map_err(|e| e.to_string())
}

/// Streams pages to stdout, one JSON object per line, then a summary to stderr.
pub async fn print_pages<T, S>(client: &Client, mut pages: S) -> Result<(), String>
where
    T: Serialize,
    S: futures_util::Stream<Item = Result<Page<T>, meraki_api::Error>> + Unpin,
{
    use futures_util::TryStreamExt;
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut items, mut count) = (0usize, 0usize);
    while let Some(page) = pages.try_next().await.map_err(|e| e.to_string())? {
        count += 1;
        for item in &page.items {
            serde_json::to_writer(&mut out, item).map_err(|e| e.to_string())?;
            out.write_all(b"\n").map_err(|e| e.to_string())?;
            items += 1;
        }
    }
    out.flush().map_err(|e| e.to_string())?;
    let stats = client.stats();
    eprintln!(
        "items: {items}, pages: {count}, requests: {}, retries: {}, throttled: {}, elapsed: {:.2?}",
        stats.requests,
        stats.retries,
        stats.throttled,
        started.elapsed()
    );
    Ok(())
}

/// Runs `main`'s body: exit code 1 and one readable line on failure.
pub fn exit(result: Result<(), String>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
