//! The NEF's rules as plain functions, testable without HTTP: the AF registry, the choice
//! of client authentication (RFC 6749 §2.3, RFC 8705 §2), scope grants (RFC 6749 §3.3),
//! the per-AF token bucket, the afId check, AAnF selection, and the answer an external AF
//! gets (never a SUPI: TS 33.535 §6.3).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use akma_core::ids::{AfFqdn, Gpsi};
use akma_sbi_client::{ClientError, NfHint, NfResolver};
use akma_sbi_model::nef_akma::{scope, AkmaAfKeyData};
use akma_sbi_model::NfType;
use zeroize::Zeroizing;

use crate::config::{AanfRoute, AfEntry, RateLimit};

/// The AF registry, by client id.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_id: HashMap<String, Arc<AfEntry>>,
}

impl Registry {
    /// The registry of `entries` (client ids are unique: the configuration checks it).
    pub fn new(entries: impl IntoIterator<Item = AfEntry>) -> Self {
        Self {
            by_id: entries
                .into_iter()
                .map(|e| (e.client_id.clone(), Arc::new(e)))
                .collect(),
        }
    }

    /// The entry of `client_id`.
    pub fn get(&self, client_id: &str) -> Option<&Arc<AfEntry>> {
        self.by_id.get(client_id)
    }

    /// Every entry.
    pub fn entries(&self) -> impl Iterator<Item = &Arc<AfEntry>> {
        self.by_id.values()
    }

    /// Number of AFs.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there is no AF.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

/// A refusal at the token endpoint (RFC 6749 §5.2), or its rate limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// 400 `invalid_request`.
    #[error("invalid_request: {0}")]
    InvalidRequest(String),
    /// 401 `invalid_client` (never says which part was wrong beyond the method).
    #[error("invalid_client: {0}")]
    InvalidClient(String),
    /// 400 `unsupported_grant_type`.
    #[error("unsupported_grant_type: {0}")]
    UnsupportedGrantType(String),
    /// 400 `invalid_scope`.
    #[error("invalid_scope: {0}")]
    InvalidScope(String),
    /// 429 with `Retry-After`.
    #[error("rate limited for {retry_after_secs} s")]
    RateLimited {
        /// Whole seconds (≥ 1).
        retry_after_secs: u64,
    },
}

impl TokenError {
    /// The RFC 6749 `error` code (`None` for the rate limit, a ProblemDetails).
    pub fn code(&self) -> Option<&'static str> {
        Some(match self {
            TokenError::InvalidRequest(_) => "invalid_request",
            TokenError::InvalidClient(_) => "invalid_client",
            TokenError::UnsupportedGrantType(_) => "unsupported_grant_type",
            TokenError::InvalidScope(_) => "invalid_scope",
            TokenError::RateLimited { .. } => return None,
        })
    }
}

/// How the client authenticates at the token endpoint.
#[derive(PartialEq, Eq)]
pub enum ClientAuth {
    /// RFC 6749 §2.3.1 `client_secret_basic`.
    SecretBasic {
        /// The client id.
        client_id: String,
        /// The secret (wiped on drop; never logged).
        secret: Zeroizing<String>,
    },
    /// RFC 8705 §2 `tls_client_auth`: the client certificate, with `client_id` in the form.
    TlsClientAuth {
        /// The client id.
        client_id: String,
    },
}

impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientAuth::SecretBasic { client_id, .. } => f
                .debug_struct("SecretBasic")
                .field("client_id", client_id)
                .finish_non_exhaustive(),
            ClientAuth::TlsClientAuth { client_id } => f
                .debug_struct("TlsClientAuth")
                .field("client_id", client_id)
                .finish(),
        }
    }
}

