//! OpenID Provider discovery and the three Validate options (NOTES.md section 2).

use serde::{Deserialize, Serialize};

use super::LoginError;
use crate::core::connector::OpenIdAuth;

/// The parts of a discovery document the engine uses; `raw` keeps the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: Option<String>,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub userinfo_endpoint: Option<String>,
    pub jwks_uri: Option<String>,
    pub revocation_endpoint: Option<String>,
    pub device_authorization_endpoint: Option<String>,
    pub pushed_authorization_request_endpoint: Option<String>,
    #[serde(default)]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
    #[serde(default)]
    pub code_challenge_methods_supported: Vec<String>,
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    #[serde(skip)]
    pub raw: serde_json::Value,
}

/// One line of the wizard's Check result: a Validate option (or the HTTPS rule) and
/// whether the provider passed it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckItem {
    pub label: &'static str,
    /// False when the user turned this option off; `ok` then says what it would have found.
    pub enabled: bool,
    pub ok: bool,
    pub detail: String,
}

/// The wizard's **Check**: fetch discovery and report each Validate option.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DiscoveryCheck {
    pub discovery_url: String,
    pub metadata: Option<ProviderMetadata>,
    pub items: Vec<CheckItem>,
    /// The first enabled check that failed, or the fetch error.
    pub error: Option<LoginError>,
}

/// Fetch discovery for an OpenId connector's authority and run every check, reporting
/// each one (enabled or not) instead of stopping at the first failure.
pub async fn check(http: &reqwest::Client, auth: &OpenIdAuth) -> DiscoveryCheck {
    let _ = (http, auth);
    todo!("discovery check (issue 3)")
}

/// Fetch a discovery document from a full URL, e.g. to fill an OAuth2 connector's
/// endpoints. Applies the HTTPS rule only.
pub async fn fetch(
    http: &reqwest::Client,
    discovery_url: &str,
) -> Result<ProviderMetadata, LoginError> {
    let _ = (http, discovery_url);
    todo!("discovery fetch (issue 3)")
}
