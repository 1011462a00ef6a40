//! `cargo xtask update`: a new API version in one command. It takes Meraki's whole published
//! spec from a file, a URL, or the live API (`getOrganizationOpenapiSpec`, with the
//! maintainer's key), imports it into `openapi/specs`, regenerates `openapi.yaml`, compares the
//! repository's fixtures with it (`conform`), and writes what changed for callers as a new
//! section of CHANGELOG.md, breaking changes first. It exits nonzero on breaking changes unless
//! `--accept-breaking` says they are accepted (the files are written either way, for review).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use meraki_api::prelude::*;
use serde_json::Value;

use crate::diff::Report;

/// `cargo xtask update`'s command line.
#[derive(Debug, Clone, clap::Args)]
#[group(id = "source", required = true, multiple = false)]
pub struct UpdateArgs {
    /// The whole published spec (spec3.json) in a file.
    #[arg(long, value_name = "FILE", group = "source")]
    from_file: Option<PathBuf>,
    /// The whole published spec at a URL (https, or http to this machine).
    #[arg(long, value_name = "URL", group = "source")]
    from_url: Option<String>,
    /// The spec the live API serves for this organization (getOrganizationOpenapiSpec), with the
    /// key from MERAKI_DASHBOARD_API_KEY (or OAuth) and MERAKI_DASHBOARD_API_BASE_URL.
    #[arg(long, value_name = "ORGANIZATION_ID", group = "source")]
    from_api: Option<String>,
    /// The breaking changes are accepted: exit 0 with them.
    #[arg(long)]
    accept_breaking: bool,
}

/// Where an update reads and writes.
#[derive(Debug, Clone)]
pub struct Workspace {
    pub specs: PathBuf,
    pub batchable: PathBuf,
    pub names: PathBuf,
    pub corrections: PathBuf,
    pub deprecations: PathBuf,
    pub openapi: PathBuf,
    pub changelog: PathBuf,
    pub fixtures: PathBuf,
}

impl Workspace {
    /// This repository's.
    pub fn repository() -> Self {
        let root = crate::workspace_root();
        Self {
            specs: root.join("openapi/specs"),
            batchable: root.join(crate::batchable::FILE),
            names: root.join(crate::schemas::NAMES_FILE),
            corrections: root.join(crate::corrections::FILE),
            deprecations: root.join(crate::deprecations::FILE),
            openapi: root.join("openapi/openapi.yaml"),
            changelog: root.join("CHANGELOG.md"),
            fixtures: root.join("tests/fixtures"),
        }
    }
}

/// What an update did.
#[derive(Debug)]
pub struct Updated {
    pub old_version: String,
    pub new_version: String,
    pub report: Report,
    /// The section added to CHANGELOG.md.
    pub section: String,
}

pub fn run(args: UpdateArgs) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let spec = runtime.block_on(fetch(&args))?;
    let updated = update(&Workspace::repository(), &spec)?;
    print!("{}", updated.section);
    let breaking = updated.report.breaking();
    if breaking > 0 && !args.accept_breaking {
        return Err(format!(
            "{breaking} breaking changes from API {} to {} (CHANGELOG.md lists them); the files \
             are updated for review: rerun with --accept-breaking to accept them",
            updated.old_version, updated.new_version
        ));
    }
    Ok(())
}

/// The spec's bytes, from where the command line says.
async fn fetch(args: &UpdateArgs) -> Result<Vec<u8>, String> {
    if let Some(file) = &args.from_file {
        return std::fs::read(file).map_err(|e| format!("cannot read {}: {e}", file.display()));
    }
    if let Some(url) = &args.from_url {
        return fetch_url(url).await;
    }
    let organization = args.from_api.as_deref().unwrap_or_default();
    let client = meraki_api::Client::builder_from_env()
        .caller("MerakiApiXtask/0.1 MerakiApiRust")
        .build()
        .map_err(|e| e.to_string())?;
    fetch_from_api(&client, organization).await
}

