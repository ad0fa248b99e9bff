//! The network side of the TUI (discovery checks and test logins) behind a trait, so the
//! app's tests can stand in a scripted provider while the real one calls `core::login`.

use std::sync::Arc;

use futures::future::BoxFuture;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::core::connector::{Connector, OpenIdAuth};
use crate::core::login::discovery::{self, DiscoveryCheck, ProviderMetadata};
use crate::core::login::{self, LoginError, LoginEvent, LoginOptions, LoginOutcome};
use crate::core::secrets::SharedSecrets;

/// Everything one test login needs, as `core::login::run` takes it.
pub struct LoginRun {
    pub connector: Connector,
    pub pasted: mpsc::Receiver<String>,
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
}
