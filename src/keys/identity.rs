//! Finding the identities (private keys) that can unwrap a data key.
//!
//! Mirrors sops's `MasterKey.loadIdentities` (spec §3.5): every source is
//! read and the results are combined, and a broken source does not stop the
//! others. Problems are collected and only surface when no identity could
//! decrypt, because a stale `SOPS_AGE_KEY_FILE` should not block someone
//! whose default key file works.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::default_key::default_key_file;
use super::env::EnvSource;
use super::interaction::Interaction;
use super::protected::{ProtectedFile, Unlock, is_protected};
use super::ssh_lazy::LazySshIdentity;

/// A loaded identity the age crate can use directly.
pub(crate) type AgeIdentity = Box<dyn age::Identity + Send + Sync>;

/// What happened when one source was examined. Reported in `NoKey` errors so
/// a user can see where shroud looked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceStatus {
    /// Read; this many identities were usable.
    Loaded(usize),
    /// An optional file that does not exist.
    NotFound,
    /// The source could not be read or parsed at all (details in `errors`).
    Failed,
    /// An environment variable that is not set: listed so a "no key" report
    /// shows every place shroud would have looked.
    NotSet,
    /// A passphrase-protected identity file, opened only when needed; its
    /// current state (not asked, opened, failed) is shown.
    Protected(ProtectedFile),
}

/// One place shroud looked for identities.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceReport {
    /// Human-readable name, e.g. `SOPS_AGE_KEY_FILE (/path/keys.txt)`.
    pub name: String,
    pub status: SourceStatus,
}

impl fmt::Display for SourceReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.status {
            SourceStatus::Loaded(1) => write!(f, "{}: 1 identity", self.name),
            SourceStatus::Loaded(n) => write!(f, "{}: {n} identities", self.name),
            SourceStatus::Protected(file) => {
                write!(f, "{}: passphrase-protected, ", self.name)?;
                match file.state() {
                    Unlock::NotAsked => write!(f, "not opened (not needed so far)"),
                    Unlock::Opened(1) => write!(f, "opened: 1 identity"),
                    Unlock::Opened(n) => write!(f, "opened: {n} identities"),
                    Unlock::Failed(why) => write!(f, "not opened: {why}"),
                }
            }
            SourceStatus::NotFound => write!(f, "{}: not found", self.name),
            SourceStatus::Failed => write!(f, "{}: unusable", self.name),
            SourceStatus::NotSet => write!(f, "{}: not set", self.name),
        }
    }
}

/// All identities found, with the record of where they came from.
pub struct Identities {
    /// X25519 and SSH identities, in discovery order.
    pub(crate) native: Vec<AgeIdentity>,
    /// Plugin identities. They are turned into plugin connections only when
    /// unwrapping, so a missing plugin binary only matters if it is needed.
    pub(crate) plugins: Vec<age::plugin::Identity>,
    /// Passphrase-protected identity files: tried only after the others
    /// failed, so their passphrase is asked only when it is needed.
    pub(crate) protected: Vec<ProtectedFile>,
    pub(crate) interaction: Interaction,
    sources: Vec<SourceReport>,
    errors: Vec<String>,
    warnings: Vec<String>,
}

impl Identities {
    /// Load from the real process environment, without interactive prompts.
    pub fn load() -> Identities {
        Identities::load_from(&EnvSource::process())
    }

    /// Load from an explicit environment, without interactive prompts.
    pub fn load_from(env: &EnvSource) -> Identities {
        Identities::load_with(env, Interaction::none())
    }

