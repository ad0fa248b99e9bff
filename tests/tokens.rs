//! `ifs-connect token`, refresh, device login and logout against the real parts: the
//! oidc-provider shaped like IFS's Keycloak, the fetch browser, and the Secret Service keyring.
//! Run through `./scripts/test --test tokens`.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use common::*;
use serde_json::Value;

// ---- helpers -------------------------------------------------------------------------------------

/// A provider that gives every login a refresh token (like Keycloak).
fn provider(extra: &[(&str, &str)]) -> Provider {
    let mut env = vec![("PROVIDER_REFRESH", "always")];
    env.extend_from_slice(extra);
    Provider::start_with(&env)
}

fn add_openid(env: &Env, provider: &Provider, name: &str, client_id: &str, secret: Option<&str>) {
    let (auth, token) = (provider.endpoint("auth"), provider.endpoint("token"));
    let mut args = vec![
        "add",
        "--name",
        name,
        "--base-url",
        &provider.base_url,
        "--client-id",
        client_id,
    ];
    match secret {
        // A confidential client: OAuth2 with the issuer, so discovery still gives the
        // revocation endpoint and the keys.
        Some(_) => args.extend_from_slice(&[
            "--auth",
            "oauth2",
            "--authorization-endpoint",
            &auth,
            "--token-endpoint",
            &token,
            "--issuer",
            &provider.issuer,
            "--client-secret-stdin",
        ]),
        None => args.extend_from_slice(&["--auth", "openid", "--authority", &provider.issuer]),
    }
    let input = secret.map(|s| format!("{s}\n"));
    let out = env.run(&args, input.as_deref());
    assert!(out.status.success(), "add: {}", describe(&out));
}

/// A sandbox with the fetch browser and one connector `name` that has logged in once.
fn logged_in(provider: &Provider, name: &str, client_id: &str, secret: Option<&str>) -> Env {
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_fetch_browser(log);
    add_openid(&env, provider, name, client_id, secret);
    let out = env.run(&["login", name, "--json"], None);
    assert!(out.status.success(), "login: {}", describe(&out));
    env
}

fn refresh_token_of(id: &str) -> Option<String> {
    secret_tool_lookup(&format!("{id}/refresh_token"))
}

fn cache_of(id: &str) -> Option<Value> {
    secret_tool_lookup(&format!("{id}/access_token")).map(|s| serde_json::from_str(&s).unwrap())
}

/// Make the cached access token look expired, keeping the rest.
fn expire_cache(id: &str) {
    let mut cache = cache_of(id).expect("the login cached its access token");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    cache["expires_at"] = Value::from(now - 10);
    secret_tool_store(&format!("{id}/access_token"), &cache.to_string());
}

