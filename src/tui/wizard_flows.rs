//! The wizard as a person meets it, through the whole app on a `TestBackend`: each test
//! names the issue item it proves and runs at the size where it was seen.

use insta::assert_snapshot;
use ratatui::crossterm::event::KeyCode::{Char, Down, Enter, Esc, Tab};

use crate::core::connector::Auth;
use crate::core::ifs::discover::{Discovery, Trail};
use crate::core::login::discovery::DiscoveryCheck;
use crate::core::login::{ErrorKind, LoginError};
use crate::tui::test_util::*;

/// Snapshot the screen at `width`x`height`, then at 120x40, then go back.
fn snap(h: &mut Harness, name: &str, width: u16, height: u16) {
    h.app.resize(width, height).unwrap();
    assert_snapshot!(format!("{name}_{width}x{height}"), h.app.backend());
    h.app.resize(120, 40).unwrap();
    assert_snapshot!(format!("{name}_120x40"), h.app.backend());
    h.app.resize(width, height).unwrap();
}

/// The screen's words with the layout's runs of spaces made single: wrapped text reads
/// as one sentence.
fn words(h: &Harness) -> String {
    h.screen().split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A new connector through steps 1 to 3, ending on step 4 of the type `downs` below OpenId.
fn to_settings(h: &Harness, downs: usize) {
    h.key(Char('n'));
    h.type_text("prod").key(Enter).key(Enter);
    h.type_text("https://ifs.example.com")
        .key(Enter)
        .key(Enter)
        .key(Enter);
    for _ in 0..downs {
        h.key(Down);
    }
    h.key(Enter);
}

fn check_answering_404() -> DiscoveryCheck {
    let url = "http://127.0.0.1:38217/auth/realms/prod/.well-known/openid-configuration";
    DiscoveryCheck {
        discovery_url: url.into(),
        metadata: None,
        items: Vec::new(),
        error: Some(
            LoginError::new(
                ErrorKind::Discovery,
                format!("the discovery document at {url} answered HTTP 404"),
            )
            .with_hint(
                "check the Authority URL: it is the realm URL, e.g. https://HOST/auth/realms/REALM",
            ),
        ),
    }
}

/// Issue 16 item 2, seen at 80x24: the reason of a failed Check was cut off.
#[tokio::test]
async fn a_failed_check_at_80x24_shows_its_reason_wrapped_under_its_column() {
    let mut h = Harness::build(80, 24, |_, engine| {
        *engine.check.lock().unwrap() = Some(check_answering_404());
    })
    .await;
    to_settings(&h, 0);
    h.key(Enter)
        .type_text("http://127.0.0.1:38217/auth/realms/prod")
        .ctrl('k');
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("HTTP 404"), "{screen}");
    assert!(words(&h).contains("it is the realm URL, e.g. https://HOST/auth/realms/REALM"));
    // Continuation lines start under the text, not at the left edge.
    let continued = screen
        .lines()
        .skip_while(|l| !l.contains("✗ the discovery document"))
        .nth(1)
        .unwrap();
    assert!(continued.starts_with("    "), "{continued:?}");
    snap(&mut h, "wizard_4_openid_check_404", 80, 24);
}

/// Issue 16 item 2, seen at 100 columns: the issuer-mismatch Fix was cut.
#[tokio::test]
async fn the_issuer_mismatch_fix_is_read_in_full_at_100_columns() {
    let mut h = Harness::build(100, 30, |_, engine| {
        *engine.check.lock().unwrap() = Some(failing_check());
    })
    .await;
    to_settings(&h, 0);
    h.key(Enter)
        .type_text("https://ifs.example.com/auth/realms/prod")
        .ctrl('k');
    h.settle().await;
    assert!(
        words(&h)
            .contains("Fix: use the issuer as the Authority URL, or turn Validate Issuer Name off"),
        "{}",
        h.screen()
    );
    assert!(words(&h).contains("issuer https://login.example.com/prod differs from the authority"));
    h.app.resize(80, 24).unwrap();
    h.settle().await;
    assert!(
        words(&h).contains("turn Validate Issuer Name off"),
        "{}",
        h.screen()
    );
}

