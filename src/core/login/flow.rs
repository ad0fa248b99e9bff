//! The test login, step by step. Each step is timed and reported as it finishes; the first
//! failure up to the ID token ends the flow (nothing after it could be trusted), while a failed
//! API probe still lets a good refresh token be saved.

use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::authorize;
use super::browser::{self, Plan};
use super::callback::Expected;
use super::client_auth::client_auth_for;
use super::http::{self, ClientAuth};
use super::id_token;
use super::loopback::{self, Listener, Source, WaitEnd, WaitFor};
use super::pkce::{self, Pkce};
use super::policy;
use super::probe;
use super::provider::{Provider, fetch_jwks, needs_discovery, resolve_provider};
use super::recorder::{Context, Found, Recorder, cancelled};
use super::rules::{check_as_saved, probe_url_allowed};
use super::token_endpoint::{self, TokenSet};
use super::userinfo;
use super::verify::{Rules, verify_id_token};
use super::{
    Claims, ErrorKind, LoginError, LoginEvent, LoginOptions, LoginOutcome, SignatureStatus, Step,
};
use super::{DevicePrompt, Identity, device};
use crate::core::connector::Connector;
use crate::core::secrets::SharedSecrets;

/// How the user grants access: in a browser that comes back to the loopback listener (or
/// pastes the redirected URL), or on another device with a user code (RFC 8628).
pub enum Mode {
    Browser(mpsc::Receiver<String>),
    Device(mpsc::UnboundedSender<DevicePrompt>),
}

pub async fn run(
    connector: Connector,
    secrets: SharedSecrets,
    options: LoginOptions,
    mut mode: Mode,
    events: mpsc::UnboundedSender<LoginEvent>,
    cancel: CancellationToken,
) -> LoginOutcome {
    tracing::info!(connector = %connector.id, kind = connector.auth_kind().short(), "test login starts");
    let mut recorder = Recorder::new(events.clone());
    let mut found = Found::default();
    let context = Context {
        connector: &connector,
        secrets: &secrets,
        options: &options,
        events: &events,
        cancel: &cancel,
    };
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => Err(cancelled()),
        result = steps(&context, &mut recorder, &mut found, &mut mode) => result,
    };
    recorder.outcome(result, found, "test login")
}

async fn steps(
    cx: &Context<'_>,
    recorder: &mut Recorder,
    found: &mut Found,
    mode: &mut Mode,
) -> Result<(), LoginError> {
    check_as_saved(cx.connector)?;
    let client = http::client(cx.options, cx.connector.ca_file.as_deref())?;
    let mut provider = discover(cx, recorder, &client).await?;
    if let Some(uri) = provider.jwks_uri.clone() {
        provider.jwks = Some(recorder.step(Step::Jwks, fetch_jwks(&client, &uri)).await?);
    }
    let (tokens, nonce) = match mode {
        Mode::Browser(pasted) => browser_grant(cx, recorder, &client, &provider, pasted).await?,
        Mode::Device(prompts) => {
            let tokens = device::grant(cx, recorder, &client, &provider, prompts).await?;
            // RFC 8628 has no nonce: the device code itself binds the tokens to this request.
            (tokens, None)
        }
    };
    let wants_id_token = asks_for_openid(cx.connector);
    let (mut claims, identity) = recorder
        .step(
            Step::IdToken,
            validate_id_token(cx, &client, &mut provider, &tokens, wants_id_token, &nonce),
        )
        .await?;
    fill_token_claims(&mut claims, &tokens, cx.connector);
    found.claims = Some(claims);
    if let Some(endpoint) = provider.userinfo_endpoint.clone() {
        let sub = found.claims.as_ref().and_then(|c| c.sub.clone());
        let info = recorder
            .step(
                Step::Userinfo,
                call_userinfo(&client, endpoint, &tokens.access_token, sub),
            )
            .await?;
        if let (Some(info), Some(claims)) = (info, found.claims.as_mut()) {
            fill_from_userinfo(claims, &info);
        }
    }
    if !cx.connector.probe_path.trim().is_empty() {
        let url = probe::probe_url(&cx.connector.base_url, &cx.connector.probe_path);
        if let Err(e) = recorder
            .step(Step::Probe, async {
                probe_url_allowed(&cx.connector.base_url, &url)?;
                call_probe(&client, &url, &tokens, found).await
            })
            .await
        {
            // The token is good; a wrong Base URL should not keep its refresh token from being saved.
            found.late_error = Some(e);
        }
    }
    keep_tokens(cx, recorder, &tokens, identity).await?;
    Ok(())
}

