//! Pacing budgets kept in Redis (feature `redis`): every process and machine that paces one
//! organization with the same Redis shares its 10/s, and the client's overall bucket.
//!
//! Each bucket is a Redis hash (`tokens`, `last`, `rate`, `slowed`) updated by one Lua script
//! per request (atomic, with Redis's own clock, so machines need not agree on the time). The
//! adaptive behaviour travels with the next request of that bucket: a 429 seen by one process
//! lowers the shared rate (once per window) and successes raise it, for every process. Keys
//! expire when unused. When Redis cannot be reached the client paces locally at a
//! conservative share of each rate, says so in tracing, and tries Redis again a few seconds
//! later: never unpaced, never a failed call for that.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Takes a token: `ARGV` = rate, burst, ttl (ms), slow (0/1), factor, min rate, window (ms),
/// successes, step. Returns the wait in ms (0: taken).
const TAKE: &str = r"
local key = KEYS[1]
local rate0, burst, ttl = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local slow, factor, minrate, window = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local successes, step = tonumber(ARGV[8]), tonumber(ARGV[9])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local h = redis.call('HMGET', key, 'tokens', 'last', 'rate', 'slowed')
local tokens = tonumber(h[1]) or burst
local last = tonumber(h[2]) or now
local rate = tonumber(h[3]) or rate0
local slowed = tonumber(h[4]) or 0
rate = math.min(rate0, rate + successes * step)
tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
if slow == 1 and now - slowed >= window then
  rate = math.max(minrate, rate * factor)
  slowed = now
  tokens = math.min(tokens, 0)
end
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000 / rate)
end
redis.call('HSET', key, 'tokens', tostring(tokens), 'last', tostring(now), 'rate', tostring(rate), 'slowed', tostring(slowed))
redis.call('PEXPIRE', key, ttl)
return wait
";

/// How long an unreachable Redis is left alone before the client tries it again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(5);

/// The share of each rate the client keeps to while Redis cannot be reached: other processes
/// may be pacing the same organization alone too.
pub(crate) const FALLBACK_SHARE: f64 = 0.25;

/// Keys unused this long expire.
const KEY_TTL_MS: u64 = 10 * 60 * 1000;

/// What a bucket's next request tells Redis about what happened since its last one.
#[derive(Default)]
struct Pending {
    slow: bool,
    successes: u32,
}

/// The Redis side of pacing.
pub(crate) struct SharedBudget {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    script: redis::Script,
    prefix: String,
    pending: Mutex<HashMap<String, Pending>>,
    down_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: not printed.
        f.debug_struct("SharedBudget")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// One bucket's settings, as the script takes them.
pub(crate) struct BucketSpec {
    pub(crate) key: String,
    pub(crate) rate: f64,
    pub(crate) burst: f64,
    pub(crate) decrease_factor: f64,
    pub(crate) min_rate: f64,
    pub(crate) increase_step: f64,
}

impl SharedBudget {
    /// A budget kept in the Redis at `url` (`redis://host:6379/0`), keys under `prefix`.
    pub(crate) fn new(url: &str, prefix: &str) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(TAKE),
            prefix: prefix.to_owned(),
            pending: Mutex::new(HashMap::new()),
            down_until: Mutex::new(None),
        })
    }

    /// The Redis key of a bucket.
    pub(crate) fn key(&self, bucket: &str) -> String {
        format!("{}:{bucket}", self.prefix)
    }

    /// Takes a token of the shared bucket: `Some(wait)` (zero: taken), or `None` when Redis
    /// cannot be reached (the caller paces locally).
    pub(crate) async fn take(&self, spec: &BucketSpec) -> Option<Duration> {
        if self
            .down_until
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some_and(|until| Instant::now() < until)
        {
            return None;
        }
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&spec.key)
            .unwrap_or_default();
        match self.invoke(spec, &pending).await {
            Ok(wait_ms) => Some(Duration::from_millis(wait_ms)),
            Err(e) => {
                tracing::warn!(
                    target: "meraki_api",
                    error = %e,
                    share = FALLBACK_SHARE,
                    "the shared budget in Redis cannot be reached: pacing locally at a conservative share"
                );
                *self
                    .down_until
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) =
                    Some(Instant::now() + RETRY_REDIS_AFTER);
                *self.connection.lock().await = None;
                // What was to be told is told next time.
                self.remember(&spec.key, pending);
                None
            }
        }
    }

    async fn invoke(&self, spec: &BucketSpec, pending: &Pending) -> redis::RedisResult<u64> {
        let mut guard = self.connection.lock().await;
        if guard.is_none() {
            let connect = self.client.get_multiplexed_async_connection();
            let connection = tokio::time::timeout(Duration::from_secs(2), connect)
                .await
                .map_err(|_| {
                    redis::RedisError::from((redis::ErrorKind::IoError, "connect timed out"))
                })??;
            tracing::info!(target: "meraki_api", "pacing with the shared budget in Redis");
            *guard = Some(connection);
        }
        let mut connection = guard.clone().expect("set above");
        drop(guard);
        let mut invocation = self.script.key(&spec.key);
        invocation
            .arg(spec.rate)
            .arg(spec.burst)
            .arg(KEY_TTL_MS)
            .arg(u8::from(pending.slow))
            .arg(spec.decrease_factor)
            .arg(spec.min_rate)
            .arg(1000u64)
            .arg(pending.successes)
            .arg(spec.increase_step);
        let call = invocation.invoke_async::<u64>(&mut connection);
        tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::IoError, "timed out")))?
    }

    fn remember(&self, key: &str, pending: Pending) {
        let mut all = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = all.entry(key.to_owned()).or_default();
        entry.slow |= pending.slow;
        entry.successes = entry.successes.saturating_add(pending.successes);
    }

    /// A 429 for this bucket: the next request lowers the shared rate (once per window).
    pub(crate) fn throttled(&self, key: &str) {
        self.remember(
            key,
            Pending {
                slow: true,
                successes: 0,
            },
        );
    }

    /// A success for this bucket: the next request raises the shared rate a step.
    pub(crate) fn succeeded(&self, key: &str) {
        self.remember(
            key,
            Pending {
                slow: false,
                successes: 1,
            },
        );
    }
}
