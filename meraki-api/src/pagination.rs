//! Link-header pagination for every operation that takes `startingAfter`/`endingBefore`.
//!
//! ```no_run
//! # async fn demo(client: meraki_api::Client) -> Result<(), meraki_api::Error> {
//! use futures_util::TryStreamExt;
//! use meraki_api::prelude::*;
//!
//! let mut licenses = client
//!     .get_organization_licenses()
//!     .organization_id("123456")
//!     .per_page(1000)
//!     .into_paginator()
//!     .items();
//! while let Some(license) = licenses.try_next().await? {
//!     println!("{:?}", license.license_key);
//! }
//! # Ok(()) }
//! ```

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::marker::PhantomData;

use futures_core::Stream;
use progenitor_client::ClientInfo as _;
use reqwest::header::{HeaderMap, LINK};
use reqwest::Url;
use serde::de::DeserializeOwned;

pub use crate::decode::ItemCounts;
use crate::decode::{decode_page, ItemsOf};
use crate::error::Error;
use crate::link::{find_rel, parse_link_header};
use crate::operation::{call_undecoded, Operation, RawJson};

/// An operation whose results come in pages (generated for every operation with
/// `startingAfter` and `endingBefore` parameters).
pub trait Paginate<'a>: Operation<'a, Output: PageBody> + Clone {
    /// Sets the `startingAfter` cursor.
    fn starting_after(self, cursor: String) -> Self;
    /// Sets the `endingBefore` cursor.
    fn ending_before(self, cursor: String) -> Self;

    /// A paginator that sends this request, then follows the `Link` header page by page.
    fn into_paginator(self) -> Paginator<'a, Self> {
        Paginator::new(self)
    }
}

/// A page body: a JSON array, or an `{"items": [...], "meta": {...}}` object.
pub trait PageBody {
    /// One result.
    type Item;
    /// The page's items and, for `items`/`meta` bodies, the counts.
    fn into_parts(self) -> (Vec<Self::Item>, Option<ItemCounts>);
}

impl<T> PageBody for Vec<T> {
    type Item = T;
    fn into_parts(self) -> (Vec<T>, Option<ItemCounts>) {
        (self, None)
    }
}

/// A page whose spec documents an untyped object: the whole body is the page's one item.
impl PageBody for serde_json::Map<String, serde_json::Value> {
    type Item = Self;
    fn into_parts(self) -> (Vec<Self>, Option<ItemCounts>) {
        (vec![self], None)
    }
}

/// Which way to walk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Direction {
    /// Follow `rel=next` with `startingAfter` (the default).
    #[default]
    Forward,
    /// Follow `rel=prev` with `endingBefore`. Start where you like with `ending_before(...)`.
    Backward,
}

/// One page of results.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The page's items, in the API's order.
    pub items: Vec<T>,
    /// The counts of an `items`/`meta` body.
    pub counts: Option<ItemCounts>,
    /// The `Link` targets of this page, by relation: `first`, `prev`, `next`, `last`.
    pub links: PageLinks,
    /// 1 for the first page.
    pub number: usize,
    /// The whole body as untyped JSON, when asked for with [`Paginator::with_raw_json`].
    pub raw: Option<RawJson>,
}

impl<T> Page<T> {
    /// The untyped JSON of each item, in the same order as [`Page::items`] (before any
    /// `max_items` cut), when the paginator
    /// was asked for it: the way to fields the spec does not list yet.
    pub fn raw_items(&self) -> Option<&[RawJson]> {
        let raw = self.raw.as_ref()?;
        raw.as_array()
            .or_else(|| raw.get("items")?.as_array())
            .map(Vec::as_slice)
    }
}

/// The `Link` targets of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct PageLinks {
    /// `rel=first`.
    pub first: Option<String>,
    /// `rel=prev`.
    pub prev: Option<String>,
    /// `rel=next`.
    pub next: Option<String>,
    /// `rel=last`.
    pub last: Option<String>,
}

/// Walks the pages of an operation. Holds one page at a time, whatever the total.
#[derive(Debug, Clone)]
pub struct Paginator<'a, O: Paginate<'a>> {
    template: O,
    direction: Direction,
    max_pages: Option<usize>,
    max_items: Option<usize>,
    raw_json: bool,
    _client: std::marker::PhantomData<&'a ()>,
}

