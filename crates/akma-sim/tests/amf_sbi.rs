//! The simulated AMF/SEAF over real HTTP/2 (h2c) against a stand-in AUSF written here on
//! `akma_core` and the `akma_sbi_model::nausf` models: checks the SBI shell (POST, HAL links, PUT
//! confirmation, resynchronisation) and the fault options, independently of the project's
//! AUSF and UDM. The stand-in records an "AKMA registration" only when it confirms RES*, as
//! the AUSF registers at the AAnF.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use akma_core::aka::{self, sqn_from_u64, sqn_to_u64, Rand};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{KAkma, Opc, XresStar, K};
use akma_core::milenage::Milenage;
use akma_sbi_model::nausf::{
    AuthData5g, AuthType, AuthenticationInfo, Av5gAka, ConfirmationData, ConfirmationDataResponse,
    Link, LinksValue, SupiOrSuci, UEAuthenticationCtx, MEDIA_3GPP_HAL_JSON,
};
use akma_sbi_model::FromSbiJson;
use akma_sim::{Faults, Outcome, SimulatedAmf};
use akma_ue::identity::IdentityChoice;
use akma_ue::{UeEvent, UeSpec};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{post, put};
use axum::Router;

const SNN: &str = "5G:mnc070.mcc901.3gppnetwork.org";
const SUPI: &str = "imsi-901700000021309";
const K_HEX: &str = "8baf473f2f8fd09487cccbd7097c6862";
const OPC_HEX: &str = "8e27b6af0e692e750f32667a3b14605d";

struct Ctx {
    rand: Rand,
    xres_star: XresStar,
    k_ausf: akma_core::keys::KAusf,
}

#[derive(Default)]
struct Home {
    seq: u64,
    next_id: u32,
    contexts: HashMap<String, Ctx>,
    /// What would be at the AAnF: SUPI → (A-KID, K_AKMA).
    aanf: HashMap<String, (AKid, KAkma)>,
    resyncs: u32,
    posts: u32,
}

type Shared = Arc<Mutex<Home>>;

fn milenage() -> Milenage {
    Milenage::new(
        &K::from_hex(K_HEX).unwrap(),
        &Opc::from_hex(OPC_HEX).unwrap(),
    )
}

async fn authenticate(State(home): State<Shared>, body: Bytes) -> Response {
    let info = match AuthenticationInfo::from_sbi_slice(&body) {
        Ok(i) => i,
        Err(e) => return akma_sbi_server::SbiError::from(e).into_response(),
    };
    let supi = match &info.supi_or_suci {
        SupiOrSuci::Supi(s) => s.clone(),
        SupiOrSuci::Suci(s) => {
            // The stand-in de-conceals only the null scheme (suci-0-901-70-<rid>-0-0-<msin>).
            let msin = s.as_str().rsplit('-').next().unwrap();
            Supi::parse(&format!("imsi-90170{msin}")).unwrap()
        }
    };
    assert_eq!(supi.as_str(), SUPI);
    let m = milenage();
    let mut h = home.lock().unwrap();
    h.posts += 1;
    if let Some(r) = &info.resynchronization_info {
        // TS 33.102 §6.3.5: SQN_HE continues from SQN_MS.
        let sqn_ms = aka::verify_auts(&m, &r.rand, &r.auts).expect("AUTS verifies");
        h.seq = sqn_to_u64(&sqn_ms) >> 5;
        h.resyncs += 1;
    }
    h.seq += 1;
    h.next_id += 1;
    let rand: Rand = [h.next_id as u8 ^ 0x5a; 16];
    let av = aka::generate_he_av(
        &m,
        &rand,
        &sqn_from_u64(h.seq << 5),
        &[0x80, 0],
        &info.serving_network_name,
    );
    let id = format!("ctx{}", h.next_id);
    let href = format!("/nausf-auth/v1/ue-authentications/{id}/5g-aka-confirmation");
    let body = UEAuthenticationCtx {
        auth_type: AuthType::FiveGAka,
        auth_data: AuthData5g::Av5gAka(Av5gAka {
            rand,
            hxres_star: aka::hxres_star(&rand, av.xres_star.expose_secret()),
            autn: av.autn,
        }),
        links: [("5g-aka".to_owned(), LinksValue::One(Link::new(href)))].into(),
        serving_network_name: Some(info.serving_network_name.clone()),
    };
    h.contexts.insert(
        id.clone(),
        Ctx {
            rand,
            xres_star: av.xres_star,
            k_ausf: av.k_ausf,
        },
    );
    (
        StatusCode::CREATED,
        [
            (header::CONTENT_TYPE, MEDIA_3GPP_HAL_JSON.to_owned()),
            (
                header::LOCATION,
                format!("/nausf-auth/v1/ue-authentications/{id}"),
            ),
        ],
        serde_json::to_vec(&body).unwrap(),
    )
        .into_response()
}

