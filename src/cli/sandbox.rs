//! `ifs-connect sandbox`: run the local IFS-Cloud-like identity provider and API, print what
//! to type into the wizard, and with `--add` save two connectors that work at once.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use tokio_util::sync::CancellationToken;

use super::{Context, Failure};
use crate::core::connector::{
    Auth, ClientCredentialsAuth, Connector, DEFAULT_REDIRECT_URI, OAuth2Auth, OpenIdAuth,
};
use crate::core::secrets::SecretKind;
use crate::core::workspace::{SecretChange, Workspace, WorkspaceError};
use crate::sandbox::{
    self, CONFIDENTIAL_CLIENT_ID, Lifetimes, PUBLIC_CLIENT_ID, SERVICE_CLIENT_ID, Sandbox,
};

pub const OPENID_CONNECTOR: &str = "sandbox-openid";
pub const OAUTH2_CONNECTOR: &str = "sandbox-oauth2";
pub const SERVICE_CONNECTOR: &str = "sandbox-service";
/// `sandbox --tls` writes its CA certificate here, in the data dir.
pub const CA_FILE_NAME: &str = "sandbox-ca.pem";

#[derive(Debug, clap::Args)]
#[command(
    long_about = "Run a local stand-in for an IFS Cloud tenant on 127.0.0.1: an identity \
                  provider shaped like IFS Cloud's Keycloak and the API call a test login \
                  probes. Sign in as demo / demo. Runs until Ctrl-C and forgets everything \
                  then; the client secret and the port change every run."
)]
pub struct SandboxArgs {
    /// Port on 127.0.0.1 [default: a free one chosen by the OS]
    #[arg(long, value_name = "PORT", value_parser = clap::value_parser!(u16).range(1..))]
    pub port: Option<u16>,
    /// Also save three ready connectors, sandbox-openid, sandbox-oauth2 and sandbox-service
    /// (replacing earlier ones)
    #[arg(long)]
    pub add: bool,
    /// Print one JSON line with the sandbox's values when it is ready, instead of the instructions
    #[arg(long)]
    pub json: bool,
    /// Show the confidential client's secret in the instructions, to type it into the wizard
    #[arg(long)]
    pub show_secret: bool,
    /// Serve HTTPS with a certificate from a CA made for this run; its certificate is written
    /// to sandbox-ca.pem in the data dir (trust it with SSL_CERT_FILE or --ca-file)
    #[arg(long)]
    pub tls: bool,
    /// Serve HTTPS with this PEM certificate chain instead of a made one (with --tls-key)
    #[arg(long, hide = true, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<std::path::PathBuf>,
    /// The PEM private key of --tls-cert
    #[arg(long, hide = true, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<std::path::PathBuf>,
    /// Host name in the sandbox's URLs instead of 127.0.0.1 (it still listens on 127.0.0.1
    /// only; for tests that reach it through a proxy)
    #[arg(long, hide = true, value_name = "NAME")]
    pub hostname: Option<String>,
    /// Access and ID token lifetime in seconds (for tests of expiry)
    #[arg(long, hide = true, default_value_t = 300, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub token_lifetime: u64,
    /// Authorization code lifetime in seconds (for tests of expiry)
    #[arg(long, hide = true, default_value_t = 60, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub code_lifetime: u64,
    /// Seconds a session lives unused before its refresh token dies (IFS: 1800)
    #[arg(long, hide = true, default_value_t = 1800, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub session_idle: u64,
    /// Seconds a device must wait between polls in a device login (for quick tests)
    #[arg(long, hide = true, default_value_t = 5, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub device_interval: u64,
}

