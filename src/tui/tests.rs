//! Whole-app tests: scripted input on a `TestBackend`, a temp config dir, secrets in
//! memory and a scripted provider. Each flow checks the config file after it, and the
//! snapshots cover every screen and wizard step at 80x24 and 120x40.

use std::sync::atomic::Ordering;
use std::time::Instant;

use insta::assert_snapshot;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::KeyCode::{BackTab, Down, Enter, Esc, Tab};
use secrecy::ExposeSecret;

use crate::core::connector::{Auth, ConnectorId};
use crate::core::secrets::{SecretKind, SecretStore};
use crate::core::store::{Config, Store};
use crate::core::workspace::Workspace;
use crate::tui::command::Commands;
use crate::tui::keymap::Keymap;
use crate::tui::screens::{Screen, TestLoginScreen};
use crate::tui::state::State;
use crate::tui::test_util::*;
use crate::tui::theme::Theme;
use crate::tui::view;

/// Snapshot the current screen at both sizes, then go back to 80x24.
fn snap(h: &mut Harness, name: &str) {
    // The temp config dir differs per run; the help screen shows it.
    insta::with_settings!({ filters => vec![(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]")] }, {
        h.app.resize(80, 24).unwrap();
        assert_snapshot!(format!("{name}_80x24"), h.app.backend());
        h.app.resize(120, 40).unwrap();
        assert_snapshot!(format!("{name}_120x40"), h.app.backend());
    });
    h.app.resize(80, 24).unwrap();
}

/// Let spawned tasks run and handle what they sent, without waiting for tasks that
/// wait on purpose (a login waiting for its browser).
async fn pump(h: &mut Harness) {
    for _ in 0..50 {
        tokio::task::yield_now().await;
        h.app.settle_input().await.unwrap();
    }
}

fn secret_of(h: &Harness, id: &ConnectorId) -> Option<String> {
    h.secrets
        .get(id, SecretKind::ClientSecret)
        .unwrap()
        .map(|s| s.expose_secret().to_owned())
}

/// Steps 1 to 3 of a new connector, ending on step 4.
/// Steps 1 to 3, choosing the auth type `downs` places below OpenId.
fn type_first_steps(h: &Harness, name: &str, downs: usize) {
    h.key(ratatui::crossterm::event::KeyCode::Char('n'));
    h.type_text(name).key(Enter).key(Enter);
    h.type_text("https://ifs.example.com/")
        .key(Enter)
        .key(Enter)
        .key(Enter);
    for _ in 0..downs {
        h.key(Down);
    }
    h.key(Enter);
}

#[tokio::test]
async fn create_an_openid_connector_step_by_step() {
    let mut h = Harness::new(80, 24).await;
    snap(&mut h, "list_empty");

    h.key(ratatui::crossterm::event::KeyCode::Char('n'));
    h.settle().await;
    snap(&mut h, "wizard_1_identity");
    h.type_text("IFS production").key(Enter).key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_2_base_url");
    h.type_text("https://ifs.example.com/")
        .key(Enter)
        .key(Enter)
        .key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_3_auth_type");
    h.key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_4_openid");

    h.key(Enter)
        .type_text("https://ifs.example.com/auth/realms/prod/")
        .key(Enter);
    h.type_text("flow").key(Enter).key(Enter);
    h.key(Enter); // on Check: runs it
    h.settle().await;
    snap(&mut h, "wizard_4_openid_checked");
    h.key(Enter); // a current result on screen: Enter moves on
    h.settle().await;
    snap(&mut h, "wizard_5_advanced_openid");

    h.key(Enter); // the empty list → the prompt=select_account offer
    h.key(Enter); // take the offer
    // The four Validate options and PAR, then Stay signed in and microprofile-jwt.
    for _ in 0..7 {
        h.key(Enter);
    }
    h.type_text("alice@example.com");
    h.key(Enter).key(Enter); // past the CA file, left empty
    h.settle().await;
    snap(&mut h, "wizard_6_review_openid");
    h.key(Enter); // Save
    h.settle().await;
    snap(&mut h, "list_one_connector");

    let config = h.config();
    assert_eq!(config.connectors.len(), 1);
    let c = &config.connectors[0];
    assert_eq!(c.name, "IFS production");
    assert_eq!(c.base_url, "https://ifs.example.com");
    assert_eq!(c.agent_group, "default");
    let Auth::OpenId(a) = &c.auth else {
        panic!("expected OpenId: {c:?}")
    };
    assert_eq!(a.authority_url, "https://ifs.example.com/auth/realms/prod");
    assert_eq!(a.client_id, "flow");
    assert_eq!(a.scopes, "openid");
    assert_eq!(
        a.extra_params,
        [crate::core::connector::Param::new(
            "prompt",
            "select_account"
        )]
    );
    assert_eq!(a.prefill_user_email.as_deref(), Some("alice@example.com"));
    assert!(h.secrets.is_empty(), "an OpenId connector has no secret");
}

#[tokio::test]
async fn a_failing_check_shows_each_verdict_and_the_fix() {
    let mut h = Harness::new(80, 24).await;
    *h.engine.check.lock().unwrap() = Some(failing_check());
    type_first_steps(&h, "prod", 0);
    h.key(Enter)
        .type_text("https://ifs.example.com/auth/realms/prod")
        .ctrl('k');
    h.settle().await;
    snap(&mut h, "wizard_4_openid_check_failed");
    assert!(h.screen().contains("✗ Validate Issuer Name"));
    assert!(h.screen().contains("Validate Token Issuer Name (off)"));
}

#[tokio::test]
async fn edit_a_connector_jumping_straight_to_a_step() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.key(ratatui::crossterm::event::KeyCode::Char('e'));
    h.settle().await;
    snap(&mut h, "wizard_edit_1_identity");
    h.alt('2');
    h.ctrl('u').type_text("https://ifs2.example.com");
    h.alt('5');
    h.settle().await;
    assert!(h.screen().contains("Step 5 of 6"), "{}", h.screen());
    h.ctrl('s');
    h.settle().await;
    let config = h.config();
    let prod = config.find("IFS production").unwrap();
    assert_eq!(prod.base_url, "https://ifs2.example.com");
    assert!(
        prod.last_test.is_none(),
        "a test of the old Base URL says nothing about the new one"
    );
    assert_eq!(config.connectors.len(), 3);
    assert!(h.screen().contains("https://ifs2.example.com"));
}

