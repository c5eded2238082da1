//! Bulk provisioning of subscribers from CSV or JSON, all or nothing.
//!
//! # CSV
//!
//! A header line names the columns (any order); one subscriber per line after it. Blank
//! lines and lines starting with `#` are skipped; a cell may be double-quoted (`""` inside
//! quotes is a quote). An empty cell is an absent value.
//!
//! | Column | Required | Form | Default |
//! |---|---|---|---|
//! | `supi` | yes | `imsi-<5–15 digits>` or `nai-<user@realm>` | |
//! | `k` | yes | 32 hex digits | |
//! | `opc` / `op` | exactly one | 32 hex digits; OP is turned into OPc (TS 35.206) and not stored | |
//! | `amf` | no | 4 hex digits | `8000` |
//! | `sqn` | no | 12 hex digits: the last SQN used (the next vector has SEQ + 1) | `000000000000` |
//! | `akma` | no | `true`/`false` (`1`/`0`, `yes`/`no`) | `false` |
//! | `routing_indicator` | no | 1–4 digits | `0` |
//! | `gpsis` | no | GPSIs separated by `;` (`msisdn-…`, `extid-…@…`) | none |
//! | `home_plmn` | for NAI SUPIs; or `mnc_len` | `MCC-MNC`, e.g. `001-01` (the MNC's digits give its length) | |
//! | `mnc_len` | for IMSI SUPIs without `home_plmn` | `2` or `3` | |
//! | `auth_method` | no | `5G_AKA` or `EAP_AKA_PRIME` | `5G_AKA` |
//!
//! ```text
//! supi,k,opc,amf,sqn,akma,routing_indicator,gpsis,home_plmn,auth_method
//! imsi-001010000000001,465b5ce8b199b49faa5f0a2ee238a6bc,cd63cb71954a9f4e48a5994e37a02baf,8000,000000000000,true,12,msisdn-491700000001,001-01,5G_AKA
//! ```
//!
//! # JSON
//!
//! An array of objects (or `{"subscribers": [ … ]}`) with the same member names; `akma` is a
//! boolean, `gpsis` an array of strings, `mnc_len` a number or string:
//!
//! ```json
//! [{"supi": "imsi-001010000000001", "k": "465b…", "opc": "cd63…", "akma": true,
//!   "routing_indicator": "12", "gpsis": ["msisdn-491700000001"], "home_plmn": "001-01"}]
//! ```
//!
//! Every error names the line (and for JSON the entry) and the field, and nothing is stored.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use akma_core::hex;
use akma_core::ids::{Gpsi, MncLen, Plmn, RoutingIndicator, Supi, SupiType};
use akma_core::keys::{Op, Opc, K};
use akma_core::milenage::opc_from_op;
use serde::Deserialize;
use zeroize::Zeroizing;

use crate::store::{SqliteSubscriberStore, StoreError};
use crate::subscriber::{AuthMethod, SqnState, Subscriber};

/// A provisioning input error: where, which field, what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionError {
    /// The input's name (file name), if known.
    pub source: Option<String>,
    /// 1-based line number.
    pub line: Option<usize>,
    /// 1-based entry number (JSON) or data-row number (CSV).
    pub entry: Option<usize>,
    /// The column / member at fault.
    pub field: Option<String>,
    /// What is wrong (never key material).
    pub reason: String,
}

impl ProvisionError {
    fn new(reason: impl Into<String>) -> Self {
        Self {
            source: None,
            line: None,
            entry: None,
            field: None,
            reason: reason.into(),
        }
    }

    fn at(line: usize, entry: usize, field: &str, reason: impl Into<String>) -> Self {
        Self {
            source: None,
            line: Some(line),
            entry: Some(entry),
            field: Some(field.to_owned()),
            reason: reason.into(),
        }
    }

    fn with_source(mut self, s: &str) -> Self {
        self.source = Some(s.to_owned());
        self
    }
}

impl fmt::Display for ProvisionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if let Some(s) = &self.source {
            parts.push(s.clone());
        }
        if let Some(l) = self.line {
            parts.push(format!("line {l}"));
        }
        if let Some(e) = self.entry {
            parts.push(format!("entry {e}"));
        }
        if let Some(fd) = &self.field {
            parts.push(format!("field {fd}"));
        }
        if parts.is_empty() {
            write!(f, "{}", self.reason)
        } else {
            write!(f, "{}: {}", parts.join(", "), self.reason)
        }
    }
}

