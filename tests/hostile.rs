//! A hostile provider: what a correct one never does, one case each, each failing with its own
//! stable `kind`. Mirrors the OpenID Foundation's RP certification cases where they apply
//! (rp-id_token-bad-sig-rs256, rp-id_token-sig-none, rp-id_token-issuer-mismatch,
//! rp-id_token-aud, rp-id_token-iat, rp-nonce-invalid, rp-key-rotation-op-sign-key, ...).
//!
//! The provider is axum on 127.0.0.1:0 in this process. Most cases call `core::login::run`
//! directly with a tiny in-test browser; the discovery cases, `alg: none` and `access_denied`
//! also go through the real binary and `login --json`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use ifs_connect::core::connector::{Auth, Connector, OAuth2Auth, OpenIdAuth};
use ifs_connect::core::login::{self, BrowserMode, LoginEvent, LoginOptions, LoginOutcome, Step};
use ifs_connect::core::secrets::{MemorySecrets, SecretKind, SecretStore};
use ifs_connect::core::tokens;
use secrecy::ExposeSecret;

const CLIENT_ID: &str = "hostile-client";
const REALM_PATH: &str = "/realms/h";
const KEY_A: &[u8] = include_bytes!("fixtures/hostile-rsa-a.der");
const KEY_B: &[u8] = include_bytes!("fixtures/hostile-rsa-b.der");
const REFRESH_TOKEN: &str = "hostile-refresh-token-0123456789";

// ---- the hostile provider ------------------------------------------------------------------------

/// How the ID token is signed.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Signing {
    /// RS256 with key A, kid "a": what a correct provider does.
    Good,
    /// Signed with key B but labelled kid "a".
    BadSignature,
    /// `alg: none`, no signature.
    AlgNone,
    /// HS256 keyed with the public key's JWK text (key confusion).
    Hs256WithPublicKey,
    /// Signed with key B under a kid the JWKS never lists.
    UnknownKid,
    /// Signed with key B, kid "b": the JWKS lists it only from the second fetch on.
    RotatedKey,
}

/// How the authorization endpoint answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Redirect {
    Code,
    AccessDenied,
    WrongIss,
}

type ClaimsPatch = Arc<dyn Fn(&mut Value, i64) + Send + Sync>;

#[derive(Clone)]
struct Case {
    discovery_patch: Value,
    signing: Signing,
    claims: ClaimsPatch,
    redirect: Redirect,
    /// Status and body the token endpoint answers with instead of tokens.
    token_error: Option<(u16, &'static str, &'static str)>,
    userinfo_sub: &'static str,
    probe_status: u16,
    refresh_token: bool,
    /// A refresh grant gets this rotated refresh token back.
    rotated_refresh_token: Option<&'static str>,
    /// Applied to the ID token's claims on a refresh grant, after `claims`.
    refresh_claims: ClaimsPatch,
    /// The device grant's token response carries no ID token.
    device_without_id_token: bool,
}

impl Default for Case {
    fn default() -> Self {
        Case {
            discovery_patch: json!({}),
            signing: Signing::Good,
            claims: Arc::new(|_, _| {}),
            redirect: Redirect::Code,
            token_error: None,
            userinfo_sub: "alice",
            probe_status: 200,
            refresh_token: false,
            rotated_refresh_token: None,
            refresh_claims: Arc::new(|_, _| {}),
            device_without_id_token: false,
        }
    }
}

impl Case {
    fn claims(f: impl Fn(&mut Value, i64) + Send + Sync + 'static) -> Case {
        Case {
            claims: Arc::new(f),
            ..Case::default()
        }
    }

    fn signing(signing: Signing) -> Case {
        Case {
            signing,
            ..Case::default()
        }
    }

    fn discovery(patch: Value) -> Case {
        Case {
            discovery_patch: patch,
            ..Case::default()
        }
    }
}

struct Shared {
    case: Case,
    issuer: String,
    nonce: Mutex<Option<String>>,
    jwks_fetches: AtomicUsize,
    token_requests: AtomicUsize,
    /// Every refresh token a refresh grant presented.
    refresh_tokens_seen: Mutex<Vec<String>>,
    /// The redirect_uri of the last authorization request.
    redirect_uri: Mutex<Option<String>>,
}