#[tokio::test]
async fn delete_asks_naming_the_connector_and_its_secrets() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    let id = h.config().find("IFS test").unwrap().id.clone();
    assert!(secret_of(&h, &id).is_some());
    h.key(Down).type_text("d");
    h.settle().await;
    snap(&mut h, "list_delete_confirm");
    assert!(h.screen().contains("Delete 'IFS test'?"));
    h.key(Enter); // the focused button is Cancel: Enter alone deletes nothing
    h.settle().await;
    assert_eq!(h.config().connectors.len(), 3);
    h.type_text("d").type_text("y");
    h.settle().await;
    let config = h.config();
    assert!(config.find("IFS test").is_none());
    assert_eq!(config.connectors.len(), 2);
    assert_eq!(secret_of(&h, &id), None, "its secret went too");
}

#[tokio::test]
async fn oauth2_secret_is_masked_revealed_on_demand_and_kept_in_the_keyring() {
    let mut h = Harness::new(80, 24).await;
    type_first_steps(&h, "IFS test", 1);
    h.settle().await;
    snap(&mut h, "wizard_4_oauth2");
    h.type_text("Test instance").key(Enter);
    h.paste(&format!("{ISSUER}/.well-known/openid-configuration\n"))
        .key(Enter); // Enter fills
    h.settle().await;
    h.key(Tab).key(Tab).key(Tab).type_text("flow-test").key(Tab);
    h.type_text("hunter2-secret");
    h.settle().await;
    snap(&mut h, "wizard_4_oauth2_filled_masked");
    assert!(!h.screen().contains("hunter2-secret"));
    h.ctrl('r');
    h.settle().await;
    assert!(h.screen().contains("hunter2-secret"), "Ctrl-R shows it");
    h.ctrl('r').key(Enter).key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_5_advanced_oauth2");
    h.alt('6');
    h.settle().await;
    snap(&mut h, "wizard_6_review_oauth2");
    assert!(
        !h.screen().contains("hunter2-secret"),
        "masked on review too"
    );
    h.key(Enter);
    h.settle().await;

    let config = h.config();
    let c = config.find("IFS test").unwrap();
    let Auth::OAuth2(a) = &c.auth else {
        panic!("expected OAuth2")
    };
    assert_eq!(
        a.authorization_endpoint,
        format!("{ISSUER}/protocol/openid-connect/auth")
    );
    assert_eq!(
        a.token_endpoint,
        format!("{ISSUER}/protocol/openid-connect/token")
    );
    assert_eq!(a.issuer.as_deref(), Some(ISSUER));
    assert!(a.has_client_secret);
    assert_eq!(secret_of(&h, &c.id).as_deref(), Some("hunter2-secret"));
    let file = std::fs::read_to_string(h.context.paths.config_file()).unwrap();
    assert!(
        !file.contains("hunter2"),
        "the secret is not in the config file"
    );
}

