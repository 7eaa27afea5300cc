//! The YAML test suite (tests/data/yaml-test-suite, see its README.md)
//! through shroud's YAML format:
//! - every invalid case is refused with an error naming a line and column,
//!   and never panics;
//! - every valid case either passes the fuzz properties (spans inside the
//!   input, keep-all render is the identity, encrypt then decrypt gives the
//!   input back byte for byte, or the same data for the documented layout
//!   exceptions), or is refused with a clear error: an "unsupported" one
//!   (exit 23 or 2, a top-level list or scalar, a non-string key, ...), an
//!   or an empty stream (exit 92). A valid case refused as a syntax error
//!   is a failure.
//!
//! The counts are printed and recorded in docs/format.md.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use shroud::error::FormatError;
use shroud::formats::Format;
use shroud::fuzzing::{self, Outcome};

fn cases(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            if p.join("in.yaml").is_file() {
                out.push(p.clone());
            }
            cases(&p, out);
        }
    }
}

fn has_location(msg: &str) -> bool {
    msg.contains("line ") && msg.contains("column ")
}

#[test]
fn yaml_test_suite() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/yaml-test-suite");
    let mut dirs = Vec::new();
    cases(&root, &mut dirs);
    assert!(
        dirs.len() > 350,
        "the suite went missing: {} cases",
        dirs.len()
    );

    let (mut round_tripped, mut same_data, mut unsupported) = (0, 0, 0);
    let mut reasons = std::collections::BTreeMap::<String, usize>::new();
    let mut rejected = 0;
    let mut failures = Vec::new();
    for dir in &dirs {
        let id = dir.strip_prefix(&root).unwrap().display().to_string();
        let src = std::fs::read(dir.join("in.yaml")).unwrap();
        let invalid = dir.join("error").exists();
        let src = match String::from_utf8(src) {
            Ok(s) => s,
            Err(_) => {
                failures.push(format!("{id}: not UTF-8"));
                continue;
            }
        };
        if invalid {
            match catch_unwind(|| Format::Yaml.parse(&src).map(|_| ())) {
                Err(_) => failures.push(format!("{id}: invalid case panics")),
                Ok(Ok(())) => failures.push(format!("{id}: invalid YAML accepted")),
                Ok(Err(e)) if has_location(&e.to_string()) => rejected += 1,
                Ok(Err(e)) => failures.push(format!("{id}: refused without a location: {e}")),
            }
            continue;
        }
        match catch_unwind(AssertUnwindSafe(|| fuzzing::check_text(Format::Yaml, &src))) {
            Err(_) => failures.push(format!("{id}: valid case breaks a property (panic above)")),
            Ok(Outcome::RoundTripped) => round_tripped += 1,
            Ok(Outcome::SameData(_)) => same_data += 1,
            Ok(Outcome::Rejected(e @ FormatError::Syntax { .. })) => {
                failures.push(format!("{id}: valid YAML refused as invalid: {e}"))
            }
            Ok(Outcome::Rejected(FormatError::Empty)) => {
                unsupported += 1;
                *reasons.entry("empty stream".into()).or_default() += 1;
            }
            Ok(Outcome::Rejected(e @ FormatError::Unsupported { .. })) => {
                unsupported += 1;
                let FormatError::Unsupported { message, .. } = e else {
                    unreachable!()
                };
                *reasons.entry(message).or_default() += 1;
            }
            Ok(Outcome::Rejected(e)) => {
                failures.push(format!("{id}: refused without a location: {e}"))
            }
            Ok(Outcome::EncryptRefused(e)) => {
                // A refusal at encrypt time (a top-level `sops` key, a value
                // YAML cannot hold where it must go) must still say why.
                let msg = e.to_string();
                if msg.is_empty() {
                    failures.push(format!("{id}: refused with an empty message"));
                } else {
                    unsupported += 1;
                    *reasons.entry(msg).or_default() += 1;
                }
            }
            Ok(Outcome::NotText) => unreachable!("the input is a String"),
        }
    }
    println!(
        "yaml-test-suite: {} cases; valid: {round_tripped} round-tripped byte for byte, \
         {same_data} to the same data (documented layout exceptions), {unsupported} refused \
         as unsupported; invalid: {rejected} refused with a location",
        dirs.len()
    );
    for (why, n) in &reasons {
        println!("  unsupported {n:4}: {why}");
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
