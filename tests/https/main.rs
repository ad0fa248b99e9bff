//! HTTPS and proxies as users meet them, through the real binary: the sandbox serving HTTPS
//! with certificates this run makes (trusted through SSL_CERT_FILE, SSL_CERT_DIR or a
//! connector's --ca-file; expired, for another host, or from an unknown CA), and logins
//! through a real CONNECT proxy (tests/https/proxy.rs) that is the only way to the provider.
//! Run through `./scripts/test --test https`.

#[path = "../common/mod.rs"]
mod common;

mod certs;
mod proxy;

use std::process::{Command, Output};
use std::time::Duration;

use common::sandbox::SandboxProcess;
use common::*;
use serde_json::Value;

use certs::{Ca, PROXIED_HOST};
use proxy::{ConnectProxy, Mode};

/// Variables a developer's shell may carry that would change what these tests prove.
const AMBIENT: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

/// The binary with `args`, the Env's variables, none of the ambient ones, and `vars`.
fn run(env: &Env, args: &[&str], vars: &[(&str, &str)]) -> Output {
    let mut cmd: Command = env.cmd(args);
    for name in AMBIENT {
        cmd.env_remove(name);
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run_bounded(&mut cmd, None, RUN_TIMEOUT, true).unwrap_or_else(|e| panic!("{e}"))
}

/// `login NAME --json`: the outcome and the process output.
fn login(env: &Env, name: &str, vars: &[(&str, &str)]) -> (Value, Output) {
    let out = run(env, &["login", name, "--json"], vars);
    let outcome: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login --json printed no JSON ({e}): {}", describe(&out)));
    (outcome, out)
}

fn assert_ok(outcome: &Value, out: &Output) {
    assert_eq!(outcome["ok"], true, "{}", describe(out));
    for step in outcome["steps"].as_array().unwrap() {
        assert_eq!(step["ok"], true, "{step}");
    }
    assert_eq!(out.status.code(), Some(0));
}

/// The error of a failed login: kind, message, hint.
fn failure(outcome: &Value, out: &Output) -> (String, String, String) {
    assert_eq!(outcome["ok"], false, "{}", describe(out));
    assert_eq!(out.status.code(), Some(1), "{}", describe(out));
    let e = &outcome["error"];
    let text = |k: &str| e[k].as_str().unwrap_or("").to_owned();
    (text("kind"), text("message"), text("hint"))
}

/// The fetch browser, trusting `ca` the way Node does (it is not the product under test).
fn fetch_env(ca: &std::path::Path) -> Env {
    with_fetch_browser(Env::new(), ca)
}

fn with_fetch_browser(env: Env, ca: &std::path::Path) -> Env {
    let log = env.path("browser.log");
    env.with_fetch_browser(&log)
        .with_env("BROWSER_PASSWORD", "demo")
        .with_env("NODE_EXTRA_CA_CERTS", ca)
}

fn sandbox(env: &Env, leaf_args: &[String], extra: &[&str]) -> SandboxProcess {
    let mut args: Vec<&str> = leaf_args.iter().map(String::as_str).collect();
    args.extend_from_slice(extra);
    SandboxProcess::start(env, &args)
}

fn https_issuer(sb: &SandboxProcess) -> String {
    let issuer = sb.issuer();
    assert!(issuer.starts_with("https://"), "{issuer}");
    issuer
}

#[test]
fn an_untrusted_ca_is_refused_until_ssl_cert_file_names_it() {
    rig_required();
    let ca = Ca::new("Test Corp Root CA");
    let scratch = tempfile::tempdir().unwrap();
    let ca_path = ca.write(scratch.path(), "corp-ca.pem");
    let env = fetch_env(&ca_path);
    let leaf = ca.current_leaf(&["127.0.0.1", "localhost"]);
    let sb = sandbox(&env, &leaf.sandbox_args(env.root(), "good"), &["--add"]);
    let issuer = https_issuer(&sb);

    let (outcome, out) = login(&env, "sandbox-openid", &[]);
    let (kind, message, hint) = failure(&outcome, &out);
    assert_eq!(kind, "tls_certificate", "{}", describe(&out));
    assert!(
        message.starts_with("127.0.0.1 was not trusted"),
        "{message}"
    );
    assert!(
        message.contains("issued by a certificate authority this computer does not trust"),
        "{message}"
    );
    assert!(message.contains(&issuer), "{message}");
    assert!(
        hint.contains("--ca-file") && hint.contains("SSL_CERT_FILE"),
        "{hint}"
    );
    assert!(hint.contains("cannot be turned off"), "{hint}");
    // The human form says the same, with the fix.
    let out = run(&env, &["login", "sandbox-openid"], &[]);
    let text = format!("{}{}", stdout_of(&out), stderr_of(&out));
    assert!(
        text.contains("Error (tls_certificate): 127.0.0.1 was not trusted"),
        "{text}"
    );
    assert!(text.contains("SSL_CERT_FILE=CA.pem"), "{text}");

    // SSL_CERT_FILE adds the CA to the OS store (debug log: both counted), and a proxy set
    // for everything is not used for the loopback provider nor for the loopback redirect.
    let dead = ConnectProxy::start(Mode::Refuse(502), &[]);
    let vars = [
        ("SSL_CERT_FILE", ca_path.to_str().unwrap()),
        ("HTTPS_PROXY", &dead.url()),
        ("HTTP_PROXY", &dead.url()),
        ("IFS_CONNECT_LOG", "debug"),
    ];
    let (outcome, out) = login(&env, "sandbox-openid", &vars);
    assert_ok(&outcome, &out);
    assert_eq!(outcome["claims"]["iss"], issuer.as_str());
    assert_eq!(outcome["probe"]["status"], 200);
    assert!(
        outcome["probe"]["url"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:"),
        "{outcome}"
    );
    assert_eq!(
        dead.log(),
        Vec::<String>::new(),
        "loopback went through the proxy"
    );
    let log = std::fs::read_to_string(env.data_dir().join("ifs-connect.log")).unwrap();
    let anchors = log
        .lines()
        .rfind(|l| l.contains("trust anchors loaded"))
        .unwrap_or_else(|| panic!("no trust line in the log:\n{log}"));
    let count = |key: &str| -> u64 {
        let at = anchors.find(&format!("{key}=")).unwrap() + key.len() + 1;
        anchors[at..]
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(count("os") > 0, "the OS store was dropped: {anchors}");
    assert_eq!(count("env"), 1, "{anchors}");
}

#[test]
fn ssl_cert_dir_and_a_connector_ca_file_are_trusted_for_every_call() {
    rig_required();
    let ca = Ca::new("Test Private CA");
    let scratch = tempfile::tempdir().unwrap();
    let ca_dir = scratch.path().join("certs");
    std::fs::create_dir(&ca_dir).unwrap();
    let ca_path = ca.write(&ca_dir, "private-ca.pem");
    let env = fetch_env(&ca_path);
    let leaf = ca.current_leaf(&["127.0.0.1"]);
    let _sb = sandbox(&env, &leaf.sandbox_args(env.root(), "good"), &["--add"]);

    // SSL_CERT_DIR, for the confidential client (token endpoint with the secret).
    let dir = ca_dir.to_str().unwrap();
    let (outcome, out) = login(&env, "sandbox-oauth2", &[("SSL_CERT_DIR", dir)]);
    assert_ok(&outcome, &out);

    // A bad --ca-file is refused with the reason, and nothing changes.
    let notes = env.path("notes.txt");
    std::fs::write(&notes, "not a certificate").unwrap();
    let out = run(
        &env,
        &[
            "edit",
            "sandbox-openid",
            "--ca-file",
            notes.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("CA file (--ca-file)"), "{stderr}");
    assert!(stderr.contains("holds no certificate"), "{stderr}");
    let out = run(
        &env,
        &["edit", "sandbox-openid", "--ca-file", "gone.pem"],
        &[],
    );
    assert!(
        stderr_of(&out).contains("gone.pem does not exist"),
        "{}",
        describe(&out)
    );

    // A relative --ca-file is kept absolute, shown, exported and used by every call.
    std::fs::copy(&ca_path, env.root().join("ca.pem")).unwrap();
    let out = run(
        &env,
        &["edit", "sandbox-openid", "--ca-file", "ca.pem"],
        &[],
    );
    assert!(out.status.success(), "{}", describe(&out));
    let absolute = env.root().join("ca.pem").display().to_string();
    let show = stdout_of(&run(&env, &["show", "sandbox-openid"], &[]));
    assert!(
        show.lines()
            .any(|l| l.starts_with("CA file") && l.ends_with(&absolute)),
        "{show}"
    );
    let (outcome, out) = login(&env, "sandbox-openid", &[]);
    assert_ok(&outcome, &out);
    // refresh (token after dropping the cache is not possible here) and revoke: logout.
    let out = run(&env, &["logout", "sandbox-openid"], &[]);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(
        stdout_of(&out).to_lowercase().contains("revoked"),
        "{}",
        describe(&out)
    );

    let export = run(&env, &["export", "sandbox-openid"], &[]);
    let file: Value = serde_json::from_slice(&export.stdout).unwrap();
    assert_eq!(file["connectors"][0]["ca_file"], absolute.as_str());
    let other = Env::new();
    let path = other.path("connectors.json");
    std::fs::write(&path, &export.stdout).unwrap();
    let out = run(&other, &["import", path.to_str().unwrap()], &[]);
    assert!(out.status.success(), "{}", describe(&out));
    let shown = run(&other, &["show", "sandbox-openid", "--json"], &[]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["ca_file"], absolute.as_str());

    // "" removes it again: the CA is then unknown.
    let out = run(&env, &["edit", "sandbox-openid", "--ca-file", ""], &[]);
    assert!(out.status.success(), "{}", describe(&out));
    let (outcome, out) = login(&env, "sandbox-openid", &[]);
    assert_eq!(failure(&outcome, &out).0, "tls_certificate");
}

#[test]
fn expired_misnamed_and_unknown_certificates_are_tls_certificate_errors() {
    rig_required();
    let ca = Ca::new("Test Corp Root CA");
    let stranger = Ca::new("Somebody Else's CA");
    let scratch = tempfile::tempdir().unwrap();
    let ca_path = ca.write(scratch.path(), "corp-ca.pem");
    let trust = [("SSL_CERT_FILE", ca_path.to_str().unwrap())];
    let past = time::macros::datetime!(2020-01-01 0:00 UTC);
    let cases = [
        (
            "expired",
            ca.leaf(&["127.0.0.1"], past, past + time::Duration::days(31)),
            "its certificate expired on 2020-02-01 00:00 UTC",
            "renewed",
        ),
        (
            "wrong-host",
            ca.current_leaf(&["other.ifs.test"]),
            "its certificate is for other.ifs.test, not for this host",
            "host name the certificate was issued for",
        ),
        (
            "unknown-ca",
            stranger.current_leaf(&["127.0.0.1"]),
            "issued by a certificate authority this computer does not trust",
            "--ca-file",
        ),
    ];
    for (stem, leaf, reason, fix) in cases {
        let env = fetch_env(&ca_path);
        let sb = sandbox(&env, &leaf.sandbox_args(env.root(), stem), &["--add"]);
        let (outcome, out) = login(&env, "sandbox-openid", &trust);
        let (kind, message, hint) = failure(&outcome, &out);
        assert_eq!(kind, "tls_certificate", "{stem}: {}", describe(&out));
        assert!(
            message.starts_with("127.0.0.1 was not trusted"),
            "{stem}: {message}"
        );
        assert!(message.contains(reason), "{stem}: {message}");
        assert!(message.contains(&sb.issuer()), "{stem}: {message}");
        assert!(
            !message.contains("could not find the host"),
            "{stem}: {message}"
        );
        assert!(hint.contains(fix), "{stem}: {hint}");
        assert!(
            env.browser_result().is_none(),
            "{stem}: a browser was opened"
        );
    }
}

#[test]
fn sandbox_tls_writes_its_ca_and_the_added_connectors_trust_it() {
    rig_required();
    let env = Env::new();
    let ca_file = env.data_dir().join("sandbox-ca.pem");
    let env = with_fetch_browser(env, &ca_file);
    let sb = SandboxProcess::start(&env, &["--tls", "--add"]);
    https_issuer(&sb);
    assert_eq!(sb.info["ca_file"], ca_file.display().to_string().as_str());
    let pem = std::fs::read_to_string(&ca_file).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE KEY"));
    let (outcome, out) = login(&env, "sandbox-openid", &[]);
    assert_ok(&outcome, &out);
    let (outcome, out) = login(&env, "sandbox-oauth2", &[]);
    assert_ok(&outcome, &out);

    // The instructions (no --json) say where the CA is and how to trust it.
    let plain = Env::new();
    let text = sandbox_instructions(&plain);
    let written = plain
        .data_dir()
        .join("sandbox-ca.pem")
        .display()
        .to_string();
    assert!(text.contains(&written), "{text}");
    assert!(text.contains(&format!("SSL_CERT_FILE={written}")), "{text}");
    assert!(text.contains("https://127.0.0.1:"), "{text}");
}

/// What `sandbox --tls` prints before serving (read until the sandbox is stopped).
fn sandbox_instructions(env: &Env) -> String {
    use std::io::{BufRead, BufReader};
    let mut cmd = env.cmd(&["sandbox", "--tls"]);
    cmd.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .stdin(std::process::Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            text.push_str(&line);
            text.push('\n');
            if line.starts_with("Or stop this") {
                break;
            }
        }
        let _ = tx.send(text);
    });
    let text = rx.recv_timeout(Duration::from_secs(60));
    let _ = child.kill();
    let _ = child.wait();
    text.expect("the sandbox printed no instructions in 60 s")
}

// ---- proxies -----------------------------------------------------------------------------------

/// A connector for a provider under a name that does not resolve here.
fn add_unresolvable(env: &Env) {
    let authority = format!("https://{PROXIED_HOST}:9/auth/realms/ifs");
    let out = run(
        env,
        &[
            "add",
            "--name",
            "behind-proxy",
            "--auth",
            "openid",
            "--base-url",
            &format!("https://{PROXIED_HOST}:9"),
            "--authority",
            &authority,
            "--client-id",
            "flow",
        ],
        &[],
    );
    assert!(out.status.success(), "{}", describe(&out));
}

#[test]
fn a_login_goes_through_a_connect_proxy_that_is_the_only_way_to_the_provider() {
    rig_required();
    let ca = Ca::new("Corporate Inspection CA");
    let scratch = tempfile::tempdir().unwrap();
    let ca_path = ca.write(scratch.path(), "corp-ca.pem");
    let leaf = ca.current_leaf(&[PROXIED_HOST]);
    let proxy = ConnectProxy::start(Mode::Tunnel, &[PROXIED_HOST]);
    let env = Env::new();
    let log = env.path("browser.log");
    let chromium_args = format!(
        "--proxy-server={} --ignore-certificate-errors-spki-list={}",
        proxy.url(),
        leaf.spki_sha256
    );
    let env = env
        .with_browser_chromium(&log)
        .with_env("BROWSER_PASSWORD", "demo")
        .with_env("BROWSER_ALLOW_HOSTS", PROXIED_HOST)
        .with_env("BROWSER_CHROMIUM_ARGS", &chromium_args);
    let mut args = leaf.sandbox_args(env.root(), "proxied");
    args.extend([
        "--hostname".to_owned(),
        PROXIED_HOST.to_owned(),
        "--add".to_owned(),
    ]);
    let sb = sandbox(&env, &args, &[]);
    let issuer = https_issuer(&sb);
    assert!(
        issuer.starts_with(&format!("https://{PROXIED_HOST}:")),
        "{issuer}"
    );
    let ca_arg = ca_path.to_str().unwrap();

    // Without the proxy the name does not resolve: the proxy is the only way there.
    let (outcome, out) = login(&env, "sandbox-openid", &[("SSL_CERT_FILE", ca_arg)]);
    let (kind, message, _) = failure(&outcome, &out);
    assert_eq!(kind, "discovery", "{message}");
    assert!(message.contains("could not find the host"), "{message}");

    let url = proxy.url();
    let vars = [
        ("SSL_CERT_FILE", ca_arg),
        ("HTTPS_PROXY", url.as_str()),
        ("HTTP_PROXY", url.as_str()),
    ];
    let (outcome, out) = login(&env, "sandbox-openid", &vars);
    assert_ok(&outcome, &out);
    assert_eq!(outcome["claims"]["iss"], issuer.as_str());
    assert_eq!(outcome["probe"]["status"], 200);
    let page = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(page["ok"], true, "{page}");
    assert!(
        page["final_url"]
            .as_str()
            .unwrap()
            .starts_with("http://127.0.0.1:"),
        "the redirect did not reach the loopback listener: {page}"
    );

    let lines = proxy.log();
    eprintln!("proxy log:\n{}", lines.join("\n"));
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("CONNECT {PROXIED_HOST}:")) && l.contains("Chrome")),
        "Chromium did not reach the provider through the proxy: {lines:?}"
    );
    let ours: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("ua=ifs-connect/"))
        .collect();
    let target = format!("CONNECT {PROXIED_HOST}:{} ", sb.port());
    assert!(
        !ours.is_empty(),
        "ifs-connect did not use the proxy: {lines:?}"
    );
    assert!(
        ours.iter()
            .all(|l| l.starts_with(&target) && l.ends_with("-> 200")),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .all(|l| !l.contains("127.0.0.1") && !l.contains("localhost")),
        "loopback traffic went through the proxy: {lines:?}"
    );
}

