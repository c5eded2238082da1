//! Reading what a server's `GET /metrics` says: the Prometheus text format (version 0.0.4)
//! parsed into series ([`Scrape`]), the increase between two scrapes, and a histogram's mean
//! and quantiles ([`HistogramView`]) as Prometheus' `histogram_quantile` computes them.
//!
//! ```
//! use akma_loadgen::prometheus::Scrape;
//!
//! let before = Scrape::parse("hits_total{path=\"/a\"} 3\n").unwrap();
//! let after = Scrape::parse("# TYPE hits_total counter\nhits_total{path=\"/a\"} 10\n").unwrap();
//! let grown = after.increase_since(&before);
//! assert_eq!(grown.get("hits_total", &[("path", "/a")]), Some(7.0));
//! ```

use std::collections::BTreeMap;
use std::collections::HashMap;

/// A line of the text format that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("metrics line {line}: {reason}: {text:?}")]
pub struct ParseError {
    /// The line number, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: &'static str,
    /// The line.
    pub text: String,
}

/// One series: the metric name and its labels (sorted by label name, so that the order in
/// which a server prints them does not matter).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SeriesKey {
    /// The metric name (for a histogram, with its `_bucket`/`_sum`/`_count` suffix).
    pub name: String,
    /// The labels, sorted by name.
    pub labels: BTreeMap<String, String>,
}

impl SeriesKey {
    /// The key of `name{labels}`.
    pub fn new(name: &str, labels: &[(&str, &str)]) -> Self {
        Self {
            name: name.to_owned(),
            labels: labels
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }
}

/// The samples of one scrape (or the increase between two), by series.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Scrape {
    series: HashMap<SeriesKey, f64>,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Parses `name[{labels}] value [timestamp]`.
fn parse_sample(l: &str) -> Result<(SeriesKey, f64), &'static str> {
    let name_end = l.find(|c: char| !is_name_char(c)).unwrap_or(l.len());
    let name = &l[..name_end];
    if !name.starts_with(is_name_start) {
        return Err("no metric name");
    }
    let mut rest = &l[name_end..];
    let mut labels = BTreeMap::new();
    if let Some(after) = rest.strip_prefix('{') {
        rest = after;
        loop {
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let k_end = rest.find(|c: char| !is_name_char(c)).unwrap_or(rest.len());
            let key = &rest[..k_end];
            if !key.starts_with(is_name_start) {
                return Err("bad label name");
            }
            rest = rest[k_end..]
                .strip_prefix("=\"")
                .ok_or("label without =\"value\"")?;
            let mut value = String::new();
            let mut chars = rest.char_indices();
            let close = loop {
                match chars.next() {
                    None => return Err("unterminated label value"),
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        _ => return Err("bad escape in a label value"),
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            if labels.insert(key.to_owned(), value).is_some() {
                return Err("repeated label");
            }
            rest = &rest[close + 1..];
            rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix(',') {
                rest = after;
            } else if !rest.starts_with('}') {
                return Err("labels not separated by commas");
            }
        }
    }
    if !rest.starts_with([' ', '\t']) {
        return Err("no space before the value");
    }
    let mut fields = rest.split_whitespace();
    let value = fields.next().ok_or("no value")?;
    let value = match value {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        "NaN" => f64::NAN,
        v => v.parse::<f64>().map_err(|_| "value is not a number")?,
    };
    if let Some(ts) = fields.next() {
        ts.parse::<i64>()
            .map_err(|_| "timestamp is not an integer")?;
    }
    if fields.next().is_some() {
        return Err("text after the timestamp");
    }
    Ok((
        SeriesKey {
            name: name.to_owned(),
            labels,
        },
        value,
    ))
}

impl Scrape {
    /// Parses the text format: `# HELP`/`# TYPE` lines and other comments and blank lines
    /// are skipped; every other line must be one sample. A series given twice is an error.
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let mut series = HashMap::new();
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.is_empty() || l.starts_with('#') {
                continue;
            }
            let err = |reason| ParseError {
                line: i + 1,
                reason,
                text: raw.to_owned(),
            };
            let (key, value) = parse_sample(l).map_err(err)?;
            if series.insert(key, value).is_some() {
                return Err(err("series given twice"));
            }
        }
        Ok(Self { series })
    }

    /// The value of `name{labels}` (labels in any order), if present.
    pub fn get(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        self.series.get(&SeriesKey::new(name, labels)).copied()
    }

