//! One connector, now: the connector as saved, the HTTP client its calls go through, and where
//! its secret and tokens live. Built once at the edge (a CLI command, the TUI, the agent) and
//! handed to everything that talks to the provider or to IFS, so that no layer below decides
//! again which client or which secret source to use.
//!
//! The HTTP client is built on first use only: a cached `token` never needs one.

use std::path::PathBuf;
use std::sync::OnceLock;

use secrecy::ExposeSecret;

use super::Context;
use super::connector::Connector;
use super::login::{LoginError, LoginOptions, http};
use super::secrets::{self, SharedSecrets};
use super::tokens::{self, AccessToken, TokenError};

/// Everything a call for one connector needs; cheap to share behind an `Arc`.
pub struct ConnectorSession {
    connector: Connector,
    /// The connector's secret source, decided once: the keyring, or the variable it names.
    secrets: SharedSecrets,
    /// Where the token lock lives.
    config_dir: PathBuf,
    options: LoginOptions,
    http: OnceLock<reqwest::Client>,
}

impl ConnectorSession {
    /// The session of `connector` in `context`, with the given options (timeouts, browser).
    pub fn new(context: &Context, connector: Connector, mut options: LoginOptions) -> Self {
        let config_dir = context.paths.config_dir.clone();
        options
            .token_lock_dir
            .get_or_insert_with(|| config_dir.clone());
        let secrets = secrets::for_connector(&connector, context.workspace.secrets());
        Self {
            connector,
            secrets,
            config_dir,
            options,
            http: OnceLock::new(),
        }
    }

    pub fn connector(&self) -> &Connector {
        &self.connector
    }

    pub fn options(&self) -> &LoginOptions {
        &self.options
    }

    /// The connector's secret source (keyring or variable), as decided at construction.
    pub fn secrets(&self) -> &SharedSecrets {
        &self.secrets
    }

    /// The connector's HTTP client (trust roots, CA file, proxies, no redirects), built on
    /// first use and reused for every later call of this session.
    pub fn http(&self) -> Result<&reqwest::Client, LoginError> {
        if let Some(client) = self.http.get() {
            return Ok(client);
        }
        let client = http::client(&self.options, self.connector.ca_file.as_deref())?;
        Ok(self.http.get_or_init(|| client))
    }

    /// A valid access token: cached, refreshed, or newly requested for a service user. Never
    /// opens a browser; on [`TokenError::needs_login`] the face decides whether to log in.
    pub async fn access_token(&self) -> Result<AccessToken, TokenError> {
        tokens::access_token(
            &self.secrets,
            &self.config_dir,
            &self.connector,
            &self.options,
        )
        .await
    }

    /// After the API refused `rejected` (401): stop trusting it and get another one. When
    /// another caller already replaced it, that newer token is returned without a refresh.
    pub async fn renew_after_rejection(
        &self,
        rejected: &AccessToken,
    ) -> Result<AccessToken, TokenError> {
        let id = &self.connector.id;
        if let Some(mut cached) = tokens::load_cached(&self.secrets, id).await?
            && cached.access_token().expose_secret()
                == rejected.cached.access_token().expose_secret()
        {
            cached.expires_at = 0;
            tokens::store_cached(&self.secrets, id, &cached).await?;
        }
        self.access_token().await
    }
}
