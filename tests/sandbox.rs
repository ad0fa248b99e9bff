//! `ifs-connect sandbox`: the local IFS-Cloud-like identity provider and API.
//!
//! The sandbox runs as a child process (`ifs-connect sandbox --json`, killed on drop); the
//! CLI logs in against it with the rig's browsers and keyring, and the protocol tests talk to
//! it directly over HTTP to prove it refuses what a strict provider must refuse.
//! Run through `./scripts/test --test sandbox`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use common::sandbox::{START_TIMEOUT, SandboxProcess};
use common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};

const PUBLIC: &str = "ifs-connect-public";
const CONFIDENTIAL: &str = "ifs-connect-confidential";
const DEMO_SUB: &str = "6f1d2c3b-8a4e-4b7f-9c21-5d0e3a9b7c41";

// ---- driving the protocol by hand ---------------------------------------------------------------

struct Pkce {
    verifier: String,
    challenge: String,
}

fn pkce() -> Pkce {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).unwrap();
    let verifier = URL_SAFE_NO_PAD.encode(bytes);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Pkce {
        verifier,
        challenge,
    }
}

fn encode(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// The authorization request's URL with the usual parameters and `extra` ones.
fn authorize_url(
    sb: &SandboxProcess,
    client: &str,
    redirect_uri: &str,
    extra: &[(&str, &str)],
) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect_uri),
        ("scope", "openid"),
        ("state", "st-123"),
        ("nonce", "n-456"),
    ];
    pairs.extend_from_slice(extra);
    format!("{}?{}", sb.endpoint("auth"), encode(&pairs))
}

/// The value of the first `name="..."` attribute in `html`.
fn attribute(html: &str, name: &str) -> Option<String> {
    let mark = format!("{name}=\"");
    let start = html.find(&mark)? + mark.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Open the login page at `url`, sign in as `login`/`password`, and return the response.
fn submit_login(sb: &SandboxProcess, url: &str, login: &str, password: &str) -> HttpResponse {
    let page = http_get(url);
    assert_eq!(page.status, 200, "login page: {}", page.body);
    let action = attribute(&page.body, "action").expect("a form action");
    let action = format!("{}{action}", sb.base_url());
    http_post_form(&action, &[], &[("login", login), ("password", password)])
}

/// Sign in at `url` as demo and return the code from the redirect to `redirect_uri`.
fn code_for(sb: &SandboxProcess, url: &str, redirect_uri: &str) -> String {
    let answer = submit_login(sb, url, "demo", "demo");
    assert_eq!(answer.status, 302, "sign-in: {}", answer.body);
    let location = answer.header("location").expect("a Location").to_owned();
    assert!(location.starts_with(redirect_uri), "{location}");
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-123"));
    assert_eq!(query_param(&location, "iss"), Some(sb.issuer()));
    query_param(&location, "code").expect("a code")
}

/// A public-client code with PKCE, and its verifier.
fn public_code(sb: &SandboxProcess, redirect_uri: &str) -> (String, Pkce) {
    let p = pkce();
    let url = authorize_url(
        sb,
        PUBLIC,
        redirect_uri,
        &[
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
        ],
    );
    (code_for(sb, &url, redirect_uri), p)
}

fn basic(client: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{client}:{secret}")))
}

fn token_request(
    sb: &SandboxProcess,
    form: &[(&str, &str)],
    authorization: Option<&str>,
) -> HttpResponse {
    let headers: Vec<(&str, &str)> = authorization
        .map(|a| ("Authorization", a))
        .into_iter()
        .collect();
    http_post_form(&sb.endpoint("token"), &headers, form)
}

fn exchange_public(
    sb: &SandboxProcess,
    code: &str,
    redirect_uri: &str,
    verifier: &str,
) -> HttpResponse {
    token_request(
        sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
        ],
        None,
    )
}

fn refresh(sb: &SandboxProcess, refresh_token: &str) -> HttpResponse {
    token_request(
        sb,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", PUBLIC),
            ("refresh_token", refresh_token),
        ],
        None,
    )
}

fn bearer_get(url: &str, token: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    http_request("GET", url, &[("Authorization", auth.as_str())], None)
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
}

fn assert_oauth_error(r: &HttpResponse, status: u16, error: &str) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.json()["error"], error, "{}", r.body);
}

