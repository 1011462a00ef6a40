//! Deserialization helpers the generated types use where the API is looser than its specs.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::drift::{DriftKind, Finding};

/// Decodes `null` as an empty collection (the API sends `null` for arrays it documents).
pub(crate) fn null_as_empty<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What an open enum (`x-open-enum` in the spec) has beyond its generated variants: the build
/// script adds an `Unknown(String)` variant and invokes this with the listed variants and their
/// wire strings. Unlisted values decode into `Unknown`, and `Display`, `FromStr` and
/// serialization give back exactly what the API sent.
#[allow(unused_macros)] // no open enum in a build without API areas
macro_rules! open_enum {
    ($name:ident { $($variant:ident => $wire:literal),* $(,)? }) => {
        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(match self {
                    $(Self::$variant => $wire,)*
                    Self::Unknown(value) => value,
                })
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = self::error::ConversionError;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::from_wire(value))
            }
        }

        // Written out rather than derived: serde's derive buffers every value to try an
        // untagged variant.
        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                struct WireString;
                impl ::serde::de::Visitor<'_> for WireString {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: ::serde::de::Error>(
                        self,
                        value: &str,
                    ) -> ::std::result::Result<$name, E> {
                        Ok($name::from_wire(value))
                    }
                }
                deserializer.deserialize_str(WireString)
            }
        }

        impl $name {
            /// The variant for a value as the API sends it; unlisted values are kept.
            pub fn from_wire(value: &str) -> Self {
                match value {
                    $($wire => Self::$variant,)*
                    other => {
                        crate::drift::unlisted_enum_value(stringify!($name));
                        Self::Unknown(other.to_owned())
                    }
                }
            }

            /// Whether this is a value the spec did not list.
            pub fn is_unknown(&self) -> bool {
                matches!(self, Self::Unknown(_))
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use open_enum;

/// Most distinct repairs tried on one body before its first error is reported.
const MAX_REPAIRS: usize = 32;

/// A value that does not decode even after the repairs: the decoder's error and where.
pub(crate) struct Unrepaired {
    /// The JSON path of the value that failed (`[2].seatCount`).
    pub(crate) path: String,
    /// The decoder's message.
    pub(crate) message: String,
    /// The JSON (as repaired) of the object holding that value, for an excerpt.
    pub(crate) context: String,
}

impl Unrepaired {
    /// The error a caller sees: the context masked by the crate's secret policy.
    pub(crate) fn into_error(self, operation: &'static str) -> crate::error::DecodeError {
        crate::error::DecodeError::unrepaired(operation, self.path, self.message, &self.context)
    }
}

/// Decodes a JSON value as `T`, repairing the drift the live API shows in responses (see
/// [`decode_repaired`]), with what was repaired where; what is left is the first error no
/// repair fixes.
pub(crate) fn decode_value_repaired<T: DeserializeOwned>(
    value: &mut Value,
) -> Result<(T, Vec<Finding>), Unrepaired> {
    decode_value_noting(value, false)
}

/// [`decode_value_repaired`], also noting the fields `T` does not know (by path) when
/// `unknown_fields` is set.
///
/// One deserializer does both (the unknown-field listing around the path tracking), so each
/// operation's type is compiled for two deserializers only: this one and the happy path's
/// (`body::decode_body`). Every further one costs the whole API's types again in compile time.
pub(crate) fn decode_value_noting<T: DeserializeOwned>(
    value: &mut Value,
    unknown_fields: bool,
) -> Result<(T, Vec<Finding>), Unrepaired> {
    let mut repaired = Vec::new();
    let mut repairs = 0;
    loop {
        let mut track = serde_path_to_error::Track::new();
        let mut unknown = Vec::new();
        let tracked = serde_path_to_error::Deserializer::new(&*value, &mut track);
        let decoded = serde_ignored::deserialize::<_, _, T>(tracked, |path| {
            if unknown_fields {
                Finding {
                    kind: DriftKind::UnknownField,
                    at: crate::drift::ignored_path(&path),
                }
                .add_to(&mut unknown);
            }
        });
        let error = match decoded {
            Ok(decoded) => {
                repaired.extend(unknown);
                return Ok((decoded, repaired));
            }
            Err(e) => serde_path_to_error::Error::new(track.path(), e),
        };
        let segments: Vec<Step> = error.path().iter().filter_map(Step::of).collect();
        let message = error.inner().to_string();
        if repairs < MAX_REPAIRS {
            let mut what = Vec::new();
            repair_all(value, &segments, &message, &mut what);
            if !what.is_empty() {
                repairs += 1;
                let at = pattern(&segments);
                for kind in what {
                    Finding {
                        kind: DriftKind::Repaired(kind),
                        at: at.clone(),
                    }
                    .add_to(&mut repaired);
                }
                continue;
            }
        }
        let holder = error.path().iter().count().saturating_sub(1);
        let context = at(value, error.path().iter().take(holder))
            .map_or_else(|| value.to_string(), Value::to_string);
        return Err(Unrepaired {
            path: error.path().to_string(),
            message,
            context,
        });
    }
}

/// A path of steps as a pattern: `[].seatCount`.
fn pattern(path: &[Step]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::AnyElement => text.push_str("[]"),
            Step::Key(key) if text.is_empty() => text.push_str(key),
            Step::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
        }
    }
    text
}

