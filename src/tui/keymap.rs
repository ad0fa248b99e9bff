//! The one table of keys. Key handling, the bottom hint bar and the `?` help screen are
//! all read from it, so what the screen says a key does is what the key does.
//!
//! Text fields see typed characters before this table does (see `widgets::text_field`),
//! which is why every command that must work while a field is focused uses a control key,
//! a function key or a non-printing key.

use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

/// What a key asks for. Screens match on these, never on raw keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Quit,
    Help,
    Back,
    Up,
    Down,
    PageUp,
    PageDown,
    First,
    Last,
    New,
    Edit,
    Duplicate,
    Delete,
    TestLogin,
    Logout,
    DeviceLogin,
    Filter,
    NextField,
    PrevField,
    Submit,
    Toggle,
    Save,
    Reveal,
    Check,
    FillEndpoints,
    AddRow,
    RemoveRow,
    JumpStep(u8),
    CopyUrl,
    FocusPaste,
    Retry,
    Confirm,
    Cancel,
}

/// Where a binding applies. `Global` applies under every other scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Global,
    List,
    Filter,
    Wizard,
    TestLogin,
    Help,
    Confirm,
    Dialog,
}

impl Scope {
    /// Heading on the help screen.
    pub fn title(self) -> &'static str {
        match self {
            Scope::Global => "Everywhere",
            Scope::List => "Connector list",
            Scope::Filter => "Filter (after /)",
            Scope::Wizard => "Wizard",
            Scope::TestLogin => "Test login",
            Scope::Help => "Help",
            Scope::Confirm => "Confirmation",
            Scope::Dialog => "Messages and prompts",
        }
    }

    /// The order of sections on the help screen.
    pub const ALL: [Scope; 8] = [
        Scope::Global,
        Scope::List,
        Scope::Filter,
        Scope::Wizard,
        Scope::TestLogin,
        Scope::Help,
        Scope::Confirm,
        Scope::Dialog,
    ];
}

/// A key with its modifiers, as written in the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub modifiers: KeyModifiers,
}

impl Key {
    pub const fn plain(code: KeyCode) -> Self {
        Self {
            code,
            modifiers: KeyModifiers::NONE,
        }
    }

    pub const fn char(c: char) -> Self {
        Self::plain(KeyCode::Char(c))
    }

    pub const fn ctrl(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::CONTROL,
        }
    }

    pub const fn alt(c: char) -> Self {
        Self {
            code: KeyCode::Char(c),
            modifiers: KeyModifiers::ALT,
        }
    }

    /// Whether a key event from the terminal is this key. Shift is ignored for characters
    /// because terminals disagree on reporting it (`?` arrives with or without SHIFT).
    pub fn matches(&self, event: &KeyEvent) -> bool {
        let mods = match event.code {
            KeyCode::Char(_) | KeyCode::BackTab => event.modifiers - KeyModifiers::SHIFT,
            _ => event.modifiers,
        };
        let code = match event.code {
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                KeyCode::Char(c.to_ascii_lowercase())
            }
            other => other,
        };
        code == self.code && mods == self.modifiers
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.modifiers.contains(KeyModifiers::CONTROL) {
            f.write_str("Ctrl-")?;
        }
        if self.modifiers.contains(KeyModifiers::ALT) {
            f.write_str("Alt-")?;
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("Space"),
            KeyCode::Char(c) if self.modifiers.contains(KeyModifiers::CONTROL) => {
                write!(f, "{}", c.to_ascii_uppercase())
            }
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("Enter"),
            KeyCode::Esc => f.write_str("Esc"),
            KeyCode::Tab => f.write_str("Tab"),
            KeyCode::BackTab => f.write_str("Shift-Tab"),
            KeyCode::Up => f.write_str("↑"),
            KeyCode::Down => f.write_str("↓"),
            KeyCode::Left => f.write_str("←"),
            KeyCode::Right => f.write_str("→"),
            KeyCode::PageUp => f.write_str("PgUp"),
            KeyCode::PageDown => f.write_str("PgDn"),
            KeyCode::Home => f.write_str("Home"),
            KeyCode::End => f.write_str("End"),
            KeyCode::F(n) => write!(f, "F{n}"),
            other => write!(f, "{other:?}"),
        }
    }
}

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Binding {
    pub scope: Scope,
    pub keys: Vec<Key>,
    pub action: Action,
    /// What the help screen says.
    pub help: &'static str,
    /// The short word for the hint bar; `None` keeps the binding off the bar.
    pub hint: Option<&'static str>,
    /// Shown instead of the key list, e.g. "Alt-1…6" for six bindings in one help line.
    pub keys_label: Option<&'static str>,
    /// Left off the help screen because another row already describes it.
    pub hidden: bool,
}

