//! What results mean, said once: a login outcome's summary line, whether it was
//! cancelled, its claim rows, a connector's rows, and what a connector becomes when its
//! auth type is switched. The CLI and the TUI only lay these out.

use time::OffsetDateTime;

use super::connector::{
    Auth, AuthKind, ClientCredentialsAuth, Connector, LastTest, OAuth2Auth, OpenIdAuth, Param,
};
use super::login::{Claims, ErrorKind, LoginError, LoginOutcome, SignatureStatus};

/// One line for the list screen and the config: who signed in, or what went wrong (its
/// stable kind first, so a reader can search for it).
pub fn summary(outcome: &LoginOutcome) -> String {
    if let Some(error) = &outcome.error {
        return format!("{}: {}", error.kind.as_str(), error.message);
    }
    if !outcome.ok {
        return "the login failed".into();
    }
    match signed_in_as(outcome) {
        Some(who) => format!("signed in as {who}"),
        None => "signed in".into(),
    }
}

/// The person a login signed in as: email, else name, else subject.
pub fn signed_in_as(outcome: &LoginOutcome) -> Option<String> {
    let claims = outcome.claims.as_ref()?;
    claims
        .email
        .clone()
        .or_else(|| claims.name.clone())
        .or_else(|| claims.sub.clone())
}

/// A cancelled test says nothing about the connector: it is not recorded.
pub fn is_cancelled(outcome: &LoginOutcome) -> bool {
    outcome
        .error
        .as_ref()
        .is_some_and(|e| e.kind == ErrorKind::Cancelled)
}

/// What to remember of a test login on the connector, or `None` when it was cancelled.
pub fn last_test(outcome: &LoginOutcome, at: OffsetDateTime) -> Option<LastTest> {
    (!is_cancelled(outcome)).then(|| LastTest {
        ok: outcome.ok,
        at,
        summary: summary(outcome),
        ifs_user: super::ifs::who::user_of(outcome),
    })
}

/// The claims worth showing after a login, as (label, value) rows in reading order.
pub fn claim_rows(claims: &Claims) -> Vec<(&'static str, String)> {
    let audience = (!claims.aud.is_empty()).then(|| claims.aud.join(", "));
    let refresh = if claims.refresh_token {
        "received, kept in the OS keyring"
    } else {
        "none"
    };
    let signature = claims.signature.as_ref().map(|s| match s {
        SignatureStatus::Verified { alg } => format!("verified ({alg})"),
        SignatureStatus::NotVerifiedNoJwks => {
            "not verified: no JWKS known (set an issuer to check it)".into()
        }
        SignatureStatus::NotVerifiedAccessToken => {
            "not verified by ifs-connect: the access token's claims are shown for information; \
             the API checks the token"
                .into()
        }
    });
    let rows = [
        ("Issuer (iss)", claims.iss.clone()),
        ("Subject (sub)", claims.sub.clone()),
        ("Audience (aud)", audience),
        ("Email", claims.email.clone()),
        ("Name", claims.name.clone()),
        ("IFS user (upn)", claims.upn.clone()),
        ("Expires", claims.expires_at.clone()),
        ("Scopes", claims.scope.clone()),
        ("Refresh token", Some(refresh.to_owned())),
        ("Signature", signature),
    ];
    rows.into_iter()
        .filter_map(|(label, value)| value.filter(|v| !v.is_empty()).map(|v| (label, v)))
        .collect()
}

/// How much of a connector to show: everything (`show`), or what fits one screen
/// (the wizard's review, where the three Validate options share a row).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Density {
    Full,
    Compact,
}

