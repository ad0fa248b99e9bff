//! How the client authenticates at the token endpoint: no secret (a public client), or the
//! secret from the keyring or its variable, sent as the provider advertises. A leaf under every
//! flow that calls the token endpoint.

use secrecy::SecretString;

use super::http::ClientAuth;
use super::provider::Provider;
use super::{ErrorKind, LoginError};
use crate::core::connector::Connector;
use crate::core::secrets::{self, SecretKind, SharedSecrets};

/// [`client_auth`] without a running login (refresh, revocation).
pub(super) async fn client_auth_for(
    connector: &Connector,
    secrets: &SharedSecrets,
    provider: &Provider,
) -> Result<(ClientAuth, String), LoginError> {
    if connector.secret_source().is_none() {
        return Ok((ClientAuth::None, "public client (no secret)".into()));
    }
    let id = connector.id.clone();
    let secret = secrets::blocking(secrets, move |store| {
        store.get(&id, SecretKind::ClientSecret)
    })
    .await
    .map_err(super::client_credentials::secrets_error)?
    .ok_or_else(|| {
        LoginError::new(
            ErrorKind::Keyring,
            "the connector says a client secret is stored, but the keyring has none",
        )
        .with_hint("store it again with `ifs-connect edit NAME --client-secret-stdin`")
    })?;
    let auth = choose_client_auth(secret, &provider.token_auth_methods);
    let detail = format!("confidential client ({})", auth.method_name());
    Ok((auth, detail))
}

/// client_secret_basic unless the provider advertises only client_secret_post.
pub(super) fn choose_client_auth(secret: SecretString, advertised: &[String]) -> ClientAuth {
    let has = |m: &str| advertised.iter().any(|a| a == m);
    if !has("client_secret_basic") && has("client_secret_post") {
        ClientAuth::Post(secret)
    } else {
        ClientAuth::Basic(secret)
    }
}
