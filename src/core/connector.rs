//! The connector model: what the "Configure REST Connector for IFS Cloud" page holds.
//!
//! Secrets are never part of this model. A connector only records *that* a client
//! secret exists in the keyring (`has_client_secret`), so the config file can be
//! shared, diffed and backed up without leaking anything.

use serde::{Deserialize, Serialize};

/// The redirect URI an IFS IAM client registers. Without a port it means
/// "any free port on 127.0.0.1" (RFC 8252 section 7.3, honoured by Keycloak).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const DEFAULT_SCOPES: &str = "openid";
pub const DEFAULT_AGENT_GROUP: &str = "default";
/// IFS Cloud's "who am I" call; a 404 usually means the Base URL is wrong.
pub const DEFAULT_PROBE_PATH: &str =
    "main/ifsapplications/projection/v1/FrameworkServices.svc/GetCurrentUserInformation()";

/// A stable identifier that survives renames, so keyring entries are never orphaned.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(transparent)]
pub struct ConnectorId(String);

impl ConnectorId {
    /// 128 random bits from the OS CSPRNG, hex encoded.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes).expect("the OS random number generator is unavailable");
        Self(bytes.iter().map(|b| format!("{b:02x}")).collect())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for ConnectorId {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl std::fmt::Display for ConnectorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Connector {
    pub id: ConnectorId,
    pub name: String,
    pub agent_group: String,
    pub base_url: String,
    #[serde(default = "default_redirect_uri")]
    pub redirect_uri: String,
    /// Path below the Base URL that a test login calls with the access token; empty skips it.
    #[serde(default = "default_probe_path")]
    pub probe_path: String,
    pub auth: Auth,
    /// The outcome of the last test login, shown on the list screen. Never holds a secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_test: Option<LastTest>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Auth {
    /// "OpenId Authentication": endpoints come from the authority's discovery document.
    #[serde(rename = "openid")]
    OpenId(OpenIdAuth),
    /// "OAuth2-Authorization Code Flow": endpoints are entered by hand.
    #[serde(rename = "oauth2")]
    OAuth2(OAuth2Auth),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    #[serde(rename = "openid")]
    OpenId,
    #[serde(rename = "oauth2")]
    OAuth2,
}

impl AuthKind {
    pub fn label(self) -> &'static str {
        match self {
            AuthKind::OpenId => "OpenId Authentication",
            AuthKind::OAuth2 => "OAuth2 Authorization Code Flow",
        }
    }

    pub fn short(self) -> &'static str {
        match self {
            AuthKind::OpenId => "openid",
            AuthKind::OAuth2 => "oauth2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenIdAuth {
    #[serde(default)]
    pub display_name: String,
    /// Normalised: no trailing `/`, no `.well-known/openid-configuration`.
    pub authority_url: String,
    pub client_id: String,
    #[serde(default = "default_scopes")]
    pub scopes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_params: Vec<Param>,
    #[serde(default = "yes")]
    pub validate_endpoints: bool,
    #[serde(default = "yes")]
    pub validate_issuer_name: bool,
    #[serde(default = "yes")]
    pub validate_token_issuer_name: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_user_email: Option<String>,
    /// Use pushed authorization requests (RFC 9126) when discovery advertises them.
    #[serde(default = "yes")]
    pub use_par: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2Auth {
    #[serde(default)]
    pub display_name: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub client_id: String,
    /// True when a client secret for this connector is stored in the keyring.
    #[serde(default)]
    pub has_client_secret: bool,
    #[serde(default = "default_scopes")]
    pub scopes: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_params: Vec<Param>,
    #[serde(default = "yes")]
    pub pkce: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefill_user_email: Option<String>,
    /// Issuer, when the endpoints were filled from a discovery document; lets the
    /// login verify the ID token's signature against that issuer's JWKS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
}

/// One extra query parameter for the authorization request, kept in the user's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub key: String,
    pub value: String,
}

impl Param {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LastTest {
    pub ok: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub at: time::OffsetDateTime,
    /// One line: "signed in as alice@example.com" or the error's plain explanation.
    pub summary: String,
    /// Who the API probe said the user is in IFS, e.g. "ALICE (Alice Smith, alice@example.com)".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifs_user: Option<String>,
}

impl Connector {
    /// A new connector with the seed page's defaults and a fresh id.
    pub fn new(name: impl Into<String>, auth: Auth) -> Self {
        Self {
            id: ConnectorId::generate(),
            name: name.into(),
            agent_group: DEFAULT_AGENT_GROUP.to_owned(),
            base_url: String::new(),
            redirect_uri: default_redirect_uri(),
            probe_path: default_probe_path(),
            auth,
            last_test: None,
        }
    }

    pub fn auth_kind(&self) -> AuthKind {
        self.auth.kind()
    }

    /// Whether the config says a client secret lives in the keyring for this connector.
    pub fn has_client_secret(&self) -> bool {
        matches!(&self.auth, Auth::OAuth2(a) if a.has_client_secret)
    }
}

impl Auth {
    pub fn kind(&self) -> AuthKind {
        match self {
            Auth::OpenId(_) => AuthKind::OpenId,
            Auth::OAuth2(_) => AuthKind::OAuth2,
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            Auth::OpenId(a) => &a.display_name,
            Auth::OAuth2(a) => &a.display_name,
        }
    }

    pub fn client_id(&self) -> &str {
        match self {
            Auth::OpenId(a) => &a.client_id,
            Auth::OAuth2(a) => &a.client_id,
        }
    }

    pub fn scopes(&self) -> &str {
        match self {
            Auth::OpenId(a) => &a.scopes,
            Auth::OAuth2(a) => &a.scopes,
        }
    }

    pub fn extra_params(&self) -> &[Param] {
        match self {
            Auth::OpenId(a) => &a.extra_params,
            Auth::OAuth2(a) => &a.extra_params,
        }
    }

    pub fn prefill_user_email(&self) -> Option<&str> {
        match self {
            Auth::OpenId(a) => a.prefill_user_email.as_deref(),
            Auth::OAuth2(a) => a.prefill_user_email.as_deref(),
        }
    }

    /// PKCE is always on for OpenId Authentication; an option for OAuth2.
    pub fn uses_pkce(&self) -> bool {
        match self {
            Auth::OpenId(_) => true,
            Auth::OAuth2(a) => a.pkce,
        }
    }
}

impl Default for OpenIdAuth {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            authority_url: String::new(),
            client_id: String::new(),
            scopes: default_scopes(),
            extra_params: Vec::new(),
            validate_endpoints: true,
            validate_issuer_name: true,
            validate_token_issuer_name: true,
            prefill_user_email: None,
            use_par: true,
        }
    }
}

impl Default for OAuth2Auth {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            authorization_endpoint: String::new(),
            token_endpoint: String::new(),
            client_id: String::new(),
            has_client_secret: false,
            scopes: default_scopes(),
            extra_params: Vec::new(),
            pkce: true,
            prefill_user_email: None,
            issuer: None,
        }
    }
}

