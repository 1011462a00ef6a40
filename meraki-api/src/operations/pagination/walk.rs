//! Walking the pages: one request per page on the client's one path, the next page's cursor
//! taken from the `Link` header (trusted hosts only, never a cursor twice), and where a stopped
//! stream can resume.

use std::collections::{HashSet, VecDeque};
use std::marker::PhantomData;

use futures_core::Stream;
use reqwest::{Request, Url};

use super::decoders::PageDecoder;
use super::link::{page_links, resolve_target};
use super::{Direction, Page};
use crate::error::{Error, Resume, StreamStopped};
use crate::operations::operation::{exchange, OperationSpec, RawJson};
use crate::request::CallOverrides;
use crate::Client;
use progenitor_client::ClientInfo as _;

/// The items of a stream of pages, one at a time.
pub(super) fn flatten<T: Send + 'static>(
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

pub(super) struct PageState<D> {
    pub(super) spec: &'static OperationSpec,
    pub(super) client: Client,
    pub(super) overrides: CallOverrides,
    /// The request of the next page (the first one, until it is sent).
    pub(super) next: Option<Result<Request, Error>>,
    /// The first request, kept to build the following pages from.
    pub(super) template: Option<Request>,
    /// The cursor of the page being fetched, for a stopped stream's error.
    pub(super) resume: Option<Resume>,
    pub(super) direction: Direction,
    pub(super) max_pages: Option<usize>,
    pub(super) items_left: Option<usize>,
    pub(super) raw_json: bool,
    pub(super) pages: usize,
    pub(super) seen_cursors: HashSet<String>,
    pub(super) pending_error: Option<Error>,
    pub(super) decoder: PhantomData<fn() -> D>,
}

impl<D: PageDecoder + 'static> PageState<D> {
    /// The stream of pages this state walks.
    pub(super) fn into_stream(
        self,
    ) -> impl Stream<Item = Result<Page<D::Item>, Error>> + Send + Unpin + 'static {
        Box::pin(futures_util::stream::unfold(self, |mut state| async move {
            // A page whose `Link` cannot be followed is still delivered; the error comes next.
            if let Some(e) = state.pending_error.take() {
                return Some((Err(e), state));
            }
            let request = state.next.take()?;
            if state.max_pages.is_some_and(|m| state.pages >= m) || state.items_left == Some(0) {
                return None;
            }
            // An error ends the stream: `next` stays empty.
            let page = state.fetch(request).await;
            Some((page, state))
        }))
    }

    /// The cursor to send next for a `Link` target (relative targets resolved against the
    /// page's URL), if it is safe to follow.
    fn follow(
        &mut self,
        sent_to: &Url,
        target: &str,
        cursor_param: &str,
    ) -> Result<String, String> {
        let url = resolve_target(sent_to, target)?;
        if !self.client.inner().trusted().trusts(&url) {
            return Err(format!(
                "`Link` points to `{}`, which is not a Meraki host",
                crate::net::authority(&url)
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
        let sent_to = request.url().clone();
        let exchange = match exchange(spec, &self.client, Ok(request), &self.overrides).await {
            Ok(exchange) => exchange,
            Err(e) => return Err(self.stopped(e)),
        };
        let (mut items, counts) = match D::decode(spec, &exchange, self.client.inner().drift_log())
        {
            Ok(decoded) => decoded,
            Err(e) => return Err(self.stopped(e)),
        };
        let (links, unreadable) = match page_links(&exchange.headers) {
            Ok(links) => (links, None),
            Err(reason) => (Default::default(), Some(reason)),
        };
        let raw = self
            .raw_json
            .then(|| serde_json::from_slice(&exchange.body).unwrap_or(RawJson::Null));
        crate::body::keep_spare(exchange.body);
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
        if let Some(reason) = unreadable {
            // The page is delivered; where the next one is cannot be known.
            self.pending_error = Some(Error::Pagination {
                operation: spec.operation_id,
                reason,
            });
        }

        let (target, cursor_param) = match self.direction {
            Direction::Forward => (&links.next, "startingAfter"),
            Direction::Backward => (&links.prev, "endingBefore"),
        };
        // An empty page ends the walk even if the server offers another link.
        if let (Some(target), false) = (target, items.is_empty()) {
            let next = self
                .follow(&sent_to, target, cursor_param)
                .and_then(|cursor| {
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
