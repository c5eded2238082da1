//! The NEF client and its OAuth2 client credentials token source against a small in-test
//! double of the NEF northbound contract (`NEF-CONTRACT-11.md`): a token endpoint that
//! checks `client_secret_basic` and issues counter tokens, and a retrieve endpoint that checks
//! the bearer token. Lifetimes are judged by a `ManualClock`; nothing depends on wall-clock
//! speed.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn};
use akma_core::time::ManualClock;
use akma_sbi_client::client::{ClientError, SbiClient};
use akma_sbi_client::nef::{ClientAuth, ClientCredentials, ClientSecret, NefClient, TokenError};
use akma_sbi_client::token::{TokenRequest, TokenSource};
use akma_sbi_model::nef_akma::AkmaAfKeyRequest;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use base64::Engine as _;

const CLIENT_ID: &str = "af-1.example";
/// With characters that RFC 6749 §2.3.1 form-encodes before base64.
const SECRET: &str = "s3cr:et wörd+%";
/// Permits of the token endpoint's gate (taking them all holds every token request).
const GATE: u32 = 1 << 20;
const KAF: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
const A_KID: &str =
    "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";

/// What the retrieve endpoint answers once the token is accepted.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Answer {
    Key,
    NoContent,
    Forbidden,
    Unavailable,
    /// 401 whatever the token (to see that the client retries once only).
    AlwaysUnauthorized,
    WithSupi,
}

struct Nef {
    token_requests: AtomicU64,
    retrieve_calls: AtomicU64,
    next_token: AtomicU64,
    expires_in: AtomicU64,
    valid: Mutex<HashSet<String>>,
    answer: Mutex<Answer>,
    /// Token endpoint answers 429 with this Retry-After, when set.
    rate_limit: Mutex<Option<u64>>,
    /// The last form body the token endpoint received.
    last_form: Mutex<String>,
    /// Whether the last token request carried an Authorization header.
    last_had_auth: Mutex<bool>,
    /// Holds token requests until released (to make concurrent callers overlap).
    gate: tokio::sync::Semaphore,
}

impl Nef {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            token_requests: AtomicU64::new(0),
            retrieve_calls: AtomicU64::new(0),
            next_token: AtomicU64::new(1),
            expires_in: AtomicU64::new(100),
            valid: Mutex::new(HashSet::new()),
            answer: Mutex::new(Answer::Key),
            rate_limit: Mutex::new(None),
            last_form: Mutex::new(String::new()),
            last_had_auth: Mutex::new(false),
            gate: tokio::sync::Semaphore::new(GATE as usize),
        })
    }
    fn tokens(&self) -> u64 {
        self.token_requests.load(Ordering::SeqCst)
    }
    fn retrieves(&self) -> u64 {
        self.retrieve_calls.load(Ordering::SeqCst)
    }
    fn set(&self, a: Answer) {
        *self.answer.lock().unwrap() = a;
    }
    fn revoke_all(&self) {
        self.valid.lock().unwrap().clear();
    }
}

fn oauth_error(status: StatusCode, error: &str) -> Response {
    let mut r = (
        status,
        [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
        ],
        format!(r#"{{"error":"{error}","error_description":"test \"double\" says no"}}"#),
    )
        .into_response();
    if status == StatusCode::UNAUTHORIZED {
        r.headers_mut().insert(
            "www-authenticate",
            "Basic realm=\"3gpp-akma\"".parse().unwrap(),
        );
    }
    r
}

async fn token(State(nef): State<Arc<Nef>>, headers: HeaderMap, body: String) -> Response {
    nef.token_requests.fetch_add(1, Ordering::SeqCst);
    let _permit = nef.gate.acquire().await.unwrap();
    *nef.last_form.lock().unwrap() = body.clone();
    *nef.last_had_auth.lock().unwrap() = headers.contains_key("authorization");
    if let Some(s) = *nef.rate_limit.lock().unwrap() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                ("content-type", "application/problem+json".to_owned()),
                ("retry-after", s.to_string()),
            ],
            r#"{"status":429}"#,
        )
            .into_response();
    }
    if headers.get("content-type").and_then(|v| v.to_str().ok())
        != Some("application/x-www-form-urlencoded")
    {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let form: Vec<&str> = body.split('&').collect();
    if !form.contains(&"grant_type=client_credentials") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    if let Some(scope) = form.iter().find_map(|p| p.strip_prefix("scope=")) {
        if scope != "nnef-akma%3Agpsi-access" {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_scope");
        }
    }
    let tls_client_auth = form.contains(&"client_id=af-1.example");
    let expected = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("af-1.example:s3cr%3Aet+w%C3%B6rd%2B%25")
    );
    let basic_ok =
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(expected.as_str());
    // The contract: exactly one method (this double accepts client_id in the body as the
    // mTLS method without checking a certificate: h2c has none).
    let ok = basic_ok != tls_client_auth && (basic_ok || !headers.contains_key("authorization"));
    if !ok {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let t = format!("tok-{}", nef.next_token.fetch_add(1, Ordering::SeqCst));
    nef.valid.lock().unwrap().insert(t.clone());
    (
        [
            ("content-type", "application/json"),
            ("cache-control", "no-store"),
            ("pragma", "no-cache"),
        ],
        format!(
            r#"{{"access_token":"{t}","token_type":"Bearer","expires_in":{}}}"#,
            nef.expires_in.load(Ordering::SeqCst)
        ),
    )
        .into_response()
}

