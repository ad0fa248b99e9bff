//! Validation and normalisation of connector fields, shared by the CLI and the TUI.
//!
//! Each field has its own function so a form can check a value as it is typed;
//! [`validate_connector`] runs them all and reports every problem at once.

use std::fmt;

use url::Url;

use super::connector::{Auth, ClientCredentialsAuth, Connector, Param};

/// The suffix an Authority URL may carry, stripped when normalising (NOTES.md section 2).
pub const WELL_KNOWN_SUFFIX: &str = ".well-known/openid-configuration";

/// Authorization-request parameters the program owns; extra parameters may not override them.
pub const RESERVED_PARAMS: &[&str] = &[
    "client_id",
    "redirect_uri",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "response_type",
    // These would move the response off the loopback (response_mode) or replace the checked
    // request wholesale (a request object or a pushed request_uri), bypassing the checks of
    // redirect_uri, state and PKCE.
    "request",
    "request_uri",
    "response_mode",
];

/// Token-request parameters the client credentials grant owns; extra parameters may not
/// override them (the secret least of all: it never goes into the config).
pub const TOKEN_RESERVED_PARAMS: &[&str] = &[
    "grant_type",
    "client_id",
    "client_secret",
    "client_assertion",
    "client_assertion_type",
    "scope",
];

/// Which input a problem belongs to, so a form can point at it and the CLI can name the flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    Name,
    AgentGroup,
    BaseUrl,
    RedirectUri,
    ProbePath,
    DisplayName,
    AuthorityUrl,
    AuthorizationEndpoint,
    TokenEndpoint,
    ClientId,
    ClientSecret,
    ClientSecretEnv,
    Scopes,
    ExtraParams,
    PrefillUserEmail,
    Issuer,
    CaFile,
}

impl Field {
    /// The label used on the seed page and in the wizard.
    pub fn label(self) -> &'static str {
        match self {
            Field::Name => "Name",
            Field::AgentGroup => "Agent Group",
            Field::BaseUrl => "Base URL",
            Field::RedirectUri => "Redirect URI",
            Field::ProbePath => "Probe path",
            Field::DisplayName => "Display name",
            Field::AuthorityUrl => "Authority URL",
            Field::AuthorizationEndpoint => "Authorization Endpoint",
            Field::TokenEndpoint => "Token Endpoint",
            Field::ClientId => "Client ID",
            Field::ClientSecret => "Client Secret",
            Field::ClientSecretEnv => "Client Secret variable",
            Field::Scopes => "Scopes",
            Field::ExtraParams => "Extra query parameters",
            Field::PrefillUserEmail => "Prefill User Email",
            Field::Issuer => "Issuer",
            Field::CaFile => "CA file",
        }
    }

    /// The command-line flag that sets this field.
    pub fn flag(self) -> &'static str {
        match self {
            Field::Name => "--name",
            Field::AgentGroup => "--agent-group",
            Field::BaseUrl => "--base-url",
            Field::RedirectUri => "--redirect-uri",
            Field::ProbePath => "--probe-path",
            Field::DisplayName => "--display-name",
            Field::AuthorityUrl => "--authority",
            Field::AuthorizationEndpoint => "--authorization-endpoint",
            Field::TokenEndpoint => "--token-endpoint",
            Field::ClientId => "--client-id",
            Field::ClientSecret => "--client-secret-stdin",
            Field::ClientSecretEnv => "--client-secret-env",
            Field::Scopes => "--scopes",
            Field::ExtraParams => "--param",
            Field::PrefillUserEmail => "--prefill-user-email",
            Field::Issuer => "--issuer",
            Field::CaFile => "--ca-file",
        }
    }
}

/// One specific problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: Field,
    pub message: String,
}

impl FieldError {
    pub fn new(field: Field, message: impl Into<String>) -> Self {
        Self {
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field.label(), self.message)
    }
}

/// Every problem found in a connector, in field order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("; "))
    }
}

