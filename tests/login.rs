//! `ifs-connect login` against the real parts: the oidc-provider shaped like IFS's Keycloak,
//! headless Chromium and the fetch browser as `$BROWSER`, the Secret Service keyring.
//! Run through `./scripts/test --test login`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

// ---- helpers -------------------------------------------------------------------------------------

/// `add` an OpenId connector for the provider's Keycloak-shaped issuer.
fn add_openid(env: &Env, provider: &Provider, name: &str, extra: &[&str]) {
    let mut args = vec![
        "add",
        "--name",
        name,
        "--base-url",
        &provider.base_url,
        "--auth",
        "openid",
        "--authority",
        &provider.issuer,
        "--client-id",
        PUBLIC_CLIENT,
    ];
    args.extend_from_slice(extra);
    let out = env.run(&args, None);
    assert!(out.status.success(), "add: {}", describe(&out));
}

/// `add` an OAuth2 connector with the provider's endpoints; `secret` goes in through stdin.
fn add_oauth2(
    env: &Env,
    provider: &Provider,
    name: &str,
    client_id: &str,
    secret: Option<&str>,
    extra: &[&str],
) {
    let auth = provider.endpoint("auth");
    let token = provider.endpoint("token");
    let mut args = vec![
        "add",
        "--name",
        name,
        "--base-url",
        &provider.base_url,
        "--auth",
        "oauth2",
        "--authorization-endpoint",
        &auth,
        "--token-endpoint",
        &token,
        "--client-id",
        client_id,
    ];
    if secret.is_some() {
        args.push("--client-secret-stdin");
    }
    args.extend_from_slice(extra);
    let input = secret.map(|s| format!("{s}\n"));
    let out = env.run(&args, input.as_deref());
    assert!(out.status.success(), "add: {}", describe(&out));
}

fn json_outcome(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON object ({e}): {}", describe(out)))
}

fn step_names(outcome: &Value) -> Vec<String> {
    outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn listener_port(outcome: &Value) -> u16 {
    let detail = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "listener")
        .and_then(|s| s["detail"].as_str())
        .expect("a listener step");
    port_in(detail).expect("a port in the listener step")
}

