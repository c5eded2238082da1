//! Property tests: every identifier's parse/format round trip, and parsers that never panic
//! and only accept what they would print back unchanged.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use akma_core::akma::{AfId, UaProtocol, UaProtocolId};
use akma_core::hex;
use akma_core::ids::{
    AKid, ATid, AfFqdn, Gpsi, HomeNetwork, MncLen, Plmn, RoutingIndicator, ServingNetworkName, Supi,
};
use akma_core::kdf::{input_string, kdf};
use proptest::prelude::*;

fn label() -> impl Strategy<Value = String> {
    // An LDH label: 1-20 characters, no hyphen at either end.
    "[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?"
}

fn domain() -> impl Strategy<Value = String> {
    (prop::collection::vec(label(), 1..4), "[a-z][a-z0-9]{1,5}").prop_map(|(mut labels, tld)| {
        labels.push(tld);
        labels.join(".")
    })
}

fn nai_user() -> impl Strategy<Value = String> {
    prop::collection::vec("[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}", 1..4).prop_map(|a| a.join("."))
}

fn rid() -> impl Strategy<Value = String> {
    "[0-9]{1,4}"
}

fn plmn() -> impl Strategy<Value = Plmn> {
    ("[0-9]{3}", prop_oneof!["[0-9]{2}", "[0-9]{3}"])
        .prop_map(|(mcc, mnc)| Plmn::new(&mcc, &mnc).unwrap())
}

