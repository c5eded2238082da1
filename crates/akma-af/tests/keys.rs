//! The K_AF client against a real AAnF in development mode (h2c on a loopback port chosen at
//! run time): hits and misses, one request per missing key, no negative cache, expiry by an
//! injected clock, eviction, deadlines, refusals, figures and log lines.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use akma_aanf::server::Running;
use akma_af::keys::{KeyClient, KeyClientConfig, KeyMetricsSnapshot};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, AkmaKeys, UaProtocolId};
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_core::logref::{IdRef, LogDigestKey};
use akma_core::time::ManualClock;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_ua::keys::{KeyRefusal, KeyServer, KeySource};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

const CONFIG: &str = r#"
[[af]]
fqdn = "msgin5g.example.com"
ua_protocols = ["0100000007", "01000100a8"]
kaf_lifetime_secs = 600
allow_supi = true
"#;

async fn start_dev(dir: &Path) -> Running {
    common::dev_aanf(dir, CONFIG).await
}

fn naanf(addr: SocketAddr) -> NaanfClient {
    NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{addr}"))
}

fn keys(supi: &str, seed: u8) -> (Supi, AkmaKeys) {
    let supi = Supi::parse(supi).unwrap();
    let keys = derive_akma_keys(
        &KAusf::from_bytes([seed; 32]),
        &supi,
        &RoutingIndicator::parse("12").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    (supi, keys)
}

async fn register(r: &Running, supi: &Supi, k: &AkmaKeys) {
    let info = AkmaKeyInfo {
        supp_feat: None,
        ue_id: UeId::Supi(supi.clone()),
        a_kid: k.a_kid.clone(),
        k_akma: k.k_akma.clone(),
    };
    naanf(r.addr).register_anchor_key(&info).await.unwrap();
}

fn af(fqdn: &str) -> AfId {
    AfId::new(AfFqdn::parse(fqdn).unwrap(), UaProtocolId::TLS13_PSK)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// ApplicationKey_Get answers the AAnF counted, all statuses (its `/metrics`).
async fn aanf_retrievals(r: &Running) -> u64 {
    let text = akma_sbi_server::test_pki::h2c_client()
        .get(format!("http://{}/metrics", r.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with("aanf_requests_total{operation=\"retrieve-applicationkey\""))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

/// Waits until `cond` holds on the client's figures (fails instead of hanging forever).
async fn until(c: &KeyClient, what: &str, cond: impl Fn(&KeyMetricsSnapshot) -> bool) {
    let wait = async {
        while !cond(&c.metrics()) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(30), wait)
        .await
        .unwrap_or_else(|_| panic!("never reached: {what}: {:?}", c.metrics()));
}

/// A TCP proxy to `upstream` that passes nothing from the client on until released (the
/// answers flow freely): requests made before the release all wait at the AAnF's door.
async fn gated_proxy(upstream: SocketAddr) -> (SocketAddr, watch::Sender<bool>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        loop {
            let Ok((down, _)) = l.accept().await else {
                return;
            };
            let mut rx = rx.clone();
            tokio::spawn(async move {
                let up = TcpStream::connect(upstream).await.unwrap();
                let (mut dr, mut dw) = down.into_split();
                let (mut ur, mut uw) = up.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut ur, &mut dw).await });
                if rx.wait_for(|open| *open).await.is_ok() {
                    let _ = tokio::io::copy(&mut dr, &mut uw).await;
                }
            });
        }
    });
    (addr, tx)
}

fn cfg() -> KeyClientConfig {
    KeyClientConfig {
        fetch_timeout: Duration::from_secs(10),
        ..KeyClientConfig::default()
    }
}

#[test]
fn defaults() {
    let c = KeyClientConfig::default();
    assert_eq!(
        (c.max_entries, c.fetch_timeout, c.max_in_flight, c.anonymous),
        (100_000, Duration::from_secs(2), 1024, false)
    );
}

