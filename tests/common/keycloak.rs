//! The rig's real Keycloak (tests/support/keycloak): one per `./scripts/test` run, over HTTPS with a
//! certificate from a throwaway CA, realm `ifsrig` from tests/support/keycloak/realm.json.
//!
//! `scripts/test` starts it in the background before the build and exports where it is; a test
//! that needs it calls [`Keycloak::get`], which waits (bounded) until it is ready and fails loudly
//! when the variables are missing or Keycloak did not start. It never skips.

use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use super::{Env, HttpResponse};

/// Bound for Keycloak to become ready, counted from the first test that asks: on a cold machine the
/// rig downloads and builds Keycloak first.
pub const READY_TIMEOUT: Duration = Duration::from_secs(600);

pub const REALM: &str = "ifsrig";
/// Public, PKCE S256 required, redirect `http://127.0.0.1/callback` (no port).
pub const PUBLIC: &str = "ifs_public";
/// Confidential (client_secret_basic), redirect `http://127.0.0.1/callback`.
pub const CONFIDENTIAL: &str = "ifs_confidential";
pub const CONFIDENTIAL_SECRET: &str = "rig-confidential-secret-3f9a";
/// Public with the device authorization grant on; PKCE S256 required like the others.
pub const DEVICE: &str = "ifs_device";
/// Service accounts (client credentials) only.
pub const SERVICE: &str = "ifs_service";
pub const SERVICE_SECRET: &str = "rig-service-secret-7c21";
pub const DISABLED_CLIENT: &str = "ifs_disabled";
/// Registered for `https://flow.example.com/oauth/callback` only.
pub const OTHER_REDIRECT: &str = "ifs_other_redirect";
/// Public; its access tokens live 5 s (client attribute `access.token.lifespan`).
pub const SHORT_LIVED: &str = "ifs_short";
pub const SHORT_LIFESPAN_SECS: u64 = 5;
/// Public; its sessions idle out after [`IDLE_SECS`] (client attribute
/// `client.session.idle.timeout`; IFS's is 30 minutes) and its access tokens live 5 s.
pub const IDLE: &str = "ifs_idle";
pub const IDLE_SECS: i64 = 4;

/// A user of the realm: login name, password, full name, email.
pub struct User {
    pub username: &'static str,
    pub password: &'static str,
    pub name: &'static str,
    pub email: &'static str,
}

pub const ALICE: User = User {
    username: "alice",
    password: "alice-rig-password",
    name: "Alice Andersson",
    email: "alice@example.com",
};
pub const BOB: User = User {
    username: "bob",
    password: "bob-rig-password",
    name: "Bob Berg",
    email: "bob@example.com",
};
/// Disabled in the realm.
pub const DAVE: User = User {
    username: "dave",
    password: "dave-rig-password",
    name: "Dave Disabled",
    email: "dave@example.com",
};

/// Where the rig's Keycloak is.
pub struct Keycloak {
    /// `https://127.0.0.1:PORT/auth`
    pub url: String,
    /// The throwaway CA that signed Keycloak's certificate (PEM).
    pub ca: PathBuf,
    /// base64 SHA-256 of the server certificate's key, for Chromium's SPKI allow-list.
    pub spki: String,
    pub version: String,
}

fn var(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: this test needs the rig's Keycloak, which ./scripts/test starts \
             (run it through ./scripts/test, without IFS_CONNECT_TEST_KEYCLOAK=0)"
        )
    })
}

impl Keycloak {
    /// The running Keycloak, once it is ready (bounded by [`READY_TIMEOUT`]).
    pub fn get() -> Keycloak {
        super::rig_required();
        let state = PathBuf::from(var("IFS_CONNECT_TEST_KEYCLOAK_STATE"));
        let keycloak = Keycloak {
            url: var("IFS_CONNECT_TEST_KEYCLOAK_URL"),
            ca: PathBuf::from(var("IFS_CONNECT_TEST_KEYCLOAK_CA")),
            spki: var("IFS_CONNECT_TEST_KEYCLOAK_SPKI"),
            version: var("IFS_CONNECT_TEST_KEYCLOAK_VERSION"),
        };
        wait_ready(&state);
        keycloak
    }

    /// `https://127.0.0.1:PORT/auth/realms/ifsrig`, the issuer and the connectors' authority.
    pub fn issuer(&self) -> String {
        format!("{}/realms/{REALM}", self.url)
    }

