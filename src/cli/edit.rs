//! `shroud edit`: decrypt to a private temporary file, run the user's
//! editor, and encrypt the result again, keeping the ciphertext of every
//! value that did not change (so git shows only the changed lines).

use std::fs::{self, OpenOptions};
use std::io::{IsTerminal, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use signal_hook::consts::signal::{SIGHUP, SIGINT, SIGTERM};
use zeroize::Zeroizing;

use super::args::EditArgs;
use super::keyring::{self, KeySource};
use super::reopen::{Existing, reopen};
use super::{Destination, Fail, input_format, warn, write_output};
use shroud::config::{self, Config};
use shroud::crypto::DataKey;
use shroud::engine::{self, EncryptSettings};
use shroud::error::exit;
use shroud::formats::Format;
use shroud::metadata::KeyVersion;
use shroud::rules::Rule;

/// What a new file starts as, per format.
fn template(format: Format) -> Option<&'static str> {
    Some(match format {
        Format::Yaml => {
            "# New file: values are encrypted when you save and quit.\nexample_key: example value\n"
        }
        Format::Json => "{\n  \"example_key\": \"example value\"\n}\n",
        Format::Toml => {
            "# New file: values are encrypted when you save and quit.\nexample_key = \"example value\"\n"
        }
        Format::Dotenv => {
            "# New file: values are encrypted when you save and quit.\nEXAMPLE_KEY=example value\n"
        }
        Format::Ini => {
            "; New file: values are encrypted when you save and quit.\n[section]\nexample_key = example value\n"
        }
        Format::Binary => return None,
    })
}

/// The editor command: `SOPS_EDITOR`, then `EDITOR` (split as a shell
/// would), then the first of vim, nano, vi on `PATH`.
fn editor() -> Result<Vec<String>> {
    for var in ["SOPS_EDITOR", "EDITOR"] {
        if let Ok(v) = std::env::var(var)
            && !v.trim().is_empty()
        {
            return shlex::split(&v).filter(|w| !w.is_empty()).ok_or_else(|| {
                Fail::new(
                    exit::NO_EDITOR_FOUND,
                    format!("${var} cannot be split into a command: {v:?}"),
                )
                .into()
            });
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in ["vim", "nano", "vi"] {
        if std::env::split_paths(&path).any(|d| d.join(name).is_file()) {
            return Ok(vec![name.to_string()]);
        }
    }
    Err(Fail::new(
        exit::NO_EDITOR_FOUND,
        "no editor found: set SOPS_EDITOR or EDITOR to an editor on your PATH (e.g. EDITOR=nano); \
         nothing was changed",
    )
    .into())
}

/// A folder only this user can read, on memory-backed storage if there is
/// some ($XDG_RUNTIME_DIR, /dev/shm), so the plaintext need not touch disk.
fn private_dir() -> Result<tempfile::TempDir> {
    let candidates = std::env::var_os("XDG_RUNTIME_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain([PathBuf::from("/dev/shm")])
        .filter(|d| d.is_dir());
    let builder = || {
        let mut b = tempfile::Builder::new();
        b.prefix(".shroud-edit-")
            .permissions(fs::Permissions::from_mode(0o700));
        b
    };
    for dir in candidates {
        if let Ok(d) = builder().tempdir_in(&dir) {
            return Ok(d);
        }
    }
    builder()
        .tempdir()
        .context("could not create a private temporary folder")
}

/// The running editor's pid (0 when none), for the signal thread.
static EDITOR_PID: AtomicI32 = AtomicI32::new(0);
/// Set by the signal thread before it stops the editor.
static SIGNALLED: AtomicBool = AtomicBool::new(false);

/// While plaintext is held, the process must not dump core.
fn disable_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit(2) with a valid resource and pointer.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
    }
}

fn hash(path: &Path) -> Result<[u8; 32]> {
    let bytes = Zeroizing::new(fs::read(path).context("could not read the edited file")?);
    Ok(Sha256::digest(&*bytes).into())
}

pub fn run(args: EditArgs, config_flag: Option<&Path>) -> Result<i32> {
    let file = &args.file;
    let name = file.display().to_string();
    let format = input_format(args.input_type.as_deref(), Some(file), None)?;
    let Some(new_template) = template(format) else {
        return Err(Fail::new(
            exit::GENERIC,
            format!("{name}: binary files cannot be edited as text; use --input-type"),
        )
        .into());
    };
    let editor = editor()?;
    disable_core_dumps();

    let existing = if file.exists() {
        Some(reopen(file, format, args.ignore_mac)?)
    } else {
        None
    };
    let dir = private_dir()?;
    let base = file
        .file_name()
        .map_or_else(|| "file".into(), |n| n.to_os_string());
    let tmp = dir.path().join(base);
    // Ctrl-C, SIGTERM, SIGHUP: remove the plaintext before leaving. The
    // handler is in place before the plaintext is written.
    let dir_path = dir.path().to_path_buf();
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            // Pass the signal on to the editor (a SIGTERM sent to shroud
            // alone would leave it editing a deleted file), then remove
            // the plaintext and leave with the shell's code for a signal.
            SIGNALLED.store(true, Ordering::SeqCst);
            let pid = EDITOR_PID.load(Ordering::SeqCst);
            if pid > 0 {
                // SAFETY: kill(2) on the pid of our own editor child.
                unsafe {
                    libc::kill(pid, sig);
                }
            }
            let _ = fs::remove_dir_all(&dir_path);
            std::process::exit(128 + sig);
        }
    });
    {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        let initial = existing
            .as_ref()
            .map_or(new_template, |e| e.plaintext.as_str());
        f.write_all(initial.as_bytes())?;
    }

    let result = edit_loop(&args, format, &name, &editor, &tmp, existing, config_flag);
    handle.close();
    drop(dir);
    result
}

