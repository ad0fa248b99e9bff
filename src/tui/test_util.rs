//! Helpers for widget and screen tests: buffers as plain text lines.

use ratatui::buffer::Buffer;

/// Each row of a buffer as text, wide characters counted once, styles ignored.
pub fn lines(buf: &Buffer) -> Vec<String> {
    let width = buf.area.width as usize;
    buf.content
        .chunks(width.max(1))
        .map(|row| {
            let mut line = String::new();
            let mut skip = 0usize;
            for cell in row {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                line.push_str(cell.symbol());
                skip = unicode_width::UnicodeWidthStr::width(cell.symbol()).saturating_sub(1);
            }
            line
        })
        .collect()
}

/// The whole buffer as one string, rows joined by newlines; handy for `contains` checks.
pub fn text(buf: &Buffer) -> String {
    lines(buf).join("\n")
}

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use futures::channel::mpsc::{UnboundedSender, unbounded};
use futures::future::BoxFuture;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{
    Event, KeyCode, KeyEvent, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use time::OffsetDateTime;

use crate::core::Context;
use crate::core::connector::{Auth, Connector, ConnectorId, OAuth2Auth, OpenIdAuth, Param};
use crate::core::ifs::discover::Discovery;
use crate::core::login::discovery::{CheckItem, DiscoveryCheck, ProviderMetadata};
use crate::core::login::{
    Claims, DevicePrompt, ErrorKind, LoginError, LoginEvent, LoginOutcome, ProbeResult,
    SignatureStatus, Step, StepReport,
};
use crate::core::paths::Paths;
use crate::core::secrets::{MemorySecrets, SecretsError};
use crate::core::store::Config;
use crate::core::tokens::{LoggedOut, Revocation, TokenState};
use crate::core::workspace::SecretChange;
use crate::tui::app::{App, AppOptions};
use crate::tui::clipboard::MemoryClipboard;
use crate::tui::engine::{DeviceRun, Engine, LoginRun};
use crate::tui::keymap::Keymap;
use crate::tui::theme::Theme;

/// Snapshots and "3m ago" need a clock that stands still.
pub fn fixed_now() -> OffsetDateTime {
    time::macros::datetime!(2025-11-27 12:00 UTC)
}

pub const ISSUER: &str = "https://ifs.example.com/auth/realms/prod";

pub fn metadata() -> ProviderMetadata {
    let endpoint = |path: &str| Some(format!("{ISSUER}/protocol/openid-connect/{path}"));
    ProviderMetadata {
        issuer: Some(ISSUER.into()),
        authorization_endpoint: endpoint("auth"),
        token_endpoint: endpoint("token"),
        userinfo_endpoint: endpoint("userinfo"),
        jwks_uri: endpoint("certs"),
        revocation_endpoint: endpoint("revoke"),
        device_authorization_endpoint: endpoint("auth/device"),
        pushed_authorization_request_endpoint: endpoint("ext/par/request"),
        id_token_signing_alg_values_supported: vec!["RS256".into()],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic".into()],
        code_challenge_methods_supported: vec!["S256".into()],
        authorization_response_iss_parameter_supported: true,
        raw: serde_json::Value::Null,
    }
}

pub fn passing_check() -> DiscoveryCheck {
    let item = |label, detail: &str| CheckItem {
        label,
        enabled: true,
        ok: true,
        detail: detail.into(),
    };
    DiscoveryCheck {
        discovery_url: format!("{ISSUER}/.well-known/openid-configuration"),
        metadata: Some(metadata()),
        items: vec![
            item("HTTPS", "every endpoint uses https"),
            item("Validate Issuer Name", "issuer equals the authority"),
            item(
                "Validate Endpoints",
                "all 9 endpoints are under the authority",
            ),
            item(
                "Validate Token Issuer Name",
                "checked on the ID token at login",
            ),
        ],
        error: None,
    }
}

pub fn failing_check() -> DiscoveryCheck {
    let mut check = passing_check();
    check.items[1] = CheckItem {
        label: "Validate Issuer Name",
        enabled: true,
        ok: false,
        detail: "issuer https://login.example.com/prod differs from the authority".into(),
    };
    check.items[3].enabled = false;
    check.error = Some(
        LoginError::new(
            ErrorKind::IssuerMismatch,
            "the discovery issuer is not the authority",
        )
        .with_hint("use the issuer as the Authority URL, or turn Validate Issuer Name off"),
    );
    check
}

fn report(step: Step, ms: u64, detail: &str) -> StepReport {
    StepReport {
        step,
        ok: true,
        ms,
        detail: detail.into(),
    }
}

/// The events of a login that reached the browser.
pub fn events_until_browser() -> Vec<LoginEvent> {
    vec![
        LoginEvent::Started(Step::Discovery),
        LoginEvent::Finished(report(
            Step::Discovery,
            112,
            "issuer matches, endpoints under the authority",
        )),
        LoginEvent::Started(Step::Jwks),
        LoginEvent::Finished(report(Step::Jwks, 35, "2 keys (RS256)")),
        LoginEvent::Started(Step::Listener),
        LoginEvent::Finished(report(Step::Listener, 0, "http://127.0.0.1:54321/callback")),
        LoginEvent::Started(Step::Browser),
        LoginEvent::OpenUrl {
            url: format!(
                "{ISSUER}/protocol/openid-connect/auth?client_id=flow&redirect_uri=http%3A%2F%2F127.0.0.1%3A54321%2Fcallback&response_type=code&scope=openid&state=Zx81&code_challenge=q2M&code_challenge_method=S256&nonce=n0"
            ),
            browser_opened: false,
            browser_note: Some("no display and $BROWSER is not set".into()),
            timeout_secs: 300,
        },
    ]
}

pub fn passing_outcome() -> LoginOutcome {
    let steps = vec![
        report(
            Step::Discovery,
            112,
            "issuer matches, endpoints under the authority",
        ),
        report(Step::Jwks, 35, "2 keys (RS256)"),
        report(Step::Listener, 0, "http://127.0.0.1:54321/callback"),
        report(Step::Browser, 4210, "signed in"),
        report(Step::Token, 88, "HTTP 200"),
        report(Step::IdToken, 2, "RS256, iss and aud match"),
        report(Step::Userinfo, 41, "HTTP 200"),
        report(Step::Probe, 63, "HTTP 200"),
    ];
    LoginOutcome {
        ok: true,
        steps,
        claims: Some(Claims {
            iss: Some(ISSUER.into()),
            sub: Some("0b6f0e7a-7b1c".into()),
            aud: vec!["flow".into()],
            email: Some("alice@example.com".into()),
            name: Some("Alice Andersson".into()),
            upn: None,
            expires_at: Some("2025-11-27T12:05:00Z".into()),
            scope: Some("openid profile email".into()),
            refresh_token: true,
            signature: Some(SignatureStatus::Verified { alg: "RS256".into() }),
        }),
        probe: Some(ProbeResult {
            url: "https://ifs.example.com/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()".into(),
            status: Some(200),
            ms: 63,
            user: None,
        }),
        error: None,
    }
}

pub fn failing_outcome() -> LoginOutcome {
    LoginOutcome {
        ok: false,
        steps: vec![
            report(Step::Discovery, 98, "issuer matches"),
            report(Step::Listener, 0, "http://127.0.0.1:54321/callback"),
            report(Step::Browser, 3120, "redirect received"),
            StepReport { step: Step::Token, ok: false, ms: 75, detail: "HTTP 400 invalid_grant".into() },
        ],
        claims: None,
        probe: None,
        error: Some(
            LoginError::new(ErrorKind::TokenRequest, "The token endpoint refused the code: invalid_grant (Code not valid)")
                .with_hint("Check that the Redirect URI registered on the IAM client is http://127.0.0.1/callback"),
        ),
    }
}

/// What a provider hands out for a device login (Keycloak's URI shape).
pub fn device_prompt() -> DevicePrompt {
    let uri = format!("{ISSUER}/device");
    DevicePrompt {
        verification_uri_complete: Some(format!("{uri}?user_code=WDJB-MJHT")),
        verification_uri: uri,
        user_code: "WDJB-MJHT".into(),
        expires_in: 600,
    }
}

/// The events of a device login up to the wait for approval.
pub fn events_until_device_approval() -> Vec<LoginEvent> {
    vec![
        LoginEvent::Started(Step::Discovery),
        LoginEvent::Finished(report(Step::Discovery, 112, "issuer matches")),
        LoginEvent::Started(Step::DeviceApproval),
    ]
}

/// A passing device login: the approval in place of listener, browser and redirect.
pub fn passing_device_outcome() -> LoginOutcome {
    let mut outcome = passing_outcome();
    outcome
        .steps
        .retain(|r| !matches!(r.step, Step::Listener | Step::Browser | Step::Callback));
    outcome
        .steps
        .insert(2, report(Step::DeviceApproval, 9120, "approved"));
    outcome
}

/// A provider that answers from a script, records what it was asked, and can be told to
/// wait for a pasted URL or a cancel, like a real login waiting on the browser.
#[derive(Default)]
pub struct FakeEngine {
    pub check: Mutex<Option<DiscoveryCheck>>,
    pub metadata: Mutex<Option<Result<ProviderMetadata, LoginError>>>,
    pub events: Mutex<Vec<LoginEvent>>,
    pub outcome: Mutex<Option<LoginOutcome>>,
    pub wait: AtomicBool,
    pub logins: Mutex<Vec<Connector>>,
    pub pasted: Arc<Mutex<Vec<String>>>,
    pub cancelled: Arc<AtomicBool>,
    /// What the keyring holds per connector; missing means nothing stored.
    pub token_states: Mutex<HashMap<ConnectorId, TokenState>>,
    /// Connectors logged out, in order.
    pub logouts: Mutex<Vec<ConnectorId>>,
    pub device_logins: Mutex<Vec<Connector>>,
    /// The device prompt to hand out; `device_prompt()` when unset.
    pub prompt: Mutex<Option<DevicePrompt>>,
    /// A device login waiting (`wait`) goes on when this is notified: the user approved.
    pub approve: Arc<tokio::sync::Notify>,
    /// The provider has no device authorization endpoint.
    pub no_device: AtomicBool,
    pub browser_problem: Mutex<Option<String>>,
    /// The CA file each discovery check or fetch was asked to trust, in order.
    pub ca_files: Mutex<Vec<Option<String>>>,
    /// The URLs the OAuth2 step's fill fetched.
    pub fetched: Mutex<Vec<String>>,
    /// What "Find" answers; a realm under the Base URL when unset.
    pub realm: Mutex<Option<Result<Discovery, String>>>,
}

/// What `discover` reports for an IFS Cloud at `base_url` whose realm is `prod`.
pub fn found_realm(base_url: &str) -> Discovery {
    use crate::core::ifs::discover::Found;
    let authority = format!("{base_url}/auth/realms/prod");
    Discovery {
        base_url: base_url.to_owned(),
        tried: Vec::new(),
        found: Some(Found {
            discovery_url: crate::core::validate::discovery_url(&authority),
            authority,
            realm: "prod".into(),
            found_at: format!("the Location header of {base_url}/main/ifsapplications/web/"),
            web_client_id: Some("IFS_aurena".into()),
        }),
    }
}

impl Engine for FakeEngine {
    fn check_discovery(
        &self,
        _auth: OpenIdAuth,
        ca_file: Option<String>,
    ) -> BoxFuture<'static, DiscoveryCheck> {
        self.ca_files.lock().unwrap().push(ca_file);
        let check = self
            .check
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(passing_check);
        Box::pin(async move { check })
    }

    fn find_realm(&self, base_url: String) -> BoxFuture<'static, Result<Discovery, String>> {
        let found = self.realm.lock().unwrap().clone();
        Box::pin(async move { found.unwrap_or_else(|| Ok(found_realm(&base_url))) })
    }

    fn fetch_discovery(
        &self,
        url: String,
        ca_file: Option<String>,
    ) -> BoxFuture<'static, Result<ProviderMetadata, LoginError>> {
        self.ca_files.lock().unwrap().push(ca_file);
        self.fetched.lock().unwrap().push(url);
        let result = self
            .metadata
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(|| Ok(metadata()));
        Box::pin(async move { result })
    }

    fn login(&self, run: LoginRun) -> BoxFuture<'static, LoginOutcome> {
        self.logins.lock().unwrap().push(run.connector.clone());
        let events = self.events.lock().unwrap().clone();
        let outcome = self
            .outcome
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(passing_outcome);
        let wait = self.wait.load(Ordering::SeqCst);
        let (pasted, cancelled) = (Arc::clone(&self.pasted), Arc::clone(&self.cancelled));
        let LoginRun {
            events: tx,
            pasted: mut pasted_rx,
            cancel,
            ..
        } = run;
        Box::pin(async move {
            for event in events {
                let _ = tx.send(event);
            }
            if wait {
                tokio::select! {
                    Some(url) = pasted_rx.recv() => pasted.lock().unwrap().push(url),
                    () = cancel.cancelled() => return cancelled_outcome(&cancelled),
                }
            }
            outcome
        })
    }

    fn device_login(&self, run: DeviceRun) -> BoxFuture<'static, LoginOutcome> {
        self.device_logins
            .lock()
            .unwrap()
            .push(run.connector.clone());
        let events = self.events.lock().unwrap().clone();
        let outcome = self
            .outcome
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(passing_device_outcome);
        let wait = self.wait.load(Ordering::SeqCst);
        let (approve, cancelled) = (Arc::clone(&self.approve), Arc::clone(&self.cancelled));
        let prompt = self
            .prompt
            .lock()
            .unwrap()
            .clone()
            .unwrap_or_else(device_prompt);
        Box::pin(async move {
            let _ = run.prompts.send(prompt);
            for event in events {
                let _ = run.events.send(event);
            }
            if wait {
                tokio::select! {
                    () = approve.notified() => {}
                    () = run.cancel.cancelled() => return cancelled_outcome(&cancelled),
                }
            }
            outcome
        })
    }

    fn supports_device_login(&self, _connector: Connector) -> BoxFuture<'static, bool> {
        let supported = !self.no_device.load(Ordering::SeqCst);
        Box::pin(async move { supported })
    }

    fn browser_problem(&self) -> Option<String> {
        self.browser_problem.lock().unwrap().clone()
    }

    fn token_state(&self, id: ConnectorId) -> BoxFuture<'static, Result<TokenState, SecretsError>> {
        let state = self
            .token_states
            .lock()
            .unwrap()
            .get(&id)
            .copied()
            .unwrap_or(TokenState::None);
        Box::pin(async move { Ok(state) })
    }

    /// Like the core: revoke, then nothing is stored any more.
    fn logout(&self, connector: Connector) -> BoxFuture<'static, Result<LoggedOut, SecretsError>> {
        self.logouts.lock().unwrap().push(connector.id.clone());
        let had = self.token_states.lock().unwrap().remove(&connector.id);
        let done = match had {
            None | Some(TokenState::None) => LoggedOut {
                revocation: None,
                access_token_deleted: false,
            },
            Some(state) => LoggedOut {
                revocation: Some(Revocation::Revoked {
                    endpoint: format!("{ISSUER}/protocol/openid-connect/revoke"),
                }),
                access_token_deleted: matches!(
                    state,
                    TokenState::LoggedInUntil(_) | TokenState::Expired
                ),
            },
        };
        Box::pin(async move { Ok(done) })
    }
}

