//! The connector model: what the "Configure REST Connector for IFS Cloud" page holds.
//!
//! Secrets are never part of this model. A connector only records *that* a client
//! secret exists in the keyring (`has_client_secret`), or the *name* of the environment
//! variable that holds it (`client_secret_env`), so the config file can be shared, diffed
//! and backed up without leaking anything.

use serde::{Deserialize, Serialize};

/// The redirect URI an IFS IAM client registers. Without a port it means
/// "any free port on 127.0.0.1" (RFC 8252 section 7.3, honoured by Keycloak).
pub const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1/callback";
pub const DEFAULT_SCOPES: &str = "openid";
/// What IFS documents for a service user (client credentials): `microprofile-jwt` adds `upn`.
pub const DEFAULT_SERVICE_SCOPES: &str = "openid microprofile-jwt";
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
    /// A PEM file of CA certificates trusted for this connector's HTTPS calls, besides the
    /// OS store and `SSL_CERT_FILE`/`SSL_CERT_DIR`: for a private CA or a TLS-inspecting
    /// proxy. An absolute path; the file itself stays where it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
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
    /// "OAuth2 Client Credentials": a service user, no person and no browser involved.
    #[serde(rename = "client_credentials")]
    ClientCredentials(ClientCredentialsAuth),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    #[serde(rename = "openid")]
    OpenId,
    #[serde(rename = "oauth2")]
    OAuth2,
    #[serde(rename = "client_credentials")]
    ClientCredentials,
}

impl AuthKind {
    pub fn label(self) -> &'static str {
        match self {
            AuthKind::OpenId => "OpenId Authentication",
            AuthKind::OAuth2 => "OAuth2 Authorization Code Flow",
            AuthKind::ClientCredentials => "OAuth2 Client Credentials (service user)",
        }
    }

    /// The list column and the `--auth` value.
    pub fn short(self) -> &'static str {
        match self {
            AuthKind::OpenId => "openid",
            AuthKind::OAuth2 => "oauth2",
            AuthKind::ClientCredentials => "client-credentials",
        }
    }

    /// Whether a person signs in (in a browser or on another device) to get tokens.
    pub fn is_interactive(self) -> bool {
        !matches!(self, AuthKind::ClientCredentials)
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
    /// The environment variable that holds the client secret (its name only), instead of the
    /// keyring. Login and token then never touch the keyring.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
}

/// OAuth2 client credentials grant (RFC 6749 section 4.4) for an IFS service user: a
/// confidential IAM client with Service Accounts on. The token endpoint is given, or
/// discovered from the authority with the OpenId Validate options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientCredentialsAuth {
    #[serde(default)]
    pub display_name: String,
    /// The token endpoint, when it is given by hand (then there is no discovery).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_endpoint: Option<String>,
    /// Normalised like OpenId's; the token endpoint comes from its discovery document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority_url: Option<String>,
    pub client_id: String,
    /// True when the client secret is stored in the keyring.
    #[serde(default)]
    pub has_client_secret: bool,
    /// The environment variable that holds the client secret (its name only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret_env: Option<String>,
    #[serde(default = "default_service_scopes")]
    pub scopes: String,
    /// Extra parameters of the token request (e.g. `audience=...`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_params: Vec<Param>,
    #[serde(default = "yes")]
    pub validate_endpoints: bool,
    #[serde(default = "yes")]
    pub validate_issuer_name: bool,
    /// Compares a JWT access token's `iss` with the discovery issuer.
    #[serde(default = "yes")]
    pub validate_token_issuer_name: bool,
}

/// Where a connector's client secret comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretSource<'a> {
    Keyring,
    /// The named environment variable; the keyring is never used.
    Env(&'a str),
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
            ca_file: None,
            last_test: None,
        }
    }

    pub fn auth_kind(&self) -> AuthKind {
        self.auth.kind()
    }

    /// Whether the config says a client secret lives in the keyring for this connector.
    pub fn has_client_secret(&self) -> bool {
        match &self.auth {
            Auth::OpenId(_) => false,
            Auth::OAuth2(a) => a.has_client_secret,
            Auth::ClientCredentials(a) => a.has_client_secret,
        }
    }

    /// The environment variable named for the client secret, if any.
    pub fn client_secret_env(&self) -> Option<&str> {
        match &self.auth {
            Auth::OpenId(_) => None,
            Auth::OAuth2(a) => a.client_secret_env.as_deref(),
            Auth::ClientCredentials(a) => a.client_secret_env.as_deref(),
        }
    }

    /// Where the client secret comes from; None for a public client. A named variable wins
    /// over the keyring (the config never names both; see `validate`).
    pub fn secret_source(&self) -> Option<SecretSource<'_>> {
        match self.client_secret_env() {
            Some(var) => Some(SecretSource::Env(var)),
            None if self.has_client_secret() => Some(SecretSource::Keyring),
            None => None,
        }
    }
}

