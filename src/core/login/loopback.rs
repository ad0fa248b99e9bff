//! The loopback redirect listener (RFC 8252 section 7.3).
//!
//! Bound once on 127.0.0.1 before the browser opens and closed when the wait ends, whatever
//! ends it. Every connection gets its own task with a read deadline and a size limit, so junk,
//! slow or never-finishing requests cannot disturb the wait; only the redirect path counts,
//! and every answer closes the connection, so keep-alive cannot hang the flow.

use std::collections::VecDeque;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinSet};
use tokio::time::{Instant, timeout};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::callback::{self, Expected, Verdict};
use super::{ErrorKind, LoginError, LoginEvent};

/// A request head larger than this is not a browser following a redirect.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Time a client gets to send its request head, and to take the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once. Beyond it the oldest one that has not sent its request head is
/// dropped, so idle connections a local process opens cannot lock the browser out.
const MAX_CONNECTIONS: usize = 64;

const SUCCESS_PAGE: &str = include_str!("../../../assets/callback-success.html");
const FAILURE_PAGE: &str = include_str!("../../../assets/callback-failure.html");
/// The pages load nothing at all: no scripts, no external styles, fonts or images.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                   base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The bound listener and the exact redirect URI to send, port included.
pub struct Listener {
    socket: TcpListener,
    redirect_uri: String,
    path: String,
    port: u16,
}

impl Listener {
    /// Bind 127.0.0.1 on the redirect URI's port (none: one the OS picks).
    pub async fn bind(configured: &str) -> Result<Self, LoginError> {
        let mut url = Url::parse(configured).map_err(|_| {
            LoginError::new(
                ErrorKind::Config,
                format!("the redirect URI '{configured}' is not a URL"),
            )
        })?;
        if url.scheme() != "http" || url.path().is_empty() || url.path() == "/" {
            return Err(LoginError::new(
                ErrorKind::Config,
                format!("the redirect URI '{configured}' must be http://127.0.0.1[:port]/path"),
            ));
        }
        if url.host_str() == Some("localhost") {
            // RFC 8252 section 8.3: browsers may resolve localhost to [::1] first, where
            // another local user could listen; the listener is on 127.0.0.1, so say so.
            url.set_host(Some("127.0.0.1"))
                .map_err(|_| LoginError::new(ErrorKind::Config, "the redirect URI has no host"))?;
        }
        let wanted = url.port().unwrap_or(0);
        let address = SocketAddr::from((Ipv4Addr::LOCALHOST, wanted));
        let socket = TcpListener::bind(address)
            .await
            .map_err(|e| bind_error(&e, wanted))?;
        let port = socket
            .local_addr()
            .map_err(|e| bind_error(&e, wanted))?
            .port();
        url.set_port(Some(port))
            .map_err(|()| LoginError::new(ErrorKind::Config, "the redirect URI has no host"))?;
        Ok(Self {
            socket,
            redirect_uri: url.to_string(),
            path: url.path().to_owned(),
            port,
        })
    }

    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Whether a redirect URI names `localhost`, which [`Listener::bind`] replaces by 127.0.0.1.
pub fn names_localhost(redirect_uri: &str) -> bool {
    Url::parse(redirect_uri).is_ok_and(|u| u.host_str() == Some("localhost"))
}

fn bind_error(error: &std::io::Error, port: u16) -> LoginError {
    let error = LoginError::new(
        ErrorKind::Listener,
        format!("cannot listen on 127.0.0.1:{port} for the redirect ({error})"),
    );
    if error.message.contains("in use") {
        error.with_hint(
            "another program uses that port: close it, or register the redirect URI without a \
             port (http://127.0.0.1/callback) so any free port works",
        )
    } else {
        error
    }
}

/// Where the code came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Listener,
    Pasted,
}

/// How a wait ended without a code.
#[derive(Debug)]
pub enum WaitEnd {
    Failed(LoginError),
    TimedOut,
    Cancelled,
}

/// What the wait needs besides the listener.
pub struct WaitFor<'a> {
    pub expected: Expected,
    /// Shown on the success page.
    pub connector_name: &'a str,
    pub deadline: Instant,
    pub cancel: &'a CancellationToken,
    pub events: &'a mpsc::UnboundedSender<LoginEvent>,
}

