//! Nnrf (TS 29.510, `TS29510_Nnrf_*.yaml`): the API roots and scopes, the
//! `AccessTokenClaims` a producer verifies, and the subset of the NFManagement,
//! NFDiscovery and AccessToken models the NRF (`akma-nrf`) serves: [`NfProfile`] (with
//! [`NfService`], [`PlmnId`], [`AanfInfo`], [`AusfInfo`]), [`SearchResult`],
//! [`AccessTokenReq`], [`AccessTokenRsp`] and [`AccessTokenErr`].
//!
//! Attributes outside the subset are ignored on reading (TS 29.501 §5.2.4) and so not
//! kept: a profile read back holds only what this module models.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use akma_core::ids::RoutingIndicator;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::common::fields::{
    fqdn_ok, ipv4_ok, ipv6_ok, str_codec, Nested, NestedList, NestedMap, NfInstanceIdCodec, Port,
    PositiveInt, Rid, Text,
};
use crate::common::{NfInstanceId, NfType};

/// The API root path of Nnrf_NFManagement.
pub const NFM_API_ROOT: &str = "/nnrf-nfm/v1";
/// The API root path of Nnrf_NFDiscovery.
pub const DISC_API_ROOT: &str = "/nnrf-disc/v1";
/// The path of the Nnrf_AccessToken token endpoint (`application/x-www-form-urlencoded`).
pub const ACCESS_TOKEN_PATH: &str = "/oauth2/token";

/// OAuth2 scopes of Nnrf (TS 29.510 YAML).
pub mod scope {
    /// Nnrf_NFManagement.
    pub const NFM: &str = "nnrf-nfm";
    /// Nnrf_NFDiscovery.
    pub const DISC: &str = "nnrf-disc";
}

/// The verified claims of an access token (TS 29.510 `AccessTokenClaims`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Claims {
    /// `iss`: the NRF.
    pub iss: String,
    /// `sub`: the consumer's NF instance id.
    pub sub: String,
    /// `aud`, as a list (a single NF type becomes a one-element list).
    pub aud: Vec<String>,
    /// `scope`, split on spaces.
    pub scopes: BTreeSet<String>,
    /// `exp`, seconds since the epoch.
    pub exp: u64,
    /// `nbf`, if present.
    pub nbf: Option<u64>,
    /// Every other claim (e.g. `consumerPlmnId`, `producerSnssaiList`), untouched.
    pub extra: Map<String, Value>,
}

impl Claims {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.contains(scope)
    }
}

// ---------------------------------------------------------------------------------------
// NFManagement models (TS 29.510 §6.1.6)

/// TS 29.510 `NFStatus` (and `NFServiceStatus`, which has the same values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NfStatus {
    /// `REGISTERED`: discoverable.
    Registered,
    /// `SUSPENDED`: not discoverable (e.g. its heartbeats stopped).
    Suspended,
    /// `UNDISCOVERABLE`: registered, not discoverable.
    Undiscoverable,
    /// `CANARY_RELEASE`: discoverable only by requesters that ask for it (not supported: never discovered).
    CanaryRelease,
}

impl NfStatus {
    /// The wire string.
    pub fn as_str(self) -> &'static str {
        match self {
            NfStatus::Registered => "REGISTERED",
            NfStatus::Suspended => "SUSPENDED",
            NfStatus::Undiscoverable => "UNDISCOVERABLE",
            NfStatus::CanaryRelease => "CANARY_RELEASE",
        }
    }

    /// Parses the wire string.
    pub fn parse(s: &str) -> Result<Self, String> {
        Ok(match s {
            "REGISTERED" => NfStatus::Registered,
            "SUSPENDED" => NfStatus::Suspended,
            "UNDISCOVERABLE" => NfStatus::Undiscoverable,
            "CANARY_RELEASE" => NfStatus::CanaryRelease,
            _ => {
                return Err(
                    "expected REGISTERED, SUSPENDED, UNDISCOVERABLE or CANARY_RELEASE".into(),
                )
            }
        })
    }
}

/// Parses a TS 29.510 `NFType` this project knows.
pub fn parse_nf_type(s: &str) -> Result<NfType, String> {
    s.parse::<NfType>().map_err(|e| e.to_string())
}

fn parse_mcc(s: &str) -> Result<String, String> {
    if s.len() == 3 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err("expected 3 digits (^[0-9]{3}$)".into())
    }
}