#[test]
fn a_proxy_that_is_down_or_refuses_is_a_proxy_error_naming_it_without_credentials() {
    rig_required();
    let env = Env::new();
    add_unresolvable(&env);
    let target = format!("https://{PROXIED_HOST}:9/auth/realms/ifs");

    // Down: nothing listens on the port (a proxy bound and dropped at once).
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let with_password = format!("http://alice:pr0xy-pa55word@127.0.0.1:{port}");
    let (outcome, out) = login(&env, "behind-proxy", &[("https_proxy", &with_password)]);
    let (kind, message, hint) = failure(&outcome, &out);
    assert_eq!(kind, "proxy", "{message}");
    assert!(
        message.starts_with(&format!(
            "the proxy http://127.0.0.1:{port} could not be reached"
        )),
        "{message}"
    );
    assert!(message.contains(&target), "{message}");
    assert!(hint.contains("HTTPS_PROXY"), "{hint}");
    for text in [stdout_of(&out), stderr_of(&out)] {
        assert!(
            !text.contains("pr0xy-pa55word") && !text.contains("alice"),
            "{text}"
        );
    }
    let log = std::fs::read_to_string(env.data_dir().join("ifs-connect.log")).unwrap_or_default();
    assert!(
        !log.contains("pr0xy-pa55word"),
        "the proxy password is in the log"
    );

    for (status, words) in [
        (407, "asks for credentials (HTTP 407)"),
        (403, "refused to open a connection to the host"),
        (502, "refused to open a connection to the host"),
    ] {
        let proxy = ConnectProxy::start(Mode::Refuse(status), &[]);
        let (outcome, out) = login(&env, "behind-proxy", &[("HTTPS_PROXY", &proxy.url())]);
        let (kind, message, hint) = failure(&outcome, &out);
        assert_eq!(kind, "proxy", "{status}: {message}");
        assert!(
            message.contains(&format!("the proxy {} {words}", proxy.url())),
            "{message}"
        );
        assert!(!hint.is_empty(), "{status}");
        assert!(
            proxy
                .log()
                .iter()
                .any(|l| l.starts_with(&format!("CONNECT {PROXIED_HOST}:9 "))),
            "{status}: {:?}",
            proxy.log()
        );
    }
}

#[test]
fn no_proxy_sends_a_host_around_the_proxy_in_either_case() {
    rig_required();
    let env = Env::new();
    add_unresolvable(&env);
    let proxy = ConnectProxy::start(Mode::Refuse(403), &[]);
    for (var, list) in [
        ("NO_PROXY", PROXIED_HOST),
        ("no_proxy", "localhost, .ifs.test"),
    ] {
        let (outcome, out) = login(
            &env,
            "behind-proxy",
            &[("HTTPS_PROXY", &proxy.url()), (var, list)],
        );
        let (kind, message, _) = failure(&outcome, &out);
        // Straight to the name, which does not resolve here: not the proxy's refusal.
        assert_eq!(kind, "discovery", "{var}={list}: {message}");
        assert!(message.contains("could not find the host"), "{message}");
    }
    assert_eq!(proxy.log(), Vec::<String>::new());
    // And without NO_PROXY the same login meets the proxy.
    let (outcome, out) = login(&env, "behind-proxy", &[("HTTPS_PROXY", &proxy.url())]);
    assert_eq!(failure(&outcome, &out).0, "proxy");
    assert_eq!(proxy.log().len(), 1, "{:?}", proxy.log());
}
