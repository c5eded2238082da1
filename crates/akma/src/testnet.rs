//! The files and clients of a network run on loopback in production mode (the roaming demo,
//! `akma bench nef --production`): a directory holding a throw-away PKI and the NFs'
//! configurations, and an NF's mutual-TLS client registered at the NRF.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use akma_sbi_client::client::{ClientTls, SbiClient};
use akma_sbi_client::nrf::{NrfClient, NrfTokenSource};
use akma_sbi_model::common::{NfInstanceId, NfType};
use akma_sbi_model::nnrf::NfProfile;
use akma_sbi_server::test_pki::TestPki;

/// A loopback network's directory: its PKI and every NF's configuration and data. Paths
/// in the configurations are relative to it (an NF resolves them against its config file).
pub(crate) struct Files {
    /// The directory.
    pub(crate) dir: PathBuf,
}

impl Files {
    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub(crate) fn write(&self, name: &str, text: &str) -> Result<PathBuf, String> {
        let p = self.path(name);
        std::fs::write(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    }

    /// A file only its owner may read (keys, secrets, and configurations that hold a key).
    pub(crate) fn private(&self, name: &str, text: &str) -> Result<PathBuf, String> {
        let p = self.path(name);
        akma_nf_host::kek::write_private(&p, text).map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    }

    /// `name.crt` and `name.key` of an NF certificate for instance `id`.
    pub(crate) fn nf_cert(&self, pki: &TestPki, name: &str, id: &str) -> Result<(), String> {
        let c = pki.nf_cert(id);
        self.write(&format!("{name}.crt"), &c.cert_pem)?;
        self.private(&format!("{name}.key"), &c.key_pem)?;
        Ok(())
    }

    /// The host flags of the NF `name` started from `config`: SBI on `listen`, the ops
    /// listener on a loopback port of the kernel's choice, data under `<name>-data`.
    pub(crate) fn host<K: akma_nf_host::NfKind>(
        &self,
        name: &str,
        config: PathBuf,
        listen: String,
    ) -> akma_nf_host::HostArgs<K> {
        akma_nf_host::HostArgs {
            config: Some(config),
            listen: Some(listen),
            ops_listen: Some("127.0.0.1:0".into()),
            data: Some(self.path(&format!("{name}-data"))),
            ..Default::default()
        }
    }

    /// `[tls]` and `[client]` with the NF certificate `name`.
    pub(crate) fn tls(name: &str) -> String {
        format!(
            "\n[tls]\ncert = \"{name}.crt\"\nkey = \"{name}.key\"\nclient_ca = \"ca.crt\"\n\n[client]\nca = \"ca.crt\"\ncert = \"{name}.crt\"\nkey = \"{name}.key\"\n"
        )
    }
}

/// The mutual-TLS client of the NF `name` whose certificate is `dir/name.crt` (CA
/// `dir/ca.crt`), registered at the NRF `nrf_root` as `id` of type `nf_type`: the client,
/// its NRF client and its NRF token source.
pub(crate) async fn nf_client(
    dir: &Path,
    name: &str,
    nrf_root: &str,
    id: &str,
    nf_type: NfType,
) -> Result<(SbiClient, NrfClient, Arc<NrfTokenSource>), String> {
    let read = |f: String| std::fs::read(dir.join(&f)).map_err(|e| format!("{f}: {e}"));
    let sbi = SbiClient::builder()
        .tls(ClientTls {
            ca_pem: read("ca.crt".into())?,
            cert_pem: Some(read(format!("{name}.crt"))?),
            key_pem: Some(zeroize::Zeroizing::new(read(format!("{name}.key"))?)),
        })
        .build()
        .map_err(|e| format!("{name} client: {e}"))?;
    let id = NfInstanceId::parse(id).map_err(|e| e.to_string())?;
    let nrf = NrfClient::new(sbi.clone(), nrf_root);
    let mut profile = NfProfile::new(id.clone(), nf_type);
    profile.ipv4_addresses = vec!["127.0.0.1".into()];
    nrf.register(&profile)
        .await
        .map_err(|e| format!("{name} at the NRF: {e}"))?;
    let tokens = Arc::new(NrfTokenSource::new(nrf.clone(), id, nf_type));
    Ok((sbi, nrf, tokens))
}

/// `n` random octets, hex (a KEK, a client secret).
pub(crate) fn random_hex(n: usize) -> Result<zeroize::Zeroizing<String>, String> {
    let mut b = zeroize::Zeroizing::new(vec![0u8; n]);
    getrandom::getrandom(&mut b[..]).map_err(|e| format!("no randomness: {e}"))?;
    Ok(zeroize::Zeroizing::new(akma_core::hex::encode(&b)))
}
