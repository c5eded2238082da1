//! TLS and mutual TLS for the SBI (TS 33.501 §13.1, TS 33.310), with rustls on the
//! aws-lc-rs provider, and the peer identity taken from the client certificate.
//!
//! TS 33.310 §6.1.3c / TS 29.500 §5.2.7: an NF certificate carries its NF instance id as a
//! SAN URI `urn:uuid:<uuid>` and its FQDNs as SAN DNS names. [`PeerIdentity`] exposes both
//! to handlers as a request extension.

use std::sync::Arc;

use axum::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::CertificateDer;

use crate::problem::{ForbiddenCause, SbiError};

pub use akma_sbi_client::tls::{
    certs_from_pem, crls_from_pem, crypto_provider, key_from_pem, TlsSetupError, ALPN,
};
pub use akma_sbi_model::common::fields::is_uuid;
use rustls_pki_types::CertificateRevocationListDer;

/// A TLS server configuration (HTTP/2 and HTTP/1.1 by ALPN). With `client_ca_pem`, every
/// client must present a certificate chaining to one of those CAs (mutual TLS).
pub fn server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    build_server_config(cert_chain_pem, key_pem, client_ca_pem, Vec::new())
}

fn build_server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: Option<&[u8]>,
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    let chain = certs_from_pem(cert_chain_pem, "server certificate")?;
    let key = key_from_pem(key_pem)?;
    let provider = crypto_provider();
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match client_ca_pem {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certs_from_pem(ca, "client CA")? {
                roots.add(c)?;
            }
            // With CRLs, the revocation status of every certificate of the client's chain
            // below the trust anchor must be known (fail closed): a CRL from each issuing CA.
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .with_crls(crls)
                .build()?;
            builder.with_client_cert_verifier(verifier)
        }
        None => builder.with_no_client_auth(),
    };
    let mut cfg = builder.with_single_cert(chain, key)?;
    cfg.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
    Ok(Arc::new(cfg))
}

/// A mutual-TLS server configuration: [`server_config`] with a required client CA bundle.
pub fn mtls_server_config(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    server_config(cert_chain_pem, key_pem, Some(client_ca_pem))
}

/// [`mtls_server_config`] that also refuses client certificates revoked by `crls` (PEM
/// `X509 CRL` blocks, [`crls_from_pem`]): the status of each certificate of the client's
/// chain below the trust anchor must be known, so a CRL from every issuing CA is needed.
pub fn mtls_server_config_with_crls(
    cert_chain_pem: &[u8],
    key_pem: &[u8],
    client_ca_pem: &[u8],
    crls: Vec<CertificateRevocationListDer<'static>>,
) -> Result<Arc<ServerConfig>, TlsSetupError> {
    build_server_config(cert_chain_pem, key_pem, Some(client_ca_pem), crls)
}

/// Who is on the other end of a mutually authenticated connection, from the leaf
/// certificate's subjectAltName (TS 33.310 §6.1.3c).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct PeerIdentity {
    /// The NF instance id (lowercase UUID) from a SAN URI `urn:uuid:<uuid>`, if present.
    pub nf_instance_id: Option<String>,
    /// SAN DNS names.
    pub dns_names: Vec<String>,
    /// All SAN URIs, as written.
    pub uris: Vec<String>,
}

/// A client certificate whose SAN could not be read.
#[derive(Debug, thiserror::Error)]
#[error("could not parse the peer certificate: {0}")]
pub struct PeerCertError(String);

impl PeerIdentity {
    /// Reads the identity from a DER certificate.
    pub fn from_der(der: &[u8]) -> Result<Self, PeerCertError> {
        use x509_parser::extensions::GeneralName;
        let (_, cert) =
            x509_parser::parse_x509_certificate(der).map_err(|e| PeerCertError(e.to_string()))?;
        let mut id = PeerIdentity::default();
        let san = cert
            .subject_alternative_name()
            .map_err(|e| PeerCertError(e.to_string()))?;
        if let Some(san) = san {
            for name in &san.value.general_names {
                match name {
                    GeneralName::URI(u) => {
                        if id.nf_instance_id.is_none() {
                            if let Some(rest) = u
                                .get(..9)
                                .filter(|p| p.eq_ignore_ascii_case("urn:uuid:"))
                                .map(|_| &u[9..])
                            {
                                if is_uuid(rest) {
                                    id.nf_instance_id = Some(rest.to_ascii_lowercase());
                                }
                            }
                        }
                        id.uris.push((*u).to_owned());
                    }
                    GeneralName::DNSName(d) => id.dns_names.push((*d).to_owned()),
                    _ => {}
                }
            }
        }
        Ok(id)
    }

    /// Reads the identity from the leaf of a verified chain (`None` without a chain).
    pub fn from_chain(chain: Option<&[CertificateDer<'_>]>) -> Option<Self> {
        let leaf = chain?.first()?;
        match Self::from_der(leaf.as_ref()) {
            Ok(id) => Some(id),
            Err(e) => {
                tracing::warn!(error = %e, "verified client certificate has an unreadable SAN");
                None
            }
        }
    }
}

/// A handler argument of type `PeerIdentity` requires a client certificate: without one
/// the request is refused with 403 `UNAUTHORIZED_CONSUMER`. Use `Option<PeerIdentity>`
/// where the connection may be plain (development mode).
impl<S: Send + Sync> FromRequestParts<S> for PeerIdentity {
    type Rejection = SbiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, SbiError> {
        parts
            .extensions
            .get::<PeerIdentity>()
            .cloned()
            .ok_or_else(|| {
                SbiError::forbidden(
                    ForbiddenCause::UnauthorizedConsumer,
                    "this operation needs a mutually authenticated TLS connection",
                )
            })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for PeerIdentity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts.extensions.get::<PeerIdentity>().cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        assert!(!is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afa"));
        assert!(!is_uuid("3fa85f64x5717-4562-b3fc-2c963f66afa6"));
        assert!(!is_uuid("3fa85f64-5717-4562-b3fc-2c963f66afag"));
    }

    #[test]
    fn no_certificate_in_pem_is_a_clear_error() {
        let e = server_config(b"", b"", None).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
    }
}
