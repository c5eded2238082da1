//! The UDM/ARPF's rules as plain functions: who may call what, which serving networks are
//! served, the home environment's SQN progression and resynchronisation (TS 33.102 §6.3.5,
//! Annex C), the authentication vectors (TS 33.501 §6.1.3) and the content of the answers
//! (TS 33.535 §6.1, TS 29.503). No I/O, no clock, no randomness: RAND comes from the caller.

use akma_core::aka::{
    amf_separation_bit, generate_he_av, sqn_from_u64, sqn_to_u64, verify_auts, Amf, Rand, Sqn,
};
use akma_core::eap_aka_prime::derive_ck_ik_prime;
use akma_core::ids::{Gpsi, Plmn, ServingNetworkName, Supi};
use akma_core::milenage::Milenage;
use akma_sbi_model::nudm_sdm::IdTranslationResult;
use akma_sbi_model::nudm_ueau::{
    AuthType, AuthenticationInfoResult, AuthenticationVector, Av5GHeAka, AvEapAkaPrime,
    ResynchronizationInfo, Xres,
};

use crate::subscriber::{AuthMethod, SqnState, Subscriber};

/// OAuth2 scopes (TS 29.503 YAMLs; declared once in `akma-sbi-model`). The API scope is
/// required.
pub mod scope {
    /// Nudm_UEAU.
    pub const UEAU: &str = akma_sbi_model::nudm_ueau::scope::API;
    /// Nudm_SDM.
    pub const SDM: &str = akma_sbi_model::nudm_sdm::scope::API;
}

/// The TS 29.510 NF type of a consumer (the one of `akma-sbi-model`).
pub use akma_sbi_model::NfType;

/// The caller of an operation: `Consumer::Dev` in development mode, else `Consumer::Nf`
/// with the authenticated consumer (`akma_sbi_model::Caller`).
pub use akma_sbi_model::Caller as Consumer;

/// The operations the UDM serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Nudm_UEAU GenerateAuthData.
    GenerateAuthData,
    /// Nudm_UEAU ConfirmAuth (create an auth event).
    ConfirmAuth,
    /// Nudm_UEAU DeleteAuth (remove an auth event).
    DeleteAuth,
    /// Nudm_SDM GetSupiOrGpsi (id-translation-result).
    GetIdTranslation,
    /// Nudm_UECM registration of the serving AMF (3GPP access).
    AmfRegistration,
    /// Nudm_UECM update of that registration (`purgeFlag`).
    AmfRegistrationUpdate,
    /// Nudm_UECM AuthTrigger (TS 33.501 §6.1.5).
    AuthTrigger,
}

impl Operation {
    /// The operation's descriptor, declared once in `akma-sbi-model`: only an AUSF uses
    /// Nudm_UEAU (TS 33.501 §6.1.3); the NEF and the AAnF translate identities (TS 33.535
    /// §6.3, §4.2.1).
    pub fn descriptor(self) -> &'static akma_sbi_model::Operation {
        use akma_sbi_model::{nudm_sdm, nudm_ueau};
        match self {
            Operation::GenerateAuthData => &nudm_ueau::op::GENERATE_AUTH_DATA,
            Operation::ConfirmAuth => &nudm_ueau::op::CONFIRM_AUTH,
            Operation::DeleteAuth => &nudm_ueau::op::DELETE_AUTH,
            Operation::GetIdTranslation => &nudm_sdm::op::GET_ID_TRANSLATION,
            Operation::AmfRegistration => &akma_sbi_model::nudm_uecm::op::AMF_REGISTRATION,
            Operation::AmfRegistrationUpdate => {
                &akma_sbi_model::nudm_uecm::op::AMF_REGISTRATION_UPDATE
            }
            Operation::AuthTrigger => &akma_sbi_model::nudm_uecm::op::AUTH_TRIGGER,
        }
    }

    /// The metric / log label.
    pub fn label(self) -> &'static str {
        self.descriptor().name
    }
}

