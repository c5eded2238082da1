//! The compliance matrix, in the manner of s2n-quic's duvet: `docs/compliance/requirements.toml`
//! lists the requirements of TS 33.535, TS 29.535 and TS 29.522 with a status each; the code
//! names the requirements it implements with `//= req <id>` and the tests that check them with
//! `//= test <id>`. This test collects every annotation under `crates/`, checks them against
//! the list, and checks that `docs/compliance.md` is what they generate, so that the matrix
//! cannot drift from the code.
//!
//! Regenerate the matrix with
//! `AKMA_UPDATE_COMPLIANCE=1 cargo test -p akma --test compliance`.
//!
//! The grammar (also in the generated header, [`grammar_text`]): a line whose text, after
//! leading white space, is `//=`, one or more spaces, the keyword `req` or `test`, one or more
//! spaces and a comma-separated list of requirement ids (`[A-Za-z0-9][A-Za-z0-9._-]*`, spaces
//! around commas allowed). It annotates the first following line that is neither a comment nor
//! an attribute (`#[…]`), with no blank line in between and at most [`LOOKAHEAD`] lines down.
//! A `test` annotation must have a test attribute (`#[test]`, `#[tokio::test…]`) among the
//! attributes between it and that item. Other `//=` lines (citations such as
//! `//= TS 33.535 A.2: …`) are not annotations and are ignored.

#![allow(clippy::unwrap_used)] // test code

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

/// How far below an annotation its item may be (attributes and comments in between).
const LOOKAHEAD: usize = 12;

/// The requirements list, relative to the workspace root.
const REQUIREMENTS: &str = "docs/compliance/requirements.toml";

/// The generated matrix, relative to the workspace root.
const MATRIX: &str = "docs/compliance.md";

/// The command that regenerates the matrix.
const REGENERATE: &str = "AKMA_UPDATE_COMPLIANCE=1 cargo test -p akma --test compliance";

/// A requirement's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    Implemented,
    Partial,
    NotImplemented,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Implemented => "implemented",
            Status::Partial => "partial",
            Status::NotImplemented => "not-implemented",
        }
    }
}

/// One `[[requirement]]` of the list.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Requirement {
    id: String,
    spec: String,
    version: String,
    clause: String,
    level: String,
    text: String,
    status: Status,
    reason: Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RequirementsFile {
    requirement: Vec<Requirement>,
}

/// `req` or `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Req,
    Test,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Req => "req",
            Kind::Test => "test",
        })
    }
}

/// One annotation and the item it stands above.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Annotation {
    kind: Kind,
    ids: Vec<String>,
    /// Relative to the workspace root, with `/`.
    file: String,
    /// 1-based line of the annotation.
    line: usize,
    /// The annotated item's name (`derive_k_af`, `Aanf::remove_context`, `impl X for Y`).
    item: String,
    /// Whether a test attribute stands between the annotation and the item.
    on_test: bool,
}

/// Everything the checker refuses, each naming its offender.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Problem {
    /// The requirements list itself is wrong (syntax, duplicate id, missing reason).
    BadRequirement { id: String, reason: String },
    /// A `//= req` / `//= test` line that does not follow the grammar or annotates nothing.
    Malformed {
        file: String,
        line: usize,
        reason: String,
    },
    /// An annotation names an id that is not in the list.
    UnknownId {
        id: String,
        file: String,
        line: usize,
    },
    /// An implemented or partial requirement without a `//= req` annotation.
    MissingCode { id: String },
    /// An implemented or partial requirement without a `//= test` annotation on a test.
    MissingTest { id: String },
    /// A `//= test` annotation whose item carries no test attribute.
    TestNotOnTest {
        file: String,
        line: usize,
        item: String,
    },
    /// A not-implemented requirement that something claims to implement or test.
    AnnotatedNotImplemented {
        id: String,
        kind: Kind,
        file: String,
        line: usize,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::BadRequirement { id, reason } => {
                write!(f, "{REQUIREMENTS}: requirement {id:?}: {reason}")
            }
            Problem::Malformed { file, line, reason } => {
                write!(f, "{file}:{line}: malformed annotation: {reason}")
            }
            Problem::UnknownId { id, file, line } => write!(
                f,
                "{file}:{line}: unknown requirement id {id:?} (not in {REQUIREMENTS})"
            ),
            Problem::MissingCode { id } => write!(
                f,
                "requirement {id} is implemented/partial but no code carries `//= req {id}`"
            ),
            Problem::MissingTest { id } => write!(
                f,
                "requirement {id} is implemented/partial but no test carries `//= test {id}`"
            ),
            Problem::TestNotOnTest { file, line, item } => write!(
                f,
                "{file}:{line}: `//= test` annotation on {item:?}, which has no #[test] or \
                 #[tokio::test] attribute"
            ),
            Problem::AnnotatedNotImplemented {
                id,
                kind,
                file,
                line,
            } => write!(
                f,
                "{file}:{line}: `//= {kind} {id}`, but {id} is not-implemented in {REQUIREMENTS} \
                 (change its status, or remove the annotation)"
            ),
        }
    }
}

