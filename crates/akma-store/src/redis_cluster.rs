//! The AAnF's shared backend on a Redis Cluster (feature `redis`): [`RedisClusterStore`].
//!
//! Several AAnF replicas use one cluster; every replica sees every write at once (reads and
//! writes go to the primary of each slot; replicas of the cluster are never read), and no
//! replica caches A-KIDs in process.
//!
//! # URL
//!
//! `redis-cluster://HOST:PORT[,HOST:PORT…][?OPTION=VALUE&…]`, the seed nodes (any reachable
//! one is enough; the client learns the topology from it). Options:
//!
//! | Option | Default | Meaning |
//! |---|---|---|
//! | `wait` | `0` | the durability check: after each write of a registration or removal, `WAIT wait wait_timeout_ms` on **the primary that holds that key**, in the same pipeline as the write; fewer acknowledging replicas fail the operation ([`RedisStoreError::NotReplicated`], a 503 upstream) |
//! | `wait_timeout_ms` | `100` | how long `WAIT` waits for the replicas (1 to 60000) |
//! | `timeout_ms` | `2000` | the deadline of every store call, retries included (1 to 60000) |
//! | `prefix` | `akma` | the key prefix (letters, digits, `_`, `-`, `.`): several stores in one cluster |
//! | `expiry_index` | `0` | `1`: keep the expiry index that [`AkmaStore::expiring`] needs (AAnF-triggered re-authentication; the AAnF sets it itself when `reauth_before_expiry_secs` is configured) |
//!
//! # Key layout
//!
//! | Key | Value | TTL |
//! |---|---|---|
//! | `PREFIX:ak:{A-KID}` | the A-KID record: identities, times, the sealed K_AKMA ([`crate::seal`]) and, last, its state (`P` pending, `C` confirmed, `R` retired) | the context's lifetime + [`TTL_SLACK_SECS`] |
//! | `PREFIX:sub:{SUBSCRIBER-ID}` | the subscriber pointer: the A-KID of the subscriber's current context, a newline, and 16 hex digits unique to the registration that wrote it | the same |
//!
//! | `PREFIX:dis:{A-KID}` | hash: service-disable callback URI → afId ([`AkmaStore::subscribe_disable`]); in the A-KID record's slot | the record's remaining TTL |
//! | `PREFIX:exp:{eN}` (N = 0 to 15) | with `expiry_index`: sorted sets A-KID → expiry of contexts with a SUPI, the A-KID's shard by an FNV-1a hash (16 slots, so no one primary takes every registration) | none (pruned by `expiring`) |
//! | `PREFIX:ob:{outbox}:n`, `:due`, `:att` | the notification outbox: hash id → notice, sorted set id → due time, hash id → attempts (one slot) | none |
//!
//! The hash tag is the identifier alone, so a key's slot depends on the A-KID or subscriber
//! id and not on the prefix. A record and its pointer are deliberately **not** put in one
//! slot: a lookup knows only the A-KID, a re-registration replaces an A-KID by an unrelated
//! one, so no tag could co-locate them. Instead every step of [`AkmaStore`] touches one key
//! (one slot, one primary) atomically, and the pointer rule of the trait makes each prefix
//! of a sequence safe. The pointer is the truth: an A-KID resolves while its subscriber's
//! pointer names it. A **confirmed** record is the shortcut that lets a lookup skip reading
//! the pointer (one round trip instead of two), and the steps keep one invariant for it:
//!
//! > a confirmed record is always the one its subscriber's pointer names.
//!
//! Nothing moves a pointer to another A-KID, or deletes it, without first retiring (`C`/`P`
//! → `R`, durable) the record it names; a registration confirms its own record only after
//! its swap, and only if the record is still the pending value it wrote (its line with the
//! seal's random nonce, which no other write shares). Since every pointer value is unique
//! too, a compare-and-set that moves the pointer away from this registration's A-KID read
//! this registration's value or a later one, so it came after the swap, and its retirement
//! came after the record was written: either it retired the record before the confirmation
//! (which then changes nothing) or after it. A swap that keeps the A-KID (the same A-KID
//! registered again, with a new pointer value) retires nothing: its record write has already
//! replaced whatever that A-KID's record was, confirmed or not, and the pointer still names
//! it. Either way the invariant holds at every instant, crash or not.
//!
//! `register(ctx)` (subscriber `S`, A-KID `A`):
//! 1. `GET ak:{A}` (and, at the same time, step 3's first `GET sub:{S}`). If the record
//!    belongs to another subscriber `T`: `GET sub:{T}`; if that names `A` and the record is
//!    live at `ctx.registered_at`, fail with `AKidConflict` (nothing written). If it names
//!    `A` but the record has expired, retire it and delete `sub:{T}` if it still holds what
//!    was read (a one-key script), so that `T`'s next registration does not report `A`.
//! 2. Write `ak:{A}`, **pending**, with a compare-and-set script: only if it still holds
//!    what step 1 read (retried from step 1 if not, at most 3 times). Crash here: `A` is
//!    written but no pointer names it, so it does not resolve.
//! 3. With the pointer read (the A-KID it names: `O`): retire `ak:{O}` if it is `S`'s and
//!    `O` is not `A`, then
//!    a compare-and-set sets `sub:{S}` to this registration's value (TTL as the record's)
//!    only if it still holds what was read (else read again, retire again): the atomic
//!    swap, whose previous value names the replaced A-KID. Crash after the retirement:
//!    `O` still resolves, through the pointer. From the swap on, `A` resolves and `O` does
//!    not, whatever happens next. A plain `SET … GET` would do the swap too, but the
//!    cluster client may still deliver a command after the call gave up at its deadline (it
//!    retries queued commands when the cluster comes back); a late unconditional swap
//!    could then put back an A-KID that a newer registration replaced. The compare-and-set
//!    applies only if nothing changed since it was read.
//! 4. Delete the replaced record if it is still `S`'s (a one-key script that checks the
//!    owner). Crash before it: the retired record stays unpointed until its TTL; it never
//!    resolves.
//! 5. At the same time as step 4: confirm `ak:{A}` (`P` → `C`) if it is still pending with
//!    step 2's nonce line. Crash before it: `A` stays pending and resolves through the
//!    pointer, at two round trips per lookup, until its next registration.
//!
//! `remove_by_supi(supi)`: `GET sub:{supi}`, retire the record it names, delete the pointer
//! if it still holds what was read (the A-KID stops resolving; a late delivery removes
//! nothing newer), then step 4 for that A-KID.
//!
//! A removal also turns the A-KID's service-disable subscriptions into outbox notices (id:
//! the A-KID and the callback URI, so queueing one twice is harmless): it queues them
//! before deleting the pointer, and again, from what the one-script deletion of the record
//! and `dis:{A}` returned, after. A crash cannot lose one whose removal was acknowledged. A
//! notice queued by a removal that then failed names an A-KID that still resolves; the
//! AAnF does not deliver such a notice (it retries it a while, then drops it). Queueing is
//! under the durability check; claiming, finishing and rescheduling are not (a claim lost in
//! a failover only means one more delivery: the outbox delivers at least once), and an empty
//! outbox is found with a read, so the replicas' look every second writes nothing.
//!
//! `get_by_a_kid(A, now)`: `GET ak:{A}`; a confirmed record live at `now` resolves; a
//! pending or retired one (or one of the first layout, without a state) resolves only if
//! `GET sub:{owner}` names `A`. A reader that saw the new A-KID resolve read it after the
//! swap (a confirmed record, or the swapped pointer), so after the old record's retirement:
//! every later read of the old A-KID finds it retired (or deleted) and reads a pointer that
//! names something else. The replaced A-KID never resolves again.
//!
//! Records and pointers of the first layout (no state line; the pointer the A-KID alone)
//! are read as retired records and as pointers naming that A-KID: correct, at two round
//! trips, until their subscriber's next registration.
//!
//! # Expiry
//!
//! Redis deletes records and pointers by TTL (a pointer's runs out after its record's: it
//! is written later with the same TTL, so a confirmed record never outlives its pointer).
//! The TTL is the context's lifetime
//! (`expires_at - registered_at`) plus [`TTL_SLACK_SECS`], counted from the write on the
//! Redis server's clock, so that it ends at or after `expires_at` for an AAnF clock that is
//! up to the slack behind Redis'; the liveness check at `now` still decides, so a context never
//! resolves after its expiry. Contexts without expiry have no TTL.
//!
//! # Failures
//!
//! A lost connection, a cluster that is down, a slot without a primary, or a call that
//! misses its deadline give [`StoreError::Backend`] (backend `"redis-cluster"`), which the
//! AAnF answers with 503 and `Retry-After`; never a wrong or stale answer. A registration
//! whose step 3 ran before the failure may already resolve: the caller was told nothing
//! was promised, and retrying it is safe (it replaces the context by itself).
//!
//! With the durability check, a write is acknowledged only after `wait` replicas of its own
//! shard hold it, so it survives a failover to one of them. Without it, a primary that dies
//! before replicating loses its last writes, as Redis Cluster does.
//!
//! # At rest
//!
//! K_AKMA is sealed exactly as in the SQLite backend ([`crate::seal`], the same associated
//! data), so a dump of the cluster holds no usable key.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use akma_core::ids::{AKid, Gpsi, Supi};
use async_trait::async_trait;
use redis::cluster::ClusterClient;
use redis::cluster_async::ClusterConnection;
use redis::cluster_routing::{
    MultipleNodeRoutingInfo, ResponsePolicy, Route, RoutingInfo, SingleNodeRoutingInfo, SlotAddr,
};
use redis::{RedisError, Value};

