//! The UE side of Ua* over TLS-PSK: [`UaConnector`] opens a TLS 1.3 (K_AF as external PSK) or
//! TLS 1.2 PSK connection to an AF.
//!
//! At every connection it asks the UE's AKMA API (that is, NAS) for the current K_AKMA and
//! A-KID, derives K_AF for the AF's FQDN and the connection's Ua* id, and forgets both when the
//! handshake ends: nothing is cached, so a re-authentication is used by the next connection
//! (TS 24.501 §4.21; the UE-side change request in the seeds). For TLS 1.2 the Ua* id depends
//! on the suite the server chose, so K_AF is derived inside the PSK callback, once the
//! ServerHello has been read.

use std::sync::{Arc, Mutex, OnceLock};

use akma_core::akma::{derive_k_af, AfId};
use akma_core::ids::{AKid, AfFqdn};
use akma_core::keys::{KAf, KAkma};
use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions, SslVerifyMode, SslVersion,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

use crate::profile::{self, IdentityError, Tls12Suite, TlsVersion};

/// What the connector asks for the current AKMA keys. `akma_ue::AkmaApi` implements it.
pub trait CurrentAkmaKeys: Send + Sync {
    /// The current A-KID and K_AKMA, read now from NAS; `None` before a primary
    /// authentication with SMC.
    fn current(&self) -> Option<(AKid, KAkma)>;
}

impl CurrentAkmaKeys for akma_ue::AkmaApi {
    fn current(&self) -> Option<(AKid, KAkma)> {
        self.current_akma_keys()
    }
}

/// One pair held by the caller, not read from NAS: for tests and benchmarks, and for showing
/// what a stale copy does (`akma demo --fault stale-a-kid`). A real UE application uses
/// `akma_ue::AkmaApi`, which reads NAS at every call.
#[derive(Clone)]
pub struct FixedAkmaKeys {
    /// The A-KID.
    pub a_kid: AKid,
    /// K_AKMA (zeroized on drop).
    pub k_akma: KAkma,
}

impl CurrentAkmaKeys for FixedAkmaKeys {
    fn current(&self) -> Option<(AKid, KAkma)> {
        Some((self.a_kid.clone(), self.k_akma.clone()))
    }
}

/// The client profile.
#[derive(Debug, Clone)]
pub struct ConnectorConfig {
    /// TLS 1.3 (default) or TLS 1.2 PSK.
    pub version: TlsVersion,
    /// TLS 1.2: also offer plain-PSK suites (no forward secrecy; default off).
    pub allow_plain_psk: bool,
    /// TLS 1.2: offer only these suites (OpenSSL names), e.g. `DHE-PSK-AES128-GCM-SHA256`.
    pub tls12_cipher_list: Option<String>,
    /// ALPN protocols to offer (default `h2`, `http/1.1`).
    pub alpn: Vec<Vec<u8>>,
}