/// Whether `s` is a requirement id: `[A-Za-z0-9][A-Za-z0-9._-]*`.
fn is_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

/// Parses and validates the requirements list.
fn parse_requirements(text: &str) -> Result<Vec<Requirement>, Vec<Problem>> {
    let file: RequirementsFile = toml::from_str(text).map_err(|e| {
        vec![Problem::BadRequirement {
            id: String::new(),
            reason: e.to_string(),
        }]
    })?;
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for r in &file.requirement {
        let bad = |reason: &str| Problem::BadRequirement {
            id: r.id.clone(),
            reason: reason.to_owned(),
        };
        if !is_id(&r.id) {
            problems.push(bad("the id is not [A-Za-z0-9][A-Za-z0-9._-]*"));
        }
        if !seen.insert(r.id.clone()) {
            problems.push(bad("duplicate id"));
        }
        let reason = r.reason.as_deref().map(str::trim).unwrap_or_default();
        match r.status {
            Status::Implemented if !reason.is_empty() => {
                problems.push(bad("an implemented requirement takes no reason"))
            }
            Status::Partial | Status::NotImplemented if reason.is_empty() => problems.push(bad(
                "a partial or not-implemented requirement needs a reason",
            )),
            _ => {}
        }
        for (name, v) in [
            ("spec", &r.spec),
            ("version", &r.version),
            ("clause", &r.clause),
            ("level", &r.level),
            ("text", &r.text),
        ] {
            if v.trim().is_empty() {
                problems.push(bad(&format!("empty {name}")));
            }
        }
    }
    if problems.is_empty() {
        Ok(file.requirement)
    } else {
        Err(problems)
    }
}

/// Splits an annotation line: `Some((kind, ids text))` for `//= req …` / `//= test …`, `None`
/// for every other line (including `//=` citations).
fn annotation_of(line: &str) -> Option<(Kind, &str)> {
    let rest = line.trim_start().strip_prefix("//=")?;
    if !rest.starts_with(' ') {
        return None;
    }
    let rest = rest.trim_start();
    let (word, ids) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    let kind = match word {
        "req" => Kind::Req,
        "test" => Kind::Test,
        _ => return None,
    };
    Some((kind, ids.trim()))
}

fn is_test_attribute(t: &str) -> bool {
    t.starts_with("#[test]") || t.starts_with("#[tokio::test")
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// Strips visibility and qualifiers (`pub(crate) async unsafe …`).
fn strip_qualifiers(mut t: &str) -> &str {
    loop {
        if let Some(rest) = t.strip_prefix("pub(") {
            t = rest.split_once(')').map_or(rest, |(_, r)| r).trim_start();
            continue;
        }
        let mut stripped = false;
        for q in ["pub ", "async ", "unsafe ", "default ", "extern \"C\" "] {
            if let Some(rest) = t.strip_prefix(q) {
                t = rest.trim_start();
                stripped = true;
            }
        }
        if let Some(rest) = t.strip_prefix("const fn ") {
            t = rest;
            return t;
        }
        if !stripped {
            return t;
        }
    }
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// Removes a leading generic parameter list (`<T: Into<X>>`).
fn skip_generics(s: &str) -> &str {
    let s = s.trim_start();
    if !s.starts_with('<') {
        return s;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return s[i + 1..].trim_start();
                }
            }
            _ => {}
        }
    }
    s
}

