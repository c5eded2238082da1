//! Two UEs exchange a message through a running MSGin5G server: UE A sends to UE B's GPSI, B
//! fetches it, acknowledges it, and finds its mailbox empty ([`exchange`]).
//!
//! Where the UEs' AKMA pairs come from is the caller's choice. `akma demo --msgin5g` runs
//! real primary authentications (the AUSF anchors the contexts by SUPI) and puts the server
//! behind the NEF, which turns the SUPI into the GPSI with Nudm_SDM id translation. Tests and
//! the benchmark, which key the server directly from an AAnF, use [`run`]: it anchors fixed
//! pairs at the AAnF **by GPSI** (TS 29.535 Release 18 `AkmaKeyInfo`: `supi` or `gpsi`) in the
//! AUSF's place ([`register`]), so that the AAnF's own answer carries the GPSI.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use akma_core::akma::derive_akma_keys;
use akma_core::ids::{AfFqdn, Gpsi, MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_sbi_client::client::{ClientError as SbiError, NaanfClient};
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_ua::client::{ConnectorConfig, CurrentAkmaKeys, FixedAkmaKeys, UaConnector};

use crate::client::{ClientError, Msgin5gClient};

/// The `[[af]]` entry an AAnF needs for this server: TLS 1.3-PSK, the GPSI allowed.
pub fn aanf_af_entry(fqdn: &AfFqdn) -> String {
    format!(
        "[[af]]\nfqdn = \"{}\"\nua_protocols = [\"0100000007\"]\nallow_gpsi = true\n",
        fqdn.as_str()
    )
}

/// A simulated UE: its GPSI and the AKMA pair its NAS holds.
#[derive(Clone)]
pub struct DemoUe {
    /// A label for the steps ("A", "B").
    pub name: &'static str,
    /// The GPSI the server knows it by.
    pub gpsi: Gpsi,
    /// A-KID and K_AKMA.
    pub keys: FixedAkmaKeys,
}

impl DemoUe {
    /// A UE with SUPI `supi`, GPSI `gpsi`, and the AKMA pair derived from a K_AUSF of
    /// `seed` octets (TS 33.535 Annex A.2, A.3).
    pub fn new(name: &'static str, supi: &Supi, gpsi: Gpsi, seed: u8) -> Self {
        let keys = derive_akma_keys(
            &KAusf::from_bytes([seed; 32]),
            supi,
            &RoutingIndicator::none_provisioned(),
            MncLen::Two,
        );
        let keys = match keys {
            Ok(k) => k,
            // Only an IMSI shorter than MCC+MNC fails; the demo's are 15 digits.
            Err(_) => unreachable_keys(),
        };
        Self {
            name,
            gpsi,
            keys: FixedAkmaKeys {
                a_kid: keys.a_kid.clone(),
                k_akma: keys.k_akma.clone(),
            },
        }
    }
}

#[cold]
fn unreachable_keys() -> ! {
    panic!("the demo SUPIs are valid 15-digit IMSIs")
}

/// The two demo UEs.
pub fn demo_ues() -> [DemoUe; 2] {
    let ue = |name, imsi: &str, msisdn: &str, seed| {
        let supi = Supi::from_imsi_digits(imsi).unwrap_or_else(|_| unreachable_keys());
        let gpsi = Gpsi::parse(msisdn).unwrap_or_else(|_| unreachable_keys());
        DemoUe::new(name, &supi, gpsi, seed)
    };
    [
        ue("A", "901700000000101", "msisdn-447700900101", 0xa1),
        ue("B", "901700000000102", "msisdn-447700900102", 0xb2),
    ]
}

/// Why the demo failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// The AAnF refused a registration.
    #[error("anchoring UE {ue}'s context at the AAnF: {source}")]
    Register {
        /// The UE.
        ue: &'static str,
        /// Why.
        source: SbiError,
    },
    /// A client step failed.
    #[error("{step}: {source}")]
    Client {
        /// The step.
        step: &'static str,
        /// Why.
        source: ClientError,
    },
    /// A step gave a wrong result.
    #[error("{0}")]
    Check(String),
}

/// One step done.
#[derive(Debug, Clone)]
pub struct Step {
    /// What was done.
    pub what: String,
    /// How long it took.
    pub took: Duration,
    /// What came of it.
    pub detail: String,
}

/// Anchors `ue`'s context at the AAnF by GPSI, in the AUSF's place.
pub async fn register(naanf: &NaanfClient, ue: &DemoUe) -> Result<(), DemoError> {
    let info = AkmaKeyInfo {
        supp_feat: None,
        ue_id: UeId::Gpsi(ue.gpsi.clone()),
        a_kid: ue.keys.a_kid.clone(),
        k_akma: ue.keys.k_akma.clone(),
    };
    naanf
        .register_anchor_key(&info)
        .await
        .map(|_| ())
        .map_err(|source| DemoError::Register {
            ue: ue.name,
            source,
        })
}

