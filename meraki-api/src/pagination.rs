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
use std::marker::PhantomData;

use futures_core::Stream;
use reqwest::{Request, Url};
use serde::de::DeserializeOwned;

pub use crate::decode::ItemCounts;
use crate::decode::{decode_page, ItemsOf};
use crate::error::{DecodeError, Error, InvalidRequest, Resume, StreamStopped};
use crate::link::page_links;
pub use crate::link::PageLinks;
use crate::operation::{exchange, Operation, OperationSpec, RawJson};
use crate::transport::Exchange;
use crate::Client;

/// An operation whose results come in pages (generated for every operation with
/// `startingAfter` and `endingBefore` parameters). Sealed, like [`Operation`].
pub trait Paginate: Operation<Output: PageBody> {
    /// A paginator that sends this request, then follows the `Link` header page by page. It
    /// holds a clone of the client: its streams borrow nothing and can move into a task.
    fn into_paginator(self) -> Paginator<Self::Output> {
        let (client, request) = self.into_parts();
        Paginator::new(Self::SPEC, client, request)
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
        let state = PageState::<D> {
            spec: self.spec,
            client: self.client,
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
fn flatten<T: Send + 'static>(
    pages: impl Stream<Item = Result<Page<T>, Error>> + Send + Unpin + 'static,
) -> impl Stream<Item = Result<T, Error>> + Send + Unpin + 'static {
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

/// How a page's body becomes items.
trait PageDecoder: Send {
    type Item: Send + 'static;
    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
    ) -> Result<(Vec<Self::Item>, Option<ItemCounts>), Error>;
}

/// Items as the operation's generated type.
struct AsGenerated<B>(PhantomData<fn() -> B>);

impl<B> PageDecoder for AsGenerated<B>
where
    B: PageBody + DeserializeOwned + Send + 'static,
    B::Item: Send + 'static,
{
    type Item = B::Item;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
    ) -> Result<(Vec<B::Item>, Option<ItemCounts>), Error> {
        Ok(crate::operation::decode::<B>(spec, exchange)?.into_parts())
    }
}

/// Items as the caller's own type.
struct As<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> PageDecoder for As<T> {
    type Item = T;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
    ) -> Result<(Vec<T>, Option<ItemCounts>), Error> {
        let body = &exchange.body;
        decode_page::<T>(body).or_else(|e| {
            let operation = spec.operation_id;
            match crate::lenient::decode_repaired::<ItemsOf<T>>(body) {
                Some(Ok(ItemsOf::Items(items, counts))) => Ok((items, counts)),
                Some(Err(left)) => Err(Error::Decode(DecodeError::unrepaired(operation, left))),
                _ => Err(Error::Decode(crate::error::decode_error::<ItemsOf<T>>(
                    operation, body, &e,
                ))),
            }
        })
    }
}

/// Items decoded one by one: a bad item is an error of its own.
struct EachItem<T>(PhantomData<fn() -> T>);

impl<T: DeserializeOwned + Send + 'static> PageDecoder for EachItem<T> {
    type Item = Result<T, Error>;

    fn decode(
        spec: &'static OperationSpec,
        exchange: &Exchange,
    ) -> Result<(Vec<Self::Item>, Option<ItemCounts>), Error> {
        let (values, counts) = As::<serde_json::Value>::decode(spec, exchange)?;
        let items = values
            .into_iter()
            .enumerate()
            .map(|(index, value)| {
                if let Ok(item) = T::deserialize(&value) {
                    return Ok(item);
                }
                let raw = value.to_string();
                crate::lenient::decode_value_repaired::<T>(value).map_err(|left| {
                    let mut error = DecodeError::unrepaired(spec.operation_id, left);
                    error.path = format!("[{index}]{}", path_suffix(&error.path));
                    error.item = Some((index, raw));
                    Error::Decode(error)
                })
            })
            .collect();
        Ok((items, counts))
    }
}

/// `.a.b` for a path `a.b` (`[1].a` stays), to follow an item's index.
fn path_suffix(path: &str) -> String {
    match path {
        "." | "" => String::new(),
        p if p.starts_with('[') => p.to_owned(),
        p => format!(".{p}"),
    }
}

/// Replaces every value of query parameter `name` with `value`.
pub(crate) fn set_query(url: &mut Url, name: &str, value: &str) {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != name)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut pairs = url.query_pairs_mut();
    pairs.clear();
    for (k, v) in &kept {
        pairs.append_pair(k, v);
    }
    pairs.append_pair(name, value);
}

struct PageState<D> {
    spec: &'static OperationSpec,
    client: Client,
    /// The request of the next page (the first one, until it is sent).
    next: Option<Result<Request, Error>>,
    /// The first request, kept to build the following pages from.
    template: Option<Request>,
    /// The cursor of the page being fetched, for a stopped stream's error.
    resume: Option<Resume>,
    direction: Direction,
    max_pages: Option<usize>,
    items_left: Option<usize>,
    raw_json: bool,
    pages: usize,
    seen_cursors: HashSet<String>,
    pending_error: Option<Error>,
    decoder: PhantomData<fn() -> D>,
}

impl<D: PageDecoder> PageState<D> {
    /// The cursor to send next for a `Link` target, if it is safe to follow.
    fn follow(&mut self, target: &str, cursor_param: &str) -> Result<String, String> {
        use progenitor_client::ClientInfo as _;
        let url = Url::parse(target).map_err(|e| format!("`Link` target is not a URL ({e})"))?;
        if !self.client.inner().trusted().trusts(&url) {
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

    /// Where the stream stopped, around a page's error.
    fn stopped(&self, error: Error) -> Error {
        if self.pages == 0 {
            return error;
        }
        Error::StreamStopped(Box::new(StreamStopped {
            operation: self.spec.operation_id,
            pages_delivered: self.pages,
            resume: self.resume.clone(),
            error,
        }))
    }

    async fn fetch(&mut self, request: Result<Request, Error>) -> Result<Page<D::Item>, Error> {
        let spec = self.spec;
        let request = request?;
        if self.template.is_none() {
            self.template = request.try_clone();
        }
        let exchange = match exchange(spec, &self.client, Ok(request)).await {
            Ok(exchange) => exchange,
            Err(e) => return Err(self.stopped(e)),
        };
        let (mut items, counts) = match D::decode(spec, &exchange) {
            Ok(decoded) => decoded,
            Err(e) => return Err(self.stopped(e)),
        };
        let links = page_links(&exchange.headers);
        let raw = self
            .raw_json
            .then(|| serde_json::from_slice(&exchange.body).unwrap_or(RawJson::Null));
        crate::decode::keep_spare(exchange.body);
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
            let next = self.follow(target, cursor_param).and_then(|cursor| {
                let mut next = self
                    .template
                    .as_ref()
                    .and_then(Request::try_clone)
                    .ok_or_else(|| "the request cannot be sent again".to_owned())?;
                set_query(next.url_mut(), cursor_param, &cursor);
                self.resume = Some(Resume {
                    parameter: if cursor_param == "startingAfter" {
                        "startingAfter"
                    } else {
                        "endingBefore"
                    },
                    cursor,
                    url: target.clone(),
                });
                Ok(next)
            });
            match next {
                Ok(next) => self.next = Some(Ok(next)),
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
