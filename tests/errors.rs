//! The most likely user mistakes, as a table: for each, the exit code (the
//! one sops uses for the same mistake, checked against the real sops where
//! sops has the same command), the parts of the message that tell the user
//! what happened, to which file or key path, and what to do next; and that
//! nothing was written and no secret was printed.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use common::{identity_file, isolated, recipient, require_tool};

struct Case {
    name: &'static str,
    /// Arguments after the program name; `{alice}` is alice's recipient,
    /// `{alice_secret}` the text of her identity file.
    args: &'static [&'static str],
    /// Whose identity file SOPS_AGE_KEY_FILE points at, if anyone's.
    key: Option<&'static str>,
    env: &'static [(&'static str, &'static str)],
    /// Run in this sub-folder of the work folder.
    cwd: &'static str,
    stdin: &'static str,
    code: i32,
    says: &'static [&'static str],
    /// Whether the real sops gives the same exit code for the same mistake.
    sops_agrees: bool,
}

const PLAIN: &str = "db:\n  user: admin\n  password: hunter2\n  host_unencrypted: db1\n";

const CASES: &[Case] = &[
    Case {
        name: "no identity anywhere",
        args: &["decrypt", "enc.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 128,
        says: &[
            "enc.yaml",
            "failed to get the data key",
            "{alice}",
            "SOPS_AGE_KEY: not set",
            "SOPS_AGE_KEY_FILE: not set",
            "SOPS_AGE_KEY_CMD: not set",
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE: not set",
            ".ssh/id_ed25519",
            ".ssh/id_rsa",
            "sops/age/keys.txt",
            "--add-age",
        ],
        sops_agrees: true,
    },
    Case {
        name: "the wrong key",
        args: &["decrypt", "enc.yaml"],
        key: Some("bob"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 128,
        says: &[
            "{alice}: no identity matched",
            "SOPS_AGE_KEY_FILE (",
            "1 identity",
        ],
        sops_agrees: true,
    },
    Case {
        name: "decrypting a file that is not encrypted",
        args: &["decrypt", "plain.yaml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["plain.yaml", "not encrypted", "shroud encrypt -i"],
        sops_agrees: true,
    },
    Case {
        name: "encrypting a file that is already encrypted",
        args: &["encrypt", "-i", "--age", "{alice}", "enc.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 203,
        says: &["enc.yaml", "already encrypted", "shroud edit"],
        sops_agrees: true,
    },
    Case {
        name: "an unknown --input-type",
        args: &[
            "encrypt",
            "--age",
            "{alice}",
            "--input-type",
            "xml",
            "plain.yaml",
        ],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["unknown --input-type \"xml\"", "yaml, json"],
        // sops encrypts the file as binary instead.
        sops_agrees: false,
    },
    Case {
        name: "the wrong --input-type for an encrypted file",
        args: &["decrypt", "--input-type", "json", "enc.yaml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["enc.yaml", "line 1, column 1"],
        sops_agrees: true,
    },
    Case {
        name: "malformed YAML",
        args: &["encrypt", "-i", "--age", "{alice}", "bad.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 2,
        says: &["bad.yaml", "line 3, column 5"],
        sops_agrees: true,
    },
    Case {
        name: "malformed JSON",
        args: &["encrypt", "-i", "--age", "{alice}", "bad.json"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 2,
        says: &["bad.json", "line 1, column 8", "trailing comma"],
        sops_agrees: true,
    },
    Case {
        name: "malformed TOML",
        args: &["encrypt", "-i", "--age", "{alice}", "bad.toml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 2,
        says: &["bad.toml", "line 1"],
        // sops has no TOML support.
        sops_agrees: false,
    },
    Case {
        name: "a file that is not UTF-8",
        args: &["encrypt", "-i", "--age", "{alice}", "latin1.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 2,
        says: &["latin1.yaml", "line 1", "not valid UTF-8"],
        sops_agrees: true,
    },
    Case {
        name: "an empty file",
        args: &["encrypt", "-i", "--age", "{alice}", "empty.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 92,
        says: &["empty.yaml", "empty"],
        sops_agrees: true,
    },
    Case {
        name: "a malformed --extract path",
        args: &["decrypt", "--extract", "[\"db\"", "enc.yaml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 91,
        says: &["invalid path expression", "[\\\"db\\\""],
        sops_agrees: true,
    },
    Case {
        name: "an --extract path that is not in the file",
        args: &["decrypt", "--extract", "[\"db\"][\"pasword\"]", "enc.yaml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["enc.yaml", "[\"db\"][\"pasword\"]", "not in the file"],
        sops_agrees: true,
    },
    Case {
        name: "a file that does not exist",
        args: &["decrypt", "secrets.yml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 100,
        says: &["secrets.yml", "does not exist", "shroud edit"],
        sops_agrees: true,
    },
    Case {
        name: "an editor that is not installed",
        args: &["edit", "enc.yaml"],
        key: Some("alice"),
        env: &[("EDITOR", "/nonexistent/code --wait")],
        cwd: "",
        stdin: "",
        code: 201,
        says: &[
            "/nonexistent/code",
            "set SOPS_EDITOR or EDITOR",
            "nothing was changed",
        ],
        sops_agrees: true,
    },
    Case {
        name: "no creation rule matching the file",
        args: &["encrypt", "-i", "app.yaml"],
        key: None,
        env: &[],
        cwd: "proj",
        stdin: "",
        code: 1,
        says: &[
            ".sops.yaml",
            "no creation rule matches \"app.yaml\"",
            "prod/",
            "--age",
        ],
        sops_agrees: true,
    },
    Case {
        name: "a value changed without the key (MAC mismatch)",
        args: &["decrypt", "mac.yaml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 51,
        says: &["mac.yaml", "MAC mismatch", "--ignore-mac"],
        sops_agrees: true,
    },
    Case {
        name: "encrypted values swapped between keys",
        args: &["decrypt", "swapped.yaml"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 25,
        says: &["swapped.yaml", "[\"db\"][\"user\"]", "altered"],
        sops_agrees: true,
    },
    Case {
        name: "a malformed --age recipient",
        args: &["encrypt", "-i", "--age", "age1notakey", "plain.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["invalid recipient \"age1notakey\"", "shroud keygen"],
        sops_agrees: true,
    },
    Case {
        name: "a private key passed as --age (never echoed)",
        args: &["encrypt", "--age", "{alice_secret}", "plain.yaml"],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["private key", "not a recipient"],
        sops_agrees: true,
    },
    Case {
        name: "--output into a folder that does not exist",
        args: &[
            "encrypt",
            "--age",
            "{alice}",
            "--output",
            "out/enc.yaml",
            "plain.yaml",
        ],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 3,
        says: &[
            "out/enc.yaml",
            "does the folder exist",
            "nothing was written",
        ],
        sops_agrees: true,
    },
    Case {
        name: "--in-place together with --output",
        args: &[
            "encrypt",
            "-i",
            "--output",
            "x.yaml",
            "--age",
            "{alice}",
            "plain.yaml",
        ],
        key: None,
        env: &[],
        cwd: "",
        stdin: "",
        code: 8,
        says: &["--in-place and --output"],
        sops_agrees: true,
    },
    Case {
        name: "standard input without a format",
        args: &["encrypt", "--age", "{alice}"],
        key: None,
        env: &[],
        cwd: "",
        stdin: PLAIN,
        code: 8,
        says: &["--input-type or --filename-override"],
        // sops reads stdin as YAML... only with --filename-override too.
        sops_agrees: false,
    },
    Case {
        name: "unset of a key that does not exist",
        args: &["unset", "enc.yaml", "[\"db\"][\"pasword\"]"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 1,
        says: &["enc.yaml", "[\"db\"][\"pasword\"]", "--idempotent"],
        sops_agrees: true,
    },
    Case {
        name: "set with a value that is not JSON",
        args: &["set", "enc.yaml", "[\"db\"][\"password\"]", "new-password"],
        key: Some("alice"),
        env: &[],
        cwd: "",
        stdin: "",
        code: 7,
        says: &["JSON", "'\"text\"'"],
        // sops exits 1 here.
        sops_agrees: false,
    },
];

/// A folder with the fixtures every case may use, and a private copy of
/// the test identities (0600, so no permission warnings).
struct World {
    _tmp: tempfile::TempDir,
    home: PathBuf,
    work: PathBuf,
}

fn world() -> World {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path().join("home");
    let work = tmp.path().join("work");
    fs::create_dir_all(home.join("keys")).unwrap();
    fs::create_dir_all(work.join("proj")).unwrap();
    for who in ["alice", "bob"] {
        let dst = home.join("keys").join(format!("{who}.txt"));
        fs::copy(identity_file(who), &dst).unwrap();
        fs::set_permissions(&dst, fs::Permissions::from_mode(0o600)).unwrap();
    }
    let w = |rel: &str, data: &[u8]| fs::write(work.join(rel), data).unwrap();
    w("plain.yaml", PLAIN.as_bytes());
    w("bad.yaml", b"db:\n  hosts: [a, b\nport: 1\n");
    w("bad.json", b"{\"a\": 1,}");
    w("bad.toml", b"password = hunter2\n");
    w("latin1.yaml", b"name: caf\xe9\n");
    w("empty.yaml", b"");
    w("proj/app.yaml", PLAIN.as_bytes());
    w(
        "proj/.sops.yaml",
        format!(
            "creation_rules:\n  - path_regex: prod/.*\\.yaml$\n    age: {}\n",
            recipient("alice")
        )
        .as_bytes(),
    );
    let o = common::shroud(&home)
        .current_dir(&work)
        .args(["encrypt", "--age", &recipient("alice"), "plain.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let enc = String::from_utf8(o.stdout).unwrap();
    w("enc.yaml", enc.as_bytes());
    // An unencrypted value changed: only the MAC can tell.
    let mac = enc.replace("host_unencrypted: db1", "host_unencrypted: evil");
    assert_ne!(mac, enc);
    w("mac.yaml", mac.as_bytes());
    // Two encrypted values swapped: each is bound to its own key path.
    let value_of = |key: &str| {
        let line = enc
            .lines()
            .find(|l| l.trim_start().starts_with(key))
            .unwrap();
        line.split_once(": ").unwrap().1.to_string()
    };
    let (user, pass) = (value_of("user:"), value_of("password:"));
    let swapped = enc
        .replace(&user, "@USER@")
        .replace(&pass, &user)
        .replace("@USER@", &pass);
    w("swapped.yaml", swapped.as_bytes());
    World {
        _tmp: tmp,
        home,
        work,
    }
}

/// Every file under `dir` with its bytes, to prove a failure wrote nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.clone(), fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn expand(s: &str) -> String {
    let secret = fs::read_to_string(identity_file("alice")).unwrap();
    let secret = secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    s.replace("{alice}", &recipient("alice"))
        .replace("{alice_secret}", &secret)
}

fn run(program: &Path, w: &World, case: &Case) -> Output {
    let mut cmd: Command = isolated(program, &w.home);
    cmd.current_dir(w.work.join(case.cwd))
        .args(case.args.iter().map(|a| expand(a)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(who) = case.key {
        cmd.env(
            "SOPS_AGE_KEY_FILE",
            w.home.join("keys").join(format!("{who}.txt")),
        );
    }
    for (k, v) in case.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(case.stdin.as_bytes());
    }
    child.wait_with_output().unwrap()
}

#[test]
fn every_likely_mistake_gets_an_actionable_message_and_writes_nothing() {
    let mut failures = Vec::new();
    for case in CASES {
        let w = world();
        let before = snapshot(&w.work);
        let o = run(Path::new(env!("CARGO_BIN_EXE_shroud")), &w, case);
        let stderr = String::from_utf8_lossy(&o.stderr).to_string();
        let mut problems = Vec::new();
        if o.status.code() != Some(case.code) {
            problems.push(format!(
                "exit {:?}, expected {}",
                o.status.code(),
                case.code
            ));
        }
        for want in case.says {
            let want = expand(want);
            if !stderr.contains(&want) {
                problems.push(format!("message lacks {want:?}"));
            }
        }
        if !stderr.starts_with("shroud: error: ") {
            problems.push("message does not start with `shroud: error: `".to_string());
        }
        for secret in ["hunter2", "AGE-SECRET-KEY"] {
            if stderr.contains(secret) || String::from_utf8_lossy(&o.stdout).contains(secret) {
                problems.push(format!("printed a secret ({secret})"));
            }
        }
        if !o.stdout.is_empty() {
            problems.push("wrote to stdout".to_string());
        }
        if snapshot(&w.work) != before {
            problems.push("changed files in the work folder".to_string());
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n--- stderr:\n{stderr}",
                case.name,
                problems.join("; ")
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn the_same_mistakes_give_the_same_exit_codes_as_real_sops() {
    let Some(sops) = require_tool("sops") else {
        return;
    };
    let mut failures = Vec::new();
    for case in CASES.iter().filter(|c| c.sops_agrees) {
        let w = world();
        let o = run(&sops, &w, case);
        if o.status.code() != Some(case.code) {
            failures.push(format!(
                "{}: sops exits {:?}, the table says {}\n{}",
                case.name,
                o.status.code(),
                case.code,
                String::from_utf8_lossy(&o.stderr)
            ));
        }
    }
    assert!(failures.is_empty(), "\n{}", failures.join("\n\n"));
}

#[test]
fn quiet_hides_warnings_but_not_errors() {
    let w = world();
    // A key file readable by others: a warning on success.
    let loose = w.home.join("keys/loose.txt");
    fs::copy(identity_file("alice"), &loose).unwrap();
    fs::set_permissions(&loose, fs::Permissions::from_mode(0o644)).unwrap();
    let shroud = Path::new(env!("CARGO_BIN_EXE_shroud"));
    let go = |extra: &[&str], file: &str| {
        isolated(shroud, &w.home)
            .current_dir(&w.work)
            .env("SOPS_AGE_KEY_FILE", &loose)
            .args(extra)
            .args(["decrypt", file])
            .output()
            .unwrap()
    };
    let loud = go(&[], "enc.yaml");
    assert!(loud.status.success());
    assert!(String::from_utf8_lossy(&loud.stderr).contains("shroud: warning: "));
    let quiet = go(&["--quiet"], "enc.yaml");
    assert!(quiet.status.success());
    assert_eq!(String::from_utf8_lossy(&quiet.stderr), "");
    assert_eq!(quiet.stdout, loud.stdout);
    let failed = go(&["-q"], "mac.yaml");
    assert_eq!(failed.status.code(), Some(51));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("MAC mismatch"));
}

#[test]
fn verbose_names_sources_rules_and_the_opening_recipient_but_no_secret() {
    let w = world();
    let shroud = Path::new(env!("CARGO_BIN_EXE_shroud"));
    let key = w.home.join("keys/alice.txt");
    let o = isolated(shroud, &w.home)
        .current_dir(&w.work)
        .env("SOPS_AGE_KEY_FILE", &key)
        .args(["-v", "decrypt", "enc.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains(&format!(
            "SOPS_AGE_KEY_FILE ({}): 1 identity",
            key.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!("recipient {}", recipient("alice"))),
        "{err}"
    );
    assert!(!err.contains("AGE-SECRET-KEY") && !err.contains("hunter2"));

    fs::create_dir_all(w.work.join("proj/prod")).unwrap();
    fs::write(w.work.join("proj/prod/db.yaml"), PLAIN).unwrap();
    let o = isolated(shroud, &w.home)
        .current_dir(w.work.join("proj"))
        .args(["encrypt", "--verbose", "prod/db.yaml"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("creation rule 1 matches")
            && err.contains("recipients from the creation rule"),
        "{err}"
    );
    // Not a terminal: no colour codes.
    assert!(!err.contains('\x1b'), "{err:?}");
}

#[test]
fn colour_only_when_forced_and_never_with_no_color() {
    // Test output is a pipe, so colour needs CLICOLOR_FORCE; NO_COLOR wins.
    let w = world();
    let shroud = Path::new(env!("CARGO_BIN_EXE_shroud"));
    let go = |vars: &[(&str, &str)]| {
        let mut cmd = isolated(shroud, &w.home);
        cmd.current_dir(&w.work)
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .args(["decrypt", "plain.yaml"]);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        String::from_utf8(cmd.output().unwrap().stderr).unwrap()
    };
    assert!(!go(&[]).contains('\x1b'));
    let forced = go(&[("CLICOLOR_FORCE", "1")]);
    assert!(forced.contains("\x1b[1;31merror\x1b[0m"), "{forced:?}");
    assert!(!go(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]).contains('\x1b'));
}
