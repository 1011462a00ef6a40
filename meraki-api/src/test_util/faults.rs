//! A proxy that injects network faults ([`FaultyProxy`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// One way an answer is lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// The connection closes before the request reaches the server: nothing happened there.
    Refused,
    /// The request reaches the server; the connection closes before its answer comes back.
    LostAnswer,
    /// The request reaches the server; the answer's headers arrive, then half its body, then
    /// the connection closes.
    CutBody,
    /// The request reaches the server; a gateway answers `502 Bad Gateway` instead.
    BadGateway,
    /// The request reaches the server; its answer is held back this long first.
    Stall(Duration),
}

/// Which request meets which fault: decided by the request itself (method, path, query, body,
/// and how many times the same request came before), never by the order in which requests
/// arrive, so a seeded run repeats however the tasks that send them interleave.
#[derive(Debug, Clone, Default)]
pub struct FaultPlan {
    rules: Vec<FaultRule>,
    random: Option<(u64, Vec<(Fault, f64)>)>,
}

/// Requests a [`FaultPlan::on`] rule applies to.
#[derive(Debug, Clone)]
struct FaultRule {
    method: String,
    target_contains: String,
    attempts: (u32, u32),
    fault: Fault,
}

impl FaultPlan {
    /// Each request meets each fault with its probability, drawn from `seed` and the request.
    pub fn random(seed: u64, faults: &[(Fault, f64)]) -> Self {
        Self {
            rules: Vec::new(),
            random: Some((seed, faults.to_vec())),
        }
    }

    /// No faults at all.
    pub fn none() -> Self {
        Self::default()
    }

    /// Requests with this method (`"*"`: any) whose path and query contain `target_contains`,
    /// the `attempts`-th times the same request arrives (1 for the first), meet `fault`. Rules
    /// are tried in order, before any random draw.
    ///
    /// ```
    /// use meraki_api::test_util::{Fault, FaultPlan};
    /// // Every batch creation's first answer is lost; status reads always are.
    /// let plan = FaultPlan::none()
    ///     .on("POST", "/actionBatches", 1..=1, Fault::LostAnswer)
    ///     .on("GET", "/actionBatches/", 1.., Fault::LostAnswer);
    /// # let _ = plan;
    /// ```
    pub fn on(
        mut self,
        method: &str,
        target_contains: &str,
        attempts: impl std::ops::RangeBounds<u32>,
        fault: Fault,
    ) -> Self {
        use std::ops::Bound;
        let first = match attempts.start_bound() {
            Bound::Included(n) => *n,
            Bound::Excluded(n) => n.saturating_add(1),
            Bound::Unbounded => 1,
        };
        let last = match attempts.end_bound() {
            Bound::Included(n) => *n,
            Bound::Excluded(n) => n.saturating_sub(1),
            Bound::Unbounded => u32::MAX,
        };
        self.rules.push(FaultRule {
            method: method.to_ascii_uppercase(),
            target_contains: target_contains.to_owned(),
            attempts: (first, last),
            fault,
        });
        self
    }

    /// The fault of the `attempt`-th arrival of this request, if any.
    fn decide(&self, request: &Arrival, attempt: u32) -> Option<Fault> {
        for rule in &self.rules {
            if (rule.method == "*" || rule.method == request.method)
                && request.target.contains(&rule.target_contains)
                && (rule.attempts.0..=rule.attempts.1).contains(&attempt)
            {
                return Some(rule.fault);
            }
        }
        let (seed, faults) = self.random.as_ref()?;
        let roll =
            fastrand::Rng::with_seed(request.key ^ seed ^ u64::from(attempt).rotate_left(32)).f64();
        let mut sum = 0.0;
        for (fault, p) in faults {
            sum += p;
            if roll < sum {
                return Some(*fault);
            }
        }
        None
    }
}

/// A request as the plan sees it.
struct Arrival {
    method: String,
    /// Path and query.
    target: String,
    /// Method, path, query and body, hashed.
    key: u64,
}

impl Arrival {
    fn of(request: &[u8]) -> Self {
        use std::hash::{Hash, Hasher};
        let line_end = find(request, b"\r\n").unwrap_or(request.len());
        let line = String::from_utf8_lossy(&request[..line_end]).into_owned();
        let mut parts = line.split(' ');
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let body_start = find(request, b"\r\n\r\n").map_or(request.len(), |i| i + 4);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        method.hash(&mut hasher);
        target.hash(&mut hasher);
        request[body_start..].hash(&mut hasher);
        Self {
            method,
            key: hasher.finish(),
            target,
        }
    }
}

/// What the proxy has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct FaultCounts {
    /// Requests that reached the proxy.
    pub requests: u64,
    /// Requests forwarded to the server.
    pub forwarded: u64,
    /// Answers delivered whole.
    pub delivered: u64,
    /// Faults injected, of any kind.
    pub faults: u64,
}

/// A proxy on 127.0.0.1 that breaks answers the way real networks do, in front of any local
/// server (a [`super::ReplayServer`], a [`super::SimulatedDashboard`], your own).
///
/// Each request is forwarded to the server (so a write takes effect there) and its answer is
/// then delivered, or lost in one of the ways a proxy, load balancer or flaky link loses it:
/// the connection closed before the answer, the body cut after the headers, a `502` from a
/// gateway, or the answer held back longer than the client waits. Which request meets which
/// fault is decided by the request ([`FaultPlan`]): rules naming requests, or draws seeded by
/// the request, so a run repeats.
///
/// ```no_run
/// # async fn demo() {
/// use meraki_api::test_util::{Fault, FaultPlan, FaultyProxy, SimulatedDashboard};
///
/// let dashboard = SimulatedDashboard::builder().organization("1", 2, 2).start().await;
/// let plan = FaultPlan::random(7, &[(Fault::CutBody, 0.05), (Fault::BadGateway, 0.05)]);
/// let proxy = FaultyProxy::start(&dashboard.base_url(), plan).await.unwrap();
/// let client = dashboard.client_builder().base_url(proxy.base_url()).build().unwrap();
/// # let _ = client; }
/// ```
///
/// HTTP/1.1 only, one request per connection (answers say `Connection: close`), request bodies
/// by `Content-Length`: what this crate's client sends.
pub struct FaultyProxy {
    base_url: String,
    shared: Arc<ProxyShared>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for FaultyProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultyProxy")
            .field("base_url", &self.base_url)
            .field("upstream", &self.shared.upstream)
            .field("counts", &self.counts())
            .finish_non_exhaustive()
    }
}

