//! The in-process network builder with the simulated AMF: a registration's timing hook, and
//! every NF's `/metrics` read by the bench's parser (`akma_loadgen::prometheus`), with the
//! names the bench reads present.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_core::ids::{MncLen, ServingNetworkName};
use akma_loadgen::prometheus::Scrape;
use akma_sim::fixtures::{SubscriberFixture, SNN_901_70};
use akma_sim::metric_names::{
    AANF_CONTEXTS_STORED, AUSF_CONTEXTS_HELD, AUSF_PEER_REQUEST_DURATION_SECONDS,
    AUSF_REQUEST_DURATION_SECONDS, UDM_STORE_COMMITS_TOTAL, UDM_STORE_COMMIT_DURATION_SECONDS,
    UDM_STORE_WRITES_TOTAL,
};
use akma_sim::network::NetworkBuilder;
use akma_sim::{Faults, Outcome};

const SUPI: &str = "imsi-901700000000042";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_timings_and_metrics_the_bench_reads() {
    let fixture = SubscriberFixture::akma(SUPI);
    let net = NetworkBuilder::new()
        .subscribers(vec![fixture.subscriber().unwrap()])
        .ausf_mnc_len(2)
        .start()
        .await
        .unwrap();
    let nas = fixture.ue(MncLen::Two).unwrap();
    let amf = net
        .amf(ServingNetworkName::parse(SNN_901_70).unwrap())
        .unwrap();
    let report = amf.register(&nas, &Faults::default()).await.unwrap();
    assert_eq!(report.outcome, Outcome::Registered);
    let t = report.timings;
    assert_eq!(
        (t.authenticate_calls, t.confirm_calls, t.eap_session_calls),
        (1, 1, 0)
    );
    assert!(t.authenticate > std::time::Duration::ZERO);
    assert!(t.confirm_5g_aka > std::time::Duration::ZERO);
    assert!(t.total >= t.authenticate + t.confirm_5g_aka);
    assert_eq!(t.eap_session, std::time::Duration::ZERO);

    let http = akma_sim::answer::h2c_client().unwrap();
    let scrape = |root: String| {
        let http = http.clone();
        async move {
            let text = http
                .get(format!("{root}/metrics"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            Scrape::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
        }
    };
    let ausf = scrape(net.ausf_api_root()).await;
    let udm = scrape(net.udm_api_root()).await;
    let aanf = scrape(net.aanf_api_root()).await;

    let post = ausf
        .histogram(
            AUSF_REQUEST_DURATION_SECONDS,
            &[("operation", "authenticate")],
        )
        .unwrap();
    assert_eq!(post.count, 1.0);
    assert!(post.quantile(0.5).unwrap() > 0.0);
    let anchor = ausf
        .histogram(
            AUSF_PEER_REQUEST_DURATION_SECONDS,
            &[("peer", "aanf"), ("operation", "register-anchorkey")],
        )
        .unwrap();
    assert_eq!(anchor.count, 1.0);
    assert_eq!(ausf.get(AUSF_CONTEXTS_HELD, &[]), Some(1.0));
    assert!(udm.get(UDM_STORE_COMMITS_TOTAL, &[]).unwrap() >= 1.0);
    assert!(udm.get(UDM_STORE_WRITES_TOTAL, &[]).unwrap() >= 1.0);
    assert!(udm
        .get(
            &format!("{UDM_STORE_COMMIT_DURATION_SECONDS}_sum"),
            &[("store", "sqlite")]
        )
        .is_some());
    assert_eq!(aanf.get(AANF_CONTEXTS_STORED, &[]), Some(1.0));
    let dir = net.shutdown().await.unwrap();
    assert!(dir.path().join("aanf").exists());
}
