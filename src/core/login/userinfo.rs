//! The userinfo call (OIDC Core 5.3): proves the access token works at the provider and fills
//! in email and name when the ID token lacks them. Its `sub` must be the ID token's.

use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::explain::provider_text;
use super::http;
use super::{ErrorKind, LoginError};

/// `Authorization: Bearer …`, marked sensitive so it never shows in debug output.
pub fn bearer(token: &SecretString) -> Result<HeaderValue, LoginError> {
    let mut value =
        HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).map_err(|_| {
            LoginError::new(
                ErrorKind::TokenRequest,
                "the access token has characters that cannot go in an HTTP header",
            )
        })?;
    value.set_sensitive(true);
    Ok(value)
}

/// What userinfo said; `None` when it answered with a signed JWT this program does not read.
pub async fn fetch(
    client: &reqwest::Client,
    endpoint: &str,
    access_token: &SecretString,
    id_token_sub: Option<&str>,
) -> Result<Option<Value>, LoginError> {
    let what = "the userinfo endpoint";
    let request = client
        .get(endpoint)
        .header(ACCEPT, "application/json")
        .header(AUTHORIZATION, bearer(access_token)?);
    let fetched = http::send(request, what, endpoint, ErrorKind::Userinfo).await?;
    if matches!(fetched.status.as_u16(), 401 | 403) {
        return Err(LoginError::new(
            ErrorKind::Userinfo,
            format!(
                "{what} at {endpoint} rejected the access token (HTTP {})",
                fetched.status.as_u16()
            ),
        )
        .with_hint("the IAM client may lack the openid scope, or the token was revoked"));
    }
    if !fetched.status.is_success() {
        return Err(http::status_error(
            &fetched,
            what,
            endpoint,
            ErrorKind::Userinfo,
        ));
    }
    if fetched.content_type.starts_with("application/jwt") {
        return Ok(None);
    }
    let claims = http::json_body(&fetched, what, endpoint, ErrorKind::Userinfo)?;
    check_subject(&claims, id_token_sub)?;
    Ok(Some(claims))
}

/// OIDC Core 5.3.2: a different `sub` means the answer is about someone else.
fn check_subject(claims: &Value, id_token_sub: Option<&str>) -> Result<(), LoginError> {
    let found = claims.get("sub").and_then(Value::as_str);
    match (found, id_token_sub) {
        (Some(found), Some(expected)) if found != expected => Err(LoginError::new(
            ErrorKind::Userinfo,
            format!(
                "userinfo describes subject '{}', but the ID token is for '{expected}'",
                provider_text(found, 100)
            ),
        )
        .with_hint("the answers come from different users or providers: do not trust them")),
        (None, _) => Err(LoginError::new(
            ErrorKind::Userinfo,
            "the userinfo answer has no sub",
        )),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn subject_must_match_the_id_token() {
        assert!(check_subject(&json!({"sub": "a"}), Some("a")).is_ok());
        assert!(check_subject(&json!({"sub": "a"}), None).is_ok());
        assert_eq!(
            check_subject(&json!({"sub": "b"}), Some("a"))
                .unwrap_err()
                .kind,
            ErrorKind::Userinfo
        );
        assert!(check_subject(&json!({}), Some("a")).is_err());
    }

    #[test]
    fn the_bearer_header_is_sensitive() {
        let v = bearer(&SecretString::from("tok")).unwrap();
        assert!(v.is_sensitive());
        assert!(!format!("{v:?}").contains("tok"));
    }
}
