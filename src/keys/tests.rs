//! Tests of the keys module. Interop tests call the real `age`, `ssh-keygen`
//! and `sops` binaries; when one is missing they fail under `CI=true` and
//! are skipped (with a printed reason) otherwise.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::*;
use crate::error::Error;

/// Find `name` on PATH, or decide what a missing tool means for this run.
fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    require(found, name)
}

fn require(found: Option<PathBuf>, name: &str) -> Option<PathBuf> {
    if found.is_none() {
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{name} is required when CI=true but was not found");
        }
        eprintln!("skipping: {name} not found");
    }
    found
}

fn sops() -> Option<PathBuf> {
    let p = PathBuf::from("/opt/sops-venv/bin/sops");
    require(p.is_file().then_some(p), "sops (/opt/sops-venv/bin/sops)")
}

fn write_mode(path: &Path, text: &str, mode: u32) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// An env with nothing but a (temporary) home directory.
fn env_with(vars: &[(&str, String)], home: &Path) -> EnvSource {
    EnvSource::from_map(
        vars.iter().map(|(k, v)| (k.to_string(), v.clone())),
        Some(home.to_path_buf()),
    )
}

fn key() -> [u8; 32] {
    let mut k = [0u8; 32];
    getrandom::getrandom(&mut k).unwrap();
    k
}

fn ssh_keygen(dir: &Path) -> Option<(PathBuf, String)> {
    let bin = tool("ssh-keygen")?;
    let path = dir.join("id_test");
    let out = Command::new(bin)
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "me@host", "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "ssh-keygen failed: {out:?}");
    let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
    Some((path, public.trim().to_string()))
}

fn plugin_recipient(name: &str) -> String {
    let hrp = bech32::Hrp::parse(&format!("age1{name}")).unwrap();
    bech32::encode::<bech32::Bech32>(hrp, &[7u8; 33]).unwrap()
}

// ---- recipients ----

#[test]
fn parses_x25519_and_lists() {
    let (_, r1) = generate_identity();
    let (_, r2) = generate_identity();
    let r = Recipient::parse(&format!("  {r1}\n")).unwrap();
    assert_eq!(r.as_str(), r1);
    assert_eq!(r.recipient_type(), RecipientType::X25519);

    let list = Recipient::parse_list(&format!(" {r1}, {r2},, ")).unwrap();
    assert_eq!(
        list.iter().map(Recipient::as_str).collect::<Vec<_>>(),
        [r1.as_str(), r2.as_str()]
    );
    assert!(Recipient::parse_list(" , ").unwrap().is_empty());
}

#[test]
fn bad_recipients_are_named_and_secrets_are_not_echoed() {
    let err = Recipient::parse_list("age1notvalid, x").unwrap_err();
    match &err {
        Error::BadRecipient { recipient, .. } => assert_eq!(recipient, "age1notvalid"),
        e => panic!("unexpected {e:?}"),
    }
    let err = Recipient::parse("gpg:ABCDEF").unwrap_err().to_string();
    assert!(
        err.contains("gpg:ABCDEF") && err.contains("unknown recipient type"),
        "{err}"
    );

    let (secret, _) = generate_identity();
    let err = Recipient::parse(&secret).unwrap_err().to_string();
    assert!(!err.contains(&secret[16..]), "secret leaked: {err}");
    assert!(err.contains("private key"), "{err}");
}

#[test]
fn ssh_recipient_keeps_its_comment() {
    let line = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILAnBudtQqr2GycWuzS40dqHkoHW+AyYbWC6tv1u51nQ user@host";
    let r = Recipient::parse(&format!("{line}  ")).unwrap();
    assert_eq!(r.as_str(), line);
    assert_eq!(r.recipient_type(), RecipientType::SshEd25519);
    let err = Recipient::parse("ssh-ed25519 AAAAnotbase64!").unwrap_err();
    assert!(err.to_string().contains("not a valid"), "{err}");
    let err = Recipient::parse("ssh-dss AAAAB3NzaC1kc3MAAACBAP").unwrap_err();
    assert!(err.to_string().contains("ssh-dss"), "{err}");
}