/// The listener's port from its step detail ("listening on 127.0.0.1:PORT").
fn port_in(text: &str) -> Option<u16> {
    const MARK: &str = "listening on 127.0.0.1:";
    let at = text.find(MARK)? + MARK.len();
    let digits: String = text[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The port can be bound again: the listener is gone.
fn assert_port_free(port: u16) {
    TcpListener::bind(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("port {port} is still taken after the login ended: {e}"));
}

fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The program running in the background, its output collected as it comes. Killed (with its
/// process group: the browsers it starts) on drop.
struct Running {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Arc<Mutex<Vec<u8>>>,
    stderr: Arc<Mutex<String>>,
}

impl Running {
    fn start(mut cmd: Command) -> Running {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = cmd.spawn().expect("start ifs-connect");
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut out_pipe = child.stdout.take().unwrap();
        let sink = Arc::clone(&stdout);
        thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = out_pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        });
        let err_pipe = child.stderr.take().unwrap();
        let sink = Arc::clone(&stderr);
        thread::spawn(move || {
            for line in BufReader::new(err_pipe).lines() {
                let Ok(line) = line else { break };
                let mut s = sink.lock().unwrap();
                s.push_str(&line);
                s.push('\n');
            }
        });
        Running {
            stdin: child.stdin.take(),
            child,
            stdout,
            stderr,
        }
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Polls stderr until it contains `needle` (bounded).
    fn wait_stderr(&self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let text = self.stderr();
            if text.contains(needle) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "no '{needle}' on stderr within {timeout:?}:\n{text}"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The sign-in URL: the line of its own that the program prints before it waits.
    fn wait_url(&self) -> String {
        let text = self.wait_stderr("Waiting up to", Duration::from_secs(30));
        text.lines()
            .find(|l| l.starts_with("http://") || l.starts_with("https://"))
            .expect("a URL line")
            .to_owned()
    }

    fn send_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").unwrap();
        stdin.flush().unwrap();
    }

    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits (bounded) for the exit; returns the status, stdout and stderr.
    fn finish(mut self, timeout: Duration) -> (ExitStatus, String, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + timeout;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "ifs-connect did not exit within {timeout:?}; stderr:\n{}",
                self.stderr()
            );
            thread::sleep(Duration::from_millis(20));
        };
        // Let the reader threads catch the last bytes.
        thread::sleep(Duration::from_millis(100));
        let stdout = String::from_utf8_lossy(&self.stdout.lock().unwrap()).into_owned();
        (status, stdout, self.stderr())
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A person on another machine: signs in on the provider's dev pages with plain HTTP requests
/// and stops at the redirect to the program's listener, returning that URL unvisited.
fn sign_in_without_reaching_the_listener(start: &str, listener_port: u16) -> String {
    let mut cookies: Vec<(String, String)> = Vec::new();
    let mut target = start.to_owned();
    let mut form: Option<Vec<(String, String)>> = None;
    for _ in 0..20 {
        let url = url::Url::parse(&target).unwrap();
        if url.port() == Some(listener_port) {
            return target;
        }
        let cookie = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let mut headers = vec![("Cookie", cookie.as_str())];
        let body = form.take().map(|pairs| {
            headers.push(("Content-Type", "application/x-www-form-urlencoded"));
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(pairs)
                .finish()
        });
        let method = if body.is_some() { "POST" } else { "GET" };
        let response = http_request(
            method,
            &target,
            &headers,
            body.as_deref().map(str::as_bytes),
        )
        .unwrap_or_else(|e| panic!("{method} {target}: {e}"));
        for (name, value) in &response.headers {
            if name == "set-cookie"
                && let Some((k, v)) = value.split(';').next().and_then(|p| p.split_once('='))
            {
                cookies.retain(|(old, _)| old != k.trim());
                cookies.push((k.trim().to_owned(), v.trim().to_owned()));
            }
        }
        if let Some(location) = response.header("location") {
            target = url.join(location).unwrap().to_string();
            continue;
        }
        assert_eq!(response.status, 200, "{target}: {}", response.body);
        let (action, mut fields) = parse_form(&response.body);
        if fields.iter().any(|(k, _)| k == "login") {
            fields.retain(|(k, _)| k != "login" && k != "password");
            fields.push(("login".into(), "alice".into()));
            fields.push(("password".into(), "any-password".into()));
        }
        target = url.join(&action).unwrap().to_string();
        form = Some(fields);
    }
    panic!("no redirect to the listener after 20 requests");
}

/// The first form's action and its named inputs (the dev pages are simple and regular).
fn parse_form(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| {
        let key = format!("{name}=\"");
        let at = tag.find(&key)? + key.len();
        Some(tag[at..].split('"').next()?.replace("&amp;", "&"))
    };
    let form_at = html.find("<form").expect("a form on the provider page");
    let form_tag = &html[form_at..form_at + html[form_at..].find('>').unwrap()];
    let action = attr(form_tag, "action").expect("a form action");
    let mut fields = Vec::new();
    let mut rest = &html[form_at
        ..html[form_at..]
            .find("</form>")
            .map_or(html.len(), |e| form_at + e)];
    while let Some(at) = rest.find("<input") {
        let end = rest[at..].find('>').unwrap() + at;
        let tag = &rest[at..end];
        if let Some(name) = attr(tag, "name") {
            fields.push((name, attr(tag, "value").unwrap_or_default()));
        }
        rest = &rest[end..];
    }
    (action, fields)
}

// ---- tests ---------------------------------------------------------------------------------------

#[test]
fn chromium_login_with_a_public_client_succeeds_and_leaves_no_secret_behind() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_browser_chromium(&log);
    // A refresh token needs offline_access and prompt=consent on oidc-provider (NOTES.md 5).
    add_openid(
        &env,
        &provider,
        "prod",
        &[
            "--scopes",
            "openid email profile offline_access",
            "--param",
            "prompt=consent",
        ],
    );
    let started = Instant::now();
    let out = env.run(&["login", "prod", "--json"], None);
    let elapsed = started.elapsed();
    assert!(out.status.success(), "{}", describe(&out));
    eprintln!("chromium login took {elapsed:?}");

    let outcome = json_outcome(&out);
    assert_eq!(outcome["ok"], true);
    assert_eq!(
        step_names(&outcome),
        [
            "discovery",
            "jwks",
            "listener",
            "authorize",
            "browser",
            "callback",
            "token",
            "id_token",
            "userinfo",
            "probe",
            "keyring"
        ]
    );
    for step in outcome["steps"].as_array().unwrap() {
        assert_eq!(step["ok"], true, "{step}");
        assert!(step["ms"].is_u64() && step["detail"].is_string(), "{step}");
    }
    let claims = &outcome["claims"];
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["aud"], serde_json::json!([PUBLIC_CLIENT]));
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["refresh_token"], true);
    assert_eq!(claims["signature"]["verified"]["alg"], "RS256");
    assert!(claims["expires_at"].is_string() && claims["scope"].is_string());
    assert_eq!(outcome["probe"]["url"], provider.api_url().as_str());
    assert_eq!(outcome["probe"]["status"], 200);
    assert!(outcome["error"].is_null());
    assert!(step_names(&outcome).contains(&"authorize".to_owned()));
    assert!(
        outcome["steps"][3]["detail"]
            .as_str()
            .unwrap()
            .contains("(PAR)"),
        "the provider advertises PAR, so it is used"
    );

    // The program's own page rendered in Chromium.
    let page = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(page["ok"], true, "{page}");
    assert_eq!(page["status"], 200);
    assert_eq!(page["title"], "ifs-connect: sign-in received");
    assert!(
        page["text"].as_str().unwrap().contains("Sign-in received"),
        "{page}"
    );
    let code = query_param(page["final_url"].as_str().unwrap(), "code").expect("code");

    // The refresh token is in the keyring, and neither it nor the code is anywhere else.
    let id = connector_id(&env, "prod");
    let refresh = secret_tool_lookup(&format!("{id}/refresh_token")).expect("refresh token");
    assert_secret_nowhere(&env, &out, "refresh token", &refresh);
    assert_secret_nowhere(&env, &out, "authorization code", &code);
    let log_file = std::fs::read_to_string(env.data_dir().join("ifs-connect.log")).unwrap();
    assert!(log_file.contains("test login finished"), "{log_file}");
    assert_port_free(listener_port(&outcome));
    assert_eq!(provider.grant_count("authorization_code"), 1);
    let last: Value =
        serde_json::from_slice(&env.run(&["show", "prod", "--json"], None).stdout).unwrap();
    assert_eq!(last["last_test"]["ok"], true);
    assert_eq!(
        last["last_test"]["summary"],
        "signed in as alice@example.com"
    );
}

