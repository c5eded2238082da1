//! run_load against real servers on loopback ports chosen at run time.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_loadgen::{
    run_load, spawn_baseline, LoadConfig, LoadError, RequestSpec, BASELINE_PATH, CONNECT_TIMEOUT,
    IN_FLIGHT_GRACE,
};
use bytes::Bytes;
use tokio::net::TcpListener;

/// A liveness bound for tests (not a performance assertion): a run that should stop by
/// itself but has not after this long is a hang.
async fn must_finish<T>(limit: Duration, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(limit, f)
        .await
        .unwrap_or_else(|_| panic!("load run did not stop by itself within {limit:?}"))
}

fn cfg(addr: std::net::SocketAddr) -> LoadConfig {
    LoadConfig {
        target: addr,
        connections: 2,
        concurrency_per_connection: 16,
        warmup: Duration::from_millis(200),
        duration: Duration::from_secs(1),
        max_requests: None,
        expected_status: vec![200],
    }
}

fn baseline_request() -> impl Fn(u64) -> RequestSpec + Send + Sync + 'static {
    let body = Bytes::from_static(br#"{"aKId":"rid0.key@example.com","afId":"af1"}"#);
    move |_n| RequestSpec::post_json(BASELINE_PATH, body.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_two_connections_sixteen_streams() {
    const BODY_LEN: usize = 256;
    let (addr, server) = spawn_baseline(BODY_LEN).await.unwrap();
    let report = must_finish(
        Duration::from_secs(30),
        run_load(cfg(addr), baseline_request()),
    )
    .await
    .unwrap();
    eprintln!("{report}");
    assert!(report.requests > 0, "{report}");
    assert_eq!(report.by_status.len(), 1, "{report}");
    assert_eq!(report.by_status[&200], report.requests, "{report}");
    assert_eq!(report.unexpected, 0);
    assert_eq!(report.errors, 0);
    assert_eq!(report.response_bytes, report.requests * BODY_LEN as u64);
    // Not a performance assertion: a loopback HTTP/2 exchange through two tasks takes more
    // than a microsecond and less than the run, so these catch unit or recording mistakes.
    assert!(report.p50_us >= 1.0, "{report}");
    assert!(
        report.max_us <= report.elapsed.as_secs_f64() * 1e6 + 1e6,
        "{report}"
    );
    assert!(report.p50_us <= report.p90_us, "{report}");
    assert!(report.p90_us <= report.p99_us, "{report}");
    assert!(report.p99_us <= report.max_us, "{report}");
    assert!(report.elapsed >= Duration::from_secs(1), "{report}");
    let expected_rps = report.requests as f64 / report.elapsed.as_secs_f64();
    assert!((report.rps - expected_rps).abs() < 1e-6 * expected_rps);
    let line = report.to_string();
    assert!(line.contains("req/s") && line.contains("200×"), "{line}");
    assert!(!line.contains('\n'));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_outside_expected_are_unexpected() {
    let (addr, server) = spawn_baseline(64).await.unwrap();
    let mut c = cfg(addr);
    c.duration = Duration::from_millis(500);
    c.expected_status = vec![201, 204];
    let report = must_finish(Duration::from_secs(30), run_load(c, baseline_request()))
        .await
        .unwrap();
    assert!(report.requests > 0);
    assert_eq!(report.errors, 0);
    assert_eq!(report.by_status[&200], report.requests);
    assert_eq!(report.unexpected, report.requests, "{report}");

    // A GET on the POST-only route: 405, unexpected when only 200 is expected.
    let mut c = cfg(addr);
    c.duration = Duration::from_millis(300);
    let report = must_finish(
        Duration::from_secs(30),
        run_load(c, |_| RequestSpec::get(BASELINE_PATH)),
    )
    .await
    .unwrap();
    assert!(report.requests > 0);
    assert_eq!(report.by_status.keys().copied().collect::<Vec<_>>(), [405]);
    assert_eq!(report.unexpected, report.requests);
    drop(server); // shutdown on drop
}

/// `max_requests` counts measured requests only: warm-up requests are sent (and numbered)
/// but never count against the limit, and exactly `max_requests` are reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_requests_stops_at_exactly_that_many_measured_requests() {
    const BODY_LEN: usize = 100;
    let (addr, server) = spawn_baseline(BODY_LEN).await.unwrap();

    // With a warm-up: 500 counted, more numbers handed out.
    let mut c = cfg(addr);
    c.warmup = Duration::from_millis(300);
    c.duration = Duration::from_secs(60);
    c.max_requests = Some(500);
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let factory = {
        let seen = seen.clone();
        let make = baseline_request();
        move |n| {
            seen.lock().unwrap().insert(n);
            make(n)
        }
    };
    let report = must_finish(Duration::from_secs(30), run_load(c, factory))
        .await
        .unwrap();
    assert_eq!(report.requests, 500, "{report}");
    assert_eq!(report.by_status[&200], 500);
    assert_eq!(report.errors, 0);
    assert_eq!(report.response_bytes, 500 * BODY_LEN as u64);
    assert!(
        seen.lock().unwrap().len() > 500,
        "warm-up requests were sent too"
    );

    // Without warm-up: the factory sees exactly the numbers 0..500, each once.
    let mut c = cfg(addr);
    c.warmup = Duration::ZERO;
    c.duration = Duration::from_secs(60);
    c.max_requests = Some(500);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let factory = {
        let seen = seen.clone();
        let make = baseline_request();
        move |n| {
            seen.lock().unwrap().push(n);
            make(n)
        }
    };
    let report = must_finish(Duration::from_secs(30), run_load(c, factory))
        .await
        .unwrap();
    assert_eq!(report.requests, 500);
    let mut numbers = seen.lock().unwrap().clone();
    numbers.sort_unstable();
    assert_eq!(numbers, (0..500).collect::<Vec<u64>>());
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_port_is_an_error_not_a_hang() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let result = must_finish(
        CONNECT_TIMEOUT + Duration::from_secs(2),
        run_load(cfg(addr), baseline_request()),
    )
    .await;
    match result {
        Err(LoadError::Connect { addr: a, source }) => {
            assert_eq!(a, addr);
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected a connect error, got {other:?}"),
    }
}

/// A server that accepts TCP connections and closes them at once: either the handshake
/// fails or every request fails; the run ends by itself and no response is counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_closing_connections_gives_errors_not_responses() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let closer = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    let mut c = cfg(addr);
    c.warmup = Duration::ZERO;
    let result = must_finish(Duration::from_secs(30), run_load(c, baseline_request())).await;
    match result {
        Err(LoadError::Handshake { .. }) => {}
        Ok(report) => {
            assert!(report.by_status.is_empty(), "{report}");
            assert_eq!(report.requests, report.errors);
        }
        Err(other) => panic!("unexpected error {other}"),
    }
    closer.abort();
}

/// A server that accepts and never answers: in-flight requests are abandoned after the
/// grace period and counted as errors, so the run still ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_server_requests_are_abandoned_after_grace() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = listener.accept().await {
            held.push(s);
        }
    });
    let c = LoadConfig {
        target: addr,
        connections: 1,
        concurrency_per_connection: 4,
        warmup: Duration::ZERO,
        duration: Duration::from_millis(200),
        max_requests: None,
        expected_status: vec![200],
    };
    let report = must_finish(
        Duration::from_millis(200) + IN_FLIGHT_GRACE + Duration::from_secs(10),
        run_load(c, baseline_request()),
    )
    .await
    .unwrap();
    assert_eq!(report.requests, 4, "{report}");
    assert_eq!(report.errors, 4);
    assert!(report.by_status.is_empty());
    assert_eq!(report.rps, 0.0);
    holder.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_request_from_factory_is_reported() {
    let (addr, _server) = spawn_baseline(64).await.unwrap();
    let result = must_finish(
        Duration::from_secs(30),
        run_load(cfg(addr), |_| RequestSpec::get("/bad path with spaces")),
    )
    .await;
    assert!(
        matches!(result, Err(LoadError::InvalidRequest { .. })),
        "{result:?}"
    );
}

#[tokio::test]
async fn invalid_config_is_rejected() {
    let addr = "127.0.0.1:9".parse().unwrap();
    for c in [
        LoadConfig {
            connections: 0,
            ..LoadConfig::new(addr)
        },
        LoadConfig {
            concurrency_per_connection: 0,
            ..LoadConfig::new(addr)
        },
        LoadConfig {
            duration: Duration::ZERO,
            ..LoadConfig::new(addr)
        },
    ] {
        let r = run_load(c, |_| RequestSpec::get("/")).await;
        assert!(matches!(r, Err(LoadError::InvalidConfig(_))), "{r:?}");
    }
}

/// The baseline also speaks HTTP/1.1 on the same port (like the real servers).
#[tokio::test]
async fn baseline_speaks_http1_too() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (addr, server) = spawn_baseline(50).await.unwrap();
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        b"POST /baseline HTTP/1.1\r\nhost: x\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}",
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(text
        .to_ascii_lowercase()
        .contains("content-type: application/json"));
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    assert_eq!(body.len(), 50);
    serde_json::from_str::<serde_json::Value>(body).unwrap();
    server.shutdown().await;
}
