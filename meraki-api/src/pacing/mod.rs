//! Client-side pacing: a token bucket per organization, one shared by requests whose
//! organization is not known yet, and one for the whole client. A request leaves only when its
//! own bucket and the overall one both allow it (at one gate); a 429 slows down the bucket whose
//! limit it names, successes bring it back (one adaptive rule for every bucket). With feature
//! `redis`, the buckets live in Redis, shared by every process pacing the same organizations.
//!
//! Waiters of a lane queue in order; only the one at the head polls, so each token wakes one
//! waiter however long the queue. Heads re-check their buckets after sleeping instead of holding
//! reservations, so a rate lowered by a 429 applies at once to everyone already waiting.

mod bucket;
mod config;
pub mod directory;
mod gate;
#[cfg(feature = "redis")]
mod shared_budget;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::time::Instant;

use bucket::Adaptation;
pub use bucket::TokenBucket;
pub use config::RateLimitConfig;
use gate::{lock, Gate, Limited, Queue};

/// Which bucket paces a request, besides the client's global one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lane {
    /// The organization the request counts against.
    Organization(Arc<str>),
    /// A network or device whose organization is not known.
    Unresolved,
    /// Nothing more specific: requests outside any organization.
    Global,
    /// A directory lookup: paced by the global bucket; its 429s slow the organization it
    /// finds, not the global bucket.
    Lookup,
}

/// The buckets that pace one request: chosen once, used for every attempt.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    pub(crate) lane: Lane,
    queue: Arc<Queue>,
    /// The client's own lookups and listings go ahead of the queue: a few requests that tell
    /// whole organizations' worth of queued calls which bucket to wait in.
    ahead: bool,
}

/// Shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Pacer {
    config: RateLimitConfig,
    rule: Adaptation,
    gate: Gate,
    unresolved: Arc<Queue>,
    /// Requests that count against no organization: the overall bucket only.
    unowned: Arc<Queue>,
    lookups: Arc<Queue>,
    orgs: Mutex<HashMap<Arc<str>, Arc<Queue>>>,
    #[cfg(feature = "redis")]
    shared: Option<shared_budget::SharedBudget>,
}