async fn confirm(State(home): State<Shared>, Path(id): Path<String>, body: Bytes) -> Response {
    let data = match ConfirmationData::from_sbi_slice(&body) {
        Ok(d) => d,
        Err(e) => return akma_sbi_server::SbiError::from(e).into_response(),
    };
    let mut h = home.lock().unwrap();
    let Some(ctx) = h.contexts.remove(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let _ = ctx.rand;
    let ok = data
        .res_star
        .is_some_and(|r| XresStar::from_bytes(r).ct_eq(&ctx.xres_star));
    let answer = if ok {
        let supi = Supi::parse(SUPI).unwrap();
        let keys = derive_akma_keys(
            &ctx.k_ausf,
            &supi,
            &RoutingIndicator::none_provisioned(),
            MncLen::Two,
        )
        .unwrap();
        h.aanf.insert(SUPI.into(), (keys.a_kid, keys.k_akma));
        ConfirmationDataResponse::success(
            supi,
            aka::derive_k_seaf(
                &ctx.k_ausf,
                &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
            ),
        )
    } else {
        ConfirmationDataResponse::failure()
    };
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_vec(&answer).unwrap(),
    )
        .into_response()
}

async fn start() -> (String, Shared, tokio::sync::oneshot::Sender<()>) {
    let home: Shared = Arc::default();
    let app = Router::new()
        .route("/nausf-auth/v1/ue-authentications", post(authenticate))
        .route(
            "/nausf-auth/v1/ue-authentications/{id}/5g-aka-confirmation",
            put(confirm),
        )
        .with_state(home.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        akma_sbi_server::serve(listener, app, None, async {
            let _ = rx.await;
        })
        .await
        .unwrap();
    });
    (format!("http://{addr}"), home, tx)
}

fn ue() -> akma_ue::NasLayer {
    UeSpec {
        supi: Supi::parse(SUPI).unwrap(),
        k: K::from_hex(K_HEX).unwrap(),
        opc: Opc::from_hex(OPC_HEX).unwrap(),
        routing_indicator: RoutingIndicator::none_provisioned(),
        mnc_len: MncLen::Two,
        hn_public_key: None,
    }
    .build()
}

fn amf(root: &str) -> SimulatedAmf {
    SimulatedAmf::h2c(root, ServingNetworkName::parse(SNN).unwrap()).unwrap()
}

fn k_af(k_akma: &KAkma) -> akma_core::keys::KAf {
    derive_k_af(
        k_akma,
        &AfId::new(
            AfFqdn::parse("app.example.com").unwrap(),
            UaProtocolId::TLS13_PSK,
        ),
    )
}

#[tokio::test]
async fn registration_gives_the_ue_the_home_networks_pair() {
    let (root, home, _stop) = start().await;
    let nas = ue();
    let api = nas.akma_api();
    let r = amf(&root).register(&nas, &Faults::default()).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered);
    assert_eq!(r.auth_type.as_deref(), Some("5G_AKA"));
    assert_eq!(r.supi.as_ref().map(Supi::as_str), Some(SUPI));
    assert_eq!(
        r.ue_events,
        vec![UeEvent::ChallengeAnswered, UeEvent::SecurityModeCompleted]
    );
    let (a_kid, k_akma) = api.current_akma_keys().unwrap();
    let (net_a_kid, net_k_akma) = home.lock().unwrap().aanf[SUPI].clone();
    assert_eq!(a_kid, net_a_kid);
    assert_eq!(k_akma, net_k_akma);
    let fqdn = AfFqdn::parse("app.example.com").unwrap();
    let (_, ue_k_af) = api.derive_k_af(&fqdn, UaProtocolId::TLS13_PSK).unwrap();
    assert_eq!(ue_k_af, k_af(&net_k_akma));

    // Re-authentication: a new pair at both ends, and the API returns it.
    let r = amf(&root).register(&nas, &Faults::default()).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered);
    let (a_kid2, k_akma2) = api.current_akma_keys().unwrap();
    assert_ne!(a_kid2, a_kid);
    assert_ne!(k_akma2, k_akma);
    assert_eq!(home.lock().unwrap().aanf[SUPI].0, a_kid2);
}

