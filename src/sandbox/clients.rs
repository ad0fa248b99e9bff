//! The realm's two IAM clients, Keycloak's redirect-URI rule, and client authentication at
//! the token, PAR and revocation endpoints.

use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use secrecy::{ExposeSecret, SecretString};

use super::oauth::{FormParams, OAuthError};
use super::state::same_secret;

/// "OpenId Authentication" in IFS: a public client, PKCE required.
pub const PUBLIC_CLIENT_ID: &str = "ifs-connect-public";
/// "OAuth2 Authorization Code Flow" with a secret: a confidential client, PKCE optional.
pub const CONFIDENTIAL_CLIENT_ID: &str = "ifs-connect-confidential";
/// "OAuth2 Client Credentials": a confidential client with Service Accounts on, linked to an
/// IFS service user.
pub const SERVICE_CLIENT_ID: &str = "ifs-connect-service";
/// A public client registered for a web app elsewhere: a native login with it fails the way
/// an unregistered redirect URI fails on IFS Cloud ("Invalid parameter: redirect_uri").
pub const OTHER_REDIRECT_CLIENT_ID: &str = "ifs-connect-other-redirect";
pub const OTHER_REDIRECT_URI: &str = "https://flow.example.com/callback";
/// What an IFS IAM client for a native app registers: no port, so any loopback port works.
pub const REGISTERED_REDIRECT_URIS: [&str; 2] =
    ["http://127.0.0.1/callback", "http://localhost/callback"];

pub struct Client {
    pub id: &'static str,
    secret: Option<SecretString>,
    pub redirect_uris: Vec<String>,
    /// Keycloak's "Service Accounts Enabled": may use the client credentials grant.
    pub service_account: bool,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret.is_none()
    }

    /// Keycloak's "PKCE Method: S256" client setting, which IFS sets on public clients.
    pub fn requires_pkce(&self) -> bool {
        self.is_public()
    }

    pub fn allows_redirect_uri(&self, requested: &str) -> bool {
        redirect_uri_matches(&self.redirect_uris, requested)
    }
}

pub struct Clients(Vec<Client>);

impl Clients {
    /// The public client, the confidential one and the service user's, the last two with
    /// `secret`.
    pub fn sandbox(secret: SecretString) -> Self {
        let uris = || REGISTERED_REDIRECT_URIS.map(String::from).to_vec();
        Self(vec![
            Client {
                id: PUBLIC_CLIENT_ID,
                secret: None,
                redirect_uris: uris(),
                service_account: false,
            },
            Client {
                id: CONFIDENTIAL_CLIENT_ID,
                secret: Some(secret.clone()),
                redirect_uris: uris(),
                service_account: false,
            },
            Client {
                id: SERVICE_CLIENT_ID,
                secret: Some(secret),
                redirect_uris: Vec::new(),
                service_account: true,
            },
            Client {
                id: OTHER_REDIRECT_CLIENT_ID,
                secret: None,
                redirect_uris: vec![OTHER_REDIRECT_URI.to_owned()],
                service_account: false,
            },
        ])
    }

    /// Client IDs are case-sensitive, as in Keycloak.
    pub fn get(&self, id: &str) -> Option<&Client> {
        self.0.iter().find(|c| c.id == id)
    }
}

/// Keycloak's rule (RedirectUtils): an exact match; else, for a request URI that starts with
/// `http://localhost` or `http://127.0.0.1`, the same URI without its port must match exactly.
/// `[::1]` gets no such treatment, and a URI registered with a port admits only that port.
///
/// Keycloak strips the port by string surgery, which `http://127.0.0.1:1@evil.com/callback`
/// fools; here the URI is parsed, and only a plain loopback host (no user info, no fragment)
/// gets the port-free comparison.
pub fn redirect_uri_matches(registered: &[String], requested: &str) -> bool {
    if registered.iter().any(|r| r == requested) {
        return true;
    }
    match loopback_without_port(requested) {
        Some(portless) => registered.contains(&portless),
        None => false,
    }
}

