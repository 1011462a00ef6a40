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

pub(crate) mod decoders;
pub mod link;
mod walk;

use std::collections::HashSet;
use std::marker::PhantomData;

use futures_core::Stream;
use reqwest::Request;
use serde::de::DeserializeOwned;

pub use crate::body::ItemCounts;
use crate::error::{Error, InvalidRequest, Resume};
use crate::operations::operation::{Operation, OperationSpec, RawJson};
use crate::request::CallOverrides;
use crate::Client;
use decoders::{As, AsGenerated, EachItem, PageDecoder};
pub use link::PageLinks;
pub(crate) use walk::set_query;
use walk::{flatten, PageState};

/// An operation whose results come in pages (generated for every operation with
/// `startingAfter` and `endingBefore` parameters). Sealed, like [`Operation`].
pub trait Paginate: Operation<Output: PageBody> {
    /// A paginator that sends this request, then follows the `Link` header page by page. It
    /// holds a clone of the client: its streams borrow nothing and can move into a task.
    fn into_paginator(self) -> Paginator<Self::Output> {
        let overrides = self.overrides();
        let (client, request) = self.into_parts();
        Paginator::new(Self::SPEC, client, request, overrides)
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

/// Walks the pages of an operation. Holds one page at a time, whatever the total.
///
/// A page that fails is retried like any request (a cut body, a closed connection, a 502);
/// the stream never restarts, so no item comes twice and none is skipped. When a page fails
/// for good after at least one page was delivered, the error is [`Error::StreamStopped`],
/// naming the cursor to resume from ([`Paginator::resume_from`]); an error on the first page
/// is the error a single call would return.
pub struct Paginator<B> {
    spec: &'static OperationSpec,
    client: Client,
    overrides: CallOverrides,
    /// The first page's request, or why it cannot be built (reported by the first page).
    first: Result<Request, InvalidRequest>,
    direction: Direction,
    max_pages: Option<usize>,
    max_items: Option<usize>,
    raw_json: bool,
    body: PhantomData<fn() -> B>,
}

impl<B> Clone for Paginator<B> {
    fn clone(&self) -> Self {
        let first = match &self.first {
            // A paginated request is a `GET`: it has no body that could fail to clone.
            Ok(request) => request.try_clone().ok_or_else(|| InvalidRequest {
                operation: self.spec.operation_id,
                parameter: None,
                message: "the request has a streaming body and cannot be sent twice".into(),
            }),
            Err(e) => Err(e.clone()),
        };
        Self {
            spec: self.spec,
            client: self.client.clone(),
            overrides: self.overrides.clone(),
            first,
            direction: self.direction,
            max_pages: self.max_pages,
            max_items: self.max_items,
            raw_json: self.raw_json,
            body: PhantomData,
        }
    }
}

impl<B> std::fmt::Debug for Paginator<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Paginator")
            .field("operation", &self.spec.operation_id)
            .field("direction", &self.direction)
            .field("max_pages", &self.max_pages)
            .field("max_items", &self.max_items)
            .finish_non_exhaustive()
    }
}

