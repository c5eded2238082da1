//! Where a client's OAuth2 access tokens come from (TS 33.501 §13.4.1.2): [`TokenSource`].
//! Now a [`StaticToken`]; the NRF issue adds a source that asks Nnrf_AccessToken and caches
//! by target and scope.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use akma_sbi_model::common::NfType;
use zeroize::Zeroizing;

use crate::client::ClientError;

/// What a token is for: the producer's NF type and the scopes of the operation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TokenRequest<'a> {
    /// The producer's NF type (the token's audience), if known.
    pub target: Option<NfType>,
    /// The scopes the operation requires.
    pub scopes: &'a [&'a str],
    /// The producer's PLMN when it may be another network's (roaming: the home network of
    /// an A-KID), sent as the token request's `targetPlmn`.
    pub target_plmn: Option<&'a akma_sbi_model::nnrf::PlmnId>,
}

/// The future a [`TokenSource`] returns: a token, or `None` to send no `Authorization`.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Arc<Zeroizing<String>>>, ClientError>> + Send + 'a>>;

/// A source of access tokens for outgoing requests. `Debug` must not print a token.
pub trait TokenSource: Send + Sync + fmt::Debug {
    /// The token for one request.
    fn token<'a>(&'a self, req: TokenRequest<'a>) -> TokenFuture<'a>;
}

/// One token for every request (configured, or from a test issuer).
#[derive(Clone)]
pub struct StaticToken(Arc<Zeroizing<String>>);

impl StaticToken {
    /// The token `token`.
    pub fn new(token: impl Into<String>) -> Self {
        Self(Arc::new(Zeroizing::new(token.into())))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StaticToken(<redacted>)")
    }
}

impl TokenSource for StaticToken {
    fn token<'a>(&'a self, _req: TokenRequest<'a>) -> TokenFuture<'a> {
        let t = self.0.clone();
        Box::pin(async move { Ok(Some(t)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn static_token_is_redacted_and_returned() {
        let s = StaticToken::new("secret-token");
        assert!(!format!("{s:?}").contains("secret"));
        let t = s.token(TokenRequest::default()).await.unwrap().unwrap();
        assert_eq!(t.as_str(), "secret-token");
    }
}
