//! Where a request leaves: only when its lane's bucket and the overall bucket both allow it at
//! that moment, taken together under one lock. No queue stands between the two, so nothing can
//! save up a lane's tokens and release its requests faster than its rate later.
//!
//! Each lane (an organization, the unresolved requests, the requests of no organization) keeps
//! its waiters in order (a fair async lock: only the one at the head polls the gate). The heads
//! of all lanes meet here. When both buckets allow several heads at once, the one that goes is:
//! a lookup or listing (a few requests that tell queued calls their organization), then a head
//! that has waited over a second with its lane ready (nobody starves), then the lane with the
//! most requests waiting (so the busiest organization keeps its own pace, and a bulk job ends
//! when its busiest organization can), then the oldest. A head that has stopped polling (its
//! caller's future is parked elsewhere) counts no more after a moment.

use std::cmp::Reverse;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::bucket::{Adaptation, AdaptiveRate, TokenBucket};

/// A head seen this recently is still polling.
const PRESENT: Duration = Duration::from_millis(100);
/// A head that another goes before waits to be told it is next, or this long at most.
const RECHECK: Duration = Duration::from_millis(40);
/// A head ready this long without going goes first.
const STARVING: Duration = Duration::from_secs(1);

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a few assignments under the lock: a panic elsewhere leaves nothing half done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A bucket whose rate adapts to the API's answers.
#[derive(Debug)]
pub(crate) struct Limited {
    pub(super) bucket: TokenBucket,
    pub(super) rate: AdaptiveRate,
}

impl Limited {
    pub(super) fn new(rate: f64, burst: f64) -> Self {
        Self {
            bucket: TokenBucket::new(rate, burst, Instant::now()),
            rate: AdaptiveRate::new(rate),
        }
    }

    /// A 429 for this bucket: slower, and no burst right after.
    pub(super) fn throttled(&mut self, rule: &Adaptation, now: Instant) {
        if self.rate.throttled(rule, now) {
            self.bucket.set_rate(self.rate.current(), now);
            self.bucket.drain(now);
        }
    }

    pub(super) fn succeeded(&mut self, rule: &Adaptation, now: Instant) {
        if self.rate.succeeded(rule) {
            self.bucket.set_rate(self.rate.current(), now);
        }
    }
}

/// One lane's waiters, and its own bucket (`None` for requests that only the overall bucket
/// paces).
#[derive(Debug)]
pub(crate) struct Queue {
    pub(super) limit: Option<Mutex<Limited>>,
    /// Held by the waiter at the head of the lane; tokio's lock is fair (first come, first
    /// served), and a cancelled waiter leaves the queue.
    turn: tokio::sync::Mutex<()>,
    waiting: AtomicUsize,
}

impl Queue {
    pub(super) fn new(limit: Option<Limited>) -> Self {
        Self {
            limit: limit.map(Mutex::new),
            turn: tokio::sync::Mutex::new(()),
            waiting: AtomicUsize::new(0),
        }
    }

    /// Joins the lane: counted as waiting until the returned guard is dropped.
    pub(super) fn enter(&self) -> Waiting<'_> {
        self.waiting.fetch_add(1, Ordering::Relaxed);
        Waiting(self)
    }

    /// Waits for the lane's head (or, `ahead`, stands beside it).
    pub(super) async fn turn(&self, ahead: bool) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        if ahead {
            return None;
        }
        Some(self.turn.lock().await)
    }

    fn own_wait(&self, now: Instant, cost: f64) -> Duration {
        self.limit
            .as_ref()
            .map_or(Duration::ZERO, |l| lock(l).bucket.wait_for(now, cost))
    }
}

/// A waiter counted in its lane's backlog.
pub(super) struct Waiting<'a>(&'a Queue);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The overall bucket, and the lane heads waiting for it.
#[derive(Debug)]
pub(crate) struct Gate {
    state: Mutex<GateState>,
}

#[derive(Debug)]
struct GateState {
    global: Limited,
    heads: Vec<Head>,
    next_id: u64,
}

#[derive(Debug)]
struct Head {
    id: u64,
    queue: Arc<Queue>,
    ahead: bool,
    cost: f64,
    seen: Instant,
    since: Instant,
    /// Since when its own bucket has allowed it, without its going.
    ready_since: Option<Instant>,
    /// Told when it is the next to go, so it need not poll.
    next: Arc<tokio::sync::Notify>,
}

/// What a head does after asking the gate.
enum Verdict {
    Passed,
    /// Its own bucket (or the overall one) has no token yet: sleep until it has.
    Sleep(Duration),
    /// Another goes first: wait to be told it is next, re-checking now and then.
    After(Arc<tokio::sync::Notify>),
}

