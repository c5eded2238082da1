//! `akma demo --roaming`: AKMA roaming (TS 33.535 §4.1, Release 18), two PLMNs on loopback in
//! production mode.
//!
//! Each network runs an NRF, an AAnF, a NEF with an outside AF behind it, and an AF inside
//! it: the home network is PLMN 901-70, the visited one PLMN 001-01. Every NF is the real
//! one, started in-process from the TOML an operator would write: mutual TLS on every SBI hop (certificates of a throw-away CA that both operators
//! trust, the bilateral stand-in for SEPPs, ARCHITECTURE.md), and every access token issued
//! by an NRF and checked by its producer.
//!
//! 1. The UE, roaming in the visited network, has authenticated with its home network, and
//!    the home AUSF anchored its A-KID and K_AKMA at the home AAnF. (The demo plays the home
//!    AUSF: it registers at the home NRF with its certificate, gets a token there, discovers
//!    the AAnF and registers the context, as `akma ausf` does; the primary authentication is
//!    the one `akma demo` shows.)
//! 2. The UE opens a session to the home AF (roaming scenario #1): the AF finds its own
//!    network's AAnF; nothing crosses the networks.
//! 3. The UE opens a TLS 1.3-PSK session to the visited AF (scenario #2). The AF takes the home network from
//!    the A-KID's realm and asks its own (visited) NRF for an AAnF of that PLMN; the visited
//!    NRF forwards the discovery to the home NRF. The AF's token request names the home PLMN
//!    (`targetPlmn`): the visited NRF authenticates its AF and forwards it, and the home NRF
//!    signs a token with `consumerPlmnId` 001-01. The home AAnF checks the AF's certificate,
//!    that token and its roaming policy (`[[roaming]]`: K_AF only, no SUPI, although the AF's
//!    own entry would allow it at home) and returns K_AF.
//! 4. The same visited AF (its certificate and identity) serving the FQDN of a home AF: the
//!    home AAnF refuses (403), and the UE gets no session.
//! 5. The UE opens a session to the outside AF (scenario #3), which gets K_AF through the
//!    visited NEF; the NEF reaches the home AAnF the same way, as a consumer of the visited
//!    PLMN.
//! 6. The UE opens a session to an outside AF behind the home NEF (scenario #3 through the
//!    home network's NEF): nothing crosses the networks. The visited AAnF is never asked.
//!
//! The demo checks each claim on real values (the sessions, the bodies, the NFs' counters)
//! and exits 1 when one does not hold.

use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_aanf::metrics::{
    REQUESTS_TOTAL as AANF_REQUESTS, REQUEST_DURATION_SECONDS as AANF_DURATIONS,
};
use akma_core::akma::{derive_akma_keys, AkmaKeys};
use akma_core::ids::{AKid, AfFqdn, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAkma, KAusf};
use akma_loadgen::prometheus::Scrape;
use akma_nrf::metrics::{PROFILES as NRF_PROFILES, ROAMING_TOTAL};
use akma_sbi_client::client::NaanfClient;
use akma_sbi_client::nrf::NrfResolver;
use akma_sbi_client::NfHint;
use akma_sbi_model::common::NfType;
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_sbi_server::test_pki::TestPki;

use crate::testnet::{nf_client, random_hex, Files};
use akma_ua::client::CurrentAkmaKeys;
use serde_json::json;

/// The `operation` label of ApplicationKey_Get in the AAnF's figures.
const RETRIEVE: (&str, &str) = ("operation", "retrieve-applicationkey");

const HOME_PLMN: &str = "901-70";
const VISITED_PLMN: &str = "001-01";
const SUPI: &str = "imsi-901700000031415";
const VISITED_AF: &str = "app.visited.example";
const HOME_AF: &str = "app.example.com";
const OUTSIDE_AF: &str = "shop.example.net";
const OUTSIDE_CLIENT_ID: &str = "shop";
const HOME_OUTSIDE_AF: &str = "news.example.org";
const HOME_OUTSIDE_CLIENT_ID: &str = "news";

