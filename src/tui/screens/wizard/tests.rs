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
    wizard.handle(&Input::Key(KeyEvent::new(code, modifiers)), &mut cx);
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
    assert_eq!(edit.step, 6);
    let mut new = Wizard::new(&["default".into()], vec![]);
    press(&mut new, KeyCode::Char('6'), KeyModifiers::ALT);
    assert_eq!(new.step, 1, "the empty name holds it on step 1");
    type_text(&mut new, "prod");
    press(&mut new, KeyCode::Char('3'), KeyModifiers::ALT);
    assert_eq!(
        new.step, 2,
        "stops at the first step with errors (the empty Base URL)"
    );
}

#[test]
fn the_name_must_be_unique_among_the_others() {
    let mut wizard = Wizard::new(&["default".into()], vec!["prod".into()]);
    type_text(&mut wizard, "prod");
    press(&mut wizard, KeyCode::Enter, KeyModifiers::NONE);
    press(&mut wizard, KeyCode::Enter, KeyModifiers::NONE);
    assert_eq!(wizard.step, 1);
    assert!(
        wizard
            .identity
            .name
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