/// The one line `token` printed (and that there is nothing else on stdout).
fn token_line(out: &Output) -> String {
    assert!(out.status.success(), "token: {}", describe(out));
    let text = stdout_of(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must hold the token only: {text:?}");
    assert!(!lines[0].trim().is_empty());
    lines[0].to_owned()
}

/// The IFS-like API accepts the token.
fn api_accepts(provider: &Provider, token: &str) -> bool {
    let auth = format!("Bearer {token}");
    let r = http_request(
        "GET",
        &provider.api_url(),
        &[("Authorization", &auth)],
        None,
    )
    .unwrap_or_else(|e| panic!("API request: {e}"));
    r.status == 200
}

fn basic(client_id: &str, secret: &str) -> String {
    use base64::Engine;
    let raw = format!("{client_id}:{secret}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

/// The provider's introspection answer for `token`, asked as the confidential client.
fn introspect(provider: &Provider, token: &str) -> Value {
    let auth = basic(CONFIDENTIAL_CLIENT, DEFAULT_CLIENT_SECRET);
    let r = http_post_form(
        &provider.endpoint("token/introspect"),
        &[("Authorization", &auth)],
        &[("token", token)],
    );
    assert_eq!(r.status, 200, "introspection: {}", r.body);
    r.json()
}

/// Started processes, killed and reaped on drop so none outlives a failing test.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Wait (bounded) for a child and collect its output.
fn wait_output(child: Child, timeout: Duration) -> Output {
    let (tx, rx) = mpsc::channel();
    let pid = child.id();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(out) => out.expect("wait for the child"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("process {pid} did not finish within {timeout:?}");
        }
    }
}

// ---- token ----------------------------------------------------------------------------------------

#[test]
fn token_comes_from_the_refresh_token_without_a_browser_then_from_the_cache() {
    rig_required();
    let provider = provider(&[]);
    let env = logged_in(&provider, "prod", PUBLIC_CLIENT, None);
    let id = connector_id(&env, "prod");
    let login_token = cache_of(&id).unwrap()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    expire_cache(&id);
    let refreshes = provider.grant_count("refresh_token");
    // --no-login: never a browser, so this is the refresh alone.
    let plain = &env;
    let started = Instant::now();
    let out = plain.run(&["token", "prod", "--no-login"], None);
    let from_refresh = started.elapsed();
    let token = token_line(&out);
    assert_eq!(provider.grant_count("refresh_token"), refreshes + 1);
    assert_ne!(token, login_token, "a refreshed token is a new one");
    assert!(api_accepts(&provider, &token));

    let started = Instant::now();
    let again = token_line(&plain.run(&["token", "prod", "--no-login"], None));
    let from_cache = started.elapsed();
    assert_eq!(again, token, "the second call uses the cache");
    assert_eq!(provider.grant_count("refresh_token"), refreshes + 1);
    eprintln!("timing: token from refresh {from_refresh:?}, from cache {from_cache:?}");

    let json: Value =
        serde_json::from_str(&token_line(&plain.run(&["token", "prod", "--json"], None))).unwrap();
    assert_eq!(json["access_token"], Value::from(token.clone()));
    assert_eq!(json["token_type"], "Bearer");
    assert!(json["expires_at"].as_str().unwrap().contains('T'));
    assert!(json["scope"].as_str().unwrap().contains("openid"));

    // Access tokens never land in a file (config, data/log, lock files).
    for needle in [&token, &login_token] {
        assert!(files_containing(env.config_dir(), needle).is_empty());
        assert!(files_containing(env.data_dir(), needle).is_empty());
    }
    assert!(
        env.config_dir()
            .join("tokens")
            .join(format!("{id}.lock"))
            .is_file()
    );
}

#[test]
fn a_rotated_refresh_token_is_stored_and_the_old_one_is_dead() {
    rig_required();
    let provider = provider(&[]);
    let env = logged_in(&provider, "rot", PUBLIC_CLIENT, None);
    let id = connector_id(&env, "rot");
    let old = refresh_token_of(&id).expect("the login stored a refresh token");
    expire_cache(&id);
    let token = token_line(&env.run(&["token", "rot", "--no-login"], None));
    let new = refresh_token_of(&id).expect("a refresh token is still stored");
    assert_ne!(new, old, "the rotated refresh token replaced the old one");
    assert!(api_accepts(&provider, &token));
    // The old one is refused (this also ends the grant at oidc-provider: reuse detection).
    let r = http_post_form(
        &provider.endpoint("token"),
        &[],
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &old),
            ("client_id", PUBLIC_CLIENT),
        ],
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.json()["error"], "invalid_grant");
}