#[tokio::test]
async fn null_scheme_suci_is_sent_when_asked() {
    let (root, _home, _stop) = start().await;
    let nas = ue();
    let r = amf(&root)
        .with_identity(IdentityChoice::NullSchemeSuci)
        .register(&nas, &Faults::default())
        .await
        .unwrap();
    assert_eq!(r.identity, "suci-0-901-70-0-0-0-0000021309");
    assert_eq!(r.outcome, Outcome::Registered);
}

#[tokio::test]
async fn wrong_res_star_leaves_no_akma_context_anywhere() {
    let (root, home, _stop) = start().await;
    let nas = ue();
    let faults = Faults {
        corrupt_res_star: true,
        ..Faults::default()
    };
    let r = amf(&root).register(&nas, &faults).await.unwrap();
    assert_eq!(
        r.outcome,
        Outcome::NetworkRejected {
            hres_star_matched: false,
            ausf_result: "AUTHENTICATION_FAILURE".into()
        }
    );
    assert_eq!(
        r.ue_events,
        vec![UeEvent::ChallengeAnswered, UeEvent::AuthenticationRejected]
    );
    assert!(nas.akma_api().current_akma_keys().is_none());
    assert!(!nas.lock().has_pending_context());
    assert!(home.lock().unwrap().aanf.is_empty());
}

#[tokio::test]
async fn usim_ahead_resynchronises_then_succeeds() {
    let (root, home, _stop) = start().await;
    let nas = ue();
    let faults = Faults {
        usim_sqn_ahead_by: Some(1000),
        ..Faults::default()
    };
    let r = amf(&root).register(&nas, &faults).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered);
    assert_eq!(r.resynchronisations, 1);
    assert_eq!(
        r.ue_events,
        vec![
            UeEvent::AuthenticationFailure(akma_ue::nas::Cause::SYNCH_FAILURE),
            UeEvent::ChallengeAnswered,
            UeEvent::SecurityModeCompleted
        ]
    );
    let h = home.lock().unwrap();
    assert_eq!((h.posts, h.resyncs), (2, 1));
    assert_eq!(h.seq, 1001, "the network continued from SQN_MS");
    assert_eq!(nas.akma_api().current_a_kid(), Some(h.aanf[SUPI].0.clone()));
}

#[tokio::test]
async fn a_ue_without_smc_keeps_its_previous_a_kid() {
    let (root, home, _stop) = start().await;
    let nas = ue();
    let api = nas.akma_api();
    amf(&root).register(&nas, &Faults::default()).await.unwrap();
    let before = api.current_akma_keys().unwrap();
    let faults = Faults {
        skip_smc: true,
        ..Faults::default()
    };
    let r = amf(&root).register(&nas, &faults).await.unwrap();
    assert_eq!(r.outcome, Outcome::SmcSkipped);
    let after = api.current_akma_keys().unwrap();
    assert_eq!(after.0, before.0);
    assert_eq!(after.1, before.1);
    // The home network moved on (the UE never took the new K_AUSF into use).
    assert_ne!(home.lock().unwrap().aanf[SUPI].0, before.0);
}

#[tokio::test]
async fn the_ausfs_problem_details_reach_the_caller() {
    let (root, _home, _stop) = start().await;
    // An AMF whose path prefix is wrong gets the server's 404.
    let amf = SimulatedAmf::h2c(
        &format!("{root}/nowhere"),
        ServingNetworkName::parse(SNN).unwrap(),
    )
    .unwrap();
    let err = amf.register(&ue(), &Faults::default()).await.unwrap_err();
    match err {
        akma_sim::amf::AmfError::Sbi(e) => assert_eq!(e.status().map(|s| s.as_u16()), Some(404)),
        other => panic!("{other:?}"),
    }
}
