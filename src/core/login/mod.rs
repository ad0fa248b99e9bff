//! The login engine: discovery, loopback redirect, browser consent, token exchange,
//! ID token validation, userinfo and an API probe.
//!
//! It reports progress as [`LoginEvent`]s so the CLI and the TUI show the same steps,
//! and returns a [`LoginOutcome`] that never contains a token or a secret.

use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use device::DevicePrompt;
pub use explain::{provider_text, redirect_uri_not_registered, registrable_redirect_uri};
pub use refresh::{RefreshFailure, Refreshed};
pub use revoke::Revoked;

mod authorize;
mod browser;
mod callback;
mod client_auth;
mod client_credentials;
mod device;
pub mod discovery;
mod explain;
mod flow;
pub(crate) mod http;
mod id_token;
mod loopback;
mod pkce;
pub mod policy;
mod probe;
mod provider;
mod proxy;
mod recorder;
mod refresh;
mod revoke;
mod rules;
mod token_endpoint;
mod trust;
mod userinfo;
mod verify;

/// The steps of a test login, in order. Not every login runs every step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Discovery,
    Jwks,
    Listener,
    Authorize,
    Browser,
    Callback,
    /// Waiting for the user to approve a device login (RFC 8628) elsewhere.
    DeviceApproval,
    Token,
    IdToken,
    /// A service user's access token, read (not verified) when it is a JWT.
    AccessToken,
    Userinfo,
    Probe,
    Keyring,
}

impl Step {
    pub fn label(self) -> &'static str {
        match self {
            Step::Discovery => "Discovery",
            Step::Jwks => "Signing keys (JWKS)",
            Step::Listener => "Loopback listener",
            Step::Authorize => "Authorization request",
            Step::Browser => "Browser",
            Step::Callback => "Redirect",
            Step::DeviceApproval => "Device approval",
            Step::Token => "Token exchange",
            Step::IdToken => "ID token",
            Step::AccessToken => "Access token",
            Step::Userinfo => "Userinfo",
            Step::Probe => "API probe",
            Step::Keyring => "Refresh token saved",
        }
    }
}

/// One finished step, as shown in the step list and in `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepReport {
    #[serde(rename = "name")]
    pub step: Step,
    pub ok: bool,
    pub ms: u64,
    /// One line for a person: "https://…/auth (PAR)", "port 54321", "HTTP 200".
    pub detail: String,
}

/// Progress, sent as it happens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginEvent {
    Started(Step),
    Finished(StepReport),
    /// The URL the user must visit. Shown in full so it can be copied; holds no secret.
    OpenUrl {
        url: String,
        /// Whether a browser was launched; when false the user must open the URL elsewhere
        /// and may paste the redirected URL back.
        browser_opened: bool,
        /// Why no browser was opened, when it was not.
        browser_note: Option<String>,
        /// Seconds until the wait for the redirect gives up.
        timeout_secs: u64,
    },
    /// Something the user should know that does not end the flow, e.g. "a redirect with the
    /// wrong state was ignored" or "the pasted URL was not accepted: …". Holds no secret.
    Notice(String),
}

/// Stable error kinds, printed by `login --json` and matched by tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Discovery,
    InsecureEndpoint,
    IssuerMismatch,
    EndpointOutsideAuthority,
    Browser,
    Timeout,
    Cancelled,
    AuthorizationDenied,
    CallbackIssuerMismatch,
    TokenRequest,
    IdTokenSignature,
    IdTokenAlgorithm,
    IdTokenIssuer,
    IdTokenAudience,
    IdTokenExpired,
    IdTokenClockSkew,
    IdTokenNonce,
    IdTokenUnknownKey,
    Userinfo,
    Probe,
    Keyring,
    /// The loopback listener could not be bound (e.g. a fixed port in use).
    Listener,
    /// The connector itself cannot be used as saved (e.g. an unusable redirect URI).
    Config,
    /// A server's certificate was refused: untrusted CA, expired, or for another host.
    TlsCertificate,
    /// The HTTPS_PROXY / HTTP_PROXY proxy is down, refused the connection or wants credentials.
    Proxy,
}

