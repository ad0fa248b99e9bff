//! The device authorization grant (RFC 8628) for machines without a usable browser: ask for a
//! user code, show it with the verification URI, and poll the token endpoint until the user
//! approved it elsewhere, it was denied, or it expired. The tokens then go through the same ID
//! token checks as the browser flow.

use std::future::Future;
use std::time::Duration;

use secrecy::SecretString;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::client_auth::client_auth_for;
use super::explain::{error_with_description, provider_text};
use super::http::{self, ClientAuth};
use super::pkce::Pkce;
use super::policy;
use super::provider::Provider;
use super::recorder::Context;
use super::recorder::Recorder;
use super::token_endpoint::{self, TokenSet};
use super::{ErrorKind, LoginError, Step};

pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// RFC 8628 section 3.2: poll every 5 s unless the provider says otherwise.
const DEFAULT_INTERVAL: Duration = Duration::from_secs(5);
/// RFC 8628 section 3.5: each `slow_down` adds 5 s to the interval.
const SLOW_DOWN_STEP: Duration = Duration::from_secs(5);
/// A provider asking for more than this between polls is not honoured beyond it.
const MAX_INTERVAL: Duration = Duration::from_secs(60);

/// What the user needs to approve the login on another device. The user code is short-lived
/// and useless without the device code (which stays here), but is still never logged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevicePrompt {
    pub verification_uri: String,
    /// The URI with the code filled in, for a QR code; not every provider sends it.
    pub verification_uri_complete: Option<String>,
    pub user_code: String,
    /// Seconds until the code expires (the wait may end sooner, at the login's timeout).
    pub expires_in: u64,
}

/// The provider's answer to the device authorization request.
struct Authorization {
    device_code: SecretString,
    /// Keycloak applies a client's "PKCE required" to device logins too (RFC 8628 is silent),
    /// so the request carries a challenge whenever the connector uses PKCE, and every poll the
    /// verifier.
    pkce_verifier: Option<SecretString>,
    prompt: DevicePrompt,
    interval: Duration,
}

/// One poll of the token endpoint, as RFC 8628 section 3.5 sorts the answers.
pub(super) enum PollAnswer {
    Tokens(TokenSet),
    Pending,
    SlowDown,
    Failed(LoginError),
}

/// Device authorization, then the wait for approval; returns the tokens.
pub(super) async fn grant(
    cx: &Context<'_>,
    recorder: &mut Recorder,
    client: &reqwest::Client,
    provider: &Provider,
    prompts: &mpsc::UnboundedSender<DevicePrompt>,
) -> Result<TokenSet, LoginError> {
    let (auth, authorization) = recorder
        .step(Step::Authorize, authorize(cx, client, provider))
        .await?;
    let _ = prompts.send(authorization.prompt.clone());
    recorder
        .step(
            Step::DeviceApproval,
            wait_for_approval(cx, client, provider, &auth, authorization),
        )
        .await
}

async fn authorize(
    cx: &Context<'_>,
    client: &reqwest::Client,
    provider: &Provider,
) -> Result<((ClientAuth, Authorization), String), LoginError> {
    let endpoint = provider.device_endpoint.as_deref().ok_or_else(|| {
        LoginError::new(
            ErrorKind::Config,
            "the provider does not offer device login (its discovery document has no \
             device_authorization_endpoint)",
        )
        .with_hint("log in with a browser instead, or pass the redirected URL by hand")
    })?;
    policy::require_https("the device authorization endpoint", endpoint)?;
    let (auth, auth_detail) = client_auth_for(cx.connector, cx.secrets, provider).await?;
    let pkce = cx.connector.auth.uses_pkce().then(Pkce::generate);
    let mut form = vec![("scope".to_owned(), cx.connector.auth.scopes().into())];
    if let Some(pkce) = &pkce {
        form.push(("code_challenge".to_owned(), pkce.challenge.clone().into()));
        form.push(("code_challenge_method".to_owned(), Pkce::METHOD.into()));
    }
    let request = auth.post_form(client, endpoint, cx.connector.auth.client_id(), form);
    let what = "the device authorization endpoint";
    let fetched = http::send(request, what, endpoint, ErrorKind::TokenRequest).await?;
    let body = http::json_body(&fetched, what, endpoint, ErrorKind::TokenRequest);
    if !fetched.status.is_success() {
        return Err(match body.ok().as_ref().and_then(oauth_error) {
            Some((error, description)) => LoginError::new(
                ErrorKind::TokenRequest,
                format!(
                    "{what} refused the request (HTTP {}): {}",
                    fetched.status.as_u16(),
                    error_with_description(&error, description.as_deref())
                ),
            )
            .with_hint(
                "the IAM client may not allow the device grant: enable \"OAuth 2.0 Device \
                 Authorization Grant\" on it",
            ),
            None => http::status_error(&fetched, what, endpoint, ErrorKind::TokenRequest),
        });
    }
    let mut authorization = parse_authorization(body?, endpoint)?;
    authorization.pkce_verifier = pkce.map(|p| p.verifier);
    let detail = format!("{endpoint}; {auth_detail}");
    Ok(((auth, authorization), detail))
}

