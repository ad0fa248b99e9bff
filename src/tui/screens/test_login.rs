//! A test login, live: the engine's steps as they happen (spinner, ✓/✗, timings), the URL
//! in full with an OSC 52 copy key, the countdown, a paste box for a redirect caught in a
//! browser elsewhere, and then the result with the plain explanation of a failure.
//!
//! The screen owns the login's cancellation token: leaving the screen, or `Esc`, cancels
//! it, and the engine closes its loopback listener.
//!
//! The same screen runs a device login (RFC 8628) when asked with `d`: the user code, the
//! URI and a QR code take the place of the URL and the paste box. It is offered when the
//! provider advertises it, and suggested when no browser can be opened here.

use std::time::{Duration, Instant};

use ratatui::Frame;
use ratatui::crossterm::event::{MouseButton, MouseEventKind};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Wrap};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::connector::Connector;
use crate::core::describe;
use crate::core::login::{DevicePrompt, LoginEvent, LoginOutcome, Step, StepReport};
use crate::tui::command::Command;
use crate::tui::component::{Component, Draw, DrawCx, EventCx, EventResult, Input, is_shared_key};
use crate::tui::keymap::{Action, Scope};
use crate::tui::theme::Theme;
use crate::tui::widgets::device_code::DeviceCode;
use crate::tui::widgets::spinner;
use crate::tui::widgets::text_field::{FieldRow, TextField};

#[derive(Debug, Clone, PartialEq, Eq)]
enum StepLine {
    Running(Step),
    Done(StepReport),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenUrl {
    url: String,
    browser_opened: bool,
    browser_note: Option<String>,
}

#[derive(Debug)]
pub struct TestLoginScreen {
    run: u64,
    connector: Connector,
    steps: Vec<StepLine>,
    open_url: Option<OpenUrl>,
    deadline: Option<Instant>,
    remaining_secs: Option<u64>,
    paste: TextField,
    paste_focused: bool,
    note: Option<String>,
    pasted: mpsc::Sender<String>,
    cancel: CancellationToken,
    cancelling: bool,
    outcome: Option<LoginOutcome>,
    scroll: u16,
    mode: Mode,
}

/// What kind of sign-in this run is, with what only that kind has.
#[derive(Debug)]
enum Mode {
    /// In a browser (or by pasting where it landed). A device code is suggested when the
    /// provider offers device login (`None` until discovery answered) and no browser can
    /// be opened here (`browser_problem` says why).
    Browser {
        device_supported: Option<bool>,
        browser_problem: Option<String>,
    },
    /// With a code entered on another device; the code and its QR once the provider
    /// handed them out.
    Device { code: Option<DeviceCode> },
}

impl Drop for TestLoginScreen {
    fn drop(&mut self) {
        // Leaving the screen by any path ends the login and frees its port.
        self.cancel.cancel();
    }
}

impl TestLoginScreen {
    pub fn new(
        run: u64,
        connector: Connector,
        pasted: mpsc::Sender<String>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            run,
            connector,
            steps: Vec::new(),
            open_url: None,
            deadline: None,
            remaining_secs: None,
            paste: TextField::default()
                .with_placeholder("http://127.0.0.1:…/callback?code=…&state=…"),
            paste_focused: false,
            note: None,
            pasted,
            cancel,
            cancelling: false,
            outcome: None,
            scroll: 0,
            mode: Mode::Browser {
                device_supported: None,
                browser_problem: None,
            },
        }
    }

    /// Make this run a device login (it never waits for a redirect).
    pub fn device_mode(mut self) -> Self {
        self.mode = Mode::Device { code: None };
        self
    }

    pub fn with_browser_problem(mut self, problem: Option<String>) -> Self {
        if let Mode::Browser {
            browser_problem, ..
        } = &mut self.mode
        {
            *browser_problem = problem;
        }
        self
    }

    /// "Test login: NAME" or "Device login: NAME", for the title bar and the header.
    pub fn title(&self) -> String {
        let kind = if self.is_device() {
            "Device login"
        } else {
            "Test login"
        };
        format!("{kind}: {}", self.connector.name)
    }

