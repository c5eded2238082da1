//! A minimal HTTP client over an established Ua* stream (the UE side of `akma ue --connect`
//! and of the benchmarks): one request, HTTP/2 when ALPN agreed `h2`, else HTTP/1.1.

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[error("HTTP request failed: {0}")]
pub struct HttpError(String);

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// The body.
    pub body: Bytes,
}

/// `GET path` with `Host: host` over `stream`; `h2` selects HTTP/2.
pub async fn get<S>(stream: S, h2: bool, host: &str, path: &str) -> Result<Answer, HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let err = |e: &dyn std::fmt::Display| HttpError(e.to_string());
    let io = TokioIo::new(stream);
    let req = |uri: String| {
        http::Request::get(uri)
            .header(http::header::HOST, host)
            .header(http::header::USER_AGENT, "akma-ue")
            .body(Empty::<Bytes>::new())
            .map_err(|e| err(&e))
    };
    let resp = if h2 {
        let (mut send, conn) = hyper::client::conn::http2::handshake(TokioExecutor::new(), io)
            .await
            .map_err(|e| err(&e))?;
        tokio::spawn(conn);
        send.send_request(req(format!("https://{host}{path}"))?)
            .await
            .map_err(|e| err(&e))?
    } else {
        let (mut send, conn) = hyper::client::conn::http1::handshake(io)
            .await
            .map_err(|e| err(&e))?;
        tokio::spawn(conn);
        send.send_request(req(path.to_owned())?)
            .await
            .map_err(|e| err(&e))?
    };
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| err(&e))?
        .to_bytes();
    Ok(Answer { status, body })
}
