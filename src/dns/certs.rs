//! The TLS certificate and key of the encrypted listeners (DNS over TLS and over QUIC): read
//! from PEM files at start, checked to match, and read again on reload, where a bad new pair
//! keeps the old one serving.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Why a certificate and key cannot be used. Every variant names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it", path.display())]
    NoCertificate { path: PathBuf },
    #[error("{}: not a usable certificate: {reason}", path.display())]
    BadCertificate { path: PathBuf, reason: String },
    #[error("{}: no usable private key (PEM PKCS#8, PKCS#1 or SEC1): {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("{} does not match the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
}

/// What a reload of the files did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reloaded {
    /// The files hold what is already serving.
    Unchanged,
    /// A new certificate and key serve new connections.
    Replaced,
}

/// The certificate and key that new TLS and QUIC connections get; swapped on reload.
pub struct CertStore {
    cert_path: PathBuf,
    key_path: PathBuf,
    provider: Arc<CryptoProvider>,
    current: ArcSwap<CertifiedKey>,
    /// The file contents `current` was made from, to tell an unchanged pair.
    loaded_from: Mutex<(Vec<u8>, Vec<u8>)>,
}

impl std::fmt::Debug for CertStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertStore")
            .field("cert", &self.cert_path)
            .field("key", &self.key_path)
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Makes the serving pair from the files' contents.
fn certified(
    provider: &CryptoProvider,
    (cert_path, cert_pem): (&Path, &[u8]),
    (key_path, key_pem): (&Path, &[u8]),
) -> Result<CertifiedKey, CertError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertError::BadCertificate {
            path: cert_path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate {
            path: cert_path.to_path_buf(),
        });
    }
    let bad_key = |reason: String| CertError::BadKey {
        path: key_path.to_path_buf(),
        reason,
    };
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| bad_key(e.to_string()))?;
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| bad_key(e.to_string()))?;
    let pair = CertifiedKey::new(chain, signing);
    match pair.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(pair)
        }
        Err(rustls::Error::InconsistentKeys(_)) => Err(CertError::Mismatch {
            cert: cert_path.to_path_buf(),
            key: key_path.to_path_buf(),
        }),
        Err(e) => Err(CertError::BadCertificate {
            path: cert_path.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

impl CertStore {
    /// Reads and checks the pair; every error names the file at fault.
    pub fn load(cert_path: &Path, key_path: &Path) -> Result<Arc<CertStore>, CertError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let cert_pem = read(cert_path)?;
        let key_pem = read(key_path)?;
        let pair = certified(&provider, (cert_path, &cert_pem), (key_path, &key_pem))?;
        Ok(Arc::new(CertStore {
            cert_path: cert_path.to_path_buf(),
            key_path: key_path.to_path_buf(),
            provider,
            current: ArcSwap::from_pointee(pair),
            loaded_from: Mutex::new((cert_pem, key_pem)),
        }))
    }

    /// Reads the files again. A pair that cannot be used leaves the serving one in place.
    pub fn reload(&self) -> Result<Reloaded, CertError> {
        let cert_pem = read(&self.cert_path)?;
        let key_pem = read(&self.key_path)?;
        let mut loaded = self.loaded_from.lock().unwrap();
        if loaded.0 == cert_pem && loaded.1 == key_pem {
            return Ok(Reloaded::Unchanged);
        }
        let pair = certified(
            &self.provider,
            (&self.cert_path, &cert_pem),
            (&self.key_path, &key_pem),
        )?;
        self.current.store(Arc::new(pair));
        *loaded = (cert_pem, key_pem);
        Ok(Reloaded::Replaced)
    }

    /// Reloads and logs the outcome (for the reloader: SIGHUP, `POST /v1/reload`).
    pub fn reload_logged(&self) {
        match self.reload() {
            Ok(Reloaded::Replaced) => {
                tracing::info!(cert = %self.cert_path.display(), "TLS certificate reloaded")
            }
            Ok(Reloaded::Unchanged) => {}
            Err(e) => tracing::error!(
                problem = %e,
                "TLS certificate not reloaded; still serving the previous one"
            ),
        }
    }

    /// A rustls server configuration presenting the current pair (as of each handshake),
    /// offering `alpn`; TLS 1.3 only when `tls13_only` (QUIC), else TLS 1.2 and 1.3.
    pub fn server_config(self: &Arc<Self>, alpn: &[u8], tls13_only: bool) -> rustls::ServerConfig {
        let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
            &[&rustls::version::TLS13]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let mut config = rustls::ServerConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(versions)
            .expect("the ring provider supports TLS 1.2 and 1.3")
            .with_no_client_auth()
            .with_cert_resolver(self.clone());
        config.alpn_protocols = vec![alpn.to_vec()];
        config
    }
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current.load_full())
    }
}