#[test]
fn plugin_recipient_needs_its_binary_to_wrap() {
    let text = plugin_recipient("shroudtest");
    let r = Recipient::parse(&text).unwrap();
    assert_eq!(
        r.recipient_type(),
        RecipientType::Plugin("shroudtest".into())
    );
    let err = wrap(&key(), &r).unwrap_err();
    assert!(matches!(err, Error::KeyWrap { .. }), "{err:?}");
    assert!(err.to_string().contains("age-plugin-shroudtest"), "{err}");
}

// ---- wrap / unwrap ----

#[test]
fn wrap_uses_sops_armor_layout() {
    let (_, r) = generate_identity();
    let armored = wrap(&key(), &Recipient::parse(&r).unwrap()).unwrap();
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----\n"));
    assert!(armored.ends_with("\n-----END AGE ENCRYPTED FILE-----\n"));
    assert!(!armored.contains('\r'));
    let lines: Vec<&str> = armored.lines().collect();
    let body = &lines[1..lines.len() - 1];
    assert!(body.len() >= 2);
    for l in &body[..body.len() - 1] {
        assert_eq!(l.len(), 64, "{armored}");
    }
    assert!(!body.last().unwrap().is_empty() && body.last().unwrap().len() <= 64);
}

#[test]
fn x25519_round_trip_for_keys_and_shares() {
    let (secret, r) = generate_identity();
    let ids = Identities::from_text("test", &secret);
    assert_eq!(ids.len(), 1);
    let r = Recipient::parse(&r).unwrap();
    for len in [32usize, 33] {
        let data = &key().repeat(2)[..len];
        let armored = wrap(data, &r).unwrap();
        assert_eq!(&unwrap(&armored, &ids).unwrap()[..], data);
    }
    // Leading blank space and CRLF ends (hand-edited files) still unwrap.
    let k = key();
    let armored = wrap(&k, &r).unwrap();
    let mangled = format!("\n  {}", armored.replace('\n', "\r\n"));
    assert_eq!(&unwrap(&mangled, &ids).unwrap()[..], &k);
}

#[test]
fn ssh_ed25519_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let Some((private, public)) = ssh_keygen(dir.path()) else {
        return;
    };
    let k = key();
    let armored = wrap(&k, &Recipient::parse(&public).unwrap()).unwrap();
    let env = env_with(
        &[(
            "SOPS_AGE_SSH_PRIVATE_KEY_FILE",
            private.display().to_string(),
        )],
        dir.path(),
    );
    let ids = Identities::load_from(&env);
    assert_eq!(ids.len(), 1, "{ids:?}");
    assert_eq!(&unwrap(&armored, &ids).unwrap()[..], &k);

    // The same key found as ~/.ssh/id_ed25519 and through the command source.
    let home = tempfile::tempdir().unwrap();
    std::fs::create_dir(home.path().join(".ssh")).unwrap();
    std::fs::copy(&private, home.path().join(".ssh/id_ed25519")).unwrap();
    let ids = Identities::load_from(&env_with(&[], home.path()));
    assert_eq!(&unwrap(&armored, &ids).unwrap()[..], &k);

    let cmd = format!("cat '{}'", private.display());
    let ids = Identities::load_from(&env_with(
        &[("SOPS_AGE_SSH_PRIVATE_KEY_CMD", cmd)],
        home.path().join("nowhere").as_path(),
    ));
    assert_eq!(&unwrap(&armored, &ids).unwrap()[..], &k);
}

// ---- interop with the age CLI ----

#[test]
fn age_cli_decrypts_what_shroud_wraps() {
    let Some(age_bin) = tool("age") else { return };
    let dir = tempfile::tempdir().unwrap();
    let (secret, r) = generate_identity();
    let keyfile = dir.path().join("key.txt");
    write_mode(&keyfile, &keygen_text(&secret, &r), 0o600);
    let k = key();
    let enc = dir.path().join("enc.age");
    std::fs::write(&enc, wrap(&k, &Recipient::parse(&r).unwrap()).unwrap()).unwrap();
    let out = Command::new(age_bin)
        .arg("-d")
        .arg("-i")
        .arg(&keyfile)
        .arg(&enc)
        .output()
        .unwrap();
    assert!(out.status.success(), "age -d failed: {out:?}");
    assert_eq!(out.stdout, k);
}

