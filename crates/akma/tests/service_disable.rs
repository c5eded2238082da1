//! AKMA service disable (Release 18; TS 29.522 V18.6.0 `notifUri` and
//! `ServiceDisableNotif`, Naanf_AKMA_Notify), end to end in process: the AF SDK gives its
//! callback URI in every key request; the AAnF stores the subscription with the context;
//! the UDM's `akma` flag is turned off through provisioning; the UDM tells the AUSF, which
//! removes the context at the AAnF; the AAnF's outbox POSTs `{aKId}` to the AF, which drops
//! the A-KID's keys and closes its Ua* sessions. A callback URI on another host is refused
//! with 400 on `/notifUri` and changes nothing.
#![allow(clippy::unwrap_used)] // test code

use std::time::Duration;

use akma_af::app::{resolve, sample_router, start, AfArgs};
use akma_core::ids::{AfFqdn, MncLen, ServingNetworkName};
use akma_sim::fixtures::{SubscriberFixture, SNN_901_70};
use akma_sim::network::{Network, NetworkBuilder};
use akma_sim::{Faults, Outcome};
use akma_ua::client::{ConnectorConfig, UaConnector};
use akma_ue::NasLayer;
use common::sample;
use serde_json::{json, Value};
use tokio::io::AsyncReadExt;

mod common;

const SUPI: &str = "imsi-901700000000051";
const AF: &str = "app.example.com";

async fn network() -> (Network, NasLayer, SubscriberFixture<'static>) {
    network_with(&format!("[[af]]\nfqdn = \"{AF}\"\nallow_supi = true\n")).await
}

async fn network_with(aanf_toml: &str) -> (Network, NasLayer, SubscriberFixture<'static>) {
    let fixture = SubscriberFixture::akma(SUPI);
    let net = NetworkBuilder::new()
        .subscribers(vec![fixture.subscriber().unwrap()])
        .aanf_config_toml(aanf_toml)
        .start()
        .await
        .unwrap();
    let snn = ServingNetworkName::parse(SNN_901_70).unwrap();
    let nas = fixture.ue(MncLen::Two).unwrap();
    let report = net
        .amf(snn)
        .unwrap()
        .register(&nas, &Faults::default())
        .await
        .unwrap();
    assert!(matches!(report.outcome, Outcome::Registered));
    (net, nas, fixture)
}

/// A loopback port that was free a moment ago (the callback URL must be known before the
/// AF binds it).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `akma af --dev` with these settings and its service-disable callback on a loopback port;
/// the port.
async fn af_with_callback(mut args: AfArgs) -> (akma_af::app::RunningAf, u16) {
    let port = free_port();
    args.dev = true;
    args.listen = Some("127.0.0.1:0".into());
    args.notify_listen = Some(format!("127.0.0.1:{port}"));
    args.notify_url = Some(format!("http://127.0.0.1:{port}"));
    let af = start(&resolve(&args).unwrap(), sample_router())
        .await
        .unwrap();
    (af, port)
}

/// A Ua* connector offering HTTP/1.1 only (an idle session then ends at the AF's shutdown).
fn http1() -> UaConnector {
    UaConnector::new(ConnectorConfig {
        alpn: vec![b"http/1.1".to_vec()],
        ..ConnectorConfig::default()
    })
    .unwrap()
}

/// Turns the subscriber's `akma` flag off through the UDM's provisioning.
async fn withdraw_akma(net: &Network, fixture: &SubscriberFixture<'_>) {
    let mut withdrawn = fixture.subscriber().unwrap();
    withdrawn.akma = false;
    net.udm
        .udm()
        .provision(vec![withdrawn], true)
        .await
        .unwrap();
}

/// The AF closes the session within 10 s.
async fn assert_closed(tls: &mut (impl tokio::io::AsyncRead + Unpin)) {
    let mut buf = [0u8; 64];
    let closed = tokio::time::timeout(Duration::from_secs(10), tls.read(&mut buf)).await;
    assert!(
        matches!(closed, Ok(Ok(0)) | Ok(Err(_))),
        "the session was not closed: {closed:?}"
    );
}

