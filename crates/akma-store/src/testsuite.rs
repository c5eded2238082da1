//! The conformance suite every [`AkmaStore`] backend runs (feature `testsuite`).
//!
//! Each property is one `pub async fn` that takes a fresh, empty store as
//! `Arc<dyn AkmaStore>` (so the suite also proves the trait object works) and panics with a
//! description of what differed. [`run_all`] runs every backend-independent property, each
//! on a store of its own. Properties that need to reopen a store or to edit its storage
//! behind its back take closures from the backend's test:
//! [`persists_across_reopen`], [`wrong_kek_is_refused`], [`tampering_is_detected`] and
//! [`unpointed_record_never_resolves`].
//!
//! The suite needs a multi-threaded Tokio runtime (`#[tokio::test(flavor = "multi_thread")]`).
//!
//! ```ignore
//! #[tokio::test(flavor = "multi_thread")]
//! async fn conformance() {
//!     akma_store::testsuite::run_all(|| async { Arc::new(MyStore::new()) as DynStore }).await;
//! }
//! ```
// A test suite: an `unwrap()` that fails is a test failure, reported by its panic.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeSet, HashSet};
use std::future::Future;
use std::sync::Arc;

use std::sync::atomic::{AtomicBool, Ordering};

use akma_core::ids::{AKid, ATid, Gpsi, HomeNetwork, Plmn, RoutingIndicator, Supi};
use akma_core::keys::KAkma;

use crate::{
    AkmaContext, AkmaStore, DisableNotice, DisableSubscription, Kek, StoreError, Subscribed,
    MAX_DISABLE_SUBSCRIPTIONS,
};

/// A store as the suite uses it.
pub type DynStore = Arc<dyn AkmaStore>;

/// The registration time the suite's contexts carry (unix seconds).
pub const T0: u64 = 1_700_000_000;

/// The `i`-th test SUPI: `imsi-00101` followed by `i` in 10 digits.
pub fn supi(i: u64) -> Supi {
    Supi::parse(&format!("imsi-00101{i:010}")).expect("valid test SUPI")
}

/// The `i`-th test GPSI: `msisdn-4917` followed by `i` in 10 digits.
pub fn gpsi(i: u64) -> Gpsi {
    Gpsi::parse(&format!("msisdn-4917{i:010}")).expect("valid test GPSI")
}

/// A distinct, well-formed A-KID for each `(tag, i)`, in the home network 001-01.
pub fn a_kid(tag: u8, i: u64) -> AKid {
    let mut t = [0x3c; 32];
    t[0] = tag;
    t[1..9].copy_from_slice(&i.to_be_bytes());
    AKid::new(
        &RoutingIndicator::none_provisioned(),
        &ATid(t),
        &HomeNetwork::Plmn(Plmn::new("001", "01").expect("valid PLMN")),
    )
}

/// A distinct K_AKMA for each `(tag, i)`.
pub fn key(tag: u8, i: u64) -> KAkma {
    let mut k = [0xa5; 32];
    k[0] = tag;
    k[1..9].copy_from_slice(&i.to_le_bytes());
    KAkma::from_bytes(k)
}

/// A context for `supi(i)` with A-KID and key `(tag, i)`, registered at [`T0`], no expiry.
pub fn context(tag: u8, i: u64) -> AkmaContext {
    AkmaContext {
        supi: Some(supi(i)),
        gpsi: None,
        a_kid: a_kid(tag, i),
        k_akma: key(tag, i),
        registered_at: T0,
        expires_at: None,
    }
}

/// Asserts that `got` is `Some` and equal to `want` in every field, key bytes included.
pub fn assert_context(got: Option<AkmaContext>, want: &AkmaContext, what: &str) {
    let got = got.unwrap_or_else(|| panic!("{what}: expected {want:?}, got None"));
    assert_eq!(got.supi, want.supi, "{what}: SUPI");
    assert_eq!(got.gpsi, want.gpsi, "{what}: GPSI");
    assert_eq!(got.a_kid, want.a_kid, "{what}: A-KID");
    assert_eq!(
        got.k_akma.expose_secret(),
        want.k_akma.expose_secret(),
        "{what}: K_AKMA bytes"
    );
    assert_eq!(
        got.registered_at, want.registered_at,
        "{what}: registered_at"
    );
    assert_eq!(got.expires_at, want.expires_at, "{what}: expires_at");
}

async fn get(s: &DynStore, a_kid: &AKid, now: u64) -> Option<AkmaContext> {
    s.get_by_a_kid(a_kid, now)
        .await
        .unwrap_or_else(|e| panic!("get_by_a_kid({a_kid}) failed: {e}"))
}

/// Asserts the store's count is `n`, if the backend keeps one ([`AkmaStore::count`]).
async fn assert_count(s: &DynStore, n: u64, what: &str) {
    if let Some(got) = s.count().await.expect("count") {
        assert_eq!(got, n, "count: {what}");
    }
}

/// Register, then look up by A-KID: it gives the registered context with the same key
/// bytes; unknown A-KIDs give `None`.
pub async fn register_then_lookup(s: DynStore) {
    assert_count(&s, 0, "the store must start empty").await;
    let mut c = context(1, 1);
    c.gpsi = Some(gpsi(1));
    c.expires_at = Some(T0 + 3600);
    let replaced = s.register(c.clone()).await.expect("register");
    assert_eq!(replaced, None, "first registration replaces nothing");
    assert_context(get(&s, &c.a_kid, T0).await, &c, "lookup by A-KID");
    assert_count(&s, 1, "one registered").await;
    assert!(get(&s, &a_kid(1, 2), T0).await.is_none(), "unknown A-KID");
    // The A-KID is an exact string key (conventions.md): no case folding.
    let upper = AKid::parse(&c.a_kid.as_str().to_ascii_uppercase()).unwrap();
    assert!(s.get_by_a_kid(&upper, T0).await.unwrap().is_none());
}

