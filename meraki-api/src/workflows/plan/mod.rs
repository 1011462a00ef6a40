//! What a bulk change would change, before it is made (like `terraform plan`).
//!
//! [`crate::Client::plan`] gives a [`Planner`]: it sends no write. For an update of a resource
//! the API can also read at the same path (a `PUT` whose path has a `GET`), it reads the
//! current state, once per resource however many actions touch it, and reports each field of
//! the body whose value would differ, or that nothing would change. Actions on one resource
//! are compared in order, each against the state the ones before it would leave. Creations,
//! deletions and other verbs (`claim`, `swap`...) are reported as such. Reads go through the
//! client like every call: paced by organization, retried, traced.
//!
//! Comparisons are strict, so that "no change" can be trusted: a field the read does not show
//! (write-only fields such as pre-shared keys) counts as a change, arrays are compared whole and
//! in order, and only numbers that are equal as numbers (`1` and `1.0`) are equal. Values of
//! secret-looking fields are shown as `"***"`.
//!
//! ```no_run
//! # async fn demo(client: meraki_api::Client, actions: Vec<meraki_api::batch::Action>) {
//! let plan = client.plan().actions(&actions).await;
//! for action in &plan.actions {
//!     println!("{} {}: {:?}", action.method, action.path, action.changes);
//! }
//! eprintln!("{}", plan.summary());
//! let to_run = plan.changing_actions(); // drop the no-ops before a real run
//! # let _ = to_run; }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use futures_util::StreamExt;
use progenitor_client::ClientInfo as _;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;

mod compare;

use compare::{diff, merge};

use crate::operations::operation::{operations, Operation, OperationSpec};
use crate::workflows::batch::action::Action;
use crate::workflows::batch::{BatchRunner, Estimate};
use crate::Client;

/// Reads in flight at once for [`Planner::actions`] (pacing decides how fast they go).
const CONCURRENT_READS: usize = 16;

/// What an action would do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ChangeKind {
    /// An update that would change the fields listed.
    Update,
    /// An update that would change nothing: the resource already is as the body says.
    NoChange,
    /// A creation (`POST` of a new resource).
    Create,
    /// A deletion.
    Delete,
    /// Another verb (`claim`, `swap`, `cycle`...): its effect cannot be read beforehand.
    Action,
    /// An update whose current state could not be read (no `GET` at its path, or the read
    /// failed: see `reason`).
    Unknown,
}

/// One field that would change: its path in the body (`radius.servers`, nested objects
/// joined with dots), the current value (`null` if the read does not show it) and the new one.
/// A plan lists them in field order.
#[derive(Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FieldChange {
    /// The field, dotted for nested objects.
    pub field: String,
    /// What the read shows now (`null` when absent).
    pub from: Value,
    /// What the write would set.
    pub to: Value,
}

impl fmt::Debug for FieldChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {} -> {}", self.field, self.from, self.to)
    }
}

/// What one write would do.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlannedChange {
    /// The write's position among the actions planned together.
    pub index: usize,
    /// `PUT`, `POST` or `DELETE`.
    #[serde(serialize_with = "method_name")]
    pub method: Method,
    /// The path below the base URL.
    pub path: String,
    /// What it would do.
    pub kind: ChangeKind,
    /// For an update: the fields that would change (empty for [`ChangeKind::NoChange`]).
    pub changes: Vec<FieldChange>,
    /// Why the change is [`ChangeKind::Unknown`].
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

fn method_name<S: serde::Serializer>(method: &Method, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(method.as_str())
}

impl PlannedChange {
    /// Whether running the write would change nothing.
    pub fn is_no_op(&self) -> bool {
        self.kind == ChangeKind::NoChange
    }
}

/// The plan of several actions, in their order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Plan {
    /// One per action, in order.
    pub actions: Vec<PlannedChange>,
    /// The actions planned, for [`Plan::changing_actions`].
    #[serde(skip)]
    source: Vec<Action>,
    /// Resources read to make the plan.
    pub resources_read: usize,
    /// What running the changing actions as action batches will take (set by
    /// [`crate::batch::BatchRunner::plan`], which knows the organization).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub running: Option<Estimate>,
}

/// A plan's totals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PlanSummary {
    /// Actions planned.
    pub actions: usize,
    /// Resources read (once each).
    pub resources_read: usize,
    /// Fields that would change, over all updates.
    pub fields_changing: usize,
    /// Updates that would change nothing.
    pub no_ops: usize,
    /// Updates whose effect could not be known.
    pub unknown: usize,
    /// Actions that would change something (or whose effect is unknown): what a run sends.
    pub changing: usize,
    /// What running those will take, when the organization is known.
    pub running: Option<Estimate>,
}

impl fmt::Display for PlanSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plan: {} actions, {} resources read, {} fields would change, {} no-ops, {} unknown",
            self.actions, self.resources_read, self.fields_changing, self.no_ops, self.unknown
        )?;
        if let Some(running) = &self.running {
            write!(f, "; running the {} changing: {running}", self.changing)?;
        }
        Ok(())
    }
}