fn parse_mnc(s: &str) -> Result<String, String> {
    if (2..=3).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err("expected 2 or 3 digits (^[0-9]{2,3}$)".into())
    }
}

fn parse_ipv4(s: &str) -> Result<String, String> {
    ipv4_ok(s)
        .then(|| s.to_owned())
        .ok_or_else(|| "expected a dotted-quad IPv4 address".into())
}

fn parse_ipv6(s: &str) -> Result<String, String> {
    ipv6_ok(s)
        .then(|| s.to_owned())
        .ok_or_else(|| "expected an IPv6 address".into())
}

fn parse_fqdn(s: &str) -> Result<String, String> {
    fqdn_ok(s)
        .then(|| s.to_owned())
        .ok_or_else(|| "expected an FQDN (4 to 253 characters of labels)".into())
}

fn parse_scheme(s: &str) -> Result<String, String> {
    match s {
        "http" | "https" => Ok(s.to_owned()),
        _ => Err("expected http or https".into()),
    }
}

str_codec!(
    /// TS 29.510 `NFType` (the project's [`NfType`]).
    NfTypeCodec: NfType, parse = parse_nf_type, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.510 `NFStatus` / `NFServiceStatus`.
    NfStatusCodec: NfStatus, parse = NfStatus::parse, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Mcc`.
    Mcc: String, parse = parse_mcc, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Mnc`.
    Mnc: String, parse = parse_mnc, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Ipv4Addr`.
    Ipv4: String, parse = parse_ipv4, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Ipv6Addr`.
    Ipv6: String, parse = parse_ipv6, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.571 `Fqdn`.
    Fqdn: String, parse = parse_fqdn, text = |v| v.as_str()
);
str_codec!(
    /// TS 29.510 `UriScheme`.
    UriScheme: String, parse = parse_scheme, text = |v| v.as_str()
);

crate::sbi_model! {
    /// TS 29.571 `PlmnId`.
    #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub struct PlmnId {
        /// `mcc`, 3 digits.
        mcc: String = req("mcc", Mcc),
        /// `mnc`, 2 or 3 digits.
        mnc: String = req("mnc", Mnc),
    }
}

impl PlmnId {
    /// A PLMN id from valid digits (`None` if they are not).
    pub fn new(mcc: &str, mnc: &str) -> Option<Self> {
        Some(Self {
            mcc: parse_mcc(mcc).ok()?,
            mnc: parse_mnc(mnc).ok()?,
        })
    }

    /// The PLMN a home network realm names (`5gc.mnc<MNC, 3 digits>.mcc<MCC>.3gppnetwork.org`,
    /// TS 23.003 §28.7.3, ASCII case ignored), as the A-KID carries it (`conventions.md`):
    /// the MNC comes with the realm's 3 digits, so compare with [`PlmnId::same_network`].
    /// `None` for any other realm (an NAI SUPI's own domain).
    pub fn of_realm(realm: &str) -> Option<Self> {
        let r = realm.to_ascii_lowercase();
        let rest = r.strip_prefix("5gc.mnc")?;
        let (mnc, rest) = rest.split_at_checked(3)?;
        let rest = rest.strip_prefix(".mcc")?;
        let (mcc, rest) = rest.split_at_checked(3)?;
        if rest != ".3gppnetwork.org" {
            return None;
        }
        Self::new(mcc, mnc)
    }

    /// Whether both name the same network: the same MCC, and the same MNC once both are
    /// padded to 3 digits (TS 23.003 §19.2: a 2-digit MNC is written `0`-padded in realms
    /// and FQDNs, so a realm cannot tell `01` from `001` and neither may this comparison).
    pub fn same_network(&self, other: &PlmnId) -> bool {
        self.mcc == other.mcc && format!("{:0>3}", self.mnc) == format!("{:0>3}", other.mnc)
    }

    /// The configuration form `MCC-MNC` (`901-70`); the error says what is expected.
    pub fn parse_dashed(s: &str) -> Result<Self, String> {
        s.split_once('-')
            .and_then(|(mcc, mnc)| Self::new(mcc, mnc))
            .ok_or_else(|| format!("{s:?} is not MCC-MNC (3 digits, 2 or 3 digits)"))
    }

    /// Whether `list` holds a PLMN of the same network ([`PlmnId::same_network`]).
    pub fn is_in(&self, list: &[PlmnId]) -> bool {
        list.iter().any(|p| p.same_network(self))
    }
}

