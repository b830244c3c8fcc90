//! The TLS client configuration: rustls with TLS 1.2 and 1.3 only, the server's certificate
//! checked against `--tls_server_certs` (or the system's authorities) and its host name, always.
//! There is no switch to turn verification off.

use std::{path::Path, sync::Arc};

use rustls::{ClientConfig, RootCertStore, version};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject as _};

#[derive(Debug, thiserror::Error)]
pub enum TlsSetupError {
    #[error("--tls_server_certs {path}: {detail}")]
    ServerCerts { path: String, detail: String },
    #[error("the system has no usable certificate authorities; give --tls_server_certs")]
    NoSystemRoots,
    #[error("--tls_client_cert {path}: {detail}")]
    ClientCert { path: String, detail: String },
    #[error("--tls_client_key {path}: {detail}")]
    ClientKey { path: String, detail: String },
    #[error("--tls_client_cert and --tls_client_key go together; give both or neither")]
    HalfClientAuth,
    #[error("the client certificate and key do not fit together: {0}")]
    ClientAuth(rustls::Error),
    #[error("TLS setup: {0}")]
    Rustls(rustls::Error),
}

fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|e| e.to_string())?
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    if certs.is_empty() {
        return Err("no PEM certificate in it".into());
    }
    Ok(certs)
}

fn roots(server_certs: Option<&Path>) -> Result<RootCertStore, TlsSetupError> {
    let mut store = RootCertStore::empty();
    match server_certs {
        Some(path) => {
            let fail = |detail: String| TlsSetupError::ServerCerts {
                path: path.display().to_string(),
                detail,
            };
            for cert in certificates(path).map_err(fail)? {
                store
                    .add(cert)
                    .map_err(|e| fail(format!("not a usable CA certificate: {e}")))?;
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                return Err(TlsSetupError::NoSystemRoots);
            }
        }
    }
    Ok(store)
}

/// The client's TLS configuration from the `--tls_*` flags.
pub fn client_config(
    server_certs: Option<&Path>,
    client_cert: Option<&Path>,
    client_key: Option<&Path>,
) -> Result<ClientConfig, TlsSetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&version::TLS13, &version::TLS12])
        .map_err(TlsSetupError::Rustls)?
        .with_root_certificates(roots(server_certs)?);
    let config = match (client_cert, client_key) {
        (None, None) => builder.with_no_client_auth(),
        (Some(cert), Some(key)) => {
            let chain = certificates(cert).map_err(|detail| TlsSetupError::ClientCert {
                path: cert.display().to_string(),
                detail,
            })?;
            let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsSetupError::ClientKey {
                path: key.display().to_string(),
                detail: e.to_string(),
            })?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(TlsSetupError::ClientAuth)?
        }
        _ => return Err(TlsSetupError::HalfClientAuth),
    };
    Ok(config)
}
