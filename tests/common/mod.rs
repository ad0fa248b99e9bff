//! Shared helpers for the integration tests: the local OpenID provider, a sandbox to run the
//! `ifs-connect` binary in, the scripted browsers, the Secret Service keyring, and tmux.
//!
//! Each test file says `mod common;`. Tests that need the real parts (keyring, provider, browser,
//! tmux) call [`rig_required`] first, and are run through `./scripts/test`, which provides a private
//! D-Bus session with an unlocked throwaway keyring and sets `IFS_CONNECT_TEST_RIG=1`.
//!
//! Every wait here is bounded in time and every process started here is killed on drop.
#![allow(dead_code)]

pub mod keycloak;
pub mod sandbox;

use std::ffi::{OsStr, OsString};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

/// Bound for `ifs-connect` runs through [`Env::run`].
pub const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound for the provider to print its ready line.
pub const PROVIDER_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound for small helper commands (secret-tool, tmux).
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// The client IDs the provider knows (see tests/support/provider.mjs).
pub const PUBLIC_CLIENT: &str = "ifs-public";
pub const CONFIDENTIAL_CLIENT: &str = "ifs-confidential";
pub const CONFIDENTIAL_POST_CLIENT: &str = "ifs-confidential-post";
/// The confidential clients' secret unless `PROVIDER_CLIENT_SECRET` says otherwise.
pub const DEFAULT_CLIENT_SECRET: &str = "test-secret-not-for-production";
/// Path of the IFS "who am I" probe, relative to the provider's base URL.
pub const API_PATH: &str =
    "/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn support_dir() -> PathBuf {
    repo_root().join("tests").join("support")
}

/// True inside `./scripts/test` (private keyring, npm packages installed, system tools present).
pub fn in_rig() -> bool {
    std::env::var_os("IFS_CONNECT_TEST_RIG").is_some()
}

/// Call first in every test that needs the keyring, the provider, a browser or tmux: outside the
/// rig such a test must fail loudly rather than pass without having tested anything.
pub fn rig_required() {
    if !in_rig() {
        panic!(
            "this test needs the test rig (a private unlocked keyring, the local OpenID provider, \
             Chromium, tmux): run it through ./scripts/test, e.g. `./scripts/test --test <name>`"
        );
    }
}

// ------------------------------------------------------------------------------------------------
// Bounded process runs

/// Collects a pipe into a shared buffer on a thread, so a process that leaves the pipe open in a
/// grandchild can never block the reader past its bound.
struct PipeReader {
    buf: Arc<Mutex<Vec<u8>>>,
    done: mpsc::Receiver<()>,
    _thread: JoinHandle<()>,
}

impl PipeReader {
    fn new<R: Read + Send + 'static>(mut r: R) -> PipeReader {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let (tx, done) = mpsc::channel();
        let b = Arc::clone(&buf);
        let thread = thread::spawn(move || {
            let mut chunk = [0u8; 8192];
            loop {
                match r.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => b.lock().unwrap().extend_from_slice(&chunk[..n]),
                }
            }
            let _ = tx.send(());
        });
        PipeReader {
            buf,
            done,
            _thread: thread,
        }
    }

    /// Waits up to `grace` for end of file, then returns what was read.
    fn finish(self, grace: Duration) -> Vec<u8> {
        let _ = self.done.recv_timeout(grace);
        std::mem::take(&mut *self.buf.lock().unwrap())
    }
}

fn kill_group_or_child(child: &mut Child, group: bool) {
    if group {
        // The child leads its own process group (see `run_bounded`): take its children too.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", child.id())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

/// Runs `cmd` with `stdin` written to it (then closed; `None` gives /dev/null), collecting stdout and
/// stderr, for at most `timeout`. On timeout the process (and its process group, when
/// `own_group`) is killed and `Err` carries what it printed so far.
pub fn run_bounded(
    cmd: &mut Command,
    stdin: Option<&str>,
    timeout: Duration,
    own_group: bool,
) -> Result<Output, String> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    if own_group {
        cmd.process_group(0);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {:?}: {e}", cmd.get_program()));
    let out = PipeReader::new(child.stdout.take().unwrap());
    let err = PipeReader::new(child.stderr.take().unwrap());
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_owned();
        // A writer thread: a child that does not read its input must not block us.
        thread::spawn(move || {
            let _ = pipe.write_all(input.as_bytes());
        });
    }
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => break None,
            Ok(None) => thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("waiting for {:?}: {e}", cmd.get_program()),
        }
    };
    let status = match status {
        Some(s) => s,
        None => {
            kill_group_or_child(&mut child, own_group);
            let _ = child.wait();
            let stdout = String::from_utf8_lossy(&out.finish(Duration::from_secs(2))).into_owned();
            let stderr = String::from_utf8_lossy(&err.finish(Duration::from_secs(2))).into_owned();
            return Err(format!(
                "{:?} did not exit within {timeout:?} and was killed\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
                cmd.get_program()
            ));
        }
    };
    Ok(Output {
        status,
        stdout: out.finish(Duration::from_secs(5)),
        stderr: err.finish(Duration::from_secs(5)),
    })
}

