//! The NRF's rules as plain functions over values, with the time passed in: profile
//! checks at registration, the effective status (heartbeat expiry), RFC 6902 JSON Patch,
//! discovery matching and the token grant. No I/O, no clock.

use akma_core::ids::RoutingIndicator;
use akma_sbi_model::common::{FromSbiJson, NfInstanceId, ValidationError};
use akma_sbi_model::nnrf::{
    parse_nf_type, AccessTokenErr, AccessTokenReq, NfProfile, NfStatus, PlmnId, TokenErrorCode,
};
use akma_sbi_model::NfType;
use serde_json::Value;

use crate::config::PolicyRule;

/// The NRF's timers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timers {
    /// The heartBeatTimer the NRF gives every profile (seconds).
    pub heartbeat_secs: u32,
    /// Grace after a missed heartbeat before the profile is suspended (seconds).
    pub grace_secs: u32,
}

/// A registered profile and when its NF last showed signs of life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The profile as registered (with the NRF's `heartBeatTimer`).
    pub profile: NfProfile,
    /// Unix seconds of the registration or of the last heartbeat (`PATCH`).
    pub last_heartbeat: u64,
}

impl Record {
    /// TS 29.510 §5.2.2.3.2: a REGISTERED profile with no heartbeat within its
    /// heartBeatTimer (plus the grace) is SUSPENDED (and so not discoverable).
    pub fn effective_status(&self, now: u64, t: Timers) -> NfStatus {
        let hb = u64::from(self.profile.heart_beat_timer.unwrap_or(t.heartbeat_secs));
        let deadline = self
            .last_heartbeat
            .saturating_add(hb)
            .saturating_add(u64::from(t.grace_secs));
        if self.profile.nf_status == NfStatus::Registered && now > deadline {
            NfStatus::Suspended
        } else {
            self.profile.nf_status
        }
    }

    /// The profile as the NRF reports it now (with its effective status).
    pub fn seen(&self, now: u64, t: Timers) -> NfProfile {
        let mut p = self.profile.clone();
        p.nf_status = self.effective_status(now, t);
        p
    }
}

/// A refusal of an NFManagement request (mapped to ProblemDetails in `routes`).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// The body's `nfInstanceId` is not the path's (400 `MANDATORY_IE_INCORRECT`).
    #[error("nfInstanceId {body} differs from the path's {path}")]
    IdMismatch {
        /// In the path.
        path: String,
        /// In the body.
        body: String,
    },
    /// None of `fqdn`, `ipv4Addresses`, `ipv6Addresses` (400 `MANDATORY_IE_MISSING`).
    #[error("the profile has none of fqdn, ipv4Addresses, ipv6Addresses")]
    NoAddress,
    /// No such NF instance (404).
    #[error("no NF instance {0} is registered")]
    NotFound(String),
    /// The patch document or one of its operations is wrong (400 on `/{index}`).
    #[error("the patch: {reason}")]
    Patch {
        /// Index of the operation (`None`: the document itself).
        index: Option<usize>,
        /// What is wrong.
        reason: String,
    },
    /// The patched profile is not a valid profile (400 with its pointers).
    #[error("the patched profile is invalid: {0}")]
    Patched(ValidationError),
    /// The caller's certificate names another NF instance (403 `UNAUTHORIZED_CONSUMER`).
    #[error("the client certificate's NF instance id is not {0}")]
    NotOwner(String),
}

/// Checks a profile registered at `path_id` and gives it the NRF's heartBeatTimer
/// (TS 29.510 §5.2.2.2.2: the NRF may change the proposed value; it always decides).
pub fn admit_profile(
    path_id: &NfInstanceId,
    mut p: NfProfile,
    t: Timers,
) -> Result<NfProfile, RuleError> {
    if &p.nf_instance_id != path_id {
        return Err(RuleError::IdMismatch {
            path: path_id.to_string(),
            body: p.nf_instance_id.to_string(),
        });
    }
    if !p.addressing_ok() {
        return Err(RuleError::NoAddress);
    }
    p.heart_beat_timer = Some(t.heartbeat_secs);
    Ok(p)
}

/// The production rule of NFManagement writes: an NF manages its own profile only (the
/// client certificate's `urn:uuid:` is the path's id). `None` in development mode.
pub fn check_owner(path_id: &NfInstanceId, cert_id: Option<Option<&str>>) -> Result<(), RuleError> {
    match cert_id {
        None => Ok(()),
        Some(Some(c)) if c.eq_ignore_ascii_case(path_id.as_str()) => Ok(()),
        Some(_) => Err(RuleError::NotOwner(path_id.to_string())),
    }
}

fn patch_err(index: usize, reason: impl Into<String>) -> RuleError {
    RuleError::Patch {
        index: Some(index),
        reason: reason.into(),
    }
}

/// Splits an RFC 6901 pointer into unescaped tokens (`""` is the whole document).
fn tokens(pointer: &str) -> Option<Vec<String>> {
    if pointer.is_empty() {
        return Some(Vec::new());
    }
    let rest = pointer.strip_prefix('/')?;
    Some(
        rest.split('/')
            .map(|t| t.replace("~1", "/").replace("~0", "~"))
            .collect(),
    )
}

