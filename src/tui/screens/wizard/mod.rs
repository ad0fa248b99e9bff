//! The wizard for a new connector and for editing one: six steps under a step bar, the
//! same six pages as the "Configure REST Connector for IFS Cloud" form.
//!
//! Each step is its own file, implements `WizardStep` and declares its rows as data;
//! this file owns what crosses steps: moving between them (never forward past errors),
//! building the connector from all of them, and turning step requests into commands.

mod advanced;
mod auth_type;
mod base_url;
mod client_credentials;
mod find;
mod form;
mod identity;
mod oauth2;
mod openid;
mod review;

use ratatui::Frame;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;

use crate::core::connector::{Auth, AuthKind, Connector, OpenIdAuth};
use crate::core::describe;
use crate::core::login::LoginError;
use crate::core::login::discovery::{DiscoveryCheck, ProviderMetadata};
use crate::core::validate;
use crate::core::workspace::{SecretChange, Workspace, WorkspaceError};
use crate::tui::command::{Command, Commands};
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, is_shared_key};
use crate::tui::keymap::{Action, Scope};
use crate::tui::widgets::step_bar::{self, StepLabel, StepMark};

use advanced::AdvancedStep;
use auth_type::AuthTypeStep;
use base_url::BaseUrlStep;
use client_credentials::ClientCredentialsStep;
use form::{StepFlow, StepRequest, WizardStep};
use identity::IdentityStep;
use oauth2::OAuth2Step;
use openid::OpenIdStep;
use review::{ReviewData, ReviewStep, SecretPlan};

/// Save `connector`, first creating the agent group the wizard made for it. If the save
/// fails, that group goes again: a failed save leaves the config as it was.
pub fn save_with_group(
    workspace: &Workspace,
    connector: Connector,
    secret: SecretChange,
    new_group: Option<String>,
) -> Result<Connector, WorkspaceError> {
    let created = match &new_group {
        Some(group) => match workspace.add_group(group) {
            Ok(()) => Some(group),
            Err(WorkspaceError::GroupExists(_)) => None,
            Err(error) => return Err(error),
        },
        None => None,
    };
    let saved = workspace.save(connector, secret);
    if let (Err(_), Some(group)) = (&saved, created)
        && let Err(error) = workspace.remove_group(group)
    {
        tracing::warn!(%error, "could not take back the agent group of a failed save");
    }
    saved
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    New,
    Edit,
}

/// The six pages, in order. `Settings` is the auth type's own page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepId {
    Identity,
    BaseUrl,
    AuthType,
    Settings,
    Advanced,
    Review,
}

impl StepId {
    pub const ALL: [StepId; 6] = [
        StepId::Identity,
        StepId::BaseUrl,
        StepId::AuthType,
        StepId::Settings,
        StepId::Advanced,
        StepId::Review,
    ];

    /// 1 for the first step, as the step bar and Alt-n count.
    pub fn number(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0) + 1
    }

    pub fn from_number(number: usize) -> Option<StepId> {
        number
            .checked_sub(1)
            .and_then(|i| Self::ALL.get(i).copied())
    }

    fn next(self) -> StepId {
        Self::from_number(self.number() + 1).unwrap_or(self)
    }

    fn prev(self) -> Option<StepId> {
        Self::from_number(self.number() - 1)
    }

    /// The steps before this one.
    fn before(self) -> impl Iterator<Item = StepId> {
        Self::ALL.into_iter().take_while(move |s| *s < self)
    }
}

