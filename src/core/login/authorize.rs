//! The authorization request: its parameters in a fixed order (standard ones first, then the
//! connector's extra ones), the browser URL, and pushed authorization requests (RFC 9126).

use secrecy::SecretString;
use serde_json::Value;
use url::Url;

use super::explain::{self, error_with_description};
use super::http::{self, ClientAuth};
use super::{ErrorKind, LoginError};
use crate::core::connector::Param;
use crate::core::validate::RESERVED_PARAMS;

/// Everything the authorization request carries. None of it is secret: the PKCE challenge is
/// a hash, and state and nonce are one-time values the browser sees anyway.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub scope: &'a str,
    pub state: &'a str,
    pub nonce: Option<&'a str>,
    pub code_challenge: Option<&'a str>,
    pub login_hint: Option<&'a str>,
    pub extra: &'a [Param],
}

impl Request<'_> {
    /// The parameters in order. An extra parameter may replace `scope` or `login_hint` (it then
    /// moves to the end), never a protocol parameter the program owns: that is an error.
    pub fn params(&self) -> Result<Vec<(String, String)>, LoginError> {
        let mut params: Vec<(String, String)> = Vec::new();
        let mut push = |key: &str, value: &str| params.push((key.to_owned(), value.to_owned()));
        push("response_type", "code");
        push("client_id", self.client_id);
        push("redirect_uri", self.redirect_uri);
        push("scope", self.scope);
        push("state", self.state);
        if let Some(nonce) = self.nonce {
            push("nonce", nonce);
        }
        if let Some(challenge) = self.code_challenge {
            push("code_challenge", challenge);
            push("code_challenge_method", super::pkce::Pkce::METHOD);
        }
        if let Some(hint) = self.login_hint {
            push("login_hint", hint);
        }
        for param in self.extra {
            if RESERVED_PARAMS.contains(&param.key.to_ascii_lowercase().as_str()) {
                return Err(LoginError::new(
                    ErrorKind::Config,
                    format!(
                        "the extra parameter '{}' would override a parameter the program sets",
                        param.key
                    ),
                )
                .with_hint("remove it from the connector's extra query parameters"));
            }
            params.retain(|(key, _)| *key != param.key);
            params.push((param.key.clone(), param.value.clone()));
        }
        Ok(params)
    }
}

/// `endpoint` with `params` appended after any query it already has.
pub fn browser_url(endpoint: &str, params: &[(String, String)]) -> Result<String, LoginError> {
    let mut url = Url::parse(endpoint).map_err(|_| {
        LoginError::new(
            ErrorKind::Config,
            format!("the authorization endpoint '{endpoint}' is not a URL"),
        )
    })?;
    url.query_pairs_mut().extend_pairs(params);
    Ok(url.into())
}

/// The browser URL after a pushed request: only `client_id` and `request_uri` (RFC 9126 4).
pub fn par_browser_url(
    endpoint: &str,
    client_id: &str,
    request_uri: &str,
) -> Result<String, LoginError> {
    browser_url(
        endpoint,
        &[
            ("client_id".to_owned(), client_id.to_owned()),
            ("request_uri".to_owned(), request_uri.to_owned()),
        ],
    )
}

/// Push the request to the PAR endpoint (authenticated like the token request) and return the
/// `request_uri` the browser URL then carries.
pub async fn push(
    client: &reqwest::Client,
    par_endpoint: &str,
    client_id: &str,
    auth: &ClientAuth,
    params: &[(String, String)],
) -> Result<String, LoginError> {
    let what = "the pushed authorization request endpoint";
    // client_id is added by the client authentication, so it is not sent twice.
    let form = params
        .iter()
        .filter(|(key, _)| key != "client_id")
        .map(|(key, value)| (key.clone(), SecretString::from(value.clone())))
        .collect();
    let builder = auth.post_form(client, par_endpoint, client_id, form);
    let fetched = http::send(builder, what, par_endpoint, ErrorKind::AuthorizationDenied).await?;
    let body = http::json_body(&fetched, what, par_endpoint, ErrorKind::AuthorizationDenied);
    if !fetched.status.is_success() {
        let redirect_uri = params
            .iter()
            .find(|(key, _)| key == "redirect_uri")
            .map_or("", |(_, value)| value.as_str());
        return Err(par_error(
            &fetched,
            body.ok(),
            par_endpoint,
            redirect_uri,
            auth.has_secret(),
        ));
    }
    let request_uri = body?
        .get("request_uri")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| {
            LoginError::new(
                ErrorKind::AuthorizationDenied,
                format!("{what} at {par_endpoint} answered without a request_uri"),
            )
        })?;
    Ok(request_uri)
}

