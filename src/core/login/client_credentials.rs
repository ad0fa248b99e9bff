//! The client credentials grant (RFC 6749 section 4.4): an IFS service user gets an access
//! token with the IAM client's own secret, no person and no browser involved.
//!
//! The test login runs discovery (when the connector has an authority), the token request,
//! a reading of the access token (its claims when it is a JWT, shown for information and
//! marked as not verified: the API it is meant for checks it) and the API probe, reporting
//! the same [`LoginEvent`]s as the browser flow. [`fetch`] is the token request alone, for
//! `ifs-connect token`.

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::discovery;
use super::explain::{self, error_with_description, provider_text};
use super::http::{self, ClientAuth};
use super::id_token;
use super::policy;
use super::probe;
use super::recorder::{self, Found, Recorder};
use super::token_endpoint::{self, TokenSet};
use super::{
    Claims, ErrorKind, LoginError, LoginEvent, LoginOptions, LoginOutcome, SignatureStatus, Step,
};
use crate::core::connector::{Auth, ClientCredentialsAuth, Connector, OpenIdAuth, SecretSource};
use crate::core::secrets::{self, SecretKind, SecretsError, SharedSecrets};

/// A service user's access token, fresh from the token endpoint. The value stays secret.
pub struct ServiceToken {
    pub access_token: SecretString,
    pub expires_in: Option<u64>,
    pub scope: Option<String>,
}

/// Where the token request goes, and what discovery said about it.
struct Endpoint {
    token_endpoint: String,
    issuer: Option<String>,
    auth_methods: Vec<String>,
}

/// What a login on a browser-only path says about a service user connector.
pub(super) fn not_interactive() -> LoginError {
    LoginError::new(
        ErrorKind::Config,
        "a service user connector (OAuth2 Client Credentials) gets its tokens without a \
         browser: there is no authorization, device login, refresh or revocation for it",
    )
    .with_hint("use `ifs-connect login NAME` or `ifs-connect token NAME` on it")
}

/// A failure to read the client secret: an unset variable is the connector's setup, anything
/// else the keyring's.
pub(super) fn secrets_error(error: SecretsError) -> LoginError {
    match &error {
        SecretsError::EnvUnset { var } => LoginError::new(
            ErrorKind::Config,
            format!(
                "the environment variable {var} is not set, and this connector reads its client \
                 secret from it"
            ),
        )
        .with_hint(format!(
            "export {var} with the client secret (in CI, from the runner's secret store), or \
             keep the secret in the keyring: ifs-connect edit NAME --client-secret-stdin"
        )),
        _ => LoginError::new(ErrorKind::Keyring, error.to_string()),
    }
}

fn service_auth(connector: &Connector) -> Result<&ClientCredentialsAuth, LoginError> {
    match &connector.auth {
        Auth::ClientCredentials(auth) => Ok(auth),
        _ => Err(LoginError::new(
            ErrorKind::Config,
            "this connector signs in with a browser, not with client credentials",
        )),
    }
}

// ---- the test login ----------------------------------------------------------------------------

pub(super) async fn run(
    connector: Connector,
    secrets: SharedSecrets,
    options: LoginOptions,
    events: mpsc::UnboundedSender<LoginEvent>,
    cancel: CancellationToken,
) -> LoginOutcome {
    tracing::info!(connector = %connector.id, "service user test login starts");
    let mut recorder = Recorder::new(events.clone());
    let mut found = Found::default();
    let result = tokio::select! {
        biased;
        () = cancel.cancelled() => Err(recorder::cancelled()),
        result = steps(&connector, &secrets, &options, &events, &mut recorder, &mut found) => result,
    };
    recorder.outcome(result, found, "service user test login")
}