use crate::seal::{self, Binding, SealNonce, SealedKey};
use crate::{
    is_live, subscriber_id, AkmaContext, AkmaStore, DisableNotice, DisableSubscription, Kek,
    StoreError, Subscribed, MAX_DISABLE_SUBSCRIPTIONS,
};

/// The URL scheme of this backend.
pub const SCHEME: &str = "redis-cluster://";
/// The backend's name in [`StoreError::Backend`].
pub const BACKEND: &str = "redis-cluster";
/// Seconds added to every TTL beyond the context's lifetime (clock skew between the AAnF
/// and Redis; the liveness check at `now` still applies).
pub const TTL_SLACK_SECS: u64 = 60;
/// The first line of every A-KID record (format version 1).
const RECORD_MAGIC: &str = "akma-rec-v1";
/// How many times `register` retries steps 1–2 when the record changed in between.
const CAS_ATTEMPTS: usize = 3;
/// How many times step 3 (and a removal) retries its compare-and-set when the pointer
/// changed in between (concurrent registrations of one subscriber: each round one wins).
const POINTER_ATTEMPTS: usize = 100;

/// Settings of a [`RedisClusterStore`], usually from a URL ([`RedisClusterOptions::from_url`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisClusterOptions {
    /// Seed nodes, `host:port`.
    pub nodes: Vec<String>,
    /// Key prefix.
    pub prefix: String,
    /// The durability check: replicas that must acknowledge each write (0: no check).
    pub wait_replicas: u32,
    /// How long `WAIT` waits for them.
    pub wait_timeout: Duration,
    /// Deadline of every store call.
    pub op_timeout: Duration,
    /// Keep the expiry index (`expiry_index=1`; the AAnF sets it when
    /// `reauth_before_expiry_secs` is configured): [`AkmaStore::expiring`] works, at the cost
    /// of one more write per registration and removal.
    pub expiry_index: bool,
}

impl RedisClusterOptions {
    /// Options with defaults for these seed nodes.
    pub fn new(nodes: Vec<String>) -> Self {
        Self {
            nodes,
            prefix: "akma".into(),
            wait_replicas: 0,
            wait_timeout: Duration::from_millis(100),
            op_timeout: Duration::from_millis(2000),
            expiry_index: false,
        }
    }

    /// Parses `redis-cluster://host:port,host:port?wait=1&wait_timeout_ms=100&timeout_ms=2000&prefix=akma`
    /// (see the module documentation).
    pub fn from_url(url: &str) -> Result<Self, UrlError> {
        let bad = |why: String| UrlError(format!("store URL {url:?}: {why}"));
        let rest = url
            .strip_prefix(SCHEME)
            .ok_or_else(|| bad(format!("does not start with {SCHEME}")))?;
        let (hosts, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let mut nodes = Vec::new();
        for h in hosts.split(',') {
            let (host, port) = h
                .rsplit_once(':')
                .ok_or_else(|| bad(format!("node {h:?} is not host:port")))?;
            if host.is_empty() || port.parse::<u16>().map_or(true, |p| p == 0) {
                return Err(bad(format!("node {h:?} is not host:port")));
            }
            nodes.push(h.to_owned());
        }
        let mut o = Self::new(nodes);
        let ms = |k: &str, v: &str| -> Result<Duration, UrlError> {
            match v.parse::<u64>() {
                Ok(n @ 1..=60_000) => Ok(Duration::from_millis(n)),
                _ => Err(bad(format!("{k}={v:?}: expected 1 to 60000 milliseconds"))),
            }
        };
        for kv in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|s| !s.is_empty())
        {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            match k {
                "wait" => {
                    o.wait_replicas = v
                        .parse::<u32>()
                        .ok()
                        .filter(|n| *n <= 16)
                        .ok_or_else(|| bad(format!("wait={v:?}: expected 0 to 16 replicas")))?
                }
                "wait_timeout_ms" => o.wait_timeout = ms(k, v)?,
                "timeout_ms" => o.op_timeout = ms(k, v)?,
                "expiry_index" => {
                    o.expiry_index = match v {
                        "1" | "true" => true,
                        "0" | "false" => false,
                        _ => return Err(bad(format!("expiry_index={v:?}: expected 0 or 1"))),
                    }
                }
                "prefix" => {
                    if v.is_empty()
                        || !v
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
                    {
                        return Err(bad(format!(
                            "prefix={v:?}: use letters, digits, '_', '-' and '.'"
                        )));
                    }
                    o.prefix = v.to_owned()
                }
                other => {
                    return Err(bad(format!(
                    "unknown option {other:?} (known: wait, wait_timeout_ms, timeout_ms, prefix, expiry_index)"
                )))
                }
            }
        }
        Ok(o)
    }
}

/// A store URL that cannot be used: what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct UrlError(pub String);

/// Why a Redis operation failed (inside [`StoreError::Backend`]). Never carries key bytes
/// or record values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// Redis answered an error, or the connection failed.
    #[error("Redis failed while {during}: {source}")]
    Redis {
        /// The step.
        during: &'static str,
        /// The client's error.
        #[source]
        source: RedisError,
    },
    /// The call missed its deadline (the cluster is down, a slot has no primary, ...).
    #[error("no answer from the Redis Cluster within {after:?} while {during}")]
    Timeout {
        /// The step.
        during: &'static str,
        /// The deadline.
        after: Duration,
    },
    /// The durability check failed: fewer replicas than required acknowledged the write.
    #[error(
        "only {acked} of the required {wanted} replicas acknowledged the {what} write within \
         {timeout:?}; the write is not known to be durable"
    )]
    NotReplicated {
        /// `A-KID record`, `subscriber pointer`.
        what: &'static str,
        /// Replicas that acknowledged.
        acked: i64,
        /// Replicas required.
        wanted: u32,
        /// How long `WAIT` waited.
        timeout: Duration,
    },
    /// The A-KID record kept changing under a registration.
    #[error("the record or pointer kept changing under the operation; try again")]
    Contended,
    /// Redis answered something this backend does not expect.
    #[error("unexpected answer from Redis while {during}")]
    Unexpected {
        /// The step.
        during: &'static str,
    },
}

fn backend(e: RedisStoreError) -> StoreError {
    StoreError::Backend {
        backend: BACKEND,
        source: Arc::new(e),
    }
}

fn redis_err(during: &'static str) -> impl FnOnce(RedisError) -> StoreError {
    move |source| backend(RedisStoreError::Redis { during, source })
}

/// A Lua script, sent as `EVALSHA` (its SHA-1, computed once) and as `EVAL` only when a
/// node answers `NOSCRIPT` (a node that has not run it yet: new, restarted, promoted).
struct Lua {
    src: &'static str,
    sha: std::sync::OnceLock<String>,
}

