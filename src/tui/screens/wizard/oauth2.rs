//! Step 4 for OAuth2 Authorization Code Flow: the two endpoints (typed, or filled from a
//! discovery URL), the client, and its secret, which is masked until Ctrl-R shows it and
//! goes to the OS keyring, never to the config file.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use secrecy::SecretString;

use super::form::{self, Form, Label, Row, Shown, StepFlow, StepRequest, WizardStep};
use crate::core::connector::{Auth, Connector, OAuth2Auth};
use crate::core::login::LoginError;
use crate::core::login::discovery::ProviderMetadata;
use crate::core::validate::{self, Field};
use crate::core::workspace::SecretChange;
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::widgets::{spinner, wrap};

#[derive(Debug, Clone, PartialEq)]
pub enum FillState {
    Idle,
    Running { generation: u64 },
    Filled,
    Failed(LoginError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    DisplayName,
    Discovery,
    Fill,
    Authorize,
    Token,
    ClientId,
    Secret,
    Scopes,
    Issuer,
    Forget,
}

const ROWS: [Row<Focus>; 10] = [
    Row::text(
        Focus::DisplayName,
        Field::DisplayName,
        "Shown to people choosing a connector; optional",
    ),
    Row::input(Focus::Discovery, Label::Plain("Discovery URL"), "")
        .check(form::optional_url)
        .placeholder("optional: the realm URL or its discovery URL"),
    Row::button(Focus::Fill, "Fill endpoints"),
    Row::text(
        Focus::Authorize,
        Field::AuthorizationEndpoint,
        "…/protocol/openid-connect/auth on IFS IAM",
    )
    .check(validate::endpoint_url),
    Row::text(
        Focus::Token,
        Field::TokenEndpoint,
        "…/protocol/openid-connect/token on IFS IAM",
    )
    .check(validate::endpoint_url),
    Row::text(
        Focus::ClientId,
        Field::ClientId,
        "The IAM client's ID (case-sensitive)",
    )
    .check(validate::client_id),
    Row::text(Focus::Secret, Field::ClientSecret, "").masked(),
    Row::text(Focus::Scopes, Field::Scopes, "Keep the default openid").check(form::oauth2_scopes),
    Row::custom(Focus::Issuer, 1, false),
    Row::toggle(
        Focus::Forget,
        "Remove the stored client secret",
        "for a public client",
    ),
];

#[derive(Debug)]
pub struct OAuth2Step {
    pub form: Form<Focus>,
    /// From the discovery document, so the login can check the ID token's signature.
    pub issuer: Option<String>,
    pub fill: FillState,
    /// Whether the keyring holds a secret now; only then can it be removed (Forget).
    has_client_secret: bool,
}

impl OAuth2Step {
    pub fn new(auth: &OAuth2Auth) -> Self {
        let mut form = Form::new(&ROWS);
        form.text_mut(Focus::DisplayName)
            .set_value(&auth.display_name);
        form.text_mut(Focus::Authorize)
            .set_value(&auth.authorization_endpoint);
        form.text_mut(Focus::Token).set_value(&auth.token_endpoint);
        form.text_mut(Focus::ClientId).set_value(&auth.client_id);
        form.text_mut(Focus::Scopes).set_value(&auth.scopes);
        form.text_mut(Focus::Secret)
            .set_placeholder(if auth.has_client_secret {
                "stored in the OS keyring; type to replace it"
            } else {
                "optional: only for a confidential client"
            });
        // Only offered when a secret is stored: turning a confidential client public.
        if !auth.has_client_secret {
            form.set_shown(Focus::Forget, Shown::No);
        }
        Self {
            form,
            issuer: auth.issuer.clone(),
            fill: FillState::Idle,
            has_client_secret: auth.has_client_secret,
        }
    }

    /// What saving should do with the keyring's client secret.
    pub fn secret_change(&self) -> SecretChange {
        let typed = self.form.value(Focus::Secret);
        if !typed.is_empty() {
            SecretChange::Set(SecretString::from(typed.to_owned()))
        } else if self.form.is_shown(Focus::Forget) && self.form.is_on(Focus::Forget) {
            SecretChange::Remove
        } else {
            SecretChange::Keep
        }
    }

    pub fn is_filling(&self) -> bool {
        matches!(self.fill, FillState::Running { .. })
    }

    /// The discovery URL to fetch, if one was given and is valid: any URL of a realm
    /// (the realm URL itself, an endpoint, the account console) means its discovery
    /// document, as the OpenId step's Authority URL does.
    pub fn discovery_url(&self) -> Option<String> {
        let field = self.form.text(Focus::Discovery);
        field
            .normalized()
            .filter(|u| !u.is_empty())
            .map(|_| crate::core::ifs::realm::discovery_url_for(field.value()))
    }

