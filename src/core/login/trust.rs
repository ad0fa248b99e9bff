//! Which certificate authorities a login trusts, and what a refused certificate means in
//! plain words.
//!
//! Trusted: the OS store, **plus** `SSL_CERT_FILE` and `SSL_CERT_DIR`, plus the connector's
//! own CA file. rustls-native-certs reads those variables *instead of* the OS store; curl and
//! git (through OpenSSL) do the same. Adding them is what a user behind a TLS-inspecting
//! proxy needs: the proxy's CA on top, and every public site still trusted. On macOS and
//! Windows, where no public way exists to read the OS store apart from those variables, a
//! set variable replaces the OS store as rustls-native-certs does.

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::{CertificateError, RootCertStore};

use super::{ErrorKind, LoginError};
use crate::core::ca_bundle;

const CERT_FILE_VAR: &str = "SSL_CERT_FILE";
const CERT_DIR_VAR: &str = "SSL_CERT_DIR";

/// The TLS setup for every HTTPS call of one connector.
pub fn client_config(ca_file: Option<&str>) -> Result<rustls::ClientConfig, LoginError> {
    let mut anchors = os_roots();
    let os = anchors.len();
    let from_env = env_roots()?;
    let env = from_env.len();
    anchors.extend(from_env);
    let mut file = 0;
    if let Some(path) = ca_file {
        let certs = ca_bundle::load(Path::new(path)).map_err(|e| {
            LoginError::new(ErrorKind::Config, format!("the connector's CA file: {e}"))
                .with_hint("point it at a PEM file: ifs-connect edit NAME --ca-file CA.pem")
        })?;
        file = certs.len();
        anchors.extend(certs);
    }
    // SSL_CERT_FILE often names the OS bundle itself: count each CA once.
    anchors.sort_unstable_by(|a, b| a.as_ref().cmp(b.as_ref()));
    anchors.dedup();
    let mut roots = RootCertStore::empty();
    let (usable, _) = roots.add_parsable_certificates(anchors);
    tracing::debug!(os, env, ca_file = file, usable, "trust anchors loaded");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| LoginError::new(ErrorKind::Config, format!("could not set up TLS ({e})")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The OS store, without `SSL_CERT_FILE`/`SSL_CERT_DIR` (those are added apart).
fn os_roots() -> Vec<CertificateDer<'static>> {
    #[cfg(all(unix, not(target_os = "macos")))]
    if std::env::var_os(CERT_FILE_VAR).is_some() || std::env::var_os(CERT_DIR_VAR).is_some() {
        return distribution_roots();
    }
    let found = rustls_native_certs::load_native_certs();
    log_load_errors(&found.errors);
    found.certs
}

/// The distribution's CA directories (/etc/ssl/certs, /etc/pki/tls/certs, ...), which hold
/// both the bundle file and the single certificates: what rustls-native-certs reads when the
/// variables are unset.
#[cfg(all(unix, not(target_os = "macos")))]
fn distribution_roots() -> Vec<CertificateDer<'static>> {
    let mut certs = Vec::new();
    for dir in openssl_probe::candidate_cert_dirs() {
        let found = rustls_native_certs::load_certs_from_paths(None, Some(dir));
        log_load_errors(&found.errors);
        certs.extend(found.certs);
    }
    certs
}

/// `SSL_CERT_FILE` (a PEM bundle) and `SSL_CERT_DIR` (directories, `:`-separated). A set but
/// unusable variable is an error: the user meant it, and silently ignoring it would turn
/// into a confusing certificate error later.
fn env_roots() -> Result<Vec<CertificateDer<'static>>, LoginError> {
    let mut certs = Vec::new();
    if let Some(file) = std::env::var_os(CERT_FILE_VAR).filter(|v| !v.is_empty()) {
        let found = ca_bundle::load(Path::new(&file))
            .map_err(|e| env_error(CERT_FILE_VAR, &e.to_string()))?;
        certs.extend(found);
    }
    if let Some(dirs) = std::env::var_os(CERT_DIR_VAR) {
        for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                let text = format!("{} is not a directory", dir.display());
                return Err(env_error(CERT_DIR_VAR, &text));
            }
            let found = rustls_native_certs::load_certs_from_paths(None, Some(&dir));
            log_load_errors(&found.errors);
            certs.extend(found.certs);
        }
    }
    Ok(certs)
}

fn env_error(var: &str, problem: &str) -> LoginError {
    LoginError::new(ErrorKind::Config, format!("{var} is set, but {problem}")).with_hint(format!(
        "point {var} at your CA certificates (PEM), or unset it"
    ))
}

fn log_load_errors(errors: &[rustls_native_certs::Error]) {
    for e in errors {
        tracing::warn!("a CA certificate could not be loaded: {e}");
    }
}

/// A certificate the server presented and this program refused, in plain words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub reason: String,
    pub fix: &'static str,
}

/// The certificate problem behind `error`, if it is one (found anywhere in its causes).
pub fn refusal(error: &(dyn std::error::Error + 'static)) -> Option<Refusal> {
    causes(error).find_map(|e| match e.downcast_ref::<rustls::Error>() {
        Some(rustls::Error::InvalidCertificate(problem)) => Some(explain(problem)),
        _ => None,
    })
}

/// `error` and every error behind it. `io::Error::source` skips the error it wraps (it
/// returns that error's source), and TLS errors arrive wrapped in one, maybe twice: so an
/// `io::Error`'s inner error is visited too.
pub fn causes<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    let mut pending = vec![error];
    std::iter::from_fn(move || {
        let current = pending.pop()?;
        if let Some(next) = current.source() {
            pending.push(next);
        }
        if let Some(inner) = current
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            pending.push(inner);
        }
        Some(current)
    })
    .take(32)
}

