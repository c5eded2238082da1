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
use akma_core::ids::{MncLen, RoutingIndicator, Supi};
use akma_core::keys::KAusf;
use akma_loadgen::cpu_seconds_of;
use akma_sbi_client::{NaanfClient, SbiClient};
use akma_sbi_model::naanf::{AkmaKeyInfo, UeId};
use akma_sim::child::{ChildNf, NfCommand};
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
}

const FQDN: &str = "app.example.com";
const CLIENT_ID: &str = "bench-af";
const TARGET_RATIO: f64 = 0.45;

/// `Basic base64(id:secret)`.
fn encode_basic(id: &str, secret: &str) -> String {
    use base64::Engine as _;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

async fn nef_child(
    exe: &Path,
    dir: &Path,
    name: &str,
    aanf: &str,
    hash: &str,
    cache: usize,
) -> Result<ChildNf, String> {
    let cfg = dir.join(format!("{name}.toml"));
    std::fs::write(
        &cfg,
        format!(
            "credential_cache = {cache}\n[[af]]\nclient_id = \"{CLIENT_ID}\"\nclient_secret_hash = \"{hash}\"\nfqdns = [\"{FQDN}\"]\nrate_limit = {{ per_sec = 1000000000.0, burst = 1000000000 }}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    NfCommand::new(exe, "nef")
        .name(name)
        .data(&dir.join(name))
        .arg("--config")
        .arg(cfg.as_os_str())
        .arg("--aanf")
        .arg(aanf)
        .inherit_stderr()
        .start()
        .await
        .map_err(|e| e.to_string())
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
    let aanf = NfCommand::new(&exe, "aanf")
        .name("AAnF")
        .data(&tmp.path().join("aanf"))
        .inherit_stderr()
        .start()
        .await
        .map_err(|e| e.to_string())?;
    let aanf_pid = aanf.pid().ok_or("the AAnF is not running")?;

    // Contexts, registered as the AUSF does.
    let naanf = NaanfClient::new(
        SbiClient::h2c().map_err(|e| e.to_string())?,
        aanf.api_root(),
    );
    let mut bodies = Vec::new();
    for i in 0..a.contexts {
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
            .map_err(|e| e.to_string())?;
        bodies.push(bytes::Bytes::from(
            serde_json::json!({"afId": FQDN, "aKId": keys.a_kid.as_str()}).to_string(),
        ));
    }
    let bodies = Arc::new(bodies);

    let mut secret = [0u8; 24];
    getrandom::getrandom(&mut secret).map_err(|e| e.to_string())?;
    let secret = zeroize::Zeroizing::new(akma_core::hex::encode(&secret));
    let hash = akma_nef::token::hash_secret(&secret)?;
    let nef = nef_child(&exe, tmp.path(), "nef", &aanf.api_root(), &hash, 1024).await?;
    let nef_nocache =
        nef_child(&exe, tmp.path(), "nef-nocache", &aanf.api_root(), &hash, 0).await?;
    let nef_pid = nef.pid().ok_or("the NEF is not running")?;
    let nocache_pid = nef_nocache.pid().ok_or("the NEF is not running")?;
    let basic = encode_basic(CLIENT_ID, &secret);
    let clients = h2c(connections)?;
    let token: serde_json::Value = clients[0]
        .post(format!("{}/oauth2/token", nef.api_root()))
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
        url: format!("{}/naanf-akma/v1/retrieve-applicationkey", aanf.api_root()),
        bearer: None,
        bodies: bodies.clone(),
    };
    let via_nef = Req::Retrieve {
        url: format!("{}/3gpp-akma/v1/retrieve", nef.api_root()),
        bearer: Some(bearer),
        bodies,
    };
    let tok = Req::Token {
        url: format!("{}/oauth2/token", nef.api_root()),
        basic: basic.clone(),
    };
    let tok_nocache = Req::Token {
        url: format!("{}/oauth2/token", nef_nocache.api_root()),
        basic,
    };
    // Warm-up: one second of each retrieve kind.
    phase(&clients, a.streams, direct.clone(), 1, &[]).await?;
    phase(&clients, a.streams, via_nef.clone(), 1, &[]).await?;

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
            let is_nef = matches!(
                r,
                Req::Retrieve {
                    bearer: Some(_),
                    ..
                }
            );
            let p = phase(
                &clients,
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
        let p = phase(
            &clients,
            a.streams,
            tok.clone(),
            a.duration_secs,
            &[nef_pid],
        )
        .await?;
        errors += p.errors;
        t_rps.push(p.rps);
        t_cpu.push(p.cpu_us[0]);
        let p = phase(
            &clients,
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
        "bench nef: {connections} h2c connections x {} streams, {} rounds of {} s (medians), {} contexts",
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
    drop((nef, nef_nocache, aanf));
    Ok(())
}