/// A full public-client login by hand: the token response.
fn tokens(sb: &SandboxProcess) -> Value {
    let redirect = "http://127.0.0.1:40000/callback";
    let (code, p) = public_code(sb, redirect);
    let r = exchange_public(sb, &code, redirect, &p.verifier);
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn jwt_part(token: &str, index: usize) -> Value {
    let part = token.split('.').nth(index).expect("a JWT");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

// ---- the CLI against the sandbox ----------------------------------------------------------------

fn connector_id(env: &Env, name: &str) -> String {
    let out = env.run(&["show", name, "--json"], None);
    assert!(out.status.success(), "show: {}", describe(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["id"].as_str().unwrap().to_owned()
}

fn login_json(env: &Env, name: &str) -> (Value, std::process::Output, Duration) {
    let started = Instant::now();
    let out = env.run(&["login", name, "--json"], None);
    let took = started.elapsed();
    let outcome: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login --json printed no JSON ({e}): {}", describe(&out)));
    (outcome, out, took)
}

/// The fetch browser signs in with the sandbox's password (its default is another one).
fn env_with_fetch_browser() -> Env {
    let env = Env::new();
    let log = env.path("browser.log");
    env.with_fetch_browser(&log)
        .with_env("BROWSER_PASSWORD", "demo")
}

#[test]
fn cli_login_with_the_openid_connector_passes_against_the_sandbox() {
    rig_required();
    let env = env_with_fetch_browser();
    let sb = SandboxProcess::start(&env, &["--add"]);
    eprintln!(
        "sandbox ready in {:?} ({} ms by its own count)",
        sb.started_in, sb.info["ready_ms"]
    );
    assert_eq!(
        sb.info["connectors"],
        serde_json::json!(["sandbox-openid", "sandbox-oauth2", "sandbox-service"])
    );

    let (outcome, out, took) = login_json(&env, "sandbox-openid");
    eprintln!("login sandbox-openid took {took:?}");
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    for step in outcome["steps"].as_array().unwrap() {
        assert_eq!(step["ok"], true, "{step}");
    }
    let authorize = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "authorize")
        .unwrap();
    assert!(
        authorize["detail"].as_str().unwrap().contains("(PAR)"),
        "{authorize}"
    );
    let claims = &outcome["claims"];
    assert_eq!(claims["iss"], sb.issuer().as_str());
    assert_eq!(claims["sub"], DEMO_SUB);
    assert_eq!(claims["aud"], serde_json::json!([PUBLIC]));
    assert_eq!(claims["email"], "demo@example.com");
    assert_eq!(claims["signature"]["verified"]["alg"], "RS256");
    assert_eq!(claims["refresh_token"], true);
    assert_eq!(outcome["probe"]["url"], sb.api_url().as_str());
    assert_eq!(outcome["probe"]["status"], 200);

    let id = connector_id(&env, "sandbox-openid");
    let refresh_token =
        secret_tool_lookup(&format!("{id}/refresh_token")).expect("a refresh token");
    assert_secret_nowhere(&env, &out, "refresh token", &refresh_token);
    // The stored refresh token works at the sandbox, once.
    let r = refresh(&sb, &refresh_token);
    assert_eq!(r.status, 200, "{}", r.body);
    assert_oauth_error(&refresh(&sb, &refresh_token), 400, "invalid_grant");
}

#[test]
fn cli_login_with_the_oauth2_connector_uses_the_secret_from_the_keyring() {
    rig_required();
    let env = env_with_fetch_browser();
    let sb = SandboxProcess::start(&env, &["--add"]);
    let id = connector_id(&env, "sandbox-oauth2");
    let stored = secret_tool_lookup(&format!("{id}/client_secret")).expect("the client secret");
    assert_eq!(stored, sb.secret());

    let (outcome, out, took) = login_json(&env, "sandbox-oauth2");
    eprintln!("login sandbox-oauth2 took {took:?}");
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
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
            .contains("client_secret_basic"),
        "{token}"
    );
    assert!(
        token["detail"].as_str().unwrap().contains("PKCE S256"),
        "{token}"
    );
    assert_eq!(outcome["claims"]["aud"], serde_json::json!([CONFIDENTIAL]));
    assert_eq!(outcome["claims"]["signature"]["verified"]["alg"], "RS256");
    assert_eq!(outcome["probe"]["status"], 200);
    assert_secret_nowhere(&env, &out, "client secret", &sb.secret());
    let log = std::fs::read_to_string(env.data_dir().join("ifs-connect.log")).unwrap();
    assert!(log.contains("sandbox ready"), "{log}");
}

#[test]
fn a_real_browser_signs_in_on_the_sandbox_page() {
    rig_required();
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env
        .with_browser_chromium(&log)
        .with_env("BROWSER_PASSWORD", "demo");
    let sb = SandboxProcess::start(&env, &["--add"]);
    let (outcome, out, took) = login_json(&env, "sandbox-openid");
    eprintln!("chromium login against the sandbox took {took:?}");
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    let page = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(page["ok"], true, "{page}");
    assert_eq!(page["login_prefill"], "demo");
    assert_eq!(page["status"], 200, "{page}");
    drop(sb);
}

#[test]
fn cancelling_on_the_login_page_reaches_the_cli_as_access_denied() {
    rig_required();
    let env = env_with_fetch_browser().with_env("BROWSER_ACTION", "deny");
    let _sb = SandboxProcess::start(&env, &["--add"]);
    let (outcome, out, _) = login_json(&env, "sandbox-openid");
    assert_eq!(outcome["ok"], false, "{}", describe(&out));
    assert_eq!(
        outcome["error"]["kind"], "authorization_denied",
        "{outcome}"
    );
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access_denied"),
        "{outcome}"
    );
}

#[test]
fn add_replaces_the_earlier_sandbox_connectors() {
    rig_required();
    let env = Env::new();
    let first = SandboxProcess::start(&env, &["--add"]);
    let ids = (
        connector_id(&env, "sandbox-openid"),
        connector_id(&env, "sandbox-oauth2"),
    );
    let (status, _) = first.stop_with("TERM", Duration::from_secs(15));
    assert!(status.success(), "{status}");

    let second = SandboxProcess::start(&env, &["--add"]);
    assert_eq!(connector_id(&env, "sandbox-openid"), ids.0);
    assert_eq!(connector_id(&env, "sandbox-oauth2"), ids.1);
    let stored = secret_tool_lookup(&format!("{}/client_secret", ids.1)).unwrap();
    assert_eq!(
        stored,
        second.secret(),
        "the new run's secret replaced the old one"
    );
    let list = env.run(&["export"], None);
    let exported: Value = serde_json::from_slice(&list.stdout).unwrap();
    let text = exported.to_string();
    assert_eq!(text.matches("\"sandbox-openid\"").count(), 1, "{text}");
    assert!(text.contains(&second.base_url()), "{text}");
    assert!(!text.contains(&second.secret()));
}

// ---- what a strict provider refuses -------------------------------------------------------------

#[test]
fn a_wrong_pkce_verifier_is_rejected_and_burns_the_code() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let redirect = "http://127.0.0.1:40001/callback";
    let (code, p) = public_code(&sb, redirect);
    let wrong = pkce();
    let r = exchange_public(&sb, &code, redirect, &wrong.verifier);
    assert_oauth_error(&r, 400, "invalid_grant");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("PKCE"),
        "{}",
        r.body
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    // The code was used up by the failed attempt.
    assert_oauth_error(
        &exchange_public(&sb, &code, redirect, &p.verifier),
        400,
        "invalid_grant",
    );

    // No verifier at all, and a public client without PKCE, are refused too.
    let (code, _) = public_code(&sb, redirect);
    let r = token_request(
        &sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", PUBLIC),
            ("code", &code),
            ("redirect_uri", redirect),
        ],
        None,
    );
    assert_oauth_error(&r, 400, "invalid_grant");
    let no_pkce = http_get(&authorize_url(&sb, PUBLIC, redirect, &[]));
    assert_eq!(no_pkce.status, 302);
    let location = no_pkce.header("location").unwrap();
    assert_eq!(
        query_param(location, "error").as_deref(),
        Some("invalid_request"),
        "{location}"
    );
    assert_eq!(query_param(location, "state").as_deref(), Some("st-123"));
    let plain = http_get(&authorize_url(
        &sb,
        PUBLIC,
        redirect,
        &[
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "plain"),
        ],
    ));
    assert_eq!(
        query_param(plain.header("location").unwrap(), "error").as_deref(),
        Some("invalid_request")
    );
}

