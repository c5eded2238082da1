//! The USIM: K and OPc with Milenage, the subscriber's identifiers, and the sequence number
//! store of TS 33.102 Annex C.
//!
//! [`Usim::authenticate`] is the USIM's part of 5G AKA and EAP-AKA' (TS 33.102 §6.3.3,
//! TS 33.501 §6.1.3.2 step 5): it checks MAC-A, then the freshness of SQN, and answers RES, CK
//! and IK, or a synchronisation failure with AUTS, or a MAC failure.

use std::fmt;

use akma_core::aka::{self, AkaError, Autn, Auts, Rand, Sqn, SqnArray};
use akma_core::ids::{MncLen, RoutingIndicator, Supi};
use akma_core::keys::{Ck, Ik, Opc, K};
use akma_core::milenage::Milenage;
use akma_core::suci::HomeNetworkPublicKey;
use zeroize::Zeroizing;

/// What is provisioned in a USIM.
pub struct UsimProfile {
    /// The long-term key K.
    pub k: K,
    /// OPc.
    pub opc: Opc,
    /// The SUPI.
    pub supi: Supi,
    /// The routing indicator (`0` when none is provisioned).
    pub routing_indicator: RoutingIndicator,
    /// The home network's MNC length (for IMSI SUPIs; never guessed).
    pub mnc_len: MncLen,
    /// The home network public key for SUCI concealment (TS 33.501 Annex C.3), if provisioned.
    pub hn_public_key: Option<HomeNetworkPublicKey>,
}

impl fmt::Debug for UsimProfile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UsimProfile")
            .field("supi", &self.supi)
            .field("routing_indicator", &self.routing_indicator)
            .field("mnc_len", &self.mnc_len)
            .field("hn_public_key", &self.hn_public_key)
            .finish_non_exhaustive()
    }
}

/// The USIM's answer to a valid AUTN with a fresh SQN.
pub struct UsimAuthentication {
    /// RES (f2), 64 bits for Milenage.
    pub res: Zeroizing<[u8; 8]>,
    /// CK.
    pub ck: Ck,
    /// IK.
    pub ik: Ik,
    /// SQN ⊕ AK as received in AUTN (input of K_AUSF and CK'/IK').
    pub sqn_xor_ak: [u8; 6],
}

impl fmt::Debug for UsimAuthentication {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UsimAuthentication(<redacted>)")
    }
}

/// Why the USIM (or the ME, for the separation bit) refused an AUTN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsimFailure {
    /// MAC-A does not verify (TS 33.102 §6.3.3): cause #20 MAC failure.
    #[error("MAC failure: AUTN was not generated with this USIM's K and OPc")]
    MacFailure,
    /// SQN is not in the correct range (TS 33.102 §6.3.3, Annex C.2.2): cause #21 with AUTS.
    #[error("synchronisation failure: SQN not fresh or out of range")]
    SyncFailure {
        /// AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S.
        auts: Auts,
    },
    /// The AMF separation bit is 0 (TS 33.501 §6.1.3.2 step 6): cause #26.
    #[error("non-5G authentication unacceptable: the AMF separation bit is 0")]
    Non5gAuthentication,
}

/// A USIM with its Milenage instance and SQN array.
pub struct Usim {
    milenage: Milenage,
    supi: Supi,
    routing_indicator: RoutingIndicator,
    mnc_len: MncLen,
    hn_public_key: Option<HomeNetworkPublicKey>,
    sqn: SqnArray,
}

impl fmt::Debug for Usim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Usim")
            .field("supi", &self.supi)
            .field("routing_indicator", &self.routing_indicator)
            .field("seq_ms", &self.sqn.seq_ms())
            .finish_non_exhaustive()
    }
}

impl Usim {
    /// A USIM with the given provisioning and an SQN store that has accepted nothing yet.
    pub fn new(profile: UsimProfile) -> Self {
        Self {
            milenage: Milenage::new(&profile.k, &profile.opc),
            supi: profile.supi,
            routing_indicator: profile.routing_indicator,
            mnc_len: profile.mnc_len,
            hn_public_key: profile.hn_public_key,
            sqn: SqnArray::default(),
        }
    }

    /// The SUPI.
    pub fn supi(&self) -> &Supi {
        &self.supi
    }

    /// The routing indicator.
    pub fn routing_indicator(&self) -> &RoutingIndicator {
        &self.routing_indicator
    }

