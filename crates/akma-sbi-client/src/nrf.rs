//! A client of the NRF (TS 29.510), for an NF that registers itself, sends heartbeats,
//! discovers its peers and gets its access tokens: [`NrfClient`]; and on it the
//! [`NrfResolver`] (an [`NfResolver`] over Nnrf_NFDiscovery, with a cache, using the
//! producers it found in turn) and the [`NrfTokenSource`] (a [`TokenSource`] over
//! Nnrf_AccessToken, caching each token until shortly before it expires).

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{
    AccessTokenErr, AccessTokenReq, AccessTokenRsp, NfProfile, PlmnId, SearchResult,
    ACCESS_TOKEN_PATH, DISC_API_ROOT, NFM_API_ROOT,
};
use akma_sbi_model::NfType;
use http::{header, Method, StatusCode};
use zeroize::Zeroizing;

use crate::client::{path_segment, ClientError, SbiClient};
use crate::nef::form_urlencode;
use crate::resolve::{NfHint, NfResolver, ResolveFuture};
use crate::token::{TokenFuture, TokenRequest, TokenSource};

/// A discovery request (`GET /nnrf-disc/v1/nf-instances`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discovery {
    /// `target-nf-type`.
    pub target: NfType,
    /// `requester-nf-type`.
    pub requester: NfType,
    /// `routing-indicator`.
    pub routing_indicator: Option<String>,
    /// `target-plmn-list` (empty: not sent).
    pub target_plmns: Vec<PlmnId>,
}

impl Discovery {
    /// NFs of type `target`, for a requester of type `requester`.
    pub fn new(target: NfType, requester: NfType) -> Self {
        Self {
            target,
            requester,
            routing_indicator: None,
            target_plmns: Vec::new(),
        }
    }

    /// The query string.
    pub fn query(&self) -> Result<String, ClientError> {
        let mut q = format!(
            "target-nf-type={}&requester-nf-type={}",
            self.target.as_str(),
            self.requester.as_str()
        );
        if let Some(ri) = &self.routing_indicator {
            q.push_str("&routing-indicator=");
            q.push_str(&form_urlencode(ri));
        }
        if !self.target_plmns.is_empty() {
            let json = serde_json::to_string(&self.target_plmns)
                .map_err(|e| ClientError::Setup(format!("target-plmn-list: {e}")))?;
            q.push_str("&target-plmn-list=");
            q.push_str(&form_urlencode(&json));
        }
        Ok(q)
    }
}

/// A client of one NRF. Cheap to clone.
#[derive(Debug, Clone)]
pub struct NrfClient {
    sbi: SbiClient,
    root: String,
}

impl NrfClient {
    /// A client of the NRF at `nrf_root` (`https://nrf.example:8443`), over `sbi` (in
    /// production an mTLS client whose certificate names this NF).
    pub fn new(sbi: SbiClient, nrf_root: impl Into<String>) -> Self {
        Self {
            sbi,
            root: nrf_root.into().trim_end_matches('/').to_owned(),
        }
    }

    fn instance_url(&self, id: &NfInstanceId) -> String {
        format!(
            "{}{NFM_API_ROOT}/nf-instances/{}",
            self.root,
            path_segment(id.as_str())
        )
    }

    /// Registers (or replaces) `profile`; the NRF's answer holds the `heartBeatTimer` to
    /// keep.
    pub async fn register(&self, profile: &NfProfile) -> Result<NfProfile, ClientError> {
        let url = self.instance_url(&profile.nf_instance_id);
        let r = self
            .sbi
            .call::<_, NfProfile>(
                Method::PUT,
                &url,
                Some(profile),
                &[StatusCode::CREATED, StatusCode::OK],
            )
            .await?;
        Ok(r.body)
    }

    /// The registered profile of `id`.
    pub async fn profile(&self, id: &NfInstanceId) -> Result<NfProfile, ClientError> {
        let url = self.instance_url(id);
        Ok(self
            .sbi
            .call::<(), NfProfile>(Method::GET, &url, None, &[StatusCode::OK])
            .await?
            .body)
    }