/// The key table. Built once in `App::new` and lent to everyone who needs it.
#[derive(Debug, Clone)]
pub struct Keymap {
    bindings: Vec<Binding>,
}

/// A hint for the bottom bar: keys as text and the short word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub keys: String,
    pub label: &'static str,
}

impl Default for Keymap {
    fn default() -> Self {
        use KeyCode::*;
        let mut map = Keymap {
            bindings: Vec::new(),
        };
        let p = Key::plain;
        let c = Key::char;

        map.bind(
            Scope::Global,
            [Key::ctrl('c')],
            Action::Quit,
            "Quit at once, from anywhere",
            Some("quit"),
        );
        map.bind(
            Scope::Global,
            [p(F(1))],
            Action::Help,
            "Show this help",
            Some("help"),
        );

        map.bind(
            Scope::List,
            [p(Up), c('k')],
            Action::Up,
            "Previous connector",
            None,
        );
        map.bind(
            Scope::List,
            [p(Down), c('j')],
            Action::Down,
            "Next connector",
            None,
        );
        map.bind(Scope::List, [p(PageUp)], Action::PageUp, "Page up", None);
        map.bind(
            Scope::List,
            [p(PageDown)],
            Action::PageDown,
            "Page down",
            None,
        );
        map.bind(
            Scope::List,
            [p(Home), c('g')],
            Action::First,
            "First connector",
            None,
        );
        map.bind(
            Scope::List,
            [p(End), c('G')],
            Action::Last,
            "Last connector",
            None,
        );
        map.bind(
            Scope::List,
            [c('n')],
            Action::New,
            "New connector (opens the wizard)",
            Some("new"),
        );
        map.bind(
            Scope::List,
            [p(Enter), c('e')],
            Action::Edit,
            "Edit the selected connector",
            Some("edit"),
        );
        map.bind(
            Scope::List,
            [c('c')],
            Action::Duplicate,
            "Duplicate the selected connector",
            Some("copy"),
        );
        map.bind(
            Scope::List,
            [c('d'), p(Delete)],
            Action::Delete,
            "Delete the selected connector and its secrets",
            Some("delete"),
        );
        map.bind(
            Scope::List,
            [c('t')],
            Action::TestLogin,
            "Test login with the selected connector",
            Some("test"),
        );
        // Upper case: logging out ends a session scripts may rely on, so it takes a
        // deliberate key (and a confirmation) rather than a letter hit by accident.
        map.bind(
            Scope::List,
            [c('L')],
            Action::Logout,
            "Log out: revoke the refresh token and delete the cached tokens",
            Some("logout"),
        );
        map.bind(
            Scope::List,
            [c('/')],
            Action::Filter,
            "Filter as you type",
            Some("filter"),
        );
        map.bind(
            Scope::List,
            [p(Esc)],
            Action::Back,
            "Clear the filter",
            None,
        );
        map.bind(
            Scope::List,
            [c('?')],
            Action::Help,
            "Show this help",
            Some("help"),
        );
        map.bind(Scope::List, [c('q')], Action::Quit, "Quit", Some("quit"));

        map.bind(
            Scope::Filter,
            [p(Enter)],
            Action::Submit,
            "Keep the filter and go back to the list",
            Some("keep"),
        );
        map.bind(
            Scope::Filter,
            [p(Esc)],
            Action::Cancel,
            "Clear the filter",
            Some("clear"),
        );
        map.bind(Scope::Filter, [p(Up)], Action::Up, "Previous match", None);
        map.bind(Scope::Filter, [p(Down)], Action::Down, "Next match", None);

        map.bind(
            Scope::Wizard,
            [p(Tab)],
            Action::NextField,
            "Next field",
            Some("next field"),
        );
        map.bind(
            Scope::Wizard,
            [p(BackTab)],
            Action::PrevField,
            "Previous field",
            None,
        );
        map.bind(
            Scope::Wizard,
            [p(Enter)],
            Action::Submit,
            "Next field or step; press a focused button",
            Some("next"),
        );
        map.bind(
            Scope::Wizard,
            [p(Esc)],
            Action::Back,
            "Previous step (asks before leaving a changed wizard)",
            Some("back"),
        );
        map.bind(
            Scope::Wizard,
            [p(Up)],
            Action::Up,
            "Move in a list of choices or rows",
            None,
        );
        map.bind(
            Scope::Wizard,
            [p(Down)],
            Action::Down,
            "Move in a list of choices or rows",
            None,
        );
        map.bind(
            Scope::Wizard,
            [c(' ')],
            Action::Toggle,
            "Switch a focused option on or off",
            None,
        );
        map.bind(
            Scope::Wizard,
            [Key::ctrl('s')],
            Action::Save,
            "Save (every step must be valid)",
            Some("save"),
        );
        map.bind(
            Scope::Wizard,
            [Key::ctrl('r')],
            Action::Reveal,
            "Show or hide the client secret",
            None,
        );
        map.bind(
            Scope::Wizard,
            [Key::ctrl('k')],
            Action::Check,
            "OpenId: check the provider's discovery document",
            None,
        );
        map.bind(
            Scope::Wizard,
            [Key::ctrl('f')],
            Action::FillEndpoints,
            "OAuth2: fill the endpoints from the discovery URL",
            None,
        );
        map.bind(
            Scope::Wizard,
            [Key::ctrl('n')],
            Action::AddRow,
            "Advanced: add a query parameter",
            None,
        );
        map.bind(
            Scope::Wizard,
            [Key::ctrl('d')],
            Action::RemoveRow,
            "Advanced: remove the focused query parameter",
            None,
        );
        for step in 1..=6u8 {
            let digit = char::from(b'0' + step);
            let binding = Binding {
                scope: Scope::Wizard,
                keys: vec![Key::alt(digit)],
                action: Action::JumpStep(step),
                help: "Go straight to a step (any step when editing)",
                hint: None,
                keys_label: Some("Alt-1…6"),
                hidden: step > 1,
            };
            map.bindings.push(binding);
        }

        map.bind(
            Scope::TestLogin,
            [c('y'), Key::ctrl('y')],
            Action::CopyUrl,
            "Copy the login URL to the terminal clipboard (OSC 52)",
            Some("copy URL"),
        );
        map.bind(
            Scope::TestLogin,
            [c('p'), p(Tab)],
            Action::FocusPaste,
            "Paste box: give the redirected URL by hand",
            Some("paste"),
        );
        map.bind(
            Scope::TestLogin,
            [p(Enter)],
            Action::Submit,
            "Send the pasted URL",
            None,
        );
        map.bind(
            Scope::TestLogin,
            [c('r')],
            Action::Retry,
            "Run the test again",
            Some("retry"),
        );
        map.bind(
            Scope::TestLogin,
            [c('d'), Key::ctrl('d')],
            Action::DeviceLogin,
            "Sign in with a device code instead (when the provider offers it)",
            Some("device code"),
        );
        map.bind(
            Scope::TestLogin,
            [p(Up), c('k')],
            Action::Up,
            "Scroll up",
            None,
        );
        map.bind(
            Scope::TestLogin,
            [p(Down), c('j')],
            Action::Down,
            "Scroll down",
            None,
        );
        map.bind(
            Scope::TestLogin,
            [p(Esc)],
            Action::Back,
            "Cancel the login (closes the listener); again to leave",
            Some("cancel/back"),
        );

        map.bind(Scope::Help, [p(Up), c('k')], Action::Up, "Scroll up", None);
        map.bind(
            Scope::Help,
            [p(Down), c('j')],
            Action::Down,
            "Scroll down",
            None,
        );
        map.bind(Scope::Help, [p(PageUp)], Action::PageUp, "Page up", None);
        map.bind(
            Scope::Help,
            [p(PageDown)],
            Action::PageDown,
            "Page down",
            None,
        );
        map.bind(
            Scope::Help,
            [p(Esc), c('q'), c('?')],
            Action::Back,
            "Close the help",
            Some("close"),
        );

        map.bind(
            Scope::Confirm,
            [c('y'), p(Enter)],
            Action::Confirm,
            "Yes (or the focused button)",
            Some("yes"),
        );
        map.bind(
            Scope::Confirm,
            [c('n'), p(Esc)],
            Action::Cancel,
            "No",
            Some("no"),
        );
        map.bind(
            Scope::Confirm,
            [p(Tab), p(Left), p(Right)],
            Action::NextField,
            "Switch button",
            None,
        );

        map.bind(Scope::Dialog, [p(Enter)], Action::Submit, "OK", Some("ok"));
        map.bind(
            Scope::Dialog,
            [p(Esc)],
            Action::Cancel,
            "Close",
            Some("close"),
        );
        map
    }
}

