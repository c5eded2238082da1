//! The UDM in development mode over real HTTP/2 with prior knowledge (h2c) and HTTP/1.1:
//! every operation and every error, checked against what a USIM computes.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

mod common;

use std::path::Path;

use akma_core::aka::{
    build_auts, derive_k_ausf, res_star, sqn_from_u64, sqn_to_u64, verify_autn, SqnArray,
};
use akma_core::eap_aka_prime::derive_ck_ik_prime;
use akma_core::hex;
use akma_core::keys::{Opc, K};
use akma_core::milenage::Milenage;
use akma_sbi_model::nudm_sdm::IdTranslationResult;
use akma_sbi_model::nudm_ueau::AuthenticationInfoResult;
use akma_sbi_model::FromSbiJson;
use akma_sbi_server::test_pki::{h2c_client, http1_client};
use akma_udm::config::UdmConfig;
use akma_udm::server::{start, Resolved, Running};
use common::*;
use reqwest::{Client, Method, StatusCode, Version};
use serde_json::{json, Value};

async fn start_dev(dir: &Path) -> Running {
    let r = Resolved {
        config: UdmConfig::parse(&hn_keys_toml()).unwrap(),
        ..Resolved::dev("127.0.0.1:0".parse().unwrap(), dir.join("data"))
    };
    start(r).await.expect("UDM starts")
}

async fn started() -> (tempfile::TempDir, Running, Api) {
    let dir = tempfile::tempdir().unwrap();
    let running = start_dev(dir.path()).await;
    running.udm().provision(subscribers(), false).await.unwrap();
    let api = Api::new(&running, h2c_client());
    (dir, running, api)
}

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(r: &Running, client: Client) -> Self {
        Self {
            client,
            base: format!("http://{}", r.addr),
        }
    }

    async fn generate_raw(&self, ue: &str, ct: &str, body: Vec<u8>) -> Answer {
        send(
            &self.client,
            Method::POST,
            &format!(
                "{}/nudm-ueau/v1/{ue}/security-information/generate-auth-data",
                self.base
            ),
            None,
            Some((ct, body)),
        )
        .await
    }

    async fn generate(&self, ue: &str, body: &Value) -> Answer {
        self.generate_raw(ue, "application/json", body.to_string().into_bytes())
            .await
    }

    async fn generate_ok(&self, ue: &str) -> AuthenticationInfoResult {
        let a = self
            .generate(
                ue,
                &json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        assert_eq!(a.content_type.as_deref(), Some("application/json"));
        AuthenticationInfoResult::from_sbi_json(&a.body).unwrap()
    }

    async fn call(&self, method: Method, path: &str, body: Option<&Value>) -> Answer {
        send(
            &self.client,
            method,
            &format!("{}{path}", self.base),
            None,
            body.map(|b| ("application/json", b.to_string().into_bytes())),
        )
        .await
    }
}

fn usim(k: &str, opc: &str) -> Milenage {
    Milenage::new(&K::from_hex(k).unwrap(), &Opc::from_hex(opc).unwrap())
}

fn auth_event(success: bool) -> Value {
    json!({
        "nfInstanceId": AUSF_ID,
        "success": success,
        "timeStamp": "2025-01-01T12:00:00Z",
        "authType": "5G_AKA",
        "servingNetworkName": SNN
    })
}

