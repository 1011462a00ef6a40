//! The one token bucket of the crate, and the one adaptive rule: used by the client's pacer,
//! by `test_util::SimulatedDashboard` (the API's limits) and by the benchmarks' servers. The
//! shared budget in Redis performs the same take atomically, with the rates this rule sets.

use std::time::Duration;

use tokio::time::Instant;

/// A token bucket: `capacity` tokens at most, refilled at `rate` per second. Time is given by
/// the caller, so the same bucket serves a client (tokio's clock, which tests can pause) and a
/// server.
///
/// ```
/// use meraki_api::pacing::TokenBucket;
/// use tokio::time::Instant;
/// let now = Instant::now();
/// let mut bucket = TokenBucket::new(10.0, 2.0, now);
/// assert!(bucket.try_take(now).is_ok());
/// assert!(bucket.try_take(now).is_ok());
/// let wait = bucket.try_take(now).unwrap_err();
/// assert!(wait.as_millis() >= 99 && wait.as_millis() <= 101);
/// ```
#[derive(Debug, Clone)]
pub struct TokenBucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, capacity: f64, now: Instant) -> Self {
        Self {
            tokens: capacity,
            capacity,
            rate,
            last: now,
        }
    }

    /// Tokens per second.
    pub fn rate(&self) -> f64 {
        self.rate
    }

    /// Refills up to `now` and changes the rate from then on.
    pub fn set_rate(&mut self, rate: f64, now: Instant) {
        self.refill(now);
        self.rate = rate;
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        // A clock that went back (a server's wall clock) refills nothing and freezes nothing.
        self.last = self.last.max(now);
    }

    /// How long until `cost` tokens are there (zero: they are). Never less than a millisecond
    /// when not zero, so a waiter cannot spin on rounding; a tiny rate saturates.
    pub fn wait_for(&mut self, now: Instant, cost: f64) -> Duration {
        self.refill(now);
        let cost = cost.min(self.capacity);
        if self.tokens >= cost {
            return Duration::ZERO;
        }
        Duration::try_from_secs_f64((cost - self.tokens) / self.rate)
            .unwrap_or(Duration::MAX)
            .max(Duration::from_millis(1))
    }

    /// Takes a token, or says how long until one is there.
    pub fn try_take(&mut self, now: Instant) -> Result<(), Duration> {
        match self.wait_for(now, 1.0) {
            Duration::ZERO => {
                self.tokens -= 1.0;
                Ok(())
            }
            wait => Err(wait),
        }
    }

    /// Takes `cost` tokens whether or not they are there (down to minus the capacity): for a
    /// request paced elsewhere that counts here too, or after [`TokenBucket::wait_for`] said yes.
    pub fn charge(&mut self, now: Instant, cost: f64) {
        self.refill(now);
        self.tokens = (self.tokens - cost).max(-self.capacity);
    }

    /// No burst from what was saved up: after being told to slow down.
    pub fn drain(&mut self, now: Instant) {
        self.refill(now);
        self.tokens = self.tokens.min(0.0);
    }
}

/// How a rate adapts to the API's answers: times `decrease_factor` on a 429 (once per `window`:
/// the 429s that follow answer requests sent before it), plus `increase_step` per success, never
/// below `min_rate` nor above the configured rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Adaptation {
    pub(crate) decrease_factor: f64,
    pub(crate) increase_step: f64,
    pub(crate) min_rate: f64,
    pub(crate) window: Duration,
}

/// A rate under [`Adaptation`]. Windows are measured on a monotonic clock.
#[derive(Debug, Clone)]
pub(crate) struct AdaptiveRate {
    full: f64,
    current: f64,
    slowed_at: Option<Instant>,
}

impl AdaptiveRate {
    pub(crate) fn new(full: f64) -> Self {
        Self {
            full,
            current: full,
            slowed_at: None,
        }
    }

    pub(crate) fn current(&self) -> f64 {
        self.current
    }

    /// A 429: lowers the rate unless it was lowered within the window; whether it was.
    pub(crate) fn throttled(&mut self, rule: &Adaptation, now: Instant) -> bool {
        if self
            .slowed_at
            .is_some_and(|at| now.saturating_duration_since(at) < rule.window)
        {
            return false;
        }
        self.slowed_at = Some(now);
        self.current = (self.current * rule.decrease_factor).max(rule.min_rate);
        true
    }

    /// A success: raises the rate a step towards the configured one; whether it changed.
    pub(crate) fn succeeded(&mut self, rule: &Adaptation) -> bool {
        if self.current >= self.full {
            return false;
        }
        self.current = (self.current + rule.increase_step).min(self.full);
        true
    }

    /// Takes a rate others settled on (the shared budget's), within the configured bounds.
    #[cfg(feature = "redis")]
    pub(crate) fn adopt(&mut self, rate: f64, rule: &Adaptation) {
        if rate.is_finite() {
            self.current = rate.clamp(rule.min_rate.min(self.full), self.full);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extreme_rates_saturate_instead_of_panicking() {
        for rate in [f64::MIN_POSITIVE, 1e-300, f64::MAX] {
            let now = Instant::now();
            let mut bucket = TokenBucket::new(rate, 1.0, now);
            assert!(bucket.try_take(now).is_ok());
            let wait = bucket.try_take(now);
            assert!(wait.is_err_and(|w| w >= Duration::from_millis(1)), "{rate}");
        }
    }

    #[test]
    fn a_clock_that_goes_back_neither_refills_nor_freezes() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 1.0, start + Duration::from_secs(10));
        assert!(bucket.try_take(start + Duration::from_secs(10)).is_ok());
        // Earlier than the last take: nothing refilled, a wait of one token.
        let wait = bucket.wait_for(start, 1.0);
        assert!(wait <= Duration::from_millis(100), "{wait:?}");
        assert!(bucket
            .try_take(start + Duration::from_millis(10_100))
            .is_ok());
    }

    #[test]
    fn the_rule_lowers_once_per_window_and_recovers_within_bounds() {
        let rule = Adaptation {
            decrease_factor: 0.7,
            increase_step: 0.2,
            min_rate: 0.5,
            window: Duration::from_secs(1),
        };
        let mut rate = AdaptiveRate::new(10.0);
        let now = Instant::now();
        assert!(rate.throttled(&rule, now));
        assert!(!rate.throttled(&rule, now + Duration::from_millis(500)));
        assert!((rate.current() - 7.0).abs() < 1e-9);
        for i in 1..100 {
            rate.throttled(&rule, now + Duration::from_secs(i));
        }
        assert_eq!(rate.current(), 0.5);
        for _ in 0..100 {
            rate.succeeded(&rule);
        }
        assert_eq!(rate.current(), 10.0);
        assert!(!rate.succeeded(&rule));
    }
}
