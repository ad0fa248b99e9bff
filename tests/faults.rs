//! Faults of the network and the provider (issue 7), beyond tests/hostile.rs (which covers a
//! provider that answers wrongly on purpose: bad tokens, HTML or invalid_client from the token
//! endpoint, ...): a provider that is down, slow, answers HTML where JSON belongs, fails with
//! a 500, or drops the connection mid-answer, at discovery, JWKS, token and userinfo. Each
//! ends the login with the step's kind and a message that names the endpoint's URL. Also the
//! loopback listener under 10,000 junk requests while a real login completes, and the
//! Secret Service vanishing between the start of `add` and its save (a private bus and
//! keyring that the test kills): a clear error, nothing saved. SIGKILL during saves and two
//! processes saving at once are in tests/store_robustness.rs.
//!
//! The faulty endpoints are a raw TCP server on 127.0.0.1 in this process. For the later
//! steps the real provider (tests/support/provider.mjs) does discovery and the sign-in, its
//! discovery document pointing that one endpoint at the faulty server (Validate Endpoints
//! off, so an endpoint elsewhere is allowed). Every wait is bounded.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use common::{BrowserKind, Provider};
use ifs_connect::core::connector::{Auth, Connector, OpenIdAuth};
use ifs_connect::core::login::{self, BrowserMode, LoginEvent, LoginOptions, LoginOutcome};
use ifs_connect::core::secrets::MemorySecrets;

/// How the faulty server treats every request.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Reads the request, then says nothing for 30 s (the client's timeout is 500 ms).
    Slow,
    /// 200 with an HTML sign-in page, as a proxy or a wrong URL gives.
    Html,
    /// 500 with an HTML error page.
    ServerError,
    /// Headers promising 4096 bytes of JSON, 20 of them, then the connection closes.
    Drop,
}

struct FaultServer {
    base: String,
    hits: Arc<AtomicUsize>,
}

async fn fault_server(fault: Fault) -> FaultServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&hits);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(answer(stream, fault));
        }
    });
    FaultServer { base, hits }
}