fn parent<'a>(doc: &'a mut Value, toks: &[String]) -> Option<&'a mut Value> {
    let mut cur = doc;
    for t in toks {
        cur = match cur {
            Value::Object(m) => m.get_mut(t)?,
            Value::Array(a) => a.get_mut(t.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn add(doc: &mut Value, toks: &[String], value: Value) -> Result<(), String> {
    let Some((last, init)) = toks.split_last() else {
        *doc = value;
        return Ok(());
    };
    match parent(doc, init).ok_or("the parent of path does not exist")? {
        Value::Object(m) => {
            m.insert(last.clone(), value);
            Ok(())
        }
        Value::Array(a) if last == "-" => {
            a.push(value);
            Ok(())
        }
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| "not an array index")?;
            if i > a.len() {
                return Err("array index out of range".into());
            }
            a.insert(i, value);
            Ok(())
        }
        _ => Err("the parent of path is not an object or array".into()),
    }
}

fn remove(doc: &mut Value, toks: &[String]) -> Result<Value, String> {
    let (last, init) = toks
        .split_last()
        .ok_or("cannot remove the whole document")?;
    match parent(doc, init).ok_or("the parent of path does not exist")? {
        Value::Object(m) => m.remove(last).ok_or_else(|| "path does not exist".into()),
        Value::Array(a) => {
            let i: usize = last.parse().map_err(|_| "not an array index")?;
            if i >= a.len() {
                return Err("array index out of range".into());
            }
            Ok(a.remove(i))
        }
        _ => Err("path does not exist".into()),
    }
}

/// Applies an RFC 6902 JSON Patch document (`add`, `remove`, `replace`, `move`, `copy`,
/// `test`) to `doc`, all or nothing (TS 29.510 §5.2.2.3: NF update and heartbeat).
pub fn apply_patch(doc: &Value, patch: &Value) -> Result<Value, RuleError> {
    let Value::Array(ops) = patch else {
        return Err(RuleError::Patch {
            index: None,
            reason: "a JSON Patch document is an array of operations".into(),
        });
    };
    if ops.is_empty() {
        return Err(RuleError::Patch {
            index: None,
            reason: "the patch has no operation (minItems: 1)".into(),
        });
    }
    let mut out = doc.clone();
    for (i, op) in ops.iter().enumerate() {
        let Value::Object(o) = op else {
            return Err(patch_err(i, "an operation is an object"));
        };
        let name = o
            .get("op")
            .and_then(Value::as_str)
            .ok_or_else(|| patch_err(i, "op is missing or not a string"))?;
        let path = o
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| patch_err(i, "path is missing or not a string"))?;
        let toks = tokens(path).ok_or_else(|| patch_err(i, "path is not a JSON pointer"))?;
        let value = || {
            o.get("value")
                .cloned()
                .ok_or_else(|| patch_err(i, "value is missing"))
        };
        let from = || -> Result<Vec<String>, RuleError> {
            let f = o
                .get("from")
                .and_then(Value::as_str)
                .ok_or_else(|| patch_err(i, "from is missing"))?;
            tokens(f).ok_or_else(|| patch_err(i, "from is not a JSON pointer"))
        };
        match name {
            "add" => add(&mut out, &toks, value()?).map_err(|r| patch_err(i, r))?,
            "remove" => {
                remove(&mut out, &toks).map_err(|r| patch_err(i, r))?;
            }
            "replace" => {
                let v = value()?;
                remove(&mut out, &toks).map_err(|r| patch_err(i, r))?;
                add(&mut out, &toks, v).map_err(|r| patch_err(i, r))?;
            }
            "move" => {
                let f = from()?;
                let v = remove(&mut out, &f).map_err(|r| patch_err(i, r))?;
                add(&mut out, &toks, v).map_err(|r| patch_err(i, r))?;
            }
            "copy" => {
                let f = from()?;
                let v = parent(&mut out, &f)
                    .cloned()
                    .ok_or_else(|| patch_err(i, "from does not exist"))?;
                add(&mut out, &toks, v).map_err(|r| patch_err(i, r))?;
            }
            "test" => {
                let want = value()?;
                if parent(&mut out, &toks).map(|v| *v == want) != Some(true) {
                    return Err(patch_err(i, "test failed"));
                }
            }
            _ => {
                return Err(patch_err(
                    i,
                    "op must be add, remove, replace, move, copy or test",
                ))
            }
        }
    }
    Ok(out)
}

/// The profile after a PATCH: the patched document must be a valid profile of the same
/// NF instance; the NRF keeps its heartBeatTimer.
pub fn patched_profile(
    current: &NfProfile,
    patch: &Value,
    t: Timers,
) -> Result<NfProfile, RuleError> {
    let doc = serde_json::to_value(current).map_err(|e| RuleError::Patch {
        index: None,
        reason: e.to_string(),
    })?;
    let out = apply_patch(&doc, patch)?;
    let p = NfProfile::from_sbi_json(&out).map_err(RuleError::Patched)?;
    if p.nf_instance_id != current.nf_instance_id {
        return Err(RuleError::IdMismatch {
            path: current.nf_instance_id.to_string(),
            body: p.nf_instance_id.to_string(),
        });
    }
    admit_profile(&current.nf_instance_id, p, t)
}

