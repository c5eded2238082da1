//! An NF and its NRF (TS 29.510): the NF's own instance id, its registration at start-up
//! with heartbeats until shutdown ([`NrfRegistration`], run by [`crate::NfHost::register_at`]),
//! and the NRF-backed resolver and token source of its outgoing calls ([`NrfPeers`]).
//!
//! ```toml
//! nrf = "https://nrf.5gc.example:8443"   # or --nrf / AKMA_NRF; [client] secures the calls
//! ```
//!
//! With an NRF configured an NF:
//!
//! - registers its profile once its SBI listener is bound (`PUT
//!   /nnrf-nfm/v1/nf-instances/{id}`): its NF type, the services it serves at its
//!   `{apiRoot}`, and what the NF adds (an AAnF its routing indicators); it retries until
//!   the NRF answers;
//! - sends a heartbeat every two thirds of the `heartBeatTimer` the NRF gave, and
//!   registers again when the NRF no longer knows it (404);
//! - deregisters when shutdown begins, so that consumers stop choosing it before it stops
//!   answering;
//! - finds its peers with [`akma_sbi_client::NrfResolver`] and gets its access tokens
//!   from [`akma_sbi_client::NrfTokenSource`], unless a peer is configured statically.
//!
//! Its NF instance id is, in this order: the one the NF is configured with, the SAN URI
//! `urn:uuid:…` of its `[client]` certificate (which the NRF checks against the id in token
//! requests, TS 33.501 §13.3.1.2), or, in development mode only, a random one.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use akma_sbi_client::{NrfClient, NrfResolver, NrfTokenSource};
use akma_sbi_model::common::NfInstanceId;
use akma_sbi_model::nnrf::{NfProfile, NfService};
use akma_sbi_model::NfType;

use crate::host::Shutdown;
use crate::peer::{PeerClientConfig, PeerClients, PeerError};

/// Why an NF cannot use its NRF settings. Never contains key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NrfSetupError {
    /// The NRF URI fails the peer rule, or the client cannot be built.
    #[error("the NRF: {0}")]
    Peer(#[from] PeerError),
    /// No instance id: production without one configured and without a `[client]`
    /// certificate naming one.
    #[error("no NF instance id for the NRF: configure one, or give [client] a certificate with a SAN URI urn:uuid:…")]
    NoInstanceId,
    /// The `[client]` certificate cannot be read or has no usable SAN URI.
    #[error("{}: {why}", path.display())]
    Certificate {
        /// The certificate file.
        path: std::path::PathBuf,
        /// What is wrong.
        why: String,
    },
    /// A configured instance id that is not a UUID.
    #[error("NF instance id {0:?}: not a UUID")]
    BadInstanceId(String),
}

/// The NF instance id of the client certificate `cert` (PEM): its SAN URI
/// `urn:uuid:<uuid>`.
pub fn instance_id_of_certificate(cert: &Path) -> Result<NfInstanceId, NrfSetupError> {
    use rustls::pki_types::pem::PemObject as _;
    let bad = |why: String| NrfSetupError::Certificate {
        path: cert.to_owned(),
        why,
    };
    let der = rustls::pki_types::CertificateDer::from_pem_file(cert)
        .map_err(|e| bad(format!("not a PEM certificate: {e}")))?;
    let id = akma_sbi_server::tls::PeerIdentity::from_der(&der)
        .map_err(|e| bad(e.to_string()))?
        .nf_instance_id
        .ok_or_else(|| bad("no SAN URI urn:uuid:… (the NF instance id)".into()))?;
    NfInstanceId::parse(&id).map_err(bad)
}