/// Why the rules refuse a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The consumer may not use the operation (NF type or scope).
    #[error("{0}")]
    UnauthorizedConsumer(String),
    /// The serving network is not one this UDM serves (TS 33.501 §6.1.2, TS 29.503).
    #[error("{0}")]
    ServingNetworkNotAuthorized(String),
    /// Resynchronisation failed: AUTS does not verify, or it answers a RAND this UDM did not
    /// issue last (TS 33.102 §6.3.5).
    #[error("{0}")]
    AuthenticationRejected(String),
    /// SEQ_HE has reached 2^43 − 1; the subscriber needs a new K (TS 33.102 C.1.1).
    #[error("the sequence number space of this subscriber is exhausted")]
    SqnExhausted,
}

/// Checks that the consumer may call the operation at all (the generic
/// `akma_sbi_model::authorize`: NF type, then scopes).
pub fn authorize(consumer: &Consumer, op: Operation) -> Result<(), RuleError> {
    consumer
        .authorize(op.descriptor())
        .map_err(|e| RuleError::UnauthorizedConsumer(e.to_string()))
}

/// Checks that an NF instance id the request claims (`ausfInstanceId` of
/// GenerateAuthData, `nfInstanceId` of an auth event, at `pointer`) is the authenticated
/// consumer's own, so that one AUSF cannot ask or record as another (403
/// `UNAUTHORIZED_CONSUMER`). In development mode there is no identity to compare: any id is
/// accepted.
pub fn check_claimed_instance(
    consumer: &Consumer,
    claimed: &akma_sbi_model::common::NfInstanceId,
    pointer: &str,
) -> Result<(), RuleError> {
    match consumer {
        Consumer::Dev => Ok(()),
        Consumer::Nf(c) => {
            if akma_sbi_model::common::normalize_nf_id(claimed.as_str()) == c.nf_instance_id {
                Ok(())
            } else {
                Err(RuleError::UnauthorizedConsumer(format!(
                    "{pointer} is not the NF instance id of the authenticated consumer \
                     (its client certificate and access token)"
                )))
            }
        }
    }
}

/// The PLMN part of a serving network name (`5G:mnc<MNC>.mcc<MCC>.3gppnetwork.org[:NID]`),
/// with the MNC as its 3 digits; `None` for `5G:NSWO`.
pub fn serving_plmn(snn: &ServingNetworkName) -> Option<(String, String)> {
    let s = snn.as_str().strip_prefix("5G:mnc")?;
    let mnc = s.get(..3)?;
    let mcc = s.get(7..10)?;
    Some((mcc.to_owned(), mnc.to_owned()))
}

/// TS 33.501 §6.1.2: the UDM checks that the serving network may authenticate the UE. With
/// an empty list every 5G serving network is allowed; otherwise its PLMN must be listed (an
/// SNPN's NID is not compared). `5G:NSWO` (non-seamless WLAN offload) is not served.
pub fn check_serving_network(snn: &ServingNetworkName, allowed: &[Plmn]) -> Result<(), RuleError> {
    let Some((mcc, mnc)) = serving_plmn(snn) else {
        return Err(RuleError::ServingNetworkNotAuthorized(format!(
            "{snn}: non-seamless WLAN offload is not served by this UDM"
        )));
    };
    if allowed.is_empty()
        || allowed
            .iter()
            .any(|p| p.mcc() == mcc && format!("{:0>3}", p.mnc()) == mnc)
    {
        Ok(())
    } else {
        Err(RuleError::ServingNetworkNotAuthorized(format!(
            "serving network {snn} is not authorised to authenticate this UDM's subscribers"
        )))
    }
}