#[test]
fn a_reused_code_is_rejected_and_revokes_what_it_gave() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let redirect = "http://127.0.0.1:40002/callback";
    let (code, p) = public_code(&sb, redirect);
    let first = exchange_public(&sb, &code, redirect, &p.verifier);
    assert_eq!(first.status, 200, "{}", first.body);
    let tokens = first.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(bearer_get(&sb.api_url(), access).status, 200);

    let again = exchange_public(&sb, &code, redirect, &p.verifier);
    assert_oauth_error(&again, 400, "invalid_grant");
    assert!(again.body.contains("already used"), "{}", again.body);
    // RFC 6749 4.1.2: the tokens issued with the code no longer work.
    let api = bearer_get(&sb.api_url(), access);
    assert_eq!(api.status, 401);
    assert_oauth_error(
        &refresh(&sb, tokens["refresh_token"].as_str().unwrap()),
        400,
        "invalid_grant",
    );

    // The redirect URI at the token endpoint must be the authorization request's, exactly.
    let (code, p) = public_code(&sb, redirect);
    let r = exchange_public(&sb, &code, "http://127.0.0.1:40003/callback", &p.verifier);
    assert_oauth_error(&r, 400, "invalid_grant");
}

#[test]
fn a_wrong_client_secret_is_rejected_with_401() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let redirect = "http://127.0.0.1:40004/callback";
    let code = || {
        // The confidential client may skip PKCE (it is the OAuth2 connector's option).
        code_for(
            &sb,
            &authorize_url(&sb, CONFIDENTIAL, redirect, &[]),
            redirect,
        )
    };
    let grant = |code: &str| -> Vec<(&'static str, String)> {
        vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.to_owned()),
            ("redirect_uri", redirect.to_owned()),
        ]
    };
    let with = |code: &str, extra: &[(&'static str, &str)]| {
        let mut pairs = grant(code);
        pairs.extend(extra.iter().map(|(k, v)| (*k, (*v).to_owned())));
        pairs
    };
    let send = |pairs: Vec<(&str, String)>, auth: Option<&str>| {
        let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        token_request(&sb, &borrowed, auth)
    };
    let secret = sb.secret();

    let r = send(grant(&code()), Some(&basic(CONFIDENTIAL, "not-the-secret")));
    assert_oauth_error(&r, 401, "invalid_client");
    assert!(
        r.header("www-authenticate").unwrap().starts_with("Basic"),
        "{:?}",
        r.headers
    );
    for extra in [
        vec![
            ("client_id", CONFIDENTIAL),
            ("client_secret", "not-the-secret"),
        ],
        vec![("client_id", CONFIDENTIAL)],
        vec![
            ("client_id", "IFS-CONNECT-CONFIDENTIAL"),
            ("client_secret", secret.as_str()),
        ],
    ] {
        assert_oauth_error(&send(with(&code(), &extra), None), 401, "invalid_client");
    }

    // The right secret, by Basic and by post.
    let ok = send(grant(&code()), Some(&basic(CONFIDENTIAL, &secret)));
    assert_eq!(ok.status, 200, "{}", ok.body);
    let post = with(
        &code(),
        &[("client_id", CONFIDENTIAL), ("client_secret", &secret)],
    );
    assert_eq!(send(post, None).status, 200);
    // Both at once is not allowed (RFC 6749 2.3).
    let both = with(&code(), &[("client_secret", &secret)]);
    assert_oauth_error(
        &send(both, Some(&basic(CONFIDENTIAL, &secret))),
        400,
        "invalid_request",
    );
    // The PAR endpoint authenticates the same way.
    let par = http_post_form(
        &sb.endpoint("ext/par/request"),
        &[("Authorization", &basic(CONFIDENTIAL, "wrong"))],
        &[
            ("response_type", "code"),
            ("redirect_uri", redirect),
            ("scope", "openid"),
        ],
    );
    assert_oauth_error(&par, 401, "invalid_client");
}

