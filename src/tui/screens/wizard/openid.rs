//! Step 4 for OpenId Authentication: the authority and the public client, and **Check**,
//! which fetches the discovery document and shows each Validate option's verdict with the
//! endpoints found, before anything is saved.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::form::{self, StepFlow, StepRequest};
use crate::core::connector::OpenIdAuth;
use crate::core::login::discovery::DiscoveryCheck;
use crate::core::validate;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::text_field::TextField;
use crate::tui::widgets::{button, spinner};

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

#[derive(Debug)]
pub struct OpenIdStep {
    pub display_name: TextField,
    pub authority: TextField,
    pub client_id: TextField,
    pub scopes: TextField,
    pub check: CheckState,
    focus: usize,
}

const DISPLAY: usize = 0;
const AUTHORITY: usize = 1;
const CLIENT: usize = 2;
const SCOPES: usize = 3;
const CHECK: usize = 4;
const LABELS: [&str; 4] = ["Display name", "Authority URL", "Client ID", "Scopes"];
const HELP: [&str; 4] = [
    "Shown to people choosing a connector; optional",
    "The realm URL, without .well-known/openid-configuration",
    "The IAM client's ID (case-sensitive)",
    "Keep the default openid",
];

impl OpenIdStep {
    pub fn new(auth: &OpenIdAuth) -> Self {
        Self {
            display_name: TextField::new(&auth.display_name),
            authority: TextField::new(&auth.authority_url)
                .with_validator(validate::authority_url)
                .with_placeholder("https://ifs.example.com/auth/realms/prod"),
            client_id: TextField::new(&auth.client_id).with_validator(validate::client_id),
            scopes: TextField::new(&auth.scopes).with_validator(form::openid_scopes),
            check: CheckState::NotRun,
            focus: DISPLAY,
        }
    }

    fn fields(&self) -> [&TextField; 4] {
        [
            &self.display_name,
            &self.authority,
            &self.client_id,
            &self.scopes,
        ]
    }

    fn field_mut(&mut self, index: usize) -> Option<&mut TextField> {
        match index {
            DISPLAY => Some(&mut self.display_name),
            AUTHORITY => Some(&mut self.authority),
            CLIENT => Some(&mut self.client_id),
            SCOPES => Some(&mut self.scopes),
            _ => None,
        }
    }

    pub fn is_valid(&self) -> bool {
        self.fields().iter().all(|f| f.is_valid())
    }

    pub fn touch_all(&mut self) {
        for i in 0..4 {
            self.field_mut(i).into_iter().for_each(TextField::touch);
        }
        if let Some(first) = self.fields().iter().position(|f| !f.is_valid()) {
            self.focus = first;
        }
    }

    /// A finished check for the authority as it is typed now.
    fn has_current_result(&self) -> bool {
        matches!(&self.check, CheckState::Done { authority, .. } if self.authority.normalized().as_deref() == Some(authority.as_str()))
    }

    pub fn is_checking(&self) -> bool {
        matches!(self.check, CheckState::Running { .. })
    }

    /// Start a check if the authority is usable; the wizard sends the request.
    fn request_check(&mut self) -> StepFlow {
        self.authority.touch();
        if !self.authority.is_valid() {
            self.focus = AUTHORITY;
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
            let authority = self.authority.normalized().unwrap_or_default();
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

    pub fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if let Some(field) = self.field_mut(self.focus)
            && field.handle_key(key)
        {
            return StepFlow::Handled;
        }
        match action {
            Some(Action::Check) => self.request_check(),
            // Enter on Check runs it; once its answer for this authority is on screen,
            // Enter moves on (Space or Ctrl-K still runs it again).
            Some(Action::Submit) if self.focus == CHECK && self.has_current_result() => {
                StepFlow::Next
            }
            Some(Action::Submit | Action::Toggle) if self.focus == CHECK => self.request_check(),
            // Enter in the last field runs the check once, the first time: it is the
            // step's point, and the results are worth a look before moving on.
            Some(Action::Submit) if self.focus == SCOPES && self.check == CheckState::NotRun => {
                self.focus = CHECK;
                StepFlow::Handled
            }
            Some(Action::Submit) if self.focus == SCOPES => StepFlow::Next,
            _ => form::navigate(&mut self.focus, 5, action),
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(field) = self.field_mut(self.focus) {
            field.paste(text);
        }
    }

    fn check_button_rect(area: Rect) -> Rect {
        Rect::new(area.x + 2, area.y + 9, button::width("Check"), 1)
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
            return StepFlow::Ignored;
        }
        if form::hit(Self::check_button_rect(area), mouse.column, mouse.row) {
            self.focus = CHECK;
            return self.request_check();
        }
        if let Some(i) =
            (0..4).find(|i| form::hit(form::row_rect(area, *i as u16 * 2), mouse.column, mouse.row))
        {
            self.focus = i;
        }
        StepFlow::Handled
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, tick: u64, theme: &Theme) -> Option<Position> {
        let mut cursor = None;
        for (i, field) in self.fields().into_iter().enumerate() {
            let rect = form::row_rect(area, i as u16 * 2);
            cursor = cursor.or(form::draw_field(
                buf,
                rect,
                LABELS[i],
                field,
                HELP[i],
                self.focus == i,
                theme,
            ));
        }
        let button_rect = Self::check_button_rect(area);
        button::render("Check", button_rect, buf, self.focus == CHECK, theme);
        let note_x = button_rect.right() + 1;
        let note = match &self.check {
            CheckState::NotRun => Line::styled(
                "Ctrl-K · fetches discovery and runs the Validate options",
                theme.muted,
            ),
            CheckState::Running { .. } => Line::styled(
                format!("{} fetching discovery…", spinner::frame(tick)),
                theme.highlight,
            ),
            CheckState::Done { .. } if !self.has_current_result() => Line::styled(
                "The Authority URL changed since this check: run it again",
                theme.warning,
            ),
            CheckState::Done { check, .. } => {
                Line::styled(check.discovery_url.clone(), theme.muted)
            }
        };
        buf.set_line(
            note_x,
            button_rect.y,
            &note,
            area.right().saturating_sub(note_x),
        );
        if let CheckState::Done { check, .. } = &self.check {
            let results = Rect {
                x: area.x + 2,
                y: button_rect.y + 1,
                width: area.width.saturating_sub(2),
                height: area.bottom().saturating_sub(button_rect.y + 1),
            };
            Paragraph::new(check_lines(check, theme)).render(results, buf);
        }
        cursor
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
