//! `ifs-connect sandbox`: a local stand-in for an IFS Cloud tenant, so the whole product can
//! be tried (and demoed, and tested) with no tenant at hand.
//!
//! It is an identity provider shaped like IFS Cloud's Keycloak (realm `sandbox`, Keycloak's
//! paths, discovery, JWKS, authorization code with PKCE, PAR, device login, refresh with
//! rotation, userinfo, revocation, logout) plus the one IFS API call ifs-connect probes. It is deliberately strict
//! and shares no code with the login engine in `core::login`, so that it catches the engine's
//! mistakes instead of repeating them. It serves 127.0.0.1 only and keeps everything in memory.

use std::future::IntoFuture;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::HOST;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

mod api;
mod authorize;
mod bearer;
pub mod clients;
mod device_codes;
mod device_endpoints;
mod discovery;
mod issue;
mod keys;
mod logout;
mod oauth;
mod page;
mod par;
mod pkce;
mod revoke;
mod service;
mod state;
mod tls;
mod token;
mod userinfo;
mod users;

pub use api::{CURRENT_USER_PATH, NO_GRANT_PATH, WEB_CLIENT_ID, WEB_START_PATH};
pub use clients::{
    CONFIDENTIAL_CLIENT_ID, OTHER_REDIRECT_CLIENT_ID, OTHER_REDIRECT_URI, PUBLIC_CLIENT_ID,
    REGISTERED_REDIRECT_URIS, SERVICE_CLIENT_ID,
};
pub use state::{Lifetimes, Origin, REALM_PATH};
pub use tls::TlsSource;
pub use users::{DEMO, SERVICE};

use state::{AppState, Shared};

/// How long open connections (a browser's keep-alive) may delay the exit after Ctrl-C.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// 0 lets the OS choose a free port.
    pub port: u16,
    pub lifetimes: Lifetimes,
    /// Serve HTTPS instead of plain HTTP.
    pub tls: Option<TlsSource>,
    /// The host name in the sandbox's URLs instead of 127.0.0.1 (it still listens on
    /// 127.0.0.1 only): for tests that reach it through a proxy under another name.
    pub host: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on 127.0.0.1:{port} ({source}); choose another --port or leave it out")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Keys(#[from] keys::KeyError),
    #[error("the key generation thread stopped unexpectedly")]
    KeyThread,
    #[error("the sandbox server stopped: {0}")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
}

/// A sandbox that is listening (so its port and URLs are known) but not yet serving.
pub struct Sandbox {
    listener: TcpListener,
    app: Shared,
    client_secret: SecretString,
    tls: Option<tls::Tls>,
}

impl Sandbox {
    /// Bind 127.0.0.1, make the realm's signing key and the confidential client's secret.
    pub async fn start(config: Config) -> Result<Self, SandboxError> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, config.port))
            .await
            .map_err(|source| SandboxError::Bind {
                port: config.port,
                source,
            })?;
        let port = listener
            .local_addr()
            .map_err(|source| SandboxError::Bind {
                port: config.port,
                source,
            })?
            .port();
        let tls = config.tls.as_ref().map(tls::Tls::prepare).transpose()?;
        let origin = Origin {
            https: tls.is_some(),
            host: config.host.clone(),
        };
        let started = std::time::Instant::now();
        // RSA key generation is CPU-bound: off the async workers.
        let keys = tokio::task::spawn_blocking(keys::SigningKeys::generate)
            .await
            .map_err(|_| SandboxError::KeyThread)??;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            kid = keys.kid(),
            "signing key generated"
        );
        let client_secret = SecretString::from(state::random_token(32));
        let clients = clients::Clients::sandbox(client_secret.clone());
        let app = Arc::new(AppState::new(
            &origin,
            port,
            keys,
            clients,
            config.lifetimes,
        ));
        tracing::info!(issuer = %app.issuer, "sandbox listening");
        Ok(Self {
            listener,
            app,
            client_secret,
            tls,
        })
    }

    /// The CA certificate file `--tls` wrote for users to trust (none for plain HTTP).
    pub fn ca_file(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().and_then(|t| t.ca_file.as_deref())
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// `http://127.0.0.1:PORT` (`https://` with `--tls`): the Base URL of the pretend IFS Cloud.
    pub fn base_url(&self) -> &str {
        &self.app.base_url
    }

    /// `http://127.0.0.1:PORT/auth/realms/sandbox`: the Authority URL.
    pub fn issuer(&self) -> &str {
        &self.app.issuer
    }

    /// `{issuer}/protocol/openid-connect/{rest}`, e.g. `endpoint("token")`.
    pub fn endpoint(&self, rest: &str) -> String {
        self.app.endpoint(rest)
    }

    /// The confidential client's secret, new every run. Show it to the user; never log it.
    pub fn client_secret(&self) -> &SecretString {
        &self.client_secret
    }

    /// Serve until `shutdown` is cancelled, then finish open requests for at most a few
    /// seconds (a browser may hold an idle keep-alive connection open indefinitely).
    pub async fn serve(self, shutdown: CancellationToken) -> Result<(), SandboxError> {
        let signal = shutdown.clone();
        let router = router(self.app);
        let server = match self.tls {
            None => axum::serve(self.listener, router)
                .with_graceful_shutdown(async move { signal.cancelled().await })
                .into_future(),
            Some(tls) => {
                let listener = tls::TlsListener::new(self.listener, tls.acceptor)
                    .map_err(SandboxError::Serve)?;
                axum::serve(listener, router)
                    .with_graceful_shutdown(async move { signal.cancelled().await })
                    .into_future()
            }
        };
        let deadline = async {
            shutdown.cancelled().await;
            tokio::time::sleep(SHUTDOWN_GRACE).await;
        };
        tokio::select! {
            result = server => result.map_err(SandboxError::Serve),
            () = deadline => {
                tracing::warn!("connections still open {SHUTDOWN_GRACE:?} after the stop; closing them");
                Ok(())
            }
        }
    }
}