#[test]
fn an_expired_access_token_is_rejected_by_the_api_and_userinfo() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &["--token-lifetime", "1"]);
    let issued = Instant::now();
    let t = tokens(&sb);
    assert_eq!(t["expires_in"], 1);
    let access = t["access_token"].as_str().unwrap();
    let api = bearer_get(&sb.api_url(), access);
    assert_eq!(api.status, 200, "{}", api.body);
    assert_eq!(api.json()["UserId"], "DEMO");
    assert_eq!(bearer_get(&sb.endpoint("userinfo"), access).status, 200);

    // Poll (bounded) until the token has expired: at most 5 s, every 100 ms.
    let mut refused = None;
    for _ in 0..50 {
        let r = bearer_get(&sb.api_url(), access);
        if r.status != 200 {
            refused = Some(r);
            break;
        }
        thread::sleep(Duration::from_millis(100));
    }
    let refused = refused.expect("the 1 s token still worked after 5 s");
    assert!(
        issued.elapsed() >= Duration::from_secs(1),
        "expired too early"
    );
    assert_eq!(refused.status, 401);
    let challenge = refused.header("www-authenticate").unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert!(challenge.contains("expired"), "{challenge}");
    assert_eq!(bearer_get(&sb.endpoint("userinfo"), access).status, 401);

    // The refresh token outlives it and gives a working one.
    let r = refresh(&sb, t["refresh_token"].as_str().unwrap());
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        bearer_get(&sb.api_url(), r.json()["access_token"].as_str().unwrap()).status,
        200
    );
    // Garbage, an ID token and no token are refused too.
    assert_eq!(bearer_get(&sb.api_url(), "not.a.token").status, 401);
    assert_eq!(
        bearer_get(&sb.api_url(), r.json()["id_token"].as_str().unwrap()).status,
        401
    );
    assert_eq!(http_get(&sb.api_url()).status, 401);
}

#[test]
fn an_expired_code_is_rejected() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &["--code-lifetime", "1"]);
    let redirect = "http://127.0.0.1:40005/callback";
    let (code, p) = public_code(&sb, redirect);
    // Codes are judged in whole seconds: 2.1 s is past a 1 s lifetime whatever the rounding.
    thread::sleep(Duration::from_millis(2100));
    let r = exchange_public(&sb, &code, redirect, &p.verifier);
    assert_oauth_error(&r, 400, "invalid_grant");
    assert!(r.body.contains("expired"), "{}", r.body);
}

