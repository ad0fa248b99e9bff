//! Issue 12: ifs-connect knows IFS Cloud. Against the sandbox made to behave like IFS (its web
//! start page redirecting to the realm, the "who am I" answer, an OData 403 with
//! `SRV_NOT_ACCESS`, a client registered with another redirect URI, a short session idle
//! time), through the real binary, the rig's keyring and its fetch browser.
//! Run through `./scripts/test --test ifs`.

mod common;

use std::thread;
use std::time::Duration;

use common::sandbox::SandboxProcess;
use common::*;
use serde_json::Value;

const NO_GRANT_PATH: &str =
    "main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/PurchaseOrderSet";

/// The fetch browser signs in with the sandbox's password (its default is another one).
fn env_with_fetch_browser() -> Env {
    let env = Env::new();
    let log = env.path("browser.log");
    env.with_fetch_browser(&log)
        .with_env("BROWSER_PASSWORD", "demo")
}

fn ok(env: &Env, args: &[&str]) -> std::process::Output {
    let out = env.run(args, None);
    assert!(out.status.success(), "{args:?}: {}", describe(&out));
    out
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", describe(out)))
}

fn login_json(env: &Env, name: &str, extra: &[&str]) -> (Value, std::process::Output) {
    let mut args = vec!["login", name, "--json"];
    args.extend_from_slice(extra);
    let out = env.run(&args, None);
    (json_of(&out), out)
}

// ---- 1. the Authority from any realm URL ------------------------------------------------------

#[test]
fn add_and_edit_take_the_realm_from_any_realm_url_and_say_so() {
    rig_required();
    let env = Env::new();
    let out = ok(
        &env,
        &[
            "add",
            "--name",
            "prod",
            "--auth",
            "openid",
            "--base-url",
            "https://ifs.example.com",
            "--authority",
            "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth?client_id=IFS_aurena&response_type=code",
            "--client-id",
            "flow",
        ],
    );
    assert!(
        stderr_of(&out).contains(
            "note: the Authority URL is the realm of the authorization endpoint you gave: \
             https://ifs.example.com/auth/realms/prod"
        ),
        "{}",
        describe(&out)
    );
    let shown = json_of(&ok(&env, &["show", "prod", "--json"]));
    assert_eq!(
        shown["auth"]["authority_url"],
        "https://ifs.example.com/auth/realms/prod"
    );

    let out = ok(
        &env,
        &[
            "edit",
            "prod",
            "--authority",
            "https://ifs.example.com/auth/realms/test/account/#/personal-info",
        ],
    );
    assert!(
        stderr_of(&out).contains("realm of the account console URL you gave"),
        "{}",
        describe(&out)
    );
    // The realm URL itself is taken as it is, without a note.
    let out = ok(
        &env,
        &[
            "edit",
            "prod",
            "--authority",
            "https://ifs.example.com/auth/realms/test",
        ],
    );
    assert!(!stderr_of(&out).contains("note:"), "{}", describe(&out));
    let shown = json_of(&ok(&env, &["show", "prod", "--json"]));
    assert_eq!(
        shown["auth"]["authority_url"],
        "https://ifs.example.com/auth/realms/test"
    );
}

// ---- 2. the realm from the Base URL alone ------------------------------------------------------

#[test]
fn discover_finds_the_realm_behind_the_web_client_and_never_suggests_its_client() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    let base = sb.base_url();
    let out = ok(&env, &["discover", &base]);
    let text = stdout_of(&out);
    assert!(
        text.contains(&format!("Authority URL  {}", sb.issuer())),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Found in       the Location header of {base}/main/ifsapplications/web/"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "Confirmed by   {}/.well-known/openid-configuration",
            sb.issuer()
        )),
        "{text}"
    );
    assert!(text.contains("signs in as 'IFS_aurena'"), "{text}");
    assert!(text.contains("Never reuse or change it"), "{text}");

    let report = json_of(&ok(&env, &["discover", &base, "--json"]));
    assert_eq!(report["found"]["authority"], sb.issuer().as_str());
    assert_eq!(report["found"]["realm"], "sandbox");
    assert_eq!(report["found"]["web_client_id"], "IFS_aurena");
    let first = &report["tried"][0];
    assert_eq!(first["start"], format!("{base}/main/ifsapplications/web/"));
    assert_eq!(first["requests"][0]["status"], 302);
    assert_eq!(report["tried"].as_array().unwrap().len(), 1, "{report}");
}

