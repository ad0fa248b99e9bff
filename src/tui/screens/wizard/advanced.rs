//! Step 5: the extra query parameters (with `prompt=select_account`, the common one, a
//! keypress away), the Validate options or PKCE, and the email to prefill.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyEvent, MouseEvent};
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};

use super::form::{self, Form, Row, Shown, StepFlow, StepRequest, WizardStep};
use crate::core::connector::{Auth, AuthKind, Connector};
use crate::core::describe;
use crate::core::ifs::scopes;
use crate::core::validate::{self, Field};
use crate::tui::component::DrawCx;
use crate::tui::keymap::{Action, Scope};
use crate::tui::widgets::kv_list::KvList;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    Heading,
    Params,
    OfferPrompt,
    ValidateEndpoints,
    ValidateIssuerName,
    ValidateTokenIssuerName,
    UsePar,
    Pkce,
    Offline,
    Microprofile,
    Prefill,
    CaFile,
}

const OFFER: &str = "+ prompt=select_account";
const PROMPT: (&str, &str) = ("prompt", "select_account");

const ROWS: [Row<Focus>; 12] = [
    Row::custom(Focus::Heading, 1, false),
    // Its height follows the number of parameters.
    Row::custom(Focus::Params, 1, true),
    Row::button(Focus::OfferPrompt, OFFER),
    Row::toggle(
        Focus::ValidateEndpoints,
        "Validate Endpoints",
        "endpoints must sit under the authority",
    )
    .after_gap(1),
    Row::toggle(
        Focus::ValidateIssuerName,
        "Validate Issuer Name",
        "discovery issuer must equal the authority",
    ),
    Row::toggle(
        Focus::ValidateTokenIssuerName,
        "Validate Token Issuer Name",
        "the ID token's iss must equal it",
    ),
    Row::toggle(
        Focus::UsePar,
        "Use PAR",
        "pushed authorization requests, when offered",
    ),
    Row::toggle(
        Focus::Pkce,
        "PKCE",
        "proof key (S256); keep on unless the client refuses",
    )
    .after_gap(1),
    // Both switch a scope in the previous step's Scopes, which stays the one truth.
    Row::toggle(
        Focus::Offline,
        "Stay signed in",
        "offline access: no 30-minute idle end",
    )
    .after_gap(1),
    Row::toggle(
        Focus::Microprofile,
        "IFS user name in tokens",
        "microprofile-jwt: adds upn and groups",
    ),
    Row::text(
        Focus::Prefill,
        Field::PrefillUserEmail,
        "Sent as login_hint so the IFS login starts with it",
    )
    .check(form::optional_email)
    .placeholder("optional: name@example.com")
    .after_gap(1),
    Row::text(
        Focus::CaFile,
        Field::CaFile,
        "A private CA's PEM bundle, trusted for this connector",
    )
    .check(optional_ca_file)
    .placeholder("optional: /path/to/corporate-ca.pem"),
];

fn optional_ca_file(value: &str) -> Result<String, String> {
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        validate::ca_file(value)
    }
}

/// The scope each scope option switches.
fn scope_of(focus: Focus) -> Option<&'static str> {
    match focus {
        Focus::Offline => Some(scopes::OFFLINE_ACCESS),
        Focus::Microprofile => Some(scopes::MICROPROFILE_JWT),
        _ => None,
    }
}

/// The options each auth type has; the others are hidden.
fn options(kind: AuthKind) -> &'static [Focus] {
    match kind {
        AuthKind::OpenId => &[
            Focus::ValidateEndpoints,
            Focus::ValidateIssuerName,
            Focus::ValidateTokenIssuerName,
            Focus::UsePar,
        ],
        AuthKind::OAuth2 => &[Focus::Pkce],
        AuthKind::ClientCredentials => &[
            Focus::ValidateEndpoints,
            Focus::ValidateIssuerName,
            Focus::ValidateTokenIssuerName,
        ],
    }
}

/// A service user opens no browser: nothing to prefill, no login page to prompt on.
fn has_browser_options(kind: AuthKind) -> bool {
    kind.is_interactive()
}

const ALL_OPTIONS: [Focus; 5] = [
    Focus::ValidateEndpoints,
    Focus::ValidateIssuerName,
    Focus::ValidateTokenIssuerName,
    Focus::UsePar,
    Focus::Pkce,
];

#[derive(Debug)]
pub struct AdvancedStep {
    pub params: KvList,
    pub form: Form<Focus>,
    kind: AuthKind,
}