impl std::error::Error for ProvisionError {}

/// One parsed subscriber and the line it came from.
#[derive(Debug, Clone)]
pub struct ParsedRecord {
    /// 1-based line of the CSV row or of the JSON object's `{`.
    pub line: usize,
    /// 1-based entry number.
    pub entry: usize,
    /// The subscriber.
    pub subscriber: Subscriber,
}

/// The input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// CSV with a header line.
    Csv,
    /// A JSON array of objects.
    Json,
}

impl InputFormat {
    /// By file extension (`.csv`, `.json`).
    pub fn from_path(p: &Path) -> Option<Self> {
        match p.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(InputFormat::Csv),
            "json" => Some(InputFormat::Json),
            _ => None,
        }
    }
}

/// The fields of one record before validation (strings as given).
#[derive(Default)]
struct RawRecord {
    supi: Option<String>,
    k: Option<Zeroizing<String>>,
    opc: Option<Zeroizing<String>>,
    op: Option<Zeroizing<String>>,
    amf: Option<String>,
    sqn: Option<String>,
    akma: Option<bool>,
    routing_indicator: Option<String>,
    gpsis: Vec<String>,
    home_plmn: Option<String>,
    mnc_len: Option<String>,
    auth_method: Option<String>,
}

/// Reads one JSON entry member by member, so that a type error names its member.
fn raw_from_json(
    v: &serde_json::Value,
    line: usize,
    entry: usize,
) -> Result<RawRecord, ProvisionError> {
    use serde_json::Value;
    let obj = v.as_object().ok_or_else(|| ProvisionError {
        line: Some(line),
        entry: Some(entry),
        ..ProvisionError::new("expected an object")
    })?;
    let mut raw = RawRecord::default();
    for (name, val) in obj {
        let err = |reason: &str| ProvisionError::at(line, entry, name, reason.to_owned());
        let string = || match val {
            Value::String(s) => Ok(s.clone()),
            _ => Err(err("expected a string")),
        };
        match name.as_str() {
            "supi" => raw.supi = Some(string()?),
            "k" => raw.k = Some(Zeroizing::new(string()?)),
            "opc" => raw.opc = Some(Zeroizing::new(string()?)),
            "op" => raw.op = Some(Zeroizing::new(string()?)),
            "amf" => raw.amf = Some(string()?),
            "sqn" => raw.sqn = Some(string()?),
            "akma" => raw.akma = Some(val.as_bool().ok_or_else(|| err("expected true or false"))?),
            "routing_indicator" => raw.routing_indicator = Some(string()?),
            "gpsis" => {
                let items = val
                    .as_array()
                    .ok_or_else(|| err("expected an array of strings"))?;
                for it in items {
                    raw.gpsis.push(
                        it.as_str()
                            .ok_or_else(|| err("expected an array of strings"))?
                            .to_owned(),
                    );
                }
            }
            "home_plmn" => raw.home_plmn = Some(string()?),
            "mnc_len" => {
                raw.mnc_len = Some(match val {
                    Value::Number(n) => n.to_string(),
                    Value::String(s) => s.clone(),
                    _ => return Err(err("expected 2 or 3")),
                })
            }
            "auth_method" => raw.auth_method = Some(string()?),
            _ => {
                return Err(err(&format!(
                    "unknown member; the members are {}",
                    COLUMNS.join(", ")
                )))
            }
        }
    }
    Ok(raw)
}

/// The CSV column names, in the documented order.
pub const COLUMNS: &[&str] = &[
    "supi",
    "k",
    "opc",
    "op",
    "amf",
    "sqn",
    "akma",
    "routing_indicator",
    "gpsis",
    "home_plmn",
    "mnc_len",
    "auth_method",
];

fn key16<T>(
    line: usize,
    entry: usize,
    field: &str,
    s: &str,
    make: impl Fn(&str) -> Result<T, akma_core::hex::HexError>,
) -> Result<T, ProvisionError> {
    make(s.trim()).map_err(|e| ProvisionError::at(line, entry, field, e.to_string()))
}

