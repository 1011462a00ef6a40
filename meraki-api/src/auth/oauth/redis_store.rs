//! A refresh token kept in Redis (feature `redis`), for replicas on several machines that share
//! one grant: the same semantics as [`super::FileTokenStore`], with a lock that expires.

use std::time::Duration;

use super::store::{StoreFuture, StoreLock, TokenStore};
use crate::error::ConfigError;
use crate::secrets::Secret;

/// Releases the lock only if it is still the one this holder took.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
";

/// How long a refresh waits for another holder's lock before it fails.
const LOCK_WAIT: Duration = Duration::from_secs(30);

/// A refresh token in Redis under one key, with a lock (`<key>:lock`, set with `NX` and an
/// expiry) around each read-refresh-save, so replicas on any number of machines take turns and
/// always refresh with the newest token. A holder that dies lets go when its lock expires.
///
/// Redis keeps the token as durably as it is configured to (`appendonly yes` for a token that
/// must survive Redis restarting); the key holds a secret, so protect the Redis accordingly.
pub struct RedisTokenStore {
    client: redis::Client,
    key: String,
    lock_expiry: Duration,
    connection: tokio::sync::Mutex<Option<redis::aio::MultiplexedConnection>>,
}

impl std::fmt::Debug for RedisTokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: not printed.
        f.debug_struct("RedisTokenStore")
            .field("key", &self.key)
            .field("lock_expiry", &self.lock_expiry)
            .finish_non_exhaustive()
    }
}

impl RedisTokenStore {
    /// A store on the Redis at `url` (`redis://host:6379/0`), the token under `key`.
    pub fn new(url: &str, key: impl Into<String>) -> Result<Self, ConfigError> {
        let client = redis::Client::open(url).map_err(|e| {
            ConfigError::new(
                "oauth.redis_store",
                format!(
                    "`{}` is not a Redis URL: {e}",
                    crate::secrets::redact_url(url)
                ),
            )
        })?;
        Ok(Self {
            client,
            key: key.into(),
            lock_expiry: Duration::from_secs(30),
            connection: tokio::sync::Mutex::new(None),
        })
    }

    /// How long a lock lasts if its holder never lets go (default 30 s: longer than a refresh).
    pub fn lock_expiry(mut self, expiry: Duration) -> Self {
        self.lock_expiry = expiry.max(Duration::from_millis(1));
        self
    }

    async fn connection(&self) -> std::io::Result<redis::aio::MultiplexedConnection> {
        let mut guard = self.connection.lock().await;
        if let Some(connection) = &*guard {
            return Ok(connection.clone());
        }
        let connection = tokio::time::timeout(
            Duration::from_secs(5),
            self.client.get_multiplexed_async_connection(),
        )
        .await
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "connecting to Redis"))?
        .map_err(io_error)?;
        *guard = Some(connection.clone());
        Ok(connection)
    }
}

fn io_error(e: redis::RedisError) -> std::io::Error {
    std::io::Error::other(format!("Redis: {e}"))
}

impl TokenStore for RedisTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<Secret>> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let token: Option<String> = redis::cmd("GET")
                .arg(&self.key)
                .query_async(&mut connection)
                .await
                .map_err(io_error)?;
            Ok(token
                .map(zeroize::Zeroizing::new)
                .filter(|t| !t.trim().is_empty())
                .map(|t| Secret::new(t.trim())))
        })
    }

    fn save<'a>(&'a self, token: &'a Secret) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            redis::cmd("SET")
                .arg(&self.key)
                .arg(token.expose())
                .query_async::<()>(&mut connection)
                .await
                .map_err(io_error)
        })
    }

    fn lock(&self) -> StoreFuture<'_, StoreLock> {
        Box::pin(async move {
            let mut connection = self.connection().await?;
            let lock_key = format!("{}:lock", self.key);
            let mut bytes = [0u8; 16];
            getrandom::fill(&mut bytes).map_err(|e| std::io::Error::other(e.to_string()))?;
            let holder: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let expiry_ms = u64::try_from(self.lock_expiry.as_millis()).unwrap_or(u64::MAX);
            let started = tokio::time::Instant::now();
            loop {
                let taken: Option<String> = redis::cmd("SET")
                    .arg(&lock_key)
                    .arg(&holder)
                    .arg("NX")
                    .arg("PX")
                    .arg(expiry_ms)
                    .query_async(&mut connection)
                    .await
                    .map_err(io_error)?;
                if taken.is_some() {
                    return Ok(StoreLock::held_by(Held {
                        connection,
                        key: lock_key,
                        holder,
                    }));
                }
                if started.elapsed() >= LOCK_WAIT {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::TimedOut,
                        format!("{lock_key} stayed locked for {LOCK_WAIT:?}"),
                    ));
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    }
}

/// A lock taken in Redis: let go when dropped (or when it expires, if the process died).
struct Held {
    connection: redis::aio::MultiplexedConnection,
    key: String,
    holder: String,
}

impl Drop for Held {
    fn drop(&mut self) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let mut connection = self.connection.clone();
        let key = std::mem::take(&mut self.key);
        let holder = std::mem::take(&mut self.holder);
        runtime.spawn(async move {
            let _ = redis::Script::new(RELEASE)
                .key(key)
                .arg(holder)
                .invoke_async::<i64>(&mut connection)
                .await;
        });
    }
}
