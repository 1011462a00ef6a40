//! How every operation reads and decodes a JSON response body.
//!
//! The generated operations call [`response_value`] in place of progenitor's
//! `ResponseValue::from_response` (the build script routes them here). Same results and errors,
//! except that an empty body reads as `null`; less work per page: the body is gathered once into
//! a buffer sized from `Content-Length`, checked as UTF-8 once as a whole, and decoded from text,
//! which spares serde_json a UTF-8 check per string (BENCHMARKS.md, scenario 3).

use progenitor_client::{Error, ResponseValue};
use serde::de::DeserializeOwned;

/// Reads `response`'s body and decodes it as `T`, keeping its status and headers.
pub(crate) async fn response_value<T: DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    // A hostile `Content-Length` must not reserve gigabytes up front.
    let expected = response.content_length().unwrap_or(0).min(MAX_PRESIZE);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(Error::ResponseBodyError)? {
        body.extend_from_slice(&chunk);
    }
    let decoded = match std::str::from_utf8(&body) {
        // A success documented without a body beside one with a body is typed `Option<T>` by
        // the xtask: no body reads as `null`, i.e. `None`.
        Ok(text) if text.trim().is_empty() => serde_json::from_str("null"),
        Ok(text) => serde_json::from_str(text),
        // Not UTF-8: serde_json reports where, as it does for any other malformed body.
        Err(_) => serde_json::from_slice(&body),
    };
    match decoded {
        Ok(inner) => Ok(ResponseValue::new(inner, status, headers)),
        Err(e) => Err(Error::InvalidResponsePayload(body.into(), e)),
    }
}

/// The most a `Content-Length` header reserves before any byte has arrived.
const MAX_PRESIZE: u64 = 16 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

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
