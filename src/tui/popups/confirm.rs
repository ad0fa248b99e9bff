//! A yes/no question that says exactly what will happen, e.g. deleting a connector.

use ratatui::Frame;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::widgets::{Paragraph, Wrap};

use super::{modal_area, render_frame, wrapped_height};
use crate::tui::command::Command;
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, is_shared_key};
use crate::tui::keymap::{Action, Scope};
use crate::tui::widgets::button;

#[derive(Debug)]
pub struct ConfirmPopup {
    pub title: String,
    pub message: String,
    pub yes_label: &'static str,
    pub no_label: &'static str,
    /// What "yes" does; taken when confirmed.
    on_yes: Option<Command>,
    yes_focused: bool,
}

const WIDTH: u16 = 60;

impl ConfirmPopup {
    pub fn new(
        title: impl Into<String>,
        message: impl Into<String>,
        yes_label: &'static str,
        on_yes: Command,
    ) -> Self {
        Self {
            title: title.into(),
            message: message.into(),
            yes_label,
            no_label: "Cancel",
            on_yes: Some(on_yes),
            // The safe answer is the default: Enter alone never destroys anything.
            yes_focused: false,
        }
    }

    fn confirm(&mut self, cx: &mut EventCx<'_>) {
        cx.commands.push(Command::ClosePopup);
        if let Some(command) = self.on_yes.take() {
            cx.commands.push(command);
        }
    }

    fn yes_text(&self) -> String {
        format!("{} (y)", self.yes_label)
    }

    fn no_text(&self) -> String {
        format!("{} (n)", self.no_label)
    }

    fn layout(&self, area: Rect) -> (Rect, Rect, Rect, Rect) {
        let text_height = wrapped_height(&self.message, WIDTH - 4);
        let rect = modal_area(area, WIDTH, text_height + 4);
        let inner = Rect {
            x: rect.x + 1,
            y: rect.y + 1,
            width: rect.width.saturating_sub(2),
            height: rect.height.saturating_sub(2),
        };
        let buttons_y = inner.bottom().saturating_sub(1);
        let yes = Rect::new(inner.x + 1, buttons_y, button::width(&self.yes_text()), 1);
        let no = Rect::new(
            yes.right() + 2,
            buttons_y,
            button::width(&self.no_text()),
            1,
        );
        (rect, inner, yes, no)
    }
}

impl Component for ConfirmPopup {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        if is_shared_key(input, cx.keymap, Scope::Confirm) {
            return EventResult::Ignored;
        }
        self.on_input(input, cx);
        EventResult::Handled
    }

    fn scope(&self) -> Scope {
        Scope::Confirm
    }
}

impl Draw for ConfirmPopup {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let (rect, _, yes, no) = self.layout(area);
        let inner = render_frame(frame, rect, &self.title, false, cx.theme);
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
        let buf = frame.buffer_mut();
        button::render(&self.yes_text(), yes, buf, self.yes_focused, cx.theme);
        button::render(&self.no_text(), no, buf, !self.yes_focused, cx.theme);
    }
}

impl ConfirmPopup {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        match input {
            Input::Key(key) => match cx.keymap.action(Scope::Confirm, key) {
                Some(Action::Confirm) if key.code == ratatui::crossterm::event::KeyCode::Enter => {
                    if self.yes_focused {
                        self.confirm(cx);
                    } else {
                        cx.commands.push(Command::ClosePopup);
                    }
                }
                Some(Action::Confirm) => self.confirm(cx),
                Some(Action::Cancel) => cx.commands.push(Command::ClosePopup),
                Some(Action::NextField) => self.yes_focused = !self.yes_focused,
                _ => {}
            },
            Input::Mouse(mouse) if mouse.kind == MouseEventKind::Down(MouseButton::Left) => {
                let (_, _, yes, no) = self.layout(cx.area);
                let hit =
                    |r: Rect| r.contains(ratatui::layout::Position::new(mouse.column, mouse.row));
                if hit(yes) {
                    self.confirm(cx);
                } else if hit(no) {
                    cx.commands.push(Command::ClosePopup);
                }
            }
            _ => {}
        }
    }
}
