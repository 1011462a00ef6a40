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

use futures_core::Stream;
use progenitor_client::ClientInfo as _;
use reqwest::header::LINK;
use reqwest::Url;
use serde::Serialize;

use crate::error::Error;
use crate::link::{find_rel, parse_link_header};
use crate::operation::{Operation, RawJson};

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

/// `meta.counts.items` of an `items`/`meta` page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
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
        let state = PageState {
            next: Some(self.template.clone()),
            template: self.template,
            direction: self.direction,
            max_pages: self.max_pages,
            items_left: self.max_items,
            raw_json: self.raw_json,
            pages: 0,
            seen_cursors: HashSet::new(),
            pending_error: None,
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

    /// A stream of items, page after page.
    pub fn items(
        self,
    ) -> impl Stream<Item = Result<<O::Output as PageBody>::Item, Error>> + Send + Unpin + 'a
    where
        <O::Output as PageBody>::Item: Send,
    {
        let pages = self.pages();
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
}

struct PageState<O> {
    template: O,
    next: Option<O>,
    direction: Direction,
    max_pages: Option<usize>,
    items_left: Option<usize>,
    raw_json: bool,
    pages: usize,
    seen_cursors: HashSet<String>,
    pending_error: Option<Error>,
}

impl<'a, O: Paginate<'a>> PageState<O> {
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

    async fn fetch(&mut self, request: O) -> Result<Page<<O::Output as PageBody>::Item>, Error> {
        let client = request.client();
        let spec = O::SPEC;
        // `call` reports failures exactly as a single call would.
        let (response, raw) = if self.raw_json {
            let (response, raw) = request.call_with_json().await?;
            (response, Some(raw))
        } else {
            (request.call().await?, None)
        };
        let links = response
            .headers()
            .get_all(LINK)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(parse_link_header)
            .collect::<Vec<_>>();
        let links = PageLinks {
            first: find_rel(&links, "first").map(str::to_owned),
            prev: find_rel(&links, "prev").map(str::to_owned),
            next: find_rel(&links, "next").map(str::to_owned),
            last: find_rel(&links, "last").map(str::to_owned),
        };
        let (mut items, counts) = response.into_inner().into_parts();
        self.pages += 1;
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