/// The type an `impl …` or `trait …` line is for: `impl<T> Tr for Ty<T> {` → `Ty`.
fn impl_type(t: &str) -> Option<String> {
    let t = strip_qualifiers(t);
    if let Some(rest) = t.strip_prefix("trait ") {
        return Some(ident(rest).to_owned());
    }
    let rest = t.strip_prefix("impl")?;
    if !(rest.starts_with(' ') || rest.starts_with('<')) {
        return None;
    }
    let rest = skip_generics(rest);
    let ty = rest.split_once(" for ").map_or(rest, |(_, ty)| ty).trim();
    let ty = ty.split(['<', ' ', '{']).next().unwrap_or(ty);
    let ty = ty.rsplit("::").next().unwrap_or(ty);
    Some(ty.to_owned())
}

/// The name of the item on line `j`, qualified by its `impl`/`trait` for a method.
fn item_name(lines: &[&str], j: usize) -> String {
    let raw = lines[j];
    let t = strip_qualifiers(raw.trim());
    if let Some(rest) = t.strip_prefix("fn ") {
        let name = ident(rest);
        let own = indent(raw);
        if own > 0 {
            for prev in lines[..j].iter().rev() {
                if prev.trim().is_empty() || indent(prev) >= own {
                    continue;
                }
                if let Some(ty) = impl_type(prev.trim()) {
                    return format!("{ty}::{name}");
                }
                break;
            }
        }
        return name.to_owned();
    }
    for kw in [
        "struct ", "enum ", "trait ", "type ", "mod ", "static ", "const ", "union ", "let ",
    ] {
        if let Some(rest) = t.strip_prefix(kw) {
            let rest = rest.strip_prefix("mut ").unwrap_or(rest);
            return ident(rest).to_owned();
        }
    }
    if let Some(rest) = t.strip_prefix("macro_rules!") {
        return format!("{}!", ident(rest.trim_start()));
    }
    if t.starts_with("impl") {
        let head = t.split(" where").next().unwrap_or(t);
        return head.trim_end_matches('{').trim().to_owned();
    }
    if let Some((pat, _)) = t.split_once("=>") {
        return format!("match arm {}", pat.trim());
    }
    let mut short: String = t.chars().take(60).collect();
    if short.len() < t.len() {
        short.push('…');
    }
    short
}

/// Collects the annotations of one source file.
fn parse_annotations(file: &str, src: &str) -> (Vec<Annotation>, Vec<Problem>) {
    let lines: Vec<&str> = src.lines().collect();
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((kind, ids_text)) = annotation_of(line) else {
            continue;
        };
        let malformed = |reason: String| Problem::Malformed {
            file: file.to_owned(),
            line: i + 1,
            reason,
        };
        let ids: Vec<String> = ids_text.split(',').map(|s| s.trim().to_owned()).collect();
        if let Some(bad) = ids.iter().find(|id| !is_id(id)) {
            problems.push(malformed(format!(
                "{bad:?} is not a requirement id (expected `//= {kind} <id>[, <id>]*`)"
            )));
            continue;
        }
        let mut on_test = false;
        let mut item = None;
        for (j, next) in lines.iter().enumerate().skip(i + 1).take(LOOKAHEAD) {
            let t = next.trim();
            if t.starts_with("//") {
                continue;
            }
            if t.starts_with("#[") {
                on_test |= is_test_attribute(t);
                continue;
            }
            if !t.is_empty() {
                item = Some(item_name(&lines, j));
            }
            break;
        }
        let Some(item) = item else {
            problems.push(malformed(format!(
                "not directly above an item (a blank line or more than {LOOKAHEAD} lines of \
                 attributes and comments follow it)"
            )));
            continue;
        };
        out.push(Annotation {
            kind,
            ids,
            file: file.to_owned(),
            line: i + 1,
            item,
            on_test,
        });
    }
    (out, problems)
}

