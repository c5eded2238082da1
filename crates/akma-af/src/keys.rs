//! LEAD'S COMPILE STUB: replaced by the key client of branch `keys`.
#![allow(missing_docs, dead_code)]
use std::time::Duration;

use akma_sbi_client::client::NaanfClient;
use akma_ua::keys::{KeyAnswer, KeyRefusal, KeySource};

#[derive(Debug, Clone)]
pub struct KeyClientConfig {
    pub max_entries: usize,
    pub fetch_timeout: Duration,
    pub max_in_flight: usize,
    pub anonymous: bool,
}
impl Default for KeyClientConfig {
    fn default() -> Self {
        Self {
            max_entries: 100_000,
            fetch_timeout: Duration::from_secs(2),
            max_in_flight: 1024,
            anonymous: false,
        }
    }
}
pub struct KeyClient {
    naanf: NaanfClient,
    config: KeyClientConfig,
}
impl KeyClient {
    pub fn new(naanf: NaanfClient, config: KeyClientConfig) -> Self {
        Self { naanf, config }
    }
    pub fn render_prometheus(&self, _out: &mut String) {}
}
#[async_trait::async_trait]
impl KeySource for KeyClient {
    async fn key(
        &self,
        a_kid: &akma_core::ids::AKid,
        af_id: &akma_core::akma::AfId,
    ) -> Result<KeyAnswer, KeyRefusal> {
        let req =
            akma_sbi_model::AkmaAfKeyRequest::new(af_id, a_kid.clone(), self.config.anonymous);
        match tokio::time::timeout(
            self.config.fetch_timeout,
            self.naanf.retrieve_application_key(&req),
        )
        .await
        {
            Ok(Ok(Some(d))) => Ok(KeyAnswer {
                kaf: d.kaf.clone(),
                expiry: d.expiry,
                supi: d.supi.clone(),
                gpsi: d.gpsi.clone(),
            }),
            Ok(Ok(None)) => Err(KeyRefusal::UnknownAKid),
            Ok(Err(e)) => Err(KeyRefusal::Unavailable(e.to_string())),
            Err(_) => Err(KeyRefusal::Unavailable("timeout".into())),
        }
    }
}
