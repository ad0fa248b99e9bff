//! The controller: owns the state, turns input and task results into state changes one
//! at a time, runs side effects as tasks, and redraws only when something changed.
//!
//! Generic over the backend and the input stream (as in slumber), so tests drive the
//! whole app on a `TestBackend` with scripted events.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{FutureExt, Stream, StreamExt};
use ratatui::Terminal;
use ratatui::backend::Backend;
use ratatui::crossterm::event::{Event, KeyCode, KeyEventKind, KeyModifiers, MouseEventKind};
use ratatui::layout::Rect;
use time::OffsetDateTime;
use tokio::sync::mpsc::{self, UnboundedReceiver};
use tokio_util::sync::CancellationToken;

use crate::core::Context;
use crate::core::connector::LastTest;
use crate::core::login::{LoginOptions, LoginOutcome};
use crate::core::workspace::{Workspace, WorkspaceError};
use crate::tui::clipboard::{Clipboard, Osc52Terminal};
use crate::tui::command::{Command, Commands};
use crate::tui::component::{Component, EventCx, EventResult, Input, shared_action};
use crate::tui::engine::{CoreEngine, DeviceRun, Engine, LoginRun};
use crate::tui::keymap::{Action, Keymap, Scope};
use crate::tui::message::{Message, MessageSender, TaskKind};
use crate::tui::popups::{ConfirmPopup, ErrorPopup, Popup, PromptPopup};
use crate::tui::screens::{HelpScreen, Screen, TestLoginScreen, Wizard};
use crate::tui::state::State;
use crate::tui::theme::Theme;
use crate::tui::view;

/// Spinner frames per second, only while something animates.
const FPS: f64 = 8.0;

pub type Clock = fn() -> OffsetDateTime;

/// What differs between the real terminal and a test.
pub struct AppOptions {
    pub theme: Theme,
    pub engine: Arc<dyn Engine>,
    pub clipboard: Box<dyn Clipboard>,
    pub clock: Clock,
    /// The key table; tests rebind keys to see every text that names them follow.
    pub keymap: Keymap,
    /// Where to note when the first full list frame was flushed (benchmarks only).
    pub first_frame_log: Option<std::path::PathBuf>,
}

impl AppOptions {
    /// The real engine, OSC 52 to this terminal, `NO_COLOR` honoured, the wall clock.
    pub fn real(context: &Context) -> anyhow::Result<Self> {
        let secrets = Arc::clone(context.workspace.secrets());
        Ok(Self {
            theme: Theme::from_env(),
            engine: Arc::new(CoreEngine::new(
                secrets,
                LoginOptions {
                    token_lock_dir: Some(context.paths.config_dir.clone()),
                    ..LoginOptions::default()
                },
            )?),
            clipboard: Box::new(Osc52Terminal),
            clock: OffsetDateTime::now_utc,
            keymap: Keymap::default(),
            first_frame_log: std::env::var_os(crate::tui::bench_support::FIRST_FRAME_LOG)
                .map(Into::into),
        })
    }
}

/// One thing for the loop to handle.
enum Wake {
    Input(Event),
    Message(Message),
    Tick,
}

pub struct App<B: Backend, S> {
    terminal: Terminal<B>,
    input: S,
    state: State,
    keymap: Keymap,
    theme: Theme,
    workspace: Workspace,
    engine: Arc<dyn Engine>,
    clipboard: Box<dyn Clipboard>,
    clock: Clock,
    /// Taken (so written once) when the first frame with the list loaded is flushed.
    first_frame_log: Option<std::path::PathBuf>,
    messages: MessageSender,
    inbox: UnboundedReceiver<Message>,
    commands: Commands,
    shutdown: CancellationToken,
    started: bool,
    running: bool,
    dirty: bool,
    next_run: u64,
}