/// The value at a path of serde's segments, if there is one.
fn at<'v, 'p>(
    value: &'v Value,
    path: impl Iterator<Item = &'p serde_path_to_error::Segment>,
) -> Option<&'v Value> {
    use serde_path_to_error::Segment;
    let mut value = value;
    for segment in path {
        value = match segment {
            Segment::Seq { index } => value.get(*index)?,
            Segment::Map { key } => value.get(key)?,
            _ => value,
        };
    }
    Some(value)
}

/// Decodes a response body as `T` when it does not decode as it is, repairing what the live
/// API sends beyond its spec, in every item alike: numbers sent as numeric strings (`"12"`
/// where the spec says integer or number), numbers or booleans where it says string, integral
/// floats (`3.0`) where it says integer. What no repair fixes is an [`Unrepaired`] error;
/// `None` for a body that is not JSON at all. Only for bodies that already failed to decode:
/// the happy path never comes here.
pub(crate) fn decode_repaired<T: DeserializeOwned>(
    body: &[u8],
) -> Option<Result<(T, Vec<Finding>), Unrepaired>> {
    let mut value: Value = crate::body::decode_body(body).ok()?;
    Some(decode_value_repaired(&mut value))
}

/// One step of a path to a value: a key, or any element of an array (the same drift tends to
/// repeat in every item of a page, so one repair serves them all).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    AnyElement,
}

