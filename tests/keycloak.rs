//! The real IFS IAM: every test here runs the real binary against the rig's Keycloak (over HTTPS,
//! certificate from the run's throwaway CA, realm tests/support/keycloak/realm.json), signs in on
//! Keycloak's own pages in headless Chromium, and keeps secrets in the rig's Secret Service.
//! Run through `./scripts/test --test keycloak`. How Keycloak differs from the stand-ins:
//! docs/keycloak.md.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::keycloak::*;
use common::*;
use serde_json::Value;

// ---- helpers -------------------------------------------------------------------------------------

/// `add` an OpenId connector for the realm with `client_id`.
fn add_openid(env: &Env, kc: &Keycloak, name: &str, client_id: &str, extra: &[&str]) {
    let (base, issuer, probe) = (kc.base_url(), kc.issuer(), kc.probe_path());
    let mut args = vec![
        "add",
        "--name",
        name,
        "--base-url",
        &base,
        "--auth",
        "openid",
        "--authority",
        &issuer,
        "--client-id",
        client_id,
        "--probe-path",
        &probe,
    ];
    args.extend_from_slice(extra);
    let out = env.run(&args, None);
    assert!(out.status.success(), "add: {}", describe(&out));
}

/// `add` an OAuth2 connector with the realm's endpoints and issuer; `secret` through stdin.
fn add_oauth2(env: &Env, kc: &Keycloak, name: &str, client_id: &str, secret: &str) {
    let (base, issuer, probe) = (kc.base_url(), kc.issuer(), kc.probe_path());
    let (auth, token) = (kc.endpoint("auth"), kc.endpoint("token"));
    let args = [
        "add",
        "--name",
        name,
        "--base-url",
        &base,
        "--auth",
        "oauth2",
        "--authorization-endpoint",
        &auth,
        "--token-endpoint",
        &token,
        "--issuer",
        &issuer,
        "--client-id",
        client_id,
        "--client-secret-stdin",
        "--probe-path",
        &probe,
    ];
    let out = env.run(&args, Some(&format!("{secret}\n")));
    assert!(out.status.success(), "add: {}", describe(&out));
}

fn login_json(env: &Env, name: &str, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["login", name, "--json"];
    if !extra.contains(&"--timeout") {
        // Under the harness's 120 s bound, so a stuck login reports its own timeout.
        args.extend(["--timeout", "90"]);
    }
    args.extend_from_slice(extra);
    let out = env.run(&args, None);
    let outcome = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login --json printed no JSON ({e}): {}", describe(&out)));
    (out, outcome)
}

fn step<'a>(outcome: &'a Value, name: &str) -> &'a Value {
    outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no {name} step in {outcome:#}"))
}