impl<B, S> App<B, S>
where
    B: Backend,
    B::Error: std::error::Error + Send + Sync + 'static,
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    pub fn new(terminal: Terminal<B>, input: S, context: Context, options: AppOptions) -> Self {
        let (messages, inbox) = MessageSender::channel();
        Self {
            terminal,
            input,
            state: State::new(context.paths.clone(), (options.clock)()),
            keymap: options.keymap,
            theme: options.theme,
            workspace: context.workspace,
            engine: options.engine,
            clipboard: options.clipboard,
            clock: options.clock,
            first_frame_log: options.first_frame_log,
            messages,
            inbox,
            commands: Commands::default(),
            shutdown: CancellationToken::new(),
            started: false,
            running: true,
            dirty: true,
            next_run: 0,
        }
    }

    /// Cancelling this ends the loop and every task started from it (e.g. on SIGTERM).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub fn backend(&self) -> &B {
        self.terminal.backend()
    }

    pub fn is_running(&self) -> bool {
        self.running
    }

    /// Loading starts here rather than in `new`, which may run outside the runtime.
    fn start(&mut self) {
        if !self.started {
            self.started = true;
            self.reload();
        }
    }

    /// Run until quit, the input ends or the shutdown token is cancelled.
    pub async fn run(mut self) -> anyhow::Result<Self> {
        self.start();
        self.draw()?;
        while self.running {
            let Some(wake) = self.next_wake().await? else {
                break;
            };
            self.handle(wake)?;
            // More messages waiting: they would change the frame again right away.
            if self.dirty && self.inbox.is_empty() {
                self.draw()?;
            }
        }
        self.shutdown.cancel();
        Ok(self)
    }

    /// Wait for the next thing to do. Messages first (`biased`), so a burst of task
    /// results is handled before more input; the timer only while something animates.
    async fn next_wake(&mut self) -> anyhow::Result<Option<Wake>> {
        let tick = self
            .state
            .is_animating()
            .then(|| Duration::from_secs_f64(1.0 / FPS));
        let wake = tokio::select! {
            biased;
            () = self.shutdown.cancelled() => None,
            Some(message) = self.inbox.recv() => Some(Wake::Message(message)),
            input = self.input.next() => match input {
                Some(Ok(event)) => Some(Wake::Input(event)),
                Some(Err(error)) => return Err(error.into()),
                None => None,
            },
            () = tokio::time::sleep(tick.unwrap_or_default()), if tick.is_some() => Some(Wake::Tick),
        };
        Ok(wake)
    }

    /// For tests: handle everything already queued (input and messages) and, when
    /// `wait_for_tasks`, every task result still to come; then draw.
    pub async fn settle(&mut self) -> anyhow::Result<()> {
        self.settle_with(true).await
    }

    /// For tests: handle what is queued now without waiting for running tasks.
    pub async fn settle_input(&mut self) -> anyhow::Result<()> {
        self.settle_with(false).await
    }

    async fn settle_with(&mut self, wait_for_tasks: bool) -> anyhow::Result<()> {
        self.start();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.running {
            let wake = if let Ok(message) = self.inbox.try_recv() {
                Wake::Message(message)
            } else if let Some(item) = self.input.next().now_or_never() {
                match item {
                    Some(event) => Wake::Input(event?),
                    None => break,
                }
            } else if wait_for_tasks && self.messages.in_flight() > 0 {
                // A task sends its message and only then counts itself done, so the message
                // may already have been handled while the count still says 1: wait briefly
                // and look at both again rather than for a message that is not coming.
                match tokio::time::timeout(Duration::from_millis(10), self.inbox.recv()).await {
                    Ok(Some(message)) => Wake::Message(message),
                    Ok(None) => break,
                    Err(_) if tokio::time::Instant::now() < deadline => continue,
                    Err(_) => anyhow::bail!("a background task did not finish within 20 s"),
                }
            } else {
                break;
            };
            self.handle(wake)?;
        }
        self.draw()
    }

    fn draw(&mut self) -> anyhow::Result<()> {
        let (state, keymap, theme) = (&self.state, &self.keymap, &self.theme);
        self.terminal
            .draw(|frame| view::render(state, keymap, theme, frame))?;
        self.dirty = false;
        if !self.state.list.is_loading()
            && let Some(path) = self.first_frame_log.take()
        {
            crate::tui::bench_support::note_first_frame(&path);
        }
        Ok(())
    }

    fn handle(&mut self, wake: Wake) -> anyhow::Result<()> {
        self.state.now = (self.clock)();
        match wake {
            Wake::Tick => {
                self.state.tick(Instant::now());
                self.dirty = true;
            }
            Wake::Message(message) => {
                self.on_message(message);
                self.dirty = true;
            }
            Wake::Input(event) => self.on_input(event)?,
        }
        while let Some(command) = self.commands.pop() {
            self.execute(command);
        }
        Ok(())
    }

    fn full_area(&self) -> anyhow::Result<Rect> {
        let size = self.terminal.size()?;
        Ok(Rect::new(0, 0, size.width, size.height))
    }

    fn on_input(&mut self, event: Event) -> anyhow::Result<()> {
        let input = match event {
            Event::Key(key) if key.kind == KeyEventKind::Release => return Ok(()),
            // Ctrl-C quits from anywhere, before any field or popup can take it.
            Event::Key(key)
                if key.code == KeyCode::Char('c')
                    && key.modifiers.contains(KeyModifiers::CONTROL) =>
            {
                self.quit();
                return Ok(());
            }
            Event::Resize(..) => {
                self.terminal.autoresize()?;
                self.dirty = true;
                return Ok(());
            }
            Event::Key(key) => Input::Key(key),
            Event::Paste(text) => Input::Paste(text),
            Event::Mouse(mouse) => match mouse.kind {
                // Movement and drags change nothing; redrawing on them would be waste.
                MouseEventKind::Down(_) | MouseEventKind::ScrollUp | MouseEventKind::ScrollDown => {
                    Input::Mouse(mouse)
                }
                _ => return Ok(()),
            },
            Event::FocusGained | Event::FocusLost => return Ok(()),
        };
        let area = self.full_area()?;
        if view::is_too_small(area) {
            return Ok(());
        }
        let [_, body, _] = view::layout(area);
        let mut cx = EventCx {
            keymap: &self.keymap,
            commands: &mut self.commands,
            area: body,
        };
        let (result, scope) = if let Some(popup) = self.state.popups.last_mut() {
            cx.area = area;
            (popup.handle(&input, &mut cx), popup.scope())
        } else if let Some(screen) = self.state.screens.last_mut() {
            (screen.handle(&input, &mut cx), screen.scope())
        } else {
            let result = self.state.list.handle(&input, &mut cx);
            // Scrolling or filtering may bring rows whose token state was never read.
            self.load_visible_token_states();
            (result, self.state.list.scope())
        };
        if result == EventResult::Ignored {
            self.on_shared_key(&input, scope);
        }
        self.dirty = true;
        Ok(())
    }

    /// Help and quit, for every screen and popup at once (they leave these keys here).
    fn on_shared_key(&mut self, input: &Input, scope: Scope) {
        match shared_action(input, &self.keymap, scope) {
            Some(Action::Quit) => self.quit(),
            // Help opens over a screen, not under a popup that waits for an answer.
            Some(Action::Help) if self.state.popups.is_empty() => {
                self.commands.push(Command::OpenHelp);
            }
            _ => {}
        }
    }

    fn load_visible_token_states(&mut self) {
        let ids = self.state.list.token_states_to_read();
        self.load_token_states(ids);
    }

    fn quit(&mut self) {
        self.running = false;
        self.shutdown.cancel();
    }

    /// The one way a failed config or keyring job reaches the user: its typed error as
    /// a popup (and the log).
    fn report(&mut self, title: &str, error: &WorkspaceError) {
        tracing::warn!(%error, "{title}");
        self.show_error(title, error.to_string());
    }

    fn show_error(&mut self, title: impl Into<String>, message: impl Into<String>) {
        self.state
            .popups
            .push(Popup::Error(ErrorPopup::new(title, message)));
    }

    fn reload(&mut self) {
        self.messages.workspace_job(
            TaskKind::Load,
            &self.workspace,
            Workspace::load,
            Message::ConfigLoaded,
        );
    }

    fn execute(&mut self, command: Command) {
        tracing::debug!(command = command_name(&command), "command");
        match command {
            Command::OpenHelp => {
                if !matches!(self.state.screens.last(), Some(Screen::Help(_))) {
                    self.state.screens.push(Screen::Help(HelpScreen::default()));
                }
            }
            Command::CloseScreen => {
                self.state.screens.pop();
            }
            Command::ClosePopup => {
                self.state.popups.pop();
            }
            Command::NewConnector => {
                let wizard = Wizard::new(self.state.list.groups(), self.state.list.names());
                self.state.screens.push(Screen::Wizard(Box::new(wizard)));
            }
            Command::EditConnector(id) => {
                if let Some(connector) = self.state.list.find(&id).cloned() {
                    let wizard =
                        Wizard::edit(connector, self.state.list.groups(), self.state.list.names());
                    self.state.screens.push(Screen::Wizard(Box::new(wizard)));
                }
            }
            Command::AskDuplicate(id) => {
                if let Some(connector) = self.state.list.find(&id) {
                    let popup = PromptPopup::duplicate(&connector.name, self.state.list.names());
                    self.state.popups.push(Popup::Prompt(popup));
                }
            }
            Command::Duplicate { name, new_name } => self.messages.workspace_job(
                TaskKind::Duplicate,
                &self.workspace,
                move |ws| ws.duplicate(&name, &new_name).map(Box::new),
                Message::Duplicated,
            ),
            Command::AskDelete(id) => self.ask_delete(&id),
            Command::Delete { name } => {
                let removing = name.clone();
                self.messages.workspace_job(
                    TaskKind::Delete,
                    &self.workspace,
                    move |ws| ws.remove(&removing).map(|removed| removed.secrets_left),
                    |result| Message::Removed { name, result },
                );
            }
            Command::StartLogin(connector) => self.start_login(*connector),
            Command::Save {
                connector,
                secret,
                then_test,
                new_group,
            } => self.messages.workspace_job(
                TaskKind::Save,
                &self.workspace,
                move |ws| {
                    crate::tui::screens::wizard::save_with_group(ws, *connector, secret, new_group)
                        .map(Box::new)
                },
                move |result| Message::Saved { result, then_test },
            ),
            Command::FindRealm {
                generation,
                base_url,
            } => self.find_realm(generation, base_url),
            Command::Confirm {
                title,
                message,
                yes_label,
                on_yes,
            } => self.state.popups.push(Popup::Confirm(ConfirmPopup::new(
                title, message, yes_label, *on_yes,
            ))),
            Command::CheckDiscovery {
                generation,
                auth,
                ca_file,
            } => {
                let check = self.engine.check_discovery(*auth, ca_file);
                self.messages.spawn(TaskKind::DiscoveryCheck, async move {
                    Message::DiscoveryChecked {
                        generation,
                        check: Box::new(check.await),
                    }
                });
            }
            Command::FetchEndpoints {
                generation,
                url,
                ca_file,
            } => {
                let fetch = self.engine.fetch_discovery(url, ca_file);
                self.messages.spawn(TaskKind::DiscoveryFetch, async move {
                    Message::EndpointsFetched {
                        generation,
                        result: fetch.await.map(Box::new),
                    }
                });
            }
            Command::RecordTest { id, last } => {
                let last = LastTest {
                    at: (self.clock)(),
                    ..*last
                };
                self.messages.workspace_job(
                    TaskKind::RecordTest,
                    &self.workspace,
                    move |ws| ws.record_test(&id, last),
                    Message::TestRecorded,
                );
            }
            Command::Copy(text) => {
                if let Err(error) = self.clipboard.copy(&text) {
                    self.show_error(
                        "Could not copy",
                        format!("Writing to the terminal failed: {error}"),
                    );
                }
            }
            Command::ShowError { title, message } => self.show_error(title, message),
            Command::StartDeviceLogin(connector) => self.start_device_login(*connector),
            Command::AskLogout(id) => self.ask_logout(&id),
            Command::Logout(id) => self.logout(id),
            Command::AskLeaveWizard { name } => self.ask_leave_wizard(&name),
        }
    }

    fn ask_delete(&mut self, id: &crate::core::connector::ConnectorId) {
        let Some(connector) = self.state.list.find(id) else {
            return;
        };
        let message = format!(
            "Delete '{}'? Its client secret and any tokens kept for it in the OS keyring are deleted too. This cannot be undone.",
            connector.name
        );
        let delete = Command::Delete {
            name: connector.name.clone(),
        };
        let popup = ConfirmPopup::new("Delete connector", message, "Delete", delete);
        self.state.popups.push(Popup::Confirm(popup));
    }

    fn find_realm(&mut self, generation: u64, base_url: String) {
        let find = self.engine.find_realm(base_url);
        self.messages.spawn(TaskKind::FindRealm, async move {
            let result = find.await.map(Box::new);
            Message::RealmFound { generation, result }
        });
    }

    fn ask_leave_wizard(&mut self, name: &str) {
        let message =
            format!("Leave without saving {name}? What you changed in the wizard is lost.");
        let popup = ConfirmPopup::new("Discard changes", message, "Discard", Command::CloseScreen);
        self.state.popups.push(Popup::Confirm(popup));
    }

    /// Open the test-login screen and run the engine; its events come back as messages
    /// tagged with this run's number, so a late event from an older run is ignored.
    fn start_login(&mut self, connector: crate::core::connector::Connector) {
        let run = self.next_run_id();
        let cancel = self.shutdown.child_token();
        let (pasted_tx, pasted_rx) = mpsc::channel(4);
        let screen = TestLoginScreen::new(run, connector.clone(), pasted_tx, cancel.clone())
            .with_browser_problem(self.engine.browser_problem());
        self.push_login_screen(screen);
        self.ask_device_support(run, connector.clone());
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let login = self.engine.login(LoginRun {
            connector,
            pasted: pasted_rx,
            events: events_tx,
            cancel,
        });
        self.forward_login(run, login, events_rx);
    }

    /// The same screen for a device login: the prompt (user code, URI) arrives as its own
    /// message, before the wait for approval.
    fn start_device_login(&mut self, connector: crate::core::connector::Connector) {
        let run = self.next_run_id();
        let cancel = self.shutdown.child_token();
        // Nothing is ever pasted into a device login; the sender only fills the slot.
        let (pasted_tx, _) = mpsc::channel(1);
        let screen =
            TestLoginScreen::new(run, connector.clone(), pasted_tx, cancel.clone()).device_mode();
        self.push_login_screen(screen);
        let (prompts_tx, mut prompts_rx) = mpsc::unbounded_channel();
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let login = self.engine.device_login(DeviceRun {
            connector,
            prompts: prompts_tx,
            events: events_tx,
            cancel,
        });
        let sender = self.messages.clone();
        let with_prompts = async move {
            let forward = async {
                while let Some(prompt) = prompts_rx.recv().await {
                    sender.send(Message::DevicePrompt { run, prompt });
                }
            };
            let (outcome, ()) = tokio::join!(login, forward);
            outcome
        };
        self.forward_login(run, Box::pin(with_prompts), events_rx);
    }

    fn next_run_id(&mut self) -> u64 {
        self.next_run += 1;
        self.next_run
    }

    /// "Save and test" replaces the wizard; "retry" and "device code" replace the old run
    /// (dropping its screen cancels it).
    fn push_login_screen(&mut self, screen: TestLoginScreen) {
        if matches!(self.state.screens.last(), Some(Screen::TestLogin(_))) {
            self.state.screens.pop();
        }
        self.state.screens.push(Screen::TestLogin(Box::new(screen)));
    }

    /// Ask the provider whether device login is on offer, so the screen can say so.
    fn ask_device_support(&mut self, run: u64, connector: crate::core::connector::Connector) {
        let supported = self.engine.supports_device_login(connector);
        self.messages.spawn(TaskKind::DeviceSupport, async move {
            Message::DeviceSupport {
                run,
                supported: supported.await,
            }
        });
    }

    /// Run a login to its outcome, passing its events on as they come.
    fn forward_login(
        &mut self,
        run: u64,
        login: futures::future::BoxFuture<'static, LoginOutcome>,
        mut events_rx: mpsc::UnboundedReceiver<crate::core::login::LoginEvent>,
    ) {
        let sender = self.messages.clone();
        self.messages.spawn(TaskKind::TestLogin, async move {
            let forward = async {
                while let Some(event) = events_rx.recv().await {
                    sender.send(Message::Login { run, event });
                }
            };
            let (outcome, ()) = tokio::join!(login, forward);
            Message::LoginFinished {
                run,
                outcome: Box::new(outcome),
            }
        });
    }

    fn ask_logout(&mut self, id: &crate::core::connector::ConnectorId) {
        let Some(connector) = self.state.list.find(id) else {
            return;
        };
        let message = format!(
            "Log out of '{}'? Its refresh token is revoked at the provider (where it allows that) and the cached tokens are deleted from the OS keyring. Scripts using it need a new login.",
            connector.name
        );
        let popup = ConfirmPopup::new("Log out", message, "Log out", Command::Logout(id.clone()));
        self.state.popups.push(Popup::Confirm(popup));
    }

    fn logout(&mut self, id: crate::core::connector::ConnectorId) {
        let Some(connector) = self.state.list.find(&id).cloned() else {
            return;
        };
        let name = connector.name.clone();
        let logout = self.engine.logout(connector);
        self.messages.spawn(TaskKind::Logout, async move {
            Message::LoggedOut {
                id,
                name,
                result: logout.await,
            }
        });
    }

    /// Read token states from the keyring one connector after the other (a keyring over
    /// D-Bus gains nothing from many requests at once), reported in one message.
    fn load_token_states(&mut self, ids: Vec<crate::core::connector::ConnectorId>) {
        if ids.is_empty() {
            return;
        }
        let reads: Vec<_> = ids
            .into_iter()
            .map(|id| (id.clone(), self.engine.token_state(id)))
            .collect();
        self.messages.spawn(TaskKind::TokenStates, async move {
            let mut states = Vec::with_capacity(reads.len());
            for (id, read) in reads {
                states.push((id, read.await));
            }
            Message::TokenStates(states)
        });
    }

    fn on_message(&mut self, message: Message) {
        match message {
            Message::ConfigLoaded(Ok(config)) => {
                self.state.list.set_config(config);
                self.load_visible_token_states();
            }
            Message::TokenStates(states) => self.state.list.set_token_states(states),
            Message::LoggedOut { id, name, result } => self.on_logged_out(id, &name, result),
            Message::DevicePrompt { run, prompt } => {
                if let Some(screen) = self.state.test_login_mut(run) {
                    screen.on_device_prompt(&prompt, Instant::now());
                }
            }
            Message::DeviceSupport { run, supported } => {
                if let Some(screen) = self.state.test_login_mut(run) {
                    screen.on_device_support(supported);
                }
            }
            Message::ConfigLoaded(Err(error)) => {
                self.state.list.set_load_failed(error.to_string());
                self.report("Cannot read the config", &error);
            }
            Message::Saved { result, then_test } => self.on_saved(result, then_test),
            Message::Removed {
                result: Ok(secrets_left),
                name,
            } => {
                self.reload();
                if let Some(problem) = secrets_left {
                    self.show_error("Removed, but the keyring refused", format!("'{name}' is gone from the config, but its secrets could not be deleted: {problem}"));
                }
            }
            Message::Removed {
                result: Err(error), ..
            } => self.report("Could not delete", &error),
            Message::Duplicated(Ok(connector)) => {
                self.state.list.select_later(connector.id.clone());
                self.reload();
            }
            Message::Duplicated(Err(error)) => self.report("Could not duplicate", &error),
            Message::DiscoveryChecked { generation, check } => {
                if let Some(wizard) = self.state.wizard_mut() {
                    wizard.on_check(generation, *check);
                }
            }
            Message::RealmFound { generation, result } => {
                if let Some(wizard) = self.state.wizard_mut() {
                    wizard.on_realm_found(generation, result.map(|d| *d));
                }
            }
            Message::EndpointsFetched { generation, result } => {
                if let Some(wizard) = self.state.wizard_mut() {
                    wizard.on_endpoints(generation, result.map(|m| *m));
                }
            }
            Message::Login { run, event } => {
                if let Some(screen) = self.state.test_login_mut(run) {
                    screen.on_event(event, Instant::now());
                }
            }
            Message::LoginFinished { run, outcome } => {
                if let Some(screen) = self.state.test_login_mut(run) {
                    let id = screen.connector().id.clone();
                    screen.on_outcome(*outcome, &mut self.commands);
                    // A login stores tokens even when it is not recorded (cancelled late).
                    self.load_token_states(vec![id]);
                }
            }
            Message::TestRecorded(Ok(())) => self.reload(),
            Message::TestRecorded(Err(error)) => {
                self.report("Could not remember the test result", &error)
            }
            Message::TaskFailed { task, detail } => {
                if let Some(wizard) = self.state.wizard_mut() {
                    wizard.on_task_failed();
                }
                if task == TaskKind::TestLogin {
                    self.end_running_logins();
                }
                self.show_error(
                    "Something went wrong",
                    format!("The {} task failed: {detail}.", task.label()),
                );
            }
        }
    }

    fn on_logged_out(
        &mut self,
        id: crate::core::connector::ConnectorId,
        name: &str,
        result: Result<crate::core::tokens::LoggedOut, crate::core::secrets::SecretsError>,
    ) {
        match result {
            Ok(done) => {
                let text = done
                    .lines()
                    .iter()
                    .map(|line| format!("• {line}"))
                    .collect::<Vec<_>>()
                    .join("\n");
                let title = format!("Logged out of '{name}'");
                self.state
                    .popups
                    .push(Popup::Error(ErrorPopup::info(title, text)));
            }
            Err(error) => self.show_error("Could not log out", error.to_string()),
        }
        self.load_token_states(vec![id]);
    }

    fn on_saved(
        &mut self,
        result: Result<Box<crate::core::connector::Connector>, WorkspaceError>,
        then_test: bool,
    ) {
        match result {
            Ok(connector) => {
                self.state
                    .screens
                    .retain(|s| !matches!(s, Screen::Wizard(_)));
                self.state.list.select_later(connector.id.clone());
                self.reload();
                if then_test {
                    self.start_login(*connector);
                }
            }
            Err(error) => {
                if let Some(wizard) = self.state.wizard_mut() {
                    wizard.on_save_failed();
                }
                self.report("Could not save", &error);
            }
        }
    }

    /// The login task died without an outcome: stop the spinners, record nothing.
    fn end_running_logins(&mut self) {
        let mut ignored = Commands::default();
        for screen in &mut self.state.screens {
            if let Screen::TestLogin(t) = screen
                && t.is_running()
            {
                t.on_outcome(LoginOutcome::default(), &mut ignored);
            }
        }
    }
}

