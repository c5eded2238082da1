//! The rustls material shared by SBI clients and servers (TS 33.501 §13.1, TS 33.310):
//! the aws-lc-rs crypto provider, the ALPN list and PEM reading.

use std::sync::Arc;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};

/// ALPN protocols offered by SBI servers: HTTP/2 first, HTTP/1.1 for tools that need it.
pub const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// A TLS configuration that could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM input held no certificate.
    #[error(
        "no certificate found in the {what} PEM; expected '-----BEGIN CERTIFICATE-----' blocks"
    )]
    NoCertificate {
        /// Which input.
        what: &'static str,
    },
    /// A PEM input held no certificate revocation list.
    #[error("no CRL found in the {what} PEM; expected '-----BEGIN X509 CRL-----' blocks")]
    NoCrl {
        /// Which input.
        what: &'static str,
    },
    /// A PEM input could not be read.
    #[error("could not read the {what} PEM: {source}")]
    Pem {
        /// Which input.
        what: &'static str,
        /// The PEM error.
        source: rustls_pki_types::pem::Error,
    },
    /// rustls refused the configuration (e.g. the key does not match the certificate).
    #[error("TLS configuration rejected: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client CA bundle could not be used.
    #[error("client CA bundle unusable: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// The rustls crypto provider used throughout (aws-lc-rs, ENGINEERING.md).
pub fn crypto_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Reads every certificate of a PEM bundle.
pub fn certs_from_pem(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsSetupError::Pem { what, source })?;
    if certs.is_empty() {
        return Err(TlsSetupError::NoCertificate { what });
    }
    Ok(certs)
}

/// Reads every certificate revocation list (`-----BEGIN X509 CRL-----`) from PEM; none is an
/// error.
pub fn crls_from_pem(
    pem: &[u8],
    what: &'static str,
) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsSetupError> {
    let crls = CertificateRevocationListDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| TlsSetupError::Pem { what, source })?;
    if crls.is_empty() {
        return Err(TlsSetupError::NoCrl { what });
    }
    Ok(crls)
}

/// Reads one private key (PKCS#8, PKCS#1 or SEC1) from PEM.
pub fn key_from_pem(pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsSetupError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|source| TlsSetupError::Pem {
        what: "private key",
        source,
    })
}