#[tokio::test]
async fn a_service_user_needs_a_secret_or_a_variable_and_keeps_it_off_disk() {
    let mut h = Harness::new(80, 24).await;
    type_first_steps(&h, "IFS service", 2);
    h.settle().await;
    snap(&mut h, "wizard_4_client_credentials");
    assert!(
        h.screen()
            .contains("OAuth2 Client Credentials (service user)")
    );
    h.type_text("Nightly export").key(Enter);
    h.type_text(ISSUER).key(Enter).key(Enter);
    h.type_text("svc-export")
        .key(Enter)
        .key(Enter)
        .key(Enter)
        .key(Enter);
    h.settle().await;
    assert!(h.screen().contains("Step 4 of 6"), "no secret: stays");
    assert!(
        h.screen()
            .contains("a service user needs its client secret")
    );
    h.type_text("s3rvice-secret")
        .key(Enter)
        .key(Enter)
        .key(Enter);
    h.settle().await;
    assert!(h.screen().contains("Step 5 of 6"), "{}", h.screen());
    assert!(!h.screen().contains("Prefill"), "no browser, no login_hint");
    assert!(
        !h.screen().contains("pick an account"),
        "no login page to prompt on: {}",
        h.screen()
    );
    h.alt('6');
    h.settle().await;
    assert!(!h.screen().contains("s3rvice-secret"), "masked on review");
    h.key(Enter);
    h.settle().await;

    let config = h.config();
    let c = config.find("IFS service").unwrap();
    let Auth::ClientCredentials(a) = &c.auth else {
        panic!("expected a service user, got {:?}", c.auth)
    };
    assert_eq!(a.authority_url.as_deref(), Some(ISSUER));
    assert_eq!(a.token_endpoint, None);
    assert_eq!(a.client_id, "svc-export");
    assert!(a.has_client_secret);
    assert_eq!(secret_of(&h, &c.id).as_deref(), Some("s3rvice-secret"));
    let file = std::fs::read_to_string(h.context.paths.config_file()).unwrap();
    assert!(
        !file.contains("s3rvice"),
        "the secret is not in the config file"
    );
}

#[tokio::test]
async fn a_step_with_errors_cannot_be_left_forward() {
    let mut h = Harness::new(80, 24).await;
    h.type_text("n").key(Enter).key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_1_identity_errors");
    assert!(h.screen().contains("Step 1 of 6"));
    assert!(h.screen().contains("enter a name for the connector"));

    h.type_text("prod").key(Enter).key(Enter);
    h.type_text("http://ifs.example.com")
        .key(Enter)
        .key(Enter)
        .key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_2_base_url_errors");
    assert!(h.screen().contains("Step 2 of 6"));
    assert!(h.screen().contains("uses http"));

    // Jumping ahead is refused too, while creating.
    h.alt('5');
    h.settle().await;
    assert!(h.screen().contains("Step 2 of 6"));
}

#[tokio::test]
async fn esc_goes_back_a_step_and_leaving_a_changed_wizard_asks() {
    let mut h = Harness::new(80, 24).await;
    h.type_text("n").type_text("draft").key(Enter).key(Enter);
    h.key(Esc);
    h.settle().await;
    assert!(h.screen().contains("Step 1 of 6"));
    h.key(Esc);
    h.settle().await;
    snap(&mut h, "wizard_leave_confirm");
    h.type_text("n");
    h.settle().await;
    assert!(h.screen().contains("Step 1 of 6"), "n stays");
    h.key(Esc).type_text("y");
    h.settle().await;
    assert!(h.screen().contains("No connectors yet"));
    // An unchanged wizard just closes.
    h.type_text("n").key(Esc);
    h.settle().await;
    assert!(h.screen().contains("No connectors yet"));
}

#[tokio::test]
async fn a_new_agent_group_is_created_inline() {
    let mut h = Harness::new(80, 24).await;
    h.type_text("n")
        .type_text("prod")
        .key(Tab)
        .key(Down)
        .key(Enter);
    h.type_text("eu-agents");
    h.settle().await;
    snap(&mut h, "wizard_1_identity_new_group");
    h.key(Enter);
    h.settle().await;
    // Selected now, saved with the connector (issue 16 item 13).
    assert!(!h.config().has_group("eu-agents"));
    assert!(h.screen().contains("› eu-agents"), "{}", h.screen());
    // And an existing one is refused with the core's message.
    h.key(Down).key(Enter).type_text("eu-agents").key(Enter);
    h.settle().await;
    assert!(h.screen().contains("already exists"), "{}", h.screen());
}

#[tokio::test]
async fn a_failed_save_shows_the_error_and_keeps_the_form() {
    let mut h = Harness::new(80, 24).await;
    type_first_steps(&h, "IFS test", 1);
    h.key(Enter).key(Enter).key(Tab); // display name, discovery, fill button → authorization
    h.type_text("https://ifs.example.com/auth")
        .key(Enter)
        .type_text("https://ifs.example.com/token")
        .key(Enter);
    h.type_text("flow")
        .key(Enter)
        .type_text("s3cret")
        .key(Enter);
    h.secrets.fail_writes(true);
    h.alt('6').key(Enter);
    h.settle().await;
    snap(&mut h, "wizard_save_failed");
    assert!(h.screen().contains("Could not save"));
    assert!(!h.screen().contains("s3cret"));
    h.key(Enter);
    h.settle().await;
    assert!(
        h.screen().contains("Step 6 of 6"),
        "the form is still there"
    );
    h.secrets.fail_writes(false);
    h.key(Enter);
    h.settle().await;
    assert_eq!(h.config().connectors.len(), 1);
}

#[tokio::test]
async fn test_login_from_the_list_is_remembered() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.key(Down).key(Down).type_text("t");
    h.settle().await;
    snap(&mut h, "test_login_passed");
    assert_eq!(h.engine.logins.lock().unwrap()[0].name, "Developer sandbox");
    h.key(Esc);
    h.settle().await;
    let config = h.config();
    let last = config
        .find("Developer sandbox")
        .unwrap()
        .last_test
        .clone()
        .unwrap();
    assert!(last.ok);
    assert_eq!(last.summary, "signed in as alice@example.com");
    assert!(h.screen().contains("✓ just now"), "{}", h.screen());
}