#[test]
fn confidential_oauth2_client_uses_basic_auth_with_the_secret_from_the_keyring() {
    rig_required();
    let provider = Provider::start_with(&[("PROVIDER_REFRESH", "always")]);
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_fetch_browser(&log);
    add_oauth2(
        &env,
        &provider,
        "conf",
        CONFIDENTIAL_CLIENT,
        Some(DEFAULT_CLIENT_SECRET),
        &[
            "--issuer",
            &provider.issuer,
            "--scopes",
            "openid email profile",
        ],
    );
    let out = env.run(&["login", "conf"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("Test login for 'conf': OK"), "{stdout}");
    assert!(stdout.contains("✓ Token exchange"), "{stdout}");
    assert!(stdout.contains("client_secret_basic"), "{stdout}");
    assert!(stdout.contains("Subject (sub)  alice"), "{stdout}");
    assert!(
        stdout.contains("Signature      verified (RS256)"),
        "{stdout}"
    );
    assert!(stdout.contains("HTTP 200"), "{stdout}");
    assert_eq!(provider.stats()["token_auth"]["basic"], 1);

    let id = connector_id(&env, "conf");
    let refresh = secret_tool_lookup(&format!("{id}/refresh_token")).expect("refresh token");
    assert_secret_nowhere(&env, &out, "client secret", DEFAULT_CLIENT_SECRET);
    assert_secret_nowhere(&env, &out, "refresh token", &refresh);
    // The browser writes its result after the app has finished: wait for it (bounded).
    let page = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    let code = query_param(page["final_url"].as_str().unwrap(), "code").unwrap();
    assert_secret_nowhere(&env, &out, "authorization code", &code);
}

#[test]
fn confidential_client_uses_post_when_the_provider_only_offers_post() {
    rig_required();
    let patch = r#"{"token_endpoint_auth_methods_supported":["client_secret_post"]}"#;
    let provider = Provider::start_with(&[("PROVIDER_DISCOVERY_PATCH", patch)]);
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_fetch_browser(&log);
    add_oauth2(
        &env,
        &provider,
        "post",
        CONFIDENTIAL_POST_CLIENT,
        Some(DEFAULT_CLIENT_SECRET),
        &["--issuer", &provider.issuer],
    );
    let out = env.run(&["login", "post", "--json"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let outcome = json_outcome(&out);
    let token = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "token")
        .unwrap();
    assert!(
        token["detail"]
            .as_str()
            .unwrap()
            .contains("client_secret_post")
    );
    assert_eq!(provider.stats()["token_auth"]["post"], 1);
    assert_secret_nowhere(&env, &out, "client secret", DEFAULT_CLIENT_SECRET);
}

#[test]
fn oauth2_without_an_issuer_says_the_signature_was_not_verified() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_fetch_browser(&log);
    add_oauth2(&env, &provider, "plain", PUBLIC_CLIENT, None, &[]);
    let out = env.run(&["login", "plain", "--json"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let outcome = json_outcome(&out);
    assert_eq!(outcome["claims"]["signature"], "not_verified_no_jwks");
    // No issuer: no discovery, no JWKS, no userinfo; the ID token's other checks still ran.
    let names = step_names(&outcome);
    assert!(!names.contains(&"discovery".to_owned()), "{names:?}");
    assert!(!names.contains(&"userinfo".to_owned()), "{names:?}");
    assert!(names.contains(&"id_token".to_owned()), "{names:?}");
}

#[test]
fn prefill_email_and_extra_parameters_reach_the_provider_in_order() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_fetch_browser(&log);
    add_openid(
        &env,
        &provider,
        "hint",
        &[
            "--no-par",
            "--prefill-user-email",
            "carol@example.com",
            "--param",
            "ui_locales=sv",
        ],
    );
    let out = env.run(&["login", "hint", "--json"], None);
    assert!(out.status.success(), "{}", describe(&out));
    // The browser writes its result after the app has finished: wait for it (bounded).
    let page = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(page["login_prefill"], "carol@example.com");
    // Without PAR the whole request is in the URL the browser opened.
    let opened = page["opened_url"].as_str().unwrap();
    let keys: Vec<String> = url::Url::parse(opened)
        .unwrap()
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "response_type",
            "client_id",
            "redirect_uri",
            "scope",
            "state",
            "nonce",
            "code_challenge",
            "code_challenge_method",
            "login_hint",
            "ui_locales"
        ]
    );
    assert_eq!(
        query_param(opened, "code_challenge_method").unwrap(),
        "S256"
    );
    assert!(query_param(opened, "code_challenge").unwrap().len() >= 43);
    assert!(query_param(opened, "state").unwrap().len() >= 22);
}

