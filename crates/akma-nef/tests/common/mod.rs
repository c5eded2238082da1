//! Shared by the NEF tests: a development network (UDM, AUSF, AAnF) with one subscriber
//! registered at the AAnF, and a development NEF in front of it.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};

use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, AkmaKeys, UaProtocolId};
use akma_core::ids::{AfFqdn, Gpsi, MncLen, RoutingIndicator};
use akma_core::keys::KAusf;
use akma_nef::server::{resolve, start, HostArgs, NefArgs, Running};
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_sim::fixtures::SubscriberFixture;
use akma_sim::network::{Network, NetworkBuilder};
use base64::Engine as _;
use serde_json::Value;

pub const SUPI: &str = "imsi-901700000000001";
pub const GPSI: &str = "msisdn-33612345678";
pub const A_FQDN: &str = "app.example.com";
pub const B_FQDN: &str = "b.example.com";

/// Secrets of the registry's AFs (test values).
pub const SECRET_A: &str = "secret-of-af-a-0123456789";
pub const SECRET_B: &str = "secret-of-af-b-0123456789";
pub const SECRET_R: &str = "secret-of-af-r-0123456789";

/// The AAnF's registry: both AFs external (no identity), GPSI allowed; the SUPI is given
/// to the development consumer (the NEF) so that it translates it.
pub const AANF_TOML: &str = r#"
[[af]]
fqdn = "app.example.com"
allow_supi = true
allow_gpsi = true
allow_push = true
[[af]]
fqdn = "b.example.com"
allow_supi = true
allow_gpsi = true
"#;

/// The NEF's registry: A (gpsi-access, nnef-akma-push), B (no scope), R (burst 5, nearly no refill).
pub fn nef_toml() -> String {
    let h = |s: &str| akma_nef::token::hash_secret(s).unwrap();
    format!(
        r#"
[[af]]
client_id = "af-a"
client_secret_hash = "{}"
fqdns = ["{A_FQDN}"]
scopes = ["nnef-akma:gpsi-access", "nnef-akma-push"]
[[af]]
client_id = "af-b"
client_secret_hash = "{}"
fqdns = ["{B_FQDN}"]
[[af]]
client_id = "af-r"
client_secret_hash = "{}"
fqdns = ["{A_FQDN}"]
rate_limit = {{ per_sec = 0.001, burst = 5 }}
"#,
        h(SECRET_A),
        h(SECRET_B),
        h(SECRET_R)
    )
}

pub struct World {
    pub net: Network,
    pub nef: Running,
    pub keys: AkmaKeys,
    pub dir: tempfile::TempDir,
    pub http: reqwest::Client,
}

impl World {
    pub fn root(&self) -> String {
        format!("http://{}", self.nef.addr)
    }

    /// The NEF's `/metrics` text (development mode serves it on the SBI port).
    pub async fn metrics(&self) -> String {
        self.http
            .get(format!("{}/metrics", self.root()))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    pub fn retrieve_url(&self) -> String {
        format!("{}/3gpp-akma/v1/retrieve", self.root())
    }

    /// K_AF as the AAnF derives it for `fqdn` (TLS 1.3 PSK).
    pub fn expected_kaf(&self, fqdn: &str) -> String {
        let af = AfId::new(AfFqdn::parse(fqdn).unwrap(), UaProtocolId::TLS13_PSK);
        derive_k_af(&self.keys.k_akma, &af).expose_hex().to_string()
    }

    pub fn a_kid(&self) -> String {
        self.keys.a_kid.as_str().to_owned()
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("nef-data")
    }
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// `POST /oauth2/token` with Basic credentials and an optional scope.
pub async fn token_response(
    http: &reqwest::Client,
    root: &str,
    id: &str,
    secret: &str,
    scope: Option<&str>,
) -> reqwest::Response {
    let mut body = "grant_type=client_credentials".to_owned();
    if let Some(s) = scope {
        body.push_str(&format!(
            "&scope={}",
            s.replace(' ', "+").replace(':', "%3A")
        ));
    }
    http.post(format!("{root}/oauth2/token"))
        .header("authorization", basic(id, secret))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap()
}

pub async fn token(http: &reqwest::Client, root: &str, id: &str, secret: &str) -> String {
    let r = token_response(http, root, id, secret, None).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    v["access_token"].as_str().unwrap().to_owned()
}

/// `POST /retrieve`: status, headers and JSON body (Null when empty).
pub async fn retrieve(
    http: &reqwest::Client,
    url: &str,
    bearer: &str,
    body: &Value,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http
        .post(url)
        .bearer_auth(bearer)
        .json(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let bytes = r.bytes().await.unwrap();
    let v = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap()
    };
    (status, headers, v)
}

pub fn nef_args(dir: &Path, config: Option<&str>, aanf: &str, udm: Option<&str>) -> NefArgs {
    let cfg = config.map(|c| {
        let p = dir.join("nef.toml");
        std::fs::write(&p, c).unwrap();
        p
    });
    NefArgs {
        host: HostArgs {
            config: cfg,
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.join("nef-data")),
            ..Default::default()
        },
        aanf: Some(aanf.to_owned()),
        udm: udm.map(str::to_owned),
        ..Default::default()
    }
}

/// The network with the subscriber (GPSI provisioned at the UDM, context at the AAnF) and a
/// development NEF with [`nef_toml`].
pub async fn world() -> World {
    world_with(Some(&nef_toml())).await
}

pub async fn world_with(nef_config: Option<&str>) -> World {
    let mut sub = SubscriberFixture::akma(SUPI).subscriber().unwrap();
    sub.gpsis = vec![Gpsi::parse(GPSI).unwrap()];
    let net = NetworkBuilder::new()
        .subscribers(vec![sub])
        .aanf_config_toml(AANF_TOML)
        .start()
        .await
        .unwrap();
    let supi = akma_core::ids::Supi::parse(SUPI).unwrap();
    let keys = derive_akma_keys(
        &KAusf::from_bytes([0x42; 32]),
        &supi,
        &RoutingIndicator::parse("0").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    net.aanf_client()
        .unwrap()
        .register_anchor_key(&AkmaKeyInfo {
            supp_feat: None,
            ue_id: UeId::Supi(supi),
            a_kid: keys.a_kid.clone(),
            k_akma: keys.k_akma.clone(),
        })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let args = nef_args(
        dir.path(),
        nef_config,
        &net.aanf_api_root(),
        Some(&net.udm_api_root()),
    );
    let nef = start(resolve(&args).unwrap()).await.unwrap();
    World {
        net,
        nef,
        keys,
        dir,
        http: akma_sbi_server::test_pki::http1_client(),
    }
}