impl Plan {
    /// Its totals.
    pub fn summary(&self) -> PlanSummary {
        PlanSummary {
            actions: self.actions.len(),
            resources_read: self.resources_read,
            fields_changing: self.actions.iter().map(|a| a.changes.len()).sum(),
            no_ops: self.actions.iter().filter(|a| a.is_no_op()).count(),
            unknown: self
                .actions
                .iter()
                .filter(|a| a.kind == ChangeKind::Unknown)
                .count(),
            changing: self.actions.iter().filter(|a| !a.is_no_op()).count(),
            running: self.running,
        }
    }

    /// The planned actions without the no-ops, in order: what is worth running.
    pub fn changing_actions(&self) -> Vec<Action> {
        self.source
            .iter()
            .zip(&self.actions)
            .filter(|(_, planned)| !planned.is_no_op())
            .map(|(action, _)| action.clone())
            .collect()
    }
}

/// The current state of one resource as the plan sees it: read once, then as the actions
/// planned so far would leave it.
type Resource = Arc<tokio::sync::Mutex<Option<Result<Value, String>>>>;

/// Plans writes against the current state (see the module docs). Holds a clone of the client
/// and what it has read; plan related changes with one planner, so each resource is read once.
pub struct Planner {
    client: Client,
    resources: Mutex<HashMap<String, Resource>>,
    reads: AtomicUsize,
}

impl fmt::Debug for Planner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Planner")
            .field("resources_read", &self.resources_read())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// A planner on this client: it sends no write, and reads what updates would change
    /// ([`crate::plan`]).
    pub fn plan(&self) -> Planner {
        Planner {
            client: self.clone(),
            resources: Mutex::new(HashMap::new()),
            reads: AtomicUsize::new(0),
        }
    }
}

// Here rather than in `batch`: plans build on batches' actions, and not the other way round.
impl BatchRunner {
    /// What `actions` would change, read from the organization's current state; nothing is
    /// submitted ([`crate::plan`]). [`Plan::changing_actions`] drops the no-ops before a real
    /// run.
    pub async fn plan(&self, actions: &[Action]) -> Plan {
        let mut plan = self.client().plan().actions(actions).await;
        plan.running = Some(self.estimate(plan.changing_actions().len()));
        plan
    }
}

impl Planner {
    /// Resources read so far.
    pub fn resources_read(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Plans one generated operation builder's write (checked as `.call()` checks it).
    pub async fn operation<O: Operation>(
        &self,
        operation: O,
    ) -> Result<PlannedChange, crate::Error> {
        let (client, request) = operation.into_parts();
        let request = request?;
        let path = client.inner().relative_path(request.url()).to_owned();
        let body = match request.body().and_then(reqwest::Body::as_bytes) {
            Some(bytes) if !bytes.is_empty() => serde_json::from_slice(bytes).ok(),
            _ => None,
        };
        let kind = Shape::of_spec(O::SPEC, request.method());
        Ok(self
            .plan_one(0, request.method().clone(), path, body, kind)
            .await)
    }

    /// Plans a write given by method, path (below the base URL) and JSON body.
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> PlannedChange {
        let kind = Shape::of_path(&method, path, None);
        self.plan_one(0, method, path.to_owned(), body, kind).await
    }

    /// Plans action-batch actions, in order (each resource read once, concurrently with the
    /// others, paced).
    pub async fn actions(&self, actions: &[Action]) -> Plan {
        let plans = actions.iter().enumerate().map(|(index, action)| {
            let (method, path, verb) = match action.operation.as_str() {
                "create" => (Method::POST, action.resource.clone(), None),
                "update" => (Method::PUT, action.resource.clone(), None),
                "destroy" => (Method::DELETE, action.resource.clone(), None),
                verb => (
                    Method::POST,
                    format!("{}/{verb}", action.resource.trim_end_matches('/')),
                    Some(verb),
                ),
            };
            let kind = Shape::of_path(&method, &path, verb);
            self.plan_one(index, method, path, action.body.clone(), kind)
        });
        // `buffered` starts them in order, so actions on one resource queue for it in order.
        let planned: Vec<PlannedChange> = futures_util::stream::iter(plans)
            .buffered(CONCURRENT_READS)
            .collect()
            .await;
        Plan {
            actions: planned,
            source: actions.to_vec(),
            resources_read: self.resources_read(),
            running: None,
        }
    }

    async fn plan_one(
        &self,
        index: usize,
        method: Method,
        path: String,
        body: Option<Value>,
        shape: Shape,
    ) -> PlannedChange {
        let mut planned = PlannedChange {
            index,
            method,
            path,
            kind: ChangeKind::Unknown,
            changes: Vec::new(),
            reason: None,
        };
        let readable = match shape {
            Shape::Create => return with_kind(planned, ChangeKind::Create),
            Shape::Verb => return with_kind(planned, ChangeKind::Action),
            Shape::Delete => {
                // What later actions on it would meet.
                let resource = self.resource(&planned.path);
                *resource.lock().await = Some(Err("deleted earlier in this plan".into()));
                return with_kind(planned, ChangeKind::Delete);
            }
            Shape::Update { readable } => readable,
        };
        if !readable {
            planned.reason = Some("the API has no read (GET) at this path".into());
            return planned;
        }
        let resource = self.resource(&planned.path);
        let mut current = resource.lock().await;
        if current.is_none() {
            self.reads.fetch_add(1, Ordering::Relaxed);
            let read = self
                .client
                .raw(Method::GET, planned.path.clone())
                .call()
                .await;
            *current = Some(read.map_err(|e| format!("reading the current state failed: {e}")));
        }
        let state = match current.as_mut() {
            Some(Ok(state)) => state,
            Some(Err(reason)) => {
                planned.reason = Some(reason.clone());
                return planned;
            }
            None => unreachable!("set above"),
        };
        let body = body.unwrap_or(Value::Object(Default::default()));
        diff(&mut planned.changes, "", state, &body);
        // In field order, whatever order the JSON maps of this build keep.
        planned.changes.sort_by(|a, b| a.field.cmp(&b.field));
        merge(state, &body);
        planned.kind = if planned.changes.is_empty() {
            ChangeKind::NoChange
        } else {
            ChangeKind::Update
        };
        planned
    }

    fn resource(&self, path: &str) -> Resource {
        let mut resources = self
            .resources
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        resources.entry(path.to_owned()).or_default().clone()
    }
}

fn with_kind(mut planned: PlannedChange, kind: ChangeKind) -> PlannedChange {
    planned.kind = kind;
    planned
}

/// What a write is, from its method and its operation's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Create,
    Delete,
    Verb,
    Update { readable: bool },
}