fn default_redirect_uri() -> String {
    DEFAULT_REDIRECT_URI.to_owned()
}

fn default_probe_path() -> String {
    DEFAULT_PROBE_PATH.to_owned()
}

fn default_scopes() -> String {
    DEFAULT_SCOPES.to_owned()
}

fn yes() -> bool {
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_hex() {
        let a = ConnectorId::generate();
        let b = ConnectorId::generate();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 32);
        assert!(a.as_str().chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn minimal_toml_gets_the_seed_defaults() {
        let text = r#"
            id = "abc"
            name = "prod"
            agent_group = "default"
            base_url = "https://ifs.example.com"
            [auth]
            type = "openid"
            authority_url = "https://ifs.example.com/auth/realms/prod"
            client_id = "flow"
        "#;
        let c: Connector = toml::from_str(text).unwrap();
        let Auth::OpenId(a) = &c.auth else {
            panic!("expected openid")
        };
        assert_eq!(a.scopes, "openid");
        assert!(a.validate_endpoints && a.validate_issuer_name && a.validate_token_issuer_name);
        assert_eq!(c.redirect_uri, DEFAULT_REDIRECT_URI);
        assert_eq!(c.probe_path, DEFAULT_PROBE_PATH);
    }

    #[test]
    fn unknown_fields_are_rejected_rather_than_dropped_on_save() {
        let text = r#"
            id = "abc"
            name = "prod"
            agent_group = "default"
            base_url = "https://ifs.example.com"
            client_secret = "oops"
            [auth]
            type = "openid"
            authority_url = "https://ifs.example.com/auth/realms/prod"
            client_id = "flow"
        "#;
        assert!(toml::from_str::<Connector>(text).is_err());
    }
}
