//! Rate-limit settings: the API's limits as defaults, the adaptive rule's parameters, and the
//! shared budget's Redis.

use std::time::Duration;

use crate::error::ConfigError;

/// After a 429 lowers a bucket's rate, the 429s of the next second answer requests sent
/// before it: they lower it no further.
const SLOWDOWN_WINDOW: Duration = Duration::from_secs(1);

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
    /// The source address the overall bucket in Redis stands for: the API's 100/s is per source
    /// address, so machines behind different addresses keep apart (default: this machine's host
    /// name; [`RateLimitConfig::source_address`]).
    #[cfg(feature = "redis")]
    pub source_address: Option<String>,
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
            #[cfg(feature = "redis")]
            source_address: None,
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
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis_url = Some(url.into());
        self
    }

    /// Which source address the overall bucket in Redis stands for (default: this machine's
    /// host name). Processes that reach the API from one address (behind one NAT) share one
    /// 100/s: give them the same name; machines with their own addresses keep the default.
    #[cfg(feature = "redis")]
    #[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
    pub fn source_address(mut self, address: impl Into<String>) -> Self {
        self.source_address = Some(address.into());
        self
    }

    /// The adaptive rule these settings give.
    pub(crate) fn rule(&self) -> super::bucket::Adaptation {
        super::bucket::Adaptation {
            decrease_factor: self.decrease_factor,
            increase_step: self.increase_step,
            min_rate: self.min_rate,
            window: SLOWDOWN_WINDOW,
        }
    }

    /// Checks every setting; the error names the first one that is out of range.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        #[cfg(feature = "redis")]
        if let Some(url) = &self.redis_url {
            if let Err(e) = redis::Client::open(url.as_str()) {
                let shown = crate::secrets::redact_url(url);
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

#[cfg(test)]
mod tests {
    use super::*;

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