/// Authorization code grant: loopback listener, browser (or a pasted URL), code exchange.
/// Returns the tokens and the nonce the ID token must carry.
async fn browser_grant(
    cx: &Context<'_>,
    recorder: &mut Recorder,
    client: &reqwest::Client,
    provider: &Provider,
    pasted: &mut mpsc::Receiver<String>,
) -> Result<(TokenSet, Option<String>), LoginError> {
    let listener = recorder
        .step(Step::Listener, async {
            let listener = Listener::bind(&cx.connector.redirect_uri).await?;
            let mut detail = format!("listening on 127.0.0.1:{}", listener.port());
            if loopback::names_localhost(&cx.connector.redirect_uri) {
                detail.push_str(&format!(
                    "; redirect URI sent as {} (localhost may resolve to [::1], where another \
                     program could listen: RFC 8252 section 8.3); register \
                     http://127.0.0.1/callback on the IAM client",
                    listener.redirect_uri()
                ));
            }
            Ok((listener, detail))
        })
        .await?;
    let redirect_uri = listener.redirect_uri().to_owned();
    let request = Request::new(cx.connector);
    let (auth, url) = recorder
        .step(Step::Authorize, async {
            let (auth, auth_detail) = client_auth(cx, provider).await?;
            let (url, url_detail) =
                authorization_url(cx, client, provider, &auth, &request, &redirect_uri).await?;
            Ok(((auth, url), format!("{url_detail}; {auth_detail}")))
        })
        .await?;
    let browser_failure = recorder.step(Step::Browser, open_browser(cx, &url)).await?;
    let expected = Expected {
        state: request.state.clone(),
        issuer: provider.issuer.clone(),
        iss_required: provider.iss_parameter_supported,
        scopes: scope_sent(cx.connector).to_owned(),
    };
    let code = recorder
        .step(
            Step::Callback,
            wait_for_code(cx, listener, expected, pasted, browser_failure),
        )
        .await?;
    let tokens = recorder
        .step(
            Step::Token,
            exchange(
                cx,
                client,
                provider,
                &auth,
                &redirect_uri,
                code,
                request.pkce,
            ),
        )
        .await?;
    Ok((tokens, request.nonce))
}

/// The values this authorization request uses once.
struct Request {
    state: String,
    nonce: Option<String>,
    pkce: Option<Pkce>,
}

/// The scope the authorization request sends: an extra `scope` parameter replaces the
/// connector's Scopes (see [`authorize::Request::params`]).
fn scope_sent(connector: &Connector) -> &str {
    connector
        .auth
        .extra_params()
        .iter()
        .rev()
        .find(|p| p.key == "scope")
        .map_or(connector.auth.scopes(), |p| p.value.as_str())
}

/// Whether the request asks for an ID token, judged on the scope actually sent.
fn asks_for_openid(connector: &Connector) -> bool {
    scope_sent(connector)
        .split_whitespace()
        .any(|s| s == "openid")
}

impl Request {
    fn new(connector: &Connector) -> Self {
        Self {
            state: pkce::state(),
            nonce: asks_for_openid(connector).then(pkce::nonce),
            pkce: connector.auth.uses_pkce().then(Pkce::generate),
        }
    }
}

// ---- discovery ---------------------------------------------------------------------------------

async fn discover(
    cx: &Context<'_>,
    recorder: &mut Recorder,
    client: &reqwest::Client,
) -> Result<Provider, LoginError> {
    if !needs_discovery(cx.connector) {
        return Ok(resolve_provider(client, cx.connector).await?.0);
    }
    recorder
        .step(Step::Discovery, async {
            let (provider, detail) = resolve_provider(client, cx.connector).await?;
            Ok((provider, detail.unwrap_or_default()))
        })
        .await
}

