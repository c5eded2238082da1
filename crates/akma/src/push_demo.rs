//! `akma demo --push`: AKMA push, **a project extension** (`docs/akma-push.md`).
//!
//! An AF inside the operator's network pushes a protected message to a UE that never
//! contacted it: the AF knows the UE only by its GPSI, gets the push material at the AAnF
//! (`naanf-akma-push/v1/push-info`; the AAnF translates the GPSI at the UDM), protects the
//! message (AES-256-GCM under a key per message derived from K_AF_push) and posts it to the
//! UE's webhook. The UE asks NAS for the current K_AKMA and A-KID, verifies and decrypts.
//! Then the AF replays the same octets: refused. Then the UE re-authenticates; the AF's next
//! push still uses the old A-KID, the UE answers "stale push material", and the AF fetches
//! fresh material once and sends again: accepted.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use akma_af::push::{DeliveryOutcome, HttpWebhook, PushDelivery, PushSender};
use akma_core::ids::{AfFqdn, Gpsi, MncLen, ServingNetworkName};
use akma_core::push::MEDIA_TYPE;
use akma_sim::fixtures::SNN_901_70;
use akma_sim::{Faults, Outcome};
use akma_udm::subscriber::AuthMethod;
use akma_ue::api::PushInbox;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

const SUPI: &str = "imsi-901700000021309";
const GPSI: &str = "msisdn-447700900123";

/// What the UE's webhook received and accepted.
struct Ue {
    inbox: PushInbox,
    accepted: Mutex<Vec<(u64, String)>>,
    /// The AF outside the operator's network (for the flow's sender column).
    outside: AfFqdn,
}

/// The UE's webhook: `POST /push` with a push message; 204, or a ProblemDetails with the
/// receiver's cause.
async fn webhook(State(ue): State<Arc<Ue>>, headers: HeaderMap, body: Bytes) -> Response {
    let problem = |status: u16, cause: &str, detail: String| {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST);
        (
            status,
            [("content-type", "application/problem+json")],
            json!({"status": status.as_u16(), "cause": cause, "detail": detail}).to_string(),
        )
            .into_response()
    };
    if headers.get("content-type").and_then(|v| v.to_str().ok()) != Some(MEDIA_TYPE) {
        return problem(
            415,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("expected {MEDIA_TYPE}"),
        );
    }
    match ue.inbox.receive(&body) {
        Ok(r) => {
            let text = String::from_utf8_lossy(&r.plaintext).into_owned();
            let from = if r.af_fqdn == ue.outside {
                "AF (outside)"
            } else {
                "AF"
            };
            crate::demo::flow_event(from, "UE", "push message accepted");
            ue.accepted
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push((r.counter, text));
            StatusCode::NO_CONTENT.into_response()
        }
        Err(e) => {
            let (status, cause) = e.status_and_cause();
            crate::demo::flow_event("AF", "UE", &format!("push message refused: {cause}"));
            problem(status, cause, e.to_string())
        }
    }
}

/// Keeps the octets of the last delivered message, so that the demo can replay them.
struct Recording<'a> {
    inner: &'a HttpWebhook,
    last: Mutex<Option<Vec<u8>>>,
}

#[async_trait::async_trait]
impl PushDelivery for Recording<'_> {
    async fn deliver(&self, gpsi: &Gpsi, message: &[u8]) -> Result<DeliveryOutcome, String> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(message.to_vec());
        self.inner.deliver(gpsi, message).await
    }
}