    /// A heartbeat (TS 29.510 §5.2.2.3.2): `PATCH` with `replace /nfStatus REGISTERED`.
    pub async fn heartbeat(&self, id: &NfInstanceId) -> Result<(), ClientError> {
        let url = self.instance_url(id);
        let transport = |detail: String| ClientError::Transport {
            method: Method::PATCH,
            url: url.clone(),
            detail,
        };
        let r = self
            .sbi
            .http()
            .patch(&url)
            .header(header::CONTENT_TYPE, "application/json-patch+json")
            .body(r#"[{"op":"replace","path":"/nfStatus","value":"REGISTERED"}]"#)
            .send()
            .await
            .map_err(|e| transport(e.to_string()))?;
        match r.status() {
            StatusCode::NO_CONTENT | StatusCode::OK => Ok(()),
            status => Err(problem(Method::PATCH, &url, status, r).await),
        }
    }

    /// Deregisters `id`.
    pub async fn deregister(&self, id: &NfInstanceId) -> Result<(), ClientError> {
        let url = self.instance_url(id);
        self.sbi
            .call_no_content::<()>(Method::DELETE, &url, None, &[StatusCode::NO_CONTENT])
            .await
            .map(|_| ())
    }

    /// Discovers NF instances.
    pub async fn discover(&self, q: &Discovery) -> Result<SearchResult, ClientError> {
        let url = format!("{}{DISC_API_ROOT}/nf-instances?{}", self.root, q.query()?);
        let raw = self
            .sbi
            .call_no_content::<()>(Method::GET, &url, None, &[StatusCode::OK])
            .await?;
        serde_json::from_slice(&raw.body).map_err(|e| ClientError::InvalidResponse {
            method: Method::GET,
            url,
            status: StatusCode::OK,
            error: akma_sbi_model::ValidationError::InvalidMsgFormat {
                detail: e.to_string(),
            },
        })
    }

    /// An access token (TS 29.510 §5.4.2.2). A refusal is [`ClientError::Token`] naming the
    /// OAuth 2.0 error code.
    pub async fn token(&self, req: &AccessTokenReq) -> Result<AccessTokenRsp, ClientError> {
        let url = format!("{}{ACCESS_TOKEN_PATH}", self.root);
        let body = req
            .to_form()
            .iter()
            .map(|(k, v)| format!("{k}={}", form_urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        let r = self
            .sbi
            .http()
            .post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .map_err(|e| ClientError::Transport {
                method: Method::POST,
                url: url.clone(),
                detail: e.to_string(),
            })?;
        let status = r.status();
        let bytes = r.bytes().await.map_err(|e| ClientError::Transport {
            method: Method::POST,
            url: url.clone(),
            detail: e.to_string(),
        })?;
        match status {
            StatusCode::OK => {
                serde_json::from_slice(&bytes).map_err(|e| ClientError::InvalidResponse {
                    method: Method::POST,
                    url,
                    status,
                    error: akma_sbi_model::ValidationError::InvalidMsgFormat {
                        detail: e.to_string(),
                    },
                })
            }
            StatusCode::BAD_REQUEST => match serde_json::from_slice::<AccessTokenErr>(&bytes) {
                Ok(e) => Err(ClientError::Token(format!(
                    "the NRF refused: {}{}",
                    serde_json::to_value(e.error)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default(),
                    e.error_description
                        .map(|d| format!(": {d}"))
                        .unwrap_or_default()
                ))),
                Err(_) => Err(ClientError::UnexpectedStatus {
                    method: Method::POST,
                    url,
                    status,
                    body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
                }),
            },
            _ => Err(ClientError::UnexpectedStatus {
                method: Method::POST,
                url,
                status,
                body: String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).into_owned(),
            }),
        }
    }
}

async fn problem(
    method: Method,
    url: &str,
    status: StatusCode,
    r: reqwest::Response,
) -> ClientError {
    let body = r.bytes().await.unwrap_or_default();
    match serde_json::from_slice::<akma_sbi_model::ProblemDetails>(&body) {
        Ok(p) => ClientError::Problem {
            method,
            url: url.to_owned(),
            status,
            problem: Box::new(p),
        },
        Err(_) => ClientError::UnexpectedStatus {
            method,
            url: url.to_owned(),
            status,
            body: String::from_utf8_lossy(&body[..body.len().min(512)]).into_owned(),
        },
    }
}

// ---------------------------------------------------------------------------------------
// NrfResolver

/// How long a producer that could not be connected to is passed over.
pub const UNREACHABLE_FOR: Duration = Duration::from_secs(10);

/// The longest a discovery answer is used, whatever its `validityPeriod`: a producer that
/// stopped heartbeating is out of the NRF's answers after its grace, and out of this
/// cache at most this long after that.
pub const MAX_CACHE_FOR: Duration = Duration::from_secs(30);

/// The longest an answer with no producer is used: a producer that registers after it (an
/// AAnF started after its AFs) is found this soon, while a flood of requests for a routing
/// indicator nobody serves still costs the NRF at most one discovery per this period.
pub const MAX_EMPTY_CACHE_FOR: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DiscoveryKey {
    nf_type: NfType,
    routing_indicator: Option<String>,
    plmn: Option<PlmnId>,
}

#[derive(Debug)]
struct Discovered {
    /// One `{apiRoot}` per producer, ordered by NF instance id.
    roots: Vec<String>,
    until: Instant,
}

/// An [`NfResolver`] over Nnrf_NFDiscovery (TS 29.510 §5.3): `target-nf-type`,
/// `requester-nf-type` and, from the hint, `routing-indicator`. Each answer is cached for its
/// `validityPeriod` (at most [`MAX_CACHE_FOR`], or [`MAX_EMPTY_CACHE_FOR`] when it names
/// none); the producers of an answer are used in turn
/// (round robin), and one reported [`NfResolver::unreachable`] is passed over for
/// [`UNREACHABLE_FOR`] while another is available. When the NRF cannot be reached, an
/// expired answer is used rather than none.
///
/// The synchronous [`NfResolver::resolve`] answers from the cache only.
pub struct NrfResolver {
    nrf: NrfClient,
    requester: NfType,
    cache: Mutex<HashMap<DiscoveryKey, Discovered>>,
    down: Mutex<HashMap<String, Instant>>,
    refresh: tokio::sync::Mutex<()>,
    next: AtomicUsize,
}

impl fmt::Debug for NrfResolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NrfResolver")
            .field("nrf", &self.nrf.root)
            .field("requester", &self.requester)
            .finish_non_exhaustive()
    }
}

