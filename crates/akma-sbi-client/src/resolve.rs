//! How a client finds a producer: [`NfResolver`] gives the `{apiRoot}` of an NF of a type,
//! with a hint (routing indicator and/or PLMN, TS 29.510 discovery parameters
//! `routing-indicator` and `target-plmn-list`): a [`StaticResolver`] (configured URIs), or
//! [`crate::nrf::NrfResolver`] (Nnrf_NFDiscovery with a cache, used in turn).
//!
//! The clients of this crate call [`NfResolver::resolve_async`] before every request, and
//! [`NfResolver::unreachable`] when a producer could not be connected to (the request was
//! not sent), then try once more with what the resolver gives next.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use akma_sbi_model::common::NfType;
use akma_sbi_model::nnrf::PlmnId;

use crate::client::ClientError;

/// What the caller knows about the NF it needs, for selection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NfHint {
    /// The UE's routing indicator (`^[0-9]{1,4}$`, e.g. from the SUCI or the UDM's
    /// `routingId`), which selects the AUSF/UDM/AAnF group.
    pub routing_indicator: Option<String>,
    /// The target PLMN: the home network of an A-KID's realm (roaming, TS 33.535 §4.1),
    /// sent as `target-plmn-list` and as the token request's `targetPlmn`.
    pub plmn: Option<PlmnId>,
    /// The home network realm (the A-KID's part after `@`), which selects the AAnF of a
    /// home network (TS 33.535 §6.2: the NEF finds the AAnF from the A-KID).
    pub realm: Option<String>,
}

impl NfHint {
    /// A hint with a routing indicator.
    pub fn routing_indicator(ri: impl Into<String>) -> Self {
        Self {
            routing_indicator: Some(ri.into()),
            ..Self::default()
        }
    }

    /// The hint of an A-KID (`<routing indicator>.<A-TID>@<realm>`, `conventions.md`): its
    /// routing indicator and realm, which select the AAnF (TS 33.535 §6.1, §6.2), and the
    /// home network the realm names (`5gc.mnc<MNC>.mcc<MCC>.3gppnetwork.org`; none for an
    /// NAI realm), which selects the PLMN whose AAnF holds the context: a visited network's
    /// AF or NEF reaches the UE's home AAnF through the NRFs (roaming, TS 33.535 §4.1).
    //= req 33535-6.7-aanf-selection
    //= req 33535-4.1-roaming-af-in-hplmn, 33535-4.1-roaming-af-in-vplmn
    pub fn of_a_kid(a_kid: &akma_core::ids::AKid) -> Self {
        let s = a_kid.as_str();
        let (user, realm) = s.rsplit_once('@').unwrap_or((s, ""));
        let ri = user.split_once('.').map_or(user, |(ri, _)| ri);
        let mut hint = Self::routing_indicator(ri).with_realm(realm);
        hint.plmn = PlmnId::of_realm(realm);
        hint
    }

    /// This hint without a target PLMN: the producer is in the consumer's own network (the
    /// AUSF anchors only its own network's subscribers), so the NRF is asked as before
    /// roaming, without a `target-plmn-list` a third-party NRF might compare with another
    /// MNC length than the realm's.
    pub fn at_home(mut self) -> Self {
        self.plmn = None;
        self
    }

    /// This hint with the home network realm.
    pub fn with_realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = Some(realm.into());
        self
    }
}

/// The future of [`NfResolver::resolve_async`].
pub type ResolveFuture<'a> = Pin<Box<dyn Future<Output = Result<String, ClientError>> + Send + 'a>>;

/// Finds the `{apiRoot}` (`scheme://authority[/prefix]`) of an NF of a type.
pub trait NfResolver: Send + Sync + fmt::Debug {
    /// The `{apiRoot}` of an NF of type `nf_type` for `hint`, from what the resolver
    /// already knows (no I/O).
    fn resolve(&self, nf_type: NfType, hint: &NfHint) -> Result<String, ClientError>;

