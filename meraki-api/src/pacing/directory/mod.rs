//! Which organization owns each network and device the client has met: what a request for
//! `/networks/{networkId}/...` or `/devices/{serial}/...` counts against.
//!
//! The API counts every request against the organization that owns its network or device, but
//! network ids and serials do not say which that is. The directory learns it from responses
//! that list networks and devices as they pass through (an organization's networks or devices,
//! a network, a device, a network's devices), from the caller
//! ([`Directory::register_networks`], [`Directory::restore`]), and otherwise from a lookup of
//! the unknown id, which the client makes itself (see [`crate::Client::directory`]).
//!
//! It holds at most its capacity of networks and as many devices: past that, the entries met
//! least recently are forgotten (and looked up again if met again).

mod lessons;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use serde::{Deserialize, Serialize};

use lessons::Entry;
pub(crate) use lessons::{lesson_for, owner_in_path, Lesson, Owner};

/// Networks and devices remembered by default, each.
pub const DEFAULT_CAPACITY: usize = 200_000;

/// The organization of every network and device the client knows, shared by its clones.
#[derive(Debug)]
pub struct Directory {
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    networks: Generations,
    devices: Generations,
    /// One allocation per organization id, shared by all its entries.
    interned: HashSet<Arc<str>>,
}

/// A map bounded in size: when the current generation is full it becomes the previous one and
/// the one before is dropped; an entry found in the previous generation moves back to the
/// current one. So what is in use stays, and memory stays under twice a generation.
#[derive(Debug)]
struct Generations {
    current: HashMap<Box<str>, Arc<str>>,
    previous: HashMap<Box<str>, Arc<str>>,
    per_generation: usize,
}

impl Generations {
    fn new(capacity: usize) -> Self {
        Self {
            current: HashMap::new(),
            previous: HashMap::new(),
            per_generation: (capacity / 2).max(1),
        }
    }

    fn get(&mut self, key: &str) -> Option<Arc<str>> {
        if let Some(org) = self.current.get(key) {
            return Some(org.clone());
        }
        let (key, org) = self.previous.remove_entry(key)?;
        self.insert_owned(key, org.clone());
        Some(org)
    }

    fn insert(&mut self, key: &str, org: Arc<str>) {
        match self.current.get_mut(key) {
            Some(known) => *known = org,
            None => {
                self.previous.remove(key);
                self.insert_owned(key.into(), org);
            }
        }
    }

    fn insert_owned(&mut self, key: Box<str>, org: Arc<str>) {
        if self.current.len() >= self.per_generation {
            self.previous = std::mem::take(&mut self.current);
        }
        self.current.insert(key, org);
    }

    fn len(&self) -> usize {
        self.current.len() + self.previous.len()
    }

    fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        // An id in both generations: the current one wins, and is listed once.
        let stale = self
            .previous
            .iter()
            .filter(|(id, _)| !self.current.contains_key(*id));
        self.current
            .iter()
            .chain(stale)
            .map(|(id, org)| (&**id, &**org))
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every update is a single map operation: a panic elsewhere leaves nothing half done.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Ids longer than this, empty, or with a `/` are not network ids or serials.
const MAX_ID_LEN: usize = 128;

pub(super) fn plausible_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && !id.contains('/')
}