fn problem(status: StatusCode, cause: Option<&str>, extra: &[(&'static str, &str)]) -> Response {
    let body = match cause {
        Some(c) => format!(r#"{{"status":{},"cause":"{c}"}}"#, status.as_u16()),
        None => format!(r#"{{"status":{}}}"#, status.as_u16()),
    };
    let mut r = (status, [("content-type", "application/problem+json")], body).into_response();
    for (k, v) in extra {
        r.headers_mut()
            .insert(*k, axum::http::HeaderValue::from_str(v).unwrap());
    }
    r
}

async fn retrieve(State(nef): State<Arc<Nef>>, headers: HeaderMap, body: String) -> Response {
    nef.retrieve_calls.fetch_add(1, Ordering::SeqCst);
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_owned);
    let answer = *nef.answer.lock().unwrap();
    let known = bearer.is_some_and(|b| nef.valid.lock().unwrap().contains(&b));
    if !known || answer == Answer::AlwaysUnauthorized {
        return problem(
            StatusCode::UNAUTHORIZED,
            None,
            &[("www-authenticate", "Bearer error=\"invalid_token\"")],
        );
    }
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["aKId"], A_KID);
    let json = |extra: &str| {
        (
            [("content-type", "application/json")],
            format!(r#"{{"kaf":"{KAF}","expiry":"2099-01-01T00:00:00Z"{extra}}}"#),
        )
            .into_response()
    };
    match answer {
        Answer::Key => json(""),
        Answer::WithSupi => json(r#","supi":"imsi-001010000000001""#),
        Answer::NoContent => StatusCode::NO_CONTENT.into_response(),
        Answer::Forbidden => problem(StatusCode::FORBIDDEN, Some("AF_NOT_AUTHORIZED"), &[]),
        Answer::Unavailable => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            None,
            &[("retry-after", "5")],
        ),
        Answer::AlwaysUnauthorized => unreachable!(),
    }
}

async fn start(nef: Arc<Nef>) -> SocketAddr {
    let app = Router::new()
        .route("/oauth2/token", post(token))
        .route("/3gpp-akma/v1/retrieve", post(retrieve))
        .with_state(nef);
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    addr
}

struct Setup {
    nef: Arc<Nef>,
    clock: ManualClock,
    client: NefClient,
}

async fn setup_with(secret: &str, auth_override: Option<ClientAuth>) -> Setup {
    let nef = Nef::new();
    let addr = start(nef.clone()).await;
    let clock = ManualClock::new(1_000);
    let sbi = SbiClient::h2c().unwrap();
    let root = format!("http://{addr}");
    let auth = auth_override.unwrap_or(ClientAuth::SecretBasic(ClientSecret::new(secret)));
    let tokens =
        Arc::new(ClientCredentials::new(&sbi, &root, CLIENT_ID, auth).with_clock(clock.clock()));
    Setup {
        nef,
        clock,
        client: NefClient::new(sbi, &root, tokens),
    }
}

async fn setup() -> Setup {
    setup_with(SECRET, None).await
}

fn request() -> AkmaAfKeyRequest {
    let af = AfId::new(
        AfFqdn::parse("app.example.com").unwrap(),
        UaProtocolId::TLS13_PSK,
    );
    AkmaAfKeyRequest::new(&af, AKid::parse(A_KID).unwrap(), false)
}

#[tokio::test]
async fn first_use_fetches_one_token_then_reuses_it() {
    let s = setup().await;
    assert_eq!(s.nef.tokens(), 0, "nothing is fetched before first use");
    let data = s.client.retrieve(&request()).await.unwrap().unwrap();
    assert_eq!(hex(data.kaf.expose_secret()), KAF);
    assert_eq!(s.nef.tokens(), 1);
    for _ in 0..5 {
        s.client.retrieve(&request()).await.unwrap().unwrap();
    }
    assert_eq!(s.nef.tokens(), 1, "the token is reused");
    assert_eq!(s.nef.retrieves(), 6);
    assert_eq!(s.client.tokens().requests(), 1);
    // As a TokenSource too.
    let t = s
        .client
        .tokens()
        .token(TokenRequest::default())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(t.as_str(), "tok-1");
}

#[tokio::test]
async fn the_token_is_renewed_at_eighty_percent_of_its_life() {
    let s = setup().await;
    let tokens = s.client.tokens();
    assert_eq!(tokens.access_token().await.unwrap().as_str(), "tok-1");
    // expires_in 100: fresh until +80.
    s.clock.advance(79);
    assert_eq!(tokens.access_token().await.unwrap().as_str(), "tok-1");
    assert_eq!(s.nef.tokens(), 1);
    s.clock.advance(1);
    assert_eq!(tokens.access_token().await.unwrap().as_str(), "tok-2");
    assert_eq!(s.nef.tokens(), 2);
    s.client.retrieve(&request()).await.unwrap().unwrap();
    assert_eq!(s.nef.tokens(), 2);
    // A renewal that fails while the token is still usable keeps the old one ...
    *s.nef.rate_limit.lock().unwrap() = Some(1);
    s.clock.advance(85);
    assert_eq!(tokens.access_token().await.unwrap().as_str(), "tok-2");
    assert_eq!(s.nef.tokens(), 3);
    // ... and once it has expired, the error shows.
    s.clock.advance(20);
    let e = tokens.access_token().await.unwrap_err();
    assert_eq!(
        e,
        TokenError::RateLimited {
            retry_after_secs: Some(1)
        }
    );
}

#[tokio::test]
async fn fifty_concurrent_first_calls_make_one_token_request() {
    let s = setup().await;
    // Hold the token endpoint so that every caller arrives while the request is open.
    let held = s.nef.gate.acquire_many(GATE).await.unwrap();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let c = s.client.clone();
            tokio::spawn(async move { c.retrieve(&request()).await })
        })
        .collect();
    // Wait (by state, not by time) until the one token request has reached the double.
    while s.nef.tokens() == 0 {
        tokio::task::yield_now().await;
    }
    drop(held);
    for c in calls {
        assert!(c.await.unwrap().unwrap().is_some());
    }
    assert_eq!(s.nef.tokens(), 1);
    assert_eq!(s.nef.retrieves(), 50);
}

#[tokio::test]
async fn a_401_drops_the_token_and_retries_once_with_a_new_one() {
    let s = setup().await;
    s.client.retrieve(&request()).await.unwrap().unwrap();
    s.nef.revoke_all();
    let data = s.client.retrieve(&request()).await.unwrap();
    assert!(data.is_some());
    assert_eq!(s.nef.tokens(), 2, "one new token");
    assert_eq!(s.nef.retrieves(), 3, "one retry");
    assert_eq!(
        s.client.tokens().access_token().await.unwrap().as_str(),
        "tok-2"
    );
    // A NEF that refuses every token: one retry, then the 401 is the answer.
    s.nef.set(Answer::AlwaysUnauthorized);
    let e = s.client.retrieve(&request()).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::UNAUTHORIZED));
    assert_eq!(s.nef.tokens(), 3);
    assert_eq!(s.nef.retrieves(), 5);
}

