//! The side effects of the TUI that reach the provider or the keyring (discovery checks,
//! test logins, device logins, token states, logout) behind a trait, so the app's tests
//! can stand in a scripted provider while the real one calls `core::login` and
//! `core::tokens`.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::connector::{Connector, ConnectorId, OpenIdAuth};
use crate::core::login::discovery::{self, DiscoveryCheck, ProviderMetadata};
use crate::core::login::{self, DevicePrompt, LoginError, LoginEvent, LoginOptions, LoginOutcome};
use crate::core::secrets::{SecretsError, SharedSecrets};
use crate::core::tokens::{self, LoggedOut, TokenState};

/// Everything one test login needs, as `core::login::run` takes it.
pub struct LoginRun {
    pub connector: Connector,
    pub pasted: mpsc::Receiver<String>,
    pub events: mpsc::UnboundedSender<LoginEvent>,
    pub cancel: CancellationToken,
}

/// Everything one device login needs, as `core::login::run_device` takes it.
pub struct DeviceRun {
    pub connector: Connector,
    pub prompts: mpsc::UnboundedSender<DevicePrompt>,
    pub events: mpsc::UnboundedSender<LoginEvent>,
    pub cancel: CancellationToken,
}

pub trait Engine: Send + Sync + 'static {
    fn check_discovery(&self, auth: OpenIdAuth) -> BoxFuture<'static, DiscoveryCheck>;
    fn fetch_discovery(
        &self,
        url: String,
    ) -> BoxFuture<'static, Result<ProviderMetadata, LoginError>>;
    fn login(&self, run: LoginRun) -> BoxFuture<'static, LoginOutcome>;
    fn device_login(&self, run: DeviceRun) -> BoxFuture<'static, LoginOutcome>;
    /// Whether the provider advertises device login (one discovery request).
    fn supports_device_login(&self, connector: Connector) -> BoxFuture<'static, bool>;
    /// Why no browser can be opened here, if it cannot (an environment check, no I/O).
    fn browser_problem(&self) -> Option<String>;
    /// The connector's tokens as the keyring holds them; the error is already a sentence.
    fn token_state(&self, id: ConnectorId) -> BoxFuture<'static, Result<TokenState, SecretsError>>;
    fn logout(&self, connector: Connector) -> BoxFuture<'static, Result<LoggedOut, SecretsError>>;
}

/// The real thing: `core::login` over one shared HTTP client.
pub struct CoreEngine {
    http: reqwest::Client,
    secrets: SharedSecrets,
    options: LoginOptions,
}

impl CoreEngine {
    pub fn new(secrets: SharedSecrets, options: LoginOptions) -> anyhow::Result<Self> {
        // The engine's own client: its timeouts, the OS trust store, and no redirects
        // followed, so discovery cannot be bounced from https to http behind the checks.
        let http = crate::core::login::http_client(&options)?;
        Ok(Self {
            http,
            secrets,
            options,
        })
    }
}

impl Engine for CoreEngine {
    fn check_discovery(&self, auth: OpenIdAuth) -> BoxFuture<'static, DiscoveryCheck> {
        let http = self.http.clone();
        Box::pin(async move { discovery::check(&http, &auth).await })
    }

    fn fetch_discovery(
        &self,
        url: String,
    ) -> BoxFuture<'static, Result<ProviderMetadata, LoginError>> {
        let http = self.http.clone();
        Box::pin(async move { discovery::fetch(&http, &url).await })
    }

    fn login(&self, run: LoginRun) -> BoxFuture<'static, LoginOutcome> {
        let secrets = Arc::clone(&self.secrets);
        let options = self.options.clone();
        Box::pin(login::run(
            run.connector,
            secrets,
            options,
            run.pasted,
            run.events,
            run.cancel,
        ))
    }

    fn device_login(&self, run: DeviceRun) -> BoxFuture<'static, LoginOutcome> {
        let secrets = Arc::clone(&self.secrets);
        Box::pin(login::run_device(
            run.connector,
            secrets,
            self.options.clone(),
            run.prompts,
            run.events,
            run.cancel,
        ))
    }

    fn supports_device_login(&self, connector: Connector) -> BoxFuture<'static, bool> {
        let options = self.options.clone();
        Box::pin(async move { login::supports_device_login(&connector, &options).await })
    }

    fn browser_problem(&self) -> Option<String> {
        login::browser_possible().err()
    }

    fn token_state(&self, id: ConnectorId) -> BoxFuture<'static, Result<TokenState, SecretsError>> {
        let secrets = Arc::clone(&self.secrets);
        Box::pin(async move { tokens::state(&secrets, &id).await })
    }

    fn logout(&self, connector: Connector) -> BoxFuture<'static, Result<LoggedOut, SecretsError>> {
        let secrets = Arc::clone(&self.secrets);
        let options = self.options.clone();
        Box::pin(async move { tokens::logout(&secrets, &connector, &options).await })
    }
}