impl ValidationErrors {
    pub fn for_field(&self, field: Field) -> Option<&FieldError> {
        self.0.iter().find(|e| e.field == field)
    }
}

/// Hosts for which plain `http` is allowed (NOTES.md section 2), compared case-insensitively.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host == "127.0.0.1"
}

/// A space inside a URL makes the url crate speak of "invalid international domain name",
/// which sends people looking at the host; say what is wrong.
fn refuse_spaces(value: &str) -> Result<(), String> {
    if value.chars().any(char::is_whitespace) {
        return Err(format!(
            "'{value}' contains a space: URLs cannot contain spaces (remove it, or write %20)"
        ));
    }
    Ok(())
}

/// An absolute http(s) URL; `http` only on a loopback host.
pub fn web_url(value: &str) -> Result<Url, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("enter a URL, e.g. https://ifs.example.com".into());
    }
    if value.chars().any(char::is_control) {
        // Not echoed: it could be a terminal escape.
        return Err("the URL contains control characters".into());
    }
    refuse_spaces(value)?;
    let url = Url::parse(value).map_err(|e| match e {
        url::ParseError::RelativeUrlWithoutBase => {
            format!("'{value}' is not an absolute URL: start it with https://")
        }
        other => format!("'{value}' is not a valid URL ({other})"),
    })?;
    match url.scheme() {
        "https" => {}
        "http" if url.host_str().is_some_and(is_loopback_host) => {}
        "http" => {
            return Err(format!(
                "'{value}' uses http: use https (plain http is only allowed on localhost and 127.0.0.1)"
            ));
        }
        other => return Err(format!("'{value}' has scheme '{other}': use https")),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("'{value}' has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "'{}' carries credentials: remove the user:password@ part",
            redact_userinfo(&url)
        ));
    }
    if url.fragment().is_some() {
        return Err(format!("'{value}' has a #fragment: remove it"));
    }
    Ok(url)
}

