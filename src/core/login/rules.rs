//! The connector's own rules, checked again each time it is used: a config file edited by hand
//! must not send a token, a code or the client secret anywhere the saved form would refuse.

use super::policy;
use super::{ErrorKind, LoginError};
use crate::core::connector::Connector;
use crate::core::validate;

/// The connector's rules, checked again when it is used and not only when it was saved: a
/// hand-edited config file (`base_url = "http://..."`, an extra `request_uri`) must not send a
/// token or a secret where a saved one never could.
pub(super) fn check_as_saved(connector: &Connector) -> Result<(), LoginError> {
    let mut copy = connector.clone();
    let Err(errors) = validate::validate_connector(&mut copy) else {
        return Ok(());
    };
    let problems: Vec<String> = errors
        .0
        .iter()
        .filter(|e| guards_a_secret(e.field, connector))
        .map(|e| format!("{}: {}", e.field.label(), e.message))
        .collect();
    if problems.is_empty() {
        return Ok(());
    }
    Err(LoginError::new(
        ErrorKind::Config,
        format!(
            "the connector '{}' breaks its own rules as saved ({})",
            connector.name,
            problems.join("; ")
        ),
    )
    .with_hint(format!(
        "the config file was probably edited by hand: fix it with `ifs-connect edit {}`",
        connector.name
    )))
}

/// The rules that decide where a token, a code or the client secret may go: every URL, the
/// redirect URI and the extra parameters. (A name or scope the saved form would reject sends
/// nothing anywhere; an empty Base URL only skips the API probe.)
pub(super) fn guards_a_secret(field: validate::Field, connector: &Connector) -> bool {
    use validate::Field;
    match field {
        Field::BaseUrl => !connector.base_url.trim().is_empty(),
        Field::RedirectUri
        | Field::ProbePath
        | Field::AuthorityUrl
        | Field::AuthorizationEndpoint
        | Field::TokenEndpoint
        | Field::ExtraParams
        | Field::Issuer => true,
        _ => false,
    }
}

/// The API probe gets the access token, so its URL obeys the HTTPS rule and stays on the Base
/// URL's host.
pub(super) fn probe_url_allowed(base_url: &str, url: &str) -> Result<(), LoginError> {
    let probe = policy::require_https("the API probe URL", url)?;
    let base = url::Url::parse(base_url).ok();
    let same_host = base.is_some_and(|b| {
        b.host_str() == probe.host_str()
            && b.port_or_known_default() == probe.port_or_known_default()
    });
    if same_host {
        Ok(())
    } else {
        Err(LoginError::new(
            ErrorKind::Probe,
            format!("the API probe URL {url} is not on the Base URL's host"),
        )
        .with_hint("set a probe path below the Base URL"))
    }
}
