//! The serving AMF of the simulation: a [`SimulatedAmf`] that, after each successful
//! registration, registers itself at the UDM for the UE (Nudm_UECM
//! `PUT /{supi}/registrations/amf-3gpp-access`, with a `reauthNotifyCallbackUri`), and that
//! runs a new primary authentication of the UE when the UDM sends it
//! `ReauthNotificationInfo {supi}` (TS 33.501 §6.1.5: home-network-triggered
//! authentication, which the AAnF asks for with Nudm_UECM AuthTrigger).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_core::ids::Supi;
use akma_sbi_client::{NudmUecmClient, SbiClient};
use akma_sbi_model::common::{FromSbiJson, NfInstanceId};
use akma_sbi_model::nudm_uecm::{Amf3GppAccessRegistration, ReauthNotificationInfo};
use akma_ue::NasLayer;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::amf::{AmfError, Faults, Outcome, RegistrationReport, SimulatedAmf};

/// The simulated AMF's NF instance id.
pub const AMF_INSTANCE_ID: &str = "5a3c0e1b-9d2f-4e6a-8b7c-0d1e2f3a4b5c";

/// This AMF's GUAMI.
fn guami() -> serde_json::Value {
    serde_json::json!({"plmnId": {"mcc": "901", "mnc": "70"}, "amfId": "010041"})
}

/// One re-authentication the UDM asked for.
#[derive(Debug, Clone)]
pub struct Reauthentication {
    /// The UE.
    pub supi: Supi,
    /// How the new registration ended (`Ok` with the report, or the error's text).
    pub result: Result<RegistrationReport, String>,
}

struct Shared {
    amf: SimulatedAmf,
    ues: Mutex<HashMap<String, NasLayer>>,
    done: Mutex<Vec<Reauthentication>>,
    changed: tokio::sync::Notify,
}

/// A serving AMF with its callback endpoint (h2c and HTTP/1.1 on a loopback port).
pub struct ServingAmf {
    shared: Arc<Shared>,
    uecm: NudmUecmClient,
    callback: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ServingAmf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServingAmf")
            .field("callback", &self.callback)
            .finish_non_exhaustive()
    }
}

async fn reauth_notification(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let info = match ReauthNotificationInfo::from_sbi_slice(&body) {
        Ok(i) => i,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let nas = shared
        .ues
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(info.supi.as_str())
        .cloned();
    let Some(nas) = nas else {
        return (StatusCode::NOT_FOUND, "no such UE at this AMF").into_response();
    };
    // Accept, then re-authenticate (the UDM's AuthTrigger answer does not wait for it).
    let s = shared.clone();
    tokio::spawn(async move {
        let result = s
            .amf
            .register(&nas, &Faults::default())
            .await
            .map_err(|e| e.to_string());
        s.done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Reauthentication {
                supi: info.supi,
                result,
            });
        s.changed.notify_waiters();
    });
    StatusCode::NO_CONTENT.into_response()
}

impl ServingAmf {
    /// Starts the callback endpoint; registrations go to the UDM at `udm_api_root` (h2c).
    pub async fn start(amf: SimulatedAmf, udm_api_root: &str) -> Result<Self, AmfError> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .map_err(|e| AmfError::Protocol(format!("AMF callback listener: {e}")))?;
        let callback = listener
            .local_addr()
            .map_err(|e| AmfError::Protocol(e.to_string()))?;
        let shared = Arc::new(Shared {
            amf,
            ues: Mutex::new(HashMap::new()),
            done: Mutex::new(Vec::new()),
            changed: tokio::sync::Notify::new(),
        });
        let app = axum::Router::new()
            .route("/reauth", axum::routing::post(reauth_notification))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(Self {
            shared,
            uecm: NudmUecmClient::new(SbiClient::h2c()?, udm_api_root),
            callback,
            task,
        })
    }

    /// The `reauthNotifyCallbackUri` this AMF registers.
    pub fn reauth_callback_uri(&self) -> String {
        format!("http://{}/reauth", self.callback)
    }

    /// A registration with primary authentication (as [`SimulatedAmf::register`]); on
    /// success this AMF registers at the UDM as the UE's serving AMF and keeps the UE, so
    /// that the UDM can ask it to re-authenticate.
    pub async fn register(
        &self,
        nas: &NasLayer,
        faults: &Faults,
    ) -> Result<RegistrationReport, AmfError> {
        let report = self.shared.amf.register(nas, faults).await?;
        if let (Outcome::Registered, Some(supi)) = (&report.outcome, &report.supi) {
            let reg = Amf3GppAccessRegistration {
                amf_instance_id: NfInstanceId::parse(AMF_INSTANCE_ID)
                    .map_err(AmfError::Protocol)?,
                dereg_callback_uri: format!("http://{}/dereg", self.callback),
                guami: guami(),
                rat_type: "NR".into(),
                purge_flag: None,
                initial_registration_ind: Some(true),
                reauth_notify_callback_uri: Some(self.reauth_callback_uri()),
            };
            self.uecm.register_amf(supi.as_str(), &reg).await?;
            self.shared
                .ues
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(supi.as_str().to_owned(), nas.clone());
        }
        Ok(report)
    }

    /// The UE is purged from this AMF: Nudm_UECM `PATCH …/amf-3gpp-access` with
    /// `purgeFlag: true` (the UDM then tells the AUSF, which removes the AKMA context), and
    /// this AMF forgets the UE.
    pub async fn purge(&self, supi: &Supi) -> Result<(), AmfError> {
        let m = akma_sbi_model::nudm_uecm::Amf3GppAccessRegistrationModification {
            guami: guami(),
            purge_flag: Some(true),
        };
        self.uecm.update_amf(supi.as_str(), &m).await?;
        self.shared
            .ues
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(supi.as_str());
        Ok(())
    }

    /// The re-authentications done so far.
    pub fn reauthentications(&self) -> Vec<Reauthentication> {
        self.shared
            .done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Waits until at least `n` re-authentications are done, or `timeout`.
    pub async fn wait_for_reauthentications(
        &self,
        n: usize,
        timeout: Duration,
    ) -> Vec<Reauthentication> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let changed = self.shared.changed.notified();
            let done = self.reauthentications();
            if done.len() >= n || tokio::time::Instant::now() >= deadline {
                return done;
            }
            let _ = tokio::time::timeout_at(deadline, changed).await;
        }
    }
}

impl Drop for ServingAmf {
    fn drop(&mut self) {
        self.task.abort();
    }
}