#[test]
fn discover_names_what_it_tried_when_nothing_leads_to_a_realm() {
    rig_required();
    let env = Env::new();
    let sb = SandboxProcess::start(&env, &[]);
    // A path under which the sandbox has no web client: every start page answers 404.
    let base = format!("{}/elsewhere", sb.base_url());
    let out = env.run(&["discover", &base], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains(&format!("No realm found from {base}")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{base}/main/ifsapplications/web/ -> no redirect (HTTP 404)"
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("{base}/ -> no redirect (HTTP 404)")),
        "{err}"
    );
    assert!(err.contains("Paste a realm URL instead"), "{err}");

    let out = env.run(&["discover", "http://ifs.example.com"], None);
    assert_eq!(code_of(out.status), 2, "{}", describe(&out));
    assert!(stderr_of(&out).contains("uses http"), "{}", describe(&out));
}

// ---- 3. what to register -------------------------------------------------------------------------

#[test]
fn show_says_what_to_set_on_the_iam_client() {
    rig_required();
    let env = Env::new();
    ok(
        &env,
        &[
            "add",
            "--name",
            "prod",
            "--auth",
            "openid",
            "--base-url",
            "https://ifs.example.com",
            "--authority",
            "https://ifs.example.com/auth/realms/prod",
            "--client-id",
            "IFS_connect",
        ],
    );
    let text = stdout_of(&ok(&env, &["show", "prod"]));
    for want in [
        "Set on the IFS IAM Client:",
        "Client ID         IFS_connect (case-sensitive)",
        "Public Client     on (no client secret)",
        "Standard Flow     on",
        "Service Accounts  off",
        "Redirect URIs     http://127.0.0.1/callback",
        "PKCE Method       S256",
        "admits any port on this machine",
        "IFS_connect looks like one of IFS's delivered clients",
    ] {
        assert!(text.contains(want), "missing {want:?} in:\n{text}");
    }
    let shown = json_of(&ok(&env, &["show", "prod", "--json"]));
    assert_eq!(
        shown["register"]["Redirect URIs"],
        "http://127.0.0.1/callback"
    );
}

#[test]
fn a_refused_redirect_uri_names_keycloaks_words_and_the_uri_to_register() {
    rig_required();
    let env = env_with_fetch_browser();
    let sb = SandboxProcess::start(&env, &[]);
    let issuer = sb.issuer();
    let base = sb.base_url();
    for (name, extra) in [("par", vec![]), ("nopar", vec!["--no-par"])] {
        let mut args = vec![
            "add",
            "--name",
            name,
            "--auth",
            "openid",
            "--base-url",
            &base,
            "--authority",
            &issuer,
            "--client-id",
            "ifs-connect-other-redirect",
        ];
        args.extend(extra);
        ok(&env, &args);
    }
    // With PAR the provider refuses the pushed request at once.
    let (outcome, out) = login_json(&env, "par", &[]);
    assert_eq!(outcome["ok"], false, "{}", describe(&out));
    assert_eq!(outcome["error"]["kind"], "authorization_denied");
    let hint = outcome["error"]["hint"].as_str().unwrap();
    assert!(hint.contains("Invalid parameter: redirect_uri"), "{hint}");
    assert!(
        hint.contains("Register exactly http://127.0.0.1/callback "),
        "{hint}"
    );

    // Without PAR the browser shows Keycloak's error page and nothing comes back.
    let out = env.run(&["login", "nopar", "--timeout", "4"], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("Error (timeout): no redirect arrived within 4 s"),
        "{text}"
    );
    assert!(
        text.contains("the likely cause is \"Invalid parameter: redirect_uri\""),
        "{text}"
    );
    assert!(
        text.contains("Register exactly http://127.0.0.1/callback "),
        "{text}"
    );
    assert!(text.contains("Set on the IFS IAM Client:"), "{text}");
    assert!(
        text.contains("Redirect URIs     http://127.0.0.1/callback"),
        "{text}"
    );
}

// ---- 4. who you are in IFS -----------------------------------------------------------------------

#[test]
fn login_shows_the_ifs_user_and_the_upn_and_keeps_the_user_with_the_last_test() {
    rig_required();
    let env = env_with_fetch_browser();
    let _sb = SandboxProcess::start(&env, &["--add"]);
    ok(
        &env,
        &[
            "edit",
            "sandbox-openid",
            "--scopes",
            "openid microprofile-jwt",
        ],
    );
    let (outcome, out) = login_json(&env, "sandbox-openid", &[]);
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    let user = &outcome["probe"]["user"];
    assert_eq!(user["user_id"], "DEMO", "{outcome}");
    assert_eq!(user["directory_id"], "demo");
    assert_eq!(user["name"], "Demo User");
    assert_eq!(user["email"], "demo@example.com");
    assert_eq!(outcome["claims"]["upn"], "demo");

    let out = env.run(&["login", "sandbox-openid"], None);
    assert!(out.status.success(), "{}", describe(&out));
    let text = stdout_of(&out);
    assert!(
        text.contains("IFS user       DEMO (Demo User, demo@example.com)"),
        "{text}"
    );
    assert!(text.contains("IFS user (upn) demo"), "{text}");
    let shown = stdout_of(&ok(&env, &["show", "sandbox-openid"]));
    assert!(
        shown.contains("IFS user (last test)        DEMO (Demo User, demo@example.com)"),
        "{shown}"
    );
}

