//! Every error case of the SbiJson extractor and the router fallbacks, through a real axum
//! router (in memory): status, content type, cause and invalidParams.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_sbi_model::{AkmaAfKeyRequest, AkmaKeyInfo, CtxRemove};
use akma_sbi_server::{with_sbi_fallbacks, SbiError, SbiForm, SbiHalJson, SbiJson, MAX_BODY_BYTES};
use axum::body::Body;
use axum::routing::post;
use axum::Router;
use http::{header, Request, StatusCode};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

const AKID: &str =
    "0.yDDyzOZM1A1tgzErXlXnwo8w7DPgl714MF_xFCijo8M@5gc.mnc070.mcc901.3gppnetwork.org";
const KAKMA: &str = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

async fn register(SbiJson(info): SbiJson<AkmaKeyInfo>) -> SbiJson<AkmaKeyInfo> {
    SbiJson(info)
}

async fn retrieve(SbiJson(req): SbiJson<AkmaAfKeyRequest>) -> Result<SbiJson<Value>, SbiError> {
    Ok(SbiJson(json!({
        "afId": req.af_id,
        "fqdn": req.af_fqdn.as_str(),
        "ua": req.af_ua.map(|u| u.to_hex()),
        "anon": req.anon_ind,
        "aKId": req.a_kid.as_str(),
    })))
}

async fn remove(SbiJson(_r): SbiJson<CtxRemove>) -> StatusCode {
    StatusCode::NO_CONTENT
}

fn app() -> Router {
    with_sbi_fallbacks(
        Router::new()
            .route("/naanf-akma/v1/register-anchorkey", post(register))
            .route("/naanf-akma/v1/retrieve-applicationkey", post(retrieve))
            .route("/naanf-akma/v1/remove-context", post(remove)),
    )
}

struct Resp {
    status: StatusCode,
    headers: http::HeaderMap,
    body: Value,
}

async fn send(req: Request<Body>) -> Resp {
    let r = app().oneshot(req).await.unwrap();
    let (p, b) = r.into_parts();
    let bytes = b.collect().await.unwrap().to_bytes();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Resp {
        status: p.status,
        headers: p.headers,
        body,
    }
}

async fn post_json(path: &str, ct: Option<&str>, body: impl Into<Body>) -> Resp {
    let mut b = Request::post(path);
    if let Some(ct) = ct {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    send(b.body(body.into()).unwrap()).await
}

async fn register_value(v: Value) -> Resp {
    post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("application/json"),
        v.to_string(),
    )
    .await
}

fn assert_problem(r: &Resp, status: u16, cause: Option<&str>) {
    assert_eq!(r.status.as_u16(), status, "body: {}", r.body);
    assert_eq!(
        r.headers[header::CONTENT_TYPE],
        "application/problem+json",
        "body: {}",
        r.body
    );
    assert_eq!(r.body["status"], status);
    assert_eq!(r.body["cause"].as_str(), cause, "body: {}", r.body);
}

fn params(r: &Resp) -> Vec<String> {
    r.body["invalidParams"]
        .as_array()
        .unwrap_or_else(|| panic!("no invalidParams in {}", r.body))
        .iter()
        .map(|p| p["param"].as_str().unwrap().to_owned())
        .collect()
}

fn good() -> Value {
    json!({"supi": "imsi-901700000021309", "aKId": AKID, "kAkma": KAKMA})
}

#[tokio::test]
async fn valid_register_round_trips() {
    let r = register_value(good()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.headers[header::CONTENT_TYPE], "application/json");
    assert_eq!(r.body, good());
}

#[tokio::test]
async fn content_type_with_parameters_is_accepted() {
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("Application/JSON; charset=utf-8"),
        good().to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn missing_content_type_is_415() {
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        None,
        good().to_string(),
    )
    .await;
    assert_problem(&r, 415, Some("UNSUPPORTED_MEDIA_TYPE"));
}