    /// How many series.
    pub fn len(&self) -> usize {
        self.series.len()
    }

    /// Whether there is no series.
    pub fn is_empty(&self) -> bool {
        self.series.is_empty()
    }

    /// Each series of `self` minus its value in `before` (0 where `before` lacks it): the
    /// growth of counters and histograms over a period.
    pub fn increase_since(&self, before: &Scrape) -> Scrape {
        Scrape {
            series: self
                .series
                .iter()
                .map(|(k, v)| (k.clone(), v - before.series.get(k).copied().unwrap_or(0.0)))
                .collect(),
        }
    }

    /// Adds `other`'s values to this one's, series by series (periods added together).
    pub fn add(&mut self, other: &Scrape) {
        for (k, v) in &other.series {
            *self.series.entry(k.clone()).or_default() += v;
        }
    }

    /// Merges the series of another scrape (another server's), replacing any equal series.
    pub fn extend(&mut self, other: Scrape) {
        self.series.extend(other.series);
    }

    /// The histogram `name` with these labels (besides `le`): its `_count`, `_sum` and
    /// finite `_bucket` bounds. `None` if its `_count` is missing.
    pub fn histogram(&self, name: &str, labels: &[(&str, &str)]) -> Option<HistogramView> {
        let count = self.get(&format!("{name}_count"), labels)?;
        let sum = self.get(&format!("{name}_sum"), labels).unwrap_or(0.0);
        let bucket = format!("{name}_bucket");
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut buckets: Vec<(f64, f64)> = self
            .series
            .iter()
            .filter(|(k, _)| k.name == bucket)
            .filter_map(|(k, v)| {
                let mut rest = k.labels.clone();
                let le: f64 = rest.remove("le")?.parse().ok()?;
                (rest == want && le.is_finite()).then_some((le, *v))
            })
            .collect();
        buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
        Some(HistogramView {
            count,
            sum,
            buckets,
        })
    }
}

/// A cumulative histogram as the text format gives it (or its increase over a period).
#[derive(Debug, Clone, PartialEq)]
pub struct HistogramView {
    /// Observations (`_count`).
    pub count: f64,
    /// Their sum (`_sum`).
    pub sum: f64,
    /// (upper bound `le`, cumulative count) of each finite bucket, by bound.
    pub buckets: Vec<(f64, f64)>,
}

impl HistogramView {
    /// The exact mean (`sum / count`); `None` without observations.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0.0).then(|| self.sum / self.count)
    }

    /// The `q`-quantile (0 < q ≤ 1), interpolated linearly within its bucket from the
    /// bucket's lower bound (0 for the first), as Prometheus' `histogram_quantile` does; a
    /// rank beyond the last finite bucket gives that bucket's bound. `None` without
    /// observations or finite buckets, or for `q` outside (0, 1].
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count <= 0.0 || !(q > 0.0 && q <= 1.0) {
            return None;
        }
        let last = self.buckets.last()?.0;
        let rank = q * self.count;
        let mut lower = (0.0, 0.0); // (bound, cumulative count)
        for &(le, c) in &self.buckets {
            if c >= rank {
                let width = c - lower.1;
                let frac = if width > 0.0 {
                    (rank - lower.1) / width
                } else {
                    1.0
                };
                return Some(lower.0 + (le - lower.0) * frac);
            }
            lower = (le, c);
        }
        Some(last)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# HELP req_seconds Request latency.