impl Shape {
    fn of_spec(spec: &OperationSpec, method: &Method) -> Shape {
        match *method {
            Method::PUT | Method::PATCH => Shape::Update {
                readable: has_read(spec.path),
            },
            Method::DELETE => Shape::Delete,
            _ => match spec.batch {
                Some(batch) if batch.operation != "create" => Shape::Verb,
                Some(_) => Shape::Create,
                // A POST to a collection the API also lists creates; others are verbs.
                None if has_read(spec.path) => Shape::Create,
                None => Shape::Verb,
            },
        }
    }

    fn of_path(method: &Method, path: &str, verb: Option<&str>) -> Shape {
        match *method {
            Method::PUT | Method::PATCH => {
                // The compiled operations say whether a read exists; a path this build does
                // not know (its area's feature is off) is read and the answer decides.
                let known = operations()
                    .iter()
                    .any(|op| op.method == "PUT" && template_matches(op.path, path));
                let readable = !known
                    || operations()
                        .iter()
                        .any(|op| op.method == "GET" && template_matches(op.path, path));
                Shape::Update { readable }
            }
            Method::DELETE => Shape::Delete,
            _ if verb.is_some() => Shape::Verb,
            _ => Shape::Create,
        }
    }
}

fn has_read(template: &str) -> bool {
    operations()
        .iter()
        .any(|op| op.method == "GET" && op.path == template)
}

/// Whether concrete `path` is an instance of `template` (`{...}` segments match any one).
fn template_matches(template: &str, path: &str) -> bool {
    let mut t = template.trim_matches('/').split('/');
    let mut p = path.trim_matches('/').split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(ts), Some(ps)) if ts.starts_with('{') || ts == ps => {
                if ps.is_empty() {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::compare::*;
    use super::*;
    use serde_json::json;

    #[test]
    fn diffs_fields_strictly_and_masks_secrets() {
        let from = json!({"name": "a", "vlan": 1, "radius": {"host": "h", "port": 1812}, "tags": ["x", "y"], "psk": "old"});
        let to = json!({"name": "a", "vlan": 1.0, "radius": {"port": 1813}, "tags": ["y", "x"], "psk": "new", "enabled": true});
        let mut changes = Vec::new();
        diff(&mut changes, "", &from, &to);
        changes.sort_by(|a, b| a.field.cmp(&b.field));
        let fields: Vec<_> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["enabled", "psk", "radius.port", "tags"]);
        assert_eq!(changes[1].to, json!("***"));
        assert_eq!(changes[1].from, json!("***"));
        assert_eq!(changes[0].from, Value::Null);
        let mut state = from.clone();
        merge(&mut state, &to);
        let mut again = Vec::new();
        diff(&mut again, "", &state, &to);
        assert!(again.is_empty(), "{again:?}");
        assert_eq!(state["radius"]["host"], "h");
    }

    #[test]
    fn templates_match_concrete_paths() {
        assert!(template_matches("/networks/{networkId}", "/networks/N_1"));
        assert!(template_matches(
            "/devices/{serial}/switch/ports/{portId}",
            "/devices/Q-1/switch/ports/3"
        ));
        assert!(!template_matches(
            "/networks/{networkId}",
            "/networks/N_1/devices"
        ));
        assert!(!template_matches("/networks/{networkId}", "/networks/"));
        assert!(!template_matches(
            "/organizations/{organizationId}",
            "/networks/N_1"
        ));
    }
}