    fn request_fill(&mut self) -> StepFlow {
        self.form.text_mut(Focus::Discovery).touch();
        if self.discovery_url().is_none() {
            self.form.focus = Focus::Discovery;
            let field = self.form.text_mut(Focus::Discovery);
            if field.is_valid() {
                field.set_external_error(Some(
                    "enter the discovery URL to fill the endpoints from".into(),
                ));
            }
            return StepFlow::Handled;
        }
        if self.is_filling() {
            return StepFlow::Handled;
        }
        StepFlow::Request(StepRequest::FillEndpoints)
    }

    pub fn fill_started(&mut self, generation: u64) {
        self.fill = FillState::Running { generation };
    }

    pub fn fill_finished(&mut self, generation: u64, result: Result<ProviderMetadata, LoginError>) {
        if self.fill != (FillState::Running { generation }) {
            return;
        }
        self.fill = match result {
            Ok(metadata) => {
                for (focus, url) in [
                    (Focus::Authorize, metadata.authorization_endpoint),
                    (Focus::Token, metadata.token_endpoint),
                ] {
                    let field = self.form.text_mut(focus);
                    if let Some(url) = url {
                        field.set_value(url);
                    }
                    field.touch();
                }
                self.issuer = metadata.issuer;
                FillState::Filled
            }
            Err(error) => FillState::Failed(error),
        };
    }

    pub fn fill_failed(&mut self) {
        if self.is_filling() {
            self.fill = FillState::Idle;
        }
    }

    /// Help lines that name keys, asked from the keymap.
    fn help(&self, focus: Focus, keys: &Keymap) -> Option<String> {
        match focus {
            Focus::Discovery => Some(format!(
                "Optional: {} or {} fills the two endpoints below",
                keys.key_for(Scope::Wizard, Action::Submit),
                keys.key_for(Scope::Wizard, Action::FillEndpoints)
            )),
            Focus::Secret => Some(form::secret_help(self.form.text(Focus::Secret), keys)),
            _ => None,
        }
    }

    fn fill_note(&self, cx: &DrawCx<'_>) -> Line<'static> {
        let theme = cx.theme;
        match &self.fill {
            FillState::Idle => Line::styled(
                format!(
                    "{} · fills both endpoints from the discovery URL",
                    cx.keymap.key_for(Scope::Wizard, Action::FillEndpoints)
                ),
                theme.muted,
            ),
            FillState::Running { .. } => Line::styled(
                format!("{} fetching discovery…", spinner::frame(cx.tick)),
                theme.highlight,
            ),
            FillState::Filled => Line::styled("✓ filled from discovery", theme.ok),
            FillState::Failed(error) => Line::styled(format!("✗ {}", error.message), theme.error),
        }
    }
}

impl WizardStep for OAuth2Step {
    fn label(&self) -> &'static str {
        "OAuth2"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "OAuth2 Authorization Code Flow",
            "The endpoints and the IAM client's credentials.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if self.form.handle_key(key) || self.form.toggle_focused(action) {
            return StepFlow::Handled;
        }
        match action {
            Some(Action::Reveal) => {
                self.form.text_mut(Focus::Secret).toggle_reveal();
                StepFlow::Handled
            }
            Some(Action::FillEndpoints) => self.request_fill(),
            Some(Action::Submit | Action::Toggle) if self.form.focus == Focus::Fill => {
                self.request_fill()
            }
            // A discovery URL typed and Enter pressed: the user wants it used.
            Some(Action::Submit)
                if self.form.focus == Focus::Discovery && self.discovery_url().is_some() =>
            {
                self.form.focus = Focus::Fill;
                self.request_fill()
            }
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
            Some(Focus::Fill) => self.request_fill(),
            _ => StepFlow::Handled,
        }
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let theme = cx.theme;
        let cursor = self
            .form
            .draw(area, buf, theme, |focus| self.help(focus, cx.keymap));
        let button = self.form.button_rect(area, Focus::Fill);
        let note_x = button.right() + 1;
        let room = area.right().saturating_sub(note_x);
        let note = self.fill_note(cx);
        let style = note.style;
        let text = wrap::ellipsize(&note.to_string(), room as usize);
        buf.set_line(note_x, button.y, &Line::styled(text, style), room);
        if let Some(issuer) = &self.issuer {
            let line = Line::styled(format!("  Issuer (from discovery): {issuer}"), theme.muted);
            let row = self.form.rect(area, Focus::Issuer);
            buf.set_line(row.x, row.y, &line, row.width);
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
            Auth::OAuth2(auth) => auth.clone(),
            _ => OAuth2Auth::default(),
        };
        connector.auth = Auth::OAuth2(OAuth2Auth {
            display_name: self.form.value(Focus::DisplayName).to_owned(),
            authorization_endpoint: self.form.value(Focus::Authorize).to_owned(),
            token_endpoint: self.form.value(Focus::Token).to_owned(),
            client_id: self.form.value(Focus::ClientId).to_owned(),
            has_client_secret: self.has_client_secret,
            scopes: self.form.value(Focus::Scopes).to_owned(),
            issuer: self.issuer.clone(),
            ..base
        });
    }
}
