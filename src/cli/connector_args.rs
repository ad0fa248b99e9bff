//! `add` and `edit`: the same flags, applied to a new or an existing connector.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use secrecy::{ExposeSecret, SecretString};

use super::{Context, Failure};
use crate::core::connector::SecretSource;
use crate::core::connector::{
    Auth, AuthKind, ClientCredentialsAuth, Connector, DEFAULT_AGENT_GROUP, OAuth2Auth, OpenIdAuth,
    Param,
};
use crate::core::ifs::{normalise_authority, scopes};
use crate::core::validate::{self, ValidationErrors};
use crate::core::workspace::{SecretChange, WorkspaceError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthFlag {
    /// OpenId Authentication: endpoints from the authority's discovery document
    Openid,
    /// OAuth2 Authorization Code Flow: endpoints entered by hand
    Oauth2,
    /// OAuth2 Client Credentials: a service user for scripts and CI, no browser
    ClientCredentials,
}

impl From<AuthFlag> for AuthKind {
    fn from(flag: AuthFlag) -> Self {
        match flag {
            AuthFlag::Openid => AuthKind::OpenId,
            AuthFlag::Oauth2 => AuthKind::OAuth2,
            AuthFlag::ClientCredentials => AuthKind::ClientCredentials,
        }
    }
}

/// Every field a connector has, all optional so `edit` changes only what is given.
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectorFlags {
    /// Agent group the connector runs in [add default: default]
    #[arg(long, value_name = "GROUP")]
    pub agent_group: Option<String>,
    /// Base URL of the IFS Cloud instance, e.g. https://ifs.example.com
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
    /// Authentication type
    #[arg(long, value_enum)]
    pub auth: Option<AuthFlag>,
    /// Display name shown for the login
    #[arg(long, value_name = "TEXT")]
    pub display_name: Option<String>,
    /// OpenId, client credentials: Authority URL (the realm URL); any URL of the realm works,
    /// e.g. the discovery URL, the token endpoint or the account console
    #[arg(long, value_name = "URL")]
    pub authority: Option<String>,
    /// OAuth2: authorization endpoint
    #[arg(long, value_name = "URL")]
    pub authorization_endpoint: Option<String>,
    /// OAuth2; client credentials (instead of --authority): token endpoint
    #[arg(long, value_name = "URL")]
    pub token_endpoint: Option<String>,
    /// OAuth2: issuer, so the ID token's signature can be checked against its keys
    #[arg(long, value_name = "URL")]
    pub issuer: Option<String>,
    /// IAM client ID (case-sensitive)
    #[arg(long, value_name = "ID")]
    pub client_id: Option<String>,
    /// OAuth2, client credentials: read the client secret from standard input (never from
    /// the command line) and keep it in the OS keyring
    #[arg(long)]
    pub client_secret_stdin: bool,
    /// OAuth2: forget the stored client secret (a public client)
    #[arg(long, conflicts_with = "client_secret_stdin")]
    pub remove_client_secret: bool,
    /// OAuth2, client credentials: read the client secret from this environment variable at
    /// login instead of the keyring (only the name is stored; "" goes back to the keyring)
    #[arg(long, value_name = "VAR", conflicts_with = "client_secret_stdin")]
    pub client_secret_env: Option<String>,
    /// Scopes, space separated [default: openid; client credentials: openid microprofile-jwt]
    #[arg(long, value_name = "SCOPES")]
    pub scopes: Option<String>,
    /// Extra authorization query parameter, e.g. prompt=select_account; for client
    /// credentials a token request parameter (repeatable; on edit the list replaces the old one)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
    /// Remove every extra query parameter
    #[arg(long, conflicts_with = "params")]
    pub clear_params: bool,
    /// OpenId, client credentials: do not check that endpoints lie under the authority
    #[arg(long, overrides_with = "validate_endpoints")]
    pub no_validate_endpoints: bool,
    /// OpenId: check that endpoints lie under the authority (the default)
    #[arg(long, hide_short_help = true)]
    pub validate_endpoints: bool,
    /// OpenId, client credentials: do not check the discovery issuer against the authority
    #[arg(long, overrides_with = "validate_issuer_name")]
    pub no_validate_issuer_name: bool,
    /// OpenId: check the discovery issuer against the authority (the default)
    #[arg(long, hide_short_help = true)]
    pub validate_issuer_name: bool,
    /// OpenId: do not check the ID token's iss against the discovery issuer (client
    /// credentials: the access token's)
    #[arg(long, overrides_with = "validate_token_issuer_name")]
    pub no_validate_token_issuer_name: bool,
    /// OpenId: check the ID token's iss (the default)
    #[arg(long, hide_short_help = true)]
    pub validate_token_issuer_name: bool,
    /// OAuth2: do not use PKCE (only for providers that reject it)
    #[arg(long, overrides_with = "pkce")]
    pub no_pkce: bool,
    /// OAuth2: use PKCE (the default)
    #[arg(long, hide_short_help = true)]
    pub pkce: bool,
    /// OpenId: never use pushed authorization requests, even when advertised
    #[arg(long, overrides_with = "par")]
    pub no_par: bool,
    /// OpenId: use pushed authorization requests when advertised (the default)
    #[arg(long, hide_short_help = true)]
    pub par: bool,
    /// Stay signed in: request offline_access, whose session has no 30-minute idle end
    #[arg(long, overrides_with = "no_offline_access")]
    pub offline_access: bool,
    /// Do not request offline_access (the default)
    #[arg(long, hide_short_help = true)]
    pub no_offline_access: bool,
    /// Send this email as login_hint so the IFS login page is prefilled ("" clears it)
    #[arg(long, value_name = "EMAIL")]
    pub prefill_user_email: Option<String>,
    /// Redirect URI registered on the IAM client; without a port any free port is used
    #[arg(long, value_name = "URI")]
    pub redirect_uri: Option<String>,
    /// Path below the Base URL that a test login calls ("" skips the call)
    #[arg(long, value_name = "PATH")]
    pub probe_path: Option<String>,
    /// PEM file of CA certificates to trust for this connector's HTTPS calls, besides the OS
    /// store and SSL_CERT_FILE (a private CA, a TLS-inspecting proxy); "" removes it
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<String>,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Unique connector name
    #[arg(long, value_name = "NAME")]
    pub name: String,
    #[command(flatten)]
    pub flags: ConnectorFlags,
}

#[derive(Debug, Args)]
pub struct EditArgs {
    /// The connector to change
    pub connector: String,
    /// New name
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub flags: ConnectorFlags,
}

pub async fn add(context: &Context, args: AddArgs) -> Result<ExitCode, Failure> {
    let flags = args.flags;
    let kind: AuthKind = flags
        .auth
        .ok_or_else(|| Failure::usage("--auth is required: openid, oauth2 or client-credentials"))?
        .into();
    require(
        &flags.base_url,
        "--base-url",
        "the Base URL of the IFS Cloud instance",
    )?;
    match kind {
        AuthKind::OpenId => require(&flags.authority, "--authority", "the Authority URL")?,
        AuthKind::OAuth2 => {
            require(
                &flags.authorization_endpoint,
                "--authorization-endpoint",
                "the authorization endpoint",
            )?;
            require(
                &flags.token_endpoint,
                "--token-endpoint",
                "the token endpoint",
            )?;
        }
        AuthKind::ClientCredentials if flags.authority.is_none() => require(
            &flags.token_endpoint,
            "--token-endpoint or --authority",
            "the token endpoint, or the Authority URL to discover it",
        )?,
        AuthKind::ClientCredentials => {}
    }
    require(
        &flags.client_id,
        "--client-id",
        "the IAM client's Client ID",
    )?;
    let mut connector = Connector::new(args.name, empty_auth(kind));
    connector.agent_group = DEFAULT_AGENT_GROUP.to_owned();
    apply(&flags, &mut connector)?;
    let secret = secret_change(&flags)?;
    let saved = save(context, connector, secret).await?;
    print_saved("Added", &saved);
    Ok(ExitCode::SUCCESS)
}

pub async fn edit(context: &Context, args: EditArgs) -> Result<ExitCode, Failure> {
    let workspace = context.workspace.clone();
    let name = args.connector.clone();
    let mut connector = blocking(move || workspace.get(&name)).await?;
    if let Some(new_name) = args.name {
        connector.name = new_name;
    }
    apply(&args.flags, &mut connector)?;
    let secret = secret_change(&args.flags)?;
    let saved = save(context, connector, secret).await?;
    print_saved("Updated", &saved);
    Ok(ExitCode::SUCCESS)
}

fn require(value: &Option<String>, flag: &str, what: &str) -> Result<(), Failure> {
    match value {
        Some(_) => Ok(()),
        None => Err(Failure::usage(format!("{flag} is required: give {what}"))),
    }
}

fn empty_auth(kind: AuthKind) -> Auth {
    match kind {
        AuthKind::OpenId => Auth::OpenId(OpenIdAuth::default()),
        AuthKind::OAuth2 => Auth::OAuth2(OAuth2Auth::default()),
        AuthKind::ClientCredentials => Auth::ClientCredentials(ClientCredentialsAuth::default()),
    }
}

/// Switch the auth type, keeping what both types share. Extra parameters stay only between
/// the two browser types: a service user's go to the token request, not the browser.
fn convert_auth(auth: &Auth, kind: AuthKind) -> Auth {
    if auth.kind() == kind {
        return auth.clone();
    }
    let mut next = empty_auth(kind);
    let same_request = auth.kind().is_interactive() == kind.is_interactive();
    let (display_name, client_id, scopes, extra_params, email) = match &mut next {
        Auth::OpenId(a) => (
            &mut a.display_name,
            &mut a.client_id,
            &mut a.scopes,
            &mut a.extra_params,
            Some(&mut a.prefill_user_email),
        ),
        Auth::OAuth2(a) => (
            &mut a.display_name,
            &mut a.client_id,
            &mut a.scopes,
            &mut a.extra_params,
            Some(&mut a.prefill_user_email),
        ),
        Auth::ClientCredentials(a) => (
            &mut a.display_name,
            &mut a.client_id,
            &mut a.scopes,
            &mut a.extra_params,
            None,
        ),
    };
    *display_name = auth.display_name().to_owned();
    *client_id = auth.client_id().to_owned();
    *scopes = auth.scopes().to_owned();
    if same_request {
        *extra_params = auth.extra_params().to_vec();
    }
    if let Some(email) = email {
        *email = auth.prefill_user_email().map(str::to_owned);
    }
    next
}

/// Apply the given flags; flags that belong to the other auth type are an error.
fn apply(flags: &ConnectorFlags, connector: &mut Connector) -> Result<(), Failure> {
    set(&mut connector.agent_group, &flags.agent_group);
    set(&mut connector.base_url, &flags.base_url);
    set(&mut connector.redirect_uri, &flags.redirect_uri);
    set(&mut connector.probe_path, &flags.probe_path);
    if let Some(path) = &flags.ca_file {
        connector.ca_file = (!path.trim().is_empty()).then(|| path.clone());
    }
    if let Some(kind) = flags.auth {
        connector.auth = convert_auth(&connector.auth, kind.into());
    }
    let params = parse_params(flags)?;
    match &mut connector.auth {
        Auth::OpenId(a) => {
            reject_for(flags, AuthKind::OpenId)?;
            set(&mut a.display_name, &flags.display_name);
            set_authority(&mut a.authority_url, &flags.authority);
            set(&mut a.client_id, &flags.client_id);
            set(&mut a.scopes, &flags.scopes);
            apply_validate_options(
                flags,
                [
                    &mut a.validate_endpoints,
                    &mut a.validate_issuer_name,
                    &mut a.validate_token_issuer_name,
                ],
            );
            toggle(&mut a.use_par, flags.par, flags.no_par);
            set_email(&mut a.prefill_user_email, &flags.prefill_user_email);
            if let Some(params) = params {
                a.extra_params = params;
            }
        }
        Auth::OAuth2(a) => {
            reject_for(flags, AuthKind::OAuth2)?;
            set(&mut a.display_name, &flags.display_name);
            set(&mut a.authorization_endpoint, &flags.authorization_endpoint);
            set(&mut a.token_endpoint, &flags.token_endpoint);
            set(&mut a.client_id, &flags.client_id);
            set(&mut a.scopes, &flags.scopes);
            toggle(&mut a.pkce, flags.pkce, flags.no_pkce);
            set_email(&mut a.prefill_user_email, &flags.prefill_user_email);
            if let Some(issuer) = &flags.issuer {
                a.issuer = (!issuer.trim().is_empty()).then(|| issuer.clone());
            }
            if let Some(params) = params {
                a.extra_params = params;
            }
            set_optional(&mut a.client_secret_env, &flags.client_secret_env);
        }
        Auth::ClientCredentials(a) => {
            reject_for(flags, AuthKind::ClientCredentials)?;
            apply_service_user(flags, a, params);
        }
    }
    apply_offline_access(flags, &mut connector.auth);
    Ok(())
}

fn apply_service_user(
    flags: &ConnectorFlags,
    a: &mut ClientCredentialsAuth,
    params: Option<Vec<Param>>,
) {
    set(&mut a.display_name, &flags.display_name);
    // One endpoint source: giving one on edit replaces the other.
    if flags.token_endpoint.is_some() {
        set_optional(&mut a.token_endpoint, &flags.token_endpoint);
        if flags.authority.is_none() {
            a.authority_url = None;
        }
    }
    if flags.authority.is_some() {
        let mut authority = String::new();
        set_authority(&mut authority, &flags.authority);
        a.authority_url = (!authority.trim().is_empty()).then_some(authority);
        if flags.token_endpoint.is_none() {
            a.token_endpoint = None;
        }
    }
    set(&mut a.client_id, &flags.client_id);
    set(&mut a.scopes, &flags.scopes);
    apply_validate_options(
        flags,
        [
            &mut a.validate_endpoints,
            &mut a.validate_issuer_name,
            &mut a.validate_token_issuer_name,
        ],
    );
    set_optional(&mut a.client_secret_env, &flags.client_secret_env);
    if let Some(params) = params {
        a.extra_params = params;
    }
}

/// The three Validate options (endpoints, issuer name, token issuer name), as OpenId
/// Authentication and a service user with an authority have them.
fn apply_validate_options(
    flags: &ConnectorFlags,
    [endpoints, issuer, token_issuer]: [&mut bool; 3],
) {
    toggle(
        endpoints,
        flags.validate_endpoints,
        flags.no_validate_endpoints,
    );
    toggle(
        issuer,
        flags.validate_issuer_name,
        flags.no_validate_issuer_name,
    );
    toggle(
        token_issuer,
        flags.validate_token_issuer_name,
        flags.no_validate_token_issuer_name,
    );
}

/// Any URL of the realm becomes the realm URL; the change is said on stderr.
fn set_authority(slot: &mut String, value: &Option<String>) {
    if let Some(value) = value {
        let (authority, note) = normalise_authority(value);
        if let Some(note) = note {
            eprintln!("note: {note}");
        }
        *slot = authority;
    }
}

/// "Stay signed in" is the offline_access scope, switched in the connector's scopes.
fn apply_offline_access(flags: &ConnectorFlags, auth: &mut Auth) {
    let on = match (flags.offline_access, flags.no_offline_access) {
        (true, _) => true,
        (_, true) => false,
        _ => return,
    };
    let slot = match auth {
        Auth::OpenId(a) => &mut a.scopes,
        Auth::OAuth2(a) => &mut a.scopes,
        // A service user gets a new token whenever it needs one: there is no session to keep.
        Auth::ClientCredentials(_) => return,
    };
    *slot = scopes::with_scope(slot, scopes::OFFLINE_ACCESS, on);
}

fn reject_for(flags: &ConnectorFlags, kind: AuthKind) -> Result<(), Failure> {
    use AuthKind::{ClientCredentials as Cc, OAuth2, OpenId};
    let type_flags: &[(&str, bool, &[AuthKind])] = &[
        ("--authority", flags.authority.is_some(), &[OpenId, Cc]),
        (
            "--authorization-endpoint",
            flags.authorization_endpoint.is_some(),
            &[OAuth2],
        ),
        (
            "--token-endpoint",
            flags.token_endpoint.is_some(),
            &[OAuth2, Cc],
        ),
        ("--issuer", flags.issuer.is_some(), &[OAuth2]),
        (
            "--client-secret-stdin",
            flags.client_secret_stdin,
            &[OAuth2, Cc],
        ),
        (
            "--remove-client-secret",
            flags.remove_client_secret,
            &[OAuth2, Cc],
        ),
        (
            "--client-secret-env",
            flags.client_secret_env.is_some(),
            &[OAuth2, Cc],
        ),
        ("--no-pkce", flags.no_pkce, &[OAuth2]),
        ("--pkce", flags.pkce, &[OAuth2]),
        (
            "--no-validate-endpoints",
            flags.no_validate_endpoints,
            &[OpenId, Cc],
        ),
        (
            "--validate-endpoints",
            flags.validate_endpoints,
            &[OpenId, Cc],
        ),
        (
            "--no-validate-issuer-name",
            flags.no_validate_issuer_name,
            &[OpenId, Cc],
        ),
        (
            "--validate-issuer-name",
            flags.validate_issuer_name,
            &[OpenId, Cc],
        ),
        (
            "--no-validate-token-issuer-name",
            flags.no_validate_token_issuer_name,
            &[OpenId, Cc],
        ),
        (
            "--validate-token-issuer-name",
            flags.validate_token_issuer_name,
            &[OpenId, Cc],
        ),
        ("--no-par", flags.no_par, &[OpenId]),
        ("--par", flags.par, &[OpenId]),
        ("--offline-access", flags.offline_access, &[OpenId, OAuth2]),
        (
            "--no-offline-access",
            flags.no_offline_access,
            &[OpenId, OAuth2],
        ),
        (
            "--prefill-user-email",
            flags.prefill_user_email.is_some(),
            &[OpenId, OAuth2],
        ),
    ];
    match type_flags
        .iter()
        .find(|(_, given, kinds)| *given && !kinds.contains(&kind))
    {
        None => Ok(()),
        Some((flag, _, kinds)) => Err(Failure::usage(format!(
            "{flag} does not apply to {}; use --auth {} for it",
            kind.label(),
            kinds
                .iter()
                .map(|k| k.short())
                .collect::<Vec<_>>()
                .join(" or ")
        ))),
    }
}

fn set(slot: &mut String, value: &Option<String>) {
    if let Some(value) = value {
        slot.clone_from(value);
    }
}

/// An optional text field: a given "" clears it.
fn set_optional(slot: &mut Option<String>, value: &Option<String>) {
    if let Some(value) = value {
        *slot = (!value.trim().is_empty()).then(|| value.clone());
    }
}

fn set_email(slot: &mut Option<String>, value: &Option<String>) {
    if let Some(value) = value {
        *slot = (!value.trim().is_empty()).then(|| value.clone());
    }
}

fn toggle(slot: &mut bool, on: bool, off: bool) {
    if on {
        *slot = true;
    }
    if off {
        *slot = false;
    }
}

fn parse_params(flags: &ConnectorFlags) -> Result<Option<Vec<Param>>, Failure> {
    if flags.clear_params {
        return Ok(Some(Vec::new()));
    }
    if flags.params.is_empty() {
        return Ok(None);
    }
    flags
        .params
        .iter()
        .map(|p| validate::param_assignment(p).map_err(|m| Failure::usage(format!("--param: {m}"))))
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

fn secret_change(flags: &ConnectorFlags) -> Result<SecretChange, Failure> {
    if flags.remove_client_secret {
        return Ok(SecretChange::Remove);
    }
    if !flags.client_secret_stdin {
        return Ok(SecretChange::Keep);
    }
    let secret = read_secret_from_stdin()?;
    if secret.expose_secret().is_empty() {
        return Err(Failure::usage(
            "--client-secret-stdin read an empty secret; pipe the secret in, e.g. `pass show ifs | ifs-connect add ...`",
        ));
    }
    Ok(SecretChange::Set(secret))
}

/// Read the secret from a pipe, or ask for it without echo on a terminal.
fn read_secret_from_stdin() -> Result<SecretString, Failure> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return super::hidden_input::read_line("Client secret (input hidden): ")
            .map_err(|e| Failure::other(format!("cannot read the client secret: {e}")));
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .map_err(|e| Failure::other(format!("cannot read the client secret from stdin: {e}")))?;
    let trimmed = text.trim_end_matches(['\n', '\r']).to_owned();
    zeroize::Zeroize::zeroize(&mut text);
    Ok(SecretString::from(trimmed))
}

async fn save(
    context: &Context,
    connector: Connector,
    secret: SecretChange,
) -> Result<Connector, Failure> {
    let workspace = context.workspace.clone();
    blocking(move || workspace.save(connector, secret)).await
}

/// Run blocking core work (file I/O, keyring) off the async runtime.
pub(super) async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, WorkspaceError> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|_| Failure::other("an internal task stopped unexpectedly"))?
        .map_err(|e| match &e {
            WorkspaceError::Invalid(errors) => Failure::usage(describe(errors)),
            _ => Failure::from(e),
        })
}