/// The provider's refusal of a pushed request, with the likely fix: Keycloak refuses an
/// unregistered redirect URI and a client it does not accept here, before any browser opens.
fn par_error(
    fetched: &http::Fetched,
    body: Option<Value>,
    endpoint: &str,
    redirect_uri: &str,
    has_secret: bool,
) -> LoginError {
    let what = "the pushed authorization request endpoint";
    let Some(error) = body
        .as_ref()
        .and_then(|b| b.get("error"))
        .and_then(Value::as_str)
    else {
        return http::status_error(fetched, what, endpoint, ErrorKind::AuthorizationDenied);
    };
    let description = body
        .as_ref()
        .and_then(|b| b.get("error_description"))
        .and_then(Value::as_str);
    let hint = if explain::mentions_redirect_uri(description) {
        explain::redirect_uri_not_registered(redirect_uri)
    } else if explain::is_client_rejection(fetched.status.as_u16(), error, description) {
        explain::client_authentication_hint(has_secret)
    } else {
        format!(
            "{}; if the provider's PAR support is the problem, turn off PAR for this connector",
            explain::authorization_error_hint(error, "")
        )
    };
    LoginError::new(
        ErrorKind::AuthorizationDenied,
        format!(
            "{what} refused the request (HTTP {}): {}",
            fetched.status.as_u16(),
            error_with_description(error, description)
        ),
    )
    .with_hint(hint)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'a>(extra: &'a [Param]) -> Request<'a> {
        Request {
            client_id: "app",
            redirect_uri: "http://127.0.0.1:5000/callback",
            scope: "openid email",
            state: "S",
            nonce: Some("N"),
            code_challenge: Some("C"),
            login_hint: Some("a@b.co"),
            extra,
        }
    }

    fn keys(params: &[(String, String)]) -> Vec<&str> {
        params.iter().map(|(k, _)| k.as_str()).collect()
    }

    #[test]
    fn standard_parameters_come_first_then_the_extra_ones() {
        let extra = [
            Param::new("prompt", "consent"),
            Param::new("ui_locales", "sv"),
        ];
        let params = request(&extra).params().unwrap();
        assert_eq!(
            keys(&params),
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state",
                "nonce",
                "code_challenge",
                "code_challenge_method",
                "login_hint",
                "prompt",
                "ui_locales"
            ]
        );
        assert!(params.contains(&("code_challenge_method".into(), "S256".into())));
        assert!(params.contains(&("login_hint".into(), "a@b.co".into())));
    }

    #[test]
    fn an_extra_parameter_never_overrides_a_protocol_one() {
        for key in ["state", "Client_Id", "nonce", "code_challenge_method"] {
            let extra = [Param::new(key, "x")];
            assert_eq!(
                request(&extra).params().unwrap_err().kind,
                ErrorKind::Config,
                "{key}"
            );
        }
        let extra = [Param::new("scope", "openid offline_access")];
        let params = request(&extra).params().unwrap();
        assert_eq!(params.iter().filter(|(k, _)| k == "scope").count(), 1);
        assert_eq!(params.last().unwrap().1, "openid offline_access");
    }

    #[test]
    fn without_pkce_nonce_or_hint_those_are_left_out() {
        let r = Request {
            nonce: None,
            code_challenge: None,
            login_hint: None,
            ..request(&[])
        };
        let params = r.params().unwrap();
        assert_eq!(
            keys(&params),
            [
                "response_type",
                "client_id",
                "redirect_uri",
                "scope",
                "state"
            ]
        );
    }

    #[test]
    fn the_browser_url_keeps_the_endpoint_query_and_encodes_values() {
        let params = request(&[]).params().unwrap();
        let url = browser_url("https://idp.example.com/auth?kc_idp_hint=x", &params).unwrap();
        assert!(url.starts_with(
            "https://idp.example.com/auth?kc_idp_hint=x&response_type=code&client_id=app"
        ));
        assert!(url.contains("redirect_uri=http%3A%2F%2F127.0.0.1%3A5000%2Fcallback"));
        assert!(url.contains("scope=openid+email"));
        assert!(url.contains("login_hint=a%40b.co"));
        let par = par_browser_url("https://idp.example.com/auth", "app", "urn:x:1").unwrap();
        assert_eq!(
            par,
            "https://idp.example.com/auth?client_id=app&request_uri=urn%3Ax%3A1"
        );
    }
}
