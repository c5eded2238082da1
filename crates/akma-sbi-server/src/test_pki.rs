//! A throw-away PKI, access-token issuer and matching HTTP clients, for tests of this crate
//! and of the network-function crates (feature `test-pki`). Not for production use.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::{ClientConfig, RootCertStore, ServerConfig};

use crate::auth::{TokenAlg, VerificationKey};
use crate::tls::{self, ALPN};

/// A certificate and its private key, both PEM.
#[derive(Clone)]
pub struct CertAndKey {
    /// The certificate, PEM.
    pub cert_pem: String,
    /// The private key (PKCS#8), PEM.
    pub key_pem: String,
}

impl std::fmt::Debug for CertAndKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertAndKey").finish_non_exhaustive()
    }
}

/// A test certificate authority (ECDSA P-256).
pub struct TestPki {
    issuer: CertifiedIssuer<'static, KeyPair>,
    /// The serial number of the next leaf certificate.
    next_serial: std::sync::atomic::AtomicU64,
    /// Each issued leaf's serial number, by its PEM.
    serials: std::sync::Mutex<std::collections::HashMap<String, u64>>,
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

fn must<T, E: std::fmt::Display>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("test PKI: {what}: {e}"),
    }
}

fn ia5(s: &str) -> rcgen::string::Ia5String {
    must(s.try_into(), "SAN is not IA5")
}

impl TestPki {
    /// Makes a new CA.
    pub fn new() -> Self {
        let mut params = must(CertificateParams::new(Vec::<String>::new()), "CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "akma test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = must(KeyPair::generate(), "CA key");
        let issuer = must(CertifiedIssuer::self_signed(params, key), "CA certificate");
        Self {
            issuer,
            next_serial: std::sync::atomic::AtomicU64::new(1000),
            serials: std::sync::Mutex::default(),
        }
    }

    /// A CRL (PEM) from this CA revoking `revoked` (certificates it issued), valid from a day
    /// ago for 30 days.
    pub fn crl_pem(&self, revoked: &[&CertAndKey]) -> String {
        let now = time::OffsetDateTime::now_utc();
        let serials = self
            .serials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let revoked_certs = revoked
            .iter()
            .map(|c| rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from(
                    *serials
                        .get(&c.cert_pem)
                        .unwrap_or_else(|| panic!("test PKI: not a certificate of this CA")),
                ),
                revocation_time: now - time::Duration::hours(1),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            })
            .collect();
        let params = rcgen::CertificateRevocationListParams {
            this_update: now - time::Duration::days(1),
            next_update: now + time::Duration::days(30),
            crl_number: rcgen::SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        must(params.signed_by(&self.issuer), "CRL")
            .pem()
            .unwrap_or_else(|e| panic!("test PKI: CRL PEM: {e}"))
    }

    /// The CA certificate, PEM.
    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// Issues a leaf certificate with the given subjectAltNames, usable for both TLS server
    /// and client authentication (as NF certificates are).
    pub fn issue(&self, common_name: &str, sans: Vec<SanType>) -> CertAndKey {
        let mut params = must(CertificateParams::new(Vec::<String>::new()), "leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params.subject_alt_names = sans;
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let serial = self
            .next_serial
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        params.serial_number = Some(rcgen::SerialNumber::from(serial));
        let key = must(KeyPair::generate(), "leaf key");
        let cert = must(params.signed_by(&key, &self.issuer), "leaf certificate");
        let cert_pem = cert.pem();
        self.serials
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(cert_pem.clone(), serial);
        CertAndKey {
            cert_pem,
            key_pem: key.serialize_pem(),
        }
    }

    /// A server certificate for `localhost`, 127.0.0.1 and ::1.
    pub fn server_cert(&self) -> CertAndKey {
        self.issue(
            "localhost",
            vec![
                SanType::DnsName(ia5("localhost")),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ],
        )
    }

    /// An NF client certificate with SAN URI `urn:uuid:<nf_instance_id>` and DNS names.
    pub fn client_cert(&self, nf_instance_id: &str, dns_names: &[&str]) -> CertAndKey {
        let mut sans = vec![SanType::URI(ia5(&format!("urn:uuid:{nf_instance_id}")))];
        sans.extend(dns_names.iter().map(|d| SanType::DnsName(ia5(d))));
        self.issue(nf_instance_id, sans)
    }

    /// An NF certificate for both ends of its connections on loopback: SAN URI
    /// `urn:uuid:<nf_instance_id>` (its identity as a client), DNS `localhost`, 127.0.0.1
    /// and ::1 (as a server registered at an NRF by its IP address).
    pub fn nf_cert(&self, nf_instance_id: &str) -> CertAndKey {
        self.issue(
            nf_instance_id,
            vec![
                SanType::URI(ia5(&format!("urn:uuid:{nf_instance_id}"))),
                SanType::DnsName(ia5("localhost")),
                SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
                SanType::IpAddress(IpAddr::V6(Ipv6Addr::LOCALHOST)),
            ],
        )
    }

    /// A mutual-TLS server configuration for localhost trusting this CA for clients.
    pub fn mtls_server_config(&self) -> Arc<ServerConfig> {
        let s = self.server_cert();
        must(
            tls::mtls_server_config(
                s.cert_pem.as_bytes(),
                s.key_pem.as_bytes(),
                self.ca_pem().as_bytes(),
            ),
            "mTLS server config",
        )
    }

    /// A TLS server configuration for localhost without client authentication.
    pub fn tls_server_config(&self) -> Arc<ServerConfig> {
        let s = self.server_cert();
        must(
            tls::server_config(s.cert_pem.as_bytes(), s.key_pem.as_bytes(), None),
            "TLS server config",
        )
    }

    /// A rustls client configuration trusting only this CA, presenting `identity` if given,
    /// offering ALPN h2 and http/1.1.
    pub fn client_config(&self, identity: Option<&CertAndKey>) -> ClientConfig {
        let mut roots = RootCertStore::empty();
        for c in must(
            tls::certs_from_pem(self.ca_pem().as_bytes(), "CA"),
            "CA PEM",
        ) {
            must(roots.add(c), "CA root");
        }
        let builder = must(
            ClientConfig::builder_with_provider(tls::crypto_provider())
                .with_safe_default_protocol_versions(),
            "client protocol versions",
        )
        .with_root_certificates(roots);
        let mut cfg = match identity {
            Some(id) => {
                let chain = must(
                    tls::certs_from_pem(id.cert_pem.as_bytes(), "client certificate"),
                    "client cert PEM",
                );
                let key = must(tls::key_from_pem(id.key_pem.as_bytes()), "client key PEM");
                must(
                    builder.with_client_auth_cert(chain, key),
                    "client certificate and key",
                )
            }
            None => builder.with_no_client_auth(),
        };
        cfg.alpn_protocols = ALPN.iter().map(|p| p.to_vec()).collect();
        cfg
    }

    /// A reqwest client for `https://localhost:<port>` against a server of this PKI (it
    /// follows no redirects, as an SBI client must not).
    pub fn reqwest_client(&self, identity: Option<&CertAndKey>) -> reqwest::Client {
        must(
            reqwest::Client::builder()
                .tls_backend_preconfigured(self.client_config(identity))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .build(),
            "reqwest client",
        )
    }
}

/// A reqwest client speaking HTTP/2 with prior knowledge (h2c) to `http://` URLs.
pub fn h2c_client() -> reqwest::Client {
    must(
        reqwest::Client::builder()
            .http2_prior_knowledge()
            .no_proxy()
            .build(),
        "h2c client",
    )
}

/// A reqwest client speaking HTTP/1.1 only.
pub fn http1_client() -> reqwest::Client {
    must(
        reqwest::Client::builder().http1_only().no_proxy().build(),
        "HTTP/1.1 client",
    )
}

/// A test access-token issuer (the NRF's role): mints signed JWTs with
/// TS 29.510 `AccessTokenClaims`.
pub struct TestTokenIssuer {
    /// The `iss` it writes (an NF instance id).
    pub issuer: String,
    alg: TokenAlg,
    key: KeyPair,
    kid: Option<String>,
}

impl TestTokenIssuer {
    /// An ES256 issuer with a fresh P-256 key.
    pub fn es256(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            alg: TokenAlg::Es256,
            key: must(
                KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256),
                "ES256 key",
            ),
            kid: None,
        }
    }