fn build(raw: RawRecord, line: usize, entry: usize) -> Result<Subscriber, ProvisionError> {
    let err = |field: &str, reason: String| ProvisionError::at(line, entry, field, reason);
    let supi_text = raw
        .supi
        .as_deref()
        .ok_or_else(|| err("supi", "missing".into()))?;
    let supi = Supi::parse(supi_text.trim()).map_err(|e| err("supi", e.to_string()))?;
    let k_hex = raw.k.as_ref().ok_or_else(|| err("k", "missing".into()))?;
    let k = key16(line, entry, "k", k_hex, K::from_hex)?;
    let opc = match (&raw.opc, &raw.op) {
        (Some(opc), None) => key16(line, entry, "opc", opc, Opc::from_hex)?,
        (None, Some(op)) => {
            let op = key16(line, entry, "op", op, Op::from_hex)?;
            opc_from_op(&k, &op)
        }
        (Some(_), Some(_)) => {
            return Err(err("op", "give either opc or op, not both".into()));
        }
        (None, None) => return Err(err("opc", "missing (give opc or op)".into())),
    };
    let amf = match raw.amf.as_deref().map(str::trim) {
        None => [0x80, 0x00],
        Some(a) => hex::decode_array::<2>(a).map_err(|e| err("amf", e.to_string()))?,
    };
    let sqn = match raw.sqn.as_deref().map(str::trim) {
        None => SqnState::default(),
        Some(s) => {
            let b = hex::decode_array::<6>(s).map_err(|e| err("sqn", e.to_string()))?;
            SqnState::from_last_sqn(&b)
        }
    };
    let routing_indicator = match raw.routing_indicator.as_deref().map(str::trim) {
        None => RoutingIndicator::none_provisioned(),
        Some(r) => {
            RoutingIndicator::parse(r).map_err(|e| err("routing_indicator", e.to_string()))?
        }
    };
    let mut gpsis = Vec::new();
    for g in &raw.gpsis {
        gpsis.push(Gpsi::parse(g.trim()).map_err(|e| err("gpsis", e.to_string()))?);
    }
    let mnc_len = raw
        .mnc_len
        .as_deref()
        .map(|m| {
            m.trim()
                .parse::<MncLen>()
                .map_err(|e| err("mnc_len", e.to_string()))
        })
        .transpose()?;
    let home_plmn = match (raw.home_plmn.as_deref().map(str::trim), mnc_len) {
        (Some(p), m) => {
            let p = p
                .parse::<Plmn>()
                .map_err(|e| err("home_plmn", e.to_string()))?;
            if m.is_some_and(|m| m != p.mnc_len()) {
                return Err(err(
                    "mnc_len",
                    format!(
                        "contradicts home_plmn {p}, whose MNC has {} digits",
                        p.mnc().len()
                    ),
                ));
            }
            p
        }
        (None, Some(m)) if supi.supi_type() == SupiType::Imsi => {
            Plmn::from_imsi(supi.kdf_input(), m).map_err(|e| err("mnc_len", e.to_string()))?
        }
        (None, _) => {
            return Err(err(
                "home_plmn",
                if supi.supi_type() == SupiType::Imsi {
                    "missing (give home_plmn as MCC-MNC, or mnc_len; the MNC length is never guessed)"
                        .into()
                } else {
                    "missing (an NAI subscriber needs its home PLMN as MCC-MNC)".into()
                },
            ))
        }
    };
    let auth_method = match raw.auth_method.as_deref().map(str::trim) {
        None => AuthMethod::FiveGAka,
        Some(m) => m.parse().map_err(|e: String| err("auth_method", e))?,
    };
    let s = Subscriber {
        supi,
        k,
        opc,
        amf,
        sqn,
        akma: raw.akma.unwrap_or(false),
        routing_indicator,
        gpsis,
        home_plmn,
        auth_method,
    };
    s.check().map_err(|e| err(e.field, e.reason))?;
    Ok(s)
}