    /// `https://127.0.0.1:PORT`: the IFS base URL of the connectors.
    pub fn base_url(&self) -> String {
        self.url.trim_end_matches("/auth").to_owned()
    }

    /// `{issuer}/protocol/openid-connect/{rest}`.
    pub fn endpoint(&self, rest: &str) -> String {
        format!("{}/protocol/openid-connect/{rest}", self.issuer())
    }

    /// The probe path the connectors use: Keycloak's userinfo, a real resource that answers 200
    /// only for a valid access token (the rig has no IFS API behind Keycloak).
    pub fn probe_path(&self) -> String {
        format!("/auth/realms/{REALM}/protocol/openid-connect/userinfo")
    }

    /// A sandbox whose program trusts the rig's CA (through `SSL_CERT_FILE`, which
    /// rustls-native-certs reads instead of the system store) and whose `$BROWSER` is headless
    /// Chromium trusting exactly Keycloak's certificate, signing in as `user`.
    pub fn env(&self, user: &User) -> Env {
        let env = Env::new();
        let log = env.path("browser.log");
        // An empty SSL_CERT_DIR, so the machine's own (which may be set) adds nothing.
        let no_certs = env.path("no-certs");
        std::fs::create_dir_all(&no_certs).unwrap();
        env.with_browser_chromium(log)
            .with_env("SSL_CERT_FILE", &self.ca)
            .with_env("SSL_CERT_DIR", &no_certs)
            .with_env("BROWSER_TRUST_SPKI", &self.spki)
            .with_env("BROWSER_LOGIN", user.username)
            .with_env("BROWSER_PASSWORD", user.password)
            .with_env("BROWSER_TIMEOUT_MS", "60000")
    }

    /// POSTs a form to Keycloak over HTTPS (trusting the rig's CA only), optionally with HTTP
    /// Basic client authentication.
    pub fn post_form(
        &self,
        url: &str,
        basic: Option<(&str, &str)>,
        form: &[(&str, &str)],
    ) -> HttpResponse {
        let client = self.client();
        let mut request = client.post(url).form(form);
        if let Some((id, secret)) = basic {
            request = request.basic_auth(id, Some(secret));
        }
        send(request)
    }

    /// GETs a URL with a bearer token.
    pub fn get_with_bearer(&self, url: &str, token: &str) -> HttpResponse {
        send(self.client().get(url).bearer_auth(token))
    }

    /// Keycloak's answer to a refresh with `refresh_token` for the public client `client_id`.
    pub fn refresh(&self, client_id: &str, refresh_token: &str) -> HttpResponse {
        self.post_form(
            &self.endpoint("token"),
            None,
            &[
                ("grant_type", "refresh_token"),
                ("client_id", client_id),
                ("refresh_token", refresh_token),
            ],
        )
    }

    fn client(&self) -> reqwest::Client {
        let pem = std::fs::read(&self.ca).expect("read the rig's CA");
        let ca = reqwest::Certificate::from_pem(&pem).expect("the rig's CA is PEM");
        reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(ca)
            .timeout(Duration::from_secs(20))
            .no_proxy()
            .build()
            .expect("an HTTPS client")
    }
}

fn send(request: reqwest::RequestBuilder) -> HttpResponse {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async move {
        let response = request.send().await.expect("HTTPS request to Keycloak");
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    v.to_str().unwrap_or("").to_owned(),
                )
            })
            .collect();
        let body = response.text().await.unwrap_or_default();
        HttpResponse {
            status,
            headers,
            body,
        }
    })
}

/// Polls the rig's `ready` / `failed` files every 200 ms, for at most [`READY_TIMEOUT`].
fn wait_ready(state: &std::path::Path) {
    let deadline = Instant::now() + READY_TIMEOUT;
    for _ in 0..READY_TIMEOUT.as_millis() / 200 + 1 {
        if state.join("ready").exists() {
            return;
        }
        if let Ok(why) = std::fs::read_to_string(state.join("failed")) {
            panic!("the rig's Keycloak did not start:\n{why}");
        }
        if Instant::now() >= deadline {
            break;
        }
        thread::sleep(Duration::from_millis(200));
    }
    let log = std::fs::read_to_string(state.join("keycloak.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(20).collect();
    panic!(
        "the rig's Keycloak was not ready within {READY_TIMEOUT:?}; the end of its log:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}
