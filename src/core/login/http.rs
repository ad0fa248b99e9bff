//! HTTP calls to the provider and the API: every call has a timeout, a size limit and an error
//! that names the endpoint (timeouts, refused connections, HTML where JSON was expected).
//! Bodies that may hold tokens are zeroized when dropped.

use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use zeroize::Zeroizing;

use super::explain::provider_text;
use super::proxy::{self, ProxyRules};
use super::trust;
use super::{ErrorKind, LoginError, LoginOptions};

/// Discovery documents, JWKS and token responses are small; anything bigger is not one.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// The HTTP client every call of one connector uses: request timeout from the options, no
/// redirects (a token request must never be replayed to another URL, and discovery must not
/// slip from https to http), the trust of [`trust::client_config`] (OS store, SSL_CERT_FILE,
/// SSL_CERT_DIR, the connector's CA file) and the proxies of [`ProxyRules`].
pub fn client(
    options: &LoginOptions,
    ca_file: Option<&str>,
) -> Result<reqwest::Client, LoginError> {
    let tls = trust::client_config(ca_file)?;
    let rules = ProxyRules::from_env();
    let proxy = reqwest::Proxy::custom(move |url| rules.proxy_for(url).map(proxy::with_scheme));
    reqwest::Client::builder()
        .timeout(options.http_timeout)
        .connect_timeout(options.http_timeout.min(Duration::from_secs(15)))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("ifs-connect/", env!("CARGO_PKG_VERSION")))
        .use_preconfigured_tls(tls)
        .proxy(proxy)
        .build()
        .map_err(|e| {
            LoginError::new(
                ErrorKind::Config,
                format!("could not set up HTTPS ({})", root_cause(&e)),
            )
        })
}

/// How the client proves who it is at the token and PAR endpoints.
pub enum ClientAuth {
    /// A public client: only `client_id` in the form.
    None,
    /// RFC 6749 section 2.3.1, preferred: the secret goes in a header that is marked sensitive.
    Basic(SecretString),
    /// The secret goes in the form body.
    Post(SecretString),
}

impl ClientAuth {
    /// `client_secret_basic`, `client_secret_post` or "public client", for step details.
    pub fn method_name(&self) -> &'static str {
        match self {
            ClientAuth::None => "public client",
            ClientAuth::Basic(_) => "client_secret_basic",
            ClientAuth::Post(_) => "client_secret_post",
        }
    }

    pub fn has_secret(&self) -> bool {
        !matches!(self, ClientAuth::None)
    }

    /// POST `form` to `url` with this client authentication.
    pub fn post_form(
        &self,
        http: &reqwest::Client,
        url: &str,
        client_id: &str,
        mut form: Vec<(String, SecretString)>,
    ) -> reqwest::RequestBuilder {
        let mut request = http.post(url).header(ACCEPT, "application/json");
        match self {
            ClientAuth::None => form.push(("client_id".into(), client_id.to_owned().into())),
            ClientAuth::Post(secret) => {
                form.push(("client_id".into(), client_id.to_owned().into()));
                form.push(("client_secret".into(), secret.clone()));
            }
            ClientAuth::Basic(secret) => {
                request = request.header(AUTHORIZATION, basic_header(client_id, secret));
            }
        }
        let body = Zeroizing::new(encode_form(&form));
        request
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.as_bytes().to_vec())
    }
}

/// Basic credentials: client id and secret each form-urlencoded first (RFC 6749 section 2.3.1).
fn basic_header(client_id: &str, secret: &SecretString) -> HeaderValue {
    use base64::Engine;
    let user: String = url::form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
    let password = Zeroizing::new(
        url::form_urlencoded::byte_serialize(secret.expose_secret().as_bytes()).collect::<String>(),
    );
    let joined = Zeroizing::new(format!("{user}:{}", password.as_str()));
    let encoded =
        Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(joined.as_bytes()));
    let mut value = HeaderValue::from_str(&format!("Basic {}", encoded.as_str()))
        .expect("base64 is a valid header value");
    value.set_sensitive(true);
    value
}

fn encode_form(form: &[(String, SecretString)]) -> String {
    let mut serializer = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in form {
        serializer.append_pair(key, value.expose_secret());
    }
    serializer.finish()
}

/// A finished response: status, content type and the body (zeroized on drop).
pub struct Fetched {
    pub status: reqwest::StatusCode,
    pub content_type: String,
    pub location: Option<String>,
    pub body: Zeroizing<Vec<u8>>,
}