fn redact_userinfo(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

/// The Base URL of the IFS Cloud instance, normalised without a trailing `/`.
pub fn base_url(value: &str) -> Result<String, String> {
    let url = web_url(value)?;
    if url.query().is_some() {
        return Err("the Base URL cannot have a ?query".into());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// The Authority URL normalised as IdentityModel does (NOTES.md section 2): one trailing `/`
/// removed, a `.well-known/openid-configuration` suffix stripped.
pub fn authority_url(value: &str) -> Result<String, String> {
    let trimmed = value.trim();
    let url = web_url(trimmed)?;
    if url.query().is_some() {
        return Err("the Authority URL cannot have a ?query".into());
    }
    let mut text = url.as_str().to_owned();
    if text.len() >= WELL_KNOWN_SUFFIX.len()
        && text[text.len() - WELL_KNOWN_SUFFIX.len()..].eq_ignore_ascii_case(WELL_KNOWN_SUFFIX)
    {
        text.truncate(text.len() - WELL_KNOWN_SUFFIX.len());
    }
    if let Some(stripped) = text.strip_suffix('/') {
        text = stripped.to_owned();
    }
    Ok(text)
}

/// The discovery URL for a normalised authority.
pub fn discovery_url(authority: &str) -> String {
    format!("{}/{WELL_KNOWN_SUFFIX}", authority.trim_end_matches('/'))
}

/// An endpoint URL (authorization, token, issuer), kept as entered but checked.
pub fn endpoint_url(value: &str) -> Result<String, String> {
    web_url(value).map(|_| value.trim().to_owned())
}

/// The loopback redirect URI: `http://127.0.0.1[:port]/path`. No port means "any free port".
pub fn redirect_uri(value: &str) -> Result<String, String> {
    let value = value.trim();
    refuse_spaces(value)?;
    let url = Url::parse(value).map_err(|e| format!("'{value}' is not a valid URL ({e})"))?;
    if url.scheme() != "http" {
        return Err(format!(
            "'{value}' must use http: a loopback redirect is plain http on 127.0.0.1 (RFC 8252)"
        ));
    }
    match url.host_str() {
        Some("127.0.0.1") | Some("localhost") => {}
        _ => {
            return Err(format!(
                "'{value}' must point at 127.0.0.1: the program catches the redirect on this machine"
            ));
        }
    }
    if url.path().is_empty() || url.path() == "/" {
        return Err(format!(
            "'{value}' needs a path such as /callback, as registered on the IAM client"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("'{value}' cannot have a ?query or #fragment"));
    }
    Ok(value.to_owned())
}

/// Scope list, whitespace separated; OpenId Authentication needs `openid`.
pub fn scopes(value: &str, require_openid: bool) -> Result<String, String> {
    let list: Vec<&str> = value.split_whitespace().collect();
    if list.is_empty() {
        return Err("enter at least one scope; the default is openid".into());
    }
    if let Some(bad) = list
        .iter()
        .find(|s| s.chars().any(|c| c == '"' || c == '\\' || c.is_control()))
    {
        return Err(format!(
            "scope '{bad}' has a character scopes cannot contain"
        ));
    }
    if require_openid && !list.contains(&"openid") {
        return Err("OpenId Authentication needs the scope openid".into());
    }
    Ok(list.join(" "))
}

pub fn client_id(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("enter the IAM client's Client ID (it is case-sensitive)".into());
    }
    Ok(value.to_owned())
}

pub fn name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("enter a name for the connector".into());
    }
    if value.chars().count() > 100 {
        return Err("keep the name under 100 characters".into());
    }
    if value.chars().any(char::is_control) {
        return Err("the name cannot contain control characters".into());
    }
    Ok(value.to_owned())
}

pub fn agent_group(value: &str) -> Result<String, String> {
    name(value).map_err(|e| e.replace("the connector", "the agent group"))
}

/// A plain shape check: one `@`, something before it, a dotted domain after it.
pub fn email(value: &str) -> Result<String, String> {
    let value = value.trim();
    let shaped = value.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && !domain.contains('@')
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !value.chars().any(char::is_whitespace)
    });
    if shaped {
        Ok(value.to_owned())
    } else {
        Err(format!(
            "'{value}' is not an email address (expected name@example.com)"
        ))
    }
}

/// Parse `KEY=VALUE` as given on the command line or in the wizard.
pub fn param_assignment(text: &str) -> Result<Param, String> {
    let (key, value) = text
        .split_once('=')
        .ok_or_else(|| format!("'{text}' is not KEY=VALUE (for example prompt=select_account)"))?;
    let param = Param::new(key.trim(), value.trim());
    extra_param(&param)?;
    Ok(param)
}

pub fn extra_param(param: &Param) -> Result<(), String> {
    if param.key.is_empty() {
        return Err("a parameter needs a name, as in prompt=select_account".into());
    }
    if param
        .key
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(format!(
            "parameter name '{}' cannot contain spaces",
            param.key
        ));
    }
    if RESERVED_PARAMS.contains(&param.key.to_ascii_lowercase().as_str()) {
        return Err(format!(
            "'{}' is set by the program itself and cannot be overridden",
            param.key
        ));
    }
    Ok(())
}

pub fn extra_params(params: &[Param]) -> Result<(), String> {
    for p in params {
        extra_param(p)?;
    }
    let mut seen = std::collections::HashSet::new();
    if let Some(dup) = params.iter().find(|p| !seen.insert(p.key.as_str())) {
        return Err(format!("'{}' is given twice", dup.key));
    }
    Ok(())
}

/// Extra parameters of a client credentials token request: like the authorization request's,
/// but the token request's own parameters are the reserved ones.
pub fn token_params(params: &[Param]) -> Result<(), String> {
    extra_params_without_reserved(params)?;
    match params
        .iter()
        .find(|p| TOKEN_RESERVED_PARAMS.contains(&p.key.to_ascii_lowercase().as_str()))
    {
        Some(p) => Err(format!(
            "'{}' is set by the program itself and cannot be overridden",
            p.key
        )),
        None => Ok(()),
    }
}