    /// The `{apiRoot}` of an NF of type `nf_type` for `hint`, asking (e.g. an NRF) if the
    /// resolver does not know one yet or what it knows has expired. The default is
    /// [`NfResolver::resolve`].
    fn resolve_async<'a>(&'a self, nf_type: NfType, hint: &'a NfHint) -> ResolveFuture<'a> {
        Box::pin(std::future::ready(self.resolve(nf_type, hint)))
    }

    /// A connection to `api_root` (of an NF of `nf_type`) failed: a resolver that knows
    /// several producers avoids it for a while. The default does nothing.
    fn unreachable(&self, nf_type: NfType, api_root: &str) {
        let _ = (nf_type, api_root);
    }
}

/// Configured `{apiRoot}`s: one per NF type, optionally one per NF type and routing
/// indicator.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StaticResolver {
    by_type: HashMap<NfType, String>,
    by_routing_indicator: HashMap<(NfType, String), String>,
}

impl StaticResolver {
    /// No NF known.
    pub fn new() -> Self {
        Self::default()
    }

    /// One NF of one type at `api_root`.
    pub fn single(nf_type: NfType, api_root: impl Into<String>) -> Self {
        Self::new().with(nf_type, api_root)
    }

    /// Adds (or replaces) the NF of `nf_type`.
    pub fn with(mut self, nf_type: NfType, api_root: impl Into<String>) -> Self {
        self.by_type.insert(nf_type, api_root.into());
        self
    }

    /// Adds (or replaces) the NF of `nf_type` that serves routing indicator `ri`.
    pub fn with_routing_indicator(
        mut self,
        nf_type: NfType,
        ri: impl Into<String>,
        api_root: impl Into<String>,
    ) -> Self {
        self.by_routing_indicator
            .insert((nf_type, ri.into()), api_root.into());
        self
    }
}

impl NfResolver for StaticResolver {
    fn resolve(&self, nf_type: NfType, hint: &NfHint) -> Result<String, ClientError> {
        hint.routing_indicator
            .as_ref()
            .and_then(|ri| self.by_routing_indicator.get(&(nf_type, ri.clone())))
            .or_else(|| self.by_type.get(&nf_type))
            .cloned()
            .ok_or(ClientError::NoProducer { nf_type })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    //= test 33535-4.1-roaming-af-in-vplmn
    #[test]
    fn an_a_kid_names_its_home_plmn() {
        let k = |s: &str| akma_core::ids::AKid::parse(s).unwrap();
        let h = NfHint::of_a_kid(&k("12.abc@5gc.mnc070.mcc901.3gppnetwork.org"));
        assert_eq!(h.routing_indicator.as_deref(), Some("12"));
        assert_eq!(h.plmn, PlmnId::new("901", "070"));
        assert!(h
            .plmn
            .unwrap()
            .same_network(&PlmnId::new("901", "70").unwrap()));
        // An NAI realm names no PLMN: the AAnF is this network's.
        let h = NfHint::of_a_kid(&k("0.abc@operator.example"));
        assert_eq!(
            (h.plmn, h.realm.as_deref()),
            (None, Some("operator.example"))
        );
    }

    //= test 33535-6.7-aanf-selection
    #[test]
    fn routing_indicator_then_type() {
        let r = StaticResolver::single(NfType::Aanf, "http://a").with_routing_indicator(
            NfType::Aanf,
            "0012",
            "http://b",
        );
        assert_eq!(
            r.resolve(NfType::Aanf, &NfHint::default()).unwrap(),
            "http://a"
        );
        assert_eq!(
            r.resolve(NfType::Aanf, &NfHint::routing_indicator("0012"))
                .unwrap(),
            "http://b"
        );
        assert_eq!(
            r.resolve(NfType::Aanf, &NfHint::routing_indicator("0099"))
                .unwrap(),
            "http://a"
        );
        assert!(matches!(
            r.resolve(NfType::Udm, &NfHint::default()),
            Err(ClientError::NoProducer {
                nf_type: NfType::Udm
            })
        ));
    }
}
