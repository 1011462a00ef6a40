//! Client-side pacing: a token bucket per organization, one shared by requests whose
//! organization is not known yet, and one for the whole client. A 429 slows down the bucket
//! that paced the request; successes bring it back.
//!
//! Waiters queue in order (a fair async lock per bucket): only the one at the head sleeps,
//! until the next token, takes it and hands the turn to the next, so each token wakes one
//! waiter however long the queue, and nobody is overtaken. The head re-checks the bucket
//! after sleeping instead of holding a reservation, so a rate lowered by a 429 applies at once
//! to everyone already waiting, and many concurrent callers cannot pile reservations into the
//! future. A burst of 429s (the answers to requests that were already in flight) lowers a
//! bucket's rate once per window, not once per answer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::error::ConfigError;

/// Rate-limit settings. Defaults follow the API's documented limits.
///
/// ```
/// let config = meraki_api::RateLimitConfig::default()
///     .per_organization(9.0, 10.0) // the Python SDK's pace
///     .unresolved(3.0, 3.0);
/// # let _ = config;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RateLimitConfig {
    /// Requests per second per organization when all is well (default 10, the API's limit).
    pub per_org_rate: f64,
    /// Requests an organization may send at once (default 10, the API's burst).
    pub per_org_burst: f64,
    /// Requests per second for the whole client, all organizations together (default 100).
    pub global_rate: f64,
    /// Burst for the whole client (default 50, half the API's: see BENCHMARKS.md, scenario 10).
    pub global_burst: f64,
    /// Requests per second shared by all requests for networks and devices whose organization
    /// is not known (its lookup failed or is turned off): default 5, half an organization's
    /// rate, since they may all belong to one.
    pub unresolved_rate: f64,
    /// Burst of the shared bucket for unresolved requests (default 5).
    pub unresolved_burst: f64,
    /// A bucket's rate never goes below this (default 0.5/s).
    pub min_rate: f64,
    /// Factor applied to a bucket's rate on each 429 (default 0.7).
    pub decrease_factor: f64,
    /// Requests per second given back after each success, up to the bucket's configured
    /// rate (default 0.2).
    pub increase_step: f64,
    /// Keep the buckets in this Redis (`redis://host:6379/0`), shared by every process and
    /// machine that paces with it (feature `redis`, [`RateLimitConfig::redis`]).
    #[cfg(feature = "redis")]
    pub redis_url: Option<String>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_org_rate: 10.0,
            per_org_burst: 10.0,
            global_rate: 100.0,
            // Below the API's 100: the headroom absorbs the jitter between when requests leave
            // and when they arrive, which otherwise draws 429s at full rate (BENCHMARKS.md,
            // scenario 10).
            global_burst: 50.0,
            unresolved_rate: 5.0,
            unresolved_burst: 5.0,
            min_rate: 0.5,
            decrease_factor: 0.7,
            increase_step: 0.2,
            #[cfg(feature = "redis")]
            redis_url: None,
        }
    }
}

impl RateLimitConfig {
    /// Requests per second per organization, and how many may go at once.
    pub fn per_organization(mut self, rate: f64, burst: f64) -> Self {
        (self.per_org_rate, self.per_org_burst) = (rate, burst);
        self
    }

    /// Requests per second for the whole client, and how many may go at once.
    pub fn global(mut self, rate: f64, burst: f64) -> Self {
        (self.global_rate, self.global_burst) = (rate, burst);
        self
    }

    /// Requests per second shared by requests whose organization is not known, and burst.
    pub fn unresolved(mut self, rate: f64, burst: f64) -> Self {
        (self.unresolved_rate, self.unresolved_burst) = (rate, burst);
        self
    }

    /// The lowest rate 429s can bring a bucket to.
    pub fn min_rate(mut self, rate: f64) -> Self {
        self.min_rate = rate;
        self
    }

    /// How a bucket adapts: its rate times `decrease_factor` on each 429, plus
    /// `increase_step` on each success (up to its configured rate).
    pub fn adaptation(mut self, decrease_factor: f64, increase_step: f64) -> Self {
        (self.decrease_factor, self.increase_step) = (decrease_factor, increase_step);
        self
    }

