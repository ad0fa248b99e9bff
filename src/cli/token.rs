//! `ifs-connect token NAME`: a valid access token on stdout and nothing else, for scripts:
//! `curl -H "Authorization: Bearer $(ifs-connect token NAME)" ...`.
//!
//! From the keyring's cache while it has more than a minute left, else through the refresh
//! token, else (unless `--no-login`) through an interactive login whose progress goes to
//! stderr: a browser when one can be opened, a device code when not and the provider offers it.

use std::io::Write;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::login::{Grant, human_report, remember};
use super::{Context, Failure};
use crate::core::connector::Connector;
use crate::core::login::{self, BrowserMode, LoginOptions};
use crate::core::tokens::{self, AccessToken, TokenError};

#[derive(Debug, clap::Args)]
pub struct TokenArgs {
    /// The connector whose access token to print
    pub name: String,
    /// Print {access_token, token_type, expires_at, scope} as one JSON object
    #[arg(long)]
    pub json: bool,
    /// Never start an interactive login; fail when no token can be had without one
    #[arg(long)]
    pub no_login: bool,
    /// For an interactive login: sign in on another device with a user code
    #[arg(long, conflicts_with = "no_login")]
    pub device: bool,
    /// Seconds an interactive login waits for the user
    #[arg(long, default_value_t = 300, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub timeout: u64,
}

pub async fn run(context: &Context, args: TokenArgs) -> Result<ExitCode, Failure> {
    let connector = context.workspace.get(&args.name)?;
    let options = LoginOptions {
        timeout: Duration::from_secs(args.timeout),
        token_lock_dir: Some(context.paths.config_dir.clone()),
        ..LoginOptions::default()
    };
    let started = Instant::now();
    let token = match fetch(context, &connector, &options).await {
        Err(error) if error.needs_login() && !args.no_login => {
            eprintln!("{error}; starting a login");
            login_interactively(context, &connector, &options, args.device).await?;
            fetch(context, &connector, &options)
                .await
                .map_err(token_failure)?
        }
        other => other.map_err(token_failure)?,
    };
    tracing::info!(
        source = ?token.source,
        ms = started.elapsed().as_millis() as u64,
        "access token handed out"
    );
    print_token(&token, args.json)?;
    Ok(ExitCode::SUCCESS)
}

/// The provider's explanation with its fix; a connector that cannot work as saved (e.g. its
/// secret's variable is unset) is a usage error.
fn token_failure(error: TokenError) -> Failure {
    match error {
        TokenError::Provider(e) => {
            let text = match &e.hint {
                Some(hint) => format!("{} Fix: {hint}", e.message),
                None => e.message.clone(),
            };
            if e.kind == login::ErrorKind::Config {
                Failure::usage(text)
            } else {
                Failure::other(text)
            }
        }
        other => Failure::other(other),
    }
}

async fn fetch(
    context: &Context,
    connector: &Connector,
    options: &LoginOptions,
) -> Result<AccessToken, TokenError> {
    tokens::access_token(
        context.workspace.secrets(),
        &context.paths.config_dir,
        connector,
        options,
    )
    .await
}

/// A login whose report goes to stderr (stdout is for the token only).
async fn login_interactively(
    context: &Context,
    connector: &Connector,
    options: &LoginOptions,
    device: bool,
) -> Result<(), Failure> {
    let grant = choose_grant(connector, options, device).await;
    let mut options = options.clone();
    if grant == Grant::Browser && login::browser_possible().is_err() {
        options.browser = BrowserMode::Never;
    }
    let outcome = super::login::run_engine(context, connector, options, grant).await;
    remember(context, connector, &outcome).await;
    if outcome.ok {
        eprintln!("Logged in.");
        return Ok(());
    }
    // run_engine showed every step on stderr as it happened; only the verdict is new.
    eprintln!("{}", human_report(connector, &outcome, false));
    Err(Failure::other(format!(
        "the login failed, so there is no token: ifs-connect login {} shows the details",
        connector.name
    )))
}

/// The device grant when asked for, or when no browser can be opened here and the provider
/// offers it (pasting a redirect URL back is clumsy on an SSH session).
async fn choose_grant(connector: &Connector, options: &LoginOptions, device: bool) -> Grant {
    if device {
        return Grant::Device;
    }
    match login::browser_possible() {
        Ok(()) => Grant::Browser,
        Err(why) if login::supports_device_login(connector, options).await => {
            eprintln!("{why}: signing in with a code on another device instead");
            Grant::Device
        }
        Err(_) => Grant::Browser,
    }
}

fn print_token(token: &AccessToken, json: bool) -> Result<(), Failure> {
    let secret = token.cached.access_token();
    let text = Zeroizing::new(if json {
        let expires_at = token
            .cached
            .expires_at()
            .format(&time::format_description::well_known::Rfc3339)
            .map_err(Failure::other)?;
        serde_json::json!({
            "access_token": secret.expose_secret(),
            "token_type": token.cached.token_type,
            "expires_at": expires_at,
            "scope": token.cached.scope,
        })
        .to_string()
    } else {
        secret.expose_secret().to_owned()
    });
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", text.as_str())
        .and_then(|()| out.flush())
        .map_err(|e| Failure::other(format!("cannot write the token to stdout ({e})")))
}