/// Splits one CSV line into cells (double quotes, `""` escapes). The error names the column.
fn split_csv(line: &str) -> Result<Vec<Zeroizing<String>>, String> {
    let mut cells = Vec::new();
    let mut cur = Zeroizing::new(String::new());
    let mut chars = line.chars().peekable();
    let mut quoted = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    cur.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                c => cur.push(c),
            }
        } else {
            match c {
                ',' => {
                    cells.push(std::mem::replace(&mut cur, Zeroizing::new(String::new())));
                    was_quoted = false;
                }
                '"' if cur.trim().is_empty() && !was_quoted => {
                    cur.clear();
                    quoted = true;
                    was_quoted = true;
                }
                '"' => {
                    return Err(format!(
                        "column {}: a quote inside an unquoted cell",
                        cells.len() + 1
                    ))
                }
                c => {
                    if was_quoted && !c.is_whitespace() {
                        return Err(format!(
                            "column {}: text after the closing quote",
                            cells.len() + 1
                        ));
                    }
                    cur.push(c);
                }
            }
        }
    }
    if quoted {
        return Err(format!("column {}: unterminated quote", cells.len() + 1));
    }
    cells.push(cur);
    Ok(cells)
}

/// Parses CSV text (see the module documentation).
pub fn parse_csv(text: &str) -> Result<Vec<ParsedRecord>, ProvisionError> {
    let mut header: Option<Vec<String>> = None;
    let mut out = Vec::new();
    for (i, raw_line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = raw_line.trim_end_matches('\r');
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        let cells = split_csv(line).map_err(|r| ProvisionError {
            line: Some(line_no),
            ..ProvisionError::new(r)
        })?;
        let Some(cols) = &header else {
            let mut cols = Vec::new();
            for (n, c) in cells.iter().enumerate() {
                let c = c.trim().to_ascii_lowercase();
                if !COLUMNS.contains(&c.as_str()) {
                    return Err(ProvisionError {
                        line: Some(line_no),
                        field: Some(c.clone()),
                        ..ProvisionError::new(format!(
                            "header column {}: unknown column {c:?}; the columns are {}",
                            n + 1,
                            COLUMNS.join(", ")
                        ))
                    });
                }
                if cols.contains(&c) {
                    return Err(ProvisionError {
                        line: Some(line_no),
                        field: Some(c.clone()),
                        ..ProvisionError::new("header: column listed twice")
                    });
                }
                cols.push(c);
            }
            for req in ["supi", "k"] {
                if !cols.iter().any(|c| c == req) {
                    return Err(ProvisionError {
                        line: Some(line_no),
                        field: Some(req.into()),
                        ..ProvisionError::new("header: required column missing")
                    });
                }
            }
            header = Some(cols);
            continue;
        };
        let entry = out.len() + 1;
        if cells.len() != cols.len() {
            return Err(ProvisionError {
                line: Some(line_no),
                entry: Some(entry),
                ..ProvisionError::new(format!(
                    "{} cells, but the header has {} columns",
                    cells.len(),
                    cols.len()
                ))
            });
        }
        let mut raw = RawRecord::default();
        for (col, cell) in cols.iter().zip(cells) {
            let v = cell.trim();
            if v.is_empty() {
                continue;
            }
            let owned = || Some(v.to_owned());
            match col.as_str() {
                "supi" => raw.supi = owned(),
                "k" => raw.k = Some(Zeroizing::new(v.to_owned())),
                "opc" => raw.opc = Some(Zeroizing::new(v.to_owned())),
                "op" => raw.op = Some(Zeroizing::new(v.to_owned())),
                "amf" => raw.amf = owned(),
                "sqn" => raw.sqn = owned(),
                "akma" => {
                    raw.akma = Some(match v.to_ascii_lowercase().as_str() {
                        "true" | "1" | "yes" => true,
                        "false" | "0" | "no" => false,
                        _ => {
                            return Err(ProvisionError::at(
                                line_no,
                                entry,
                                "akma",
                                format!("{v:?}: expected true or false"),
                            ))
                        }
                    })
                }
                "routing_indicator" => raw.routing_indicator = owned(),
                "gpsis" => {
                    raw.gpsis = v
                        .split(';')
                        .map(str::trim)
                        .filter(|g| !g.is_empty())
                        .map(str::to_owned)
                        .collect()
                }
                "home_plmn" => raw.home_plmn = owned(),
                "mnc_len" => raw.mnc_len = owned(),
                "auth_method" => raw.auth_method = owned(),
                _ => unreachable!("header columns are checked"),
            }
        }
        out.push(ParsedRecord {
            line: line_no,
            entry,
            subscriber: build(raw, line_no, entry)?,
        });
    }
    if header.is_none() {
        return Err(ProvisionError::new(format!(
            "no header line; the first line names the columns ({})",
            COLUMNS.join(", ")
        )));
    }
    check_duplicates(&out)?;
    Ok(out)
}

