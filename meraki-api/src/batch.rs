//! Action batches, the API's own bulk writes: up to 100 actions in one atomic request (20
//! when synchronous), at most 5 confirmed batches running per organization.
//!
//! Every batchable operation's builder turns into a typed [`Action`] with
//! [`Batchable::into_action`]: the resource path built and encoded exactly as the request
//! would be, the operation name from Meraki's `x-batchable-actions` list, the typed body, and
//! the same parameter checks as `.call()`. A [`BatchRunner`] then runs any number of actions
//! on one organization.
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

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures_core::Stream;
use futures_util::stream::{FuturesUnordered, StreamExt};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tokio::time::Instant;

use crate::error::{Error, InvalidRequest};
use crate::operation::{Operation, OperationSpec};
use crate::Client;

/// Most actions in one batch.
pub const MAX_ACTIONS: usize = 100;
/// Most actions in one synchronous batch.
pub const MAX_SYNCHRONOUS_ACTIONS: usize = 20;
/// Most confirmed batches the API runs at once for one organization.
pub const MAX_RUNNING: usize = 5;

/// Status reads at the first poll interval before the interval grows.
const STEADY_POLLS: u32 = 5;

/// One action of a batch, as the API takes it: `{"resource", "operation", "body"}`. Its
/// `Debug` masks secret-looking body fields ([`crate::mask_secrets`]); it is sent whole.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Action {
    /// The resource path, below the base URL: `/networks/N_1/devices`.
    pub resource: String,
    /// `create`, `update`, `destroy`, or a verb such as `claim`.
    pub operation: String,
    /// The request body, if the operation takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
}

impl std::fmt::Debug for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Action")
            .field("resource", &self.resource)
            .field("operation", &self.operation)
            .field("body", &self.body.as_ref().map(crate::mask_secrets))
            .finish()
    }
}

/// A batch's actions as reports show them: secret-looking body fields masked.
fn masked_actions<S: serde::Serializer>(
    actions: &[Action],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = serializer.serialize_seq(Some(actions.len()))?;
    for action in actions {
        seq.serialize_element(&Action {
            resource: action.resource.clone(),
            operation: action.operation.clone(),
            body: action.body.as_ref().map(crate::mask_secrets),
        })?;
    }
    seq.end()
}

/// An operation that action batches can carry (generated for every operation in Meraki's
/// `x-batchable-actions` list). Sealed, like [`Operation`].
pub trait Batchable: Operation {
    /// The action this call would be, checked as `.call()` checks it; nothing is sent.
    fn into_action(self) -> Result<Action, Error> {
        let (client, request) = self.into_parts();
        action_from(Self::SPEC, &client, request?)
    }
}

/// The action a batchable operation's request would be.
fn action_from(
    spec: &'static OperationSpec,
    client: &Client,
    request: reqwest::Request,
) -> Result<Action, Error> {
    use progenitor_client::ClientInfo as _;
    let invalid = |message: String| {
        Error::InvalidRequest(InvalidRequest {
            operation: spec.operation_id,
            parameter: None,
            message,
        })
    };
    let Some(batch) = spec.batch else {
        return Err(invalid(
            "the API does not take this operation in action batches".into(),
        ));
    };
    if let Some(query) = request.url().query() {
        return Err(invalid(format!(
            "action batches cannot carry query parameters (`{query}`)"
        )));
    }
    let body = match request.body().map(|b| b.as_bytes()) {
        None => None,
        Some(Some(bytes)) => Some(
            serde_json::from_slice(bytes)
                .map_err(|e| invalid(format!("the body is not JSON: {e}")))?,
        ),
        Some(None) => return Err(invalid("the body is a stream, not JSON".into())),
    };
    // The resource is the request path cut to the template's length: `/networks/N_1` for
    // `POST /networks/N_1/split`, the whole path for `create`, `update`, `destroy`, `claim`.
    let path = client.inner().relative_path(request.url());
    let segments = batch.resource.split('/').count();
    let resource = path.split('/').take(segments).collect::<Vec<_>>().join("/");
    Ok(Action {
        resource,
        operation: batch.operation.to_owned(),
        body,
    })
}