fn extra_params_without_reserved(params: &[Param]) -> Result<(), String> {
    for p in params {
        if p.key.is_empty() {
            return Err("a parameter needs a name, as in audience=ifs".into());
        }
        if p.key.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(format!("parameter name '{}' cannot contain spaces", p.key));
        }
    }
    let mut seen = std::collections::HashSet::new();
    match params.iter().find(|p| !seen.insert(p.key.as_str())) {
        Some(dup) => Err(format!("'{}' is given twice", dup.key)),
        None => Ok(()),
    }
}

/// The name of an environment variable that holds a client secret: letters, digits and `_`,
/// not starting with a digit (what every shell can export). Only the name is ever stored.
pub fn env_var_name(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("enter the name of an environment variable, e.g. IFS_CLIENT_SECRET".into());
    }
    let mut chars = value.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if !first_ok || !value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        // Not echoed: a user who typed the secret itself here must not see it printed.
        return Err(
            "that is not an environment variable name: use letters, digits and _, not \
             starting with a digit (give the variable's name, never the secret itself)"
                .into(),
        );
    }
    if value.len() > 128 {
        return Err("keep the variable name under 128 characters".into());
    }
    Ok(value.to_owned())
}

/// Where a service user's token endpoint comes from: exactly one of the Token Endpoint and
/// the Authority URL (whose discovery document names it).
pub fn service_endpoint(
    token_endpoint: Option<&str>,
    authority: Option<&str>,
) -> Result<(), FieldError> {
    let given = |v: Option<&str>| v.is_some_and(|v| !v.trim().is_empty());
    match (given(token_endpoint), given(authority)) {
        (true, false) | (false, true) => Ok(()),
        (false, false) => Err(FieldError::new(
            Field::TokenEndpoint,
            "enter the Token Endpoint, or an Authority URL to discover it",
        )),
        (true, true) => Err(FieldError::new(
            Field::TokenEndpoint,
            "give the Token Endpoint or the Authority URL, not both: with an Authority URL the \
             token endpoint comes from its discovery document",
        )),
    }
}

/// A path below the Base URL; empty skips the API probe.
pub fn probe_path(value: &str) -> Result<String, String> {
    let value = value.trim().trim_start_matches('/');
    if value.contains("://") {
        return Err("give a path below the Base URL, not a full URL".into());
    }
    Ok(value.to_owned())
}

/// A CA bundle for the connector's HTTPS calls: the file must exist, be readable and hold at
/// least one PEM certificate. Normalised to an absolute path, so the connector means the same
/// file whatever directory it is used from.
pub fn ca_file(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("enter the path of a PEM file of CA certificates".into());
    }
    let path =
        std::path::absolute(value).map_err(|e| format!("'{value}' is not a usable path ({e})"))?;
    super::ca_bundle::load(&path).map_err(|e| e.to_string())?;
    path.into_os_string()
        .into_string()
        .map_err(|_| format!("'{value}' is not valid UTF-8: move the file to a plain path"))
}

