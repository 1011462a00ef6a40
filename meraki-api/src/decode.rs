//! How every operation reads and decodes a JSON response body.
//!
//! The generated operations call [`response_value`] in place of progenitor's
//! `ResponseValue::from_response` (the build script routes them here). Same results and errors,
//! except that an empty body reads as `null`; less work per page: the body is gathered once into
//! a buffer sized from `Content-Length`, checked as UTF-8 once as a whole, and decoded from text,
//! which spares serde_json a UTF-8 check per string (BENCHMARKS.md, scenario 3). The buffer is
//! kept for the thread's next response. [`undecoded`] has the same path leave the body
//! undecoded, for `Paginator::items_as`.

use std::cell::RefCell;
use std::future::Future;

use progenitor_client::{Error, ResponseValue};
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

/// A success response whose body was read but not decoded (see [`undecoded`]).
pub(crate) struct UndecodedBody {
    pub(crate) headers: HeaderMap,
    pub(crate) body: Vec<u8>,
}

tokio::task_local! {
    /// Set by [`undecoded`]: [`response_value`] leaves the body here instead of decoding it.
    static UNDECODED: RefCell<Option<UndecodedBody>>;
}

/// What [`response_value`] returns when it left the body undecoded; never seen by callers.
const LEFT_UNDECODED: &str = "meraki-api: success body left undecoded";

/// Runs a generated operation's `send()` so that its success body is read but not decoded:
/// for callers that decode it into a type of their own (`Paginator::items_as`). Failures are
/// progenitor's, exactly as `send()` reports them.
pub(crate) async fn undecoded<T, E>(
    send: impl Future<Output = Result<ResponseValue<T>, Error<E>>>,
) -> Result<UndecodedBody, Error<E>> {
    UNDECODED
        .scope(RefCell::new(None), async move {
            let result = send.await;
            let left = UNDECODED.with(|slot| slot.borrow_mut().take());
            match (result, left) {
                (Err(Error::Custom(message)), Some(left)) if message == LEFT_UNDECODED => Ok(left),
                (Err(e), _) => Err(e),
                // A success without a body (`ResponseValue::empty`): nothing to decode.
                (Ok(value), _) => Ok(UndecodedBody {
                    headers: value.headers().clone(),
                    body: Vec::new(),
                }),
            }
        })
        .await
}

/// Reads `response`'s body and decodes it as `T`, keeping its status and headers.
pub(crate) async fn response_value<T: DeserializeOwned, E>(
    mut response: reqwest::Response,
) -> Result<ResponseValue<T>, Error<E>> {
    let status = response.status();
    let headers = std::mem::take(response.headers_mut());
    // A hostile `Content-Length` must not reserve gigabytes up front.
    let expected = response.content_length().unwrap_or(0).min(MAX_PRESIZE);
    let mut body = SPARE_BUFFER.take();
    body.reserve(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await.map_err(Error::ResponseBodyError)? {
        body.extend_from_slice(&chunk);
    }
    if UNDECODED.try_with(|_| ()).is_ok() {
        UNDECODED.with(|slot| *slot.borrow_mut() = Some(UndecodedBody { headers, body }));
        return Err(Error::Custom(LEFT_UNDECODED.to_owned()));
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
        Ok(inner) => {
            keep_spare(body);
            Ok(ResponseValue::new(inner, status, headers))
        }
        Err(e) => Err(Error::InvalidResponsePayload(body.into(), e)),
    }
}

/// The most a `Content-Length` header reserves before any byte has arrived.
const MAX_PRESIZE: u64 = 16 * 1024 * 1024;

/// The largest body buffer a thread keeps for its next response.
const MAX_SPARE: usize = 4 * 1024 * 1024;

thread_local! {
    /// The last body buffer decoded on this thread, emptied: a paginator reads page after page
    /// of about the same size, and a fresh buffer of that size each time costs more (fresh
    /// pages from the kernel, the allocator's bookkeeping) than filling the old one again.
    static SPARE_BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
}

/// Keeps `body`'s buffer for the next response decoded on this thread.
pub(crate) fn keep_spare(mut body: Vec<u8>) {
    if body.capacity() <= MAX_SPARE {
        body.clear();
        SPARE_BUFFER.set(body);
    }
}

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