pub type TestApp = App<TestBackend, futures::channel::mpsc::UnboundedReceiver<io::Result<Event>>>;

/// The whole app on a `TestBackend`, keys pushed through a channel, a temp config dir,
/// secrets in memory and the scripted engine.
pub struct Harness {
    pub app: TestApp,
    keys: UnboundedSender<io::Result<Event>>,
    _dir: tempfile::TempDir,
    pub context: Context,
    pub secrets: Arc<MemorySecrets>,
    pub engine: Arc<FakeEngine>,
    pub clipboard: MemoryClipboard,
}

impl Harness {
    pub async fn new(width: u16, height: u16) -> Self {
        Self::with(width, height, |_| {}).await
    }

    /// `seed` fills the config before the app starts.
    pub async fn with(width: u16, height: u16, seed: impl FnOnce(&Context)) -> Self {
        Self::build(width, height, |context, _| seed(context)).await
    }

    /// Seeded connectors with these token states in the (fake) keyring, by name.
    pub async fn with_tokens(width: u16, height: u16, tokens: &[(&str, TokenState)]) -> Self {
        Self::build(width, height, |context, engine| {
            seed_connectors(context);
            let config = context.workspace.store().load().unwrap();
            let mut states = engine.token_states.lock().unwrap();
            for (name, state) in tokens {
                states.insert(config.find(name).unwrap().id.clone(), *state);
            }
        })
        .await
    }

