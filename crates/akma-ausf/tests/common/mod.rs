//! Shared fixtures: a real UDM, a real AAnF and the AUSF under test, all in-process on
//! loopback ports chosen at run time; the subscribers; the UE side of 5G AKA computed with
//! akma-core.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use akma_ausf::server::{resolve, start_with_clock, AusfArgs, Running as AusfRunning};
use akma_core::aka::{derive_k_ausf, res_star, verify_autn, AutnVerified};
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, AkmaKeys, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAf, KAusf, Opc, K};
use akma_core::milenage::Milenage;
use akma_sbi_client::client::{NaanfClient, SbiClient};
use akma_sbi_model::naanf::AkmaAfKeyRequest;
use akma_udm::{AuthMethod, Subscriber};
use reqwest::{Client, Method, StatusCode, Version};
use serde_json::Value;

/// TS 35.208 test set 1.
pub const K1: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
pub const OPC1: &str = "cd63cb71954a9f4e48a5994e37a02baf";
/// TS 35.208 test set 20.
pub const K20: &str = "90dca4eda45b53cf0f12d7c9c3bc6a89";
pub const OPC20: &str = "cb9cccc4b9258e6dca4760379fb82581";

/// 5G AKA, AKMA subscriber (routing indicator 12).
pub const AKMA_SUPI: &str = "imsi-001010000000001";
/// EAP-AKA', AKMA subscriber (routing indicator 7).
pub const EAP_SUPI: &str = "imsi-001010000000002";
/// 5G AKA, no AKMA subscription.
pub const PLAIN_SUPI: &str = "imsi-001010000000003";
/// EAP-AKA', no AKMA subscription.
pub const EAP_PLAIN_SUPI: &str = "imsi-001010000000004";
pub const SNN: &str = "5G:mnc001.mcc001.3gppnetwork.org";
pub const AF_FQDN: &str = "af.example.com";

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
#[derive(Clone)]
pub struct TestClock(pub Arc<AtomicU64>);

impl TestClock {
    pub fn advance(&self, secs: u64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

/// A UDM, an AAnF and an AUSF, all in development mode.
pub struct Stack {
    pub dir: tempfile::TempDir,
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
    let udm = akma_udm::start(akma_udm::Resolved::dev(
        "127.0.0.1:0".parse().unwrap(),
        dir.join("udm"),
    ))
    .await
    .expect("UDM starts");
    udm.udm()
        .provision(subscribers(), false)
        .await
        .expect("subscribers provisioned");
    udm
}

pub async fn start_aanf(dir: &std::path::Path) -> akma_aanf::server::Running {
    let args = akma_aanf::server::AanfArgs {
        dev: true,
        listen: Some("127.0.0.1:0".into()),
        data: Some(dir.join("aanf")),
        ..Default::default()
    };
    akma_aanf::server::start(akma_aanf::server::resolve(&args).unwrap())
        .await
        .expect("AAnF starts")
}

impl Stack {
    pub async fn start(opts: Options) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let udm = start_udm(dir.path()).await;
        let aanf = start_aanf(dir.path()).await;
        let config = opts.ausf_toml.map(|t| {
            let p = dir.path().join("ausf.toml");
            std::fs::write(&p, t).unwrap();
            p
        });
        let args = AusfArgs {
            config,
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            udm: Some(format!("http://{}", udm.addr)),
            aanf: Some(format!("http://{}", aanf.addr)),
            context_lifetime_secs: Some(opts.lifetime),
            ..Default::default()
        };
        let clock = TestClock(Arc::new(AtomicU64::new(1_700_000_000)));
        let c = clock.clone();
        let ausf = start_with_clock(
            resolve(&args).expect("valid AUSF args"),
            Arc::new(move || c.0.load(Ordering::SeqCst)),
        )
        .await
        .expect("AUSF starts");
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
        let n = store.count().await.unwrap();
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
    let rs = res_star(&v.ck, &v.ik, SNN, rand, &v.res).unwrap();
    let k_ausf = derive_k_ausf(&v.ck, &v.ik, SNN, &v.sqn_xor_ak);
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

/// An answer: status, content type, JSON body (Null when empty), headers, HTTP version.
pub struct Answer {
    pub status: StatusCode,
    pub content_type: Option<String>,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
    pub version: Version,
}

impl Answer {
    pub fn cause(&self) -> Option<&str> {
        self.body["cause"].as_str()
    }

    /// Asserts a ProblemDetails with this status and cause.
    pub fn assert_problem(&self, status: u16, cause: Option<&str>) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(
            self.content_type.as_deref(),
            Some("application/problem+json"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status, "{}", self.body);
        assert_eq!(self.cause(), cause, "{}", self.body);
    }

    pub fn invalid_params(&self) -> Vec<String> {
        self.body["invalidParams"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["param"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
    }
}

pub async fn send(
    client: &Client,
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let mut rb = client.request(method, url);
    if let Some(t) = bearer {
        rb = rb.bearer_auth(t);
    }
    if let Some((ct, b)) = body {
        rb = rb.header("content-type", ct).body(b);
    }
    let resp = rb.send().await.unwrap();
    let status = resp.status();
    let version = resp.version();
    let headers = resp.headers().clone();
    let content_type = headers
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = resp.bytes().await.unwrap();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        // Plain-text answers (/healthz, /readyz) are kept as a JSON string.
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
    };
    Answer {
        status,
        content_type,
        body,
        headers,
        version,
    }
}

pub async fn post_json(client: &Client, url: &str, body: &Value) -> Answer {
    send(
        client,
        Method::POST,
        url,
        None,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}

pub async fn put_json(client: &Client, url: &str, body: &Value) -> Answer {
    send(
        client,
        Method::PUT,
        url,
        None,
        Some(("application/json", body.to_string().into_bytes())),
    )
    .await
}
