//! The command-line interface. Flag names and meanings follow sops, so that
//! `alias sops=shroud` works for age users.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "shroud",
    version,
    about = "Encrypt the values of YAML and JSON files in the SOPS format, keeping every other byte",
    long_about = "shroud encrypts only the values of structured config files, so keys, comments and \
layout stay readable in review. Files are SOPS 3.x files: the real sops decrypts what shroud \
writes, and shroud decrypts every age-keyed sops file.",
    after_help = "Examples:\n  shroud encrypt -i secrets.yaml\n  shroud decrypt secrets.yaml\n  \
shroud decrypt --extract '[\"db\"][\"password\"]' secrets.yaml\n  SOPS_AGE_KEY=\"$KEY\" shroud decrypt secrets.json"
)]
pub struct Cli {
    /// The .sops.yaml to use instead of searching from the current directory up
    #[arg(long, global = true, env = "SOPS_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Refuse encrypted files without shroud_auth (written by sops, or stripped) instead of warning
    #[arg(long, global = true, env = "SHROUD_STRICT")]
    pub strict: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Encrypt a file's values (to standard output unless -i or --output)
    #[command(after_help = "Examples:\n  shroud encrypt -i secrets.yaml\n  \
shroud encrypt --age age1... config.json > config.enc.json\n  \
shroud encrypt --encrypted-regex '^(data|stringData)$' -i secret.yaml")]
    Encrypt(EncryptArgs),
    /// Decrypt a file (to standard output unless -i or --output)
    #[command(after_help = "Examples:\n  shroud decrypt secrets.yaml\n  \
shroud decrypt --extract '[\"db\"][\"password\"]' secrets.yaml\n  \
SOPS_AGE_KEY_FILE=key.txt shroud decrypt -i secrets.json")]
    Decrypt(DecryptArgs),
    /// Edit an encrypted file (or create one) in your editor
    #[command(after_help = "Examples:\n  shroud edit secrets.yaml\n  \
EDITOR='code --wait' shroud edit config.json\n  shroud edit --age age1... new-secrets.env")]
    Edit(EditArgs),
    /// Change one existing value in place, e.g. shroud set f.yaml '["db"]["password"]' '"x"'
    #[command(
        after_help = "Examples:\n  shroud set secrets.yaml '[\"db\"][\"port\"]' 5433\n  \
shroud set secrets.yaml '[\"db\"][\"password\"]' --value-stdin < pw.json\n  \
shroud set secrets.yaml '[\"api\"][\"token\"]' --generate --length 40 --charset base64url"
    )]
    Set(SetArgs),
    /// Run a command with the file's decrypted top-level values as environment variables
    #[command(
        after_help = "Examples:\n  shroud exec-env secrets.env './deploy.sh'\n  \
SOPS_AGE_KEY=\"$KEY\" shroud exec-env --mask github secrets.yaml 'make release'"
    )]
    ExecEnv(ExecEnvArgs),
    /// Run a command with the decrypted file at {} (a FIFO unless --no-fifo)
    #[command(
        after_help = "Examples:\n  shroud exec-file secrets.yaml 'kubectl apply -f {}'\n  \
shroud exec-file --no-fifo --filename app.json secrets.json 'app --config {}'"
    )]
    ExecFile(ExecFileArgs),
    /// Make a new data key and re-encrypt every value (to stdout unless -i)
    #[command(
        after_help = "Examples:\n  shroud rotate -i secrets.yaml\n  shroud rotate -i --rm-age age1old... a.yaml b.json"
    )]
    Rotate(RotateArgs),
    /// Make each file's recipients match its .sops.yaml creation rule
    #[command(
        after_help = "Examples:\n  shroud updatekeys secrets.yaml\n  shroud updatekeys -y secrets/*.yaml"
    )]
    Updatekeys(UpdatekeysArgs),
    /// Print {"encrypted":true} or {"encrypted":false} for a file
    Filestatus(FilestatusArgs),
    /// Make a new age identity (prints it, or writes the default key file)
    #[command(after_help = "Examples:\n  shroud keygen > key.txt\n  shroud keygen --default")]
    Keygen(KeygenArgs),
    /// Show what changed between two encrypted files, or a file and a git revision
    #[command(
        after_help = "Exit status: 0 same, 1 different, other values on error.\n\nExamples:\n  \
shroud diff old.yaml new.yaml\n  shroud diff secrets.yaml --rev HEAD~1\n  \
shroud diff --keys-only secrets.yaml --rev origin/main   # no values: safe in CI logs"
    )]
    Diff(super::diff::DiffArgs),
    /// Git integration: setup, textconv, merge-driver, check (see docs/git.md)
    #[command(
        after_help = "Examples:\n  shroud git setup --hook\n  shroud git check\n  \
git diff   # after setup: decrypted diffs of encrypted files"
    )]
    Git(super::git::GitArgs),
}