fn step_detail(outcome: &Value, name: &str) -> String {
    step(outcome, name)["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn assert_logged_in(out: &Output, outcome: &Value, env: &Env) {
    assert!(
        out.status.success() && outcome["ok"] == true,
        "login failed: {outcome:#}\n{}\nbrowser: {:?}",
        describe(out),
        env.browser_result()
    );
}

fn refresh_token_of(id: &str) -> String {
    secret_tool_lookup(&format!("{id}/refresh_token")).expect("a refresh token in the keyring")
}

fn cached_access_token(id: &str) -> Value {
    let text = secret_tool_lookup(&format!("{id}/access_token")).expect("a cached access token");
    serde_json::from_str(&text).expect("the cached token is JSON")
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn query_param(url: &str, key: &str) -> Option<String> {
    url::Url::parse(url)
        .ok()?
        .query_pairs()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.into_owned())
}

/// Keycloak refuses `refresh_token`: 400 invalid_grant.
fn assert_refresh_refused(kc: &Keycloak, client_id: &str, refresh_token: &str, why: &str) {
    let answer = kc.refresh(client_id, refresh_token);
    assert_eq!(
        (answer.status, answer.json()["error"].as_str()),
        (400, Some("invalid_grant")),
        "{why}: Keycloak answered {} {}",
        answer.status,
        answer.body
    );
}

fn error_of(outcome: &Value) -> (String, String, String) {
    let e = &outcome["error"];
    let text = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
    (text("kind"), text("message"), text("hint"))
}

// ---- logins --------------------------------------------------------------------------------------

#[test]
fn openid_login_runs_discovery_par_pkce_iss_id_token_and_userinfo() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_openid(&env, &kc, "iam", PUBLIC, &[]);
    let (out, outcome) = login_json(&env, "iam", &[]);
    assert_logged_in(&out, &outcome, &env);

    assert!(
        step_detail(&outcome, "discovery").contains(&kc.issuer()),
        "{outcome:#}"
    );
    assert!(
        step_detail(&outcome, "authorize").contains("(PAR)"),
        "{outcome:#}"
    );
    assert!(
        step_detail(&outcome, "token").contains("PKCE S256"),
        "{outcome:#}"
    );
    for name in [
        "jwks", "callback", "id_token", "userinfo", "probe", "keyring",
    ] {
        assert_eq!(step(&outcome, name)["ok"], true, "{name}: {outcome:#}");
    }
    // The ID token (and userinfo) are Keycloak's, for this client and this user.
    let claims = &outcome["claims"];
    assert_eq!(claims["iss"], kc.issuer().as_str(), "{claims:#}");
    assert_eq!(claims["aud"][0], PUBLIC, "{claims:#}");
    assert_eq!(claims["email"], ALICE.email, "{claims:#}");
    assert_eq!(claims["name"], ALICE.name, "{claims:#}");
    assert_eq!(outcome["probe"]["status"], 200, "{outcome:#}");

    // What the browser saw: a pushed request (no parameters but client_id and request_uri in the
    // URL), Keycloak's own login page, and a callback carrying Keycloak's `iss` (RFC 9207).
    let browser = env.browser_result().expect("a browser result");
    let opened = browser["opened_url"].as_str().unwrap();
    assert!(query_param(opened, "request_uri").is_some(), "{opened}");
    assert!(query_param(opened, "code_challenge").is_none(), "{opened}");
    assert_eq!(browser["login_pages"], 1, "{browser}");
    let callback = browser["final_url"].as_str().unwrap();
    assert_eq!(
        query_param(callback, "iss").as_deref(),
        Some(kc.issuer().as_str()),
        "{callback}"
    );
    assert_secret_nowhere(
        &env,
        &out,
        "refresh token",
        &refresh_token_of(&connector_id(&env, "iam")),
    );
}

#[test]
fn oauth2_confidential_login_authenticates_with_the_secret() {
    let kc = Keycloak::get();
    let env = kc.env(&BOB);
    add_oauth2(&env, &kc, "conf", CONFIDENTIAL, CONFIDENTIAL_SECRET);
    let (out, outcome) = login_json(&env, "conf", &[]);
    assert_logged_in(&out, &outcome, &env);
    assert!(
        step_detail(&outcome, "token").contains("client_secret_basic"),
        "{outcome:#}"
    );
    assert_eq!(outcome["claims"]["email"], BOB.email, "{outcome:#}");
    assert_eq!(outcome["claims"]["aud"][0], CONFIDENTIAL, "{outcome:#}");
    assert_secret_nowhere(&env, &out, "client secret", CONFIDENTIAL_SECRET);
}

