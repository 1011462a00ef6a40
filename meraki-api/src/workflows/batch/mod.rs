//! Action batches, the API's own bulk writes: up to 100 actions in one atomic request (20
//! when synchronous), at most 5 confirmed batches running per organization.
//!
//! Every batchable operation's builder turns into a typed [`Action`] with
//! [`Batchable::into_action`]: the resource path built and encoded exactly as the request
//! would be, the operation name from Meraki's `x-batchable-actions` list, the typed body, and
//! the same parameter checks as `.call()`. A [`BatchRunner`] then runs any number of actions
//! on one organization.
//!
//! No batch is guessed at. Each is created unconfirmed (a batch that is not confirmed never
//! runs) and then confirmed with an update, which is safe to send again: a creation whose answer
//! is lost leaves at most an unconfirmed batch, which the runner deletes, and a confirmation
//! whose answer is lost is sent again or read back. Only ids this run obtained are its own, so
//! a second run of the same job never reports the first run's batch.
//!
//! ```no_run
//! # async fn demo(client: meraki_api::Client) -> Result<(), meraki_api::Error> {
//! use futures_util::StreamExt;
//! use meraki_api::batch::{Batchable, BatchOutcome};
//! use meraki_api::prelude::*;
//!
//! let mut actions = Vec::new();
//! for policy_object in ["101", "102", "103"] {
//!     let delete = client
//!         .delete_organization_policy_object()
//!         .organization_id("549236")
//!         .policy_object_id(policy_object);
//!     actions.push(delete.into_action()?);
//! }
//! let mut reports = client.action_batches("549236").run(actions);
//! while let Some(report) = reports.next().await {
//!     if let BatchOutcome::Failed { errors } = &report.outcome {
//!         eprintln!("batch {:?} failed: {errors:?}", report.id);
//!     }
//! }
//! # Ok(()) }
//! ```

pub(crate) mod action;
mod estimate;
mod report;
mod submit;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};

pub use action::{Action, Batchable};
pub use estimate::Estimate;
pub use report::{BatchOutcome, BatchReport};

use crate::Client;
use progenitor_client::ClientInfo as _;

/// Most actions in one batch.
pub const MAX_ACTIONS: usize = 100;
/// Most actions in one synchronous batch.
pub const MAX_SYNCHRONOUS_ACTIONS: usize = 20;
/// Most confirmed batches the API runs at once for one organization.
pub const MAX_RUNNING: usize = 5;

/// Runs actions on one organization in batches (see [`Client::action_batches`]).
#[derive(Debug, Clone)]
#[must_use = "a runner does nothing until `run` is called"]
pub struct BatchRunner {
    client: Client,
    organization_id: String,
    synchronous: bool,
    batch_size: Option<usize>,
    max_running: usize,
    continue_after_failure: bool,
    first_poll: Duration,
    max_poll: Duration,
    timeout: Duration,
}

impl Client {
    /// A runner for action batches on `organization_id`: splits actions into batches of at
    /// most 100 (20 synchronous), keeps at most 5 running, confirms them, polls each one's
    /// status with backoff, and reports every batch as it finishes.
    pub fn action_batches(&self, organization_id: impl Into<String>) -> BatchRunner {
        BatchRunner {
            client: self.clone(),
            organization_id: organization_id.into(),
            synchronous: false,
            batch_size: None,
            max_running: MAX_RUNNING,
            continue_after_failure: false,
            first_poll: Duration::from_secs(1),
            max_poll: Duration::from_secs(10),
            // The API gives a confirmed batch 10 minutes to complete.
            timeout: Duration::from_secs(11 * 60),
        }
    }
}

type Running = Pin<Box<dyn Future<Output = BatchReport> + Send + 'static>>;

impl BatchRunner {
    /// Synchronous batches (at most 20 actions each): the API answers when the batch is done.
    pub fn synchronous(mut self, on: bool) -> Self {
        self.synchronous = on;
        self
    }

    /// Actions per batch (default and most: 100, or 20 synchronous). Batches are atomic:
    /// smaller ones fail in smaller pieces.
    pub fn batch_size(mut self, actions: usize) -> Self {
        self.batch_size = Some(actions);
        self
    }

    /// Batches running at once (default and most: 5, the API's limit per organization).
    pub fn max_running(mut self, batches: usize) -> Self {
        self.max_running = batches;
        self
    }

    /// Whether to keep submitting batches after one failed (default: no, since later
    /// batches may depend on it; those not submitted yet are reported as not submitted).
    /// Batches already running when one fails run on: batches that run side by side are not
    /// ordered, so for actions that depend on earlier batches, use `max_running(1)`.
    pub fn continue_after_failure(mut self, on: bool) -> Self {
        self.continue_after_failure = on;
        self
    }

