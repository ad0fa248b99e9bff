//! The wizard for a new connector and for editing one: six steps under a step bar, the
//! same six pages as the "Configure REST Connector for IFS Cloud" form.
//!
//! Each step is its own file and keeps its own fields; this file owns what crosses
//! steps: moving between them (never forward past errors), building the connector from
//! all of them, and turning step requests into commands.

mod advanced;
mod auth_type;
mod base_url;
mod form;
mod identity;
mod oauth2;
mod openid;
mod review;

use ratatui::Frame;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;

use crate::core::connector::{Auth, AuthKind, Connector, OAuth2Auth, OpenIdAuth};
use crate::core::login::LoginError;
use crate::core::login::discovery::{DiscoveryCheck, ProviderMetadata};
use crate::core::validate;
use crate::core::workspace::SecretChange;
use crate::tui::command::{Command, Commands};
use crate::tui::component::{Component, Draw, DrawCx, EventCx, Input};
use crate::tui::keymap::{Action, Scope};
use crate::tui::widgets::step_bar::{self, StepLabel, StepMark};

use advanced::{AdvancedStep, OpenIdOptions};
use auth_type::AuthTypeStep;
use base_url::BaseUrlStep;
use form::{StepFlow, StepRequest};
use identity::IdentityStep;
use oauth2::OAuth2Step;
use openid::OpenIdStep;
use review::{ReviewData, ReviewStep};

const STEPS: usize = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    New,
    Edit,
}

#[derive(Debug)]
pub struct Wizard {
    mode: Mode,
    /// The connector being edited (or the template of a new one): the id, the last test
    /// and anything the steps do not show come from here.
    original: Connector,
    /// What the steps built when the wizard opened: "changed" means "differs from this".
    initial: Connector,
    step: usize,
    /// The furthest step reached, for the step bar's marks.
    reached: usize,
    identity: IdentityStep,
    base: BaseUrlStep,
    auth_type: AuthTypeStep,
    openid: OpenIdStep,
    oauth2: OAuth2Step,
    advanced: AdvancedStep,
    review: ReviewStep,
    saving: bool,
    /// Numbers discovery requests, so a late answer to an old one is ignored.
    generation: u64,
}

impl Wizard {
    /// A new connector with the seed page's defaults.
    pub fn new(groups: &[String], taken: Vec<String>) -> Self {
        let mut template = Connector::new("", Auth::OpenId(OpenIdAuth::default()));
        if let Some(first) = groups.first() {
            template.agent_group = first.clone();
        }
        Self::build(Mode::New, template, groups, taken)
    }

    /// Edit `connector`; every step can be reached directly.
    pub fn edit(connector: Connector, groups: &[String], taken: Vec<String>) -> Self {
        let others = taken.into_iter().filter(|n| *n != connector.name).collect();
        Self::build(Mode::Edit, connector, groups, others)
    }

    fn build(mode: Mode, connector: Connector, groups: &[String], taken: Vec<String>) -> Self {
        let (openid_auth, oauth2_auth) = match &connector.auth {
            Auth::OpenId(a) => (
                a.clone(),
                OAuth2Auth {
                    extra_params: a.extra_params.clone(),
                    ..OAuth2Auth::default()
                },
            ),
            Auth::OAuth2(a) => (
                OpenIdAuth {
                    extra_params: a.extra_params.clone(),
                    ..OpenIdAuth::default()
                },
                a.clone(),
            ),
            // Kept whole in `original` until the service user's own step exists.
            Auth::ClientCredentials(_) => (OpenIdAuth::default(), OAuth2Auth::default()),
        };
        let kind = connector.auth_kind();
        let options = OpenIdOptions {
            validate_endpoints: openid_auth.validate_endpoints,
            validate_issuer_name: openid_auth.validate_issuer_name,
            validate_token_issuer_name: openid_auth.validate_token_issuer_name,
            use_par: openid_auth.use_par,
        };
        let advanced = AdvancedStep::new(
            kind,
            connector.auth.extra_params(),
            options,
            oauth2_auth.pkce,
            connector.auth.prefill_user_email(),
        );
        let mut wizard = Self {
            mode,
            initial: connector.clone(),
            identity: IdentityStep::new(&connector.name, &connector.agent_group, groups, taken),
            base: BaseUrlStep::new(
                &connector.base_url,
                &connector.redirect_uri,
                &connector.probe_path,
            ),
            auth_type: AuthTypeStep::new(kind),
            openid: OpenIdStep::new(&openid_auth),
            oauth2: OAuth2Step::new(&oauth2_auth),
            advanced,
            review: ReviewStep::default(),
            original: connector,
            step: 1,
            reached: if mode == Mode::Edit { STEPS } else { 1 },
            saving: false,
            generation: 0,
        };
        wizard.initial = wizard.connector();
        wizard
    }

