//! One batch's life at the API: created unconfirmed, confirmed by an update, read until done.
//!
//! Meraki runs a batch only once it is confirmed, and a confirmation is an update (`PUT`), which
//! may be sent again. So the step whose answer can be lost without anyone knowing what happened
//! (the creation, a `POST`) does nothing by itself: after a lost creation answer the runner just
//! creates the batch again, and deletes the unconfirmed leftovers afterwards. Which leftovers
//! are its own it knows without guessing: unconfirmed batches of the same actions that the
//! organization did not have when the run started and that no batch of this run obtained.

use std::collections::HashSet;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use reqwest::Method;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::OnceCell;
use tokio::time::Instant;

use super::{Action, BatchOutcome, BatchReport, BatchRunner};
use crate::error::Error;
use crate::operations::operation::Operation;

/// Status reads at the first poll interval before the interval grows.
const STEADY_POLLS: u32 = 5;

/// Creations of one batch whose answers were lost before the runner stops trying.
const MAX_CREATIONS: u32 = 5;

/// What the batches of one run share.
pub(super) struct Run {
    pub(super) runner: BatchRunner,
    /// The organization's batches when the run started (read before its first creation).
    before: OnceCell<Result<HashSet<String>, String>>,
    /// Every id a creation of this run obtained.
    claimed: Mutex<HashSet<String>>,
}

/// The parts of an action batch the runner reads.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchState {
    id: Option<String>,
    #[serde(default)]
    confirmed: Option<bool>,
    #[serde(default)]
    status: Option<BatchStatus>,
    #[serde(default)]
    actions: Value,
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

/// What a batch's creation came to.
enum Created {
    Batch(String),
    Not(BatchOutcome),
}

/// What a batch's confirmation came to.
enum Confirmed {
    Running(BatchStatus),
    /// The batch is gone (deleted by someone): create it again.
    Gone,
    Not(BatchOutcome),
}

impl Run {
    pub(super) fn new(runner: BatchRunner) -> Self {
        Self {
            runner,
            before: OnceCell::new(),
            claimed: Mutex::new(HashSet::new()),
        }
    }

    fn path(&self) -> String {
        format!(
            "/organizations/{}/actionBatches",
            self.runner.organization_id
        )
    }

    /// Runs one batch to its true outcome.
    pub(super) async fn batch(
        &self,
        index: usize,
        first_action: usize,
        actions: Vec<Action>,
    ) -> BatchReport {
        let started = Instant::now();
        let mut lost_creations = 0;
        let (id, outcome) = self.create_and_run(&actions, &mut lost_creations).await;
        let (removed_leftovers, leftovers_note) = if lost_creations > 0 {
            self.remove_leftovers(&actions).await
        } else {
            (Vec::new(), None)
        };
        tracing::info!(
            target: "meraki_api",
            organization = %self.runner.organization_id,
            batch = index,
            id = id.as_deref(),
            actions = actions.len(),
            status = outcome.status(),
            lost_creations,
            removed_leftovers = removed_leftovers.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "action batch finished"
        );
        BatchReport {
            index,
            id,
            first_action,
            actions,
            outcome,
            removed_leftovers,
            leftovers_note,
        }
    }

    async fn create_and_run(
        &self,
        actions: &[Action],
        lost_creations: &mut u32,
    ) -> (Option<String>, BatchOutcome) {
        if let Err(e) = self.known_before().await {
            return (
                None,
                BatchOutcome::NotSubmitted {
                    reason: format!(
                        "the organization's batches could not be listed before the first \
                         creation: {e}"
                    ),
                },
            );
        }
        loop {
            let id = match self.create(actions, lost_creations).await {
                Created::Batch(id) => id,
                Created::Not(outcome) => return (None, outcome),
            };
            match self.confirm(&id).await {
                Confirmed::Running(status) => {
                    // The API gives a confirmed batch its time from confirmation.
                    let outcome = self.wait_for(&id, status, Instant::now()).await;
                    return (Some(id), outcome);
                }
                Confirmed::Gone if *lost_creations < MAX_CREATIONS => {
                    *lost_creations += 1;
                }
                Confirmed::Gone => {
                    return (
                        Some(id),
                        BatchOutcome::NotSubmitted {
                            reason: "the batch was deleted before it could be confirmed".into(),
                        },
                    )
                }
                Confirmed::Not(outcome) => return (Some(id), outcome),
            }
        }
    }

    /// The organization's batch ids before this run created any (read once per run).
    async fn known_before(&self) -> Result<&HashSet<String>, String> {
        let known = self
            .before
            .get_or_init(|| async {
                let batches = self
                    .runner
                    .client
                    .raw(Method::GET, self.path())
                    .decode_as::<Vec<BatchState>>()
                    .call()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(batches.into_iter().filter_map(|b| b.id).collect())
            })
            .await;
        known.as_ref().map_err(Clone::clone)
    }

