//! No client secret, token, K_AF or SUPI in the NEF's logs, at TRACE, across successes and
//! refusals (its own test binary: it installs the process's global subscriber).
#![allow(clippy::unwrap_used)] // test code

mod common;

use common::*;
use serde_json::json;

#[derive(Clone, Default)]
struct LogBuf(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn secrets_never_reach_the_logs() {
    let buf = LogBuf::default();
    let w2 = buf.clone();
    tracing::subscriber::set_global_default(
        tracing_subscriber::fmt()
            .with_env_filter("trace")
            .with_ansi(false)
            .with_writer(move || w2.clone())
            .finish(),
    )
    .unwrap();
    let w = world_with(None).await;
    let dev_secret = std::fs::read_to_string(w.data().join("dev-af.secret")).unwrap();
    let dev_secret = dev_secret.trim().to_owned();
    let root = w.root();
    // Right and wrong secrets, a token, a retrieve, a refusal.
    let t = token(&w.http, &root, "dev-af", &dev_secret).await;
    let bad = token_response(&w.http, &root, "dev-af", "wrong-secret-xyz", None).await;
    assert_eq!(bad.status(), 401);
    let (s, _, v) = retrieve(
        &w.http,
        &w.retrieve_url(),
        &t,
        &json!({"afId": A_FQDN, "aKId": w.a_kid()}),
    )
    .await;
    assert_eq!(s, 200);
    let kaf = v["kaf"].as_str().unwrap().to_owned();
    let (s, _, _) = retrieve(
        &w.http,
        &w.retrieve_url(),
        &t,
        &json!({"afId": "other.example", "aKId": w.a_kid()}),
    )
    .await;
    assert_eq!(s, 403);
    let logs = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("access token issued"),
        "logging works: {logs}"
    );
    for (what, needle) in [
        ("the client secret", dev_secret.as_str()),
        ("the wrong secret", "wrong-secret-xyz"),
        ("the access token", t.as_str()),
        ("K_AF", kaf.as_str()),
    ] {
        assert!(!logs.contains(needle), "{what} is in the logs");
    }
    // The signature part of the token alone is not there either.
    let sig = t.rsplit('.').next().unwrap();
    assert!(!logs.contains(sig));
}