impl Lua {
    const fn new(src: &'static str) -> Self {
        Self {
            src,
            sha: std::sync::OnceLock::new(),
        }
    }

    fn sha(&self) -> &str {
        self.sha
            .get_or_init(|| redis::Script::new(self.src).get_hash().to_owned())
    }
}

/// Whether `e` is a node's `NOSCRIPT` answer.
fn is_noscript(e: &StoreError) -> bool {
    let StoreError::Backend { source, .. } = e else {
        return false;
    };
    matches!(
        source.downcast_ref::<RedisStoreError>(),
        Some(RedisStoreError::Redis { source, .. }) if source.code() == Some("NOSCRIPT")
    )
}

/// Compare-and-set of one key: `ARGV[1]` = `1` if the key must hold `ARGV[2]`, `0` if it
/// must be absent; then set it to `ARGV[3]` with TTL `ARGV[4]` seconds (empty: none).
static CAS_SCRIPT: Lua = Lua::new(
    r"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if cur ~= ARGV[2] then return 0 end
elseif cur then
  return 0
end
if ARGV[4] == '' then
  redis.call('SET', KEYS[1], ARGV[3])
else
  redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[4])
end
return 1
",
);

/// Deletes the key if it holds exactly `ARGV[1]`.
static DEL_IF_EQ_SCRIPT: Lua = Lua::new(
    r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
",
);

/// Retires the A-KID record `KEYS[1]` if it is the subscriber's (its value starts with the
/// owner's header `ARGV[1]`) and marked pending or confirmed: its state (the last octet)
/// becomes `R`, so that it resolves only while its subscriber's pointer names it. The TTL
/// stays (`SETRANGE`). Answers 1 if it retired the record.
static RETIRE_SCRIPT: Lua = Lua::new(
    r"
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then return 0 end
local n = string.len(v)
local s = string.sub(v, n - 1)
if s == '\nP' or s == '\nC' then
  redis.call('SETRANGE', KEYS[1], n - 1, 'R')
  return 1
end
return 0
",
);

/// Confirms the A-KID record `KEYS[1]` if it is still the pending value this registration
/// wrote: pending, with the sealed key's nonce line `ARGV[1]` (newline, the 48 hex digits
/// of a random nonce, newline), which no other write shares. Its state becomes `C`.
/// Answers 1 if it confirmed it.
static CONFIRM_SCRIPT: Lua = Lua::new(
    r"
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
local n = string.len(v)
if string.sub(v, n - 1) == '\nP' and string.find(v, ARGV[1], 1, true) then
  redis.call('SETRANGE', KEYS[1], n - 1, 'C')
  return 1
end
return 0
",
);

/// Stores a service-disable subscription: `KEYS[1]` the A-KID record, `KEYS[2]` its `dis:`
/// hash (one slot); `ARGV` = callback URI, afId, the most URIs. Answers 0 without a record,
/// 2 when full, 1 when stored (the hash expires with the record).
static SUBSCRIBE_SCRIPT: Lua = Lua::new(
    r"
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 and
   redis.call('HLEN', KEYS[2]) >= tonumber(ARGV[3]) then
  return 2
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) else redis.call('PERSIST', KEYS[2]) end
return 1
",
);

/// Deletes the A-KID record `KEYS[1]` if its value starts with `ARGV[1]` (the owner's
/// header), and then its `dis:` hash `KEYS[2]`, returning the hash's fields and values
/// (empty if the record was not the owner's).
static DEL_RECORD_AND_SUBS_SCRIPT: Lua = Lua::new(
    r"
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, 1, string.len(ARGV[1])) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  local subs = redis.call('HGETALL', KEYS[2])
  redis.call('DEL', KEYS[2])
  return subs
end
return {}
",
);

/// Queues a notice: `KEYS` = outbox `n`, `due`, `att`; `ARGV` = id, notice, due time. A
/// notice already queued stays as it is.
static ENQUEUE_SCRIPT: Lua = Lua::new(
    r"
if redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
  redis.call('HSET', KEYS[3], ARGV[1], 0)
  return 1
end
return 0
",
);

/// Claims due notices: `KEYS` = outbox `n`, `due`, `att`; `ARGV` = now, lease until, limit.
/// Answers id, notice, attempts for each.
static CLAIM_SCRIPT: Lua = Lua::new(
    r"
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local v = redis.call('HGET', KEYS[1], id)
  if v then
    redis.call('ZADD', KEYS[2], ARGV[2], id)
    local a = redis.call('HINCRBY', KEYS[3], id, 1)
    table.insert(out, id)
    table.insert(out, v)
    table.insert(out, tostring(a))
  else
    redis.call('ZREM', KEYS[2], id)
  end
end
return out
",
);

/// Deletes a notice (`ARGV[1]`), or with `ARGV[2]` set makes it due then (only if queued).
static NOTICE_SCRIPT: Lua = Lua::new(
    r"
if ARGV[2] == '' then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  return 1
end
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  return 1
end
return 0
",
);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The bulk strings of an array answer.
/// Arrays, nested arrays (RESP3 pairs) and maps (RESP3 `HGETALL`) flattened in order: keys
/// and values in turn.
fn strings(v: Value, during: &'static str) -> Result<Vec<String>, StoreError> {
    fn flatten(v: Value, out: &mut Vec<String>, during: &'static str) -> Result<(), StoreError> {
        match v {
            Value::BulkString(b) => out.push(
                String::from_utf8(b)
                    .map_err(|_| backend(RedisStoreError::Unexpected { during }))?,
            ),
            Value::SimpleString(s) => out.push(s),
            Value::Int(n) => out.push(n.to_string()),
            Value::Double(d) => out.push(d.to_string()),
            Value::Array(items) => {
                for i in items {
                    flatten(i, out, during)?;
                }
            }
            Value::Map(pairs) => {
                for (k, v) in pairs {
                    flatten(k, out, during)?;
                    flatten(v, out, during)?;
                }
            }
            _ => return Err(backend(RedisStoreError::Unexpected { during })),
        }
        Ok(())
    }
    let mut out = Vec::new();
    match v {
        Value::Array(_) | Value::Map(_) => flatten(v, &mut out, during)?,
        _ => return Err(backend(RedisStoreError::Unexpected { during })),
    }
    Ok(out)
}

/// The (field, value) pairs of a flat answer.
fn pairs(f: Vec<String>) -> Vec<(String, String)> {
    let mut it = f.into_iter();
    let mut out = Vec::new();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((k, v));
    }
    out
}

/// The shards of the expiry index.
const EXPIRY_SHARDS: u64 = 16;

/// The expiry index shard of an A-KID (FNV-1a: only spreads A-KIDs over the shards).
fn expiry_shard(a_kid: &str) -> u64 {
    a_kid.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    }) % EXPIRY_SHARDS
}

/// The state of an A-KID record, its last line (see the module documentation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// `P`: written by a registration that has not finished; resolves only while its
    /// subscriber's pointer names it.
    Pending,
    /// `C`: its registration has moved the pointer to it and nothing has retired it since;
    /// resolves on its own.
    Confirmed,
    /// `R`: a registration or removal is replacing it; resolves only while the pointer
    /// names it.
    Retired,
    /// A record of the first layout, without a state line: as `Retired`.
    Unmarked,
}

/// A decoded A-KID record.
struct Record {
    owner: String,
    state: State,
    supi: Option<Supi>,
    gpsi: Option<Gpsi>,
    registered_at: u64,
    expires_at: Option<u64>,
    sealed: SealedKey,
}

/// The header a record of subscriber `owner` starts with (what step 4 checks).
fn owner_header(owner: &str) -> String {
    format!("{RECORD_MAGIC}\n{owner}\n")
}

/// Encodes a pending record: lines `magic, owner, SUPI, GPSI, registered_at, expires_at,
/// key id, nonce hex, sealed hex, state` (absent values empty; the state is `P`, one octet,
/// last, so that a script can change it in place). No identifier contains a newline.
fn encode_record(ctx: &AkmaContext, owner: &str, sealed: &SealedKey) -> String {
    format!(
        "{}{}\n{}\n{}\n{}\n{}\n{}\n{}\nP",
        owner_header(owner),
        ctx.supi.as_ref().map(|s| s.as_str()).unwrap_or(""),
        ctx.gpsi.as_ref().map(|g| g.to_string()).unwrap_or_default(),
        ctx.registered_at,
        ctx.expires_at.map(|e| e.to_string()).unwrap_or_default(),
        sealed.key_id,
        akma_core::hex::encode(sealed.nonce.as_bytes()),
        akma_core::hex::encode(&sealed.ciphertext),
    )
}

