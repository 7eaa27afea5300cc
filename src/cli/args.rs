//! The command-line interface. Flag names and meanings follow sops, so that
//! `alias sops=shroud` works for age users.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "shroud",
    version,
    about = "Encrypt the values of YAML, JSON, TOML, dotenv and INI files (and whole binary files) \
in the SOPS format, keeping every other byte",
    long_about = "shroud encrypts only the values of structured config files (YAML, JSON, TOML, \
dotenv, INI; any other file is encrypted whole, as binary), so keys, comments and layout stay readable in \
review. Files are SOPS 3.x files with age keys: the real sops decrypts what shroud writes, and \
shroud decrypts every age-keyed sops file.",
    after_help = "Examples:\n  shroud encrypt -i secrets.yaml\n  shroud edit secrets.yaml\n  \
shroud decrypt --extract '[\"db\"][\"password\"]' secrets.yaml\n\n\
Keys: recipients come from --age, SOPS_AGE_RECIPIENTS or .sops.yaml; identities from \
SOPS_AGE_KEY, SOPS_AGE_KEY_FILE, SOPS_AGE_KEY_CMD, SOPS_AGE_SSH_PRIVATE_KEY_FILE, \
$XDG_CONFIG_HOME/sops/age/keys.txt and ~/.ssh/id_ed25519, ~/.ssh/id_rsa.\n\
Docs: docs/getting-started.md, docs/cli.md (`shroud man` prints the man page)."
)]
pub struct Cli {
    /// Path to sops' config file (.sops.yaml); if set, it is not searched for upwards
    #[arg(
        long,
        global = true,
        env = "SOPS_CONFIG",
        value_name = "PATH",
        help_heading = "Global options"
    )]
    pub config: Option<PathBuf>,
    /// Print only errors: no warnings or notes
    #[arg(
        short = 'q',
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,
    /// Say which key sources, identities and creation rules were used (never secrets)
    #[arg(short = 'v', long, global = true, help_heading = "Global options")]
    pub verbose: bool,
    /// Refuse encrypted files without shroud_auth (written by sops, or stripped) instead of warning
    #[arg(
        long,
        global = true,
        env = "SHROUD_STRICT",
        help_heading = "Global options"
    )]
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
    /// Set one value in place, creating new keys and maps (the value is JSON: '"text"', 42, true)
    #[command(
        after_help = "Examples:\n  shroud set secrets.yaml '[\"db\"][\"port\"]' 5433\n  \
shroud set secrets.yaml '[\"db\"][\"password\"]' --value-stdin < pw.json\n  \
shroud set secrets.yaml '[\"api\"][\"token\"]' --generate --length 40 --charset base64url"
    )]
    Set(SetArgs),
    /// Remove a key or list item in place, e.g. shroud unset f.yaml '["db"]["old"]'
    #[command(
        after_help = "Examples:\n  shroud unset secrets.yaml '[\"db\"][\"password\"]'\n  \
shroud unset config.json '[\"hosts\"][2]'\n  \
shroud unset --idempotent app.env '[\"OLD_TOKEN\"]'"
    )]
    Unset(UnsetArgs),
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
    /// Make a new data key and re-encrypt every value, for one or many files (stdout unless -i)
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
    #[command(after_help = "Examples:\n  shroud filestatus secrets.yaml\n  \
