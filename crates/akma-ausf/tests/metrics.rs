//! `GET /metrics` of the AUSF: after real 5G AKA runs through a real UDM and AAnF over h2c,
//! each operation and each call to a peer is counted once per occurrence: the AAnF hop only
//! for the AKMA subscriber, a wrong RES* still reports to the UDM, a refused request is
//! timed as an operation without calling anyone.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

/// One 5G AKA run for `supi`; with `good = false` the RES* is corrupted.
async fn run(http: &reqwest::Client, base: &str, supi: &str, good: bool) {
    let a = post_json(
        http,
        &format!("{base}/ue-authentications"),
        &json!({"supiOrSuci": supi, "servingNetworkName": SNN}),
    )
    .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    let rand = hex16(&a.body["5gAuthData"]["rand"]);
    let autn = hex16(&a.body["5gAuthData"]["autn"]);
    let mut res_star = ue_5g_aka(supi, &rand, &autn).res_star;
    if !good {
        res_star[0] ^= 1;
    }
    let confirm = a.body["_links"]["5g-aka"]["href"].as_str().unwrap();
    let c = put_json(
        http,
        confirm,
        &json!({"resStar": akma_core::hex::encode(&res_star)}),
    )
    .await;
    assert_eq!(c.status, StatusCode::OK, "{}", c.body);
    let expected = if good {
        "AUTHENTICATION_SUCCESS"
    } else {
        "AUTHENTICATION_FAILURE"
    };
    assert_eq!(c.body["authResult"], expected, "{}", c.body);
}

/// The value of the sample named exactly `series` (name and labels).
fn sample(text: &str, series: &str) -> f64 {
    let prefix = format!("{series} ");
    let line = text
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {series} in\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

#[tokio::test]
async fn metrics_count_operations_and_peer_calls() {
    let s = Stack::start(Options::default()).await;
    let (http, base) = (s.http.clone(), s.base());
    run(&http, &base, AKMA_SUPI, true).await;
    run(&http, &base, PLAIN_SUPI, true).await;
    run(&http, &base, AKMA_SUPI, false).await;
    // Refused before any peer is called (unknown context).
    let r = put_json(
        &s.http,
        &format!("{}/ue-authentications/00/5g-aka-confirmation", s.base()),
        &json!({"resStar": "00000000000000000000000000000000"}),
    )
    .await;
    r.assert_problem(404, Some("CONTEXT_NOT_FOUND"));

    let m = send(
        &s.http,
        Method::GET,
        &format!("http://{}/metrics", s.ausf.addr),
        None,
        None,
    )
    .await;
    assert_eq!(m.status, StatusCode::OK);
    assert_eq!(m.content_type.as_deref(), Some("text/plain; version=0.0.4"));
    let t = m.body.as_str().expect("plain text").to_owned();
    let op = |o: &str| {
        sample(
            &t,
            &format!("ausf_request_duration_seconds_count{{operation=\"{o}\"}}"),
        )
    };
    assert_eq!(op("authenticate"), 3.0);
    assert_eq!(op("5g-aka-confirmation"), 4.0);
    assert_eq!(op("eap-session"), 0.0);
    let hop = |p: &str, o: &str| {
        sample(
            &t,
            &format!("ausf_peer_request_duration_seconds_count{{peer=\"{p}\",operation=\"{o}\"}}"),
        )
    };
    assert_eq!(hop("udm", "generate-auth-data"), 3.0);
    assert_eq!(hop("udm", "auth-events"), 3.0, "failures are reported too");
    assert_eq!(
        hop("aanf", "register-anchorkey"),
        1.0,
        "only the AKMA success"
    );
    assert_eq!(hop("aanf", "remove-context"), 0.0);
    let bucket = sample(
        &t,
        "ausf_peer_request_duration_seconds_bucket{peer=\"aanf\",operation=\"register-anchorkey\",le=\"+Inf\"}",
    );
    assert_eq!(bucket, 1.0);
    let sum = sample(
        &t,
        "ausf_peer_request_duration_seconds_sum{peer=\"udm\",operation=\"generate-auth-data\"}",
    );
    assert!(sum > 0.0, "{sum}");
    assert_eq!(
        sample(
            &t,
            "ausf_peer_failures_total{peer=\"udm\",operation=\"generate-auth-data\"}"
        ),
        0.0
    );

    // A failed peer call is counted as a failure: the AAnF is gone; the authentication
    // succeeds anyway (the default policy).
    let (http, base, addr) = (s.http.clone(), s.base(), s.ausf.addr);
    let Stack {
        dir: _dir,
        udm: _udm,
        aanf,
        ausf: _ausf,
        ..
    } = s;
    aanf.shutdown().await.unwrap();
    run(&http, &base, AKMA_SUPI, true).await;
    let m = send(
        &http,
        Method::GET,
        &format!("http://{addr}/metrics"),
        None,
        None,
    )
    .await;
    let t = m.body.as_str().unwrap().to_owned();
    assert_eq!(
        sample(
            &t,
            "ausf_peer_failures_total{peer=\"aanf\",operation=\"register-anchorkey\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(
            &t,
            "ausf_peer_request_duration_seconds_count{peer=\"aanf\",operation=\"register-anchorkey\"}"
        ),
        2.0
    );
}