pub async fn run(context: &Context, args: SandboxArgs) -> Result<ExitCode, Failure> {
    let started = Instant::now();
    let config = sandbox::Config {
        port: args.port.unwrap_or(0),
        lifetimes: Lifetimes {
            access_token: Duration::from_secs(args.token_lifetime),
            code: Duration::from_secs(args.code_lifetime),
            device_interval: Duration::from_secs(args.device_interval),
            refresh_token: Duration::from_secs(args.session_idle),
            ..Lifetimes::default()
        },
        tls: tls_source(context, &args),
        host: args.hostname.clone(),
    };
    let sandbox = Sandbox::start(config).await.map_err(Failure::other)?;
    let saved = if args.add {
        add_connectors(&context.workspace, &sandbox).await?
    } else {
        Vec::new()
    };
    let shutdown = CancellationToken::new();
    watch_signals(shutdown.clone());
    let ready_ms = started.elapsed().as_millis() as u64;
    tracing::info!(ready_ms, port = sandbox.port(), "sandbox ready");
    if args.json {
        print_json(&sandbox, &saved, ready_ms);
    } else {
        print_instructions(&sandbox, &saved, args.show_secret);
    }
    sandbox.serve(shutdown).await.map_err(Failure::other)?;
    if !args.json {
        eprintln!("Sandbox stopped.");
    }
    tracing::info!("sandbox stopped");
    Ok(ExitCode::SUCCESS)
}

/// The sandbox's own CA goes to the data dir, next to the log: it changes every run and is
/// no configuration.
fn tls_source(context: &Context, args: &SandboxArgs) -> Option<sandbox::TlsSource> {
    match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(sandbox::TlsSource::Files {
            cert: cert.clone(),
            key: key.clone(),
        }),
        _ if args.tls => Some(sandbox::TlsSource::Generate {
            ca_file: context.paths.data_dir.join(CA_FILE_NAME),
        }),
        _ => None,
    }
}

/// Ctrl-C, or a TERM from a test harness or a service manager, stops the sandbox cleanly.
/// The handlers are registered before the ready line is printed: whoever reads that line may
/// signal at once, and a signal before registration would kill the process uncleanly.
fn watch_signals(shutdown: CancellationToken) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut interrupt), Ok(mut term)) => {
                tokio::spawn(async move {
                    tokio::select! {
                        _ = interrupt.recv() => {}
                        _ = term.recv() => {}
                    }
                    shutdown.cancel();
                });
                return;
            }
            (Err(e), _) | (_, Err(e)) => tracing::warn!("cannot watch for Ctrl-C or TERM: {e}"),
        }
    }
    tokio::spawn(async move {
        log_signal_error(tokio::signal::ctrl_c().await);
        shutdown.cancel();
    });
}

fn log_signal_error(result: std::io::Result<()>) {
    if let Err(e) = result {
        tracing::warn!("cannot watch for Ctrl-C: {e}; stopping");
    }
}

// ---- --add -----------------------------------------------------------------------------------------

/// Save both connectors (the keyring and the config file block: off the async workers).
async fn add_connectors(workspace: &Workspace, sandbox: &Sandbox) -> Result<Vec<String>, Failure> {
    let workspace = workspace.clone();
    let openid = openid_connector(sandbox);
    let oauth2 = oauth2_connector(sandbox);
    let service = service_connector(sandbox);
    let secret = sandbox.client_secret().clone();
    let saved = tokio::task::spawn_blocking(move || -> Result<Vec<String>, Failure> {
        let a = replace_connector(&workspace, openid, SecretChange::Keep)?;
        // Say what did get saved: the keyring (needed only for the secret) may be the problem.
        let not_saved = |what: &str, e: WorkspaceError| {
            Failure::other(format!("{OPENID_CONNECTOR} was saved, {what} not: {e}"))
        };
        let b = replace_connector(&workspace, oauth2, SecretChange::Set(secret.clone())).map_err(
            |e| {
                not_saved(
                    &format!("{OAUTH2_CONNECTOR} and {SERVICE_CONNECTOR} were"),
                    e,
                )
            },
        )?;
        let c = replace_connector(&workspace, service, SecretChange::Set(secret)).map_err(|e| {
            not_saved(
                &format!("{OAUTH2_CONNECTOR} too, {SERVICE_CONNECTOR} was"),
                e,
            )
        })?;
        Ok(vec![a.name, b.name, c.name])
    })
    .await
    .map_err(|_| Failure::other("saving the sandbox connectors stopped unexpectedly"))??;
    tracing::info!(connectors = ?saved, "sandbox connectors saved");
    Ok(saved)
}

