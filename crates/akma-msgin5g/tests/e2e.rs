//! End to end: a real dev AAnF, the msgin5g server over real Ua* TLS 1.3-PSK, UE clients.
#![allow(clippy::unwrap_used)]

use std::net::SocketAddr;
use std::path::Path;

use akma_af::app::AfArgs;
use akma_core::ids::{AfFqdn, Gpsi, Supi};
use akma_msgin5g::app::{resolve, start, Msgin5gArgs, RunningMsgin5g};
use akma_msgin5g::client::{ClientError, Msgin5gClient};
use akma_msgin5g::demo::{self, DemoUe};
use akma_msgin5g::metrics::Refusal;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_ua::client::{ConnectorConfig, UaConnector};
use akma_ua::http::Request;

const FQDN: &str = "msgin5g.example.com";

struct World {
    _aanf: akma_aanf::server::Running,
    naanf: NaanfClient,
    aanf_root: String,
    fqdn: AfFqdn,
}

async fn world(dir: &Path, allow_gpsi: bool) -> World {
    let fqdn = AfFqdn::parse(FQDN).unwrap();
    let mut cfg = demo::aanf_af_entry(&fqdn);
    if !allow_gpsi {
        cfg = cfg.replace("allow_gpsi = true", "allow_gpsi = false");
    }
    let path = dir.join("aanf.toml");
    std::fs::write(&path, cfg).unwrap();
    let aanf = akma_sim::network::dev_aanf_with(dir.join("aanf"), Some(path))
        .await
        .unwrap();
    let aanf_root = format!("http://{}", aanf.addr);
    let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), aanf_root.clone());
    World {
        _aanf: aanf,
        naanf,
        aanf_root,
        fqdn,
    }
}

async fn server(w: &World, data: &Path) -> RunningMsgin5g {
    let args = Msgin5gArgs {
        af: AfArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            ops_listen: Some("127.0.0.1:0".into()),
            aanf: Some(w.aanf_root.clone()),
            ..Default::default()
        },
        data: data.to_owned(),
        max_body: 64,
        mailbox_max: 3,
    };
    let (s, limits) = resolve(&args).unwrap();
    start(&s, &args.data, limits).await.unwrap()
}

fn ue(name: &'static str, i: u8) -> DemoUe {
    let supi = Supi::from_imsi_digits(&format!("9017000000002{i:02}")).unwrap();
    let gpsi = Gpsi::parse(&format!("msisdn-4477009002{i:02}")).unwrap();
    DemoUe::new(name, &supi, gpsi, i)
}

async fn connect(w: &World, addr: SocketAddr, ue: &DemoUe) -> Msgin5gClient {
    let c = UaConnector::new(ConnectorConfig::default()).unwrap();
    Msgin5gClient::connect(&c, &ue.keys, &w.fqdn, addr)
        .await
        .unwrap()
}

