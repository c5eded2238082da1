//! The UE side of TS 33.535 Annex B.1.2: HTTPS to an AF that authenticates with its
//! certificate (rustls; no client certificate), a `User-Agent` carrying the `3gpp-akma`
//! product token, and the AF's Digest challenge answered with the A-KID and K_AF.
//!
//! As [`crate::client::UaConnector`] does, [`DigestClient`] asks the UE's AKMA API for the
//! current A-KID and K_AKMA at every connection and caches nothing. K_AF is the key of
//! AF_ID = FQDN ‖ `01 00 01 yy zz`, yy zz the cipher suite rustls negotiated on this
//! connection, so the challenge and the answer go over the same TLS connection.

use std::sync::Arc;

use akma_core::akma::{derive_k_af, AfId};
use akma_core::ids::{AKid, AfFqdn};
use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncWrite};

use crate::client::CurrentAkmaKeys;
use crate::digest::{self, AnswerError, Challenge, DigestError};
use crate::profile;

/// Why a Digest request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpsError {
    /// The TLS client could not be set up (CA file, provider).
    #[error("cannot set up TLS: {0}")]
    Setup(String),
    /// The AF's FQDN is not a valid TLS server name.
    #[error("{0:?} is not a TLS server name")]
    ServerName(String),
    /// The TLS handshake failed (untrusted or mismatched certificate, alert, closed socket).
    #[error("TLS handshake with {fqdn} failed: {detail}")]
    Tls {
        /// The AF.
        fqdn: String,
        /// rustls's reason.
        detail: String,
    },
    /// The HTTP exchange failed.
    #[error("HTTP request failed: {0}")]
    Http(String),
    /// The AF answered the first request with neither a 2xx nor a Digest challenge.
    #[error(
        "the AF answered {status} without a Digest challenge: it does not offer AKMA Digest here"
    )]
    NoChallenge {
        /// The status.
        status: u16,
    },
    /// The AF's `WWW-Authenticate` cannot be read.
    #[error("the AF's Digest challenge is unusable: {0}")]
    Challenge(#[from] DigestError),
    /// The challenge is not one the UE answers (another realm: the connection is dropped).
    #[error("{0}")]
    Answer(#[from] AnswerError),
    /// The UE has no AKMA context.
    #[error("the UE has no AKMA context: authenticate first")]
    NoAkmaContext,
}

/// What a Digest exchange gave.
#[derive(Debug, Clone)]
pub struct DigestAnswer {
    /// The final status.
    pub status: u16,
    /// The final body.
    pub body: Bytes,
    /// The A-KID sent as username (`None` if the AF answered without a challenge).
    pub a_kid: Option<AKid>,
    /// The AF_ID whose K_AF was used.
    pub af_id: AfId,
    /// The TLS version (`TLSv1.3` / `TLSv1.2`).
    pub tls: &'static str,
    /// The negotiated TLS cipher suite (IANA code point).
    pub suite: u16,
    /// The ALPN protocol agreed.
    pub alpn: Option<Vec<u8>>,
    /// Challenges received (2 when the first nonce was stale).
    pub challenges: u32,
}

/// A UE's HTTPS client for AKMA Digest (B.1.2).
#[derive(Clone)]
pub struct DigestClient {
    tls: tokio_rustls::TlsConnector,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl std::fmt::Debug for DigestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigestClient")
    }
}

enum Sender {
    H1(hyper::client::conn::http1::SendRequest<Empty<Bytes>>),
    H2(hyper::client::conn::http2::SendRequest<Empty<Bytes>>),
}