    /// `prepare` fills the config and scripts the engine before the app starts.
    pub async fn build(
        width: u16,
        height: u16,
        prepare: impl FnOnce(&Context, &FakeEngine),
    ) -> Self {
        Self::start(width, height, prepare, Keymap::default()).await
    }

    /// Seeded connectors and a key table of the test's own.
    pub async fn with_keymap(width: u16, height: u16, keymap: Keymap) -> Self {
        Self::start(width, height, |context, _| seed_connectors(context), keymap).await
    }

    async fn start(
        width: u16,
        height: u16,
        prepare: impl FnOnce(&Context, &FakeEngine),
        keymap: Keymap,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let secrets = Arc::new(MemorySecrets::default());
        let context = Context::new(Paths::under(dir.path()), secrets.clone());
        let engine = Arc::new(FakeEngine::default());
        prepare(&context, &engine);
        let clipboard = MemoryClipboard::default();
        let options = AppOptions {
            theme: Theme::monochrome(),
            engine: engine.clone(),
            clipboard: Box::new(clipboard.clone()),
            clock: fixed_now,
            keymap,
            first_frame_log: None,
        };
        let (keys, input) = unbounded();
        let terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
        let mut app = App::new(terminal, input, context.clone(), options);
        app.settle().await.unwrap();
        Self {
            app,
            keys,
            _dir: dir,
            context,
            secrets,
            engine,
            clipboard,
        }
    }