impl<'a, O: Paginate<'a>> Paginator<'a, O> {
    fn new(template: O) -> Self {
        Self {
            template,
            direction: Direction::Forward,
            max_pages: None,
            max_items: None,
            raw_json: false,
            _client: std::marker::PhantomData,
        }
    }

    /// Walk backwards (`rel=prev`) instead of forwards.
    pub fn direction(mut self, direction: Direction) -> Self {
        self.direction = direction;
        self
    }

    /// Stop after this many pages.
    pub fn max_pages(mut self, pages: usize) -> Self {
        self.max_pages = Some(pages);
        self
    }

    /// Stop after this many items (the last page is cut short).
    pub fn max_items(mut self, items: usize) -> Self {
        self.max_items = Some(items);
        self
    }

    /// Also keep each page's body as untyped JSON ([`Page::raw`], [`Page::raw_items`]).
    /// Costs a second parse of every page.
    pub fn with_raw_json(mut self) -> Self {
        self.raw_json = true;
        self
    }

    /// A stream of whole pages.
    pub fn pages(
        self,
    ) -> impl Stream<Item = Result<Page<<O::Output as PageBody>::Item>, Error>> + Send + Unpin + 'a
    where
        <O::Output as PageBody>::Item: Send,
    {
        self.page_stream::<AsGenerated>()
    }

    /// A stream of items, page after page.
    pub fn items(
        self,
    ) -> impl Stream<Item = Result<<O::Output as PageBody>::Item, Error>> + Send + Unpin + 'a
    where
        <O::Output as PageBody>::Item: Send,
    {
        flatten(self.page_stream::<AsGenerated>())
    }

    /// A stream of whole pages whose items are decoded as `T` instead of the generated type:
    /// a struct of only the fields you need (decoding is most of the client's CPU time when
    /// streaming, and fields you leave out are skipped, not built), or
    /// `Box<serde_json::value::RawValue>` (serde_json's `raw_value` feature) to pass items on
    /// as the API sent them. Works for array pages and `items`/`meta` pages alike; a page that
    /// is one object is one item. Same requests, `Link` checks, limits and errors as
    /// [`Paginator::pages`].
    ///
    /// ```no_run
    /// # async fn demo(client: meraki_api::Client) -> Result<(), meraki_api::Error> {
    /// use futures_util::TryStreamExt;
    /// use meraki_api::prelude::*;
    ///
    /// #[derive(serde::Deserialize)]
    /// #[serde(rename_all = "camelCase")]
    /// struct Expiry {
    ///     id: String,
    ///     expiration_date: Option<String>,
    /// }
    ///
    /// let mut licenses = client
    ///     .get_organization_licenses()
    ///     .organization_id("123456")
    ///     .into_paginator()
    ///     .items_as::<Expiry>();
    /// while let Some(license) = licenses.try_next().await? {
    ///     println!("{} {:?}", license.id, license.expiration_date);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn pages_as<T: DeserializeOwned + Send + 'a>(
        self,
    ) -> impl Stream<Item = Result<Page<T>, Error>> + Send + Unpin + 'a {
        self.page_stream::<As<T>>()
    }

    /// A stream of items decoded as `T`, page after page (see [`Paginator::pages_as`]).
    pub fn items_as<T: DeserializeOwned + Send + 'a>(
        self,
    ) -> impl Stream<Item = Result<T, Error>> + Send + Unpin + 'a {
        flatten(self.page_stream::<As<T>>())
    }

    fn page_stream<D: PageDecoder<'a, O> + 'a>(
        self,
    ) -> impl Stream<Item = Result<Page<D::Item>, Error>> + Send + Unpin + 'a {
        let state = PageState::<O, D> {
            next: Some(self.template.clone()),
            template: self.template,
            direction: self.direction,
            max_pages: self.max_pages,
            items_left: self.max_items,
            raw_json: self.raw_json,
            pages: 0,
            seen_cursors: HashSet::new(),
            pending_error: None,
            decoder: PhantomData,
        };
        Box::pin(futures_util::stream::unfold(
            state,
            |mut state| async move {
                // A page whose `Link` cannot be followed is still delivered; the error comes next.
                if let Some(e) = state.pending_error.take() {
                    return Some((Err(e), state));
                }
                let request = state.next.take()?;
                if state.max_pages.is_some_and(|m| state.pages >= m) || state.items_left == Some(0)
                {
                    return None;
                }
                match state.fetch(request).await {
                    Ok(page) => Some((Ok(page), state)),
                    // An error ends the stream: `next` stays empty.
                    Err(e) => Some((Err(e), state)),
                }
            },
        ))
    }
}

/// The items of a stream of pages, one at a time.
fn flatten<'a, T: Send + 'a>(
    pages: impl Stream<Item = Result<Page<T>, Error>> + Send + Unpin + 'a,
) -> impl Stream<Item = Result<T, Error>> + Send + Unpin + 'a {
    Box::pin(futures_util::stream::unfold(
        (pages, VecDeque::new()),
        |(mut pages, mut buffered)| async move {
            loop {
                if let Some(item) = buffered.pop_front() {
                    return Some((Ok(item), (pages, buffered)));
                }
                match futures_util::StreamExt::next(&mut pages).await? {
                    Ok(page) => buffered = VecDeque::from(page.items),
                    Err(e) => return Some((Err(e), (pages, buffered))),
                }
            }
        },
    ))
}

/// One page as fetched, before the paginator applies its limits and follows its `Link`.
struct Fetched<T> {
    links: PageLinks,
    items: Vec<T>,
    counts: Option<ItemCounts>,
    raw: Option<RawJson>,
}

/// How a page's body becomes items.
trait PageDecoder<'a, O: Paginate<'a>> {
    type Item: Send + 'a;
    fn fetch(
        request: O,
        raw_json: bool,
    ) -> impl Future<Output = Result<Fetched<Self::Item>, Error>> + Send + 'a;
}

