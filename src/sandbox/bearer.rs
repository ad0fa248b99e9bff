//! The resource-server side, shared by userinfo and the IFS-like API: a bearer access token
//! (RFC 6750) is accepted when this sandbox signed it, it has not expired, it is an access
//! token (not an ID token), and neither it nor its session was revoked.

use axum::Json;
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::AppState;

#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// No bearer credentials at all: a bare challenge, no error code (RFC 6750 section 3.1).
    Missing,
    /// Credentials that do not pass; the text says why.
    InvalidToken(&'static str),
    /// A good token without the scope this resource needs.
    InsufficientScope(&'static str),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        let (status, challenge, body) = match self {
            Refused::Missing => (
                StatusCode::UNAUTHORIZED,
                r#"Bearer realm="sandbox""#.to_owned(),
                json!({"error": "invalid_request", "error_description": "Bearer access token required"}),
            ),
            Refused::InvalidToken(why) => (
                StatusCode::UNAUTHORIZED,
                format!(
                    r#"Bearer realm="sandbox", error="invalid_token", error_description="{why}""#
                ),
                json!({"error": "invalid_token", "error_description": why}),
            ),
            Refused::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                format!(r#"Bearer realm="sandbox", error="insufficient_scope", scope="{scope}""#),
                json!({"error": "insufficient_scope", "error_description": format!("the token lacks the {scope} scope")}),
            ),
        };
        tracing::info!(
            status = status.as_u16(),
            "bearer token refused: {challenge}"
        );
        let mut response = (status, Json(body)).into_response();
        if let Ok(value) = HeaderValue::from_str(&challenge) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// The claims of the request's access token, if it is one this sandbox still honours.
pub fn access_claims(app: &AppState, headers: &HeaderMap) -> Result<Value, Refused> {
    let token = bearer_token(headers).ok_or(Refused::Missing)?;
    let claims = app
        .keys
        .verify(token, &app.issuer, true)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Refused::InvalidToken("Token is expired")
            }
            _ => {
                Refused::InvalidToken("Token verification failed (not signed by this sandbox run?)")
            }
        })?;
    let text = |key: &str| claims.get(key).and_then(Value::as_str).unwrap_or("");
    if text("typ") != "Bearer" {
        return Err(Refused::InvalidToken(
            "Not an access token (an ID token is not a bearer token)",
        ));
    }
    if !app.with_store(|s| s.access_usable(text("jti"), text("sid"))) {
        return Err(Refused::InvalidToken(
            "Token is not active (revoked, or its session ended)",
        ));
    }
    Ok(claims)
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bearer_scheme_counts() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, "bearer abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(AUTHORIZATION, "Basic abc".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
        headers.insert(AUTHORIZATION, "Bearer ".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