    /// Load from an explicit environment; `interaction` answers passphrase
    /// prompts of encrypted SSH keys and plugin requests.
    pub fn load_with(env: &EnvSource, interaction: Interaction) -> Identities {
        let mut ids = Identities::empty(interaction);

        // The order is sops's; it matters only for which identity is tried
        // first, since all of them are combined.
        if let Some(path) = env.var("SOPS_AGE_SSH_PRIVATE_KEY_FILE") {
            let path = PathBuf::from(path);
            ids.load_ssh_file("SOPS_AGE_SSH_PRIVATE_KEY_FILE", &path, true);
        } else {
            ids.not_set("SOPS_AGE_SSH_PRIVATE_KEY_FILE");
        }
        if let Some(cmd) = env.var("SOPS_AGE_SSH_PRIVATE_KEY_CMD") {
            let name = "SOPS_AGE_SSH_PRIVATE_KEY_CMD".to_string();
            match run_command(&cmd) {
                Ok(out) => ids.add_ssh_buffer(name, &out, None),
                Err(e) => ids.fail(name, e),
            }
        }
        if let Some(home) = env.home() {
            let ssh = home.join(".ssh");
            ids.load_ssh_file("default SSH key", &ssh.join("id_ed25519"), false);
            ids.load_ssh_file("default SSH key", &ssh.join("id_rsa"), false);
        }
        if let Some(text) = env.var("SOPS_AGE_KEY") {
            let text = Zeroizing::new(text);
            ids.add_identity_text("SOPS_AGE_KEY".to_string(), &text);
        } else {
            ids.not_set("SOPS_AGE_KEY");
        }
        if let Some(path) = env.var("SOPS_AGE_KEY_FILE") {
            ids.load_identity_file("SOPS_AGE_KEY_FILE", Path::new(&path), true);
        } else {
            ids.not_set("SOPS_AGE_KEY_FILE");
        }
        if let Some(cmd) = env.var("SOPS_AGE_KEY_CMD") {
            let name = "SOPS_AGE_KEY_CMD".to_string();
            match run_command(&cmd) {
                Ok(out) => ids.add_identity_bytes(name, "SOPS_AGE_KEY_CMD".to_string(), out),
                Err(e) => ids.fail(name, e),
            }
        } else {
            ids.not_set("SOPS_AGE_KEY_CMD");
        }
        match default_key_file(env) {
            Ok(path) => ids.load_identity_file("default key file", &path, false),
            Err(e) => ids.fail("default key file".to_string(), e.to_string()),
        }
        ids
    }

    fn empty(interaction: Interaction) -> Identities {
        Identities {
            native: Vec::new(),
            plugins: Vec::new(),
            protected: Vec::new(),
            interaction,
            sources: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// Identities parsed from identity-file text alone (no discovery), e.g.
    /// for `--identity`-style options and for tests. Parse problems are kept
    /// in [`Identities::errors`].
    pub fn from_text(source_name: &str, text: &str) -> Identities {
        let mut ids = Identities::empty(Interaction::none());
        ids.add_identity_text(source_name.to_string(), text);
        ids
    }

    /// Total number of usable identities, not counting passphrase-protected
    /// files (see [`Identities::protected_files`]).
    pub fn len(&self) -> usize {
        self.native.len() + self.plugins.len()
    }

    /// Passphrase-protected identity files, whose identities are only known
    /// once opened.
    pub fn protected_files(&self) -> &[ProtectedFile] {
        &self.protected
    }

    /// No identity at all, not even a passphrase-protected file.
    pub fn is_empty(&self) -> bool {
        self.len() == 0 && self.protected.is_empty()
    }

    /// Every source examined, in order.
    pub fn sources(&self) -> &[SourceReport] {
        &self.sources
    }

    /// Problems met while loading (never containing key material), and
    /// passphrase-protected files that could not be opened. Meant to be
    /// shown only when decryption fails.
    pub fn errors(&self) -> Vec<String> {
        let mut all = self.errors.clone();
        for file in &self.protected {
            if let Unlock::Failed(why) = file.state() {
                all.push(format!(
                    "{}: passphrase-protected identity file not opened: {why}",
                    file.label()
                ));
            }
        }
        all
    }

    /// Things worth telling the user even on success, such as key files
    /// readable by other users.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    fn not_set(&mut self, var: &str) {
        self.sources.push(SourceReport {
            name: var.to_string(),
            status: SourceStatus::NotSet,
        });
    }

    fn fail(&mut self, name: String, error: String) {
        self.errors.push(format!("{name}: {error}"));
        self.sources.push(SourceReport {
            name,
            status: SourceStatus::Failed,
        });
    }

    /// Read a file that holds secrets, noting `NotFound` for optional files
    /// and warning when its permissions are too open.
    fn read_secret_file(
        &mut self,
        name: &str,
        path: &Path,
        required: bool,
    ) -> Option<(String, Zeroizing<Vec<u8>>)> {
        let name = format!("{name} ({})", path.display());
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                if let Some(w) = permission_warning(path) {
                    self.warnings.push(w);
                }
                Some((name, bytes))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => {
                self.sources.push(SourceReport {
                    name,
                    status: SourceStatus::NotFound,
                });
                None
            }
            Err(e) => {
                self.fail(name, format!("cannot read: {e}"));
                None
            }
        }
    }