impl AdvancedStep {
    /// Loads both auth types' options, so switching type and back keeps what was set.
    pub fn new(connector: &Connector) -> Self {
        let auth = &connector.auth;
        let mut form = Form::new(&ROWS);
        let openid = describe::as_openid(auth);
        form.set_on(Focus::ValidateEndpoints, openid.validate_endpoints);
        form.set_on(Focus::ValidateIssuerName, openid.validate_issuer_name);
        form.set_on(
            Focus::ValidateTokenIssuerName,
            openid.validate_token_issuer_name,
        );
        form.set_on(Focus::UsePar, openid.use_par);
        form.set_on(Focus::Pkce, describe::as_oauth2(auth).pkce);
        form.text_mut(Focus::Prefill)
            .set_value(auth.prefill_user_email().unwrap_or_default());
        form.text_mut(Focus::CaFile)
            .set_value(connector.ca_file.as_deref().unwrap_or_default());
        let mut step = Self {
            params: KvList::from_params(auth.extra_params()),
            form,
            kind: connector.auth_kind(),
        };
        step.form.focus = Focus::Params;
        step.sync_rows();
        step
    }

    pub fn set_kind(&mut self, kind: AuthKind) {
        self.kind = kind;
        self.sync_rows();
    }

    /// Rows that depend on other state: the list's height, the offer, the type's options.
    fn sync_rows(&mut self) {
        self.form.set_height(Focus::Params, self.params.height());
        let browser = has_browser_options(self.kind);
        let offer = match (browser, self.offers_prompt()) {
            (false, _) => Shown::No,
            (true, true) => Shown::Yes,
            (true, false) => Shown::Blank,
        };
        self.form.set_shown(Focus::OfferPrompt, offer);
        self.form
            .set_shown(Focus::Prefill, if browser { Shown::Yes } else { Shown::No });
        let own = options(self.kind);
        for option in ALL_OPTIONS {
            let shown = if own.contains(&option) {
                Shown::Yes
            } else {
                Shown::No
            };
            self.form.set_shown(option, shown);
        }
        self.form.settle_focus(if browser {
            Focus::Prefill
        } else {
            Focus::Params
        });
    }

    /// The CA file as it will be saved, or `None` when empty or not usable.
    pub fn ca_file(&self) -> Option<String> {
        self.form
            .text(Focus::CaFile)
            .normalized()
            .filter(|path| !path.is_empty())
    }

    /// The scope options show what the Scopes hold (`None`: the type has no such options).
    pub fn show_scopes(&mut self, scopes: Option<&str>) {
        let has = |scope: &str| scopes.is_some_and(|s| s.split_whitespace().any(|x| x == scope));
        for focus in [Focus::Offline, Focus::Microprofile] {
            let shown = if scopes.is_some() {
                Shown::Yes
            } else {
                Shown::No
            };
            self.form.set_shown(focus, shown);
            self.form.set_on(focus, scope_of(focus).is_some_and(has));
        }
        self.form.settle_focus(Focus::Params);
    }

    /// Space or Enter on a scope option asks the wizard to switch that scope.
    fn scope_request(&self, action: Option<Action>) -> Option<StepFlow> {
        let scope = scope_of(self.form.focus)?;
        matches!(action, Some(Action::Toggle)).then(|| {
            StepFlow::Request(StepRequest::SetScope {
                scope,
                on: !self.form.is_on(self.form.focus),
            })
        })
    }

    /// The email, or `None` when left empty.
    pub fn prefill_email(&self) -> Option<String> {
        let value = self.form.value(Focus::Prefill).trim();
        (!value.is_empty()).then(|| value.to_owned())
    }

    fn offers_prompt(&self) -> bool {
        !self.params.has_key(PROMPT.0)
    }

    fn add_prompt(&mut self) {
        self.params.add(PROMPT.0, PROMPT.1);
        self.form.focus = Focus::Params;
    }

    fn handle_params(&mut self, action: Option<Action>) -> Option<StepFlow> {
        match action {
            Some(Action::AddRow) => {
                self.params.add("", "");
                self.form.focus = Focus::Params;
            }
            Some(Action::RemoveRow) if self.form.focus == Focus::Params => {
                self.params.remove_focused();
            }
            Some(Action::NextField | Action::Submit)
                if self.form.focus == Focus::Params && self.params.next() => {}
            Some(Action::PrevField) if self.form.focus == Focus::Params && self.params.prev() => {}
            Some(Action::Submit | Action::Toggle) if self.form.focus == Focus::OfferPrompt => {
                self.add_prompt();
            }
            _ => return None,
        }
        Some(StepFlow::Handled)
    }

    /// Tabbing into the list lands on its first cell, Shift-Tabbing on its last.
    fn enter_params_from(&mut self, before: Focus, action: Option<Action>) {
        if before != self.form.focus && self.form.focus == Focus::Params {
            self.params.enter(action != Some(Action::PrevField));
        }
    }