/// A query parameter that is missing or wrong (400; the param is `query <name>`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// A mandatory parameter is missing.
    #[error("query parameter {0} is missing")]
    Missing(&'static str),
    /// A parameter has a bad value (`mandatory`: it is one of the two required ones).
    #[error("query parameter {name}: {reason}")]
    Incorrect {
        /// The parameter.
        name: &'static str,
        /// Whether it is mandatory.
        mandatory: bool,
        /// Why.
        reason: String,
    },
    /// A parameter of the YAML that this NRF does not apply: refused rather than ignored,
    /// so that an answer is never silently broader than what was asked.
    #[error("query parameter {0} is not supported by this NRF")]
    Unsupported(String),
}

/// A discovery request (the parameters this NRF filters on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoveryQuery {
    /// `target-nf-type`.
    pub target: NfType,
    /// `requester-nf-type`.
    pub requester: NfType,
    /// `routing-indicator`.
    pub routing_indicator: Option<RoutingIndicator>,
    /// `target-plmn-list` (empty: any).
    pub target_plmns: Vec<PlmnId>,
    /// `target-nf-instance-id`.
    pub target_nf_instance_id: Option<NfInstanceId>,
    /// `requester-plmn-list` (set by a visited network's NRF that forwards the query).
    pub requester_plmns: Vec<PlmnId>,
}

/// Where a discovery is answered (roaming, TS 29.510 §5.3.2.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscoveryRoute {
    /// Here: no target PLMN, one of this network's, or this NRF has no `plmns`.
    Local,
    /// At the NRF of partner `peers[i]`: the target PLMNs name none of this network's and
    /// one of that partner's.
    Partner(usize),
    /// Nowhere: the target PLMNs are neither this network's nor a partner's, so no producer
    /// here may answer for them (an empty result, not this network's own producers).
    Unknown,
}

/// Decides [`DiscoveryRoute`] from this network's PLMNs (`own`; empty: this NRF takes no
/// part in roaming and answers everything here) and the partners' NRFs. PLMNs compare by
/// [`PlmnId::same_network`] (an A-KID realm carries a 3-digit MNC).
pub fn discovery_route(
    own: &[PlmnId],
    peers: &[crate::config::PeerNrf],
    q: &DiscoveryQuery,
) -> DiscoveryRoute {
    if own.is_empty() || q.target_plmns.is_empty() || q.target_plmns.iter().any(|p| p.is_in(own)) {
        return DiscoveryRoute::Local;
    }
    match peers.iter().position(|p| p.plmn.is_in(&q.target_plmns)) {
        Some(i) => DiscoveryRoute::Partner(i),
        None => DiscoveryRoute::Unknown,
    }
}

/// The query parameters this NRF reads (and `supported-features`, checked and unused);
/// any other is refused ([`QueryError::Unsupported`]).
pub const QUERY_PARAMS: &[&str] = &[
    "target-nf-type",
    "requester-nf-type",
    "routing-indicator",
    "target-plmn-list",
    "target-nf-instance-id",
    "supported-features",
    "requester-plmn-list",
];

/// Reads the discovery query (decoded pairs; a parameter given twice is refused).
pub fn parse_query(pairs: &[(String, String)]) -> Result<DiscoveryQuery, QueryError> {
    if let Some((k, _)) = pairs
        .iter()
        .find(|(k, _)| !QUERY_PARAMS.contains(&k.as_str()))
    {
        return Err(QueryError::Unsupported(k.clone()));
    }
    let get = |name: &'static str, mandatory: bool| -> Result<Option<&str>, QueryError> {
        let mut it = pairs.iter().filter(|(k, _)| k == name);
        let v = it.next().map(|(_, v)| v.as_str());
        if it.next().is_some() {
            return Err(QueryError::Incorrect {
                name,
                mandatory,
                reason: "given more than once".into(),
            });
        }
        Ok(v)
    };
    let nf_type = |name: &'static str| -> Result<NfType, QueryError> {
        let v = get(name, true)?.ok_or(QueryError::Missing(name))?;
        parse_nf_type(v).map_err(|reason| QueryError::Incorrect {
            name,
            mandatory: true,
            reason,
        })
    };
    let target = nf_type("target-nf-type")?;
    let requester = nf_type("requester-nf-type")?;
    let incorrect = |name: &'static str, reason: String| QueryError::Incorrect {
        name,
        mandatory: false,
        reason,
    };
    let routing_indicator = get("routing-indicator", false)?
        .map(|s| {
            RoutingIndicator::parse(s).map_err(|e| incorrect("routing-indicator", e.to_string()))
        })
        .transpose()?;
    let plmn_list = |name: &'static str| -> Result<Vec<PlmnId>, QueryError> {
        match get(name, false)? {
            None => Ok(Vec::new()),
            Some(s) => {
                let v: Value = serde_json::from_str(s)
                    .map_err(|_| incorrect(name, "expected a JSON array of PlmnId".into()))?;
                let Value::Array(items) = v else {
                    return Err(incorrect(name, "expected a JSON array of PlmnId".into()));
                };
                if items.is_empty() {
                    return Err(incorrect(
                        name,
                        "expected at least one PlmnId (minItems: 1)".into(),
                    ));
                }
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| {
                        PlmnId::from_sbi_json(item)
                            .map_err(|e| incorrect(name, format!("item {i}: {e}")))
                    })
                    .collect::<Result<Vec<_>, _>>()
            }
        }
    };
    let target_plmns = plmn_list("target-plmn-list")?;
    let requester_plmns = plmn_list("requester-plmn-list")?;
    if let Some(f) = get("supported-features", false)? {
        akma_sbi_model::common::fields::parse_supp_feat(f)
            .map_err(|e| incorrect("supported-features", e))?;
    }
    let target_nf_instance_id = get("target-nf-instance-id", false)?
        .map(|s| NfInstanceId::parse(s).map_err(|e| incorrect("target-nf-instance-id", e)))
        .transpose()?;
    Ok(DiscoveryQuery {
        target,
        requester,
        routing_indicator,
        target_plmns,
        target_nf_instance_id,
        requester_plmns,
    })
}