fn decode_record(a_kid: &str, raw: &[u8]) -> Result<Record, StoreError> {
    let corrupt = |reason: &str| StoreError::Corrupt {
        record: a_kid.to_owned(),
        reason: reason.to_owned(),
    };
    let text = std::str::from_utf8(raw).map_err(|_| corrupt("the record is not UTF-8"))?;
    let f: Vec<&str> = text.split('\n').collect();
    if !(f.len() == 9 || f.len() == 10) || f[0] != RECORD_MAGIC {
        return Err(corrupt("the record is not an A-KID record of format 1"));
    }
    let state = match f.get(9) {
        None => State::Unmarked,
        Some(&"P") => State::Pending,
        Some(&"C") => State::Confirmed,
        Some(&"R") => State::Retired,
        Some(_) => return Err(corrupt("the record's state is not P, C or R")),
    };
    let opt = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    let supi = opt(f[2])
        .map(|s| Supi::parse(&s))
        .transpose()
        .map_err(|_| corrupt("the stored SUPI is malformed"))?;
    let gpsi = opt(f[3])
        .map(|s| Gpsi::parse(&s))
        .transpose()
        .map_err(|_| corrupt("the stored GPSI is malformed"))?;
    let registered_at = f[4]
        .parse()
        .map_err(|_| corrupt("registered_at is not a number"))?;
    let expires_at = opt(f[5])
        .map(|s| s.parse::<u64>())
        .transpose()
        .map_err(|_| corrupt("expires_at is not a number"))?;
    let key_id = f[6]
        .parse()
        .map_err(|_| corrupt("the key id is not a number"))?;
    let nonce = akma_core::hex::decode(f[7])
        .ok()
        .and_then(|n| SealNonce::from_slice(&n))
        .ok_or_else(|| corrupt("the nonce is malformed"))?;
    let ciphertext =
        akma_core::hex::decode(f[8]).map_err(|_| corrupt("the sealed key is not hex"))?;
    let owner = f[1].to_owned();
    let derived = subscriber_id(supi.as_ref(), gpsi.as_ref())
        .map_err(|_| corrupt("the record has neither a SUPI nor a GPSI"))?;
    if derived != owner {
        return Err(corrupt("the record's owner does not match its identities"));
    }
    Ok(Record {
        owner,
        state,
        supi,
        gpsi,
        registered_at,
        expires_at,
        sealed: SealedKey {
            key_id,
            nonce,
            ciphertext,
        },
    })
}

/// The subscriber pointer's value for a registration of `a_kid`: the A-KID, a newline and
/// 16 hex digits of the sealed key's random nonce, so that no two registrations write the
/// same value (a compare-and-set of the pointer then cannot mistake a newer registration of
/// the same A-KID for the one it read).
fn pointer_value(a_kid: &str, sealed: &SealedKey) -> String {
    let n = sealed.nonce.as_bytes();
    format!("{a_kid}\n{}", akma_core::hex::encode(&n[..n.len().min(8)]))
}

/// The A-KID a pointer value names (a pointer of the first layout is the A-KID alone).
fn pointer_names(raw: &[u8]) -> &[u8] {
    raw.split(|b| *b == b'\n').next().unwrap_or(raw)
}

/// The TTL of a context's keys, seconds (`None`: no expiry).
fn ttl_secs(ctx: &AkmaContext) -> Option<u64> {
    ctx.expires_at.map(|e| {
        e.saturating_sub(ctx.registered_at)
            .saturating_add(TTL_SLACK_SECS)
    })
}

/// Where a test stops a `register` (see `testsuite::unpointed_record_never_resolves`).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopAfter {
    /// After step 2.
    RecordWritten,
    /// After step 3's retirement of the current record, before the swap.
    OldRetired,
    /// After step 3 (the swap).
    PointerMoved,
    /// After step 4's deletion of the replaced record, before step 5 (the confirmation).
    OldDeleted,
    /// Run every step.
    Never,
}

/// The Redis Cluster backend of [`AkmaStore`] (see the module documentation).
#[derive(Clone)]
pub struct RedisClusterStore {
    conn: ClusterConnection,
    kek: Kek,
    opts: Arc<RedisClusterOptions>,
}

