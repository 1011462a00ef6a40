//! Pacing budgets kept in Redis (feature `redis`): every process and machine that paces one
//! organization with the same Redis shares its 10/s, and the overall bucket of its source
//! address.
//!
//! Each bucket is a Redis hash (`tokens`, `last`, `rate`). One Lua script performs the take, of
//! a request's buckets together (its organization's and the overall one): all or none, on
//! Redis's clock, so machines need not agree on the time. The script decides nothing else: the
//! rates come from this process's [`AdaptiveRate`]s (the crate's one rule, on this process's
//! monotonic clock), which also take the shared rate each answer brings back. A rate a 429 or
//! success changed stays to be sent until a take that carried it has come back, so a caller
//! cancelled mid-take loses no signal. Keys expire when unused. When Redis cannot be reached the
//! client paces locally at a conservative share of each rate, says so in tracing, and tries
//! Redis again a few seconds later: never unpaced, never a failed call for that.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::bucket::{Adaptation, AdaptiveRate};
use super::{Lane, RateLimitConfig};

/// Takes a token from every bucket in `KEYS`, or from none. `ARGV`: ttl (ms), then per key
/// rate, burst, the rate to set (`-1`: keep the stored one) and whether to drain it (0/1).
/// Returns the wait in ms (`0`: taken) and each bucket's rate, as strings.
const TAKE: &str = r"
local ttl = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
local buckets = {}
local wait = 0
for i, key in ipairs(KEYS) do
  local base = 1 + (i - 1) * 4
  local rate0, burst = tonumber(ARGV[base + 1]), tonumber(ARGV[base + 2])
  local set, drain = tonumber(ARGV[base + 3]), tonumber(ARGV[base + 4])
  local h = redis.call('HMGET', key, 'tokens', 'last', 'rate')
  local rate = tonumber(h[3]) or rate0
  if set >= 0 then rate = set end
  local tokens = tonumber(h[1]) or burst
  local last = tonumber(h[2]) or now
  tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
  if drain == 1 then tokens = math.min(tokens, 0) end
  if tokens < 1 then wait = math.max(wait, math.ceil((1 - tokens) * 1000 / rate)) end
  buckets[i] = {tokens, rate}
end
local out = {tostring(wait)}
for i, key in ipairs(KEYS) do
  local tokens, rate = buckets[i][1], buckets[i][2]
  if wait == 0 then tokens = tokens - 1 end
  redis.call('HSET', key, 'tokens', tostring(tokens), 'last', tostring(now), 'rate', tostring(rate))
  redis.call('PEXPIRE', key, ttl)
  out[i + 1] = tostring(rate)
end
return out
";

/// How long an unreachable Redis is left alone before the client tries it again.
const RETRY_REDIS_AFTER: Duration = Duration::from_secs(5);

/// The share of each rate the client keeps to while Redis cannot be reached: other processes
/// may be pacing the same organization alone too.
pub(crate) const FALLBACK_SHARE: f64 = 0.25;

/// Keys unused this long expire.
const KEY_TTL_MS: u64 = 10 * 60 * 1000;

/// One shared bucket as this process sees it.
#[derive(Debug)]
struct Shared {
    rate: f64,
    burst: f64,
    adaptive: AdaptiveRate,
    /// The rate changed here and is still to reach Redis (with a drain after a 429).
    unsent: Option<bool>,
    /// Counts changes, so an answer does not clear a change made while it was on its way.
    version: u64,
}

/// What one take carries for one bucket.
struct Sent {
    rate: f64,
    burst: f64,
    /// The rate to set (`-1`: keep the shared one).
    set: f64,
    drain: bool,
    version: u64,
}

/// The Redis side of pacing.
pub(crate) struct SharedBudget {
    client: redis::Client,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
    script: redis::Script,
    prefix: String,
    source: String,
    config: RateLimitConfig,
    rule: Adaptation,
    buckets: Mutex<HashMap<String, Shared>>,
    down_until: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for SharedBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: not printed.
        f.debug_struct("SharedBudget")
            .field("prefix", &self.prefix)
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// This machine's name, for the overall bucket's key.
fn machine_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "this-machine".to_owned())
}