/// This NF's instance id: `configured`, else its `[client]` certificate's, else (only in
/// development mode) a random UUID v4.
pub fn own_instance_id(
    dev: bool,
    configured: Option<&str>,
    client: &PeerClientConfig,
) -> Result<NfInstanceId, NrfSetupError> {
    if let Some(c) = configured {
        return NfInstanceId::parse(c).map_err(|_| NrfSetupError::BadInstanceId(c.to_owned()));
    }
    if let Some(cert) = &client.cert {
        return instance_id_of_certificate(cert);
    }
    if dev {
        let id = crate::random_uuid_v4().map_err(|_| NrfSetupError::NoInstanceId)?;
        return NfInstanceId::parse(&id).map_err(NrfSetupError::BadInstanceId);
    }
    Err(NrfSetupError::NoInstanceId)
}

/// What an NF needs of its NRF: the client, its own identity, the resolver and the token
/// source of its outgoing calls.
#[derive(Debug, Clone)]
pub struct NrfPeers {
    /// The NRF's `{apiRoot}`.
    pub uri: String,
    /// The NRF client (over the NF's `[client]` TLS material).
    pub client: NrfClient,
    /// This NF's instance id.
    pub nf_instance_id: NfInstanceId,
    /// This NF's type.
    pub nf_type: NfType,
    /// Discovery of its peers.
    pub resolver: Arc<NrfResolver>,
    /// Its access tokens.
    pub tokens: Arc<NrfTokenSource>,
}

impl NrfPeers {
    /// The NRF at `uri` for the NF `nf_type` with instance id `nf_instance_id`, called by the
    /// peer rule of `peers` (peer name `nrf`: https with `[client] ca` in production).
    pub fn new(
        peers: &PeerClients,
        uri: &str,
        nf_type: NfType,
        nf_instance_id: NfInstanceId,
    ) -> Result<Self, NrfSetupError> {
        let client = NrfClient::new(peers.client("nrf", uri)?, uri);
        Ok(Self {
            resolver: Arc::new(NrfResolver::new(client.clone(), nf_type)),
            tokens: Arc::new(NrfTokenSource::new(
                client.clone(),
                nf_instance_id.clone(),
                nf_type,
            )),
            uri: uri.to_owned(),
            client,
            nf_instance_id,
            nf_type,
        })
    }

    /// The NRF of an NF that calls no other peer: its instance id from
    /// [`own_instance_id`], its NRF client by the peer rule with `client` (its `[client]`)
    /// and `User-Agent: <NF type>-<instance id>`.
    pub fn for_nf(
        dev: bool,
        uri: &str,
        nf_type: NfType,
        configured_id: Option<&str>,
        client: &PeerClientConfig,
    ) -> Result<Self, NrfSetupError> {
        let id = own_instance_id(dev, configured_id, client)?;
        let peers = PeerClients::new(
            dev,
            client.clone(),
            format!("{}-{}", nf_type.as_str(), id.as_str()),
        );
        Self::new(&peers, uri, nf_type, id)
    }

    /// The client for the discovered producers of `peer` (`udm`, `aanf`, …): the same
    /// transport as the NRF's (in production https with the `[client]` material, and
    /// `https`-only at request time, so a discovered `http://` producer is refused), with the
    /// `<peer>_token_file` token if `[client]` names one, else the NRF's tokens.
    pub fn client_for(
        &self,
        peers: &PeerClients,
        peer: &'static str,
    ) -> Result<akma_sbi_client::SbiClient, PeerError> {
        let c = peers.client(peer, &self.uri)?;
        Ok(if peers.has_token_file(peer) {
            c
        } else {
            c.with_token_source(self.tokens.clone())
        })
    }