/// A connector's settings as (label, value) rows; a secret only as what happens to it
/// (`secret`, for an OAuth2 client), never its value.
pub fn connector_rows(
    c: &Connector,
    secret: &str,
    density: Density,
) -> Vec<(&'static str, String)> {
    let full = density == Density::Full;
    let mut rows = vec![
        ("Name", c.name.clone()),
        ("Agent Group", c.agent_group.clone()),
        ("Base URL", c.base_url.clone()),
        ("Authentication Type", c.auth_kind().label().into()),
    ];
    if full {
        rows.push(("Display name", or_none(c.auth.display_name())));
    }
    match &c.auth {
        Auth::OpenId(a) => {
            rows.extend([
                ("Authority URL", a.authority_url.clone()),
                ("Client ID", a.client_id.clone()),
                ("Scopes", a.scopes.clone()),
                ("Extra query parameters", params_text(&a.extra_params)),
            ]);
            let options = ValidateOptions {
                endpoints: a.validate_endpoints,
                issuer_name: a.validate_issuer_name,
                token_issuer_name: a.validate_token_issuer_name,
                par: Some(a.use_par),
            };
            rows.extend(validate_rows(options, density));
            rows.push(("Prefill User Email", prefill(&a.prefill_user_email)));
        }
        Auth::OAuth2(a) => {
            rows.extend([
                ("Authorization Endpoint", a.authorization_endpoint.clone()),
                ("Token Endpoint", a.token_endpoint.clone()),
            ]);
            if full {
                let issuer = a.issuer.clone().unwrap_or_else(|| "not set".into());
                rows.push(("Issuer", issuer));
            }
            rows.extend([
                ("Client ID", a.client_id.clone()),
                ("Client Secret", secret.to_owned()),
                ("Scopes", a.scopes.clone()),
                ("Extra query parameters", params_text(&a.extra_params)),
                ("PKCE", on_off(a.pkce).into()),
                ("Prefill User Email", prefill(&a.prefill_user_email)),
            ]);
        }
        Auth::ClientCredentials(a) => rows.extend(service_rows(a, secret, density)),
    }
    rows
}

fn service_rows(
    a: &ClientCredentialsAuth,
    secret: &str,
    density: Density,
) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        (
            "Token Endpoint",
            a.token_endpoint
                .clone()
                .unwrap_or_else(|| "from the Authority URL's discovery".into()),
        ),
        (
            "Authority URL",
            a.authority_url.clone().unwrap_or_else(|| "not set".into()),
        ),
        ("Client ID", a.client_id.clone()),
        ("Client Secret", secret.to_owned()),
        ("Scopes", a.scopes.clone()),
        ("Token parameters", params_text(&a.extra_params)),
    ];
    // The Validate options apply to discovery, which only an authority brings.
    if a.authority_url.is_some() {
        let options = ValidateOptions {
            endpoints: a.validate_endpoints,
            issuer_name: a.validate_issuer_name,
            token_issuer_name: a.validate_token_issuer_name,
            par: None,
        };
        rows.extend(validate_rows(options, density));
    }
    rows
}

/// The three Validate options, and PAR where the type has it (a browser login).
struct ValidateOptions {
    endpoints: bool,
    issuer_name: bool,
    token_issuer_name: bool,
    par: Option<bool>,
}

fn validate_rows(o: ValidateOptions, density: Density) -> Vec<(&'static str, String)> {
    match density {
        Density::Full => {
            let mut rows = vec![
                ("Validate Endpoints", on_off(o.endpoints).into()),
                ("Validate Issuer Name", on_off(o.issuer_name).into()),
                (
                    "Validate Token Issuer Name",
                    on_off(o.token_issuer_name).into(),
                ),
            ];
            if let Some(par) = o.par {
                rows.push(("Pushed authorization (PAR)", on_off(par).into()));
            }
            rows
        }
        Density::Compact => {
            let mut text = format!(
                "endpoints {} · issuer name {} · token issuer {}",
                on_off(o.endpoints),
                on_off(o.issuer_name),
                on_off(o.token_issuer_name),
            );
            if let Some(par) = o.par {
                text.push_str(&format!(" · PAR {}", on_off(par)));
            }
            vec![("Validate", text)]
        }
    }
}

fn prefill(email: &Option<String>) -> String {
    email.clone().unwrap_or_else(|| "off".into())
}

fn or_none(value: &str) -> String {
    if value.is_empty() {
        "(none)".into()
    } else {
        value.to_owned()
    }
}

fn params_text(params: &[Param]) -> String {
    if params.is_empty() {
        return "none".into();
    }
    params
        .iter()
        .map(|p| format!("{}={}", p.key, p.value))
        .collect::<Vec<_>>()
        .join(" ")
}

fn on_off(value: bool) -> &'static str {
    if value { "on" } else { "off" }
}

/// The connector's auth as OpenId Authentication: itself, or a fresh one that keeps what
/// the types share (the extra parameters, the email to prefill, the client ID).
pub fn as_openid(auth: &Auth) -> OpenIdAuth {
    match auth {
        Auth::OpenId(a) => a.clone(),
        Auth::OAuth2(a) => OpenIdAuth {
            extra_params: a.extra_params.clone(),
            prefill_user_email: a.prefill_user_email.clone(),
            ..OpenIdAuth::default()
        },
        Auth::ClientCredentials(a) => OpenIdAuth {
            authority_url: a.authority_url.clone().unwrap_or_default(),
            validate_endpoints: a.validate_endpoints,
            validate_issuer_name: a.validate_issuer_name,
            validate_token_issuer_name: a.validate_token_issuer_name,
            ..OpenIdAuth::default()
        },
    }
}

