//! A TEST-ONLY age plugin, `age-plugin-shroudtest`, for shroud's plugin
//! tests (tests/age_plugin.rs). It offers NO security: a recipient and its
//! identity carry the same 32 bytes, and the file key is XORed with them.
//! What it proves is the plumbing: shroud finds `age-plugin-NAME` on PATH,
//! speaks the recipient-v1 and identity-v1 state machines through the age
//! crate, and stores and reads the resulting stanzas as sops does.
//!
//! Recipient: bech32 with HRP `age1shroudtest` over 32 bytes.
//! Identity:  bech32 with HRP `AGE-PLUGIN-SHROUDTEST-` over the same bytes.

use std::collections::{HashMap, HashSet};
use std::convert::Infallible;
use std::io;

use age_core::format::{FILE_KEY_BYTES, FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{Callbacks, PluginHandler, run_state_machine};

const NAME: &str = "shroudtest";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The file key XORed with the first 16 bytes of the shared secret.
fn mask(key: &[u8], secret: &[u8]) -> Vec<u8> {
    key.iter().zip(secret).map(|(a, b)| a ^ b).collect()
}

/// The stanza names the secret by a hex tag of its last 8 bytes, so an
/// identity only tries stanzas meant for it.
fn tag_of(secret: &[u8]) -> String {
    hex(&secret[24..])
}

fn valid(bytes: &[u8]) -> bool {
    bytes.len() == 32
}

#[derive(Default)]
struct Recipients {
    secrets: Vec<Vec<u8>>,
}

impl RecipientPluginV1 for Recipients {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        if plugin_name != NAME || !valid(bytes) {
            return Err(recipient::Error::Recipient {
                index,
                message: "not a shroudtest recipient".into(),
            });
        }
        self.secrets.push(bytes.to_vec());
        Ok(())
    }

    fn add_identity(
        &mut self,
        index: usize,
        _plugin_name: &str,
        _bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        Err(recipient::Error::Identity {
            index,
            message: "encrypting to identities is not supported".into(),
        })
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        Ok(Ok(file_keys
            .iter()
            .map(|fk| {
                self.secrets
                    .iter()
                    .map(|s| Stanza {
                        tag: NAME.into(),
                        args: vec![tag_of(s)],
                        body: mask(fk.expose_secret(), s),
                    })
                    .collect()
            })
            .collect()))
    }
}

#[derive(Default)]
struct Identities {
    secrets: Vec<Vec<u8>>,
}

impl IdentityPluginV1 for Identities {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        if plugin_name != NAME || !valid(bytes) {
            return Err(identity::Error::Identity {
                index,
                message: "not a shroudtest identity".into(),
            });
        }
        self.secrets.push(bytes.to_vec());
        Ok(())
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        _callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut out = HashMap::new();
        for (i, stanzas) in files.iter().enumerate() {
            let found = stanzas.iter().find_map(|st| {
                let secret = self
                    .secrets
                    .iter()
                    .find(|s| st.tag == NAME && st.args.first() == Some(&tag_of(s)))?;
                (st.body.len() == FILE_KEY_BYTES).then(|| mask(&st.body, secret))
            });
            if let Some(key) = found {
                let Ok(fk) = FileKey::try_init_with_mut(|k| {
                    k.copy_from_slice(&key);
                    Ok::<(), Infallible>(())
                });
                out.insert(i, Ok(fk));
            }
        }
        Ok(out)
    }
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Recipients;
    type IdentityV1 = Identities;

    fn recipient_v1(self) -> io::Result<Recipients> {
        Ok(Recipients::default())
    }

    fn identity_v1(self) -> io::Result<Identities> {
        Ok(Identities::default())
    }
}

fn main() -> io::Result<()> {
    // age runs a plugin as `age-plugin-NAME --age-plugin=STATE_MACHINE`.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let machine = args
        .iter()
        .position(|a| a == "--age-plugin")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| {
            args.iter()
                .find_map(|a| a.strip_prefix("--age-plugin=").map(str::to_string))
        });
    match machine {
        Some(m) => run_state_machine(&m, Handler),
        None => {
            eprintln!("age-plugin-shroudtest: a test-only plugin; run by age with --age-plugin");
            std::process::exit(2)
        }
    }
}
