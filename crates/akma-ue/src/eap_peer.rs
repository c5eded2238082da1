//! The EAP-AKA' peer of the ME (RFC 9048 §3, TS 33.501 §6.1.3.1), on `akma_core::eap`.
//!
//! For an EAP-Request/AKA'-Challenge the peer checks AT_KDF and AT_KDF_INPUT, has the USIM
//! check AUTN, derives CK'/IK' with the serving network name, the key schedule with the
//! SUPI as key derivation identity (TS 33.501 Annex F.3), verifies AT_MAC with K_aut, and
//! answers AT_RES under AT_MAC. K_AUSF = EMSK[0..32] becomes the pending K_AUSF.

use akma_core::eap::{self, ChallengeRequest, KDF_DEFAULT};
use akma_core::ids::ServingNetworkName;
use akma_core::keys::KAusf;

use crate::nas::Cause;
use crate::ue::eap_aka_prime_k_ausf;
use crate::usim::{Usim, UsimFailure};

/// Per-authentication peer state (none is needed for the 5G profile, which starts with the
/// challenge; kept for identity or notification rounds).
#[derive(Debug, Default)]
pub struct EapPeerState {}

/// What the peer does with one EAP request.
pub enum PeerOutput {
    /// An AKA'-Challenge verified: the EAP-Response and the new K_AUSF (EMSK[0..32]).
    Challenge {
        /// The EAP-Response/AKA'-Challenge packet.
        response: Vec<u8>,
        /// K_AUSF.
        k_ausf: KAusf,
    },
    /// Another response (AKA'-Synchronization-Failure, AKA'-Authentication-Reject,
    /// AKA'-Client-Error).
    Reply {
        /// The EAP-Response packet.
        response: Vec<u8>,
        /// The failure it reports, as the 5GMM cause it corresponds to.
        cause: Option<Cause>,
    },
    /// The request was discarded.
    Discard(&'static str),
}

/// Handles one EAP-Request.
pub fn on_request(
    usim: &mut Usim,
    _state: &mut Option<EapPeerState>,
    snn: &ServingNetworkName,
    _identity: &str,
    packet: &[u8],
) -> PeerOutput {
    let Ok(req) = ChallengeRequest::decode(packet) else {
        // RFC 4187 §6.3.1: a packet the peer cannot process gets AKA'-Client-Error.
        return match packet.get(1) {
            Some(&id) => reply(
                eap::client_error(id, eap::CLIENT_ERROR_UNABLE_TO_PROCESS),
                Some(Cause::PROTOCOL_ERROR),
            ),
            None => PeerOutput::Discard("EAP packet too short"),
        };
    };
    let id = req.identifier;
    // RFC 9048 §3.2: the peer uses the first KDF the server offers; only KDF 1 exists.
    if req.kdfs.first() != Some(&KDF_DEFAULT) {
        return reply(
            eap::client_error(id, eap::CLIENT_ERROR_UNABLE_TO_PROCESS),
            Some(Cause::PROTOCOL_ERROR),
        );
    }
    // RFC 9048 §3.1: the network name must be the one the UE itself uses (the SNN).
    if req.network_name != snn.as_str().as_bytes() {
        return reply(eap::authentication_reject(id), Some(Cause::MAC_FAILURE));
    }
    let a = match usim.authenticate(&req.rand, &req.autn) {
        Ok(a) => a,
        Err(UsimFailure::SyncFailure { auts }) => {
            return reply(
                eap::synchronization_failure(id, &auts, &req.network_name),
                Some(Cause::SYNCH_FAILURE),
            )
        }
        Err(UsimFailure::MacFailure) => {
            return reply(eap::authentication_reject(id), Some(Cause::MAC_FAILURE))
        }
        Err(UsimFailure::Non5gAuthentication) => {
            return reply(
                eap::authentication_reject(id),
                Some(Cause::NON_5G_AUTHENTICATION_UNACCEPTABLE),
            )
        }
    };
    let identity = eap::key_derivation_identity(usim.supi()).to_vec();
    let (keys, k_ausf) = eap_aka_prime_k_ausf(&a.ck, &a.ik, snn, &a.sqn_xor_ak, &identity);
    if eap::verify_mac(&keys.k_aut, packet).is_err() {
        return reply(
            eap::client_error(id, eap::CLIENT_ERROR_UNABLE_TO_PROCESS),
            Some(Cause::MAC_FAILURE),
        );
    }
    match eap::challenge_response(id, &a.res[..], &keys.k_aut) {
        Ok(response) => PeerOutput::Challenge { response, k_ausf },
        Err(_) => PeerOutput::Discard("cannot encode the AKA'-Challenge response"),
    }
}

fn reply(r: Result<Vec<u8>, eap::EapError>, cause: Option<Cause>) -> PeerOutput {
    match r {
        Ok(response) => PeerOutput::Reply { response, cause },
        Err(_) => PeerOutput::Discard("cannot encode the EAP response"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::aka::{generate_he_av, sqn_from_u64};
    use akma_core::eap::PeerResponse;
    use akma_core::ids::{MncLen, RoutingIndicator, Supi};
    use akma_core::keys::{Opc, K};
    use akma_core::milenage::Milenage;

    use crate::usim::UsimProfile;

    const SNN: &str = "5G:mnc070.mcc901.3gppnetwork.org";

    fn usim() -> Usim {
        Usim::new(UsimProfile {
            k: K::from_bytes([5; 16]),
            opc: Opc::from_bytes([6; 16]),
            supi: Supi::parse("imsi-901700000000002").unwrap(),
            routing_indicator: RoutingIndicator::none_provisioned(),
            mnc_len: MncLen::Two,
            hn_public_key: None,
        })
    }

    /// The server side of one challenge, as the AUSF would build it from CK/IK.
    fn server_challenge(
        seq: u64,
        rand: [u8; 16],
        net: &str,
    ) -> (
        Vec<u8>,
        akma_core::eap_aka_prime::EapAkaPrimeKeys,
        KAusf,
        [u8; 8],
    ) {
        let m = Milenage::new(&K::from_bytes([5; 16]), &Opc::from_bytes([6; 16]));
        let sqn = sqn_from_u64(seq << 5);
        let av = generate_he_av(
            &m,
            &rand,
            &sqn,
            &[0x80, 0],
            &akma_core::ids::ServingNetworkName::parse(SNN).unwrap(),
        );
        let o = m.f2345(&rand);
        let snn = ServingNetworkName::parse(SNN).unwrap();
        let (keys, k_ausf) = eap_aka_prime_k_ausf(
            &o.ck,
            &o.ik,
            &snn,
            &av.autn[..6].try_into().unwrap(),
            b"901700000000002",
        );
        let req = eap::challenge_request(7, &rand, &av.autn, net.as_bytes(), &keys.k_aut).unwrap();
        (req, keys, k_ausf, o.res)
    }

    #[test]
    fn challenge_answered_with_res_and_k_ausf() {
        let mut u = usim();
        let snn = ServingNetworkName::parse(SNN).unwrap();
        let (req, keys, k_ausf, res) = server_challenge(1, [1; 16], SNN);
        let PeerOutput::Challenge {
            response,
            k_ausf: got,
        } = on_request(&mut u, &mut None, &snn, "", &req)
        else {
            panic!("no challenge response")
        };
        assert_eq!(got, k_ausf);
        eap::verify_mac(&keys.k_aut, &response).unwrap();
        match PeerResponse::decode(&response).unwrap() {
            PeerResponse::Challenge {
                identifier, res: r, ..
            } => {
                assert_eq!(identifier, 7);
                assert_eq!(r, res.to_vec());
            }
            other => panic!("{other:?}"),
        }
        // The same challenge again: synchronisation failure.
        let PeerOutput::Reply { response, cause } = on_request(&mut u, &mut None, &snn, "", &req)
        else {
            panic!("no reply")
        };
        assert_eq!(cause, Some(Cause::SYNCH_FAILURE));
        assert!(matches!(
            PeerResponse::decode(&response).unwrap(),
            PeerResponse::SynchronizationFailure { .. }
        ));
    }

    #[test]
    fn wrong_network_name_and_bad_mac_are_refused() {
        let mut u = usim();
        let snn = ServingNetworkName::parse(SNN).unwrap();
        let (req, ..) = server_challenge(1, [2; 16], "5G:mnc001.mcc001.3gppnetwork.org");
        assert!(matches!(
            on_request(&mut u, &mut None, &snn, "", &req),
            PeerOutput::Reply {
                cause: Some(Cause::MAC_FAILURE),
                ..
            }
        ));
        let (mut req, ..) = server_challenge(2, [3; 16], SNN);
        let n = req.len();
        req[n - 1] ^= 1; // AT_MAC is the last attribute
        assert!(matches!(
            on_request(&mut u, &mut None, &snn, "", &req),
            PeerOutput::Reply {
                cause: Some(Cause::MAC_FAILURE),
                ..
            }
        ));
        assert!(matches!(
            on_request(&mut u, &mut None, &snn, "", &[1]),
            PeerOutput::Discard(_)
        ));
    }
}
