//! The configuration reference of `docs/operator-guide.md` cannot drift from the parsers, in
//! either direction:
//!
//! - every key a table row lists is accepted by that NF's parser, in the section the row names;
//!   a row whose default is one TOML value in backticks (`` `60` ``) gives the same
//!   configuration as leaving the key out; a row whose default is `required` makes the parse
//!   fail when the key is left out; a row of type `refused` names a section the parser knows
//!   and refuses;
//! - every key the parsers accept is listed.
//!
//! The accepted keys are learnt from the parsers themselves, not from a list kept here: each
//! NF's own keys are in a `RawConfig` with `#[serde(flatten)] rest` (the host's keys, checked
//! by `HostConfig::from_rest`), `[client]` is read by `PeerClientConfig::from_toml`, and
//! `[[consumer]]` by hand, so there is no `FIELDS` list to read. Instead every word of the
//! NF's source and of `akma-nf-host` (the superset from which any serde field name or
//! `remove("key")` is spelt, plus `<word>_token_file` for the `[client]` token keys built at
//! run time) is given to the real parser, in every section the guide documents, as
//! `word = 1`: a key the parser does not know is refused by name (`unknown setting`,
//! `unknown field`, `unknown key`); any other answer, success or a type error, means the
//! parser knows it. A new section is a new top-level key, so it cannot hide either.
//!
//! Defaults are compared on a view of each parsed configuration that names every field (an
//! exhaustive destructuring: a new field does not compile until it is added here); values are
//! never printed, only the names of the fields that differ.
#![allow(clippy::unwrap_used)] // test code

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn guide() -> String {
    std::fs::read_to_string(root().join("docs/operator-guide.md")).unwrap()
}

// ---------------------------------------------------------------------------------------
// The guide's tables

/// The NF names of the first column (`host`: the keys every NF has through `akma-nf-host`).
const NFS: [&str; 7] = ["host", "udm", "ausf", "aanf", "nef", "nrf", "af"];
/// The NFs that run in the NF host (and so take the `host` rows).
const HOSTED: [&str; 5] = ["udm", "ausf", "aanf", "nef", "nrf"];
/// The heading that starts the reference, and the next `## ` heading ends it.
const REFERENCE_HEADING: &str = "## 3. Configuration reference";

/// Where a key is: the section header (`""` at the top level, `[tls]`, `[[af]]`) and the
/// dotted prefix of an inline table inside it (`rate_limit.`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Ctx {
    header: String,
    prefix: String,
}

impl Ctx {
    fn top() -> Self {
        Self {
            header: String::new(),
            prefix: String::new(),
        }
    }

    fn name(&self, key: &str) -> String {
        if self.header.is_empty() {
            format!("{}{key}", self.prefix)
        } else {
            format!("{} {}{key}", self.header, self.prefix)
        }
    }
}

/// The types a row may name, and the TOML types its concrete default may have.
const TYPES: &[(&str, &[&str])] = &[
    ("string", &["string"]),
    ("path", &["string"]),
    ("URI", &["string"]),
    ("address", &["string"]),
    ("integer", &["integer"]),
    ("float", &["float"]),
    ("boolean", &["boolean"]),
    ("integer or string", &["integer", "string"]),
    ("array of strings", &["array"]),
    ("array of paths", &["array"]),
    ("table", &["table"]),
    ("inline table", &["table"]),
    ("array of tables", &["array"]),
    ("refused", &[]),
];

/// How a row's default is checked.
#[derive(Debug, Clone, PartialEq)]
enum DefaultCheck {
    /// One TOML value: setting it must change nothing.
    Value(String),
    /// Leaving the key out must fail.
    Required,
    /// Prose (a default applied elsewhere, computed, or none): not checked.
    Prose,
}

#[derive(Debug, Clone, PartialEq)]
struct Row {
    nf: String,
    ctx: Ctx,
    key: String,
    ty: String,
    default: DefaultCheck,
    line: usize,
}

impl Row {
    fn name(&self) -> String {
        self.ctx.name(&self.key)
    }

    /// The context of the keys inside this row's section, if it is one.
    fn inner(&self) -> Option<Ctx> {
        match self.ty.as_str() {
            "table" if self.ctx == Ctx::top() => Some(Ctx {
                header: format!("[{}]", self.key),
                prefix: String::new(),
            }),
            "array of tables" if self.ctx == Ctx::top() => Some(Ctx {
                header: format!("[[{}]]", self.key),
                prefix: String::new(),
            }),
            "inline table" => Some(Ctx {
                header: self.ctx.header.clone(),
                prefix: format!("{}{}.", self.ctx.prefix, self.key),
            }),
            _ => None,
        }
    }
}

