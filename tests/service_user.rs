//! Service users (OAuth2 client credentials) through the real binary: against the real
//! oidc-provider (its client credentials grant, shaped like Keycloak's) and the sandbox, with
//! the secret in the real Secret Service or in an environment variable with no D-Bus session
//! at all. Run through `./scripts/test --test service_user`.

mod common;

use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::sandbox::SandboxProcess;
use common::*;
use serde_json::Value;

const SERVICE_CLIENT: &str = "ifs-service";
const SECRET_VAR: &str = "IFS_CONNECT_TEST_SERVICE_SECRET";

// ---- helpers -------------------------------------------------------------------------------------

/// `add --auth client-credentials` with the authority (discovery) and either the secret on
/// stdin (keyring) or the name of the variable that will hold it.
fn add_service_user(env: &Env, provider: &Provider, name: &str, client_id: &str, secret: Secret) {
    let mut cmd = env.cmd(&add_args(provider, name, client_id, &secret));
    if matches!(secret, Secret::Env) {
        no_dbus(&mut cmd, env);
    }
    let out = match secret {
        Secret::Keyring(value) => cmd.output_with_stdin(&format!("{value}\n")),
        Secret::Env => cmd.output_bounded(),
    };
    assert!(out.status.success(), "add: {}", describe(&out));
}

enum Secret<'a> {
    Keyring(&'a str),
    Env,
}

fn add_args(provider: &Provider, name: &str, client_id: &str, secret: &Secret) -> Vec<String> {
    let mut args: Vec<String> = [
        "add",
        "--name",
        name,
        "--auth",
        "client-credentials",
        "--base-url",
        &provider.base_url,
        "--authority",
        &provider.issuer,
        "--client-id",
        client_id,
    ]
    .map(String::from)
    .to_vec();
    match secret {
        Secret::Keyring(_) => args.push("--client-secret-stdin".into()),
        Secret::Env => args.extend(["--client-secret-env".into(), SECRET_VAR.into()]),
    }
    args
}

fn login_json(env: &Env, name: &str, cmd_env: &[(&str, &str)], dbus: bool) -> (Value, Output) {
    let mut cmd = env.cmd(&["login", name, "--json"]);
    for (k, v) in cmd_env {
        cmd.env(k, v);
    }
    if !dbus {
        no_dbus(&mut cmd, env);
    }
    let out = cmd.output_bounded();
    let outcome: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("login --json is not JSON ({e}): {}", describe(&out)));
    (outcome, out)
}

fn step_names(outcome: &Value) -> Vec<String> {
    outcome["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect()
}

fn token_line(out: &Output) -> String {
    assert!(out.status.success(), "token: {}", describe(out));
    let text = stdout_of(out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "stdout must hold the token only: {text:?}");
    lines[0].to_owned()
}

/// The "who am I" answer of the test provider's API for `token`.
fn who_am_i(provider: &Provider, token: &str) -> HttpResponse {
    let auth = format!("Bearer {token}");
    http_request(
        "GET",
        &provider.api_url(),
        &[("Authorization", &auth)],
        None,
    )
    .unwrap_or_else(|e| panic!("API request: {e}"))
}

fn grants(provider: &Provider) -> u64 {
    provider.grant_count("client_credentials")
}

/// Wait (bounded) for a child and collect its output.
fn wait_output(child: std::process::Child, timeout: Duration) -> Output {
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

// ---- the secret in the keyring -----------------------------------------------------------------------

#[test]
fn login_and_token_with_the_secret_in_the_keyring() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_service_user(
        &env,
        &provider,
        "svc",
        SERVICE_CLIENT,
        Secret::Keyring(DEFAULT_CLIENT_SECRET),
    );
    let id = connector_id(&env, "svc");
    assert_eq!(
        secret_tool_lookup(&format!("{id}/client_secret")).as_deref(),
        Some(DEFAULT_CLIENT_SECRET)
    );

    let (outcome, out) = login_json(&env, "svc", &[], true);
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    assert_eq!(
        step_names(&outcome),
        ["discovery", "token", "access_token", "probe"],
        "no browser step: {outcome}"
    );
    let token_step = &outcome["steps"][1]["detail"];
    assert!(
        token_step.as_str().unwrap().contains("client_secret_basic"),
        "{token_step}"
    );
    // oidc-provider's tokens are opaque: nothing to read, and said so.
    assert!(
        outcome["steps"][2]["detail"]
            .as_str()
            .unwrap()
            .contains("opaque")
    );
    assert_eq!(outcome["claims"]["refresh_token"], false);
    assert_eq!(outcome["probe"]["status"], 200);
    assert_eq!(grants(&provider), 1);

    // The login's token is cached in the keyring: `token` reuses it, no second request.
    let token = token_line(&env.run(&["token", "svc"], None));
    assert_eq!(grants(&provider), 1, "the cached token was used");
    let cache = secret_tool_lookup(&format!("{id}/access_token")).expect("cached in the keyring");
    assert!(cache.contains(&token));
    let who = who_am_i(&provider, &token);
    assert_eq!(who.status, 200, "{}", who.body);
    assert_eq!(who.json()["UserId"], "service-account-ifs-service");
    assert_eq!(secret_tool_lookup(&format!("{id}/refresh_token")), None);

    let shown = env.run(&["show", "svc"], None);
    assert!(stdout_of(&shown).contains("OAuth2 Client Credentials (service user)"));
    assert!(stdout_of(&shown).contains("stored in keyring"));
    let list = stdout_of(&env.run(&["list"], None));
    assert!(list.contains("client-credentials"), "{list}");
    for what in [DEFAULT_CLIENT_SECRET, token.as_str()] {
        assert_secret_nowhere(&env, &out, "secret or token", what);
        assert_secret_nowhere(&env, &shown, "secret or token", what);
    }
}

#[test]
fn concurrent_token_calls_request_once() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_service_user(
        &env,
        &provider,
        "many",
        SERVICE_CLIENT,
        Secret::Keyring(DEFAULT_CLIENT_SECRET),
    );
    let before = grants(&provider);
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
    let outputs: Vec<Output> = children
        .into_iter()
        .map(|c| wait_output(c, RUN_TIMEOUT))
        .collect();
    let tokens: Vec<String> = outputs.iter().map(token_line).collect();
    assert_eq!(grants(&provider), before + 1, "exactly one token request");
    assert!(tokens.windows(2).all(|w| w[0] == w[1]), "{tokens:?}");
    assert_eq!(who_am_i(&provider, &tokens[0]).status, 200);
}

