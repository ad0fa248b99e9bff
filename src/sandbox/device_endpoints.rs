//! Device login (RFC 8628) at Keycloak's paths: the device asks
//! `{issuer}/protocol/openid-connect/auth/device` for a user code, the user approves it at
//! `{issuer}/device` (code form, then the usual login page), and the device polls the token
//! endpoint with the device code until it gets tokens or a final answer.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::authorize::granted_scopes;
use super::clients::{self, Client};
use super::device_codes::{Device, Poll};
use super::issue::{self, Mint};
use super::oauth::{FormParams, OAuthError, no_store};
use super::page;
use super::pkce;
use super::state::{AppState, Grant, REALM_PATH, Shared, now, random_token, seconds};
use super::users::{self, DEMO};

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

// ---- the device's side ----------------------------------------------------------------------------

pub async fn authorize_device(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match device_authorization(&app, &headers, &body) {
        Ok(body) => no_store(Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}

/// RFC 8628 section 3.1-3.2: a device code for the client, and a user code for the person.
fn device_authorization(
    app: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, OAuthError> {
    let form = FormParams::from_body(headers, body)?;
    let client = clients::authenticate(&app.clients, headers, &form)?;
    let scopes = granted_scopes(form.get("scope"))
        .map_err(|unknown| OAuthError::invalid_scope(format!("Invalid scopes: {unknown}")))?;
    let challenge = pkce::check_challenge(
        form.get("code_challenge"),
        form.get("code_challenge_method"),
    )
    .map_err(|e| OAuthError::invalid_request(e.to_string()))?;
    if challenge.is_none() && client.requires_pkce() {
        // Keycloak's words for a PKCE-required client's device request without PKCE.
        return Err(OAuthError::invalid_request(
            "Missing parameter: code_challenge_method",
        ));
    }
    let lifetime = seconds(app.lifetimes.device_code);
    let interval = app.lifetimes.device_interval;
    let mut device = Device::new(client.id, scopes, now() + lifetime, interval);
    device.code_challenge = challenge;
    let device_code = random_token(32);
    let user_code = app.with_store(|s| s.devices().add(&device_code, device));
    let verification_uri = format!("{}/device", app.issuer);
    let complete = url::form_urlencoded::Serializer::new(format!("{verification_uri}?"))
        .append_pair("user_code", &user_code)
        .finish();
    tracing::info!(client = %client.id, "device login started");
    Ok(json!({
        "device_code": device_code,
        "user_code": user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": complete,
        "expires_in": lifetime,
        "interval": interval.as_secs(),
    }))
}

/// The token endpoint's `urn:ietf:params:oauth:grant-type:device_code` grant.
pub fn token(app: &AppState, client: &Client, form: &FormParams) -> Result<Value, OAuthError> {
    let device_code = form.require("device_code")?;
    if let Some(challenge) = app.with_store(|s| s.devices().challenge_of(device_code, client.id)) {
        let verifier = form.require("code_verifier")?;
        pkce::verify(verifier, &challenge).map_err(|e| OAuthError::invalid_grant(e.to_string()))?;
    }
    let now = now();
    let grant_id = app
        .with_store(|s| {
            s.devices()
                .poll(device_code, client.id, now, Instant::now())
        })
        .map_err(poll_refused)?;
    let grant = app
        .with_store(|s| s.grant(&grant_id).cloned())
        .ok_or_else(|| OAuthError::invalid_grant("Session not active"))?;
    tracing::info!(client = %client.id, "device code exchanged for tokens");
    issue::token_response(
        app,
        &Mint {
            grant_id: &grant_id,
            grant: &grant,
            nonce: None,
            scopes: &grant.scopes,
            now,
        },
    )
}

fn poll_refused(poll: Poll) -> OAuthError {
    let error = |code, text: &str| OAuthError::new(StatusCode::BAD_REQUEST, code, text);
    match poll {
        Poll::Pending => error(
            "authorization_pending",
            "The user has not approved the device yet",
        ),
        Poll::SlowDown => error(
            "slow_down",
            "Polling too fast: wait 5 s more between polls from now on",
        ),
        Poll::Denied => error("access_denied", "The user cancelled the device login"),
        Poll::Expired => error(
            "expired_token",
            "The device code expired; start the device login again",
        ),
        Poll::Unknown => OAuthError::invalid_grant(
            "Device code not valid (unknown, or its tokens were already issued)",
        ),
        Poll::WrongClient => OAuthError::invalid_grant("Device code was issued to another client"),
    }
}

// ---- the user's side ------------------------------------------------------------------------------

fn code_form_action() -> String {
    format!("{REALM_PATH}/device")
}

pub async fn verification_page(RawQuery(query): RawQuery) -> Response {
    let params = FormParams::from_query(query.as_deref()).unwrap_or_default();
    let prefill = params.get("user_code").unwrap_or("");
    page::device_code_form(StatusCode::OK, &code_form_action(), prefill, None)
}

/// The typed code names a waiting device: show the login page for it.
pub async fn submit_user_code(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match FormParams::from_body(&headers, &body) {
        Ok(form) => form,
        Err(e) => return page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    };
    let typed = form.get("user_code").unwrap_or("");
    let now = now();
    let page_expires = now + seconds(app.lifetimes.login_page);
    let found = app.with_store(|s| {
        let (key, client_id, scopes) = {
            let (key, device) = s.devices().find_pending(typed, now)?;
            (key, device.client_id.clone(), device.scopes.join(" "))
        };
        Some((s.devices().open_page(key, page_expires), client_id, scopes))
    });
    let Some((id, client_id, scope)) = found else {
        tracing::info!("an unknown or spent user code was entered");
        let error = "That code is unknown, expired or already used: check the code on the device.";
        return page::device_code_form(
            StatusCode::BAD_REQUEST,
            &code_form_action(),
            typed,
            Some(error),
        );
    };
    login_page(&id, &client_id, &scope, None)
}

fn login_page(id: &str, client_id: &str, scope: &str, error: Option<&str>) -> Response {
    let base = format!("{REALM_PATH}/device/{id}");
    page::login(&page::Login {
        client_id,
        scope,
        action: &format!("{base}/authenticate"),
        abort: &format!("{base}/abort"),
        username: DEMO.username,
        error,
    })
}

fn expired_page() -> Response {
    page::error(
        StatusCode::BAD_REQUEST,
        "This device login has expired or was already answered.",
        "Start the device login again on the device.",
    )
}

/// The login form of a device login: the right password approves the device.
pub async fn device_sign_in(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match FormParams::from_body(&headers, &body) {
        Ok(form) => form,
        Err(e) => return page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    };
    let now = now();
    let waiting = app.with_store(|s| {
        s.devices()
            .page(&id, now)
            .map(|(key, d)| (key, d.client_id.clone(), d.scopes.clone(), d.expires_at))
    });
    let Some((key, client_id, scopes, expires_at)) = waiting else {
        return expired_page();
    };
    let login = form.get("login").unwrap_or("");
    let Some(user) = users::authenticate(login, form.get("password").unwrap_or("")) else {
        tracing::info!("device sign-in with a wrong username or password");
        let error = "Invalid username or password. The sandbox's user is demo / demo.";
        return login_page(&id, &client_id, &scopes.join(" "), Some(error));
    };
    let grant = Grant {
        client_id,
        user,
        scopes,
        auth_time: now,
        expires_at,
    };
    app.with_store(|s| {
        let grant_id = s.add_grant(grant);
        s.devices().approve(&key, grant_id);
    });
    tracing::info!(user = %user.username, "device login approved");
    page::device_done(true)
}

/// The Cancel link of a device login: the device's next poll hears `access_denied`.
pub async fn device_abort(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    let now = now();
    let denied = app.with_store(|s| {
        let (key, _) = s.devices().page(&id, now)?;
        s.devices().deny(&key);
        Some(())
    });
    match denied {
        Some(()) => {
            tracing::info!("device login cancelled by the user");
            page::device_done(false)
        }
        None => expired_page(),
    }
}