#[derive(Args, Debug)]
pub struct IoArgs {
    /// The file to read; `-` or nothing reads standard input
    pub file: Option<PathBuf>,
    /// Write the result back to the file (atomically)
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Write the result to this file instead of standard output
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// The input format: yaml or json (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// The output format (default: the input format)
    #[arg(long, value_name = "TYPE")]
    pub output_type: Option<String>,
    /// Treat standard input as if it came from this file name
    #[arg(long, value_name = "NAME")]
    pub filename_override: Option<PathBuf>,
}

impl IoArgs {
    /// The input path, `None` for standard input.
    pub fn path(&self) -> Option<&std::path::Path> {
        self.file.as_deref().filter(|p| p.as_os_str() != "-")
    }
}

#[derive(Args, Debug)]
pub struct EncryptArgs {
    #[command(flatten)]
    pub io: IoArgs,
    /// Comma-separated age recipients (age1..., ssh-ed25519 ..., ssh-rsa ...)
    #[arg(
        short = 'a',
        long = "age",
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS"
    )]
    pub age: Option<String>,
    /// Keys ending with this suffix stay in clear text (default _unencrypted)
    #[arg(
        long,
        value_name = "SUFFIX",
        help_heading = "Encryption rules (choose one)"
    )]
    pub unencrypted_suffix: Option<String>,
    /// Only keys ending with this suffix are encrypted
    #[arg(
        long,
        value_name = "SUFFIX",
        help_heading = "Encryption rules (choose one)"
    )]
    pub encrypted_suffix: Option<String>,
    /// Keys matching this regex stay in clear text
    #[arg(
        long,
        value_name = "REGEX",
        help_heading = "Encryption rules (choose one)"
    )]
    pub unencrypted_regex: Option<String>,
    /// Only keys matching this regex are encrypted
    #[arg(
        long,
        value_name = "REGEX",
        help_heading = "Encryption rules (choose one)"
    )]
    pub encrypted_regex: Option<String>,
    /// Values under a comment matching this regex stay in clear text
    #[arg(
        long,
        value_name = "REGEX",
        help_heading = "Encryption rules (choose one)"
    )]
    pub unencrypted_comment_regex: Option<String>,
    /// Only values under a comment matching this regex are encrypted
    #[arg(
        long,
        value_name = "REGEX",
        help_heading = "Encryption rules (choose one)"
    )]
    pub encrypted_comment_regex: Option<String>,
    /// Compute the MAC over encrypted values only
    #[arg(long, help_heading = "Encryption rules (choose one)")]
    pub mac_only_encrypted: bool,
    /// Number of key groups needed to decrypt (with several key groups)
    #[arg(long, value_name = "N")]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

#[derive(Args, Debug)]
pub struct DecryptArgs {
    #[command(flatten)]
    pub io: IoArgs,
    /// Print only the value at this path, e.g. '["db"]["password"]'
    #[arg(long, value_name = "PATH")]
    pub extract: Option<String>,
    /// Decrypt even if the MAC or shroud_auth does not match (the file may have been altered)
    #[arg(long)]
    pub ignore_mac: bool,
    /// Print a CI log mask line for every decrypted value first (github: ::add-mask::)
    #[arg(long, value_name = "CI", value_parser = ["github"])]
    pub mask: Option<String>,
}

