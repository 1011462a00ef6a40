//! Shared helpers for the integration tests: where the fixtures are, and loading them by name.

use std::path::PathBuf;

use meraki_api::test_util::Fixture;

/// The organization id every fixture uses.
pub const ORG: &str = "549236";

/// `tests/fixtures`.
pub fn fixtures_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Loads `tests/fixtures/<name>.json`, e.g. `fixture("licenses/page1")`.
pub fn fixture(name: &str) -> Fixture {
    let file = fixtures_dir().join(format!("{name}.json"));
    Fixture::load(&file).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads several fixtures by name.
pub fn fixtures(names: &[&str]) -> Vec<Fixture> {
    names.iter().map(|n| fixture(n)).collect()
}
