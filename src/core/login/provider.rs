//! Where a connector's endpoints and rules come from: discovery (with the three Validate
//! options) for OpenId and for an OAuth2 connector with an issuer, else the connector's own
//! settings. A leaf: the browser flow, the device flow, the refresh and the revocation all stand
//! on it, so each follows exactly the test login's rules.

use serde_json::Value;

use super::discovery::{self, ProviderMetadata};
use super::http;
use super::policy;
use super::{ErrorKind, LoginError};
use crate::core::connector::{Auth, Connector};
use crate::core::validate;

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

/// An OAuth2 connector without an issuer has all its endpoints in its own settings.
pub(super) fn needs_discovery(connector: &Connector) -> bool {
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

pub(super) fn openid_provider(
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
pub(super) fn string_list(raw: &Value, key: &str) -> Vec<String> {
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

pub(super) fn discovery_detail(provider: &Provider, discovery_url: &str) -> String {
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
