//! Issue 9 #13 and #14: AKMA contexts expire by default, and no lifetime ever becomes a
//! K_AF expiry in 1970. The AAnF's service runs over a real SQLite store with a
//! `ManualClock`.
#![allow(clippy::unwrap_used)] // test code

use std::sync::Arc;

use akma_aanf::config::{AanfConfig, AfPolicy, DEFAULT_CONTEXT_LIFETIME_SECS};
use akma_aanf::rules::Consumer;
use akma_aanf::server::{resolve, AanfArgs, HostArgs};
use akma_aanf::service::{Aanf, AanfError};
use akma_core::ids::AfFqdn;
use akma_core::time::ManualClock;
use akma_sbi_model::naanf::{AkmaAfKeyRequest, AkmaKeyInfo};
use akma_store::{AkmaStore, Kek, SqliteStore};
use serde_json::json;

const SUPI: &str = "imsi-901700000000001";
const A_KID: &str =
    "12.eWhfp5ZK5dNYHAqgYuw8ZyajHqZHEBPnd7Pps9Z8SaE@5gc.mnc070.mcc901.3gppnetwork.org";
const T0: u64 = 1_800_000_000;

fn aanf(dir: &std::path::Path, config: AanfConfig, clock: &ManualClock) -> Aanf {
    let store: Arc<dyn AkmaStore> =
        Arc::new(SqliteStore::open(dir, Kek::from_bytes([9; 32])).unwrap());
    Aanf::new(Arc::new(config), store, clock.clock())
}

async fn register(a: &Aanf) {
    let info: AkmaKeyInfo = serde_json::from_value(json!({
        "supi": SUPI,
        "aKId": A_KID,
        "kAkma": "7a5a7e4d6c8de9fa7c3ef64e4e54fe5057074fedd0366391c6e298373e2d4f24",
    }))
    .unwrap();
    a.register_anchor_key(&Consumer::Dev, info).await.unwrap();
}

fn key_request() -> AkmaAfKeyRequest {
    serde_json::from_value(json!({"afId": "app.example.com", "aKId": A_KID})).unwrap()
}

/// #14: with the default configuration (no file, as `akma aanf --dev` runs), a context
/// lives exactly [`DEFAULT_CONTEXT_LIFETIME_SECS`] (7 days), and the K_AF expiry never
/// outlives it. Before, the default was "never".
//= test 33535-6.2-aanf-no-context
#[tokio::test]
async fn a_context_registered_with_the_default_config_expires() {
    let dir = tempfile::tempdir().unwrap();
    let args = AanfArgs {
        host: HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().join("data")),
            ..Default::default()
        },
        ..Default::default()
    };
    let config = resolve(&args).unwrap().config;
    assert_eq!(DEFAULT_CONTEXT_LIFETIME_SECS, 604_800);
    assert_eq!(config.context_lifetime_secs, Some(604_800));
    let clock = ManualClock::new(T0);
    let a = aanf(dir.path(), config, &clock);
    register(&a).await;

    let data = a
        .retrieve_application_key(&Consumer::Dev, &key_request())
        .await
        .unwrap()
        .expect("live");
    assert_eq!(data.expiry.unix_timestamp(), (T0 + 3600) as i64, "1 h K_AF");

    // One hour before the end, the K_AF expiry is the context's.
    clock.set(T0 + 604_800 - 3600 + 1);
    let data = a
        .retrieve_application_key(&Consumer::Dev, &key_request())
        .await
        .unwrap()
        .expect("still live");
    assert_eq!(data.expiry.unix_timestamp(), (T0 + 604_800) as i64);

    clock.set(T0 + 604_800 + 1);
    assert!(
        a.retrieve_application_key(&Consumer::Dev, &key_request())
            .await
            .unwrap()
            .is_none(),
        "expired after 7 days: 204"
    );
}

/// #14: "never" only when configured, and then the context does not expire.
#[tokio::test]
async fn never_is_an_explicit_setting() {
    let dir = tempfile::tempdir().unwrap();
    let args = AanfArgs {
        host: HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.path().join("data")),
            ..Default::default()
        },
        context_lifetime_secs: Some("never".into()),
        ..Default::default()
    };
    let config = resolve(&args).unwrap().config;
    assert_eq!(config.context_lifetime_secs, None);
    let clock = ManualClock::new(T0);
    let a = aanf(dir.path(), config, &clock);
    register(&a).await;
    clock.set(T0 + 10 * 365 * 86_400);
    assert!(a
        .retrieve_application_key(&Consumer::Dev, &key_request())
        .await
        .unwrap()
        .is_some());

    // The flag is validated like the file: the error names it and the maximum.
    for bad in ["0", "315360001", "1e9", "forever"] {
        let args = AanfArgs {
            context_lifetime_secs: Some(bad.into()),
            ..args.clone()
        };
        let e = resolve(&args).err().unwrap().to_string();
        assert!(e.starts_with("--context-lifetime-secs"), "{bad}: {e}");
    }
}

/// #13: a K_AF lifetime past what a date can hold (a configuration built in code, which
/// the file's validation would refuse) is an error, never an expiry in 1970. Before, the
/// answer was 200 with `expiry` 1969-12-31T23:59:59Z.
#[tokio::test]
async fn an_unrepresentable_expiry_is_an_error_not_1970() {
    let dir = tempfile::tempdir().unwrap();
    let fqdn = AfFqdn::parse("app.example.com").unwrap();
    let mut config = AanfConfig::parse("context_lifetime_secs = \"never\"").unwrap();
    let mut policy = AfPolicy::dev_default(fqdn.clone());
    policy.kaf_lifetime_secs = u64::MAX;
    config.afs.insert(fqdn, policy);
    let clock = ManualClock::new(T0);
    let a = aanf(dir.path(), config, &clock);
    register(&a).await;
    match a
        .retrieve_application_key(&Consumer::Dev, &key_request())
        .await
    {
        Err(AanfError::Expiry { expiry }) => assert_eq!(expiry, u64::MAX),
        Ok(Some(d)) => panic!("answered with expiry {}", d.expiry),
        other => panic!("{other:?}"),
    }
    // And as an SBI answer: 500 SYSTEM_FAILURE.
    let e = akma_aanf::routes::to_sbi_error(AanfError::Expiry { expiry: u64::MAX });
    assert_eq!(e.status().as_u16(), 500);
}
