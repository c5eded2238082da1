//! 5G AKA (TS 33.501 §6.1.3.2, Annex A) on top of Milenage, with the AUTN, SQN and AUTS
//! handling of TS 33.102 §6.3 and Annex C.
//!
//! The functions are pure: the home network side ([`generate_he_av`], [`verify_auts`]) and
//! the USIM/ME side ([`verify_autn`], [`build_auts`], [`SqnArray`]) share them.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use crate::ids::ServingNetworkName;
use crate::kdf::{fc, kdf};
use crate::keys::{Ak, Ck, Ik, KAmf, KAusf, KGnb, KNas, KSeaf, XresStar};
use crate::milenage::Milenage;

/// RAND, 128 bits.
pub type Rand = [u8; 16];
/// SQN, 48 bits.
pub type Sqn = [u8; 6];
/// The authentication management field, 16 bits.
pub type Amf = [u8; 2];
/// AUTN = (SQN ⊕ AK) ‖ AMF ‖ MAC-A, 128 bits.
pub type Autn = [u8; 16];
/// AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S, 112 bits.
pub type Auts = [u8; 14];
/// RES* (sent by the UE), 128 bits.
pub type ResStar = [u8; 16];
/// HRES* / HXRES*, 128 bits.
pub type HxresStar = [u8; 16];

/// The AMF used in MAC-S computation for resynchronisation (TS 33.102 §6.3.3): all zeros.
pub const RESYNC_AMF: Amf = [0, 0];

/// Errors of 5G AKA processing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AkaError {
    /// MAC-A in AUTN does not verify: the network is not authentic (or K/OPc differ).
    #[error("MAC failure: AUTN does not verify under this subscriber's keys")]
    MacFailure,
    /// The AMF separation bit is 0, so the vector was not generated for 5G (TS 33.501 §6.1.3.2).
    #[error("AMF separation bit is 0: the authentication vector is not for 5G")]
    AmfSeparationBit,
    /// MAC-S in AUTS does not verify.
    #[error("AUTS does not verify (MAC-S mismatch)")]
    AutsMacFailure,
    /// RES is not 4 to 16 octets (TS 33.501 A.4).
    #[error("RES is {0} octets; TS 33.501 A.4 takes 4 to 16")]
    ResLength(usize),
}

/// Whether the AMF separation bit (bit 0, the most significant) is set, as 5G requires.
pub fn amf_separation_bit(amf: &Amf) -> bool {
    amf[0] & 0x80 != 0
}

/// SQN ⊕ AK.
pub fn conceal_sqn(sqn: &Sqn, ak: &Ak) -> [u8; 6] {
    let mut out = *sqn;
    for (o, a) in out.iter_mut().zip(ak.expose_secret()) {
        *o ^= a;
    }
    out
}

/// AUTN = (SQN ⊕ AK) ‖ AMF ‖ MAC-A.
pub fn build_autn(sqn: &Sqn, ak: &Ak, amf: &Amf, mac_a: &[u8; 8]) -> Autn {
    let mut autn = [0u8; 16];
    autn[0..6].copy_from_slice(&conceal_sqn(sqn, ak));
    autn[6..8].copy_from_slice(amf);
    autn[8..16].copy_from_slice(mac_a);
    autn
}

/// RES* / XRES* = the 128 least significant bits of KDF(CK‖IK, FC 0x6B, SNN, RAND, RES)
/// (TS 33.501 A.4).
pub fn res_star(
    ck: &Ck,
    ik: &Ik,
    snn: &ServingNetworkName,
    rand: &Rand,
    res: &[u8],
) -> Result<ResStar, AkaError> {
    if !(4..=16).contains(&res.len()) {
        return Err(AkaError::ResLength(res.len()));
    }
    let key = ck_ik(ck, ik);
    let out = kdf(&key[..], fc::RES_STAR, &[snn.as_bytes(), rand, res])
        .map_err(|_| AkaError::ResLength(res.len()))?;
    Ok(out[16..32].try_into().expect("16 octets"))
}

/// HXRES* / HRES* = the 128 least significant bits of SHA-256(RAND ‖ XRES*) (TS 33.501 A.5).
pub fn hxres_star(rand: &Rand, xres_star: &[u8; 16]) -> HxresStar {
    let mut h = Sha256::new();
    h.update(rand);
    h.update(xres_star);
    h.finalize()[16..32].try_into().expect("16 octets")
}

/// K_AUSF = KDF(CK‖IK, FC 0x6A, SNN, SQN ⊕ AK) (TS 33.501 A.2).
pub fn derive_k_ausf(ck: &Ck, ik: &Ik, snn: &ServingNetworkName, sqn_xor_ak: &[u8; 6]) -> KAusf {
    let key = ck_ik(ck, ik);
    KAusf::from_bytes(kdf(&key[..], fc::K_AUSF, &[snn.as_bytes(), sqn_xor_ak]).expect(SNN_FITS))
}

