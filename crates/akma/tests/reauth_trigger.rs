//! AAnF-triggered re-authentication (TS 33.501 §6.1.5, Release 18), end to end in process:
//! the serving AMF registers at the UDM (Nudm_UECM amf-3gpp-access, with the
//! `reauthNotifyCallbackUri` the YAML's callback names); the AAnF finds the context nearing
//! its expiry and sends the UDM Nudm_UECM AuthTrigger; the UDM notifies the AMF
//! (`ReauthNotificationInfo {supi}`); the AMF re-authenticates the UE; the new A-KID
//! replaces the old one, which then gets 204.
#![allow(clippy::unwrap_used)] // test code

use std::time::Duration;

use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, ServingNetworkName};
use akma_sim::fixtures::{SubscriberFixture, SNN_901_70};
use akma_sim::network::{Network, NetworkBuilder};
use akma_sim::serving::ServingAmf;
use akma_sim::{Faults, Outcome};
use akma_ue::NasLayer;
use common::sample;
use serde_json::{json, Value};

mod common;

const SUPI: &str = "imsi-901700000000041";

/// The in-process network with the subscriber, a serving AMF and the UE registered through
/// it (so the UDM knows the AMF); `aanf_toml` configures the AAnF.
async fn network(aanf_toml: &str) -> (Network, ServingAmf, NasLayer) {
    let fixture = SubscriberFixture::akma(SUPI);
    let net = NetworkBuilder::new()
        .subscribers(vec![fixture.subscriber().unwrap()])
        .aanf_config_toml(aanf_toml)
        .start()
        .await
        .unwrap();
    let snn = ServingNetworkName::parse(SNN_901_70).unwrap();
    let amf = ServingAmf::start(net.amf(snn).unwrap(), &net.udm_api_root())
        .await
        .unwrap();
    let nas = fixture.ue(MncLen::Two).unwrap();
    let report = amf.register(&nas, &Faults::default()).await.unwrap();
    assert!(matches!(report.outcome, Outcome::Registered));
    (net, amf, nas)
}

