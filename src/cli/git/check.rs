//! `shroud git check [PATHS...]`: the pre-commit check. A file fails when
//! a `.sops.yaml` creation rule (one with a `path_regex`) covers it and it
//! is not encrypted, when it is encrypted but a value its own rule (in its
//! metadata) says must be encrypted is in clear text, or when its MAC does
//! not verify. Without a key the MAC cannot be checked; the structure still
//! is, and the output says so. Messages name files and key paths only.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::super::{Fail, io, warn};
use super::{CheckArgs, git, toplevel};
use shroud::config::{self, CONFIG_NAME, Config};
use shroud::crypto::EncValue;
use shroud::document::{Document, LeafKind, Value};
use shroud::engine;
use shroud::error::{Error, exit};
use shroud::formats::Format;
use shroud::git::show_loc;
use shroud::keys::Identities;
use shroud::metadata::Metadata;
use shroud::rules::CommentStack;

/// One file to check: its name for messages, its path relative to the
/// config folder (for creation rules), and its content.
struct Candidate {
    name: String,
    abs: PathBuf,
    bytes: zeroize::Zeroizing<Vec<u8>>,
}

/// Values that the file's own rule says must be encrypted but are not.
fn clear_values(doc: &dyn Document, meta: &Metadata) -> Vec<String> {
    let mut stack = CommentStack::default();
    let mut bad = Vec::new();
    for leaf in doc.leaves() {
        if matches!(leaf.kind, LeafKind::Structure(_)) {
            continue;
        }
        stack.enter(leaf.depth);
        match &leaf.kind {
            LeafKind::Comment(text) => stack.push_comment(leaf.depth, text),
            LeafKind::Scalar { value, .. } => {
                let must = meta.rule.should_encrypt(&leaf.path(), &stack, false);
                stack.finish_item(leaf.depth);
                let ok = match value {
                    Value::Str(s) => s.is_empty() || EncValue::parse(s).is_some(),
                    _ => false,
                };
                if must && !ok {
                    bad.push(show_loc(&leaf.loc));
                }
            }
            LeafKind::Structure(_) => {}
        }
    }
    bad
}

/// Problems with one file (each line names the file), and notes.
fn check_one(
    c: &Candidate,
    cfg: Option<&Config>,
    identities: &mut Option<Identities>,
    notes: &mut Vec<String>,
) -> Vec<String> {
    let name = &c.name;
    // The first matching creation rule decides; a rule without path_regex
    // matches every file, so it alone does not demand encryption.
    let required = cfg.and_then(|cfg| {
        let rule = cfg.rule_for(&c.abs).ok()?;
        rule.path_regex.as_ref().map(|re| re.as_str().to_string())
    });
    let format = Format::from_path(Path::new(name));
    let text = std::str::from_utf8(&c.bytes).ok();
    let doc = text.map(|t| format.parse(t));
    let doc = match doc {
        Some(Ok(d)) if d.metadata().is_some() => d,
        Some(Err(e)) if required.is_some() && format != Format::Binary => {
            return vec![format!(
                "{name}: must be encrypted (.sops.yaml path_regex '{}') but cannot be read as {}: {e}",
                required.unwrap_or_default(),
                format.name()
            )];
        }
        _ => {
            return match required {
                Some(re) => vec![format!(
                    "{name}: not encrypted, but .sops.yaml (path_regex '{re}') says it must be; \
                     encrypt it with `shroud encrypt -i {name}`"
                )],
                None => vec![],
            };
        }
    };
    let meta = match engine::metadata(doc.as_ref()) {
        Ok(m) => m,
        Err(e) => return vec![format!("{name}: {e}")],
    };
    let mut problems = Vec::new();
    if format != Format::Binary {
        if meta.rule.field().contains("comment") {
            notes.push(format!(
                "{name}: its rule ({}) depends on encrypted comments, so clear values are found only through decryption",
                meta.rule.field()
            ));
        } else {
            for path in clear_values(doc.as_ref(), &meta) {
                problems.push(format!(
                    "{name}: {path}: value is not encrypted, but the file's rule ({} {:?}) says it must be",
                    meta.rule.field(),
                    meta.rule.pattern()
                ));
            }
        }
    }
    let ids = identities.get_or_insert_with(|| {
        let ids = Identities::load();
        for w in ids.warnings() {
            warn(w);
        }
        ids
    });
    let key = match shroud::keys::data_key(&meta, ids) {
        Ok(k) => k,
        Err(_) => {
            notes.push(format!(
                "{name}: no key to open it here: checked its structure only, not its MAC"
            ));
            return problems;
        }
    };
    let options = super::super::decrypt_options(false);
    let result = if format == Format::Binary {
        shroud::formats::binary::decrypt(doc.as_ref(), &meta, &key, options).map(|_| ())
    } else {
        engine::decrypt_leaves(doc.as_ref(), &meta, &key, options).map(|_| ())
    };
    match result {
        Ok(()) => {}
        // The SOPS MAC, or shroud_auth (its message says which).
        Err(Error::MacMismatch(why)) => problems.push(format!(
            "{name}: the file was changed without its key, or damaged: {why}"
        )),
        // Already named, from the walk above.
        Err(Error::DecryptValue { .. }) if !problems.is_empty() => {}
        Err(e) => problems.push(format!("{name}: {e}")),
    }
    problems
}

fn staged(top: &Path) -> Result<Vec<Candidate>> {
    let list = git(
        Some(top),
        &[
            "diff",
            "--cached",
            "--name-only",
            "-z",
            "--diff-filter=ACMR",
        ],
    )?;
    let mut out = Vec::new();
    for p in list.split(|&b| b == 0).filter(|p| !p.is_empty()) {
        let rel = String::from_utf8_lossy(p).into_owned();
        let bytes = git(Some(top), &["show", &format!(":{rel}")])?;
        out.push(Candidate {
            abs: top.join(&rel),
            name: rel,
            bytes,
        });
    }
    Ok(out)
}

pub fn run(args: CheckArgs, explicit: Option<&Path>) -> Result<i32> {
    let cwd = std::env::current_dir()?;
    let (candidates, start) = if args.paths.is_empty() {
        let top = toplevel(None)?;
        (staged(&top)?, top)
    } else {
        let mut out = Vec::new();
        for p in &args.paths {
            let bytes = io::read_input(Some(p))?;
            let abs = std::path::absolute(p).unwrap_or_else(|_| cwd.join(p));
            out.push(Candidate {
                name: p.display().to_string(),
                abs,
                bytes,
            });
        }
        (out, cwd.clone())
    };
    let cfg = match config::find(explicit, &cwd).or_else(|| config::find(None, &start)) {
        Some(p) => Some(Config::load(&std::path::absolute(&p)?)?),
        None => {
            warn("no .sops.yaml found: only files that are already encrypted are checked");
            None
        }
    };
    let mut identities = None;
    let mut notes = Vec::new();
    let mut problems = Vec::new();
    let mut checked = 0;
    for c in &candidates {
        if Path::new(&c.name).file_name() == Some(CONFIG_NAME.as_ref()) {
            continue;
        }
        checked += 1;
        problems.extend(check_one(c, cfg.as_ref(), &mut identities, &mut notes));
    }
    for n in &notes {
        eprintln!("shroud git check: note: {n}");
    }
    if problems.is_empty() {
        return Ok(0);
    }
    for p in &problems {
        eprintln!("shroud git check: {p}");
    }
    Err(Fail::new(
        exit::GENERIC,
        format!(
            "{} problem(s) in {checked} file(s) checked; fix them before committing",
            problems.len()
        ),
    )
    .into())
}