fn parse_authorization(mut body: Value, endpoint: &str) -> Result<Authorization, LoginError> {
    let missing = |field: &str| {
        LoginError::new(
            ErrorKind::TokenRequest,
            format!("the device authorization endpoint at {endpoint} answered without {field}"),
        )
    };
    let device_code = match body.get_mut("device_code").map(Value::take) {
        Some(Value::String(code)) if !code.is_empty() => SecretString::from(code),
        _ => return Err(missing("device_code")),
    };
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let user_code = text("user_code").ok_or_else(|| missing("user_code"))?;
    let verification_uri = text("verification_uri")
        // Drafts of the RFC, still used by some providers, spelled it verification_url.
        .or_else(|| text("verification_url"))
        .ok_or_else(|| missing("verification_uri"))?;
    // The user types the code into this page: it must be the provider's over TLS.
    super::policy::require_https("the device verification_uri", &verification_uri)?;
    if let Some(complete) = text("verification_uri_complete") {
        super::policy::require_https("the device verification_uri_complete", &complete)?;
    }
    let seconds = |key: &str| body.get(key).and_then(Value::as_u64);
    let prompt = DevicePrompt {
        verification_uri: provider_text(&verification_uri, 500),
        verification_uri_complete: text("verification_uri_complete")
            .map(|u| provider_text(&u, 500)),
        user_code: provider_text(&user_code, 40),
        expires_in: seconds("expires_in").ok_or_else(|| missing("expires_in"))?,
    };
    let interval = seconds("interval")
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_INTERVAL);
    Ok(Authorization {
        device_code,
        pkce_verifier: None,
        prompt,
        interval: interval.clamp(Duration::from_secs(1), MAX_INTERVAL),
    })
}

fn oauth_error(body: &Value) -> Option<(String, Option<String>)> {
    let error = body.get("error")?.as_str()?.to_owned();
    let description = body
        .get("error_description")
        .and_then(Value::as_str)
        .map(str::to_owned);
    Some((error, description))
}

async fn wait_for_approval(
    cx: &Context<'_>,
    client: &reqwest::Client,
    provider: &Provider,
    auth: &ClientAuth,
    authorization: Authorization,
) -> Result<(TokenSet, String), LoginError> {
    let endpoint = provider.token_endpoint.as_str();
    policy::require_https("the token endpoint", endpoint)?;
    let budget = cx
        .options
        .timeout
        .min(Duration::from_secs(authorization.prompt.expires_in));
    let client_id = cx.connector.auth.client_id();
    let device_code = &authorization.device_code;
    let verifier = &authorization.pkce_verifier;
    let ask = || {
        let secrets = (device_code.clone(), verifier.clone());
        poll_once(client, endpoint, client_id, auth, secrets)
    };
    let tokens = poll_until_done(ask, tokio::time::sleep, authorization.interval, budget).await?;
    let detail = if tokens.refresh_token.is_some() {
        "approved; refresh token received"
    } else {
        "approved; no refresh token"
    };
    Ok((tokens, detail.to_owned()))
}

