//! A proxy that injects network faults ([`FaultyProxy`]).

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

/// Which request meets which fault.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    kind: PlanKind,
}

#[derive(Debug, Clone)]
enum PlanKind {
    Random {
        seed: u64,
        faults: Vec<(Fault, f64)>,
    },
    Script(Vec<Option<Fault>>),
}

impl FaultPlan {
    /// Each request meets each fault with its probability (drawn in order, from `seed`).
    pub fn random(seed: u64, faults: &[(Fault, f64)]) -> Self {
        Self {
            kind: PlanKind::Random {
                seed,
                faults: faults.to_vec(),
            },
        }
    }

    /// The n-th request meets the n-th fault (`None`: delivered whole); requests after the
    /// script are delivered whole.
    pub fn script(faults: impl IntoIterator<Item = Option<Fault>>) -> Self {
        Self {
            kind: PlanKind::Script(faults.into_iter().collect()),
        }
    }

    /// No faults at all.
    pub fn none() -> Self {
        Self::script([])
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
/// fault is drawn from a seeded generator, so a run repeats; [`FaultPlan::script`] names them
/// one by one instead.
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

struct ProxyShared {
    /// `host:port` of the server.
    upstream: String,
    plan: Mutex<Draw>,
    requests: AtomicU64,
    forwarded: AtomicU64,
    delivered: AtomicU64,
    faults: AtomicU64,
}

struct Draw {
    kind: PlanKind,
    rng: fastrand::Rng,
    next: usize,
}

impl Draw {
    fn next(&mut self) -> Option<Fault> {
        let n = self.next;
        self.next += 1;
        match &self.kind {
            PlanKind::Script(script) => script.get(n).copied().flatten(),
            PlanKind::Random { faults, .. } => {
                let roll = self.rng.f64();
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
    }
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
        let seed = match &plan.kind {
            PlanKind::Random { seed, .. } => *seed,
            PlanKind::Script(_) => 0,
        };
        let shared = Arc::new(ProxyShared {
            upstream: format!("{host}:{port}"),
            plan: Mutex::new(Draw {
                kind: plan.kind,
                rng: fastrand::Rng::with_seed(seed),
                next: 0,
            }),
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
    let fault = shared
        .plan
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .next();
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
