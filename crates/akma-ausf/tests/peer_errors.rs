//! Issue 9, findings 13 (first bullet) and 6: every UDM answer is mapped deliberately (a UDM
//! 503 `NF_CONGESTION` is the AUSF's 503, not 500), and the AUSF never forwards a peer's
//! `detail`: a UDM that names the subscriber in its ProblemDetails does not get it to the
//! AMF. The UDM here is a stub answering a fixed status, cause and detail.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use std::sync::{Arc, Mutex};

use akma_ausf::server::{resolve, start, AusfArgs, HostArgs};
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use common::*;
use serde_json::{json, Value};

/// What the stub UDM answers: status and body.
type Reply = Arc<Mutex<(u16, Value)>>;

/// The UDM's status, cause and `invalidParams`; the status and cause the AMF must get.
type Case = (u16, Option<&'static str>, Value, u16, Option<&'static str>);

async fn stub_udm(reply: Reply) -> std::net::SocketAddr {
    let app = axum::Router::new().fallback(move || {
        let reply = reply.clone();
        async move {
            let (status, body) = reply.lock().unwrap().clone();
            (
                StatusCode::from_u16(status).unwrap(),
                [(header::CONTENT_TYPE, "application/problem+json")],
                body.to_string(),
            )
                .into_response()
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn udm_refusals_are_mapped_without_the_udm_detail() {
    let reply: Reply = Arc::new(Mutex::new((500, json!({}))));
    // HTTP/1.1 and h2c both served by axum::serve; the AUSF speaks h2c to http:// peers.
    let udm = stub_udm(reply.clone()).await;
    let args = AusfArgs {
        host: HostArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            ..Default::default()
        },
        udm: Some(format!("http://{udm}")),
        aanf: Some(format!("http://{udm}")),
        ..Default::default()
    };
    let running = start(resolve(&args).unwrap()).await.unwrap();
    let http = akma_sbi_server::test_pki::h2c_client();
    let url = format!("http://{}/nausf-auth/v1/ue-authentications", running.addr);
    const SUPI: &str = "imsi-001010000000777";
    const SUCI: &str = "suci-0-001-01-0-0-0-0000000777";
    let leak = format!("no subscriber {SUPI} (from {SUCI}); K=000102030405060708090a0b0c0d0e0f");
    let problem = |status: u16, cause: Option<&str>| {
        let mut p = json!({"status": status, "detail": leak, "title": "x"});
        if let Some(c) = cause {
            p["cause"] = json!(c);
        }
        p
    };
    let cases: &[Case] = &[
        // Finding 13: congestion at the UDM is congestion here (was 500).
        (
            503,
            Some("NF_CONGESTION"),
            json!(null),
            503,
            Some("NF_CONGESTION"),
        ),
        (503, None, json!(null), 503, Some("NF_CONGESTION")),
        (
            429,
            Some("NF_CONGESTION_RISK"),
            json!(null),
            503,
            Some("NF_CONGESTION"),
        ),
        (
            504,
            Some("TIMED_OUT_REQUEST"),
            json!(null),
            503,
            Some("NF_CONGESTION"),
        ),
        // The subscriber's causes keep their status and cause, with the AUSF's own text.
        (
            404,
            Some("USER_NOT_FOUND"),
            json!(null),
            404,
            Some("USER_NOT_FOUND"),
        ),
        (
            403,
            Some("AUTHENTICATION_REJECTED"),
            json!(null),
            403,
            Some("AUTHENTICATION_REJECTED"),
        ),
        (
            403,
            Some("INVALID_SCHEME_OUTPUT"),
            json!(null),
            403,
            Some("INVALID_SCHEME_OUTPUT"),
        ),
        (
            501,
            Some("UNSUPPORTED_PROTECTION_SCHEME"),
            json!(null),
            501,
            Some("UNSUPPORTED_PROTECTION_SCHEME"),
        ),
        // A 400 concerns what the AMF sent; the UDM's reasons are not passed on.
        (
            400,
            Some("MANDATORY_IE_INCORRECT"),
            json!([{"param": "path supiOrSuci", "reason": leak}]),
            400,
            Some("MANDATORY_IE_INCORRECT"),
        ),
        // The AUSF's own credentials or a UDM fault: nothing the AMF can change.
        (
            403,
            Some("UNAUTHORIZED_CONSUMER"),
            json!(null),
            500,
            Some("SYSTEM_FAILURE"),
        ),
        (401, None, json!(null), 500, Some("SYSTEM_FAILURE")),
        (
            404,
            Some("RESOURCE_URI_STRUCTURE_NOT_FOUND"),
            json!(null),
            500,
            Some("SYSTEM_FAILURE"),
        ),
        (
            500,
            Some("SYSTEM_FAILURE"),
            json!(null),
            500,
            Some("SYSTEM_FAILURE"),
        ),
    ];
    for (status, cause, params, want, want_cause) in cases {
        let mut p = problem(*status, *cause);
        if !params.is_null() {
            p["invalidParams"] = params.clone();
        }
        *reply.lock().unwrap() = (*status, p);
        for ue in [SUPI, SUCI] {
            let a = post_json(
                &http,
                &url,
                &json!({"supiOrSuci": ue, "servingNetworkName": SNN}),
            )
            .await;
            a.assert_problem(*want, *want_cause);
            // The wire body: no SUPI, SUCI, MSIN or key, whatever the UDM said.
            let wire = a.body.to_string();
            for secret in ["0000000777", "imsi-", "suci-", "000102030405"] {
                assert!(
                    !wire.contains(secret),
                    "UDM {status} {cause:?}: {secret} in {wire}"
                );
            }
        }
    }
    assert_eq!(running.ausf.contexts_held(), 0);
    running.shutdown().await.unwrap();
}
