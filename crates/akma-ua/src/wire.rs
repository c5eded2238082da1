//! Sans-I/O reader of the plaintext part of a TLS handshake (RFC 8446, RFC 5246, RFC 4279).
//! LEAD'S COMPILE STUB: replaced by the real reader (branch `wire`).
#![allow(missing_docs, clippy::new_without_default)]

pub const MAX_HANDSHAKE_MESSAGE: usize = 65_536;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientHello {
    pub legacy_version: u16,
    pub cipher_suites: Vec<u16>,
    pub supported_versions: Vec<u16>,
    pub server_name: Option<String>,
    pub alpn: Vec<Vec<u8>>,
    pub psk_identities: Vec<Vec<u8>>,
    pub psk_key_exchange_modes: Vec<u8>,
    pub early_data: bool,
}
impl ClientHello {
    pub fn offers_tls13(&self) -> bool {
        self.supported_versions.contains(&0x0304)
    }
    pub fn offers_psk_dhe_ke(&self) -> bool {
        self.psk_key_exchange_modes.contains(&1)
    }
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    pub version: u16,
    pub cipher_suite: u16,
    pub hello_retry_request: bool,
}
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    Hello(ClientHello),
    KeyExchangeIdentity(Vec<u8>),
    Encrypted,
}
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    #[error("malformed {0}")]
    Malformed(&'static str),
}
pub struct ClientReader {}
impl ClientReader {
    pub fn new() -> Self {
        Self {}
    }
    pub fn push(&mut self, _bytes: &[u8]) -> Result<Vec<ClientEvent>, WireError> {
        Err(WireError::Malformed("stub"))
    }
}
pub struct ServerReader {}
impl ServerReader {
    pub fn new() -> Self {
        Self {}
    }
    pub fn push(&mut self, _bytes: &[u8]) -> Result<Option<ServerHello>, WireError> {
        Err(WireError::Malformed("stub"))
    }
}
