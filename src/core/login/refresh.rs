//! The refresh token grant (RFC 6749 section 6): fresh tokens without a browser. A refreshed
//! ID token is checked like the login's and must name the same issuer, subject and audience
//! (OIDC Core 12.2), so a token for someone else can never slip in.

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::client_auth;
use super::explain::error_with_description;
use super::http;
use super::policy;
use super::provider;
use super::rules;
use super::token_endpoint::{self, TokenSet};
use super::verify::{self, Rules};
use super::{ErrorKind, Identity, LoginError, LoginOptions};
use crate::core::connector::Connector;
use crate::core::secrets::SharedSecrets;

/// What a refresh returned. Token values stay secret.
pub struct Refreshed {
    pub access_token: SecretString,
    pub expires_in: Option<u64>,
    /// How long the (rotated) refresh token lives unused; 0 for an offline session.
    pub refresh_expires_in: Option<u64>,
    /// Whether the provider rotated the refresh token (the new one is already stored).
    pub rotated: bool,
    pub scope: Option<String>,
    /// Who the refreshed ID token names, when one came back (already compared).
    pub identity: Option<Identity>,
}

/// Why a refresh failed.
#[derive(Debug)]
pub enum RefreshFailure {
    /// `invalid_grant`: the refresh token expired or was revoked. Only a new login helps, and
    /// the stored refresh token is dead.
    Revoked(LoginError),
    /// The refreshed ID token names another issuer, user or audience than the login did: the
    /// stored tokens are not this session's and must go.
    IdentityChanged(LoginError),
    /// Anything else (network, provider, a bad ID token): the refresh token may still be good.
    Failed(LoginError),
}

impl From<LoginError> for RefreshFailure {
    fn from(error: LoginError) -> Self {
        RefreshFailure::Failed(error)
    }
}

pub(super) async fn refresh(
    connector: &Connector,
    secrets: &SharedSecrets,
    options: &LoginOptions,
    refresh_token: SecretString,
    previous: &Identity,
) -> Result<Refreshed, RefreshFailure> {
    rules::check_as_saved(connector)?;
    let client = http::client(options, connector.ca_file.as_deref())?;
    let (mut provider, _) = provider::resolve_provider(&client, connector).await?;
    policy::require_https("the token endpoint", &provider.token_endpoint)?;
    // Everything that can fail without the provider's answer comes first: once the refresh
    // grant is sent, the old refresh token may be dead.
    if let Some(uri) = provider.jwks_uri.clone() {
        provider.jwks = Some(provider::fetch_jwks(&client, &uri).await?.0);
    }
    let (auth, _) = client_auth::client_auth_for(connector, secrets, &provider).await?;
    let form = vec![
        ("grant_type".to_owned(), "refresh_token".into()),
        ("refresh_token".to_owned(), refresh_token),
    ];
    let endpoint = provider.token_endpoint.clone();
    let request = auth.post_form(&client, &endpoint, connector.auth.client_id(), form);
    let what = "the token endpoint";
    let fetched = http::send(request, what, &endpoint, ErrorKind::TokenRequest).await?;
    let body = http::json_body(&fetched, what, &endpoint, ErrorKind::TokenRequest);
    if !fetched.status.is_success() {
        return Err(refusal(&fetched, body.ok().as_ref(), &endpoint));
    }
    let mut body = body?;
    let rotated = store_rotated(connector, secrets, &body).await?;
    let tokens = token_endpoint::token_set(&mut body, &endpoint)?;
    let identity = match &tokens.id_token {
        Some(id_token) => Some(
            refreshed_identity(
                &client,
                &mut provider,
                connector,
                options,
                previous,
                id_token,
            )
            .await?,
        ),
        None => None,
    };
    Ok(into_refreshed(tokens, identity, rotated))
}

/// A rotated refresh token, stored before anything else is looked at: the old one is dead now,
/// so losing this one would end the session.
async fn store_rotated(
    connector: &Connector,
    secrets: &SharedSecrets,
    body: &Value,
) -> Result<bool, RefreshFailure> {
    let Some(rotated) = body.get("refresh_token").and_then(Value::as_str) else {
        return Ok(false);
    };
    let (id, rotated) = (connector.id.clone(), SecretString::from(rotated.to_owned()));
    crate::core::secrets::blocking(secrets, move |store| {
        crate::core::secrets::set_split(
            store,
            &id,
            crate::core::secrets::SplitKind::RefreshToken,
            &rotated,
        )
    })
    .await
    .map_err(|e| {
        LoginError::new(
            ErrorKind::Keyring,
            format!("the rotated refresh token could not be stored: {e}"),
        )
    })?;
    Ok(true)
}

