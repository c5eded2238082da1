//! The UE and its simulated AMF/SEAF against the project's real UDM, AUSF and AAnF, all in
//! development mode over h2c on loopback ports chosen at run time. The check that matters:
//! for the A-KID the UE's API returns, the AAnF hands an AF the same K_AF the UE derives.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_core::aka::{self, Autn, Rand};
use akma_core::akma::{derive_akma_keys, AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{Opc, K};
use akma_core::milenage::Milenage;
use akma_core::suci::{HomeNetworkKey, ProtectionScheme};
use akma_sbi_model::AkmaAfKeyRequest;
use akma_sim::fixtures::{SubscriberFixture, SNN_901_70 as SNN};
use akma_sim::network::{Network, NetworkBuilder};
use akma_sim::{Faults, Outcome, SimulatedAmf};
use akma_udm::subscriber::AuthMethod;
use akma_ue::identity::IdentityChoice;
use akma_ue::nas::Cause;
use akma_ue::{AkmaApi, NasLayer, UeEvent, UeSpec};

const K_HEX: &str = "8baf473f2f8fd09487cccbd7097c6862";
const OPC_HEX: &str = "8e27b6af0e692e750f32667a3b14605d";
const RID: &str = "12";
const AF: &str = "app.example.com";

/// The in-process network of `akma_sim::network`, with this test's subscriber and checks.
struct Core {
    net: Network,
}

impl Core {
    async fn start(hn_keys: Vec<HomeNetworkKey>) -> Self {
        let net = NetworkBuilder::new()
            .udm_hn_keys(hn_keys)
            .ausf_mnc_len(2)
            .start()
            .await
            .expect("UDM, AAnF and AUSF start");
        Self { net }
    }

    async fn provision(&self, supi: &str, method: AuthMethod) {
        let s = SubscriberFixture {
            supi,
            k: K_HEX,
            opc: OPC_HEX,
            home_plmn: "901-70",
            routing_indicator: RID,
            akma: true,
            auth_method: method,
        }
        .subscriber()
        .unwrap();
        self.net.provision(vec![s]).await.unwrap();
    }

    fn amf(&self) -> SimulatedAmf {
        self.net
            .amf(ServingNetworkName::parse(SNN).unwrap())
            .unwrap()
    }

    /// K_AF as an AF gets it from the AAnF, or `None` on 204.
    async fn aanf_k_af(&self, a_kid: &AKid) -> Option<String> {
        let c = self.net.aanf_client().unwrap();
        let af_id = AfId::new(AfFqdn::parse(AF).unwrap(), UaProtocolId::TLS13_PSK);
        c.retrieve_application_key(&AkmaAfKeyRequest::new(&af_id, a_kid.clone(), false))
            .await
            .unwrap()
            .map(|d| d.kaf.fingerprint())
    }

    async fn stop(self) {
        self.net.shutdown().await.unwrap();
    }
}

fn ue(supi: &str, hn: Option<&HomeNetworkKey>) -> NasLayer {
    UeSpec {
        supi: Supi::parse(supi).unwrap(),
        k: K::from_hex(K_HEX).unwrap(),
        opc: Opc::from_hex(OPC_HEX).unwrap(),
        routing_indicator: RoutingIndicator::parse(RID).unwrap(),
        mnc_len: MncLen::Two,
        hn_public_key: hn.map(HomeNetworkKey::public_key),
    }
    .build()
}

fn ue_k_af(api: &AkmaApi) -> (AKid, String) {
    let (a_kid, k_af) = api
        .derive_k_af(&AfFqdn::parse(AF).unwrap(), UaProtocolId::TLS13_PSK)
        .unwrap();
    (a_kid, k_af.fingerprint())
}

/// The A-KID the home network derived for a challenge (recomputed from K, OPc, RAND, AUTN).
fn a_kid_of_challenge(supi: &str, rand: &Rand, autn: &Autn) -> AKid {
    let m = Milenage::new(
        &K::from_hex(K_HEX).unwrap(),
        &Opc::from_hex(OPC_HEX).unwrap(),
    );
    let v = aka::verify_autn(&m, rand, autn).unwrap();
    let k_ausf = aka::derive_k_ausf(
        &v.ck,
        &v.ik,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
        &v.sqn_xor_ak,
    );
    derive_akma_keys(
        &k_ausf,
        &Supi::parse(supi).unwrap(),
        &RoutingIndicator::parse(RID).unwrap(),
        MncLen::Two,
    )
    .unwrap()
    .a_kid
}

//= test 33535-6.1-aanf-keeps-latest, 33535-6.1-rekey-on-reauthentication, 33535-6.1-ue-derive
#[tokio::test]
async fn five_g_aka_ue_and_aanf_agree_and_reauthentication_replaces_the_pair() {
    let core = Core::start(vec![]).await;
    let supi = "imsi-901700000000101";
    core.provision(supi, AuthMethod::FiveGAka).await;
    let nas = ue(supi, None);
    let api = nas.akma_api();

    let r = core.amf().register(&nas, &Faults::default()).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered, "{r:?}");
    assert_eq!(r.auth_type.as_deref(), Some("5G_AKA"));
    assert_eq!(r.supi.as_ref().map(Supi::as_str), Some(supi));
    let (a_kid1, fp1) = ue_k_af(&api);
    assert!(a_kid1.as_str().starts_with("12."), "{a_kid1}");
    assert!(a_kid1
        .as_str()
        .ends_with("@5gc.mnc070.mcc901.3gppnetwork.org"));
    assert_eq!(core.aanf_k_af(&a_kid1).await, Some(fp1.clone()));

    let r = core.amf().register(&nas, &Faults::default()).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered);
    let (a_kid2, fp2) = ue_k_af(&api);
    assert_ne!(a_kid2, a_kid1);
    assert_ne!(fp2, fp1);
    assert_eq!(core.aanf_k_af(&a_kid2).await, Some(fp2));
    assert_eq!(core.aanf_k_af(&a_kid1).await, None, "the old A-KID is gone");
    core.stop().await;
}