#[test]
fn redirect_uris_on_other_hosts_are_refused_on_a_page_and_any_loopback_port_is_accepted() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let p = pkce();
    let pkce_params = [
        ("code_challenge", p.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    for uri in [
        "http://evil.example.com/callback",
        "http://127.0.0.2:5000/callback",
        "http://[::1]:5000/callback",
        "https://127.0.0.1:5000/callback",
        "http://127.0.0.1:5000/other",
        "http://127.0.0.1:5000@evil.example.com/callback",
        "http://localhost.evil.example.com:5000/callback",
    ] {
        let r = http_get(&authorize_url(&sb, PUBLIC, uri, &pkce_params));
        assert_eq!(r.status, 400, "{uri}: {}", r.body);
        assert!(r.header("location").is_none(), "{uri} was redirected to");
        assert!(r.body.contains("redirect_uri"), "{uri}: {}", r.body);
    }
    for uri in [
        "http://127.0.0.1:1/callback",
        "http://127.0.0.1:5000/callback",
        "http://127.0.0.1:65535/callback",
        "http://127.0.0.1/callback",
        "http://localhost:8080/callback",
    ] {
        let r = http_get(&authorize_url(&sb, PUBLIC, uri, &pkce_params));
        assert_eq!(r.status, 200, "{uri}: {}", r.body);
        assert!(r.body.contains(r#"name="login""#), "{uri}");
    }
    // An unknown client is never redirected either.
    let r = http_get(&authorize_url(
        &sb,
        "someone-else",
        "http://127.0.0.1:5000/callback",
        &pkce_params,
    ));
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
}

#[test]
fn the_login_page_prefills_the_hint_and_refuses_a_wrong_password() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let redirect = "http://127.0.0.1:40006/callback";
    let p = pkce();
    let url = authorize_url(
        &sb,
        PUBLIC,
        redirect,
        &[
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
            ("login_hint", "demo@example.com"),
        ],
    );
    let page = http_get(&url);
    assert!(
        page.body.contains(r#"value="demo@example.com""#),
        "{}",
        page.body
    );
    assert!(
        page.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(
        !page.body.contains("<script") && !page.body.contains("<link"),
        "self-contained"
    );
    let wrong = submit_login(&sb, &url, "demo", "not-demo");
    assert_eq!(wrong.status, 200);
    assert!(wrong.header("location").is_none());
    assert!(
        wrong.body.contains("Invalid username or password"),
        "{}",
        wrong.body
    );
    // Signing in with the email address works, as on Keycloak.
    let answer = submit_login(&sb, &url, "demo@example.com", "demo");
    assert_eq!(answer.status, 302, "{}", answer.body);
    // prompt=none cannot be met (no browser session): login_required.
    let none = http_get(&authorize_url(
        &sb,
        PUBLIC,
        redirect,
        &[
            ("code_challenge", &p.challenge),
            ("code_challenge_method", "S256"),
            ("prompt", "none"),
        ],
    ));
    assert_eq!(
        query_param(none.header("location").unwrap(), "error").as_deref(),
        Some("login_required")
    );
}

#[test]
fn refresh_tokens_rotate_and_a_reused_one_ends_the_session() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let t = tokens(&sb);
    let first = t["refresh_token"].as_str().unwrap();
    let r = refresh(&sb, first);
    assert_eq!(r.status, 200, "{}", r.body);
    let second = r.json();
    let rotated = second["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, first);
    // The refreshed ID token keeps iss, sub and aud, and carries no nonce.
    let (old_id, new_id) = (
        jwt_part(t["id_token"].as_str().unwrap(), 1),
        jwt_part(second["id_token"].as_str().unwrap(), 1),
    );
    for claim in ["iss", "sub", "aud", "auth_time"] {
        assert_eq!(old_id[claim], new_id[claim], "{claim}");
    }
    assert_eq!(old_id["nonce"], "n-456");
    assert!(new_id.get("nonce").is_none());

    let reuse = refresh(&sb, first);
    assert_oauth_error(&reuse, 400, "invalid_grant");
    // Reuse of a rotated token means it leaked: the whole session ends (RFC 9700 4.14.2).
    assert_oauth_error(&refresh(&sb, rotated), 400, "invalid_grant");
    assert_eq!(
        bearer_get(&sb.api_url(), second["access_token"].as_str().unwrap()).status,
        401
    );
}

#[test]
fn revocation_and_logout_end_sessions() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    // Revoking a refresh token (RFC 7009) ends its session, access token included.
    let t = tokens(&sb);
    let revoke = http_post_form(
        &sb.endpoint("revoke"),
        &[],
        &[
            ("client_id", PUBLIC),
            ("token", t["refresh_token"].as_str().unwrap()),
            ("token_type_hint", "refresh_token"),
        ],
    );
    assert_eq!(revoke.status, 200, "{}", revoke.body);
    assert_eq!(
        bearer_get(&sb.api_url(), t["access_token"].as_str().unwrap()).status,
        401
    );
    // An unknown token is answered 200 all the same.
    let unknown = http_post_form(
        &sb.endpoint("revoke"),
        &[],
        &[("client_id", PUBLIC), ("token", "nonsense")],
    );
    assert_eq!(unknown.status, 200);
    // Another client may not revoke it.
    let t = tokens(&sb);
    let foreign = http_post_form(
        &sb.endpoint("revoke"),
        &[("Authorization", &basic(CONFIDENTIAL, &sb.secret()))],
        &[("token", t["refresh_token"].as_str().unwrap())],
    );
    assert_eq!(foreign.status, 400, "{}", foreign.body);

    // Logout with the ID token ends the session and returns to a registered URI.
    let logout = format!(
        "{}?{}",
        sb.endpoint("logout"),
        encode(&[
            ("id_token_hint", t["id_token"].as_str().unwrap()),
            (
                "post_logout_redirect_uri",
                "http://127.0.0.1:40007/signed-out"
            ),
            ("state", "bye"),
        ])
    );
    let r = http_get(&logout);
    assert_eq!(r.status, 400, "not a registered URI: {}", r.body);
    let logout = logout.replace("signed-out", "callback");
    let r = http_get(&logout);
    assert_eq!(r.status, 302, "{}", r.body);
    assert_eq!(
        r.header("location"),
        Some("http://127.0.0.1:40007/callback?state=bye")
    );
    assert_eq!(
        bearer_get(&sb.api_url(), t["access_token"].as_str().unwrap()).status,
        401
    );
    assert_oauth_error(
        &refresh(&sb, t["refresh_token"].as_str().unwrap()),
        400,
        "invalid_grant",
    );
}

#[test]
fn discovery_and_keys_are_keycloak_shaped_and_sign_the_tokens() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let issuer = sb.issuer();
    assert_eq!(
        issuer,
        format!("http://127.0.0.1:{}/auth/realms/sandbox", sb.port())
    );
    let d = http_get(&format!("{issuer}/.well-known/openid-configuration")).json();
    assert_eq!(d["issuer"], issuer.as_str());
    for (key, rest) in [
        ("authorization_endpoint", "auth"),
        ("token_endpoint", "token"),
        ("userinfo_endpoint", "userinfo"),
        ("jwks_uri", "certs"),
        ("revocation_endpoint", "revoke"),
        ("end_session_endpoint", "logout"),
        ("pushed_authorization_request_endpoint", "ext/par/request"),
    ] {
        assert_eq!(d[key], sb.endpoint(rest).as_str(), "{key}");
    }
    // Every key the sandbox publishes is one a real Keycloak document has too, bar newer ones.
    let keycloak: Value =
        serde_json::from_str(include_str!("fixtures/keycloak-discovery.json")).unwrap();
    let newer = [
        "pushed_authorization_request_endpoint",
        "require_pushed_authorization_requests",
        "authorization_response_iss_parameter_supported",
        "frontchannel_logout_supported",
        "prompt_values_supported",
    ];
    for key in d.as_object().unwrap().keys() {
        assert!(
            keycloak.get(key).is_some() || newer.contains(&key.as_str()),
            "{key} is not a Keycloak key"
        );
    }
    assert_eq!(
        d["id_token_signing_alg_values_supported"],
        serde_json::json!(["RS256"])
    );
    // Keycloak 26's list, select_account left out as there.
    assert_eq!(
        d["prompt_values_supported"],
        serde_json::json!(["none", "login", "consent"])
    );

    let jwks = http_get(&sb.endpoint("certs")).json();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap().to_owned();
    let t = tokens(&sb);
    for token in ["id_token", "access_token"] {
        let header = jwt_part(t[token].as_str().unwrap(), 0);
        assert_eq!(header["alg"], "RS256");
        assert_eq!(header["kid"], kid.as_str());
    }
    let id = jwt_part(t["id_token"].as_str().unwrap(), 1);
    assert_eq!(id["iss"], issuer.as_str());
    assert_eq!(id["aud"], PUBLIC);
    assert_eq!(id["azp"], PUBLIC);
    assert_eq!(id["sub"], DEMO_SUB);
    assert_eq!(id["nonce"], "n-456");
    assert_eq!(t["scope"], "openid profile email");
    let info = bearer_get(
        &sb.endpoint("userinfo"),
        t["access_token"].as_str().unwrap(),
    )
    .json();
    assert_eq!(info["sub"], DEMO_SUB);
    assert_eq!(info["email"], "demo@example.com");
}

#[test]
fn it_serves_only_127_0_0_1_and_stops_cleanly_on_ctrl_c() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let port = sb.port();
    assert!(
        TcpStream::connect(("127.0.0.2", port)).is_err(),
        "reachable on 127.0.0.2"
    );
    assert!(
        TcpStream::connect(("::1", port)).is_err(),
        "reachable on [::1]"
    );
    // A request naming another host (DNS rebinding) is refused.
    let mut rebound = TcpStream::connect(("127.0.0.1", port)).unwrap();
    rebound
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    rebound
        .write_all(b"GET / HTTP/1.1\r\nHost: evil.example.com\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    let _ = rebound.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 421"), "{answer}");
    assert_eq!(http_get(&format!("{}/", sb.base_url())).status, 200);

    // An idle keep-alive connection (as a browser leaves) does not hold the exit up for long.
    let mut idle = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(idle, "GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n").unwrap();
    let (status, took) = sb.stop_with("INT", Duration::from_secs(15));
    eprintln!("stopped {took:?} after Ctrl-C");
    assert!(status.success(), "{status}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert!(
        TcpStream::connect(("127.0.0.1", port)).is_err(),
        "still listening"
    );
    drop(idle);
}