    /// Keeps the per-organization and overall buckets in Redis, so that every process and
    /// machine pacing with the same Redis shares the API's budget (the 10/s of an organization
    /// is shared by every application calling for it). 429s seen by one process slow all of
    /// them. When Redis cannot be reached, each process paces locally at a quarter of each
    /// rate until it can again.
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Checks every setting; the error names the first one that is out of range.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        #[cfg(feature = "redis")]
        if let Some(url) = &self.redis_url {
            if let Err(e) = redis::Client::open(url.as_str()) {
                let shown = crate::config::redact_credentials(url);
                return Err(ConfigError::new(
                    "rate_limit.redis",
                    format!("`{shown}` is not a Redis URL: {e}"),
                ));
            }
        }
        let positive = [
            ("rate_limit.per_org_rate", self.per_org_rate),
            ("rate_limit.global_rate", self.global_rate),
            ("rate_limit.unresolved_rate", self.unresolved_rate),
            ("rate_limit.min_rate", self.min_rate),
        ];
        for (name, value) in positive {
            if !(value.is_finite() && value > 0.0) {
                return Err(ConfigError::new(
                    name,
                    format!("must be a positive number, got {value}"),
                ));
            }
        }
        let bursts = [
            ("rate_limit.per_org_burst", self.per_org_burst),
            ("rate_limit.global_burst", self.global_burst),
            ("rate_limit.unresolved_burst", self.unresolved_burst),
        ];
        for (name, value) in bursts {
            if !(value.is_finite() && value >= 1.0) {
                return Err(ConfigError::new(
                    name,
                    format!("must be at least 1, got {value}"),
                ));
            }
        }
        let factor = self.decrease_factor;
        if !(factor.is_finite() && factor > 0.0 && factor <= 1.0) {
            return Err(ConfigError::new(
                "rate_limit.decrease_factor",
                format!("must be in (0, 1], got {factor}"),
            ));
        }
        let step = self.increase_step;
        if !(step.is_finite() && step >= 0.0) {
            return Err(ConfigError::new(
                "rate_limit.increase_step",
                format!("must be zero or more, got {step}"),
            ));
        }
        Ok(())
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    /// The configured rate, which successes restore.
    full_rate: f64,
    last: Instant,
    /// When a 429 last lowered the rate.
    slowed_at: Option<Instant>,
}

/// After a 429 lowers a bucket's rate, the 429s of the next second answer requests sent
/// before it: they lower it no further.
const SLOWDOWN_WINDOW: Duration = Duration::from_secs(1);

/// A bucket and the queue of its waiters.
#[derive(Debug)]
pub(crate) struct Paced {
    bucket: Mutex<Bucket>,
    /// Held by the waiter at the head of the queue; tokio's lock is fair (first come, first
    /// served), and a cancelled waiter leaves the queue.
    turn: tokio::sync::Mutex<()>,
}

impl Paced {
    fn new(rate: f64, capacity: f64) -> Self {
        Self {
            bucket: Mutex::new(Bucket::new(rate, capacity)),
            turn: tokio::sync::Mutex::new(()),
        }
    }
}

impl Bucket {
    fn new(rate: f64, capacity: f64) -> Self {
        Self {
            tokens: capacity,
            capacity,
            rate,
            full_rate: rate,
            last: Instant::now(),
            slowed_at: None,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
    }

    /// Takes a token as if the rate were `share` of itself (a request costs `1 / share`
    /// tokens, at most the whole burst).
    #[cfg(feature = "redis")]
    fn try_take_share(&mut self, now: Instant, share: f64) -> Result<(), Duration> {
        let cost = (1.0 / share).min(self.capacity);
        self.refill(now);
        if self.tokens >= cost {
            self.tokens -= cost;
            Ok(())
        } else {
            let wait = Duration::try_from_secs_f64((cost - self.tokens) / self.rate)
                .unwrap_or(Duration::MAX);
            Err(wait.max(Duration::from_millis(1)))
        }
    }

    /// Takes a token, or says how long until one is there.
    fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // Rounding can leave a wait too short for the timer to advance the clock: never
            // less than a millisecond, or a waiter could spin.
            // A tiny rate saturates instead of overflowing.
            let wait = Duration::try_from_secs_f64((1.0 - self.tokens) / self.rate)
                .unwrap_or(Duration::MAX);
            Err(wait.max(Duration::from_millis(1)))
        }
    }
}

type SharedBucket = Arc<Paced>;

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
    bucket: SharedBucket,
    /// The client's own lookups and listings go ahead of the queue: a few requests that tell
    /// whole organizations' worth of queued calls which bucket to wait in.
    ahead: bool,
}

/// Shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct Pacer {
    config: RateLimitConfig,
    global: SharedBucket,
    unresolved: SharedBucket,
    orgs: Mutex<HashMap<Arc<str>, SharedBucket>>,
    #[cfg(feature = "redis")]
    shared: Option<crate::shared_budget::SharedBudget>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a bucket inconsistent: every update is one assignment.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Pacer {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        let bucket = |rate, burst| Arc::new(Paced::new(rate, burst));
        Self {
            global: bucket(config.global_rate, config.global_burst),
            unresolved: bucket(config.unresolved_rate, config.unresolved_burst),
            orgs: Mutex::new(HashMap::new()),
            #[cfg(feature = "redis")]
            shared: config.redis_url.as_deref().and_then(|url| {
                crate::shared_budget::SharedBudget::new(url, "meraki-api:budget").ok()
            }),
            config,
        }
    }

    /// The pace of a request that counts against `org`.
    pub(crate) fn organization(&self, org: &str) -> Pace {
        let mut orgs = lock(&self.orgs);
        // Every request looks its organization up; only the first one allocates.
        let (org, bucket) = match orgs.get_key_value(org) {
            Some((org, bucket)) => (org.clone(), bucket.clone()),
            None => {
                let org: Arc<str> = Arc::from(org);
                let bucket = Arc::new(Paced::new(
                    self.config.per_org_rate,
                    self.config.per_org_burst,
                ));
                orgs.insert(org.clone(), bucket.clone());
                (org, bucket)
            }
        };
        Pace {
            lane: Lane::Organization(org),
            bucket,
            ahead: false,
        }
    }

    /// The pace of a request for a network or device of an unknown organization.
    pub(crate) fn unresolved(&self) -> Pace {
        Pace {
            lane: Lane::Unresolved,
            bucket: self.unresolved.clone(),
            ahead: false,
        }
    }

    /// The pace of a request that counts against no organization in particular.
    pub(crate) fn global(&self) -> Pace {
        Pace {
            lane: Lane::Global,
            bucket: self.global.clone(),
            ahead: false,
        }
    }

    /// The pace of a directory lookup (see [`Lane::Lookup`]).
    pub(crate) fn lookup(&self) -> Pace {
        Pace {
            lane: Lane::Lookup,
            bucket: self.global.clone(),
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

    /// Waits until the request's bucket and the global one both allow it.
    pub(crate) async fn acquire(&self, pace: &Pace) {
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            if !matches!(pace.lane, Lane::Global | Lane::Lookup) {
                let spec = self.shared_spec(shared, &pace.lane);
                take_shared(&pace.bucket, pace.ahead, shared, &spec).await;
            }
            let spec = self.shared_spec(shared, &Lane::Global);
            take_shared(&self.global, pace.ahead, shared, &spec).await;
            return;
        }
        if !matches!(pace.lane, Lane::Global | Lane::Lookup) {
            take(&pace.bucket, pace.ahead).await;
        }
        take(&self.global, pace.ahead).await;
    }

    /// The shared bucket of a lane: its Redis key and settings.
    #[cfg(feature = "redis")]
    fn shared_spec(
        &self,
        shared: &crate::shared_budget::SharedBudget,
        lane: &Lane,
    ) -> crate::shared_budget::BucketSpec {
        let c = &self.config;
        let (key, rate, burst) = match lane {
            Lane::Organization(org) => (format!("org:{org}"), c.per_org_rate, c.per_org_burst),
            Lane::Unresolved => (
                "unresolved".to_owned(),
                c.unresolved_rate,
                c.unresolved_burst,
            ),
            Lane::Global | Lane::Lookup => ("global".to_owned(), c.global_rate, c.global_burst),
        };
        crate::shared_budget::BucketSpec {
            key: shared.key(&key),
            rate,
            burst,
            decrease_factor: c.decrease_factor,
            min_rate: c.min_rate,
            increase_step: c.increase_step,
        }
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
        if per_address {
            self.slow_down(&self.global);
        } else if pace.lane != Lane::Lookup {
            self.slow_down(&pace.bucket);
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let lane = if per_address {
                &Lane::Global
            } else {
                &pace.lane
            };
            if *lane != Lane::Lookup {
                shared.throttled(&self.shared_spec(shared, lane).key);
            }
        }
    }

    /// A lookup that met 429s found `org`: its bucket slows down as if it had paced them.
    pub(crate) fn throttled_org(&self, org: &str) {
        self.slow_down(&self.organization(org).bucket);
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            let lane = Lane::Organization(org.into());
            shared.throttled(&self.shared_spec(shared, &lane).key);
        }
    }

    fn slow_down(&self, paced: &Paced) {
        let mut b = lock(&paced.bucket);
        let now = Instant::now();
        if b.slowed_at
            .is_some_and(|at| now.saturating_duration_since(at) < SLOWDOWN_WINDOW)
        {
            return;
        }
        b.slowed_at = Some(now);
        b.rate = (b.rate * self.config.decrease_factor).max(self.config.min_rate);
        // No burst right after being told to slow down.
        b.tokens = b.tokens.min(0.0);
    }

    /// A request went through: its bucket, and the global one it also passed, recover towards
    /// their configured rates.
    pub(crate) fn succeeded(&self, pace: &Pace) {
        let recover = |paced: &Paced| {
            let mut b = lock(&paced.bucket);
            if b.rate < b.full_rate {
                b.rate = (b.rate + self.config.increase_step).min(b.full_rate);
            }
        };
        recover(&pace.bucket);
        if !Arc::ptr_eq(&pace.bucket, &self.global) {
            recover(&self.global);
        }
        #[cfg(feature = "redis")]
        if let Some(shared) = &self.shared {
            shared.succeeded(&self.shared_spec(shared, &pace.lane).key);
            if !matches!(pace.lane, Lane::Global | Lane::Lookup) {
                shared.succeeded(&self.shared_spec(shared, &Lane::Global).key);
            }
        }
    }

    /// Counts a request that was paced on another bucket (a directory lookup, before its
    /// organization was known) against `org` after the fact: its next requests wait for it.
    pub(crate) fn charge(&self, org: &str) {
        let pace = self.organization(org);
        let mut b = lock(&pace.bucket.bucket);
        b.refill(Instant::now());
        b.tokens = (b.tokens - 1.0).max(-b.capacity);
    }

    /// The current rate of `org`'s bucket, requests per second.
    #[cfg(test)]
    pub(crate) fn rate(&self, org: &str) -> f64 {
        lock(&self.organization(org).bucket.bucket).rate
    }
}