    fn send(&self, event: Event) {
        self.keys.unbounded_send(Ok(event)).unwrap();
    }

    pub fn key(&self, code: KeyCode) -> &Self {
        self.send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)));
        self
    }

    pub fn ctrl(&self, c: char) -> &Self {
        self.send(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::CONTROL,
        )));
        self
    }

    pub fn alt(&self, c: char) -> &Self {
        self.send(Event::Key(KeyEvent::new(
            KeyCode::Char(c),
            KeyModifiers::ALT,
        )));
        self
    }

    pub fn type_text(&self, text: &str) -> &Self {
        for c in text.chars() {
            self.key(KeyCode::Char(c));
        }
        self
    }

    pub fn paste(&self, text: &str) -> &Self {
        self.send(Event::Paste(text.into()));
        self
    }

    pub fn click(&self, column: u16, row: u16) -> &Self {
        self.send(Event::Mouse(MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column,
            row,
            modifiers: KeyModifiers::NONE,
        }));
        self
    }

    pub fn scroll_down(&self) -> &Self {
        self.send(Event::Mouse(MouseEvent {
            kind: MouseEventKind::ScrollDown,
            column: 10,
            row: 10,
            modifiers: KeyModifiers::NONE,
        }));
        self
    }

    pub async fn settle(&mut self) {
        self.app.settle().await.unwrap();
    }

    pub fn screen(&self) -> String {
        text(self.app.backend().buffer())
    }

    pub fn config(&self) -> Config {
        self.context.workspace.store().load().unwrap()
    }
}