/// The connector's auth as OAuth2 Authorization Code Flow, keeping what the types share.
pub fn as_oauth2(auth: &Auth) -> OAuth2Auth {
    match auth {
        Auth::OAuth2(a) => a.clone(),
        Auth::OpenId(a) => OAuth2Auth {
            extra_params: a.extra_params.clone(),
            prefill_user_email: a.prefill_user_email.clone(),
            ..OAuth2Auth::default()
        },
        Auth::ClientCredentials(a) => OAuth2Auth {
            token_endpoint: a.token_endpoint.clone().unwrap_or_default(),
            ..OAuth2Auth::default()
        },
    }
}

/// The connector's auth as a service user (client credentials). The authorization
/// request's parameters are not carried over: they mean nothing to a token request.
pub fn as_client_credentials(auth: &Auth) -> ClientCredentialsAuth {
    match auth {
        Auth::ClientCredentials(a) => a.clone(),
        Auth::OpenId(a) => ClientCredentialsAuth {
            authority_url: (!a.authority_url.is_empty()).then(|| a.authority_url.clone()),
            ..ClientCredentialsAuth::default()
        },
        Auth::OAuth2(a) => ClientCredentialsAuth {
            token_endpoint: (!a.token_endpoint.is_empty()).then(|| a.token_endpoint.clone()),
            ..ClientCredentialsAuth::default()
        },
    }
}

