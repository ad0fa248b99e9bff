//! The authorization endpoint and its login page.
//!
//! Order of checks, as RFC 6749 section 4.1.2.1 requires: the client and the redirect URI
//! first, and while either is in doubt the user sees an error page (redirecting to an
//! unvalidated URI would make this server an open redirector). Every later problem goes back
//! to the program as `error=` on the redirect URI, with `state` and RFC 9207's `iss`.

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::{CACHE_CONTROL, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::clients::REGISTERED_REDIRECT_URIS;
use super::oauth::{FormParams, OAuthError};
use super::page;
use super::pkce;
use super::state::{
    AppState, AuthRequest, Code, Grant, REALM_PATH, Shared, now, random_token, seconds,
};
use super::users::{self, DEMO, User};

/// The realm's client scopes (Keycloak's defaults plus IFS's `microprofile-jwt`).
pub const KNOWN_SCOPES: [&str; 9] = [
    "openid",
    "profile",
    "email",
    "offline_access",
    "microprofile-jwt",
    "roles",
    "web-origins",
    "address",
    "phone",
];
/// Keycloak's default client scopes: granted whether asked for or not.
const DEFAULT_SCOPES: [&str; 2] = ["profile", "email"];

/// Where an error may be sent back to.
#[derive(Debug, Clone)]
pub struct Return {
    redirect_uri: String,
    state: Option<String>,
}

/// Why an authorization request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// The client or redirect URI cannot be trusted: tell the user, never redirect.
    Show { message: String, hint: String },
    /// Tell the program, through the (validated) redirect URI.
    Redirect {
        back: Return,
        error: &'static str,
        description: String,
    },
}

impl Refusal {
    fn show(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Refusal::Show {
            message: message.into(),
            hint: hint.into(),
        }
    }

    /// The same refusal as a PAR endpoint's JSON error (RFC 9126 section 2.3).
    pub fn into_oauth_error(self) -> OAuthError {
        match self {
            Refusal::Show { message, .. } => OAuthError::invalid_request(message),
            Refusal::Redirect {
                error, description, ..
            } => OAuthError::new(StatusCode::BAD_REQUEST, error, description),
        }
    }

    fn respond(self, app: &AppState) -> Response {
        match self {
            Refusal::Show { message, hint } => {
                tracing::info!("authorization request refused on a page: {message}");
                page::error(StatusCode::BAD_REQUEST, &message, &hint)
            }
            Refusal::Redirect {
                back,
                error,
                description,
            } => {
                tracing::info!(error, "authorization request refused: {description}");
                error_redirect(app, &back, error, &description)
            }
        }
    }
}

// ---- handlers ------------------------------------------------------------------------------------

pub async fn authorize_get(State(app): State<Shared>, RawQuery(query): RawQuery) -> Response {
    match FormParams::from_query(query.as_deref()) {
        Ok(params) => begin(&app, &params),
        Err(e) => page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    }
}

/// OIDC Core 3.1.2.1: the authorization endpoint accepts a form POST too.
pub async fn authorize_post(
    State(app): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match FormParams::from_body(&headers, &body) {
        Ok(params) => begin(&app, &params),
        Err(e) => page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    }
}

/// The login form's POST: check the password, then send the program its code.
pub async fn sign_in(
    State(app): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = match FormParams::from_body(&headers, &body) {
        Ok(form) => form,
        Err(e) => return page::error(StatusCode::BAD_REQUEST, e.description(), ""),
    };
    let Some(waiting) = app.with_store(|s| s.pending(&id).cloned()) else {
        return expired_page();
    };
    let login = form.get("login").unwrap_or("");
    let Some(user) = users::authenticate(login, form.get("password").unwrap_or("")) else {
        tracing::info!("sign-in with a wrong username or password");
        if !app.with_store(|s| s.count_failed_login(&id)) {
            return page::error(
                StatusCode::BAD_REQUEST,
                "Too many failed sign-ins.",
                "Start the test login again from the program.",
            );
        }
        let error = "Invalid username or password. The sandbox's user is demo / demo.";
        return login_page(&id, &waiting.request, login, Some(error));
    };
    let Some(waiting) = app.with_store(|s| s.take_pending(&id)) else {
        return expired_page();
    };
    tracing::info!(client = %waiting.request.client_id, user = %user.username, "signed in; redirecting with a code");
    code_redirect(&app, waiting.request, user)
}