    fn is_device(&self) -> bool {
        matches!(self.mode, Mode::Device { .. })
    }

    fn device_code(&self) -> Option<&DeviceCode> {
        match &self.mode {
            Mode::Device { code } => code.as_ref(),
            Mode::Browser { .. } => None,
        }
    }

    /// A device login is only started where the provider offers it.
    fn device_supported(&self) -> Option<bool> {
        match &self.mode {
            Mode::Device { .. } => Some(true),
            Mode::Browser {
                device_supported, ..
            } => *device_supported,
        }
    }

    pub fn on_device_support(&mut self, supported: bool) {
        if let Mode::Browser {
            device_supported, ..
        } = &mut self.mode
        {
            *device_supported = Some(supported);
        }
    }

    /// The code to show; the countdown follows the code's lifetime.
    pub fn on_device_prompt(&mut self, prompt: &DevicePrompt, now: Instant) {
        if let Mode::Device { code } = &mut self.mode {
            *code = Some(DeviceCode::new(prompt));
        }
        self.deadline = Some(now + Duration::from_secs(prompt.expires_in));
        self.remaining_secs = Some(prompt.expires_in);
    }

    fn waiting_for_approval(&self) -> bool {
        self.is_running() && self.device_code().is_some()
    }

    pub fn run_id(&self) -> u64 {
        self.run
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    pub fn is_running(&self) -> bool {
        self.outcome.is_none()
    }

    fn waiting_for_redirect(&self) -> bool {
        self.is_running() && self.open_url.is_some()
    }

    pub fn on_event(&mut self, event: LoginEvent, now: Instant) {
        match event {
            LoginEvent::Started(step) => {
                self.steps.retain(|line| line != &StepLine::Running(step));
                self.steps.push(StepLine::Running(step));
            }
            LoginEvent::Finished(report) => {
                match self
                    .steps
                    .iter_mut()
                    .find(|line| matches!(line, StepLine::Running(s) if *s == report.step))
                {
                    Some(line) => *line = StepLine::Done(report),
                    None => self.steps.push(StepLine::Done(report)),
                }
            }
            LoginEvent::OpenUrl {
                url,
                browser_opened,
                browser_note,
                timeout_secs,
            } => {
                self.open_url = Some(OpenUrl {
                    url,
                    browser_opened,
                    browser_note,
                });
                self.deadline = Some(now + Duration::from_secs(timeout_secs));
                self.remaining_secs = Some(timeout_secs);
                // Nobody will click in a browser that did not open: offer the paste box.
                self.paste_focused = !browser_opened;
            }
            LoginEvent::Notice(text) => self.note = Some(text),
        }
    }

    /// The login ended; ask for the result to be remembered on the list (a cancelled
    /// test says nothing about the connector, so it is not recorded).
    pub fn on_outcome(
        &mut self,
        outcome: LoginOutcome,
        commands: &mut crate::tui::command::Commands,
    ) {
        if !outcome.steps.is_empty() {
            self.steps = outcome.steps.iter().cloned().map(StepLine::Done).collect();
        }
        self.paste_focused = false;
        if let Some(last) = describe::last_test(&outcome, time::OffsetDateTime::UNIX_EPOCH) {
            commands.push(Command::RecordTest {
                id: self.connector.id.clone(),
                last: Box::new(last),
            });
        }
        self.outcome = Some(outcome);
    }

    /// Advance the countdown; true when the shown number changed.
    pub fn tick(&mut self, now: Instant) -> bool {
        let Some(deadline) = self.deadline.filter(|_| self.is_running()) else {
            return false;
        };
        let left = deadline.saturating_duration_since(now);
        let secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let changed = self.remaining_secs != Some(secs);
        self.remaining_secs = Some(secs);
        changed
    }

    fn send_paste(&mut self) {
        let text = self.paste.value().trim().to_owned();
        if text.is_empty() {
            return;
        }
        self.note = Some(match self.pasted.try_send(text) {
            Ok(()) => "Sent the pasted URL to the login.".into(),
            Err(_) => "The login is no longer waiting for a redirect.".into(),
        });
        self.paste.set_value("");
    }

    fn on_action(&mut self, action: Action, cx: &mut EventCx<'_>) {
        match action {
            Action::Back if self.paste_focused => self.paste_focused = false,
            Action::Back if self.is_running() && !self.cancelling => {
                self.cancel.cancel();
                self.cancelling = true;
            }
            Action::Back => cx.commands.push(Command::CloseScreen),
            Action::CopyUrl => {
                let url = match (&self.open_url, self.device_code()) {
                    (Some(open), _) => Some(open.url.clone()),
                    (None, Some(code)) => Some(code.uri.clone()),
                    (None, None) => None,
                };
                if let Some(url) = url {
                    cx.commands.push(Command::Copy(url));
                    self.note = Some("Copied the URL to the terminal clipboard (OSC 52).".into());
                }
            }
            Action::DeviceLogin => self.ask_device_login(cx),
            Action::FocusPaste if self.waiting_for_redirect() => {
                self.paste_focused = !self.paste_focused
            }
            Action::Submit if self.paste_focused => self.send_paste(),
            Action::Retry if !self.is_running() => {
                let connector = Box::new(self.connector.clone());
                cx.commands.push(if self.is_device() {
                    Command::StartDeviceLogin(connector)
                } else {
                    Command::StartLogin(connector)
                });
            }
            Action::Up => self.scroll = self.scroll.saturating_sub(1),
            Action::Down => self.scroll = self.scroll.saturating_add(1).min(100),
            _ => {}
        }
    }

    /// `d`: switch to (or rerun) a device login, unless the provider said it has none or
    /// one is already waiting.
    fn ask_device_login(&mut self, cx: &mut EventCx<'_>) {
        if self.is_device() && self.is_running() {
            return;
        }
        if self.device_supported() == Some(false) {
            self.note = Some(
                "This provider does not offer device login (no device_authorization_endpoint in its discovery document)."
                    .into(),
            );
            return;
        }
        // Not known yet: try it; the login says plainly if the provider has none.
        cx.commands
            .push(Command::StartDeviceLogin(Box::new(self.connector.clone())));
    }

    fn areas(&self, area: Rect) -> (Rect, Rect, Rect) {
        let paste_height = if self.waiting_for_redirect() { 4 } else { 0 };
        let [header, body, paste] = Layout::vertical([
            Constraint::Length(2),
            Constraint::Fill(1),
            Constraint::Length(paste_height),
        ])
        .areas(area);
        (header, body, paste)
    }
}

impl Component for TestLoginScreen {
    fn handle(&mut self, input: &Input, cx: &mut EventCx<'_>) -> EventResult {
        if is_shared_key(input, cx.keymap, Scope::TestLogin) {
            return EventResult::Ignored;
        }
        self.on_input(input, cx);
        EventResult::Handled
    }

