//! The one way to build an NF's `{apiRoot}` (TS 29.501 §4.4.1) for `Location` headers and
//! `_links`: the configured one, else the connection's scheme and the request's authority.

use axum::extract::Request;
use axum::http::header;

/// An `{apiRoot}` setting that is not `http(s)://host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} {value:?} is not an apiRoot; expected http://host:port or https://host:port")]
#[non_exhaustive]
pub struct ApiRootError {
    /// The setting (`api_root`, `--udm`, …).
    pub what: &'static str,
    /// The text given.
    pub value: String,
}

/// Checks an `{apiRoot}` setting (`http://host[:port]` or `https://…`, no query or
/// fragment) and returns it without a trailing `/`.
pub fn check_api_root(what: &'static str, s: &str) -> Result<String, ApiRootError> {
    let ok = (s.starts_with("http://") || s.starts_with("https://"))
        && s.len() > "https://".len()
        && !s.contains(['?', '#', ' ']);
    if ok {
        Ok(s.trim_end_matches('/').to_owned())
    } else {
        Err(ApiRootError {
            what,
            value: s.to_owned(),
        })
    }
}

/// The `{apiRoot}` for links in the answer to `req`: `configured`, else `https` or `http`
/// (as the connection was) and the request's authority (`:authority` in HTTP/2, `Host` in
/// HTTP/1.1; a `Host` that is not a plain authority gives `localhost`).
pub fn api_root(configured: Option<&str>, req: &Request) -> String {
    if let Some(r) = configured {
        return r.to_owned();
    }
    let tls = req
        .extensions()
        .get::<akma_sbi_server::server::TransportInfo>()
        .is_some_and(|t| t.tls);
    let scheme = if tls { "https" } else { "http" };
    let authority = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_owned())
        .or_else(|| {
            req.headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '@']))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "localhost".to_owned());
    format!("{scheme}://{authority}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(uri: &str, host: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    #[test]
    fn configured_then_authority_then_host() {
        assert_eq!(
            api_root(Some("https://x:1"), &req("/a", None)),
            "https://x:1"
        );
        assert_eq!(api_root(None, &req("http://h2:8/a", None)), "http://h2:8");
        assert_eq!(api_root(None, &req("/a", Some("h1:9"))), "http://h1:9");
        assert_eq!(
            api_root(None, &req("/a", Some("evil/x"))),
            "http://localhost"
        );
        assert_eq!(api_root(None, &req("/a", None)), "http://localhost");
    }

    #[test]
    fn checks_settings() {
        assert_eq!(
            check_api_root("api_root", "https://a:1/").unwrap(),
            "https://a:1"
        );
        let e = check_api_root("api_root", "udm.example.org").unwrap_err();
        assert!(e.to_string().contains("api_root"), "{e}");
        assert!(check_api_root("x", "http://a?b").is_err());
    }
}