fn router(app: Shared) -> Router {
    let oidc = |rest: &str| format!("{REALM_PATH}/protocol/openid-connect/{rest}");
    let actions = |rest: &str| format!("{REALM_PATH}/login-actions/{{id}}/{rest}");
    Router::new()
        .route("/", get(home))
        .route(
            &format!("{REALM_PATH}/.well-known/openid-configuration"),
            get(discovery::openid_configuration),
        )
        .route(&oidc("certs"), get(discovery::certs))
        .route(
            &oidc("auth"),
            get(authorize::authorize_get).post(authorize::authorize_post),
        )
        .route(&oidc("ext/par/request"), post(par::push))
        .route(
            &oidc("auth/device"),
            post(device_endpoints::authorize_device),
        )
        .route(
            &format!("{REALM_PATH}/device"),
            get(device_endpoints::verification_page).post(device_endpoints::submit_user_code),
        )
        .route(
            &format!("{REALM_PATH}/device/{{id}}/authenticate"),
            post(device_endpoints::device_sign_in),
        )
        .route(
            &format!("{REALM_PATH}/device/{{id}}/abort"),
            get(device_endpoints::device_abort),
        )
        .route(&oidc("token"), post(token::token))
        .route(
            &oidc("userinfo"),
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route(&oidc("revoke"), post(revoke::revoke))
        .route(
            &oidc("logout"),
            get(logout::logout_get).post(logout::logout_post),
        )
        .route(&actions("authenticate"), post(authorize::sign_in))
        .route(&actions("abort"), get(authorize::abort))
        .route(CURRENT_USER_PATH, get(api::current_user_information))
        .route(NO_GRANT_PATH, get(api::projection_without_grant))
        .route(WEB_START_PATH, get(api::web_start_page))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(app.clone(), only_our_host))
        .with_state(app)
}

async fn home(State(app): State<Shared>) -> Response {
    page::home(&app.issuer, &app.base_url)
}

async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        "Not found in the IFS Cloud sandbox\n",
    )
        .into_response()
}

/// Answer only requests addressed to this server by name: a web page elsewhere cannot then
/// reach it through DNS rebinding (a hostile name that resolves to 127.0.0.1).
async fn only_our_host(State(app): State<Shared>, request: Request, next: Next) -> Response {
    let host = request
        .headers()
        .get(HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if app
        .allowed_hosts
        .iter()
        .any(|h| h.eq_ignore_ascii_case(host))
    {
        next.run(request).await
    } else {
        tracing::warn!("refused a request for another host name");
        (
            StatusCode::MISDIRECTED_REQUEST,
            "This sandbox answers only to 127.0.0.1 and localhost\n",
        )
            .into_response()
    }
}