    /// The registration of this NF: `template` (its type-specific information; its id and
    /// type are set from this) completed at start-up with the services `services`
    /// (`(serviceName, apiFullVersion)`) at the NF's `{apiRoot}`.
    pub fn registration(
        &self,
        mut template: NfProfile,
        services: &[(&str, &str)],
    ) -> NrfRegistration {
        template.nf_instance_id = self.nf_instance_id.clone();
        template.nf_type = self.nf_type;
        NrfRegistration {
            client: self.client.clone(),
            template,
            services: services
                .iter()
                .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// A registration to keep at an NRF; see the [module documentation](self).
#[derive(Debug, Clone)]
pub struct NrfRegistration {
    client: NrfClient,
    template: NfProfile,
    services: Vec<(String, String)>,
}

/// The first retry delay of a registration the NRF did not accept; it doubles up to
/// [`MAX_RETRY`].
const FIRST_RETRY: Duration = Duration::from_millis(200);
/// The longest delay between registration attempts.
const MAX_RETRY: Duration = Duration::from_secs(10);

impl NrfRegistration {
    /// The profile to register for an NF whose `{apiRoot}` is `api_root`
    /// (`scheme://ip:port[/prefix]` or `scheme://fqdn[:port][/prefix]`).
    pub fn profile(&self, api_root: &str) -> Result<NfProfile, String> {
        let uri: http::Uri = api_root
            .parse()
            .map_err(|e| format!("apiRoot {api_root:?}: {e}"))?;
        let scheme = uri
            .scheme_str()
            .filter(|s| *s == "http" || *s == "https")
            .ok_or_else(|| format!("apiRoot {api_root:?}: not http(s)"))?
            .to_owned();
        let host = uri
            .host()
            .ok_or_else(|| format!("apiRoot {api_root:?}: no host"))?;
        let port = uri
            .port_u16()
            .unwrap_or(if scheme == "https" { 443 } else { 80 });
        let prefix = Some(uri.path().trim_end_matches('/'))
            .filter(|p| !p.is_empty())
            .map(str::to_owned);
        let bare = host.trim_start_matches('[').trim_end_matches(']');
        let mut p = self.template.clone();
        let mut services = Vec::new();
        match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => {
                match ip {
                    std::net::IpAddr::V4(a) => p.ipv4_addresses = vec![a.to_string()],
                    std::net::IpAddr::V6(a) => p.ipv6_addresses = vec![a.to_string()],
                }
                for (name, version) in &self.services {
                    services.push(NfService::at(
                        name,
                        version,
                        &scheme,
                        std::net::SocketAddr::new(ip, port),
                        prefix.clone(),
                    ));
                }
            }
            Err(_) => {
                p.fqdn = Some(bare.to_owned());
                for (name, version) in &self.services {
                    let mut s = NfService::at(
                        name,
                        version,
                        &scheme,
                        std::net::SocketAddr::new([0, 0, 0, 0].into(), port),
                        prefix.clone(),
                    );
                    s.fqdn = Some(bare.to_owned());
                    if let Some(eps) = s.ip_end_points.as_mut() {
                        for e in eps {
                            e.ipv4_address = None;
                        }
                    }
                    services.push(s);
                }
            }
        }
        p.nf_services = (!services.is_empty()).then_some(services);
        Ok(p)
    }

    /// Registers, heartbeats until `stop`, then deregisters (the host's task).
    pub async fn run(self, api_root: String, mut stop: Shutdown) {
        let profile = match self.profile(&api_root) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot register at the NRF");
                return;
            }
        };
        let id = profile.nf_instance_id.clone();
        let mut retry = FIRST_RETRY;
        'register: loop {
            let timer = tokio::select! {
                r = self.client.register(&profile) => match r {
                    Ok(answer) => {
                        retry = FIRST_RETRY;
                        let t = answer.heart_beat_timer.unwrap_or(60).max(1);
                        tracing::info!(nf_instance_id = %id.as_str(), heart_beat_timer = t, "registered at the NRF");
                        t
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, retry_ms = retry.as_millis() as u64, "NRF registration failed");
                        tokio::select! {
                            () = tokio::time::sleep(retry) => {}
                            () = stop.wait() => return,
                        }
                        retry = (retry * 2).min(MAX_RETRY);
                        continue 'register;
                    }
                },
                () = stop.wait() => return,
            };
            let period = Duration::from_millis(u64::from(timer) * 2000 / 3);
            loop {
                tokio::select! {
                    () = tokio::time::sleep(period) => {}
                    () = stop.wait() => break 'register,
                }
                match self.client.heartbeat(&id).await {
                    Ok(()) => {}
                    Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => {
                        tracing::warn!("the NRF no longer knows this NF: registering again");
                        continue 'register;
                    }
                    Err(e) => tracing::warn!(error = %e, "NRF heartbeat failed"),
                }
            }
        }
        match self.client.deregister(&id).await {
            Ok(()) => tracing::info!("deregistered from the NRF"),
            // Already gone (its profile expired, or another process of the same NF instance
            // deregistered it): the state this NF wanted.
            Err(e) if e.status() == Some(http::StatusCode::NOT_FOUND) => {
                tracing::info!("the NRF no longer knew this NF: nothing to deregister")
            }
            Err(e) => tracing::warn!(error = %e, "NRF deregistration failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registration() -> NrfRegistration {
        let peers = PeerClients::new(true, PeerClientConfig::default(), "AANF-test");
        let id = NfInstanceId::parse("00000000-0000-4000-8000-0000000000c1").unwrap();
        let nrf = NrfPeers::new(&peers, "http://127.0.0.1:1", NfType::Aanf, id).unwrap();
        nrf.registration(
            NfProfile::new(
                NfInstanceId::parse("00000000-0000-4000-8000-000000000000").unwrap(),
                NfType::Udm,
            ),
            &[("naanf-akma", "1.0.2")],
        )
    }

    #[test]
    fn profiles_name_the_api_root() {
        let r = registration();
        let p = r.profile("http://127.0.0.1:8085").unwrap();
        assert_eq!(p.nf_type, NfType::Aanf, "the type is the NF's");
        assert_eq!(
            p.nf_instance_id.as_str(),
            "00000000-0000-4000-8000-0000000000c1"
        );
        assert_eq!(p.ipv4_addresses, ["127.0.0.1"]);
        assert_eq!(p.api_roots(Some("naanf-akma")), ["http://127.0.0.1:8085"]);
        let p = r.profile("https://aanf.5gc.example/pfx/").unwrap();
        assert_eq!(p.fqdn.as_deref(), Some("aanf.5gc.example"));
        assert_eq!(p.api_roots(None), ["https://aanf.5gc.example:443/pfx"]);
        let p = r.profile("https://[::1]:9443").unwrap();
        assert_eq!(p.api_roots(None), ["https://[::1]:9443"]);
        assert!(r.profile("ftp://x").is_err());
        assert!(r.profile("not a uri").is_err());
    }

    #[test]
    fn instance_ids() {
        let none = PeerClientConfig::default();
        assert!(matches!(
            own_instance_id(false, None, &none),
            Err(NrfSetupError::NoInstanceId)
        ));
        let dev = own_instance_id(true, None, &none).unwrap();
        assert_eq!(dev.as_str().len(), 36);
        assert_eq!(
            own_instance_id(false, Some("00000000-0000-4000-8000-0000000000c1"), &none)
                .unwrap()
                .as_str(),
            "00000000-0000-4000-8000-0000000000c1"
        );
        assert!(own_instance_id(false, Some("nope"), &none).is_err());
        let pki = akma_sbi_server::test_pki::TestPki::new();
        let dir = tempfile::tempdir().unwrap();
        let c = pki.client_cert("5f0c0000-0000-4000-8000-0000000000d1", &["ausf.example"]);
        let path = dir.path().join("c.pem");
        std::fs::write(&path, &c.cert_pem).unwrap();
        let cfg = PeerClientConfig {
            cert: Some(path.clone()),
            key: Some(path.clone()),
            ..Default::default()
        };
        assert_eq!(
            own_instance_id(false, None, &cfg).unwrap().as_str(),
            "5f0c0000-0000-4000-8000-0000000000d1"
        );
        std::fs::write(&path, "not pem").unwrap();
        assert!(matches!(
            own_instance_id(false, None, &cfg),
            Err(NrfSetupError::Certificate { .. })
        ));
    }
}