#[tokio::test]
async fn a_failed_test_login_explains_and_is_remembered() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.outcome.lock().unwrap() = Some(failing_outcome());
    h.type_text("t");
    h.settle().await;
    snap(&mut h, "test_login_failed");
    let config = h.config();
    let last = config
        .find("IFS production")
        .unwrap()
        .last_test
        .clone()
        .unwrap();
    assert!(!last.ok);
    assert!(last.summary.contains("invalid_grant"));
}

#[tokio::test]
async fn a_waiting_login_shows_the_url_copies_it_and_takes_a_pasted_redirect() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.engine.wait.store(true, Ordering::SeqCst);
    h.type_text("t");
    pump(&mut h).await;
    snap(&mut h, "test_login_waiting");
    assert!(h.screen().contains("5:00 left"));
    // No browser opened, so the paste box has the focus: letters are text there.
    h.ctrl('y');
    pump(&mut h).await;
    let copied = h.clipboard.0.lock().unwrap().clone();
    assert!(copied[0].starts_with(ISSUER), "{copied:?}");
    h.type_text("http://127.0.0.1:54321/callback?code=abc&state=Zx81")
        .key(Enter);
    h.settle().await;
    assert_eq!(
        h.engine.pasted.lock().unwrap()[0],
        "http://127.0.0.1:54321/callback?code=abc&state=Zx81"
    );
    assert!(h.screen().contains("Login works"), "{}", h.screen());
}

#[tokio::test]
async fn esc_cancels_a_waiting_login() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.engine.wait.store(true, Ordering::SeqCst);
    h.type_text("t");
    pump(&mut h).await;
    h.key(Esc).key(Esc); // leave the paste box, then cancel
    h.settle().await;
    assert!(h.engine.cancelled.load(Ordering::SeqCst));
    assert!(h.screen().contains("cancelled"), "{}", h.screen());
    let last = h
        .config()
        .find("IFS production")
        .unwrap()
        .last_test
        .clone()
        .unwrap();
    assert!(
        last.ok,
        "a cancelled test is not recorded over the last result"
    );
}

#[tokio::test]
async fn list_filter_help_duplicate_and_too_small() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    snap(&mut h, "list_connectors");
    h.type_text("/").type_text("test");
    h.settle().await;
    snap(&mut h, "list_filtered");
    assert!(!h.screen().contains("Developer sandbox"));
    h.key(Esc);
    h.type_text("?");
    h.settle().await;
    snap(&mut h, "help");
    h.key(Esc).type_text("c");
    h.settle().await;
    snap(&mut h, "list_duplicate_prompt");
    h.key(Enter);
    h.settle().await;
    let config = h.config();
    let copy = config.find("IFS test (copy)").expect("the copy");
    assert_eq!(secret_of(&h, &copy.id).as_deref(), Some("s3cret-value"));
    h.app.resize(60, 20).unwrap();
    assert_snapshot!("too_small_60x20", h.app.backend());
    h.type_text("q");
    h.settle().await;
    assert!(h.app.is_running(), "keys do nothing while too small");
}

#[tokio::test]
async fn mouse_clicks_rows_fields_and_buttons() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    // Row 3 is the second connector (title, header, first row).
    h.click(5, 3);
    h.settle().await;
    assert!(h.screen().contains("IFS test: OAuth2"), "{}", h.screen());
    h.click(5, 3); // a click on the selected row opens it
    h.settle().await;
    assert!(h.screen().contains("Edit 'IFS test'"));
    // The step bar: "6 Review" sits at the end of the bar on row 1.
    let bar = h.screen().lines().nth(1).unwrap().to_owned();
    let column = bar
        .find("6 Review")
        .map(|byte| bar[..byte].chars().count())
        .unwrap() as u16;
    h.click(column + 1, 1);
    h.settle().await;
    assert!(h.screen().contains("Step 6 of 6"), "{}", h.screen());
    h.scroll_down();
    h.settle().await;
}

#[tokio::test]
async fn ctrl_c_quits_even_from_a_text_field() {
    let mut h = Harness::new(80, 24).await;
    h.type_text("n").type_text("q");
    h.settle().await;
    assert!(h.app.is_running(), "q in a field is text");
    h.ctrl('c');
    h.settle().await;
    assert!(!h.app.is_running());
}

#[tokio::test]
async fn tab_and_shift_tab_cycle_fields() {
    let mut h = Harness::new(80, 24).await;
    h.type_text("n").key(Tab).key(BackTab).type_text("x");
    h.settle().await;
    let name_line = h
        .screen()
        .lines()
        .find(|l| l.starts_with("› Name"))
        .unwrap()
        .to_owned();
    assert!(name_line.trim_end().ends_with(" x"), "{}", h.screen());
}

fn render(state: &State, width: u16, height: u16) -> TestBackend {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    let keymap = Keymap::default();
    terminal
        .draw(|frame| view::render(state, &keymap, &Theme::monochrome(), frame))
        .unwrap();
    terminal.backend().clone()
}