/// Save `connector` in place of an earlier one of the same name (keeping its id and agent
/// group), so that each run's new port and secret replace the last run's.
fn replace_connector(
    workspace: &Workspace,
    mut connector: Connector,
    secret: SecretChange,
) -> Result<Connector, WorkspaceError> {
    match workspace.get(&connector.name) {
        Ok(existing) => {
            connector.id = existing.id;
            connector.agent_group = existing.agent_group;
        }
        Err(WorkspaceError::NotFound(_)) => {}
        Err(e) => return Err(e),
    }
    let saved = workspace.save(connector, secret)?;
    // A refresh token from an earlier run belongs to a provider that no longer exists.
    if let Err(e) = workspace
        .secrets()
        .delete(&saved.id, SecretKind::RefreshToken)
    {
        tracing::warn!(connector = %saved.id, "could not delete an old refresh token: {e}");
    }
    Ok(saved)
}

fn openid_connector(sandbox: &Sandbox) -> Connector {
    let mut connector = Connector::new(
        OPENID_CONNECTOR,
        Auth::OpenId(OpenIdAuth {
            display_name: "IFS Cloud sandbox (OpenId)".into(),
            authority_url: sandbox.issuer().to_owned(),
            client_id: PUBLIC_CLIENT_ID.into(),
            ..OpenIdAuth::default()
        }),
    );
    connector.base_url = sandbox.base_url().to_owned();
    connector.ca_file = ca_file_text(sandbox);
    connector
}

/// The issuer is set so that the login verifies the ID token against the sandbox's JWKS.
fn oauth2_connector(sandbox: &Sandbox) -> Connector {
    let mut connector = Connector::new(
        OAUTH2_CONNECTOR,
        Auth::OAuth2(OAuth2Auth {
            display_name: "IFS Cloud sandbox (OAuth2)".into(),
            authorization_endpoint: sandbox.endpoint("auth"),
            token_endpoint: sandbox.endpoint("token"),
            client_id: CONFIDENTIAL_CLIENT_ID.into(),
            issuer: Some(sandbox.issuer().to_owned()),
            ..OAuth2Auth::default()
        }),
    );
    connector.base_url = sandbox.base_url().to_owned();
    connector.ca_file = ca_file_text(sandbox);
    connector
}

/// A service user: the token endpoint comes from the sandbox's discovery document.
fn service_connector(sandbox: &Sandbox) -> Connector {
    let mut connector = Connector::new(
        SERVICE_CONNECTOR,
        Auth::ClientCredentials(ClientCredentialsAuth {
            display_name: "IFS Cloud sandbox (service user)".into(),
            authority_url: Some(sandbox.issuer().to_owned()),
            client_id: SERVICE_CLIENT_ID.into(),
            ..ClientCredentialsAuth::default()
        }),
    );
    connector.base_url = sandbox.base_url().to_owned();
    connector
}

// ---- output ----------------------------------------------------------------------------------------

/// One line for scripts and tests. It carries the client secret, like the instructions do:
/// the user's own throwaway demo secret, printed on their terminal and never logged.
fn print_json(sandbox: &Sandbox, saved: &[String], ready_ms: u64) {
    let line = serde_json::json!({
        "ready": true,
        "issuer": sandbox.issuer(),
        "base_url": sandbox.base_url(),
        "port": sandbox.port(),
        "discovery_url": discovery_url(sandbox),
        "authorization_endpoint": sandbox.endpoint("auth"),
        "token_endpoint": sandbox.endpoint("token"),
        "public_client_id": PUBLIC_CLIENT_ID,
        "confidential_client_id": CONFIDENTIAL_CLIENT_ID,
        "service_client_id": SERVICE_CLIENT_ID,
        "client_secret": sandbox.client_secret().expose_secret(),
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "username": sandbox::DEMO.username,
        "password": sandbox::DEMO.password,
        "connectors": saved,
        "ca_file": ca_file_text(sandbox),
        "ready_ms": ready_ms,
    });
    print_and_flush(&format!("{line}\n"));
}