/// A second registration for the same SUPI replaces the first atomically: the old A-KID
/// no longer resolves, the new one does, the count stays 1.
pub async fn reregister_replaces(s: DynStore) {
    let old = context(1, 7);
    let new = context(2, 7);
    assert_eq!(s.register(old.clone()).await.unwrap(), None);
    let replaced = s.register(new.clone()).await.expect("re-register");
    assert_eq!(
        replaced,
        Some(old.a_kid.clone()),
        "returns the replaced A-KID"
    );
    assert!(
        get(&s, &old.a_kid, T0).await.is_none(),
        "old A-KID must stop resolving"
    );
    assert_context(get(&s, &new.a_kid, T0).await, &new, "new A-KID");
    assert_count(&s, 1, "after replace").await;
    // Registering the very same context again replaces it by itself.
    assert_eq!(
        s.register(new.clone()).await.unwrap(),
        Some(new.a_kid.clone())
    );
    assert_context(get(&s, &new.a_kid, T0).await, &new, "same context twice");
    assert_count(&s, 1, "same context twice").await;
}

/// Contexts with only a GPSI: they resolve by A-KID, replace each other by GPSI, and are a
/// different subscriber from a SUPI context carrying the same GPSI.
pub async fn gpsi_only_contexts(s: DynStore) {
    let g1 = AkmaContext {
        supi: None,
        gpsi: Some(gpsi(5)),
        ..context(1, 5)
    };
    assert_eq!(s.register(g1.clone()).await.unwrap(), None);
    assert_context(get(&s, &g1.a_kid, T0).await, &g1, "GPSI-only by A-KID");

    // Same GPSI, no SUPI: the same subscriber, so it replaces.
    let g2 = AkmaContext {
        supi: None,
        gpsi: Some(gpsi(5)),
        ..context(2, 5)
    };
    assert_eq!(
        s.register(g2.clone()).await.unwrap(),
        Some(g1.a_kid.clone())
    );
    assert!(get(&s, &g1.a_kid, T0).await.is_none());
    assert_context(get(&s, &g2.a_kid, T0).await, &g2, "replaced GPSI-only");

    // A context with a SUPI and the same GPSI is keyed by its SUPI: both coexist.
    let with_supi = AkmaContext {
        gpsi: Some(gpsi(5)),
        ..context(3, 5)
    };
    assert_eq!(s.register(with_supi.clone()).await.unwrap(), None);
    assert_context(get(&s, &g2.a_kid, T0).await, &g2, "GPSI-only kept");
    assert_context(get(&s, &with_supi.a_kid, T0).await, &with_supi, "SUPI+GPSI");
    assert_count(&s, 2, "GPSI-only and SUPI+GPSI").await;
    // A later GPSI-only registration replaces the GPSI-only one, not the SUPI one.
    let later = AkmaContext {
        supi: None,
        gpsi: Some(gpsi(5)),
        registered_at: T0 + 5,
        ..context(4, 5)
    };
    assert_eq!(
        s.register(later.clone()).await.unwrap(),
        Some(g2.a_kid.clone())
    );
    assert_context(get(&s, &with_supi.a_kid, T0).await, &with_supi, "SUPI kept");
    // Put the plain GPSI-only context back for the removal check.
    assert_eq!(
        s.register(g2.clone()).await.unwrap(),
        Some(later.a_kid.clone())
    );
    // Removing by SUPI leaves the GPSI-only context alone.
    assert!(s.remove_by_supi(&supi(5)).await.unwrap());
    assert!(get(&s, &with_supi.a_kid, T0).await.is_none(), "removed");
    assert_context(get(&s, &g2.a_kid, T0).await, &g2, "GPSI-only after remove");
    assert_count(&s, 1, "after remove").await;
    // A context known only by GPSI is removed by its GPSI.
    assert!(s.remove_by_subscriber(&gpsi(5).to_string()).await.unwrap());
    assert!(get(&s, &g2.a_kid, T0).await.is_none(), "GPSI-only removed");
    assert!(!s.remove_by_subscriber(&gpsi(5).to_string()).await.unwrap());
    assert_count(&s, 0, "after removing the GPSI-only context").await;
}

