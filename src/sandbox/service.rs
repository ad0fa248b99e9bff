//! The client credentials grant (RFC 6749 section 4.4) as Keycloak answers it: only a client
//! with Service Accounts on may use it, the token names the client's service account
//! (`service-account-<client id>`), and there is no refresh token (Keycloak's default).

use serde_json::{Value, json};

use super::authorize::KNOWN_SCOPES;
use super::clients::Client;
use super::oauth::{FormParams, OAuthError};
use super::state::{AppState, Grant, now, random_token, seconds};
use super::users::SERVICE;

pub fn token(app: &AppState, client: &Client, form: &FormParams) -> Result<Value, OAuthError> {
    if client.is_public() || !client.service_account {
        // Keycloak's own words for a client without Service Accounts.
        return Err(OAuthError::unauthorized_client(
            "Client not enabled to retrieve service account",
        ));
    }
    let scopes = scopes(form.get("scope"))?;
    let now = now();
    let exp = now + seconds(app.lifetimes.access_token);
    let grant = Grant {
        client_id: client.id.to_owned(),
        user: &SERVICE,
        scopes: scopes.clone(),
        auth_time: now,
        expires_at: exp,
    };
    let grant_id = app.with_store(|s| s.add_grant(grant));
    let claims = access_claims(app, client.id, &grant_id, &scopes, now, exp);
    let access_token = app.keys.sign(&claims).map_err(|e| {
        tracing::error!("could not sign a token: {e}");
        OAuthError::server_error("could not sign the token")
    })?;
    tracing::info!(client = %client.id, "service account token issued");
    Ok(json!({
        "access_token": access_token,
        "expires_in": exp - now,
        "refresh_expires_in": 0,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "scope": scopes.join(" "),
    }))
}

/// The requested scopes (each must be one of the realm's); `openid` is not needed.
fn scopes(requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.unwrap_or("").split_whitespace() {
        if !KNOWN_SCOPES.contains(&scope) {
            return Err(OAuthError::invalid_scope(format!(
                "Invalid scopes: '{scope}' is not a client scope of this realm"
            )));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

/// Keycloak's service account token: `azp` and `clientId` name the client, and with
/// `microprofile-jwt` the `upn` is the service account's user name.
fn access_claims(
    app: &AppState,
    client_id: &str,
    grant_id: &str,
    scopes: &[String],
    now: i64,
    exp: i64,
) -> Value {
    let mut claims = json!({
        "exp": exp,
        "iat": now,
        "jti": random_token(16),
        "iss": app.issuer,
        "aud": "account",
        "sub": SERVICE.sub,
        "typ": "Bearer",
        "azp": client_id,
        "sid": grant_id,
        "scope": scopes.join(" "),
        "clientId": client_id,
        "preferred_username": SERVICE.username,
    });
    if scopes.iter().any(|s| s == "microprofile-jwt") {
        claims["upn"] = Value::from(SERVICE.username);
    }
    claims
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_must_be_the_realms() {
        assert_eq!(
            scopes(Some("openid microprofile-jwt openid")).unwrap(),
            ["openid", "microprofile-jwt"]
        );
        assert!(scopes(None).unwrap().is_empty());
        assert_eq!(scopes(Some("admin")).unwrap_err().code(), "invalid_scope");
    }
}
