//! `cargo xtask record`: calls an operation through the client (the live API by default, with
//! the key from `MERAKI_DASHBOARD_API_KEY` or the `MERAKI_OAUTH_*` variables) and writes each
//! page's exchange as a fixture, in the format the replay tests read
//! (`meraki_api::test_util::record` does the recording: secrets masked, output deterministic).
//!
//! ```text
//! cargo xtask record --out tests/fixtures/recorded getNetworkClients networkId=L_1 perPage=3
//! cargo xtask record --set tests/fixtures/recorded/set.yaml --out tests/fixtures/recorded --anonymize
//! ```
//!
//! A set file lists what to record, so re-recording the repository's recordings is one command:
//!
//! ```yaml
//! - operation: getNetworkClients
//!   params: {networkId: L_646829496481105433, perPage: "3", timespan: "86400"}
//!   name: page            # files page1.json, page2.json, ...
//!   description: A network's clients
//!   max_pages: 2
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use meraki_api::test_util::record::{OperationShape, Recorder};
use serde::Deserialize;
use serde_json::Value;

/// `cargo xtask record`'s command line.
#[derive(Debug, Clone, clap::Args)]
pub struct RecordArgs {
    /// The operation, by operationId (unless `--set` lists what to record).
    operation: Option<String>,
    /// Its parameters, `name=value` (path and query; an array parameter once per value).
    params: Vec<String>,
    /// The API's base URL (default: `MERAKI_DASHBOARD_API_BASE_URL`, else the live API).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// Where to write the fixtures: `DIR/<operationId>/<name><n>.json`.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Most pages recorded per call.
    #[arg(long, default_value_t = 3)]
    max_pages: usize,
    /// Replace serials, MAC, e-mail and IP addresses, names and ids consistently across the
    /// recording, so the fixtures can be published.
    #[arg(long)]
    anonymize: bool,
    /// A file listing what to record (YAML: operation, params, name, description, max_pages).
    #[arg(long, value_name = "FILE")]
    set: Option<PathBuf>,
    /// The fixtures' file name, before the page number.
    #[arg(long, default_value = "page")]
    name: String,
    /// What the fixtures show.
    #[arg(long)]
    description: Option<String>,
}

/// One recording of a set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub operation: String,
    #[serde(default)]
    pub params: BTreeMap<String, ParamValue>,
    #[serde(default = "page")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub max_pages: Option<usize>,
}

/// A parameter's value: one, or several for an array parameter.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ParamValue {
    One(String),
    Many(Vec<String>),
}

fn page() -> String {
    "page".to_owned()
}

pub fn run(args: RecordArgs) -> Result<(), String> {
    let entries = match (&args.set, &args.operation) {
        (Some(set), None) => {
            let text = std::fs::read_to_string(set)
                .map_err(|e| format!("cannot read {}: {e}", set.display()))?;
            serde_norway::from_str::<Vec<Entry>>(&text)
                .map_err(|e| format!("{}: {e}", set.display()))?
        }
        (None, Some(operation)) => {
            let mut params = BTreeMap::<String, ParamValue>::new();
            for pair in &args.params {
                let (name, value) = pair
                    .split_once('=')
                    .ok_or_else(|| format!("`{pair}`: parameters are `name=value`"))?;
                match params.remove(name) {
                    None => params.insert(name.to_owned(), ParamValue::One(value.to_owned())),
                    Some(ParamValue::One(first)) => params.insert(
                        name.to_owned(),
                        ParamValue::Many(vec![first, value.to_owned()]),
                    ),
                    Some(ParamValue::Many(mut all)) => {
                        all.push(value.to_owned());
                        params.insert(name.to_owned(), ParamValue::Many(all))
                    }
                };
            }
            vec![Entry {
                operation: operation.clone(),
                params,
                name: args.name.clone(),
                description: args.description.clone(),
                max_pages: None,
            }]
        }
        (Some(_), Some(_)) => return Err("give an operation or --set, not both".into()),
        (None, None) => return Err("give an operation (operationId) or --set FILE".into()),
    };
    let root = crate::workspace_root();
    let document = load_spec(&root.join("openapi/openapi.yaml"))?;
    let mut builder =
        meraki_api::Client::builder_from_env().caller("MerakiApiXtask/0.1 MerakiApiRust");
    if let Some(url) = &args.base_url {
        builder = builder.base_url(url);
    }
    let client = builder.build().map_err(|e| e.to_string())?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let written = runtime.block_on(record_all(
        client,
        &document,
        &entries,
        &args.out,
        args.anonymize,
        args.max_pages,
    ))?;
    for file in &written {
        println!("wrote {}", file.display());
    }
    Ok(())
}