fn loopback_without_port(requested: &str) -> Option<String> {
    if !(requested.starts_with("http://127.0.0.1") || requested.starts_with("http://localhost")) {
        return None;
    }
    let mut url = url::Url::parse(requested).ok()?;
    let plain_loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost"))
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none();
    if !plain_loopback {
        return None;
    }
    url.set_port(None).ok()?;
    Some(url.to_string())
}

/// How a client identified itself in a back-channel request.
#[derive(Debug)]
enum Presented {
    /// `Authorization: Basic` (RFC 6749 section 2.3.1).
    Basic { id: String, secret: SecretString },
    /// `client_secret` in the form.
    Post { id: String, secret: SecretString },
    /// Only `client_id`: a public client.
    IdOnly { id: String },
}

/// Authenticate the client of a token, PAR or revocation request.
pub fn authenticate<'a>(
    clients: &'a Clients,
    headers: &HeaderMap,
    form: &FormParams,
) -> Result<&'a Client, OAuthError> {
    let presented = presented(headers, form)?;
    let (id, secret) = match &presented {
        Presented::Basic { id, secret } | Presented::Post { id, secret } => (id, Some(secret)),
        Presented::IdOnly { id } => (id, None),
    };
    let client = clients.get(id).ok_or_else(|| {
        OAuthError::invalid_client(format!(
            "Invalid client: '{id}' is not a client of this realm"
        ))
    })?;
    match (&client.secret, secret) {
        (Some(real), Some(given)) if same_secret(given.expose_secret(), real.expose_secret()) => {
            Ok(client)
        }
        (Some(_), Some(_)) => Err(OAuthError::invalid_client(
            "Invalid client or Invalid client credentials",
        )),
        (Some(_), None) => Err(OAuthError::invalid_client(
            "Invalid client credentials: this is a confidential client and no client secret was sent",
        )),
        (None, given) => {
            if given.is_some() {
                // Keycloak ignores it too; say so in the log, since the engine should not send one.
                tracing::warn!(
                    client = %client.id,
                    "a public client sent a client secret; ignored"
                );
            }
            Ok(client)
        }
    }
}

fn presented(headers: &HeaderMap, form: &FormParams) -> Result<Presented, OAuthError> {
    let form_id = form.get("client_id");
    let form_secret = form.get("client_secret");
    let Some(header) = headers.get(AUTHORIZATION) else {
        let id = form_id
            .ok_or_else(|| OAuthError::invalid_client("Missing parameter: client_id"))?
            .to_owned();
        return Ok(match form_secret {
            Some(secret) => Presented::Post {
                id,
                secret: SecretString::from(secret.to_owned()),
            },
            None => Presented::IdOnly { id },
        });
    };
    if form_secret.is_some() {
        return Err(OAuthError::invalid_request(
            "client authentication used both the Authorization header and client_secret; use one \
             (RFC 6749 section 2.3)",
        ));
    }
    let (id, secret) = basic_credentials(header.to_str().unwrap_or("")).ok_or_else(|| {
        OAuthError::invalid_client("the Authorization header is not valid Basic credentials")
    })?;
    if form_id.is_some_and(|f| f != id) {
        return Err(OAuthError::invalid_request(
            "client_id in the form differs from the one in the Authorization header",
        ));
    }
    Ok(Presented::Basic { id, secret })
}

/// `Basic base64(urlencode(id):urlencode(secret))`: each part is form-urlencoded before
/// joining (RFC 6749 section 2.3.1), so a `:` or `%` in a secret survives.
fn basic_credentials(header: &str) -> Option<(String, SecretString)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = zeroize::Zeroizing::new(STANDARD.decode(encoded.trim()).ok()?);
    let joined = std::str::from_utf8(&decoded).ok()?;
    let (id, secret) = joined.split_once(':')?;
    let id = form_decode(id)?;
    let secret = SecretString::from(form_decode(secret)?);
    (!id.is_empty()).then_some((id, secret))
}

