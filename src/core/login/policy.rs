//! The HTTPS rule and the three Validate options (NOTES.md section 2), as pure functions over a
//! discovery document, so each rule can be tested on its own and reported one by one.

use serde_json::Value;
use url::Url;

use super::{ErrorKind, LoginError};
use crate::core::validate::is_loopback_host;

/// Whether `key` names an endpoint that Validate Endpoints covers: every top-level key ending in
/// `endpoint` (any case), plus `jwks_uri` and `check_session_iframe`.
pub fn is_endpoint_key(key: &str) -> bool {
    key.to_ascii_lowercase().ends_with("endpoint")
        || key == "jwks_uri"
        || key == "check_session_iframe"
}

/// Every endpoint-like entry of a discovery document, in document order. Non-string values are
/// kept as `None` so they can be reported instead of silently skipped.
pub fn endpoint_entries(document: &Value) -> Vec<(String, Option<String>)> {
    let Some(object) = document.as_object() else {
        return Vec::new();
    };
    object
        .iter()
        .filter(|(key, _)| is_endpoint_key(key))
        .map(|(key, value)| (key.clone(), value.as_str().map(str::to_owned)))
        .collect()
}

/// An absolute http(s) URL, `http` only on a loopback host. Applies whatever the options say.
pub fn require_https(what: &str, value: &str) -> Result<Url, LoginError> {
    let url = Url::parse(value).map_err(|_| {
        LoginError::new(
            ErrorKind::Discovery,
            format!("{what} '{value}' is not an absolute URL"),
        )
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if url.host_str().is_some_and(is_loopback_host) => Ok(url),
        "http" => Err(LoginError::new(
            ErrorKind::InsecureEndpoint,
            format!("{what} '{value}' does not use HTTPS"),
        )
        .with_hint(
            "the provider must publish https URLs; plain http is only accepted on localhost and \
             127.0.0.1",
        )),
        other => Err(LoginError::new(
            ErrorKind::InsecureEndpoint,
            format!("{what} '{value}' has scheme '{other}', not https"),
        )),
    }
}

/// The HTTPS rule over every endpoint of the document (whatever Validate Endpoints says).
pub fn endpoints_use_https(document: &Value) -> Result<(), LoginError> {
    for (key, value) in endpoint_entries(document) {
        let Some(value) = value else {
            return Err(LoginError::new(
                ErrorKind::Discovery,
                format!("the discovery document's {key} is not a string"),
            ));
        };
        require_https(&key, &value)?;
    }
    Ok(())
}

/// Validate Issuer Name: `issuer` present and equal to the authority, each with one trailing `/`
/// removed, compared exactly.
pub fn issuer_matches(authority: &str, issuer: Option<&str>) -> Result<(), LoginError> {
    let Some(issuer) = issuer else {
        return Err(LoginError::new(
            ErrorKind::IssuerMismatch,
            "the discovery document has no issuer",
        )
        .with_hint("check the Authority URL, or turn off Validate Issuer Name"));
    };
    if strip_one_slash(issuer) == strip_one_slash(authority) {
        Ok(())
    } else {
        Err(LoginError::new(
            ErrorKind::IssuerMismatch,
            format!(
                "the provider says its issuer is '{issuer}' but the Authority URL is '{authority}'"
            ),
        )
        .with_hint(format!(
            "set the Authority URL to '{}' (case matters), or turn off Validate Issuer Name",
            strip_one_slash(issuer)
        )))
    }
}

fn strip_one_slash(value: &str) -> &str {
    value.strip_suffix('/').unwrap_or(value)
}

/// Validate Endpoints: every endpoint on the authority's host and port and below its path, at a
/// path-segment boundary (so `/realms/abc` does not admit `/realms/abcd/...`, unlike
/// IdentityModel's raw prefix test).
pub fn endpoints_within_authority(authority: &str, document: &Value) -> Result<(), LoginError> {
    let authority_url = Url::parse(authority).map_err(|_| {
        LoginError::new(
            ErrorKind::Discovery,
            format!("the Authority URL '{authority}' is not an absolute URL"),
        )
    })?;
    for (key, value) in endpoint_entries(document) {
        let Some(value) = value else {
            return Err(LoginError::new(
                ErrorKind::Discovery,
                format!("the discovery document's {key} is not a string"),
            ));
        };
        endpoint_within_authority(&key, &value, &authority_url)?;
    }
    Ok(())
}

fn endpoint_within_authority(key: &str, value: &str, authority: &Url) -> Result<(), LoginError> {
    let url = Url::parse(value).map_err(|_| {
        LoginError::new(
            ErrorKind::Discovery,
            format!("{key} '{value}' is not an absolute URL"),
        )
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(LoginError::new(
            ErrorKind::InsecureEndpoint,
            format!("{key} '{value}' is not an http(s) URL"),
        ));
    }
    let outside = |why: String| {
        LoginError::new(ErrorKind::EndpointOutsideAuthority, why).with_hint(
            "the provider publishes an endpoint the Authority does not cover: check the \
             Authority URL, or turn off Validate Endpoints if this is intended",
        )
    };
    // Url lower-cases hosts and drops default ports, so plain comparisons are the case-insensitive,
    // default-port-agnostic ones the rule asks for.
    let same_host = url.host_str() == authority.host_str()
        && url.port_or_known_default() == authority.port_or_known_default();
    if !same_host {
        return Err(outside(format!(
            "{key} '{value}' is on another host than the Authority '{}'",
            authority_text(authority)
        )));
    }
    if !within_path(&url, authority) {
        return Err(outside(format!(
            "{key} '{value}' is outside the Authority '{}'",
            authority_text(authority)
        )));
    }
    Ok(())
}

fn authority_text(authority: &Url) -> &str {
    strip_one_slash(authority.as_str())
}

/// The endpoint's normalised text starts with the authority's and the next character ends a
/// path segment (or nothing follows).
fn within_path(url: &Url, authority: &Url) -> bool {
    let base = authority_text(authority);
    match url.as_str().strip_prefix(base) {
        Some(rest) => rest.is_empty() || rest.starts_with(['/', '?', '#']),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const AUTH: &str = "https://ifs.example.com/auth/realms/prod";

    fn doc(key: &str, value: &str) -> Value {
        json!({
            "issuer": AUTH,
            "authorization_endpoint": format!("{AUTH}/protocol/openid-connect/auth"),
            "jwks_uri": format!("{AUTH}/protocol/openid-connect/certs"),
            key: value,
        })
    }

    #[test]
    fn endpoint_keys_follow_identitymodel() {
        for yes in [
            "token_endpoint",
            "Token_Endpoint",
            "pushed_authorization_request_endpoint",
            "jwks_uri",
            "check_session_iframe",
        ] {
            assert!(is_endpoint_key(yes), "{yes}");
        }
        for no in ["issuer", "mtls_endpoint_aliases", "endpoints", "jwks"] {
            assert!(!is_endpoint_key(no), "{no}");
        }
    }

    #[test]
    fn endpoints_within_authority_table() {
        let cases: &[(&str, Option<ErrorKind>)] = &[
            ("https://ifs.example.com/auth/realms/prod/x", None),
            ("https://IFS.example.com:443/auth/realms/prod/x", None),
            ("https://ifs.example.com/auth/realms/prod", None),
            ("https://ifs.example.com/auth/realms/prod?x=1", None),
            // The path-segment boundary fix: a raw prefix would admit this one.
            (
                "https://ifs.example.com/auth/realms/prodx/token",
                Some(ErrorKind::EndpointOutsideAuthority),
            ),
            (
                "https://ifs.example.com/auth/realms/other/token",
                Some(ErrorKind::EndpointOutsideAuthority),
            ),
            (
                "https://evil.example.com/auth/realms/prod/token",
                Some(ErrorKind::EndpointOutsideAuthority),
            ),
            (
                "https://ifs.example.com:8443/auth/realms/prod/token",
                Some(ErrorKind::EndpointOutsideAuthority),
            ),
            // Path comparison is case-sensitive, like the issuer.
            (
                "https://ifs.example.com/auth/realms/PROD/token",
                Some(ErrorKind::EndpointOutsideAuthority),
            ),
            ("not a url", Some(ErrorKind::Discovery)),
        ];
        for (value, want) in cases {
            let got = endpoints_within_authority(AUTH, &doc("token_endpoint", value))
                .err()
                .map(|e| e.kind);
            assert_eq!(got, *want, "{value}");
        }
    }

    #[test]
    fn authority_at_the_root_admits_every_path_on_its_host() {
        let d = json!({"token_endpoint": "https://ifs.example.com/token"});
        assert!(endpoints_within_authority("https://ifs.example.com", &d).is_ok());
    }

    #[test]
    fn https_rule_table() {
        let cases: &[(&str, Option<ErrorKind>)] = &[
            ("https://ifs.example.com/t", None),
            ("http://localhost:8080/t", None),
            ("http://LOCALHOST/t", None),
            ("http://127.0.0.1:1/t", None),
            (
                "http://ifs.example.com/t",
                Some(ErrorKind::InsecureEndpoint),
            ),
            ("http://127.0.0.2/t", Some(ErrorKind::InsecureEndpoint)),
            ("http://[::1]/t", Some(ErrorKind::InsecureEndpoint)),
            ("ftp://ifs.example.com/t", Some(ErrorKind::InsecureEndpoint)),
        ];
        for (value, want) in cases {
            let got = endpoints_use_https(&doc("userinfo_endpoint", value))
                .err()
                .map(|e| e.kind);
            assert_eq!(got, *want, "{value}");
        }
        let bad = json!({"token_endpoint": 5});
        assert_eq!(
            endpoints_use_https(&bad).unwrap_err().kind,
            ErrorKind::Discovery
        );
    }

    #[test]
    fn issuer_comparison_table() {
        let cases: &[(&str, Option<&str>, bool)] = &[
            (AUTH, Some(AUTH), true),
            (
                AUTH,
                Some("https://ifs.example.com/auth/realms/prod/"),
                true,
            ),
            (
                "https://ifs.example.com/auth/realms/prod/",
                Some(AUTH),
                true,
            ),
            (
                AUTH,
                Some("https://ifs.example.com/auth/realms/Prod"),
                false,
            ),
            (
                AUTH,
                Some("https://ifs.example.com/auth/realms/prod//"),
                false,
            ),
            (
                AUTH,
                Some("https://other.example.com/auth/realms/prod"),
                false,
            ),
            (AUTH, None, false),
        ];
        for (authority, issuer, ok) in cases {
            let got = issuer_matches(authority, *issuer);
            assert_eq!(got.is_ok(), *ok, "{authority} vs {issuer:?}");
            if let Err(e) = got {
                assert_eq!(e.kind, ErrorKind::IssuerMismatch);
            }
        }
        let e = issuer_matches(AUTH, Some("https://x.example.com/r")).unwrap_err();
        assert!(e.message.contains("https://x.example.com/r") && e.message.contains(AUTH));
    }

    #[test]
    fn the_real_keycloak_document_passes_against_its_authority() {
        let text = include_str!("../../../tests/fixtures/keycloak-discovery.json");
        let d: Value = serde_json::from_str(text).unwrap();
        let authority = "http://localhost:8080/auth/realms/master";
        endpoints_use_https(&d).unwrap();
        issuer_matches(authority, d["issuer"].as_str()).unwrap();
        endpoints_within_authority(authority, &d).unwrap();
        let other = "http://localhost:8080/auth/realms/mast";
        assert_eq!(
            endpoints_within_authority(other, &d).unwrap_err().kind,
            ErrorKind::EndpointOutsideAuthority
        );
    }
}