shroud filestatus config.json | grep -q '\"encrypted\":true' || echo 'not encrypted!'")]
    Filestatus(FilestatusArgs),
    /// Add or delete a key group (the data key is split across groups with Shamir)
    #[command(
        after_help = "Examples:\n  shroud groups add -f secrets.yaml -i --age age1ops... --age age1backup...\n  \
shroud groups add -f secrets.yaml -i --shamir-secret-sharing-threshold 2 --age age1...\n  \
shroud groups delete -f secrets.yaml -i 1"
    )]
    Groups(GroupsArgs),
    /// Report what needs doing under .sops.yaml: unencrypted, out-of-sync, overdue or unauthenticated files
    #[command(
        after_help = "Examples:\n  shroud status                 # every file git tracks\n  \
shroud status --strict secrets/   # files without shroud_auth need action too\n  \
shroud status --json | jq '.files[] | select(.findings != [])'\n\n\
Exit code 1 when any file needs action, so CI can enforce the rotation policy \
(shroud_max_key_age in a creation rule). Files lacking shroud_auth are a warning \
unless strict mode is on; files your identities open are verified (MAC and shroud_auth)."
    )]
    Status(StatusArgs),
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
    /// Print a shell completion script (bash, zsh or fish)
    #[command(
        after_help = "Examples:\n  shroud completions bash > ~/.local/share/bash-completion/completions/shroud\n  \
shroud completions zsh > ~/.zfunc/_shroud\n  \
shroud completions fish > ~/.config/fish/completions/shroud.fish"
    )]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per subcommand with --dir
    #[command(
        after_help = "Examples:\n  shroud man | man -l -\n  shroud man --dir /usr/local/share/man/man1"
    )]
    Man(ManArgs),
}

#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args, Debug)]
pub struct ManArgs {
    /// Write shroud.1 and shroud-SUBCOMMAND.1 into this folder instead of printing shroud.1
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct IoArgs {
    /// The file to read; `-` or nothing reads standard input
    pub file: Option<PathBuf>,
    /// Write output back to the same file instead of stdout (atomically)
    #[arg(short = 'i', long = "in-place", help_heading = "Input/Output")]
    pub in_place: bool,
    /// Save the output to the file specified instead of stdout
    #[arg(long, value_name = "FILE", help_heading = "Input/Output")]
    pub output: Option<PathBuf>,
    /// One of yaml, json, toml, dotenv, ini, binary; if not set, from the file's extension
    #[arg(long, value_name = "TYPE", help_heading = "Input/Output")]
    pub input_type: Option<String>,
    /// One of yaml, json, toml, dotenv, ini, binary; if not set, the input type
    #[arg(long, value_name = "TYPE", help_heading = "Input/Output")]
    pub output_type: Option<String>,
    /// Use this filename instead of the provided argument for .sops.yaml rules and the input
    /// type; needed when reading stdin
    #[arg(long, value_name = "NAME", help_heading = "Input/Output")]
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
    /// Comma separated list of age recipients (age1..., ssh-ed25519 ..., ssh-rsa ...)
    #[arg(
        short = 'a',
        long = "age",
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS",
        help_heading = "Keys"
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
    /// Compute MAC only over values which end up encrypted
    #[arg(long, help_heading = "Encryption rules (choose one)")]
    pub mac_only_encrypted: bool,
    /// The number of key groups required to retrieve the data key with shamir
    #[arg(long, value_name = "N", help_heading = "Keys")]
    pub shamir_secret_sharing_threshold: Option<usize>,
}

#[derive(Args, Debug)]
pub struct DecryptArgs {
    #[command(flatten)]
    pub io: IoArgs,
    /// Extract a specific key or branch from the input document, e.g. '["db"]["password"]'
    #[arg(long, value_name = "PATH", help_heading = "Input/Output")]
    pub extract: Option<String>,
    /// Ignore Message Authentication Code and shroud_auth during decryption (the file may have been altered)
    #[arg(long)]
    pub ignore_mac: bool,
    /// Print a CI log mask line for every decrypted value first (github: ::add-mask::)
    #[arg(long, value_name = "CI", value_parser = ["github"], help_heading = "Input/Output")]
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
    /// Write output back to the same file instead of stdout (atomically)
    #[arg(short = 'i', long = "in-place", help_heading = "Input/Output")]
    pub in_place: bool,
    /// Add the provided comma-separated list of age recipients (repeatable)
    #[arg(long, value_name = "RECIPIENTS", help_heading = "Keys")]
    pub add_age: Vec<String>,
    /// Remove the provided comma-separated list of age recipients (repeatable)
    #[arg(long, value_name = "RECIPIENTS", help_heading = "Keys")]
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
pub struct GroupsArgs {
    #[command(subcommand)]
    pub action: GroupsAction,
}

#[derive(Subcommand, Debug)]
pub enum GroupsAction {
    /// Add a key group of age recipients (same data key; values and MAC unchanged)
    #[command(
        after_help = "Examples:\n  shroud groups add -f s.yaml -i --age age1a... --age age1b...\n  \
shroud groups add -f s.yaml --shamir-secret-sharing-threshold 2 --age age1c... > s2.yaml"
    )]
    Add(GroupsAddArgs),
    /// Delete the key group at INDEX (counting from 0)
    #[command(after_help = "Examples:\n  shroud groups delete -f s.yaml -i 2\n  \
shroud groups delete -f s.yaml -i --shamir-secret-sharing-threshold 1 0")]
    Delete(GroupsDeleteArgs),
}