/// `get_by_subscriber` gives the subscriber's current context (by SUPI text, or by GPSI
/// text for a context without a SUPI), follows re-registrations, and gives nothing for an
/// expired, removed or unknown subscriber.
pub async fn lookup_by_subscriber(s: DynStore) {
    let by = |id: String| {
        let s = s.clone();
        async move {
            s.get_by_subscriber(&id, T0)
                .await
                .unwrap_or_else(|e| panic!("get_by_subscriber({id}) failed: {e}"))
        }
    };
    let old = context(1, 3);
    let new = context(2, 3);
    s.register(old.clone()).await.unwrap();
    assert_context(by(supi(3).as_str().into()).await, &old, "by SUPI");
    s.register(new.clone()).await.unwrap();
    assert_context(
        by(supi(3).as_str().into()).await,
        &new,
        "by SUPI after re-registration",
    );
    assert!(by(supi(4).as_str().into()).await.is_none(), "unknown SUPI");
    // A GPSI-only context is found by its GPSI; a SUPI context is not found by its GPSI.
    let g = AkmaContext {
        supi: None,
        gpsi: Some(gpsi(6)),
        ..context(1, 6)
    };
    s.register(g.clone()).await.unwrap();
    assert_context(by(gpsi(6).to_string()).await, &g, "by GPSI");
    let mut with_gpsi = context(1, 7);
    with_gpsi.gpsi = Some(gpsi(7));
    s.register(with_gpsi).await.unwrap();
    assert!(by(gpsi(7).to_string()).await.is_none(), "keyed by its SUPI");
    // Expired: nothing; removed: nothing.
    let mut short = context(1, 8);
    short.expires_at = Some(T0 + 10);
    s.register(short.clone()).await.unwrap();
    assert_context(by(supi(8).as_str().into()).await, &short, "live");
    assert!(s
        .get_by_subscriber(supi(8).as_str(), T0 + 10)
        .await
        .unwrap()
        .is_none());
    assert!(s.remove_by_supi(&supi(3)).await.unwrap());
    assert!(by(supi(3).as_str().into()).await.is_none(), "removed");
}

/// A context with neither SUPI nor GPSI is refused and nothing is stored.
pub async fn register_needs_an_identity(s: DynStore) {
    let c = AkmaContext {
        supi: None,
        gpsi: None,
        ..context(1, 9)
    };
    match s.register(c.clone()).await {
        Err(StoreError::InvalidContext(_)) => {}
        other => panic!("expected InvalidContext, got {other:?}"),
    }
    assert!(get(&s, &c.a_kid, T0).await.is_none());
    assert_count(&s, 0, "nothing stored").await;
}

/// `remove_by_supi` removes the context (its A-KID stops resolving), reports whether it
/// removed anything, and leaves other subscribers alone.
pub async fn remove(s: DynStore) {
    let a = context(1, 1);
    let b = context(1, 2);
    s.register(a.clone()).await.unwrap();
    s.register(b.clone()).await.unwrap();
    assert!(s.remove_by_supi(&supi(1)).await.unwrap(), "removed");
    assert!(get(&s, &a.a_kid, T0).await.is_none());
    assert!(
        !s.remove_by_supi(&supi(1)).await.unwrap(),
        "second remove finds nothing"
    );
    assert!(!s.remove_by_supi(&supi(3)).await.unwrap(), "unknown SUPI");
    assert_context(get(&s, &b.a_kid, T0).await, &b, "other subscriber kept");
    assert_count(&s, 1, "after remove").await;
    // A removed subscriber can register again.
    assert_eq!(s.register(context(2, 1)).await.unwrap(), None);
    assert_count(&s, 2, "registered again").await;
}

/// The current time, unix seconds (the outbox is scheduled in real time).
fn wall() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A service-disable subscription of `a_kid` for callback `n`.
pub fn disable_sub(a_kid: &AKid, n: u32) -> DisableSubscription {
    DisableSubscription {
        a_kid: a_kid.clone(),
        af_id: format!("af{n}.example.com"),
        notif_uri: format!("https://af{n}.example.com/akma/disable/{n}"),
    }
}

fn sorted(mut v: Vec<DisableNotice>) -> Vec<DisableNotice> {
    v.sort_by(|a, b| a.notif_uri.cmp(&b.notif_uri));
    v
}