/// What became of one batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BatchOutcome {
    /// Every action ran.
    Completed {
        /// What the API says the batch created.
        created_resources: Vec<Value>,
    },
    /// The API said the batch failed as a whole (batches are atomic: none of its actions
    /// took effect), or refused it when it was submitted.
    Failed {
        /// The API's errors.
        errors: Vec<String>,
    },
    /// Not submitted: nothing of it reached the API (an earlier batch failed, see
    /// [`BatchRunner::continue_after_failure`]; the API kept answering 429; dry-run mode).
    NotSubmitted {
        /// Why.
        reason: String,
    },
    /// The client cannot know what became of the batch: its submission's answer was lost and
    /// the organization's batches could not be listed, or its status could not be read
    /// before its time ran out. It may have run: look it up (the report's `id`, or
    /// `getOrganizationActionBatches`) before applying its actions again.
    Unknown {
        /// What is known, and what is not.
        reason: String,
    },
}

impl BatchOutcome {
    /// `completed`, `failed`, `not_submitted` or `unknown`, as reports print it.
    pub fn status(&self) -> &'static str {
        match self {
            BatchOutcome::Completed { .. } => "completed",
            BatchOutcome::Failed { .. } => "failed",
            BatchOutcome::NotSubmitted { .. } => "not_submitted",
            BatchOutcome::Unknown { .. } => "unknown",
        }
    }
}

/// One batch's report: which actions it held and what became of them. Every action given to
/// the runner is in exactly one report. Printed (`Debug`) or serialized, its actions' bodies
/// have secret-looking fields masked ([`crate::mask_secrets`]); `actions` holds them whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BatchReport {
    /// 0 for the first batch.
    pub index: usize,
    /// The API's batch id, once submitted.
    pub id: Option<String>,
    /// Where this batch's actions start in the list given to the runner.
    pub first_action: usize,
    /// The batch's actions, in order.
    #[serde(serialize_with = "masked_actions")]
    pub actions: Vec<Action>,
    /// What became of them.
    #[serde(flatten)]
    pub outcome: BatchOutcome,
}

impl BatchReport {
    /// Whether every action of the batch ran.
    pub fn completed(&self) -> bool {
        matches!(self.outcome, BatchOutcome::Completed { .. })
    }
}

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
    /// Ids of batches this run found after a lost answer, so two batches of the same actions
    /// are not both taken for one.
    claimed: Arc<Mutex<HashSet<String>>>,
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
            claimed: Arc::default(),
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

    /// Runs `actions` in order; yields each batch's report as it finishes.
    pub fn run(self, actions: Vec<Action>) -> impl Stream<Item = BatchReport> + Send + 'static {
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
            runner: self,
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

    /// What `actions` would change, read from the organization's current state; nothing is
    /// submitted ([`crate::plan`]). [`crate::plan::Plan::changing_actions`] drops the no-ops
    /// before a real run.
    pub async fn plan(&self, actions: &[Action]) -> crate::plan::Plan {
        self.client.plan().actions(actions).await
    }

    /// Runs `actions` to the end and returns every batch's report, in batch order.
    pub async fn run_to_end(self, actions: Vec<Action>) -> Vec<BatchReport> {
        let mut reports: Vec<BatchReport> = self.run(actions).collect().await;
        reports.sort_by_key(|r| r.index);
        reports
    }
}

struct RunState {
    runner: BatchRunner,
    queue: VecDeque<(usize, usize, Vec<Action>)>,
    running: FuturesUnordered<Running>,
    /// Why no more batches are submitted.
    stopped: Option<String>,
}

