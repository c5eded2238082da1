//! `akma_sbi_client::{NrfResolver, NrfTokenSource}` against the real NRF, in process
//! (development mode): discovery by routing indicator, producers used in turn, an
//! unreachable one passed over (and the request sent to the next), one that stops
//! heartbeating no longer chosen, tokens cached and verifiable.
#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::RoutingIndicator;
use akma_core::time::ManualClock;
use akma_nrf::server::{resolve, start, HostArgs, NrfArgs};
use akma_sbi_client::resolve::{NfHint, NfResolver};
use akma_sbi_client::token::{TokenRequest, TokenSource};
use akma_sbi_client::{
    ClientError, NaanfClient, NrfClient, NrfResolver, NrfTokenSource, SbiClient,
};
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::naanf::AkmaAfKeyRequest;
use akma_sbi_model::nnrf::{AanfInfo, NfProfile, NfService};
use akma_sbi_model::NfType;
use akma_sbi_server::auth::{TokenAlg, VerificationKey};
use akma_sbi_server::{TokenVerifier, TokenVerifierConfig};

const NRF_ID: &str = "9e1b2c3d-0000-4000-8000-00000000f002";

/// A stand-in producer that counts the requests it gets and answers 204 (an unknown
/// A-KID) to ApplicationKey_Get: what is under test is which producer the client picks.
async fn producer() -> (std::net::SocketAddr, Arc<AtomicU64>) {
    let hits = Arc::new(AtomicU64::new(0));
    let h = hits.clone();
    let app = axum::Router::new().route(
        "/naanf-akma/v1/retrieve-applicationkey",
        axum::routing::post(move || {
            let h = h.clone();
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (addr, hits)
}

fn aanf_profile(id: &str, addr: std::net::SocketAddr, ri: &str) -> NfProfile {
    let mut p = NfProfile::new(NfInstanceId::parse(id).unwrap(), NfType::Aanf);
    p.ipv4_addresses = vec![addr.ip().to_string()];
    p.nf_services = Some(vec![NfService::at(
        "naanf-akma",
        "1.0.0",
        "http",
        addr,
        None,
    )]);
    p.aanf_info_list = Some(
        [(
            "1".to_owned(),
            AanfInfo {
                routing_indicators: vec![RoutingIndicator::parse(ri).unwrap()],
            },
        )]
        .into(),
    );
    p
}

fn request() -> AkmaAfKeyRequest {
    serde_json::from_value(serde_json::json!({
        "aKId": "12.eWhfp5ZK5dNYHAqgYuw8ZyajHqZHEBPnd7Pps9Z8SaE@5gc.mnc070.mcc901.3gppnetwork.org",
        "afId": "app.example.com"
    }))
    .unwrap()
}

async fn metric(root: &str, line: &str) -> u64 {
    let t = reqwest::get(format!("{root}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    t.lines()
        .find_map(|l| {
            l.strip_prefix(line)
                .map(|v| v.trim().parse::<u64>().unwrap())
        })
        .unwrap_or(0)
}

/// The NRF `NRF_ID` in development mode on a loopback port, its data in `data`, resolved
/// (a test adjusts its clock or settings before starting it).
fn dev_nrf(data: &std::path::Path) -> akma_nrf::server::Resolved {
    resolve(&NrfArgs {
        host: HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(data.to_owned()),
            ..Default::default()
        },
        nf_instance_id: Some(NRF_ID.into()),
    })
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_in_turn_reselection_and_expiry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(1_800_000_000);
    let mut r = dev_nrf(&dir.path().join("nrf"));
    r.clock = clock.clock();
    r.config.validity_period_secs = 1;
    r.config.heartbeat_secs = 10;
    r.config.heartbeat_grace_secs = 2;
    let running = start(r).await.unwrap();
    let root = format!("http://{}", running.addr);
    let nrf = NrfClient::new(SbiClient::h2c().unwrap(), root.clone());

    let (a1, hits1) = producer().await;
    let (a2, hits2) = producer().await;
    let (other, hits_other) = producer().await;
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let p1 = aanf_profile("00000000-0000-4000-8000-0000000000a1", a1, "12");
    let p2 = aanf_profile("00000000-0000-4000-8000-0000000000a2", a2, "12");
    let pd = aanf_profile("00000000-0000-4000-8000-0000000000a3", dead, "12");
    let po = aanf_profile("00000000-0000-4000-8000-0000000000a4", other, "99");
    for p in [&p1, &p2, &pd, &po] {
        nrf.register(p).await.unwrap();
    }

    let resolver = Arc::new(NrfResolver::new(nrf.clone(), NfType::Nef));
    let hint = NfHint::routing_indicator("12");
    // Nothing cached yet: the synchronous lookup knows no producer.
    assert!(matches!(
        resolver.resolve(NfType::Aanf, &hint),
        Err(ClientError::NoProducer { .. })
    ));
    let client = NaanfClient::with_resolver(SbiClient::h2c().unwrap(), resolver.clone())
        .with_hint(hint.clone());
    // 30 requests over three producers of routing indicator 12, one of which refuses
    // connections: every request is answered (the dead one is reselected away from), the
    // two live ones share the load, and the producer of another routing indicator gets none.
    for _ in 0..30 {
        assert_eq!(
            client.retrieve_application_key(&request()).await.unwrap(),
            None
        );
    }
    let (h1, h2) = (hits1.load(Ordering::SeqCst), hits2.load(Ordering::SeqCst));
    assert_eq!(h1 + h2, 30);
    assert!(h1 >= 10 && h2 >= 10, "in turn: {h1} / {h2}");
    assert_eq!(hits_other.load(Ordering::SeqCst), 0);
    assert_eq!(
        metric(
            &root,
            "nrf_requests_total{operation=\"discover\",status=\"200\"}"
        )
        .await,
        1,
        "one discovery, then the cache"
    );
    // Another routing indicator is another discovery.
    let other_client = NaanfClient::with_resolver(SbiClient::h2c().unwrap(), resolver.clone())
        .with_hint(NfHint::routing_indicator("99"));
    other_client
        .retrieve_application_key(&request())
        .await
        .unwrap();
    assert_eq!(hits_other.load(Ordering::SeqCst), 1);

    // p2 stops heartbeating; p1 (and the dead one) keep on. Past p2's timer and grace the
    // NRF no longer answers with it, and once the cached answer expires it is not chosen.
    clock.advance(8);
    nrf.heartbeat(&p1.nf_instance_id).await.unwrap();
    nrf.heartbeat(&pd.nf_instance_id).await.unwrap();
    clock.advance(8);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let before = (hits1.load(Ordering::SeqCst), hits2.load(Ordering::SeqCst));
    for _ in 0..10 {
        client.retrieve_application_key(&request()).await.unwrap();
    }
    assert_eq!(hits1.load(Ordering::SeqCst) - before.0, 10);
    assert_eq!(
        hits2.load(Ordering::SeqCst),
        before.1,
        "a lapsed AAnF is not chosen"
    );

    // Nothing registered for a routing indicator: a precise error, no request.
    let none = NaanfClient::with_resolver(SbiClient::h2c().unwrap(), resolver.clone())
        .with_hint(NfHint::routing_indicator("7777"));
    assert!(matches!(
        none.retrieve_application_key(&request()).await,
        Err(ClientError::NoProducer {
            nf_type: NfType::Aanf
        })
    ));

    // The NRF gone: the expired answer is used rather than none.
    running.shutdown().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    client.retrieve_application_key(&request()).await.unwrap();
    assert_eq!(hits1.load(Ordering::SeqCst) - before.0, 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_requested_once_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("nrf");
    let running = start(dev_nrf(&data)).await.unwrap();
    let root = format!("http://{}", running.addr);
    let nrf = NrfClient::new(SbiClient::h2c().unwrap(), root.clone());
    let me = NfInstanceId::parse("00000000-0000-4000-8000-0000000000b1").unwrap();
    // The NRF grants tokens to registered NFs only.
    let mut ausf = NfProfile::new(me.clone(), NfType::Ausf);
    ausf.ipv4_addresses = vec!["127.0.0.1".into()];
    nrf.register(&ausf).await.unwrap();
    let source = NrfTokenSource::new(nrf, me.clone(), NfType::Ausf);
    assert!(
        !format!("{source:?}").contains("ey"),
        "Debug prints no token"
    );

    let req = TokenRequest {
        target: Some(NfType::Aanf),
        scopes: &["naanf-akma"],
        target_plmn: None,
    };
    let t1 = source.token(req).await.unwrap().unwrap();
    let t2 = source.token(req).await.unwrap().unwrap();
    assert_eq!(t1.as_str(), t2.as_str());
    assert_eq!(metric(&root, "nrf_tokens_issued_total").await, 1, "cached");
    let public = std::fs::read_to_string(data.join("nrf-token-public.pem")).unwrap();
    let key = VerificationKey::from_pem(TokenAlg::Es256, public.as_bytes(), None).unwrap();
    let v = TokenVerifier::new(TokenVerifierConfig::new(NRF_ID, "AANF").with_key(key));
    let claims = v.verify(t1.as_str()).unwrap();
    assert_eq!(claims.sub, me.as_str());
    assert!(claims.has_scope("naanf-akma"));

    // Another target is another token; a scope the policy does not grant is refused.
    let udm = source
        .token(TokenRequest {
            target: Some(NfType::Udm),
            scopes: &["nudm-ueau"],
            target_plmn: None,
        })
        .await
        .unwrap()
        .unwrap();
    assert_ne!(udm.as_str(), t1.as_str());
    match source
        .token(TokenRequest {
            target: Some(NfType::Aanf),
            scopes: &["nudm-sdm"],
            target_plmn: None,
        })
        .await
    {
        Err(ClientError::Token(m)) => assert!(m.contains("invalid_scope"), "{m}"),
        other => panic!("{other:?}"),
    }
    running.shutdown().await.unwrap();
}

/// An answer with no producer is kept only briefly ([`akma_sbi_client::nrf::MAX_EMPTY_CACHE_FOR`]),
/// whatever the NRF's `validityPeriod`: an AAnF that registers after its consumer first
/// asked is found about a second later, not after the whole validity period.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_producer_registered_after_an_empty_answer_is_found_soon() {
    let dir = tempfile::tempdir().unwrap();
    let mut r = dev_nrf(&dir.path().join("nrf"));
    r.config.validity_period_secs = 60;
    let running = start(r).await.unwrap();
    let root = format!("http://{}", running.addr);
    let nrf = NrfClient::new(SbiClient::h2c().unwrap(), root.clone());
    let resolver = NrfResolver::new(nrf.clone(), NfType::Af);
    let hint = NfHint::routing_indicator("55");
    assert!(matches!(
        resolver.resolve_async(NfType::Aanf, &hint).await,
        Err(ClientError::NoProducer { .. })
    ));
    let (addr, _) = producer().await;
    nrf.register(&aanf_profile(
        "00000000-0000-4000-8000-0000000000b1",
        addr,
        "55",
    ))
    .await
    .unwrap();
    // At once: still the cached empty answer (no discovery per request).
    assert!(resolver.resolve_async(NfType::Aanf, &hint).await.is_err());
    tokio::time::sleep(akma_sbi_client::nrf::MAX_EMPTY_CACHE_FOR + Duration::from_millis(100))
        .await;
    assert_eq!(
        resolver.resolve_async(NfType::Aanf, &hint).await.unwrap(),
        format!("http://{addr}")
    );
    assert_eq!(
        metric(
            &root,
            "nrf_requests_total{operation=\"discover\",status=\"200\"}"
        )
        .await,
        2,
        "one discovery for the empty answer, one after it expired"
    );
    // A non-empty answer is kept for the validity period: no third discovery.
    assert!(resolver.resolve_async(NfType::Aanf, &hint).await.is_ok());
    assert_eq!(
        metric(
            &root,
            "nrf_requests_total{operation=\"discover\",status=\"200\"}"
        )
        .await,
        2
    );
    running.shutdown().await.unwrap();
}
