//! One file per screen. The list is always at the bottom of the stack; the others open
//! over it and close back to it.

pub mod help;
pub mod list;
pub mod test_login;
pub mod wizard;

use ratatui::Frame;
use ratatui::layout::Rect;

use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input};
use crate::tui::keymap::Scope;

pub use help::HelpScreen;
pub use list::ListScreen;
pub use test_login::TestLoginScreen;
pub use wizard::{StepId, Wizard};

/// A screen opened over the list.
#[derive(Debug)]
pub enum Screen {
    Wizard(Box<Wizard>),
    TestLogin(Box<TestLoginScreen>),
    Help(HelpScreen),
}

impl Screen {
    /// The title bar's words for this screen.
    pub fn title(&self) -> String {
        match self {
            Screen::Wizard(w) => w.title(),
            Screen::TestLogin(t) => t.title(),
            Screen::Help(_) => "Help".into(),
        }
    }
}

impl Component for Screen {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        match self {
            Screen::Wizard(s) => s.handle(input, cx),
            Screen::TestLogin(s) => s.handle(input, cx),
            Screen::Help(s) => s.handle(input, cx),
        }
    }

    fn scope(&self) -> Scope {
        match self {
            Screen::Wizard(s) => s.scope(),
            Screen::TestLogin(s) => s.scope(),
            Screen::Help(s) => s.scope(),
        }
    }
}

impl Draw for Screen {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        match self {
            Screen::Wizard(s) => s.draw(frame, area, cx),
            Screen::TestLogin(s) => s.draw(frame, area, cx),
            Screen::Help(s) => s.draw(frame, area, cx),
        }
    }
}