fn status(e: ClientError) -> (u16, String) {
    match e {
        ClientError::Refused { status, cause, .. } => (status, cause),
        other => panic!("not a refusal: {other}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_ues_exchange_a_message_and_cannot_touch_each_others() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), true).await;
    let srv = server(&w, &dir.path().join("msg")).await;
    let (a, b, c) = (ue("A", 1), ue("B", 2), ue("C", 3));
    for u in [&a, &b, &c] {
        demo::register(&w.naanf, u).await.unwrap();
    }
    let mut ca = connect(&w, srv.af.addr, &a).await;
    let mut cb = connect(&w, srv.af.addr, &b).await;
    let mut cc = connect(&w, srv.af.addr, &c).await;
    assert_eq!(ca.connected().alpn.as_deref(), Some(&b"h2"[..]));

    let id1 = ca.send(&b.gpsi, "first").await.unwrap();
    let id2 = ca.send(&b.gpsi, "second").await.unwrap();
    let cid = ca.send(&c.gpsi, "for C").await.unwrap();

    // B sees its two, oldest first, from A; fetching does not remove them.
    for _ in 0..2 {
        let inbox = cb.fetch(None).await.unwrap();
        let got: Vec<_> = inbox
            .messages
            .iter()
            .map(|m| (m.id.clone(), m.from.as_str(), m.body.as_str()))
            .collect();
        assert_eq!(
            got,
            vec![
                (id1.clone(), "msisdn-447700900201", "first"),
                (id2.clone(), "msisdn-447700900201", "second")
            ]
        );
        assert!(!inbox.more);
    }
    let page = cb.fetch(Some(1)).await.unwrap();
    assert_eq!((page.messages.len(), page.more), (1, true));
    assert!(ca.fetch(None).await.unwrap().messages.is_empty());

    // B cannot ack or delete C's message: 404, as for an id that never existed.
    assert_eq!(
        status(cb.ack(std::slice::from_ref(&cid)).await.unwrap_err()),
        (404, "UNKNOWN_MESSAGE".into())
    );
    assert_eq!(status(cb.delete(cid.as_str()).await.unwrap_err()).0, 404);
    assert_eq!(status(cb.delete(&"0".repeat(32)).await.unwrap_err()).0, 404);
    // All or nothing: one foreign id keeps B's own in place.
    assert_eq!(
        status(cb.ack(&[id1.clone(), cid.clone()]).await.unwrap_err()).0,
        404
    );
    assert_eq!(cb.fetch(None).await.unwrap().messages.len(), 2);
    assert_eq!(cc.fetch(None).await.unwrap().messages[0].id, cid);

    assert_eq!(cb.ack(std::slice::from_ref(&id1)).await.unwrap(), 1);
    cb.delete(id2.as_str()).await.unwrap();
    assert!(cb.fetch(None).await.unwrap().messages.is_empty());
    // Acknowledged twice: gone.
    assert_eq!(status(cb.ack(&[id1]).await.unwrap_err()).0, 404);

    let m = &srv.service.metrics;
    assert_eq!(m.totals().0, 3);
    assert_eq!(m.totals().2, 2);
    assert!(m.refusals(Refusal::UnknownId) >= 5);

    // The figures are on the ops listener.
    let ops = srv.af.ops_addr.unwrap();
    let text = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("msgin5g_messages_stored_total 3"), "{text}");
    assert!(
        text.contains("msgin5g_messages_delivered_total 2"),
        "{text}"
    );
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn bad_requests_are_refused_precisely() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), true).await;
    let srv = server(&w, &dir.path().join("msg")).await;
    let (a, b) = (ue("A", 4), ue("B", 5));
    demo::register(&w.naanf, &a).await.unwrap();
    let mut ca = connect(&w, srv.af.addr, &a).await;

    let e = ca.send_raw("msisdn-12", "hi").await.unwrap_err();
    match e {
        ClientError::Refused {
            status,
            cause,
            detail,
        } => {
            assert_eq!((status, cause.as_str()), (400, "INVALID_GPSI"));
            assert!(detail.contains("5 to 15 digits"), "{detail}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(
        status(ca.send_raw("imsi-001010000000001", "hi").await.unwrap_err()).0,
        400
    );
    assert_eq!(
        status(ca.send(&b.gpsi, &"x".repeat(65)).await.unwrap_err()),
        (413, "TOO_LARGE".into())
    );
    assert_eq!(status(ca.send(&b.gpsi, "").await.unwrap_err()).0, 400);
    // The mailbox bound (3 here): the fourth is 507, nothing stored.
    for i in 0..3 {
        ca.send(&b.gpsi, &format!("m{i}")).await.unwrap();
    }
    assert_eq!(
        status(ca.send(&b.gpsi, "m3").await.unwrap_err()),
        (507, "MAILBOX_FULL".into())
    );
    let a2 = ca
        .raw(Request::new(http::Method::POST, "/messages"))
        .await
        .unwrap();
    assert_eq!(a2.status, 415);
    let bad = ca
        .raw(Request::new(http::Method::POST, "/messages").header(
            http::header::CONTENT_TYPE,
            "application/json".parse().unwrap(),
        ))
        .await
        .unwrap();
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.headers.get(http::header::CONTENT_TYPE).unwrap(),
        "application/problem+json"
    );
    let v: serde_json::Value = serde_json::from_slice(&bad.body).unwrap();
    assert_eq!(v["cause"], "INVALID_MSG_FORMAT");
    assert_eq!(status(ca.fetch(Some(0)).await.unwrap_err()).0, 400);
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_without_a_gpsi_is_refused_with_403() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), false).await;
    let srv = server(&w, &dir.path().join("msg")).await;
    let (a, b) = (ue("A", 6), ue("B", 7));
    demo::register(&w.naanf, &a).await.unwrap();
    let mut ca = connect(&w, srv.af.addr, &a).await;
    match ca.send(&b.gpsi, "hi").await.unwrap_err() {
        ClientError::Refused {
            status,
            cause,
            detail,
        } => {
            assert_eq!((status, cause.as_str()), (403, "NO_GPSI"));
            assert!(detail.contains("GPSI"), "{detail}");
        }
        other => panic!("{other}"),
    }
    assert_eq!(status(ca.fetch(None).await.unwrap_err()).0, 403);
    assert_eq!(srv.service.metrics.refusals(Refusal::NoGpsi), 2);
    srv.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn messages_survive_a_restart_and_the_demo_runs() {
    let dir = tempfile::tempdir().unwrap();
    let w = world(dir.path(), true).await;
    let data = dir.path().join("msg");
    let (a, b) = (ue("A", 8), ue("B", 9));
    demo::register(&w.naanf, &a).await.unwrap();
    demo::register(&w.naanf, &b).await.unwrap();
    let srv = server(&w, &data).await;
    let mut ca = connect(&w, srv.af.addr, &a).await;
    let id = ca.send(&b.gpsi, "kept").await.unwrap();
    drop(ca);
    srv.shutdown().await.unwrap();
    let srv = server(&w, &data).await;
    let mut cb = connect(&w, srv.af.addr, &b).await;
    let inbox = cb.fetch(None).await.unwrap();
    assert_eq!(inbox.messages.len(), 1);
    assert_eq!(
        (&inbox.messages[0].id, inbox.messages[0].body.as_str()),
        (&id, "kept")
    );

    let steps = demo::run(&w.naanf, srv.af.addr, &w.fqdn).await.unwrap();
    assert_eq!(steps.len(), 8, "{steps:?}");
    assert!(
        steps[5].detail.contains("hello from A over AKMA"),
        "{steps:?}"
    );
    assert_eq!(steps[7].detail, "empty: delivered");
    srv.shutdown().await.unwrap();
}
