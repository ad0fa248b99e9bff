//! Step 6: every value as it will be saved (normalised, secrets masked), the redirect URI
//! to register on the IFS IAM client, and Save / Save and test login.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::form::{self, StepFlow, StepRequest};
use crate::core::connector::{Auth, Connector};
use crate::core::validate::ValidationErrors;
use crate::core::workspace::SecretChange;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::button;

#[derive(Debug, Default)]
pub struct ReviewStep {
    /// 0: Save, 1: Save and test login.
    focus: usize,
}

const SAVE: &str = "Save";
const SAVE_AND_TEST: &str = "Save and test login";

/// What the review shows, prepared by the wizard from all the steps.
pub struct ReviewData<'a> {
    /// Normalised as it will be saved.
    pub connector: &'a Connector,
    pub secret: &'a SecretChange,
    pub had_secret: bool,
    pub errors: Option<&'a ValidationErrors>,
    pub saving: bool,
}

impl ReviewStep {
    pub fn handle_key(&mut self, _key: &KeyEvent, action: Option<Action>) -> StepFlow {
        match action {
            Some(Action::NextField | Action::PrevField | Action::Up | Action::Down) => {
                self.focus = 1 - self.focus;
                StepFlow::Handled
            }
            Some(Action::Submit | Action::Toggle) => StepFlow::Request(StepRequest::Save {
                then_test: self.focus == 1,
            }),
            _ => StepFlow::Ignored,
        }
    }

    fn buttons(area: Rect) -> (Rect, Rect) {
        let y = area.bottom().saturating_sub(1);
        let save = Rect::new(area.x + 2, y, button::width(SAVE), 1);
        let test = Rect::new(save.right() + 2, y, button::width(SAVE_AND_TEST), 1);
        (save, test)
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
            return StepFlow::Ignored;
        }
        let (save, test) = Self::buttons(area);
        if form::hit(save, mouse.column, mouse.row) {
            self.focus = 0;
            return StepFlow::Request(StepRequest::Save { then_test: false });
        }
        if form::hit(test, mouse.column, mouse.row) {
            self.focus = 1;
            return StepFlow::Request(StepRequest::Save { then_test: true });
        }
        StepFlow::Handled
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, data: &ReviewData<'_>, theme: &Theme) {
        let (save, test) = Self::buttons(area);
        let text_area = Rect {
            height: area.height.saturating_sub(2),
            ..area
        };
        Paragraph::new(summary_lines(data, area.width, theme))
            .wrap(Wrap { trim: false })
            .render(text_area, buf);
        let save_label = if data.saving { "Saving…" } else { SAVE };
        button::render(save_label, save, buf, self.focus == 0, theme);
        button::render(SAVE_AND_TEST, test, buf, self.focus == 1, theme);
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

fn secret_text(secret: &SecretChange, had_secret: bool) -> String {
    match (secret, had_secret) {
        (SecretChange::Set(_), _) => "•••••••• (new; saved to the OS keyring)".into(),
        (SecretChange::Remove, true) => "removed from the OS keyring on save".into(),
        (SecretChange::Keep, true) => "•••••••• (stored in the OS keyring)".into(),
        _ => "none (public client)".into(),
    }
}

fn on_off(value: bool) -> String {
    if value { "on".into() } else { "off".into() }
}

fn summary_lines(data: &ReviewData<'_>, width: u16, theme: &Theme) -> Vec<Line<'static>> {
    let c = data.connector;
    let row = |label: &str, value: String, theme: &Theme| rows(label, value, width, theme);
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
    lines.extend(row("Name", c.name.clone(), theme));
    lines.extend(row("Agent Group", c.agent_group.clone(), theme));
    lines.extend(row("Base URL", c.base_url.clone(), theme));
    lines.extend(row(
        "Authentication Type",
        c.auth_kind().label().into(),
        theme,
    ));
    let params = |params: &[crate::core::connector::Param]| {
        if params.is_empty() {
            "none".to_owned()
        } else {
            params
                .iter()
                .map(|p| format!("{}={}", p.key, p.value))
                .collect::<Vec<_>>()
                .join(" ")
        }
    };
    match &c.auth {
        Auth::OpenId(a) => {
            lines.extend(row("Authority URL", a.authority_url.clone(), theme));
            lines.extend(row("Client ID", a.client_id.clone(), theme));
            lines.extend(row("Scopes", a.scopes.clone(), theme));
            lines.extend(row("Extra parameters", params(&a.extra_params), theme));
            lines.extend(row(
                "Validate",
                format!(
                    "endpoints {} · issuer name {} · token issuer {} · PAR {}",
                    on_off(a.validate_endpoints),
                    on_off(a.validate_issuer_name),
                    on_off(a.validate_token_issuer_name),
                    on_off(a.use_par)
                ),
                theme,
            ));
            lines.extend(row(
                "Prefill User Email",
                a.prefill_user_email.clone().unwrap_or_else(|| "no".into()),
                theme,
            ));
        }
        Auth::OAuth2(a) => {
            lines.extend(row(
                "Authorization Endpoint",
                a.authorization_endpoint.clone(),
                theme,
            ));
            lines.extend(row("Token Endpoint", a.token_endpoint.clone(), theme));
            lines.extend(row("Client ID", a.client_id.clone(), theme));
            lines.extend(row(
                "Client Secret",
                secret_text(data.secret, data.had_secret),
                theme,
            ));
            lines.extend(row("Scopes", a.scopes.clone(), theme));
            lines.extend(row("Extra parameters", params(&a.extra_params), theme));
            lines.extend(row("PKCE", on_off(a.pkce), theme));
            lines.extend(row(
                "Prefill User Email",
                a.prefill_user_email.clone().unwrap_or_else(|| "no".into()),
                theme,
            ));
        }
        Auth::ClientCredentials(a) => {
            let endpoint = match (&a.token_endpoint, &a.authority_url) {
                (Some(token), _) => token.clone(),
                (None, Some(authority)) => format!("discovered from {authority}"),
                (None, None) => "none".into(),
            };
            lines.extend(row("Token Endpoint", endpoint, theme));
            lines.extend(row("Client ID", a.client_id.clone(), theme));
            let secret = match &a.client_secret_env {
                Some(var) => format!("from the environment variable {var}"),
                None => secret_text(data.secret, data.had_secret),
            };
            lines.extend(row("Client Secret", secret, theme));
            lines.extend(row("Scopes", a.scopes.clone(), theme));
            lines.extend(row("Extra parameters", params(&a.extra_params), theme));
        }
    }
    if let Some(errors) = data.errors {
        lines.push(Line::raw(""));
        for error in &errors.0 {
            lines.push(Line::styled(format!("  ✗ {error}"), theme.error));
        }
    }
    lines
}