/// The provider, on a runtime of its own so the binary can run against it from a plain test.
struct Hostile {
    issuer: String,
    base_url: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Hostile {
    fn start(case: Case) -> Hostile {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let base_url = format!("http://127.0.0.1:{port}");
        let issuer = format!("{base_url}{REALM_PATH}");
        let shared = Arc::new(Shared {
            case,
            issuer: issuer.clone(),
            nonce: Mutex::new(None),
            jwks_fetches: AtomicUsize::new(0),
            token_requests: AtomicUsize::new(0),
            refresh_tokens_seen: Mutex::new(Vec::new()),
            redirect_uri: Mutex::new(None),
        });
        let app = Router::new()
            .route(
                &format!("{REALM_PATH}/.well-known/openid-configuration"),
                get(discovery),
            )
            .route(&format!("{REALM_PATH}/auth"), get(authorize))
            .route(&format!("{REALM_PATH}/token"), post(token))
            .route(&format!("{REALM_PATH}/device"), post(device))
            .route(&format!("{REALM_PATH}/certs"), get(certs))
            .route(&format!("{REALM_PATH}/userinfo"), get(userinfo))
            .route("/api/whoami", get(whoami))
            .with_state(Arc::clone(&shared));
        runtime.spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Hostile {
            issuer,
            base_url,
            shared,
            runtime: Some(runtime),
        }
    }

    fn jwks_fetches(&self) -> usize {
        self.shared.jwks_fetches.load(Ordering::SeqCst)
    }

    fn token_requests(&self) -> usize {
        self.shared.token_requests.load(Ordering::SeqCst)
    }

    fn openid_connector(&self) -> Connector {
        let mut c = Connector::new(
            "hostile",
            Auth::OpenId(OpenIdAuth {
                authority_url: self.issuer.clone(),
                client_id: CLIENT_ID.into(),
                scopes: "openid email".into(),
                ..OpenIdAuth::default()
            }),
        );
        c.base_url = format!("{}/api", self.base_url);
        c.probe_path = "whoami".into();
        c
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(Duration::from_secs(2));
        }
    }
}

/// Patch the document; `{base}` in a string stands for the provider's own base URL.
fn merge(target: &mut Value, patch: &Value, base: &str) {
    for (k, v) in patch.as_object().into_iter().flatten() {
        match v {
            Value::Null => {
                target.as_object_mut().unwrap().remove(k);
            }
            Value::String(text) => target[k] = json!(text.replace("{base}", base)),
            other => target[k] = other.clone(),
        }
    }
}

async fn discovery(State(s): State<Arc<Shared>>) -> Json<Value> {
    let i = &s.issuer;
    let mut doc = json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/auth"),
        "token_endpoint": format!("{i}/token"),
        "userinfo_endpoint": format!("{i}/userinfo"),
        "jwks_uri": format!("{i}/certs"),
        "device_authorization_endpoint": format!("{i}/device"),
        "response_types_supported": ["code"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
        "code_challenge_methods_supported": ["S256"],
    });
    let base = i.strip_suffix(REALM_PATH).unwrap_or(i);
    merge(&mut doc, &s.case.discovery_patch, base);
    Json(doc)
}

