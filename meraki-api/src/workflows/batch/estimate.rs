//! What a job will cost before it runs: requests, and the time they take at the organization's
//! budget. Users sizing a job (how often can this poll? how long will 2,000 updates take?) ask
//! for exactly this.

use std::fmt;
use std::time::Duration;

/// Requests a job will take at least, and how long those take at the budget it has.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct Estimate {
    /// Requests, at least (a batch that runs longer is read more often; a 429 adds a retry).
    pub requests: u64,
    /// The organization's budget now, requests per second: its configured rate and the
    /// client's overall one, each as slowed by the 429s the client has met.
    pub budget: f64,
    /// How long the job takes at least: its requests at the budget, or its batches' waits,
    /// whichever is longer.
    #[serde(with = "seconds")]
    pub duration: Duration,
}

impl Estimate {
    /// The cost of `requests` at `budget`, taking at least `floor`.
    pub(crate) fn new(requests: u64, budget: f64, floor: Duration) -> Self {
        // Settings can be extreme (a budget of f64::MIN_POSITIVE): saturate, never panic.
        let paced = Duration::try_from_secs_f64(requests as f64 / budget).unwrap_or(Duration::MAX);
        Self {
            requests,
            budget,
            duration: paced.max(floor),
        }
    }
}

impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at least {} requests, about {:.1} s at {:.1} requests/s",
            self.requests,
            self.duration.as_secs_f64(),
            self.budget
        )
    }
}

mod seconds {
    pub(super) fn serialize<S: serde::Serializer>(
        d: &std::time::Duration,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_f64(d.as_secs_f64())
    }
}

/// Requests a run of `batches` batches takes at least: one listing of the organization's
/// batches, then for each a creation, a confirmation and (unless synchronous) a status read.
pub(crate) fn batch_requests(batches: usize, synchronous: bool) -> u64 {
    if batches == 0 {
        return 0;
    }
    let each = if synchronous { 2 } else { 3 };
    1 + batches as u64 * each
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_at_the_budget_or_the_floor() {
        let e = Estimate::new(31, 10.0, Duration::from_secs(1));
        assert_eq!(e.duration, Duration::from_millis(3100));
        assert_eq!(
            e.to_string(),
            "at least 31 requests, about 3.1 s at 10.0 requests/s"
        );
        let e = Estimate::new(4, 10.0, Duration::from_secs(2));
        assert_eq!(e.duration, Duration::from_secs(2));
        assert_eq!(batch_requests(0, false), 0);
        assert_eq!(batch_requests(10, false), 31);
        assert_eq!(batch_requests(10, true), 21);
    }
}