/// K_SEAF = KDF(K_AUSF, FC 0x6C, SNN) (TS 33.501 A.6).
pub fn derive_k_seaf(k_ausf: &KAusf, snn: &ServingNetworkName) -> KSeaf {
    KSeaf::from_bytes(kdf(k_ausf.expose_secret(), fc::K_SEAF, &[snn.as_bytes()]).expect(SNN_FITS))
}

/// Why a KDF over a [`ServingNetworkName`] and fixed-size values cannot fail: both of its
/// constructors refuse names over 65,535 octets, the longest KDF parameter.
const SNN_FITS: &str = "a ServingNetworkName is at most 65535 octets";

/// K_AMF = KDF(K_SEAF, FC 0x6D, SUPI, ABBA) (TS 33.501 A.7), with the SUPI as IMSI digits or
/// NAI ([`crate::ids::Supi::kdf_input`]).
pub fn derive_k_amf(k_seaf: &KSeaf, supi_kdf_input: &str, abba: &[u8]) -> KAmf {
    KAmf::from_bytes(
        kdf(
            k_seaf.expose_secret(),
            fc::K_AMF,
            &[supi_kdf_input.as_bytes(), abba],
        )
        .expect("SUPI and ABBA are short"),
    )
}

/// K_gNB = KDF(K_AMF, FC 0x6E, uplink NAS COUNT (4 octets), access type distinguisher)
/// (TS 33.501 A.9; 0x01 = 3GPP access, 0x02 = non-3GPP access).
pub fn derive_k_gnb(k_amf: &KAmf, uplink_nas_count: u32, access_type: u8) -> KGnb {
    KGnb::from_bytes(
        kdf(
            k_amf.expose_secret(),
            fc::K_GNB,
            &[&uplink_nas_count.to_be_bytes(), &[access_type]],
        )
        .expect("short parameters"),
    )
}

/// NAS algorithm key = the 128 least significant bits of KDF(K_AMF, FC 0x69, algorithm type
/// distinguisher, algorithm identity) (TS 33.501 A.8; 0x01 = N-NAS-enc-alg, 0x02 = N-NAS-int-alg).
pub fn derive_nas_key(k_amf: &KAmf, type_distinguisher: u8, algorithm_id: u8) -> KNas {
    let mut out = kdf(
        k_amf.expose_secret(),
        fc::ALGORITHM_KEY,
        &[&[type_distinguisher], &[algorithm_id]],
    )
    .expect("short parameters");
    let k = KNas::from_slice(&out[16..]).expect("16 octets");
    out.zeroize();
    k
}

fn ck_ik(ck: &Ck, ik: &Ik) -> zeroize::Zeroizing<[u8; 32]> {
    let mut key = zeroize::Zeroizing::new([0u8; 32]);
    key[..16].copy_from_slice(ck.expose_secret());
    key[16..].copy_from_slice(ik.expose_secret());
    key
}

/// A 5G home environment authentication vector (TS 33.501 §6.1.3.2 step 1).
#[derive(Debug, Clone)]
pub struct HeAv {
    /// RAND.
    pub rand: Rand,
    /// AUTN.
    pub autn: Autn,
    /// XRES*.
    pub xres_star: XresStar,
    /// K_AUSF.
    pub k_ausf: KAusf,
}

/// Generates a 5G HE AV for (RAND, SQN, AMF, SNN). The caller sets the AMF separation bit.
pub fn generate_he_av(
    m: &Milenage,
    rand: &Rand,
    sqn: &Sqn,
    amf: &Amf,
    snn: &ServingNetworkName,
) -> HeAv {
    let mac_a = m.f1(rand, sqn, amf);
    let o = m.f2345(rand);
    let autn = build_autn(sqn, &o.ak, amf, &mac_a);
    let mut xres = res_star(&o.ck, &o.ik, snn, rand, &o.res).expect("Milenage RES is 8 octets");
    let xres_star = XresStar::from_bytes(xres);
    xres.zeroize();
    let k_ausf = derive_k_ausf(&o.ck, &o.ik, snn, &conceal_sqn(sqn, &o.ak));
    HeAv {
        rand: *rand,
        autn,
        xres_star,
        k_ausf,
    }
}