/// Poll at `interval` (growing by 5 s on each `slow_down`) until an answer other than
/// "pending", or until the sleeps would pass `budget`. `sleep` is injected so tests can count
/// the waits instead of taking them.
pub(super) async fn poll_until_done<A, AF, S, SF>(
    mut ask: A,
    mut sleep: S,
    mut interval: Duration,
    budget: Duration,
) -> Result<TokenSet, LoginError>
where
    A: FnMut() -> AF,
    AF: Future<Output = PollAnswer>,
    S: FnMut(Duration) -> SF,
    SF: Future<Output = ()>,
{
    let mut waited = Duration::ZERO;
    loop {
        if waited + interval > budget {
            return Err(not_approved_in_time(budget));
        }
        // RFC 8628 section 3.4: the first poll also waits one interval.
        sleep(interval).await;
        waited += interval;
        match ask().await {
            PollAnswer::Tokens(tokens) => return Ok(tokens),
            PollAnswer::Pending => {}
            PollAnswer::SlowDown => interval = (interval + SLOW_DOWN_STEP).min(MAX_INTERVAL),
            PollAnswer::Failed(error) => return Err(error),
        }
    }
}

fn not_approved_in_time(budget: Duration) -> LoginError {
    LoginError::new(
        ErrorKind::Timeout,
        format!(
            "the device login was not approved within {} s",
            budget.as_secs()
        ),
    )
    .with_hint("open the URL, enter the code and approve sooner, or raise --timeout")
}

async fn poll_once(
    client: &reqwest::Client,
    endpoint: &str,
    client_id: &str,
    auth: &ClientAuth,
    (device_code, verifier): (SecretString, Option<SecretString>),
) -> PollAnswer {
    let mut form = vec![
        ("grant_type".to_owned(), DEVICE_CODE_GRANT.into()),
        ("device_code".to_owned(), device_code),
    ];
    if let Some(verifier) = verifier {
        form.push(("code_verifier".to_owned(), verifier));
    }
    let request = auth.post_form(client, endpoint, client_id, form);
    let what = "the token endpoint";
    let fetched = match http::send(request, what, endpoint, ErrorKind::TokenRequest).await {
        Ok(fetched) => fetched,
        Err(error) => return PollAnswer::Failed(error),
    };
    let body = http::json_body(&fetched, what, endpoint, ErrorKind::TokenRequest);
    if fetched.status.is_success() {
        return match body.and_then(|mut b| token_endpoint::token_set(&mut b, endpoint)) {
            Ok(tokens) => PollAnswer::Tokens(tokens),
            Err(error) => PollAnswer::Failed(error),
        };
    }
    match body.ok().as_ref().and_then(oauth_error) {
        Some((error, description)) => classify_poll_error(&error, description.as_deref()),
        None => PollAnswer::Failed(http::status_error(
            &fetched,
            what,
            endpoint,
            ErrorKind::TokenRequest,
        )),
    }
}

