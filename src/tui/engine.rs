//! The side effects of the TUI that reach the provider or the keyring (discovery checks,
//! test logins, device logins, token states, logout) behind a trait, so the app's tests
//! can stand in a scripted provider while the real one calls `core::login` and
//! `core::tokens`.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::connector::{Connector, ConnectorId, OpenIdAuth};
use crate::core::ifs::discover::Discovery;
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
    /// `ca_file`: a connector's own CA bundle, trusted on top of the usual ones.
    fn check_discovery(
        &self,
        auth: OpenIdAuth,
        ca_file: Option<String>,
    ) -> BoxFuture<'static, DiscoveryCheck>;
    fn fetch_discovery(
        &self,
        url: String,
        ca_file: Option<String>,
    ) -> BoxFuture<'static, Result<ProviderMetadata, LoginError>>;
    /// The realm from a Base URL alone (`core::ifs::discover`).
    fn find_realm(&self, base_url: String) -> BoxFuture<'static, Result<Discovery, String>>;
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

impl CoreEngine {
    /// The shared client, or one that also trusts a connector's CA file (built per call:
    /// the file may have changed since, and a wizard checks rarely).
    fn client_trusting(&self, ca_file: Option<&str>) -> Result<reqwest::Client, LoginError> {
        match ca_file {
            Some(file) => login::http_client_trusting(&self.options, Some(file)),
            None => Ok(self.http.clone()),
        }
    }
}

impl Engine for CoreEngine {
    fn check_discovery(
        &self,
        auth: OpenIdAuth,
        ca_file: Option<String>,
    ) -> BoxFuture<'static, DiscoveryCheck> {
        let http = self.client_trusting(ca_file.as_deref());
        Box::pin(async move {
            match http {
                Ok(http) => discovery::check(&http, &auth).await,
                Err(error) => DiscoveryCheck {
                    discovery_url: crate::core::validate::discovery_url(&auth.authority_url),
                    metadata: None,
                    items: Vec::new(),
                    error: Some(error),
                },
            }
        })
    }

    fn fetch_discovery(
        &self,
        url: String,
        ca_file: Option<String>,
    ) -> BoxFuture<'static, Result<ProviderMetadata, LoginError>> {
        let http = self.client_trusting(ca_file.as_deref());
        Box::pin(async move { discovery::fetch(&http?, &url).await })
    }

    fn find_realm(&self, base_url: String) -> BoxFuture<'static, Result<Discovery, String>> {
        Box::pin(async move { crate::core::ifs::discover::discover(&base_url).await })
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
