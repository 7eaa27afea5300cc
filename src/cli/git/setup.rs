//! `shroud git setup [--hook]`: `.gitattributes` lines for the files
//! `.sops.yaml` encrypts, the diff/merge driver entries in the repository's
//! local git config, and optionally the pre-commit hook. Running it twice
//! changes nothing the second time.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{Context, Result};

use super::super::{Fail, io};
use super::{SetupArgs, git, git_line, shroud_command, toplevel};
use shroud::config::{self, Config};
use shroud::error::exit;
use shroud::git::glob::{literal_pattern, regex_to_glob};

const BEGIN: &str = "# >>> shroud git setup: files .sops.yaml encrypts (run `shroud git setup` again after changing it)";
const END: &str = "# <<< shroud git setup";
const ATTRS: &str = "diff=shroud merge=shroud";
/// Marks a hook as shroud's own, so setup may rewrite it.
const HOOK_MARK: &str = "# Installed by `shroud git setup --hook`";

/// Tracked files (relative to `dir`) that `pred` accepts.
fn tracked(dir: &Path, pred: impl Fn(&str) -> bool) -> Result<Vec<String>> {
    let out = git(Some(dir), &["ls-files", "-z"])?;
    Ok(out
        .split(|&b| b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .filter(|p| pred(p))
        .collect())
}

/// Whether a work-tree file carries sops metadata.
fn has_sops_metadata(path: &Path) -> bool {
    let Ok(text) = fs::read_to_string(path) else {
        return false;
    };
    shroud::formats::Format::from_path(path)
        .parse(&text)
        .is_ok_and(|d| d.metadata().is_some())
}

/// The `.gitattributes` patterns for the config, and what was done, for the
/// user.
fn patterns(cfg: &Config, dir: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let mut pats: Vec<String> = Vec::new();
    let mut said = Vec::new();
    let add = |p: String, pats: &mut Vec<String>| {
        if !pats.contains(&p) {
            pats.push(p);
        }
    };
    let literal = |files: Vec<String>, pats: &mut Vec<String>, said: &mut Vec<String>| {
        for f in files {
            match literal_pattern(&f) {
                Some(p) => add(p, pats),
                None => said.push(format!(
                    "  {f:?} has characters a .gitattributes pattern cannot hold; add it by hand"
                )),
            }
        }
    };
    for rule in &cfg.creation_rules {
        match &rule.path_regex {
            Some(re) => match regex_to_glob(re.as_str()) {
                Some(g) => {
                    said.push(format!("path_regex '{}' -> {g}", re.as_str()));
                    add(g, &mut pats);
                }
                None => {
                    let files = tracked(dir, |p| re.is_match(p))?;
                    said.push(format!(
                        "path_regex '{}' has no exact .gitattributes pattern: listed the {} tracked file(s) it matches (run setup again after adding files)",
                        re.as_str(),
                        files.len()
                    ));
                    literal(files, &mut pats, &mut said);
                }
            },
            None => {
                // A rule for every path: only the files that really are
                // encrypted go through shroud.
                let files = tracked(dir, |p| has_sops_metadata(&dir.join(p)))?;
                said.push(format!(
                    "a creation rule without path_regex matches every file: listed the {} tracked file(s) that are encrypted (run setup again after adding files)",
                    files.len()
                ));
                literal(files, &mut pats, &mut said);
            }
        }
    }
    Ok((pats, said))
}

/// `text` with the shroud block replaced by (or extended with) `lines`.
fn with_block(text: &str, lines: &[String]) -> String {
    let mut block = format!("{BEGIN}\n");
    for l in lines {
        block.push_str(&format!("{l} {ATTRS}\n"));
    }
    block.push_str(END);
    block.push('\n');
    if let (Some(b), Some(e)) = (text.find(BEGIN), text.find(END))
        && b < e
    {
        let mut end = e + END.len();
        if text[end..].starts_with('\n') {
            end += 1;
        }
        return format!("{}{block}{}", &text[..b], &text[end..]);
    }
    let mut out = text.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(&block);
    out
}

/// Write a small non-secret file atomically, 0644 when new.
fn write_public(path: &Path, data: &str) -> Result<()> {
    if !path.exists() {
        fs::File::create(path).with_context(|| format!("{}: could not create", path.display()))?;
        fs::set_permissions(path, fs::Permissions::from_mode(0o644))?;
    }
    io::write_atomic(path, data.as_bytes())
}

fn set_config(key: &str, value: &str) -> Result<bool> {
    let now = super::git(None, &["config", "--local", "--get", key])
        .ok()
        .map(|v| String::from_utf8_lossy(&v).trim_end().to_string());
    if now.as_deref() == Some(value) {
        return Ok(false);
    }
    git(None, &["config", "--local", key, value])?;
    Ok(true)
}

fn install_hook(shroud: &str) -> Result<()> {
    let hooks = git_line(None, &["rev-parse", "--git-path", "hooks"])?;
    let hooks = Path::new(&hooks);
    fs::create_dir_all(hooks).with_context(|| format!("{}: could not create", hooks.display()))?;
    let hook = hooks.join("pre-commit");
    let script = format!(
        "#!/bin/sh\n{HOOK_MARK}: refuse to commit a file\n\
         # that .sops.yaml says must be encrypted while it is not (see docs/git.md).\n\
         exec {shroud} git check\n"
    );
    match fs::read_to_string(&hook) {
        Ok(now) if now == script => {
            println!("{}: unchanged", hook.display());
            return Ok(());
        }
        Ok(now) if !now.contains(HOOK_MARK) => {
            return Err(Fail::new(
                exit::GENERIC,
                format!(
                    "{} already exists and was not written by shroud; it was left alone. \
                     Add this line to it: {shroud} git check || exit 1",
                    hook.display()
                ),
            )
            .into());
        }
        _ => {}
    }
    write_public(&hook, &script)?;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755))?;
    println!("{}: installed (runs `shroud git check`)", hook.display());
    Ok(())
}

