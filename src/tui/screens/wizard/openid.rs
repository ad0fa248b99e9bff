//! Step 4 for OpenId Authentication: the authority and the public client, and **Check**,
//! which fetches the discovery document and shows each Validate option's verdict with the
//! endpoints found, before anything is saved.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::form::{self, Form, Row, StepFlow, StepRequest, WizardStep};
use crate::core::connector::{Auth, Connector, OpenIdAuth};
use crate::core::login::discovery::DiscoveryCheck;
use crate::core::validate::{self, Field};
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::spinner;

#[derive(Debug, Clone, PartialEq)]
pub enum CheckState {
    NotRun,
    Running {
        generation: u64,
    },
    Done {
        check: Box<DiscoveryCheck>,
        authority: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    DisplayName,
    Authority,
    ClientId,
    Scopes,
    Check,
}

const ROWS: [Row<Focus>; 5] = [
    Row::text(
        Focus::DisplayName,
        Field::DisplayName,
        "Shown to people choosing a connector; optional",
    ),
    Row::text(
        Focus::Authority,
        Field::AuthorityUrl,
        "The realm URL, without .well-known/openid-configuration",
    )
    .check(validate::authority_url)
    .placeholder("https://ifs.example.com/auth/realms/prod"),
    Row::text(
        Focus::ClientId,
        Field::ClientId,
        "The IAM client's ID (case-sensitive)",
    )
    .check(validate::client_id),
    Row::text(Focus::Scopes, Field::Scopes, "Keep the default openid").check(form::openid_scopes),
    Row::button(Focus::Check, "Check").after_gap(1),
];

#[derive(Debug)]
pub struct OpenIdStep {
    pub form: Form<Focus>,
    pub check: CheckState,
}

impl OpenIdStep {
    pub fn new(auth: &OpenIdAuth) -> Self {
        let mut form = Form::new(&ROWS);
        form.text_mut(Focus::DisplayName)
            .set_value(&auth.display_name);
        form.text_mut(Focus::Authority)
            .set_value(&auth.authority_url);
        form.text_mut(Focus::ClientId).set_value(&auth.client_id);
        form.text_mut(Focus::Scopes).set_value(&auth.scopes);
        Self {
            form,
            check: CheckState::NotRun,
        }
    }

    /// The authority as it will be saved, or `None` while it is not a valid URL.
    pub fn authority(&self) -> Option<String> {
        self.form.text(Focus::Authority).normalized()
    }

    /// The fields this step edits, on top of `auth` (the other steps' part).
    pub fn auth(&self, auth: OpenIdAuth) -> OpenIdAuth {
        OpenIdAuth {
            display_name: self.form.value(Focus::DisplayName).to_owned(),
            authority_url: self.form.value(Focus::Authority).to_owned(),
            client_id: self.form.value(Focus::ClientId).to_owned(),
            scopes: self.form.value(Focus::Scopes).to_owned(),
            ..auth
        }
    }

    /// A finished check for the authority as it is typed now.
    fn has_current_result(&self) -> bool {
        matches!(&self.check, CheckState::Done { authority, .. } if self.authority().as_deref() == Some(authority.as_str()))
    }

    pub fn is_checking(&self) -> bool {
        matches!(self.check, CheckState::Running { .. })
    }

    /// Start a check if the authority is usable; the wizard sends the request.
    fn request_check(&mut self) -> StepFlow {
        self.form.text_mut(Focus::Authority).touch();
        if !self.form.text(Focus::Authority).is_valid() {
            self.form.focus = Focus::Authority;
            return StepFlow::Handled;
        }
        if self.is_checking() {
            return StepFlow::Handled;
        }
        StepFlow::Request(StepRequest::Check)
    }

    pub fn check_started(&mut self, generation: u64) {
        self.check = CheckState::Running { generation };
    }

    /// A check's answer; dropped when a newer check was started since.
    pub fn check_finished(&mut self, generation: u64, check: DiscoveryCheck) {
        if self.check == (CheckState::Running { generation }) {
            let authority = self.authority().unwrap_or_default();
            self.check = CheckState::Done {
                check: Box::new(check),
                authority,
            };
        }
    }

    pub fn check_failed(&mut self) {
        if self.is_checking() {
            self.check = CheckState::NotRun;
        }
    }