    fn scope(&self) -> Scope {
        Scope::TestLogin
    }
}

impl Draw for TestLoginScreen {
    fn draw(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let theme = cx.theme;
        let (header, body, paste) = self.areas(area);
        frame.render_widget(Paragraph::new(self.header_line(theme)), header);
        if let Some(code) = self.device_code().filter(|_| self.waiting_for_approval()) {
            let mut below = vec![self.approval_line(cx), Line::raw("")];
            below.extend(self.compact_step_lines(cx));
            if let Some(note) = &self.note {
                below.push(Line::styled(format!(" {note}"), theme.muted));
            }
            return code.draw(frame, body, below, theme);
        }
        let mut lines = self.step_lines(cx, body.width);
        if self.waiting_for_redirect() {
            lines.extend(self.url_lines(cx));
        }
        lines.extend(self.device_suggestion(cx));
        if let Some(outcome) = &self.outcome {
            lines.push(Line::raw(""));
            lines.extend(result_lines(outcome, cx));
        }
        if let Some(note) = &self.note {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!(" {note}"), theme.muted));
        }
        frame.render_widget(
            Paragraph::new(lines)
                .wrap(Wrap { trim: false })
                .scroll((self.scroll, 0)),
            body,
        );
        if paste.height > 0 {
            self.draw_paste(frame, paste, cx);
        }
    }
}

