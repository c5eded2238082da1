//! The NEF in development mode, in-process against a development UDM/AUSF/AAnF: retrieve
//! end to end, the GPSI only with the scope and never a SUPI, the afId check, bad tokens,
//! the token endpoint's refusals, the rate limit, 503 when the AAnF is down, bad bodies.
#![allow(clippy::unwrap_used)] // test code

mod common;

use common::*;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

fn assert_no_supi(v: &Value) {
    assert!(v.get("supi").is_none(), "a SUPI reached the AF: {v}");
    assert!(!v.to_string().contains(SUPI), "{v}");
}

//= test 33535-6.3-nef-forwards-to-aanf, 33535-6.3-nef-no-supi, 29522-retrieve, 29522-gpsi-access, 29522-anon-ind
#[tokio::test]
async fn retrieve_end_to_end_with_gpsi_only_with_the_scope() {
    let w = world().await;
    let url = w.retrieve_url();
    let ta = token(&w.http, &w.root(), "af-a", SECRET_A).await;
    let body = json!({"afId": A_FQDN, "aKId": w.a_kid()});
    let (s, _, v) = retrieve(&w.http, &url, &ta, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["kaf"], w.expected_kaf(A_FQDN));
    assert_eq!(v["gpsi"], GPSI, "the SUPI translated by the UDM");
    assert!(v["expiry"].is_string());
    assert_no_supi(&v);

    // anonInd: K_AF only, and the AAnF was asked anonymously too.
    let anon = json!({"afId": A_FQDN, "aKId": w.a_kid(), "anonInd": true});
    let (s, _, v) = retrieve(&w.http, &url, &ta, &anon).await;
    assert_eq!(s, 200);
    assert!(v.get("gpsi").is_none(), "{v}");
    assert_eq!(v["kaf"], w.expected_kaf(A_FQDN));
    assert_no_supi(&v);

    // A token asking for no scope: no GPSI.
    let r = token_response(&w.http, &w.root(), "af-a", SECRET_A, Some("")).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert!(t.get("scope").is_none(), "empty scope omitted: {t}");
    let (s, _, v) = retrieve(&w.http, &url, t["access_token"].as_str().unwrap(), &body).await;
    assert_eq!(s, 200);
    assert!(v.get("gpsi").is_none(), "{v}");
    assert_no_supi(&v);

    // AF B has no scope: never a GPSI; its own FQDN works.
    let tb = token(&w.http, &w.root(), "af-b", SECRET_B).await;
    let (s, _, v) = retrieve(
        &w.http,
        &url,
        &tb,
        &json!({"afId": B_FQDN, "aKId": w.a_kid()}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["kaf"], w.expected_kaf(B_FQDN));
    assert!(v.get("gpsi").is_none(), "{v}");
    assert_no_supi(&v);

    // Unknown A-KID: 204 as the AAnF answers.
    let other = w.a_kid().replacen("0.", "0.A", 1);
    let (s, _, v) = retrieve(&w.http, &url, &ta, &json!({"afId": A_FQDN, "aKId": other})).await;
    assert_eq!(s, 204);
    assert_eq!(v, Value::Null);

    // A token for AF A cannot fetch AF B's key.
    let (s, h, v) = retrieve(
        &w.http,
        &url,
        &ta,
        &json!({"afId": format!("{B_FQDN};ua=0100000007"), "aKId": w.a_kid()}),
    )
    .await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["cause"], "AF_NOT_AUTHORIZED");
    assert_eq!(h["content-type"], "application/problem+json");

    let m = w.metrics().await;
    assert!(
        m.contains("nef_retrieve_outcomes_total{outcome=\"key_with_gpsi\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("nef_retrieve_outcomes_total{outcome=\"forbidden\"} 1\n"),
        "{m}"
    );
    assert!(m.contains("nef_tokens_issued_total 3\n"), "{m}");
}

//= test 33535-6.3-nef-authorizes-af, 29522-oauth2
#[tokio::test]
async fn bad_tokens_are_401_invalid_token() {
    let w = world().await;
    let url = w.retrieve_url();
    let body = json!({"afId": A_FQDN, "aKId": w.a_kid()});
    let pem = std::fs::read(w.data().join("dev-token-key.pem")).unwrap();
    let good = token(&w.http, &w.root(), "af-a", SECRET_A).await;
    let kid = jsonwebtoken::decode_header(&good).unwrap().kid.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let sign = |key: &[u8], claims: Value| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.clone());
        encode(&h, &claims, &EncodingKey::from_ec_pem(key).unwrap()).unwrap()
    };
    let claims = |iss: &str, aud: &str, exp: u64| {
        json!({"iss": iss, "sub": "af-a", "aud": aud, "iat": now, "exp": exp,
               "scope": "nnef-akma:gpsi-access", "jti": "x"})
    };
    let (other_key, _) = akma_nef::token::generate_key().unwrap();
    let cases = [
        (
            "expired",
            sign(&pem, claims("akma-nef", "3gpp-akma", now - 3600)),
        ),
        (
            "forged",
            sign(
                other_key.as_bytes(),
                claims("akma-nef", "3gpp-akma", now + 600),
            ),
        ),
        (
            "other audience",
            sign(&pem, claims("akma-nef", "AANF", now + 600)),
        ),
        (
            "other issuer",
            sign(&pem, claims("evil-nef", "3gpp-akma", now + 600)),
        ),
        ("not a JWT", "abc.def.ghi".to_owned()),
    ];
    for (what, t) in cases {
        let (s, h, v) = retrieve(&w.http, &url, &t, &body).await;
        assert_eq!(s, 401, "{what}: {v}");
        assert_eq!(
            h["www-authenticate"], r#"Bearer error="invalid_token""#,
            "{what}"
        );
        assert!(v.get("cause").is_none(), "{what}: {v}");
    }
    // The same claims signed correctly are accepted (the test can fail).
    let (s, _, _) = retrieve(
        &w.http,
        &url,
        &sign(&pem, claims("akma-nef", "3gpp-akma", now + 600)),
        &body,
    )
    .await;
    assert_eq!(s, 200);
    // No token at all.
    let r = w.http.post(&url).json(&body).send().await.unwrap();
    assert_eq!(r.status(), 401);
}

