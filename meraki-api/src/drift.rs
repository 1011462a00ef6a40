//! What the live API sends beyond its spec, noticed while decoding answers into the generated
//! types: values the decoder had to repair, enum values the spec does not list, fields it does
//! not know. Each finding is counted per operation ([`crate::Client::drift`], `Stats::drift`)
//! and traced once per client, by name and path, never with the value: one log line is a
//! report a user can send.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// One way an operation's answers differ from its spec, and in how many answers.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Drift {
    /// The operation (`getNetworkClients`).
    pub operation: &'static str,
    /// What differs.
    pub kind: DriftKind,
    /// Where, as a JSON path with `[]` for any item (`[].firstSeen`); empty where the decoder
    /// cannot say (an enum value).
    pub at: String,
    /// How many decoded answers showed it.
    pub answers: u64,
}

/// What differs between an answer and its spec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DriftKind {
    /// A value of another type, repaired: the text says which (`a numeric string where the
    /// spec says integer`).
    Repaired(&'static str),
    /// A value of this open enum type that the spec does not list (kept as its `Unknown`
    /// variant).
    UnlistedEnumValue(&'static str),
    /// A field the spec does not list (dropped by the typed value; `.call_with_json()` keeps
    /// it). Looked for in the first answer of each operation.
    UnknownField,
}

impl std::fmt::Display for DriftKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriftKind::Repaired(what) => write!(f, "{what} (repaired)"),
            DriftKind::UnlistedEnumValue(name) => {
                write!(f, "a value of {name} the spec does not list")
            }
            DriftKind::UnknownField => f.write_str("a field the spec does not list"),
        }
    }
}

impl std::fmt::Display for Drift {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.operation)?;
        if !self.at.is_empty() {
            write!(f, " {}", self.at)?;
        }
        write!(f, ": {}, in {} answer(s)", self.kind, self.answers)
    }
}

/// A finding in one answer, before it is counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Finding {
    pub(crate) kind: DriftKind,
    pub(crate) at: String,
}

/// Most distinct findings one answer contributes (a body of unknown fields stays bounded).
const MAX_PER_ANSWER: usize = 64;

impl Finding {
    /// Adds `finding` to `found` unless it is there (or `found` is full).
    pub(crate) fn add_to(self, found: &mut Vec<Finding>) {
        if found.len() < MAX_PER_ANSWER && !found.contains(&self) {
            found.push(self);
        }
    }
}

/// Findings by operation, shared by a client's clones.
#[derive(Debug, Default)]
pub(crate) struct DriftLog {
    counts: Mutex<HashMap<(&'static str, DriftKind, String), u64>>,
    /// Operations whose answers were looked through for unknown fields.
    fields_checked: Mutex<HashSet<&'static str>>,
}

impl DriftLog {
    /// Whether `operation`'s answers are still to be looked through for unknown fields.
    pub(crate) fn wants_field_check(&self, operation: &'static str) -> bool {
        !lock(&self.fields_checked).contains(operation)
    }

    /// `operation`'s answers were looked through for unknown fields.
    pub(crate) fn field_check_done(&self, operation: &'static str) {
        lock(&self.fields_checked).insert(operation);
    }

    /// Counts one answer's findings; a finding this client has not seen before is traced.
    pub(crate) fn note(&self, operation: &'static str, found: Vec<Finding>) {
        if found.is_empty() {
            return;
        }
        let mut counts = lock(&self.counts);
        for Finding { kind, at } in found {
            let count = counts.entry((operation, kind, at.clone())).or_insert(0);
            *count += 1;
            if *count == 1 {
                tracing::warn!(
                    target: "meraki_api::drift",
                    operation,
                    at = at.as_str(),
                    drift = %kind,
                    "the API answered beyond its spec"
                );
            }
        }
    }