/// Checks the annotations against the requirements.
fn check(reqs: &[Requirement], annotations: &[Annotation]) -> Vec<Problem> {
    let by_id: BTreeMap<&str, &Requirement> = reqs.iter().map(|r| (r.id.as_str(), r)).collect();
    let mut problems = Vec::new();
    let mut code: BTreeSet<&str> = BTreeSet::new();
    let mut tests: BTreeSet<&str> = BTreeSet::new();
    for a in annotations {
        if a.kind == Kind::Test && !a.on_test {
            problems.push(Problem::TestNotOnTest {
                file: a.file.clone(),
                line: a.line,
                item: a.item.clone(),
            });
        }
        for id in &a.ids {
            let Some(r) = by_id.get(id.as_str()) else {
                problems.push(Problem::UnknownId {
                    id: id.clone(),
                    file: a.file.clone(),
                    line: a.line,
                });
                continue;
            };
            if r.status == Status::NotImplemented {
                problems.push(Problem::AnnotatedNotImplemented {
                    id: id.clone(),
                    kind: a.kind,
                    file: a.file.clone(),
                    line: a.line,
                });
            }
            match a.kind {
                Kind::Req => code.insert(&r.id),
                Kind::Test if a.on_test => tests.insert(&r.id),
                Kind::Test => false,
            };
        }
    }
    for r in reqs {
        if r.status == Status::NotImplemented {
            continue;
        }
        if !code.contains(r.id.as_str()) {
            problems.push(Problem::MissingCode { id: r.id.clone() });
        }
        if !tests.contains(r.id.as_str()) {
            problems.push(Problem::MissingTest { id: r.id.clone() });
        }
    }
    problems
}

/// The grammar, as the generated header explains it.
fn grammar_text() -> String {
    "\
## Annotations

A requirement is implemented where a comment names it, directly above the item that
implements it, and checked where a comment names it above a test:

```rust
@= req 33535-A.4-kaf
pub fn derive_k_af(k_akma: &KAkma, af_id: &AfId) -> KAf {

@= test 33535-A.2-kakma, 33535-A.3-a-tid, 33535-A.4-kaf
#[test]
fn digest_notes_worked_example() {
```

- The line is `//=`, spaces, `req` or `test`, spaces, and one or more requirement ids
  separated by commas (`[A-Za-z0-9][A-Za-z0-9._-]*`). Several annotation lines may stand
  above one item.
- It annotates the first line below it that is neither a comment nor an attribute, with no
  blank line between them. A `test` annotation must have `#[test]` or `#[tokio::test…]`
  among those attributes.
- Other `//=` lines (citations of a clause, as in s2n-quic) are not annotations.
- `cargo test -p akma --test compliance` fails on an unknown id, on an implemented or
  partial requirement without a `req` or a `test` annotation, on a `test` annotation that
  is not on a test, on an annotation of a not-implemented requirement, and when this file
  is not what the annotations generate.
"
    .replace("@=", "//=")
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\n', " ")
}

/// The places annotated with `kind` for `id`, grouped by file: "[file](link): `a`, `b`".
fn locations(annotations: &[Annotation], id: &str, kind: Kind) -> String {
    let mut by_file: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for a in annotations {
        if a.kind == kind && (kind == Kind::Req || a.on_test) && a.ids.iter().any(|i| i == id) {
            by_file.entry(&a.file).or_default().insert(&a.item);
        }
    }
    let cells: Vec<String> = by_file
        .iter()
        .map(|(file, items)| {
            let shown = file.strip_prefix("crates/").unwrap_or(file);
            let items: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
            format!("[{shown}](../{file}): {}", items.join(", "))
        })
        .collect();
    if cells.is_empty() {
        "–".to_owned()
    } else {
        cells.join("<br>")
    }
}