/// Issue 12 item 1: any URL of the realm becomes the realm URL, and the wizard says so.
#[tokio::test]
async fn a_pasted_endpoint_becomes_the_realm_url_with_a_note() {
    let mut h = Harness::new(80, 24).await;
    to_settings(&h, 0);
    h.key(Enter).paste(
        "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token?client_id=x",
    );
    h.key(Tab);
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Authority URL           https://ifs.example.com/auth/realms/prod "),
        "{screen}"
    );
    assert!(
        words(&h).contains("the Authority URL is the realm of the token endpoint you gave"),
        "{screen}"
    );
    snap(&mut h, "wizard_4_openid_realm_note", 80, 24);
    // Check runs on the realm URL.
    h.ctrl('k');
    h.settle().await;
    assert!(h.screen().contains("✓ HTTPS"), "{}", h.screen());
}

/// Issue 12 item 2: Find fills the Authority URL from step 2's Base URL.
#[tokio::test]
async fn find_fills_the_authority_from_the_base_url() {
    let mut h = Harness::new(80, 24).await;
    to_settings(&h, 0);
    h.key(Enter).key(Tab).key(Enter); // Authority, Find: pressed
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Authority URL           https://ifs.example.com/auth/realms/prod"),
        "{screen}"
    );
    assert!(screen.contains("✓ realm found"), "{screen}");
    let words = words(&h);
    assert!(
        words.contains(
            "Found in the Location header of https://ifs.example.com/main/ifsapplications/web/"
        ),
        "{screen}"
    );
    assert!(
        words.contains("'IFS_aurena'") && words.contains("Never reuse"),
        "{screen}"
    );
    snap(&mut h, "wizard_4_openid_found", 80, 24);
}

/// Issue 12 item 2: finding nothing shows what was tried, as the error.
#[tokio::test]
async fn find_that_finds_nothing_says_what_it_tried() {
    let mut h = Harness::build(80, 24, |_, engine| {
        *engine.realm.lock().unwrap() = Some(Ok(Discovery {
            base_url: "https://ifs.example.com".into(),
            tried: vec![Trail {
                start: "https://ifs.example.com/main/ifsapplications/web/".into(),
                requests: Vec::new(),
                result: "no redirect (HTTP 200)".into(),
            }],
            found: None,
        }));
    })
    .await;
    to_settings(&h, 0);
    h.key(Enter).key(Tab).key(Enter);
    h.settle().await;
    let words = words(&h);
    assert!(
        words.contains("✗ No realm found from https://ifs.example.com. Tried:"),
        "{words}"
    );
    assert!(words.contains("no redirect (HTTP 200)"), "{words}");
    assert!(words.contains("Paste a realm URL instead"), "{words}");
    let config = h.config();
    assert!(config.connectors.is_empty());
}

/// Issue 12 / issue 16 item 9: the OAuth2 step's discovery URL takes any realm URL.
#[tokio::test]
async fn the_oauth2_fill_takes_any_realm_url() {
    let mut h = Harness::new(80, 24).await;
    to_settings(&h, 1);
    h.key(Enter)
        .type_text("https://ifs.example.com/auth/realms/prod/account")
        .key(Enter);
    h.settle().await;
    assert_eq!(
        *h.engine.fetched.lock().unwrap(),
        ["https://ifs.example.com/auth/realms/prod/.well-known/openid-configuration"]
    );
    assert!(
        h.screen().contains("✓ filled from discovery"),
        "{}",
        h.screen()
    );
}