/// The TOML kind of a value.
fn kind(v: &toml::Value) -> &'static str {
    match v {
        toml::Value::String(_) => "string",
        toml::Value::Integer(_) => "integer",
        toml::Value::Float(_) => "float",
        toml::Value::Boolean(_) => "boolean",
        toml::Value::Datetime(_) => "datetime",
        toml::Value::Array(_) => "array",
        toml::Value::Table(_) => "table",
    }
}

fn is_key(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_ascii_lowercase())
        && c.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The rows of the reference section. A malformed row is a problem, never skipped.
fn parse_rows(text: &str, problems: &mut Vec<Problem>) -> Vec<Row> {
    let mut rows = Vec::new();
    let (mut inside, mut fenced) = (false, false);
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        if line.starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if fenced {
            continue;
        }
        if line.starts_with("## ") {
            inside = line.trim_end() == REFERENCE_HEADING;
            continue;
        }
        let Some(body) = line.strip_prefix("| `") else {
            continue;
        };
        if !inside {
            continue;
        }
        let bad = |why: &str| Problem::BadRow {
            line: line_no,
            why: why.to_owned(),
        };
        let row = format!("`{body}");
        let cells: Vec<&str> = row
            .trim_end()
            .strip_suffix('|')
            .unwrap_or("")
            .split(" | ")
            .map(str::trim)
            .collect();
        if cells.len() != 5 {
            problems.push(bad("expected 5 cells: NF | key | type | default | meaning"));
            continue;
        }
        let unquote = |s: &str| {
            s.strip_prefix('`')
                .and_then(|s| s.strip_suffix('`'))
                .filter(|s| !s.contains('`'))
                .map(str::to_owned)
        };
        let Some(nf) = unquote(cells[0]).filter(|n| NFS.contains(&n.as_str())) else {
            problems.push(bad("the first cell is not one of the NFs in backticks"));
            continue;
        };
        let Some(key_cell) = unquote(cells[1]) else {
            problems.push(bad("the key cell is not one `…` span"));
            continue;
        };
        let (header, path) = match key_cell.split_once(' ') {
            Some((h, p)) if h.starts_with('[') && h.ends_with(']') => (h.to_owned(), p.to_owned()),
            Some(_) => {
                problems.push(bad("the key cell is `key` or `[section] key`"));
                continue;
            }
            None => (String::new(), key_cell.clone()),
        };
        let segments: Vec<&str> = path.split('.').collect();
        if !segments.iter().all(|s| is_key(s))
            || (!header.is_empty() && !is_key(header.trim_matches(['[', ']'])))
        {
            problems.push(bad("keys are lowercase words with digits and `_`"));
            continue;
        }
        let (key, prefix) = segments.split_last().unwrap();
        let prefix: String = prefix.iter().map(|s| format!("{s}.")).collect();
        let ty = cells[2].to_owned();
        let Some((_, kinds)) = TYPES.iter().find(|(t, _)| *t == ty) else {
            problems.push(bad(&format!("unknown type {ty:?}")));
            continue;
        };
        let default = if let Some(v) = unquote(cells[3]) {
            match toml::from_str::<toml::Table>(&format!("v = {v}")) {
                Ok(t) if kinds.contains(&kind(&t["v"])) => DefaultCheck::Value(v),
                Ok(t) => {
                    problems.push(bad(&format!(
                        "the default is a TOML {}, not a {ty}",
                        kind(&t["v"])
                    )));
                    continue;
                }
                Err(_) => {
                    problems.push(bad("the default in backticks is not one TOML value"));
                    continue;
                }
            }
        } else if cells[3] == "required" {
            DefaultCheck::Required
        } else {
            DefaultCheck::Prose
        };
        rows.push(Row {
            nf,
            ctx: Ctx { header, prefix },
            key: (*key).to_owned(),
            ty,
            default,
            line: line_no,
        });
    }
    rows
}