/// Verify a refreshed ID token like the login's and check that it names the same identity.
async fn refreshed_identity(
    client: &reqwest::Client,
    provider: &mut provider::Provider,
    connector: &Connector,
    options: &LoginOptions,
    previous: &Identity,
    id_token: &SecretString,
) -> Result<Identity, RefreshFailure> {
    let rules = Rules {
        client_id: connector.auth.client_id(),
        leeway: options.leeway,
        // OIDC Core 12.2: a refreshed ID token carries no nonce to compare.
        nonce: None,
    };
    let (_, identity) =
        verify::verify_id_token(client, provider, &rules, id_token.expose_secret()).await?;
    same_identity(previous, &identity).map_err(RefreshFailure::IdentityChanged)?;
    Ok(identity)
}

fn into_refreshed(tokens: TokenSet, identity: Option<Identity>, rotated: bool) -> Refreshed {
    Refreshed {
        access_token: tokens.access_token,
        expires_in: tokens.expires_in,
        refresh_expires_in: tokens.refresh_expires_in,
        rotated,
        scope: tokens.scope,
        identity,
    }
}

/// A refused refresh: `invalid_grant` means the session is gone; the rest is explained.
fn refusal(fetched: &http::Fetched, body: Option<&Value>, endpoint: &str) -> RefreshFailure {
    let text = |key: &str| body.and_then(|b| b.get(key)).and_then(Value::as_str);
    let Some(error) = text("error") else {
        return RefreshFailure::Failed(http::status_error(
            fetched,
            "the token endpoint",
            endpoint,
            ErrorKind::TokenRequest,
        ));
    };
    let message = format!(
        "the token endpoint refused the refresh (HTTP {}): {}",
        fetched.status.as_u16(),
        error_with_description(error, text("error_description"))
    );
    let error_kind = LoginError::new(ErrorKind::TokenRequest, message);
    if error == "invalid_grant" {
        RefreshFailure::Revoked(error_kind)
    } else {
        RefreshFailure::Failed(error_kind)
    }
}

/// OIDC Core 12.2: iss, sub and aud must stay what the login saw. A login without an ID
/// token has nothing to compare with, and then the first refreshed one is taken as is.
pub(super) fn same_identity(previous: &Identity, now: &Identity) -> Result<(), LoginError> {
    if previous.is_empty() {
        return Ok(());
    }
    let changed = |what: &str| {
        LoginError::new(
            ErrorKind::IdTokenIssuer,
            format!("the refreshed ID token names another {what} than the login did"),
        )
        .with_hint("log in again; if it keeps happening, the provider is misconfigured")
    };
    if previous.iss != now.iss {
        return Err(changed("issuer (iss)"));
    }
    if previous.sub != now.sub {
        return Err(changed("user (sub)"));
    }
    let mut before = previous.aud.clone();
    let mut after = now.aud.clone();
    before.sort();
    after.sort();
    if before != after {
        return Err(changed("audience (aud)"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(iss: &str, sub: &str, aud: &[&str]) -> Identity {
        Identity {
            iss: Some(iss.into()),
            sub: Some(sub.into()),
            aud: aud.iter().map(|a| a.to_string()).collect(),
        }
    }

    #[test]
    fn a_refreshed_identity_must_match_the_login() {
        let login = id("https://idp/r", "alice", &["app", "api"]);
        assert!(same_identity(&login, &id("https://idp/r", "alice", &["api", "app"])).is_ok());
        for (other, what) in [
            (id("https://evil/r", "alice", &["app", "api"]), "issuer"),
            (id("https://idp/r", "bob", &["app", "api"]), "user"),
            (id("https://idp/r", "alice", &["app"]), "audience"),
        ] {
            let e = same_identity(&login, &other).unwrap_err();
            assert!(e.message.contains(what), "{}", e.message);
        }
        assert!(same_identity(&Identity::default(), &other_user()).is_ok());
    }

    fn other_user() -> Identity {
        id("x", "y", &["z"])
    }
}