async fn authorize(
    State(s): State<Arc<Shared>>,
    Query(q): Query<std::collections::HashMap<String, String>>,
) -> Response {
    *s.nonce.lock().unwrap() = q.get("nonce").cloned();
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    *s.redirect_uri.lock().unwrap() = Some(redirect.clone());
    let state = q.get("state").cloned().unwrap_or_default();
    let mut url = url::Url::parse(&redirect).unwrap();
    {
        let mut pairs = url.query_pairs_mut();
        match s.case.redirect {
            Redirect::Code => pairs.append_pair("code", "hostile-code-1234567890"),
            Redirect::WrongIss => pairs.append_pair("code", "hostile-code-1234567890"),
            Redirect::AccessDenied => pairs
                .append_pair("error", "access_denied")
                .append_pair("error_description", "The user said no"),
        };
        pairs.append_pair("state", &state);
        let iss = if s.case.redirect == Redirect::WrongIss {
            "http://127.0.0.1:1/realms/evil".to_owned()
        } else {
            s.issuer.clone()
        };
        pairs.append_pair("iss", &iss);
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

async fn device(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({
        "device_code": "hostile-device-code", "user_code": "HOST-ILE",
        "verification_uri": format!("{}/verify", s.issuer), "expires_in": 60, "interval": 1,
    }))
}

async fn token(
    State(s): State<Arc<Shared>>,
    axum::extract::Form(form): axum::extract::Form<std::collections::HashMap<String, String>>,
) -> Response {
    s.token_requests.fetch_add(1, Ordering::SeqCst);
    let grant = form.get("grant_type").cloned().unwrap_or_default();
    if let Some(presented) = form.get("refresh_token") {
        s.refresh_tokens_seen
            .lock()
            .unwrap()
            .push(presented.clone());
    }
    if let Some((status, content_type, body)) = s.case.token_error {
        return (
            StatusCode::from_u16(status).unwrap(),
            [(header::CONTENT_TYPE, content_type)],
            body,
        )
            .into_response();
    }
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let mut claims = json!({
        "iss": s.issuer, "sub": "alice", "aud": CLIENT_ID, "exp": now + 300, "iat": now,
        "nonce": s.nonce.lock().unwrap().clone(), "email": "alice@example.com",
    });
    (s.case.claims)(&mut claims, now);
    if grant == "refresh_token" {
        claims["nonce"] = Value::Null;
        (s.case.refresh_claims)(&mut claims, now);
    }
    let id_token = mint(s.case.signing, &claims);
    let mut body = json!({
        "access_token": "hostile-access-token-abcdef", "token_type": "Bearer",
        "expires_in": 300, "id_token": id_token, "scope": "openid email",
    });
    if grant.ends_with("device_code") && s.case.device_without_id_token {
        body.as_object_mut().unwrap().remove("id_token");
    }
    if s.case.refresh_token {
        body["refresh_token"] = json!(REFRESH_TOKEN);
    }
    if let (true, Some(rotated)) = (grant == "refresh_token", s.case.rotated_refresh_token) {
        body["refresh_token"] = json!(rotated);
    }
    Json(body).into_response()
}

async fn certs(State(s): State<Arc<Shared>>) -> Json<Value> {
    let fetch = s.jwks_fetches.fetch_add(1, Ordering::SeqCst);
    let mut keys = vec![public_jwk(KEY_A, "a")];
    if s.case.signing == Signing::RotatedKey && fetch > 0 {
        keys.push(public_jwk(KEY_B, "b"));
    }
    Json(json!({ "keys": keys }))
}

async fn userinfo(State(s): State<Arc<Shared>>) -> Json<Value> {
    Json(json!({"sub": s.case.userinfo_sub, "email": "alice@example.com", "name": "Alice"}))
}

async fn whoami(State(s): State<Arc<Shared>>) -> StatusCode {
    StatusCode::from_u16(s.case.probe_status).unwrap()
}

fn public_jwk(der: &[u8], kid: &str) -> Value {
    let jwk = Jwk::from_encoding_key(&EncodingKey::from_rsa_der(der), Algorithm::RS256).unwrap();
    let mut v = serde_json::to_value(jwk).unwrap();
    v["kid"] = json!(kid);
    v["use"] = json!("sig");
    v
}

fn sign(der: &[u8], kid: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    jsonwebtoken::encode(&header, claims, &EncodingKey::from_rsa_der(der)).unwrap()
}

fn mint(signing: Signing, claims: &Value) -> String {
    match signing {
        Signing::Good => sign(KEY_A, "a", claims),
        Signing::BadSignature => sign(KEY_B, "a", claims),
        Signing::UnknownKid => sign(KEY_B, "zzz", claims),
        Signing::RotatedKey => sign(KEY_B, "b", claims),
        Signing::AlgNone => {
            let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT","kid":"a"}"#);
            let body = URL_SAFE_NO_PAD.encode(claims.to_string());
            format!("{head}.{body}.")
        }
        Signing::Hs256WithPublicKey => {
            let mut header = Header::new(Algorithm::HS256);
            header.kid = Some("a".into());
            let public = public_jwk(KEY_A, "a").to_string();
            jsonwebtoken::encode(
                &header,
                claims,
                &EncodingKey::from_secret(public.as_bytes()),
            )
            .unwrap()
        }
    }
}

// ---- running a login in this process -------------------------------------------------------------

/// What the in-test browser does with the sign-in URL.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Browser {
    /// Follow the authorization endpoint's redirect to the listener.
    Follow,
    /// First send the callback with a forged state (must get 400), then the real one.
    ForgedStateFirst,
}

