//! The conformance suite against [`RedisClusterStore`] on a real 3+3 Redis Cluster that the
//! test starts ([`TestCluster`]), plus the Redis-specific checks: sealing at rest, TTLs, the
//! durability check, and answers while the cluster is down.
#![cfg(feature = "redis")]
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use akma_store::redis_cluster::{RedisStoreError, StopAfter};
use akma_store::redis_test_cluster::TestCluster;
use akma_store::testsuite::{self, DynStore, Interrupted, Tamper};
use akma_store::{AkmaStore, Kek, RedisClusterOptions, RedisClusterStore, StoreError};
use redis::Commands;

fn kek() -> Kek {
    Kek::from_hex(&"42".repeat(32)).unwrap()
}

/// A fresh key prefix, so that each store of the suite starts empty on the shared cluster.
fn prefix() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    format!("t{}", N.fetch_add(1, Ordering::Relaxed))
}

async fn open(cluster: &TestCluster, query: &str, kek: Kek) -> RedisClusterStore {
    let opts = RedisClusterOptions::from_url(&cluster.url(query)).unwrap();
    RedisClusterStore::connect(opts, kek).await.unwrap()
}

/// Applies a [`Tamper`] to the raw record in Redis (the record's lines are those of
/// `redis_cluster`'s format 1), keeping its TTL.
fn tamper(cluster: &TestCluster, store: &RedisClusterStore, t: Tamper) {
    let mut c = cluster.client();
    let get = |c: &mut redis::cluster::ClusterConnection, a: &str| -> Vec<String> {
        let v: String = c.get(store.record_key(a)).unwrap();
        v.split('\n').map(str::to_owned).collect()
    };
    let put = |c: &mut redis::cluster::ClusterConnection, a: &str, f: Vec<String>| {
        let _: () = redis::cmd("SET")
            .arg(store.record_key(a))
            .arg(f.join("\n"))
            .arg("KEEPTTL")
            .query(c)
            .unwrap();
    };
    match t {
        Tamper::MoveSealedKey { from, to } => {
            let src = get(&mut c, &from);
            let mut dst = get(&mut c, &to);
            dst[6..9].clone_from_slice(&src[6..9]);
            put(&mut c, &to, dst);
        }
        Tamper::FlipCiphertextBit { a_kid } => {
            let mut f = get(&mut c, &a_kid);
            let mut b = akma_core::hex::decode(&f[8]).unwrap();
            b[3] ^= 1;
            f[8] = akma_core::hex::encode(&b);
            put(&mut c, &a_kid, f);
        }
        Tamper::SetExpiry { a_kid, expires_at } => {
            let mut f = get(&mut c, &a_kid);
            f[5] = expires_at.map(|e| e.to_string()).unwrap_or_default();
            put(&mut c, &a_kid, f);
        }
        Tamper::SetGpsi { a_kid, gpsi } => {
            let mut f = get(&mut c, &a_kid);
            f[3] = gpsi.unwrap_or_default();
            put(&mut c, &a_kid, f);
        }
    }
}

