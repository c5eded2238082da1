//! `akma ue`: the UE simulator with its simulated AMF/SEAF against a running AUSF.
//! The logic is in `akma_ue`; this file parses arguments and prints JSON.

use std::path::PathBuf;

use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{Op, Opc, K};
use akma_core::milenage::opc_from_op;
use akma_core::suci::{HomeNetworkPublicKey, ProtectionScheme};
use akma_sbi_client::client::{ClientTls, SbiClient};
use akma_sim::{summary_json, Faults, Outcome, SimulatedAmf};
use akma_ue::identity::IdentityChoice;
use akma_ue::UeSpec;
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

/// `akma ue …`
#[derive(Subcommand)]
pub enum UeCommand {
    /// Register a simulated UE through a real AUSF (5G AKA or EAP-AKA', then the NAS
    /// security mode command) and print its A-KID and a K_AF fingerprint as JSON.
    Authenticate(Box<AuthenticateArgs>),
}

/// Arguments of `akma ue authenticate`.
#[derive(Args)]
pub struct AuthenticateArgs {
    /// The AUSF's API root, e.g. http://127.0.0.1:8082 (h2c) or https://… (mTLS with --ca).
    #[arg(long)]
    ausf: String,
    /// The SUPI (imsi-… or nai-…).
    #[arg(long)]
    supi: String,
    /// K, 32 hex digits.
    #[arg(long)]
    k: String,
    /// OPc, 32 hex digits.
    #[arg(long, conflicts_with = "op", required_unless_present = "op")]
    opc: Option<String>,
    /// OP, 32 hex digits (OPc is computed).
    #[arg(long)]
    op: Option<String>,
    /// The serving network name, e.g. 5G:mnc070.mcc901.3gppnetwork.org.
    #[arg(long)]
    snn: String,
    /// The routing indicator in the USIM (1–4 digits).
    #[arg(long, default_value = "0")]
    rid: String,
    /// The home network's MNC length (2 or 3).
    #[arg(long, default_value = "2")]
    mnc_len: String,
    /// Home network public key for SUCI concealment (hex; Profile A: 64 digits, Profile B: SEC1).
    #[arg(long, requires = "hn_key_id")]
    hn_public_key: Option<String>,
    /// Its key id (1–255).
    #[arg(long)]
    hn_key_id: Option<u8>,
    /// Its protection scheme: a (X25519) or b (P-256).
    #[arg(long, default_value = "a")]
    hn_scheme: String,
    /// The identity sent: auto (SUCI if a home network key is given, else SUPI), supi, null-suci.
    #[arg(long, default_value = "auto")]
    identity: String,
    /// An AF FQDN to derive K_AF for (printed as a fingerprint only).
    #[arg(long)]
    af_fqdn: Option<String>,
    /// The Ua* protocol: tls13-psk, digest, push, tls12-psk:<suite> or 10 hex digits.
    #[arg(long, default_value = "tls13-psk")]
    ua: String,
    /// Register this many times in a row with the same UE (one JSON line each).
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Fault: corrupt RES* between the UE and the SEAF.
    #[arg(long)]
    corrupt_res_star: bool,
    /// Fault: corrupt RES* only in registration N of --repeat (1-based).
    #[arg(long, value_name = "N")]
    corrupt_res_star_on: Option<u32>,
    /// Fault: skip the security mode command only in registration N of --repeat (1-based).
    #[arg(long, value_name = "N")]
    skip_smc_on: Option<u32>,
    /// Fault: never send the security mode command.
    #[arg(long)]
    skip_smc: bool,
    /// Fault: move the USIM's SQN this many SEQ steps ahead (forces a resynchronisation).
    #[arg(long)]
    usim_sqn_ahead: Option<u64>,
    /// CA certificate (PEM) of the AUSF's server certificate, for https.
    #[arg(long)]
    ca: Option<PathBuf>,
    /// Client certificate (PEM) of this AMF, for mTLS.
    #[arg(long, requires = "key")]
    cert: Option<PathBuf>,
    /// Its private key (PEM).
    #[arg(long)]
    key: Option<PathBuf>,
    /// A static OAuth2 access token to send as Bearer.
    #[arg(long, env = "AKMA_UE_ACCESS_TOKEN")]
    token: Option<String>,
    /// After the registration, open a Ua* TLS-PSK session to this AF (https://HOST:PORT/PATH)
    /// and print its answer. The AF's FQDN (SNI and K_AF) is --af-fqdn, else the URL's host.
    #[arg(long, value_name = "URL")]
    connect: Option<String>,
    /// With --connect: TLS 1.2 PSK (the Ua* id of the negotiated suite) instead of TLS 1.3.
    #[arg(long = "tls1.2", requires = "connect")]
    tls12: bool,
    /// With --connect --tls1.2: offer only these OpenSSL cipher names (e.g. DHE-PSK-AES128-GCM-SHA256).
    #[arg(long, requires = "tls12", value_name = "LIST")]
    tls12_ciphers: Option<String>,
    /// With --connect: HTTPS to the AF's certificate with AKMA HTTP Digest (TS 33.535 B.1.2)
    /// instead of TLS-PSK.
    #[arg(long, requires = "connect", conflicts_with = "tls12")]
    digest: bool,
    /// With --digest: the CA certificate (PEM) the AF's certificate must chain to (default:
    /// the platform's roots). Not --ca, which is the AUSF's.
    #[arg(long, requires = "digest", value_name = "FILE")]
    af_ca: Option<PathBuf>,
}