const TRUST_FIX: &str = "if the host is right and uses a private or corporate CA (a TLS-inspecting proxy \
     has one too), trust that CA: `ifs-connect edit NAME --ca-file CA.pem`, or SSL_CERT_FILE=CA.pem; \
     verification cannot be turned off";
const EXPIRED_FIX: &str = "the server's certificate must be renewed by its administrator; if it is \
     current, check this computer's date and time";
const NAME_FIX: &str = "use the host name the certificate was issued for in the connector's URLs; \
     if that is right, the server presents the wrong certificate (ask its administrator)";

fn explain(problem: &CertificateError) -> Refusal {
    let (reason, fix) = match problem {
        CertificateError::UnknownIssuer => (
            "its certificate is issued by a certificate authority this computer does not trust"
                .to_owned(),
            TRUST_FIX,
        ),
        CertificateError::ExpiredContext { not_after, .. } => (
            format!("its certificate expired on {}", date(not_after.as_secs())),
            EXPIRED_FIX,
        ),
        CertificateError::Expired => ("its certificate has expired".to_owned(), EXPIRED_FIX),
        CertificateError::NotValidYetContext { not_before, .. } => (
            format!(
                "its certificate is not valid before {}",
                date(not_before.as_secs())
            ),
            EXPIRED_FIX,
        ),
        CertificateError::NotValidYet => {
            ("its certificate is not valid yet".to_owned(), EXPIRED_FIX)
        }
        CertificateError::NotValidForNameContext { presented, .. } if !presented.is_empty() => (
            format!(
                "its certificate is for {}, not for this host",
                presented
                    .iter()
                    .map(|n| plain_name(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            NAME_FIX,
        ),
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => (
            "its certificate is for another host name".to_owned(),
            NAME_FIX,
        ),
        CertificateError::Revoked => ("its certificate has been revoked".to_owned(), EXPIRED_FIX),
        CertificateError::BadSignature => (
            "its certificate's signature does not verify".to_owned(),
            TRUST_FIX,
        ),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => (
            "its certificate is not meant for a web server".to_owned(),
            NAME_FIX,
        ),
        other => (format!("its certificate was refused ({other})"), TRUST_FIX),
    };
    Refusal { reason, fix }
}

/// `DnsName("iam.example.com")` (how rustls lists the names a certificate holds) as
/// `iam.example.com`; `IpAddress(127.0.0.1)` as `127.0.0.1`.
fn plain_name(presented: &str) -> &str {
    for (prefix, suffix) in [("DnsName(\"", "\")"), ("IpAddress(", ")")] {
        if let Some(inner) = presented
            .strip_prefix(prefix)
            .and_then(|rest| rest.strip_suffix(suffix))
        {
            return inner;
        }
    }
    presented
}

/// `2026-01-31 12:00 UTC` for a Unix time.
fn date(secs: u64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    i64::try_from(secs)
        .ok()
        .and_then(|s| time::OffsetDateTime::from_unix_timestamp(s).ok())
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| format!("{secs} (Unix time)"))
}

#[cfg(test)]
mod tests {
    use rustls::pki_types::{ServerName, UnixTime};

    use super::*;

    fn wrapped(problem: CertificateError) -> std::io::Error {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(problem),
        )
    }

    #[test]
    fn certificate_problems_are_found_behind_io_errors_and_told_plainly() {
        let expired = wrapped(CertificateError::ExpiredContext {
            time: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_800_000_000)),
            not_after: UnixTime::since_unix_epoch(std::time::Duration::from_secs(1_767_225_600)),
        });
        let r = refusal(&expired).unwrap();
        assert_eq!(r.reason, "its certificate expired on 2026-01-01 00:00 UTC");
        assert!(r.fix.contains("clock") || r.fix.contains("date and time"));

        let name = wrapped(CertificateError::NotValidForNameContext {
            expected: ServerName::try_from("iam.example.com").unwrap().to_owned(),
            presented: vec!["DnsName(\"other.example.com\")".into()],
        });
        assert_eq!(
            refusal(&name).unwrap().reason,
            "its certificate is for other.example.com, not for this host"
        );

        let unknown = wrapped(CertificateError::UnknownIssuer);
        let r = refusal(&unknown).unwrap();
        assert!(r.reason.contains("does not trust"), "{}", r.reason);
        assert!(r.fix.contains("--ca-file") && r.fix.contains("SSL_CERT_FILE"));

        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(refusal(&refused), None);
        // Wrapped twice, as the TLS stream under the HTTP connector hands it up.
        let twice = std::io::Error::other(wrapped(CertificateError::UnknownIssuer));
        assert!(refusal(&twice).is_some());
    }

    #[test]
    fn a_connector_ca_file_that_went_away_is_a_config_error() {
        let err = client_config(Some("/nonexistent/ifs-connect/ca.pem")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Config);
        assert!(
            err.message
                .contains("/nonexistent/ifs-connect/ca.pem does not exist")
        );
        assert!(err.hint.unwrap().contains("--ca-file"));
    }
}