#[test]
fn shroud_unwraps_what_age_cli_armors() {
    let Some(age_bin) = tool("age") else { return };
    let Some(keygen) = tool("age-keygen") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let keyfile = dir.path().join("key.txt");
    let out = Command::new(keygen)
        .arg("-o")
        .arg(&keyfile)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = std::fs::read_to_string(&keyfile).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# public key: "))
        .unwrap()
        .to_string();
    let plain = dir.path().join("plain");
    let k = key();
    std::fs::write(&plain, k).unwrap();
    let out = Command::new(age_bin)
        .args(["-a", "-r", &recipient])
        .arg(&plain)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let armored = String::from_utf8(out.stdout).unwrap();
    let env = env_with(
        &[("SOPS_AGE_KEY_FILE", keyfile.display().to_string())],
        dir.path(),
    );
    let ids = Identities::load_from(&env);
    assert_eq!(&unwrap(&armored, &ids).unwrap()[..], &k);
}

// ---- identity discovery ----

/// Wrap a fresh key to `recipient` and check `ids` unwraps it.
fn assert_unwraps(ids: &Identities, recipient: &str) {
    let k = key();
    let armored = wrap(&k, &Recipient::parse(recipient).unwrap()).unwrap();
    let got = unwrap(&armored, ids).unwrap_or_else(|e| panic!("{e}\n{ids:?}"));
    assert_eq!(&got[..], &k);
}

#[test]
fn sops_age_key_allows_several_keys_per_line() {
    let home = tempfile::tempdir().unwrap();
    let (s1, r1) = generate_identity();
    let (s2, r2) = generate_identity();
    let (s3, r3) = generate_identity();
    let text = format!("# comment\n\n{} {}\n  {}\n", *s1, *s2, *s3);
    let ids = Identities::load_from(&env_with(&[("SOPS_AGE_KEY", text)], home.path()));
    assert_eq!(ids.len(), 3);
    assert!(ids.errors().is_empty(), "{:?}", ids.errors());
    for r in [r1, r2, r3] {
        assert_unwraps(&ids, &r);
    }
    assert!(ids.sources().contains(&SourceReport {
        name: "SOPS_AGE_KEY".into(),
        status: SourceStatus::Loaded(3)
    }));
}

#[test]
fn key_file_and_key_cmd_sources() {
    let home = tempfile::tempdir().unwrap();
    let (s1, r1) = generate_identity();
    let (s2, r2) = generate_identity();
    let f1 = home.path().join("one.txt");
    let f2 = home.path().join("two words.txt");
    write_mode(&f1, &keygen_text(&s1, &r1), 0o600);
    write_mode(&f2, &keygen_text(&s2, &r2), 0o600);
    let env = env_with(
        &[
            ("SOPS_AGE_KEY_FILE", f1.display().to_string()),
            // Quoting follows shell-word rules; no shell runs it.
            ("SOPS_AGE_KEY_CMD", format!("cat \"{}\"", f2.display())),
        ],
        home.path(),
    );
    let ids = Identities::load_from(&env);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.warnings().is_empty(), "{:?}", ids.warnings());
    assert_unwraps(&ids, &r1);
    assert_unwraps(&ids, &r2);
}