#[derive(Args, Debug)]
pub struct ExecEnvArgs {
    /// The encrypted file
    pub file: PathBuf,
    /// The command, run with /bin/sh -c
    pub command: String,
    /// Give the command only the decrypted variables, not shroud's environment
    #[arg(long)]
    pub pristine: bool,
    /// Replace shroud with the command instead of running it as a child
    #[arg(long)]
    pub same_process: bool,
    /// Export nested values as PARENT_CHILD (and LIST_0) instead of refusing them
    #[arg(long)]
    pub flatten: bool,
    /// Print ::add-mask:: lines for every value first, so GitHub Actions hides them
    #[arg(long, value_name = "CI", value_parser = ["github"])]
    pub mask: Option<String>,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Decrypt even if the MAC or shroud_auth does not match
    #[arg(long)]
    pub ignore_mac: bool,
}

#[derive(Args, Debug)]
pub struct ExecFileArgs {
    /// The encrypted file
    pub file: PathBuf,
    /// The command, run with /bin/sh -c; {} is replaced by the file's path
    pub command: String,
    /// Write a regular 0600 file (removed afterwards) instead of a FIFO
    #[arg(long)]
    pub no_fifo: bool,
    /// The name the decrypted file gets (a plain name)
    #[arg(long, default_value = "tmp-file")]
    pub filename: String,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// The format the command reads (default: the input format)
    #[arg(long, value_name = "TYPE")]
    pub output_type: Option<String>,
    /// Decrypt even if the MAC or shroud_auth does not match
    #[arg(long)]
    pub ignore_mac: bool,
}

#[derive(Args, Debug)]
pub struct KeygenArgs {
    /// Write the identity to the default key file
    /// ($XDG_CONFIG_HOME/sops/age/keys.txt) if it has none yet
    #[arg(long)]
    pub default: bool,
}

#[derive(Args, Debug)]
pub struct RotateArgs {
    /// The encrypted files
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Write each file back in place (atomically)
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Also encrypt to these age recipients (comma-separated; repeatable)
    #[arg(long, value_name = "RECIPIENTS")]
    pub add_age: Vec<String>,
    /// Stop encrypting to these age recipients (comma-separated; repeatable)
    #[arg(long, value_name = "RECIPIENTS")]
    pub rm_age: Vec<String>,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Args, Debug)]
pub struct UpdatekeysArgs {
    /// The encrypted files
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Apply the changes without asking
    #[arg(short = 'y', long)]
    pub yes: bool,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Args, Debug)]
pub struct FilestatusArgs {
    /// The file to check
    pub file: PathBuf,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    /// The encrypted file; a file that does not exist is created from a template
    pub file: PathBuf,
    /// Recipients for a new file (comma-separated age recipients)
    #[arg(
        short = 'a',
        long = "age",
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS"
    )]
    pub age: Option<String>,
    /// The format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Open the file even if its MAC or shroud_auth does not match
    #[arg(long)]
    pub ignore_mac: bool,
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The encrypted file
    pub file: PathBuf,
    /// Where, e.g. '["db"]["password"]' or '["list"][0]'
    pub path: String,
    /// The new value as JSON: '"text"', 42, true
    pub value: Option<String>,
    /// Read the JSON value from this file (keeps it out of argv and history)
    #[arg(long, value_name = "FILE")]
    pub value_file: Option<String>,
    /// Read the JSON value from standard input
    #[arg(long)]
    pub value_stdin: bool,
    /// Store a fresh random secret from the OS random source instead
    #[arg(long)]
    pub generate: bool,
    /// Length of a generated secret
    #[arg(long, default_value_t = 32)]
    pub length: usize,
    /// Characters of a generated secret: alnum, hex, base64url, ascii
    #[arg(long, default_value = "alnum")]
    pub charset: String,
    /// Print the generated secret once, to the terminal only
    #[arg(long)]
    pub show_once: bool,
    /// Do nothing (and succeed) when the value is already set
    #[arg(long)]
    pub idempotent: bool,
    /// The format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Change the file even if its MAC or shroud_auth does not match
    #[arg(long)]
    pub ignore_mac: bool,
}
