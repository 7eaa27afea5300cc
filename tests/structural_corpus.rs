//! `set` of a new key, list appends and `unset` on the real-world Helm chart
//! files in testdata/corpus/helm (a copy of ../shared/corpus/helm) (plaintext, through the library): every
//! change either succeeds (and was then checked by re-parsing, see
//! `shroud::formats::structure`) or is refused with a clean error, and
//! nearly all succeed.

mod common;

use shroud::document::LeafKind;
use shroud::formats::Format;
use shroud::formats::structure::{self, Change, NewValue, Outcome, StructureError};
use shroud::treepath::PathSeg;

/// Up to this many containers and leaves per file, spread over the file,
/// and files up to this size: enough variety, and quick in a debug build.
const PER_FILE: usize = 4;
const MAX_BYTES: usize = 12_000;

fn spread<T: Clone>(items: &[T]) -> Vec<T> {
    let step = items.len().div_ceil(PER_FILE).max(1);
    items.iter().step_by(step).cloned().collect()
}

#[derive(Default)]
struct Tally {
    ok: usize,
    refused: Vec<String>,
}

impl Tally {
    fn record(&mut self, what: String, r: Result<Outcome, StructureError>) {
        match r {
            Ok(Outcome::Changed(_)) => self.ok += 1,
            Ok(Outcome::Unchanged) => panic!("{what}: a new key cannot be unchanged"),
            Err(e @ StructureError::Format(_)) => panic!("{what}: {e}"),
            Err(e) => self.refused.push(format!("{what}: {e}")),
        }
    }

    /// A complaint when fewer than `min_ok_percent` of the changes worked.
    fn check(&self, name: &str, min_ok_percent: usize) -> Option<String> {
        let total = self.ok + self.refused.len();
        if total < 100 {
            return Some(format!("{name}: only {total} changes tried"));
        }
        (self.ok * 100 < total * min_ok_percent).then(|| {
            format!(
                "{name}: {} of {total} changes refused:\n{}",
                self.refused.len(),
                self.refused.join("\n")
            )
        })
    }
}

#[test]
fn corpus_files_take_new_keys_items_and_removals() {
    let dir = common::corpus_dir();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    let value = NewValue::from_json(r#""shroud-test""#).unwrap();
    let (mut sets, mut appends, mut unsets) =
        (Tally::default(), Tally::default(), Tally::default());
    for path in entries {
        let format = Format::from_path(&path);
        if !matches!(format, Format::Yaml | Format::Json) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.len() > MAX_BYTES {
            continue;
        }
        let Ok(doc) = format.parse(&text) else {
            continue;
        };
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let leaves: Vec<_> = doc
            .leaves()
            .iter()
            .filter(|l| !l.is_comment() && l.span.is_some())
            .collect();
        // Every map and list that holds something, by its location.
        let mut maps: Vec<Vec<PathSeg>> = Vec::new();
        let mut lists: Vec<Vec<PathSeg>> = Vec::new();
        for l in &leaves {
            for (i, seg) in l.loc.iter().enumerate() {
                let set = match seg {
                    PathSeg::Key(_) => &mut maps,
                    PathSeg::Index(_) => &mut lists,
                };
                if !set.iter().any(|c| c.as_slice() == &l.loc[..i]) {
                    set.push(l.loc[..i].to_vec());
                }
            }
        }
        for m in spread(&maps) {
            let mut p = m.clone();
            p.push(PathSeg::Key("shroud_new_key".into()));
            let what = format!("{name} set {}", structure::show_path(&p));
            sets.record(
                what,
                structure::apply(
                    format,
                    &text,
                    &Change::Set {
                        path: &p,
                        value: &value,
                    },
                ),
            );
        }
        for l in spread(&lists) {
            let len = leaves
                .iter()
                .filter(|x| x.loc.len() > l.len() && x.loc.starts_with(&l))
                .filter_map(|x| match x.loc[l.len()] {
                    PathSeg::Index(i) => Some(i + 1),
                    _ => None,
                })
                .max()
                .unwrap_or(0);
            let mut p = l.clone();
            p.push(PathSeg::Index(len));
            let what = format!("{name} append {}", structure::show_path(&p));
            appends.record(
                what,
                structure::apply(
                    format,
                    &text,
                    &Change::Set {
                        path: &p,
                        value: &value,
                    },
                ),
            );
        }
        let scalars: Vec<_> = leaves
            .iter()
            .filter(|l| matches!(l.kind, LeafKind::Scalar { .. }) && l.loc.len() > 1)
            .map(|l| l.loc.clone())
            .collect();
        for p in spread(&scalars) {
            let what = format!("{name} unset {}", structure::show_path(&p));
            unsets.record(
                what,
                structure::apply(format, &text, &Change::Unset { path: &p }),
            );
        }
    }
    // Measured: every new key and every removal works on these files; two
    // appends are refused (a list whose only item is an empty `-`).
    let problems: Vec<String> = [
        sets.check("set of a new key", 100),
        appends.check("list append", 99),
        unsets.check("unset", 100),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