#[test]
fn default_file_follows_xdg_config_home_only_when_absolute() {
    let home = tempfile::tempdir().unwrap();
    let xdg = tempfile::tempdir().unwrap();
    let env = env_with(
        &[("XDG_CONFIG_HOME", xdg.path().display().to_string())],
        home.path(),
    );
    assert_eq!(
        default_key_file(&env).unwrap(),
        xdg.path().join("sops/age/keys.txt")
    );
    let env = env_with(&[("XDG_CONFIG_HOME", "relative/dir".into())], home.path());
    assert_eq!(
        default_key_file(&env).unwrap(),
        home.path().join(".config/sops/age/keys.txt")
    );
    let env = env_with(&[], home.path());
    assert_eq!(
        default_key_file(&env).unwrap(),
        home.path().join(".config/sops/age/keys.txt")
    );
    assert!(default_key_file(&EnvSource::from_map(Vec::<(String, String)>::new(), None)).is_err());

    // The default file is read in addition to the other sources.
    let (s1, r1) = generate_identity();
    let (s2, r2) = generate_identity();
    let dir = xdg.path().join("sops/age");
    std::fs::create_dir_all(&dir).unwrap();
    write_mode(&dir.join("keys.txt"), &keygen_text(&s1, &r1), 0o600);
    let env = env_with(
        &[
            ("XDG_CONFIG_HOME", xdg.path().display().to_string()),
            ("SOPS_AGE_KEY", s2.to_string()),
        ],
        home.path(),
    );
    let ids = Identities::load_from(&env);
    assert_eq!(ids.len(), 2);
    assert_unwraps(&ids, &r1);
    assert_unwraps(&ids, &r2);
}

#[test]
fn broken_sources_are_collected_not_fatal() {
    let home = tempfile::tempdir().unwrap();
    let (s1, r1) = generate_identity();
    let (s2, _) = generate_identity();
    // A truncated key on line 2 must be reported by line, not by content.
    let broken = &s2[..s2.len() - 3];
    let env = env_with(
        &[
            ("SOPS_AGE_KEY", format!("{}\n{broken}\n", *s1)),
            (
                "SOPS_AGE_KEY_FILE",
                home.path().join("missing.txt").display().to_string(),
            ),
            ("SOPS_AGE_KEY_CMD", "shroud-no-such-command-xyz".into()),
        ],
        home.path(),
    );
    let ids = Identities::load_from(&env);
    assert_eq!(ids.len(), 1);
    assert_unwraps(&ids, &r1);
    let errors = ids.errors().join("\n");
    assert!(errors.contains("SOPS_AGE_KEY: line 2"), "{errors}");
    assert!(errors.contains("missing.txt"), "{errors}");
    assert!(errors.contains("shroud-no-such-command-xyz"), "{errors}");
    assert!(!errors.contains(broken), "secret leaked: {errors}");
    assert!(!format!("{ids:?}").contains(&s1[20..]));
}

#[test]
fn open_key_files_are_warned_about() {
    let home = tempfile::tempdir().unwrap();
    let (s, r) = generate_identity();
    let f = home.path().join("keys.txt");
    write_mode(&f, &keygen_text(&s, &r), 0o644);
    let env = env_with(
        &[("SOPS_AGE_KEY_FILE", f.display().to_string())],
        home.path(),
    );
    let ids = Identities::load_from(&env);
    assert_eq!(ids.len(), 1);
    assert_eq!(ids.warnings().len(), 1, "{:?}", ids.warnings());
    assert!(ids.warnings()[0].contains("0644"));
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(Identities::load_from(&env).warnings().is_empty());
}

// ---- default identity ----

#[test]
fn ensure_default_identity_creates_private_file_once() {
    let home = tempfile::tempdir().unwrap();
    let env = env_with(&[], home.path());
    let (r, created) = ensure_default_identity(&env).unwrap();
    assert!(created);
    assert!(r.starts_with("age1"));
    let path = default_key_file(&env).unwrap();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with("# created: 20"), "{text}");
    assert_eq!(lines[1], format!("# public key: {r}"));
    assert!(lines[2].starts_with("AGE-SECRET-KEY-1"));
    assert!(text.ends_with('\n'));

    assert_eq!(ensure_default_identity(&env).unwrap(), (r.clone(), false));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    let ids = Identities::load_from(&env);
    assert!(ids.warnings().is_empty());
    assert_unwraps(&ids, &r);
}

