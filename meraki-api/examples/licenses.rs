//! Streams every license of an organization as JSON lines.
//!
//! ```text
//! cargo run -p meraki-api --example licenses -- --org ID [--state S] [--per-page N] [--max-pages N]
//! ```
//!
//! Reads `MERAKI_DASHBOARD_API_KEY` and `MERAKI_DASHBOARD_API_BASE_URL` (http allowed there on this machine, so
//! a local server can stand in for the API). Summary on stderr; exit code 1 on failure.

mod common;

use meraki_api::prelude::*;

/// Streams every license of an organization as JSON lines.
#[derive(clap::Parser, Debug)]
struct Args {
    /// The organization's id.
    #[arg(long)]
    org: String,
    /// Only licenses in this state (active, expired, unused, ...).
    #[arg(long)]
    state: Option<String>,
    #[command(flatten)]
    paging: common::Paging,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), common::Failure> {
    let args: Args = common::parse();
    let client = common::client()?;
    let mut request = client
        .get_organization_licenses()
        .organization_id(args.org.as_str());
    if let Some(state) = &args.state {
        request = request.state(state.as_str());
    }
    if let Some(per_page) = args.paging.per_page {
        request = request.per_page(per_page);
    }
    let mut paginator = request.into_paginator();
    if let Some(max) = args.paging.max_pages() {
        paginator = paginator.max_pages(max);
    }
    common::print_pages(&client, paginator.pages()).await
}
