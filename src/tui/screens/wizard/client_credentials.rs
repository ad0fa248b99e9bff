//! Step 4 for OAuth2 Client Credentials (an IFS service user): where the token endpoint
//! comes from (typed, or discovered from the realm URL), the confidential client, and its
//! secret: masked in the OS keyring, or the name of an environment variable that holds it
//! on machines with no keyring (CI runners, containers).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use secrecy::SecretString;

use super::find::RealmFinder;
use super::form::{self, Form, Row, StepFlow, StepRequest, WizardStep};
use crate::core::connector::{Auth, ClientCredentialsAuth, Connector};
use crate::core::validate::{self, Field};
use crate::core::workspace::SecretChange;
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Keymap};
use crate::tui::widgets::wrap;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    DisplayName,
    Authority,
    Find,
    Token,
    ClientId,
    Secret,
    SecretEnv,
    Scopes,
}

const ROWS: [Row<Focus>; 8] = [
    Row::text(
        Focus::DisplayName,
        Field::DisplayName,
        "Shown to people choosing a connector; optional",
    ),
    Row::text(
        Focus::Authority,
        Field::AuthorityUrl,
        "Realm URL: the token endpoint is discovered",
    )
    .check(optional_authority)
    .placeholder("https://ifs.example.com/auth/realms/prod"),
    Row::button(Focus::Find, "Find from Base URL"),
    Row::text(
        Focus::Token,
        Field::TokenEndpoint,
        "…/openid-connect/token, if no Authority URL",
    )
    .check(optional_endpoint),
    Row::text(
        Focus::ClientId,
        Field::ClientId,
        "IAM client with Service Accounts on",
    )
    .check(validate::client_id),
    Row::text(Focus::Secret, Field::ClientSecret, "").masked(),
    Row::text(
        Focus::SecretEnv,
        Field::ClientSecretEnv,
        "Or a variable holding it (only its name is kept)",
    )
    .check(optional_env_var)
    .placeholder("optional: e.g. IFS_CLIENT_SECRET"),
    Row::text(
        Focus::Scopes,
        Field::Scopes,
        "IFS documents openid microprofile-jwt",
    )
    .check(form::oauth2_scopes),
];

fn optional_authority(value: &str) -> Result<String, String> {
    optional(value, validate::authority_url)
}

fn optional_endpoint(value: &str) -> Result<String, String> {
    optional(value, validate::endpoint_url)
}

fn optional_env_var(value: &str) -> Result<String, String> {
    optional(value, validate::env_var_name)
}

fn optional(value: &str, rule: impl Fn(&str) -> Result<String, String>) -> Result<String, String> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        rule(value)
    }
}