impl Keymap {
    fn bind<const N: usize>(
        &mut self,
        scope: Scope,
        keys: [Key; N],
        action: Action,
        help: &'static str,
        hint: Option<&'static str>,
    ) {
        self.bindings.push(Binding {
            scope,
            keys: keys.to_vec(),
            action,
            help,
            hint,
            keys_label: None,
            hidden: false,
        });
    }

    /// The action for a key in a scope; the scope's own bindings win over global ones.
    /// Only presses count: some terminals also report releases and repeats.
    pub fn action(&self, scope: Scope, event: &KeyEvent) -> Option<Action> {
        if event.kind == KeyEventKind::Release {
            return None;
        }
        self.find(scope, event)
            .or_else(|| self.find(Scope::Global, event))
    }

    fn find(&self, scope: Scope, event: &KeyEvent) -> Option<Action> {
        self.bindings
            .iter()
            .filter(|b| b.scope == scope)
            .find(|b| b.keys.iter().any(|k| k.matches(event)))
            .map(|b| b.action)
    }

    /// The first key bound to an action, as text: used in prose ("press n to start").
    pub fn key_for(&self, scope: Scope, action: Action) -> String {
        self.bindings
            .iter()
            .find(|b| b.scope == scope && b.action == action)
            .map(|b| b.keys[0].to_string())
            .unwrap_or_default()
    }