/// RFC 8628 section 3.5's error codes in plain words.
pub(super) fn classify_poll_error(error: &str, description: Option<&str>) -> PollAnswer {
    match error {
        "authorization_pending" => PollAnswer::Pending,
        "slow_down" => PollAnswer::SlowDown,
        "access_denied" => PollAnswer::Failed(
            LoginError::new(
                ErrorKind::AuthorizationDenied,
                "the device login was denied at the provider",
            )
            .with_hint("approve the request (not cancel it) after entering the code"),
        ),
        "expired_token" => PollAnswer::Failed(
            LoginError::new(
                ErrorKind::Timeout,
                "the user code expired before the login was approved",
            )
            .with_hint("run the login again and approve it within the time shown"),
        ),
        other => PollAnswer::Failed(LoginError::new(
            ErrorKind::TokenRequest,
            format!(
                "the token endpoint refused the device login: {}",
                error_with_description(other, description)
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::VecDeque;

    fn tokens() -> TokenSet {
        TokenSet {
            access_token: "AT".to_owned().into(),
            expires_in: Some(300),
            refresh_expires_in: None,
            refresh_token: None,
            id_token: None,
            scope: None,
        }
    }

    /// Runs the poll loop with scripted answers; returns the result and the waits taken.
    fn run(
        answers: Vec<PollAnswer>,
        interval: u64,
        budget: u64,
    ) -> (Result<TokenSet, LoginError>, Vec<u64>, usize) {
        let answers = RefCell::new(VecDeque::from(answers));
        let waits = RefCell::new(Vec::new());
        let asked = RefCell::new(0);
        let result = futures_lite_block_on(poll_until_done(
            || {
                *asked.borrow_mut() += 1;
                let next = answers
                    .borrow_mut()
                    .pop_front()
                    .unwrap_or(PollAnswer::Pending);
                std::future::ready(next)
            },
            |d: Duration| {
                waits.borrow_mut().push(d.as_secs());
                std::future::ready(())
            },
            Duration::from_secs(interval),
            Duration::from_secs(budget),
        ));
        let asked = *asked.borrow();
        (result, waits.into_inner(), asked)
    }

    /// The futures here never pend, so a current-thread runtime drives them to the end.
    fn futures_lite_block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn pending_then_tokens_waits_one_interval_per_poll() {
        let (result, waits, asked) = run(
            vec![
                PollAnswer::Pending,
                PollAnswer::Pending,
                PollAnswer::Tokens(tokens()),
            ],
            5,
            600,
        );
        assert!(result.is_ok());
        assert_eq!(waits, vec![5, 5, 5]);
        assert_eq!(asked, 3);
    }

    #[test]
    fn slow_down_adds_five_seconds_each_time() {
        let (result, waits, _) = run(
            vec![
                PollAnswer::SlowDown,
                PollAnswer::Pending,
                PollAnswer::SlowDown,
                PollAnswer::Tokens(tokens()),
            ],
            5,
            600,
        );
        assert!(result.is_ok());
        assert_eq!(waits, vec![5, 10, 10, 15]);
    }

    #[test]
    fn the_wait_stops_before_the_budget_is_passed() {
        let (result, waits, asked) = run(vec![], 5, 12);
        let error = result.err().unwrap();
        assert_eq!(error.kind, ErrorKind::Timeout);
        assert!(error.message.contains("12 s"), "{}", error.message);
        assert_eq!(waits, vec![5, 5]);
        assert_eq!(asked, 2);
    }

    #[test]
    fn denied_and_expired_end_the_wait_with_their_kind() {
        for (code, kind) in [
            ("access_denied", ErrorKind::AuthorizationDenied),
            ("expired_token", ErrorKind::Timeout),
            ("invalid_client", ErrorKind::TokenRequest),
        ] {
            let (result, _, asked) = run(vec![classify_poll_error(code, None)], 5, 600);
            assert_eq!(result.err().unwrap().kind, kind, "{code}");
            assert_eq!(asked, 1);
        }
        assert!(matches!(
            classify_poll_error("authorization_pending", None),
            PollAnswer::Pending
        ));
        assert!(matches!(
            classify_poll_error("slow_down", None),
            PollAnswer::SlowDown
        ));
    }

    #[test]
    fn the_authorization_answer_is_read_and_the_interval_bounded() {
        let body = serde_json::json!({
            "device_code": "DC", "user_code": "WDJB-MJHT",
            "verification_uri": "https://idp/device",
            "verification_uri_complete": "https://idp/device?user_code=WDJB-MJHT",
            "expires_in": 600, "interval": 3600
        });
        let a = parse_authorization(body, "https://idp/device_auth").unwrap();
        assert_eq!(a.prompt.user_code, "WDJB-MJHT");
        assert_eq!(a.prompt.expires_in, 600);
        assert_eq!(a.interval, MAX_INTERVAL);
        let without =
            serde_json::json!({"user_code": "X", "verification_uri": "u", "expires_in": 1});
        assert!(parse_authorization(without, "e").is_err());
    }

    #[test]
    fn a_verification_uri_without_https_is_refused() {
        for (uri, complete) in [
            ("http://idp.example/device", None),
            (
                "https://idp.example/device",
                Some("http://idp.example/device?c=X"),
            ),
            ("javascript:alert(1)", None),
        ] {
            let mut body = serde_json::json!({
                "device_code": "DC", "user_code": "X", "verification_uri": uri, "expires_in": 60
            });
            if let Some(complete) = complete {
                body["verification_uri_complete"] = serde_json::json!(complete);
            }
            let e = parse_authorization(body, "https://idp/device_auth")
                .err()
                .unwrap();
            assert_eq!(e.kind, ErrorKind::InsecureEndpoint, "{uri}: {e:?}");
        }
    }
}
