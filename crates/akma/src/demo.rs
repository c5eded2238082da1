//! `akma demo`: the whole AKMA path in one process, in seconds.
//!
//! Starts a UDM, an AUSF and an AAnF in development mode (h2c on loopback ports chosen at run
//! time, embedded stores in a temporary directory), provisions one AKMA subscriber, runs a UE
//! through primary authentication with the simulated AMF/SEAF over the real SBI, then asks the
//! AAnF for K_AF exactly as an AF inside the operator's network would (TS 33.535 §6.2) and
//! checks that it equals the K_AF the UE derived for the same A-KID. Only fingerprints of keys
//! are printed. With `--reauth` a second authentication follows: the UE's API returns a new
//! A-KID, the old one no longer resolves at the AAnF (204), the new one does. `--fault` makes a
//! step go wrong on purpose, to show that the demo then says so and exits 1.
//!
//! The journey ends at an AF (`akma_af::app`, the sample AF): the UE's application asks NAS
//! for the current pair, opens a TLS 1.3-PSK session (K_AF as external PSK, Ua* id
//! `0100000007`) and sends `GET /`; the AF fetches K_AF from the AAnF during the handshake and
//! names the user its key answer allows. The message flow between UE, AMF/SEAF, AUSF, UDM,
//! AAnF and AF is printed from a `tracing` target that the SBI server and the simulated
//! AMF/SEAF feed (`crate::flow`).
//!
//! Then the outside path (TS 33.535 §6.3): a second AF, outside the operator's network, gets
//! K_AF through a development NEF (`crate::outside`): an OAuth2 token at the NEF's token
//! endpoint, `3gpp-akma/v1/retrieve`, and behind it the NEF's Naanf_AKMA_ApplicationKey_Get
//! and its Nudm_SDM id translation. The UE opens a TLS 1.3-PSK session to that AF too; the AF
//! learns the subscriber's GPSI and never the SUPI.

use std::time::{Duration, Instant};

use akma_core::akma::{AfId, UaProtocolId};
use akma_core::ids::{AKid, AfFqdn, Gpsi, MncLen, ServingNetworkName};
use akma_core::keys::KAf;
use akma_sbi_client::client::NaanfClient;
use akma_sbi_model::AkmaAfKeyRequest;
use akma_sim::fixtures::{SubscriberFixture, K1, OPC1, SNN_901_70};
use akma_sim::network::{Network, NetworkBuilder};
use akma_sim::{Faults, Outcome};
use akma_udm::subscriber::AuthMethod;
use akma_ue::AkmaApi;
use clap::{Args, ValueEnum};
use serde_json::json;

/// The demo subscriber: the SUPI of the conventions.md example, K and OPc of TS 35.208 test
/// set 1, routing indicator 0, home PLMN 901/70 (MNC length 2).
const SUPI: &str = "imsi-901700000021309";
const GPSI: &str = "msisdn-447700900123";
const RID: &str = "0";
/// The NEF's client id of the demo's outside AF.
const OUTSIDE_CLIENT_ID: &str = "demo-outside-af";

/// The demo subscriber with this authentication method.
fn subscriber(method: AuthMethod) -> SubscriberFixture<'static> {
    fixture(SUPI, method)
}

