//! The AF side of Ua* over TLS-PSK: [`UaAcceptor`] accepts TLS 1.3 (K_AF as external PSK) and
//! TLS 1.2 PSK connections on one port and yields the stream with the authenticated peer.
//!
//! How the key is fetched without blocking a runtime thread: OpenSSL's PSK callbacks are
//! synchronous, so the key must be in place before OpenSSL asks for it. The socket is wrapped
//! in a gate (`gate.rs`) that reads the client's plaintext handshake with the sans-I/O
//! [`crate::wire`] reader and holds its bytes back from OpenSSL when they complete
//!
//! - the ClientHello (TLS 1.3): its `pre_shared_key` identity names the A-KID, its SNI the
//!   AF; the acceptor checks SNI, key exchange modes and identity, awaits the [`KeySource`],
//!   stores the key for this connection and releases the bytes; OpenSSL's PSK callback then
//!   finds it;
//! - the ClientKeyExchange (TLS 1.2): the identity arrives after the server's first flight;
//!   the gate has read the suite in the ServerHello OpenSSL wrote, so the acceptor fetches
//!   K_AF for Ua* id `01 00 01 yy zz` of that suite before OpenSSL reads the message.
//!
//! A refused connection (wrong SNI, `psk_ke` only, no or malformed identity, unknown A-KID,
//! unreachable AAnF) goes on without a key, so OpenSSL ends it with a TLS alert; the acceptor
//! returns the precise reason. After the handshake, TLS 1.3 connections must have resumed the
//! external PSK (`SSL_session_reused`) and TLS 1.2 ones must use one of the allowed PSK suites
//! with the key this acceptor gave: no fallback to any other authentication is possible (there
//! is no certificate, and it is checked anyway; openssl issue 6658).

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Poll;
use std::time::Duration;

use akma_core::akma::AfId;
use akma_core::ids::{AKid, AfFqdn};
use akma_core::keys::KAf;
use openssl::ssl::{
    AlpnError, NameType, Ssl, SslContext, SslContextBuilder, SslMethod, SslOptions,
    SslSessionCacheMode, SslVersion,
};
use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_openssl::SslStream;

use crate::gate::{Gate, GateEvent, GateHandle};
use crate::keys::{KeyAnswer, KeyRefusal, KeySource};
use crate::profile::{
    self, parse_psk_identity, IdentityError, Tls12Suite, TlsVersion, OPENSSL_MAX_IDENTITY,
};

/// How an AF accepts Ua* connections.
#[derive(Debug, Clone)]
pub struct AcceptorConfig {
    /// The AF's FQDN: the SNI must name it, and K_AF is derived for it.
    pub fqdn: AfFqdn,
    /// Accept TLS 1.3 with K_AF as external PSK (default on).
    pub tls13: bool,
    /// Accept TLS 1.2 PSK (default on).
    pub tls12: bool,
    /// Also allow TLS 1.2 plain-PSK suites, without forward secrecy (default off).
    pub allow_plain_psk: bool,
    /// ALPN protocols the AF speaks, in its preference order (default `h2`, `http/1.1`).
    pub alpn: Vec<Vec<u8>>,
    /// The whole handshake, key fetch included, must finish within this (default 10 s).
    pub handshake_timeout: Duration,
    /// The (EC)DHE groups, an OpenSSL list such as `P-256:X25519` (default: OpenSSL's).
    /// A client whose key share is for another group gets a HelloRetryRequest.
    pub groups: Option<String>,
}

impl AcceptorConfig {
    /// Both TLS versions, the default suites, HTTP/2 and HTTP/1.1.
    pub fn new(fqdn: AfFqdn) -> Self {
        Self {
            fqdn,
            tls13: true,
            tls12: true,
            allow_plain_psk: false,
            alpn: vec![b"h2".to_vec(), b"http/1.1".to_vec()],
            handshake_timeout: Duration::from_secs(10),
            groups: None,
        }
    }
}