impl Default for ConnectorConfig {
    fn default() -> Self {
        Self {
            version: TlsVersion::Tls13,
            allow_plain_psk: false,
            tls12_cipher_list: None,
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
        }
    }
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// The UE has no AKMA context (no primary authentication with SMC yet).
    #[error("the UE has no AKMA context: authenticate first")]
    NoAkmaContext,
    /// The A-KID cannot be sent as an OpenSSL PSK identity.
    #[error("{0}")]
    Identity(#[from] IdentityError),
    /// The server's TLS 1.2 identity hint is not `3GPP-AKMA` (TS 24.109 K.3).
    #[error("the AF's PSK identity hint is {0:?}, not \"3GPP-AKMA\"")]
    WrongHint(Option<String>),
    /// The handshake completed without the AKMA PSK (e.g. the server authenticated with a
    /// certificate): refused, as only the PSK authenticates the AF (openssl issue 6658).
    #[error("the AF did not use the AKMA PSK (it answered with certificate authentication or another suite)")]
    PskNotUsed,
    /// The TLS handshake failed (wrong key, alert, closed socket).
    #[error("TLS handshake with {fqdn} failed: {detail}")]
    Tls {
        /// The AF.
        fqdn: String,
        /// OpenSSL's reason.
        detail: String,
    },
    /// OpenSSL could not be set up.
    #[error("cannot set up TLS: {0}")]
    Setup(String),
}

/// The key material of one connection: dropped (and zeroized) when the handshake ends.
struct ConnKeys {
    identity: Vec<u8>,
    k_akma: KAkma,
    fqdn: AfFqdn,
    version: TlsVersion,
    /// The hint the server sent (TLS 1.2), for the error message.
    hint: Option<Option<String>>,
    /// The Ua* id the key was derived for.
    used: Option<akma_core::akma::UaProtocolId>,
}

type ConnRef = Arc<Mutex<Option<ConnKeys>>>;

fn conn_index() -> Result<openssl::ex_data::Index<Ssl, ConnRef>, openssl::error::ErrorStack> {
    static INDEX: OnceLock<openssl::ex_data::Index<Ssl, ConnRef>> = OnceLock::new();
    if let Some(i) = INDEX.get() {
        return Ok(*i);
    }
    let i = Ssl::new_ex_index::<ConnRef>()?;
    Ok(*INDEX.get_or_init(|| i))
}

/// A UE's connector to AFs.
#[derive(Clone)]
pub struct UaConnector {
    ctx: SslContext,
    config: Arc<ConnectorConfig>,
    suites: Arc<Vec<Tls12Suite>>,
}

impl std::fmt::Debug for UaConnector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UaConnector")
            .field("config", &self.config)
            .finish()
    }
}

/// A connection's outcome besides the stream.
#[derive(Debug, Clone)]
pub struct Connected {
    /// The A-KID presented.
    pub a_kid: AKid,
    /// The AF_ID whose K_AF was used.
    pub af_id: AfId,
    /// The TLS version.
    pub version: TlsVersion,
    /// The ALPN protocol agreed.
    pub alpn: Option<Vec<u8>>,
}

impl UaConnector {
    /// Builds the OpenSSL client context for the profile.
    pub fn new(config: ConnectorConfig) -> Result<Self, ConnectError> {
        let setup = |e: openssl::error::ErrorStack| ConnectError::Setup(e.to_string());
        let suites = profile::tls12_suites(config.allow_plain_psk);
        // A bare context: SslConnector::builder would load the system CA store (tens of ms),
        // which a PSK-only client never uses.
        let mut b = SslContextBuilder::new(SslMethod::tls_client()).map_err(setup)?;
        let v = match config.version {
            TlsVersion::Tls13 => SslVersion::TLS1_3,
            TlsVersion::Tls12 => SslVersion::TLS1_2,
        };
        b.set_min_proto_version(Some(v)).map_err(setup)?;
        b.set_max_proto_version(Some(v)).map_err(setup)?;
        b.set_ciphersuites(profile::TLS13_CIPHERSUITES)
            .map_err(setup)?;
        let list = config
            .tls12_cipher_list
            .clone()
            .unwrap_or_else(|| profile::openssl_cipher_list(&suites));
        b.set_cipher_list(&list).map_err(setup)?;
        b.set_options(SslOptions::NO_TICKET);
        // Only the PSK authenticates the AF: a certificate is never accepted instead (checked
        // after the handshake, as VERIFY_NONE alone would let one through).
        b.set_verify(SslVerifyMode::NONE);
        let mut wire = Vec::new();
        for p in &config.alpn {
            wire.push(
                u8::try_from(p.len())
                    .map_err(|_| ConnectError::Setup("ALPN name too long".into()))?,
            );
            wire.extend_from_slice(p);
        }
        if !wire.is_empty() {
            b.set_alpn_protos(&wire).map_err(setup)?;
        }
        let index = conn_index().map_err(setup)?;
        b.set_psk_client_callback(move |ssl, hint, identity_out, psk_out| {
            let Some(conn) = ssl.ex_data(index).cloned() else {
                return Ok(0);
            };
            let mut guard = conn.lock().unwrap_or_else(|e| e.into_inner());
            let Some(keys) = guard.as_mut() else {
                return Ok(0);
            };
            let ua = match keys.version {
                TlsVersion::Tls13 => akma_core::akma::UaProtocolId::TLS13_PSK,
                TlsVersion::Tls12 => {
                    // TS 24.109 K.3: the AF's hint is 3GPP-AKMA; the key depends on the suite.
                    let h = hint.map(|h| String::from_utf8_lossy(h).into_owned());
                    if h.as_deref() != Some(profile::PSK_PREFIX) {
                        keys.hint = Some(h);
                        return Ok(0);
                    }
                    let Some(code) = crate::ffi::pending_cipher_code(ssl) else {
                        return Ok(0);
                    };
                    profile::ua_protocol(TlsVersion::Tls12, code)
                }
            };
            // The identity is written NUL-terminated; its length was checked before.
            if keys.identity.len() + 1 > identity_out.len() || psk_out.len() < KAf::LEN {
                return Ok(0);
            }
            identity_out[..keys.identity.len()].copy_from_slice(&keys.identity);
            identity_out[keys.identity.len()] = 0;
            let k_af = derive_k_af(&keys.k_akma, &AfId::new(keys.fqdn.clone(), ua));
            psk_out[..KAf::LEN].copy_from_slice(k_af.expose_secret());
            keys.used = Some(ua);
            Ok(KAf::LEN)
        });
        Ok(Self {
            ctx: b.build(),
            config: Arc::new(config),
            suites: Arc::new(suites),
        })
    }