/// Issue 12 item 3: the Review says what to set on the IAM client, and the copy key puts
/// the exact redirect URI on the clipboard.
#[tokio::test]
async fn the_review_says_what_to_register_and_copies_the_redirect_uri() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.key(Char('e')).alt('6');
    h.settle().await;
    let screen = h.screen();
    // Issue 16 item 16: the Review omitted these two.
    for expected in [
        "Register the redirect URI http://127.0.0.1/callback  Ctrl-Y copies it",
        "Display name            none",
        "Probe path",
    ] {
        assert!(screen.contains(expected), "{expected}: {screen}");
    }
    // The long path wraps under its label rather than being cut.
    let joined: String = screen.split_whitespace().collect();
    assert!(
        joined.contains(
            "main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()"
        ),
        "{screen}"
    );
    snap(&mut h, "wizard_6_review_values", 80, 24);
    h.ctrl('g');
    h.settle().await;
    let screen = h.screen();
    for expected in [
        "Set on the IFS IAM Client:",
        "Public Client     on (no client secret)",
        "Service Accounts  off",
        "PKCE Method       S256",
    ] {
        assert!(screen.contains(expected), "{expected}: {screen}");
    }
    h.ctrl('y');
    h.settle().await;
    assert_eq!(
        *h.clipboard.0.lock().unwrap(),
        ["http://127.0.0.1/callback"]
    );
    assert!(h.screen().contains("http://127.0.0.1/callback  copied"));
    snap(&mut h, "wizard_6_review_register", 80, 24);
}

/// Issue 16 item 5: saving after a failed Check asks first; "no" saves nothing.
#[tokio::test]
async fn saving_after_a_failed_check_asks_first() {
    let mut h = Harness::build(80, 24, |context, engine| {
        seed_connectors(context);
        *engine.check.lock().unwrap() = Some(failing_check());
    })
    .await;
    h.key(Char('e')).alt('4').ctrl('k');
    h.settle().await;
    h.type_text("Prod").ctrl('s'); // a Display name, then save
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Check did not pass: save anyway?"),
        "{screen}"
    );
    snap(&mut h, "wizard_save_anyway", 80, 24);
    h.key(Char('n'));
    h.settle().await;
    let name = |h: &Harness| match &h.config().find("IFS production").unwrap().auth {
        Auth::OpenId(a) => a.display_name.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(name(&h), "", "no: nothing saved");
    assert!(h.screen().contains("Step 4 of 6"), "{}", h.screen());
    h.ctrl('s');
    h.settle().await;
    h.key(Char('y'));
    h.settle().await;
    assert_eq!(name(&h), "Prod", "yes: saved anyway");
}

/// Issue 16 item 8: Esc while editing closes at once, and asks only after a change.
#[tokio::test]
async fn esc_while_editing_closes_directly_and_asks_only_after_a_change() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.key(Char('e')).alt('4').key(Esc);
    h.settle().await;
    assert!(
        !h.screen().contains("Step "),
        "closed at once: {}",
        h.screen()
    );
    assert!(h.screen().contains("Connectors"), "{}", h.screen());
    h.key(Char('e')).alt('4').type_text("x").key(Esc);
    h.settle().await;
    assert!(h.screen().contains("Discard changes"), "{}", h.screen());
    h.key(Char('y'));
    h.settle().await;
    assert!(h.screen().contains("Connectors"), "{}", h.screen());
}

/// Issue 16 item 13: a group made in a wizard that is then discarded is not saved.
#[tokio::test]
async fn a_group_made_in_a_discarded_wizard_is_not_saved() {
    let mut h = Harness::new(80, 24).await;
    h.key(Char('n'))
        .type_text("prod")
        .key(Enter)
        .key(Down)
        .key(Enter);
    h.type_text("night").key(Enter);
    h.settle().await;
    assert!(
        h.screen().contains("› night") || h.screen().contains("night"),
        "{}",
        h.screen()
    );
    assert_eq!(h.config().agent_groups, ["default"], "not saved yet");
    h.key(Esc);
    h.settle().await;
    h.key(Char('y'));
    h.settle().await;
    assert_eq!(h.config().agent_groups, ["default"]);
}