//= test 33535-6.2-af-requests-kaf
#[tokio::test]
async fn a_miss_fetches_the_derived_key_and_the_next_get_hits() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000001", 1);
    register(&r, &supi, &k).await;
    let client = KeyClient::new(naanf(r.addr), cfg());
    let msgin = af("msgin5g.example.com");

    let a = client.key(&k.a_kid, &msgin).await.unwrap();
    assert_eq!(
        a.kaf,
        derive_k_af(&k.k_akma, &msgin),
        "K_AF = KDF(K_AKMA, AF_ID)"
    );
    assert_eq!(a.supi.as_ref(), Some(&supi), "the AF may have the SUPI");
    let lifetime = a.expiry.unix_timestamp() - now_secs() as i64;
    assert!((590..=600).contains(&lifetime), "{lifetime}");

    let b = client.key(&k.a_kid, &msgin).await.unwrap();
    assert_eq!(b.kaf, a.kaf);
    assert_eq!(b.expiry, a.expiry);
    assert_eq!(b.supi.as_ref(), Some(&supi));
    let m = client.metrics();
    assert_eq!((m.hits, m.misses, m.fetches, m.entries), (1, 1, 1, 1));
    assert_eq!(m.fetch_seconds_count, 1);
    assert_eq!(m.refusals_total(), 0);
    assert_eq!(aanf_retrievals(&r).await, 1, "one request reached the AAnF");

    // Another AF_ID of the same A-KID is another key.
    let other = af("af.example.com");
    let c = client.key(&k.a_kid, &other).await.unwrap();
    assert_eq!(c.kaf, derive_k_af(&k.k_akma, &other));
    assert!(c.supi.is_none(), "the default policy gives no identities");
    assert_eq!(client.metrics().fetches, 2);

    // anonInd: no identities even where the policy allows them.
    let anon = KeyClient::new(
        naanf(r.addr),
        KeyClientConfig {
            anonymous: true,
            ..cfg()
        },
    );
    let d = anon.key(&k.a_kid, &msgin).await.unwrap();
    assert_eq!(d.kaf, a.kaf);
    assert!(d.supi.is_none() && d.gpsi.is_none());
    r.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_misses_make_one_request() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000002", 2);
    register(&r, &supi, &k).await;
    let (proxy, gate) = gated_proxy(r.addr).await;
    let client = KeyClient::new(naanf(proxy), cfg());
    let msgin = af("msgin5g.example.com");

    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let (c, a_kid, af) = (client.clone(), k.a_kid.clone(), msgin.clone());
            tokio::spawn(async move { c.key(&a_kid, &af).await })
        })
        .collect();
    // All 50 have missed before the one request may reach the AAnF.
    until(&client, "50 misses", |m| m.misses == 50).await;
    assert_eq!(client.metrics().fetches, 1);
    gate.send_replace(true);
    let want = derive_k_af(&k.k_akma, &msgin);
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().kaf, want);
    }
    let m = client.metrics();
    assert_eq!((m.hits, m.misses, m.fetches, m.entries), (0, 50, 1, 1));
    assert_eq!(
        aanf_retrievals(&r).await,
        1,
        "exactly one request reached the AAnF"
    );
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn waiters_of_a_dropped_leader_fetch_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000003", 3);
    register(&r, &supi, &k).await;
    let (proxy, gate) = gated_proxy(r.addr).await;
    let client = KeyClient::new(naanf(proxy), cfg());
    let msgin = af("msgin5g.example.com");
    let spawn = || {
        let (c, a_kid, af) = (client.clone(), k.a_kid.clone(), msgin.clone());
        tokio::spawn(async move { c.key(&a_kid, &af).await })
    };

    let leader = spawn();
    until(&client, "the leader's miss", |m| m.misses == 1).await;
    let waiters = [spawn(), spawn()];
    until(&client, "the waiters' misses", |m| m.misses == 3).await;
    assert_eq!(client.metrics().fetches, 1);
    leader.abort();
    assert!(leader.await.unwrap_err().is_cancelled());
    // One waiter takes over; the other waits for it.
    until(&client, "a new leader", |m| m.fetches == 2).await;
    gate.send_replace(true);
    for w in waiters {
        assert_eq!(
            w.await.unwrap().unwrap().kaf,
            derive_k_af(&k.k_akma, &msgin)
        );
    }
    let m = client.metrics();
    assert_eq!((m.misses, m.fetches, m.entries), (3, 2, 1));
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn too_many_fetches_in_flight_is_busy() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000004", 4);
    register(&r, &supi, &k).await;
    let (proxy, gate) = gated_proxy(r.addr).await;
    let client = KeyClient::new(
        naanf(proxy),
        KeyClientConfig {
            max_in_flight: 1,
            ..cfg()
        },
    );
    let first = {
        let (c, a_kid) = (client.clone(), k.a_kid.clone());
        tokio::spawn(async move { c.key(&a_kid, &af("one.example.com")).await })
    };
    until(&client, "the first miss", |m| m.misses == 1).await;
    assert_eq!(
        client
            .key(&k.a_kid, &af("two.example.com"))
            .await
            .unwrap_err(),
        KeyRefusal::Busy
    );
    gate.send_replace(true);
    assert!(first.await.unwrap().is_ok());
    // The slot is free again.
    assert!(client.key(&k.a_kid, &af("two.example.com")).await.is_ok());
    let m = client.metrics();
    assert_eq!(
        (m.fetches, m.refusals_of("busy"), m.refusals_total()),
        (2, 1, 1)
    );
    r.shutdown().await.unwrap();
}