const HOME_NRF: &str = "9e1b2c3d-0000-4000-8000-0000000b0001";
const HOME_AANF: &str = "9e1b2c3d-0000-4000-8000-0000000b0002";
const HOME_AUSF: &str = "9e1b2c3d-0000-4000-8000-0000000b0003";
const HOME_AF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000b0004";
const HOME_NEF: &str = "9e1b2c3d-0000-4000-8000-0000000b0005";
const VISITED_NRF: &str = "9e1b2c3d-0000-4000-8000-0000000c0001";
const VISITED_NEF: &str = "9e1b2c3d-0000-4000-8000-0000000c0002";
const VISITED_AF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000c0003";
const VISITED_AANF: &str = "9e1b2c3d-0000-4000-8000-0000000c0004";

/// How long one step may take before the demo gives up.
const STEP: Duration = Duration::from_secs(20);

/// The roaming UE: NAS holds one AKMA context, from its home network.
struct Ue(AkmaKeys);

impl CurrentAkmaKeys for Ue {
    fn current(&self) -> Option<(AKid, KAkma)> {
        Some((self.0.a_kid.clone(), self.0.k_akma.clone()))
    }
}

/// A loopback port free now (the NRFs must know each other's before either starts).
fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| format!("no free loopback port: {e}"))
}

/// An NRF of `plmn` whose partner is `peer_plmn` at `peer_port` (instance `peer_id`).
async fn nrf(
    f: &Files,
    name: &str,
    id: &str,
    plmn: &str,
    port: u16,
    peer: (&str, u16, &str),
) -> Result<akma_nf_host::Running, String> {
    let (key, public) =
        akma_sbi_server::signer::generate_key().map_err(|e| format!("{name}: {e}"))?;
    f.private(&format!("{name}-token.pem"), &key)?;
    f.write(&format!("{name}-token.pub.pem"), &public)?;
    let (peer_plmn, peer_port, peer_id) = peer;
    let config = f.write(
        &format!("{name}.toml"),
        &format!(
            "nf_instance_id = \"{id}\"\ntoken_key = \"{name}-token.pem\"\nplmns = [\"{plmn}\"]\n{}\n[[peer_nrf]]\nplmn = \"{peer_plmn}\"\napi_root = \"https://localhost:{peer_port}\"\nnf_instance_id = \"{peer_id}\"\n",
            Files::tls(name)
        ),
    )?;
    let args = akma_nrf::server::NrfArgs {
        host: f.host(name, config, format!("127.0.0.1:{port}")),
        ..Default::default()
    };
    let resolved = akma_nrf::server::resolve(&args).map_err(|e| format!("{name}: {e}"))?;
    akma_nrf::server::start(resolved)
        .await
        .map_err(|e| format!("{name}: {e}"))
}

/// An AAnF `name` registered at the NRF `nrf_name` (at `nrf`, instance `nrf_id`, whose
/// tokens it checks with `<nrf_name>-token.pub.pem`), with `registry` (its consumers, AFs
/// and roaming partners) and a fresh KEK.
async fn aanf(
    f: &Files,
    name: &str,
    (nrf_name, nrf, nrf_id): (&str, &str, &str),
    registry: &str,
) -> Result<akma_nf_host::Running, String> {
    let kek = random_hex(32)?;
    let config = f.private(
        &format!("{name}.toml"),
        &format!(
            "kek = \"{}\"\nnrf = \"{nrf}\"\n{}\n[oauth2]\nissuer = \"{nrf_id}\"\naudience = [\"AANF\"]\nes256_public_keys = [\"{nrf_name}-token.pub.pem\"]\n\n{registry}",
            kek.as_str(),
            Files::tls(name),
        ),
    )?;
    let args = akma_aanf::server::AanfArgs {
        host: f.host(name, config, "127.0.0.1:0".into()),
        ..Default::default()
    };
    let resolved = akma_aanf::server::resolve(&args).map_err(|e| format!("{name}: {e}"))?;
    akma_aanf::server::start(resolved)
        .await
        .map_err(|e| format!("{name}: {e}"))
}

