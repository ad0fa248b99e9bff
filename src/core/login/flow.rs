//! The test login, step by step. Each step is timed and reported as it finishes; the first
//! failure up to the ID token ends the flow (nothing after it could be trusted), while a failed
//! API probe still lets a good refresh token be saved.

use std::future::Future;
use std::time::Instant;

use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::authorize;
use super::browser::{self, Plan};
use super::callback::Expected;
use super::discovery::{self, ProviderMetadata};
use super::http::{self, ClientAuth};
use super::id_token;
use super::loopback::{self, Listener, Source, WaitEnd, WaitFor};
use super::pkce::{self, Pkce};
use super::policy;
use super::probe;
use super::token::{self, TokenSet};
use super::userinfo;
use super::{
    Claims, ErrorKind, LoginError, LoginEvent, LoginOptions, LoginOutcome, ProbeResult,
    SignatureStatus, Step, StepReport,
};
use super::{DevicePrompt, Identity, device};
use crate::core::connector::{Auth, Connector};
use crate::core::secrets::{self, SecretKind, SharedSecrets};
use crate::core::validate;

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
    // A step still running when cancel fired is reported as failed, so no step hangs open.
    recorder.abandon();
    let error = result.err().or(found.late_error);
    let ok = error.is_none() && recorder.steps.iter().all(|s| s.ok);
    match &error {
        None => tracing::info!(ok, "test login finished"),
        Some(e) => tracing::warn!(kind = e.kind.as_str(), "test login failed: {}", e.message),
    }
    LoginOutcome {
        ok,
        steps: recorder.steps,
        claims: found.claims,
        probe: found.probe,
        error,
    }
}

/// The connector's rules, checked again when it is used and not only when it was saved: a
/// hand-edited config file (`base_url = "http://..."`, an extra `request_uri`) must not send a
/// token or a secret where a saved one never could.
pub(super) fn check_as_saved(connector: &Connector) -> Result<(), LoginError> {
    let mut copy = connector.clone();
    let Err(errors) = validate::validate_connector(&mut copy) else {
        return Ok(());
    };
    let problems: Vec<String> = errors
        .0
        .iter()
        .filter(|e| guards_a_secret(e.field, connector))
        .map(|e| format!("{}: {}", e.field.label(), e.message))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(LoginError::new(
        ErrorKind::Config,
        format!(
            "the connector '{}' breaks its own rules as saved ({})",
            connector.name,
            problems.join("; ")
        ),
    )
    .with_hint(format!(
        "the config file was probably edited by hand: fix it with `ifs-connect edit {}`",
        connector.name
    )))
}

/// The rules that decide where a token, a code or the client secret may go: every URL, the
/// redirect URI and the extra parameters. (A name or scope the saved form would reject sends
/// nothing anywhere; an empty Base URL only skips the API probe.)
fn guards_a_secret(field: validate::Field, connector: &Connector) -> bool {
    use validate::Field;
    match field {
        Field::BaseUrl => !connector.base_url.trim().is_empty(),
        Field::RedirectUri
        | Field::ProbePath
        | Field::AuthorityUrl
        | Field::AuthorizationEndpoint
        | Field::TokenEndpoint
        | Field::ExtraParams
        | Field::Issuer => true,
        _ => false,
    }
}

/// The API probe gets the access token, so its URL obeys the HTTPS rule and stays on the Base
/// URL's host.
fn probe_url_allowed(base_url: &str, url: &str) -> Result<(), LoginError> {
    let probe = policy::require_https("the API probe URL", url)?;
    let base = url::Url::parse(base_url).ok();
    let same_host = base.is_some_and(|b| {
        b.host_str() == probe.host_str()
            && b.port_or_known_default() == probe.port_or_known_default()
    });
    if same_host {
        Ok(())
    } else {
        Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API probe URL {url} is not on the Base URL's host"),
        )
        .with_hint("set a probe path below the Base URL"))
    }
}

pub(super) fn cancelled() -> LoginError {
    LoginError::new(ErrorKind::Cancelled, "the test login was cancelled")
}

