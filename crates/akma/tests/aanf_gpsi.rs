//! TS 33.535 §4.2.1 (Release 18): the AAnF gives an internal AF that may have the GPSI the
//! subscriber's GPSI from the UDM (Nudm_SDM) when the context holds none, and keeps it for
//! the context's lifetime. The AAnF service over its SQLite store, with a real development
//! UDM on loopback, called as an authenticated AF consumer.
#![allow(clippy::unwrap_used)] // test code

use std::sync::Arc;

use akma_aanf::config::AanfConfig;
use akma_aanf::rules::Consumer;
use akma_aanf::service::{Aanf, AanfError};
use akma_core::ids::Gpsi;
use akma_core::time::ManualClock;
use akma_sbi_client::{NudmSdmClient, SbiClient};
use akma_sbi_model::common::NfType;
use akma_sbi_model::naanf::{AkmaAfKeyRequest, AkmaKeyInfo};
use akma_sim::fixtures::SubscriberFixture;
use akma_sim::network::NetworkBuilder;
use akma_store::{AkmaStore, Kek, SqliteStore};
use common::sample;
use serde_json::json;

mod common;

const SUPI: &str = "imsi-901700000000031";
const GPSI: &str = "msisdn-491700000031";
const A_KID: &str =
    "0.eWhfp5ZK5dNYHAqgYuw8ZyajHqZHEBPnd7Pps9Z8SaE@5gc.mnc070.mcc901.3gppnetwork.org";
const T0: u64 = 1_800_000_000;

fn consumer(id: &str, nf_type: NfType) -> Consumer {
    Consumer::Nf(akma_sbi_model::Consumer {
        nf_instance_id: id.into(),
        nf_type,
        claims: akma_sbi_model::nnrf::Claims {
            sub: id.into(),
            scopes: [
                "naanf-akma",
                "naanf-akma:applicationkeyget",
                "naanf-akma:anchorkey",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            ..Default::default()
        },
    })
}

//= test 33535-4.2.1-aanf-gpsi-from-udm
#[tokio::test]
async fn the_aanf_gets_the_gpsi_from_the_udm_for_an_internal_af_and_keeps_it() {
    let mut sub = SubscriberFixture::akma(SUPI).subscriber().unwrap();
    sub.gpsis = vec![Gpsi::parse(GPSI).unwrap()];
    let net = NetworkBuilder::new()
        .subscribers(vec![sub])
        .start()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = AanfConfig::parse(
        r#"
        [[af]]
        fqdn = "app.example.com"
        identity = "af-1"
        allow_gpsi = true
        [[af]]
        fqdn = "nogpsi.example.com"
        identity = "af-2"
        "#,
    )
    .unwrap();
    let store: Arc<dyn AkmaStore> =
        Arc::new(SqliteStore::open(dir.path(), Kek::from_bytes([3; 32])).unwrap());
    let clock = ManualClock::new(T0);
    let udm = NudmSdmClient::new(SbiClient::h2c().unwrap(), net.udm_api_root());
    let aanf = Aanf::new(Arc::new(config), store, clock.clock()).with_udm(udm);
    let info: AkmaKeyInfo = serde_json::from_value(json!({
        "supi": SUPI, "aKId": A_KID,
        "kAkma": "7a5a7e4d6c8de9fa7c3ef64e4e54fe5057074fedd0366391c6e298373e2d4f24",
    }))
    .unwrap();
    aanf.register_anchor_key(&consumer("ausf", NfType::Ausf), info)
        .await
        .unwrap();
    let req = |af: &str, anon: bool| -> AkmaAfKeyRequest {
        serde_json::from_value(json!({"afId": af, "aKId": A_KID, "anonInd": anon})).unwrap()
    };
    let count = format!("{}_count", akma_udm::metrics::REQUEST_DURATION_SECONDS);
    let udm_calls = || async {
        sample(
            &metrics_of!(net.udm).await,
            &count,
            "operation=\"id-translation\"",
        )
    };

    // The internal AF allowed the GPSI: the AAnF asks the UDM once, then keeps it.
    let af1 = consumer("af-1", NfType::Af);
    let d = aanf
        .retrieve_application_key(&af1, &req("app.example.com", false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.gpsi.as_ref().map(ToString::to_string).as_deref(),
        Some(GPSI)
    );
    assert!(d.supi.is_none(), "the SUPI is not allowed to this AF");
    assert_eq!(udm_calls().await, 1);
    let d = aanf
        .retrieve_application_key(&af1, &req("app.example.com", false))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d.gpsi.as_ref().map(ToString::to_string).as_deref(),
        Some(GPSI)
    );
    assert_eq!(udm_calls().await, 1, "kept for the context's lifetime");

    // anonInd, an AF without allow_gpsi, and the NEF (which translates itself): no GPSI, no
    // UDM call.
    let anon = aanf
        .retrieve_application_key(&af1, &req("app.example.com", true))
        .await
        .unwrap()
        .unwrap();
    assert!(anon.gpsi.is_none());
    let af2 = consumer("af-2", NfType::Af);
    let other = aanf
        .retrieve_application_key(&af2, &req("nogpsi.example.com", false))
        .await
        .unwrap()
        .unwrap();
    assert!(other.gpsi.is_none());
    let nef = consumer("nef", NfType::Nef);
    let via_nef = aanf
        .retrieve_application_key(&nef, &req("app.example.com", false))
        .await
        .unwrap()
        .unwrap();
    assert!(via_nef.gpsi.is_none(), "the NEF translates for itself");
    assert_eq!(udm_calls().await, 1);

    // The UDM down: 503-class error, never an answer silently without the GPSI. A new
    // context (a re-registration) needs a new lookup.
    let info2: AkmaKeyInfo = serde_json::from_value(json!({
        "supi": SUPI,
        "aKId": A_KID.replacen("0.e", "0.f", 1),
        "kAkma": "7a5a7e4d6c8de9fa7c3ef64e4e54fe5057074fedd0366391c6e298373e2d4f25",
    }))
    .unwrap();
    aanf.register_anchor_key(&consumer("ausf", NfType::Ausf), info2)
        .await
        .unwrap();
    net.shutdown().await.unwrap();
    let r2: AkmaAfKeyRequest = serde_json::from_value(
        json!({"afId": "app.example.com", "aKId": A_KID.replacen("0.e", "0.f", 1)}),
    )
    .unwrap();
    match aanf.retrieve_application_key(&af1, &r2).await {
        Err(AanfError::UdmUnavailable(_)) => {}
        other => panic!("expected UdmUnavailable, got {other:?}"),
    }
}
