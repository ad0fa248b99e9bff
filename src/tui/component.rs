//! How screens and popups take part: `Component` handles input and asks for effects by
//! pushing `Command`s; `Draw` renders from state and nothing else. Keeping them apart is
//! what makes every screen testable with a `TestBackend` and scripted input.

use ratatui::Frame;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::Rect;
use time::OffsetDateTime;

use crate::core::paths::Paths;
use crate::tui::command::Commands;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::theme::Theme;

/// Input as screens see it: already filtered to what can matter to them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Key(KeyEvent),
    Mouse(MouseEvent),
    Paste(String),
}

/// What a handler may use: the keymap, the command queue, and where it is drawn (for
/// mouse hit tests, which reuse the drawing layout functions).
pub struct EventCx<'a> {
    pub keymap: &'a Keymap,
    pub commands: &'a mut Commands,
    pub area: Rect,
}

/// What drawing may read besides the component's own state.
pub struct DrawCx<'a> {
    pub theme: &'a Theme,
    pub keymap: &'a Keymap,
    /// Wall-clock time for "5 min ago"; set by the app so snapshots can fix it.
    pub now: OffsetDateTime,
    /// Animation frame counter, advanced only while something animates.
    pub tick: u64,
    pub paths: &'a Paths,
}

/// Whether a component used an input. What it leaves bubbles up to the app, which
/// handles the keys every screen shares (help, quit) once, for all of them.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventResult {
    Handled,
    Ignored,
}

/// A key that asks for help or quitting in `scope`: components leave these to the app.
pub fn is_shared_key(input: &Input, keymap: &Keymap, scope: Scope) -> bool {
    shared_action(input, keymap, scope).is_some()
}

/// Help or Quit, when `input` is a key bound to one of them in `scope`.
pub fn shared_action(input: &Input, keymap: &Keymap, scope: Scope) -> Option<Action> {
    let Input::Key(key) = input else {
        return None;
    };
    keymap
        .action(scope, key)
        .filter(|a| matches!(a, Action::Help | Action::Quit))
}

pub trait Component {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult;

    /// The keymap scope whose hints the bottom bar shows while this has the focus.
    fn scope(&self) -> Scope;
}

pub trait Draw {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>);
}