impl SharedBudget {
    /// A budget kept in the Redis of `config.redis_url`.
    pub(crate) fn new(url: &str, config: &RateLimitConfig) -> Result<Self, String> {
        let client = redis::Client::open(url).map_err(|e| e.to_string())?;
        Ok(Self {
            client,
            connection: tokio::sync::Mutex::new(None),
            script: redis::Script::new(TAKE),
            prefix: "meraki-api:budget".to_owned(),
            source: config.source_address.clone().unwrap_or_else(machine_name),
            config: config.clone(),
            rule: config.rule(),
            buckets: Mutex::new(HashMap::new()),
            down_until: Mutex::new(None),
        })
    }

    /// The key of a lane's own bucket (`None`: the lane has only the overall one).
    pub(crate) fn lane_key(&self, lane: &Lane) -> Option<String> {
        let c = &self.config;
        let (name, rate, burst) = match lane {
            Lane::Organization(org) => (format!("org:{org}"), c.per_org_rate, c.per_org_burst),
            Lane::Unresolved => (
                "unresolved".to_owned(),
                c.unresolved_rate,
                c.unresolved_burst,
            ),
            Lane::Global | Lane::Lookup => return None,
        };
        Some(self.register(name, rate, burst))
    }

    /// The key of the overall bucket of this client's source address.
    pub(crate) fn global_key(&self) -> String {
        let c = &self.config;
        self.register(
            format!("global:{}", self.source),
            c.global_rate,
            c.global_burst,
        )
    }

    fn register(&self, name: String, rate: f64, burst: f64) -> String {
        let key = format!("{}:{name}", self.prefix);
        lock(&self.buckets).entry(key.clone()).or_insert(Shared {
            rate,
            burst,
            adaptive: AdaptiveRate::new(rate),
            unsent: None,
            version: 0,
        });
        key
    }

    /// Takes a token of every bucket of `keys` together: `Some(wait)` (zero: taken), or `None`
    /// when Redis cannot be reached (the caller paces locally).
    pub(crate) async fn take(&self, keys: &[String]) -> Option<Duration> {
        if lock(&self.down_until).is_some_and(|until| Instant::now() < until) {
            return None;
        }
        let sent = self.prepare(keys);
        match self.invoke(keys, &sent).await {
            Ok(answer) => Some(self.settle(keys, &sent, &answer)),
            Err(e) => {
                tracing::warn!(
                    target: "meraki_api",
                    error = %e,
                    share = FALLBACK_SHARE,
                    "the shared budget in Redis cannot be reached: pacing locally at a conservative share"
                );
                *lock(&self.down_until) = Some(Instant::now() + RETRY_REDIS_AFTER);
                *self.connection.lock().await = None;
                None
            }
        }
    }

    /// What a take carries for each bucket: its rate and burst, the rate to set if this
    /// process changed it (with a drain after a 429), and the version that change is at.
    fn prepare(&self, keys: &[String]) -> Vec<Sent> {
        let buckets = lock(&self.buckets);
        keys.iter()
            .map(|key| match buckets.get(key) {
                Some(b) => Sent {
                    rate: b.rate,
                    burst: b.burst,
                    set: b.unsent.map_or(-1.0, |_| b.adaptive.current()),
                    drain: b.unsent == Some(true),
                    version: b.version,
                },
                None => Sent {
                    rate: 1.0,
                    burst: 1.0,
                    set: -1.0,
                    drain: false,
                    version: 0,
                },
            })
            .collect()
    }

    /// A take's answer: the wait, and each bucket's shared rate, which this process adopts;
    /// a change it carried is sent (unless another came meanwhile). A take that never came
    /// back (its caller was cancelled, Redis failed) settles nothing: its changes go with the
    /// next one.
    fn settle(&self, keys: &[String], sent: &[Sent], answer: &[String]) -> Duration {
        let wait_ms = answer
            .first()
            .and_then(|w| w.parse::<u64>().ok())
            .unwrap_or(1000);
        let mut buckets = lock(&self.buckets);
        for ((key, sent), rate) in keys.iter().zip(sent).zip(answer.iter().skip(1)) {
            let Some(bucket) = buckets.get_mut(key) else {
                continue;
            };
            if bucket.version == sent.version {
                bucket.unsent = None;
                if let Ok(rate) = rate.parse::<f64>() {
                    bucket.adaptive.adopt(rate, &self.rule);
                }
            }
        }
        Duration::from_millis(wait_ms)
    }