/// The whole backend suite, each property on a fresh prefix of one cluster: `run_all`
/// (including the replacement race and 500 concurrent registrations), with and without the
/// durability check; reopening; a wrong KEK; tampering; interrupted registrations.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn conformance_suite() {
    let cluster = TestCluster::start();
    testsuite::run_all(|| {
        let q = format!("?prefix={}", prefix());
        let c = &cluster;
        async move { Arc::new(open(c, &q, kek()).await) as DynStore }
    })
    .await;
    // The same with the durability check on every write.
    testsuite::run_all(|| {
        let q = format!("?prefix={}&wait=1&wait_timeout_ms=1000", prefix());
        let c = &cluster;
        async move { Arc::new(open(c, &q, kek()).await) as DynStore }
    })
    .await;

    // The expiry index (AAnF-triggered re-authentication): claimed with ZREM.
    let q = format!("?prefix={}&expiry_index=1", prefix());
    testsuite::expiring_lists_contexts_nearing_expiry(
        Arc::new(open(&cluster, &q, kek()).await),
        true,
    )
    .await;
    // Without it, the listing is refused, precisely.
    let q = format!("?prefix={}", prefix());
    let plain = open(&cluster, &q, kek()).await;
    assert!(matches!(
        plain.expiring(0, u64::MAX, 1).await,
        Err(akma_store::StoreError::Unsupported(_))
    ));

    let q = format!("?prefix={}", prefix());
    testsuite::persists_across_reopen(|| {
        let (c, q) = (&cluster, q.clone());
        async move { Arc::new(open(c, &q, kek()).await) as DynStore }
    })
    .await;

    let q = format!("?prefix={}", prefix());
    testsuite::wrong_kek_is_refused(|k| {
        let (c, q) = (&cluster, q.clone());
        async move {
            let opts = RedisClusterOptions::from_url(&c.url(&q)).unwrap();
            RedisClusterStore::connect(opts, k)
                .await
                .map(|s| Arc::new(s) as DynStore)
        }
    })
    .await;
    // The check is at connect: a wrong key (same id) and a retired id are refused there.
    let wrong = Kek::from_hex(&"43".repeat(32)).unwrap();
    let opts = RedisClusterOptions::from_url(&cluster.url(&q)).unwrap();
    assert!(matches!(
        RedisClusterStore::connect(opts.clone(), wrong).await,
        Err(akma_store::StoreError::WrongKek { key_id: 1 })
    ));
    let newer = Kek::from_hex(&"44".repeat(32)).unwrap().with_key_id(2);
    RedisClusterStore::connect(opts.clone(), newer)
        .await
        .unwrap();
    assert!(matches!(
        RedisClusterStore::connect(opts, Kek::from_hex(&"42".repeat(32)).unwrap()).await,
        Err(akma_store::StoreError::KekRetired {
            configured: 1,
            current: 2
        })
    ));

    let s = open(&cluster, &format!("?prefix={}", prefix()), kek()).await;
    let t = s.clone();
    testsuite::tampering_is_detected(Arc::new(s) as DynStore, |x| {
        tamper(&cluster, &t, x);
        async {}
    })
    .await;

    let s = open(&cluster, &format!("?prefix={}", prefix()), kek()).await;
    let t = s.clone();
    testsuite::unpointed_record_never_resolves(Arc::new(s) as DynStore, move |ctx, at| {
        let t = t.clone();
        async move {
            let stop = match at {
                Interrupted::AfterRecordWritten => StopAfter::RecordWritten,
                Interrupted::AfterPointerMoved => StopAfter::PointerMoved,
            };
            t.register_until(ctx, stop).await.unwrap();
        }
    })
    .await;
}

/// What Redis holds: the record has no K_AKMA bytes (raw or hex), both keys carry a TTL of
/// the context's lifetime plus the slack, and a context without expiry has none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_rest_sealing_and_ttls() {
    let cluster = TestCluster::start();
    let s = open(&cluster, "?prefix=rest", kek()).await;
    let mut c = testsuite::context(1, 1);
    c.expires_at = Some(c.registered_at + 3600);
    s.register(c.clone()).await.unwrap();
    let mut raw = cluster.client();
    let rec: Vec<u8> = raw.get(s.record_key(c.a_kid.as_str())).unwrap();
    let k = c.k_akma.expose_secret();
    assert!(rec.len() > 100, "a record is stored");
    assert!(
        !rec.windows(k.len()).any(|w| w == k),
        "K_AKMA bytes in the stored record"
    );
    let text = String::from_utf8(rec.clone()).unwrap();
    assert!(
        !text.contains(c.k_akma.expose_hex().as_str()),
        "K_AKMA hex in the record"
    );
    assert!(
        text.contains(c.a_kid.as_str()) || text.contains("imsi-00101"),
        "{text}"
    );
    let ptr_key = s.pointer_key(c.supi.as_ref().unwrap().as_str());
    let ptr: String = raw.get(&ptr_key).unwrap();
    assert_eq!(ptr.split('\n').next(), Some(c.a_kid.as_str()));
    let want = 3600 + akma_store::redis_cluster::TTL_SLACK_SECS as i64;
    for key in [s.record_key(c.a_kid.as_str()), ptr_key.clone()] {
        let ttl: i64 = raw.ttl(&key).unwrap();
        assert!(
            ttl > want - 10 && ttl <= want,
            "TTL of {key}: {ttl}, want ~{want}"
        );
    }
    // Replaced by a context without expiry: the pointer loses its TTL, the old record goes.
    let forever = testsuite::context(2, 1);
    s.register(forever.clone()).await.unwrap();
    let ttl: i64 = raw.ttl(&ptr_key).unwrap();
    assert_eq!(ttl, -1, "no TTL for a context without expiry");
    let ttl: i64 = raw.ttl(s.record_key(forever.a_kid.as_str())).unwrap();
    assert_eq!(ttl, -1);
    let gone: bool = raw.exists(s.record_key(c.a_kid.as_str())).unwrap();
    assert!(!gone, "the replaced record is deleted");
}