/// Service disable: subscriptions need a resolving A-KID, are bounded per A-KID, vanish
/// silently when the context is replaced, and become outbox notices exactly when it is
/// removed; a claimed notice is leased, then due again with one more attempt, until it is
/// rescheduled or finished.
pub async fn service_disable_outbox(s: DynStore) {
    let a = context(1, 1);
    let b = context(1, 2);
    let c = context(1, 3);
    for x in [&a, &b, &c] {
        s.register(x.clone()).await.unwrap();
    }
    let now = wall();
    assert_eq!(
        s.subscribe_disable(&disable_sub(&context(9, 9).a_kid, 1), T0)
            .await
            .unwrap(),
        Subscribed::NoContext,
        "unknown A-KID"
    );
    for n in [1, 2, 1] {
        assert_eq!(
            s.subscribe_disable(&disable_sub(&a.a_kid, n), T0)
                .await
                .unwrap(),
            Subscribed::Stored
        );
    }
    assert_eq!(
        s.subscribe_disable(&disable_sub(&b.a_kid, 1), T0)
            .await
            .unwrap(),
        Subscribed::Stored
    );
    // The bound, on c: one more URI is refused, an existing one is still accepted.
    for n in 0..MAX_DISABLE_SUBSCRIPTIONS as u32 {
        assert_eq!(
            s.subscribe_disable(&disable_sub(&c.a_kid, 100 + n), T0)
                .await
                .unwrap(),
            Subscribed::Stored
        );
    }
    assert_eq!(
        s.subscribe_disable(&disable_sub(&c.a_kid, 99), T0)
            .await
            .unwrap(),
        Subscribed::Full
    );
    assert_eq!(
        s.subscribe_disable(&disable_sub(&c.a_kid, 100), T0)
            .await
            .unwrap(),
        Subscribed::Stored
    );
    assert!(
        s.claim_notices(now + 5, now + 30, 100)
            .await
            .unwrap()
            .is_empty(),
        "no removal, no notice"
    );
    // b is replaced by a re-authentication: its subscription goes, silently.
    s.register(context(2, 2)).await.unwrap();
    assert!(s.remove_by_supi(&supi(2)).await.unwrap());
    assert!(
        s.claim_notices(now + 5, now + 30, 100)
            .await
            .unwrap()
            .is_empty(),
        "the replaced A-KID's subscription does not outlive it"
    );
    // a is removed: one notice per callback URI.
    assert!(s.remove_by_supi(&supi(1)).await.unwrap());
    let got = sorted(s.claim_notices(now + 5, now + 30, 100).await.unwrap());
    assert_eq!(got.len(), 2, "{got:?}");
    for (g, n) in got.iter().zip([1, 2]) {
        let want = disable_sub(&a.a_kid, n);
        assert_eq!(
            (&g.a_kid, &g.af_id, &g.notif_uri, g.attempts),
            (&want.a_kid, &want.af_id, &want.notif_uri, 1)
        );
        assert!(
            g.created_at + 60 >= now && g.created_at <= now + 60,
            "{}",
            g.created_at
        );
    }
    assert!(
        s.claim_notices(now + 29, now + 60, 100)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let again = sorted(s.claim_notices(now + 30, now + 60, 100).await.unwrap());
    assert_eq!(
        again
            .iter()
            .map(|n| (n.id.as_str(), n.attempts))
            .collect::<Vec<_>>(),
        got.iter().map(|n| (n.id.as_str(), 2)).collect::<Vec<_>>(),
        "due again after the lease, one more attempt"
    );
    s.finish_notice(&got[1].id).await.unwrap();
    s.retry_notice(&got[0].id, now + 100).await.unwrap();
    assert!(s
        .claim_notices(now + 99, now + 200, 100)
        .await
        .unwrap()
        .is_empty());
    let last = s.claim_notices(now + 100, now + 200, 100).await.unwrap();
    assert_eq!(last.len(), 1);
    assert_eq!(
        (last[0].id.as_str(), last[0].attempts),
        (got[0].id.as_str(), 3)
    );
    s.finish_notice(&got[0].id).await.unwrap();
    assert!(s
        .claim_notices(now + 10_000, now + 20_000, 100)
        .await
        .unwrap()
        .is_empty());
    // A limit is honoured: c's removal queues one notice per URI.
    assert!(s.remove_by_supi(&supi(3)).await.unwrap());
    let first = s.claim_notices(now + 5, now + 30, 10).await.unwrap();
    assert_eq!(first.len(), 10);
    let rest = s.claim_notices(now + 5, now + 30, 100).await.unwrap();
    assert_eq!(rest.len(), MAX_DISABLE_SUBSCRIPTIONS - 10);
    // An expired context takes no subscription.
    let mut short = context(3, 4);
    short.expires_at = Some(T0 + 10);
    s.register(short.clone()).await.unwrap();
    assert_eq!(
        s.subscribe_disable(&disable_sub(&short.a_kid, 1), T0 + 10)
            .await
            .unwrap(),
        Subscribed::NoContext
    );
}

/// [`AkmaStore::expiring`]: the contexts with a SUPI whose expiry is in `(after, until]`,
/// soonest first, at most `limit`, only those that still resolve (a replaced or removed
/// context is not listed). A backend that `claims` returns each context once until it is
/// released; one that does not returns the same list at every call. Run on a store that
/// keeps an expiry index.
pub async fn expiring_lists_contexts_nearing_expiry(s: DynStore, claims: bool) {
    let at = |tag: u8, i: u64, exp: Option<u64>| {
        let mut c = context(tag, i);
        c.expires_at = exp;
        c
    };
    let a = at(1, 1, Some(T0 + 100));
    let b = at(1, 2, Some(T0 + 200));
    let never = at(1, 3, None);
    let mut gpsi_only = at(1, 4, Some(T0 + 150));
    gpsi_only.supi = None;
    gpsi_only.gpsi = Some(gpsi(4));
    let early = at(1, 5, Some(T0 + 50));
    let late = at(1, 6, Some(T0 + 400));
    for c in [&a, &b, &never, &gpsi_only, &early, &late] {
        s.register(c.clone()).await.unwrap();
    }
    let list = |limit: usize| {
        let s = s.clone();
        async move {
            s.expiring(T0 + 60, T0 + 250, limit)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.a_kid.to_string(), e.supi.to_string(), e.expires_at))
                .collect::<Vec<_>>()
        }
    };
    let want = |c: &AkmaContext| {
        (
            c.a_kid.to_string(),
            c.supi.as_ref().unwrap().to_string(),
            c.expires_at.unwrap(),
        )
    };
    if claims {
        assert_eq!(list(1).await, vec![want(&a)], "the soonest first, limited");
        assert_eq!(list(10).await, vec![want(&b)], "a is claimed");
        assert!(list(10).await.is_empty(), "both claimed");
        // A released context is listed again.
        let e = crate::Expiring {
            supi: a.supi.clone().unwrap(),
            a_kid: a.a_kid.clone(),
            expires_at: a.expires_at.unwrap(),
        };
        s.release_expiring(&e).await.unwrap();
        assert_eq!(list(10).await, vec![want(&a)]);
        s.release_expiring(&e).await.unwrap();
    } else {
        assert_eq!(list(1).await, vec![want(&a)]);
        assert_eq!(list(10).await, vec![want(&a), want(&b)]);
        assert_eq!(list(10).await, vec![want(&a), want(&b)], "the same again");
    }
    // A replaced context (a re-authentication) and a removed one are not listed.
    s.register(at(2, 1, Some(T0 + 300))).await.unwrap();
    assert!(s.remove_by_supi(&supi(2)).await.unwrap());
    assert!(list(10).await.is_empty(), "{:?}", list(10).await);
    // The new context of subscriber 1 is listed in its window.
    let got = s.expiring(T0 + 250, T0 + 350, 10).await.unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].a_kid, context(2, 1).a_kid);
}