fn login_state(events: Vec<crate::core::login::LoginEvent>) -> State {
    let mut state = State::new(
        crate::core::paths::Paths::under(std::path::Path::new("/home/u")),
        fixed_now(),
    );
    let connector =
        crate::core::connector::Connector::new("IFS production", Auth::OpenId(Default::default()));
    let (tx, _rx) = tokio::sync::mpsc::channel(1);
    let mut screen = TestLoginScreen::new(1, connector, tx, Default::default());
    let now = Instant::now();
    for event in events {
        screen.on_event(event, now);
    }
    state.screens.push(Screen::TestLogin(Box::new(screen)));
    state
}

#[test]
fn test_login_screen_from_events_fed_directly() {
    let mut events = events_until_browser();
    events.truncate(4);
    events.push(crate::core::login::LoginEvent::Started(
        crate::core::login::Step::Listener,
    ));
    let state = login_state(events);
    assert_snapshot!("test_login_running_80x24", render(&state, 80, 24));
    assert_snapshot!("test_login_running_120x40", render(&state, 120, 40));

    let mut state = login_state(events_until_browser());
    if let Some(Screen::TestLogin(screen)) = state.screens.last_mut() {
        let mut commands = Commands::default();
        screen.on_outcome(failing_outcome(), &mut commands);
        assert_eq!(
            commands.drain().len(),
            1,
            "asks for the result to be recorded"
        );
    }
    assert!(
        crate::tui::test_util::text(render(&state, 80, 24).buffer())
            .contains("Fix: Check that the Redirect URI")
    );
}

#[test]
fn ten_thousand_connectors_draw_as_fast_as_ten() {
    let template = {
        let mut c = crate::core::connector::Connector::new("x", Auth::OpenId(Default::default()));
        c.base_url = "https://ifs.example.com".into();
        c
    };
    let config = |n: usize| Config {
        connectors: (0..n)
            .map(|i| {
                let mut c = template.clone();
                c.name = format!("connector {i:05}");
                c
            })
            .collect(),
        ..Config::default()
    };
    let time_frame = |n: usize| {
        let mut state = State::new(
            crate::core::paths::Paths::under(std::path::Path::new("/tmp")),
            fixed_now(),
        );
        state.list.set_config(config(n));
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).unwrap();
        let keymap = Keymap::default();
        let theme = Theme::monochrome();
        let start = Instant::now();
        for _ in 0..20 {
            terminal.clear().unwrap();
            terminal
                .draw(|frame| view::render(&state, &keymap, &theme, frame))
                .unwrap();
        }
        start.elapsed() / 20
    };
    let small = time_frame(10);
    let large = time_frame(10_000);
    eprintln!("frame at 120x40: 10 connectors {small:?}, 10000 connectors {large:?}");
    assert!(
        large < small * 5 + std::time::Duration::from_millis(5),
        "{small:?} vs {large:?}"
    );
}

/// Prod has an access token until 12:05 (the clock says 12:00) and no refresh token, test
/// a refresh token whose session idles out at 12:25 (its access token is long gone), the
/// sandbox's access token ended; a logout later gives the fourth state, nothing stored.
async fn list_with_token_states() -> Harness {
    use crate::core::ifs::session::{Session, SessionEnd};
    let at = |minutes: i64| (fixed_now() + time::Duration::minutes(minutes)).unix_timestamp();
    Harness::with_tokens(
        80,
        24,
        &[
            ("IFS production", Session::AccessOnly { until: at(5) }),
            (
                "IFS test",
                Session::Refreshable {
                    end: Some(SessionEnd::IdleAt(at(25))),
                },
            ),
            ("Developer sandbox", Session::AccessOnly { until: at(-1) }),
        ],
    )
    .await
}

fn row_of<'a>(screen: &'a str, name: &str) -> &'a str {
    screen
        .lines()
        .find(|l| l.contains(name))
        .unwrap_or_else(|| panic!("no row for {name}:\n{screen}"))
}

#[tokio::test]
async fn the_list_shows_each_connectors_token_state() {
    let mut h = list_with_token_states().await;
    snap(&mut h, "list_token_states");
    let screen = h.screen();
    assert!(screen.contains("Session"), "{screen}");
    assert!(row_of(&screen, "IFS prod").contains("until 12:05"));
    // A refresh token outlives the access token: `token --no-login` works, so does the list.
    assert!(row_of(&screen, "IFS test").contains("until 12:25"));
    assert!(row_of(&screen, "Developer").contains("ended"));
    assert!(
        screen.contains("12:05 UTC (no refresh token) (L logs out)"),
        "{screen}"
    );
    h.key(Down).key(Down);
    h.settle().await;
    assert!(
        h.screen()
            .contains("Session:   ended: press t to log in again"),
        "{}",
        h.screen()
    );
}