impl fmt::Debug for RedisClusterStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisClusterStore")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl RedisClusterStore {
    /// Connects to the cluster (within the options' deadline) and checks that every
    /// primary answers.
    pub async fn connect(opts: RedisClusterOptions, kek: Kek) -> Result<Self, StoreError> {
        let urls: Vec<String> = opts.nodes.iter().map(|n| format!("redis://{n}")).collect();
        let per_try = opts.op_timeout.min(Duration::from_millis(1000));
        let client = ClusterClient::builder(urls)
            .connection_timeout(per_try)
            .response_timeout(opts.op_timeout.max(opts.wait_timeout + per_try))
            .retries(3)
            .min_retry_wait(20)
            .max_retry_wait(200)
            .build()
            .map_err(redis_err("configuring the cluster client"))?;
        let conn = tokio::time::timeout(opts.op_timeout, client.get_async_connection())
            .await
            .map_err(|_| {
                backend(RedisStoreError::Timeout {
                    during: "connecting",
                    after: opts.op_timeout,
                })
            })?
            .map_err(redis_err("connecting"))?;
        let s = Self {
            conn,
            kek,
            opts: Arc::new(opts),
        };
        s.ready().await?;
        s.deadline("checking the key-encryption key", s.check_kek())
            .await?;
        Ok(s)
    }

    /// The KEK check at connect, as the embedded store's at open: the hash
    /// `PREFIX:kek:{check}` holds, per key id, a fixed value sealed under that KEK. A
    /// replica with a wrong KEK (same id, another key) is refused with
    /// [`StoreError::WrongKek`], one with an id older than the newest seen with
    /// [`StoreError::KekRetired`], instead of starting and failing on every context. The
    /// first replica with a new id writes its value (`HSETNX`: of two starting at once, one
    /// writes and both check that one).
    async fn check_kek(&self) -> Result<(), StoreError> {
        let during = "checking the key-encryption key";
        let key = format!("{}:kek:{{check}}", self.opts.prefix);
        let aad = crate::sqlite::check_aad();
        let len = akma_core::keys::KAkma::LEN;
        let read = || async {
            let mut rows = Vec::new();
            for (id, value) in self.hgetall(&key, during).await? {
                let id: u32 = id.parse().map_err(|_| StoreError::Corrupt {
                    record: "kek-check".into(),
                    reason: "a key id that is not a number".into(),
                })?;
                rows.push((id, value));
            }
            Ok::<_, StoreError>(rows)
        };
        let corrupt = |reason: &str| StoreError::Corrupt {
            record: "kek-check".into(),
            reason: reason.to_owned(),
        };
        let opens = |value: &str| -> Result<bool, StoreError> {
            let (n, sealed) = value
                .split_once(':')
                .ok_or_else(|| corrupt("not nonce:sealed"))?;
            let nonce = akma_core::hex::decode(n)
                .ok()
                .and_then(|n| SealNonce::from_slice(&n))
                .ok_or_else(|| corrupt("the nonce is malformed"))?;
            let mut buf =
                akma_core::hex::decode(sealed).map_err(|_| corrupt("the value is not hex"))?;
            if buf.len() != len + 16 {
                return Err(corrupt("the value has the wrong length"));
            }
            let tag: [u8; 16] = buf[len..].try_into().map_err(|_| corrupt("no tag"))?;
            buf.truncate(len);
            Ok(self
                .kek
                .open_in_place(self.kek.key_id(), &nonce, &aad, &mut buf, &tag)
                .is_ok())
        };
        let mut rows = read().await?;
        if !rows.iter().any(|(id, _)| *id == self.kek.key_id()) {
            let newest = rows.iter().map(|(id, _)| *id).max();
            if let Some(current) = newest.filter(|n| self.kek.key_id() < *n) {
                return Err(StoreError::KekRetired {
                    configured: self.kek.key_id(),
                    current,
                });
            }
            let mut buf = vec![0u8; len];
            let (nonce, tag) =
                self.kek
                    .seal_in_place(&aad, &mut buf)
                    .map_err(|e| StoreError::Encode {
                        what: "the KEK check value",
                        reason: e.to_string(),
                    })?;
            buf.extend_from_slice(&tag);
            let value = format!(
                "{}:{}",
                akma_core::hex::encode(nonce.as_bytes()),
                akma_core::hex::encode(&buf)
            );
            let mut cmd = redis::cmd("HSETNX");
            cmd.arg(&key).arg(self.kek.key_id()).arg(value);
            // No durability check: a value lost in a failover is written again by the next
            // replica to connect.
            self.run(cmd, &key, None, during).await?;
            rows = read().await?;
        }
        let newest = rows.iter().map(|(id, _)| *id).max();
        if let Some(current) = newest.filter(|n| self.kek.key_id() < *n) {
            return Err(StoreError::KekRetired {
                configured: self.kek.key_id(),
                current,
            });
        }
        match rows.iter().find(|(id, _)| *id == self.kek.key_id()) {
            Some((_, v)) if opens(v)? => Ok(()),
            Some(_) => Err(StoreError::WrongKek {
                key_id: self.kek.key_id(),
            }),
            None => Err(backend(RedisStoreError::Unexpected { during })),
        }
    }

    /// The options in use.
    pub fn options(&self) -> &RedisClusterOptions {
        &self.opts
    }

    /// The key of the A-KID record of `a_kid`.
    pub fn record_key(&self, a_kid: &str) -> String {
        format!("{}:ak:{{{a_kid}}}", self.opts.prefix)
    }

    /// The key of the subscriber pointer of `subscriber` ([`AkmaContext::subscriber_id`]).
    pub fn pointer_key(&self, subscriber: &str) -> String {
        format!("{}:sub:{{{subscriber}}}", self.opts.prefix)
    }

    async fn deadline<T>(
        &self,
        during: &'static str,
        f: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.opts.op_timeout, f)
            .await
            .unwrap_or_else(|_| {
                Err(backend(RedisStoreError::Timeout {
                    during,
                    after: self.opts.op_timeout,
                }))
            })
    }

    async fn get(&self, key: &str, during: &'static str) -> Result<Option<Vec<u8>>, StoreError> {
        let mut c = self.conn.clone();
        redis::cmd("GET")
            .arg(key)
            .query_async(&mut c)
            .await
            .map_err(redis_err(during))
    }

    /// Runs a one-key script; with the durability check, in one pipeline with `WAIT` on
    /// the key's primary. Returns the script's integer answer.
    async fn eval_key(
        &self,
        script: &Lua,
        key: &str,
        args: &[&[u8]],
        durable: Option<&'static str>,
        during: &'static str,
    ) -> Result<i64, StoreError> {
        match self.eval(script, &[key], args, durable, during).await? {
            Value::Int(n) => Ok(n),
            _ => Err(backend(RedisStoreError::Unexpected { during })),
        }
    }

    /// Runs `script` on `keys` (one slot; the first routes it) with `args`, under the
    /// durability check if `durable` (see [`Self::run`]).
    async fn eval(
        &self,
        script: &Lua,
        keys: &[&str],
        args: &[&[u8]],
        durable: Option<&'static str>,
        during: &'static str,
    ) -> Result<Value, StoreError> {
        let route = keys.first().copied().unwrap_or_default();
        let build = |verb: &str, body: &str| {
            let mut cmd = redis::cmd(verb);
            cmd.arg(body).arg(keys.len());
            for k in keys {
                cmd.arg(*k);
            }
            for a in args {
                cmd.arg(*a);
            }
            cmd
        };
        match self
            .run(build("EVALSHA", script.sha()), route, durable, during)
            .await
        {
            Err(e) if is_noscript(&e) => {
                self.run(build("EVAL", script.src), route, durable, during)
                    .await
            }
            r => r,
        }
    }

    /// Sends `cmd` (whose key is `key`). With `durable = Some(what)` and the durability
    /// check configured, sends `cmd` and `WAIT` as one pipeline to the primary of `key`'s
    /// slot (so `WAIT` counts the replicas of the shard that holds this write, on the
    /// connection that made it) and fails unless enough replicas acknowledged.
    async fn run(
        &self,
        cmd: redis::Cmd,
        key: &str,
        durable: Option<&'static str>,
        during: &'static str,
    ) -> Result<Value, StoreError> {
        let mut c = self.conn.clone();
        let Some(what) = durable.filter(|_| self.opts.wait_replicas > 0) else {
            // An error answer may come back as a value (`NOSCRIPT` does): an error all the same.
            return match c
                .route_command(cmd, route_of(key))
                .await
                .map_err(redis_err(during))?
            {
                Value::ServerError(e) => Err(redis_err(during)(RedisError::from(e))),
                v => Ok(v),
            };
        };
        let mut p = redis::pipe();
        p.add_command(cmd);
        p.cmd("WAIT")
            .arg(self.opts.wait_replicas)
            .arg(self.opts.wait_timeout.as_millis() as u64);
        let node = SingleNodeRoutingInfo::SpecificNode(Route::with_key(key, SlotAddr::Master));
        let mut out = c
            .route_pipeline(p, 0, 2, node)
            .await
            .map_err(redis_err(during))?;
        let (Some(acked), Some(v)) = (out.pop(), out.pop()) else {
            return Err(backend(RedisStoreError::Unexpected { during }));
        };
        if let Value::ServerError(e) = &v {
            return Err(redis_err(during)(RedisError::from(e.clone())));
        }
        let acked = match acked {
            Value::Int(n) => n,
            _ => return Err(backend(RedisStoreError::Unexpected { during })),
        };
        if acked < i64::from(self.opts.wait_replicas) {
            return Err(backend(RedisStoreError::NotReplicated {
                what,
                acked,
                wanted: self.opts.wait_replicas,
                timeout: self.opts.wait_timeout,
            }));
        }
        Ok(v)
    }

    /// `register` up to `stop` (tests stage crashes between the steps with it).
    #[doc(hidden)]
    pub async fn register_until(
        &self,
        ctx: AkmaContext,
        stop: StopAfter,
    ) -> Result<Option<AKid>, StoreError> {
        let owner = ctx.subscriber_id()?;
        let a_kid = ctx.a_kid.as_str();
        let rec_key = self.record_key(a_kid);
        let ptr_key = self.pointer_key(&owner);
        let sealed = seal::seal(&self.kek, &ctx)?;
        let value = encode_record(&ctx, &owner, &sealed);
        let ptr_value = pointer_value(a_kid, &sealed);
        let ttl = ttl_secs(&ctx).map(|t| t.to_string()).unwrap_or_default();
        // The first reads of steps 1 and 3 at once: they touch different slots, and each
        // is only the expectation of a compare-and-set (read again if it fails).
        let (rec0, ptr0) = tokio::join!(
            self.get(&rec_key, "reading the A-KID record"),
            self.get(&ptr_key, "reading the subscriber pointer"),
        );
        let mut next_rec = Some(rec0?);
        let mut next_ptr = Some(ptr0?);
        let mut written = false;
        for _ in 0..CAS_ATTEMPTS {
            // Step 1: who holds this A-KID now?
            let cur = match next_rec.take() {
                Some(c) => c,
                None => self.get(&rec_key, "reading the A-KID record").await?,
            };
            if let Some(raw) = &cur {
                // An undecodable record resolves for nobody: it is overwritten.
                if let Ok(holder) = decode_record(a_kid, raw) {
                    if holder.owner != owner {
                        let holder_ptr_key = self.pointer_key(&holder.owner);
                        let ptr = self
                            .get(&holder_ptr_key, "reading the holder's subscriber pointer")
                            .await?;
                        let pointed = ptr
                            .as_deref()
                            .is_some_and(|p| pointer_names(p) == a_kid.as_bytes());
                        if pointed && is_live(holder.expires_at, ctx.registered_at) {
                            return Err(StoreError::AKidConflict {
                                a_kid: ctx.a_kid.clone(),
                            });
                        }
                        if let (true, Some(p)) = (pointed, &ptr) {
                            // The expired holder gives the A-KID up entirely (its record
                            // retired first: no pointer goes before its record is).
                            self.eval_key(
                                &RETIRE_SCRIPT,
                                &rec_key,
                                &[owner_header(&holder.owner).as_bytes()],
                                Some("retired A-KID record"),
                                "retiring the expired holder's A-KID record",
                            )
                            .await?;
                            self.eval_key(
                                &DEL_IF_EQ_SCRIPT,
                                &holder_ptr_key,
                                &[p],
                                Some("subscriber pointer"),
                                "dropping the expired holder's pointer",
                            )
                            .await?;
                        }
                    }
                }
            }
            // Step 2: write the record, pending, if it is still what step 1 read.
            let (expect, expected): (&[u8], &[u8]) = match &cur {
                Some(raw) => (b"1", raw),
                None => (b"0", b""),
            };
            let ok = self
                .eval_key(
                    &CAS_SCRIPT,
                    &rec_key,
                    &[expect, expected, value.as_bytes(), ttl.as_bytes()],
                    Some("A-KID record"),
                    "writing the A-KID record",
                )
                .await?;
            if ok == 1 {
                written = true;
                break;
            }
        }
        if !written {
            return Err(backend(RedisStoreError::Contended));
        }
        if stop == StopAfter::RecordWritten {
            return Ok(None);
        }
        // Step 3: retire the record the pointer names, then swap the pointer to this
        // registration's value, as a compare-and-set (see the module docs).
        let header = owner_header(&owner);
        let mut old = None;
        let mut swapped = false;
        for _ in 0..POINTER_ATTEMPTS {
            let cur = match next_ptr.take() {
                Some(c) => c,
                None => self.get(&ptr_key, "reading the subscriber pointer").await?,
            };
            let named = cur
                .as_deref()
                .map(|raw| {
                    std::str::from_utf8(pointer_names(raw)).map_err(|_| StoreError::Corrupt {
                        record: ptr_key.clone(),
                        reason: "the subscriber pointer is not UTF-8".into(),
                    })
                })
                .transpose()?;
            // A pointer that names this A-KID already keeps naming it: step 2 has replaced
            // that record by this pending one, and nothing needs retiring (retiring it would
            // only keep this registration from confirming its own record).
            if let Some(n) = named.filter(|n| *n != a_kid) {
                self.eval_key(
                    &RETIRE_SCRIPT,
                    &self.record_key(n),
                    &[header.as_bytes()],
                    Some("retired A-KID record"),
                    "retiring the replaced A-KID record",
                )
                .await?;
            }
            if stop == StopAfter::OldRetired {
                return Ok(None);
            }
            let (expect, expected): (&[u8], &[u8]) = match &cur {
                Some(raw) => (b"1", raw),
                None => (b"0", b""),
            };
            let ok = self
                .eval_key(
                    &CAS_SCRIPT,
                    &ptr_key,
                    &[expect, expected, ptr_value.as_bytes(), ttl.as_bytes()],
                    Some("subscriber pointer"),
                    "swapping the subscriber pointer",
                )
                .await?;
            if ok == 1 {
                old = named.map(str::to_owned);
                swapped = true;
                break;
            }
        }
        if !swapped {
            return Err(backend(RedisStoreError::Contended));
        }
        if stop == StopAfter::PointerMoved {
            return Ok(None);
        }
        // Step 4, housekeeping: the replaced record goes; the expiry index (AAnF-triggered
        // re-authentication) follows, for contexts with a SUPI.
        let replaced = old.as_deref().filter(|o| *o != a_kid);
        let housekeeping = async {
            if let Some(o) = replaced {
                self.delete_record_of(o, &owner).await?;
                if self.opts.expiry_index {
                    self.index_expiry(o, None).await?;
                }
            }
            if let (true, Some(exp), Some(_)) = (self.opts.expiry_index, ctx.expires_at, &ctx.supi)
            {
                self.index_expiry(a_kid, Some(exp)).await?;
            }
            Ok::<_, StoreError>(())
        };
        if stop == StopAfter::OldDeleted {
            housekeeping.await?;
            return Ok(None);
        }
        // Step 5: confirm the record, if nothing has retired or replaced it since the swap.
        // No durability check: a confirmation lost in a failover leaves the record
        // pending, which still resolves through the pointer.
        let nonce_line = format!("\n{}\n", akma_core::hex::encode(sealed.nonce.as_bytes()));
        let written = [nonce_line.as_bytes()];
        let confirm = self.eval_key(
            &CONFIRM_SCRIPT,
            &rec_key,
            &written,
            None,
            "confirming the A-KID record",
        );
        let (h, c) = tokio::join!(housekeeping, confirm);
        h?;
        c?;
        old.map(|o| {
            AKid::parse(&o).map_err(|_| StoreError::Corrupt {
                record: ptr_key.clone(),
                reason: "the subscriber pointer does not hold an A-KID".into(),
            })
        })
        .transpose()
    }

    /// Deletes `a_kid`'s record if it is still `owner`'s, with its service-disable
    /// subscriptions, and returns those (callback URI, afId).
    async fn delete_record_of(
        &self,
        a_kid: &str,
        owner: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let during = "deleting an A-KID record";
        let rec_key = self.record_key(a_kid);
        let subs_key = self.subs_key(a_kid);
        let header = owner_header(owner);
        let v = self
            .eval(
                &DEL_RECORD_AND_SUBS_SCRIPT,
                &[&rec_key, &subs_key],
                &[header.as_bytes()],
                None,
                during,
            )
            .await?;
        Ok(pairs(strings(v, during)?))
    }

    /// The expiry index shard holding `a_kid`.
    pub fn expiry_key(&self, a_kid: &str) -> String {
        format!("{}:exp:{{e{}}}", self.opts.prefix, expiry_shard(a_kid))
    }

    /// Adds `a_kid` to the expiry index with expiry `exp`, or removes it (`None`).
    async fn index_expiry(&self, a_kid: &str, exp: Option<u64>) -> Result<(), StoreError> {
        let key = self.expiry_key(a_kid);
        let cmd = match exp {
            Some(e) => {
                let mut c = redis::cmd("ZADD");
                c.arg(&key).arg(e).arg(a_kid);
                c
            }
            None => {
                let mut c = redis::cmd("ZREM");
                c.arg(&key).arg(a_kid);
                c
            }
        };
        // No durability check: a member lost in a failover only means one trigger fewer
        // (the context then expires as it would without the feature).
        self.run(cmd, &key, None, "updating the expiry index")
            .await
            .map(|_| ())
    }

    /// The key of an A-KID's service-disable subscriptions (in its record's slot).
    pub fn subs_key(&self, a_kid: &str) -> String {
        format!("{}:dis:{{{a_kid}}}", self.opts.prefix)
    }

    fn outbox_keys(&self) -> [String; 3] {
        let p = &self.opts.prefix;
        [
            format!("{p}:ob:{{outbox}}:n"),
            format!("{p}:ob:{{outbox}}:due"),
            format!("{p}:ob:{{outbox}}:att"),
        ]
    }

    async fn eval_outbox(
        &self,
        script: &Lua,
        args: &[&[u8]],
        durable: bool,
        during: &'static str,
    ) -> Result<Value, StoreError> {
        let [n, due, att] = self.outbox_keys();
        self.eval(
            script,
            &[&n, &due, &att],
            args,
            durable.then_some("notification outbox"),
            during,
        )
        .await
    }

    /// Queues notices of `a_kid` for these (callback URI, afId) pairs.
    async fn enqueue(&self, a_kid: &str, subs: &[(String, String)]) -> Result<(), StoreError> {
        let now = unix_now();
        for (uri, af_id) in subs {
            let id = format!("{a_kid}\n{uri}");
            let notice = format!("{a_kid}\n{af_id}\n{uri}\n{now}");
            self.eval_outbox(
                &ENQUEUE_SCRIPT,
                &[id.as_bytes(), notice.as_bytes(), now.to_string().as_bytes()],
                true,
                "queueing a service-disable notification",
            )
            .await?;
        }
        Ok(())
    }

    async fn subscriptions(&self, a_kid: &str) -> Result<Vec<(String, String)>, StoreError> {
        let during = "reading service-disable subscriptions";
        self.hgetall(&self.subs_key(a_kid), during).await
    }

    /// `HGETALL key`: its (field, value) pairs.
    async fn hgetall(
        &self,
        key: &str,
        during: &'static str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut c = self.conn.clone();
        let v = c
            .route_command(redis::cmd("HGETALL").arg(key).clone(), route_of(key))
            .await
            .map_err(redis_err(during))?;
        Ok(pairs(strings(v, during)?))
    }

    async fn lookup(&self, a_kid: &AKid, now: u64) -> Result<Option<AkmaContext>, StoreError> {
        let Some(raw) = self
            .get(&self.record_key(a_kid.as_str()), "reading the A-KID record")
            .await?
        else {
            return Ok(None);
        };
        let r = decode_record(a_kid.as_str(), &raw)?;
        if !is_live(r.expires_at, now) {
            return Ok(None);
        }
        // A confirmed record resolves on its own (its subscriber's pointer names it until a
        // registration or removal retires it); any other only while the pointer names it.
        if r.state != State::Confirmed {
            let ptr = self
                .get(
                    &self.pointer_key(&r.owner),
                    "reading the subscriber pointer",
                )
                .await?;
            if ptr.as_deref().map(pointer_names) != Some(a_kid.as_str().as_bytes()) {
                return Ok(None);
            }
        }
        let binding = Binding {
            supi: r.supi.as_ref(),
            gpsi: r.gpsi.as_ref(),
            a_kid: a_kid.as_str(),
            registered_at: r.registered_at,
            expires_at: r.expires_at,
        };
        let k_akma = seal::open(&self.kek, &r.sealed, &binding)?;
        Ok(Some(AkmaContext {
            supi: r.supi,
            gpsi: r.gpsi,
            a_kid: a_kid.clone(),
            k_akma,
            registered_at: r.registered_at,
            expires_at: r.expires_at,
        }))
    }

    /// `remove_by_subscriber`, or with `stop_after_retire` only its steps up to the
    /// retirement of the record (tests stage a crash there with it).
    #[doc(hidden)]
    pub async fn remove_until(
        &self,
        subscriber_id: &str,
        stop_after_retire: bool,
    ) -> Result<bool, StoreError> {
        let ptr_key = self.pointer_key(subscriber_id);
        let header = owner_header(subscriber_id);
        for _ in 0..POINTER_ATTEMPTS {
            let Some(cur) = self.get(&ptr_key, "reading the subscriber pointer").await? else {
                return Ok(false);
            };
            let named = std::str::from_utf8(pointer_names(&cur)).ok();
            if let Some(a) = named {
                // Queue the notices before the context stops resolving (see the module
                // docs), then retire the record so that it resolves only through the
                // pointer, which goes next.
                let subs = self.subscriptions(a).await?;
                self.enqueue(a, &subs).await?;
                self.eval_key(
                    &RETIRE_SCRIPT,
                    &self.record_key(a),
                    &[header.as_bytes()],
                    Some("retired A-KID record"),
                    "retiring the removed A-KID record",
                )
                .await?;
            }
            if stop_after_retire {
                return Ok(false);
            }
            let deleted = self
                .eval_key(
                    &DEL_IF_EQ_SCRIPT,
                    &ptr_key,
                    &[&cur],
                    Some("subscriber pointer"),
                    "deleting the subscriber pointer",
                )
                .await?;
            if deleted == 1 {
                if let Some(old) = named {
                    let subs = self.delete_record_of(old, subscriber_id).await?;
                    self.enqueue(old, &subs).await?;
                    if self.opts.expiry_index {
                        self.index_expiry(old, None).await?;
                    }
                }
                return Ok(true);
            }
        }
        Err(backend(RedisStoreError::Contended))
    }
}

