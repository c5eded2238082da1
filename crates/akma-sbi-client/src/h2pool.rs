//! The engine under [`SbiClient`](crate::SbiClient): one HTTP/2 connection per origin on the
//! `h2` crate, h2c with prior knowledge for `http://` (TS 29.500 §5.2.2) or h2 over rustls
//! for `https://` (ALPN `h2` only: the SBI is HTTP/2).
//!
//! Why not reqwest here: a profile of the NEF's retrieve (BENCHMARKS.md) spent ~13% of its
//! CPU in reqwest's per-request layers (URL parsing into `url::Url`, pool checkout, the
//! redirect and timeout layers, hyper's dispatch task per request body). This engine parses
//! the URL into an `http::Uri` once per call, sends headers and body from the caller's task
//! straight into the shared h2 connection, and reads the answer in the same task. No
//! redirect is ever followed (there is no code that could), no proxy is used.
//!
//! A connection found closed before a request is handed to it is dropped and re-dialled;
//! a failure after that is the caller's transport error (a POST is not retried).

use crate::client::error_chain;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, Uri};
use tokio::net::TcpStream;

/// One origin's connection (if any) and the lock that serialises dialling it.
struct Origin {
    https: bool,
    host: String,
    port: u16,
    /// The live connection's sender and its generation.
    send: Mutex<Option<(u64, h2::client::SendRequest<Bytes>)>>,
    dial: tokio::sync::Mutex<u64>,
}

impl Origin {
    /// Drops the connection of `generation` if it is still the current one.
    fn forget(&self, generation: u64) {
        let mut s = self.send.lock().unwrap_or_else(|p| p.into_inner());
        if s.as_ref().is_some_and(|(g, _)| *g == generation) {
            *s = None;
        }
    }
}

/// A connection's driving future.
type Driver = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

/// Connections by origin (a client talks to a handful: a linear scan, no hashing).
pub(crate) struct H2Pool {
    tls: Option<tokio_rustls::TlsConnector>,
    origins: Mutex<Vec<Arc<Origin>>>,
}

/// A failure of [`H2Pool::request`], as text for [`ClientError::Transport`](crate::ClientError).
pub(crate) type Failure = String;

/// The URL's scheme, host (IPv6 without brackets) and port.
pub(crate) fn origin_of(uri: &Uri) -> Option<(bool, &str, u16)> {
    let https = match uri.scheme_str()? {
        "http" => false,
        "https" => true,
        _ => return None,
    };
    let host = uri.host()?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
    Some((https, host, port))
}

impl H2Pool {
    /// A pool for `http://` URLs (`tls` = `None`) or for `https://` URLs with this
    /// configuration (its ALPN is replaced by `h2` alone).
    pub(crate) fn new(tls: Option<rustls::ClientConfig>) -> Self {
        let tls = tls.map(|mut c| {
            c.alpn_protocols = vec![b"h2".to_vec()];
            tokio_rustls::TlsConnector::from(Arc::new(c))
        });
        Self {
            tls,
            origins: Mutex::new(Vec::new()),
        }
    }

    /// Whether this pool speaks TLS (and so serves `https://` URLs only).
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    fn origin(&self, https: bool, host: &str, port: u16) -> Arc<Origin> {
        let mut all = self.origins.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(o) = all
            .iter()
            .find(|o| o.https == https && o.port == port && o.host == host)
        {
            return o.clone();
        }
        let o = Arc::new(Origin {
            https,
            host: host.to_owned(),
            port,
            send: Mutex::new(None),
            dial: tokio::sync::Mutex::new(0),
        });
        all.push(o.clone());
        o
    }

    /// A ready sender on `origin`'s connection, dialling one if there is none (`connect`
    /// bounds the dial).
    async fn ready(
        &self,
        origin: &Arc<Origin>,
    ) -> Result<(u64, h2::client::SendRequest<Bytes>), Failure> {
        let current = origin
            .send
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((generation, send)) = current {
            match send.ready().await {
                Ok(s) => return Ok((generation, s)),
                Err(_) => origin.forget(generation),
            }
        }
        // Dial under the origin's lock, unless another task did while this one waited.
        let mut dialled = origin.dial.lock().await;
        let current = origin
            .send
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some((generation, send)) = current {
            if let Ok(s) = send.ready().await {
                return Ok((generation, s));
            }
            origin.forget(generation);
        }
        let (send, conn) = self.dial(origin).await?;
        *dialled += 1;
        let generation = *dialled;
        *origin.send.lock().unwrap_or_else(|p| p.into_inner()) = Some((generation, send.clone()));
        // Drives the connection; when it ends (GOAWAY, reset, error), the next call dials.
        let o = origin.clone();
        tokio::spawn(async move {
            conn.await;
            o.forget(generation);
        });
        let send = send.ready().await.map_err(|e| error_chain(&e))?;
        Ok((generation, send))
    }