impl Directory {
    /// An empty directory holding up to `capacity` networks and as many devices.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                networks: Generations::new(capacity),
                devices: Generations::new(capacity),
                interned: HashSet::new(),
            }),
        }
    }

    /// The organization of a network or device, if known.
    pub(crate) fn organization_of(&self, unknown: &Unknown) -> Option<String> {
        match unknown {
            Unknown::Network(id) => self.network_organization(id),
            Unknown::Device(serial) => self.device_organization(serial),
        }
    }

    /// The organization of a network, if known.
    pub fn network_organization(&self, network_id: &str) -> Option<String> {
        lock(&self.state)
            .networks
            .get(network_id)
            .map(|o| o.to_string())
    }

    /// The organization of a device, by serial, if known.
    pub fn device_organization(&self, serial: &str) -> Option<String> {
        lock(&self.state).devices.get(serial).map(|o| o.to_string())
    }

    /// Says that these networks belong to `organization_id`, so that their requests are paced
    /// by its rate limit without a lookup.
    pub fn register_networks<I>(&self, organization_id: &str, network_ids: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.register(organization_id, network_ids, State::add_network);
    }

    /// Says that these devices (by serial) belong to `organization_id`.
    pub fn register_devices<I>(&self, organization_id: &str, serials: I)
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        self.register(organization_id, serials, State::add_device);
    }

    fn register<I>(&self, organization_id: &str, ids: I, add: fn(&mut State, &str, &Arc<str>))
    where
        I: IntoIterator,
        I::Item: AsRef<str>,
    {
        let mut state = lock(&self.state);
        let org = state.intern(organization_id);
        for id in ids {
            add(&mut state, id.as_ref(), &org);
        }
    }

    /// Networks and devices known, together.
    pub fn len(&self) -> usize {
        let state = lock(&self.state);
        state.networks.len() + state.devices.len()
    }

    /// Whether nothing is known yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Everything known, by organization: to save between runs and [`Directory::restore`].
    pub fn snapshot(&self) -> DirectorySnapshot {
        let state = lock(&self.state);
        let mut organizations: BTreeMap<String, OrganizationMembers> = BTreeMap::new();
        for (id, org) in state.networks.entries() {
            let members = organizations.entry(org.to_owned()).or_default();
            members.networks.push(id.to_owned());
        }
        for (serial, org) in state.devices.entries() {
            let members = organizations.entry(org.to_owned()).or_default();
            members.devices.push(serial.to_owned());
        }
        for members in organizations.values_mut() {
            members.networks.sort_unstable();
            members.devices.sort_unstable();
        }
        DirectorySnapshot { organizations }
    }

    /// Adds what a [`DirectorySnapshot`] lists (newer knowledge of the same ids is replaced).
    pub fn restore(&self, snapshot: &DirectorySnapshot) {
        for (org, members) in &snapshot.organizations {
            self.register_networks(org, &members.networks);
            self.register_devices(org, &members.devices);
        }
    }

    /// Records what a response body says, for the request it answered.
    pub(crate) fn learn(&self, lesson: &Lesson, body: &[u8]) {
        // Only the few fields that say who owns what are read; anything else is skipped.
        let Ok((entries, _)) = crate::body::decode_page::<Entry>(body) else {
            return;
        };
        let mut state = lock(&self.state);
        match lesson {
            Lesson::OrganizationNetworks(org) => {
                let org = state.intern(org);
                for entry in &entries {
                    if let Some(id) = &entry.id.0 {
                        state.add_network(id, &org);
                    }
                }
            }
            Lesson::Network(network) => {
                for entry in &entries {
                    if let Some(org) = &entry.organization_id.0 {
                        let org = state.intern(org);
                        state.add_network(network, &org);
                    }
                }
            }
            Lesson::OrganizationDevices(org) => {
                let org = state.intern(org);
                for entry in &entries {
                    if let Some(serial) = &entry.serial.0 {
                        state.add_device(serial, &org);
                    }
                    if let Some(network) = &entry.network_id.0 {
                        state.add_network(network, &org);
                    }
                }
            }
            Lesson::Device(serial) => {
                let org = entries
                    .iter()
                    .filter_map(|e| e.network_id.0.as_deref())
                    .find_map(|network| state.networks.get(network));
                if let Some(org) = org {
                    state.add_device(serial, &org);
                }
            }
            Lesson::NetworkDevices(network) => {
                if let Some(org) = state.networks.get(network) {
                    for entry in &entries {
                        if let Some(serial) = &entry.serial.0 {
                            state.add_device(serial, &org);
                        }
                    }
                }
            }
        }
    }

    /// Records that `serial` belongs to `org` (found by a lookup).
    pub(crate) fn add_device(&self, serial: &str, org: &str) {
        let mut state = lock(&self.state);
        let org = state.intern(org);
        state.add_device(serial, &org);
    }
}

impl State {
    fn intern(&mut self, org: &str) -> Arc<str> {
        if let Some(known) = self.interned.get(org) {
            return known.clone();
        }
        // Bounded like the maps: entries keep their own handles when the set is cleared.
        if self.interned.len() >= 10_000 {
            self.interned.clear();
        }
        let org: Arc<str> = Arc::from(org);
        self.interned.insert(org.clone());
        org
    }

    fn add_network(&mut self, id: &str, org: &Arc<str>) {
        if plausible_id(id) && plausible_id(org) {
            self.networks.insert(id, org.clone());
        }
    }

    fn add_device(&mut self, serial: &str, org: &Arc<str>) {
        if plausible_id(serial) && plausible_id(org) {
            self.devices.insert(serial, org.clone());
        }
    }
}

/// A network or device whose organization is looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Unknown {
    Network(Box<str>),
    Device(Box<str>),
}

/// Everything a [`Directory`] knows, by organization id. Serializes as
/// `{"organizations": {"549236": {"networks": ["N_1"], "devices": ["Q234-ABCD-0001"]}}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DirectorySnapshot {
    /// Networks and devices of each organization.
    pub organizations: BTreeMap<String, OrganizationMembers>,
}

