//! Access-token verification (TS 33.501 §13.4.1) and the RequireScope layer.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_core::time::ManualClock;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use akma_sbi_server::auth::{TokenVerifier, TokenVerifierConfig, VerifiedClaims};
use akma_sbi_server::test_pki::TestTokenIssuer;
use akma_sbi_server::{with_sbi_fallbacks, RequireScope, SbiError};
use axum::body::Body;
use axum::routing::post;
use axum::Router;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const NRF: &str = "11111111-2222-4333-8444-555555555555";
const AUSF: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";
const AANF_ID: &str = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn verifier(issuer: &TestTokenIssuer) -> TokenVerifier {
    let mut cfg = TokenVerifierConfig::new(NRF, "AANF").with_key(issuer.verification_key());
    cfg.audiences.push(AANF_ID.to_owned());
    cfg.leeway = Duration::from_secs(5);
    TokenVerifier::new(cfg)
}

fn unauthorized_detail(r: Result<Arc<akma_sbi_server::Claims>, SbiError>) -> String {
    match r {
        Err(SbiError::Unauthorized { detail }) => detail,
        other => panic!("expected Unauthorized, got {other:?}"),
    }
}

#[test]
fn good_es256_token() {
    let iss = TestTokenIssuer::es256(NRF);
    let v = verifier(&iss);
    let t = iss.mint(AUSF, json!("AANF"), "naanf-akma naanf-akma:anchorkey", 600);
    let c = v.verify(&t).unwrap();
    assert_eq!(c.sub, AUSF);
    assert_eq!(c.iss, NRF);
    assert_eq!(c.aud, ["AANF"]);
    assert!(c.has_scope("naanf-akma") && c.has_scope("naanf-akma:anchorkey"));
    assert!(!c.has_scope("naanf-akma:applicationkeyget"));
    assert_eq!(c.scopes.len(), 2);
}

#[test]
fn good_rs256_token_with_audience_array_and_kid() {
    let iss = TestTokenIssuer::rs256(NRF).with_kid("k1");
    let v = verifier(&iss);
    let t = iss.mint(
        AUSF,
        json!([AANF_ID, "ffffffff-0000-4000-8000-000000000000"]),
        "naanf-akma",
        60,
    );
    let c = v.verify(&t).unwrap();
    assert_eq!(c.aud.len(), 2);
}

#[test]
fn expired_token() {
    let iss = TestTokenIssuer::es256(NRF);
    let v = verifier(&iss);
    let t = iss.mint(AUSF, json!("AANF"), "naanf-akma", -60);
    assert!(unauthorized_detail(v.verify(&t)).contains("expired"));
    // Within the leeway it is still accepted.
    let t = iss.mint(AUSF, json!("AANF"), "naanf-akma", -2);
    assert!(v.verify(&t).is_ok());
}

#[test]
fn not_yet_valid_token() {
    let iss = TestTokenIssuer::es256(NRF);
    let v = verifier(&iss);
    let t = iss.sign(&json!({
        "iss": NRF, "sub": AUSF, "aud": "AANF", "scope": "naanf-akma",
        "exp": now() + 600, "nbf": now() + 300,
    }));
    assert!(unauthorized_detail(v.verify(&t)).contains("nbf"));
}

#[test]
fn wrong_audience() {
    let iss = TestTokenIssuer::es256(NRF);
    let v = verifier(&iss);
    let t = iss.mint(AUSF, json!("UDM"), "naanf-akma", 600);
    assert!(unauthorized_detail(v.verify(&t)).contains("audience"));
    let t = iss.mint(
        AUSF,
        json!(["ffffffff-0000-4000-8000-000000000000"]),
        "naanf-akma",
        600,
    );
    assert!(unauthorized_detail(v.verify(&t)).contains("audience"));
}

#[test]
fn wrong_issuer() {
    let iss = TestTokenIssuer::es256("99999999-2222-4333-8444-555555555555");
    let mut cfg = TokenVerifierConfig::new(NRF, "AANF").with_key(iss.verification_key());
    cfg.leeway = Duration::ZERO;
    let v = TokenVerifier::new(cfg);
    let t = iss.mint(AUSF, json!("AANF"), "naanf-akma", 600);
    assert!(unauthorized_detail(v.verify(&t)).contains("issuer"));
}