impl fmt::Display for PlmnId {
    /// `MCC-MNC`, the configuration form (`001-01`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.mcc, self.mnc)
    }
}

crate::sbi_model! {
    /// TS 29.510 `NFServiceVersion`.
    #[derive(Clone, PartialEq, Eq)]
    pub struct NfServiceVersion {
        /// `apiVersionInUri` (e.g. `v1`).
        api_version_in_uri: String = req("apiVersionInUri", Text),
        /// `apiFullVersion` (e.g. `1.2.0`).
        api_full_version: String = req("apiFullVersion", Text),
    }
}

crate::sbi_model! {
    /// TS 29.510 `IpEndPoint` (subset): where a service listens.
    #[derive(Clone, PartialEq, Eq)]
    pub struct IpEndPoint {
        /// `ipv4Address`.
        ipv4_address: Option<String> = opt("ipv4Address", Ipv4),
        /// `ipv6Address`.
        ipv6_address: Option<String> = opt("ipv6Address", Ipv6),
        /// `port` (absent: the scheme's default, TS 29.510 §6.1.6.2.5).
        port: Option<u16> = opt("port", Port),
    }
}

crate::sbi_model! {
    /// TS 29.510 `NFService` (subset).
    #[derive(Clone, PartialEq, Eq)]
    pub struct NfService {
        /// `serviceInstanceId`.
        service_instance_id: String = req("serviceInstanceId", Text),
        /// `serviceName` (e.g. `naanf-akma`).
        service_name: String = req("serviceName", Text),
        /// `versions`.
        versions: Vec<NfServiceVersion> = req("versions", NestedList<NfServiceVersion>),
        /// `scheme`: `http` or `https`.
        scheme: String = req("scheme", UriScheme),
        /// `nfServiceStatus`.
        nf_service_status: NfStatus = req("nfServiceStatus", NfStatusCodec),
        /// `fqdn`.
        fqdn: Option<String> = opt("fqdn", Fqdn),
        /// `apiPrefix`.
        api_prefix: Option<String> = opt("apiPrefix", Text),
        /// `ipEndPoints`.
        ip_end_points: Option<Vec<IpEndPoint>> = opt("ipEndPoints", NestedList<IpEndPoint>),
    }
}

impl NfService {
    /// A `REGISTERED` service `name` (`naanf-akma`) of API version `v1`, listening on
    /// `scheme://ip:port` with an optional `apiPrefix`.
    pub fn at(
        name: &str,
        full_version: &str,
        scheme: &str,
        addr: std::net::SocketAddr,
        api_prefix: Option<String>,
    ) -> Self {
        let (ipv4_address, ipv6_address) = match addr.ip() {
            std::net::IpAddr::V4(a) => (Some(a.to_string()), None),
            std::net::IpAddr::V6(a) => (None, Some(a.to_string())),
        };
        Self {
            service_instance_id: name.to_owned(),
            service_name: name.to_owned(),
            versions: vec![NfServiceVersion {
                api_version_in_uri: "v1".into(),
                api_full_version: full_version.to_owned(),
            }],
            scheme: scheme.to_owned(),
            nf_service_status: NfStatus::Registered,
            fqdn: None,
            api_prefix,
            ip_end_points: Some(vec![IpEndPoint {
                ipv4_address,
                ipv6_address,
                port: Some(addr.port()),
            }]),
        }
    }
}

crate::sbi_model! {
    /// TS 29.510 `AanfInfo` (TS 33.535: the AAnF's routing indicators).
    #[derive(Clone, PartialEq, Eq, Default)]
    pub struct AanfInfo {
        /// `routingIndicators` (empty: any).
        routing_indicators: Vec<RoutingIndicator> = list("routingIndicators", Rid),
    }
}

crate::sbi_model! {
    /// TS 29.510 `AusfInfo` (subset).
    #[derive(Clone, PartialEq, Eq, Default)]
    pub struct AusfInfo {
        /// `groupId`.
        group_id: Option<String> = opt("groupId", Text),
        /// `routingIndicators` (empty: any).
        routing_indicators: Vec<RoutingIndicator> = list("routingIndicators", Rid),
    }
}