/// A demo subscriber: K and OPc of TS 35.208 test set 1, routing indicator 0, home PLMN
/// 901/70, AKMA on.
pub(crate) fn fixture(supi: &'static str, method: AuthMethod) -> SubscriberFixture<'static> {
    SubscriberFixture {
        supi,
        k: K1,
        opc: OPC1,
        home_plmn: "901-70",
        routing_indicator: RID,
        akma: true,
        auth_method: method,
    }
}

/// `akma demo` options.
#[derive(Args, Debug, Clone)]
pub struct DemoArgs {
    /// Print one JSON object on stdout instead of the step-by-step text.
    #[arg(long)]
    pub json: bool,
    /// Provision the subscriber for EAP-AKA' instead of 5G AKA.
    #[arg(long)]
    pub eap_aka_prime: bool,
    /// Authenticate a second time and show that the old A-KID stops resolving.
    #[arg(long)]
    pub reauth: bool,
    /// The AF's FQDN (the AF uses TLS 1.3 with K_AF as external PSK, Ua* id 0x0100000007).
    #[arg(long, default_value = "app.example.com", value_parser = parse_af_fqdn)]
    pub af_fqdn: AfFqdn,
    /// The FQDN of the AF outside the operator's network, which gets K_AF through the NEF.
    #[arg(long, default_value = "shop.example.net", value_parser = parse_af_fqdn)]
    pub outside_af_fqdn: AfFqdn,
    /// Make one step go wrong on purpose: the demo reports it and exits 1.
    #[arg(long, value_enum)]
    pub fault: Option<DemoFault>,
    /// Instead: a MSGin5G server as an outside AF behind the NEF (TS 33.501 Annex Y), two
    /// UEs known by the GPSI the NEF returns; A sends B a message, B fetches and acknowledges it.
    #[arg(long, conflicts_with_all = ["eap_aka_prime", "reauth", "fault", "outside_af_fqdn"])]
    pub msgin5g: bool,
    /// Instead: AKMA push, a project extension (docs/akma-push.md). The AF (--af-fqdn) pushes
    /// to a UE that never contacted it, a replay is refused, and after a re-authentication the
    /// UE's "stale push material" answer makes the AF fetch fresh material once; then the
    /// outside AF (--outside-af-fqdn) pushes through the NEF.
    #[arg(long, conflicts_with_all = ["eap_aka_prime", "reauth", "fault", "msgin5g"])]
    pub push: bool,
    /// Instead: roaming (TS 33.535 §4.1). Two PLMNs in production mode on loopback, each with
    /// its own NRF; a UE of the home PLMN roams in the visited one, whose AF and whose NEF
    /// (for an outside AF) get K_AF from the home AAnF through both NRFs, under the home
    /// network's roaming policy. Fixed FQDNs (--af-fqdn and --outside-af-fqdn do not apply).
    #[arg(long, conflicts_with_all = ["eap_aka_prime", "reauth", "fault", "msgin5g", "push", "af_fqdn", "outside_af_fqdn"])]
    pub roaming: bool,
}

/// A deliberate failure, to show that the demo checks what it claims.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoFault {
    /// The UE's RES* is corrupted on its way to the SEAF: authentication fails, nothing is
    /// anchored at the AAnF.
    WrongResStar,
    /// The AF asks the AAnF for the key of another Ua* protocol (TLS 1.2 PSK instead of
    /// TLS 1.3): the AAnF's K_AF differs from the UE's, and the comparison catches it.
    /// (K_AF is bound to AF_ID = FQDN ‖ Ua* protocol identifier, TS 33.535 Annex A.4.)
    KafMismatch,
    /// After a re-authentication the UE's application uses a copy of the first A-KID and
    /// K_AKMA instead of asking NAS: the AAnF no longer knows that A-KID (204), so the AF
    /// refuses the TLS-PSK handshake.
    StaleAKid,
}

/// Bad input is a usage error (exit 2), reported by clap with the argument's name.
fn parse_af_fqdn(s: &str) -> Result<AfFqdn, String> {
    AfFqdn::parse(s).map_err(|e| e.to_string())
}

/// One authentication and key check.
struct Round {
    a_kid: AKid,
    auth_type: String,
    ue_fp: String,
    aanf_fp: String,
}

pub(crate) struct Steps {
    text: bool,
    pub(crate) log: Vec<serde_json::Value>,
}

impl Steps {
    /// Steps printed as text (`text`) or only logged for `--json`.
    pub(crate) fn new(text: bool) -> Self {
        Self {
            text,
            log: Vec::new(),
        }
    }

    pub(crate) fn done(&mut self, what: &str, took: Duration, detail: String) {
        let ms = took.as_secs_f64() * 1e3;
        if self.text {
            let line = format!("  {what:<56} {ms:>7.1} ms  {detail}");
            println!("{}", line.trim_end());
        }
        self.log
            .push(json!({"step": what, "ms": (ms * 10.0).round() / 10.0, "detail": detail}));
    }
}