// ---------------------------------------------------------------------------------------
// What can go wrong

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Problem {
    BadRow {
        line: usize,
        why: String,
    },
    Duplicate {
        nf: String,
        key: String,
        line: usize,
    },
    Undocumented {
        nf: String,
        key: String,
    },
    NotAccepted {
        nf: String,
        key: String,
        line: usize,
    },
    WrongDefault {
        nf: String,
        key: String,
        line: usize,
        fields: Vec<String>,
    },
    DefaultRefused {
        nf: String,
        key: String,
        line: usize,
        error: String,
    },
    NotRequired {
        nf: String,
        key: String,
        line: usize,
    },
    NotRefused {
        nf: String,
        key: String,
        line: usize,
    },
    Fixture {
        nf: String,
        ctx: String,
        error: String,
    },
    NoUnknownDetection {
        nf: String,
        ctx: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BadRow { line, why } => write!(f, "docs/operator-guide.md:{line}: {why}"),
            Problem::Duplicate { nf, key, line } => {
                write!(f, "docs/operator-guide.md:{line}: {nf} `{key}` is listed twice")
            }
            Problem::Undocumented { nf, key } => write!(
                f,
                "{nf}: `{key}` is accepted by the parser but not in the guide's table (add a row with its type, default and meaning)"
            ),
            Problem::NotAccepted { nf, key, line } => write!(
                f,
                "docs/operator-guide.md:{line}: {nf} `{key}` is not accepted by the parser (unknown key)"
            ),
            Problem::WrongDefault { nf, key, line, fields } => write!(
                f,
                "docs/operator-guide.md:{line}: {nf} `{key}`: setting the documented default changes {fields:?}, so it is not the default"
            ),
            Problem::DefaultRefused { nf, key, line, error } => write!(
                f,
                "docs/operator-guide.md:{line}: {nf} `{key}`: the documented default is refused: {error}"
            ),
            Problem::NotRequired { nf, key, line } => write!(
                f,
                "docs/operator-guide.md:{line}: {nf} `{key}` is documented as required, but the section parses without it (or the error does not name it)"
            ),
            Problem::NotRefused { nf, key, line } => write!(
                f,
                "docs/operator-guide.md:{line}: {nf} `{key}` is documented as refused, but the parser accepts it (or does not know it)"
            ),
            Problem::Fixture { nf, ctx, error } => write!(
                f,
                "{nf}: the test's minimal `{ctx}` does not parse ({error}); update fixture() in this test"
            ),
            Problem::NoUnknownDetection { nf, ctx } => write!(
                f,
                "{nf}: in `{ctx}` an unknown key is not refused by name, so this test cannot tell which keys exist"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------
// The parsers

/// A parsed configuration as named fields (values as Debug text, never printed).
type View = BTreeMap<&'static str, String>;

fn d(v: &impl fmt::Debug) -> String {
    format!("{v:?}")
}

fn sorted<K: fmt::Debug + Ord, V: fmt::Debug>(m: &std::collections::HashMap<K, V>) -> String {
    let m: BTreeMap<&K, &V> = m.iter().collect();
    format!("{m:?}")
}

fn host_view<N: fmt::Debug>(v: &mut View, h: &akma_nf_host::HostConfig<N>) {
    let akma_nf_host::HostConfig {
        listen,
        ops_listen,
        data_dir,
        log_format,
        tls,
        oauth2,
        consumers,
        limits,
        nrf,
    } = h;
    let consumers: BTreeMap<&String, String> = consumers.iter().map(|(k, t)| (k, d(t))).collect();
    v.extend([
        ("listen", d(listen)),
        ("ops_listen", d(ops_listen)),
        ("data_dir", d(data_dir)),
        ("log_format", d(log_format)),
        ("tls", d(tls)),
        ("oauth2", d(oauth2)),
        ("consumers", d(&consumers)),
        ("limits", d(limits)),
        ("nrf", d(nrf)),
    ]);
}

fn udm_view(text: &str) -> Result<View, String> {
    let c = akma_udm::config::UdmConfig::parse(text).map_err(|e| e.to_string())?;
    let akma_udm::config::UdmConfig {
        host,
        kek_hex,
        kek_id,
        api_root,
        serving_networks,
        allow_null_scheme,
        hn_keys,
        client,
        nf_instance_id,
        ausf,
    } = &c;
    let mut v = View::new();
    host_view(&mut v, host);
    v.extend([
        ("kek", d(&kek_hex.is_some())),
        ("kek_id", d(kek_id)),
        ("api_root", d(api_root)),
        ("serving_networks", d(serving_networks)),
        ("allow_null_scheme", d(allow_null_scheme)),
        ("hn_keys", d(hn_keys)),
        ("client", d(client)),
        ("nf_instance_id", d(nf_instance_id)),
        ("ausf", d(ausf)),
    ]);
    Ok(v)
}

fn aanf_view(text: &str) -> Result<View, String> {
    let c = akma_aanf::config::AanfConfig::parse(text).map_err(|e| e.to_string())?;
    let akma_aanf::config::AanfConfig {
        host,
        kek_hex,
        kek_id,
        context_lifetime_secs,
        sweep_interval_secs,
        reauth_before_expiry_secs,
        afs,
        roaming,
        partner_consumers,
        client,
        nf_instance_id,
        routing_indicators,
        udm,
        nef_callback_hosts,
        service_disable_attempts,
    } = &c;
    let partner_consumers: BTreeMap<&String, &usize> = partner_consumers.iter().collect();
    let mut v = View::new();
    host_view(&mut v, host);
    let afs: BTreeMap<String, String> = afs.iter().map(|(k, p)| (d(k), d(p))).collect();
    v.extend([
        ("kek", d(&kek_hex.is_some())),
        ("kek_id", d(kek_id)),
        ("context_lifetime_secs", d(context_lifetime_secs)),
        ("sweep_interval_secs", d(sweep_interval_secs)),
        ("reauth_before_expiry_secs", d(reauth_before_expiry_secs)),
        ("afs", d(&afs)),
        ("roaming", d(roaming)),
        ("partner_consumers", d(&partner_consumers)),
        ("client", d(client)),
        ("nf_instance_id", d(nf_instance_id)),
        ("routing_indicators", d(routing_indicators)),
        ("udm", d(udm)),
        ("nef_callback_hosts", d(nef_callback_hosts)),
        ("service_disable_attempts", d(service_disable_attempts)),
    ]);
    Ok(v)
}

fn nef_view(text: &str) -> Result<View, String> {
    let c = akma_nef::config::NefConfig::parse(text).map_err(|e| e.to_string())?;
    let akma_nef::config::NefConfig {
        host,
        issuer,
        token_key,
        token_lifetime_secs,
        credential_cache,
        retry_after_secs,
        southbound_timeout_ms,
        udm,
        aanfs,
        afs,
        client,
        callback_root,
    } = &c;
    let mut v = View::new();
    host_view(&mut v, host);
    v.extend([
        ("callback_root", d(callback_root)),
        ("issuer", d(issuer)),
        ("token_key", d(token_key)),
        ("token_lifetime_secs", d(token_lifetime_secs)),
        ("credential_cache", d(credential_cache)),
        ("retry_after_secs", d(retry_after_secs)),
        ("southbound_timeout_ms", d(southbound_timeout_ms)),
        ("udm", d(udm)),
        ("aanfs", d(aanfs)),
        ("afs", d(afs)),
        ("client", d(client)),
    ]);
    Ok(v)
}

fn nrf_view(text: &str) -> Result<View, String> {
    let c = akma_nrf::config::NrfConfig::parse(text).map_err(|e| e.to_string())?;
    let akma_nrf::config::NrfConfig {
        host,
        nf_instance_id,
        token_key,
        token_lifetime_secs,
        heartbeat_secs,
        heartbeat_grace_secs,
        validity_period_secs,
        api_root,
        policy,
        plmns,
        peer_nrfs,
        client,
    } = &c;
    let mut v = View::new();
    host_view(&mut v, host);
    v.extend([
        ("plmns", d(plmns)),
        ("peer_nrfs", d(peer_nrfs)),
        ("client", d(client)),
        ("nf_instance_id", d(nf_instance_id)),
        ("token_key", d(token_key)),
        ("token_lifetime_secs", d(token_lifetime_secs)),
        ("heartbeat_secs", d(heartbeat_secs)),
        ("heartbeat_grace_secs", d(heartbeat_grace_secs)),
        ("validity_period_secs", d(validity_period_secs)),
        ("api_root", d(api_root)),
        ("policy", d(policy)),
    ]);
    Ok(v)
}

/// Writes `text` to a file in `dir` (the AUSF and the AF read their file at startup).
fn write_config(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("config.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// The AUSF resolves some defaults (context lifetime, quotas, MNC length) at startup, so its
/// view is that of `akma_ausf::server::resolve` in development mode with fixed peers.
fn ausf_view(dir: &Path, text: &str) -> Result<View, String> {
    use akma_ausf::server::{resolve, AusfArgs, Resolved};
    let mut args = AusfArgs {
        udm: Some("http://127.0.0.1:1".into()),
        aanf: Some("http://127.0.0.1:2".into()),
        nf_instance_id: Some("9e1b2c3d-0000-4000-8000-00000000a005".into()),
        ..AusfArgs::default()
    };
    args.host.dev = true;
    args.host.config = Some(write_config(dir, text));
    let Resolved {
        config,
        host: _,    // the host's flags over the file: the file's values are in `config.host`
        udm_uri: _, // the flags'
        aanf_uri: _,
        settings,
    } = resolve(&args).map_err(|e| e.to_string())?;
    let akma_ausf::config::AusfConfig {
        host,
        nf_instance_id,
        api_root,
        mnc_len: _, // settings.mnc_len
        serving_networks,
        context_lifetime_secs: _,     // settings.context_lifetime_secs
        max_contexts: _,              // settings.max_contexts
        max_contexts_per_consumer: _, // settings.max_contexts_per_consumer
        consumer_policies,
        require_akma_registration,
        udm_uri,
        aanf_uri,
        client,
    } = &config;
    let akma_ausf::service::Settings {
        nf_instance_id: _, // the flag's (the file's is `nf_instance_id` above)
        mnc_len,
        serving_networks: _, // the file's, above
        consumers: _,        // the file's `consumer_policies`, above
        context_lifetime_secs,
        max_contexts,
        max_contexts_per_consumer,
        require_akma_registration: _, // above
    } = &settings;
    let mut v = View::new();
    host_view(&mut v, host);
    v.extend([
        ("nf_instance_id", d(nf_instance_id)),
        ("api_root", d(api_root)),
        ("mnc_len", d(mnc_len)),
        ("serving_networks", d(serving_networks)),
        ("context_lifetime_secs", d(context_lifetime_secs)),
        ("max_contexts", d(max_contexts)),
        ("max_contexts_per_consumer", d(max_contexts_per_consumer)),
        ("consumer_policies", sorted(consumer_policies)),
        ("require_akma_registration", d(require_akma_registration)),
        ("udm_uri", d(udm_uri)),
        ("aanf_uri", d(aanf_uri)),
        ("client", d(client)),
    ]);
    Ok(v)
}

fn ausf_parse(text: &str) -> Result<(), String> {
    akma_ausf::config::AusfConfig::parse(text)
        .map(drop)
        .map_err(|e| e.to_string())
}

/// `akma af` reads its file in `resolve`, in development mode here; `AfSettings`' Debug names
/// every field (the NEF client secret is redacted).
fn af_view(dir: &Path, text: &str) -> Result<View, String> {
    let args = akma_af::app::AfArgs {
        config: Some(write_config(dir, text)),
        dev: true,
        ..Default::default()
    };
    let s = akma_af::app::resolve(&args).map_err(|e| e.to_string())?;
    Ok(View::from([("settings", d(&s))]))
}

/// A parser: a file's text to its view, or why it is refused.
type Parser = Box<dyn Fn(&str) -> Result<View, String>>;
/// A parser that only says whether (and why) a file is refused.
type Check = Box<dyn Fn(&str) -> Result<(), String>>;

/// One NF as the check sees it.
struct Nf {
    name: &'static str,
    /// Where its keys are spelt (the candidate words).
    sources: &'static [&'static str],
    /// Parses a file: only whether it is refused, and why.
    parse: Check,
    /// Parses a file into its view.
    view: Parser,
}

/// Argon2id of "secret" (from the NEF's own tests): a valid `client_secret_hash`.
const PHC: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG";
/// A Profile A home network private key (TS 33.501 Annex C.4 test data).
const HN_KEY_A: &str = "c53c22208b61860b06c62e5406a7b330c2b577aa5558981510d128247d38bd1d";

/// The smallest file that opens `ctx` for `nf` (its required keys, with valid values); a
/// probe is appended to it. These are values to make a section parse, not a list of keys:
/// a key missing here makes the section fail to parse, which the check reports.
fn fixture(nf: &str, ctx: &Ctx, dir: &Path) -> String {
    let top = match (nf, ctx.header.as_str()) {
        ("af", "[nef]") => "fqdn = \"app.example.com\"\n".to_owned(),
        ("af", _) => "fqdn = \"app.example.com\"\naanf = \"http://127.0.0.1:1\"\n".to_owned(),
        ("nrf", "[[peer_nrf]]") => "plmns = [\"901-70\"]\n".to_owned(),
        _ => String::new(),
    };
    if ctx.header.is_empty() {
        return top;
    }
    let consumer = "id = \"urn:uuid:6e3b1c2a-0000-4000-8000-000000000001\"\n";
    let body = match (nf, ctx.header.as_str()) {
        (_, "[tls]") => "cert = \"c.pem\"\nkey = \"k.pem\"\nclient_ca = \"ca.pem\"\n".to_owned(),
        (_, "[oauth2]") => "issuer = \"nrf\"\naudience = [\"X\"]\n".to_owned(),
        ("ausf", "[[consumer]]") => format!("{consumer}nf_type = \"AMF\"\n"),
        (_, "[[consumer]]") => format!("{consumer}nf_type = \"AUSF\"\n"),
        ("aanf", "[[af]]") => "fqdn = \"app.example.com\"\n".to_owned(),
        ("aanf", "[[roaming]]") => "plmn = \"001-01\"\n".to_owned(),
        ("udm", "[[hn_key]]") => format!("id = 1\nscheme = \"A\"\nprivate_key = \"{HN_KEY_A}\"\n"),
        ("nef", "[[af]]") => format!(
            "client_id = \"af-1\"\nclient_secret_hash = \"{PHC}\"\nfqdns = [\"app.example.com\"]\n"
        ),
        ("nef", "[[aanf]]") => "api_root = \"http://127.0.0.1:1\"\n".to_owned(),
        ("nrf", "[[peer_nrf]]") => {
            "plmn = \"001-01\"\napi_root = \"http://127.0.0.1:1\"\n".to_owned()
        }
        ("nrf", "[[policy]]") => {
            "consumer = \"AUSF\"\ntarget = \"AANF\"\nscopes = [\"naanf-akma\"]\n".to_owned()
        }
        ("af", "[nef]") => {
            let secret = dir.join("nef.secret");
            if !secret.exists() {
                std::fs::write(&secret, "s3cret\n").unwrap();
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt as _;
                    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600))
                        .unwrap();
                }
            }
            format!(
                "url = \"http://127.0.0.1:1\"\nclient_id = \"shop\"\nclient_secret_file = \"{}\"\n",
                secret.display()
            )
        }
        _ => String::new(),
    };
    // An inline table being probed is not in the fixture (its dotted keys are).
    let first = ctx.prefix.split('.').next().unwrap_or("");
    let body: String = body
        .lines()
        .filter(|l| first.is_empty() || !l.starts_with(first))
        .map(|l| format!("{l}\n"))
        .collect();
    format!("{top}{}\n{body}", ctx.header)
}

fn says_unknown(error: &str, key: &str) -> bool {
    ["unknown setting `", "unknown field `", "unknown key `"]
        .iter()
        .any(|p| error.contains(&format!("{p}{key}`")))
}

/// Every lowercase word of the sources (any key the parsers know is spelt there), and
/// `<word>_token_file` for the `[client]` token keys `PeerClientConfig` builds from its
/// peers' names.
fn candidates(sources: &[&str]) -> BTreeSet<String> {
    let mut words = BTreeSet::new();
    let mut stack: Vec<PathBuf> = sources.iter().map(|s| root().join(s)).collect();
    while let Some(p) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).unwrap() {
                stack.push(e.unwrap().path());
            }
            continue;
        }
        if !p.extension().is_some_and(|x| x == "rs") {
            continue;
        }
        let text = std::fs::read_to_string(&p).unwrap();
        for w in text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if is_key(w) && w.len() <= 48 {
                words.insert(w.to_owned());
            }
        }
    }
    let peers: Vec<String> = words
        .iter()
        .filter(|w| w.len() <= 6 && w.chars().all(|c| c.is_ascii_lowercase()))
        .map(|w| format!("{w}_token_file"))
        .collect();
    words.extend(peers);
    words
}

