//! K_AF derivation against a bare HMAC-SHA-256 of the same input string, in the same run.
//!
//! `cargo bench -p akma-core --bench kaf`
//!
//! Both sides key a fresh HMAC per operation (as a real derivation must). Rounds alternate
//! which side runs first; the figure is the median over rounds of ns/op, and the ratio is
//! median(K_AF) / median(bare HMAC). Target: ratio ≤ 1.2.

use std::hint::black_box;
use std::time::Instant;

use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::AfFqdn;
use akma_core::kdf::{fc, input_string};
use akma_core::keys::KAkma;
use hmac::{Hmac, Mac};
use sha2::Sha256;

const ITERS: u32 = 200_000;
const ROUNDS: usize = 15;

fn time<F: FnMut()>(mut f: F) -> f64 {
    let start = Instant::now();
    for _ in 0..ITERS {
        f();
    }
    start.elapsed().as_nanos() as f64 / f64::from(ITERS)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let k_akma = KAkma::from_bytes(std::array::from_fn(|i| (i * 7 + 3) as u8));
    let af_id = AfId::new(
        AfFqdn::parse("msgin5g.operator.example.com").expect("a valid FQDN literal"),
        UaProtocolId::TLS13_PSK,
    );
    let s = input_string(fc::K_AF, &[af_id.octets()]).expect("an AF_ID is far below 65535 octets");
    let key = *k_akma.expose_secret();

    // The two must agree before they are compared for speed.
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes a key of any length");
    mac.update(&s);
    let bare: [u8; 32] = mac.finalize().into_bytes().into();
    assert_eq!(&bare, derive_k_af(&k_akma, &af_id).expose_secret());

    let mut bare_op = || {
        let mut mac = Hmac::<Sha256>::new_from_slice(black_box(&key))
            .expect("HMAC takes a key of any length");
        mac.update(black_box(&s));
        black_box(mac.finalize().into_bytes());
    };
    let mut kaf_op = || {
        black_box(derive_k_af(black_box(&k_akma), black_box(&af_id)));
    };

    // Warm-up.
    time(&mut bare_op);
    time(&mut kaf_op);

    let (mut b, mut k) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        if round % 2 == 0 {
            b.push(time(&mut bare_op));
            k.push(time(&mut kaf_op));
        } else {
            k.push(time(&mut kaf_op));
            b.push(time(&mut bare_op));
        }
    }
    let (mb, mk) = (median(b), median(k));
    let ratio = mk / mb;
    println!(
        "input string S: {} octets (AF_ID {} octets)",
        s.len(),
        af_id.octets().len()
    );
    println!("bare HMAC-SHA-256(K_AKMA, S): {mb:8.1} ns/op (median of {ROUNDS} rounds x {ITERS})");
    println!("derive_k_af(K_AKMA, AF_ID):   {mk:8.1} ns/op");
    println!(
        "ratio K_AF / bare HMAC: {ratio:.3} (target <= 1.2: {})",
        if ratio <= 1.2 { "met" } else { "NOT met" }
    );
}
