//! Help, completions and the man page: generated from the clap definitions,
//! checked here so that a new subcommand cannot ship without a summary,
//! examples, completions or a man page.

mod common;

use std::fs;
use std::process::Output;

fn shroud(args: &[&str]) -> Output {
    let home = tempfile::tempdir().unwrap();
    common::shroud(home.path()).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The subcommands `shroud --help` lists (all but `help`), with summaries.
fn subcommands() -> Vec<(String, String)> {
    let help = stdout(&shroud(&["--help"]));
    let list = help
        .split("Commands:\n")
        .nth(1)
        .expect("a Commands section")
        .split("\n\n")
        .next()
        .unwrap();
    let subs: Vec<(String, String)> = list
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| {
            let (name, summary) = l.trim().split_once(' ')?;
            Some((name.to_string(), summary.trim().to_string()))
        })
        .filter(|(n, _)| n != "help")
        .collect();
    assert!(subs.len() >= 10, "{help}");
    subs
}

#[test]
fn top_level_help_names_every_format_and_where_keys_come_from() {
    let help = stdout(&shroud(&["--help"]));
    for word in ["YAML", "JSON", "TOML", "dotenv", "INI", "binary"] {
        assert!(
            help.contains(word),
            "--help does not mention {word}:\n{help}"
        );
    }
    for var in [
        "SOPS_AGE_KEY_FILE",
        "SOPS_AGE_KEY_CMD",
        "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
    ] {
        assert!(help.contains(var), "{help}");
    }
}

#[test]
fn every_subcommand_has_a_summary_examples_and_grouped_flags() {
    for (name, summary) in subcommands() {
        assert!(!summary.is_empty(), "{name} has no summary");
        let help = stdout(&shroud(&[&name, "--help"]));
        let examples = help
            .split("Examples:\n")
            .nth(1)
            .unwrap_or_else(|| panic!("`shroud {name} --help` has no Examples:\n{help}"));
        let shown = examples
            .lines()
            .take_while(|l| l.starts_with("  "))
            .filter(|l| l.contains(&format!("shroud {name}")))
            .count();
        assert!(
            shown >= 2 || (shown >= 1 && ["filestatus"].contains(&name.as_str())),
            "`shroud {name} --help` shows {shown} examples of itself:\n{help}"
        );
        assert!(
            help.contains("Global options:"),
            "`shroud {name} --help` does not group -q/-v/--config:\n{help}"
        );
    }
}

#[test]
fn completions_cover_every_subcommand_in_each_shell() {
    let subs = subcommands();
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout(&shroud(&["completions", shell]));
        for (name, _) in &subs {
            assert!(
                script.contains(name.as_str()),
                "{shell} completion lacks {name}"
            );
        }
        // fish spells long flags `-l encrypted-regex`.
        assert!(script.contains("encrypted-regex"), "{shell}: flags missing");
    }
}

#[test]
fn the_bash_completion_script_loads_in_bash() {
    let Some(bash) = common::require_tool("bash") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("shroud.bash");
    fs::write(&file, stdout(&shroud(&["completions", "bash"]))).unwrap();
    let o = std::process::Command::new(bash)
        .arg("-c")
        .arg("set -e; source \"$1\"; complete -p shroud")
        .arg("bash")
        .arg(&file)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).contains("shroud"));
    assert_eq!(String::from_utf8_lossy(&o.stderr), "");
}

#[test]
fn man_prints_a_roff_page_naming_every_subcommand() {
    let page = stdout(&shroud(&["man"]));
    assert!(
        page.starts_with(".ie") || page.contains(".TH shroud 1"),
        "{page}"
    );
    assert!(page.contains(".TH shroud 1"), "no title header");
    for (name, _) in subcommands() {
        // roff escapes the hyphen.
        let roff = name.replace('-', "\\-");
        assert!(
            page.contains(&name) || page.contains(&roff),
            "man page lacks {name}"
        );
    }
}

#[test]
fn man_dir_writes_one_page_per_subcommand() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("man1");
    let o = shroud(&["man", "--dir", out.to_str().unwrap()]);
    stdout(&o);
    let top = fs::read_to_string(out.join("shroud.1")).unwrap();
    assert!(top.contains(".TH shroud 1"));
    for (name, _) in subcommands() {
        let page = fs::read_to_string(out.join(format!("shroud-{name}.1")))
            .unwrap_or_else(|e| panic!("shroud-{name}.1: {e}"));
        assert!(page.contains(&format!(".TH shroud-{name} 1")), "{page}");
        assert!(
            page.contains("Examples:"),
            "shroud-{name}.1 has no examples"
        );
    }
}

#[test]
fn version_and_help_need_no_keys_or_files() {
    let o = shroud(&["--version"]);
    assert!(stdout(&o).starts_with("shroud "));
}