#[tokio::test]
async fn wrong_content_type_is_415_even_with_a_bad_body() {
    // Content type is checked before size and syntax.
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("text/plain"),
        "{not json",
    )
    .await;
    assert_problem(&r, 415, Some("UNSUPPORTED_MEDIA_TYPE"));
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("application/jsonx"),
        good().to_string(),
    )
    .await;
    assert_problem(&r, 415, Some("UNSUPPORTED_MEDIA_TYPE"));
}

#[tokio::test]
async fn oversized_body_with_length_is_413() {
    let big = format!(r#"{{"pad":"{}"}}"#, "a".repeat(MAX_BODY_BYTES));
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("application/json"),
        big,
    )
    .await;
    assert_problem(&r, 413, None);
}

#[tokio::test]
async fn oversized_chunked_body_is_413() {
    // A streamed body has no Content-Length: the limit applies while reading.
    let body = Body::new(Chunked { left: 80 });
    let req = Request::post("/naanf-akma/v1/register-anchorkey")
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .unwrap();
    assert!(req.headers().get(header::CONTENT_LENGTH).is_none());
    let r = send(req).await;
    assert_problem(&r, 413, None);
}

#[tokio::test]
async fn body_at_the_limit_is_read() {
    // Exactly 64 KiB of valid JSON (whitespace padding) passes the size check.
    let mut s = good().to_string();
    s.push_str(&" ".repeat(MAX_BODY_BYTES - s.len()));
    assert_eq!(s.len(), MAX_BODY_BYTES);
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("application/json"),
        s,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

/// A body of `n` chunks of 1 KiB with no size hint (as a chunked HTTP/1.1 body).
struct Chunked {
    left: usize,
}

impl hyper::body::Body for Chunked {
    type Data = axum::body::Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        if self.left == 0 {
            return std::task::Poll::Ready(None);
        }
        self.left -= 1;
        let chunk = axum::body::Bytes::from(vec![b' '; 1024]);
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(chunk))))
    }
}

#[tokio::test]
async fn malformed_json_is_invalid_msg_format() {
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("application/json"),
        r#"{"supi": "imsi-001010000000001","#,
    )
    .await;
    assert_problem(&r, 400, Some("INVALID_MSG_FORMAT"));
    let r = post_json(
        "/naanf-akma/v1/register-anchorkey",
        Some("application/json"),
        "",
    )
    .await;
    assert_problem(&r, 400, Some("INVALID_MSG_FORMAT"));
}

#[tokio::test]
async fn non_object_is_invalid_msg_format() {
    for v in [json!([1, 2]), json!("x"), json!(null), json!(3)] {
        let r = register_value(v).await;
        assert_problem(&r, 400, Some("INVALID_MSG_FORMAT"));
    }
}

#[tokio::test]
async fn missing_akid_is_mandatory_ie_missing_with_pointer() {
    let mut v = good();
    v.as_object_mut().unwrap().remove("aKId");
    let r = register_value(v).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(r.body["invalidParams"], json!([{"param": "/aKId"}]));
}

#[tokio::test]
async fn every_missing_field_is_reported() {
    let r = register_value(json!({})).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(params(&r), ["/supi", "/gpsi", "/aKId", "/kAkma"]);
}

#[tokio::test]
async fn missing_wins_over_incorrect_but_both_are_listed() {
    let r = register_value(json!({"supi": "bogus", "kAkma": KAKMA})).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(params(&r), ["/aKId", "/supi"]);
    assert!(r.body["invalidParams"][1]["reason"].is_string());
}

#[tokio::test]
async fn bad_supi_is_mandatory_ie_incorrect() {
    let mut v = good();
    v["supi"] = json!("imsi-12");
    let r = register_value(v).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(params(&r), ["/supi"]);
    let reason = r.body["invalidParams"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("SUPI"), "{reason}");
}

#[tokio::test]
async fn supi_of_wrong_type_is_mandatory_ie_incorrect() {
    let mut v = good();
    v["supi"] = json!(1234567);
    let r = register_value(v).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(
        r.body["invalidParams"],
        json!([{"param": "/supi", "reason": "expected a string, got a number"}])
    );
}

#[tokio::test]
async fn both_supi_and_gpsi_violate_one_of() {
    let mut v = good();
    v["gpsi"] = json!("msisdn-491711234567");
    let r = register_value(v).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(params(&r), ["/supi", "/gpsi"]);
}

