//! `shroud keygen`: a new age identity, printed or stored as the default.

use anyhow::Result;

use super::args::KeygenArgs;
use super::io::write_stdout;
use shroud::keys::{self, EnvSource};

pub fn run(args: KeygenArgs) -> Result<()> {
    if args.default {
        let env = EnvSource::process();
        let (recipient, created) = keys::ensure_default_identity(&env)?;
        let path = keys::default_key_file(&env)?;
        if created {
            super::ui::note(&format!("created a new age identity in {}", path.display()));
        } else {
            super::ui::note(&format!(
                "{} already holds an identity; left it as it is",
                path.display()
            ));
        }
        println!("{recipient}");
        return Ok(());
    }
    let (secret, recipient) = keys::generate_identity();
    // Like age-keygen: the public key on stderr, so `> key.txt` captures
    // only the identity file.
    eprintln!("Public key: {recipient}");
    write_stdout(keys::keygen_text(&secret, &recipient).as_bytes())
}