/// Why a connection was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AcceptError {
    /// The client's handshake could not be read (not TLS, malformed).
    #[error("malformed TLS handshake: {0}")]
    Malformed(#[from] crate::wire::WireError),
    /// The SNI is missing or names another host.
    #[error("the SNI {got:?} does not name this AF ({want})")]
    WrongSni {
        /// What the client sent.
        got: Option<String>,
        /// This AF's FQDN.
        want: String,
    },
    /// The client offers only TLS versions this AF does not accept.
    #[error("the client offers no TLS version this AF accepts")]
    Version,
    /// A TLS 1.3 client that offers no PSK (this AF has no certificate).
    #[error("the TLS 1.3 ClientHello offers no pre-shared key")]
    NoPsk,
    /// A TLS 1.3 client that offers only `psk_ke` (RFC 8446 §4.2.9): refused, as AKMA requires
    /// an ephemeral key exchange (TS 24.109 K.2.2).
    #[error("the client offers only psk_ke; psk_dhe_ke is required")]
    PskKeOnly,
    /// The PSK identity is not an AKMA identity.
    #[error("{0}")]
    Identity(#[from] IdentityError),
    /// No key for the A-KID.
    #[error("no K_AF: {0}")]
    Key(#[from] KeyRefusal),
    /// The TLS 1.2 suite negotiated is not allowed, or was not seen.
    #[error("TLS 1.2 suite {0:#06x} is not an allowed PSK suite")]
    Suite(u16),
    /// The handshake did not finish in time.
    #[error("the TLS handshake did not finish within {0:?}")]
    Timeout(Duration),
    /// The handshake completed, but not with this acceptor's external PSK (must not happen).
    #[error("the handshake completed without the AKMA PSK")]
    PskNotUsed,
    /// OpenSSL failed the handshake (the peer's key differed, an alert, the socket closed).
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// The socket failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
}

impl AcceptError {
    /// A short label for metrics (`reason="…"`).
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::WrongSni { .. } => "wrong_sni",
            Self::Version => "version",
            Self::NoPsk => "no_psk",
            Self::PskKeOnly => "psk_ke_only",
            Self::Identity(IdentityError::TooLongForOpenSsl(_)) => "identity_too_long",
            Self::Identity(_) => "bad_identity",
            Self::Key(k) => k.reason(),
            Self::Suite(_) => "suite",
            Self::Timeout(_) => "timeout",
            Self::PskNotUsed => "psk_not_used",
            Self::Tls(_) => "tls",
            Self::Io(_) => "io",
        }
    }
}

/// The peer of an accepted connection, as the AKMA key answer describes it.
#[derive(Clone)]
pub struct UaPeer {
    /// The A-KID the UE presented.
    pub a_kid: AKid,
    /// The TLS version.
    pub version: TlsVersion,
    /// The AF_ID whose K_AF authenticated the UE (FQDN and Ua* id of this connection).
    pub af_id: AfId,
    /// The key answer: expiry, and SUPI/GPSI where the AF may see them.
    pub answer: KeyAnswer,
    /// The ALPN protocol agreed, if any.
    pub alpn: Option<Vec<u8>>,
}

impl std::fmt::Debug for UaPeer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UaPeer")
            .field("a_kid", &akma_core::logref::IdRef::of(self.a_kid.as_str()))
            .field("version", &self.version)
            .field("af_id", &self.af_id)
            .field("answer", &self.answer)
            .field("alpn", &self.alpn)
            .finish()
    }
}

impl UaPeer {
    /// K_AF's expiry.
    pub fn expiry(&self) -> OffsetDateTime {
        self.answer.expiry
    }
}

/// An accepted Ua* stream (TLS over the gated socket).
pub type UaStream<S> = SslStream<Gate<S>>;

/// The key of one connection, where the PSK callback finds it.
#[derive(Default)]
struct Slot {
    /// The identity the key belongs to (the callback gives the key only for it).
    identity: Vec<u8>,
    key: Option<KAf>,
    /// The callback handed out the key.
    used: bool,
}

type SlotRef = Arc<Mutex<Slot>>;

fn slot_index() -> Result<openssl::ex_data::Index<Ssl, SlotRef>, openssl::error::ErrorStack> {
    static INDEX: OnceLock<openssl::ex_data::Index<Ssl, SlotRef>> = OnceLock::new();
    if let Some(i) = INDEX.get() {
        return Ok(*i);
    }
    let i = Ssl::new_ex_index::<SlotRef>()?;
    Ok(*INDEX.get_or_init(|| i))
}

