//! Token revocation (RFC 7009) with the same client authentication as the token endpoint.

use secrecy::SecretString;

use super::client_auth;
use super::http;
use super::policy;
use super::provider;
use super::rules;
use super::{ErrorKind, LoginError, LoginOptions};
use crate::core::connector::Connector;
use crate::core::secrets::SharedSecrets;

/// What became of the refresh token at the provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// The revocation endpoint accepted it (RFC 7009 also answers 200 for unknown tokens).
    Revoked { endpoint: String },
    /// The provider advertises no revocation endpoint; the token lives until it expires.
    NotRevocable,
}

pub(super) async fn revoke(
    connector: &Connector,
    secrets: &SharedSecrets,
    options: &LoginOptions,
    refresh_token: SecretString,
) -> Result<Revoked, LoginError> {
    rules::check_as_saved(connector)?;
    let client = http::client(options, connector.ca_file.as_deref())?;
    let (provider, _) = provider::resolve_provider(&client, connector).await?;
    let Some(endpoint) = provider.revocation_endpoint.clone() else {
        return Ok(Revoked::NotRevocable);
    };
    policy::require_https("the revocation endpoint", &endpoint)?;
    let (auth, _) = client_auth::client_auth_for(connector, secrets, &provider).await?;
    let form = vec![
        ("token".to_owned(), refresh_token),
        ("token_type_hint".to_owned(), "refresh_token".into()),
    ];
    let request = auth.post_form(&client, &endpoint, connector.auth.client_id(), form);
    let what = "the revocation endpoint";
    let fetched = http::send(request, what, &endpoint, ErrorKind::TokenRequest).await?;
    if fetched.status.is_success() {
        let endpoint = super::explain::terminal_text(&endpoint);
        return Ok(Revoked::Revoked { endpoint });
    }
    Err(http::status_error(
        &fetched,
        what,
        &endpoint,
        ErrorKind::TokenRequest,
    ))
}
