//! The default identity file and key generation.
//!
//! sops reads `<UserConfigDir>/sops/age/keys.txt` in addition to any other
//! source (spec §3.5). shroud can also create it, so a first `shroud
//! encrypt` works without running `age-keygen` by hand.

use std::io::Write;
use std::path::{Path, PathBuf};

use age::secrecy::ExposeSecret;
use zeroize::Zeroizing;

use super::env::EnvSource;
use super::identity::Identities;
use crate::error::Error;

/// Path of the default key file, following sops's `getUserConfigDir`.
///
/// Linux and other Unix: `$XDG_CONFIG_HOME` if it is absolute, else
/// `$HOME/.config`. macOS: `$XDG_CONFIG_HOME` if set, else
/// `~/Library/Application Support`. Windows: `%AppData%`.
pub fn default_key_file(env: &EnvSource) -> Result<PathBuf, Error> {
    Ok(user_config_dir(env)?
        .join("sops")
        .join("age")
        .join("keys.txt"))
}

fn user_config_dir(env: &EnvSource) -> Result<PathBuf, Error> {
    let no_home = || Error::Io("cannot find the user's config directory: HOME is not set".into());
    if cfg!(windows) {
        return env
            .var("AppData")
            .or_else(|| env.var("APPDATA"))
            .map(PathBuf::from)
            .ok_or_else(|| {
                Error::Io("cannot find the user's config directory: %AppData% is not set".into())
            });
    }
    if cfg!(target_os = "macos") {
        if let Some(xdg) = env.var("XDG_CONFIG_HOME") {
            return Ok(PathBuf::from(xdg));
        }
        let home = env.home().ok_or_else(no_home)?;
        return Ok(home.join("Library").join("Application Support"));
    }
    if let Some(xdg) = env.var("XDG_CONFIG_HOME").map(PathBuf::from)
        && xdg.is_absolute()
    {
        return Ok(xdg);
    }
    Ok(env.home().ok_or_else(no_home)?.join(".config"))
}

/// A fresh X25519 identity: `(AGE-SECRET-KEY-1…, age1…)`.
pub fn generate_identity() -> (Zeroizing<String>, String) {
    let id = age::x25519::Identity::generate();
    let secret = Zeroizing::new(id.to_string().expose_secret().to_string());
    (secret, id.to_public().to_string())
}

/// The text `age-keygen` writes for one identity.
pub fn keygen_text(secret: &str, recipient: &str) -> Zeroizing<String> {
    let created = jiff::Zoned::now().strftime("%Y-%m-%dT%H:%M:%S%:z");
    Zeroizing::new(format!(
        "# created: {created}\n# public key: {recipient}\n{secret}\n"
    ))
}

/// Make sure the default key file holds an identity, creating one if not.
///
/// Returns the recipient of the file's first X25519 identity and whether it
/// was just generated. A new identity is appended to what the file already
/// holds (comments are kept); the file is replaced atomically and ends up
/// mode 0600, and a missing directory is created 0700. A file with
/// unparsable lines is left alone.
pub fn ensure_default_identity(env: &EnvSource) -> Result<(String, bool), Error> {
    let path = default_key_file(env)?;
    let existing = match std::fs::read(&path) {
        Ok(bytes) => Some(Zeroizing::new(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::Io(format!("cannot read {}: {e}", path.display()))),
    };
    let existing_text = match &existing {
        Some(bytes) => Zeroizing::new(
            std::str::from_utf8(bytes)
                .map_err(|_| bad_file(&path, "not valid UTF-8 text".into()))?
                .to_string(),
        ),
        None => Zeroizing::new(String::new()),
    };

    let ids = Identities::from_text(&path.display().to_string(), &existing_text);
    if let Some(problem) = ids.errors().first() {
        return Err(bad_file(&path, problem.clone()));
    }
    if let Some(recipient) = first_x25519_recipient(&existing_text) {
        return Ok((recipient, false));
    }
    if !ids.is_empty() {
        return Err(bad_file(
            &path,
            "it holds only plugin identities, whose recipients shroud cannot derive; \
             pass a recipient explicitly"
                .into(),
        ));
    }

    let (secret, recipient) = generate_identity();
    let mut content = Zeroizing::new(existing_text.to_string());
    if !content.is_empty() && !content.ends_with('\n') {
        content.push('\n');
    }
    content.push_str(&keygen_text(&secret, &recipient));
    write_private_file(&path, content.as_bytes())?;
    Ok((recipient, true))
}

fn bad_file(path: &Path, reason: String) -> Error {
    Error::BadIdentity {
        source_name: path.display().to_string(),
        reason,
    }
}

fn first_x25519_recipient(text: &str) -> Option<String> {
    text.lines()
        .flat_map(str::split_whitespace)
        .filter(|t| !t.starts_with('#'))
        .find_map(|t| t.parse::<age::x25519::Identity>().ok())
        .map(|id| id.to_public().to_string())
}

/// Write `bytes` to `path` through a temporary file in the same directory
/// and a rename, so a crash never leaves a truncated key file behind.
fn write_private_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io =
        |what: &str, e: std::io::Error| Error::Io(format!("cannot {what} {}: {e}", path.display()));
    let dir = path
        .parent()
        .ok_or_else(|| Error::Io(format!("{} has no parent directory", path.display())))?;
    if !dir.is_dir() {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(dir)
            .map_err(|e| io("create the directory of", e))?;
    }
    // tempfile creates the file 0600 on Unix, so the secret is never
    // readable by others, not even briefly.
    let mut tmp =
        tempfile::NamedTempFile::new_in(dir).map_err(|e| io("create a temporary file for", e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        tmp.as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io("set permissions of", e))?;
    }
    tmp.write_all(bytes).map_err(|e| io("write", e))?;
    tmp.as_file().sync_all().map_err(|e| io("write", e))?;
    tmp.persist(path).map_err(|e| io("replace", e.error))?;
    Ok(())
}