pub fn run(args: SetupArgs, explicit: Option<&Path>) -> Result<i32> {
    let top = toplevel(None)?;
    let cwd = std::env::current_dir()?;
    let cfg_path = config::find(explicit, &cwd)
        .or_else(|| config::find(None, &top))
        .ok_or_else(|| {
            Fail::new(
                exit::ERROR_READING_CONFIG,
                "no .sops.yaml found (shroud git setup reads its creation_rules)",
            )
        })?;
    let cfg = Config::load(&cfg_path)?;
    let dir = cfg_path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let (pats, said) = patterns(&cfg, &dir)?;
    for s in &said {
        println!("{s}");
    }

    // .gitattributes beside .sops.yaml: both match paths relative to it.
    let attrs = dir.join(".gitattributes");
    let shown = attrs
        .strip_prefix(&cwd)
        .unwrap_or(&attrs)
        .display()
        .to_string();
    let old = fs::read_to_string(&attrs).unwrap_or_default();
    let new = with_block(&old, &pats);
    if new == old {
        println!("{shown}: unchanged");
    } else {
        write_public(&attrs, &new)?;
        println!(
            "{shown}: wrote {} pattern(s) marked diff=shroud merge=shroud",
            pats.len()
        );
    }

    let shroud = shroud_command();
    let entries = [
        ("diff.shroud.textconv", format!("{shroud} git textconv")),
        (
            "merge.shroud.name",
            "shroud: merge encrypted files key by key".to_string(),
        ),
        (
            "merge.shroud.driver",
            format!("{shroud} git merge-driver %O %A %B %P"),
        ),
    ];
    let mut changed = 0;
    for (k, v) in &entries {
        if set_config(k, v)? {
            changed += 1;
        }
    }
    if changed == 0 {
        println!("git config (local): unchanged");
    } else {
        println!(
            "git config (local): set {}",
            entries.map(|(k, _)| k).join(", ")
        );
    }
    if args.hook {
        install_hook(&shroud)?;
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_block_is_replaced_not_repeated() {
        let lines = vec!["*.enc.yaml".to_string()];
        let once = with_block("*.png binary", &lines);
        assert_eq!(
            once,
            format!("*.png binary\n{BEGIN}\n*.enc.yaml {ATTRS}\n{END}\n")
        );
        assert_eq!(with_block(&once, &lines), once);
        let other = with_block(&once, &["/a.yaml".to_string()]);
        assert!(other.contains("/a.yaml") && !other.contains("*.enc.yaml"));
    }
}