    /// Opens a Ua* session to the AF `fqdn` over `socket`, with the keys current now.
    //= req 33535-B.1.3.2.1-tls12-psk, 33535-B.1.3.2.2-tls13-psk, 33535-B.1.3-sni
    pub async fn connect<S>(
        &self,
        keys: &dyn CurrentAkmaKeys,
        fqdn: &AfFqdn,
        socket: S,
    ) -> Result<(SslStream<S>, Connected), ConnectError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let setup = |e: openssl::error::ErrorStack| ConnectError::Setup(e.to_string());
        let (a_kid, k_akma) = keys.current().ok_or(ConnectError::NoAkmaContext)?;
        let identity = profile::psk_identity(&a_kid)?;
        let conn: ConnRef = Arc::new(Mutex::new(Some(ConnKeys {
            identity,
            k_akma,
            fqdn: fqdn.clone(),
            version: self.config.version,
            hint: None,
            used: None,
        })));
        let mut ssl = Ssl::new(&self.ctx).map_err(setup)?;
        ssl.set_hostname(fqdn.as_str()).map_err(setup)?;
        ssl.set_ex_data(conn_index().map_err(setup)?, conn.clone());
        let mut stream = SslStream::new(ssl, socket).map_err(setup)?;
        let r = std::pin::Pin::new(&mut stream).connect().await;
        // The keys of this connection are gone now, whatever happened.
        let keys = conn.lock().unwrap_or_else(|e| e.into_inner()).take();
        let used = keys.as_ref().and_then(|k| k.used);
        if let Err(e) = r {
            if let Some(hint) = keys.and_then(|k| k.hint) {
                return Err(ConnectError::WrongHint(hint));
            }
            return Err(ConnectError::Tls {
                fqdn: fqdn.as_str().to_owned(),
                detail: e.to_string(),
            });
        }
        let Some(ua) = used else {
            return Err(ConnectError::PskNotUsed);
        };
        let ssl = stream.ssl();
        match self.config.version {
            TlsVersion::Tls13 => {
                if ssl.version2() != Some(SslVersion::TLS1_3) || !ssl.session_reused() {
                    return Err(ConnectError::PskNotUsed);
                }
            }
            TlsVersion::Tls12 => {
                let code = ssl
                    .current_cipher()
                    .map(|c| u16::from_be_bytes(c.protocol_id()))
                    .unwrap_or(0);
                let offered = self.suites.iter().any(|s| s.code == code)
                    || self.config.tls12_cipher_list.is_some();
                if ssl.version2() != Some(SslVersion::TLS1_2)
                    || !offered
                    || profile::ua_protocol(TlsVersion::Tls12, code) != ua
                {
                    return Err(ConnectError::PskNotUsed);
                }
            }
        }
        let alpn = ssl.selected_alpn_protocol().map(<[u8]>::to_vec);
        Ok((
            stream,
            Connected {
                a_kid,
                af_id: AfId::new(fqdn.clone(), ua),
                version: self.config.version,
                alpn,
            },
        ))
    }
}