    pub fn title(&self) -> String {
        match self.mode {
            Mode::New => "New connector".into(),
            Mode::Edit => format!("Edit '{}'", self.original.name),
        }
    }

    pub fn kind(&self) -> AuthKind {
        self.auth_type.selected()
    }

    /// The connector as typed (not yet normalised: saving does that).
    pub fn connector(&self) -> Connector {
        let mut c = self.original.clone();
        c.name = self.identity.name.value().to_owned();
        c.agent_group = self.identity.group();
        c.base_url = self.base.base_url.value().to_owned();
        c.redirect_uri = self.base.redirect_uri.value().to_owned();
        c.probe_path = self.base.probe_path.value().to_owned();
        c.auth = match self.kind() {
            AuthKind::OpenId => Auth::OpenId(self.openid_auth()),
            AuthKind::OAuth2 => Auth::OAuth2(self.oauth2_auth()),
            AuthKind::ClientCredentials => self.original.auth.clone(),
        };
        c
    }

    fn openid_auth(&self) -> OpenIdAuth {
        let options = self.advanced.openid_options();
        OpenIdAuth {
            display_name: self.openid.display_name.value().to_owned(),
            authority_url: self.openid.authority.value().to_owned(),
            client_id: self.openid.client_id.value().to_owned(),
            scopes: self.openid.scopes.value().to_owned(),
            extra_params: self.advanced.params.params(),
            validate_endpoints: options.validate_endpoints,
            validate_issuer_name: options.validate_issuer_name,
            validate_token_issuer_name: options.validate_token_issuer_name,
            prefill_user_email: self.advanced.prefill_email(),
            use_par: options.use_par,
        }
    }

    fn oauth2_auth(&self) -> OAuth2Auth {
        OAuth2Auth {
            display_name: self.oauth2.display_name.value().to_owned(),
            authorization_endpoint: self.oauth2.authorization_endpoint.value().to_owned(),
            token_endpoint: self.oauth2.token_endpoint.value().to_owned(),
            client_id: self.oauth2.client_id.value().to_owned(),
            has_client_secret: self.original.has_client_secret(),
            scopes: self.oauth2.scopes.value().to_owned(),
            extra_params: self.advanced.params.params(),
            pkce: self.advanced.pkce(),
            prefill_user_email: self.advanced.prefill_email(),
            issuer: self.oauth2.issuer.clone(),
            client_secret_env: match &self.original.auth {
                Auth::OAuth2(a) => a.client_secret_env.clone(),
                _ => None,
            },
        }
    }

    pub fn secret_change(&self) -> SecretChange {
        match self.kind() {
            AuthKind::OpenId => SecretChange::Keep,
            AuthKind::OAuth2 => self.oauth2.secret_change(),
            AuthKind::ClientCredentials => SecretChange::Keep,
        }
    }

    /// Whether leaving would lose something.
    pub fn is_dirty(&self) -> bool {
        self.connector() != self.initial || !matches!(self.secret_change(), SecretChange::Keep)
    }