impl<S> App<ratatui::backend::TestBackend, S>
where
    S: Stream<Item = io::Result<Event>> + Unpin,
{
    /// For tests: change the test terminal's size and draw again, as a resize would.
    pub fn resize(&mut self, width: u16, height: u16) -> anyhow::Result<()> {
        self.terminal.backend_mut().resize(width, height);
        self.terminal.resize(Rect::new(0, 0, width, height))?;
        self.draw()
    }
}

fn command_name(command: &Command) -> &'static str {
    match command {
        Command::OpenHelp => "open help",
        Command::CloseScreen => "close screen",
        Command::ClosePopup => "close popup",
        Command::NewConnector => "new connector",
        Command::EditConnector(_) => "edit connector",
        Command::AskDuplicate(_) => "ask duplicate",
        Command::Duplicate { .. } => "duplicate",
        Command::AskDelete(_) => "ask delete",
        Command::Delete { .. } => "delete",
        Command::StartLogin(_) => "start login",
        Command::StartDeviceLogin(_) => "start device login",
        Command::AskLogout(_) => "ask logout",
        Command::Logout(_) => "logout",
        Command::Save { .. } => "save",
        Command::CheckDiscovery { .. } => "check discovery",
        Command::FetchEndpoints { .. } => "fetch endpoints",
        Command::FindRealm { .. } => "find realm",
        Command::Confirm { .. } => "confirm",
        Command::RecordTest { .. } => "record test",
        Command::Copy(_) => "copy",
        Command::ShowError { .. } => "show error",
        Command::AskLeaveWizard { .. } => "ask leave wizard",
    }
}
