//! Step 6: every value as it will be saved (normalised, secrets masked), the redirect URI
//! to register on the IFS IAM client, and Save / Save and test login.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::form::{self, StepFlow, StepRequest, WizardStep};
use crate::core::connector::Connector;
use crate::core::describe;
use crate::core::validate::ValidationErrors;
use crate::core::workspace::SecretChange;
use crate::tui::component::DrawCx;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::button;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Focus {
    #[default]
    Save,
    SaveAndTest,
}

const SAVE: &str = "Save";
const SAVE_AND_TEST: &str = "Save and test login";

/// What the client secret will be after saving; never the secret itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretPlan {
    New,
    Remove,
    #[default]
    Keep,
}

impl From<&SecretChange> for SecretPlan {
    fn from(change: &SecretChange) -> Self {
        match change {
            SecretChange::Set(_) => SecretPlan::New,
            SecretChange::Remove => SecretPlan::Remove,
            SecretChange::Keep => SecretPlan::Keep,
        }
    }
}

/// What the review shows, prepared by the wizard from all the steps.
#[derive(Debug, Clone, Default)]
pub struct ReviewData {
    /// Normalised as it will be saved.
    pub connector: Option<Connector>,
    pub secret: SecretPlan,
    pub had_secret: bool,
    pub errors: Option<ValidationErrors>,
    pub saving: bool,
}

#[derive(Debug, Default)]
pub struct ReviewStep {
    focus: Focus,
    /// Refreshed by the wizard whenever anything it shows may have changed.
    pub data: ReviewData,
}

impl ReviewStep {
    fn buttons(area: Rect) -> (Rect, Rect) {
        let y = area.bottom().saturating_sub(1);
        let save = Rect::new(area.x + 2, y, button::width(SAVE), 1);
        let test = Rect::new(save.right() + 2, y, button::width(SAVE_AND_TEST), 1);
        (save, test)
    }
}

impl WizardStep for ReviewStep {
    fn label(&self) -> &'static str {
        "Review"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        ("Review and save", "Everything as it will be saved.")
    }

    fn handle_key(&mut self, _key: &KeyEvent, action: Option<Action>) -> StepFlow {
        match action {
            Some(Action::NextField | Action::PrevField | Action::Up | Action::Down) => {
                self.focus = match self.focus {
                    Focus::Save => Focus::SaveAndTest,
                    Focus::SaveAndTest => Focus::Save,
                };
                StepFlow::Handled
            }
            Some(Action::Submit | Action::Toggle) => StepFlow::Request(StepRequest::Save {
                then_test: self.focus == Focus::SaveAndTest,
            }),
            _ => StepFlow::Ignored,
        }
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) {
            return StepFlow::Ignored;
        }
        let (save, test) = Self::buttons(area);
        if form::hit(save, mouse.column, mouse.row) {
            self.focus = Focus::Save;
            return StepFlow::Request(StepRequest::Save { then_test: false });
        }
        if form::hit(test, mouse.column, mouse.row) {
            self.focus = Focus::SaveAndTest;
            return StepFlow::Request(StepRequest::Save { then_test: true });
        }
        StepFlow::Handled
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let theme = cx.theme;
        let (save, test) = Self::buttons(area);
        let text_area = Rect {
            height: area.height.saturating_sub(2),
            ..area
        };
        Paragraph::new(summary_lines(&self.data, area.width, theme))
            .wrap(Wrap { trim: false })
            .render(text_area, buf);
        let save_label = if self.data.saving { "Saving…" } else { SAVE };
        button::render(save_label, save, buf, self.focus == Focus::Save, theme);
        button::render(
            SAVE_AND_TEST,
            test,
            buf,
            self.focus == Focus::SaveAndTest,
            theme,
        );
        None
    }
}

/// A label and its value; a value too long for the line goes on its own line below, so
/// a URL is never cut or broken in the middle.
fn rows(label: &str, value: String, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let label_text = format!("  {label:<24}");
    let fits = label_text.chars().count() + unicode_width::UnicodeWidthStr::width(value.as_str())
        <= width as usize;
    if fits {
        vec![Line::from(vec![
            Span::styled(label_text, theme.label),
            Span::raw(value),
        ])]
    } else {
        vec![
            Line::styled(format!("  {label}"), theme.label),
            Line::raw(format!("    {value}")),
        ]
    }
}

fn secret_text(secret: SecretPlan, had_secret: bool) -> String {
    match (secret, had_secret) {
        (SecretPlan::New, _) => "•••••••• (new; saved to the OS keyring)".into(),
        (SecretPlan::Remove, true) => "removed from the OS keyring on save".into(),
        (SecretPlan::Keep, true) => "•••••••• (stored in the OS keyring)".into(),
        _ => "none (public client)".into(),
    }
}

fn summary_lines(data: &ReviewData, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let Some(c) = &data.connector else {
        return Vec::new();
    };
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                "  Register this redirect URI on the IFS IAM client: ",
                theme.label,
            ),
            Span::styled(c.redirect_uri.clone(), theme.highlight),
        ]),
        Line::raw(""),
    ];
    let secret = secret_text(data.secret, data.had_secret);
    for (label, value) in describe::connector_rows(c, &secret, describe::Density::Compact) {
        lines.extend(rows(label, value, width, theme));
    }
    if let Some(errors) = &data.errors {
        lines.push(Line::raw(""));
        for error in &errors.0 {
            lines.push(Line::styled(format!("  ✗ {error}"), theme.error));
        }
    }
    lines
}
