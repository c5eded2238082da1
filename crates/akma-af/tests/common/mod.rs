//! Shared by the AF tests: a UE with a registered context, the AAnF in-process.
#![allow(clippy::unwrap_used, dead_code)]

use std::path::Path;

use akma_aanf::server::{resolve, start, AanfArgs, Running};
use akma_core::akma::{derive_akma_keys, AkmaKeys};
use akma_core::ids::{AKid, MncLen, RoutingIndicator, Supi};
use akma_core::keys::{KAkma, KAusf};
use akma_sbi_client::client::NaanfClient;
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_ua::client::CurrentAkmaKeys;

/// A UE whose NAS holds one AKMA context.
#[derive(Clone)]
pub struct Ue {
    pub supi: Supi,
    pub keys: std::sync::Arc<AkmaKeys>,
}

impl CurrentAkmaKeys for Ue {
    fn current(&self) -> Option<(AKid, KAkma)> {
        Some((self.keys.a_kid.clone(), self.keys.k_akma.clone()))
    }
}

pub fn ue(supi: &str, seed: u8) -> Ue {
    let supi = Supi::parse(supi).unwrap();
    let keys = derive_akma_keys(
        &KAusf::from_bytes([seed; 32]),
        &supi,
        &RoutingIndicator::parse("0").unwrap(),
        MncLen::Two,
    )
    .unwrap();
    Ue {
        supi,
        keys: std::sync::Arc::new(keys),
    }
}

/// Registers the UE's context (as the AUSF does).
pub async fn register(naanf: &NaanfClient, ue: &Ue) {
    let info = AkmaKeyInfo {
        supp_feat: None,
        ue_id: UeId::Supi(ue.supi.clone()),
        a_kid: ue.keys.a_kid.clone(),
        k_akma: ue.keys.k_akma.clone(),
    };
    naanf.register_anchor_key(&info).await.unwrap();
}

/// A development AAnF with this configuration file.
pub async fn dev_aanf(dir: &Path, config: &str) -> Running {
    let cfg = dir.join("aanf.toml");
    std::fs::write(&cfg, config).unwrap();
    let args = AanfArgs {
        host: akma_aanf::server::HostArgs {
            config: Some(cfg),
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.join("aanf-data")),
            ..Default::default()
        },
        ..Default::default()
    };
    start(resolve(&args).unwrap()).await.unwrap()
}

/// A `tracing` writer into a buffer the test reads.
#[derive(Clone, Default)]
pub struct LogBuf(pub std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for LogBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl LogBuf {
    /// What was written so far.
    pub fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}