/// The durability check asks the primary of the written key's shard: with one replica per
/// shard, `wait=1` succeeds; `wait=2` cannot be met and fails as `NotReplicated` (a 503 for
/// the AAnF), naming what was not replicated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn durability_check_counts_the_writing_shard() {
    let cluster = TestCluster::start();
    let ok = open(&cluster, "?prefix=w1&wait=1&wait_timeout_ms=2000", kek()).await;
    for i in 0..20 {
        ok.register(testsuite::context(1, i)).await.unwrap();
    }
    let too_many = open(&cluster, "?prefix=w2&wait=2&wait_timeout_ms=50", kek()).await;
    match too_many.register(testsuite::context(1, 1)).await {
        Err(StoreError::Backend { backend, source }) => {
            assert_eq!(backend, "redis-cluster");
            match source.downcast_ref::<RedisStoreError>() {
                Some(RedisStoreError::NotReplicated { acked, wanted, .. }) => {
                    assert_eq!((*acked, *wanted), (1, 2));
                }
                other => panic!("expected NotReplicated, got {other:?}"),
            }
        }
        other => panic!("expected a backend error, got {other:?}"),
    }
}

/// A cluster that is down: every call fails with a backend error within the deadline (no
/// hang, no wrong answer); when the cluster is back, the same store serves again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_down_fails_fast_and_recovers() {
    let mut cluster = TestCluster::start();
    // With the durability check: Redis replicates asynchronously, so without it an
    // acknowledged write may be on the primary alone, and a replica promoted while the
    // cluster restarts (a node slower to come back than the node timeout) would not hold it.
    // WAIT gets 900 ms (not the 100 ms default): right after the cluster starts, on a
    // loaded machine, a replica can take longer than that to catch up (seen in CI).
    let s = open(
        &cluster,
        "?prefix=down&wait=1&wait_timeout_ms=900&timeout_ms=1000",
        kek(),
    )
    .await;
    let c = testsuite::context(1, 1);
    s.register(c.clone()).await.unwrap();
    cluster.kill_all();
    let deadline = Duration::from_millis(1000 + 500);
    for round in 0..3 {
        let t = Instant::now();
        let r = s.get_by_a_kid(&c.a_kid, testsuite::T0).await;
        assert!(
            matches!(r, Err(StoreError::Backend { .. })),
            "round {round}: lookup while down gave {r:?}"
        );
        assert!(t.elapsed() < deadline, "lookup took {:?}", t.elapsed());
        let t = Instant::now();
        let r = s.register(testsuite::context(2, 1)).await;
        assert!(
            matches!(r, Err(StoreError::Backend { .. })),
            "register while down gave {r:?}"
        );
        assert!(t.elapsed() < deadline, "register took {:?}", t.elapsed());
        assert!(s.ready().await.is_err(), "ready while down");
    }
    cluster.start_all();
    cluster.wait_ok(Duration::from_secs(30)).unwrap();
    // Bounded wait for the client to reconnect: each attempt is itself bounded.
    let t = Instant::now();
    let got = loop {
        match s.get_by_a_kid(&c.a_kid, testsuite::T0).await {
            Ok(got) => break got,
            Err(e) if t.elapsed() < Duration::from_secs(20) => {
                eprintln!("not yet: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("the store did not recover: {e}"),
        }
    };
    // The append-only file kept the context across the restart.
    testsuite::assert_context(got, &c, "after the cluster came back");
    s.ready().await.unwrap();
    assert_eq!(
        s.register(testsuite::context(2, 1)).await.unwrap(),
        Some(c.a_kid.clone())
    );
}

/// The state octet (`P`, `C`, `R`) of an A-KID record as Redis holds it, `None` without one.
fn state(
    cluster: &TestCluster,
    s: &RedisClusterStore,
    a_kid: &akma_core::ids::AKid,
) -> Option<char> {
    let v: Option<String> = cluster.client().get(s.record_key(a_kid.as_str())).unwrap();
    v.and_then(|v| v.chars().last())
}

/// The `GET`s the cluster's nodes answered since the last call (`CONFIG RESETSTAT` on
/// every node, read from `INFO commandstats`).
fn gets_since_reset(cluster: &TestCluster) -> u64 {
    let mut total = 0;
    for port in cluster.ports() {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .unwrap()
            .get_connection()
            .unwrap();
        let info: String = redis::cmd("INFO")
            .arg("commandstats")
            .query(&mut c)
            .unwrap();
        total += info
            .lines()
            .find_map(|l| l.strip_prefix("cmdstat_get:calls="))
            .and_then(|r| r.split(',').next())
            .map_or(0, |n| n.parse::<u64>().unwrap());
        let _: () = redis::cmd("CONFIG").arg("RESETSTAT").query(&mut c).unwrap();
    }
    total
}

/// A finished registration leaves its record confirmed, and a lookup of it is one `GET`;
/// a registration cut short at each of its steps leaves the record pending or retired,
/// which resolves only through the pointer (two `GET`s), and never leaves two A-KIDs of one
/// subscriber resolving. The same for a removal cut short after its retirement.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirmed_records_resolve_in_one_read_and_crashes_leave_one_context() {
    let cluster = TestCluster::start();
    let s = open(&cluster, "?prefix=conf", kek()).await;
    let get = |c: &akma_store::AkmaContext| {
        let (s, a) = (s.clone(), c.a_kid.clone());
        async move { s.get_by_a_kid(&a, testsuite::T0).await.unwrap() }
    };
    let ctx: Vec<_> = (0..6).map(|t| testsuite::context(40 + t, 1)).collect();

    assert_eq!(s.register(ctx[0].clone()).await.unwrap(), None);
    assert_eq!(state(&cluster, &s, &ctx[0].a_kid), Some('C'));
    let ptr: String = cluster
        .client()
        .get(s.pointer_key(ctx[0].supi.as_ref().unwrap().as_str()))
        .unwrap();
    let (named, token) = ptr.split_once('\n').expect("A-KID, newline, token");
    assert_eq!(named, ctx[0].a_kid.as_str());
    assert!(
        token.len() == 16 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "{ptr:?}"
    );
    gets_since_reset(&cluster);
    testsuite::assert_context(get(&ctx[0]).await, &ctx[0], "confirmed");
    assert_eq!(
        gets_since_reset(&cluster),
        1,
        "a confirmed record is one GET"
    );

    // Cut short after retiring the current record: the current context still resolves
    // (through its pointer, two GETs), the new one does not.
    s.register_until(ctx[1].clone(), StopAfter::OldRetired)
        .await
        .unwrap();
    assert_eq!(state(&cluster, &s, &ctx[0].a_kid), Some('R'));
    assert_eq!(state(&cluster, &s, &ctx[1].a_kid), Some('P'));
    gets_since_reset(&cluster);
    testsuite::assert_context(get(&ctx[0]).await, &ctx[0], "retired, still pointed at");
    assert_eq!(
        gets_since_reset(&cluster),
        2,
        "a retired record needs its pointer"
    );
    assert!(
        get(&ctx[1]).await.is_none(),
        "a pending record nothing points at"
    );

    // Cut short after the swap: the new context resolves (pending), the old does not.
    s.register_until(ctx[1].clone(), StopAfter::PointerMoved)
        .await
        .unwrap();
    assert!(
        get(&ctx[0]).await.is_none(),
        "retired and no longer pointed at"
    );
    assert_eq!(state(&cluster, &s, &ctx[1].a_kid), Some('P'));
    testsuite::assert_context(get(&ctx[1]).await, &ctx[1], "pending, pointed at");

    // Cut short after deleting the replaced record, before the confirmation.
    s.register_until(ctx[2].clone(), StopAfter::OldDeleted)
        .await
        .unwrap();
    assert_eq!(
        state(&cluster, &s, &ctx[1].a_kid),
        None,
        "replaced record deleted"
    );
    assert_eq!(state(&cluster, &s, &ctx[2].a_kid), Some('P'));
    testsuite::assert_context(get(&ctx[2]).await, &ctx[2], "pending, pointed at");

    // A full registration then replaces it and is confirmed.
    assert_eq!(
        s.register(ctx[3].clone()).await.unwrap(),
        Some(ctx[2].a_kid.clone())
    );
    assert_eq!(state(&cluster, &s, &ctx[2].a_kid), None);
    assert_eq!(state(&cluster, &s, &ctx[3].a_kid), Some('C'));
    for (i, c) in ctx.iter().enumerate().take(3) {
        assert!(get(c).await.is_none(), "context {i} replaced");
    }
    testsuite::assert_context(get(&ctx[3]).await, &ctx[3], "current");

    // The same A-KID registered again: its record rewritten and confirmed again (nothing
    // to retire: the pointer keeps naming it), one read.
    assert_eq!(
        s.register(ctx[3].clone()).await.unwrap(),
        Some(ctx[3].a_kid.clone())
    );
    assert_eq!(state(&cluster, &s, &ctx[3].a_kid), Some('C'));
    gets_since_reset(&cluster);
    testsuite::assert_context(get(&ctx[3]).await, &ctx[3], "registered again");
    assert_eq!(gets_since_reset(&cluster), 1, "confirmed again: one read");
    // Cut short before its swap: the rewritten record is pending and resolves through
    // the pointer, which still names it.
    s.register_until(ctx[3].clone(), StopAfter::OldRetired)
        .await
        .unwrap();
    assert_eq!(state(&cluster, &s, &ctx[3].a_kid), Some('P'));
    testsuite::assert_context(get(&ctx[3]).await, &ctx[3], "rewritten, pending");
    assert_eq!(
        s.register(ctx[4].clone()).await.unwrap(),
        Some(ctx[3].a_kid.clone())
    );
    assert!(get(&ctx[3]).await.is_none());
    assert_eq!(state(&cluster, &s, &ctx[4].a_kid), Some('C'));

    // A removal cut short after its retirement: the context resolves until the removal
    // is done again.
    let sub = ctx[4].supi.as_ref().unwrap().as_str().to_owned();
    assert!(!s.remove_until(&sub, true).await.unwrap());
    assert_eq!(state(&cluster, &s, &ctx[4].a_kid), Some('R'));
    testsuite::assert_context(get(&ctx[4]).await, &ctx[4], "removal cut short");
    assert!(s.remove_by_subscriber(&sub).await.unwrap());
    assert!(get(&ctx[4]).await.is_none(), "removed");
    assert_eq!(state(&cluster, &s, &ctx[4].a_kid), None);

    // Scripts go as EVALSHA; nodes that lost them (a restart, a failover) get EVAL.
    for port in cluster.ports() {
        let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}"))
            .unwrap()
            .get_connection()
            .unwrap();
        let _: () = redis::cmd("SCRIPT").arg("FLUSH").query(&mut c).unwrap();
    }
    assert_eq!(s.register(ctx[5].clone()).await.unwrap(), None);
    assert_eq!(state(&cluster, &s, &ctx[5].a_kid), Some('C'));
    testsuite::assert_context(get(&ctx[5]).await, &ctx[5], "after SCRIPT FLUSH");
}