/// Routes a one-key command to the primary of the key's slot.
fn route_of(key: &str) -> RoutingInfo {
    RoutingInfo::SingleNode(SingleNodeRoutingInfo::SpecificNode(Route::with_key(
        key,
        SlotAddr::Master,
    )))
}

#[async_trait]
impl AkmaStore for RedisClusterStore {
    async fn register(&self, ctx: AkmaContext) -> Result<Option<AKid>, StoreError> {
        self.deadline("registering", self.register_until(ctx, StopAfter::Never))
            .await
    }

    async fn get_by_a_kid(
        &self,
        a_kid: &AKid,
        now: u64,
    ) -> Result<Option<AkmaContext>, StoreError> {
        self.deadline("looking up an A-KID", self.lookup(a_kid, now))
            .await
    }

    async fn get_by_subscriber(
        &self,
        subscriber_id: &str,
        now: u64,
    ) -> Result<Option<AkmaContext>, StoreError> {
        self.deadline("looking up a subscriber's context", async {
            let Some(ptr) = self
                .get(
                    &self.pointer_key(subscriber_id),
                    "reading the subscriber pointer",
                )
                .await?
            else {
                return Ok(None);
            };
            // A pointer that names no A-KID resolves to nothing, as in `lookup`.
            let Some(a_kid) = std::str::from_utf8(pointer_names(&ptr))
                .ok()
                .and_then(|t| AKid::parse(t).ok())
            else {
                return Ok(None);
            };
            // `lookup` checks the pointer again: the answer is the context that resolves.
            Ok(self
                .lookup(&a_kid, now)
                .await?
                .filter(|c| c.subscriber_id().ok().as_deref() == Some(subscriber_id)))
        })
        .await
    }

