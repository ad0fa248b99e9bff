//! Step 4 for OAuth2 Authorization Code Flow: the two endpoints (typed, or filled from a
//! discovery URL), the client, and its secret, which is masked until Ctrl-R shows it and
//! goes to the OS keyring, never to the config file.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseButton, MouseEvent, MouseEventKind};
use ratatui::layout::{Position, Rect};
use ratatui::text::Line;
use secrecy::SecretString;

use super::form::{self, StepFlow, StepRequest};
use crate::core::connector::OAuth2Auth;
use crate::core::login::LoginError;
use crate::core::login::discovery::ProviderMetadata;
use crate::core::validate;
use crate::core::workspace::SecretChange;
use crate::tui::keymap::Action;
use crate::tui::theme::Theme;
use crate::tui::widgets::text_field::TextField;
use crate::tui::widgets::toggle::Toggle;
use crate::tui::widgets::{button, spinner};

#[derive(Debug, Clone, PartialEq)]
pub enum FillState {
    Idle,
    Running { generation: u64 },
    Filled,
    Failed(LoginError),
}

#[derive(Debug)]
pub struct OAuth2Step {
    pub display_name: TextField,
    pub discovery_url: TextField,
    pub authorization_endpoint: TextField,
    pub token_endpoint: TextField,
    pub client_id: TextField,
    pub client_secret: TextField,
    pub scopes: TextField,
    /// From the discovery document, so the login can check the ID token's signature.
    pub issuer: Option<String>,
    pub fill: FillState,
    /// Only offered when a secret is stored: turning a confidential client public.
    pub forget_secret: Option<Toggle>,
    focus: usize,
}

const DISPLAY: usize = 0;
const DISCOVERY: usize = 1;
const FILL: usize = 2;
const AUTHORIZE: usize = 3;
const TOKEN: usize = 4;
const CLIENT: usize = 5;
const SECRET: usize = 6;
const SCOPES: usize = 7;
const FORGET: usize = 8;

/// Rows from the top of the step for each text field, in slot order (no row for Fill).
const FIELD_TOPS: [(usize, u16); 7] = [
    (DISPLAY, 0),
    (DISCOVERY, 2),
    (AUTHORIZE, 5),
    (TOKEN, 7),
    (CLIENT, 9),
    (SECRET, 11),
    (SCOPES, 13),
];
const FILL_TOP: u16 = 4;
const ISSUER_TOP: u16 = 15;
const FORGET_TOP: u16 = 16;

impl OAuth2Step {
    pub fn new(auth: &OAuth2Auth) -> Self {
        let secret_placeholder = if auth.has_client_secret {
            "stored in the OS keyring; type to replace it"
        } else {
            "optional: only for a confidential client"
        };
        Self {
            display_name: TextField::new(&auth.display_name),
            discovery_url: TextField::default()
                .with_validator(form::optional_url)
                .with_placeholder("optional: https://…/.well-known/openid-configuration"),
            authorization_endpoint: TextField::new(&auth.authorization_endpoint)
                .with_validator(validate::endpoint_url),
            token_endpoint: TextField::new(&auth.token_endpoint)
                .with_validator(validate::endpoint_url),
            client_id: TextField::new(&auth.client_id).with_validator(validate::client_id),
            client_secret: TextField::default()
                .masked()
                .with_placeholder(secret_placeholder),
            scopes: TextField::new(&auth.scopes).with_validator(form::oauth2_scopes),
            issuer: auth.issuer.clone(),
            fill: FillState::Idle,
            forget_secret: auth.has_client_secret.then(|| {
                Toggle::new(
                    "Remove the stored client secret",
                    "for a public client",
                    false,
                )
            }),
            focus: DISPLAY,
        }
    }

    fn slots(&self) -> usize {
        if self.forget_secret.is_some() { 9 } else { 8 }
    }