/// The routing indicators a profile serves: `None` for any (no list, or an info without
/// one, as TS 29.510 reads an absent attribute).
fn served_indicators(p: &NfProfile) -> Option<Vec<&RoutingIndicator>> {
    match p.nf_type {
        NfType::Aanf => {
            let infos = p.aanf_info_list.as_ref()?;
            let mut out = Vec::new();
            for i in infos.values() {
                if i.routing_indicators.is_empty() {
                    return None;
                }
                out.extend(i.routing_indicators.iter());
            }
            Some(out)
        }
        NfType::Ausf => {
            let info = p.ausf_info.as_ref()?;
            if info.routing_indicators.is_empty() {
                None
            } else {
                Some(info.routing_indicators.iter().collect())
            }
        }
        _ => None,
    }
}

/// Whether the policy lets `requester` NFs use `target` NFs at all (the NRF's stand-in for
/// the profiles' `allowedNfTypes`, TS 29.510 §5.3.2.2.2).
pub fn may_discover(policy: &[PolicyRule], requester: NfType, target: NfType) -> bool {
    policy
        .iter()
        .any(|r| r.consumer == requester && r.target == target)
}

/// Whether a registered record answers the query now: REGISTERED and not expired, the
/// target type, the routing indicator (profiles without a list match any) and one of the
/// PLMNs (profiles without `plmnList` match any).
pub fn matches(r: &Record, q: &DiscoveryQuery, now: u64, t: Timers) -> bool {
    let p = &r.profile;
    if r.effective_status(now, t) != NfStatus::Registered || p.nf_type != q.target {
        return false;
    }
    if q.target_nf_instance_id
        .as_ref()
        .is_some_and(|id| id != &p.nf_instance_id)
    {
        return false;
    }
    if let Some(ri) = &q.routing_indicator {
        if let Some(served) = served_indicators(p) {
            if !served.contains(&ri) {
                return false;
            }
        }
    }
    if !q.target_plmns.is_empty() {
        if let Some(list) = &p.plmn_list {
            if !list.iter().any(|x| x.is_in(&q.target_plmns)) {
                return false;
            }
        }
    }
    true
}

/// The audience of a granted token: an NF type (string) or NF instance ids (array).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audience {
    /// `targetNfType`.
    NfType(NfType),
    /// `targetNfInstanceId`.
    Instance(NfInstanceId),
}

/// What the token endpoint grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// `sub`.
    pub subject: NfInstanceId,
    /// `aud`.
    pub audience: Audience,
    /// The granted scopes (as requested, without duplicates).
    pub scopes: Vec<String>,
}

/// How the consumer was authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientIdentity<'a> {
    /// Production: the mTLS client certificate's NF instance id (`None`: its SAN has no
    /// `urn:uuid:`).
    Certificate(Option<&'a str>),
    /// Development (h2c on loopback): the form's `nfInstanceId` is trusted.
    Trusted,
}

fn err(code: TokenErrorCode, d: impl Into<String>) -> AccessTokenErr {
    AccessTokenErr::new(code, d)
}

/// TS 29.510 §5.4.2.2: authenticates the consumer and decides the grant. `consumer` is the
/// registered profile of `req.nf_instance_id` (if any), `target` that of
/// `req.target_nf_instance_id`.
pub fn grant(
    req: &AccessTokenReq,
    who: ClientIdentity<'_>,
    consumer: Option<&NfProfile>,
    target: Option<&NfProfile>,
    policy: &[PolicyRule],
) -> Result<Grant, AccessTokenErr> {
    let consumer_type = authenticate(req, who, consumer)?;
    grant_for(req, consumer_type, target, policy)
}

/// Authenticates the consumer of a token request: the certificate's NF instance id is the
/// request's, and it is registered here with the type it claims. Returns its type.
pub fn authenticate(
    req: &AccessTokenReq,
    who: ClientIdentity<'_>,
    consumer: Option<&NfProfile>,
) -> Result<NfType, AccessTokenErr> {
    if let ClientIdentity::Certificate(id) = who {
        // TS 33.501 §13.4.1.2: the NF instance id in the request must be the one the
        // certificate authenticates.
        if !id.is_some_and(|c| c.eq_ignore_ascii_case(req.nf_instance_id.as_str())) {
            return Err(err(
                TokenErrorCode::InvalidClient,
                "nfInstanceId is not the NF instance id of the client certificate",
            ));
        }
    }
    let consumer = consumer.ok_or_else(|| {
        err(
            TokenErrorCode::InvalidClient,
            "nfInstanceId is not registered at this NRF",
        )
    })?;
    if req.nf_type.is_some_and(|t| t != consumer.nf_type) {
        return Err(err(
            TokenErrorCode::InvalidClient,
            "nfType is not the type of the registered profile",
        ));
    }
    Ok(consumer.nf_type)
}

