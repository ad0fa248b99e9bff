//! `{issuer}/.well-known/openid-configuration` and the JWKS: Keycloak's key names and paths,
//! advertising only what this sandbox really does (so a client that believes the document is
//! never surprised).

use axum::Json;
use axum::extract::State;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::state::{AppState, Shared};

pub async fn openid_configuration(State(app): State<Shared>) -> impl IntoResponse {
    Json(document(&app))
}

pub async fn certs(State(app): State<Shared>) -> impl IntoResponse {
    Json(app.keys.jwks())
}

/// The discovery document; see /work/shared/fixtures/keycloak-discovery.json for a real one.
pub fn document(app: &AppState) -> Value {
    let endpoint = |rest: &str| app.endpoint(rest);
    let auth_methods = ["client_secret_basic", "client_secret_post"];
    json!({
        "issuer": app.issuer,
        "authorization_endpoint": endpoint("auth"),
        "token_endpoint": endpoint("token"),
        "userinfo_endpoint": endpoint("userinfo"),
        "end_session_endpoint": endpoint("logout"),
        "jwks_uri": endpoint("certs"),
        "revocation_endpoint": endpoint("revoke"),
        "pushed_authorization_request_endpoint": endpoint("ext/par/request"),
        "device_authorization_endpoint": endpoint("auth/device"),
        "grant_types_supported": [
            "authorization_code", "refresh_token", super::device_endpoints::DEVICE_CODE_GRANT,
            "client_credentials",
        ],
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": auth_methods,
        "revocation_endpoint_auth_methods_supported": auth_methods,
        "code_challenge_methods_supported": ["S256"],
        // Keycloak's list: it leaves select_account out (and ignores it), so a client that
        // warns about unlisted prompt values warns here as it would against IFS Cloud.
        "prompt_values_supported": ["none", "login", "consent"],
        "scopes_supported": super::authorize::KNOWN_SCOPES,
        "claims_supported": [
            "aud", "sub", "iss", "auth_time", "name", "given_name", "family_name",
            "preferred_username", "email", "email_verified", "acr", "sid",
        ],
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": false,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "require_pushed_authorization_requests": false,
        "authorization_response_iss_parameter_supported": true,
        "frontchannel_logout_supported": false,
        "backchannel_logout_supported": false,
    })
}