#[tokio::test]
async fn wrong_res_star_leaves_no_akma_context_anywhere() {
    let core = Core::start(vec![]).await;
    let supi = "imsi-901700000000102";
    core.provision(supi, AuthMethod::FiveGAka).await;
    let nas = ue(supi, None);
    let faults = Faults {
        corrupt_res_star: true,
        ..Faults::default()
    };
    let r = core.amf().register(&nas, &faults).await.unwrap();
    assert_eq!(
        r.outcome,
        Outcome::NetworkRejected {
            hres_star_matched: false,
            ausf_result: "AUTHENTICATION_FAILURE".into()
        },
        "{r:?}"
    );
    assert!(nas.akma_api().current_akma_keys().is_none());
    let (rand, autn) = r.challenges.last().unwrap();
    let would_be = a_kid_of_challenge(supi, rand, autn);
    assert_eq!(
        core.aanf_k_af(&would_be).await,
        None,
        "nothing registered at the AAnF"
    );
    core.stop().await;
}

#[tokio::test]
async fn sqn_out_of_range_resynchronises_then_succeeds() {
    let core = Core::start(vec![]).await;
    let supi = "imsi-901700000000103";
    core.provision(supi, AuthMethod::FiveGAka).await;
    let nas = ue(supi, None);
    let faults = Faults {
        usim_sqn_ahead_by: Some(5000),
        ..Faults::default()
    };
    let r = core.amf().register(&nas, &faults).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered, "{r:?}");
    assert_eq!(r.resynchronisations, 1);
    assert_eq!(
        r.ue_events[0],
        UeEvent::AuthenticationFailure(Cause::SYNCH_FAILURE)
    );
    let (a_kid, fp) = ue_k_af(&nas.akma_api());
    assert_eq!(core.aanf_k_af(&a_kid).await, Some(fp));
    core.stop().await;
}

