//! Pushed authorization requests (RFC 9126), which Keycloak advertises and ifs-connect uses
//! for OpenId connectors: the client posts the request (authenticated like at the token
//! endpoint) and gets a single-use `request_uri` for the browser.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::authorize;
use super::clients;
use super::oauth::{FormParams, OAuthError, no_store};
use super::state::{AppState, Shared, now};

/// RFC 9126 suggests a short life; Keycloak's default is 60 s.
const REQUEST_URI_LIFETIME: i64 = 60;

pub async fn push(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match push_request(&app, &headers, &body) {
        Ok(body) => (StatusCode::CREATED, no_store(Json(body))).into_response(),
        Err(error) => error.into_response(),
    }
}

fn push_request(app: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let form = FormParams::from_body(headers, body)?;
    let client = clients::authenticate(&app.clients, headers, &form)?;
    let request = authorize::validate(app, client.id, &form).map_err(|r| r.into_oauth_error())?;
    let expires_at = now() + REQUEST_URI_LIFETIME;
    let request_uri = app.with_store(|s| s.push(request, expires_at));
    tracing::info!(client = %client.id, "authorization request pushed");
    Ok(json!({ "request_uri": request_uri, "expires_in": REQUEST_URI_LIFETIME }))
}