impl ErrorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Discovery => "discovery",
            ErrorKind::InsecureEndpoint => "insecure_endpoint",
            ErrorKind::IssuerMismatch => "issuer_mismatch",
            ErrorKind::EndpointOutsideAuthority => "endpoint_outside_authority",
            ErrorKind::Browser => "browser",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Cancelled => "cancelled",
            ErrorKind::AuthorizationDenied => "authorization_denied",
            ErrorKind::CallbackIssuerMismatch => "callback_issuer_mismatch",
            ErrorKind::TokenRequest => "token_request",
            ErrorKind::IdTokenSignature => "id_token_signature",
            ErrorKind::IdTokenAlgorithm => "id_token_algorithm",
            ErrorKind::IdTokenIssuer => "id_token_issuer",
            ErrorKind::IdTokenAudience => "id_token_audience",
            ErrorKind::IdTokenExpired => "id_token_expired",
            ErrorKind::IdTokenClockSkew => "id_token_clock_skew",
            ErrorKind::IdTokenNonce => "id_token_nonce",
            ErrorKind::IdTokenUnknownKey => "id_token_unknown_key",
            ErrorKind::Userinfo => "userinfo",
            ErrorKind::Probe => "probe",
            ErrorKind::Keyring => "keyring",
            ErrorKind::Listener => "listener",
            ErrorKind::Config => "config",
            ErrorKind::TlsCertificate => "tls_certificate",
            ErrorKind::Proxy => "proxy",
        }
    }
}

/// Why a login failed: a stable kind, a plain sentence, and the likely fix.
/// Never contains a code, token or secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct LoginError {
    pub kind: ErrorKind,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

impl LoginError {
    /// Messages often quote what the provider sent (an issuer, an endpoint, a JWKS URL), and
    /// every message reaches a terminal: control characters are removed here, once, so no
    /// provider text can write the clipboard (OSC 52) or the window title.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: explain::terminal_text(&message.into()),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(explain::terminal_text(&hint.into()));
        self
    }
}

/// How the ID token's signature was checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Verified against the issuer's JWKS with this algorithm.
    Verified { alg: String },
    /// Not checked: no JWKS is known (OAuth2 connector without an issuer). The token came
    /// straight from the token endpoint over TLS (OIDC Core 3.1.3.7 step 6).
    NotVerifiedNoJwks,
    /// A service user's access token, read for information only: the API it is meant for
    /// checks it, and ifs-connect does not.
    NotVerifiedAccessToken,
}

/// What the tokens say about the signed-in user. No token values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Claims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The user name IFS knows (`upn`, from the `microprofile-jwt` scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    /// Access token expiry, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub refresh_token: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureStatus>,
}

/// Who a login signed in as: the ID token's `iss`, `sub` and `aud`. A refreshed ID token must
/// name the same (OIDC Core 12.2), so this is kept next to the cached access token. Empty
/// when the login had no ID token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aud: Vec<String>,
}

impl Identity {
    pub fn is_empty(&self) -> bool {
        self.iss.is_none() && self.sub.is_none() && self.aud.is_empty()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProbeResult {
    pub url: String,
    pub status: Option<u16>,
    pub ms: u64,
    /// The IFS user the answer names, when it has IFS's "who am I" shape.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<crate::core::ifs::IfsUser>,
}

/// Everything a test login found out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LoginOutcome {
    pub ok: bool,
    pub steps: Vec<StepReport>,
    pub claims: Option<Claims>,
    pub probe: Option<ProbeResult>,
    pub error: Option<LoginError>,
}

/// Whether to launch a browser.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BrowserMode {
    /// Open one when the machine can (`$BROWSER` set, a display, macOS, Windows, WSL).
    #[default]
    Auto,
    /// Only print the URL; wait for the redirect or a pasted URL.
    Never,
}

#[derive(Debug, Clone)]
pub struct LoginOptions {
    /// How long to wait for the redirect.
    pub timeout: Duration,
    pub browser: BrowserMode,
    /// Leeway for `exp` and `iat`.
    pub leeway: Duration,
    /// Timeout for each HTTP request to the provider or the API.
    pub http_timeout: Duration,
    /// The config dir whose `tokens/<id>.lock` a login takes while it stores tokens, the lock a
    /// refresh holds (so a login and a refresh never interleave their keyring writes). None
    /// stores without it (tests of the engine alone).
    pub token_lock_dir: Option<std::path::PathBuf>,
}

impl Default for LoginOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(300),
            browser: BrowserMode::Auto,
            leeway: Duration::from_secs(60),
            http_timeout: Duration::from_secs(30),
            token_lock_dir: None,
        }
    }
}

/// Run a complete test login for `connector`.
///
/// `pasted` carries redirected URLs pasted by the user (CLI stdin, TUI paste box); the
/// first valid one or the loopback callback wins. `cancel` ends the wait cleanly.
/// Events go to `events` as they happen; a closed receiver is not an error.
pub async fn run(
    connector: crate::core::connector::Connector,
    secrets: crate::core::secrets::SharedSecrets,
    options: LoginOptions,
    pasted: tokio::sync::mpsc::Receiver<String>,
    events: tokio::sync::mpsc::UnboundedSender<LoginEvent>,
    cancel: tokio_util::sync::CancellationToken,
) -> LoginOutcome {
    let secrets = crate::core::secrets::for_connector(&connector, &secrets);
    if !connector.auth_kind().is_interactive() {
        return client_credentials::run(connector, secrets, options, events, cancel).await;
    }
    let mode = flow::Mode::Browser(pasted);
    flow::run(connector, secrets, options, mode, events, cancel).await
}

