//! Step 4 for OpenId Authentication: the authority and the public client, and **Check**,
//! which fetches the discovery document and shows each Validate option's verdict with the
//! endpoints found, before anything is saved.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::find::RealmFinder;
use super::form::{self, Form, Row, StepFlow, StepRequest, WizardStep};
use crate::core::connector::{Auth, Connector, OpenIdAuth};
use crate::core::login::discovery::DiscoveryCheck;
use crate::core::validate::{self, Field};
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::{spinner, wrap};

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

/// What the area under Check shows: the newest of a check or a find.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shown {
    Check,
    Find,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    DisplayName,
    Authority,
    Find,
    ClientId,
    Scopes,
    Check,
}

const ROWS: [Row<Focus>; 6] = [
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
    Row::button(Focus::Find, "Find from Base URL"),
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
    pub finder: RealmFinder,
    /// What normalising the Authority URL changed, said once under it.
    pub authority_note: Option<String>,
    shown: Shown,
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
            finder: RealmFinder::default(),
            authority_note: None,
            shown: Shown::Check,
        }
    }

    /// Any URL of the realm becomes the realm URL (`core::ifs::normalise_authority`); the
    /// note says what changed. Run when the field is left and before a check.
    pub fn normalise_authority(&mut self) {
        let field = self.form.text_mut(Focus::Authority);
        let (authority, note) = crate::core::ifs::realm::normalise_authority(field.value());
        if authority != field.value() {
            field.set_value(authority);
        }
        if note.is_some() {
            self.authority_note = note;
        }
    }

    pub fn is_finding(&self) -> bool {
        self.finder.is_running()
    }

    fn request_find(&mut self) -> StepFlow {
        if self.is_finding() {
            return StepFlow::Handled;
        }
        StepFlow::Request(StepRequest::FindRealm)
    }

    pub fn find_started(&mut self, generation: u64, base_url: &str) {
        self.finder.start(generation, base_url);
        self.shown = Shown::Find;
    }

    /// A find's answer: a realm found goes into the Authority URL field.
    pub fn find_finished(
        &mut self,
        generation: u64,
        result: Result<crate::core::ifs::discover::Discovery, String>,
    ) {
        let Some(found) = self.finder.finish(generation, result) else {
            return;
        };
        if let Some(authority) = found {
            let field = self.form.text_mut(Focus::Authority);
            field.set_value(authority);
            field.touch();
            self.authority_note = None;
        }
        self.shown = Shown::Find;
    }

    pub fn find_failed(&mut self) {
        self.finder.failed();
    }

    /// Why the check of the authority typed now failed, if it ran and failed.
    pub fn failed_check(&self) -> Option<String> {
        match &self.check {
            CheckState::Done { check, .. } if self.has_current_result() => {
                check.error.as_ref().map(|e| {
                    let mut chars = e.message.trim_end_matches('.').chars();
                    let first = chars.next().map(|c| c.to_uppercase().to_string());
                    format!("{}{}.", first.unwrap_or_default(), chars.as_str())
                })
            }
            _ => None,
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
        self.normalise_authority();
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
        self.shown = Shown::Check;
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
            if self.form.focus == Focus::Authority {
                self.authority_note = None;
            }
            return StepFlow::Handled;
        }
        let focus = self.form.focus;
        let flow = self.handle_action(focus, action);
        if focus == Focus::Authority && self.form.focus != Focus::Authority {
            self.normalise_authority();
        }
        flow
    }

    fn paste(&mut self, text: &str) {
        self.form.paste(text);
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) {
            return StepFlow::Ignored;
        }
        let before = self.form.focus;
        let flow = match self.form.click(area, mouse) {
            Some(Focus::Check) => self.request_check(),
            Some(Focus::Find) => self.request_find(),
            _ => StepFlow::Handled,
        };
        if before == Focus::Authority && self.form.focus != Focus::Authority {
            self.normalise_authority();
        }
        flow
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let cursor = self.form.draw(area, buf, cx.theme, |_| None);
        let find = self.form.button_rect(area, Focus::Find);
        self.draw_note(self.finder.note(cx), find, area, buf);
        let button = self.form.button_rect(area, Focus::Check);
        self.draw_note(self.note(cx), button, area, buf);
        let results = Rect {
            x: area.x + 2,
            y: button.y + 1,
            width: area.width.saturating_sub(2),
            height: area.bottom().saturating_sub(button.y + 1),
        };
        Paragraph::new(self.report_lines(cx.theme, results.width)).render(results, buf);
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

impl OpenIdStep {
    fn handle_action(&mut self, focus: Focus, action: Option<Action>) -> StepFlow {
        match action {
            Some(Action::Submit | Action::Toggle) if focus == Focus::Find => self.request_find(),
            // Enter walks the fields a person must fill; Find is a Tab away.
            Some(Action::Submit) if focus == Focus::Authority => {
                self.form.focus = Focus::ClientId;
                StepFlow::Handled
            }
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

    fn draw_note(&self, note: Line<'static>, button: Rect, area: Rect, buf: &mut Buffer) {
        let note_x = button.right() + 1;
        let room = area.right().saturating_sub(note_x);
        let text = wrap::ellipsize(&note.to_string(), room as usize);
        buf.set_line(note_x, button.y, &Line::styled(text, note.style), room);
    }

    /// Under Check: what normalising the authority changed, then the newest of the
    /// check's verdicts and the find's report.
    fn report_lines(&self, theme: &Theme, width: u16) -> Vec<Line<'static>> {
        let mut lines = Vec::new();
        if let Some(note) = &self.authority_note {
            let lead = vec![Span::styled("ⓘ ", theme.highlight)];
            lines.extend(wrap::hanging(lead, note, theme.highlight, width as usize));
        }
        match (&self.shown, &self.check) {
            (Shown::Check, CheckState::Done { check, .. }) => {
                lines.extend(check_lines(check, theme, width));
            }
            (Shown::Find, _) => lines.extend(self.finder.report_lines(theme, width)),
            _ => {}
        }
        lines
    }
}

/// The verdicts, then the endpoints the document lists, fitted to `width` columns: what
/// must be read (a verdict's detail, the error, its fix) wraps under its own column; an
/// endpoint is cut with `…`.
pub fn check_lines(check: &DiscoveryCheck, theme: &Theme, width: u16) -> Vec<Line<'static>> {
    let width = width as usize;
    let mut lines: Vec<Line> = Vec::new();
    for item in &check.items {
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
        let lead = vec![
            Span::styled(format!("{mark} "), style),
            Span::styled(format!("{label:<33}"), theme.label),
        ];
        lines.extend(wrap::hanging(lead, &item.detail, Style::default(), width));
    }
    if let Some(error) = &check.error {
        let lead = vec![Span::styled("✗ ", theme.error)];
        lines.extend(wrap::hanging(lead, &error.message, theme.error, width));
        if let Some(hint) = &error.hint {
            let lead = vec![Span::styled("  Fix: ", theme.label)];
            lines.extend(wrap::hanging(lead, hint, Style::default(), width));
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
                let shown = wrap::ellipsize(&shown, width.saturating_sub(17));
                lines.push(Line::from(vec![
                    Span::styled(format!("  {name:<15}"), theme.muted),
                    Span::raw(shown),
                ]));
            }
        }
    }
    lines
}