#[test]
fn probe_failures_are_explained_by_cause() {
    rig_required();
    let env = env_with_fetch_browser();
    let _sb = SandboxProcess::start(&env, &["--add"]);
    ok(
        &env,
        &["edit", "sandbox-openid", "--probe-path", NO_GRANT_PATH],
    );
    let (outcome, out) = login_json(&env, "sandbox-openid", &[]);
    assert_eq!(outcome["ok"], false, "{}", describe(&out));
    assert_eq!(outcome["probe"]["status"], 403);
    let error = &outcome["error"];
    assert_eq!(error["kind"], "probe");
    let message = error["message"].as_str().unwrap();
    assert!(
        message.contains("no access to the projection PurchaseOrderHandling"),
        "{message}"
    );
    assert!(
        message.contains("FndProjectionGrant.SRV_NOT_ACCESS"),
        "{message}"
    );
    assert!(!message.contains("token rejected"), "{message}");
    assert!(error["hint"].as_str().unwrap().contains("grant the user"));

    ok(
        &env,
        &[
            "edit",
            "sandbox-openid",
            "--probe-path",
            "main/nothing/here",
        ],
    );
    let (outcome, out) = login_json(&env, "sandbox-openid", &[]);
    assert_eq!(outcome["probe"]["status"], 404, "{}", describe(&out));
    assert!(
        outcome["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("the Base URL or the probe path is wrong"),
        "{outcome}"
    );
}

// ---- 5. staying signed in --------------------------------------------------------------------------

#[test]
fn an_idle_session_ends_with_a_plain_message_and_an_offline_one_does_not() {
    rig_required();
    let env = env_with_fetch_browser();
    // Access tokens of 1 s are never reused (a minute's margin), so `token` always refreshes;
    // the session dies after 3 s unused.
    let _sb = SandboxProcess::start(
        &env,
        &["--add", "--token-lifetime", "1", "--session-idle", "3"],
    );
    // The API would refuse a 1-second token that expired on the way: no probe here.
    ok(&env, &["edit", "sandbox-openid", "--probe-path", ""]);
    let (outcome, out) = login_json(&env, "sandbox-openid", &[]);
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    let shown = stdout_of(&ok(&env, &["show", "sandbox-openid"]));
    assert!(shown.contains("Stay signed in (offline)    off"), "{shown}");
    let session = shown
        .lines()
        .find(|l| l.starts_with("Session "))
        .unwrap_or_else(|| panic!("no Session row:\n{shown}"));
    assert!(session.contains("unless used before"), "{session}");
    let list = stdout_of(&ok(&env, &["list"]));
    assert!(list.contains("SESSION"), "{list}");
    assert!(list.contains("until "), "{list}");

    thread::sleep(Duration::from_secs(5));
    let out = env.run(&["token", "sandbox-openid", "--no-login"], None);
    assert_eq!(code_of(out.status), 1, "{}", describe(&out));
    let err = stderr_of(&out);
    assert!(
        err.contains("your IFS session ended because it was not used for too long"),
        "{err}"
    );
    assert!(
        err.contains("log in again (ifs-connect login sandbox-openid)"),
        "{err}"
    );
    assert!(
        err.contains("ifs-connect edit sandbox-openid --offline-access"),
        "{err}"
    );

    ok(&env, &["edit", "sandbox-openid", "--offline-access"]);
    let (outcome, out) = login_json(&env, "sandbox-openid", &[]);
    assert_eq!(outcome["ok"], true, "{}", describe(&out));
    assert!(
        outcome["claims"]["scope"]
            .as_str()
            .unwrap()
            .contains("offline_access"),
        "{outcome}"
    );
    let shown = stdout_of(&ok(&env, &["show", "sandbox-openid"]));
    assert!(shown.contains("Stay signed in (offline)    on"), "{shown}");
    assert!(
        shown.contains("offline session (Stay signed in)"),
        "{shown}"
    );
    assert!(
        shown.contains("Client scopes     offline_access must be allowed"),
        "{shown}"
    );
    assert!(stdout_of(&ok(&env, &["list"])).contains("offline"));
    thread::sleep(Duration::from_secs(5));
    let out = env.run(&["token", "sandbox-openid", "--no-login"], None);
    assert!(out.status.success(), "{}", describe(&out));
    assert!(!stdout_of(&out).trim().is_empty());
}