#[test]
fn ensure_default_identity_keeps_comments_and_refuses_broken_files() {
    let home = tempfile::tempdir().unwrap();
    let env = env_with(&[], home.path());
    let path = default_key_file(&env).unwrap();
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    write_mode(&path, "# my keys", 0o600);
    let (r, created) = ensure_default_identity(&env).unwrap();
    assert!(created);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("# my keys\n# created: "), "{text}");
    assert!(text.contains(&r));

    write_mode(&path, "not a key\n", 0o600);
    let err = ensure_default_identity(&env).unwrap_err();
    assert!(matches!(err, Error::BadIdentity { .. }), "{err:?}");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "not a key\n");
}

// ---- NoKey report ----

#[test]
fn no_key_lists_recipients_and_sources_without_secrets() {
    let home = tempfile::tempdir().unwrap();
    let (s_mine, _) = generate_identity();
    let (_, r_a) = generate_identity();
    let (_, r_b) = generate_identity();
    let entries: Vec<(String, String)> = [&r_a, &r_b]
        .iter()
        .map(|r| {
            (
                r.to_string(),
                wrap(&key(), &Recipient::parse(r).unwrap()).unwrap(),
            )
        })
        .collect();
    let keyfile = home.path().join("k.txt");
    write_mode(
        &keyfile,
        &format!("{}\nAGE-SECRET-KEY-1BROKEN\n", *s_mine),
        0o600,
    );
    let env = env_with(
        &[("SOPS_AGE_KEY_FILE", keyfile.display().to_string())],
        home.path(),
    );
    let ids = Identities::load_from(&env);
    let err = unwrap_any(&entries, &ids).unwrap_err();
    assert_eq!(err.exit_code(), 128);
    let msg = err.to_string();
    for needle in [
        r_a.as_str(),
        r_b.as_str(),
        "no identity matched",
        "SOPS_AGE_KEY_FILE (",
        "k.txt): 1 identity",
        "id_ed25519): not found",
        ".config/sops/age/keys.txt): not found",
        "line 2",
    ] {
        assert!(msg.contains(needle), "missing {needle:?} in:\n{msg}");
    }
    assert!(!msg.contains("AGE-SECRET-KEY"), "secret in:\n{msg}");

    // And the happy path picks the entry that works, whatever its position.
    let (s_c, r_c) = generate_identity();
    let k = key();
    let mut entries = entries;
    entries.push((
        r_c.clone(),
        wrap(&k, &Recipient::parse(&r_c).unwrap()).unwrap(),
    ));
    let ids = Identities::from_text("test", &s_c);
    assert_eq!(&unwrap_any(&entries, &ids).unwrap()[..], &k);
}

// ---- interop with real sops ----

#[test]
fn sops_and_shroud_read_each_others_enc() {
    let Some(sops) = sops() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (s1, r1) = generate_identity();
    let (s2, r2) = generate_identity();
    let k1 = dir.path().join("k1.txt");
    let k2 = dir.path().join("k2.txt");
    write_mode(&k1, &keygen_text(&s1, &r1), 0o600);
    write_mode(&k2, &keygen_text(&s2, &r2), 0o600);
    let plain = dir.path().join("plain.json");
    std::fs::write(&plain, "{\"secret\": \"hello\"}\n").unwrap();
    let run = |keyfile: &Path, args: &[&str], file: &Path| {
        Command::new(&sops)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", dir.path())
            .env("XDG_CONFIG_HOME", dir.path())
            .env("SOPS_DISABLE_VERSION_CHECK", "1")
            .env("SOPS_AGE_KEY_FILE", keyfile)
            .args(args)
            .arg(file)
            .output()
            .unwrap()
    };
    let out = run(&k1, &["-e", "--age", &r1], &plain);
    assert!(out.status.success(), "sops -e: {out:?}");
    let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();

    // shroud unwraps the data key sops wrapped.
    let enc = doc["sops"]["age"][0]["enc"].as_str().unwrap().to_string();
    let ids = Identities::from_text("k1", &s1);
    let data_key = unwrap(&enc, &ids).unwrap();
    assert_eq!(data_key.len(), 32);

    // sops unwraps the same key after shroud re-wrapped it to another
    // recipient, and decrypts the file with only that recipient's identity.
    let ours = wrap(&data_key, &Recipient::parse(&r2).unwrap()).unwrap();
    doc["sops"]["age"] = serde_json::json!([{ "recipient": r2, "enc": ours }]);
    let enc_file = dir.path().join("enc.json");
    std::fs::write(&enc_file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();
    let out = run(&k2, &["-d"], &enc_file);
    assert!(out.status.success(), "sops -d: {out:?}");
    let back: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(back["secret"], "hello");
}

/// A prompt that answers every passphrase request with a fixed value and
/// counts how often it was asked.
struct CountingPrompt {
    answer: &'static str,
    asked: std::sync::atomic::AtomicUsize,
}

impl Prompt for CountingPrompt {
    fn message(&self, _: &str) {}
    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }
    fn public_string(&self, _: &str) -> Option<String> {
        None
    }
    fn passphrase(&self, _: &str) -> Option<age::secrecy::SecretString> {
        self.asked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Some(self.answer.to_string().into())
    }
}