impl Pacer {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        Self {
            rule: config.rule(),
            gate: Gate::new(config.global_rate, config.global_burst),
            unresolved: Arc::new(Queue::new(Some(Limited::new(
                config.unresolved_rate,
                config.unresolved_burst,
            )))),
            unowned: Arc::new(Queue::new(None)),
            lookups: Arc::new(Queue::new(None)),
            orgs: Mutex::new(HashMap::new()),
            #[cfg(feature = "redis")]
            shared: config
                .redis_url
                .as_deref()
                .and_then(|url| shared_budget::SharedBudget::new(url, &config).ok()),
            config,
        }
    }

    /// The pace of a request that counts against `org`.
    pub(crate) fn organization(&self, org: &str) -> Pace {
        let mut orgs = lock(&self.orgs);
        // Every request looks its organization up; only the first one allocates.
        let (org, queue) = match orgs.get_key_value(org) {
            Some((org, queue)) => (org.clone(), queue.clone()),
            None => {
                let org: Arc<str> = Arc::from(org);
                let queue = Arc::new(Queue::new(Some(Limited::new(
                    self.config.per_org_rate,
                    self.config.per_org_burst,
                ))));
                orgs.insert(org.clone(), queue.clone());
                (org, queue)
            }
        };
        Pace {
            lane: Lane::Organization(org),
            queue,
            ahead: false,
        }
    }

    /// The pace of a request for a network or device of an unknown organization.
    pub(crate) fn unresolved(&self) -> Pace {
        Pace {
            lane: Lane::Unresolved,
            queue: self.unresolved.clone(),
            ahead: false,
        }
    }

    /// The pace of a request that counts against no organization in particular.
    pub(crate) fn global(&self) -> Pace {
        Pace {
            lane: Lane::Global,
            queue: self.unowned.clone(),
            ahead: false,
        }
    }

    /// The pace of a directory lookup (see [`Lane::Lookup`]).
    pub(crate) fn lookup(&self) -> Pace {
        Pace {
            lane: Lane::Lookup,
            queue: self.lookups.clone(),
            ahead: true,
        }
    }

    /// The pace of a listing the client makes for itself: `org`'s, ahead of the queue.
    pub(crate) fn listing(&self, org: &str) -> Pace {
        Pace {
            ahead: true,
            ..self.organization(org)
        }
    }

    /// Waits until the request's bucket and the global one both allow it, in turn among its
    /// lane's waiters (or ahead of them).
    pub(crate) async fn acquire(&self, pace: &Pace) {
        let _waiting = pace.queue.enter();
        let _turn = pace.queue.turn(pace.ahead).await;
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let mut keys = Vec::with_capacity(2);
            if let Some(key) = shared.lane_key(&pace.lane) {
                keys.push(key);
            }
            keys.push(shared.global_key());
            loop {
                match shared.take(&keys).await {
                    Some(wait) if wait.is_zero() => return,
                    Some(wait) => tokio::time::sleep(wait).await,
                    // Redis cannot be reached: the local buckets at a conservative share.
                    None => {
                        let cost = 1.0 / shared_budget::FALLBACK_SHARE;
                        return self.gate.pass(&pace.queue, pace.ahead, cost).await;
                    }
                }
            }
        }
        self.gate.pass(&pace.queue, pace.ahead, 1.0).await;
    }

    /// The API answered 429: slow down the bucket whose limit it names, once per window. A
    /// 429 "for this IP" (or address) is the client's overall limit: the global bucket. Any
    /// other 429 slows the bucket that paced the request, except a lookup's (on the global
    /// lane, before its organization is known), which the lookup charges to the organization
    /// it finds ([`Pacer::throttled_org`]).
    pub(crate) fn throttled(&self, pace: &Pace, body: &[u8]) {
        let text = String::from_utf8_lossy(body).to_ascii_lowercase();
        let per_address = text.contains("rate limit")
            && (text.contains(" ip") || text.contains("address"))
            && !text.contains("organization");
        let lane = if per_address {
            &Lane::Global
        } else {
            &pace.lane
        };
        if *lane == Lane::Lookup {
            return;
        }
        match (lane, &pace.queue.limit) {
            (Lane::Global, _) | (_, None) => self.gate.throttled(&self.rule),
            (_, Some(limit)) => lock(limit).throttled(&self.rule, Instant::now()),
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            match shared.lane_key(lane) {
                Some(key) => shared.throttled(&key),
                None => shared.throttled(&shared.global_key()),
            }
        }
    }

    /// A lookup that met 429s found `org`: its bucket slows down as if it had paced them.
    pub(crate) fn throttled_org(&self, org: &str) {
        let pace = self.organization(org);
        if let Some(limit) = &pace.queue.limit {
            lock(limit).throttled(&self.rule, Instant::now());
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if let Some(key) = shared.lane_key(&pace.lane) {
                shared.throttled(&key);
            }
        }
    }

    /// A request went through: its bucket, and the global one it also passed, recover towards
    /// their configured rates.
    pub(crate) fn succeeded(&self, pace: &Pace) {
        if let Some(limit) = &pace.queue.limit {
            lock(limit).succeeded(&self.rule, Instant::now());
        }
        self.gate.succeeded(&self.rule);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if let Some(key) = shared.lane_key(&pace.lane) {
                shared.succeeded(&key);
            }
            shared.succeeded(&shared.global_key());
        }
    }

    /// Counts a request that was paced on another bucket (a directory lookup, before its
    /// organization was known) against `org` after the fact: its next requests wait for it.
    pub(crate) fn charge(&self, org: &str) {
        if let Some(limit) = &self.organization(org).queue.limit {
            lock(limit).bucket.charge(Instant::now(), 1.0);
        }
    }

    /// What `org`'s requests can have now, requests per second: its bucket's rate and the
    /// client's overall one, each as slowed by the 429s this client has met (other callers'
    /// use of the budget shows as those).
    pub(crate) fn budget(&self, org: &str) -> f64 {
        let own = self
            .organization(org)
            .queue
            .limit
            .as_ref()
            .map_or(self.config.per_org_rate, |l| lock(l).rate.current());
        own.min(self.gate.current_rate())
    }

    /// The current rate of `org`'s bucket, requests per second.
    #[cfg(test)]
    pub(crate) fn rate(&self, org: &str) -> f64 {
        self.organization(org)
            .queue
            .limit
            .as_ref()
            .map_or(0.0, |l| lock(l).rate.current())
    }
}