//= test 33535-6.1-udm-akma-indication
#[tokio::test]
async fn five_g_aka_vector_verifies_at_the_usim_with_akma_indication() {
    let (_dir, running, api) = started().await;
    let a = api
        .generate(
            AKMA_SUPI,
            &json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID}),
        )
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.version, Version::HTTP_2);
    let b = &a.body;
    assert_eq!(b["authType"], "5G_AKA");
    assert_eq!(b["akmaInd"], true);
    assert_eq!(b["routingId"], "12");
    assert!(b.get("supi").is_none(), "no SUPI when a SUPI was asked for");
    let av = &b["authenticationVector"];
    assert_eq!(av["avType"], "5G_HE_AKA");
    for (k, len) in [("rand", 32), ("autn", 32), ("xresStar", 32), ("kausf", 64)] {
        let v = av[k].as_str().unwrap();
        assert_eq!(v.len(), len, "{k}");
        assert_eq!(v, v.to_lowercase(), "{k} lowercase");
    }

    // The USIM side.
    let m = usim(K1, OPC1);
    let rand = hex::decode_array::<16>(av["rand"].as_str().unwrap()).unwrap();
    let autn = hex::decode_array::<16>(av["autn"].as_str().unwrap()).unwrap();
    let v = verify_autn(&m, &rand, &autn).expect("AUTN verifies, separation bit set");
    assert_eq!(
        sqn_to_u64(&v.sqn),
        (1 << 5) | 1,
        "first vector: SEQ 1, IND 1"
    );
    let mut array = SqnArray::default();
    assert!(array.is_fresh(&v.sqn));
    array.accept(&v.sqn);
    let rs = res_star(
        &v.ck,
        &v.ik,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
        &rand,
        &v.res,
    )
    .unwrap();
    assert_eq!(hex::encode(&rs), av["xresStar"].as_str().unwrap());
    let k_ausf = derive_k_ausf(
        &v.ck,
        &v.ik,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
        &v.sqn_xor_ak,
    );
    assert_eq!(k_ausf.expose_hex().as_str(), av["kausf"].as_str().unwrap());

    // The next vector has the next SQN and is fresh too.
    let next = api.generate_ok(AKMA_SUPI).await;
    let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av2) =
        next.authentication_vector.unwrap()
    else {
        panic!("5G HE AV expected")
    };
    let v2 = verify_autn(&m, &av2.rand, &av2.autn).unwrap();
    assert_eq!(sqn_to_u64(&v2.sqn), (2 << 5) | 2);
    assert!(array.is_fresh(&v2.sqn));

    // Over HTTP/1.1 as well (conformance tools speak it).
    let h1 = Api::new(&running, http1_client());
    let a = h1
        .generate(
            AKMA_SUPI,
            &json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID}),
        )
        .await;
    assert_eq!((a.status, a.version), (StatusCode::OK, Version::HTTP_11));
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn eap_aka_prime_vector() {
    let (_dir, running, api) = started().await;
    let r = api.generate_ok(EAP_SUPI).await;
    assert_eq!(
        r.auth_type,
        akma_sbi_model::nudm_ueau::AuthType::EapAkaPrime
    );
    assert!(!r.akma_ind && r.routing_id.is_none());
    let akma_sbi_model::nudm_ueau::AuthenticationVector::EapAkaPrime(av) =
        r.authentication_vector.unwrap()
    else {
        panic!("EAP-AKA' vector expected")
    };
    let m = usim(K20, OPC20);
    let v = verify_autn(&m, &av.rand, &av.autn).unwrap();
    assert_eq!(av.xres.expose_secret(), &v.res[..]);
    let (ck, ik) = derive_ck_ik_prime(&v.ck, &v.ik, SNN.as_bytes(), &v.sqn_xor_ak).unwrap();
    assert!(ck.ct_eq(&av.ck_prime) && ik.ct_eq(&av.ik_prime));
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn generate_auth_data_errors() {
    let (_dir, running, api) = started().await;
    let ok = json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID});

    api.generate("imsi-001019999999999", &ok)
        .await
        .assert_problem(404, Some("USER_NOT_FOUND"));

    let a = api
        .generate(AKMA_SUPI, &json!({"ausfInstanceId": AUSF_ID}))
        .await;
    a.assert_problem(400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(a.invalid_params(), ["/servingNetworkName"]);

    let a = api
        .generate(
            AKMA_SUPI,
            &json!({"servingNetworkName": "5G:mnc01.mcc001.3gppnetwork.org", "ausfInstanceId": "x"}),
        )
        .await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(
        a.invalid_params(),
        ["/servingNetworkName", "/ausfInstanceId"]
    );

    let a = api
        .generate(
            AKMA_SUPI,
            &json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID,
                    "resynchronizationInfo": {"rand": "00", "auts": "zz"}}),
        )
        .await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(
        a.invalid_params(),
        ["/resynchronizationInfo/rand", "/resynchronizationInfo/auts"]
    );

    let a = api.generate("imsi-12", &ok).await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), ["path supiOrSuci"]);

    api.generate(
        AKMA_SUPI,
        &json!({"servingNetworkName": "5G:NSWO", "ausfInstanceId": AUSF_ID}),
    )
    .await
    .assert_problem(403, Some("SERVING_NETWORK_NOT_AUTHORIZED"));

    api.generate_raw(AKMA_SUPI, "application/json", b"{".to_vec())
        .await
        .assert_problem(400, Some("INVALID_MSG_FORMAT"));
    api.generate_raw(AKMA_SUPI, "text/plain", ok.to_string().into_bytes())
        .await
        .assert_problem(415, Some("UNSUPPORTED_MEDIA_TYPE"));
    api.call(
        Method::GET,
        "/nudm-ueau/v1/x/security-information/generate-auth-data",
        None,
    )
    .await
    .assert_problem(405, None);
    api.call(Method::GET, "/nudm-ueau/v1/nothing-here", None)
        .await
        .assert_problem(404, Some("RESOURCE_URI_STRUCTURE_NOT_FOUND"));

    // None of the refusals moved the SQN: the next vector is still the first.
    let r = api.generate_ok(AKMA_SUPI).await;
    let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av) =
        r.authentication_vector.unwrap()
    else {
        panic!()
    };
    let v = verify_autn(&usim(K1, OPC1), &av.rand, &av.autn).unwrap();
    assert_eq!(sqn_to_u64(&v.sqn) >> 5, 1);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn resynchronisation_from_auts() {
    let (_dir, running, api) = started().await;
    let m = usim(K1, OPC1);
    let first = api.generate_ok(AKMA_SUPI).await;
    let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av) =
        first.authentication_vector.unwrap()
    else {
        panic!()
    };
    // The USIM is ahead (SEQ_MS = 5000, e.g. the UDM was restored from an old backup), so it
    // answers the challenge with a synchronisation failure and AUTS.
    let mut usim_array = SqnArray::default();
    for ind in 0..32 {
        usim_array.accept(&sqn_from_u64((5000 << 5) | ind));
    }
    let v = verify_autn(&m, &av.rand, &av.autn).unwrap();
    assert!(!usim_array.is_fresh(&v.sqn));
    let auts = build_auts(&m, &av.rand, &usim_array.sqn_ms());
    let resync = |rand: &[u8; 16], auts: &[u8; 14]| {
        json!({"servingNetworkName": SNN, "ausfInstanceId": AUTS_AUSF,
               "resynchronizationInfo": {"rand": hex::encode(rand), "auts": hex::encode(auts)}})
    };
    const AUTS_AUSF: &str = AUSF_ID;

    // A flipped MAC-S bit is refused and changes nothing.
    let mut bad = auts;
    bad[13] ^= 0x01;
    api.generate(AKMA_SUPI, &resync(&av.rand, &bad))
        .await
        .assert_problem(403, Some("AUTHENTICATION_REJECTED"));

    // The good AUTS: the new vector carries SEQ_MS + 1 and the USIM accepts it.
    let a = api.generate(AKMA_SUPI, &resync(&av.rand, &auts)).await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    let r = AuthenticationInfoResult::from_sbi_json(&a.body).unwrap();
    let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av2) =
        r.authentication_vector.unwrap()
    else {
        panic!()
    };
    let v2 = verify_autn(&m, &av2.rand, &av2.autn).unwrap();
    assert_eq!(sqn_to_u64(&v2.sqn) >> 5, 5001);
    assert!(usim_array.is_fresh(&v2.sqn));
    assert!(r.akma_ind);

    // Replaying the same (RAND, AUTS) cannot wind SQN_HE back.
    api.generate(AKMA_SUPI, &resync(&av.rand, &auts))
        .await
        .assert_problem(403, Some("AUTHENTICATION_REJECTED"));
    let r = api.generate_ok(AKMA_SUPI).await;
    let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av3) =
        r.authentication_vector.unwrap()
    else {
        panic!()
    };
    let v3 = verify_autn(&m, &av3.rand, &av3.autn).unwrap();
    assert_eq!(sqn_to_u64(&v3.sqn) >> 5, 5002);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn suci_deconcealment_null_profile_a_profile_b() {
    let (_dir, running, api) = started().await;
    for (suci, supi) in [
        (SUCI_NULL, NULL_SUPI),
        (SUCI_A, SUCI_SUPI),
        (SUCI_B, SUCI_SUPI),
    ] {
        let r = api.generate_ok(suci).await;
        assert_eq!(r.supi.as_ref().map(|s| s.as_str()), Some(supi), "{suci}");
    }
    let ok = json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID});
    // Key id 9 is not configured.
    let unknown_key = SUCI_A.replace("-1-1-", "-1-9-");
    api.generate(&unknown_key, &ok)
        .await
        .assert_problem(403, Some("INVALID_HN_PUBLIC_KEY_IDENTIFIER"));
    // A tampered MAC tag.
    let mut tampered = SUCI_B.to_owned();
    let last = tampered.pop().unwrap();
    tampered.push(if last == '0' { '1' } else { '0' });
    api.generate(&tampered, &ok)
        .await
        .assert_problem(403, Some("INVALID_SCHEME_OUTPUT"));
    // Protection scheme 5 (reserved).
    api.generate(&SUCI_A.replace("-1-1-", "-5-1-"), &ok)
        .await
        .assert_problem(501, Some("UNSUPPORTED_PROTECTION_SCHEME"));
    // A SUCI of an unknown subscriber.
    api.generate("suci-0-208-93-0-0-0-99999999", &ok)
        .await
        .assert_problem(404, Some("USER_NOT_FOUND"));
    // A malformed SUCI.
    let a = api.generate("suci-0-208-93", &ok).await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), ["path supiOrSuci"]);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn auth_events_confirm_and_delete() {
    let (_dir, running, api) = started().await;
    let path = format!("/nudm-ueau/v1/{AKMA_SUPI}/auth-events");
    let a = api.call(Method::POST, &path, Some(&auth_event(true))).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert_eq!(a.body, auth_event(true));
    let loc = a.headers["location"].to_str().unwrap().to_owned();
    let prefix = format!("http://{}{path}/", running.addr);
    assert!(loc.starts_with(&prefix), "{loc}");
    let id = &loc[prefix.len()..];
    assert_eq!(id.len(), 32);
    let stored = running
        .udm()
        .store()
        .auth_event(&akma_core::ids::Supi::parse(AKMA_SUPI).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, id);
    assert!(stored.event.success);

    // Errors.
    api.call(
        Method::POST,
        "/nudm-ueau/v1/imsi-001019999999999/auth-events",
        Some(&auth_event(true)),
    )
    .await
    .assert_problem(404, Some("USER_NOT_FOUND"));
    let a = api
        .call(Method::POST, &path, Some(&json!({"success": true})))
        .await;
    a.assert_problem(400, Some("MANDATORY_IE_MISSING"));
    assert_eq!(
        a.invalid_params(),
        [
            "/nfInstanceId",
            "/timeStamp",
            "/authType",
            "/servingNetworkName"
        ]
    );
    let mut removal = auth_event(true);
    removal["authRemovalInd"] = json!(true);
    api.call(Method::POST, &path, Some(&removal))
        .await
        .assert_problem(400, Some("OPTIONAL_IE_INCORRECT"));

    // DeleteAuth: PUT with authRemovalInd.
    api.call(
        Method::PUT,
        &format!("{path}/{id}"),
        Some(&auth_event(true)),
    )
    .await
    .assert_problem(400, Some("OPTIONAL_IE_INCORRECT"));
    api.call(Method::PUT, &format!("{path}/0000"), Some(&removal))
        .await
        .assert_problem(404, Some("DATA_NOT_FOUND"));
    let a = api
        .call(Method::PUT, &format!("{path}/{id}"), Some(&removal))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert_eq!(a.body, Value::Null);
    api.call(Method::PUT, &format!("{path}/{id}"), Some(&removal))
        .await
        .assert_problem(404, Some("DATA_NOT_FOUND"));
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn id_translation_both_ways() {
    let (_dir, running, api) = started().await;
    let get = |ue: &str, q: &str| {
        let p = format!("/nudm-sdm/v2/{ue}/id-translation-result{q}");
        let api = &api;
        async move { api.call(Method::GET, &p, None).await }
    };
    let a = get(AKMA_SUPI, "").await;
    assert_eq!(a.status, StatusCode::OK, "{}", a.body);
    assert_eq!(
        a.body,
        json!({"supi": AKMA_SUPI, "gpsi": "msisdn-491700000001",
               "additionalGpsis": ["extid-alice@example.com"]})
    );
    IdTranslationResult::from_sbi_json(&a.body).unwrap();
    let a = get(AKMA_SUPI, "?requested-gpsi-type=EXT_ID").await;
    assert_eq!(
        a.body,
        json!({"supi": AKMA_SUPI, "gpsi": "extid-alice@example.com"})
    );
    let a = get("msisdn-491700000001", "").await;
    assert_eq!(
        a.body,
        json!({"supi": AKMA_SUPI, "gpsi": "msisdn-491700000001"})
    );
    let a = get("extid-alice@example.com", "?supported-features=0").await;
    assert_eq!(a.body["supi"], AKMA_SUPI);
    // A subscriber without GPSI: the SUPI only.
    let a = get(EAP_SUPI, "").await;
    assert_eq!(a.body, json!({"supi": EAP_SUPI}));

    get("msisdn-499999999999", "")
        .await
        .assert_problem(404, Some("USER_NOT_FOUND"));
    get("imsi-001019999999999", "")
        .await
        .assert_problem(404, Some("USER_NOT_FOUND"));
    let a = get("bob", "").await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), ["path ueId"]);
    let a = get(AKMA_SUPI, "?supported-features=xyz").await;
    a.assert_problem(400, Some("OPTIONAL_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), ["query supported-features"]);
    let a = get(AKMA_SUPI, "?app-port-id=%7B%22originatorPort%22%3A70000%7D").await;
    a.assert_problem(400, Some("OPTIONAL_IE_INCORRECT"));
    assert_eq!(a.invalid_params(), ["query app-port-id"]);
    let a = get(
        AKMA_SUPI,
        "?app-port-id=%7B%22originatorPort%22%3A7000%7D&af-id=x",
    )
    .await;
    assert_eq!(a.status, StatusCode::OK);
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn ops_endpoints_and_restart_keeps_sqn() {
    let dir = tempfile::tempdir().unwrap();
    let running = start_dev(dir.path()).await;
    running.udm().provision(subscribers(), false).await.unwrap();
    let api = Api::new(&running, h2c_client());
    for (p, text) in [("/healthz", "ok\n"), ("/readyz", "ready\n")] {
        let r = api
            .client
            .get(format!("{}{p}", api.base))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.text().await.unwrap(), text);
    }
    for _ in 0..3 {
        api.generate_ok(AKMA_SUPI).await;
    }
    running.shutdown().await.unwrap();
    assert!(dir.path().join("data/dev-kek.hex").exists());

    // Restart on the same data: the keys still open, the SQN continues at SEQ 4.
    let running = start_dev(dir.path()).await;
    let api = Api::new(&running, h2c_client());
    let r = api.generate_ok(AKMA_SUPI).await;
    let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av) =
        r.authentication_vector.unwrap()
    else {
        panic!()
    };
    let v = verify_autn(&usim(K1, OPC1), &av.rand, &av.autn).unwrap();
    assert_eq!(sqn_to_u64(&v.sqn) >> 5, 4);
    // Provisioning the same SUPI again is refused, naming it.
    let e = running
        .udm()
        .provision(subscribers()[..1].to_vec(), false)
        .await
        .unwrap_err();
    assert!(e.to_string().contains(AKMA_SUPI), "{e}");
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_requests_never_share_an_sqn() {
    let (_dir, running, api) = started().await;
    let api = std::sync::Arc::new(api);
    let mut tasks = Vec::new();
    for _ in 0..24 {
        let api = api.clone();
        tasks.push(tokio::spawn(
            async move { api.generate_ok(AKMA_SUPI).await },
        ));
    }
    let m = usim(K1, OPC1);
    let mut seqs = Vec::new();
    for t in tasks {
        let r = t.await.unwrap();
        let akma_sbi_model::nudm_ueau::AuthenticationVector::FiveGHeAka(av) =
            r.authentication_vector.unwrap()
        else {
            panic!()
        };
        seqs.push(sqn_to_u64(&verify_autn(&m, &av.rand, &av.autn).unwrap().sqn) >> 5);
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=24).collect::<Vec<u64>>());
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn dev_mode_refuses_non_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let r = Resolved::dev("0.0.0.0:0".parse().unwrap(), dir.path().to_path_buf());
    let e = start(r).await.err().expect("refused");
    assert!(e.to_string().contains("loopback"), "{e}");
}

