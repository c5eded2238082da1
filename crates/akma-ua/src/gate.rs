//! The I/O shell between the socket and OpenSSL on the AF side: it passes the client's bytes
//! through [`ClientReader`] and the server's through [`ServerReader`], and holds the client's
//! bytes back from OpenSSL when they complete a message whose key must first be fetched (the
//! ClientHello in TLS 1.3, the ClientKeyExchange in TLS 1.2). The acceptor drives the
//! handshake, sees the event, fetches the key (awaiting, on no blocking thread), puts it where
//! the PSK callback finds it, and releases the bytes. After the handshake the gate only passes
//! bytes through.

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::wire::{ClientEvent, ClientReader, ServerHello, ServerReader, WireError};

/// What the gate saw that the acceptor must act on before the handshake goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GateEvent {
    /// The (first) ClientHello.
    Hello(crate::wire::ClientHello),
    /// The TLS 1.2 ClientKeyExchange's PSK identity.
    KeyExchangeIdentity(Vec<u8>),
}

#[derive(Default)]
pub(crate) struct GateState {
    /// An event the acceptor has not handled yet; while set, no byte reaches OpenSSL.
    pub event: Option<GateEvent>,
    /// The server's ServerHello (not an HRR), once sent.
    pub server_hello: Option<ServerHello>,
    /// The reader of the client's bytes failed: the handshake is refused with this reason.
    pub error: Option<WireError>,
}

/// Shared between the gate (inside the `SslStream`) and the acceptor.
#[derive(Clone, Default)]
pub(crate) struct GateHandle(Arc<Mutex<GateState>>);

impl GateHandle {
    pub fn lock(&self) -> MutexGuard<'_, GateState> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The socket wrapper.
pub struct Gate<S> {
    inner: S,
    handle: GateHandle,
    client: Option<ClientReader>,
    server: Option<ServerReader>,
    seen_hello: bool,
    /// Bytes read from the client and not yet given to OpenSSL.
    held: Vec<u8>,
    held_pos: usize,
}

impl<S> Gate<S> {
    pub(crate) fn new(inner: S, handle: GateHandle) -> Self {
        Self {
            inner,
            handle,
            client: Some(ClientReader::new()),
            server: Some(ServerReader::new()),
            seen_hello: false,
            held: Vec::new(),
            held_pos: 0,
        }
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Stops reading the handshake (after it completed or failed).
    pub(crate) fn pass_through(&mut self) {
        self.client = None;
        self.server = None;
        self.held = Vec::new();
        self.held_pos = 0;
    }

    /// Feeds client bytes to the reader; true when they completed an event to act on.
    fn scan_client(&mut self, bytes: &[u8]) -> Result<bool, WireError> {
        let Some(reader) = self.client.as_mut() else {
            return Ok(false);
        };
        let events = reader.push(bytes)?;
        let mut stop = false;
        for ev in events {
            match ev {
                ClientEvent::Hello(h) if !self.seen_hello => {
                    self.seen_hello = true;
                    self.handle.lock().event = Some(GateEvent::Hello(h));
                    stop = true;
                }
                // A second ClientHello after a HelloRetryRequest: OpenSSL checks that it
                // offers the same PSK (RFC 8446 §4.1.2); the key is already in place.
                ClientEvent::Hello(_) => {}
                ClientEvent::KeyExchangeIdentity(id) => {
                    self.handle.lock().event = Some(GateEvent::KeyExchangeIdentity(id));
                    stop = true;
                }
                ClientEvent::Encrypted => {
                    self.client = None;
                }
            }
        }
        Ok(stop)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Gate<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if this.handle.lock().event.is_some() {
            // The acceptor sees the event as soon as this poll returns, and polls again
            // after it released the gate.
            return Poll::Pending;
        }
        if this.held_pos < this.held.len() {
            let n = buf.remaining().min(this.held.len() - this.held_pos);
            buf.put_slice(&this.held[this.held_pos..this.held_pos + n]);
            this.held_pos += n;
            if this.held_pos == this.held.len() {
                this.held.clear();
                this.held_pos = 0;
            }
            return Poll::Ready(Ok(()));
        }
        if this.client.is_none() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {}
            other => return other,
        }
        let fresh = &buf.filled()[before..];
        if fresh.is_empty() {
            return Poll::Ready(Ok(()));
        }
        match this.scan_client(fresh) {
            Ok(false) => Poll::Ready(Ok(())),
            Ok(true) => {
                // Take the bytes back from OpenSSL's buffer until the acceptor releases them
                // (copied only then: the usual read passes through without a copy).
                this.held = fresh.to_vec();
                buf.set_filled(before);
                this.held_pos = 0;
                Poll::Pending
            }
            Err(e) => {
                this.handle.lock().error = Some(e.clone());
                this.client = None;
                Poll::Ready(Err(io::Error::new(io::ErrorKind::InvalidData, e)))
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Gate<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let (Poll::Ready(Ok(n)), Some(reader)) = (&r, this.server.as_mut()) {
            match reader.push(&buf[..*n]) {
                Ok(Some(sh)) => {
                    // The client reader must know of a HelloRetryRequest (RFC 8446 §4.1.4):
                    // the compatibility ChangeCipherSpec that follows it (§D.4) is not the
                    // switch to encrypted records, and a second ClientHello comes.
                    if let Some(c) = this.client.as_mut() {
                        c.on_server_hello(&sh);
                    }
                    if !sh.hello_retry_request {
                        this.handle.lock().server_hello = Some(sh);
                        this.server = None;
                    }
                }
                // Not complete yet, or (in the server reader) an alert OpenSSL wrote before
                // any ServerHello, when the handshake is refused: skipped.
                Ok(None) => {}
                Err(e) => {
                    tracing::debug!(error = %e, "no ServerHello in the server's first bytes");
                    this.server = None;
                }
            }
        }
        r
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