async fn steps(
    connector: &Connector,
    secrets: &SharedSecrets,
    options: &LoginOptions,
    events: &mpsc::UnboundedSender<LoginEvent>,
    recorder: &mut Recorder,
    found: &mut Found,
) -> Result<(), LoginError> {
    super::rules::check_as_saved(connector)?;
    let auth = service_auth(connector)?;
    let client = http::client(options, connector.ca_file.as_deref())?;
    let endpoint = if auth.authority_url.is_some() {
        recorder
            .step(Step::Discovery, resolve(&client, auth))
            .await?
    } else {
        resolve(&client, auth).await?.0
    };
    let tokens = recorder
        .step(Step::Token, async {
            let (client_auth, how) =
                client_auth(connector, secrets, &endpoint.auth_methods).await?;
            let tokens = request_token(&client, connector, &endpoint, &client_auth).await?;
            let detail = format!("{how}; {}", lifetime_text(tokens.expires_in));
            Ok((tokens, detail))
        })
        .await?;
    let mut claims = recorder
        .step(Step::AccessToken, async {
            read_access_token(&tokens.access_token, &endpoint, auth)
        })
        .await?;
    claims.expires_at = tokens
        .expires_in
        .map(|secs| id_token::rfc3339(now() + secs.min(i64::MAX as u64 / 2) as i64));
    claims.scope = Some(tokens.scope.clone().unwrap_or_else(|| auth.scopes.clone()));
    found.claims = Some(claims);
    if !connector.probe_path.trim().is_empty() {
        let url = probe::probe_url(&connector.base_url, &connector.probe_path);
        let (result, verdict) = probe::run(&client, &url, &tokens.access_token).await;
        let status = result.status;
        found.probe = Some(result);
        let outcome = verdict.map(|()| ((), format!("HTTP {} from {url}", status.unwrap_or(0))));
        if let Err(e) = recorder.step(Step::Probe, async { outcome }).await {
            found.late_error = Some(e);
        }
    }
    cache(connector, secrets, events, &tokens).await;
    Ok(())
}

/// `ifs-connect token` can use the login's token until it expires (in this process only when
/// the secret comes from a variable: the store is then in memory).
async fn cache(
    connector: &Connector,
    secrets: &SharedSecrets,
    events: &mpsc::UnboundedSender<LoginEvent>,
    tokens: &TokenSet,
) {
    let cached = crate::core::token_cache::Cached::after_login(
        &tokens.access_token,
        tokens.expires_in,
        tokens.scope.clone(),
    );
    if let Err(e) = crate::core::token_cache::store_service_cache(secrets, connector, &cached).await
    {
        tracing::warn!(error = %e, "could not cache the access token");
        let _ = events.send(LoginEvent::Notice(format!(
            "the access token could not be cached in the keyring ({e})"
        )));
    }
}