crate::sbi_model! {
    /// TS 29.510 `NFProfile` (subset; the `anyOf` of `fqdn` / `ipv4Addresses` /
    /// `ipv6Addresses` is checked by [`NfProfile::addressing_ok`]).
    #[derive(Clone, PartialEq, Eq)]
    pub struct NfProfile {
        /// `nfInstanceId`.
        nf_instance_id: NfInstanceId = req("nfInstanceId", NfInstanceIdCodec),
        /// `nfInstanceName`.
        nf_instance_name: Option<String> = opt("nfInstanceName", Text),
        /// `nfType`.
        nf_type: NfType = req("nfType", NfTypeCodec),
        /// `nfStatus`.
        nf_status: NfStatus = req("nfStatus", NfStatusCodec),
        /// `heartBeatTimer` (seconds; the NRF decides it at registration).
        heart_beat_timer: Option<u32> = opt("heartBeatTimer", PositiveInt),
        /// `plmnList`.
        plmn_list: Option<Vec<PlmnId>> = opt("plmnList", NestedList<PlmnId>),
        /// `fqdn`.
        fqdn: Option<String> = opt("fqdn", Fqdn),
        /// `ipv4Addresses`.
        ipv4_addresses: Vec<String> = list("ipv4Addresses", Ipv4),
        /// `ipv6Addresses`.
        ipv6_addresses: Vec<String> = list("ipv6Addresses", Ipv6),
        /// `nfServices`.
        nf_services: Option<Vec<NfService>> = opt("nfServices", NestedList<NfService>),
        /// `ausfInfo`.
        ausf_info: Option<AusfInfo> = opt("ausfInfo", Nested<AusfInfo>),
        /// `aanfInfoList`: AanfInfo by an id of the NRF's choosing.
        aanf_info_list: Option<BTreeMap<String, AanfInfo>> = opt("aanfInfoList", NestedMap<AanfInfo>),
    }
}

impl NfProfile {
    /// A minimal profile (`fqdn` or an address still has to be set).
    pub fn new(nf_instance_id: NfInstanceId, nf_type: NfType) -> Self {
        Self {
            nf_instance_id,
            nf_instance_name: None,
            nf_type,
            nf_status: NfStatus::Registered,
            heart_beat_timer: None,
            plmn_list: None,
            fqdn: None,
            ipv4_addresses: Vec::new(),
            ipv6_addresses: Vec::new(),
            nf_services: None,
            ausf_info: None,
            aanf_info_list: None,
        }
    }

    /// The `anyOf` of TS 29.510: at least one of `fqdn`, `ipv4Addresses`, `ipv6Addresses`.
    pub fn addressing_ok(&self) -> bool {
        self.fqdn.is_some() || !self.ipv4_addresses.is_empty() || !self.ipv6_addresses.is_empty()
    }

