//! When to send a request again, and how long to wait first.

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode};

use crate::error::reach::{self, Reach};

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
    /// Longest single wait, backoff or `Retry-After` (default 60 s). An answer asking for a
    /// longer wait ends the call at once with its error, which names the wait
    /// ([`crate::ApiError::retry_after`]): sending sooner would only meet another refusal.
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

    /// Longest single wait, backoff or `Retry-After`; a longer `Retry-After` ends the call with
    /// its error.
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

    /// Exponential backoff with jitter for the wait after `attempt` (1-based) failed: a random
    /// duration in `[d/2, d]`, `d = initial * 2^(attempt-1)`, capped at `max_backoff`.
    /// Saturates instead of overflowing, whatever the settings.
    pub(crate) fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .initial_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let ceiling = exp.min(self.max_backoff);
        let half = ceiling / 2;
        let spread = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        half.saturating_add(Duration::from_nanos(fastrand::u64(0..=spread)))
    }

    /// How long to wait before sending again: what the API asked for (`Retry-After`, on a 429
    /// or a 5xx), else the backoff. `Err` with the wait asked for when it is beyond
    /// `max_backoff`: the call ends instead.
    pub(crate) fn wait(&self, retry: &Retry, attempt: u32) -> Result<Duration, Duration> {
        match retry.after {
            Some(asked) if asked > self.max_backoff => Err(asked),
            Some(asked) => Ok(asked),
            None => Ok(self.backoff(attempt)),
        }
    }
}

/// What kind of failure an attempt met, when it is worth another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryKind {
    /// 429: the API refused without acting.
    Throttled,
    /// 5xx from the API or a gateway.
    Server,
    /// The connection failed, or the answer did not arrive whole.
    Transport,
}

/// A failure worth sending the request again for, and the delay the API asked for, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Retry {
    pub(crate) kind: RetryKind,
    pub(crate) after: Option<Duration>,
}

/// Classifies an answer: a 429 (any method: the API did not act), or a 5xx of a request that is
/// safe to resend ([`reach`]), is worth another attempt; a `501` is not (the API does not do
/// this at all).
pub(crate) fn classify_status(
    status: StatusCode,
    headers: &HeaderMap,
    method: &Method,
) -> Option<Retry> {
    let kind = match reach::of_status(status)? {
        Reach::Refused if status == StatusCode::TOO_MANY_REQUESTS => RetryKind::Throttled,
        Reach::Unknown if reach::safe_to_resend(method, Reach::Unknown) => RetryKind::Server,
        _ => return None,
    };
    let after = headers
        .get(RETRY_AFTER)
        .and_then(|v| parse_retry_after(v, SystemTime::now()));
    Some(Retry { kind, after })
}

/// Classifies a transport failure: retried when the request is safe to resend ([`reach`]: a
/// connection that never opened, whatever the method; a timeout, a request cut off or an answer
/// that did not arrive whole only for idempotent methods). TLS failures are permanent: a
/// certificate that does not verify now will not verify in a second either.
pub(crate) fn classify_error(error: &reqwest::Error, method: &Method) -> Option<Retry> {
    if crate::error::reach::is_tls_failure(error) {
        return None;
    }
    reach::safe_to_resend(method, reach::of_transport(error)).then_some(Retry {
        kind: RetryKind::Transport,
        after: None,
    })
}

/// Parses `Retry-After`: delay-seconds (Meraki's form; fractions tolerated) or an HTTP date.
pub(crate) fn parse_retry_after(value: &HeaderValue, now: SystemTime) -> Option<Duration> {
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
        let none = HeaderMap::new();
        let kind = |status: u16, method: &Method| {
            classify_status(StatusCode::from_u16(status).unwrap(), &none, method).map(|r| r.kind)
        };
        assert_eq!(kind(429, &Method::POST), Some(RetryKind::Throttled));
        assert_eq!(kind(502, &Method::GET), Some(RetryKind::Server));
        assert_eq!(kind(502, &Method::DELETE), Some(RetryKind::Server));
        assert_eq!(kind(502, &Method::POST), None);
        assert_eq!(kind(404, &Method::GET), None);
        assert_eq!(kind(501, &Method::GET), None);
    }

    #[test]
    fn a_delay_beyond_max_backoff_ends_the_call_instead_of_being_waited() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
        let retry =
            classify_status(StatusCode::SERVICE_UNAVAILABLE, &headers, &Method::GET).unwrap();
        let policy = RetryPolicy::default().max_backoff(Duration::from_secs(5));
        assert_eq!(policy.wait(&retry, 1), Err(Duration::from_secs(120)));
        let patient = RetryPolicy::default().max_backoff(Duration::from_secs(300));
        assert_eq!(patient.wait(&retry, 1), Ok(Duration::from_secs(120)));
        let no_header = Retry {
            after: None,
            ..retry
        };
        assert!(policy.wait(&no_header, 9).unwrap() <= Duration::from_secs(5));
    }

    #[test]
    fn huge_settings_saturate_instead_of_overflowing() {
        let policy = RetryPolicy::default()
            .initial_backoff(Duration::MAX)
            .max_backoff(Duration::MAX);
        for attempt in [0, 1, 2, 31, 32, u32::MAX] {
            assert!(policy.backoff(attempt) >= Duration::MAX / 2);
        }
        let zero = RetryPolicy::default().initial_backoff(Duration::ZERO);
        assert_eq!(zero.backoff(3), Duration::ZERO);
    }
}
