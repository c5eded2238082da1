//! The AAnF's rules as plain functions: who may call what, which AF an `afId` names and with
//! which Ua* protocol, and what an application key answer contains. No I/O, no HTTP.

use akma_core::akma::{derive_k_af, AfId, UaProtocolId};
use akma_core::ids::{AfFqdn, Gpsi, Supi};
use akma_core::keys::{KAf, KAkma};

use crate::config::{AanfConfig, AfPolicy, NfType, RoamingPolicy};
use akma_sbi_model::nnrf::PlmnId;

/// OAuth2 scopes of Naanf_AKMA (declared once, in `akma-sbi-model`).
pub use akma_sbi_model::naanf::scope;

/// The caller of an operation: [`Consumer::Dev`] in development mode, else
/// `Consumer::Nf` with the authenticated consumer (`akma_sbi_model::Caller`).
pub use akma_sbi_model::Caller as Consumer;

/// The Naanf_AKMA operations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Naanf_AKMA_AnchorKey_Register.
    RegisterAnchorKey,
    /// Naanf_AKMA_ApplicationKey_Get (and AnonUser_Get).
    RetrieveApplicationKey,
    /// Naanf_AKMA_Context_Remove.
    RemoveContext,
    /// AKMA push-info (`naanf-akma-push`, a project extension).
    PushInfo,
}

impl Operation {
    /// The operation's descriptor: allowed NF types and scopes (`conventions.md`; TS 29.535
    /// §4.1 and YAML), declared once in `akma_sbi_model::naanf::op`.
    pub fn descriptor(self) -> &'static akma_sbi_model::Operation {
        use akma_sbi_model::naanf::op;
        match self {
            Operation::RegisterAnchorKey => &op::REGISTER_ANCHOR_KEY,
            Operation::RetrieveApplicationKey => &op::RETRIEVE_APPLICATION_KEY,
            Operation::RemoveContext => &op::REMOVE_CONTEXT,
            Operation::PushInfo => &akma_sbi_model::naanf_push::op::PUSH_INFO,
        }
    }

    /// The metric / log label.
    pub fn label(self) -> &'static str {
        self.descriptor().name
    }
}

/// Why a request is refused by the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The consumer's NF type may not use the operation, or its token lacks a scope.
    #[error("{0}")]
    UnauthorizedConsumer(String),
    /// The AF is not registered, not this consumer, or not allowed the Ua* protocol.
    #[error("{0}")]
    AfNotAuthorized(String),
    /// A `notifUri` this consumer may not give (400, `/notifUri`): its host is none of the
    /// AF's (or the NEF's) registered hosts, or its scheme is not allowed here.
    #[error("{0}")]
    CallbackNotAllowed(String),
}

/// The host of a callback URI (the shared rule of `akma-sbi-model`).
pub use akma_sbi_model::common::fields::uri_host;

/// Service disable (TS 29.522 V18.6.0 `notifUri`): whether this consumer may have the AAnF
/// POST to `uri` about AF `policy`. The host must be the AF's FQDN or one of its
/// `callback_hosts`, or, for the NEF (which relays to the outside AF), one of
/// `nef_callback_hosts`, so that no consumer can make the AAnF POST anywhere else. In
/// development mode loopback hosts are accepted too. (Whether the scheme may be `http://`
/// is the peer rule's, checked by the caller.)
//= req 33535-7.1-service-disable-uri
pub fn check_notif_uri(
    config: &AanfConfig,
    consumer: &Consumer,
    policy: &AfPolicy,
    uri: &str,
) -> Result<(), RuleError> {
    let host = uri_host(uri).ok_or_else(|| {
        RuleError::CallbackNotAllowed("not an http:// or https:// URI with a host".into())
    })?;
    let af_hosts = || {
        std::iter::once(policy.fqdn.as_str().to_ascii_lowercase())
            .chain(policy.callback_hosts.iter().cloned())
    };
    let allowed = match consumer {
        Consumer::Dev => {
            af_hosts().any(|h| h == host)
                || config.nef_callback_hosts.contains(&host)
                || akma_sbi_model::common::fields::is_loopback_host(&host)
        }
        Consumer::Nf(c) if c.nf_type == NfType::Nef => match policy.plmn.as_ref() {
            // A partner's NEF relays to the outside AFs it fronts: its own hosts.
            Some(p) => config
                .partner_plmn(p)
                .is_some_and(|r| r.nef_callback_hosts.contains(&host)),
            None => config.nef_callback_hosts.contains(&host),
        },
        Consumer::Nf(_) => af_hosts().any(|h| h == host),
    };
    if allowed {
        Ok(())
    } else {
        Err(RuleError::CallbackNotAllowed(format!(
            "host {host:?} is not registered for callbacks of AF {} (its FQDN, callback_hosts, or for the NEF nef_callback_hosts)",
            policy.fqdn
        )))
    }
}

