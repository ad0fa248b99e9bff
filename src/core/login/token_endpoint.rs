//! The token request (RFC 6749 section 4.1.3 with PKCE): the code is exchanged once, and the
//! provider's OAuth error is explained in plain words.

use secrecy::SecretString;
use serde_json::Value;

use super::explain::{error_with_description, provider_text, token_error_hint};
use super::http::{self, ClientAuth};
use super::{ErrorKind, LoginError};

/// What the token endpoint returned. Token values stay secret; the rest may be shown.
pub struct TokenSet {
    pub access_token: SecretString,
    pub expires_in: Option<u64>,
    /// How long the refresh token lives unused (Keycloak; 0 for an offline session).
    pub refresh_expires_in: Option<u64>,
    pub refresh_token: Option<SecretString>,
    pub id_token: Option<SecretString>,
    pub scope: Option<String>,
}

/// The parts of the request that are not secret.
pub struct TokenRequest<'a> {
    pub endpoint: &'a str,
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub auth: &'a ClientAuth,
}

/// Exchange `code` (and the PKCE verifier, when one was used) for tokens.
pub async fn exchange(
    client: &reqwest::Client,
    request: &TokenRequest<'_>,
    code: SecretString,
    verifier: Option<SecretString>,
) -> Result<TokenSet, LoginError> {
    let mut form: Vec<(String, SecretString)> = vec![
        ("grant_type".into(), "authorization_code".into()),
        ("code".into(), code),
        ("redirect_uri".into(), request.redirect_uri.into()),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier".into(), verifier));
    }
    let what = "the token endpoint";
    let builder = request
        .auth
        .post_form(client, request.endpoint, request.client_id, form);
    let fetched = http::send(builder, what, request.endpoint, ErrorKind::TokenRequest).await?;
    if !fetched.status.is_success() {
        return Err(error_response(&fetched, request));
    }
    let mut body = http::json_body(&fetched, what, request.endpoint, ErrorKind::TokenRequest)?;
    token_set(&mut body, request.endpoint)
}

/// An OAuth error body explained, or the bare status when there is none.
fn error_response(fetched: &http::Fetched, request: &TokenRequest<'_>) -> LoginError {
    let what = "the token endpoint";
    let parsed = http::json_body(fetched, what, request.endpoint, ErrorKind::TokenRequest);
    let Some(error) = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("error"))
        .and_then(Value::as_str)
    else {
        return match parsed {
            Err(e) if fetched.status.is_success() => e,
            _ => http::status_error(fetched, what, request.endpoint, ErrorKind::TokenRequest),
        };
    };
    let description = parsed
        .as_ref()
        .ok()
        .and_then(|v| v.get("error_description"))
        .and_then(Value::as_str);
    LoginError::new(
        ErrorKind::TokenRequest,
        format!(
            "the token endpoint refused the request (HTTP {}): {}",
            fetched.status.as_u16(),
            error_with_description(error, description)
        ),
    )
    .with_hint(token_error_hint(
        error,
        description,
        request.redirect_uri,
        request.auth.has_secret(),
    ))
}

/// Move the tokens out of the parsed body into secrets, checking the required fields.
pub(super) fn token_set(body: &mut Value, endpoint: &str) -> Result<TokenSet, LoginError> {
    let missing = |field: &str| {
        LoginError::new(
            ErrorKind::TokenRequest,
            format!("the token endpoint at {endpoint} answered without {field}"),
        )
    };
    let access_token = take_secret(body, "access_token").ok_or_else(|| missing("access_token"))?;
    let token_type = body
        .get("token_type")
        .and_then(Value::as_str)
        .map(|t| provider_text(t, 40))
        .ok_or_else(|| missing("token_type"))?;
    if !token_type.eq_ignore_ascii_case("bearer") {
        return Err(LoginError::new(
            ErrorKind::TokenRequest,
            format!(
                "the token endpoint issued a '{token_type}' token; only Bearer tokens are supported"
            ),
        ));
    }
    Ok(TokenSet {
        access_token,
        expires_in: body.get("expires_in").and_then(number_as_u64),
        refresh_expires_in: body.get("refresh_expires_in").and_then(number_as_u64),
        refresh_token: take_secret(body, "refresh_token"),
        id_token: take_secret(body, "id_token"),
        scope: body
            .get("scope")
            .and_then(Value::as_str)
            .map(|s| provider_text(s, 500)),
    })
}

/// Providers send `expires_in` as a number, some as a string.
fn number_as_u64(value: &Value) -> Option<u64> {
    value
        .as_u64()
        .or_else(|| value.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
        .or_else(|| value.as_str().and_then(|s| s.parse().ok()))
}

/// Take a string out of the JSON (leaving null behind) so that only the secret holds it.
fn take_secret(body: &mut Value, key: &str) -> Option<SecretString> {
    match body.get_mut(key).map(Value::take) {
        Some(Value::String(text)) if !text.is_empty() => Some(SecretString::from(text)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use serde_json::json;

    #[test]
    fn a_token_response_becomes_secrets() {
        let mut body = json!({
            "access_token": "AT", "token_type": "bearer", "expires_in": "300",
            "refresh_token": "RT", "id_token": "IT", "scope": "openid email"
        });
        let set = token_set(&mut body, "https://t").unwrap();
        assert_eq!(set.access_token.expose_secret(), "AT");
        assert_eq!(set.refresh_token.unwrap().expose_secret(), "RT");
        assert_eq!(set.expires_in, Some(300));
        assert_eq!(set.scope.as_deref(), Some("openid email"));
        // Nothing of the tokens is left in the parsed body.
        assert!(!body.to_string().contains("AT") && !body.to_string().contains("RT"));
    }

    #[test]
    fn missing_or_odd_fields_are_token_request_errors() {
        for body in [
            json!({"token_type": "Bearer"}),
            json!({"access_token": "x"}),
            json!({"access_token": "x", "token_type": "DPoP"}),
        ] {
            let e = token_set(&mut body.clone(), "https://t").err().unwrap();
            assert_eq!(e.kind, ErrorKind::TokenRequest);
            assert!(!e.message.contains("\"x\""));
        }
    }
}