    async fn invoke(&self, keys: &[String], sent: &[Sent]) -> redis::RedisResult<Vec<String>> {
        let mut guard = self.connection.lock().await;
        let mut connection = match &*guard {
            Some(connection) => connection.clone(),
            None => {
                let connect = self.client.get_multiplexed_async_connection();
                let connection = tokio::time::timeout(Duration::from_secs(2), connect)
                    .await
                    .map_err(|_| {
                        redis::RedisError::from((redis::ErrorKind::Io, "connect timed out"))
                    })??;
                tracing::info!(target: "meraki_api", "pacing with the shared budget in Redis");
                *guard = Some(connection.clone());
                connection
            }
        };
        drop(guard);
        let mut invocation = self.script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        invocation.arg(KEY_TTL_MS);
        for sent in sent {
            invocation
                .arg(sent.rate)
                .arg(sent.burst)
                .arg(sent.set)
                .arg(u8::from(sent.drain));
        }
        let call = invocation.invoke_async::<Vec<String>>(&mut connection);
        tokio::time::timeout(Duration::from_secs(2), call)
            .await
            .map_err(|_| redis::RedisError::from((redis::ErrorKind::Io, "timed out")))?
    }

    /// A 429 for this bucket: the rule lowers its rate (once per window, on this process's
    /// clock), for every process from the next take on.
    pub(crate) fn throttled(&self, key: &str) {
        let now = Instant::now();
        if let Some(bucket) = lock(&self.buckets).get_mut(key) {
            if bucket.adaptive.throttled(&self.rule, now) {
                bucket.unsent = Some(true);
                bucket.version += 1;
            }
        }
    }

    /// A success for this bucket: the rule raises its rate a step.
    pub(crate) fn succeeded(&self, key: &str) {
        if let Some(bucket) = lock(&self.buckets).get_mut(key) {
            if bucket.adaptive.succeeded(&self.rule) {
                bucket.unsent = Some(bucket.unsent == Some(true));
                bucket.version += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_signal_stays_to_be_sent_until_a_take_that_carried_it_comes_back() {
        // No Redis is contacted: the client only parses the URL.
        let budget =
            SharedBudget::new("redis://127.0.0.1:1/0", &RateLimitConfig::default()).unwrap();
        let key = budget.lane_key(&Lane::Organization("1".into())).unwrap();
        let keys = vec![key.clone()];
        budget.throttled(&key);
        let first = budget.prepare(&keys);
        assert!((first[0].set - 7.0).abs() < 1e-9 && first[0].drain);
        // That take's caller was cancelled: nothing settled, the next take carries it again.
        let again = budget.prepare(&keys);
        assert!((again[0].set - 7.0).abs() < 1e-9 && again[0].drain);
        // A take that came back settles it, and the shared rate it brings is adopted.
        budget.settle(&keys, &again, &["0".into(), "6.5".into()]);
        let settled = budget.prepare(&keys);
        assert_eq!((settled[0].set, settled[0].drain), (-1.0, false));
        let shared = lock(&budget.buckets)[&key].adaptive.current();
        assert!((shared - 6.5).abs() < 1e-9, "{shared}");
        // A change made while a take was on its way is not cleared by that take's answer.
        let on_the_way = budget.prepare(&keys);
        budget.succeeded(&key);
        budget.settle(&keys, &on_the_way, &["0".into(), "6.5".into()]);
        assert!(budget.prepare(&keys)[0].set > 0.0);
    }

    #[test]
    fn the_overall_bucket_is_per_source_address() {
        let config = RateLimitConfig::default();
        let here = SharedBudget::new("redis://127.0.0.1:1/0", &config).unwrap();
        let there = SharedBudget::new(
            "redis://127.0.0.1:1/0",
            &config.clone().source_address("203.0.113.7"),
        )
        .unwrap();
        assert_ne!(here.global_key(), there.global_key());
        assert!(there.global_key().ends_with(":global:203.0.113.7"));
    }
}