/// Records and pointers of the first layout (no state line; the pointer the A-KID alone),
/// as an earlier version wrote them, still resolve (through the pointer) and are replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_layout_records_still_resolve() {
    let cluster = TestCluster::start();
    let s = open(&cluster, "?prefix=v1", kek()).await;
    let old = testsuite::context(50, 1);
    s.register(old.clone()).await.unwrap();
    let mut c = cluster.client();
    let rec_key = s.record_key(old.a_kid.as_str());
    let ptr_key = s.pointer_key(old.supi.as_ref().unwrap().as_str());
    let rec: String = c.get(&rec_key).unwrap();
    let v1 = rec
        .strip_suffix("\nC")
        .expect("a confirmed record")
        .to_owned();
    let _: () = c.set(&rec_key, &v1).unwrap();
    let _: () = c.set(&ptr_key, old.a_kid.as_str()).unwrap();
    testsuite::assert_context(
        s.get_by_a_kid(&old.a_kid, testsuite::T0).await.unwrap(),
        &old,
        "a first-layout record",
    );
    let new = testsuite::context(51, 1);
    assert_eq!(
        s.register(new.clone()).await.unwrap(),
        Some(old.a_kid.clone())
    );
    assert!(s
        .get_by_a_kid(&old.a_kid, testsuite::T0)
        .await
        .unwrap()
        .is_none());
    assert_eq!(state(&cluster, &s, &new.a_kid), Some('C'));
    // A first-layout pointer naming a record that another pointer replaced: not resolved.
    let _: () = c.set(&rec_key, &v1).unwrap();
    assert!(s
        .get_by_a_kid(&old.a_kid, testsuite::T0)
        .await
        .unwrap()
        .is_none());
}