/// The login page's Cancel link: the user declined.
pub async fn abort(State(app): State<Shared>, Path(id): Path<String>) -> Response {
    let Some(waiting) = app.with_store(|s| s.take_pending(&id)) else {
        return expired_page();
    };
    let back = Return {
        redirect_uri: waiting.request.redirect_uri,
        state: waiting.request.state,
    };
    tracing::info!("the user cancelled the sign-in");
    error_redirect(
        &app,
        &back,
        "access_denied",
        "The user cancelled the sign-in",
    )
}

// ---- the request --------------------------------------------------------------------------------

fn begin(app: &AppState, params: &FormParams) -> Response {
    let request = match params.get("request_uri") {
        Some(request_uri) => from_pushed(app, params, request_uri),
        None => match params.get("client_id") {
            Some(client_id) => validate(app, client_id, params),
            None => Err(Refusal::show(
                "Missing parameter: client_id",
                "The program's authorization request is incomplete.",
            )),
        },
    };
    let request = match request {
        Ok(request) => request,
        Err(refusal) => return refusal.respond(app),
    };
    if request.prompt_none {
        let back = Return {
            redirect_uri: request.redirect_uri,
            state: request.state,
        };
        let why = "prompt=none, but nobody is signed in (the sandbox keeps no browser session)";
        return error_redirect(app, &back, "login_required", why);
    }
    let expires_at = now() + seconds(app.lifetimes.login_page);
    let id = app.with_store(|s| s.add_pending(request.clone(), expires_at));
    tracing::info!(client = %request.client_id, redirect_uri = %request.redirect_uri, pkce = request.code_challenge.is_some(), "authorization request accepted; login page shown");
    let username = request.login_hint.as_deref().unwrap_or(DEMO.username);
    login_page(&id, &request, username, None)
}

/// RFC 9126 section 4: with a `request_uri`, only the pushed parameters count, and the
/// `client_id` must be the one that pushed them.
fn from_pushed(
    app: &AppState,
    params: &FormParams,
    request_uri: &str,
) -> Result<AuthRequest, Refusal> {
    let hint = "Pushed requests live 60 s and work once: start the test login again.";
    let client_id = params
        .get("client_id")
        .ok_or_else(|| Refusal::show("Missing parameter: client_id", hint))?;
    let request = app
        .with_store(|s| s.take_pushed(request_uri))
        .ok_or_else(|| {
            Refusal::show("The request_uri is unknown, expired or already used.", hint)
        })?;
    if request.client_id != client_id {
        return Err(Refusal::show(
            format!("The request_uri was pushed by another client than '{client_id}'."),
            hint,
        ));
    }
    Ok(request)
}