/// The matrix: header, grammar, summary, then one table per specification.
fn generate(reqs: &[Requirement], annotations: &[Annotation]) -> String {
    let mut out = String::new();
    out.push_str("# AKMA compliance matrix\n\n");
    out.push_str(
        "<!-- Generated by crates/akma/tests/compliance.rs from docs/compliance/requirements.toml \
         and the annotations in crates/. Do not edit by hand. -->\n\n",
    );
    out.push_str(&format!(
        "Which requirement of TS 33.535 (clause 6, clause 7, Annexes A and B), TS 29.535 \
         (Naanf_AKMA) and TS 29.522 (3gpp-akma) this project implements, where, and which \
         tests check it. The list with its statuses is [`{REQUIREMENTS}`](compliance/requirements.toml); \
         the code locations and tests come from annotations beside the code, so they cannot \
         drift from it. Regenerate after changing either:\n\n```sh\n{REGENERATE}\n```\n\n"
    ));
    out.push_str(&grammar_text());
    out.push_str("\n## Summary\n\n| Status | Requirements |\n|---|---|\n");
    for s in [Status::Implemented, Status::Partial, Status::NotImplemented] {
        let n = reqs.iter().filter(|r| r.status == s).count();
        out.push_str(&format!("| {} | {n} |\n", s.as_str()));
    }
    out.push_str(&format!("| total | {} |\n", reqs.len()));
    let mut specs: Vec<&str> = Vec::new();
    for r in reqs {
        if !specs.contains(&r.spec.as_str()) {
            specs.push(&r.spec);
        }
    }
    for spec in specs {
        out.push_str(&format!(
            "\n## {spec}\n\n| Id | Clause | Requirement | Status | Code | Tests |\n|---|---|---|---|---|---|\n"
        ));
        for r in reqs.iter().filter(|r| r.spec == spec) {
            let status = match &r.reason {
                Some(reason) if r.status != Status::Implemented => {
                    format!("**{}**: {}", r.status.as_str(), md_escape(reason))
                }
                _ => r.status.as_str().to_owned(),
            };
            out.push_str(&format!(
                "| `{}` | §{} (v{}) | **{}** {} | {} | {} | {} |\n",
                r.id,
                md_escape(&r.clause),
                md_escape(&r.version),
                md_escape(&r.level),
                md_escape(&r.text),
                status,
                locations(annotations, &r.id, Kind::Req),
                locations(annotations, &r.id, Kind::Test),
            ));
        }
    }
    out
}

/// Compares the committed matrix with the generated one.
fn check_matrix(committed: Option<&str>, generated: &str) -> Result<(), String> {
    match committed {
        Some(c) if c == generated => Ok(()),
        Some(_) => Err(format!(
            "{MATRIX} is not what the requirements and annotations generate; regenerate it with\n\n    {REGENERATE}\n"
        )),
        None => Err(format!("{MATRIX} is missing; generate it with\n\n    {REGENERATE}\n")),
    }
}

/// Every `*.rs` under `dir`, sorted, skipping `target` and hidden directories.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

#[test]
fn compliance_matrix() {
    let root = workspace_root();
    let text = std::fs::read_to_string(root.join(REQUIREMENTS)).unwrap();
    let reqs = match parse_requirements(&text) {
        Ok(r) => r,
        Err(problems) => panic!("{}", report(&problems)),
    };
    let mut files = Vec::new();
    rust_files(&root.join("crates"), &mut files);
    files.sort();
    let mut annotations = Vec::new();
    let mut problems = Vec::new();
    for path in files {
        let rel = path
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let src = std::fs::read_to_string(&path).unwrap_or_default();
        let (a, p) = parse_annotations(&rel, &src);
        annotations.extend(a);
        problems.extend(p);
    }
    problems.extend(check(&reqs, &annotations));
    assert!(problems.is_empty(), "{}", report(&problems));

    let generated = generate(&reqs, &annotations);
    let path = root.join(MATRIX);
    if std::env::var("AKMA_UPDATE_COMPLIANCE").as_deref() == Ok("1") {
        std::fs::write(&path, &generated).unwrap();
        return;
    }
    let committed = std::fs::read_to_string(&path).ok();
    if let Err(e) = check_matrix(committed.as_deref(), &generated) {
        panic!("{e}");
    }
}

