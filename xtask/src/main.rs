//! Maintainer tasks for meraki-api, run as `cargo xtask <command>`.

mod areas;
mod batchable;
mod conform;
mod corrections;
mod deprecations;
mod diff;
mod generate;
mod import;
mod merge;
mod msrv;
mod normalize;
mod operation_doc;
mod progenitor_fit;
mod record;
mod schemas;
mod update;
mod version;
mod yaml;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Maintainer tasks for meraki-api.
#[derive(Debug, Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Merge the operation documents into one OpenAPI document (openapi/openapi.yaml), applying
    /// Meraki's conventions once.
    Generate(generate::GenerateArgs),
    /// What a spec update changes: operations added, removed and changed (parameters, request
    /// and response fields, enum values), flagging what breaks existing callers.
    Diff {
        /// The old API: an openapi.yaml file or a folder of operation documents.
        old: PathBuf,
        /// The new API, likewise.
        new: PathBuf,
    },
    /// Split a whole published spec (Meraki's spec3.json) into per-operation documents in
    /// openapi/specs (documents there for a newer API version are kept) and copy its
    /// batchable-actions list, ready for `generate`.
    Import(import::ImportArgs),
    /// Compare recorded answers (fixtures) with what the specs document, per operation; fail
    /// on a recording of a real answer the client cannot read, proposing the correction to add
    /// to openapi/corrections.yaml.
    Conform(conform::ConformArgs),
    /// Call an operation through the client (the live API by default) and write each page's
    /// exchange as a fixture; `--set FILE` records a list; `--anonymize` for publishing.
    Record(record::RecordArgs),
    /// A new API version in one command: import Meraki's whole spec (from a file, a URL or the
    /// live API), regenerate openapi.yaml, conform the fixtures, and write the changes to
    /// CHANGELOG.md; fails on breaking changes unless --accept-breaking.
    Update(update::UpdateArgs),
    /// Check that every dependency of the library builds with its declared rust-version.
    Msrv,
    /// Copy the `x-batchable-actions` list of a whole published spec (Meraki's spec3.json) to
    /// openapi/batchable-actions.json, which `generate` applies: each operation it names gets
    /// `x-batch-action: {operation, resource}` in openapi.yaml.
    Batchable {
        /// The whole published spec (JSON).
        spec: PathBuf,
        /// Where to write the list.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Generate(args) => generate::run(&generate::Options::from(args)),
        Command::Diff { old, new } => diff::run(&old, &new),
        Command::Import(args) => import::run(args),
        Command::Batchable { spec, out } => batchable::run(&spec, out),
        Command::Conform(args) => conform::run(args),
        Command::Record(args) => record::run(args),
        Command::Update(args) => update::run(args),
        Command::Msrv => msrv::run(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root, so that default paths work from any directory.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