/// `GET /metrics` counts what was served: answers by operation and class, latencies, and the
/// writes the store committed (provisioning, each SQN, the auth event).
#[tokio::test]
async fn metrics_count_operations_and_store_writes() {
    let (_dir, running, api) = started().await;
    for _ in 0..3 {
        api.generate_ok(AKMA_SUPI).await;
    }
    let a = api
        .generate(
            "imsi-001019999999999",
            &json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID}),
        )
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
    let a = api
        .call(
            Method::POST,
            &format!("/nudm-ueau/v1/{AKMA_SUPI}/auth-events"),
            Some(&auth_event(true)),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);

    let r = api
        .client
        .get(format!("{}/metrics", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[reqwest::header::CONTENT_TYPE],
        "text/plain; version=0.0.4"
    );
    let text = r.text().await.unwrap();
    let value = |series: &str| -> u64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(series) && l[series.len()..].starts_with(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"));
        line[series.len() + 1..].parse().unwrap()
    };
    assert_eq!(
        value("udm_responses_total{operation=\"generate-auth-data\",class=\"2xx\"}"),
        3
    );
    assert_eq!(
        value("udm_responses_total{operation=\"generate-auth-data\",class=\"4xx\"}"),
        1
    );
    assert_eq!(
        value("udm_responses_total{operation=\"confirm-auth\",class=\"2xx\"}"),
        1
    );
    assert_eq!(
        value("udm_request_duration_seconds_count{operation=\"generate-auth-data\"}"),
        4
    );
    assert_eq!(
        value("udm_request_duration_seconds_count{operation=\"id-translation\"}"),
        0
    );
    // One provisioning, three SQNs, one auth event; the 404 wrote nothing.
    assert_eq!(value("udm_store_writes_total"), 5);
    let commits = value("udm_store_commits_total");
    assert!((1..=5).contains(&commits), "{commits} commits");
    assert_eq!(
        value("udm_store_commit_duration_seconds_count{store=\"sqlite\"}"),
        commits
    );
    running.shutdown().await.unwrap();
}