/// A spec at a URL: https, or http to this machine.
pub async fn fetch_url(url: &str) -> Result<Vec<u8>, String> {
    let host = url
        .strip_prefix("http://")
        .map(|rest| rest.split(['/', ':']).next().unwrap_or_default());
    let local = host.is_some_and(|h| {
        h == "localhost"
            || h.parse::<std::net::Ipv4Addr>()
                .is_ok_and(|ip| ip.is_loopback())
    }) || url.starts_with("http://[::1]");
    if !url.starts_with("https://") && !local {
        return Err(format!("`{url}` must be https (or http to this machine)"));
    }
    // The crate's own TLS set-up (rustls, the system's roots).
    let http = meraki_api::reqwest_builder()
        .map_err(|e| e.to_string())?
        .timeout(std::time::Duration::from_secs(120))
        .build()
        .map_err(|e| e.to_string())?;
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url}: HTTP {status}"));
    }
    response
        .bytes()
        .await
        .map(|b| b.to_vec())
        .map_err(|e| format!("{url}: {e}"))
}

/// The spec the API serves for `organization` (`GET /organizations/{id}/openapiSpec?version=3`).
pub async fn fetch_from_api(
    client: &meraki_api::Client,
    organization: &str,
) -> Result<Vec<u8>, String> {
    let spec: Value = client
        .raw(
            meraki_api::Method::GET,
            format!("/organizations/{organization}/openapiSpec"),
        )
        .query("version", 3)
        .call()
        .await
        .map_err(|e| e.to_string())?;
    serde_json::to_vec(&spec).map_err(|e| e.to_string())
}

/// Imports `spec` (a whole published document) into the workspace, regenerates, conforms the
/// fixtures, and prepends the changes to the changelog.
pub fn update(workspace: &Workspace, spec: &[u8]) -> Result<Updated, String> {
    let scratch = std::env::temp_dir().join(format!(
        "xtask-update-{}-{}.json",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    ));
    std::fs::write(&scratch, spec)
        .map_err(|e| format!("cannot write {}: {e}", scratch.display()))?;
    let imported = crate::import::import(&scratch, &workspace.specs, &workspace.batchable);
    let _ = std::fs::remove_file(&scratch);
    let imported = imported?;
    let retired = retire(&workspace.specs, &imported)?;

    let old: Value = match std::fs::read_to_string(&workspace.openapi) {
        Ok(text) => serde_norway::from_str(&text)
            .map_err(|e| format!("{}: {e}", workspace.openapi.display()))?,
        Err(_) => serde_json::json!({"paths": {}}),
    };
    let generated = crate::generate::generate_with(
        std::slice::from_ref(&workspace.specs),
        Some(&workspace.batchable),
        Some(&workspace.names),
        Some(&workspace.corrections),
        Some(&workspace.deprecations),
    )?;
    crate::generate::write_atomically(&workspace.openapi, generated.yaml.as_bytes())
        .map_err(|e| format!("cannot write {}: {e}", workspace.openapi.display()))?;
    let new = &generated.merged.document;

    let corrections = crate::corrections::load(&workspace.corrections)?;
    let conformed = if workspace.fixtures.is_dir() {
        Some(crate::conform::conform(
            &workspace.fixtures,
            new,
            &workspace.specs,
            &corrections,
        )?)
    } else {
        None
    };
    let report = crate::diff::diff(&old, new);
    let (old_version, new_version) = (bulk_version(&old), bulk_version(new));
    let section = changelog_section(
        &old_version,
        &new_version,
        &imported,
        &retired,
        &generated.retired_deprecations,
        &report,
        conformed.as_ref(),
    );
    prepend(&workspace.changelog, &section)?;
    Ok(Updated {
        old_version,
        new_version,
        report,
        section,
    })
}

/// Removes the documents of operations the new spec no longer has (unless a document is for a
/// newer API version than the spec, like a seed ahead of the published spec); their ids.
fn retire(specs: &Path, imported: &crate::import::Imported) -> Result<Vec<String>, String> {
    let Some(version) = crate::version::ApiVersion::parse(&imported.version) else {
        return Ok(Vec::new());
    };
    let entries =
        std::fs::read_dir(specs).map_err(|e| format!("cannot read {}: {e}", specs.display()))?;
    let mut retired = Vec::new();
    for file in entries.filter_map(|e| e.ok().map(|e| e.path())) {
        if file.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let Ok(doc) = crate::operation_doc::OperationDoc::load(&file) else {
            continue;
        };
        if !imported.operations.contains(&doc.operation_id) && doc.version <= version {
            std::fs::remove_file(&file)
                .map_err(|e| format!("cannot remove {}: {e}", file.display()))?;
            retired.push(doc.operation_id);
        }
    }
    retired.sort();
    Ok(retired)
}

