//! Runs the commands shown in README.md and docs/*.md, so the docs cannot rot.
//!
//! # The convention (also in CONTRIBUTING.md)
//!
//! - A fenced block tagged `console` is a terminal session. A line starting
//!   with `$ ` is a command (run by `sh -c`, stderr merged into stdout; a
//!   line ending in `\` continues on the next). The lines after it, up to
//!   the next `$ `, are its expected output (lines starting with `> `
//!   right after a command continue it, as in a here-document):
//!   - `[..]` inside a line matches any text on that line;
//!   - a line `...` matches any number of lines (zero or more);
//!   - a last line `[exit N]` expects exit code N (otherwise 0 is expected);
//!   - no lines at all: the command must print nothing.
//! - Each markdown file is one session: one fresh folder for all its blocks,
//!   in order, so a tutorial can build on earlier steps. The environment:
//!   `HOME` and `XDG_CONFIG_HOME` (`$HOME/.config`) inside that folder, the
//!   commands run in `$HOME/../work`, `shroud` (this build) first on `PATH`
//!   and `work/bin` before it (for stand-ins such as a fake `kubectl`),
//!   every `SOPS_*` variable and `EDITOR` cleared, `NO_COLOR=1`,
//!   `COLUMNS=100`. Test identities: `$HOME/alice.txt` and `$HOME/bob.txt`
//!   (0600) with their public keys in `$ALICE` and `$BOB`.
//! - Directives, as HTML comments (invisible on GitHub):
//!   - `<!-- doctest-file: PATH -->` right before a fenced block: the block's
//!     text is written to `work/PATH` (e.g. the YAML file a tutorial shows).
//!   - `<!-- doctest-env: NAME=VALUE -->`: set a variable for every later
//!     command of the file (`$HOME`, `$PWD`, `$ALICE`, `$BOB` and earlier
//!     doctest-env variables in VALUE are expanded).
//!   - `<!-- doctest-setup` ... `-->`: hidden `$ ` commands that must
//!     succeed; their output is not shown or checked.
//!   - `<!-- doctest-skip: REASON -->` right before a fenced block: that
//!     block is not run. Use it only for what cannot run in a test (installing,
//!     contacting a server); the reason is required.
//! - A block tagged `sh`, `bash`, `shell` or `zsh` must be marked
//!   `doctest-skip` (or become a `console` block): commands are never shown
//!   untested by accident. Blocks in other languages (yaml, json, ...) are
//!   not commands and are ignored unless a `doctest-file` names them.
//! - A command that needs `sops`, `age` or `git` fails the test under
//!   `CI=true` when the tool is missing, and skips the file otherwise.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The markdown files under test.
fn doc_files() -> Vec<PathBuf> {
    let mut files = vec![Path::new(ROOT).join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("docs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    files.extend(docs);
    files
}

#[derive(Debug)]
enum Step {
    File { path: String, text: String },
    Env { name: String, value: String },
    Setup { line: usize, command: String },
    Run(Example),
    Skip { line: usize, reason: String },
}

#[derive(Debug)]
struct Example {
    line: usize,
    command: String,
    expected: Vec<String>,
    exit: i32,
}

/// Parse a markdown file into the steps to run, or a list of convention errors.
fn parse(text: &str) -> Result<Vec<Step>, Vec<String>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut steps = Vec::new();
    let mut errors = Vec::new();
    let mut pending_file: Option<String> = None;
    let mut pending_skip: Option<(usize, String)> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim_end();
        let n = i + 1;
        if let Some(rest) = directive(line, "doctest-file:") {
            pending_file = Some(rest);
        } else if let Some(rest) = directive(line, "doctest-skip:") {
            if rest.is_empty() {
                errors.push(format!("line {n}: doctest-skip needs a reason"));
            }
            pending_skip = Some((n, rest));
        } else if let Some(rest) = directive(line, "doctest-env:") {
            match rest.split_once('=') {
                Some((k, v)) => steps.push(Step::Env {
                    name: k.trim().to_string(),
                    value: v.trim().to_string(),
                }),
                None => errors.push(format!("line {n}: doctest-env needs NAME=VALUE")),
            }
        } else if line.trim() == "<!-- doctest-setup" {
            i += 1;
            while i < lines.len() && lines[i].trim() != "-->" {
                if let Some(cmd) = lines[i].strip_prefix("$ ") {
                    steps.push(Step::Setup {
                        line: i + 1,
                        command: cmd.to_string(),
                    });
                }
                i += 1;
            }
        } else if let Some(lang) = line.trim_start().strip_prefix("```") {
            let lang = lang.trim().to_string();
            let indent = line.len() - line.trim_start().len();
            let start = i + 1;
            let mut body = Vec::new();
            i += 1;
            while i < lines.len() && !lines[i].trim_start().starts_with("```") {
                body.push(lines[i].get(indent..).unwrap_or(lines[i].trim_start()));
                i += 1;
            }
            if let Some(path) = pending_file.take() {
                let mut text = body.join("\n");
                text.push('\n');
                steps.push(Step::File { path, text });
            } else if let Some((line, reason)) = pending_skip.take() {
                steps.push(Step::Skip { line, reason });
            } else if lang == "console" {
                steps.extend(examples(&body, start + 1).into_iter().map(Step::Run));
            } else if ["sh", "bash", "shell", "zsh"].contains(&lang.as_str()) {
                errors.push(format!(
                    "line {start}: a ```{lang} block is never run; make it ```console \
                     (with expected output) or mark it <!-- doctest-skip: REASON -->"
                ));
            }
        }
        i += 1;
    }
    if errors.is_empty() {
        Ok(steps)
    } else {
        Err(errors)
    }
}