impl Auth {
    pub fn kind(&self) -> AuthKind {
        match self {
            Auth::OpenId(_) => AuthKind::OpenId,
            Auth::OAuth2(_) => AuthKind::OAuth2,
            Auth::ClientCredentials(_) => AuthKind::ClientCredentials,
        }
    }

    pub fn display_name(&self) -> &str {
        match self {
            Auth::OpenId(a) => &a.display_name,
            Auth::OAuth2(a) => &a.display_name,
            Auth::ClientCredentials(a) => &a.display_name,
        }
    }

    pub fn client_id(&self) -> &str {
        match self {
            Auth::OpenId(a) => &a.client_id,
            Auth::OAuth2(a) => &a.client_id,
            Auth::ClientCredentials(a) => &a.client_id,
        }
    }

    pub fn scopes(&self) -> &str {
        match self {
            Auth::OpenId(a) => &a.scopes,
            Auth::OAuth2(a) => &a.scopes,
            Auth::ClientCredentials(a) => &a.scopes,
        }
    }

    pub fn extra_params(&self) -> &[Param] {
        match self {
            Auth::OpenId(a) => &a.extra_params,
            Auth::OAuth2(a) => &a.extra_params,
            Auth::ClientCredentials(a) => &a.extra_params,
        }
    }

    /// No person signs in with client credentials, so there is no one to prefill.
    pub fn prefill_user_email(&self) -> Option<&str> {
        match self {
            Auth::OpenId(a) => a.prefill_user_email.as_deref(),
            Auth::OAuth2(a) => a.prefill_user_email.as_deref(),
            Auth::ClientCredentials(_) => None,
        }
    }

    /// PKCE is always on for OpenId Authentication; an option for OAuth2; meaningless without
    /// an authorization code.
    pub fn uses_pkce(&self) -> bool {
        match self {
            Auth::OpenId(_) => true,
            Auth::OAuth2(a) => a.pkce,
            Auth::ClientCredentials(_) => false,
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
            client_secret_env: None,
        }
    }
}

impl Default for ClientCredentialsAuth {
    fn default() -> Self {
        Self {
            display_name: String::new(),
            token_endpoint: None,
            authority_url: None,
            client_id: String::new(),
            has_client_secret: false,
            client_secret_env: None,
            scopes: default_service_scopes(),
            extra_params: Vec::new(),
            validate_endpoints: true,
            validate_issuer_name: true,
            validate_token_issuer_name: true,
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

fn default_service_scopes() -> String {
    DEFAULT_SERVICE_SCOPES.to_owned()
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
    fn a_service_user_connector_round_trips_with_its_defaults() {
        let text = r#"
            id = "abc"
            name = "batch"
            agent_group = "default"
            base_url = "https://ifs.example.com"
            [auth]
            type = "client_credentials"
            authority_url = "https://ifs.example.com/auth/realms/prod"
            client_id = "svc"
            client_secret_env = "IFS_SECRET"
        "#;
        let c: Connector = toml::from_str(text).unwrap();
        let Auth::ClientCredentials(a) = &c.auth else {
            panic!("expected client_credentials")
        };
        assert_eq!(a.scopes, DEFAULT_SERVICE_SCOPES);
        assert!(a.validate_endpoints && a.validate_issuer_name && a.validate_token_issuer_name);
        assert_eq!(c.secret_source(), Some(SecretSource::Env("IFS_SECRET")));
        assert!(!c.has_client_secret());
        assert_eq!(c.auth_kind().short(), "client-credentials");
        assert!(!c.auth_kind().is_interactive());
        let back: Connector = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
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