/// Issue 9, finding 6: no error detail carries a SUPI, SUCI, GPSI or MSIN, whether the
/// identity is unknown, malformed or does not de-conceal (the UDM used to answer
/// `USER_NOT_FOUND: no subscriber imsi-…`).
#[tokio::test]
async fn error_details_never_carry_an_identity() {
    let (_dir, _running, api) = started().await;
    let ok = json!({"servingNetworkName": SNN, "ausfInstanceId": AUSF_ID});
    let mut answers = Vec::new();
    let unknown = "imsi-001019999999999";
    let a = api.generate(unknown, &ok).await;
    a.assert_problem(404, Some("USER_NOT_FOUND"));
    answers.push(a);
    // An unknown subscriber behind a null-scheme SUCI (MSIN 9999999999).
    let a = api.generate("suci-0-001-01-0-0-0-9999999999", &ok).await;
    a.assert_problem(404, Some("USER_NOT_FOUND"));
    answers.push(a);
    // A malformed SUPI (16 digits) is not repeated either.
    let a = api.generate("imsi-0010199999999999", &ok).await;
    a.assert_problem(400, Some("MANDATORY_IE_INCORRECT"));
    answers.push(a);
    let a = api
        .call(
            Method::POST,
            &format!("/nudm-ueau/v1/{unknown}/auth-events"),
            Some(&auth_event(true)),
        )
        .await;
    a.assert_problem(404, Some("USER_NOT_FOUND"));
    answers.push(a);
    let mut removal = auth_event(true);
    removal["authRemovalInd"] = json!(true);
    for supi in [unknown, AKMA_SUPI] {
        let a = api
            .call(
                Method::PUT,
                &format!("/nudm-ueau/v1/{supi}/auth-events/00ff"),
                Some(&removal),
            )
            .await;
        assert_eq!(a.status, StatusCode::NOT_FOUND, "{}", a.body);
        answers.push(a);
    }
    for ue in [unknown, "msisdn-491799999999", "extid-nobody@example.com"] {
        let a = api
            .call(
                Method::GET,
                &format!("/nudm-sdm/v2/{ue}/id-translation-result"),
                None,
            )
            .await;
        a.assert_problem(404, Some("USER_NOT_FOUND"));
        answers.push(a);
    }
    for a in &answers {
        let wire = a.body.to_string();
        for id in [
            "9999999999",
            "0010199999999999",
            "imsi-0",
            "suci-0",
            "491799999999",
            "nobody@",
            &AKMA_SUPI[5..],
        ] {
            assert!(!wire.contains(id), "{id} in {wire}");
        }
    }
}