    async fn remove_by_subscriber(&self, subscriber_id: &str) -> Result<bool, StoreError> {
        self.deadline(
            "removing a context",
            self.remove_until(subscriber_id, false),
        )
        .await
    }

    /// With `expiry_index`: the contexts expiring in `(after, until]`, soonest first, each
    /// **claimed** (removed from the index with `ZREM`, so that of several replicas asking at
    /// once exactly one gets it; [`AkmaStore::release_expiring`] puts one back). Members
    /// expired at `after`, and members that no longer resolve, are pruned on the way.
    async fn expiring(
        &self,
        after: u64,
        until: u64,
        limit: usize,
    ) -> Result<Vec<crate::Expiring>, StoreError> {
        if !self.opts.expiry_index {
            return Err(StoreError::Unsupported(
                "this Redis store keeps no expiry index (URL option expiry_index=1)",
            ));
        }
        let during = "listing contexts nearing expiry";
        self.deadline(during, async {
            let mut candidates: Vec<(u64, String)> = Vec::new();
            for shard in 0..EXPIRY_SHARDS {
                let key = format!("{}:exp:{{e{shard}}}", self.opts.prefix);
                let mut prune = redis::cmd("ZREMRANGEBYSCORE");
                prune.arg(&key).arg("-inf").arg(after);
                self.run(prune, &key, None, during).await?;
                let mut range = redis::cmd("ZRANGEBYSCORE");
                range
                    .arg(&key)
                    .arg(format!("({after}"))
                    .arg(until)
                    .arg("WITHSCORES")
                    .arg("LIMIT")
                    .arg(0)
                    .arg(limit);
                let v = self.run(range, &key, None, during).await?;
                for (member, score) in pairs(strings(v, during)?) {
                    let score = score.parse::<f64>().unwrap_or(0.0) as u64;
                    candidates.push((score, member));
                }
            }
            candidates.sort();
            let mut out = Vec::new();
            for (exp, a) in candidates {
                if out.len() >= limit {
                    break;
                }
                let key = self.expiry_key(&a);
                let mut zrem = redis::cmd("ZREM");
                zrem.arg(&key).arg(&a);
                let claimed = self.run(zrem, &key, None, during).await?;
                if claimed != Value::Int(1) {
                    continue; // another replica has it
                }
                let Ok(a_kid) = AKid::parse(&a) else {
                    continue;
                };
                // Replaced or removed since (no resolving context): pruned.
                if let Some(ctx) = self.lookup(&a_kid, after).await? {
                    if let Some(supi) = ctx.supi {
                        out.push(crate::Expiring {
                            supi,
                            a_kid,
                            expires_at: ctx.expires_at.unwrap_or(exp),
                        });
                    }
                }
            }
            Ok(out)
        })
        .await
    }

