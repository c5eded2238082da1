//! Nudm_UECM (TS 29.503, `TS29503_Nudm_UECM.yaml`): the API root and scope only; no
//! operation is implemented yet.

/// The API root path of Nudm_UECM.
pub const API_ROOT: &str = "/nudm-uecm/v1";

/// OAuth2 scopes of Nudm_UECM (TS 29.503 YAML).
pub mod scope {
    /// The API scope.
    pub const API: &str = "nudm-uecm";
}