#[tokio::test]
async fn a_wrong_secret_is_a_refusal_that_names_the_credentials() {
    let s = setup_with("not-the-secret", None).await;
    let e = s.client.tokens().access_token().await.unwrap_err();
    match &e {
        TokenError::InvalidClient {
            client_id,
            status,
            description,
        } => {
            assert_eq!(client_id, CLIENT_ID);
            assert_eq!(*status, 401);
            assert_eq!(description.as_deref(), Some("test double says no"));
        }
        other => panic!("{other:?}"),
    }
    let e = s.client.retrieve(&request()).await.unwrap_err();
    let ClientError::Token(text) = &e else {
        panic!("{e:?}")
    };
    assert!(text.contains("rejected the client credentials"), "{text}");
    assert!(text.contains("invalid_client"), "{text}");
    assert!(!text.contains("not-the-secret"), "{text}");
    assert_eq!(s.nef.retrieves(), 0, "no retrieve without a token");
}

#[tokio::test]
async fn waiters_share_a_failed_token_request() {
    let s = setup_with("wrong", None).await;
    let held = s.nef.gate.acquire_many(GATE).await.unwrap();
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let t = s.client.tokens().clone();
            tokio::spawn(async move { t.access_token().await })
        })
        .collect();
    while s.nef.tokens() == 0 {
        tokio::task::yield_now().await;
    }
    drop(held);
    for c in calls {
        assert!(matches!(
            c.await.unwrap(),
            Err(TokenError::InvalidClient { .. })
        ));
    }
    assert!(
        s.nef.tokens() < 20,
        "{} token requests for 20 callers",
        s.nef.tokens()
    );
}