//= test 29522-oauth2
#[tokio::test]
async fn token_endpoint_refusals_and_success_headers() {
    let w = world().await;
    let root = w.root();
    let r = token_response(&w.http, &root, "af-a", SECRET_A, None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["cache-control"], "no-store");
    assert_eq!(r.headers()["pragma"], "no-cache");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3600);
    // No scope requested: every scope the entry allows (RFC 6749 §3.3).
    assert_eq!(v["scope"], "nnef-akma:gpsi-access nnef-akma-push");
    let h = jsonwebtoken::decode_header(v["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(h.alg, Algorithm::ES256);

    let wrong = token_response(&w.http, &root, "af-a", "not-the-secret", None).await;
    assert_eq!(wrong.status(), 401);
    assert_eq!(
        wrong.headers()["www-authenticate"],
        r#"Basic realm="3gpp-akma""#
    );
    assert_eq!(wrong.headers()["cache-control"], "no-store");
    let e: Value = wrong.json().await.unwrap();
    assert_eq!(e["error"], "invalid_client");
    let unknown = token_response(&w.http, &root, "nobody", SECRET_A, None).await;
    assert_eq!(unknown.status(), 401);

    let post = |body: &str, auth: Option<String>| {
        let mut rq = w
            .http
            .post(format!("{root}/oauth2/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.to_owned());
        if let Some(a) = auth {
            rq = rq.header("authorization", a);
        }
        rq.send()
    };
    let cases: Vec<(&str, Option<String>, u16, &str)> = vec![
        (
            "grant_type=client_credentials&client_id=af-a&client_secret=x",
            None,
            401,
            "invalid_client",
        ),
        ("grant_type=client_credentials", None, 401, "invalid_client"),
        (
            "grant_type=client_credentials&client_id=af-a",
            Some(basic("af-a", SECRET_A)),
            401,
            "invalid_client",
        ),
        (
            "grant_type=password",
            Some(basic("af-a", SECRET_A)),
            400,
            "unsupported_grant_type",
        ),
        (
            "scope=x",
            Some(basic("af-a", SECRET_A)),
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            Some(basic("af-a", SECRET_A)),
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&scope=nnef-akma%3Agpsi-access",
            Some(basic("af-b", SECRET_B)),
            400,
            "invalid_scope",
        ),
    ];
    for (body, auth, status, error) in cases {
        let r = post(body, auth).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{body}");
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["error"], error, "{body}: {v}");
        assert!(v["error_description"].is_string());
    }
    let r = w
        .http
        .post(format!("{root}/oauth2/token"))
        .header("authorization", basic("af-a", SECRET_A))
        .json(&json!({"grant_type": "client_credentials"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test]
async fn rate_limit_accepts_exactly_the_burst() {
    let w = world().await;
    let url = w.retrieve_url();
    // The token request takes one of the 5.
    let t = token(&w.http, &w.root(), "af-r", SECRET_R).await;
    let body = json!({"afId": A_FQDN, "aKId": w.a_kid()});
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (http, url, t, body) = (w.http.clone(), url.clone(), t.clone(), body.clone());
        set.spawn(async move { retrieve(&http, &url, &t, &body).await });
    }
    let results = set.join_all().await;
    let ok = results.iter().filter(|r| r.0 == 200).count();
    let limited: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    assert_eq!(
        ok,
        4,
        "{:?}",
        results.iter().map(|r| r.0).collect::<Vec<_>>()
    );
    assert_eq!(limited.len(), 6);
    for (_, h, v) in limited {
        let secs: u64 = h["retry-after"].to_str().unwrap().parse().unwrap();
        assert!(secs >= 1);
        assert_eq!(v["status"], 429);
    }
    // The token endpoint counts against the same bucket.
    let r = token_response(&w.http, &w.root(), "af-r", SECRET_R, None).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    // Another AF is not affected.
    let ta = token(&w.http, &w.root(), "af-a", SECRET_A).await;
    assert_eq!(retrieve(&w.http, &url, &ta, &body).await.0, 200);
    // Each 429 is counted under its own status label, not "other".
    let m = w.metrics().await;
    assert!(
        m.contains("nef_requests_total{operation=\"retrieve\",status=\"429\"} 6\n"),
        "{m}"
    );
    assert!(
        m.contains("nef_requests_total{operation=\"token\",status=\"429\"} 1\n"),
        "{m}"
    );
    assert!(!m.contains("status=\"other\""), "{m}");
}

#[tokio::test]
async fn bad_bodies_are_400_and_reach_no_aanf() {
    let w = world().await;
    let url = w.retrieve_url();
    let t = token(&w.http, &w.root(), "af-a", SECRET_A).await;
    let cases = [
        (json!({"aKId": w.a_kid()}), "MANDATORY_IE_MISSING", "/afId"),
        (
            json!({"afId": "not a name!", "aKId": w.a_kid()}),
            "MANDATORY_IE_INCORRECT",
            "/afId",
        ),
        (
            json!({"afId": A_FQDN, "aKId": "no-at-sign"}),
            "MANDATORY_IE_INCORRECT",
            "/aKId",
        ),
        (json!([1, 2]), "INVALID_MSG_FORMAT", ""),
    ];
    for (body, cause, param) in cases {
        let (s, h, v) = retrieve(&w.http, &url, &t, &body).await;
        assert_eq!(s, 400, "{body}: {v}");
        assert_eq!(v["cause"], cause, "{body}: {v}");
        assert_eq!(h["content-type"], "application/problem+json");
        if !param.is_empty() {
            assert_eq!(v["invalidParams"][0]["param"], param, "{v}");
        }
    }
    let r = w
        .http
        .post(&url)
        .bearer_auth(&t)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 415);
    let r = w
        .http
        .post(&url)
        .bearer_auth(&t)
        .header("content-type", "application/json")
        .body("{\"afId\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // Nothing reached the AAnF.
    let m = w.metrics().await;
    assert!(
        m.contains("nef_southbound_duration_seconds_count{peer=\"aanf\"} 0\n"),
        "{m}"
    );
    assert!(
        m.contains("nef_retrieve_outcomes_total{outcome=\"bad_request\"} 6\n"),
        "{m}"
    );
}

#[tokio::test]
async fn aanf_down_is_503_with_retry_after() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let toml = nef_toml();
    let args = nef_args(dir.path(), Some(&toml), &format!("http://{addr}"), None);
    let nef = akma_nef::server::start(akma_nef::server::resolve(&args).unwrap())
        .await
        .unwrap();
    let http = akma_sbi_server::test_pki::http1_client();
    let root = format!("http://{}", nef.addr);
    let t = token(&http, &root, "af-a", SECRET_A).await;
    let (s, h, v) = retrieve(
        &http,
        &format!("{root}/3gpp-akma/v1/retrieve"),
        &t,
        &json!({"afId": A_FQDN, "aKId": "0.abc@5gc.mnc070.mcc901.3gppnetwork.org"}),
    )
    .await;
    assert_eq!(s, 503, "{v}");
    assert_eq!(h["retry-after"], "5");
    assert_eq!(h["content-type"], "application/problem+json");
    assert!(
        !v.to_string().contains(&addr.to_string()),
        "no peer URL sent: {v}"
    );
    nef.shutdown().await.unwrap();
}

#[tokio::test]
async fn dev_without_registry_creates_the_dev_af() {
    let w = world_with(None).await;
    let path = w.data().join("dev-af.secret");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let secret = std::fs::read_to_string(&path).unwrap();
    // One line: the secret and one newline.
    assert_eq!(secret.lines().count(), 1, "{:?}", secret.len());
    assert!(secret.ends_with('\n') && !secret.ends_with("\n\n"));
    let t = token(&w.http, &w.root(), "dev-af", secret.trim()).await;
    let (s, _, v) = retrieve(
        &w.http,
        &w.retrieve_url(),
        &t,
        &json!({"afId": A_FQDN, "aKId": w.a_kid()}),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["gpsi"], GPSI);
    assert_no_supi(&v);
    let key = w.data().join("dev-token-key.pem");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
}

/// AKMA push-info through the NEF (a project extension): by GPSI with `nnef-akma-push`, the
/// push material of the current context and no identity; refusals for the wrong scope, the
/// wrong afId, a SUPI, a bad token; 204 for a GPSI the UDM does not know.
#[tokio::test]
async fn push_info_by_gpsi_with_the_push_scope() {
    let w = world().await;
    let url = format!("{}/3gpp-akma-push/v1/push-info", w.root());
    let ta = token(&w.http, &w.root(), "af-a", SECRET_A).await;
    let body = json!({"afId": A_FQDN, "gpsi": GPSI});
    let (s, _, v) = retrieve(&w.http, &url, &ta, &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["aKId"], w.a_kid());
    assert_eq!(v["afId"], A_FQDN);
    let push_key = akma_core::push::derive_k_af_push(
        &w.keys.k_akma,
        &akma_core::ids::AfFqdn::parse(A_FQDN).unwrap(),
    );
    assert_eq!(v["kafPush"], push_key.expose_hex().as_str());
    assert_ne!(v["kafPush"], w.expected_kaf(A_FQDN), "not the TLS-PSK K_AF");
    assert_no_supi(&v);
    assert!(v.get("gpsi").is_none(), "{v}");

    // A GPSI the UDM does not know: 204.
    let (s, _, v) = retrieve(
        &w.http,
        &url,
        &ta,
        &json!({"afId": A_FQDN, "gpsi": "msisdn-33600000000"}),
    )
    .await;
    assert_eq!(s, 204, "{v}");

    // An outside AF never names the UE by SUPI.
    let (s, h, v) = retrieve(&w.http, &url, &ta, &json!({"afId": A_FQDN, "supi": SUPI})).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(h["content-type"], "application/problem+json");
    assert!(v["invalidParams"].to_string().contains("/supi"), "{v}");

    // Another AF's FQDN: 403. AF B's token has no push scope: 403.
    let (s, _, v) = retrieve(&w.http, &url, &ta, &json!({"afId": B_FQDN, "gpsi": GPSI})).await;
    assert_eq!(s, 403, "{v}");
    assert_eq!(v["cause"], "AF_NOT_AUTHORIZED");
    let tb = token(&w.http, &w.root(), "af-b", SECRET_B).await;
    let (s, _, v) = retrieve(&w.http, &url, &tb, &json!({"afId": B_FQDN, "gpsi": GPSI})).await;
    assert_eq!(s, 403, "{v}");
    assert!(
        v["detail"].as_str().unwrap().contains("nnef-akma-push"),
        "{v}"
    );

    // No valid token: 401.
    let (s, _, _) = retrieve(&w.http, &url, "not-a-token", &body).await;
    assert_eq!(s, 401);

    let m = w.metrics().await;
    assert!(
        m.contains("nef_requests_total{operation=\"push-info\",status=\"200\"} 1\n"),
        "{m}"
    );
    assert!(
        m.contains("nef_requests_total{operation=\"push-info\",status=\"403\"} 2\n"),
        "{m}"
    );
}