fn edit_loop(
    args: &EditArgs,
    format: Format,
    name: &str,
    editor: &[String],
    tmp: &Path,
    mut existing: Option<Existing>,
    config_flag: Option<&Path>,
) -> Result<i32> {
    let before = hash(tmp)?;
    loop {
        let status = Command::new(&editor[0])
            .args(&editor[1..])
            .arg(tmp)
            .spawn()
            .and_then(|mut child| {
                EDITOR_PID.store(child.id() as i32, Ordering::SeqCst);
                let status = child.wait();
                EDITOR_PID.store(0, Ordering::SeqCst);
                // The editor ended because shroud was signalled: the signal
                // thread is cleaning up and will exit with the signal's code.
                while SIGNALLED.load(Ordering::SeqCst) {
                    std::thread::park();
                }
                status
            });
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                return Err(Fail::new(
                    exit::NO_EDITOR_FOUND,
                    format!("the editor exited with {s}; {name} is unchanged"),
                )
                .into());
            }
            Err(e) => {
                return Err(Fail::new(
                    exit::NO_EDITOR_FOUND,
                    format!(
                        "could not run the editor {:?}: {e}; set SOPS_EDITOR or EDITOR to an \
                         editor on your PATH (e.g. EDITOR=nano); nothing was changed",
                        editor[0]
                    ),
                )
                .into());
            }
        }
        if hash(tmp)? == before {
            super::ui::note(&format!(
                "{name}: the file has not changed; nothing written"
            ));
            return Ok(exit::FILE_HAS_NOT_BEEN_MODIFIED);
        }
        let edited =
            Zeroizing::new(fs::read_to_string(tmp).context("the edited file is not UTF-8")?);
        let problem = match format.parse(&edited) {
            Ok(doc) if doc.metadata().is_some() => {
                Some("the edited text has a top-level \"sops\" key; remove it".to_string())
            }
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        };
        if let Some(problem) = problem {
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "shroud: {name}: {problem}\nPress Enter to go back to the editor (your text is kept), or Ctrl+C to give up."
                );
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
                continue;
            }
            return Err(Fail::new(
                exit::COULD_NOT_READ_INPUT,
                format!("{name}: the edited text is invalid ({problem}); the file is unchanged"),
            )
            .into());
        }
        let doc = format.parse(&edited)?;
        let out = match &mut existing {
            Some(e) => {
                let mut stash = std::mem::take(&mut e.stash);
                let settings = EncryptSettings {
                    rule: e.meta.rule.clone(),
                    mac_only_encrypted: e.meta.mac_only_encrypted,
                    // Same data key, so the same key version.
                    key_version: e.meta.key_version.clone(),
                };
                let out = engine::encrypt_with_stash(
                    doc.as_ref(),
                    &e.key,
                    e.meta.key_groups.clone(),
                    e.meta.shamir_threshold,
                    &settings,
                    engine::now_utc(),
                    &mut stash,
                )?;
                super::settle_auth(format, out, &e.key)?
            }
            None => {
                let cwd = std::env::current_dir()?;
                let config = config::find(config_flag, &cwd)
                    .map(|p| Config::load(&p))
                    .transpose()?;
                let target = std::path::absolute(&args.file).unwrap_or_else(|_| args.file.clone());
                let rule = match &config {
                    Some(c) if args.age.is_none() => Some(c.rule_for(&target)?),
                    Some(c) => c.rule_for(&target).ok(),
                    None => None,
                };
                let source = match (args.age.as_deref(), rule, &config) {
                    (Some(a), _, _) => KeySource::Flag(a),
                    (None, Some(r), Some(c)) => KeySource::Config {
                        groups: &r.key_groups,
                        config: &c.path,
                    },
                    _ => KeySource::Default,
                };
                let recipients = keyring::encryption_recipients(source)?;
                let key = DataKey::generate();
                let (groups, threshold) =
                    keyring::wrap_for(&key, &recipients, rule.and_then(|r| r.shamir_threshold))?;
                let settings = EncryptSettings {
                    rule: rule
                        .map(|r| r.rule())
                        .transpose()?
                        .flatten()
                        .unwrap_or_else(Rule::default),
                    mac_only_encrypted: rule.is_some_and(|r| r.mac_only_encrypted),
                    key_version: Some(KeyVersion::first(engine::now_utc().to_rfc3339())),
                };
                let out = engine::encrypt(
                    doc.as_ref(),
                    &key,
                    groups,
                    threshold,
                    &settings,
                    engine::now_utc(),
                )?;
                super::settle_auth(format, out, &key)?
            }
        };
        for w in &out.warnings {
            warn(&format!("{name}: {w}"));
        }
        write_output(&Destination::File(args.file.clone()), out.text.as_bytes())?;
        return Ok(0);
    }
}