/// Follow one redirect by hand; return the callback's status.
async fn browse(url: String, how: Browser) -> Result<(), String> {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let answer = client.get(&url).send().await.map_err(|e| e.to_string())?;
    let location = answer
        .headers()
        .get(header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no redirect from the authorization endpoint")?
        .to_owned();
    if how == Browser::ForgedStateFirst {
        let mut forged = url::Url::parse(&location).unwrap();
        let pairs: Vec<(String, String)> = forged
            .query_pairs()
            .map(|(k, v)| {
                let v = if k == "state" {
                    "forged".into()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        forged.query_pairs_mut().clear().extend_pairs(pairs);
        let status = client
            .get(forged)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .status();
        if status != StatusCode::BAD_REQUEST {
            return Err(format!("a forged state got {status}"));
        }
    }
    client
        .get(&location)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

struct Ran {
    outcome: LoginOutcome,
    notices: Vec<String>,
}

fn options() -> LoginOptions {
    LoginOptions {
        timeout: Duration::from_secs(20),
        browser: BrowserMode::Never,
        http_timeout: Duration::from_secs(10),
        ..LoginOptions::default()
    }
}

/// Run a whole login in this process, the in-test browser acting on the URL.
fn login_with(connector: Connector, how: Browser) -> Ran {
    login_with_secrets(connector, how, Arc::new(MemorySecrets::default()))
}

fn login_with_secrets(connector: Connector, how: Browser, secrets: Arc<MemorySecrets>) -> Ran {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let (events_tx, mut events) = mpsc::unbounded_channel();
        let (_pasted_tx, pasted) = mpsc::channel(1);
        let run = tokio::spawn(login::run(
            connector,
            secrets,
            options(),
            pasted,
            events_tx,
            CancellationToken::new(),
        ));
        let mut notices = Vec::new();
        while let Some(event) = events.recv().await {
            match event {
                LoginEvent::OpenUrl { url, .. } => {
                    tokio::spawn(async move {
                        if let Err(e) = browse(url, how).await {
                            panic!("in-test browser: {e}");
                        }
                    });
                }
                LoginEvent::Notice(text) => notices.push(text),
                _ => {}
            }
        }
        Ran {
            outcome: run.await.unwrap(),
            notices,
        }
    })
}

fn login(connector: Connector) -> LoginOutcome {
    login_with(connector, Browser::Follow).outcome
}

fn kind(outcome: &LoginOutcome) -> &'static str {
    outcome.error.as_ref().map_or("(none)", |e| e.kind.as_str())
}

fn fails_with(case: Case, want: &str) -> LoginOutcome {
    let provider = Hostile::start(case);
    let outcome = login(provider.openid_connector());
    assert!(!outcome.ok, "{outcome:#?}");
    assert_eq!(kind(&outcome), want, "{outcome:#?}");
    let error = outcome.error.as_ref().unwrap();
    assert!(!error.message.is_empty());
    assert!(!error.message.contains("hostile-access-token"));
    outcome
}

// ---- discovery -----------------------------------------------------------------------------------

#[test]
fn issuer_mismatch_in_discovery() {
    let outcome = fails_with(
        Case::discovery(json!({"issuer": "http://127.0.0.1:1/realms/other"})),
        "issuer_mismatch",
    );
    assert!(outcome.error.unwrap().message.contains("/realms/other"));
}

#[test]
fn a_host_alias_needs_validate_issuer_name_and_endpoints_off() {
    // The Authority names the provider by another name than its issuer does (localhost vs
    // 127.0.0.1): the checks refuse it until the user turns them off.
    let provider = Hostile::start(Case::default());
    let mut connector = provider.openid_connector();
    let alias = provider.issuer.replace("127.0.0.1", "localhost");
    let Auth::OpenId(auth) = &mut connector.auth else {
        unreachable!()
    };
    auth.authority_url = alias;
    assert_eq!(kind(&login(connector.clone())), "issuer_mismatch");
    let Auth::OpenId(auth) = &mut connector.auth else {
        unreachable!()
    };
    auth.validate_issuer_name = false;
    assert_eq!(
        kind(&login(connector.clone())),
        "endpoint_outside_authority"
    );
    let Auth::OpenId(auth) = &mut connector.auth else {
        unreachable!()
    };
    auth.validate_endpoints = false;
    let outcome = login(connector);
    assert!(outcome.ok, "{outcome:#?}");
}

#[test]
fn endpoint_on_another_host() {
    let outcome = fails_with(
        Case::discovery(json!({"token_endpoint": "http://localhost:1/realms/h/token"})),
        "endpoint_outside_authority",
    );
    assert!(outcome.error.unwrap().message.contains("another host"));
}

#[test]
fn endpoint_on_the_same_host_outside_the_authority_path() {
    // `/realms/hx` shares the raw prefix `/realms/h`: only the path-segment boundary rejects it.
    let outcome = fails_with(
        Case::discovery(json!({"userinfo_endpoint": "{base}/realms/hx/userinfo"})),
        "endpoint_outside_authority",
    );
    assert!(
        outcome
            .error
            .unwrap()
            .message
            .contains("outside the Authority")
    );
}

#[test]
fn validate_endpoints_off_accepts_an_endpoint_elsewhere() {
    let provider = Hostile::start(Case::discovery(json!({
        "end_session_endpoint": "https://elsewhere.example.com/logout"
    })));
    let mut connector = provider.openid_connector();
    assert_eq!(
        kind(&login(connector.clone())),
        "endpoint_outside_authority"
    );
    let Auth::OpenId(auth) = &mut connector.auth else {
        unreachable!()
    };
    auth.validate_endpoints = false;
    let outcome = login(connector);
    assert!(outcome.ok, "{outcome:#?}");
}

#[test]
fn http_endpoint_on_a_non_loopback_host() {
    fails_with(
        Case::discovery(json!({"token_endpoint": "http://ifs.example.com/realms/h/token"})),
        "insecure_endpoint",
    );
}

// ---- ID token ------------------------------------------------------------------------------------

#[test]
fn a_correct_provider_passes_every_check() {
    let provider = Hostile::start(Case::default());
    let outcome = login(provider.openid_connector());
    assert!(outcome.ok, "{outcome:#?}");
    let claims = outcome.claims.unwrap();
    assert_eq!(claims.sub.as_deref(), Some("alice"));
    assert_eq!(outcome.probe.unwrap().status, Some(200));
    assert_eq!(provider.token_requests(), 1);
}

#[test]
fn id_token_with_a_bad_signature() {
    fails_with(Case::signing(Signing::BadSignature), "id_token_signature");
}

#[test]
fn id_token_with_alg_none() {
    fails_with(Case::signing(Signing::AlgNone), "id_token_algorithm");
}

#[test]
fn id_token_hs256_signed_with_the_public_key() {
    let outcome = fails_with(
        Case::signing(Signing::Hs256WithPublicKey),
        "id_token_algorithm",
    );
    assert!(outcome.error.unwrap().message.contains("HMAC"));
}

#[test]
fn id_token_with_an_unknown_kid_after_one_refetch() {
    let provider = Hostile::start(Case::signing(Signing::UnknownKid));
    let outcome = login(provider.openid_connector());
    assert_eq!(kind(&outcome), "id_token_unknown_key", "{outcome:#?}");
    assert_eq!(
        provider.jwks_fetches(),
        2,
        "the JWKS is fetched again exactly once"
    );
}

#[test]
fn rotated_keys_are_found_by_the_refetch() {
    let provider = Hostile::start(Case::signing(Signing::RotatedKey));
    let outcome = login(provider.openid_connector());
    assert!(outcome.ok, "{outcome:#?}");
    assert_eq!(provider.jwks_fetches(), 2);
}

#[test]
fn id_token_with_the_wrong_issuer() {
    let case = || Case::claims(|c, _| c["iss"] = json!("http://127.0.0.1:1/realms/evil"));
    fails_with(case(), "id_token_issuer");
    // With Validate Token Issuer Name off it is accepted; every other check still runs.
    let provider = Hostile::start(case());
    let mut connector = provider.openid_connector();
    let Auth::OpenId(auth) = &mut connector.auth else {
        unreachable!()
    };
    auth.validate_token_issuer_name = false;
    let outcome = login(connector);
    assert!(outcome.ok, "{outcome:#?}");
}

#[test]
fn id_token_for_another_audience() {
    fails_with(
        Case::claims(|c, _| c["aud"] = json!("someone-else")),
        "id_token_audience",
    );
}

#[test]
fn id_token_with_several_audiences_and_no_azp() {
    fails_with(
        Case::claims(|c, _| c["aud"] = json!([CLIENT_ID, "someone-else"])),
        "id_token_audience",
    );
    // With azp naming this client, several audiences are fine.
    let provider = Hostile::start(Case::claims(|c, _| {
        c["aud"] = json!([CLIENT_ID, "someone-else"]);
        c["azp"] = json!(CLIENT_ID);
    }));
    assert!(login(provider.openid_connector()).ok);
}

#[test]
fn expired_id_token() {
    fails_with(
        Case::claims(|c, now| {
            c["iat"] = json!(now - 7200);
            c["exp"] = json!(now - 3600);
        }),
        "id_token_expired",
    );
}

#[test]
fn id_token_just_expired_points_at_clock_skew() {
    let outcome = fails_with(
        Case::claims(|c, now| c["exp"] = json!(now - 120)),
        "id_token_clock_skew",
    );
    assert!(outcome.error.unwrap().message.contains("clock skew"));
}

#[test]
fn id_token_issued_in_the_future_beyond_the_leeway() {
    let outcome = fails_with(
        Case::claims(|c, now| {
            c["iat"] = json!(now + 600);
            c["exp"] = json!(now + 900);
        }),
        "id_token_clock_skew",
    );
    assert!(
        outcome
            .error
            .unwrap()
            .message
            .contains("clock skew of about")
    );
}

#[test]
fn id_token_with_the_wrong_nonce() {
    fails_with(
        Case::claims(|c, _| c["nonce"] = json!("not-the-one")),
        "id_token_nonce",
    );
}

// ---- token endpoint, callback, userinfo, probe ---------------------------------------------------

#[test]
fn token_endpoint_invalid_grant_is_explained() {
    let outcome = fails_with(
        Case {
            token_error: Some((
                400,
                "application/json",
                r#"{"error":"invalid_grant","error_description":"Code not valid"}"#,
            )),
            ..Case::default()
        },
        "token_request",
    );
    let error = outcome.error.unwrap();
    assert!(
        error.message.contains("invalid_grant (Code not valid)"),
        "{error:?}"
    );
    assert!(
        error
            .hint
            .unwrap()
            .contains("register http://127.0.0.1/callback")
    );
}

#[test]
fn token_endpoint_invalid_client_and_html_answers() {
    let outcome = fails_with(
        Case {
            token_error: Some((401, "application/json", r#"{"error":"invalid_client"}"#)),
            ..Case::default()
        },
        "token_request",
    );
    assert!(
        outcome
            .error
            .unwrap()
            .hint
            .unwrap()
            .contains("confidential")
    );
    let outcome = fails_with(
        Case {
            token_error: Some((
                200,
                "text/html",
                "<html><body>Sign in to the proxy</body></html>",
            )),
            ..Case::default()
        },
        "token_request",
    );
    assert!(
        outcome
            .error
            .unwrap()
            .message
            .contains("HTML page instead of JSON")
    );
}

#[test]
fn callback_with_access_denied() {
    let outcome = fails_with(
        Case {
            redirect: Redirect::AccessDenied,
            ..Case::default()
        },
        "authorization_denied",
    );
    assert!(
        outcome
            .error
            .unwrap()
            .message
            .contains("access_denied (The user said no)")
    );
}

#[test]
fn a_forged_state_is_ignored_and_the_right_one_succeeds() {
    let provider = Hostile::start(Case::default());
    let ran = login_with(provider.openid_connector(), Browser::ForgedStateFirst);
    assert!(ran.outcome.ok, "{:#?}", ran.outcome);
    assert!(
        ran.notices
            .iter()
            .any(|n| n.contains("state does not match")),
        "{:?}",
        ran.notices
    );
    assert_eq!(provider.token_requests(), 1);
}

#[test]
fn callback_with_the_wrong_iss_when_rfc_9207_is_advertised() {
    let outcome = fails_with(
        Case {
            redirect: Redirect::WrongIss,
            discovery_patch: json!({"authorization_response_iss_parameter_supported": true}),
            ..Case::default()
        },
        "callback_issuer_mismatch",
    );
    assert!(outcome.error.unwrap().message.contains("/realms/evil"));
}

#[test]
fn userinfo_about_another_subject() {
    fails_with(
        Case {
            userinfo_sub: "mallory",
            ..Case::default()
        },
        "userinfo",
    );
}

#[test]
fn probe_rejections_are_reported_with_their_status() {
    for (status, needle) in [(401, "token rejected"), (404, "check the Base URL")] {
        let outcome = fails_with(
            Case {
                probe_status: status,
                ..Case::default()
            },
            "probe",
        );
        let error = outcome.error.clone().unwrap();
        let text = format!("{} {}", error.message, error.hint.unwrap_or_default());
        assert!(text.contains(needle), "{text}");
        assert_eq!(outcome.probe.unwrap().status, Some(status));
    }
}

#[test]
fn oauth2_without_issuer_still_checks_audience_and_nonce() {
    let provider = Hostile::start(Case::claims(|c, _| c["aud"] = json!("someone-else")));
    let connector = Connector::new(
        "plain",
        Auth::OAuth2(OAuth2Auth {
            authorization_endpoint: format!("{}/auth", provider.issuer),
            token_endpoint: format!("{}/token", provider.issuer),
            client_id: CLIENT_ID.into(),
            scopes: "openid".into(),
            ..OAuth2Auth::default()
        }),
    );
    let outcome = login(connector);
    assert_eq!(kind(&outcome), "id_token_audience", "{outcome:#?}");
}

#[test]
fn the_refresh_token_goes_to_the_keyring_and_a_keyring_failure_is_reported() {
    let provider = Hostile::start(Case {
        refresh_token: true,
        ..Case::default()
    });
    let connector = provider.openid_connector();
    let secrets = Arc::new(MemorySecrets::default());
    let ran = login_with_secrets(connector.clone(), Browser::Follow, Arc::clone(&secrets));
    assert!(ran.outcome.ok, "{:#?}", ran.outcome);
    let stored = secrets
        .get(&connector.id, SecretKind::RefreshToken)
        .unwrap()
        .unwrap();
    assert_eq!(stored.expose_secret(), REFRESH_TOKEN);
    assert!(!format!("{:?}", ran.outcome).contains(REFRESH_TOKEN));

    let failing = Arc::new(MemorySecrets::default());
    failing.fail_writes(true);
    let ran = login_with_secrets(connector, Browser::Follow, failing);
    assert_eq!(kind(&ran.outcome), "keyring", "{:#?}", ran.outcome);
    assert_eq!(ran.outcome.steps.last().unwrap().step, Step::Keyring);
}

#[test]
fn a_confidential_client_whose_secret_is_missing_stops_before_the_browser() {
    let provider = Hostile::start(Case::default());
    let connector = Connector::new(
        "conf",
        Auth::OAuth2(OAuth2Auth {
            authorization_endpoint: format!("{}/auth", provider.issuer),
            token_endpoint: format!("{}/token", provider.issuer),
            client_id: CLIENT_ID.into(),
            has_client_secret: true,
            issuer: Some(provider.issuer.clone()),
            ..OAuth2Auth::default()
        }),
    );
    let outcome = login(connector);
    assert_eq!(kind(&outcome), "keyring", "{outcome:#?}");
    assert!(!outcome.steps.iter().any(|s| s.step == Step::Browser));
}

// ---- the same through the binary -----------------------------------------------------------------

fn binary_login(provider: &Hostile, with_browser: bool) -> Value {
    let env = common::Env::new();
    let log = env.path("browser.log");
    let env = if with_browser {
        env.with_fetch_browser(&log)
    } else {
        env
    };
    let add = env.run(
        &[
            "add",
            "--name",
            "hostile",
            "--base-url",
            &format!("{}/api", provider.base_url),
            "--probe-path",
            "whoami",
            "--auth",
            "openid",
            "--authority",
            &provider.issuer,
            "--client-id",
            CLIENT_ID,
        ],
        None,
    );
    assert!(add.status.success(), "{}", common::describe(&add));
    let mut args = vec!["login", "hostile", "--json", "--timeout", "30"];
    if !with_browser {
        args.push("--no-browser");
    }
    let out = env.run(&args, None);
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn the_binary_reports_each_discovery_failure_by_kind() {
    let cases = [
        (
            json!({"issuer": "http://127.0.0.1:1/realms/other"}),
            "issuer_mismatch",
        ),
        (
            json!({"jwks_uri": "https://keys.example.com/realms/h/certs"}),
            "endpoint_outside_authority",
        ),
        (
            json!({"token_endpoint": "http://ifs.example.com/token"}),
            "insecure_endpoint",
        ),
    ];
    for (patch, want) in cases {
        let provider = Hostile::start(Case::discovery(patch));
        let outcome = binary_login(&provider, false);
        assert_eq!(outcome["ok"], false);
        assert_eq!(outcome["error"]["kind"], want, "{outcome}");
        assert_eq!(outcome["steps"][0]["name"], "discovery");
        assert_eq!(outcome["steps"][0]["ok"], false);
    }
}

#[test]
fn the_binary_reports_alg_none_and_access_denied() {
    common::rig_required();
    let provider = Hostile::start(Case::signing(Signing::AlgNone));
    let outcome = binary_login(&provider, true);
    assert_eq!(outcome["error"]["kind"], "id_token_algorithm", "{outcome}");
    assert!(
        outcome["claims"].is_null(),
        "no claims from an untrusted token"
    );

    let provider = Hostile::start(Case {
        redirect: Redirect::AccessDenied,
        ..Case::default()
    });
    let outcome = binary_login(&provider, true);
    assert_eq!(
        outcome["error"]["kind"], "authorization_denied",
        "{outcome}"
    );
    assert!(
        outcome["error"]["hint"]
            .as_str()
            .unwrap()
            .contains("cancelled")
    );
}

// ---- hardening (issue 13) ------------------------------------------------------------------------

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Log in (storing the tokens), then drop the cached access token so the next `token` refreshes.
fn logged_in(provider: &Hostile) -> (Connector, Arc<MemorySecrets>) {
    let connector = provider.openid_connector();
    let secrets = Arc::new(MemorySecrets::default());
    let ran = login_with_secrets(connector.clone(), Browser::Follow, Arc::clone(&secrets));
    assert!(ran.outcome.ok, "{:#?}", ran.outcome);
    secrets
        .delete(&connector.id, SecretKind::AccessToken)
        .unwrap();
    (connector, secrets)
}

fn token_now(
    connector: &Connector,
    secrets: &Arc<MemorySecrets>,
) -> Result<tokens::AccessToken, tokens::TokenError> {
    let dir = tempfile::tempdir().unwrap();
    let shared: ifs_connect::core::secrets::SharedSecrets = secrets.clone();
    runtime().block_on(tokens::access_token(
        &shared,
        dir.path(),
        connector,
        &options(),
    ))
}

fn stored_refresh(connector: &Connector, secrets: &MemorySecrets) -> Option<String> {
    secrets
        .get(&connector.id, SecretKind::RefreshToken)
        .unwrap()
        .map(|s| s.expose_secret().to_owned())
}

#[test]
fn a_rotated_refresh_token_is_kept_when_the_refreshed_id_token_fails() {
    // The provider rotates the refresh token, then hands out an ID token issued far in the
    // future: the refresh fails, but the old refresh token is dead, so the new one must stay.
    let provider = Hostile::start(Case {
        refresh_token: true,
        rotated_refresh_token: Some("hostile-rotated-refresh-token-2"),
        refresh_claims: Arc::new(|c, now| c["iat"] = json!(now + 3_600)),
        ..Case::default()
    });
    let (connector, secrets) = logged_in(&provider);
    let error = token_now(&connector, &secrets).unwrap_err();
    assert!(error.to_string().contains("clock skew"), "{error}");
    assert_eq!(
        stored_refresh(&connector, &secrets).as_deref(),
        Some("hostile-rotated-refresh-token-2")
    );
    // The JWKS was read before the refresh grant went out, not after.
    assert!(provider.jwks_fetches() >= 2);
}

#[test]
fn a_refreshed_id_token_naming_someone_else_ends_the_session() {
    // "alice\n" is shown as "alice", but it is not the same subject: compare the raw claim.
    let provider = Hostile::start(Case {
        refresh_token: true,
        rotated_refresh_token: Some("hostile-rotated-refresh-token-3"),
        refresh_claims: Arc::new(|c, _| c["sub"] = json!("alice\n")),
        ..Case::default()
    });
    let (connector, secrets) = logged_in(&provider);
    let error = token_now(&connector, &secrets).unwrap_err();
    assert!(error.to_string().contains("user (sub)"), "{error}");
    for kind in SecretKind::ALL {
        assert!(
            secrets.get(&connector.id, kind).unwrap().is_none(),
            "{kind:?} left behind"
        );
    }
}

#[test]
fn a_re_pointed_connector_never_sends_its_tokens_to_the_new_provider() {
    let old = Hostile::start(Case {
        refresh_token: true,
        ..Case::default()
    });
    let new = Hostile::start(Case::default());
    let (mut connector, secrets) = logged_in(&old);
    // As a hand-edited config or an older ifs-connect would leave it: same id, other provider.
    let Auth::OpenId(auth) = &mut connector.auth else {
        unreachable!()
    };
    auth.authority_url = new.issuer.clone();
    let error = token_now(&connector, &secrets).unwrap_err();
    assert!(error.needs_login(), "{error}");
    assert_eq!(new.token_requests(), 0);
    assert!(new.shared.refresh_tokens_seen.lock().unwrap().is_empty());
    assert_eq!(stored_refresh(&connector, &secrets), None);
}

#[test]
fn a_hand_edited_http_base_url_is_refused_before_any_token_is_sent() {
    let provider = Hostile::start(Case::default());
    let mut connector = provider.openid_connector();
    connector.base_url = "http://ifs.example.com/api".into();
    let outcome = login(connector);
    assert_eq!(kind(&outcome), "config", "{outcome:#?}");
    assert!(outcome.error.unwrap().message.contains("Base URL"));
    assert_eq!(provider.token_requests(), 0);
}

#[test]
fn extra_parameters_that_bypass_the_checks_are_refused_at_use_time() {
    for key in ["request_uri", "request", "response_mode"] {
        let provider = Hostile::start(Case::default());
        let mut connector = provider.openid_connector();
        let Auth::OpenId(auth) = &mut connector.auth else {
            unreachable!()
        };
        auth.extra_params = vec![ifs_connect::core::connector::Param::new(key, "x")];
        let outcome = login(connector);
        assert_eq!(kind(&outcome), "config", "{key}: {outcome:#?}");
        assert_eq!(provider.token_requests(), 0, "{key}");
    }
}

#[test]
fn provider_text_with_terminal_escapes_stays_inert() {
    // OSC 52 (write the clipboard) and a window title, hidden in discovery values.
    let provider = Hostile::start(Case::discovery(json!({
        "token_endpoint": "http://ifs.example.com/\u{1b}]52;c;SGk=\u{7}token",
    })));
    let outcome = login(provider.openid_connector());
    assert_eq!(kind(&outcome), "insecure_endpoint", "{outcome:#?}");
    let error = outcome.error.clone().unwrap();
    let mut texts = vec![error.message, error.hint.unwrap_or_default()];
    texts.extend(outcome.steps.iter().map(|s| s.detail.clone()));
    for text in texts {
        assert!(!text.chars().any(char::is_control), "{text:?}");
    }

    let provider = Hostile::start(Case::discovery(json!({
        "issuer": "http://127.0.0.1:1/realms/\u{1b}]0;pwned\u{7}",
    })));
    let env = common::Env::new();
    let add = env.run(
        &[
            "add",
            "--name",
            "h",
            "--base-url",
            &provider.base_url,
            "--auth",
            "openid",
            "--authority",
            &provider.issuer,
            "--client-id",
            CLIENT_ID,
        ],
        None,
    );
    assert!(add.status.success(), "{}", common::describe(&add));
    let out = env.run(&["login", "h", "--no-browser", "--timeout", "5"], None);
    assert_eq!(out.status.code(), Some(1), "{}", common::describe(&out));
    assert!(common::stderr_of(&out).contains("issuer"));
    for stream in [&out.stdout, &out.stderr] {
        assert!(
            !stream.contains(&0x1b) && !stream.contains(&0x07),
            "{}",
            common::describe(&out)
        );
    }
}

#[test]
fn a_localhost_redirect_uri_is_sent_as_127_0_0_1() {
    let provider = Hostile::start(Case::default());
    let mut connector = provider.openid_connector();
    connector.redirect_uri = "http://localhost/callback".into();
    let outcome = login(connector.clone());
    assert!(outcome.ok, "{outcome:#?}");
    let sent = provider
        .shared
        .redirect_uri
        .lock()
        .unwrap()
        .clone()
        .unwrap();
    assert!(sent.starts_with("http://127.0.0.1:"), "{sent}");
    let listener = outcome
        .steps
        .iter()
        .find(|s| s.step == Step::Listener)
        .unwrap();
    assert!(listener.detail.contains("RFC 8252"), "{}", listener.detail);
    // The saved value is the user's.
    assert_eq!(connector.redirect_uri, "http://localhost/callback");
}

#[test]
fn a_device_login_that_asked_for_openid_needs_an_id_token() {
    let provider = Hostile::start(Case {
        device_without_id_token: true,
        ..Case::default()
    });
    let connector = provider.openid_connector();
    let outcome = runtime().block_on(async move {
        let (events, _events_rx) = mpsc::unbounded_channel();
        let (prompts, _prompts_rx) = mpsc::unbounded_channel();
        login::run_device(
            connector,
            Arc::new(MemorySecrets::default()),
            options(),
            prompts,
            events,
            CancellationToken::new(),
        )
        .await
    });
    assert_eq!(kind(&outcome), "token_request", "{outcome:#?}");
    assert!(outcome.error.unwrap().message.contains("no ID token"));
}