#[tokio::test]
async fn logout_asks_then_revokes_reports_and_refreshes_the_state() {
    let mut h = list_with_token_states().await;
    let id = h.config().find("IFS production").unwrap().id.clone();
    h.type_text("L");
    h.settle().await;
    snap(&mut h, "list_logout_confirm");
    assert!(h.screen().contains("Log out of 'IFS production'?"));
    h.key(Enter); // Cancel has the focus: Enter alone logs nobody out
    h.settle().await;
    assert!(h.engine.logouts.lock().unwrap().is_empty());

    h.type_text("L").type_text("y");
    h.settle().await;
    assert_eq!(*h.engine.logouts.lock().unwrap(), [id]);
    snap(&mut h, "list_logged_out");
    let screen = h.screen();
    assert!(
        screen.contains("Logged out of 'IFS production'"),
        "{screen}"
    );
    assert!(screen.contains("refresh token revoked at"), "{screen}");
    assert!(screen.contains("cached access token deleted"), "{screen}");
    h.key(Enter);
    h.settle().await;
    let screen = h.screen();
    assert!(row_of(&screen, "IFS prod").contains('—'), "{screen}");
    assert!(
        screen.contains("Session:   not signed in: press t to log in"),
        "{screen}"
    );
    assert!(row_of(&screen, "IFS test").contains("until 12:25"));
    assert!(
        !screen.contains("logout"),
        "nothing left to log out of: {screen}"
    );
}

#[tokio::test]
async fn logout_with_nothing_stored_says_so() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.type_text("L");
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("'IFS production' has no session: nothing to log out"),
        "{screen}"
    );
    assert!(!screen.contains("Log out of"), "no question: {screen}");
    assert!(
        !screen.contains("L logout"),
        "the footer does not offer it: {screen}"
    );
    assert!(h.engine.logouts.lock().unwrap().is_empty());
}

#[tokio::test]
async fn device_login_is_suggested_without_a_browser_and_shows_code_and_qr() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.browser_problem.lock().unwrap() = Some("no display (SSH session)".into());
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.engine.wait.store(true, Ordering::SeqCst);
    h.type_text("t");
    pump(&mut h).await;
    // The paste box has the focus (no browser opened), so the suggestion names Ctrl-D.
    assert!(
        h.screen()
            .contains("No browser can be opened here (no display (SSH session)). Press Ctrl-D"),
        "{}",
        h.screen()
    );

    *h.engine.events.lock().unwrap() = events_until_device_approval();
    h.ctrl('d');
    pump(&mut h).await;
    snap(&mut h, "test_login_device");
    let screen = h.screen();
    assert!(screen.contains("Device login: IFS production"), "{screen}");
    assert!(screen.contains("W D J B - M J H T"), "{screen}");
    assert!(
        screen.contains(" https://ifs.example.com/auth/realms/prod/"),
        "{screen}"
    );
    assert!(screen.contains("10:00 left"), "{screen}");
    assert!(screen.contains("Or scan the QR code: it carries the code."));
    assert!(
        screen.contains('█') && screen.contains('▀'),
        "a QR code: {screen}"
    );
    assert!(
        h.engine.cancelled.load(Ordering::SeqCst),
        "the browser login it replaced was cancelled"
    );

    h.engine.approve.notify_one();
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("Login works"), "{screen}");
    assert!(screen.contains("Device approval"), "{screen}");
    assert!(!screen.contains("W D J B"), "the code goes once it is used");
    assert_eq!(h.engine.device_logins.lock().unwrap().len(), 1);
    let last = h.config().find("IFS production").unwrap().last_test.clone();
    assert!(last.is_some_and(|t| t.ok));

    // Retry stays a device login.
    h.engine.wait.store(false, Ordering::SeqCst);
    h.type_text("r");
    h.settle().await;
    assert_eq!(h.engine.device_logins.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn the_qr_code_gives_way_to_a_note_when_the_window_is_too_small() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.engine.wait.store(true, Ordering::SeqCst);
    // A long complete URI makes a QR code too tall for 80x24 but not for 120x40.
    let mut prompt = device_prompt();
    prompt.verification_uri_complete = Some(format!(
        "{ISSUER}/device?user_code=WDJB-MJHT&client_id={}",
        "x".repeat(120)
    ));
    *h.engine.prompt.lock().unwrap() = Some(prompt);
    *h.engine.events.lock().unwrap() = events_until_device_approval();
    h.type_text("t");
    pump(&mut h).await;
    h.key(Esc).type_text("d"); // leave the paste box; then d is the device key
    pump(&mut h).await;
    let screen = h.screen();
    assert!(
        screen.contains("The window is too small for the QR code"),
        "{screen}"
    );
    assert!(
        screen.contains("W D J B - M J H T"),
        "the code is still there"
    );
    assert!(!screen.contains('█'), "no half QR code: {screen}");
    h.app.resize(120, 40).unwrap();
    let screen = h.screen();
    assert!(screen.contains("Or scan the QR code"), "{screen}");
    assert!(screen.contains('█'), "{screen}");
}

