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
    // Each login's browser result on its own: an earlier login's line must not stand in for
    // one this login's browser has yet to write.
    if let Some(log) = env.browser_log() {
        let _ = std::fs::remove_file(log);
    }
    let out = env.run(&args, None);
    let outcome = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login --json printed no JSON ({e}): {}", describe(&out)));
    (out, outcome)
}

/// This login's browser result: on a loaded machine the browser writes it after the program,
/// which had its callback, has exited (bounded wait).
fn browser_seen(env: &Env) -> Value {
    env.wait_browser_result(Duration::from_secs(30))
        .unwrap_or_else(|e| panic!("{e}"))
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
    split_secret(id, "refresh_token").expect("a refresh token in the keyring")
}

/// The cached access token entry, put together again when Keycloak's large token was split
/// over several keyring entries (`ifs-connect-split:<parts>:<chars>:<head>`, then
/// `<id>/access_token.part<n>`).
fn cached_access_token(id: &str) -> Value {
    let text = split_secret(id, "access_token").expect("a cached access token");
    serde_json::from_str(&text).expect("the cached token is JSON")
}

/// A keyring value as the program stores it, put together again when it was too large for one
/// entry (`ifs-connect-split:<parts>:<chars>:<head>`, then `<id>/<kind>.part<n>`).
fn split_secret(id: &str, kind: &str) -> Option<String> {
    let head = secret_tool_lookup(&format!("{id}/{kind}"))?;
    let Some(rest) = head.strip_prefix("ifs-connect-split:") else {
        return Some(head);
    };
    let mut fields = rest.splitn(3, ':');
    let parts: u8 = fields.next().and_then(|p| p.parse().ok())?;
    let _chars = fields.next();
    let mut text = fields.next().unwrap_or_default().to_owned();
    for n in 1..=parts {
        text.push_str(&secret_tool_lookup(&format!("{id}/{kind}.part{n}"))?);
    }
    Some(text)
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
    let browser = browser_seen(&env);
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
fn login_hint_prefills_keycloak_select_account_is_ignored_with_a_notice_and_prompt_login_asks_again()
 {
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
    add_openid(&env, &kc, "again", PUBLIC, &["--param", "prompt=login"]);

    let (out, outcome) = login_json(&env, "hinted", &[]);
    assert_logged_in(&out, &outcome, &env);
    let browser = browser_seen(&env);
    assert_eq!(browser["login_prefill"], BOB.email, "{browser}");
    assert_eq!(outcome["claims"]["email"], BOB.email, "{outcome:#}");

    // The same browser again: Keycloak's session cookie signs in without a login page.
    wait_profile_free(profile.path());
    let (out, outcome) = login_json(&env, "hinted", &[]);
    assert_logged_in(&out, &outcome, &env);
    assert_eq!(browser_seen(&env)["login_pages"], 0);

    // Keycloak ignores prompt=select_account (it does not list it in prompt_values_supported):
    // the session signs in again, and the program said so beforehand, naming the alternative.
    let env = env.with_env("BROWSER_LOGIN", BOB.username);
    wait_profile_free(profile.path());
    let (out, outcome) = login_json(&env, "choose", &[]);
    assert_logged_in(&out, &outcome, &env);
    assert_eq!(browser_seen(&env)["login_pages"], 0);
    let stderr = stderr_of(&out);
    assert!(stderr.contains("prompt=login instead"), "{stderr}");

    // prompt=login, pushed with the request like every extra parameter, makes Keycloak ask
    // again, on its re-authentication page (the password only), with no notice.
    wait_profile_free(profile.path());
    let (out, outcome) = login_json(&env, "again", &[]);
    assert_logged_in(&out, &outcome, &env);
    let browser = browser_seen(&env);
    assert_eq!(browser["login_pages"], 1, "{browser}");
    assert_eq!(browser["reauthentication"], true, "{browser}");
    assert!(!stderr_of(&out).contains("prompt_values_supported"));
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

// ---- service users (issue 11) ----------------------------------------------------------------------

const SERVICE_SECRET_VAR: &str = "IFS_CONNECT_TEST_KC_SERVICE_SECRET";

/// Where a service user connector finds the token endpoint.
enum Endpoint {
    /// `--authority` (discovery).
    Authority,
    /// `--token-endpoint`.
    Token,
}

/// Where a service user connector finds its secret.
enum Secret<'a> {
    /// In the keyring, given on stdin.
    Keyring(&'a str),
    /// In [`SERVICE_SECRET_VAR`], saved with no D-Bus session at all.
    Env,
}

/// `add --auth client-credentials` for `client_id`, probing Keycloak's userinfo.
fn add_service(
    env: &Env,
    kc: &Keycloak,
    name: &str,
    client_id: &str,
    endpoint: Endpoint,
    secret: Secret,
) {
    let (base, probe) = (kc.base_url(), kc.probe_path());
    let (flag, url) = match endpoint {
        Endpoint::Authority => ("--authority", kc.issuer()),
        Endpoint::Token => ("--token-endpoint", kc.endpoint("token")),
    };
    let mut args = vec![
        "add",
        "--name",
        name,
        "--auth",
        "client-credentials",
        "--base-url",
        &base,
        flag,
        &url,
        "--client-id",
        client_id,
        "--probe-path",
        &probe,
    ];
    let out = match secret {
        Secret::Keyring(value) => {
            args.push("--client-secret-stdin");
            env.run(&args, Some(&format!("{value}\n")))
        }
        Secret::Env => {
            args.extend(["--client-secret-env", SERVICE_SECRET_VAR]);
            let mut cmd = env.cmd(&args);
            no_dbus(&mut cmd, env);
            cmd.output_bounded()
        }
    };
    assert!(out.status.success(), "add: {}", describe(&out));
}

/// `args` with no D-Bus session, the secret's variable set to `secret` (or unset).
fn run_without_dbus(env: &Env, args: &[&str], secret: Option<&str>) -> Output {
    let mut cmd = env.cmd(args);
    no_dbus(&mut cmd, env);
    match secret {
        Some(value) => cmd.env(SERVICE_SECRET_VAR, value),
        None => cmd.env_remove(SERVICE_SECRET_VAR),
    };
    cmd.output_bounded()
}

/// The one line `token` prints.
fn token_line(out: &Output) -> String {
    assert!(out.status.success(), "token: {}", describe(out));
    let text = stdout_of(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must hold the token only: {text:?}");
    lines[0].to_owned()
}

/// The payload of a JWT (Keycloak's access and refresh tokens), read without checking it.
fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let payload = token.split('.').nth(1).expect("a JWT");
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .expect("base64url");
    serde_json::from_slice(&bytes).expect("JSON claims")
}

fn step_names(outcome: &Value) -> Vec<&str> {
    outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect()
}

/// The rig's definition of `client_id` in realm.json: what Keycloak was told.
fn realm_client(client_id: &str) -> Value {
    let realm: Value = serde_json::from_str(include_str!("support/keycloak/realm.json")).unwrap();
    realm["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["clientId"] == client_id)
        .unwrap_or_else(|| panic!("{client_id} is not in realm.json"))
        .clone()
}

/// `show NAME`'s "Set on the IFS IAM Client" panel agrees with realm.json's `client_id`.
fn assert_register_panel_matches(env: &Env, name: &str, client_id: &str) {
    let shown = stdout_of(&env.run(&["show", name], None));
    let client = realm_client(client_id);
    let on_off = |on: bool| if on { "on" } else { "off" };
    let public = client["publicClient"] == true;
    let mut want = vec![
        "Set on the IFS IAM Client:".to_owned(),
        format!("Client ID         {client_id} (case-sensitive)"),
        format!("Public Client     {}", on_off(public)),
        format!(
            "Service Accounts  {}",
            on_off(client["serviceAccountsEnabled"] == true)
        ),
    ];
    if let Some(uri) = client["redirectUris"][0].as_str() {
        want.push(format!("Redirect URIs     {uri}"));
        want.push(format!("Standard Flow     {}", on_off(true)));
    }
    if let Some(pkce) = client["attributes"]["pkce.code.challenge.method"].as_str() {
        want.push(format!("PKCE Method       {pkce}"));
    }
    for line in want {
        assert!(shown.contains(&line), "missing {line:?} in:\n{shown}");
    }
}

#[test]
fn a_service_user_signs_in_with_the_keyring_secret_and_token_reuses_the_token() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_service(
        &env,
        &kc,
        "svc",
        SERVICE,
        Endpoint::Authority,
        Secret::Keyring(SERVICE_SECRET),
    );
    let (out, outcome) = login_json(&env, "svc", &[]);
    assert!(out.status.success(), "{outcome:#}\n{}", describe(&out));
    assert_eq!(
        step_names(&outcome),
        ["discovery", "token", "access_token", "probe"],
        "no browser: {outcome:#}"
    );
    let token_step = step_detail(&outcome, "token");
    assert!(
        token_step.contains("client_secret_basic (secret from the keyring)"),
        "{token_step}"
    );
    // Keycloak's access token is a JWT: its claims are shown, marked as not verified.
    let claims = &outcome["claims"];
    assert_eq!(claims["name"], "service-account-ifs_service", "{claims:#}");
    // microprofile-jwt (IFS's default scope here) names the IFS user: the service user.
    assert_eq!(claims["upn"], "service-account-ifs_service", "{claims:#}");
    assert_eq!(claims["iss"], kc.issuer().as_str(), "{claims:#}");
    assert_eq!(claims["signature"], "not_verified_access_token");
    assert!(
        step_detail(&outcome, "access_token").contains("signature not verified"),
        "{outcome:#}"
    );
    assert_eq!(outcome["probe"]["status"], 200, "{outcome:#}");

    // `token` hands out the login's token from the keyring, which Keycloak still accepts.
    let id = connector_id(&env, "svc");
    let cached = cached_access_token(&id);
    let token_out = env.run(&["token", "svc"], None);
    let token = token_line(&token_out);
    assert_eq!(
        cached["access_token"],
        token.as_str(),
        "reused, not requested"
    );
    let jwt = jwt_claims(&token);
    assert_eq!(jwt["azp"], SERVICE, "{jwt:#}");
    assert_eq!(jwt["preferred_username"], "service-account-ifs_service");
    // The default scopes are IFS's: microprofile-jwt adds the upn.
    assert_eq!(jwt["upn"], "service-account-ifs_service", "{jwt:#}");
    let userinfo = kc.get_with_bearer(&kc.endpoint("userinfo"), &token);
    assert_eq!(userinfo.status, 200, "{}", userinfo.body);
    assert!(secret_tool_lookup(&format!("{id}/refresh_token")).is_none());

    assert_register_panel_matches(&env, "svc", SERVICE);
    for out in [&out, &token_out] {
        assert_secret_nowhere(&env, out, "client secret", SERVICE_SECRET);
    }
    assert!(files_containing(env.config_dir(), &token).is_empty());
    assert!(files_containing(env.data_dir(), &token).is_empty());
}

#[test]
fn concurrent_service_token_calls_make_one_request_to_keycloak() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_service(
        &env,
        &kc,
        "many",
        SERVICE,
        Endpoint::Token,
        Secret::Keyring(SERVICE_SECRET),
    );
    // The control: two requests to Keycloak never return the same token (each has its own
    // `jti`), so equal tokens below mean one request.
    let direct: Vec<String> = (0..2)
        .map(|_| {
            let answer = kc.post_form(
                &kc.endpoint("token"),
                Some((SERVICE, SERVICE_SECRET)),
                &[("grant_type", "client_credentials")],
            );
            assert_eq!(answer.status, 200, "{}", answer.body);
            answer.json()["access_token"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_ne!(direct[0], direct[1]);

    let children: Vec<_> = (0..4)
        .map(|_| {
            env.cmd(&["token", "many"])
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start token")
        })
        .collect();
    let tokens: Vec<String> = children
        .into_iter()
        .map(|c| token_line(&wait_output(c, RUN_TIMEOUT)))
        .collect();
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "four calls, one request"
    );
    // The token endpoint form: no discovery, so no issuer to compare; Keycloak's own word.
    assert_eq!(jwt_claims(&tokens[0])["azp"], SERVICE);
    let userinfo = kc.get_with_bearer(&kc.endpoint("userinfo"), &tokens[0]);
    assert_eq!(userinfo.status, 200, "{}", userinfo.body);
}

#[test]
fn a_service_secret_from_a_variable_needs_no_dbus_session_and_an_unset_one_is_named() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    add_service(&env, &kc, "ci", SERVICE, Endpoint::Authority, Secret::Env);
    let id = connector_id(&env, "ci");

    let args = ["login", "ci", "--json", "--timeout", "90"];
    let login = run_without_dbus(&env, &args, Some(SERVICE_SECRET));
    let outcome: Value = serde_json::from_slice(&login.stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}): {}", describe(&login)));
    assert_eq!(outcome["ok"], true, "{outcome:#}\n{}", describe(&login));
    assert!(
        step_detail(&outcome, "token").contains(&format!("secret from ${SERVICE_SECRET_VAR}")),
        "{outcome:#}"
    );

    // Each process asks Keycloak: the token lives only in the process that got it.
    let first = run_without_dbus(&env, &["token", "ci"], Some(SERVICE_SECRET));
    let second = run_without_dbus(&env, &["token", "ci"], Some(SERVICE_SECRET));
    let (one, two) = (token_line(&first), token_line(&second));
    assert_ne!(one, two);
    for token in [&one, &two] {
        let userinfo = kc.get_with_bearer(&kc.endpoint("userinfo"), token);
        assert_eq!(userinfo.status, 200, "{}", userinfo.body);
    }

    let unset = run_without_dbus(&env, &["token", "ci"], None);
    assert_eq!(code_of(unset.status), 2, "{}", describe(&unset));
    let err = stderr_of(&unset);
    assert!(
        err.contains(SERVICE_SECRET_VAR) && err.contains("not set"),
        "{err}"
    );
    assert!(stdout_of(&unset).is_empty());

    // Nothing reached the keyring, nor a file, the log or the output.
    assert!(!secret_tool_search_all().contains(&id));
    for out in [&login, &first, &second, &unset] {
        assert_secret_nowhere(&env, out, "client secret", SERVICE_SECRET);
    }
    for token in [&one, &two] {
        assert!(files_containing(env.config_dir(), token).is_empty());
        assert!(files_containing(env.data_dir(), token).is_empty());
    }
}

#[test]
fn keycloaks_refusals_of_a_service_user_name_the_setting_to_fix() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    let wrong = "not-the-service-secret-4242";
    add_service(
        &env,
        &kc,
        "wrong",
        SERVICE,
        Endpoint::Authority,
        Secret::Keyring(wrong),
    );
    // A confidential client with Standard Flow but without Service Accounts.
    add_service(
        &env,
        &kc,
        "nosa",
        CONFIDENTIAL,
        Endpoint::Authority,
        Secret::Keyring(CONFIDENTIAL_SECRET),
    );

    // Keycloak's unauthorized_client "Invalid client or Invalid client credentials": the secret.
    let (out, outcome) = login_json(&env, "wrong", &[]);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let (kind, message, hint) = error_of(&outcome);
    assert_eq!(kind, "token_request", "{outcome:#}");
    assert!(
        message.contains("unauthorized_client (Invalid client or Invalid client credentials)"),
        "{message}"
    );
    assert!(
        hint.contains("the client secret or the Client ID is wrong"),
        "{hint}"
    );
    assert!(!hint.contains("Service Accounts"), "{hint}");
    let token = env.run(&["token", "wrong"], None);
    assert_eq!(code_of(token.status), 1, "{}", describe(&token));
    assert!(
        stderr_of(&token).contains("the client secret or the Client ID is wrong"),
        "{}",
        describe(&token)
    );
    for out in [&out, &token] {
        assert_secret_nowhere(&env, out, "wrong secret", wrong);
    }

    // "Client not enabled to retrieve service account": turn them on.
    let (out, outcome) = login_json(&env, "nosa", &[]);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let (kind, message, hint) = error_of(&outcome);
    assert_eq!(kind, "token_request", "{outcome:#}");
    assert!(
        message.contains("Client not enabled to retrieve service account"),
        "{message}"
    );
    assert!(hint.contains("turn on Service Accounts"), "{hint}");
    assert_secret_nowhere(&env, &out, "client secret", CONFIDENTIAL_SECRET);
}

