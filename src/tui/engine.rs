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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::login::ErrorKind;
    use crate::core::secrets::MemorySecrets;
    use crate::sandbox::{Config, Sandbox, TlsSource};

    /// The wizard's Check and Fill against the sandbox over HTTPS with a CA made for the
    /// run: refused without the connector's CA file, passing with it.
    #[tokio::test]
    async fn check_and_fill_trust_the_connectors_ca_file() {
        let dir = tempfile::tempdir().unwrap();
        let ca_file = dir.path().join("sandbox-ca.pem");
        let config = Config {
            tls: Some(TlsSource::Generate {
                ca_file: ca_file.clone(),
            }),
            ..Config::default()
        };
        let sandbox = Sandbox::start(config).await.unwrap();
        let issuer = sandbox.issuer().to_owned();
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(sandbox.serve(shutdown.clone()));
        let engine =
            CoreEngine::new(Arc::new(MemorySecrets::default()), LoginOptions::default()).unwrap();
        let auth = OpenIdAuth {
            authority_url: issuer.clone(),
            client_id: "flow".into(),
            ..OpenIdAuth::default()
        };
        let ca = Some(ca_file.to_string_lossy().into_owned());

        let refused = engine.check_discovery(auth.clone(), None).await;
        let error = refused.error.expect("an unknown CA is refused");
        assert_eq!(error.kind, ErrorKind::TlsCertificate, "{error:?}");
        let trusted = engine.check_discovery(auth, ca.clone()).await;
        assert!(trusted.error.is_none(), "{:?}", trusted.error);
        assert!(trusted.items.iter().all(|i| i.ok), "{:?}", trusted.items);

        let url = crate::core::validate::discovery_url(&issuer);
        let refused = engine.fetch_discovery(url.clone(), None).await.unwrap_err();
        assert_eq!(refused.kind, ErrorKind::TlsCertificate);
        let metadata = engine.fetch_discovery(url, ca).await.unwrap();
        assert_eq!(metadata.issuer.as_deref(), Some(issuer.as_str()));

        shutdown.cancel();
        let _ = tokio::time::timeout(std::time::Duration::from_secs(10), server).await;
    }
}
