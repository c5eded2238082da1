//! `akma bench nef`: the NEF's retrieve rate against the AAnF's own retrieve rate in the
//! same run (the NEF adds token verification, the rate limit, the afId check and a second
//! SBI hop), the CPU per request of each NF (both are child processes: `/proc/<pid>/stat`
//! ticks through `akma_loadgen::cpu_seconds_of`), and the token endpoint's rate with the
//! verified-credential cache and without it (argon2id per request).
//!
//! The AAnF and two NEFs (cache on, cache off) run as `akma aanf --dev` / `akma nef --dev`
//! children on loopback; the load is N concurrent request loops over h2c connections from
//! this process, alternating phases over rounds and reporting each phase's median.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_core::akma::derive_akma_keys;
use akma_core::ids::{AKid, MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_loadgen::cpu_seconds_of;
use akma_sbi_client::{NaanfClient, SbiClient, TokenRequest, TokenSource};
use akma_sbi_model::common::NfType;
use akma_sbi_model::naanf::{self as naanf_model, AkmaKeyInfo, UeId};
use akma_sbi_server::test_pki::TestPki;
use akma_sim::child::{ChildNf, NfCommand};

use crate::testnet::{nf_client, random_hex, Files};
use clap::Args;

/// Options of `akma bench nef`.
#[derive(Args, Debug, Clone)]
pub struct NefBenchArgs {
    /// Seconds each phase runs per round.
    #[arg(long, default_value_t = 4)]
    pub duration_secs: u64,
    /// Rounds; each phase's rate is its median round.
    #[arg(long, default_value_t = 3)]
    pub rounds: u64,
    /// HTTP/2 connections of the load (default: the number of cores).
    #[arg(long)]
    pub connections: Option<usize>,
    /// Concurrent requests per connection.
    #[arg(long, default_value_t = 16)]
    pub streams: usize,
    /// AKMA contexts registered at the AAnF (the requests cycle through them).
    #[arg(long, default_value_t = 2000)]
    pub contexts: u64,
    /// Production mode, as an operator runs it: an NRF issuing the access tokens, and every
    /// hop over TLS 1.3 with a token. The direct AF presents its NF certificate and an NRF
    /// token to the AAnF (mutual TLS); the outside AF reaches the NEF over TLS with the
    /// NEF's own token; the NEF finds the AAnF at the NRF and calls it with mutual TLS and
    /// an NRF token. Certificates come from a throw-away CA. Without it every NF runs with
    /// `--dev` (h2c, no tokens except the NEF's own northbound token).
    #[arg(long)]
    pub production: bool,
}

const FQDN: &str = "app.example.com";
/// The afId of the outside AF in production mode (the AAnF's `[[af]]` entry of `FQDN`
/// names the inside AF's identity, so only that AF may ask for it directly).
const OUTSIDE_FQDN: &str = "shop.example.net";
const CLIENT_ID: &str = "bench-af";
/// NF instance ids of the production-mode network.
const NRF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000d0001";
const AANF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000d0002";
const NEF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000d0003";
const AUSF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000d0004";
const AF_ID: &str = "9e1b2c3d-0000-4000-8000-0000000d0005";
const TARGET_RATIO: f64 = 0.45;

/// `Basic base64(id:secret)`.
fn encode_basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

/// `n` HTTP/2 clients over TLS trusting `ca_pem`, presenting `identity` (certificate and
/// key PEM) when given.
fn tls_clients(
    n: usize,
    ca_pem: &[u8],
    identity: Option<&[u8]>,
) -> Result<Vec<reqwest::Client>, String> {
    (0..n)
        .map(|_| {
            let mut b = reqwest::Client::builder()
                .http2_prior_knowledge()
                .no_proxy()
                .tls_certs_only([
                    reqwest::Certificate::from_pem(ca_pem).map_err(|e| e.to_string())?
                ]);
            if let Some(id) = identity {
                b = b.identity(reqwest::Identity::from_pem(id).map_err(|e| e.to_string())?);
            }
            b.build().map_err(|e| e.to_string())
        })
        .collect()
}

fn h2c(n: usize) -> Result<Vec<reqwest::Client>, String> {
    (0..n)
        .map(|_| {
            reqwest::Client::builder()
                .http2_prior_knowledge()
                .no_proxy()
                .build()
                .map_err(|e| e.to_string())
        })
        .collect()
}

/// One request of a phase.
#[derive(Clone)]
enum Req {
    /// `POST <url>` with a JSON body and an optional bearer token.
    Retrieve {
        url: String,
        bearer: Option<String>,
        bodies: Arc<Vec<bytes::Bytes>>,
    },
    /// `POST <url>` form, Basic credentials.
    Token { url: String, basic: String },
}

struct Phase {
    rps: f64,
    errors: u64,
    cpu_us: Vec<f64>,
}

/// Runs `req` from `clients × streams` loops for `secs`; CPU of `pids` per request.
async fn phase(
    clients: &[reqwest::Client],
    streams: usize,
    req: Req,
    secs: u64,
    pids: &[u32],
) -> Result<Phase, String> {
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let cpu0: Vec<f64> = pids
        .iter()
        .map(|p| cpu_seconds_of(*p).unwrap_or(0.0))
        .collect();
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    let mut n = 0usize;
    for c in clients {
        for _ in 0..streams {
            let (c, req, ok, bad) = (c.clone(), req.clone(), ok.clone(), bad.clone());
            n += 1;
            let seed = n;
            tasks.spawn(async move {
                let mut i = seed;
                while Instant::now() < deadline {
                    i = i.wrapping_add(7919);
                    let r = match &req {
                        Req::Retrieve {
                            url,
                            bearer,
                            bodies,
                        } => {
                            let mut b = c
                                .post(url)
                                .header("content-type", "application/json")
                                .body(bodies[i % bodies.len()].clone());
                            if let Some(t) = bearer {
                                b = b.bearer_auth(t);
                            }
                            b.send().await
                        }
                        Req::Token { url, basic } => {
                            c.post(url)
                                .header("authorization", basic)
                                .header("content-type", "application/x-www-form-urlencoded")
                                .body("grant_type=client_credentials")
                                .send()
                                .await
                        }
                    };
                    match r {
                        Ok(r) if r.status() == 200 => {
                            let _ = r.bytes().await;
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        _ => {
                            bad.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    }
    while tasks.join_next().await.is_some() {}
    let elapsed = start.elapsed().as_secs_f64();
    let done = ok.load(Ordering::Relaxed);
    let cpu_us = pids
        .iter()
        .zip(cpu0)
        .map(|(p, c0)| {
            let used = cpu_seconds_of(*p).unwrap_or(c0) - c0;
            if done == 0 {
                0.0
            } else {
                used * 1e6 / done as f64
            }
        })
        .collect();
    Ok(Phase {
        rps: done as f64 / elapsed,
        errors: bad.load(Ordering::Relaxed),
        cpu_us,
    })
}

/// Waits (at most 30 s) until the processes `pids` together use under 5 % of a core over
/// 200 ms: work queued in a phase (the argon2id hashes of token requests the load generator
/// has stopped waiting for) must not run into the next phase's measurement.
async fn settle(pids: &[u32]) {
    let total = || -> f64 { pids.iter().map(|p| cpu_seconds_of(*p).unwrap_or(0.0)).sum() };
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let before = total();
        tokio::time::sleep(Duration::from_millis(200)).await;
        if total() - before < 0.01 {
            return;
        }
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

/// A NEF child `name` with one AF (`CLIENT_ID`, secret hash `hash`, afIds `fqdn`) and a
/// credential cache of `cache` entries; `host` is the rest of its TOML (development: empty,
/// the AAnF given with `--aanf`; production: `nrf`, `token_key`, `[tls]`, `[client]`).
#[allow(clippy::too_many_arguments)]
async fn nef_child(
    exe: &Path,
    dir: &Path,
    name: &str,
    hash: &str,
    fqdn: &str,
    cache: usize,
    host: &str,
    cmd: impl FnOnce(NfCommand) -> NfCommand,
) -> Result<ChildNf, String> {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "credential_cache = {cache}\n{host}\n[[af]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret_hash = \"{hash}\"\nfqdns = [\"{fqdn}\"]\nrate_limit = {{ per_sec = 1000000000.0, burst = 1000000000 }}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    cmd(NfCommand::new(exe, "nef"))
        .name(name)
        .data(&dir.join(name))
        .arg("--config")
        .arg(cfg.as_os_str())
        .inherit_stderr()
        .start()
        .await
        .map_err(|e| e.to_string())
}

/// The network a run measures: the AAnF, the two NEFs (credential cache on and off), the
/// NRF in production mode, and the load generator's clients and credentials.
struct Net {
    aanf: ChildNf,
    nef: ChildNf,
    nef_nocache: ChildNf,
    /// The NRF (production mode), kept running.
    nrf: Option<ChildNf>,
    /// Connections to the AAnF (in production with the inside AF's certificate).
    direct_clients: Vec<reqwest::Client>,
    /// Connections to the NEFs (the outside AF: no certificate).
    nef_clients: Vec<reqwest::Client>,
    /// `Authorization` of the direct requests (production: the inside AF's NRF token).
    direct_bearer: Option<String>,
    /// The afId of the requests through the NEF.
    nef_fqdn: &'static str,
    /// The A-KIDs registered.
    a_kids: Vec<AKid>,
}

/// `n` contexts registered through `naanf`, as the AUSF registers them.
async fn register_contexts(naanf: &NaanfClient, n: u64) -> Result<Vec<AKid>, String> {
    let mut out = Vec::new();
    for i in 0..n {
        let supi = Supi::parse(&format!("imsi-90170{:010}", i)).map_err(|e| e.to_string())?;
        let mut k = [0u8; 32];
        k[..8].copy_from_slice(&i.to_be_bytes());
        let keys = derive_akma_keys(
            &KAusf::from_bytes(k),
            &supi,
            &RoutingIndicator::parse("0").map_err(|e| e.to_string())?,
            MncLen::Two,
        )
        .map_err(|e| e.to_string())?;
        naanf
            .register_anchor_key(&AkmaKeyInfo {
                supp_feat: None,
                ue_id: UeId::Supi(supi),
                a_kid: keys.a_kid.clone(),
                k_akma: keys.k_akma.clone(),
            })
            .await
            .map_err(|e| format!("registering context {i}: {e}"))?;
        out.push(keys.a_kid.clone());
    }
    Ok(out)
}

/// Development mode: every NF with `--dev` (h2c; the NEF checks its own northbound token).
async fn dev_net(
    exe: &Path,
    dir: &Path,
    connections: usize,
    hash: &str,
    contexts: u64,
) -> Result<Net, String> {
    let aanf = NfCommand::new(exe, "aanf")
        .name("AAnF")
        .data(&dir.join("aanf"))
        .inherit_stderr()
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let naanf = NaanfClient::new(
        SbiClient::h2c().map_err(|e| e.to_string())?,
        aanf.api_root(),
    );
    let a_kids = register_contexts(&naanf, contexts).await?;
    let root = aanf.api_root();
    // Captures only `&root`, so it is `Copy`: both NEFs get it.
    let with_aanf = |c: NfCommand| c.arg("--aanf").arg(&root);
    let nef = nef_child(exe, dir, "nef", hash, FQDN, 1024, "", with_aanf).await?;
    let nef_nocache = nef_child(exe, dir, "nef-nocache", hash, FQDN, 0, "", with_aanf).await?;
    let clients = h2c(connections)?;
    Ok(Net {
        aanf,
        nef,
        nef_nocache,
        nrf: None,
        direct_clients: clients.clone(),
        nef_clients: clients,
        direct_bearer: None,
        nef_fqdn: FQDN,
        a_kids,
    })
}

/// Production mode (see [`NefBenchArgs::production`]).
async fn production_net(
    exe: &Path,
    dir: &Path,
    connections: usize,
    hash: &str,
    contexts: u64,
) -> Result<Net, String> {
    let f = Files {
        dir: dir.to_owned(),
    };
    let pki = TestPki::new();
    f.write("ca.crt", &pki.ca_pem())?;
    for (name, id) in [
        ("nrf", NRF_ID),
        ("aanf", AANF_ID),
        ("nef", NEF_ID),
        ("ausf", AUSF_ID),
        ("af", AF_ID),
    ] {
        f.nf_cert(&pki, name, id)?;
    }
    let (nrf_key, nrf_public) =
        akma_sbi_server::signer::generate_key().map_err(|e| format!("NRF token key: {e}"))?;
    f.private("nrf-token.pem", &nrf_key)?;
    f.write("nrf-token.pub.pem", &nrf_public)?;
    let (nef_key, _) =
        akma_sbi_server::signer::generate_key().map_err(|e| format!("NEF token key: {e}"))?;
    f.private("nef-token.pem", &nef_key)?;
    // The configurations name their files relative to themselves, in `dir`.
    let start = |name: &'static str, config: String| {
        let f = &f;
        async move {
            let toml = f.private(&format!("{name}.toml"), &config)?;
            NfCommand::new(exe, name)
                .production()
                .name(name)
                .data(&f.path(&format!("{name}-data")))
                .arg("--config")
                .arg(toml)
                .inherit_stderr()
                .start()
                .await
                .map_err(|e| e.to_string())
        }
    };
    let nrf = start(
        "nrf",
        format!(
            "nf_instance_id = \"{NRF_ID}\"\ntoken_key = \"nrf-token.pem\"\n{}",
            Files::tls("nrf")
        ),
    )
    .await?;
    let nrf_root = nrf.tls_api_root();
    let aanf = start(
        "aanf",
        format!(
            "kek = \"{}\"\nnrf = \"{nrf_root}\"\n{}\n[oauth2]\nissuer = \"{NRF_ID}\"\naudience = [\"AANF\"]\nes256_public_keys = [\"nrf-token.pub.pem\"]\n\n[[consumer]]\nid = \"urn:uuid:{AUSF_ID}\"\nnf_type = \"AUSF\"\n\n[[consumer]]\nid = \"urn:uuid:{NEF_ID}\"\nnf_type = \"NEF\"\n\n[[af]]\nfqdn = \"{FQDN}\"\nidentity = \"urn:uuid:{AF_ID}\"\n\n[[af]]\nfqdn = \"{OUTSIDE_FQDN}\"\n",
            random_hex(32)?.as_str(),
            Files::tls("aanf")
        ),
    )
    .await?;
    // The contexts, registered by the AUSF with its certificate and NRF token.
    let (ausf, _, ausf_tokens) = nf_client(dir, "ausf", &nrf_root, AUSF_ID, NfType::Ausf).await?;
    let naanf = NaanfClient::new(ausf.with_token_source(ausf_tokens), aanf.tls_api_root());
    let a_kids = register_contexts(&naanf, contexts).await?;
    // The inside AF's token for the AAnF, from the NRF.
    let (_, _, af_tokens) = nf_client(dir, "af", &nrf_root, AF_ID, NfType::Af).await?;
    let bearer = af_tokens
        .token(TokenRequest {
            target: Some(NfType::Aanf),
            scopes: naanf_model::op::RETRIEVE_APPLICATION_KEY.scopes,
            target_plmn: None,
        })
        .await
        .map_err(|e| format!("the inside AF's token at the NRF: {e}"))?
        .ok_or("the NRF gave the inside AF no token")?;
    let host = format!(
        "nrf = \"{nrf_root}\"\ntoken_key = \"nef-token.pem\"\n{}",
        Files::tls("nef")
    );
    let production = |c: NfCommand| c.production();
    let nef = nef_child(exe, dir, "nef", hash, OUTSIDE_FQDN, 1024, &host, production).await?;
    let nef_nocache = nef_child(
        exe,
        dir,
        "nef-nocache",
        hash,
        OUTSIDE_FQDN,
        0,
        &host,
        production,
    )
    .await?;
    let read = |name: &str| std::fs::read(f.path(name)).map_err(|e| format!("{name}: {e}"));
    let ca = read("ca.crt")?;
    let mut identity = zeroize::Zeroizing::new(read("af.crt")?);
    identity.extend(read("af.key")?);
    Ok(Net {
        aanf,
        nef,
        nef_nocache,
        nrf: Some(nrf),
        direct_clients: tls_clients(connections, &ca, Some(&identity))?,
        nef_clients: tls_clients(connections, &ca, None)?,
        direct_bearer: Some(bearer.as_str().to_owned()),
        nef_fqdn: OUTSIDE_FQDN,
        a_kids,
    })
}

/// Runs `akma bench nef`.
pub async fn run(a: NefBenchArgs) -> Result<(), String> {
    if a.rounds == 0 || a.duration_secs == 0 || a.contexts == 0 || a.streams == 0 {
        return Err(
            "--rounds, --duration-secs, --contexts and --streams must be at least 1".into(),
        );
    }
    let cores = std::thread::available_parallelism().map_or(2, usize::from);
    let connections = a.connections.unwrap_or(cores).max(1);
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut secret = [0u8; 24];
    getrandom::getrandom(&mut secret).map_err(|e| e.to_string())?;
    let secret = zeroize::Zeroizing::new(akma_core::hex::encode(&secret));
    let hash = akma_nef::token::hash_secret(&secret)?;
    let net = if a.production {
        production_net(&exe, tmp.path(), connections, &hash, a.contexts).await?
    } else {
        dev_net(&exe, tmp.path(), connections, &hash, a.contexts).await?
    };
    let root = |c: &ChildNf| {
        if a.production {
            c.tls_api_root()
        } else {
            c.api_root()
        }
    };
    let aanf_pid = net.aanf.pid().ok_or("the AAnF is not running")?;
    let nef_pid = net.nef.pid().ok_or("the NEF is not running")?;
    let nocache_pid = net.nef_nocache.pid().ok_or("the NEF is not running")?;
    // Every NF of the run, and this process (whose runtime must be idle too).
    let mut all = vec![aanf_pid, nef_pid, nocache_pid, std::process::id()];
    all.extend(net.nrf.as_ref().and_then(ChildNf::pid));
    let bodies = |fqdn: &str| -> Arc<Vec<bytes::Bytes>> {
        Arc::new(
            net.a_kids
                .iter()
                .map(|k| {
                    bytes::Bytes::from(
                        serde_json::json!({"afId": fqdn, "aKId": k.as_str()}).to_string(),
                    )
                })
                .collect(),
        )
    };
    let basic = encode_basic(CLIENT_ID, &secret);
    let token: serde_json::Value = net.nef_clients[0]
        .post(format!("{}/oauth2/token", root(&net.nef)))
        .header("authorization", &basic)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let bearer = token["access_token"]
        .as_str()
        .ok_or("the NEF gave no token")?
        .to_owned();

    let direct = Req::Retrieve {
        url: format!("{}/naanf-akma/v1/retrieve-applicationkey", root(&net.aanf)),
        bearer: net.direct_bearer.clone(),
        bodies: bodies(FQDN),
    };
    let via_nef = Req::Retrieve {
        url: format!("{}/3gpp-akma/v1/retrieve", root(&net.nef)),
        bearer: Some(bearer),
        bodies: bodies(net.nef_fqdn),
    };
    let tok = Req::Token {
        url: format!("{}/oauth2/token", root(&net.nef)),
        basic: basic.clone(),
    };
    let tok_nocache = Req::Token {
        url: format!("{}/oauth2/token", root(&net.nef_nocache)),
        basic,
    };
    let (direct_clients, nef_clients) = (&net.direct_clients, &net.nef_clients);
    // Warm-up: one second of each retrieve kind.
    phase(direct_clients, a.streams, direct.clone(), 1, &[]).await?;
    phase(nef_clients, a.streams, via_nef.clone(), 1, &[]).await?;

    let (mut d_rps, mut n_rps, mut d_cpu, mut n_cpu, mut n_aanf_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut t_rps, mut t_cpu, mut u_rps, mut u_cpu) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut d_load, mut n_load) = (Vec::new(), Vec::new());
    let mut errors = 0;
    for round in 0..a.rounds {
        let order: [&Req; 2] = if round % 2 == 0 {
            [&direct, &via_nef]
        } else {
            [&via_nef, &direct]
        };
        for r in order {
            let is_nef = std::ptr::eq(r, &via_nef);
            settle(&all).await;
            let p = phase(
                if is_nef { nef_clients } else { direct_clients },
                a.streams,
                r.clone(),
                a.duration_secs,
                &[aanf_pid, nef_pid, std::process::id()],
            )
            .await?;
            errors += p.errors;
            if is_nef {
                n_rps.push(p.rps);
                n_aanf_cpu.push(p.cpu_us[0]);
                n_cpu.push(p.cpu_us[1]);
                n_load.push(p.cpu_us[2]);
            } else {
                d_rps.push(p.rps);
                d_cpu.push(p.cpu_us[0]);
                d_load.push(p.cpu_us[2]);
            }
        }
        settle(&all).await;
        let p = phase(
            nef_clients,
            a.streams,
            tok.clone(),
            a.duration_secs,
            &[nef_pid],
        )
        .await?;
        errors += p.errors;
        t_rps.push(p.rps);
        t_cpu.push(p.cpu_us[0]);
        settle(&all).await;
        let p = phase(
            nef_clients,
            a.streams,
            tok_nocache.clone(),
            a.duration_secs,
            &[nocache_pid],
        )
        .await?;
        errors += p.errors;
        u_rps.push(p.rps);
        u_cpu.push(p.cpu_us[0]);
    }
    let (d, n) = (median(d_rps), median(n_rps));
    let ratio = if d > 0.0 { n / d } else { 0.0 };
    println!(
        "bench nef ({}): {connections} {} connections x {} streams, {} rounds of {} s (medians), {} contexts",
        if a.production {
            "production mode: TLS 1.3 and an access token on every hop, mutual TLS between NFs and from the inside AF, tokens from the NRF"
        } else {
            "development mode: h2c, only the NEF's northbound token"
        },
        if a.production { "TLS" } else { "h2c" },
        a.streams, a.rounds, a.duration_secs, a.contexts
    );
    println!(
        "  direct AAnF retrieve-applicationkey: {d:>9.0} req/s   AAnF CPU {:>6.1} us/req (load generator {:.1})",
        median(d_cpu),
        median(d_load)
    );
    println!(
        "  NEF 3gpp-akma retrieve:              {n:>9.0} req/s   NEF CPU {:>6.1} us/req, AAnF CPU {:>6.1} us/req (load generator {:.1})",
        median(n_cpu),
        median(n_aanf_cpu),
        median(n_load)
    );
    println!(
        "  ratio NEF / direct: {ratio:.2} (target >= {TARGET_RATIO}: {})",
        if ratio >= TARGET_RATIO {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "  token endpoint, credential cache on:  {:>9.0} req/s   NEF CPU {:>8.1} us/req",
        median(t_rps),
        median(t_cpu)
    );
    println!(
        "  token endpoint, credential cache off: {:>9.0} req/s   NEF CPU {:>8.1} us/req (argon2id per request)",
        median(u_rps),
        median(u_cpu)
    );
    println!("  non-200 answers or transport errors: {errors}");
    drop(net);
    Ok(())
}