/// Where a token request is answered (roaming, TS 29.510 §5.4.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenRoute<'a> {
    /// Here, for a consumer registered here.
    Local,
    /// At the NRF of partner `peer` (index in `peers`): its `targetPlmn`; this network's
    /// PLMN `own` goes as `requesterPlmn`.
    Forward {
        /// The partner.
        peer: usize,
        /// This network's PLMN.
        own: &'a PlmnId,
    },
    /// Here, for the consumer of a partner PLMN whose NRF forwarded the request.
    FromPartner {
        /// The consumer's PLMN.
        consumer: &'a PlmnId,
        /// This network's PLMN.
        producer: &'a PlmnId,
    },
}

/// Decides [`TokenRoute`]: a `targetPlmn` that is not this network's goes to that partner's
/// NRF (none: refused); a `requesterPlmn` that is not this network's must be a partner's, and
/// the request must come with that partner NRF's certificate (`[[peer_nrf]]
/// nf_instance_id`; in development mode it is trusted). A network without `plmns` answers
/// everything here.
pub fn token_route<'a>(
    own: &'a [PlmnId],
    peers: &'a [crate::config::PeerNrf],
    req: &'a AccessTokenReq,
    cert: Option<&str>,
    dev: bool,
) -> Result<TokenRoute<'a>, AccessTokenErr> {
    let Some(first) = own.first() else {
        return Ok(TokenRoute::Local);
    };
    if let Some(target) = req.target_plmn.as_ref().filter(|t| !t.is_in(own)) {
        return match peers.iter().position(|p| p.plmn.same_network(target)) {
            Some(peer) => Ok(TokenRoute::Forward { peer, own: first }),
            None => Err(AccessTokenErr::invalid_request(format!(
                "targetPlmn {}-{} is not a partner of this network",
                target.mcc, target.mnc
            ))),
        };
    }
    let Some(requester) = req.requester_plmn.as_ref().filter(|r| !r.is_in(own)) else {
        return Ok(TokenRoute::Local);
    };
    let Some(peer) = peers.iter().find(|p| p.plmn.same_network(requester)) else {
        return Err(err(
            TokenErrorCode::InvalidClient,
            format!(
                "requesterPlmn {}-{} is not a partner of this network",
                requester.mcc, requester.mnc
            ),
        ));
    };
    // Only the partner's NRF may speak for its consumers (its certificate).
    let vouched = dev
        || peer
            .nf_instance_id
            .as_ref()
            .is_some_and(|id| cert.is_some_and(|c| c.eq_ignore_ascii_case(id.as_str())));
    if !vouched {
        return Err(err(
            TokenErrorCode::InvalidClient,
            "a request for another PLMN's consumer must come from that PLMN's NRF ([[peer_nrf]] nf_instance_id)",
        ));
    }
    Ok(TokenRoute::FromPartner {
        consumer: requester,
        producer: first,
    })
}

/// Roaming (TS 29.510 §5.4.2.2): the grant of a token request that a partner PLMN's NRF
/// forwarded for one of its consumers, which this NRF has never seen registered. The
/// consumer's type is the request's `nfType` (the partner NRF vouches for it); the policy for
/// that type towards the target type decides the scopes, as for a home consumer. `target` is
/// the registered profile of `targetNfInstanceId`, if any.
pub fn grant_roaming(
    req: &AccessTokenReq,
    target: Option<&NfProfile>,
    policy: &[PolicyRule],
) -> Result<Grant, AccessTokenErr> {
    let consumer_type = req.nf_type.ok_or_else(|| {
        err(
            TokenErrorCode::InvalidRequest,
            "nfType is required in a request from another PLMN",
        )
    })?;
    grant_for(req, consumer_type, target, policy)
}