#[test]
fn device_login_is_approved_in_chromium_on_keycloaks_pages() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_openid(&env, &kc, "tv", DEVICE, &[]);
    let mut child = env
        .cmd(&["login", "tv", "--device", "--json", "--timeout", "120"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start login --device");
    let url = verification_url(&mut child, Duration::from_secs(60));
    let mut child = KillOnDrop(Some(child));
    assert!(url.starts_with(&kc.issuer()), "{url}");
    let log = env.path("device-browser.log");
    let result = run_browser(
        BrowserKind::Chromium,
        &url,
        &log,
        &[
            ("BROWSER_ACTION", "device"),
            ("BROWSER_TRUST_SPKI", &kc.spki),
            ("BROWSER_LOGIN", ALICE.username),
            ("BROWSER_PASSWORD", ALICE.password),
        ],
    );
    assert_eq!(result["ok"], true, "{result:#}");
    let out = wait_output(child.0.take().unwrap(), Duration::from_secs(90));
    let outcome: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", describe(&out)));
    assert!(out.status.success(), "{outcome:#}\n{}", describe(&out));
    assert_eq!(step(&outcome, "device_approval")["ok"], true);
    assert_eq!(step(&outcome, "id_token")["ok"], true);
    assert_eq!(outcome["claims"]["email"], ALICE.email, "{outcome:#}");
    assert_eq!(outcome["claims"]["aud"][0], DEVICE, "{outcome:#}");
}

/// Reads the program's stderr (bounded) until the verification URL with the code appears; the
/// rest of stderr is drained on a thread.
fn verification_url(child: &mut Child, timeout: Duration) -> String {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    let deadline = Instant::now() + timeout;
    let mut seen = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        let Ok(line) = rx.recv_timeout(left) else {
            break;
        };
        seen.push_str(&line);
        seen.push('\n');
        let line = line.trim();
        if line.starts_with("https://") && line.contains("user_code=") {
            return line.to_owned();
        }
    }
    let _ = child.kill();
    panic!("no verification URL within {timeout:?}; stderr:\n{seen}");
}

struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn wait_output(child: Child, timeout: Duration) -> Output {
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(timeout)
        .unwrap_or_else(|_| {
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
            panic!("process {pid} did not finish within {timeout:?}");
        })
        .expect("wait for the child")
}

// ---- tokens --------------------------------------------------------------------------------------

#[test]
fn refresh_rotates_and_keycloak_refuses_the_old_refresh_token() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    // 5-second access tokens: every `token` call refreshes, no waiting needed.
    add_openid(&env, &kc, "short", SHORT_LIVED, &[]);
    let (out, outcome) = login_json(&env, "short", &[]);
    assert_logged_in(&out, &outcome, &env);
    let id = connector_id(&env, "short");
    let first = refresh_token_of(&id);

    // Each call refreshes and stores the rotated refresh token, which the next call uses.
    let mut seen = vec![first.clone()];
    for _ in 0..2 {
        // Keycloak tells a replaced refresh token by its issue time in whole seconds: one issued
        // in the same second as the session's last refresh still passes. Let a second go by.
        thread::sleep(Duration::from_millis(1100));
        let out = env.run(&["token", "short", "--no-login"], None);
        assert!(out.status.success(), "token: {}", describe(&out));
        let now = refresh_token_of(&id);
        assert!(
            !seen.contains(&now),
            "Keycloak rotates: a new refresh token must be stored"
        );
        seen.push(now);
    }
    // Keycloak refuses the replaced one, and (reuse detection) ends the session with it: the
    // current refresh token dies too, and the program says so in plain words.
    assert_refresh_refused(&kc, SHORT_LIVED, &first, "the replaced refresh token");
    let out = env.run(&["token", "short", "--no-login"], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("log in again"), "{stderr}");
    assert!(
        secret_tool_lookup(&format!("{id}/refresh_token")).is_none(),
        "the dead refresh token is forgotten"
    );
}