impl RunState {
    async fn next_report(&mut self) -> Option<BatchReport> {
        while self.stopped.is_none() && self.running.len() < self.runner.max_running.max(1) {
            let Some((index, first_action, actions)) = self.queue.pop_front() else {
                break;
            };
            let runner = self.runner.clone();
            self.running.push(Box::pin(async move {
                runner.run_batch(index, first_action, actions).await
            }));
        }
        if let Some(report) = self.running.next().await {
            if self.stopped.is_none() {
                match &report.outcome {
                    BatchOutcome::Failed { .. } | BatchOutcome::Unknown { .. }
                        if !self.runner.continue_after_failure =>
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
        })
    }
}

/// The parts of an action batch the runner reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchState {
    id: Option<String>,
    #[serde(default)]
    status: Option<BatchStatus>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BatchStatus {
    #[serde(default)]
    completed: bool,
    #[serde(default)]
    failed: bool,
    #[serde(default)]
    errors: Option<Vec<Value>>,
    #[serde(default)]
    created_resources: Option<Vec<Value>>,
}

impl BatchRunner {
    async fn run_batch(
        &self,
        index: usize,
        first_action: usize,
        actions: Vec<Action>,
    ) -> BatchReport {
        let started = Instant::now();
        let (id, outcome) = self.submit_and_wait(&actions).await;
        tracing::info!(
            target: "meraki_api",
            organization = %self.organization_id,
            batch = index,
            id = id.as_deref(),
            actions = actions.len(),
            status = outcome.status(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "action batch finished"
        );
        BatchReport {
            index,
            id,
            first_action,
            actions,
            outcome,
        }
    }

    fn batches_path(&self) -> String {
        format!("/organizations/{}/actionBatches", self.organization_id)
    }

    async fn submit_and_wait(&self, actions: &[Action]) -> (Option<String>, BatchOutcome) {
        let submitted = match self.submit(actions).await {
            Submitted::Batch(state) => state,
            Submitted::Not(outcome) => return (None, outcome),
        };
        // The API gives a confirmed batch its time from confirmation (the submission).
        let confirmed = Instant::now();
        let Some(id) = submitted.id else {
            return (
                None,
                BatchOutcome::Unknown {
                    reason: "the API accepted the batch but gave no id".into(),
                },
            );
        };
        let status = submitted.status.unwrap_or_default();
        let outcome = self.wait_for(&id, status, confirmed).await;
        (Some(id), outcome)
    }

    /// Submits the batch (confirmed). Waits for a slot while the API says too many batches
    /// run. When the answer is lost, finds out from the organization's list of batches
    /// whether it was created, and submits it again only when it was not.
    async fn submit(&self, actions: &[Action]) -> Submitted {
        let path = self.batches_path();
        let body = json!({
            "confirmed": true,
            "synchronous": self.synchronous,
            "actions": actions,
        });
        let slot_wait_started = Instant::now();
        let mut wait = self.first_poll;
        let mut lost_answers = 0;
        loop {
            let result = self
                .client
                .raw(Method::POST, &path)
                .json(&body)
                .decode_as::<BatchState>()
                .call()
                .await;
            let lost = match result {
                Ok(state) => return Submitted::Batch(state),
                // Another client may be running this organization's batches too: wait for a
                // slot (the batch's own time has not started).
                Err(Error::Api(e))
                    if e.messages.iter().any(|m| m.contains("executing batches"))
                        && slot_wait_started.elapsed().saturating_add(wait) < self.timeout =>
                {
                    tokio::time::sleep(wait).await;
                    wait = self.next_poll(wait);
                    continue;
                }
                Err(e @ (Error::DryRun { .. } | Error::RateLimited(_))) => {
                    // Refused without acting (a 429 outlasting the retries), or dry run.
                    return Submitted::Not(BatchOutcome::NotSubmitted {
                        reason: e.to_string(),
                    });
                }
                Err(Error::Transport(e)) if e.source.is_connect() => {
                    return Submitted::Not(BatchOutcome::NotSubmitted {
                        reason: format!("could not connect: {}", Error::Transport(e)),
                    });
                }
                Err(Error::Api(e)) if !e.status.is_server_error() => {
                    // The API refused the batch: nothing ran.
                    let errors = if e.messages.is_empty() {
                        vec![e.to_string()]
                    } else {
                        e.messages
                    };
                    return Submitted::Not(BatchOutcome::Failed { errors });
                }
                // Lost or cut answers, gateway errors, an answer that does not decode: the
                // batch may exist.
                Err(e) => e,
            };
            lost_answers += 1;
            tracing::info!(
                target: "meraki_api",
                organization = %self.organization_id,
                error = %lost,
                "action batch submission's answer lost: looking for the batch"
            );
            match self.find_submitted(actions).await {
                Ok(Some(state)) => return Submitted::Batch(state),
                Ok(None) if lost_answers < MAX_RESUBMISSIONS => {
                    // Not created: safe to submit again.
                    tokio::time::sleep(wait).await;
                }
                Ok(None) => {
                    return Submitted::Not(BatchOutcome::NotSubmitted {
                        reason: format!(
                            "{lost_answers} submissions lost and none created: last error: {lost}"
                        ),
                    })
                }
                Err(e) => {
                    return Submitted::Not(BatchOutcome::Unknown {
                        reason: format!(
                            "the submission's answer was lost ({lost}) and the organization's \
                             batches could not be listed ({e})"
                        ),
                    })
                }
            }
        }
    }

    /// The batch this runner submitted with `actions`, if the organization has it: the same
    /// actions, in order, and not yet claimed by another batch of this run.
    async fn find_submitted(&self, actions: &[Action]) -> Result<Option<BatchState>, Error> {
        let ours = serde_json::to_value(actions).unwrap_or(Value::Null);
        // A submission still on its way may show a moment later: look twice.
        for look in 0..2 {
            if look > 0 {
                tokio::time::sleep(self.first_poll).await;
            }
            let batches = self
                .client
                .raw(Method::GET, self.batches_path())
                .decode_as::<Vec<ListedBatch>>()
                .call()
                .await?;
            let mut claimed = self.claimed.lock().unwrap_or_else(PoisonError::into_inner);
            let unclaimed = |b: &ListedBatch| b.id.as_ref().is_some_and(|id| !claimed.contains(id));
            // The same actions, bodies included; or, where the API shows bodies otherwise than
            // they were sent, the only batch of the same resources and operations.
            let (exact, alike): (Vec<ListedBatch>, Vec<ListedBatch>) = batches
                .into_iter()
                .filter(|b| unclaimed(b) && same_actions(&b.actions, &ours, false))
                .partition(|b| same_actions(&b.actions, &ours, true));
            let found = match (exact.into_iter().next(), alike.len()) {
                (Some(batch), _) => Some(batch),
                (None, 1) => alike.into_iter().next(),
                (None, _) => None,
            };
            if let Some(batch) = found {
                if let Some(id) = &batch.id {
                    claimed.insert(id.clone());
                }
                return Ok(Some(BatchState {
                    id: batch.id,
                    status: batch.status,
                }));
            }
        }
        Ok(None)
    }

    /// Reads the batch's status until it completes or fails, within the batch's time. A read
    /// that fails is read again (with backoff); when time runs out the outcome is unknown.
    async fn wait_for(
        &self,
        id: &str,
        mut status: BatchStatus,
        confirmed: Instant,
    ) -> BatchOutcome {
        let mut wait = self.first_poll;
        let mut polls = 0;
        let batch_path = format!("{}/{id}", self.batches_path());
        let mut last_error = None;
        while !status.completed && !status.failed {
            if confirmed.elapsed().saturating_add(wait) > self.timeout {
                let reason = match &last_error {
                    Some(e) => format!(
                        "not known to be done after {:.0?}; last status read failed: {e}; \
                         read it at {batch_path}",
                        confirmed.elapsed()
                    ),
                    None => format!(
                        "not done after {:.0?}; its status is still to be read at {batch_path}",
                        confirmed.elapsed()
                    ),
                };
                return BatchOutcome::Unknown { reason };
            }
            tokio::time::sleep(wait).await;
            polls += 1;
            // Most batches finish within seconds: read at the first interval a few times,
            // then back off.
            if polls >= STEADY_POLLS || last_error.is_some() {
                wait = self.next_poll(wait);
            }
            let read = self
                .client
                .raw(Method::GET, &batch_path)
                .decode_as::<BatchState>()
                .call()
                .await;
            match read {
                Ok(state) => {
                    status = state.status.unwrap_or_default();
                    last_error = None;
                }
                // The batch still runs whatever happened to this read.
                Err(e) => last_error = Some(e.to_string()),
            }
        }
        if status.completed && !status.failed {
            BatchOutcome::Completed {
                created_resources: status.created_resources.unwrap_or_default(),
            }
        } else {
            let errors = status
                .errors
                .unwrap_or_default()
                .into_iter()
                .map(|e| match e {
                    Value::String(s) => s,
                    other => other.to_string(),
                })
                .collect();
            BatchOutcome::Failed { errors }
        }
    }

    fn next_poll(&self, wait: Duration) -> Duration {
        // Saturates: `poll_interval(Duration::MAX, ..)` is a setting, not a panic.
        Duration::try_from_secs_f64(wait.as_secs_f64() * 1.5)
            .unwrap_or(Duration::MAX)
            .min(self.max_poll)
    }
}

/// Submissions of one batch whose answers were lost before the runner stops trying.
const MAX_RESUBMISSIONS: u32 = 3;

/// How a submission ended.
enum Submitted {
    Batch(BatchState),
    Not(BatchOutcome),
}

/// A batch as the organization's list shows it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListedBatch {
    id: Option<String>,
    #[serde(default)]
    status: Option<BatchStatus>,
    #[serde(default)]
    actions: Value,
}

/// Whether a listed batch holds the actions the runner sent: the same resources and
/// operations in order, and (with `bodies`) the same bodies.
fn same_actions(listed: &Value, ours: &Value, bodies: bool) -> bool {
    let (Some(listed), Some(ours)) = (listed.as_array(), ours.as_array()) else {
        return false;
    };
    listed.len() == ours.len()
        && listed.iter().zip(ours).all(|(a, b)| {
            let body = |v: &Value| v.get("body").cloned().filter(|b| !b.is_null());
            a.get("resource") == b.get("resource")
                && a.get("operation") == b.get("operation")
                && (!bodies || body(a) == body(b))
        })
}