/// Validation problems as the CLI user sees them: one line each, naming the flag.
fn describe(errors: &ValidationErrors) -> String {
    let lines: Vec<String> = errors
        .0
        .iter()
        .map(|e| format!("{} ({}): {}", e.field.label(), e.field.flag(), e.message))
        .collect();
    if lines.len() == 1 {
        lines.into_iter().next().unwrap_or_default()
    } else {
        format!(
            "the connector has {} problems:\n  {}",
            lines.len(),
            lines.join("\n  ")
        )
    }
}

fn print_saved(verb: &str, connector: &Connector) {
    println!(
        "{verb} connector '{}' ({}, agent group '{}').",
        connector.name,
        connector.auth_kind().label(),
        connector.agent_group
    );
    match connector.secret_source() {
        Some(SecretSource::Keyring) => println!("The client secret is stored in the OS keyring."),
        Some(SecretSource::Env(var)) => println!(
            "The client secret is read from the environment variable {var} at each login; \
             it is not stored, and tokens stay in the process that got them."
        ),
        None => {}
    }
    if connector.auth_kind().is_interactive() {
        println!(
            "Register this redirect URI on the IFS IAM client: {}",
            crate::core::login::registrable_redirect_uri(&connector.redirect_uri)
        );
    } else {
        println!(
            "The IAM client needs Service Accounts turned on and an IFS service user linked to it."
        );
    }
    println!(
        "Test it with: ifs-connect login {}",
        shell_word(&connector.name)
    );
}

