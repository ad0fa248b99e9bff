//! Token revocation (RFC 7009). A refresh token ends its whole session (RFC 7009 section 2.1:
//! access tokens of the same grant go too); an access token is revoked by itself. An unknown
//! or invalid token is answered 200 all the same: the client's aim is reached either way.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CACHE_CONTROL;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::clients::{self, Client};
use super::oauth::{FormParams, OAuthError};
use super::state::{AppState, Shared};

pub async fn revoke(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match revoke_token(&app, &headers, &body) {
        Ok(()) => (
            StatusCode::OK,
            [(CACHE_CONTROL, HeaderValue::from_static("no-store"))],
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

fn revoke_token(app: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<(), OAuthError> {
    let form = FormParams::from_body(headers, body)?;
    let client = clients::authenticate(&app.clients, headers, &form)?;
    let token = form.require("token")?;
    // token_type_hint is only a hint (RFC 7009 section 2.1): both kinds are tried.
    if let Some((grant_id, owner)) = app.with_store(|s| s.refresh_owner(token)) {
        check_owner(client, &owner)?;
        app.with_store(|s| s.revoke_grant(&grant_id));
        tracing::info!(
            client = %client.id,
            "refresh token revoked, with its session"
        );
        return Ok(());
    }
    let Ok(claims) = app.keys.verify(token, &app.issuer, false) else {
        return Ok(());
    };
    let text = |key: &str| claims.get(key).and_then(Value::as_str).unwrap_or("");
    if text("typ") == "Bearer" {
        check_owner(client, text("azp"))?;
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        app.with_store(|s| s.revoke_access(text("jti"), exp));
        tracing::info!(client = %client.id, "access token revoked");
    }
    Ok(())
}

/// RFC 7009 section 2.1: a client may revoke only its own tokens.
fn check_owner(client: &Client, owner: &str) -> Result<(), OAuthError> {
    if client.id == owner {
        Ok(())
    } else {
        Err(OAuthError::unauthorized_client(
            "the token was issued to another client",
        ))
    }
}