/// Send `request` and read at most [`BODY_LIMIT`] bytes. `what` names the endpoint in errors
/// ("the token endpoint"); `kind` is the error kind a failure gets.
pub async fn send(
    request: reqwest::RequestBuilder,
    what: &str,
    url: &str,
    kind: ErrorKind,
) -> Result<Fetched, LoginError> {
    let mut response = request
        .send()
        .await
        .map_err(|e| transport_error(&e, what, url, kind))?;
    let status = response.status();
    let content_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| provider_text(v, 200));
    let mut body = Zeroizing::new(Vec::new());
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(&e, what, url, kind))?
    {
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(LoginError::new(
                kind,
                format!("{what} at {url} sent more than {BODY_LIMIT} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Fetched {
        status,
        content_type,
        location,
        body,
    })
}

/// GET a JSON document that holds no secret (discovery, JWKS).
pub async fn get_json(
    http: &reqwest::Client,
    url: &str,
    what: &str,
    kind: ErrorKind,
) -> Result<Value, LoginError> {
    let request = http.get(url).header(ACCEPT, "application/json");
    let fetched = send(request, what, url, kind).await?;
    if !fetched.status.is_success() {
        return Err(status_error(&fetched, what, url, kind));
    }
    json_body(&fetched, what, url, kind)
}

/// The body as JSON, or an error that says what came instead.
pub fn json_body(
    fetched: &Fetched,
    what: &str,
    url: &str,
    kind: ErrorKind,
) -> Result<Value, LoginError> {
    if looks_like_html(fetched) {
        return Err(LoginError::new(
            kind,
            format!(
                "{what} at {url} answered with an HTML page instead of JSON (HTTP {})",
                fetched.status.as_u16()
            ),
        )
        .with_hint(
            "check the URL; a proxy, a login page or a web server may be answering instead of \
             the identity provider",
        ));
    }
    serde_json::from_slice(&fetched.body).map_err(|_| {
        LoginError::new(
            kind,
            format!(
                "{what} at {url} answered with something that is not JSON (HTTP {}, {})",
                fetched.status.as_u16(),
                if fetched.content_type.is_empty() {
                    "no content type"
                } else {
                    fetched.content_type.as_str()
                }
            ),
        )
    })
}

fn looks_like_html(fetched: &Fetched) -> bool {
    let start = fetched
        .body
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map_or(&[][..], |i| &fetched.body[i..]);
    fetched.content_type.contains("html") || start.first() == Some(&b'<')
}

/// A non-2xx answer that is not an OAuth error: name the status, and a redirect's target.
pub fn status_error(fetched: &Fetched, what: &str, url: &str, kind: ErrorKind) -> LoginError {
    let status = fetched.status.as_u16();
    let message = match (&fetched.location, fetched.status.is_redirection()) {
        (Some(location), true) => {
            format!("{what} at {url} answered HTTP {status}, a redirect to {location}")
        }
        _ => format!("{what} at {url} answered HTTP {status}"),
    };
    let error = LoginError::new(kind, message);
    match status {
        404 => error.with_hint("check the URL: nothing is there"),
        300..=399 => error.with_hint("use the final URL; redirects are not followed"),
        500..=599 => error.with_hint("the server had a problem: try again in a moment"),
        _ => error,
    }
}

/// A failure before any HTTP answer: timeout, refused connection, DNS, TLS, the proxy.
pub fn transport_error(
    error: &reqwest::Error,
    what: &str,
    url: &str,
    kind: ErrorKind,
) -> LoginError {
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| url.to_owned());
    if let Some(refused) = trust::refusal(error) {
        return LoginError::new(
            ErrorKind::TlsCertificate,
            format!(
                "{host} was not trusted when connecting to {what} at {url}: {}",
                refused.reason
            ),
        )
        .with_hint(refused.fix);
    }
    let proxy = url::Url::parse(url).ok().and_then(|u| {
        ProxyRules::from_env()
            .proxy_for(&u)
            .map(proxy::display_proxy)
    });
    if let Some(proxy) = proxy.filter(|_| error.is_connect()) {
        return proxy_error(error, &proxy, what, url);
    }
    if error.is_timeout() {
        return LoginError::new(kind, format!("{what} at {url} did not answer in time"))
            .with_hint("check the network, a VPN or proxy, and that the host is right");
    }
    let cause = root_cause(error);
    let lower = cause.to_ascii_lowercase();
    let (message, hint) = if lower.contains("connection refused") {
        (
            format!("could not connect to {what} at {url}: connection refused"),
            "nothing listens there: check the host and port",
        )
    } else if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") {
        (
            format!("could not find the host of {what} at {url} ({cause})"),
            "check the host name and the network (VPN, DNS); behind a proxy, set HTTPS_PROXY",
        )
    } else if lower.contains("certificate") || lower.contains("tls") {
        (
            format!("the TLS connection to {what} at {url} failed ({cause})"),
            "check that the URL's port speaks HTTPS; check the clock too",
        )
    } else {
        (
            format!("could not reach {what} at {url} ({cause})"),
            "check the network, a VPN or proxy, and that the host is right",
        )
    };
    LoginError::new(kind, message).with_hint(hint)
}

/// A connection through `proxy` (shown without credentials) that failed before the
/// provider answered: the proxy is down, refused the tunnel, or wants credentials.
fn proxy_error(error: &reqwest::Error, proxy: &str, what: &str, url: &str) -> LoginError {
    // hyper-util's TunnelError is not exported, so it cannot be downcast to; its variants'
    // names (Debug) are what tells a 407 from another refusal.
    let tunnel = trust::causes(error).find_map(|e| {
        let name = format!("{e:?}");
        matches!(name.as_str(), "ProxyAuthRequired" | "TunnelUnsuccessful").then_some(name)
    });
    let (problem, hint) = match tunnel.as_deref() {
        Some("ProxyAuthRequired") => (
            "asks for credentials (HTTP 407)".to_owned(),
            "put them in the proxy URL (HTTPS_PROXY=http://USER:PASSWORD@proxy:port) or ask for access; NO_PROXY lists hosts to reach directly",
        ),
        Some(_) => (
            "refused to open a connection to the host (an HTTP error such as 403 or 502 to CONNECT)"
                .to_owned(),
            "ask the proxy's administrator to allow this host, or list it in NO_PROXY if it is reachable directly",
        ),
        _ => (
            format!("could not be reached ({})", root_cause(error)),
            "check HTTPS_PROXY / HTTP_PROXY: is the proxy running at that address? Unset them or list the host in NO_PROXY to connect directly",
        ),
    };
    LoginError::new(
        ErrorKind::Proxy,
        format!("the proxy {proxy} {problem} while connecting to {what} at {url}"),
    )
    .with_hint(hint)
}

/// The innermost error text: reqwest's own text repeats the URL and hides the cause.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    provider_text(&current.to_string(), 200)
}