/// Bad input (exit status 2) or a failed run (exit status 1).
pub enum UeCmdError {
    /// An argument is invalid.
    Usage(String),
    /// The registration could not run or did not end registered.
    Failed(String),
}

/// Runs `akma ue …`: prints one JSON line per registration.
pub async fn run(cmd: UeCommand) -> Result<(), UeCmdError> {
    let UeCommand::Authenticate(a) = cmd;
    let usage = UeCmdError::Usage;
    let supi = Supi::parse(&a.supi).map_err(|e| usage(format!("--supi: {e}")))?;
    let k = K::from_hex(&a.k).map_err(|e| usage(format!("--k: {e}")))?;
    let opc = match (&a.opc, &a.op) {
        (Some(opc), _) => Opc::from_hex(opc).map_err(|e| usage(format!("--opc: {e}")))?,
        (None, Some(op)) => opc_from_op(
            &k,
            &Op::from_hex(op).map_err(|e| usage(format!("--op: {e}")))?,
        ),
        (None, None) => return Err(usage("--opc or --op is required".into())),
    };
    let snn = ServingNetworkName::parse(&a.snn).map_err(|e| usage(format!("--snn: {e}")))?;
    let rid = RoutingIndicator::parse(&a.rid).map_err(|e| usage(format!("--rid: {e}")))?;
    let mnc_len: MncLen = a
        .mnc_len
        .parse()
        .map_err(|e| usage(format!("--mnc-len: {e}")))?;
    let hn_public_key = match &a.hn_public_key {
        None => None,
        Some(hex) => {
            let scheme = match a.hn_scheme.as_str() {
                "a" | "A" | "1" => ProtectionScheme::PROFILE_A,
                "b" | "B" | "2" => ProtectionScheme::PROFILE_B,
                other => return Err(usage(format!("--hn-scheme: {other:?}: expected a or b"))),
            };
            let id = a.hn_key_id.unwrap_or(1);
            Some(
                HomeNetworkPublicKey::from_hex(scheme, id, hex)
                    .map_err(|e| usage(format!("--hn-public-key: {e}")))?,
            )
        }
    };
    let identity = match a.identity.as_str() {
        "auto" => IdentityChoice::Auto,
        "supi" => IdentityChoice::Supi,
        "null-suci" => IdentityChoice::NullSchemeSuci,
        other => {
            return Err(usage(format!(
                "--identity: {other:?}: expected auto, supi or null-suci"
            )))
        }
    };
    let af = match &a.af_fqdn {
        None => None,
        Some(f) => Some(AfFqdn::parse(f).map_err(|e| usage(format!("--af-fqdn: {e}")))?),
    };
    let ua = akma_ue::spec::parse_ua(&a.ua).map_err(|e| usage(format!("--ua: {e}")))?;
    if a.repeat == 0 {
        return Err(usage("--repeat: at least 1".into()));
    }
    let af_ca = a
        .af_ca
        .as_ref()
        .map(|p| std::fs::read(p).map_err(|e| usage(format!("--af-ca {}: {e}", p.display()))))
        .transpose()?;
    let connect = a
        .connect
        .as_deref()
        .map(|u| crate::connect::Target::parse(u, af.as_ref()))
        .transpose()
        .map_err(|e| usage(format!("--connect: {e}")))?;

    let client = build_client(&a)?;
    let amf = SimulatedAmf::new(client, &a.ausf, snn).with_identity(identity);
    let nas = UeSpec {
        supi,
        k,
        opc,
        routing_indicator: rid,
        mnc_len,
        hn_public_key,
    }
    .build();
    let api = nas.akma_api();
    let faults_for = |n: u32| Faults {
        corrupt_res_star: a.corrupt_res_star || a.corrupt_res_star_on == Some(n),
        skip_smc: a.skip_smc || a.skip_smc_on == Some(n),
        usim_sqn_ahead_by: a.usim_sqn_ahead,
        max_resynchronisations: None,
    };
    let mut last = None;
    for n in 1..=a.repeat {
        let report = amf
            .register(&nas, &faults_for(n))
            .await
            .map_err(|e| UeCmdError::Failed(e.to_string()))?;
        let summary = summary_json(&report, &api, af.as_ref().map(|f| (f, ua)));
        println!("{summary}");
        last = Some(report.outcome);
    }
    match last {
        Some(Outcome::Registered) => match &connect {
            None => Ok(()),
            Some(t) if a.digest => {
                let out = crate::connect::connect_digest(&api, t, af_ca.as_deref())
                    .await
                    .map_err(UeCmdError::Failed)?;
                println!("{out}");
                Ok(())
            }
            Some(t) => {
                let version = if a.tls12 {
                    akma_ua::profile::TlsVersion::Tls12
                } else {
                    akma_ua::profile::TlsVersion::Tls13
                };
                let out = crate::connect::connect(&api, t, version, a.tls12_ciphers.clone())
                    .await
                    .map_err(UeCmdError::Failed)?;
                println!("{out}");
                Ok(())
            }
        },
        Some(o) => Err(UeCmdError::Failed(format!(
            "the registration ended {}",
            akma_sim::outcome_name(&o)
        ))),
        None => Ok(()),
    }
}

fn build_client(a: &AuthenticateArgs) -> Result<SbiClient, UeCmdError> {
    let read = |p: &PathBuf, what: &str| {
        std::fs::read(p).map_err(|e| UeCmdError::Usage(format!("{what} {}: {e}", p.display())))
    };
    let mut b = SbiClient::builder().user_agent("AMF");
    if let Some(ca) = &a.ca {
        b = b.tls(ClientTls {
            ca_pem: read(ca, "--ca")?,
            cert_pem: a.cert.as_ref().map(|c| read(c, "--cert")).transpose()?,
            key_pem: a
                .key
                .as_ref()
                .map(|k| read(k, "--key").map(Zeroizing::new))
                .transpose()?,
        });
    } else if a.ausf.starts_with("https://") {
        return Err(UeCmdError::Usage(
            "--ausf https://… needs --ca (and --cert/--key for mTLS)".into(),
        ));
    }
    if let Some(t) = &a.token {
        b = b.bearer_token(t.clone());
    }
    b.build().map_err(|e| UeCmdError::Failed(e.to_string()))
}