/// Checks that the consumer may call the operation at all (the generic
/// `akma_sbi_model::authorize`: NF type, then scopes), and that a consumer of a roaming
/// partner ([`partner`]) asks only for application keys.
//= req 29535-authorization
pub fn authorize(config: &AanfConfig, consumer: &Consumer, op: Operation) -> Result<(), RuleError> {
    consumer
        .authorize(op.descriptor())
        .map_err(|e| RuleError::UnauthorizedConsumer(e.to_string()))?;
    if let Consumer::Nf(c) = consumer {
        if let Some(r) = partner(config, c)? {
            if op != Operation::RetrieveApplicationKey {
                return Err(RuleError::UnauthorizedConsumer(format!(
                    "consumer {} of partner PLMN {} may use only ApplicationKey_Get",
                    c.nf_instance_id, r.plmn
                )));
            }
        }
    }
    Ok(())
}

/// Roaming (TS 33.535 §4.1; TS 29.510 §6.3.5.2.4 `consumerPlmnId`): the partner PLMN of a
/// consumer, `None` for this network's own. A consumer that `[[roaming]]` lists (its NEF, or
/// the identity of one of its `[[af]]` entries) must hold a token whose `consumerPlmnId` is
/// that PLMN, which the home NRF writes only into the tokens a partner's NRF asked for; a
/// token naming a partner PLMN for a consumer configured as this network's is refused too.
//= req 33535-4.1-roaming-af-in-vplmn
pub fn partner<'a>(
    config: &'a AanfConfig,
    c: &akma_sbi_model::Consumer,
) -> Result<Option<&'a RoamingPolicy>, RuleError> {
    use akma_sbi_model::common::FromSbiJson;
    let claimed = match c.claims.extra.get("consumerPlmnId") {
        None => None,
        Some(v) => Some(PlmnId::from_sbi_json(v).map_err(|e| {
            RuleError::UnauthorizedConsumer(format!(
                "the token's consumerPlmnId is not a PlmnId: {e}"
            ))
        })?),
    };
    match (config.partner_of(&c.nf_instance_id), claimed) {
        (Some(r), Some(p)) if r.plmn.same_network(&p) => Ok(Some(r)),
        (Some(r), _) => Err(RuleError::UnauthorizedConsumer(format!(
            "consumer {} belongs to partner PLMN {}; its token must name it as consumerPlmnId",
            c.nf_instance_id, r.plmn
        ))),
        (None, Some(p)) if config.partner_plmn(&p).is_some() => {
            Err(RuleError::UnauthorizedConsumer(format!(
                "the token names partner PLMN {p} for consumer {}, which is not one of that PLMN's consumers here ([[roaming]] nef, [[af]] plmn)",
                c.nf_instance_id
            )))
        }
        (None, _) => Ok(None),
    }
}