/// Issue 16 item 13, the other half: saving the connector saves its new group with it.
#[tokio::test]
async fn a_group_made_in_the_wizard_is_saved_with_the_connector() {
    let mut h = Harness::new(80, 24).await;
    h.key(Char('n'))
        .type_text("prod")
        .key(Enter)
        .key(Down)
        .key(Enter);
    h.type_text("night").key(Enter).key(Enter);
    h.type_text("https://ifs.example.com")
        .key(Enter)
        .key(Enter)
        .key(Enter);
    h.key(Enter); // OpenId
    h.key(Enter)
        .type_text("https://ifs.example.com/auth/realms/prod");
    h.key(Enter).type_text("flow").ctrl('s');
    h.settle().await;
    let config = h.config();
    assert_eq!(config.agent_groups, ["default", "night"], "{}", h.screen());
    assert_eq!(config.find("prod").unwrap().agent_group, "night");
}

/// Issue 16 item 3 (the wizard's part), seen at 80x24: a long value or hint that is cut
/// ends with `…`.
#[tokio::test]
async fn cut_values_and_hints_end_with_an_ellipsis_at_80x24() {
    let mut h = Harness::new(80, 24).await;
    to_settings(&h, 0);
    h.key(Enter)
        .type_text(
            "https://ifs.example.com/auth/realms/a-very-long-generated-namespace-name-0123456789",
        )
        .key(Tab);
    h.settle().await;
    let screen = h.screen();
    let value = screen
        .lines()
        .find(|l| l.contains("Authority URL"))
        .unwrap();
    assert!(value.trim_end().ends_with('…'), "{value:?}");
    let hint = screen
        .lines()
        .find(|l| l.contains("The realm URL, without"))
        .unwrap();
    assert!(hint.trim_end().ends_with('…'), "{hint:?}");
}

/// Issue 16 item 16, seen at 80x24: a space in a URL said "invalid international domain name".
#[tokio::test]
async fn a_space_in_a_url_says_urls_cannot_contain_spaces() {
    let mut h = Harness::new(80, 24).await;
    h.key(Char('n')).type_text("prod").key(Enter).key(Enter);
    h.type_text("https://ifs example.com").key(Enter);
    h.settle().await;
    let words = words(&h);
    assert!(words.contains("URLs cannot contain spaces"), "{words}");
    assert!(!words.contains("international"), "{words}");
}

/// Issue 16 item 16, seen at 80x24: "client secretfor" ran together.
#[tokio::test]
async fn the_remove_secret_option_does_not_run_into_its_help() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.key(Down).key(Char('e')).alt('4');
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Remove the stored client secret  for a public client"),
        "{screen}"
    );
    assert!(!screen.contains("secretfor"));
}

/// The Review of an OAuth2 connector is taller than 80x24: it says there is more and the
/// arrows scroll to it, so nothing is silently cut.
#[tokio::test]
async fn a_review_taller_than_the_screen_says_so_and_scrolls() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.key(Down).key(Char('e')).alt('6');
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("↓ more"), "{screen}");
    assert!(!screen.contains("Prefill User Email"), "{screen}");
    for _ in 0..10 {
        h.key(Down);
    }
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("Prefill User Email"), "{screen}");
    assert!(
        screen.contains("↑ more") && !screen.contains("↓ more"),
        "{screen}"
    );
    snap(&mut h, "wizard_6_review_scrolled", 80, 24);
}

/// Issue 12 items 1 and 2 in the service user's step: Find, and any realm URL.
#[tokio::test]
async fn the_service_users_step_finds_the_realm_and_takes_any_realm_url() {
    let mut h = Harness::new(80, 24).await;
    to_settings(&h, 2);
    h.key(Enter).key(Tab).key(Enter);
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Authority URL           https://ifs.example.com/auth/realms/prod"),
        "{screen}"
    );
    assert!(screen.contains("✓ realm found"), "{screen}");
    snap(&mut h, "wizard_4_service_found", 80, 24);
    h.key(Char('u')); // not text here: Find has the focus
    h.key(ratatui::crossterm::event::KeyCode::BackTab)
        .ctrl('u')
        .paste("https://ifs.example.com/auth/realms/prod/.well-known/openid-configuration");
    h.key(Tab);
    h.settle().await;
    assert!(
        words(&h).contains("the Authority URL is the realm of the discovery URL you gave"),
        "{}",
        h.screen()
    );
}