/// The networks and devices of one organization in a [`DirectorySnapshot`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OrganizationMembers {
    /// Network ids.
    #[serde(default)]
    pub networks: Vec<String>,
    /// Device serials.
    #[serde(default)]
    pub devices: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_owner_a_path_names() {
        assert_eq!(
            owner_in_path("/organizations/123/licenses"),
            Owner::Organization("123")
        );
        assert_eq!(
            owner_in_path("/networks/N_1/clients"),
            Owner::Network("N_1")
        );
        assert_eq!(
            owner_in_path("/devices/Q2XX-AAAA-0001/switch/ports"),
            Owner::Device("Q2XX-AAAA-0001")
        );
        assert_eq!(owner_in_path("/organizations"), Owner::Unowned);
        assert_eq!(owner_in_path("/organizations/"), Owner::Unowned);
        assert_eq!(owner_in_path("/administered/identities/me"), Owner::Unowned);
    }

    #[test]
    fn learns_from_every_listing_shape() {
        let directory = Directory::new(100);
        let learn = |path: &str, body: &str| {
            directory.learn(&lesson_for(path).unwrap(), body.as_bytes());
        };
        learn(
            "/organizations/1/networks",
            r#"[{"id":"N_1","organizationId":"1","name":"a"},{"id":"L_2","tags":["x"]}]"#,
        );
        learn("/networks/N_3", r#"{"id":"N_3","organizationId":"2"}"#);
        learn(
            "/organizations/3/inventory/devices",
            r#"[{"serial":"Q-1","networkId":"N_4"},{"serial":"Q-2","networkId":null}]"#,
        );
        learn(
            "/organizations/1/devices",
            r#"{"items":[{"serial":"Q-3","details":[{"name":"x"}]}],"meta":{"counts":{}}}"#,
        );
        learn(
            "/networks/N_3/devices",
            r#"[{"serial":"Q-4"},{"serial":7}]"#,
        );
        learn("/devices/Q-5", r#"{"serial":"Q-5","networkId":"N_1"}"#);
        // A device whose network is unknown teaches nothing yet.
        learn("/devices/Q-6", r#"{"serial":"Q-6","networkId":"N_9"}"#);

        let net = |id: &str| directory.network_organization(id);
        let dev = |id: &str| directory.device_organization(id);
        assert_eq!(net("N_1").as_deref(), Some("1"));
        assert_eq!(net("L_2").as_deref(), Some("1"));
        assert_eq!(net("N_3").as_deref(), Some("2"));
        assert_eq!(net("N_4").as_deref(), Some("3"));
        assert_eq!(dev("Q-1").as_deref(), Some("3"));
        assert_eq!(dev("Q-2").as_deref(), Some("3"));
        assert_eq!(dev("Q-3").as_deref(), Some("1"));
        assert_eq!(dev("Q-4").as_deref(), Some("2"));
        assert_eq!(dev("Q-5").as_deref(), Some("1"));
        assert_eq!(dev("Q-6"), None);
        assert_eq!(dev("7"), None);
    }

    #[test]
    fn bodies_that_do_not_fit_teach_nothing_and_never_panic() {
        let directory = Directory::new(100);
        for body in [
            "",
            "null",
            "\"text\"",
            "[1, 2]",
            "{\"items\": 3}",
            "[{\"id\": \"N_1\"",
            "\u{0}",
        ] {
            let lesson = lesson_for("/organizations/1/networks").unwrap();
            directory.learn(&lesson, body.as_bytes());
        }
        let lesson = lesson_for("/organizations/1/networks").unwrap();
        directory.learn(
            &lesson,
            format!(
                r#"[{{"id":"{}"}},{{"id":"a/b"}},{{"id":""}}]"#,
                "x".repeat(200)
            )
            .as_bytes(),
        );
        assert!(directory.is_empty());
    }

    #[test]
    fn lessons_come_only_from_listings() {
        assert_eq!(
            lesson_for("/organizations/1/networks"),
            Some(Lesson::OrganizationNetworks("1".into()))
        );
        assert_eq!(
            lesson_for("/organizations/1/inventory/devices/Q-1"),
            Some(Lesson::OrganizationDevices("1".into()))
        );
        assert_eq!(lesson_for("/organizations/1/licenses"), None);
        assert_eq!(lesson_for("/networks/N_1/clients"), None);
        assert_eq!(lesson_for("/devices/Q-1/switch/ports"), None);
        assert_eq!(lesson_for("/organizations"), None);
    }

    #[test]
    fn stays_within_its_capacity_and_keeps_what_is_in_use() {
        let directory = Directory::new(1_000);
        directory.register_networks("1", ["N_keep"]);
        for i in 0..10_000 {
            directory.register_networks("1", [format!("N_{i}")]);
            // Used all along: never forgotten.
            assert!(directory.network_organization("N_keep").is_some());
        }
        assert!(directory.len() <= 1_000, "{}", directory.len());
        assert!(directory.network_organization("N_9999").is_some());
        assert!(directory.network_organization("N_0").is_none());
    }

    #[test]
    fn snapshots_round_trip_through_json() {
        let directory = Directory::new(100);
        directory.register_networks("1", ["N_2", "N_1"]);
        directory.register_devices("2", ["Q-1"]);
        let snapshot = directory.snapshot();
        let json = serde_json::to_string(&snapshot).unwrap();
        assert_eq!(
            json,
            r#"{"organizations":{"1":{"networks":["N_1","N_2"],"devices":[]},"2":{"networks":[],"devices":["Q-1"]}}}"#
        );
        let restored = Directory::new(100);
        restored.restore(&serde_json::from_str(&json).unwrap());
        assert_eq!(restored.snapshot(), snapshot);
        // Missing lists are empty.
        let partial: DirectorySnapshot =
            serde_json::from_str(r#"{"organizations":{"3":{"networks":["N_9"]}}}"#).unwrap();
        restored.restore(&partial);
        assert_eq!(restored.network_organization("N_9").as_deref(), Some("3"));
    }
}