    /// Creates the batch unconfirmed. A creation whose answer is lost leaves at most an
    /// unconfirmed batch, which never runs: it is simply made again.
    async fn create(&self, actions: &[Action], lost_creations: &mut u32) -> Created {
        let body = json!({
            "confirmed": false,
            "synchronous": self.runner.synchronous,
            "actions": actions,
        });
        loop {
            let result = self
                .runner
                .client
                .raw(Method::POST, self.path())
                .json(&body)
                .decode_as::<BatchState>()
                .call()
                .await;
            let error = match result {
                Ok(BatchState { id: Some(id), .. }) if !id.is_empty() => {
                    self.claim(&id);
                    return Created::Batch(id);
                }
                Ok(_) => "the API created the batch but gave no id".to_owned(),
                Err(e @ (Error::DryRun { .. } | Error::RateLimited(_))) => {
                    return Created::Not(BatchOutcome::NotSubmitted {
                        reason: e.to_string(),
                    });
                }
                Err(e) if !e.outcome_unknown() && !matches!(e, Error::Decode(_)) => {
                    // Refused (a 4xx), or never sent: nothing was created.
                    let errors = match e.api_error() {
                        Some(api) if !api.messages.is_empty() => api.messages.clone(),
                        _ => vec![e.to_string()],
                    };
                    return Created::Not(match e {
                        Error::Api(_) => BatchOutcome::Failed { errors },
                        _ => BatchOutcome::NotSubmitted {
                            reason: errors.join("; "),
                        },
                    });
                }
                Err(e) => e.to_string(),
            };
            *lost_creations += 1;
            tracing::info!(
                target: "meraki_api",
                organization = %self.runner.organization_id,
                error = %error,
                "an action batch creation's answer was lost: creating it again (an unconfirmed batch never runs)"
            );
            if *lost_creations >= MAX_CREATIONS {
                return Created::Not(BatchOutcome::NotSubmitted {
                    reason: format!(
                        "{lost_creations} creations lost their answers; none was confirmed, so \
                         none ran: last error: {error}"
                    ),
                });
            }
            tokio::time::sleep(self.runner.first_poll).await;
        }
    }

