//! Replays every saved fuzz input (the corpus under fuzz/corpus/<target>/,
//! the crashes under fuzz/artifacts/<target>/ and the hand-made cases under
//! fuzz/regressions/<target>/) through the same property checks the fuzz
//! targets run (shroud::fuzzing), so plain `cargo test` on stable guards
//! every crash ever found without nightly or libFuzzer.

use std::path::{Path, PathBuf};

use shroud::fuzzing::{self, Outcome};

const TARGETS: &[&str] = &["yaml", "json", "toml", "dotenv", "ini", "enc"];

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    out.sort();
    out
}

fn replay(kind: &str) -> usize {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz")
        .join(kind);
    let mut total = 0;
    for target in TARGETS {
        for file in files(&root.join(target)) {
            let data = std::fs::read(&file).unwrap();
            let outcome = std::panic::catch_unwind(|| fuzzing::check_target(target, &data));
            match outcome {
                Ok(Some(_)) => total += 1,
                Ok(None) => panic!("unknown fuzz target {target}"),
                Err(_) => panic!(
                    "{}: a fuzz property fails (see the panic above)",
                    file.display()
                ),
            }
        }
    }
    total
}

#[test]
fn fuzz_corpus_keeps_every_property() {
    let n = replay("corpus");
    // The corpus is committed: an empty run would mean it went missing.
    assert!(n >= 6, "only {n} corpus files found under fuzz/corpus");
}

#[test]
fn fuzz_crashes_and_regressions_stay_fixed() {
    let n = replay("artifacts") + replay("regressions");
    assert!(n >= 1, "no saved crash or regression input found");
}

#[test]
fn the_example_file_round_trips() {
    let src = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/example.yaml"),
    )
    .unwrap();
    let outcome = fuzzing::check_text(shroud::formats::Format::Yaml, &src);
    assert!(matches!(outcome, Outcome::RoundTripped), "{outcome:?}");
}