/// A NEF `name` registered at the NRF `nrf`, with one outside AF (`client_id`, `fqdn`) whose
/// secret it keeps only as a hash (the secret goes to `<client_id>.secret`).
async fn nef(
    f: &Files,
    name: &str,
    nrf: &str,
    client_id: &str,
    fqdn: &str,
) -> Result<akma_nf_host::Running, String> {
    let secret = random_hex(24)?;
    f.private(
        &format!("{client_id}.secret"),
        &format!("{}\n", secret.as_str()),
    )?;
    let hash = akma_nef::token::hash_secret(&secret)?;
    let (key, _) = akma_sbi_server::signer::generate_key().map_err(|e| format!("{name}: {e}"))?;
    f.private(&format!("{name}-token.pem"), &key)?;
    let config = f.write(
        &format!("{name}.toml"),
        &format!(
            "nrf = \"{nrf}\"\ntoken_key = \"{name}-token.pem\"\n{}\n[[af]]\nclient_id = \"{client_id}\"\nclient_secret_hash = \"{hash}\"\nfqdns = [\"{fqdn}\"]\n",
            Files::tls(name)
        ),
    )?;
    let args = akma_nef::server::NefArgs {
        host: f.host(name, config, "127.0.0.1:0".into()),
        ..Default::default()
    };
    let resolved = akma_nef::server::resolve(&args).map_err(|e| format!("{name}: {e}"))?;
    akma_nef::server::start(resolved)
        .await
        .map_err(|e| format!("{name}: {e}"))
}

/// An outside AF `fqdn` behind the NEF `nef` (`akma af` with `[nef]`).
async fn outside(
    f: &Files,
    fqdn: &str,
    client_id: &str,
    nef: &akma_nf_host::Running,
) -> Result<akma_af::app::RunningAf, String> {
    let config = f.write(
        &format!("{fqdn}.toml"),
        &format!(
            "fqdn = \"{fqdn}\"\nlisten = \"127.0.0.1:0\"\n\n[nef]\nurl = \"https://localhost:{}\"\nclient_id = \"{client_id}\"\nclient_secret_file = \"{client_id}.secret\"\nca = \"ca.crt\"\n",
            nef.addr.port()
        ),
    )?;
    let settings = akma_af::app::resolve(&akma_af::app::AfArgs {
        config: Some(config),
        ..Default::default()
    })
    .map_err(|e| format!("outside AF {fqdn}: {e}"))?;
    akma_af::app::start(&settings, akma_af::app::sample_router())
        .await
        .map_err(|e| format!("outside AF {fqdn}: {e}"))
}

/// An NF's `GET /metrics` on its ops listener, parsed.
async fn metrics(ops: Option<std::net::SocketAddr>) -> Result<Scrape, String> {
    let ops = ops.ok_or("an NF without its ops listener")?;
    let r = reqwest::get(format!("http://{ops}/metrics"))
        .await
        .map_err(|e| format!("GET /metrics of {ops}: {e}"))?;
    let text = r
        .text()
        .await
        .map_err(|e| format!("/metrics of {ops}: {e}"))?;
    Scrape::parse(&text).map_err(|e| format!("/metrics of {ops}: {e}"))
}

/// The value of the counter or gauge `name{labels}`; 0 when absent.
fn count(m: &Scrape, name: &str, labels: &[(&str, &str)]) -> u64 {
    m.get(name, labels).unwrap_or(0.0) as u64
}