/// Many concurrent re-registrations of one subscriber through two stores (two AAnF
/// replicas): afterwards exactly one of the A-KIDs resolves, the one the pointer names, and
/// no other record of the subscriber is confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_reregistrations_leave_one_confirmed_record() {
    let cluster = TestCluster::start();
    // Every registration a new A-KID; then A-KIDs drawn from eight, so that registrations
    // of one A-KID again race with those of others.
    race(&cluster, "race", |t, round| 100 + t * 12 + round).await;
    race(&cluster, "race2", |t, round| 100 + (t * 5 + round) % 8).await;
}

async fn race(cluster: &TestCluster, prefix: &str, tag: fn(u8, u8) -> u8) {
    let a = open(cluster, &format!("?prefix={prefix}"), kek()).await;
    let b = open(cluster, &format!("?prefix={prefix}"), kek()).await;
    let mut tasks = Vec::new();
    for t in 0..8u8 {
        let s = if t % 2 == 0 { a.clone() } else { b.clone() };
        tasks.push(tokio::spawn(async move {
            for round in 0..12u8 {
                // A record rewritten under this registration three times over is
                // `Contended` (a 503 the AUSF retries): retried here the same way.
                let c = testsuite::context(tag(t, round), 7);
                let mut tries = 0;
                while let Err(e) = s.register(c.clone()).await {
                    tries += 1;
                    assert!(tries < 10 && e.to_string().contains("kept changing"), "{e}");
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let ptr: String = cluster
        .client()
        .get(a.pointer_key(testsuite::supi(7).as_str()))
        .unwrap();
    let current = ptr.split('\n').next().unwrap().to_owned();
    let mut resolving = Vec::new();
    for tag in 100..196u8 {
        let c = testsuite::context(tag, 7);
        if a.get_by_a_kid(&c.a_kid, testsuite::T0 + 100)
            .await
            .unwrap()
            .is_some()
        {
            resolving.push(c.a_kid.as_str().to_owned());
        }
        if c.a_kid.as_str() != current {
            assert_ne!(
                state(cluster, &a, &c.a_kid),
                Some('C'),
                "a confirmed record the pointer does not name"
            );
        }
    }
    assert_eq!(resolving, vec![current], "{prefix}");
}
