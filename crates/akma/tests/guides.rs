//! The guides cannot drift from the code: every Rust block that follows an
//! `<!-- example: PATH -->` marker in `README.md` or `docs/*.md` is the file at PATH, byte for
//! byte (and `cargo test` builds every example). The command lines of the guides are checked
//! by the CLI's own parser in `src/main.rs` (`guide_commands_parse`).
#![allow(clippy::unwrap_used)] // test code

use std::path::{Path, PathBuf};

const MARKER: &str = "<!-- example: ";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn documents() -> Vec<PathBuf> {
    let mut docs = vec![root().join("README.md")];
    for e in std::fs::read_dir(root().join("docs")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "md") {
            docs.push(p);
        }
    }
    docs.sort();
    docs
}

#[test]
fn every_marked_example_is_the_file_it_names() {
    let mut checked = 0;
    for doc in documents() {
        let text = std::fs::read_to_string(&doc).unwrap();
        let mut rest = text.as_str();
        while let Some((_, after)) = rest.split_once(MARKER) {
            let (path, after) = after.split_once(" -->").expect("a closed marker");
            let block = after
                .split_once("```rust\n")
                .unwrap_or_else(|| panic!("{}: no rust block after {path}", doc.display()))
                .1;
            let (block, tail) = block.split_once("```").unwrap();
            let file = std::fs::read_to_string(root().join(path))
                .unwrap_or_else(|e| panic!("{}: {path}: {e}", doc.display()));
            assert_eq!(block, file, "{} shows {path} differently", doc.display());
            checked += 1;
            rest = tail;
        }
    }
    // README (protect_axum) and the developer guide (protect_axum, push_to_ue).
    assert!(checked >= 3, "only {checked} marked examples found");
}
