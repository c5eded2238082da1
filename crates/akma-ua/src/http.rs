//! A minimal HTTP client over an established Ua* stream (the UE side of `akma ue --connect`,
//! of `akma_msgin5g::client` and of the benchmarks): HTTP/2 when ALPN agreed `h2`, else
//! HTTP/1.1.
//!
//! [`Session`] keeps the connection for any number of [`Request`]s (any method, headers, a
//! JSON body); [`request`] and [`get`] send one request over a fresh stream.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::{http1, http2};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[error("HTTP request failed: {0}")]
pub struct HttpError(String);

fn err(e: &dyn std::fmt::Display) -> HttpError {
    HttpError(e.to_string())
}

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body.
    pub body: Bytes,
}

/// One request: method, path (with query), extra headers, optional body.
#[derive(Debug, Clone)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path and query, e.g. `/messages?limit=10`.
    pub path: String,
    /// Headers besides `Host` and `User-Agent` (which the session sets).
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// The body (empty for none).
    pub body: Bytes,
}

impl Request {
    /// `GET path`, no body.
    pub fn get(path: impl Into<String>) -> Self {
        Self::new(Method::GET, path)
    }

    /// `method path`, no body.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        Self {
            method,
            path: path.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// `method path` with `value` as a JSON body (`Content-Type: application/json`).
    pub fn json<T: serde::Serialize + ?Sized>(
        method: Method,
        path: impl Into<String>,
        value: &T,
    ) -> Result<Self, HttpError> {
        let body = serde_json::to_vec(value).map_err(|e| err(&e))?;
        let mut r = Self::new(method, path);
        r.headers.push((
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        ));
        r.body = Bytes::from(body);
        Ok(r)
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }
}

enum Sender {
    H2(http2::SendRequest<Full<Bytes>>),
    H1(http1::SendRequest<Full<Bytes>>),
}

/// An HTTP connection over an established stream, for many requests in turn.
pub struct Session {
    sender: Sender,
    host: String,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("host", &self.host)
            .field("h2", &matches!(self.sender, Sender::H2(_)))
            .finish()
    }
}

impl Session {
    /// Starts HTTP over `stream` (`h2` selects HTTP/2), with `Host: host` on every request.
    /// The connection is driven by a task of its own until the session is dropped.
    pub async fn handshake<S>(stream: S, h2: bool, host: &str) -> Result<Self, HttpError>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let io = TokioIo::new(stream);
        let sender = if h2 {
            let (send, conn) = http2::handshake(TokioExecutor::new(), io)
                .await
                .map_err(|e| err(&e))?;
            tokio::spawn(conn);
            Sender::H2(send)
        } else {
            let (send, conn) = http1::handshake(io).await.map_err(|e| err(&e))?;
            tokio::spawn(conn);
            Sender::H1(send)
        };
        Ok(Self {
            sender,
            host: host.to_owned(),
        })
    }

    /// Sends `req` and reads the whole answer.
    pub async fn request(&mut self, req: Request) -> Result<Answer, HttpError> {
        let uri = match self.sender {
            // HTTP/2 carries the authority in the :authority pseudo-header.
            Sender::H2(_) => format!("https://{}{}", self.host, req.path),
            Sender::H1(_) => req.path.clone(),
        };
        let mut b = http::Request::builder()
            .method(req.method)
            .uri(uri)
            .header(http::header::HOST, &self.host)
            .header(http::header::USER_AGENT, "akma-ue");
        for (n, v) in req.headers {
            b = b.header(n, v);
        }
        let r = b.body(Full::new(req.body)).map_err(|e| err(&e))?;
        let resp = match &mut self.sender {
            Sender::H2(s) => {
                s.ready().await.map_err(|e| err(&e))?;
                s.send_request(r).await.map_err(|e| err(&e))?
            }
            Sender::H1(s) => {
                s.ready().await.map_err(|e| err(&e))?;
                s.send_request(r).await.map_err(|e| err(&e))?
            }
        };
        let status = resp.status().as_u16();
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.map_err(|e| err(&e))?.to_bytes();
        Ok(Answer {
            status,
            headers: parts.headers,
            body,
        })
    }
}

/// Sends one `req` with `Host: host` over `stream`; `h2` selects HTTP/2.
pub async fn request<S>(stream: S, h2: bool, host: &str, req: Request) -> Result<Answer, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    Session::handshake(stream, h2, host)
        .await?
        .request(req)
        .await
}

/// `GET path` with `Host: host` over `stream`; `h2` selects HTTP/2.
pub async fn get<S>(stream: S, h2: bool, host: &str, path: &str) -> Result<Answer, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    request(stream, h2, host, Request::get(path)).await
}