#[test]
fn a_fixed_port_in_use_is_a_clear_error() {
    rig_required();
    let env = Env::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = env.run(&["sandbox", "--port", &port], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    assert!(
        stderr_of(&out).contains(&format!("127.0.0.1:{port}")),
        "{}",
        describe(&out)
    );
}

/// Start `ifs-connect sandbox ARGS`, read its instructions (bounded), stop it with Ctrl-C.
fn sandbox_instructions(env: &Env, extra: &[&str]) -> String {
    let mut args = vec!["sandbox"];
    args.extend_from_slice(extra);
    let mut cmd = env.cmd(&args);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().unwrap();
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut text = String::new();
    let deadline = Instant::now() + START_TIMEOUT;
    while !text.contains("--add") {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => {
                text.push_str(&line);
                text.push('\n');
            }
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no instructions within {START_TIMEOUT:?}:\n{text}");
            }
        }
    }
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let mut status = None;
    for _ in 0..750 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
    text
}

#[test]
fn the_instructions_give_the_wizard_values_and_the_secret_stays_off_disk() {
    rig_required();
    let env = Env::new();
    let hidden = sandbox_instructions(&env, &[]);
    let line = hidden
        .lines()
        .find(|l| l.trim().starts_with("Client Secret"))
        .unwrap_or_else(|| panic!("no Client Secret line:\n{hidden}"));
    assert!(line.contains("hidden: run with --show-secret"), "{line}");

    let text = sandbox_instructions(&env, &["--show-secret"]);
    let base = text
        .split_whitespace()
        .find(|w| w.starts_with("http://127.0.0.1:"))
        .unwrap()
        .to_owned();
    for expected in [
        format!("Base URL                  {base}"),
        format!("Authority URL           {base}/auth/realms/sandbox"),
        format!("Token Endpoint          {base}/auth/realms/sandbox/protocol/openid-connect/token"),
        "Client ID               ifs-connect-public".to_owned(),
        "Client ID               ifs-connect-confidential".to_owned(),
        "Redirect URI              http://127.0.0.1/callback".to_owned(),
        "demo / demo".to_owned(),
    ] {
        assert!(text.contains(&expected), "{expected:?} missing in:\n{text}");
    }
    let secret = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Client Secret"))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap()
        .to_owned();
    assert!(secret.len() >= 43, "{secret}");
    let log = std::fs::read_to_string(env.data_dir().join("ifs-connect.log")).unwrap();
    assert!(log.contains("sandbox ready"), "{log}");
    assert!(
        files_containing(env.root(), &secret).is_empty(),
        "the secret is on disk"
    );
}

