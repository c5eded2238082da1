//! The AUSF in development mode over real HTTP/2 with prior knowledge (h2c), with a real UDM
//! and a real AAnF behind it: 5G AKA and EAP-AKA' end to end, the AKMA registration that
//! follows only a successful authentication of an AKMA subscriber, resynchronisation,
//! deregistration, and every refusal as a TS 29.500 ProblemDetails that changes nothing.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use akma_core::aka::{build_auts, derive_k_seaf, sqn_from_u64, sqn_to_u64, verify_autn};
use akma_core::eap::{self, key_derivation_identity, ChallengeRequest, Code, EapPacket};
use akma_core::eap_aka_prime::{derive_ck_ik_prime, EapAkaPrimeKeys};
use akma_core::ids::{MncLen, Supi};
use akma_core::keys::{KAut, KSeaf};
use akma_sbi_client::client::{NausfClient, SbiClient};
use akma_sbi_model::nausf::{
    AuthData5g, AuthResult, AuthenticationInfo, ConfirmationData, DeregistrationInfo, EapSession,
    SupiOrSuci, LINK_EAP_SESSION,
};
use base64::Engine as _;
use common::*;
use reqwest::{Method, StatusCode, Version};
use serde_json::{json, Value};

fn auth_body(supi_or_suci: &str) -> Value {
    json!({"supiOrSuci": supi_or_suci, "servingNetworkName": SNN})
}

/// POST /ue-authentications and check the 201 on the wire; returns (body, Location).
async fn authenticate(s: &Stack, body: &Value) -> (Value, String) {
    let a = post_json(&s.http, &format!("{}/ue-authentications", s.base()), body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.version, Version::HTTP_2);
    assert_eq!(
        a.content_type.as_deref(),
        Some("application/3gppHal+json"),
        "TS 29.509: the 201 is application/3gppHal+json"
    );
    let location = a.location().expect("201 carries Location");
    let prefix = format!("{}/ue-authentications/", s.base());
    assert!(location.starts_with(&prefix), "{location}");
    (a.body, location)
}

fn rand_autn(body: &Value) -> ([u8; 16], [u8; 16]) {
    (
        hex16(&body["5gAuthData"]["rand"]),
        hex16(&body["5gAuthData"]["autn"]),
    )
}