#[tokio::test]
async fn rate_limit_holds_requests_back_until_retry_after() {
    let s = setup().await;
    *s.nef.rate_limit.lock().unwrap() = Some(30);
    let e = s.client.tokens().access_token().await.unwrap_err();
    assert_eq!(
        e,
        TokenError::RateLimited {
            retry_after_secs: Some(30)
        }
    );
    *s.nef.rate_limit.lock().unwrap() = None;
    s.clock.advance(10);
    let e = s.client.tokens().access_token().await.unwrap_err();
    assert_eq!(
        e,
        TokenError::RateLimited {
            retry_after_secs: Some(20)
        }
    );
    assert_eq!(s.nef.tokens(), 1, "nothing sent before Retry-After");
    s.clock.advance(20);
    assert_eq!(
        s.client.tokens().access_token().await.unwrap().as_str(),
        "tok-1"
    );
}

#[tokio::test]
async fn scope_and_tls_client_auth_requests() {
    let nef = Nef::new();
    let addr = start(nef.clone()).await;
    let sbi = SbiClient::h2c().unwrap();
    let root = format!("http://{addr}");
    let bad = ClientCredentials::new(
        &sbi,
        &root,
        CLIENT_ID,
        ClientAuth::SecretBasic(ClientSecret::new(SECRET)),
    )
    .with_scopes(["nnef-akma:other"]);
    assert!(matches!(
        bad.access_token().await.unwrap_err(),
        TokenError::InvalidScope { requested, .. } if requested == "nnef-akma:other"
    ));
    let good = ClientCredentials::new(
        &sbi,
        &root,
        CLIENT_ID,
        ClientAuth::SecretBasic(ClientSecret::new(SECRET)),
    )
    .with_scopes([akma_sbi_model::nef_akma::scope::GPSI_ACCESS]);
    good.access_token().await.unwrap();
    assert_eq!(
        *nef.last_form.lock().unwrap(),
        "grant_type=client_credentials&scope=nnef-akma%3Agpsi-access"
    );
    // RFC 8705 tls_client_auth: client_id in the body, no Authorization.
    let mtls = ClientCredentials::new(&sbi, &root, CLIENT_ID, ClientAuth::TlsClientAuth);
    mtls.access_token().await.unwrap();
    assert_eq!(
        *nef.last_form.lock().unwrap(),
        "grant_type=client_credentials&client_id=af-1.example"
    );
    assert!(!*nef.last_had_auth.lock().unwrap());
}

#[tokio::test]
async fn answers_map_to_results() {
    let s = setup().await;
    s.nef.set(Answer::NoContent);
    assert!(s.client.retrieve(&request()).await.unwrap().is_none());
    s.nef.set(Answer::Forbidden);
    let e = s.client.retrieve(&request()).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::FORBIDDEN));
    assert_eq!(e.cause(), Some("AF_NOT_AUTHORIZED"));
    s.nef.set(Answer::Unavailable);
    let e = s.client.retrieve(&request()).await.unwrap_err();
    assert_eq!(e.status(), Some(http::StatusCode::SERVICE_UNAVAILABLE));
    s.nef.set(Answer::WithSupi);
    let e = s.client.retrieve(&request()).await.unwrap_err();
    assert!(
        matches!(e, ClientError::InvalidResponse { .. }) && e.to_string().contains("supi"),
        "{e}"
    );
    assert_eq!(s.nef.tokens(), 1);
}

#[tokio::test]
async fn neither_secret_nor_token_in_debug_output() {
    let s = setup().await;
    s.client.retrieve(&request()).await.unwrap().unwrap();
    let token = s.client.tokens().access_token().await.unwrap();
    for text in [
        format!("{:?}", s.client),
        format!("{:#?}", s.client.tokens()),
    ] {
        assert!(text.contains(CLIENT_ID), "{text}");
        assert!(!text.contains("s3cr"), "{text}");
        assert!(!text.contains(token.as_str()), "{text}");
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