    /// The home network's MNC length.
    pub fn mnc_len(&self) -> MncLen {
        self.mnc_len
    }

    /// The home network public key for SUCI, if provisioned.
    pub fn hn_public_key(&self) -> Option<&HomeNetworkPublicKey> {
        self.hn_public_key.as_ref()
    }

    /// SQN_MS, as it would be sent in AUTS.
    pub fn sqn_ms(&self) -> Sqn {
        self.sqn.sqn_ms()
    }

    /// Records `sqn` as accepted, as if an authentication with it had taken place (for
    /// provisioning a USIM that has been used before, and for tests that put the USIM ahead
    /// of the network to force a resynchronisation).
    pub fn accept_sqn(&mut self, sqn: Sqn) {
        self.sqn.accept(&sqn);
    }

    /// Moves every IND slot of the SQN array to SEQ_MS + `n` (TS 33.102 Annex C.2), as if the
    /// USIM had accepted vectors the network never issued: any SQN the network sends next is
    /// stale, whatever its IND, and the USIM answers with AUTS (a fault for tests).
    pub fn advance_sqn(&mut self, n: u64) {
        let seq = self.sqn.seq_ms() + n;
        for ind in 0..(1u64 << SqnArray::IND_BITS) {
            self.sqn
                .accept(&aka::sqn_from_u64(seq << SqnArray::IND_BITS | ind));
        }
    }

