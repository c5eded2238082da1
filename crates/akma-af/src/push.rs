//! AKMA push, **a project extension** (`conventions.md`, "AKMA push"; the format is in
//! `docs/akma-push.md`): an AF sends a protected message to a UE that has not contacted it.
//!
//! [`PushSender::send`] gets the UE's push material (A-KID and K_AF_push) from a
//! [`PushMaterialSource`] (the AAnF's `naanf-akma-push/v1/push-info` for an AF inside the
//! operator's network, the NEF's `3gpp-akma-push/v1/push-info` for one outside it), keeps it until it expires, protects the message with a fresh nonce
//! and a counter that only increases, and hands it to a [`PushDelivery`]. When the UE
//! answers that the A-KID is stale (it re-authenticated since), the sender fetches fresh
//! material **once** and sends again. [`HttpWebhook`] is the sample delivery channel.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use akma_core::ids::{AKid, AfFqdn, Gpsi};
use akma_core::push::{seal, PushHeader, MEDIA_TYPE, NONCE_LEN};
use akma_sbi_client::{ClientError, NaanfClient};
use akma_sbi_model::naanf::UeId;
use akma_sbi_model::naanf_push::{PushInfo, PushInfoRequest};

/// The ProblemDetails cause with which a UE says the message's A-KID is not its current one.
pub use akma_core::push::cause::STALE_PUSH_MATERIAL;

/// Where push material comes from.
#[async_trait::async_trait]
pub trait PushMaterialSource: Send + Sync {
    /// The push material for `gpsi` and this AF; `None` when the UE has no live context.
    async fn push_info(&self, af: &AfFqdn, gpsi: &Gpsi) -> Result<Option<PushInfo>, ClientError>;
}

#[async_trait::async_trait]
impl PushMaterialSource for NaanfClient {
    async fn push_info(&self, af: &AfFqdn, gpsi: &Gpsi) -> Result<Option<PushInfo>, ClientError> {
        NaanfClient::push_info(
            self,
            &PushInfoRequest {
                af_fqdn: af.clone(),
                ue_id: UeId::Gpsi(gpsi.clone()),
            },
        )
        .await
    }
}

#[async_trait::async_trait]
impl PushMaterialSource for akma_sbi_client::nef::NefClient {
    async fn push_info(&self, af: &AfFqdn, gpsi: &Gpsi) -> Result<Option<PushInfo>, ClientError> {
        akma_sbi_client::nef::NefClient::push_info(
            self,
            &PushInfoRequest {
                af_fqdn: af.clone(),
                ue_id: UeId::Gpsi(gpsi.clone()),
            },
        )
        .await
    }
}

/// What the delivery channel reports back from the UE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryOutcome {
    /// The UE accepted the message.
    Accepted,
    /// The UE's A-KID is not the message's: fetch fresh push material.
    StalePushMaterial,
    /// The UE refused it for another reason (status and cause, as the UE sent them).
    Refused {
        /// HTTP status (or the channel's equivalent).
        status: u16,
        /// The cause, if any.
        cause: Option<String>,
    },
}

/// A channel that carries push messages to UEs.
#[async_trait::async_trait]
pub trait PushDelivery: Send + Sync {
    /// Delivers `message` (the octets of `docs/akma-push.md`) to the UE known by `gpsi`.
    async fn deliver(&self, gpsi: &Gpsi, message: &[u8]) -> Result<DeliveryOutcome, String>;
}

/// Why a push was not delivered.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PushSendError {
    /// The network has no live AKMA context for the UE (push-info answered 204).
    #[error("the UE has no live AKMA context: nothing to push to")]
    NoContext,
    /// Push material could not be obtained.
    #[error("push material: {0}")]
    Material(#[from] ClientError),
    /// The message could not be protected (too large, …).
    #[error("protecting the message: {0}")]
    Protect(#[from] akma_core::push::PushError),
    /// The channel failed.
    #[error("delivery: {0}")]
    Delivery(String),
    /// The UE refused the message.
    #[error("the UE refused the message: {status} {}", cause.as_deref().unwrap_or("-"))]
    Refused {
        /// Status.
        status: u16,
        /// Cause.
        cause: Option<String>,
    },
    /// The UE still found the A-KID stale after one refresh.
    #[error("the UE refused fresh push material as stale too")]
    StaleAfterRefresh,
}

/// What a delivered push used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushReport {
    /// The A-KID in the delivered message.
    pub a_kid: AKid,
    /// Its counter.
    pub counter: u64,
    /// Whether the UE first refused stale material and fresh material was fetched.
    pub refreshed: bool,
}

