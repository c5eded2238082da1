//! The repository stands alone: the reference data its tests and its conformance run read are
//! in `spec/` at the repository root (see `spec/README.md`).
//!
//! - every OpenAPI file that one of the served or called APIs references (`$ref: 'X.yaml#…'`),
//!   directly or through another file, is in `spec/openapi`;
//! - when the project's shared reference set is beside the repository (`../shared`), the copies
//!   are byte-identical to it.
#![allow(clippy::unwrap_used)] // test code (helpers outside #[test] functions included)

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The APIs the network functions serve (Naanf, Nudm UEAU/SDM, Nausf) or will serve or call
/// (3gpp-akma at the NEF, Nudm UECM/UEID, Nnrf).
const ROOTS: &[&str] = &[
    "TS29535_Naanf_AKMA.yaml",
    "TS29522_AKMA.yaml",
    "TS29509_Nausf_UEAuthentication.yaml",
    "TS29503_Nudm_UEAU.yaml",
    "TS29503_Nudm_SDM.yaml",
    "TS29503_Nudm_UECM.yaml",
    "TS29503_Nudm_UEID.yaml",
    "TS29510_Nnrf_AccessToken.yaml",
    "TS29510_Nnrf_NFDiscovery.yaml",
    "TS29510_Nnrf_NFManagement.yaml",
];

/// Referenced, but absent from 3GPP's published Release-18 set that `spec/openapi` copies (and
/// from `shared/openapi`): only `TS29534_Npcf_AMPolicyAuthorization.yaml` names it, for N5g-ddnmf
/// types that no AKMA, AUSF, UDM or NRF schema reaches; schemathesis resolves references
/// lazily and never opens it.
const KNOWN_ABSENT: &[&str] = &["TS29555_N5g-ddnmf_Discovery.yaml"];

/// The file names a YAML text references in `$ref` values (`$ref: 'TS29571_CommonData.yaml#/…'`).
fn referenced_files(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in text.match_indices("$ref:") {
        let value = text[i + 5..].trim_start().trim_start_matches(['\'', '"']);
        let end = value
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-'))
            .unwrap_or(value.len());
        let name = &value[..end];
        if name.ends_with(".yaml") {
            out.push(name.to_string());
        }
    }
    out
}

#[test]
fn ref_scanner_finds_file_references_only() {
    let text = "a:\n  $ref: 'TS29571_CommonData.yaml#/components/schemas/Supi'\n  \
                b:\n    $ref: '#/components/schemas/Local'\n  c: { $ref: \"TS29122_CommonData.yaml#/x\" }\n";
    assert_eq!(
        referenced_files(text),
        vec!["TS29571_CommonData.yaml", "TS29122_CommonData.yaml"]
    );
}

#[test]
fn every_referenced_openapi_file_is_in_the_repository() {
    let dir = repo().join("spec/openapi");
    let mut seen = BTreeSet::new();
    let mut todo: Vec<String> = ROOTS.iter().map(|s| s.to_string()).collect();
    while let Some(name) = todo.pop() {
        if !seen.insert(name.clone()) {
            continue;
        }
        let path = dir.join(&name);
        if KNOWN_ABSENT.contains(&name.as_str()) {
            assert!(
                !path.exists(),
                "{name} is now in spec/openapi: drop it from KNOWN_ABSENT"
            );
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!("spec/openapi/{name} is missing ({e}): copy it from shared/openapi")
        });
        todo.extend(referenced_files(&text));
    }
    // The AAnF's YAML pulls in the 29.571 and 29.122 common data, and through them most of
    // Release 18: the closure is far larger than the roots.
    assert!(seen.contains("TS29571_CommonData.yaml"));
    assert!(
        seen.len() > ROOTS.len() + 10,
        "closure has only {} files",
        seen.len()
    );
    // TS 29.522 V18.6.0 (AkmaAfKeyRequest with notifUri), as spec/openapi/README.md says.
    let akma = std::fs::read_to_string(dir.join("TS29522_AKMA.yaml")).unwrap();
    assert!(
        akma.contains("notifUri"),
        "TS29522_AKMA.yaml is not the V18.6.0 file"
    );
}

fn compare_dirs(ours: &Path, theirs: &Path) {
    let mut names = BTreeSet::new();
    for d in [ours, theirs] {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            // `.schemathesis/` is the conformance run's own cache, written beside the YAMLs.
            if !e.file_name().to_string_lossy().starts_with('.') {
                names.insert(e.file_name());
            }
        }
    }
    for name in names {
        let a = std::fs::read(ours.join(&name));
        let b = std::fs::read(theirs.join(&name));
        match (a, b) {
            (Ok(a), Ok(b)) => assert!(
                a == b,
                "{} differs from {}: refresh the copy",
                ours.join(&name).display(),
                theirs.join(&name).display()
            ),
            (a, b) => panic!(
                "{:?} is in only one of {} ({}) and {} ({})",
                name,
                ours.display(),
                a.is_ok(),
                theirs.display(),
                b.is_ok()
            ),
        }
    }
}

#[test]
fn copies_match_the_shared_reference_set_when_it_is_there() {
    let shared = repo().join("../shared");
    if !shared.join("openapi").is_dir() {
        eprintln!("no shared/ beside the repository; the copies in spec/ are used alone");
        return;
    }
    compare_dirs(&repo().join("spec/openapi"), &shared.join("openapi"));
    compare_dirs(&repo().join("spec/vectors"), &shared.join("vectors"));
    let ours = std::fs::read(repo().join("spec/conventions.md")).unwrap();
    let theirs = std::fs::read(shared.join("spec/conventions.md")).unwrap();
    assert!(
        ours == theirs,
        "spec/conventions.md differs from shared/spec/conventions.md"
    );
}