fn directive(line: &str, name: &str) -> Option<String> {
    let inner = line
        .trim()
        .strip_prefix("<!--")?
        .strip_suffix("-->")?
        .trim();
    Some(inner.strip_prefix(name)?.trim().to_string())
}

/// The commands of one console block; `first` is the line number of its first line.
fn examples(body: &[&str], first: usize) -> Vec<Example> {
    let mut out: Vec<Example> = Vec::new();
    let mut k = 0;
    while k < body.len() {
        if let Some(cmd) = body[k].strip_prefix("$ ") {
            let line = first + k;
            let mut command = cmd.to_string();
            // `\` at the end continues the line; `> ` lines continue it as a
            // shell's second prompt does (here-documents).
            loop {
                // The shell itself joins `\` + newline, so both are kept.
                let prompt2 = body
                    .get(k + 1)
                    .is_some_and(|l| l.starts_with("> ") || *l == ">");
                if !(prompt2 || command.ends_with('\\')) || k + 1 >= body.len() {
                    break;
                }
                k += 1;
                command.push('\n');
                let next = body[k];
                command.push_str(
                    next.strip_prefix("> ")
                        .or(next.strip_prefix('>'))
                        .unwrap_or(next),
                );
            }
            out.push(Example {
                line,
                command,
                expected: Vec::new(),
                exit: 0,
            });
        } else if let Some(ex) = out.last_mut() {
            let l = body[k];
            match l
                .strip_prefix("[exit ")
                .and_then(|r| r.strip_suffix(']'))
                .and_then(|c| c.parse().ok())
            {
                Some(code) => ex.exit = code,
                None => ex.expected.push(l.to_string()),
            }
        }
        k += 1;
    }
    out
}