/// Validate the parameters of an authorization request for `client_id` (from the query, the
/// form, or a PAR body whose client has already authenticated).
pub fn validate(
    app: &AppState,
    client_id: &str,
    params: &FormParams,
) -> Result<AuthRequest, Refusal> {
    let client = app.clients.get(client_id).ok_or_else(|| {
        Refusal::show(
            format!("Client not found: '{client_id}'."),
            "Client IDs are case-sensitive. This sandbox has ifs-connect-public and \
             ifs-connect-confidential.",
        )
    })?;
    let redirect_uri = params.get("redirect_uri").ok_or_else(|| {
        Refusal::show(
            "Missing parameter: redirect_uri",
            "The program must say where to send the result.",
        )
    })?;
    if !client.allows_redirect_uri(redirect_uri) {
        return Err(Refusal::show(
            format!(
                "Invalid parameter: redirect_uri ('{redirect_uri}' is not registered for {client_id})."
            ),
            format!(
                "Registered: {} - any port on 127.0.0.1 or localhost is accepted, nothing else.",
                REGISTERED_REDIRECT_URIS.join(", ")
            ),
        ));
    }
    let back = Return {
        redirect_uri: redirect_uri.to_owned(),
        state: params.get("state").map(str::to_owned),
    };
    let refuse = |error: &'static str, description: String| Refusal::Redirect {
        back: back.clone(),
        error,
        description,
    };
    if params.has("request") {
        return Err(refuse(
            "request_not_supported",
            "request objects are not supported".into(),
        ));
    }
    if params.has("request_uri") {
        return Err(refuse(
            "invalid_request",
            "request_uri cannot be pushed; it comes from the PAR endpoint".into(),
        ));
    }
    match params.get("response_type") {
        Some("code") => {}
        None => {
            return Err(refuse(
                "invalid_request",
                "Missing parameter: response_type".into(),
            ));
        }
        Some(other) => {
            return Err(refuse(
                "unsupported_response_type",
                format!("response_type '{other}' is not supported; use code"),
            ));
        }
    }
    if let Some(mode) = params.get("response_mode").filter(|m| *m != "query") {
        return Err(refuse(
            "invalid_request",
            format!("response_mode '{mode}' is not supported; use query"),
        ));
    }
    let scopes = granted_scopes(params.get("scope"))
        .map_err(|unknown| refuse("invalid_scope", format!("Invalid scopes: {unknown}")))?;
    let code_challenge = pkce::check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
    )
    .map_err(|e| refuse("invalid_request", e.to_string()))?;
    if client.requires_pkce() && code_challenge.is_none() {
        return Err(refuse(
            "invalid_request",
            format!("Missing parameter: code_challenge ({client_id} requires PKCE with S256)"),
        ));
    }
    let prompt_none = prompt_is_none(params.get("prompt"))
        .map_err(|why| refuse("invalid_request", why.into()))?;
    Ok(AuthRequest {
        client_id: client.id.to_owned(),
        redirect_uri: redirect_uri.to_owned(),
        scopes,
        state: back.state.clone(),
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        login_hint: params.get("login_hint").map(str::to_owned),
        prompt_none,
    })
}

/// The requested scopes (in order, once each) plus the default ones; `Err` names the
/// unknown ones, which Keycloak refuses with `invalid_scope`.
pub fn granted_scopes(requested: Option<&str>) -> Result<Vec<String>, String> {
    let mut scopes: Vec<String> = Vec::new();
    let mut unknown: Vec<&str> = Vec::new();
    for scope in requested.unwrap_or("").split_whitespace() {
        if !KNOWN_SCOPES.contains(&scope) {
            unknown.push(scope);
        } else if !scopes.iter().any(|s| s == scope) {
            scopes.push(scope.to_owned());
        }
    }
    if !unknown.is_empty() {
        return Err(unknown.join(" "));
    }
    for default in DEFAULT_SCOPES {
        if !scopes.iter().any(|s| s == default) {
            scopes.push(default.to_owned());
        }
    }
    Ok(scopes)
}

/// OIDC Core 3.1.2.1: `none` may not be combined with another value. Other values (login,
/// consent, select_account) are honoured by always showing the login page.
fn prompt_is_none(prompt: Option<&str>) -> Result<bool, &'static str> {
    let values: Vec<&str> = prompt.unwrap_or("").split_whitespace().collect();
    let none = values.contains(&"none");
    if none && values.len() > 1 {
        return Err("prompt=none cannot be combined with other prompt values");
    }
    Ok(none)
}

// ---- answers ------------------------------------------------------------------------------------

