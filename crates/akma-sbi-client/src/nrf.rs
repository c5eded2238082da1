//! A client of the NRF (TS 29.510), for an NF that registers itself, sends heartbeats,
//! discovers its peers and gets its access tokens: [`NrfClient`]. Not yet used by the NFs
//! (their resolver and token source will be built on it).

use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{
    AccessTokenErr, AccessTokenReq, AccessTokenRsp, NfProfile, PlmnId, SearchResult,
    ACCESS_TOKEN_PATH, DISC_API_ROOT, NFM_API_ROOT,
};
use akma_sbi_model::NfType;
use http::{header, Method, StatusCode};

use crate::client::{path_segment, ClientError, SbiClient};
use crate::nef::form_urlencode;

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
