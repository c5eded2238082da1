//! The NEF's two operations over its southbound clients: the token endpoint
//! ([`Nef::token`]) and AKMA key retrieval ([`Nef::retrieve`]), with the rate limit
//! ([`Nef::admit`]) that both count against.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_sbi_client::{ClientError, NaanfClient, NudmSdmClient};
use akma_sbi_model::naanf::UeId;
use akma_sbi_model::naanf_push::{scope as push_scope, PushInfo, PushInfoRequest};
use akma_sbi_model::nef_akma::{AkmaAfKeyData, AkmaAfKeyRequest};
use akma_sbi_server::Claims;
use http::StatusCode;
use zeroize::Zeroizing;

use crate::config::AfEntry;
use crate::metrics::{Metrics, Op, Peer};
use crate::rules::{self, ClientAuth, RateLimiter, Registry, RuleError, TokenError};
use crate::token::{verify_secret, CredentialCache, TokenIssuer, TokenResponse};

/// Why a retrieve failed (mapped to HTTP in `routes::to_sbi_error`).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NefError {
    /// A rule refused it (403).
    #[error(transparent)]
    Rule(#[from] RuleError),
    /// The token's client is not (or no longer) in the registry (401).
    #[error("the access token's client is not registered")]
    UnknownClient,
    /// Over the AF's rate limit (429).
    #[error("over the rate limit")]
    RateLimited {
        /// Whole seconds.
        retry_after_secs: u64,
    },
    /// No configured AAnF serves the A-KID's routing indicator and realm (400 on `/aKId`).
    #[error("no AAnF serves this A-KID's home network")]
    NoAanf,
    /// A peer did not answer, answered 5xx or timed out (503).
    #[error("{peer} unavailable: {detail}")]
    Unavailable {
        /// `AAnF` or `UDM`.
        peer: &'static str,
        /// What happened (logged, scrubbed; never sent).
        detail: String,
    },
    /// The AAnF refused to give this AF's key (403 `AF_NOT_AUTHORIZED`).
    #[error("the AAnF refused: {0}")]
    AanfRefused(String),
    /// An external AF named the UE by SUPI in a push-info request (400 on `/supi`).
    #[error("an AF outside the operator's network names the UE by GPSI, never by SUPI")]
    SupiFromOutside,
    /// The token lacks the scope of the operation (403).
    #[error("the access token lacks scope {0}")]
    MissingScope(&'static str),
    /// Anything else from a peer (500; logged, never sent).
    #[error("{peer}: {detail}")]
    Peer {
        /// `AAnF` or `UDM`.
        peer: &'static str,
        /// What happened.
        detail: String,
    },
}

/// The southbound side: the AAnF (selected per A-KID) and the UDM.
#[derive(Debug, Clone)]
pub struct Southbound {
    /// Naanf_AKMA, with the AAnF directory as its resolver.
    pub aanf: NaanfClient,
    /// Nudm_SDM, if configured.
    pub udm: Option<NudmSdmClient>,
    /// Deadline of one call.
    pub timeout: Duration,
}

/// A verified token request, before the registry is consulted.
pub struct TokenRequest<'a> {
    /// The `Authorization` header, if any.
    pub authorization: Option<&'a str>,
    /// The form body (already checked to be `application/x-www-form-urlencoded`).
    pub form: &'a [u8],
    /// The client certificate's SAN DNS names, if the AF presented one over TLS.
    pub certificate_dns: Option<&'a [String]>,
}

/// The NEF.
pub struct Nef {
    registry: Registry,
    limiter: RateLimiter,
    origin: Instant,
    issuer: TokenIssuer,
    creds: CredentialCache,
    south: Southbound,
    retry_after_secs: u64,
    metrics: Arc<Metrics>,
    relay: Option<Relay>,
}

/// The service-disable relay: its key, the NEF's root as the AAnF reaches it, and the
/// clients of the outside AFs' callbacks.
struct Relay {
    key: crate::relay::RelayKey,
    root: std::sync::OnceLock<String>,
    callbacks: akma_nf_host::PeerClients,
    /// Development mode: loopback callback hosts are accepted too.
    dev: bool,
}