#[tokio::test]
async fn gpsi_alone_is_accepted() {
    let v = json!({"gpsi": "msisdn-491711234567", "aKId": AKID, "kAkma": KAKMA});
    let r = register_value(v.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body, v);
}

#[tokio::test]
async fn malformed_akid_is_mandatory_ie_incorrect() {
    for bad in ["no-at-sign", "0.abc@", "@realm.org", "x.y@realm.org"] {
        let mut v = good();
        v["aKId"] = json!(bad);
        let r = register_value(v).await;
        assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
        assert_eq!(params(&r), ["/aKId"], "{bad}");
    }
}

#[tokio::test]
async fn bad_kakma_is_incorrect_and_not_echoed() {
    let secretish = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeZZ";
    for bad in [&KAKMA[..62], secretish, "", &format!("{KAKMA}00")[..]] {
        let mut v = good();
        v["kAkma"] = json!(bad);
        let r = register_value(v).await;
        assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
        assert_eq!(params(&r), ["/kAkma"]);
        let text = r.body.to_string();
        assert!(!text.contains("deadbeef"), "{text}");
        if bad.len() >= 8 {
            assert!(!text.contains(&bad[..8]), "{text}");
        }
    }
}

#[tokio::test]
async fn kakma_accepted_in_upper_case_and_emitted_lower() {
    let mut v = good();
    v["kAkma"] = json!(KAKMA.to_ascii_uppercase());
    let r = register_value(v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["kAkma"], KAKMA);
}

#[tokio::test]
async fn bad_supp_feat_is_optional_ie_incorrect() {
    let mut v = good();
    v["suppFeat"] = json!("12G");
    let r = register_value(v).await;
    assert_problem(&r, 400, Some("OPTIONAL_IE_INCORRECT"));
    assert_eq!(params(&r), ["/suppFeat"]);
}

#[tokio::test]
async fn unknown_fields_are_ignored() {
    let mut v = good();
    v["futureAttribute"] = json!({"x": [1, 2, 3]});
    let r = register_value(v).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("futureAttribute").is_none());
}

async fn retrieve_value(v: Value) -> Resp {
    post_json(
        "/naanf-akma/v1/retrieve-applicationkey",
        Some("application/json"),
        v.to_string(),
    )
    .await
}