proptest! {
    #[test]
    fn hex_round_trip(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let s = hex::encode(&bytes);
        prop_assert_eq!(hex::decode(&s).unwrap(), bytes.clone());
        prop_assert_eq!(hex::decode(&s.to_uppercase()).unwrap(), bytes);
    }

    #[test]
    fn imsi_supi_round_trip(digits in "[0-9]{5,15}") {
        let text = format!("imsi-{digits}");
        let s = Supi::parse(&text).unwrap();
        prop_assert_eq!(s.to_string(), text);
        prop_assert_eq!(s.kdf_input(), digits.as_str());
        prop_assert_eq!(Supi::from_imsi_digits(&digits).unwrap(), s);
    }

    #[test]
    fn nai_supi_round_trip(user in nai_user(), realm in domain()) {
        let text = format!("nai-{user}@{realm}");
        prop_assume!(text.len() <= 4 + 253);
        let s = Supi::parse(&text).unwrap();
        prop_assert_eq!(s.to_string(), text);
        prop_assert_eq!(s.kdf_input(), format!("{user}@{realm}"));
        prop_assert_eq!(s.home_network(MncLen::Two).unwrap(), HomeNetwork::Realm(realm));
    }

    #[test]
    fn gpsi_round_trip(msisdn in "[0-9]{5,15}", local in nai_user(), dom in domain()) {
        let m = format!("msisdn-{msisdn}");
        prop_assert_eq!(Gpsi::parse(&m).unwrap().to_string(), m);
        let e = format!("extid-{local}@{dom}");
        prop_assert_eq!(Gpsi::parse(&e).unwrap().to_string(), e);
    }

    #[test]
    fn rid_and_plmn_round_trip(r in rid(), p in plmn()) {
        prop_assert_eq!(RoutingIndicator::parse(&r).unwrap().to_string(), r);
        let text = p.to_string();
        prop_assert_eq!(text.parse::<Plmn>().unwrap(), p.clone());
        let snn = p.serving_network_name();
        prop_assert_eq!(ServingNetworkName::parse(snn.as_str()).unwrap(), snn);
    }

    #[test]
    fn plmn_from_imsi_takes_the_configured_mnc(p in plmn(), msin in "[0-9]{1,9}") {
        let imsi = format!("{}{}{}", p.mcc(), p.mnc(), msin);
        prop_assume!(imsi.len() <= 15);
        prop_assert_eq!(Plmn::from_imsi(&imsi, p.mnc_len()).unwrap(), p);
    }

    #[test]
    fn a_kid_round_trip(r in rid(), tid in any::<[u8; 32]>(), p in plmn(), realm in domain(), use_plmn in any::<bool>()) {
        let home = if use_plmn { HomeNetwork::Plmn(p) } else { HomeNetwork::Realm(realm) };
        let rid = RoutingIndicator::parse(&r).unwrap();
        let k = AKid::new(&rid, &ATid(tid), &home);
        let parsed = AKid::parse_strict(k.as_str()).unwrap();
        prop_assert_eq!(&parsed, &k);
        prop_assert_eq!(parsed.routing_indicator(), rid);
        prop_assert_eq!(parsed.a_tid().unwrap(), ATid(tid));
        prop_assert_eq!(parsed.realm(), home.realm());
        prop_assert_eq!(parsed.to_string(), k.to_string());
    }

    #[test]
    fn a_tid_base64url_round_trip(tid in any::<[u8; 32]>()) {
        let s = ATid(tid).to_base64url();
        prop_assert_eq!(s.len(), 43);
        prop_assert_eq!(ATid::from_base64url(&s).unwrap(), ATid(tid));
    }

    #[test]
    fn fqdn_is_canonical_lowercase(d in domain()) {
        let f = AfFqdn::parse(&d).unwrap();
        prop_assert_eq!(f.as_str(), d.as_str());
        prop_assert_eq!(AfFqdn::parse(&d.to_uppercase()).unwrap(), f.clone());
        prop_assert_eq!(AfFqdn::parse(f.as_str()).unwrap(), f);
    }

    #[test]
    fn ua_and_af_id_round_trip(bytes in any::<[u8; 5]>(), suite in any::<u16>(), d in domain()) {
        let ua = UaProtocolId(bytes);
        prop_assert_eq!(UaProtocolId::from_hex(&ua.to_hex()).unwrap(), ua);
        for p in [UaProtocol::Tls13Psk, UaProtocol::HttpDigest, UaProtocol::GenericPush, UaProtocol::tls12_psk(suite)] {
            prop_assert_eq!(p.id().protocol(), Some(p));
        }
        let af = AfId::new(AfFqdn::parse(&d).unwrap(), ua);
        let (f, u) = AfId::parse_sbi(&af.to_sbi_string()).unwrap();
        prop_assert_eq!(AfId::new(f, u.unwrap()), af.clone());
        prop_assert_eq!(&af.octets()[..d.len()], d.as_bytes());
        prop_assert_eq!(&af.octets()[d.len()..], &bytes[..]);
    }

    #[test]
    fn kdf_streams_what_it_would_build(key in prop::collection::vec(any::<u8>(), 0..80),
                                       fc in any::<u8>(),
                                       params in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..5)) {
        let refs: Vec<&[u8]> = params.iter().map(Vec::as_slice).collect();
        let s = input_string(fc, &refs).unwrap();
        prop_assert_eq!(s.len(), 1 + params.iter().map(|p| p.len() + 2).sum::<usize>());
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        mac.update(&s);
        let want: [u8; 32] = mac.finalize().into_bytes().into();
        prop_assert_eq!(kdf(&key, fc, &refs).unwrap(), want);
    }

    /// Whatever a parser accepts, it prints back unchanged (FQDNs: lowercased); it never panics.
    #[test]
    fn parsers_accept_only_what_they_print(s in "\\PC{0,80}", t in "(imsi-|nai-|msisdn-|extid-|[0-9]{1,4}\\.)[ -~]{0,60}") {
        for input in [&s, &t] {
            if let Ok(v) = Supi::parse(input) { prop_assert_eq!(&v.to_string(), input); }
            if let Ok(v) = Gpsi::parse(input) { prop_assert_eq!(&v.to_string(), input); }
            if let Ok(v) = AKid::parse(input) { prop_assert_eq!(&v.to_string(), input); }
            if let Ok(v) = RoutingIndicator::parse(input) { prop_assert_eq!(&v.to_string(), input); }
            if let Ok(v) = ServingNetworkName::parse(input) { prop_assert_eq!(&v.to_string(), input); }
            if let Ok(v) = input.parse::<Plmn>() { prop_assert_eq!(&v.to_string(), input); }
            if let Ok(v) = AfFqdn::parse(input) { prop_assert_eq!(v.to_string(), input.to_ascii_lowercase()); }
            let _ = AfId::parse_sbi(input);
            let _ = hex::decode(input);
        }
    }
}