/// Resolves a parsed SBI `afId` (FQDN and optional `;ua=`, from [`AfId::parse_sbi`]) to the
/// AF_ID used for K_AF and the AF's policy, and checks that this consumer may ask for it.
//= req 33535-6.2-aanf-authorizes-af
pub fn resolve_af(
    config: &AanfConfig,
    consumer: &Consumer,
    fqdn: &AfFqdn,
    ua: Option<UaProtocolId>,
) -> Result<(AfId, AfPolicy), RuleError> {
    let fqdn = fqdn.clone();
    let policy = match (config.afs.get(&fqdn), consumer) {
        (Some(p), _) => p.clone(),
        (None, Consumer::Dev) => AfPolicy::dev_default(fqdn.clone()),
        (None, Consumer::Nf(_)) => {
            return Err(RuleError::AfNotAuthorized(format!(
                "AF {fqdn} is not registered for AKMA"
            )))
        }
    };
    let mut policy = policy;
    if let Consumer::Nf(c) = consumer {
        let id = &c.nf_instance_id;
        if c.nf_type == NfType::Af && policy.identity.as_deref() != Some(id.as_str()) {
            return Err(RuleError::AfNotAuthorized(format!(
                "consumer {id} may not request keys for AF {fqdn}"
            )));
        }
        match (partner(config, c)?, &policy.plmn) {
            (Some(r), Some(p)) if r.plmn.same_network(p) => {}
            (Some(r), _) => {
                return Err(RuleError::AfNotAuthorized(format!(
                    "AF {fqdn} is not an AF of partner PLMN {} ([[af]] plmn)",
                    r.plmn
                )))
            }
            (None, Some(p)) => {
                return Err(RuleError::AfNotAuthorized(format!(
                "AF {fqdn} is an AF of partner PLMN {p}: only that PLMN's consumers get its keys"
            )))
            }
            (None, None) => {}
        }
    }
    // A partner's AF receives at most what its [[roaming]] entry allows, and no push
    // material (development mode applies the same caps).
    if let Some(r) = policy.plmn.as_ref().and_then(|p| config.partner_plmn(p)) {
        policy.allow_supi &= r.allow_supi;
        policy.allow_gpsi &= r.allow_gpsi;
        policy.allow_push = false;
    }
    let ua = ua.unwrap_or_else(|| policy.default_ua());
    if !policy.allows_ua(ua) {
        return Err(RuleError::AfNotAuthorized(format!(
            "AF {fqdn} is not registered for the Ua* protocol {ua}"
        )));
    }
    Ok((AfId::new(fqdn, ua), policy))
}

/// AKMA push-info (project extension): the AF must be registered with `allow_push`, and a
/// request naming the UE by SUPI is for the NEF (which translated an external AF's GPSI) or
/// for an AF allowed the SUPI; anyone else names the UE by GPSI.
pub fn authorize_push(
    policy: &AfPolicy,
    consumer: &Consumer,
    by_supi: bool,
) -> Result<(), RuleError> {
    if !policy.allow_push {
        return Err(RuleError::AfNotAuthorized(format!(
            "AF {} is not registered for AKMA push",
            policy.fqdn
        )));
    }
    let supi_ok = match consumer {
        Consumer::Dev => true,
        Consumer::Nf(c) => c.nf_type == NfType::Nef || policy.allow_supi,
    };
    if by_supi && !supi_ok {
        return Err(RuleError::AfNotAuthorized(format!(
            "AF {} may not name UEs by SUPI; give the GPSI",
            policy.fqdn
        )));
    }
    Ok(())
}

/// TS 33.535 §4.2.1 (Release 18): whether the AAnF fetches the GPSI from the UDM for this
/// answer: the consumer is an AF inside the operator's network, it may have the GPSI, the
/// context holds none (the caller checks that it holds a SUPI to translate). (The NEF
/// translates for an outside AF itself, §6.3; in development mode the caller's kind is
/// unknown, so never.)
/// A partner's NEF (roaming) cannot translate a SUPI of this network and never receives
/// it, so the home AAnF fetches the GPSI for it too.
//= req 33535-4.2.1-aanf-gpsi-from-udm
pub fn fetches_gpsi(consumer: &Consumer, policy: &AfPolicy, answer: &KeyAnswer) -> bool {
    matches!(consumer, Consumer::Nf(c)
        if c.nf_type == NfType::Af || (c.nf_type == NfType::Nef && policy.plmn.is_some()))
        && answer.gpsi_allowed
        && answer.gpsi.is_none()
}

/// The content of an application key answer.
#[derive(Debug)]
pub struct KeyAnswer {
    /// K_AF.
    pub kaf: KAf,
    /// K_AF expiry, unix seconds.
    pub expiry: u64,
    /// The SUPI, when policy, scope and `anonInd` allow it.
    pub supi: Option<Supi>,
    /// The GPSI, when policy and `anonInd` allow it and the context has one.
    pub gpsi: Option<Gpsi>,
    /// Whether policy and `anonInd` allow a GPSI (whether or not the context has one).
    pub gpsi_allowed: bool,
}

/// The stored context fields an answer draws on.
pub struct ContextView<'a> {
    /// K_AKMA.
    pub k_akma: &'a KAkma,
    /// The SUPI, if registered.
    pub supi: Option<&'a Supi>,
    /// The GPSI, if registered.
    pub gpsi: Option<&'a Gpsi>,
    /// The context's own expiry, unix seconds.
    pub expires_at: Option<u64>,
}

