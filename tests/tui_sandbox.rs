//! The README's "try it without IFS Cloud", as a new user does it: `ifs-connect sandbox --add`
//! in one terminal, the TUI in another (a real terminal under tmux), `t` on each sandbox
//! connector, sign in through a real headless Chromium (the service user needs none), and see
//! every login pass.

mod common;

use std::time::Duration;

use common::sandbox::SandboxProcess;
use common::{Env, rig_required};
use ifs_connect::core::store::Store;

/// The service user's test login runs in the same screen, with no browser.
const SANDBOX_CONNECTORS: [&str; 3] = ["sandbox-openid", "sandbox-oauth2", "sandbox-service"];

#[test]
fn a_new_user_tests_every_sandbox_connector_from_the_tui() {
    rig_required();
    let env = Env::new();
    let log = env.path("browser.log");
    // The sandbox's sign-in page is prefilled with demo/demo; the browser script types a
    // password, so it must type the demo one.
    let env = env
        .with_browser_chromium(&log)
        .with_env("BROWSER_PASSWORD", "demo");
    let _sandbox = SandboxProcess::start(&env, &["--add"]);

    let tmux = env.tmux(100, 30, &[]);
    let step = Duration::from_secs(20);
    let wait = |text: &str, timeout: Duration| {
        tmux.wait_for(text, timeout)
            .unwrap_or_else(|screen| panic!("waiting for {text:?}:\n{screen}"))
    };
    let list = wait("3 connectors", step);
    for name in SANDBOX_CONNECTORS {
        assert!(list.contains(name), "{list}");
    }

    let mut tested = Vec::new();
    for (i, _) in SANDBOX_CONNECTORS.iter().enumerate() {
        if i > 0 {
            tmux.send_keys(&["Down"]);
        }
        tmux.send_text("t");
        let result = wait("Login works", Duration::from_secs(90));
        assert!(result.contains("✓ passed"), "{result}");
        assert!(result.contains("API probe"), "{result}");
        let name = SANDBOX_CONNECTORS
            .into_iter()
            .find(|n| result.contains(&format!("Test login: {n}")))
            .unwrap_or_else(|| panic!("which connector was tested?\n{result}"));
        tested.push(name);
        tmux.send_keys(&["Escape"]);
        wait("3 connectors", step);
    }
    tested.sort_unstable();
    let mut expected = SANDBOX_CONNECTORS.to_vec();
    expected.sort_unstable();
    assert_eq!(tested, expected, "each sandbox connector was tested once");

    tmux.send_text("q");
    assert_eq!(tmux.wait_exit(step), Ok(0));

    // The list remembers every result.
    let config = Store::new(&env.config_dir).load().unwrap();
    for name in SANDBOX_CONNECTORS {
        let connector = config.find(name).expect("saved by sandbox --add");
        let last = connector.last_test.as_ref().expect("a recorded test");
        assert!(last.ok, "{name}: {}", last.summary);
    }
}

/// Issue 10 in the wizard, in a real terminal against `sandbox --tls`: Check refuses the
/// sandbox's certificate until the CA file it wrote is typed into the Advanced step, then
/// trusts it.
#[test]
fn the_wizards_check_trusts_the_ca_file_typed_in_the_advanced_step() {
    rig_required();
    let env = Env::new();
    let sandbox = SandboxProcess::start(&env, &["--tls"]);
    let ca_file = sandbox.text("ca_file");
    let tmux = env.tmux(100, 30, &[]);
    let step = Duration::from_secs(20);
    let wait = |text: &str| {
        tmux.wait_for(text, step)
            .unwrap_or_else(|screen| panic!("waiting for {text:?}:\n{screen}"))
    };

    wait("No connectors yet");
    tmux.send_text("n");
    wait("Step 1 of 6");
    tmux.send_text("tls");
    tmux.send_keys(&["Enter", "Enter"]);
    wait("Step 2 of 6");
    tmux.send_text(&sandbox.base_url());
    tmux.send_keys(&["Enter", "Enter", "Enter"]);
    wait("Step 3 of 6");
    tmux.send_keys(&["Enter"]);
    wait("Step 4 of 6");
    tmux.send_keys(&["Enter"]);
    tmux.send_text(&sandbox.issuer());
    tmux.send_keys(&["Enter"]);
    tmux.send_text("ifs-public"); // a valid step, so Alt-5 may move on
    tmux.send_keys(&["C-k"]);
    let refused = wait("Fix:");
    assert!(refused.contains("certificate"), "{refused}");

    tmux.send_keys(&["M-5"]);
    wait("Step 5 of 6");
    tmux.send_keys(&["BTab"]); // from the parameters, back around to the CA file
    tmux.send_text(&ca_file);
    tmux.send_keys(&["M-4"]);
    wait("Step 4 of 6");
    tmux.send_keys(&["C-k"]);
    let trusted = wait("✓ Validate Issuer Name");
    assert!(trusted.contains("✓ HTTPS"), "{trusted}");
    assert!(!trusted.contains("Fix:"), "{trusted}");

    // Back one step at a time (a new connector), each Esc after the screen answered, so two
    // are never read as one Alt-Esc; from step 1 the changed wizard asks.
    for previous in [
        "Step 3 of 6",
        "Step 2 of 6",
        "Step 1 of 6",
        "Discard changes",
    ] {
        tmux.send_keys(&["Escape"]);
        wait(previous);
    }
    tmux.send_text("y");
    wait("No connectors yet");
    tmux.send_text("q");
    assert_eq!(tmux.wait_exit(step), Ok(0));
}