    fn claim(&self, id: &str) {
        self.claimed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id.to_owned());
    }

    /// Confirms the batch (an update: sent again after a lost answer), waiting for a slot while
    /// the API says too many batches run. When it cannot tell whether the confirmation took,
    /// it reads the batch back.
    async fn confirm(&self, id: &str) -> Confirmed {
        let path = format!("{}/{id}", self.path());
        let slot_wait_started = Instant::now();
        let mut wait = self.runner.first_poll;
        loop {
            let result = self
                .runner
                .client
                .raw(Method::PUT, &path)
                .json(&json!({ "confirmed": true }))
                .decode_as::<BatchState>()
                .call()
                .await;
            let error = match result {
                Ok(state) => return Confirmed::Running(state.status.unwrap_or_default()),
                // Another client may be running this organization's batches too: wait for a
                // slot (the batch's own time has not started).
                Err(Error::Api(e))
                    if e.messages.iter().any(|m| m.contains("executing batches"))
                        && slot_wait_started.elapsed().saturating_add(wait)
                            < self.runner.timeout =>
                {
                    tokio::time::sleep(wait).await;
                    wait = self.runner.next_poll(wait);
                    continue;
                }
                Err(Error::Api(e)) if e.status == reqwest::StatusCode::NOT_FOUND => {
                    return Confirmed::Gone;
                }
                Err(e @ (Error::DryRun { .. } | Error::RateLimited(_))) => {
                    return Confirmed::Not(self.not_confirmed(id, e.to_string()).await);
                }
                Err(Error::Api(e)) if !e.status.is_server_error() => {
                    // Refused: it never ran.
                    let errors = if e.messages.is_empty() {
                        vec![e.to_string()]
                    } else {
                        e.messages.clone()
                    };
                    let _ = self.delete(id).await;
                    return Confirmed::Not(BatchOutcome::Failed { errors });
                }
                Err(e) => e,
            };
            // Whether the confirmation took is not known: the batch says.
            match self.read(&path).await {
                Ok(state) if state.confirmed == Some(true) => {
                    return Confirmed::Running(state.status.unwrap_or_default())
                }
                Ok(_) if slot_wait_started.elapsed().saturating_add(wait) < self.runner.timeout => {
                    tokio::time::sleep(wait).await;
                    wait = self.runner.next_poll(wait);
                }
                Ok(_) => {
                    return Confirmed::Not(
                        self.not_confirmed(id, format!("not confirmed in time: {error}"))
                            .await,
                    )
                }
                Err(Error::Api(e)) if e.status == reqwest::StatusCode::NOT_FOUND => {
                    return Confirmed::Gone;
                }
                Err(read) => {
                    return Confirmed::Not(BatchOutcome::Unknown {
                        reason: format!(
                            "its confirmation's answer was lost ({error}) and the batch could \
                             not be read back ({read}): read it at {path}"
                        ),
                    })
                }
            }
        }
    }

    /// A batch that stays unconfirmed never runs: deleted, and reported as not submitted.
    async fn not_confirmed(&self, id: &str, reason: String) -> BatchOutcome {
        match self.delete(id).await {
            Ok(()) => BatchOutcome::NotSubmitted { reason },
            Err(e) => BatchOutcome::NotSubmitted {
                reason: format!(
                    "{reason}; its unconfirmed batch {id} (which never runs) could not be \
                     deleted: {e}"
                ),
            },
        }
    }

    async fn delete(&self, id: &str) -> Result<(), Error> {
        let path = format!("{}/{id}", self.path());
        match self
            .runner
            .client
            .raw(Method::DELETE, &path)
            .decode_as::<Option<Value>>()
            .call()
            .await
        {
            Ok(_) | Err(Error::GoneAfterLostAnswer(_)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn read(&self, path: &str) -> Result<BatchState, Error> {
        self.runner
            .client
            .raw(Method::GET, path)
            .decode_as::<BatchState>()
            .call()
            .await
    }

    /// Deletes what lost creations of this batch left: unconfirmed batches of the same resources
    /// and operations (the API may show bodies otherwise than they were sent) that were not there
    /// when the run started and that no batch of this run obtained.
    async fn remove_leftovers(&self, actions: &[Action]) -> (Vec<String>, Option<String>) {
        let note = |why: String| {
            Some(format!(
                "creations whose answers were lost may have left unconfirmed batches (which \
                 never run) of these actions: {why}; see getOrganizationActionBatches"
            ))
        };
        let Ok(before) = self.known_before().await else {
            return (
                Vec::new(),
                note("the batches before the run are not known".into()),
            );
        };
        let listed = self
            .runner
            .client
            .raw(Method::GET, self.path())
            .decode_as::<Vec<BatchState>>()
            .call()
            .await;
        let listed = match listed {
            Ok(listed) => listed,
            Err(e) => return (Vec::new(), note(format!("they could not be listed ({e})"))),
        };
        let ours = serde_json::to_value(actions).unwrap_or(Value::Null);
        let leftovers: Vec<String> = {
            let claimed = self.claimed.lock().unwrap_or_else(PoisonError::into_inner);
            listed
                .into_iter()
                .filter(|b| b.confirmed != Some(true) && same_actions(&b.actions, &ours))
                .filter_map(|b| b.id)
                .filter(|id| !before.contains(id) && !claimed.contains(id))
                .collect()
        };
        let mut removed = Vec::new();
        let mut failed = Vec::new();
        for id in leftovers {
            match self.delete(&id).await {
                Ok(()) => removed.push(id),
                Err(e) => failed.push(format!("{id} ({e})")),
            }
        }
        let note = (!failed.is_empty()).then(|| {
            format!(
                "unconfirmed leftovers (which never run) could not be deleted: {}",
                failed.join(", ")
            )
        });
        (removed, note)
    }

    /// Reads the batch's status until it completes or fails, within the batch's time. A read
    /// that fails is read again (with backoff); when time runs out the outcome is unknown.
    async fn wait_for(
        &self,
        id: &str,
        mut status: BatchStatus,
        confirmed: Instant,
    ) -> BatchOutcome {
        let runner = &self.runner;
        let mut wait = runner.first_poll;
        let mut polls = 0;
        let batch_path = format!("{}/{id}", self.path());
        let mut last_error = None;
        while !status.completed && !status.failed {
            if confirmed.elapsed().saturating_add(wait) > runner.timeout {
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
                wait = runner.next_poll(wait);
            }
            match self.read(&batch_path).await {
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
}

impl BatchRunner {
    fn next_poll(&self, wait: Duration) -> Duration {
        // Saturates: `poll_interval(Duration::MAX, ..)` is a setting, not a panic.
        Duration::try_from_secs_f64(wait.as_secs_f64() * 1.5)
            .unwrap_or(Duration::MAX)
            .min(self.max_poll)
    }
}

/// Whether a listed batch holds the actions the runner sent: the same resources and
/// operations, in order.
fn same_actions(listed: &Value, ours: &Value) -> bool {
    let (Some(listed), Some(ours)) = (listed.as_array(), ours.as_array()) else {
        return false;
    };
    listed.len() == ours.len()
        && listed.iter().zip(ours).all(|(a, b)| {
            a.get("resource") == b.get("resource") && a.get("operation") == b.get("operation")
        })
}