    /// Something is running that the step shows with a spinner.
    pub fn is_busy(&self) -> bool {
        self.saving
            || self.openid.is_checking()
            || self.oauth2.is_filling()
            || self.identity.creating
    }

    fn step_valid(&self, step: usize) -> bool {
        match step {
            1 => self.identity.is_valid(),
            2 => self.base.is_valid(),
            4 => match self.kind() {
                AuthKind::OpenId => self.openid.is_valid(),
                AuthKind::OAuth2 => self.oauth2.is_valid(),
                AuthKind::ClientCredentials => true,
            },
            5 => self.advanced.is_valid(),
            _ => true,
        }
    }

    fn first_invalid_step(&self) -> Option<usize> {
        (1..=STEPS).find(|s| !self.step_valid(*s))
    }

    fn touch_step(&mut self, step: usize) {
        match step {
            1 => self.identity.touch_all(),
            2 => self.base.touch_all(),
            4 => match self.kind() {
                AuthKind::OpenId => self.openid.touch_all(),
                AuthKind::OAuth2 => self.oauth2.touch_all(),
                AuthKind::ClientCredentials => {}
            },
            5 => self.advanced.touch_all(),
            _ => {}
        }
    }

    pub(crate) fn go_to(&mut self, step: usize) {
        self.step = step.clamp(1, STEPS);
        self.reached = self.reached.max(self.step);
        self.advanced.set_kind(self.kind());
    }

    /// Forward only from a valid step; otherwise show its errors and focus the first.
    fn forward(&mut self) {
        if self.step_valid(self.step) {
            self.go_to(self.step + 1);
        } else {
            self.touch_step(self.step);
        }
    }

    fn back(&mut self, commands: &mut Commands) {
        if self.step > 1 {
            self.go_to(self.step - 1);
        } else {
            self.leave(commands);
        }
    }

    fn leave(&mut self, commands: &mut Commands) {
        if self.is_dirty() {
            let name = match self.mode {
                Mode::New => "the new connector".into(),
                Mode::Edit => format!("'{}'", self.original.name),
            };
            commands.push(Command::AskLeaveWizard { name });
        } else {
            commands.push(Command::CloseScreen);
        }
    }

    /// Jump straight to a step: any step when editing; when creating, a step whose
    /// earlier steps are all valid (so "forward past errors" stays impossible).
    fn jump(&mut self, step: usize) {
        if !(1..=STEPS).contains(&step) {
            return;
        }
        let blocked = (1..step).find(|s| !self.step_valid(*s));
        match (self.mode, blocked) {
            (Mode::New, Some(invalid)) if step > self.step => {
                self.go_to(invalid);
                self.touch_step(invalid);
            }
            _ => self.go_to(step),
        }
    }

    fn save(&mut self, then_test: bool, commands: &mut Commands) {
        if self.saving {
            return;
        }
        if let Some(invalid) = self.first_invalid_step() {
            self.go_to(invalid);
            self.touch_step(invalid);
            return;
        }
        let mut connector = self.connector();
        if let Err(errors) = validate::validate_connector(&mut connector) {
            // The steps' rules are the core's, so this is a safety net, not a path.
            commands.push(Command::ShowError {
                title: "Cannot save yet".into(),
                message: errors.to_string(),
            });
            return;
        }
        self.saving = true;
        commands.push(Command::Save {
            connector: Box::new(connector),
            secret: self.secret_change(),
            then_test,
        });
    }

    fn request(&mut self, request: StepRequest, commands: &mut Commands) {
        match request {
            StepRequest::Check => {
                self.generation += 1;
                let mut auth = self.openid_auth();
                auth.authority_url = self.openid.authority.normalized().unwrap_or_default();
                self.openid.check_started(self.generation);
                commands.push(Command::CheckDiscovery {
                    generation: self.generation,
                    auth: Box::new(auth),
                });
            }
            StepRequest::FillEndpoints => {
                let Some(url) = self.oauth2.discovery_url() else {
                    return;
                };
                self.generation += 1;
                self.oauth2.fill_started(self.generation);
                commands.push(Command::FetchEndpoints {
                    generation: self.generation,
                    url,
                });
            }
            StepRequest::CreateGroup(group) => commands.push(Command::AddGroup(group)),
            StepRequest::Save { then_test } => self.save(then_test, commands),
        }
    }