/// The API version most of a merged document's operations come from (`info.version` is the
/// newest of any, which a seed ahead of the published spec decides).
fn bulk_version(doc: &Value) -> String {
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for item in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|paths| paths.values())
    {
        for operation in item.as_object().into_iter().flat_map(|o| o.values()) {
            if let Some(version) = operation.get("x-api-version").and_then(Value::as_str) {
                *counts.entry(version).or_default() += 1;
            }
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(v, _)| v.to_owned())
        .or_else(|| {
            doc.pointer("/info/version")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "none".to_owned())
}

/// The CHANGELOG section of an update: breaking changes first.
fn changelog_section(
    old: &str,
    new: &str,
    imported: &crate::import::Imported,
    retired: &[String],
    retired_deprecations: &[String],
    report: &Report,
    conformed: Option<&crate::conform::Report>,
) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## API {new} (from {old})\n");
    let _ = writeln!(
        out,
        "Imported {} operation documents with `cargo xtask update`; {}.\n",
        imported.written,
        report.render().lines().last().unwrap_or_default()
    );
    if !retired.is_empty() {
        let _ = writeln!(
            out,
            "Documents removed (the new spec does not have their operations): {}.\n",
            retired.join(", ")
        );
    }
    if !retired_deprecations.is_empty() {
        let _ = writeln!(
            out,
            "Retired as Meraki announced (their entries in openapi/deprecations.yaml can go): {}.\n",
            retired_deprecations.join(", ")
        );
    }
    if !imported.kept_newer.is_empty() {
        let _ = writeln!(
            out,
            "Kept, being for a newer API version than the spec: {}.\n",
            imported.kept_newer.join(", ")
        );
    }
    let mut breaking = Vec::new();
    let mut other = Vec::new();
    for op in &report.removed {
        breaking.push(match op.split_once("  ") {
            Some((id, route)) => format!("- `{id}` removed ({route})"),
            None => format!("- `{op}` removed"),
        });
    }
    for (op, changes) in &report.changed {
        for change in changes {
            let line = format!("- `{op}`: {}", change.text);
            if change.breaking {
                breaking.push(line);
            } else {
                other.push(line);
            }
        }
    }
    for change in &report.types {
        let line = format!("- type {}", change.text);
        if change.breaking {
            breaking.push(line);
        } else {
            other.push(line);
        }
    }
    let added: Vec<String> = report
        .added
        .iter()
        .map(|op| match op.split_once("  ") {
            Some((id, route)) => format!("- `{id}` added ({route})"),
            None => format!("- `{op}` added"),
        })
        .collect();
    for (title, lines) in [
        ("Breaking changes", &breaking),
        ("Added", &added),
        ("Other changes", &other),
    ] {
        if lines.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        for line in lines {
            let _ = writeln!(out, "{line}");
        }
        out.push('\n');
    }
    if let Some(conformed) = conformed {
        let differing = conformed
            .operations
            .values()
            .filter(|(_, d)| !d.is_empty())
            .count();
        let _ = writeln!(
            out,
            "### Recorded answers\n\n`cargo xtask conform tests/fixtures`: {} operations with fixtures, {differing} with differences from the spec, {} corrections proposed.\n",
            conformed.operations.len(),
            conformed.proposals.len()
        );
    }
    out
}