#[test]
fn token_after_the_access_token_expired_gets_a_fresh_one() {
    let kc = Keycloak::get();
    let env = kc.env(&BOB);
    add_openid(&env, &kc, "short", SHORT_LIVED, &[]);
    let (out, outcome) = login_json(&env, "short", &[]);
    assert_logged_in(&out, &outcome, &env);
    let id = connector_id(&env, "short");
    let old = cached_access_token(&id);
    let old_token = old["access_token"].as_str().unwrap().to_owned();
    let expires_at = old["expires_at"].as_i64().unwrap();
    assert!(
        expires_at <= now_secs() + SHORT_LIFESPAN_SECS as i64 + 1,
        "the client's 5 s lifespan applies: {old}"
    );
    // Wait (bounded) until Keycloak itself refuses the old token: it has really expired.
    let userinfo = kc.endpoint("userinfo");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if kc.get_with_bearer(&userinfo, &old_token).status == 401 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the 5 s token still works after 30 s"
        );
        thread::sleep(Duration::from_millis(500));
    }

    let out = env.run(&["token", "short", "--no-login", "--json"], None);
    assert!(out.status.success(), "token: {}", describe(&out));
    let fresh: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fresh_token = fresh["access_token"].as_str().unwrap();
    assert_ne!(fresh_token, old_token);
    assert_eq!(kc.get_with_bearer(&userinfo, fresh_token).status, 200);
}

#[test]
fn logout_revokes_so_keycloak_refuses_the_refresh_token() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_openid(&env, &kc, "iam", PUBLIC, &[]);
    let (out, outcome) = login_json(&env, "iam", &[]);
    assert_logged_in(&out, &outcome, &env);
    let id = connector_id(&env, "iam");
    let refresh = refresh_token_of(&id);

    let out = env.run(&["logout", "iam"], None);
    assert!(out.status.success(), "logout: {}", describe(&out));
    assert!(secret_tool_lookup(&format!("{id}/refresh_token")).is_none());
    assert!(secret_tool_lookup(&format!("{id}/access_token")).is_none());
    assert_refresh_refused(&kc, PUBLIC, &refresh, "the refresh token after logout");
}

// ---- what reaches Keycloak -------------------------------------------------------------------------

#[test]
fn login_hint_prefills_keycloak_and_select_account_is_ignored_with_a_notice() {
    let kc = Keycloak::get();
    let profile = tempfile::tempdir().unwrap();
    let env = kc
        .env(&BOB)
        .with_env("BROWSER_PROFILE", profile.path())
        // "Remember me": Keycloak's session cookie then survives Chromium's restart.
        .with_env("BROWSER_REMEMBER_ME", "1")
        // The name comes from the prefilled field, so the hint is what signs in.
        .with_env("BROWSER_LOGIN", "");
    add_openid(
        &env,
        &kc,
        "hinted",
        PUBLIC,
        &["--prefill-user-email", BOB.email],
    );
    add_openid(
        &env,
        &kc,
        "choose",
        PUBLIC,
        &["--param", "prompt=select_account"],
    );

    let (out, outcome) = login_json(&env, "hinted", &[]);
    assert_logged_in(&out, &outcome, &env);
    let browser = env.browser_result().unwrap();
    assert_eq!(browser["login_prefill"], BOB.email, "{browser}");
    assert_eq!(outcome["claims"]["email"], BOB.email, "{outcome:#}");

    // The same browser again: Keycloak's session cookie signs in without a login page.
    wait_profile_free(profile.path());
    let (out, outcome) = login_json(&env, "hinted", &[]);
    assert_logged_in(&out, &outcome, &env);
    assert_eq!(env.browser_result().unwrap()["login_pages"], 0);

    // Keycloak ignores prompt=select_account (it does not list it in prompt_values_supported):
    // the session signs in again, and the program said so beforehand, naming the alternative.
    let env = env.with_env("BROWSER_LOGIN", BOB.username);
    wait_profile_free(profile.path());
    let (out, outcome) = login_json(&env, "choose", &[]);
    assert_logged_in(&out, &outcome, &env);
    assert_eq!(env.browser_result().unwrap()["login_pages"], 0);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("prompt=login instead"), "{stderr}");
}