/// Expiry: a context resolves before `expires_at` and not at or after it, whether or not
/// the backend has deleted it yet; contexts without expiry resolve at any time.
pub async fn expiry(s: DynStore) {
    let mut short = context(1, 1);
    short.expires_at = Some(T0 + 10);
    let mut long = context(1, 2);
    long.expires_at = Some(T0 + 1000);
    let forever = context(1, 3);
    for c in [&short, &long, &forever] {
        s.register(c.clone()).await.unwrap();
    }
    assert_context(get(&s, &short.a_kid, T0 + 9).await, &short, "before expiry");
    assert!(get(&s, &short.a_kid, T0 + 10).await.is_none(), "at expiry");
    assert!(
        get(&s, &short.a_kid, T0 + 11).await.is_none(),
        "after expiry"
    );
    assert_context(get(&s, &long.a_kid, T0 + 10).await, &long, "long lives on");
    assert!(
        get(&s, &long.a_kid, T0 + 1000).await.is_none(),
        "long at expiry"
    );
    assert_context(
        get(&s, &forever.a_kid, u64::MAX).await,
        &forever,
        "no expiry",
    );
}

/// An A-KID that belongs to another subscriber's live context: `AKidConflict`, and neither
/// context changes. An expired holder is replaced instead.
pub async fn a_kid_conflict_changes_nothing(s: DynStore) {
    let a = context(1, 1);
    let b_old = context(1, 2);
    s.register(a.clone()).await.unwrap();
    s.register(b_old.clone()).await.unwrap();
    let thief = AkmaContext {
        a_kid: a.a_kid.clone(),
        ..context(9, 2)
    };
    match s.register(thief).await {
        Err(StoreError::AKidConflict { a_kid }) => assert_eq!(a_kid, a.a_kid),
        other => panic!("expected AKidConflict, got {other:?}"),
    }
    assert_context(get(&s, &a.a_kid, T0).await, &a, "holder unchanged");
    assert_context(
        get(&s, &b_old.a_kid, T0).await,
        &b_old,
        "thief's old context kept",
    );
    assert_count(&s, 2, "after the conflict").await;

    // A holder that has expired by the new registration's time gives the A-KID up.
    let mut e = context(1, 3);
    e.expires_at = Some(T0 + 10);
    s.register(e.clone()).await.unwrap();
    let heir = AkmaContext {
        a_kid: e.a_kid.clone(),
        registered_at: T0 + 10,
        ..context(2, 4)
    };
    assert_eq!(s.register(heir.clone()).await.unwrap(), None);
    assert_context(get(&s, &e.a_kid, T0 + 10).await, &heir, "new holder");
    // The old holder's context is gone: supi(3) can register a new A-KID and replaces
    // nothing.
    assert_eq!(
        s.register(context(3, 3)).await.unwrap(),
        None,
        "old holder gone"
    );
    assert_count(&s, 4, "heir, a, b and supi(3) again").await;
}

/// `n` registrations of different subscribers from `n` concurrent tasks all land: each
/// returns `Ok(None)` and afterwards each resolves with its own key.
pub async fn concurrent_registrations(s: DynStore, n: u64) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { s.register(context(4, i)).await }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let r = t.await.expect("task");
        assert_eq!(r.unwrap_or_else(|e| panic!("register {i}: {e}")), None);
    }
    assert_count(&s, n, "concurrent registrations").await;
    let mut tasks = Vec::new();
    for i in 0..n {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let got = s.get_by_a_kid(&a_kid(4, i), T0).await.unwrap();
            assert_context(got, &context(4, i), "concurrent registration");
        }));
    }
    for t in tasks {
        t.await.expect("lookup task");
    }
}

/// `n` concurrent registrations for ONE subscriber: exactly one context survives, and the
/// replaced A-KIDs the calls returned form a chain through every other registration (each
/// A-KID but the surviving one was replaced exactly once), so the replaces were atomic.
pub async fn concurrent_reregistrations(s: DynStore, n: u64) {
    let mut tasks = Vec::new();
    for i in 0..n {
        let s = s.clone();
        let c = AkmaContext {
            supi: Some(supi(77)),
            ..context(5, i)
        };
        tasks.push(tokio::spawn(async move { s.register(c).await }));
    }
    let mut replaced = Vec::new();
    for t in tasks {
        if let Some(r) = t.await.expect("task").expect("register") {
            replaced.push(r.as_str().to_owned());
        }
    }
    assert_count(&s, 1, "one subscriber").await;
    let all: BTreeSet<String> = (0..n).map(|i| a_kid(5, i).as_str().to_owned()).collect();
    let replaced_set: HashSet<&String> = replaced.iter().collect();
    // The survivor is the one A-KID nobody replaced.
    let survivors: Vec<&String> = all.iter().filter(|a| !replaced_set.contains(a)).collect();
    assert_eq!(survivors.len(), 1, "exactly one A-KID was not replaced");
    let current = get(&s, &AKid::parse(survivors[0]).unwrap(), T0)
        .await
        .expect("one context survives");
    assert_eq!(current.supi, Some(supi(77)));
    assert_eq!(
        replaced.len() as u64,
        n - 1,
        "every call but the first replaced one"
    );
    assert_eq!(
        replaced_set.len(),
        replaced.len(),
        "no A-KID replaced twice"
    );
    assert!(!replaced_set.contains(&current.a_kid.as_str().to_owned()));
    for a in &all {
        let resolves = get(&s, &AKid::parse(a).unwrap(), T0).await.is_some();
        assert_eq!(resolves, *a == current.a_kid.as_str(), "{a} resolves?");
    }
}

