//! The API probe: one GET below the Base URL with the access token, to show the token works
//! where it will be used (IFS Cloud's "who am I" call by default), who the user is in IFS,
//! and, when it fails, why, in IFS's terms.

use std::time::Instant;

use reqwest::header::{ACCEPT, AUTHORIZATION};
use secrecy::SecretString;
use serde_json::Value;

use super::explain::provider_text;
use super::userinfo::bearer;
use super::{ErrorKind, LoginError, ProbeResult, http};
use crate::core::ifs::who::{ifs_user, projection_of};

/// The OData error code IFS answers when the user has no grant for a projection
/// (`FndProjectionGrant.SRV_NOT_ACCESS`).
const NO_GRANT_CODE_SUFFIX: &str = "SRV_NOT_ACCESS";

/// `{base_url}/{probe_path}`, with exactly one `/` between them.
pub fn probe_url(base_url: &str, probe_path: &str) -> String {
    format!(
        "{}/{}",
        base_url.trim_end_matches('/'),
        probe_path.trim_start_matches('/')
    )
}

/// Call the probe; the result is reported even when the call failed.
pub async fn run(
    client: &reqwest::Client,
    url: &str,
    access_token: &SecretString,
) -> (ProbeResult, Result<(), LoginError>) {
    let started = Instant::now();
    let what = "the API probe";
    let outcome = async {
        let request = client
            .get(url)
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, bearer(access_token)?);
        http::send(request, what, url, ErrorKind::Probe).await
    }
    .await;
    let ms = started.elapsed().as_millis() as u64;
    match outcome {
        Err(error) => (
            ProbeResult {
                url: url.to_owned(),
                status: None,
                ms,
                user: None,
            },
            Err(error),
        ),
        Ok(fetched) => {
            let status = fetched.status.as_u16();
            let body: Option<Value> = serde_json::from_slice(&fetched.body).ok();
            let result = ProbeResult {
                url: url.to_owned(),
                status: Some(status),
                ms,
                user: body
                    .as_ref()
                    .filter(|_| fetched.status.is_success())
                    .and_then(ifs_user),
            };
            (result, judge(status, url, body.as_ref()))
        }
    }
}

/// 2xx is fine; every failure is explained by its likely cause in IFS Cloud.
pub fn judge(status: u16, url: &str, body: Option<&Value>) -> Result<(), LoginError> {
    let odata_code = body.and_then(odata_error_code);
    if odata_code
        .as_deref()
        .is_some_and(|c| c.ends_with(NO_GRANT_CODE_SUFFIX))
    {
        return Err(no_grant(status, url, odata_code.as_deref()));
    }
    match status {
        200..=299 => Ok(()),
        401 => Err(LoginError::new(
            ErrorKind::Probe,
            format!("token rejected: the API at {url} did not accept it (HTTP 401)"),
        )
        .with_hint(
            "the token was not accepted: it may be for another audience (the realm or client is \
             not the one this IFS Cloud trusts) or it expired on the way; check the Authority \
             URL belongs to this Base URL, then log in again",
        )),
        403 => Err(no_grant(status, url, odata_code.as_deref())),
        404 => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API answered HTTP 404 at {url}"),
        )
        .with_hint("the Base URL or the probe path is wrong: check the Base URL or probe path")),
        503 => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API at {url} is busy or unavailable (HTTP 503)"),
        )
        .with_hint(
            "IFS Cloud may be refreshing its metadata cache (MI_MODIFIED_ERROR) or starting: \
             retry in a minute",
        )),
        _ => Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API at {url} answered HTTP {status}"),
        )),
    }
}

/// A 403, or IFS's `SRV_NOT_ACCESS`: signed in fine, but without a grant for the projection.
fn no_grant(status: u16, url: &str, code: Option<&str>) -> LoginError {
    let projection = projection_of(url);
    let what = projection
        .as_deref()
        .map_or_else(|| "this API".to_owned(), |p| format!("the projection {p}"));
    let code = code.map(|c| format!(", {c}")).unwrap_or_default();
    LoginError::new(
        ErrorKind::Probe,
        format!(
            "signed in, but the IFS user has no access to {what} (HTTP {status}{code}); the token \
             itself was accepted"
        ),
    )
    .with_hint(format!(
        "grant the user (or its permission set) access to {what} in IFS Cloud \
         (Users and Permissions > Permission Sets > Projection grants), or probe a projection \
         it is granted"
    ))
}

/// The `code` of an OData error (`{"error": {"code": …, "details": [{"code": …}]}}`): the
/// first one that names the missing grant, else the top one.
fn odata_error_code(body: &Value) -> Option<String> {
    let error = body.get("error")?;
    let top = error.get("code").and_then(Value::as_str);
    let details = error
        .get("details")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("code").and_then(Value::as_str));
    let mut codes = top.into_iter().chain(details);
    let first = codes.clone().next();
    codes
        .find(|c| c.ends_with(NO_GRANT_CODE_SUFFIX))
        .or(first)
        .map(|c| provider_text(c, 100))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const WHO: &str = "https://h/main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()";

    #[test]
    fn probe_url_joins_with_one_slash() {
        assert_eq!(probe_url("https://h/", "/a/b()"), "https://h/a/b()");
        assert_eq!(probe_url("https://h", "a"), "https://h/a");
    }

    #[test]
    fn each_status_names_its_cause() {
        assert!(judge(200, WHO, None).is_ok());
        assert!(judge(204, WHO, None).is_ok());
        let e401 = judge(401, WHO, None).unwrap_err();
        assert!(e401.message.contains("token rejected"), "{e401:?}");
        assert!(e401.hint.unwrap().contains("audience"));
        let e403 = judge(403, WHO, None).unwrap_err();
        assert!(
            e403.message
                .contains("no access to the projection FrameworkServices"),
            "{e403:?}"
        );
        assert!(!e403.message.contains("token rejected"));
        let e404 = judge(404, WHO, None).unwrap_err();
        assert!(
            e404.hint
                .unwrap()
                .contains("check the Base URL or probe path")
        );
        let e503 = judge(503, WHO, None).unwrap_err();
        assert!(e503.hint.unwrap().contains("retry"));
        assert_eq!(judge(500, WHO, None).unwrap_err().kind, ErrorKind::Probe);
    }

    #[test]
    fn srv_not_access_is_a_missing_grant_whatever_the_status() {
        let url = "https://h/main/ifsapplications/projection/v1/PurchaseOrderHandling.svc/PurchaseOrderSet";
        let body = json!({"error": {"code": "DATABASE_ERROR", "message": "x",
            "details": [{"code": "FndProjectionGrant.SRV_NOT_ACCESS", "message": "no"}]}});
        for status in [400, 403, 500] {
            let e = judge(status, url, Some(&body)).unwrap_err();
            assert!(
                e.message
                    .contains("no access to the projection PurchaseOrderHandling"),
                "{e:?}"
            );
            assert!(e.message.contains("FndProjectionGrant.SRV_NOT_ACCESS"));
        }
        let other = json!({"error": {"code": "MI_MODIFIED_ERROR"}});
        assert!(
            judge(503, url, Some(&other))
                .unwrap_err()
                .message
                .contains("busy")
        );
    }
}