impl NrfResolver {
    /// Discovers producers at `nrf` for a requester of type `requester` (this NF).
    pub fn new(nrf: NrfClient, requester: NfType) -> Self {
        Self {
            nrf,
            requester,
            cache: Mutex::new(HashMap::new()),
            down: Mutex::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
            next: AtomicUsize::new(0),
        }
    }

    fn key(nf_type: NfType, hint: &NfHint) -> DiscoveryKey {
        DiscoveryKey {
            nf_type,
            routing_indicator: hint.routing_indicator.clone(),
            plmn: hint.plmn.clone(),
        }
    }

    /// Picks the next producer of `roots` that is not passed over (any, if all are).
    fn pick(&self, roots: &[String]) -> Option<String> {
        if roots.is_empty() {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        (0..roots.len())
            .map(|i| &roots[(n + i) % roots.len()])
            .find(|r| !down.get(*r).is_some_and(|until| *until > now))
            .or_else(|| roots.get(n % roots.len()))
            .cloned()
    }

    /// The cached producers for `key`, and whether the answer is still valid.
    fn cached(&self, key: &DiscoveryKey) -> Option<(Vec<String>, bool)> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .map(|d| (d.roots.clone(), d.until > Instant::now()))
    }

    /// Asks the NRF and caches the answer.
    async fn discover(&self, key: &DiscoveryKey) -> Result<Vec<String>, ClientError> {
        let mut q = Discovery::new(key.nf_type, self.requester);
        q.routing_indicator = key.routing_indicator.clone();
        q.target_plmns = key.plmn.iter().cloned().collect();
        let answer = self.nrf.discover(&q).await?;
        let mut profiles = answer.nf_instances;
        profiles.sort_by(|a, b| a.nf_instance_id.as_str().cmp(b.nf_instance_id.as_str()));
        let roots: Vec<String> = profiles
            .iter()
            .filter_map(|p| p.api_roots(None).into_iter().next())
            .collect();
        let limit = if roots.is_empty() {
            MAX_EMPTY_CACHE_FOR
        } else {
            MAX_CACHE_FOR
        };
        let valid = Duration::from_secs(answer.validity_period.into()).min(limit);
        self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
            key.clone(),
            Discovered {
                roots: roots.clone(),
                until: Instant::now() + valid,
            },
        );
        Ok(roots)
    }

    async fn resolve_now(&self, nf_type: NfType, hint: &NfHint) -> Result<String, ClientError> {
        let key = Self::key(nf_type, hint);
        if let Some((roots, true)) = self.cached(&key) {
            return self.pick(&roots).ok_or(ClientError::NoProducer { nf_type });
        }
        // One discovery at a time; who waited finds the fresh answer.
        let _guard = self.refresh.lock().await;
        if let Some((roots, true)) = self.cached(&key) {
            return self.pick(&roots).ok_or(ClientError::NoProducer { nf_type });
        }
        match self.discover(&key).await {
            Ok(roots) => self.pick(&roots).ok_or(ClientError::NoProducer { nf_type }),
            Err(e) => match self.cached(&key) {
                Some((roots, false)) if !roots.is_empty() => {
                    tracing::warn!(%nf_type, error = %e, "NRF discovery failed: using the expired answer");
                    self.pick(&roots).ok_or(ClientError::NoProducer { nf_type })
                }
                _ => Err(e),
            },
        }
    }
}

impl NfResolver for NrfResolver {
    fn resolve(&self, nf_type: NfType, hint: &NfHint) -> Result<String, ClientError> {
        self.cached(&Self::key(nf_type, hint))
            .and_then(|(roots, _)| self.pick(&roots))
            .ok_or(ClientError::NoProducer { nf_type })
    }