/// What the USIM returns for an authentic AUTN (the SQN still needs a freshness check).
#[derive(Debug, Clone)]
pub struct AutnVerified {
    /// The SQN recovered from AUTN.
    pub sqn: Sqn,
    /// SQN ⊕ AK as carried in AUTN (the K_AUSF input).
    pub sqn_xor_ak: [u8; 6],
    /// The AMF from AUTN.
    pub amf: Amf,
    /// RES (f2).
    pub res: [u8; 8],
    /// CK (f3).
    pub ck: Ck,
    /// IK (f4).
    pub ik: Ik,
}

/// Checks AUTN as the USIM and ME do: recovers SQN with AK, verifies MAC-A in constant time,
/// then the AMF separation bit (TS 33.102 §6.3.3, TS 33.501 §6.1.3.2 step 6).
pub fn verify_autn(m: &Milenage, rand: &Rand, autn: &Autn) -> Result<AutnVerified, AkaError> {
    let o = m.f2345(rand);
    let sqn_xor_ak: [u8; 6] = autn[0..6].try_into().expect("6 octets");
    let sqn = conceal_sqn(&sqn_xor_ak, &o.ak);
    let amf: Amf = autn[6..8].try_into().expect("2 octets");
    let xmac = m.f1(rand, &sqn, &amf);
    if !bool::from(xmac.ct_eq(&autn[8..16])) {
        return Err(AkaError::MacFailure);
    }
    if !amf_separation_bit(&amf) {
        return Err(AkaError::AmfSeparationBit);
    }
    Ok(AutnVerified {
        sqn,
        sqn_xor_ak,
        amf,
        res: o.res,
        ck: o.ck,
        ik: o.ik,
    })
}

/// AUTS = (SQN_MS ⊕ AK*) ‖ MAC-S, with MAC-S = f1*(SQN_MS, RAND, AMF = 0000) (TS 33.102 §6.3.3).
pub fn build_auts(m: &Milenage, rand: &Rand, sqn_ms: &Sqn) -> Auts {
    let ak_star = m.f5_star(rand);
    let mac_s = m.f1_star(rand, sqn_ms, &RESYNC_AMF);
    let mut auts = [0u8; 14];
    auts[0..6].copy_from_slice(&conceal_sqn(sqn_ms, &ak_star));
    auts[6..14].copy_from_slice(&mac_s);
    auts
}

/// Verifies AUTS at the home network and returns SQN_MS (TS 33.102 §6.3.5).
pub fn verify_auts(m: &Milenage, rand: &Rand, auts: &Auts) -> Result<Sqn, AkaError> {
    let ak_star = m.f5_star(rand);
    let conc: [u8; 6] = auts[0..6].try_into().expect("6 octets");
    let sqn_ms = conceal_sqn(&conc, &ak_star);
    let xmac_s = m.f1_star(rand, &sqn_ms, &RESYNC_AMF);
    if bool::from(xmac_s.ct_eq(&auts[6..14])) {
        Ok(sqn_ms)
    } else {
        Err(AkaError::AutsMacFailure)
    }
}

/// SQN as a 48-bit number.
pub fn sqn_to_u64(sqn: &Sqn) -> u64 {
    let mut b = [0u8; 8];
    b[2..].copy_from_slice(sqn);
    u64::from_be_bytes(b)
}

/// A 48-bit number as SQN (higher bits dropped).
pub fn sqn_from_u64(v: u64) -> Sqn {
    v.to_be_bytes()[2..].try_into().expect("6 octets")
}

/// The USIM's sequence number store of TS 33.102 Annex C.2: SQN = SEQ ‖ IND with a 5-bit
/// IND, an array of the highest SEQ accepted per IND, and the limit Δ on how far a SEQ may
/// run ahead of the highest one accepted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SqnArray {
    seq: [u64; 32],
}

impl SqnArray {
    /// Bits of IND in the SQN.
    pub const IND_BITS: u32 = 5;
    /// Δ of Annex C.2.2: the largest jump of SEQ beyond SEQ_MS accepted (2^28).
    pub const DELTA: u64 = 1 << 28;

    /// SEQ_MS: the highest SEQ accepted under any IND.
    pub fn seq_ms(&self) -> u64 {
        self.seq.iter().copied().max().unwrap_or(0)
    }

    /// SQN_MS for AUTS: the highest SEQ accepted, with IND 0 (TS 33.102 C.3.4 sends SEQ_MS).
    pub fn sqn_ms(&self) -> Sqn {
        sqn_from_u64(self.seq_ms() << Self::IND_BITS)
    }

    /// Whether an SQN is fresh (Annex C.2.2): SEQ > SEQ(IND) and SEQ − SEQ_MS ≤ Δ.
    pub fn is_fresh(&self, sqn: &Sqn) -> bool {
        let v = sqn_to_u64(sqn);
        let seq = v >> Self::IND_BITS;
        let ind = (v & ((1 << Self::IND_BITS) - 1)) as usize;
        seq > self.seq[ind] && seq.saturating_sub(self.seq_ms()) <= Self::DELTA
    }