/// Does `actual` match the pattern line (`[..]` = any text)?
fn line_matches(pattern: &str, actual: &str) -> bool {
    let parts: Vec<&str> = pattern.split("[..]").collect();
    if parts.len() == 1 {
        return pattern == actual;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !actual.starts_with(first) || actual.len() < first.len() + last.len() {
        return false;
    }
    if !actual[first.len()..].ends_with(last) {
        return false;
    }
    let mut rest = &actual[first.len()..actual.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

/// Do the output lines match the expected lines (`...` = any lines)?
fn lines_match(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((p, rest)) if p == "..." => {
            (0..=actual.len()).any(|skip| lines_match(rest, &actual[skip..]))
        }
        Some((p, rest)) => {
            !actual.is_empty() && line_matches(p, actual[0]) && lines_match(rest, &actual[1..])
        }
    }
}

struct Session {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
    env: Vec<(String, String)>,
}

impl Session {
    fn new() -> Session {
        let tmp = tempfile::tempdir().unwrap();
        let home = tmp.path().join("home");
        let work = tmp.path().join("work");
        fs::create_dir_all(work.join("bin")).unwrap();
        fs::create_dir_all(&home).unwrap();
        for who in ["alice", "bob"] {
            let dst = home.join(format!("{who}.txt"));
            fs::copy(common::identity_file(who), &dst).unwrap();
            fs::set_permissions(&dst, fs::Permissions::from_mode(0o600)).unwrap();
        }
        let bin = Path::new(env!("CARGO_BIN_EXE_shroud")).parent().unwrap();
        let path = format!(
            "{}:{}:{}",
            work.join("bin").display(),
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let env = vec![
            ("PATH".to_string(), path),
            ("ALICE".to_string(), common::recipient("alice")),
            ("BOB".to_string(), common::recipient("bob")),
            ("NO_COLOR".to_string(), "1".to_string()),
            ("COLUMNS".to_string(), "100".to_string()),
            ("TZ".to_string(), "UTC".to_string()),
            ("GIT_AUTHOR_NAME".to_string(), "Doc Test".to_string()),
            (
                "GIT_AUTHOR_EMAIL".to_string(),
                "doc@example.com".to_string(),
            ),
            ("GIT_COMMITTER_NAME".to_string(), "Doc Test".to_string()),
            (
                "GIT_COMMITTER_EMAIL".to_string(),
                "doc@example.com".to_string(),
            ),
            (
                "XDG_CONFIG_HOME".to_string(),
                home.join(".config").display().to_string(),
            ),
        ];
        Session {
            _tmp: tmp,
            home,
            work,
            env,
        }
    }

    fn run(&self, command: &str) -> (String, Option<i32>) {
        let mut cmd = common::isolated(Path::new("sh"), &self.home);
        cmd.env_remove("VISUAL")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("GIT_DIR")
            .current_dir(&self.work)
            .arg("-c")
            .arg(format!("exec 2>&1\n{command}"))
            .stdin(std::process::Stdio::null());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let o = cmd.output().unwrap();
        (
            String::from_utf8_lossy(&o.stdout).into_owned(),
            o.status.code(),
        )
    }

    /// `$HOME`, `$PWD` and the session's variables (`$ALICE`, ...) in a
    /// doctest-env value.
    fn expand(&self, value: &str) -> String {
        let mut v = value
            .replace("$HOME", &self.home.display().to_string())
            .replace("$PWD", &self.work.display().to_string());
        // Longest names first, so `$ALICE_X` is not read as `$ALICE` + `_X`.
        let mut vars: Vec<&(String, String)> = self.env.iter().collect();
        vars.sort_by_key(|(k, _)| std::cmp::Reverse(k.len()));
        for (k, val) in vars {
            v = v.replace(&format!("${k}"), val);
        }
        v
    }
}

/// Tools a doc may call besides shroud, and whether each is installed.
fn missing_tool(steps: &[Step]) -> Option<&'static str> {
    let uses = |tool: &str| {
        steps.iter().any(|s| match s {
            Step::Run(e) => e.command.split_whitespace().any(|w| w == tool),
            Step::Setup { command, .. } => command.split_whitespace().any(|w| w == tool),
            _ => false,
        })
    };
    ["sops", "age", "git"]
        .into_iter()
        .find(|&t| uses(t) && common::require_tool(t).is_none())
}

fn check_file(path: &Path) -> Vec<String> {
    let name = path
        .strip_prefix(ROOT)
        .unwrap_or(path)
        .display()
        .to_string();
    let text = fs::read_to_string(path).unwrap();
    let steps = match parse(&text) {
        Ok(s) => s,
        Err(errors) => return errors.into_iter().map(|e| format!("{name}: {e}")).collect(),
    };
    if let Some(tool) = missing_tool(&steps) {
        eprintln!("SKIPPED: {name} uses {tool}, which is not on PATH");
        return Vec::new();
    }
    let mut s = Session::new();
    let mut failures = Vec::new();
    for step in &steps {
        match step {
            Step::File { path, text } => {
                let p = s.work.join(path);
                fs::create_dir_all(p.parent().unwrap()).unwrap();
                fs::write(p, text).unwrap();
            }
            Step::Env { name: k, value } => {
                let v = s.expand(value);
                s.env.push((k.clone(), v));
            }
            Step::Setup { line, command } => {
                let (out, code) = s.run(command);
                if code != Some(0) {
                    failures.push(format!(
                        "{name}:{line}: hidden setup `{command}` failed ({code:?}):\n{out}"
                    ));
                    return failures;
                }
            }
            Step::Skip { line, reason } => {
                eprintln!("{name}:{line}: not run ({reason})");
            }
            Step::Run(ex) => {
                let (out, code) = s.run(&ex.command);
                let actual: Vec<&str> = out.lines().collect();
                if code != Some(ex.exit) || !lines_match(&ex.expected, &actual) {
                    failures.push(format!(
                        "{name}:{}: $ {}\n--- expected (exit {}):\n{}\n--- got (exit {:?}):\n{}",
                        ex.line,
                        ex.command,
                        ex.exit,
                        ex.expected.join("\n"),
                        code,
                        out.trim_end()
                    ));
                }
            }
        }
    }
    failures
}

#[test]
fn every_command_in_the_docs_runs_as_shown() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for f in doc_files() {
        let text = fs::read_to_string(&f).unwrap();
        ran += text.matches("\n$ ").count();
        failures.extend(check_file(&f));
    }
    assert!(ran > 20, "only {ran} commands found in the docs");
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

/// Skipped blocks must stay rare: each one is a command nobody checks.
#[test]
fn few_blocks_are_skipped_and_each_says_why() {
    let mut skips = Vec::new();
    for f in doc_files() {
        let steps = parse(&fs::read_to_string(&f).unwrap()).unwrap_or_default();
        for s in steps {
            if let Step::Skip { line, reason } = s {
                assert!(!reason.is_empty());
                skips.push(format!("{}:{line}: {reason}", f.display()));
            }
        }
    }
    assert!(
        skips.len() <= 8,
        "too many untested blocks:\n{}",
        skips.join("\n")
    );
}

/// docs/cli.md shows `shroud --help` and every subcommand's help; this
/// checks it covers every subcommand (the runner above checks the text).
/// `SHROUD_BLESS_CLI_MD=1 cargo test --test docs` rewrites it.
#[test]
fn cli_reference_covers_every_subcommand() {
    let s = Session::new();
    let (top, _) = s.run("shroud --help");
    let subs: Vec<String> = top
        .split("Commands:\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|n| n != "help")
        .collect();
    let path = Path::new(ROOT).join("docs/cli.md");
    if std::env::var("SHROUD_BLESS_CLI_MD").is_ok() {
        let mut md = String::from(
            "# Command-line reference\n\n\
             Every flag of every command, as `--help` prints it. This page is \
             generated (`SHROUD_BLESS_CLI_MD=1 cargo test --test docs`) and \
             checked by `tests/docs.rs`, so it matches the binary. `shroud man` \
             prints the same as a man page; `shroud completions bash|zsh|fish` \
             prints shell completions.\n\n",
        );
        let block = |cmd: &str| {
            let (out, _) = s.run(cmd);
            format!("```console\n$ {cmd}\n{}\n```\n\n", out.trim_end())
        };
        md.push_str("## shroud\n\n");
        md.push_str(&block("shroud --help"));
        for sub in &subs {
            md.push_str(&format!("## shroud {sub}\n\n"));
            md.push_str(&block(&format!("shroud {sub} --help")));
        }
        fs::write(&path, md.trim_end().to_string() + "\n").unwrap();
    }
    let md = fs::read_to_string(&path).unwrap();
    for sub in &subs {
        assert!(
            md.contains(&format!("$ shroud {sub} --help")),
            "docs/cli.md lacks `shroud {sub} --help`; run SHROUD_BLESS_CLI_MD=1 cargo test --test docs"
        );
    }
}

#[test]
fn the_matcher_understands_wildcards() {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert!(lines_match(&v(&["a[..]c"]), &["abbbc"]));
    assert!(!lines_match(&v(&["a[..]c"]), &["abbb"]));
    assert!(lines_match(&v(&["x", "...", "z"]), &["x", "1", "2", "z"]));
    assert!(lines_match(&v(&["x", "...", "z"]), &["x", "z"]));
    assert!(!lines_match(&v(&["x"]), &["x", "extra"]));
    assert!(lines_match(&v(&[]), &[]));
    assert!(lines_match(&v(&["[..]: [..]"]), &["key: value"]));
    assert!(!lines_match(&v(&["ab[..]ba"]), &["aba"]));
}

#[test]
fn the_parser_rejects_untested_shell_blocks_and_reasonless_skips() {
    assert!(parse("```sh\nshroud encrypt x\n```\n").is_err());
    assert!(parse("<!-- doctest-skip: -->\n```sh\nx\n```\n").is_err());
    let steps = parse("<!-- doctest-skip: installs -->\n```sh\ncargo install\n```\n").unwrap();
    assert!(matches!(steps[0], Step::Skip { .. }));
    let steps = parse("```console\n$ echo a \\\n  b\na b\n$ false\n[exit 1]\n```\n").unwrap();
    match (&steps[0], &steps[1]) {
        (Step::Run(a), Step::Run(b)) => {
            assert_eq!(a.command, "echo a \\\n  b");
            assert_eq!(a.expected, vec!["a b"]);
            assert_eq!(b.exit, 1);
        }
        other => panic!("{other:?}"),
    }
}