    fn apply(&mut self, flow: StepFlow, action: Option<Action>, commands: &mut Commands) {
        match flow {
            StepFlow::Handled => {}
            StepFlow::Next => self.forward(),
            StepFlow::Request(request) => self.request(request, commands),
            StepFlow::Ignored => match action {
                Some(Action::Back) => self.back(commands),
                Some(Action::Save) => self.save(false, commands),
                Some(Action::JumpStep(step)) => self.jump(step as usize),
                Some(Action::Help) => commands.push(Command::OpenHelp),
                Some(Action::Quit) => commands.push(Command::Quit),
                _ => {}
            },
        }
    }

    // Answers from tasks.

    pub fn on_check(&mut self, generation: u64, check: DiscoveryCheck) {
        self.openid.check_finished(generation, check);
    }

    pub fn on_endpoints(&mut self, generation: u64, result: Result<ProviderMetadata, LoginError>) {
        self.oauth2.fill_finished(generation, result);
    }

    pub fn on_group_added(&mut self, result: Result<String, String>, groups: &[String]) {
        match result {
            Ok(group) => {
                let mut groups = groups.to_vec();
                if !groups.contains(&group) {
                    groups.push(group.clone());
                }
                self.identity.group_created(&group, &groups);
            }
            Err(message) => self.identity.group_failed(message),
        }
    }

    pub fn on_save_failed(&mut self) {
        self.saving = false;
    }

    /// A task died: whatever it was running for is not running any more.
    pub fn on_task_failed(&mut self) {
        self.saving = false;
        self.identity.creating = false;
        self.openid.check_failed();
        self.oauth2.fill_failed();
    }

    fn step_labels(&self) -> Vec<StepLabel> {
        let names = [
            "Name",
            "Base URL",
            "Auth type",
            self.settings_label(),
            "Advanced",
            "Review",
        ];
        names
            .iter()
            .enumerate()
            .map(|(i, label)| {
                let number = i + 1;
                let seen = number <= self.reached;
                let mark = if number == self.step {
                    StepMark::Current
                } else if !seen {
                    StepMark::Locked
                } else if !self.step_valid(number) {
                    StepMark::Invalid
                } else if number < self.reached || self.mode == Mode::Edit {
                    StepMark::Done
                } else {
                    StepMark::Todo
                };
                StepLabel {
                    number: number as u8,
                    label,
                    mark,
                }
            })
            .collect()
    }

    fn settings_label(&self) -> &'static str {
        match self.kind() {
            AuthKind::OpenId => "OpenId",
            AuthKind::OAuth2 => "OAuth2",
            AuthKind::ClientCredentials => "Service user",
        }
    }

    fn heading(&self) -> (String, &'static str) {
        let (title, about): (&str, &str) = match self.step {
            1 => (
                "Name and Agent Group",
                "What the connector is called, and which agent group runs it.",
            ),
            2 => (
                "Base URL",
                "Where the IFS Cloud instance lives, and how the login comes back.",
            ),
            3 => (
                "Authentication Type",
                "How the connector signs in to IFS Cloud.",
            ),
            4 if self.kind() == AuthKind::OpenId => (
                "OpenId Authentication",
                "The IAM client and its provider. Check asks the provider now.",
            ),
            4 => (
                "OAuth2 Authorization Code Flow",
                "The endpoints and the IAM client's credentials.",
            ),
            5 => (
                "Advanced options",
                "Extra query parameters, validation, and a login hint.",
            ),
            _ => ("Review and save", "Everything as it will be saved."),
        };
        (format!("Step {} of {STEPS} · {title}", self.step), about)
    }

    fn areas(area: Rect) -> [Rect; 4] {
        Layout::vertical([
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Length(1),
            Constraint::Fill(1),
        ])
        .areas(area)
    }
}

