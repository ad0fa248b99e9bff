//! A problem, said plainly, over whatever the user was doing (which stays as it was:
//! a failed save keeps the wizard and everything typed in it). The same box without the
//! red border reports what a finished action did (e.g. what a logout revoked).

use ratatui::Frame;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use super::{modal_area, render_frame, wrapped_height};
use crate::tui::command::Command;
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, is_shared_key};
use crate::tui::keymap::{Action, Scope};
use crate::tui::widgets::button;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorPopup {
    pub title: String,
    pub message: String,
    /// False for a report that is not a problem: drawn with the normal border.
    pub is_error: bool,
}

const WIDTH: u16 = 68;

impl ErrorPopup {
    pub fn new(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            title: title.into(),
            message: message.into(),
            is_error: true,
        }
    }

    pub fn info(title: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            is_error: false,
            ..Self::new(title, message)
        }
    }

    fn rect(&self, area: Rect) -> Rect {
        modal_area(area, WIDTH, wrapped_height(&self.message, WIDTH - 4) + 4)
    }
}

impl Component for ErrorPopup {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        if is_shared_key(input, cx.keymap, Scope::Dialog) {
            return EventResult::Ignored;
        }
        self.on_input(input, cx);
        EventResult::Handled
    }

    fn scope(&self) -> Scope {
        Scope::Dialog
    }
}

impl Draw for ErrorPopup {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let inner = render_frame(frame, self.rect(area), &self.title, self.is_error, cx.theme);
        let text = Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(2),
            height: inner.height.saturating_sub(2),
            ..inner
        };
        frame.render_widget(
            Paragraph::new(self.message.as_str()).wrap(Wrap { trim: true }),
            text,
        );
        let ok = Rect::new(
            inner.x + 1,
            inner.bottom().saturating_sub(1),
            inner.width,
            1,
        );
        button::render("OK (Enter)", ok, frame.buffer_mut(), true, cx.theme);
    }
}

impl ErrorPopup {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        match input {
            Input::Key(key) => {
                if let Some(Action::Submit | Action::Cancel) = cx.keymap.action(Scope::Dialog, key)
                {
                    cx.commands.push(Command::ClosePopup);
                }
            }
            // Any click closes it: there is nothing else to press.
            Input::Mouse(mouse) if mouse.kind == MouseEventKind::Down(MouseButton::Left) => {
                cx.commands.push(Command::ClosePopup);
            }
            _ => {}
        }
    }
}