# TYPE req_seconds histogram
req_seconds_bucket{op=\"get\",le=\"0.1\"} 2
req_seconds_bucket{op=\"get\",le=\"0.2\"} 6
req_seconds_bucket{op=\"get\",le=\"0.4\"} 10
req_seconds_bucket{op=\"get\",le=\"+Inf\"} 10
req_seconds_sum{op=\"get\"} 1.5
req_seconds_count{op=\"get\"} 10
req_seconds_bucket{op=\"put\",le=\"0.1\"} 0
req_seconds_bucket{op=\"put\",le=\"0.2\"} 0
req_seconds_bucket{op=\"put\",le=\"0.4\"} 1
req_seconds_bucket{op=\"put\",le=\"+Inf\"} 4
req_seconds_sum{op=\"put\"} 9
req_seconds_count{op=\"put\"} 4

plain_total 42 1700000000000
quoted{path=\"a\\\"b\\\\c\\nd\"} -3.5e2
";

    #[test]
    fn parses_samples_labels_and_escapes() {
        let s = Scrape::parse(TEXT).unwrap();
        assert_eq!(s.len(), 14);
        assert_eq!(s.get("plain_total", &[]), Some(42.0));
        assert_eq!(s.get("quoted", &[("path", "a\"b\\c\nd")]), Some(-350.0));
        assert_eq!(
            s.get("req_seconds_bucket", &[("le", "+Inf"), ("op", "get")]),
            Some(10.0),
            "label order does not matter"
        );
        assert_eq!(s.get("req_seconds_count", &[]), None);
        assert!(s
            .get("req_seconds_bucket", &[("op", "get"), ("le", "0.3")])
            .is_none());
    }

    #[test]
    fn rejects_malformed_lines_with_their_number() {
        for (text, line, reason) in [
            ("ok 1\nbroken\n", 2, "no space before the value"),
            (
                "ok 1\n\n# c\nx{a=\"1\" 2\n",
                4,
                "labels not separated by commas",
            ),
            ("x{a=1} 2", 1, "label without =\"value\""),
            ("x{a=\"1} 2", 1, "unterminated label value"),
            ("x{a=\"\\t\"} 2", 1, "bad escape in a label value"),
            ("x{a=\"1\",a=\"2\"} 2", 1, "repeated label"),
            ("x{1a=\"1\"} 2", 1, "bad label name"),
            ("x one", 1, "value is not a number"),
            ("x 1 soon", 1, "timestamp is not an integer"),
            ("x 1 2 3", 1, "text after the timestamp"),
            ("9x 1", 1, "no metric name"),
            ("x 1\nx 2", 2, "series given twice"),
        ] {
            let e = Scrape::parse(text).unwrap_err();
            assert_eq!((e.line, e.reason), (line, reason), "{text:?}");
        }
    }

    #[test]
    fn increase_and_add() {
        let before = Scrape::parse("a 1\nb{x=\"1\"} 5\n").unwrap();
        let after = Scrape::parse("a 4\nb{x=\"1\"} 5\nc 2\n").unwrap();
        let d = after.increase_since(&before);
        assert_eq!(d.get("a", &[]), Some(3.0));
        assert_eq!(d.get("b", &[("x", "1")]), Some(0.0));
        assert_eq!(d.get("c", &[]), Some(2.0), "a new series grows from 0");
        let mut total = d.clone();
        total.add(&d);
        assert_eq!(total.get("a", &[]), Some(6.0));
        assert_eq!(total.get("c", &[]), Some(4.0));
    }

    #[test]
    fn histogram_mean_and_quantiles() {
        let s = Scrape::parse(TEXT).unwrap();
        let h = s.histogram("req_seconds", &[("op", "get")]).unwrap();
        assert_eq!(h.count, 10.0);
        assert_eq!(h.buckets, vec![(0.1, 2.0), (0.2, 6.0), (0.4, 10.0)]);
        assert_eq!(h.mean(), Some(0.15));
        // rank 5 of 10: in (0.1, 0.2], 3 of its 4 → 0.1 + 0.1 × 3/4.
        assert!((h.quantile(0.5).unwrap() - 0.175).abs() < 1e-12);
        // rank 1: in the first bucket, from 0: 0.1 × 1/2.
        assert!((h.quantile(0.1).unwrap() - 0.05).abs() < 1e-12);
        // rank 9.9: in (0.2, 0.4], 3.9 of its 4.
        assert!((h.quantile(0.99).unwrap() - 0.395).abs() < 1e-12);
        assert_eq!(h.quantile(1.0), Some(0.4));
        assert_eq!(h.quantile(0.0), None);
        assert_eq!(h.quantile(1.5), None);

        // Three of four observations beyond the last finite bound: that bound.
        let put = s.histogram("req_seconds", &[("op", "put")]).unwrap();
        assert_eq!(put.mean(), Some(2.25));
        assert_eq!(put.quantile(0.99), Some(0.4));
        // rank 1 of 4 is in (0.2, 0.4], the first non-empty bucket: its upper bound.
        assert!((put.quantile(0.25).unwrap() - 0.4).abs() < 1e-12);

        assert!(s.histogram("req_seconds", &[("op", "delete")]).is_none());
        let empty = HistogramView {
            count: 0.0,
            sum: 0.0,
            buckets: vec![(0.1, 0.0)],
        };
        assert_eq!(empty.mean(), None);
        assert_eq!(empty.quantile(0.5), None);
    }
}