#[test]
fn no_browser_login_completes_with_the_redirect_url_pasted_on_stdin() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_openid(&env, &provider, "paste", &[]);
    let mut running = Running::start(env.cmd(&["login", "paste", "--no-browser", "--json"]));
    let url = running.wait_url();
    let stderr = running.stderr();
    assert!(
        stderr.contains("not opening a browser, as asked"),
        "{stderr}"
    );
    let port = port_in(&stderr).expect("listener port on stderr");
    let redirected = sign_in_without_reaching_the_listener(&url, port);
    assert!(redirected.contains("code="));
    // A URL that is not the redirect is refused and the wait goes on.
    running.send_line("https://example.com/not-it");
    running.wait_stderr("the pasted URL was not accepted", Duration::from_secs(10));
    running.send_line(&redirected);
    let (status, stdout, stderr) = running.finish(Duration::from_secs(60));
    assert!(status.success(), "{stdout}\n{stderr}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(outcome["ok"], true);
    let callback = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "callback")
        .unwrap();
    assert_eq!(callback["detail"], "pasted redirect URL accepted");
    let code = query_param(&redirected, "code").unwrap();
    assert!(!stdout.contains(&code) && !stderr.contains(&code));
    assert_port_free(port);
}

/// One raw request to the listener; the answer's status, or None when the connection broke.
fn raw_request(port: u16, bytes: &[u8]) -> Option<u16> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .ok()?;
    let _ = stream.write_all(bytes);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer);
    text.split_whitespace().nth(1).and_then(|s| s.parse().ok())
}