const NONSENSE: &str = "zz_not_a_setting_qq";

/// Checks one NF's rows (`rows` are the whole guide's) against its parser.
fn check_nf(nf: &Nf, rows: &[Row], dir: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let hosted = HOSTED.contains(&nf.name);
    let own: Vec<&Row> = rows.iter().filter(|r| r.nf == nf.name).collect();
    // Sections the NF refuses: the host's rows in them do not apply.
    let refused: BTreeSet<&str> = own
        .iter()
        .filter(|r| r.ty == "refused" && r.ctx == Ctx::top())
        .map(|r| r.key.as_str())
        .collect();
    let applies = |r: &&Row| {
        r.nf == nf.name
            || (hosted
                && r.nf == "host"
                && !refused.contains(if r.ctx == Ctx::top() {
                    r.key.as_str()
                } else {
                    r.ctx.header.trim_matches(['[', ']'])
                }))
    };
    let mine: Vec<&Row> = rows.iter().filter(applies).collect();
    let mut documented: BTreeMap<(Ctx, String), &Row> = BTreeMap::new();
    for r in &mine {
        if documented
            .insert((r.ctx.clone(), r.key.clone()), r)
            .is_some()
        {
            problems.push(Problem::Duplicate {
                nf: nf.name.into(),
                key: r.name(),
                line: r.line,
            });
        }
    }
    let mut contexts: BTreeSet<Ctx> = BTreeSet::from([Ctx::top()]);
    contexts.extend(
        mine.iter()
            .filter(|r| r.ty != "refused")
            .filter_map(|r| r.inner()),
    );
    let words = candidates(nf.sources);
    for ctx in &contexts {
        let base = fixture(nf.name, ctx, dir);
        if let Err(error) = (nf.parse)(&base) {
            problems.push(Problem::Fixture {
                nf: nf.name.into(),
                ctx: ctx.name(""),
                error,
            });
            continue;
        }
        let probe = |key: &str| (nf.parse)(&format!("{base}{}{key} = 1\n", ctx.prefix));
        if !probe(NONSENSE).is_err_and(|e| says_unknown(&e, NONSENSE)) {
            problems.push(Problem::NoUnknownDetection {
                nf: nf.name.into(),
                ctx: ctx.name(""),
            });
            continue;
        }
        let here: BTreeSet<&str> = documented
            .keys()
            .filter(|(c, _)| c == ctx)
            .map(|(_, k)| k.as_str())
            .collect();
        for w in words.iter().map(String::as_str).chain(here.iter().copied()) {
            let known = !probe(w).is_err_and(|e| says_unknown(&e, w));
            let row = documented.get(&(ctx.clone(), w.to_owned()));
            match (known, row) {
                (true, None) => problems.push(Problem::Undocumented {
                    nf: nf.name.into(),
                    key: ctx.name(w),
                }),
                (false, Some(r)) => problems.push(Problem::NotAccepted {
                    nf: nf.name.into(),
                    key: r.name(),
                    line: r.line,
                }),
                _ => {}
            }
        }
    }
    // Defaults, required keys and refused sections.
    for r in &mine {
        let key_line = |v: &str| format!("{}{} = {v}\n", r.ctx.prefix, r.key);
        match (&r.default, r.ty.as_str()) {
            (_, "refused") => {
                if r.ctx != Ctx::top() {
                    problems.push(Problem::BadRow {
                        line: r.line,
                        why: "a `refused` row names a top-level section".into(),
                    });
                    continue;
                }
                // The section as the host documents it (a table or an array of tables),
                // with the keys it needs: the NF must refuse it, naming it.
                let section = rows
                    .iter()
                    .find(|h| h.nf == "host" && h.ctx == Ctx::top() && h.key == r.key)
                    .and_then(Row::inner)
                    .unwrap_or(Ctx {
                        header: format!("[{}]", r.key),
                        prefix: String::new(),
                    });
                let refused_ok = (nf.parse)(&fixture(nf.name, &section, dir))
                    .is_err_and(|e| !says_unknown(&e, &r.key) && e.contains(&r.key));
                if !refused_ok {
                    problems.push(Problem::NotRefused {
                        nf: nf.name.into(),
                        key: r.name(),
                        line: r.line,
                    });
                }
            }
            (DefaultCheck::Value(v), _) => {
                let base = fixture(nf.name, &r.ctx, dir);
                let with = format!("{base}{}", key_line(v));
                match ((nf.view)(&base), (nf.view)(&with)) {
                    (Ok(a), Ok(b)) => {
                        let fields: Vec<String> = a
                            .keys()
                            .chain(b.keys())
                            .filter(|k| a.get(*k) != b.get(*k))
                            .map(|k| (*k).to_owned())
                            .collect::<BTreeSet<_>>()
                            .into_iter()
                            .collect();
                        if !fields.is_empty() {
                            problems.push(Problem::WrongDefault {
                                nf: nf.name.into(),
                                key: r.name(),
                                line: r.line,
                                fields,
                            });
                        }
                    }
                    (Err(error), _) | (_, Err(error)) => problems.push(Problem::DefaultRefused {
                        nf: nf.name.into(),
                        key: r.name(),
                        line: r.line,
                        error,
                    }),
                }
            }
            (DefaultCheck::Required, _) => {
                let base = fixture(nf.name, &r.ctx, dir);
                let prefix = format!("{}{} =", r.ctx.prefix, r.key);
                let without: String = base
                    .lines()
                    .filter(|l| !l.starts_with(&prefix))
                    .map(|l| format!("{l}\n"))
                    .collect();
                let required =
                    without != base && (nf.parse)(&without).is_err_and(|e| e.contains(&r.key));
                if !required {
                    problems.push(Problem::NotRequired {
                        nf: nf.name.into(),
                        key: r.name(),
                        line: r.line,
                    });
                }
            }
            (DefaultCheck::Prose, _) => {}
        }
    }
    problems.sort();
    problems.dedup();
    problems
}