// ---- the secret in a variable, no keyring at all ----------------------------------------------------------

#[test]
fn the_secret_from_a_variable_needs_no_dbus_session_and_touches_no_keyring() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    // Saved with no D-Bus session at all: only the variable's name is stored.
    add_service_user(&env, &provider, "ci", SERVICE_CLIENT, Secret::Env);
    let id = connector_id(&env, "ci");
    let config = std::fs::read_to_string(env.config_file()).unwrap();
    assert!(config.contains(SECRET_VAR), "{config}");

    // The control: in this environment anything that needs the keyring fails.
    let mut control = env.cmd(&add_args(
        &provider,
        "ctl",
        SERVICE_CLIENT,
        &Secret::Keyring(""),
    ));
    no_dbus(&mut control, &env);
    let control = control.output_with_stdin("some-other-secret\n");
    assert_eq!(control.status.code(), Some(1), "{}", describe(&control));
    assert!(stderr_of(&control).contains("keyring is not available"));

    let vars = [(SECRET_VAR, DEFAULT_CLIENT_SECRET)];
    let (outcome, login) = login_json(&env, "ci", &vars, false);
    assert_eq!(outcome["ok"], true, "{}", describe(&login));
    let detail = outcome["steps"][1]["detail"].as_str().unwrap();
    assert!(detail.contains(&format!("${SECRET_VAR}")), "{detail}");

    let mut first = env.cmd(&["token", "ci"]);
    no_dbus(&mut first, &env);
    let first = first
        .env(SECRET_VAR, DEFAULT_CLIENT_SECRET)
        .output_bounded();
    let mut second = env.cmd(&["token", "ci", "--json"]);
    no_dbus(&mut second, &env);
    let second = second
        .env(SECRET_VAR, DEFAULT_CLIENT_SECRET)
        .output_bounded();
    let token = token_line(&first);
    let json: Value = serde_json::from_str(&token_line(&second)).unwrap();
    // Cached only in the process that got it: every process asks the provider.
    assert_ne!(json["access_token"], Value::from(token.clone()));
    assert_eq!(
        grants(&provider),
        3,
        "login and two token calls, one request each"
    );
    assert_eq!(who_am_i(&provider, &token).status, 200);

    // Nothing reached the keyring, nor a file, a log or the output.
    let keyring = secret_tool_search_all();
    assert!(!keyring.contains(&id), "{keyring}");
    for out in [&login, &first, &second] {
        assert_secret_nowhere(&env, out, "client secret", DEFAULT_CLIENT_SECRET);
    }
    assert!(files_containing(env.config_dir(), &token).is_empty());
    assert!(files_containing(env.data_dir(), &token).is_empty());
}