#[test]
fn concurrent_token_calls_refresh_once() {
    rig_required();
    let provider = provider(&[]);
    let env = logged_in(&provider, "many", PUBLIC_CLIENT, None);
    let id = connector_id(&env, "many");
    expire_cache(&id);
    let refreshes = provider.grant_count("refresh_token");
    let mut children = Children(Vec::new());
    for _ in 0..4 {
        let child = env
            .cmd(&["token", "many", "--no-login"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start token");
        children.0.push(child);
    }
    let outputs: Vec<Output> = children
        .0
        .drain(..)
        .map(|c| wait_output(c, RUN_TIMEOUT))
        .collect();
    let tokens: Vec<String> = outputs.iter().map(token_line).collect();
    assert_eq!(provider.grant_count("refresh_token"), refreshes + 1);
    assert!(
        tokens.windows(2).all(|w| w[0] == w[1]),
        "all got the one refreshed token"
    );
    assert!(api_accepts(&provider, &tokens[0]));
}

#[test]
fn an_expired_refresh_token_says_log_in_again_and_is_removed() {
    rig_required();
    let provider = provider(&[("PROVIDER_REFRESH_TOKEN_TTL", "2")]);
    let env = logged_in(&provider, "old", PUBLIC_CLIENT, None);
    let logged_in_at = Instant::now();
    let id = connector_id(&env, "old");
    assert!(refresh_token_of(&id).is_some());
    expire_cache(&id);
    // Bounded: the refresh token lives 2 s; wait just past that.
    let left = Duration::from_millis(3200).saturating_sub(logged_in_at.elapsed());
    thread::sleep(left);
    let out = env.run(&["token", "old", "--no-login"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout_of(&out).is_empty(), "{}", describe(&out));
    assert!(
        stderr_of(&out)
            .contains("your session expired or was revoked: log in again (ifs-connect login old)"),
        "{}",
        describe(&out)
    );
    assert!(
        refresh_token_of(&id).is_none(),
        "the dead refresh token is gone"
    );
    assert!(cache_of(&id).is_none());
}

#[test]
fn no_login_with_nothing_stored_fails_with_the_message() {
    rig_required();
    let provider = provider(&[]);
    let env = Env::new();
    add_openid(&env, &provider, "fresh", PUBLIC_CLIENT, None);
    let out = env.run(&["token", "fresh", "--no-login"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(stdout_of(&out).is_empty());
    assert!(
        stderr_of(&out).contains("log in again: ifs-connect login fresh"),
        "{}",
        describe(&out)
    );
}

#[test]
fn token_without_anything_stored_logs_in_with_the_browser_first() {
    rig_required();
    let provider = provider(&[]);
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_fetch_browser(log);
    add_openid(&env, &provider, "first", PUBLIC_CLIENT, None);
    let out = env.run(&["token", "first"], None);
    let token = token_line(&out);
    assert!(api_accepts(&provider, &token));
    assert!(
        stderr_of(&out).contains("starting a login"),
        "{}",
        describe(&out)
    );
}

// ---- device login ---------------------------------------------------------------------------------

const DEVICE_CLIENT: &str = "ifs-device";

fn device_client() -> String {
    serde_json::json!([{
        "client_id": DEVICE_CLIENT,
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "response_types": ["code"],
        "grant_types": [
            "authorization_code",
            "refresh_token",
            "urn:ietf:params:oauth:grant-type:device_code"
        ]
    }])
    .to_string()
}

/// Read the program's stderr (bounded) until a verification URL with the code appears.
fn wait_for_verification_url(
    child: &mut Child,
    timeout: Duration,
) -> (String, mpsc::Receiver<String>) {
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = Instant::now() + timeout;
    let mut seen = String::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(line) => {
                seen.push_str(&line);
                seen.push('\n');
                let trimmed = line.trim();
                if trimmed.starts_with("http") && trimmed.contains("user_code=") {
                    return (trimmed.to_owned(), rx);
                }
            }
            Err(_) => break,
        }
    }
    panic!("no verification URL within {timeout:?}; stderr so far:\n{seen}");
}

#[test]
fn device_login_is_approved_by_a_scripted_user_and_validated() {
    rig_required();
    let clients = device_client();
    let provider = provider(&[("PROVIDER_EXTRA_CLIENTS", &clients)]);
    let env = Env::new();
    add_openid(&env, &provider, "tv", DEVICE_CLIENT, None);
    let child = env
        .cmd(&["login", "tv", "--device", "--json", "--timeout", "60"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start login --device");
    let mut children = Children(vec![child]);
    let (url, stderr_lines) =
        wait_for_verification_url(&mut children.0[0], Duration::from_secs(30));
    assert!(url.starts_with(&provider.issuer), "{url}");
    let log = env.path("device-browser.log");
    let result = run_browser(
        BrowserKind::Fetch,
        &url,
        &log,
        &[("BROWSER_ACTION", "device")],
    );
    assert_eq!(result["ok"], Value::Bool(true), "{result}");
    let out = wait_output(children.0.remove(0), Duration::from_secs(90));
    let stderr: String = stderr_lines.try_iter().collect::<Vec<_>>().join("\n");
    assert!(out.status.success(), "{}\n{stderr}", describe(&out));
    let outcome: Value = serde_json::from_slice(&out.stdout).unwrap();
    let steps: Vec<&str> = outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(steps.contains(&"device_approval"), "{steps:?}");
    assert!(steps.contains(&"id_token"), "{steps:?}");
    assert!(!steps.contains(&"listener") && !steps.contains(&"browser"));
    assert_eq!(outcome["claims"]["aud"][0], DEVICE_CLIENT);
    assert_eq!(
        provider.grant_count("urn:ietf:params:oauth:grant-type:device_code"),
        1
    );
    let id = connector_id(&env, "tv");
    assert!(refresh_token_of(&id).is_some());
    // The cached access token now serves scripts.
    let token = token_line(&env.run(&["token", "tv", "--no-login"], None));
    assert!(api_accepts(&provider, &token));
}

#[test]
fn device_login_prints_the_code_and_a_qr_code() {
    rig_required();
    let clients = device_client();
    let provider = provider(&[("PROVIDER_EXTRA_CLIENTS", &clients)]);
    let env = Env::new();
    add_openid(&env, &provider, "qr", DEVICE_CLIENT, None);
    // Nobody approves: a short timeout ends it.
    let out = env.run(&["login", "qr", "--device", "--timeout", "1"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let stderr = stderr_of(&out);
    assert!(stderr.contains("enter the code:"), "{stderr}");
    assert!(
        stderr.contains(&format!("{}/device", provider.issuer)),
        "{stderr}"
    );
    assert!(stderr.contains('█') && stderr.contains('▀'), "{stderr}");
    assert!(
        stdout_of(&out).contains("not approved within 1 s"),
        "{}",
        describe(&out)
    );
}

// ---- logout ---------------------------------------------------------------------------------------

#[test]
fn logout_revokes_the_refresh_token_and_clears_the_keyring() {
    rig_required();
    let provider = provider(&[]);
    let env = logged_in(
        &provider,
        "conf",
        CONFIDENTIAL_CLIENT,
        Some(DEFAULT_CLIENT_SECRET),
    );
    let id = connector_id(&env, "conf");
    let refresh = refresh_token_of(&id).expect("a refresh token after login");
    assert_eq!(introspect(&provider, &refresh)["active"], Value::Bool(true));
    let out = env.run(&["logout", "conf"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout_of(&out);
    assert!(text.contains("refresh token revoked at"), "{text}");
    assert!(text.contains("cached access token deleted"), "{text}");
    assert_eq!(
        introspect(&provider, &refresh)["active"],
        Value::Bool(false)
    );
    assert!(refresh_token_of(&id).is_none());
    assert!(cache_of(&id).is_none());
    // The client secret stays: the connector is still configured.
    assert!(secret_tool_lookup(&format!("{id}/client_secret")).is_some());

    let again = env.run(&["logout", "conf"], None);
    assert!(again.status.success(), "{}", describe(&again));
    assert!(
        stdout_of(&again).contains("nothing stored"),
        "{}",
        describe(&again)
    );
    let out = env.run(&["token", "conf", "--no-login"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
}

#[test]
fn re_pointing_a_connector_drops_its_tokens_and_asks_for_the_secret_again() {
    rig_required();
    let old = provider(&[]);
    let new = provider(&[]);
    let env = logged_in(
        &old,
        "conf",
        CONFIDENTIAL_CLIENT,
        Some(DEFAULT_CLIENT_SECRET),
    );
    let id = connector_id(&env, "conf");
    assert!(refresh_token_of(&id).is_some());
    let new_token = new.endpoint("token");
    let move_args = [
        "edit",
        "conf",
        "--authorization-endpoint",
        &new.endpoint("auth"),
        "--token-endpoint",
        &new_token,
        "--issuer",
        &new.issuer,
    ];

    // Without the secret: refused, and nothing saved or deleted.
    let out = env.run(&move_args, None);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let text = stderr_of(&out);
    assert!(text.contains("--client-secret-stdin"), "{text}");
    assert!(text.contains("another host"), "{text}");
    let shown: Value =
        serde_json::from_slice(&env.run(&["show", "conf", "--json"], None).stdout).unwrap();
    assert_eq!(shown["auth"]["token_endpoint"], old.endpoint("token"));
    assert!(refresh_token_of(&id).is_some());

    // With it: saved, and the old provider's tokens are gone rather than sent to the new one.
    let mut with_secret = move_args.to_vec();
    with_secret.push("--client-secret-stdin");
    let out = env.run(&with_secret, Some(&format!("{DEFAULT_CLIENT_SECRET}\n")));
    assert!(out.status.success(), "{}", describe(&out));
    assert!(refresh_token_of(&id).is_none());
    assert!(cache_of(&id).is_none());
    assert!(secret_tool_lookup(&format!("{id}/session")).is_none());
    let out = env.run(&["token", "conf", "--no-login"], None);
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    assert!(
        stderr_of(&out).contains("log in again"),
        "{}",
        describe(&out)
    );
    assert_eq!(new.grant_count("refresh_token"), 0);
}

#[test]
fn import_replacing_a_connector_drops_its_tokens() {
    rig_required();
    let provider = provider(&[]);
    let env = logged_in(&provider, "pub", PUBLIC_CLIENT, None);
    let id = connector_id(&env, "pub");
    assert!(refresh_token_of(&id).is_some());
    let export = env.run(&["export"], None);
    assert!(export.status.success(), "{}", describe(&export));
    let file = env.path("connectors.json");
    std::fs::write(&file, &export.stdout).unwrap();
    let out = env.run(&["import", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", describe(&out));
    assert_eq!(connector_id(&env, "pub"), id);
    assert!(refresh_token_of(&id).is_none());
    assert!(cache_of(&id).is_none());
}