    async fn dial(
        &self,
        origin: &Origin,
    ) -> Result<(h2::client::SendRequest<Bytes>, Driver), Failure> {
        let tcp = TcpStream::connect((origin.host.as_str(), origin.port))
            .await
            .map_err(|e| format!("connect to {}:{}: {e}", origin.host, origin.port))?;
        let _ = tcp.set_nodelay(true);
        let mut b = h2::client::Builder::new();
        b.enable_push(false);
        match (&self.tls, origin.https) {
            (None, false) => {
                let (send, conn) = b.handshake(tcp).await.map_err(|e| error_chain(&e))?;
                Ok((send, Box::pin(drive(conn))))
            }
            (Some(tls), true) => {
                let name = rustls_pki_types::ServerName::try_from(origin.host.clone())
                    .map_err(|e| format!("invalid server name {:?}: {e}", origin.host))?;
                let stream = tls.connect(name, tcp).await.map_err(|e| error_chain(&e))?;
                if stream.get_ref().1.alpn_protocol() != Some(b"h2") {
                    return Err("the server did not negotiate HTTP/2 (ALPN h2)".into());
                }
                let (send, conn) = b.handshake(stream).await.map_err(|e| error_chain(&e))?;
                Ok((send, Box::pin(drive(conn))))
            }
            // `SbiClient::send` routes only matching schemes here.
            _ => Err("URL scheme does not match the client's TLS setting".into()),
        }
    }

    /// Sends `req` (absolute URI) with `body` and hands each chunk of the answer's body to
    /// `extend` (the caller's zeroizing buffer), all within `timeout`. Returns the answer's
    /// head.
    pub(crate) async fn request(
        &self,
        req: Request<()>,
        body: Option<Bytes>,
        timeout: Duration,
        mut extend: impl FnMut(&[u8]),
    ) -> Result<Response<()>, RequestFailure> {
        let not_sent = |detail: Failure| RequestFailure {
            detail,
            sent: false,
        };
        let lost = |detail: Failure| RequestFailure { detail, sent: true };
        let work = async {
            let (https, host, port) =
                origin_of(req.uri()).ok_or_else(|| not_sent("not an http(s) URL".into()))?;
            let origin = self.origin(https, host, port);
            // `ready` re-dials a connection found dead before the request is handed to it.
            let (generation, mut send) = self.ready(&origin).await.map_err(not_sent)?;
            let (response, mut stream) = send.send_request(req, body.is_none()).map_err(|e| {
                // Refused before anything was sent: the connection is unusable.
                origin.forget(generation);
                not_sent(error_chain(&e))
            })?;
            // A producer may answer before it has read the body and close the stream (e.g.
            // 204 from a handler that ignores the body): sending the body then fails, but the
            // answer is there and is the result.
            let body_error = match body {
                Some(b) => stream.send_data(b, true).err(),
                None => None,
            };
            let (parts, mut recv) = match response.await {
                Ok(r) => r.into_parts(),
                Err(e) => return Err(lost(error_chain(body_error.as_ref().unwrap_or(&e)))),
            };
            while let Some(chunk) = recv.data().await {
                let chunk = chunk.map_err(|e| lost(error_chain(&e)))?;
                extend(&chunk);
                let _ = recv.flow_control().release_capacity(chunk.len());
            }
            Ok::<_, RequestFailure>(Response::from_parts(parts, ()))
        };
        match tokio::time::timeout(timeout, work).await {
            Ok(r) => r,
            Err(_) => Err(lost(format!("no answer within {} ms", timeout.as_millis()))),
        }
    }
}

/// A request that failed: why, and whether it may have reached the producer (`false`: the
/// connection could not be made or refused the stream, so nothing was sent).
#[derive(Debug)]
pub(crate) struct RequestFailure {
    pub(crate) detail: Failure,
    pub(crate) sent: bool,
}

/// Drives one connection until it ends (its senders then see the error).
async fn drive<T>(conn: h2::client::Connection<T, Bytes>)
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
{
    let _ = conn.await;
}