// ---- authorization -----------------------------------------------------------------------------

/// The client secret, when the connector has one, read before the browser opens so a keyring
/// problem does not waste the user's sign-in.
pub(super) async fn client_auth(
    cx: &Context<'_>,
    provider: &Provider,
) -> Result<(ClientAuth, String), LoginError> {
    client_auth_for(cx.connector, cx.secrets, provider).await
}

async fn authorization_url(
    cx: &Context<'_>,
    client: &reqwest::Client,
    provider: &Provider,
    auth: &ClientAuth,
    request: &Request,
    redirect_uri: &str,
) -> Result<(String, String), LoginError> {
    let endpoint = &provider.authorization_endpoint;
    policy::require_https("the authorization endpoint", endpoint)?;
    let connector = cx.connector;
    let params = authorize::Request {
        client_id: connector.auth.client_id(),
        redirect_uri,
        scope: connector.auth.scopes(),
        state: &request.state,
        nonce: request.nonce.as_deref(),
        code_challenge: request.pkce.as_ref().map(|p| p.challenge.as_str()),
        login_hint: connector.auth.prefill_user_email(),
        extra: connector.auth.extra_params(),
    }
    .params()?;
    let prompt = connector
        .auth
        .extra_params()
        .iter()
        .find(|p| p.key == "prompt");
    if let Some(notice) =
        prompt.and_then(|p| super::explain::unsupported_prompt(&p.value, &provider.prompt_values))
    {
        let _ = cx.events.send(LoginEvent::Notice(notice));
    }
    match &provider.par_endpoint {
        Some(par) => {
            policy::require_https("the PAR endpoint", par)?;
            let request_uri =
                authorize::push(client, par, connector.auth.client_id(), auth, &params).await?;
            let url =
                authorize::par_browser_url(endpoint, connector.auth.client_id(), &request_uri)?;
            Ok((url, format!("{endpoint} (PAR)")))
        }
        None => Ok((authorize::browser_url(endpoint, &params)?, endpoint.clone())),
    }
}

/// Open the browser (or not) and always show the URL. Returns why a launch failed, if it did.
async fn open_browser(cx: &Context<'_>, url: &str) -> Result<(Option<String>, String), LoginError> {
    let plan = browser::plan(cx.options.browser, &browser::Environment::current());
    let launch = {
        let (plan, url) = (plan.clone(), url.to_owned());
        tokio::task::spawn_blocking(move || browser::open(&plan, &url))
            .await
            .unwrap_or_else(|_| Err("the browser launcher stopped unexpectedly".into()))
    };
    let (opened, note, failure) = match (&plan, launch) {
        (_, Ok(true)) => (true, None, None),
        (Plan::Skip(why), _) => (false, Some(why.clone()), None),
        (_, Ok(false)) => (false, None, None),
        (_, Err(why)) => (false, Some(why.clone()), Some(why)),
    };
    let _ = cx.events.send(LoginEvent::OpenUrl {
        url: url.to_owned(),
        browser_opened: opened,
        browser_note: note.clone(),
        timeout_secs: cx.options.timeout.as_secs(),
    });
    let detail = match (opened, note) {
        (true, _) => "opened".to_owned(),
        (false, Some(note)) => format!("{note}; open the URL yourself"),
        (false, None) => "open the URL yourself".to_owned(),
    };
    Ok((failure, detail))
}

async fn wait_for_code(
    cx: &Context<'_>,
    listener: Listener,
    expected: Expected,
    pasted: &mut mpsc::Receiver<String>,
    browser_failure: Option<String>,
) -> Result<(SecretString, String), LoginError> {
    let timeout = cx.options.timeout;
    let wait = WaitFor {
        expected,
        connector_name: &cx.connector.name,
        deadline: tokio::time::Instant::now() + timeout,
        cancel: cx.cancel,
        events: cx.events,
    };
    match loopback::wait_for_code(listener, wait, pasted).await {
        Ok((code, Source::Listener)) => Ok((code, "received at the loopback listener".into())),
        Ok((code, Source::Pasted)) => Ok((code, "pasted redirect URL accepted".into())),
        Err(WaitEnd::Failed(error)) => Err(error),
        Err(WaitEnd::Cancelled) => Err(cancelled()),
        Err(WaitEnd::TimedOut) => Err(timed_out(
            timeout.as_secs(),
            browser_failure,
            &cx.connector.redirect_uri,
        )),
    }
}

