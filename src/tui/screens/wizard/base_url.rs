//! Step 2: where the IFS Cloud instance lives, the loopback redirect URI the login uses,
//! and the API path a test login calls to prove the token works.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};

use super::form::{self, StepFlow};
use crate::core::validate;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::text_field::TextField;

#[derive(Debug)]
pub struct BaseUrlStep {
    pub base_url: TextField,
    pub redirect_uri: TextField,
    pub probe_path: TextField,
    focus: usize,
}

const HELP: [&str; 3] = [
    "The IFS Cloud instance, e.g. https://ifs.example.com",
    "Register it on the IAM client; no port = any free port",
    "Called with the token after a test login; empty skips it",
];
const LABELS: [&str; 3] = ["Base URL", "Redirect URI", "Probe path"];

impl BaseUrlStep {
    pub fn new(base_url: &str, redirect_uri: &str, probe_path: &str) -> Self {
        Self {
            base_url: TextField::new(base_url)
                .with_validator(validate::base_url)
                .with_placeholder("https://ifs.example.com"),
            redirect_uri: TextField::new(redirect_uri).with_validator(validate::redirect_uri),
            probe_path: TextField::new(probe_path).with_validator(validate::probe_path),
            focus: 0,
        }
    }

    fn fields(&self) -> [&TextField; 3] {
        [&self.base_url, &self.redirect_uri, &self.probe_path]
    }

    fn field_mut(&mut self, index: usize) -> &mut TextField {
        match index {
            0 => &mut self.base_url,
            1 => &mut self.redirect_uri,
            _ => &mut self.probe_path,
        }
    }

    pub fn is_valid(&self) -> bool {
        self.fields().iter().all(|f| f.is_valid())
    }

    pub fn touch_all(&mut self) {
        for i in 0..3 {
            self.field_mut(i).touch();
        }
        if let Some(first) = self.fields().iter().position(|f| !f.is_valid()) {
            self.focus = first;
        }
    }

    pub fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if self.field_mut(self.focus).handle_key(key) {
            return StepFlow::Handled;
        }
        form::navigate(&mut self.focus, 3, action)
    }

    pub fn paste(&mut self, text: &str) {
        self.field_mut(self.focus).paste(text);
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
            return StepFlow::Ignored;
        }
        if let Some(i) =
            (0..3).find(|i| form::hit(form::row_rect(area, *i as u16 * 3), mouse.column, mouse.row))
        {
            self.focus = i;
        }
        StepFlow::Handled
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, theme: &Theme) -> Option<Position> {
        let mut cursor = None;
        for (i, field) in self.fields().into_iter().enumerate() {
            let rect = form::row_rect(area, i as u16 * 3);
            let c = form::draw_field(buf, rect, LABELS[i], field, HELP[i], self.focus == i, theme);
            cursor = cursor.or(c);
        }
        cursor
    }
}