async fn wait_for(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

//= test 33535-7.1-service-disable-uri, 33535-7.1-service-disable-notification, 33535-7.1-af-acts-on-service-disable, 29535-notify-service-disablement
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withdrawing_akma_notifies_the_af_which_drops_keys_and_closes_sessions() {
    let (net, nas, fixture) = network().await;
    let (af, port) = af_with_callback(AfArgs {
        fqdn: Some(AF.into()),
        aanf: Some(net.aanf_api_root()),
        ..Default::default()
    })
    .await;
    assert_eq!(af.notify_addr.unwrap().port(), port);
    assert!(af
        .listening_line()
        .contains(&format!("notify=127.0.0.1:{port}")));
    let disable = af.service_disable.clone().unwrap();
    let notif_uri = disable.notif_uri();
    assert!(
        notif_uri.starts_with(&format!("http://127.0.0.1:{port}/akma/service-disable/")),
        "{notif_uri}"
    );

    // A Ua* session (HTTP/1.1, idle): the AF fetched K_AF with its notifUri.
    let fqdn = AfFqdn::parse(AF).unwrap();
    let connector = http1();
    let api = nas.akma_api();
    let tcp = tokio::net::TcpStream::connect(af.addr).await.unwrap();
    let (mut tls, _) = connector.connect(&api, &fqdn, tcp).await.unwrap();
    let a_kid = api.current_a_kid().unwrap();
    assert_eq!(af.keys.entries(), 1);
    let aanf = metrics_of!(net.aanf).await;
    let subs = akma_aanf::metrics::DISABLE_SUBSCRIPTIONS_TOTAL;
    assert_eq!(sample(&aanf, subs, ""), 1, "{aanf}");
    // The session stays open while the service does.
    let mut buf = [0u8; 64];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), tls.read(&mut buf))
            .await
            .is_err(),
        "the session closed by itself"
    );

    // The UDM's akma flag goes off through provisioning.
    withdraw_akma(&net, &fixture).await;
    assert_eq!(net.udm.udm().withdrawals(), 1);

    // The AAnF notifies; the AF drops the key and closes the session.
    wait_for("the AF's notification", || disable.received() == 1).await;
    assert_eq!(af.keys.entries(), 0, "the A-KID's key is dropped");
    assert_closed(&mut tls).await;
    assert_eq!(disable.revocations().revoked_count(), 1);
    let notices = akma_aanf::metrics::DISABLE_NOTIFICATIONS_TOTAL;
    let aanf_addr = net.aanf.ops_addr.unwrap_or(net.aanf.addr);
    let aanf = common::sample_reaches(aanf_addr, notices, "result=\"delivered\"", 1).await;
    assert_eq!(sample(&aanf, notices, "result=\"abandoned\""), 0, "{aanf}");
    // The A-KID is gone: a new session is refused (the AAnF answers 204).
    let tcp = tokio::net::TcpStream::connect(af.addr).await.unwrap();
    assert!(connector.connect(&api, &fqdn, tcp).await.is_err());
    let status = reqwest::Client::new()
        .post(format!(
            "{}/naanf-akma/v1/retrieve-applicationkey",
            net.aanf_api_root()
        ))
        .json(&json!({"afId": AF, "aKId": a_kid.as_str()}))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 204);
    // A forged notification (another token) is 404 and drops nothing.
    let forged = reqwest::Client::new()
        .post(format!(
            "http://127.0.0.1:{port}/akma/service-disable/{}",
            "00".repeat(16)
        ))
        .json(&json!({"aKId": a_kid.as_str()}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    assert_eq!(disable.received(), 1);
    assert_eq!(disable.refused(), 1);
    af.shutdown().await.unwrap();
    net.shutdown().await.unwrap();
}

//= test 33535-7.1-service-disable-uri
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_elsewhere_is_refused_and_changes_nothing() {
    let (net, nas, _fixture) = network().await;
    let a_kid = nas.akma_api().current_a_kid().unwrap();
    let http = reqwest::Client::new();
    let url = format!(
        "{}/naanf-akma/v1/retrieve-applicationkey",
        net.aanf_api_root()
    );
    let retrieve = |body: Value| {
        let (http, url) = (http.clone(), url.clone());
        async move { common::post_json(&http, &url, &body).await }
    };
    for bad in [
        "http://evil.example.net/x",
        "http://192.0.2.1/x",
        "https://app.example.com.evil.example/x",
        "ftp://app.example.com/x",
    ] {
        let (s, v) = retrieve(json!({"afId": AF, "aKId": a_kid.as_str(), "notifUri": bad})).await;
        assert_eq!(s, 400, "{bad}: {v}");
        assert_eq!(v["cause"], "OPTIONAL_IE_INCORRECT", "{v}");
        assert_eq!(v["invalidParams"][0]["param"], "/notifUri", "{v}");
        assert!(v.get("kaf").is_none());
    }
    let aanf = metrics_of!(net.aanf).await;
    let subs = akma_aanf::metrics::DISABLE_SUBSCRIPTIONS_TOTAL;
    assert_eq!(sample(&aanf, subs, ""), 0, "nothing stored: {aanf}");
    // The AF's own FQDN passes the host rule, but an https:// callback needs a [client] ca
    // to check the AF's certificate, which this development AAnF lacks: said so, precisely.
    let (s, v) = retrieve(json!({"afId": AF, "aKId": a_kid.as_str(),
                                   "notifUri": "https://app.example.com:9443/akma/service-disable/t"}))
    .await;
    assert_eq!(s, 400, "{v}");
    let reason = v["invalidParams"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("`ca`"), "{v}");
    // Development mode takes loopback callbacks (the peer rule: http:// to loopback only).
    let (s, v) = retrieve(json!({"afId": AF, "aKId": a_kid.as_str(),
                                   "notifUri": "http://127.0.0.1:9/akma/service-disable/t"}))
    .await;
    assert_eq!(s, 200, "{v}");
    let aanf = metrics_of!(net.aanf).await;
    assert_eq!(sample(&aanf, subs, ""), 1, "{aanf}");
    net.shutdown().await.unwrap();
}

/// The AF outside the operator's network, and its client id at the NEF.
const SHOP: &str = "shop.example.net";
const SHOP_ID: &str = "shop";

//= test 29522-service-disable-notif
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_af_is_notified_through_the_nef() {
    let (net, nas, fixture) = network_with(&format!(
        "[[af]]\nfqdn = \"{SHOP}\"\nua_protocols = [\"0100000007\"]\nallow_supi = true\nallow_gpsi = true\n"
    ))
    .await;
    // A development NEF with the outside AF in its registry (secret hashed, as in production).
    let dir = tempfile::tempdir().unwrap();
    let secret = "correct-horse-battery-staple-0123456789";
    let secret_file = dir.path().join("shop.secret");
    akma_nf_host::kek::write_private(&secret_file, &format!("{secret}\n")).unwrap();
    let hash = akma_nef::token::hash_secret(&zeroize::Zeroizing::new(secret.to_owned())).unwrap();
    let nef_toml = dir.path().join("nef.toml");
    std::fs::write(
        &nef_toml,
        format!("[[af]]\nclient_id = \"{SHOP_ID}\"\nclient_secret_hash = \"{hash}\"\nfqdns = [\"{SHOP}\"]\n"),
    )
    .unwrap();
    let nef = akma_nef::server::start(
        akma_nef::server::resolve(&akma_nef::server::NefArgs {
            host: akma_nef::server::HostArgs {
                config: Some(nef_toml),
                dev: true,
                listen: Some("127.0.0.1:0".into()),
                data: Some(dir.path().join("nef-data")),
                ..Default::default()
            },
            aanf: Some(net.aanf_api_root()),
            udm: Some(net.udm_api_root()),
            dev_af_fqdns: Vec::new(),
        })
        .unwrap(),
    )
    .await
    .unwrap();
    let (af, _) = af_with_callback(AfArgs {
        fqdn: Some(SHOP.into()),
        nef: Some(format!("http://{}", nef.addr)),
        client_id: Some(SHOP_ID.into()),
        client_secret_file: Some(secret_file),
        ..Default::default()
    })
    .await;
    let disable = af.service_disable.clone().unwrap();

    // The UE's session: K_AF through the NEF, which gave the AAnF its relay URI instead of
    // the AF's callback.
    let fqdn = AfFqdn::parse(SHOP).unwrap();
    let connector = http1();
    let api = nas.akma_api();
    let a_kid = api.current_a_kid().unwrap();
    let tcp = tokio::net::TcpStream::connect(af.addr).await.unwrap();
    let (mut tls, _) = connector.connect(&api, &fqdn, tcp).await.unwrap();
    assert_eq!(af.keys.entries(), 1);
    let aanf = metrics_of!(net.aanf).await;
    let subs = akma_aanf::metrics::DISABLE_SUBSCRIPTIONS_TOTAL;
    assert_eq!(sample(&aanf, subs, ""), 1, "{aanf}");

    withdraw_akma(&net, &fixture).await;
    wait_for("the outside AF's notification", || disable.received() == 1).await;
    assert_eq!(af.keys.entries(), 0);
    assert_closed(&mut tls).await;
    // The hop through the NEF is counted there; the AAnF counts one delivery.
    common::sample_reaches(
        nef.ops_addr.unwrap_or(nef.addr),
        akma_nef::metrics::REQUESTS_TOTAL,
        "operation=\"service-disable-relay\",status=\"204\"",
        1,
    )
    .await;
    common::sample_reaches(
        net.aanf.ops_addr.unwrap_or(net.aanf.addr),
        akma_aanf::metrics::DISABLE_NOTIFICATIONS_TOTAL,
        "result=\"delivered\"",
        1,
    )
    .await;
    // A relay URI that is not the NEF's own is 404 and relays nothing.
    let forged = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
        .post(format!(
            "http://{}/nnef-akma-relay/v1/service-disable/eA.eA",
            nef.addr
        ))
        .json(&json!({"aKId": a_kid.as_str()}))
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 404);
    assert_eq!(disable.received(), 1);
    af.shutdown().await.unwrap();
    nef.shutdown().await.unwrap();
    net.shutdown().await.unwrap();
}