impl ClientAuth {
    /// The client id claimed.
    pub fn client_id(&self) -> &str {
        match self {
            ClientAuth::SecretBasic { client_id, .. } | ClientAuth::TlsClientAuth { client_id } => {
                client_id
            }
        }
    }
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space, `%XX` an octet), as
/// RFC 6749 §2.3.1 applies it to the client id and secret; `None` if not UTF-8 or a `%` is
/// not followed by two hex digits.
pub fn form_urldecode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = b.get(i + 1..i + 3)?;
                let hex = std::str::from_utf8(hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

/// Reads `Authorization: Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749
/// §2.3.1, RFC 7617). `Ok(None)` when the header is absent or another scheme.
pub fn parse_basic(value: Option<&str>) -> Result<Option<(String, Zeroizing<String>)>, TokenError> {
    use base64::Engine as _;
    let Some(v) = value else { return Ok(None) };
    let Some((scheme, rest)) = v.split_once(' ') else {
        return Err(TokenError::InvalidClient(
            "the Authorization header is not 'Basic <credentials>'".into(),
        ));
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(TokenError::InvalidClient(
            "client authentication must be HTTP Basic (client_secret_basic) or a TLS client certificate".into(),
        ));
    }
    let bad = || TokenError::InvalidClient("malformed Basic credentials".into());
    let raw = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(rest.trim())
            .map_err(|_| bad())?,
    );
    let text = std::str::from_utf8(&raw).map_err(|_| bad())?;
    let (id, secret) = text.split_once(':').ok_or_else(bad)?;
    let id = form_urldecode(id).ok_or_else(bad)?;
    let secret = Zeroizing::new(form_urldecode(secret).ok_or_else(bad)?);
    if id.is_empty() {
        return Err(bad());
    }
    Ok(Some((id, secret)))
}

/// Which client authentication a token request uses (contract: exactly one of
/// `client_secret_basic` and `tls_client_auth`; both, neither, or `client_secret_post` →
/// `invalid_client`). `form_client_id` with `has_certificate` is `tls_client_auth`.
pub fn client_auth(
    basic: Option<(String, Zeroizing<String>)>,
    form_client_id: Option<&str>,
    form_has_secret: bool,
    has_certificate: bool,
) -> Result<ClientAuth, TokenError> {
    if form_has_secret {
        return Err(TokenError::InvalidClient(
            "client_secret_post is not offered: send the secret with HTTP Basic".into(),
        ));
    }
    match (basic, form_client_id) {
        (Some(_), Some(_)) => Err(TokenError::InvalidClient(
            "use one client authentication method: HTTP Basic or a TLS client certificate with client_id".into(),
        )),
        (Some((client_id, secret)), None) => Ok(ClientAuth::SecretBasic { client_id, secret }),
        (None, Some(id)) if has_certificate => Ok(ClientAuth::TlsClientAuth {
            client_id: id.to_owned(),
        }),
        (None, Some(_)) => Err(TokenError::InvalidClient(
            "client_id without a TLS client certificate; authenticate with HTTP Basic".into(),
        )),
        (None, None) => Err(TokenError::InvalidClient(
            "no client authentication (HTTP Basic or a TLS client certificate)".into(),
        )),
    }
}

/// RFC 8705 §2.1.2 `tls_client_auth_san_dns`: whether the certificate's SAN DNS names
/// include the entry's bound name (compared without regard to case).
pub fn certificate_matches(entry: &AfEntry, cert_dns_names: &[String]) -> bool {
    entry
        .tls_client_auth_san_dns
        .as_deref()
        .is_some_and(|bound| cert_dns_names.iter().any(|d| d.eq_ignore_ascii_case(bound)))
}

/// The scopes granted (RFC 6749 §3.3): every allowed scope when none is requested; else
/// each requested one, which must be allowed.
pub fn grant_scopes(entry: &AfEntry, requested: Option<&str>) -> Result<Vec<String>, TokenError> {
    let Some(req) = requested else {
        return Ok(entry.scopes.clone());
    };
    let mut granted: Vec<String> = Vec::new();
    for s in req.split(' ').filter(|s| !s.is_empty()) {
        if !entry.scopes.iter().any(|a| a == s) {
            return Err(TokenError::InvalidScope(format!(
                "scope {s:?} is not allowed for this client"
            )));
        }
        if !granted.iter().any(|g| g == s) {
            granted.push(s.to_owned());
        }
    }
    Ok(granted)
}

/// A refusal of the retrieve operation by the rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleError {
    /// 403 `AF_NOT_AUTHORIZED`: the afId's FQDN is not one of the AF's.
    #[error("{0}")]
    AfNotAuthorized(String),
    /// 400 on `/notifUri`: the AF's callback URI names a host that is none of its FQDNs,
    /// or this NEF relays no notifications.
    #[error("{0}")]
    CallbackNotAllowed(String),
}