#[test]
fn the_listener_survives_junk_and_listens_only_on_loopback() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_openid(&env, &provider, "robust", &[]);
    let running = Running::start(env.cmd(&["login", "robust", "--no-browser", "--json"]));
    let url = running.wait_url();
    let port = port_in(&running.stderr()).unwrap();

    // Only 127.0.0.1 listens on that port: nothing on IPv6, nothing on other addresses.
    let hex_port = format!(":{port:04X}");
    let tcp = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let listening: Vec<&str> = tcp
        .lines()
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            cols.len() > 3 && cols[1].ends_with(&hex_port) && cols[3] == "0A"
        })
        .collect();
    assert_eq!(listening.len(), 1, "{listening:?}");
    assert!(
        listening[0]
            .split_whitespace()
            .nth(1)
            .unwrap()
            .starts_with("0100007F:")
    );
    let tcp6 = std::fs::read_to_string("/proc/net/tcp6").unwrap_or_default();
    assert!(!tcp6.lines().any(|l| {
        l.split_whitespace()
            .nth(1)
            .is_some_and(|a| a.ends_with(&hex_port))
    }));
    assert!(TcpStream::connect(("127.0.0.2", port)).is_err());

    // A connection that never finishes its request, held open through the rest of the test.
    let mut stalled = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stalled.write_all(b"GET /callback?code=x&sta").unwrap();

    // 200 junk and malformed requests: each gets an answer (or a closed connection), none ends
    // the wait.
    let junk: [&[u8]; 8] = [
        b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"POST /callback?code=a&state=b HTTP/1.1\r\nContent-Length: 0\r\n\r\n",
        b"GET /callback?code=a&state=wrong HTTP/1.1\r\n\r\n",
        b"GET /callback HTTP/1.1\r\n\r\n",
        b"\x00\x01\x02 garbage \xff\r\n\r\n",
        b"GET /callback?code=a&state=b&state=c HTTP/1.1\r\n\r\n",
        b"",
    ];
    let mut answered = 0;
    for i in 0..200 {
        let request = junk[i % junk.len()];
        if request.is_empty() {
            // Connect and hang up at once.
            drop(TcpStream::connect(("127.0.0.1", port)).unwrap());
            continue;
        }
        if let Some(status) = raw_request(port, request) {
            assert!(
                (400..500).contains(&status),
                "{status} for {:?}",
                String::from_utf8_lossy(request)
            );
            answered += 1;
        }
    }
    assert!(
        answered >= 150,
        "only {answered} junk requests were answered"
    );
    let huge = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(40_000));
    assert!(matches!(
        raw_request(port, huge.as_bytes()),
        Some(431) | None
    ));

    // A real sign-in still completes through the listener.
    let log = env.path("browser.log");
    let page = run_browser(BrowserKind::Fetch, &url, &log, &[]);
    assert_eq!(page["status"], 200, "{page}");
    let (status, stdout, stderr) = running.finish(Duration::from_secs(60));
    assert!(status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("state does not match"), "{stderr}");
    drop(stalled);
    assert_port_free(port);
}

#[test]
fn the_port_is_free_again_after_a_failure_and_a_timeout() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env
        .with_fetch_browser(&log)
        .with_env("BROWSER_ACTION", "deny");
    add_openid(&env, &provider, "deny", &[]);
    let out = env.run(&["login", "deny", "--json"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let outcome = json_outcome(&out);
    assert_eq!(outcome["ok"], false);
    assert_eq!(outcome["error"]["kind"], "authorization_denied");
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access_denied")
    );
    assert_port_free(listener_port(&outcome));
    // The browser writes its result after the app has finished: wait for it (bounded).
    let page = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(page["title"], "ifs-connect: sign-in not completed");

    let out = env.run(
        &["login", "deny", "--json", "--no-browser", "--timeout", "1"],
        None,
    );
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let outcome = json_outcome(&out);
    assert_eq!(outcome["error"]["kind"], "timeout");
    assert_port_free(listener_port(&outcome));
    let shown: Value =
        serde_json::from_slice(&env.run(&["show", "deny", "--json"], None).stdout).unwrap();
    assert_eq!(shown["last_test"]["ok"], false);
    assert!(
        shown["last_test"]["summary"]
            .as_str()
            .unwrap()
            .starts_with("timeout:")
    );
}

#[test]
fn ctrl_c_cancels_the_wait_cleanly() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_openid(&env, &provider, "cancel", &[]);
    let running = Running::start(env.cmd(&["login", "cancel", "--no-browser", "--json"]));
    running.wait_url();
    let port = port_in(&running.stderr()).unwrap();
    running.signal("-INT");
    let (status, stdout, stderr) = running.finish(Duration::from_secs(30));
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(outcome["error"]["kind"], "cancelled");
    assert_port_free(port);
}

#[test]
fn an_unknown_connector_is_a_usage_error() {
    let env = Env::new();
    let out = env.run(&["login", "nope"], None);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no connector named 'nope'"));
}
