//! `sandbox --tls`: HTTPS with a certificate authority made for this run, so a newcomer can
//! try what real IFS Cloud always is (HTTPS, often with a private CA) on their own machine.
//!
//! The CA can sign only for 127.0.0.1, ::1 and localhost (X.509 name constraints), and its
//! private key is dropped as soon as the server's certificate is signed: trusting its
//! certificate, even system-wide, cannot let anyone impersonate another site.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, CidrSubnet, DnType, ExtendedKeyUsagePurpose,
    GeneralSubtree, IsCa, Issuer, KeyPair, KeyUsagePurpose, NameConstraints,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long the made CA and certificate are valid: longer than any demo, short enough that
/// a forgotten trusted copy expires soon.
const VALIDITY: Duration = Duration::from_secs(30 * 24 * 3600);
/// A client that connects and never finishes the handshake is dropped after this long.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("could not make the sandbox's certificates ({0})")]
    Mint(#[from] rcgen::Error),
    #[error("cannot write the sandbox's CA certificate to {path} ({source})")]
    WriteCa {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {path} ({reason})")]
    ReadPem { path: String, reason: String },
    #[error("cannot serve HTTPS with this certificate and key ({0})")]
    Config(#[from] rustls::Error),
}

/// Where the sandbox's HTTPS certificate comes from.
#[derive(Debug, Clone)]
pub enum TlsSource {
    /// Make a CA and a certificate for 127.0.0.1 and localhost; write the CA (PEM) here.
    Generate { ca_file: PathBuf },
    /// Serve this PEM chain and PEM key (tests bring expired, misnamed and untrusted ones).
    Files { cert: PathBuf, key: PathBuf },
}

/// The HTTPS setup of a running sandbox.
pub struct Tls {
    pub acceptor: TlsAcceptor,
    /// The CA file written for users to trust, when the sandbox made its own.
    pub ca_file: Option<PathBuf>,
}

impl Tls {
    pub fn prepare(source: &TlsSource) -> Result<Self, TlsError> {
        let (chain, key, ca_file) = match source {
            TlsSource::Generate { ca_file } => {
                let minted = mint()?;
                write_ca(ca_file, &minted.ca_pem)?;
                (minted.chain, minted.key, Some(ca_file.clone()))
            }
            TlsSource::Files { cert, key } => (read_chain(cert)?, read_key(key)?, None),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            ca_file,
        })
    }
}

struct Minted {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

/// A CA constrained to loopback names and a server certificate it signs; the CA's key does
/// not outlive this function.
fn mint() -> Result<Minted, rcgen::Error> {
    let now = time::OffsetDateTime::now_utc();
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.distinguished_name
        .push(DnType::CommonName, "ifs-connect sandbox CA (this run only)");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.name_constraints = Some(NameConstraints {
        permitted_subtrees: vec![
            GeneralSubtree::DnsName("localhost".into()),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                IpAddr::V4(Ipv4Addr::LOCALHOST),
                32,
            )),
            GeneralSubtree::IpAddress(CidrSubnet::from_addr_prefix(
                IpAddr::V6(Ipv6Addr::LOCALHOST),
                128,
            )),
        ],
        excluded_subtrees: Vec::new(),
    });
    ca.not_before = now - time::Duration::hours(1);
    ca.not_after = now + VALIDITY;
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let server_key = KeyPair::generate()?;
    let mut server = CertificateParams::new(vec![
        "127.0.0.1".to_owned(),
        "::1".to_owned(),
        "localhost".to_owned(),
    ])?;
    server
        .distinguished_name
        .push(DnType::CommonName, "ifs-connect sandbox");
    server.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    server.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    server.not_before = now - time::Duration::hours(1);
    server.not_after = now + VALIDITY;
    let server_cert = server.signed_by(&server_key, &issuer)?;
    Ok(Minted {
        ca_pem: ca_cert.pem(),
        chain: vec![server_cert.der().clone(), ca_cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    })
}

/// Write the CA certificate (public; no key) where users and `--add` can point at it.
fn write_ca(path: &Path, pem: &str) -> Result<(), TlsError> {
    let fail = |source| TlsError::WriteCa {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    // Written beside, then renamed: a login reading the old file never sees half a new one.
    let partial = path.with_extension("pem.partial");
    std::fs::write(&partial, pem).map_err(fail)?;
    std::fs::rename(&partial, path).map_err(fail)
}

fn read_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let chain = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| pem_error(path, e))?;
    if chain.is_empty() {
        return Err(TlsError::ReadPem {
            path: path.display().to_string(),
            reason: "no certificate in it".into(),
        });
    }
    Ok(chain)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| pem_error(path, e))
}

fn pem_error(path: &Path, e: rustls::pki_types::pem::Error) -> TlsError {
    TlsError::ReadPem {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

/// A listener for `axum::serve` that hands over connections once their TLS handshake is
/// done. Handshakes run in their own tasks, so one slow or silent client never holds up
/// the next.
pub struct TlsListener {
    handshaken: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(listener: TcpListener, acceptor: TlsAcceptor) -> std::io::Result<Self> {
        let local = listener.local_addr()?;
        let (tx, handshaken) = mpsc::channel(64);
        tokio::spawn(accept_loop(listener, acceptor, tx));
        Ok(Self { handshaken, local })
    }
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: TlsAcceptor,
    tx: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    loop {
        let (tcp, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("sandbox accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if tx.is_closed() {
            return;
        }
        let acceptor = acceptor.clone();
        let tx = tx.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(stream)) => {
                    let _ = tx.send((stream, peer)).await;
                }
                // A client that does not trust the CA ends the handshake: worth a debug line.
                Ok(Err(e)) => tracing::debug!("TLS handshake with a client failed: {e}"),
                Err(_) => tracing::debug!("a client did not finish the TLS handshake in time"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.handshaken.recv().await {
            Some(accepted) => accepted,
            // The accept loop only ends with the runtime; nothing more will come.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use rustls::client::danger::ServerCertVerifier;

    use super::*;

    #[test]
    fn the_made_ca_signs_a_loopback_certificate_that_rustls_accepts() {
        let minted = mint().unwrap();
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(minted.ca_pem.as_bytes()) {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls::client::WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .unwrap();
        let now = rustls::pki_types::UnixTime::now();
        for name in ["127.0.0.1", "localhost"] {
            let server_name = rustls::pki_types::ServerName::try_from(name).unwrap();
            verifier
                .verify_server_cert(&minted.chain[0], &minted.chain[1..], &server_name, &[], now)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let other = rustls::pki_types::ServerName::try_from("ifs.example.com").unwrap();
        assert!(
            verifier
                .verify_server_cert(&minted.chain[0], &minted.chain[1..], &other, &[], now)
                .is_err()
        );
        assert!(!minted.ca_pem.contains("PRIVATE KEY"));
    }
}