    fn load_ssh_file(&mut self, name: &str, path: &Path, required: bool) {
        if let Some((name, bytes)) = self.read_secret_file(name, path, required) {
            let filename = path.display().to_string();
            self.add_ssh_buffer(name, &bytes, Some(filename));
        }
    }

    fn add_ssh_buffer(&mut self, name: String, bytes: &[u8], filename: Option<String>) {
        let filename_for_prompt = filename.clone();
        match age::ssh::Identity::from_buffer(bytes, filename) {
            Ok(age::ssh::Identity::Unsupported(k)) => {
                let why = match k {
                    age::ssh::UnsupportedKey::EncryptedPem => {
                        "encrypted PEM keys are not supported; convert with `ssh-keygen -o -p`"
                            .to_string()
                    }
                    age::ssh::UnsupportedKey::EncryptedSsh(c) => {
                        format!("keys encrypted with {c} are not supported")
                    }
                    age::ssh::UnsupportedKey::Hardware(t) => format!(
                        "hardware key type {t} is not supported (use age-plugin-yubikey instead)"
                    ),
                    age::ssh::UnsupportedKey::Type(t) => {
                        format!("SSH key type {t} is not supported (only ed25519 and rsa)")
                    }
                };
                self.fail(name, why);
            }
            Ok(age::ssh::Identity::Encrypted(key)) => {
                let file = filename_for_prompt.unwrap_or_else(|| name.clone());
                match LazySshIdentity::new(key, file, self.interaction.clone()) {
                    Some(id) => {
                        self.native.push(Box::new(id));
                        self.sources.push(SourceReport {
                            name,
                            status: SourceStatus::Loaded(1),
                        });
                    }
                    None => self.fail(name, "cannot read the key's public half".to_string()),
                }
            }
            Ok(id) => {
                self.native.push(Box::new(id));
                self.sources.push(SourceReport {
                    name,
                    status: SourceStatus::Loaded(1),
                });
            }
            // age's message names no key content.
            Err(e) => self.fail(name, format!("not a usable SSH private key ({e})")),
        }
    }

    fn load_identity_file(&mut self, name: &str, path: &Path, required: bool) {
        if let Some((name, bytes)) = self.read_secret_file(name, path, required) {
            self.add_identity_bytes(name, path.display().to_string(), bytes);
        }
    }

    /// Identity-source content that may be a binary (not UTF-8) encrypted
    /// age file. `label` names the file in the passphrase prompt.
    fn add_identity_bytes(&mut self, name: String, label: String, bytes: Zeroizing<Vec<u8>>) {
        if is_protected(&bytes) {
            self.add_protected(name, label, bytes);
            return;
        }
        match into_text(bytes) {
            Ok(text) => self.add_identity_text(name, &text),
            Err(e) => self.fail(name, e),
        }
    }

    fn add_protected(&mut self, name: String, label: String, bytes: Zeroizing<Vec<u8>>) {
        let file = ProtectedFile::new(bytes, label, self.interaction.clone());
        self.protected.push(file.clone());
        self.sources.push(SourceReport {
            name,
            status: SourceStatus::Protected(file),
        });
    }

    /// Parse age identity-file text: one identity per line, blank and `#`
    /// lines ignored. Several whitespace-separated identities on one line
    /// are accepted everywhere (sops 3.13 accepts them in `SOPS_AGE_KEY`;
    /// being lenient in files too rejects nothing sops accepts).
    ///
    /// Text that is an encrypted age file (sops's test: it starts with
    /// `age-encryption` or `-----BEGIN AGE`) is a passphrase-protected
    /// identity file, opened only when needed.
    fn add_identity_text(&mut self, name: String, text: &str) {
        if is_protected(text.as_bytes()) {
            let bytes = Zeroizing::new(text.as_bytes().to_vec());
            let label = name.clone();
            self.add_protected(name, label, bytes);
            return;
        }
        let parsed = ParsedIdentities::parse(text);
        let loaded = parsed.native.len() + parsed.plugins.len();
        self.native.extend(parsed.native);
        self.plugins.extend(parsed.plugins);
        for p in &parsed.problems {
            self.errors.push(format!("{name}: {p}"));
        }
        let status = if loaded == 0 && !parsed.problems.is_empty() {
            SourceStatus::Failed
        } else {
            SourceStatus::Loaded(loaded)
        };
        self.sources.push(SourceReport { name, status });
    }
}

