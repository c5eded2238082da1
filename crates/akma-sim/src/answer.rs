//! Answer helpers for tests that talk to a network function over HTTP: send a request, get
//! the status, content type, JSON body, headers and HTTP version back in one [`Answer`], and
//! assert on ProblemDetails.

use reqwest::{Client, Method, StatusCode, Version};
use serde_json::Value;

/// An answer: status, content type, JSON body (Null when empty), headers, HTTP version.
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The `content-type`, if any.
    pub content_type: Option<String>,
    /// The body as JSON; `Null` when empty; a plain-text body (`/healthz`, `/readyz`) is kept
    /// as a JSON string.
    pub body: Value,
    /// Whether a non-empty body parsed as JSON.
    pub json: bool,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The HTTP version.
    pub version: Version,
}

impl Answer {
    /// ProblemDetails' `cause`.
    pub fn cause(&self) -> Option<&str> {
        self.body["cause"].as_str()
    }

    /// Asserts a ProblemDetails with this status and cause (panics otherwise: a test helper).
    pub fn assert_problem(&self, status: u16, cause: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        assert_eq!(self.cause(), cause, "{}", self.body);
    }

    /// The `param` of each ProblemDetails `invalidParams` entry, in order (an entry without
    /// a string `param` gives `""`).
    pub fn invalid_params(&self) -> Vec<String> {
        self.body["invalidParams"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["param"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `location` header, if any (and valid text).
    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

/// Sends one request with an optional bearer token and an optional `(content type, body)`.
pub async fn send(
    client: &Client,
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Result<Answer, reqwest::Error> {
    let mut rb = client.request(method, url);
    if let Some(t) = bearer {
        rb = rb.bearer_auth(t);
    }
    if let Some((ct, b)) = body {
        rb = rb.header("content-type", ct).body(b);
    }
    let resp = rb.send().await?;
    let status = resp.status();
    let version = resp.version();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let bytes = resp.bytes().await?;
    let (body, json) = if bytes.is_empty() {
        (Value::Null, false)
    } else {
        match serde_json::from_slice(&bytes) {
            Ok(v) => (v, true),
            Err(_) => (
                Value::String(String::from_utf8_lossy(&bytes).into_owned()),
                false,
            ),
        }
    };
    Ok(Answer {
        status,
        content_type,
        body,
        json,
        headers,
        version,
    })
}

/// `POST` with an `application/json` body.
pub async fn post_json(client: &Client, url: &str, body: &Value) -> Result<Answer, reqwest::Error> {
    send(
        client,
        Method::POST,
        url,
        None,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

/// `PUT` with an `application/json` body.
pub async fn put_json(client: &Client, url: &str, body: &Value) -> Result<Answer, reqwest::Error> {
    send(
        client,
        Method::PUT,
        url,
        None,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

/// An HTTP/2 prior-knowledge (h2c) client with no proxy and a bound on each request.
pub fn h2c_client() -> Result<Client, reqwest::Error> {
    Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(15))
        .build()
}