fn report(problems: &[Problem]) -> String {
    let mut s = format!("{} compliance problem(s):\n", problems.len());
    for p in problems {
        s.push_str(&format!("  - {p}\n"));
    }
    s
}

// The checker's own tests, on synthetic inputs. Their sources write `@=` for `//=` so that
// the scan of crates/ does not take them for annotations.

fn src(s: &str) -> String {
    s.replace("@=", "//=")
}

fn reqs(entries: &[(&str, &str)]) -> Vec<Requirement> {
    let mut text = String::new();
    for (id, status) in entries {
        text.push_str(&format!(
            "[[requirement]]\nid = \"{id}\"\nspec = \"TS 33.535\"\nversion = \"18.4.0\"\n\
             clause = \"A.4\"\nlevel = \"SHALL\"\ntext = \"t\"\nstatus = \"{status}\"\n"
        ));
        if *status != "implemented" {
            text.push_str("reason = \"r\"\n");
        }
    }
    parse_requirements(&text).unwrap()
}

fn annotations(file: &str, s: &str) -> Vec<Annotation> {
    let (a, p) = parse_annotations(file, &src(s));
    assert_eq!(p, vec![]);
    a
}

#[test]
fn grammar_ids_items_and_citations() {
    let a = annotations(
        "crates/x/src/lib.rs",
        "\
@= TS 33.535 A.2: a citation, not an annotation
@= req a-1, b.2 ,c_3
/// Docs.
#[inline]
pub(crate) async fn derive() {}

impl<T: Into<u8>> Trait for Ty<T> {
    @= req a-1
    pub fn method(&self) {}
}

@= req a-1
pub const K_AF: u8 = 0x82;

fn f(x: u8) {
    match x {
        @= req b.2
        0x82 => {}
    }
}

mod tests {
    @= test a-1
    // a comment
    #[tokio::test(flavor = \"multi_thread\")]
    #[ignore]
    async fn checks() {}
}
",
    );
    let got: Vec<(Kind, Vec<&str>, usize, &str, bool)> = a
        .iter()
        .map(|a| {
            let ids = a.ids.iter().map(String::as_str).collect();
            (a.kind, ids, a.line, a.item.as_str(), a.on_test)
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (Kind::Req, vec!["a-1", "b.2", "c_3"], 2, "derive", false),
            (Kind::Req, vec!["a-1"], 8, "Ty::method", false),
            (Kind::Req, vec!["a-1"], 12, "K_AF", false),
            (Kind::Req, vec!["b.2"], 17, "match arm 0x82", false),
            (Kind::Test, vec!["a-1"], 23, "checks", true),
        ]
    );
}