/// Serve the listener until a response with the right state arrives (at the listener or
/// pasted), the deadline passes or `cancel` fires. The listener and every connection are
/// closed before this returns.
pub async fn wait_for_code(
    listener: Listener,
    wait: WaitFor<'_>,
    pasted: &mut mpsc::Receiver<String>,
) -> Result<(SecretString, Source), WaitEnd> {
    let shared = Arc::new(Shared {
        expected: wait.expected,
        path: listener.path.clone(),
        connector_name: wait.connector_name.to_owned(),
        events: wait.events.clone(),
    });
    let mut connections = Connections::default();
    let mut pasted_open = true;
    let ended = loop {
        tokio::select! {
            _ = wait.cancel.cancelled() => break Err(WaitEnd::Cancelled),
            _ = tokio::time::sleep_until(wait.deadline) => break Err(WaitEnd::TimedOut),
            accepted = listener.socket.accept() => {
                accept(accepted, &mut connections, &shared).await;
            }
            Some(joined) = connections.set.join_next(), if !connections.set.is_empty() => {
                if let Some(end) = settle(joined.ok().flatten(), Source::Listener, wait.events) {
                    break end;
                }
            }
            text = pasted.recv(), if pasted_open => match text {
                None => pasted_open = false,
                Some(text) => {
                    let verdict = callback::judge_pasted(&text, &shared.path, &shared.expected);
                    if let Some(end) = settle(Some(verdict), Source::Pasted, wait.events) {
                        break end;
                    }
                }
            },
        }
    };
    drop(listener);
    connections.set.shutdown().await;
    ended
}

/// The connections being served, and in accept order those still waiting for a request head.
#[derive(Default)]
struct Connections {
    set: JoinSet<Option<Verdict>>,
    waiting: VecDeque<(AbortHandle, Arc<AtomicBool>)>,
}

impl Connections {
    /// Make room by dropping the oldest connection still without a request head. False when
    /// every connection has sent one (they are being answered and end soon).
    fn drop_oldest_idle(&mut self) -> bool {
        while let Some((task, head_read)) = self.waiting.pop_front() {
            if !task.is_finished() && !head_read.load(Ordering::SeqCst) {
                task.abort();
                return true;
            }
        }
        false
    }

    fn spawn(&mut self, stream: TcpStream, shared: &Arc<Shared>) {
        let head_read = Arc::new(AtomicBool::new(false));
        let task = self
            .set
            .spawn(serve(stream, Arc::clone(shared), Arc::clone(&head_read)));
        self.waiting
            .retain(|(task, head_read)| !task.is_finished() && !head_read.load(Ordering::SeqCst));
        self.waiting.push_back((task, head_read));
    }
}