/// The next SQN (TS 33.102 C.1.1.2, C.3.2): SEQ_HE + 1 with the next IND (cyclic), and the
/// state that records it together with the vector's RAND.
pub fn next_sqn(state: &SqnState, rand: &Rand) -> Result<(Sqn, SqnState), RuleError> {
    if state.seq >= SqnState::SEQ_MAX {
        return Err(RuleError::SqnExhausted);
    }
    let seq = state.seq + 1;
    let ind = (state.ind + 1) % SqnState::IND_COUNT;
    let sqn = sqn_from_u64((seq << SqnState::IND_BITS) | u64::from(ind));
    Ok((
        sqn,
        SqnState {
            seq,
            ind,
            last_rand: Some(*rand),
        },
    ))
}

/// Resynchronisation at the home environment (TS 33.102 §6.3.5, Annex C.3.4):
///
/// 1. the RAND must be the one of the last vector issued (so a recorded (RAND, AUTS) pair
///    cannot be replayed to wind SEQ_HE back);
/// 2. AUTS must verify: MAC-S = f1*(SQN_MS, RAND, AMF = 0000), compared in constant time
///    (`akma_core::aka::verify_auts`);
/// 3. SEQ_HE is reset to SEQ_MS, so the next vector carries SEQ_MS + 1.
///
/// TS 33.102 lets the HE skip the check and send vectors from SQN_HE when they would be
/// acceptable anyway; this UDM always verifies, and rejects what does not verify
/// (`AUTHENTICATION_REJECTED`) instead of sending a vector the USIM will refuse again.
pub fn resync(
    state: &SqnState,
    m: &Milenage,
    info: &ResynchronizationInfo,
) -> Result<SqnState, RuleError> {
    if state.last_rand != Some(info.rand) {
        return Err(RuleError::AuthenticationRejected(
            "resynchronizationInfo.rand is not the RAND of the last vector issued to this subscriber"
                .into(),
        ));
    }
    let sqn_ms = verify_auts(m, &info.rand, &info.auts).map_err(|_| {
        RuleError::AuthenticationRejected(
            "AUTS does not verify (MAC-S mismatch) under this subscriber's keys".into(),
        )
    })?;
    let seq_ms = sqn_to_u64(&sqn_ms) >> SqnState::IND_BITS;
    Ok(SqnState {
        seq: seq_ms,
        ind: state.ind,
        last_rand: state.last_rand,
    })
}

/// The AMF with the separation bit set (TS 33.501 §6.1.3.1 and §6.1.3.2 step 1: "the AMF
/// separation bit … set to 1").
pub fn amf_for_5g(amf: &Amf) -> Amf {
    let mut a = *amf;
    a[0] |= 0x80;
    debug_assert!(amf_separation_bit(&a));
    a
}

/// The 5G HE AV (TS 33.501 §6.1.3.2 step 1, Annex A.2, A.4): RAND, AUTN, XRES*, K_AUSF.
pub fn five_g_he_av(
    m: &Milenage,
    rand: &Rand,
    sqn: &Sqn,
    amf: &Amf,
    snn: &ServingNetworkName,
) -> Av5GHeAka {
    let av = generate_he_av(m, rand, sqn, &amf_for_5g(amf), snn);
    Av5GHeAka {
        rand: av.rand,
        xres_star: av.xres_star,
        autn: av.autn,
        kausf: av.k_ausf,
    }
}

/// The EAP-AKA' vector (TS 33.501 §6.1.3.1 step 1, Annex A.3 / TS 33.402 A.2 with the serving
/// network name as network name): RAND, AUTN, XRES, CK', IK'.
pub fn eap_aka_prime_av(
    m: &Milenage,
    rand: &Rand,
    sqn: &Sqn,
    amf: &Amf,
    snn: &ServingNetworkName,
) -> AvEapAkaPrime {
    let amf = amf_for_5g(amf);
    let mac_a = m.f1(rand, sqn, &amf);
    let o = m.f2345(rand);
    let autn = akma_core::aka::build_autn(sqn, &o.ak, &amf, &mac_a);
    let sqn_xor_ak: [u8; 6] = autn[..6].try_into().expect("6 octets");
    let (ck_prime, ik_prime) =
        derive_ck_ik_prime(&o.ck, &o.ik, snn.as_str().as_bytes(), &sqn_xor_ak)
            .expect("a serving network name is far shorter than 65535 octets");
    AvEapAkaPrime {
        rand: *rand,
        xres: Xres::from_slice(&o.res).expect("Milenage RES is 8 octets"),
        autn,
        ck_prime,
        ik_prime,
    }
}