#[tokio::test]
async fn device_login_is_not_offered_when_the_provider_has_none() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.engine.no_device.store(true, Ordering::SeqCst);
    h.engine.wait.store(true, Ordering::SeqCst);
    *h.engine.browser_problem.lock().unwrap() = Some("no display".into());
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.type_text("t");
    pump(&mut h).await;
    assert!(
        !h.screen().contains("device code on your phone"),
        "{}",
        h.screen()
    );
    h.ctrl('d');
    pump(&mut h).await;
    assert!(
        h.screen().contains("does not offer device login"),
        "{}",
        h.screen()
    );
    assert!(h.engine.device_logins.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_rebound_key_changes_every_text_that_names_it() {
    use crate::tui::keymap::{Action, Key, Scope};
    let mut keymap = Keymap::default();
    keymap.rebind(Scope::TestLogin, Action::Retry, &[Key::char('a')]);
    keymap.rebind(Scope::TestLogin, Action::Back, &[Key::ctrl('b')]);
    keymap.rebind(Scope::List, Action::TestLogin, &[Key::char('x')]);
    let mut h = Harness::with_keymap(120, 40, keymap).await;
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.type_text("t");
    h.settle().await;
    assert!(
        !h.screen().contains("Test login:"),
        "t is no longer the test key:\n{}",
        h.screen()
    );
    h.type_text("x");
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains(" a runs it again · Ctrl-B goes back to the list"),
        "{screen}"
    );
    assert!(
        screen.contains("a retry"),
        "the hint bar follows too:\n{screen}"
    );
    assert!(!screen.contains(" r runs it again"), "{screen}");
}

#[tokio::test]
async fn the_list_says_what_was_saved_deleted_or_duplicated() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.key(Down).type_text("c").key(Enter);
    h.settle().await;
    assert!(
        h.screen().contains("─ Duplicated as 'IFS test (copy)' ─"),
        "{}",
        h.screen()
    );
    h.key(Down);
    h.settle().await;
    assert!(!h.screen().contains("Duplicated as"), "a key clears it");

    h.key(ratatui::crossterm::event::KeyCode::Char('e'));
    h.ctrl('s');
    h.settle().await;
    let selected = h.screen();
    assert!(selected.contains("─ Saved '"), "{selected}");

    h.type_text("d").type_text("y");
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("─ Deleted '"), "{screen}");
    snap(&mut h, "list_notice_deleted");
}

#[tokio::test]
async fn the_detail_shows_the_ifs_user_and_local_times() {
    let h = Harness::with(80, 24, seed_connectors).await;
    let screen = h.screen();
    assert!(
        screen.contains("IFS user:  ALICE (Alice Smith, alice@example.com)"),
        "{screen}"
    );
    assert!(
        screen.contains("✓ signed in as alice@example.com · 3 min ago (11:57 UTC)"),
        "the time in words and on the clock, never RFC 3339: {screen}"
    );
    assert!(row_of(&screen, "IFS prod").contains("✓ 3 min ago"));
}

#[tokio::test]
async fn an_empty_list_filters_too_and_offers_only_what_works() {
    let mut h = Harness::new(80, 24).await;
    let footer = h.screen().lines().last().unwrap().to_owned();
    for absent in ["edit", "copy", "delete", "test", "logout"] {
        assert!(!footer.contains(absent), "{absent} offered: {footer}");
    }
    h.type_text("/").type_text("abc");
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains(" / abc"), "the filter line shows: {screen}");
    assert!(screen.contains("No connectors yet"), "{screen}");
    snap(&mut h, "list_empty_filter");
}

#[tokio::test]
async fn another_process_adding_a_connector_shows_up_without_restart() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    h.app.poll();
    h.settle().await;
    assert!(!h.screen().contains("sandbox-openid"));
    // What `ifs-connect add` in another terminal does: the same store, another writer.
    let other = Workspace::new(Store::new(&h.context.paths.config_dir), h.secrets.clone());
    let mut added = crate::core::connector::Connector::new(
        "sandbox-openid",
        Auth::OpenId(crate::core::connector::OpenIdAuth {
            authority_url: "http://127.0.0.1:8080/auth/realms/sandbox".into(),
            client_id: "ifs-connect".into(),
            ..Default::default()
        }),
    );
    added.base_url = "http://127.0.0.1:8080".into();
    other
        .save(added, crate::core::workspace::SecretChange::Keep)
        .unwrap();
    h.app.poll();
    h.settle().await;
    assert!(h.screen().contains("sandbox-openid"), "{}", h.screen());
}

#[tokio::test]
async fn a_cancelled_test_reads_cancelled_and_offers_no_url_to_copy() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.events.lock().unwrap() = events_until_browser();
    h.engine.wait.store(true, Ordering::SeqCst);
    h.type_text("t");
    pump(&mut h).await;
    let waiting = h.screen();
    assert!(waiting.contains("y copy URL"), "{waiting}");
    assert!(
        waiting.contains("If the browser shows an error (Client not found, Invalid parameter:"),
        "what a provider's error page means, while waiting: {waiting}"
    );
    assert!(waiting.contains("Esc cancels, then Enter"), "{waiting}");
    h.key(Esc).key(Esc);
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("· cancelled"), "{screen}");
    assert!(!screen.contains("✗ failed"), "{screen}");
    assert!(
        screen.contains("Cancelled: the test was stopped"),
        "{screen}"
    );
    assert!(
        !screen.contains("(cancelled)"),
        "no internal kind: {screen}"
    );
    assert!(
        !screen.contains("copy URL"),
        "nothing to copy any more: {screen}"
    );
    assert!(!screen.contains(" p paste"), "{screen}");
    snap(&mut h, "test_login_cancelled");
}

