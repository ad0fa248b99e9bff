//! Step 6: every value as it will be saved (normalised, secrets masked), the redirect URI
//! to register on the IFS IAM client, and Save / Save and test login.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::form::{self, StepFlow, StepRequest, WizardStep};
use crate::core::connector::Connector;
use crate::core::describe;
use crate::core::ifs::Registration;
use crate::core::validate::ValidationErrors;
use crate::core::workspace::SecretChange;
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::{button, wrap};

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
    /// The redirect URI went to the clipboard (said next to it).
    pub copied: bool,
    /// Showing what to set on the IAM client instead of the connector's values.
    registration: bool,
    /// Lines scrolled off the top, when the text is taller than the screen.
    scroll: u16,
    /// How far it can scroll, as the last frame found (drawing takes `&self`).
    max_scroll: Cell<u16>,
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
            // On a small screen the text is taller than its area: the arrows scroll it.
            Some(Action::Down) if self.scroll < self.max_scroll.get() => {
                self.scroll += 1;
                StepFlow::Handled
            }
            Some(Action::Up) if self.scroll > 0 => {
                self.scroll -= 1;
                StepFlow::Handled
            }
            Some(Action::NextField | Action::PrevField | Action::Up | Action::Down) => {
                self.focus = match self.focus {
                    Focus::Save => Focus::SaveAndTest,
                    Focus::SaveAndTest => Focus::Save,
                };
                StepFlow::Handled
            }
            Some(Action::CopyUrl) => StepFlow::Request(StepRequest::CopyRedirectUri),
            Some(Action::Registration) => {
                self.registration = !self.registration;
                self.scroll = 0;
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
        let key = |action| cx.keymap.key_for(Scope::Wizard, action);
        let copy = if self.copied {
            "copied".to_owned()
        } else {
            format!("{} copies it", key(Action::CopyUrl))
        };
        let lines = if self.registration {
            let back = format!("{} shows the values again", key(Action::Registration));
            register_lines(&self.data, &copy, &back, area.width, theme)
        } else {
            let more = format!(
                "{} shows everything to set on the IFS IAM client",
                key(Action::Registration)
            );
            let mut lines = redirect_line(&self.data, &copy, &more, area.width, theme);
            lines.extend(summary_lines(&self.data, area.width, theme));
            lines
        };
        // Every line is already fitted to the width, so the count is the height.
        let max_scroll = (lines.len() as u16).saturating_sub(text_area.height);
        self.max_scroll.set(max_scroll);
        let scroll = self.scroll.min(max_scroll);
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .render(text_area, buf);
        draw_more_marks(text_area, buf, scroll, max_scroll, theme);
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

/// "↑ more" and "↓ more" at the right edge when lines are scrolled off either end.
fn draw_more_marks(area: Rect, buf: &mut Buffer, scroll: u16, max_scroll: u16, theme: &Theme) {
    let mut mark = |y: u16, text: &str| {
        let width = text.chars().count() as u16;
        if area.width > width && area.height > 0 {
            let x = area.right() - width;
            buf.set_stringn(x, y, text, width as usize, theme.highlight);
        }
    };
    if scroll > 0 {
        mark(area.y, " ↑ more ");
    }
    if scroll < max_scroll {
        mark(area.bottom().saturating_sub(1), " ↓ more ");
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
        let mut lines = vec![Line::styled(format!("  {label}"), theme.label)];
        lines.extend(wrap::hanging(
            vec![Span::raw("    ")],
            &value,
            Style::default(),
            width as usize,
        ));
        lines
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

/// What to set on the IFS IAM Client for this auth type (`core::ifs::Registration`), the
/// redirect URI highlighted with the key that copies it.
fn register_lines(
    data: &ReviewData,
    copy: &str,
    back: &str,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(c) = &data.connector else {
        return Vec::new();
    };
    let registration = Registration::of(c);
    let mut lines = vec![Line::from(vec![
        Span::styled("  Set on the IFS IAM Client:", theme.title),
        Span::styled(format!("   {back}"), theme.muted),
    ])];
    for (label, value) in registration.rows() {
        let lead = vec![Span::styled(format!("    {label:<18}"), theme.label)];
        if label == "Redirect URIs" {
            let mut spans = lead;
            spans.push(Span::styled(value, theme.highlight));
            spans.push(Span::styled(format!("  {copy}"), theme.muted));
            lines.push(Line::from(spans));
        } else {
            lines.extend(wrap::hanging(
                lead,
                &value,
                Style::default(),
                width as usize,
            ));
        }
    }
    for note in registration.notes() {
        let lead = vec![Span::raw("    ")];
        lines.extend(wrap::hanging(lead, &note, theme.muted, width as usize));
    }
    lines.push(Line::raw(""));
    lines
}

/// The one line of the registration the values view keeps: the redirect URI to register.
fn redirect_line(
    data: &ReviewData,
    copy: &str,
    more: &str,
    width: u16,
    theme: &Theme,
) -> Vec<Line<'static>> {
    let Some(c) = &data.connector else {
        return Vec::new();
    };
    let registration = Registration::of(c);
    if !registration.standard_flow {
        let lead = vec![Span::styled("  IAM client: ", theme.label)];
        let text = format!("Service Accounts on, no redirect URI · {more}");
        return wrap::hanging(lead, &text, theme.muted, width as usize);
    }
    let line = Line::from(vec![
        Span::styled("  Register the redirect URI ", theme.label),
        Span::styled(registration.redirect_uri, theme.highlight),
        Span::styled(format!("  {copy}"), theme.muted),
    ]);
    let mut lines = wrap::hanging(line.spans.clone(), "", Style::default(), width as usize);
    if line.width() > width as usize {
        // Too narrow for one line: the URI on a line of its own, never cut.
        lines = vec![Line::styled("  Register the redirect URI", theme.label)];
        lines.extend(wrap::hanging(
            vec![Span::raw("    ")],
            &format!("{}  {copy}", Registration::of(c).redirect_uri),
            theme.highlight,
            width as usize,
        ));
    }
    lines.push(Line::styled(format!("  {more}"), theme.muted));
    lines
}

/// The compact description, plus the two values a person typed in the wizard that the
/// compact one leaves out: everything typed is reviewed before it is saved.
fn review_rows(c: &Connector, secret: &str) -> Vec<(&'static str, String)> {
    let mut rows = describe::connector_rows(c, secret, describe::Density::Compact);
    let after = |rows: &[(&str, String)], label: &str| {
        rows.iter()
            .position(|(l, _)| *l == label)
            .map_or(rows.len(), |i| i + 1)
    };
    let probe = if c.probe_path.is_empty() {
        "none (no API call after a test login)".to_owned()
    } else {
        c.probe_path.clone()
    };
    let at = after(&rows, "Base URL");
    rows.insert(at, ("Probe path", probe));
    let display = c.auth.display_name();
    let display = if display.is_empty() {
        "none".to_owned()
    } else {
        display.to_owned()
    };
    let at = after(&rows, "Authentication Type");
    rows.insert(at, ("Display name", display));
    rows
}

fn summary_lines(data: &ReviewData, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let Some(c) = &data.connector else {
        return Vec::new();
    };
    let mut lines = Vec::new();
    let secret = match c.client_secret_env() {
        Some(var) => format!("from the environment variable {var} (never stored)"),
        None => secret_text(data.secret, data.had_secret),
    };
    for (label, value) in review_rows(c, &secret) {
        lines.extend(rows(label, value, width, theme));
    }
    if let Some(errors) = &data.errors {
        lines.push(Line::raw(""));
        for error in &errors.0 {
            let lead = vec![Span::styled("  ✗ ", theme.error)];
            lines.extend(wrap::hanging(
                lead,
                &error.to_string(),
                theme.error,
                width as usize,
            ));
        }
    }
    lines
}