//= test 33535-6.1-ausf-register-anchor-key, 33535-6.1-ausf-derive-after-success
#[tokio::test]
async fn five_g_aka_registers_a_context_that_resolves() {
    let s = Stack::start(Options::default()).await;
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    assert_eq!(body["authType"], "5G_AKA");
    assert_eq!(body["servingNetworkName"], SNN);
    let confirm = body["_links"]["5g-aka"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(confirm, format!("{location}/5g-aka-confirmation"));
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    // HXRES* = the 128 LSBs... of SHA-256(RAND ‖ XRES*) (TS 33.501 A.5): the SEAF's check.
    assert_eq!(
        hex16(&body["5gAuthData"]["hxresStar"]),
        akma_core::aka::hxres_star(&rand, &ue.res_star)
    );
    // Not resolvable before the confirmation.
    assert_eq!(s.kaf(&ue.akma.a_kid).await, None);

    let a = put_json(
        &s.http,
        &confirm,
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS");
    assert_eq!(a.body["supi"], AKMA_SUPI);
    let kseaf = derive_k_seaf(
        &ue.k_ausf,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
    );
    assert_eq!(a.body["kseaf"], kseaf.expose_hex().as_str());

    // Registered before the answer: K_AF from the AAnF equals the one from our K_AKMA.
    let kaf = s.kaf(&ue.akma.a_kid).await.expect("the A-KID resolves");
    assert_eq!(kaf, expected_kaf(&ue.akma));
    assert!(ue.akma.a_kid.as_str().starts_with("12."));
    assert!(ue
        .akma
        .a_kid
        .as_str()
        .ends_with("@5gc.mnc001.mcc001.3gppnetwork.org"));

    // A context is confirmed once.
    let again = put_json(
        &s.http,
        &confirm,
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    again.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    assert_eq!(s.kaf(&ue.akma.a_kid).await, Some(kaf));

    // The SEAF deletes the result (e.g. NAS SMC failure): 204, then the context is gone.
    let d = send(&s.http, Method::DELETE, &confirm, None, None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT, "{}", d.body);
    let d = send(&s.http, Method::DELETE, &confirm, None, None).await;
    d.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    assert_eq!(s.shutdown_and_count().await, 1);
}

//= test 33535-6.1-ausf-derive-after-success
#[tokio::test]
async fn wrong_res_star_fails_and_registers_nothing() {
    let s = Stack::start(Options::default()).await;
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    let mut wrong = ue.res_star;
    wrong[15] ^= 0x01;
    let confirm = format!("{location}/5g-aka-confirmation");
    let a = put_json(
        &s.http,
        &confirm,
        &json!({"resStar": akma_core::hex::encode(&wrong)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body, json!({"authResult": "AUTHENTICATION_FAILURE"}));
    // The right RES* afterwards does not help: the context was confirmed (as a failure).
    let a = put_json(
        &s.http,
        &confirm,
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    a.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    assert_eq!(s.kaf(&ue.akma.a_kid).await, None);

    // A null resStar is a failure too.
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue2 = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    let a = put_json(
        &s.http,
        &format!("{location}/5g-aka-confirmation"),
        &json!({"resStar": null}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_FAILURE");
    assert_eq!(s.kaf(&ue2.akma.a_kid).await, None);
    assert_eq!(s.shutdown_and_count().await, 0, "nothing was registered");
}

//= test 33535-6.1-ausf-derive-after-success
#[tokio::test]
async fn non_akma_subscriber_registers_nothing() {
    let s = Stack::start(Options::default()).await;
    let (body, location) = authenticate(&s, &auth_body(PLAIN_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(PLAIN_SUPI, &rand, &autn);
    let a = put_json(
        &s.http,
        &format!("{location}/5g-aka-confirmation"),
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);
    assert_eq!(
        a.body["kseaf"],
        derive_k_seaf(
            &ue.k_ausf,
            &akma_core::ids::ServingNetworkName::parse(SNN).unwrap()
        )
        .expose_hex()
        .as_str()
    );
    assert_eq!(s.kaf(&ue.akma.a_kid).await, None);
    assert_eq!(s.shutdown_and_count().await, 0);
}

#[tokio::test]
async fn abandoned_context_expires_and_registers_nothing() {
    let s = Stack::start(Options {
        lifetime: 30,
        ..Options::default()
    })
    .await;
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    assert_eq!(s.ausf.ausf.contexts_held(), 1);
    s.clock.advance(30);
    // Swept in the background or on access; either way the confirmation finds nothing.
    assert_eq!(s.ausf.ausf.sweep(), 1);
    assert_eq!(s.ausf.ausf.contexts_held(), 0);
    let a = put_json(
        &s.http,
        &format!("{location}/5g-aka-confirmation"),
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    a.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    assert_eq!(s.kaf(&ue.akma.a_kid).await, None);

    // Expiry is checked on access too (no sweep in between).
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    s.clock.advance(31);
    let a = put_json(
        &s.http,
        &format!("{location}/5g-aka-confirmation"),
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    a.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    assert_eq!(s.kaf(&ue.akma.a_kid).await, None);
    assert_eq!(s.shutdown_and_count().await, 0);
}

#[tokio::test]
async fn resynchronisation_through_the_udm() {
    let s = Stack::start(Options::default()).await;
    let (body, _) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let m = milenage(AKMA_SUPI);
    let first = verify_autn(&m, &rand, &autn).unwrap();
    // The USIM's SQN is far ahead of the UDM's: it answers with AUTS (TS 33.102 §6.3.3).
    let sqn_ms = sqn_to_u64(&first.sqn) + (1000 << 5);
    let auts = build_auts(&m, &rand, &sqn_from_u64(sqn_ms));
    let mut resync = auth_body(AKMA_SUPI);
    resync["resynchronizationInfo"] = json!({
        "rand": akma_core::hex::encode(&rand),
        "auts": akma_core::hex::encode(&auts),
    });
    let (body, location) = authenticate(&s, &resync).await;
    let (rand2, autn2) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand2, &autn2);
    assert!(
        sqn_to_u64(&ue.verified.sqn) > sqn_ms,
        "the new vector's SQN follows SQN_MS"
    );
    let a = put_json(
        &s.http,
        &format!("{location}/5g-aka-confirmation"),
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);
    assert_eq!(s.kaf(&ue.akma.a_kid).await, Some(expected_kaf(&ue.akma)));

    // A forged AUTS: the UDM refuses it, the AUSF passes the refusal on.
    let mut bad = resync.clone();
    bad["resynchronizationInfo"]["rand"] = json!(akma_core::hex::encode(&rand2));
    bad["resynchronizationInfo"]["auts"] = json!("00".repeat(14));
    let a = post_json(&s.http, &format!("{}/ue-authentications", s.base()), &bad).await;
    a.assert_problem(403, Some("AUTHENTICATION_REJECTED"));
}

#[tokio::test]
async fn suci_and_unknown_subscribers() {
    let s = Stack::start(Options::default()).await;
    // Null-scheme SUCI of imsi-001010000000001 (MCC 001, MNC 01, RID 12, MSIN 0000000001).
    let (body, location) = authenticate(&s, &auth_body("suci-0-001-01-12-0-0-0000000001")).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    let a = put_json(
        &s.http,
        &format!("{location}/5g-aka-confirmation"),
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);
    assert_eq!(a.body["supi"], AKMA_SUPI, "the SUPI comes from the UDM");
    assert!(s.kaf(&ue.akma.a_kid).await.is_some());

    let a = post_json(
        &s.http,
        &format!("{}/ue-authentications", s.base()),
        &auth_body("imsi-001019999999999"),
    )
    .await;
    a.assert_problem(404, Some("USER_NOT_FOUND"));
}

async fn eap_round(client: &NausfClient, link: &str, packet: Vec<u8>) -> EapSession {
    client
        .eap_session(link, &EapSession::with_payload(packet))
        .await
        .expect("EAP session answer")
}

/// The peer's keys for a challenge (RFC 9048 §3.3 with the 5G identity of TS 33.501 F.3).
fn peer(supi: &str, ch: &ChallengeRequest) -> (EapAkaPrimeKeys, [u8; 8]) {
    let v = verify_autn(&milenage(supi), &ch.rand, &ch.autn).expect("AUTN verifies");
    let (ck, ik) = derive_ck_ik_prime(&v.ck, &v.ik, &ch.network_name, &v.sqn_xor_ak).unwrap();
    let supi = Supi::parse(supi).unwrap();
    (
        EapAkaPrimeKeys::derive(&ck, &ik, key_derivation_identity(&supi)),
        v.res,
    )
}

//= test 33535-6.1-ausf-register-anchor-key, 33535-6.1-ausf-derive-after-success
#[tokio::test]
async fn eap_aka_prime_success_registers_and_bad_mac_fails() {
    let s = Stack::start(Options::default()).await;
    let client = NausfClient::new(SbiClient::h2c().unwrap(), s.api_root());
    let supi = Supi::parse(EAP_SUPI).unwrap();
    let info = AuthenticationInfo::new(SupiOrSuci::Supi(supi.clone()), SNN.parse().unwrap());
    let created = client.authenticate(&info).await.expect("201");
    assert_eq!(
        created.content_type.as_deref(),
        Some("application/3gppHal+json")
    );
    let ctx = created.body;
    assert_eq!(ctx.auth_type.as_str(), "EAP_AKA_PRIME");
    let AuthData5g::EapPayload(req) = &ctx.auth_data else {
        panic!("EAP payload expected")
    };
    let ch = ChallengeRequest::decode(req).expect("an AKA'-Challenge");
    assert_eq!(ch.kdfs, vec![1]);
    assert_eq!(ch.network_name, SNN.as_bytes());
    let (keys, res) = peer(EAP_SUPI, &ch);
    eap::verify_mac(&keys.k_aut, req).expect("the server's AT_MAC verifies");
    let link = ctx.link(LINK_EAP_SESSION).unwrap().to_owned();
    assert_eq!(
        link,
        format!("{}/eap-session", created.location.as_deref().unwrap())
    );

    // Garbage first: 400, and the exchange goes on.
    let e = client
        .eap_session(&link, &EapSession::with_payload(vec![2, ch.identifier, 0]))
        .await
        .unwrap_err();
    assert_eq!(e.status(), Some(StatusCode::BAD_REQUEST));
    assert_eq!(
        e.problem().unwrap().invalid_params.as_ref().unwrap()[0].param,
        "/eapPayload"
    );

    let resp = eap::challenge_response(ch.identifier, &res, &keys.k_aut).unwrap();
    let fin = eap_round(&client, &link, resp).await;
    assert_eq!(fin.auth_result, Some(AuthResult::Success));
    assert_eq!(fin.supi.as_ref(), Some(&supi));
    let success = EapPacket::decode(fin.eap_payload.as_ref().unwrap()).unwrap();
    assert_eq!(success.code, Code::Success);
    assert_eq!(success.identifier, ch.identifier);
    let k_ausf = keys.k_ausf();
    let k_seaf: KSeaf = derive_k_seaf(
        &k_ausf,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
    );
    assert_eq!(fin.k_seaf.as_ref(), Some(&k_seaf));
    let akma =
        akma_core::akma::derive_akma_keys(&k_ausf, &supi, &rid(EAP_SUPI), MncLen::Two).unwrap();
    assert!(akma.a_kid.as_str().starts_with("7."));
    assert_eq!(s.kaf(&akma.a_kid).await, Some(expected_kaf(&akma)));

    // Bad AT_MAC: EAP-Failure, AUTHENTICATION_FAILURE, nothing registered.
    let ctx = client.authenticate(&info).await.unwrap().body;
    let AuthData5g::EapPayload(req) = &ctx.auth_data else {
        panic!()
    };
    let ch = ChallengeRequest::decode(req).unwrap();
    let (keys, res) = peer(EAP_SUPI, &ch);
    let forged =
        eap::challenge_response(ch.identifier, &res, &KAut::from_bytes([0x55; 32])).unwrap();
    let fin = eap_round(&client, ctx.link(LINK_EAP_SESSION).unwrap(), forged).await;
    assert_eq!(fin.auth_result, Some(AuthResult::Failure));
    assert_eq!(fin.k_seaf, None);
    assert_eq!(fin.supi, None);
    assert_eq!(
        EapPacket::decode(fin.eap_payload.as_ref().unwrap())
            .unwrap()
            .code,
        Code::Failure
    );
    let akma2 =
        akma_core::akma::derive_akma_keys(&keys.k_ausf(), &supi, &rid(EAP_SUPI), MncLen::Two)
            .unwrap();
    assert_eq!(s.kaf(&akma2.a_kid).await, None);
    // And the first context is still the registered one.
    assert!(s.kaf(&akma.a_kid).await.is_some());

    // The 5G AKA confirmation of an EAP context does not exist.
    let e = client
        .confirm_5g_aka_by_id(
            ctx.link(LINK_EAP_SESSION)
                .unwrap()
                .rsplit('/')
                .nth(1)
                .unwrap(),
            &ConfirmationData::new([0; 16]),
        )
        .await
        .unwrap_err();
    assert_eq!(e.cause(), Some("CONTEXT_NOT_FOUND"));
}

#[tokio::test]
async fn eap_aka_prime_resync_and_reject() {
    let s = Stack::start(Options::default()).await;
    // On the wire, to check the media types of a continuing session.
    let (body, location) = authenticate(&s, &auth_body(EAP_PLAIN_SUPI)).await;
    let req = base64::engine::general_purpose::STANDARD
        .decode(body["5gAuthData"].as_str().unwrap())
        .unwrap();
    let ch = ChallengeRequest::decode(&req).unwrap();
    let m = milenage(EAP_PLAIN_SUPI);
    let v = verify_autn(&m, &ch.rand, &ch.autn).unwrap();
    let sqn_ms = sqn_to_u64(&v.sqn) + (77 << 5);
    let auts = build_auts(&m, &ch.rand, &sqn_from_u64(sqn_ms));
    let sf = eap::synchronization_failure(ch.identifier, &auts, &ch.network_name).unwrap();
    let link = format!("{location}/eap-session");
    let b64 = |p: &[u8]| base64::engine::general_purpose::STANDARD.encode(p);
    let a = post_json(&s.http, &link, &json!({"eapPayload": b64(&sf)})).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.content_type.as_deref(), Some("application/3gppHal+json"));
    assert_eq!(a.body["_links"]["eap-session"]["href"], link);
    let req2 = base64::engine::general_purpose::STANDARD
        .decode(a.body["eapPayload"].as_str().unwrap())
        .unwrap();
    let ch2 = ChallengeRequest::decode(&req2).unwrap();
    assert_ne!(ch2.identifier, ch.identifier);
    let (keys, res) = peer(EAP_PLAIN_SUPI, &ch2);
    let v2 = verify_autn(&m, &ch2.rand, &ch2.autn).unwrap();
    assert!(sqn_to_u64(&v2.sqn) > sqn_ms);
    let resp = eap::challenge_response(ch2.identifier, &res, &keys.k_aut).unwrap();
    let a = post_json(&s.http, &link, &json!({"eapPayload": b64(&resp)})).await;
    assert_eq!(a.content_type.as_deref(), Some("application/json"));
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);
    assert_eq!(
        a.body["kSeaf"],
        derive_k_seaf(
            &keys.k_ausf(),
            &akma_core::ids::ServingNetworkName::parse(SNN).unwrap()
        )
        .expose_hex()
        .as_str()
    );
    // Finished: a further response is refused.
    let a = post_json(&s.http, &link, &json!({"eapPayload": b64(&resp)})).await;
    a.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    // DELETE of the EAP result.
    let d = send(&s.http, Method::DELETE, &link, None, None).await;
    assert_eq!(d.status, StatusCode::NO_CONTENT);

    // The UE rejects the network: EAP-Failure.
    let (body, location) = authenticate(&s, &auth_body(EAP_PLAIN_SUPI)).await;
    let req = base64::engine::general_purpose::STANDARD
        .decode(body["5gAuthData"].as_str().unwrap())
        .unwrap();
    let ch = ChallengeRequest::decode(&req).unwrap();
    let rej = eap::authentication_reject(ch.identifier).unwrap();
    let a = post_json(
        &s.http,
        &format!("{location}/eap-session"),
        &json!({"eapPayload": b64(&rej)}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_FAILURE", "{}", a.body);
    assert_eq!(a.body["eapPayload"], b64(&eap::failure(ch.identifier)));
    // Client-Error likewise.
    let (body, location) = authenticate(&s, &auth_body(EAP_PLAIN_SUPI)).await;
    let req = base64::engine::general_purpose::STANDARD
        .decode(body["5gAuthData"].as_str().unwrap())
        .unwrap();
    let ch = ChallengeRequest::decode(&req).unwrap();
    let ce = eap::client_error(ch.identifier, 0).unwrap();
    let a = post_json(
        &s.http,
        &format!("{location}/eap-session"),
        &json!({"eapPayload": b64(&ce)}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_FAILURE", "{}", a.body);
}

//= test 33501-6.1.4.1-deregistration-removes-context
#[tokio::test]
async fn deregistration_removes_the_akma_context() {
    let s = Stack::start(Options::default()).await;
    let client = NausfClient::new(SbiClient::h2c().unwrap(), s.api_root());
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    let r = client
        .confirm_5g_aka(
            &format!("{location}/5g-aka-confirmation"),
            &ConfirmationData::new(ue.res_star),
        )
        .await
        .unwrap();
    assert_eq!(r.auth_result, AuthResult::Success);
    assert!(s.kaf(&ue.akma.a_kid).await.is_some());

    let a = post_json(
        &s.http,
        &format!("{}/ue-authentications/deregister", s.base()),
        &json!({"supi": AKMA_SUPI}),
    )
    .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT, "{}", a.body);
    assert_eq!(s.kaf(&ue.akma.a_kid).await, None);
    // Idempotent, through the typed client too.
    client
        .deregister(&DeregistrationInfo::new(Supi::parse(AKMA_SUPI).unwrap()))
        .await
        .unwrap();
    assert_eq!(s.shutdown_and_count().await, 0);
}

#[tokio::test]
async fn malformed_inputs_are_400_and_unknown_contexts_404() {
    let s = Stack::start(Options {
        ausf_toml: Some("serving_networks = [\"5G:mnc001.mcc001.3gppnetwork.org\"]\n".to_owned()),
        ..Options::default()
    })
    .await;
    let url = format!("{}/ue-authentications", s.base());
    let a = post_json(&s.http, &url, &json!({})).await;
    a.assert_problem(400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(
        a.invalid_params(),
        vec!["/supiOrSuci", "/servingNetworkName"]
    );

    let a = post_json(
        &s.http,
        &url,
        &json!({"supiOrSuci": "imsi-12", "servingNetworkName": "5G:mnc1.mcc1"}),
    )
    .await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(
        a.invalid_params(),
        vec!["/supiOrSuci", "/servingNetworkName"]
    );

    let mut b = auth_body(AKMA_SUPI);
    b["resynchronizationInfo"] = json!({"rand": "00"});
    let a = post_json(&s.http, &url, &b).await;
    a.assert_problem(400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(
        a.invalid_params(),
        vec!["/resynchronizationInfo/auts", "/resynchronizationInfo/rand"]
    );

    let a = send(
        &s.http,
        Method::POST,
        &url,
        None,
        Some(("application/json", b"{not json".to_vec())),
    )
    .await;
    a.assert_problem(400, Some("INVALID_MSG_FORMAT"));
    let a = send(
        &s.http,
        Method::POST,
        &url,
        None,
        Some(("text/plain", b"{}".to_vec())),
    )
    .await;
    a.assert_problem(415, Some("UNSUPPORTED_MEDIA_TYPE"));

    // A serving network this AUSF does not serve.
    let a = post_json(
        &s.http,
        &url,
        &json!({"supiOrSuci": AKMA_SUPI, "servingNetworkName": "5G:mnc002.mcc001.3gppnetwork.org"}),
    )
    .await;
    a.assert_problem(403, Some("SERVING_NETWORK_NOT_AUTHORIZED"));

    // Unknown contexts.
    let a = put_json(
        &s.http,
        &format!("{url}/0123/5g-aka-confirmation"),
        &json!({"resStar": "00".repeat(16)}),
    )
    .await;
    a.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    let a = post_json(
        &s.http,
        &format!("{url}/0123/eap-session"),
        &json!({"eapPayload": "AgEACDIBAAA="}),
    )
    .await;
    a.assert_problem(404, Some("CONTEXT_NOT_FOUND"));
    let a = send(
        &s.http,
        Method::GET,
        &format!("{}/rg-authentications", s.base()),
        None,
        None,
    )
    .await;
    a.assert_problem(404, Some("RESOURCE_URI_STRUCTURE_NOT_FOUND"));

    // Bad confirmation bodies change nothing: the right RES* still works afterwards.
    let (body, location) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    let confirm = format!("{location}/5g-aka-confirmation");
    let a = put_json(&s.http, &confirm, &json!({"resStar": "xyz"})).await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), vec!["/resStar"]);
    let a = put_json(&s.http, &confirm, &json!({})).await;
    a.assert_problem(400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(a.invalid_params(), vec!["/resStar"]);
    let a = post_json(
        &s.http,
        &format!("{location}/eap-session"),
        &json!({"eapPayload": "!!"}),
    )
    .await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    let a = put_json(
        &s.http,
        &confirm,
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS", "{}", a.body);

    let a = post_json(
        &s.http,
        &format!("{url}/deregister"),
        &json!({"supi": "imsi-x"}),
    )
    .await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), vec!["/supi"]);

    // HTTP/1.1 works too (conformance tools speak it).
    let h1 = akma_sbi_server::test_pki::http1_client();
    let a = post_json(&h1, &url, &json!({})).await;
    assert_eq!(a.version, Version::HTTP_11);
    a.assert_problem(400, Some("MANDATORY_IE_MISSING"));
    let ok = send(
        &s.http,
        Method::GET,
        &format!("http://{}/readyz", s.ausf.addr),
        None,
        None,
    )
    .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body, json!("ready\n"));
}

/// The AUSF's auth event (TS 33.501 §6.1.4.1a) carries the injected clock's time, not the
/// system's: the `timeStamp` the UDM stores is the test clock's reading at the confirmation.
#[tokio::test]
async fn auth_event_time_stamp_is_the_injected_clock() {
    let s = Stack::start(Options::default()).await;
    let (body, _) = authenticate(&s, &auth_body(AKMA_SUPI)).await;
    let confirm = body["_links"]["5g-aka"]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    let (rand, autn) = rand_autn(&body);
    let ue = ue_5g_aka(AKMA_SUPI, &rand, &autn);
    s.clock.advance(7);
    let a = put_json(
        &s.http,
        &confirm,
        &json!({"resStar": akma_core::hex::encode(&ue.res_star)}),
    )
    .await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(a.body["authResult"], "AUTHENTICATION_SUCCESS");
    let stored = s
        .udm
        .udm()
        .store()
        .auth_event(&Supi::parse(AKMA_SUPI).unwrap())
        .await
        .unwrap()
        .expect("the UDM stored the AUSF's auth event");
    assert!(stored.event.success);
    assert_eq!(
        stored.event.time_stamp.unix_timestamp(),
        (CLOCK_START + 7) as i64,
        "timeStamp is the injected clock's time"
    );
}

/// Issue 9 #7: the `Location` and `_links` of a new authentication context name the AUSF's
/// own apiRoot (here the bound address), never a forged `Host` (HTTP/1.1) or `:authority`
/// (HTTP/2), so the SEAF's confirmation (RES*) goes nowhere else.
#[tokio::test]
async fn location_and_links_never_name_the_request_host() {
    let s = Stack::start(Options::default()).await;
    let port = s.ausf.addr.port();
    let body = auth_body(AKMA_SUPI).to_string();
    let check = |headers: &reqwest::header::HeaderMap, answer: &Value| {
        let loc = headers["location"].to_str().unwrap().to_owned();
        assert!(
            loc.starts_with(&format!("{}/ue-authentications/", s.base())),
            "{loc}"
        );
        let href = answer["_links"]["5g-aka"]["href"].as_str().unwrap();
        let all = format!("{loc} {answer}");
        assert!(!all.contains("evil"), "{all}");
        assert!(
            href.starts_with(&format!("{}/", s.base())) || href.starts_with('/'),
            "{href}"
        );
    };
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .resolve("evil.example", s.ausf.addr)
        .build()
        .unwrap();
    let r = h2
        .post(format!(
            "http://evil.example:{port}/nausf-auth/v1/ue-authentications"
        ))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.version(), Version::HTTP_2);
    let h = r.headers().clone();
    check(&h, &r.json::<Value>().await.unwrap());
    let r = akma_sbi_server::test_pki::http1_client()
        .post(format!("{}/ue-authentications", s.base()))
        .header("host", "evil.example:666")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.version(), Version::HTTP_11);
    let h = r.headers().clone();
    check(&h, &r.json::<Value>().await.unwrap());
}
