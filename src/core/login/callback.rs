//! Judging an authorization response, whether it arrived at the loopback listener or was pasted:
//! the same rules for both (state, RFC 9207 `iss`, `error=`).

use secrecy::SecretString;

use super::explain::{authorization_error_hint, error_with_description, provider_text};
use super::pkce::constant_time_eq;
use super::{ErrorKind, LoginError};

/// What the response must carry.
#[derive(Debug, Clone)]
pub struct Expected {
    pub state: String,
    /// The issuer to compare `iss` with, when one is known.
    pub issuer: Option<String>,
    /// The provider advertises RFC 9207, so `iss` must be present.
    pub iss_required: bool,
    /// For hints about `invalid_scope`.
    pub scopes: String,
}

/// The outcome of one response.
#[derive(Debug)]
pub enum Verdict {
    /// Not the response the flow waits for (wrong state, malformed): answer with an error page
    /// and keep waiting.
    Ignored { reason: String },
    /// The flow's response: the code, or why there is none.
    Final(Result<SecretString, LoginError>),
}

#[cfg(test)]
impl Verdict {
    pub fn is_final(&self) -> bool {
        matches!(self, Verdict::Final(_))
    }
}

/// Judge the query string of a redirect.
pub fn judge_query(query: Option<&str>, expected: &Expected) -> Verdict {
    let params = match parse_unique(query.unwrap_or("")) {
        Ok(params) => params,
        Err(reason) => return Verdict::Ignored { reason },
    };
    let get = |key: &str| {
        params
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    match get("state") {
        Some(state) if constant_time_eq(state, &expected.state) => {}
        Some(_) => {
            return Verdict::Ignored {
                reason: "a redirect arrived whose state does not match this login (an old \
                         browser tab, or a forged request); still waiting"
                    .into(),
            };
        }
        None => {
            return Verdict::Ignored {
                reason: "a redirect arrived without state; still waiting".into(),
            };
        }
    }
    if let Err(e) = check_iss(get("iss"), expected) {
        return Verdict::Final(Err(e));
    }
    if let Some(error) = get("error") {
        let message = format!(
            "the provider refused the sign-in: {}",
            error_with_description(error, get("error_description"))
        );
        return Verdict::Final(Err(LoginError::new(
            ErrorKind::AuthorizationDenied,
            message,
        )
        .with_hint(authorization_error_hint(error, &expected.scopes))));
    }
    match get("code") {
        Some(code) if !code.is_empty() => Verdict::Final(Ok(SecretString::from(code.to_owned()))),
        _ => Verdict::Final(Err(LoginError::new(
            ErrorKind::AuthorizationDenied,
            "the redirect carried neither a code nor an error",
        )
        .with_hint(
            "the provider may use a response mode this program does not support",
        ))),
    }
}

/// Judge a redirected URL pasted by the user: it must be a URL whose path is the redirect
/// path; then it is judged exactly like a redirect that reached the listener.
pub fn judge_pasted(text: &str, redirect_path: &str, expected: &Expected) -> Verdict {
    let text = text.trim();
    let Ok(url) = url::Url::parse(text) else {
        return Verdict::Ignored {
            reason: "that is not a URL: paste the whole address the browser ended on".into(),
        };
    };
    if url.path() != redirect_path {
        return Verdict::Ignored {
            reason: format!(
                "that URL's path is '{}', not the redirect path '{redirect_path}': paste the \
                 address the browser ended on after signing in",
                provider_text(url.path(), 100)
            ),
        };
    }
    judge_query(url.query(), expected)
}

/// RFC 9207: with the parameter advertised it must be present; when present it must equal the
/// issuer (a mix-up attack otherwise).
fn check_iss(iss: Option<&str>, expected: &Expected) -> Result<(), LoginError> {
    match (iss, expected.issuer.as_deref()) {
        (None, _) if expected.iss_required => Err(LoginError::new(
            ErrorKind::CallbackIssuerMismatch,
            "the redirect has no iss parameter though the provider advertises RFC 9207",
        )
        .with_hint("the response may come from another provider (mix-up): try again")),
        (Some(iss), Some(issuer)) if iss != issuer => Err(LoginError::new(
            ErrorKind::CallbackIssuerMismatch,
            format!(
                "the redirect says it comes from issuer '{}', not '{issuer}'",
                provider_text(iss, 200)
            ),
        )
        .with_hint(
            "another provider answered (a mix-up attack or a misconfigured proxy): do not \
             trust this response",
        )),
        _ => Ok(()),
    }
}

/// Form-decoded pairs; a parameter given twice is refused (RFC 6749 section 3.1).
fn parse_unique(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut params: Vec<(String, String)> = Vec::new();
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        if params.iter().any(|(k, _)| *k == key) {
            return Err(format!(
                "a redirect arrived with the parameter '{}' twice; still waiting",
                provider_text(&key, 40)
            ));
        }
        params.push((key.into_owned(), value.into_owned()));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn expected(iss_required: bool) -> Expected {
        Expected {
            state: "S".into(),
            issuer: Some("https://idp.example.com/r".into()),
            iss_required,
            scopes: "openid".into(),
        }
    }

    fn kind(v: Verdict) -> Result<String, String> {
        match v {
            Verdict::Ignored { reason } => Err(format!("ignored: {reason}")),
            Verdict::Final(Ok(code)) => Ok(code.expose_secret().to_owned()),
            Verdict::Final(Err(e)) => Err(e.kind.as_str().to_owned()),
        }
    }

    #[test]
    fn callback_table() {
        let iss = "iss=https%3A%2F%2Fidp.example.com%2Fr";
        let cases: &[(&str, bool, Result<&str, &str>)] = &[
            ("code=abc&state=S", false, Ok("abc")),
            (&format!("code=a%2Bb&state=S&{iss}"), true, Ok("a+b")),
            ("code=abc&state=S", true, Err("callback_issuer_mismatch")),
            (
                "code=abc&state=S&iss=https%3A%2F%2Fevil",
                false,
                Err("callback_issuer_mismatch"),
            ),
            (
                "error=access_denied&state=S",
                false,
                Err("authorization_denied"),
            ),
            ("state=S", false, Err("authorization_denied")),
            ("code=abc&state=T", false, Err("ignored")),
            ("code=abc", false, Err("ignored")),
            ("error=access_denied", false, Err("ignored")),
            ("code=abc&state=S&state=S", false, Err("ignored")),
            ("", false, Err("ignored")),
        ];
        for (query, required, want) in cases {
            let got = kind(judge_query(Some(query), &expected(*required)));
            let got = got.map_err(|e| e.split(':').next().unwrap().to_owned());
            assert_eq!(
                got.as_deref().map_err(String::as_str),
                *want,
                "query {query}"
            );
        }
    }

    #[test]
    fn provider_error_text_is_shown_safely_with_a_hint() {
        let v = judge_query(
            Some("error=access_denied&error_description=User%20said%20no%1B%5B2J&state=S"),
            &expected(false),
        );
        let Verdict::Final(Err(e)) = v else { panic!() };
        assert!(
            e.message.contains("access_denied (User said no [2J)"),
            "{}",
            e.message
        );
        assert!(e.hint.unwrap().contains("cancelled"));
    }

    #[test]
    fn pasted_urls_are_judged_like_redirects() {
        let e = expected(false);
        let ok = judge_pasted(
            " http://127.0.0.1:5000/callback?code=c&state=S \n",
            "/callback",
            &e,
        );
        assert_eq!(kind(ok), Ok("c".into()));
        assert!(!judge_pasted("hello", "/callback", &e).is_final());
        assert!(!judge_pasted("http://127.0.0.1/other?code=c&state=S", "/callback", &e).is_final());
        assert!(
            !judge_pasted("http://127.0.0.1/callback?code=c&state=X", "/callback", &e).is_final()
        );
    }
}