/// What every step may read.
pub(super) struct Context<'a> {
    pub(super) connector: &'a Connector,
    pub(super) secrets: &'a SharedSecrets,
    pub(super) options: &'a LoginOptions,
    pub(super) events: &'a mpsc::UnboundedSender<LoginEvent>,
    pub(super) cancel: &'a CancellationToken,
}

/// What the flow learned that outlives a failure: shown even when a later step fails.
#[derive(Default)]
struct Found {
    claims: Option<Claims>,
    probe: Option<ProbeResult>,
    /// A failure after which the flow went on (the API probe).
    late_error: Option<LoginError>,
}

/// Where the endpoints and the rules for this connector come from. Shared with the refresh,
/// device and revocation code, which must follow the same rules as the test login.
pub(super) struct Provider {
    pub(super) authorization_endpoint: String,
    pub(super) token_endpoint: String,
    pub(super) userinfo_endpoint: Option<String>,
    pub(super) par_endpoint: Option<String>,
    /// RFC 8628; only known from discovery.
    pub(super) device_endpoint: Option<String>,
    /// RFC 7009; only known from discovery.
    pub(super) revocation_endpoint: Option<String>,
    /// The issuer the ID token and the callback's `iss` are compared with.
    pub(super) issuer: Option<String>,
    pub(super) compare_token_issuer: bool,
    pub(super) iss_parameter_supported: bool,
    pub(super) jwks: Option<Value>,
    pub(super) jwks_uri: Option<String>,
    pub(super) id_token_algs: Vec<String>,
    pub(super) token_auth_methods: Vec<String>,
    /// `prompt_values_supported` from discovery (empty: not advertised).
    pub(super) prompt_values: Vec<String>,
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

/// An OAuth2 connector without an issuer has all its endpoints in its own settings.
fn needs_discovery(connector: &Connector) -> bool {
    match &connector.auth {
        Auth::OpenId(_) => true,
        Auth::OAuth2(auth) => auth.issuer.is_some(),
        Auth::ClientCredentials(auth) => auth.authority_url.is_some(),
    }
}

/// The provider's endpoints and rules, from discovery when the connector has an issuer. The
/// detail describes the discovery for the step list (None when none ran). The refresh,
/// device and revocation code use this too, so they apply exactly the test login's rules.
pub(super) async fn resolve_provider(
    client: &reqwest::Client,
    connector: &Connector,
) -> Result<(Provider, Option<String>), LoginError> {
    match &connector.auth {
        Auth::OpenId(auth) => {
            let check = discovery::check(client, auth).await;
            if let Some(error) = check.error {
                return Err(error);
            }
            let metadata = check.metadata.ok_or_else(|| {
                LoginError::new(ErrorKind::Discovery, "discovery returned nothing")
            })?;
            let provider = openid_provider(auth, metadata)?;
            let detail = discovery_detail(&provider, &check.discovery_url);
            Ok((provider, Some(detail)))
        }
        Auth::OAuth2(auth) => {
            let mut provider = Provider {
                authorization_endpoint: auth.authorization_endpoint.clone(),
                token_endpoint: auth.token_endpoint.clone(),
                userinfo_endpoint: None,
                par_endpoint: None,
                device_endpoint: None,
                revocation_endpoint: None,
                issuer: None,
                compare_token_issuer: false,
                iss_parameter_supported: false,
                jwks: None,
                jwks_uri: None,
                id_token_algs: Vec::new(),
                token_auth_methods: Vec::new(),
                prompt_values: Vec::new(),
            };
            let Some(issuer) = auth.issuer.clone() else {
                return Ok((provider, None));
            };
            let url = validate::discovery_url(&issuer);
            let metadata = discovery::fetch(client, &url).await?;
            policy::issuer_matches(&issuer, metadata.issuer.as_deref())?;
            provider.issuer = metadata.issuer.clone();
            provider.compare_token_issuer = true;
            provider.iss_parameter_supported =
                metadata.authorization_response_iss_parameter_supported;
            provider.userinfo_endpoint = metadata.userinfo_endpoint.clone();
            provider.device_endpoint = metadata.device_authorization_endpoint.clone();
            provider.revocation_endpoint = metadata.revocation_endpoint.clone();
            provider.jwks_uri = Some(metadata.jwks_uri.clone().ok_or_else(|| {
                LoginError::new(
                    ErrorKind::Discovery,
                    format!("the discovery document at {url} has no jwks_uri"),
                )
            })?);
            provider.id_token_algs = metadata.id_token_signing_alg_values_supported;
            provider.token_auth_methods = metadata.token_endpoint_auth_methods_supported;
            let detail = format!("issuer {issuer} (endpoints from the connector)");
            Ok((provider, Some(detail)))
        }
        // Its own flow (client_credentials.rs) resolves the token endpoint; nothing here
        // (browser, device, refresh, revocation) applies to a service user.
        Auth::ClientCredentials(_) => Err(super::client_credentials::not_interactive()),
    }
}

fn openid_provider(
    auth: &crate::core::connector::OpenIdAuth,
    metadata: ProviderMetadata,
) -> Result<Provider, LoginError> {
    let required = |value: Option<String>, name: &str| {
        value.ok_or_else(|| {
            LoginError::new(
                ErrorKind::Discovery,
                format!("the discovery document has no {name}"),
            )
        })
    };
    Ok(Provider {
        authorization_endpoint: required(
            metadata.authorization_endpoint,
            "authorization_endpoint",
        )?,
        token_endpoint: required(metadata.token_endpoint, "token_endpoint")?,
        userinfo_endpoint: metadata.userinfo_endpoint,
        par_endpoint: metadata
            .pushed_authorization_request_endpoint
            .filter(|_| auth.use_par),
        device_endpoint: metadata.device_authorization_endpoint,
        revocation_endpoint: metadata.revocation_endpoint,
        compare_token_issuer: auth.validate_token_issuer_name,
        issuer: metadata.issuer,
        iss_parameter_supported: metadata.authorization_response_iss_parameter_supported,
        jwks: None,
        jwks_uri: Some(required(metadata.jwks_uri, "jwks_uri")?),
        id_token_algs: metadata.id_token_signing_alg_values_supported,
        token_auth_methods: metadata.token_endpoint_auth_methods_supported,
        prompt_values: string_list(&metadata.raw, "prompt_values_supported"),
    })
}

/// A list of strings from the discovery document; empty when absent or of another shape.
fn string_list(raw: &Value, key: &str) -> Vec<String> {
    raw.get(key)
        .and_then(Value::as_array)
        .map(|values| {
            values
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn discovery_detail(provider: &Provider, discovery_url: &str) -> String {
    match &provider.issuer {
        Some(issuer) => format!("issuer {issuer}"),
        None => discovery_url.to_owned(),
    }
}

pub(super) async fn fetch_jwks(
    client: &reqwest::Client,
    uri: &str,
) -> Result<(Value, String), LoginError> {
    let jwks = http::get_json(client, uri, "the JWKS (signing keys)", ErrorKind::Discovery).await?;
    let count = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(Vec::len)
        .ok_or_else(|| {
            LoginError::new(
                ErrorKind::Discovery,
                format!("the JWKS at {uri} has no keys list"),
            )
        })?;
    Ok((jwks, format!("{count} key(s) from {uri}")))
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

/// [`client_auth`] without a running login (refresh, revocation).
pub(super) async fn client_auth_for(
    connector: &Connector,
    secrets: &SharedSecrets,
    provider: &Provider,
) -> Result<(ClientAuth, String), LoginError> {
    if connector.secret_source().is_none() {
        return Ok((ClientAuth::None, "public client (no secret)".into()));
    }
    let id = connector.id.clone();
    let secret = secrets::blocking(secrets, move |store| {
        store.get(&id, SecretKind::ClientSecret)
    })
    .await
    .map_err(super::client_credentials::secrets_error)?
    .ok_or_else(|| {
        LoginError::new(
            ErrorKind::Keyring,
            "the connector says a client secret is stored, but the keyring has none",
        )
        .with_hint("store it again with `ifs-connect edit NAME --client-secret-stdin`")
    })?;
    let auth = choose_client_auth(secret, &provider.token_auth_methods);
    let detail = format!("confidential client ({})", auth.method_name());
    Ok((auth, detail))
}

/// client_secret_basic unless the provider advertises only client_secret_post.
fn choose_client_auth(secret: SecretString, advertised: &[String]) -> ClientAuth {
    let has = |m: &str| advertised.iter().any(|a| a == m);
    if !has("client_secret_basic") && has("client_secret_post") {
        ClientAuth::Post(secret)
    } else {
        ClientAuth::Basic(secret)
    }
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
    let request = token::TokenRequest {
        endpoint: &provider.token_endpoint,
        client_id: cx.connector.auth.client_id(),
        redirect_uri,
        auth,
    };
    let tokens = token::exchange(client, &request, code, pkce.map(|p| p.verifier)).await?;
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

/// What an ID token is checked against besides the provider.
pub(super) struct Rules<'a> {
    pub(super) client_id: &'a str,
    pub(super) leeway: std::time::Duration,
    pub(super) nonce: Option<&'a str>,
}

/// Signature (when a JWKS is known; fetched on first use) and claims, as at login. Used by
/// the test login, the device login and the refresh. Returns the claims made fit to show and
/// the identity exactly as the token states it (compared on refresh, never shown).
pub(super) async fn verify_id_token(
    client: &reqwest::Client,
    provider: &mut Provider,
    rules: &Rules<'_>,
    token: &str,
) -> Result<(Claims, Identity), LoginError> {
    if provider.jwks.is_none()
        && let Some(uri) = provider.jwks_uri.clone()
    {
        provider.jwks = Some(fetch_jwks(client, &uri).await?.0);
    }
    let signature = match provider.jwks.take() {
        Some(jwks) => {
            let (status, jwks) = verify_signature(client, provider, jwks, token).await?;
            provider.jwks = Some(jwks);
            status
        }
        None => SignatureStatus::NotVerifiedNoJwks,
    };
    let claims = id_token::claims(token)?;
    let claim_rules = id_token::ClaimRules {
        client_id: rules.client_id,
        issuer: provider
            .issuer
            .as_deref()
            .filter(|_| provider.compare_token_issuer),
        nonce: rules.nonce,
        leeway: rules.leeway,
        now: time::OffsetDateTime::now_utc().unix_timestamp(),
    };
    if provider.compare_token_issuer && claim_rules.issuer.is_none() {
        return Err(LoginError::new(
            ErrorKind::IdTokenIssuer,
            "there is no issuer to compare the ID token's iss with (discovery has none)",
        )
        .with_hint("turn on Validate Issuer Name, or off Validate Token Issuer Name"));
    }
    id_token::check_claims(&claims, &claim_rules)?;
    Ok((
        claims_from_id_token(&claims, signature),
        raw_identity(&claims),
    ))
}

/// iss, sub and aud as the token states them: OIDC Core 12.2 compares these exactly, so two
/// values that differ only in what display cleaning removes must still differ.
fn raw_identity(claims: &Value) -> Identity {
    let raw = |key: &str| claims.get(key).and_then(Value::as_str).map(str::to_owned);
    Identity {
        iss: raw("iss"),
        sub: raw("sub"),
        aud: id_token::audiences(claims),
    }
}

/// Algorithm, key (refetching the JWKS once for an unknown key), signature.
pub(super) async fn verify_signature(
    client: &reqwest::Client,
    provider: &Provider,
    jwks: Value,
    token: &str,
) -> Result<(SignatureStatus, Value), LoginError> {
    let header = id_token::header(token)?;
    let allowed = id_token::allowed_algorithms(&provider.id_token_algs);
    let alg = id_token::check_algorithm(&header, &allowed)?;
    let mut jwks = jwks;
    let mut keys = id_token::candidate_keys(&jwks, &header, alg);
    if keys.is_empty() {
        // Key rotation: the provider may have published a new key since the JWKS was read.
        if let Some(uri) = &provider.jwks_uri {
            tracing::info!("no JWKS key fits the ID token; fetching the JWKS again");
            jwks = fetch_jwks(client, uri).await?.0;
            keys = id_token::candidate_keys(&jwks, &header, alg);
        }
    }
    if keys.is_empty() {
        let which = header
            .kid
            .as_deref()
            .map(|kid| format!("key '{}'", super::explain::provider_text(kid, 80)))
            .unwrap_or_else(|| format!("any {alg:?} key"));
        return Err(LoginError::new(
            ErrorKind::IdTokenUnknownKey,
            format!("the ID token was signed with {which}, which the provider's JWKS does not have, even after fetching it again"),
        )
        .with_hint("the token does not come from this provider, or its keys are misconfigured"));
    }
    id_token::verify_signature(token, alg, &keys)?;
    Ok((
        SignatureStatus::Verified {
            alg: format!("{alg:?}"),
        },
        jwks,
    ))
}

fn claims_from_id_token(claims: &Value, signature: SignatureStatus) -> Claims {
    let text = |key: &str| {
        claims
            .get(key)
            .and_then(Value::as_str)
            .map(|v| super::explain::provider_text(v, 200))
    };
    Claims {
        iss: text("iss"),
        sub: text("sub"),
        aud: id_token::audiences(claims)
            .iter()
            .map(|a| super::explain::provider_text(a, 200))
            .collect(),
        email: text("email"),
        name: text("name").or_else(|| text("preferred_username")),
        upn: text("upn"),
        signature: Some(signature),
        ..Claims::default()
    }
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
    let kept = crate::core::tokens::LoginTokens {
        refresh_token: tokens.refresh_token.clone(),
        cached: crate::core::tokens::Cached::after_login(
            &tokens.access_token,
            tokens.expires_in,
            tokens.scope.clone(),
        )
        .with_session(session_end(tokens)),
        identity,
    };
    let lock_dir = cx.options.token_lock_dir.as_deref();
    let store = async {
        crate::core::tokens::store_login(cx.secrets, lock_dir, cx.connector, kept)
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

/// Times each step, keeps its report and sends the events.
pub(super) struct Recorder {
    events: mpsc::UnboundedSender<LoginEvent>,
    pub(super) steps: Vec<StepReport>,
    current: Option<(Step, Instant)>,
}

impl Recorder {
    pub(super) fn new(events: mpsc::UnboundedSender<LoginEvent>) -> Self {
        Self {
            events,
            steps: Vec::new(),
            current: None,
        }
    }

    /// Run one step: report its start, then its end with the detail or the error's message.
    pub(super) async fn step<T>(
        &mut self,
        step: Step,
        work: impl Future<Output = Result<(T, String), LoginError>>,
    ) -> Result<T, LoginError> {
        self.start(step);
        match work.await {
            Ok((value, detail)) => {
                self.finish(true, detail);
                Ok(value)
            }
            Err(error) => {
                self.finish(false, error.message.clone());
                Err(error)
            }
        }
    }

    fn start(&mut self, step: Step) {
        let _ = self.events.send(LoginEvent::Started(step));
        self.current = Some((step, Instant::now()));
    }

    fn finish(&mut self, ok: bool, detail: String) {
        let Some((step, started)) = self.current.take() else {
            return;
        };
        let report = StepReport {
            step,
            ok,
            ms: started.elapsed().as_millis() as u64,
            // Details quote provider values (issuer, endpoints, JWKS URL).
            detail: super::explain::terminal_text(&detail),
        };
        tracing::info!(step = ?report.step, ok, ms = report.ms, "{}", report.detail);
        let _ = self.events.send(LoginEvent::Finished(report.clone()));
        self.steps.push(report);
    }

    /// Close a step left running by cancellation.
    pub(super) fn abandon(&mut self) {
        if self.current.is_some() {
            self.finish(false, "cancelled".into());
        }
    }
}