/// `openapi.yaml` as JSON.
pub fn load_spec(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_norway::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Records every entry with one recorder (so anonymizing is consistent across the set) and
/// writes the fixtures; returns the files written.
pub async fn record_all(
    client: meraki_api::Client,
    document: &Value,
    entries: &[Entry],
    out: &Path,
    anonymize: bool,
    max_pages: usize,
) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let mut recorder = Recorder::new(client).anonymize(anonymize);
    for entry in entries {
        let shape =
            OperationShape::from_spec(document, &entry.operation).map_err(|e| e.to_string())?;
        let params: Vec<(String, String)> = entry
            .params
            .iter()
            .flat_map(|(name, value)| match value {
                ParamValue::One(v) => vec![(name.clone(), v.clone())],
                ParamValue::Many(vs) => vs.iter().map(|v| (name.clone(), v.clone())).collect(),
            })
            .collect();
        let pages = entry.max_pages.unwrap_or(max_pages).max(1);
        recorder = recorder.max_pages(pages);
        let description = entry
            .description
            .clone()
            .unwrap_or_else(|| format!("{} as recorded", entry.operation));
        let fixtures = recorder
            .record(&shape, &params, &description)
            .await
            .map_err(|e| format!("{}: {e}", entry.operation))?;
        let dir = out.join(&entry.operation);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let numbered = pages > 1;
        for (i, fixture) in fixtures.iter().enumerate() {
            let file = if numbered {
                dir.join(format!("{}{}.json", entry.name, i + 1))
            } else {
                dir.join(format!("{}.json", entry.name))
            };
            let mut text = serde_json::to_string_pretty(fixture).map_err(|e| e.to_string())?;
            text.push('\n');
            std::fs::write(&file, text)
                .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
            written.push(file);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use meraki_api::prelude::*;
    use meraki_api::test_util::{Fixture, ReplayServer, SimulatedDashboard, FIXTURE_API_KEY};

    const ORG: &str = "549236";

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-record-{name}-{}-{}",
            std::process::id(),
            fastish()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn fastish() -> u128 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    }

    fn entries() -> Vec<Entry> {
        serde_norway::from_str(&format!(
            r#"
- operation: getOrganizationNetworks
  params: {{organizationId: "{ORG}", perPage: "3"}}
  name: page
  description: An organization's networks
  max_pages: 5
- operation: getOrganizationNetworks
  params: {{organizationId: "999"}}
  name: not_found
  max_pages: 1
"#
        ))
        .unwrap()
    }

    /// The repository's set file reads, and names operations the spec has.
    #[test]
    fn the_repositorys_set_file_names_operations_of_the_spec() {
        let root = crate::workspace_root();
        let text = std::fs::read_to_string(root.join("tests/fixtures/recorded/set.yaml")).unwrap();
        let entries: Vec<Entry> = serde_norway::from_str(&text).unwrap();
        let spec = load_spec(&root.join("openapi/openapi.yaml")).unwrap();
        let ids: Vec<&str> = spec["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .filter_map(|op| op.get("operationId").and_then(Value::as_str))
            .collect();
        assert!(!entries.is_empty());
        for entry in &entries {
            assert!(
                ids.contains(&entry.operation.as_str()),
                "{}",
                entry.operation
            );
        }
    }

    #[tokio::test]
    async fn recordings_replay_as_recorded_hold_no_key_and_repeat_byte_for_byte() {
        let dashboard = SimulatedDashboard::builder()
            .organization(ORG, 7, 0)
            .start()
            .await;
        let document = load_spec(&crate::workspace_root().join("openapi/openapi.yaml")).unwrap();
        let out = scratch("plain");
        let written = record_all(dashboard.client(), &document, &entries(), &out, false, 3)
            .await
            .unwrap();
        let names: Vec<String> = written
            .iter()
            .map(|f| f.strip_prefix(&out).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "getOrganizationNetworks/page1.json",
                "getOrganizationNetworks/page2.json",
                "getOrganizationNetworks/page3.json",
                "getOrganizationNetworks/not_found.json",
            ]
        );
        let texts: Vec<String> = written
            .iter()
            .map(|f| std::fs::read_to_string(f).unwrap())
            .collect();
        for text in &texts {
            assert!(!text.contains(FIXTURE_API_KEY), "{text}");
            assert!(text.contains("{{api_key}}"), "{text}");
        }
        let not_found: Fixture = serde_json::from_str(&texts[3]).unwrap();
        assert_eq!(not_found.response.status, 404);
        // The three pages replay: the client gets the seven networks, in order, once.
        let fixtures: Vec<Fixture> = texts[..3]
            .iter()
            .map(|t| serde_json::from_str(t).unwrap())
            .collect();
        let replay = ReplayServer::start(&fixtures, Some(1)).await;
        let replayed = replay
            .client()
            .raw(
                meraki_api::Method::GET,
                format!("/organizations/{ORG}/networks"),
            )
            .query("perPage", 3)
            .into_paginator()
            .items();
        let ids: Vec<String> = futures_util::TryStreamExt::try_collect::<Vec<Value>>(replayed)
            .await
            .unwrap()
            .iter()
            .map(|n| n["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(ids, dashboard.networks(ORG));
        replay.verify().await;
        // Recorded again: the same bytes.
        let again = scratch("again");
        record_all(dashboard.client(), &document, &entries(), &again, false, 3)
            .await
            .unwrap();
        for file in &written {
            let twin = again.join(file.strip_prefix(&out).unwrap());
            assert_eq!(std::fs::read(file).unwrap(), std::fs::read(twin).unwrap());
        }
        std::fs::remove_dir_all(out).unwrap();
        std::fs::remove_dir_all(again).unwrap();
    }

    #[tokio::test]
    async fn anonymized_recordings_keep_their_coherence_and_lose_the_customer() {
        let dashboard = SimulatedDashboard::builder()
            .organization(ORG, 7, 0)
            .start()
            .await;
        let document = load_spec(&crate::workspace_root().join("openapi/openapi.yaml")).unwrap();
        let out = scratch("anonymized");
        let written = record_all(
            dashboard.client(),
            &document,
            &entries()[..1],
            &out,
            true,
            3,
        )
        .await
        .unwrap();
        let fixtures: Vec<Fixture> = written
            .iter()
            .map(|f| serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap())
            .collect();
        let text = serde_json::to_string(&fixtures).unwrap();
        assert!(
            !text.contains(ORG) && !text.contains(&format!("N_{ORG}_")),
            "{text}"
        );
        // Still one organization: the path's id is every network's organizationId.
        let org_in_path = fixtures[0]
            .request
            .path
            .split('/')
            .nth(4)
            .unwrap()
            .to_owned();
        for fixture in &fixtures {
            for network in fixture.response.body.as_array().unwrap() {
                assert_eq!(network["organizationId"], org_in_path.as_str());
            }
        }
        std::fs::remove_dir_all(out).unwrap();
    }
}