/// Runs `akma demo --push`.
pub async fn run(
    json_out: bool,
    af: &AfFqdn,
    outside: &AfFqdn,
    flow: &crate::flow::Flow,
) -> Result<(), String> {
    let started = Instant::now();
    let mut steps = crate::demo::Steps::new(!json_out);
    if !json_out {
        println!("akma demo --push (a project extension, docs/akma-push.md): UDM, AUSF, AAnF, NEF (development mode, h2c), an AF inside the operator's network, one outside it, and one UE with a push webhook, on loopback\n");
    }
    let (dir, core) = crate::demo::start_core(
        "akma-demo-push-",
        format!(
            "[[af]]\nfqdn = \"{}\"\nallow_push = true\n\n{}",
            af.as_str(),
            crate::outside::aanf_entry(outside)
        ),
        &mut steps,
    )
    .await?;
    let result = rounds(&core, dir.path(), af, outside, &mut steps).await;
    let _ = core.shutdown().await;
    drop(dir);
    if !json_out {
        crate::demo::print_flow(&flow.rows());
    }
    let summary = result?;
    if json_out {
        let mut out = summary;
        out["steps"] = json!(steps.log);
        out["totalMs"] = json!((started.elapsed().as_secs_f64() * 1e4).round() / 10.0);
        println!("{out}");
    } else {
        println!(
            "\nthe AF reached a UE that never contacted it; the replay was refused; after the re-authentication \
             the UE refused the old A-KID and the AF's one refresh of its push material got the message through; \
             the outside AF pushed through the NEF by GPSI and never saw the SUPI ({} ms in all)",
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

async fn rounds(
    core: &akma_sim::network::Network,
    dir: &std::path::Path,
    af: &AfFqdn,
    outside: &AfFqdn,
    steps: &mut crate::demo::Steps,
) -> Result<serde_json::Value, String> {
    let fixture = crate::demo::fixture(SUPI, AuthMethod::FiveGAka);
    let gpsi = Gpsi::parse(GPSI).map_err(|e| e.to_string())?;
    let t = Instant::now();
    let mut record = fixture.subscriber().map_err(|e| e.to_string())?;
    record.gpsis = vec![gpsi.clone()];
    core.provision(vec![record])
        .await
        .map_err(|e| e.to_string())?;
    steps.done(
        "provision the subscriber at the UDM",
        t.elapsed(),
        format!("{SUPI}, {GPSI}, AKMA on"),
    );
    let nas = fixture.ue(MncLen::Two).map_err(|e| e.to_string())?;
    let snn = ServingNetworkName::parse(SNN_901_70).map_err(|e| e.to_string())?;
    let amf = core.amf(snn).map_err(|e| format!("AMF client: {e}"))?;
    let authenticate = |what: &'static str| {
        let (amf, nas) = (&amf, &nas);
        async move {
            let report = amf
                .register(nas, &Faults::default())
                .await
                .map_err(|e| format!("{what}: {e}"))?;
            if !matches!(report.outcome, Outcome::Registered) {
                return Err(format!(
                    "{what} ended {}",
                    akma_sim::outcome_name(&report.outcome)
                ));
            }
            nas.akma_api()
                .current_a_kid()
                .ok_or_else(|| format!("{what}: no AKMA context"))
        }
    };
    let t = Instant::now();
    let first = authenticate("primary authentication").await?;
    steps.done(
        "UE authenticates (5G AKA); the AUSF anchors K_AKMA",
        t.elapsed(),
        format!("A-KID {first}"),
    );

    // The UE's push webhook.
    let ue = Arc::new(Ue {
        inbox: PushInbox::new(nas.akma_api()),
        accepted: Mutex::new(Vec::new()),
        outside: outside.clone(),
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("UE webhook: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let app = axum::Router::new()
        .route("/push", axum::routing::post(webhook))
        .with_state(ue.clone());
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let webhook_url = format!("http://{addr}/push");
    let result = pushes(core, af, &gpsi, &webhook_url, &ue, steps, &first, || {
        authenticate("re-authentication")
    })
    .await;
    let result = match result {
        Ok(mut summary) => {
            match outside_push(core, dir, outside, &gpsi, &webhook_url, &ue, steps).await {
                Ok(o) => {
                    summary["outside"] = o;
                    let accepted = ue
                        .accepted
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .clone();
                    summary["ueAccepted"] = accepted
                        .iter()
                        .map(|(c, t)| json!({"counter": c, "text": t}))
                        .collect();
                    Ok(summary)
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    };
    server.abort();
    result
}

/// The AF outside the operator's network pushes through the NEF: an OAuth2 token with
/// `nnef-akma-push`, `3gpp-akma-push/v1/push-info` by GPSI, the NEF's GPSI→SUPI translation
/// at the UDM, and the AAnF's push-info; the AF never sees the SUPI.
async fn outside_push(
    core: &akma_sim::network::Network,
    dir: &std::path::Path,
    outside: &AfFqdn,
    gpsi: &Gpsi,
    webhook_url: &str,
    ue: &Ue,
    steps: &mut crate::demo::Steps,
) -> Result<serde_json::Value, String> {
    const CLIENT_ID: &str = "demo-outside-af";
    let t = Instant::now();
    let af = crate::outside::OutsideAf {
        client_id: CLIENT_ID,
        fqdn: outside,
    };
    let nef = crate::outside::start_nef(core, dir, std::slice::from_ref(&af)).await?;
    steps.done(
        "start the NEF",
        t.elapsed(),
        format!(
            "NEF {} (AF registry: {CLIENT_ID}, {outside})",
            nef.running.addr
        ),
    );
    let result = async {
        let secret = std::fs::read_to_string(nef.secret_file(CLIENT_ID))
            .map_err(|e| format!("the outside AF's secret: {e}"))?;
        let client = akma_af::NefClient::with_secret(
            akma_af::SbiClient::h2c().map_err(|e| e.to_string())?,
            &nef.root(),
            CLIENT_ID,
            akma_af::ClientSecret::new(secret.trim().to_owned()),
        );
        let sender = PushSender::new(outside.clone(), client);
        let hook = HttpWebhook::new()?;
        hook.add(gpsi.clone(), webhook_url);
        let t = Instant::now();
        let r = sender
            .send(gpsi, b"A message from outside", &hook)
            .await
            .map_err(|e| format!("push through the NEF: {e}"))?;
        steps.done(
            &format!("outside AF {outside} pushes through the NEF"),
            t.elapsed(),
            format!("accepted, counter {}", r.counter),
        );
        let last = ue
            .accepted
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .last()
            .cloned()
            .ok_or("the UE accepted nothing")?;
        if last.1 != "A message from outside" {
            return Err(format!("the UE read {:?}", last.1));
        }
        Ok(json!({"afFqdn": outside.as_str(), "aKid": r.a_kid.as_str(), "counter": r.counter, "accepted": true}))
    }
    .await;
    nef.shutdown().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn pushes<F, Fut>(
    core: &akma_sim::network::Network,
    af: &AfFqdn,
    gpsi: &Gpsi,
    webhook_url: &str,
    ue: &Ue,
    steps: &mut crate::demo::Steps,
    first: &akma_core::ids::AKid,
    reauthenticate: F,
) -> Result<serde_json::Value, String>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<akma_core::ids::AKid, String>>,
{
    let aanf = core.aanf_client().map_err(|e| format!("AF client: {e}"))?;
    let sender = PushSender::new(af.clone(), aanf);
    let hook = HttpWebhook::new()?;
    hook.add(gpsi.clone(), webhook_url);
    let channel = Recording {
        inner: &hook,
        last: Mutex::new(None),
    };

    // 1. A push to a UE that never contacted the AF.
    let t = Instant::now();
    let r1 = sender
        .send(gpsi, b"Your parcel arrives today", &channel)
        .await
        .map_err(|e| format!("first push: {e}"))?;
    if r1.a_kid != *first || r1.refreshed {
        return Err(format!(
            "first push used {} (refreshed {})",
            r1.a_kid, r1.refreshed
        ));
    }
    steps.done(
        &format!("AF {af} pushes to {gpsi} (push-info at the AAnF)"),
        t.elapsed(),
        format!("accepted, counter {}", r1.counter),
    );

    // 2. The same octets again: a replay.
    let t = Instant::now();
    let replay = channel
        .last
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .ok_or("no message recorded")?;
    let outcome = hook
        .deliver(gpsi, &replay)
        .await
        .map_err(|e| format!("replay: {e}"))?;
    let replay_cause = match &outcome {
        DeliveryOutcome::Refused { status: 409, cause }
            if cause.as_deref() == Some(akma_core::push::cause::REPLAYED) =>
        {
            "PUSH_REPLAYED"
        }
        other => {
            return Err(format!(
                "the replayed message was not refused as a replay: {other:?}"
            ))
        }
    };
    steps.done(
        "the same message is delivered again",
        t.elapsed(),
        format!("refused: 409 {replay_cause}"),
    );

    // 3. Re-authentication; the AF still holds the old push material.
    let t = Instant::now();
    let second = reauthenticate().await?;
    if second == *first {
        return Err("the re-authentication gave the same A-KID".into());
    }
    steps.done(
        "UE re-authenticates: a new A-KID replaces the old",
        t.elapsed(),
        format!("A-KID {second}"),
    );
    let t = Instant::now();
    let r2 = sender
        .send(gpsi, b"Your parcel has been delivered", &channel)
        .await
        .map_err(|e| format!("push after re-authentication: {e}"))?;
    if !r2.refreshed || r2.a_kid != second || r2.counter <= r1.counter {
        return Err(format!(
            "the push after re-authentication used {} (refreshed {}, counter {})",
            r2.a_kid, r2.refreshed, r2.counter
        ));
    }
    steps.done(
        "AF pushes again: the UE refuses the old A-KID (STALE_PUSH_MATERIAL)",
        t.elapsed(),
        format!(
            "fresh push material fetched once; accepted, counter {}",
            r2.counter
        ),
    );
    let accepted = ue
        .accepted
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();
    if accepted.len() < 2 {
        return Err(format!(
            "the UE accepted {} messages, not 2",
            accepted.len()
        ));
    }
    for (c, text) in &accepted {
        steps.done(
            "UE reads",
            std::time::Duration::ZERO,
            format!("counter {c}: {text:?}"),
        );
    }
    Ok(json!({
        "extension": "AKMA push (project extension, docs/akma-push.md)",
        "afFqdn": af.as_str(),
        "gpsi": GPSI,
        "first": {"aKid": first.as_str(), "counter": r1.counter, "accepted": true},
        "replay": {"refused": true, "cause": replay_cause},
        "afterReauth": {"aKid": second.as_str(), "counter": r2.counter, "refreshed": true, "accepted": true},
        "ueAccepted": accepted.iter().map(|(c, t)| json!({"counter": c, "text": t})).collect::<Vec<_>>(),
    }))
}