#[test]
fn bad_signature() {
    let trusted = TestTokenIssuer::es256(NRF);
    let forger = TestTokenIssuer::es256(NRF);
    let v = verifier(&trusted);
    let t = forger.mint(AUSF, json!("AANF"), "naanf-akma", 600);
    assert!(unauthorized_detail(v.verify(&t)).contains("signature"));

    // A tampered payload with the trusted signature.
    let good = trusted.mint(AUSF, json!("AANF"), "naanf-akma", 600);
    let parts: Vec<&str> = good.split('.').collect();
    let other = trusted.mint(AUSF, json!("AANF"), "naanf-akma naanf-akma:anchorkey", 600);
    let other_payload = other.split('.').nth(1).unwrap();
    let tampered = format!("{}.{}.{}", parts[0], other_payload, parts[2]);
    assert!(unauthorized_detail(v.verify(&tampered)).contains("signature"));

    // Garbage and an RS256 token when only an ES256 key is configured.
    assert!(unauthorized_detail(v.verify("not.a.jwt")).contains("malformed"));
    let rsa = TestTokenIssuer::rs256(NRF);
    let t = rsa.mint(AUSF, json!("AANF"), "naanf-akma", 600);
    assert!(unauthorized_detail(v.verify(&t)).contains("key"));
}

#[test]
fn missing_claims_are_refused() {
    let iss = TestTokenIssuer::es256(NRF);
    let v = verifier(&iss);
    let t = iss.sign(&json!({"iss": NRF, "aud": "AANF", "scope": "x", "exp": now() + 60}));
    assert!(unauthorized_detail(v.verify(&t)).contains("sub"));
    let t = iss.sign(&json!({"iss": NRF, "sub": AUSF, "aud": "AANF", "scope": "x"}));
    assert!(unauthorized_detail(v.verify(&t)).contains("exp"));
}

#[test]
fn cache_hits_and_honours_expiry() {
    let iss = TestTokenIssuer::es256(NRF);
    let clock = ManualClock::new(now());
    let mut cfg = TokenVerifierConfig::new(NRF, "AANF").with_key(iss.verification_key());
    cfg.leeway = Duration::ZERO;
    cfg.cache_capacity = 2;
    let v = TokenVerifier::with_clock(cfg, clock.clock());
    let t = iss.mint(AUSF, json!("AANF"), "naanf-akma", 100);
    let a = v.verify(&t).unwrap();
    assert_eq!(v.cached(), 1);
    let b = v.verify(&t).unwrap();
    assert!(
        Arc::ptr_eq(&a, &b),
        "second verification should come from the cache"
    );
    // Past expiry, the cached entry is not used and is dropped.
    clock.advance(200);
    assert!(unauthorized_detail(v.verify(&t)).contains("expired"));
    assert_eq!(v.cached(), 0);
    // Bounded size.
    clock.set(now());
    for i in 0..5 {
        let t = iss.mint(&format!("{AUSF}{i}"), json!("AANF"), "naanf-akma", 100);
        v.verify(&t).unwrap();
        assert!(v.cached() <= 2);
    }
}

async fn ok_handler(claims: VerifiedClaims) -> String {
    claims.0.sub.clone()
}

fn app(v: Arc<TokenVerifier>) -> Router {
    with_sbi_fallbacks(
        Router::new()
            .route(
                "/naanf-akma/v1/register-anchorkey",
                post(ok_handler).route_layer(RequireScope::new(
                    v.clone(),
                    &["naanf-akma", "naanf-akma:anchorkey"],
                )),
            )
            .route(
                "/naanf-akma/v1/retrieve-applicationkey",
                post(ok_handler).route_layer(RequireScope::new(
                    v,
                    &["naanf-akma", "naanf-akma:applicationkeyget"],
                )),
            ),
    )
}

async fn call(
    app: Router,
    path: &str,
    auth: Option<String>,
) -> (StatusCode, http::HeaderMap, Vec<u8>) {
    let mut b = Request::post(path);
    if let Some(a) = auth {
        b = b.header(header::AUTHORIZATION, a);
    }
    let r = app.oneshot(b.body(Body::empty()).unwrap()).await.unwrap();
    let (p, body) = r.into_parts();
    (
        p.status,
        p.headers,
        body.collect().await.unwrap().to_bytes().to_vec(),
    )
}