async fn answer(mut stream: TcpStream, fault: Fault) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut seen = Vec::new();
    // Read the head (and whatever body came with it), bounded.
    while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 64 * 1024 {
        match tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => seen.extend_from_slice(&buf[..n]),
            _ => return,
        }
    }
    let html =
        "<!doctype html><html><head><title>Sign in</title></head><body>Sign in</body></html>";
    let reply = match fault {
        Fault::Slow => {
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        Fault::Html => format!(
            "HTTP/1.1 200 OK\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
            html.len()
        ),
        Fault::ServerError => format!(
            "HTTP/1.1 500 Internal Server Error\r\ncontent-type: text/html\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{html}",
            html.len()
        ),
        Fault::Drop => "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4096\r\n\r\n{\"access_token\": \"ab"
            .to_owned(),
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.shutdown().await;
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn options() -> LoginOptions {
    LoginOptions {
        timeout: Duration::from_secs(30),
        browser: BrowserMode::Never,
        http_timeout: Duration::from_millis(500),
        ..LoginOptions::default()
    }
}

fn connector(authority: &str, base_url: &str, validate_endpoints: bool) -> Connector {
    let mut c = Connector::new(
        "faults",
        Auth::OpenId(OpenIdAuth {
            authority_url: authority.to_owned(),
            client_id: "ifs-public".into(),
            scopes: "openid email".into(),
            validate_endpoints,
            ..OpenIdAuth::default()
        }),
    );
    c.base_url = base_url.to_owned();
    c.probe_path = String::new();
    c
}

/// Run a login in this process; on the sign-in URL the fetch browser signs in (when `log`).
async fn run_login(connector: Connector, browser_log: Option<&Path>) -> LoginOutcome {
    let (events_tx, mut events) = mpsc::unbounded_channel();
    let (_pasted_tx, pasted) = mpsc::channel(1);
    let run = tokio::spawn(login::run(
        connector,
        Arc::new(MemorySecrets::default()),
        options(),
        pasted,
        events_tx,
        CancellationToken::new(),
    ));
    let log = browser_log.map(Path::to_path_buf);
    while let Some(event) = events.recv().await {
        if let (LoginEvent::OpenUrl { url, .. }, Some(log)) = (event, log.clone()) {
            tokio::task::spawn_blocking(move || {
                common::run_browser(BrowserKind::Fetch, &url, &log, &[])
            });
        }
    }
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the login ends within 60 s")
        .unwrap()
}

fn assert_fails(outcome: &LoginOutcome, kind: &str, url_part: &str, words: &[&str]) {
    let error = outcome
        .error
        .as_ref()
        .unwrap_or_else(|| panic!("expected a failure, got {outcome:?}"));
    assert!(!outcome.ok);
    assert_eq!(error.kind.as_str(), kind, "{error:?}");
    assert!(
        error.message.contains(url_part),
        "the message names the endpoint {url_part}: {:?}",
        error.message
    );
    for word in words {
        assert!(
            error.message.to_lowercase().contains(word),
            "{word:?} in {:?}",
            error.message
        );
    }
}

// ---- discovery: the provider down, slow, HTML, dropping ------------------------------------------

#[test]
fn discovery_faults_end_the_login_with_a_message_naming_the_endpoint() {
    let rt = runtime();
    rt.block_on(async {
        // Down: a port that was just free.
        let closed = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let authority = format!("http://127.0.0.1:{closed}/realms/down");
        let outcome = run_login(connector(&authority, "http://127.0.0.1:9", true), None).await;
        assert_fails(&outcome, "discovery", &authority, &["connection refused"]);

        for (fault, words) in [
            (Fault::Slow, &["did not answer in time"][..]),
            (Fault::Html, &["html"][..]),
            (Fault::ServerError, &["500"][..]),
            (Fault::Drop, &[][..]),
        ] {
            let server = fault_server(fault).await;
            let authority = format!("{}/realms/{fault:?}", server.base);
            let started = Instant::now();
            let outcome = run_login(connector(&authority, &server.base, true), None).await;
            assert_fails(&outcome, "discovery", &authority, words);
            assert!(server.hits.load(Ordering::SeqCst) >= 1);
            // Bounded by the request timeout, not the 30 s the server would wait.
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "{fault:?} took too long"
            );
        }
    });
}

// ---- later steps: the real provider, one endpoint faulty ------------------------------------------

fn provider_with(key: &str, fault_base: &str) -> Provider {
    let patch = json!({ key: format!("{fault_base}/faulty/{key}") }).to_string();
    Provider::start_with(&[
        ("PROVIDER_DISCOVERY_PATCH", patch.as_str()),
        ("PROVIDER_PAR", "0"),
    ])
}

fn endpoint_fault(key: &str, fault: Fault, kind: &str, words: &[&str]) {
    common::rig_required();
    let rt = runtime();
    let server = rt.block_on(fault_server(fault));
    let provider = provider_with(key, &server.base);
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("browser.log");
    let url = format!("{}/faulty/{key}", server.base);
    let outcome = rt.block_on(run_login(
        connector(&provider.issuer, &provider.base_url, false),
        Some(&log),
    ));
    assert_fails(&outcome, kind, &url, words);
    assert!(
        server.hits.load(Ordering::SeqCst) >= 1,
        "the faulty {key} was asked"
    );
}

#[test]
fn token_endpoint_answering_500() {
    endpoint_fault(
        "token_endpoint",
        Fault::ServerError,
        "token_request",
        &["500"],
    );
}

#[test]
fn token_endpoint_too_slow() {
    endpoint_fault(
        "token_endpoint",
        Fault::Slow,
        "token_request",
        &["did not answer in time"],
    );
}

#[test]
fn token_endpoint_dropping_the_connection_mid_answer() {
    endpoint_fault("token_endpoint", Fault::Drop, "token_request", &[]);
}

#[test]
fn jwks_faults_are_discovery_failures_naming_the_jwks_uri() {
    for fault in [Fault::Html, Fault::Slow, Fault::Drop] {
        let rt = runtime();
        let server = rt.block_on(fault_server(fault));
        let provider = provider_with("jwks_uri", &server.base);
        let url = format!("{}/faulty/jwks_uri", server.base);
        let outcome = rt.block_on(run_login(
            connector(&provider.issuer, &provider.base_url, false),
            None,
        ));
        let error = outcome.error.expect("the JWKS fault fails the login");
        assert!(
            error.message.contains(&url),
            "{fault:?}: the message names the JWKS URL: {:?}",
            error.message
        );
        assert!(!outcome.ok);
    }
}

#[test]
fn userinfo_dropping_the_connection_or_answering_html() {
    for fault in [Fault::Drop, Fault::Html] {
        endpoint_fault("userinfo_endpoint", fault, "userinfo", &[]);
    }
}

// ---- the loopback listener under 10,000 junk requests --------------------------------------------

#[test]
fn the_listener_survives_10000_junk_requests_while_a_real_login_completes() {
    common::rig_required();
    let provider = Provider::start_with(&[("PROVIDER_PAR", "0")]);
    let rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("browser.log");
    let outcome = rt.block_on(async {
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (_pasted_tx, pasted) = mpsc::channel(1);
        let run = tokio::spawn(login::run(
            connector(&provider.issuer, &provider.base_url, true),
            Arc::new(MemorySecrets::default()),
            LoginOptions {
                http_timeout: Duration::from_secs(10),
                timeout: Duration::from_secs(90),
                ..options()
            },
            pasted,
            events_tx,
            CancellationToken::new(),
        ));
        let url = loop {
            match tokio::time::timeout(Duration::from_secs(20), events.recv()).await {
                Ok(Some(LoginEvent::OpenUrl { url, .. })) => break url,
                Ok(Some(_)) => {}
                other => panic!("no sign-in URL: {other:?}"),
            }
        };
        let port = listener_port(&url);
        // Four hammers, 2,500 junk requests each; the real sign-in starts once half of them
        // have been answered, so it completes while the other half keeps coming.
        let sent = Arc::new(AtomicUsize::new(0));
        let answered = Arc::new(AtomicUsize::new(0));
        let hammers: Vec<_> = (0..4)
            .map(|h| {
                let (sent, answered) = (Arc::clone(&sent), Arc::clone(&answered));
                tokio::spawn(async move {
                    let deadline = Instant::now() + Duration::from_secs(60);
                    for i in 0..2_500usize {
                        if Instant::now() > deadline {
                            break;
                        }
                        if junk(port, h * 2_500 + i).await {
                            answered.fetch_add(1, Ordering::Relaxed);
                        }
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while sent.load(Ordering::Relaxed) < 5_000 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let answered_before = answered.load(Ordering::Relaxed);
        let browser = tokio::task::spawn_blocking(move || {
            common::run_browser(BrowserKind::Fetch, &url, &log, &[])
        });
        let result = browser.await.unwrap();
        for h in hammers {
            h.await.unwrap();
        }
        while events.recv().await.is_some() {}
        let outcome = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .expect("the login ends")
            .unwrap();
        (
            outcome,
            result,
            sent.load(Ordering::Relaxed),
            answered_before,
        )
    });
    let (outcome, browser, sent, answered_before) = outcome;
    assert_eq!(sent, 10_000, "every junk request was sent");
    assert!(
        answered_before >= 5_000,
        "the listener answered the first 5,000 junk requests before the sign-in: {answered_before}"
    );
    assert!(
        outcome.ok,
        "the login completed despite the junk: {:?}; browser: {browser}",
        outcome.error
    );
}

/// One junk request of a few kinds, answer read (bounded) and dropped; whether the listener
/// answered (connected, and sent something back or closed cleanly). After the login ends the
/// listener is gone and the rest are refused, which is fine.
async fn junk(port: u16, i: usize) -> bool {
    let Ok(Ok(mut stream)) = tokio::time::timeout(
        Duration::from_secs(2),
        TcpStream::connect(("127.0.0.1", port)),
    )
    .await
    else {
        return false;
    };
    let request: Vec<u8> = match i % 5 {
        0 => format!("GET /callback?state=forged{i}&code=junk HTTP/1.1\r\nHost: x\r\n\r\n").into(),
        1 => b"GET /favicon.ico HTTP/1.1\r\n\r\n".to_vec(),
        2 => (0..200).map(|k| ((i * 31 + k * 7) % 256) as u8).collect(),
        3 => b"POST /callback HTTP/1.1\r\ncontent-length: 5\r\n\r\nhello".to_vec(),
        _ => b"GET /callback?error=access_denied HTTP/1.1\r\n\r\n".to_vec(),
    };
    let _ = stream.write_all(&request).await;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 1024];
    tokio::time::timeout(Duration::from_secs(2), async {
        loop {
            match stream.read(&mut sink).await {
                Ok(0) => return true,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await
    .unwrap_or(false)
}

fn listener_port(url: &str) -> u16 {
    let url = url::Url::parse(url).unwrap();
    let redirect = url
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .expect("redirect_uri")
        .1
        .into_owned();
    url::Url::parse(&redirect).unwrap().port().unwrap()
}

// ---- the keyring vanishing between start and save -------------------------------------------------

/// A session bus and an unlocked GNOME keyring of this test's own, both children of the test,
/// so the test can take them away.
struct PrivateKeyring {
    bus: std::process::Child,
    keyring: std::process::Child,
    address: String,
}

impl PrivateKeyring {
    fn start(home: &Path) -> PrivateKeyring {
        use std::io::{BufRead, BufReader, Write};
        use std::process::{Command, Stdio};
        for dir in ["data", "config", "runtime"] {
            std::fs::create_dir_all(home.join(dir)).unwrap();
        }
        let mut bus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--print-address=1"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("dbus-daemon");
        let mut address = String::new();
        BufReader::new(bus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_owned();
        assert!(!address.is_empty(), "dbus-daemon printed its address");
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--foreground", "--unlock", "--components=secrets"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("HOME", home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .env("XDG_RUNTIME_DIR", home.join("runtime"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("gnome-keyring-daemon");
        let mut stdin = keyring.stdin.take().unwrap();
        stdin.write_all(b"faults-test-keyring").unwrap();
        drop(stdin);
        PrivateKeyring {
            bus,
            keyring,
            address,
        }
    }

    /// Take the Secret Service away: the keyring daemon and the bus it was on.
    fn vanish(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.bus.kill();
        let _ = self.bus.wait();
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        self.vanish();
    }
}

#[test]
fn the_keyring_vanishing_before_the_save_is_a_clear_error_and_nothing_is_saved() {
    use std::io::Write;
    use std::process::Stdio;
    common::rig_required();
    let env = common::Env::new();
    let home = tempfile::tempdir().unwrap();
    let mut keyring = PrivateKeyring::start(home.path());
    // Give the keyring a moment to claim its name on the bus (bounded).
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        let probe = std::process::Command::new("secret-tool")
            .args(["search", "service", "faults-probe"])
            .env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if probe.is_ok_and(|s| s.success() || s.code() == Some(1)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let secret = "vanishing-secret-0123456789";
    let oauth2 = |name: &'static str| {
        [
            "add",
            "--name",
            name,
            "--base-url",
            "https://ifs.example.com",
            "--auth",
            "oauth2",
            "--authorization-endpoint",
            "https://ifs.example.com/auth/realms/p/protocol/openid-connect/auth",
            "--token-endpoint",
            "https://ifs.example.com/auth/realms/p/protocol/openid-connect/token",
            "--client-id",
            "confidential",
            "--client-secret-stdin",
        ]
    };
    // Control: with the keyring there, the same kind of save works.
    let mut control = env.cmd(&oauth2("present"));
    control.env("DBUS_SESSION_BUS_ADDRESS", &keyring.address);
    let out = common::run_bounded(
        &mut control,
        Some("present-secret\n"),
        Duration::from_secs(60),
        true,
    )
    .expect("add with the keyring present");
    assert!(
        out.status.success(),
        "control add: {}",
        common::describe(&out)
    );
    let mut add = env.cmd(&oauth2("vanish"));
    add.env("DBUS_SESSION_BUS_ADDRESS", &keyring.address)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = add.spawn().expect("ifs-connect add");
    // The program is up and waiting for the secret; now the Secret Service goes away.
    std::thread::sleep(Duration::from_millis(300));
    keyring.vanish();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{secret}\n").as_bytes()).unwrap();
    drop(stdin);
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("add did not finish within 60 s after the keyring vanished");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "add must fail: {stdout} {stderr}");
    eprintln!("add after the keyring vanished said: {stderr}");
    let said = stderr.to_lowercase();
    assert!(
        said.contains("keyring") || said.contains("secret service") || said.contains("secret"),
        "the error says the keyring is the problem: {stderr}"
    );
    assert!(
        !stdout.contains(secret) && !stderr.contains(secret),
        "the secret is never printed"
    );
    let config = std::fs::read_to_string(env.config_file()).unwrap_or_default();
    assert!(config.contains("present"), "the control connector is there");
    assert!(
        !config.contains("vanish"),
        "nothing was saved when the secret could not be: {config}"
    );
}