/// Bounded runs for any `Command` (e.g. `env.cmd(args).env("X", "y").output_with_stdin("...")`).
/// Bring it into scope with `use common::RunExt;`.
pub trait RunExt {
    /// Runs to completion with `input` on stdin, killed (and the test failed) after [`RUN_TIMEOUT`].
    fn output_with_stdin(&mut self, input: &str) -> Output;
    /// Runs to completion with stdin from /dev/null, killed (and the test failed) after
    /// [`RUN_TIMEOUT`].
    fn output_bounded(&mut self) -> Output;
}

impl RunExt for Command {
    fn output_with_stdin(&mut self, input: &str) -> Output {
        run_bounded(self, Some(input), RUN_TIMEOUT, true).unwrap_or_else(|e| panic!("{e}"))
    }

    fn output_bounded(&mut self) -> Output {
        run_bounded(self, None, RUN_TIMEOUT, true).unwrap_or_else(|e| panic!("{e}"))
    }
}

/// `Output` as text for assertion messages.
pub fn describe(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn stdout_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr_of(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

// ------------------------------------------------------------------------------------------------
// Minimal HTTP client (std only: usable from sync and async tests alike, no runtime needed)

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): status {} body {}", self.status, self.body))
    }
}

/// One HTTP/1.1 request over plain TCP (http:// only), `Connection: close`, 10 s bounds.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&[u8]>,
) -> Result<HttpResponse, String> {
    let u = url::Url::parse(url).map_err(|e| format!("bad URL {url}: {e}"))?;
    if u.scheme() != "http" {
        return Err(format!("http_request speaks plain http only: {url}"));
    }
    let host = u.host_str().ok_or("URL without host")?.to_owned();
    let port = u.port_or_known_default().unwrap_or(80);
    let addr = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| format!("resolve {host}: {e}"))?
        .next()
        .ok_or("no address")?;
    let bound = Duration::from_secs(10);
    let mut s =
        TcpStream::connect_timeout(&addr, bound).map_err(|e| format!("connect {addr}: {e}"))?;
    s.set_read_timeout(Some(bound)).unwrap();
    s.set_write_timeout(Some(bound)).unwrap();
    let mut target = u.path().to_owned();
    if let Some(q) = u.query() {
        target.push('?');
        target.push_str(q);
    }
    let mut req = format!(
        "{method} {target} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nUser-Agent: ifs-connect-tests\r\n",
        match u.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.clone(),
        }
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if let Some(b) = body {
        req.push_str(&format!("Content-Length: {}\r\n", b.len()));
    }
    req.push_str("\r\n");
    let mut bytes = req.into_bytes();
    if let Some(b) = body {
        bytes.extend_from_slice(b);
    }
    s.write_all(&bytes).map_err(|e| format!("write: {e}"))?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).map_err(|e| format!("read: {e}"))?;
    parse_http_response(&raw)
}

