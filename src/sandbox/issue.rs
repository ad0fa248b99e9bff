//! Minting a token response: a JWT access token, a rotating opaque refresh token and, for
//! the `openid` scope, a signed ID token, shaped like Keycloak's.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::oauth::OAuthError;
use super::state::{AppState, Grant, random_token, seconds};
use super::users::User;

/// What a token response is made from.
pub struct Mint<'a> {
    pub grant_id: &'a str,
    pub grant: &'a Grant,
    /// Only on the first ID token of a sign-in: a refreshed one carries none.
    pub nonce: Option<&'a str>,
    pub scopes: &'a [String],
    pub now: i64,
}

/// The token response body; the refresh token is stored before the body is returned.
pub fn token_response(app: &AppState, mint: &Mint<'_>) -> Result<Value, OAuthError> {
    let access_exp = mint.now + seconds(app.lifetimes.access_token);
    // Keycloak: an offline session has no idle end, and says so with refresh_expires_in 0.
    let offline = mint.scopes.iter().any(|s| s == "offline_access");
    let refresh_life = if offline {
        app.lifetimes.offline_session
    } else {
        app.lifetimes.refresh_token
    };
    let refresh_exp = mint.now + seconds(refresh_life);
    let access_token = sign(app, &access_claims(app, mint, access_exp))?;
    let id_token = if mint.scopes.iter().any(|s| s == "openid") {
        Some(sign(app, &id_claims(app, mint, access_exp, &access_token))?)
    } else {
        None
    };
    let refresh_token = random_token(32);
    let stored = app.with_store(|s| {
        if s.grant(mint.grant_id).is_none() {
            return false;
        }
        let client_id = &mint.grant.client_id;
        s.add_refresh(&refresh_token, mint.grant_id, client_id, refresh_exp);
        s.extend_grant(mint.grant_id, refresh_exp.max(access_exp));
        true
    });
    if !stored {
        // Revoked (a replayed code, a logout) while the tokens were being made.
        return Err(OAuthError::invalid_grant("Session not active"));
    }
    let mut body = json!({
        "access_token": access_token,
        "expires_in": access_exp - mint.now,
        "refresh_expires_in": if offline { 0 } else { refresh_exp - mint.now },
        "refresh_token": refresh_token,
        "token_type": "Bearer",
        "not-before-policy": 0,
        "session_state": mint.grant_id,
        "scope": mint.scopes.join(" "),
    });
    if let Some(id_token) = id_token {
        body["id_token"] = Value::String(id_token);
    }
    Ok(body)
}

fn sign(app: &AppState, claims: &Value) -> Result<String, OAuthError> {
    app.keys.sign(claims).map_err(|e| {
        tracing::error!("could not sign a token: {e}");
        OAuthError::server_error("could not sign the token")
    })
}

/// Keycloak-like access token claims. `typ: Bearer` tells it apart from an ID token (which
/// must never be accepted as a bearer token), `sid` ties it to its session.
fn access_claims(app: &AppState, mint: &Mint<'_>, exp: i64) -> Value {
    let mut claims = json!({
        "exp": exp,
        "iat": mint.now,
        "auth_time": mint.grant.auth_time,
        "jti": random_token(16),
        "iss": app.issuer,
        "sub": mint.grant.user.sub,
        "typ": "Bearer",
        "azp": mint.grant.client_id,
        "sid": mint.grant_id,
        "scope": mint.scopes.join(" "),
    });
    add_user_claims(&mut claims, mint.grant.user, mint.scopes);
    claims
}

fn id_claims(app: &AppState, mint: &Mint<'_>, exp: i64, access_token: &str) -> Value {
    let mut claims = json!({
        "exp": exp,
        "iat": mint.now,
        "auth_time": mint.grant.auth_time,
        "jti": random_token(16),
        "iss": app.issuer,
        "aud": mint.grant.client_id,
        "sub": mint.grant.user.sub,
        "typ": "ID",
        "azp": mint.grant.client_id,
        "sid": mint.grant_id,
        "at_hash": at_hash(access_token),
    });
    if let Some(nonce) = mint.nonce {
        claims["nonce"] = Value::String(nonce.to_owned());
    }
    add_user_claims(&mut claims, mint.grant.user, mint.scopes);
    claims
}

/// The claims the `profile` and `email` scopes release, in the token and from userinfo.
pub fn add_user_claims(claims: &mut Value, user: &User, scopes: &[String]) {
    let has = |scope: &str| scopes.iter().any(|s| s == scope);
    let mut extra = Map::new();
    if has("profile") {
        extra.insert("name".into(), user.name().into());
        extra.insert("preferred_username".into(), user.username.into());
        extra.insert("given_name".into(), user.given_name.into());
        extra.insert("family_name".into(), user.family_name.into());
    }
    if has("email") {
        extra.insert("email".into(), user.email.into());
        extra.insert("email_verified".into(), true.into());
    }
    // Keycloak's microprofile-jwt scope, which IFS documents: the user name as upn.
    if has("microprofile-jwt") {
        extra.insert("upn".into(), user.username.into());
        extra.insert("groups".into(), Value::Array(Vec::new()));
    }
    if let Some(object) = claims.as_object_mut() {
        object.extend(extra);
    }
}

/// OIDC Core 3.3.2.11: the left half of SHA-256 of the access token, base64url.
fn at_hash(access_token: &str) -> String {
    let hash = Sha256::digest(access_token.as_bytes());
    URL_SAFE_NO_PAD.encode(&hash[..16])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sandbox::users::DEMO;

    #[test]
    fn scopes_decide_the_user_claims() {
        let mut claims = json!({"sub": "x"});
        add_user_claims(&mut claims, &DEMO, &["openid".into()]);
        assert_eq!(claims, json!({"sub": "x"}));
        add_user_claims(&mut claims, &DEMO, &["email".into()]);
        assert_eq!(claims["email"], DEMO.email);
        assert!(claims.get("name").is_none());
        assert!(claims.get("upn").is_none());
        add_user_claims(&mut claims, &DEMO, &["microprofile-jwt".into()]);
        assert_eq!(claims["upn"], DEMO.username);
    }

    #[test]
    fn at_hash_is_half_a_sha256() {
        // OIDC Core A.3's example pair.
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