    /// The USIM's authentication function (TS 33.102 §6.3.3): MAC-A first, then SQN freshness
    /// (Annex C.2.2); a fresh SQN is stored before RES, CK and IK are returned.
    pub fn authenticate(
        &mut self,
        rand: &Rand,
        autn: &Autn,
    ) -> Result<UsimAuthentication, UsimFailure> {
        let v = match aka::verify_autn(&self.milenage, rand, autn) {
            Ok(v) => v,
            Err(AkaError::AmfSeparationBit) => return Err(UsimFailure::Non5gAuthentication),
            Err(_) => return Err(UsimFailure::MacFailure),
        };
        if !self.sqn.is_fresh(&v.sqn) {
            // TS 33.102 §6.3.3: AUTS carries SQN_MS concealed with AK* and MAC-S.
            let auts = aka::build_auts(&self.milenage, rand, &self.sqn.sqn_ms());
            return Err(UsimFailure::SyncFailure { auts });
        }
        self.sqn.accept(&v.sqn);
        Ok(UsimAuthentication {
            res: Zeroizing::new(v.res),
            ck: v.ck,
            ik: v.ik,
            sqn_xor_ak: v.sqn_xor_ak,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::aka::{generate_he_av, sqn_from_u64, verify_auts};

    const SNN: &str = "5G:mnc070.mcc901.3gppnetwork.org";

    fn snn() -> akma_core::ids::ServingNetworkName {
        akma_core::ids::ServingNetworkName::parse(SNN).unwrap()
    }

    fn profile() -> UsimProfile {
        UsimProfile {
            k: K::from_hex("465b5ce8b199b49faa5f0a2ee238a6bc").unwrap(),
            opc: Opc::from_hex("cd63cb71954a9f4e48a5994e37a02baf").unwrap(),
            supi: Supi::parse("imsi-901700000000001").unwrap(),
            routing_indicator: RoutingIndicator::none_provisioned(),
            mnc_len: MncLen::Two,
            hn_public_key: None,
        }
    }

    fn network() -> Milenage {
        let p = profile();
        Milenage::new(&p.k, &p.opc)
    }

    #[test]
    fn fresh_sqn_accepted_replay_rejected_with_auts() {
        let mut usim = Usim::new(profile());
        let rand = [0x11; 16];
        let sqn = sqn_from_u64(1 << 5);
        let av = generate_he_av(&network(), &rand, &sqn, &[0x80, 0], &snn());
        let a = usim.authenticate(&rand, &av.autn).unwrap();
        assert_eq!(
            aka::derive_k_ausf(&a.ck, &a.ik, &snn(), &a.sqn_xor_ak),
            av.k_ausf
        );
        // The same AUTN again is a replay: synchronisation failure with a valid AUTS.
        let err = usim.authenticate(&rand, &av.autn).unwrap_err();
        let UsimFailure::SyncFailure { auts } = err else {
            panic!("{err:?}")
        };
        assert_eq!(verify_auts(&network(), &rand, &auts).unwrap(), sqn);
    }

    #[test]
    fn out_of_range_sqn_is_rejected() {
        let mut usim = Usim::new(profile());
        let rand = [0x22; 16];
        let far = sqn_from_u64((SqnArray::DELTA + 1) << 5);
        let av = generate_he_av(&network(), &rand, &far, &[0x80, 0], &snn());
        assert!(matches!(
            usim.authenticate(&rand, &av.autn),
            Err(UsimFailure::SyncFailure { .. })
        ));
        // Nothing was stored: a fresh in-range SQN still works.
        let ok = generate_he_av(&network(), &rand, &sqn_from_u64(3 << 5), &[0x80, 0], &snn());
        assert!(usim.authenticate(&rand, &ok.autn).is_ok());
    }

    #[test]
    fn usim_ahead_of_network_resynchronises() {
        let mut usim = Usim::new(profile());
        usim.accept_sqn(sqn_from_u64(1000 << 5));
        let rand = [0x33; 16];
        let av = generate_he_av(
            &network(),
            &rand,
            &sqn_from_u64(10 << 5),
            &[0x80, 0],
            &snn(),
        );
        let Err(UsimFailure::SyncFailure { auts }) = usim.authenticate(&rand, &av.autn) else {
            panic!("expected a synchronisation failure")
        };
        let sqn_ms = verify_auts(&network(), &rand, &auts).unwrap();
        assert_eq!(aka::sqn_to_u64(&sqn_ms), 1000 << 5);
        // The home network continues from SQN_MS (TS 33.102 §6.3.5).
        let next = sqn_from_u64(aka::sqn_to_u64(&sqn_ms) + (1 << 5));
        let av = generate_he_av(&network(), &[0x34; 16], &next, &[0x80, 0], &snn());
        assert!(usim.authenticate(&[0x34; 16], &av.autn).is_ok());
    }

    #[test]
    fn advance_sqn_makes_every_ind_stale() {
        let mut usim = Usim::new(profile());
        usim.advance_sqn(50);
        assert_eq!(aka::sqn_to_u64(&usim.sqn_ms()), 50 << 5);
        for (i, ind) in [0u64, 5, 31].into_iter().enumerate() {
            let rand = [0x50 + i as u8; 16];
            let sqn = sqn_from_u64(40 << 5 | ind);
            let av = generate_he_av(&network(), &rand, &sqn, &[0x80, 0], &snn());
            assert!(
                matches!(
                    usim.authenticate(&rand, &av.autn),
                    Err(UsimFailure::SyncFailure { .. })
                ),
                "IND {ind}"
            );
        }
        let av = generate_he_av(
            &network(),
            &[0x60; 16],
            &sqn_from_u64(51 << 5 | 7),
            &[0x80, 0],
            &snn(),
        );
        assert!(usim.authenticate(&[0x60; 16], &av.autn).is_ok());
    }

    #[test]
    fn bad_mac_and_separation_bit() {
        let mut usim = Usim::new(profile());
        let rand = [0x44; 16];
        let mut av = generate_he_av(&network(), &rand, &sqn_from_u64(32), &[0x80, 0], &snn());
        av.autn[10] ^= 0x01;
        assert_eq!(
            usim.authenticate(&rand, &av.autn).unwrap_err(),
            UsimFailure::MacFailure
        );
        let other = Milenage::new(&K::from_bytes([1; 16]), &Opc::from_bytes([2; 16]));
        let av = generate_he_av(&other, &rand, &sqn_from_u64(32), &[0x80, 0], &snn());
        assert_eq!(
            usim.authenticate(&rand, &av.autn).unwrap_err(),
            UsimFailure::MacFailure
        );
        let av = generate_he_av(&network(), &rand, &sqn_from_u64(32), &[0x00, 0], &snn());
        assert_eq!(
            usim.authenticate(&rand, &av.autn).unwrap_err(),
            UsimFailure::Non5gAuthentication
        );
        // None of the failures consumed the SQN.
        let av = generate_he_av(&network(), &rand, &sqn_from_u64(32), &[0x80, 0], &snn());
        assert!(usim.authenticate(&rand, &av.autn).is_ok());
    }

    #[test]
    fn debug_prints_no_secrets() {
        let usim = Usim::new(profile());
        let d = format!("{usim:?}");
        assert!(d.contains("imsi-901700000000001"));
        assert!(!d.contains("465b5ce8"));
        let p = format!("{:?}", profile());
        assert!(!p.contains("465b5ce8") && !p.contains("cd63cb71"));
    }
}