/// Puts `section` first under the changelog's title (making the file if need be).
fn prepend(changelog: &Path, section: &str) -> Result<(), String> {
    const TITLE: &str = "# Changelog\n\n";
    let existing = std::fs::read_to_string(changelog).unwrap_or_default();
    let rest = existing.strip_prefix(TITLE).unwrap_or(&existing);
    let text = format!("{TITLE}{section}{rest}");
    std::fs::write(changelog, text)
        .map_err(|e| format!("cannot write {}: {e}", changelog.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use meraki_api::test_util::SimulatedDashboard;
    use serde_json::{json, Map};

    const ORG: &str = "549236";

    fn scratch() -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "xtask-update-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(dir.join("specs")).unwrap();
        dir
    }

    fn document(id: &str) -> Value {
        let file = crate::workspace_root().join(format!("openapi/specs/{id}.json"));
        serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap()
    }

    /// A whole published document (spec3.json's form) holding these operations.
    fn whole(version: &str, operations: &[Value]) -> Value {
        let mut paths = Map::new();
        for doc in operations {
            let mut operation = doc["spec"].as_object().unwrap().clone();
            let method = operation.remove("method").unwrap();
            let path = operation.remove("path").unwrap();
            let item = paths
                .entry(path.as_str().unwrap().to_owned())
                .or_insert_with(|| json!({}));
            item[method.as_str().unwrap()] = Value::Object(operation);
        }
        json!({
            "openapi": "3.0.1",
            "info": {"title": "Meraki Dashboard API", "version": version},
            "paths": paths,
            "x-batchable-actions": [],
        })
    }

    #[tokio::test]
    async fn an_update_from_the_api_writes_the_changelog_breaking_changes_first() {
        let dir = scratch();
        let workspace = Workspace {
            specs: dir.join("specs"),
            batchable: dir.join("batchable-actions.json"),
            names: crate::workspace_root().join(crate::schemas::NAMES_FILE),
            corrections: dir.join("corrections.yaml"),
            deprecations: dir.join("deprecations.yaml"),
            openapi: dir.join("openapi.yaml"),
            changelog: dir.join("CHANGELOG.md"),
            fixtures: crate::workspace_root().join("tests/fixtures/licenses"),
        };
        // The API as the repository has it: two operations.
        let licenses = document("getOrganizationLicenses");
        let networks = document("getOrganizationNetworks");
        let admins = document("getOrganizationAdmins");
        let before = whole("1.69.0", &[licenses.clone(), networks.clone(), admins]);
        std::fs::write(dir.join("before.json"), before.to_string()).unwrap();
        crate::import::import(
            &dir.join("before.json"),
            &workspace.specs,
            &workspace.batchable,
        )
        .unwrap();
        let generated = crate::generate::generate_with(
            std::slice::from_ref(&workspace.specs),
            Some(&workspace.batchable),
            Some(&workspace.names),
            None,
            None,
        )
        .unwrap();
        std::fs::write(&workspace.openapi, &generated.yaml).unwrap();

        // The API now: a required parameter more for licenses, and a new operation.
        let mut changed = licenses.clone();
        changed["spec"]["parameters"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "region", "in": "query", "required": true, "schema": {"type": "string"}}));
        let mut added = networks.clone();
        added["spec"]["operationId"] = json!("getOrganizationThings");
        added["spec"]["path"] = json!("/organizations/{organizationId}/things");
        let after = whole("1.70.0", &[changed, networks, added]);
        let dashboard = SimulatedDashboard::builder()
            .organization(ORG, 1, 0)
            .openapi_spec(after)
            .start()
            .await;
        let spec = fetch_from_api(&dashboard.client(), ORG).await.unwrap();
        let updated = update(&workspace, &spec).unwrap();

        assert_eq!(updated.new_version, "1.70.0");
        assert!(updated.report.breaking() > 0);
        let changelog = std::fs::read_to_string(&workspace.changelog).unwrap();
        assert!(
            changelog.starts_with("# Changelog\n\n## API 1.70.0 (from 1.69.0)"),
            "{changelog}"
        );
        let breaking = changelog
            .find("### Breaking changes")
            .expect("breaking changes listed");
        let added_at = changelog.find("### Added").expect("additions listed");
        assert!(breaking < added_at, "{changelog}");
        assert!(
            changelog.contains("param query region (required)"),
            "{changelog}"
        );
        assert!(
            changelog.contains("`getOrganizationThings` added"),
            "{changelog}"
        );
        // An operation the new spec lacks is removed, a breaking change.
        let removed = changelog
            .find("`getOrganizationAdmins` removed")
            .expect("removal listed");
        assert!(breaking < removed && removed < added_at, "{changelog}");
        assert!(!workspace.specs.join("getOrganizationAdmins.json").exists());
        assert!(changelog.contains("### Recorded answers"), "{changelog}");
        let regenerated = std::fs::read_to_string(&workspace.openapi).unwrap();
        assert!(regenerated.contains("operationId: getOrganizationThings"));
        // A second update appends a section above the first.
        update(&workspace, &spec).unwrap();
        let twice = std::fs::read_to_string(&workspace.changelog).unwrap();
        assert_eq!(twice.matches("## API 1.70.0").count(), 2);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