/// The vector for the subscriber's authentication method.
pub fn vector(
    sub: &Subscriber,
    rand: &Rand,
    sqn: &Sqn,
    snn: &ServingNetworkName,
) -> (AuthType, AuthenticationVector) {
    let m = Milenage::new(&sub.k, &sub.opc);
    match sub.auth_method {
        AuthMethod::FiveGAka => (
            AuthType::FiveGAka,
            AuthenticationVector::FiveGHeAka(five_g_he_av(&m, rand, sqn, &sub.amf, snn)),
        ),
        AuthMethod::EapAkaPrime => (
            AuthType::EapAkaPrime,
            AuthenticationVector::EapAkaPrime(eap_aka_prime_av(&m, rand, sqn, &sub.amf, snn)),
        ),
    }
}

/// The GenerateAuthData answer: the vector; the SUPI when the request named a SUCI
/// (TS 33.501 §6.1.3.2 step 2); `akmaInd` and `routingId` for an AKMA subscriber
/// (TS 33.535 §6.1 step 2: "the UDM shall include the AKMA indication and the RID").
//= req 33535-6.1-udm-akma-indication
pub fn answer(
    sub: &Subscriber,
    auth_type: AuthType,
    vector: AuthenticationVector,
    from_suci: bool,
) -> AuthenticationInfoResult {
    let mut r = AuthenticationInfoResult::new(auth_type, vector);
    if from_suci {
        r.supi = Some(sub.supi.clone());
    }
    if sub.akma {
        r.akma_ind = true;
        r.routing_id = Some(sub.routing_indicator.clone());
    }
    r
}

/// The GPSI type asked for by `requested-gpsi-type` (TS 29.503 `GpsiType`).
pub fn gpsi_matches(g: &Gpsi, requested: Option<&str>) -> bool {
    match requested {
        None => true,
        Some("MSISDN") => matches!(g, Gpsi::Msisdn(_)),
        Some("EXT_ID") => matches!(g, Gpsi::ExternalId { .. }),
        // EXT_GROUP_ID and future types: this UDM provisions none.
        Some(_) => false,
    }
}

