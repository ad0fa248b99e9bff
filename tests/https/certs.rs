//! Certificates made by the test run: a throwaway CA, a good leaf, an expired one, one for
//! another host, and one from a CA nobody trusts. Written as PEM files the sandbox serves
//! (`--tls-cert`, `--tls-key`) and the product trusts (`SSL_CERT_FILE`, `--ca-file`).

use std::path::{Path, PathBuf};

use base64::Engine;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    PublicKeyData,
};
use sha2::{Digest, Sha256};

/// The name the proxy test gives the provider: it does not resolve on this machine.
pub const PROXIED_HOST: &str = "iam.ifs.test";

pub struct Ca {
    issuer: Issuer<'static, KeyPair>,
    pub pem: String,
}

impl Ca {
    pub fn new(name: &str) -> Ca {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let pem = params.self_signed(&key).unwrap().pem();
        Ca {
            issuer: Issuer::new(params, key),
            pem,
        }
    }

    /// A server certificate for `names`, valid from `from` to `until`.
    pub fn leaf(
        &self,
        names: &[&str],
        from: time::OffsetDateTime,
        until: time::OffsetDateTime,
    ) -> Leaf {
        let key = KeyPair::generate().unwrap();
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "test server");
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.not_before = from;
        params.not_after = until;
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        let spki = Sha256::digest(key.subject_public_key_info());
        Leaf {
            chain_pem: format!("{}{}", cert.pem(), self.pem),
            key_pem: key.serialize_pem(),
            spki_sha256: base64::engine::general_purpose::STANDARD.encode(spki),
        }
    }

    /// A leaf valid from an hour ago for a month.
    pub fn current_leaf(&self, names: &[&str]) -> Leaf {
        let now = time::OffsetDateTime::now_utc();
        self.leaf(
            names,
            now - time::Duration::hours(1),
            now + time::Duration::days(30),
        )
    }

    pub fn write(&self, dir: &Path, name: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, &self.pem).unwrap();
        path
    }
}

pub struct Leaf {
    pub chain_pem: String,
    pub key_pem: String,
    /// For Chromium's --ignore-certificate-errors-spki-list: the test browser is not under
    /// test, and this pins exactly this one key.
    pub spki_sha256: String,
}

impl Leaf {
    /// `[--tls-cert, CHAIN, --tls-key, KEY]` for the sandbox.
    pub fn sandbox_args(&self, dir: &Path, stem: &str) -> Vec<String> {
        let cert = dir.join(format!("{stem}.chain.pem"));
        let key = dir.join(format!("{stem}.key.pem"));
        std::fs::write(&cert, &self.chain_pem).unwrap();
        std::fs::write(&key, &self.key_pem).unwrap();
        vec![
            "--tls-cert".into(),
            cert.display().to_string(),
            "--tls-key".into(),
            key.display().to_string(),
        ]
    }
}