/// The 1-based line of each top-level entry's `{` in a JSON array (outside strings).
fn json_entry_lines(text: &str) -> Vec<usize> {
    let mut lines = Vec::new();
    let (mut depth, mut line, mut in_str, mut esc) = (0usize, 1usize, false, false);
    // With `{"subscribers": [...]}` the entries sit one level deeper.
    let entry_depth = if text.trim_start().starts_with('{') {
        2
    } else {
        1
    };
    for c in text.chars() {
        if c == '\n' {
            line += 1;
        }
        if in_str {
            match (esc, c) {
                (true, _) => esc = false,
                (false, '\\') => esc = true,
                (false, '"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => {
                if c == '{' && depth == entry_depth {
                    lines.push(line);
                }
                depth += 1;
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    lines
}

/// Parses JSON text (see the module documentation).
pub fn parse_json(text: &str) -> Result<Vec<ParsedRecord>, ProvisionError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Doc {
        List(Vec<serde_json::Value>),
        Wrapped { subscribers: Vec<serde_json::Value> },
    }
    let json_err = |e: serde_json::Error| ProvisionError {
        line: Some(e.line()),
        ..ProvisionError::new(format!("invalid JSON: {e}"))
    };
    // Syntax first, with serde_json's line and column.
    let _: serde::de::IgnoredAny = serde_json::from_str(text).map_err(json_err)?;
    let doc: Doc = serde_json::from_str(text).map_err(|_| {
        ProvisionError::new("expected an array of subscriber objects, or {\"subscribers\": [ … ]}")
    })?;
    let entries = match doc {
        Doc::List(v) | Doc::Wrapped { subscribers: v } => v,
    };
    let lines = json_entry_lines(text);
    let mut out = Vec::with_capacity(entries.len());
    for (i, v) in entries.into_iter().enumerate() {
        let entry = i + 1;
        let line = lines.get(i).copied().unwrap_or(0);
        let raw = raw_from_json(&v, line, entry)?;
        out.push(ParsedRecord {
            line,
            entry,
            subscriber: build(raw, line, entry)?,
        });
    }
    check_duplicates(&out)?;
    Ok(out)
}

fn check_duplicates(records: &[ParsedRecord]) -> Result<(), ProvisionError> {
    let mut supis: HashMap<&str, usize> = HashMap::new();
    let mut gpsis: HashMap<String, usize> = HashMap::new();
    for r in records {
        if let Some(first) = supis.insert(r.subscriber.supi.as_str(), r.line) {
            return Err(ProvisionError::at(
                r.line,
                r.entry,
                "supi",
                format!("{} is also on line {first}", r.subscriber.supi),
            ));
        }
        for g in &r.subscriber.gpsis {
            if let Some(first) = gpsis.insert(g.to_string(), r.line) {
                return Err(ProvisionError::at(
                    r.line,
                    r.entry,
                    "gpsis",
                    format!("{g} is also on line {first}"),
                ));
            }
        }
    }
    Ok(())
}

/// Parses text in the given format.
pub fn parse(text: &str, format: InputFormat) -> Result<Vec<ParsedRecord>, ProvisionError> {
    match format {
        InputFormat::Csv => parse_csv(text),
        InputFormat::Json => parse_json(text),
    }
}

/// Reads and parses a file (format by extension: `.csv` or `.json`).
pub fn parse_file(path: &Path) -> Result<Vec<ParsedRecord>, ProvisionError> {
    let name = path.display().to_string();
    let format = InputFormat::from_path(path).ok_or_else(|| {
        ProvisionError::new("the file name must end in .csv or .json").with_source(&name)
    })?;
    let text = Zeroizing::new(
        std::fs::read_to_string(path)
            .map_err(|e| ProvisionError::new(format!("cannot read: {e}")).with_source(&name))?,
    );
    parse(&text, format).map_err(|e| e.with_source(&name))
}

/// Maps a store conflict on record `index` back to the record's line.
pub fn store_error_at(records: &[ParsedRecord], e: StoreError) -> ProvisionError {
    match e {
        StoreError::Conflict {
            index,
            field,
            reason,
        } => match records.get(index) {
            Some(r) => ProvisionError::at(r.line, r.entry, field, reason),
            None => ProvisionError::new(reason),
        },
        other => ProvisionError::new(other.to_string()),
    }
}

/// Writes parsed records to the store in one transaction (all or nothing), calling
/// `progress` with the number written so far.
pub fn provision_parsed(
    store: &SqliteSubscriberStore,
    records: &[ParsedRecord],
    replace: bool,
    progress: &mut dyn FnMut(usize),
) -> Result<usize, ProvisionError> {
    let subs: Vec<Subscriber> = records.iter().map(|r| r.subscriber.clone()).collect();
    store
        .provision_blocking(&subs, replace, progress)
        .map_err(|e| store_error_at(records, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    const K: &str = "465b5ce8b199b49faa5f0a2ee238a6bc";
    const OPC: &str = "cd63cb71954a9f4e48a5994e37a02baf";
    const OP: &str = "cdc202d5123e20f62b6d676ac72cb318";

    fn csv(rows: &[&str]) -> String {
        let mut s = String::from(
            "supi,k,opc,op,amf,sqn,akma,routing_indicator,gpsis,home_plmn,mnc_len,auth_method\n",
        );
        for r in rows {
            s.push_str(r);
            s.push('\n');
        }
        s
    }

    #[test]
    fn csv_full_and_defaults() {
        let text = csv(&[
            &format!("imsi-001010000000001,{K},{OPC},,8001,000000000041,true,12,msisdn-491700000001;extid-a@example.com,001-01,,EAP_AKA_PRIME"),
            "# a comment",
            "",
            &format!("imsi-310410000000002,{K},,{OP},,,,,,,3,"),
        ]);
        let r = parse_csv(&text).unwrap();
        assert_eq!(r.len(), 2);
        let a = &r[0].subscriber;
        assert_eq!(r[0].line, 2);
        assert_eq!(a.amf, [0x80, 0x01]);
        assert_eq!((a.sqn.seq, a.sqn.ind), (2, 1));
        assert!(a.akma);
        assert_eq!(a.routing_indicator.as_str(), "12");
        assert_eq!(a.gpsis.len(), 2);
        assert_eq!(a.auth_method, AuthMethod::EapAkaPrime);
        let b = &r[1].subscriber;
        assert_eq!(r[1].line, 5);
        assert_eq!(b.home_plmn.to_string(), "310-410");
        assert_eq!(b.amf, [0x80, 0x00]);
        assert!(!b.akma);
        assert_eq!(b.routing_indicator.as_str(), "0");
        // OP was turned into OPc (TS 35.208 test set 1: OP cdc2… gives OPc cd63…).
        assert_eq!(b.opc.expose_hex().as_str(), OPC);
    }

    #[test]
    fn csv_errors_name_line_and_field() {
        let cases: &[(&str, usize, &str)] = &[
            (
                &format!("imsi-001010000000001,{K}x,{OPC},,,,,,,001-01,,"),
                2,
                "k",
            ),
            (
                &format!("imsi-00101,{K},{OPC},,,,,,,001-01,,"),
                2,
                "home_plmn",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},{OP},,,,,,001-01,,"),
                2,
                "op",
            ),
            (
                &format!("imsi-001010000000001,{K},,,,,,,,001-01,,"),
                2,
                "opc",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,80,,,,,001-01,,"),
                2,
                "amf",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,1,,,,001-01,,"),
                2,
                "sqn",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,,maybe,,,001-01,,"),
                2,
                "akma",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,,,12345,,001-01,,"),
                2,
                "routing_indicator",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,,,,msisdn-1,001-01,,"),
                2,
                "gpsis",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,,,,,,,"),
                2,
                "home_plmn",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,,,,,001-01,3,"),
                2,
                "mnc_len",
            ),
            (
                &format!("imsi-001010000000001,{K},{OPC},,,,,,,001-01,,EPS_AKA"),
                2,
                "auth_method",
            ),
            (
                &format!("nai-a@b.example,{K},{OPC},,,,,,,,2,"),
                2,
                "home_plmn",
            ),
            (
                &format!("imsi-0010100000001,{K},{OPC},,,,,,,001-02,,"),
                2,
                "home_plmn",
            ),
        ];
        for (row, line, field) in cases {
            let e = parse_csv(&csv(&[row])).unwrap_err();
            assert_eq!(e.line, Some(*line), "{row}: {e}");
            assert_eq!(e.field.as_deref(), Some(*field), "{row}: {e}");
            assert!(!e.to_string().contains(OPC), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("line {line}, entry 1, field {field}: ")),
                "{e}"
            );
        }
        // The third data row is bad: line 4.
        let good = format!("imsi-001010000000001,{K},{OPC},,,,,,,001-01,,");
        let good2 = format!("imsi-001010000000002,{K},{OPC},,,,,,,001-01,,");
        let bad = format!("imsi-001010000000003,{K},{OPC},,,,,,,001-01,,5G");
        let e = parse_csv(&csv(&[&good, &good2, &bad])).unwrap_err();
        assert_eq!((e.line, e.entry), (Some(4), Some(3)));
        // Duplicates name both lines.
        let e = parse_csv(&csv(&[&good, &good2, &good])).unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.reason.contains("line 2"), "{e}");
        // Structure.
        let e = parse_csv("supi,k,colour\n").unwrap_err();
        assert_eq!((e.line, e.field.as_deref()), (Some(1), Some("colour")));
        let e = parse_csv(&csv(&["imsi-001010000000001,x"])).unwrap_err();
        assert_eq!(e.line, Some(2));
        assert!(e.reason.contains("cells"), "{e}");
        assert!(parse_csv("").is_err());
        let e = parse_csv("supi,opc\n").unwrap_err();
        assert_eq!(e.field.as_deref(), Some("k"));
    }

    #[test]
    fn csv_quotes() {
        assert_eq!(
            split_csv(r#"a,"b,c","d""e",  "f" "#)
                .unwrap()
                .iter()
                .map(|s| s.as_str().to_owned())
                .collect::<Vec<_>>(),
            vec!["a", "b,c", "d\"e", "f "]
        );
        assert!(split_csv(r#"a,"b"#).is_err());
        assert!(split_csv(r#"a,b"c"#).is_err());
        assert!(split_csv(r#"a,"b"c"#).is_err());
    }

    #[test]
    fn json_forms_and_errors() {
        let text = format!(
            r#"[
  {{"supi": "imsi-001010000000001", "k": "{K}", "opc": "{OPC}", "akma": true,
    "routing_indicator": "7", "gpsis": ["msisdn-491700000001"], "home_plmn": "001-01"}},
  {{"supi": "imsi-001010000000002", "k": "{K}", "op": "{OP}", "mnc_len": 2,
    "auth_method": "EAP_AKA_PRIME"}}
]"#
        );
        let r = parse_json(&text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[1].line), (2, 4));
        assert!(r[0].subscriber.akma);
        assert_eq!(r[1].subscriber.opc.expose_hex().as_str(), OPC);
        let wrapped = format!("{{\"subscribers\": {text}}}");
        let r = parse_json(&wrapped).unwrap();
        assert_eq!(r[1].line, 4);

        let bad = text.replace("\"7\"", "\"77777\"");
        let e = parse_json(&bad).unwrap_err();
        assert_eq!(
            (e.line, e.entry, e.field.as_deref()),
            (Some(2), Some(1), Some("routing_indicator"))
        );
        let bad = text.replace("\"mnc_len\": 2", "\"mnc_len\": 2, \"colour\": 1");
        let e = parse_json(&bad).unwrap_err();
        assert_eq!(
            (e.line, e.entry, e.field.as_deref()),
            (Some(4), Some(2), Some("colour"))
        );
        let bad = text.replace("\"akma\": true", "\"akma\": \"yes\"");
        let e = parse_json(&bad).unwrap_err();
        assert_eq!(
            (e.entry, e.field.as_deref()),
            (Some(1), Some("akma")),
            "{e}"
        );
        let e = parse_json("[{\"supi\": \"imsi-1\",}]").unwrap_err();
        assert_eq!(e.line, Some(1));
        assert!(e.reason.contains("invalid JSON"));
        assert!(parse_json("{\"x\": 1}").is_err());
        // A brace inside a string does not shift the lines.
        let lines = json_entry_lines("[\n{\"a\": \"{\"},\n{\"b\": 1}]");
        assert_eq!(lines, vec![2, 3]);
    }
}