/// Run a complete login with the device authorization grant (RFC 8628): the user approves
/// on another device. The verification URI and user code go to `prompts` once, before the
/// wait starts (show them, with [`crate::core::qr::half_blocks`] of the complete URI); the
/// steps and the outcome are those of [`run`], with `DeviceApproval` in place of the
/// listener, browser and redirect. The wait is bounded by `options.timeout` and by the code's
/// own lifetime. Tokens are stored like [`run`] stores them.
pub async fn run_device(
    connector: crate::core::connector::Connector,
    secrets: crate::core::secrets::SharedSecrets,
    options: LoginOptions,
    prompts: tokio::sync::mpsc::UnboundedSender<DevicePrompt>,
    events: tokio::sync::mpsc::UnboundedSender<LoginEvent>,
    cancel: tokio_util::sync::CancellationToken,
) -> LoginOutcome {
    let secrets = crate::core::secrets::for_connector(&connector, &secrets);
    if !connector.auth_kind().is_interactive() {
        // A service user has no one to approve anything: the same steps as `run`.
        return client_credentials::run(connector, secrets, options, events, cancel).await;
    }
    let mode = flow::Mode::Device(prompts);
    flow::run(connector, secrets, options, mode, events, cancel).await
}

/// Whether the connector's provider advertises a device authorization endpoint (one
/// discovery request). False for OAuth2 connectors without an issuer and on any error.
pub async fn supports_device_login(
    connector: &crate::core::connector::Connector,
    options: &LoginOptions,
) -> bool {
    let Ok(client) = http::client(options, connector.ca_file.as_deref()) else {
        return false;
    };
    matches!(
        provider::resolve_provider(&client, connector).await,
        Ok((provider, _)) if provider.device_endpoint.is_some()
    )
}

/// Whether a browser can be launched here at all (a display, `$BROWSER`, macOS, Windows, WSL).
/// `Err` says why not ("no display (SSH session)"); `Ok` does not promise the launch works.
pub fn browser_possible() -> Result<(), String> {
    match browser::plan(BrowserMode::Auto, &browser::Environment::current()) {
        browser::Plan::Skip(why) => Err(why),
        _ => Ok(()),
    }
}

/// A new access token for a service user (client credentials grant, RFC 6749 section 4.4):
/// discovery when the connector has an authority, then the token request. No browser, no
/// refresh token. Nothing is stored here: `core::tokens` caches the result.
pub async fn service_token(
    connector: &crate::core::connector::Connector,
    secrets: &crate::core::secrets::SharedSecrets,
    options: &LoginOptions,
) -> Result<ServiceToken, LoginError> {
    client_credentials::fetch(connector, secrets, options).await
}

pub use client_credentials::ServiceToken;

/// Swap a refresh token for fresh tokens (RFC 6749 section 6), with the connector's client
/// authentication. A returned ID token is verified like at login and must keep `previous`'s
/// iss, sub and aud. Nothing is stored here: the caller stores the rotated refresh token.
pub async fn refresh(
    connector: &crate::core::connector::Connector,
    secrets: &crate::core::secrets::SharedSecrets,
    options: &LoginOptions,
    refresh_token: secrecy::SecretString,
    previous: &Identity,
) -> Result<Refreshed, RefreshFailure> {
    refresh::refresh(connector, secrets, options, refresh_token, previous).await
}

/// Revoke a refresh token at the provider's revocation endpoint (RFC 7009), with the
/// connector's client authentication. [`Revoked::NotRevocable`] when the provider has none.
pub async fn revoke_refresh_token(
    connector: &crate::core::connector::Connector,
    secrets: &crate::core::secrets::SharedSecrets,
    options: &LoginOptions,
    refresh_token: secrecy::SecretString,
) -> Result<Revoked, LoginError> {
    revoke::revoke(connector, secrets, options, refresh_token).await
}

/// The HTTP client for a login and for the wizard's discovery check: the options' request
/// timeout, no redirects followed, the OS trust store plus SSL_CERT_FILE/SSL_CERT_DIR, and
/// the proxies of HTTPS_PROXY/HTTP_PROXY/NO_PROXY.
pub fn http_client(options: &LoginOptions) -> Result<reqwest::Client, LoginError> {
    http::client(options, None)
}

/// [`http_client`] that also trusts the CAs in `ca_file` (a connector's `ca_file`), as every
/// call of that connector does.
pub fn http_client_trusting(
    options: &LoginOptions,
    ca_file: Option<&str>,
) -> Result<reqwest::Client, LoginError> {
    http::client(options, ca_file)
}