// ---- IFS Cloud's ways (issue 12) --------------------------------------------------------------------

#[test]
fn the_realm_comes_from_a_pasted_token_endpoint_and_microprofile_jwt_names_the_ifs_user() {
    let kc = Keycloak::get();
    let env = kc.env(&BOB);
    let pasted = format!(
        "{}?client_id={PUBLIC}&grant_type=authorization_code",
        kc.endpoint("token")
    );
    let (base, probe) = (kc.base_url(), kc.probe_path());
    let args = [
        "add",
        "--name",
        "ifs",
        "--base-url",
        &base,
        "--auth",
        "openid",
        "--authority",
        &pasted,
        "--client-id",
        PUBLIC,
        "--scopes",
        "openid microprofile-jwt",
        "--probe-path",
        &probe,
    ];
    let out = env.run(&args, None);
    assert!(out.status.success(), "add: {}", describe(&out));
    assert!(
        stderr_of(&out).contains(&format!(
            "the Authority URL is the realm of the token endpoint you gave: {}",
            kc.issuer()
        )),
        "{}",
        describe(&out)
    );

    // Keycloak's discovery confirms the realm; the upn is the user's name in IFS.
    let out = env.run(&["login", "ifs", "--timeout", "90"], None);
    assert!(
        out.status.success(),
        "{}\nbrowser: {:?}",
        describe(&out),
        env.browser_result()
    );
    let report = stdout_of(&out);
    assert!(
        report.contains(&format!("IFS user (upn) {}", BOB.username)),
        "{report}"
    );
    assert_register_panel_matches(&env, "ifs", PUBLIC);
}

