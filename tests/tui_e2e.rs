//! The TUI end to end in a real terminal: the real binary under tmux (private socket,
//! fixed size, the pane polled rather than slept on), the rig's Secret Service, the local
//! OpenID provider and headless Chromium as `$BROWSER`. A new user types a connector
//! through the wizard, saves and tests the login, sees it work, and quits; the connector
//! is in the config file and its secret in the keyring.

mod common;

use std::time::Duration;

use common::{Env, Provider, rig_required, secret_tool_lookup};
use ifs_connect::core::connector::Auth;
use ifs_connect::core::store::Store;

/// The provider's confidential client and its default secret (tests/support/provider.mjs).
const CLIENT: &str = "ifs-confidential";
const SECRET: &str = "test-secret-not-for-production";

#[test]
fn a_new_connector_typed_in_the_wizard_saves_and_logs_in() {
    rig_required();
    let provider = Provider::start();
    let env = Env::new();
    let log = env.path("browser.log");
    let env = env.with_browser_chromium(&log);
    let tmux = env.tmux(100, 30, &[]);
    let step = Duration::from_secs(20);
    let wait = |text: &str, timeout: Duration| {
        tmux.wait_for(text, timeout)
            .unwrap_or_else(|screen| panic!("{screen}"))
    };

    wait("No connectors yet", step);
    tmux.send_text("n");
    wait("Step 1 of 6", step);
    tmux.send_text("E2E provider");
    tmux.send_keys(&["Enter", "Enter"]);
    wait("Step 2 of 6", step);
    tmux.send_text(&provider.base_url);
    tmux.send_keys(&["Enter", "Enter", "Enter"]);
    wait("Step 3 of 6", step);
    tmux.send_keys(&["Down", "Enter"]);
    wait("Step 4 of 6", step);
    tmux.send_keys(&["Enter"]);
    tmux.send_text(&provider.discovery_url());
    tmux.send_keys(&["Enter"]); // Enter on a discovery URL fills the endpoints
    wait("filled from discovery", step);
    tmux.send_keys(&["Tab", "Tab", "Tab"]);
    tmux.send_text(CLIENT);
    tmux.send_keys(&["Tab"]);
    tmux.send_text(SECRET);
    let screen = tmux.capture();
    assert!(!screen.contains(SECRET), "the secret is masked:\n{screen}");
    tmux.send_keys(&["Tab", "C-u"]);
    tmux.send_text("openid email profile");
    tmux.send_keys(&["Enter"]);
    wait("Step 5 of 6", step);
    // Past the prompt offer and PKCE to Stay signed in, then Enter walks the IFS user name
    // option, Prefill User Email and the CA file, and leaves the step.
    tmux.send_keys(&["Tab", "Tab", "Tab", "Enter", "Enter", "Enter", "Enter"]);
    let review = wait("Step 6 of 6", step);
    assert!(
        review.contains("Register the redirect URI http://127.0.0.1/callback"),
        "{review}"
    );
    tmux.send_keys(&["Tab", "Enter"]); // Save and test login

    let result = wait("Login works", Duration::from_secs(90));
    assert!(result.contains("alice@example.com"), "{result}");
    assert!(result.contains("✓ passed"), "{result}");
    tmux.send_keys(&["Escape"]);
    // The test login screen names the user too: wait for the list itself, so that `q` does
    // not follow Esc so closely that the terminal reads the pair as Alt-q.
    // The result is recorded by a background job: wait for the list to show it.
    let list = tmux
        .wait_until(step, |screen| {
            screen.contains("ifs-connect · Connectors")
                && screen.contains("signed in as alice@example.com")
        })
        .unwrap_or_else(|screen| panic!("the list never showed the result:\n{screen}"));
    assert!(list.contains("signed in as alice@example.com"), "{list}");
    tmux.send_text("q");
    assert_eq!(tmux.wait_exit(step), Ok(0));

    let config = Store::new(&env.config_dir).load().unwrap();
    let connector = config
        .find("E2E provider")
        .expect("the connector is in the config");
    let Auth::OAuth2(auth) = &connector.auth else {
        panic!("{connector:?}")
    };
    assert_eq!(auth.client_id, CLIENT);
    assert!(auth.has_client_secret);
    assert!(connector.last_test.as_ref().is_some_and(|t| t.ok));
    let entry = format!("{}/client_secret", connector.id);
    assert_eq!(secret_tool_lookup(&entry).as_deref(), Some(SECRET));
    let file = std::fs::read_to_string(env.config_file()).unwrap();
    assert!(!file.contains(SECRET));
}
