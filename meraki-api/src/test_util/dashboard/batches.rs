//! The simulated Dashboard's action batches: created confirmed or not, confirmed by an update,
//! deleted, read alone or listed, with the API's limits.

use serde_json::{json, Value};
use tokio::time::Instant;
use wiremock::{Request, ResponseTemplate};

use super::server::{Batch, Responder, State};

fn bad(message: &str) -> ResponseTemplate {
    ResponseTemplate::new(400).set_body_json(json!({ "errors": [message] }))
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(json!({"errors": ["Action batch not found"]}))
}

impl State {
    fn running(&self, org: &str, at: Instant, runtime: std::time::Duration) -> usize {
        self.batches
            .iter()
            .filter(|b| b.org == org && !b.synchronous)
            .filter_map(|b| b.confirmed_at)
            .filter(|&start| start <= at && at < start + runtime)
            .count()
    }
}

impl Responder {
    /// `/organizations/{org}/actionBatches` and below (`rest`: what follows `actionBatches`).
    pub(super) fn batches(
        &self,
        state: &mut State,
        org: &str,
        method: &str,
        rest: &[&str],
        request: &Request,
    ) -> ResponseTemplate {
        match (method, rest) {
            ("POST", []) => self.create(state, org, request),
            ("GET", []) => {
                let batches: Vec<Value> = state
                    .batches
                    .iter()
                    .filter(|b| b.org == org)
                    .map(|b| self.describe(b))
                    .collect();
                ResponseTemplate::new(200).set_body_json(Value::Array(batches))
            }
            ("GET", [id]) => match state.batches.iter().find(|b| b.id == *id && b.org == org) {
                Some(batch) => ResponseTemplate::new(200).set_body_json(self.describe(batch)),
                None => not_found(),
            },
            ("PUT", [id]) => self.update(state, org, id, request),
            ("DELETE", [id]) => {
                let Some(index) = state.batches.iter().position(|b| b.id == *id && b.org == org)
                else {
                    return not_found();
                };
                if state.batches[index].confirmed_at.is_some() {
                    return bad("A confirmed batch cannot be deleted");
                }
                state.batches.remove(index);
                state.counts.deleted_batches += 1;
                ResponseTemplate::new(204)
            }
            _ => ResponseTemplate::new(404).set_body_json(json!({
                "errors": [format!("SimulatedDashboard does not simulate {method} {}", request.url.path())]
            })),
        }
    }

    fn create(&self, state: &mut State, org: &str, request: &Request) -> ResponseTemplate {
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return bad("The request body is not JSON");
        };
        let confirmed = body["confirmed"].as_bool().unwrap_or(false);
        let synchronous = body["synchronous"].as_bool().unwrap_or(false);
        let Some(actions) = body["actions"].as_array().cloned() else {
            return bad("'actions' must be an array");
        };
        let limit = if synchronous { 20 } else { 100 };
        if actions.is_empty() || actions.len() > limit {
            return bad(&format!(
                "A batch holds 1 to {limit} actions, got {}",
                actions.len()
            ));
        }
        let well_formed = actions.iter().all(|a| {
            a["resource"].as_str().is_some_and(|r| r.starts_with('/'))
                && a["operation"].as_str().is_some()
        });
        if !well_formed {
            return bad("Every action needs a 'resource' and an 'operation'");
        }
        if confirmed && !self.slot_free(state, org, synchronous) {
            state.counts.refused_batches += 1;
            return too_many();
        }
        let batch = Batch {
            id: format!("{}", 1_000_000 + state.counts.batches),
            org: org.to_owned(),
            confirmed_at: None,
            synchronous,
            fails: actions.iter().any(|a| a["body"]["fail"] == json!(true)),
            actions,
        };
        state.counts.batches += 1;
        state.counts.actions += batch.actions.len() as u64;
        state.counts.largest_batch = state.counts.largest_batch.max(batch.actions.len());
        state.batches.push(batch);
        let index = state.batches.len() - 1;
        if confirmed {
            self.confirm(state, index);
        }
        ResponseTemplate::new(201).set_body_json(self.describe(&state.batches[index]))
    }

    /// `PUT`: `{"confirmed": true}` confirms the batch (again: no effect).
    fn update(
        &self,
        state: &mut State,
        org: &str,
        id: &str,
        request: &Request,
    ) -> ResponseTemplate {
        let Some(index) = state
            .batches
            .iter()
            .position(|b| b.id == id && b.org == org)
        else {
            return not_found();
        };
        let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
            return bad("The request body is not JSON");
        };
        if body["confirmed"] == json!(true) {
            if state.batches[index].confirmed_at.is_some() {
                state.counts.repeated_confirmations += 1;
            } else {
                let synchronous = state.batches[index].synchronous;
                if !self.slot_free(state, org, synchronous) {
                    state.counts.refused_batches += 1;
                    return too_many();
                }
                self.confirm(state, index);
            }
        }
        ResponseTemplate::new(200).set_body_json(self.describe(&state.batches[index]))
    }

    fn slot_free(&self, state: &State, org: &str, synchronous: bool) -> bool {
        synchronous || state.running(org, Instant::now(), self.batch_runtime) < self.max_running
    }

    /// Confirms a batch: it starts running, and (atomic, and bound to complete unless it
    /// fails) what it updates shows in reads at once.
    fn confirm(&self, state: &mut State, index: usize) {
        let now = Instant::now();
        state.batches[index].confirmed_at = Some(now);
        state.counts.confirmed_batches += 1;
        let batch = &state.batches[index];
        if !batch.fails {
            let updates: Vec<(String, Value)> = batch
                .actions
                .iter()
                .filter(|a| a["operation"] == "update")
                .filter_map(|a| Some((a["resource"].as_str()?.to_owned(), a.get("body")?.clone())))
                .collect();
            for (resource, body) in updates {
                state.update(&resource, &body);
            }
        }
        let org = state.batches[index].org.clone();
        let running = state.running(&org, now, self.batch_runtime);
        state.counts.most_running_batches = state.counts.most_running_batches.max(running);
    }

    pub(super) fn describe(&self, batch: &Batch) -> Value {
        let done = batch
            .confirmed_at
            .is_some_and(|at| batch.synchronous || at.elapsed() >= self.batch_runtime);
        let failed = done && batch.fails;
        let errors: Vec<String> = if failed {
            let index = batch
                .actions
                .iter()
                .position(|a| a["body"]["fail"] == json!(true))
                .unwrap_or(0);
            vec![format!(
                "Action {index} failed: the simulated device refused it"
            )]
        } else {
            Vec::new()
        };
        json!({
            "id": batch.id,
            "organizationId": batch.org,
            "confirmed": batch.confirmed_at.is_some(),
            "synchronous": batch.synchronous,
            "status": {
                "completed": done && !failed,
                "failed": failed,
                "errors": errors,
                "createdResources": [],
            },
            "actions": batch.actions,
        })
    }
}

fn too_many() -> ResponseTemplate {
    bad("Too many concurrently executing batches. Maximum is 5 confirmed but not yet executed batches.")
}