/// Runs `f` with this thread's log lines (info and up) captured.
async fn with_logs<F: Future>(f: F) -> (F::Output, String) {
    akma_core::logref::install(LogDigestKey::from_bytes([7; 32]));
    let buf = common::LogBuf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .with_writer(move || w.clone())
        .finish();
    let _g = tracing::subscriber::set_default(sub);
    let out = f.await;
    (out, buf.text())
}

//= test 33535-6.2-aanf-no-context
#[tokio::test]
async fn an_unknown_a_kid_is_refused_and_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000005", 5);
    let client = KeyClient::new(naanf(r.addr), cfg());
    let msgin = af("msgin5g.example.com");

    let (got, logs) = with_logs(client.key(&k.a_kid, &msgin)).await;
    assert_eq!(got.unwrap_err(), KeyRefusal::UnknownAKid);
    assert_eq!(client.metrics().entries, 0, "a 204 is not cached");
    let line = logs
        .lines()
        .find(|l| l.contains("does not know this A-KID"))
        .unwrap_or_else(|| panic!("{logs}"));
    assert!(line.contains(" INFO "), "{line}");
    assert!(
        line.contains(&format!("a_kid={}", IdRef::of(k.a_kid.as_str()))),
        "{line}"
    );
    assert!(
        !logs.contains(k.a_kid.as_str()),
        "no A-KID in clear: {logs}"
    );

    // The UE has just re-authenticated: the AAnF knows it now, and so does the AF at once.
    register(&r, &supi, &k).await;
    let a = client.key(&k.a_kid, &msgin).await.unwrap();
    assert_eq!(a.kaf, derive_k_af(&k.k_akma, &msgin));
    let m = client.metrics();
    assert_eq!(
        (
            m.misses,
            m.fetches,
            m.refusals_of("unknown_akid"),
            m.entries
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(aanf_retrievals(&r).await, 2);
    r.shutdown().await.unwrap();
}

//= test 33535-6.2-kaf-expiry
#[tokio::test]
async fn an_entry_at_its_expiry_is_refetched_and_an_expired_answer_refused() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000006", 6);
    register(&r, &supi, &k).await;
    let t0 = now_secs();
    let clock = ManualClock::new(t0);
    let client = KeyClient::with_clock(naanf(r.addr), cfg(), clock.clock());
    let msgin = af("msgin5g.example.com"); // K_AF lifetime 600 s

    let a = client.key(&k.a_kid, &msgin).await.unwrap();
    let expiry = a.expiry.unix_timestamp() as u64;
    clock.set(expiry - 1);
    client.key(&k.a_kid, &msgin).await.unwrap();
    assert_eq!((client.metrics().hits, client.metrics().fetches), (1, 1));

    // At the expiry the entry is not used: refetched (the fresh answer's expiry is the
    // AAnF's now + 600 s, which may be this very second: then it is refused as expired).
    clock.set(expiry);
    match client.key(&k.a_kid, &msgin).await {
        Ok(a) => assert!(a.expiry.unix_timestamp() as u64 > expiry),
        Err(e) => assert_eq!(e, KeyRefusal::Expired),
    }
    assert_eq!(client.metrics().fetches, 2, "refetched at the expiry");

    // The AAnF's fresh answer is already past by the AF's clock 100 s ahead: refused, not
    // cached.
    clock.set(t0 + 700);
    let (got, logs) = with_logs(client.key(&k.a_kid, &msgin)).await;
    assert_eq!(got.unwrap_err(), KeyRefusal::Expired);
    assert!(
        logs.contains(" WARN ") && logs.contains("expiry already past"),
        "{logs}"
    );
    let m = client.metrics();
    assert_eq!((m.fetches, m.entries), (3, 0));
    let expired_refusals = m.refusals_of("expired");
    assert!((1..=2).contains(&expired_refusals));

    // Clocks agree again: fetched and cached.
    clock.set(t0);
    assert!(client.key(&k.a_kid, &msgin).await.is_ok());
    client.key(&k.a_kid, &msgin).await.unwrap();
    let m = client.metrics();
    assert_eq!((m.hits, m.misses, m.fetches, m.entries), (2, 4, 4, 1));
    assert_eq!(m.refusals_of("expired"), expired_refusals);
    assert_eq!(aanf_retrievals(&r).await, 4);
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_full_cache_drops_expired_entries_first_then_the_oldest() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000007", 7);
    register(&r, &supi, &k).await;
    let t0 = now_secs();
    let clock = ManualClock::new(t0);
    let client = KeyClient::with_clock(
        naanf(r.addr),
        KeyClientConfig {
            max_entries: 3,
            ..cfg()
        },
        clock.clock(),
    );
    let get = |fqdn: &'static str| {
        let (c, a_kid) = (client.clone(), k.a_kid.clone());
        async move { c.key(&a_kid, &af(fqdn)).await.unwrap() }
    };
    let fetches = || client.metrics().fetches;

    get("a.example.com").await; // 1 h
    get("msgin5g.example.com").await; // 600 s
    get("c.example.com").await; // 1 h
    assert_eq!((fetches(), client.entries()), (3, 3));
    clock.set(t0 + 700); // msgin5g's entry has expired; a and c have not
    get("d.example.com").await;
    assert_eq!((fetches(), client.entries()), (4, 3));
    get("a.example.com").await; // the oldest, still cached: the expired entry went instead
    assert_eq!(fetches(), 4);
    get("e.example.com").await; // full, nothing expired: the oldest inserted (a) goes
    assert_eq!(fetches(), 5);
    get("c.example.com").await;
    get("d.example.com").await;
    assert_eq!(fetches(), 5, "c and d still cached");
    get("a.example.com").await;
    assert_eq!((fetches(), client.entries()), (6, 3));
    let m = client.metrics();
    assert_eq!((m.hits, m.misses), (3, 6));
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn an_unreachable_aanf_is_unavailable() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    }; // closed: nothing listens there now
    let client = KeyClient::new(
        naanf(port),
        KeyClientConfig {
            fetch_timeout: Duration::from_millis(300),
            ..KeyClientConfig::default()
        },
    );
    let (_, k) = keys("imsi-001010000000008", 8);
    let (got, logs) = with_logs(client.key(&k.a_kid, &af("af.example.com"))).await;
    match got.unwrap_err() {
        KeyRefusal::Unavailable(KeyServer::Aanf, why) => assert!(
            why == "no answer" || why == "no answer within 300 ms",
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(logs.contains(" WARN ") && logs.contains("K_AF fetch from the AAnF failed"));
    assert!(!logs.contains(k.a_kid.as_str()), "{logs}");
    let m = client.metrics();
    assert_eq!(
        (m.fetches, m.entries, m.refusals_of("aanf_unavailable")),
        (1, 0, 1)
    );
}

#[tokio::test]
async fn a_silent_aanf_is_unavailable_after_the_deadline() {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    // Accepts and never reads nor answers.
    let held = tokio::spawn(async move {
        let mut conns = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            conns.push(s);
        }
    });
    let client = KeyClient::new(
        naanf(addr),
        KeyClientConfig {
            fetch_timeout: Duration::from_millis(300),
            ..KeyClientConfig::default()
        },
    );
    let (_, k) = keys("imsi-001010000000009", 9);
    let got = client.key(&k.a_kid, &af("af.example.com")).await;
    assert_eq!(
        got.unwrap_err(),
        KeyRefusal::Unavailable(KeyServer::Aanf, "no answer within 300 ms".into())
    );
    let m = client.metrics();
    assert_eq!((m.fetches, m.fetch_seconds_count, m.entries), (1, 1, 0));
    assert!(m.fetch_seconds_sum >= 0.3, "a timeout counts its deadline");
    held.abort();
}

