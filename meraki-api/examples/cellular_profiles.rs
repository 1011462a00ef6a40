//! Streams an organization's cellular data profiles as JSON lines.
//!
//! ```text
//! cargo run -p meraki-api --example cellular_profiles -- --org ID [--profile-id X]... [--serial S]... [--per-page N] [--max-pages N]
//! ```
//!
//! Reads `MERAKI_DASHBOARD_API_KEY` and `MERAKI_DASHBOARD_API_BASE_URL` (http allowed there).
//! Summary on stderr; exit code 1 on failure.

mod common;

use meraki_api::prelude::*;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), String> {
    let args = common::Args::parse(&["org", "profile-id", "serial", "per-page", "max-pages"])?;
    let client = common::client()?;
    let mut request = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id(args.require("org")?);
    let (profile_ids, serials) = (args.all("profile-id"), args.all("serial"));
    if !profile_ids.is_empty() {
        request = request.profile_ids(profile_ids);
    }
    if !serials.is_empty() {
        request = request.serials(serials);
    }
    if let Some(per_page) = args.number("per-page")? {
        request = request.per_page(per_page);
    }
    let mut paginator = request.into_paginator();
    if let Some(max) = args.max_pages()? {
        paginator = paginator.max_pages(max);
    }
    common::print_pages(&client, paginator.pages()).await
}