    /// The `{apiRoot}`s (`scheme://authority[/apiPrefix]`, TS 29.501 §4.4.1) at which this
    /// NF offers `service` (`naanf-akma`), or, with `None`, any of its services; only
    /// `REGISTERED` services, in profile order, without duplicates. The authority is the
    /// service's own (`fqdn`, else its `ipEndPoints`), else the profile's (`fqdn`, else
    /// `ipv4Addresses`, `ipv6Addresses`) with the endpoint's port; no port means the
    /// scheme's default (TS 29.510 §6.1.6.2.3 and §6.1.6.2.5).
    pub fn api_roots(&self, service: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in self.nf_services.iter().flatten() {
            if s.nf_service_status != NfStatus::Registered
                || service.is_some_and(|n| n != s.service_name)
            {
                continue;
            }
            let ports: Vec<Option<u16>> = match &s.ip_end_points {
                Some(eps) if !eps.is_empty() => eps.iter().map(|e| e.port).collect(),
                _ => vec![None],
            };
            let mut hosts: Vec<(String, Option<u16>)> = Vec::new();
            if let Some(f) = s.fqdn.as_ref().or(self.fqdn.as_ref()) {
                hosts.extend(ports.iter().map(|p| (f.clone(), *p)));
            } else {
                for e in s.ip_end_points.iter().flatten() {
                    if let Some(a) = &e.ipv4_address {
                        hosts.push((a.clone(), e.port));
                    }
                    if let Some(a) = &e.ipv6_address {
                        hosts.push((format!("[{a}]"), e.port));
                    }
                }
                if hosts.is_empty() {
                    let profile_hosts = self
                        .ipv4_addresses
                        .iter()
                        .cloned()
                        .chain(self.ipv6_addresses.iter().map(|a| format!("[{a}]")));
                    for h in profile_hosts {
                        hosts.extend(ports.iter().map(|p| (h.clone(), *p)));
                    }
                }
            }
            let prefix = s
                .api_prefix
                .as_deref()
                .map(|p| p.trim_end_matches('/'))
                .filter(|p| !p.is_empty())
                .map(|p| {
                    if p.starts_with('/') {
                        p.to_owned()
                    } else {
                        format!("/{p}")
                    }
                })
                .unwrap_or_default();
            for (host, port) in hosts {
                let root = match port {
                    Some(p) => format!("{}://{host}:{p}{prefix}", s.scheme),
                    None => format!("{}://{host}{prefix}", s.scheme),
                };
                if !out.contains(&root) {
                    out.push(root);
                }
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// NFDiscovery (TS 29.510 §6.2.6)

/// TS 29.510 `SearchResult` (subset): what `GET /nnrf-disc/v1/nf-instances` answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    /// `validityPeriod`: seconds the consumer may cache the answer.
    #[serde(rename = "validityPeriod")]
    pub validity_period: u32,
    /// `nfInstances` (possibly empty).
    #[serde(rename = "nfInstances")]
    pub nf_instances: Vec<NfProfile>,
}

// ---------------------------------------------------------------------------------------
// AccessToken (TS 29.510 §6.3.5)

/// The `grant_type` of an access token request.
pub const GRANT_CLIENT_CREDENTIALS: &str = "client_credentials";

/// TS 29.510 `AccessTokenReq` (subset), sent form-encoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessTokenReq {
    /// `nfInstanceId`: the consumer.
    pub nf_instance_id: NfInstanceId,
    /// `nfType`: the consumer's type.
    pub nf_type: Option<NfType>,
    /// `targetNfType`.
    pub target_nf_type: Option<NfType>,
    /// `scope`: space-separated service names (and resource scopes).
    pub scope: String,
    /// `targetNfInstanceId`.
    pub target_nf_instance_id: Option<NfInstanceId>,
    /// `requesterPlmn` (JSON in the form): the consumer's PLMN, set by a visited network's
    /// NRF when it forwards the request to the home network's (roaming).
    pub requester_plmn: Option<PlmnId>,
    /// `targetPlmn` (JSON in the form): the producer's PLMN, when it is another network's.
    pub target_plmn: Option<PlmnId>,
}

/// `^([a-zA-Z0-9_:-]+)( [a-zA-Z0-9_:-]+)*$`.
pub fn scope_ok(s: &str) -> bool {
    !s.is_empty()
        && s.split(' ').all(|w| {
            !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b':' | b'-'))
        })
}

impl AccessTokenReq {
    /// The form body (RFC 6749 §4.4.2; `grant_type=client_credentials` first).
    pub fn to_form(&self) -> Vec<(&'static str, String)> {
        let mut f = vec![
            ("grant_type", GRANT_CLIENT_CREDENTIALS.to_owned()),
            ("nfInstanceId", self.nf_instance_id.as_str().to_owned()),
        ];
        if let Some(t) = self.nf_type {
            f.push(("nfType", t.as_str().to_owned()));
        }
        if let Some(t) = self.target_nf_type {
            f.push(("targetNfType", t.as_str().to_owned()));
        }
        f.push(("scope", self.scope.clone()));
        if let Some(t) = &self.target_nf_instance_id {
            f.push(("targetNfInstanceId", t.as_str().to_owned()));
        }
        // TS 29.510: these two are JSON-encoded in the form.
        for (name, p) in [
            ("requesterPlmn", &self.requester_plmn),
            ("targetPlmn", &self.target_plmn),
        ] {
            if let Some(p) = p {
                if let Ok(j) = serde_json::to_string(p) {
                    f.push((name, j));
                }
            }
        }
        f
    }