    /// An RS256 issuer with a fresh 2048-bit RSA key.
    pub fn rs256(issuer: &str) -> Self {
        Self {
            issuer: issuer.to_owned(),
            alg: TokenAlg::Rs256,
            key: must(
                KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048),
                "RS256 key",
            ),
            kid: None,
        }
    }

    /// Sets the `kid` written into token headers and attached to the verification key.
    pub fn with_kid(mut self, kid: &str) -> Self {
        self.kid = Some(kid.to_owned());
        self
    }

    /// The public key for a [`crate::auth::TokenVerifierConfig`].
    pub fn verification_key(&self) -> VerificationKey {
        must(
            VerificationKey::from_pem(
                self.alg,
                self.key.public_key_pem().as_bytes(),
                self.kid.clone(),
            ),
            "verification key",
        )
    }

    /// The public key, PEM.
    pub fn public_key_pem(&self) -> String {
        self.key.public_key_pem()
    }

    /// Signs arbitrary claims.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let (alg, enc) = match self.alg {
            TokenAlg::Es256 => (
                jsonwebtoken::Algorithm::ES256,
                jsonwebtoken::EncodingKey::from_ec_pem(self.key.serialize_pem().as_bytes()),
            ),
            TokenAlg::Rs256 => (
                jsonwebtoken::Algorithm::RS256,
                jsonwebtoken::EncodingKey::from_rsa_pem(self.key.serialize_pem().as_bytes()),
            ),
        };
        let enc = must(enc, "encoding key");
        let mut header = jsonwebtoken::Header::new(alg);
        header.kid = self.kid.clone();
        must(jsonwebtoken::encode(&header, claims, &enc), "JWT signing")
    }

    /// Mints a token for consumer `sub`, audience `aud` (an NF type string or an array of
    /// NF instance ids), space-separated `scope`, valid for `ttl_secs` from now.
    pub fn mint(&self, sub: &str, aud: serde_json::Value, scope: &str, ttl_secs: i64) -> String {
        let now = akma_core::time::Clock::system().now_secs() as i64;
        self.sign(&serde_json::json!({
            "iss": self.issuer,
            "sub": sub,
            "aud": aud,
            "scope": scope,
            "exp": now + ttl_secs,
        }))
    }
}