/// Accepts Ua* connections for one AF FQDN with keys from a [`KeySource`].
#[derive(Clone)]
pub struct UaAcceptor {
    ctx: SslContext,
    config: Arc<AcceptorConfig>,
    suites: Arc<Vec<Tls12Suite>>,
    keys: Arc<dyn KeySource>,
}

impl std::fmt::Debug for UaAcceptor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UaAcceptor")
            .field("config", &self.config)
            .finish()
    }
}

/// Why an acceptor could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the TLS-PSK acceptor: {0}")]
pub struct SetupError(String);

fn setup<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> SetupError {
    move |e| SetupError(format!("{what}: {e}"))
}

impl UaAcceptor {
    /// Builds the OpenSSL context: no certificate, PSK only, no tickets, no session cache, no
    /// early data, the profile's suites and versions.
    //= req 33535-B.1.3.2.1-tls12-psk, 33535-B.1.3.2.2-tls13-psk
    pub fn new(config: AcceptorConfig, keys: Arc<dyn KeySource>) -> Result<Self, SetupError> {
        if !config.tls13 && !config.tls12 {
            return Err(SetupError("neither TLS 1.3 nor TLS 1.2 is enabled".into()));
        }
        let suites = profile::tls12_suites(config.allow_plain_psk);
        let mut b = SslContextBuilder::new(SslMethod::tls_server()).map_err(setup("context"))?;
        let min = if config.tls12 {
            SslVersion::TLS1_2
        } else {
            SslVersion::TLS1_3
        };
        let max = if config.tls13 {
            SslVersion::TLS1_3
        } else {
            SslVersion::TLS1_2
        };
        b.set_min_proto_version(Some(min))
            .map_err(setup("versions"))?;
        b.set_max_proto_version(Some(max))
            .map_err(setup("versions"))?;
        b.set_ciphersuites(profile::TLS13_CIPHERSUITES)
            .map_err(setup("TLS 1.3 suites"))?;
        b.set_cipher_list(&profile::openssl_cipher_list(&suites))
            .map_err(setup("TLS 1.2 suites"))?;
        // No resumption: every session starts from K_AF (its expiry is enforced per
        // connection), and no session ticket outlives it. SSL_OP_ALLOW_NO_DHE_KEX is never set
        // (off by default), so OpenSSL itself also refuses psk_ke (RFC 8446 §4.2.9).
        if let Some(g) = &config.groups {
            b.set_groups_list(g).map_err(setup("groups"))?;
        }
        b.set_options(SslOptions::NO_TICKET | SslOptions::CIPHER_SERVER_PREFERENCE);
        b.set_session_cache_mode(SslSessionCacheMode::OFF);
        b.set_num_tickets(0).map_err(setup("tickets"))?;
        // No 0-RTT (TS 24.109 K.2.2): early data is never accepted.
        b.set_max_early_data(0).map_err(setup("early data"))?;
        if !crate::ffi::set_psk_identity_hint(&mut b, profile::PSK_PREFIX) {
            return Err(SetupError("cannot set the PSK identity hint".into()));
        }
        if !crate::ffi::set_dh_auto(&mut b) {
            return Err(SetupError("cannot enable DHE groups".into()));
        }
        let index = slot_index().map_err(setup("ex data"))?;
        // One callback for TLS 1.3 (legacy external-PSK path: SHA-256) and TLS 1.2: both get
        // the key the acceptor fetched for this connection's identity, and nothing else.
        b.set_psk_server_callback(move |ssl, identity, out| {
            let Some(slot) = ssl.ex_data(index) else {
                return Ok(0);
            };
            let mut slot = slot.lock().unwrap_or_else(|e| e.into_inner());
            let (Some(identity), Some(key)) = (identity, slot.key.as_ref()) else {
                return Ok(0);
            };
            if identity != slot.identity.as_slice() || out.len() < KAf::LEN {
                return Ok(0);
            }
            out[..KAf::LEN].copy_from_slice(key.expose_secret());
            slot.used = true;
            Ok(KAf::LEN)
        });
        let alpn = config.alpn.clone();
        b.set_alpn_select_callback(move |_, client| {
            // The server's preference order; no overlap → no ALPN (HTTP/1.1 then).
            for want in &alpn {
                let mut rest = client;
                while let Some((&len, tail)) = rest.split_first() {
                    let len = usize::from(len);
                    if tail.len() < len {
                        break;
                    }
                    if &tail[..len] == want.as_slice() {
                        return Ok(&tail[..len]);
                    }
                    rest = &tail[len..];
                }
            }
            Err(AlpnError::NOACK)
        });
        Ok(Self {
            ctx: b.build(),
            config: Arc::new(config),
            suites: Arc::new(suites),
            keys,
        })
    }