fn lifetime_text(expires_in: Option<u64>) -> String {
    match expires_in {
        Some(secs) => format!("access token valid for {secs} s, no refresh token"),
        None => "access token without a stated lifetime, no refresh token".into(),
    }
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

// ---- the token request alone ---------------------------------------------------------------------

/// Discovery (when there is an authority) and the token request, with the login's rules.
pub(super) async fn fetch(
    connector: &Connector,
    secrets: &SharedSecrets,
    options: &LoginOptions,
) -> Result<ServiceToken, LoginError> {
    let secrets = secrets::for_connector(connector, secrets);
    super::rules::check_as_saved(connector)?;
    let auth = service_auth(connector)?;
    let client = http::client(options, connector.ca_file.as_deref())?;
    let (endpoint, _) = resolve(&client, auth).await?;
    let (client_auth, _) = client_auth(connector, &secrets, &endpoint.auth_methods).await?;
    let tokens = request_token(&client, connector, &endpoint, &client_auth).await?;
    // The issuer rule applies to scripts' tokens as much as to the test login's.
    read_access_token(&tokens.access_token, &endpoint, auth)?;
    Ok(ServiceToken {
        access_token: tokens.access_token,
        expires_in: tokens.expires_in,
        scope: tokens.scope,
    })
}

// ---- the parts -------------------------------------------------------------------------------------

/// The token endpoint: as given, or from the authority's discovery document checked with
/// the connector's Validate options.
async fn resolve(
    client: &reqwest::Client,
    auth: &ClientCredentialsAuth,
) -> Result<(Endpoint, String), LoginError> {
    let Some(authority) = &auth.authority_url else {
        let token_endpoint = auth.token_endpoint.clone().unwrap_or_default();
        let detail = format!("token endpoint {token_endpoint} (from the connector)");
        let endpoint = Endpoint {
            token_endpoint,
            issuer: None,
            auth_methods: Vec::new(),
        };
        return Ok((endpoint, detail));
    };
    let view = OpenIdAuth {
        authority_url: authority.clone(),
        client_id: auth.client_id.clone(),
        validate_endpoints: auth.validate_endpoints,
        validate_issuer_name: auth.validate_issuer_name,
        validate_token_issuer_name: auth.validate_token_issuer_name,
        ..OpenIdAuth::default()
    };
    let check = discovery::check(client, &view).await;
    if let Some(error) = check.error {
        return Err(error);
    }
    let metadata = check
        .metadata
        .ok_or_else(|| LoginError::new(ErrorKind::Discovery, "discovery returned nothing"))?;
    let token_endpoint = metadata.token_endpoint.ok_or_else(|| {
        LoginError::new(
            ErrorKind::Discovery,
            format!(
                "the discovery document at {} has no token_endpoint",
                check.discovery_url
            ),
        )
    })?;
    let detail = match &metadata.issuer {
        Some(issuer) => format!("issuer {issuer}; token endpoint {token_endpoint}"),
        None => format!("token endpoint {token_endpoint}"),
    };
    let endpoint = Endpoint {
        token_endpoint,
        issuer: metadata.issuer,
        auth_methods: metadata.token_endpoint_auth_methods_supported,
    };
    Ok((endpoint, detail))
}

/// The client secret (from the keyring or the connector's variable) and how to send it.
async fn client_auth(
    connector: &Connector,
    secrets: &SharedSecrets,
    advertised: &[String],
) -> Result<(ClientAuth, String), LoginError> {
    let Some(source) = connector.secret_source() else {
        return Err(LoginError::new(
            ErrorKind::Config,
            "a service user needs the IAM client's secret, and this connector has none",
        )
        .with_hint(format!(
            "give it one: ifs-connect edit {} --client-secret-stdin (keyring) or \
             --client-secret-env VAR (environment)",
            connector.name
        )));
    };
    let id = connector.id.clone();
    let secret = secrets::blocking(secrets, move |store| {
        store.get(&id, SecretKind::ClientSecret)
    })
    .await
    .map_err(secrets_error)?
    .ok_or_else(|| {
        LoginError::new(
            ErrorKind::Keyring,
            "the connector says a client secret is stored, but the keyring has none",
        )
        .with_hint(format!(
            "store it again with `ifs-connect edit {} --client-secret-stdin`",
            connector.name
        ))
    })?;
    let auth = choose_client_auth(secret, advertised);
    let from = match source {
        SecretSource::Keyring => "secret from the keyring".to_owned(),
        SecretSource::Env(var) => format!("secret from ${var}"),
    };
    let detail = format!("{} ({from})", auth.method_name());
    Ok((auth, detail))
}

/// What discovery advertises, else HTTP Basic (RFC 6749 section 2.3.1: servers must support
/// it). `client_secret_post` only when it is advertised and Basic is not.
fn choose_client_auth(secret: SecretString, advertised: &[String]) -> ClientAuth {
    let has = |m: &str| advertised.iter().any(|a| a == m);
    if !has("client_secret_basic") && has("client_secret_post") {
        ClientAuth::Post(secret)
    } else {
        ClientAuth::Basic(secret)
    }
}

/// POST the client credentials grant; the provider's refusal is explained.
async fn request_token(
    client: &reqwest::Client,
    connector: &Connector,
    endpoint: &Endpoint,
    auth: &ClientAuth,
) -> Result<TokenSet, LoginError> {
    let url = &endpoint.token_endpoint;
    policy::require_https("the token endpoint", url)?;
    let scopes = connector.auth.scopes();
    let mut form: Vec<(String, SecretString)> =
        vec![("grant_type".into(), "client_credentials".into())];
    if !scopes.trim().is_empty() {
        form.push(("scope".into(), scopes.to_owned().into()));
    }
    for param in connector.auth.extra_params() {
        form.push((param.key.clone(), param.value.clone().into()));
    }
    let what = "the token endpoint";
    let request = auth.post_form(client, url, connector.auth.client_id(), form);
    let fetched = http::send(request, what, url, ErrorKind::TokenRequest).await?;
    if !fetched.status.is_success() {
        return Err(refusal(&fetched, url, connector));
    }
    let mut body = http::json_body(&fetched, what, url, ErrorKind::TokenRequest)?;
    let tokens = token_endpoint::token_set(&mut body, url)?;
    if tokens.refresh_token.is_some() {
        // RFC 6749 section 4.4.3: should not be issued; a new request is as cheap as a refresh.
        tracing::info!("the provider sent a refresh token with client credentials; not kept");
    }
    Ok(tokens)
}

/// An OAuth error from the token endpoint, in plain words with the fix.
fn refusal(fetched: &http::Fetched, url: &str, connector: &Connector) -> LoginError {
    let what = "the token endpoint";
    let parsed = http::json_body(fetched, what, url, ErrorKind::TokenRequest).ok();
    let text = |key: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(key))
            .and_then(Value::as_str)
    };
    let Some(error) = text("error") else {
        return http::status_error(fetched, what, url, ErrorKind::TokenRequest);
    };
    LoginError::new(
        ErrorKind::TokenRequest,
        format!(
            "the token endpoint refused the client credentials (HTTP {}): {}",
            fetched.status.as_u16(),
            error_with_description(error, text("error_description"))
        ),
    )
    .with_hint(refusal_hint(error, text("error_description"), connector))
}

