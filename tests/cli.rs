//! The command line against a real Secret Service (run through ./scripts/test).

mod common;

use common::{Env, RunExt, files_containing, rig_required, secret_tool_lookup};
use serde_json::Value;

const OPENID_ADD: &[&str] = &[
    "add",
    "--name",
    "prod",
    "--auth",
    "openid",
    "--base-url",
    "https://ifs.example.com/",
    "--authority",
    "https://ifs.example.com/auth/realms/prod/.well-known/openid-configuration",
    "--client-id",
    "IFS_flow",
    "--param",
    "prompt=select_account",
];

fn oauth2_add(name: &str) -> Vec<&str> {
    vec![
        "add",
        "--name",
        name,
        "--auth",
        "oauth2",
        "--base-url",
        "https://ifs.example.com",
        "--authorization-endpoint",
        "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth",
        "--token-endpoint",
        "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token",
        "--client-id",
        "IFS_conf",
        "--client-secret-stdin",
    ]
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn show_json(env: &Env, name: &str) -> Value {
    let out = env.run(&["show", name, "--json"], None);
    assert!(out.status.success(), "show failed: {}", stderr(&out));
    serde_json::from_slice(&out.stdout).expect("show --json prints JSON")
}

#[test]
fn openid_connector_is_added_normalised_edited_and_removed() {
    rig_required();
    let env = Env::new();
    let out = env.run(OPENID_ADD, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("http://127.0.0.1/callback"));

    let shown = show_json(&env, "prod");
    assert_eq!(shown["base_url"], "https://ifs.example.com");
    assert_eq!(shown["auth"]["type"], "openid");
    assert_eq!(
        shown["auth"]["authority_url"],
        "https://ifs.example.com/auth/realms/prod"
    );
    assert_eq!(shown["auth"]["scopes"], "openid");
    assert_eq!(shown["auth"]["validate_endpoints"], true);
    assert_eq!(shown["auth"]["extra_params"][0]["key"], "prompt");

    let out = env.run(
        &[
            "edit",
            "prod",
            "--name",
            "production",
            "--no-validate-issuer-name",
            "--prefill-user-email",
            "alice@example.com",
        ],
        None,
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = show_json(&env, "production");
    assert_eq!(shown["auth"]["validate_issuer_name"], false);
    assert_eq!(shown["auth"]["validate_endpoints"], true);
    assert_eq!(shown["auth"]["prefill_user_email"], "alice@example.com");
    assert_eq!(shown["id"], show_json(&env, "production")["id"]);

    let out = env.run(&["remove", "production"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let list: Value = serde_json::from_slice(&env.run(&["list", "--json"], None).stdout).unwrap();
    assert_eq!(list, Value::Array(vec![]));
}

#[test]
fn client_secret_lives_in_the_keyring_and_in_no_file() {
    rig_required();
    let env = Env::new();
    let secret = "s3cret-Zq8-not-in-files";
    let out = env.run(&oauth2_add("conf"), Some(&format!("{secret}\n")));
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!stdout(&out).contains(secret) && !stderr(&out).contains(secret));

    let shown = show_json(&env, "conf");
    let id = shown["id"].as_str().unwrap().to_owned();
    assert_eq!(shown["secrets"]["client_secret"], "stored in keyring");
    assert_eq!(shown["auth"]["has_client_secret"], true);
    let user = format!("{id}/client_secret");
    assert_eq!(secret_tool_lookup(&user).as_deref(), Some(secret));
    assert!(files_containing(env.root(), secret).is_empty());

    // A rename keeps the secret reachable: it is keyed by the stable id.
    let out = env.run(&["edit", "conf", "--name", "renamed"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        show_json(&env, "renamed")["secrets"]["client_secret"],
        "stored in keyring"
    );

    let out = env.run(&["remove", "renamed"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("and its secrets"));
    assert_eq!(secret_tool_lookup(&user), None);
}

#[test]
fn without_a_keyring_nothing_is_saved_and_the_cause_is_named() {
    rig_required();
    let env = Env::new();
    let out = env
        .cmd(&oauth2_add("conf"))
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/ifs-connect-test-bus",
        )
        .output_with_stdin("a-secret\n");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("keyring is not available"), "{err}");
    assert!(err.contains("nothing was saved"), "{err}");
    assert!(err.contains("never falls back"), "{err}");
    assert!(!err.contains("a-secret"));
    let list: Value = serde_json::from_slice(&env.run(&["list", "--json"], None).stdout).unwrap();
    assert_eq!(list, Value::Array(vec![]));
}

#[test]
fn validation_errors_exit_2_and_name_each_flag() {
    rig_required();
    let env = Env::new();
    let out = env.run(
        &[
            "add",
            "--name",
            "x",
            "--auth",
            "openid",
            "--base-url",
            "http://ifs.example.com",
            "--authority",
            "ifs",
            "--client-id",
            "c",
            "--scopes",
            "profile",
            "--param",
            "state=abc",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--param: 'state' is set by the program itself"),
        "{}",
        stderr(&out)
    );

    let out = env.run(
        &[
            "add",
            "--name",
            "x",
            "--auth",
            "openid",
            "--base-url",
            "http://ifs.example.com",
            "--authority",
            "ifs",
            "--client-id",
            "c",
            "--scopes",
            "profile",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    for needle in [
        "--base-url",
        "uses http",
        "--authority",
        "not an absolute URL",
        "--scopes",
        "needs the scope openid",
    ] {
        assert!(err.contains(needle), "missing {needle:?} in {err}");
    }
    assert!(
        !env.config_file().exists(),
        "a rejected add must not create the config"
    );

    let out = env.run(&["add", "--name", "x", "--auth", "openid"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--base-url is required"));

    let out = env.run(&["show", "nope"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no connector named 'nope'"));
}

#[test]
fn a_corrupt_config_is_reported_with_position_and_left_untouched() {
    rig_required();
    let env = Env::new();
    std::fs::create_dir_all(env.config_dir()).unwrap();
    let broken = "version = 1\n[[connector]]\nname = \"a\"\nbase_url = \n";
    std::fs::write(env.config_file(), broken).unwrap();
    let out = env.run(OPENID_ADD, None);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("connectors.toml:4:"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_to_string(env.config_file()).unwrap(), broken);
}

#[test]
fn config_dir_is_a_global_option_and_an_environment_variable() {
    rig_required();
    let env = Env::new();
    let other = env.root().join("elsewhere");
    let other_str = other.to_str().unwrap();
    let mut args = vec!["--config-dir", other_str];
    args.extend_from_slice(OPENID_ADD);
    let out = env.run(&args, None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(other.join("connectors.toml").exists());
    assert!(!env.config_file().exists());
    let out = env.run(&["list", "--config-dir", other_str], None);
    assert!(stdout(&out).contains("prod"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(other.join("connectors.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn export_and_import_carry_no_secrets_and_validate_first() {
    rig_required();
    let env = Env::new();
    let secret = "exported-secret-must-not-appear";
    assert!(env.run(OPENID_ADD, None).status.success());
    assert!(env.run(&oauth2_add("conf"), Some(secret)).status.success());
    let out = env.run(&["export"], None);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(!text.contains(secret));
    let export: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(export["connectors"].as_array().unwrap().len(), 2);

    let target = Env::new();
    let file = target.root().join("export.json");
    std::fs::write(&file, &text).unwrap();
    let out = target.run(&["import", file.to_str().unwrap()], None);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Imported 2 new"));
    assert!(stdout(&out).contains("edit conf --client-secret-stdin"));
    assert_eq!(
        show_json(&target, "conf")["secrets"]["client_secret"],
        "none"
    );

    let mut bad: Value = serde_json::from_str(&text).unwrap();
    bad["connectors"][0]["name"] = "fresh".into();
    bad["connectors"][1]["name"] = "broken".into();
    bad["connectors"][1]["base_url"] = "not a url".into();
    std::fs::write(&file, bad.to_string()).unwrap();
    let before = std::fs::read(target.config_file()).unwrap();
    let out = target.run(&["import", file.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("connector 'broken'"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read(target.config_file()).unwrap(), before);
}

#[test]
fn agent_groups_are_managed_and_checked() {
    rig_required();
    let env = Env::new();
    let mut args: Vec<&str> = OPENID_ADD.to_vec();
    args.extend(["--agent-group", "night"]);
    let out = env.run(&args, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("agent-group add night"),
        "{}",
        stderr(&out)
    );

    assert!(
        env.run(&["agent-group", "add", "night"], None)
            .status
            .success()
    );
    assert!(env.run(&args, None).status.success());
    let out = env.run(&["agent-group", "list"], None);
    assert!(
        stdout(&out).contains("night\t1 connector(s)"),
        "{}",
        stdout(&out)
    );
    let out = env.run(&["agent-group", "remove", "night"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("used by 1 connector"));
}

#[test]
fn completions_and_the_man_page_come_from_the_binary_and_touch_no_files() {
    let env = Env::new();
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = env.run(&["completions", shell], None);
        assert!(out.status.success(), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        for sub in ["login", "token", "agent-group", "sandbox"] {
            assert!(script.contains(sub), "{shell} script lacks {sub}");
        }
    }
    let out = env.run(&["man"], None);
    assert!(out.status.success(), "{}", stderr(&out));
    let page = stdout(&out).replace("\\-", "-");
    assert!(page.contains(".TH ifs-connect 1"), "{page}");
    assert!(page.contains("agent-group"));
    let out = env.run(&["completions", "tcsh"], None);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown shell is a usage error"
    );
    assert!(stderr(&out).contains("powershell"), "{}", stderr(&out));
    assert!(!env.config_file().exists(), "nothing was written");
}
