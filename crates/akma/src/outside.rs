//! The outside path of `akma demo` (TS 33.535 §6.3): a development NEF in front of the demo's
//! AAnF and UDM, one registry entry per outside AF, and the settings of an outside AF whose
//! key client gets K_AF through that NEF (`akma af --nef … --client-id … --client-secret-file
//! …`, the same resolution the command line goes through).
//!
//! Each outside AF gets a random client secret, kept in a 0600 file of the demo's temporary
//! directory; the NEF's TOML holds only its argon2id hash, as an operator's would. The NEF is
//! started in-process with that TOML, `--dev` (h2c on a loopback port of the kernel's choice),
//! the demo's AAnF as `--aanf` and its UDM as `--udm` (Nudm_SDM id translation, for the GPSI).

use std::path::{Path, PathBuf};

use akma_core::ids::AfFqdn;
use akma_sbi_model::nef_akma::scope;
use akma_sim::network::Network;

/// One AF outside the operator's network, as the NEF's registry knows it.
pub struct OutsideAf<'a> {
    /// Its OAuth2 client id.
    pub client_id: &'a str,
    /// The FQDN it names in afId.
    pub fqdn: &'a AfFqdn,
}

/// A running development NEF and where its AFs' secrets are.
pub struct DemoNef {
    /// The NEF.
    pub running: akma_nf_host::Running,
    dir: PathBuf,
}

impl DemoNef {
    /// `{nefRoot}`.
    pub fn root(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// The secret file of `client_id` (mode 0600).
    pub fn secret_file(&self, client_id: &str) -> PathBuf {
        self.dir.join(format!("{client_id}.secret"))
    }

    /// The flags of `akma af --dev --nef {nefRoot} --client-id … --client-secret-file …` for
    /// `af`, listening on a loopback port of the kernel's choice.
    pub fn af_args(&self, af: &OutsideAf<'_>) -> akma_af::app::AfArgs {
        akma_af::app::AfArgs {
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            fqdn: Some(af.fqdn.as_str().to_owned()),
            nef: Some(self.root()),
            client_id: Some(af.client_id.to_owned()),
            client_secret_file: Some(self.secret_file(af.client_id)),
            ..Default::default()
        }
    }

    /// Stops the NEF.
    pub async fn shutdown(self) {
        let _ = self.running.shutdown().await;
    }
}

/// The AAnF's `[[af]]` entry for an outside AF reached through the NEF: TLS 1.3-PSK only, and
/// the SUPI and GPSI allowed, and AKMA push material (a project extension). The development AAnF cannot tell the NEF from another caller
/// (no access tokens), so it applies the entry as written; the NEF needs the SUPI only to ask
/// the UDM for the GPSI, and never passes it on (in production the AAnF gives the SUPI to a
/// NEF with `naanf-akma:applicationkeyget:supi-access` for an AF with no identity of its own).
pub fn aanf_entry(fqdn: &AfFqdn) -> String {
    format!(
        "[[af]]\nfqdn = \"{}\"\nua_protocols = [\"0100000007\"]\nallow_supi = true\nallow_gpsi = true\nallow_push = true\n",
        fqdn.as_str()
    )
}

/// Starts a development NEF in front of `core`'s AAnF and UDM, with `afs` in its registry
/// (each with scopes `nnef-akma:gpsi-access` and `nnef-akma-push`), its files under `dir`.
pub async fn start_nef(
    core: &Network,
    dir: &Path,
    afs: &[OutsideAf<'_>],
) -> Result<DemoNef, String> {
    use base64::Engine as _;
    let dir = dir.join("nef");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut toml = String::new();
    for af in afs {
        let mut raw = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::getrandom(&mut raw[..]).map_err(|e| format!("no random secret: {e}"))?;
        let secret = zeroize::Zeroizing::new(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&raw[..]),
        );
        let hash = akma_nef::token::hash_secret(&secret)?;
        let file = dir.join(format!("{}.secret", af.client_id));
        akma_nf_host::kek::write_private(&file, &format!("{}\n", secret.as_str()))
            .map_err(|e| format!("{}: {e}", file.display()))?;
        toml.push_str(&format!(
            "[[af]]\nclient_id = \"{}\"\nclient_secret_hash = \"{hash}\"\nfqdns = [\"{}\"]\nscopes = [\"{}\", \"{}\"]\n\n",
            af.client_id,
            af.fqdn.as_str(),
            scope::GPSI_ACCESS,
            akma_sbi_model::naanf_push::scope::NEF_PUSH
        ));
    }
    let config = dir.join("nef.toml");
    std::fs::write(&config, toml).map_err(|e| format!("{}: {e}", config.display()))?;
    let args = akma_nef::server::NefArgs {
        host: akma_nef::server::HostArgs {
            config: Some(config),
            dev: true,
            listen: Some("127.0.0.1:0".into()),
            data: Some(dir.join("data")),
            ..Default::default()
        },
        aanf: Some(core.aanf_api_root()),
        udm: Some(core.udm_api_root()),
        dev_af_fqdns: Vec::new(),
    };
    let resolved = akma_nef::server::resolve(&args).map_err(|e| format!("NEF: {e}"))?;
    let running = akma_nef::server::start(resolved)
        .await
        .map_err(|e| format!("NEF: {e}"))?;
    Ok(DemoNef { running, dir })
}