/// The audience and the scopes of a grant to a consumer of type `consumer_type`.
fn grant_for(
    req: &AccessTokenReq,
    consumer_type: NfType,
    target: Option<&NfProfile>,
    policy: &[PolicyRule],
) -> Result<Grant, AccessTokenErr> {
    let (audience, target_type) = match (&req.target_nf_instance_id, req.target_nf_type) {
        (Some(id), t) => {
            let p = target.ok_or_else(|| {
                err(
                    TokenErrorCode::InvalidRequest,
                    "targetNfInstanceId is not registered at this NRF",
                )
            })?;
            if t.is_some_and(|t| t != p.nf_type) {
                return Err(err(
                    TokenErrorCode::InvalidRequest,
                    "targetNfType is not the type of targetNfInstanceId",
                ));
            }
            (Audience::Instance(id.clone()), p.nf_type)
        }
        (None, Some(t)) => (Audience::NfType(t), t),
        (None, None) => {
            return Err(err(
                TokenErrorCode::InvalidRequest,
                "targetNfType or targetNfInstanceId is required",
            ))
        }
    };
    let rule = policy
        .iter()
        .find(|r| r.consumer == consumer_type && r.target == target_type)
        .ok_or_else(|| {
            err(
                TokenErrorCode::UnauthorizedClient,
                format!("{consumer_type} NFs may not get tokens for {target_type} NFs"),
            )
        })?;
    let mut scopes: Vec<String> = Vec::new();
    for s in req.scope.split(' ') {
        if !rule.scopes.iter().any(|a| a == s) {
            return Err(err(
                TokenErrorCode::InvalidScope,
                format!(
                    "scope {s} is not allowed for {consumer_type} towards {target_type}; allowed: {}",
                    rule.scopes.join(" ")
                ),
            ));
        }
        if !scopes.iter().any(|x| x == s) {
            scopes.push(s.to_owned());
        }
    }
    Ok(Grant {
        subject: req.nf_instance_id.clone(),
        audience,
        scopes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::default_policy;

    #[test]
    fn roaming_token_requests_need_the_partner_nrfs_certificate_in_production() {
        let home = PlmnId::new("901", "70").unwrap();
        let visited = PlmnId::new("001", "01").unwrap();
        let peer_id = "9e1b2c3d-0000-4000-8000-00000000b001";
        let peers = vec![crate::config::PeerNrf {
            plmn: visited.clone(),
            api_root: "https://nrf.v.example".into(),
            nf_instance_id: Some(NfInstanceId::parse(peer_id).unwrap()),
        }];
        let own = vec![home.clone()];
        let mut req = AccessTokenReq::from_pairs(&[
            ("grant_type".into(), "client_credentials".into()),
            ("nfInstanceId".into(), ID.into()),
            ("scope".into(), "naanf-akma".into()),
        ])
        .unwrap();
        assert_eq!(
            token_route(&own, &peers, &req, None, false),
            Ok(TokenRoute::Local)
        );
        req.requester_plmn = Some(visited.clone());
        let from = |cert| token_route(&own, &peers, &req, cert, false);
        assert_eq!(
            from(Some(peer_id)),
            Ok(TokenRoute::FromPartner {
                consumer: &visited,
                producer: &home
            })
        );
        for cert in [None, Some(ID)] {
            assert_eq!(from(cert).unwrap_err().error, TokenErrorCode::InvalidClient);
        }
        // Without the partner's id configured, production accepts none.
        let anonymous = vec![crate::config::PeerNrf {
            nf_instance_id: None,
            ..peers[0].clone()
        }];
        assert!(token_route(&own, &anonymous, &req, Some(peer_id), false).is_err());
        assert!(
            token_route(&own, &anonymous, &req, None, true).is_ok(),
            "--dev trusts"
        );
        // A network without plmns does not take part in roaming.
        assert_eq!(
            token_route(&[], &peers, &req, None, false),
            Ok(TokenRoute::Local)
        );
        // targetPlmn: a partner's is forwarded, an unknown one refused.
        req.requester_plmn = None;
        req.target_plmn = Some(visited.clone());
        assert_eq!(
            token_route(&own, &peers, &req, None, false),
            Ok(TokenRoute::Forward {
                peer: 0,
                own: &home
            })
        );
        req.target_plmn = PlmnId::new("262", "01");
        assert!(token_route(&own, &peers, &req, None, false).is_err());
        // The realm form of a PLMN (3-digit MNC) is the same network: this one's is local,
        // the partner's is forwarded.
        req.target_plmn = PlmnId::new("901", "070");
        assert_eq!(
            token_route(&own, &peers, &req, None, false),
            Ok(TokenRoute::Local)
        );
        req.target_plmn = PlmnId::new("001", "001");
        assert!(matches!(
            token_route(&own, &peers, &req, None, false),
            Ok(TokenRoute::Forward { peer: 0, .. })
        ));
    }

    #[test]
    fn discovery_routes_by_target_plmn() {
        let home = PlmnId::new("901", "70").unwrap();
        let visited = PlmnId::new("001", "01").unwrap();
        let peers = [crate::config::PeerNrf {
            plmn: home.clone(),
            api_root: "https://nrf.home".into(),
            nf_instance_id: None,
        }];
        let q = |plmns: Vec<PlmnId>| DiscoveryQuery {
            target: NfType::Aanf,
            requester: NfType::Af,
            routing_indicator: None,
            target_plmns: plmns,
            target_nf_instance_id: None,
            requester_plmns: Vec::new(),
        };
        let own = [visited.clone()];
        assert_eq!(
            discovery_route(&own, &peers, &q(vec![])),
            DiscoveryRoute::Local
        );
        assert_eq!(
            discovery_route(&own, &peers, &q(vec![visited.clone()])),
            DiscoveryRoute::Local
        );
        assert_eq!(
            discovery_route(&own, &peers, &q(vec![home.clone()])),
            DiscoveryRoute::Partner(0)
        );
        assert_eq!(
            discovery_route(&own, &peers, &q(vec![PlmnId::new("901", "070").unwrap()])),
            DiscoveryRoute::Partner(0)
        );
        assert_eq!(
            discovery_route(&own, &peers, &q(vec![PlmnId::new("262", "01").unwrap()])),
            DiscoveryRoute::Unknown
        );
        // An NRF without plmns takes no part in roaming.
        assert_eq!(
            discovery_route(&[], &peers, &q(vec![home])),
            DiscoveryRoute::Local
        );
    }
    use akma_sbi_model::nnrf::AanfInfo;

    const T: Timers = Timers {
        heartbeat_secs: 10,
        grace_secs: 2,
    };
    const ID: &str = "4947a69a-f61b-4bc1-b9da-47c9c5d14b64";

    fn id(s: &str) -> NfInstanceId {
        NfInstanceId::parse(s).unwrap()
    }

    fn aanf(ri: &[&str]) -> NfProfile {
        let mut p = NfProfile::new(id(ID), NfType::Aanf);
        p.ipv4_addresses = vec!["127.0.0.1".into()];
        if !ri.is_empty() {
            p.aanf_info_list = Some(
                [(
                    "1".to_owned(),
                    AanfInfo {
                        routing_indicators: ri
                            .iter()
                            .map(|r| RoutingIndicator::parse(r).unwrap())
                            .collect(),
                    },
                )]
                .into(),
            );
        }
        admit_profile(&id(ID), p, T).unwrap()
    }

    #[test]
    fn heartbeats_expire_after_the_timer_and_grace() {
        let r = Record {
            profile: aanf(&[]),
            last_heartbeat: 100,
        };
        assert_eq!(r.profile.heart_beat_timer, Some(10));
        assert_eq!(r.effective_status(112, T), NfStatus::Registered);
        assert_eq!(r.effective_status(113, T), NfStatus::Suspended);
        assert_eq!(r.seen(113, T).nf_status, NfStatus::Suspended);
    }

    #[test]
    fn admission_checks_id_and_addressing() {
        let p = aanf(&[]);
        let other = id("00000000-0000-4000-8000-000000000000");
        assert!(matches!(
            admit_profile(&other, p.clone(), T),
            Err(RuleError::IdMismatch { .. })
        ));
        let mut bare = p;
        bare.ipv4_addresses.clear();
        assert_eq!(admit_profile(&id(ID), bare, T), Err(RuleError::NoAddress));
        assert!(check_owner(&id(ID), Some(Some(ID))).is_ok());
        assert!(check_owner(&id(ID), Some(None)).is_err());
        assert!(check_owner(&id(ID), None).is_ok());
    }

    #[test]
    fn json_patch_operations() {
        let p = aanf(&[]);
        let suspended = patched_profile(
            &p,
            &serde_json::json!([{"op": "replace", "path": "/nfStatus", "value": "SUSPENDED"}]),
            T,
        )
        .unwrap();
        assert_eq!(suspended.nf_status, NfStatus::Suspended);
        let more = patched_profile(
            &p,
            &serde_json::json!([
                {"op": "add", "path": "/ipv4Addresses/-", "value": "10.0.0.1"},
                {"op": "test", "path": "/nfType", "value": "AANF"},
                {"op": "add", "path": "/heartBeatTimer", "value": 999}
            ]),
            T,
        )
        .unwrap();
        assert_eq!(more.ipv4_addresses, vec!["127.0.0.1", "10.0.0.1"]);
        assert_eq!(more.heart_beat_timer, Some(10), "the NRF keeps its timer");
        for (patch, want) in [
            (serde_json::json!({}), None),
            (serde_json::json!([]), None),
            (
                serde_json::json!([{"op": "frobnicate", "path": "/nfStatus"}]),
                Some(0),
            ),
            (
                serde_json::json!([{"op": "remove", "path": "/nope"}]),
                Some(0),
            ),
            (
                serde_json::json!([{"op": "test", "path": "/nfType", "value": "UDM"}]),
                Some(0),
            ),
        ] {
            match patched_profile(&p, &patch, T) {
                Err(RuleError::Patch { index, .. }) => assert_eq!(index, want, "{patch}"),
                other => panic!("{patch}: {other:?}"),
            }
        }
        let bad = patched_profile(
            &p,
            &serde_json::json!([{"op": "replace", "path": "/nfStatus", "value": "NOPE"}]),
            T,
        );
        assert!(matches!(bad, Err(RuleError::Patched(_))));
        let moved = patched_profile(
            &p,
            &serde_json::json!([{"op": "replace", "path": "/nfInstanceId", "value": "00000000-0000-4000-8000-000000000000"}]),
            T,
        );
        assert!(matches!(moved, Err(RuleError::IdMismatch { .. })));
    }

    fn q(pairs: &[(&str, &str)]) -> Result<DiscoveryQuery, QueryError> {
        let v: Vec<(String, String)> = pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect();
        parse_query(&v)
    }

    #[test]
    fn discovery_filters() {
        let base = [("target-nf-type", "AANF"), ("requester-nf-type", "AUSF")];
        let r = Record {
            profile: aanf(&["0", "12"]),
            last_heartbeat: 0,
        };
        let any = Record {
            profile: aanf(&[]),
            last_heartbeat: 0,
        };
        let with = |extra: &[(&'static str, &'static str)]| {
            let mut v = base.to_vec();
            v.extend_from_slice(extra);
            q(&v).unwrap()
        };
        assert!(matches(&r, &with(&[]), 1, T));
        assert!(matches(&r, &with(&[("routing-indicator", "12")]), 1, T));
        assert!(!matches(&r, &with(&[("routing-indicator", "7")]), 1, T));
        assert!(matches(&any, &with(&[("routing-indicator", "7")]), 1, T));
        assert!(!matches(&r, &with(&[]), 100, T), "expired");
        let mut plmn = r.clone();
        plmn.profile.plmn_list = Some(vec![PlmnId::new("001", "01").unwrap()]);
        assert!(matches(
            &plmn,
            &with(&[("target-plmn-list", r#"[{"mcc":"001","mnc":"01"}]"#)]),
            1,
            T
        ));
        assert!(!matches(
            &plmn,
            &with(&[("target-plmn-list", r#"[{"mcc":"901","mnc":"70"}]"#)]),
            1,
            T
        ));
        assert!(matches(
            &r,
            &with(&[("target-plmn-list", r#"[{"mcc":"901","mnc":"70"}]"#)]),
            1,
            T
        ));
        let udm = q(&[("target-nf-type", "UDM"), ("requester-nf-type", "AUSF")]).unwrap();
        assert!(!matches(&r, &udm, 1, T));
        assert_eq!(
            q(&[("requester-nf-type", "AUSF")]),
            Err(QueryError::Missing("target-nf-type"))
        );
        assert_eq!(
            q(&[("target-nf-type", "AANF")]),
            Err(QueryError::Missing("requester-nf-type"))
        );
        for bad in [
            vec![("target-nf-type", "NOPE"), ("requester-nf-type", "AUSF")],
            [base.to_vec(), vec![("routing-indicator", "12345")]].concat(),
            [base.to_vec(), vec![("target-plmn-list", "[]")]].concat(),
            [
                base.to_vec(),
                vec![("target-plmn-list", r#"[{"mcc":"1"}]"#)],
            ]
            .concat(),
            [base.to_vec(), vec![("target-plmn-list", "{")]].concat(),
        ] {
            assert!(
                matches!(q(&bad), Err(QueryError::Incorrect { .. })),
                "{bad:?}"
            );
        }
        let policy = default_policy();
        assert!(may_discover(&policy, NfType::Ausf, NfType::Aanf));
        assert!(!may_discover(&policy, NfType::Udm, NfType::Aanf));
    }

    #[test]
    fn token_grants_follow_identity_registration_and_policy() {
        let policy = default_policy();
        let mut ausf = NfProfile::new(id("11111111-1111-4111-8111-111111111111"), NfType::Ausf);
        ausf.fqdn = Some("ausf.example.com".into());
        let req = |scope: &str| AccessTokenReq {
            nf_instance_id: ausf.nf_instance_id.clone(),
            nf_type: Some(NfType::Ausf),
            target_nf_type: Some(NfType::Aanf),
            scope: scope.into(),
            target_nf_instance_id: None,
            requester_plmn: None,
            target_plmn: None,
        };
        let cert = ClientIdentity::Certificate(Some("11111111-1111-4111-8111-111111111111"));
        let g = grant(
            &req("naanf-akma naanf-akma"),
            cert,
            Some(&ausf),
            None,
            &policy,
        )
        .unwrap();
        assert_eq!(g.audience, Audience::NfType(NfType::Aanf));
        assert_eq!(g.scopes, vec!["naanf-akma"]);
        let code = |r: Result<Grant, AccessTokenErr>| r.unwrap_err().error;
        assert_eq!(
            code(grant(
                &req("naanf-akma:applicationkeyget"),
                cert,
                Some(&ausf),
                None,
                &policy
            )),
            TokenErrorCode::InvalidScope
        );
        assert_eq!(
            code(grant(&req("naanf-akma"), cert, None, None, &policy)),
            TokenErrorCode::InvalidClient
        );
        let other = ClientIdentity::Certificate(Some("22222222-2222-4222-8222-222222222222"));
        assert_eq!(
            code(grant(&req("naanf-akma"), other, Some(&ausf), None, &policy)),
            TokenErrorCode::InvalidClient
        );
        assert_eq!(
            code(grant(
                &req("naanf-akma"),
                ClientIdentity::Certificate(None),
                Some(&ausf),
                None,
                &policy
            )),
            TokenErrorCode::InvalidClient
        );
        assert!(grant(
            &req("naanf-akma"),
            ClientIdentity::Trusted,
            Some(&ausf),
            None,
            &policy
        )
        .is_ok());
        let mut to_nef = req("nnef-akma:gpsi-access");
        to_nef.target_nf_type = Some(NfType::Nef);
        assert_eq!(
            code(grant(&to_nef, cert, Some(&ausf), None, &policy)),
            TokenErrorCode::UnauthorizedClient
        );
        let mut wrong_type = req("naanf-akma");
        wrong_type.nf_type = Some(NfType::Nef);
        assert_eq!(
            code(grant(&wrong_type, cert, Some(&ausf), None, &policy)),
            TokenErrorCode::InvalidClient
        );
        let target = aanf(&[]);
        let mut by_id = req("naanf-akma");
        by_id.target_nf_type = None;
        by_id.target_nf_instance_id = Some(target.nf_instance_id.clone());
        let g = grant(&by_id, cert, Some(&ausf), Some(&target), &policy).unwrap();
        assert_eq!(
            g.audience,
            Audience::Instance(target.nf_instance_id.clone())
        );
        assert_eq!(
            code(grant(&by_id, cert, Some(&ausf), None, &policy)),
            TokenErrorCode::InvalidRequest
        );
        let mut neither = req("naanf-akma");
        neither.target_nf_type = None;
        assert_eq!(
            code(grant(&neither, cert, Some(&ausf), None, &policy)),
            TokenErrorCode::InvalidRequest
        );
    }
}
