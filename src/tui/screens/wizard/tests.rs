//! The wizard on its own: navigation rules, dirtiness and the secret decision, driven
//! with keys through `Component::handle` and checked through the commands it queues.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;

use super::*;
use crate::core::connector::Param;
use crate::tui::keymap::Keymap;

fn press(wizard: &mut Wizard, code: KeyCode, modifiers: KeyModifiers) -> Vec<Command> {
    let keymap = Keymap::default();
    let mut commands = Commands::default();
    let mut cx = EventCx {
        keymap: &keymap,
        commands: &mut commands,
        area: Rect::new(0, 1, 80, 22),
    };
    let _ = wizard.handle(&Input::Key(KeyEvent::new(code, modifiers)), &mut cx);
    commands.drain()
}

fn type_text(wizard: &mut Wizard, text: &str) {
    for c in text.chars() {
        press(wizard, KeyCode::Char(c), KeyModifiers::NONE);
    }
}

fn existing() -> Connector {
    let mut c = Connector::new(
        "prod",
        Auth::OpenId(OpenIdAuth {
            authority_url: "https://ifs.example.com/auth/realms/prod".into(),
            client_id: "flow".into(),
            extra_params: vec![Param::new("prompt", "select_account")],
            ..OpenIdAuth::default()
        }),
    );
    c.base_url = "https://ifs.example.com".into();
    c
}

#[test]
fn an_unchanged_edit_is_not_dirty_and_leaves_without_asking() {
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec!["prod".into()]);
    assert!(!wizard.is_dirty());
    let commands = press(&mut wizard, KeyCode::Esc, KeyModifiers::NONE);
    assert!(
        matches!(commands.as_slice(), [Command::CloseScreen]),
        "{commands:?}"
    );
    type_text(&mut wizard, "2");
    assert!(wizard.is_dirty());
    let commands = press(&mut wizard, KeyCode::Esc, KeyModifiers::NONE);
    assert!(
        matches!(commands.as_slice(), [Command::AskLeaveWizard { .. }]),
        "{commands:?}"
    );
}

#[test]
fn editing_reaches_every_step_directly_and_creating_does_not_skip_errors() {
    let mut edit = Wizard::edit(existing(), &["default".into()], vec![]);
    press(&mut edit, KeyCode::Char('6'), KeyModifiers::ALT);
    assert_eq!(edit.step, StepId::Review);
    let mut new = Wizard::new(&["default".into()], vec![]);
    press(&mut new, KeyCode::Char('6'), KeyModifiers::ALT);
    assert_eq!(
        new.step,
        StepId::Identity,
        "the empty name holds it on step 1"
    );
    type_text(&mut new, "prod");
    press(&mut new, KeyCode::Char('3'), KeyModifiers::ALT);
    assert_eq!(
        new.step,
        StepId::BaseUrl,
        "stops at the first step with errors (the empty Base URL)"
    );
}

