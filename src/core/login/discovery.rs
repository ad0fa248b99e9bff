//! OpenID Provider discovery and the three Validate options (NOTES.md section 2).

use serde::{Deserialize, Serialize};

use serde_json::Value;

use super::{ErrorKind, LoginError, http, policy};
use crate::core::connector::OpenIdAuth;
use crate::core::validate;

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
    let authority = auth.authority_url.trim_end_matches('/');
    let discovery_url = validate::discovery_url(authority);
    let document = match fetch_document(http, &discovery_url).await {
        Ok(document) => document,
        Err(error) => {
            return DiscoveryCheck {
                discovery_url,
                metadata: None,
                items: Vec::new(),
                error: Some(error),
            };
        }
    };
    let results = [
        (
            LABEL_HTTPS,
            true,
            https_everywhere(&discovery_url, &document),
        ),
        (
            LABEL_ISSUER,
            auth.validate_issuer_name,
            policy::issuer_matches(authority, document.get("issuer").and_then(Value::as_str)),
        ),
        (
            LABEL_ENDPOINTS,
            auth.validate_endpoints,
            policy::endpoints_within_authority(authority, &document),
        ),
        (LABEL_JWKS, true, jwks_uri_present(&document)),
    ];
    let error = results
        .iter()
        .find(|(_, enabled, result)| *enabled && result.is_err())
        .and_then(|(_, _, result)| result.clone().err());
    let items = results
        .into_iter()
        .map(|(label, enabled, result)| CheckItem {
            label,
            enabled,
            ok: result.is_ok(),
            detail: match result {
                Ok(()) => super::explain::terminal_text(&ok_detail(label, &document)),
                Err(e) => e.message,
            },
        })
        .collect();
    let (metadata, error) = match (error, metadata_from(document)) {
        (Some(error), metadata) => (metadata.ok(), Some(error)),
        (None, Ok(metadata)) => (Some(metadata), None),
        (None, Err(error)) => (None, Some(error)),
    };
    DiscoveryCheck {
        discovery_url,
        metadata,
        items,
        error,
    }
}

/// Fetch a discovery document from a full URL, e.g. to fill an OAuth2 connector's
/// endpoints. Applies the HTTPS rule only.
pub async fn fetch(
    http: &reqwest::Client,
    discovery_url: &str,
) -> Result<ProviderMetadata, LoginError> {
    let document = fetch_document(http, discovery_url).await?;
    https_everywhere(discovery_url, &document)?;
    metadata_from(document)
}

const LABEL_HTTPS: &str = "HTTPS";
const LABEL_ISSUER: &str = "Validate Issuer Name";
const LABEL_ENDPOINTS: &str = "Validate Endpoints";
const LABEL_JWKS: &str = "Signing keys (jwks_uri)";

/// GET the document after checking that its own URL obeys the HTTPS rule.
async fn fetch_document(http: &reqwest::Client, discovery_url: &str) -> Result<Value, LoginError> {
    policy::require_https("the discovery URL", discovery_url)?;
    let document = http::get_json(
        http,
        discovery_url,
        "the discovery document",
        ErrorKind::Discovery,
    )
    .await
    .map_err(|e| {
        if e.hint.is_some() {
            e
        } else {
            e.with_hint("check the Authority URL: its discovery document should be here")
        }
    })?;
    if document.is_object() {
        Ok(document)
    } else {
        Err(LoginError::new(
            ErrorKind::Discovery,
            format!("the discovery document at {discovery_url} is not a JSON object"),
        ))
    }
}

fn https_everywhere(discovery_url: &str, document: &Value) -> Result<(), LoginError> {
    policy::require_https("the discovery URL", discovery_url)?;
    policy::endpoints_use_https(document)
}

fn jwks_uri_present(document: &Value) -> Result<(), LoginError> {
    match document.get("jwks_uri").and_then(Value::as_str) {
        Some(uri) if !uri.is_empty() => Ok(()),
        _ => Err(LoginError::new(
            ErrorKind::Discovery,
            "the discovery document has no jwks_uri, so ID token signatures cannot be checked",
        )),
    }
}

fn ok_detail(label: &str, document: &Value) -> String {
    let text = |key: &str| document.get(key).and_then(Value::as_str).unwrap_or("");
    match label {
        LABEL_HTTPS => "every endpoint uses https (or a loopback host)".into(),
        LABEL_ISSUER => format!("issuer {}", text("issuer")),
        LABEL_ENDPOINTS => "every endpoint is below the Authority".into(),
        _ => text("jwks_uri").to_owned(),
    }
}

/// The typed view of a document; a field of the wrong type is a discovery error.
pub(crate) fn metadata_from(document: Value) -> Result<ProviderMetadata, LoginError> {
    refuse_control_characters(&document)?;
    let mut metadata: ProviderMetadata = serde_json::from_value(document.clone()).map_err(|e| {
        LoginError::new(
            ErrorKind::Discovery,
            format!("the discovery document is malformed ({e})"),
        )
    })?;
    metadata.raw = document;
    Ok(metadata)
}

/// The issuer and every endpoint are copied into forms, compared and printed: a value with a
/// control character (a terminal escape) is no URL any provider means, so it is refused here
/// rather than cleaned at each place it could reach a terminal.
fn refuse_control_characters(document: &Value) -> Result<(), LoginError> {
    let issuer = document
        .get("issuer")
        .and_then(Value::as_str)
        .map(|v| ("issuer".to_owned(), Some(v.to_owned())));
    let values = policy::endpoint_entries(document).into_iter().chain(issuer);
    for (key, value) in values {
        if value.is_some_and(|v| v.chars().any(char::is_control)) {
            return Err(LoginError::new(
                ErrorKind::Discovery,
                format!("the discovery document's {key} contains control characters"),
            )
            .with_hint("the provider sent a malformed document: report it to its administrator"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keycloak_document_reads_into_metadata() {
        let text = include_str!("../../../tests/fixtures/keycloak-discovery.json");
        let m = metadata_from(serde_json::from_str(text).unwrap()).unwrap();
        assert_eq!(
            m.issuer.as_deref(),
            Some("http://localhost:8080/auth/realms/master")
        );
        assert!(
            m.id_token_signing_alg_values_supported
                .contains(&"RS256".to_owned())
        );
        assert!(!m.authorization_response_iss_parameter_supported);
        assert_eq!(m.raw["claims_parameter_supported"], true);
    }

    #[test]
    fn values_with_terminal_escapes_are_refused() {
        for key in ["issuer", "token_endpoint", "jwks_uri"] {
            let doc = serde_json::json!({ key: "https://idp/x\u{1b}]52;c;SGk=\u{7}" });
            let e = metadata_from(doc).unwrap_err();
            assert!(e.message.contains(key), "{}", e.message);
            assert!(!e.message.chars().any(char::is_control));
        }
    }

    #[test]
    fn a_field_of_the_wrong_type_is_a_discovery_error() {
        let e = metadata_from(serde_json::json!({"issuer": 5})).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Discovery);
    }
}