/// The AF side of AKMA push: material per UE (until its expiry), counters per UE.
pub struct PushSender<S: PushMaterialSource> {
    af: AfFqdn,
    source: S,
    held: Mutex<HashMap<Gpsi, PushInfo>>,
    counters: Mutex<HashMap<Gpsi, u64>>,
}

impl<S: PushMaterialSource> std::fmt::Debug for PushSender<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushSender")
            .field("af", &self.af)
            .finish_non_exhaustive()
    }
}

fn now_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

impl<S: PushMaterialSource> PushSender<S> {
    /// A sender for the AF `af`.
    pub fn new(af: AfFqdn, source: S) -> Self {
        Self {
            af,
            source,
            held: Mutex::new(HashMap::new()),
            counters: Mutex::new(HashMap::new()),
        }
    }

    /// The next counter for `gpsi`: above every counter sent to it, and at least the current
    /// time in microseconds, so that a restarted AF still sends increasing counters.
    fn next_counter(&self, gpsi: &Gpsi) -> u64 {
        let mut c = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let last = c.get(gpsi).copied().unwrap_or(0);
        let next = last.saturating_add(1).max(now_micros());
        c.insert(gpsi.clone(), next);
        next
    }

    async fn material(&self, gpsi: &Gpsi, fresh: bool) -> Result<PushInfo, PushSendError> {
        let now = time::OffsetDateTime::now_utc();
        if !fresh {
            let held = self.held.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(info) = held.get(gpsi).filter(|i| i.expiry > now) {
                return Ok(info.clone());
            }
        }
        let info = self
            .source
            .push_info(&self.af, gpsi)
            .await?
            .ok_or(PushSendError::NoContext)?;
        self.held
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(gpsi.clone(), info.clone());
        Ok(info)
    }

    fn protect(
        &self,
        info: &PushInfo,
        gpsi: &Gpsi,
        plaintext: &[u8],
    ) -> Result<(Vec<u8>, u64), PushSendError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| PushSendError::Delivery(format!("no randomness for the nonce: {e}")))?;
        let counter = self.next_counter(gpsi);
        let header = PushHeader {
            a_kid: info.a_kid.clone(),
            af_fqdn: self.af.clone(),
            nonce,
            counter,
        };
        Ok((seal(&info.kaf_push, &header, plaintext)?, counter))
    }

    /// Protects `plaintext` for the UE known by `gpsi` and delivers it; on a stale-A-KID
    /// answer, fetches fresh material once and sends again.
    pub async fn send(
        &self,
        gpsi: &Gpsi,
        plaintext: &[u8],
        delivery: &dyn PushDelivery,
    ) -> Result<PushReport, PushSendError> {
        let mut refreshed = false;
        loop {
            let info = self.material(gpsi, refreshed).await?;
            let (message, counter) = self.protect(&info, gpsi, plaintext)?;
            match delivery
                .deliver(gpsi, &message)
                .await
                .map_err(PushSendError::Delivery)?
            {
                DeliveryOutcome::Accepted => {
                    return Ok(PushReport {
                        a_kid: info.a_kid,
                        counter,
                        refreshed,
                    })
                }
                DeliveryOutcome::StalePushMaterial if !refreshed => {
                    tracing::info!(af = %self.af, "the UE holds a newer A-KID: fetching fresh push material once");
                    refreshed = true;
                }
                DeliveryOutcome::StalePushMaterial => return Err(PushSendError::StaleAfterRefresh),
                DeliveryOutcome::Refused { status, cause } => {
                    return Err(PushSendError::Refused { status, cause })
                }
            }
        }
    }
}

/// The sample delivery channel: `POST <url>` with `Content-Type: application/vnd.akma-push.v1`
/// to each UE's webhook. 204 is acceptance; a ProblemDetails with cause
/// [`STALE_PUSH_MATERIAL`] asks for fresh material; anything else is a refusal.
pub struct HttpWebhook {
    client: reqwest::Client,
    urls: Mutex<HashMap<Gpsi, String>>,
}

impl std::fmt::Debug for HttpWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpWebhook").finish_non_exhaustive()
    }
}

impl HttpWebhook {
    /// A webhook channel with no UEs yet.
    pub fn new() -> Result<Self, String> {
        Ok(Self {
            client: reqwest::Client::builder()
                .no_proxy()
                .timeout(std::time::Duration::from_secs(5))
                .build()
                .map_err(|e| e.to_string())?,
            urls: Mutex::new(HashMap::new()),
        })
    }

    /// Where the UE known by `gpsi` receives push messages.
    pub fn add(&self, gpsi: Gpsi, url: impl Into<String>) {
        self.urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(gpsi, url.into());
    }
}