/// The identities of one identity-file text, and its problems (by line
/// number only: a bad token may still be a key).
#[derive(Default)]
pub(crate) struct ParsedIdentities {
    pub(crate) native: Vec<AgeIdentity>,
    pub(crate) plugins: Vec<age::plugin::Identity>,
    pub(crate) problems: Vec<String>,
}

impl ParsedIdentities {
    pub(crate) fn parse(text: &str) -> ParsedIdentities {
        let mut parsed = ParsedIdentities::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            for token in line.split_whitespace() {
                if let Err(why) = parsed.add_token(token) {
                    parsed.problems.push(format!("line {}: {why}", n + 1));
                }
            }
        }
        parsed
    }

    fn add_token(&mut self, token: &str) -> Result<(), &'static str> {
        if token.starts_with("AGE-SECRET-KEY-PQ-") {
            Err("hybrid post-quantum identities are not supported yet")
        } else if token.starts_with("AGE-SECRET-KEY-1") {
            let id = token
                .parse::<age::x25519::Identity>()
                .map_err(|_| "invalid X25519 identity (bad checksum or length)")?;
            self.native.push(Box::new(id));
            Ok(())
        } else if token.starts_with("AGE-PLUGIN-") {
            let id = token
                .parse::<age::plugin::Identity>()
                .map_err(|_| "invalid plugin identity")?;
            self.plugins.push(id);
            Ok(())
        } else {
            Err("not an age identity (expected AGE-SECRET-KEY-1… or AGE-PLUGIN-…)")
        }
    }
}

impl fmt::Debug for Identities {
    // Counts and source names only; never key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identities")
            .field("native", &self.native.len())
            .field("plugins", &self.plugins.len())
            .field("protected", &self.protected)
            .field("sources", &self.sources)
            .field("errors", &self.errors)
            .finish_non_exhaustive()
    }
}

pub(crate) fn into_text(bytes: Zeroizing<Vec<u8>>) -> Result<Zeroizing<String>, String> {
    // Move the buffer out of its wrapper without copying so the zeroizing
    // wrapper can be put back around the String.
    let mut bytes = bytes;
    let raw = std::mem::take(&mut *bytes);
    match String::from_utf8(raw) {
        Ok(s) => Ok(Zeroizing::new(s)),
        Err(e) => {
            let _wipe = Zeroizing::new(e.into_bytes());
            Err("not valid UTF-8 text".to_string())
        }
    }
}

/// Run a key command: split with shell-word rules, no shell involved (as
/// sops does with google/shlex). Its stdout is the secret; stdin and stderr
/// stay connected so helpers such as `pass` or `gpg` can prompt.
fn run_command(cmdline: &str) -> Result<Zeroizing<Vec<u8>>, String> {
    let argv = shlex::split(cmdline).ok_or_else(|| "cannot split the command line".to_string())?;
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| "the command is empty".to_string())?;
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::inherit())
        .stderr(Stdio::inherit())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {program:?}: {e}"))?;
    let mut out = Zeroizing::new(Vec::new());
    if let Some(mut stdout) = child.stdout.take() {
        stdout
            .read_to_end(&mut out)
            .map_err(|e| format!("cannot read the output of {program:?}: {e}"))?;
    }
    let status = child
        .wait()
        .map_err(|e| format!("waiting for {program:?}: {e}"))?;
    if !status.success() {
        return Err(format!("{program:?} failed ({status})"));
    }
    Ok(out)
}

/// A warning when a key file is accessible to group or others.
#[cfg(unix)]
pub(crate) fn permission_warning(path: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
    (mode & 0o077 != 0).then(|| {
        format!(
            "identity file {} is accessible by other users (mode {mode:04o}); run `chmod 600 {}`",
            path.display(),
            path.display()
        )
    })
}

#[cfg(not(unix))]
pub(crate) fn permission_warning(_path: &Path) -> Option<String> {
    None
}