#[test]
fn an_idle_keycloak_session_says_so_and_stay_signed_in_gives_an_offline_session() {
    let kc = Keycloak::get();
    let env = kc.env(&ALICE);
    // Access tokens of 5 s are never reused (a minute's margin): `token` always refreshes.
    add_openid(&env, &kc, "idle", IDLE, &[]);
    // A 5-second token could expire on its way to the probe.
    let out = env.run(&["edit", "idle", "--probe-path", ""], None);
    assert!(out.status.success(), "{}", describe(&out));
    let (out, outcome) = login_json(&env, "idle", &[]);
    assert_logged_in(&out, &outcome, &env);
    let id = connector_id(&env, "idle");

    // refresh_expires_in (the client's 4 s idle time) sets the session's end.
    let logged_in = now_secs();
    let end = cached_access_token(&id)["session_end"]["idle_at"]
        .as_i64()
        .unwrap_or_else(|| panic!("an idle end: {}", cached_access_token(&id)));
    assert!(
        (logged_in - IDLE_SECS - 30..=logged_in + IDLE_SECS).contains(&end),
        "the session ends {IDLE_SECS} s after the login: {end} vs {logged_in}"
    );
    let shown = stdout_of(&env.run(&["show", "idle"], None));
    assert!(shown.contains("Stay signed in (offline)    off"), "{shown}");
    assert!(shown.contains("unless used before"), "{shown}");
    let list = stdout_of(&env.run(&["list"], None));
    assert!(list.contains("until "), "{list}");

    let refresh = refresh_token_of(&id);
    wait_until_past(end);
    let out = env.run(&["token", "idle", "--no-login"], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("your IFS session ended because it was not used for too long"),
        "{err}"
    );
    assert!(
        err.contains("log in again (ifs-connect login idle)"),
        "{err}"
    );
    assert!(
        err.contains("ifs-connect edit idle --offline-access"),
        "{err}"
    );
    // Keycloak's own verdict, not the program's clock.
    let answer = kc.refresh(IDLE, &refresh);
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert!(
        answer.body.contains("Token is not active"),
        "{}",
        answer.body
    );

    // Stay signed in: an offline session, which outlives the idle time.
    let out = env.run(&["edit", "idle", "--offline-access"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let (out, outcome) = login_json(&env, "idle", &[]);
    assert_logged_in(&out, &outcome, &env);
    let scope = outcome["claims"]["scope"].as_str().unwrap_or_default();
    assert!(scope.contains("offline_access"), "{outcome:#}");
    assert_eq!(jwt_claims(&refresh_token_of(&id))["typ"], "Offline");
    let shown = stdout_of(&env.run(&["show", "idle"], None));
    assert!(shown.contains("Stay signed in (offline)    on"), "{shown}");
    assert!(
        shown.contains("offline session (Stay signed in)"),
        "{shown}"
    );
    assert!(
        stdout_of(&env.run(&["list"], None)).contains("offline"),
        "list"
    );
    wait_until_past(now_secs() + IDLE_SECS);
    let token = token_line(&env.run(&["token", "idle", "--no-login"], None));
    let userinfo = kc.get_with_bearer(&kc.endpoint("userinfo"), &token);
    assert_eq!(userinfo.status, 200, "{}", userinfo.body);
}

/// Sleeps until the clock has passed `at` (seconds since the epoch) by a second, at most 30 s.
fn wait_until_past(at: i64) {
    let wait = (at + 2 - now_secs()).clamp(0, 30);
    thread::sleep(Duration::from_secs(wait as u64));
}
