//! The IFS-like API: the one call ifs-connect probes after a login. IFS Cloud's real answer is
//! an OData entity whose exact shape is not public; this one has the same spirit (an
//! `@odata.context` and the user's IFS identity) and says it comes from the sandbox.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::bearer::{self, Refused};
use super::state::Shared;
use super::users::{DEMO, SERVICE, User};

/// Below the Base URL, as on an IFS Cloud tenant.
pub const CURRENT_USER_PATH: &str =
    "/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()";

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
        "Name": user.name(),
        "Email": user.email,
        "Sandbox": true,
    }))
    .into_response()
}