#[tokio::test]
async fn a_refused_request_carries_status_and_cause() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000010", 10);
    register(&r, &supi, &k).await;
    let client = KeyClient::new(naanf(r.addr), cfg());
    // msgin5g is registered for TLS PSK only, not for standalone HTTP Digest.
    let digest = AfId::new(
        AfFqdn::parse("msgin5g.example.com").unwrap(),
        UaProtocolId::HTTP_DIGEST,
    );
    let (got, logs) = with_logs(client.key(&k.a_kid, &digest)).await;
    assert_eq!(
        got.unwrap_err(),
        KeyRefusal::Refused(KeyServer::Aanf, "403 AF_NOT_AUTHORIZED".into())
    );
    assert!(
        logs.contains("reason=the AAnF refused the request: 403 AF_NOT_AUTHORIZED"),
        "{logs}"
    );
    let m = client.metrics();
    assert_eq!(
        (m.fetches, m.entries, m.refusals_of("aanf_refused")),
        (1, 0, 1)
    );
    r.shutdown().await.unwrap();
}

#[tokio::test]
async fn figures_in_the_prometheus_format() {
    let dir = tempfile::tempdir().unwrap();
    let r = start_dev(dir.path()).await;
    let (supi, k) = keys("imsi-001010000000011", 11);
    register(&r, &supi, &k).await;
    let (_, unknown) = keys("imsi-001010000000012", 12);
    let client = KeyClient::new(naanf(r.addr), cfg());
    let msgin = af("msgin5g.example.com");
    for _ in 0..3 {
        client.key(&k.a_kid, &msgin).await.unwrap();
    }
    client.key(&unknown.a_kid, &msgin).await.unwrap_err();
    let kaf_hex = derive_k_af(&k.k_akma, &msgin).expose_hex().to_string();

    let mut out = String::new();
    client.render_prometheus(&mut out);
    for line in [
        "# TYPE akma_af_key_cache_hits_total counter\n",
        "\nakma_af_key_cache_hits_total 2\n",
        "\nakma_af_key_cache_misses_total 2\n",
        "\nakma_af_key_fetches_total 2\n",
        "# TYPE akma_af_key_fetch_seconds histogram\n",
        "\nakma_af_key_fetch_seconds_bucket{le=\"+Inf\"} 2\n",
        "\nakma_af_key_fetch_seconds_count 2\n",
        "\nakma_af_key_refusals_total{reason=\"unknown_akid\"} 1\n",
        "\nakma_af_key_refusals_total{reason=\"aanf_unavailable\"} 0\n",
        "\nakma_af_key_refusals_total{reason=\"aanf_refused\"} 0\n",
        "# TYPE akma_af_key_cache_entries gauge\n",
        "\nakma_af_key_cache_entries 1\n",
    ] {
        assert!(out.contains(line), "{line:?} missing in\n{out}");
    }
    assert!(out.contains("\nakma_af_key_fetch_seconds_sum "), "{out}");
    assert!(!out.contains("reason=\"other\""), "{out}");
    // An AAnF client shows no NEF labels.
    assert!(!out.contains("reason=\"nef_"), "{out}");
    // Buckets are cumulative and end at the count.
    let buckets: Vec<u64> = out
        .lines()
        .filter(|l| l.starts_with("akma_af_key_fetch_seconds_bucket"))
        .map(|l| l.rsplit(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
    assert_eq!(buckets.last(), Some(&2));
    for secret in [kaf_hex.as_str(), k.a_kid.as_str(), supi.as_str()] {
        assert!(!out.contains(secret));
    }
    assert!(!format!("{client:?}").contains(&kaf_hex));
    r.shutdown().await.unwrap();
}
