//! Shared fixtures: a real UDM, a real AAnF and the AUSF under test, all in-process on
//! loopback ports chosen at run time (the network builder of `akma_sim::network`); the
//! subscribers; the UE side of 5G AKA computed with akma-core. The answer helpers are
//! `akma_sim::answer`'s. Only akma-sim's API is used here (akma-sim depends on this crate).
#![allow(dead_code)]

use akma_ausf::server::Running as AusfRunning;
use akma_core::aka::{derive_k_ausf, res_star, verify_autn, AutnVerified};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, AkmaKeys, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAf, KAusf, Opc, K};
use akma_core::milenage::Milenage;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_sbi_model::AkmaAfKeyRequest;
use akma_sbi_server::test_pki::{TestPki, TestTokenIssuer};
use akma_sim::network::{dev_aanf, dev_udm, DataDir, Network, NetworkBuilder};
use akma_udm::{AuthMethod, Subscriber};
use reqwest::{Client, Method};
use serde_json::{json, Value};
use std::path::Path;

pub use akma_sim::answer::Answer;
pub use akma_sim::fixtures::{K1, K20, OPC1, OPC20, SNN_001_01 as SNN};

/// 5G AKA, AKMA subscriber (routing indicator 12).
pub const AKMA_SUPI: &str = "imsi-001010000000001";
/// EAP-AKA', AKMA subscriber (routing indicator 7).
pub const EAP_SUPI: &str = "imsi-001010000000002";
/// 5G AKA, no AKMA subscription.
pub const PLAIN_SUPI: &str = "imsi-001010000000003";
/// EAP-AKA', no AKMA subscription.
pub const EAP_PLAIN_SUPI: &str = "imsi-001010000000004";
pub const AF_FQDN: &str = "af.example.com";
/// The key-encryption key of the production UDM and AAnF of these tests.
pub const KEK: &str = "5a0e3c7b9d1f2468ace013579bdf02468ace13579bdf02468ace13579bdf0246";

pub fn milenage(supi: &str) -> Milenage {
    let (k, opc) = match supi {
        EAP_SUPI | EAP_PLAIN_SUPI => (K20, OPC20),
        _ => (K1, OPC1),
    };
    Milenage::new(&K::from_hex(k).unwrap(), &Opc::from_hex(opc).unwrap())
}

pub fn rid(supi: &str) -> RoutingIndicator {
    RoutingIndicator::parse(if supi == EAP_SUPI { "7" } else { "12" }).unwrap()
}

fn subscriber(supi: &str, akma: bool, method: AuthMethod) -> Subscriber {
    let (k, opc) = match method {
        AuthMethod::EapAkaPrime => (K20, OPC20),
        _ => (K1, OPC1),
    };
    let mut s = Subscriber::new(
        Supi::parse(supi).unwrap(),
        K::from_hex(k).unwrap(),
        Opc::from_hex(opc).unwrap(),
        "001-01".parse().unwrap(),
    );
    s.akma = akma;
    s.routing_indicator = rid(supi);
    s.auth_method = method;
    s
}

pub fn subscribers() -> Vec<Subscriber> {
    vec![
        subscriber(AKMA_SUPI, true, AuthMethod::FiveGAka),
        subscriber(EAP_SUPI, true, AuthMethod::EapAkaPrime),
        subscriber(PLAIN_SUPI, false, AuthMethod::FiveGAka),
        subscriber(EAP_PLAIN_SUPI, false, AuthMethod::EapAkaPrime),
    ]
}

/// A settable clock (seconds), so that tests can let contexts expire without waiting.
pub type TestClock = akma_core::time::ManualClock;

/// Where the AUSF's clock starts.
pub const CLOCK_START: u64 = 1_700_000_000;

/// A UDM, an AAnF and an AUSF, all in development mode (an `akma_sim::network::Network`
/// taken apart, so that a test can stop one of them alone).
pub struct Stack {
    pub dir: DataDir,
    pub udm: akma_udm::Running,
    pub aanf: akma_aanf::server::Running,
    pub ausf: AusfRunning,
    pub clock: TestClock,
    pub http: Client,
}

pub struct Options {
    pub ausf_toml: Option<String>,
    pub lifetime: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            ausf_toml: None,
            lifetime: 30,
        }
    }
}

pub async fn start_udm(dir: &std::path::Path) -> akma_udm::Running {
    dev_udm(dir.join("udm"), Vec::new(), subscribers())
        .await
        .expect("UDM starts, subscribers provisioned")
}