    /// Every finding so far, by operation and path.
    pub(crate) fn report(&self) -> Vec<Drift> {
        let mut report: Vec<Drift> = lock(&self.counts)
            .iter()
            .map(|((operation, kind, at), answers)| Drift {
                operation,
                kind: *kind,
                at: at.clone(),
                answers: *answers,
            })
            .collect();
        report.sort_by(|a, b| (a.operation, &a.at, a.kind).cmp(&(b.operation, &b.at, b.kind)));
        report
    }

    /// How many distinct findings there are.
    pub(crate) fn distinct(&self) -> u64 {
        lock(&self.counts).len() as u64
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

thread_local! {
    /// The open enum types that decoded a value their spec does not list, while a decode on
    /// this thread is watched. A `Deserialize` impl has no other way to say what it saw; the
    /// watch is one synchronous call, so nothing crosses an `.await`.
    static UNLISTED: std::cell::RefCell<Option<Vec<&'static str>>> =
        const { std::cell::RefCell::new(None) };
}

/// Runs a decode, returning what it returns, with a finding for each open enum type that met
/// a value its spec does not list added to `found`.
pub(crate) fn watch_enums<R>(found: &mut Vec<Finding>, decode: impl FnOnce() -> R) -> R {
    let outer = UNLISTED.with(|cell| cell.replace(Some(Vec::new())));
    let result = decode();
    let seen = UNLISTED
        .with(|cell| cell.replace(outer))
        .unwrap_or_default();
    for name in seen {
        Finding {
            kind: DriftKind::UnlistedEnumValue(name),
            at: String::new(),
        }
        .add_to(found);
    }
    result
}

/// An open enum type decoded a value its spec does not list (called by the generated types;
/// noted only while a decode is watched, so a caller's own `FromStr` is not drift).
#[allow(dead_code)] // no open enum in a build without API areas
pub(crate) fn unlisted_enum_value(type_name: &'static str) {
    UNLISTED.with(|cell| {
        if let Some(seen) = cell.borrow_mut().as_mut() {
            if seen.len() < MAX_PER_ANSWER && !seen.contains(&type_name) {
                seen.push(type_name);
            }
        }
    });
}

/// A path in serde_ignored's terms as a pattern: `[]` for any item.
pub(crate) fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, .. } => format!("{}[]", ignored_path(parent)),
        Path::Map { parent, key } => {
            let parent = ignored_path(parent);
            if parent.is_empty() {
                key.clone()
            } else {
                format!("{parent}.{key}")
            }
        }
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => ignored_path(parent),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_finding_is_counted_per_answer_and_reported_by_operation() {
        let log = DriftLog::default();
        let field = |at: &str| Finding {
            kind: DriftKind::UnknownField,
            at: at.to_owned(),
        };
        log.note("b", vec![field("[].x")]);
        log.note("a", vec![field("[].y"), field("[].x")]);
        log.note("a", vec![field("[].x")]);
        let report = log.report();
        let lines: Vec<String> = report.iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            [
                "a [].x: a field the spec does not list, in 2 answer(s)",
                "a [].y: a field the spec does not list, in 1 answer(s)",
                "b [].x: a field the spec does not list, in 1 answer(s)",
            ]
        );
        assert_eq!(log.distinct(), 3);
    }

    #[test]
    fn enum_values_are_noted_only_inside_a_watch() {
        let names = |found: &[Finding]| -> Vec<String> {
            found.iter().map(|f| f.kind.to_string()).collect()
        };
        unlisted_enum_value("Outside");
        let mut seen = Vec::new();
        watch_enums(&mut seen, || {
            unlisted_enum_value("Slot");
            unlisted_enum_value("Slot");
            let mut inner = Vec::new();
            watch_enums(&mut inner, || unlisted_enum_value("Inner"));
            assert_eq!(names(&inner), ["a value of Inner the spec does not list"]);
        });
        assert_eq!(names(&seen), ["a value of Slot the spec does not list"]);
        let mut none = Vec::new();
        watch_enums(&mut none, || ());
        assert!(none.is_empty());
    }
}