    /// Reads the decoded form pairs: a parameter given twice, a missing mandatory one or a
    /// bad value is `invalid_request` (an unknown `grant_type`: `unsupported_grant_type`).
    /// Parameters outside the subset are ignored.
    pub fn from_pairs(pairs: &[(String, String)]) -> Result<Self, AccessTokenErr> {
        let get = |name: &str| -> Result<Option<&str>, AccessTokenErr> {
            let mut it = pairs.iter().filter(|(k, _)| k == name);
            let first = it.next().map(|(_, v)| v.as_str());
            if it.next().is_some() {
                // RFC 6749 §3.2: parameters must not be included more than once.
                return Err(AccessTokenErr::invalid_request(format!(
                    "parameter {name} given more than once"
                )));
            }
            Ok(first)
        };
        let missing = |name: &str| AccessTokenErr::invalid_request(format!("{name} is missing"));
        let bad =
            |name: &str, why: String| AccessTokenErr::invalid_request(format!("{name}: {why}"));
        match get("grant_type")? {
            None => return Err(missing("grant_type")),
            Some(GRANT_CLIENT_CREDENTIALS) => {}
            Some(_) => {
                return Err(AccessTokenErr::new(
                    TokenErrorCode::UnsupportedGrantType,
                    "only grant_type=client_credentials is supported",
                ))
            }
        }
        let nf_instance_id =
            NfInstanceId::parse(get("nfInstanceId")?.ok_or_else(|| missing("nfInstanceId"))?)
                .map_err(|e| bad("nfInstanceId", e))?;
        let nf_type = get("nfType")?
            .map(parse_nf_type)
            .transpose()
            .map_err(|e| bad("nfType", e))?;
        let target_nf_type = get("targetNfType")?
            .map(parse_nf_type)
            .transpose()
            .map_err(|e| bad("targetNfType", e))?;
        let scope = get("scope")?.ok_or_else(|| missing("scope"))?;
        if !scope_ok(scope) {
            return Err(bad(
                "scope",
                "expected space-separated names of [a-zA-Z0-9_:-]".into(),
            ));
        }
        let target_nf_instance_id = get("targetNfInstanceId")?
            .map(NfInstanceId::parse)
            .transpose()
            .map_err(|e| bad("targetNfInstanceId", e))?;
        let plmn = |name: &str| -> Result<Option<PlmnId>, AccessTokenErr> {
            get(name)?
                .map(|s| {
                    serde_json::from_str::<serde_json::Value>(s)
                        .map_err(|e| e.to_string())
                        .and_then(|v| {
                            use crate::common::FromSbiJson as _;
                            PlmnId::from_sbi_json(&v).map_err(|e| e.to_string())
                        })
                })
                .transpose()
                .map_err(|e| bad(name, format!("expected a JSON PlmnId: {e}")))
        };
        Ok(Self {
            nf_instance_id,
            nf_type,
            target_nf_type,
            scope: scope.to_owned(),
            target_nf_instance_id,
            requester_plmn: plmn("requesterPlmn")?,
            target_plmn: plmn("targetPlmn")?,
        })
    }
}

/// TS 29.510 `AccessTokenRsp`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenRsp {
    /// The JWS compact serialisation of the `AccessTokenClaims`.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Lifetime in seconds.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expires_in: Option<u64>,
    /// The granted scopes.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<String>,
}

/// The `error` of an [`AccessTokenErr`] (RFC 6749 §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenErrorCode {
    /// `invalid_request`.
    InvalidRequest,
    /// `invalid_client`.
    InvalidClient,
    /// `invalid_grant`.
    InvalidGrant,
    /// `unauthorized_client`.
    UnauthorizedClient,
    /// `unsupported_grant_type`.
    UnsupportedGrantType,
    /// `invalid_scope`.
    InvalidScope,
}

/// TS 29.510 `AccessTokenErr`: the 400 answer of the token endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessTokenErr {
    /// The error code.
    pub error: TokenErrorCode,
    /// What was wrong (never a secret).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error_description: Option<String>,
}

impl AccessTokenErr {
    /// An error with a description.
    pub fn new(error: TokenErrorCode, description: impl Into<String>) -> Self {
        Self {
            error,
            error_description: Some(description.into()),
        }
    }

    /// `invalid_request`.
    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(TokenErrorCode::InvalidRequest, description)
    }
}

#[cfg(test)]
mod model_tests {
    use super::*;
    use crate::common::FromSbiJson;