impl Head {
    fn rank(&self, now: Instant) -> (bool, bool, usize, Reverse<Instant>) {
        let starving = self
            .ready_since
            .is_some_and(|at| now.saturating_duration_since(at) >= STARVING);
        (
            self.ahead,
            starving,
            self.queue.waiting.load(Ordering::Relaxed),
            Reverse(self.since),
        )
    }
}

impl Gate {
    pub(super) fn new(rate: f64, burst: f64) -> Self {
        Self {
            state: Mutex::new(GateState {
                global: Limited::new(rate, burst),
                heads: Vec::new(),
                next_id: 0,
            }),
        }
    }

    /// Waits until `queue`'s bucket and the overall one both allow the request, and takes from
    /// both at once. `cost`: tokens a request takes of each (more than 1 paces at a share of
    /// the rates).
    pub(super) async fn pass(&self, queue: &Arc<Queue>, ahead: bool, cost: f64) {
        let id = {
            let mut state = lock(&self.state);
            let id = state.next_id;
            state.next_id += 1;
            let now = Instant::now();
            state.heads.push(Head {
                id,
                queue: queue.clone(),
                ahead,
                cost,
                seen: now,
                since: now,
                ready_since: None,
                next: Arc::new(tokio::sync::Notify::new()),
            });
            id
        };
        let _registered = Registered { gate: self, id };
        loop {
            match self.try_pass(id, Instant::now()) {
                Verdict::Passed => return,
                Verdict::Sleep(wait) => tokio::time::sleep(wait).await,
                Verdict::After(next) => {
                    let _ = tokio::time::timeout(RECHECK, next.notified()).await;
                }
            }
        }
    }

    /// Takes the tokens if both buckets allow it now and no other head goes first; otherwise
    /// what to wait for before asking again.
    fn try_pass(&self, id: u64, now: Instant) -> Verdict {
        let mut state = lock(&self.state);
        let state = &mut *state;
        // Registered by `pass` until it returns.
        let Some(me) = state.heads.iter().position(|h| h.id == id) else {
            return Verdict::Passed;
        };
        let cost = state.heads[me].cost;
        state.heads[me].seen = now;
        let own = state.heads[me].queue.own_wait(now, cost);
        if !own.is_zero() {
            state.heads[me].ready_since = None;
            return Verdict::Sleep(own);
        }
        state.heads[me].ready_since.get_or_insert(now);
        let global = state.global.bucket.wait_for(now, cost);
        if !global.is_zero() {
            return Verdict::Sleep(global);
        }
        if best_ready(&state.heads, now, Some(id)) != Some(me) {
            return Verdict::After(state.heads[me].next.clone());
        }
        if let Some(limit) = &state.heads[me].queue.limit {
            lock(limit).bucket.charge(now, cost);
        }
        state.global.bucket.charge(now, cost);
        state.heads.swap_remove(me);
        // The next to go need not wait for its next re-check.
        if let Some(next) = best_ready(&state.heads, now, None) {
            state.heads[next].next.notify_one();
        }
        Verdict::Passed
    }

    /// A 429 for the overall limit.
    pub(super) fn throttled(&self, rule: &Adaptation) {
        lock(&self.state).global.throttled(rule, Instant::now());
    }

    pub(super) fn succeeded(&self, rule: &Adaptation) {
        lock(&self.state).global.succeeded(rule, Instant::now());
    }

    /// The overall bucket's current rate.
    pub(super) fn current_rate(&self) -> f64 {
        lock(&self.state).global.rate.current()
    }
}

/// The head that goes first among those whose own bucket allows them now and that are still
/// polling (`me` counts whatever its last poll).
fn best_ready(heads: &[Head], now: Instant, me: Option<u64>) -> Option<usize> {
    heads
        .iter()
        .enumerate()
        .filter(|(_, h)| {
            Some(h.id) == me
                || (now.saturating_duration_since(h.seen) < PRESENT
                    && h.queue.own_wait(now, h.cost).is_zero())
        })
        .max_by_key(|(_, h)| h.rank(now))
        .map(|(i, _)| i)
}

/// A head registered at the gate, removed when its waiter goes or is cancelled.
struct Registered<'a> {
    gate: &'a Gate,
    id: u64,
}

impl Drop for Registered<'_> {
    fn drop(&mut self) {
        let mut state = lock(&self.gate.state);
        if let Some(i) = state.heads.iter().position(|h| h.id == self.id) {
            state.heads.swap_remove(i);
        }
    }
}