//= test 33535-6.1-ue-derive
#[tokio::test]
async fn a_ue_that_never_completes_the_smc_keeps_its_previous_a_kid() {
    let core = Core::start(vec![]).await;
    let supi = "imsi-901700000000104";
    core.provision(supi, AuthMethod::FiveGAka).await;
    let nas = ue(supi, None);
    let api = nas.akma_api();
    core.amf().register(&nas, &Faults::default()).await.unwrap();
    let (a_kid1, fp1) = ue_k_af(&api);
    let faults = Faults {
        skip_smc: true,
        ..Faults::default()
    };
    let r = core.amf().register(&nas, &faults).await.unwrap();
    assert_eq!(r.outcome, Outcome::SmcSkipped);
    assert_eq!(ue_k_af(&api), (a_kid1.clone(), fp1));
    // The AUSF registered the new pair (TS 33.535 §6.1): the AAnF no longer knows the
    // UE's A-KID, so an AF asks the UE to come back after a new authentication.
    let (rand, autn) = r.challenges.last().unwrap();
    let network = a_kid_of_challenge(supi, rand, autn);
    assert_ne!(network, a_kid1);
    assert!(core.aanf_k_af(&network).await.is_some());
    assert_eq!(core.aanf_k_af(&a_kid1).await, None);
    core.stop().await;
}

#[tokio::test]
async fn eap_aka_prime_ue_and_aanf_agree() {
    let core = Core::start(vec![]).await;
    let supi = "imsi-901700000000105";
    core.provision(supi, AuthMethod::EapAkaPrime).await;
    let nas = ue(supi, None);
    let r = core.amf().register(&nas, &Faults::default()).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered, "{r:?}");
    assert_eq!(r.auth_type.as_deref(), Some("EAP_AKA_PRIME"));
    let (a_kid, fp) = ue_k_af(&nas.akma_api());
    assert_eq!(core.aanf_k_af(&a_kid).await, Some(fp));

    // Resynchronisation inside EAP (AKA'-Synchronization-Failure), then success.
    let faults = Faults {
        usim_sqn_ahead_by: Some(100),
        ..Faults::default()
    };
    let r = core.amf().register(&nas, &faults).await.unwrap();
    assert_eq!(r.outcome, Outcome::Registered, "{r:?}");
    assert_eq!(
        r.ue_events[0],
        UeEvent::AuthenticationFailure(Cause::SYNCH_FAILURE)
    );
    let (a_kid2, fp2) = ue_k_af(&nas.akma_api());
    assert_ne!(a_kid2, a_kid);
    assert_eq!(core.aanf_k_af(&a_kid2).await, Some(fp2));
    core.stop().await;
}

#[tokio::test]
async fn concealed_suci_profiles_a_and_b() {
    let mut rng = rand_core::OsRng;
    let a = HomeNetworkKey::generate(ProtectionScheme::PROFILE_A, 1, &mut rng).unwrap();
    let b = HomeNetworkKey::generate(ProtectionScheme::PROFILE_B, 2, &mut rng).unwrap();
    let core = Core::start(vec![a.clone(), b.clone()]).await;
    for (i, key) in [a, b].iter().enumerate() {
        let supi = format!("imsi-90170000000011{i}");
        core.provision(&supi, AuthMethod::FiveGAka).await;
        let nas = ue(&supi, Some(key));
        let r = core.amf().register(&nas, &Faults::default()).await.unwrap();
        assert_eq!(r.outcome, Outcome::Registered, "{r:?}");
        let prefix = format!(
            "suci-0-901-70-{RID}-{}-{}-",
            key.scheme().id(),
            key.key_id()
        );
        assert!(r.identity.starts_with(&prefix), "{}", r.identity);
        assert!(!r.identity.contains(&supi[10..]), "the MSIN is concealed");
        assert_eq!(r.supi.as_ref().map(Supi::as_str), Some(supi.as_str()));
        let (a_kid, fp) = ue_k_af(&nas.akma_api());
        assert_eq!(core.aanf_k_af(&a_kid).await, Some(fp));
    }
    // The same UE with a null-scheme SUCI.
    let supi = "imsi-901700000000119";
    core.provision(supi, AuthMethod::FiveGAka).await;
    let nas = ue(supi, None);
    let r = core
        .amf()
        .with_identity(IdentityChoice::NullSchemeSuci)
        .register(&nas, &Faults::default())
        .await
        .unwrap();
    assert_eq!(r.identity, "suci-0-901-70-12-0-0-0000000119");
    assert_eq!(r.outcome, Outcome::Registered, "{r:?}");
    core.stop().await;
}