impl Relay {
    fn authorize(&self, entry: &AfEntry, uri: &str) -> Result<(), RuleError> {
        let loopback = || {
            akma_sbi_model::common::fields::uri_host(uri)
                .is_some_and(|h| akma_sbi_model::common::fields::is_loopback_host(&h))
        };
        match rules::authorize_callback(entry, uri) {
            Err(_) if self.dev && loopback() => Ok(()),
            r => r,
        }
    }
}

/// What a relayed service-disable notification came to (the answer to the AAnF).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relayed {
    /// The AF answered 2xx: 204.
    Delivered,
    /// The token is not this NEF's, or its AF is gone or lost that host: 404.
    UnknownTarget,
    /// The AF refused it (a 4xx other than 408/429): 404, so that the AAnF stops.
    Refused,
    /// The AF cannot be reached or answered 5xx/408/429: 503, so that the AAnF retries.
    Unreachable,
}

impl std::fmt::Debug for Nef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nef")
            .field("afs", &self.registry.len())
            .field("issuer", &self.issuer)
            .finish_non_exhaustive()
    }
}

/// A retrieve's result.
pub enum Retrieved {
    /// 200 with the answer for the external AF (no SUPI).
    Key(AkmaAfKeyData),
    /// 204: no live context.
    NoContext,
}

impl Nef {
    /// A NEF over `registry`, issuing tokens with `issuer`.
    pub fn new(
        registry: Registry,
        issuer: TokenIssuer,
        credential_cache: usize,
        south: Southbound,
        retry_after_secs: u64,
        metrics: Arc<Metrics>,
    ) -> Self {
        let origin = Instant::now();
        let limiter = RateLimiter::new(&registry, Duration::ZERO);
        Self {
            registry,
            limiter,
            origin,
            issuer,
            creds: CredentialCache::new(credential_cache),
            south,
            retry_after_secs,
            metrics,
            relay: None,
        }
    }

    /// Relays service-disable notifications (`notifUri`) with this key, the NEF's root as
    /// the AAnF reaches it (`None`: set later with [`Self::set_callback_root`], e.g. once the
    /// development listener is bound) and these clients of the AFs' callbacks.
    pub fn with_relay(
        mut self,
        key: crate::relay::RelayKey,
        root: Option<String>,
        callbacks: akma_nf_host::PeerClients,
        dev: bool,
    ) -> Self {
        let cell = std::sync::OnceLock::new();
        if let Some(r) = root {
            let _ = cell.set(r);
        }
        self.relay = Some(Relay {
            key,
            root: cell,
            callbacks,
            dev,
        });
        self
    }

    /// Sets the relay's root if it has none yet.
    pub fn set_callback_root(&self, root: String) {
        if let Some(r) = &self.relay {
            let _ = r.root.set(root);
        }
    }

    /// The relay URI the AAnF is given for this AF's `notifUri`, after checking that its
    /// host is one of the AF's registered FQDNs.
    fn relay_uri(&self, entry: &AfEntry, notif_uri: &str) -> Result<String, RuleError> {
        let refuse = |why: String| RuleError::CallbackNotAllowed(why);
        if notif_uri.len() > crate::relay::MAX_AF_NOTIF_URI {
            return Err(refuse(format!(
                "longer than {} octets",
                crate::relay::MAX_AF_NOTIF_URI
            )));
        }
        let relay = self
            .relay
            .as_ref()
            .ok_or_else(|| refuse("this NEF relays no service-disable notifications".into()))?;
        relay.authorize(entry, notif_uri)?;
        relay
            .callbacks
            .check("af", notif_uri)
            .map_err(|e| refuse(e.to_string()))?;
        let root = relay.root.get().ok_or_else(|| {
            refuse(
                "this NEF has no callback_root: it relays no service-disable notifications".into(),
            )
        })?;
        Ok(format!(
            "{root}{}/{}",
            crate::relay::RELAY_PATH,
            relay.key.seal(&entry.client_id, notif_uri)
        ))
    }