/// Anchors [`demo_ues`] at the AAnF `naanf` reaches ([`register`]), then runs the
/// [`exchange`] against the server `fqdn` at `server`, whose key source is that AAnF (it must
/// allow this AF the GPSI: [`aanf_af_entry`]).
pub async fn run(
    naanf: &NaanfClient,
    server: SocketAddr,
    fqdn: &AfFqdn,
) -> Result<Vec<Step>, DemoError> {
    let mut steps = Vec::new();
    let [a, b] = demo_ues();
    for ue in [&a, &b] {
        let t = Instant::now();
        register(naanf, ue).await?;
        steps.push(Step {
            what: format!("UE {}: AKMA context anchored at the AAnF", ue.name),
            took: t.elapsed(),
            detail: format!("gpsi={}", ue.gpsi),
        });
    }
    steps.extend(
        exchange(
            Party {
                gpsi: &a.gpsi,
                keys: &a.keys,
            },
            Party {
                gpsi: &b.gpsi,
                keys: &b.keys,
            },
            server,
            fqdn,
        )
        .await?,
    );
    Ok(steps)
}

/// A UE of the exchange (the steps call the sender A and the receiver B).
pub struct Party<'a> {
    /// The GPSI the server knows it by (the one its key source returns for it).
    pub gpsi: &'a Gpsi,
    /// Where its application gets the current A-KID and K_AKMA (the NAS layer, or a fixed
    /// pair).
    pub keys: &'a dyn CurrentAkmaKeys,
}

/// UE A opens a Ua* TLS 1.3-PSK session to the server `fqdn` at `server` and sends B a
/// message; B opens its own session, fetches the message, acknowledges it and finds its
/// mailbox empty. Every step is checked.
pub async fn exchange(
    a: Party<'_>,
    b: Party<'_>,
    server: SocketAddr,
    fqdn: &AfFqdn,
) -> Result<Vec<Step>, DemoError> {
    let mut steps = Vec::new();
    let mut step = |what: String, t: Instant, detail: String| {
        steps.push(Step {
            what,
            took: t.elapsed(),
            detail,
        });
    };
    let client = |step: &'static str| move |source| DemoError::Client { step, source };
    let connector = UaConnector::new(ConnectorConfig::default())
        .map_err(|e| client("connector")(ClientError::Connect(e)))?;
    let t = Instant::now();
    let mut ca = Msgin5gClient::connect(&connector, a.keys, fqdn, server)
        .await
        .map_err(client("UE A connects"))?;
    step(
        "UE A: Ua* TLS 1.3-PSK session to the MSGin5G server".into(),
        t,
        format!("afId={}", ca.connected().af_id.to_sbi_string()),
    );
    let text = "hello from A over AKMA";
    let t = Instant::now();
    let id = ca.send(b.gpsi, text).await.map_err(client("UE A sends"))?;
    step(
        format!("UE A: POST /messages to {}", b.gpsi),
        t,
        format!("201 id={id}"),
    );
    let t = Instant::now();
    let mut cb = Msgin5gClient::connect(&connector, b.keys, fqdn, server)
        .await
        .map_err(client("UE B connects"))?;
    step(
        "UE B: Ua* TLS 1.3-PSK session to the MSGin5G server".into(),
        t,
        format!("afId={}", cb.connected().af_id.to_sbi_string()),
    );
    let t = Instant::now();
    let inbox = cb.fetch(None).await.map_err(client("UE B fetches"))?;
    let got =
        inbox.messages.iter().find(|m| m.id == id).ok_or_else(|| {
            DemoError::Check(format!("UE B's mailbox does not hold message {id}"))
        })?;
    if got.body != text || got.from != a.gpsi.to_string() {
        return Err(DemoError::Check(format!(
            "UE B got {:?} from {}, not {text:?} from {}",
            got.body, got.from, a.gpsi
        )));
    }
    step(
        "UE B: GET /messages".into(),
        t,
        format!(
            "{} message(s); from={} body={:?}",
            inbox.messages.len(),
            got.from,
            got.body
        ),
    );
    let t = Instant::now();
    let ids: Vec<_> = inbox.messages.iter().map(|m| m.id.clone()).collect();
    let n = cb.ack(&ids).await.map_err(client("UE B acknowledges"))?;
    step("UE B: POST /messages/ack".into(), t, format!("acked={n}"));
    let t = Instant::now();
    let after = cb.fetch(None).await.map_err(client("UE B fetches again"))?;
    if !after.messages.is_empty() {
        return Err(DemoError::Check(format!(
            "UE B's mailbox still holds {} message(s) after the ack",
            after.messages.len()
        )));
    }
    step("UE B: GET /messages".into(), t, "empty: delivered".into());
    Ok(steps)
}