fn refusal_hint(error: &str, description: Option<&str>, connector: &Connector) -> String {
    let name = &connector.name;
    match error {
        // Keycloak answers a wrong secret with unauthorized_client (RFC 6749 says
        // invalid_client); only its description tells it from Service Accounts being off.
        "unauthorized_client" if explain::is_client_credentials_failure(description) => {
            refusal_hint("invalid_client", None, connector)
        }
        "invalid_client" | "unauthorized" => {
            let fix = match connector.secret_source() {
                Some(SecretSource::Env(var)) => format!("the value of ${var}"),
                _ => format!("the stored one: ifs-connect edit {name} --client-secret-stdin"),
            };
            format!(
                "the client secret or the Client ID is wrong: check the Client ID \
                 (case-sensitive) and the secret ({fix}); IFS shows the secret on the IAM client"
            )
        }
        // Keycloak: "Public client not allowed to retrieve service account".
        "unauthorized_client"
            if description.is_some_and(|d| d.to_ascii_lowercase().contains("public client")) =>
        {
            "the IAM client is public, and only a confidential one has a service user: turn off \
             Public Client and turn on Service Accounts on the IAM client, then store its secret"
                .into()
        }
        "unauthorized_client" | "unsupported_grant_type" => {
            "the IAM client may not use the client credentials grant: turn on Service Accounts \
             on the IAM client (IFS: Identity and Access Manager > IAM Clients) and link it to an \
             IFS service user"
                .into()
        }
        "invalid_scope" => format!(
            "a scope in '{}' is not allowed for this IAM client: IFS documents openid \
             microprofile-jwt",
            connector.auth.scopes()
        ),
        "invalid_request" => {
            "the provider rejected the request: check the extra parameters and the Scopes".into()
        }
        "server_error" | "temporarily_unavailable" => {
            "the provider had a problem of its own: try again in a moment".into()
        }
        _ => "see the provider's message above".into(),
    }
}