fn timed_out(secs: u64, browser_failure: Option<String>, redirect_uri: &str) -> LoginError {
    match browser_failure {
        Some(why) => LoginError::new(
            ErrorKind::Browser,
            format!("{why}, and no redirect arrived within {secs} s"),
        )
        .with_hint("open the printed URL in a browser yourself and paste the address it ends on"),
        None => LoginError::new(
            ErrorKind::Timeout,
            format!("no redirect arrived within {secs} s"),
        )
        .with_hint(format!(
            "{}; otherwise finish signing in sooner or raise --timeout",
            super::explain::redirect_uri_not_registered(redirect_uri)
        )),
    }
}

// ---- tokens --------------------------------------------------------------------------------------

async fn exchange(
    cx: &Context<'_>,
    client: &reqwest::Client,
    provider: &Provider,
    auth: &ClientAuth,
    redirect_uri: &str,
    code: SecretString,
    pkce: Option<Pkce>,
) -> Result<(TokenSet, String), LoginError> {
    policy::require_https("the token endpoint", &provider.token_endpoint)?;
    let request = token_endpoint::TokenRequest {
        endpoint: &provider.token_endpoint,
        client_id: cx.connector.auth.client_id(),
        redirect_uri,
        auth,
    };
    let tokens = token_endpoint::exchange(client, &request, code, pkce.map(|p| p.verifier)).await?;
    let detail = format!(
        "{}{}; {}",
        auth.method_name(),
        if cx.connector.auth.uses_pkce() {
            ", PKCE S256"
        } else {
            ""
        },
        if tokens.refresh_token.is_some() {
            "refresh token received"
        } else {
            "no refresh token"
        }
    );
    Ok((tokens, detail))
}

pub(super) async fn validate_id_token(
    cx: &Context<'_>,
    client: &reqwest::Client,
    provider: &mut Provider,
    tokens: &TokenSet,
    wants_id_token: bool,
    nonce: &Option<String>,
) -> Result<((Claims, Identity), String), LoginError> {
    let Some(token) = &tokens.id_token else {
        // The device grant sends no nonce, yet asked for openid all the same.
        if wants_id_token || nonce.is_some() {
            return Err(LoginError::new(
                ErrorKind::TokenRequest,
                "the token response has no ID token though the scope includes openid",
            ));
        }
        let none = (Claims::default(), Identity::default());
        return Ok((none, "none requested (no openid scope)".into()));
    };
    let token = secrecy::ExposeSecret::expose_secret(token);
    let rules = Rules {
        client_id: cx.connector.auth.client_id(),
        leeway: cx.options.leeway,
        nonce: nonce.as_deref(),
    };
    let (claims, identity) = verify_id_token(client, provider, &rules, token).await?;
    let detail = match &claims.signature {
        Some(SignatureStatus::Verified { alg }) => {
            format!("{alg} signature verified; claims valid")
        }
        _ => "signature not verified: no JWKS known (taken straight from the token endpoint over \
             TLS); claims valid"
            .to_owned(),
    };
    Ok(((claims, identity), detail))
}

fn fill_token_claims(claims: &mut Claims, tokens: &TokenSet, connector: &Connector) {
    claims.expires_at = tokens.expires_in.map(|secs| {
        let secs = i64::try_from(secs).unwrap_or(i64::MAX);
        id_token::rfc3339(
            time::OffsetDateTime::now_utc()
                .unix_timestamp()
                .saturating_add(secs),
        )
    });
    claims.scope = Some(
        tokens
            .scope
            .clone()
            .unwrap_or_else(|| connector.auth.scopes().to_owned()),
    );
    claims.refresh_token = tokens.refresh_token.is_some();
}

