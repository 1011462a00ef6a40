//! What the examples share: argument parsing, the client, output and the summary.

// Each example compiles this module on its own and uses a part of it.
#![allow(dead_code)]

use std::io::Write;
use std::time::Instant;

use meraki_api::pagination::Page;
use meraki_api::Client;
use serde::Serialize;

/// What the streaming examples share on their command line.
#[derive(clap::Args, Debug)]
pub struct Paging {
    /// Items per page (the API's range applies, e.g. 3-1000).
    #[arg(long, value_name = "N")]
    pub per_page: Option<i64>,
    /// Stop after this many pages.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_pages: Option<u64>,
}

impl Paging {
    /// `--max-pages` as a count.
    pub fn max_pages(&self) -> Option<usize> {
        self.max_pages
            .map(|n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// Parses the command line as `T`; `--help` prints and exits 0, a bad argument prints one
/// readable error and exits 1 (clap's own exit code would be 2).
pub fn parse<T: clap::Parser>() -> T {
    T::try_parse().unwrap_or_else(|e| {
        if e.use_stderr() {
            // clap's message up to its usage lines, on one line.
            let text = e.to_string();
            let line: Vec<&str> = text
                .lines()
                .take_while(|l| !l.trim().is_empty())
                .map(|l| l.trim().trim_start_matches("error: "))
                .collect();
            eprintln!("error: {}", line.join(" "));
            std::process::exit(1);
        }
        let _ = e.print();
        std::process::exit(0)
    })
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
pub fn client() -> Result<Client, Failure> {
    trace_to_stderr();
    #[allow(unused_mut)]
    let mut builder = Client::builder_from_env().caller("MerakiApiExamples/0.1 MerakiApiRust");
    // Built with `--features redis`, several examples at once share one budget.
    #[cfg(feature = "redis")]
    if let Ok(url) = std::env::var("MERAKI_RATE_LIMIT_REDIS_URL") {
        builder = builder.rate_limit(meraki_api::RateLimitConfig::default().redis(url));
    }
    Ok(builder.build()?)
}

/// Streams pages to stdout, one JSON object per line, then a summary to stderr.
pub async fn print_pages<T, S>(client: &Client, mut pages: S) -> Result<(), Failure>
where
    T: Serialize,
    S: futures_util::Stream<Item = Result<Page<T>, meraki_api::Error>> + Unpin,
{
    use futures_util::TryStreamExt;
    let started = Instant::now();
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let (mut items, mut count) = (0usize, 0usize);
    while let Some(page) = pages.try_next().await? {
        count += 1;
        for item in &page.items {
            serde_json::to_writer(&mut out, item)?;
            out.write_all(b"\n")?;
            items += 1;
        }
    }
    out.flush()?;
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

/// What an example's run fails with: any error (the client's, I/O, JSON, or a message).
pub type Failure = Box<dyn std::error::Error + Send + Sync>;

/// Runs `main`'s body: on failure, exit code 1 and the error with each cause on a line of its
/// own. Output piped into a reader that stops early (`| head`) ends the run quietly.
pub fn exit(result: Result<(), Failure>) -> std::process::ExitCode {
    let Err(error) = result else {
        return std::process::ExitCode::SUCCESS;
    };
    let mut chain = vec![error.to_string()];
    let mut broken_pipe = false;
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error.as_ref());
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            broken_pipe |= io.kind() == std::io::ErrorKind::BrokenPipe;
        }
        if let Some(json) = current.downcast_ref::<serde_json::Error>() {
            broken_pipe |= json.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe);
        }
        cause = current.source();
        if let Some(next) = cause {
            let text = next.to_string();
            // Errors that quote their cause say it once.
            if !chain.iter().any(|line| line.contains(&text)) {
                chain.push(text);
            }
        }
    }
    if broken_pipe {
        return std::process::ExitCode::SUCCESS;
    }
    eprintln!("error: {}", chain[0]);
    for cause in &chain[1..] {
        eprintln!("  caused by: {cause}");
    }
    std::process::ExitCode::FAILURE
}