#[tokio::test]
async fn require_scope_layer() {
    let iss = TestTokenIssuer::es256(NRF);
    let v = Arc::new(verifier(&iss));
    let anchor = iss.mint(AUSF, json!("AANF"), "naanf-akma naanf-akma:anchorkey", 600);

    // Right scopes: the handler sees the consumer's NF instance id.
    let (s, _, body) = call(
        app(v.clone()),
        "/naanf-akma/v1/register-anchorkey",
        Some(format!("Bearer {anchor}")),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, AUSF.as_bytes());

    // Missing scope: 403 with insufficient_scope.
    let (s, h, body) = call(
        app(v.clone()),
        "/naanf-akma/v1/retrieve-applicationkey",
        Some(format!("Bearer {anchor}")),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
    assert!(h[header::WWW_AUTHENTICATE]
        .to_str()
        .unwrap()
        .contains("insufficient_scope"));
    let p: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["cause"], "UNAUTHORIZED_CONSUMER");

    // No token, wrong scheme, bad token: 401 with the Bearer challenge.
    for auth in [
        None,
        Some(format!("Basic {anchor}")),
        Some("Bearer abc.def.ghi".to_owned()),
    ] {
        let (s, h, body) = call(app(v.clone()), "/naanf-akma/v1/register-anchorkey", auth).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        assert_eq!(
            h[header::WWW_AUTHENTICATE],
            r#"Bearer error="invalid_token""#
        );
        assert_eq!(h[header::CONTENT_TYPE], "application/problem+json");
        let p: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(p["status"], 401);
        // The token text never appears in the answer.
        assert!(!String::from_utf8_lossy(&body).contains(&anchor[..20]));
    }

    // Unknown path is still a 404 ProblemDetails, not a 401.
    let (s, _, _) = call(app(v), "/naanf-akma/v1/unknown", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn require_scope_without_verifier_passes_through() {
    let layer = RequireScope::optional(None, &["naanf-akma"]);
    let app = Router::new().route(
        "/x",
        post(|c: Option<VerifiedClaims>| async move { format!("{}", c.is_some()) })
            .route_layer(layer),
    );
    let (s, _, body) = call(app, "/x", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(body, b"false");
}

/// A key bound to a `kid` verifies only tokens naming that `kid`: a token without one,
/// signed by that very key, is refused with 401 (issue 9 #13).
#[tokio::test]
async fn kid_bound_key_refuses_tokens_without_kid() {
    // The same private key signs both tokens; the verifier's only key is bound to "k1".
    let no_kid = TestTokenIssuer::es256(NRF);
    let bound = akma_sbi_server::auth::VerificationKey::from_pem(
        akma_sbi_server::auth::TokenAlg::Es256,
        no_kid.public_key_pem().as_bytes(),
        Some("k1".to_owned()),
    )
    .unwrap();
    let mut cfg = TokenVerifierConfig::new(NRF, "AANF").with_key(bound);
    cfg.leeway = Duration::from_secs(5);
    let v = Arc::new(TokenVerifier::new(cfg));
    let t = no_kid.mint(AUSF, json!("AANF"), "naanf-akma naanf-akma:anchorkey", 600);
    let detail = unauthorized_detail(v.verify(&t));
    assert!(detail.contains("kid"), "{detail}");
    let (s, h, body) = call(
        app(v.clone()),
        "/naanf-akma/v1/register-anchorkey",
        Some(format!("Bearer {t}")),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(
        h[header::WWW_AUTHENTICATE],
        r#"Bearer error="invalid_token""#
    );
    let p: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(p["status"], 401);

    // A token naming another kid is refused too; one naming "k1" is accepted.
    let other = TestTokenIssuer::es256(NRF).with_kid("k2");
    assert!(v
        .verify(&other.mint(AUSF, json!("AANF"), "naanf-akma", 600))
        .is_err());
    let pem = no_kid.public_key_pem();
    let mut cfg = TokenVerifierConfig::new(NRF, "AANF");
    cfg.keys.push(
        akma_sbi_server::auth::VerificationKey::from_pem(
            akma_sbi_server::auth::TokenAlg::Es256,
            pem.as_bytes(),
            None,
        )
        .unwrap(),
    );
    // A key without a kid still verifies a kid-less token.
    assert!(TokenVerifier::new(cfg).verify(&t).is_ok());
}