fn parse_http_response(raw: &[u8]) -> Result<HttpResponse, String> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("bad status line {status_line:?}"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.to_ascii_lowercase().contains("chunked"));
    if chunked {
        body = dechunk(&body)?;
    }
    Ok(HttpResponse {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for _ in 0..100_000 {
        let eol = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("bad chunk")?;
        let size_text = String::from_utf8_lossy(&data[..eol]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|e| format!("bad chunk size: {e}"))?;
        data = &data[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size {
            return Err("truncated chunk".into());
        }
        out.extend_from_slice(&data[..size]);
        data = data.get(size + 2..).unwrap_or_default();
    }
    Err("too many chunks".into())
}

pub fn http_get(url: &str) -> HttpResponse {
    http_request("GET", url, &[], None).unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

/// POST an `application/x-www-form-urlencoded` body.
pub fn http_post_form(url: &str, headers: &[(&str, &str)], form: &[(&str, &str)]) -> HttpResponse {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let mut h = vec![("Content-Type", "application/x-www-form-urlencoded")];
    h.extend_from_slice(headers);
    http_request("POST", url, &h, Some(body.as_bytes()))
        .unwrap_or_else(|e| panic!("POST {url}: {e}"))
}

// ------------------------------------------------------------------------------------------------
// The local OpenID provider (tests/support/provider.mjs)

/// A running provider: `oidc-provider` shaped like Keycloak, with issuer
/// `http://127.0.0.1:PORT/auth/realms/REALM`. Killed on drop.
pub struct Provider {
    pub issuer: String,
    /// `http://127.0.0.1:PORT`: the IFS base URL for connectors.
    pub base_url: String,
    pub port: u16,
    child: Child,
    stdin: Option<ChildStdin>,
    stderr: Arc<Mutex<String>>,
}

impl Provider {
    pub fn start() -> Provider {
        Provider::start_with(&[])
    }

    /// Starts with extra environment, e.g. `[("PROVIDER_PAR", "0")]`; see provider.mjs for the list
    /// (`PROVIDER_ACCESS_TOKEN_TTL`, `PROVIDER_REFRESH`, `PROVIDER_DISCOVERY_PATCH`, ...).
    pub fn start_with(env: &[(&str, &str)]) -> Provider {
        let script = support_dir().join("provider.mjs");
        assert!(
            support_dir()
                .join("node_modules")
                .join("oidc-provider")
                .is_dir(),
            "tests/support/node_modules is missing: run ./scripts/test (it runs npm ci there)"
        );
        let mut cmd = Command::new("node");
        cmd.arg(&script)
            .current_dir(support_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .expect("cannot start node tests/support/provider.mjs");
        let stdin = child.stdin.take();
        let stderr = Arc::new(Mutex::new(String::new()));
        {
            let pipe = child.stderr.take().unwrap();
            let sink = Arc::clone(&stderr);
            thread::spawn(move || {
                for line in BufReader::new(pipe).lines() {
                    let Ok(line) = line else { break };
                    let mut s = sink.lock().unwrap();
                    if s.len() < 256 * 1024 {
                        s.push_str(&line);
                        s.push('\n');
                    }
                }
            });
        }
        let (tx, rx) = mpsc::channel();
        {
            let pipe = child.stdout.take().unwrap();
            thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let _ = tx.send(line);
                // Keep draining so the provider never blocks on a full pipe.
                let mut rest = Vec::new();
                let _ = reader.read_to_end(&mut rest);
            });
        }
        let line = match rx.recv_timeout(PROVIDER_START_TIMEOUT) {
            Ok(l) if !l.trim().is_empty() => l,
            other => {
                let _ = child.kill();
                let _ = child.wait();
                thread::sleep(Duration::from_millis(100));
                panic!(
                    "provider did not start within {PROVIDER_START_TIMEOUT:?} ({other:?})\n--- stderr ---\n{}",
                    stderr.lock().unwrap()
                );
            }
        };
        let v: serde_json::Value = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("provider ready line is not JSON ({e}): {line}"));
        let provider = Provider {
            issuer: v["issuer"].as_str().expect("issuer").to_owned(),
            base_url: v["base_url"].as_str().expect("base_url").to_owned(),
            port: v["port"].as_u64().expect("port") as u16,
            child,
            stdin,
            stderr,
        };
        if std::env::var_os("IFS_CONNECT_TEST_VERBOSE").is_some() {
            eprintln!(
                "provider {} ready in {:?}",
                provider.issuer,
                started.elapsed()
            );
        }
        provider
    }

    pub fn discovery_url(&self) -> String {
        format!("{}/.well-known/openid-configuration", self.issuer)
    }

    pub fn discovery(&self) -> serde_json::Value {
        let r = http_get(&self.discovery_url());
        assert_eq!(r.status, 200, "discovery: {}", r.body);
        r.json()
    }

    /// `{issuer}/protocol/openid-connect/{rest}`, e.g. `endpoint("token")`.
    pub fn endpoint(&self, rest: &str) -> String {
        format!("{}/protocol/openid-connect/{rest}", self.issuer)
    }

    /// URL of the IFS "who am I" probe (GetCurrentUserInformation).
    pub fn api_url(&self) -> String {
        format!("{}{API_PATH}", self.base_url)
    }

    /// Counters from `/__stats`: `grants` and `grant_errors` (by grant_type), `token_auth` (basic,
    /// post, none), `routes` (by oidc-provider route), `api` (by status), and
    /// `authorization_requests` (the last 20 requests' parameters).
    pub fn stats(&self) -> serde_json::Value {
        let r = http_get(&format!("{}/__stats", self.base_url));
        assert_eq!(r.status, 200, "/__stats: {}", r.body);
        r.json()
    }

    /// Successful token-endpoint grants of one type ("authorization_code", "refresh_token", ...).
    pub fn grant_count(&self, grant_type: &str) -> u64 {
        self.stats()["grants"][grant_type].as_u64().unwrap_or(0)
    }

    /// What the provider printed on stderr so far (warnings, errors).
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "--- provider stderr ({}) ---\n{}",
                self.issuer,
                self.stderr()
            );
        }
        drop(self.stdin.take()); // the provider exits when stdin closes...
        let _ = self.child.kill(); // ...but do not count on it
        let _ = self.child.wait();
    }
}