fn non_empty(value: &str) -> Option<String> {
    let value = value.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

#[derive(Debug)]
pub struct ClientCredentialsStep {
    pub form: Form<Focus>,
    pub finder: RealmFinder,
    /// What normalising the Authority URL changed.
    authority_note: Option<String>,
    /// Whether the keyring holds this connector's secret now.
    has_client_secret: bool,
}

impl ClientCredentialsStep {
    pub fn new(auth: &ClientCredentialsAuth) -> Self {
        let mut form = Form::new(&ROWS);
        let values = [
            (Focus::DisplayName, auth.display_name.as_str()),
            (
                Focus::Authority,
                auth.authority_url.as_deref().unwrap_or(""),
            ),
            (Focus::Token, auth.token_endpoint.as_deref().unwrap_or("")),
            (Focus::ClientId, auth.client_id.as_str()),
            (
                Focus::SecretEnv,
                auth.client_secret_env.as_deref().unwrap_or(""),
            ),
            (Focus::Scopes, auth.scopes.as_str()),
        ];
        for (focus, value) in values {
            form.text_mut(focus).set_value(value);
        }
        form.text_mut(Focus::Secret)
            .set_placeholder(if auth.has_client_secret {
                "stored in the OS keyring; type to replace it"
            } else {
                "required, unless a variable is named below"
            });
        Self {
            form,
            finder: RealmFinder::default(),
            authority_note: None,
            has_client_secret: auth.has_client_secret,
        }
    }

    /// Any URL of the realm becomes the realm URL, as in the OpenId step.
    fn normalise_authority(&mut self) {
        let field = self.form.text_mut(Focus::Authority);
        let (authority, note) = crate::core::ifs::realm::normalise_authority(field.value());
        if authority != field.value() {
            field.set_value(authority);
        }
        if note.is_some() {
            self.authority_note = note;
        }
    }

    pub fn find_started(&mut self, generation: u64, base_url: &str) {
        self.finder.start(generation, base_url);
    }

    pub fn find_finished(
        &mut self,
        generation: u64,
        result: Result<crate::core::ifs::discover::Discovery, String>,
    ) {
        if let Some(Some(authority)) = self.finder.finish(generation, result) {
            let field = self.form.text_mut(Focus::Authority);
            field.set_value(authority);
            field.touch();
            self.authority_note = None;
        }
    }

    fn request_find(&self) -> StepFlow {
        if self.finder.is_running() {
            StepFlow::Handled
        } else {
            StepFlow::Request(StepRequest::FindRealm)
        }
    }

    fn typed_secret(&self) -> &str {
        self.form.value(Focus::Secret)
    }

    fn env_var(&self) -> Option<String> {
        non_empty(self.form.value(Focus::SecretEnv))
    }

    /// What saving does with the keyring's secret. A named variable replaces a stored
    /// secret: the config never names both, and a stale keyring copy would be a trap.
    pub fn secret_change(&self) -> SecretChange {
        if !self.typed_secret().is_empty() {
            SecretChange::Set(SecretString::from(self.typed_secret().to_owned()))
        } else if self.env_var().is_some() && self.has_client_secret {
            SecretChange::Remove
        } else {
            SecretChange::Keep
        }
    }

    /// The rules that span two fields, as (field to blame, message).
    fn cross_field_errors(&self) -> Vec<(Focus, String)> {
        let mut errors = Vec::new();
        let token = non_empty(self.form.value(Focus::Token));
        let authority = non_empty(self.form.value(Focus::Authority));
        if let Err(e) = validate::service_endpoint(token.as_deref(), authority.as_deref()) {
            errors.push((Focus::Token, e.message));
        }
        let typed = !self.typed_secret().is_empty();
        match (typed, self.env_var().is_some()) {
            (true, true) => errors.push((
                Focus::SecretEnv,
                "give the secret or a variable that holds it, not both".into(),
            )),
            (false, false) if !self.has_client_secret => errors.push((
                Focus::Secret,
                "a service user needs its client secret: type it, or name a variable below".into(),
            )),
            _ => {}
        }
        errors
    }

    fn help(&self, focus: Focus, keys: &Keymap) -> Option<String> {
        (focus == Focus::Secret).then(|| form::secret_help(self.form.text(Focus::Secret), keys))
    }
}

impl WizardStep for ClientCredentialsStep {
    fn label(&self) -> &'static str {
        "Service"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "OAuth2 Client Credentials (service user)",
            "No browser: the IAM client's own credentials get the token.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        let focus = self.form.focus;
        if self.form.handle_key(key) {
            if focus == Focus::Authority {
                self.authority_note = None;
            }
            return StepFlow::Handled;
        }
        let flow = match action {
            Some(Action::Reveal) => {
                self.form.text_mut(Focus::Secret).toggle_reveal();
                StepFlow::Handled
            }
            Some(Action::Submit | Action::Toggle) if focus == Focus::Find => self.request_find(),
            // Enter walks the fields; Find is a Tab away.
            Some(Action::Submit) if focus == Focus::Authority => {
                self.form.focus = Focus::Token;
                StepFlow::Handled
            }
            _ => self.form.navigate(action),
        };
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
            return StepFlow::Handled;
        }
        let before = self.form.focus;
        let clicked = self.form.click(area, mouse);
        if before == Focus::Authority && self.form.focus != Focus::Authority {
            self.normalise_authority();
        }
        match clicked {
            Some(Focus::Find) => self.request_find(),
            _ => StepFlow::Handled,
        }
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let theme = cx.theme;
        let cursor = self
            .form
            .draw(area, buf, theme, |focus| self.help(focus, cx.keymap));
        let button = self.form.button_rect(area, Focus::Find);
        let note_x = button.right() + 1;
        let room = area.right().saturating_sub(note_x);
        let note = self.finder.note(cx);
        let text = wrap::ellipsize(&note.to_string(), room as usize);
        buf.set_line(note_x, button.y, &Line::styled(text, note.style), room);
        // Below the last row: what normalising changed, then the find's report.
        let last = self.form.rect(area, Focus::Scopes);
        let report = Rect {
            x: area.x + 2,
            y: last.bottom() + 1,
            width: area.width.saturating_sub(2),
            height: area.bottom().saturating_sub(last.bottom() + 1),
        };
        let mut lines = Vec::new();
        if let Some(note) = &self.authority_note {
            let lead = vec![Span::styled("ⓘ ", theme.highlight)];
            lines.extend(wrap::hanging(
                lead,
                note,
                theme.highlight,
                report.width as usize,
            ));
        }
        lines.extend(self.finder.report_lines(theme, report.width));
        Paragraph::new(lines).render(report, buf);
        cursor
    }

    fn is_valid(&self) -> bool {
        self.form.is_valid() && self.cross_field_errors().is_empty()
    }

    fn touch_all(&mut self) {
        self.form.touch_all();
        // The fields' own errors come first; the focus is already on the first of those.
        let fields_valid = self.form.is_valid();
        let errors = self.cross_field_errors();
        for (focus, message) in &errors {
            let field = self.form.text_mut(*focus);
            if field.is_valid() {
                field.set_external_error(Some(message.clone()));
            }
        }
        if let Some((focus, _)) = errors.first()
            && fields_valid
        {
            self.form.focus = *focus;
        }
    }

    fn write(&self, connector: &mut Connector) {
        let base = match &connector.auth {
            Auth::ClientCredentials(auth) => auth.clone(),
            _ => ClientCredentialsAuth::default(),
        };
        let env = self.env_var();
        connector.auth = Auth::ClientCredentials(ClientCredentialsAuth {
            display_name: self.form.value(Focus::DisplayName).to_owned(),
            authority_url: non_empty(self.form.value(Focus::Authority)),
            token_endpoint: non_empty(self.form.value(Focus::Token)),
            client_id: self.form.value(Focus::ClientId).to_owned(),
            has_client_secret: self.has_client_secret && env.is_none(),
            client_secret_env: env,
            scopes: self.form.value(Focus::Scopes).to_owned(),
            ..base
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step() -> ClientCredentialsStep {
        ClientCredentialsStep::new(&ClientCredentialsAuth::default())
    }

    fn written(step: &ClientCredentialsStep) -> ClientCredentialsAuth {
        let mut connector = Connector::new("svc", Auth::OpenId(Default::default()));
        step.write(&mut connector);
        match connector.auth {
            Auth::ClientCredentials(a) => a,
            other => panic!("wrote {other:?}"),
        }
    }

    #[test]
    fn the_token_endpoint_comes_from_exactly_one_place() {
        let mut s = step();
        s.form.text_mut(Focus::ClientId).set_value("svc");
        s.form.text_mut(Focus::Secret).set_value("s3cret");
        assert!(!s.is_valid(), "neither an authority nor a token endpoint");
        s.form
            .text_mut(Focus::Authority)
            .set_value("https://ifs.example.com/auth/realms/prod");
        assert!(s.is_valid());
        s.form
            .text_mut(Focus::Token)
            .set_value("https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token");
        assert!(!s.is_valid(), "both");
        s.touch_all();
        assert!(
            s.form
                .text(Focus::Token)
                .error()
                .is_some_and(|e| e.contains("not both"))
        );
    }

    #[test]
    fn the_secret_is_typed_or_named_never_both_and_never_neither() {
        let mut s = step();
        s.form.text_mut(Focus::ClientId).set_value("svc");
        s.form
            .text_mut(Focus::Token)
            .set_value("https://ifs.example.com/auth/realms/prod/protocol/openid-connect/token");
        assert!(!s.is_valid(), "no secret and no variable");
        s.form.text_mut(Focus::SecretEnv).set_value("IFS_SECRET");
        assert!(s.is_valid());
        let auth = written(&s);
        assert_eq!(auth.client_secret_env.as_deref(), Some("IFS_SECRET"));
        assert!(!auth.has_client_secret);
        s.form.text_mut(Focus::Secret).set_value("s3cret");
        assert!(!s.is_valid(), "both a secret and a variable");
    }

    #[test]
    fn naming_a_variable_removes_a_stored_secret() {
        let stored = ClientCredentialsAuth {
            has_client_secret: true,
            client_id: "svc".into(),
            token_endpoint: Some("https://h/auth/realms/r/protocol/openid-connect/token".into()),
            ..ClientCredentialsAuth::default()
        };
        let mut s = ClientCredentialsStep::new(&stored);
        assert!(s.is_valid(), "the stored secret is enough");
        assert!(matches!(s.secret_change(), SecretChange::Keep));
        s.form.text_mut(Focus::SecretEnv).set_value("IFS_SECRET");
        assert!(matches!(s.secret_change(), SecretChange::Remove));
        assert!(!written(&s).has_client_secret);
    }
}