#[test]
fn the_name_must_be_unique_among_the_others() {
    let mut wizard = Wizard::new(&["default".into()], vec!["prod".into()]);
    type_text(&mut wizard, "prod");
    press(&mut wizard, KeyCode::Enter, KeyModifiers::NONE);
    press(&mut wizard, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(wizard.step, StepId::Identity);
    assert!(
        wizard
            .identity
            .form
            .text(identity::Focus::Name)
            .visible_error()
            .unwrap()
            .contains("already exists")
    );
}

#[test]
fn saving_sends_the_normalised_connector_and_keeps_an_unchanged_secret() {
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec![]);
    let commands = press(&mut wizard, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let [
        Command::Save {
            connector,
            secret,
            then_test: false,
            new_group: None,
        },
    ] = commands.as_slice()
    else {
        panic!("{commands:?}")
    };
    assert_eq!(connector.name, "prod");
    assert!(matches!(secret, SecretChange::Keep));
    assert!(
        wizard.is_busy(),
        "saving shows a spinner until the answer comes"
    );
    assert!(
        press(&mut wizard, KeyCode::Char('s'), KeyModifiers::CONTROL).is_empty(),
        "no double save"
    );
    wizard.on_save_failed();
    assert!(!wizard.is_busy());
}

/// The wizard drawn alone at 80x22 with `keymap`, as text.
fn drawn(wizard: &Wizard, keymap: &Keymap) -> String {
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;
    let paths = crate::core::paths::Paths::under(std::path::Path::new("/nonexistent"));
    let theme = crate::tui::theme::Theme::monochrome();
    let mut terminal = Terminal::new(TestBackend::new(80, 22)).unwrap();
    terminal
        .draw(|frame| {
            let cx = DrawCx {
                theme: &theme,
                keymap,
                now: crate::tui::test_util::fixed_now(),
                tick: 0,
                paths: &paths,
            };
            wizard.draw(frame, frame.area(), &cx);
        })
        .unwrap();
    crate::tui::test_util::text(terminal.backend().buffer())
}

#[test]
fn key_names_in_the_steps_come_from_the_keymap() {
    use crate::core::connector::OAuth2Auth;
    use crate::tui::keymap::Key;
    let mut keymap = Keymap::default();
    keymap.rebind(Scope::Wizard, Action::Reveal, &[Key::ctrl('e')]);
    keymap.rebind(Scope::Wizard, Action::FillEndpoints, &[Key::ctrl('g')]);
    keymap.rebind(Scope::Wizard, Action::Check, &[Key::ctrl('o')]);
    keymap.rebind(Scope::Wizard, Action::AddRow, &[Key::ctrl('a')]);
    let mut oauth2 = existing();
    oauth2.auth = Auth::OAuth2(OAuth2Auth::default());
    let mut wizard = Wizard::edit(oauth2, &["default".into()], vec![]);
    wizard.go_to(StepId::Settings);
    let screen = drawn(&wizard, &keymap);
    assert!(screen.contains("Hidden; Ctrl-E shows it"), "{screen}");
    assert!(screen.contains("Ctrl-G · fills both endpoints"), "{screen}");
    assert!(!screen.contains("Ctrl-R"), "{screen}");
    let mut openid = Wizard::edit(existing(), &["default".into()], vec![]);
    openid.go_to(StepId::Settings);
    assert!(drawn(&openid, &keymap).contains("Ctrl-O · fetches discovery"));
    openid.go_to(StepId::Advanced);
    assert!(drawn(&openid, &keymap).contains("Ctrl-A adds a row"));
}

#[test]
fn the_steps_write_the_connector_in_order_and_switching_type_keeps_shared_fields() {
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec![]);
    wizard.go_to(StepId::AuthType);
    press(&mut wizard, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(wizard.kind(), AuthKind::OAuth2);
    let Auth::OAuth2(auth) = wizard.connector().auth else {
        panic!("still OpenId");
    };
    assert_eq!(
        auth.extra_params,
        [Param::new("prompt", "select_account")],
        "the Advanced page wrote its parameters into the new type"
    );
    assert!(auth.pkce);
    press(&mut wizard, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(wizard.kind(), AuthKind::ClientCredentials);
    let Auth::ClientCredentials(service) = wizard.connector().auth else {
        panic!("not a service user");
    };
    assert_eq!(
        service.authority_url.as_deref(),
        Some("https://ifs.example.com/auth/realms/prod"),
        "the realm carries over to the service user"
    );
    press(&mut wizard, KeyCode::Tab, KeyModifiers::NONE);
    assert_eq!(
        wizard.connector(),
        wizard.initial,
        "and back again: nothing lost"
    );
}

#[test]
fn help_and_quit_bubble_up_even_from_a_text_field_and_while_saving() {
    let keymap = Keymap::default();
    let mut commands = Commands::default();
    let mut cx = EventCx {
        keymap: &keymap,
        commands: &mut commands,
        area: Rect::new(0, 1, 80, 22),
    };
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec![]);
    let f1 = Input::Key(KeyEvent::new(KeyCode::F(1), KeyModifiers::NONE));
    let letter = Input::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE));
    assert_eq!(wizard.handle(&f1, &mut cx), EventResult::Ignored);
    assert_eq!(
        wizard.handle(&letter, &mut cx),
        EventResult::Handled,
        "q is text here"
    );
    let save = Input::Key(KeyEvent::new(KeyCode::Char('s'), KeyModifiers::CONTROL));
    assert_eq!(wizard.handle(&save, &mut cx), EventResult::Handled);
    assert!(wizard.is_busy());
    assert_eq!(wizard.handle(&f1, &mut cx), EventResult::Ignored);
    assert_eq!(
        wizard.handle(&letter, &mut cx),
        EventResult::Handled,
        "swallowed while saving"
    );
    assert!(
        commands
            .drain()
            .iter()
            .all(|c| !matches!(c, Command::OpenHelp))
    );
}