fn nfs(dir: &Path) -> Vec<Nf> {
    let view_only =
        |f: fn(&str) -> Result<View, String>| -> Check { Box::new(move |t| f(t).map(drop)) };
    let (ausf_dir, af_dir, af_dir2) = (dir.join("ausf"), dir.join("af"), dir.join("af"));
    std::fs::create_dir_all(&ausf_dir).unwrap();
    std::fs::create_dir_all(&af_dir).unwrap();
    vec![
        Nf {
            name: "udm",
            sources: &["crates/akma-udm/src", "crates/akma-nf-host/src"],
            parse: view_only(udm_view),
            view: Box::new(udm_view),
        },
        Nf {
            name: "ausf",
            sources: &["crates/akma-ausf/src", "crates/akma-nf-host/src"],
            parse: Box::new(ausf_parse),
            view: Box::new(move |t| ausf_view(&ausf_dir, t)),
        },
        Nf {
            name: "aanf",
            sources: &["crates/akma-aanf/src", "crates/akma-nf-host/src"],
            parse: view_only(aanf_view),
            view: Box::new(aanf_view),
        },
        Nf {
            name: "nef",
            sources: &["crates/akma-nef/src", "crates/akma-nf-host/src"],
            parse: view_only(nef_view),
            view: Box::new(nef_view),
        },
        Nf {
            name: "nrf",
            sources: &["crates/akma-nrf/src", "crates/akma-nf-host/src"],
            parse: view_only(nrf_view),
            view: Box::new(nrf_view),
        },
        Nf {
            name: "af",
            sources: &["crates/akma-af/src", "crates/akma-nf-host/src"],
            parse: Box::new(move |t| af_view(&af_dir, t).map(drop)),
            view: Box::new(move |t| af_view(&af_dir2, t)),
        },
    ]
}