#[test]
fn encrypted_ssh_key_prompts_once_and_only_for_its_own_stanzas() {
    let Some(bin) = tool("ssh-keygen") else {
        return;
    };
    let home = tempfile::tempdir().unwrap();
    let ssh = home.path().join(".ssh");
    std::fs::create_dir(&ssh).unwrap();
    let out = Command::new(bin)
        .args(["-q", "-t", "ed25519", "-N", "pw", "-f"])
        .arg(ssh.join("id_ed25519"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let public = std::fs::read_to_string(ssh.join("id_ed25519.pub")).unwrap();
    let (secret, r_x) = generate_identity();
    let env = env_with(&[("SOPS_AGE_KEY", secret.to_string())], home.path());

    let k = key();
    let to_ssh = wrap(&k, &Recipient::parse(&public).unwrap()).unwrap();
    let to_x = wrap(&k, &Recipient::parse(&r_x).unwrap()).unwrap();

    // Non-interactive: the encrypted key is skipped, the X25519 key works.
    let ids = Identities::load_from(&env);
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(&unwrap(&to_x, &ids).unwrap()[..], &k);
    assert!(matches!(unwrap(&to_ssh, &ids), Err(Error::NoKey(_))));

    let prompt = std::sync::Arc::new(CountingPrompt {
        answer: "pw",
        asked: Default::default(),
    });
    let ids = Identities::load_with(&env, Interaction::new(prompt.clone()));
    assert_eq!(&unwrap(&to_x, &ids).unwrap()[..], &k);
    assert_eq!(prompt.asked.load(std::sync::atomic::Ordering::SeqCst), 0);
    assert_eq!(&unwrap(&to_ssh, &ids).unwrap()[..], &k);
    assert_eq!(&unwrap(&to_ssh, &ids).unwrap()[..], &k);
    assert_eq!(prompt.asked.load(std::sync::atomic::Ordering::SeqCst), 1);
}

// ---- passphrase-protected identity files ----

/// `text` encrypted to `passphrase` as `age -p` does (binary, or armored as
/// with `age -p -a`); a low scrypt work factor keeps the test fast.
fn protect(text: &str, passphrase: &str, armor: bool) -> Vec<u8> {
    use age::armor::{ArmoredWriter, Format};
    use std::io::Write;
    let mut r = age::scrypt::Recipient::new(passphrase.to_string().into());
    r.set_work_factor(10);
    let enc = age::Encryptor::with_recipients(std::iter::once(&r as &dyn age::Recipient)).unwrap();
    let mut out = Vec::new();
    let format = if armor {
        Format::AsciiArmor
    } else {
        Format::Binary
    };
    let armored = ArmoredWriter::wrap_output(&mut out, format).unwrap();
    let mut w = enc.wrap_output(armored).unwrap();
    w.write_all(text.as_bytes()).unwrap();
    w.finish().unwrap().finish().unwrap();
    out
}

fn counting(answer: &'static str) -> std::sync::Arc<CountingPrompt> {
    std::sync::Arc::new(CountingPrompt {
        answer,
        asked: Default::default(),
    })
}

fn asked(p: &CountingPrompt) -> usize {
    p.asked.load(std::sync::atomic::Ordering::SeqCst)
}

fn protected_status(ids: &Identities, name_part: &str) -> String {
    let s = ids
        .sources()
        .iter()
        .find(|s| s.name.contains(name_part))
        .unwrap_or_else(|| panic!("no source {name_part}: {ids:?}"));
    assert!(matches!(s.status, SourceStatus::Protected(_)), "{s:?}");
    s.to_string()
}

#[test]
fn passphrase_protected_key_file_opens_with_the_right_passphrase() {
    for armor in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let (secret, recipient) = generate_identity();
        let hrp = bech32::Hrp::parse("AGE-PLUGIN-SHROUDTEST-").unwrap();
        let plugin = bech32::encode_upper::<bech32::Bech32>(hrp, &[9u8; 32]).unwrap();
        let text = format!("# created by a test\n{}\n{plugin}\n", *secret);
        let path = dir.path().join("keys.txt.age");
        std::fs::write(&path, protect(&text, "correct horse", armor)).unwrap();
        let env = env_with(
            &[("SOPS_AGE_KEY_FILE", path.display().to_string())],
            dir.path(),
        );
        let prompt = counting("correct horse");
        let ids = Identities::load_with(&env, Interaction::new(prompt.clone()));
        // Loading asks nothing.
        assert_eq!(asked(&prompt), 0);
        assert!(!ids.is_empty());
        assert_eq!(
            protected_status(&ids, "SOPS_AGE_KEY_FILE"),
            format!(
                "SOPS_AGE_KEY_FILE ({}): passphrase-protected, not opened (not needed so far)",
                path.display()
            )
        );

        let k = key();
        let enc = wrap(&k, &Recipient::parse(&recipient).unwrap()).unwrap();
        assert_eq!(&unwrap(&enc, &ids).unwrap()[..], &k, "armor={armor}");
        assert_eq!(&unwrap(&enc, &ids).unwrap()[..], &k);
        assert_eq!(asked(&prompt), 1, "asked once per file");
        assert_eq!(ids.protected_files()[0].state(), Unlock::Opened(2));
        assert!(
            protected_status(&ids, "SOPS_AGE_KEY_FILE")
                .ends_with("passphrase-protected, opened: 2 identities")
        );
    }
}

#[test]
fn passphrase_protected_text_in_sops_age_key_and_key_cmd() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, recipient) = generate_identity();
    let armored = String::from_utf8(protect(&secret, "pw", true)).unwrap();
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let binary = dir.path().join("bin.age");
    std::fs::write(&binary, protect(&secret, "pw", false)).unwrap();
    let k = key();
    let enc = wrap(&k, &Recipient::parse(&recipient).unwrap()).unwrap();
    for (var, value) in [
        ("SOPS_AGE_KEY", armored.clone()),
        ("SOPS_AGE_KEY_CMD", format!("cat {}", binary.display())),
    ] {
        let env = env_with(&[(var, value)], dir.path());
        let prompt = counting("pw");
        let ids = Identities::load_with(&env, Interaction::new(prompt.clone()));
        assert_eq!(&unwrap(&enc, &ids).unwrap()[..], &k, "{var}");
        assert_eq!(asked(&prompt), 1);
        assert!(protected_status(&ids, var).ends_with("opened: 1 identity"));
    }
}