/// Check every field and normalise the connector in place. Uniqueness of the name and
/// existence of the agent group are checked by the store, which sees all connectors.
pub fn validate_connector(connector: &mut Connector) -> Result<(), ValidationErrors> {
    let mut errors = Vec::new();
    let mut check = |field: Field, result: Result<String, String>, slot: &mut String| match result {
        Ok(normalised) => *slot = normalised,
        Err(message) => errors.push(FieldError::new(field, message)),
    };
    check(Field::Name, name(&connector.name), &mut connector.name);
    check(
        Field::AgentGroup,
        agent_group(&connector.agent_group),
        &mut connector.agent_group,
    );
    check(
        Field::BaseUrl,
        base_url(&connector.base_url),
        &mut connector.base_url,
    );
    check(
        Field::RedirectUri,
        redirect_uri(&connector.redirect_uri),
        &mut connector.redirect_uri,
    );
    check(
        Field::ProbePath,
        probe_path(&connector.probe_path),
        &mut connector.probe_path,
    );
    if let Some(path) = &mut connector.ca_file {
        check(Field::CaFile, ca_file(path), path);
    }
    match &mut connector.auth {
        Auth::OpenId(a) => {
            check(
                Field::AuthorityUrl,
                authority_url(&a.authority_url),
                &mut a.authority_url,
            );
            check(Field::ClientId, client_id(&a.client_id), &mut a.client_id);
            check(Field::Scopes, scopes(&a.scopes, true), &mut a.scopes);
            if let Err(m) = extra_params(&a.extra_params) {
                errors.push(FieldError::new(Field::ExtraParams, m));
            }
            check_email(&mut a.prefill_user_email, &mut errors);
        }
        Auth::OAuth2(a) => {
            check(
                Field::AuthorizationEndpoint,
                endpoint_url(&a.authorization_endpoint),
                &mut a.authorization_endpoint,
            );
            check(
                Field::TokenEndpoint,
                endpoint_url(&a.token_endpoint),
                &mut a.token_endpoint,
            );
            check(Field::ClientId, client_id(&a.client_id), &mut a.client_id);
            check(Field::Scopes, scopes(&a.scopes, false), &mut a.scopes);
            if let Err(m) = extra_params(&a.extra_params) {
                errors.push(FieldError::new(Field::ExtraParams, m));
            }
            check_email(&mut a.prefill_user_email, &mut errors);
            if let Some(issuer) = &mut a.issuer {
                match authority_url(issuer) {
                    Ok(n) => *issuer = n,
                    Err(m) => errors.push(FieldError::new(Field::Issuer, m)),
                }
            }
            check_env_name(&mut a.client_secret_env, &mut errors);
        }
        Auth::ClientCredentials(a) => validate_service_user(a, &mut errors),
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ValidationErrors(errors))
    }
}

/// The client credentials fields, normalised in place.
fn validate_service_user(a: &mut ClientCredentialsAuth, errors: &mut Vec<FieldError>) {
    clear_blank(&mut a.token_endpoint);
    clear_blank(&mut a.authority_url);
    if let Err(e) = service_endpoint(a.token_endpoint.as_deref(), a.authority_url.as_deref()) {
        errors.push(e);
    }
    let mut normalise =
        |field: Field, slot: &mut Option<String>, f: fn(&str) -> Result<String, String>| {
            if let Some(value) = slot {
                match f(value) {
                    Ok(n) => *value = n,
                    Err(m) => errors.push(FieldError::new(field, m)),
                }
            }
        };
    normalise(Field::TokenEndpoint, &mut a.token_endpoint, endpoint_url);
    normalise(Field::AuthorityUrl, &mut a.authority_url, authority_url);
    match client_id(&a.client_id) {
        Ok(n) => a.client_id = n,
        Err(m) => errors.push(FieldError::new(Field::ClientId, m)),
    }
    match scopes(&a.scopes, false) {
        Ok(n) => a.scopes = n,
        Err(m) => errors.push(FieldError::new(Field::Scopes, m)),
    }
    if let Err(m) = token_params(&a.extra_params) {
        errors.push(FieldError::new(Field::ExtraParams, m));
    }
    check_env_name(&mut a.client_secret_env, errors);
}

fn clear_blank(slot: &mut Option<String>) {
    if slot.as_deref().is_some_and(|v| v.trim().is_empty()) {
        *slot = None;
    }
}

fn check_env_name(slot: &mut Option<String>, errors: &mut Vec<FieldError>) {
    clear_blank(slot);
    if let Some(value) = slot {
        match env_var_name(value) {
            Ok(n) => *value = n,
            Err(m) => errors.push(FieldError::new(Field::ClientSecretEnv, m)),
        }
    }
}

