//! CA bundles: PEM files of certificate authorities to trust, as a connector's `ca_file`,
//! `SSL_CERT_FILE` or the sandbox's own CA name them. One reader for all of them, so the
//! wizard, `add --ca-file` and the login say the same thing about the same file.

use std::io::Read;
use std::path::Path;

use rustls::RootCertStore;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

/// A bundle of every public CA is about 200 KiB; anything far bigger is not a CA bundle.
const SIZE_LIMIT: u64 = 16 * 1024 * 1024;

/// Why a file cannot serve as a CA bundle. The texts name the file and say what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    #[error("{path} does not exist")]
    Missing { path: String },
    #[error("{path} is a directory: give a PEM file of CA certificates")]
    Directory { path: String },
    #[error("cannot read {path} ({reason})")]
    Unreadable { path: String, reason: String },
    #[error("{path} is larger than 16 MiB: it is not a CA bundle")]
    TooLarge { path: String },
    #[error(
        "{path} is in DER (binary) form: convert it to PEM, e.g. \
         `openssl x509 -inform der -in {path} -out ca.pem`"
    )]
    Der { path: String },
    #[error("{path} holds no certificate: a PEM file with -----BEGIN CERTIFICATE----- is needed")]
    NoCertificate { path: String },
    #[error("certificate {index} in {path} cannot be read ({reason})")]
    Malformed {
        path: String,
        index: usize,
        reason: String,
    },
}

/// Every certificate in the PEM file at `path`, each checked to be usable as a trust
/// anchor. Other PEM sections (a private key by mistake, comments) are ignored.
pub fn load(path: &Path) -> Result<Vec<CertificateDer<'static>>, BundleError> {
    let shown = path.display().to_string();
    let bytes = read_limited(path, &shown)?;
    let mut certs = Vec::new();
    for (i, item) in CertificateDer::pem_slice_iter(&bytes).enumerate() {
        let cert = item.map_err(|e| BundleError::Malformed {
            path: shown.clone(),
            index: i + 1,
            reason: e.to_string(),
        })?;
        check_anchor(&cert, &shown, i + 1)?;
        certs.push(cert);
    }
    if certs.is_empty() {
        // A DER certificate starts with a SEQUENCE tag; say how to convert it.
        return Err(if bytes.first() == Some(&0x30) {
            BundleError::Der { path: shown }
        } else {
            BundleError::NoCertificate { path: shown }
        });
    }
    Ok(certs)
}

fn read_limited(path: &Path, shown: &str) -> Result<Vec<u8>, BundleError> {
    let unreadable = |e: std::io::Error| BundleError::Unreadable {
        path: shown.to_owned(),
        reason: e.to_string(),
    };
    let metadata = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => BundleError::Missing {
            path: shown.to_owned(),
        },
        _ => unreadable(e),
    })?;
    if metadata.is_dir() {
        return Err(BundleError::Directory {
            path: shown.to_owned(),
        });
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(SIZE_LIMIT + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > SIZE_LIMIT {
        return Err(BundleError::TooLarge {
            path: shown.to_owned(),
        });
    }
    Ok(bytes)
}

fn check_anchor(
    cert: &CertificateDer<'static>,
    path: &str,
    index: usize,
) -> Result<(), BundleError> {
    RootCertStore::empty()
        .add(cert.clone())
        .map_err(|e| BundleError::Malformed {
            path: path.to_owned(),
            index,
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_pem() -> String {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params.self_signed(&key).unwrap().pem()
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> std::path::PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_pem_bundle_gives_every_certificate_and_skips_other_sections() {
        let dir = tempfile::tempdir().unwrap();
        let text = format!(
            "# corporate roots\n{}-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n{}",
            ca_pem(),
            ca_pem()
        );
        let path = write(&dir, "bundle.pem", text.as_bytes());
        assert_eq!(load(&path).unwrap().len(), 2);
    }

    #[test]
    fn each_unusable_file_gets_its_own_reason() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope.pem");
        assert!(matches!(load(&missing), Err(BundleError::Missing { .. })));
        assert!(matches!(
            load(dir.path()),
            Err(BundleError::Directory { .. })
        ));
        let empty = write(&dir, "empty.pem", b"hello\n");
        let err = load(&empty).unwrap_err();
        assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
        let der = write(&dir, "ca.der", &[0x30, 0x82, 0x01, 0x0a]);
        let err = load(&der).unwrap_err();
        assert!(
            err.to_string().contains("openssl x509 -inform der"),
            "{err}"
        );
        let bad = write(
            &dir,
            "bad.pem",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        );
        let err = load(&bad).unwrap_err();
        assert!(
            matches!(err, BundleError::Malformed { index: 1, .. }),
            "{err}"
        );
    }
}
