//! The UE side: a MSGin5G client over one Ua* TLS-PSK session. [`Msgin5gClient::connect`]
//! asks the UE's AKMA API for the current keys (through [`UaConnector`]); each call is one
//! HTTP request on the session.

use std::net::SocketAddr;

use akma_core::ids::{AfFqdn, Gpsi};
use akma_ua::client::{ConnectError, Connected, CurrentAkmaKeys, UaConnector};
use akma_ua::http::{HttpError, Request, Session};
use http::Method;

use crate::api::{Ack, Acked, Inbox, SendMessage, Sent};
use crate::store::MessageId;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The TCP connection failed.
    #[error("cannot reach the MSGin5G server at {addr}: {source}")]
    Tcp {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The Ua* handshake failed.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// The HTTP exchange failed.
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The server refused the request.
    #[error("the server answered {status} {cause}: {detail}")]
    Refused {
        /// The status.
        status: u16,
        /// The `cause` of the problem body (empty if none).
        cause: String,
        /// Its `detail`.
        detail: String,
    },
    /// The answer is not what the API defines.
    #[error("unexpected answer ({status}): {reason}")]
    Decode {
        /// The status.
        status: u16,
        /// Why.
        reason: String,
    },
}

/// A client over one session.
pub struct Msgin5gClient {
    session: Session,
    connected: Connected,
}

impl std::fmt::Debug for Msgin5gClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Msgin5gClient")
            .field("session", &self.session)
            .finish_non_exhaustive()
    }
}

fn refused(status: u16, body: &[u8]) -> ClientError {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    ClientError::Refused {
        status,
        cause: s("cause"),
        detail: s("detail"),
    }
}

fn decode<T: serde::de::DeserializeOwned>(status: u16, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        status,
        reason: e.to_string(),
    })
}

impl Msgin5gClient {
    /// Opens a Ua* session to the server `fqdn` at `addr` with the UE's current keys.
    pub async fn connect(
        connector: &UaConnector,
        keys: &dyn CurrentAkmaKeys,
        fqdn: &AfFqdn,
        addr: SocketAddr,
    ) -> Result<Self, ClientError> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|source| ClientError::Tcp { addr, source })?;
        let _ = tcp.set_nodelay(true);
        let (tls, connected) = connector.connect(keys, fqdn, tcp).await?;
        let h2 = connected.alpn.as_deref() == Some(b"h2");
        let session = Session::handshake(tls, h2, fqdn.as_str()).await?;
        Ok(Self { session, connected })
    }

    /// What the handshake agreed (A-KID, AF_ID, TLS version, ALPN).
    pub fn connected(&self) -> &Connected {
        &self.connected
    }

    /// `POST /messages`: the id once the server has stored the message durably.
    pub async fn send(&mut self, to: &Gpsi, body: &str) -> Result<MessageId, ClientError> {
        self.send_raw(&to.to_string(), body).await
    }

    /// [`Self::send`] with the recipient as given (to see how the server checks it).
    pub async fn send_raw(&mut self, to: &str, body: &str) -> Result<MessageId, ClientError> {
        let req = Request::json(
            Method::POST,
            "/messages",
            &SendMessage {
                to: to.to_owned(),
                body: body.to_owned(),
            },
        )?;
        let a = self.session.request(req).await?;
        if a.status != 201 {
            return Err(refused(a.status, &a.body));
        }
        Ok(decode::<Sent>(a.status, &a.body)?.id)
    }

    /// `GET /messages`: up to `limit` (the server's page size if `None`) of this UE's
    /// messages, oldest first; they stay until acknowledged.
    pub async fn fetch(&mut self, limit: Option<usize>) -> Result<Inbox, ClientError> {
        let path = match limit {
            Some(n) => format!("/messages?limit={n}"),
            None => "/messages".to_owned(),
        };
        let a = self.session.request(Request::get(path)).await?;
        if a.status != 200 {
            return Err(refused(a.status, &a.body));
        }
        decode(a.status, &a.body)
    }

    /// `POST /messages/ack`: removes these messages (all or none); how many were removed.
    pub async fn ack(&mut self, ids: &[MessageId]) -> Result<usize, ClientError> {
        self.ack_raw(ids.iter().map(|i| i.as_str().to_owned()).collect())
            .await
    }

    /// [`Self::ack`] with ids as given.
    pub async fn ack_raw(&mut self, ids: Vec<String>) -> Result<usize, ClientError> {
        let req = Request::json(Method::POST, "/messages/ack", &Ack { ids })?;
        let a = self.session.request(req).await?;
        if a.status != 200 {
            return Err(refused(a.status, &a.body));
        }
        Ok(decode::<Acked>(a.status, &a.body)?.acked)
    }

    /// `DELETE /messages/{id}`.
    pub async fn delete(&mut self, id: &str) -> Result<(), ClientError> {
        let a = self
            .session
            .request(Request::new(Method::DELETE, format!("/messages/{id}")))
            .await?;
        if a.status != 204 {
            return Err(refused(a.status, &a.body));
        }
        Ok(())
    }

    /// Any request on the session (for tests and tools).
    pub async fn raw(&mut self, req: Request) -> Result<akma_ua::http::Answer, ClientError> {
        Ok(self.session.request(req).await?)
    }
}