/// `ready` and `flush` succeed on a working store and change nothing.
pub async fn ready_and_flush(s: DynStore) {
    s.ready().await.expect("ready");
    let c = context(1, 1);
    s.register(c.clone()).await.unwrap();
    s.flush().await.expect("flush");
    s.ready().await.expect("ready after flush");
    assert_context(get(&s, &c.a_kid, T0).await, &c, "after flush");
    assert_count(&s, 1, "after flush").await;
}

/// Error messages carry identifiers, never key bytes.
pub async fn errors_name_no_keys(s: DynStore) {
    let a = context(1, 1);
    s.register(a.clone()).await.unwrap();
    let thief = AkmaContext {
        a_kid: a.a_kid.clone(),
        ..context(2, 2)
    };
    let e = s.register(thief.clone()).await.unwrap_err();
    let text = format!("{e} {e:?}");
    assert!(text.contains(a.a_kid.as_str()), "names the A-KID: {text}");
    for k in [&a.k_akma, &thief.k_akma] {
        assert!(!text.contains(k.expose_hex().as_str()), "key hex in {text}");
    }
}

/// Runs every backend-independent property, each on a fresh store from `make`, including
/// 500 concurrent registrations and 50 concurrent re-registrations of one subscriber.
pub async fn run_all<F, Fut>(mut make: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = DynStore>,
{
    register_then_lookup(make().await).await;
    reregister_replaces(make().await).await;
    gpsi_only_contexts(make().await).await;
    lookup_by_subscriber(make().await).await;
    register_needs_an_identity(make().await).await;
    remove(make().await).await;
    service_disable_outbox(make().await).await;
    expiry(make().await).await;
    a_kid_conflict_changes_nothing(make().await).await;
    concurrent_registrations(make().await, 500).await;
    concurrent_reregistrations(make().await, 50).await;
    replaced_a_kid_never_resolves_again(make().await, 20, 4).await;
    ready_and_flush(make().await).await;
    errors_name_no_keys(make().await).await;
}

/// Acknowledged writes survive closing and reopening: `open` opens the SAME storage each
/// time. The first store is dropped without `flush`, so this also checks that `register`
/// and `remove_by_supi` were durable when they returned.
pub async fn persists_across_reopen<F, Fut>(mut open: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = DynStore>,
{
    let n = 200;
    let mut want = Vec::new();
    {
        let s = open().await;
        for i in 0..n {
            let mut c = context(6, i);
            if i % 3 == 0 {
                c.expires_at = Some(T0 + 100 + i);
            }
            if i % 5 == 0 {
                c.gpsi = Some(gpsi(i));
            }
            if i % 7 == 0 {
                c.supi = None;
                c.gpsi = Some(gpsi(i));
            }
            s.register(c.clone()).await.unwrap();
            want.push(c);
        }
        // A subscription on the one removed below: its notice survives the reopen.
        assert_eq!(
            s.subscribe_disable(&disable_sub(&want[2].a_kid, 7), T0)
                .await
                .unwrap(),
            Subscribed::Stored
        );
        // Replace one, remove one.
        let replacement = context(7, 1);
        assert_eq!(
            s.register(replacement.clone()).await.unwrap(),
            Some(want[1].a_kid.clone())
        );
        want[1] = replacement;
        assert!(s.remove_by_supi(&supi(2)).await.unwrap());
        want.remove(2);
        assert_count(&s, n - 1, "before reopen").await;
    }
    let s = open().await;
    assert_count(&s, n - 1, "after reopen").await;
    let notices = s.claim_notices(wall() + 5, wall() + 60, 10).await.unwrap();
    assert_eq!(notices.len(), 1, "the removal's notice survives");
    assert_eq!(notices[0].a_kid, context(6, 2).a_kid);
    assert_eq!(
        notices[0].notif_uri,
        disable_sub(&context(6, 2).a_kid, 7).notif_uri
    );
    for c in &want {
        assert_context(get(&s, &c.a_kid, T0).await, c, "after reopen");
    }
    assert!(
        get(&s, &context(6, 1).a_kid, T0).await.is_none(),
        "replaced"
    );
    assert!(get(&s, &context(6, 2).a_kid, T0).await.is_none(), "removed");
    // Registration after reopen still replaces what was there before.
    assert_eq!(
        s.register(context(8, 4)).await.unwrap(),
        Some(context(6, 4).a_kid)
    );
}

/// A store reopened with a different key under the same key id must not hand out keys:
/// either opening fails with [`StoreError::WrongKek`], or every lookup of an existing
/// context fails with [`StoreError::Corrupt`]. Reopening with the right key still works.
/// `open(kek)` opens the SAME storage each time.
pub async fn wrong_kek_is_refused<F, Fut>(mut open: F)
where
    F: FnMut(Kek) -> Fut,
    Fut: Future<Output = Result<DynStore, StoreError>>,
{
    let right = Kek::from_hex(&"42".repeat(32)).unwrap();
    let wrong = Kek::from_hex(&"43".repeat(32)).unwrap();
    let c = context(1, 1);
    {
        let s = open(right.clone()).await.expect("open with the right key");
        s.register(c.clone()).await.unwrap();
    }
    match open(wrong).await {
        Err(StoreError::WrongKek { key_id }) => assert_eq!(key_id, Kek::DEFAULT_ID),
        Err(e) => panic!("expected WrongKek, got {e:?}"),
        Ok(s) => match s.get_by_a_kid(&c.a_kid, T0).await {
            Err(StoreError::Corrupt { record, .. }) => assert_eq!(record, c.a_kid.as_str()),
            other => panic!("expected Corrupt with the wrong KEK, got {other:?}"),
        },
    }
    let s = open(right).await.expect("reopen with the right key");
    assert_context(get(&s, &c.a_kid, T0).await, &c, "right key again");
}

/// An edit of a backend's storage made behind the store's back, for [`tampering_is_detected`].
#[derive(Clone, Debug)]
pub enum Tamper {
    /// Copy the sealed K_AKMA (key id, nonce, ciphertext) of the context `from` over that of
    /// the context `to` (both A-KIDs).
    MoveSealedKey {
        /// Source A-KID.
        from: String,
        /// Destination A-KID.
        to: String,
    },
    /// Flip one bit of the sealed K_AKMA of the context with this A-KID.
    FlipCiphertextBit {
        /// The A-KID.
        a_kid: String,
    },
    /// Set the stored expiry of a context (`None` = no expiry).
    SetExpiry {
        /// The A-KID.
        a_kid: String,
        /// The new expiry.
        expires_at: Option<u64>,
    },
    /// Set the stored GPSI of a context.
    SetGpsi {
        /// The A-KID.
        a_kid: String,
        /// The new GPSI text.
        gpsi: Option<String>,
    },
}

/// Tampered storage gives [`StoreError::Corrupt`] naming the row's A-KID (never a panic,
/// never a key, never key bytes in the message). `tamper` applies a [`Tamper`] to the
/// storage of `s` directly (e.g. SQL on the same file).
pub async fn tampering_is_detected<F, Fut>(s: DynStore, mut tamper: F)
where
    F: FnMut(Tamper) -> Fut,
    Fut: Future<Output = ()>,
{
    let victim = context(1, 1);
    let donor = context(1, 2);
    let mut expiring = context(1, 3);
    expiring.expires_at = Some(T0 + 60);
    let mut with_gpsi = context(1, 4);
    with_gpsi.gpsi = Some(gpsi(4));
    let flipped = context(1, 5);
    for c in [&victim, &donor, &expiring, &with_gpsi, &flipped] {
        s.register(c.clone()).await.unwrap();
    }
    let keys: Vec<String> = [&victim, &donor, &expiring, &with_gpsi, &flipped]
        .iter()
        .map(|c| c.k_akma.expose_hex().to_string())
        .collect();
    let expect_corrupt = |r: Result<Option<AkmaContext>, StoreError>, a: &AKid, what: &str| match r
    {
        Err(e @ StoreError::Corrupt { .. }) => {
            let StoreError::Corrupt { record, .. } = &e else {
                unreachable!()
            };
            assert_eq!(record, a.as_str(), "{what}: names the row");
            let text = format!("{e} {e:?}");
            for k in &keys {
                assert!(!text.contains(k.as_str()), "{what}: key bytes in {text}");
            }
        }
        other => panic!("{what}: expected Corrupt, got {other:?}"),
    };

    tamper(Tamper::MoveSealedKey {
        from: donor.a_kid.to_string(),
        to: victim.a_kid.to_string(),
    })
    .await;
    expect_corrupt(
        s.get_by_a_kid(&victim.a_kid, T0).await,
        &victim.a_kid,
        "moved ciphertext, by A-KID",
    );
    assert_context(get(&s, &donor.a_kid, T0).await, &donor, "donor unaffected");

    tamper(Tamper::FlipCiphertextBit {
        a_kid: flipped.a_kid.to_string(),
    })
    .await;
    expect_corrupt(
        s.get_by_a_kid(&flipped.a_kid, T0).await,
        &flipped.a_kid,
        "flipped bit",
    );

    tamper(Tamper::SetExpiry {
        a_kid: expiring.a_kid.to_string(),
        expires_at: None,
    })
    .await;
    expect_corrupt(
        s.get_by_a_kid(&expiring.a_kid, T0 + 120).await,
        &expiring.a_kid,
        "expiry removed",
    );

    tamper(Tamper::SetGpsi {
        a_kid: with_gpsi.a_kid.to_string(),
        gpsi: Some(gpsi(99).to_string()),
    })
    .await;
    expect_corrupt(
        s.get_by_a_kid(&with_gpsi.a_kid, T0).await,
        &with_gpsi.a_kid,
        "GPSI changed",
    );

    // The store keeps working; a corrupt context can be replaced by a new registration.
    s.ready().await.expect("ready after corruption");
    assert_eq!(
        s.register(context(2, 1)).await.unwrap(),
        Some(victim.a_kid.clone())
    );
    assert_context(
        get(&s, &context(2, 1).a_kid, T0).await,
        &context(2, 1),
        "re-registered",
    );
}

/// The race of the `register` contract ([`AkmaStore`]): while a re-registration replaces
/// A-KID `old` by `new` for one subscriber, `readers` concurrent tasks look both up over and
/// over. Every answer is either nothing or the exact context of that A-KID; a reader that
/// has seen `new` resolve never sees `old` resolve again; once `register` has returned,
/// `old` gives nothing to anyone and `new` resolves. Repeated for `rounds` subscribers.
/// Every loop is bounded.
pub async fn replaced_a_kid_never_resolves_again(s: DynStore, rounds: u64, readers: usize) {
    /// Lookups per reader per round, at most.
    const MAX_LOOKUPS: usize = 20_000;
    /// Lookups each reader still makes after `register` has returned.
    const AFTER: usize = 50;
    for round in 0..rounds {
        let old = context(20, round);
        let new = context(21, round);
        assert_eq!(s.register(old.clone()).await.unwrap(), None);
        let returned = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for _ in 0..readers {
            let (s, old, new, returned) = (s.clone(), old.clone(), new.clone(), returned.clone());
            tasks.push(tokio::spawn(async move {
                let mut seen_new = false;
                let mut after = 0;
                for _ in 0..MAX_LOOKUPS {
                    // Observe `returned` before the lookups: if it was set, register had
                    // returned before they began.
                    let done = returned.load(Ordering::Acquire);
                    let got_old = get(&s, &old.a_kid, T0).await;
                    let got_new = get(&s, &new.a_kid, T0).await;
                    if let Some(c) = &got_old {
                        assert_context(Some(c.clone()), &old, "old A-KID while replaced");
                        assert!(
                            !seen_new,
                            "old A-KID resolved after the new one had resolved"
                        );
                        assert!(!done, "old A-KID resolved after register returned");
                    }
                    if let Some(c) = got_new {
                        assert_context(Some(c), &new, "new A-KID while replacing");
                        seen_new = true;
                    } else {
                        assert!(!done, "new A-KID did not resolve after register returned");
                    }
                    if done {
                        after += 1;
                        if after >= AFTER {
                            break;
                        }
                    }
                    tokio::task::yield_now().await;
                }
            }));
        }
        tokio::task::yield_now().await;
        assert_eq!(
            s.register(new.clone()).await.unwrap(),
            Some(old.a_kid.clone()),
            "the re-registration replaces the old A-KID"
        );
        returned.store(true, Ordering::Release);
        assert!(
            get(&s, &old.a_kid, T0).await.is_none(),
            "old after register"
        );
        assert_context(get(&s, &new.a_kid, T0).await, &new, "new after register");
        for t in tasks {
            t.await.expect("reader");
        }
    }
}

/// A `register` cut short by a crash, as a backend's test stages it for
/// [`unpointed_record_never_resolves`] (the steps are those of [`AkmaStore`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interrupted {
    /// After step 2: the new A-KID record is written, but the subscriber still points at
    /// its previous A-KID.
    AfterRecordWritten,
    /// After step 3: the subscriber points at the new A-KID, but the previous A-KID's
    /// record has not been deleted.
    AfterPointerMoved,
}

/// A record its subscriber's pointer does not name never resolves, and a crash between the
/// steps of `register` leaves either the old or the new context resolving, never both and
/// never neither. `interrupt(ctx, at)` performs `register(ctx)` on the storage of `s` up to
/// the point `at` and then crashes (e.g. writes without committing, or reopens); `s` is
/// then used again as it is after the restart.
pub async fn unpointed_record_never_resolves<F, Fut>(s: DynStore, mut interrupt: F)
where
    F: FnMut(AkmaContext, Interrupted) -> Fut,
    Fut: Future<Output = ()>,
{
    let first = context(30, 1);
    let second = context(31, 1);
    let third = context(32, 1);
    let fourth = context(33, 1);
    let other = context(30, 2);
    s.register(first.clone()).await.unwrap();
    s.register(other.clone()).await.unwrap();

    // Crash with the new record written but not pointed at: it does not resolve, the old
    // context still does, and the next registration replaces the old one.
    interrupt(second.clone(), Interrupted::AfterRecordWritten).await;
    assert!(
        get(&s, &second.a_kid, T0).await.is_none(),
        "an A-KID record no pointer names resolved"
    );
    assert_context(get(&s, &first.a_kid, T0).await, &first, "still pointed at");
    assert_eq!(
        s.register(second.clone()).await.unwrap(),
        Some(first.a_kid.clone()),
        "the subscriber still pointed at the first A-KID"
    );
    assert!(get(&s, &first.a_kid, T0).await.is_none(), "first replaced");
    assert_context(get(&s, &second.a_kid, T0).await, &second, "second");

    // Crash with the pointer moved but the old record left behind: the old A-KID no longer
    // resolves, the new one does.
    interrupt(third.clone(), Interrupted::AfterPointerMoved).await;
    assert!(
        get(&s, &second.a_kid, T0).await.is_none(),
        "a replaced A-KID whose record was left behind resolved"
    );
    assert_context(get(&s, &third.a_kid, T0).await, &third, "pointed at");
    assert_eq!(
        s.register(fourth.clone()).await.unwrap(),
        Some(third.a_kid.clone())
    );
    assert!(get(&s, &third.a_kid, T0).await.is_none());
    assert_context(get(&s, &fourth.a_kid, T0).await, &fourth, "fourth");
    assert_context(get(&s, &other.a_kid, T0).await, &other, "other subscriber");
}