#[test]
fn stay_signed_in_and_microprofile_switch_the_scopes_of_the_settings_step() {
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec![]);
    wizard.go_to(StepId::Advanced);
    wizard.advanced.form.focus = advanced::Focus::Offline;
    press(&mut wizard, KeyCode::Char(' '), KeyModifiers::NONE);
    assert_eq!(wizard.connector().auth.scopes(), "openid offline_access");
    assert_eq!(
        wizard.openid.form.value(openid::Focus::Scopes),
        "openid offline_access",
        "the Scopes field says so too"
    );
    assert!(wizard.advanced.form.is_on(advanced::Focus::Offline));
    wizard.advanced.form.focus = advanced::Focus::Microprofile;
    press(&mut wizard, KeyCode::Char(' '), KeyModifiers::NONE);
    assert_eq!(
        wizard.connector().auth.scopes(),
        "openid offline_access microprofile-jwt"
    );
    wizard.advanced.form.focus = advanced::Focus::Offline;
    press(&mut wizard, KeyCode::Char(' '), KeyModifiers::NONE);
    assert_eq!(wizard.connector().auth.scopes(), "openid microprofile-jwt");
    assert!(!wizard.advanced.form.is_on(advanced::Focus::Offline));
    // A service user has no browser session to keep: the options are not offered.
    wizard.go_to(StepId::AuthType);
    press(&mut wizard, KeyCode::Tab, KeyModifiers::NONE);
    press(&mut wizard, KeyCode::Tab, KeyModifiers::NONE);
    wizard.go_to(StepId::Advanced);
    assert!(!wizard.advanced.form.is_shown(advanced::Focus::Offline));
}

#[test]
fn check_and_fill_ask_with_the_ca_file_of_the_advanced_step() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("corp-ca.pem");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::write(&ca, cert.cert.pem()).unwrap();
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec![]);
    wizard
        .advanced
        .form
        .text_mut(advanced::Focus::CaFile)
        .set_value(ca.to_string_lossy());
    assert_eq!(
        wizard.connector().ca_file.as_deref(),
        Some(ca.to_str().unwrap())
    );
    wizard.go_to(StepId::Settings);
    let commands = press(&mut wizard, KeyCode::Char('k'), KeyModifiers::CONTROL);
    let [Command::CheckDiscovery { ca_file, .. }] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert_eq!(ca_file.as_deref(), Some(ca.to_str().unwrap()));
    // A file that is not a CA bundle holds the step with a clear error.
    wizard
        .advanced
        .form
        .text_mut(advanced::Focus::CaFile)
        .set_value(dir.path().join("missing.pem").to_string_lossy());
    assert!(!wizard.advanced.is_valid());
}

#[test]
fn a_new_group_is_sent_with_the_save_and_never_on_its_own() {
    let mut wizard = Wizard::edit(existing(), &["default".into()], vec![]);
    let commands = {
        let mut commands = Commands::default();
        wizard.request(StepRequest::CreateGroup("night".into()), &mut commands);
        commands.drain()
    };
    assert!(commands.is_empty(), "nothing saved yet: {commands:?}");
    assert_eq!(wizard.connector().agent_group, "night");
    let commands = press(&mut wizard, KeyCode::Char('s'), KeyModifiers::CONTROL);
    let [Command::Save { new_group, .. }] = commands.as_slice() else {
        panic!("{commands:?}")
    };
    assert_eq!(new_group.as_deref(), Some("night"));
}

#[test]
fn a_save_that_fails_takes_its_new_group_back() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = std::sync::Arc::new(crate::core::secrets::MemorySecrets::default());
    let context = crate::core::Context::new(crate::core::paths::Paths::under(dir.path()), secrets);
    let ws = &context.workspace;
    let mut broken = existing();
    broken.agent_group = "night".into();
    broken.base_url = "not a url".into();
    assert!(save_with_group(ws, broken, SecretChange::Keep, Some("night".into())).is_err());
    assert_eq!(ws.store().load().unwrap().agent_groups, ["default"]);
    let mut good = existing();
    good.agent_group = "night".into();
    save_with_group(ws, good, SecretChange::Keep, Some("night".into())).unwrap();
    assert_eq!(
        ws.store().load().unwrap().agent_groups,
        ["default", "night"]
    );
}

#[test]
fn the_review_says_a_service_users_secret_comes_from_its_variable() {
    use crate::core::connector::ClientCredentialsAuth;
    let mut service = Connector::new(
        "svc",
        Auth::ClientCredentials(ClientCredentialsAuth {
            authority_url: Some("https://ifs.example.com/auth/realms/prod".into()),
            client_id: "svc_nightly".into(),
            client_secret_env: Some("IFS_SECRET".into()),
            ..ClientCredentialsAuth::default()
        }),
    );
    service.base_url = "https://ifs.example.com".into();
    let mut wizard = Wizard::edit(service, &["default".into()], vec![]);
    wizard.go_to(StepId::Review);
    let screen = drawn(&wizard, &Keymap::default());
    assert!(
        screen.contains("from the environment variable IFS_SECRET"),
        "{screen}"
    );
    assert!(!screen.contains("public client"), "{screen}");
    assert!(screen.contains("Token parameters"), "{screen}");
}
