//! `akma derive`: the key hierarchy by hand, for engineers and scripts.
//!
//! Every form prints exactly one JSON object on stdout. Values are lowercase hex; the
//! identifiers are in their SBI text forms. This tool prints keys on purpose: it is for
//! checking derivations, not for production key handling.

use akma_core::aka;
use akma_core::akma::{derive_akma_keys, derive_k_af, AfId, UaProtocolId};
use akma_core::eap_aka_prime::{derive_ck_ik_prime, EapAkaPrimeKeys};
use akma_core::hex;
use akma_core::ids::{AfFqdn, MncLen, RoutingIndicator, ServingNetworkName, Supi};
use akma_core::keys::{Ck, Ik, KAkma, KAusf, Op, Opc, K};
use akma_core::milenage::{opc_from_op, Milenage};
use clap::{Args, Subcommand};
use serde::Serialize;

/// The `akma derive` forms.
#[derive(Subcommand)]
pub enum DeriveCommand {
    /// K_AKMA, A-TID and A-KID from K_AUSF (TS 33.535 A.2, A.3, §6.1).
    Akma(AkmaArgs),
    /// K_AF and AF_ID from K_AKMA (TS 33.535 A.4).
    Kaf {
        /// K_AKMA, 64 hex digits.
        #[arg(long, value_name = "HEX", value_parser = parse_key::<KAkma>)]
        kakma: KAkma,
        /// The AF's FQDN.
        #[arg(long, value_name = "FQDN", value_parser = parse_fqdn)]
        af_fqdn: AfFqdn,
        /// The Ua* security protocol identifier, 10 hex digits (e.g. 0100000007 for TLS 1.3 PSK).
        #[arg(long, value_name = "HEX10", value_parser = parse_ua)]
        ua: UaProtocolId,
    },
    /// Milenage f1, f1*, f2-f5, f5* and OPc (TS 35.206).
    Milenage(MilenageArgs),
    /// A 5G AKA home environment vector and the keys below K_AUSF (TS 33.501 Annex A).
    #[command(name = "5g-aka")]
    FiveGAka {
        #[command(flatten)]
        m: MilenageArgs,
        /// Serving network name, e.g. 5G:mnc001.mcc001.3gppnetwork.org (other strings are
        /// accepted for interoperability tests with cores that use them).
        #[arg(long, value_name = "STRING", value_parser = parse_snn)]
        snn: ServingNetworkName,
        /// SUPI (imsi-<digits> or nai-<user@realm>): also derive K_AKMA, A-TID and A-KID.
        #[arg(long, value_name = "SUPI", value_parser = parse_supi, requires = "rid")]
        supi: Option<Supi>,
        /// Routing indicator (1-4 digits; 0 when none is provisioned), with --supi.
        #[arg(long, value_name = "RID", value_parser = parse_rid, requires = "supi")]
        rid: Option<RoutingIndicator>,
        /// MNC length of the home network (2 or 3), with --supi.
        #[arg(long, value_name = "2|3", value_parser = parse_mnc_len, requires = "supi")]
        mnc_len: Option<MncLen>,
    },
    /// EAP-AKA' key schedule (RFC 5448) and K_AUSF = EMSK[0..32] (TS 33.501 §6.1.3.1).
    #[command(name = "eap-aka-prime")]
    EapAkaPrime {
        /// CK, 32 hex digits.
        #[arg(long, value_name = "HEX", value_parser = parse_key::<Ck>)]
        ck: Ck,
        /// IK, 32 hex digits.
        #[arg(long, value_name = "HEX", value_parser = parse_key::<Ik>)]
        ik: Ik,
        /// Access network name: the serving network name in 5G ("WLAN" in RFC 5448's examples).
        #[arg(long, value_name = "STRING", value_parser = parse_text)]
        network_name: String,
        /// SQN xor AK, 12 hex digits.
        #[arg(long, value_name = "HEX", value_parser = parse_hex_array::<6>)]
        sqn_xor_ak: [u8; 6],
        /// The EAP identity (e.g. the SUCI or SUPI NAI) as sent by the peer.
        #[arg(long, value_name = "STRING", value_parser = parse_text)]
        identity: String,
    },
    /// The log reference of an identity (a SUPI, SUCI, GPSI, A-KID or context id, as the NFs
    /// write it) under the deployment's log digest key: the `supi_ref=…`, `a_kid_ref=…` or
    /// `[supi:…]` value to search the logs for. The key comes from AKMA_LOG_DIGEST_KEY.
    #[command(name = "log-ref")]
    LogRef {
        /// The identity in its text form, e.g. imsi-001010000000001.
        #[arg(long, value_name = "STRING", value_parser = parse_text)]
        id: String,
        /// The log digest key, 64 hex digits (the NFs' AKMA_LOG_DIGEST_KEY).
        #[arg(long, value_name = "HEX", env = "AKMA_LOG_DIGEST_KEY", hide_env_values = true,
              value_parser = parse_log_key)]
        key: akma_core::logref::LogDigestKey,
    },
}