#[derive(Debug)]
pub struct Wizard {
    mode: Mode,
    /// The connector being edited (or the template of a new one): the id, the last test
    /// and anything the steps do not show come from here.
    original: Connector,
    /// What the steps built when the wizard opened: "changed" means "differs from this".
    initial: Connector,
    step: StepId,
    /// The furthest step reached, for the step bar's marks.
    reached: StepId,
    identity: IdentityStep,
    base: BaseUrlStep,
    auth_type: AuthTypeStep,
    openid: OpenIdStep,
    oauth2: OAuth2Step,
    service: ClientCredentialsStep,
    advanced: AdvancedStep,
    review: ReviewStep,
    saving: bool,
    /// Numbers discovery requests, so a late answer to an old one is ignored.
    generation: u64,
    /// The agent groups that exist, and one made here (saved with the connector only).
    groups: Vec<String>,
    new_group: Option<String>,
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
        // Both auth types' pages are loaded, so switching type and back keeps what was typed.
        let mut wizard = Self {
            mode,
            initial: connector.clone(),
            identity: IdentityStep::new(&connector, groups, taken),
            base: BaseUrlStep::new(&connector),
            auth_type: AuthTypeStep::new(connector.auth_kind()),
            openid: OpenIdStep::new(&describe::as_openid(&connector.auth)),
            oauth2: OAuth2Step::new(&describe::as_oauth2(&connector.auth)),
            service: ClientCredentialsStep::new(&describe::as_client_credentials(&connector.auth)),
            advanced: AdvancedStep::new(&connector),
            review: ReviewStep::default(),
            original: connector,
            step: StepId::Identity,
            reached: match mode {
                Mode::Edit => StepId::Review,
                Mode::New => StepId::Identity,
            },
            saving: false,
            generation: 0,
            groups: groups.to_vec(),
            new_group: None,
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

    /// The page of the chosen auth type.
    fn settings(&self) -> &dyn WizardStep {
        match self.kind() {
            AuthKind::OpenId => &self.openid,
            AuthKind::OAuth2 => &self.oauth2,
            AuthKind::ClientCredentials => &self.service,
        }
    }

    fn settings_mut(&mut self) -> &mut dyn WizardStep {
        match self.kind() {
            AuthKind::OpenId => &mut self.openid,
            AuthKind::OAuth2 => &mut self.oauth2,
            AuthKind::ClientCredentials => &mut self.service,
        }
    }

    fn page(&self, step: StepId) -> &dyn WizardStep {
        match step {
            StepId::Identity => &self.identity,
            StepId::BaseUrl => &self.base,
            StepId::AuthType => &self.auth_type,
            StepId::Settings => self.settings(),
            StepId::Advanced => &self.advanced,
            StepId::Review => &self.review,
        }
    }

    fn page_mut(&mut self, step: StepId) -> &mut dyn WizardStep {
        match step {
            StepId::Identity => &mut self.identity,
            StepId::BaseUrl => &mut self.base,
            StepId::AuthType => &mut self.auth_type,
            StepId::Settings => self.settings_mut(),
            StepId::Advanced => &mut self.advanced,
            StepId::Review => &mut self.review,
        }
    }

    /// The connector as typed (not yet normalised: saving does that). Each page writes
    /// its part, in order.
    pub fn connector(&self) -> Connector {
        let mut connector = self.original.clone();
        for step in StepId::ALL {
            self.page(step).write(&mut connector);
        }
        connector
    }

    pub fn secret_change(&self) -> SecretChange {
        match self.kind() {
            AuthKind::OpenId => SecretChange::Keep,
            AuthKind::OAuth2 => self.oauth2.secret_change(),
            AuthKind::ClientCredentials => self.service.secret_change(),
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
            || self.openid.is_finding()
            || self.service.finder.is_running()
            || self.oauth2.is_filling()
            || self.identity.creating
    }

    fn first_invalid_step(&self) -> Option<StepId> {
        StepId::ALL.into_iter().find(|s| !self.page(*s).is_valid())
    }

    /// Show a step with its problems, focused on the first.
    fn show_errors_of(&mut self, step: StepId) {
        self.go_to(step);
        self.page_mut(step).touch_all();
    }

    pub(crate) fn go_to(&mut self, step: StepId) {
        self.step = step;
        self.reached = self.reached.max(step);
        self.sync();
    }

    /// After anything changed: the Advanced page follows the auth type, and the review
    /// shows the connector as it stands.
    fn sync(&mut self) {
        self.advanced.set_kind(self.kind());
        let scopes = self.scopes_field().map(|f| f.value().to_owned());
        self.advanced.show_scopes(scopes.as_deref());
        if self.step == StepId::Review {
            self.review.data = self.review_data();
        }
    }

    fn review_data(&self) -> ReviewData {
        let mut connector = self.connector();
        let errors = validate::validate_connector(&mut connector).err();
        ReviewData {
            connector: Some(connector),
            secret: SecretPlan::from(&self.secret_change()),
            had_secret: self.original.has_client_secret(),
            errors,
            saving: self.saving,
        }
    }

    /// Forward only from a valid step; otherwise show its errors and focus the first.
    fn forward(&mut self) {
        if self.page(self.step).is_valid() {
            self.go_to(self.step.next());
        } else {
            self.page_mut(self.step).touch_all();
        }
    }

    fn back(&mut self, commands: &mut Commands) {
        // Editing, every step is one Alt-key away: Esc closes at once (asking only when
        // something changed) instead of walking back through the steps.
        if self.mode == Mode::Edit {
            return self.leave(commands);
        }
        match self.step.prev() {
            Some(step) => self.go_to(step),
            None => self.leave(commands),
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
    fn jump(&mut self, step: StepId) {
        let blocked = step.before().find(|s| !self.page(*s).is_valid());
        match (self.mode, blocked) {
            (Mode::New, Some(invalid)) if step > self.step => self.show_errors_of(invalid),
            _ => self.go_to(step),
        }
    }

    fn save(&mut self, then_test: bool, commands: &mut Commands) {
        if self.saving {
            return;
        }
        if let Some(invalid) = self.first_invalid_step() {
            return self.show_errors_of(invalid);
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
        let new_group = self
            .new_group
            .clone()
            .filter(|g| *g == connector.agent_group);
        let save = Command::Save {
            connector: Box::new(connector),
            secret: self.secret_change(),
            then_test,
            new_group,
        };
        if let Some(reason) = self.failed_check() {
            commands.push(Command::Confirm {
                title: "Save anyway?".into(),
                message: format!(
                    "Check did not pass: save anyway? {reason} A test login will most likely fail the same way."
                ),
                yes_label: "Save anyway",
                on_yes: Box::new(save),
            });
            return;
        }
        self.saving = true;
        commands.push(save);
    }

    /// Why the last Check of the chosen auth type failed, if it did for what is typed now.
    fn failed_check(&self) -> Option<String> {
        match self.kind() {
            AuthKind::OpenId => self.openid.failed_check(),
            _ => None,
        }
    }

    fn ca_file(&self) -> Option<String> {
        self.advanced.ca_file()
    }

    /// A group made in step 1 exists only in the wizard until the connector is saved.
    fn create_group(&mut self, group: String) {
        if self.groups.contains(&group) {
            // The core's words, as `agent-group add` says them.
            let message = WorkspaceError::GroupExists(group).to_string();
            return self.identity.group_failed(message);
        }
        self.groups.push(group.clone());
        self.new_group = Some(group.clone());
        let groups = self.groups.clone();
        self.identity.group_created(&group, &groups);
    }

    /// The scopes field of the chosen browser type, which the Advanced options switch.
    fn scopes_field(&mut self) -> Option<&mut crate::tui::widgets::text_field::TextField> {
        match self.kind() {
            AuthKind::OpenId => Some(self.openid.form.text_mut(openid::Focus::Scopes)),
            AuthKind::OAuth2 => Some(self.oauth2.form.text_mut(oauth2::Focus::Scopes)),
            AuthKind::ClientCredentials => None,
        }
    }

    fn set_scope(&mut self, scope: &str, on: bool) {
        if let Some(field) = self.scopes_field() {
            let scopes = crate::core::ifs::scopes::with_scope(field.value(), scope, on);
            field.set_value(scopes);
        }
    }

    fn request(&mut self, request: StepRequest, commands: &mut Commands) {
        match request {
            StepRequest::Check => {
                // Checked with the options the Advanced page has now.
                let Auth::OpenId(mut auth) = self.connector().auth else {
                    return;
                };
                self.generation += 1;
                auth.authority_url = self.openid.authority().unwrap_or_default();
                self.openid.check_started(self.generation);
                commands.push(Command::CheckDiscovery {
                    generation: self.generation,
                    auth: Box::new(auth),
                    ca_file: self.ca_file(),
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
                    ca_file: self.ca_file(),
                });
            }
            StepRequest::FindRealm => {
                let Some(base_url) = self.base.base_url() else {
                    return self.show_errors_of(StepId::BaseUrl);
                };
                self.generation += 1;
                match self.kind() {
                    AuthKind::ClientCredentials => {
                        self.service.find_started(self.generation, &base_url)
                    }
                    _ => self.openid.find_started(self.generation, &base_url),
                }
                commands.push(Command::FindRealm {
                    generation: self.generation,
                    base_url,
                });
            }
            StepRequest::SetScope { scope, on } => self.set_scope(scope, on),
            StepRequest::CopyRedirectUri => {
                if let Some(c) = &self.review.data.connector {
                    let registration = crate::core::ifs::Registration::of(c);
                    commands.push(Command::Copy(registration.redirect_uri));
                    self.review.copied = true;
                }
            }
            StepRequest::CreateGroup(group) => self.create_group(group),
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
                Some(Action::JumpStep(number)) => {
                    if let Some(step) = StepId::from_number(number.into()) {
                        self.jump(step);
                    }
                }
                _ => {}
            },
        }
        self.sync();
    }

    // Answers from tasks.

    pub fn on_check(&mut self, generation: u64, check: DiscoveryCheck) {
        self.openid.check_finished(generation, check);
    }

    pub fn on_realm_found(
        &mut self,
        generation: u64,
        result: Result<crate::core::ifs::discover::Discovery, String>,
    ) {
        // Each step drops an answer to a find it did not start.
        self.openid.find_finished(generation, result.clone());
        self.service.find_finished(generation, result);
        self.sync();
    }

    pub fn on_endpoints(&mut self, generation: u64, result: Result<ProviderMetadata, LoginError>) {
        self.oauth2.fill_finished(generation, result);
        self.sync();
    }

    pub fn on_save_failed(&mut self) {
        self.saving = false;
        self.sync();
    }

    /// A task died: whatever it was running for is not running any more.
    pub fn on_task_failed(&mut self) {
        self.saving = false;
        self.identity.creating = false;
        self.openid.check_failed();
        self.openid.find_failed();
        self.service.finder.failed();
        self.oauth2.fill_failed();
        self.sync();
    }

    fn step_labels(&self) -> Vec<StepLabel> {
        StepId::ALL
            .into_iter()
            .map(|step| {
                let mark = if step == self.step {
                    StepMark::Current
                } else if step > self.reached {
                    StepMark::Locked
                } else if !self.page(step).is_valid() {
                    StepMark::Invalid
                } else if step < self.reached || self.mode == Mode::Edit {
                    StepMark::Done
                } else {
                    StepMark::Todo
                };
                StepLabel {
                    number: step.number() as u8,
                    label: self.page(step).label(),
                    mark,
                }
            })
            .collect()
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
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        if is_shared_key(input, cx.keymap, Scope::Wizard) {
            return EventResult::Ignored;
        }
        self.on_input(input, cx);
        EventResult::Handled
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
        let page = self.page(self.step);
        let (title, about) = page.heading();
        let title = format!(
            "Step {} of {} · {title}",
            self.step.number(),
            StepId::ALL.len()
        );
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
        if let Some(cursor) = page.draw(body, frame.buffer_mut(), cx) {
            frame.set_cursor_position(cursor);
        }
    }
}

impl Wizard {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        let [bar, _, _, body] = Self::areas(cx.area);
        let step = self.step;
        match input {
            Input::Key(key) => {
                let action = cx.keymap.action(Scope::Wizard, key);
                if self.saving {
                    // Typing into a form that is being saved would be lost; only the
                    // shared keys (help, quit) work, and they bubbled up before this.
                    return;
                }
                let flow = self.page_mut(step).handle_key(key, action);
                self.apply(flow, action, cx.commands);
            }
            Input::Paste(text) => {
                self.page_mut(step).paste(text);
                self.sync();
            }
            Input::Mouse(mouse) => {
                if mouse.kind == MouseEventKind::Down(MouseButton::Left) && mouse.row == bar.y {
                    let labels = self.step_labels();
                    if let Some(step) = step_bar::step_at(&labels, bar, mouse.column, mouse.row)
                        .and_then(|n| StepId::from_number(n as usize))
                    {
                        self.jump(step);
                    }
                    return;
                }
                let flow = self.page_mut(step).click(body, mouse);
                self.apply(flow, None, cx.commands);
            }
        }
    }
}

#[cfg(test)]
mod tests;
