//! docs/git.md's `console` sessions, run command by command (with the real
//! git) in a new repository, each checked against the output the page shows.

mod common;

use std::fs;
use std::path::Path;

use common::{identity_file, recipient, require_tool};

/// Output lines that differ from run to run: the blob ids of ciphertext.
fn volatile(line: &str) -> bool {
    line.starts_with("index ")
}

/// The (command, expected output lines) of every `console` block, in order.
fn sessions(doc: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        if line.starts_with("```") {
            inside = line == "```console";
            continue;
        }
        if !inside {
            continue;
        }
        match line.strip_prefix("$ ") {
            Some(cmd) => out.push((cmd.to_string(), Vec::new())),
            None => out
                .last_mut()
                .expect("a console block starts with a command")
                .1
                .push(line.to_string()),
        }
    }
    out
}

#[test]
fn docs_git_md_sessions_run_as_shown() {
    let Some(git) = require_tool("git") else {
        return;
    };
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/git.md"))
        .expect("docs/git.md");
    let steps = sessions(&doc);
    assert!(steps.len() > 20, "the page lost its sessions");

    let root = tempfile::tempdir().unwrap();
    let (repo, home, bin, tmp) = (
        root.path().join("repo"),
        root.path().join("home"),
        root.path().join("bin"),
        root.path().join("tmp"),
    );
    for d in [&repo, &home, &bin, &tmp] {
        fs::create_dir(d).unwrap();
    }
    // `shroud` on PATH, as a user has it, so setup writes plain `shroud`.
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_shroud"), bin.join("shroud")).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |cmd: &str| {
        common::isolated(Path::new("/bin/sh"), &home)
            .arg("-c")
            .arg(cmd)
            .current_dir(&repo)
            .env("PATH", &path)
            .env("TMPDIR", &tmp)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("SOPS_AGE_KEY_FILE", identity_file("alice"))
            .output()
            .unwrap()
    };
    let init = common::isolated(&git, &home)
        .args(["init", "-q", "-b", "main"])
        .arg(&repo)
        .status()
        .unwrap();
    assert!(init.success());
    for cmd in [
        "git config user.name 'Doc Reader'",
        "git config user.email doc@example.invalid",
    ] {
        assert!(run(cmd).status.success());
    }
    fs::write(
        repo.join(".sops.yaml"),
        format!(
            "creation_rules:\n  - path_regex: \\.enc\\.yaml$\n    age: {}\n",
            recipient("alice")
        ),
    )
    .unwrap();

    for (cmd, expected) in &steps {
        let o = run(cmd);
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let lines: Vec<&str> = said.lines().collect();
        for want in expected.iter().filter(|l| !volatile(l)) {
            assert!(
                lines.contains(&want.as_str()),
                "docs/git.md: `{cmd}` did not print\n  {want}\nIt printed:\n{said}"
            );
        }
    }
}