    fn heading_line(cx: &DrawCx<'_>) -> Line<'static> {
        let key = |action| cx.keymap.key_for(Scope::Wizard, action);
        Line::from(vec![
            Span::styled("  Extra query parameters", cx.theme.label),
            Span::styled(
                format!(
                    "   {} adds a row · {} removes the focused one",
                    key(Action::AddRow),
                    key(Action::RemoveRow)
                ),
                cx.theme.muted,
            ),
        ])
    }
}

impl WizardStep for AdvancedStep {
    fn label(&self) -> &'static str {
        "Advanced"
    }

    fn heading(&self) -> (&'static str, &'static str) {
        (
            "Advanced options",
            "Extra query parameters, validation, session, login hint and CA file.",
        )
    }

    fn handle_key(&mut self, key: &KeyEvent, action: Option<Action>) -> StepFlow {
        if let Some(flow) = self.scope_request(action) {
            return flow;
        }
        let consumed = match self.form.focus {
            Focus::Params => self.params.handle_key(key),
            _ => self.form.handle_key(key),
        };
        let flow = if consumed || self.form.toggle_focused(action) {
            StepFlow::Handled
        } else if let Some(flow) = self.handle_params(action) {
            flow
        } else {
            let before = self.form.focus;
            let flow = self.form.navigate(action);
            self.enter_params_from(before, action);
            flow
        };
        self.sync_rows();
        flow
    }

    fn paste(&mut self, text: &str) {
        match self.form.focus {
            Focus::Params => self.params.paste(text),
            _ => self.form.paste(text),
        }
        self.sync_rows();
    }

    fn click(&mut self, area: Rect, mouse: &MouseEvent) -> StepFlow {
        if !form::is_left_click(mouse) {
            return StepFlow::Ignored;
        }
        let list = self.form.rect(area, Focus::Params);
        if form::hit(list, mouse.column, mouse.row) {
            if self.params.click(list, mouse.column, mouse.row) {
                self.form.focus = Focus::Params;
            }
        } else {
            match self.form.click(area, mouse) {
                Some(Focus::OfferPrompt) => self.add_prompt(),
                // The click flipped it; the wizard makes the Scopes say so.
                Some(focus @ (Focus::Offline | Focus::Microprofile)) => {
                    if let Some(scope) = scope_of(focus) {
                        let on = self.form.is_on(focus);
                        return StepFlow::Request(StepRequest::SetScope { scope, on });
                    }
                }
                _ => {}
            }
        }
        self.sync_rows();
        StepFlow::Handled
    }

    fn draw(&self, area: Rect, buf: &mut Buffer, cx: &DrawCx<'_>) -> Option<Position> {
        let theme = cx.theme;
        let heading = self.form.rect(area, Focus::Heading);
        buf.set_line(heading.x, heading.y, &Self::heading_line(cx), heading.width);
        let list = self.form.rect(area, Focus::Params);
        let focused = self.form.focus == Focus::Params;
        let mut cursor = self.params.render(list, buf, focused, theme);
        // Shown only while the offer's row is: a service user has no login page to prompt on.
        if self.form.is_shown(Focus::OfferPrompt) {
            let offer = self.form.button_rect(area, Focus::OfferPrompt);
            let x = offer.right() + 1;
            buf.set_stringn(
                x,
                offer.y,
                "makes the user pick an account",
                area.right().saturating_sub(x) as usize,
                theme.muted,
            );
        }
        cursor = self.form.draw(area, buf, theme, |_| None).or(cursor);
        cursor
    }

    fn is_valid(&self) -> bool {
        self.params.error().is_none() && self.form.is_valid()
    }

    fn touch_all(&mut self) {
        self.form.touch_all();
        if self.params.error().is_some() {
            self.form.focus = Focus::Params;
        }
    }

    fn write(&self, connector: &mut Connector) {
        let on = |focus| self.form.is_on(focus);
        let prefill = self.prefill_email();
        let ca_file = self.form.value(Focus::CaFile).trim();
        connector.ca_file = (!ca_file.is_empty()).then(|| ca_file.to_owned());
        match &mut connector.auth {
            Auth::OpenId(a) => {
                a.extra_params = self.params.params();
                a.validate_endpoints = on(Focus::ValidateEndpoints);
                a.validate_issuer_name = on(Focus::ValidateIssuerName);
                a.validate_token_issuer_name = on(Focus::ValidateTokenIssuerName);
                a.use_par = on(Focus::UsePar);
                a.prefill_user_email = prefill;
            }
            Auth::OAuth2(a) => {
                a.extra_params = self.params.params();
                a.pkce = on(Focus::Pkce);
                a.prefill_user_email = prefill;
            }
            Auth::ClientCredentials(a) => {
                a.extra_params = self.params.params();
                a.validate_endpoints = on(Focus::ValidateEndpoints);
                a.validate_issuer_name = on(Focus::ValidateIssuerName);
                a.validate_token_issuer_name = on(Focus::ValidateTokenIssuerName);
            }
        }
    }
}