#[test]
fn wrong_passphrase_names_the_file_and_is_asked_once() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, recipient) = generate_identity();
    let path = dir.path().join("keys.txt.age");
    std::fs::write(&path, protect(&secret, "right one", true)).unwrap();
    let env = env_with(
        &[("SOPS_AGE_KEY_FILE", path.display().to_string())],
        dir.path(),
    );
    let prompt = counting("wrong-guess");
    let ids = Identities::load_with(&env, Interaction::new(prompt.clone()));
    let enc = wrap(&key(), &Recipient::parse(&recipient).unwrap()).unwrap();
    let entries = [(recipient.clone(), enc.clone())];
    let err = unwrap_any(&entries, &ids).unwrap_err();
    assert_eq!(err.exit_code(), 128);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "{}: passphrase-protected identity file not opened: wrong passphrase",
            path.display()
        )),
        "{msg}"
    );
    assert!(!msg.contains("wrong-guess") && !msg.contains("right one"));
    assert!(!msg.contains(secret.trim()), "the key leaked: {msg}");
    // Asked once; a second file in the same run does not ask again.
    assert!(unwrap(&enc, &ids).is_err());
    assert_eq!(asked(&prompt), 1);
    assert_eq!(
        ids.protected_files()[0].state(),
        Unlock::Failed("wrong passphrase".to_string())
    );
}