// ---- device login (RFC 8628) ----------------------------------------------------------------------

/// RFC 7636's example pair: the public client requires PKCE on device logins too, like Keycloak.
const DEVICE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const DEVICE_CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn device_authorization(sb: &SandboxProcess) -> Value {
    let r = http_post_form(
        &sb.endpoint("auth/device"),
        &[],
        &[
            ("client_id", PUBLIC),
            ("scope", "openid"),
            ("code_challenge", DEVICE_CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    );
    assert_eq!(r.status, 200, "{}", r.body);
    r.json()
}

fn device_poll(sb: &SandboxProcess, device_code: &str) -> HttpResponse {
    token_request(
        sb,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", PUBLIC),
            ("device_code", device_code),
            ("code_verifier", DEVICE_VERIFIER),
        ],
        None,
    )
}

/// Open the verification page, send the code, and answer the login page (sign in or cancel).
fn approve_device(sb: &SandboxProcess, complete_uri: &str, approve: bool) -> HttpResponse {
    let form_page = http_get(complete_uri);
    assert_eq!(form_page.status, 200, "{}", form_page.body);
    let action = format!(
        "{}{}",
        sb.base_url(),
        attribute(&form_page.body, "action").unwrap()
    );
    let code = query_param(complete_uri, "user_code").unwrap();
    let login = http_post_form(&action, &[], &[("user_code", &code)]);
    assert_eq!(login.status, 200, "{}", login.body);
    assert!(login.body.contains(r#"name="login""#), "{}", login.body);
    if approve {
        let action = format!(
            "{}{}",
            sb.base_url(),
            attribute(&login.body, "action").unwrap()
        );
        http_post_form(&action, &[], &[("login", "demo"), ("password", "demo")])
    } else {
        let abort = attribute(&login.body, "href").unwrap();
        http_get(&format!("{}{abort}", sb.base_url()))
    }
}

#[test]
fn device_login_follows_rfc_8628() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &["--device-interval", "1"]);
    let d = http_get(&format!("{}/.well-known/openid-configuration", sb.issuer())).json();
    assert_eq!(
        d["device_authorization_endpoint"],
        sb.endpoint("auth/device").as_str()
    );

    // Keycloak's answer to a PKCE-required client's device request without PKCE.
    let no_pkce = http_post_form(
        &sb.endpoint("auth/device"),
        &[],
        &[("client_id", PUBLIC), ("scope", "openid")],
    );
    assert_eq!(no_pkce.status, 400, "{}", no_pkce.body);
    assert!(
        no_pkce
            .body
            .contains("Missing parameter: code_challenge_method"),
        "{}",
        no_pkce.body
    );

    let auth = device_authorization(&sb);
    let device_code = auth["device_code"].as_str().unwrap();
    let user_code = auth["user_code"].as_str().unwrap();
    assert_eq!(
        auth["verification_uri"],
        format!("{}/device", sb.issuer()).as_str()
    );
    assert_eq!(auth["interval"], 1);
    assert!(
        user_code.len() == 9 && user_code.as_bytes()[4] == b'-',
        "{user_code}"
    );
    assert_oauth_error(&device_poll(&sb, device_code), 400, "authorization_pending");

    // Polling faster than the interval earns slow_down (on another device code, so that
    // this one keeps its 1 s interval).
    let hasty = device_authorization(&sb);
    let hasty_code = hasty["device_code"].as_str().unwrap();
    assert_oauth_error(&device_poll(&sb, hasty_code), 400, "authorization_pending");
    assert_oauth_error(&device_poll(&sb, hasty_code), 400, "slow_down");

    // A wrong code on the verification page is refused there.
    let wrong = http_post_form(
        &format!("{}/device", sb.issuer()),
        &[],
        &[("user_code", "BCDF-GHJK")],
    );
    assert_eq!(wrong.status, 400);
    let complete = auth["verification_uri_complete"].as_str().unwrap();
    let done = approve_device(&sb, complete, true);
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(
        done.body.contains("<title>Sign-in Success"),
        "{}",
        done.body
    );

    // Tokens once the interval has passed, once.
    thread::sleep(Duration::from_millis(1100));
    let tokens = device_poll(&sb, device_code);
    assert_eq!(tokens.status, 200, "{}", tokens.body);
    let tokens = tokens.json();
    assert_eq!(
        jwt_part(tokens["id_token"].as_str().unwrap(), 1)["aud"],
        PUBLIC
    );
    assert_eq!(
        bearer_get(&sb.api_url(), tokens["access_token"].as_str().unwrap()).status,
        200
    );
    thread::sleep(Duration::from_millis(1100));
    assert_oauth_error(&device_poll(&sb, device_code), 400, "invalid_grant");
    // The user code is spent too.
    let again = http_post_form(
        &format!("{}/device", sb.issuer()),
        &[],
        &[("user_code", user_code)],
    );
    assert_eq!(again.status, 400);

    // Cancel on the login page: the device hears access_denied.
    let other = device_authorization(&sb);
    let cancelled = approve_device(
        &sb,
        other["verification_uri_complete"].as_str().unwrap(),
        false,
    );
    assert!(cancelled.body.contains("cancelled"), "{}", cancelled.body);
    assert_oauth_error(
        &device_poll(&sb, other["device_code"].as_str().unwrap()),
        400,
        "access_denied",
    );
    // Another client cannot redeem a public client's device code.
    let foreign = token_request(
        &sb,
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("device_code", hasty_code),
        ],
        Some(&basic(CONFIDENTIAL, &sb.secret())),
    );
    assert_oauth_error(&foreign, 400, "invalid_grant");
}