impl Component for Wizard {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        let [bar, _, _, body] = Self::areas(cx.area);
        match input {
            Input::Key(key) => {
                let action = cx.keymap.action(Scope::Wizard, key);
                if self.saving {
                    // Typing into a form that is being saved would be lost; only quitting works.
                    if action == Some(Action::Quit) {
                        cx.commands.push(Command::Quit);
                    }
                    return;
                }
                let flow = match self.step {
                    1 => self.identity.handle_key(key, action),
                    2 => self.base.handle_key(key, action),
                    3 => {
                        let flow = self.auth_type.handle_key(key, action);
                        self.advanced.set_kind(self.kind());
                        flow
                    }
                    4 if self.kind() == AuthKind::OpenId => self.openid.handle_key(key, action),
                    4 => self.oauth2.handle_key(key, action),
                    5 => self.advanced.handle_key(key, action),
                    _ => self.review.handle_key(key, action),
                };
                self.apply(flow, action, cx.commands);
            }
            Input::Paste(text) => match self.step {
                1 => self.identity.paste(text),
                2 => self.base.paste(text),
                4 if self.kind() == AuthKind::OpenId => self.openid.paste(text),
                4 => self.oauth2.paste(text),
                5 => self.advanced.paste(text),
                _ => {}
            },
            Input::Mouse(mouse) => {
                if mouse.kind == MouseEventKind::Down(MouseButton::Left) && mouse.row == bar.y {
                    if let Some(step) =
                        step_bar::step_at(&self.step_labels(), bar, mouse.column, mouse.row)
                    {
                        self.jump(step as usize);
                    }
                    return;
                }
                let flow = match self.step {
                    1 => self.identity.click(body, mouse),
                    2 => self.base.click(body, mouse),
                    3 => {
                        let flow = self.auth_type.click(body, mouse);
                        self.advanced.set_kind(self.kind());
                        flow
                    }
                    4 if self.kind() == AuthKind::OpenId => self.openid.click(body, mouse),
                    4 => self.oauth2.click(body, mouse),
                    5 => self.advanced.click(body, mouse),
                    _ => self.review.click(body, mouse),
                };
                self.apply(flow, None, cx.commands);
            }
        }
    }

    fn scope(&self) -> Scope {
        Scope::Wizard
    }
}

impl Draw for Wizard {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        let [bar, heading, about_area, body] = Self::areas(area);
        step_bar::render(&self.step_labels(), bar, frame.buffer_mut(), theme);
        let (title, about) = self.heading();
        let buf = frame.buffer_mut();
        buf.set_line(
            heading.x,
            heading.y,
            &Line::styled(format!(" {title}"), theme.title),
            heading.width,
        );
        buf.set_line(
            about_area.x,
            about_area.y,
            &Line::styled(format!(" {about}"), theme.muted),
            about_area.width,
        );
        let buf = frame.buffer_mut();
        let cursor = match self.step {
            1 => self.identity.draw(body, buf, theme),
            2 => self.base.draw(body, buf, theme),
            3 => {
                self.auth_type.draw(body, buf, theme);
                None
            }
            4 if self.kind() == AuthKind::OpenId => self.openid.draw(body, buf, cx.tick, theme),
            4 => self.oauth2.draw(body, buf, cx.tick, theme),
            5 => self.advanced.draw(body, buf, theme),
            _ => {
                let mut connector = self.connector();
                let errors = validate::validate_connector(&mut connector).err();
                let secret = self.secret_change();
                let data = ReviewData {
                    connector: &connector,
                    secret: &secret,
                    had_secret: self.original.has_client_secret(),
                    errors: errors.as_ref(),
                    saving: self.saving,
                };
                self.review.draw(body, buf, &data, theme);
                None
            }
        };
        if let Some(cursor) = cursor {
            frame.set_cursor_position(cursor);
        }
    }
}

#[cfg(test)]
mod tests;
