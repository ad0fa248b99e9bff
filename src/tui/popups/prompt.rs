//! A one-line question with a text field: the new name when duplicating a connector.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::widgets::Paragraph;

use super::{modal_area, render_frame};
use crate::core::validate;
use crate::tui::command::Command;
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, is_shared_key};
use crate::tui::keymap::{Action, Scope};
use crate::tui::widgets::text_field::{FieldRow, TextField};

#[derive(Debug)]
pub struct PromptPopup {
    pub title: String,
    pub question: String,
    source: String,
    field: TextField,
    /// Names already used: a duplicate needs a new one.
    taken: Vec<String>,
}

impl PromptPopup {
    /// Ask for the name of a copy of `source`.
    pub fn duplicate(source: &str, taken: Vec<String>) -> Self {
        let mut suggestion = format!("{source} (copy)");
        let mut n = 2;
        while taken.contains(&suggestion) {
            suggestion = format!("{source} (copy {n})");
            n += 1;
        }
        Self {
            title: "Duplicate connector".into(),
            question: format!("Copy '{source}' (and its client secret, if any) as:"),
            source: source.to_owned(),
            field: TextField::new(suggestion).with_validator(validate::name),
            taken,
        }
    }

    #[cfg(test)]
    pub fn field(&self) -> &TextField {
        &self.field
    }

    fn check_unique(&mut self) {
        let taken = self
            .field
            .normalized()
            .is_some_and(|name| self.taken.contains(&name));
        let error = taken.then(|| {
            format!(
                "a connector named '{}' already exists",
                self.field.value().trim()
            )
        });
        self.field.set_external_error(error);
    }

    fn submit(&mut self, cx: &mut EventCx<'_>) {
        self.field.touch();
        self.check_unique();
        if let (true, Some(new_name)) = (self.field.is_valid(), self.field.normalized()) {
            cx.commands.push(Command::ClosePopup);
            cx.commands.push(Command::Duplicate {
                name: self.source.clone(),
                new_name,
            });
        }
    }
}

impl Component for PromptPopup {
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

impl Draw for PromptPopup {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let inner = render_frame(frame, modal_area(area, 64, 6), &self.title, false, cx.theme);
        let question = Rect {
            x: inner.x + 1,
            width: inner.width.saturating_sub(2),
            height: 1,
            ..inner
        };
        frame.render_widget(Paragraph::new(self.question.as_str()), question);
        let row = Rect {
            y: inner.y + 2,
            height: FieldRow::HEIGHT,
            ..question
        };
        let help = format!(
            "{} to copy, {} to cancel",
            cx.keymap.key_for(Scope::Dialog, Action::Submit),
            cx.keymap.key_for(Scope::Dialog, Action::Cancel)
        );
        let field = FieldRow {
            label: "Name",
            field: &self.field,
            help: &help,
            focused: true,
            label_width: 8,
        };
        if let Some(cursor) = field.render(row, frame.buffer_mut(), cx.theme) {
            frame.set_cursor_position(cursor);
        }
    }
}

impl PromptPopup {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        match input {
            Input::Key(key) => {
                if self.field.handle_key(key) {
                    self.check_unique();
                    return;
                }
                match cx.keymap.action(Scope::Dialog, key) {
                    Some(Action::Submit) => self.submit(cx),
                    Some(Action::Cancel) => cx.commands.push(Command::ClosePopup),
                    _ => {}
                }
            }
            Input::Paste(text) => {
                self.field.paste(text);
                self.check_unique();
            }
            Input::Mouse(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tui::command::Commands;
    use crate::tui::keymap::Keymap;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    #[test]
    fn suggests_a_free_name_and_refuses_a_taken_one() {
        let taken = vec!["prod".to_owned(), "prod (copy)".to_owned()];
        let mut popup = PromptPopup::duplicate("prod", taken);
        assert_eq!(popup.field().value(), "prod (copy 2)");
        let keymap = Keymap::default();
        let mut commands = Commands::default();
        let mut cx = EventCx {
            keymap: &keymap,
            commands: &mut commands,
            area: Rect::new(0, 0, 80, 24),
        };
        for _ in 0..3 {
            let _ = popup.handle(
                &Input::Key(KeyEvent::new(KeyCode::Backspace, KeyModifiers::NONE)),
                &mut cx,
            );
        }
        let _ = popup.handle(
            &Input::Key(KeyEvent::new(KeyCode::Char(')'), KeyModifiers::NONE)),
            &mut cx,
        );
        assert_eq!(popup.field().value(), "prod (copy)");
        assert!(popup.field().error().unwrap().contains("already exists"));
        let _ = popup.handle(
            &Input::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
            &mut cx,
        );
        assert!(commands.is_empty(), "a taken name is not submitted");
    }
}