/// Connectors for list screens: one of each type, with and without test results.
pub fn seed_connectors(context: &Context) {
    let ws = &context.workspace;
    ws.add_group("eu-agents").unwrap();
    let mut prod = Connector::new(
        "IFS production",
        Auth::OpenId(OpenIdAuth {
            authority_url: ISSUER.into(),
            client_id: "flow".into(),
            extra_params: vec![Param::new("prompt", "select_account")],
            ..OpenIdAuth::default()
        }),
    );
    prod.base_url = "https://ifs.example.com".into();
    let prod = ws.save(prod, SecretChange::Keep).unwrap();
    ws.record_test(
        &prod.id,
        crate::core::connector::LastTest {
            ok: true,
            at: fixed_now() - time::Duration::minutes(3),
            summary: "signed in as alice@example.com".into(),
            ifs_user: None,
        },
    )
    .unwrap();
    let mut test = Connector::new(
        "IFS test",
        Auth::OAuth2(OAuth2Auth {
            authorization_endpoint:
                "https://test.ifs.example.com/auth/realms/test/protocol/openid-connect/auth".into(),
            token_endpoint:
                "https://test.ifs.example.com/auth/realms/test/protocol/openid-connect/token".into(),
            client_id: "flow-test".into(),
            ..OAuth2Auth::default()
        }),
    );
    test.base_url = "https://test.ifs.example.com".into();
    test.agent_group = "eu-agents".into();
    let test = ws
        .save(test, SecretChange::Set("s3cret-value".to_owned().into()))
        .unwrap();
    ws.record_test(
        &test.id,
        crate::core::connector::LastTest {
            ok: false,
            at: fixed_now() - time::Duration::hours(2),
            summary: "the token endpoint refused the client secret".into(),
            ifs_user: None,
        },
    )
    .unwrap();
    let mut dev = Connector::new(
        "Developer sandbox",
        Auth::OpenId(OpenIdAuth {
            authority_url: "https://dev.ifs.example.com/auth/realms/dev".into(),
            client_id: "flow-dev".into(),
            ..OpenIdAuth::default()
        }),
    );
    dev.base_url = "https://dev.ifs.example.com".into();
    ws.save(dev, SecretChange::Keep).unwrap();
}

/// What the scripted engine answers when a login is cancelled; it notes that it was.
fn cancelled_outcome(cancelled: &AtomicBool) -> LoginOutcome {
    cancelled.store(true, Ordering::SeqCst);
    LoginOutcome {
        ok: false,
        error: Some(LoginError::new(ErrorKind::Cancelled, "cancelled")),
        ..LoginOutcome::default()
    }
}