#[test]
fn malformed_annotations_are_reported_with_their_line() {
    let (a, p) = parse_annotations(
        "crates/x/src/lib.rs",
        &src("@= req\nfn a() {}\n@= req x y\nfn b() {}\n@= req ok\n\nfn c() {}\n"),
    );
    assert_eq!(a, vec![]);
    let lines: Vec<usize> = p
        .iter()
        .map(|p| match p {
            Problem::Malformed { line, .. } => *line,
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(lines, vec![1, 3, 5]);
}

#[test]
fn an_unknown_id_is_reported() {
    let r = reqs(&[("known", "implemented")]);
    let a = annotations(
        "crates/x/src/lib.rs",
        "@= req known, unknwon\nfn f() {}\n@= test known\n#[test]\nfn t() {}\n",
    );
    assert_eq!(
        check(&r, &a),
        vec![Problem::UnknownId {
            id: "unknwon".into(),
            file: "crates/x/src/lib.rs".into(),
            line: 1
        }]
    );
}

#[test]
fn a_requirement_without_code_is_reported() {
    let r = reqs(&[("done", "implemented"), ("half", "partial")]);
    let a = annotations(
        "crates/x/src/lib.rs",
        "@= req done\nfn f() {}\n@= test done, half\n#[test]\nfn t() {}\n",
    );
    assert_eq!(
        check(&r, &a),
        vec![Problem::MissingCode { id: "half".into() }]
    );
}

#[test]
fn a_requirement_without_a_test_is_reported() {
    let r = reqs(&[("done", "implemented"), ("half", "partial")]);
    let a = annotations(
        "crates/x/src/lib.rs",
        "@= req done, half\nfn f() {}\n@= test half\n#[test]\nfn t() {}\n",
    );
    assert_eq!(
        check(&r, &a),
        vec![Problem::MissingTest { id: "done".into() }]
    );
}

#[test]
fn a_test_annotation_on_other_code_is_reported_and_does_not_count() {
    let r = reqs(&[("done", "implemented")]);
    let a = annotations(
        "crates/x/tests/t.rs",
        "@= req done\nfn f() {}\n@= test done\n#[inline]\nfn helper() {}\n",
    );
    assert_eq!(
        check(&r, &a),
        vec![
            Problem::TestNotOnTest {
                file: "crates/x/tests/t.rs".into(),
                line: 3,
                item: "helper".into()
            },
            Problem::MissingTest { id: "done".into() },
        ]
    );
}

#[test]
fn an_annotated_not_implemented_requirement_is_reported() {
    let r = reqs(&[("later", "not-implemented")]);
    let a = annotations(
        "crates/x/src/lib.rs",
        "fn a() {}\n@= req later\nfn f() {}\n@= test later\n#[test]\nfn t() {}\n",
    );
    assert_eq!(
        check(&r, &a),
        vec![
            Problem::AnnotatedNotImplemented {
                id: "later".into(),
                kind: Kind::Req,
                file: "crates/x/src/lib.rs".into(),
                line: 2
            },
            Problem::AnnotatedNotImplemented {
                id: "later".into(),
                kind: Kind::Test,
                file: "crates/x/src/lib.rs".into(),
                line: 4
            },
        ]
    );
    // Without annotations a not-implemented requirement is no problem.
    assert_eq!(check(&r, &[]), vec![]);
}

#[test]
fn a_bad_requirements_list_is_reported() {
    let entry = |id: &str, status: &str, reason: &str| {
        format!(
            "[[requirement]]\nid = \"{id}\"\nspec = \"s\"\nversion = \"v\"\nclause = \"c\"\n\
             level = \"SHALL\"\ntext = \"t\"\nstatus = \"{status}\"\n{reason}"
        )
    };
    let text = [
        entry("a", "implemented", ""),
        entry("a", "implemented", ""),
        entry("b", "not-implemented", ""),
        entry("c d", "partial", "reason = \"r\"\n"),
    ]
    .concat();
    let ids: Vec<(String, String)> = parse_requirements(&text)
        .unwrap_err()
        .into_iter()
        .map(|p| match p {
            Problem::BadRequirement { id, reason } => (id, reason),
            other => panic!("{other}"),
        })
        .collect();
    assert_eq!(
        ids,
        vec![
            ("a".into(), "duplicate id".into()),
            (
                "b".into(),
                "a partial or not-implemented requirement needs a reason".into()
            ),
            (
                "c d".into(),
                "the id is not [A-Za-z0-9][A-Za-z0-9._-]*".into()
            ),
        ]
    );
    assert!(parse_requirements(&entry("a", "done", "")).is_err());
}

#[test]
fn a_stale_matrix_is_reported_with_the_command() {
    let r = reqs(&[("a-1", "implemented")]);
    let a = annotations(
        "crates/x/src/lib.rs",
        "@= req a-1\npub fn derive() {}\n@= test a-1\n#[test]\nfn checks() {}\n",
    );
    let generated = generate(&r, &a);
    assert!(generated.contains(
        "| `a-1` | §A.4 (v18.4.0) | **SHALL** t | implemented | \
         [x/src/lib.rs](../crates/x/src/lib.rs): `derive` | \
         [x/src/lib.rs](../crates/x/src/lib.rs): `checks` |"
    ));
    assert_eq!(check_matrix(Some(&generated), &generated), Ok(()));
    let stale = check_matrix(Some("# old"), &generated).unwrap_err();
    assert!(stale.contains(REGENERATE), "{stale}");
    assert!(check_matrix(None, &generated)
        .unwrap_err()
        .contains(REGENERATE));
}