    /// How often a running batch's status is read: every `first` five times, then 1.5 times
    /// longer each time up to `max` (default 1 s and 10 s).
    pub fn poll_interval(mut self, first: Duration, max: Duration) -> Self {
        self.first_poll = first;
        self.max_poll = max.max(first);
        self
    }

    /// How long a batch may take, from its confirmation, before its outcome is reported
    /// unknown (default 11 minutes: the API completes or fails a confirmed batch within 10).
    /// Waiting for a slot to submit it is bounded by the same duration, apart.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    fn size(&self) -> usize {
        let most = if self.synchronous {
            MAX_SYNCHRONOUS_ACTIONS
        } else {
            MAX_ACTIONS
        };
        self.batch_size.unwrap_or(most).clamp(1, most)
    }

    /// What running `actions` actions will take at least: requests, and their time at the
    /// organization's budget now (and the status reads' waits). Say it before a long job.
    pub fn estimate(&self, actions: usize) -> Estimate {
        let batches = actions.div_ceil(self.size());
        let requests = estimate::batch_requests(batches, self.synchronous);
        // Batches run `max_running` at once; each waits `first_poll` for its first status read.
        let waves = batches.div_ceil(self.max_running.max(1)) as u32;
        let floor = if self.synchronous {
            Duration::ZERO
        } else {
            self.first_poll.saturating_mul(waves)
        };
        let budget = self.client.inner().pacer().budget(&self.organization_id);
        Estimate::new(requests, budget, floor)
    }

    /// Runs `actions` in order; yields each batch's report as it finishes.
    pub fn run(self, actions: Vec<Action>) -> impl Stream<Item = BatchReport> + Send + 'static {
        let estimate = self.estimate(actions.len());
        tracing::info!(
            target: "meraki_api",
            organization = %self.organization_id,
            actions = actions.len(),
            requests = estimate.requests,
            seconds = estimate.duration.as_secs_f64(),
            "action batches: {estimate}"
        );
        let size = self.size();
        let mut queue = VecDeque::new();
        let mut actions = actions.into_iter();
        let mut first_action = 0;
        loop {
            let batch: Vec<Action> = actions.by_ref().take(size).collect();
            if batch.is_empty() {
                break;
            }
            let len = batch.len();
            queue.push_back((queue.len(), first_action, batch));
            first_action += len;
        }
        let state = RunState {
            run: Arc::new(submit::Run::new(self)),
            queue,
            running: FuturesUnordered::new(),
            stopped: None,
        };
        Box::pin(futures_util::stream::unfold(
            state,
            |mut state| async move {
                let report = state.next_report().await?;
                Some((report, state))
            },
        ))
    }

    /// The client the runner sends with.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Runs `actions` to the end and returns every batch's report, in batch order.
    pub async fn run_to_end(self, actions: Vec<Action>) -> Vec<BatchReport> {
        let mut reports: Vec<BatchReport> = self.run(actions).collect().await;
        reports.sort_by_key(|r| r.index);
        reports
    }
}

struct RunState {
    run: Arc<submit::Run>,
    queue: VecDeque<(usize, usize, Vec<Action>)>,
    running: FuturesUnordered<Running>,
    /// Why no more batches are submitted.
    stopped: Option<String>,
}

impl RunState {
    async fn next_report(&mut self) -> Option<BatchReport> {
        while self.stopped.is_none() && self.running.len() < self.run.runner.max_running.max(1) {
            let Some((index, first_action, actions)) = self.queue.pop_front() else {
                break;
            };
            let run = self.run.clone();
            self.running.push(Box::pin(async move {
                run.batch(index, first_action, actions).await
            }));
        }
        if let Some(report) = self.running.next().await {
            if self.stopped.is_none() {
                match &report.outcome {
                    BatchOutcome::Failed { .. } | BatchOutcome::Unknown { .. }
                        if !self.run.runner.continue_after_failure =>
                    {
                        self.stopped = Some(format!(
                            "batch {} ({}) {} and later batches may depend on it",
                            report.index,
                            report.id.as_deref().unwrap_or("no id"),
                            if matches!(report.outcome, BatchOutcome::Failed { .. }) {
                                "failed"
                            } else {
                                "has an unknown outcome"
                            }
                        ));
                    }
                    BatchOutcome::NotSubmitted { reason } => {
                        self.stopped = Some(reason.clone());
                    }
                    _ => {}
                }
            }
            return Some(report);
        }
        let (index, first_action, actions) = self.queue.pop_front()?;
        Some(BatchReport {
            index,
            id: None,
            first_action,
            actions,
            outcome: BatchOutcome::NotSubmitted {
                reason: self.stopped.clone().unwrap_or_default(),
            },
            removed_leftovers: Vec::new(),
            leftovers_note: None,
        })
    }
}