#[tokio::test]
async fn a_wrong_client_id_gets_fix_words_for_the_tui_and_enter_edits() {
    use crate::core::login::{ErrorKind, LoginError};
    let mut h = Harness::with(80, 24, seed_connectors).await;
    let mut outcome = failing_outcome();
    outcome.error = Some(
        LoginError::new(
            ErrorKind::TokenRequest,
            "the token endpoint refused the client (HTTP 401): invalid_client",
        )
        .with_hint(
            "check the Client ID: it is case-sensitive. Then that the IAM client is enabled; \
             a confidential client also needs its secret (`ifs-connect edit NAME \
             --client-secret-stdin`)",
        ),
    );
    *h.engine.outcome.lock().unwrap() = Some(outcome);
    h.type_text("t");
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Fix: check the Client ID: it is case-sensitive."),
        "{screen}"
    );
    let flat = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        flat.contains("(press Enter to edit this connector and give its client secret)"),
        "{screen}"
    );
    assert!(
        !screen.contains("ifs-connect edit"),
        "no command line: {screen}"
    );
    assert!(!screen.contains("NAME"), "{screen}");
    assert!(
        !screen.contains("(token_request)"),
        "no internal kind: {screen}"
    );
    assert!(!screen.contains("PAR"), "{screen}");
    assert!(
        !screen.contains("Likely cause"),
        "the redirect is not the cause: {screen}"
    );
    h.key(Enter);
    h.settle().await;
    let screen = h.screen();
    assert!(
        screen.contains("Step 1 of 6"),
        "Enter opened the editor: {screen}"
    );
    assert!(screen.contains("IFS production"), "{screen}");
}

#[tokio::test]
async fn a_redirect_failure_shows_what_to_register_and_a_pass_shows_the_ifs_user() {
    use crate::core::ifs::who::IfsUser;
    use crate::core::login::{ErrorKind, LoginError};
    let mut h = Harness::with(80, 24, seed_connectors).await;
    let mut outcome = failing_outcome();
    outcome.error = Some(LoginError::new(
        ErrorKind::Timeout,
        "no redirect arrived within 300 s",
    ));
    *h.engine.outcome.lock().unwrap() = Some(outcome);
    h.type_text("t");
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("Likely cause:"), "{screen}");
    assert!(
        screen.contains("Invalid parameter: redirect_uri"),
        "{screen}"
    );
    assert!(screen.contains("http://127.0.0.1/callback"), "{screen}");
    snap(&mut h, "test_login_register_after_timeout");

    let mut passing = passing_outcome();
    if let Some(probe) = &mut passing.probe {
        probe.user = Some(IfsUser {
            user_id: "ALICE".into(),
            directory_id: None,
            name: Some("Alice Andersson".into()),
            email: None,
        });
    }
    *h.engine.outcome.lock().unwrap() = Some(passing);
    h.type_text("r");
    h.settle().await;
    for _ in 0..10 {
        h.key(Down);
    }
    h.settle().await;
    let screen = h.screen();
    assert!(screen.contains("IFS user       ALICE"), "{screen}");
}

#[tokio::test]
async fn long_results_say_there_is_more_below_and_f1_in_the_wizard_opens_its_keys() {
    let mut h = Harness::with(80, 24, seed_connectors).await;
    *h.engine.outcome.lock().unwrap() = Some(passing_outcome());
    h.type_text("t");
    h.settle().await;
    assert!(h.screen().contains("↓ more (↓/j)"), "{}", h.screen());
    for _ in 0..20 {
        h.key(Down);
    }
    h.settle().await;
    assert!(!h.screen().contains("↓ more"), "at the end: {}", h.screen());
    h.key(Esc);
    h.key(ratatui::crossterm::event::KeyCode::Char('n'));
    h.key(ratatui::crossterm::event::KeyCode::F(1));
    h.settle().await;
    let screen = h.screen();
    let first_body_line = screen.lines().nth(2).unwrap_or_default();
    assert!(first_body_line.contains("Wizard"), "{screen}");
    assert!(screen.contains("↓ more"), "{screen}");
}

#[tokio::test]
async fn relative_times_move_on_without_a_key() {
    fn five_minutes_later() -> time::OffsetDateTime {
        fixed_now() + time::Duration::minutes(5)
    }
    let mut h = Harness::with(80, 24, seed_connectors).await;
    assert!(row_of(&h.screen(), "IFS prod").contains("✓ 3 min ago"));
    h.app.set_clock(five_minutes_later);
    // What the loop's two-second timer does when nothing else happens.
    h.app.poll();
    h.settle().await;
    let screen = h.screen();
    assert!(
        row_of(&screen, "IFS prod").contains("✓ 8 min ago"),
        "{screen}"
    );
    assert!(screen.contains("8 min ago (11:57 UTC)"), "{screen}");
}
