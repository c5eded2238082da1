//! Nnrf (TS 29.510, `TS29510_Nnrf_*.yaml`): the API roots and scopes, and the
//! `AccessTokenClaims` a producer verifies. The NF management, discovery and token
//! operations are not implemented yet.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// The API root path of Nnrf_NFManagement.
pub const NFM_API_ROOT: &str = "/nnrf-nfm/v1";
/// The API root path of Nnrf_NFDiscovery.
pub const DISC_API_ROOT: &str = "/nnrf-disc/v1";
/// The path of the Nnrf_AccessToken token endpoint (`application/x-www-form-urlencoded`).
pub const ACCESS_TOKEN_PATH: &str = "/oauth2/token";

/// OAuth2 scopes of Nnrf (TS 29.510 YAML).
pub mod scope {
    /// Nnrf_NFManagement.
    pub const NFM: &str = "nnrf-nfm";
    /// Nnrf_NFDiscovery.
    pub const DISC: &str = "nnrf-disc";
}

/// The verified claims of an access token (TS 29.510 `AccessTokenClaims`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Claims {
    /// `iss`: the NRF.
    pub iss: String,
    /// `sub`: the consumer's NF instance id.
    pub sub: String,
    /// `aud`, as a list (a single NF type becomes a one-element list).
    pub aud: Vec<String>,
    /// `scope`, split on spaces.
    pub scopes: BTreeSet<String>,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
    /// `nbf`, if present.
    pub nbf: Option<u64>,
    /// Every other claim (e.g. `consumerPlmnId`, `producerSnssaiList`), untouched.
    pub extra: Map<String, Value>,
}

impl Claims {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}
