//! Success bodies into the operations' types: `.call()`'s and the paginators' decoding (with
//! the repairs of [`super::lenient`] for what the live API sends beyond its spec), and
//! progenitor's own `send()`, whose `ResponseValue::from_response` the build script routes to
//! [`response_value`], from the body the request path already read.

use progenitor_client::{Error, ResponseValue};
use serde::de::DeserializeOwned;

use crate::body::{decode_body, keep_spare, read_body};
use crate::drift::{self, DriftLog, Finding};
use crate::error::DecodeError;

/// Decodes a success body as `T`: as it is, else with the repairs of the live API's drift; the
/// error reported is the first one no repair fixes. What the answer showed beyond the spec
/// (repairs, enum values it does not list, and in an operation's first answer, unknown
/// fields) is noted in `drift`.
pub(crate) fn decode<T: DeserializeOwned>(
    drift: &DriftLog,
    operation: &'static str,
    body: &[u8],
) -> Result<T, crate::Error> {
    let mut found = Vec::new();
    let decoded = drift::watch_enums(&mut found, || decode_noting(drift, operation, body));
    let (value, in_fields) = decoded?;
    found.extend(in_fields);
    drift.note(operation, found);
    Ok(value)
}

/// The decode of [`decode`], with what was repaired and, when the operation's answers are yet
/// to be looked through, the fields `T` does not know.
fn decode_noting<T: DeserializeOwned>(
    drift: &DriftLog,
    operation: &'static str,
    body: &[u8],
) -> Result<(T, Vec<Finding>), crate::Error> {
    // An operation's first answers go through the JSON value, where fields are listed and
    // drift repaired in one pass (see `decode_value_noting` on why one deserializer).
    // An empty answer shows no fields: the check waits for one that has a body.
    let check_fields =
        drift.wants_field_check(operation) && !body.iter().all(u8::is_ascii_whitespace);
    if !check_fields {
        if let Ok(value) = decode_body(body) {
            return Ok((value, Vec::new()));
        }
    }
    let mut json = match decode_body::<serde_json::Value>(body) {
        Ok(json) => json,
        // Not JSON at all: where it stops being JSON is what there is to say.
        Err(e) => {
            return Err(crate::Error::Decode(DecodeError::locate::<
                serde::de::IgnoredAny,
            >(operation, body, &e)))
        }
    };
    let (value, found) = super::lenient::decode_value_noting::<T>(&mut json, check_fields)
        .map_err(|left| crate::Error::Decode(left.into_error(operation)))?;
    if check_fields {
        drift.field_check_done(operation);
    }
    Ok((value, found))
}

/// Reads `response`'s body and decodes it as `T`, keeping its status and headers.
pub(crate) async fn response_value<T: DeserializeOwned, E>(
    response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let (headers, body) = read_body(response)
        .await
        .map_err(Error::ResponseBodyError)?;
    match decode_body(&body) {
        Ok(inner) => {
            keep_spare(body);
            Ok(ResponseValue::new(inner, status, headers))
        }
        Err(e) => Err(Error::InvalidResponsePayload(body.into(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::DriftKind;

    async fn decode<T: DeserializeOwned>(body: Vec<u8>) -> Result<ResponseValue<T>, Error<()>> {
        let response = http::Response::builder()
            .status(200)
            .header("x-request-id", "abc")
            .body(body)
            .unwrap();
        response_value(reqwest::Response::from(response)).await
    }

    #[tokio::test]
    async fn decodes_the_body_and_keeps_status_and_headers() {
        let value = decode::<Vec<String>>(r#"["a","\u00e9t\u00e9","été"]"#.as_bytes().to_vec())
            .await
            .unwrap();
        assert_eq!(value.status(), 200);
        assert_eq!(value.headers()["x-request-id"], "abc");
        assert_eq!(value.into_inner(), ["a", "été", "été"]);
    }

    #[tokio::test]
    async fn an_empty_body_reads_as_null() {
        let value = decode::<Option<Vec<String>>>(Vec::new()).await.unwrap();
        assert_eq!(value.into_inner(), None);
        let value = decode::<Option<Vec<String>>>(b"[\"a\"]".to_vec())
            .await
            .unwrap();
        assert_eq!(value.into_inner(), Some(vec!["a".to_owned()]));
    }

    #[derive(serde::Deserialize, Debug, PartialEq)]
    struct Port {
        name: String,
    }

    #[test]
    fn an_empty_first_answer_leaves_the_field_check_to_the_next() {
        let drift = DriftLog::default();
        let none = super::decode::<Option<Vec<Port>>>(&drift, "getPorts", b" ").unwrap();
        assert_eq!(none, None);
        assert!(drift.wants_field_check("getPorts"));
        let body = br#"[{"name": "a", "poe": true}, {"name": "b", "poe": false}]"#;
        let ports = super::decode::<Option<Vec<Port>>>(&drift, "getPorts", body).unwrap();
        assert_eq!(ports.map(|p| p.len()), Some(2));
        assert!(!drift.wants_field_check("getPorts"));
        let report = drift.report();
        assert_eq!(report.len(), 1, "{report:?}");
        assert_eq!(
            (report[0].kind, report[0].at.as_str(), report[0].answers),
            (DriftKind::UnknownField, "[].poe", 1)
        );
        // Later answers take the fast path: the same field is not counted again.
        super::decode::<Option<Vec<Port>>>(&drift, "getPorts", body).unwrap();
        assert_eq!(drift.report()[0].answers, 1);
    }

    #[test]
    fn repairs_and_unknown_fields_come_from_one_pass() {
        #[derive(serde::Deserialize)]
        struct Counted {
            #[allow(dead_code)]
            count: u32,
        }
        let drift = DriftLog::default();
        super::decode::<Vec<Counted>>(&drift, "getCounts", br#"[{"count": "3", "extra": 1}]"#)
            .unwrap();
        let kinds: Vec<(DriftKind, String)> =
            drift.report().into_iter().map(|d| (d.kind, d.at)).collect();
        assert_eq!(kinds.len(), 2, "{kinds:?}");
        assert!(
            kinds.contains(&(DriftKind::UnknownField, "[].extra".to_owned())),
            "{kinds:?}"
        );
        assert!(
            kinds
                .iter()
                .any(|(k, at)| matches!(k, DriftKind::Repaired(_)) && at == "[].count"),
            "{kinds:?}"
        );
    }

    #[test]
    fn bodies_that_are_not_json_say_where() {
        let drift = DriftLog::default();
        for body in [&b"502 Bad Gateway"[..], b"[\"\xff\xfe\"]", b"\xff"] {
            match super::decode::<Vec<Port>>(&drift, "getPorts", body) {
                Err(crate::Error::Decode(e)) => assert_eq!(e.operation, "getPorts"),
                other => panic!("{body:?}: {other:?}"),
            }
        }
    }

    #[tokio::test]
    async fn malformed_bodies_are_payload_errors_with_the_body() {
        for body in [
            b"[\"a\"".to_vec(),
            b"{\"a\": 1}".to_vec(),
            b"[\"\xff\xfe\"]".to_vec(),
            Vec::new(),
        ] {
            match decode::<Vec<String>>(body.clone()).await {
                Err(Error::InvalidResponsePayload(kept, _)) => assert_eq!(kept, body),
                other => panic!("{body:?}: {other:?}"),
            }
        }
    }
}
