//! The one way to build an NF's `{apiRoot}` (TS 29.501 §4.4.1) for `Location` headers and
//! `_links`: the NF's `api_root` setting, else the address its SBI listener is bound to
//! (`http(s)://<ip>:<port>`, as [`crate::NfHost`] puts it on every request). Never the
//! request's `Host` or `:authority`: a consumer that followed a forged host would send its
//! access token, and the bodies of later calls, there (issue 9 #7).
//!
//! Production refuses to start an NF that advertises links ([`crate::NfHost::api_root`])
//! on a wildcard address (`0.0.0.0`, `[::]`) without `api_root`, since no URI can be
//! derived from it.

use std::sync::Arc;

use axum::extract::Request;

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

/// The `{apiRoot}` an NF advertises, fixed at startup: a request extension that
/// [`crate::NfHost`] adds to every SBI request (its `api_root` setting, else the bound
/// address).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdvertisedApiRoot(pub Arc<str>);

/// The `{apiRoot}` of an NF listening on `addr` (with TLS or not), when none is
/// configured: `None` for a wildcard address, which names no host.
pub fn derived_api_root(addr: std::net::SocketAddr, tls: bool) -> Option<String> {
    if addr.ip().is_unspecified() {
        return None;
    }
    Some(format!("{}://{addr}", if tls { "https" } else { "http" }))
}

/// The `{apiRoot}` for links in the answer to `req`: `configured`, else the one the host
/// fixed at startup ([`AdvertisedApiRoot`]), else (a router served outside [`crate::NfHost`],
/// as in unit tests) `http(s)://localhost`. Never from the request's `Host` or
/// `:authority`.
pub fn api_root(configured: Option<&str>, req: &Request) -> String {
    if let Some(r) = configured {
        return r.to_owned();
    }
    if let Some(AdvertisedApiRoot(r)) = req.extensions().get::<AdvertisedApiRoot>() {
        return r.to_string();
    }
    let tls = req
        .extensions()
        .get::<akma_sbi_server::server::TransportInfo>()
        .is_some_and(|t| t.tls);
    format!("{}://localhost", if tls { "https" } else { "http" })
}

#[cfg(test)]
mod tests {
    use super::*;

    use axum::http::header;

    fn req(uri: &str, host: Option<&str>, advertised: Option<&str>) -> Request {
        let mut b = axum::http::Request::builder().uri(uri);
        if let Some(h) = host {
            b = b.header(header::HOST, h);
        }
        let mut r = b.body(axum::body::Body::empty()).unwrap();
        if let Some(a) = advertised {
            r.extensions_mut().insert(AdvertisedApiRoot(a.into()));
        }
        r
    }

    #[test]
    fn configured_then_advertised_never_the_request() {
        assert_eq!(
            api_root(Some("https://x:1"), &req("/a", None, Some("https://y:2"))),
            "https://x:1"
        );
        let adv = Some("https://10.0.0.1:8443");
        assert_eq!(
            api_root(None, &req("http://evil.example:8/a", None, adv)),
            "https://10.0.0.1:8443"
        );
        assert_eq!(
            api_root(None, &req("/a", Some("evil.example:9"), adv)),
            "https://10.0.0.1:8443"
        );
        // Outside the host: never the forged authority or Host either.
        assert_eq!(
            api_root(
                None,
                &req("http://evil.example:8/a", Some("evil.example"), None)
            ),
            "http://localhost"
        );
    }

    #[test]
    fn derived_from_the_bound_address() {
        assert_eq!(
            derived_api_root("127.0.0.1:8081".parse().unwrap(), false).as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(
            derived_api_root("[::1]:8443".parse().unwrap(), true).as_deref(),
            Some("https://[::1]:8443")
        );
        assert_eq!(
            derived_api_root("0.0.0.0:8443".parse().unwrap(), true),
            None
        );
        assert_eq!(derived_api_root("[::]:8443".parse().unwrap(), true), None);
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