#[derive(Args, Debug)]
pub struct GroupsAddArgs {
    /// The encrypted file
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// An age recipient of the new group (repeatable, or comma-separated)
    #[arg(long, value_name = "RECIPIENT", required = true)]
    pub age: Vec<String>,
    /// Write the result back to the file instead of standard output
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Number of groups needed to decrypt (default: kept, or all groups)
    #[arg(long, value_name = "N")]
    pub shamir_secret_sharing_threshold: Option<usize>,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Args, Debug)]
pub struct GroupsDeleteArgs {
    /// The encrypted file
    #[arg(short = 'f', long = "file")]
    pub file: PathBuf,
    /// Which group to delete, counting from 0
    pub index: usize,
    /// Write the result back to the file instead of standard output
    #[arg(short = 'i', long = "in-place")]
    pub in_place: bool,
    /// Number of groups needed to decrypt (default: kept, or all groups)
    #[arg(long, value_name = "N")]
    pub shamir_secret_sharing_threshold: Option<usize>,
    /// The input format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Files or folders to check (default: the files git tracks)
    pub paths: Vec<PathBuf>,
    /// Print JSON for machines (schema in docs/keys.md)
    #[arg(long)]
    pub json: bool,
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
    /// Comma separated list of age recipients, for a new file
    #[arg(
        short = 'a',
        long = "age",
        env = "SOPS_AGE_RECIPIENTS",
        value_name = "RECIPIENTS",
        help_heading = "Keys"
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
    /// The new value as JSON: '"text"', 42, true, '{"nested": [1]}'
    pub value: Option<String>,
    /// Read the JSON value from this file (keeps it out of argv and history)
    #[arg(long, value_name = "FILE", help_heading = "Input/Output")]
    pub value_file: Option<String>,
    /// Read the JSON value from standard input
    #[arg(long, help_heading = "Input/Output")]
    pub value_stdin: bool,
    /// Store a fresh random secret from the OS random source instead
    #[arg(long, help_heading = "Generated secrets")]
    pub generate: bool,
    /// Length of a generated secret
    #[arg(long, default_value_t = 32, help_heading = "Generated secrets")]
    pub length: usize,
    /// Characters of a generated secret: alnum, hex, base64url, ascii
    #[arg(long, default_value = "alnum", help_heading = "Generated secrets")]
    pub charset: String,
    /// Print the generated secret once, to the terminal only
    #[arg(long, help_heading = "Generated secrets")]
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

#[derive(Args, Debug)]
pub struct UnsetArgs {
    /// The encrypted file
    pub file: PathBuf,
    /// What to remove, e.g. '["db"]["password"]' or '["list"][0]'
    pub path: String,
    /// Succeed without changing anything when the path does not exist
    #[arg(long)]
    pub idempotent: bool,
    /// The format (default: from the file name)
    #[arg(long, value_name = "TYPE")]
    pub input_type: Option<String>,
    /// Change the file even if its MAC does not match
    #[arg(long)]
    pub ignore_mac: bool,
}