    fn note(&self, cx: &DrawCx<'_>) -> Line<'static> {
        let theme = cx.theme;
        match &self.check {
            CheckState::NotRun => Line::styled(
                format!(
                    "{} · fetches discovery and runs the Validate options",
                    cx.keymap.key_for(Scope::Wizard, Action::Check)
                ),
                theme.muted,
            ),
            CheckState::Running { .. } => Line::styled(
                format!("{} fetching discovery…", spinner::frame(cx.tick)),
                theme.highlight,
            ),
            CheckState::Done { .. } if !self.has_current_result() => Line::styled(
                "The Authority URL changed since this check: run it again",
                theme.warning,
            ),
            CheckState::Done { check, .. } => {
                Line::styled(check.discovery_url.clone(), theme.muted)
            }
        }
    }
}

impl WizardStep for OpenIdStep {
    fn label(&self) -> &'static str {
        "OpenId"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "OpenId Authentication",
            "The IAM client and its provider. Check asks the provider now.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if self.form.handle_key(key) {
            return StepFlow::Handled;
        }
        let focus = self.form.focus;
        match action {
            Some(Action::Check) => self.request_check(),
            // Enter on Check runs it; once its answer for this authority is on screen,
            // Enter moves on (Space or Ctrl-K still runs it again).
            Some(Action::Submit) if focus == Focus::Check && self.has_current_result() => {
                StepFlow::Next
            }
            Some(Action::Submit | Action::Toggle) if focus == Focus::Check => self.request_check(),
            // Enter in the last field runs the check once, the first time: it is the
            // step's point, and the results are worth a look before moving on.
            Some(Action::Submit) if focus == Focus::Scopes && self.check == CheckState::NotRun => {
                self.form.focus = Focus::Check;
                StepFlow::Handled
            }
            Some(Action::Submit) if focus == Focus::Scopes => StepFlow::Next,
            _ => self.form.navigate(action),
        }
    }

    fn paste(&mut self, text: &str) {
        self.form.paste(text);
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) {
            return StepFlow::Ignored;
        }
        match self.form.click(area, mouse) {
            Some(Focus::Check) => self.request_check(),
            _ => StepFlow::Handled,
        }
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let cursor = self.form.draw(area, buf, cx.theme, |_| None);
        let button = self.form.button_rect(area, Focus::Check);
        let note_x = button.right() + 1;
        let note = self.note(cx);
        buf.set_line(note_x, button.y, &note, area.right().saturating_sub(note_x));
        if let CheckState::Done { check, .. } = &self.check {
            let results = Rect {
                x: area.x + 2,
                y: button.y + 1,
                width: area.width.saturating_sub(2),
                height: area.bottom().saturating_sub(button.y + 1),
            };
            Paragraph::new(check_lines(check, cx.theme)).render(results, buf);
        }
        cursor
    }

    fn is_valid(&self) -> bool {
        self.form.is_valid()
    }

    fn touch_all(&mut self) {
        self.form.touch_all();
    }

    fn write(&self, connector: &mut Connector) {
        let base = match &connector.auth {
            Auth::OpenId(auth) => auth.clone(),
            _ => OpenIdAuth::default(),
        };
        connector.auth = Auth::OpenId(self.auth(base));
    }
}
/// The verdicts, then the endpoints the document lists.
pub fn check_lines(check: &DiscoveryCheck, theme: &Theme) -> Vec<Line<'static>> {
    let mut lines: Vec<Line> = check
        .items
        .iter()
        .map(|item| {
            let (mark, style) = match (item.enabled, item.ok) {
                (_, true) => ("✓", theme.ok),
                (true, false) => ("✗", theme.error),
                (false, false) => ("–", theme.warning),
            };
            let label = if item.enabled {
                item.label.to_owned()
            } else {
                format!("{} (off)", item.label)
            };
            Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::styled(format!("{label:<33}"), theme.label),
                Span::raw(item.detail.clone()),
            ])
        })
        .collect();
    if let Some(error) = &check.error {
        lines.push(Line::styled(format!("✗ {}", error.message), theme.error));
        if let Some(hint) = &error.hint {
            lines.push(Line::from(vec![
                Span::styled("  Fix: ", theme.label),
                Span::raw(hint.clone()),
            ]));
        }
    }
    if let Some(metadata) = &check.metadata {
        let endpoints = [
            ("authorization", &metadata.authorization_endpoint),
            ("token", &metadata.token_endpoint),
            ("userinfo", &metadata.userinfo_endpoint),
            ("jwks", &metadata.jwks_uri),
            ("PAR", &metadata.pushed_authorization_request_endpoint),
        ];
        // Under the authority they share its long prefix; show what differs.
        let base = metadata.issuer.as_deref().unwrap_or_default();
        for (name, url) in endpoints {
            if let Some(url) = url {
                let shown = match url.strip_prefix(base) {
                    Some(rest) if !base.is_empty() => format!("…{rest}"),
                    _ => url.clone(),
                };
                lines.push(Line::from(vec![
                    Span::styled(format!("  {name:<15}"), theme.muted),
                    Span::raw(shown),
                ]));
            }
        }
    }
    lines
}