/// The id-translation answer for a subscriber (TS 29.503 GetSupiOrGpsi): the SUPI; the GPSI
/// asked for (when the UE was named by a GPSI), or the first provisioned GPSI of the
/// requested type with the others of that type in `additionalGpsis`.
pub fn translation(
    supi: &Supi,
    gpsis: &[Gpsi],
    asked_gpsi: Option<&Gpsi>,
    requested_type: Option<&str>,
) -> IdTranslationResult {
    if let Some(g) = asked_gpsi {
        return IdTranslationResult::new(supi.clone(), Some(g.clone()));
    }
    let mut matching = gpsis.iter().filter(|g| gpsi_matches(g, requested_type));
    let mut r = IdTranslationResult::new(supi.clone(), matching.next().cloned());
    r.additional_gpsis = matching.cloned().collect();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::aka::{build_auts, verify_autn, SqnArray};
    use akma_core::keys::{Opc, K};

    fn sub() -> Subscriber {
        Subscriber::new(
            Supi::parse("imsi-001010000000001").unwrap(),
            K::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc").unwrap(),
            Opc::from_hex("cd63cb71954a9f4e48a5994e37a02baf").unwrap(),
            "001-01".parse().unwrap(),
        )
    }

    fn snn() -> ServingNetworkName {
        ServingNetworkName::parse("5G:mnc001.mcc001.3gppnetwork.org").unwrap()
    }

    #[test]
    fn sqn_progression_is_fresh_for_the_usim() {
        let mut usim = SqnArray::default();
        let mut st = SqnState::default();
        let mut last = 0;
        for i in 0..100u8 {
            let (sqn, next) = next_sqn(&st, &[i; 16]).unwrap();
            let v = sqn_to_u64(&sqn);
            assert!(v > last, "SQN grows");
            assert_eq!(next.seq, u64::from(i) + 1);
            assert_eq!(next.ind, (i + 1) % 32);
            assert_eq!(next.last_rand, Some([i; 16]));
            assert!(usim.is_fresh(&sqn), "vector {i} fresh");
            usim.accept(&sqn);
            last = v;
            st = next;
        }
        assert_eq!(
            next_sqn(
                &SqnState {
                    seq: SqnState::SEQ_MAX,
                    ..Default::default()
                },
                &[0; 16]
            ),
            Err(RuleError::SqnExhausted)
        );
    }

    #[test]
    fn av_verifies_at_the_usim_with_separation_bit() {
        let s = sub();
        let m = Milenage::new(&s.k, &s.opc);
        let (sqn, _) = next_sqn(&s.sqn, &[3; 16]).unwrap();
        // The subscription's AMF lacks the separation bit; the vector has it.
        let av = five_g_he_av(&m, &[3; 16], &sqn, &[0x00, 0x01], &snn());
        assert_eq!(&av.autn[6..8], &[0x80, 0x01]);
        let v = verify_autn(&m, &[3; 16], &av.autn).unwrap();
        assert_eq!(v.sqn, sqn);
        let res_star = akma_core::aka::res_star(&v.ck, &v.ik, &snn(), &[3; 16], &v.res).unwrap();
        assert_eq!(&res_star, av.xres_star.expose_secret());

        let ea = eap_aka_prime_av(&m, &[4; 16], &sqn, &[0x00, 0x01], &snn());
        let v = verify_autn(&m, &[4; 16], &ea.autn).unwrap();
        assert_eq!(ea.xres.expose_secret(), &v.res[..]);
        let (ck, ik) =
            derive_ck_ik_prime(&v.ck, &v.ik, snn().as_str().as_bytes(), &v.sqn_xor_ak).unwrap();
        assert_eq!(ck, ea.ck_prime);
        assert_eq!(ik, ea.ik_prime);
    }

    #[test]
    fn resync_resets_seq_he_and_rejects_bad_auts() {
        let s = sub();
        let m = Milenage::new(&s.k, &s.opc);
        let rand = [5; 16];
        let st = SqnState {
            seq: 10,
            ind: 4,
            last_rand: Some(rand),
        };
        // The USIM has accepted SEQ 5000 (e.g. after a UDM restore from an old backup).
        let sqn_ms = sqn_from_u64(5000 << 5);
        let auts = build_auts(&m, &rand, &sqn_ms);
        let info = ResynchronizationInfo { rand, auts };
        let r = resync(&st, &m, &info).unwrap();
        assert_eq!((r.seq, r.ind), (5000, 4));
        let (sqn, _) = next_sqn(&r, &[6; 16]).unwrap();
        assert_eq!(sqn_to_u64(&sqn) >> 5, 5001);

        // A flipped MAC-S bit.
        let mut bad = info.clone();
        bad.auts[13] ^= 1;
        assert!(matches!(
            resync(&st, &m, &bad),
            Err(RuleError::AuthenticationRejected(r)) if r.contains("MAC-S")
        ));
        // A RAND that was not the last one issued.
        let other = SqnState {
            last_rand: Some([7; 16]),
            ..st
        };
        assert!(matches!(
            resync(&other, &m, &info),
            Err(RuleError::AuthenticationRejected(r)) if r.contains("RAND")
        ));
        // Another subscriber's keys.
        let m2 = Milenage::new(&K::from_bytes([1; 16]), &s.opc);
        assert!(resync(&st, &m2, &info).is_err());
    }

    #[test]
    fn serving_networks_and_authorization() {
        let a: Vec<Plmn> = vec!["001-01".parse().unwrap(), "310-410".parse().unwrap()];
        assert!(check_serving_network(&snn(), &[]).is_ok());
        assert!(check_serving_network(&snn(), &a).is_ok());
        let us = ServingNetworkName::parse("5G:mnc410.mcc310.3gppnetwork.org").unwrap();
        assert!(check_serving_network(&us, &a).is_ok());
        let other = ServingNetworkName::parse("5G:mnc002.mcc001.3gppnetwork.org").unwrap();
        assert!(matches!(
            check_serving_network(&other, &a),
            Err(RuleError::ServingNetworkNotAuthorized(_))
        ));
        let nswo = ServingNetworkName::parse("5G:NSWO").unwrap();
        assert!(check_serving_network(&nswo, &[]).is_err());

        let consumer = |id: &str, nf_type, scopes: &[&str]| {
            Consumer::Nf(akma_sbi_model::Consumer {
                nf_instance_id: id.into(),
                nf_type,
                claims: akma_sbi_model::nnrf::Claims {
                    sub: id.into(),
                    scopes: scopes.iter().map(|s| s.to_string()).collect(),
                    ..Default::default()
                },
            })
        };
        let nef = consumer("x", NfType::Nef, &[scope::SDM]);
        assert!(authorize(&nef, Operation::GetIdTranslation).is_ok());
        assert!(authorize(&nef, Operation::GenerateAuthData).is_err());
        let ausf = consumer("y", NfType::Ausf, &[]);
        assert!(matches!(
            authorize(&ausf, Operation::GenerateAuthData),
            Err(RuleError::UnauthorizedConsumer(m)) if m.contains("nudm-ueau")
        ));
        assert!(authorize(&Consumer::Dev, Operation::DeleteAuth).is_ok());
    }

    //= test 33535-6.1-udm-akma-indication
    #[test]
    fn answers() {
        let mut s = sub();
        let (t, v) = vector(&s, &[1; 16], &sqn_from_u64(0x21), &snn());
        let r = answer(&s, t.clone(), v.clone(), false);
        assert_eq!(r.auth_type, AuthType::FiveGAka);
        assert!(!r.akma_ind && r.routing_id.is_none() && r.supi.is_none());
        s.akma = true;
        s.routing_indicator = akma_core::ids::RoutingIndicator::parse("0012").unwrap();
        let r = answer(&s, t, v, true);
        assert!(r.akma_ind);
        assert_eq!(r.routing_id.unwrap().as_str(), "0012");
        assert_eq!(r.supi.unwrap(), s.supi);
        s.auth_method = AuthMethod::EapAkaPrime;
        let (t, v) = vector(&s, &[1; 16], &sqn_from_u64(0x21), &snn());
        assert_eq!(t, AuthType::EapAkaPrime);
        assert!(matches!(v, AuthenticationVector::EapAkaPrime(_)));

        let supi = s.supi.clone();
        let g1 = Gpsi::parse("msisdn-491700000001").unwrap();
        let g2 = Gpsi::parse("extid-alice@example.com").unwrap();
        let g3 = Gpsi::parse("msisdn-491700000002").unwrap();
        let all = vec![g1.clone(), g2.clone(), g3.clone()];
        let r = translation(&supi, &all, None, None);
        assert_eq!(r.gpsi.as_ref(), Some(&g1));
        assert_eq!(r.additional_gpsis, vec![g2.clone(), g3.clone()]);
        let r = translation(&supi, &all, None, Some("EXT_ID"));
        assert_eq!(r.gpsi.as_ref(), Some(&g2));
        assert!(r.additional_gpsis.is_empty());
        let r = translation(&supi, &all, None, Some("EXT_GROUP_ID"));
        assert_eq!(r.gpsi, None);
        let r = translation(&supi, &all, Some(&g3), Some("EXT_ID"));
        assert_eq!(r.gpsi.as_ref(), Some(&g3));
    }
}
