//! `akma_sbi_client::NrfClient` against the real NRF, in process (development mode).
#![allow(clippy::unwrap_used)]

use akma_core::ids::RoutingIndicator;
use akma_core::time::ManualClock;
use akma_nrf::server::{resolve, start, HostArgs, NrfArgs};
use akma_sbi_client::{ClientError, Discovery, NrfClient, SbiClient};
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{AanfInfo, AccessTokenReq, NfProfile, NfStatus, PlmnId};
use akma_sbi_model::NfType;
use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{TokenVerifier, TokenVerifierConfig};

const NRF_ID: &str = "9e1b2c3d-0000-4000-8000-00000000f001";

fn id(s: &str) -> NfInstanceId {
    NfInstanceId::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_heartbeat_discover_token_deregister() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nrf");
    let clock = ManualClock::new(1_800_000_000);
    let args = NrfArgs {
        host: HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.clone()),
            ..Default::default()
        },
        nf_instance_id: Some(NRF_ID.into()),
    };
    let mut r = resolve(&args).unwrap();
    r.clock = clock.clock();
    let running = start(r).await.unwrap();
    let nrf = NrfClient::new(
        SbiClient::h2c().unwrap(),
        format!("http://{}", running.addr),
    );

    let mut aanf = NfProfile::new(id("4947a69a-f61b-4bc1-b9da-47c9c5d14b01"), NfType::Aanf);
    aanf.ipv4_addresses = vec!["127.0.0.1".into()];
    aanf.plmn_list = Some(vec![PlmnId::new("001", "01").unwrap()]);
    aanf.aanf_info_list = Some(
        [(
            "1".to_owned(),
            AanfInfo {
                routing_indicators: vec![RoutingIndicator::parse("12").unwrap()],
            },
        )]
        .into(),
    );
    let registered = nrf.register(&aanf).await.unwrap();
    assert_eq!(registered.heart_beat_timer, Some(60), "the NRF's default");
    let mut ausf = NfProfile::new(id("4947a69a-f61b-4bc1-b9da-47c9c5d14b03"), NfType::Ausf);
    ausf.fqdn = Some("ausf.example.com".into());
    nrf.register(&ausf).await.unwrap();

    let mut q = Discovery::new(NfType::Aanf, NfType::Ausf);
    q.routing_indicator = Some("12".into());
    q.target_plmns = vec![PlmnId::new("001", "01").unwrap()];
    let found = nrf.discover(&q).await.unwrap();
    assert_eq!(found.validity_period, 60);
    assert_eq!(found.nf_instances, vec![registered.clone()]);
    q.routing_indicator = Some("13".into());
    assert!(nrf.discover(&q).await.unwrap().nf_instances.is_empty());

    // Past its timer the AAnF is suspended; a heartbeat brings it back.
    clock.advance(71);
    assert_eq!(
        nrf.profile(&aanf.nf_instance_id).await.unwrap().nf_status,
        NfStatus::Suspended
    );
    nrf.heartbeat(&aanf.nf_instance_id).await.unwrap();
    assert_eq!(
        nrf.profile(&aanf.nf_instance_id).await.unwrap().nf_status,
        NfStatus::Registered
    );

    let req = AccessTokenReq {
        nf_instance_id: ausf.nf_instance_id.clone(),
        nf_type: Some(NfType::Ausf),
        target_nf_type: Some(NfType::Aanf),
        scope: "naanf-akma".into(),
        target_nf_instance_id: None,
        requester_plmn: None,
        target_plmn: None,
    };
    let t = nrf.token(&req).await.unwrap();
    let public = std::fs::read_to_string(data.join("nrf-token-public.pem")).unwrap();
    let key = VerificationKey::from_pem(TokenAlg::Es256, public.as_bytes(), None).unwrap();
    let v = TokenVerifier::with_clock(
        TokenVerifierConfig::new(NRF_ID, "AANF").with_key(key),
        clock.clock(),
    );
    assert_eq!(
        v.verify(&t.access_token).unwrap().sub,
        ausf.nf_instance_id.as_str()
    );
    let mut bad = req.clone();
    bad.scope = "nudm-sdm".into();
    match nrf.token(&bad).await {
        Err(ClientError::Token(m)) => assert!(m.contains("invalid_scope"), "{m}"),
        other => panic!("{other:?}"),
    }

    nrf.deregister(&aanf.nf_instance_id).await.unwrap();
    let e = nrf.profile(&aanf.nf_instance_id).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    let e = nrf.heartbeat(&aanf.nf_instance_id).await.unwrap_err();
    assert_eq!(e.status().map(|s| s.as_u16()), Some(404));
    running.shutdown().await.unwrap();
}