    /// This acceptor's configuration.
    pub fn config(&self) -> &AcceptorConfig {
        &self.config
    }

    /// Runs the handshake on `socket`, bounded by the handshake timeout.
    pub async fn accept<S>(&self, socket: S) -> Result<(UaStream<S>, UaPeer), AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let limit = self.config.handshake_timeout;
        match tokio::time::timeout(limit, self.handshake(socket)).await {
            Ok(r) => r,
            Err(_) => Err(AcceptError::Timeout(limit)),
        }
    }

    async fn handshake<S>(&self, socket: S) -> Result<(UaStream<S>, UaPeer), AcceptError>
    where
        S: AsyncRead + AsyncWrite + Unpin,
    {
        let slot: SlotRef = Arc::default();
        let gate = GateHandle::default();
        let mut ssl = Ssl::new(&self.ctx).map_err(|e| AcceptError::Tls(e.to_string()))?;
        let index = slot_index().map_err(|e| AcceptError::Tls(e.to_string()))?;
        ssl.set_ex_data(index, slot.clone());
        let mut stream = SslStream::new(ssl, Gate::new(socket, gate.clone()))
            .map_err(|e| AcceptError::Tls(e.to_string()))?;
        // What the acceptor decided; a refusal lets OpenSSL end the handshake with an alert.
        let mut refusal: Option<AcceptError> = None;
        let mut granted: Option<(AKid, AfId, KeyAnswer, TlsVersion)> = None;
        loop {
            let step = poll_fn(|cx| match Pin::new(&mut stream).poll_accept(cx) {
                Poll::Ready(r) => Poll::Ready(Some(r)),
                Poll::Pending if gate.lock().event.is_some() => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            })
            .await;
            match step {
                Some(Ok(())) => break,
                Some(Err(e)) => {
                    if let Some(w) = gate.lock().error.take() {
                        return Err(AcceptError::Malformed(w));
                    }
                    return Err(refusal.unwrap_or_else(|| AcceptError::Tls(e.to_string())));
                }
                None => {
                    let event = gate.lock().event.clone();
                    let result = match event {
                        Some(GateEvent::Hello(h)) => self.on_hello(&h).await,
                        Some(GateEvent::KeyExchangeIdentity(id)) => {
                            let suite = gate.lock().server_hello.as_ref().map(|s| s.cipher_suite);
                            self.on_key_exchange(&id, suite).await
                        }
                        None => Ok(None),
                    };
                    match result {
                        Ok(Some((identity, a_kid, af_id, answer, version))) => {
                            let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
                            s.identity = identity;
                            s.key = Some(answer.kaf.clone());
                            granted = Some((a_kid, af_id, answer, version));
                        }
                        Ok(None) => {}
                        Err(e) => {
                            tracing::debug!(reason = e.reason(), "Ua* handshake refused");
                            refusal = Some(e);
                        }
                    }
                    gate.lock().event = None;
                }
            }
        }
        // The handshake completed: check that it used the key given for this connection.
        stream.get_mut().pass_through();
        let used = {
            let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
            s.key = None;
            s.used
        };
        let Some((a_kid, af_id, answer, version)) = granted else {
            return Err(refusal.unwrap_or(AcceptError::PskNotUsed));
        };
        let ssl = stream.ssl();
        let negotiated = match ssl.version2() {
            Some(v) if v == SslVersion::TLS1_3 => TlsVersion::Tls13,
            Some(v) if v == SslVersion::TLS1_2 => TlsVersion::Tls12,
            _ => return Err(AcceptError::Version),
        };
        if negotiated != version || !used {
            return Err(AcceptError::PskNotUsed);
        }
        match version {
            // TLS 1.3: the external PSK was accepted as a resumption of its session.
            TlsVersion::Tls13 if !ssl.session_reused() => return Err(AcceptError::PskNotUsed),
            TlsVersion::Tls12 => {
                let code = ssl
                    .current_cipher()
                    .map(|c| u16::from_be_bytes(c.protocol_id()))
                    .unwrap_or(0);
                if !self.suites.iter().any(|s| s.code == code)
                    || profile::ua_protocol(version, code) != af_id.ua()
                {
                    return Err(AcceptError::Suite(code));
                }
            }
            TlsVersion::Tls13 => {}
        }
        let sni = ssl.servername(NameType::HOST_NAME).map(str::to_owned);
        if !sni_matches(sni.as_deref(), &self.config.fqdn) {
            return Err(AcceptError::WrongSni {
                got: sni,
                want: self.config.fqdn.as_str().to_owned(),
            });
        }
        let alpn = ssl.selected_alpn_protocol().map(<[u8]>::to_vec);
        Ok((
            stream,
            UaPeer {
                a_kid,
                version,
                af_id,
                answer,
                alpn,
            },
        ))
    }

    /// The ClientHello: checks, then (TLS 1.3) the key.
    async fn on_hello(&self, h: &crate::wire::ClientHello) -> Result<Option<Grant>, AcceptError> {
        if !sni_matches(h.server_name.as_deref(), &self.config.fqdn) {
            return Err(AcceptError::WrongSni {
                got: h.server_name.clone(),
                want: self.config.fqdn.as_str().to_owned(),
            });
        }
        if h.offers_tls13() && self.config.tls13 {
            if h.psk_identities.is_empty() {
                return Err(AcceptError::NoPsk);
            }
            if !h.offers_psk_dhe_ke() {
                return Err(AcceptError::PskKeOnly);
            }
            // RFC 8446 §4.2.11: the client lists its PSKs; an AKMA UE offers one. The first
            // AKMA identity is the one used (OpenSSL tries them in order too).
            let identity = h
                .psk_identities
                .iter()
                .find(|id| id.starts_with(profile::PSK_PREFIX.as_bytes()))
                .ok_or(AcceptError::Identity(IdentityError::NoPrefix))?;
            return self.fetch(identity, TlsVersion::Tls13, 0).await.map(Some);
        }
        let offers_tls12 = h.legacy_version >= 0x0303
            && (h.supported_versions.is_empty() || h.supported_versions.contains(&0x0303));
        if offers_tls12 && self.config.tls12 {
            return Ok(None); // the identity comes in the ClientKeyExchange
        }
        Err(AcceptError::Version)
    }

    /// The TLS 1.2 ClientKeyExchange's identity, with the suite the ServerHello chose.
    async fn on_key_exchange(
        &self,
        identity: &[u8],
        suite: Option<u16>,
    ) -> Result<Option<Grant>, AcceptError> {
        let suite = suite.ok_or(AcceptError::Suite(0))?;
        if !self.suites.iter().any(|s| s.code == suite) {
            return Err(AcceptError::Suite(suite));
        }
        self.fetch(identity, TlsVersion::Tls12, suite)
            .await
            .map(Some)
    }

    //= req 33535-6.2-af-rejects-on-failure
    async fn fetch(
        &self,
        identity: &[u8],
        version: TlsVersion,
        suite: u16,
    ) -> Result<Grant, AcceptError> {
        if identity.len() > OPENSSL_MAX_IDENTITY {
            return Err(IdentityError::TooLongForOpenSsl(identity.len()).into());
        }
        let a_kid = parse_psk_identity(identity)?;
        let af_id = AfId::new(
            self.config.fqdn.clone(),
            profile::ua_protocol(version, suite),
        );
        let answer = self.keys.key(&a_kid, &af_id).await?;
        // TS 33.535 §6.2: no new session with an expired key.
        if answer.expiry <= OffsetDateTime::now_utc() {
            return Err(KeyRefusal::Expired.into());
        }
        Ok((identity.to_vec(), a_kid, af_id, answer, version))
    }
}

type Grant = (Vec<u8>, AKid, AfId, KeyAnswer, TlsVersion);

/// DNS names compare case-insensitively (RFC 6066 §3, RFC 4343).
//= req 33535-B.1.3-sni
fn sni_matches(sni: Option<&str>, fqdn: &AfFqdn) -> bool {
    sni.is_some_and(|s| s.trim_end_matches('.').eq_ignore_ascii_case(fqdn.as_str()))
}