/// Runs the demo; `Err` carries the message for stderr (exit 1).
pub async fn run(a: DemoArgs, flow: crate::flow::Flow) -> Result<(), String> {
    if a.msgin5g {
        return run_msgin5g(&a, &flow).await;
    }
    if a.roaming {
        return crate::roaming_demo::run(a.json).await;
    }
    if a.push {
        if a.outside_af_fqdn == a.af_fqdn {
            return Err("--af-fqdn and --outside-af-fqdn must differ".into());
        }
        return crate::push_demo::run(a.json, &a.af_fqdn, &a.outside_af_fqdn, &flow).await;
    }
    let af_fqdn = a.af_fqdn.clone();
    if a.outside_af_fqdn == af_fqdn {
        return Err(format!(
            "--af-fqdn and --outside-af-fqdn are both {}: the AF inside the operator's network and the one outside it need different FQDNs",
            af_fqdn.as_str()
        ));
    }
    // The UE derives K_AF for TLS 1.3 PSK (conventions.md's default Ua* protocol); the AF asks
    // for the same afId, unless the fault makes it ask for another protocol.
    let af_ua = if a.fault == Some(DemoFault::KafMismatch) {
        // TLS 1.2 shared key with TLS_PSK_WITH_AES_128_GCM_SHA256 (TS 33.220 H.3).
        UaProtocolId::tls_suite(0x00a8)
    } else {
        UaProtocolId::TLS13_PSK
    };
    let af_id = AfId::new(af_fqdn.clone(), af_ua);
    let started = Instant::now();
    let mut steps = Steps {
        text: !a.json,
        log: Vec::new(),
    };
    if steps.text {
        println!("akma demo: UDM, AUSF, AAnF, NEF (development mode, h2c) and two AFs (TLS-PSK), one inside the operator's network and one outside behind the NEF, on loopback, one UE\n");
    }

    // 1. The network functions. The AF may learn the SUPI (TS 33.535 §6.2: per the
    // operator's policy for the AF).
    let (dir, core) = start_core(
        "akma-demo-",
        format!(
            "[[af]]\nfqdn = \"{}\"\nallow_supi = true\nua_protocols = [\"0100000007\", \"01000100aa\", \"01000100a8\"]\n\n{}",
            af_fqdn.as_str(),
            crate::outside::aanf_entry(&a.outside_af_fqdn)
        ),
        &mut steps,
    )
    .await?;
    // The AF, inside the operator's network: Ua* TLS-PSK, K_AF from the AAnF.
    let t = Instant::now();
    let af_settings = akma_af::app::AfSettings {
        dev: true,
        listen: "127.0.0.1:0".parse().map_err(|e| format!("{e}"))?,
        ops_listen: None,
        fqdn: af_fqdn.clone(),
        aanf: core.aanf_api_root(),
        nrf: None,
        nef: None,
        nf_instance_id: None,
        tls12: true,
        allow_plain_psk: false,
        supi_access: false,
        keys: akma_af::keys::KeyClientConfig::default(),
        client: akma_nf_host::PeerClientConfig::default(),
        log_format: akma_nf_host::LogFormat::Text,
        digest: None,
        notify: None,
    };
    let af = akma_af::app::start(&af_settings, akma_af::app::sample_router())
        .await
        .map_err(|e| format!("AF: {e}"))?;
    steps.done(
        "start the AF",
        t.elapsed(),
        format!("AF {} (TLS-PSK)", af.addr),
    );
    // The NEF, and the AF outside the operator's network behind it.
    let t = Instant::now();
    let outside = crate::outside::OutsideAf {
        client_id: OUTSIDE_CLIENT_ID,
        fqdn: &a.outside_af_fqdn,
    };
    let nef = crate::outside::start_nef(&core, dir.path(), std::slice::from_ref(&outside)).await?;
    steps.done(
        "start the NEF",
        t.elapsed(),
        format!(
            "NEF {} (AF registry: {OUTSIDE_CLIENT_ID}, {})",
            nef.running.addr,
            a.outside_af_fqdn.as_str()
        ),
    );
    let t = Instant::now();
    let outside_af =
        akma_af::app::resolve(&nef.af_args(&outside)).map_err(|e| format!("outside AF: {e}"))?;
    let outside_af = akma_af::app::start(&outside_af, akma_af::app::sample_router())
        .await
        .map_err(|e| format!("outside AF: {e}"))?;
    steps.done(
        "start the outside AF",
        t.elapsed(),
        format!("AF {} (TLS-PSK, K_AF through the NEF)", outside_af.addr),
    );
    let afs = Afs {
        af_fqdn: &af_fqdn,
        af_id: &af_id,
        af_addr: af.addr,
        outside_fqdn: &a.outside_af_fqdn,
        outside_addr: outside_af.addr,
    };
    let result = demo_rounds(&a, &core, &afs, &mut steps).await;
    let stop = Instant::now();
    let _ = outside_af.shutdown().await;
    nef.shutdown().await;
    let _ = af.shutdown().await;
    let _ = core.shutdown().await;
    drop(dir);
    let flow_rows = flow.rows();
    if steps.text {
        print_flow(&flow_rows);
    }
    let (rounds, session, outside_session) = result?;
    steps.done("stop, remove the stores", stop.elapsed(), String::new());

    let first = &rounds[0];
    if a.json {
        let mut out = json!({
            "supi": SUPI,
            "authType": first.auth_type,
            "afId": af_id.to_sbi_string(),
            "aKid": first.a_kid.as_str(),
            "ueKafFingerprint": first.ue_fp,
            "aanfKafFingerprint": first.aanf_fp,
            "keysMatch": true,
            "afSession": session,
            "outsideAfSession": outside_session,
            "steps": steps.log,
            "flow": flow_rows.iter().map(|(ms, from, to, msg)| json!({
                "ms": (ms * 10.0).round() / 10.0, "from": from, "to": to, "message": msg,
            })).collect::<Vec<_>>(),
            "totalMs": (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
        });
        if let Some(second) = rounds.get(1) {
            out["reauth"] = json!({
                "aKid": second.a_kid.as_str(),
                "ueKafFingerprint": second.ue_fp,
                "aanfKafFingerprint": second.aanf_fp,
                "oldAKidResolves": false,
            });
        }
        println!("{out}");
    } else {
        println!();
        println!("SUPI        {SUPI}");
        println!("A-KID       {}", first.a_kid);
        println!("afId        {}", af_id.to_sbi_string());
        println!("K_AF (UE)   fingerprint {}", first.ue_fp);
        println!("K_AF (AAnF) fingerprint {}", first.aanf_fp);
        if let Some(second) = rounds.get(1) {
            println!("after re-authentication: A-KID {}", second.a_kid);
            println!(
                "            K_AF fingerprints {} (UE) {} (AAnF); the old A-KID gets 204",
                second.ue_fp, second.aanf_fp
            );
        }
        println!(
            "AF session  {} {}, GET / answered {}",
            session["tls"].as_str().unwrap_or("?"),
            session["afId"].as_str().unwrap_or("?"),
            session["body"]
        );
        println!(
            "outside AF  {} {}, GET / answered {}",
            outside_session["tls"].as_str().unwrap_or("?"),
            outside_session["afId"].as_str().unwrap_or("?"),
            outside_session["body"]
        );
        println!(
            "\nthe UE and the AAnF hold the same K_AF, and the AF served the UE over TLS-PSK; \
             the outside AF got its K_AF through the NEF and learned the GPSI, never the SUPI ({} ms in all)",
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

/// Step 1 of every demo: a temporary directory (`prefix`) and the development UDM, AUSF and
/// AAnF in it (MNC length 2, the AAnF's configuration `aanf_toml`), reported as a step.
pub(crate) async fn start_core(
    prefix: &str,
    aanf_toml: String,
    steps: &mut Steps,
) -> Result<(tempfile::TempDir, Network), String> {
    let t = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir()
        .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let core = NetworkBuilder::new()
        .data_dir(dir.path())
        .ausf_mnc_len(2)
        .aanf_config_toml(aanf_toml)
        .start()
        .await
        .map_err(|e| e.to_string())?;
    steps.done(
        "start UDM, AUSF, AAnF",
        t.elapsed(),
        format!(
            "UDM {}, AUSF {}, AAnF {}",
            core.udm.addr, core.ausf.addr, core.aanf.addr
        ),
    );
    Ok((dir, core))
}

/// The two AFs: inside the operator's network (K_AF from the AAnF) and outside it (through
/// the NEF).
struct Afs<'a> {
    af_fqdn: &'a AfFqdn,
    af_id: &'a AfId,
    af_addr: std::net::SocketAddr,
    outside_fqdn: &'a AfFqdn,
    outside_addr: std::net::SocketAddr,
}

async fn demo_rounds(
    a: &DemoArgs,
    core: &Network,
    afs: &Afs<'_>,
    steps: &mut Steps,
) -> Result<(Vec<Round>, serde_json::Value, serde_json::Value), String> {
    let (af_fqdn, af_id) = (afs.af_fqdn, afs.af_id);
    // 2. The subscriber, as the operator provisions it.
    let t = Instant::now();
    let method = if a.eap_aka_prime {
        AuthMethod::EapAkaPrime
    } else {
        AuthMethod::FiveGAka
    };
    let mut record = subscriber(method).subscriber().map_err(|e| e.to_string())?;
    record.gpsis = vec![Gpsi::parse(GPSI).map_err(|e| e.to_string())?];
    core.provision(vec![record])
        .await
        .map_err(|e| e.to_string())?;
    steps.done(
        "provision the subscriber at the UDM",
        t.elapsed(),
        format!("{SUPI}, AKMA on, routing indicator {RID}"),
    );

    // 3. The UE and its simulated AMF/SEAF.
    let nas = subscriber(method)
        .ue(MncLen::Two)
        .map_err(|e| e.to_string())?;
    let api = nas.akma_api();
    let snn = ServingNetworkName::parse(SNN_901_70).map_err(|e| e.to_string())?;
    let amf = core.amf(snn).map_err(|e| format!("AMF client: {e}"))?;
    let aanf = core.aanf_client().map_err(|e| format!("AF client: {e}"))?;

    let mut rounds: Vec<Round> = Vec::new();
    let stale_fault = a.fault == Some(DemoFault::StaleAKid);
    let n = if a.reauth || stale_fault { 2 } else { 1 };
    // The fault: a copy of the first pair, kept by the application instead of asking NAS.
    let mut stale: Option<akma_ua::client::FixedAkmaKeys> = None;
    for i in 0..n {
        let again = if i == 0 { "" } else { " again" };
        let t = Instant::now();
        let faults = Faults {
            corrupt_res_star: a.fault == Some(DemoFault::WrongResStar),
            ..Faults::default()
        };
        let report = amf
            .register(&nas, &faults)
            .await
            .map_err(|e| format!("primary authentication: {e}"))?;
        match &report.outcome {
            Outcome::Registered => {}
            Outcome::NetworkRejected { ausf_result, .. } => {
                return Err(format!(
                    "primary authentication failed: the AUSF answered {ausf_result}, \
                     the UE got AUTHENTICATION REJECT and has no A-KID"
                ))
            }
            other => {
                return Err(format!(
                    "primary authentication ended {}",
                    akma_sim::outcome_name(other)
                ))
            }
        }
        let auth_type = report.auth_type.clone().unwrap_or_else(|| "?".into());
        steps.done(
            &format!("UE authenticates{again} ({auth_type}) and runs the SMC"),
            t.elapsed(),
            format!(
                "AUSF anchored K_AKMA at the AAnF{}",
                if report.resynchronisations > 0 {
                    " after a resynchronisation"
                } else {
                    ""
                }
            ),
        );

        // The application on the UE asks the NAS layer for the current pair.
        let t = Instant::now();
        let (a_kid, ue_kaf) = ue_k_af(&api, af_fqdn)?;
        steps.done(
            "UE application derives K_AF",
            t.elapsed(),
            format!("A-KID {a_kid}"),
        );

        // The AF asks the AAnF (TS 33.535 §6.2, Naanf_AKMA_ApplicationKey_Get).
        let t = Instant::now();
        let aanf_kaf = retrieve(&aanf, af_id, &a_kid)
            .await?
            .ok_or_else(|| format!("the AAnF does not know A-KID {a_kid} (204)"))?;
        steps.done(
            "AF gets K_AF from the AAnF",
            t.elapsed(),
            format!("afId {}", af_id.to_sbi_string()),
        );
        // The two keys are compared in constant time; only fingerprints are ever printed.
        if !ue_kaf.ct_eq(&aanf_kaf) {
            return Err(format!(
                "K_AF MISMATCH for A-KID {a_kid}: UE {} AAnF {}",
                ue_kaf.fingerprint(),
                aanf_kaf.fingerprint()
            ));
        }
        if let Some(prev) = rounds.last() {
            if prev.a_kid == a_kid {
                return Err("re-authentication kept the same A-KID".into());
            }
            let t = Instant::now();
            if retrieve(&aanf, af_id, &prev.a_kid).await?.is_some() {
                return Err(format!(
                    "the replaced A-KID {} still resolves at the AAnF",
                    prev.a_kid
                ));
            }
            steps.done(
                "AF presents the old A-KID",
                t.elapsed(),
                "204: no key, the context was replaced".into(),
            );
        }
        if stale.is_none() {
            stale = api
                .current_akma_keys()
                .map(|(a_kid, k_akma)| akma_ua::client::FixedAkmaKeys { a_kid, k_akma });
        }
        rounds.push(Round {
            ue_fp: ue_kaf.fingerprint(),
            aanf_fp: aanf_kaf.fingerprint(),
            a_kid,
            auth_type,
        });
    }
    // The UE's application opens a TLS 1.3-PSK session to the AF and sends one request.
    let target = crate::connect::Target {
        authority: afs.af_addr.to_string(),
        fqdn: af_fqdn.clone(),
        path: "/".into(),
    };
    let t = Instant::now();
    let keys: &dyn akma_ua::client::CurrentAkmaKeys = match (&stale, stale_fault) {
        (Some(s), true) => s,
        _ => &api,
    };
    let a_kid_used = keys
        .current()
        .map(|(k, _)| k)
        .ok_or("UE: no AKMA context")?;
    ua_event(
        "UE",
        "AF",
        "ClientHello (pre_shared_key 3GPP-AKMA<A-KID>, SNI, psk_dhe_ke)",
    );
    let session =
        crate::connect::connect(keys, &target, akma_ua::profile::TlsVersion::Tls13, None).await;
    let session = match session {
        Ok(s) => s,
        Err(e) if stale_fault => {
            ua_event(
                "AF",
                "UE",
                "handshake refused (alert): no K_AF for this A-KID",
            );
            return Err(format!(
                "the AF refused the session: the UE's application used the A-KID {a_kid_used} of the replaced context \
                 (a cached copy, not the current pair from NAS), which the AAnF no longer knows: {e}"
            ));
        }
        Err(e) => return Err(format!("UE → AF: {e}")),
    };
    ua_event(
        "AF",
        "UE",
        "ServerHello … Finished (PSK accepted); HTTP 200",
    );
    if session["body"]["user"] != SUPI {
        return Err(format!(
            "the AF named the user {} instead of {SUPI}",
            session["body"]["user"]
        ));
    }
    steps.done(
        "UE opens a TLS 1.3-PSK session to the AF, GET /",
        t.elapsed(),
        format!(
            "{} user {}",
            session["tls"].as_str().unwrap_or("?"),
            session["body"]["user"]
        ),
    );

    // The outside AF: the same UE, the pair NAS holds now, another FQDN; the AF's key client
    // gets a token from the NEF and K_AF through it.
    let outside_id = AfId::new(afs.outside_fqdn.clone(), UaProtocolId::TLS13_PSK);
    let target = crate::connect::Target {
        authority: afs.outside_addr.to_string(),
        fqdn: afs.outside_fqdn.clone(),
        path: "/".into(),
    };
    let t = Instant::now();
    ua_event(
        "UE",
        "AF (outside)",
        "ClientHello (pre_shared_key 3GPP-AKMA<A-KID>, SNI, psk_dhe_ke)",
    );
    let outside = crate::connect::connect(&api, &target, akma_ua::profile::TlsVersion::Tls13, None)
        .await
        .map_err(|e| format!("UE → outside AF ({}): {e}", outside_id.to_sbi_string()))?;
    ua_event(
        "AF (outside)",
        "UE",
        "ServerHello … Finished (PSK accepted); HTTP 200",
    );
    let body = &outside["body"];
    if body.get("supi").is_some() || body["user"] == SUPI {
        return Err(format!("the outside AF learned the SUPI: {body}"));
    }
    if body["gpsi"] != GPSI || body["user"] != GPSI {
        return Err(format!(
            "the outside AF named the user {} (GPSI {}) instead of {GPSI}",
            body["user"], body["gpsi"]
        ));
    }
    steps.done(
        "UE opens a TLS 1.3-PSK session to the outside AF, GET /",
        t.elapsed(),
        format!(
            "{} user {} (K_AF and GPSI through the NEF, no SUPI)",
            outside["tls"].as_str().unwrap_or("?"),
            body["user"]
        ),
    );
    Ok((rounds, session, outside))
}

/// A Ua* step for the flow trace (the TLS messages the demo's UE and AF exchange).
fn ua_event(from: &str, to: &str, message: &str) {
    flow_event(from, to, message);
}

/// A message between two parties outside the SBI, for the flow trace.
pub(crate) fn flow_event(from: &str, to: &str, message: &str) {
    tracing::trace!(target: "akma_flow", kind = "ua", from, to, message, "Ua*");
}

/// Prints the flow: one line per message, with the time it was sent.
pub(crate) fn print_flow(rows: &[(f64, &str, &str, String)]) {
    if rows.is_empty() {
        return;
    }
    println!("\nmessage flow (time since start)");
    for (ms, from, to, msg) in rows {
        println!("  {ms:>8.1} ms  {from:>12} → {to:<12}  {msg}");
    }
}

fn ue_k_af(api: &AkmaApi, af: &AfFqdn) -> Result<(AKid, KAf), String> {
    api.derive_k_af(af, UaProtocolId::TLS13_PSK)
        .map_err(|e| format!("UE: {e}"))
}

async fn retrieve(aanf: &NaanfClient, af_id: &AfId, a_kid: &AKid) -> Result<Option<KAf>, String> {
    aanf.retrieve_application_key(&AkmaAfKeyRequest::new(af_id, a_kid.clone(), false))
        .await
        .map(|d| d.map(|d| d.kaf))
        .map_err(|e| format!("AAnF retrieve-applicationkey: {e}"))
}

/// The MSGin5G demo's UEs: label, SUPI, GPSI (K and OPc of TS 35.208 test set 1, routing
/// indicator 0, home PLMN 901/70).
const MSGIN5G_UES: [(&str, &str, &str); 2] = [
    ("A", "imsi-901700000000101", "msisdn-447700900101"),
    ("B", "imsi-901700000000102", "msisdn-447700900102"),
];
/// The NEF's client id of the MSGin5G server.
const MSGIN5G_CLIENT_ID: &str = "demo-msgin5g";

/// `akma demo --msgin5g`: UDM, AUSF, AAnF, a NEF and a MSGin5G server as an outside AF behind
/// it; two UEs run primary authentication (the AUSF anchors their contexts by SUPI), then
/// [`akma_msgin5g::demo::exchange`]: the server knows each UE by the GPSI the NEF returns.
async fn run_msgin5g(a: &DemoArgs, flow: &crate::flow::Flow) -> Result<(), String> {
    let started = Instant::now();
    let fqdn = a.af_fqdn.clone();
    let mut steps = Steps {
        text: !a.json,
        log: Vec::new(),
    };
    if steps.text {
        println!("akma demo --msgin5g: UDM, AUSF, AAnF, NEF (development mode, h2c) and a MSGin5G server (an AF outside the operator's network, Ua* TLS 1.3-PSK) on loopback, two UEs\n");
    }
    let (dir, core) = start_core(
        "akma-demo-msgin5g-",
        crate::outside::aanf_entry(&fqdn),
        &mut steps,
    )
    .await?;
    let result = msgin5g_rounds(&core, dir.path(), &fqdn, &mut steps).await;
    let _ = core.shutdown().await;
    drop(dir);
    if steps.text {
        print_flow(&flow.rows());
    }
    let (stored, delivered) = result?;
    if a.json {
        let out = json!({
            "afId": AfId::new(fqdn.clone(), UaProtocolId::TLS13_PSK).to_sbi_string(),
            "stored": stored,
            "delivered": delivered,
            "steps": steps.log,
            "totalMs": (started.elapsed().as_secs_f64() * 1e4).round() / 10.0,
        });
        println!("{out}");
    } else {
        println!(
            "\nUE A's message reached UE B over AKMA-keyed TLS and was removed only after B acknowledged it; \
             the server knew both by the GPSI the NEF returned ({stored} stored, {delivered} delivered, {} ms in all)",
            started.elapsed().as_millis()
        );
    }
    Ok(())
}

/// The MSGin5G demo after the core is up: subscribers, NEF, server, authentications, the
/// exchange; (stored, delivered) from the server's figures.
async fn msgin5g_rounds(
    core: &Network,
    dir: &std::path::Path,
    fqdn: &AfFqdn,
    steps: &mut Steps,
) -> Result<(u64, u64), String> {
    let t = Instant::now();
    let mut records = Vec::new();
    for (_, supi, gpsi) in MSGIN5G_UES {
        let mut r = fixture(supi, AuthMethod::FiveGAka)
            .subscriber()
            .map_err(|e| e.to_string())?;
        r.gpsis = vec![Gpsi::parse(gpsi).map_err(|e| e.to_string())?];
        records.push(r);
    }
    core.provision(records).await.map_err(|e| e.to_string())?;
    steps.done(
        "provision two subscribers at the UDM",
        t.elapsed(),
        "AKMA on, one GPSI each".into(),
    );
    let t = Instant::now();
    let outside = crate::outside::OutsideAf {
        client_id: MSGIN5G_CLIENT_ID,
        fqdn,
    };
    let nef = crate::outside::start_nef(core, dir, std::slice::from_ref(&outside)).await?;
    steps.done(
        "start the NEF",
        t.elapsed(),
        format!(
            "NEF {} (AF registry: {MSGIN5G_CLIENT_ID}, {})",
            nef.running.addr,
            fqdn.as_str()
        ),
    );
    let result = msgin5g_behind(core, dir, &nef, &outside, steps).await;
    nef.shutdown().await;
    result
}

async fn msgin5g_behind(
    core: &Network,
    dir: &std::path::Path,
    nef: &crate::outside::DemoNef,
    outside: &crate::outside::OutsideAf<'_>,
    steps: &mut Steps,
) -> Result<(u64, u64), String> {
    let fqdn = outside.fqdn;
    let t = Instant::now();
    let args = akma_msgin5g::app::Msgin5gArgs {
        af: nef.af_args(outside),
        data: dir.join("msgin5g"),
        max_body: akma_msgin5g::api::Limits::default().max_body_octets,
        mailbox_max: akma_msgin5g::api::Limits::default().mailbox_max,
    };
    let (settings, limits) = akma_msgin5g::app::resolve(&args).map_err(|e| e.to_string())?;
    let server = akma_msgin5g::app::start(&settings, &args.data, limits)
        .await
        .map_err(|e| format!("MSGin5G server: {e}"))?;
    steps.done(
        "start the MSGin5G server (outside AF)",
        t.elapsed(),
        format!(
            "{} {} (K_AF and GPSI through the NEF)",
            fqdn.as_str(),
            server.af.addr
        ),
    );
    let result = msgin5g_ues(core, &server, fqdn, steps).await;
    let (stored, _, delivered) = server.service.metrics.totals();
    let _ = server.shutdown().await;
    result.map(|()| (stored, delivered))
}

async fn msgin5g_ues(
    core: &Network,
    server: &akma_msgin5g::app::RunningMsgin5g,
    fqdn: &AfFqdn,
    steps: &mut Steps,
) -> Result<(), String> {
    let snn = ServingNetworkName::parse(SNN_901_70).map_err(|e| e.to_string())?;
    let amf = core.amf(snn).map_err(|e| format!("AMF client: {e}"))?;
    let mut apis = Vec::new();
    for (name, supi, _) in MSGIN5G_UES {
        let nas = fixture(supi, AuthMethod::FiveGAka)
            .ue(MncLen::Two)
            .map_err(|e| e.to_string())?;
        let t = Instant::now();
        let report = amf
            .register(&nas, &Faults::default())
            .await
            .map_err(|e| format!("UE {name}: primary authentication: {e}"))?;
        if !matches!(report.outcome, Outcome::Registered) {
            return Err(format!(
                "UE {name}: primary authentication ended {}",
                akma_sim::outcome_name(&report.outcome)
            ));
        }
        let api = nas.akma_api();
        let a_kid = api
            .current_akma_keys()
            .map(|(k, _)| k)
            .ok_or_else(|| format!("UE {name}: no AKMA context after registration"))?;
        steps.done(
            &format!("UE {name}: authenticates (5G AKA); the AUSF anchors K_AKMA"),
            t.elapsed(),
            format!("A-KID {a_kid}"),
        );
        apis.push(api);
    }
    let gpsis = MSGIN5G_UES
        .iter()
        .map(|(_, _, g)| Gpsi::parse(g).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    let party = |i: usize| akma_msgin5g::demo::Party {
        gpsi: &gpsis[i],
        keys: &apis[i],
    };
    let done = akma_msgin5g::demo::exchange(party(0), party(1), server.af.addr, fqdn)
        .await
        .map_err(|e| e.to_string())?;
    for s in &done {
        steps.done(&s.what, s.took, s.detail.clone());
    }
    Ok(())
}
