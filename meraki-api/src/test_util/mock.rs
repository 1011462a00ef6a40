//! Typed answers for unit tests ([`MockApi`]): say what an operation answers with the
//! generated types themselves, no JSON.

use std::marker::PhantomData;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde::Serialize;
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

use crate::operations::operation::Operation;
use crate::{Client, ClientBuilder};

/// A local API (127.0.0.1) that answers what your test says, typed: "when
/// `getOrganizationLicenses` is called for organization 123, answer these licenses", or a
/// sequence ("a 429, then these"). Calls go through the real client (pacing, retries, decoding),
/// so the test sees what production would.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), meraki_api::Error> {
/// use std::time::Duration;
/// use meraki_api::prelude::*;
/// use meraki_api::test_util::MockApi;
/// use meraki_api::types::License;
///
/// let api = MockApi::start().await;
/// let client = api.client();
/// api.when(client.get_organization_licenses().organization_id("123"))
///     .throttle(Duration::from_millis(10)) // first a 429 ...
///     .answer(vec![License { id: Some("1".into()), ..Default::default() }]) // ... then this
///     .mount()
///     .await;
///
/// let licenses = client.get_organization_licenses().organization_id("123").call().await?;
/// assert_eq!(licenses[0].id.as_deref(), Some("1"));
/// assert_eq!(client.stats().throttled, 1);
/// # Ok(()) }
/// ```
pub struct MockApi {
    server: MockServer,
}

impl std::fmt::Debug for MockApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockApi")
            .field("base_url", &self.base_url())
            .finish()
    }
}

impl MockApi {
    /// Starts the local API (it answers `404` to anything no rule names).
    pub async fn start() -> Self {
        Self {
            server: MockServer::start().await,
        }
    }

    /// The base URL to give a client: `http://127.0.0.1:PORT/api/v1`.
    pub fn base_url(&self) -> String {
        super::base_url(&self.server)
    }

    /// A client builder pointed at this API, with [`super::FIXTURE_API_KEY`].
    pub fn client_builder(&self) -> ClientBuilder {
        super::client_builder(&self.server)
    }

    /// A client pointed at this API.
    pub fn client(&self) -> Client {
        super::client(&self.server)
    }

    /// A rule for calls like `operation` (built with any client): the same method and path,
    /// and at least its query parameters. Its answers follow, in order; the last one repeats.
    pub fn when<O: Operation>(&self, operation: O) -> When<'_, O> {
        let (_, request) = operation.into_parts();
        let (method, path, query) = match request {
            Ok(request) => (
                request.method().as_str().to_owned(),
                request.url().path().to_owned(),
                request
                    .url()
                    .query_pairs()
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            ),
            // A builder that cannot build its request matches nothing.
            Err(_) => (String::new(), String::new(), Vec::new()),
        };
        When {
            api: self,
            method,
            path,
            query,
            answers: Vec::new(),
            operation: PhantomData,
        }
    }

    /// The requests received so far.
    pub async fn received(&self) -> Vec<Request> {
        self.server.received_requests().await.unwrap_or_default()
    }
}

/// The answers of one [`MockApi`] rule.
#[must_use = "a rule answers nothing until `.mount().await`"]
pub struct When<'a, O> {
    api: &'a MockApi,
    method: String,
    path: String,
    query: Vec<(String, String)>,
    answers: Vec<ResponseTemplate>,
    operation: PhantomData<fn() -> O>,
}

impl<O> std::fmt::Debug for When<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("When")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("answers", &self.answers.len())
            .finish_non_exhaustive()
    }
}

impl<O: Operation> When<'_, O>
where
    O::Output: Serialize,
{
    /// Answers `200` with this value, as the operation's type.
    pub fn answer(mut self, value: O::Output) -> Self {
        let body = serde_json::to_vec(&value).unwrap_or_default();
        self.answers
            .push(ResponseTemplate::new(200).set_body_raw(body, "application/json"));
        self
    }

    /// Answers `429` with this `Retry-After` (the client waits it out and sends again).
    pub fn throttle(mut self, retry_after: Duration) -> Self {
        self.answers.push(
            ResponseTemplate::new(429)
                .insert_header("retry-after", format!("{:.3}", retry_after.as_secs_f64()))
                .set_body_json(
                    serde_json::json!({"errors": ["API rate limit exceeded for organization"]}),
                ),
        );
        self
    }

    /// Answers an error status with Meraki's `{"errors": [message]}`.
    pub fn fail(mut self, status: u16, message: &str) -> Self {
        self.answers.push(
            ResponseTemplate::new(status).set_body_json(serde_json::json!({"errors": [message]})),
        );
        self
    }

    /// Puts the rule in place.
    pub async fn mount(self) {
        let responder = Sequence {
            answers: self.answers,
            next: AtomicUsize::new(0),
        };
        Mock::given(Like {
            method: self.method,
            path: self.path,
            query: self.query,
        })
        .respond_with(responder)
        .mount(&self.api.server)
        .await;
    }
}

/// Requests like the rule's.
struct Like {
    method: String,
    path: String,
    query: Vec<(String, String)>,
}

impl wiremock::Match for Like {
    fn matches(&self, request: &Request) -> bool {
        if !request.method.as_str().eq_ignore_ascii_case(&self.method)
            || request.url.path() != self.path
        {
            return false;
        }
        let sent: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
        self.query.iter().all(|pair| sent.contains(pair))
    }
}

/// Answers in order; the last repeats.
struct Sequence {
    answers: Vec<ResponseTemplate>,
    next: AtomicUsize,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        match self.answers.get(n).or_else(|| self.answers.last()) {
            Some(answer) => answer.clone(),
            None => ResponseTemplate::new(200),
        }
    }
}