#[tokio::test]
async fn retrieve_request_parses_af_id_with_and_without_ua() {
    let r = retrieve_value(json!({"afId": "af.example.com", "aKId": AKID})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["fqdn"], "af.example.com");
    assert_eq!(r.body["ua"], Value::Null);
    assert_eq!(r.body["anon"], false);

    let r = retrieve_value(
        json!({"afId": "af.example.com;ua=01000100A8", "aKId": AKID, "anonInd": true}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["afId"], "af.example.com;ua=01000100A8");
    assert_eq!(r.body["ua"], "01000100a8");
    assert_eq!(r.body["anon"], true);
}

#[tokio::test]
async fn retrieve_request_errors() {
    let r = retrieve_value(json!({"aKId": AKID})).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(r.body["invalidParams"], json!([{"param": "/afId"}]));

    let r = retrieve_value(json!({"afId": "not a host", "aKId": AKID})).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(params(&r), ["/afId"]);

    let r = retrieve_value(json!({"afId": "af.example.com;ua=zz", "aKId": AKID})).await;
    assert_problem(&r, 400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(params(&r), ["/afId"]);

    let r = retrieve_value(json!({"afId": "af.example.com", "aKId": AKID, "anonInd": "yes"})).await;
    assert_problem(&r, 400, Some("OPTIONAL_IE_INCORRECT"));
    assert_eq!(params(&r), ["/anonInd"]);
}

#[tokio::test]
async fn remove_context_requires_supi() {
    let r = post_json(
        "/naanf-akma/v1/remove-context",
        Some("application/json"),
        "{}",
    )
    .await;
    assert_problem(&r, 400, Some("MANDATORY_IE_MISSING"));
    // The SUPI, or (the project's extension for GPSI-only contexts) the GPSI.
    assert_eq!(
        r.body["invalidParams"],
        json!([{"param": "/supi"}, {"param": "/gpsi"}])
    );
    let r = post_json(
        "/naanf-akma/v1/remove-context",
        Some("application/json"),
        json!({"supi": "imsi-901700000021309"}).to_string(),
    )
    .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn unknown_path_is_404_problem() {
    let r = post_json("/naanf-akma/v1/nope", Some("application/json"), "{}").await;
    assert_problem(&r, 404, Some("RESOURCE_URI_STRUCTURE_NOT_FOUND"));
    assert!(r.body["detail"]
        .as_str()
        .unwrap()
        .contains("/naanf-akma/v1/nope"));
}

#[tokio::test]
async fn wrong_method_is_405_problem_with_allow() {
    let r = send(
        Request::get("/naanf-akma/v1/register-anchorkey")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_problem(&r, 405, None);
    assert_eq!(r.headers[header::ALLOW], "POST");
}

// ---------------------------------------------------------------------------------------
// application/3gppHal+json and application/x-www-form-urlencoded

#[derive(serde::Deserialize, serde::Serialize)]
struct TokenReq {
    grant_type: String,
    #[serde(rename = "nfInstanceId")]
    nf_instance_id: String,
    scope: String,
}

async fn hal(SbiHalJson(r): SbiHalJson<CtxRemove>) -> SbiHalJson<CtxRemove> {
    SbiHalJson(r)
}

async fn token(SbiForm(t): SbiForm<TokenReq>) -> SbiJson<Value> {
    SbiJson(json!({"grant": t.grant_type, "id": t.nf_instance_id, "scope": t.scope}))
}

fn other_app() -> Router {
    with_sbi_fallbacks(
        Router::new()
            .route("/hal", post(hal))
            .route("/oauth2/token", post(token)),
    )
}

async fn send_to(app: Router, path: &str, ct: &str, body: &str) -> (StatusCode, String, Value) {
    let req = Request::post(path)
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    let v = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, ct, v)
}

#[tokio::test]
async fn hal_json_in_and_out() {
    let body = r#"{"supi":"imsi-001010000000001"}"#;
    for ct in [
        "application/3gppHal+json",
        "application/json; charset=utf-8",
    ] {
        let (s, ct, v) = send_to(other_app(), "/hal", ct, body).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(ct, "application/3gppHal+json");
        assert_eq!(v["supi"], "imsi-001010000000001");
    }
    let (s, ct, v) = send_to(other_app(), "/hal", "text/plain", body).await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(ct, "application/problem+json");
    assert_eq!(v["cause"], "UNSUPPORTED_MEDIA_TYPE");
    let (s, _, v) = send_to(other_app(), "/hal", "application/3gppHal+json", "{}").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["cause"], "MANDATORY_IE_MISSING");
    assert_eq!(v["invalidParams"][0]["param"], "/supi");
}

#[tokio::test]
async fn form_urlencoded_token_request() {
    let form = "grant_type=client_credentials&nfInstanceId=3fa85f64-5717-4562-b3fc-2c963f66afa6&scope=naanf-akma%20naanf-akma%3Aanchorkey";
    let (s, _, v) = send_to(
        other_app(),
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        form,
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["grant"], "client_credentials");
    assert_eq!(v["scope"], "naanf-akma naanf-akma:anchorkey");

    let (s, _, v) = send_to(other_app(), "/oauth2/token", "application/json", "{}").await;
    assert_eq!(s, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(v["cause"], "UNSUPPORTED_MEDIA_TYPE");

    let (s, _, v) = send_to(
        other_app(),
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        "grant_type=client_credentials&scope=x",
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(v["cause"], "MANDATORY_IE_MISSING");
    assert_eq!(v["invalidParams"][0]["param"], "nfInstanceId");

    let big = format!("grant_type={}", "a".repeat(MAX_BODY_BYTES + 1));
    let (s, _, _) = send_to(
        other_app(),
        "/oauth2/token",
        "application/x-www-form-urlencoded",
        &big,
    )
    .await;
    assert_eq!(s, StatusCode::PAYLOAD_TOO_LARGE);
}