pub async fn start_aanf(dir: &std::path::Path) -> akma_aanf::server::Running {
    dev_aanf(dir.join("aanf")).await.expect("AAnF starts")
}

impl Stack {
    pub async fn start(opts: Options) -> Self {
        let clock = TestClock::new(CLOCK_START);
        let mut b = NetworkBuilder::new()
            .subscribers(subscribers())
            .ausf_context_lifetime_secs(opts.lifetime)
            .ausf_clock(clock.clock());
        if let Some(t) = opts.ausf_toml {
            b = b.ausf_config_toml(t);
        }
        let Network {
            udm,
            aanf,
            ausf,
            dir,
        } = b.start().await.expect("UDM, AAnF and AUSF start");
        Self {
            dir,
            udm,
            aanf,
            ausf,
            clock,
            http: akma_sbi_server::test_pki::h2c_client(),
        }
    }

    pub fn base(&self) -> String {
        format!("http://{}/nausf-auth/v1", self.ausf.addr)
    }

    pub fn api_root(&self) -> String {
        format!("http://{}", self.ausf.addr)
    }

    pub fn aanf_client(&self) -> NaanfClient {
        NaanfClient::new(
            SbiClient::h2c().unwrap(),
            format!("http://{}", self.aanf.addr),
        )
    }

    /// K_AF from the AAnF for this A-KID, `None` on 204.
    pub async fn kaf(&self, a_kid: &AKid) -> Option<KAf> {
        let af = AfId::new(AfFqdn::parse(AF_FQDN).unwrap(), UaProtocolId::TLS13_PSK);
        self.aanf_client()
            .retrieve_application_key(&AkmaAfKeyRequest::new(&af, a_kid.clone(), false))
            .await
            .expect("the AAnF answers")
            .map(|d| d.kaf)
    }

    /// Stops everything and returns how many AKMA contexts the AAnF's store holds.
    pub async fn shutdown_and_count(self) -> u64 {
        use akma_store::AkmaStore;
        self.ausf.shutdown().await.unwrap();
        self.aanf.shutdown().await.unwrap();
        self.udm.shutdown().await.unwrap();
        let data = self.dir.path().join("aanf");
        let kek = std::fs::read_to_string(data.join("dev-kek.hex")).unwrap();
        let store =
            akma_store::SqliteStore::open(&data, akma_store::Kek::from_hex(kek.trim()).unwrap())
                .unwrap();
        let n = store.len();
        store.flush().await.unwrap();
        n
    }
}

/// K_AF as an AF would get it, from the K_AKMA the test derived.
pub fn expected_kaf(keys: &AkmaKeys) -> KAf {
    derive_k_af(
        &keys.k_akma,
        &AfId::new(AfFqdn::parse(AF_FQDN).unwrap(), UaProtocolId::TLS13_PSK),
    )
}

/// The UE's side of 5G AKA for a (RAND, AUTN): RES*, K_AUSF and the AKMA keys.
pub struct UeAka {
    pub verified: AutnVerified,
    pub res_star: [u8; 16],
    pub k_ausf: KAusf,
    pub akma: AkmaKeys,
}

pub fn ue_5g_aka(supi: &str, rand: &[u8; 16], autn: &[u8; 16]) -> UeAka {
    let m = milenage(supi);
    let v = verify_autn(&m, rand, autn).expect("AUTN verifies at the UE");
    let rs = res_star(
        &v.ck,
        &v.ik,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
        rand,
        &v.res,
    )
    .unwrap();
    let k_ausf = derive_k_ausf(
        &v.ck,
        &v.ik,
        &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
        &v.sqn_xor_ak,
    );
    let akma = derive_akma_keys(
        &k_ausf,
        &Supi::parse(supi).unwrap(),
        &rid(supi),
        MncLen::Two,
    )
    .unwrap();
    UeAka {
        verified: v,
        res_star: rs,
        k_ausf,
        akma,
    }
}

pub fn hex16(v: &Value) -> [u8; 16] {
    akma_core::hex::decode_array::<16>(v.as_str().expect("a hex string")).unwrap()
}

pub async fn send(
    client: &Client,
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    akma_sim::answer::send(client, method, url, bearer, body)
        .await
        .unwrap()
}

pub async fn post_json(client: &Client, url: &str, body: &Value) -> Answer {
    akma_sim::answer::post_json(client, url, body)
        .await
        .unwrap()
}

pub async fn put_json(client: &Client, url: &str, body: &Value) -> Answer {
    akma_sim::answer::put_json(client, url, body).await.unwrap()
}

