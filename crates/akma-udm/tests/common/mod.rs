//! Shared test fixtures: subscribers and a small SBI client (the answer helpers and the
//! standard K/OPc are `akma_sim`'s; only akma-sim's API is used here, as it depends on this
//! crate).
#![allow(dead_code)]

use akma_core::ids::{Gpsi, RoutingIndicator, Supi};
use akma_core::keys::{Opc, K};
use akma_udm::{AuthMethod, Subscriber};
use reqwest::{Client, Method};

pub use akma_sim::answer::Answer;
pub use akma_sim::fixtures::{K1, K20, OPC1, OPC20, SNN_001_01 as SNN};

pub const AKMA_SUPI: &str = "imsi-001010000000001";
pub const EAP_SUPI: &str = "imsi-001010000000002";
/// The SUPI behind the TS 33.501 C.4 / free5GC Profile A and B SUCIs.
pub const SUCI_SUPI: &str = "imsi-20893001002086";
/// The SUPI behind free5GC's null-scheme SUCI.
pub const NULL_SUPI: &str = "imsi-2089300007487";
pub const AUSF_ID: &str = "0c1b7a52-2a4e-4c1e-9d1a-5b7e2f3a0001";

/// TS 33.501 C.4.3 (Profile A) and C.4.4 (Profile B) home network private keys.
pub const HN_A: &str = "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d";
pub const HN_B: &str = "f1ab1074477ebcc7f554ea1c5fc368b1616730155e0041ac447d6301975fecda";
pub const SUCI_NULL: &str = "suci-0-208-93-0-0-0-00007487";
pub const SUCI_A: &str = "suci-0-208-93-0-1-1-b2e92f836055a255837debf850b528997ce0201cb82adfe4be1f587d07d8457dcb02352410cddd9e730ef3fa87";
pub const SUCI_B: &str = "suci-0-208-93-0-2-2-039aab8376597021e855679a9778ea0b67396e68c66df32c0f41e9acca2da9b9d146a33fc2716ac7dae96aa30a4d";

pub fn subscribers() -> Vec<Subscriber> {
    let mut a = Subscriber::new(
        Supi::parse(AKMA_SUPI).unwrap(),
        K::from_hex(K1).unwrap(),
        Opc::from_hex(OPC1).unwrap(),
        "001-01".parse().unwrap(),
    );
    a.akma = true;
    a.routing_indicator = RoutingIndicator::parse("12").unwrap();
    a.gpsis = vec![
        Gpsi::parse("msisdn-491700000001").unwrap(),
        Gpsi::parse("extid-alice@example.com").unwrap(),
    ];
    let mut b = Subscriber::new(
        Supi::parse(EAP_SUPI).unwrap(),
        K::from_hex(K20).unwrap(),
        Opc::from_hex(OPC20).unwrap(),
        "001-01".parse().unwrap(),
    );
    b.auth_method = AuthMethod::EapAkaPrime;
    let mut c = Subscriber::new(
        Supi::parse(SUCI_SUPI).unwrap(),
        K::from_hex(K20).unwrap(),
        Opc::from_hex(OPC20).unwrap(),
        "208-93".parse().unwrap(),
    );
    c.akma = true;
    let d = Subscriber::new(
        Supi::parse(NULL_SUPI).unwrap(),
        K::from_hex(K1).unwrap(),
        Opc::from_hex(OPC1).unwrap(),
        "208-93".parse().unwrap(),
    );
    vec![a, b, c, d]
}

/// The UDM configuration used by the tests: the SUCI keys of TS 33.501 C.4.
pub fn hn_keys_toml() -> String {
    format!(
        "[[hn_key]]\nid = 1\nscheme = \"A\"\nprivate_key = \"{HN_A}\"\n\
         [[hn_key]]\nid = 2\nscheme = \"B\"\nprivate_key = \"{HN_B}\"\n"
    )
}

/// Sends one request; a non-empty body must be JSON.
pub async fn send(
    client: &Client,
    method: Method,
    url: &str,
    bearer: Option<&str>,
    body: Option<(&str, Vec<u8>)>,
) -> Answer {
    let a = akma_sim::answer::send(client, method, url, bearer, body)
        .await
        .unwrap();
    assert!(a.json || a.body.is_null(), "not JSON: {}", a.body);
    a
}
