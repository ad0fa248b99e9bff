//! The IFS-like API: the "who am I" call ifs-connect probes after a login, a projection the
//! demo user has no grant for (IFS's OData 403 `FndProjectionGrant.SRV_NOT_ACCESS`), and the
//! web client's start page, which sends a visitor who is not signed in to the realm's
//! authorization endpoint with the web client's own client_id, as IFS Cloud does. IFS Cloud's
//! real answers are OData entities whose exact shape is not public; these have their spirit
//! and say they come from the sandbox.

use axum::Json;
use axum::extract::State;
use axum::http::header::LOCATION;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::bearer::{self, Refused};
use super::state::{Shared, random_token};
use super::users::{DEMO, SERVICE, User};

/// Below the Base URL, as on an IFS Cloud tenant.
pub const CURRENT_USER_PATH: &str =
    "/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()";
/// A projection the demo user has no grant for.
pub const NO_GRANT_PATH: &str =
    "/main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/PurchaseOrderSet";
/// IFS Cloud's web client (Aurena), whose start page redirects to the realm.
pub const WEB_START_PATH: &str = "/main/ifsapplications/web/";
/// The client_id IFS's web client signs in with: delivered by IFS, never to be reused.
pub const WEB_CLIENT_ID: &str = "IFS_aurena";

pub async fn current_user_information(State(app): State<Shared>, headers: HeaderMap) -> Response {
    let claims = match bearer::access_claims(&app, &headers) {
        Ok(claims) => claims,
        Err(refused) => return refused.into_response(),
    };
    let sub = claims.get("sub").and_then(Value::as_str);
    let Some(user) = [&DEMO, &SERVICE].into_iter().find(|u| Some(u.sub) == sub) else {
        return Refused::InvalidToken("Unknown user").into_response();
    };
    tracing::info!("API call answered for {}", user.ifs_user_id);
    answer(&app.base_url, user)
}

/// "Who am I", for a person or a service user.
fn answer(base_url: &str, user: &User) -> Response {
    let context = format!(
        "{}/main/ifsapplications/projection/v1/FrameworkServices.svc/$metadata#FrameworkServices.CurrentUserInformation",
        base_url
    );
    Json(json!({
        "@odata.context": context,
        "UserId": user.ifs_user_id,
        "DirectoryId": user.username,
        "Name": user.name(),
        "Email": user.email,
        "Sandbox": true,
    }))
    .into_response()
}

/// Signed in fine, but without a grant for the projection: IFS's OData error.
pub async fn projection_without_grant(State(app): State<Shared>, headers: HeaderMap) -> Response {
    if let Err(refused) = bearer::access_claims(&app, &headers) {
        return refused.into_response();
    }
    let body = json!({"error": {
        "code": "FndProjectionGrant.SRV_NOT_ACCESS",
        "message": "Access denied: the user DEMO has no grant for the projection \
                    PurchaseOrderHandling (IFS Cloud sandbox).",
    }});
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// The web client's start page for a visitor without a session: off to the realm's
/// authorization endpoint, as IFS Cloud's web client does.
pub async fn web_start_page(State(app): State<Shared>) -> Response {
    let callback = format!("{}{WEB_START_PATH}oauth2/callback", app.base_url);
    let mut target = match url::Url::parse(&app.endpoint("auth")) {
        Ok(url) => url,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    target
        .query_pairs_mut()
        .append_pair("client_id", WEB_CLIENT_ID)
        .append_pair("redirect_uri", &callback)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid")
        .append_pair("state", &random_token(16));
    (StatusCode::FOUND, [(LOCATION, target.to_string())]).into_response()
}