/// Items as the operation's generated type.
struct AsGenerated;

impl<'a, O: Paginate<'a>> PageDecoder<'a, O> for AsGenerated
where
    <O::Output as PageBody>::Item: Send + 'a,
{
    type Item = <O::Output as PageBody>::Item;

    async fn fetch(request: O, raw_json: bool) -> Result<Fetched<Self::Item>, Error> {
        // `call` reports failures exactly as a single call would.
        let (response, raw) = if raw_json {
            let (response, raw) = request.call_with_json().await?;
            (response, Some(raw))
        } else {
            (request.call().await?, None)
        };
        let links = page_links(response.headers());
        let (items, counts) = response.into_inner().into_parts();
        Ok(Fetched {
            links,
            items,
            counts,
            raw,
        })
    }
}

/// Items as the caller's own type.
struct As<T>(PhantomData<fn() -> T>);

impl<'a, O: Paginate<'a>, T: DeserializeOwned + Send + 'a> PageDecoder<'a, O> for As<T> {
    type Item = T;

    async fn fetch(request: O, raw_json: bool) -> Result<Fetched<T>, Error> {
        let response = call_undecoded(request).await?;
        let links = page_links(&response.headers);
        let body = &response.body;
        let (items, counts) = decode_page::<T>(body).map_err(|e| {
            Error::Decode(crate::error::decode_error::<ItemsOf<T>>(
                O::SPEC.operation_id,
                body,
                &e,
            ))
        })?;
        let raw = raw_json.then(|| serde_json::from_slice(body).unwrap_or(RawJson::Null));
        crate::decode::keep_spare(response.body);
        Ok(Fetched {
            links,
            items,
            counts,
            raw,
        })
    }
}

/// The `Link` targets of a response, by relation.
pub(crate) fn page_links(headers: &HeaderMap) -> PageLinks {
    let links = headers
        .get_all(LINK)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(parse_link_header)
        .collect::<Vec<_>>();
    PageLinks {
        first: find_rel(&links, "first").map(str::to_owned),
        prev: find_rel(&links, "prev").map(str::to_owned),
        next: find_rel(&links, "next").map(str::to_owned),
        last: find_rel(&links, "last").map(str::to_owned),
    }
}

struct PageState<O, D> {
    template: O,
    next: Option<O>,
    direction: Direction,
    max_pages: Option<usize>,
    items_left: Option<usize>,
    raw_json: bool,
    pages: usize,
    seen_cursors: HashSet<String>,
    pending_error: Option<Error>,
    decoder: PhantomData<fn() -> D>,
}

impl<'a, O: Paginate<'a>, D: PageDecoder<'a, O>> PageState<O, D> {
    /// The cursor to send next for a `Link` target, if it is safe to follow.
    fn follow(
        &mut self,
        target: &str,
        cursor_param: &str,
        client: &crate::Client,
    ) -> Result<String, String> {
        let url = Url::parse(target).map_err(|e| format!("`Link` target is not a URL ({e})"))?;
        if !client.inner().trusted().trusts(&url) {
            return Err(format!(
                "`Link` points to `{}`, which is not a Meraki host",
                crate::redirect::authority(&url)
            ));
        }
        let cursor = url
            .query_pairs()
            .find(|(k, _)| k == cursor_param)
            .map(|(_, v)| v.into_owned())
            .ok_or_else(|| format!("`Link` target has no `{cursor_param}`"))?;
        if !self.seen_cursors.insert(cursor.clone()) {
            return Err(format!(
                "`Link` repeats the cursor `{cursor}` already visited (the API is looping)"
            ));
        }
        Ok(cursor)
    }

    async fn fetch(&mut self, request: O) -> Result<Page<D::Item>, Error> {
        let client = request.client();
        let spec = O::SPEC;
        let Fetched {
            links,
            mut items,
            counts,
            raw,
        } = D::fetch(request, self.raw_json).await?;
        self.pages += 1;
        tracing::debug!(
            target: "meraki_api",
            operation = spec.operation_id,
            page = self.pages,
            items = items.len(),
            next = links.next.is_some(),
            "page"
        );
        if let Some(left) = &mut self.items_left {
            items.truncate(*left);
            *left -= items.len();
        }

        let (target, cursor_param) = match self.direction {
            Direction::Forward => (&links.next, "startingAfter"),
            Direction::Backward => (&links.prev, "endingBefore"),
        };
        // An empty page ends the walk even if the server offers another link.
        if let (Some(target), false) = (target, items.is_empty()) {
            match self.follow(target, cursor_param, client) {
                Ok(cursor) => {
                    let template = self.template.clone();
                    self.next = Some(match self.direction {
                        Direction::Forward => template.starting_after(cursor),
                        Direction::Backward => template.ending_before(cursor),
                    });
                }
                Err(reason) => {
                    self.pending_error = Some(Error::Pagination {
                        operation: spec.operation_id,
                        reason,
                    })
                }
            }
        }
        Ok(Page {
            items,
            counts,
            links,
            number: self.pages,
            raw,
        })
    }
}