    /// Records an accepted SQN.
    pub fn accept(&mut self, sqn: &Sqn) {
        let v = sqn_to_u64(sqn);
        let ind = (v & ((1 << Self::IND_BITS) - 1)) as usize;
        self.seq[ind] = v >> Self::IND_BITS;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Opc, K};

    fn snn(s: &str) -> ServingNetworkName {
        ServingNetworkName::parse_any(s).unwrap()
    }

    fn set20() -> Milenage {
        Milenage::new(
            &K::from_hex("90dca4eda45b53cf0f12d7c9c3bc6a89").unwrap(),
            &Opc::from_hex("cb9cccc4b9258e6dca4760379fb82581").unwrap(),
        )
    }

    #[test]
    fn he_av_verifies_at_the_ue() {
        let m = set20();
        let rand = [7u8; 16];
        let sqn = sqn_from_u64(0x21);
        let av = generate_he_av(
            &m,
            &rand,
            &sqn,
            &[0x80, 0x00],
            &snn("5G:mnc001.mcc001.3gppnetwork.org"),
        );
        let v = verify_autn(&m, &rand, &av.autn).unwrap();
        assert_eq!(v.sqn, sqn);
        let r = res_star(
            &v.ck,
            &v.ik,
            &snn("5G:mnc001.mcc001.3gppnetwork.org"),
            &rand,
            &v.res,
        )
        .unwrap();
        assert_eq!(&r, av.xres_star.expose_secret());
        let k = derive_k_ausf(
            &v.ck,
            &v.ik,
            &snn("5G:mnc001.mcc001.3gppnetwork.org"),
            &v.sqn_xor_ak,
        );
        assert_eq!(k, av.k_ausf);
    }

    #[test]
    fn autn_failures() {
        let m = set20();
        let rand = [7u8; 16];
        let sqn = sqn_from_u64(0x21);
        let mut av = generate_he_av(&m, &rand, &sqn, &[0x80, 0x00], &snn("x"));
        av.autn[15] ^= 1;
        assert_eq!(
            verify_autn(&m, &rand, &av.autn).unwrap_err(),
            AkaError::MacFailure
        );
        let av = generate_he_av(&m, &rand, &sqn, &[0x00, 0x00], &snn("x"));
        assert_eq!(
            verify_autn(&m, &rand, &av.autn).unwrap_err(),
            AkaError::AmfSeparationBit
        );
    }

    #[test]
    fn auts_round_trip_and_tamper() {
        let m = set20();
        let rand = [9u8; 16];
        let sqn_ms = sqn_from_u64(0x1234_5678);
        let mut auts = build_auts(&m, &rand, &sqn_ms);
        assert_eq!(verify_auts(&m, &rand, &auts).unwrap(), sqn_ms);
        auts[13] ^= 0x40;
        assert_eq!(
            verify_auts(&m, &rand, &auts).unwrap_err(),
            AkaError::AutsMacFailure
        );
    }

    #[test]
    fn res_length_is_checked() {
        let ck = Ck::from_bytes([1; 16]);
        let ik = Ik::from_bytes([2; 16]);
        assert_eq!(
            res_star(&ck, &ik, &snn("s"), &[0; 16], &[0; 3]),
            Err(AkaError::ResLength(3))
        );
        assert_eq!(
            res_star(&ck, &ik, &snn("s"), &[0; 16], &[0; 17]),
            Err(AkaError::ResLength(17))
        );
        assert!(res_star(&ck, &ik, &snn("s"), &[0; 16], &[0; 4]).is_ok());
    }

    #[test]
    fn sqn_array_annex_c() {
        let mut a = SqnArray::default();
        let s = |seq: u64, ind: u64| sqn_from_u64(seq << 5 | ind);
        assert!(a.is_fresh(&s(1, 0)));
        a.accept(&s(1, 0));
        assert!(!a.is_fresh(&s(1, 0)), "replay of the same SQN");
        assert!(a.is_fresh(&s(1, 1)), "same SEQ under another IND");
        a.accept(&s(5, 1));
        assert!(!a.is_fresh(&s(4, 1)));
        assert!(a.is_fresh(&s(2, 0)));
        assert_eq!(a.seq_ms(), 5);
        assert_eq!(sqn_to_u64(&a.sqn_ms()), 5 << 5);
        assert!(!a.is_fresh(&s(5 + SqnArray::DELTA + 1, 2)), "too far ahead");
        assert!(a.is_fresh(&s(5 + SqnArray::DELTA, 2)));
    }
}