    fn field(&self, slot: usize) -> Option<&TextField> {
        Some(match slot {
            DISPLAY => &self.display_name,
            DISCOVERY => &self.discovery_url,
            AUTHORIZE => &self.authorization_endpoint,
            TOKEN => &self.token_endpoint,
            CLIENT => &self.client_id,
            SECRET => &self.client_secret,
            SCOPES => &self.scopes,
            _ => return None,
        })
    }

    fn field_mut(&mut self, slot: usize) -> Option<&mut TextField> {
        Some(match slot {
            DISPLAY => &mut self.display_name,
            DISCOVERY => &mut self.discovery_url,
            AUTHORIZE => &mut self.authorization_endpoint,
            TOKEN => &mut self.token_endpoint,
            CLIENT => &mut self.client_id,
            SECRET => &mut self.client_secret,
            SCOPES => &mut self.scopes,
            _ => return None,
        })
    }

    pub fn is_valid(&self) -> bool {
        FIELD_TOPS
            .iter()
            .all(|(slot, _)| self.field(*slot).is_some_and(TextField::is_valid))
    }

    pub fn touch_all(&mut self) {
        for (slot, _) in FIELD_TOPS {
            self.field_mut(slot).into_iter().for_each(TextField::touch);
        }
        if let Some((slot, _)) = FIELD_TOPS
            .iter()
            .find(|(slot, _)| !self.field(*slot).is_some_and(TextField::is_valid))
        {
            self.focus = *slot;
        }
    }

    /// What saving should do with the keyring's client secret.
    pub fn secret_change(&self) -> SecretChange {
        let typed = self.client_secret.value();
        if !typed.is_empty() {
            SecretChange::Set(SecretString::from(typed.to_owned()))
        } else if self.forget_secret.is_some_and(|t| t.on) {
            SecretChange::Remove
        } else {
            SecretChange::Keep
        }
    }

    pub fn is_filling(&self) -> bool {
        matches!(self.fill, FillState::Running { .. })
    }

    /// The discovery URL to fetch, if one was given and is valid.
    pub fn discovery_url(&self) -> Option<String> {
        self.discovery_url
            .normalized()
            .filter(|u| !u.is_empty())
            .map(|_| self.discovery_url.value().trim().to_owned())
    }