//= test 33535-4.2.1-aanf-triggers-reauthentication
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_aanf_triggers_a_reauthentication_before_the_context_expires() {
    // Contexts live 60 s; 58 s before that (2 s after registration) the AAnF asks for a new
    // authentication; it looks every second.
    let (net, amf, nas) = network(
        "context_lifetime_secs = 60\nreauth_before_expiry_secs = 58\nsweep_interval_secs = 1\n",
    )
    .await;
    let first = nas.akma_api().current_a_kid().unwrap();

    let done = amf
        .wait_for_reauthentications(1, Duration::from_secs(30))
        .await;
    assert!(!done.is_empty(), "no re-authentication within 30 s");
    assert_eq!(done[0].supi.as_str(), SUPI);
    let r = done[0].result.as_ref().unwrap();
    assert!(matches!(r.outcome, Outcome::Registered), "{:?}", r.outcome);
    let second = nas.akma_api().current_a_kid().unwrap();
    assert_ne!(first, second, "the re-authentication gave a new A-KID");

    // The old A-KID is gone at the AAnF; the UE's current one resolves to the UE's K_AF.
    let http = reqwest::Client::new();
    let retrieve = |a_kid: String| {
        let http = http.clone();
        let url = format!(
            "{}/naanf-akma/v1/retrieve-applicationkey",
            net.aanf_api_root()
        );
        async move {
            let r = http
                .post(url)
                .json(&json!({"afId": "app.example.com", "aKId": a_kid}))
                .send()
                .await
                .unwrap();
            let s = r.status().as_u16();
            let v: Value = if s == 200 {
                r.json().await.unwrap()
            } else {
                Value::Null
            };
            (s, v)
        }
    };
    // A later trigger may have replaced `second` meanwhile; the UE's current pair is the
    // one that must resolve.
    let (current, k_akma) = nas.akma_api().current_akma_keys().unwrap();
    assert_eq!(retrieve(first.as_str().to_owned()).await.0, 204);
    let (s, v) = retrieve(current.as_str().to_owned()).await;
    assert_eq!(s, 200, "{v}");
    let want = derive_k_af(
        &k_akma,
        &AfId::new(
            AfFqdn::parse("app.example.com").unwrap(),
            UaProtocolId::TLS13_PSK,
        ),
    );
    assert_eq!(v["kaf"], want.expose_hex().as_str());

    // The figures: the AAnF's accepted triggers and the UDM's AuthTrigger answers. The AAnF
    // counts a trigger once the UDM's answer is back, and the UE's re-authentication (which
    // the AMF starts as it answers the UDM) may finish first: wait for the count.
    let triggers = akma_aanf::metrics::REAUTH_TRIGGERS_TOTAL;
    let mut aanf = metrics_of!(net.aanf).await;
    for _ in 0..100 {
        if sample(&aanf, triggers, "result=\"accepted\"") >= 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        aanf = metrics_of!(net.aanf).await;
    }
    assert!(
        sample(&aanf, triggers, "result=\"accepted\"") >= 1,
        "{aanf}"
    );
    assert_eq!(sample(&aanf, triggers, "result=\"failed\""), 0, "{aanf}");
    let udm = metrics_of!(net.udm).await;
    let count = format!("{}_count", akma_udm::metrics::REQUEST_DURATION_SECONDS);
    assert!(
        sample(&udm, &count, "operation=\"auth-trigger\"") >= 1,
        "{udm}"
    );

    // AuthTrigger refusals at the UDM: another SUPI in the body (400), a subscriber with no
    // serving AMF (404 CONTEXT_NOT_FOUND), an unknown one (404 too). Bad registrations: 400.
    let trigger = |ue: &str, body: Value| {
        let http = http.clone();
        let url = format!(
            "{}/nudm-uecm/v1/{ue}/registrations/auth-trigger",
            net.udm_api_root()
        );
        async move {
            let r = http.get(url).json(&body).send().await.unwrap();
            let s = r.status().as_u16();
            (s, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (s, v) = trigger(SUPI, json!({"supi": "imsi-901700000000042"})).await;
    assert_eq!(s, 400, "{v}");
    let (s, v) = trigger("imsi-901700000000042", json!({})).await;
    assert_eq!(s, 404, "{v}");
    assert_eq!(v["cause"], "CONTEXT_NOT_FOUND", "{v}");
    let put = http
        .put(format!(
            "{}/nudm-uecm/v1/{SUPI}/registrations/amf-3gpp-access",
            net.udm_api_root()
        ))
        .json(
            &json!({"amfInstanceId": "5a3c0e1b-9d2f-4e6a-8b7c-0d1e2f3a4b5c",
                      "deregCallbackUri": "http://127.0.0.1:1/dereg", "guami": {},
                      "ratType": "NR", "reauthNotifyCallbackUri": "ftp://x/y"}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 400);
    drop(amf);
    net.shutdown().await.unwrap();
}

/// Context removal on purge (issue 13, item 6): the serving AMF purges the UE
/// (Nudm_UECM `PATCH amf-3gpp-access` with `purgeFlag: true`, merge-patch JSON); the UDM
/// tells the AUSF (Nausf_UEAuthentication_Deregister), which removes the context at the AAnF.
//= test 33501-6.1.4.1-deregistration-removes-context
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purged_ue_loses_its_akma_context() {
    let (net, amf, nas) = network("").await;
    let a_kid = nas.akma_api().current_a_kid().unwrap();
    let http = reqwest::Client::new();
    let status = || {
        let http = http.clone();
        let url = format!(
            "{}/naanf-akma/v1/retrieve-applicationkey",
            net.aanf_api_root()
        );
        let body = json!({"afId": "app.example.com", "aKId": a_kid.as_str()});
        async move {
            http.post(url)
                .json(&body)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status().await, 200);

    // A PATCH with the wrong media type or another AMF's guami changes nothing.
    let url = format!(
        "{}/nudm-uecm/v1/{SUPI}/registrations/amf-3gpp-access",
        net.udm_api_root()
    );
    let r = http
        .patch(&url)
        .json(&json!({"guami": {"plmnId": {"mcc": "901", "mnc": "70"}, "amfId": "010041"}, "purgeFlag": true}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status().as_u16(),
        415,
        "application/json instead of merge-patch"
    );
    let r = http
        .patch(&url)
        .header("content-type", "application/merge-patch+json")
        .body(json!({"guami": {"amfId": "999999"}, "purgeFlag": true}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(status().await, 200, "refusals changed nothing");

    amf.purge(&akma_core::ids::Supi::parse(SUPI).unwrap())
        .await
        .unwrap();
    assert_eq!(status().await, 204, "the purged UE's context is gone");
    let ausf = metrics_of!(net.ausf).await;
    let count = format!("{}_count", akma_ausf::metrics::REQUEST_DURATION_SECONDS);
    assert_eq!(
        sample(&ausf, &count, "operation=\"deregister\""),
        1,
        "the UDM told the AUSF once"
    );
    drop(amf);
    net.shutdown().await.unwrap();
}
