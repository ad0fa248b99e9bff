//! RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0), Keycloak's `logout`
//! endpoint: `id_token_hint` names the session to end; `post_logout_redirect_uri` must be
//! registered for the client (the redirect-URI rule applies) and needs the hint or a
//! `client_id` to know which client that is.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::Value;

use super::authorize::redirect;
use super::oauth::FormParams;
use super::page;
use super::state::{AppState, Shared};

pub async fn logout_get(State(app): State<Shared>, RawQuery(query): RawQuery) -> Response {
    match FormParams::from_query(query.as_deref()) {
        Ok(params) => end_session(&app, &params),
        Err(e) => page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    }
}

pub async fn logout_post(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match FormParams::from_body(&headers, &body) {
        Ok(params) => end_session(&app, &params),
        Err(e) => page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    }
}

fn end_session(app: &AppState, params: &FormParams) -> Response {
    let hint = match params.get("id_token_hint") {
        None => None,
        // An expired ID token still names its session; the signature must be ours.
        Some(token) => match app.keys.verify(token, &app.issuer, false) {
            Ok(claims) if claims.get("typ").and_then(Value::as_str) == Some("ID") => Some(claims),
            _ => return refuse("Invalid parameter: id_token_hint"),
        },
    };
    let hinted_client = hint
        .as_ref()
        .and_then(|c| c.get("azp"))
        .and_then(Value::as_str);
    let client_id = match (params.get("client_id"), hinted_client) {
        (Some(given), Some(hinted)) if given != hinted => {
            return refuse("client_id does not match the id_token_hint's client");
        }
        (given, hinted) => given.or(hinted),
    };
    let target = params.get("post_logout_redirect_uri");
    if let Some(target) = target {
        let Some(client) = client_id.and_then(|id| app.clients.get(id)) else {
            return refuse(
                "Either id_token_hint or client_id is required with post_logout_redirect_uri",
            );
        };
        if !client.allows_redirect_uri(target) {
            return refuse(
                "Invalid redirect uri: post_logout_redirect_uri is not registered for the client",
            );
        }
    }
    if let Some(sid) = hint
        .as_ref()
        .and_then(|c| c.get("sid"))
        .and_then(Value::as_str)
    {
        app.with_store(|s| s.revoke_grant(sid));
        tracing::info!("session ended by logout");
    }
    match target {
        Some(target) => redirect(target, &[("state", params.get("state"))]),
        None => page::signed_out(),
    }
}

fn refuse(message: &str) -> Response {
    tracing::info!("logout refused: {message}");
    page::error(StatusCode::BAD_REQUEST, message, "Nothing was changed.")
}
