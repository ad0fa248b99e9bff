//! OAuth plumbing shared by the back-channel endpoints: strict form parsing, the error JSON of
//! RFC 6749 section 5.2, and `Cache-Control: no-store` on everything that carries a token.

use axum::Json;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// An OAuth error answer: a status, an `error` code and a description for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    status: StatusCode,
    code: &'static str,
    description: String,
}

impl OAuthError {
    pub fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
        }
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    /// 401 with a `WWW-Authenticate: Basic` challenge (RFC 6749 section 5.2).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            description,
        )
    }

    pub fn code(&self) -> &'static str {
        self.code
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn description(&self) -> &str {
        &self.description
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        if self.code == "authorization_pending" {
            // A device polls every few seconds while its user signs in: not news.
            tracing::debug!("device poll: authorization pending");
        } else {
            tracing::info!(
                error = self.code,
                status = self.status.as_u16(),
                "refused: {}",
                self.description
            );
        }
        let body = json!({ "error": self.code, "error_description": self.description });
        let mut response = no_store(Json(body)).into_response();
        *response.status_mut() = self.status;
        if self.code == "invalid_client" {
            response.headers_mut().insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static(r#"Basic realm="sandbox""#),
            );
        }
        response
    }
}

/// A JSON answer that must not be cached (it holds tokens, or says why there are none).
pub fn no_store(body: Json<Value>) -> impl IntoResponse {
    (
        [
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        body,
    )
}

/// Request parameters, from a query string or an `application/x-www-form-urlencoded` body.
#[derive(Debug, Clone, Default)]
pub struct FormParams(Vec<(String, String)>);

impl FormParams {
    /// RFC 6749 section 3.1: a parameter may not appear twice; that is an error, not a choice
    /// of the first or the last (which is how a parameter gets smuggled past a check).
    pub fn parse(text: &[u8]) -> Result<Self, OAuthError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in url::form_urlencoded::parse(text) {
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(OAuthError::invalid_request(format!(
                    "the parameter '{key}' appears more than once"
                )));
            }
            pairs.push((key.into_owned(), value.into_owned()));
        }
        Ok(Self(pairs))
    }

    pub fn from_query(query: Option<&str>) -> Result<Self, OAuthError> {
        Self::parse(query.unwrap_or("").as_bytes())
    }

    /// A form body, after checking its content type.
    pub fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Self, OAuthError> {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
            return Err(OAuthError::invalid_request(format!(
                "the body must be application/x-www-form-urlencoded, not '{content_type}'"
            )));
        }
        Self::parse(body)
    }

    /// A parameter sent without a value counts as not sent (RFC 6749 section 3.1).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, key: &str) -> Result<&str, OAuthError> {
        self.get(key)
            .ok_or_else(|| OAuthError::invalid_request(format!("Missing parameter: {key}")))
    }

    pub fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_refused_and_empty_values_are_absent() {
        let e = FormParams::parse(b"a=1&b=2&a=3").unwrap_err();
        assert_eq!(e.code(), "invalid_request");
        let p = FormParams::parse(b"a=x%20y&b=").unwrap();
        assert_eq!(p.get("a"), Some("x y"));
        assert_eq!(p.get("b"), None);
        assert!(p.require("b").is_err());
    }

    #[test]
    fn a_body_needs_the_form_content_type() {
        let mut headers = HeaderMap::new();
        assert!(FormParams::from_body(&headers, b"a=1").is_err());
        headers.insert(
            CONTENT_TYPE,
            "application/x-www-form-urlencoded; charset=UTF-8"
                .parse()
                .unwrap(),
        );
        assert_eq!(
            FormParams::from_body(&headers, b"a=1").unwrap().get("a"),
            Some("1")
        );
    }
}
