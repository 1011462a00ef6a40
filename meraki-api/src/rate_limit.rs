//! Client-side throttling: a token bucket per organization plus one for the whole client,
//! adapting to the API's 429s.
//!
//! Every waiter re-checks the bucket after sleeping instead of holding a reservation, so a
//! rate lowered by a 429 applies at once to everyone already waiting, and many concurrent
//! callers cannot pile reservations into the future.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Rate-limit settings. Defaults follow the API's documented limits.
#[derive(Debug, Clone, PartialEq)]
pub struct RateLimitConfig {
    /// Requests per second per organization when all is well (default 10, the API's limit).
    pub per_org_rate: f64,
    /// Requests an organization may send at once (default 10, the API's burst).
    pub per_org_burst: f64,
    /// Requests per second for the whole client, all organizations together (default 100).
    pub global_rate: f64,
    /// Burst for the whole client (default 100).
    pub global_burst: f64,
    /// An organization's rate never goes below this (default 0.5/s).
    pub min_rate: f64,
    /// Factor applied to an organization's rate on each 429 (default 0.7).
    pub decrease_factor: f64,
    /// Requests per second given back after each success, up to `per_org_rate` (default 0.2).
    pub increase_step: f64,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self {
            per_org_rate: 10.0,
            per_org_burst: 10.0,
            global_rate: 100.0,
            global_burst: 100.0,
            min_rate: 0.5,
            decrease_factor: 0.7,
            increase_step: 0.2,
        }
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    last: Instant,
}

impl Bucket {
    fn new(rate: f64, capacity: f64) -> Self {
        Self {
            tokens: capacity,
            capacity,
            rate,
            last: Instant::now(),
        }
    }

    /// Takes a token, or says how long until one is there.
    fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

/// Shared by every clone of a client.
#[derive(Debug)]
pub(crate) struct RateLimiter {
    config: RateLimitConfig,
    global: Mutex<Bucket>,
    orgs: Mutex<HashMap<String, Arc<Mutex<Bucket>>>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere cannot leave a bucket inconsistent: every update is one assignment.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RateLimiter {
    pub(crate) fn new(config: RateLimitConfig) -> Self {
        let global = Mutex::new(Bucket::new(config.global_rate, config.global_burst));
        Self {
            config,
            global,
            orgs: Mutex::new(HashMap::new()),
        }
    }

    fn org_bucket(&self, org: &str) -> Arc<Mutex<Bucket>> {
        let mut orgs = lock(&self.orgs);
        // Every request looks its organization up; only the first one allocates the key.
        if let Some(bucket) = orgs.get(org) {
            return bucket.clone();
        }
        orgs.entry(org.to_owned())
            .or_insert_with(|| {
                Arc::new(Mutex::new(Bucket::new(
                    self.config.per_org_rate,
                    self.config.per_org_burst,
                )))
            })
            .clone()
    }

    /// Waits until both the organization's bucket and the global one allow a request.
    pub(crate) async fn acquire(&self, org: Option<&str>) {
        if let Some(org) = org {
            let bucket = self.org_bucket(org);
            take(&bucket).await;
        }
        take(&self.global).await;
    }

    /// The API answered 429 for `org`: slow that organization down.
    pub(crate) fn throttled(&self, org: Option<&str>) {
        if let Some(org) = org {
            let bucket = self.org_bucket(org);
            let mut b = lock(&bucket);
            b.rate = (b.rate * self.config.decrease_factor).max(self.config.min_rate);
            // No burst right after being told to slow down.
            b.tokens = b.tokens.min(0.0);
        }
    }

    /// A request for `org` went through: recover towards the configured rate.
    pub(crate) fn succeeded(&self, org: Option<&str>) {
        if let Some(org) = org {
            let bucket = self.org_bucket(org);
            let mut b = lock(&bucket);
            b.rate = (b.rate + self.config.increase_step).min(self.config.per_org_rate);
        }
    }

    /// The current rate for `org`, requests per second.
    #[cfg(test)]
    pub(crate) fn rate(&self, org: &str) -> f64 {
        lock(&self.org_bucket(org)).rate
    }
}

async fn take(bucket: &Mutex<Bucket>) {
    loop {
        let wait = lock(bucket).try_take(Instant::now());
        match wait {
            Ok(()) => return,
            Err(wait) => tokio::time::sleep(wait).await,
        }
    }
}

/// The organization a request is for, from a path such as `/api/v1/organizations/{id}/...`.
pub(crate) fn organization_in_path(path: &str) -> Option<&str> {
    let mut segments = path.split('/');
    segments.find(|s| *s == "organizations")?;
    segments.next().filter(|s| !s.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_organization_ids() {
        assert_eq!(
            organization_in_path("/api/v1/organizations/123/licenses"),
            Some("123")
        );
        assert_eq!(organization_in_path("/api/v1/organizations"), None);
        assert_eq!(organization_in_path("/api/v1/networks/N_1/clients"), None);
    }

    #[tokio::test(start_paused = true)]
    async fn paces_an_organization_after_its_burst() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        let start = Instant::now();
        for _ in 0..30 {
            limiter.acquire(Some("1")).await;
        }
        // 10 at once, then 20 more at 10/s.
        let elapsed = start.elapsed().as_secs_f64();
        assert!((1.9..2.1).contains(&elapsed), "{elapsed}");
        // Another organization has its own budget.
        let other = Instant::now();
        limiter.acquire(Some("2")).await;
        assert!(other.elapsed() < Duration::from_millis(1));
    }

    #[tokio::test(start_paused = true)]
    async fn adapts_to_429s_within_bounds() {
        let limiter = RateLimiter::new(RateLimitConfig::default());
        limiter.throttled(Some("1"));
        assert!((limiter.rate("1") - 7.0).abs() < 1e-9);
        for _ in 0..100 {
            limiter.throttled(Some("1"));
        }
        assert_eq!(limiter.rate("1"), 0.5);
        for _ in 0..100 {
            limiter.succeeded(Some("1"));
        }
        assert_eq!(limiter.rate("1"), 10.0);
    }

    #[tokio::test(start_paused = true)]
    async fn many_concurrent_waiters_share_the_rate() {
        let limiter = Arc::new(RateLimiter::new(RateLimitConfig::default()));
        let start = Instant::now();
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move { limiter.acquire(Some("1")).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        let elapsed = start.elapsed().as_secs_f64();
        assert!((3.9..4.2).contains(&elapsed), "{elapsed}");
    }
}