fn form_decode(part: &str) -> Option<String> {
    let wrapped = format!("x={part}");
    url::form_urlencoded::parse(wrapped.as_bytes())
        .next()
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered() -> Vec<String> {
        REGISTERED_REDIRECT_URIS.map(String::from).to_vec()
    }

    #[test]
    fn any_loopback_port_matches_a_portless_registration() {
        let r = registered();
        for uri in [
            "http://127.0.0.1/callback",
            "http://127.0.0.1:1/callback",
            "http://127.0.0.1:54321/callback",
            "http://localhost:8080/callback",
        ] {
            assert!(redirect_uri_matches(&r, uri), "{uri}");
        }
    }

    #[test]
    fn other_hosts_paths_schemes_and_tricks_do_not() {
        let r = registered();
        for uri in [
            "http://evil.example.com/callback",
            "http://127.0.0.2:5000/callback",
            "http://[::1]:5000/callback",
            "https://127.0.0.1:5000/callback",
            "http://127.0.0.1:5000/callback/",
            "http://127.0.0.1:5000/other",
            "http://127.0.0.1:5000/callback?x=1",
            "http://127.0.0.1:5000/callback#x",
            "http://127.0.0.1:5000@evil.com/callback",
            "http://127.0.0.1.evil.com:5000/callback",
            "http://localhost.evil.com:5000/callback",
            "HTTP://127.0.0.1:5000/callback",
            "",
        ] {
            assert!(!redirect_uri_matches(&r, uri), "{uri}");
        }
    }

    #[test]
    fn a_registration_with_a_port_admits_only_that_port() {
        let r = vec!["http://127.0.0.1:8400/callback".to_owned()];
        assert!(redirect_uri_matches(&r, "http://127.0.0.1:8400/callback"));
        assert!(!redirect_uri_matches(&r, "http://127.0.0.1:8401/callback"));
        assert!(!redirect_uri_matches(&r, "http://127.0.0.1/callback"));
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!("Basic {}", STANDARD.encode("my%20client:a%3Ab%25"));
        let (id, secret) = basic_credentials(&header).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(secret.expose_secret(), "a:b%");
        assert!(basic_credentials("Bearer xyz").is_none());
        assert!(basic_credentials("Basic !!!").is_none());
    }

    fn form(pairs: &[(&str, &str)]) -> FormParams {
        let text = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish();
        FormParams::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn client_authentication() {
        let clients = Clients::sandbox(SecretString::from("s3cret"));
        let none = HeaderMap::new();
        let ok =
            |h: &HeaderMap, f: &[(&str, &str)]| authenticate(&clients, h, &form(f)).map(|c| c.id);
        assert_eq!(
            ok(&none, &[("client_id", PUBLIC_CLIENT_ID)]).unwrap(),
            PUBLIC_CLIENT_ID
        );
        let post = [
            ("client_id", CONFIDENTIAL_CLIENT_ID),
            ("client_secret", "s3cret"),
        ];
        assert_eq!(ok(&none, &post).unwrap(), CONFIDENTIAL_CLIENT_ID);
        let mut basic = HeaderMap::new();
        let value = format!(
            "Basic {}",
            STANDARD.encode(format!("{CONFIDENTIAL_CLIENT_ID}:s3cret"))
        );
        basic.insert(AUTHORIZATION, value.parse().unwrap());
        assert_eq!(ok(&basic, &[]).unwrap(), CONFIDENTIAL_CLIENT_ID);
        for (headers, f) in [
            (
                &none,
                vec![
                    ("client_id", CONFIDENTIAL_CLIENT_ID),
                    ("client_secret", "wrong"),
                ],
            ),
            (&none, vec![("client_id", CONFIDENTIAL_CLIENT_ID)]),
            (&none, vec![("client_id", "IFS-CONNECT-PUBLIC")]),
            (&none, vec![]),
        ] {
            let e = ok(headers, &f).unwrap_err();
            assert_eq!(e.code(), "invalid_client", "{f:?}");
            assert_eq!(e.status().as_u16(), 401);
        }
        let both = ok(&basic, &[("client_secret", "s3cret")]).unwrap_err();
        assert_eq!(both.code(), "invalid_request");
    }
}
