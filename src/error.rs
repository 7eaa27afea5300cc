//! Typed errors of the library, each mapped to the exit code SOPS uses for
//! the same failure (`cmd/sops/codes`, listed in docs/format.md), so scripts
//! written against `sops` keep working. No message here ever contains a
//! secret value: errors name key paths, lines and columns only.

use std::fmt;

use thiserror::Error;

/// Exit codes shared with SOPS 3.x.
pub mod exit {
    pub const GENERIC: i32 = 1;
    pub const COULD_NOT_READ_INPUT: i32 = 2;
    pub const COULD_NOT_WRITE_OUTPUT: i32 = 3;
    pub const ERROR_DUMPING_TREE: i32 = 4;
    pub const ERROR_READING_CONFIG: i32 = 5;
    pub const INVALID_SET_FORMAT: i32 = 7;
    pub const CONFLICTING_PARAMETERS: i32 = 8;
    pub const ERROR_ENCRYPTING_MAC: i32 = 21;
    pub const ERROR_ENCRYPTING_TREE: i32 = 23;
    pub const ERROR_DECRYPTING_TREE: i32 = 25;
    pub const MAC_MISMATCH: i32 = 51;
    pub const INVALID_TREE_PATH: i32 = 91;
    pub const NEED_AT_LEAST_ONE_DOCUMENT: i32 = 92;
    pub const NO_FILE_SPECIFIED: i32 = 100;
    pub const NO_ENCRYPTION_KEY_FOUND: i32 = 111;
    pub const COULD_NOT_RETRIEVE_KEY: i32 = 128;
    pub const FILE_HAS_NOT_BEEN_MODIFIED: i32 = 200;
    pub const NO_EDITOR_FOUND: i32 = 201;
    pub const FILE_ALREADY_ENCRYPTED: i32 = 203;
}

/// A place in a text file, 1-based, in characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of byte offset `at` in `src`.
    pub fn of(src: &str, at: usize) -> Location {
        let at = at.min(src.len());
        let at = (0..=at)
            .rev()
            .find(|&i| src.is_char_boundary(i))
            .unwrap_or(0);
        let before = &src[..at];
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { line, column }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// Why a format module could not parse or render a document.
#[derive(Debug, Error)]
pub enum FormatError {
    /// The text is not valid in its format.
    #[error("{location}: {message}")]
    Syntax { location: Location, message: String },
    /// Valid text that SOPS cannot represent (a non-string map key, a
    /// top-level list, ...). SOPS exits 23 or 2 for these.
    #[error("{location}: {message}")]
    Unsupported {
        location: Location,
        message: String,
        code: i32,
    },
    /// The document holds nothing to encrypt (an empty file).
    #[error("the file holds no document (it is empty)")]
    Empty,
    /// A value cannot be written in the output format (nested map into
    /// dotenv, null into TOML, ...).
    #[error("cannot write the value at {path} as {format}: {reason}")]
    CannotRepresent {
        path: String,
        format: &'static str,
        reason: String,
    },
    /// The render step found a span that does not hold what the parse step
    /// saw. Nothing is written; this is a bug in shroud, never in the input.
    #[error("internal error: refusing to write a damaged document ({0})")]
    SpanCheck(String),
}

impl FormatError {
    pub fn syntax(src: &str, at: usize, message: impl Into<String>) -> FormatError {
        FormatError::Syntax {
            location: Location::of(src, at),
            message: message.into(),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            FormatError::Syntax { .. } => exit::COULD_NOT_READ_INPUT,
            FormatError::Unsupported { code, .. } => *code,
            FormatError::Empty => exit::NEED_AT_LEAST_ONE_DOCUMENT,
            FormatError::CannotRepresent { .. } => exit::ERROR_DUMPING_TREE,
            FormatError::SpanCheck(_) => exit::GENERIC,
        }
    }
}

/// Every failure of the library.
#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Format(#[from] FormatError),

    #[error(
        "the file already has a top-level \"sops\" key: it is already encrypted (decrypt it first, or use `shroud edit`)"
    )]
    AlreadyEncrypted,

    #[error(
        "sops metadata not found: the file is not encrypted (to encrypt it: shroud encrypt -i FILE)"
    )]
    NotEncrypted,

    #[error("invalid sops metadata: {0}")]
    Metadata(String),

    #[error("could not decrypt the value at {path}: {reason}")]
    DecryptValue { path: String, reason: String },

    #[error("could not encrypt the value at {path}: {reason}")]
    EncryptValue { path: String, reason: String },

    #[error("MAC mismatch: {0}")]
    MacMismatch(String),

    #[error("{0}")]
    NoKey(String),

    #[error("no recipients to encrypt to: {0}")]
    NoRecipients(String),

    #[error(
        "invalid recipient {recipient:?}: {reason} (an age recipient is age1 followed by 58 \
         characters, as `shroud keygen` or `age-keygen -y` print it; SSH keys are given as \
         the whole `ssh-ed25519 AAAA...` line)"
    )]
    BadRecipient { recipient: String, reason: String },

    #[error("invalid identity in {source_name}: {reason}")]
    BadIdentity { source_name: String, reason: String },

    /// Wrapping the data key to a recipient failed (e.g. its plugin is
    /// missing).
    #[error("could not encrypt the data key to {recipient}: {reason}")]
    KeyWrap { recipient: String, reason: String },

    #[error("configuration error: {0}")]
    Config(String),

    #[error("invalid encryption rule: {0}")]
    Rule(String),

    #[error("invalid path expression {expr:?}: {reason}")]
    TreePath { expr: String, reason: String },

    #[error("key path {0} not found in the document")]
    PathNotFound(String),

    #[error("{0}")]
    Io(String),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Format(e) => e.exit_code(),
            Error::AlreadyEncrypted => exit::FILE_ALREADY_ENCRYPTED,
            Error::NotEncrypted => exit::GENERIC,
            Error::Metadata(_) => exit::GENERIC,
            Error::DecryptValue { .. } => exit::ERROR_DECRYPTING_TREE,
            Error::EncryptValue { .. } => exit::ERROR_ENCRYPTING_TREE,
            Error::MacMismatch(_) => exit::MAC_MISMATCH,
            Error::NoKey(_) => exit::COULD_NOT_RETRIEVE_KEY,
            Error::NoRecipients(_) => exit::NO_ENCRYPTION_KEY_FOUND,
            Error::BadRecipient { .. } => exit::GENERIC,
            Error::BadIdentity { .. } => exit::COULD_NOT_RETRIEVE_KEY,
            Error::KeyWrap { .. } => exit::GENERIC,
            Error::Rule(_) => exit::GENERIC,
            Error::Config(_) => exit::GENERIC,
            Error::TreePath { .. } => exit::INVALID_TREE_PATH,
            Error::PathNotFound(_) => exit::GENERIC,
            Error::Io(_) => exit::GENERIC,
        }
    }
}

/// Display a key path the way shroud names paths in messages: `["a"]["b"]`,
/// the same syntax `--extract` takes.
pub fn display_path(path: &(impl crate::document::Keys + ?Sized)) -> String {
    if path.keys().next().is_none() {
        return "the document root".to_string();
    }
    path.keys()
        .map(|k| format!("[{}]", serde_json::to_string(k).unwrap_or_default()))
        .collect()
}