async fn accept(
    accepted: std::io::Result<(TcpStream, SocketAddr)>,
    connections: &mut Connections,
    shared: &Arc<Shared>,
) {
    match accepted {
        Ok((stream, _)) => {
            let room = connections.set.len() < MAX_CONNECTIONS || connections.drop_oldest_idle();
            if room {
                connections.spawn(stream, shared);
            } else {
                tracing::warn!("too many busy connections to the loopback listener; closing one");
            }
        }
        Err(e) => {
            // Out of file descriptors and the like: back off instead of spinning.
            tracing::warn!(error = %e, "accepting a loopback connection failed");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Turn a verdict into the end of the wait, or a notice and more waiting.
fn settle(
    verdict: Option<Verdict>,
    source: Source,
    events: &mpsc::UnboundedSender<LoginEvent>,
) -> Option<Result<(SecretString, Source), WaitEnd>> {
    match verdict? {
        Verdict::Final(Ok(code)) => Some(Ok((code, source))),
        Verdict::Final(Err(error)) => Some(Err(WaitEnd::Failed(error))),
        Verdict::Ignored { reason } => {
            let reason = match source {
                Source::Pasted => format!("the pasted URL was not accepted: {reason}"),
                Source::Listener => reason,
            };
            tracing::info!("{reason}");
            let _ = events.send(LoginEvent::Notice(reason));
            None
        }
    }
}

struct Shared {
    expected: Expected,
    path: String,
    connector_name: String,
    /// Notices of ignored redirects go out before the browser gets its answer, so a notice is
    /// never overtaken by the redirect that ends the wait.
    events: mpsc::UnboundedSender<LoginEvent>,
}

/// One connection: read one request head, answer, close. Returns the verdict when the
/// request was for the redirect path.
async fn serve(
    mut stream: TcpStream,
    shared: Arc<Shared>,
    head_read: Arc<AtomicBool>,
) -> Option<Verdict> {
    let head = match timeout(IO_TIMEOUT, read_head(&mut stream)).await {
        Ok(Ok(head)) => {
            head_read.store(true, Ordering::SeqCst);
            head
        }
        Ok(Err(status)) => {
            respond(&mut stream, status, plain_page(status)).await;
            return None;
        }
        Err(_) => {
            respond(&mut stream, Status::Timeout, plain_page(Status::Timeout)).await;
            return None;
        }
    };
    let (verdict, status, page) = answer(&head, &shared);
    let verdict = match verdict {
        Some(ignored @ Verdict::Ignored { .. }) => {
            settle(Some(ignored), Source::Listener, &shared.events);
            None
        }
        other => other,
    };
    respond(&mut stream, status, page).await;
    verdict
}

/// The request line's parts that matter.
struct Head {
    method: String,
    target: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    BadRequest,
    NotFound,
    MethodNotAllowed,
    Timeout,
    TooLarge,
}

impl Status {
    fn line(self) -> &'static str {
        match self {
            Status::Ok => "200 OK",
            Status::BadRequest => "400 Bad Request",
            Status::NotFound => "404 Not Found",
            Status::MethodNotAllowed => "405 Method Not Allowed",
            Status::Timeout => "408 Request Timeout",
            Status::TooLarge => "431 Request Header Fields Too Large",
        }
    }
}

/// Read until the end of the request head, within [`MAX_HEAD_BYTES`].
async fn read_head(stream: &mut TcpStream) -> Result<Head, Status> {
    let mut buffer = vec![0u8; MAX_HEAD_BYTES];
    let mut filled = 0;
    loop {
        let read = stream
            .read(&mut buffer[filled..])
            .await
            .map_err(|_| Status::BadRequest)?;
        if read == 0 {
            return Err(Status::BadRequest);
        }
        filled += read;
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buffer[..filled]) {
            Ok(httparse::Status::Complete(_)) => {
                return Ok(Head {
                    method: request.method.unwrap_or_default().to_owned(),
                    target: request.path.unwrap_or_default().to_owned(),
                });
            }
            Ok(httparse::Status::Partial) if filled == buffer.len() => {
                return Err(Status::TooLarge);
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => return Err(Status::TooLarge),
            Err(_) => return Err(Status::BadRequest),
        }
    }
}

/// Decide what a well-formed request gets.
fn answer(head: &Head, shared: &Shared) -> (Option<Verdict>, Status, String) {
    let (path, query) = match head.target.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (head.target.as_str(), None),
    };
    if path != shared.path {
        return (None, Status::NotFound, plain_page(Status::NotFound));
    }
    if head.method != "GET" {
        return (
            None,
            Status::MethodNotAllowed,
            plain_page(Status::MethodNotAllowed),
        );
    }
    let verdict = callback::judge_query(query, &shared.expected);
    let (status, page) = match &verdict {
        Verdict::Final(Ok(_)) => (
            Status::Ok,
            SUCCESS_PAGE.replace("{{CONNECTOR}}", &escape_html(&shared.connector_name)),
        ),
        Verdict::Final(Err(error)) => (
            Status::BadRequest,
            failure_page(&error.message, error.hint.as_deref().unwrap_or("")),
        ),
        Verdict::Ignored { reason } => (
            Status::BadRequest,
            failure_page(
                reason,
                "If you started a new test login, finish it in the tab it opened.",
            ),
        ),
    };
    (Some(verdict), status, page)
}

fn failure_page(message: &str, hint: &str) -> String {
    FAILURE_PAGE
        .replace("{{MESSAGE}}", &escape_html(message))
        .replace("{{HINT}}", &escape_html(hint))
}

fn plain_page(status: Status) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{0}</title></head>\
         <body><p>{0}</p></body></html>",
        status.line()
    )
}

