//! The token endpoint: `authorization_code` (single-use codes, redirect URI and PKCE checked),
//! `refresh_token` (rotation: each refresh token works once) and the device code grant
//! (device.rs), after client authentication. Errors are RFC 6749 section 5.2 JSON.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::clients::{self, Client};
use super::device_endpoints;
use super::issue::{self, Mint};
use super::oauth::{FormParams, OAuthError, no_store};
use super::pkce;
use super::service;
use super::state::{AppState, Redeem, Shared, now};

pub async fn token(State(app): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    match exchange(&app, &headers, &body) {
        Ok(body) => no_store(Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

fn exchange(app: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Value, OAuthError> {
    let form = FormParams::from_body(headers, body)?;
    let client = clients::authenticate(&app.clients, headers, &form)?;
    match form.require("grant_type")? {
        "authorization_code" => authorization_code(app, client, &form),
        "refresh_token" => refresh_token(app, client, &form),
        device_endpoints::DEVICE_CODE_GRANT => device_endpoints::token(app, client, &form),
        "client_credentials" => service::token(app, client, &form),
        other => Err(OAuthError::new(
            axum::http::StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            format!(
                "Unsupported grant_type '{other}'; this realm has authorization_code, refresh_token, device_code and client_credentials"
            ),
        )),
    }
}

fn authorization_code(
    app: &AppState,
    client: &Client,
    form: &FormParams,
) -> Result<Value, OAuthError> {
    let code = form.require("code")?;
    let redirect_uri = form.require("redirect_uri")?;
    let now = now();
    let issued = app
        .with_store(|s| s.redeem_code(code, client.id, now))
        .map_err(|problem| code_refused(app, problem))?;
    if issued.request.redirect_uri != redirect_uri {
        return Err(OAuthError::invalid_grant(
            "Incorrect redirect_uri: it must be exactly the one of the authorization request",
        ));
    }
    check_pkce(
        issued.request.code_challenge.as_deref(),
        form.get("code_verifier"),
    )?;
    let grant = app
        .with_store(|s| s.grant(&issued.grant_id).cloned())
        .ok_or_else(|| OAuthError::invalid_grant("Session not active"))?;
    tracing::info!(client = %client.id, "code exchanged for tokens");
    issue::token_response(
        app,
        &Mint {
            grant_id: &issued.grant_id,
            grant: &grant,
            nonce: issued.request.nonce.as_deref(),
            scopes: &grant.scopes,
            now,
        },
    )
}

fn code_refused(app: &AppState, problem: Redeem) -> OAuthError {
    let lifetime = app.lifetimes.code.as_secs();
    OAuthError::invalid_grant(match problem {
        Redeem::Unknown => "Code not valid".to_owned(),
        Redeem::Expired => format!("Code is expired (codes are valid for {lifetime} s)"),
        Redeem::Replayed => {
            "Code already used; the session it started is revoked (RFC 6749 section 4.1.2)"
                .to_owned()
        }
        Redeem::WrongClient => "Code was issued to another client".to_owned(),
    })
}

/// RFC 7636 section 4.6, plus Keycloak's rule that a verifier without a challenge is an
/// error too (it means the client lost track of which request it is finishing).
fn check_pkce(challenge: Option<&str>, verifier: Option<&str>) -> Result<(), OAuthError> {
    match (challenge, verifier) {
        (Some(challenge), Some(verifier)) => {
            pkce::verify(verifier, challenge).map_err(|e| OAuthError::invalid_grant(e.to_string()))
        }
        (Some(_), None) => Err(OAuthError::invalid_grant(
            "Missing parameter: code_verifier (the authorization request used PKCE)",
        )),
        (None, Some(_)) => Err(OAuthError::invalid_grant(
            "PKCE code verifier specified but challenge not present in authorization",
        )),
        (None, None) => Ok(()),
    }
}

fn refresh_token(app: &AppState, client: &Client, form: &FormParams) -> Result<Value, OAuthError> {
    let token = form.require("refresh_token")?;
    let now = now();
    // The scope is checked before the token is spent, so a bad request does not burn it.
    let granted = app.with_store(|s| {
        let (grant_id, _) = s.refresh_owner(token)?;
        s.grant(&grant_id).map(|g| g.scopes.clone())
    });
    let scopes = match granted {
        Some(granted) => narrowed_scopes(&granted, form.get("scope"))?,
        // An unknown token: the redemption below says so precisely.
        None => Vec::new(),
    };
    let grant_id = app
        .with_store(|s| s.redeem_refresh(token, client.id, now))
        .map_err(refresh_refused)?;
    let grant = app
        .with_store(|s| s.grant(&grant_id).cloned())
        .ok_or_else(|| OAuthError::invalid_grant("Session not active (signed out or revoked)"))?;
    tracing::info!(client = %client.id, "refresh token rotated");
    issue::token_response(
        app,
        &Mint {
            grant_id: &grant_id,
            grant: &grant,
            nonce: None,
            scopes: &scopes,
            now,
        },
    )
}

fn refresh_refused(problem: Redeem) -> OAuthError {
    OAuthError::invalid_grant(match problem {
        Redeem::Unknown => "Invalid refresh token (unknown, revoked, or from another sandbox run)",
        // Keycloak's words for a refresh token past the session's idle time.
        Redeem::Expired => "Token is not active",
        Redeem::Replayed => {
            "Stale refresh token: it was already used (rotation), so its session is revoked; \
             store the newest refresh token after each refresh"
        }
        Redeem::WrongClient => "Invalid refresh token: it was issued to another client",
    })
}

/// RFC 6749 section 6: a refresh may ask for fewer scopes, never more.
fn narrowed_scopes(granted: &[String], requested: Option<&str>) -> Result<Vec<String>, OAuthError> {
    let Some(requested) = requested else {
        return Ok(granted.to_vec());
    };
    let mut scopes: Vec<String> = Vec::new();
    for scope in requested.split_whitespace() {
        if !granted.iter().any(|g| g == scope) {
            return Err(OAuthError::invalid_scope(format!(
                "Scope '{scope}' was not granted in the first place"
            )));
        }
        if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    Ok(scopes)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn pkce_must_be_used_on_both_sides_or_neither() {
        assert!(check_pkce(Some(CHALLENGE), Some(VERIFIER)).is_ok());
        assert!(check_pkce(None, None).is_ok());
        for (c, v) in [
            (Some(CHALLENGE), None),
            (None, Some(VERIFIER)),
            (Some(CHALLENGE), Some(CHALLENGE)),
        ] {
            assert_eq!(check_pkce(c, v).unwrap_err().code(), "invalid_grant");
        }
    }

    #[test]
    fn a_refresh_can_narrow_but_not_widen_the_scope() {
        let granted: Vec<String> = ["openid", "profile", "email"].map(String::from).to_vec();
        assert_eq!(narrowed_scopes(&granted, None).unwrap(), granted);
        assert_eq!(
            narrowed_scopes(&granted, Some("openid")).unwrap(),
            ["openid"]
        );
        assert_eq!(
            narrowed_scopes(&granted, Some("openid offline_access"))
                .unwrap_err()
                .code(),
            "invalid_scope"
        );
    }
}