fn parse_log_key(s: &str) -> Result<akma_core::logref::LogDigestKey, String> {
    akma_core::logref::LogDigestKey::from_hex(s).map_err(|e| format!("{e}; expected 64 hex digits"))
}

/// Arguments of `akma derive akma`.
#[derive(Args)]
pub struct AkmaArgs {
    /// K_AUSF, 64 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_key::<KAusf>)]
    kausf: KAusf,
    /// SUPI: imsi-<digits> or nai-<user@realm>.
    #[arg(long, value_name = "SUPI", value_parser = parse_supi)]
    supi: Supi,
    /// Routing indicator (1-4 digits; 0 when none is provisioned).
    #[arg(long, value_name = "RID", value_parser = parse_rid)]
    rid: RoutingIndicator,
    /// MNC length of the home network, for an IMSI SUPI (default 2).
    #[arg(long, value_name = "2|3", value_parser = parse_mnc_len)]
    mnc_len: Option<MncLen>,
}

/// Subscriber and vector inputs shared by `milenage` and `5g-aka`.
#[derive(Args)]
#[group(skip)]
#[command(group(clap::ArgGroup::new("operator").required(true).multiple(false)))]
pub struct MilenageArgs {
    /// Subscriber key K, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_key::<K>)]
    k: K,
    /// Operator variant OP, 32 hex digits (or give --opc).
    #[arg(long, value_name = "HEX", value_parser = parse_key::<Op>, group = "operator")]
    op: Option<Op>,
    /// Operator variant OPc, 32 hex digits (or give --op).
    #[arg(long, value_name = "HEX", value_parser = parse_key::<Opc>, group = "operator")]
    opc: Option<Opc>,
    /// RAND, 32 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_hex_array::<16>)]
    rand: [u8; 16],
    /// SQN, 12 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_hex_array::<6>)]
    sqn: [u8; 6],
    /// AMF, 4 hex digits.
    #[arg(long, value_name = "HEX", value_parser = parse_hex_array::<2>)]
    amf: [u8; 2],
}

impl MilenageArgs {
    fn opc(&self) -> Opc {
        match (&self.opc, &self.op) {
            (Some(opc), _) => opc.clone(),
            (None, Some(op)) => opc_from_op(&self.k, op),
            (None, None) => unreachable!("clap requires --op or --opc"),
        }
    }
}

trait HexKey: Sized {
    fn from_hex(s: &str) -> Result<Self, hex::HexError>;
}

macro_rules! hex_key {
    ($($t:ty),*) => {$(
        impl HexKey for $t {
            fn from_hex(s: &str) -> Result<Self, hex::HexError> {
                <$t>::from_hex(s)
            }
        }
    )*};
}
hex_key!(K, Op, Opc, Ck, Ik, KAusf, KAkma);

fn parse_key<T: HexKey>(s: &str) -> Result<T, String> {
    T::from_hex(s).map_err(|e| e.to_string())
}

fn parse_hex_array<const N: usize>(s: &str) -> Result<[u8; N], String> {
    hex::decode_array(s).map_err(|e| e.to_string())
}

fn parse_supi(s: &str) -> Result<Supi, String> {
    Supi::parse(s).map_err(|e| e.reason)
}

fn parse_rid(s: &str) -> Result<RoutingIndicator, String> {
    RoutingIndicator::parse(s).map_err(|e| e.reason)
}

fn parse_mnc_len(s: &str) -> Result<MncLen, String> {
    s.parse::<MncLen>().map_err(|e| e.reason)
}

fn parse_fqdn(s: &str) -> Result<AfFqdn, String> {
    AfFqdn::parse(s).map_err(|e| e.reason)
}

fn parse_ua(s: &str) -> Result<UaProtocolId, String> {
    UaProtocolId::from_hex(s).map_err(|e| e.to_string())
}

/// A KDF string parameter: non-empty, no control characters, at most 65535 octets.
/// A serving network name of any form (`parse_any`), with [`parse_text`]'s messages.
fn parse_snn(s: &str) -> Result<ServingNetworkName, String> {
    parse_text(s)?;
    ServingNetworkName::parse_any(s).map_err(|e| e.reason)
}

