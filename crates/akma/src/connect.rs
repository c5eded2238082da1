//! The UE application's connection step (`akma ue authenticate --connect`, `akma demo`): a
//! Ua* TLS-PSK session to an AF with the keys NAS holds now, and one `GET`; or, with
//! `--digest`, HTTPS to the AF's certificate and one `GET` answered with AKMA Digest (B.1.2).

use akma_core::ids::AfFqdn;
use akma_ua::client::{Connected, ConnectorConfig, CurrentAkmaKeys, UaConnector};
use akma_ua::profile::TlsVersion;
use serde_json::json;

/// Where to connect: the TCP address, the AF's FQDN and the path.
#[derive(Debug, Clone)]
pub struct Target {
    /// `host:port` for TCP.
    pub authority: String,
    /// The AF's FQDN (SNI, K_AF).
    pub fqdn: AfFqdn,
    /// The request path.
    pub path: String,
}

impl Target {
    /// Parses `https://HOST[:PORT][/PATH]`; the FQDN is `fqdn` if given, else HOST (which
    /// must then be a DNS name: an IP address cannot be an AF_ID).
    pub fn parse(url: &str, fqdn: Option<&AfFqdn>) -> Result<Self, String> {
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| format!("{url:?}: expected https://HOST[:PORT]/PATH"))?;
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => {
                let p: u16 = p.parse().map_err(|_| format!("{url:?}: bad port {p:?}"))?;
                (h, p)
            }
            _ => (authority, 443),
        };
        let fqdn = match fqdn {
            Some(f) => f.clone(),
            None => AfFqdn::parse(host).map_err(|e| {
                format!("{url:?}: the host is not an FQDN ({e}); give the AF's FQDN with --af-fqdn")
            })?,
        };
        Ok(Self {
            authority: format!("{host}:{port}"),
            fqdn,
            path: path.to_owned(),
        })
    }
}

/// Opens one Ua* TLS-PSK session to `t` with `connector` (K_AF derived from the keys NAS
/// holds now) and sends one `GET` over it (HTTP/2 when the AF selects `h2`): the session's
/// details and the AF's answer, whatever its status. `akma bench soak` reuses one connector.
pub async fn session_get(
    connector: &UaConnector,
    keys: &dyn CurrentAkmaKeys,
    t: &Target,
) -> Result<(Connected, akma_ua::http::Answer), String> {
    let tcp = tokio::net::TcpStream::connect(&t.authority)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", t.authority))?;
    let _ = tcp.set_nodelay(true);
    let (tls, info) = connector
        .connect(keys, &t.fqdn, tcp)
        .await
        .map_err(|e| format!("Ua* session to {}: {e}", t.fqdn))?;
    let h2 = info.alpn.as_deref() == Some(b"h2");
    let answer = akma_ua::http::get(tls, h2, t.fqdn.as_str(), &t.path)
        .await
        .map_err(|e| e.to_string())?;
    Ok((info, answer))
}

/// Opens the session, sends `GET`, and returns one JSON line describing it; `Err` when the
/// handshake fails or the AF does not answer 2xx.
pub async fn connect(
    keys: &dyn CurrentAkmaKeys,
    t: &Target,
    version: TlsVersion,
    tls12_cipher_list: Option<String>,
) -> Result<serde_json::Value, String> {
    let connector = UaConnector::new(ConnectorConfig {
        version,
        tls12_cipher_list,
        ..ConnectorConfig::default()
    })
    .map_err(|e| e.to_string())?;
    let (info, answer) = session_get(&connector, keys, t).await?;
    let body: serde_json::Value = serde_json::from_slice(&answer.body)
        .unwrap_or_else(|_| String::from_utf8_lossy(&answer.body).into_owned().into());
    let out = json!({
        "connect": format!("https://{}{}", t.authority, t.path),
        "afId": info.af_id.to_sbi_string(),
        "aKid": info.a_kid.as_str(),
        "tls": info.version.as_str(),
        "alpn": info.alpn.as_deref().map(String::from_utf8_lossy),
        "status": answer.status,
        "body": body,
    });
    if !(200..300).contains(&answer.status) {
        return Err(format!("the AF answered {}: {}", answer.status, out));
    }
    Ok(out)
}