fn fill_from_userinfo(claims: &mut Claims, info: &Value) {
    let text = |key: &str| {
        info.get(key)
            .and_then(Value::as_str)
            .map(|v| super::explain::provider_text(v, 200))
    };
    if claims.sub.is_none() {
        claims.sub = text("sub");
    }
    if claims.email.is_none() {
        claims.email = text("email");
    }
    if claims.name.is_none() {
        claims.name = text("name").or_else(|| text("preferred_username"));
    }
}

async fn call_userinfo(
    client: &reqwest::Client,
    endpoint: String,
    access_token: &SecretString,
    sub: Option<String>,
) -> Result<(Option<Value>, String), LoginError> {
    policy::require_https("the userinfo endpoint", &endpoint)?;
    let info = userinfo::fetch(client, &endpoint, access_token, sub.as_deref()).await?;
    let detail = match &info {
        None => "answered with a signed JWT (not read)".to_owned(),
        Some(info) => match info.get("email").and_then(Value::as_str) {
            Some(email) => format!(
                "subject matches; email {}",
                super::explain::provider_text(email, 100)
            ),
            None => "subject matches".to_owned(),
        },
    };
    Ok((info, detail))
}

async fn call_probe(
    client: &reqwest::Client,
    url: &str,
    tokens: &TokenSet,
    found: &mut Found,
) -> Result<((), String), LoginError> {
    let (result, verdict) = probe::run(client, url, &tokens.access_token).await;
    let status = result.status;
    found.probe = Some(result);
    verdict?;
    Ok((
        (),
        format!("HTTP {} from {url}", status.unwrap_or_default()),
    ))
}

/// Keep the tokens for `ifs-connect token`: the refresh token as the Keyring step (a login
/// without one shows no keyring step), the access token cache quietly (a failure is a notice).
async fn keep_tokens(
    cx: &Context<'_>,
    recorder: &mut Recorder,
    tokens: &TokenSet,
    identity: Identity,
) -> Result<(), LoginError> {
    let kept = crate::core::token_cache::LoginTokens {
        refresh_token: tokens.refresh_token.clone(),
        cached: crate::core::token_cache::Cached::after_login(
            &tokens.access_token,
            tokens.expires_in,
            tokens.scope.clone(),
        )
        .with_session(session_end(tokens)),
        identity,
    };
    let lock_dir = cx.options.token_lock_dir.as_deref();
    let store = async {
        crate::core::token_cache::store_login(cx.secrets, lock_dir, cx.connector, kept)
            .await
            .map_err(|e| LoginError::new(ErrorKind::Keyring, e.to_string()))
    };
    let cache_failure = if tokens.refresh_token.is_some() {
        recorder
            .step(Step::Keyring, async {
                Ok((store.await?, keyring_detail(cx).to_owned()))
            })
            .await?
    } else {
        match store.await {
            Ok(failure) => failure,
            Err(e) => {
                notice_not_cached(cx, &e.message);
                None
            }
        }
    };
    if let Some(e) = cache_failure {
        notice_not_cached(cx, &e.to_string());
    }
    Ok(())
}

/// When the session ends, as the token response says (`refresh_expires_in`; offline sessions).
fn session_end(tokens: &TokenSet) -> Option<crate::core::ifs::session::SessionEnd> {
    crate::core::ifs::session::SessionEnd::from_response(
        tokens.refresh_expires_in,
        tokens.refresh_token.is_some(),
        tokens.scope.as_deref(),
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )
}

fn keyring_detail(cx: &Context<'_>) -> &'static str {
    if cx.secrets.process_only() {
        "kept in this process only (the client secret comes from the environment)"
    } else {
        "stored in the OS keyring"
    }
}

fn notice_not_cached(cx: &Context<'_>, why: &str) {
    tracing::warn!(error = %why, "could not cache the access token");
    let _ = cx.events.send(LoginEvent::Notice(format!(
        "the access token could not be cached in the keyring ({why})"
    )));
}

// ---- step records --------------------------------------------------------------------------------