/// Chromium holds its profile until it has exited (the result line comes a little earlier).
fn wait_profile_free(profile: &std::path::Path) {
    let lock = profile.join("SingletonLock");
    let deadline = Instant::now() + Duration::from_secs(15);
    while lock.symlink_metadata().is_ok() {
        assert!(Instant::now() < deadline, "Chromium kept {lock:?} for 15 s");
        thread::sleep(Duration::from_millis(100));
    }
}

// ---- refusals --------------------------------------------------------------------------------------

#[test]
fn a_wrong_client_secret_is_named_as_the_cause() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_oauth2(&env, &kc, "conf", CONFIDENTIAL, "not-the-secret-4242");
    let (out, outcome) = login_json(&env, "conf", &[]);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let (kind, message, hint) = error_of(&outcome);
    assert_eq!(kind, "token_request", "{outcome:#}");
    assert!(message.contains("Invalid client credentials"), "{message}");
    assert!(hint.contains("--client-secret-stdin"), "{hint}");
    assert!(!hint.contains("Standard Flow"), "{hint}");
}

#[test]
fn a_disabled_user_sees_keycloaks_refusal_and_the_login_times_out() {
    let kc = Keycloak::get();
    let env = kc.env(&DAVE).with_env("BROWSER_TIMEOUT_MS", "20000");
    add_openid(&env, &kc, "iam", PUBLIC, &[]);
    let (out, outcome) = login_json(&env, "iam", &["--timeout", "10"]);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    assert_eq!(error_of(&outcome).0, "timeout", "{outcome:#}");
    let browser = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(browser["ok"], false, "{browser}");
    let text = browser["text"].as_str().unwrap_or_default().to_lowercase();
    assert!(text.contains("disabled"), "Keycloak's page: {browser}");
}

#[test]
fn a_disabled_client_is_refused_at_the_pushed_request() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_openid(&env, &kc, "off", DISABLED_CLIENT, &[]);
    let (out, outcome) = login_json(&env, "off", &[]);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let (kind, message, hint) = error_of(&outcome);
    assert_eq!(kind, "authorization_denied", "{outcome:#}");
    assert!(message.contains("HTTP 401"), "{message}");
    assert!(hint.contains("enabled"), "{hint}");
    assert!(env.browser_result().is_none(), "no browser may open");
}

#[test]
fn an_unregistered_redirect_uri_is_refused_at_the_pushed_request_with_the_uri_to_register() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_openid(&env, &kc, "other", OTHER_REDIRECT, &[]);
    let (out, outcome) = login_json(&env, "other", &[]);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let (kind, message, hint) = error_of(&outcome);
    assert_eq!(kind, "authorization_denied", "{outcome:#}");
    assert!(
        message.contains("Invalid parameter: redirect_uri"),
        "{message}"
    );
    assert!(
        hint.contains("Register exactly http://127.0.0.1/callback "),
        "{hint}"
    );
    assert!(env.browser_result().is_none(), "no browser may open");
}

#[test]
fn an_unregistered_redirect_uri_without_par_times_out_naming_the_uri_to_register() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE).with_env("BROWSER_TIMEOUT_MS", "15000");
    add_openid(&env, &kc, "other", OTHER_REDIRECT, &["--no-par"]);
    let out = env.run(&["login", "other", "--timeout", "10"], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    // The steps go to stderr, the report with the error and its hint to stdout.
    let report = stdout_of(&out);
    assert!(
        report.contains("no redirect arrived within 10 s"),
        "{}",
        describe(&out)
    );
    assert!(
        report.contains("Register exactly http://127.0.0.1/callback "),
        "{}",
        describe(&out)
    );
    // Keycloak showed its error page and never redirected.
    let browser = env.wait_browser_result(Duration::from_secs(30)).unwrap();
    assert_eq!(browser["ok"], false, "{browser}");
    let text = browser["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Invalid parameter: redirect_uri"),
        "{browser}"
    );
}