fn check(text: &str, only: Option<&str>, dir: &Path) -> Vec<Problem> {
    let mut problems = Vec::new();
    let rows = parse_rows(text, &mut problems);
    for nf in nfs(dir) {
        if only.map_or(true, |o| o == nf.name) {
            problems.extend(check_nf(&nf, &rows, dir));
        }
    }
    problems
}

#[test]
fn the_configuration_reference_is_the_parsers() {
    let dir = tempfile::tempdir().unwrap();
    let text = guide();
    let mut none = Vec::new();
    let rows = parse_rows(&text, &mut none);
    for nf in NFS {
        assert!(
            rows.iter().any(|r| r.nf == nf),
            "docs/operator-guide.md has no rows for `{nf}` under {REFERENCE_HEADING:?}"
        );
    }
    let problems = check(&text, None, dir.path());
    assert!(
        problems.is_empty(),
        "docs/operator-guide.md and the configuration parsers disagree ({} problems):\n{}",
        problems.len(),
        problems
            .iter()
            .map(|p| format!("  {p}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// The check can fail, and names exactly what is wrong: a missing row, a wrong default, a
/// key that does not exist, a false `refused`, a false `required`.
#[test]
fn the_check_reports_exactly_what_the_guide_gets_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let text = guide();
    let line_of = |needle: &str| {
        text.lines()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("no row starting {needle:?}"))
    };
    let edit = |needle: &str, f: &dyn Fn(&str) -> Option<String>| {
        let at = line_of(needle);
        let mut out: Vec<String> = Vec::new();
        for (i, l) in text.lines().enumerate() {
            if i == at {
                out.extend(f(l));
            } else {
                out.push(l.to_owned());
            }
        }
        (out.join("\n") + "\n", at + 1)
    };
    assert_eq!(
        check(&text, Some("nrf"), dir.path()),
        vec![],
        "the guide itself"
    );

    // A row left out: the parser still accepts the key.
    let (t, _) = edit("| `nrf` | `heartbeat_grace_secs` |", &|_| None);
    assert_eq!(
        check(&t, Some("nrf"), dir.path()),
        vec![Problem::Undocumented {
            nf: "nrf".into(),
            key: "heartbeat_grace_secs".into()
        }]
    );

    // A wrong default.
    let (t, line) = edit("| `nrf` | `validity_period_secs` |", &|l| {
        Some(l.replace("| `60` |", "| `61` |"))
    });
    assert_eq!(
        check(&t, Some("nrf"), dir.path()),
        vec![Problem::WrongDefault {
            nf: "nrf".into(),
            key: "validity_period_secs".into(),
            line,
            fields: vec!["validity_period_secs".into()]
        }]
    );

    // A key that does not exist (in a host section, so every hosted NF reports it), and a
    // host default that is wrong.
    let (t, line) = edit("| `host` | `[limits] max_connections` |", &|l| {
        Some(format!(
            "{}\n| `host` | `[limits] max_connection_count` | integer | none | a typo |",
            l.replace("| `512` |", "| `500` |")
        ))
    });
    assert_eq!(
        check(&t, Some("nrf"), dir.path()),
        vec![
            Problem::NotAccepted {
                nf: "nrf".into(),
                key: "[limits] max_connection_count".into(),
                line: line + 1
            },
            Problem::WrongDefault {
                nf: "nrf".into(),
                key: "[limits] max_connections".into(),
                line,
                fields: vec!["limits".into()]
            },
        ]
    );

    // `refused` for a section the NRF accepts.
    let (t, line) = edit("| `nrf` | `oauth2` |", &|l| {
        Some(format!("{l}\n| `nrf` | `tls` | refused | — | a mistake |"))
    });
    assert_eq!(
        check(&t, Some("nrf"), dir.path()),
        vec![Problem::NotRefused {
            nf: "nrf".into(),
            key: "tls".into(),
            line: line + 1
        }]
    );

    // `required` where the parser has a default.
    let (t, line) = edit("| `nrf` | `token_lifetime_secs` |", &|l| {
        Some(l.replace("| `3600` |", "| required |"))
    });
    assert_eq!(
        check(&t, Some("nrf"), dir.path()),
        vec![Problem::NotRequired {
            nf: "nrf".into(),
            key: "token_lifetime_secs".into(),
            line
        }]
    );
}