    /// A service-disable notification from the AAnF at a relay URI: checked, then POSTed to
    /// the outside AF's `notifUri` (see [`crate::relay`]).
    //= req 29522-service-disable-notif
    pub async fn relay_notification(
        &self,
        token: &str,
        notif: &akma_sbi_model::ServiceDisableNotif,
    ) -> Relayed {
        let Some(relay) = &self.relay else {
            return Relayed::UnknownTarget;
        };
        let Some((client_id, uri)) = relay.key.open(token) else {
            return Relayed::UnknownTarget;
        };
        // The AF must still be registered, with that host.
        let Some(entry) = self.registry.get(&client_id) else {
            return Relayed::UnknownTarget;
        };
        if relay.authorize(entry, &uri).is_err() {
            return Relayed::UnknownTarget;
        }
        let client = match relay.callbacks.client("af", &uri) {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(client_id, error = %e, "service-disable relay: no client for the AF's callback");
                return Relayed::Unreachable;
            }
        };
        let call = client.post_no_content(&uri, notif);
        match tokio::time::timeout(self.south.timeout, call).await {
            Ok(Ok(())) => {
                tracing::info!(client_id, a_kid = %akma_core::logref::IdRef::of(notif.a_kid.as_str()), "service-disable notification relayed to the AF");
                Relayed::Delivered
            }
            Ok(Err(e)) if e.final_refusal().is_some() => {
                tracing::info!(client_id, status = ?e.status(), "service-disable notification refused by the AF");
                Relayed::Refused
            }
            Ok(Err(e)) => {
                tracing::warn!(client_id, error = %akma_core::logref::Scrubbed(&e), "service-disable relay: the AF cannot be reached");
                Relayed::Unreachable
            }
            Err(_) => Relayed::Unreachable,
        }
    }

    /// The token issuer.
    pub fn issuer(&self) -> &TokenIssuer {
        &self.issuer
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    fn take(&self, client_id: &str, op: Op) -> Result<(), u64> {
        let r = self.limiter.take(client_id, self.origin.elapsed());
        if r.is_err() {
            self.metrics.rate_limited(op);
        }
        r
    }

    /// `POST /oauth2/token` (RFC 6749 §4.4): checks the form, authenticates the client
    /// (Basic with argon2id and the credential cache, or RFC 8705 `tls_client_auth`),
    /// counts the request against the AF's bucket, grants scopes and signs the token.
    //= req 29522-oauth2
    pub async fn token(&self, req: TokenRequest<'_>) -> Result<TokenResponse, TokenError> {
        let pairs: Vec<(String, Zeroizing<String>)> =
            serde_urlencoded::from_bytes::<Vec<(String, String)>>(req.form)
                .map_err(|_| TokenError::InvalidRequest("the form body does not decode".into()))?
                .into_iter()
                .map(|(k, v)| (k, Zeroizing::new(v)))
                .collect();
        let get = |name: &str| -> Result<Option<Zeroizing<String>>, TokenError> {
            let mut it = pairs.iter().filter(|(k, _)| k == name);
            let first = it.next().map(|(_, v)| v.clone());
            if it.next().is_some() {
                // RFC 6749 §3.2: parameters must not be included more than once.
                return Err(TokenError::InvalidRequest(format!(
                    "parameter {name} given more than once"
                )));
            }
            Ok(first)
        };
        let grant = get("grant_type")?;
        let scope = get("scope")?;
        let form_client_id = get("client_id")?;
        let form_secret = get("client_secret")?;
        match grant.as_deref().map(String::as_str) {
            None => return Err(TokenError::InvalidRequest("grant_type is missing".into())),
            Some("client_credentials") => {}
            Some(_) => {
                return Err(TokenError::UnsupportedGrantType(
                    "only grant_type=client_credentials is supported".into(),
                ))
            }
        }
        let basic = rules::parse_basic(req.authorization)?;
        let auth = rules::client_auth(
            basic,
            form_client_id.as_deref().map(String::as_str),
            form_secret.is_some(),
            req.certificate_dns.is_some(),
        )?;
        let entry = self.authenticate(&auth, req.certificate_dns).await?;
        self.take(&entry.client_id, Op::Token)
            .map_err(|retry_after_secs| TokenError::RateLimited { retry_after_secs })?;
        let scopes = rules::grant_scopes(&entry, scope.as_deref().map(String::as_str))?;
        let access_token = self
            .issuer
            .issue(&entry.client_id, &scopes)
            .map_err(|e| TokenError::InvalidRequest(e.to_string()))?;
        self.metrics.token_issued();
        tracing::info!(client_id = %entry.client_id, scope = %scopes.join(" "), "access token issued");
        Ok(TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: self.issuer.lifetime_secs(),
            scope: (!scopes.is_empty()).then(|| scopes.join(" ")),
        })
    }

    async fn authenticate(
        &self,
        auth: &ClientAuth,
        certificate_dns: Option<&[String]>,
    ) -> Result<Arc<AfEntry>, TokenError> {
        let failed = || TokenError::InvalidClient("client authentication failed".into());
        let entry = self
            .registry
            .get(auth.client_id())
            .cloned()
            .ok_or_else(failed)?;
        let ok = match auth {
            ClientAuth::SecretBasic { client_id, secret } => {
                if self.creds.hit(client_id, secret) {
                    true
                } else {
                    let phc = entry.client_secret_hash.clone();
                    let s = secret.clone();
                    // argon2id costs milliseconds of CPU and 19 MiB: off the runtime threads.
                    let ok = tokio::task::spawn_blocking(move || verify_secret(&phc, &s))
                        .await
                        .unwrap_or(false);
                    if ok {
                        self.creds.insert(client_id, secret);
                    }
                    ok
                }
            }
            ClientAuth::TlsClientAuth { .. } => {
                rules::certificate_matches(&entry, certificate_dns.unwrap_or_default())
            }
        };
        if ok {
            Ok(entry)
        } else {
            let method = match auth {
                ClientAuth::SecretBasic { .. } => "client_secret_basic",
                ClientAuth::TlsClientAuth { .. } => "tls_client_auth",
            };
            tracing::info!(client_id = %auth.client_id(), method, "client authentication failed");
            Err(failed())
        }
    }

    /// The AF of a verified token, counted against its bucket (before the body is read).
    //= req 33535-6.3-nef-authorizes-af
    pub fn admit(&self, claims: &Claims) -> Result<Arc<AfEntry>, NefError> {
        let entry = self
            .registry
            .get(&claims.sub)
            .cloned()
            .ok_or(NefError::UnknownClient)?;
        self.take(&entry.client_id, Op::Retrieve)
            .map_err(|retry_after_secs| NefError::RateLimited { retry_after_secs })?;
        Ok(entry)
    }

    /// The `Retry-After` of a 503.
    pub fn retry_after_secs(&self) -> u64 {
        self.retry_after_secs
    }

    /// `POST /3gpp-akma/v1/retrieve` for an admitted AF: the afId check, the AAnF call
    /// (with the AF's `anonInd`), the GPSI when the token allows it, and never a SUPI.
    //= req 33535-6.3-nef-forwards-to-aanf, 29522-gpsi-access, 29522-anon-ind
    pub async fn retrieve(
        &self,
        entry: &AfEntry,
        claims: &Claims,
        req: &AkmaAfKeyRequest,
    ) -> Result<Retrieved, NefError> {
        rules::authorize_fqdn(entry, &req.af_fqdn)?;
        // The AF's suppFeat is not the NEF's to pass on, and its notifUri becomes the
        // NEF's relay URI: a copy only when there is either.
        let relay_uri = req
            .notif_uri
            .as_deref()
            .map(|u| self.relay_uri(entry, u))
            .transpose()?;
        let south = if req.supp_feat.is_some() || relay_uri.is_some() {
            Cow::Owned(AkmaAfKeyRequest {
                supp_feat: None,
                notif_uri: relay_uri,
                ..req.clone()
            })
        } else {
            Cow::Borrowed(req)
        };
        // The AAnF of the A-KID's routing indicator and home network: a roaming UE's is its
        // home network's, reached through the NRFs (TS 33.535 §4.1 scenario #3).
        //= req 33535-4.1-roaming-external-af
        let hint = akma_sbi_client::NfHint::of_a_kid(&req.a_kid);
        let Some(data) = self
            .aanf_call(self.south.aanf.retrieve_application_key_for(&hint, &south))
            .await?
        else {
            return Ok(Retrieved::NoContext);
        };
        let gpsi = if rules::wants_gpsi(&claims.scopes, req.anon_ind) {
            match (&data.gpsi, &data.supi) {
                (Some(g), _) => Some(g.clone()),
                (None, Some(supi)) => self.translate(supi).await?,
                (None, None) => None,
            }
        } else {
            None
        };
        Ok(Retrieved::Key(rules::external_answer(data, gpsi)))
    }

    /// AKMA push-info for an external AF (`3gpp-akma-push/v1/push-info`, a project
    /// extension; `conventions.md` step 2): the token must carry `nnef-akma-push` and the
    /// afId be the AF's; the UE is named by GPSI, which the UDM maps to the SUPI for the
    /// AAnF (without a UDM the AAnF is given the GPSI). The answer holds no identity.
    pub async fn push_info(
        &self,
        entry: &AfEntry,
        claims: &Claims,
        req: &PushInfoRequest,
    ) -> Result<Option<PushInfo>, NefError> {
        if !claims.scopes.iter().any(|s| s == push_scope::NEF_PUSH) {
            return Err(NefError::MissingScope(push_scope::NEF_PUSH));
        }
        rules::authorize_fqdn(entry, &req.af_fqdn)?;
        let UeId::Gpsi(gpsi) = &req.ue_id else {
            return Err(NefError::SupiFromOutside);
        };
        let ue_id = match &self.south.udm {
            None => UeId::Gpsi(gpsi.clone()),
            Some(udm) => match self.udm_translation(udm, &gpsi.to_string()).await? {
                Some(t) => UeId::Supi(t.supi),
                None => return Ok(None),
            },
        };
        let south = PushInfoRequest {
            af_fqdn: req.af_fqdn.clone(),
            ue_id,
        };
        self.aanf_call(self.south.aanf.push_info(&south)).await
    }

    /// One southbound AAnF call under the deadline, timed, its failure mapped to the NEF's.
    async fn aanf_call<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, ClientError>>,
    ) -> Result<T, NefError> {
        let start = Instant::now();
        let answer = tokio::time::timeout(self.south.timeout, call).await;
        self.metrics.southbound(Peer::Aanf, start.elapsed());
        match answer {
            Err(_) => Err(NefError::Unavailable {
                peer: "AAnF",
                detail: "timed out".into(),
            }),
            Ok(r) => r.map_err(aanf_error),
        }
    }

    /// Nudm_SDM id translation of a SUPI or GPSI under the deadline, timed: `None` for a UE
    /// the UDM does not know (404); no answer, a timeout or a 5xx is 503.
    async fn udm_translation(
        &self,
        udm: &NudmSdmClient,
        ue_id: &str,
    ) -> Result<Option<akma_sbi_model::nudm_sdm::IdTranslationResult>, NefError> {
        let start = Instant::now();
        let r = tokio::time::timeout(self.south.timeout, udm.id_translation(ue_id)).await;
        self.metrics.southbound(Peer::Udm, start.elapsed());
        match r {
            Err(_) => Err(NefError::Unavailable {
                peer: "UDM",
                detail: "timed out".into(),
            }),
            Ok(Ok(t)) => Ok(Some(t)),
            Ok(Err(e)) if e.status() == Some(StatusCode::NOT_FOUND) => Ok(None),
            Ok(Err(e)) if e.is_unavailable() => Err(NefError::Unavailable {
                peer: "UDM",
                detail: e.to_string(),
            }),
            Ok(Err(e)) => Err(NefError::Peer {
                peer: "UDM",
                detail: e.to_string(),
            }),
        }
    }

    /// TS 33.535 §6.3: the SUPI the AAnF gave, translated into the UE's GPSI (Nudm_SDM
    /// GetSupiOrGpsi). No UDM configured, or a subscriber with no GPSI: no GPSI. UDM
    /// unreachable, 5xx or timeout: 503 (the answer would otherwise silently lack an
    /// identity the AF is entitled to).
    async fn translate(
        &self,
        supi: &akma_core::ids::Supi,
    ) -> Result<Option<akma_core::ids::Gpsi>, NefError> {
        let Some(udm) = &self.south.udm else {
            tracing::warn!("a GPSI is needed but no UDM is configured: answering without one");
            return Ok(None);
        };
        Ok(self
            .udm_translation(udm, supi.as_str())
            .await?
            .and_then(|t| t.gpsi))
    }
}

fn aanf_error(e: ClientError) -> NefError {
    match &e {
        ClientError::NoProducer { .. } => NefError::NoAanf,
        _ if e.is_unavailable() => NefError::Unavailable {
            peer: "AAnF",
            detail: e.to_string(),
        },
        _ if e.status() == Some(StatusCode::FORBIDDEN) => {
            NefError::AanfRefused(e.cause().unwrap_or("403").to_owned())
        }
        _ => NefError::Peer {
            peer: "AAnF",
            detail: e.to_string(),
        },
    }
}