#[test]
fn an_unset_variable_is_named_in_the_error() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_service_user(&env, &provider, "ci", SERVICE_CLIENT, Secret::Env);
    let mut token = env.cmd(&["token", "ci"]);
    no_dbus(&mut token, &env);
    let out = token.env_remove(SECRET_VAR).output_bounded();
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(err.contains(SECRET_VAR) && err.contains("not set"), "{err}");
    assert!(stdout_of(&out).is_empty());

    let (outcome, out) = login_json(&env, "ci", &[(SECRET_VAR, "")], false);
    assert_eq!(outcome["ok"], false, "{}", describe(&out));
    assert_eq!(outcome["error"]["kind"], "config");
    assert!(
        outcome["error"]["message"]
            .as_str()
            .unwrap()
            .contains(SECRET_VAR)
    );
    assert_eq!(grants(&provider), 0, "no request without a secret");
}

#[test]
fn without_a_variable_or_a_keyring_nothing_is_saved() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let mut add = env.cmd(&add_args(
        &provider,
        "svc",
        SERVICE_CLIENT,
        &Secret::Keyring(""),
    ));
    no_dbus(&mut add, &env);
    let out = add.output_with_stdin("no-keyring-secret\n");
    assert_eq!(out.status.code(), Some(1), "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(err.contains("keyring is not available"), "{err}");
    assert!(err.contains("nothing was saved"), "{err}");
    assert!(!err.contains("no-keyring-secret"));
    let list: Value = serde_json::from_slice(&env.run(&["list", "--json"], None).stdout).unwrap();
    assert_eq!(list, Value::Array(vec![]));

    // And no secret at all is a usage error that names both ways to give one.
    let mut args = add_args(&provider, "svc", SERVICE_CLIENT, &Secret::Env);
    args.truncate(args.len() - 2);
    let out = env.run(&args, None);
    assert_eq!(out.status.code(), Some(2), "{}", describe(&out));
    assert!(stderr_of(&out).contains("--client-secret-env"));
}

// ---- bad input --------------------------------------------------------------------------------------------

#[test]
fn a_wrong_secret_is_a_token_request_error_explained() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let wrong = "wrong-secret-1234";
    add_service_user(
        &env,
        &provider,
        "svc",
        SERVICE_CLIENT,
        Secret::Keyring(wrong),
    );
    let (outcome, out) = login_json(&env, "svc", &[], true);
    assert_eq!(outcome["ok"], false);
    assert_eq!(out.status.code(), Some(1));
    let error = &outcome["error"];
    assert_eq!(error["kind"], "token_request", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("invalid_client")
    );
    assert!(error["hint"].as_str().unwrap().contains("client secret"));
    let token = env.run(&["token", "svc"], None);
    assert_eq!(token.status.code(), Some(1), "{}", describe(&token));
    assert!(stderr_of(&token).contains("invalid_client"));
    for out in [&out, &token] {
        assert_secret_nowhere(&env, out, "wrong secret", wrong);
    }
}

#[test]
fn a_client_without_service_accounts_says_to_turn_them_on() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    add_service_user(
        &env,
        &provider,
        "svc",
        CONFIDENTIAL_CLIENT,
        Secret::Keyring(DEFAULT_CLIENT_SECRET),
    );
    let (outcome, out) = login_json(&env, "svc", &[], true);
    assert_eq!(outcome["ok"], false, "{}", describe(&out));
    let error = &outcome["error"];
    assert_eq!(error["kind"], "token_request", "{error}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("unauthorized_client")
    );
    assert!(
        error["hint"].as_str().unwrap().contains("Service Accounts"),
        "{error}"
    );
}

// ---- the sandbox ----------------------------------------------------------------------------------------

#[test]
fn the_sandbox_service_user_logs_in_and_the_api_names_it() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &["--add"]);
    let (outcome, out) = login_json(&env, "sandbox-service", &[], true);
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    assert_eq!(
        step_names(&outcome),
        ["discovery", "token", "access_token", "probe"]
    );
    // The sandbox's tokens are JWTs: their claims are shown, marked as not verified.
    let claims = &outcome["claims"];
    assert_eq!(claims["name"], "service-account-ifs-connect-service");
    assert_eq!(claims["iss"], sb.info["issuer"]);
    assert_eq!(claims["signature"], "not_verified_access_token");
    let token = token_line(&env.run(&["token", "sandbox-service"], None));
    let api = format!("{}{API_PATH}", sb.info["base_url"].as_str().unwrap());
    let auth = format!("Bearer {token}");
    let who = http_request("GET", &api, &[("Authorization", &auth)], None).unwrap();
    assert_eq!(who.status, 200, "{}", who.body);
    assert_eq!(who.json()["UserId"], "IFS_CONNECT_SERVICE");
    let secret = sb.info["client_secret"].as_str().unwrap();
    assert_secret_nowhere(&env, &out, "sandbox client secret", secret);
}
