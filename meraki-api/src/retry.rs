//! When to send a request again, and how long to wait first.

use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;
use reqwest::{Method, StatusCode};

/// Retry behaviour for 429s, 5xx and transport failures.
///
/// ```
/// use std::time::Duration;
/// let policy = meraki_api::RetryPolicy::default()
///     .max_attempts(3)
///     .deadline(Some(Duration::from_secs(30)));
/// # let _ = policy;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Most times one request is sent, the first included (default 5). `1` disables retries.
    pub max_attempts: u32,
    /// First backoff after a 5xx or transport failure (default 1 s, as Meraki's SDKs wait).
    pub initial_backoff: Duration,
    /// Longest single wait, backoff or `Retry-After` (default 60 s).
    pub max_backoff: Duration,
    /// Give up once this much time has passed since the first attempt (default: none).
    pub deadline: Option<Duration>,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            deadline: None,
        }
    }
}

impl RetryPolicy {
    /// Most times one request is sent, the first included; `1` disables retries.
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }

    /// First backoff after a 5xx or transport failure; it doubles each attempt.
    pub fn initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }

    /// Longest single wait, backoff or `Retry-After`.
    pub fn max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }

    /// Give up once this much time has passed since the first attempt (`None`: no limit).
    pub fn deadline(mut self, deadline: Option<Duration>) -> Self {
        self.deadline = deadline;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), crate::error::ConfigError> {
        if self.max_attempts == 0 {
            return Err(crate::error::ConfigError::new(
                "retry.max_attempts",
                "must be at least 1 (1 sends each request once)",
            ));
        }
        Ok(())
    }

    /// A policy that sends every request exactly once.
    pub fn never() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Exponential backoff with full jitter for the wait after `attempt` (1-based) failed:
    /// a random duration in `[d/2, d]`, `d = initial * 2^(attempt-1)`, capped.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_backoff);
        let half = ceiling / 2;
        half + half.mul_f64(fastrand::f64())
    }
}

/// What to do with the outcome of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Done,
    RetryAfterThrottle,
    RetryAfterBackoff,
}

/// Idempotent methods may be sent again when the effect of a failure is unknown.
pub(crate) fn is_idempotent(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::PUT | Method::DELETE | Method::OPTIONS | Method::TRACE
    )
}

/// Classifies a response status.
pub(crate) fn verdict_for_status(status: StatusCode, method: &Method) -> Verdict {
    if status == StatusCode::TOO_MANY_REQUESTS {
        // The API refused without acting: safe to send again whatever the method.
        Verdict::RetryAfterThrottle
    } else if status.is_server_error() && is_idempotent(method) {
        Verdict::RetryAfterBackoff
    } else {
        Verdict::Done
    }
}

/// Classifies a transport failure.
pub(crate) fn verdict_for_error(error: &reqwest::Error, method: &Method) -> Verdict {
    if error.is_connect() && !error.is_timeout() {
        // Nothing reached the server.
        Verdict::RetryAfterBackoff
    } else if is_idempotent(method) && (error.is_timeout() || error.is_request() || error.is_body())
    {
        Verdict::RetryAfterBackoff
    } else {
        Verdict::Done
    }
}

/// Parses `Retry-After`: delay-seconds (Meraki's form; fractions tolerated) or an HTTP date.
pub fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
    let text = value.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<f64>() {
        return (seconds.is_finite() && seconds >= 0.0)
            .then(|| Duration::from_secs_f64(seconds.min(86_400.0)));
    }
    // All three date forms HTTP recipients must accept (IMF-fixdate, RFC 850, asctime).
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
        let h = |s: &str| HeaderValue::from_str(s).unwrap();
        assert_eq!(
            parse_retry_after(&h("2"), now),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            parse_retry_after(&h("0.5"), now),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            parse_retry_after(&h("Sun, 06 Nov 1994 08:49:40 GMT"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(&h("Sun, 06 Nov 1994 08:00:00 GMT"), now),
            Some(Duration::ZERO)
        );
        // The obsolete forms HTTP still asks recipients to accept.
        assert_eq!(
            parse_retry_after(&h("Sunday, 06-Nov-94 08:49:40 GMT"), now),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            parse_retry_after(&h("Sun Nov  6 08:49:40 1994"), now),
            Some(Duration::from_secs(3))
        );
        for bad in ["-1", "soon", "Sun, 06 Foo 1994 08:49:40 GMT", "NaN"] {
            assert_eq!(parse_retry_after(&h(bad), now), None, "{bad}");
        }
    }

    #[test]
    fn backoff_grows_with_jitter_and_cap() {
        let policy = RetryPolicy::default();
        for attempt in 1..=10 {
            let d = policy.backoff(attempt);
            let ceiling = (Duration::from_secs(1) * 2u32.pow(attempt - 1)).min(policy.max_backoff);
            assert!(d >= ceiling / 2 && d <= ceiling, "attempt {attempt}: {d:?}");
        }
    }

    #[test]
    fn only_safe_retries() {
        assert_eq!(
            verdict_for_status(StatusCode::TOO_MANY_REQUESTS, &Method::POST),
            Verdict::RetryAfterThrottle
        );
        assert_eq!(
            verdict_for_status(StatusCode::BAD_GATEWAY, &Method::GET),
            Verdict::RetryAfterBackoff
        );
        assert_eq!(
            verdict_for_status(StatusCode::BAD_GATEWAY, &Method::POST),
            Verdict::Done
        );
        assert_eq!(
            verdict_for_status(StatusCode::NOT_FOUND, &Method::GET),
            Verdict::Done
        );
    }
}