    /// Every key bound to an action, as text, e.g. to name the one that works where
    /// letters are text.
    pub fn keys_for(&self, scope: Scope, action: Action) -> Vec<String> {
        self.bindings
            .iter()
            .filter(|b| b.scope == scope && b.action == action)
            .flat_map(|b| b.keys.iter().map(ToString::to_string))
            .collect()
    }

    /// The bottom bar for a scope: its hinted bindings, then the global ones.
    pub fn hints(&self, scope: Scope) -> Vec<Hint> {
        let own = self.bindings.iter().filter(|b| b.scope == scope);
        let global = self.bindings.iter().filter(|b| b.scope == Scope::Global);
        let mut hints: Vec<Hint> = Vec::new();
        for binding in own.chain(global) {
            let Some(label) = binding.hint else { continue };
            // A scope that binds the same action (help, quit) already shows it.
            if hints.iter().any(|h| h.label == label) {
                continue;
            }
            // The bar shows the first key only; the help screen lists them all.
            let keys = binding
                .keys_label
                .map_or_else(|| binding.keys[0].to_string(), str::to_owned);
            hints.push(Hint { keys, label });
        }
        hints
    }

    /// Rows for the help screen: (keys, description), grouped by scope.
    pub fn help_sections(&self) -> Vec<(Scope, Vec<(String, &'static str)>)> {
        Scope::ALL
            .iter()
            .map(|scope| {
                let rows = self
                    .bindings
                    .iter()
                    .filter(|b| b.scope == *scope && !b.hidden)
                    .map(|b| (keys_text(b), b.help))
                    .collect();
                (*scope, rows)
            })
            .collect()
    }
}

fn keys_text(binding: &Binding) -> String {
    if let Some(label) = binding.keys_label {
        return label.to_owned();
    }
    binding
        .keys
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(code: KeyCode, modifiers: KeyModifiers) -> KeyEvent {
        KeyEvent::new(code, modifiers)
    }

    #[test]
    fn scope_bindings_win_and_global_ones_apply_everywhere() {
        let map = Keymap::default();
        let ctrl_c = key(KeyCode::Char('c'), KeyModifiers::CONTROL);
        for scope in Scope::ALL {
            assert_eq!(map.action(scope, &ctrl_c), Some(Action::Quit), "{scope:?}");
        }
        let plain_c = key(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(map.action(Scope::List, &plain_c), Some(Action::Duplicate));
        assert_eq!(map.action(Scope::Wizard, &plain_c), None);
    }

    #[test]
    fn shift_is_ignored_for_characters_but_not_for_tab() {
        let map = Keymap::default();
        let question = key(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(map.action(Scope::List, &question), Some(Action::Help));
        let back_tab = key(KeyCode::BackTab, KeyModifiers::SHIFT);
        assert_eq!(
            map.action(Scope::Wizard, &back_tab),
            Some(Action::PrevField)
        );
        let ctrl_upper_s = key(
            KeyCode::Char('S'),
            KeyModifiers::CONTROL | KeyModifiers::SHIFT,
        );
        assert_eq!(map.action(Scope::Wizard, &ctrl_upper_s), Some(Action::Save));
    }

    #[test]
    fn releases_are_not_actions() {
        let map = Keymap::default();
        let mut release = key(KeyCode::Char('n'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(map.action(Scope::List, &release), None);
    }

    #[test]
    fn jump_keys_carry_their_step() {
        let map = Keymap::default();
        let alt4 = key(KeyCode::Char('4'), KeyModifiers::ALT);
        assert_eq!(map.action(Scope::Wizard, &alt4), Some(Action::JumpStep(4)));
    }

    #[test]
    fn hints_and_help_come_from_the_same_table() {
        let map = Keymap::default();
        let hints = map.hints(Scope::List);
        let labels: Vec<&str> = hints.iter().map(|h| h.label).collect();
        assert_eq!(
            labels,
            [
                "new", "edit", "copy", "delete", "test", "logout", "filter", "help", "quit"
            ]
        );
        assert_eq!(hints[1].keys, "Enter");
        let sections = map.help_sections();
        let list = &sections.iter().find(|(s, _)| *s == Scope::List).unwrap().1;
        assert!(list.contains(&("n".to_owned(), "New connector (opens the wizard)")));
        let wizard = &sections
            .iter()
            .find(|(s, _)| *s == Scope::Wizard)
            .unwrap()
            .1;
        assert_eq!(wizard.iter().filter(|(k, _)| k == "Alt-1…6").count(), 1);
        assert_eq!(map.key_for(Scope::List, Action::New), "n");
    }

    #[test]
    fn keys_display_like_a_person_writes_them() {
        assert_eq!(Key::ctrl('s').to_string(), "Ctrl-S");
        assert_eq!(Key::char(' ').to_string(), "Space");
        assert_eq!(Key::plain(KeyCode::BackTab).to_string(), "Shift-Tab");
        assert_eq!(Key::alt('1').to_string(), "Alt-1");
    }
}