fn parse_text(s: &str) -> Result<String, String> {
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if let Some(c) = s.chars().find(|c| c.is_control()) {
        return Err(format!("contains the control character {c:?}"));
    }
    if s.len() > akma_core::kdf::MAX_PARAM_LEN {
        return Err(format!(
            "{} octets; a KDF parameter holds at most 65535",
            s.len()
        ));
    }
    Ok(s.to_owned())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AkmaOut {
    k_akma: String,
    a_tid: String,
    a_kid: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LogRefOut {
    r#ref: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct KafOut {
    af_id: String,
    kaf: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct MilenageOut {
    opc: String,
    mac_a: String,
    mac_s: String,
    res: String,
    ck: String,
    ik: String,
    ak: String,
    ak_star: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FiveGAkaOut {
    autn: String,
    res_star: String,
    hxres_star: String,
    kausf: String,
    kseaf: String,
    #[serde(flatten)]
    akma: Option<AkmaOut>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EapAkaPrimeOut {
    ck_prime: String,
    ik_prime: String,
    k_encr: String,
    k_aut: String,
    k_re: String,
    msk: String,
    emsk: String,
    kausf: String,
}

fn akma_out(
    k_ausf: &KAusf,
    supi: &Supi,
    rid: &RoutingIndicator,
    mnc_len: Option<MncLen>,
) -> Result<AkmaOut, String> {
    let keys = derive_akma_keys(k_ausf, supi, rid, mnc_len.unwrap_or_default())
        .map_err(|e| format!("--supi with --mnc-len: {}", e.reason))?;
    Ok(AkmaOut {
        k_akma: keys.k_akma.expose_hex().to_string(),
        a_tid: hex::encode(&keys.a_tid.0),
        a_kid: keys.a_kid.to_string(),
    })
}

/// Runs one form and returns its JSON line, or a one-line message naming the bad argument.
pub fn run(cmd: &DeriveCommand) -> Result<String, String> {
    let json = match cmd {
        DeriveCommand::Akma(a) => to_json(&akma_out(&a.kausf, &a.supi, &a.rid, a.mnc_len)?),
        DeriveCommand::Kaf { kakma, af_fqdn, ua } => {
            let af_id = AfId::new(af_fqdn.clone(), *ua);
            let kaf = derive_k_af(kakma, &af_id);
            to_json(&KafOut {
                af_id: hex::encode(af_id.octets()),
                kaf: kaf.expose_hex().to_string(),
            })
        }
        DeriveCommand::LogRef { id, key } => to_json(&LogRefOut {
            r#ref: hex::encode(&key.digest(id)),
        }),
        DeriveCommand::Milenage(a) => {
            let opc = a.opc();
            let m = Milenage::new(&a.k, &opc);
            let o = m.f2345(&a.rand);
            to_json(&MilenageOut {
                opc: opc.expose_hex().to_string(),
                mac_a: hex::encode(&m.f1(&a.rand, &a.sqn, &a.amf)),
                mac_s: hex::encode(&m.f1_star(&a.rand, &a.sqn, &a.amf)),
                res: hex::encode(&o.res),
                ck: o.ck.expose_hex().to_string(),
                ik: o.ik.expose_hex().to_string(),
                ak: o.ak.expose_hex().to_string(),
                ak_star: m.f5_star(&a.rand).expose_hex().to_string(),
            })
        }
        DeriveCommand::FiveGAka {
            m: a,
            snn,
            supi,
            rid,
            mnc_len,
        } => {
            let m = Milenage::new(&a.k, &a.opc());
            let av = aka::generate_he_av(&m, &a.rand, &a.sqn, &a.amf, snn);
            let k_seaf = aka::derive_k_seaf(&av.k_ausf, snn);
            let akma = match (supi, rid) {
                (Some(supi), Some(rid)) => Some(akma_out(&av.k_ausf, supi, rid, *mnc_len)?),
                _ => None,
            };
            to_json(&FiveGAkaOut {
                autn: hex::encode(&av.autn),
                res_star: av.xres_star.expose_hex().to_string(),
                hxres_star: hex::encode(&aka::hxres_star(&a.rand, av.xres_star.expose_secret())),
                kausf: av.k_ausf.expose_hex().to_string(),
                kseaf: k_seaf.expose_hex().to_string(),
                akma,
            })
        }
        DeriveCommand::EapAkaPrime {
            ck,
            ik,
            network_name,
            sqn_xor_ak,
            identity,
        } => {
            let (ckp, ikp) = derive_ck_ik_prime(ck, ik, network_name.as_bytes(), sqn_xor_ak)
                .map_err(|e| format!("--network-name: {e}"))?;
            let k = EapAkaPrimeKeys::derive(&ckp, &ikp, identity.as_bytes());
            to_json(&EapAkaPrimeOut {
                ck_prime: ckp.expose_hex().to_string(),
                ik_prime: ikp.expose_hex().to_string(),
                k_encr: k.k_encr.expose_hex().to_string(),
                k_aut: k.k_aut.expose_hex().to_string(),
                k_re: k.k_re.expose_hex().to_string(),
                msk: k.msk.expose_hex().to_string(),
                emsk: k.emsk.expose_hex().to_string(),
                kausf: k.k_ausf().expose_hex().to_string(),
            })
        }
    };
    Ok(json)
}

fn to_json<T: Serialize>(v: &T) -> String {
    serde_json::to_string(v).expect("plain strings serialise")
}
