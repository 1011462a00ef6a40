//! How every answer's body is read and what shapes it comes in.
//!
//! The request path reads each attempt's body whole with [`read_body`] (into a buffer sized from
//! `Content-Length` and kept for the thread's next answer), so a body cut short is a failed
//! attempt. [`decode_body`] checks it as UTF-8 once as a whole and decodes from text, which
//! spares serde_json a UTF-8 check per string (BENCHMARKS.md, scenario 3); an empty body reads
//! as `null`. [`decode_page`] reads the items of a page of any shape the API sends.

use std::marker::PhantomData;

use reqwest::header::HeaderMap;
use serde::de::{DeserializeOwned, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// Reads `response`'s whole body into a buffer (kept from the thread's last response).
/// Returns the headers and the body; a body that does not arrive whole is an error.
pub(crate) async fn read_body(
    mut response: reqwest::Response,
) -> reqwest::Result<(HeaderMap, Vec<u8>)> {
    let headers = std::mem::take(response.headers_mut());
    // A hostile `Content-Length` must not reserve gigabytes up front.
    let expected = response.content_length().unwrap_or(0).min(MAX_PRESIZE);
    let mut body = SPARE_BUFFER.take();
    body.reserve(usize::try_from(expected).unwrap_or(0));
    while let Some(chunk) = response.chunk().await? {
        body.extend_from_slice(&chunk);
    }
    Ok((headers, body))
}

/// Decodes a whole body as `T`; an empty body reads as `null`.
pub(crate) fn decode_body<T: DeserializeOwned>(body: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(body) {
        // A success documented without a body beside one with a body is typed `Option<T>` by
        // the xtask: no body reads as `null`, i.e. `None`.
        Ok(text) if text.trim().is_empty() => serde_json::from_str("null"),
        Ok(text) => serde_json::from_str(text),
        // Not UTF-8, so not JSON: serde_json says where when it can. Read as `IgnoredAny`, not
        // `T`: every generated type compiled for one more deserializer costs the whole API again.
        Err(_) => match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
            Err(e) => Err(e),
            Ok(_) => Err(serde::de::Error::custom("the body is not UTF-8")),
        },
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

/// `meta.counts.items` of an `items`/`meta` page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ItemCounts {
    /// All items matching the request.
    pub total: Option<u64>,
    /// Items after this page.
    pub remaining: Option<u64>,
}

impl ItemCounts {
    /// Reads `counts.items.{total,remaining}` from a generated `meta` value.
    pub fn from_meta<M: Serialize>(meta: &M) -> Option<Self> {
        let value = serde_json::to_value(meta).ok()?;
        let items = value.get("counts")?.get("items")?;
        Some(Self {
            total: items.get("total").and_then(serde_json::Value::as_u64),
            remaining: items.get("remaining").and_then(serde_json::Value::as_u64),
        })
    }
}

/// A page body's items as `T`: a JSON array, the `items` of an object (with `meta`'s counts),
/// or, for any other object, the object itself as the one item. An empty body has no items.
pub(crate) fn decode_page<T: DeserializeOwned>(
    body: &[u8],
) -> serde_json::Result<(Vec<T>, Option<ItemCounts>)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok((Vec::new(), None));
    }
    // Checked as UTF-8 once, as `decode::response_value` does; serde_json reports bad bytes.
    let page: ItemsOf<T> = match std::str::from_utf8(body) {
        Ok(text) => serde_json::from_str(text)?,
        Err(_) => serde_json::from_slice(body)?,
    };
    match page {
        ItemsOf::Items(items, counts) => Ok((items, counts)),
        ItemsOf::NotAList => Ok((vec![serde_json::from_slice(body)?], None)),
    }
}

/// What [`decode_page`] reads in one pass.
pub(crate) enum ItemsOf<T> {
    Items(Vec<T>, Option<ItemCounts>),
    /// An object without `items`: the whole body is one item.
    NotAList,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ItemsOf<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct PageVisitor<T>(PhantomData<fn() -> T>);

        impl<'de, T: Deserialize<'de>> Visitor<'de> for PageVisitor<T> {
            type Value = ItemsOf<T>;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON array or object")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(ItemsOf::Items(items, None))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let (mut items, mut counts) = (None, None);
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match &*key {
                        "items" => items = Some(map.next_value()?),
                        "meta" => {
                            let meta: serde_json::Value = map.next_value()?;
                            counts = ItemCounts::from_meta(&meta);
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(items.map_or(ItemsOf::NotAList, |items| ItemsOf::Items(items, counts)))
            }
        }

        deserializer.deserialize_any(PageVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Named {
        name: String,
    }

    fn names(body: &str) -> (Vec<String>, Option<ItemCounts>) {
        let (items, counts) = decode_page::<Named>(body.as_bytes()).unwrap();
        (items.into_iter().map(|n| n.name).collect(), counts)
    }

    #[test]
    fn pages_of_every_shape_decode_into_the_callers_type() {
        assert_eq!(
            names(r#"[{"name":"a","extra":[1,{"x":null}]},{"name":"b"}]"#),
            (vec!["a".into(), "b".into()], None)
        );
        assert_eq!(
            names(
                r#"{"meta":{"counts":{"items":{"total":5,"remaining":3}}},"items":[{"name":"a"}],"other":{}}"#
            ),
            (
                vec!["a".into()],
                Some(ItemCounts {
                    total: Some(5),
                    remaining: Some(3)
                })
            )
        );
        // An object without `items` is the page's one item.
        assert_eq!(names(r#"{"name":"whole"}"#), (vec!["whole".into()], None));
        assert_eq!(names(" \n"), (vec![], None));
        assert_eq!(names("[]"), (vec![], None));
    }

    #[test]
    fn malformed_pages_are_errors_not_panics() {
        for body in [
            "[{\"name\":1}]",
            "{\"items\":{}}",
            "\"text\"",
            "[{\"name\":\"a\"}",
            "\u{0}",
        ] {
            assert!(decode_page::<Named>(body.as_bytes()).is_err(), "{body}");
        }
        assert!(decode_page::<Named>(&[b'[', 0xff, b']']).is_err());
    }
}