pub const TLS_AND_OAUTH2: &str = r#"
[tls]
cert = "server.crt"
key = "server.key"
client_ca = "ca.crt"

[oauth2]
issuer = "nrf.5gc.mnc001.mcc001.3gppnetwork.org"
es256_public_keys = ["nrf-es256.pem"]
"#;

/// A production UDM (subscribers provisioned) and AAnF in `dir`, with the AUSF as their
/// consumer (and the AF as the AAnF's).
pub async fn start_prod_peers(
    dir: &Path,
    ausf_id: &str,
    af_id: &str,
) -> (akma_udm::Running, akma_aanf::server::Running) {
    std::fs::write(
        dir.join("udm.toml"),
        format!(
            "kek = \"{KEK}\"\n{}audience = [\"UDM\"]\n[[consumer]]\nid = \"{ausf_id}\"\nnf_type = \"AUSF\"\n",
            TLS_AND_OAUTH2
        ),
    )
    .unwrap();
    private(&dir.join("udm.toml"));
    let udm = akma_udm::server::start(
        akma_udm::server::resolve(&akma_udm::server::UdmArgs {
            host: akma_udm::server::HostArgs {
                config: Some(dir.join("udm.toml")),
                data: Some(dir.join("udm-data")),
                listen: Some("127.0.0.1:0".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    )
    .await
    .expect("production UDM starts");
    udm.udm().provision(subscribers(), false).await.unwrap();
    std::fs::write(
        dir.join("aanf.toml"),
        format!(
            "kek = \"{KEK}\"\n{}audience = [\"AANF\"]\n[[consumer]]\nid = \"{ausf_id}\"\nnf_type = \"AUSF\"\n\
             [[af]]\nfqdn = \"{AF_FQDN}\"\nidentity = \"urn:uuid:{af_id}\"\n",
            TLS_AND_OAUTH2
        ),
    )
    .unwrap();
    private(&dir.join("aanf.toml"));
    let aanf = akma_aanf::server::start(
        akma_aanf::server::resolve(&akma_aanf::server::AanfArgs {
            host: akma_aanf::server::HostArgs {
                config: Some(dir.join("aanf.toml")),
                data: Some(dir.join("aanf-data")),
                listen: Some("127.0.0.1:0".into()),
                ..Default::default()
            },
            ..Default::default()
        })
        .unwrap(),
    )
    .await
    .expect("production AAnF starts");
    (udm, aanf)
}

/// The AUSF's client certificate (`ausf-client.crt`/`.key`) and its static tokens for the
/// UDM and the AAnF (`udm-token.jwt`, `aanf-token.jwt`), for [`PEER_CLIENT_TOML`], plus
/// the server certificate, CA and NRF key every production NF of these tests reads.
pub fn write_peer_client_files(dir: &Path, pki: &TestPki, nrf: &TestTokenIssuer, ausf_id: &str) {
    let server = pki.server_cert();
    std::fs::write(dir.join("server.crt"), &server.cert_pem).unwrap();
    std::fs::write(dir.join("server.key"), &server.key_pem).unwrap();
    std::fs::write(dir.join("ca.crt"), pki.ca_pem()).unwrap();
    std::fs::write(dir.join("nrf-es256.pem"), nrf.public_key_pem()).unwrap();
    let me = pki.client_cert(ausf_id, &["ausf.5gc.example.org"]);
    std::fs::write(dir.join("ausf-client.crt"), &me.cert_pem).unwrap();
    std::fs::write(dir.join("ausf-client.key"), &me.key_pem).unwrap();
    std::fs::write(
        dir.join("udm-token.jwt"),
        nrf.mint(ausf_id, json!("UDM"), "nudm-ueau", 3600),
    )
    .unwrap();
    std::fs::write(
        dir.join("aanf-token.jwt"),
        nrf.mint(
            ausf_id,
            json!("AANF"),
            "naanf-akma naanf-akma:anchorkey",
            3600,
        ),
    )
    .unwrap();
}

/// The AUSF's `[client]` section for the files of [`write_peer_client_files`].
pub const PEER_CLIENT_TOML: &str = r#"
[client]
ca = "ca.crt"
cert = "ausf-client.crt"
key = "ausf-client.key"
udm_token_file = "udm-token.jwt"
aanf_token_file = "aanf-token.jwt"
"#;

/// Mode 0600: a config file holding `kek` open to group or others is refused (issue 9 #13).
pub fn private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}