/// Until `name{labels}` of the NF at `ops` reaches `n` (registrations run in the background).
async fn until_count(
    what: &str,
    ops: Option<std::net::SocketAddr>,
    (name, labels): (&str, &[(&str, &str)]),
    n: u64,
) -> Result<(), String> {
    let deadline = Instant::now() + STEP;
    loop {
        if count(&metrics(ops).await?, name, labels) >= n {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("{what}: {name}{labels:?} did not reach {n}"));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `akma demo --roaming`.
pub async fn run(json_out: bool) -> Result<(), String> {
    let started = Instant::now();
    let mut out = crate::demo::Steps::new(!json_out);
    if !json_out {
        println!("akma demo --roaming: a UE of PLMN {HOME_PLMN} roaming in PLMN {VISITED_PLMN}; each PLMN with its own NRF, AAnF, NEF, an AF and an outside AF behind the NEF; production mode on loopback (mutual TLS, NRF-issued access tokens)\n");
    }
    let tmp = tempfile::Builder::new()
        .prefix("akma-demo-roaming-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let f = Files {
        dir: tmp.path().to_owned(),
    };

    // 1. The PKI, the two NRFs, the home AAnF, the visited NEF and AFs.
    let t = Instant::now();
    let pki = TestPki::new();
    f.write("ca.crt", &pki.ca_pem())?;
    for (name, id) in [
        ("home-nrf", HOME_NRF),
        ("home-aanf", HOME_AANF),
        ("home-ausf", HOME_AUSF),
        ("visited-nrf", VISITED_NRF),
        ("visited-nef", VISITED_NEF),
        ("visited-af", VISITED_AF_ID),
        ("home-af", HOME_AF_ID),
        ("home-nef", HOME_NEF),
        ("visited-aanf", VISITED_AANF),
    ] {
        f.nf_cert(&pki, name, id)?;
    }
    let (home_port, visited_port) = (free_port()?, free_port()?);
    let home_nrf = nrf(
        &f,
        "home-nrf",
        HOME_NRF,
        HOME_PLMN,
        home_port,
        (VISITED_PLMN, visited_port, VISITED_NRF),
    )
    .await?;
    let visited_nrf = nrf(
        &f,
        "visited-nrf",
        VISITED_NRF,
        VISITED_PLMN,
        visited_port,
        (HOME_PLMN, home_port, HOME_NRF),
    )
    .await?;
    let home_nrf_root = format!("https://localhost:{home_port}");
    let visited_nrf_root = format!("https://localhost:{visited_port}");

    // The home AAnF: its own AUSF and NEF, the home AFs, and the roaming policy for PLMN
    // 001-01: its AF and its NEF's outside AF get K_AF only (no SUPI, no GPSI).
    let home_aanf = aanf(
        &f,
        "home-aanf",
        ("home-nrf", &home_nrf_root, HOME_NRF),
        &format!(
            r#"[[consumer]]
id = "urn:uuid:{HOME_AUSF}"
nf_type = "AUSF"

[[consumer]]
id = "urn:uuid:{HOME_NEF}"
nf_type = "NEF"

[[af]]
fqdn = "{HOME_AF}"
identity = "urn:uuid:{HOME_AF_ID}"
allow_supi = true

[[af]]
fqdn = "{HOME_OUTSIDE_AF}"
ua_protocols = ["0100000007"]

[[roaming]]
plmn = "{VISITED_PLMN}"
allow_supi = false
allow_gpsi = false
nef = ["urn:uuid:{VISITED_NEF}"]

[[af]]
fqdn = "{VISITED_AF}"
plmn = "{VISITED_PLMN}"
identity = "urn:uuid:{VISITED_AF_ID}"
ua_protocols = ["0100000007"]
allow_supi = true

[[af]]
fqdn = "{OUTSIDE_AF}"
plmn = "{VISITED_PLMN}"
ua_protocols = ["0100000007"]
"#
        ),
    )
    .await?;
    // The visited network's own AAnF, for its own subscribers: a roaming UE's A-KID must not
    // lead there.
    let visited_aanf = aanf(
        &f,
        "visited-aanf",
        ("visited-nrf", &visited_nrf_root, VISITED_NRF),
        "",
    )
    .await?;
    // Each network's NEF, with one outside AF each (their secrets only as hashes).
    let visited_nef = nef(
        &f,
        "visited-nef",
        &visited_nrf_root,
        OUTSIDE_CLIENT_ID,
        OUTSIDE_AF,
    )
    .await?;
    let home_nef = nef(
        &f,
        "home-nef",
        &home_nrf_root,
        HOME_OUTSIDE_CLIENT_ID,
        HOME_OUTSIDE_AF,
    )
    .await?;

    // The visited AF (inside the visited network: it registers at the visited NRF), once as
    // itself and once misconfigured with the FQDN of a home AF; the outside AF behind the NEF.
    let af = |fqdn: &str,
              file: &str,
              id: &str,
              nrf: &str,
              cert: &str|
     -> Result<akma_af::app::AfSettings, String> {
        let config = f.write(
            &format!("{file}.toml"),
            &format!(
                "fqdn = \"{fqdn}\"\nnf_instance_id = \"{id}\"\nnrf = \"{nrf}\"\nlisten = \"127.0.0.1:0\"\nsupi_access = true\n\n[client]\nca = \"ca.crt\"\ncert = \"{cert}.crt\"\nkey = \"{cert}.key\"\n"
            ),
        )?;
        akma_af::app::resolve(&akma_af::app::AfArgs {
            config: Some(config),
            ..Default::default()
        })
        .map_err(|e| format!("AF {fqdn}: {e}"))
    };
    let visited_af = akma_af::app::start(
        &af(
            VISITED_AF,
            "visited-af",
            VISITED_AF_ID,
            &visited_nrf_root,
            "visited-af",
        )?,
        akma_af::app::sample_router(),
    )
    .await
    .map_err(|e| format!("visited AF: {e}"))?;
    let posing_af = akma_af::app::start(
        &af(
            HOME_AF,
            "visited-af-posing",
            VISITED_AF_ID,
            &visited_nrf_root,
            "visited-af",
        )?,
        akma_af::app::sample_router(),
    )
    .await
    .map_err(|e| format!("visited AF as {HOME_AF}: {e}"))?;
    // The home AF, inside the home network (roaming scenario #1).
    let home_af = akma_af::app::start(
        &af(HOME_AF, "home-af", HOME_AF_ID, &home_nrf_root, "home-af")?,
        akma_af::app::sample_router(),
    )
    .await
    .map_err(|e| format!("home AF: {e}"))?;
    let outside_af = outside(&f, OUTSIDE_AF, OUTSIDE_CLIENT_ID, &visited_nef).await?;
    let home_outside_af = outside(&f, HOME_OUTSIDE_AF, HOME_OUTSIDE_CLIENT_ID, &home_nef).await?;
    // Registered: the home AAnF, AF and NEF at the home NRF; the visited AAnF, AF (twice,
    // one instance) and NEF at the visited NRF.
    let registered: (&str, &[(&str, &str)]) = (NRF_PROFILES, &[("status", "REGISTERED")]);
    until_count("home NRF", home_nrf.ops_addr, registered, 3).await?;
    until_count("visited NRF", visited_nrf.ops_addr, registered, 3).await?;
    out.done(
        "two PLMNs started (production mode, one throw-away CA both trust)",
        t.elapsed(),
        format!(
            "home {HOME_PLMN}: NRF {home_nrf_root}, AAnF https://{}, NEF https://localhost:{}, AF {HOME_AF} at {}, outside AF {HOME_OUTSIDE_AF} at {}; visited {VISITED_PLMN}: NRF {visited_nrf_root}, AAnF https://{}, NEF https://localhost:{}, AF {VISITED_AF} at {}, outside AF {OUTSIDE_AF} at {}",
            home_aanf.addr,
            home_nef.addr.port(),
            home_af.addr,
            home_outside_af.addr,
            visited_aanf.addr,
            visited_nef.addr.port(),
            visited_af.addr,
            outside_af.addr
        ),
    );

    // 2. The home AUSF anchors the roaming UE's context at the home AAnF.
    let t = Instant::now();
    let ue = anchor(&f, &home_nrf_root).await?;
    let a_kid = ue.0.a_kid.as_str().to_owned();
    out.done(
        "home AUSF registers the roaming UE's A-KID and K_AKMA at the home AAnF",
        t.elapsed(),
        format!("A-KID {a_kid} (its realm names the home PLMN {HOME_PLMN})"),
    );

    let target =
        |fqdn: &str, addr: std::net::SocketAddr| -> Result<crate::connect::Target, String> {
            Ok(crate::connect::Target {
                authority: addr.to_string(),
                fqdn: AfFqdn::parse(fqdn).map_err(|e| e.to_string())?,
                path: "/".into(),
            })
        };
    let tls13 = akma_ua::profile::TlsVersion::Tls13;

    // 3. The home AF (scenario #1): the roaming UE's A-KID names the AF's own network.
    let t = Instant::now();
    let home = tokio::time::timeout(
        STEP,
        crate::connect::connect(&ue, &target(HOME_AF, home_af.addr)?, tls13, None),
    )
    .await
    .map_err(|_| "UE → home AF: timed out".to_string())?
    .map_err(|e| format!("UE → home AF: {e}"))?;
    if home["body"]["aKid"] != a_kid.as_str() || home["body"]["supi"] != SUPI {
        return Err(format!(
            "the home AF's session is not the UE's, with the SUPI its entry allows: {home}"
        ));
    }
    out.done(
        "UE opens a TLS 1.3-PSK session to the home AF",
        t.elapsed(),
        format!(
            "{}; the AF found its own network's AAnF at its NRF, nothing forwarded; user {} (the home AF may have the SUPI)",
            home["tls"].as_str().unwrap_or("?"),
            home["body"]["user"]
        ),
    );

    // 4. The visited AF: K_AF from the home AAnF, through both NRFs.
    let t = Instant::now();
    let session = tokio::time::timeout(
        STEP,
        crate::connect::connect(&ue, &target(VISITED_AF, visited_af.addr)?, tls13, None),
    )
    .await
    .map_err(|_| "UE → visited AF: timed out".to_string())?
    .map_err(|e| format!("UE → visited AF: {e}"))?;
    let body = &session["body"];
    if body.get("supi").is_some() || body["user"] == SUPI {
        return Err(format!(
            "the visited AF learned the SUPI, which the home roaming policy withholds: {body}"
        ));
    }
    if body["user"] != "anonymous" || body["aKid"] != a_kid.as_str() {
        return Err(format!(
            "the visited AF's session is not the anonymous session of the UE's A-KID: {body}"
        ));
    }
    out.done(
        "UE opens a TLS 1.3-PSK session to the visited AF",
        t.elapsed(),
        format!(
            "{}; the AF found the home AAnF through its NRF and the home NRF, with a home-NRF token for PLMN {VISITED_PLMN}; user {} (its entry allows the SUPI and its token asks for it, but the roaming policy does not release it)",
            session["tls"].as_str().unwrap_or("?"),
            body["user"]
        ),
    );

    // 5. The visited AF with a home AF's FQDN: refused by the home AAnF.
    let t = Instant::now();
    let refused = tokio::time::timeout(
        STEP,
        crate::connect::connect(&ue, &target(HOME_AF, posing_af.addr)?, tls13, None),
    )
    .await
    .map_err(|_| "UE → visited AF as a home AF: timed out".to_string())?;
    if let Ok(s) = refused {
        return Err(format!(
            "the visited AF got the key of the home AF {HOME_AF}: {s}"
        ));
    }
    let refusals = posing_af.keys.metrics().refusals_of("aanf_refused");
    if refusals != 1 {
        return Err(format!(
            "the AF serving {HOME_AF} saw {refusals} AAnF refusals, expected 1"
        ));
    }
    out.done(
        "the visited AF asks for the key of a home AF",
        t.elapsed(),
        format!("the home AAnF refuses (403 AF_NOT_AUTHORIZED): {HOME_AF} is a home AF, not one of PLMN {VISITED_PLMN}'s; the UE gets no session"),
    );

    // 6. The outside AF, through the visited NEF.
    let t = Instant::now();
    let outside = tokio::time::timeout(
        STEP,
        crate::connect::connect(&ue, &target(OUTSIDE_AF, outside_af.addr)?, tls13, None),
    )
    .await
    .map_err(|_| "UE → outside AF: timed out".to_string())?
    .map_err(|e| format!("UE → outside AF: {e}"))?;
    let obody = &outside["body"];
    if obody.get("supi").is_some()
        || obody.get("gpsi").is_some()
        || obody["user"] != "anonymous"
        || obody["aKid"] != a_kid.as_str()
    {
        return Err(format!(
            "the outside AF learned an identity the home roaming policy withholds: {obody}"
        ));
    }
    out.done(
        "UE opens a TLS 1.3-PSK session to the outside AF",
        t.elapsed(),
        format!(
            "{}; K_AF through the visited NEF, which reached the home AAnF as a consumer of PLMN {VISITED_PLMN}; user {}",
            outside["tls"].as_str().unwrap_or("?"),
            obody["user"]
        ),
    );

    // 7. An outside AF behind the home NEF (scenario #3 through the home network's NEF).
    let t = Instant::now();
    let home_outside = tokio::time::timeout(
        STEP,
        crate::connect::connect(
            &ue,
            &target(HOME_OUTSIDE_AF, home_outside_af.addr)?,
            tls13,
            None,
        ),
    )
    .await
    .map_err(|_| "UE → outside AF of the home network: timed out".to_string())?
    .map_err(|e| format!("UE → outside AF of the home network: {e}"))?;
    if home_outside["body"]["aKid"] != a_kid.as_str() || home_outside["body"].get("supi").is_some()
    {
        return Err(format!(
            "the home network's outside AF's session is not the UE's anonymous one: {home_outside}"
        ));
    }
    out.done(
        "UE opens a TLS 1.3-PSK session to an outside AF behind the home NEF",
        t.elapsed(),
        format!(
            "{}; the home NEF asked its own network's AAnF; nothing forwarded",
            home_outside["tls"].as_str().unwrap_or("?")
        ),
    );

    // 8. What the NFs counted.
    let home_nrf_m = metrics(home_nrf.ops_addr).await?;
    let visited_nrf_m = metrics(visited_nrf.ops_addr).await?;
    let aanf_m = metrics(home_aanf.ops_addr).await?;
    let visited_aanf_m = metrics(visited_aanf.ops_addr).await?;
    let counters = json!({
        "visitedNrf": {
            "discoveriesForwarded": count(&visited_nrf_m, ROAMING_TOTAL, &[("kind", "discovery_forwarded")]),
            "tokensForwarded": count(&visited_nrf_m, ROAMING_TOTAL, &[("kind", "token_forwarded")]),
        },
        "homeNrf": {
            "tokensForPartnerConsumers": count(&home_nrf_m, ROAMING_TOTAL, &[("kind", "token_for_partner")]),
        },
        "homeAanf": {
            "applicationKeyGet200": count(&aanf_m, AANF_REQUESTS, &[RETRIEVE, ("status", "200")]),
            "applicationKeyGet403": count(&aanf_m, AANF_REQUESTS, &[RETRIEVE, ("status", "403")]),
        },
        "visitedAanf": {
            // Every answer, whatever its status: the histogram's count.
            "applicationKeyGet": visited_aanf_m
                .histogram(AANF_DURATIONS, &[RETRIEVE])
                .map_or(0, |h| h.count as u64),
        },
    });
    // Three key clients of the visited PLMN (the AF as itself, the same AF serving the home
    // AF's FQDN, and the NEF) each discovered the home AAnF and got a home token; the home
    // AAnF answered them and the home AF and NEF, and refused the AF posing as a home AF;
    // the visited AAnF was never asked.
    let checks = [
        (counters["visitedNrf"]["discoveriesForwarded"].as_u64(), 3),
        (counters["visitedNrf"]["tokensForwarded"].as_u64(), 3),
        (counters["homeNrf"]["tokensForPartnerConsumers"].as_u64(), 3),
        (counters["homeAanf"]["applicationKeyGet200"].as_u64(), 4),
        (counters["homeAanf"]["applicationKeyGet403"].as_u64(), 1),
        (counters["visitedAanf"]["applicationKeyGet"].as_u64(), 0),
    ];
    if checks.iter().any(|(got, want)| *got != Some(*want)) {
        return Err(format!(
            "the roaming counters are not as expected: {counters}"
        ));
    }

    if json_out {
        println!(
            "{}",
            json!({
                "homePlmn": HOME_PLMN,
                "visitedPlmn": VISITED_PLMN,
                "aKid": a_kid,
                "homeAf": home,
                "visitedAf": session,
                "homeAfRefused": HOME_AF,
                "outsideAf": outside,
                "homeOutsideAf": home_outside,
                "counters": counters,
                "steps": out.log,
                "totalMs": (started.elapsed().as_secs_f64() * 10000.0).round() / 10.0,
            })
        );
    } else {
        println!("\nroaming hops (the NFs' counters)");
        println!(
            "  visited NRF → home NRF   discoveries forwarded {}, token requests forwarded {}",
            counters["visitedNrf"]["discoveriesForwarded"],
            counters["visitedNrf"]["tokensForwarded"]
        );
        println!(
            "  home NRF                 tokens issued to PLMN {VISITED_PLMN} consumers {}",
            counters["homeNrf"]["tokensForPartnerConsumers"]
        );
        println!(
            "  home AAnF                ApplicationKey_Get 200: {}, 403: {}",
            counters["homeAanf"]["applicationKeyGet200"],
            counters["homeAanf"]["applicationKeyGet403"]
        );
        println!(
            "  visited AAnF             ApplicationKey_Get: {} (a roaming UE's keys are not there)",
            counters["visitedAanf"]["applicationKeyGet"]
        );
        println!(
            "\nroaming demo passed in {:.1} ms",
            started.elapsed().as_secs_f64() * 1000.0
        );
    }
    let _ = outside_af.shutdown().await;
    let _ = home_outside_af.shutdown().await;
    let _ = home_nef.shutdown().await;
    let _ = visited_aanf.shutdown().await;
    let _ = home_af.shutdown().await;
    let _ = posing_af.shutdown().await;
    let _ = visited_af.shutdown().await;
    let _ = visited_nef.shutdown().await;
    let _ = home_aanf.shutdown().await;
    let _ = visited_nrf.shutdown().await;
    let _ = home_nrf.shutdown().await;
    Ok(())
}

/// The home AUSF's part: registered at the home NRF with its certificate, it derives the
/// UE's A-KID and K_AKMA from K_AUSF (TS 33.535 Annex A.2, A.3), discovers the AAnF by the
/// A-KID and registers the context with an NRF-issued token.
async fn anchor(f: &Files, home_nrf: &str) -> Result<Ue, String> {
    let (sbi, nrf, tokens) =
        nf_client(&f.dir, "home-ausf", home_nrf, HOME_AUSF, NfType::Ausf).await?;
    let resolver = Arc::new(NrfResolver::new(nrf, NfType::Ausf));
    let mut k_ausf = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::getrandom(&mut k_ausf[..]).map_err(|e| format!("no randomness: {e}"))?;
    let supi = Supi::parse(SUPI).map_err(|e| e.to_string())?;
    let keys = derive_akma_keys(
        &KAusf::from_bytes(*k_ausf),
        &supi,
        &RoutingIndicator::parse("0").map_err(|e| e.to_string())?,
        MncLen::Two,
    )
    .map_err(|e| e.to_string())?;
    let hint = NfHint::of_a_kid(&keys.a_kid);
    let aanf = NaanfClient::with_resolver(sbi.with_token_source(tokens), resolver).with_hint(hint);
    aanf.register_anchor_key(&AkmaKeyInfo {
        supp_feat: None,
        ue_id: UeId::Supi(supi),
        a_kid: keys.a_kid.clone(),
        k_akma: keys.k_akma.clone(),
    })
    .await
    .map_err(|e| format!("home AUSF → home AAnF register-anchorkey: {e}"))?;
    Ok(Ue(keys))
}
