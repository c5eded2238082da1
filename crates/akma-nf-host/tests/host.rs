//! The host builder: binding, the ops endpoints on both ports, background tasks and stop
//! hooks at shutdown, the listening line, and the flags' resolution.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use akma_nf_host::{
    HostArgs, HostConfig, HostSettings, NfHost, NfKind, NfOps, NotReady, SbiSecurity,
};
use axum::routing::get;
use axum::Router;

#[derive(Debug, Clone, Copy, Default)]
struct Test;
impl NfKind for Test {
    const NAME: &'static str = "TestNF";
    const NF_TYPE: &'static str = "TEST";
    const ENV_CONFIG: &'static str = "AKMA_TESTNF_CONFIG";
    const ENV_LISTEN: &'static str = "AKMA_TESTNF_LISTEN";
    const ENV_OPS_LISTEN: &'static str = "AKMA_TESTNF_OPS_LISTEN";
    const ENV_DATA: &'static str = "AKMA_TESTNF_DATA";
    const DEV_LISTEN: &'static str = "127.0.0.1:8099";
    const DATA_REQUIRED: bool = true;
    const DEV_HELP: &'static str = "Development mode (test NF).";
}

struct Ops {
    ready: AtomicBool,
}

#[async_trait::async_trait]
impl NfOps for Ops {
    async fn ready(&self) -> Result<(), NotReady> {
        if self.ready.load(Ordering::SeqCst) {
            Ok(())
        } else {
            Err(NotReady {
                component: "store",
                source: "closed".into(),
            })
        }
    }
    async fn metrics(&self) -> String {
        "test_up 1\n".into()
    }
}

fn h2c() -> reqwest::Client {
    reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap()
}

#[tokio::test]
async fn serves_sbi_and_ops_then_drains_tasks_and_runs_stop_hooks() {
    let mut settings = HostSettings::dev("127.0.0.1:0".parse().unwrap(), None);
    settings.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    let ops = Arc::new(Ops {
        ready: AtomicBool::new(true),
    });
    let ticks = Arc::new(AtomicU64::new(0));
    let stopped = Arc::new(AtomicBool::new(false));
    let task_saw_stop = Arc::new(AtomicBool::new(false));
    let (t, s, seen) = (ticks.clone(), stopped.clone(), task_saw_stop.clone());
    let running = NfHost::new("TestNF", &settings, SbiSecurity::default())
        .sbi(akma_sbi_server::with_sbi_fallbacks(
            Router::new().route("/test/v1/x", get(|| async { "x" })),
        ))
        .ops(ops.clone())
        .every(Duration::from_millis(10), move || {
            let t = t.clone();
            async move {
                t.fetch_add(1, Ordering::SeqCst);
            }
        })
        .task(move |mut stop| async move {
            stop.wait().await;
            seen.store(true, Ordering::SeqCst);
        })
        .on_stop(async move {
            s.store(true, Ordering::SeqCst);
        })
        .start()
        .await
        .expect("starts");
    let ops_addr = running.ops_addr.expect("ops listener");
    assert_eq!(
        running.listening_line(),
        format!("listening sbi={} ops={ops_addr}", running.addr)
    );
    let c = h2c();
    let get = |url: String| {
        let c = c.clone();
        async move { c.get(url).send().await.unwrap() }
    };
    let sbi = format!("http://{}", running.addr);
    let opsu = format!("http://{ops_addr}");
    assert_eq!(
        get(format!("{sbi}/test/v1/x")).await.text().await.unwrap(),
        "x"
    );
    // Unknown paths get the SBI's ProblemDetails 404.
    assert_eq!(get(format!("{sbi}/nope")).await.status(), 404);
    for base in [&sbi, &opsu] {
        assert_eq!(
            get(format!("{base}/healthz")).await.text().await.unwrap(),
            "ok\n"
        );
        assert_eq!(
            get(format!("{base}/readyz")).await.text().await.unwrap(),
            "ready\n"
        );
        let m = get(format!("{base}/metrics")).await;
        assert_eq!(m.headers()["content-type"], "text/plain; version=0.0.4");
        // The NF's figures, then the SBI server's (issue 9 #5).
        let text = m.text().await.unwrap();
        assert!(text.starts_with("test_up 1\n# HELP akma_sbi_"), "{text}");
        assert!(text.contains("\nakma_sbi_connections_open "), "{text}");
    }
    // The SBI routes are not on the ops port.
    assert_eq!(get(format!("{opsu}/test/v1/x")).await.status(), 404);
    ops.ready.store(false, Ordering::SeqCst);
    let r = get(format!("{opsu}/readyz")).await;
    assert_eq!(r.status(), 503);
    assert!(r.text().await.unwrap().contains("store not ready: closed"));

    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(ticks.load(Ordering::SeqCst) >= 2);
    running.shutdown().await.expect("clean shutdown");
    assert!(task_saw_stop.load(Ordering::SeqCst), "the task was joined");
    assert!(stopped.load(Ordering::SeqCst), "the stop hook ran");
    let n = ticks.load(Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(ticks.load(Ordering::SeqCst), n, "the periodic task stopped");
    assert!(c.get(format!("{sbi}/healthz")).send().await.is_err());
}

#[tokio::test]
async fn a_busy_port_is_named() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let settings = HostSettings::dev(l.local_addr().unwrap(), None);
    let e = NfHost::new("TestNF", &settings, SbiSecurity::default())
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("cannot listen on 127.0.0.1:"), "{e}");
}