/// The access token's claims when it is a JWT, for information: its signature is not checked
/// (the API checks it). With Validate Token Issuer Name, its `iss` must be the issuer
/// discovery names, since IFS refuses tokens from another issuer.
fn read_access_token(
    token: &SecretString,
    endpoint: &Endpoint,
    auth: &ClientCredentialsAuth,
) -> Result<(Claims, String), LoginError> {
    let Some(payload) = jwt_payload(token.expose_secret()) else {
        let claims = Claims {
            signature: Some(SignatureStatus::NotVerifiedAccessToken),
            ..Claims::default()
        };
        return Ok((
            claims,
            "opaque (not a JWT): only the API can read it".into(),
        ));
    };
    let claims = claims_of(&payload);
    if auth.validate_token_issuer_name
        && let Some(expected) = &endpoint.issuer
        && claims.iss.as_deref() != Some(expected.as_str())
    {
        return Err(issuer_mismatch(claims.iss.as_deref(), expected));
    }
    let who = claims
        .name
        .clone()
        .or_else(|| claims.sub.clone())
        .unwrap_or_else(|| "no subject".into());
    let detail = format!("JWT for {who}; claims read, signature not verified by ifs-connect");
    Ok((claims, detail))
}

fn issuer_mismatch(found: Option<&str>, expected: &str) -> LoginError {
    LoginError::new(
        ErrorKind::IssuerMismatch,
        format!(
            "the access token's issuer (iss) is '{}' but discovery names '{expected}'",
            found.map_or_else(|| "missing".to_owned(), |i| provider_text(i, 200))
        ),
    )
    .with_hint(
        "the API will likely refuse it: make the provider's public hostname (Keycloak's \
         frontend URL) the one in the Authority URL, or turn off Validate Token Issuer Name",
    )
}

/// The JSON payload of a compact JWS, or None for anything else (an opaque token).
fn jwt_payload(token: &str) -> Option<Value> {
    let mut parts = token.split('.');
    let (_header, payload, _signature) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    let value: Value = serde_json::from_slice(&bytes).ok()?;
    value.is_object().then_some(value)
}