fn escape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Write the answer and close; a client that does not take it in time is dropped.
async fn respond(stream: &mut TcpStream, status: Status, page: String) {
    let response = format!(
        "HTTP/1.1 {}\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\nCache-Control: no-store\r\nReferrer-Policy: no-referrer\r\n\
         X-Content-Type-Options: nosniff\r\nContent-Security-Policy: {CSP}\r\n\r\n{page}",
        status.line(),
        page.len()
    );
    let _ = timeout(IO_TIMEOUT, async {
        stream.write_all(response.as_bytes()).await?;
        stream.shutdown().await
    })
    .await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> Shared {
        Shared {
            expected: Expected {
                state: "S".into(),
                issuer: None,
                iss_required: false,
                scopes: "openid".into(),
            },
            path: "/callback".into(),
            connector_name: "<prod>".into(),
            events: mpsc::unbounded_channel().0,
        }
    }

    fn head(method: &str, target: &str) -> Head {
        Head {
            method: method.into(),
            target: target.into(),
        }
    }

    #[test]
    fn only_the_redirect_path_counts() {
        let s = shared();
        for target in [
            "/favicon.ico",
            "/",
            "/callback/x",
            "/callbackx?code=c&state=S",
            "*",
        ] {
            let (verdict, status, _) = answer(&head("GET", target), &s);
            assert!(verdict.is_none(), "{target}");
            assert_eq!(status, Status::NotFound, "{target}");
        }
        let (verdict, status, _) = answer(&head("POST", "/callback?code=c&state=S"), &s);
        assert!(verdict.is_none());
        assert_eq!(status, Status::MethodNotAllowed);
    }

    #[test]
    fn the_right_callback_gets_the_success_page_escaped() {
        let (verdict, status, page) = answer(&head("GET", "/callback?code=c&state=S"), &shared());
        assert!(matches!(verdict, Some(Verdict::Final(Ok(_)))));
        assert_eq!(status, Status::Ok);
        assert!(page.contains("&lt;prod&gt;") && !page.contains("<prod>"));
        assert!(!page.contains("code=c"));
    }

    #[test]
    fn a_wrong_state_gets_a_failure_page_and_does_not_end_the_wait() {
        let (verdict, status, page) = answer(&head("GET", "/callback?code=c&state=X"), &shared());
        assert!(matches!(verdict, Some(Verdict::Ignored { .. })));
        assert_eq!(status, Status::BadRequest);
        assert!(page.contains("state does not match"));
    }

    #[test]
    fn pages_load_nothing_from_outside() {
        for page in [SUCCESS_PAGE, FAILURE_PAGE] {
            let lower = page.to_ascii_lowercase();
            for needle in ["http://", "https://", "<script", "@import", "src=", "url("] {
                assert!(!lower.contains(needle), "{needle}");
            }
        }
    }

    #[tokio::test]
    async fn binds_loopback_only_and_fills_in_the_port() {
        let l = Listener::bind("http://127.0.0.1/callback").await.unwrap();
        assert_ne!(l.port(), 0);
        assert_eq!(
            l.redirect_uri(),
            format!("http://127.0.0.1:{}/callback", l.port())
        );
        let addr = l.socket.local_addr().unwrap();
        assert_eq!(addr.ip(), std::net::IpAddr::from(Ipv4Addr::LOCALHOST));
        let taken = Listener::bind(l.redirect_uri()).await.err().unwrap();
        drop(l);
        // RFC 8252 section 8.3: a localhost redirect is sent and served as 127.0.0.1.
        let local = Listener::bind("http://localhost/callback").await.unwrap();
        assert_eq!(
            local.redirect_uri(),
            format!("http://127.0.0.1:{}/callback", local.port())
        );
        assert!(
            names_localhost("http://localhost:8400/cb") && !names_localhost(local.redirect_uri())
        );
        assert_eq!(taken.kind, ErrorKind::Listener);
        assert!(taken.hint.is_some(), "{taken:?}");
    }

    /// 64 connections that never send a request head (a local process squatting the cap)
    /// must not keep the browser's redirect out: the oldest idle one makes room.
    #[tokio::test]
    async fn idle_connections_at_the_cap_do_not_lock_the_browser_out() {
        let listener = Listener::bind("http://127.0.0.1/callback").await.unwrap();
        let address = format!("127.0.0.1:{}", listener.port());
        let mut squatters = Vec::new();
        for _ in 0..MAX_CONNECTIONS + 4 {
            squatters.push(TcpStream::connect(&address).await.unwrap());
        }
        let browser = tokio::spawn(async move {
            let mut stream = TcpStream::connect(&address).await.unwrap();
            stream
                .write_all(b"GET /callback?code=C&state=S HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
            let mut answer = String::new();
            let _ = stream.read_to_string(&mut answer).await;
            answer
        });
        let (events, _) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let (_paste, mut pasted) = mpsc::channel(1);
        let wait = WaitFor {
            expected: shared().expected,
            connector_name: "c",
            // Shorter than IO_TIMEOUT: without making room, the squatters outlast the wait.
            deadline: Instant::now() + Duration::from_secs(5),
            cancel: &cancel,
            events: &events,
        };
        let got = wait_for_code(listener, wait, &mut pasted).await;
        assert!(matches!(got, Ok((_, Source::Listener))), "{got:?}");
        assert!(browser.await.unwrap().starts_with("HTTP/1.1 200"));
        drop(squatters);
    }
}