    #[test]
    fn profiles_read_and_report_pointers() {
        let p = NfProfile::from_sbi_json(&serde_json::json!({
            "nfInstanceId": "4947A69A-F61B-4BC1-B9DA-47C9C5D14B64",
            "nfType": "AANF", "nfStatus": "REGISTERED", "ipv4Addresses": ["127.0.0.1"],
            "plmnList": [{"mcc": "001", "mnc": "01"}],
            "aanfInfoList": {"a": {"routingIndicators": ["0", "12"]}},
            "nfServices": [{"serviceInstanceId": "1", "serviceName": "naanf-akma",
                "versions": [{"apiVersionInUri": "v1", "apiFullVersion": "1.0.0"}],
                "scheme": "http", "nfServiceStatus": "REGISTERED"}],
            "unknownAttr": 1
        }))
        .unwrap();
        assert_eq!(
            p.nf_instance_id.as_str(),
            "4947a69a-f61b-4bc1-b9da-47c9c5d14b64"
        );
        assert_eq!(
            p.aanf_info_list.as_ref().unwrap()["a"]
                .routing_indicators
                .len(),
            2
        );
        assert!(p.addressing_ok());
        let back = serde_json::to_value(&p).unwrap();
        assert_eq!(back["plmnList"][0]["mnc"], "01");
        assert!(back.get("unknownAttr").is_none());
        assert_eq!(NfProfile::from_sbi_json(&back).unwrap(), p);
        let e = NfProfile::from_sbi_json(&serde_json::json!({
            "nfInstanceId": "4947a69a-f61b-4bc1-b9da-47c9c5d14b64", "nfType": "AANF",
            "nfStatus": "REGISTERED", "plmnList": [{"mcc": "001", "mnc": "1"}],
            "aanfInfoList": {"a": {"routingIndicators": ["12345"]}}
        }))
        .unwrap_err();
        let params: Vec<&str> = e.params().iter().map(|p| p.param.as_str()).collect();
        assert_eq!(
            params,
            vec!["/plmnList/0/mnc", "/aanfInfoList/a/routingIndicators"]
        );
        let e = NfProfile::from_sbi_json(
            &serde_json::json!({"nfType": "NOPE", "nfStatus": "REGISTERED"}),
        )
        .unwrap_err();
        assert_eq!(e.cause(), Some("MANDATORY_IE_MISSING"));
    }