    fn request_fill(&mut self) -> StepFlow {
        self.discovery_url.touch();
        if self.discovery_url().is_none() {
            self.focus = DISCOVERY;
            if self.discovery_url.is_valid() {
                self.discovery_url.set_external_error(Some(
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
                if let Some(url) = metadata.authorization_endpoint {
                    self.authorization_endpoint.set_value(url);
                }
                if let Some(url) = metadata.token_endpoint {
                    self.token_endpoint.set_value(url);
                }
                self.issuer = metadata.issuer;
                self.authorization_endpoint.touch();
                self.token_endpoint.touch();
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

    pub fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if let Some(field) = self.field_mut(self.focus)
            && field.handle_key(key)
        {
            return StepFlow::Handled;
        }
        match action {
            Some(Action::Reveal) => {
                self.client_secret.toggle_reveal();
                StepFlow::Handled
            }
            Some(Action::FillEndpoints) => self.request_fill(),
            Some(Action::Submit | Action::Toggle) if self.focus == FILL => self.request_fill(),
            Some(Action::Toggle) if self.focus == FORGET => {
                self.forget_secret.iter_mut().for_each(Toggle::flip);
                StepFlow::Handled
            }
            // A discovery URL typed and Enter pressed: the user wants it used.
            Some(Action::Submit) if self.focus == DISCOVERY && self.discovery_url().is_some() => {
                self.focus = FILL;
                self.request_fill()
            }
            _ => {
                let slots = self.slots();
                form::navigate(&mut self.focus, slots, action)
            }
        }
    }

    pub fn paste(&mut self, text: &str) {
        if let Some(field) = self.field_mut(self.focus) {
            field.paste(text);
        }
    }

    fn fill_button_rect(area: Rect) -> Rect {
        Rect::new(
            area.x + 2,
            area.y + FILL_TOP,
            button::width("Fill endpoints"),
            1,
        )
    }

    pub fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if mouse.kind != MouseEventKind::Down(MouseButton::Left) {
            return StepFlow::Ignored;
        }
        let (x, y) = (mouse.column, mouse.row);
        if form::hit(Self::fill_button_rect(area), x, y) {
            self.focus = FILL;
            return self.request_fill();
        }
        if self.forget_secret.is_some() && y == area.y + FORGET_TOP {
            self.focus = FORGET;
            self.forget_secret.iter_mut().for_each(Toggle::flip);
            return StepFlow::Handled;
        }
        if let Some((slot, _)) = FIELD_TOPS
            .iter()
            .find(|(_, top)| form::hit(form::row_rect(area, *top), x, y))
        {
            self.focus = *slot;
        }
        StepFlow::Handled
    }

    pub fn draw(&self, area: Rect, buf: &mut Buffer, tick: u64, theme: &Theme) -> Option<Position> {
        let mut cursor = None;
        for (slot, top) in FIELD_TOPS {
            let (label, help) = labels(slot, self.client_secret.is_masked());
            let field = self.field(slot).expect("every listed slot is a field");
            cursor = cursor.or(form::draw_field(
                buf,
                form::row_rect(area, top),
                label,
                field,
                help,
                self.focus == slot,
                theme,
            ));
        }
        let button_rect = Self::fill_button_rect(area);
        button::render(
            "Fill endpoints",
            button_rect,
            buf,
            self.focus == FILL,
            theme,
        );
        let note = match &self.fill {
            FillState::Idle => Line::styled(
                "Ctrl-F · fills both endpoints from the discovery URL",
                theme.muted,
            ),
            FillState::Running { .. } => Line::styled(
                format!("{} fetching discovery…", spinner::frame(tick)),
                theme.highlight,
            ),
            FillState::Filled => Line::styled("✓ filled from discovery", theme.ok),
            FillState::Failed(error) => Line::styled(format!("✗ {}", error.message), theme.error),
        };
        let note_x = button_rect.right() + 1;
        buf.set_line(
            note_x,
            button_rect.y,
            &note,
            area.right().saturating_sub(note_x),
        );
        if let Some(issuer) = &self.issuer {
            let line = Line::styled(format!("  Issuer (from discovery): {issuer}"), theme.muted);
            buf.set_line(area.x, area.y + ISSUER_TOP, &line, area.width);
        }
        if let Some(toggle) = &self.forget_secret {
            toggle.render(
                Rect {
                    y: area.y + FORGET_TOP,
                    height: 1,
                    ..area
                },
                buf,
                self.focus == FORGET,
                theme,
            );
        }
        cursor
    }
}

fn labels(slot: usize, masked: bool) -> (&'static str, &'static str) {
    match slot {
        DISPLAY => (
            "Display name",
            "Shown to people choosing a connector; optional",
        ),
        DISCOVERY => (
            "Discovery URL",
            "Optional: Enter or Ctrl-F fills the two endpoints below",
        ),
        AUTHORIZE => (
            "Authorization Endpoint",
            "…/protocol/openid-connect/auth on IFS IAM",
        ),
        TOKEN => (
            "Token Endpoint",
            "…/protocol/openid-connect/token on IFS IAM",
        ),
        CLIENT => ("Client ID", "The IAM client's ID (case-sensitive)"),
        SECRET if masked => (
            "Client Secret",
            "Hidden; Ctrl-R shows it. Kept in the OS keyring",
        ),
        SECRET => (
            "Client Secret",
            "Shown; Ctrl-R hides it. Kept in the OS keyring",
        ),
        _ => ("Scopes", "Keep the default openid"),
    }
}
