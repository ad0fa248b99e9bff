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
    /// The wizard's Review: switch to what to set on the IAM client, and back.
    Registration,
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

/// One line of the table as written below; `Keymap` turns each into a `Binding`.
struct Row {
    scope: Scope,
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
    help: &'static str,
    keys_label: Option<&'static str>,
    hidden: bool,
}

const fn row(
    scope: Scope,
    keys: &'static [Key],
    action: Action,
    hint: Option<&'static str>,
    help: &'static str,
) -> Row {
    Row {
        scope,
        keys,
        action,
        hint,
        help,
        keys_label: None,
        hidden: false,
    }
}

/// Alt-1…6: one help line stands for all six.
const fn jump(step: u8, keys: &'static [Key]) -> Row {
    Row {
        keys_label: Some("Alt-1…6"),
        hidden: step > 1,
        ..row(
            Scope::Wizard,
            keys,
            Action::JumpStep(step),
            None,
            "Go straight to a step (any step when editing)",
        )
    }
}

const fn ch(c: char) -> Key {
    Key::char(c)
}
const fn ctrl(c: char) -> Key {
    Key::ctrl(c)
}
const fn alt(c: char) -> Key {
    Key::alt(c)
}
const UP: Key = Key::plain(KeyCode::Up);
const DOWN: Key = Key::plain(KeyCode::Down);
const LEFT: Key = Key::plain(KeyCode::Left);
const RIGHT: Key = Key::plain(KeyCode::Right);
const PGUP: Key = Key::plain(KeyCode::PageUp);
const PGDN: Key = Key::plain(KeyCode::PageDown);
const HOME: Key = Key::plain(KeyCode::Home);
const END: Key = Key::plain(KeyCode::End);
const ENTER: Key = Key::plain(KeyCode::Enter);
const ESC: Key = Key::plain(KeyCode::Esc);
const TAB: Key = Key::plain(KeyCode::Tab);
const BACKTAB: Key = Key::plain(KeyCode::BackTab);
const DEL: Key = Key::plain(KeyCode::Delete);
const F1: Key = Key::plain(KeyCode::F(1));

use Action as A;
use Scope as S;