impl TestLoginScreen {
    fn header_line(&self, theme: &Theme) -> Line<'static> {
        let status = match &self.outcome {
            None if self.cancelling => Span::styled("cancelling…", theme.warning),
            None => Span::styled("running", theme.highlight),
            Some(o) if o.ok => Span::styled("✓ passed", theme.ok),
            Some(_) => Span::styled("✗ failed", theme.error),
        };
        Line::from(vec![
            Span::styled(format!(" {}", self.title()), theme.title),
            Span::styled(
                format!(" · {} · ", self.connector.auth_kind().label()),
                theme.muted,
            ),
            status,
        ])
    }

    fn step_lines(&self, cx: &DrawCx<'_>, width: u16) -> Vec<Line<'static>> {
        let theme = cx.theme;
        if self.steps.is_empty() {
            return vec![Line::styled(
                format!(" {} Starting…", spinner::frame(cx.tick)),
                theme.muted,
            )];
        }
        let detail_width = usize::from(width).saturating_sub(DETAIL_COLUMN).max(20);
        let mut lines = Vec::new();
        for line in &self.steps {
            match line {
                StepLine::Running(step) => lines.push(Line::from(vec![
                    Span::styled(format!(" {} ", spinner::frame(cx.tick)), theme.highlight),
                    Span::raw(format!("{:<24}", step.label())),
                    Span::styled(self.running_detail(*step), theme.muted),
                ])),
                StepLine::Done(report) => {
                    let (mark, style) = if report.ok {
                        ("✓", theme.ok)
                    } else {
                        ("✗", theme.error)
                    };
                    // Details are often URLs; they continue under their own column so
                    // the marks and timings stay a clean column at any width.
                    let mut detail = wrap_detail(&report.detail, detail_width).into_iter();
                    lines.push(Line::from(vec![
                        Span::styled(format!(" {mark} "), style),
                        Span::raw(format!("{:<24}", report.step.label())),
                        Span::styled(format!("{:>6} ms  ", report.ms), theme.muted),
                        Span::raw(detail.next().unwrap_or_default()),
                    ]));
                    lines.extend(
                        detail.map(|rest| Line::raw(format!("{:DETAIL_COLUMN$}{rest}", ""))),
                    );
                }
            }
        }
        lines
    }

    /// Under the device code: the countdown and how to stop.
    fn approval_line(&self, cx: &DrawCx<'_>) -> Line<'static> {
        let theme = cx.theme;
        let countdown = self
            .remaining_secs
            .map(|s| format!("{} left", clock(s)))
            .unwrap_or_default();
        Line::from(vec![
            Span::styled(" ", theme.muted),
            Span::styled(countdown, theme.warning),
            Span::raw(" · "),
            Span::styled(cx.keymap.key_for(Scope::TestLogin, Action::Back), theme.key),
            Span::raw(" cancels"),
        ])
    }

    /// Steps beside the QR code: marks and names only, the details would not fit.
    fn compact_step_lines(&self, cx: &DrawCx<'_>) -> Vec<Line<'static>> {
        let theme = cx.theme;
        self.steps
            .iter()
            .map(|line| match line {
                StepLine::Running(step) => Line::from(vec![
                    Span::styled(format!(" {} ", spinner::frame(cx.tick)), theme.highlight),
                    Span::raw(step.label()),
                ]),
                StepLine::Done(report) => {
                    let (mark, style) = if report.ok {
                        ("✓", theme.ok)
                    } else {
                        ("✗", theme.error)
                    };
                    Line::from(vec![
                        Span::styled(format!(" {mark} "), style),
                        Span::raw(report.step.label()),
                    ])
                }
            })
            .collect()
    }

    /// While a browser login runs where no browser can open, point at the device flow
    /// (only when the provider offers it).
    fn device_suggestion(&self, cx: &DrawCx<'_>) -> Vec<Line<'static>> {
        let Mode::Browser {
            device_supported: Some(true),
            browser_problem: Some(why),
        } = &self.mode
        else {
            return Vec::new();
        };
        if !self.is_running() {
            return Vec::new();
        }
        // In the paste box letters are text: name the key that works from there.
        let keys = cx.keymap.keys_for(Scope::TestLogin, Action::DeviceLogin);
        let key = keys
            .iter()
            .find(|k| k.starts_with("Ctrl-") == self.paste_focused)
            .or(keys.first())
            .cloned()
            .unwrap_or_default();
        vec![
            Line::raw(""),
            Line::from(vec![
                Span::styled(
                    format!(" No browser can be opened here ({why}). Press "),
                    cx.theme.label,
                ),
                Span::styled(key, cx.theme.key),
                Span::styled(
                    " to sign in with a device code on your phone instead.",
                    cx.theme.label,
                ),
            ]),
        ]
    }

    fn running_detail(&self, step: Step) -> String {
        match (step, self.remaining_secs) {
            (Step::Browser | Step::Callback, Some(_)) => "   waiting for the redirect".into(),
            (Step::DeviceApproval, Some(_)) => "   waiting for approval".into(),
            _ => String::new(),
        }
    }

    fn url_lines(&self, cx: &DrawCx<'_>) -> Vec<Line<'static>> {
        let (theme, keys) = (cx.theme, cx.keymap);
        let Some(open) = &self.open_url else {
            return Vec::new();
        };
        let intro = if open.browser_opened {
            "Sign in in the browser window that opened. If it did not, open this URL:".to_owned()
        } else {
            let why = open.browser_note.as_deref().unwrap_or("no browser here");
            format!("No browser was opened ({why}). Open this URL on any machine:")
        };
        let countdown = self
            .remaining_secs
            .map(|s| format!("{} left", clock(s)))
            .unwrap_or_default();
        vec![
            Line::raw(""),
            Line::styled(format!(" {intro}"), theme.label),
            Line::styled(open.url.clone(), theme.highlight),
            Line::from(vec![
                Span::styled(
                    format!(" {}", keys.key_for(Scope::TestLogin, Action::CopyUrl)),
                    theme.key,
                ),
                Span::raw(" copies it (OSC 52) · "),
                Span::styled(countdown, theme.warning),
                Span::raw(" · "),
                Span::styled(keys.key_for(Scope::TestLogin, Action::Back), theme.key),
                Span::raw(" cancels"),
            ]),
        ]
    }

    fn draw_paste(&self, frame: &mut Frame<'_>, area: Rect, cx: &DrawCx<'_>) {
        let (theme, keys) = (cx.theme, cx.keymap);
        let intro = Rect {
            height: 1,
            y: area.y + 1,
            ..area
        };
        frame.render_widget(
            Paragraph::new(
                " Browser on another machine? After signing in, paste the address it landed on:",
            )
            .style(theme.muted),
            intro,
        );
        let row = Rect {
            y: area.y + 2,
            height: FieldRow::HEIGHT,
            ..area
        };
        let help = if self.paste_focused {
            format!(
                "{} sends it to the login · {} leaves the box",
                keys.key_for(Scope::TestLogin, Action::Submit),
                keys.key_for(Scope::TestLogin, Action::Back)
            )
        } else {
            format!(
                "{} to type here; a terminal paste lands here too",
                keys.keys_for(Scope::TestLogin, Action::FocusPaste)
                    .join(" or ")
            )
        };
        let field = FieldRow {
            label: "Redirected URL",
            field: &self.paste,
            help: &help,
            focused: self.paste_focused,
            label_width: 18,
        };
        if let Some(cursor) = field.render(row, frame.buffer_mut(), theme) {
            frame.set_cursor_position(cursor);
        }
    }
}

/// Where a finished step's detail starts: " ✓ " + a 24-wide label + "123456 ms  ".
const DETAIL_COLUMN: usize = 3 + 24 + 11;

/// Break `text` into lines of at most `width` characters, at spaces where it can and
/// inside a word (a long URL) where it must.
fn wrap_detail(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if needed > width && !current.is_empty() {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        for c in word.chars() {
            if current.chars().count() == width {
                lines.push(std::mem::take(&mut current));
            }
            current.push(c);
        }
    }
    lines.push(current);
    lines
}

fn clock(secs: u64) -> String {
    format!("{}:{:02}", secs / 60, secs % 60)
}

fn row(label: &str, value: String, theme: &Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("   {label:<15}"), theme.label),
        Span::raw(value),
    ])
}

fn result_lines(outcome: &LoginOutcome, cx: &DrawCx<'_>) -> Vec<Line<'static>> {
    let theme = cx.theme;
    let mut lines = Vec::new();
    if outcome.ok {
        lines.push(Line::styled(
            format!(" ✓ Login works: {}", describe::summary(outcome)),
            theme.ok,
        ));
    } else if let Some(error) = &outcome.error {
        lines.push(Line::styled(format!(" ✗ {}", error.message), theme.error));
        if let Some(hint) = &error.hint {
            lines.push(Line::from(vec![
                Span::styled("   Fix: ", theme.label),
                Span::raw(hint.clone()),
            ]));
        }
        lines.push(Line::styled(
            format!("   ({})", error.kind.as_str()),
            theme.muted,
        ));
    } else {
        lines.push(Line::styled(" ✗ The login failed", theme.error));
    }
    if let Some(claims) = &outcome.claims {
        for (label, value) in describe::claim_rows(claims) {
            lines.push(row(label, value, theme));
        }
    }
    if let Some(probe) = &outcome.probe {
        let status = probe
            .status
            .map_or("no answer".to_owned(), |s| format!("HTTP {s}"));
        lines.push(row(
            "API probe",
            format!("{status} in {} ms", probe.ms),
            theme,
        ));
        lines.push(row("", probe.url.clone(), theme));
    }
    lines.push(Line::raw(""));
    lines.push(Line::styled(
        format!(
            " {} runs it again · {} goes back to the list",
            cx.keymap.key_for(Scope::TestLogin, Action::Retry),
            cx.keymap.key_for(Scope::TestLogin, Action::Back)
        ),
        theme.muted,
    ));
    lines
}

impl TestLoginScreen {
    fn on_input(&mut self, input: &Input, cx: &mut EventCx<'_>) {
        match input {
            Input::Key(key) => {
                if self.paste_focused && self.paste.handle_key(key) {
                    return;
                }
                if let Some(action) = cx.keymap.action(Scope::TestLogin, key) {
                    // While typing in the paste box, plain letters were text (above); the
                    // letter bindings must not fire from there either.
                    let letter = matches!(key.code, ratatui::crossterm::event::KeyCode::Char(_))
                        && key.modifiers.is_empty();
                    if !(self.paste_focused && letter) {
                        self.on_action(action, cx);
                    }
                }
            }
            Input::Paste(text) if self.waiting_for_redirect() => {
                self.paste_focused = true;
                self.paste.paste(text);
            }
            Input::Mouse(mouse) => match mouse.kind {
                MouseEventKind::ScrollDown => self.on_action(Action::Down, cx),
                MouseEventKind::ScrollUp => self.on_action(Action::Up, cx),
                MouseEventKind::Down(MouseButton::Left) => {
                    let (_, _, paste) = self.areas(cx.area);
                    if paste.height > 0 && mouse.row >= paste.y && mouse.row < paste.bottom() {
                        self.paste_focused = true;
                    }
                }
                _ => {}
            },
            Input::Paste(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::wrap_detail;

    #[test]
    fn details_wrap_at_spaces_and_split_long_urls() {
        assert_eq!(wrap_detail("short", 20), ["short"]);
        assert_eq!(
            wrap_detail("issuer http://127.0.0.1:4/auth/realms/ifs", 20),
            ["issuer", "http://127.0.0.1:4/a", "uth/realms/ifs"]
        );
        assert_eq!(wrap_detail("one two three", 7), ["one two", "three"]);
        assert_eq!(wrap_detail("", 10), [""]);
        for line in wrap_detail(&"x".repeat(95), 42) {
            assert!(line.chars().count() <= 42);
        }
    }
}
