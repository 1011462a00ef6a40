//! Where refresh tokens are kept between rotations.

use std::future::Future;
use std::io;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use crate::secrets::Secret;

/// A boxed future, so that stores can be held as `dyn TokenStore`.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = io::Result<T>> + Send + 'a>>;

/// Keeps the current refresh token. The client saves every rotated token here before it uses
/// the access token that came with it. Around each refresh it takes the store's lock, reads the
/// store (another process sharing it may have rotated the token), refreshes, saves, and lets
/// go: processes sharing a store take turns and always refresh with the current token.
///
/// A store must have the token durably when `save` returns: the old token is already revoked.
pub trait TokenStore: Send + Sync + 'static {
    /// The current refresh token, if any.
    fn load(&self) -> StoreFuture<'_, Option<Secret>>;
    /// Replaces the current refresh token with `token`.
    fn save<'a>(&'a self, token: &'a Secret) -> StoreFuture<'a, ()>;
    /// Holds other processes sharing this store off until the returned lock is dropped (or
    /// released). The default holds nothing: a store no other process shares.
    fn lock(&self) -> StoreFuture<'_, StoreLock> {
        Box::pin(async { Ok(StoreLock::none()) })
    }
}

/// A store's lock, held around read-refresh-save ([`TokenStore::lock`]); let go when dropped.
pub struct StoreLock {
    held: Option<Box<dyn Send + Sync>>,
}

impl std::fmt::Debug for StoreLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoreLock")
            .field("held", &self.held.is_some())
            .finish()
    }
}

impl StoreLock {
    /// No lock at all.
    pub fn none() -> Self {
        Self { held: None }
    }

    /// A lock that lasts as long as `guard` lives (a locked file, say): dropping the
    /// `StoreLock` drops it.
    pub fn held_by(guard: impl Send + Sync + 'static) -> Self {
        Self {
            held: Some(Box::new(guard)),
        }
    }
}

/// A refresh token in a file of its own, replaced atomically: the new token is written to a
/// temporary file beside it, flushed to disk, then renamed over the old one, so a crash leaves
/// either the old token or the new one, never a torn file. On Unix the file is private to its
/// owner (mode 0600).
///
/// Processes sharing the file (replicas on one machine, or on a shared volume that honours
/// advisory locks) take turns: each refresh holds an advisory lock on `<file>.lock` from
/// reading the token to saving its successor, so no two refresh with the same token and the
/// file always holds the newest one.
///
/// Writes are small and rare (once an hour) and are done on the refreshing task.
#[derive(Debug, Clone)]
pub struct FileTokenStore {
    path: PathBuf,
}

impl FileTokenStore {
    /// A store on `path` (which need not exist yet; its directory must).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn read(&self) -> io::Result<Option<Secret>> {
        match std::fs::read_to_string(&self.path) {
            Ok(text) => {
                let token = zeroize::Zeroizing::new(text);
                let token = token.trim();
                Ok((!token.is_empty()).then(|| Secret::new(token)))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io::Error::new(
                e.kind(),
                format!("reading {}: {e}", self.path.display()),
            )),
        }
    }

    fn write(&self, token: &Secret) -> io::Result<()> {
        use std::io::Write;
        let name = self.path.file_name().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "the store's path names no file",
            )
        })?;
        let dir = match self.path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let mut temporary = name.to_owned();
        temporary.push(format!(".{}.{}.tmp", std::process::id(), fastrand::u64(..)));
        let temporary = dir.join(temporary);
        let context = |e: io::Error, what: &str| {
            io::Error::new(e.kind(), format!("{what} {}: {e}", self.path.display()))
        };
        let result = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt;
                options.mode(0o600);
            }
            let mut file = options.open(&temporary)?;
            file.write_all(token.expose().as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)?;
            // The rename itself is durable once the directory is.
            #[cfg(unix)]
            std::fs::File::open(&dir)?.sync_all()?;
            Ok(())
        })();
        if result.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        result.map_err(|e| context(e, "writing"))
    }
}