fn args(dev: bool, listen: Option<&str>, data: bool) -> HostArgs<Test> {
    HostArgs {
        dev,
        listen: listen.map(str::to_owned),
        data: data.then(|| "/tmp/x".into()),
        ..Default::default()
    }
}

#[test]
fn resolution_names_what_is_missing_and_what_to_do() {
    let none = HostConfig::<()>::default();
    let e = args(false, None, true)
        .resolve(&none)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--listen, AKMA_TESTNF_LISTEN or `listen`"),
        "{e}"
    );
    let e = args(false, Some("127.0.0.1:1"), false)
        .resolve(&none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("--data, AKMA_TESTNF_DATA or `data_dir`"), "{e}");
    let e = args(false, Some("localhost"), true)
        .resolve(&none)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("listen address \"localhost\" is not an IP:port"),
        "{e}"
    );
    let e = args(false, Some("127.0.0.1:1"), true)
        .resolve(&none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("[tls]"), "{e}");
    let e = args(true, Some("0.0.0.0:1"), true)
        .resolve(&none)
        .unwrap_err()
        .to_string();
    assert!(e.contains("loopback"), "{e}");
    let mut a = args(true, Some("127.0.0.1:1"), true);
    a.ops_listen = Some("192.0.2.1:1".into());
    assert!(a
        .resolve(&none)
        .unwrap_err()
        .to_string()
        .contains("loopback"));
    // Development defaults.
    let s = args(true, None, true).resolve(&none).unwrap();
    assert_eq!(s.listen.to_string(), Test::DEV_LISTEN);
    assert_eq!(s.log_format, akma_nf_host::LogFormat::Text);
    // Flags over file.
    let file = HostConfig::<()> {
        listen: Some("127.0.0.1:7".into()),
        log_format: Some(akma_nf_host::LogFormat::Json),
        ..Default::default()
    };
    let s = args(true, None, true).resolve(&file).unwrap();
    assert_eq!(s.listen.port(), 7);
    assert_eq!(s.log_format, akma_nf_host::LogFormat::Json);
    let s = args(true, Some("127.0.0.1:8"), true)
        .resolve(&file)
        .unwrap();
    assert_eq!(s.listen.port(), 8);
}