fn login_page(id: &str, request: &AuthRequest, username: &str, error: Option<&str>) -> Response {
    // Paths without a host: the page works whichever loopback name the browser used.
    let base = format!("{REALM_PATH}/login-actions/{id}");
    page::login(&page::Login {
        client_id: &request.client_id,
        scope: &request.scope_text(),
        action: &format!("{base}/authenticate"),
        abort: &format!("{base}/abort"),
        username,
        error,
    })
}

fn expired_page() -> Response {
    page::error(
        StatusCode::BAD_REQUEST,
        "This sign-in page has expired or was already used.",
        "Start the test login again from the program.",
    )
}

/// A new session and a single-use code for it, sent to the program.
fn code_redirect(app: &AppState, request: AuthRequest, user: &'static User) -> Response {
    let now = now();
    let code_expires = now + seconds(app.lifetimes.code);
    let code = random_token(32);
    let grant = Grant {
        client_id: request.client_id.clone(),
        user,
        scopes: request.scopes.clone(),
        auth_time: now,
        expires_at: code_expires,
    };
    let redirect_uri = request.redirect_uri.clone();
    let state = request.state.clone();
    let grant_id = app.with_store(|s| {
        let grant_id = s.add_grant(grant);
        let entry = Code {
            request,
            grant_id: grant_id.clone(),
            expires_at: code_expires,
        };
        s.add_code(&code, entry);
        grant_id
    });
    let params = [
        ("code", Some(code.as_str())),
        ("state", state.as_deref()),
        ("session_state", Some(grant_id.as_str())),
        ("iss", Some(app.issuer.as_str())),
    ];
    redirect(&redirect_uri, &params)
}

fn error_redirect(app: &AppState, back: &Return, error: &str, description: &str) -> Response {
    let params = [
        ("error", Some(error)),
        ("error_description", Some(description)),
        ("state", back.state.as_deref()),
        ("iss", Some(app.issuer.as_str())),
    ];
    redirect(&back.redirect_uri, &params)
}

/// 302 to `uri` (already validated) with `params` added to its query, as Keycloak answers.
pub fn redirect(uri: &str, params: &[(&str, Option<&str>)]) -> Response {
    let Ok(mut url) = url::Url::parse(uri) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The redirect URI is not a URL.",
            "",
        );
    };
    {
        let mut query = url.query_pairs_mut();
        for (key, value) in params {
            if let Some(value) = value {
                query.append_pair(key, value);
            }
        }
    }
    let Ok(location) = HeaderValue::from_str(url.as_str()) else {
        return page::error(
            StatusCode::BAD_REQUEST,
            "The redirect URI is not valid.",
            "",
        );
    };
    let headers = [
        (LOCATION, location),
        (CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (StatusCode::FOUND, headers).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_scopes_are_added_and_unknown_ones_refused() {
        assert_eq!(
            granted_scopes(Some("openid")).unwrap(),
            ["openid", "profile", "email"]
        );
        assert_eq!(
            granted_scopes(Some("email openid  openid")).unwrap(),
            ["email", "openid", "profile"]
        );
        assert_eq!(granted_scopes(None).unwrap(), ["profile", "email"]);
        assert_eq!(
            granted_scopes(Some("openid bogus x")).unwrap_err(),
            "bogus x"
        );
    }

    #[test]
    fn prompt_none_stands_alone() {
        assert_eq!(prompt_is_none(None), Ok(false));
        assert_eq!(prompt_is_none(Some("login consent")), Ok(false));
        assert_eq!(prompt_is_none(Some("none")), Ok(true));
        assert!(prompt_is_none(Some("none login")).is_err());
    }

    #[test]
    fn redirects_keep_the_query_and_skip_absent_values() {
        let r = redirect(
            "http://127.0.0.1:5/cb?a=1",
            &[("code", Some("x y")), ("state", None)],
        );
        assert_eq!(r.status(), StatusCode::FOUND);
        assert_eq!(r.headers()[LOCATION], "http://127.0.0.1:5/cb?a=1&code=x+y");
    }
}