/// Switch a connector's auth type, keeping what the types share.
pub fn switch_auth(auth: &Auth, kind: AuthKind) -> Auth {
    match kind {
        AuthKind::OpenId => Auth::OpenId(as_openid(auth)),
        AuthKind::OAuth2 => Auth::OAuth2(as_oauth2(auth)),
        AuthKind::ClientCredentials => Auth::ClientCredentials(as_client_credentials(auth)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::login::LoginError;

    #[test]
    fn the_summary_names_the_user_or_the_error_and_never_claims_a_failed_login() {
        let ok = LoginOutcome {
            ok: true,
            claims: Some(Claims {
                sub: Some("u1".into()),
                email: Some("a@b.co".into()),
                ..Claims::default()
            }),
            ..LoginOutcome::default()
        };
        assert_eq!(summary(&ok), "signed in as a@b.co");
        let failed = LoginOutcome {
            error: Some(LoginError::new(ErrorKind::Timeout, "no redirect")),
            ..LoginOutcome::default()
        };
        assert_eq!(summary(&failed), "timeout: no redirect");
        let silent = LoginOutcome::default();
        assert!(!silent.ok);
        assert_eq!(summary(&silent), "the login failed");
    }

    #[test]
    fn a_cancelled_login_is_not_remembered() {
        let cancelled = LoginOutcome {
            error: Some(LoginError::new(ErrorKind::Cancelled, "cancelled")),
            ..LoginOutcome::default()
        };
        assert!(is_cancelled(&cancelled));
        let at = OffsetDateTime::UNIX_EPOCH;
        assert_eq!(last_test(&cancelled, at), None);
        let failed = LoginOutcome::default();
        assert_eq!(last_test(&failed, at).map(|t| t.ok), Some(false));
    }

    #[test]
    fn claim_rows_leave_out_what_is_missing() {
        let claims = Claims {
            sub: Some("alice".into()),
            signature: Some(SignatureStatus::Verified {
                alg: "RS256".into(),
            }),
            ..Claims::default()
        };
        let rows = claim_rows(&claims);
        let labels: Vec<&str> = rows.iter().map(|(l, _)| *l).collect();
        assert_eq!(labels, ["Subject (sub)", "Refresh token", "Signature"]);
        assert_eq!(rows[2].1, "verified (RS256)");
    }

    #[test]
    fn connector_rows_in_full_list_each_option_and_compact_ones_share_a_row() {
        let c = Connector::new("prod", Auth::OpenId(OpenIdAuth::default()));
        let full = connector_rows(&c, "none", Density::Full);
        let compact = connector_rows(&c, "none", Density::Compact);
        let has = |rows: &[(&str, String)], label| rows.iter().any(|(l, _)| *l == label);
        assert!(has(&full, "Validate Issuer Name") && !has(&full, "Validate"));
        assert!(has(&compact, "Validate") && !has(&compact, "Display name"));
        let prefill = compact.iter().find(|(l, _)| *l == "Prefill User Email");
        assert_eq!(prefill.map(|(_, v)| v.as_str()), Some("off"));
    }

    #[test]
    fn switching_type_keeps_the_shared_fields_and_nothing_else() {
        let openid = Auth::OpenId(OpenIdAuth {
            client_id: "flow".into(),
            extra_params: vec![Param::new("prompt", "login")],
            prefill_user_email: Some("a@example.com".into()),
            validate_endpoints: false,
            ..OpenIdAuth::default()
        });
        let Auth::OAuth2(oauth2) = switch_auth(&openid, AuthKind::OAuth2) else {
            panic!("not switched");
        };
        assert_eq!(oauth2.extra_params, [Param::new("prompt", "login")]);
        assert_eq!(oauth2.prefill_user_email.as_deref(), Some("a@example.com"));
        assert_eq!(oauth2.client_id, "", "type-specific fields start afresh");
        assert!(oauth2.pkce);
        assert_eq!(
            switch_auth(&openid, AuthKind::OpenId),
            openid,
            "same type: unchanged"
        );
    }
}

/// Where a text is shown. The core's fixes name commands (`ifs-connect edit NAME ...`); on
/// the command line NAME becomes the connector's name, in the TUI the command becomes the
/// key that does the same there.
#[derive(Debug, Clone, Copy)]
pub enum Face<'a> {
    Cli { name: &'a str },
    Tui,
}

/// The commands the core's fixes name, and what a TUI user does instead.
const TUI_EQUIVALENTS: &[(&str, &str)] = &[
    (
        "ifs-connect edit NAME --client-secret-stdin",
        "press Enter to edit this connector and give its client secret",
    ),
    (
        "ifs-connect edit NAME --ca-file CA.pem",
        "press Enter to edit this connector and set its CA file",
    ),
    (
        "ifs-connect edit NAME --offline-access",
        "press Enter to edit this connector and turn on Stay signed in",
    ),
    (
        "ifs-connect edit NAME",
        "press Enter to edit this connector",
    ),
    ("ifs-connect login NAME", "press r to log in again"),
    ("ifs-connect token NAME", "press r to log in again"),
];

/// The error's "Fix:" text for this face.
pub fn fix(error: &LoginError, face: Face<'_>) -> Option<String> {
    error.hint.as_deref().map(|hint| for_face(hint, face))
}

/// `text` with the commands it names made right for `face`.
pub fn for_face(text: &str, face: Face<'_>) -> String {
    match face {
        Face::Cli { name } => text.replace(" NAME", &format!(" {}", shell_word(name))),
        Face::Tui => {
            let mut text = text.to_owned();
            for (command, instead) in TUI_EQUIVALENTS {
                text = text
                    .replace(&format!("`{command}`"), instead)
                    .replace(command, instead);
            }
            text
        }
    }
}

/// A connector name as one shell word: quoted when it has anything but plain characters.
fn shell_word(name: &str) -> String {
    let plain = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_.@+".contains(c));
    if plain && !name.is_empty() {
        name.to_owned()
    } else {
        format!("'{}'", name.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod face_tests {
    use super::*;

    #[test]
    fn a_fix_names_the_real_connector_on_the_cli_and_a_key_in_the_tui() {
        let error = LoginError::new(ErrorKind::TokenRequest, "refused").with_hint(
            "check the Client ID (case-sensitive) and set the secret again with \
             `ifs-connect edit NAME --client-secret-stdin`",
        );
        let cli = fix(&error, Face::Cli { name: "prod" }).unwrap();
        assert!(
            cli.ends_with("`ifs-connect edit prod --client-secret-stdin`"),
            "{cli}"
        );
        let spaced = fix(&error, Face::Cli { name: "IFS test" }).unwrap();
        assert!(
            spaced.contains("ifs-connect edit 'IFS test' --client"),
            "{spaced}"
        );
        let tui = fix(&error, Face::Tui).unwrap();
        assert!(
            tui.ends_with("press Enter to edit this connector and give its client secret"),
            "{tui}"
        );
        assert!(!tui.contains("ifs-connect") && !tui.contains('`'), "{tui}");
        assert_eq!(
            for_face(
                "trust it: ifs-connect edit NAME --ca-file CA.pem, or",
                Face::Tui
            ),
            "trust it: press Enter to edit this connector and set its CA file, or"
        );
    }
}
