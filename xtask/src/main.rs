//! Maintainer tasks for meraki-api, run as `cargo xtask <command>`.

mod areas;
mod batchable;
mod diff;
mod generate;
mod merge;
mod normalize;
mod operation_doc;
mod progenitor_fit;
mod version;

use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "\
usage: cargo xtask <command> [options]

commands:
  generate [--specs DIR]... [--out FILE] [--check]
      Merge the operation documents in DIR (default: openapi/specs) into one OpenAPI
      document at FILE (default: openapi/openapi.yaml). With --check, write nothing and
      fail if FILE is not what the inputs produce.
  batchable SPEC.json [--out FILE]
      Copy the `x-batchable-actions` list of a whole published spec (Meraki's spec3.json)
      to FILE (default: openapi/batchable-actions.json), which `generate` applies: each
      operation it names gets `x-batch-action: {operation, resource}` in openapi.yaml.
  diff OLD NEW
      What a spec update changes: operations added, removed and changed (parameters,
      request and response fields, enum values), flagging what breaks existing callers.
      OLD and NEW are openapi.yaml files or folders of operation documents.
  help
      Show this message.";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("generate") => generate::Options::parse(&args[1..]).and_then(|o| generate::run(&o)),
        Some("diff") => diff::run(&args[1..]),
        Some("batchable") => batchable::run(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
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
