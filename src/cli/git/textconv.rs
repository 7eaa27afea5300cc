//! `shroud git textconv FILE`: what `git diff` and `git log -p` run on each
//! side of an encrypted file (diff.shroud.textconv). It prints the
//! plaintext for someone with a key; without one it prints a line saying
//! so, then the file unchanged (so the diff still shows which keys changed),
//! and still succeeds, because a failing textconv makes the whole
//! `git diff` fail for everyone without a key.

use anyhow::Result;

use super::super::{as_text, io, keyring, warn};
use super::TextconvArgs;
use shroud::engine;
use shroud::formats::Format;

pub fn run(args: TextconvArgs) -> Result<i32> {
    let name = args.file.display().to_string();
    let bytes = io::read_input(Some(&args.file))?;
    let format = Format::from_path(&args.file);
    // Anything that is not a readable encrypted file is shown as it is.
    let as_is = || io::write_stdout(&bytes).map(|()| 0);
    let Ok(text) = as_text(&bytes, &name) else {
        return as_is();
    };
    let Ok(doc) = format.parse(text) else {
        return as_is();
    };
    if doc.metadata().is_none() {
        return as_is();
    }
    let meta = match engine::metadata(doc.as_ref()) {
        Ok(m) => m,
        Err(e) => {
            io::write_stdout(format!("# shroud: unreadable sops metadata ({e})\n").as_bytes())?;
            return as_is();
        }
    };
    let key = match keyring::data_key(&meta) {
        Ok(k) => k,
        Err(_) => {
            // One line saying why, then the file as it is: a diff of the
            // ciphertext still shows which keys changed (a lone line
            // would be the same on both sides, and git would show nothing).
            let line = format!(
                "# shroud: no key to decrypt this file (encrypted to {})\n",
                meta.recipients().join(", ")
            );
            io::write_stdout(line.as_bytes())?;
            return as_is();
        }
    };
    let options = super::super::decrypt_options(false);
    let result = if format == Format::Binary {
        shroud::formats::binary::decrypt(doc.as_ref(), &meta, &key, options)
    } else {
        engine::decrypt(doc.as_ref(), &meta, &key, options).map(|o| {
            (
                zeroize::Zeroizing::new(o.text.as_bytes().to_vec()),
                o.warnings,
            )
        })
    };
    match result {
        Ok((plain, warnings)) => {
            for w in warnings {
                warn(&format!("{name}: {w}"));
            }
            io::write_stdout(&plain)?;
        }
        Err(e) => {
            // A damaged file (a MAC that fails, a value that does not
            // open) is shown encrypted, under a line that says why.
            io::write_stdout(format!("# shroud: cannot decrypt this file: {e}\n").as_bytes())?;
            as_is()?;
        }
    }
    Ok(0)
}