#[test]
fn the_flags_read_the_nf_s_environment_variables() {
    use clap::{CommandFactory, Parser};
    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        host: HostArgs<Test>,
    }
    let cmd = Cli::command();
    let env_of = |id: &str| {
        cmd.get_arguments()
            .find(|a| a.get_id() == id)
            .and_then(|a| a.get_env())
            .map(|e| e.to_string_lossy().into_owned())
    };
    assert_eq!(env_of("listen").as_deref(), Some("AKMA_TESTNF_LISTEN"));
    assert_eq!(env_of("config").as_deref(), Some("AKMA_TESTNF_CONFIG"));
    assert_eq!(
        env_of("ops_listen").as_deref(),
        Some("AKMA_TESTNF_OPS_LISTEN")
    );
    assert_eq!(env_of("data").as_deref(), Some("AKMA_TESTNF_DATA"));
    assert_eq!(env_of("log_format").as_deref(), Some("AKMA_LOG_FORMAT"));
    let cli = Cli::try_parse_from([
        "x",
        "--dev",
        "--listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ])
    .unwrap();
    assert!(cli.host.dev);
    assert_eq!(cli.host.log_format, Some(akma_nf_host::LogFormat::Json));
}

/// Issue 9 #7: the apiRoot handlers advertise is fixed at startup (the configured one,
/// else the bound address), never the request's Host; production refuses a wildcard
/// address without `api_root` for an NF that advertises links.
#[tokio::test]
async fn the_advertised_api_root_comes_from_configuration() {
    let app = || {
        Router::new().route(
            "/test/v1/root",
            get(|req: axum::extract::Request| async move {
                akma_nf_host::api_root::api_root(None, &req)
            }),
        )
    };
    let settings = HostSettings::dev("127.0.0.1:0".parse().unwrap(), None);
    let running = NfHost::new("TestNF", &settings, SbiSecurity::default())
        .sbi(app())
        .api_root(None)
        .start()
        .await
        .unwrap();
    let r = akma_sbi_server::test_pki::http1_client()
        .get(format!("http://{}/test/v1/root", running.addr))
        .header("host", "evil.example:1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), format!("http://{}", running.addr));
    running.shutdown().await.unwrap();

    let mut prod = settings.clone();
    prod.dev = false;
    prod.listen = "0.0.0.0:0".parse().unwrap();
    let e = NfHost::new("TestNF", &prod, SbiSecurity::default())
        .sbi(app())
        .api_root(None)
        .start()
        .await
        .unwrap_err();
    assert!(
        matches!(e, akma_nf_host::HostError::ApiRootRequired { .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("api_root"), "{e}");
    let running = NfHost::new("TestNF", &prod, SbiSecurity::default())
        .sbi(app())
        .api_root(Some("https://nf.example:8443".into()))
        .start()
        .await
        .unwrap();
    let r = akma_sbi_server::test_pki::http1_client()
        .get(format!(
            "http://127.0.0.1:{}/test/v1/root",
            running.addr.port()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "https://nf.example:8443");
    running.shutdown().await.unwrap();
}

const CLIENT_NF_ID: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

/// Issue 9 #11: in production (mutual TLS) `/healthz`, `/readyz` and `/metrics` are not on
/// the SBI port, where any consumer certificate would read them; they are on the ops
/// listener, and `/metrics` there carries the SBI server's figures (issue 9 #5: handshake
/// failures by reason).
#[tokio::test]
async fn production_serves_the_ops_endpoints_only_on_the_ops_listener() {
    let pki = akma_sbi_server::test_pki::TestPki::new();
    let mut settings = HostSettings::dev("127.0.0.1:0".parse().unwrap(), None);
    settings.dev = false;
    settings.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    let security = SbiSecurity {
        tls: Some(pki.mtls_server_config()),
        ..SbiSecurity::default()
    };
    let running = NfHost::new("TestNF", &settings, security)
        .sbi(akma_sbi_server::with_sbi_fallbacks(
            Router::new().route("/test/v1/x", get(|| async { "x" })),
        ))
        .ops(Arc::new(Ops {
            ready: AtomicBool::new(true),
        }))
        .start()
        .await
        .expect("starts");
    let ops_addr = running.ops_addr.expect("ops listener");
    let port = running.addr.port();
    let consumer = pki.reqwest_client(Some(&pki.client_cert(CLIENT_NF_ID, &[])));
    let sbi = format!("https://localhost:{port}");
    let r = consumer
        .get(format!("{sbi}/test/v1/x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "x");
    for p in ["/metrics", "/healthz", "/readyz"] {
        let r = consumer.get(format!("{sbi}{p}")).send().await.unwrap();
        assert_eq!(r.status(), 404, "{p} on the mTLS SBI port");
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body = r.text().await.unwrap();
        assert!(
            body.contains("RESOURCE_URI_STRUCTURE_NOT_FOUND") && !body.contains("test_up"),
            "{body}"
        );
    }
    // A client without a certificate fails its handshake: counted.
    let _ = pki
        .reqwest_client(None)
        .get(format!("{sbi}/test/v1/x"))
        .send()
        .await;
    let c = h2c();
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = c
            .get(format!("http://{ops_addr}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("akma_sbi_tls_handshake_failures_total{reason=\"certificate\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(metrics.starts_with("test_up 1\n"), "{metrics}");
    assert!(
        metrics.contains("akma_sbi_tls_handshake_failures_total{reason=\"certificate\"} 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("akma_sbi_connections_open"), "{metrics}");
    assert_eq!(
        c.get(format!("http://{ops_addr}/readyz"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
        "ready\n"
    );
    running.shutdown().await.expect("clean shutdown");
}

/// Issue 9 #5: `[limits]` of the configuration file reaches the server (here, a short
/// idle timeout closes a silent connection; the default would hold it 30 s).
#[tokio::test]
async fn the_limits_section_applies_to_the_sbi_listener() {
    let table: toml::Table = toml::from_str("[limits]\nidle_timeout_ms = 300").unwrap();
    let config = HostConfig::<()>::from_rest(table).unwrap();
    let settings = HostSettings::dev("127.0.0.1:0".parse().unwrap(), None);
    let security = SbiSecurity::resolve(true, &config, "TEST").unwrap();
    let running = NfHost::new("TestNF", &settings, security)
        .start()
        .await
        .expect("starts");
    let mut silent = tokio::net::TcpStream::connect(running.addr).await.unwrap();
    let t0 = std::time::Instant::now();
    let mut buf = [0u8; 16];
    let n = tokio::time::timeout(
        Duration::from_secs(4),
        tokio::io::AsyncReadExt::read(&mut silent, &mut buf),
    )
    .await
    .expect("a silent connection was held past the configured idle timeout");
    assert!(matches!(n, Ok(0) | Err(_)), "{n:?}");
    assert!(t0.elapsed() >= Duration::from_millis(200));
    // Limits out of range are refused at start, naming the key.
    let bad = SbiSecurity {
        limits: akma_sbi_server::ServeLimits {
            max_connections: 0,
            ..Default::default()
        },
        ..SbiSecurity::default()
    };
    let e = NfHost::new("TestNF", &settings, bad)
        .start()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("max_connections"), "{e}");
    running.shutdown().await.expect("clean shutdown");
}

/// Issue 9 #14 (certificate revocation): `[tls] client_crls` refuses a client certificate
/// the CRL revokes, at the handshake (counted as a certificate failure), and still serves
/// another certificate of the same CA; a `client_crls` file that holds no CRL stops the
/// start, naming the file.
#[tokio::test]
async fn revoked_client_certificates_are_refused_at_the_handshake() {
    let pki = akma_sbi_server::test_pki::TestPki::new();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let server = pki.server_cert();
    std::fs::write(d.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(d.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(d.join("ca.crt"), pki.ca_pem()).unwrap();
    let good = pki.client_cert(CLIENT_NF_ID, &[]);
    let revoked = pki.client_cert("3fa85f64-5717-4562-b3fc-2c963f66afa7", &[]);
    std::fs::write(d.join("ca.crl"), pki.crl_pem(&[&revoked])).unwrap();
    let table: toml::Table = toml::from_str(
        "[tls]\ncert = \"server.crt\"\nkey = \"server.key\"\nclient_ca = \"ca.crt\"\n\
         client_crls = [\"ca.crl\"]\n",
    )
    .unwrap();
    let mut config = HostConfig::<()>::from_rest(table).unwrap();
    config.rebase(d);
    let tls = config.tls.clone().unwrap();
    assert_eq!(tls.client_crls, vec![d.join("ca.crl")]);
    let security = SbiSecurity {
        tls: Some(akma_nf_host::security::tls_config(&tls).unwrap()),
        ..SbiSecurity::default()
    };
    let mut settings = HostSettings::dev("127.0.0.1:0".parse().unwrap(), None);
    settings.dev = false;
    settings.ops_listen = Some("127.0.0.1:0".parse().unwrap());
    let running = NfHost::new("TestNF", &settings, security)
        .sbi(Router::new().route("/test/v1/x", get(|| async { "x" })))
        .start()
        .await
        .expect("starts");
    let url = format!("https://localhost:{}/test/v1/x", running.addr.port());
    let r = pki
        .reqwest_client(Some(&good))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "x");
    let refused = pki.reqwest_client(Some(&revoked)).get(&url).send().await;
    assert!(refused.is_err(), "a revoked certificate was served");
    let ops = running.ops_addr.unwrap();
    let mut metrics = String::new();
    for _ in 0..50 {
        metrics = h2c()
            .get(format!("http://{ops}/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        if metrics.contains("akma_sbi_tls_handshake_failures_total{reason=\"certificate\"} 1") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        metrics.contains("akma_sbi_tls_handshake_failures_total{reason=\"certificate\"} 1\n"),
        "{metrics}"
    );
    running.shutdown().await.expect("clean shutdown");

    // Without the CRL the same certificate is served (the refusal was the CRL's).
    let mut open = tls.clone();
    open.client_crls.clear();
    let running = NfHost::new(
        "TestNF",
        &settings,
        SbiSecurity {
            tls: Some(akma_nf_host::security::tls_config(&open).unwrap()),
            ..SbiSecurity::default()
        },
    )
    .sbi(Router::new().route("/test/v1/x", get(|| async { "x" })))
    .start()
    .await
    .expect("starts");
    let url = format!("https://localhost:{}/test/v1/x", running.addr.port());
    let r = pki
        .reqwest_client(Some(&revoked))
        .get(&url)
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "x");
    running.shutdown().await.expect("clean shutdown");

    // A CRL file with no CRL in it.
    let mut bad = tls;
    bad.client_crls = vec![d.join("ca.crt")];
    let e = akma_nf_host::security::tls_config(&bad)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("client_crls") && e.contains("ca.crt") && e.contains("no CRL"),
        "{e}"
    );
}