// ------------------------------------------------------------------------------------------------
// A one-shot loopback listener (stands in for a program's redirect listener in rig tests)

/// Accepts connections on 127.0.0.1 and records each request target, answering with a small HTML
/// page, until dropped.
pub struct CallbackCatcher {
    pub port: u16,
    rx: mpsc::Receiver<String>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl CallbackCatcher {
    pub fn start() -> CallbackCatcher {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let (tx, rx) = mpsc::channel();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        thread::spawn(move || {
            // At most 10 minutes, polled every 10 ms.
            for _ in 0..60_000 {
                if stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
                        let mut reader = BufReader::new(s.try_clone().unwrap());
                        let mut first = String::new();
                        let _ = reader.read_line(&mut first);
                        // Skip the headers.
                        for _ in 0..200 {
                            let mut l = String::new();
                            match reader.read_line(&mut l) {
                                Ok(0) | Err(_) => break,
                                Ok(_) if l == "\r\n" || l == "\n" => break,
                                Ok(_) => {}
                            }
                        }
                        let target = first.split_whitespace().nth(1).unwrap_or("").to_owned();
                        let body = "<!DOCTYPE html><html><head><title>Signed in</title></head>\
                                    <body><p>Signed in. You can close this page.</p></body></html>";
                        let _ = write!(
                            s,
                            "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n\
                             Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = tx.send(target);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        thread::sleep(Duration::from_millis(10))
                    }
                    Err(_) => break,
                }
            }
        });
        CallbackCatcher { port, rx, stop }
    }

    pub fn redirect_uri(&self) -> String {
        format!("http://127.0.0.1:{}/callback", self.port)
    }

    /// The next request target (path and query) that reached the listener.
    pub fn wait(&self, timeout: Duration) -> Option<String> {
        self.rx.recv_timeout(timeout).ok()
    }
}

impl Drop for CallbackCatcher {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}

// ------------------------------------------------------------------------------------------------
// Scripted browsers

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BrowserKind {
    /// tests/support/browser: headless Chromium (about 1.5 s a login).
    Chromium,
    /// tests/support/fetch-browser: Node's fetch walking the forms (about 0.1 s a login).
    Fetch,
}

impl BrowserKind {
    pub fn script(self) -> PathBuf {
        support_dir().join(match self {
            BrowserKind::Chromium => "browser",
            BrowserKind::Fetch => "fetch-browser",
        })
    }
}

/// The webbrowser crate splits `$BROWSER` on `:` and whitespace, with no quoting.
fn check_browser_path(kind: BrowserKind) {
    let path = kind.script().display().to_string();
    assert!(
        !path.contains(|c: char| c == ':' || c.is_whitespace()),
        "the repository path {path:?} has a ':' or whitespace, which $BROWSER cannot carry: \
         run the tests from a checkout whose path has neither"
    );
}

