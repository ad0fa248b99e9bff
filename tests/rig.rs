//! Proves the test rig itself works: the local OpenID provider, both scripted browsers, the
//! Secret Service keyring and tmux. If this fails, every other real-parts test is suspect.
//! Run with `./scripts/test --test rig`.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// RFC 7636 S256 of the fixed verifier below: BASE64URL(SHA256("a" x 50)). Fine for a rig test;
/// the app must use a fresh random verifier.
const VERIFIER: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const CHALLENGE: &str = "FgtOQz44TgXlN9xZtGf3yyQD8CFNsVxdtYhio_EVbS4";

fn authorization_url(
    provider: &Provider,
    catcher: &CallbackCatcher,
    state: &str,
    extra: &[(&str, &str)],
) -> String {
    let discovery = provider.discovery();
    let endpoint = discovery["authorization_endpoint"].as_str().unwrap();
    let mut params = vec![
        ("client_id", PUBLIC_CLIENT),
        ("response_type", "code"),
        ("scope", "openid email profile"),
        ("state", state),
        ("nonce", "rig-nonce"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let redirect = catcher.redirect_uri();
    params.push(("redirect_uri", &redirect));
    params.extend_from_slice(extra);
    url::Url::parse_with_params(endpoint, &params)
        .unwrap()
        .to_string()
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let u = url::Url::parse(&format!("http://127.0.0.1{target}")).ok()?;
    u.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Exchanges `code` and calls the IFS probe with the access token: returns the API's UserId.
fn redeem(provider: &Provider, catcher: &CallbackCatcher, code: &str) -> String {
    let redirect = catcher.redirect_uri();
    let token = http_post_form(
        &provider.endpoint("token"),
        &[],
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &redirect),
            ("client_id", PUBLIC_CLIENT),
            ("code_verifier", VERIFIER),
        ],
    );
    assert_eq!(token.status, 200, "token: {}", token.body);
    let token = token.json();
    assert!(token["id_token"].is_string(), "no id_token: {token}");
    let access = token["access_token"].as_str().expect("access_token");
    let bearer = format!("Bearer {access}");
    let api = http_request(
        "GET",
        &provider.api_url(),
        &[("Authorization", &bearer)],
        None,
    )
    .unwrap();
    assert_eq!(api.status, 200, "API: {}", api.body);
    api.json()["UserId"].as_str().unwrap().to_owned()
}

#[test]
fn provider_serves_keycloak_shaped_discovery_and_ifs_probe() {
    rig_required();
    let started = Instant::now();
    let provider = Provider::start();
    let startup = started.elapsed();
    eprintln!("provider ready in {startup:?}");

    assert!(
        provider.issuer.ends_with("/auth/realms/ifs"),
        "{}",
        provider.issuer
    );
    assert_eq!(
        provider.issuer,
        format!("{}/auth/realms/ifs", provider.base_url)
    );
    let d = provider.discovery();
    assert_eq!(d["issuer"], provider.issuer.as_str());
    let under_issuer = format!("{}/", provider.issuer);
    for key in [
        "jwks_uri",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "revocation_endpoint",
        "introspection_endpoint",
        "pushed_authorization_request_endpoint",
        "device_authorization_endpoint",
    ] {
        let v = d[key]
            .as_str()
            .unwrap_or_else(|| panic!("{key} missing: {d}"));
        assert!(v.starts_with(&under_issuer), "{key} = {v}");
    }
    assert_eq!(d["token_endpoint"], provider.endpoint("token").as_str());
    let jwks = http_get(d["jwks_uri"].as_str().unwrap()).json();
    assert!(!jwks["keys"].as_array().unwrap().is_empty(), "{jwks}");

    // The IFS probe: 401 without or with a bad token, whether or not the parentheses are encoded.
    assert_eq!(http_get(&provider.api_url()).status, 401);
    let encoded = provider.api_url().replace("()", "%28%29");
    let r = http_request("GET", &encoded, &[("Authorization", "Bearer nope")], None).unwrap();
    assert_eq!(r.status, 401);
    // Outside the realm prefix and the probe: 404.
    assert_eq!(
        http_get(&format!("{}/auth/realms/other/x", provider.base_url)).status,
        404
    );
    assert_eq!(provider.stats()["api"]["401"], 2);
}

#[test]
fn fetch_browser_logs_in_and_the_code_redeems() {
    rig_required();
    let provider = Provider::start();
    let catcher = CallbackCatcher::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("browser.log");
    let url = authorization_url(&provider, &catcher, "rig-state-1", &[]);

    let started = Instant::now();
    let result = run_browser(BrowserKind::Fetch, &url, &log, &[]);
    eprintln!("fetch-browser login in {:?}", started.elapsed());
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["title"], "Signed in", "{result}");

    let target = catcher.wait(Duration::from_secs(5)).expect("no callback");
    assert!(target.starts_with("/callback?"), "{target}");
    assert_eq!(
        query_param(&target, "state").as_deref(),
        Some("rig-state-1")
    );
    assert_eq!(
        query_param(&target, "iss").as_deref(),
        Some(provider.issuer.as_str())
    );
    let code = query_param(&target, "code").expect("no code in the callback");
    assert_eq!(redeem(&provider, &catcher, &code), "alice");
    assert_eq!(provider.grant_count("authorization_code"), 1);

    // Cancel on the login page: the provider redirects with access_denied.
    let url = authorization_url(&provider, &catcher, "rig-state-2", &[]);
    let result = run_browser(
        BrowserKind::Fetch,
        &url,
        &log,
        &[("BROWSER_ACTION", "deny")],
    );
    assert_eq!(result["ok"], true, "{result}");
    let target = catcher.wait(Duration::from_secs(5)).expect("no callback");
    assert_eq!(
        query_param(&target, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        query_param(&target, "state").as_deref(),
        Some("rig-state-2")
    );
}

#[test]
fn chromium_logs_in_through_the_real_pages() {
    rig_required();
    let provider = Provider::start();
    let catcher = CallbackCatcher::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("chromium.log");
    let shot = dir.path().join("callback.png");
    let url = authorization_url(&provider, &catcher, "rig-state-c", &[("login_hint", "bob")]);

    let started = Instant::now();
    let shot_s = shot.display().to_string();
    let result = run_browser(
        BrowserKind::Chromium,
        &url,
        &log,
        &[("BROWSER_SCREENSHOT", &shot_s)],
    );
    eprintln!("chromium login in {:?}", started.elapsed());
    assert_eq!(result["ok"], true, "{result}");
    assert_eq!(result["status"], 200, "{result}");
    assert_eq!(result["title"], "Signed in", "{result}");
    assert!(
        result["text"]
            .as_str()
            .unwrap()
            .contains("You can close this page"),
        "{result}"
    );
    assert_eq!(result["login_prefill"], "bob", "{result}");
    assert!(
        std::fs::metadata(&shot)
            .map(|m| m.len() > 0)
            .unwrap_or(false),
        "no screenshot"
    );

    let target = catcher.wait(Duration::from_secs(5)).expect("no callback");
    let code = query_param(&target, "code").expect("no code in the callback");
    // login_hint prefilled the form and the browser kept it: the account is "bob".
    assert_eq!(redeem(&provider, &catcher, &code), "bob");
}

#[test]
fn keyring_stores_and_returns_a_secret() {
    rig_required();
    let service = "ifs-connect-rig-test";
    let user = "rig/probe";
    let secret = "rig secret \u{e9}\u{20ac} 123";
    secret_tool_store_in(service, user, secret);
    assert_eq!(
        secret_tool_lookup_in(service, user).as_deref(),
        Some(secret)
    );
    secret_tool_clear_in(service, user);
    assert_eq!(secret_tool_lookup_in(service, user), None);
}

#[test]
fn tmux_runs_a_program_and_reports_its_exit() {
    rig_required();
    let t = Tmux::start(80, 24, &["sh", "-c", "echo hello; sleep 5"], &[]);
    let screen = t.wait_for("hello", Duration::from_secs(10)).unwrap();
    assert!(screen.contains("hello"));
    assert_eq!(t.exit_status(), None);

    let t = Tmux::start(
        40,
        10,
        &["sh", "-c", "printf '%s\\n' \"$GREETING\"; exit 3"],
        &[("GREETING", "it's me")],
    );
    assert_eq!(t.wait_exit(Duration::from_secs(10)), Ok(3));
    assert!(t.capture_all().contains("it's me"), "{}", t.capture_all());
}

#[test]
fn files_containing_finds_a_needle() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("a/b")).unwrap();
    std::fs::write(
        dir.path().join("a/b/x.toml"),
        "id = 1\nsecret = \"s3cr3t\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("a/y.toml"), "nothing here").unwrap();
    assert_eq!(
        files_containing(dir.path(), "s3cr3t"),
        vec![dir.path().join("a/b/x.toml")]
    );
    assert!(files_containing(dir.path(), "absent").is_empty());
}

#[test]
fn the_binary_starts_in_tmux_with_the_sandbox_environment() {
    rig_required();
    let env = Env::new();
    let t = env.tmux(100, 30, &["--help"]);
    assert_eq!(
        t.wait_exit(Duration::from_secs(30)),
        Ok(0),
        "{}",
        t.capture_all()
    );
    assert!(t.capture_all().contains("Usage"), "{}", t.capture_all());
}