/// Every binding, one a line: scope, keys (the first is the one the hint bar and screen
/// text name), action, hint-bar word, help-screen text. Order within a scope is the
/// order of the hint bar and the help screen.
#[rustfmt::skip]
const TABLE: &[Row] = &[
    row(S::Global,    &[ctrl('c')],            A::Quit,          Some("quit"),        "Quit at once, from anywhere"),
    row(S::Global,    &[F1],                   A::Help,          Some("help"),        "Show this help"),

    row(S::List,      &[UP, ch('k')],          A::Up,            None,                "Previous connector"),
    row(S::List,      &[DOWN, ch('j')],        A::Down,          None,                "Next connector"),
    row(S::List,      &[PGUP],                 A::PageUp,        None,                "Page up"),
    row(S::List,      &[PGDN],                 A::PageDown,      None,                "Page down"),
    row(S::List,      &[HOME, ch('g')],        A::First,         None,                "First connector"),
    row(S::List,      &[END, ch('G')],         A::Last,          None,                "Last connector"),
    row(S::List,      &[ch('n')],              A::New,           Some("new"),         "New connector (opens the wizard)"),
    row(S::List,      &[ENTER, ch('e')],       A::Edit,          Some("edit"),        "Edit the selected connector"),
    row(S::List,      &[ch('c')],              A::Duplicate,     Some("copy"),        "Duplicate the selected connector"),
    row(S::List,      &[ch('d'), DEL],         A::Delete,        Some("delete"),      "Delete the selected connector and its secrets"),
    row(S::List,      &[ch('t')],              A::TestLogin,     Some("test"),        "Test login with the selected connector"),
    // Upper case: logging out ends a session scripts may rely on, so it takes a
    // deliberate key (and a confirmation) rather than a letter hit by accident.
    row(S::List,      &[ch('L')],              A::Logout,        Some("logout"),      "Log out: revoke the refresh token and delete the cached tokens"),
    row(S::List,      &[ch('/')],              A::Filter,        Some("filter"),      "Filter as you type"),
    row(S::List,      &[ESC],                  A::Back,          None,                "Clear the filter"),
    row(S::List,      &[ch('?')],              A::Help,          Some("help"),        "Show this help"),
    row(S::List,      &[ch('q')],              A::Quit,          Some("quit"),        "Quit"),

    row(S::Filter,    &[ENTER],                A::Submit,        Some("keep"),        "Keep the filter and go back to the list"),
    row(S::Filter,    &[ESC],                  A::Cancel,        Some("clear"),       "Clear the filter"),
    row(S::Filter,    &[UP],                   A::Up,            None,                "Previous match"),
    row(S::Filter,    &[DOWN],                 A::Down,          None,                "Next match"),

    row(S::Wizard,    &[TAB],                  A::NextField,     Some("next field"),  "Next field"),
    row(S::Wizard,    &[BACKTAB],              A::PrevField,     None,                "Previous field"),
    row(S::Wizard,    &[ENTER],                A::Submit,        Some("next"),        "Next field or step; press a focused button"),
    row(S::Wizard,    &[ESC],                  A::Back,          Some("back"),        "Previous step; when editing, close (asks only if something changed)"),
    row(S::Wizard,    &[UP],                   A::Up,            None,                "Move in a list of choices or rows"),
    row(S::Wizard,    &[DOWN],                 A::Down,          None,                "Move in a list of choices or rows"),
    row(S::Wizard,    &[ch(' ')],              A::Toggle,        None,                "Switch a focused option on or off"),
    row(S::Wizard,    &[ctrl('s')],            A::Save,          Some("save"),        "Save (every step must be valid)"),
    row(S::Wizard,    &[ctrl('r')],            A::Reveal,        None,                "Show or hide the client secret"),
    row(S::Wizard,    &[ctrl('k')],            A::Check,         None,                "OpenId: check the provider's discovery document"),
    row(S::Wizard,    &[ctrl('f')],            A::FillEndpoints, None,                "OAuth2: fill the endpoints from the discovery URL"),
    row(S::Wizard,    &[ctrl('n')],            A::AddRow,        None,                "Advanced: add a query parameter"),
    row(S::Wizard,    &[ctrl('d')],            A::RemoveRow,     None,                "Advanced: remove the focused query parameter"),
    row(S::Wizard,    &[ctrl('y')],            A::CopyUrl,       None,                "Review: copy the redirect URI to register (OSC 52)"),
    row(S::Wizard,    &[ctrl('g')],            A::Registration,  None,                "Review: what to set on the IFS IAM client, and back"),
    jump(1, &[alt('1')]),
    jump(2, &[alt('2')]),
    jump(3, &[alt('3')]),
    jump(4, &[alt('4')]),
    jump(5, &[alt('5')]),
    jump(6, &[alt('6')]),

    row(S::TestLogin, &[ch('y'), ctrl('y')],   A::CopyUrl,       Some("copy URL"),    "Copy the login URL to the terminal clipboard (OSC 52)"),
    row(S::TestLogin, &[ch('p'), TAB],         A::FocusPaste,    Some("paste"),       "Paste box: give the redirected URL by hand"),
    row(S::TestLogin, &[ENTER],                A::Submit,        None,                "Send the pasted URL"),
    row(S::TestLogin, &[ch('r')],              A::Retry,         Some("retry"),       "Run the test again"),
    row(S::TestLogin, &[ch('d'), ctrl('d')],   A::DeviceLogin,   Some("device code"), "Sign in with a device code instead (when the provider offers it)"),
    row(S::TestLogin, &[UP, ch('k')],          A::Up,            None,                "Scroll up"),
    row(S::TestLogin, &[DOWN, ch('j')],        A::Down,          None,                "Scroll down"),
    row(S::TestLogin, &[ESC],                  A::Back,          Some("cancel/back"), "Cancel the login (closes the listener); again to leave"),

    row(S::Help,      &[UP, ch('k')],          A::Up,            None,                "Scroll up"),
    row(S::Help,      &[DOWN, ch('j')],        A::Down,          None,                "Scroll down"),
    row(S::Help,      &[PGUP],                 A::PageUp,        None,                "Page up"),
    row(S::Help,      &[PGDN],                 A::PageDown,      None,                "Page down"),
    row(S::Help,      &[ESC, ch('q'), ch('?')], A::Back,         Some("close"),       "Close the help"),

    row(S::Confirm,   &[ch('y'), ENTER],       A::Confirm,       Some("yes"),         "Yes (or the focused button)"),
    row(S::Confirm,   &[ch('n'), ESC],         A::Cancel,        Some("no"),          "No"),
    row(S::Confirm,   &[TAB, LEFT, RIGHT],     A::NextField,     None,                "Switch button"),

    row(S::Dialog,    &[ENTER],                A::Submit,        Some("ok"),          "OK"),
    row(S::Dialog,    &[ESC],                  A::Cancel,        Some("close"),       "Close"),
];

impl From<&Row> for Binding {
    fn from(row: &Row) -> Self {
        Binding {
            scope: row.scope,
            keys: row.keys.to_vec(),
            action: row.action,
            help: row.help,
            hint: row.hint,
            keys_label: row.keys_label,
            hidden: row.hidden,
        }
    }
}

impl Default for Keymap {
    fn default() -> Self {
        Keymap {
            bindings: TABLE.iter().map(Binding::from).collect(),
        }
    }
}

impl Keymap {
    /// Put other keys on an action in a scope (the first binding of it): everything that
    /// names the key, from the hint bar to the screens' prose, follows.
    pub fn rebind(&mut self, scope: Scope, action: Action, keys: &[Key]) {
        if let Some(binding) = self
            .bindings
            .iter_mut()
            .find(|b| b.scope == scope && b.action == action)
        {
            binding.keys = keys.to_vec();
        }
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