/// HTTPS with AKMA Digest (TS 33.535 B.1.2): `GET` with the `3gpp-akma` User-Agent, the AF's
/// challenge answered with the A-KID and K_AF of this connection's suite; one JSON line, `Err`
/// when TLS fails or the final answer is not 2xx. `ca_pem`: the AF's CA (else the platform's).
pub async fn connect_digest(
    keys: &dyn CurrentAkmaKeys,
    t: &Target,
    ca_pem: Option<&[u8]>,
) -> Result<serde_json::Value, String> {
    let client = akma_ua::https::DigestClient::new(ca_pem).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpStream::connect(&t.authority)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", t.authority))?;
    let _ = tcp.set_nodelay(true);
    let a = client
        .get(keys, &t.fqdn, tcp, &t.path)
        .await
        .map_err(|e| format!("HTTPS Digest to {}: {e}", t.fqdn))?;
    let body: serde_json::Value = serde_json::from_slice(&a.body)
        .unwrap_or_else(|_| String::from_utf8_lossy(&a.body).into_owned().into());
    let out = json!({
        "connect": format!("https://{}{}", t.authority, t.path),
        "auth": "http-digest",
        "afId": a.af_id.to_sbi_string(),
        "aKid": a.a_kid.as_ref().map(|k| k.as_str().to_owned()),
        "tls": a.tls,
        "cipherSuite": format!("{:04x}", a.suite),
        "alpn": a.alpn.as_deref().map(String::from_utf8_lossy),
        "challenges": a.challenges,
        "status": a.status,
        "body": body,
    });
    if !(200..300).contains(&a.status) {
        return Err(format!("the AF answered {}: {}", a.status, out));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use akma_core::akma::derive_akma_keys;
    use akma_core::ids::{MncLen, RoutingIndicator, Supi};
    use akma_core::keys::{KAkma, KAusf};
    use akma_sbi_client::client::{NaanfClient, SbiClient};
    use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
    use akma_ua::client::FixedAkmaKeys;

    /// `--connect --digest` against an in-process dev AAnF and `akma af --dev --digest-listen`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn connect_digest_to_akma_af() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("aanf.toml");
        std::fs::write(
            &cfg,
            "[[af]]\nfqdn = \"app.example.com\"\nua_protocols = [\"0100011301\", \"0100011302\", \"0100011303\"]\nallow_supi = true\n",
        )
        .unwrap();
        let aanf = akma_aanf::server::start(
            akma_aanf::server::resolve(&akma_aanf::server::AanfArgs {
                host: akma_aanf::server::HostArgs {
                    config: Some(cfg),
                    dev: true,
                    listen: Some("127.0.0.1:0".into()),
                    data: Some(dir.path().join("aanf-data")),
                    ..Default::default()
                },
                ..Default::default()
            })
            .unwrap(),
        )
        .await
        .unwrap();
        let supi = Supi::parse("imsi-001010000000001").unwrap();
        let keys = derive_akma_keys(
            &KAusf::from_bytes([3; 32]),
            &supi,
            &RoutingIndicator::parse("0").unwrap(),
            MncLen::Two,
        )
        .unwrap();
        let naanf = NaanfClient::new(SbiClient::h2c().unwrap(), format!("http://{}", aanf.addr));
        naanf
            .register_anchor_key(&AkmaKeyInfo {
                supp_feat: None,
                ue_id: UeId::Supi(supi.clone()),
                a_kid: keys.a_kid.clone(),
                k_akma: keys.k_akma.clone(),
            })
            .await
            .unwrap();
        let af = akma_af::app::start(
            &akma_af::app::resolve(&akma_af::app::AfArgs {
                dev: true,
                listen: Some("127.0.0.1:0".into()),
                fqdn: Some("app.example.com".into()),
                aanf: Some(format!("http://{}", aanf.addr)),
                digest_listen: Some("127.0.0.1:0".into()),
                data: Some(dir.path().join("af-data")),
                ..Default::default()
            })
            .unwrap(),
            akma_af::app::sample_router(),
        )
        .await
        .unwrap();
        let ca = std::fs::read(af.digest_cert.clone().unwrap()).unwrap();
        let t = Target::parse(
            &format!("https://{}/", af.digest_addr.unwrap()),
            Some(&AfFqdn::parse("app.example.com").unwrap()),
        )
        .unwrap();
        let ue = FixedAkmaKeys {
            a_kid: keys.a_kid.clone(),
            k_akma: keys.k_akma.clone(),
        };
        let out = connect_digest(&ue, &t, Some(&ca)).await.unwrap();
        assert_eq!(out["status"], 200, "{out}");
        assert_eq!(out["auth"], "http-digest");
        assert_eq!(out["body"]["user"], "imsi-001010000000001", "{out}");
        assert_eq!(out["aKid"], keys.a_kid.as_str());
        let suite = out["cipherSuite"].as_str().unwrap();
        assert_eq!(
            out["afId"],
            format!("app.example.com;ua=010001{suite}"),
            "{out}"
        );
        // A wrong K_AKMA: the AF answers 401 again, an error here.
        let wrong = FixedAkmaKeys {
            a_kid: keys.a_kid.clone(),
            k_akma: KAkma::from_bytes([9; 32]),
        };
        let e = connect_digest(&wrong, &t, Some(&ca)).await.unwrap_err();
        assert!(e.contains("the AF answered 401"), "{e}");
        af.shutdown().await.unwrap();
    }
}
