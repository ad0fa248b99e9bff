//! The userinfo endpoint (OIDC Core 5.3): who the access token's user is, limited to what the
//! token's scopes release. Like Keycloak 20+, it needs the `openid` scope.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::bearer::{self, Refused};
use super::issue::add_user_claims;
use super::state::Shared;
use super::users::DEMO;

pub async fn userinfo(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let claims = match bearer::access_claims(&app, &headers) {
        Ok(claims) => claims,
        Err(refused) => return refused.into_response(),
    };
    let scopes: Vec<String> = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    if !scopes.iter().any(|s| s == "openid") {
        return Refused::InsufficientScope("openid").into_response();
    }
    let sub = claims.get("sub").and_then(Value::as_str).unwrap_or("");
    if sub != DEMO.sub {
        return Refused::InvalidToken("Unknown user").into_response();
    }
    let mut body = json!({ "sub": sub });
    add_user_claims(&mut body, &DEMO, &scopes);
    Json(body).into_response()
}