struct ProxyShared {
    /// `host:port` of the server.
    upstream: String,
    plan: FaultPlan,
    /// Arrivals so far of each request (by its key).
    seen: Mutex<HashMap<u64, u32>>,
    requests: AtomicU64,
    forwarded: AtomicU64,
    delivered: AtomicU64,
    faults: AtomicU64,
}

/// Why the proxy could not start.
#[derive(Debug)]
pub struct ProxyError(String);

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProxyError {}

impl FaultyProxy {
    /// A proxy for `base_url` (a loopback `http` base URL such as a test server's), on a free
    /// port of 127.0.0.1, breaking answers as `plan` says.
    pub async fn start(base_url: &str, plan: FaultPlan) -> Result<Self, ProxyError> {
        let url = reqwest::Url::parse(base_url)
            .map_err(|e| ProxyError(format!("`{base_url}` is not a URL: {e}")))?;
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return Err(ProxyError(format!("`{base_url}` has no host and port")));
        };
        let loopback = host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
        if url.scheme() != "http" || !loopback {
            return Err(ProxyError(format!(
                "`{base_url}`: the proxy forwards to loopback http servers only"
            )));
        }
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| ProxyError(format!("cannot listen on 127.0.0.1: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| ProxyError(e.to_string()))?;
        let shared = Arc::new(ProxyShared {
            upstream: format!("{host}:{port}"),
            plan,
            seen: Mutex::new(HashMap::new()),
            requests: AtomicU64::new(0),
            forwarded: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            faults: AtomicU64::new(0),
        });
        let accepting = shared.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accepting.clone();
                tokio::spawn(async move {
                    let _ = serve(stream, &shared).await;
                });
            }
        });
        Ok(Self {
            base_url: format!("http://{local}{}", url.path().trim_end_matches('/')),
            shared,
            task,
        })
    }

    /// The base URL to give the client: the server's, on the proxy's port.
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// What the proxy has done so far.
    pub fn counts(&self) -> FaultCounts {
        let s = &self.shared;
        FaultCounts {
            requests: s.requests.load(Ordering::Relaxed),
            forwarded: s.forwarded.load(Ordering::Relaxed),
            delivered: s.delivered.load(Ordering::Relaxed),
            faults: s.faults.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultyProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Most bytes of a request head the proxy reads.
const MAX_HEAD: usize = 64 * 1024;

async fn serve(mut client: TcpStream, shared: &ProxyShared) -> std::io::Result<()> {
    client.set_nodelay(true)?;
    let Some(request) = read_request(&mut client).await? else {
        return Ok(());
    };
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let arrival = Arrival::of(&request);
    let attempt = {
        let mut seen = shared.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let count = seen.entry(arrival.key).or_default();
        *count += 1;
        *count
    };
    let fault = shared.plan.decide(&arrival, attempt);
    if fault.is_some() {
        shared.faults.fetch_add(1, Ordering::Relaxed);
    }
    if fault == Some(Fault::Refused) {
        return Ok(());
    }
    let mut upstream = TcpStream::connect(&shared.upstream).await?;
    upstream.set_nodelay(true)?;
    upstream.write_all(&request).await?;
    let mut answer = Vec::new();
    upstream.read_to_end(&mut answer).await?;
    shared.forwarded.fetch_add(1, Ordering::Relaxed);
    match fault {
        None => {
            client.write_all(&answer).await?;
            shared.delivered.fetch_add(1, Ordering::Relaxed);
        }
        Some(Fault::LostAnswer | Fault::Refused) => {}
        Some(Fault::CutBody) => {
            let body_start = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
            let cut = body_start + (answer.len() - body_start) / 2;
            client.write_all(&answer[..cut]).await?;
        }
        Some(Fault::BadGateway) => {
            let body = "<html><body>502 Bad Gateway</body></html>";
            let head = format!(
                "HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                body.len()
            );
            client.write_all(head.as_bytes()).await?;
            client.write_all(body.as_bytes()).await?;
        }
        Some(Fault::Stall(wait)) => {
            tokio::time::sleep(wait).await;
            client.write_all(&answer).await?;
        }
    }
    client.flush().await?;
    client.shutdown().await
}

/// One request as sent, its `Connection` header replaced by `close`; `None` if the client
/// closed first.
async fn read_request(client: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = find(&buffer, b"\r\n\r\n") {
            break i;
        }
        if buffer.len() > MAX_HEAD {
            return Err(std::io::Error::other("request head too large"));
        }
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut length = 0usize;
    let mut lines: Vec<&str> = Vec::new();
    for line in head.split("\r\n") {
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            lines.push(line);
        }
    }
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = client.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        body.extend_from_slice(&chunk[..n]);
    }
    let mut request = lines.join("\r\n").into_bytes();
    request.extend_from_slice(b"\r\nconnection: close\r\n\r\n");
    request.extend_from_slice(&body[..length.min(body.len())]);
    Ok(Some(request))
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