impl DigestClient {
    /// A client trusting the CAs of `ca_pem` (PEM), or the platform's roots when `None`;
    /// ALPN `h2`, `http/1.1`; rustls' safe defaults (TLS 1.3 and 1.2, TS 33.310 Annex E).
    pub fn new(ca_pem: Option<&[u8]>) -> Result<Self, HttpsError> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        match ca_pem {
            Some(pem) => {
                let mut n = 0;
                for c in CertificateDer::pem_slice_iter(pem) {
                    let c = c.map_err(|e| HttpsError::Setup(format!("CA PEM: {e}")))?;
                    roots
                        .add(c)
                        .map_err(|e| HttpsError::Setup(format!("CA certificate: {e}")))?;
                    n += 1;
                }
                if n == 0 {
                    return Err(HttpsError::Setup(
                        "no certificate in the CA PEM (expected -----BEGIN CERTIFICATE-----)"
                            .into(),
                    ));
                }
            }
            None => {
                let native = rustls_native_certs::load_native_certs();
                for c in native.certs {
                    let _ = roots.add(c);
                }
                if roots.is_empty() {
                    return Err(HttpsError::Setup(
                        "no platform CA certificates found; give a CA file".into(),
                    ));
                }
            }
        }
        let mut cfg = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| HttpsError::Setup(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        cfg.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Self::with_config(Arc::new(cfg)))
    }

    /// A client with a caller's rustls configuration (e.g. one TLS 1.3 suite only).
    pub fn with_config(config: Arc<rustls::ClientConfig>) -> Self {
        let provider = config.crypto_provider().clone();
        Self {
            tls: tokio_rustls::TlsConnector::from(config),
            provider,
        }
    }

    fn cnonce(&self) -> Result<String, HttpsError> {
        let mut b = [0u8; 16];
        self.provider
            .secure_random
            .fill(&mut b)
            .map_err(|_| HttpsError::Setup("no random source".into()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(b))
    }

    /// `GET path` on the AF `fqdn` over `socket`: TLS (the certificate must name `fqdn`),
    /// a first request with the `3gpp-akma` User-Agent, then the answer to its Digest
    /// challenge with the keys current now (once more if the AF says the nonce is stale).
    pub async fn get<S>(
        &self,
        keys: &dyn CurrentAkmaKeys,
        fqdn: &AfFqdn,
        socket: S,
        path: &str,
    ) -> Result<DigestAnswer, HttpsError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let name = ServerName::try_from(fqdn.as_str().to_owned())
            .map_err(|_| HttpsError::ServerName(fqdn.as_str().to_owned()))?;
        let tls = self
            .tls
            .connect(name, socket)
            .await
            .map_err(|e| HttpsError::Tls {
                fqdn: fqdn.as_str().to_owned(),
                detail: e.to_string(),
            })?;
        let (_, conn) = tls.get_ref();
        let suite = conn
            .negotiated_cipher_suite()
            .map(|s| u16::from(s.suite()))
            .ok_or_else(|| HttpsError::Http("no cipher suite after the handshake".into()))?;
        let version = match conn.protocol_version() {
            Some(rustls::ProtocolVersion::TLSv1_2) => "TLSv1.2",
            _ => "TLSv1.3",
        };
        let alpn = conn.alpn_protocol().map(<[u8]>::to_vec);
        let af_id = AfId::new(fqdn.clone(), profile::digest_ua_protocol(suite));
        let http = |e: &dyn std::fmt::Display| HttpsError::Http(e.to_string());
        let io = TokioIo::new(tls);
        let h2 = alpn.as_deref() == Some(b"h2");
        let mut sender = if h2 {
            let (s, c) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| http(&e))?;
            tokio::spawn(c);
            Sender::H2(s)
        } else {
            let (s, c) = hyper::client::conn::http1::handshake(io)
                .await
                .map_err(|e| http(&e))?;
            tokio::spawn(c);
            Sender::H1(s)
        };
        let ua = digest::user_agent();
        let mut authorization: Option<String> = None;
        let mut a_kid_sent = None;
        let mut challenges = 0u32;
        loop {
            let uri = if h2 {
                format!("https://{}{path}", fqdn.as_str())
            } else {
                path.to_owned()
            };
            let mut b = http::Request::get(uri)
                .header(http::header::USER_AGENT, &ua)
                .header(http::header::HOST, fqdn.as_str());
            if let Some(a) = &authorization {
                b = b.header(http::header::AUTHORIZATION, a);
            }
            let req = b.body(Empty::<Bytes>::new()).map_err(|e| http(&e))?;
            let resp = match &mut sender {
                Sender::H1(s) => {
                    s.ready().await.map_err(|e| http(&e))?;
                    s.send_request(req).await.map_err(|e| http(&e))?
                }
                Sender::H2(s) => {
                    s.ready().await.map_err(|e| http(&e))?;
                    s.send_request(req).await.map_err(|e| http(&e))?
                }
            };
            let status = resp.status().as_u16();
            let challenge = (status == 401)
                .then(|| find_challenge(resp.headers(), fqdn))
                .flatten();
            let body = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| http(&e))?
                .to_bytes();
            let done = |status| DigestAnswer {
                status,
                body: body.clone(),
                a_kid: a_kid_sent.clone(),
                af_id: af_id.clone(),
                tls: version,
                suite,
                alpn: alpn.clone(),
                challenges,
            };
            let challenge = match challenge {
                None if authorization.is_none() && !(200..300).contains(&status) => {
                    return Err(HttpsError::NoChallenge { status })
                }
                None => return Ok(done(status)),
                Some(c) => c?,
            };
            // Answer the first challenge, and a second only if the AF says the nonce was
            // stale (RFC 7616 §3.3); any other 401 to an answer is final.
            if challenges >= 2 || (authorization.is_some() && !challenge.stale) {
                return Ok(done(status));
            }
            challenges += 1;
            let (a_kid, k_akma) = keys.current().ok_or(HttpsError::NoAkmaContext)?;
            let k_af = derive_k_af(&k_akma, &af_id);
            let creds = digest::answer(
                &challenge,
                fqdn,
                &a_kid,
                &k_af,
                "GET",
                path,
                &self.cnonce()?,
                1,
            )?;
            authorization = Some(creds.to_header());
            a_kid_sent = Some(a_kid);
        }
    }
}

/// The Digest challenge among the `WWW-Authenticate` fields: the one whose realm is an AKMA
/// realm if several are offered; `Err` if the only Digest challenge is unusable.
fn find_challenge(
    headers: &http::HeaderMap,
    fqdn: &AfFqdn,
) -> Option<Result<Challenge, DigestError>> {
    let mut first: Option<Result<Challenge, DigestError>> = None;
    for v in headers.get_all(http::header::WWW_AUTHENTICATE) {
        let Ok(text) = v.to_str() else { continue };
        let r = Challenge::parse(text);
        if let Ok(c) = &r {
            if digest::realm_fqdn(&c.realm) == Some(fqdn.as_str()) {
                return Some(r);
            }
        }
        if first.is_none() && !matches!(r, Err(DigestError::NotDigest)) {
            first = Some(r);
        }
    }
    first
}