/// Builds the answer: K_AF = KDF(K_AKMA, AF_ID); expiry from the AF's policy, never later
/// than the context's; identities only where allowed (TS 33.535 §6.2, §6.3, §7.1.3;
/// `conventions.md`).
//= req 33535-6.2-aanf-derives-kaf, 33535-6.2-kaf-expiry, 33535-7.1.5-anon-user-get, 33535-6.3-nef-no-supi, 29535-authorization
pub fn answer(
    ctx: &ContextView<'_>,
    af_id: &AfId,
    policy: &AfPolicy,
    consumer: &Consumer,
    anon: bool,
    now: u64,
) -> KeyAnswer {
    let kaf = derive_k_af(ctx.k_akma, af_id);
    let mut expiry = now.saturating_add(policy.kaf_lifetime_secs);
    if let Some(limit) = ctx.expires_at {
        expiry = expiry.min(limit);
    }
    let (supi_ok, gpsi_ok) = if anon {
        (false, false)
    } else {
        match consumer {
            Consumer::Dev => (policy.allow_supi, policy.allow_gpsi),
            Consumer::Nf(c) => {
                let scope_ok = c.has_scope(scope::SUPI_ACCESS);
                match c.nf_type {
                    // The NEF needs the SUPI only to map it to the GPSI it may pass on to
                    // an external AF, which never receives the SUPI itself (TS 33.535
                    // §6.3). An AF with its own identity is inside the operator's network
                    // and receives its identities from the AAnF directly, so a NEF that
                    // fronts it gets no SUPI (ARCHITECTURE.md, "The NEF and the SUPI").
                    // A partner PLMN's NEF (roaming) never: the GPSI comes from here.
                    NfType::Nef => (
                        scope_ok
                            && policy.identity.is_none()
                            && policy.allow_gpsi
                            && policy.plmn.is_none(),
                        policy.allow_gpsi,
                    ),
                    _ => (scope_ok && policy.allow_supi, policy.allow_gpsi),
                }
            }
        }
    };
    KeyAnswer {
        kaf,
        expiry,
        supi: if supi_ok { ctx.supi.cloned() } else { None },
        gpsi: if gpsi_ok { ctx.gpsi.cloned() } else { None },
        gpsi_allowed: gpsi_ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(
        c: &AanfConfig,
        consumer: &Consumer,
        af_id: &str,
    ) -> Result<(AfId, AfPolicy), RuleError> {
        let (fqdn, ua) = AfId::parse_sbi(af_id).expect("test afId parses");
        resolve_af(c, consumer, &fqdn, ua)
    }

    fn config() -> AanfConfig {
        AanfConfig::parse(
            r#"
            [[consumer]]
            id = "ausf"
            nf_type = "AUSF"
            [[consumer]]
            id = "nef"
            nf_type = "NEF"
            [[af]]
            fqdn = "af1.example"
            identity = "af1"
            ua_protocols = ["0100000007", "01000100a8"]
            kaf_lifetime_secs = 600
            allow_supi = true
            [[af]]
            fqdn = "ext.example"
            allow_gpsi = true
            "#,
        )
        .unwrap()
    }

    fn auth(id: &str, nf_type: NfType, scopes: &[&str]) -> Consumer {
        Consumer::Nf(akma_sbi_model::Consumer {
            nf_instance_id: id.into(),
            nf_type,
            claims: akma_sbi_model::nnrf::Claims {
                sub: id.into(),
                scopes: scopes.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        })
    }

    //= test 29535-authorization
    #[test]
    fn nf_types_and_scopes() {
        let c0 = config();
        let ausf = auth("ausf", NfType::Ausf, &[scope::API, scope::ANCHOR_KEY]);
        let af = auth("af1", NfType::Af, &[scope::API, scope::APPLICATION_KEY_GET]);
        assert!(authorize(&c0, &ausf, Operation::RegisterAnchorKey).is_ok());
        assert!(authorize(&c0, &ausf, Operation::RemoveContext).is_ok());
        assert!(matches!(
            authorize(&c0, &ausf, Operation::RetrieveApplicationKey),
            Err(RuleError::UnauthorizedConsumer(_))
        ));
        assert!(authorize(&c0, &af, Operation::RetrieveApplicationKey).is_ok());
        assert!(authorize(&c0, &af, Operation::RegisterAnchorKey).is_err());
        let no_scope = auth("ausf", NfType::Ausf, &[scope::API]);
        let e = authorize(&c0, &no_scope, Operation::RegisterAnchorKey).unwrap_err();
        assert!(e.to_string().contains(scope::ANCHOR_KEY));
        assert!(authorize(&c0, &Consumer::Dev, Operation::RegisterAnchorKey).is_ok());
    }

    fn roaming_config() -> AanfConfig {
        AanfConfig::parse(
            r#"
            [[consumer]]
            id = "nef"
            nf_type = "NEF"
            [[af]]
            fqdn = "home.example"
            identity = "home-af"
            allow_supi = true
            allow_gpsi = true
            [[roaming]]
            plmn = "001-01"
            allow_gpsi = true
            nef = ["v-nef"]
            nef_callback_hosts = ["nef.visited.example"]
            [[roaming]]
            plmn = "262-01"
            [[af]]
            fqdn = "app.visited.example"
            plmn = "001-01"
            identity = "v-af"
            allow_supi = true
            allow_gpsi = true
            allow_push = true
            [[af]]
            fqdn = "outside.example"
            plmn = "001-01"
            allow_gpsi = true
            "#,
        )
        .unwrap()
    }

    fn from_plmn(mut c: Consumer, plmn: Option<serde_json::Value>) -> Consumer {
        if let (Consumer::Nf(n), Some(p)) = (&mut c, plmn) {
            n.claims.extra.insert("consumerPlmnId".into(), p);
        }
        c
    }

    //= test 33535-4.1-roaming-af-in-vplmn
    #[test]
    fn roaming_policy() {
        let c = roaming_config();
        let visited = || Some(serde_json::json!({"mcc": "001", "mnc": "01"}));
        let get = [scope::API, scope::APPLICATION_KEY_GET, scope::SUPI_ACCESS];
        let v_af = from_plmn(auth("v-af", NfType::Af, &get), visited());
        // The partner's AF gets its own keys, capped by [[roaming]]: no SUPI, no push.
        let (_, p) = resolve(&c, &v_af, "app.visited.example").unwrap();
        assert_eq!(
            (p.allow_supi, p.allow_gpsi, p.allow_push),
            (false, true, false)
        );
        assert!(authorize(&c, &v_af, Operation::RetrieveApplicationKey).is_ok());
        assert!(matches!(
            authorize(&c, &v_af, Operation::PushInfo),
            Err(RuleError::UnauthorizedConsumer(_))
        ));
        // Not a home AF's keys, and not without the claim, nor with another PLMN's.
        assert!(matches!(
            resolve(&c, &v_af, "home.example"),
            Err(RuleError::AfNotAuthorized(_))
        ));
        let bare = auth("v-af", NfType::Af, &get);
        assert!(matches!(
            authorize(&c, &bare, Operation::RetrieveApplicationKey),
            Err(RuleError::UnauthorizedConsumer(_))
        ));
        let other = from_plmn(
            auth("v-af", NfType::Af, &get),
            Some(serde_json::json!({"mcc": "262", "mnc": "01"})),
        );
        assert!(resolve(&c, &other, "app.visited.example").is_err());
        // The realm form of the MNC names the same network.
        let padded = from_plmn(
            auth("v-af", NfType::Af, &get),
            Some(serde_json::json!({"mcc": "001", "mnc": "001"})),
        );
        assert!(resolve(&c, &padded, "app.visited.example").is_ok());
        // A home consumer's token may not name a partner PLMN; a home AF cannot take a
        // partner AF's keys.
        let home_af = auth("home-af", NfType::Af, &get);
        assert!(resolve(&c, &home_af, "home.example").is_ok());
        assert!(resolve(&c, &home_af, "app.visited.example").is_err());
        let posing = from_plmn(auth("home-af", NfType::Af, &get), visited());
        assert!(authorize(&c, &posing, Operation::RetrieveApplicationKey).is_err());
        // The partner's NEF: an outside AF of that PLMN; never the SUPI, the GPSI fetched
        // here; its notifUri on its own hosts only.
        let v_nef = from_plmn(auth("v-nef", NfType::Nef, &get), visited());
        let (id, p) = resolve(&c, &v_nef, "outside.example").unwrap();
        let k = KAkma::from_bytes([5; 32]);
        let supi = Supi::parse("imsi-901700000000001").unwrap();
        let ctx = ContextView {
            k_akma: &k,
            supi: Some(&supi),
            gpsi: None,
            expires_at: None,
        };
        let a = answer(&ctx, &id, &p, &v_nef, false, 1_000);
        assert_eq!((a.supi.is_none(), a.gpsi_allowed), (true, true));
        assert!(fetches_gpsi(&v_nef, &p, &a));
        assert!(check_notif_uri(&c, &v_nef, &p, "https://nef.visited.example/n").is_ok());
        assert!(check_notif_uri(&c, &v_nef, &p, "https://app.visited.example/n").is_err());
        // This network's NEF fetches no GPSI (it translates the SUPI itself).
        let nef = auth("nef", NfType::Nef, &get);
        let (id, p) = resolve(&c, &Consumer::Dev, "home.example").unwrap();
        let a = answer(&ctx, &id, &p, &nef, false, 1_000);
        assert!(!fetches_gpsi(&nef, &p, &a));
        // Settings refused at load.
        for (bad, what) in [
            ("[[af]]\nfqdn = \"a.example\"\nplmn = \"001-01\"", "no [[roaming]]"),
            ("[[roaming]]\nplmn = \"001-01\"\n[[roaming]]\nplmn = \"001-001\"", "roaming"),
            ("[[roaming]]\nplmn = \"00101\"", "MCC-MNC"),
            (
                "[[consumer]]\nid = \"x\"\nnf_type = \"NEF\"\n[[roaming]]\nplmn = \"001-01\"\nnef = [\"x\"]",
                "already a consumer",
            ),
            (
                "[[af]]\nfqdn = \"h.example\"\nidentity = \"x\"\n[[roaming]]\nplmn = \"001-01\"\n[[af]]\nfqdn = \"v.example\"\nidentity = \"x\"\nplmn = \"001-01\"",
                "partner PLMN",
            ),
        ] {
            let e = AanfConfig::parse(bad).unwrap_err().to_string();
            assert!(e.contains(what), "{bad}: {e}");
        }
    }

    //= test 33535-6.2-aanf-authorizes-af
    #[test]
    fn af_resolution() {
        let c = config();
        let af1 = auth("af1", NfType::Af, &[]);
        let (id, p) = resolve(&c, &af1, "AF1.example").unwrap();
        assert_eq!(id.ua(), UaProtocolId::TLS13_PSK);
        assert_eq!(id.fqdn().as_str(), "af1.example");
        assert_eq!(p.kaf_lifetime_secs, 600);
        let (id, _) = resolve(&c, &af1, "af1.example;ua=01000100A8").unwrap();
        assert_eq!(id.ua(), UaProtocolId::tls_suite(0xa8));
        assert!(matches!(
            resolve(&c, &af1, "af1.example;ua=0100000002"),
            Err(RuleError::AfNotAuthorized(_))
        ));
        // Another AF's identity may not ask for af1's keys.
        let other = auth("af2", NfType::Af, &[]);
        assert!(matches!(
            resolve(&c, &other, "af1.example"),
            Err(RuleError::AfNotAuthorized(_))
        ));
        // An AF with no identity is reachable only through the NEF.
        assert!(resolve(&c, &auth("nef", NfType::Nef, &[]), "ext.example").is_ok());
        assert!(resolve(&c, &af1, "ext.example").is_err());
        // Unregistered: refused when authenticated, default policy in dev mode.
        assert!(matches!(
            resolve(&c, &af1, "unknown.example"),
            Err(RuleError::AfNotAuthorized(_))
        ));
        let (id, p) = resolve(&c, &Consumer::Dev, "unknown.example").unwrap();
        assert_eq!((id.ua(), p.allow_supi), (UaProtocolId::TLS13_PSK, false));
    }

    //= test 33535-6.2-aanf-derives-kaf, 33535-6.2-kaf-expiry, 33535-7.1.5-anon-user-get
    #[test]
    fn answer_identities_and_expiry() {
        let c = config();
        let k = KAkma::from_bytes([5; 32]);
        let supi = Supi::parse("imsi-001010000000001").unwrap();
        let gpsi = Gpsi::parse("msisdn-4915112345678").unwrap();
        let ctx = ContextView {
            k_akma: &k,
            supi: Some(&supi),
            gpsi: Some(&gpsi),
            expires_at: Some(1_000_300),
        };
        let af1 = auth("af1", NfType::Af, &[scope::SUPI_ACCESS]);
        let (id, p) = resolve(&c, &af1, "af1.example").unwrap();
        let a = answer(&ctx, &id, &p, &af1, false, 1_000_000);
        assert_eq!(a.kaf, derive_k_af(&k, &id));
        assert_eq!(a.expiry, 1_000_300, "capped by the context's expiry");
        assert_eq!(a.supi.as_ref(), Some(&supi));
        assert_eq!(a.gpsi, None, "af1 may not receive the GPSI");
        let anon = answer(&ctx, &id, &p, &af1, true, 1_000_000);
        assert_eq!((anon.supi, anon.gpsi), (None, None));
        assert_eq!(anon.kaf, a.kaf);
        // Without the supi-access scope no SUPI.
        let af1_noscope = auth("af1", NfType::Af, &[]);
        assert_eq!(answer(&ctx, &id, &p, &af1_noscope, false, 0).supi, None);
        let open = ContextView {
            expires_at: None,
            ..ctx
        };
        assert_eq!(
            answer(&open, &id, &p, &af1, false, 1_000_000).expiry,
            1_000_600
        );
        // NEF for an external AF allowed the GPSI: gets GPSI, and SUPI only with the scope.
        let nef = auth("nef", NfType::Nef, &[scope::SUPI_ACCESS]);
        let (eid, ep) = resolve(&c, &nef, "ext.example").unwrap();
        let n = answer(&open, &eid, &ep, &nef, false, 0);
        assert_eq!(
            (n.supi.as_ref(), n.gpsi.as_ref()),
            (Some(&supi), Some(&gpsi))
        );
        assert_eq!(n.expiry, crate::config::DEFAULT_KAF_LIFETIME_SECS);
        // A NEF fronting an AF with its own identity (af1, allowed the SUPI) gets no SUPI:
        // that AF receives it from the AAnF directly (issue 9 #14).
        let (iid, ip) = resolve(&c, &nef, "af1.example").unwrap();
        let n = answer(&open, &iid, &ip, &nef, false, 0);
        assert_eq!(n.kaf, derive_k_af(&k, &iid));
        assert_eq!((n.supi, n.gpsi), (None, None));
    }

    #[test]
    fn notif_uri_hosts_are_the_afs_or_the_nefs() {
        let c = AanfConfig::parse(
            r#"
            nef_callback_hosts = ["nef.example"]
            [[consumer]]
            id = "nef"
            nf_type = "NEF"
            [[af]]
            fqdn = "af1.example"
            identity = "af1"
            callback_hosts = ["hooks.af1.example", "10.0.0.7"]
            "#,
        )
        .unwrap();
        let p = &c.afs[&akma_core::ids::AfFqdn::parse("af1.example").unwrap()];
        let af = auth("af1", NfType::Af, &[]);
        let nef = auth("nef", NfType::Nef, &[]);
        let ok = |who: &Consumer, uri: &str| check_notif_uri(&c, who, p, uri).is_ok();
        assert!(ok(&af, "https://af1.example/akma/disable/x"));
        assert!(ok(&af, "https://AF1.example:8443/x"));
        assert!(ok(&af, "https://hooks.af1.example/x"));
        assert!(ok(&af, "https://10.0.0.7:9000/x"));
        for bad in [
            "https://evil.example/x",
            "https://af1.example.evil.example/x",
            "https://nef.example/x",
            "https://127.0.0.1/x",
            "https://af1.example@evil.example/x",
            "ftp://af1.example/x",
        ] {
            let e = check_notif_uri(&c, &af, p, bad).unwrap_err();
            assert!(matches!(e, RuleError::CallbackNotAllowed(_)), "{bad}");
        }
        // The NEF: only its own hosts (it relays to the outside AF).
        assert!(ok(&nef, "https://nef.example/3gpp-akma-notify/v1/relay/t"));
        assert!(!ok(&nef, "https://af1.example/x"));
        // Development mode: the AF's and NEF's hosts, and loopback.
        assert!(ok(&Consumer::Dev, "http://127.0.0.1:4000/x"));
        assert!(ok(&Consumer::Dev, "http://[::1]:4000/x"));
        assert!(ok(&Consumer::Dev, "http://localhost:4000/x"));
        assert!(!ok(&Consumer::Dev, "http://192.168.1.1/x"));
        assert_eq!(uri_host("https://[::1]:80/x").as_deref(), Some("::1"));
        assert_eq!(uri_host("https://h:1?q").as_deref(), Some("h"));
        assert_eq!(uri_host("https:///x"), None);
    }
}