/// Issue 9 #7: the `Location` of a new auth event names the UDM's own apiRoot (here the
/// bound address), never a forged `Host` (HTTP/1.1) or `:authority` (HTTP/2).
#[tokio::test]
async fn location_never_names_the_request_host() {
    let (_dir, running, _api) = started().await;
    let port = running.addr.port();
    let path = format!("/nudm-ueau/v1/{AKMA_SUPI}/auth-events");
    let body = auth_event(true).to_string();
    // HTTP/2: the :authority is a host the client resolves to the UDM.
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .no_proxy()
        .resolve("evil.example", running.addr)
        .build()
        .unwrap();
    let r = h2
        .post(format!("http://evil.example:{port}{path}"))
        .header("content-type", "application/json")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.version(), Version::HTTP_2);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with(&format!("http://{}{path}/", running.addr)),
        "{loc}"
    );
    assert!(!loc.contains("evil"), "{loc}");
    // HTTP/1.1 with a forged Host header.
    let r = http1_client()
        .post(format!("http://{}{path}", running.addr))
        .header("host", "evil.example:666")
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.version(), Version::HTTP_11);
    let loc = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        loc.starts_with(&format!("http://{}{path}/", running.addr)),
        "{loc}"
    );
    assert!(!loc.contains("evil"), "{loc}");
    running.shutdown().await.unwrap();
}