impl Step {
    fn of(segment: &serde_path_to_error::Segment) -> Option<Self> {
        use serde_path_to_error::Segment;
        match segment {
            Segment::Seq { .. } => Some(Step::AnyElement),
            Segment::Map { key } => Some(Step::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

/// Repairs every value at `path` that `message` says is of the wrong type, adding what was
/// repaired to `what` (one decoder error can stand for several kinds, one per item).
fn repair_all(value: &mut Value, path: &[Step], message: &str, what: &mut Vec<&'static str>) {
    match path.split_first() {
        None => {
            if let Some(kind) = repair(value, message) {
                if !what.contains(&kind) {
                    what.push(kind);
                }
            }
        }
        Some((Step::Key(key), rest)) => {
            if let Some(v) = value.as_object_mut().and_then(|o| o.get_mut(key)) {
                repair_all(v, rest, message, what);
            }
        }
        Some((Step::AnyElement, rest)) => {
            for item in value.as_array_mut().into_iter().flatten() {
                repair_all(item, rest, message, what);
            }
        }
    }
}

/// One value the decoder refused, as `message` says why; what was repaired, if it changed.
fn repair(value: &mut Value, message: &str) -> Option<&'static str> {
    let expected = message.split("expected ").nth(1)?;
    let wants_integer = [
        "i8", "i16", "i32", "i64", "i128", "u8", "u16", "u32", "u64", "u128",
    ]
    .iter()
    .any(|t| expected.starts_with(t));
    let wants_number = wants_integer || expected.starts_with("f32") || expected.starts_with("f64");
    let wants_string = expected.starts_with("a string");
    let (repaired, what) = match &*value {
        Value::String(text) if wants_number => (
            number_from_text(text.trim(), wants_integer),
            "a numeric string where the spec says a number",
        ),
        Value::Number(n) if wants_integer => (
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| Value::from(f as i64)),
            "a float where the spec says an integer",
        ),
        Value::Number(n) if wants_string => (
            Some(Value::String(n.to_string())),
            "a number where the spec says a string",
        ),
        Value::Bool(b) if wants_string => (
            Some(Value::String(b.to_string())),
            "a boolean where the spec says a string",
        ),
        _ => (None, ""),
    };
    match repaired {
        Some(new) if new != *value => {
            *value = new;
            Some(what)
        }
        _ => None,
    }
}

fn number_from_text(text: &str, integer: bool) -> Option<Value> {
    if let Ok(i) = text.parse::<i64>() {
        return Some(Value::from(i));
    }
    if let Ok(u) = text.parse::<u64>() {
        return Some(Value::from(u));
    }
    let f = text.parse::<f64>().ok().filter(|f| f.is_finite())?;
    if integer {
        (f.fract() == 0.0 && f.abs() < 9.0e15).then(|| Value::from(f as i64))
    } else {
        serde_json::Number::from_f64(f).map(Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct License {
        seat_count: Option<i64>,
        usage: Option<f64>,
        key: Option<String>,
        name: Option<String>,
    }

    #[test]
    fn drift_the_live_api_shows_is_repaired_in_every_item() {
        let body = br#"[
            {"seatCount": "12", "usage": "0.5", "key": 123, "name": true},
            {"seatCount": 3.0, "usage": 7, "key": "k", "name": null},
            {"seatCount": " 40 ", "usage": "1e3", "key": 4.5}
        ]"#;
        assert!(serde_json::from_slice::<Vec<License>>(body).is_err());
        let (decoded, repaired): (Vec<License>, _) = decode_repaired(body).unwrap().ok().unwrap();
        let mut found: Vec<String> = repaired
            .iter()
            .map(|f| format!("{} {}", f.at, f.kind))
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                "[].key a number where the spec says a string (repaired)",
                "[].name a boolean where the spec says a string (repaired)",
                "[].seatCount a float where the spec says an integer (repaired)",
                "[].seatCount a numeric string where the spec says a number (repaired)",
                "[].usage a numeric string where the spec says a number (repaired)",
            ]
        );
        assert_eq!(decoded[0].seat_count, Some(12));
        assert_eq!(decoded[0].usage, Some(0.5));
        assert_eq!(decoded[0].key.as_deref(), Some("123"));
        assert_eq!(decoded[0].name.as_deref(), Some("true"));
        assert_eq!(decoded[1].seat_count, Some(3));
        assert_eq!(decoded[2].seat_count, Some(40));
        assert_eq!(decoded[2].usage, Some(1000.0));
        assert_eq!(decoded[2].key.as_deref(), Some("4.5"));
    }

    #[test]
    fn what_cannot_be_repaired_is_the_first_error() {
        for body in [
            br#"[{"seatCount": "twelve"}]"#.as_slice(),
            br#"[{"seatCount": 2.5}]"#,
            br#"[{"seatCount": {"n": 1}}]"#,
            br#"{"seatCount": 1}"#,
            b"not json",
        ] {
            assert!(!matches!(
                decode_repaired::<Vec<License>>(body),
                Some(Ok(_))
            ));
        }
        // The error is the one no repair fixes, after those that could be.
        let error = decode_value_repaired::<Vec<License>>(&mut serde_json::json!([
            {"seatCount": "1"}, {"seatCount": "x", "key": "k"}
        ]))
        .err()
        .unwrap();
        assert_eq!(error.path, "[1].seatCount");
        assert!(error.context.contains(r#""key":"k""#), "{}", error.context);
    }
}