#[test]
fn cli_device_login_passes_against_the_sandbox() {
    rig_required();
    let env = Env::new();
    let _sb = SandboxProcess::start(&env, &["--add", "--device-interval", "1"]);
    let mut child = env
        .cmd(&[
            "login",
            "sandbox-openid",
            "--device",
            "--json",
            "--timeout",
            "60",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The CLI prints the verification URL with the code in it on stderr.
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stdout = child.stdout.take().unwrap();
    let out_reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    let url = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.trim().starts_with("http") && line.contains("user_code=") => {
                break line.trim().to_owned();
            }
            Ok(line) => seen.push_str(&format!("{line}\n")),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no verification URL within 60 s; stderr:\n{seen}");
            }
        }
    };
    let log = env.path("device-browser.log");
    let page = run_browser(
        BrowserKind::Fetch,
        &url,
        &log,
        &[("BROWSER_ACTION", "device"), ("BROWSER_PASSWORD", "demo")],
    );
    assert_eq!(page["ok"], true, "{page}");
    let mut status = None;
    for _ in 0..3000 {
        status = child.try_wait().unwrap();
        if status.is_some() {
            break;
        }
        thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    let stdout = out_reader.join().unwrap();
    let status = status.expect("login --device did not finish within 60 s of the approval");
    assert!(status.success(), "{status}\n{stdout}\n{seen}");
    let outcome: Value = serde_json::from_str(&stdout).unwrap();
    let steps: Vec<&str> = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(
        steps.contains(&"device_approval") && steps.contains(&"id_token"),
        "{steps:?}"
    );
    assert_eq!(outcome["claims"]["sub"], DEMO_SUB);
    assert_eq!(outcome["probe"]["status"], 200);
}
