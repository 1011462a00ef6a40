//! Lists an organization's licenses and cellular data profiles.
//!
//! ```text
//! cargo run -p meraki-api --example quickstart                 # offline: replays recorded fixtures
//! MERAKI_DASHBOARD_API_KEY=... cargo run -p meraki-api --example quickstart -- --org 123456
//! ```
//!
//! Without `MERAKI_DASHBOARD_API_KEY` it starts a local server on 127.0.0.1 that replays the
//! recorded exchanges in `tests/fixtures`, and says so. With `RUST_LOG=meraki_api=debug` the
//! client's tracing goes to stderr.

mod common;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use futures_util::TryStreamExt;
use meraki_api::prelude::*;
use meraki_api::test_util::{Fixture, ReplayServer};

/// The organization the recorded fixtures belong to.
const FIXTURE_ORG: &str = "549236";

#[tokio::main]
async fn main() -> ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), common::Failure> {
    common::trace_to_stderr();
    let org_arg = org_from_args()?;
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    // A key, or an integration's OAuth credentials (`meraki_api::oauth::OAuthCredentials::from_env`).
    let live = std::env::var_os(meraki_api::auth::API_KEY_ENV).is_some()
        || std::env::var_os(meraki_api::oauth::CLIENT_ID_ENV).is_some();
    // Keeps the replay server alive for the whole run.
    let mut _replay = None;
    let (client, org) = if live {
        let org = org_arg.ok_or("live mode needs `-- --org ORGANIZATION_ID`")?;
        let client = Client::builder_from_env()
            .caller("MerakiApiQuickstart/0.1 MerakiApiRust")
            .build()?;
        writeln!(
            out,
            "live: calling the Dashboard API for organization {org}"
        )?;
        (client, org)
    } else {
        // The workspace's recorded fixtures (a link in the workspace, a copy in the package).
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let names = [
            "licenses/page1",
            "licenses/page2",
            "cellular_profiles/page1",
            "cellular_profiles/page2",
        ];
        let fixtures = names
            .iter()
            .map(|n| Fixture::load(&dir.join(format!("{n}.json"))))
            .collect::<Result<Vec<_>, _>>()?;
        let server = ReplayServer::start(&fixtures, None).await;
        writeln!(
            out,
            "offline: {} is not set, so this replays recorded responses from a local server at {}",
            meraki_api::auth::API_KEY_ENV,
            server.base_url()
        )?;
        let client = server.client();
        _replay = Some(server);
        (client, FIXTURE_ORG.to_owned())
    };

    writeln!(out, "\nLicenses of organization {org}:")?;
    let mut licenses = client
        .get_organization_licenses()
        .organization_id(org.as_str())
        .per_page(3)
        .into_paginator()
        .items();
    let mut count = 0;
    while let Some(license) = licenses.try_next().await? {
        count += 1;
        writeln!(
            out,
            "  {:<6} {:<10} {:<16} {:<15} expires {}",
            license.id.as_deref().unwrap_or("?"),
            license.license_type.as_deref().unwrap_or("?"),
            license
                .state
                .as_ref()
                .map_or("?".to_owned(), |s| s.to_string()),
            license.device_serial.as_deref().unwrap_or("(unassigned)"),
            license.expiration_date.as_deref().unwrap_or("?"),
        )?;
    }
    writeln!(out, "  {count} licenses")?;

    writeln!(out, "\nCellular data profiles:")?;
    let mut pages = client
        .get_organization_devices_cellular_data_profiles()
        .organization_id(org.as_str())
        .per_page(3)
        .into_paginator()
        .pages();
    while let Some(page) = pages.try_next().await? {
        for profile in &page.items {
            let rules: Vec<String> = profile
                .rules
                .iter()
                .map(|r| {
                    let slot = r.slot.as_ref().map_or("?".to_owned(), |s| s.to_string());
                    let resets = r
                        .cap
                        .as_ref()
                        .and_then(|c| c.term.as_ref())
                        .and_then(|t| t.resets.as_ref())
                        .map_or("?".to_owned(), |s| s.to_string());
                    format!("{slot} resets {resets}")
                })
                .collect();
            writeln!(
                out,
                "  {:<4} {:<26} {}",
                profile.profile_id.as_deref().unwrap_or("?"),
                profile.name.as_deref().unwrap_or("?"),
                rules.join(", ")
            )?;
        }
        if let Some(counts) = page.counts {
            writeln!(
                out,
                "  (page {}: {} of {} total, {} remaining)",
                page.number,
                page.items.len(),
                counts.total.map_or("?".into(), |n| n.to_string()),
                counts.remaining.map_or("?".into(), |n| n.to_string())
            )?;
        }
    }
    let stats = client.stats();
    writeln!(
        out,
        "\n{} requests, {} retries",
        stats.requests, stats.retries
    )?;
    Ok(())
}

/// Regenerates-and-tries the client: offline against recorded exchanges without a key, or
/// against the live API with `MERAKI_DASHBOARD_API_KEY`.
#[derive(clap::Parser, Debug)]
struct Args {
    /// The organization to read (live mode); offline mode uses the recorded one.
    #[arg(long)]
    org: Option<String>,
}

fn org_from_args() -> Result<Option<String>, common::Failure> {
    let args: Args = common::parse();
    Ok(args.org)
}
