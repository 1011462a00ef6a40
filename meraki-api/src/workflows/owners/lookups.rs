//! What the lookups share: the lookup of each id that callers wait on together, the ids whose
//! lookup failed recently, how far each organization's listings got, and the turns.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::{OnceCell, OwnedSemaphorePermit, Semaphore};

use crate::pacing::directory::Unknown;

/// How long a failed lookup is not tried again: its requests go through the shared bucket
/// for unresolved requests meanwhile.
const RETRY_FAILED_LOOKUP_AFTER: Duration = Duration::from_secs(60);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a single map operation: a panic elsewhere leaves nothing half done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// An organization's list of networks or of devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Listing {
    Networks,
    Devices,
}

/// How far a listing got.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Progress {
    Running,
    Done,
    /// Stopped (a page failed, or its task ended early) before this page: resumed from it.
    Paused(String),
}

/// Lookups under way and recently failed, and listings, shared by a client's clones.
#[derive(Debug)]
pub(super) struct Lookups {
    pending: Mutex<HashMap<Unknown, Arc<OnceCell<Option<String>>>>>,
    failed: Mutex<HashMap<Unknown, Instant>>,
    listings: Mutex<HashMap<(String, Listing), Progress>>,
    /// Lookups take turns, `n` at a time (1 by default): the one before may be listing the
    /// organization of the next. A turn lasts for the lookup and its listings' first pages,
    /// not their later ones.
    at_once: Arc<Semaphore>,
}

impl Lookups {
    /// Lookups of `at_once` ids side by side.
    pub(super) fn new(at_once: usize) -> Self {
        Self {
            pending: Mutex::default(),
            failed: Mutex::default(),
            listings: Mutex::default(),
            at_once: Arc::new(Semaphore::new(at_once.clamp(1, Semaphore::MAX_PERMITS))),
        }
    }

    /// The one lookup of `unknown` that every caller waiting on it shares.
    pub(super) fn shared(&self, unknown: &Unknown) -> Arc<OnceCell<Option<String>>> {
        lock(&self.pending)
            .entry(unknown.clone())
            .or_default()
            .clone()
    }

    /// The lookup of `unknown` is over: the next caller after this one starts afresh (or finds
    /// the answer in the directory).
    pub(super) fn finished(&self, unknown: &Unknown, cell: &Arc<OnceCell<Option<String>>>) {
        let mut pending = lock(&self.pending);
        if pending.get(unknown).is_some_and(|c| Arc::ptr_eq(c, cell)) {
            pending.remove(unknown);
        }
    }

    pub(super) fn failed_recently(&self, unknown: &Unknown) -> bool {
        let mut failed = lock(&self.failed);
        match failed.get(unknown) {
            Some(at) if at.elapsed() < RETRY_FAILED_LOOKUP_AFTER => true,
            Some(_) => {
                failed.remove(unknown);
                false
            }
            None => false,
        }
    }

    pub(super) fn record_failure(&self, unknown: &Unknown) {
        let mut failed = lock(&self.failed);
        if failed.len() >= 10_000 {
            failed.retain(|_, at| at.elapsed() < RETRY_FAILED_LOOKUP_AFTER);
        }
        failed.insert(unknown.clone(), Instant::now());
    }

    /// The turn to look up (see `at_once`).
    pub(super) async fn turn(&self) -> Option<OwnedSemaphorePermit> {
        self.at_once.clone().acquire_owned().await.ok()
    }

    /// Starts `org`'s listing unless it is done or under way: from its first page (`first`),
    /// or from the page where it stopped.
    pub(super) fn start(
        self: &Arc<Self>,
        org: &str,
        listing: Listing,
        first: String,
    ) -> Option<ListingRun> {
        let key = (org.to_owned(), listing);
        let mut listings = lock(&self.listings);
        let from = match listings.get(&key) {
            Some(Progress::Running | Progress::Done) => return None,
            Some(Progress::Paused(next)) => next.clone(),
            None => first,
        };
        listings.insert(key.clone(), Progress::Running);
        Some(ListingRun {
            lookups: self.clone(),
            key,
            next: Some(from),
            records: true,
        })
    }

    /// A listing of `org` from its first page that records nothing of its progress (another
    /// is under way, whose progress stands).
    pub(super) fn detached(
        self: &Arc<Self>,
        org: &str,
        listing: Listing,
        first: String,
    ) -> ListingRun {
        ListingRun {
            lookups: self.clone(),
            key: (org.to_owned(), listing),
            next: Some(first),
            records: false,
        }
    }

    /// Marks `org`'s listing done (the caller listed it, `Client::learn_organization`).
    pub(super) fn mark_listed(&self, org: &str, listing: Listing) {
        lock(&self.listings).insert((org.to_owned(), listing), Progress::Done);
    }
}

/// A listing under way. Whatever ends it (done, a page that failed, its task dropped), the
/// next lookup of its organization finds where it got: done, or resumed from its next page.
pub(super) struct ListingRun {
    lookups: Arc<Lookups>,
    key: (String, Listing),
    /// The page to read next (`None`: done).
    pub(super) next: Option<String>,
    records: bool,
}

impl Drop for ListingRun {
    fn drop(&mut self) {
        if !self.records {
            return;
        }
        let progress = match self.next.take() {
            None => Progress::Done,
            Some(next) => Progress::Paused(next),
        };
        lock(&self.lookups.listings).insert(self.key.clone(), progress);
    }
}
