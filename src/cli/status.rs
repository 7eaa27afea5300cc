//! `shroud status [PATHS...]`: per file, what needs doing under .sops.yaml.
//!
//! Files come from the given paths (folders walked, hidden folders such as
//! `.git` skipped) or, with no path, from `git ls-files`. A file is listed
//! when it is encrypted or when a creation rule with a `path_regex` matches
//! it; a rule without `path_regex` is a default for `encrypt`, not a claim
//! that every file must be encrypted, so it only applies to encrypted files.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Result;
use serde_json::json;

use super::args::StatusArgs;
use super::{Fail, batch, io, keyring};
use shroud::config::{self, CONFIG_NAME, Config};
use shroud::error::exit;
use shroud::formats::Format;
use shroud::keys::Identities;
use shroud::status::{self, AuthState, Finding, KeyState};

/// Everything reported about one file.
struct Report {
    path: PathBuf,
    encrypted: bool,
    /// Index of the matching creation rule (with a `path_regex`, or any
    /// rule for an encrypted file).
    rule: Option<usize>,
    max_key_age: Option<String>,
    key: KeyState,
    /// For an encrypted file whose `sops` block could be read.
    auth: Option<AuthState>,
    findings: Vec<Finding>,
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut entries: Vec<_> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for e in entries {
            let hidden = e
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden && e.is_dir() {
                continue;
            }
            walk(&e, out)?;
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn git_files() -> Result<Vec<PathBuf>> {
    let out = Command::new("git")
        .args(["ls-files", "-z"])
        .output()
        .map_err(|e| Fail::new(exit::GENERIC, format!("cannot run git ({e}); give paths")))?;
    if !out.status.success() {
        return Err(Fail::new(
            exit::GENERIC,
            format!(
                "git ls-files failed (not a git repository? give paths): {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        )
        .into());
    }
    Ok(out
        .stdout
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(String::from_utf8_lossy(p).into_owned()))
        .filter(|p| p.is_file())
        .collect())
}

/// What `examine` needs beyond the file: the configuration, the time, the
/// identities that may open files, and whether strict mode is on.
struct Context<'a> {
    config: Option<&'a Config>,
    now: jiff::Timestamp,
    identities: &'a Identities,
    strict: bool,
}

fn examine(file: &Path, cx: &Context) -> Option<Report> {
    let (config, now) = (cx.config, cx.now);
    if file.file_name().is_some_and(|n| n == CONFIG_NAME) {
        return None;
    }
    let target = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    // The first matching rule, as encrypt picks it.
    let matched = config.and_then(|c| {
        let r = c.rule_for(&target).ok()?;
        let i = c.creation_rules.iter().position(|x| std::ptr::eq(x, r))?;
        Some((i, r))
    });
    let claims = matched.filter(|(_, r)| r.path_regex.is_some());
    let mut report = Report {
        path: file.to_path_buf(),
        encrypted: false,
        rule: None,
        max_key_age: None,
        key: KeyState::default(),
        auth: None,
        findings: vec![],
    };
    let bytes = match io::read_input(Some(file)) {
        Ok(b) => b,
        Err(e) => {
            claims?;
            report.findings.push(Finding::Unreadable {
                error: format!("{e:#}"),
            });
            return Some(report);
        }
    };
    let format = Format::from_path(file);
    let doc = std::str::from_utf8(&bytes)
        .ok()
        .and_then(|t| format.parse(t).ok());
    let meta = doc
        .as_deref()
        .and_then(|d| d.metadata().map(shroud::metadata::Metadata::from_node));
    match meta {
        None => {
            let (i, _) = claims?;
            report.rule = Some(i);
            report.findings.push(Finding::NotEncrypted { rule: i });
        }
        Some(Err(e)) => {
            report.encrypted = true;
            report.findings.push(Finding::Unreadable {
                error: e.to_string(),
            });
        }
        Some(Ok(meta)) => {
            report.encrypted = true;
            report.key = status::key_state(&meta, now);
            if let Some((i, rule)) = matched {
                report.rule = Some(i);
                report.max_key_age = rule.max_key_age.as_ref().map(|m| m.text.clone());
                report.findings = status::check(&meta, rule, &report.key);
            }
            if let Some(doc) = doc.as_deref() {
                report.auth = Some(check_auth(format, doc, &meta, cx, &mut report.findings));
            }
        }
    }
    Some(report)
}

/// Whether the file carries `shroud_auth` (seen without a key) and, when
/// the identities at hand open it, whether its MAC and `shroud_auth`
/// match. Nothing decrypted is kept or printed.
fn check_auth(
    format: Format,
    doc: &dyn shroud::document::Document,
    meta: &shroud::metadata::Metadata,
    cx: &Context,
    findings: &mut Vec<Finding>,
) -> AuthState {
    let present = status::has_auth(doc);
    if !present {
        findings.push(Finding::MissingAuth { strict: cx.strict });
    }
    // Not being able to open a file is normal (it is someone else's), so
    // it is no finding: `verified` stays unknown.
    let verified = if cx.identities.is_empty() {
        None
    } else {
        shroud::keys::data_key(meta, cx.identities).ok().map(|key| {
            match status::verify(format, doc, meta, &key) {
                None => true,
                Some(f) => {
                    findings.push(f);
                    false
                }
            }
        })
    };
    AuthState { present, verified }
}

fn to_json(reports: &[Report], needs_action: bool) -> serde_json::Value {
    let files: Vec<serde_json::Value> = reports
        .iter()
        .map(|r| {
            json!({
                "path": r.path.display().to_string(),
                "encrypted": r.encrypted,
                "rule_index": r.rule,
                "key_version": r.key.version,
                "key_created": r.key.created,
                "key_age_seconds": r.key.age_seconds,
                "max_key_age": r.max_key_age,
                "shroud_auth": r.auth.map(|a| if a.present { "present" } else { "absent" }),
                "verified": r.auth.and_then(|a| a.verified),
                "findings": r.findings.iter().map(|f| json!({
                    "kind": f.kind(),
                    "message": f.message(),
                    "needs_action": f.needs_action(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "needs_action": needs_action, "files": files })
}

fn table(reports: &[Report]) -> String {
    let rows: Vec<[String; 4]> = reports
        .iter()
        .map(|r| {
            let version = match (r.encrypted, r.key.version) {
                (false, _) => "-".to_string(),
                (true, Some(v)) => format!("v{v}"),
                (true, None) => "?".to_string(),
            };
            let age = match (r.encrypted, r.key.age_seconds) {
                (false, _) => "-".to_string(),
                (true, Some(s)) => status::human_age(s),
                (true, None) => "?".to_string(),
            };
            let state = if r.findings.is_empty() {
                "ok".to_string()
            } else {
                r.findings
                    .iter()
                    .map(Finding::message)
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            [r.path.display().to_string(), version, age, state]
        })
        .collect();
    let header = [
        "FILE".to_string(),
        "KEY".into(),
        "AGE".into(),
        "STATUS".into(),
    ];
    let width = |c: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|r| r[c].chars().count())
            .max()
            .unwrap_or(0)
    };
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    for r in std::iter::once(&header).chain(&rows) {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {}\n",
            r[0], r[1], r[2], r[3]
        ));
    }
    out
}

pub fn run(args: StatusArgs, config_flag: Option<&Path>) -> Result<i32> {
    let cwd = std::env::current_dir()?;
    let config = config::find(config_flag, &cwd)
        .map(|p| Config::load(&p))
        .transpose()?;
    let files = if args.paths.is_empty() {
        git_files()?
    } else {
        let mut files = Vec::new();
        for p in &args.paths {
            walk(p, &mut files).map_err(|e| {
                Fail::new(exit::COULD_NOT_READ_INPUT, format!("{}: {e}", p.display()))
            })?;
        }
        files
    };
    let identities = keyring::identities();
    let cx = Context {
        config: config.as_ref(),
        now: jiff::Timestamp::now(),
        identities: &identities,
        strict: super::strict(),
    };
    let results = batch::run("status", &files, true, |file, _| Ok(examine(file, &cx)));
    let reports: Vec<Report> = results
        .into_iter()
        .filter_map(|r| r.ok().flatten())
        .collect();
    let acts = |r: &Report| r.findings.iter().any(Finding::needs_action);
    let needs_action = reports.iter().any(acts);
    if args.json {
        println!("{}", to_json(&reports, needs_action));
    } else {
        print!("{}", table(&reports));
        let n = reports.iter().filter(|r| acts(r)).count();
        eprintln!("shroud: status: {} file(s), {n} need action", reports.len());
    }
    Ok(if needs_action { exit::GENERIC } else { 0 })
}
