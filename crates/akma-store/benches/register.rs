//! Durable registrations per second on the SQLite store: one caller committing alone versus
//! 64 concurrent callers whose commits the writer batches, measured in the same run, plus
//! concurrent lookups by A-KID.
//!
//! `cargo bench -p akma-store --bench register` (set `AKMA_STORE_BENCH_N` to change the
//! number of registrations per phase; default 20000, a quarter of that for the single caller).

use std::sync::Arc;
use std::time::Instant;

use akma_store::{AkmaContext, AkmaStore, Kek, SqliteStore};

fn context(tag: u8, i: u64) -> AkmaContext {
    use akma_core::ids::{AKid, ATid, HomeNetwork, Plmn, RoutingIndicator, Supi};
    let mut t = [0x3c; 32];
    t[0] = tag;
    t[1..9].copy_from_slice(&i.to_be_bytes());
    AkmaContext {
        supi: Some(
            Supi::parse(&format!("imsi-{tag:03}01{i:010}")).expect("15 digits make an IMSI"),
        ),
        gpsi: None,
        a_kid: AKid::new(
            &RoutingIndicator::none_provisioned(),
            &ATid(t),
            &HomeNetwork::Plmn(Plmn::new("001", "01").expect("a valid PLMN literal")),
        ),
        k_akma: akma_core::keys::KAkma::from_bytes([tag; 32]),
        registered_at: 1_700_000_000,
        expires_at: None,
    }
}

async fn concurrent(
    store: &Arc<dyn AkmaStore>,
    tag: u8,
    callers: u64,
    total: u64,
) -> (f64, std::time::Duration) {
    let per = total / callers;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..callers {
        let s = store.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..per {
                s.register(context(tag, c * per + i))
                    .await
                    .expect("register failed during the benchmark");
            }
        }));
    }
    for t in tasks {
        t.await.expect("a benchmark task panicked");
    }
    let el = start.elapsed();
    ((callers * per) as f64 / el.as_secs_f64(), el)
}

fn main() {
    let n: u64 = std::env::var("AKMA_STORE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let dir = std::env::temp_dir().join(format!("akma-store-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("cannot start the tokio runtime");
    rt.block_on(async {
        let sqlite = Arc::new(
            SqliteStore::open(&dir, Kek::generate()).expect("cannot open the benchmark store"),
        );
        let store: Arc<dyn AkmaStore> = sqlite.clone();
        let mut last = sqlite.writer_stats();
        let mut batches = |label: &str| {
            let now = sqlite.writer_stats();
            let (c, o) = (now.commits - last.commits, now.operations - last.operations);
            println!(
                "    {label}: {o} operations in {c} commits, mean batch {:.1}",
                o as f64 / c.max(1) as f64
            );
            last = now;
        };

        let single_n = (n / 4).max(1);
        let (single, el1) = concurrent(&store, 1, 1, single_n).await;
        println!(
            "register, 1 caller:    {single_n:>7} durable commits in {:>7.3} s = {single:>9.0} /s",
            el1.as_secs_f64()
        );
        batches("1 caller");
        let n64 = n / 64 * 64;
        let (batched, el64) = concurrent(&store, 2, 64, n64).await;
        println!(
            "register, 64 callers:  {n64:>7} durable commits in {:>7.3} s = {batched:>9.0} /s",
            el64.as_secs_f64()
        );
        batches("64 callers");
        let n256 = n / 256 * 256;
        let (b256, el256) = concurrent(&store, 3, 256, n256).await;
        println!(
            "register, 256 callers: {n256:>7} durable commits in {:>7.3} s = {b256:>9.0} /s",
            el256.as_secs_f64()
        );
        batches("256 callers");
        println!(
            "ratio to 1 caller: 64 callers {:.1}x, 256 callers {:.1}x",
            batched / single,
            b256 / single
        );

        let start = Instant::now();
        let mut tasks = Vec::new();
        let per = n / 64;
        for c in 0..64u64 {
            let s = store.clone();
            tasks.push(tokio::spawn(async move {
                for i in 0..per {
                    let k = context(2, c * per + i).a_kid;
                    assert!(s
                        .get_by_a_kid(&k, 1_700_000_000)
                        .await
                        .expect("lookup failed during the benchmark")
                        .is_some());
                }
            }));
        }
        for t in tasks {
            t.await.expect("a benchmark task panicked");
        }
        let el = start.elapsed();
        println!(
            "get_by_a_kid, 64 callers: {:>7} lookups in {:>7.3} s = {:>9.0} /s",
            per * 64,
            el.as_secs_f64(),
            (per * 64) as f64 / el.as_secs_f64()
        );
        store.flush().await.expect("flush failed");
    });
    drop(rt);
    let _ = std::fs::remove_dir_all(&dir);
}