    fn resolve_async<'a>(&'a self, nf_type: NfType, hint: &'a NfHint) -> ResolveFuture<'a> {
        Box::pin(self.resolve_now(nf_type, hint))
    }

    fn unreachable(&self, nf_type: NfType, api_root: &str) {
        tracing::info!(%nf_type, api_root, "producer unreachable: passed over for {}s", UNREACHABLE_FOR.as_secs());
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        down.retain(|_, until| *until > now);
        down.insert(api_root.to_owned(), now + UNREACHABLE_FOR);
    }
}

// ---------------------------------------------------------------------------------------
// NrfTokenSource

/// How long before its expiry a token is renewed (at the latest at half its lifetime).
pub const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// A cached token's key: the target NF type, the scopes, the target PLMN (roaming).
type TokenKey = (Option<NfType>, String, Option<PlmnId>);

struct CachedToken {
    token: Arc<Zeroizing<String>>,
    renew_at: Instant,
    expires_at: Instant,
}

/// A [`TokenSource`] over Nnrf_AccessToken (TS 29.510 §5.4.2.2, client credentials): one
/// token per target NF type and scope set, requested as this NF (`nfInstanceId`, `nfType`),
/// kept until [`RENEW_BEFORE`] its expiry (or half its lifetime, if shorter), then renewed.
/// If renewal fails, the old token is used while it has not expired. `Debug` prints no
/// token.
pub struct NrfTokenSource {
    nrf: NrfClient,
    nf_instance_id: NfInstanceId,
    nf_type: NfType,
    cache: Mutex<HashMap<TokenKey, CachedToken>>,
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for NrfTokenSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NrfTokenSource")
            .field("nrf", &self.nrf.root)
            .field("nf_instance_id", &self.nf_instance_id.as_str())
            .field("nf_type", &self.nf_type)
            .finish_non_exhaustive()
    }
}

impl NrfTokenSource {
    /// Tokens from `nrf` for the NF `nf_instance_id` of type `nf_type` (in production the
    /// NRF checks that the client certificate of `nrf`'s connection names this instance).
    pub fn new(nrf: NrfClient, nf_instance_id: NfInstanceId, nf_type: NfType) -> Self {
        Self {
            nrf,
            nf_instance_id,
            nf_type,
            cache: Mutex::new(HashMap::new()),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    fn cached(&self, key: &TokenKey, fresh: bool) -> Option<Arc<Zeroizing<String>>> {
        let now = Instant::now();
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(key)
            .filter(|t| {
                if fresh {
                    t.renew_at > now
                } else {
                    t.expires_at > now
                }
            })
            .map(|t| t.token.clone())
    }

    async fn fetch(
        &self,
        target: Option<NfType>,
        scope: String,
        plmn: Option<PlmnId>,
    ) -> Result<Option<Arc<Zeroizing<String>>>, ClientError> {
        let key = (target, scope, plmn);
        if let Some(t) = self.cached(&key, true) {
            return Ok(Some(t));
        }
        let _guard = self.refresh.lock().await;
        if let Some(t) = self.cached(&key, true) {
            return Ok(Some(t));
        }
        let req = AccessTokenReq {
            nf_instance_id: self.nf_instance_id.clone(),
            nf_type: Some(self.nf_type),
            target_nf_type: target,
            scope: key.1.clone(),
            target_nf_instance_id: None,
            requester_plmn: None,
            target_plmn: key.2.clone(),
        };
        match self.nrf.token(&req).await {
            Ok(rsp) => {
                let lifetime = Duration::from_secs(rsp.expires_in.unwrap_or(3600).max(1));
                let renew_in = lifetime.saturating_sub(RENEW_BEFORE).max(lifetime / 2);
                let now = Instant::now();
                let token = Arc::new(Zeroizing::new(rsp.access_token));
                self.cache.lock().unwrap_or_else(|e| e.into_inner()).insert(
                    key,
                    CachedToken {
                        token: token.clone(),
                        renew_at: now + renew_in,
                        expires_at: now + lifetime,
                    },
                );
                Ok(Some(token))
            }
            Err(e) => match self.cached(&key, false) {
                Some(t) => {
                    tracing::warn!(error = %e, "access token renewal failed: using the current token until it expires");
                    Ok(Some(t))
                }
                None => Err(e),
            },
        }
    }
}

impl TokenSource for NrfTokenSource {
    fn token<'a>(&'a self, req: TokenRequest<'a>) -> TokenFuture<'a> {
        let scope = req.scopes.join(" ");
        Box::pin(self.fetch(req.target, scope, req.target_plmn.cloned()))
    }
}