#[async_trait::async_trait]
impl PushDelivery for HttpWebhook {
    async fn deliver(&self, gpsi: &Gpsi, message: &[u8]) -> Result<DeliveryOutcome, String> {
        let url = self
            .urls
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(gpsi)
            .cloned()
            .ok_or_else(|| format!("no webhook for {gpsi}"))?;
        let resp = self
            .client
            .post(&url)
            .header("content-type", MEDIA_TYPE)
            .body(message.to_vec())
            .send()
            .await
            .map_err(|e| format!("POST {url}: {e}"))?;
        let status = resp.status().as_u16();
        if status == 204 {
            return Ok(DeliveryOutcome::Accepted);
        }
        let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
        let cause = body["cause"].as_str().map(str::to_owned);
        Ok(if cause.as_deref() == Some(STALE_PUSH_MATERIAL) {
            DeliveryOutcome::StalePushMaterial
        } else {
            DeliveryOutcome::Refused { status, cause }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::keys::{KAf, KAkma};
    use akma_core::push::PushReceiver;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn a_kid(n: u8) -> AKid {
        AKid::parse(&format!("0.tid{n}@ausf.example")).unwrap()
    }

    /// The UE side, in memory: whichever A-KID and K_AKMA is current.
    struct Ue {
        current: Mutex<(AKid, KAkma)>,
        rx: Mutex<PushReceiver>,
    }

    /// The material source: what the AAnF would give for the UE's current context.
    struct Source<'a> {
        ue: &'a Ue,
        calls: AtomicUsize,
        lag: Mutex<Option<(AKid, KAkma)>>,
    }

    #[async_trait::async_trait]
    impl PushMaterialSource for Source<'_> {
        async fn push_info(&self, af: &AfFqdn, _: &Gpsi) -> Result<Option<PushInfo>, ClientError> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let (a, k) = match self.lag.lock().unwrap().clone() {
                Some(x) => x,
                None => self.ue.current.lock().unwrap().clone(),
            };
            let kp: KAf = akma_core::push::derive_k_af_push(&k, af);
            let exp = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
            Ok(Some(PushInfo::new(a, af.clone(), kp, exp)))
        }
    }

    #[async_trait::async_trait]
    impl PushDelivery for Ue {
        async fn deliver(&self, _: &Gpsi, m: &[u8]) -> Result<DeliveryOutcome, String> {
            let (a, k) = self.current.lock().unwrap().clone();
            Ok(match self.rx.lock().unwrap().receive(m, Some((&a, &k))) {
                Ok(_) => DeliveryOutcome::Accepted,
                Err(akma_core::push::PushError::StaleAKid) => DeliveryOutcome::StalePushMaterial,
                Err(e) => {
                    let (status, cause) = e.status_and_cause();
                    DeliveryOutcome::Refused {
                        status,
                        cause: Some(cause.into()),
                    }
                }
            })
        }
    }

    #[tokio::test]
    async fn material_is_kept_refreshed_once_when_stale_and_counters_increase() {
        let ue = Ue {
            current: Mutex::new((a_kid(1), KAkma::from_bytes([1; 32]))),
            rx: Mutex::new(PushReceiver::new()),
        };
        let src = Source {
            ue: &ue,
            calls: AtomicUsize::new(0),
            lag: Mutex::new(None),
        };
        let af = AfFqdn::parse("push.example.com").unwrap();
        let gpsi = Gpsi::parse("msisdn-491700000001").unwrap();
        let sender = PushSender::new(af, src);
        let r1 = sender.send(&gpsi, b"one", &ue).await.unwrap();
        let r2 = sender.send(&gpsi, b"two", &ue).await.unwrap();
        assert_eq!(
            sender.source.calls.load(Ordering::SeqCst),
            1,
            "material kept"
        );
        assert!(r2.counter > r1.counter && !r2.refreshed);
        // The UE re-authenticates: the held material is stale, refreshed once.
        *ue.current.lock().unwrap() = (a_kid(2), KAkma::from_bytes([2; 32]));
        let r3 = sender.send(&gpsi, b"three", &ue).await.unwrap();
        assert!(r3.refreshed);
        assert_eq!(r3.a_kid, a_kid(2));
        assert_eq!(sender.source.calls.load(Ordering::SeqCst), 2);
        // A network that still gives the old context: stale after the one refresh, an error.
        *sender.source.lag.lock().unwrap() = Some((a_kid(2), KAkma::from_bytes([2; 32])));
        *ue.current.lock().unwrap() = (a_kid(3), KAkma::from_bytes([3; 32]));
        assert!(matches!(
            sender.send(&gpsi, b"four", &ue).await,
            Err(PushSendError::StaleAfterRefresh)
        ));
        assert_eq!(
            sender.source.calls.load(Ordering::SeqCst),
            3,
            "one refresh only"
        );
    }
}