/// Secrets stay off the screen unless asked for: `--add` puts the demo secret straight into
/// the keyring, and only typing it into the wizard by hand needs to see it.
fn print_instructions(sandbox: &Sandbox, saved: &[String], show_secret: bool) {
    let secret: &SecretString = sandbox.client_secret();
    let mut text = format!(
        "IFS Cloud sandbox running at {base} (Ctrl-C stops it; it forgets everything then)\n\
         Sign in as demo / demo: the login page comes pre-filled.\n\n\
         To add a connector by hand, run `ifs-connect` and press n, then enter:\n\
         \x20 Base URL                  {base}\n\
         \x20 Redirect URI              {redirect}   (the default; any port is accepted)\n\n\
         \x20 OpenId Authentication\n\
         \x20   Authority URL           {issuer}\n\
         \x20   Client ID               {public}\n\n\
         \x20 OAuth2 Authorization Code Flow\n\
         \x20   Discovery URL           {discovery}\n\
         \x20   Authorization Endpoint  {auth}\n\
         \x20   Token Endpoint          {token}\n\
         \x20   Client ID               {confidential}\n\
         \x20   Client Secret           {secret}\n\n\
         \x20 OAuth2 Client Credentials (a service user; `ifs-connect add --auth client-credentials`)\n\
         \x20   Authority URL           {issuer}\n\
         \x20   Client ID               {service}   (the same secret)\n\n",
        base = sandbox.base_url(),
        redirect = DEFAULT_REDIRECT_URI,
        issuer = sandbox.issuer(),
        public = PUBLIC_CLIENT_ID,
        discovery = discovery_url(sandbox),
        auth = sandbox.endpoint("auth"),
        token = sandbox.endpoint("token"),
        confidential = CONFIDENTIAL_CLIENT_ID,
        service = SERVICE_CLIENT_ID,
        secret = if show_secret {
            format!(
                "{}   (new every run, shown only here)",
                secret.expose_secret()
            )
        } else {
            "hidden: run with --show-secret to type it in, or use --add (keyring)".to_owned()
        },
    );
    if let Some(ca) = sandbox.ca_file() {
        text.push_str(&tls_instructions(
            &ca.display().to_string(),
            !saved.is_empty(),
        ));
    }
    if saved.is_empty() {
        text.push_str(
            "Or stop this and run `ifs-connect sandbox --add`: it also saves three ready connectors.\n",
        );
    } else {
        text.push_str(&format!(
            "Saved the connectors {} (replacing earlier ones; run --add again after a restart,\n\
             since the port and the secret change). In another terminal run `ifs-connect`,\n\
             select one and press t for a test login, or run `ifs-connect login {OPENID_CONNECTOR}`.\n\
             A script gets the service user's token with `ifs-connect token {SERVICE_CONNECTOR}`.\n",
            saved.join(", ")
        ));
    }
    print_and_flush(&text);
}

/// What HTTPS with a private CA asks of the user: trust the CA in ifs-connect (and in the
/// browser, which keeps its own list).
fn tls_instructions(ca: &str, added: bool) -> String {
    let connectors = if added {
        "The saved connectors already trust it (their CA file).".to_owned()
    } else {
        format!(
            "Trust it in ifs-connect with `--ca-file {ca}` on the connector, or for every \n\
             connector with SSL_CERT_FILE={ca}."
        )
    };
    format!(
        "HTTPS: the certificate comes from a CA made for this run, written to\n\
         \x20 {ca}\n\
         {connectors}\n\
         Your browser does not know this CA: it warns on the sign-in page. Accept the warning for\n\
         127.0.0.1, or import the file into the browser's certificate authorities. The CA can\n\
         only vouch for 127.0.0.1 and localhost, and its key is gone: trusting it is harmless.\n\n"
    )
}

fn ca_file_text(sandbox: &Sandbox) -> Option<String> {
    sandbox.ca_file().map(|p| p.display().to_string())
}

fn discovery_url(sandbox: &Sandbox) -> String {
    format!("{}/.well-known/openid-configuration", sandbox.issuer())
}

/// Whoever reads stdout through a pipe (a test, a script) must see the line at once.
fn print_and_flush(text: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}