/// Quote a name for a copy-pasteable command line when it needs it.
pub(super) fn shell_word(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c))
    {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn switching_auth_type_keeps_shared_fields() {
        let openid = Auth::OpenId(OpenIdAuth {
            display_name: "Prod".into(),
            client_id: "flow".into(),
            scopes: "openid profile".into(),
            extra_params: vec![Param::new("prompt", "select_account")],
            prefill_user_email: Some("a@b.co".into()),
            ..OpenIdAuth::default()
        });
        let Auth::OAuth2(a) = convert_auth(&openid, AuthKind::OAuth2) else {
            panic!()
        };
        assert_eq!(a.client_id, "flow");
        assert_eq!(a.scopes, "openid profile");
        assert_eq!(a.extra_params.len(), 1);
        assert_eq!(a.prefill_user_email.as_deref(), Some("a@b.co"));
        assert!(a.pkce);
    }

    #[test]
    fn flags_of_the_other_type_are_refused() {
        let flags = ConnectorFlags {
            authority: Some("https://x.example.com".into()),
            ..ConnectorFlags::default()
        };
        let mut c = Connector::new("x", Auth::OAuth2(OAuth2Auth::default()));
        let err = apply(&flags, &mut c).unwrap_err();
        assert_eq!(err.code, 2);
        assert!(
            err.message.contains("--authority does not apply"),
            "{}",
            err.message
        );
    }

    #[test]
    fn a_service_user_takes_its_own_flags_only() {
        let mut c = Connector::new(
            "svc",
            Auth::ClientCredentials(ClientCredentialsAuth {
                token_endpoint: Some("https://x.example.com/token".into()),
                ..ClientCredentialsAuth::default()
            }),
        );
        for flags in [
            ConnectorFlags {
                authorization_endpoint: Some("https://x.example.com/auth".into()),
                ..ConnectorFlags::default()
            },
            ConnectorFlags {
                prefill_user_email: Some("a@b.co".into()),
                ..ConnectorFlags::default()
            },
            ConnectorFlags {
                no_pkce: true,
                ..ConnectorFlags::default()
            },
        ] {
            let err = apply(&flags, &mut c).unwrap_err();
            assert!(
                err.message
                    .contains("does not apply to OAuth2 Client Credentials")
            );
        }
        // An authority replaces the token endpoint: one source of the endpoint at a time.
        let flags = ConnectorFlags {
            authority: Some("https://x.example.com/realms/r".into()),
            client_secret_env: Some("SVC_SECRET".into()),
            no_validate_endpoints: true,
            ..ConnectorFlags::default()
        };
        apply(&flags, &mut c).unwrap();
        let Auth::ClientCredentials(a) = &c.auth else {
            panic!()
        };
        assert_eq!(a.token_endpoint, None);
        assert_eq!(
            a.authority_url.as_deref(),
            Some("https://x.example.com/realms/r")
        );
        assert_eq!(a.client_secret_env.as_deref(), Some("SVC_SECRET"));
        assert!(!a.validate_endpoints);
    }

    #[test]
    fn switching_to_a_service_user_drops_browser_parameters() {
        let oauth2 = Auth::OAuth2(OAuth2Auth {
            client_id: "flow".into(),
            extra_params: vec![Param::new("prompt", "login")],
            ..OAuth2Auth::default()
        });
        let Auth::ClientCredentials(a) = convert_auth(&oauth2, AuthKind::ClientCredentials) else {
            panic!()
        };
        assert_eq!(a.client_id, "flow");
        assert!(a.extra_params.is_empty());
    }

    #[test]
    fn any_realm_url_becomes_the_authority_and_offline_access_is_a_scope() {
        let flags = ConnectorFlags {
            authority: Some(
                "https://ifs.example.com/auth/realms/prod/protocol/openid-connect/auth?client_id=x"
                    .into(),
            ),
            offline_access: true,
            ..ConnectorFlags::default()
        };
        let mut c = Connector::new("x", Auth::OpenId(OpenIdAuth::default()));
        apply(&flags, &mut c).unwrap();
        let Auth::OpenId(a) = &c.auth else { panic!() };
        assert_eq!(a.authority_url, "https://ifs.example.com/auth/realms/prod");
        assert_eq!(a.scopes, "openid offline_access");
        let off = ConnectorFlags {
            no_offline_access: true,
            ..ConnectorFlags::default()
        };
        apply(&off, &mut c).unwrap();
        assert_eq!(c.auth.scopes(), "openid");
    }

    #[test]
    fn shell_words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("prod"), "prod");
        assert_eq!(shell_word("my prod"), "'my prod'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
    }
}