/// Service disable (TS 29.522 V18.6.0 `notifUri`): an AF's callback URI must name one of
/// its registered FQDNs, so that the NEF relays to the AF and nowhere else.
pub fn authorize_callback(entry: &AfEntry, notif_uri: &str) -> Result<(), RuleError> {
    let host = akma_sbi_model::common::fields::uri_host(notif_uri).ok_or_else(|| {
        RuleError::CallbackNotAllowed("not an http:// or https:// URI with a host".into())
    })?;
    if entry
        .fqdns
        .iter()
        .any(|f| f.as_str().eq_ignore_ascii_case(&host))
    {
        Ok(())
    } else {
        Err(RuleError::CallbackNotAllowed(format!(
            "host {host:?} is none of the FQDNs of client {}",
            entry.client_id
        )))
    }
}

/// TS 29.522 §5.14 / TS 33.535 §6.2: an AF asks only for its own FQDNs.
//= req 33535-6.3-nef-authorizes-af
pub fn authorize_fqdn(entry: &AfEntry, fqdn: &AfFqdn) -> Result<(), RuleError> {
    if entry.fqdns.contains(fqdn) {
        Ok(())
    } else {
        Err(RuleError::AfNotAuthorized(format!(
            "client {} is not registered for AF {fqdn}",
            entry.client_id
        )))
    }
}

/// Whether the answer carries a GPSI: the token holds `nnef-akma:gpsi-access` and the AF
/// did not ask for anonymous access.
//= req 29522-gpsi-access, 29522-anon-ind
pub fn wants_gpsi<'a>(scopes: impl IntoIterator<Item = &'a String>, anon: bool) -> bool {
    !anon && scopes.into_iter().any(|s| s == scope::GPSI_ACCESS)
}

/// The answer an external AF gets: K_AF and its expiry from the AAnF, the GPSI only when
/// given (the caller decided with [`wants_gpsi`]), and never a SUPI, whatever the AAnF sent.
//= req 33535-6.3-nef-no-supi
pub fn external_answer(aanf: AkmaAfKeyData, gpsi: Option<Gpsi>) -> AkmaAfKeyData {
    let mut out = AkmaAfKeyData::new(aanf.kaf, aanf.expiry);
    out.supp_feat = aanf.supp_feat;
    out.gpsi = gpsi;
    out.supi = None;
    out
}

/// One AF's token bucket (RFC 6585 §4 for the 429), on a monotonic clock given as the
/// time since an arbitrary origin.
#[derive(Debug, Clone, Copy)]
pub struct TokenBucket {
    tokens: f64,
    last: Duration,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn full(limit: RateLimit, now: Duration) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes one request at `now`: `Ok` if a token was there, else the whole seconds until
    /// one will be (at least 1).
    pub fn take(&mut self, limit: RateLimit, now: Duration) -> Result<(), u64> {
        let elapsed = now.saturating_sub(self.last).as_secs_f64();
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed * limit.per_sec).min(f64::from(limit.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            let wait = ((1.0 - self.tokens) / limit.per_sec).ceil();
            // Bounded: per_sec > 0 (checked at load); cap at a day.
            Err((wait as u64).clamp(1, 86_400))
        }
    }
}

/// The token buckets of every AF of a registry (one lock per AF: AFs never wait on each
/// other).
#[derive(Debug, Default)]
pub struct RateLimiter {
    buckets: HashMap<String, (RateLimit, Mutex<TokenBucket>)>,
}

impl RateLimiter {
    /// Full buckets for every AF of `registry` at `now`.
    pub fn new(registry: &Registry, now: Duration) -> Self {
        Self {
            buckets: registry
                .entries()
                .map(|e| {
                    (
                        e.client_id.clone(),
                        (
                            e.rate_limit,
                            Mutex::new(TokenBucket::full(e.rate_limit, now)),
                        ),
                    )
                })
                .collect(),
        }
    }

    /// Takes one request of `client_id` at `now` (`Ok` for an unknown client: it is refused
    /// elsewhere).
    pub fn take(&self, client_id: &str, now: Duration) -> Result<(), u64> {
        match self.buckets.get(client_id) {
            None => Ok(()),
            Some((limit, b)) => match b.lock() {
                Ok(mut b) => b.take(*limit, now),
                // A poisoned bucket (a panic while held) refuses nothing.
                Err(_) => Ok(()),
            },
        }
    }
}