    #[test]
    fn token_requests_are_strict() {
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
                .collect()
        };
        let id = "4947a69a-f61b-4bc1-b9da-47c9c5d14b64";
        let ok = AccessTokenReq::from_pairs(&pairs(&[
            ("grant_type", "client_credentials"),
            ("nfInstanceId", id),
            ("nfType", "AUSF"),
            ("targetNfType", "AANF"),
            ("scope", "naanf-akma"),
        ]))
        .unwrap();
        assert_eq!(ok.target_nf_type, Some(NfType::Aanf));
        let again: Vec<(String, String)> = ok
            .to_form()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(AccessTokenReq::from_pairs(&again).unwrap(), ok);
        let e = AccessTokenReq::from_pairs(&pairs(&[
            ("grant_type", "password"),
            ("nfInstanceId", id),
            ("scope", "x"),
        ]))
        .unwrap_err();
        assert_eq!(e.error, TokenErrorCode::UnsupportedGrantType);
        for bad in [
            vec![("grant_type", "client_credentials"), ("scope", "x")],
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", "nope"),
                ("scope", "x"),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", id),
                ("scope", "a  b"),
            ],
            vec![
                ("grant_type", "client_credentials"),
                ("nfInstanceId", id),
                ("scope", "x"),
                ("scope", "y"),
            ],
        ] {
            let e = AccessTokenReq::from_pairs(&pairs(&bad)).unwrap_err();
            assert_eq!(e.error, TokenErrorCode::InvalidRequest, "{bad:?}");
        }
        assert_eq!(
            serde_json::to_value(AccessTokenErr::new(TokenErrorCode::InvalidScope, "x")).unwrap(),
            serde_json::json!({"error": "invalid_scope", "error_description": "x"})
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plmn_of_a_realm_and_the_same_network() {
        let p = PlmnId::of_realm("5gc.mnc070.mcc901.3gppnetwork.org").unwrap();
        assert_eq!((p.mcc.as_str(), p.mnc.as_str()), ("901", "070"));
        assert_eq!(
            PlmnId::of_realm("5GC.MNC001.MCC001.3GPPNETWORK.ORG"),
            PlmnId::new("001", "001")
        );
        for other in [
            "example.com",
            "5gc.mnc70.mcc901.3gppnetwork.org",
            "5gc.mnc070.mcc901.3gppnetwork.org.evil",
            "5gc.mnc0a0.mcc901.3gppnetwork.org",
            "ims.mnc070.mcc901.3gppnetwork.org",
            "5gc.mnc070.mcc90.3gppnetwork.org",
            "",
        ] {
            assert_eq!(PlmnId::of_realm(other), None, "{other}");
        }
        let two = PlmnId::new("901", "70").unwrap();
        assert!(p.same_network(&two) && two.same_network(&p));
        assert!(!PlmnId::new("901", "71").unwrap().same_network(&p));
        assert!(!PlmnId::new("902", "70").unwrap().same_network(&two));
        assert!(p.is_in(&[PlmnId::new("001", "01").unwrap(), two.clone()]));
        assert!(!p.is_in(&[]));
        assert_eq!(two.to_string(), "901-70");
        assert_eq!(PlmnId::parse_dashed("901-70"), Ok(two));
        assert!(PlmnId::parse_dashed("90170").is_err());
        assert!(PlmnId::parse_dashed("901-7").is_err());
    }

    fn profile(json: &str) -> NfProfile {
        use crate::common::validation::FromSbiJson as _;
        NfProfile::from_sbi_slice(json.as_bytes()).expect("valid profile")
    }

    #[test]
    fn api_roots_from_services_and_profile() {
        let p = profile(
            r#"{"nfInstanceId":"9e1b2c3d-0000-4000-8000-000000000001","nfType":"AANF",
                "nfStatus":"REGISTERED","ipv4Addresses":["10.0.0.9"],
                "nfServices":[
                  {"serviceInstanceId":"a","serviceName":"naanf-akma","scheme":"https",
                   "nfServiceStatus":"REGISTERED",
                   "versions":[{"apiVersionInUri":"v1","apiFullVersion":"1.0.0"}],
                   "ipEndPoints":[{"ipv4Address":"127.0.0.1","port":8443},{"ipv6Address":"::1","port":8444}],
                   "apiPrefix":"pfx/"},
                  {"serviceInstanceId":"b","serviceName":"other","scheme":"http",
                   "nfServiceStatus":"REGISTERED",
                   "versions":[{"apiVersionInUri":"v1","apiFullVersion":"1.0.0"}],
                   "ipEndPoints":[{"port":8080}]},
                  {"serviceInstanceId":"c","serviceName":"down","scheme":"http",
                   "nfServiceStatus":"SUSPENDED",
                   "versions":[{"apiVersionInUri":"v1","apiFullVersion":"1.0.0"}]}
                ]}"#,
        );
        assert_eq!(
            p.api_roots(Some("naanf-akma")),
            ["https://127.0.0.1:8443/pfx", "https://[::1]:8444/pfx"]
        );
        // An endpoint with a port only takes the profile's address.
        assert_eq!(p.api_roots(Some("other")), ["http://10.0.0.9:8080"]);
        assert!(p.api_roots(Some("down")).is_empty());
        assert!(p.api_roots(Some("nope")).is_empty());
        assert_eq!(p.api_roots(None).len(), 3);
        // An FQDN wins over addresses; no port: the scheme's default.
        let p = profile(
            r#"{"nfInstanceId":"9e1b2c3d-0000-4000-8000-000000000001","nfType":"UDM",
                "nfStatus":"REGISTERED","fqdn":"udm.5gc.example",
                "nfServices":[{"serviceInstanceId":"a","serviceName":"nudm-ueau","scheme":"https",
                   "nfServiceStatus":"REGISTERED",
                   "versions":[{"apiVersionInUri":"v1","apiFullVersion":"1.0.0"}]}]}"#,
        );
        assert_eq!(p.api_roots(None), ["https://udm.5gc.example"]);
        // No services: nothing to call.
        let mut p = p;
        p.nf_services = None;
        assert!(p.api_roots(None).is_empty());
    }

    #[test]
    fn service_at_round_trips() {
        let s = NfService::at(
            "naanf-akma",
            "1.0.0",
            "http",
            "127.0.0.1:8085".parse().unwrap(),
            None,
        );
        let mut p = NfProfile::new(
            NfInstanceId::parse("9e1b2c3d-0000-4000-8000-000000000001").unwrap(),
            NfType::Aanf,
        );
        p.ipv4_addresses = vec!["127.0.0.1".into()];
        p.nf_services = Some(vec![s]);
        let bytes = crate::wire::to_vec(&p).unwrap();
        let back: NfProfile = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, p);
        assert_eq!(back.api_roots(None), ["http://127.0.0.1:8085"]);
        let bad = String::from_utf8(bytes.to_vec())
            .unwrap()
            .replace("8085", "70000");
        assert!(serde_json::from_slice::<NfProfile>(bad.as_bytes()).is_err());
    }
}
