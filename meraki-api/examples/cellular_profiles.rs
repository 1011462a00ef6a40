//! Streams an organization's cellular data profiles as JSON lines.
//!
//! ```text
//! cargo run -p meraki-api --example cellular_profiles -- --org ID [--profile-id X]... [--serial S]... [--per-page N] [--max-pages N]
//! ```
//!
//! Reads `MERAKI_DASHBOARD_API_KEY` and `MERAKI_DASHBOARD_API_BASE_URL` (http allowed there on this machine).
//! Summary on stderr; exit code 1 on failure.

mod common;

use meraki_api::prelude::*;

/// Streams an organization's cellular data profiles as JSON lines.
#[derive(clap::Parser, Debug)]
struct Args {
    /// The organization's id.
    #[arg(long)]
    org: String,
    /// Only this profile (repeatable).
    #[arg(long = "profile-id", value_name = "ID")]
    profile_ids: Vec<String>,
    /// Only profiles of this device (repeatable).
    #[arg(long = "serial", value_name = "SERIAL")]
    serials: Vec<String>,
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
        .get_organization_devices_cellular_data_profiles()
        .organization_id(args.org.as_str());
    if !args.profile_ids.is_empty() {
        request = request.profile_ids(args.profile_ids);
    }
    if !args.serials.is_empty() {
        request = request.serials(args.serials);
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