#[test]
fn protected_file_without_a_terminal_is_a_clear_no_key_error() {
    let dir = tempfile::tempdir().unwrap();
    let (secret, recipient) = generate_identity();
    let path = dir.path().join("keys.txt.age");
    std::fs::write(&path, protect(&secret, "pw", false)).unwrap();
    let env = env_with(
        &[("SOPS_AGE_KEY_FILE", path.display().to_string())],
        dir.path(),
    );
    // The CLI's terminal prompt declines when there is no terminal.
    let ids = Identities::load_with(&env, Interaction::new(std::sync::Arc::new(Declining)));
    let enc = wrap(&key(), &Recipient::parse(&recipient).unwrap()).unwrap();
    let err = unwrap_any(&[(recipient.clone(), enc.clone())], &ids).unwrap_err();
    assert_eq!(err.exit_code(), 128);
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "{}: passphrase-protected identity file not opened: no terminal to ask",
            path.display()
        )),
        "{msg}"
    );

    // Commands that never prompt (the git drivers) say so instead.
    let ids = Identities::load_from(&env);
    let msg = unwrap_any(&[(recipient, enc)], &ids)
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("not opened: this command does not ask for passphrases"),
        "{msg}"
    );
}

/// A prompt that declines everything, as the CLI's does without a terminal.
struct Declining;

impl Prompt for Declining {
    fn message(&self, _: &str) {}
    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }
    fn public_string(&self, _: &str) -> Option<String> {
        None
    }
    fn passphrase(&self, _: &str) -> Option<age::secrecy::SecretString> {
        None
    }
}

#[test]
fn protected_file_is_not_asked_for_when_another_identity_opens_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (locked, locked_recipient) = generate_identity();
    let (plain, plain_recipient) = generate_identity();
    let path = dir.path().join("keys.txt.age");
    std::fs::write(&path, protect(&locked, "pw", true)).unwrap();
    // The protected file comes first in sops's source order
    // (SOPS_AGE_KEY_FILE before SOPS_AGE_KEY_CMD), and the file lists its
    // recipient first: still no prompt, since the plain key opens an entry.
    let plain_file = dir.path().join("plain.txt");
    write_mode(&plain_file, &plain, 0o600);
    let env = env_with(
        &[
            ("SOPS_AGE_KEY_FILE", path.display().to_string()),
            ("SOPS_AGE_KEY_CMD", format!("cat {}", plain_file.display())),
        ],
        dir.path(),
    );
    let prompt = counting("pw");
    let ids = Identities::load_with(&env, Interaction::new(prompt.clone()));
    let k = key();
    let entries = [
        (
            locked_recipient.clone(),
            wrap(&k, &Recipient::parse(&locked_recipient).unwrap()).unwrap(),
        ),
        (
            plain_recipient.clone(),
            wrap(&k, &Recipient::parse(&plain_recipient).unwrap()).unwrap(),
        ),
    ];
    assert_eq!(&unwrap_any(&entries, &ids).unwrap()[..], &k);
    // A report about the entries does not prompt either.
    assert!(unwrap_without_prompt(&entries[0].1, &ids).is_err());
    assert_eq!(asked(&prompt), 0);
    assert_eq!(ids.protected_files()[0].state(), Unlock::NotAsked);

    // Only the protected key opens this one: now it is asked, once.
    let only_locked = [entries[0].clone()];
    assert_eq!(&unwrap_any(&only_locked, &ids).unwrap()[..], &k);
    assert_eq!(asked(&prompt), 1);
    assert_eq!(&unwrap_without_prompt(&entries[0].1, &ids).unwrap()[..], &k);
    assert_eq!(asked(&prompt), 1);
}
