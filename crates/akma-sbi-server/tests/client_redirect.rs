//! Issue 9 #7: SBI clients never follow redirects. A fake AAnF answers AnchorKey_Register
//! with `307 Location: http://127.0.0.1:X/collect` (and `308`, and `302`); the collector at
//! X never receives the body holding kAkma, and the client gets `ClientError::Redirect`.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use akma_core::ids::{AKid, Supi};
use akma_core::keys::KAkma;
use akma_sbi_client::client::{ClientError, NaanfClient, SbiClient};
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_sbi_server::serve;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{any, post};
use axum::Router;
use tokio::net::TcpListener;

const AKID: &str =
    "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";
const KEY: &str = "a2ceb20f00112233445566778899aabbccddeeff00112233445566778899f346";

async fn spawn(app: Router) -> std::net::SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(serve(l, app, None, std::future::pending()));
    addr
}

#[tokio::test]
async fn redirects_are_refused_and_the_body_never_reaches_the_target() {
    // The collector counts every request and the octets it received.
    let hits = Arc::new(AtomicUsize::new(0));
    let got = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let collector = {
        let (hits, got) = (hits.clone(), got.clone());
        Router::new().route(
            "/collect",
            any(move |body: axum::body::Bytes| {
                hits.fetch_add(1, Ordering::SeqCst);
                got.lock().unwrap().extend_from_slice(&body);
                async { StatusCode::OK }
            }),
        )
    };
    let collect = spawn(collector).await;
    for status in [
        StatusCode::TEMPORARY_REDIRECT,
        StatusCode::PERMANENT_REDIRECT,
        StatusCode::FOUND,
    ] {
        let target = format!("http://{collect}/collect");
        let t = target.clone();
        let evil = Router::new().route(
            "/naanf-akma/v1/register-anchorkey",
            post(move || {
                let t = t.clone();
                async move { (status, [(header::LOCATION, t)]).into_response() }
            }),
        );
        let aanf = spawn(evil).await;
        let client = NaanfClient::new(
            SbiClient::h2c().unwrap().with_bearer_token("secret-token"),
            format!("http://{aanf}"),
        );
        let info = AkmaKeyInfo {
            supp_feat: None,
            ue_id: UeId::Supi(Supi::parse("imsi-901700000021309").unwrap()),
            a_kid: AKid::parse(AKID).unwrap(),
            k_akma: KAkma::from_hex(KEY).unwrap(),
        };
        let e = client.register_anchor_key(&info).await.unwrap_err();
        match &e {
            ClientError::Redirect {
                status: s,
                location,
                url,
                ..
            } => {
                assert_eq!(*s, status);
                assert_eq!(location.as_deref(), Some(target.as_str()));
                assert!(url.ends_with("/register-anchorkey"), "{url}");
            }
            other => panic!("{status}: expected ClientError::Redirect, got {other:?}"),
        }
        assert_eq!(e.status(), Some(status));
        let msg = e.to_string();
        assert!(msg.contains("never follow redirects"), "{msg}");
        assert!(!msg.contains(KEY), "{msg}");
    }
    assert_eq!(hits.load(Ordering::SeqCst), 0, "the collector was called");
    assert!(got.lock().unwrap().is_empty());
}

/// Issue 9 #7: an auth event's `Location` naming another host does not move the AUSF's
/// removal (and its token) there: only its path is used, against the configured UDM.
#[tokio::test]
async fn auth_event_location_host_is_not_followed() {
    use akma_sbi_client::client::NudmUeauClient;
    let evil_hits = Arc::new(AtomicUsize::new(0));
    let e = evil_hits.clone();
    let evil = spawn(Router::new().fallback(any(move || {
        e.fetch_add(1, Ordering::SeqCst);
        async { StatusCode::NO_CONTENT }
    })))
    .await;
    let udm_puts = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let p = udm_puts.clone();
    let udm = spawn(Router::new().route(
        "/nudm-ueau/v1/{supi}/auth-events/{id}",
        axum::routing::put(
            move |axum::extract::Path((supi, id)): axum::extract::Path<(String, String)>,
                  h: axum::http::HeaderMap| {
                p.lock().unwrap().push(format!(
                    "{supi}/{id} {}",
                    h.get("authorization").unwrap().to_str().unwrap()
                ));
                async { StatusCode::NO_CONTENT }
            },
        ),
    ))
    .await;
    let client = NudmUeauClient::new(
        SbiClient::h2c().unwrap().with_bearer_token("udm-token"),
        format!("http://{udm}"),
    );
    let event: akma_sbi_model::nudm_ueau::AuthEvent = serde_json::from_value(serde_json::json!({
        "nfInstanceId": "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a1001",
        "success": true,
        "timeStamp": "2025-01-01T12:00:00Z",
        "authType": "5G_AKA",
        "servingNetworkName": "5G:mnc001.mcc001.3gppnetwork.org",
        "authRemovalInd": true
    }))
    .unwrap();
    client
        .remove_auth_event(
            &format!("http://{evil}/nudm-ueau/v1/imsi-001010000000001/auth-events/abc"),
            &event,
        )
        .await
        .unwrap();
    assert_eq!(evil_hits.load(Ordering::SeqCst), 0);
    assert_eq!(
        udm_puts.lock().unwrap().as_slice(),
        ["imsi-001010000000001/abc Bearer udm-token"]
    );
    let e = client
        .remove_auth_event("http://x.example", &event)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::InvalidResponse { .. }), "{e:?}");
}
