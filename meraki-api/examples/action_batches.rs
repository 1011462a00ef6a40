//! Runs actions on an organization through action batches.
//!
//! ```text
//! cargo run -p meraki-api --example action_batches -- --org ID [--synchronous] [--continue] < actions.jsonl
//! cargo run -p meraki-api --example action_batches -- --org ID --plan < actions.jsonl
//! ```
//!
//! Reads one action per line on stdin, `{"resource": "/networks/N_1", "operation": "update",
//! "body": {...}}`, runs them in batches of at most 100 (20 with `--synchronous`), at most 5
//! at once, and prints one JSON line per finished batch on stdout (its index, id, first
//! action, actions and status) and a summary on stderr. After a failed batch the rest is not
//! submitted, unless `--continue`. Exit code 1, with one line naming the failed batch, if any
//! batch did not complete.
//!
//! With `--plan` nothing is submitted: each update's resource is read (once) and one JSON line
//! per action says what would change (`kind`, and `changes`: field, from, to; empty for a
//! no-op), then a summary on stderr. `--skip-unchanged` plans first and runs only the actions
//! that would change something.
//!
//! Reads `MERAKI_DASHBOARD_API_KEY` and `MERAKI_DASHBOARD_API_BASE_URL` (http allowed there on this machine).

mod common;

use std::io::{BufRead, Write};
use std::time::Instant;

use futures_util::StreamExt;
use meraki_api::batch::{Action, BatchOutcome};

/// Runs actions (JSON lines on stdin) on an organization through action batches.
#[derive(clap::Parser, Debug)]
struct Args {
    /// The organization's id.
    #[arg(long)]
    org: String,
    /// Synchronous batches (at most 20 actions each).
    #[arg(long)]
    synchronous: bool,
    /// Keep submitting after a batch failed or its outcome stayed unknown.
    #[arg(long = "continue")]
    continue_after_failure: bool,
    /// Submit nothing: print what each action would change.
    #[arg(long, conflicts_with = "skip_unchanged")]
    plan: bool,
    /// Plan first, and run only the actions that would change something.
    #[arg(long)]
    skip_unchanged: bool,
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    common::exit(run().await)
}

async fn run() -> Result<(), common::Failure> {
    let args: Args = common::parse();
    let org = args.org;
    let mut actions = read_actions(std::io::stdin().lock())?;
    let client = common::client()?;
    let started = Instant::now();
    if args.plan || args.skip_unchanged {
        let plan = client.action_batches(org.as_str()).plan(&actions).await;
        if args.plan {
            let stdout = std::io::stdout();
            let mut out = stdout.lock();
            for planned in &plan.actions {
                serde_json::to_writer(&mut out, planned)?;
                writeln!(out)?;
            }
            out.flush()?;
            eprintln!("{}, elapsed: {:.2?}", plan.summary(), started.elapsed());
            return Ok(());
        }
        let before = actions.len();
        actions = plan.changing_actions();
        eprintln!(
            "{}; running the {} actions that change something ({} no-ops skipped)",
            plan.summary(),
            actions.len(),
            before - actions.len()
        );
        if actions.is_empty() {
            return Ok(());
        }
    }
    let runner = client
        .action_batches(org.as_str())
        .synchronous(args.synchronous)
        .continue_after_failure(args.continue_after_failure);
    eprintln!(
        "{} actions on organization {org}: {}",
        actions.len(),
        runner.estimate(actions.len())
    );
    let mut reports = runner.run(actions);
    let stdout = std::io::stdout();
    let (mut batches, mut completed, mut failed, mut unknown, mut not_submitted) = (0, 0, 0, 0, 0);
    let mut first_failure = None;
    while let Some(report) = reports.next().await {
        let mut out = stdout.lock();
        serde_json::to_writer(&mut out, &report)?;
        writeln!(out).and_then(|()| out.flush())?;
        batches += 1;
        let (what, detail) = match &report.outcome {
            BatchOutcome::Completed { .. } => {
                completed += report.actions.len();
                continue;
            }
            BatchOutcome::Failed { errors } => {
                failed += report.actions.len();
                ("failed", errors.join("; "))
            }
            BatchOutcome::Unknown { reason } => {
                unknown += report.actions.len();
                (
                    "has an unknown outcome (it may have run: check before running it again)",
                    reason.clone(),
                )
            }
            _ => {
                not_submitted += report.actions.len();
                continue;
            }
        };
        first_failure.get_or_insert_with(|| {
            format!(
                "batch {} ({}, actions {}-{}) {what}: {detail}",
                report.index,
                report.id.as_deref().unwrap_or(match report.outcome {
                    BatchOutcome::Failed { .. } => "not accepted",
                    _ => "no id known",
                }),
                report.first_action,
                report.first_action + report.actions.len() - 1,
            )
        });
    }
    let stats = client.stats();
    eprintln!(
        "batches: {batches}, actions completed: {completed}, failed: {failed}, unknown: {unknown}, not submitted: {not_submitted}, requests: {}, throttled: {}, elapsed: {:.2?}",
        stats.requests,
        stats.throttled,
        started.elapsed()
    );
    match first_failure {
        Some(failure) => Err(failure.into()),
        None if not_submitted > 0 => {
            Err(format!("{not_submitted} actions were not submitted").into())
        }
        None => Ok(()),
    }
}

/// One action per non-empty line; a line that is not an action is named by its number.
fn read_actions(input: impl BufRead) -> Result<Vec<Action>, common::Failure> {
    let mut actions = Vec::new();
    for (number, line) in input.lines().enumerate() {
        let line = line.map_err(|e| format!("cannot read stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let action: Action = serde_json::from_str(&line)
            .map_err(|e| format!("line {}: not an action ({e})", number + 1))?;
        actions.push(action);
    }
    if actions.is_empty() {
        return Err("no actions on stdin (one JSON object per line)".into());
    }
    Ok(actions)
}
