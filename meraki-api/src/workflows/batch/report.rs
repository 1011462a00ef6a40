//! What became of each batch, as the runner reports it.

use serde::Serialize;
use serde_json::Value;

use super::action::{masked_actions, Action};

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
    /// Not run: none of its actions took effect (an earlier batch failed, see
    /// [`super::BatchRunner::continue_after_failure`]; the API kept answering 429; dry-run mode;
    /// its creation kept failing, which leaves at most unconfirmed batches, which never run).
    NotSubmitted {
        /// Why.
        reason: String,
    },
    /// The client cannot know what became of the batch: whether its confirmation took could not
    /// be read, or its status could not be read before its time ran out. It may have run: look
    /// it up (the report's `id`) before applying its actions again.
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
    /// Unconfirmed batches (which never run) that creations of this batch whose answers were
    /// lost left at the API, and the runner deleted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed_leftovers: Vec<String>,
    /// Creations of this batch whose answers were lost may have left unconfirmed batches (which
    /// never run, and which the API deletes after a week) that the runner could not remove:
    /// why, and where to look.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leftovers_note: Option<String>,
}

impl BatchReport {
    /// Whether every action of the batch ran.
    pub fn completed(&self) -> bool {
        matches!(self.outcome, BatchOutcome::Completed { .. })
    }
}
