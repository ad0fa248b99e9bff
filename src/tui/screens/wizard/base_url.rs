//! Step 2: where the IFS Cloud instance lives, the loopback redirect URI the login uses,
//! and the API path a test login calls to prove the token works.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};

use super::form::{self, Form, Row, StepFlow, WizardStep};
use crate::core::connector::Connector;
use crate::core::validate::{self, Field};
use crate::tui::component::DrawCx;
use crate::tui::keymap::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    BaseUrl,
    RedirectUri,
    ProbePath,
}

const ROWS: [Row<Focus>; 3] = [
    Row::text(
        Focus::BaseUrl,
        Field::BaseUrl,
        "The IFS Cloud instance, e.g. https://ifs.example.com",
    )
    .check(validate::base_url)
    .placeholder("https://ifs.example.com"),
    Row::text(
        Focus::RedirectUri,
        Field::RedirectUri,
        "Register it on the IAM client; no port = any free port",
    )
    .check(validate::redirect_uri)
    .after_gap(1),
    Row::text(
        Focus::ProbePath,
        Field::ProbePath,
        "Called with the token after a test login; empty skips it",
    )
    .check(validate::probe_path)
    .after_gap(1),
];

#[derive(Debug)]
pub struct BaseUrlStep {
    pub form: Form<Focus>,
}

impl BaseUrlStep {
    pub fn new(connector: &Connector) -> Self {
        let mut form = Form::new(&ROWS);
        form.text_mut(Focus::BaseUrl).set_value(&connector.base_url);
        form.text_mut(Focus::RedirectUri)
            .set_value(&connector.redirect_uri);
        form.text_mut(Focus::ProbePath)
            .set_value(&connector.probe_path);
        Self { form }
    }
}

impl BaseUrlStep {
    /// The Base URL as it will be saved, or `None` while it is not valid.
    pub fn base_url(&self) -> Option<String> {
        self.form.text(Focus::BaseUrl).normalized()
    }
}

impl WizardStep for BaseUrlStep {
    fn label(&self) -> &'static str {
        "Base URL"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "Base URL",
            "Where the IFS Cloud instance lives, and how the login comes back.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if self.form.handle_key(key) {
            return StepFlow::Handled;
        }
        self.form.navigate(action)
    }

    fn paste(&mut self, text: &str) {
        self.form.paste(text);
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) {
            return StepFlow::Ignored;
        }
        self.form.click(area, mouse);
        StepFlow::Handled
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        self.form.draw(area, buf, cx.theme, |_| None)
    }

    fn is_valid(&self) -> bool {
        self.form.is_valid()
    }

    fn touch_all(&mut self) {
        self.form.touch_all();
    }

    fn write(&self, connector: &mut Connector) {
        connector.base_url = self.form.value(Focus::BaseUrl).to_owned();
        connector.redirect_uri = self.form.value(Focus::RedirectUri).to_owned();
        connector.probe_path = self.form.value(Focus::ProbePath).to_owned();
    }
}