/// How long a refresh waits for another process's lock on the token file before it fails.
const FILE_LOCK_WAIT: Duration = Duration::from_secs(30);

impl FileTokenStore {
    fn lock_path(&self) -> PathBuf {
        let mut name = self
            .path
            .file_name()
            .map(|n| n.to_owned())
            .unwrap_or_default();
        name.push(".lock");
        self.path.with_file_name(name)
    }

    /// Takes the advisory lock on `<file>.lock`, polling (the lock is held for a refresh: a
    /// few hundred milliseconds) rather than blocking the runtime's thread.
    async fn take_lock(&self) -> io::Result<std::fs::File> {
        let path = self.lock_path();
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).write(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let file = options
            .open(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("opening {}: {e}", path.display())))?;
        let started = tokio::time::Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(file),
                Err(std::fs::TryLockError::WouldBlock) if started.elapsed() < FILE_LOCK_WAIT => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(std::fs::TryLockError::WouldBlock) => {
                    return Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        format!(
                            "{} stayed locked by another process for {FILE_LOCK_WAIT:?}",
                            path.display()
                        ),
                    ))
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("locking {}: {e}", path.display()),
                    ))
                }
            }
        }
    }
}

impl TokenStore for FileTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<Secret>> {
        Box::pin(async move { self.read() })
    }

    fn save<'a>(&'a self, token: &'a Secret) -> StoreFuture<'a, ()> {
        Box::pin(async move { self.write(token) })
    }

    fn lock(&self) -> StoreFuture<'_, StoreLock> {
        // The lock lives as long as the open file: closing it lets go.
        Box::pin(async move { Ok(StoreLock::held_by(self.take_lock().await?)) })
    }
}

/// A refresh token in memory only: for tests, or for a process that hands tokens on itself
/// (the rotated token is lost when the process ends).
#[derive(Debug, Default)]
pub struct MemoryTokenStore {
    token: Mutex<Option<Secret>>,
}

impl MemoryTokenStore {
    /// A store holding `token`.
    pub fn new(token: Secret) -> Self {
        Self {
            token: Mutex::new(Some(token)),
        }
    }

    /// The token held now.
    pub fn current(&self) -> Option<Secret> {
        self.token
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl TokenStore for MemoryTokenStore {
    fn load(&self) -> StoreFuture<'_, Option<Secret>> {
        Box::pin(async move { Ok(self.current()) })
    }

    fn save<'a>(&'a self, token: &'a Secret) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            *self
                .token
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(token.clone());
            Ok(())
        })
    }
}

impl<S: TokenStore> TokenStore for std::sync::Arc<S> {
    fn load(&self) -> StoreFuture<'_, Option<Secret>> {
        (**self).load()
    }

    fn save<'a>(&'a self, token: &'a Secret) -> StoreFuture<'a, ()> {
        (**self).save(token)
    }

    fn lock(&self) -> StoreFuture<'_, StoreLock> {
        (**self).lock()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn file_store_replaces_its_file_and_leaves_no_temporaries() {
        let dir = std::env::temp_dir().join(format!("meraki-store-{}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let store = FileTokenStore::new(dir.join("refresh"));
        assert!(store.load().await.unwrap().is_none());
        store.save(&Secret::new("first")).await.unwrap();
        store.save(&Secret::new("second")).await.unwrap();
        assert_eq!(store.load().await.unwrap().unwrap().expose(), "second");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path())
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // Two holders of the lock take turns.
        let first = store.lock().await.unwrap();
        let waiting = {
            let store = store.clone();
            tokio::spawn(async move { store.lock().await.map(drop) })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !waiting.is_finished(),
            "the second lock waits for the first"
        );
        drop(first);
        waiting.await.unwrap().unwrap();
        std::fs::remove_file(store.lock_path()).unwrap();
        // A directory that does not exist: a clear error, naming the file.
        let missing = FileTokenStore::new(dir.join("nope/refresh"));
        let err = missing.save(&Secret::new("x")).await.unwrap_err();
        assert!(err.to_string().contains("nope/refresh"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