fn check_email(slot: &mut Option<String>, errors: &mut Vec<FieldError>) {
    match slot.as_deref().map(str::trim) {
        None => {}
        Some("") => *slot = None,
        Some(value) => match email(value) {
            Ok(n) => *slot = Some(n),
            Err(m) => errors.push(FieldError::new(Field::PrefillUserEmail, m)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_space_in_a_url_says_so_instead_of_blaming_the_domain_name() {
        for error in [
            web_url("https://ifs example.com").unwrap_err(),
            base_url("https://ifs.example.com/my path").unwrap_err(),
            redirect_uri("http://127.0.0.1/call back").unwrap_err(),
        ] {
            assert!(error.contains("URLs cannot contain spaces"), "{error}");
            assert!(!error.contains("international"), "{error}");
        }
    }
    use crate::core::connector::{OAuth2Auth, OpenIdAuth};

    #[test]
    fn authority_normalisation_follows_identitymodel() {
        let cases = [
            (
                "https://ifs.example.com/auth/realms/prod",
                "https://ifs.example.com/auth/realms/prod",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/",
                "https://ifs.example.com/auth/realms/prod",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/.well-known/openid-configuration",
                "https://ifs.example.com/auth/realms/prod",
            ),
            (
                "https://ifs.example.com/auth/realms/prod/.WELL-KNOWN/OpenID-Configuration",
                "https://ifs.example.com/auth/realms/prod",
            ),
            (
                "  https://IFS.example.com/auth/realms/Prod  ",
                "https://ifs.example.com/auth/realms/Prod",
            ),
            (
                "http://127.0.0.1:8080/realm/",
                "http://127.0.0.1:8080/realm",
            ),
            ("http://LOCALHOST:9/x", "http://localhost:9/x"),
            ("https://ifs.example.com", "https://ifs.example.com"),
        ];
        for (input, want) in cases {
            assert_eq!(authority_url(input).as_deref(), Ok(want), "input {input}");
        }
    }

    #[test]
    fn urls_are_rejected_with_specific_reasons() {
        let cases = [
            ("", "enter a URL"),
            ("ifs.example.com", "not an absolute URL"),
            ("ftp://ifs.example.com", "scheme 'ftp'"),
            ("http://ifs.example.com", "uses http"),
            ("http://10.0.0.1", "uses http"),
            ("https://user:pw@ifs.example.com", "carries credentials"),
            ("https://ifs.example.com/#x", "#fragment"),
            ("https://exa mple.com", "URLs cannot contain spaces"),
            ("https://[::1", "not a valid URL"),
        ];
        for (input, want) in cases {
            let err = web_url(input).unwrap_err();
            assert!(err.contains(want), "{input}: {err}");
        }
        assert!(
            !web_url("https://user:secretpw@h.example.com")
                .unwrap_err()
                .contains("secretpw")
        );
    }

    #[test]
    fn http_is_allowed_only_on_loopback() {
        assert!(web_url("http://localhost:8080/x").is_ok());
        assert!(web_url("http://127.0.0.1/x").is_ok());
        assert!(web_url("http://LocalHost/x").is_ok());
        assert!(web_url("http://127.0.0.2/x").is_err());
        assert!(web_url("http://localhost.evil.com/x").is_err());
    }

    #[test]
    fn redirect_uri_must_be_loopback_http_with_a_path() {
        assert!(redirect_uri("http://127.0.0.1/callback").is_ok());
        assert!(redirect_uri("http://127.0.0.1:8400/callback").is_ok());
        assert!(
            redirect_uri("https://127.0.0.1/callback")
                .unwrap_err()
                .contains("must use http")
        );
        assert!(
            redirect_uri("http://0.0.0.0/callback")
                .unwrap_err()
                .contains("127.0.0.1")
        );
        assert!(
            redirect_uri("http://127.0.0.1")
                .unwrap_err()
                .contains("needs a path")
        );
    }

    #[test]
    fn scopes_need_openid_for_openid_authentication() {
        assert_eq!(
            scopes("  openid   profile ", true).as_deref(),
            Ok("openid profile")
        );
        assert!(scopes("profile", true).unwrap_err().contains("openid"));
        assert!(scopes("profile", false).is_ok());
        assert!(scopes("   ", false).unwrap_err().contains("at least one"));
    }

    #[test]
    fn protocol_parameters_cannot_be_overridden() {
        for key in RESERVED_PARAMS {
            let err = param_assignment(&format!("{key}=x")).unwrap_err();
            assert!(err.contains("cannot be overridden"), "{key}: {err}");
        }
        assert!(param_assignment("STATE=x").is_err());
        for key in ["request", "request_uri", "Response_Mode"] {
            let err = param_assignment(&format!("{key}=x")).unwrap_err();
            assert!(err.contains("cannot be overridden"), "{key}: {err}");
        }
        assert_eq!(
            param_assignment("prompt=select_account"),
            Ok(Param::new("prompt", "select_account"))
        );
        assert_eq!(param_assignment("acr_values=a=b").unwrap().value, "a=b");
        assert!(
            param_assignment("prompt")
                .unwrap_err()
                .contains("KEY=VALUE")
        );
        assert!(param_assignment("=x").unwrap_err().contains("needs a name"));
        let dup = [Param::new("prompt", "a"), Param::new("prompt", "b")];
        assert!(extra_params(&dup).unwrap_err().contains("twice"));
    }

    #[test]
    fn email_shape() {
        for ok in ["a@b.co", "first.last+tag@ifs.example.com"] {
            assert!(email(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a",
            "a@b",
            "@b.com",
            "a@@b.com",
            "a b@c.com",
            "a@.com",
            "a@b.",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_connector_reports_every_problem_at_once() {
        let mut c = Connector::new(
            "",
            Auth::OpenId(OpenIdAuth {
                authority_url: "http://idp.example.com".into(),
                scopes: "profile".into(),
                prefill_user_email: Some("nope".into()),
                ..OpenIdAuth::default()
            }),
        );
        c.base_url = "ifs".into();
        let errors = validate_connector(&mut c).unwrap_err();
        let fields: Vec<Field> = errors.0.iter().map(|e| e.field).collect();
        assert_eq!(
            fields,
            [
                Field::Name,
                Field::BaseUrl,
                Field::AuthorityUrl,
                Field::ClientId,
                Field::Scopes,
                Field::PrefillUserEmail
            ]
        );
    }

    fn service_user(token: Option<&str>, authority: Option<&str>) -> Connector {
        let mut c = Connector::new(
            "batch",
            Auth::ClientCredentials(ClientCredentialsAuth {
                token_endpoint: token.map(str::to_owned),
                authority_url: authority.map(str::to_owned),
                client_id: " svc ".into(),
                ..ClientCredentialsAuth::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        c
    }

    #[test]
    fn a_service_user_needs_exactly_one_endpoint_source() {
        let mut ok = service_user(None, Some("https://h.example.com/realms/x/"));
        validate_connector(&mut ok).unwrap();
        let Auth::ClientCredentials(a) = &ok.auth else {
            panic!()
        };
        assert_eq!(
            a.authority_url.as_deref(),
            Some("https://h.example.com/realms/x")
        );
        assert_eq!(a.client_id, "svc");
        let mut by_hand = service_user(Some("https://h.example.com/token"), Some("  "));
        validate_connector(&mut by_hand).unwrap();
        for (token, authority, want) in [
            (None, None, "or an Authority URL"),
            (
                Some("https://h.example.com/t"),
                Some("https://h.example.com"),
                "not both",
            ),
            (Some("http://h.example.com/t"), None, "uses http"),
        ] {
            let errors = validate_connector(&mut service_user(token, authority)).unwrap_err();
            let e = errors
                .for_field(Field::TokenEndpoint)
                .expect("a token endpoint error");
            assert!(e.message.contains(want), "{}", e.message);
        }
    }

    #[test]
    fn token_request_parameters_cannot_be_overridden() {
        for key in TOKEN_RESERVED_PARAMS {
            let err = token_params(&[Param::new(*key, "x")]).unwrap_err();
            assert!(err.contains("cannot be overridden"), "{key}: {err}");
        }
        assert!(token_params(&[Param::new("audience", "ifs")]).is_ok());
        let dup = [Param::new("audience", "a"), Param::new("audience", "b")];
        assert!(token_params(&dup).unwrap_err().contains("twice"));
    }

    #[test]
    fn env_var_names_are_names_not_secrets() {
        assert_eq!(env_var_name(" IFS_SECRET ").as_deref(), Ok("IFS_SECRET"));
        assert!(env_var_name("_x1").is_ok());
        for bad in ["", "1X", "A-B", "my secret", "s3cr3t!", "$IFS"] {
            assert!(env_var_name(bad).is_err(), "{bad}");
        }
        // Someone who pasted the secret itself does not see it echoed.
        assert!(
            !env_var_name("hunter2-secret!")
                .unwrap_err()
                .contains("hunter2")
        );
        let mut c = service_user(Some("https://h.example.com/t"), None);
        if let Auth::ClientCredentials(a) = &mut c.auth {
            a.client_secret_env = Some("not a name".into());
        }
        let errors = validate_connector(&mut c).unwrap_err();
        assert!(errors.for_field(Field::ClientSecretEnv).is_some());
    }

    #[test]
    fn a_ca_file_must_hold_a_certificate_and_is_kept_absolute() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let pem = params.self_signed(&key).unwrap().pem();
        std::fs::write(dir.path().join("ca.pem"), pem).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a certificate").unwrap();

        let good = dir.path().join("ca.pem").display().to_string();
        assert_eq!(ca_file(&format!(" {good} ")), Ok(good.clone()));
        let err = ca_file(&dir.path().join("notes.txt").display().to_string()).unwrap_err();
        assert!(err.contains("holds no certificate"), "{err}");
        let err = ca_file(&dir.path().join("gone.pem").display().to_string()).unwrap_err();
        assert!(err.ends_with("gone.pem does not exist"), "{err}");
        assert!(ca_file("  ").is_err());

        let mut c = Connector::new(
            "prod",
            Auth::OpenId(OpenIdAuth {
                authority_url: "https://h.example.com/auth/realms/x".into(),
                client_id: "flow".into(),
                ..OpenIdAuth::default()
            }),
        );
        c.base_url = "https://ifs.example.com".into();
        c.ca_file = Some(dir.path().join("notes.txt").display().to_string());
        let errors = validate_connector(&mut c).unwrap_err();
        assert_eq!(errors.0.len(), 1);
        assert_eq!(errors.0[0].field, Field::CaFile);
        c.ca_file = Some(good.clone());
        validate_connector(&mut c).unwrap();
        assert_eq!(c.ca_file, Some(good));
    }

    #[test]
    fn a_valid_connector_is_normalised() {
        let mut c = Connector::new(
            " prod ",
            Auth::OAuth2(OAuth2Auth {
                authorization_endpoint: "https://h.example.com/auth".into(),
                token_endpoint: "https://h.example.com/token".into(),
                client_id: " flow ".into(),
                prefill_user_email: Some("  ".into()),
                issuer: Some("https://h.example.com/realms/x/".into()),
                ..OAuth2Auth::default()
            }),
        );
        c.base_url = "https://ifs.example.com/".into();
        validate_connector(&mut c).unwrap();
        assert_eq!(c.name, "prod");
        assert_eq!(c.base_url, "https://ifs.example.com");
        let Auth::OAuth2(a) = &c.auth else { panic!() };
        assert_eq!(a.client_id, "flow");
        assert_eq!(a.prefill_user_email, None);
        assert_eq!(a.issuer.as_deref(), Some("https://h.example.com/realms/x"));
    }
}