/// Waits for a token of the shared bucket in Redis, in turn among this process's waiters (or
/// `ahead`); paces on the local bucket at [`crate::shared_budget::FALLBACK_SHARE`] of its rate
/// while Redis cannot be reached.
#[cfg(feature = "redis")]
async fn take_shared(
    paced: &Paced,
    ahead: bool,
    shared: &crate::shared_budget::SharedBudget,
    spec: &crate::shared_budget::BucketSpec,
) {
    let _turn = if ahead {
        None
    } else {
        Some(paced.turn.lock().await)
    };
    loop {
        let wait = match shared.take(spec).await {
            Some(wait) if wait.is_zero() => return,
            Some(wait) => wait,
            None => {
                let local = lock(&paced.bucket)
                    .try_take_share(Instant::now(), crate::shared_budget::FALLBACK_SHARE);
                match local {
                    Ok(()) => return,
                    Err(wait) => wait,
                }
            }
        };
        tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
    }
}

/// Waits for a token of `paced`, in turn (or `ahead` of the queue, beside its head).
async fn take(paced: &Paced, ahead: bool) {
    if ahead {
        loop {
            let wait = lock(&paced.bucket).try_take(Instant::now());
            match wait {
                Ok(()) => return,
                Err(wait) => tokio::time::sleep(wait).await,
            }
        }
    }
    // Fast path: nobody waiting and a token there.
    if let Ok(turn) = paced.turn.try_lock() {
        if lock(&paced.bucket).try_take(Instant::now()).is_ok() {
            return;
        }
        drop(turn);
    }
    let _turn = paced.turn.lock().await;
    loop {
        let wait = lock(&paced.bucket).try_take(Instant::now());
        match wait {
            Ok(()) => return,
            Err(wait) => tokio::time::sleep(wait).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_rates_saturate_instead_of_panicking() {
        for rate in [f64::MIN_POSITIVE, 1e-300, f64::MAX] {
            let mut bucket = Bucket::new(rate, 1.0);
            let now = Instant::now();
            assert!(bucket.try_take(now).is_ok());
            let wait = bucket.try_take(now);
            assert!(wait.is_err_and(|w| w >= Duration::from_millis(1)), "{rate}");
        }
    }

    async fn acquire_org(pacer: &Pacer, org: &str) {
        pacer.acquire(&pacer.organization(org)).await;
    }

    #[tokio::test(start_paused = true)]
    async fn paces_an_organization_after_its_burst() {
        let pacer = Pacer::new(RateLimitConfig::default());
        let start = Instant::now();
        for _ in 0..30 {
            acquire_org(&pacer, "1").await;
        }
        // 10 at once, then 20 more at 10/s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.9..2.1).contains(&elapsed), "{elapsed}");
        // Another organization has its own budget.
        let other = Instant::now();
        acquire_org(&pacer, "2").await;
        assert!(other.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn adapts_to_429s_within_bounds() {
        let pacer = Pacer::new(RateLimitConfig::default());
        let org = pacer.organization("1");
        pacer.throttled(&org, b"");
        assert!((pacer.rate("1") - 7.0).abs() < 1e-9);
        // The 429s of requests already in flight lower it no further.
        for _ in 0..10 {
            pacer.throttled(&org, b"");
        }
        assert!((pacer.rate("1") - 7.0).abs() < 1e-9);
        for _ in 0..100 {
            tokio::time::advance(SLOWDOWN_WINDOW).await;
            pacer.throttled(&org, b"");
        }
        assert_eq!(pacer.rate("1"), 0.5);
        for _ in 0..100 {
            pacer.succeeded(&org);
        }
        assert_eq!(pacer.rate("1"), 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn waiters_are_served_in_the_order_they_came() {
        let pacer = Arc::new(Pacer::new(
            RateLimitConfig::default().per_organization(10.0, 1.0),
        ));
        acquire_org(&pacer, "1").await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (pacer, order) = (pacer.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                acquire_org(&pacer, "1").await;
                lock(&order).push(i);
            }));
            // Each waiter queues before the next one arrives.
            tokio::task::yield_now().await;
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*lock(&order), (0..20).collect::<Vec<_>>());
    }

    #[tokio::test(start_paused = true)]
    async fn a_lookups_429_slows_the_organization_it_finds_not_the_global_bucket() {
        let pacer = Pacer::new(RateLimitConfig::default());
        pacer.throttled(&pacer.lookup(), b"");
        assert_eq!(lock(&pacer.global.bucket).rate, 100.0);
        // A 429 for the address slows the global bucket, whoever paced the request.
        pacer.throttled(
            &pacer.organization("9"),
            br#"{"errors": ["API rate limit exceeded for this IP"]}"#,
        );
        assert!((lock(&pacer.global.bucket).rate - 70.0).abs() < 1e-9);
        assert_eq!(pacer.rate("9"), 10.0);
        pacer.throttled_org("7");
        assert!((pacer.rate("7") - 7.0).abs() < 1e-9);
        assert_eq!(pacer.rate("8"), 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_slows_only_the_bucket_that_paced_the_request() {
        let pacer = Pacer::new(RateLimitConfig::default());
        pacer.throttled(&pacer.unresolved(), b"");
        assert_eq!(pacer.rate("1"), 10.0);
        assert!((lock(&pacer.unresolved.bucket).rate - 3.5).abs() < 1e-9);
        assert_eq!(lock(&pacer.global.bucket).rate, 100.0);
        // Unresolved requests share one conservative bucket: 5 at once, then 3.5/s.
        let start = Instant::now();
        for _ in 0..12 {
            pacer.acquire(&pacer.unresolved()).await;
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((3.3..3.5).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn charged_lookups_delay_the_organizations_next_requests() {
        let pacer = Pacer::new(RateLimitConfig::default());
        for _ in 0..3 {
            pacer.charge("1");
        }
        let start = Instant::now();
        for _ in 0..10 {
            acquire_org(&pacer, "1").await;
        }
        // 7 tokens were left of the burst of 10; the other 3 take 0.3 s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((0.29..0.32).contains(&elapsed), "{elapsed}");
    }

    #[tokio::test(start_paused = true)]
    async fn many_concurrent_waiters_share_the_rate() {
        let pacer = Arc::new(Pacer::new(RateLimitConfig::default()));
        let start = Instant::now();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let pacer = pacer.clone();
                tokio::spawn(async move { acquire_org(&pacer, "1").await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((3.9..4.2).contains(&elapsed), "{elapsed}");
    }

    #[test]
    fn bad_settings_are_named() {
        for (config, name) in [
            (
                RateLimitConfig {
                    per_org_rate: 0.0,
                    ..RateLimitConfig::default()
                },
                "per_org_rate",
            ),
            (
                RateLimitConfig {
                    global_rate: f64::NAN,
                    ..RateLimitConfig::default()
                },
                "global_rate",
            ),
            (
                RateLimitConfig {
                    per_org_burst: 0.5,
                    ..RateLimitConfig::default()
                },
                "per_org_burst",
            ),
            (
                RateLimitConfig {
                    decrease_factor: 2.0,
                    ..RateLimitConfig::default()
                },
                "decrease_factor",
            ),
        ] {
            let err = config.validate().unwrap_err();
            assert_eq!(err.setting, format!("rate_limit.{name}"), "{err}");
        }
        assert!(RateLimitConfig::default().validate().is_ok());
    }
}