/// The last result line a browser script appended to `log`, if any yet:
/// `{"ok":..,"opened_url":..,"final_url":..,"title":..,"text":..,"status":..,"error":..,
/// "login_prefill":..,"steps":[..],"engine":..,"elapsed_ms":..}`. `opened_url` is the URL the
/// program opened; `final_url`/`status`/`text` are the program's callback page once reached.
/// `BROWSER_ACTION` (login, deny, deny-consent, ignore, record), `BROWSER_LOGIN` and the rest are
/// described in tests/support/flow-common.mjs.
pub fn browser_result(log: &Path) -> Option<serde_json::Value> {
    let text = std::fs::read_to_string(log).ok()?;
    text.lines().rev().find_map(|l| {
        let l = l.trim();
        if !l.starts_with('{') {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(l).ok()?;
        (v.get("final_url").is_some() && v.get("ok").is_some()).then_some(v)
    })
}

/// Polls `log` every 50 ms until a browser result line is there, for at most `timeout`.
pub fn wait_browser_result(log: &Path, timeout: Duration) -> Result<serde_json::Value, String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = browser_result(log) {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "no browser result in {} within {timeout:?}; log:\n{}",
                log.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            ));
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Runs a browser script on `url` directly (not through the app) and waits for it (bounded by 90 s;
/// the scripts bound themselves to 60 s). `env` adds BROWSER_* settings.
pub fn run_browser(
    kind: BrowserKind,
    url: &str,
    log: &Path,
    env: &[(&str, &str)],
) -> serde_json::Value {
    let mut cmd = Command::new(kind.script());
    cmd.arg(url).env("BROWSER_LOG", log);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_bounded(&mut cmd, None, Duration::from_secs(90), true)
        .unwrap_or_else(|e| panic!("{kind:?} browser: {e}"));
    browser_result(log).unwrap_or_else(|| {
        panic!(
            "{kind:?} browser wrote no result ({}); log:\n{}",
            describe(&out),
            std::fs::read_to_string(log).unwrap_or_default()
        )
    })
}

// ------------------------------------------------------------------------------------------------
// A sandbox to run the ifs-connect binary in

/// A temporary config and data directory for `ifs-connect`, and the environment to run it with.
pub struct Env {
    pub dir: tempfile::TempDir,
    pub config_dir: PathBuf,
    pub data_dir: PathBuf,
    browser: Option<(BrowserKind, PathBuf)>,
    vars: Vec<(OsString, OsString)>,
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::Builder::new()
            .prefix("ifs-connect-test-")
            .tempdir()
            .expect("temp dir");
        let config_dir = dir.path().join("config");
        let data_dir = dir.path().join("data");
        std::fs::create_dir_all(&config_dir).unwrap();
        std::fs::create_dir_all(&data_dir).unwrap();
        Env {
            dir,
            config_dir,
            data_dir,
            browser: None,
            vars: Vec::new(),
        }
    }

    /// The sandbox directory (holds `config/`, `data/` and whatever a test puts there).
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `IFS_CONNECT_CONFIG_DIR` of this sandbox (the same as the `config_dir` field).
    pub fn config_dir(&self) -> &Path {
        &self.config_dir
    }

    /// `IFS_CONNECT_DATA_DIR` of this sandbox (the same as the `data_dir` field).
    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// The app's config file in this sandbox: `<config dir>/connectors.toml`.
    pub fn config_file(&self) -> PathBuf {
        self.config_dir.join("connectors.toml")
    }

    /// `$BROWSER` = tests/support/browser (headless Chromium), logging to `log`.
    pub fn with_browser_chromium(mut self, log: impl AsRef<Path>) -> Env {
        check_browser_path(BrowserKind::Chromium);
        self.browser = Some((BrowserKind::Chromium, log.as_ref().to_path_buf()));
        self
    }

    /// `$BROWSER` = tests/support/fetch-browser (no Chromium, ~100 ms), logging to `log`.
    pub fn with_fetch_browser(mut self, log: impl AsRef<Path>) -> Env {
        check_browser_path(BrowserKind::Fetch);
        self.browser = Some((BrowserKind::Fetch, log.as_ref().to_path_buf()));
        self
    }

    /// Any other variable for the program and the browser it starts (e.g. `BROWSER_ACTION=deny`,
    /// `BROWSER_LOGIN=bob`).
    pub fn with_env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Env {
        self.vars
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    /// The browser log set with `with_*browser`, if any.
    pub fn browser_log(&self) -> Option<&Path> {
        self.browser.as_ref().map(|(_, p)| p.as_path())
    }

    /// The last result line of the browser log.
    pub fn browser_result(&self) -> Option<serde_json::Value> {
        self.browser_log().and_then(browser_result)
    }

    /// Waits (bounded) for the browser's result line.
    pub fn wait_browser_result(&self, timeout: Duration) -> Result<serde_json::Value, String> {
        let log = self
            .browser_log()
            .ok_or("no browser configured for this Env")?;
        wait_browser_result(log, timeout)
    }

    /// A path inside the sandbox directory (for logs, screenshots, input files).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A `Command` for the binary under test with this sandbox's environment.
    pub fn cmd<S: AsRef<OsStr>>(&self, args: &[S]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ifs-connect"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("IFS_CONNECT_CONFIG_DIR", &self.config_dir)
            .env("IFS_CONNECT_DATA_DIR", &self.data_dir)
            .env("NO_COLOR", "1")
            .env_remove("BROWSER")
            .env_remove("BROWSER_LOG");
        if let Some((kind, log)) = &self.browser {
            cmd.env("BROWSER", kind.script()).env("BROWSER_LOG", log);
        }
        for (k, v) in &self.vars {
            cmd.env(k, v);
        }
        cmd
    }

    /// The environment `cmd` sets, as `KEY=VALUE` pairs (for tmux, which needs it spelled out).
    pub fn env_pairs(&self) -> Vec<(String, String)> {
        let mut v = vec![
            (
                "IFS_CONNECT_CONFIG_DIR".to_owned(),
                self.config_dir.display().to_string(),
            ),
            (
                "IFS_CONNECT_DATA_DIR".to_owned(),
                self.data_dir.display().to_string(),
            ),
            ("NO_COLOR".to_owned(), "1".to_owned()),
        ];
        if let Some((kind, log)) = &self.browser {
            v.push(("BROWSER".to_owned(), kind.script().display().to_string()));
            v.push(("BROWSER_LOG".to_owned(), log.display().to_string()));
        }
        for (k, val) in &self.vars {
            v.push((
                k.to_string_lossy().into_owned(),
                val.to_string_lossy().into_owned(),
            ));
        }
        v
    }

    /// Starts the binary with `args` in a private tmux terminal of `cols`x`rows`, with this
    /// sandbox's environment (the pane's `TERM` is tmux's default, `screen`).
    pub fn tmux(&self, cols: u16, rows: u16, args: &[&str]) -> Tmux {
        let bin = env!("CARGO_BIN_EXE_ifs-connect");
        let mut argv = vec![bin];
        argv.extend_from_slice(args);
        let pairs = self.env_pairs();
        let env: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // `env -u BROWSER` is not portable to every env(1); clear it through the shell instead
        // when no browser was chosen.
        let mut shell = String::new();
        if self.browser.is_none() {
            shell.push_str("unset BROWSER BROWSER_LOG; ");
        }
        shell.push_str("cd ");
        shell.push_str(&sh_quote(&self.dir.path().display().to_string()));
        shell.push_str(" && exec");
        for a in &argv {
            shell.push(' ');
            shell.push_str(&sh_quote(a));
        }
        Tmux::start(cols, rows, &["sh", "-c", &shell], &env)
    }

    /// Runs the binary to completion (killed, with the test failing, after [`RUN_TIMEOUT`]).
    pub fn run<S: AsRef<OsStr>>(&self, args: &[S], stdin: Option<&str>) -> Output {
        self.run_timeout(args, stdin, RUN_TIMEOUT)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like `run` with another bound; `Err` (with what it printed) when it had to be killed.
    pub fn run_timeout<S: AsRef<OsStr>>(
        &self,
        args: &[S],
        stdin: Option<&str>,
        timeout: Duration,
    ) -> Result<Output, String> {
        let mut cmd = self.cmd(args);
        run_bounded(&mut cmd, stdin, timeout, true)
    }
}

/// No Secret Service reachable for `cmd`: no session bus address and an empty runtime dir
/// (where a D-Bus client would look for a default bus).
pub fn no_dbus(cmd: &mut Command, env: &Env) {
    let runtime = env.path("no-bus-runtime");
    std::fs::create_dir_all(&runtime).unwrap();
    cmd.env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", runtime);
}

/// The stable id of connector `name`, from `show --json`.
pub fn connector_id(env: &Env, name: &str) -> String {
    let out = env.run(&["show", name, "--json"], None);
    assert!(out.status.success(), "show: {}", describe(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

/// Nothing secret in the config dir, the data dir (log file), stdout or stderr.
pub fn assert_secret_nowhere(env: &Env, out: &Output, what: &str, value: &str) {
    assert!(value.len() >= 8, "the {what} is too short to search for");
    for dir in [env.config_dir(), env.data_dir()] {
        let found = files_containing(dir, value);
        assert!(found.is_empty(), "the {what} is in {found:?}");
    }
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(value),
        "the {what} is on stdout"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(value),
        "the {what} is on stderr"
    );
}

/// Every file under `dir` (recursively, symlinks not followed) whose bytes contain `needle`:
/// for "no secret ever lands on disk" checks.
pub fn files_containing(dir: impl AsRef<Path>, needle: &str) -> Vec<PathBuf> {
    fn walk(dir: &Path, needle: &[u8], out: &mut Vec<PathBuf>, depth: usize) {
        if depth > 64 {
            return;
        }
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let Ok(ft) = entry.file_type() else { continue };
            let path = entry.path();
            if ft.is_dir() {
                walk(&path, needle, out, depth + 1);
            } else if ft.is_file()
                && let Ok(bytes) = std::fs::read(&path)
                && bytes.windows(needle.len()).any(|w| w == needle)
            {
                out.push(path);
            }
        }
    }
    assert!(!needle.is_empty(), "files_containing: empty needle");
    let mut out = Vec::new();
    walk(dir.as_ref(), needle.as_bytes(), &mut out, 0);
    out.sort();
    out
}

// ------------------------------------------------------------------------------------------------
// Secret Service (the rig's throwaway GNOME keyring) through secret-tool

/// The keyring service name the app uses.
pub const KEYRING_SERVICE: &str = "ifs-connect";

fn secret_tool(args: &[&str], stdin: Option<&str>) -> Output {
    let mut cmd = Command::new("secret-tool");
    cmd.args(args);
    run_bounded(&mut cmd, stdin, TOOL_TIMEOUT, false).unwrap_or_else(|e| panic!("{e}"))
}

/// The secret stored under `service` / `username`, if any.
pub fn secret_tool_lookup_in(service: &str, username: &str) -> Option<String> {
    let out = secret_tool(&["lookup", "service", service, "username", username], None);
    if !out.status.success() {
        return None;
    }
    let mut s = String::from_utf8(out.stdout).expect("secret is not UTF-8");
    if s.ends_with('\n') {
        s.pop();
    }
    Some(s)
}

/// The app's keyring entry `username` (`<connector id>/<kind>`, e.g. `0123abcd/client_secret`).
pub fn secret_tool_lookup(username: &str) -> Option<String> {
    secret_tool_lookup_in(KEYRING_SERVICE, username)
}

/// Stores a secret (for tests that set up the keyring by hand).
pub fn secret_tool_store_in(service: &str, username: &str, secret: &str) {
    let label = format!("{service} test item {username}");
    let out = secret_tool(
        &[
            "store", "--label", &label, "service", service, "username", username,
        ],
        Some(secret),
    );
    assert!(
        out.status.success(),
        "secret-tool store: {}",
        describe(&out)
    );
}

pub fn secret_tool_store(username: &str, secret: &str) {
    secret_tool_store_in(KEYRING_SERVICE, username, secret)
}

pub fn secret_tool_clear_in(service: &str, username: &str) {
    secret_tool(&["clear", "service", service, "username", username], None);
}

pub fn secret_tool_clear(username: &str) {
    secret_tool_clear_in(KEYRING_SERVICE, username)
}

/// Everything the keyring holds for the app: `secret-tool search --all service ifs-connect`, stdout
/// and stderr together (secret-tool prints the attributes on stderr and labels and secrets on
/// stdout).
pub fn secret_tool_search_all() -> String {
    let out = secret_tool(&["search", "--all", "service", KEYRING_SERVICE], None);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

// ------------------------------------------------------------------------------------------------
// tmux: a real terminal for end-to-end tests

/// A private tmux server (own socket, no config) with one session running one command.
/// The pane stays after the command exits (remain-on-exit) so its screen and exit status can be
/// read. The server is killed on drop.
pub struct Tmux {
    dir: tempfile::TempDir,
    sock: PathBuf,
}

const TMUX_TARGET: &str = "t:0.0";

/// Quotes for `sh`.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Tmux {
    /// Starts `command` (argv) in a `cols`x`rows` terminal with `env` added to its environment.
    pub fn start(cols: u16, rows: u16, command: &[&str], env: &[(&str, &str)]) -> Tmux {
        assert!(!command.is_empty(), "Tmux::start: empty command");
        let dir = tempfile::Builder::new()
            .prefix("ifs-connect-tmux-")
            .tempdir()
            .unwrap();
        let sock = dir.path().join("sock");
        let tmux = Tmux { dir, sock };
        // The shell stays to write the exit code to a file: tmux 3.3 can mark the pane dead
        // without ever recording its status when the machine is busy.
        let mut line = String::from("env");
        for (k, v) in env {
            line.push(' ');
            line.push_str(&sh_quote(&format!("{k}={v}")));
        }
        for a in command {
            line.push(' ');
            line.push_str(&sh_quote(a));
        }
        let exit_file = sh_quote(&tmux.exit_file().display().to_string());
        line.push_str(&format!(
            "; echo $? > {exit_file}.tmp && mv {exit_file}.tmp {exit_file}"
        ));
        let (c, r) = (cols.to_string(), rows.to_string());
        // A placeholder first, so remain-on-exit is on before the real command can exit.
        let out = tmux.run(&[
            "new-session",
            "-d",
            "-s",
            "t",
            "-x",
            &c,
            "-y",
            &r,
            "sleep 600",
            ";",
            "set-option",
            "-g",
            "status",
            "off",
            ";",
            "set-option",
            "-g",
            "history-limit",
            "10000",
            ";",
            "set-option",
            "-t",
            "t",
            "remain-on-exit",
            "on",
            ";",
            "respawn-pane",
            "-k",
            "-t",
            TMUX_TARGET,
            &line,
        ]);
        assert!(out.status.success(), "tmux new-session: {}", describe(&out));
        tmux
    }

    /// Runs a tmux client command against this server (bounded; panics past the bound).
    pub fn run(&self, args: &[&str]) -> Output {
        self.try_run(args).unwrap_or_else(|e| panic!("{e}"))
    }

    fn try_run(&self, args: &[&str]) -> Result<Output, String> {
        let mut cmd = Command::new("tmux");
        cmd.arg("-S")
            .arg(&self.sock)
            .args(["-f", "/dev/null"])
            .args(args)
            .env_remove("TMUX");
        run_bounded(&mut cmd, None, TOOL_TIMEOUT, false)
    }

    /// Key names as tmux spells them: "Enter", "Tab", "Down", "C-c", "Escape", "BSpace", "y", ...
    pub fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", TMUX_TARGET];
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(out.status.success(), "tmux send-keys: {}", describe(&out));
    }

    /// Types `text` literally (no key-name interpretation).
    pub fn send_text(&self, text: &str) {
        let out = self.run(&["send-keys", "-t", TMUX_TARGET, "-l", text]);
        assert!(
            out.status.success(),
            "tmux send-keys -l: {}",
            describe(&out)
        );
    }

    /// The visible screen.
    pub fn capture(&self) -> String {
        stdout_of(&self.run(&["capture-pane", "-p", "-t", TMUX_TARGET]))
    }

    /// The screen with the scrollback (including what was printed after an alternate screen closed).
    pub fn capture_all(&self) -> String {
        stdout_of(&self.run(&["capture-pane", "-p", "-S", "-", "-t", TMUX_TARGET]))
    }

    /// Polls the screen every 50 ms until it contains `text`; `Err` carries the last screen.
    pub fn wait_for(&self, text: &str, timeout: Duration) -> Result<String, String> {
        self.wait_until(timeout, |screen| screen.contains(text))
            .map_err(|screen| {
                format!("{text:?} did not appear within {timeout:?}; screen:\n{screen}")
            })
    }

    /// Polls the screen every 50 ms until `pred` holds; `Err` carries the last screen.
    pub fn wait_until(
        &self,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let max_polls = timeout.as_millis() / 50 + 2;
        let mut screen = String::new();
        for _ in 0..max_polls {
            screen = self.capture_all();
            if pred(&screen) {
                return Ok(screen);
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(screen)
    }

    /// The command's exit status once it has exited, `None` while it runs.
    /// The command's exit code once it has ended (128 + n when killed by signal n).
    pub fn exit_status(&self) -> Option<i32> {
        let text = std::fs::read_to_string(self.exit_file()).ok()?;
        text.trim().parse().ok()
    }

    fn exit_file(&self) -> PathBuf {
        self.dir.path().join("exit-status")
    }

    /// Polls (every 50 ms, bounded) until the command has exited.
    pub fn wait_exit(&self, timeout: Duration) -> Result<i32, String> {
        let deadline = Instant::now() + timeout;
        for _ in 0..timeout.as_millis() / 50 + 2 {
            if let Some(code) = self.exit_status() {
                return Ok(code);
            }
            if Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(50));
        }
        Err(format!(
            "still running after {timeout:?}; screen:\n{}",
            self.capture_all()
        ))
    }

    pub fn resize(&self, cols: u16, rows: u16) {
        let out = self.run(&[
            "resize-window",
            "-t",
            "t",
            "-x",
            &cols.to_string(),
            "-y",
            &rows.to_string(),
        ]);
        assert!(
            out.status.success(),
            "tmux resize-window: {}",
            describe(&out)
        );
    }

    pub fn socket(&self) -> &Path {
        &self.sock
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        if thread::panicking()
            && let Ok(out) = self.try_run(&["capture-pane", "-p", "-S", "-", "-t", TMUX_TARGET])
        {
            eprintln!("--- tmux screen ---\n{}", stdout_of(&out));
        }
        let _ = self.try_run(&["kill-server"]);
    }
}

/// `ExitStatus` code or -1 for a signal, for messages.
pub fn code_of(status: ExitStatus) -> i32 {
    status.code().unwrap_or(-1)
}