/// The configured AAnFs as an [`NfResolver`]: the first entry whose routing indicators
/// and realms match the hint (empty lists match anything). TS 33.535 §6.2: the NEF finds
/// the AAnF from the A-KID's routing indicator and home network.
#[derive(Debug, Clone)]
pub struct AanfDirectory {
    routes: Vec<AanfRoute>,
}

impl AanfDirectory {
    /// The directory of `routes`, in order.
    pub fn new(routes: Vec<AanfRoute>) -> Self {
        Self { routes }
    }

    /// The `{apiRoot}` serving routing indicator `ri` and `realm`.
    //= req 33535-6.3-nef-selects-aanf
    pub fn select(&self, ri: Option<&str>, realm: Option<&str>) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| {
                let ri_ok = r.routing_indicators.is_empty()
                    || ri.is_some_and(|ri| r.routing_indicators.iter().any(|x| x == ri));
                let realm_ok = r.realms.is_empty()
                    || realm.is_some_and(|m| r.realms.iter().any(|x| x.eq_ignore_ascii_case(m)));
                ri_ok && realm_ok
            })
            .map(|r| r.api_root.as_str())
    }
}

impl NfResolver for AanfDirectory {
    fn resolve(&self, nf_type: NfType, hint: &NfHint) -> Result<String, ClientError> {
        if nf_type != NfType::Aanf {
            return Err(ClientError::NoProducer { nf_type });
        }
        self.select(hint.routing_indicator.as_deref(), hint.realm.as_deref())
            .map(str::to_owned)
            .ok_or(ClientError::NoProducer { nf_type })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use akma_core::keys::KAf;
    use time::OffsetDateTime;

    fn entry() -> AfEntry {
        AfEntry {
            client_id: "af-1".into(),
            client_secret_hash: String::new(),
            fqdns: vec![AfFqdn::parse("app.example.com").unwrap()],
            scopes: vec![scope::GPSI_ACCESS.into()],
            rate_limit: RateLimit {
                per_sec: 1.0,
                burst: 3,
            },
            tls_client_auth_san_dns: Some("af-1.example".into()),
        }
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        use base64::Engine as _;
        let h = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("af%3A1:s+e%25cret")
        );
        let (id, secret) = parse_basic(Some(&h)).unwrap().unwrap();
        assert_eq!(id, "af:1");
        assert_eq!(secret.as_str(), "s e%cret");
        assert_eq!(parse_basic(None).unwrap(), None);
        for bad in ["Bearer x", "Basic !!!", "Basic", "Basic Og=="] {
            assert!(
                matches!(parse_basic(Some(bad)), Err(TokenError::InvalidClient(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn exactly_one_authentication_method() {
        let basic = || Some(("af-1".to_owned(), Zeroizing::new("s".to_owned())));
        assert!(matches!(
            client_auth(basic(), None, false, true),
            Ok(ClientAuth::SecretBasic { .. })
        ));
        assert_eq!(
            client_auth(None, Some("af-1"), false, true).unwrap(),
            ClientAuth::TlsClientAuth {
                client_id: "af-1".into()
            }
        );
        for (b, id, post, cert) in [
            (basic(), Some("af-1"), false, true),
            (None, None, false, true),
            (None, Some("af-1"), false, false),
            (basic(), None, true, false),
            (None, Some("af-1"), true, true),
        ] {
            assert!(matches!(
                client_auth(b, id, post, cert),
                Err(TokenError::InvalidClient(_))
            ));
        }
        assert!(certificate_matches(&entry(), &["AF-1.example".into()]));
        assert!(!certificate_matches(&entry(), &["af-2.example".into()]));
    }

    #[test]
    fn scopes_default_and_subset() {
        let e = entry();
        assert_eq!(grant_scopes(&e, None).unwrap(), vec![scope::GPSI_ACCESS]);
        assert!(grant_scopes(&e, Some("")).unwrap().is_empty());
        assert_eq!(
            grant_scopes(&e, Some("nnef-akma:gpsi-access nnef-akma:gpsi-access")).unwrap(),
            vec![scope::GPSI_ACCESS]
        );
        assert!(matches!(
            grant_scopes(&e, Some("nnef-akma:supi-access")),
            Err(TokenError::InvalidScope(_))
        ));
    }

    //= test 33535-6.3-nef-authorizes-af, 29522-gpsi-access, 29522-anon-ind
    #[test]
    fn fqdn_and_gpsi_decisions() {
        let e = entry();
        assert!(authorize_fqdn(&e, &AfFqdn::parse("APP.example.com").unwrap()).is_ok());
        assert!(authorize_fqdn(&e, &AfFqdn::parse("other.example.com").unwrap()).is_err());
        let s = vec![scope::GPSI_ACCESS.to_owned()];
        assert!(wants_gpsi(&s, false));
        assert!(!wants_gpsi(&s, true));
        assert!(!wants_gpsi(&Vec::<String>::new(), false));
    }

    //= test 33535-6.3-nef-no-supi
    #[test]
    fn the_answer_never_has_a_supi() {
        let mut a = AkmaAfKeyData::new(KAf::from_bytes([7; 32]), OffsetDateTime::UNIX_EPOCH);
        a.supi = Some(akma_core::ids::Supi::parse("imsi-001010000000001").unwrap());
        let g = Gpsi::parse("msisdn-33612345678").unwrap();
        let out = external_answer(a.clone(), Some(g.clone()));
        assert_eq!(out.supi, None);
        assert_eq!(out.gpsi, Some(g));
        assert_eq!(out.kaf, a.kaf);
        let v = serde_json::to_value(external_answer(a, None)).unwrap();
        assert!(v.get("supi").is_none() && v.get("gpsi").is_none(), "{v}");
    }

    #[test]
    fn bucket_gives_burst_then_retry_after() {
        let limit = RateLimit {
            per_sec: 0.5,
            burst: 3,
        };
        let t0 = Duration::from_secs(100);
        let mut b = TokenBucket::full(limit, t0);
        for _ in 0..3 {
            b.take(limit, t0).unwrap();
        }
        assert_eq!(b.take(limit, t0), Err(2));
        assert_eq!(b.take(limit, t0 + Duration::from_secs(1)), Err(1));
        b.take(limit, t0 + Duration::from_secs(2)).unwrap();
        // A clock that goes backwards refills nothing.
        assert!(b.take(limit, t0).is_err());
    }

    //= test 33535-6.3-nef-selects-aanf
    #[test]
    fn aanf_selection_by_ri_and_realm() {
        let d = AanfDirectory::new(vec![
            AanfRoute {
                api_root: "http://a".into(),
                routing_indicators: vec!["12".into()],
                realms: vec![],
            },
            AanfRoute {
                api_root: "http://b".into(),
                routing_indicators: vec![],
                realms: vec!["5gc.mnc070.mcc901.3gppnetwork.org".into()],
            },
        ]);
        let k = |s: &str| akma_core::ids::AKid::parse(s).unwrap();
        let h = NfHint::of_a_kid(&k("12.abc@x.example"));
        assert_eq!(d.resolve(NfType::Aanf, &h).unwrap(), "http://a");
        let h = NfHint::of_a_kid(&k("0.abc@5GC.mnc070.mcc901.3gppnetwork.org"));
        assert_eq!(h.routing_indicator.as_deref(), Some("0"));
        assert_eq!(d.resolve(NfType::Aanf, &h).unwrap(), "http://b");
        assert!(d
            .resolve(NfType::Aanf, &NfHint::of_a_kid(&k("0.abc@x.example")))
            .is_err());
    }

    #[test]
    fn a_callback_must_name_one_of_the_afs_fqdns() {
        let e = entry();
        let first = e.fqdns[0].as_str().to_owned();
        assert!(authorize_callback(&e, &format!("https://{first}/akma/service-disable/x")).is_ok());
        assert!(authorize_callback(
            &e,
            &format!("https://{}:8443/x", first.to_ascii_uppercase())
        )
        .is_ok());
        for bad in [
            "https://evil.example/x".to_owned(),
            format!("https://{first}.evil.example/x"),
            format!("https://{first}@evil.example/x"),
            "https://127.0.0.1/x".to_owned(),
            "mailto:x".to_owned(),
        ] {
            assert!(
                matches!(
                    authorize_callback(&e, &bad),
                    Err(RuleError::CallbackNotAllowed(_))
                ),
                "{bad}"
            );
        }
    }
}