impl<B: PageBody> Paginator<B> {
    pub(crate) fn new(
        spec: &'static OperationSpec,
        client: Client,
        first: Result<Request, Error>,
        overrides: CallOverrides,
    ) -> Self {
        let first = first.map_err(|e| match e {
            Error::InvalidRequest(e) => e,
            other => InvalidRequest {
                operation: spec.operation_id,
                parameter: None,
                message: other.to_string(),
            },
        });
        Self {
            spec,
            client,
            overrides,
            first,
            direction: Direction::Forward,
            max_pages: None,
            max_items: None,
            raw_json: false,
            body: PhantomData,
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

    /// Starts where a stopped stream left off ([`Error::StreamStopped`]): the page that
    /// failed, then the rest.
    pub fn resume_from(mut self, resume: &Resume) -> Self {
        if let Ok(request) = &mut self.first {
            set_query(request.url_mut(), resume.parameter, &resume.cursor);
        }
        self
    }

    /// A stream of whole pages.
    pub fn pages(self) -> impl Stream<Item = Result<Page<B::Item>, Error>> + Send + Unpin + 'static
    where
        B: DeserializeOwned + Send + 'static,
        B::Item: Send + 'static,
    {
        self.page_stream::<AsGenerated<B>>()
    }

    /// A stream of items, page after page.
    pub fn items(self) -> impl Stream<Item = Result<B::Item, Error>> + Send + Unpin + 'static
    where
        B: DeserializeOwned + Send + 'static,
        B::Item: Send + 'static,
    {
        flatten(self.page_stream::<AsGenerated<B>>())
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
    pub fn pages_as<T: DeserializeOwned + Send + 'static>(
        self,
    ) -> impl Stream<Item = Result<Page<T>, Error>> + Send + Unpin + 'static {
        self.page_stream::<As<T>>()
    }

    /// A stream of items decoded as `T`, page after page (see [`Paginator::pages_as`]).
    pub fn items_as<T: DeserializeOwned + Send + 'static>(
        self,
    ) -> impl Stream<Item = Result<T, Error>> + Send + Unpin + 'static {
        flatten(self.page_stream::<As<T>>())
    }

    /// A stream of items in which one item that does not decode (after the repairs every
    /// decode makes, see the README's "What decodes") is an [`Error::Decode`] of its own, with
    /// its position, JSON path and JSON as sent ([`crate::DecodeError::item`]), and the
    /// stream goes on with the next item. Any other error ends the stream as usual. Each item
    /// is decoded on its own, which costs more CPU than [`Paginator::items`].
    ///
    /// ```no_run
    /// # async fn demo(client: meraki_api::Client) -> Result<(), meraki_api::Error> {
    /// use futures_util::StreamExt;
    /// use meraki_api::prelude::*;
    ///
    /// let mut licenses = client
    ///     .get_organization_licenses()
    ///     .organization_id("123456")
    ///     .into_paginator()
    ///     .lenient_items();
    /// while let Some(license) = licenses.next().await {
    ///     match license {
    ///         Ok(license) => println!("{:?}", license.id),
    ///         Err(meraki_api::Error::Decode(bad)) if bad.item.is_some() => {
    ///             eprintln!("skipped: {}", meraki_api::Error::Decode(bad))
    ///         }
    ///         Err(e) => return Err(e),
    ///     }
    /// }
    /// # Ok(()) }
    /// ```
    pub fn lenient_items(
        self,
    ) -> impl Stream<Item = Result<B::Item, Error>> + Send + Unpin + 'static
    where
        B::Item: DeserializeOwned + Send + 'static,
    {
        self.lenient_items_as::<B::Item>()
    }

    /// [`Paginator::lenient_items`], decoding items as `T` (see [`Paginator::items_as`]).
    pub fn lenient_items_as<T: DeserializeOwned + Send + 'static>(
        self,
    ) -> impl Stream<Item = Result<T, Error>> + Send + Unpin + 'static {
        futures_util::StreamExt::map(flatten(self.page_stream::<EachItem<T>>()), |item| {
            item.and_then(|decoded| decoded)
        })
    }

    fn page_stream<D: PageDecoder + 'static>(
        self,
    ) -> impl Stream<Item = Result<Page<D::Item>, Error>> + Send + Unpin + 'static {
        PageState::<D> {
            spec: self.spec,
            client: self.client,
            overrides: self.overrides,
            next: Some(self.first.map_err(Error::InvalidRequest)),
            template: None,
            resume: None,
            direction: self.direction,
            max_pages: self.max_pages,
            items_left: self.max_items,
            raw_json: self.raw_json,
            pages: 0,
            seen_cursors: HashSet::new(),
            pending_error: None,
            decoder: PhantomData,
        }
        .into_stream()
    }
}