    async fn release_expiring(&self, e: &crate::Expiring) -> Result<(), StoreError> {
        if !self.opts.expiry_index {
            return Ok(());
        }
        self.deadline(
            "putting a context back in the expiry index",
            self.index_expiry(e.a_kid.as_str(), Some(e.expires_at)),
        )
        .await
    }

    async fn subscribe_disable(
        &self,
        sub: &DisableSubscription,
        now: u64,
    ) -> Result<Subscribed, StoreError> {
        self.deadline("storing a service-disable subscription", async {
            if self.lookup(&sub.a_kid, now).await?.is_none() {
                return Ok(Subscribed::NoContext);
            }
            let during = "storing a service-disable subscription";
            let a = sub.a_kid.as_str();
            let rec_key = self.record_key(a);
            let subs_key = self.subs_key(a);
            let max = MAX_DISABLE_SUBSCRIPTIONS.to_string();
            match self
                .eval(
                    &SUBSCRIBE_SCRIPT,
                    &[&rec_key, &subs_key],
                    &[
                        sub.notif_uri.as_bytes(),
                        sub.af_id.as_bytes(),
                        max.as_bytes(),
                    ],
                    Some("service-disable subscription"),
                    during,
                )
                .await?
            {
                Value::Int(1) => Ok(Subscribed::Stored),
                Value::Int(2) => Ok(Subscribed::Full),
                Value::Int(0) => Ok(Subscribed::NoContext),
                _ => Err(backend(RedisStoreError::Unexpected { during })),
            }
        })
        .await
    }

    async fn claim_notices(
        &self,
        now: u64,
        lease_until: u64,
        limit: usize,
    ) -> Result<Vec<DisableNotice>, StoreError> {
        let during = "claiming service-disable notifications";
        self.deadline(during, async {
            // A read first: an empty outbox (the usual case, looked at every second by every
            // replica) costs no script. Claims, finishes and reschedules go without `WAIT`:
            // one lost in a failover only means a notice delivered once more (the outbox
            // delivers at least once); queueing a notice is what must not be lost.
            let due_key = &self.outbox_keys()[1];
            let mut peek = redis::cmd("ZRANGEBYSCORE");
            peek.arg(due_key)
                .arg("-inf")
                .arg(now)
                .arg("LIMIT")
                .arg(0)
                .arg(1);
            let none_due = match self.run(peek, due_key, None, during).await? {
                Value::Array(a) => a.is_empty(),
                _ => return Err(backend(RedisStoreError::Unexpected { during })),
            };
            if none_due {
                return Ok(Vec::new());
            }
            let v = self
                .eval_outbox(
                    &CLAIM_SCRIPT,
                    &[
                        now.to_string().as_bytes(),
                        lease_until.to_string().as_bytes(),
                        limit.to_string().as_bytes(),
                    ],
                    false,
                    during,
                )
                .await?;
            let f = strings(v, during)?;
            let mut out = Vec::new();
            for c in f.chunks_exact(3) {
                let parts: Vec<&str> = c[1].split('\n').collect();
                let corrupt = || StoreError::Corrupt {
                    record: "a notification outbox entry".into(),
                    reason: "not a notice of format 1".into(),
                };
                let [a_kid, af_id, uri, created] = parts[..] else {
                    return Err(corrupt());
                };
                out.push(DisableNotice {
                    id: c[0].clone(),
                    a_kid: AKid::parse(a_kid).map_err(|_| corrupt())?,
                    af_id: af_id.to_owned(),
                    notif_uri: uri.to_owned(),
                    attempts: c[2].parse().unwrap_or(u32::MAX),
                    created_at: created.parse().map_err(|_| corrupt())?,
                });
            }
            Ok(out)
        })
        .await
    }

    async fn finish_notice(&self, id: &str) -> Result<(), StoreError> {
        let during = "deleting a service-disable notification";
        self.deadline(during, async {
            self.eval_outbox(&NOTICE_SCRIPT, &[id.as_bytes(), b""], false, during)
                .await
                .map(|_| ())
        })
        .await
    }

    async fn retry_notice(&self, id: &str, due_at: u64) -> Result<(), StoreError> {
        let during = "rescheduling a service-disable notification";
        self.deadline(during, async {
            self.eval_outbox(
                &NOTICE_SCRIPT,
                &[id.as_bytes(), due_at.to_string().as_bytes()],
                false,
                during,
            )
            .await
            .map(|_| ())
        })
        .await
    }

    async fn ready(&self) -> Result<(), StoreError> {
        self.deadline("checking readiness", async {
            let mut c = self.conn.clone();
            let routing = RoutingInfo::MultiNode((
                MultipleNodeRoutingInfo::AllMasters,
                Some(ResponsePolicy::AllSucceeded),
            ));
            c.route_command(redis::cmd("PING"), routing)
                .await
                .map(|_| ())
                .map_err(redis_err("pinging every primary"))
        })
        .await
    }

    async fn flush(&self) -> Result<(), StoreError> {
        // Every acknowledged write is already in Redis; its persistence is the cluster's.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_forms() {
        let o = RedisClusterOptions::from_url("redis-cluster://127.0.0.1:7000,h2:7001").unwrap();
        assert_eq!(o.nodes, vec!["127.0.0.1:7000", "h2:7001"]);
        assert_eq!(o.prefix, "akma");
        assert_eq!(o.wait_replicas, 0);
        assert_eq!(o.op_timeout, Duration::from_millis(2000));
        let o = RedisClusterOptions::from_url(
            "redis-cluster://h:1?wait=1&wait_timeout_ms=250&timeout_ms=500&prefix=t-1",
        )
        .unwrap();
        assert_eq!(o.wait_replicas, 1);
        assert_eq!(o.wait_timeout, Duration::from_millis(250));
        assert_eq!(o.op_timeout, Duration::from_millis(500));
        assert_eq!(o.prefix, "t-1");
        for bad in [
            "redis://h:1",
            "redis-cluster://h",
            "redis-cluster://h:0",
            "redis-cluster://:7000",
            "redis-cluster://h:1?wait=x",
            "redis-cluster://h:1?timeout_ms=0",
            "redis-cluster://h:1?prefix={x}",
            "redis-cluster://h:1?colour=red",
        ] {
            let e = RedisClusterOptions::from_url(bad).unwrap_err().to_string();
            assert!(e.contains("store URL"), "{bad}: {e}");
        }
    }

    #[test]
    fn record_round_trip_and_owner_check() {
        let kek = Kek::from_hex(&"11".repeat(32)).unwrap();
        let mut ctx = AkmaContext {
            supi: Some(Supi::parse("imsi-001010000000001").unwrap()),
            gpsi: Some(Gpsi::parse("msisdn-491700000001").unwrap()),
            a_kid: AKid::parse("0.abc@5gc.mnc001.mcc001.3gppnetwork.org").unwrap(),
            k_akma: akma_core::keys::KAkma::from_bytes([0x5a; 32]),
            registered_at: 1_700_000_000,
            expires_at: None,
        };
        ctx.expires_at = Some(ctx.registered_at + 10);
        let owner = ctx.subscriber_id().unwrap();
        let sealed = seal::seal(&kek, &ctx).unwrap();
        let v = encode_record(&ctx, &owner, &sealed);
        assert!(v.starts_with(&owner_header(&owner)));
        let r = decode_record(ctx.a_kid.as_str(), v.as_bytes()).unwrap();
        assert_eq!(r.owner, owner);
        assert_eq!(r.expires_at, ctx.expires_at);
        assert_eq!(r.sealed, sealed);
        assert_eq!(ttl_secs(&ctx), Some(10 + TTL_SLACK_SECS));
        // A record whose owner line was changed is corrupt.
        let moved = v.replacen(&owner, "imsi-001019999999999", 1);
        assert!(matches!(
            decode_record(ctx.a_kid.as_str(), moved.as_bytes()),
            Err(StoreError::Corrupt { .. })
        ));
    }
}