/// The claims a person checking a service user wants to see. Keycloak names a service
/// account `service-account-<client id>` in `preferred_username`; `upn` comes with the
/// `microprofile-jwt` scope.
fn claims_of(payload: &Value) -> Claims {
    let text = |key: &str| {
        payload
            .get(key)
            .and_then(Value::as_str)
            .map(|v| provider_text(v, 200))
    };
    Claims {
        iss: text("iss"),
        sub: text("sub"),
        aud: id_token::audiences(payload),
        email: text("email"),
        name: text("preferred_username")
            .or_else(|| text("upn"))
            .or_else(|| text("client_id"))
            .or_else(|| text("clientId")),
        upn: text("upn"),
        signature: Some(SignatureStatus::NotVerifiedAccessToken),
        ..Claims::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn jwt(payload: &Value) -> String {
        let enc = |v: &Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
        };
        format!("{}.{}.c2ln", enc(&json!({"alg": "RS256"})), enc(payload))
    }

    fn endpoint(issuer: Option<&str>) -> Endpoint {
        Endpoint {
            token_endpoint: "https://idp.example.com/token".into(),
            issuer: issuer.map(str::to_owned),
            auth_methods: Vec::new(),
        }
    }

    #[test]
    fn a_jwt_access_token_is_read_and_marked_unverified() {
        let token = SecretString::from(jwt(&json!({
            "iss": "https://idp.example.com/realms/x",
            "sub": "1234",
            "aud": ["account", "ifs"],
            "preferred_username": "service-account-svc",
            "upn": "service-account-svc",
        })));
        let auth = ClientCredentialsAuth::default();
        let (claims, detail) = read_access_token(
            &token,
            &endpoint(Some("https://idp.example.com/realms/x")),
            &auth,
        )
        .unwrap();
        assert_eq!(claims.name.as_deref(), Some("service-account-svc"));
        assert_eq!(claims.upn.as_deref(), Some("service-account-svc"));
        assert_eq!(claims.aud, ["account", "ifs"]);
        assert_eq!(
            claims.signature,
            Some(SignatureStatus::NotVerifiedAccessToken)
        );
        assert!(detail.contains("not verified"), "{detail}");
    }

    #[test]
    fn the_issuer_rule_applies_only_when_on_and_known() {
        let token = SecretString::from(jwt(&json!({"iss": "https://other.example.com"})));
        let mut auth = ClientCredentialsAuth::default();
        let e = read_access_token(&token, &endpoint(Some("https://idp.example.com")), &auth)
            .unwrap_err();
        assert_eq!(e.kind, ErrorKind::IssuerMismatch);
        assert!(read_access_token(&token, &endpoint(None), &auth).is_ok());
        auth.validate_token_issuer_name = false;
        assert!(
            read_access_token(&token, &endpoint(Some("https://idp.example.com")), &auth).is_ok()
        );
    }

    #[test]
    fn an_opaque_token_is_not_a_jwt() {
        for opaque in ["abc", "a.b", "a.b.c.d", "a.!!!.c", "a.bm90IGpzb24.c"] {
            assert!(jwt_payload(opaque).is_none(), "{opaque}");
        }
        let (claims, detail) = read_access_token(
            &SecretString::from("opaque-token"),
            &endpoint(Some("x")),
            &ClientCredentialsAuth::default(),
        )
        .unwrap();
        assert!(claims.sub.is_none());
        assert!(detail.contains("opaque"));
    }

    #[test]
    fn basic_unless_only_post_is_advertised() {
        let s = || SecretString::from("s");
        let list = |m: &[&str]| m.iter().map(|m| m.to_string()).collect::<Vec<_>>();
        assert!(matches!(choose_client_auth(s(), &[]), ClientAuth::Basic(_)));
        assert!(matches!(
            choose_client_auth(s(), &list(&["client_secret_post"])),
            ClientAuth::Post(_)
        ));
        assert!(matches!(
            choose_client_auth(s(), &list(&["client_secret_post", "client_secret_basic"])),
            ClientAuth::Basic(_)
        ));
    }

    #[test]
    fn refusals_name_the_fix() {
        let c = Connector::new(
            "svc",
            Auth::ClientCredentials(ClientCredentialsAuth::default()),
        );
        assert!(refusal_hint("unauthorized_client", None, &c).contains("Service Accounts"));
        assert!(refusal_hint("invalid_client", None, &c).contains("--client-secret-stdin"));
        // Keycloak's words for a wrong secret, and for Service Accounts off.
        let wrong = Some("Invalid client or Invalid client credentials");
        let hint = refusal_hint("unauthorized_client", wrong, &c);
        assert!(hint.contains("secret"), "{hint}");
        assert!(!hint.contains("Service Accounts"), "{hint}");
        let off = Some("Client not enabled to retrieve service account");
        assert!(refusal_hint("unauthorized_client", off, &c).contains("Service Accounts"));
        let public = Some("Public client not allowed to retrieve service account");
        assert!(refusal_hint("unauthorized_client", public, &c).contains("turn off Public Client"));
        let mut env = c.clone();
        if let Auth::ClientCredentials(a) = &mut env.auth {
            a.client_secret_env = Some("SVC_SECRET".into());
        }
        assert!(refusal_hint("invalid_client", None, &env).contains("$SVC_SECRET"));
    }

    #[test]
    fn an_unset_variable_is_a_config_error_that_names_it() {
        let e = secrets_error(SecretsError::EnvUnset {
            var: "SVC_SECRET".into(),
        });
        assert_eq!(e.kind, ErrorKind::Config);
        assert!(e.message.contains("SVC_SECRET"));
        assert!(e.hint.unwrap().contains("export SVC_SECRET"));
    }
}
