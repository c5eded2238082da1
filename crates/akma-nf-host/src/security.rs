//! The SBI server's security from `[tls]`, `[oauth2]` and `[limits]`: the mutual TLS
//! configuration, the access-token verifier and the time and resource limits. Development
//! mode has no TLS and no tokens, but the same limits.

use std::sync::Arc;
use std::time::Duration;

use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{ServeLimits, TokenVerifier, TokenVerifierConfig};

use crate::config::{HostConfig, OAuth2Config, TlsConfig};
use crate::error::{read_file, HostError};

/// What the SBI server enforces.
#[derive(Clone, Default)]
pub struct SbiSecurity {
    /// The mutual TLS configuration (`None`: cleartext h2c and HTTP/1.1, development).
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// The access-token verifier (`None`: no tokens, development).
    pub verifier: Option<Arc<TokenVerifier>>,
    /// The time and resource limits of the SBI and ops listeners (`[limits]`).
    pub limits: ServeLimits,
}

impl std::fmt::Debug for SbiSecurity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SbiSecurity")
            .field("tls", &self.tls.is_some())
            .field("verifier", &self.verifier.is_some())
            .field("limits", &self.limits)
            .finish()
    }
}

impl SbiSecurity {
    /// The limits of `[limits]`, and in production the verifier, then the TLS
    /// configuration (reading their files). `nf_type` is the example audience in messages
    /// (`"AANF"`).
    pub fn resolve<N>(
        dev: bool,
        config: &HostConfig<N>,
        nf_type: &'static str,
    ) -> Result<Self, HostError> {
        if dev {
            return Ok(Self {
                limits: config.limits.clone(),
                ..Self::default()
            });
        }
        let verifier = token_verifier(
            config.oauth2.as_ref().ok_or(HostError::NeedsOAuth2)?,
            nf_type,
        )?;
        let tls = tls_config(config.tls.as_ref().ok_or(HostError::NeedsTls)?)?;
        Ok(Self {
            tls: Some(tls),
            verifier: Some(verifier),
            limits: config.limits.clone(),
        })
    }
}

/// The access-token verifier of `[oauth2]`.
pub fn token_verifier(
    o: &OAuth2Config,
    nf_type: &'static str,
) -> Result<Arc<TokenVerifier>, HostError> {
    let first_aud = o
        .audience
        .first()
        .ok_or(HostError::NoAudience { nf_type })?;
    let mut vc = TokenVerifierConfig::new(o.issuer.clone(), first_aud.clone());
    vc.audiences = o.audience.clone();
    vc.leeway = Duration::from_secs(o.leeway_secs);
    let mut n = 0;
    for (alg, files) in [
        (TokenAlg::Es256, &o.es256_public_keys),
        (TokenAlg::Rs256, &o.rs256_public_keys),
    ] {
        for f in files {
            let key = VerificationKey::from_pem(alg, &read_file(f)?, None).map_err(|source| {
                HostError::TokenKey {
                    path: f.clone(),
                    source,
                }
            })?;
            vc = vc.with_key(key);
            n += 1;
        }
    }
    if n == 0 {
        return Err(HostError::NoTokenKeys);
    }
    Ok(Arc::new(TokenVerifier::new(vc)))
}

/// The mutual TLS server configuration of `[tls]`.
pub fn tls_config(t: &TlsConfig) -> Result<Arc<rustls::ServerConfig>, HostError> {
    let key = zeroize::Zeroizing::new(read_file(&t.key)?);
    let mut crls = Vec::new();
    for path in &t.client_crls {
        let list = akma_sbi_server::tls::crls_from_pem(&read_file(path)?, "client CRL").map_err(
            |source| HostError::Crl {
                path: path.clone(),
                source,
            },
        )?;
        crls.extend(list);
    }
    Ok(akma_sbi_server::tls::mtls_server_config_with_crls(
        &read_file(&t.cert)?,
        &key,
        &read_file(&t.client_ca)?,
        crls,
    )?)
}
